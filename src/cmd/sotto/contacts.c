/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto contacts: the people this profile knows. */
#include <stdio.h>

#include "cmd/sotto/cli.h"

static const char usage[] =
	"Usage: sotto --profile DIR contacts\n\n"
	"Lists the contacts of this profile, one per line: the name, whether you marked\n"
	"their safety number verified, and a warning if their identity key changed\n"
	"since (see 'sotto verify NAME').\n";

static int on_contact(void *ctx, const sotto_client_contact *ct)
{
	(void)ctx;
	printf("%-32s %s%s\n", ct->name, ct->verified ? "verified" : "not verified",
		ct->identity_changed ? ", identity key CHANGED" : "");
	return 0;
}

int contacts_main(int argc, char **argv)
{
	sotto_client *c = NULL;
	int rc = cli_parse(argc, argv, NULL, NULL, 0, 0, NULL, usage);
	if (rc != 0)
		return rc;
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	rc = sotto_client_contacts(c, on_contact, NULL);
	if (rc != 0)
		rc = cli_engine_error(c, rc, "cannot list contacts");
	sotto_client_close(c);
	return rc != 0 ? rc : cli_flush();
}
