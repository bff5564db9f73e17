/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto history: the stored conversation with a contact. */
#include <stdio.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR history NAME [--json]\n\n"
	"Prints the conversation with NAME as stored on this device, oldest first, with\n"
	"the state of the messages you sent (sent, delivered, read). Works offline.\n"
	"Messages whose disappearing timer ran out are deleted first.\n\n"
	"  --json  one JSON object per line (the fields of 'receive --json', plus status\n"
	"          on outgoing messages)\n";

struct hist_ctx {
	int json;
	int failed;
};

static int on_message(void *ctx, const sotto_client_message *m)
{
	struct hist_ctx *h = ctx;
	if (cli_print_message(m, h->json, 1) != 0)
		h->failed = 1;
	return 0;
}

int history_main(int argc, char **argv)
{
	const char *pos[1];
	struct hist_ctx h = { 0, 0 };
	const struct cli_opt opts[] = {
		{ "--json", NULL, &h.json },
		{ NULL, NULL, NULL },
	};
	sotto_client *c = NULL;
	int rc = cli_parse(argc, argv, opts, pos, 1, 1, NULL, usage);
	if (rc != 0)
		return rc;
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	rc = sotto_client_history(c, pos[0], 0, on_message, &h);
	if (rc != 0)
		rc = cli_engine_error(c, rc, "no history");
	sotto_client_close(c);
	if (rc == 0 && h.failed)
		return cli_error("could not print every message");
	return rc != 0 ? rc : cli_flush();
}
