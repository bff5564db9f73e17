/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto send: a text message to a contact. */
#include <stdio.h>
#include <string.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR send NAME TEXT\n\n"
	"Encrypts TEXT for every device of NAME (and, so they see it too, for this\n"
	"account's other devices) and hands it to the server. Exits 0 only once the\n"
	"server has acknowledged it. Use -- before a TEXT that starts with '-'.\n";

int send_main(int argc, char **argv)
{
	const char *pos[2];
	sotto_client *c = NULL;
	struct cli_changed before;
	int rc = cli_parse(argc, argv, NULL, pos, 2, 2, NULL, usage);
	if (rc != 0)
		return rc;
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	if (cli_changed_snapshot(c, &before) != 0)
		memset(&before, 0, sizeof before);
	rc = sotto_client_send_text(c, pos[0], pos[1], NULL);
	if (rc == 0 && sotto_client_notice(c)[0] != '\0')
		fprintf(stderr, "sotto: note: %s\n", sotto_client_notice(c));
	cli_report_identity_changes(c, &before, 0);
	if (rc != 0)
		rc = cli_engine_error(c, rc, "not sent");
	sotto_client_close(c);
	return rc;
}
