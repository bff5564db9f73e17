/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-bench kt: the key-transparency log at 10^3, 10^6 and 10^7 leaves in
 * the in-memory subtree store. Appends are timed as a whole (and the store's
 * memory reported); proofs are timed one call at a time at random positions
 * and the median is printed. The reference column is the hashing floor: one
 * SHA-256 node hash times the number of node hashes the operation must do. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "sotto/kt.h"

#define HB SOTTO_KT_HASH_BYTES
#define SAMPLES 2001

static double kt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return v[n / 2];
}

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
	/* splitmix64 */
	uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct node_arg {
	uint8_t a[HB], b[HB];
};

static void op_node(void *arg)
{
	struct node_arg *n = arg;
	if (sotto_kt_node_hash(n->a, n->a, n->b) != 0)
		abort();
}

/* Counts nodes read through the store. */
struct counting {
	sotto_kt_store inner;
	uint64_t nodes, calls;
};

static int counting_get(void *ctx, const sotto_kt_node *nodes, size_t n, uint8_t *hashes)
{
	struct counting *c = ctx;
	c->nodes += n;
	c->calls++;
	return c->inner.get(c->inner.ctx, nodes, n, hashes);
}

/* Node hashes RFC 9162 2.1.4.2 computes for a proof of count hashes from m
 * to n: two for a hash on the old tree's path, one otherwise. */
static double consistency_hashes(uint64_t m, uint64_t n, size_t count)
{
	uint64_t fn = m - 1, sn = n - 1;
	size_t i = (m & (m - 1)) == 0 ? 0 : 1;
	double h = 0;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < count; i++) {
		if ((fn & 1) || fn == sn) {
			h += 2;
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			h += 1;
		}
		fn >>= 1;
		sn >>= 1;
	}
	return h;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			v = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static int run_size(uint64_t n, double node_ns)
{
	char label[96];
	int rc = 1;
	double *t = malloc(SAMPLES * sizeof(double));
	double *tv = malloc(SAMPLES * sizeof(double));
	double *fl = malloc(SAMPLES * sizeof(double)); /* per-sample hashing floor */
	sotto_kt_memstore *ms = sotto_kt_memstore_new();
	if (t == NULL || tv == NULL || fl == NULL || ms == NULL)
		goto done;
	long rss0 = rss_kib();
	double t0 = kt_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		uint8_t data[8], leaf[HB];
		memcpy(data, &i, 8);
		if (sotto_kt_leaf_hash(leaf, data, 8) != 0 || sotto_kt_memstore_append(ms, leaf) != 0)
			goto done;
	}
	double append_total = kt_now_ns() - t0;
	long rss1 = rss_kib();
	snprintf(label, sizeof(label), "append (leaf hash + store), n=%llu", (unsigned long long)n);
	bench_row(label, append_total / (double)n, "2 node hashes", 2 * node_ns);

	struct counting cs = { sotto_kt_memstore_store(ms), 0, 0 };
	sotto_kt_store st = { &cs, counting_get };
	uint8_t root[HB], p[SOTTO_KT_MAX_PROOF_HASHES * HB];
	size_t c;
	uint64_t proof_hashes = 0;
	if (sotto_kt_memstore_root(ms, root) != 0)
		goto done;

	/* Inclusion: generation, then verification of the same proof. */
	cs.nodes = cs.calls = 0;
	for (int s = 0; s < SAMPLES; s++) {
		uint64_t i = next_rand() % n;
		uint8_t data[8], leaf[HB];
		memcpy(data, &i, 8);
		if (sotto_kt_leaf_hash(leaf, data, 8) != 0)
			goto done;
		double a = kt_now_ns();
		if (sotto_kt_store_inclusion_proof(&st, i, n, p, SOTTO_KT_MAX_PROOF_HASHES, &c) != 0)
			goto done;
		double b = kt_now_ns();
		if (sotto_kt_verify_inclusion(leaf, i, n, p, c, root) != 0)
			goto done;
		double e = kt_now_ns();
		t[s] = b - a;
		tv[s] = e - b;
		fl[s] = node_ns * (double)c;
		proof_hashes += c;
	}
	double avg_len = (double)proof_hashes / SAMPLES;
	double incl_reads = (double)cs.nodes / (double)cs.calls;
	snprintf(label, sizeof(label), "inclusion proof generate, n=%llu", (unsigned long long)n);
	bench_row(label, median(t, SAMPLES), NULL, 0);
	snprintf(label, sizeof(label), "inclusion proof verify, n=%llu", (unsigned long long)n);
	bench_row(label, median(tv, SAMPLES), "node hash x proof length", median(fl, SAMPLES));

	/* Consistency between a random earlier size and n. */
	double cons_len = 0;
	uint64_t cons_nodes = 0, cons_calls = 0;
	for (int s = 0; s < SAMPLES && n > 1; s++) {
		uint64_t m = 1 + next_rand() % (n - 1);
		uint8_t r1[HB];
		if (sotto_kt_store_root(&st, m, r1) != 0)
			goto done;
		uint64_t before_nodes = cs.nodes, before_calls = cs.calls;
		double a = kt_now_ns();
		if (sotto_kt_store_consistency_proof(&st, m, n, p, SOTTO_KT_MAX_PROOF_HASHES, &c) != 0)
			goto done;
		double b = kt_now_ns();
		if (sotto_kt_verify_consistency(m, n, r1, root, p, c) != 0)
			goto done;
		double e = kt_now_ns();
		/* Count the proof's reads only, not the root's. */
		cons_nodes += cs.nodes - before_nodes;
		cons_calls += cs.calls - before_calls;
		t[s] = b - a;
		tv[s] = e - b;
		cons_len += (double)c;
		fl[s] = node_ns * consistency_hashes(m, n, c);
	}
	if (n > 1) {
		cons_len /= SAMPLES;
		snprintf(label, sizeof(label), "consistency proof generate, n=%llu",
			 (unsigned long long)n);
		bench_row(label, median(t, SAMPLES), NULL, 0);
		snprintf(label, sizeof(label), "consistency proof verify, n=%llu",
			 (unsigned long long)n);
		bench_row(label, median(tv, SAMPLES), "node hash x hashes RFC 9162 needs",
			  median(fl, SAMPLES));
	}
	/* Root of the whole tree from stored nodes (what a restarted server does). */
	for (int s = 0; s < SAMPLES; s++) {
		double a = kt_now_ns();
		if (sotto_kt_store_root(&st, n, root) != 0)
			goto done;
		t[s] = kt_now_ns() - a;
	}
	snprintf(label, sizeof(label), "root from store, n=%llu", (unsigned long long)n);
	bench_row(label, median(t, SAMPLES), NULL, 0);
	printf("  n=%llu: appended in %.2f s; store %.1f MiB (%.1f B/leaf), RSS +%.1f MiB; "
	       "inclusion proof %.1f hashes, %.1f nodes read in 1 call; consistency proof %.1f "
	       "hashes, %.1f nodes read in 1 call\n",
	       (unsigned long long)n, append_total / 1e9,
	       (double)sotto_kt_memstore_bytes(ms) / 1048576.0,
	       (double)sotto_kt_memstore_bytes(ms) / (double)n,
	       rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) / 1024.0 : -1.0, avg_len, incl_reads,
	       cons_len, cons_calls ? (double)cons_nodes / (double)cons_calls : 0.0);
	fflush(stdout);
	rc = 0;
done:
	if (rc != 0)
		fprintf(stderr, "sotto-bench kt: failure at n=%llu\n", (unsigned long long)n);
	sotto_kt_memstore_free(ms);
	free(t);
	free(tv);
	free(fl);
	return rc;
}

int bench_kt(void)
{
	struct node_arg na;
	memset(&na, 7, sizeof(na));
	double node_ns = bench_ns(op_node, &na);
	bench_table_begin("key transparency: Merkle log in the in-memory subtree store "
			  "(proof rows: median of 2001 random positions)",
			  "floor");
	bench_row("node hash SHA-256(0x01 || l || r)", node_ns, NULL, 0);
	static const uint64_t full[] = { 1000, 1000000, 10000000 };
	static const uint64_t quick[] = { 1000, 100000 };
	const uint64_t *sizes = bench_quick ? quick : full;
	size_t nsizes = bench_quick ? 2 : 3;
	int rc = 0;
	for (size_t i = 0; i < nsizes; i++)
		rc |= run_size(sizes[i], node_ns);
	bench_table_end();
	return rc;
}
