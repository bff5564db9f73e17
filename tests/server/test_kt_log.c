/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The server's key transparency log in the SQLite store: registration, link,
 * unlink and key change each append their leaf in the change's own
 * transaction (failed changes append nothing); heads are signed, stored and
 * consistent over time and across a reopen; proofs from the store verify
 * with kt.h; group-committed batches; 10,000 appends with timings; and
 * kill -9 in the middle of registrations never leaves a device without its
 * leaf or a leaf without its device. */
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "server/kt_sqlite.h"
#include "sotto/curve.h"
#include "sotto/ed25519.h"
#include "sotto/kt.h"
#include "store_test.h"

static uint8_t g_priv[32], g_pub[32], g_log_id[32];

static sotto_store *open_kt(const char *dir)
{
	sotto_store_config cfg = { 0 };

	cfg.kt_key = g_priv;
	return st_open(dir, &cfg);
}

static uint64_t log_size(const char *dir)
{
	sqlite3 *db = st_raw(dir);
	long long n = st_raw_int(db, "SELECT count(*) FROM kt_leaves");

	sqlite3_close(db);
	return (uint64_t)n;
}

/* The latest head: signature, log id, and root recomputed from all leaves. */
static void check_head(sotto_store *st, const char *dir, sotto_kt_signed_head *out)
{
	sotto_kt_signed_head sh;
	uint64_t n = log_size(dir);
	uint8_t *hashes = malloc((n + 1) * 32), root[32], leaf[SOTTO_KT_LEAF_BYTES];
	sqlite3 *db = st_raw(dir);
	sqlite3_stmt *q;
	uint64_t i = 0;

	CHECK(hashes != NULL);
	CHECK_RC(sotto_store_kt_head(st, &sh), 0);
	CHECK_RC(sotto_kt_head_verify(&sh, g_pub, g_log_id), 0);
	CHECK(sh.head.size == n);
	CHECK(sqlite3_prepare_v2(db, "SELECT idx, leaf FROM kt_leaves ORDER BY idx", -1, &q,
		      NULL) == SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		CHECK((uint64_t)sqlite3_column_int64(q, 0) == i);
		CHECK(sqlite3_column_bytes(q, 1) == SOTTO_KT_LEAF_BYTES);
		memcpy(leaf, sqlite3_column_blob(q, 1), sizeof leaf);
		CHECK_RC(sotto_kt_leaf_hash(hashes + 32 * i, leaf, sizeof leaf), 0);
		i++;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	CHECK(i == n);
	CHECK_RC(sotto_kt_root(root, hashes, n), 0);
	CHECK_MEM(root, sh.head.root, 32);
	free(hashes);
	if (out != NULL)
		*out = sh;
}

/* The latest leaf of (account, device) has this event and key, and its
 * inclusion proof verifies against the latest signed head. */
static void check_device(sotto_store *st, const uint8_t *acct, uint32_t dev, int event,
	const uint8_t *key, const uint8_t *transport)
{
	sotto_kt_signed_head sh;
	sotto_store_kt_proof p;
	sotto_kt_leaf leaf;
	uint8_t lh[32];

	CHECK_RC(sotto_store_kt_device_proofs(st, acct, &dev, 1, 0, &sh, &p), 0);
	CHECK_RC(sotto_kt_head_verify(&sh, g_pub, g_log_id), 0);
	CHECK(p.index != UINT64_MAX);
	CHECK(p.size == sh.head.size);
	CHECK_RC(sotto_kt_leaf_decode(&leaf, p.leaf, sizeof p.leaf), 0);
	CHECK(leaf.event == event);
	CHECK_MEM(leaf.account, acct, 16);
	CHECK(leaf.device_id == dev);
	CHECK_MEM(leaf.identity_key, key, 33);
	/* The device's Noise static key (for REMOVE: the one it was unlinked with). */
	CHECK_MEM(leaf.transport_key, transport, 32);
	CHECK_RC(sotto_kt_leaf_hash(lh, p.leaf, sizeof p.leaf), 0);
	CHECK_RC(sotto_kt_verify_inclusion(lh, p.index, p.size, p.proof, p.count, sh.head.root), 0);
	/* The same leaf by index. */
	sotto_store_kt_proof q;
	CHECK_RC(sotto_store_kt_index_proof(st, p.index, 0, &q), 0);
	CHECK_MEM(q.leaf, p.leaf, sizeof p.leaf);
	CHECK(q.count == p.count);
	CHECK_MEM(q.proof, p.proof, 32 * p.count);
}

static void check_consistent(sotto_store *st, const sotto_kt_signed_head *old,
	const sotto_kt_signed_head *cur)
{
	uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32];
	size_t count = 99;

	if (old->head.size == 0)
		return;
	CHECK_RC(sotto_store_kt_consistency(st, old->head.size, cur->head.size, proof, &count), 0);
	CHECK_RC(sotto_kt_verify_consistency(old->head.size, cur->head.size, old->head.root,
			 cur->head.root, proof, count),
		0);
}

static void test_events(void)
{
	char dir[256];
	sotto_store_new_device d1, d2, d3;
	uint8_t acct[16], other[16] = { 1 }, newkey[33];
	uint32_t id2 = 0, id = 0;
	sotto_kt_signed_head h0, h1, h;
	sotto_kt_view *view = sotto_kt_view_new(g_pub, g_log_id);
	uint64_t s = 7;

	st_tmpdir(dir, sizeof dir, "ktlog");
	sotto_store *st = open_kt(dir);
	CHECK(sotto_store_sqlite_schema_version() >= 3);
	CHECK_RC(sotto_store_kt_head(st, &h), SOTTO_ERR_NOT_FOUND);
	st_device(&d1, 1);
	st_device(&d2, 2);
	st_device(&d3, 3);

	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d1, 1000, acct, NULL), 0);
	CHECK(log_size(dir) == 1);
	check_head(st, dir, &h0);
	check_device(st, acct, 1, SOTTO_KT_EVENT_ADD, d1.identity_key, d1.noise_key);
	CHECK_RC(sotto_kt_view_update(view, &h0, NULL, 0), 0);

	/* A registration that fails (the Noise key is taken) appends nothing. */
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d1, 1001, other, NULL), SOTTO_ERR_EXISTS);
	CHECK(log_size(dir) == 1);

	CHECK_RC(sotto_store_device_add(st, acct, &d2, 2000, &id2, NULL), 0);
	CHECK(id2 == 2 && log_size(dir) == 2);
	check_head(st, dir, &h1);
	check_consistent(st, &h0, &h1);
	check_device(st, acct, 2, SOTTO_KT_EVENT_ADD, d2.identity_key, d2.noise_key);
	/* Failed link: unknown account; and a device add whose Noise key exists. */
	CHECK_RC(sotto_store_device_add(st, other, &d3, 2001, &id, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_store_device_add(st, acct, &d2, 2002, &id, NULL), SOTTO_ERR_EXISTS);
	CHECK(log_size(dir) == 2);

	CHECK_RC(sotto_store_device_remove(st, acct, 2, 3000, NULL), 0);
	CHECK(log_size(dir) == 3);
	check_device(st, acct, 2, SOTTO_KT_EVENT_REMOVE, d2.identity_key, d2.noise_key);
	CHECK_RC(sotto_store_device_remove(st, acct, 2, 3001, NULL), SOTTO_ERR_NOT_FOUND);
	CHECK(log_size(dir) == 3);

	newkey[0] = 0x05;
	tu_randbytes(&s, newkey + 1, 32);
	CHECK_RC(sotto_store_kt_key_change(st, acct, 1, newkey, 4000, NULL), 0);
	CHECK(log_size(dir) == 4);
	check_device(st, acct, 1, SOTTO_KT_EVENT_KEY_CHANGE, newkey, d1.noise_key);
	{
		sotto_store_device devs[4];
		size_t n = 0;
		CHECK_RC(sotto_store_device_list(st, acct, 0, devs, 4, &n), 0);
		CHECK(n == 1 && memcmp(devs[0].identity_key, newkey, 33) == 0);
	}
	CHECK_RC(sotto_store_kt_key_change(st, acct, 2, newkey, 4001, NULL), SOTTO_ERR_NOT_FOUND);
	newkey[0] = 0x06;
	CHECK_RC(sotto_store_kt_key_change(st, acct, 1, newkey, 4002, NULL),
		SOTTO_ERR_INVALID_ARGUMENT);
	CHECK(log_size(dir) == 4);
	check_head(st, dir, &h);
	check_consistent(st, &h1, &h);
	{
		uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32];
		size_t count;
		CHECK_RC(sotto_store_kt_consistency(st, 1, 4, proof, &count), 0);
		CHECK_RC(sotto_kt_view_update(view, &h, proof, count), 0);
		/* The older head is now a replay for this view. */
		CHECK_RC(sotto_kt_view_update(view, &h1, NULL, 0), SOTTO_ERR_KT_STALE);
		/* Beyond the signed head: refused. */
		CHECK_RC(sotto_store_kt_consistency(st, 1, 5, proof, &count),
			SOTTO_ERR_INVALID_ARGUMENT);
	}
	/* Proofs against an older size the client holds. */
	{
		sotto_kt_signed_head old;
		sotto_store_kt_proof p;
		uint32_t one = 1, two = 2;
		uint8_t lh[32];
		CHECK_RC(sotto_store_kt_device_proofs(st, acct, &two, 1, 2, &old, &p), 0);
		CHECK(p.size == 2 && p.index == 1);
		CHECK_MEM(old.head.root, h1.head.root, 32);
		CHECK_RC(sotto_kt_leaf_hash(lh, p.leaf, sizeof p.leaf), 0);
		CHECK_RC(sotto_kt_verify_inclusion(lh, 1, 2, p.proof, p.count, h1.head.root), 0);
		/* Device 1's latest leaf in the tree of size 1 is its ADD. */
		CHECK_RC(sotto_store_kt_device_proofs(st, acct, &one, 1, 1, &old, &p), 0);
		CHECK(p.index == 0 && p.count == 0);
		/* A device the log never saw has no leaf. */
		uint32_t nine = 9;
		CHECK_RC(sotto_store_kt_device_proofs(st, acct, &nine, 1, 0, &old, &p), 0);
		CHECK(p.index == UINT64_MAX && p.count == 0);
	}
	/* Leaves for auditors: all four, in order, and an empty page past the end. */
	{
		uint8_t leaves[8 * SOTTO_KT_LEAF_BYTES];
		size_t n = 0;
		sotto_kt_leaf l;
		CHECK_RC(sotto_store_kt_leaves(st, 0, 8, leaves, &n), 0);
		CHECK(n == 4);
		CHECK_RC(sotto_kt_leaf_decode(&l, leaves + 2 * SOTTO_KT_LEAF_BYTES,
				 SOTTO_KT_LEAF_BYTES), 0);
		CHECK(l.event == SOTTO_KT_EVENT_REMOVE && l.device_id == 2 && l.timestamp_ms == 3000);
		CHECK_RC(sotto_store_kt_leaves(st, 3, 8, leaves, &n), 0);
		CHECK(n == 1);
		CHECK_RC(sotto_store_kt_leaves(st, 4, 8, leaves, &n), 0);
		CHECK(n == 0);
		CHECK_RC(sotto_store_kt_leaves(st, 0, SOTTO_STORE_KT_MAX_LEAVES + 1, leaves, &n),
			SOTTO_ERR_INVALID_ARGUMENT);
	}

	/* Reopen: the frontier is rebuilt from stored nodes, the log goes on. */
	sotto_store_close(st);
	st = open_kt(dir);
	CHECK_RC(sotto_store_device_add(st, acct, &d3, 5000, &id, NULL), 0);
	CHECK(log_size(dir) == 5);
	{
		sotto_kt_signed_head h5;
		check_head(st, dir, &h5);
		check_consistent(st, &h, &h5);
		CHECK(h5.head.timestamp_ms >= h.head.timestamp_ms);
	}
	sotto_store_close(st);
	sotto_kt_view_free(view);
	st_rmdir(dir);
}

/* ---- many appends through group commit ---- */

static atomic_int g_done, g_fail;

static void count_done(void *arg, int rc)
{
	(void)arg;
	if (rc != 0)
		atomic_fetch_add(&g_fail, 1);
	atomic_fetch_add(&g_done, 1);
}

static void test_many(unsigned n)
{
	char dir[256];
	sotto_store_new_device *devs = calloc(n, sizeof *devs);
	uint8_t(*ids)[16] = calloc(n, 16);
	sotto_store_cb cb = { count_done, NULL };
	sotto_kt_signed_head sh;
	double t0, t1;
	uint64_t rs = 99;

	st_tmpdir(dir, sizeof dir, "ktmany");
	sotto_store *st = open_kt(dir);
	atomic_store(&g_done, 0);
	atomic_store(&g_fail, 0);
	t0 = st_now_s();
	for (unsigned i = 0; i < n; i++) {
		st_device(&devs[i], 1000 + i);
		CHECK_RC(sotto_store_account_create(st, NULL, 0, &devs[i], 10000 + i, ids[i], &cb),
			0);
	}
	while (atomic_load(&g_done) < (int)n)
		usleep(1000);
	t1 = st_now_s();
	CHECK(atomic_load(&g_fail) == 0);
	CHECK(log_size(dir) == n);
	sotto_store_stats stats;
	sotto_store_get_stats(st, &stats);
	check_head(st, dir, &sh);
	printf("kt log: %u registrations with their leaves in %.2f s (%.0f/s, %llu commits, "
	       "%u leaves per signed head)\n",
		n, t1 - t0, n / (t1 - t0), (unsigned long long)stats.commits,
		(unsigned)(n / (stats.commits ? stats.commits : 1)));
	/* Proofs for random devices, verified. */
	unsigned q = 1000;
	double tp = 0;
	for (unsigned i = 0; i < q; i++) {
		unsigned k = (unsigned)(tu_rand64(&rs) % n);
		uint32_t one = 1;
		sotto_store_kt_proof p;
		sotto_kt_signed_head h;
		uint8_t lh[32];
		double a = st_now_s();
		CHECK_RC(sotto_store_kt_device_proofs(st, ids[k], &one, 1, 0, &h, &p), 0);
		tp += st_now_s() - a;
		CHECK_RC(sotto_kt_leaf_hash(lh, p.leaf, sizeof p.leaf), 0);
		CHECK_RC(sotto_kt_verify_inclusion(lh, p.index, p.size, p.proof, p.count,
				 h.head.root), 0);
	}
	double tc = st_now_s();
	for (unsigned i = 0; i < q; i++) {
		uint64_t a = 1 + tu_rand64(&rs) % n;
		uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32];
		size_t count;
		CHECK_RC(sotto_store_kt_consistency(st, a, n, proof, &count), 0);
	}
	tc = st_now_s() - tc;
	printf("kt log: at %u leaves, device inclusion proof %.1f us, consistency proof %.1f us "
	       "(store reads, one query each)\n",
		n, tp / q * 1e6, tc / q * 1e6);
	sotto_store_close(st);
	st_rmdir(dir);
	free(devs);
	free(ids);
}

/* ---- kill -9 during registrations ---- */

static void child_writer(const char *dir)
{
	sotto_store *st = open_kt(dir);
	sotto_store_cb cb = { count_done, NULL };
	static uint8_t ids[100000][16];
	static sotto_store_new_device devs[100000];
	static uint32_t devids[100000];

	for (unsigned i = 0; i < 100000; i++) {
		st_device(&devs[i], (uint64_t)getpid() * 100000 + i);
		if (i % 3 == 2 && i > 0)
			(void)sotto_store_device_add(st, ids[i - 1], &devs[i], i, &devids[i], &cb);
		else
			(void)sotto_store_account_create(st, NULL, 0, &devs[i], i, ids[i], &cb);
		if (i % 64 == 63)
			usleep(500);
	}
	for (;;)
		pause();
}

static void check_crashed(const char *dir)
{
	sqlite3 *db = st_raw(dir);
	long long devices = st_raw_int(db, "SELECT count(*) FROM devices");
	long long leaves = st_raw_int(db, "SELECT count(*) FROM kt_leaves");
	/* Every device has an ADD leaf with its identity key, and every leaf a device. */
	long long unmatched = st_raw_int(db,
		"SELECT count(*) FROM devices d WHERE NOT EXISTS (SELECT 1 FROM kt_leaves l "
		"WHERE l.account = d.account_id AND l.device_id = d.device_id AND l.event = 1 "
		"AND substr(l.leaf, 23, 33) = d.identity_key)");
	long long orphans = st_raw_int(db,
		"SELECT count(*) FROM kt_leaves l WHERE NOT EXISTS (SELECT 1 FROM devices d "
		"WHERE l.account = d.account_id AND l.device_id = d.device_id)");
	long long head = st_raw_int(db, "SELECT size FROM kt_head");

	sqlite3_close(db);
	CHECK(devices > 0);
	CHECK(devices == leaves);
	CHECK(unmatched == 0);
	CHECK(orphans == 0);
	CHECK(head == leaves);
	printf("kt crash: %lld devices, %lld leaves, head size %lld, %lld unmatched, %lld orphans\n",
		devices, leaves, head, unmatched, orphans);
	sotto_store *st = open_kt(dir);
	check_head(st, dir, NULL);
	sotto_store_close(st);
}

static void test_crash(void)
{
	char dir[256];

	st_tmpdir(dir, sizeof dir, "ktcrash");
	for (int round = 0; round < 3; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			child_writer(dir);
			_exit(0);
		}
		CHECK(pid > 0);
		usleep(300000 + 150000 * (unsigned)round);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		check_crashed(dir);
	}
	st_rmdir(dir);
}

static void test_key_file(void)
{
	char dir[256], err[256], path[300];
	uint8_t p1[32], q1[32], p2[32], q2[32], pub[32];
	struct stat sb;

	st_tmpdir(dir, sizeof dir, "ktkey");
	/* A version 1 X25519 kt.key is ignored: the Ed25519 key has its own file. */
	snprintf(path, sizeof path, "%s/kt.key", dir);
	FILE *old = fopen(path, "wb");
	CHECK(old != NULL && fwrite("0123456789abcdef0123456789abcdef", 1, 32, old) == 32);
	if (old != NULL)
		fclose(old);
	CHECK_RC(sotto__kt_key_load(dir, p1, q1, err, sizeof err), 0);
	CHECK(memcmp(p1, "0123456789abcdef0123456789abcdef", 32) != 0);
	CHECK(unlink(path) == 0);
	snprintf(path, sizeof path, "%s/kt-ed25519.key", dir);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 32);
	CHECK_RC(sotto__kt_key_load(dir, p2, q2, err, sizeof err), 0);
	CHECK_MEM(p1, p2, 32);
	CHECK_MEM(q1, q2, 32);
	CHECK_RC(sotto_ed25519_public(pub, p1), 0);
	CHECK_MEM(pub, q1, 32);
	/* A key file of the wrong size is refused, not replaced. */
	FILE *bad = fopen(path, "wb");
	CHECK(bad != NULL && fwrite(p1, 1, 31, bad) == 31);
	if (bad != NULL)
		fclose(bad);
	CHECK_RC(sotto__kt_key_load(dir, p2, q2, err, sizeof err), SOTTO_ERR_INVALID_KEY);
	CHECK(unlink(path) == 0);
	st_rmdir(dir);
}

int main(void)
{
	CHECK_RC(sotto_init(), 0);
	CHECK_RC(sotto_ed25519_keypair(g_pub, g_priv), 0);
	CHECK_RC(sotto_kt_log_id(g_log_id, g_pub), 0);
	test_key_file();
	test_events();
	test_many(10000);
	test_crash();
	return tu_finish("server-kt_log");
}
