/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto unlink: removes a device from this account. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR unlink ID\n\n"
	"Removes device ID (see 'sotto devices') from this account: the server forgets its\n"
	"keys and its queue, and your contacts stop encrypting to it. The primary device\n"
	"can unlink any device; any device can unlink itself. Unlinking the primary\n"
	"(device 1) from itself ends the account and frees its name.\n";

int unlink_main(int argc, char **argv)
{
	const char *pos[1];
	sotto_client *c = NULL;
	sotto_client_account acc;
	char *end;
	int rc = cli_parse(argc, argv, NULL, pos, 1, 1, NULL, usage);
	if (rc != 0)
		return rc;
	errno = 0;
	unsigned long id = strtoul(pos[0], &end, 10);
	if (errno != 0 || *end != '\0' || pos[0][0] < '0' || pos[0][0] > '9' || id == 0 ||
		id > 0xffffffffu)
		return cli_usage_error("ID must be a device number (see sotto devices)");
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	rc = sotto_client_account_info(c, &acc);
	if (rc == 0)
		rc = sotto_client_unlink(c, (uint32_t)id);
	if (rc != 0) {
		int ret = cli_engine_error(c, rc, "cannot unlink");
		sotto_client_close(c);
		return ret;
	}
	if (id == acc.device_id)
		printf("Unlinked this device (%lu); this profile can no longer be used with the "
		       "server.\n", id);
	else
		printf("Unlinked device %lu.\n", id);
	sotto_client_close(c);
	return cli_flush();
}
