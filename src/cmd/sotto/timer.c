/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto timer: the disappearing-message timer of a conversation. */
#include <stdio.h>
#include <string.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR timer NAME SECONDS\n\n"
	"Sets the disappearing-message timer of the conversation with NAME, on every\n"
	"device of both accounts: from now on each message is deleted SECONDS after it\n"
	"was sent (on the sender's devices) or received (on the recipient's), including\n"
	"saved attachments. SECONDS 0 (or 'off') turns it off. At most 31536000 (a year).\n";

int timer_main(int argc, char **argv)
{
	const char *pos[2];
	sotto_client *c = NULL;
	long long ms = 0;
	int rc = cli_parse(argc, argv, NULL, pos, 2, 2, NULL, usage);
	if (rc != 0)
		return rc;
	if (strcmp(pos[1], "off") != 0) {
		ms = cli_parse_seconds(pos[1], 31536000);
		if (ms < 0 || ms % 1000 != 0)
			return cli_usage_error("SECONDS must be a whole number from 0 to 31536000");
	}
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	rc = sotto_client_set_timer(c, pos[0], (uint32_t)(ms / 1000));
	if (rc == 0 && sotto_client_notice(c)[0] != '\0')
		fprintf(stderr, "sotto: note: %s\n", sotto_client_notice(c));
	if (rc != 0)
		rc = cli_engine_error(c, rc, "timer not set");
	sotto_client_close(c);
	return rc;
}
