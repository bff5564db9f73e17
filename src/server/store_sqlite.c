/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The SQLite store backend (see store.h for the contract).
 *
 * Connections: one writer connection owned by a dedicated writer thread, and
 * a pool of reader connections (each used by one caller at a time, so there
 * are as many as there are concurrent readers, i.e. worker threads). WAL
 * mode lets the readers run while the writer commits.
 *
 * Durability: journal_mode=WAL with synchronous=FULL, so every COMMIT
 * fsyncs the WAL before it returns; a request is completed (its caller
 * woken or its callback run) only after the COMMIT holding it returned
 * SQLITE_OK. NORMAL would only sync at checkpoints and could lose the last
 * acknowledged sends on power loss, which the protocol forbids (DESIGN.md
 * §2 step 4).
 *
 * Group commit: callers queue write requests; the writer takes up to
 * batch_max of them (everything that queued while the previous fsync ran)
 * and runs them in one transaction, each inside its own SAVEPOINT. A
 * request that fails for its own reasons (unknown device, full queue,
 * duplicate key) is rolled back to its savepoint and gets its error while
 * the others commit. If the batch hits a storage error (full disk, I/O
 * error) the whole transaction is rolled back and every request in it is
 * re-run alone in its own transaction, so one oversized request cannot fail
 * the others and each gets its own result. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "server/store.h"
#include "server/kt_sqlite.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"

#define DEFAULT_MAX_ENVELOPE (256u * 1024u)
#define HARD_MAX_ENVELOPE (64u * 1024u * 1024u)
#define DEFAULT_MAX_QUEUE 10000u
#define DEFAULT_BATCH_MAX 256u
#define DEFAULT_MAX_READERS 16u
#define DEFAULT_BUSY_MS 5000
#define MAX_PATH_LEN 4096

/* ---- schema ---------------------------------------------------------- */

/* Migration N takes the schema from version N-1 to N. Append only: a
 * released migration is never edited. Version 2 is the public name
 * directory; the key transparency log (append-only leaves: index, leaf
 * bytes, timestamp; and stored subtree hashes) takes the next version. */
static const char *const migrations[] = {
	/* 1: accounts, devices, prekeys, invites, queues, attachments. */
	"CREATE TABLE accounts ("
	" id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
	" created_ms INTEGER NOT NULL,"
	" reg_mode INTEGER NOT NULL"
	") WITHOUT ROWID;"
	/* Unlinked devices keep their row (noise_key NULL, unlinked_ms set)
	 * until the id is reused. next_seq never goes back, so a sequence
	 * number is never handed out twice for the same row. */
	"CREATE TABLE devices ("
	" pk INTEGER PRIMARY KEY,"
	" account_id BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" device_id INTEGER NOT NULL CHECK (device_id BETWEEN 1 AND 127),"
	" registration_id INTEGER NOT NULL,"
	" noise_key BLOB UNIQUE,"
	" identity_key BLOB NOT NULL,"
	" name BLOB NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" last_seen_ms INTEGER NOT NULL,"
	" unlinked_ms INTEGER,"
	" next_seq INTEGER NOT NULL DEFAULT 1,"
	" queue_len INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (account_id, device_id)"
	");"
	"CREATE TABLE ec_prekeys ("
	" dev INTEGER NOT NULL REFERENCES devices(pk) ON DELETE CASCADE,"
	" key_id INTEGER NOT NULL,"
	" pub BLOB NOT NULL,"
	" PRIMARY KEY (dev, key_id)"
	") WITHOUT ROWID;"
	"CREATE TABLE signed_prekeys ("
	" dev INTEGER PRIMARY KEY REFERENCES devices(pk) ON DELETE CASCADE,"
	" key_id INTEGER NOT NULL, pub BLOB NOT NULL, sig BLOB NOT NULL);"
	/* KEM keys are 1.6 KB: rowid tables, since WITHOUT ROWID suits small rows. */
	"CREATE TABLE kem_prekeys ("
	" dev INTEGER NOT NULL REFERENCES devices(pk) ON DELETE CASCADE,"
	" key_id INTEGER NOT NULL, pub BLOB NOT NULL, sig BLOB NOT NULL,"
	" UNIQUE (dev, key_id));"
	"CREATE TABLE kem_last_resort ("
	" dev INTEGER PRIMARY KEY REFERENCES devices(pk) ON DELETE CASCADE,"
	" key_id INTEGER NOT NULL, pub BLOB NOT NULL, sig BLOB NOT NULL);"
	"CREATE TABLE invites ("
	" hash BLOB PRIMARY KEY NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" used_ms INTEGER"
	") WITHOUT ROWID;"
	"CREATE TABLE envelopes ("
	" dev INTEGER NOT NULL REFERENCES devices(pk) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" server_ms INTEGER NOT NULL,"
	" sender_account BLOB,"
	" sender_device INTEGER,"
	" type INTEGER NOT NULL,"
	" content BLOB NOT NULL,"
	" PRIMARY KEY (dev, seq));"
	"CREATE TABLE attachments ("
	" id BLOB PRIMARY KEY NOT NULL,"
	" size INTEGER NOT NULL,"
	" digest BLOB NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" complete INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;",
	/* 2: the public name directory (one name per account). */
	"CREATE TABLE names ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" account_id BLOB NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,"
	" claimed_ms INTEGER NOT NULL"
	") WITHOUT ROWID;",
	/* 3: the key transparency log (server/kt_sqlite.h). */
	SOTTO__KT_MIGRATION,
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int sotto_store_sqlite_schema_version(void)
{
	return SCHEMA_VERSION;
}

/* ---- cached statements ----------------------------------------------- */

#define DEV_COLS                                                                              \
	"account_id, device_id, registration_id, noise_key, identity_key, name, created_ms, " \
	"last_seen_ms, unlinked_ms"

enum stmt_id {
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_ACCOUNT_INSERT,
	ST_ACCOUNT_GET,
	ST_DEVICE_INSERT,
	ST_DEVICE_IDS,
	ST_DEVICE_DELETE_UNLINKED,
	ST_DEVICE_PK,
	ST_DEVICE_UNLINK,
	ST_DEVICE_TOUCH,
	ST_DEVICE_BY_NOISE,
	ST_DEVICE_LIST,
	ST_DEVICE_REGS,
	ST_EC_DELETE_ALL,
	ST_KEM_DELETE_ALL,
	ST_SIGNED_DELETE,
	ST_LR_DELETE,
	ST_ENV_DELETE_ALL,
	ST_EC_INSERT,
	ST_KEM_INSERT,
	ST_SIGNED_UPSERT,
	ST_LR_UPSERT,
	ST_COUNT_EC,
	ST_COUNT_KEM,
	ST_COUNT_SIGNED,
	ST_COUNT_LR,
	ST_BUNDLE_DEVICES,
	ST_SIGNED_GET,
	ST_EC_FIRST,
	ST_EC_DELETE,
	ST_KEM_FIRST,
	ST_KEM_DELETE,
	ST_LR_GET,
	ST_DEST,
	ST_DEST_BUMP,
	ST_ENV_INSERT,
	ST_QUEUE_FETCH,
	ST_ENV_DELETE,
	ST_QLEN_SUB,
	ST_QLEN_GET,
	ST_INVITE_INSERT,
	ST_INVITE_USE,
	ST_ATT_INSERT,
	ST_ATT_COMPLETE,
	ST_ATT_DELETE,
	ST_ATT_GET,
	ST_NAME_OWNER,
	ST_NAME_LIVE,
	ST_NAME_DELETE,
	ST_NAME_INSERT,
	ST_NAME_OF,
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT req",
	[ST_RELEASE] = "RELEASE req",
	[ST_ROLLBACK_TO] = "ROLLBACK TO req",
	[ST_ACCOUNT_INSERT] = "INSERT INTO accounts (id, created_ms, reg_mode) VALUES (?1, ?2, ?3)",
	[ST_ACCOUNT_GET] = "SELECT created_ms, reg_mode FROM accounts WHERE id = ?1",
	[ST_DEVICE_INSERT] = "INSERT INTO devices (account_id, device_id, registration_id, "
			     "noise_key, identity_key, name, created_ms, last_seen_ms) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
	[ST_DEVICE_IDS] = "SELECT device_id FROM devices WHERE account_id = ?1 "
			  "AND unlinked_ms IS NULL ORDER BY device_id",
	[ST_DEVICE_DELETE_UNLINKED] = "DELETE FROM devices WHERE account_id = ?1 AND "
				      "device_id = ?2 AND unlinked_ms IS NOT NULL",
	[ST_DEVICE_PK] = "SELECT pk FROM devices WHERE account_id = ?1 AND device_id = ?2 "
			 "AND unlinked_ms IS NULL",
	[ST_DEVICE_UNLINK] = "UPDATE devices SET unlinked_ms = ?2, noise_key = NULL, "
			     "queue_len = 0 WHERE pk = ?1",
	[ST_DEVICE_TOUCH] = "UPDATE devices SET last_seen_ms = ?2 WHERE pk = ?1",
	[ST_DEVICE_BY_NOISE] = "SELECT " DEV_COLS " FROM devices WHERE noise_key = ?1",
	[ST_DEVICE_LIST] = "SELECT " DEV_COLS " FROM devices WHERE account_id = ?1 "
			   "AND (?2 OR unlinked_ms IS NULL) ORDER BY device_id",
	[ST_DEVICE_REGS] = "SELECT device_id, registration_id FROM devices WHERE account_id = ?1 "
			   "AND unlinked_ms IS NULL ORDER BY device_id",
	[ST_EC_DELETE_ALL] = "DELETE FROM ec_prekeys WHERE dev = ?1",
	[ST_KEM_DELETE_ALL] = "DELETE FROM kem_prekeys WHERE dev = ?1",
	[ST_SIGNED_DELETE] = "DELETE FROM signed_prekeys WHERE dev = ?1",
	[ST_LR_DELETE] = "DELETE FROM kem_last_resort WHERE dev = ?1",
	[ST_ENV_DELETE_ALL] = "DELETE FROM envelopes WHERE dev = ?1",
	[ST_EC_INSERT] = "INSERT INTO ec_prekeys (dev, key_id, pub) VALUES (?1, ?2, ?3)",
	[ST_KEM_INSERT] = "INSERT INTO kem_prekeys (dev, key_id, pub, sig) VALUES (?1, ?2, ?3, ?4)",
	[ST_SIGNED_UPSERT] = "INSERT OR REPLACE INTO signed_prekeys (dev, key_id, pub, sig) "
			     "VALUES (?1, ?2, ?3, ?4)",
	[ST_LR_UPSERT] = "INSERT OR REPLACE INTO kem_last_resort (dev, key_id, pub, sig) "
			 "VALUES (?1, ?2, ?3, ?4)",
	[ST_COUNT_EC] = "SELECT count(*) FROM ec_prekeys WHERE dev = ?1",
	[ST_COUNT_KEM] = "SELECT count(*) FROM kem_prekeys WHERE dev = ?1",
	[ST_COUNT_SIGNED] = "SELECT count(*) FROM signed_prekeys WHERE dev = ?1",
	[ST_COUNT_LR] = "SELECT count(*) FROM kem_last_resort WHERE dev = ?1",
	[ST_BUNDLE_DEVICES] = "SELECT pk, device_id, registration_id, identity_key FROM devices "
			      "WHERE account_id = ?1 AND unlinked_ms IS NULL "
			      "AND (?2 = 0 OR device_id = ?2) ORDER BY device_id",
	[ST_SIGNED_GET] = "SELECT key_id, pub, sig FROM signed_prekeys WHERE dev = ?1",
	[ST_EC_FIRST] = "SELECT key_id, pub FROM ec_prekeys WHERE dev = ?1 ORDER BY key_id LIMIT 1",
	[ST_EC_DELETE] = "DELETE FROM ec_prekeys WHERE dev = ?1 AND key_id = ?2",
	[ST_KEM_FIRST] = "SELECT key_id, pub, sig FROM kem_prekeys WHERE dev = ?1 "
			 "ORDER BY key_id LIMIT 1",
	[ST_KEM_DELETE] = "DELETE FROM kem_prekeys WHERE dev = ?1 AND key_id = ?2",
	[ST_LR_GET] = "SELECT key_id, pub, sig FROM kem_last_resort WHERE dev = ?1",
	[ST_DEST] = "SELECT pk, next_seq, queue_len FROM devices WHERE account_id = ?1 "
		    "AND device_id = ?2 AND unlinked_ms IS NULL",
	[ST_DEST_BUMP] = "UPDATE devices SET next_seq = next_seq + 1, queue_len = queue_len + 1 "
			 "WHERE pk = ?1",
	[ST_ENV_INSERT] = "INSERT INTO envelopes (dev, seq, server_ms, sender_account, "
			  "sender_device, type, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_QUEUE_FETCH] = "SELECT seq, server_ms, sender_account, sender_device, type, content "
			   "FROM envelopes WHERE dev = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3",
	[ST_ENV_DELETE] = "DELETE FROM envelopes WHERE dev = ?1 AND seq = ?2",
	[ST_QLEN_SUB] = "UPDATE devices SET queue_len = queue_len - ?2 WHERE pk = ?1",
	[ST_QLEN_GET] = "SELECT queue_len FROM devices WHERE pk = ?1",
	[ST_INVITE_INSERT] = "INSERT INTO invites (hash, created_ms, expires_ms) "
			     "VALUES (?1, ?2, ?3)",
	[ST_INVITE_USE] = "UPDATE invites SET used_ms = ?2 WHERE hash = ?1 AND used_ms IS NULL "
			  "AND expires_ms > ?2",
	[ST_ATT_INSERT] = "INSERT INTO attachments (id, size, digest, created_ms) "
			  "VALUES (?1, ?2, ?3, ?4)",
	[ST_ATT_COMPLETE] = "UPDATE attachments SET complete = 1 WHERE id = ?1",
	[ST_ATT_DELETE] = "DELETE FROM attachments WHERE id = ?1",
	[ST_ATT_GET] = "SELECT size, digest, created_ms, complete FROM attachments WHERE id = ?1",
	[ST_NAME_OWNER] = "SELECT account_id FROM names WHERE name = ?1",
	[ST_NAME_LIVE] = "SELECT count(*) FROM devices WHERE account_id = ?1 AND unlinked_ms IS NULL",
	[ST_NAME_DELETE] = "DELETE FROM names WHERE name = ?1",
	[ST_NAME_INSERT] = "INSERT INTO names (name, account_id, claimed_ms) VALUES (?1, ?2, ?3)",
	[ST_NAME_OF] = "SELECT name FROM names WHERE account_id = ?1",
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	struct conn *next; /* reader pool free list */
};

/* ---- write requests --------------------------------------------------- */

struct sqlstore;
struct wreq;
typedef int (*wrun_fn)(struct sqlstore *s, struct conn *c, struct wreq *r);

struct wreq {
	struct wreq *next;
	wrun_fn run;
	int rc;
	int done;
	pthread_cond_t *cond; /* blocking caller; NULL with a callback */
	sotto_store_cb cb;
	union {
		struct {
			const uint8_t *invite;
			size_t invite_len;
			const sotto_store_new_device *dev;
			int64_t now;
			uint8_t *account_id;
			const char *name; /* NULL: no name */
		} acreate;
		struct {
			const uint8_t *account_id;
			const sotto_store_new_device *dev;
			int64_t now;
			uint32_t *device_id;
		} dadd;
		struct {
			const uint8_t *account_id;
			uint32_t device_id;
			int64_t now;
		} dev;
		struct {
			const uint8_t *account_id;
			uint32_t device_id;
			const sotto_store_prekeys *pk;
		} upload;
		struct {
			const uint8_t *account_id;
			uint32_t device_id;
			sotto_store_bundle *out;
			size_t cap;
			size_t *count;
		} bundles;
		struct {
			const sotto_store_envelope_in *envs;
			size_t n;
			int64_t now;
			uint64_t *seqs;
		} enq;
		struct {
			const uint8_t *account_id;
			uint32_t device_id;
			const uint64_t *seqs;
			size_t n;
			size_t *deleted;
		} ack;
		struct {
			int64_t now;
			int64_t expires;
			uint8_t *code;
		} icreate;
		struct {
			const uint8_t *code;
			int64_t now;
		} iconsume;
		struct {
			uint64_t size;
			const uint8_t *digest;
			int64_t now;
			uint8_t *id;
		} acreat;
		struct {
			const uint8_t *id;
		} att;
		struct {
			const uint8_t *account_id;
			uint32_t device_id;
			const uint8_t *key;
			int64_t now;
		} ktkey;
	} a;
};

struct sqlstore {
	sotto_store pub; /* first: the handle callers hold */
	char *db_path;
	char *data_dir;
	size_t max_envelope;
	uint32_t max_queue;
	unsigned batch_max;
	unsigned batch_wait_us;
	unsigned max_readers;
	int busy_ms;
	uint32_t max_page_count;
	sotto_store_log_fn log;
	void *log_arg;

	/* Writer queue. */
	pthread_mutex_t qmu;
	pthread_cond_t qcond;
	struct wreq *head, *tail;
	size_t queued;
	int stopping;
	pthread_t writer;
	int writer_started;
	struct conn *wconn;
	sotto_store_stats stats; /* under qmu */

	/* Reader pool. */
	pthread_mutex_t rmu;
	pthread_cond_t rcond;
	struct conn *rfree;
	unsigned nreaders;

	struct sotto__kt_log *kt; /* key transparency appends: writer thread only */
};

__attribute__((format(printf, 3, 4))) static void slog(struct sqlstore *s, int level,
	const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (s->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	s->log(s->log_arg, level, msg);
}

/* Maps an SQLite result onto a store error. Constraint failures are the
 * only ones that depend on the data: a UNIQUE or PRIMARY KEY clash means
 * the thing exists, a foreign key means its parent does not. */
static int map_rc(struct sqlstore *s, struct conn *c, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE: return 0;
	case SQLITE_NOMEM: return SOTTO_ERR_NOMEM;
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY: return SOTTO_ERR_EXISTS;
		case SQLITE_CONSTRAINT_FOREIGNKEY: return SOTTO_ERR_NOT_FOUND;
		default: return SOTTO_ERR_INVALID_ARGUMENT;
		}
	default:
		slog(s, 0, "sqlite error %d: %s", rc, c != NULL ? sqlite3_errmsg(c->db) : "");
		return SOTTO_ERR_STORAGE;
	}
}

static int is_storage_error(int rc)
{
	return rc == SOTTO_ERR_STORAGE || rc == SOTTO_ERR_NOMEM;
}

/* Returns the connection's cached statement, reset and with no bindings. */
static int stmt(struct sqlstore *s, struct conn *c, enum stmt_id id, sqlite3_stmt **out)
{
	if (c->st[id] == NULL) {
		int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
			&c->st[id], NULL);
		if (rc != SQLITE_OK) {
			c->st[id] = NULL;
			return map_rc(s, c, rc);
		}
	}
	sqlite3_reset(c->st[id]);
	sqlite3_clear_bindings(c->st[id]);
	*out = c->st[id];
	return 0;
}

/* Steps a statement that returns no rows (or whose rows are ignored) to
 * completion and resets it. */
static int run_stmt(struct sqlstore *s, struct conn *c, sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	rc = rc == SQLITE_DONE ? 0 : map_rc(s, c, sqlite3_extended_errcode(c->db));
	sqlite3_reset(st);
	return rc;
}

static int exec_id(struct sqlstore *s, struct conn *c, enum stmt_id id)
{
	sqlite3_stmt *st;
	int rc = stmt(s, c, id, &st);

	return rc != 0 ? rc : run_stmt(s, c, st);
}

/* A single-row query: 1 with the row (statement left on it; the caller
 * resets), 0 with no row (already reset), or a negative error. */
static int step_row(struct sqlstore *s, struct conn *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	rc = rc == SQLITE_DONE ? 0 : map_rc(s, c, sqlite3_extended_errcode(c->db));
	sqlite3_reset(st);
	return rc;
}

static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	/* Static: the bytes are read during the step that follows, while the
	 * caller's buffer is alive. A zero-length blob is bound as "" (not NULL). */
	if (n > (size_t)HARD_MAX_ENVELOPE)
		return SQLITE_TOOBIG;
	return sqlite3_bind_blob(st, i, n == 0 ? "" : p, (int)n, SQLITE_STATIC);
}

/* Checks the OR of several bind results. Inputs are validated before they
 * get here, so a failure is out of memory or a bug. */
static int binds_ok(struct sqlstore *s, struct conn *c, int rc)
{
	(void)c;
	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_NOMEM)
		return SOTTO_ERR_NOMEM;
	slog(s, 0, "sqlite bind failed (%d)", rc);
	return SOTTO_ERR_INTERNAL;
}

/* The cached statement id with blob p (n bytes) bound as its first parameter, as in most
 * lookups by a key. */
static int stmt_blob(struct sqlstore *s, struct conn *c, enum stmt_id id, const void *p, size_t n,
	sqlite3_stmt **out)
{
	int rc = stmt(s, c, id, out);

	if (rc == 0)
		rc = binds_ok(s, c, bind_blob(*out, 1, p, n));
	return rc;
}

/* Copies a blob column that must be exactly n bytes (anything else means
 * the file was altered behind our back). */
static int col_fixed(struct sqlstore *s, sqlite3_stmt *st, int i, uint8_t *dst, size_t n)
{
	const void *p = sqlite3_column_blob(st, i);
	int len = sqlite3_column_bytes(st, i);

	if (len < 0 || (size_t)len != n || (p == NULL && n != 0)) {
		slog(s, 0, "corrupt row: column %d has %d bytes, expected %zu", i, len, n);
		return SOTTO_ERR_STORAGE;
	}
	memcpy(dst, p, n);
	return 0;
}

static uint32_t col_u32(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	return v < 0 || v > UINT32_MAX ? 0 : (uint32_t)v;
}

/* ---- connections ------------------------------------------------------ */

static void conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

static int exec_sql(struct sqlstore *s, struct conn *c, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		slog(s, 0, "sqlite: %s", err != NULL ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return map_rc(s, NULL, sqlite3_extended_errcode(c->db));
	}
	return 0;
}

static int conn_open(struct sqlstore *s, int writer, struct conn **out)
{
	struct conn *c = calloc(1, sizeof *c);
	char sql[128];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		(writer ? SQLITE_OPEN_CREATE : 0);
	int rc;

	if (c == NULL)
		return SOTTO_ERR_NOMEM;
	rc = sqlite3_open_v2(s->db_path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		slog(s, 0, "cannot open the database: %s",
			c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		conn_close(c);
		return rc == SQLITE_NOMEM ? SOTTO_ERR_NOMEM : SOTTO_ERR_STORAGE;
	}
	sqlite3_extended_result_codes(c->db, 1);
	snprintf(sql, sizeof sql,
		"PRAGMA busy_timeout = %d; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
		" PRAGMA trusted_schema = OFF;",
		s->busy_ms);
	rc = exec_sql(s, c, sql);
	if (rc == 0 && writer && s->max_page_count != 0) {
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lu;",
			(unsigned long)s->max_page_count);
		rc = exec_sql(s, c, sql);
	}
	if (rc == 0 && !writer)
		rc = exec_sql(s, c, "PRAGMA query_only = ON;");
	if (rc != 0) {
		conn_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

static int reader_get(struct sqlstore *s, struct conn **out)
{
	struct conn *c;
	int rc;

	pthread_mutex_lock(&s->rmu);
	while (s->rfree == NULL && s->nreaders >= s->max_readers)
		pthread_cond_wait(&s->rcond, &s->rmu);
	if (s->rfree != NULL) {
		c = s->rfree;
		s->rfree = c->next;
		pthread_mutex_unlock(&s->rmu);
		*out = c;
		return 0;
	}
	s->nreaders++;
	pthread_mutex_unlock(&s->rmu);
	rc = conn_open(s, 0, &c);
	if (rc != 0) {
		pthread_mutex_lock(&s->rmu);
		s->nreaders--;
		pthread_cond_signal(&s->rcond);
		pthread_mutex_unlock(&s->rmu);
		return rc;
	}
	*out = c;
	return 0;
}

static void reader_put(struct sqlstore *s, struct conn *c)
{
	/* Never hand back a connection inside a read transaction: it would
	 * pin an old WAL snapshot and block checkpoints. */
	sqlite3_stmt *busy = NULL;

	while ((busy = sqlite3_next_stmt(c->db, busy)) != NULL)
		if (sqlite3_stmt_busy(busy))
			sqlite3_reset(busy);
	if (!sqlite3_get_autocommit(c->db))
		(void)exec_id(s, c, ST_ROLLBACK);
	pthread_mutex_lock(&s->rmu);
	c->next = s->rfree;
	s->rfree = c;
	pthread_cond_signal(&s->rcond);
	pthread_mutex_unlock(&s->rmu);
}

/* ---- migrations ------------------------------------------------------- */

static int migrate(struct sqlstore *s, struct conn *c, char *errbuf, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	int version = 0, rc;

	rc = exec_sql(s, c, "BEGIN IMMEDIATE;");
	if (rc != 0)
		return rc;
	rc = exec_sql(s, c,
		"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
	if (rc != 0)
		goto fail;
	if (sqlite3_prepare_v2(c->db, "SELECT max(version) FROM schema_version", -1, &st, NULL) !=
		SQLITE_OK) {
		rc = map_rc(s, c, sqlite3_extended_errcode(c->db));
		goto fail;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		version = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE) {
		rc = map_rc(s, c, sqlite3_extended_errcode(c->db));
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (version > SCHEMA_VERSION || version < 0) {
		if (errbuf != NULL)
			snprintf(errbuf, errcap,
				"database schema version %d is newer than this sottod supports "
				"(%d); refusing to open it",
				version, SCHEMA_VERSION);
		slog(s, 0, "database schema version %d is newer than supported (%d)", version,
			SCHEMA_VERSION);
		rc = SOTTO_ERR_VERSION_MISMATCH;
		goto fail;
	}
	for (int v = version + 1; v <= SCHEMA_VERSION; v++) {
		char sql[96];

		rc = exec_sql(s, c, migrations[v - 1]);
		if (rc != 0)
			goto fail;
		snprintf(sql, sizeof sql, "DELETE FROM schema_version; "
					  "INSERT INTO schema_version VALUES (%d);", v);
		rc = exec_sql(s, c, sql);
		if (rc != 0)
			goto fail;
		slog(s, 2, "database schema migrated to version %d", v);
	}
	rc = exec_sql(s, c, "COMMIT;");
	if (rc != 0)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(c->db))
		(void)exec_sql(s, c, "ROLLBACK;");
	if (errbuf != NULL && errbuf[0] == '\0')
		snprintf(errbuf, errcap, "schema migration failed: %s", sotto_strerror(rc));
	return rc;
}

/* ---- the writer ------------------------------------------------------- */

static void complete(struct sqlstore *s, struct wreq *r)
{
	if (r->cond != NULL) {
		pthread_mutex_lock(&s->qmu);
		s->stats.requests++;
		r->done = 1;
		/* The waiter frees r (its stack) once it sees done: no access
		 * to r after the unlock. */
		pthread_cond_signal(r->cond);
		pthread_mutex_unlock(&s->qmu);
	} else {
		pthread_mutex_lock(&s->qmu);
		s->stats.requests++;
		pthread_mutex_unlock(&s->qmu);
		r->cb.fn(r->cb.arg, r->rc);
		free(r);
	}
}

static void count_commit(struct sqlstore *s, uint64_t retried)
{
	pthread_mutex_lock(&s->qmu);
	s->stats.commits++;
	s->stats.retried += retried;
	pthread_mutex_unlock(&s->qmu);
}

static void rollback_if_open(struct sqlstore *s, struct conn *c)
{
	if (!sqlite3_get_autocommit(c->db) && exec_id(s, c, ST_ROLLBACK) != 0)
		slog(s, 0, "rollback failed");
}

/* One request in its own transaction. */
static void run_alone(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	int rc = exec_id(s, c, ST_BEGIN);

	if (rc == 0)
		rc = r->run(s, c, r);
	if (rc == 0 && !sqlite3_get_autocommit(c->db))
		rc = sotto__kt_log_seal(s->kt, c->db); /* the head commits with its leaves */
	if (rc == 0 && !sqlite3_get_autocommit(c->db)) {
		rc = exec_id(s, c, ST_COMMIT);
		if (rc == 0)
			count_commit(s, 0);
	} else if (rc == 0) {
		rc = SOTTO_ERR_STORAGE; /* SQLite ended the transaction by itself */
	}
	if (rc != 0)
		rollback_if_open(s, c);
	r->rc = rc;
}

static void run_batch(struct sqlstore *s, struct conn *c, struct wreq *list, size_t n)
{
	struct wreq *r;
	int fatal = 0, rc;

	if (n == 1) {
		run_alone(s, c, list);
		complete(s, list);
		return;
	}
	rc = exec_id(s, c, ST_BEGIN);
	if (rc != 0)
		fatal = 1;
	for (r = list; !fatal && r != NULL; r = r->next) {
		if (exec_id(s, c, ST_SAVEPOINT) != 0) {
			fatal = 1;
			break;
		}
		r->rc = r->run(s, c, r);
		if (sqlite3_get_autocommit(c->db) || is_storage_error(r->rc)) {
			fatal = 1;
			break;
		}
		if (r->rc != 0 && exec_id(s, c, ST_ROLLBACK_TO) != 0) {
			fatal = 1;
			break;
		}
		if (exec_id(s, c, ST_RELEASE) != 0)
			fatal = 1;
	}
	if (!fatal && sotto__kt_log_seal(s->kt, c->db) != 0)
		fatal = 1;
	if (!fatal) {
		if (exec_id(s, c, ST_COMMIT) == 0)
			count_commit(s, 0);
		else
			fatal = 1;
	}
	if (fatal) {
		/* Nothing of this batch is committed: run each request alone so
		 * each gets its own verdict. */
		rollback_if_open(s, c);
		slog(s, 1, "group commit of %zu requests failed; retrying them one by one", n);
		for (r = list; r != NULL; r = r->next)
			run_alone(s, c, r);
		pthread_mutex_lock(&s->qmu);
		s->stats.retried += n;
		pthread_mutex_unlock(&s->qmu);
	}
	while (list != NULL) {
		r = list;
		list = r->next;
		complete(s, r);
	}
}

static void *writer_main(void *arg)
{
	struct sqlstore *s = arg;

	pthread_mutex_lock(&s->qmu);
	for (;;) {
		struct wreq *list, *last;
		size_t n;

		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->qcond, &s->qmu);
		if (s->head == NULL)
			break;
		if (s->batch_wait_us != 0 && s->queued < s->batch_max && !s->stopping) {
			/* Trade a little latency for bigger batches: wait until the
			 * batch fills or the deadline passes. */
			struct timespec dl;

			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_nsec += (long)s->batch_wait_us * 1000L;
			dl.tv_sec += dl.tv_nsec / 1000000000L;
			dl.tv_nsec %= 1000000000L;
			while (s->queued < s->batch_max && !s->stopping &&
				pthread_cond_timedwait(&s->qcond, &s->qmu, &dl) == 0)
				;
		}
		list = s->head;
		last = list;
		n = 1;
		while (n < s->batch_max && last->next != NULL) {
			last = last->next;
			n++;
		}
		s->head = last->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->queued -= n;
		last->next = NULL;
		pthread_mutex_unlock(&s->qmu);
		run_batch(s, s->wconn, list, n);
		pthread_mutex_lock(&s->qmu);
	}
	pthread_mutex_unlock(&s->qmu);
	return NULL;
}

/* Queues a request. Blocking (cb == NULL): r lives on the caller's stack
 * and the call returns its result. With a callback: r is copied to the
 * heap and the callback reports the result. */
static int submit(struct sqlstore *s, struct wreq *r, const sotto_store_cb *cb)
{
	pthread_cond_t cond;
	struct wreq *q = r;
	int rc;

	r->next = NULL;
	r->done = 0;
	r->rc = SOTTO_ERR_INTERNAL;
	if (cb != NULL) {
		if (cb->fn == NULL)
			return SOTTO_ERR_INVALID_ARGUMENT;
		q = malloc(sizeof *q);
		if (q == NULL)
			return SOTTO_ERR_NOMEM;
		*q = *r;
		q->cb = *cb;
		q->cond = NULL;
	} else {
		if (pthread_cond_init(&cond, NULL) != 0)
			return SOTTO_ERR_NOMEM;
		r->cond = &cond;
	}
	pthread_mutex_lock(&s->qmu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->qmu);
		if (cb != NULL)
			free(q);
		else
			pthread_cond_destroy(&cond);
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	if (s->tail != NULL)
		s->tail->next = q;
	else
		s->head = q;
	s->tail = q;
	s->queued++;
	if (s->queued == 1 || s->queued >= s->batch_max)
		pthread_cond_signal(&s->qcond);
	if (cb != NULL) {
		pthread_mutex_unlock(&s->qmu);
		return 0;
	}
	while (!r->done)
		pthread_cond_wait(&cond, &s->qmu);
	rc = r->rc;
	pthread_mutex_unlock(&s->qmu);
	pthread_cond_destroy(&cond);
	return rc;
}

/* ---- helpers shared by the operations --------------------------------- */

static int valid_device_id(uint32_t id)
{
	return id >= 1 && id <= SOTTO_STORE_MAX_DEVICE_ID;
}

/* The row key of a linked device; SOTTO_ERR_NOT_FOUND if none. */
static int device_pk(struct sqlstore *s, struct conn *c, const uint8_t *account_id,
	uint32_t device_id, sqlite3_int64 *pk)
{
	sqlite3_stmt *st;
	int rc = stmt(s, c, ST_DEVICE_PK, &st);

	if (rc != 0)
		return rc;
	rc = binds_ok(s, c,
		bind_blob(st, 1, account_id, SOTTO_STORE_ID_BYTES) |
			sqlite3_bind_int64(st, 2, device_id));
	if (rc != 0)
		return rc;
	rc = step_row(s, c, st);
	if (rc <= 0)
		return rc == 0 ? SOTTO_ERR_NOT_FOUND : rc;
	*pk = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* Opens the read snapshot of a per-device query and finds the device's row key in it, so
 * the rows read next belong to the same state as the check. */
static int begin_read_device(struct sqlstore *s, struct conn *c, const uint8_t *account_id,
	uint32_t device_id, sqlite3_int64 *pk)
{
	int rc = exec_id(s, c, ST_BEGIN_READ);

	if (rc == 0)
		rc = device_pk(s, c, account_id, device_id, pk);
	return rc;
}

static int valid_new_device(const sotto_store_new_device *d)
{
	return d != NULL && d->registration_id != 0 && d->name_len <= SOTTO_STORE_MAX_DEVICE_NAME &&
		(d->name != NULL || d->name_len == 0);
}

static int insert_device(struct sqlstore *s, struct conn *c, const uint8_t *account_id,
	uint32_t device_id, const sotto_store_new_device *d, int64_t now)
{
	sqlite3_stmt *st;
	int rc = stmt(s, c, ST_DEVICE_INSERT, &st);

	if (rc != 0)
		return rc;
	rc = binds_ok(s, c,
		bind_blob(st, 1, account_id, SOTTO_STORE_ID_BYTES) |
			sqlite3_bind_int64(st, 2, device_id) |
			sqlite3_bind_int64(st, 3, d->registration_id) |
			bind_blob(st, 4, d->noise_key, SOTTO_STORE_NOISE_KEY_BYTES) |
			bind_blob(st, 5, d->identity_key, SOTTO_STORE_EC_KEY_BYTES) |
			bind_blob(st, 6, d->name, d->name_len) | sqlite3_bind_int64(st, 7, now));
	return rc != 0 ? rc : run_stmt(s, c, st);
}

/* Hashes an invite code for storage: codes are 128-bit random, so a plain
 * SHA-256 is enough to keep a leaked database from yielding usable codes. */
static int invite_hash(const uint8_t *code, uint8_t out[SOTTO_SHA256_BYTES])
{
	static const uint8_t label[] = "sotto invite v1";
	const sotto_iov parts[2] = { { label, sizeof label - 1 },
		{ code, SOTTO_STORE_INVITE_BYTES } };

	return sotto_sha256_v(out, parts, 2) != 0 ? SOTTO_ERR_CRYPTO : 0;
}

static int use_invite(struct sqlstore *s, struct conn *c, const uint8_t *code, int64_t now)
{
	uint8_t h[SOTTO_SHA256_BYTES];
	sqlite3_stmt *st;
	int rc = invite_hash(code, h);

	if (rc == 0)
		rc = stmt(s, c, ST_INVITE_USE, &st);
	if (rc == 0)
		rc = binds_ok(s, c, bind_blob(st, 1, h, sizeof h) | sqlite3_bind_int64(st, 2, now));
	if (rc == 0)
		rc = run_stmt(s, c, st);
	if (rc == 0 && sqlite3_changes(c->db) != 1)
		rc = SOTTO_ERR_NOT_FOUND;
	return rc;
}

/* ---- name directory ---------------------------------------------------- */

static int name_ok(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (n < SOTTO_STORE_NAME_MIN || n > SOTTO_STORE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
			    ch == '.'))
			return 0;
	}
	return 1;
}

/* The owner of name: 1 with *owner set, 0 if nobody holds it, or an error. */
static int name_owner(struct sqlstore *s, struct conn *c, const char *name,
	uint8_t owner[SOTTO_STORE_ID_BYTES])
{
	sqlite3_stmt *st = NULL;
	int rc = stmt(s, c, ST_NAME_OWNER, &st);

	if (rc == 0)
		rc = binds_ok(s, c, sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC));
	if (rc == 0)
		rc = step_row(s, c, st);
	if (rc == 1) {
		rc = col_fixed(s, st, 0, owner, SOTTO_STORE_ID_BYTES);
		sqlite3_reset(st);
		if (rc == 0)
			rc = 1;
	}
	return rc;
}

/* 1 if the account has a linked device, 0 if not, or an error. */
static int account_live(struct sqlstore *s, struct conn *c, const uint8_t *account_id)
{
	sqlite3_stmt *st = NULL;
	int rc = stmt_blob(s, c, ST_NAME_LIVE, account_id, SOTTO_STORE_ID_BYTES, &st);

	if (rc == 0)
		rc = step_row(s, c, st);
	if (rc == 1) {
		rc = sqlite3_column_int64(st, 0) > 0 ? 1 : 0;
		sqlite3_reset(st);
	}
	return rc;
}

/* Gives name to account_id. A name whose account has no linked device left
 * is released first: its owner can no longer use it, and keeping it would
 * lock the name forever. */
static int claim_name(struct sqlstore *s, struct conn *c, const char *name,
	const uint8_t *account_id, int64_t now)
{
	uint8_t owner[SOTTO_STORE_ID_BYTES];
	sqlite3_stmt *st = NULL;
	int rc = name_owner(s, c, name, owner);

	if (rc == 1) {
		rc = account_live(s, c, owner);
		if (rc == 1)
			return SOTTO_ERR_EXISTS;
		if (rc == 0) {
			rc = stmt(s, c, ST_NAME_DELETE, &st);
			if (rc == 0)
				rc = binds_ok(s, c,
					sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC));
			if (rc == 0)
				rc = run_stmt(s, c, st);
		}
	}
	if (rc != 0)
		return rc;
	rc = stmt(s, c, ST_NAME_INSERT, &st);
	if (rc == 0)
		rc = binds_ok(s, c,
			sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) |
				bind_blob(st, 2, account_id, SOTTO_STORE_ID_BYTES) |
				sqlite3_bind_int64(st, 3, now));
	return rc != 0 ? rc : run_stmt(s, c, st);
}

static int op_name_lookup(void *be, const char *name, uint8_t account_id[SOTTO_STORE_ID_BYTES])
{
	struct sqlstore *s = be;
	struct conn *c;
	int rc;

	if (!name_ok(name) || account_id == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	rc = name_owner(s, c, name, account_id);
	if (rc == 1)
		rc = account_live(s, c, account_id);
	if (rc == 0)
		rc = SOTTO_ERR_NOT_FOUND;
	else if (rc == 1)
		rc = 0;
	reader_put(s, c);
	return rc;
}

static int op_name_of(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES], char *name,
	size_t cap)
{
	struct sqlstore *s = be;
	struct conn *c;
	sqlite3_stmt *st = NULL;
	int rc;

	if (account_id == NULL || name == NULL || cap < SOTTO_STORE_NAME_MAX + 1)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	rc = stmt_blob(s, c, ST_NAME_OF, account_id, SOTTO_STORE_ID_BYTES, &st);
	if (rc == 0)
		rc = step_row(s, c, st);
	if (rc == 1) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (t == NULL || n < 0 || (size_t)n >= cap) {
			rc = SOTTO_ERR_STORAGE;
		} else {
			memcpy(name, t, (size_t)n);
			name[n] = '\0';
			rc = 0;
		}
		sqlite3_reset(st);
	} else if (rc == 0) {
		rc = SOTTO_ERR_NOT_FOUND;
	}
	reader_put(s, c);
	return rc;
}

/* ---- accounts and devices --------------------------------------------- */

static int w_account_create(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	uint8_t *id = r->a.acreate.account_id;
	int mode = SOTTO_STORE_REG_OPEN;
	int rc;

	if (r->a.acreate.invite != NULL) {
		/* Any code of another length cannot exist: same answer as unknown. */
		if (r->a.acreate.invite_len != SOTTO_STORE_INVITE_BYTES)
			return SOTTO_ERR_NOT_FOUND;
		rc = use_invite(s, c, r->a.acreate.invite, r->a.acreate.now);
		if (rc != 0)
			return rc;
		mode = SOTTO_STORE_REG_INVITE;
	}
	/* A random (version 4) UUID; a clash is astronomically unlikely, but
	 * retrying costs nothing. */
	for (int tries = 0;; tries++) {
		sqlite3_stmt *st;

		if (sotto_random(id, SOTTO_STORE_ID_BYTES) != 0)
			return SOTTO_ERR_CRYPTO;
		id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
		id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
		rc = stmt(s, c, ST_ACCOUNT_INSERT, &st);
		if (rc == 0)
			rc = binds_ok(s, c,
				bind_blob(st, 1, id, SOTTO_STORE_ID_BYTES) |
					sqlite3_bind_int64(st, 2, r->a.acreate.now) |
					sqlite3_bind_int(st, 3, mode));
		if (rc == 0)
			rc = run_stmt(s, c, st);
		if (rc != SOTTO_ERR_EXISTS || tries == 3)
			break;
	}
	if (rc != 0)
		return rc;
	rc = insert_device(s, c, id, SOTTO_STORE_PRIMARY_DEVICE_ID, r->a.acreate.dev,
		r->a.acreate.now);
	if (rc == 0 && r->a.acreate.name != NULL)
		rc = claim_name(s, c, r->a.acreate.name, id, r->a.acreate.now);
	if (rc == 0)
		rc = sotto__kt_log_device(s->kt, c->db, id, SOTTO_STORE_PRIMARY_DEVICE_ID,
			SOTTO_KT_EVENT_ADD, r->a.acreate.now);
	return rc;
}

static int op_account_create(void *be, const uint8_t *invite, size_t invite_len,
	const sotto_store_new_device *dev, int64_t now_ms, uint8_t account_id[SOTTO_STORE_ID_BYTES],
	const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_account_create };

	if (!valid_new_device(dev) || account_id == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.a.acreate.invite = invite;
	r.a.acreate.invite_len = invite_len;
	r.a.acreate.dev = dev;
	r.a.acreate.now = now_ms;
	r.a.acreate.account_id = account_id;
	return submit(be, &r, cb);
}

static int op_account_create_named(void *be, const uint8_t *invite, size_t invite_len,
	const sotto_store_new_device *dev, const char *name, int64_t now_ms,
	uint8_t account_id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_account_create };

	if (!valid_new_device(dev) || account_id == NULL || !name_ok(name))
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.a.acreate.invite = invite;
	r.a.acreate.invite_len = invite_len;
	r.a.acreate.dev = dev;
	r.a.acreate.now = now_ms;
	r.a.acreate.account_id = account_id;
	r.a.acreate.name = name;
	return submit(be, &r, cb);
}

static int op_account_get(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	sotto_store_account *out)
{
	struct sqlstore *s = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if (account_id == NULL || out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	rc = stmt_blob(s, c, ST_ACCOUNT_GET, account_id, SOTTO_STORE_ID_BYTES, &st);
	if (rc == 0) {
		rc = step_row(s, c, st);
		if (rc == 1) {
			memcpy(out->id, account_id, SOTTO_STORE_ID_BYTES);
			out->created_ms = sqlite3_column_int64(st, 0);
			out->reg_mode = sqlite3_column_int(st, 1);
			sqlite3_reset(st);
			rc = 0;
		} else if (rc == 0) {
			rc = SOTTO_ERR_NOT_FOUND;
		}
	}
	reader_put(s, c);
	return rc;
}

static int w_device_add(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	const uint8_t *acct = r->a.dadd.account_id;
	uint8_t used[SOTTO_STORE_MAX_DEVICE_ID + 1] = { 0 };
	sqlite3_stmt *st;
	uint32_t id = 0;
	int rc, any = 0;

	rc = stmt_blob(s, c, ST_DEVICE_IDS, acct, SOTTO_STORE_ID_BYTES, &st);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 d = sqlite3_column_int64(st, 0);

		if (d >= 1 && d <= SOTTO_STORE_MAX_DEVICE_ID)
			used[d] = 1;
		any = 1;
	}
	rc = rc == SQLITE_DONE ? 0 : map_rc(s, c, sqlite3_extended_errcode(c->db));
	sqlite3_reset(st);
	if (rc != 0)
		return rc;
	if (!any)
		return SOTTO_ERR_NOT_FOUND; /* no account, or an account with no linked device */
	for (uint32_t d = 2; d <= SOTTO_STORE_MAX_DEVICE_ID && id == 0; d++)
		if (!used[d])
			id = d;
	if (id == 0)
		return SOTTO_ERR_LIMIT;
	rc = stmt(s, c, ST_DEVICE_DELETE_UNLINKED, &st);
	if (rc == 0)
		rc = binds_ok(s, c,
			bind_blob(st, 1, acct, SOTTO_STORE_ID_BYTES) |
				sqlite3_bind_int64(st, 2, id));
	if (rc == 0)
		rc = run_stmt(s, c, st);
	if (rc == 0)
		rc = insert_device(s, c, acct, id, r->a.dadd.dev, r->a.dadd.now);
	if (rc == 0)
		rc = sotto__kt_log_device(s->kt, c->db, acct, id, SOTTO_KT_EVENT_ADD, r->a.dadd.now);
	if (rc == 0)
		*r->a.dadd.device_id = id;
	return rc;
}

static int op_device_add(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	const sotto_store_new_device *dev, int64_t now_ms, uint32_t *device_id,
	const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_device_add };

	if (account_id == NULL || !valid_new_device(dev) || device_id == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.a.dadd.account_id = account_id;
	r.a.dadd.dev = dev;
	r.a.dadd.now = now_ms;
	r.a.dadd.device_id = device_id;
	return submit(be, &r, cb);
}

static int dev_exec(struct sqlstore *s, struct conn *c, enum stmt_id id, sqlite3_int64 pk)
{
	sqlite3_stmt *st;
	int rc = stmt(s, c, id, &st);

	if (rc == 0)
		rc = binds_ok(s, c, sqlite3_bind_int64(st, 1, pk));
	return rc != 0 ? rc : run_stmt(s, c, st);
}

static int w_device_remove(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	static const enum stmt_id wipe[] = { ST_EC_DELETE_ALL, ST_KEM_DELETE_ALL,
		ST_SIGNED_DELETE, ST_LR_DELETE, ST_ENV_DELETE_ALL };
	sqlite3_int64 pk;
	sqlite3_stmt *st;
	int rc = device_pk(s, c, r->a.dev.account_id, r->a.dev.device_id, &pk);

	for (size_t i = 0; rc == 0 && i < sizeof wipe / sizeof wipe[0]; i++)
		rc = dev_exec(s, c, wipe[i], pk);
	if (rc == 0)
		rc = stmt(s, c, ST_DEVICE_UNLINK, &st);
	if (rc == 0)
		rc = binds_ok(s, c,
			sqlite3_bind_int64(st, 1, pk) | sqlite3_bind_int64(st, 2, r->a.dev.now));
	if (rc == 0)
		rc = run_stmt(s, c, st);
	if (rc == 0)
		rc = sotto__kt_log_device(s->kt, c->db, r->a.dev.account_id, r->a.dev.device_id,
			SOTTO_KT_EVENT_REMOVE, r->a.dev.now);
	return rc;
}

static int w_device_touch(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	sqlite3_int64 pk;
	sqlite3_stmt *st;
	int rc = device_pk(s, c, r->a.dev.account_id, r->a.dev.device_id, &pk);

	if (rc == 0)
		rc = stmt(s, c, ST_DEVICE_TOUCH, &st);
	if (rc == 0)
		rc = binds_ok(s, c,
			sqlite3_bind_int64(st, 1, pk) | sqlite3_bind_int64(st, 2, r->a.dev.now));
	return rc != 0 ? rc : run_stmt(s, c, st);
}

static int op_device_dev(void *be, wrun_fn run, const uint8_t *account_id, uint32_t device_id,
	int64_t now_ms, const sotto_store_cb *cb)
{
	struct wreq r = { .run = run };

	if (account_id == NULL || !valid_device_id(device_id))
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.a.dev.account_id = account_id;
	r.a.dev.device_id = device_id;
	r.a.dev.now = now_ms;
	return submit(be, &r, cb);
}

static int op_device_remove(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	uint32_t device_id, int64_t now_ms, const sotto_store_cb *cb)
{
	return op_device_dev(be, w_device_remove, account_id, device_id, now_ms, cb);
}

static int op_device_touch(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	uint32_t device_id, int64_t now_ms, const sotto_store_cb *cb)
{
	return op_device_dev(be, w_device_touch, account_id, device_id, now_ms, cb);
}

/* Reads one row of DEV_COLS. */
static int read_device(struct sqlstore *s, sqlite3_stmt *st, sotto_store_device *d)
{
	int len, rc;

	memset(d, 0, sizeof *d);
	rc = col_fixed(s, st, 0, d->account_id, SOTTO_STORE_ID_BYTES);
	if (rc != 0)
		return rc;
	d->device_id = col_u32(st, 1);
	d->registration_id = col_u32(st, 2);
	if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
		rc = col_fixed(s, st, 3, d->noise_key, SOTTO_STORE_NOISE_KEY_BYTES);
		if (rc != 0)
			return rc;
	}
	rc = col_fixed(s, st, 4, d->identity_key, SOTTO_STORE_EC_KEY_BYTES);
	if (rc != 0)
		return rc;
	len = sqlite3_column_bytes(st, 5);
	if (len < 0 || len > SOTTO_STORE_MAX_DEVICE_NAME)
		return SOTTO_ERR_STORAGE;
	if (len > 0) {
		const void *p = sqlite3_column_blob(st, 5);

		if (p == NULL)
			return SOTTO_ERR_NOMEM;
		memcpy(d->name, p, (size_t)len);
	}
	d->name_len = (size_t)len;
	d->created_ms = sqlite3_column_int64(st, 6);
	d->last_seen_ms = sqlite3_column_int64(st, 7);
	d->linked = sqlite3_column_type(st, 8) == SQLITE_NULL;
	d->unlinked_ms = d->linked ? 0 : sqlite3_column_int64(st, 8);
	return 0;
}

static int op_device_by_noise_key(void *be, const uint8_t key[SOTTO_STORE_NOISE_KEY_BYTES],
	sotto_store_device *out)
{
	struct sqlstore *s = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if (key == NULL || out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	rc = stmt_blob(s, c, ST_DEVICE_BY_NOISE, key, SOTTO_STORE_NOISE_KEY_BYTES, &st);
	if (rc == 0) {
		rc = step_row(s, c, st);
		if (rc == 1) {
			rc = read_device(s, st, out);
			sqlite3_reset(st);
		} else if (rc == 0) {
			rc = SOTTO_ERR_NOT_FOUND;
		}
	}
	reader_put(s, c);
	return rc;
}

static int account_exists(struct sqlstore *s, struct conn *c, const uint8_t *account_id)
{
	sqlite3_stmt *st = NULL;
	int rc = stmt_blob(s, c, ST_ACCOUNT_GET, account_id, SOTTO_STORE_ID_BYTES, &st);

	if (rc == 0) {
		rc = step_row(s, c, st);
		if (rc == 1) {
			sqlite3_reset(st);
			rc = 0;
		} else if (rc == 0) {
			rc = SOTTO_ERR_NOT_FOUND;
		}
	}
	return rc;
}

static int op_device_list(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	int include_unlinked, sotto_store_device *out, size_t cap, size_t *count)
{
	struct sqlstore *s = be;
	struct conn *c;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc;

	if (account_id == NULL || count == NULL || (out == NULL && cap != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*count = 0;
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	/* One snapshot for the existence check and the list. */
	rc = exec_id(s, c, ST_BEGIN_READ);
	if (rc == 0)
		rc = account_exists(s, c, account_id);
	if (rc == 0)
		rc = stmt(s, c, ST_DEVICE_LIST, &st);
	if (rc == 0)
		rc = binds_ok(s, c,
			bind_blob(st, 1, account_id, SOTTO_STORE_ID_BYTES) |
				sqlite3_bind_int(st, 2, include_unlinked != 0));
	if (rc == 0) {
		int step;

		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap) {
				rc = SOTTO_ERR_BUFFER_TOO_SMALL;
				break;
			}
			rc = read_device(s, st, &out[n]);
			if (rc != 0)
				break;
			n++;
		}
		if (rc == 0 && step != SQLITE_DONE)
			rc = map_rc(s, c, sqlite3_extended_errcode(c->db));
		sqlite3_reset(st);
	}
	reader_put(s, c);
	if (rc == 0)
		*count = n;
	return rc;
}

static int op_device_regs(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	sotto_store_device_reg *out, size_t cap, size_t *count)
{
	struct sqlstore *s = be;
	struct conn *c;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, step;

	if (account_id == NULL || count == NULL || (out == NULL && cap != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*count = 0;
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	/* One statement, so one snapshot: no explicit transaction. */
	rc = stmt_blob(s, c, ST_DEVICE_REGS, account_id, SOTTO_STORE_ID_BYTES, &st);
	if (rc == 0) {
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap) {
				rc = SOTTO_ERR_BUFFER_TOO_SMALL;
				break;
			}
			out[n].device_id = col_u32(st, 0);
			out[n].registration_id = col_u32(st, 1);
			n++;
		}
		if (rc == 0 && step != SQLITE_DONE)
			rc = map_rc(s, c, sqlite3_extended_errcode(c->db));
		sqlite3_reset(st);
	}
	/* No linked device: tell an unknown account from an emptied one. */
	if (rc == 0 && n == 0)
		rc = account_exists(s, c, account_id);
	reader_put(s, c);
	if (rc == 0)
		*count = n;
	return rc;
}

/* ---- prekeys ---------------------------------------------------------- */

static int insert_key(struct sqlstore *s, struct conn *c, enum stmt_id id, sqlite3_int64 pk,
	uint32_t key_id, const uint8_t *pub, size_t publen, const uint8_t *sig)
{
	sqlite3_stmt *st;
	int rc = stmt(s, c, id, &st);

	if (rc != 0)
		return rc;
	rc = binds_ok(s, c,
		sqlite3_bind_int64(st, 1, pk) | sqlite3_bind_int64(st, 2, key_id) |
			bind_blob(st, 3, pub, publen) |
			(sig != NULL ? bind_blob(st, 4, sig, SOTTO_STORE_SIG_BYTES) : SQLITE_OK));
	if (rc != 0)
		return rc;
	rc = run_stmt(s, c, st);
	/* A clash inside one upload means the client sent the same id twice. */
	return rc == SOTTO_ERR_EXISTS ? SOTTO_ERR_INVALID_ARGUMENT : rc;
}

static int w_prekeys_upload(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	const sotto_store_prekeys *pk = r->a.upload.pk;
	sqlite3_int64 dev;
	int rc = device_pk(s, c, r->a.upload.account_id, r->a.upload.device_id, &dev);

	if (rc == 0 && pk->ec_count > 0) {
		rc = dev_exec(s, c, ST_EC_DELETE_ALL, dev);
		for (size_t i = 0; rc == 0 && i < pk->ec_count; i++)
			rc = insert_key(s, c, ST_EC_INSERT, dev, pk->ec[i].id, pk->ec[i].pub,
				SOTTO_STORE_EC_KEY_BYTES, NULL);
	}
	if (rc == 0 && pk->kem_count > 0) {
		rc = dev_exec(s, c, ST_KEM_DELETE_ALL, dev);
		for (size_t i = 0; rc == 0 && i < pk->kem_count; i++)
			rc = insert_key(s, c, ST_KEM_INSERT, dev, pk->kem[i].id, pk->kem[i].pub,
				SOTTO_STORE_KEM_KEY_BYTES, pk->kem[i].sig);
	}
	if (rc == 0 && pk->signed_prekey != NULL)
		rc = insert_key(s, c, ST_SIGNED_UPSERT, dev, pk->signed_prekey->id,
			pk->signed_prekey->pub, SOTTO_STORE_EC_KEY_BYTES, pk->signed_prekey->sig);
	if (rc == 0 && pk->last_resort != NULL)
		rc = insert_key(s, c, ST_LR_UPSERT, dev, pk->last_resort->id, pk->last_resort->pub,
			SOTTO_STORE_KEM_KEY_BYTES, pk->last_resort->sig);
	return rc;
}

static int op_prekeys_upload(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	uint32_t device_id, const sotto_store_prekeys *pk, const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_prekeys_upload };

	if (account_id == NULL || !valid_device_id(device_id) || pk == NULL ||
		(pk->ec == NULL && pk->ec_count != 0) || (pk->kem == NULL && pk->kem_count != 0) ||
		pk->ec_count > SOTTO_STORE_MAX_PREKEY_UPLOAD ||
		pk->kem_count > SOTTO_STORE_MAX_PREKEY_UPLOAD)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (pk->ec_count == 0 && pk->kem_count == 0 && pk->signed_prekey == NULL &&
		pk->last_resort == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.a.upload.account_id = account_id;
	r.a.upload.device_id = device_id;
	r.a.upload.pk = pk;
	return submit(be, &r, cb);
}

static int count_of(struct sqlstore *s, struct conn *c, enum stmt_id id, sqlite3_int64 pk,
	uint32_t *out)
{
	sqlite3_stmt *st;
	int rc = stmt(s, c, id, &st);

	if (rc == 0)
		rc = binds_ok(s, c, sqlite3_bind_int64(st, 1, pk));
	if (rc != 0)
		return rc;
	rc = step_row(s, c, st);
	if (rc < 0)
		return rc;
	*out = rc == 1 ? col_u32(st, 0) : 0;
	sqlite3_reset(st);
	return 0;
}

static int op_prekeys_count(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	uint32_t device_id, sotto_store_prekey_counts *out)
{
	struct sqlstore *s = be;
	struct conn *c;
	sqlite3_int64 pk;
	uint32_t sig = 0, lr = 0;
	int rc;

	if (account_id == NULL || !valid_device_id(device_id) || out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(out, 0, sizeof *out);
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	rc = begin_read_device(s, c, account_id, device_id, &pk);
	if (rc == 0)
		rc = count_of(s, c, ST_COUNT_EC, pk, &out->ec);
	if (rc == 0)
		rc = count_of(s, c, ST_COUNT_KEM, pk, &out->kem);
	if (rc == 0)
		rc = count_of(s, c, ST_COUNT_SIGNED, pk, &sig);
	if (rc == 0)
		rc = count_of(s, c, ST_COUNT_LR, pk, &lr);
	reader_put(s, c);
	out->has_signed = sig != 0;
	out->has_last_resort = lr != 0;
	return rc;
}

/* Fills one bundle's keys for device row pk, consuming its one-time keys. */
static int take_one_time(struct sqlstore *s, struct conn *c, sqlite3_int64 pk,
	sotto_store_bundle *b)
{
	sqlite3_stmt *st, *del;
	int rc;

	rc = stmt(s, c, ST_SIGNED_GET, &st);
	if (rc == 0)
		rc = binds_ok(s, c, sqlite3_bind_int64(st, 1, pk));
	if (rc == 0 && (rc = step_row(s, c, st)) == 1) {
		b->has_signed = 1;
		b->signed_prekey.id = col_u32(st, 0);
		rc = col_fixed(s, st, 1, b->signed_prekey.pub, SOTTO_STORE_EC_KEY_BYTES);
		if (rc == 0)
			rc = col_fixed(s, st, 2, b->signed_prekey.sig, SOTTO_STORE_SIG_BYTES);
		sqlite3_reset(st);
	}
	if (rc != 0)
		return rc;

	rc = stmt(s, c, ST_EC_FIRST, &st);
	if (rc == 0)
		rc = binds_ok(s, c, sqlite3_bind_int64(st, 1, pk));
	if (rc == 0 && (rc = step_row(s, c, st)) == 1) {
		b->has_ec = 1;
		b->ec.id = col_u32(st, 0);
		rc = col_fixed(s, st, 1, b->ec.pub, SOTTO_STORE_EC_KEY_BYTES);
		sqlite3_reset(st);
		if (rc == 0)
			rc = stmt(s, c, ST_EC_DELETE, &del);
		if (rc == 0)
			rc = binds_ok(s, c,
				sqlite3_bind_int64(del, 1, pk) |
					sqlite3_bind_int64(del, 2, b->ec.id));
		if (rc == 0)
			rc = run_stmt(s, c, del);
	}
	if (rc != 0)
		return rc;

	rc = stmt(s, c, ST_KEM_FIRST, &st);
	if (rc == 0)
		rc = binds_ok(s, c, sqlite3_bind_int64(st, 1, pk));
	if (rc == 0 && (rc = step_row(s, c, st)) == 1) {
		b->has_kem = 1;
		b->kem.id = col_u32(st, 0);
		rc = col_fixed(s, st, 1, b->kem.pub, SOTTO_STORE_KEM_KEY_BYTES);
		if (rc == 0)
			rc = col_fixed(s, st, 2, b->kem.sig, SOTTO_STORE_SIG_BYTES);
		sqlite3_reset(st);
		if (rc == 0)
			rc = stmt(s, c, ST_KEM_DELETE, &del);
		if (rc == 0)
			rc = binds_ok(s, c,
				sqlite3_bind_int64(del, 1, pk) |
					sqlite3_bind_int64(del, 2, b->kem.id));
		if (rc == 0)
			rc = run_stmt(s, c, del);
		return rc;
	}
	if (rc != 0)
		return rc;

	/* No one-time KEM key left: the last-resort key, which stays. */
	rc = stmt(s, c, ST_LR_GET, &st);
	if (rc == 0)
		rc = binds_ok(s, c, sqlite3_bind_int64(st, 1, pk));
	if (rc == 0 && (rc = step_row(s, c, st)) == 1) {
		b->has_kem = 1;
		b->kem_is_last_resort = 1;
		b->kem.id = col_u32(st, 0);
		rc = col_fixed(s, st, 1, b->kem.pub, SOTTO_STORE_KEM_KEY_BYTES);
		if (rc == 0)
			rc = col_fixed(s, st, 2, b->kem.sig, SOTTO_STORE_SIG_BYTES);
		sqlite3_reset(st);
	}
	return rc;
}

/* take_one_time, then the one-time keys left, in the same transaction. */
static int take_keys(struct sqlstore *s, struct conn *c, sqlite3_int64 pk, sotto_store_bundle *b)
{
	int rc = take_one_time(s, c, pk, b);

	if (rc == 0)
		rc = count_of(s, c, ST_COUNT_EC, pk, &b->ec_left);
	if (rc == 0)
		rc = count_of(s, c, ST_COUNT_KEM, pk, &b->kem_left);
	return rc;
}

static int w_bundles_fetch(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	sqlite3_int64 pks[SOTTO_STORE_MAX_DEVICE_ID];
	sotto_store_bundle *out = r->a.bundles.out;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, step;

	*r->a.bundles.count = 0;
	rc = stmt(s, c, ST_BUNDLE_DEVICES, &st);
	if (rc == 0)
		rc = binds_ok(s, c,
			bind_blob(st, 1, r->a.bundles.account_id, SOTTO_STORE_ID_BYTES) |
				sqlite3_bind_int64(st, 2, r->a.bundles.device_id));
	if (rc != 0)
		return rc;
	/* Collect the devices first: the key statements below must not run
	 * while this one is mid-scan of the same connection's tables. */
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == r->a.bundles.cap || n == SOTTO_STORE_MAX_DEVICE_ID) {
			rc = SOTTO_ERR_BUFFER_TOO_SMALL;
			break;
		}
		memset(&out[n], 0, sizeof out[n]);
		pks[n] = sqlite3_column_int64(st, 0);
		out[n].device_id = col_u32(st, 1);
		out[n].registration_id = col_u32(st, 2);
		rc = col_fixed(s, st, 3, out[n].identity_key, SOTTO_STORE_EC_KEY_BYTES);
		if (rc != 0)
			break;
		n++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = map_rc(s, c, sqlite3_extended_errcode(c->db));
	sqlite3_reset(st);
	if (rc != 0)
		return rc;
	if (n == 0)
		return SOTTO_ERR_NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		rc = take_keys(s, c, pks[i], &out[i]);
		if (rc != 0)
			return rc;
	}
	*r->a.bundles.count = n;
	return 0;
}

static int op_bundles_fetch(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	uint32_t device_id, sotto_store_bundle *out, size_t cap, size_t *count,
	const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_bundles_fetch };

	if (account_id == NULL || (device_id != 0 && !valid_device_id(device_id)) ||
		out == NULL || cap == 0 || count == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*count = 0;
	r.a.bundles.account_id = account_id;
	r.a.bundles.device_id = device_id;
	r.a.bundles.out = out;
	r.a.bundles.cap = cap;
	r.a.bundles.count = count;
	return submit(be, &r, cb);
}

/* ---- message queues ----------------------------------------------------- */

static int w_enqueue(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	for (size_t i = 0; i < r->a.enq.n; i++) {
		const sotto_store_envelope_in *e = &r->a.enq.envs[i];
		sqlite3_stmt *st;
		sqlite3_int64 pk, seq, qlen;
		int rc;

		rc = stmt(s, c, ST_DEST, &st);
		if (rc == 0)
			rc = binds_ok(s, c,
				bind_blob(st, 1, e->dest_account, SOTTO_STORE_ID_BYTES) |
					sqlite3_bind_int64(st, 2, e->dest_device));
		if (rc == 0)
			rc = step_row(s, c, st);
		if (rc <= 0)
			return rc == 0 ? SOTTO_ERR_NOT_FOUND : rc;
		pk = sqlite3_column_int64(st, 0);
		seq = sqlite3_column_int64(st, 1);
		qlen = sqlite3_column_int64(st, 2);
		sqlite3_reset(st);
		if (qlen >= (sqlite3_int64)s->max_queue)
			return SOTTO_ERR_QUEUE_FULL;
		rc = dev_exec(s, c, ST_DEST_BUMP, pk);
		if (rc == 0)
			rc = stmt(s, c, ST_ENV_INSERT, &st);
		if (rc == 0)
			rc = binds_ok(s, c,
				sqlite3_bind_int64(st, 1, pk) | sqlite3_bind_int64(st, 2, seq) |
					sqlite3_bind_int64(st, 3, r->a.enq.now) |
					(e->sealed ? sqlite3_bind_null(st, 4)
						   : bind_blob(st, 4, e->sender_account,
							     SOTTO_STORE_ID_BYTES)) |
					(e->sealed ? sqlite3_bind_null(st, 5)
						   : sqlite3_bind_int64(st, 5, e->sender_device)) |
					sqlite3_bind_int64(st, 6, e->type) |
					bind_blob(st, 7, e->content, e->content_len));
		if (rc == 0)
			rc = run_stmt(s, c, st);
		if (rc != 0)
			return rc;
		if (r->a.enq.seqs != NULL)
			r->a.enq.seqs[i] = (uint64_t)seq;
	}
	return 0;
}

static int op_enqueue(void *be, const sotto_store_envelope_in *envs, size_t n, int64_t now_ms,
	uint64_t *seqs, const sotto_store_cb *cb)
{
	struct sqlstore *s = be;
	struct wreq r = { .run = w_enqueue };

	if (envs == NULL || n == 0 || n > SOTTO_STORE_MAX_ENQUEUE)
		return SOTTO_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < n; i++) {
		const sotto_store_envelope_in *e = &envs[i];

		if (!valid_device_id(e->dest_device) || e->content == NULL ||
			e->content_len == 0 || e->content_len > s->max_envelope ||
			(!e->sealed && !valid_device_id(e->sender_device)))
			return SOTTO_ERR_INVALID_ARGUMENT;
	}
	r.a.enq.envs = envs;
	r.a.enq.n = n;
	r.a.enq.now = now_ms;
	r.a.enq.seqs = seqs;
	return submit(be, &r, cb);
}

static int op_queue_fetch(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	uint32_t device_id, uint64_t from_seq, sotto_store_envelope *out, size_t cap, uint8_t *buf,
	size_t bufcap, size_t *count, int *more)
{
	struct sqlstore *s = be;
	struct conn *c;
	sqlite3_stmt *st;
	sqlite3_int64 pk;
	size_t n = 0, used = 0;
	int rc, step, stopped = 0;

	if (account_id == NULL || !valid_device_id(device_id) || out == NULL || cap == 0 ||
		(buf == NULL && bufcap != 0) || count == NULL || more == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*count = 0;
	*more = 0;
	if (cap > 100000)
		cap = 100000;
	if (from_seq > (uint64_t)INT64_MAX)
		return 0; /* no sequence number gets that high */
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	rc = begin_read_device(s, c, account_id, device_id, &pk);
	if (rc == 0)
		rc = stmt(s, c, ST_QUEUE_FETCH, &st);
	if (rc == 0)
		rc = binds_ok(s, c,
			sqlite3_bind_int64(st, 1, pk) |
				sqlite3_bind_int64(st, 2, (int64_t)from_seq) |
				sqlite3_bind_int64(st, 3, (sqlite3_int64)cap + 1));
	if (rc != 0)
		goto done;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		sotto_store_envelope *e;
		const void *p;
		int len;

		if (n == cap) {
			stopped = 1;
			break;
		}
		len = sqlite3_column_bytes(st, 5);
		p = sqlite3_column_blob(st, 5);
		if (len <= 0 || p == NULL) {
			rc = len == 0 ? SOTTO_ERR_STORAGE : map_rc(s, c, sqlite3_errcode(c->db));
			break;
		}
		if ((size_t)len > bufcap - used) {
			if (n == 0)
				rc = SOTTO_ERR_BUFFER_TOO_SMALL;
			stopped = 1;
			break;
		}
		e = &out[n];
		memset(e, 0, sizeof *e);
		e->seq = (uint64_t)sqlite3_column_int64(st, 0);
		e->server_ms = sqlite3_column_int64(st, 1);
		e->sealed = sqlite3_column_type(st, 2) == SQLITE_NULL;
		if (!e->sealed) {
			rc = col_fixed(s, st, 2, e->sender_account, SOTTO_STORE_ID_BYTES);
			if (rc != 0)
				break;
			e->sender_device = col_u32(st, 3);
		}
		e->type = col_u32(st, 4);
		memcpy(buf + used, p, (size_t)len);
		e->content = buf + used;
		e->content_len = (size_t)len;
		used += (size_t)len;
		n++;
	}
	if (rc == 0 && !stopped && step != SQLITE_DONE)
		rc = map_rc(s, c, sqlite3_extended_errcode(c->db));
	sqlite3_reset(st);
done:
	reader_put(s, c);
	if (rc == 0) {
		*count = n;
		*more = stopped;
	}
	return rc;
}

static int w_queue_ack(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	sqlite3_int64 pk;
	sqlite3_stmt *st;
	size_t deleted = 0;
	int rc = device_pk(s, c, r->a.ack.account_id, r->a.ack.device_id, &pk);

	for (size_t i = 0; rc == 0 && i < r->a.ack.n; i++) {
		uint64_t seq = r->a.ack.seqs[i];

		if (seq > (uint64_t)INT64_MAX)
			continue;
		rc = stmt(s, c, ST_ENV_DELETE, &st);
		if (rc == 0)
			rc = binds_ok(s, c,
				sqlite3_bind_int64(st, 1, pk) |
					sqlite3_bind_int64(st, 2, (int64_t)seq));
		if (rc == 0)
			rc = run_stmt(s, c, st);
		if (rc == 0)
			deleted += (size_t)sqlite3_changes(c->db);
	}
	if (rc == 0 && deleted > 0) {
		rc = stmt(s, c, ST_QLEN_SUB, &st);
		if (rc == 0)
			rc = binds_ok(s, c,
				sqlite3_bind_int64(st, 1, pk) |
					sqlite3_bind_int64(st, 2, (sqlite3_int64)deleted));
		if (rc == 0)
			rc = run_stmt(s, c, st);
	}
	if (rc == 0 && r->a.ack.deleted != NULL)
		*r->a.ack.deleted = deleted;
	return rc;
}

static int op_queue_ack(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	uint32_t device_id, const uint64_t *seqs, size_t n, size_t *deleted,
	const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_queue_ack };

	if (account_id == NULL || !valid_device_id(device_id) || (seqs == NULL && n != 0) ||
		n > SOTTO_STORE_MAX_ACK)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (deleted != NULL)
		*deleted = 0;
	r.a.ack.account_id = account_id;
	r.a.ack.device_id = device_id;
	r.a.ack.seqs = seqs;
	r.a.ack.n = n;
	r.a.ack.deleted = deleted;
	return submit(be, &r, cb);
}

static int op_queue_length(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	uint32_t device_id, uint64_t *len)
{
	struct sqlstore *s = be;
	struct conn *c;
	sqlite3_stmt *st;
	sqlite3_int64 pk;
	int rc;

	if (account_id == NULL || !valid_device_id(device_id) || len == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*len = 0;
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	rc = begin_read_device(s, c, account_id, device_id, &pk);
	if (rc == 0)
		rc = stmt(s, c, ST_QLEN_GET, &st);
	if (rc == 0)
		rc = binds_ok(s, c, sqlite3_bind_int64(st, 1, pk));
	if (rc == 0) {
		rc = step_row(s, c, st);
		if (rc == 1) {
			sqlite3_int64 v = sqlite3_column_int64(st, 0);

			*len = v < 0 ? 0 : (uint64_t)v;
			sqlite3_reset(st);
			rc = 0;
		} else if (rc == 0) {
			rc = SOTTO_ERR_NOT_FOUND;
		}
	}
	reader_put(s, c);
	return rc;
}

/* ---- invites ---------------------------------------------------------- */

static int w_invite_create(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	uint8_t h[SOTTO_SHA256_BYTES];
	sqlite3_stmt *st;
	int rc;

	if (sotto_random(r->a.icreate.code, SOTTO_STORE_INVITE_BYTES) != 0)
		return SOTTO_ERR_CRYPTO;
	rc = invite_hash(r->a.icreate.code, h);
	if (rc == 0)
		rc = stmt(s, c, ST_INVITE_INSERT, &st);
	if (rc == 0)
		rc = binds_ok(s, c,
			bind_blob(st, 1, h, sizeof h) |
				sqlite3_bind_int64(st, 2, r->a.icreate.now) |
				sqlite3_bind_int64(st, 3, r->a.icreate.expires));
	if (rc == 0)
		rc = run_stmt(s, c, st);
	if (rc != 0)
		sotto_memzero(r->a.icreate.code, SOTTO_STORE_INVITE_BYTES);
	return rc;
}

static int op_invite_create(void *be, int64_t now_ms, int64_t expires_ms,
	uint8_t code[SOTTO_STORE_INVITE_BYTES], const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_invite_create };

	if (code == NULL || expires_ms <= now_ms)
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.a.icreate.now = now_ms;
	r.a.icreate.expires = expires_ms;
	r.a.icreate.code = code;
	return submit(be, &r, cb);
}

static int w_invite_consume(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	return use_invite(s, c, r->a.iconsume.code, r->a.iconsume.now);
}

static int op_invite_consume(void *be, const uint8_t *code, size_t code_len, int64_t now_ms,
	const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_invite_consume };

	if (code == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (code_len != SOTTO_STORE_INVITE_BYTES)
		return SOTTO_ERR_NOT_FOUND; /* cannot exist; same answer as unknown */
	r.a.iconsume.code = code;
	r.a.iconsume.now = now_ms;
	return submit(be, &r, cb);
}

/* ---- attachments ------------------------------------------------------ */

static int w_attachment_create(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	int rc = 0;

	for (int tries = 0; tries < 4; tries++) {
		sqlite3_stmt *st;

		if (sotto_random(r->a.acreat.id, SOTTO_STORE_ID_BYTES) != 0)
			return SOTTO_ERR_CRYPTO;
		rc = stmt(s, c, ST_ATT_INSERT, &st);
		if (rc == 0)
			rc = binds_ok(s, c,
				bind_blob(st, 1, r->a.acreat.id, SOTTO_STORE_ID_BYTES) |
					sqlite3_bind_int64(st, 2, (sqlite3_int64)r->a.acreat.size) |
					bind_blob(st, 3, r->a.acreat.digest,
						SOTTO_STORE_DIGEST_BYTES) |
					sqlite3_bind_int64(st, 4, r->a.acreat.now));
		if (rc == 0)
			rc = run_stmt(s, c, st);
		if (rc != SOTTO_ERR_EXISTS)
			break;
	}
	return rc;
}

static int op_attachment_create(void *be, uint64_t size,
	const uint8_t digest[SOTTO_STORE_DIGEST_BYTES], int64_t now_ms,
	uint8_t id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_attachment_create };

	if (digest == NULL || id == NULL || size > (uint64_t)INT64_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.a.acreat.size = size;
	r.a.acreat.digest = digest;
	r.a.acreat.now = now_ms;
	r.a.acreat.id = id;
	return submit(be, &r, cb);
}

static int att_exec(struct sqlstore *s, struct conn *c, enum stmt_id id, const uint8_t *att)
{
	sqlite3_stmt *st;
	int rc = stmt(s, c, id, &st);

	if (rc == 0)
		rc = binds_ok(s, c, bind_blob(st, 1, att, SOTTO_STORE_ID_BYTES));
	if (rc == 0)
		rc = run_stmt(s, c, st);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = SOTTO_ERR_NOT_FOUND;
	return rc;
}

static int w_attachment_complete(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	return att_exec(s, c, ST_ATT_COMPLETE, r->a.att.id);
}

static int w_attachment_delete(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	return att_exec(s, c, ST_ATT_DELETE, r->a.att.id);
}

static int op_att_id(void *be, wrun_fn run, const uint8_t *id, const sotto_store_cb *cb)
{
	struct wreq r = { .run = run };

	if (id == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.a.att.id = id;
	return submit(be, &r, cb);
}

static int op_attachment_complete(void *be, const uint8_t id[SOTTO_STORE_ID_BYTES],
	const sotto_store_cb *cb)
{
	return op_att_id(be, w_attachment_complete, id, cb);
}

static int op_attachment_delete(void *be, const uint8_t id[SOTTO_STORE_ID_BYTES],
	const sotto_store_cb *cb)
{
	return op_att_id(be, w_attachment_delete, id, cb);
}

static int op_attachment_get(void *be, const uint8_t id[SOTTO_STORE_ID_BYTES],
	sotto_store_attachment *out)
{
	struct sqlstore *s = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if (id == NULL || out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = reader_get(s, &c);
	if (rc != 0)
		return rc;
	rc = stmt_blob(s, c, ST_ATT_GET, id, SOTTO_STORE_ID_BYTES, &st);
	if (rc == 0) {
		rc = step_row(s, c, st);
		if (rc == 1) {
			memcpy(out->id, id, SOTTO_STORE_ID_BYTES);
			out->size = (uint64_t)sqlite3_column_int64(st, 0);
			rc = col_fixed(s, st, 1, out->digest, SOTTO_STORE_DIGEST_BYTES);
			out->created_ms = sqlite3_column_int64(st, 2);
			out->complete = sqlite3_column_int(st, 3) != 0;
			sqlite3_reset(st);
		} else if (rc == 0) {
			rc = SOTTO_ERR_NOT_FOUND;
		}
	}
	reader_put(s, c);
	return rc;
}

static int op_attachment_path(void *be, const uint8_t id[SOTTO_STORE_ID_BYTES], char *buf,
	size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	struct sqlstore *s = be;
	char name[2 * SOTTO_STORE_ID_BYTES + 1];
	int n;

	if (id == NULL || buf == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < SOTTO_STORE_ID_BYTES; i++) {
		name[2 * i] = hex[id[i] >> 4];
		name[2 * i + 1] = hex[id[i] & 15];
	}
	name[sizeof name - 1] = '\0';
	n = snprintf(buf, cap, "%s/attachments/%s", s->data_dir, name);
	if (n < 0 || (size_t)n >= cap)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	return 0;
}

/* ---- open and close --------------------------------------------------- */

/* ---- key transparency (the rest is in kt_sqlite.c) ---------------------- */

int sotto__store_sqlite_read(void *be, int (*fn)(sqlite3 *db, void *arg), void *arg)
{
	struct sqlstore *s = be;
	struct conn *c;
	int rc = reader_get(s, &c);

	if (rc != 0)
		return rc;
	rc = exec_id(s, c, ST_BEGIN_READ);
	if (rc == 0)
		rc = fn(c->db, arg);
	reader_put(s, c); /* ends the read transaction */
	return rc;
}

static int w_kt_key_change(struct sqlstore *s, struct conn *c, struct wreq *r)
{
	return sotto__kt_key_change(s->kt, c->db, r->a.ktkey.account_id, r->a.ktkey.device_id,
		r->a.ktkey.key, r->a.ktkey.now);
}

static int op_kt_key_change(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
	uint32_t device_id, const uint8_t identity_key[SOTTO_STORE_EC_KEY_BYTES], int64_t now_ms,
	const sotto_store_cb *cb)
{
	struct wreq r = { .run = w_kt_key_change };

	if (account_id == NULL || identity_key == NULL || !valid_device_id(device_id))
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.a.ktkey.account_id = account_id;
	r.a.ktkey.device_id = device_id;
	r.a.ktkey.key = identity_key;
	r.a.ktkey.now = now_ms;
	return submit(be, &r, cb);
}

static void op_stats(void *be, sotto_store_stats *out)
{
	struct sqlstore *s = be;

	pthread_mutex_lock(&s->qmu);
	*out = s->stats;
	pthread_mutex_unlock(&s->qmu);
}

static void sqlstore_free(struct sqlstore *s)
{
	struct conn *c;

	if (s->writer_started) {
		pthread_mutex_lock(&s->qmu);
		s->stopping = 1;
		pthread_cond_signal(&s->qcond);
		pthread_mutex_unlock(&s->qmu);
		pthread_join(s->writer, NULL);
	}
	sotto__kt_log_free(s->kt); /* its statements live on wconn */
	conn_close(s->wconn);
	while ((c = s->rfree) != NULL) {
		s->rfree = c->next;
		conn_close(c);
	}
	pthread_mutex_destroy(&s->qmu);
	pthread_cond_destroy(&s->qcond);
	pthread_mutex_destroy(&s->rmu);
	pthread_cond_destroy(&s->rcond);
	free(s->db_path);
	free(s->data_dir);
	free(s);
}

static void op_close(void *be)
{
	sqlstore_free(be);
}

static const struct sotto_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = op_close,
	.stats = op_stats,
	.account_create = op_account_create,
	.account_get = op_account_get,
	.device_add = op_device_add,
	.device_remove = op_device_remove,
	.device_touch = op_device_touch,
	.device_by_noise_key = op_device_by_noise_key,
	.device_list = op_device_list,
	.device_regs = op_device_regs,
	.prekeys_upload = op_prekeys_upload,
	.prekeys_count = op_prekeys_count,
	.bundles_fetch = op_bundles_fetch,
	.enqueue = op_enqueue,
	.queue_fetch = op_queue_fetch,
	.queue_ack = op_queue_ack,
	.queue_length = op_queue_length,
	.invite_create = op_invite_create,
	.invite_consume = op_invite_consume,
	.attachment_create = op_attachment_create,
	.attachment_complete = op_attachment_complete,
	.attachment_delete = op_attachment_delete,
	.attachment_get = op_attachment_get,
	.attachment_path = op_attachment_path,
	.account_create_named = op_account_create_named,
	.name_lookup = op_name_lookup,
	.name_of = op_name_of,
	.kt_head = sotto__kt_op_head,
	.kt_device_proofs = sotto__kt_op_device_proofs,
	.kt_index_proof = sotto__kt_op_index_proof,
	.kt_consistency = sotto__kt_op_consistency,
	.kt_leaves = sotto__kt_op_leaves,
	.kt_key_change = op_kt_key_change,
};

static int make_dir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST) {
		struct stat sb;

		return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
	}
	return -1;
}

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p;

	if (la + lb + 2 > MAX_PATH_LEN)
		return NULL;
	p = malloc(la + lb + 2);
	if (p != NULL) {
		memcpy(p, a, la);
		p[la] = '/';
		memcpy(p + la + 1, b, lb + 1);
	}
	return p;
}

int sotto_store_open_sqlite(sotto_store **out, const sotto_store_config *cfg, char *errbuf,
	size_t errcap)
{
	struct sqlstore *s;
	char *att_dir = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (errbuf != NULL && errcap > 0)
		errbuf[0] = '\0';
	else
		errbuf = NULL;
	if (out == NULL || cfg == NULL || cfg->data_dir == NULL || cfg->data_dir[0] == '\0' ||
		cfg->max_envelope_bytes > HARD_MAX_ENVELOPE || cfg->busy_timeout_ms < 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (!sqlite3_threadsafe()) {
		if (errbuf != NULL)
			snprintf(errbuf, errcap, "SQLite was built without thread support");
		return SOTTO_ERR_STORAGE;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return SOTTO_ERR_NOMEM;
	s->pub.ops = &sqlite_ops;
	s->pub.be = s;
	s->max_envelope = cfg->max_envelope_bytes ? cfg->max_envelope_bytes : DEFAULT_MAX_ENVELOPE;
	s->max_queue = cfg->max_queue_len ? cfg->max_queue_len : DEFAULT_MAX_QUEUE;
	s->batch_max = cfg->batch_max ? cfg->batch_max : DEFAULT_BATCH_MAX;
	s->batch_wait_us = cfg->batch_wait_us > 1000000 ? 1000000 : cfg->batch_wait_us;
	s->max_readers = cfg->max_readers ? cfg->max_readers : DEFAULT_MAX_READERS;
	s->busy_ms = cfg->busy_timeout_ms ? cfg->busy_timeout_ms : DEFAULT_BUSY_MS;
	s->max_page_count = cfg->max_page_count;
	s->log = cfg->log;
	s->log_arg = cfg->log_arg;
	pthread_mutex_init(&s->qmu, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_mutex_init(&s->rmu, NULL);
	pthread_cond_init(&s->rcond, NULL);
	rc = sotto__kt_log_new(&s->kt, cfg->kt_key);
	if (rc != 0)
		goto fail;

	s->data_dir = strdup(cfg->data_dir);
	s->db_path = path_join(cfg->data_dir, "sotto.db");
	att_dir = path_join(cfg->data_dir, "attachments");
	if (s->data_dir == NULL || s->db_path == NULL || att_dir == NULL) {
		rc = s->data_dir == NULL ? SOTTO_ERR_NOMEM : SOTTO_ERR_INVALID_ARGUMENT;
		goto fail;
	}
	if (make_dir(cfg->data_dir) != 0 || make_dir(att_dir) != 0) {
		if (errbuf != NULL)
			snprintf(errbuf, errcap, "cannot create the data directory %s: %s",
				cfg->data_dir, strerror(errno));
		rc = SOTTO_ERR_STORAGE;
		goto fail;
	}
	rc = conn_open(s, 1, &s->wconn);
	if (rc != 0) {
		if (errbuf != NULL)
			snprintf(errbuf, errcap, "cannot open %s", s->db_path);
		goto fail;
	}
	/* WAL is a property of the file; it must be set outside a transaction. */
	if (sqlite3_prepare_v2(s->wconn->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) !=
			SQLITE_OK ||
		sqlite3_step(st) != SQLITE_ROW || sqlite3_column_text(st, 0) == NULL ||
		strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		if (errbuf != NULL)
			snprintf(errbuf, errcap, "cannot switch %s to WAL mode: %s", s->db_path,
				sqlite3_errmsg(s->wconn->db));
		sqlite3_finalize(st);
		rc = SOTTO_ERR_STORAGE;
		goto fail;
	}
	sqlite3_finalize(st);
	rc = migrate(s, s->wconn, errbuf, errcap);
	if (rc != 0)
		goto fail;
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		if (errbuf != NULL)
			snprintf(errbuf, errcap, "cannot start the writer thread");
		rc = SOTTO_ERR_NOMEM;
		goto fail;
	}
	s->writer_started = 1;
	free(att_dir);
	*out = &s->pub;
	return 0;
fail:
	free(att_dir);
	sqlstore_free(s);
	return rc;
}
