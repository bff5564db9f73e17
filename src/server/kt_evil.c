/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The malicious operator of the key transparency attack tests. Test-only:
 * compiled into sotto_server_evil / sottod-evil, never into sottod (see
 * kt_evil.h and tests/evil/README.md for the knob file).
 *
 * Locks: g_mu guards the knobs and the forks; it may be held across a
 * blocking store write (a ghost device add), so the hooks the store's
 * writer thread calls (skip_leaf, head_signed) use g_hmu only, never g_mu. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "server/kt_evil.h"
#include "server/kt_sqlite.h"
#include "server/server_internal.h"
#include "sotto/error.h"
#include "sotto/util.h"

const char sotto__evil_marker[] = "SOTTO-KT-EVIL: malicious key transparency test server";

#define MAX_SWAPS 32
#define MAX_REPLAYS 16
#define MAX_FORKS 8
#define MAX_SKIPS 64
#define MAX_APPLIED 256
#define LINE_MAX_LEN 512
#define NODE_ID(level, index) ((sqlite3_int64)(((uint64_t)(level) << 56) | (index)))

struct swap {
	uint8_t account[16]; /* whose key is swapped */
	uint32_t device;     /* 0: every device of the account */
	uint8_t victim[16];  /* who gets the swapped key */
	uint8_t key[33];
};

struct replay {
	uint64_t size; /* serve the newest recorded head with size <= this */
	int everyone;
	uint8_t victim[16];
};

/* A second log shown to one account: the main log's first leaves, the
 * fork's own leaves, then the main log's later leaves mirrored as they come. */
struct fork {
	uint8_t victim[16];
	int active; /* a knob line names it (else the victim sees the main log) */
	sotto_kt_memstore *ms;
	uint8_t *leaves; /* SOTTO_KT_LEAF_BYTES each, memstore order */
	size_t cap;
	uint64_t mirrored; /* main-log leaves copied so far: [0, mirrored) */
	sotto_kt_signed_head head;
	int has_head;
};

struct skip {
	uint8_t account[16];
	uint8_t key[33];
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_path[1100];
static int g_path_set, g_announced;
static struct {
	int valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
} g_stat;
static char *g_applied[MAX_APPLIED]; /* action lines already carried out */
static size_t g_napplied;
static struct swap g_swaps[MAX_SWAPS];
static size_t g_nswaps;
static struct replay g_replays[MAX_REPLAYS];
static size_t g_nreplays;
static struct fork g_forks[MAX_FORKS];
static size_t g_nforks;

static pthread_mutex_t g_hmu = PTHREAD_MUTEX_INITIALIZER;
static struct skip g_skips[MAX_SKIPS];
static size_t g_nskips;
static sotto_kt_signed_head *g_heads; /* every head signed by this process */
static size_t g_nheads, g_capheads;

static _Thread_local struct conn *tl_conn;
static _Thread_local int tl_bypass; /* inside an evil call of the honest ops */

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sotto__evil_set_config(const char *path)
{
	pthread_mutex_lock(&g_mu);
	snprintf(g_path, sizeof g_path, "%s", path);
	g_path_set = 1;
	pthread_mutex_unlock(&g_mu);
}

/* ---- writer-side hooks (g_hmu only) ---- */

int sotto__evil_skip_leaf(const uint8_t account[16], uint32_t device_id, int event,
	const uint8_t identity_key[33])
{
	int skip = 0;

	(void)device_id;
	if (event != SOTTO_KT_EVENT_ADD)
		return 0;
	pthread_mutex_lock(&g_hmu);
	for (size_t i = 0; i < g_nskips && !skip; i++)
		skip = memcmp(g_skips[i].account, account, 16) == 0 &&
			memcmp(g_skips[i].key, identity_key, 33) == 0;
	pthread_mutex_unlock(&g_hmu);
	return skip;
}

void sotto__evil_head_signed(const sotto_kt_signed_head *sh)
{
	pthread_mutex_lock(&g_hmu);
	if (g_nheads == g_capheads) {
		size_t cap = g_capheads ? 2 * g_capheads : 64;
		sotto_kt_signed_head *p = realloc(g_heads, cap * sizeof *p);
		if (p == NULL) {
			pthread_mutex_unlock(&g_hmu);
			return; /* not recorded: replay falls back to older heads */
		}
		g_heads = p;
		g_capheads = cap;
	}
	g_heads[g_nheads++] = *sh;
	pthread_mutex_unlock(&g_hmu);
}

static int add_skip(const uint8_t account[16], const uint8_t key[33])
{
	int rc = 0;

	pthread_mutex_lock(&g_hmu);
	if (g_nskips == MAX_SKIPS) {
		rc = SOTTO_ERR_LIMIT;
	} else {
		memcpy(g_skips[g_nskips].account, account, 16);
		memcpy(g_skips[g_nskips].key, key, 33);
		g_nskips++;
	}
	pthread_mutex_unlock(&g_hmu);
	return rc;
}

/* The newest recorded head of size <= size (the largest size, then the
 * latest time). */
static int old_head(uint64_t size, sotto_kt_signed_head *out)
{
	int found = 0;

	pthread_mutex_lock(&g_hmu);
	for (size_t i = 0; i < g_nheads; i++) {
		const sotto_kt_head *h = &g_heads[i].head;
		if (h->size > size)
			continue;
		if (!found || h->size > out->head.size ||
			(h->size == out->head.size && h->timestamp_ms > out->head.timestamp_ms)) {
			*out = g_heads[i];
			found = 1;
		}
	}
	pthread_mutex_unlock(&g_hmu);
	return found;
}

/* ---- the requester ---- */

void sotto__evil_enter(struct conn *c)
{
	tl_conn = c;
}

void sotto__evil_leave(void)
{
	tl_conn = NULL;
}

/* 1 with the requesting account if the current request is authenticated. */
static int requester(uint8_t account[16])
{
	if (tl_conn == NULL || !tl_conn->authed)
		return 0;
	memcpy(account, tl_conn->account, 16);
	return 1;
}

/* ---- parsing ---- */

static int unhex(const char *s, uint8_t *out, size_t len)
{
	if (strlen(s) != 2 * len)
		return -1;
	for (size_t i = 0; i < 2 * len; i++) {
		char ch = s[i];
		int v = ch >= '0' && ch <= '9'   ? ch - '0'
			: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
						 : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int identity_key_ok(const uint8_t key[33])
{
	return key[0] == 0x05;
}

/* ---- raw writes to the store's database (a connection of our own; the
 * store's writer notices because the evil build reloads its frontier on
 * every append, see kt_sqlite.c) ---- */

static int raw_open(struct sotto_server *s, sqlite3 **db)
{
	char path[1100];

	snprintf(path, sizeof path, "%s/sotto.db", s->data_dir);
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(*db);
		*db = NULL;
		return SOTTO_ERR_STORAGE;
	}
	if (sqlite3_exec(*db, "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL;", NULL, NULL,
		    NULL) != SQLITE_OK ||
		sqlite3_exec(*db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(*db);
		*db = NULL;
		return SOTTO_ERR_STORAGE;
	}
	return 0;
}

/* Commits (rc == 0) or rolls back, and closes. */
static int raw_close(sqlite3 *db, int rc)
{
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = SOTTO_ERR_STORAGE;
	if (rc != 0)
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int exec_bind(sqlite3 *db, const char *sql, sqlite3_int64 i1, const void *blob,
	size_t blob_len)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SOTTO_ERR_STORAGE;
	if (sqlite3_bind_int64(st, 1, i1) != SQLITE_OK ||
		sqlite3_bind_blob(st, 2, blob, (int)blob_len, SQLITE_STATIC) != SQLITE_OK) {
		sqlite3_finalize(st);
		return SOTTO_ERR_STORAGE;
	}
	rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1 ? 0 : SOTTO_ERR_STORAGE;
	sqlite3_finalize(st);
	return rc;
}

/* Appends a leaf of our choosing to the main log and signs a head for it,
 * exactly as the honest writer would (so it carries a valid proof). */
static int raw_append(struct sotto_server *s, const sotto_kt_leaf *leaf)
{
	sotto_kt_frontier f;
	sotto_kt_node nodes[SOTTO_KT_MAX_APPEND_NODES];
	uint8_t hashes[SOTTO_KT_MAX_APPEND_NODES * SOTTO_KT_HASH_BYTES];
	uint8_t enc[SOTTO_KT_LEAF_BYTES], lh[SOTTO_KT_HASH_BYTES];
	struct sotto__kt_log *kt = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	uint64_t size;
	size_t n = 0;
	int rc = raw_open(s, &db);

	if (rc != 0)
		return rc;
	rc = sotto_kt_leaf_encode(enc, leaf);
	if (rc == 0)
		rc = sotto_kt_leaf_hash(lh, enc, sizeof enc);
	if (rc == 0)
		rc = sotto__kt_read_size(db, &size);
	if (rc == 0) {
		sotto_kt_store store = sotto__kt_sqlite_store(db);
		rc = sotto_kt_frontier_load(&f, &store, size);
	}
	if (rc == 0)
		rc = sotto_kt_frontier_append(&f, lh, nodes, hashes, &n);
	if (rc == 0 && sqlite3_prepare_v2(db,
			       "INSERT INTO kt_leaves (idx, account, device_id, event, leaf, ts) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			       -1, &st, NULL) != SQLITE_OK)
		rc = SOTTO_ERR_STORAGE;
	if (rc == 0 &&
		(sqlite3_bind_int64(st, 1, (sqlite3_int64)size) != SQLITE_OK ||
			sqlite3_bind_blob(st, 2, leaf->account, 16, SQLITE_STATIC) != SQLITE_OK ||
			sqlite3_bind_int64(st, 3, leaf->device_id) != SQLITE_OK ||
			sqlite3_bind_int(st, 4, leaf->event) != SQLITE_OK ||
			sqlite3_bind_blob(st, 5, enc, sizeof enc, SQLITE_STATIC) != SQLITE_OK ||
			sqlite3_bind_int64(st, 6, (sqlite3_int64)leaf->timestamp_ms) != SQLITE_OK ||
			sqlite3_step(st) != SQLITE_DONE))
		rc = SOTTO_ERR_STORAGE;
	sqlite3_finalize(st);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = exec_bind(db, "INSERT INTO kt_nodes (id, hash) VALUES (?1, ?2)",
			NODE_ID(nodes[i].level, nodes[i].index), hashes + 32 * i, 32);
	if (rc == 0)
		rc = sotto__kt_log_new(&kt, s->kt_priv);
	if (rc == 0)
		rc = sotto__kt_log_seal(kt, db); /* records the head through the hook */
	sotto__kt_log_free(kt);
	return raw_close(db, rc);
}

/* Replaces the identity key inside leaf number index, recomputes every
 * stored node above it and signs a head over the rewritten tree (same
 * size, new root): later heads and proofs agree with the rewritten log,
 * earlier heads that covered the leaf do not. */
static int raw_rewrite(struct sotto_server *s, uint64_t index, const uint8_t key[33])
{
	uint8_t enc[SOTTO_KT_LEAF_BYTES], h[SOTTO_KT_HASH_BYTES], sib[SOTTO_KT_HASH_BYTES];
	uint8_t sthenc[SOTTO_KT_SIGNED_HEAD_BYTES];
	sotto_kt_leaf leaf;
	sotto_kt_signed_head prev, sh;
	sotto_kt_head head;
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	uint64_t size = 0, now = wall_ms();
	int rc = raw_open(s, &db);

	if (rc != 0)
		return rc;
	rc = sotto__kt_read_head(db, &prev);
	if (rc == 0)
		rc = sotto__kt_read_size(db, &size);
	if (rc == 0 && index >= size)
		rc = SOTTO_ERR_NOT_FOUND;
	if (rc == 0 &&
		sqlite3_prepare_v2(db, "SELECT leaf FROM kt_leaves WHERE idx = ?1", -1, &st, NULL) !=
			SQLITE_OK)
		rc = SOTTO_ERR_STORAGE;
	if (rc == 0 && (sqlite3_bind_int64(st, 1, (sqlite3_int64)index) != SQLITE_OK ||
			       sqlite3_step(st) != SQLITE_ROW))
		rc = SOTTO_ERR_STORAGE;
	if (rc == 0)
		rc = sotto_kt_leaf_decode(&leaf, sqlite3_column_blob(st, 0),
			(size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	if (rc == 0) {
		memcpy(leaf.identity_key, key, 33);
		rc = sotto_kt_leaf_encode(enc, &leaf);
	}
	if (rc == 0)
		rc = exec_bind(db, "UPDATE kt_leaves SET leaf = ?2 WHERE idx = ?1",
			(sqlite3_int64)index, enc, sizeof enc);
	if (rc == 0)
		rc = sotto_kt_leaf_hash(h, enc, sizeof enc);
	if (rc == 0)
		rc = exec_bind(db, "UPDATE kt_nodes SET hash = ?2 WHERE id = ?1", NODE_ID(0, index),
			h, sizeof h);
	/* Up the path while the parent is a complete (stored) subtree. */
	for (unsigned l = 1; rc == 0 && l < 64 && (index >> l) + 1 <= (size >> l); l++) {
		uint64_t child = index >> (l - 1);
		sotto_kt_node sn = { (uint8_t)(l - 1), child ^ 1 };
		sotto_kt_store store = sotto__kt_sqlite_store(db);

		rc = store.get(store.ctx, &sn, 1, sib);
		if (rc == 0)
			rc = (child & 1) ? sotto_kt_node_hash(h, sib, h) : sotto_kt_node_hash(h, h, sib);
		if (rc == 0)
			rc = exec_bind(db, "UPDATE kt_nodes SET hash = ?2 WHERE id = ?1",
				NODE_ID(l, index >> l), h, sizeof h);
	}
	if (rc == 0) {
		memset(&head, 0, sizeof head);
		memcpy(head.log_id, prev.head.log_id, sizeof head.log_id);
		head.size = size;
		head.timestamp_ms = prev.head.timestamp_ms > now ? prev.head.timestamp_ms : now;
		rc = sotto__kt_read_root(db, size, head.root);
	}
	if (rc == 0)
		rc = sotto_kt_head_sign(&sh, &head, s->kt_priv);
	if (rc == 0) {
		sotto_kt_signed_head_encode(sthenc, &sh);
		rc = exec_bind(db, "INSERT OR REPLACE INTO kt_head (id, size, sth) VALUES (1, ?1, ?2)",
			(sqlite3_int64)size, sthenc, sizeof sthenc);
	}
	rc = raw_close(db, rc);
	if (rc == 0)
		sotto__evil_head_signed(&sh);
	return rc;
}

/* ---- forks ---- */

static struct fork *fork_find(const uint8_t victim[16])
{
	for (size_t i = 0; i < g_nforks; i++)
		if (memcmp(g_forks[i].victim, victim, 16) == 0)
			return &g_forks[i];
	return NULL;
}

static int fork_push(struct fork *f, const uint8_t leaf[SOTTO_KT_LEAF_BYTES])
{
	uint8_t lh[SOTTO_KT_HASH_BYTES];
	uint64_t n = sotto_kt_memstore_size(f->ms);
	int rc;

	if (n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 256;
		uint8_t *p = realloc(f->leaves, cap * SOTTO_KT_LEAF_BYTES);
		if (p == NULL)
			return SOTTO_ERR_NOMEM;
		f->leaves = p;
		f->cap = cap;
	}
	rc = sotto_kt_leaf_hash(lh, leaf, SOTTO_KT_LEAF_BYTES);
	if (rc == 0)
		rc = sotto_kt_memstore_append(f->ms, lh);
	if (rc == 0)
		memcpy(f->leaves + (size_t)n * SOTTO_KT_LEAF_BYTES, leaf, SOTTO_KT_LEAF_BYTES);
	return rc;
}

/* Signs the fork's head if the fork grew. */
static int fork_sign(struct fork *f, struct sotto_server *s)
{
	sotto_kt_head h;
	uint64_t now = wall_ms();
	int rc;

	if (f->has_head && f->head.head.size == sotto_kt_memstore_size(f->ms))
		return 0;
	memset(&h, 0, sizeof h);
	rc = sotto_kt_log_id(h.log_id, s->kt_pub);
	h.size = sotto_kt_memstore_size(f->ms);
	h.timestamp_ms = f->has_head && f->head.head.timestamp_ms > now ? f->head.head.timestamp_ms
									 : now;
	if (rc == 0)
		rc = sotto_kt_memstore_root(f->ms, h.root);
	if (rc == 0)
		rc = sotto_kt_head_sign(&f->head, &h, s->kt_priv);
	if (rc == 0)
		f->has_head = 1;
	return rc;
}

/* Copies the main log's signed leaves that the fork has not seen yet. */
static int fork_mirror(struct fork *f, struct sotto_server *s)
{
	sotto_kt_signed_head top;
	uint8_t *buf = malloc((size_t)SOTTO_STORE_KT_MAX_LEAVES * SOTTO_KT_LEAF_BYTES);
	int rc;

	if (buf == NULL)
		return SOTTO_ERR_NOMEM;
	tl_bypass++;
	rc = sotto_store_kt_head(s->store, &top);
	if (rc == SOTTO_ERR_NOT_FOUND) {
		top.head.size = 0;
		rc = 0;
	}
	while (rc == 0 && f->mirrored < top.head.size) {
		size_t got = 0, want = SOTTO_STORE_KT_MAX_LEAVES;
		if (want > top.head.size - f->mirrored)
			want = (size_t)(top.head.size - f->mirrored);
		rc = sotto_store_kt_leaves(s->store, f->mirrored, want, buf, &got);
		if (rc == 0 && got == 0)
			rc = SOTTO_ERR_STORAGE;
		for (size_t i = 0; rc == 0 && i < got; i++) {
			rc = fork_push(f, buf + i * SOTTO_KT_LEAF_BYTES);
			if (rc == 0)
				f->mirrored++;
		}
	}
	tl_bypass--;
	free(buf);
	return rc;
}

static int fork_sync(struct fork *f, struct sotto_server *s)
{
	int rc = fork_mirror(f, s);

	return rc == 0 ? fork_sign(f, s) : rc;
}

/* The fork of victim, created (main log so far + one leaf of its own) if
 * needed. extra: the fork's own leaf, or NULL for a registration nobody
 * else ever sees (a random account). */
static int fork_get(struct sotto_server *s, const uint8_t victim[16],
	const sotto_kt_leaf *extra, struct fork **out)
{
	struct fork *f = fork_find(victim);
	uint8_t enc[SOTTO_KT_LEAF_BYTES];
	sotto_kt_leaf dummy;
	int rc = 0, created = 0;

	if (f == NULL) {
		if (g_nforks == MAX_FORKS)
			return SOTTO_ERR_LIMIT;
		f = &g_forks[g_nforks];
		memset(f, 0, sizeof *f);
		memcpy(f->victim, victim, 16);
		f->ms = sotto_kt_memstore_new();
		if (f->ms == NULL)
			return SOTTO_ERR_NOMEM;
		g_nforks++;
		created = 1;
		rc = fork_mirror(f, s);
	}
	if (rc == 0 && extra == NULL && created) {
		memset(&dummy, 0, sizeof dummy);
		dummy.event = SOTTO_KT_EVENT_ADD;
		dummy.device_id = SOTTO_STORE_PRIMARY_DEVICE_ID;
		dummy.identity_key[0] = 0x05;
		dummy.timestamp_ms = wall_ms();
		rc = sotto_random(dummy.account, sizeof dummy.account);
		if (rc == 0)
			rc = sotto_random(dummy.identity_key + 1, 32);
		extra = &dummy;
	}
	if (rc == 0 && extra != NULL)
		rc = sotto_kt_leaf_encode(enc, extra);
	if (rc == 0 && extra != NULL)
		rc = fork_push(f, enc);
	if (rc == 0)
		rc = fork_sign(f, s);
	*out = f;
	return rc;
}

/* The active fork served to the current requester, synced; NULL if none. */
static struct fork *fork_for_requester(void)
{
	uint8_t acct[16];
	struct fork *f;

	if (tl_bypass || !requester(acct))
		return NULL;
	f = fork_find(acct);
	if (f == NULL || !f->active)
		return NULL;
	if (fork_sync(f, tl_conn->w->srv) != 0) {
		srv_log(0, "evil: fork sync failed");
		return NULL;
	}
	return f;
}

/* Latest leaf of (account, device) in the first size leaves of the fork. */
static int fork_device_leaf(const struct fork *f, const uint8_t account[16], uint32_t device,
	uint64_t size, uint64_t *index)
{
	for (uint64_t i = size; i-- > 0;) {
		const uint8_t *l = f->leaves + (size_t)i * SOTTO_KT_LEAF_BYTES;
		uint32_t d = (uint32_t)l[18] << 24 | (uint32_t)l[19] << 16 | (uint32_t)l[20] << 8 |
			l[21];
		if (d == device && memcmp(l + 2, account, 16) == 0) {
			*index = i;
			return 0;
		}
	}
	return SOTTO_ERR_NOT_FOUND;
}

/* ---- replay ---- */

/* The old head to serve the current requester as the latest, if any. */
static int replay_for_requester(sotto_kt_signed_head *out)
{
	uint8_t acct[16];
	int authed;

	if (tl_bypass || tl_conn == NULL)
		return 0;
	authed = requester(acct);
	for (size_t i = 0; i < g_nreplays; i++) {
		const struct replay *r = &g_replays[i];
		if ((r->everyone || (authed && memcmp(r->victim, acct, 16) == 0)) &&
			old_head(r->size, out))
			return 1;
	}
	return 0;
}

/* ---- knob file ---- */

static int applied(const char *line)
{
	for (size_t i = 0; i < g_napplied; i++)
		if (strcmp(g_applied[i], line) == 0)
			return 1;
	return 0;
}

static void mark_applied(const char *line)
{
	if (g_napplied < MAX_APPLIED && (g_applied[g_napplied] = strdup(line)) != NULL)
		g_napplied++;
}

/* ghost ACCOUNT NOISE_KEY IDENTITY_KEY REG_ID MODE */
static int do_ghost(struct sotto_server *s, char **tok, int n, int first)
{
	sotto_store_new_device nd;
	uint8_t acct[16], victim[16];
	uint64_t reg;
	uint32_t id = 0;
	int mode; /* 0 nolog, 1 log, 2 fork */
	int rc;

	memset(&nd, 0, sizeof nd);
	if (n != 6 || unhex(tok[1], acct, 16) != 0 || unhex(tok[2], nd.noise_key, 32) != 0 ||
		unhex(tok[3], nd.identity_key, 33) != 0 || !identity_key_ok(nd.identity_key) ||
		parse_u64(tok[4], &reg) != 0 || reg == 0 || reg > UINT32_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	nd.registration_id = (uint32_t)reg;
	if (strcmp(tok[5], "nolog") == 0)
		mode = 0;
	else if (strcmp(tok[5], "log") == 0)
		mode = 1;
	else if (strncmp(tok[5], "fork:", 5) == 0 && unhex(tok[5] + 5, victim, 16) == 0)
		mode = 2;
	else
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (mode == 2) {
		struct fork *f = fork_find(victim);
		if (f != NULL)
			f->active = 1;
	}
	if (!first)
		return 0;
	if (mode != 1) {
		rc = add_skip(acct, nd.identity_key);
		if (rc != 0)
			return rc;
	}
	rc = sotto_store_device_add(s->store, acct, &nd, (int64_t)wall_ms(), &id, NULL);
	if (rc != 0)
		return rc;
	srv_log(2, "evil: ghost device %u added (%s)", (unsigned)id, tok[5]);
	if (mode == 2) {
		sotto_kt_leaf leaf;
		struct fork *f;
		memset(&leaf, 0, sizeof leaf);
		leaf.event = SOTTO_KT_EVENT_ADD;
		memcpy(leaf.account, acct, 16);
		leaf.device_id = id;
		memcpy(leaf.identity_key, nd.identity_key, 33);
		memcpy(leaf.transport_key, nd.noise_key, SOTTO_KT_TRANSPORT_KEY_BYTES);
		leaf.timestamp_ms = wall_ms();
		rc = fork_get(s, victim, &leaf, &f);
		if (rc == 0)
			f->active = 1;
	}
	return rc;
}

/* swap-key ACCOUNT DEVICE_ID VICTIM NEW_IDENTITY_KEY MODE (nolog, log, transport) */
static int do_swap(struct sotto_server *s, char **tok, int n, int first)
{
	struct swap w;
	uint64_t dev;
	int logged;

	if (n != 6 || unhex(tok[1], w.account, 16) != 0 || parse_u64(tok[2], &dev) != 0 ||
		dev > SOTTO_STORE_MAX_DEVICE_ID || unhex(tok[3], w.victim, 16) != 0 ||
		unhex(tok[4], w.key, 33) != 0 || !identity_key_ok(w.key))
		return SOTTO_ERR_INVALID_ARGUMENT;
	w.device = (uint32_t)dev;
	if (strcmp(tok[5], "nolog") == 0)
		logged = 0;
	else if (strcmp(tok[5], "log") == 0 && dev != 0)
		logged = 1;
	else if (strcmp(tok[5], "transport") == 0 && dev != 0)
		logged = 2;
	else
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (logged == 2 && !first)
		return 0;
	if (logged != 2) {
		if (g_nswaps == MAX_SWAPS)
			return SOTTO_ERR_LIMIT;
		g_swaps[g_nswaps++] = w;
	}
	if (logged && first) {
		/* The device's real row: a logged swap keeps its transport key
		 * (only the identity key is swapped); "transport" keeps the
		 * identity key and logs a transport key of the operator's. */
		sotto_store_device devs[SOTTO_STORE_MAX_DEVICE_ID];
		sotto_kt_leaf leaf;
		size_t nd = 0;
		int rc = sotto_store_device_list(s->store, w.account, 0, devs,
			SOTTO_STORE_MAX_DEVICE_ID, &nd);
		if (rc != 0)
			return rc;
		memset(&leaf, 0, sizeof leaf);
		for (size_t i = 0; i < nd; i++)
			if (devs[i].device_id == w.device) {
				memcpy(leaf.identity_key, devs[i].identity_key, 33);
				memcpy(leaf.transport_key, devs[i].noise_key,
					SOTTO_KT_TRANSPORT_KEY_BYTES);
			}
		if (leaf.identity_key[0] != 0x05)
			return SOTTO_ERR_NOT_FOUND;
		leaf.event = SOTTO_KT_EVENT_KEY_CHANGE;
		memcpy(leaf.account, w.account, 16);
		leaf.device_id = w.device;
		if (logged == 1) {
			memcpy(leaf.identity_key, w.key, 33);
		} else {
			/* The operator's transport key: the last 32 bytes of
			 * NEW_IDENTITY_KEY, a key the device never had. */
			memcpy(leaf.transport_key, w.key + 1, SOTTO_KT_TRANSPORT_KEY_BYTES);
		}
		leaf.timestamp_ms = wall_ms();
		return raw_append(s, &leaf);
	}
	return 0;
}

/* fork VICTIM */
static int do_fork(struct sotto_server *s, char **tok, int n, int first)
{
	uint8_t victim[16];
	struct fork *f;
	int rc;

	if (n != 2 || unhex(tok[1], victim, 16) != 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	f = fork_find(victim);
	if (f != NULL && !first) {
		f->active = 1;
		return 0;
	}
	/* An existing fork (from a ghost line) already diverges. */
	rc = fork_get(s, victim, NULL, &f);
	if (rc == 0)
		f->active = 1;
	return rc;
}

/* rewrite INDEX NEW_IDENTITY_KEY */
static int do_rewrite(struct sotto_server *s, char **tok, int n, int first)
{
	uint8_t key[33];
	uint64_t index;

	if (n != 3 || parse_u64(tok[1], &index) != 0 || unhex(tok[2], key, 33) != 0 ||
		!identity_key_ok(key))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return first ? raw_rewrite(s, index, key) : 0;
}

/* replay SIZE [VICTIM] */
static int do_replay(char **tok, int n)
{
	struct replay r;

	memset(&r, 0, sizeof r);
	if ((n != 2 && n != 3) || parse_u64(tok[1], &r.size) != 0 || r.size == 0 ||
		(n == 3 && unhex(tok[2], r.victim, 16) != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	r.everyone = n == 2;
	if (g_nreplays == MAX_REPLAYS)
		return SOTTO_ERR_LIMIT;
	g_replays[g_nreplays++] = r;
	return 0;
}

static void run_line(struct sotto_server *s, char *line, unsigned lineno)
{
	char copy[LINE_MAX_LEN], *tok[8], *save = NULL;
	int n = 0, rc, first;

	line[strcspn(line, "#\r\n")] = '\0';
	snprintf(copy, sizeof copy, "%s", line);
	for (char *t = strtok_r(line, " \t", &save); t != NULL && n < 8;
		t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	if (n == 0)
		return;
	first = !applied(copy);
	if (strcmp(tok[0], "ghost") == 0)
		rc = do_ghost(s, tok, n, first);
	else if (strcmp(tok[0], "swap-key") == 0)
		rc = do_swap(s, tok, n, first);
	else if (strcmp(tok[0], "fork") == 0)
		rc = do_fork(s, tok, n, first);
	else if (strcmp(tok[0], "rewrite") == 0)
		rc = do_rewrite(s, tok, n, first);
	else if (strcmp(tok[0], "replay") == 0)
		rc = do_replay(tok, n);
	else
		rc = SOTTO_ERR_INVALID_ARGUMENT;
	/* An action is carried out once per process, even if it failed (a
	 * failed action is reported and not retried on every request). */
	if (first)
		mark_applied(copy);
	if (rc != 0)
		srv_log(0, "evil: %s line %u (%s): %s", g_path, lineno, tok[0], sotto_strerror(rc));
	else if (first)
		srv_log(2, "evil: applied line %u: %s", lineno, tok[0]);
}

void sotto__evil_refresh(struct sotto_server *s)
{
	struct stat sb;
	char line[LINE_MAX_LEN];
	unsigned lineno = 0;
	FILE *fp;

	pthread_mutex_lock(&g_mu);
	if (!g_announced) {
		srv_log(1, "%s", sotto__evil_marker);
		g_announced = 1;
	}
	if (!g_path_set) {
		snprintf(g_path, sizeof g_path, "%s/evil.conf", s->data_dir);
		g_path_set = 1;
	}
	if (stat(g_path, &sb) != 0)
		memset(&sb, 0, sizeof sb);
	if (g_stat.valid && sb.st_dev == g_stat.dev && sb.st_ino == g_stat.ino &&
		sb.st_size == g_stat.size && sb.st_mtim.tv_sec == g_stat.mtim.tv_sec &&
		sb.st_mtim.tv_nsec == g_stat.mtim.tv_nsec) {
		pthread_mutex_unlock(&g_mu);
		return;
	}
	g_stat.valid = 1;
	g_stat.dev = sb.st_dev;
	g_stat.ino = sb.st_ino;
	g_stat.size = sb.st_size;
	g_stat.mtim = sb.st_mtim;
	/* State knobs hold while their line is in the file. */
	g_nswaps = 0;
	g_nreplays = 0;
	for (size_t i = 0; i < g_nforks; i++)
		g_forks[i].active = 0;
	fp = fopen(g_path, "r");
	while (fp != NULL && fgets(line, sizeof line, fp) != NULL)
		run_line(s, line, ++lineno);
	if (fp != NULL)
		fclose(fp);
	pthread_mutex_unlock(&g_mu);
}

/* ---- handler hooks ---- */

/* The swapped key for (account, device) given to the current requester. */
static const uint8_t *swapped_key(const uint8_t account[16], uint32_t device)
{
	uint8_t acct[16];

	if (!requester(acct))
		return NULL;
	for (size_t i = 0; i < g_nswaps; i++) {
		const struct swap *w = &g_swaps[i];
		if (memcmp(w->account, account, 16) == 0 && memcmp(w->victim, acct, 16) == 0 &&
			(w->device == 0 || w->device == device))
			return w->key;
	}
	return NULL;
}

void sotto__evil_bundles(const uint8_t account[16], sotto_store_bundle *b, size_t n)
{
	pthread_mutex_lock(&g_mu);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = swapped_key(account, b[i].device_id);
		if (k != NULL)
			memcpy(b[i].identity_key, k, 33);
	}
	pthread_mutex_unlock(&g_mu);
}

void sotto__evil_devices(const uint8_t account[16], sotto_store_device *d, size_t n)
{
	pthread_mutex_lock(&g_mu);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = swapped_key(account, d[i].device_id);
		if (k != NULL)
			memcpy(d[i].identity_key, k, 33);
	}
	pthread_mutex_unlock(&g_mu);
}

/* ---- store operation hooks ---- */

int sotto__evil_op_head(void *be, sotto_kt_signed_head *out, int *rc)
{
	struct fork *f;
	int done = 0;

	(void)be;
	if (tl_bypass || tl_conn == NULL || out == NULL)
		return 0;
	pthread_mutex_lock(&g_mu);
	if ((f = fork_for_requester()) != NULL) {
		*out = f->head;
		*rc = 0;
		done = 1;
	} else if (replay_for_requester(out)) {
		*rc = 0;
		done = 1;
	}
	pthread_mutex_unlock(&g_mu);
	return done;
}

/* The fork's tree of the given size (0: its latest head) as the honest
 * store would describe it. */
static int fork_tree(const struct fork *f, uint64_t *size, sotto_kt_signed_head *head)
{
	sotto_kt_store store = sotto_kt_memstore_store(f->ms);

	if (*size == 0) {
		*size = f->head.head.size;
		if (head != NULL)
			*head = f->head;
		return 0;
	}
	if (*size > f->head.head.size)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (head != NULL) {
		memset(head, 0, sizeof *head);
		head->head = f->head.head;
		head->head.size = *size;
		head->head.timestamp_ms = 0;
		return sotto_kt_store_root(&store, *size, head->head.root);
	}
	return 0;
}

int sotto__evil_op_device_proofs(void *be, const uint8_t account[16], const uint32_t *ids,
	size_t n, uint64_t size, sotto_kt_signed_head *head, sotto_store_kt_proof *out, int *rc)
{
	sotto_kt_signed_head old;
	struct fork *f;
	int done = 0;

	if (tl_bypass || tl_conn == NULL || account == NULL || head == NULL ||
		(n > 0 && (ids == NULL || out == NULL)) || n > SOTTO_STORE_MAX_DEVICE_ID)
		return 0;
	pthread_mutex_lock(&g_mu);
	if ((f = fork_for_requester()) != NULL) {
		sotto_kt_store store = sotto_kt_memstore_store(f->ms);
		*rc = fork_tree(f, &size, head);
		for (size_t i = 0; *rc == 0 && i < n; i++) {
			sotto_store_kt_proof *o = &out[i];
			memset(o, 0, sizeof *o);
			o->size = size;
			if (fork_device_leaf(f, account, ids[i], size, &o->index) != 0) {
				o->index = UINT64_MAX;
				continue;
			}
			memcpy(o->leaf, f->leaves + (size_t)o->index * SOTTO_KT_LEAF_BYTES,
				SOTTO_KT_LEAF_BYTES);
			*rc = sotto_kt_store_inclusion_proof(&store, o->index, size, o->proof,
				SOTTO_KT_MAX_PROOF_HASHES, &o->count);
		}
		done = 1;
	} else if (size == 0 && replay_for_requester(&old)) {
		tl_bypass++;
		*rc = sotto__kt_op_device_proofs(be, account, ids, n, old.head.size, head, out);
		tl_bypass--;
		if (*rc == 0)
			*head = old;
		done = 1;
	}
	pthread_mutex_unlock(&g_mu);
	return done;
}

int sotto__evil_op_index_proof(void *be, uint64_t index, uint64_t size,
	sotto_store_kt_proof *out, int *rc)
{
	sotto_kt_signed_head old;
	struct fork *f;
	int done = 0;

	if (tl_bypass || tl_conn == NULL || out == NULL)
		return 0;
	pthread_mutex_lock(&g_mu);
	if ((f = fork_for_requester()) != NULL) {
		sotto_kt_store store = sotto_kt_memstore_store(f->ms);
		*rc = fork_tree(f, &size, NULL);
		if (*rc == 0 && index >= size)
			*rc = SOTTO_ERR_INVALID_ARGUMENT;
		if (*rc == 0) {
			memset(out, 0, sizeof *out);
			out->index = index;
			out->size = size;
			memcpy(out->leaf, f->leaves + (size_t)index * SOTTO_KT_LEAF_BYTES,
				SOTTO_KT_LEAF_BYTES);
			*rc = sotto_kt_store_inclusion_proof(&store, index, size, out->proof,
				SOTTO_KT_MAX_PROOF_HASHES, &out->count);
		}
		done = 1;
	} else if (size == 0 && replay_for_requester(&old)) {
		tl_bypass++;
		*rc = sotto__kt_op_index_proof(be, index, old.head.size, out);
		tl_bypass--;
		done = 1;
	}
	pthread_mutex_unlock(&g_mu);
	return done;
}

int sotto__evil_op_consistency(void *be, uint64_t size1, uint64_t size2, uint8_t *proof,
	size_t *count, int *rc)
{
	sotto_kt_signed_head old;
	struct fork *f;
	int done = 0;

	if (tl_bypass || tl_conn == NULL || proof == NULL || count == NULL)
		return 0;
	pthread_mutex_lock(&g_mu);
	if ((f = fork_for_requester()) != NULL) {
		sotto_kt_store store = sotto_kt_memstore_store(f->ms);
		*rc = fork_tree(f, &size2, NULL);
		if (*rc == 0 && size1 > size2)
			*rc = SOTTO_ERR_INVALID_ARGUMENT;
		if (*rc == 0)
			*rc = sotto_kt_store_consistency_proof(&store, size1, size2, proof,
				SOTTO_KT_MAX_PROOF_HASHES, count);
		done = 1;
	} else if (size2 == 0 && replay_for_requester(&old)) {
		tl_bypass++;
		*rc = sotto__kt_op_consistency(be, size1, old.head.size, proof, count);
		tl_bypass--;
		done = 1;
	}
	pthread_mutex_unlock(&g_mu);
	return done;
}

int sotto__evil_op_leaves(void *be, uint64_t start, size_t max, uint8_t *leaves, size_t *count,
	int *rc)
{
	sotto_kt_signed_head old;
	struct fork *f;
	int done = 0;

	if (tl_bypass || tl_conn == NULL || leaves == NULL || count == NULL || max == 0 ||
		max > SOTTO_STORE_KT_MAX_LEAVES)
		return 0;
	pthread_mutex_lock(&g_mu);
	if ((f = fork_for_requester()) != NULL) {
		uint64_t size = f->head.head.size;
		*count = 0;
		if (start < size) {
			if (max > size - start)
				max = (size_t)(size - start);
			memcpy(leaves, f->leaves + (size_t)start * SOTTO_KT_LEAF_BYTES,
				max * SOTTO_KT_LEAF_BYTES);
			*count = max;
		}
		*rc = 0;
		done = 1;
	} else if (replay_for_requester(&old)) {
		*count = 0;
		*rc = 0;
		if (start < old.head.size) {
			if (max > old.head.size - start)
				max = (size_t)(old.head.size - start);
			tl_bypass++;
			*rc = sotto__kt_op_leaves(be, start, max, leaves, count);
			tl_bypass--;
		}
		done = 1;
	}
	pthread_mutex_unlock(&g_mu);
	return done;
}
