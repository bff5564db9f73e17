/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto receive: takes what the server holds for this device. */
#include <stdio.h>
#include <string.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR receive [--json] [--timeout SECONDS]\n\n"
	"Receives every message waiting on the server for this device, then waits up to\n"
	"SECONDS (default 0) for more, and prints each one. Each message is decrypted and\n"
	"stored (encrypted) in the profile before the server is told to delete it.\n"
	"Attachments are downloaded, checked against their digest, and saved under\n"
	"DIR/attachments/.\n\n"
	"  --json  one JSON object per line: id, kind (message, timer, identity-change),\n"
	"          conversation, from, device, outgoing, timestamp (ms), body, and when\n"
	"          present timer, expires, attachments [{id, path, file_name,\n"
	"          content_type, size}]\n";

struct recv_ctx {
	int json;
	int failed;
};

static int on_message(void *ctx, const sotto_client_message *m)
{
	struct recv_ctx *r = ctx;
	if (cli_print_message(m, r->json, 0) != 0 || fflush(stdout) != 0)
		r->failed = 1;
	return 0;
}

int receive_main(int argc, char **argv)
{
	const char *timeout = NULL;
	struct recv_ctx r = { 0, 0 };
	const struct cli_opt opts[] = {
		{ "--json", NULL, &r.json },
		{ "--timeout", &timeout, NULL },
		{ NULL, NULL, NULL },
	};
	sotto_client *c = NULL;
	struct cli_changed before;
	long long ms = 0;
	int rc = cli_parse(argc, argv, opts, NULL, 0, 0, NULL, usage);
	if (rc != 0)
		return rc;
	if (timeout != NULL && (ms = cli_parse_seconds(timeout, 86400)) < 0)
		return cli_usage_error("--timeout wants seconds (0 to 86400)");
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	if (cli_changed_snapshot(c, &before) != 0)
		memset(&before, 0, sizeof before);
	rc = sotto_client_receive(c, (unsigned)ms, on_message, &r, NULL);
	cli_report_identity_changes(c, &before, r.json);
	(void)cli_kt_report_alarms(c, stderr); /* alarms.c */
	if (rc != 0)
		rc = cli_engine_error(c, rc, "receiving failed");
	sotto_client_close(c);
	if (rc == 0 && r.failed)
		return cli_error("could not print every message (they are stored: see history)");
	return rc != 0 ? rc : cli_flush();
}
