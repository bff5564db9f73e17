/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto link-new: makes this profile a new device of an existing account.
 * Shows the provisioning code (as a QR code and as text), then waits until
 * the primary device has linked it with 'sotto link CODE'. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <qrencode.h>

#include "cmd/sotto/cli.h"
#include "sotto/error.h"

static const char usage[] =
	"Usage: sotto --profile DIR link-new --server HOST:PORT --server-key KEY\n"
	"                                   [--no-passphrase] [--timeout SECONDS]\n\n"
	"Creates the profile DIR as a new device of an account you already have. It shows\n"
	"a provisioning code, as a QR code and as text: give it to your primary device\n"
	"with 'sotto --profile PRIMARY link CODE'. The code holds only public keys. The\n"
	"primary then sends this device the account's identity, encrypted to a key that\n"
	"only this device has, through the server. This command waits for that (up to\n"
	"SECONDS, default 600), stores the identity and uploads fresh prekeys.\n\n"
	"  --server HOST:PORT, --server-key KEY  the server, as for 'register'\n"
	"  --no-passphrase                       keep the store key in DIR/store.key\n";

/* Draws the code with two modules per character cell (upper and lower half
 * blocks) and a 4-module quiet zone. Dark modules are drawn as background,
 * light ones as foreground; on a terminal the colours are set explicitly so
 * the code reads the same on light and dark themes. */
static int draw_qr(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (qr == NULL)
		return -1;
	const int quiet = 4, w = qr->width, total = w + 2 * quiet;
	const int tty = isatty(STDOUT_FILENO);
	for (int y = 0; y < total; y += 2) {
		if (tty)
			fputs("\033[40;97m", stdout);
		for (int x = 0; x < total; x++) {
			int top = 0, bottom = 0; /* 1: dark */
			int mx = x - quiet, my = y - quiet;
			if (mx >= 0 && mx < w && my >= 0 && my < w)
				top = qr->data[my * w + mx] & 1;
			if (mx >= 0 && mx < w && my + 1 >= 0 && my + 1 < w)
				bottom = qr->data[(my + 1) * w + mx] & 1;
			if (top && bottom)
				fputs(" ", stdout);
			else if (top)
				fputs("\xe2\x96\x84", stdout); /* lower half block */
			else if (bottom)
				fputs("\xe2\x96\x80", stdout); /* upper half block */
			else
				fputs("\xe2\x96\x88", stdout); /* full block */
		}
		if (tty)
			fputs("\033[0m", stdout);
		fputs("\n", stdout);
	}
	QRcode_free(qr);
	return 0;
}

int link_new_main(int argc, char **argv)
{
	const char *server = NULL, *key_b64 = NULL, *timeout = NULL;
	int no_pass = 0, created = 0;
	const struct cli_opt opts[] = {
		{ "--server", &server, NULL },
		{ "--server-key", &key_b64, NULL },
		{ "--no-passphrase", NULL, &no_pass },
		{ "--timeout", &timeout, NULL },
		{ NULL, NULL, NULL },
	};
	uint8_t key[SOTTO_CLIENT_SERVER_KEY_BYTES];
	char code[SOTTO_CLIENT_LINK_CODE_MAX];
	sotto_client *c = NULL;
	sotto_client_account acc;
	long long ms = 600000;
	int rc = cli_parse(argc, argv, opts, NULL, 0, 0, NULL, usage);
	if (rc != 0)
		return rc;
	if (server == NULL || key_b64 == NULL)
		return cli_usage_error("--server and --server-key are required");
	if (sotto_client_parse_server_key(key_b64, key) != 0)
		return cli_usage_error("--server-key must be the server's 32-byte key in base64");
	if (timeout != NULL && (ms = cli_parse_seconds(timeout, 86400)) <= 0)
		return cli_usage_error("--timeout wants seconds (1 to 86400)");
	rc = cli_open_or_create(&c, no_pass, &created);
	if (rc != 0)
		return rc;
	rc = sotto_client_link_begin(c, server, key, code);
	if (rc == SOTTO_ERR_EXISTS && !created) {
		/* An earlier link-new was interrupted: its keys are stored and the
		 * primary may have used its code already. */
		printf("Linking was started before; waiting for the primary device again.\n"
		       "(If the code is lost, delete %s and run link-new again.)\n", cli_profile);
	} else if (rc != 0) {
		int ret = cli_engine_error(c, rc, "cannot start linking");
		sotto_client_close(c);
		return ret;
	} else {
		printf("Scan this code with your primary device, or paste the text below into\n"
		       "'sotto --profile PRIMARY link CODE' there:\n\n");
		if (draw_qr(code) != 0)
			printf("(the QR code could not be drawn)\n");
		printf("\n%s\n\nWaiting for the primary device...\n", code);
	}
	if (cli_flush() != 0) {
		sotto_client_close(c);
		return CLI_FAIL;
	}
	rc = sotto_client_link_finish(c, (unsigned)ms);
	if (rc == 0)
		rc = sotto_client_account_info(c, &acc);
	if (rc != 0) {
		int ret = rc == SOTTO_ERR_TIMEOUT ?
			cli_error("the primary device did not link this one in time; run link-new "
				  "again to keep waiting") :
			cli_engine_error(c, rc, "linking failed");
		sotto_client_close(c);
		return ret;
	}
	printf("Linked: this profile is now device %u of %s.\n", (unsigned)acc.device_id,
		acc.name);
	sotto_client_close(c);
	return cli_flush();
}
