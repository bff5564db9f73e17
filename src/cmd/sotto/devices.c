/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto devices: the devices of this account, as the server knows them. */
#include <stdio.h>
#include <string.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR devices\n\n"
	"Lists this account's devices: id, name, when it was linked and last seen.\n"
	"The current device is marked with '*'. Remove one with 'sotto unlink ID'.\n";

static int on_device(void *ctx, const sotto_client_device *d)
{
	char created[32], seen[32];
	(void)ctx;
	cli_format_time(d->created_ms, created);
	cli_format_time(d->last_seen_ms, seen);
	size_t n = strlen(d->name);
	printf("%c %3u  ", d->current ? '*' : ' ', (unsigned)d->device_id);
	/* The name was chosen on another device: no terminal escapes. */
	if (n == 0)
		printf("(no name)");
	else
		cli_put_safe(d->name, n);
	printf("  linked %s  last seen %s\n", created, seen);
	return 0;
}

int devices_main(int argc, char **argv)
{
	sotto_client *c = NULL;
	int rc = cli_parse(argc, argv, NULL, NULL, 0, 0, NULL, usage);
	if (rc != 0)
		return rc;
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	rc = sotto_client_devices(c, on_device, NULL);
	if (rc != 0)
		rc = cli_engine_error(c, rc, "cannot list devices");
	if (rc == 0)
		rc = cli_kt_devices(c); /* alarms.c: each device's log status, alarms */
	sotto_client_close(c);
	return rc != 0 ? rc : cli_flush();
}
