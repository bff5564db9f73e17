/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The local store's tables. Each sealed value is opened under a label
 * ("table.column") and a row key built from the row's identifying columns,
 * so a value only opens in the row it was written for; for messages the
 * row key also covers the clear columns that say who wrote what when, so
 * that editing them breaks the body instead of re-attributing it. */
#include <stdlib.h>
#include <string.h>

#include "client/lstore_internal.h"
#include "sotto/error.h"
#include "sotto/util.h"

#define BIND_OK(x) ((x) == SQLITE_OK)

static int bind_fail(sotto_lstore *ls)
{
	return sotto__ls_sqlerr(ls, sqlite3_extended_errcode(ls->db));
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	/* A zero-length blob must not become NULL (NOT NULL columns). */
	return sqlite3_bind_blob(st, i, n != 0 ? p : "", (int)n, SQLITE_STATIC);
}

static int id_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	return n >= 1 && n <= SOTTO_LSTORE_ID_MAX;
}

static void rk_u64(ls_rowkey *rk, uint64_t v)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
	sotto__ls_rk_bytes(rk, b, 8);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Opens column col of the current row of st. */
static int col_open(sotto_lstore *ls, sqlite3_stmt *st, int col, const char *label,
		    const ls_rowkey *rk, uint8_t **pt, size_t *ptlen)
{
	const uint8_t *b = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	return sotto__ls_open(ls, label, rk, b, n, pt, ptlen);
}

/* Runs a one-row write: st has its parameters bound except the sealed blob
 * at index blob_i, which is sealed here from pt. Prepared from sql. */
typedef int (*binder)(sqlite3_stmt *st, const void *arg);

static int write_sealed(sotto_lstore *ls, const char *sql, binder bind, const void *arg,
			int blob_i, const char *label, const ls_rowkey *rk, const uint8_t *pt,
			size_t ptlen)
{
	sqlite3_stmt *st = NULL;
	uint8_t *blob = NULL;
	size_t bl = 0;
	int rc;

	rc = sotto__ls_seal(ls, label, rk, pt, ptlen, &blob, &bl);
	if (rc != 0)
		return rc;
	rc = sotto__ls_wbegin(ls);
	if (rc != 0)
		goto out;
	rc = sotto__ls_prepare(ls, sql, &st);
	if (rc == 0) {
		if (bind(st, arg) != SQLITE_OK || !BIND_OK(bind_blob(st, blob_i, blob, bl)))
			rc = bind_fail(ls);
		else
			rc = sotto__ls_step_done(ls, st);
	}
	sqlite3_finalize(st);
	rc = sotto__ls_wend(ls, rc);
out:
	free(blob); /* ciphertext: nothing to wipe */
	return rc;
}

/* Runs a write with no sealed value, as one savepoint. */
static int write_plain(sotto_lstore *ls, const char *sql, binder bind, const void *arg,
		       int *changes)
{
	sqlite3_stmt *st = NULL;
	int rc = sotto__ls_wbegin(ls);

	if (rc != 0)
		return rc;
	rc = sotto__ls_prepare(ls, sql, &st);
	if (rc == 0) {
		if (bind != NULL && bind(st, arg) != SQLITE_OK)
			rc = bind_fail(ls);
		else
			rc = sotto__ls_step_done(ls, st);
	}
	if (rc == 0 && changes != NULL)
		*changes = sqlite3_changes(ls->db);
	sqlite3_finalize(st);
	return sotto__ls_wend(ls, rc);
}

/* ---- our own identity --------------------------------------------------- */

#define LOCAL_PT (SOTTO_EC_PUBLIC_BYTES + SOTTO_EC_PRIVATE_BYTES)

static void rk_local(ls_rowkey *rk, const char *account, uint32_t dev, uint32_t reg)
{
	rk->n = 0;
	rk->overflow = 0;
	sotto__ls_rk_str(rk, account);
	sotto__ls_rk_u32(rk, dev);
	sotto__ls_rk_u32(rk, reg);
}

static int bind_local(sqlite3_stmt *st, const void *arg)
{
	const sotto_lstore_local *l = arg;

	if (bind_text(st, 1, l->account_id) != SQLITE_OK)
		return SQLITE_ERROR;
	if (sqlite3_bind_int64(st, 2, l->device_id) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_int64(st, 3, l->registration_id);
}

int sotto_lstore_local_set(sotto_lstore *ls, const sotto_lstore_local *local)
{
	uint8_t pt[LOCAL_PT];
	ls_rowkey rk;
	int rc;

	if (ls == NULL || local == NULL || !sotto__ls_name_ok(local->account_id))
		return SOTTO_ERR_INVALID_ARGUMENT;
	memcpy(pt, local->identity.pub, SOTTO_EC_PUBLIC_BYTES);
	memcpy(pt + SOTTO_EC_PUBLIC_BYTES, local->identity.priv, SOTTO_EC_PRIVATE_BYTES);
	rk_local(&rk, local->account_id, local->device_id, local->registration_id);
	rc = write_sealed(ls,
			  "INSERT OR REPLACE INTO local_identity (id, account_id, device_id, "
			  "registration_id, keypair) VALUES (1, ?, ?, ?, ?)",
			  bind_local, local, 4, "local_identity.keypair", &rk, pt, sizeof pt);
	sotto_memzero(pt, sizeof pt);
	return rc;
}

int sotto_lstore_local_get(sotto_lstore *ls, sotto_lstore_local *local)
{
	sqlite3_stmt *st = NULL;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	ls_rowkey rk;
	const char *acc;
	int rc;

	if (ls == NULL || local == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(local, 0, sizeof *local);
	rc = sotto__ls_prepare(ls, "SELECT account_id, device_id, registration_id, keypair "
				   "FROM local_identity WHERE id = 1",
			       &st);
	if (rc != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? sotto__ls_fail(ls, SOTTO_ERR_NOT_FOUND, "no identity yet")
				       : bind_fail(ls);
		goto out;
	}
	acc = (const char *)sqlite3_column_text(st, 0);
	if (!sotto__ls_name_ok(acc)) {
		rc = sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "damaged identity row");
		goto out;
	}
	rk_local(&rk, acc, (uint32_t)sqlite3_column_int64(st, 1),
		 (uint32_t)sqlite3_column_int64(st, 2));
	rc = col_open(ls, st, 3, "local_identity.keypair", &rk, &pt, &ptlen);
	if (rc != 0)
		goto out;
	if (ptlen != LOCAL_PT) {
		rc = sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "damaged identity row");
		goto out;
	}
	memcpy(local->account_id, acc, strlen(acc) + 1);
	local->device_id = (uint32_t)sqlite3_column_int64(st, 1);
	local->registration_id = (uint32_t)sqlite3_column_int64(st, 2);
	memcpy(local->identity.pub, pt, SOTTO_EC_PUBLIC_BYTES);
	memcpy(local->identity.priv, pt + SOTTO_EC_PUBLIC_BYTES, SOTTO_EC_PRIVATE_BYTES);
out:
	sotto__ls_wipe_free(pt, ptlen);
	sqlite3_finalize(st);
	return rc;
}

/* ---- prekeys ------------------------------------------------------------ */

static void rk_prekey(ls_rowkey *rk, int kind, uint32_t id)
{
	rk->n = 0;
	rk->overflow = 0;
	sotto__ls_rk_u32(rk, (uint32_t)kind);
	sotto__ls_rk_u32(rk, id);
}

struct pk_args {
	int kind;
	uint32_t id;
	uint64_t created;
	int last_resort;
};

static int bind_prekey(sqlite3_stmt *st, const void *arg)
{
	const struct pk_args *a = arg;

	if (sqlite3_bind_int(st, 1, a->kind) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, a->id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)a->created) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_int(st, 4, a->last_resort);
}

static int bind_kind_id(sqlite3_stmt *st, const void *arg)
{
	const struct pk_args *a = arg;

	if (sqlite3_bind_int(st, 1, a->kind) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_int64(st, 2, a->id);
}

/* Insert or update the record; a new row starts unused; the high-water
 * mark of ids only grows. One savepoint for both. */
static int prekey_write(sotto_lstore *ls, const struct pk_args *a, const uint8_t *ser, size_t n)
{
	ls_rowkey rk;
	int rc = sotto__ls_wbegin(ls);

	if (rc != 0)
		return rc;
	rk_prekey(&rk, a->kind, a->id);
	rc = write_sealed(ls,
			  "INSERT INTO prekeys (kind, id, created_ms, last_resort, record) "
			  "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET "
			  "record = excluded.record",
			  bind_prekey, a, 5, "prekeys.record", &rk, ser, n);
	if (rc == 0)
		rc = write_plain(ls,
				 "INSERT INTO prekey_ids VALUES (?, ?) ON CONFLICT (kind) DO "
				 "UPDATE SET max_id = max(max_id, excluded.max_id)",
				 bind_kind_id, a, NULL);
	return sotto__ls_wend(ls, rc);
}

int sotto_lstore_prekey_put(sotto_lstore *ls, const sotto_prekey_record *rec, uint64_t created_ms)
{
	struct pk_args a = { SOTTO_LSTORE_PREKEY_EC, 0, created_ms, 0 };
	uint8_t buf[128];
	size_t n = 0;
	int rc;

	if (ls == NULL || rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	a.id = rec->id;
	rc = sotto_prekey_record_serialize(buf, sizeof buf, &n, rec);
	if (rc == 0)
		rc = prekey_write(ls, &a, buf, n);
	sotto_memzero(buf, sizeof buf);
	return rc;
}

int sotto_lstore_signed_prekey_put(sotto_lstore *ls, const sotto_signed_prekey_record *rec)
{
	struct pk_args a = { SOTTO_LSTORE_PREKEY_SIGNED, 0, 0, 0 };
	uint8_t buf[256];
	size_t n = 0;
	int rc;

	if (ls == NULL || rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	a.id = rec->id;
	a.created = rec->timestamp_ms;
	rc = sotto_signed_prekey_record_serialize(buf, sizeof buf, &n, rec);
	if (rc == 0)
		rc = prekey_write(ls, &a, buf, n);
	sotto_memzero(buf, sizeof buf);
	return rc;
}

#define KEM_REC_MAX (SOTTO_KEM_PUBLIC_BYTES + SOTTO_KEM_SECRET_BYTES + 128)

int sotto_lstore_kyber_prekey_put(sotto_lstore *ls, const sotto_kyber_prekey_record *rec,
				  int last_resort)
{
	struct pk_args a = { SOTTO_LSTORE_PREKEY_KEM, 0, 0, last_resort != 0 };
	uint8_t *buf;
	size_t n = 0;
	int rc;

	if (ls == NULL || rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	a.id = rec->id;
	a.created = rec->timestamp_ms;
	buf = malloc(KEM_REC_MAX);
	if (buf == NULL)
		return SOTTO_ERR_NOMEM;
	rc = sotto_kyber_prekey_record_serialize(buf, KEM_REC_MAX, &n, rec);
	if (rc == 0)
		rc = prekey_write(ls, &a, buf, n);
	sotto__ls_wipe_free(buf, KEM_REC_MAX);
	return rc;
}

/* The opened record bytes of (kind, id); SOTTO_ERR_NOT_FOUND. */
static int prekey_read(sotto_lstore *ls, int kind, uint32_t id, uint8_t **pt, size_t *ptlen)
{
	sqlite3_stmt *st = NULL;
	ls_rowkey rk;
	int rc;

	rc = sotto__ls_prepare(ls, "SELECT record FROM prekeys WHERE kind = ? AND id = ?", &st);
	if (rc != 0)
		return rc;
	if (sqlite3_bind_int(st, 1, kind) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, id) != SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? sotto__ls_fail(ls, SOTTO_ERR_NOT_FOUND,
							"no prekey %lu of kind %d",
							(unsigned long)id, kind)
				       : bind_fail(ls);
		goto out;
	}
	rk_prekey(&rk, kind, id);
	rc = col_open(ls, st, 0, "prekeys.record", &rk, pt, ptlen);
out:
	sqlite3_finalize(st);
	return rc;
}

int sotto_lstore_prekey_get(sotto_lstore *ls, uint32_t id, sotto_prekey_record *rec)
{
	uint8_t *pt = NULL;
	size_t n = 0;
	int rc;

	if (ls == NULL || rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = prekey_read(ls, SOTTO_LSTORE_PREKEY_EC, id, &pt, &n);
	if (rc == 0)
		rc = sotto_prekey_record_deserialize(rec, pt, n);
	sotto__ls_wipe_free(pt, n);
	return rc;
}

int sotto_lstore_signed_prekey_get(sotto_lstore *ls, uint32_t id, sotto_signed_prekey_record *rec)
{
	uint8_t *pt = NULL;
	size_t n = 0;
	int rc;

	if (ls == NULL || rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = prekey_read(ls, SOTTO_LSTORE_PREKEY_SIGNED, id, &pt, &n);
	if (rc == 0)
		rc = sotto_signed_prekey_record_deserialize(rec, pt, n);
	sotto__ls_wipe_free(pt, n);
	return rc;
}

int sotto_lstore_kyber_prekey_get(sotto_lstore *ls, uint32_t id, sotto_kyber_prekey_record *rec)
{
	uint8_t *pt = NULL;
	size_t n = 0;
	int rc;

	if (ls == NULL || rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = prekey_read(ls, SOTTO_LSTORE_PREKEY_KEM, id, &pt, &n);
	if (rc == 0)
		rc = sotto_kyber_prekey_record_deserialize(rec, pt, n);
	sotto__ls_wipe_free(pt, n);
	return rc;
}

int sotto_lstore_prekey_delete(sotto_lstore *ls, enum sotto_lstore_prekey_kind kind, uint32_t id)
{
	struct pk_args a = { (int)kind, id, 0, 0 };

	if (ls == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return write_plain(ls, "DELETE FROM prekeys WHERE kind = ? AND id = ?", bind_kind_id, &a,
			   NULL);
}

int sotto__ls_prekey_mark_used(sotto_lstore *ls, uint32_t id)
{
	struct pk_args a = { SOTTO_LSTORE_PREKEY_KEM, id, 0, 0 };

	return write_plain(ls, "UPDATE prekeys SET used = 1 WHERE kind = ? AND id = ?",
			   bind_kind_id, &a, NULL);
}

int sotto_lstore_prekey_foreach(sotto_lstore *ls, enum sotto_lstore_prekey_kind kind,
				int (*cb)(void *ctx, const sotto_lstore_prekey_info *info),
				void *ctx)
{
	sqlite3_stmt *st = NULL;
	sotto_lstore_prekey_info info;
	int rc;

	if (ls == NULL || cb == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_prepare(ls, "SELECT id, created_ms, used, last_resort FROM prekeys "
				   "WHERE kind = ? ORDER BY id",
			       &st);
	if (rc != 0)
		return rc;
	if (sqlite3_bind_int(st, 1, (int)kind) != SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		info.kind = kind;
		info.id = (uint32_t)sqlite3_column_int64(st, 0);
		info.created_ms = (uint64_t)sqlite3_column_int64(st, 1);
		info.used = sqlite3_column_int(st, 2);
		info.last_resort = sqlite3_column_int(st, 3);
		rc = cb(ctx, &info);
		if (rc != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : bind_fail(ls);
out:
	sqlite3_finalize(st);
	return rc;
}

int sotto_lstore_prekey_stats(sotto_lstore *ls, enum sotto_lstore_prekey_kind kind,
			      uint32_t *count, uint32_t *max_id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (ls == NULL || count == NULL || max_id == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_prepare(ls,
			       "SELECT (SELECT count(*) FROM prekeys WHERE kind = ?1 AND "
			       "last_resort = 0), (SELECT max_id FROM prekey_ids WHERE kind = ?1)",
			       &st);
	if (rc != 0)
		return rc;
	if (sqlite3_bind_int(st, 1, (int)kind) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = bind_fail(ls);
	} else {
		*count = (uint32_t)sqlite3_column_int64(st, 0);
		*max_id = (uint32_t)sqlite3_column_int64(st, 1); /* NULL reads as 0 */
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- sessions ----------------------------------------------------------- */

int sotto_lstore_session_devices(sotto_lstore *ls, const char *name, uint32_t *ids, size_t cap,
				 size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t k = 0;
	int rc;

	if (ls == NULL || !sotto__ls_name_ok(name) || n == NULL || (ids == NULL && cap != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_prepare(ls, "SELECT device_id FROM sessions WHERE name = ? ORDER BY "
				   "device_id",
			       &st);
	if (rc != 0)
		return rc;
	if (bind_text(st, 1, name) != SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (k < cap)
			ids[k] = (uint32_t)sqlite3_column_int64(st, 0);
		k++;
	}
	rc = rc == SQLITE_DONE ? 0 : bind_fail(ls);
	*n = k;
out:
	sqlite3_finalize(st);
	return rc;
}

struct name_dev {
	const char *name;
	uint32_t dev;
};

static int bind_name_dev(sqlite3_stmt *st, const void *arg)
{
	const struct name_dev *a = arg;

	if (bind_text(st, 1, a->name) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_int64(st, 2, a->dev);
}

static int bind_name(sqlite3_stmt *st, const void *arg)
{
	return bind_text(st, 1, arg);
}

int sotto_lstore_session_delete(sotto_lstore *ls, const char *name, uint32_t device_id)
{
	struct name_dev a = { name, device_id };

	if (ls == NULL || !sotto__ls_name_ok(name))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (device_id == 0)
		return write_plain(ls, "DELETE FROM sessions WHERE name = ?", bind_name, name, NULL);
	return write_plain(ls, "DELETE FROM sessions WHERE name = ? AND device_id = ?",
			   bind_name_dev, &a, NULL);
}


static void rk_name_dev(ls_rowkey *rk, const char *name, uint32_t dev)
{
	rk->n = 0;
	rk->overflow = 0;
	sotto__ls_rk_str(rk, name);
	sotto__ls_rk_u32(rk, dev);
}

int sotto__ls_session_load(sotto_lstore *ls, const char *name, uint32_t dev, uint8_t **rec,
			   size_t *len)
{
	sqlite3_stmt *st = NULL;
	ls_rowkey rk;
	int rc;

	*rec = NULL;
	*len = 0;
	if (!sotto__ls_name_ok(name))
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_prepare(ls, "SELECT record FROM sessions WHERE name = ? AND device_id = ?",
			       &st);
	if (rc != 0)
		return rc;
	if (bind_text(st, 1, name) != SQLITE_OK || sqlite3_bind_int64(st, 2, dev) != SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? SOTTO_ERR_NOT_FOUND : bind_fail(ls);
		goto out;
	}
	rk_name_dev(&rk, name, dev);
	rc = col_open(ls, st, 0, "sessions.record", &rk, rec, len);
out:
	sqlite3_finalize(st);
	return rc;
}

int sotto__ls_session_store(sotto_lstore *ls, const char *name, uint32_t dev,
			    const uint8_t *rec, size_t len)
{
	struct name_dev a = { name, dev };
	ls_rowkey rk;

	if (!sotto__ls_name_ok(name))
		return SOTTO_ERR_INVALID_ARGUMENT;
	rk_name_dev(&rk, name, dev);
	return write_sealed(ls, "INSERT OR REPLACE INTO sessions (name, device_id, record) "
				"VALUES (?, ?, ?)",
			    bind_name_dev, &a, 3, "sessions.record", &rk, rec, len);
}

/* ---- sender keys -------------------------------------------------------- */

struct sk_args {
	const char *sender;
	uint32_t dev;
	const uint8_t *dist;
};

static int bind_sk(sqlite3_stmt *st, const void *arg)
{
	const struct sk_args *a = arg;

	if (bind_text(st, 1, a->sender) != SQLITE_OK || sqlite3_bind_int64(st, 2, a->dev) != SQLITE_OK)
		return SQLITE_ERROR;
	return bind_blob(st, 3, a->dist, SOTTO_DISTRIBUTION_ID_BYTES);
}

static void rk_sk(ls_rowkey *rk, const struct sk_args *a)
{
	rk_name_dev(rk, a->sender, a->dev);
	sotto__ls_rk_bytes(rk, a->dist, SOTTO_DISTRIBUTION_ID_BYTES);
}


int sotto__ls_sender_key_load(sotto_lstore *ls, const char *sender, uint32_t dev,
			      const uint8_t *dist, uint8_t **rec, size_t *len)
{
	struct sk_args a = { sender, dev, dist };
	sqlite3_stmt *st = NULL;
	ls_rowkey rk;
	int rc;

	*rec = NULL;
	*len = 0;
	if (!sotto__ls_name_ok(sender) || dist == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_prepare(ls, "SELECT record FROM sender_keys WHERE sender = ? AND "
				   "device_id = ? AND distribution_id = ?",
			       &st);
	if (rc != 0)
		return rc;
	if (bind_sk(st, &a) != SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? SOTTO_ERR_NOT_FOUND : bind_fail(ls);
		goto out;
	}
	rk_sk(&rk, &a);
	rc = col_open(ls, st, 0, "sender_keys.record", &rk, rec, len);
out:
	sqlite3_finalize(st);
	return rc;
}

int sotto__ls_sender_key_store(sotto_lstore *ls, const char *sender, uint32_t dev,
			       const uint8_t *dist, const uint8_t *rec, size_t len)
{
	struct sk_args a = { sender, dev, dist };
	ls_rowkey rk;

	if (!sotto__ls_name_ok(sender) || dist == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rk_sk(&rk, &a);
	return write_sealed(ls, "INSERT OR REPLACE INTO sender_keys (sender, device_id, "
				"distribution_id, record) VALUES (?, ?, ?, ?)",
			    bind_sk, &a, 4, "sender_keys.record", &rk, rec, len);
}

/* ---- peer identities ---------------------------------------------------- */

#define PEER_PT (SOTTO_EC_PUBLIC_BYTES + 2 + 8)

static void rk_name(ls_rowkey *rk, const char *name)
{
	rk->n = 0;
	rk->overflow = 0;
	sotto__ls_rk_str(rk, name);
}

static int peer_put(sotto_lstore *ls, const char *name, const sotto_lstore_peer *p)
{
	uint8_t pt[PEER_PT];
	ls_rowkey rk;

	memcpy(pt, p->key, SOTTO_EC_PUBLIC_BYTES);
	pt[SOTTO_EC_PUBLIC_BYTES] = (uint8_t)(p->verified != 0);
	pt[SOTTO_EC_PUBLIC_BYTES + 1] = (uint8_t)(p->changed != 0);
	put_u64(pt + SOTTO_EC_PUBLIC_BYTES + 2, p->first_seen_ms);
	rk_name(&rk, name);
	return write_sealed(ls, "INSERT OR REPLACE INTO peer_identities (name, record) "
				"VALUES (?, ?)",
			    bind_name, name, 2, "peer_identities.record", &rk, pt, sizeof pt);
}

int sotto_lstore_peer_get(sotto_lstore *ls, const char *name, sotto_lstore_peer *peer)
{
	sqlite3_stmt *st = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;
	ls_rowkey rk;
	int rc;

	if (ls == NULL || !sotto__ls_name_ok(name) || peer == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(peer, 0, sizeof *peer);
	rc = sotto__ls_prepare(ls, "SELECT record FROM peer_identities WHERE name = ?", &st);
	if (rc != 0)
		return rc;
	if (bind_text(st, 1, name) != SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? SOTTO_ERR_NOT_FOUND : bind_fail(ls);
		goto out;
	}
	rk_name(&rk, name);
	rc = col_open(ls, st, 0, "peer_identities.record", &rk, &pt, &n);
	if (rc == 0 && n != PEER_PT)
		rc = sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "damaged peer identity");
	if (rc == 0) {
		memcpy(peer->key, pt, SOTTO_EC_PUBLIC_BYTES);
		peer->verified = pt[SOTTO_EC_PUBLIC_BYTES];
		peer->changed = pt[SOTTO_EC_PUBLIC_BYTES + 1];
		peer->first_seen_ms = get_u64(pt + SOTTO_EC_PUBLIC_BYTES + 2);
	}
out:
	sotto__ls_wipe_free(pt, n);
	sqlite3_finalize(st);
	return rc;
}

int sotto_lstore_peer_save(sotto_lstore *ls, const char *name,
			   const uint8_t key[SOTTO_EC_PUBLIC_BYTES], uint64_t now_ms)
{
	sotto_lstore_peer p;
	int rc, replaced = 0;

	if (ls == NULL || !sotto__ls_name_ok(name) || key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto_lstore_peer_get(ls, name, &p);
	if (rc == 0 && sotto_memeq(p.key, key, SOTTO_EC_PUBLIC_BYTES))
		return 0; /* unchanged: keep flags and first-seen */
	if (rc == 0) {
		replaced = 1;
	} else if (rc != SOTTO_ERR_NOT_FOUND) {
		return rc;
	}
	/* A new key: whatever the user verified was the old one. */
	memcpy(p.key, key, SOTTO_EC_PUBLIC_BYTES);
	p.verified = 0;
	p.changed = replaced;
	p.first_seen_ms = now_ms;
	rc = peer_put(ls, name, &p);
	return rc != 0 ? rc : replaced;
}

int sotto_lstore_peer_set_verified(sotto_lstore *ls, const char *name,
				   const uint8_t key[SOTTO_EC_PUBLIC_BYTES], int verified)
{
	sotto_lstore_peer p;
	int rc;

	if (ls == NULL || !sotto__ls_name_ok(name) || key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_wbegin(ls);
	if (rc != 0)
		return rc;
	rc = sotto_lstore_peer_get(ls, name, &p);
	if (rc == 0 && !sotto_memeq(p.key, key, SOTTO_EC_PUBLIC_BYTES))
		rc = sotto__ls_fail(ls, SOTTO_ERR_UNTRUSTED_IDENTITY,
				    "the identity of %s changed meanwhile", name);
	if (rc == 0) {
		p.verified = verified != 0;
		p.changed = 0;
		rc = peer_put(ls, name, &p);
	}
	return sotto__ls_wend(ls, rc);
}

/* ---- contacts and conversations ----------------------------------------- */

struct contact_args {
	const char *name;
	uint64_t now;
};

static int bind_contact(sqlite3_stmt *st, const void *arg)
{
	const struct contact_args *a = arg;

	if (bind_text(st, 1, a->name) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_int64(st, 2, (sqlite3_int64)a->now);
}

int sotto_lstore_contact_put(sotto_lstore *ls, const char *name, const char *display,
			     uint64_t now_ms)
{
	struct contact_args a = { name, now_ms };
	ls_rowkey rk;
	const char *d = display != NULL ? display : "";

	if (ls == NULL || !sotto__ls_name_ok(name) || strlen(d) > 4096)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rk_name(&rk, name);
	/* The time it was first added survives an update of the name. */
	return write_sealed(ls, "INSERT INTO contacts (name, added_ms, display) VALUES (?, ?, ?) "
				"ON CONFLICT (name) DO UPDATE SET display = excluded.display",
			    bind_contact, &a, 3, "contacts.display", &rk, (const uint8_t *)d,
			    strlen(d));
}

int sotto_lstore_contact_get(sotto_lstore *ls, const char *name, char *display, size_t cap,
			     uint64_t *added_ms)
{
	sqlite3_stmt *st = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;
	ls_rowkey rk;
	int rc;

	if (ls == NULL || !sotto__ls_name_ok(name) || (display == NULL && cap != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_prepare(ls, "SELECT added_ms, display FROM contacts WHERE name = ?", &st);
	if (rc != 0)
		return rc;
	if (bind_text(st, 1, name) != SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? SOTTO_ERR_NOT_FOUND : bind_fail(ls);
		goto out;
	}
	rk_name(&rk, name);
	rc = col_open(ls, st, 1, "contacts.display", &rk, &pt, &n);
	if (rc != 0)
		goto out;
	if (added_ms != NULL)
		*added_ms = (uint64_t)sqlite3_column_int64(st, 0);
	if (display != NULL) {
		if (n + 1 > cap) {
			rc = SOTTO_ERR_BUFFER_TOO_SMALL;
			goto out;
		}
		memcpy(display, pt, n + 1); /* opened values end with a NUL */
	}
out:
	sotto__ls_wipe_free(pt, n);
	sqlite3_finalize(st);
	return rc;
}

int sotto_lstore_contact_delete(sotto_lstore *ls, const char *name)
{
	if (ls == NULL || !sotto__ls_name_ok(name))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return write_plain(ls, "DELETE FROM contacts WHERE name = ?", bind_name, name, NULL);
}

int sotto_lstore_contact_foreach(sotto_lstore *ls,
				 int (*cb)(void *ctx, const char *name, const char *display,
					   uint64_t added_ms),
				 void *ctx)
{
	sqlite3_stmt *st = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;
	ls_rowkey rk;
	int rc;

	if (ls == NULL || cb == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_prepare(ls, "SELECT name, added_ms, display FROM contacts ORDER BY name",
			       &st);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (!sotto__ls_name_ok(name)) {
			rc = sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "damaged contact row");
			goto out;
		}
		rk_name(&rk, name);
		rc = col_open(ls, st, 2, "contacts.display", &rk, &pt, &n);
		if (rc == 0)
			rc = cb(ctx, name, (const char *)pt, (uint64_t)sqlite3_column_int64(st, 1));
		sotto__ls_wipe_free(pt, n);
		pt = NULL;
		if (rc != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : bind_fail(ls);
out:
	sqlite3_finalize(st);
	return rc;
}

struct conv_args {
	const char *id;
	uint32_t timer;
	uint64_t now;
};

static int bind_conv(sqlite3_stmt *st, const void *arg)
{
	const struct conv_args *a = arg;

	if (bind_text(st, 1, a->id) != SQLITE_OK || sqlite3_bind_int64(st, 2, a->timer) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_int64(st, 3, (sqlite3_int64)a->now);
}

int sotto_lstore_conversation_set_timer(sotto_lstore *ls, const char *conv, uint32_t timer_s,
					uint64_t now_ms)
{
	struct conv_args a = { conv, timer_s, now_ms };

	if (ls == NULL || !sotto__ls_name_ok(conv))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return write_plain(ls, "INSERT INTO conversations (id, timer_s, updated_ms) VALUES "
			       "(?, ?, ?) ON CONFLICT (id) DO UPDATE SET timer_s = "
			       "excluded.timer_s, updated_ms = excluded.updated_ms",
			   bind_conv, &a, NULL);
}

int sotto_lstore_conversation_timer(sotto_lstore *ls, const char *conv, uint32_t *timer_s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (ls == NULL || !sotto__ls_name_ok(conv) || timer_s == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*timer_s = 0;
	rc = sotto__ls_prepare(ls, "SELECT timer_s FROM conversations WHERE id = ?", &st);
	if (rc != 0)
		return rc;
	if (bind_text(st, 1, conv) != SQLITE_OK) {
		rc = bind_fail(ls);
	} else {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*timer_s = (uint32_t)sqlite3_column_int64(st, 0);
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : bind_fail(ls);
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- messages ----------------------------------------------------------- */

static void rk_message(ls_rowkey *rk, const sotto_lstore_message *m)
{
	rk->n = 0;
	rk->overflow = 0;
	sotto__ls_rk_str(rk, m->id);
	sotto__ls_rk_str(rk, m->conversation);
	sotto__ls_rk_u32(rk, (uint32_t)m->direction);
	sotto__ls_rk_str(rk, m->sender);
	sotto__ls_rk_u32(rk, m->sender_device);
	rk_u64(rk, m->timestamp_ms);
}

static int bind_message(sqlite3_stmt *st, const void *arg)
{
	const sotto_lstore_message *m = arg;

	if (bind_text(st, 1, m->id) != SQLITE_OK || bind_text(st, 2, m->conversation) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, (int)m->direction) != SQLITE_OK ||
	    bind_text(st, 4, m->sender) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, m->sender_device) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, (sqlite3_int64)m->timestamp_ms) != SQLITE_OK ||
	    sqlite3_bind_int(st, 8, (int)m->status) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_int64(st, 9, (sqlite3_int64)m->expires_at_ms);
}

#define BODY_MAX (64u << 20)

int sotto_lstore_message_add(sotto_lstore *ls, const sotto_lstore_message *m)
{
	ls_rowkey rk;

	if (ls == NULL || m == NULL || !id_ok(m->id) || !sotto__ls_name_ok(m->conversation) ||
	    !sotto__ls_name_ok(m->sender) || (m->body == NULL && m->body_len != 0) ||
	    m->body_len > BODY_MAX ||
	    (m->direction != SOTTO_LSTORE_OUTGOING && m->direction != SOTTO_LSTORE_INCOMING) ||
	    (unsigned)m->status > SOTTO_LSTORE_READ || m->timestamp_ms > INT64_MAX ||
	    m->expires_at_ms > INT64_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rk_message(&rk, m);
	return write_sealed(ls,
			    "INSERT INTO messages (id, conversation, direction, sender, "
			    "sender_device, timestamp_ms, body, status, expires_at_ms) VALUES "
			    "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
			    bind_message, m, 7, "messages.body", &rk, m->body, m->body_len);
}

struct id_u64 {
	const char *id;
	uint64_t v;
};

static int bind_id_u64(sqlite3_stmt *st, const void *arg)
{
	const struct id_u64 *a = arg;

	if (sqlite3_bind_int64(st, 1, (sqlite3_int64)a->v) != SQLITE_OK)
		return SQLITE_ERROR;
	return bind_text(st, 2, a->id);
}

static int update_one(sotto_lstore *ls, const char *sql, const char *id, uint64_t v)
{
	struct id_u64 a = { id, v };
	int changes = 0, rc;

	rc = write_plain(ls, sql, bind_id_u64, &a, &changes);
	if (rc == 0 && changes == 0) {
		/* The row may exist with the status already further on. */
		sqlite3_stmt *st = NULL;

		rc = sotto__ls_prepare(ls, "SELECT 1 FROM messages WHERE id = ?", &st);
		if (rc == 0) {
			if (bind_text(st, 1, id) != SQLITE_OK)
				rc = bind_fail(ls);
			else if (sqlite3_step(st) != SQLITE_ROW)
				rc = sotto__ls_fail(ls, SOTTO_ERR_NOT_FOUND, "no such message");
		}
		sqlite3_finalize(st);
	}
	return rc;
}

int sotto_lstore_message_set_status(sotto_lstore *ls, const char *id,
				    enum sotto_lstore_status status)
{
	if (ls == NULL || !id_ok(id) || (unsigned)status > SOTTO_LSTORE_READ)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return update_one(ls, "UPDATE messages SET status = ?1 WHERE id = ?2 AND status < ?1", id,
			  (uint64_t)status);
}

int sotto_lstore_message_set_expiry(sotto_lstore *ls, const char *id, uint64_t expires_at_ms)
{
	if (ls == NULL || !id_ok(id) || expires_at_ms > INT64_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return update_one(ls, "UPDATE messages SET expires_at_ms = ?1 WHERE id = ?2", id,
			  expires_at_ms);
}

int sotto_lstore_message_delete(sotto_lstore *ls, const char *id)
{
	if (ls == NULL || !id_ok(id))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return write_plain(ls, "DELETE FROM messages WHERE id = ?", bind_name, id, NULL);
}

int sotto_lstore_message_foreach(sotto_lstore *ls, const char *conv, uint32_t limit,
				 int (*cb)(void *ctx, const sotto_lstore_message *msg),
				 void *ctx)
{
	sqlite3_stmt *st = NULL;
	sotto_lstore_message m;
	uint8_t *pt = NULL;
	size_t n = 0;
	ls_rowkey rk;
	int rc;

	if (ls == NULL || !sotto__ls_name_ok(conv) || cb == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_prepare(ls,
			       "SELECT * FROM (SELECT id, conversation, direction, sender, "
			       "sender_device, timestamp_ms, body, status, expires_at_ms FROM "
			       "messages WHERE conversation = ? ORDER BY timestamp_ms DESC, id DESC "
			       "LIMIT ?) ORDER BY timestamp_ms, id",
			       &st);
	if (rc != 0)
		return rc;
	if (bind_text(st, 1, conv) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, limit != 0 ? (sqlite3_int64)limit : -1) != SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		m.id = (const char *)sqlite3_column_text(st, 0);
		m.conversation = (const char *)sqlite3_column_text(st, 1);
		m.direction = (enum sotto_lstore_direction)sqlite3_column_int(st, 2);
		m.sender = (const char *)sqlite3_column_text(st, 3);
		m.sender_device = (uint32_t)sqlite3_column_int64(st, 4);
		m.timestamp_ms = (uint64_t)sqlite3_column_int64(st, 5);
		m.status = (enum sotto_lstore_status)sqlite3_column_int(st, 7);
		m.expires_at_ms = (uint64_t)sqlite3_column_int64(st, 8);
		if (!id_ok(m.id) || !sotto__ls_name_ok(m.conversation) ||
		    !sotto__ls_name_ok(m.sender)) {
			rc = sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "damaged message row");
			goto out;
		}
		rk_message(&rk, &m);
		rc = col_open(ls, st, 6, "messages.body", &rk, &pt, &n);
		if (rc == 0) {
			m.body = pt;
			m.body_len = n;
			rc = cb(ctx, &m);
		}
		sotto__ls_wipe_free(pt, n);
		pt = NULL;
		if (rc != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : bind_fail(ls);
out:
	sqlite3_finalize(st);
	return rc;
}

/* ---- attachments -------------------------------------------------------- */

/* meta = key || digest || three strings, each a 2-byte length and bytes. */
#define ATT_FIXED (SOTTO_LSTORE_ATT_KEY_BYTES + SOTTO_LSTORE_ATT_DIGEST_BYTES)
#define ATT_STR_MAX 4096

static void rk_att(ls_rowkey *rk, const char *id, const char *msg, uint64_t size)
{
	rk->n = 0;
	rk->overflow = 0;
	sotto__ls_rk_str(rk, id);
	sotto__ls_rk_str(rk, msg);
	rk_u64(rk, size);
}

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	p[0] = (uint8_t)(n >> 8);
	p[1] = (uint8_t)n;
	if (n != 0)
		memcpy(p + 2, s, n);
	return 2 + n;
}

static int att_encode(const sotto_lstore_attachment *a, uint8_t **out, size_t *outlen)
{
	const char *s[3] = { a->file_name, a->content_type, a->local_path };
	size_t need = ATT_FIXED, off;
	uint8_t *p;

	for (int i = 0; i < 3; i++) {
		if (s[i] != NULL && strlen(s[i]) > ATT_STR_MAX)
			return SOTTO_ERR_INVALID_ARGUMENT;
		need += 2 + (s[i] != NULL ? strlen(s[i]) : 0);
	}
	p = malloc(need);
	if (p == NULL)
		return SOTTO_ERR_NOMEM;
	memcpy(p, a->key, SOTTO_LSTORE_ATT_KEY_BYTES);
	memcpy(p + SOTTO_LSTORE_ATT_KEY_BYTES, a->digest, SOTTO_LSTORE_ATT_DIGEST_BYTES);
	off = ATT_FIXED;
	for (int i = 0; i < 3; i++)
		off += put_str(p + off, s[i]);
	*out = p;
	*outlen = need;
	return 0;
}

/* Splits meta in place into a (strings NUL-terminated in strs, 3 x
 * (ATT_STR_MAX + 1) bytes). */
static int att_decode(const uint8_t *p, size_t n, sotto_lstore_attachment *a, char *strs)
{
	size_t off = ATT_FIXED;
	const char **dst[3] = { &a->file_name, &a->content_type, &a->local_path };

	if (n < ATT_FIXED)
		return SOTTO_ERR_STORAGE;
	memcpy(a->key, p, SOTTO_LSTORE_ATT_KEY_BYTES);
	memcpy(a->digest, p + SOTTO_LSTORE_ATT_KEY_BYTES, SOTTO_LSTORE_ATT_DIGEST_BYTES);
	for (int i = 0; i < 3; i++) {
		size_t l;
		char *d = strs + (size_t)i * (ATT_STR_MAX + 1);

		if (n - off < 2)
			return SOTTO_ERR_STORAGE;
		l = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (l > ATT_STR_MAX || n - off < l)
			return SOTTO_ERR_STORAGE;
		memcpy(d, p + off, l);
		d[l] = 0;
		*dst[i] = l != 0 ? d : NULL;
		off += l;
	}
	return off == n ? 0 : SOTTO_ERR_STORAGE;
}

static int bind_att(sqlite3_stmt *st, const void *arg)
{
	const sotto_lstore_attachment *a = arg;

	if (bind_text(st, 1, a->id) != SQLITE_OK || bind_text(st, 2, a->message_id) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_int64(st, 3, (sqlite3_int64)a->size);
}

int sotto_lstore_attachment_put(sotto_lstore *ls, const sotto_lstore_attachment *att)
{
	uint8_t *meta = NULL;
	size_t n = 0;
	ls_rowkey rk;
	int rc;

	if (ls == NULL || att == NULL || !id_ok(att->id) || !id_ok(att->message_id) ||
	    att->size > INT64_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = att_encode(att, &meta, &n);
	if (rc != 0)
		return rc;
	rk_att(&rk, att->id, att->message_id, att->size);
	rc = write_sealed(ls, "INSERT OR REPLACE INTO attachments (id, message_id, size, meta) "
			      "VALUES (?, ?, ?, ?)",
			  bind_att, att, 4, "attachments.meta", &rk, meta, n);
	sotto__ls_wipe_free(meta, n);
	return rc;
}

/* Walks the attachments selected by sql (with ?1 bound to key), opening
 * each. */
static int att_walk(sotto_lstore *ls, const char *sql, const char *key, uint64_t num,
		    int (*cb)(void *ctx, const sotto_lstore_attachment *att), void *ctx)
{
	sqlite3_stmt *st = NULL;
	sotto_lstore_attachment a;
	uint8_t *pt = NULL;
	size_t n = 0;
	char *strs;
	ls_rowkey rk;
	int rc;

	strs = malloc(3 * (ATT_STR_MAX + 1));
	if (strs == NULL)
		return SOTTO_ERR_NOMEM;
	rc = sotto__ls_prepare(ls, sql, &st);
	if (rc != 0)
		goto out;
	if ((key != NULL ? bind_text(st, 1, key) : sqlite3_bind_int64(st, 1, (sqlite3_int64)num)) !=
	    SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&a, 0, sizeof a);
		a.id = (const char *)sqlite3_column_text(st, 0);
		a.message_id = (const char *)sqlite3_column_text(st, 1);
		a.size = (uint64_t)sqlite3_column_int64(st, 2);
		if (!id_ok(a.id) || !id_ok(a.message_id)) {
			rc = sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "damaged attachment row");
			goto out;
		}
		rk_att(&rk, a.id, a.message_id, a.size);
		rc = col_open(ls, st, 3, "attachments.meta", &rk, &pt, &n);
		if (rc == 0) {
			rc = att_decode(pt, n, &a, strs);
			if (rc != 0)
				rc = sotto__ls_fail(ls, rc, "damaged attachment description");
		}
		if (rc == 0)
			rc = cb(ctx, &a);
		sotto_memzero(&a, sizeof a);
		sotto_memzero(strs, 3 * (ATT_STR_MAX + 1));
		sotto__ls_wipe_free(pt, n);
		pt = NULL;
		if (rc != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : bind_fail(ls);
out:
	sqlite3_finalize(st);
	sotto__ls_wipe_free(strs, 3 * (ATT_STR_MAX + 1));
	return rc;
}

int sotto_lstore_attachment_foreach(sotto_lstore *ls, const char *message_id,
				    int (*cb)(void *ctx, const sotto_lstore_attachment *att),
				    void *ctx)
{
	if (ls == NULL || !id_ok(message_id) || cb == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return att_walk(ls, "SELECT id, message_id, size, meta FROM attachments WHERE "
			    "message_id = ?1 ORDER BY id",
			message_id, 0, cb, ctx);
}

struct set_path {
	sotto_lstore *ls;
	const char *path;
	int found;
};

static int set_path_cb(void *ctx, const sotto_lstore_attachment *att)
{
	struct set_path *sp = ctx;
	sotto_lstore_attachment copy = *att;

	copy.local_path = sp->path;
	sp->found = 1;
	return sotto_lstore_attachment_put(sp->ls, &copy);
}

int sotto_lstore_attachment_set_path(sotto_lstore *ls, const char *id, const char *local_path)
{
	struct set_path sp = { ls, local_path, 0 };
	int rc;

	if (ls == NULL || !id_ok(id))
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_wbegin(ls);
	if (rc != 0)
		return rc;
	rc = att_walk(ls, "SELECT id, message_id, size, meta FROM attachments WHERE id = ?1", id,
		      0, set_path_cb, &sp);
	if (rc == 0 && !sp.found)
		rc = sotto__ls_fail(ls, SOTTO_ERR_NOT_FOUND, "no such attachment");
	return sotto__ls_wend(ls, rc);
}

/* ---- expiry ------------------------------------------------------------- */

struct paths {
	char **v;
	size_t n, cap;
};

static int collect_path(void *ctx, const sotto_lstore_attachment *att)
{
	struct paths *p = ctx;

	if (att->local_path == NULL)
		return 0;
	if (p->n == p->cap) {
		size_t nc = p->cap != 0 ? 2 * p->cap : 8;
		char **nv = realloc(p->v, nc * sizeof *nv);

		if (nv == NULL)
			return SOTTO_ERR_NOMEM;
		p->v = nv;
		p->cap = nc;
	}
	p->v[p->n] = strdup(att->local_path);
	if (p->v[p->n] == NULL)
		return SOTTO_ERR_NOMEM;
	p->n++;
	return 0;
}

static int bind_u64(sqlite3_stmt *st, const void *arg)
{
	return sqlite3_bind_int64(st, 1, (sqlite3_int64) * (const uint64_t *)arg);
}

int sotto_lstore_sweep_expired(sotto_lstore *ls, uint64_t now_ms,
			       void (*path_cb)(void *ctx, const char *path), void *ctx,
			       uint32_t *deleted)
{
	struct paths paths = { NULL, 0, 0 };
	int rc, changes = 0;

	if (deleted != NULL)
		*deleted = 0;
	if (ls == NULL || now_ms > INT64_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_wbegin(ls);
	if (rc != 0)
		return rc;
	/* The files' paths are sealed: open them before the rows go. */
	rc = att_walk(ls, "SELECT a.id, a.message_id, a.size, a.meta FROM attachments a JOIN "
			  "messages m ON m.id = a.message_id WHERE m.expires_at_ms > 0 AND "
			  "m.expires_at_ms <= ?1",
		      NULL, now_ms, collect_path, &paths);
	if (rc == 0)
		rc = write_plain(ls, "DELETE FROM messages WHERE expires_at_ms > 0 AND "
				     "expires_at_ms <= ?",
				 bind_u64, &now_ms, &changes);
	rc = sotto__ls_wend(ls, rc);
	for (size_t i = 0; i < paths.n; i++) {
		if (rc == 0 && path_cb != NULL)
			path_cb(ctx, paths.v[i]);
		sotto__ls_wipe_free(paths.v[i], strlen(paths.v[i]));
	}
	free(paths.v);
	if (rc == 0 && deleted != NULL)
		*deleted = (uint32_t)changes;
	return rc;
}

/* ---- received envelopes ------------------------------------------------- */

struct blob_u64 {
	const uint8_t *p;
	size_t n;
	uint64_t v;
};

static int bind_blob_u64(sqlite3_stmt *st, const void *arg)
{
	const struct blob_u64 *a = arg;

	if (bind_blob(st, 1, a->p, a->n) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_int64(st, 2, (sqlite3_int64)a->v);
}

int sotto_lstore_envelope_mark(sotto_lstore *ls, const uint8_t *id, size_t idlen,
			       uint64_t now_ms)
{
	struct blob_u64 a = { id, idlen, now_ms };
	int rc;

	if (ls == NULL || id == NULL || idlen == 0 || idlen > SOTTO_LSTORE_ID_MAX ||
	    now_ms > INT64_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = write_plain(ls, "INSERT INTO seen_envelopes (id, seen_ms) VALUES (?, ?)",
			 bind_blob_u64, &a, NULL);
	if (rc == SOTTO_ERR_EXISTS)
		return sotto__ls_fail(ls, SOTTO_ERR_DUPLICATE_MESSAGE, "envelope already processed");
	return rc;
}

int sotto_lstore_envelope_seen(sotto_lstore *ls, const uint8_t *id, size_t idlen, int *seen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (ls == NULL || id == NULL || idlen == 0 || idlen > SOTTO_LSTORE_ID_MAX || seen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__ls_prepare(ls, "SELECT 1 FROM seen_envelopes WHERE id = ?", &st);
	if (rc != 0)
		return rc;
	if (bind_blob(st, 1, id, idlen) != SQLITE_OK) {
		rc = bind_fail(ls);
	} else {
		rc = sqlite3_step(st);
		*seen = rc == SQLITE_ROW;
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : bind_fail(ls);
	}
	sqlite3_finalize(st);
	return rc;
}

int sotto_lstore_envelope_prune(sotto_lstore *ls, uint64_t before_ms)
{
	if (ls == NULL || before_ms > INT64_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return write_plain(ls, "DELETE FROM seen_envelopes WHERE seen_ms < ?", bind_u64,
			   &before_ms, NULL);
}

/* ---- sealed key-value --------------------------------------------------- */

struct kv_args {
	const char *ns;
	const uint8_t *key;
	size_t keylen;
};

static int bind_kv(sqlite3_stmt *st, const void *arg)
{
	const struct kv_args *a = arg;

	if (bind_text(st, 1, a->ns) != SQLITE_OK)
		return SQLITE_ERROR;
	return bind_blob(st, 2, a->key, a->keylen);
}

static int kv_ok(const char *ns, const uint8_t *key, size_t keylen)
{
	return sotto__ls_name_ok(ns) && (key != NULL || keylen == 0) &&
	       keylen <= SOTTO_LSTORE_NAME_MAX;
}

static void rk_kv(ls_rowkey *rk, const struct kv_args *a)
{
	rk_name(rk, a->ns);
	sotto__ls_rk_bytes(rk, a->key, a->keylen);
}

int sotto_lstore_kv_put(sotto_lstore *ls, const char *ns, const uint8_t *key, size_t keylen,
			const uint8_t *val, size_t len)
{
	struct kv_args a = { ns, key, keylen };
	ls_rowkey rk;

	if (ls == NULL || !kv_ok(ns, key, keylen) || (val == NULL && len != 0) || len > BODY_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rk_kv(&rk, &a);
	return write_sealed(ls, "INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)",
			    bind_kv, &a, 3, "kv.value", &rk, val, len);
}

int sotto_lstore_kv_get(sotto_lstore *ls, const char *ns, const uint8_t *key, size_t keylen,
			uint8_t **val, size_t *len)
{
	struct kv_args a = { ns, key, keylen };
	sqlite3_stmt *st = NULL;
	ls_rowkey rk;
	int rc;

	if (ls == NULL || !kv_ok(ns, key, keylen) || val == NULL || len == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*val = NULL;
	*len = 0;
	rc = sotto__ls_prepare(ls, "SELECT value FROM kv WHERE ns = ? AND key = ?", &st);
	if (rc != 0)
		return rc;
	if (bind_kv(st, &a) != SQLITE_OK) {
		rc = bind_fail(ls);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? SOTTO_ERR_NOT_FOUND : bind_fail(ls);
		goto out;
	}
	rk_kv(&rk, &a);
	rc = col_open(ls, st, 0, "kv.value", &rk, val, len);
out:
	sqlite3_finalize(st);
	return rc;
}

int sotto_lstore_kv_delete(sotto_lstore *ls, const char *ns, const uint8_t *key, size_t keylen)
{
	struct kv_args a = { ns, key, keylen };

	if (ls == NULL || !kv_ok(ns, key, keylen))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return write_plain(ls, "DELETE FROM kv WHERE ns = ? AND key = ?", bind_kv, &a, NULL);
}
