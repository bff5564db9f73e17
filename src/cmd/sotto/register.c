/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto register: a new profile and a new account on a server. */
#include <stdio.h>
#include <string.h>

#include "cmd/sotto/cli.h"
#include "sotto/client_kt.h"
#include "sotto/error.h"

static const char usage[] =
	"Usage: sotto --profile DIR register --server HOST:PORT --server-key KEY --name NAME\n"
	"                                   [--invite CODE] [--no-passphrase]\n\n"
	"Creates the profile DIR (this device's encrypted local store) and registers a new\n"
	"account on the server, with this device as its primary device (device 1).\n\n"
	"  --server HOST:PORT  the server's address (numeric IPv4, or [IPv6]:PORT)\n"
	"  --server-key KEY    the server's public key (base64, printed by sottod); the\n"
	"                      connection is refused if the server cannot prove it\n"
	"  --name NAME         the public name others reach you by (3-32 characters:\n"
	"                      a-z, 0-9, '_' and '.'; stored in lower case)\n"
	"  --invite CODE       an invite code, if the server requires one\n"
	"  --kt-key KEY        the server's key transparency key (base64, sottod's kt-key\n"
	"                      line); without it the key is learned on first contact\n"
	"  --sealed-root KEY   the server's sealed sender trust root (base64, sottod's\n"
	"                      sealed-root line); without it the root is learned on first\n"
	"                      contact\n"
	"  --no-passphrase     keep the store key in DIR/store.key (mode 0600) instead of\n"
	"                      deriving it from a passphrase\n\n"
	"Without --no-passphrase the passphrase comes from $SOTTO_PASSPHRASE or is asked\n"
	"for on the terminal (twice).\n";

int register_main(int argc, char **argv)
{
	const char *server = NULL, *key_b64 = NULL, *name = NULL, *invite = NULL, *kt_b64 = NULL;
	const char *root_b64 = NULL;
	int no_pass = 0, created = 0;
	const struct cli_opt opts[] = {
		{ "--server", &server, NULL },
		{ "--server-key", &key_b64, NULL },
		{ "--name", &name, NULL },
		{ "--invite", &invite, NULL },
		{ "--kt-key", &kt_b64, NULL },
		{ "--sealed-root", &root_b64, NULL },
		{ "--no-passphrase", NULL, &no_pass },
		{ NULL, NULL, NULL },
	};
	uint8_t key[SOTTO_CLIENT_SERVER_KEY_BYTES];
	sotto_client *c = NULL;
	sotto_client_account acc;
	int rc = cli_parse(argc, argv, opts, NULL, 0, 0, NULL, usage);
	if (rc != 0)
		return rc;
	if (server == NULL || key_b64 == NULL || name == NULL)
		return cli_usage_error("--server, --server-key and --name are required");
	if (sotto_client_parse_server_key(key_b64, key) != 0)
		return cli_usage_error("--server-key must be the server's 32-byte key in base64");
	uint8_t kt[32];
	if (kt_b64 != NULL && sotto_client_parse_server_key(kt_b64, kt) != 0)
		return cli_usage_error("--kt-key must be the server's 32-byte KT key in base64");
	uint8_t root[SOTTO_CLIENT_SEALED_ROOT_BYTES];
	if (root_b64 != NULL && sotto_client_parse_server_key(root_b64, root) != 0)
		return cli_usage_error(
			"--sealed-root must be the server's 32-byte sealed sender root in base64");
	rc = cli_open_or_create(&c, no_pass, &created);
	if (rc != 0)
		return rc;
	/* Pinned before the first contact; without it the key the server
	 * announces is pinned on first use (docs/key-transparency.md 8). */
	rc = kt_b64 != NULL ? sotto_client_set_kt_key(c, kt) : 0;
	if (rc == 0 && root_b64 != NULL)
		rc = sotto_client_set_sealed_root(c, root);
	if (rc == 0)
		rc = sotto_client_register(c, server, key, name, invite);
	if (rc != 0) {
		int ret = cli_engine_error(c, rc, "registration failed");
		sotto_client_close(c);
		return ret;
	}
	rc = sotto_client_account_info(c, &acc);
	if (rc != 0) {
		int ret = cli_engine_error(c, rc, "cannot read the new account");
		sotto_client_close(c);
		return ret;
	}
	printf("Registered %s on %s: account %s, this is device %u.\n", acc.name, acc.server,
		acc.account_id, (unsigned)acc.device_id);
	sotto_client_close(c);
	return cli_flush();
}
