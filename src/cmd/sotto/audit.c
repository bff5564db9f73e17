/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto audit: checks a server's key transparency log from the outside. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/sotto/cli.h"
#include "sotto/client_kt.h"
#include "sotto/error.h"

static const char usage[] =
	"Usage: sotto audit --server HOST:PORT --server-key KEY [--kt-key KEY]\n"
	"                   [--state FILE] [--timeout SECONDS]\n\n"
	"Downloads the server's whole key transparency log (every leaf, in pages),\n"
	"recomputes the root of every signed tree head it has seen, checks the\n"
	"signatures and the server's consistency proofs between the heads, and prints a\n"
	"report. Exits 0 if everything is consistent, 1 on any inconsistency (or if the\n"
	"audit could not run). Needs no profile.\n\n"
	"  --server HOST:PORT  the server's address\n"
	"  --server-key KEY    the server's public key (base64, sottod's public-key line)\n"
	"  --kt-key KEY        the KT key to hold the server to (sottod's kt-key line);\n"
	"                      default: the key the server announces\n"
	"  --state FILE        heads seen before (one base64 head per line): each is\n"
	"                      checked against the log, and the latest head is added\n"
	"  --timeout SECONDS   per request (default 15)\n";

static void print_line(void *ctx, const char *line)
{
	(void)ctx;
	cli_put_safe(line, strlen(line));
	putchar('\n');
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

static int b64_val(int ch)
{
	const char *p = ch != '\0' ? strchr(b64, ch) : NULL;
	return p != NULL ? (int)(p - b64) : -1;
}

/* Decodes one 145-byte head written by b64_encode. */
static int b64_head(const char *s, uint8_t out[145])
{
	size_t o = 0, len = strlen(s);
	if (len != 196)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = s[i + k] == '=' ? 0 : b64_val(s[i + k]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
			return -1;
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			(uint32_t)v[3];
		uint8_t b[3] = { (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w };
		for (int k = 0; k < 3 && o < 145; k++)
			out[o++] = b[k];
	}
	return o == 145 ? 0 : -1;
}

int audit_main(int argc, char **argv)
{
	const char *server = NULL, *key_b64 = NULL, *kt_b64 = NULL, *state = NULL,
		   *timeout = NULL;
	const struct cli_opt opts[] = {
		{ "--server", &server, NULL },
		{ "--server-key", &key_b64, NULL },
		{ "--kt-key", &kt_b64, NULL },
		{ "--state", &state, NULL },
		{ "--timeout", &timeout, NULL },
		{ NULL, NULL, NULL },
	};
	uint8_t key[32], kt[32], latest[145], *heads = NULL;
	size_t n_heads = 0;
	long long ms = 15000;
	unsigned bad = 0;
	int rc = cli_parse(argc, argv, opts, NULL, 0, 0, NULL, usage);
	if (rc != 0)
		return rc;
	if (server == NULL || key_b64 == NULL)
		return cli_usage_error("--server and --server-key are required");
	if (sotto_client_parse_server_key(key_b64, key) != 0)
		return cli_usage_error("--server-key must be the server's 32-byte key in base64");
	if (kt_b64 != NULL && sotto_client_parse_server_key(kt_b64, kt) != 0)
		return cli_usage_error("--kt-key must be the server's 32-byte KT key in base64");
	if (timeout != NULL && (ms = cli_parse_seconds(timeout, 3600)) <= 0)
		return cli_usage_error("--timeout wants seconds (up to 3600)");
	if (state != NULL) {
		FILE *f = fopen(state, "r");
		char line[512];
		if (f == NULL && errno != ENOENT)
			return cli_error("cannot read %s: %s", state, strerror(errno));
		while (f != NULL && fgets(line, sizeof line, f) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] == '\0')
				continue;
			uint8_t *nh = realloc(heads, (n_heads + 1) * 145);
			if (nh == NULL) {
				fclose(f);
				free(heads);
				return cli_error("out of memory");
			}
			heads = nh;
			if (b64_head(line, heads + n_heads * 145) != 0) {
				fclose(f);
				free(heads);
				return cli_error("%s: not a list of signed heads", state);
			}
			n_heads++;
		}
		if (f != NULL)
			fclose(f);
	}
	printf("auditing %s (%zu heads seen before)\n", server, n_heads);
	rc = sotto_client_kt_audit(server, key, kt_b64 != NULL ? kt : NULL, heads, n_heads,
		(unsigned)ms, print_line, NULL, &bad, latest);
	free(heads);
	if (rc != 0) {
		fflush(stdout);
		return cli_error("the audit could not run: %s", sotto_strerror(rc));
	}
	if (state != NULL) {
		char enc[200];
		FILE *f = fopen(state, "a");
		b64_encode(latest, sizeof latest, enc);
		if (f == NULL)
			return cli_error("cannot write %s: %s", state, strerror(errno));
		int wr = fprintf(f, "%s\n", enc);
		if (fclose(f) != 0 || wr < 0)
			return cli_error("cannot write %s", state);
	}
	printf("%s\n", bad == 0 ? "result: consistent" : "result: INCONSISTENT");
	if (cli_flush() != 0)
		return CLI_FAIL;
	return bad == 0 ? CLI_OK : CLI_FAIL;
}
