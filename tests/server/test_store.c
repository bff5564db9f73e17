/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The SQLite store, operation by operation: accounts, devices, prekeys and
 * bundles, queues, invites, attachments, the callback API, batch isolation,
 * migrations and bad input. */
#include "store_test.h"

static const int64_t T0 = 1767225600000; /* 2026-01-01 */

static void ec_key(sotto_store_ec_prekey *k, uint32_t id)
{
	k->id = id;
	memset(k->pub, (int)(id & 0xff), sizeof k->pub);
	k->pub[0] = 0x05;
}

static void kem_key(sotto_store_kem_prekey *k, uint32_t id)
{
	k->id = id;
	memset(k->pub, (int)(id & 0xff), sizeof k->pub);
	k->pub[0] = 0x08;
	k->pub[1] = (uint8_t)(id >> 8);
	memset(k->sig, (int)((id * 7) & 0xff), sizeof k->sig);
}

static void test_schema_fresh(const char *dir)
{
	sotto_store *st = st_open(dir, NULL);
	sqlite3 *db = st_raw(dir);
	sqlite3_stmt *s;

	CHECK(sotto_store_sqlite_schema_version() >= 1);
	CHECK(st_raw_int(db, "SELECT version FROM schema_version") ==
		sotto_store_sqlite_schema_version());
	CHECK(st_raw_int(db, "SELECT count(*) FROM schema_version") == 1);
	CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(s) == SQLITE_ROW &&
		strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0);
	sqlite3_finalize(s);
	CHECK(st_raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
			     "('accounts','devices','ec_prekeys','signed_prekeys','kem_prekeys',"
			     "'kem_last_resort','invites','envelopes','attachments')") == 9);
	sqlite3_close(db);
	sotto_store_close(st);
	/* Reopening an up-to-date database applies nothing and keeps one row. */
	st = st_open(dir, NULL);
	sotto_store_close(st);
	db = st_raw(dir);
	CHECK(st_raw_int(db, "SELECT count(*) FROM schema_version") == 1);
	sqlite3_close(db);
}

static void test_schema_future(void)
{
	char dir[256], err[256];
	sotto_store_config cfg = { 0 };
	sotto_store *st;
	sqlite3 *db;

	st_tmpdir(dir, sizeof dir, "future");
	st = st_open(dir, NULL);
	sotto_store_close(st);
	db = st_raw(dir);
	CHECK(sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL) ==
		SQLITE_OK);
	sqlite3_close(db);
	cfg.data_dir = dir;
	st = (sotto_store *)1;
	CHECK_RC(sotto_store_open_sqlite(&st, &cfg, err, sizeof err), SOTTO_ERR_VERSION_MISMATCH);
	CHECK(st == NULL);
	CHECK(strstr(err, "99") != NULL && strstr(err, "newer") != NULL);
	/* Refusing leaves the file alone. */
	db = st_raw(dir);
	CHECK(st_raw_int(db, "SELECT version FROM schema_version") == 99);
	sqlite3_close(db);
	st_rmdir(dir);

	/* A data directory that is a file. */
	snprintf(dir, sizeof dir, "/tmp/sotto-notadir-%ld", (long)getpid());
	FILE *f = fopen(dir, "w");
	CHECK(f != NULL);
	if (f != NULL)
		fclose(f);
	err[0] = '\0';
	cfg.data_dir = dir;
	CHECK_RC(sotto_store_open_sqlite(&st, &cfg, err, sizeof err), SOTTO_ERR_STORAGE);
	CHECK(err[0] != '\0');
	unlink(dir);
	/* A file that is not a database. */
	st_tmpdir(dir, sizeof dir, "garbage");
	{
		char p[300];

		snprintf(p, sizeof p, "%s/sotto.db", dir);
		f = fopen(p, "w");
		CHECK(f != NULL);
		if (f != NULL) {
			for (int i = 0; i < 4096; i++)
				fputc(i * 31 & 0xff, f);
			fclose(f);
		}
	}
	CHECK_RC(sotto_store_open_sqlite(&st, &cfg, err, sizeof err), SOTTO_ERR_STORAGE);
	st_rmdir(dir);
	CHECK_RC(sotto_store_open_sqlite(NULL, &cfg, err, sizeof err), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_open_sqlite(&st, NULL, err, sizeof err), SOTTO_ERR_INVALID_ARGUMENT);
}

static void test_accounts_devices(const char *dir)
{
	sotto_store *st = st_open(dir, NULL);
	sotto_store_new_device d1, d2, d3, dup;
	sotto_store_device dv, list[SOTTO_STORE_MAX_DEVICE_ID];
	sotto_store_account acc;
	uint8_t a[16], b[16], none[16] = { 0 };
	uint32_t id;
	size_t n;
	sqlite3 *db;

	st_device(&d1, 1);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d1, T0, a, NULL), 0);
	CHECK((a[6] & 0xf0) == 0x40 && (a[8] & 0xc0) == 0x80); /* a version 4 UUID */
	CHECK_RC(sotto_store_account_get(st, a, &acc), 0);
	CHECK(memcmp(acc.id, a, 16) == 0 && acc.created_ms == T0 &&
		acc.reg_mode == SOTTO_STORE_REG_OPEN);
	CHECK_RC(sotto_store_account_get(st, none, &acc), SOTTO_ERR_NOT_FOUND);

	/* A second account with the same Noise key fails and leaves nothing. */
	st_device(&dup, 2);
	memcpy(dup.noise_key, d1.noise_key, 32);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &dup, T0, b, NULL), SOTTO_ERR_EXISTS);
	db = st_raw(dir);
	CHECK(st_raw_int(db, "SELECT count(*) FROM accounts") == 1);
	CHECK(st_raw_int(db, "SELECT count(*) FROM devices") == 1);

	CHECK_RC(sotto_store_device_by_noise_key(st, d1.noise_key, &dv), 0);
	CHECK(memcmp(dv.account_id, a, 16) == 0 && dv.device_id == 1 &&
		dv.registration_id == d1.registration_id && dv.linked && dv.unlinked_ms == 0 &&
		memcmp(dv.identity_key, d1.identity_key, 33) == 0 && dv.name_len == d1.name_len &&
		memcmp(dv.name, d1.name, d1.name_len) == 0 && dv.created_ms == T0 &&
		dv.last_seen_ms == T0 && memcmp(dv.noise_key, d1.noise_key, 32) == 0);
	st_device(&d2, 3);
	CHECK_RC(sotto_store_device_by_noise_key(st, d2.noise_key, &dv), SOTTO_ERR_NOT_FOUND);

	d2.name = NULL;
	d2.name_len = 0;
	CHECK_RC(sotto_store_device_add(st, a, &d2, T0 + 1, &id, NULL), 0);
	CHECK(id == 2);
	st_device(&d3, 4);
	CHECK_RC(sotto_store_device_add(st, a, &d3, T0 + 2, &id, NULL), 0);
	CHECK(id == 3);
	CHECK_RC(sotto_store_device_add(st, a, &d3, T0 + 2, &id, NULL), SOTTO_ERR_EXISTS);
	CHECK_RC(sotto_store_device_add(st, none, &dup, T0, &id, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_device_list(st, a, 0, list, 127, &n), 0);
	CHECK(n == 3 && list[0].device_id == 1 && list[1].device_id == 2 &&
		list[2].device_id == 3 && list[1].name_len == 0);
	CHECK_RC(sotto_store_device_list(st, a, 0, list, 2, &n), SOTTO_ERR_BUFFER_TOO_SMALL);
	CHECK_RC(sotto_store_device_list(st, none, 0, list, 127, &n), SOTTO_ERR_NOT_FOUND);
	{
		sotto_store_device_reg regs[127];

		CHECK_RC(sotto_store_device_regs(st, a, regs, 127, &n), 0);
		CHECK(n == 3 && regs[0].device_id == 1 && regs[1].device_id == 2 &&
			regs[2].device_id == 3 && regs[0].registration_id == list[0].registration_id &&
			regs[2].registration_id == list[2].registration_id);
		CHECK_RC(sotto_store_device_regs(st, a, regs, 2, &n), SOTTO_ERR_BUFFER_TOO_SMALL);
		CHECK_RC(sotto_store_device_regs(st, none, regs, 127, &n), SOTTO_ERR_NOT_FOUND);
		CHECK_RC(sotto_store_device_regs(st, a, NULL, 3, &n), SOTTO_ERR_INVALID_ARGUMENT);
	}

	CHECK_RC(sotto_store_device_touch(st, a, 2, T0 + 50, NULL), 0);
	CHECK_RC(sotto_store_device_by_noise_key(st, d2.noise_key, &dv), 0);
	CHECK(dv.last_seen_ms == T0 + 50 && dv.created_ms == T0 + 1);
	CHECK_RC(sotto_store_device_touch(st, a, 9, T0, NULL), SOTTO_ERR_NOT_FOUND);

	/* Unlink device 2: its key stops working, it stays listed as unlinked. */
	CHECK_RC(sotto_store_device_remove(st, a, 2, T0 + 60, NULL), 0);
	CHECK_RC(sotto_store_device_remove(st, a, 2, T0 + 60, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_device_by_noise_key(st, d2.noise_key, &dv), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_device_list(st, a, 0, list, 127, &n), 0);
	CHECK(n == 2 && list[0].device_id == 1 && list[1].device_id == 3);
	{
		sotto_store_device_reg regs[127];

		CHECK_RC(sotto_store_device_regs(st, a, regs, 127, &n), 0);
		CHECK(n == 2 && regs[0].device_id == 1 && regs[1].device_id == 3);
	}
	CHECK_RC(sotto_store_device_list(st, a, 1, list, 127, &n), 0);
	CHECK(n == 3 && list[1].device_id == 2 && !list[1].linked &&
		list[1].unlinked_ms == T0 + 60);
	CHECK_RC(sotto_store_device_touch(st, a, 2, T0, NULL), SOTTO_ERR_NOT_FOUND);
	/* The unlinked device's key may be registered again (e.g. re-linking). */
	CHECK_RC(sotto_store_device_add(st, a, &d2, T0 + 70, &id, NULL), 0);
	CHECK(id == 2);
	CHECK_RC(sotto_store_device_by_noise_key(st, d2.noise_key, &dv), 0);
	CHECK(dv.device_id == 2 && dv.created_ms == T0 + 70);

	/* Fill every device id with callbacks (they group-commit), then hit the limit. */
	{
		static sotto_store_new_device many[130];
		static struct st_waiter w[130];
		static uint32_t ids[130];
		int ok = 1;

		for (int i = 0; i < 124; i++) {
			sotto_store_cb cb;

			st_device(&many[i], 1000 + (uint64_t)i);
			many[i].name_len = 0;
			many[i].name = NULL;
			st_waiter_init(&w[i]);
			cb.fn = st_waiter_done;
			cb.arg = &w[i];
			CHECK_RC(sotto_store_device_add(st, a, &many[i], T0, &ids[i], &cb), 0);
		}
		for (int i = 0; i < 124; i++)
			ok &= st_waiter_wait(&w[i]) == 0 && ids[i] == (uint32_t)i + 4;
		CHECK(ok);
		st_device(&many[124], 5000);
		CHECK_RC(sotto_store_device_add(st, a, &many[124], T0, &id, NULL), SOTTO_ERR_LIMIT);
		CHECK_RC(sotto_store_device_list(st, a, 0, list, 127, &n), 0);
		CHECK(n == 127 && list[126].device_id == 127);
	}
	sqlite3_close(db);

	/* Bad arguments. */
	CHECK_RC(sotto_store_account_create(st, NULL, 0, NULL, T0, b, NULL),
		SOTTO_ERR_INVALID_ARGUMENT);
	dup.registration_id = 0;
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &dup, T0, b, NULL),
		SOTTO_ERR_INVALID_ARGUMENT);
	st_device(&dup, 77);
	dup.name_len = SOTTO_STORE_MAX_DEVICE_NAME + 1;
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &dup, T0, b, NULL),
		SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_device_remove(st, a, 0, T0, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_device_remove(st, a, 128, T0, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_device_by_noise_key(st, NULL, &dv), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_device_list(st, a, 0, NULL, 3, &n), SOTTO_ERR_INVALID_ARGUMENT);
	{
		sotto_store_cb nocb = { NULL, NULL };

		CHECK_RC(sotto_store_device_touch(st, a, 1, T0, &nocb), SOTTO_ERR_INVALID_ARGUMENT);
	}
	sotto_store_close(st);
}

static void test_prekeys(const char *dir)
{
	sotto_store *st = st_open(dir, NULL);
	sotto_store_new_device d1, d2;
	sotto_store_ec_prekey ec[3];
	static sotto_store_kem_prekey kem[2], lr, lr2;
	sotto_store_signed_prekey spk, spk2;
	sotto_store_prekeys up;
	sotto_store_prekey_counts cnt;
	static sotto_store_bundle b[4];
	uint8_t a[16], none[16] = { 0 };
	uint32_t id;
	size_t n;

	st_device(&d1, 10);
	st_device(&d2, 11);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d1, T0, a, NULL), 0);
	CHECK_RC(sotto_store_device_add(st, a, &d2, T0, &id, NULL), 0);

	CHECK_RC(sotto_store_prekeys_count(st, a, 1, &cnt), 0);
	CHECK(cnt.ec == 0 && cnt.kem == 0 && !cnt.has_signed && !cnt.has_last_resort);
	for (uint32_t i = 0; i < 3; i++)
		ec_key(&ec[i], 30 - i); /* ids 30, 29, 28: served lowest first */
	kem_key(&kem[0], 501);
	kem_key(&kem[1], 500);
	kem_key(&lr, 900);
	spk.id = 7;
	memset(spk.pub, 0x77, 33);
	memset(spk.sig, 0x78, 64);
	memset(&up, 0, sizeof up);
	up.ec = ec;
	up.ec_count = 3;
	up.kem = kem;
	up.kem_count = 2;
	up.signed_prekey = &spk;
	up.last_resort = &lr;
	CHECK_RC(sotto_store_prekeys_upload(st, a, 1, &up, NULL), 0);
	CHECK_RC(sotto_store_prekeys_count(st, a, 1, &cnt), 0);
	CHECK(cnt.ec == 3 && cnt.kem == 2 && cnt.has_signed && cnt.has_last_resort);

	/* Device 2: a signed prekey and a last-resort key only. */
	memset(&up, 0, sizeof up);
	spk2 = spk;
	spk2.id = 8;
	kem_key(&lr2, 901);
	up.signed_prekey = &spk2;
	up.last_resort = &lr2;
	CHECK_RC(sotto_store_prekeys_upload(st, a, 2, &up, NULL), 0);

	/* A bundle too big for the output consumes nothing. */
	CHECK_RC(sotto_store_bundles_fetch(st, a, 0, b, 1, &n, NULL), SOTTO_ERR_BUFFER_TOO_SMALL);
	CHECK_RC(sotto_store_prekeys_count(st, a, 1, &cnt), 0);
	CHECK(cnt.ec == 3 && cnt.kem == 2);

	CHECK_RC(sotto_store_bundles_fetch(st, a, 0, b, 4, &n, NULL), 0);
	CHECK(n == 2);
	CHECK(b[0].device_id == 1 && b[0].registration_id == d1.registration_id &&
		memcmp(b[0].identity_key, d1.identity_key, 33) == 0);
	CHECK(b[0].has_signed && b[0].signed_prekey.id == 7 &&
		memcmp(b[0].signed_prekey.pub, spk.pub, 33) == 0 &&
		memcmp(b[0].signed_prekey.sig, spk.sig, 64) == 0);
	CHECK(b[0].has_ec && b[0].ec.id == 28 && memcmp(b[0].ec.pub, ec[2].pub, 33) == 0);
	CHECK(b[0].has_kem && !b[0].kem_is_last_resort && b[0].kem.id == 500 &&
		memcmp(b[0].kem.pub, kem[1].pub, SOTTO_STORE_KEM_KEY_BYTES) == 0 &&
		memcmp(b[0].kem.sig, kem[1].sig, 64) == 0);
	/* The one-time keys left, as the same transaction saw them. */
	CHECK(b[0].ec_left == 2 && b[0].kem_left == 1 && b[1].ec_left == 0 && b[1].kem_left == 0);
	CHECK(b[1].device_id == 2 && b[1].has_signed && b[1].signed_prekey.id == 8 &&
		!b[1].has_ec &&
		b[1].has_kem && b[1].kem_is_last_resort && b[1].kem.id == 901 &&
		memcmp(b[1].kem.pub, lr2.pub, SOTTO_STORE_KEM_KEY_BYTES) == 0);
	CHECK_RC(sotto_store_prekeys_count(st, a, 1, &cnt), 0);
	CHECK(cnt.ec == 2 && cnt.kem == 1 && cnt.has_last_resort);
	CHECK_RC(sotto_store_prekeys_count(st, a, 2, &cnt), 0);
	CHECK(cnt.ec == 0 && cnt.kem == 0 && cnt.has_signed && cnt.has_last_resort);

	/* One device only; then the one-time KEM keys run out: last resort. */
	CHECK_RC(sotto_store_bundles_fetch(st, a, 1, b, 4, &n, NULL), 0);
	CHECK(n == 1 && b[0].device_id == 1 && b[0].ec.id == 29 && b[0].kem.id == 501 &&
		!b[0].kem_is_last_resort && b[0].ec_left == 1 && b[0].kem_left == 0);
	CHECK_RC(sotto_store_bundles_fetch(st, a, 1, b, 4, &n, NULL), 0);
	CHECK(n == 1 && b[0].has_ec && b[0].ec.id == 30 && b[0].kem_is_last_resort &&
		b[0].kem.id == 900 && b[0].ec_left == 0 && b[0].kem_left == 0);
	CHECK_RC(sotto_store_bundles_fetch(st, a, 1, b, 4, &n, NULL), 0);
	CHECK(n == 1 && !b[0].has_ec && b[0].has_kem && b[0].kem_is_last_resort);
	CHECK_RC(sotto_store_prekeys_count(st, a, 1, &cnt), 0);
	CHECK(cnt.ec == 0 && cnt.kem == 0 && cnt.has_last_resort);

	/* Upload replaces the one-time set; duplicate ids reject the whole upload. */
	memset(&up, 0, sizeof up);
	up.ec = ec;
	up.ec_count = 2;
	CHECK_RC(sotto_store_prekeys_upload(st, a, 1, &up, NULL), 0);
	ec[0].id = ec[1].id;
	up.ec_count = 3;
	CHECK_RC(sotto_store_prekeys_upload(st, a, 1, &up, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_prekeys_count(st, a, 1, &cnt), 0);
	CHECK(cnt.ec == 2);
	ec_key(&ec[0], 31);
	ec_key(&ec[1], 32);
	up.ec_count = 1;
	CHECK_RC(sotto_store_prekeys_upload(st, a, 1, &up, NULL), 0);
	CHECK_RC(sotto_store_prekeys_count(st, a, 1, &cnt), 0);
	CHECK(cnt.ec == 1);

	/* Empty or malformed uploads, unknown devices. */
	memset(&up, 0, sizeof up);
	CHECK_RC(sotto_store_prekeys_upload(st, a, 1, &up, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	up.ec_count = 1;
	CHECK_RC(sotto_store_prekeys_upload(st, a, 1, &up, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	up.ec = ec;
	up.ec_count = SOTTO_STORE_MAX_PREKEY_UPLOAD + 1;
	CHECK_RC(sotto_store_prekeys_upload(st, a, 1, &up, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	up.ec_count = 1;
	CHECK_RC(sotto_store_prekeys_upload(st, a, 5, &up, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_prekeys_upload(st, none, 1, &up, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_prekeys_count(st, a, 5, &cnt), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_bundles_fetch(st, none, 0, b, 4, &n, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_bundles_fetch(st, a, 9, b, 4, &n, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_bundles_fetch(st, a, 200, b, 4, &n, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_bundles_fetch(st, a, 0, b, 0, &n, NULL), SOTTO_ERR_INVALID_ARGUMENT);

	/* A device without any KEM key still gets a bundle, flagged. */
	{
		sotto_store_new_device d3;

		st_device(&d3, 12);
		CHECK_RC(sotto_store_device_add(st, a, &d3, T0, &id, NULL), 0);
		CHECK_RC(sotto_store_bundles_fetch(st, a, id, b, 4, &n, NULL), 0);
		CHECK(n == 1 && !b[0].has_kem && !b[0].has_ec && !b[0].has_signed);
	}

	/* Unlinking a device deletes its keys. */
	CHECK_RC(sotto_store_device_remove(st, a, 2, T0, NULL), 0);
	{
		sqlite3 *db = st_raw(dir);

		CHECK(st_raw_int(db, "SELECT count(*) FROM kem_last_resort") == 1);
		CHECK(st_raw_int(db, "SELECT count(*) FROM signed_prekeys") == 1);
		sqlite3_close(db);
	}
	CHECK_RC(sotto_store_bundles_fetch(st, a, 0, b, 4, &n, NULL), 0);
	CHECK(n == 2 && b[0].device_id == 1 && b[1].device_id == id);
	sotto_store_close(st);
}

static void test_queues(const char *dir)
{
	sotto_store_config cfg = { 0 };
	sotto_store *st;
	sotto_store_new_device d1, d2, o1;
	sotto_store_envelope_in in[4];
	sotto_store_envelope out[8];
	uint8_t a[16], o[16], none[16] = { 0 }, buf[4096], big[2000];
	uint64_t seqs[4], len, ackl[4];
	size_t n, del;
	uint32_t id;
	int more;

	cfg.max_queue_len = 5;
	cfg.max_envelope_bytes = 1500;
	st = st_open(dir, &cfg);
	st_device(&d1, 20);
	st_device(&d2, 21);
	st_device(&o1, 22);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d1, T0, a, NULL), 0);
	CHECK_RC(sotto_store_device_add(st, a, &d2, T0, &id, NULL), 0);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &o1, T0, o, NULL), 0);
	memset(big, 0xab, sizeof big);

	/* One with a sender, one sealed. */
	st_envelope(&in[0], a, 1, (const uint8_t *)"hello", 5);
	in[0].sealed = 0;
	memcpy(in[0].sender_account, o, 16);
	in[0].sender_device = 1;
	in[0].type = 3;
	st_envelope(&in[1], a, 1, (const uint8_t *)"sealed!", 7);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0 + 5, seqs, NULL), 0);
	CHECK(seqs[0] == 1 && seqs[1] == 2);
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, 0, out, 8, buf, sizeof buf, &n, &more), 0);
	CHECK(n == 2 && !more);
	CHECK(out[0].seq == 1 && out[0].server_ms == T0 + 5 && !out[0].sealed &&
		memcmp(out[0].sender_account, o, 16) == 0 && out[0].sender_device == 1 &&
		out[0].type == 3 && out[0].content_len == 5 &&
		memcmp(out[0].content, "hello", 5) == 0);
	CHECK(out[1].seq == 2 && out[1].sealed && out[1].sender_device == 0 && out[1].type == 6 &&
		out[1].content_len == 7 && memcmp(out[1].content, "sealed!", 7) == 0);

	/* A batch for several devices. */
	st_envelope(&in[0], a, 2, (const uint8_t *)"to2", 3);
	st_envelope(&in[1], a, 1, (const uint8_t *)"third", 5);
	st_envelope(&in[2], o, 1, (const uint8_t *)"other", 5);
	st_envelope(&in[3], a, 2, (const uint8_t *)"to2b", 4);
	CHECK_RC(sotto_store_enqueue(st, in, 4, T0 + 6, seqs, NULL), 0);
	CHECK(seqs[0] == 1 && seqs[1] == 3 && seqs[2] == 1 && seqs[3] == 2);

	/* Paging: by count, by buffer space, and from a sequence number. */
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, 0, out, 2, buf, sizeof buf, &n, &more), 0);
	CHECK(n == 2 && more && out[1].seq == 2);
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, 3, out, 2, buf, sizeof buf, &n, &more), 0);
	CHECK(n == 1 && !more && out[0].seq == 3 && memcmp(out[0].content, "third", 5) == 0);
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, 0, out, 8, buf, 12, &n, &more), 0);
	CHECK(n == 2 && more && out[1].content == buf + 5);
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, 0, out, 8, buf, 4, &n, &more),
		SOTTO_ERR_BUFFER_TOO_SMALL);
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, 4, out, 8, buf, sizeof buf, &n, &more), 0);
	CHECK(n == 0 && !more);
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, UINT64_MAX, out, 8, buf, sizeof buf, &n, &more),
		0);
	CHECK(n == 0);
	CHECK_RC(sotto_store_queue_fetch(st, a, 7, 0, out, 8, buf, sizeof buf, &n, &more),
		SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_queue_length(st, a, 1, &len), 0);
	CHECK(len == 3);

	/* All or nothing: an unknown destination, oversized or empty content. */
	st_envelope(&in[0], a, 2, (const uint8_t *)"x", 1);
	st_envelope(&in[1], none, 1, (const uint8_t *)"y", 1);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), SOTTO_ERR_NOT_FOUND);
	st_envelope(&in[1], a, 9, (const uint8_t *)"y", 1);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_queue_length(st, a, 2, &len), 0);
	CHECK(len == 2);
	st_envelope(&in[1], a, 1, big, 1501);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	st_envelope(&in[1], a, 1, big, 0);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	st_envelope(&in[1], a, 1, NULL, 3);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	st_envelope(&in[1], a, 0, big, 3);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	st_envelope(&in[1], a, 1, big, 3);
	in[1].sealed = 0;
	in[1].sender_device = 0;
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_enqueue(st, in, 0, T0, seqs, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	st_envelope(&in[1], a, 1, big, 1500);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), 0);
	CHECK(seqs[0] == 3 && seqs[1] == 4);

	/* Acknowledge: only the device's own envelopes go. Device 2 acking
	 * seqs 1..4 removes its own 1..3 and leaves device 1's alone. */
	ackl[0] = 1;
	ackl[1] = 2;
	ackl[2] = 3;
	ackl[3] = 4;
	CHECK_RC(sotto_store_queue_ack(st, a, 2, ackl, 4, &del, NULL), 0);
	CHECK(del == 3);
	CHECK_RC(sotto_store_queue_length(st, a, 1, &len), 0);
	CHECK(len == 4);
	CHECK_RC(sotto_store_queue_length(st, a, 2, &len), 0);
	CHECK(len == 0);
	CHECK_RC(sotto_store_queue_length(st, o, 1, &len), 0);
	CHECK(len == 1);
	CHECK_RC(sotto_store_queue_ack(st, o, 1, ackl, 1, &del, NULL), 0);
	CHECK(del == 1);
	CHECK_RC(sotto_store_queue_length(st, a, 1, &len), 0);
	CHECK(len == 4);
	ackl[0] = 2;
	ackl[1] = 2;
	ackl[2] = 99;
	ackl[3] = UINT64_MAX;
	CHECK_RC(sotto_store_queue_ack(st, a, 1, ackl, 4, &del, NULL), 0);
	CHECK(del == 1);
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, 0, out, 8, buf, sizeof buf, &n, &more), 0);
	CHECK(n == 3 && out[0].seq == 1 && out[1].seq == 3 && out[2].seq == 4 &&
		out[2].content_len == 1500);
	CHECK_RC(sotto_store_queue_ack(st, a, 9, ackl, 1, &del, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_queue_ack(st, a, 1, NULL, 1, &del, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_store_queue_ack(st, a, 1, ackl, 0, &del, NULL), 0);
	CHECK(del == 0);

	/* The queue limit (5): device 1 holds 3. */
	st_envelope(&in[0], a, 1, (const uint8_t *)"4", 1);
	st_envelope(&in[1], a, 1, (const uint8_t *)"5", 1);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), 0);
	CHECK(seqs[0] == 5 && seqs[1] == 6);
	st_envelope(&in[0], a, 2, (const uint8_t *)"ok", 2);
	st_envelope(&in[1], a, 1, (const uint8_t *)"6", 1);
	CHECK_RC(sotto_store_enqueue(st, in, 2, T0, seqs, NULL), SOTTO_ERR_QUEUE_FULL);
	CHECK_RC(sotto_store_queue_length(st, a, 2, &len), 0);
	CHECK(len == 0);
	CHECK_RC(sotto_store_enqueue(st, in, 1, T0, seqs, NULL), 0);
	ackl[0] = 1;
	CHECK_RC(sotto_store_queue_ack(st, a, 1, ackl, 1, &del, NULL), 0);
	CHECK_RC(sotto_store_enqueue(st, &in[1], 1, T0, seqs, NULL), 0);
	CHECK(seqs[0] == 7); /* sequence numbers are never reused */
	{
		sqlite3 *db = st_raw(dir);

		/* The cached length agrees with the rows. */
		CHECK(st_raw_int(db, "SELECT count(*) FROM devices d WHERE queue_len != (SELECT "
				     "count(*) FROM envelopes e WHERE e.dev = d.pk)") == 0);
		sqlite3_close(db);
	}

	/* Unlink drops the queue; a device re-linked with the id starts afresh. */
	CHECK_RC(sotto_store_device_remove(st, a, 1, T0, NULL), 0);
	CHECK_RC(sotto_store_enqueue(st, &in[1], 1, T0, seqs, NULL), SOTTO_ERR_NOT_FOUND);
	{
		sqlite3 *db = st_raw(dir);

		CHECK(st_raw_int(db, "SELECT count(*) FROM envelopes e JOIN devices d ON e.dev = "
				     "d.pk WHERE d.unlinked_ms IS NOT NULL") == 0);
		sqlite3_close(db);
	}
	sotto_store_close(st);
}

static void test_invites(const char *dir)
{
	sotto_store *st = st_open(dir, NULL);
	uint8_t c1[16], c2[16], c3[16], a[16];
	sotto_store_new_device d, dup;
	sotto_store_account acc;
	sqlite3 *db;

	CHECK_RC(sotto_store_invite_create(st, T0, T0 + 1000, c1, NULL), 0);
	CHECK_RC(sotto_store_invite_create(st, T0, T0 + 1000, c2, NULL), 0);
	CHECK_RC(sotto_store_invite_create(st, T0, T0 + 10, c3, NULL), 0);
	CHECK(memcmp(c1, c2, 16) != 0);
	CHECK_RC(sotto_store_invite_create(st, T0, T0, c3 + 0, NULL), SOTTO_ERR_INVALID_ARGUMENT);

	/* Stored hashed: no row contains the code. */
	db = st_raw(dir);
	{
		sqlite3_stmt *s;
		int rows = 0, leaks = 0;

		CHECK(sqlite3_prepare_v2(db, "SELECT hash FROM invites", -1, &s, NULL) ==
			SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW) {
			const uint8_t *h = sqlite3_column_blob(s, 0);
			int hl = sqlite3_column_bytes(s, 0);

			rows++;
			for (int i = 0; i + 16 <= hl; i++)
				leaks += memcmp(h + i, c1, 16) == 0 || memcmp(h + i, c2, 16) == 0;
			CHECK(hl == 32);
		}
		sqlite3_finalize(s);
		CHECK(rows == 3 && leaks == 0);
	}

	CHECK_RC(sotto_store_invite_consume(st, c1, 16, T0 + 1, NULL), 0);
	CHECK_RC(sotto_store_invite_consume(st, c1, 16, T0 + 1, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_invite_consume(st, c3, 16, T0 + 10, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_invite_consume(st, c2, 15, T0, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_invite_consume(st, NULL, 16, T0, NULL), SOTTO_ERR_INVALID_ARGUMENT);

	/* Registration with an invite: a failed registration keeps the invite. */
	st_device(&d, 40);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d, T0, a, NULL), 0);
	st_device(&dup, 41);
	memcpy(dup.noise_key, d.noise_key, 32);
	CHECK_RC(sotto_store_account_create(st, c2, 16, &dup, T0, a, NULL), SOTTO_ERR_EXISTS);
	st_device(&dup, 42);
	CHECK_RC(sotto_store_account_create(st, c1, 16, &dup, T0, a, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_account_create(st, c2, 3, &dup, T0, a, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK(st_raw_int(db, "SELECT count(*) FROM accounts") == 1);
	CHECK_RC(sotto_store_account_create(st, c2, 16, &dup, T0 + 2, a, NULL), 0);
	CHECK_RC(sotto_store_account_get(st, a, &acc), 0);
	CHECK(acc.reg_mode == SOTTO_STORE_REG_INVITE);
	CHECK_RC(sotto_store_invite_consume(st, c2, 16, T0 + 3, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK(st_raw_int(db, "SELECT count(*) FROM invites WHERE used_ms IS NOT NULL") == 2);
	sqlite3_close(db);
	sotto_store_close(st);
}

static void test_attachments(const char *dir)
{
	sotto_store *st = st_open(dir, NULL);
	uint8_t id[16], id2[16], dg[32], none[16] = { 0 };
	sotto_store_attachment at;
	char path[512], want[600];

	memset(dg, 0x5d, sizeof dg);
	CHECK_RC(sotto_store_attachment_create(st, 123456, dg, T0, id, NULL), 0);
	CHECK_RC(sotto_store_attachment_create(st, 1, dg, T0, id2, NULL), 0);
	CHECK(memcmp(id, id2, 16) != 0);
	CHECK_RC(sotto_store_attachment_get(st, id, &at), 0);
	CHECK(memcmp(at.id, id, 16) == 0 && at.size == 123456 && memcmp(at.digest, dg, 32) == 0 &&
		at.created_ms == T0 && !at.complete);
	CHECK_RC(sotto_store_attachment_complete(st, id, NULL), 0);
	CHECK_RC(sotto_store_attachment_get(st, id, &at), 0);
	CHECK(at.complete);
	CHECK_RC(sotto_store_attachment_complete(st, none, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_attachment_path(st, id, path, sizeof path), 0);
	snprintf(want, sizeof want, "%s/attachments/", dir);
	CHECK(strncmp(path, want, strlen(want)) == 0 && strlen(path) == strlen(want) + 32);
	{
		struct stat sb;

		CHECK(stat(want, &sb) == 0 && S_ISDIR(sb.st_mode));
	}
	CHECK_RC(sotto_store_attachment_path(st, id, path, 10), SOTTO_ERR_BUFFER_TOO_SMALL);
	CHECK_RC(sotto_store_attachment_delete(st, id, NULL), 0);
	CHECK_RC(sotto_store_attachment_get(st, id, &at), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_attachment_delete(st, id, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_attachment_get(st, id2, &at), 0);
	CHECK_RC(sotto_store_attachment_create(st, 1, NULL, T0, id, NULL),
		SOTTO_ERR_INVALID_ARGUMENT);
	sotto_store_close(st);
}

/* Callbacks, and a batch where one request fails: the others commit. */
static void test_callbacks_batch(const char *dir)
{
	sotto_store_config cfg = { 0 };
	sotto_store *st;
	sotto_store_new_device d;
	sotto_store_envelope_in in[3];
	struct st_waiter w[3];
	sotto_store_cb cb[3];
	uint8_t a[16], none[16] = { 0 };
	uint64_t seq[3] = { 0, 0, 0 }, len;
	sotto_store_stats s0, s1;

	/* Hold the writer up to 200 ms so the three requests share a batch
	 * (the results asserted below hold either way). */
	cfg.batch_wait_us = 200000;
	cfg.batch_max = 3;
	st = st_open(dir, &cfg);
	st_device(&d, 50);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d, T0, a, NULL), 0);
	st_envelope(&in[0], a, 1, (const uint8_t *)"one", 3);
	st_envelope(&in[1], none, 1, (const uint8_t *)"bad", 3);
	st_envelope(&in[2], a, 1, (const uint8_t *)"two", 3);
	sotto_store_get_stats(st, &s0);
	for (int i = 0; i < 3; i++) {
		st_waiter_init(&w[i]);
		cb[i].fn = st_waiter_done;
		cb[i].arg = &w[i];
		CHECK_RC(sotto_store_enqueue(st, &in[i], 1, T0, &seq[i], &cb[i]), 0);
	}
	CHECK_RC(st_waiter_wait(&w[0]), 0);
	CHECK_RC(st_waiter_wait(&w[1]), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(st_waiter_wait(&w[2]), 0);
	CHECK(seq[0] == 1 && seq[2] == 2);
	CHECK_RC(sotto_store_queue_length(st, a, 1, &len), 0);
	CHECK(len == 2);
	sotto_store_get_stats(st, &s1);
	CHECK(s1.requests - s0.requests == 3);
	printf("batch of 3 async requests: %llu commit(s)\n",
		(unsigned long long)(s1.commits - s0.commits));
	sotto_store_close(st);
}

/* Rows altered behind the store's back give errors, not crashes. */
static void test_corrupt_rows(const char *dir)
{
	sotto_store *st = st_open(dir, NULL);
	sotto_store_new_device d;
	sotto_store_device dv, list[4];
	sotto_store_envelope_in in;
	sotto_store_envelope out[2];
	uint8_t a[16], buf[64];
	size_t n;
	int more;
	sqlite3 *db;

	st_device(&d, 60);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d, T0, a, NULL), 0);
	st_envelope(&in, a, 1, (const uint8_t *)"abc", 3);
	in.sealed = 0;
	in.sender_device = 1;
	CHECK_RC(sotto_store_enqueue(st, &in, 1, T0, NULL, NULL), 0);
	db = st_raw(dir);
	CHECK(sqlite3_exec(db,
		      "UPDATE devices SET identity_key = x'0102'; "
		      "UPDATE envelopes SET sender_account = x'00'",
		      NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK_RC(sotto_store_device_by_noise_key(st, d.noise_key, &dv), SOTTO_ERR_STORAGE);
	CHECK_RC(sotto_store_device_list(st, a, 1, list, 4, &n), SOTTO_ERR_STORAGE);
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, 0, out, 2, buf, sizeof buf, &n, &more),
		SOTTO_ERR_STORAGE);
	sotto_store_close(st);
}

int main(void)
{
	char dir[256];

	if (sotto_init() != 0)
		return 1;
	st_tmpdir(dir, sizeof dir, "store");
	test_schema_fresh(dir);
	test_accounts_devices(dir);
	st_rmdir(dir);
	test_schema_future();

	st_tmpdir(dir, sizeof dir, "prekeys");
	test_prekeys(dir);
	st_rmdir(dir);
	st_tmpdir(dir, sizeof dir, "queues");
	test_queues(dir);
	st_rmdir(dir);
	st_tmpdir(dir, sizeof dir, "invites");
	test_invites(dir);
	test_attachments(dir);
	st_rmdir(dir);
	st_tmpdir(dir, sizeof dir, "batch");
	test_callbacks_batch(dir);
	st_rmdir(dir);
	st_tmpdir(dir, sizeof dir, "corrupt");
	test_corrupt_rows(dir);
	st_rmdir(dir);
	return tu_finish("server-store");
}
