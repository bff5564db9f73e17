/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto link: on the primary device, links a new device by its code. */
#include <stdio.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR link CODE [--device-name NAME]\n\n"
	"Run on the primary device. CODE is what 'sotto link-new' shows on the new device\n"
	"(sotto-link:1:...). Registers the new device with the server under this account\n"
	"and sends it the account's identity and contacts, encrypted so that only the new\n"
	"device can read them. NAME (optional) is shown by 'sotto devices'; the server\n"
	"stores it encrypted.\n";

int link_main(int argc, char **argv)
{
	const char *pos[1], *dev_name = NULL;
	const struct cli_opt opts[] = {
		{ "--device-name", &dev_name, NULL },
		{ NULL, NULL, NULL },
	};
	sotto_client *c = NULL;
	uint32_t id = 0;
	int rc = cli_parse(argc, argv, opts, pos, 1, 1, NULL, usage);
	if (rc != 0)
		return rc;
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	rc = sotto_client_link_device(c, pos[0], dev_name != NULL ? dev_name : "", &id);
	if (rc != 0) {
		int ret = cli_engine_error(c, rc, "linking failed");
		sotto_client_close(c);
		return ret;
	}
	printf("Linked the new device as device %u.\n", (unsigned)id);
	sotto_client_close(c);
	return cli_flush();
}
