/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The client's local store: both key modes, wrong passphrases, passphrase
 * changes, no plaintext in the file, AAD binding against edited files,
 * migrations, a full disk, key-file permissions, the expiry sweep,
 * transactions and the protocol adapters driving real sessions. */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/lstore.h"
#include "sotto/error.h"
#include "sotto/group.h"
#include "sotto/hash.h"
#include "sotto/protocol.h"
#include "sotto/session.h"
#include "sotto/util.h"
#include "testutil.h"

#define PASS "correct horse battery staple"
#define NOW 1767225600000ull

static char base[128];
static int dirno;

static void newdir(char *out, size_t cap)
{
	snprintf(out, cap, "%s/p%d", base, dirno++);
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[1024];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof p, "%s/%s", path, e->d_name);
			rm_rf(p);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void dbpath(char *out, size_t cap, const char *dir)
{
	snprintf(out, cap, "%s/%s", dir, SOTTO_LSTORE_DB_NAME);
}

static void keypath(char *out, size_t cap, const char *dir)
{
	snprintf(out, cap, "%s/%s", dir, SOTTO_LSTORE_KEY_NAME);
}

/* SHA-256 of the store file and of the list of files in the directory. */
static void dir_digest(const char *dir, uint8_t out[32])
{
	char p[512], names[2048] = "";
	uint8_t h[2][32];
	size_t len = 0;
	char *data;
	DIR *d = opendir(dir);
	struct dirent *e;

	dbpath(p, sizeof p, dir);
	data = tu_read_file(p, &len);
	CHECK(data != NULL);
	CHECK(sotto_sha256(h[0], (const uint8_t *)(data != NULL ? data : ""), len) == 0);
	free(data);
	/* readdir order is stable for an unchanged directory; sort-free. */
	while (d != NULL && (e = readdir(d)) != NULL) {
		strncat(names, e->d_name, sizeof names - strlen(names) - 2);
		strcat(names, "/");
	}
	if (d != NULL)
		closedir(d);
	CHECK(sotto_sha256(h[1], (const uint8_t *)names, strlen(names)) == 0);
	CHECK(sotto_sha256(out, h[0], sizeof h) == 0);
}

static int mem_has(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	if (m == 0 || m > n)
		return 0;
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return 1;
	return 0;
}

/* Runs SQL on the raw file (what someone editing the disk can do). */
static void raw_sql(const char *dir, const char *sql)
{
	char p[512];
	sqlite3 *db = NULL;
	char *msg = NULL;

	dbpath(p, sizeof p, dir);
	CHECK(sqlite3_open(p, &db) == SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		tu_fail("raw sql failed: %s: %s", sql, msg != NULL ? msg : "?");
		sqlite3_free(msg);
	}
	sqlite3_close(db);
}

static int raw_int(const char *dir, const char *sql)
{
	char p[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v = -1;

	dbpath(p, sizeof p, dir);
	CHECK(sqlite3_open(p, &db) == SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The bytes of a message's sealed body, straight from the file. */
static size_t raw_body(const char *dir, const char *id, uint8_t *out, size_t cap)
{
	char p[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	dbpath(p, sizeof p, dir);
	CHECK(sqlite3_open(p, &db) == SQLITE_OK);
	if (sqlite3_prepare_v2(db, "SELECT body FROM messages WHERE id = ?", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		n = (size_t)sqlite3_column_bytes(st, 0);
		if (n > cap)
			n = cap;
		memcpy(out, sqlite3_column_blob(st, 0), n);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Flips one bit of a message's sealed body in the file. */
static void raw_flip(const char *dir, const char *id, size_t at)
{
	char p[512];
	uint8_t b[512];
	size_t n = raw_body(dir, id, b, sizeof b);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	CHECK(n > at);
	if (n <= at)
		return;
	b[at] ^= 0x01;
	dbpath(p, sizeof p, dir);
	CHECK(sqlite3_open(p, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "UPDATE messages SET body = ? WHERE id = ?", -1, &st, NULL) ==
	      SQLITE_OK);
	CHECK(sqlite3_bind_blob(st, 1, b, (int)n, SQLITE_STATIC) == SQLITE_OK);
	CHECK(sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static sotto_lstore *open_ok(const char *dir, const char *pass, const sotto_lstore_options *o)
{
	sotto_lstore *ls = NULL;
	char err[256];
	int rc = sotto_lstore_open(&ls, dir, pass, pass != NULL ? strlen(pass) : 0, o, err,
				   sizeof err);

	if (rc != 0)
		tu_fail("open %s: %d %s", dir, rc, err);
	return ls;
}

static sotto_lstore *create_ok(const char *dir, const char *pass)
{
	sotto_lstore *ls = NULL;
	char err[256];
	int rc = sotto_lstore_create(&ls, dir, pass, pass != NULL ? strlen(pass) : 0, NULL, err,
				     sizeof err);

	if (rc != 0)
		tu_fail("create %s: %d %s", dir, rc, err);
	return ls;
}

static void set_local(sotto_lstore *ls, const char *account, sotto_identity_keypair *kp)
{
	sotto_lstore_local l;

	memset(&l, 0, sizeof l);
	snprintf(l.account_id, sizeof l.account_id, "%s", account);
	l.device_id = 1;
	CHECK(sotto_registration_id_generate(&l.registration_id, sotto_rng_system, NULL) == 0);
	CHECK(sotto_identity_keypair_generate(&l.identity, sotto_rng_system, NULL) == 0);
	CHECK_RC(sotto_lstore_local_set(ls, &l), 0);
	if (kp != NULL)
		*kp = l.identity;
	sotto_memzero(&l, sizeof l);
}

static int add_msg(sotto_lstore *ls, const char *id, const char *conv, const char *body,
		   uint64_t ts, uint64_t expires)
{
	sotto_lstore_message m = { id,		       conv, SOTTO_LSTORE_INCOMING, conv, 1, ts,
				   (const uint8_t *)body, strlen(body), SOTTO_LSTORE_SENT,
				   expires };

	return sotto_lstore_message_add(ls, &m);
}

struct collect {
	int n;
	char ids[16][32];
	char bodies[16][64];
};

static int collect_cb(void *ctx, const sotto_lstore_message *m)
{
	struct collect *c = ctx;

	if (c->n < 16) {
		snprintf(c->ids[c->n], sizeof c->ids[0], "%s", m->id);
		snprintf(c->bodies[c->n], sizeof c->bodies[0], "%.*s", (int)m->body_len,
			 (const char *)m->body);
	}
	c->n++;
	return 0;
}

/* ---- modes -------------------------------------------------------------- */

static void test_keyfile_mode(void)
{
	char dir[256], p[512], err[256];
	struct stat sb;
	sotto_lstore *ls, *ls2 = NULL;
	sotto_identity_keypair kp;
	sotto_lstore_local l;
	enum sotto_lstore_mode mode = 0;

	newdir(dir, sizeof dir);
	ls = create_ok(dir, NULL);
	if (ls == NULL)
		return;
	CHECK(sotto_lstore_mode(ls) == SOTTO_LSTORE_KEYFILE);
	set_local(ls, "alice", &kp);
	sotto_lstore_close(ls);
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	keypath(p, sizeof p, dir);
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 32);
	dbpath(p, sizeof p, dir);
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK_RC(sotto_lstore_probe(dir, &mode, err, sizeof err), 0);
	CHECK(mode == SOTTO_LSTORE_KEYFILE);
	/* A second create does not touch the first store. */
	CHECK_RC(sotto_lstore_create(&ls2, dir, NULL, 0, NULL, err, sizeof err), SOTTO_ERR_EXISTS);
	CHECK(ls2 == NULL);
	ls = open_ok(dir, NULL, NULL);
	if (ls == NULL)
		return;
	CHECK_RC(sotto_lstore_local_get(ls, &l), 0);
	CHECK(strcmp(l.account_id, "alice") == 0 && l.device_id == 1);
	CHECK(sotto_memeq(&l.identity, &kp, sizeof kp));
	sotto_memzero(&l, sizeof l);
	sotto_lstore_close(ls);
	/* No store at all. */
	newdir(dir, sizeof dir);
	CHECK_RC(sotto_lstore_open(&ls2, dir, NULL, 0, NULL, err, sizeof err), SOTTO_ERR_NOT_FOUND);
	sotto_memzero(&kp, sizeof kp);
}

static void test_keyfile_permissions(void)
{
	char dir[256], kp[512], err[256];
	sotto_lstore *ls = NULL;
	uint8_t rnd[32];
	FILE *f;

	newdir(dir, sizeof dir);
	ls = create_ok(dir, NULL);
	if (ls == NULL)
		return;
	CHECK_RC(sotto_lstore_kv_put(ls, "cfg", (const uint8_t *)"k", 1, (const uint8_t *)"v", 1),
		 0);
	sotto_lstore_close(ls);
	ls = NULL;
	keypath(kp, sizeof kp, dir);
	CHECK(chmod(kp, 0644) == 0);
	CHECK_RC(sotto_lstore_open(&ls, dir, NULL, 0, NULL, err, sizeof err),
		 SOTTO_ERR_INVALID_KEY);
	CHECK(ls == NULL && strstr(err, "accessible by others") != NULL);
	CHECK(chmod(kp, 0640) == 0);
	CHECK_RC(sotto_lstore_open(&ls, dir, NULL, 0, NULL, err, sizeof err),
		 SOTTO_ERR_INVALID_KEY);
	CHECK(chmod(kp, 0600) == 0);
	ls = open_ok(dir, NULL, NULL);
	sotto_lstore_close(ls);
	ls = NULL;
	/* Another key in the key file: refused, not used to make garbage. */
	CHECK(sotto_random(rnd, sizeof rnd) == 0);
	f = fopen(kp, "wb");
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK(fwrite(rnd, 1, sizeof rnd, f) == sizeof rnd);
		fclose(f);
	}
	CHECK_RC(sotto_lstore_open(&ls, dir, NULL, 0, NULL, err, sizeof err),
		 SOTTO_ERR_INVALID_KEY);
	CHECK(strstr(err, "does not belong") != NULL);
	/* A missing key file. */
	CHECK(unlink(kp) == 0);
	CHECK(sotto_lstore_open(&ls, dir, NULL, 0, NULL, err, sizeof err) != 0 && ls == NULL);
}

static void test_passphrase_mode(void)
{
	char dir[256], err[256];
	uint8_t before[32], after[32];
	sotto_lstore *ls, *bad = NULL;
	struct collect c;
	enum sotto_lstore_mode mode = 0;

	newdir(dir, sizeof dir);
	ls = create_ok(dir, PASS);
	if (ls == NULL)
		return;
	CHECK(sotto_lstore_mode(ls) == SOTTO_LSTORE_PASSPHRASE);
	set_local(ls, "bob", NULL);
	CHECK_RC(add_msg(ls, "m1", "alice", "hello bob", 1, 0), 0);
	sotto_lstore_close(ls);
	CHECK(access(dir, F_OK) == 0);
	{
		char kp[512];

		keypath(kp, sizeof kp, dir);
		CHECK(access(kp, F_OK) != 0); /* no key file in this mode */
	}
	CHECK_RC(sotto_lstore_probe(dir, &mode, err, sizeof err), 0);
	CHECK(mode == SOTTO_LSTORE_PASSPHRASE);

	dir_digest(dir, before);
	CHECK_RC(sotto_lstore_open(&bad, dir, "correct horse battery stapler", 29, NULL, err,
				   sizeof err),
		 SOTTO_ERR_INVALID_KEY);
	CHECK(bad == NULL && strcmp(err, "wrong passphrase") == 0);
	CHECK_RC(sotto_lstore_open(&bad, dir, "", 0, NULL, err, sizeof err), SOTTO_ERR_INVALID_KEY);
	CHECK_RC(sotto_lstore_open(&bad, dir, NULL, 0, NULL, err, sizeof err),
		 SOTTO_ERR_INVALID_ARGUMENT);
	dir_digest(dir, after);
	CHECK_MEM(before, after, 32);

	/* An edited Argon2 cost (even a cheaper one) breaks the header's AAD. */
	raw_sql(dir, "UPDATE keyring SET opslimit = 3");
	CHECK_RC(sotto_lstore_open(&bad, dir, PASS, strlen(PASS), NULL, err, sizeof err),
		 SOTTO_ERR_INVALID_KEY);
	raw_sql(dir, "UPDATE keyring SET opslimit = 2");
	/* An absurd one is refused before any derivation. */
	raw_sql(dir, "UPDATE keyring SET memlimit = 4398046510080");
	CHECK_RC(sotto_lstore_open(&bad, dir, PASS, strlen(PASS), NULL, err, sizeof err),
		 SOTTO_ERR_STORAGE);
	raw_sql(dir, "UPDATE keyring SET memlimit = 67108864");

	ls = open_ok(dir, PASS, NULL);
	if (ls == NULL)
		return;
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "alice", 0, collect_cb, &c), 0);
	CHECK(c.n == 1 && strcmp(c.bodies[0], "hello bob") == 0);
	sotto_lstore_close(ls);
}

static void test_change_passphrase(void)
{
	char dir[256], kp[512], err[256];
	sotto_lstore *ls, *bad = NULL;
	sotto_lstore_local l;
	sotto_identity_keypair id;
	sotto_lstore_options moderate = { SOTTO_LSTORE_KDF_MODERATE, 0 };

	newdir(dir, sizeof dir);
	ls = create_ok(dir, PASS);
	if (ls == NULL)
		return;
	set_local(ls, "carol", &id);
	CHECK_RC(sotto_lstore_begin(ls), 0);
	CHECK_RC(sotto_lstore_change_passphrase(ls, "new", 3, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_lstore_rollback(ls), 0);
	CHECK_RC(sotto_lstore_change_passphrase(ls, "new one", 7, &moderate), 0);
	sotto_lstore_close(ls);
	CHECK(raw_int(dir, "SELECT opslimit FROM keyring") == 3);
	CHECK_RC(sotto_lstore_open(&bad, dir, PASS, strlen(PASS), NULL, err, sizeof err),
		 SOTTO_ERR_INVALID_KEY);
	ls = open_ok(dir, "new one", NULL);
	if (ls == NULL)
		return;
	CHECK_RC(sotto_lstore_local_get(ls, &l), 0);
	CHECK(sotto_memeq(&l.identity, &id, sizeof id));
	sotto_lstore_close(ls);

	/* From key-file mode to a passphrase: the key file goes. */
	newdir(dir, sizeof dir);
	ls = create_ok(dir, NULL);
	if (ls == NULL)
		return;
	set_local(ls, "dave", &id);
	CHECK_RC(sotto_lstore_change_passphrase(ls, PASS, strlen(PASS), NULL), 0);
	CHECK(sotto_lstore_mode(ls) == SOTTO_LSTORE_PASSPHRASE);
	sotto_lstore_close(ls);
	keypath(kp, sizeof kp, dir);
	CHECK(access(kp, F_OK) != 0);
	CHECK_RC(sotto_lstore_open(&bad, dir, NULL, 0, NULL, err, sizeof err),
		 SOTTO_ERR_INVALID_ARGUMENT);
	ls = open_ok(dir, PASS, NULL);
	if (ls == NULL)
		return;
	CHECK_RC(sotto_lstore_local_get(ls, &l), 0);
	CHECK(sotto_memeq(&l.identity, &id, sizeof id));
	sotto_memzero(&l, sizeof l);
	sotto_memzero(&id, sizeof id);
	sotto_lstore_close(ls);
}

/* ---- transactions, expiry, misc tables ---------------------------------- */

static void test_transactions(void)
{
	char dir[256];
	sotto_lstore *ls;
	struct collect c;
	int seen = -1;

	newdir(dir, sizeof dir);
	ls = create_ok(dir, NULL);
	if (ls == NULL)
		return;
	CHECK_RC(sotto_lstore_begin(ls), 0);
	CHECK_RC(sotto_lstore_begin(ls), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(add_msg(ls, "r1", "erin", "rolled back", 5, 0), 0);
	CHECK_RC(sotto_lstore_envelope_mark(ls, (const uint8_t *)"env-1", 5, NOW), 0);
	CHECK_RC(sotto_lstore_rollback(ls), 0);
	CHECK_RC(sotto_lstore_envelope_seen(ls, (const uint8_t *)"env-1", 5, &seen), 0);
	CHECK(seen == 0);
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "erin", 0, collect_cb, &c), 0);
	CHECK(c.n == 0);

	CHECK_RC(sotto_lstore_begin(ls), 0);
	CHECK_RC(add_msg(ls, "r1", "erin", "kept", 5, 0), 0);
	CHECK_RC(sotto_lstore_envelope_mark(ls, (const uint8_t *)"env-1", 5, NOW), 0);
	/* A duplicate inside the transaction does not undo it. */
	CHECK_RC(sotto_lstore_envelope_mark(ls, (const uint8_t *)"env-1", 5, NOW),
		 SOTTO_ERR_DUPLICATE_MESSAGE);
	CHECK_RC(sotto_lstore_commit(ls), 0);
	CHECK_RC(sotto_lstore_commit(ls), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_lstore_envelope_mark(ls, (const uint8_t *)"env-1", 5, NOW + 1),
		 SOTTO_ERR_DUPLICATE_MESSAGE);
	CHECK_RC(add_msg(ls, "r1", "erin", "again", 6, 0), SOTTO_ERR_EXISTS);
	CHECK_RC(sotto_lstore_envelope_prune(ls, NOW + 1), 0);
	CHECK_RC(sotto_lstore_envelope_seen(ls, (const uint8_t *)"env-1", 5, &seen), 0);
	CHECK(seen == 0);

	/* Status only moves forward. */
	CHECK_RC(sotto_lstore_message_set_status(ls, "r1", SOTTO_LSTORE_READ), 0);
	CHECK_RC(sotto_lstore_message_set_status(ls, "r1", SOTTO_LSTORE_DELIVERED), 0);
	CHECK(raw_int(dir, "SELECT status FROM messages WHERE id = 'r1'") == SOTTO_LSTORE_READ);
	CHECK_RC(sotto_lstore_message_set_status(ls, "nope", SOTTO_LSTORE_READ),
		 SOTTO_ERR_NOT_FOUND);
	sotto_lstore_close(ls);
}

struct paths {
	int n;
	char last[128];
};

static void path_cb(void *ctx, const char *path)
{
	struct paths *p = ctx;

	p->n++;
	snprintf(p->last, sizeof p->last, "%s", path);
}

static uint8_t *read_all(const char *dir, size_t *len);

static void test_expiry(void)
{
	char dir[256];
	sotto_lstore *ls;
	struct collect c;
	struct paths paths;
	uint32_t timer = 99, deleted = 99;
	sotto_lstore_attachment att;
	uint8_t sealed[256], *file;
	size_t sealed_len, flen = 0;

	newdir(dir, sizeof dir);
	ls = create_ok(dir, NULL);
	if (ls == NULL)
		return;
	CHECK_RC(sotto_lstore_conversation_timer(ls, "frank", &timer), 0);
	CHECK(timer == 0);
	CHECK_RC(sotto_lstore_conversation_set_timer(ls, "frank", 30, NOW), 0);
	CHECK_RC(sotto_lstore_conversation_timer(ls, "frank", &timer), 0);
	CHECK(timer == 30);
	CHECK_RC(add_msg(ls, "e1", "frank", "gone at 1000", 1, 1000), 0);
	CHECK_RC(add_msg(ls, "e2", "frank", "gone at 2000", 2, 0), 0);
	CHECK_RC(sotto_lstore_message_set_expiry(ls, "e2", 2000), 0);
	CHECK_RC(add_msg(ls, "e3", "frank", "stays", 3, 0), 0);
	memset(&att, 0, sizeof att);
	att.id = "a1";
	att.message_id = "e1";
	att.size = 5;
	att.file_name = "x.txt";
	CHECK_RC(sotto_lstore_attachment_put(ls, &att), 0);
	CHECK_RC(sotto_lstore_attachment_set_path(ls, "a1", "/profile/attachments/a1"), 0);
	CHECK_RC(sotto_lstore_attachment_set_path(ls, "a9", "/x"), SOTTO_ERR_NOT_FOUND);

	sealed_len = raw_body(dir, "e1", sealed, sizeof sealed);
	CHECK(sealed_len > 40);
	memset(&paths, 0, sizeof paths);
	CHECK_RC(sotto_lstore_sweep_expired(ls, 999, path_cb, &paths, &deleted), 0);
	CHECK(deleted == 0 && paths.n == 0);
	CHECK_RC(sotto_lstore_sweep_expired(ls, 1000, path_cb, &paths, &deleted), 0);
	CHECK(deleted == 1 && paths.n == 1 && strcmp(paths.last, "/profile/attachments/a1") == 0);
	CHECK(raw_int(dir, "SELECT count(*) FROM attachments") == 0);
	CHECK_RC(sotto_lstore_sweep_expired(ls, 1999, path_cb, &paths, &deleted), 0);
	CHECK(deleted == 0);
	CHECK_RC(sotto_lstore_sweep_expired(ls, 5000, NULL, NULL, &deleted), 0);
	CHECK(deleted == 1);
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "frank", 0, collect_cb, &c), 0);
	CHECK(c.n == 1 && strcmp(c.ids[0], "e3") == 0);
	sotto_lstore_close(ls);
	/* secure_delete: not even the ciphertext of a swept message lingers in
	 * free pages. */
	file = read_all(dir, &flen);
	CHECK(file != NULL && flen > 0);
	if (file != NULL)
		CHECK(!mem_has(file, flen, sealed + 24, sealed_len - 24));
	free(file);
}

/* ---- no plaintext on disk ------------------------------------------------ */

struct needles {
	uint8_t v[16][64];
	size_t n[16];
	int count;
};

static void needle(struct needles *nd, const void *p, size_t n)
{
	if (n > 64)
		n = 64;
	memcpy(nd->v[nd->count], p, n);
	nd->n[nd->count++] = n;
}

static uint8_t *read_all(const char *dir, size_t *len)
{
	char p[512], wal[600];
	size_t a = 0, b = 0;
	char *x, *y;
	uint8_t *out;

	dbpath(p, sizeof p, dir);
	snprintf(wal, sizeof wal, "%s-wal", p);
	x = tu_read_file(p, &a);
	y = tu_read_file(wal, &b); /* NULL when checkpointed away */
	out = malloc(a + b + 1);
	if (out != NULL && x != NULL) {
		memcpy(out, x, a);
		if (y != NULL)
			memcpy(out + a, y, b);
	}
	free(x);
	free(y);
	*len = x != NULL ? a + (y != NULL ? b : 0) : 0;
	return out;
}

static void test_no_plaintext(void)
{
	char dir[256];
	sotto_lstore *ls;
	sotto_identity_keypair kp;
	sotto_prekey_record pk;
	sotto_signed_prekey_record spk;
	static sotto_kyber_prekey_record kpk;
	sotto_lstore_attachment att;
	sotto_protocol_stores st;
	sotto_sender_key_store sks;
	sotto_address peer = { "zed", 2 };
	uint8_t sess[200], sk[300], dist[16] = { 7 };
	struct needles nd;
	uint8_t *file;
	size_t flen = 0;
	static const char body[] = "the eagle lands at midnight, bring the blue folder";

	memset(&nd, 0, sizeof nd);
	newdir(dir, sizeof dir);
	ls = create_ok(dir, PASS);
	if (ls == NULL)
		return;
	set_local(ls, "grace-account", &kp);
	needle(&nd, kp.priv, 32);
	CHECK(sotto_prekey_generate(&pk, 11, sotto_rng_system, NULL) == 0);
	CHECK(sotto_signed_prekey_generate(&spk, 12, NOW, &kp, sotto_rng_system, NULL) == 0);
	CHECK(sotto_kyber_prekey_generate(&kpk, 13, NOW, &kp, sotto_rng_system, NULL) == 0);
	CHECK_RC(sotto_lstore_prekey_put(ls, &pk, NOW), 0);
	CHECK_RC(sotto_lstore_signed_prekey_put(ls, &spk), 0);
	CHECK_RC(sotto_lstore_kyber_prekey_put(ls, &kpk, 1), 0);
	needle(&nd, pk.key.priv, 32);
	needle(&nd, spk.key.priv, 32);
	needle(&nd, kpk.priv + 1000, 32);
	/* Session and sender-key records are opaque to the store: random
	 * bytes stand in for them. */
	sotto_lstore_protocol_stores(ls, &st);
	sotto_lstore_sender_key_store(ls, &sks);
	CHECK(sotto_random(sess, sizeof sess) == 0 && sotto_random(sk, sizeof sk) == 0);
	CHECK_RC(st.session.store(st.session.ctx, &peer, sess, sizeof sess), 0);
	CHECK_RC(sks.store(sks.ctx, "zed", 2, dist, sk, sizeof sk), 0);
	needle(&nd, sess + 80, 24);
	needle(&nd, sk + 150, 24);
	CHECK_RC(add_msg(ls, "msg-1", "zed", body, 10, 0), 0);
	needle(&nd, body, strlen(body));
	needle(&nd, "the eagle", 9);
	CHECK_RC(sotto_lstore_contact_put(ls, "zed", "Zed Secretname", NOW), 0);
	needle(&nd, "Secretname", 10);
	memset(&att, 0, sizeof att);
	att.id = "att-1";
	att.message_id = "msg-1";
	CHECK(sotto_random(att.key, sizeof att.key) == 0);
	att.size = 1234;
	att.file_name = "plans-for-tuesday.pdf";
	att.content_type = "application/pdf";
	att.local_path = "/home/grace/attachments/att-1";
	CHECK_RC(sotto_lstore_attachment_put(ls, &att), 0);
	needle(&nd, att.key, 32);
	needle(&nd, "plans-for-tuesday", 17);
	CHECK_RC(sotto_lstore_kv_put(ls, "server", (const uint8_t *)"password", 8,
				     (const uint8_t *)"hunter2-server-pw", 17),
		 0);
	needle(&nd, "hunter2-server-pw", 17);
	CHECK_RC(sotto_lstore_peer_save(ls, "zed", kp.pub, NOW), 0);
	sotto_lstore_close(ls);

	file = read_all(dir, &flen);
	CHECK(file != NULL && flen > 4096);
	if (file == NULL)
		return;
	/* The search itself works: clear columns are found. */
	CHECK(mem_has(file, flen, "grace-account", 13));
	CHECK(mem_has(file, flen, "msg-1", 5));
	for (int i = 0; i < nd.count; i++) {
		if (mem_has(file, flen, nd.v[i], nd.n[i]))
			tu_fail("needle %d found in the store file", i);
		tu_checks++;
	}
	free(file);

	/* Everything comes back with the passphrase. */
	ls = open_ok(dir, PASS, NULL);
	if (ls != NULL) {
		sotto_kyber_prekey_record *k2 = malloc(sizeof *k2);
		uint8_t buf[400];
		size_t n = 0;

		CHECK(k2 != NULL);
		if (k2 != NULL) {
			CHECK_RC(sotto_lstore_kyber_prekey_get(ls, 13, k2), 0);
			CHECK(memcmp(k2->priv, kpk.priv, sizeof kpk.priv) == 0);
			sotto_memzero(k2, sizeof *k2);
			free(k2);
		}
		sotto_lstore_protocol_stores(ls, &st);
		sotto_lstore_sender_key_store(ls, &sks);
		CHECK_RC(st.session.load(st.session.ctx, &peer, buf, 10, &n),
			 SOTTO_ERR_BUFFER_TOO_SMALL);
		CHECK(n == sizeof sess);
		CHECK_RC(st.session.load(st.session.ctx, &peer, buf, sizeof buf, &n), 0);
		CHECK(n == sizeof sess && memcmp(buf, sess, n) == 0);
		CHECK_RC(sks.load(sks.ctx, "zed", 2, dist, buf, sizeof buf, &n), 0);
		CHECK(n == sizeof sk && memcmp(buf, sk, n) == 0);
		dist[0] ^= 1;
		CHECK_RC(sks.load(sks.ctx, "zed", 2, dist, buf, sizeof buf, &n), SOTTO_ERR_NOT_FOUND);
		sotto_lstore_close(ls);
	}
	sotto_memzero(&kp, sizeof kp);
	sotto_memzero(&pk, sizeof pk);
	sotto_memzero(&spk, sizeof spk);
	sotto_memzero(&kpk, sizeof kpk);
}

/* ---- AAD binding -------------------------------------------------------- */

static void test_aad_binding(void)
{
	char dir[256];
	sotto_lstore *ls;
	struct collect c;
	sotto_protocol_stores st;
	sotto_address d1 = { "henry", 1 }, d2 = { "henry", 2 };
	uint8_t r1[40], r2[40], buf[64];
	uint8_t *val = NULL;
	size_t n = 0;
	char disp[64];

	newdir(dir, sizeof dir);
	ls = create_ok(dir, NULL);
	if (ls == NULL)
		return;
	CHECK_RC(add_msg(ls, "A", "henry", "message A", 1, 0), 0);
	CHECK_RC(add_msg(ls, "B", "henry", "message B", 2, 0), 0);
	sotto_lstore_protocol_stores(ls, &st);
	memset(r1, 1, sizeof r1);
	memset(r2, 2, sizeof r2);
	CHECK_RC(st.session.store(st.session.ctx, &d1, r1, sizeof r1), 0);
	CHECK_RC(st.session.store(st.session.ctx, &d2, r2, sizeof r2), 0);
	CHECK_RC(sotto_lstore_contact_put(ls, "henry", "Henry", NOW), 0);
	CHECK_RC(sotto_lstore_contact_put(ls, "ida", "Ida", NOW), 0);
	CHECK_RC(sotto_lstore_kv_put(ls, "ns", (const uint8_t *)"a", 1, (const uint8_t *)"AAAA", 4),
		 0);
	CHECK_RC(sotto_lstore_kv_put(ls, "ns", (const uint8_t *)"b", 1, (const uint8_t *)"BBBB", 4),
		 0);
	sotto_lstore_close(ls);

	/* Someone with the file copies rows onto other rows' keys. */
	raw_sql(dir, "UPDATE messages SET body = (SELECT body FROM messages WHERE id = 'B') "
		     "WHERE id = 'A';"
		     "UPDATE sessions SET record = (SELECT record FROM sessions WHERE device_id = 1) "
		     "WHERE device_id = 2;"
		     "UPDATE contacts SET display = (SELECT display FROM contacts WHERE name = "
		     "'henry') WHERE name = 'ida';"
		     "UPDATE kv SET value = (SELECT value FROM kv WHERE key = X'61') "
		     "WHERE key = X'62';");
	ls = open_ok(dir, NULL, NULL);
	if (ls == NULL)
		return;
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "henry", 0, collect_cb, &c), SOTTO_ERR_STORAGE);
	CHECK(strstr(sotto_lstore_errmsg(ls), "does not authenticate") != NULL);
	sotto_lstore_protocol_stores(ls, &st);
	CHECK_RC(st.session.load(st.session.ctx, &d1, buf, sizeof buf, &n), 0);
	CHECK(n == sizeof r1 && memcmp(buf, r1, n) == 0);
	CHECK_RC(st.session.load(st.session.ctx, &d2, buf, sizeof buf, &n), SOTTO_ERR_STORAGE);
	CHECK_RC(sotto_lstore_contact_get(ls, "henry", disp, sizeof disp, NULL), 0);
	CHECK(strcmp(disp, "Henry") == 0);
	CHECK_RC(sotto_lstore_contact_get(ls, "ida", disp, sizeof disp, NULL), SOTTO_ERR_STORAGE);
	CHECK_RC(sotto_lstore_kv_get(ls, "ns", (const uint8_t *)"b", 1, &val, &n),
		 SOTTO_ERR_STORAGE);
	CHECK_RC(sotto_lstore_kv_get(ls, "ns", (const uint8_t *)"a", 1, &val, &n), 0);
	CHECK(n == 4 && val != NULL && memcmp(val, "AAAA", 4) == 0);
	free(val);
	sotto_lstore_close(ls);

	/* Re-attributing a message (a clear column) breaks its body too; a
	 * flipped ciphertext bit likewise. */
	raw_sql(dir, "DELETE FROM messages WHERE id = 'A'; UPDATE messages SET sender = 'ida' "
		     "WHERE id = 'B';");
	ls = open_ok(dir, NULL, NULL);
	if (ls == NULL)
		return;
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "henry", 0, collect_cb, &c), SOTTO_ERR_STORAGE);
	CHECK_RC(add_msg(ls, "C", "henry", "message C", 3, 0), 0);
	sotto_lstore_close(ls);
	raw_sql(dir, "DELETE FROM messages WHERE id = 'B';");
	ls = open_ok(dir, NULL, NULL);
	if (ls == NULL)
		return;
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "henry", 0, collect_cb, &c), 0);
	CHECK(c.n == 1 && strcmp(c.bodies[0], "message C") == 0);
	sotto_lstore_close(ls);
	raw_flip(dir, "C", 30);
	ls = open_ok(dir, NULL, NULL);
	if (ls == NULL)
		return;
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "henry", 0, collect_cb, &c), SOTTO_ERR_STORAGE);
	sotto_lstore_close(ls);
}

/* ---- migrations ---------------------------------------------------------- */

static void test_migrations(void)
{
	char dir[256], err[256], sql[128];
	uint8_t before[32], after[32];
	sotto_lstore *ls, *bad = NULL;
	struct collect c;
	int v = sotto_lstore_schema_version();

	CHECK(v >= 2);
	newdir(dir, sizeof dir);
	ls = create_ok(dir, PASS);
	if (ls == NULL)
		return;
	CHECK_RC(add_msg(ls, "old", "jack", "from the old schema", 1, 0), 0);
	sotto_lstore_close(ls);
	CHECK(raw_int(dir, "SELECT max(version) FROM schema_version") == v);

	/* Back to version 1, as an older client left it. */
	raw_sql(dir, "DROP INDEX messages_by_expiry; DROP TABLE kem_prekey_uses;"
		     "UPDATE schema_version SET version = 1;");
	/* A wrong passphrase migrates nothing. */
	CHECK_RC(sotto_lstore_open(&bad, dir, "nope", 4, NULL, err, sizeof err),
		 SOTTO_ERR_INVALID_KEY);
	CHECK(raw_int(dir, "SELECT max(version) FROM schema_version") == 1);
	ls = open_ok(dir, PASS, NULL);
	if (ls == NULL)
		return;
	sotto_lstore_close(ls);
	CHECK(raw_int(dir, "SELECT max(version) FROM schema_version") == v);
	CHECK(raw_int(dir, "SELECT count(*) FROM sqlite_master WHERE name = 'kem_prekey_uses'") ==
	      1);
	ls = open_ok(dir, PASS, NULL);
	if (ls == NULL)
		return;
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "jack", 0, collect_cb, &c), 0);
	CHECK(c.n == 1 && strcmp(c.bodies[0], "from the old schema") == 0);
	sotto_lstore_close(ls);

	/* A newer schema is refused and left alone. */
	snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d;", v + 1);
	raw_sql(dir, sql);
	dir_digest(dir, before);
	CHECK_RC(sotto_lstore_open(&bad, dir, PASS, strlen(PASS), NULL, err, sizeof err),
		 SOTTO_ERR_VERSION_MISMATCH);
	CHECK(bad == NULL && strstr(err, "newer") != NULL);
	dir_digest(dir, after);
	CHECK_MEM(before, after, 32);
}

/* ---- full disk ----------------------------------------------------------- */

static void test_full_disk(void)
{
	char dir[256], id[32], body[3000];
	sotto_lstore *ls;
	sotto_lstore_options o = { SOTTO_LSTORE_KDF_INTERACTIVE, 0 };
	struct collect c;
	int i, rc = 0, stored = 0;

	newdir(dir, sizeof dir);
	ls = create_ok(dir, NULL);
	if (ls == NULL)
		return;
	CHECK_RC(add_msg(ls, "keep-1", "kim", "first", 1, 0), 0);
	CHECK_RC(add_msg(ls, "keep-2", "kim", "second", 2, 0), 0);
	sotto_lstore_close(ls);
	o.max_page_count = (uint32_t)raw_int(dir, "PRAGMA page_count") + 3;
	ls = open_ok(dir, NULL, &o);
	if (ls == NULL)
		return;
	memset(body, 'x', sizeof body - 1);
	body[sizeof body - 1] = 0;
	for (i = 0; i < 50; i++) {
		snprintf(id, sizeof id, "big-%02d", i);
		rc = add_msg(ls, id, "kim", body, 10 + (uint64_t)i, 0);
		if (rc != 0)
			break;
		stored++;
	}
	CHECK(rc == SOTTO_ERR_STORAGE && stored < 50);
	CHECK(strstr(sotto_lstore_errmsg(ls), "full") != NULL);
	/* The receive path on a full disk: the message does not fit, the
	 * caller rolls back, and the envelope is not marked either (so it is
	 * not acknowledged and comes again). */
	CHECK_RC(sotto_lstore_begin(ls), 0);
	CHECK_RC(sotto_lstore_envelope_mark(ls, (const uint8_t *)"env-full", 8, NOW), 0);
	CHECK_RC(add_msg(ls, "tx-big", "kim", body, 100, 0), SOTTO_ERR_STORAGE);
	CHECK_RC(sotto_lstore_rollback(ls), 0);
	{
		int seen = -1;

		CHECK_RC(sotto_lstore_envelope_seen(ls, (const uint8_t *)"env-full", 8, &seen), 0);
		CHECK(seen == 0);
	}
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "kim", 0, collect_cb, &c), 0);
	CHECK(c.n == 2 + stored);
	CHECK(strcmp(c.bodies[0], "first") == 0 && strcmp(c.bodies[1], "second") == 0);
	for (i = 0; i < c.n && i < 16; i++)
		CHECK(strcmp(c.ids[i], "tx-big") != 0);
	sotto_lstore_close(ls);
	/* Reopened without the ceiling, everything old is there. */
	ls = open_ok(dir, NULL, NULL);
	if (ls == NULL)
		return;
	memset(&c, 0, sizeof c);
	CHECK_RC(sotto_lstore_message_foreach(ls, "kim", 0, collect_cb, &c), 0);
	CHECK(c.n == 2 + stored);
	CHECK_RC(add_msg(ls, "after", "kim", "fits again", 200, 0), 0);
	sotto_lstore_close(ls);
}

/* ---- adapters: real sessions over two stores ----------------------------- */

struct party {
	char dir[256];
	sotto_lstore *ls;
	sotto_protocol_stores st;
	sotto_sender_key_store sks;
	sotto_address addr;
	sotto_identity_keypair id;
	uint32_t reg;
};

static uint64_t clock_cb(void *ctx)
{
	return *(const uint64_t *)ctx;
}

static uint64_t fake_now = NOW;

static void party_open(struct party *p)
{
	p->ls = open_ok(p->dir, NULL, NULL);
	if (p->ls == NULL)
		return;
	sotto_lstore_set_clock(p->ls, clock_cb, &fake_now);
	sotto_lstore_protocol_stores(p->ls, &p->st);
	sotto_lstore_sender_key_store(p->ls, &p->sks);
}

static int party_new(struct party *p, const char *name)
{
	sotto_lstore_local l;

	memset(p, 0, sizeof *p);
	newdir(p->dir, sizeof p->dir);
	p->ls = create_ok(p->dir, NULL);
	if (p->ls == NULL)
		return -1;
	memset(&l, 0, sizeof l);
	snprintf(l.account_id, sizeof l.account_id, "%s", name);
	l.device_id = 1;
	if (sotto_registration_id_generate(&l.registration_id, sotto_rng_system, NULL) != 0 ||
	    sotto_identity_keypair_generate(&l.identity, sotto_rng_system, NULL) != 0 ||
	    sotto_lstore_local_set(p->ls, &l) != 0)
		return -1;
	p->id = l.identity;
	p->reg = l.registration_id;
	sotto_memzero(&l, sizeof l);
	sotto_lstore_close(p->ls);
	party_open(p);
	p->addr.name = name;
	p->addr.device_id = 1;
	return p->ls != NULL ? 0 : -1;
}

static void party_reopen(struct party *p)
{
	sotto_lstore_close(p->ls);
	party_open(p);
}

static void test_adapters(void)
{
	struct party alice, bob, carol;
	sotto_prekey_record opk;
	sotto_signed_prekey_record spk;
	static sotto_kyber_prekey_record kpk;
	static sotto_prekey_bundle bundle;
	sotto_lstore_peer peer;
	uint8_t ct[4096], ct2[4096], pt[256], dist[16], skdm[SOTTO_SKDM_MAX_BYTES];
	size_t len = 0, len2 = 0, n = 0, skdm_len = 0;
	uint32_t count = 0, max_id = 0;
	int type = 0, type2 = 0;

	if (party_new(&alice, "alice") != 0 || party_new(&bob, "bob") != 0 ||
	    party_new(&carol, "carol") != 0) {
		tu_fail("party setup");
		return;
	}
	/* Bob's prekeys; the Kyber one is his last resort. */
	CHECK(sotto_prekey_generate(&opk, 1, sotto_rng_system, NULL) == 0);
	CHECK(sotto_signed_prekey_generate(&spk, 2, NOW, &bob.id, sotto_rng_system, NULL) == 0);
	CHECK(sotto_kyber_prekey_generate(&kpk, 3, NOW, &bob.id, sotto_rng_system, NULL) == 0);
	CHECK_RC(sotto_lstore_prekey_put(bob.ls, &opk, NOW), 0);
	CHECK_RC(sotto_lstore_signed_prekey_put(bob.ls, &spk), 0);
	CHECK_RC(sotto_lstore_kyber_prekey_put(bob.ls, &kpk, 1), 0);
	CHECK_RC(sotto_lstore_prekey_stats(bob.ls, SOTTO_LSTORE_PREKEY_EC, &count, &max_id), 0);
	CHECK(count == 1 && max_id == 1);
	CHECK_RC(sotto_lstore_prekey_stats(bob.ls, SOTTO_LSTORE_PREKEY_KEM, &count, &max_id), 0);
	CHECK(count == 0 && max_id == 3); /* last resort is not counted */
	bundle.registration_id = bob.reg;
	bundle.device_id = 1;
	bundle.has_pre_key = 1;
	bundle.pre_key_id = opk.id;
	memcpy(bundle.pre_key, opk.key.pub, sizeof bundle.pre_key);
	bundle.signed_pre_key_id = spk.id;
	memcpy(bundle.signed_pre_key, spk.key.pub, sizeof bundle.signed_pre_key);
	memcpy(bundle.signed_pre_key_signature, spk.signature, 64);
	memcpy(bundle.identity_key, bob.id.pub, sizeof bundle.identity_key);
	bundle.kyber_pre_key_id = kpk.id;
	memcpy(bundle.kyber_pre_key, kpk.pub, sizeof bundle.kyber_pre_key);
	memcpy(bundle.kyber_pre_key_signature, kpk.signature, 64);

	CHECK_RC(sotto_session_process_bundle(&alice.st, &alice.addr, &bob.addr, &bundle, NOW,
					      sotto_rng_system, NULL),
		 0);
	party_reopen(&alice);
	CHECK_RC(sotto_session_encrypt(&alice.st, &alice.addr, &bob.addr,
				       (const uint8_t *)"hi bob", 6, NOW, sotto_rng_system, NULL,
				       ct, sizeof ct, &len, &type),
		 0);
	CHECK(type == SOTTO_MESSAGE_TYPE_PREKEY);
	party_reopen(&bob);

	/* The receive path: decrypt, store, mark seen, one commit. */
	CHECK_RC(sotto_lstore_begin(bob.ls), 0);
	CHECK_RC(sotto_session_decrypt(&bob.st, &bob.addr, &alice.addr, type, ct, len,
				       sotto_rng_system, NULL, pt, sizeof pt, &n),
		 0);
	CHECK(n == 6 && memcmp(pt, "hi bob", 6) == 0);
	CHECK_RC(add_msg(bob.ls, "in-1", "alice", "hi bob", NOW, 0), 0);
	CHECK_RC(sotto_lstore_envelope_mark(bob.ls, (const uint8_t *)"seq-1", 5, NOW), 0);
	CHECK_RC(sotto_lstore_commit(bob.ls), 0);
	/* The one-time prekey is gone, the last-resort one is marked used. */
	CHECK_RC(sotto_lstore_prekey_get(bob.ls, 1, &opk), SOTTO_ERR_NOT_FOUND);
	CHECK(raw_int(bob.dir, "SELECT used FROM prekeys WHERE kind = 3 AND id = 3") == 1);
	CHECK_RC(sotto_lstore_peer_get(bob.ls, "alice", &peer), 0);
	CHECK(memcmp(peer.key, alice.id.pub, 33) == 0 && peer.first_seen_ms == NOW &&
	      !peer.verified && !peer.changed);
	/* A replay fails and, rolled back, changes nothing. */
	party_reopen(&bob);
	CHECK_RC(sotto_lstore_begin(bob.ls), 0);
	CHECK(sotto_session_decrypt(&bob.st, &bob.addr, &alice.addr, type, ct, len,
				    sotto_rng_system, NULL, pt, sizeof pt, &n) != 0);
	CHECK_RC(sotto_lstore_rollback(bob.ls), 0);

	/* Bob answers; Alice reads it after a restart. */
	CHECK_RC(sotto_session_encrypt(&bob.st, &bob.addr, &alice.addr,
				       (const uint8_t *)"hi alice", 8, NOW, sotto_rng_system, NULL,
				       ct, sizeof ct, &len, &type),
		 0);
	CHECK(type == SOTTO_MESSAGE_TYPE_WHISPER);
	party_reopen(&alice);
	CHECK_RC(sotto_session_decrypt(&alice.st, &alice.addr, &bob.addr, type, ct, len,
				       sotto_rng_system, NULL, pt, sizeof pt, &n),
		 0);
	CHECK(n == 8 && memcmp(pt, "hi alice", 8) == 0);

	/* Carol also uses Bob's last-resort Kyber prekey (no one-time EC key
	 * left): fine once, refused when replayed... */
	bundle.has_pre_key = 0;
	CHECK_RC(sotto_session_process_bundle(&carol.st, &carol.addr, &bob.addr, &bundle, NOW,
					      sotto_rng_system, NULL),
		 0);
	CHECK_RC(sotto_session_encrypt(&carol.st, &carol.addr, &bob.addr,
				       (const uint8_t *)"carol here", 10, NOW, sotto_rng_system,
				       NULL, ct2, sizeof ct2, &len2, &type2),
		 0);
	CHECK_RC(sotto_lstore_begin(bob.ls), 0);
	CHECK_RC(sotto_session_decrypt(&bob.st, &bob.addr, &carol.addr, type2, ct2, len2,
				       sotto_rng_system, NULL, pt, sizeof pt, &n),
		 0);
	CHECK_RC(sotto_lstore_commit(bob.ls), 0);
	CHECK(raw_int(bob.dir, "SELECT count(*) FROM kem_prekey_uses") == 2);
	/* ...even after Bob lost his session with her (a replay against a fresh
	 * record would otherwise rebuild one). */
	CHECK_RC(sotto_lstore_session_delete(bob.ls, "carol", 0), 0);
	CHECK_RC(sotto_lstore_begin(bob.ls), 0);
	CHECK_RC(sotto_session_decrypt(&bob.st, &bob.addr, &carol.addr, type2, ct2, len2,
				       sotto_rng_system, NULL, pt, sizeof pt, &n),
		 SOTTO_ERR_DUPLICATE_MESSAGE);
	CHECK_RC(sotto_lstore_rollback(bob.ls), 0);
	{
		uint32_t ids[4];
		size_t nd = 0;

		CHECK_RC(sotto_lstore_session_devices(bob.ls, "alice", ids, 4, &nd), 0);
		CHECK(nd == 1 && ids[0] == 1);
		CHECK_RC(sotto_lstore_session_devices(bob.ls, "carol", ids, 4, &nd), 0);
		CHECK(nd == 0);
	}

	/* Safety numbers: verify, then an identity change unverifies. */
	CHECK_RC(sotto_lstore_peer_set_verified(bob.ls, "alice", carol.id.pub, 1),
		 SOTTO_ERR_UNTRUSTED_IDENTITY);
	CHECK_RC(sotto_lstore_peer_set_verified(bob.ls, "alice", alice.id.pub, 1), 0);
	CHECK_RC(sotto_lstore_peer_get(bob.ls, "alice", &peer), 0);
	CHECK(peer.verified == 1);
	CHECK(bob.st.identity.is_trusted(bob.st.identity.ctx, &alice.addr, carol.id.pub,
					 SOTTO_DIRECTION_SENDING) == 0);
	CHECK(bob.st.identity.is_trusted(bob.st.identity.ctx, &alice.addr, alice.id.pub,
					 SOTTO_DIRECTION_SENDING) == 1);
	fake_now = NOW + 5000;
	CHECK_RC(bob.st.identity.save(bob.st.identity.ctx, &alice.addr, alice.id.pub), 0);
	CHECK_RC(bob.st.identity.save(bob.st.identity.ctx, &alice.addr, carol.id.pub), 1);
	CHECK_RC(sotto_lstore_peer_get(bob.ls, "alice", &peer), 0);
	CHECK(peer.verified == 0 && peer.changed == 1 && peer.first_seen_ms == NOW + 5000);

	/* Sender keys: Alice distributes, Bob decrypts across a restart. */
	CHECK(sotto_random(dist, sizeof dist) == 0);
	CHECK_RC(sotto_group_skdm_create(&alice.sks, "alice", 1, dist, sotto_rng_system, NULL,
					 skdm, sizeof skdm, &skdm_len),
		 0);
	CHECK_RC(sotto_group_skdm_process(&bob.sks, "alice", 1, skdm, skdm_len), 0);
	party_reopen(&alice);
	party_reopen(&bob);
	for (int i = 0; i < 2; i++) {
		char m[32];

		snprintf(m, sizeof m, "group message %d", i);
		CHECK_RC(sotto_group_encrypt(&alice.sks, "alice", 1, dist, sotto_rng_system, NULL,
					     (const uint8_t *)m, strlen(m), ct, sizeof ct, &len),
			 0);
		CHECK_RC(sotto_group_decrypt(&bob.sks, "alice", 1, ct, len, pt, sizeof pt, &n), 0);
		CHECK(n == strlen(m) && memcmp(pt, m, n) == 0);
		party_reopen(&bob);
	}
	CHECK_RC(sotto_group_decrypt(&bob.sks, "alice", 1, ct, len, pt, sizeof pt, &n),
		 SOTTO_ERR_DUPLICATE_MESSAGE);

	sotto_lstore_close(alice.ls);
	sotto_lstore_close(bob.ls);
	sotto_lstore_close(carol.ls);
	sotto_memzero(&alice, sizeof alice);
	sotto_memzero(&bob, sizeof bob);
	sotto_memzero(&carol, sizeof carol);
	sotto_memzero(&opk, sizeof opk);
	sotto_memzero(&spk, sizeof spk);
	sotto_memzero(&kpk, sizeof kpk);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	if (sotto_init() != 0)
		return 1;
	snprintf(base, sizeof base, "%s/sotto-lstore-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_keyfile_mode();
	test_keyfile_permissions();
	test_passphrase_mode();
	test_change_passphrase();
	test_transactions();
	test_expiry();
	test_no_plaintext();
	test_aad_binding();
	test_migrations();
	test_full_disk();
	test_adapters();
	rm_rf(base);
	return tu_finish("client-lstore");
}
