/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto send-file: a file to a contact. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR send-file NAME PATH [--caption TEXT]\n\n"
	"Encrypts the file with a fresh key, uploads it to the server as an opaque blob,\n"
	"and sends NAME (and this account's other devices) a message with the key and\n"
	"the file's digest. The server never sees the key, the name or the contents.\n"
	"At most 100 MiB. Exits 0 only once the server has acknowledged the message.\n";

/* A few common types by extension; the receiver only uses it as a hint. */
static const char *guess_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".txt", "text/plain" }, { ".pdf", "application/pdf" },
		{ ".png", "image/png" },  { ".jpg", "image/jpeg" },
		{ ".jpeg", "image/jpeg" }, { ".gif", "image/gif" },
		{ ".zip", "application/zip" },
	};
	const char *dot = strrchr(path, '.');
	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

int send_file_main(int argc, char **argv)
{
	const char *pos[2], *caption = NULL;
	const struct cli_opt opts[] = {
		{ "--caption", &caption, NULL },
		{ NULL, NULL, NULL },
	};
	sotto_client *c = NULL;
	struct cli_changed before;
	struct stat st;
	int rc = cli_parse(argc, argv, opts, pos, 2, 2, NULL, usage);
	if (rc != 0)
		return rc;
	if (stat(pos[1], &st) != 0 || !S_ISREG(st.st_mode))
		return cli_error("%s is not a readable file", pos[1]);
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	if (cli_changed_snapshot(c, &before) != 0)
		memset(&before, 0, sizeof before);
	rc = sotto_client_send_file(c, pos[0], pos[1], guess_type(pos[1]), caption, NULL);
	if (rc == 0 && sotto_client_notice(c)[0] != '\0')
		fprintf(stderr, "sotto: note: %s\n", sotto_client_notice(c));
	cli_report_identity_changes(c, &before, 0);
	if (rc != 0)
		rc = cli_engine_error(c, rc, "not sent");
	sotto_client_close(c);
	return rc;
}
