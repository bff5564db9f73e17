/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sottod-evil: TEST-ONLY. sottod (its own main, renamed) over the server
 * library built with -DSOTTO_KT_EVIL. One extra option, anywhere:
 *   --evil FILE   the knob file (default DATA/evil.conf), see README.md */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/kt_evil.h"
#include "sottod_evil.h"

int main(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 1, sizeof *args);
	int n = 0, rc;

	if (args == NULL)
		return 1;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--evil") == 0 && i + 1 < argc)
			sotto__evil_set_config(argv[++i]);
		else
			args[n++] = argv[i];
	}
	fprintf(stderr, "sottod-evil: %s\n", sotto__evil_marker);
	rc = sotto__evil_sottod_main(n, args);
	free(args);
	return rc;
}
