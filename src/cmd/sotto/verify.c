/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto verify: the safety number with a contact, and its state. */
#include <stdio.h>
#include <string.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR verify NAME [--mark-verified]\n\n"
	"Shows the safety number of your conversation with NAME: 60 digits computed from\n"
	"both identity keys (the same on both sides). Compare it with NAME in person or\n"
	"over a channel you trust; if it matches, nobody is in the middle. Then run again\n"
	"with --mark-verified. If NAME's identity key changes later (a new phone, or an\n"
	"attacker), the contact turns unverified and this command says so.\n";

int verify_main(int argc, char **argv)
{
	const char *pos[1];
	int mark = 0, verified = 0, changed = 0;
	const struct cli_opt opts[] = {
		{ "--mark-verified", NULL, &mark },
		{ NULL, NULL, NULL },
	};
	char digits[SOTTO_CLIENT_SAFETY_DIGITS + 1];
	sotto_client *c = NULL;
	int rc = cli_parse(argc, argv, opts, pos, 1, 1, NULL, usage);
	if (rc != 0)
		return rc;
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	rc = sotto_client_contact_add(c, pos[0]);
	if (rc == 0)
		rc = sotto_client_safety_number(c, pos[0], digits, &verified, &changed);
	if (rc == 0 && mark) {
		rc = sotto_client_set_verified(c, pos[0], 1);
		if (rc == 0)
			rc = sotto_client_safety_number(c, pos[0], digits, &verified, &changed);
	}
	if (rc != 0) {
		int ret = cli_engine_error(c, rc, "no safety number");
		sotto_client_close(c);
		return ret;
	}
	printf("Safety number with %s:\n", pos[0]);
	for (int line = 0; line < 3; line++) {
		printf("   ");
		for (int g = 0; g < 4; g++)
			printf(" %.5s", digits + line * 20 + g * 5);
		printf("\n");
	}
	if (verified)
		printf("State: verified%s\n", mark ? " (marked just now)" : "");
	else if (changed)
		printf("State: NOT verified: the identity key of %s CHANGED since you last "
		       "verified or looked.\nCompare the number again before you trust this "
		       "conversation.\n", pos[0]);
	else
		printf("State: not verified\n");
	rc = cli_kt_contact(c, pos[0]); /* alarms.c: the contact's log status */
	sotto_client_close(c);
	int fl = cli_flush();
	return rc != 0 ? rc : fl;
}
