/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-bench kt-sqlite: the key transparency log in sottod's SQLite storage
 * (src/server/kt_sqlite.c), as the server writes and reads it. Leaves are
 * appended through the server's own writer path (sotto__kt_log_device: read
 * the device row, encode the leaf, frontier append, insert the leaf and its
 * completed nodes) in transactions of BATCH leaves, each sealed with a signed
 * head (sotto__kt_log_seal) before COMMIT, with the server's pragmas (WAL,
 * synchronous = FULL), in a temporary directory. At each checkpoint size the
 * append rate, the on-disk size per leaf, and the median cost of inclusion
 * and consistency proof generation (one read transaction, one query, as the
 * server answers a request) and of their verification, over random indices,
 * are printed. The log grows to 10^7 leaves unless appending has taken more
 * than ~10 minutes by a checkpoint; then it stops there (the trend is in the
 * earlier rows). Run only by `make bench` (sotto-bench all / kt-sqlite). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"
#include "server/kt_sqlite.h"
#include "sotto/ed25519.h"
#include "sotto/kt.h"

#define BATCH 100000
#define DEVICES 10000
#define SAMPLES 1001
#define BUDGET_NS 600e9 /* stop growing after ~10 minutes of appends */

static double ks_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int ks_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double ks_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), ks_cmp);
	return v[n / 2];
}

static uint64_t ks_rs = 0x2545f4914f6cdd1dULL;
static uint64_t ks_rand(void)
{
	uint64_t z = (ks_rs += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int ks_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sotto-bench kt-sqlite: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* The columns of sottod's devices table that the KT writer reads, filled
 * with DEVICES accounts of one device each (random keys). */
static int ks_devices(sqlite3 *db)
{
	sqlite3_stmt *st;
	uint8_t acct[16], ik[33], nk[32];
	if (ks_exec(db, "CREATE TABLE devices (account_id BLOB NOT NULL, device_id INTEGER "
			"NOT NULL, identity_key BLOB NOT NULL, noise_key BLOB, "
			"UNIQUE (account_id, device_id));") != 0 ||
		sqlite3_prepare_v2(db, "INSERT INTO devices VALUES (?1, 1, ?2, ?3)", -1, &st,
			NULL) != SQLITE_OK)
		return -1;
	int rc = ks_exec(db, "BEGIN");
	for (uint32_t i = 0; rc == 0 && i < DEVICES; i++) {
		memset(acct, 0, sizeof acct);
		memcpy(acct, &i, sizeof i);
		ik[0] = 0x05;
		for (int j = 0; j < 32; j++)
			ik[1 + j] = nk[j] = (uint8_t)ks_rand();
		if (sqlite3_bind_blob(st, 1, acct, 16, SQLITE_TRANSIENT) != SQLITE_OK ||
			sqlite3_bind_blob(st, 2, ik, 33, SQLITE_TRANSIENT) != SQLITE_OK ||
			sqlite3_bind_blob(st, 3, nk, 32, SQLITE_TRANSIENT) != SQLITE_OK ||
			sqlite3_step(st) != SQLITE_DONE)
			rc = -1;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc == 0 ? ks_exec(db, "COMMIT") : -1;
}

static double ks_disk_bytes(const char *path)
{
	char p[600];
	struct stat sb;
	double total = 0;
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		if (stat(p, &sb) == 0)
			total += (double)sb.st_size;
	}
	return total;
}

/* Proof generation and verification at size n (read transaction per call). */
static int ks_proofs(sqlite3 *rdb, uint64_t n)
{
	double *tg = malloc(SAMPLES * sizeof(double)), *tv = malloc(SAMPLES * sizeof(double));
	uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32], root[32], r1[32], leaf[SOTTO_KT_LEAF_BYTES];
	uint8_t lh[32];
	char label[120];
	size_t count, got;
	double plen = 0;
	int rc = -1;

	if (tg == NULL || tv == NULL)
		goto out;
	if (ks_exec(rdb, "BEGIN") != 0)
		goto out;
	if (sotto__kt_read_root(rdb, n, root) != 0)
		goto rollback;
	for (int s = 0; s < SAMPLES; s++) {
		uint64_t idx = ks_rand() % n;
		double a = ks_now_ns();
		if (sotto__kt_read_leaves(rdb, idx, 1, leaf, &got) != 0 || got != 1 ||
			sotto__kt_read_inclusion(rdb, idx, n, proof, SOTTO_KT_MAX_PROOF_HASHES,
				&count) != 0)
			goto rollback;
		double b = ks_now_ns();
		if (sotto_kt_leaf_hash(lh, leaf, sizeof leaf) != 0 ||
			sotto_kt_verify_inclusion(lh, idx, n, proof, count, root) != 0)
			goto rollback;
		tg[s] = b - a;
		tv[s] = ks_now_ns() - b;
		plen += (double)count;
	}
	snprintf(label, sizeof label, "inclusion proof + leaf read (SQLite), n=%llu",
		(unsigned long long)n);
	bench_row(label, ks_median(tg, SAMPLES), NULL, 0);
	snprintf(label, sizeof label, "inclusion proof verify, n=%llu", (unsigned long long)n);
	bench_row(label, ks_median(tv, SAMPLES), NULL, 0);
	printf("  n=%llu: inclusion proofs of %.1f hashes on average\n", (unsigned long long)n,
		plen / SAMPLES);
	plen = 0;
	for (int s = 0; s < SAMPLES; s++) {
		uint64_t m = 1 + ks_rand() % (n - 1);
		if (sotto__kt_read_root(rdb, m, r1) != 0)
			goto rollback;
		double a = ks_now_ns();
		if (sotto__kt_read_consistency(rdb, m, n, proof, SOTTO_KT_MAX_PROOF_HASHES,
			    &count) != 0)
			goto rollback;
		double b = ks_now_ns();
		if (sotto_kt_verify_consistency(m, n, r1, root, proof, count) != 0)
			goto rollback;
		tg[s] = b - a;
		tv[s] = ks_now_ns() - b;
		plen += (double)count;
	}
	snprintf(label, sizeof label, "consistency proof (SQLite), n=%llu", (unsigned long long)n);
	bench_row(label, ks_median(tg, SAMPLES), NULL, 0);
	snprintf(label, sizeof label, "consistency proof verify, n=%llu", (unsigned long long)n);
	bench_row(label, ks_median(tv, SAMPLES), NULL, 0);
	printf("  n=%llu: consistency proofs of %.1f hashes on average\n", (unsigned long long)n,
		plen / SAMPLES);
	rc = 0;
rollback:
	if (ks_exec(rdb, "ROLLBACK") != 0)
		rc = -1;
out:
	free(tg);
	free(tv);
	return rc;
}

int bench_kt_sqlite(void)
{
	static const uint64_t full[] = { 1000000, 3000000, 10000000 };
	static const uint64_t quick[] = { 100000, 300000 };
	const uint64_t *marks = bench_quick ? quick : full;
	size_t nmarks = bench_quick ? 2 : 3;
	char dir[] = "/tmp/sotto-bench-kt-XXXXXX", path[600];
	struct sotto__kt_log *kt = NULL;
	sqlite3 *db = NULL, *rdb = NULL;
	uint8_t seed[32], pub[32], acct[16];
	double append_ns = 0;
	uint64_t size = 0;
	int rc = -1;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/kt.db", dir);
	if (sotto_ed25519_keypair(pub, seed) != 0 || sotto__kt_log_new(&kt, seed) != 0 ||
		sqlite3_open(path, &db) != SQLITE_OK ||
		ks_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;") != 0 ||
		ks_exec(db, SOTTO__KT_MIGRATION) != 0 || ks_devices(db) != 0 ||
		sqlite3_open_v2(path, &rdb, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto done;
	bench_table_begin("key transparency: Merkle log in sottod's SQLite storage (appends in "
			  "transactions of 100000 leaves, one signed head each; proof rows: "
			  "median of 1001 random positions)",
			  "-");
	for (size_t m = 0; m < nmarks; m++) {
		while (size < marks[m]) {
			double a = ks_now_ns();
			if (ks_exec(db, "BEGIN") != 0)
				goto done;
			for (uint32_t i = 0; i < BATCH && size < marks[m]; i++, size++) {
				uint32_t d = (uint32_t)(ks_rand() % DEVICES);
				memset(acct, 0, sizeof acct);
				memcpy(acct, &d, sizeof d);
				if (sotto__kt_log_device(kt, db, acct, 1,
					    size < DEVICES ? SOTTO_KT_EVENT_ADD
							   : SOTTO_KT_EVENT_KEY_CHANGE,
					    1700000000000LL + (int64_t)size) != 0)
					goto done;
			}
			if (sotto__kt_log_seal(kt, db) != 0 || ks_exec(db, "COMMIT") != 0)
				goto done;
			append_ns += ks_now_ns() - a;
		}
		if (ks_exec(db, "PRAGMA wal_checkpoint(TRUNCATE);") != 0)
			goto done;
		char label[120];
		snprintf(label, sizeof label, "append one leaf (amortized), n=%llu",
			(unsigned long long)size);
		bench_row(label, append_ns / (double)size, NULL, 0);
		double disk = ks_disk_bytes(path);
		printf("  n=%llu: appended in %.1f s in total (%.0f leaves/s); on disk %.1f MiB "
		       "(%.1f B/leaf, leaves + index + nodes)\n",
			(unsigned long long)size, append_ns / 1e9, (double)size / (append_ns / 1e9),
			disk / 1048576.0, disk / (double)size);
		fflush(stdout);
		if (ks_proofs(rdb, size) != 0)
			goto done;
		if (append_ns > BUDGET_NS && m + 1 < nmarks) {
			printf("  appends took %.0f s by n=%llu: stopping here (budget ~10 min)\n",
				append_ns / 1e9, (unsigned long long)size);
			break;
		}
	}
	rc = 0;
done:
	if (rc != 0)
		fprintf(stderr, "sotto-bench kt-sqlite: failure at n=%llu\n",
			(unsigned long long)size);
	bench_table_end();
	sqlite3_close(rdb);
	sotto__kt_log_free(kt);
	sqlite3_close(db);
	unlink(path);
	snprintf(path, sizeof path, "%s/kt.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/kt.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return rc;
}
