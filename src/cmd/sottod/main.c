/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sottod: Sotto's server.
 *   sottod --data DIR [--listen HOST:PORT] [--config FILE]
 *   sottod admin invite --data DIR [--valid-days N]
 * On start it prints on stdout "listen HOST:PORT", "public-key BASE64",
 * "kt-key BASE64" and "sealed-root BASE64" (the sealed sender trust root),
 * one line each, and logs to stderr. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "server/server.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: sottod --data DIR [--listen HOST:PORT] [--config FILE]\n"
		"       sottod admin invite --data DIR [--valid-days N]\n");
}

static int cmd_invite(int argc, char **argv)
{
	const char *data = NULL;
	long days = 7;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			data = argv[++i];
		} else if (strcmp(argv[i], "--valid-days") == 0 && i + 1 < argc) {
			char *end;
			days = strtol(argv[++i], &end, 10);
			if (*end != '\0' || days < 1 || days > 3650) {
				usage();
				return 2;
			}
		} else {
			usage();
			return 2;
		}
	}
	if (data == NULL) {
		usage();
		return 2;
	}
	char code[64], err[256] = "";
	if (sotto_server_admin_invite(data, (int64_t)days * 86400000, code, sizeof(code), err,
		sizeof(err)) != 0) {
		fprintf(stderr, "sottod: %s\n", err);
		return 1;
	}
	printf("%s\n", code);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "admin") == 0 && strcmp(argv[2], "invite") == 0)
		return cmd_invite(argc - 3, argv + 3);
	const char *data = NULL, *listen = NULL, *config = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			data = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen = argv[++i];
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else {
			usage();
			return 2;
		}
	}
	if (data == NULL) {
		usage();
		return 2;
	}
	sotto_server_config cfg;
	char err[512] = "";
	sotto_server_config_defaults(&cfg);
	if (config != NULL && sotto_server_config_load(&cfg, config, err, sizeof(err)) != 0) {
		fprintf(stderr, "sottod: %s\n", err);
		return 2;
	}
	if (listen != NULL && sotto_server_config_listen(&cfg, listen) != 0) {
		fprintf(stderr, "sottod: bad --listen address %s (want HOST:PORT)\n", listen);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* One descriptor per connection: take all the system allows. The
	 * hard limit itself is the administrator's (docs/operations.md). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	sotto_server *s;
	uint8_t pub[32];
	if (sotto_server_new(&s, data, &cfg, pub, err, sizeof(err)) != 0) {
		fprintf(stderr, "sottod: %s\n", err);
		return 1;
	}
	char b64[64];
	if (sotto_server_b64(pub, sizeof(pub), 0, b64, sizeof(b64)) != 0) {
		sotto_server_free(s);
		return 1;
	}
	printf("listen %s\npublic-key %s\n", sotto_server_address(s), b64);
	uint8_t kt_pub[32];
	sotto_server_kt_key(s, kt_pub);
	if (sotto_server_b64(kt_pub, sizeof(kt_pub), 0, b64, sizeof(b64)) != 0) {
		sotto_server_free(s);
		return 1;
	}
	printf("kt-key %s\n", b64);
	uint8_t root[32];
	sotto_server_sealed_root(s, root);
	if (sotto_server_b64(root, sizeof(root), 0, b64, sizeof(b64)) != 0) {
		sotto_server_free(s);
		return 1;
	}
	printf("sealed-root %s\n", b64);
	fflush(stdout);
	int rc = sotto_server_run(s);
	sotto_server_free(s);
	return rc == 0 ? 0 : 1;
}
