/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The key transparency log over SQLite (see kt_sqlite.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/kt_sqlite.h"
#ifdef SOTTO_KT_EVIL /* test-only malicious build (tests/evil) */
#include "server/kt_evil.h"
#endif
#include "sotto/ed25519.h"
#include "sotto/error.h"
#include "sotto/util.h"

#define NODE_ID(level, index) ((sqlite3_int64)(((uint64_t)(level) << 56) | (index)))
#define MAX_INDEX ((uint64_t)1 << 56)

enum {
	W_SIZE,
	W_LEAF_INSERT,
	W_NODE_INSERT,
	W_IDENTITY,
	W_LAST_LEAF,
	W_HEAD_GET,
	W_HEAD_PUT,
	W__COUNT
};

static const char *const wsql[W__COUNT] = {
	[W_SIZE] = "SELECT coalesce(max(idx) + 1, 0) FROM kt_leaves",
	[W_LEAF_INSERT] = ("INSERT INTO kt_leaves (idx, account, device_id, event, leaf, ts) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
	[W_NODE_INSERT] = "INSERT INTO kt_nodes (id, hash) VALUES (?1, ?2)",
	[W_IDENTITY] = ("SELECT identity_key, noise_key FROM devices WHERE account_id = ?1 AND "
			"device_id = ?2"),
	[W_LAST_LEAF] = ("SELECT leaf FROM kt_leaves WHERE account = ?1 AND device_id = ?2 "
			 "ORDER BY idx DESC LIMIT 1"),
	[W_HEAD_GET] = "SELECT size, sth FROM kt_head WHERE id = 1",
	[W_HEAD_PUT] = "INSERT OR REPLACE INTO kt_head (id, size, sth) VALUES (1, ?1, ?2)",
};

struct sotto__kt_log {
	int has_key;
	uint8_t priv[32];
	uint8_t pub[32];
	uint8_t log_id[SOTTO_KT_LOG_ID_BYTES];
	sqlite3 *db; /* the writer connection the statements belong to */
	sqlite3_stmt *st[W__COUNT];
	/* The frontier of the log as this writer last left it. Valid only
	 * while its size equals the table's: a rolled-back append shrinks the
	 * table, never grows it, so a size match means the same leaves. */
	int fvalid;
	sotto_kt_frontier f;
};

static int map_sql(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE: return 0;
	case SQLITE_NOMEM: return SOTTO_ERR_NOMEM;
	case SQLITE_CONSTRAINT: return SOTTO_ERR_EXISTS;
	default: return SOTTO_ERR_STORAGE;
	}
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the node read callback ---- */

/* One statement per call: "... WHERE id IN (?1, ..., ?n)". Preparing costs
 * a few microseconds, less than the reads it saves over n point queries. */
static int nodes_get(void *ctx, const sotto_kt_node *nodes, size_t n, uint8_t *hashes)
{
	sqlite3 *db = ctx;
	char sql[64 + SOTTO_KT_MAX_READ_NODES * 6];
	sqlite3_stmt *st = NULL;
	uint8_t found[SOTTO_KT_MAX_READ_NODES] = { 0 };
	size_t len, nfound = 0;
	int rc;

	if (n == 0)
		return 0;
	if (n > SOTTO_KT_MAX_READ_NODES)
		return SOTTO_ERR_INVALID_ARGUMENT;
	len = (size_t)snprintf(sql, sizeof sql, "SELECT id, hash FROM kt_nodes WHERE id IN (");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, i ? ",?" : "?");
	snprintf(sql + len, sizeof sql - len, ")");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return map_sql(sqlite3_errcode(db));
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].index >= MAX_INDEX) {
			sqlite3_finalize(st);
			return SOTTO_ERR_NOT_FOUND;
		}
		if (sqlite3_bind_int64(st, (int)i + 1, NODE_ID(nodes[i].level, nodes[i].index)) !=
			SQLITE_OK) {
			sqlite3_finalize(st);
			return SOTTO_ERR_STORAGE;
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		const void *h = sqlite3_column_blob(st, 1);

		if (h == NULL || sqlite3_column_bytes(st, 1) != SOTTO_KT_HASH_BYTES) {
			rc = SQLITE_CORRUPT;
			break;
		}
		/* A proof may ask for the same node twice; fill every slot. */
		for (size_t i = 0; i < n; i++) {
			if (NODE_ID(nodes[i].level, nodes[i].index) == id) {
				memcpy(hashes + 32 * i, h, SOTTO_KT_HASH_BYTES);
				if (!found[i]) {
					found[i] = 1;
					nfound++;
				}
			}
		}
	}
	rc = rc == SQLITE_DONE ? 0 : map_sql(rc);
	sqlite3_finalize(st);
	if (rc == 0 && nfound != n)
		rc = SOTTO_ERR_NOT_FOUND;
	return rc;
}

sotto_kt_store sotto__kt_sqlite_store(sqlite3 *db)
{
	sotto_kt_store s = { db, nodes_get };
	return s;
}

/* ---- writer ---- */

int sotto__kt_log_new(struct sotto__kt_log **out, const uint8_t *priv)
{
	struct sotto__kt_log *kt = calloc(1, sizeof *kt);
	int rc = 0;

	if (kt == NULL)
		return SOTTO_ERR_NOMEM;
	if (priv != NULL) {
		memcpy(kt->priv, priv, 32);
		rc = sotto_ed25519_public(kt->pub, kt->priv);
		if (rc == 0)
			rc = sotto_kt_log_id(kt->log_id, kt->pub);
		kt->has_key = 1;
	}
	if (rc != 0) {
		sotto__kt_log_free(kt);
		return rc;
	}
	*out = kt;
	return 0;
}

static void finalize_all(struct sotto__kt_log *kt)
{
	for (int i = 0; i < W__COUNT; i++) {
		sqlite3_finalize(kt->st[i]);
		kt->st[i] = NULL;
	}
	kt->db = NULL;
}

void sotto__kt_log_free(struct sotto__kt_log *kt)
{
	if (kt == NULL)
		return;
	finalize_all(kt);
	sotto_memzero(kt->priv, sizeof kt->priv);
	free(kt);
}

void sotto__kt_log_reset(struct sotto__kt_log *kt)
{
	kt->fvalid = 0;
}

static int wstmt(struct sotto__kt_log *kt, sqlite3 *db, int id, sqlite3_stmt **out)
{
	if (kt->db != db) {
		finalize_all(kt);
		kt->db = db;
		kt->fvalid = 0;
	}
	if (kt->st[id] == NULL &&
		sqlite3_prepare_v3(db, wsql[id], -1, SQLITE_PREPARE_PERSISTENT, &kt->st[id], NULL) !=
			SQLITE_OK)
		return map_sql(sqlite3_errcode(db));
	sqlite3_reset(kt->st[id]);
	sqlite3_clear_bindings(kt->st[id]);
	*out = kt->st[id];
	return 0;
}

/* Runs a statement that returns no row. */
static int wdone(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : map_sql(sqlite3_extended_errcode(db));
}

static int size_of(struct sotto__kt_log *kt, sqlite3 *db, uint64_t *size)
{
	sqlite3_stmt *st;
	int rc = wstmt(kt, db, W_SIZE, &st);

	if (rc != 0)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = map_sql(sqlite3_extended_errcode(db));
		sqlite3_reset(st);
		return rc != 0 ? rc : SOTTO_ERR_STORAGE;
	}
	*size = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* Makes kt->f the frontier of the table's current tree. */
static int frontier_sync(struct sotto__kt_log *kt, sqlite3 *db, uint64_t *size)
{
	int rc = size_of(kt, db, size);

	if (rc != 0)
		return rc;
#ifdef SOTTO_KT_EVIL /* test-only: the evil build rewrites tables behind the writer */
	kt->fvalid = 0;
#endif
	if (kt->fvalid && kt->f.size == *size)
		return 0;
	sotto_kt_store store = sotto__kt_sqlite_store(db);
	rc = sotto_kt_frontier_load(&kt->f, &store, *size);
	kt->fvalid = rc == 0;
	return rc;
}

/* An unlinked device's row has lost its Noise key (unlinking clears it so
 * the key can no longer log in); its REMOVE leaf carries the key of its
 * latest leaf instead, i.e. the transport key it was removed with. Zeros if
 * the device was never logged. */
static int last_transport_key(struct sotto__kt_log *kt, sqlite3 *db, const uint8_t account[16],
	uint32_t device_id, uint8_t key[SOTTO_KT_TRANSPORT_KEY_BYTES])
{
	sotto_kt_leaf prev;
	sqlite3_stmt *st;
	int rc = wstmt(kt, db, W_LAST_LEAF, &st);

	if (rc != 0)
		return rc;
	memset(key, 0, SOTTO_KT_TRANSPORT_KEY_BYTES);
	if (sqlite3_bind_blob(st, 1, account, 16, SQLITE_STATIC) != SQLITE_OK ||
		sqlite3_bind_int64(st, 2, device_id) != SQLITE_OK)
		return SOTTO_ERR_STORAGE;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rc = sotto_kt_leaf_decode(&prev, sqlite3_column_blob(st, 0),
			(size_t)sqlite3_column_bytes(st, 0));
		if (rc == 0)
			memcpy(key, prev.transport_key, SOTTO_KT_TRANSPORT_KEY_BYTES);
		else
			rc = SOTTO_ERR_STORAGE;
	} else {
		rc = rc == SQLITE_DONE ? 0 : map_sql(rc);
	}
	sqlite3_reset(st);
	return rc;
}

int sotto__kt_log_device(struct sotto__kt_log *kt, sqlite3 *db, const uint8_t account[16],
	uint32_t device_id, int event, int64_t now_ms)
{
	sotto_kt_leaf leaf;
	sotto_kt_frontier f;
	sotto_kt_node nodes[SOTTO_KT_MAX_APPEND_NODES];
	uint8_t hashes[SOTTO_KT_MAX_APPEND_NODES * SOTTO_KT_HASH_BYTES];
	uint8_t enc[SOTTO_KT_LEAF_BYTES], lh[SOTTO_KT_HASH_BYTES];
	sqlite3_stmt *st;
	uint64_t size;
	size_t n = 0;
	int rc;

	memset(&leaf, 0, sizeof leaf);
	leaf.event = (uint8_t)event;
	memcpy(leaf.account, account, SOTTO_KT_ACCOUNT_BYTES);
	leaf.device_id = device_id;
	leaf.timestamp_ms = now_ms < 0 ? 0 : (uint64_t)now_ms;
	rc = wstmt(kt, db, W_IDENTITY, &st);
	if (rc != 0)
		return rc;
	if (sqlite3_bind_blob(st, 1, account, 16, SQLITE_STATIC) != SQLITE_OK ||
		sqlite3_bind_int64(st, 2, device_id) != SQLITE_OK)
		return SOTTO_ERR_STORAGE;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? SOTTO_ERR_NOT_FOUND : map_sql(rc);
		sqlite3_reset(st);
		return rc;
	}
	if (sqlite3_column_bytes(st, 0) != 33) {
		sqlite3_reset(st);
		return SOTTO_ERR_STORAGE;
	}
	memcpy(leaf.identity_key, sqlite3_column_blob(st, 0), 33);
	int have_noise = sqlite3_column_bytes(st, 1) == SOTTO_KT_TRANSPORT_KEY_BYTES;
	if (have_noise)
		memcpy(leaf.transport_key, sqlite3_column_blob(st, 1), SOTTO_KT_TRANSPORT_KEY_BYTES);
	sqlite3_reset(st);
	if (!have_noise) {
		rc = last_transport_key(kt, db, account, device_id, leaf.transport_key);
		if (rc != 0)
			return rc;
	}
#ifdef SOTTO_KT_EVIL /* test-only: ghost device without a log entry */
	if (sotto__evil_skip_leaf(account, device_id, event, leaf.identity_key))
		return 0;
#endif
	rc = sotto_kt_leaf_encode(enc, &leaf);
	if (rc == 0)
		rc = sotto_kt_leaf_hash(lh, enc, sizeof enc);
	if (rc == 0)
		rc = frontier_sync(kt, db, &size);
	if (rc != 0)
		return rc;
	if (size >= MAX_INDEX)
		return SOTTO_ERR_LIMIT;
	f = kt->f;
	rc = sotto_kt_frontier_append(&f, lh, nodes, hashes, &n);
	if (rc != 0)
		return rc;
	rc = wstmt(kt, db, W_LEAF_INSERT, &st);
	if (rc != 0)
		return rc;
	if (sqlite3_bind_int64(st, 1, (sqlite3_int64)size) != SQLITE_OK ||
		sqlite3_bind_blob(st, 2, account, 16, SQLITE_STATIC) != SQLITE_OK ||
		sqlite3_bind_int64(st, 3, device_id) != SQLITE_OK ||
		sqlite3_bind_int(st, 4, event) != SQLITE_OK ||
		sqlite3_bind_blob(st, 5, enc, sizeof enc, SQLITE_STATIC) != SQLITE_OK ||
		sqlite3_bind_int64(st, 6, now_ms) != SQLITE_OK)
		return SOTTO_ERR_STORAGE;
	rc = wdone(db, st);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = wstmt(kt, db, W_NODE_INSERT, &st);
		if (rc != 0)
			break;
		if (sqlite3_bind_int64(st, 1, NODE_ID(nodes[i].level, nodes[i].index)) !=
				SQLITE_OK ||
			sqlite3_bind_blob(st, 2, hashes + 32 * i, 32, SQLITE_STATIC) != SQLITE_OK)
			return SOTTO_ERR_STORAGE;
		rc = wdone(db, st);
	}
	/* A failed insert is rolled back by the caller, the table shrinks
	 * back, and the size check reloads the frontier next time. */
	if (rc == 0)
		kt->f = f;
	else
		kt->fvalid = 0;
	return rc;
}

int sotto__kt_log_seal(struct sotto__kt_log *kt, sqlite3 *db)
{
	sotto_kt_signed_head prev, sh;
	sotto_kt_head h;
	uint8_t enc[SOTTO_KT_SIGNED_HEAD_BYTES];
	sqlite3_stmt *st;
	uint64_t size, now = wall_ms();
	int rc, have_prev = 0;

	if (!kt->has_key)
		return 0;
	rc = frontier_sync(kt, db, &size);
	if (rc != 0)
		return rc;
	rc = wstmt(kt, db, W_HEAD_GET, &st);
	if (rc != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) == (sqlite3_int64)size) {
			sqlite3_reset(st);
			return 0; /* the stored head covers the log */
		}
		have_prev = sotto_kt_signed_head_decode(&prev, sqlite3_column_blob(st, 1),
				    (size_t)sqlite3_column_bytes(st, 1)) == 0;
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return map_sql(rc);
	if (size == 0 && !have_prev)
		return 0;
	memset(&h, 0, sizeof h);
	memcpy(h.log_id, kt->log_id, sizeof h.log_id);
	h.size = size;
	/* Clients reject a larger head with an earlier time: never go back
	 * even if the wall clock does. */
	h.timestamp_ms = have_prev && prev.head.timestamp_ms > now ? prev.head.timestamp_ms : now;
	rc = sotto_kt_frontier_root(&kt->f, h.root);
	if (rc == 0)
		rc = sotto_kt_head_sign(&sh, &h, kt->priv);
	if (rc != 0)
		return rc;
#ifdef SOTTO_KT_EVIL /* test-only: keep every head for replay */
	sotto__evil_head_signed(&sh);
#endif
	sotto_kt_signed_head_encode(enc, &sh);
	rc = wstmt(kt, db, W_HEAD_PUT, &st);
	if (rc != 0)
		return rc;
	if (sqlite3_bind_int64(st, 1, (sqlite3_int64)size) != SQLITE_OK ||
		sqlite3_bind_blob(st, 2, enc, sizeof enc, SQLITE_STATIC) != SQLITE_OK)
		return SOTTO_ERR_STORAGE;
	return wdone(db, st);
}

/* ---- reads ---- */

/* Prepares sql on db, binds the int64 arguments, steps once. Returns 1 with
 * a row in *out (caller finalizes), 0 for no row, or an error. */
static int query(sqlite3 *db, const char *sql, sqlite3_stmt **out, int nargs,
	const sqlite3_int64 *args)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return map_sql(sqlite3_errcode(db));
	for (int i = 0; i < nargs; i++)
		if (sqlite3_bind_int64(st, i + 1, args[i]) != SQLITE_OK) {
			sqlite3_finalize(st);
			return SOTTO_ERR_STORAGE;
		}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = st;
		return 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : map_sql(rc);
}

int sotto__kt_read_size(sqlite3 *db, uint64_t *size)
{
	sqlite3_stmt *st;
	int rc = query(db, "SELECT coalesce(max(idx) + 1, 0) FROM kt_leaves", &st, 0, NULL);

	if (rc != 1)
		return rc < 0 ? rc : SOTTO_ERR_STORAGE;
	*size = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int sotto__kt_read_head(sqlite3 *db, sotto_kt_signed_head *out)
{
	sqlite3_stmt *st;
	int rc = query(db, "SELECT sth FROM kt_head WHERE id = 1", &st, 0, NULL);

	if (rc != 1)
		return rc < 0 ? rc : SOTTO_ERR_NOT_FOUND;
	rc = sotto_kt_signed_head_decode(out, sqlite3_column_blob(st, 0),
		(size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	return rc != 0 ? SOTTO_ERR_STORAGE : 0;
}

int sotto__kt_read_root(sqlite3 *db, uint64_t size, uint8_t root[SOTTO_KT_HASH_BYTES])
{
	sotto_kt_store store = sotto__kt_sqlite_store(db);

	return sotto_kt_store_root(&store, size, root);
}

int sotto__kt_read_inclusion(sqlite3 *db, uint64_t index, uint64_t size, uint8_t *proof,
	size_t cap, size_t *count)
{
	sotto_kt_store store = sotto__kt_sqlite_store(db);

	return sotto_kt_store_inclusion_proof(&store, index, size, proof, cap, count);
}

int sotto__kt_read_consistency(sqlite3 *db, uint64_t size1, uint64_t size2, uint8_t *proof,
	size_t cap, size_t *count)
{
	sotto_kt_store store = sotto__kt_sqlite_store(db);

	return sotto_kt_store_consistency_proof(&store, size1, size2, proof, cap, count);
}

int sotto__kt_read_device_leaf(sqlite3 *db, const uint8_t account[16], uint32_t device_id,
	uint64_t size, uint64_t *index, uint8_t leaf[SOTTO_KT_LEAF_BYTES])
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
		    "SELECT idx, leaf FROM kt_leaves WHERE account = ?1 AND device_id = ?2 "
		    "AND idx < ?3 ORDER BY idx DESC LIMIT 1",
		    -1, &st, NULL) != SQLITE_OK)
		return map_sql(sqlite3_errcode(db));
	if (sqlite3_bind_blob(st, 1, account, 16, SQLITE_STATIC) != SQLITE_OK ||
		sqlite3_bind_int64(st, 2, device_id) != SQLITE_OK ||
		sqlite3_bind_int64(st, 3, size >= MAX_INDEX ? (sqlite3_int64)MAX_INDEX
							    : (sqlite3_int64)size) != SQLITE_OK) {
		sqlite3_finalize(st);
		return SOTTO_ERR_STORAGE;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != SOTTO_KT_LEAF_BYTES) {
			rc = SOTTO_ERR_STORAGE;
		} else {
			*index = (uint64_t)sqlite3_column_int64(st, 0);
			memcpy(leaf, sqlite3_column_blob(st, 1), SOTTO_KT_LEAF_BYTES);
			rc = 0;
		}
	} else {
		rc = rc == SQLITE_DONE ? SOTTO_ERR_NOT_FOUND : map_sql(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int sotto__kt_read_leaves(sqlite3 *db, uint64_t start, size_t max, uint8_t *out, size_t *count)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 args[2] = { start >= MAX_INDEX ? (sqlite3_int64)MAX_INDEX
						     : (sqlite3_int64)start,
		(sqlite3_int64)max };
	size_t n = 0;
	int rc;

	*count = 0;
	rc = query(db, "SELECT leaf FROM kt_leaves WHERE idx >= ?1 ORDER BY idx LIMIT ?2", &st, 2,
		args);
	while (rc == 1) {
		if (sqlite3_column_bytes(st, 0) != SOTTO_KT_LEAF_BYTES) {
			rc = SOTTO_ERR_STORAGE;
			break;
		}
		memcpy(out + (size_t)SOTTO_KT_LEAF_BYTES * n++, sqlite3_column_blob(st, 0),
			SOTTO_KT_LEAF_BYTES);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : map_sql(rc);
	}
	sqlite3_finalize(st);
	if (rc == 0)
		*count = n;
	return rc;
}

/* ---- the key file ---- */

int sotto__kt_key_load(const char *dir, uint8_t priv[32], uint8_t pub[32], char *err,
	size_t errcap)
{
	char path[1100], tmp[1110];
	struct stat sb;
	ssize_t r = -1;
	int fd, rc;

	snprintf(path, sizeof path, "%s/%s", dir, SOTTO__KT_KEY_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &sb) == 0 && sb.st_size == 32)
			r = read(fd, priv, 32);
		close(fd);
		if (r != 32) {
			snprintf(err, errcap, "%s: not a 32-byte key file", path);
			return SOTTO_ERR_INVALID_KEY;
		}
		return sotto_ed25519_public(pub, priv);
	}
	if (errno != ENOENT) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return SOTTO_ERR_STORAGE;
	}
	rc = sotto_ed25519_keypair(pub, priv);
	if (rc != 0)
		return rc;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, priv, 32) != 32 || fsync(fd) != 0 || close(fd) != 0 ||
		rename(tmp, path) != 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		sotto_memzero(priv, 32);
		return SOTTO_ERR_STORAGE;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

/* ---- identity key changes ---- */

int sotto__kt_key_change(struct sotto__kt_log *kt, sqlite3 *db, const uint8_t account[16],
	uint32_t device_id, const uint8_t identity_key[33], int64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (identity_key[0] != 0x05)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (sqlite3_prepare_v2(db,
		    "UPDATE devices SET identity_key = ?3 WHERE account_id = ?1 "
		    "AND device_id = ?2 AND unlinked_ms IS NULL",
		    -1, &st, NULL) != SQLITE_OK)
		return map_sql(sqlite3_errcode(db));
	if (sqlite3_bind_blob(st, 1, account, 16, SQLITE_STATIC) != SQLITE_OK ||
		sqlite3_bind_int64(st, 2, device_id) != SQLITE_OK ||
		sqlite3_bind_blob(st, 3, identity_key, 33, SQLITE_STATIC) != SQLITE_OK) {
		sqlite3_finalize(st);
		return SOTTO_ERR_STORAGE;
	}
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : map_sql(sqlite3_extended_errcode(db));
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(db) != 1)
		rc = SOTTO_ERR_NOT_FOUND;
	if (rc == 0)
		rc = sotto__kt_log_device(kt, db, account, device_id, SOTTO_KT_EVENT_KEY_CHANGE,
			now_ms);
	return rc;
}

/* ---- the store operations ---- */

static int rd_head(sqlite3 *db, void *arg)
{
	return sotto__kt_read_head(db, arg);
}

int sotto__kt_op_head(void *be, sotto_kt_signed_head *out)
{
#ifdef SOTTO_KT_EVIL /* test-only: fork, replay */
	int erc;
	if (sotto__evil_op_head(be, out, &erc))
		return erc;
#endif
	if (out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sotto__store_sqlite_read(be, rd_head, out);
}

/* The tree a request is answered against: size 0 means the latest signed
 * head (which is also returned); an explicit size must not exceed it, so
 * the server never proves against a tree it has not signed. */
static int target_tree(sqlite3 *db, uint64_t *size, sotto_kt_signed_head *head)
{
	sotto_kt_signed_head latest;
	int rc = sotto__kt_read_head(db, &latest);

	if (rc != 0)
		return rc;
	if (*size == 0) {
		*size = latest.head.size;
		if (head != NULL)
			*head = latest;
		return 0;
	}
	if (*size > latest.head.size)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (head != NULL) {
		memset(head, 0, sizeof *head);
		head->head = latest.head;
		head->head.size = *size;
		head->head.timestamp_ms = 0;
		rc = sotto__kt_read_root(db, *size, head->head.root);
	}
	return rc;
}

struct devproofs_arg {
	const uint8_t *account;
	const uint32_t *ids;
	size_t n;
	uint64_t size;
	sotto_kt_signed_head *head;
	sotto_store_kt_proof *out;
};

static int rd_devproofs(sqlite3 *db, void *p)
{
	struct devproofs_arg *a = p;
	int rc = target_tree(db, &a->size, a->head);

	for (size_t i = 0; rc == 0 && i < a->n; i++) {
		sotto_store_kt_proof *o = &a->out[i];

		memset(o, 0, sizeof *o);
		o->size = a->size;
		rc = sotto__kt_read_device_leaf(db, a->account, a->ids[i], a->size, &o->index,
			o->leaf);
		if (rc == SOTTO_ERR_NOT_FOUND) {
			o->index = UINT64_MAX; /* no leaf: the client must refuse this device */
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = sotto__kt_read_inclusion(db, o->index, a->size, o->proof,
				sizeof o->proof / SOTTO_KT_HASH_BYTES, &o->count);
	}
	return rc;
}

int sotto__kt_op_device_proofs(void *be, const uint8_t account_id[16], const uint32_t *device_ids,
	size_t n, uint64_t size, sotto_kt_signed_head *head, sotto_store_kt_proof *out)
{
	struct devproofs_arg a = { account_id, device_ids, n, size, head, out };

#ifdef SOTTO_KT_EVIL /* test-only: fork, replay */
	int erc;
	if (sotto__evil_op_device_proofs(be, account_id, device_ids, n, size, head, out, &erc))
		return erc;
#endif
	if (account_id == NULL || head == NULL || (n > 0 && (device_ids == NULL || out == NULL)) ||
		n > 127)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sotto__store_sqlite_read(be, rd_devproofs, &a);
}

struct index_arg {
	uint64_t index, size;
	sotto_store_kt_proof *out;
};

static int rd_index(sqlite3 *db, void *p)
{
	struct index_arg *a = p;
	sotto_store_kt_proof *o = a->out;
	sqlite3_stmt *st;
	sqlite3_int64 idx;
	int rc = target_tree(db, &a->size, NULL);

	if (rc != 0)
		return rc;
	if (a->index >= a->size)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(o, 0, sizeof *o);
	o->index = a->index;
	o->size = a->size;
	idx = (sqlite3_int64)a->index;
	rc = query(db, "SELECT leaf FROM kt_leaves WHERE idx = ?1", &st, 1, &idx);
	if (rc != 1)
		return rc < 0 ? rc : SOTTO_ERR_STORAGE;
	if (sqlite3_column_bytes(st, 0) == SOTTO_KT_LEAF_BYTES)
		memcpy(o->leaf, sqlite3_column_blob(st, 0), SOTTO_KT_LEAF_BYTES);
	else
		rc = SOTTO_ERR_STORAGE;
	sqlite3_finalize(st);
	if (rc == 1)
		rc = sotto__kt_read_inclusion(db, a->index, a->size, o->proof,
			sizeof o->proof / SOTTO_KT_HASH_BYTES, &o->count);
	return rc;
}

int sotto__kt_op_index_proof(void *be, uint64_t index, uint64_t size, sotto_store_kt_proof *out)
{
	struct index_arg a = { index, size, out };

#ifdef SOTTO_KT_EVIL /* test-only: fork, replay */
	int erc;
	if (sotto__evil_op_index_proof(be, index, size, out, &erc))
		return erc;
#endif
	if (out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sotto__store_sqlite_read(be, rd_index, &a);
}

struct cons_arg {
	uint64_t size1, size2;
	uint8_t *proof;
	size_t *count;
};

static int rd_cons(sqlite3 *db, void *p)
{
	struct cons_arg *a = p;
	int rc = target_tree(db, &a->size2, NULL);

	if (rc != 0)
		return rc;
	if (a->size1 > a->size2)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sotto__kt_read_consistency(db, a->size1, a->size2, a->proof,
		SOTTO_KT_MAX_PROOF_HASHES, a->count);
}

int sotto__kt_op_consistency(void *be, uint64_t size1, uint64_t size2, uint8_t *proof,
	size_t *count)
{
	struct cons_arg a = { size1, size2, proof, count };

#ifdef SOTTO_KT_EVIL /* test-only: fork, replay */
	int erc;
	if (sotto__evil_op_consistency(be, size1, size2, proof, count, &erc))
		return erc;
#endif
	if (proof == NULL || count == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sotto__store_sqlite_read(be, rd_cons, &a);
}

struct leaves_arg {
	uint64_t start;
	size_t max;
	uint8_t *out;
	size_t *count;
};

static int rd_leaves(sqlite3 *db, void *p)
{
	struct leaves_arg *a = p;
	uint64_t size = 0;
	size_t max = a->max;
	int rc = target_tree(db, &size, NULL);

	/* Only leaves covered by the signed head: an auditor recomputes it. */
	if (rc == SOTTO_ERR_NOT_FOUND) {
		*a->count = 0;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (a->start >= size) {
		*a->count = 0;
		return 0;
	}
	if (max > size - a->start)
		max = (size_t)(size - a->start);
	return sotto__kt_read_leaves(db, a->start, max, a->out, a->count);
}

int sotto__kt_op_leaves(void *be, uint64_t start, size_t max, uint8_t *leaves, size_t *count)
{
	struct leaves_arg a = { start, max, leaves, count };

#ifdef SOTTO_KT_EVIL /* test-only: fork, replay */
	int erc;
	if (sotto__evil_op_leaves(be, start, max, leaves, count, &erc))
		return erc;
#endif
	if (leaves == NULL || count == NULL || max == 0 || max > SOTTO_STORE_KT_MAX_LEAVES)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sotto__store_sqlite_read(be, rd_leaves, &a);
}
