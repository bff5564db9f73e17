/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Proofs and roots from stored subtree hashes, the appender's frontier, and
 * the in-memory store.
 *
 * Every range a proof needs is a node [lo, hi) of the tree: lo is a multiple
 * of a power of two 2^k >= hi - lo. Such a range is the concatenation of
 * complete aligned subtrees of strictly decreasing size (the binary digits of
 * hi - lo), and its RFC 9162 hash is their right fold: MTH = H(c1, H(c2, ...)),
 * because RFC 9162 always splits off the largest power of two on the left.
 * Only a range on the right border of the tree can be incomplete, and a proof
 * path leaves the border at most once, so a proof has at most one incomplete
 * range: at most 64 + 64 stored nodes, read in one call. */
#include <stdlib.h>
#include <string.h>

#include "kt/kt_internal.h"
#include "sotto/error.h"
#include "sotto/kt.h"

#define HB SOTTO_KT_HASH_BYTES

/* A proof (or root) as ranges, each a run of node ids to fetch and fold. */
struct plan {
	size_t nelem;
	uint8_t first[SOTTO_KT_MAX_PROOF_HASHES];
	uint8_t len[SOTTO_KT_MAX_PROOF_HASHES];
	size_t nids;
	sotto_kt_node ids[SOTTO_KT_MAX_READ_NODES];
};

static int floor_log2(uint64_t x)
{
	return 63 - __builtin_clzll(x);
}

/* Adds the range [lo, hi) (hi > lo) as one proof element. */
static int plan_range(struct plan *pl, uint64_t lo, uint64_t hi)
{
	if (pl->nelem >= SOTTO_KT_MAX_PROOF_HASHES)
		return SOTTO_ERR_INTERNAL;
	size_t first = pl->nids;
	int prev = 64;
	while (lo < hi) {
		int h = floor_log2(hi - lo);
		if (lo != 0 && sotto__kt_ctz(lo) < h)
			h = sotto__kt_ctz(lo);
		/* Decreasing sizes are what makes the right fold equal MTH; proof
		 * ranges always decompose that way, so anything else is a bug. */
		if (h >= prev || pl->nids >= SOTTO_KT_MAX_READ_NODES)
			return SOTTO_ERR_INTERNAL;
		pl->ids[pl->nids].level = (uint8_t)h;
		pl->ids[pl->nids].index = lo >> h;
		pl->nids++;
		lo += (uint64_t)1 << h;
		prev = h;
	}
	pl->first[pl->nelem] = (uint8_t)first;
	pl->len[pl->nelem] = (uint8_t)(pl->nids - first);
	pl->nelem++;
	return 0;
}

/* Same recursion as PATH in merkle.c, emitting ranges. */
static int plan_path(struct plan *pl, uint64_t m, uint64_t lo, uint64_t hi)
{
	uint64_t n = hi - lo;
	if (n <= 1)
		return 0;
	uint64_t k = sotto__kt_split(n);
	int rc;
	if (m < k) {
		rc = plan_path(pl, m, lo, lo + k);
		return rc ? rc : plan_range(pl, lo + k, hi);
	}
	rc = plan_path(pl, m - k, lo + k, hi);
	return rc ? rc : plan_range(pl, lo, lo + k);
}

/* Same recursion as SUBPROOF in merkle.c, emitting ranges. */
static int plan_subproof(struct plan *pl, uint64_t m, uint64_t lo, uint64_t hi, int b)
{
	uint64_t n = hi - lo;
	if (m == n)
		return b ? 0 : plan_range(pl, lo, hi);
	uint64_t k = sotto__kt_split(n);
	int rc;
	if (m <= k) {
		rc = plan_subproof(pl, m, lo, lo + k, b);
		return rc ? rc : plan_range(pl, lo + k, hi);
	}
	rc = plan_subproof(pl, m - k, lo + k, hi, 0);
	return rc ? rc : plan_range(pl, lo, lo + k);
}

/* Fetches every node of the plan in one call and folds each element into
 * out (nelem hashes). */
static int plan_run(const struct plan *pl, const sotto_kt_store *store, uint8_t *out)
{
	uint8_t hashes[SOTTO_KT_MAX_READ_NODES * HB];
	if (pl->nids > 0) {
		int rc = store->get(store->ctx, pl->ids, pl->nids, hashes);
		if (rc != 0)
			return rc > 0 ? SOTTO_ERR_STORAGE : rc;
	}
	for (size_t e = 0; e < pl->nelem; e++) {
		size_t f = pl->first[e], len = pl->len[e];
		uint8_t acc[HB];
		memcpy(acc, hashes + (f + len - 1) * HB, HB);
		for (size_t j = len - 1; j-- > 0;) {
			int rc = sotto_kt_node_hash(acc, hashes + (f + j) * HB, acc);
			if (rc != 0)
				return rc;
		}
		memcpy(out + e * HB, acc, HB);
	}
	return 0;
}

static int store_ok(const sotto_kt_store *store)
{
	return store != NULL && store->get != NULL;
}

int sotto_kt_store_root(const sotto_kt_store *store, uint64_t size, uint8_t root[HB])
{
	if (!store_ok(store) || root == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (size == 0) {
		sotto_kt_empty_root(root);
		return 0;
	}
	struct plan pl;
	pl.nelem = pl.nids = 0;
	int rc = plan_range(&pl, 0, size);
	return rc ? rc : plan_run(&pl, store, root);
}

static int finish_proof(const struct plan *pl, const sotto_kt_store *store, uint8_t *proof,
			size_t cap, size_t *count)
{
	if (pl->nelem > cap)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	int rc = plan_run(pl, store, proof);
	if (rc == 0)
		*count = pl->nelem;
	return rc;
}

int sotto_kt_store_inclusion_proof(const sotto_kt_store *store, uint64_t index, uint64_t size,
				   uint8_t *proof, size_t cap, size_t *count)
{
	if (!store_ok(store) || count == NULL || (proof == NULL && cap > 0) || index >= size)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*count = 0;
	struct plan pl;
	pl.nelem = pl.nids = 0;
	int rc = plan_path(&pl, index, 0, size);
	return rc ? rc : finish_proof(&pl, store, proof, cap, count);
}

int sotto_kt_store_consistency_proof(const sotto_kt_store *store, uint64_t size1, uint64_t size2,
				     uint8_t *proof, size_t cap, size_t *count)
{
	if (!store_ok(store) || count == NULL || (proof == NULL && cap > 0) || size1 > size2 ||
	    (size1 == 0 && size2 > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*count = 0;
	if (size1 == size2)
		return 0;
	struct plan pl;
	pl.nelem = pl.nids = 0;
	int rc = plan_subproof(&pl, size1, 0, size2, 1);
	return rc ? rc : finish_proof(&pl, store, proof, cap, count);
}

/* ---- Frontier -------------------------------------------------------------- */

void sotto_kt_frontier_init(sotto_kt_frontier *f)
{
	if (f != NULL)
		memset(f, 0, sizeof(*f));
}

int sotto_kt_frontier_load(sotto_kt_frontier *f, const sotto_kt_store *store, uint64_t size)
{
	if (f == NULL || !store_ok(store))
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_kt_node ids[64];
	uint8_t hashes[64 * HB];
	size_t n = 0;
	/* The complete subtree at level h of [0, size) ends where the bits
	 * below h of size begin, so its index is (size >> h) - 1. */
	for (int h = 63; h >= 0; h--) {
		if ((size >> h) & 1) {
			ids[n].level = (uint8_t)h;
			ids[n].index = (size >> h) - 1;
			n++;
		}
	}
	if (n > 0) {
		int rc = store->get(store->ctx, ids, n, hashes);
		if (rc != 0)
			return rc > 0 ? SOTTO_ERR_STORAGE : rc;
	}
	sotto_kt_frontier_init(f);
	for (size_t i = 0; i < n; i++)
		memcpy(f->hash[ids[i].level], hashes + i * HB, HB);
	f->size = size;
	return 0;
}

int sotto_kt_frontier_append(sotto_kt_frontier *f, const uint8_t leaf_hash[HB],
			     sotto_kt_node nodes[SOTTO_KT_MAX_APPEND_NODES], uint8_t *hashes,
			     size_t *n_nodes)
{
	if (f == NULL || leaf_hash == NULL || nodes == NULL || hashes == NULL || n_nodes == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*n_nodes = 0;
	if (f->size == UINT64_MAX)
		return SOTTO_ERR_LIMIT;
	uint64_t old = f->size, size = old + 1;
	uint8_t cur[HB];
	memcpy(cur, leaf_hash, HB);
	nodes[0].level = 0;
	nodes[0].index = old;
	memcpy(hashes, cur, HB);
	size_t n = 1;
	/* Binary increment: each carry merges a stored left sibling with the
	 * subtree just completed. f is only written once nothing can fail. */
	int h = 0;
	while ((old >> h) & 1) {
		int rc = sotto_kt_node_hash(cur, f->hash[h], cur);
		if (rc != 0)
			return rc;
		h++;
		nodes[n].level = (uint8_t)h;
		nodes[n].index = (size >> h) - 1;
		memcpy(hashes + n * HB, cur, HB);
		n++;
	}
	memcpy(f->hash[h], cur, HB);
	f->size = size;
	*n_nodes = n;
	return 0;
}

int sotto_kt_frontier_root(const sotto_kt_frontier *f, uint8_t root[HB])
{
	if (f == NULL || root == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (f->size == 0) {
		sotto_kt_empty_root(root);
		return 0;
	}
	/* Right fold from the smallest subtree up. */
	int h = sotto__kt_ctz(f->size);
	uint8_t acc[HB];
	memcpy(acc, f->hash[h], HB);
	for (h++; h < 64; h++) {
		if ((f->size >> h) & 1) {
			int rc = sotto_kt_node_hash(acc, f->hash[h], acc);
			if (rc != 0)
				return rc;
		}
	}
	memcpy(root, acc, HB);
	return 0;
}

/* ---- In-memory store ------------------------------------------------------ */

/* Nodes per chunk: fixed-size chunks keep growth free of large reallocs
 * (a doubling array would briefly need 1.5x the memory at 10M leaves). */
#define CHUNK_SHIFT 10
#define CHUNK_NODES ((uint64_t)1 << CHUNK_SHIFT)

struct level {
	uint8_t **chunks;
	size_t nchunks, capchunks;
	uint64_t count;
};

struct sotto_kt_memstore {
	sotto_kt_frontier f;
	struct level lv[64];
	size_t bytes;
};

sotto_kt_memstore *sotto_kt_memstore_new(void)
{
	sotto_kt_memstore *ms = calloc(1, sizeof(*ms));
	if (ms != NULL)
		ms->bytes = sizeof(*ms);
	return ms;
}

void sotto_kt_memstore_free(sotto_kt_memstore *ms)
{
	if (ms == NULL)
		return;
	for (int h = 0; h < 64; h++) {
		for (size_t c = 0; c < ms->lv[h].nchunks; c++)
			free(ms->lv[h].chunks[c]);
		free(ms->lv[h].chunks);
	}
	free(ms);
}

/* Makes room for one more node at level h. */
static int reserve(sotto_kt_memstore *ms, int h)
{
	struct level *l = &ms->lv[h];
	if (l->count < (uint64_t)l->nchunks * CHUNK_NODES)
		return 0;
	if (l->nchunks == l->capchunks) {
		size_t cap = l->capchunks ? l->capchunks * 2 : 8;
		uint8_t **nc = realloc(l->chunks, cap * sizeof(*nc));
		if (nc == NULL)
			return SOTTO_ERR_NOMEM;
		ms->bytes += (cap - l->capchunks) * sizeof(*nc);
		l->chunks = nc;
		l->capchunks = cap;
	}
	uint8_t *chunk = malloc(CHUNK_NODES * HB);
	if (chunk == NULL)
		return SOTTO_ERR_NOMEM;
	ms->bytes += CHUNK_NODES * HB;
	l->chunks[l->nchunks++] = chunk;
	return 0;
}

int sotto_kt_memstore_append(sotto_kt_memstore *ms, const uint8_t leaf_hash[HB])
{
	if (ms == NULL || leaf_hash == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (ms->f.size == UINT64_MAX)
		return SOTTO_ERR_LIMIT;
	/* The append writes one node at each level 0..t, t = trailing ones of
	 * the old size; reserve them all first so a failure changes nothing. */
	int t = sotto__kt_ctz(~ms->f.size);
	for (int h = 0; h <= t; h++) {
		int rc = reserve(ms, h);
		if (rc != 0)
			return rc;
	}
	sotto_kt_node nodes[SOTTO_KT_MAX_APPEND_NODES];
	uint8_t hashes[SOTTO_KT_MAX_APPEND_NODES * HB];
	size_t n;
	int rc = sotto_kt_frontier_append(&ms->f, leaf_hash, nodes, hashes, &n);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct level *l = &ms->lv[nodes[i].level];
		uint64_t idx = nodes[i].index;
		/* Appends complete nodes strictly in order at every level. */
		if (idx != l->count)
			return SOTTO_ERR_INTERNAL;
		memcpy(l->chunks[idx >> CHUNK_SHIFT] + (idx & (CHUNK_NODES - 1)) * HB,
		       hashes + i * HB, HB);
		l->count++;
	}
	return 0;
}

uint64_t sotto_kt_memstore_size(const sotto_kt_memstore *ms)
{
	return ms ? ms->f.size : 0;
}

int sotto_kt_memstore_root(const sotto_kt_memstore *ms, uint8_t root[HB])
{
	if (ms == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sotto_kt_frontier_root(&ms->f, root);
}

size_t sotto_kt_memstore_bytes(const sotto_kt_memstore *ms)
{
	return ms ? ms->bytes : 0;
}

static int memstore_get(void *ctx, const sotto_kt_node *nodes, size_t n, uint8_t *hashes)
{
	const sotto_kt_memstore *ms = ctx;
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].level >= 64)
			return SOTTO_ERR_NOT_FOUND;
		const struct level *l = &ms->lv[nodes[i].level];
		uint64_t idx = nodes[i].index;
		if (idx >= l->count)
			return SOTTO_ERR_NOT_FOUND;
		memcpy(hashes + i * HB, l->chunks[idx >> CHUNK_SHIFT] + (idx & (CHUNK_NODES - 1)) * HB,
		       HB);
	}
	return 0;
}

sotto_kt_store sotto_kt_memstore_store(sotto_kt_memstore *ms)
{
	sotto_kt_store s = { ms, memstore_get };
	return s;
}
