/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The server store's public name directory: claims at registration,
 * uniqueness (a refused claim creates nothing), lookups both ways, and the
 * release of a name whose account has no linked device left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/store.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "testutil.h"

static void mkdev(sotto_store_new_device *d, uint8_t tag)
{
	memset(d, 0, sizeof(*d));
	d->registration_id = 1000u + tag;
	memset(d->noise_key, tag, sizeof d->noise_key);
	d->identity_key[0] = 0x05;
	memset(d->identity_key + 1, tag, 32);
}

int main(void)
{
	char dir[] = "/tmp/sotto-names-XXXXXX";
	char cmd[128], name[SOTTO_STORE_NAME_MAX + 1];
	sotto_store *st = NULL;
	sotto_store_config cfg = { 0 };
	sotto_store_new_device d1, d2, d3, d4;
	uint8_t a1[16], a2[16], a3[16], got[16];
	uint32_t devid = 0;

	if (sotto_init() != 0 || mkdtemp(dir) == NULL)
		return 1;
	cfg.data_dir = dir;
	CHECK_RC(sotto_store_open_sqlite(&st, &cfg, NULL, 0), 0);
	if (st == NULL)
		return tu_finish("server-names");
	CHECK(sotto_store_sqlite_schema_version() >= 2);
	mkdev(&d1, 1);
	mkdev(&d2, 2);
	mkdev(&d3, 3);
	mkdev(&d4, 4);

	CHECK_RC(sotto_store_account_create_named(st, NULL, 0, &d1, "alice", 1000, a1, NULL), 0);
	CHECK_RC(sotto_store_name_lookup(st, "alice", got), 0);
	CHECK_MEM(got, a1, 16);
	CHECK_RC(sotto_store_name_of(st, a1, name, sizeof name), 0);
	CHECK(strcmp(name, "alice") == 0);

	/* Taken: refused, and the device was not created either. */
	CHECK_RC(sotto_store_account_create_named(st, NULL, 0, &d2, "alice", 1001, a2, NULL),
		SOTTO_ERR_EXISTS);
	sotto_store_device dev;
	CHECK_RC(sotto_store_device_by_noise_key(st, d2.noise_key, &dev), SOTTO_ERR_NOT_FOUND);
	/* Malformed names never reach the database. */
	CHECK_RC(sotto_store_account_create_named(st, NULL, 0, &d2, "Alice", 1001, a2, NULL),
		SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_account_create_named(st, NULL, 0, &d2, "al", 1001, a2, NULL),
		SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_name_lookup(st, "a b c", got), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_name_lookup(st, "nobody", got), SOTTO_ERR_NOT_FOUND);

	/* A second account with another name; an unnamed one has no name. */
	CHECK_RC(sotto_store_account_create_named(st, NULL, 0, &d2, "bob.b_2", 1002, a2, NULL), 0);
	CHECK_RC(sotto_store_name_lookup(st, "bob.b_2", got), 0);
	CHECK_MEM(got, a2, 16);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d3, 1003, a3, NULL), 0);
	CHECK_RC(sotto_store_name_of(st, a3, name, sizeof name), SOTTO_ERR_NOT_FOUND);

	/* While any device of alice's account is linked, the name stays hers. */
	CHECK_RC(sotto_store_device_add(st, a1, &d4, 1004, &devid, NULL), 0);
	CHECK_RC(sotto_store_device_remove(st, a1, 1, 1005, NULL), 0);
	CHECK_RC(sotto_store_name_lookup(st, "alice", got), 0);
	mkdev(&d3, 5);
	CHECK_RC(sotto_store_account_create_named(st, NULL, 0, &d3, "alice", 1006, a3, NULL),
		SOTTO_ERR_EXISTS);
	/* Then it is released, and a new registration takes it. */
	CHECK_RC(sotto_store_device_remove(st, a1, devid, 1007, NULL), 0);
	CHECK_RC(sotto_store_name_lookup(st, "alice", got), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_account_create_named(st, NULL, 0, &d3, "alice", 1008, a3, NULL), 0);
	CHECK_RC(sotto_store_name_lookup(st, "alice", got), 0);
	CHECK_MEM(got, a3, 16);
	CHECK_RC(sotto_store_name_of(st, a1, name, sizeof name), SOTTO_ERR_NOT_FOUND);

	/* Everything survives a reopen. */
	sotto_store_close(st);
	st = NULL;
	CHECK_RC(sotto_store_open_sqlite(&st, &cfg, NULL, 0), 0);
	if (st != NULL) {
		CHECK_RC(sotto_store_name_lookup(st, "bob.b_2", got), 0);
		CHECK_MEM(got, a2, 16);
		sotto_store_close(st);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tu_fail("cleanup");
	return tu_finish("server-names");
}
