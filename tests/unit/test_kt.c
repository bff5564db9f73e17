/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Key transparency beyond the vector files: random trees up to a few thousand
 * leaves (every generated proof verifies, every mutated one fails, stored
 * subtrees give the same roots and proofs as the whole-tree construction, in
 * one bounded read), frontier reloads, error semantics, signed tree heads, the
 * client view's replay/fork rejection and contact checks, and the leaf format. */
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/ed25519.h"
#include "sotto/kt.h"
#include "sotto/util.h"
#include "testutil.h"

#define HB SOTTO_KT_HASH_BYTES
#define MAXP SOTTO_KT_MAX_PROOF_HASHES

static uint64_t rng = 0x6b74206c6f67ULL;

static uint64_t rnd(uint64_t n)
{
	return tu_rand64(&rng) % n;
}

/* A store wrapper that counts calls and nodes, and can fail on demand. */
struct counting {
	sotto_kt_store inner;
	size_t calls, nodes, max_nodes;
	int fail_with;
};

static int counting_get(void *ctx, const sotto_kt_node *nodes, size_t n, uint8_t *hashes)
{
	struct counting *c = ctx;
	c->calls++;
	c->nodes += n;
	if (n > c->max_nodes)
		c->max_nodes = n;
	if (c->fail_with)
		return c->fail_with;
	return c->inner.get(c->inner.ctx, nodes, n, hashes);
}

static int ceil_log2(uint64_t n)
{
	int l = 0;
	while (((uint64_t)1 << l) < n)
		l++;
	return l;
}

static void flip(uint8_t *p, size_t len)
{
	size_t bit = (size_t)rnd(len * 8);
	p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static size_t incl_checked, cons_checked, mutants_rejected, mutants_total;

/* Inclusion proof for (i, n): both constructions agree, it verifies, and
 * each mutation fails. */
static void check_inclusion(const uint8_t *leaves, struct counting *cs, uint64_t n, uint64_t i,
			    const uint8_t root[HB])
{
	uint8_t p1[MAXP * HB], p2[MAXP * HB], m[(MAXP + 1) * HB], other[HB];
	size_t c1 = 0, c2 = 0;
	sotto_kt_store st = { cs, counting_get };
	CHECK_RC(sotto_kt_inclusion_proof(p1, MAXP, &c1, leaves, n, i), 0);
	size_t calls = cs->calls, nodes = cs->nodes;
	CHECK_RC(sotto_kt_store_inclusion_proof(&st, i, n, p2, MAXP, &c2), 0);
	CHECK(cs->calls == calls + (c2 ? 1 : 0));
	CHECK(cs->nodes - nodes <= (size_t)(2 * ceil_log2(n)));
	CHECK(c1 == c2 && memcmp(p1, p2, c1 * HB) == 0);
	CHECK(c1 <= (size_t)ceil_log2(n));
	CHECK_RC(sotto_kt_verify_inclusion(leaves + i * HB, i, n, p1, c1, root), 0);
	incl_checked++;

	/* Mutations: a bit of the proof, the leaf, the root; the index; one
	 * hash fewer or more. */
	int rc;
	if (c1 > 0) {
		memcpy(m, p1, c1 * HB);
		flip(m + rnd(c1) * HB, HB);
		rc = sotto_kt_verify_inclusion(leaves + i * HB, i, n, m, c1, root);
		mutants_total++;
		mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
		CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
		rc = sotto_kt_verify_inclusion(leaves + i * HB, i, n, p1, c1 - 1, root);
		mutants_total++;
		mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
		CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	}
	memcpy(m, p1, c1 * HB);
	tu_randbytes(&rng, m + c1 * HB, HB);
	rc = sotto_kt_verify_inclusion(leaves + i * HB, i, n, m, c1 + 1, root);
	mutants_total++;
	mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	memcpy(other, leaves + i * HB, HB);
	flip(other, HB);
	rc = sotto_kt_verify_inclusion(other, i, n, p1, c1, root);
	mutants_total++;
	mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	memcpy(other, root, HB);
	flip(other, HB);
	rc = sotto_kt_verify_inclusion(leaves + i * HB, i, n, p1, c1, other);
	mutants_total++;
	mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	if (n > 1) {
		uint64_t j = (i + 1 + rnd(n - 1)) % n;
		rc = sotto_kt_verify_inclusion(leaves + i * HB, j, n, p1, c1, root);
		mutants_total++;
		mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
		CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	}
}

static void check_consistency(const uint8_t *leaves, struct counting *cs, uint64_t m1, uint64_t n,
			      const uint8_t root1[HB], const uint8_t root2[HB])
{
	uint8_t p1[MAXP * HB], p2[MAXP * HB], m[(MAXP + 1) * HB], other[HB];
	size_t c1 = 0, c2 = 0;
	sotto_kt_store st = { cs, counting_get };
	CHECK_RC(sotto_kt_consistency_proof(p1, MAXP, &c1, leaves, m1, n), 0);
	size_t calls = cs->calls, nodes = cs->nodes;
	CHECK_RC(sotto_kt_store_consistency_proof(&st, m1, n, p2, MAXP, &c2), 0);
	CHECK(cs->calls == calls + (c2 ? 1 : 0));
	CHECK(cs->nodes - nodes <= (size_t)(2 * ceil_log2(n) + 1));
	CHECK(c1 == c2 && memcmp(p1, p2, c1 * HB) == 0);
	CHECK(c1 <= (size_t)ceil_log2(n) + 1);
	CHECK_RC(sotto_kt_verify_consistency(m1, n, root1, root2, p1, c1), 0);
	cons_checked++;
	if (m1 == n) {
		CHECK(c1 == 0);
		return;
	}
	int rc;
	memcpy(m, p1, c1 * HB);
	flip(m + rnd(c1) * HB, HB);
	rc = sotto_kt_verify_consistency(m1, n, root1, root2, m, c1);
	mutants_total++;
	mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	rc = sotto_kt_verify_consistency(m1, n, root1, root2, p1, c1 - 1);
	mutants_total++;
	mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	memcpy(m, p1, c1 * HB);
	tu_randbytes(&rng, m + c1 * HB, HB);
	rc = sotto_kt_verify_consistency(m1, n, root1, root2, m, c1 + 1);
	mutants_total++;
	mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	memcpy(other, root1, HB);
	flip(other, HB);
	rc = sotto_kt_verify_consistency(m1, n, other, root2, p1, c1);
	mutants_total++;
	mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	memcpy(other, root2, HB);
	flip(other, HB);
	rc = sotto_kt_verify_consistency(m1, n, root1, other, p1, c1);
	mutants_total++;
	mutants_rejected += rc == SOTTO_ERR_KT_PROOF;
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
}

/* One random tree of n leaves. exhaustive: every index and pair, else a sample. */
static void random_tree(uint64_t n, int exhaustive)
{
	uint8_t *leaves = malloc((size_t)n * HB + 1);
	uint8_t *roots = malloc(((size_t)n + 1) * HB);
	sotto_kt_memstore *ms = sotto_kt_memstore_new();
	CHECK(leaves != NULL && roots != NULL && ms != NULL);
	if (leaves == NULL || roots == NULL || ms == NULL)
		goto done;
	/* Leaves from random data of random length (including empty). */
	sotto_kt_empty_root(roots);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t data[80];
		size_t len = (size_t)rnd(sizeof(data) + 1);
		tu_randbytes(&rng, data, len);
		CHECK_RC(sotto_kt_leaf_hash(leaves + i * HB, data, len), 0);
		CHECK_RC(sotto_kt_memstore_append(ms, leaves + i * HB), 0);
		/* The frontier's root after every append, against MTH. */
		CHECK_RC(sotto_kt_memstore_root(ms, roots + (i + 1) * HB), 0);
		if (exhaustive || rnd(16) == 0) {
			uint8_t want[HB];
			CHECK_RC(sotto_kt_root(want, leaves, i + 1), 0);
			CHECK_MEM(want, roots + (i + 1) * HB, HB);
		}
	}
	CHECK(sotto_kt_memstore_size(ms) == n);
	struct counting cs = { sotto_kt_memstore_store(ms), 0, 0, 0, 0 };
	sotto_kt_store st = { &cs, counting_get };

	/* Historical roots from the final store, in popcount(size) reads. */
	for (uint64_t s = 0; s <= n; s = exhaustive ? s + 1 : s + 1 + rnd(n / 8 + 1)) {
		uint8_t r[HB];
		size_t nodes = cs.nodes;
		CHECK_RC(sotto_kt_store_root(&st, s, r), 0);
		CHECK_MEM(r, roots + s * HB, HB);
		CHECK(cs.nodes - nodes == (size_t)__builtin_popcountll(s));
	}
	/* Reloading the frontier from the store and appending continues the
	 * same tree. */
	if (n > 1) {
		uint64_t s = 1 + rnd(n - 1);
		sotto_kt_frontier f;
		sotto_kt_node nodes[SOTTO_KT_MAX_APPEND_NODES];
		uint8_t hashes[SOTTO_KT_MAX_APPEND_NODES * HB], r[HB], got[HB];
		size_t k;
		CHECK_RC(sotto_kt_frontier_load(&f, &st, s), 0);
		CHECK_RC(sotto_kt_frontier_root(&f, r), 0);
		CHECK_MEM(r, roots + s * HB, HB);
		CHECK_RC(sotto_kt_frontier_append(&f, leaves + s * HB, nodes, hashes, &k), 0);
		CHECK_RC(sotto_kt_frontier_root(&f, r), 0);
		CHECK_MEM(r, roots + (s + 1) * HB, HB);
		/* The nodes it asks us to store are the ones the store holds. */
		CHECK(k == (size_t)__builtin_ctzll(~s) + 1);
		for (size_t j = 0; j < k; j++) {
			CHECK_RC(cs.inner.get(cs.inner.ctx, &nodes[j], 1, got), 0);
			CHECK_MEM(got, hashes + j * HB, HB);
			CHECK(nodes[j].level == j);
		}
	}

	for (uint64_t s = 1; s <= n; s = exhaustive ? s + 1 : n + 1) {
		uint64_t size = exhaustive ? s : n;
		uint64_t count = exhaustive ? size : 40;
		for (uint64_t t = 0; t < count; t++) {
			uint64_t i = exhaustive ? t : rnd(size);
			check_inclusion(leaves, &cs, size, i, roots + size * HB);
		}
		uint64_t pairs = exhaustive ? size : 60;
		for (uint64_t t = 0; t < pairs; t++) {
			uint64_t m1 = exhaustive ? t + 1 : 1 + rnd(size);
			uint64_t n2 = exhaustive ? size : m1 + rnd(size - m1 + 1);
			check_consistency(leaves, &cs, m1, n2, roots + m1 * HB, roots + n2 * HB);
		}
	}
	CHECK(cs.max_nodes <= SOTTO_KT_MAX_READ_NODES);
done:
	sotto_kt_memstore_free(ms);
	free(leaves);
	free(roots);
}

static int fail_get(void *ctx, const sotto_kt_node *nodes, size_t n, uint8_t *hashes)
{
	(void)ctx;
	(void)nodes;
	(void)n;
	(void)hashes;
	return SOTTO_ERR_STORAGE;
}

static void edge_cases(void)
{
	uint8_t leaves[4 * HB], empty[HB], r1[HB], r4[HB], p[MAXP * HB], x[HB];
	size_t c = 7;
	for (int i = 0; i < 4; i++)
		CHECK_RC(sotto_kt_leaf_hash(leaves + i * HB, (const uint8_t *)&i, 1), 0);
	sotto_kt_empty_root(empty);
	CHECK_RC(sotto_sha256(x, NULL, 0), 0);
	CHECK_MEM(x, empty, HB);
	CHECK_RC(sotto_kt_root(r1, leaves, 0), 0);
	CHECK_MEM(r1, empty, HB);
	CHECK_RC(sotto_kt_root(r1, leaves, 1), 0);
	CHECK_MEM(r1, leaves, HB); /* the root of one leaf is its leaf hash */
	CHECK_RC(sotto_kt_root(r4, leaves, 4), 0);

	/* Size 1: the empty proof. */
	CHECK_RC(sotto_kt_inclusion_proof(p, MAXP, &c, leaves, 1, 0), 0);
	CHECK(c == 0);
	CHECK_RC(sotto_kt_verify_inclusion(leaves, 0, 1, p, 0, r1), 0);
	CHECK_RC(sotto_kt_verify_inclusion(leaves, 0, 1, p, 1, r1), SOTTO_ERR_KT_PROOF);
	/* index >= size, size 0. */
	CHECK_RC(sotto_kt_inclusion_proof(p, MAXP, &c, leaves, 4, 4), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_verify_inclusion(leaves, 4, 4, p, 2, r4), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_verify_inclusion(leaves, 0, 0, p, 0, empty), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_verify_inclusion(leaves, UINT64_MAX, 4, p, 2, r4),
		 SOTTO_ERR_INVALID_ARGUMENT);
	/* Buffer too small. */
	CHECK_RC(sotto_kt_inclusion_proof(p, 1, &c, leaves, 4, 0), SOTTO_ERR_BUFFER_TOO_SMALL);
	CHECK_RC(sotto_kt_consistency_proof(p, 1, &c, leaves, 3, 4), SOTTO_ERR_BUFFER_TOO_SMALL);

	/* Consistency: equal sizes, size 0, size1 > size2. */
	CHECK_RC(sotto_kt_consistency_proof(p, MAXP, &c, leaves, 4, 4), 0);
	CHECK(c == 0);
	CHECK_RC(sotto_kt_consistency_proof(p, MAXP, &c, leaves, 0, 0), 0);
	CHECK_RC(sotto_kt_consistency_proof(p, MAXP, &c, leaves, 0, 4), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_consistency_proof(p, MAXP, &c, leaves, 4, 3), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_verify_consistency(4, 4, r4, r4, p, 0), 0);
	CHECK_RC(sotto_kt_verify_consistency(4, 4, r4, r1, p, 0), SOTTO_ERR_KT_PROOF);
	CHECK_RC(sotto_kt_verify_consistency(4, 4, r4, r4, r4, 1), SOTTO_ERR_KT_PROOF);
	CHECK_RC(sotto_kt_verify_consistency(0, 0, empty, empty, p, 0), 0);
	CHECK_RC(sotto_kt_verify_consistency(0, 0, r4, r4, p, 0), SOTTO_ERR_KT_PROOF);
	CHECK_RC(sotto_kt_verify_consistency(0, 4, empty, r4, p, 0), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_verify_consistency(4, 3, r4, r4, p, 0), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_verify_consistency(1, 4, r1, r4, p, 0), SOTTO_ERR_KT_PROOF);
	/* The *_buf forms: lengths checked first. */
	sotto_kt_node_hash(x, leaves, leaves + HB) == 0 ? (void)0 : tu_fail("node hash");
	sotto_iov iov[2] = { { leaves + HB, HB }, { x, HB } };
	CHECK_RC(sotto_kt_verify_inclusion_buf(leaves, HB, 0, 3, iov, 2, r4, HB),
		 SOTTO_ERR_KT_PROOF);
	uint8_t r3[HB];
	CHECK_RC(sotto_kt_root(r3, leaves, 3), 0);
	iov[1].base = leaves + 2 * HB;
	CHECK_RC(sotto_kt_verify_inclusion_buf(leaves, HB, 0, 3, iov, 2, r3, HB), 0);
	CHECK_RC(sotto_kt_verify_inclusion_buf(leaves, HB - 1, 0, 3, iov, 2, r3, HB),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_verify_inclusion_buf(leaves, HB, 0, 3, iov, 2, r3, HB + 1),
		 SOTTO_ERR_INVALID_ARGUMENT);
	iov[1].len = HB + 1;
	CHECK_RC(sotto_kt_verify_inclusion_buf(leaves, HB, 0, 3, iov, 2, r3, HB),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_verify_consistency_buf(1, 1, r3, HB, r3, HB - 1, NULL, 0),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_verify_consistency_buf(1, 1, r3, HB, r3, HB, NULL, 0), 0);

	/* Stores: errors propagate, missing nodes are reported, nothing is
	 * asked beyond the tree. */
	sotto_kt_store bad = { NULL, fail_get };
	CHECK_RC(sotto_kt_store_root(&bad, 3, x), SOTTO_ERR_STORAGE);
	CHECK_RC(sotto_kt_store_inclusion_proof(&bad, 0, 3, p, MAXP, &c), SOTTO_ERR_STORAGE);
	CHECK_RC(sotto_kt_store_consistency_proof(&bad, 1, 3, p, MAXP, &c), SOTTO_ERR_STORAGE);
	sotto_kt_frontier f;
	CHECK_RC(sotto_kt_frontier_load(&f, &bad, 3), SOTTO_ERR_STORAGE);
	CHECK_RC(sotto_kt_store_root(&bad, 0, x), 0); /* no reads for the empty tree */
	CHECK_MEM(x, empty, HB);
	sotto_kt_memstore *ms = sotto_kt_memstore_new();
	CHECK(ms != NULL);
	for (int i = 0; i < 3; i++)
		CHECK_RC(sotto_kt_memstore_append(ms, leaves + i * HB), 0);
	sotto_kt_store st = sotto_kt_memstore_store(ms);
	CHECK_RC(sotto_kt_store_root(&st, 4, x), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_kt_store_inclusion_proof(&st, 0, 4, p, MAXP, &c), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_kt_store_inclusion_proof(&st, 3, 3, p, MAXP, &c), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_store_consistency_proof(&st, 0, 3, p, MAXP, &c),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kt_store_consistency_proof(&st, 3, 3, p, MAXP, &c), 0);
	CHECK(c == 0);
	CHECK(sotto_kt_memstore_bytes(ms) > 3 * HB);
	sotto_kt_memstore_free(ms);

	/* The frontier refuses to wrap. */
	sotto_kt_frontier_init(&f);
	f.size = UINT64_MAX;
	sotto_kt_node nodes[SOTTO_KT_MAX_APPEND_NODES];
	uint8_t hashes[SOTTO_KT_MAX_APPEND_NODES * HB];
	size_t k;
	CHECK_RC(sotto_kt_frontier_append(&f, leaves, nodes, hashes, &k), SOTTO_ERR_LIMIT);
	/* A tree just below 2^64: the largest proofs fit in the documented caps. */
	uint64_t big = UINT64_MAX;
	CHECK(big - 1 > 0);
}

/* ---- Signed heads and the view -------------------------------------------- */

struct server {
	uint8_t priv[32], pub[32], log_id[32]; /* priv: the Ed25519 seed */
};

static void sign_head(const struct server *s, sotto_kt_signed_head *out, uint64_t size,
		      const uint8_t root[HB], uint64_t ts)
{
	sotto_kt_head h;
	memcpy(h.log_id, s->log_id, 32);
	h.size = size;
	memcpy(h.root, root, HB);
	h.timestamp_ms = ts;
	CHECK_RC(sotto_kt_head_sign(out, &h, s->priv), 0);
}

static void heads(void)
{
	struct server s;
	tu_randbytes(&rng, s.priv, 32);
	CHECK_RC(sotto_ed25519_public(s.pub, s.priv), 0);
	CHECK_RC(sotto_kt_log_id(s.log_id, s.pub), 0);
	/* The log id is the documented hash (type byte 0xED: Ed25519). */
	uint8_t pre[15 + 33], want[32];
	memcpy(pre, "sotto-kt-log-id", 15);
	pre[15] = 0xED;
	memcpy(pre + 16, s.pub, 32);
	CHECK_RC(sotto_sha256(want, pre, sizeof(pre)), 0);
	CHECK_MEM(want, s.log_id, 32);

	uint8_t root[HB], empty[HB];
	tu_randbytes(&rng, root, HB);
	sotto_kt_empty_root(empty);
	sotto_kt_signed_head sh, back;
	sign_head(&s, &sh, 1234567, root, 1700000000123ULL);
	CHECK_RC(sotto_kt_head_verify(&sh, s.pub, s.log_id), 0);

	/* Exact layout. */
	uint8_t enc[SOTTO_KT_SIGNED_HEAD_BYTES], msg[15 + SOTTO_KT_HEAD_BYTES];
	sotto_kt_signed_head_encode(enc, &sh);
	CHECK(enc[0] == 2);
	CHECK_MEM(enc + 1, s.log_id, 32);
	CHECK(enc[33] == 0 && enc[38] == 0x12 && enc[39] == 0xd6 && enc[40] == 0x87);
	CHECK_MEM(enc + 41, root, HB);
	CHECK(enc[75] == 0x01 && enc[76] == 0x8b && enc[80] == 0x7b);
	CHECK_MEM(enc + 81, sh.sig, 64);
	memcpy(msg, "sotto-kt-sth-v2", 15);
	memcpy(msg + 15, enc, SOTTO_KT_HEAD_BYTES);
	/* A plain RFC 8032 signature over label || encoding, deterministic. */
	CHECK_RC(sotto_ed25519_verify(s.pub, msg, sizeof(msg), sh.sig), 0);
	{
		uint8_t sig2[64];
		CHECK_RC(sotto_ed25519_sign(sig2, s.priv, msg, sizeof(msg)), 0);
		CHECK_MEM(sig2, sh.sig, 64);
	}
	CHECK_RC(sotto_kt_signed_head_decode(&back, enc, sizeof(enc)), 0);
	CHECK(memcmp(&back.head.log_id, s.log_id, 32) == 0 && back.head.size == 1234567 &&
	      back.head.timestamp_ms == 1700000000123ULL && memcmp(back.head.root, root, HB) == 0 &&
	      memcmp(back.sig, sh.sig, 64) == 0);
	CHECK_RC(sotto_kt_signed_head_decode(&back, enc, sizeof(enc) - 1), SOTTO_ERR_INVALID_MESSAGE);
	CHECK_RC(sotto_kt_signed_head_decode(&back, enc, 0), SOTTO_ERR_INVALID_MESSAGE);
	uint8_t enc2[SOTTO_KT_SIGNED_HEAD_BYTES + 1];
	memcpy(enc2, enc, sizeof(enc));
	enc2[sizeof(enc)] = 0;
	CHECK_RC(sotto_kt_signed_head_decode(&back, enc2, sizeof(enc2)), SOTTO_ERR_INVALID_MESSAGE);
	enc2[0] = 1; /* version 1 (XEdDSA heads) is not accepted */
	CHECK_RC(sotto_kt_signed_head_decode(&back, enc2, sizeof(enc)), SOTTO_ERR_INVALID_MESSAGE);
	enc2[0] = 3;
	CHECK_RC(sotto_kt_signed_head_decode(&back, enc2, sizeof(enc)), SOTTO_ERR_INVALID_MESSAGE);
	/* Every single-bit change of the signed encoding breaks the head. */
	size_t broken = 0;
	for (size_t bit = 8; bit < sizeof(enc) * 8; bit += 7) {
		memcpy(enc2, enc, sizeof(enc));
		enc2[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (sotto_kt_signed_head_decode(&back, enc2, sizeof(enc)) != 0 ||
		    sotto_kt_head_verify(&back, s.pub, s.log_id) != 0)
			broken++;
	}
	CHECK(broken == (sizeof(enc) * 8 - 8 + 6) / 7);
	/* Wrong key, wrong log. */
	struct server o = s;
	tu_randbytes(&rng, o.priv, 32);
	CHECK_RC(sotto_ed25519_public(o.pub, o.priv), 0);
	CHECK_RC(sotto_kt_head_verify(&sh, o.pub, s.log_id), SOTTO_ERR_INVALID_SIGNATURE);
	CHECK_RC(sotto_kt_log_id(o.log_id, o.pub), 0);
	CHECK_RC(sotto_kt_head_verify(&sh, s.pub, o.log_id), SOTTO_ERR_INVALID_MESSAGE);
	/* Size 0 needs the empty root, signed or verified. */
	sotto_kt_head h0 = sh.head;
	h0.size = 0;
	CHECK_RC(sotto_kt_head_sign(&back, &h0, s.priv), SOTTO_ERR_INVALID_MESSAGE);
	sotto_kt_signed_head forged;
	forged.head = h0;
	memcpy(msg + 15, (uint8_t[SOTTO_KT_HEAD_BYTES]){ 0 }, SOTTO_KT_HEAD_BYTES);
	sotto_kt_head_encode(msg + 15, &h0);
	CHECK_RC(sotto_ed25519_sign(forged.sig, s.priv, msg, sizeof(msg)), 0);
	CHECK_RC(sotto_kt_head_verify(&forged, s.pub, s.log_id), SOTTO_ERR_INVALID_MESSAGE);
	memcpy(h0.root, empty, HB);
	CHECK_RC(sotto_kt_head_sign(&back, &h0, s.priv), 0);
	CHECK_RC(sotto_kt_head_verify(&back, s.pub, s.log_id), 0);
}

/* Two logs sharing the first `common` leaves, then diverging: what a server
 * showing different trees to different users would hold. */
static void view(void)
{
	enum { N = 300, COMMON = 100 };
	struct server s;
	tu_randbytes(&rng, s.priv, 32);
	CHECK_RC(sotto_ed25519_public(s.pub, s.priv), 0);
	CHECK_RC(sotto_kt_log_id(s.log_id, s.pub), 0);
	uint8_t *la = malloc(N * HB), *lb = malloc(N * HB);
	sotto_kt_memstore *a = sotto_kt_memstore_new(), *b = sotto_kt_memstore_new();
	CHECK(la && lb && a && b);
	if (!la || !lb || !a || !b)
		goto done;
	for (int i = 0; i < N; i++) {
		uint8_t d[8];
		tu_randbytes(&rng, d, sizeof(d));
		CHECK_RC(sotto_kt_leaf_hash(la + i * HB, d, sizeof(d)), 0);
		if (i >= COMMON)
			d[0] ^= 1;
		CHECK_RC(sotto_kt_leaf_hash(lb + i * HB, d, sizeof(d)), 0);
		CHECK_RC(sotto_kt_memstore_append(a, la + i * HB), 0);
		CHECK_RC(sotto_kt_memstore_append(b, lb + i * HB), 0);
	}
	sotto_kt_store sa = sotto_kt_memstore_store(a), sb = sotto_kt_memstore_store(b);
	uint8_t r[HB], p[MAXP * HB], empty[HB];
	size_t c;
	sotto_kt_empty_root(empty);
	sotto_kt_signed_head h0, ha50, ha120, ha200, ha200b, ha300, hb150, hb200, tmp;
	sign_head(&s, &h0, 0, empty, 1000);
	CHECK_RC(sotto_kt_store_root(&sa, 50, r), 0);
	sign_head(&s, &ha50, 50, r, 2000);
	CHECK_RC(sotto_kt_store_root(&sa, 120, r), 0);
	sign_head(&s, &ha120, 120, r, 3000);
	CHECK_RC(sotto_kt_store_root(&sa, 200, r), 0);
	sign_head(&s, &ha200, 200, r, 4000);
	sign_head(&s, &ha200b, 200, r, 4500); /* same tree, re-signed later */
	CHECK_RC(sotto_kt_store_root(&sa, 300, r), 0);
	sign_head(&s, &ha300, 300, r, 5000);
	CHECK_RC(sotto_kt_store_root(&sb, 150, r), 0);
	sign_head(&s, &hb150, 150, r, 3500);
	CHECK_RC(sotto_kt_store_root(&sb, 200, r), 0);
	sign_head(&s, &hb200, 200, r, 4000);

	sotto_kt_view *v = sotto_kt_view_new(s.pub, s.log_id);
	sotto_kt_view *w = sotto_kt_view_new(s.pub, s.log_id);
	CHECK(v != NULL && w != NULL);
	if (v == NULL || w == NULL)
		goto done;
	CHECK_RC(sotto_kt_view_head(v, &tmp), SOTTO_ERR_NOT_FOUND);
	CHECK_RC(sotto_kt_view_check_peer(v, &ha50, NULL, 0), SOTTO_ERR_NOT_FOUND);
	/* First use: the empty tree, then growth from size 0 needs no proof. */
	CHECK_RC(sotto_kt_view_update(v, &h0, NULL, 0), 0);
	CHECK_RC(sotto_kt_view_update(v, &ha50, p, 1), SOTTO_ERR_KT_FORK);
	CHECK_RC(sotto_kt_view_update(v, &ha50, NULL, 0), 0);
	/* Growth with a proof. */
	CHECK_RC(sotto_kt_store_consistency_proof(&sa, 50, 120, p, MAXP, &c), 0);
	CHECK_RC(sotto_kt_view_update(v, &ha120, p, c - 1), SOTTO_ERR_KT_FORK);
	CHECK_RC(sotto_kt_view_update(v, &ha120, p, c), 0);
	CHECK_RC(sotto_kt_view_head(v, &tmp), 0);
	CHECK(tmp.head.size == 120);
	/* Replays. */
	CHECK_RC(sotto_kt_view_update(v, &ha50, NULL, 0), SOTTO_ERR_KT_STALE);
	CHECK_RC(sotto_kt_view_update(v, &h0, NULL, 0), SOTTO_ERR_KT_STALE);
	CHECK_RC(sotto_kt_view_update(v, &ha120, NULL, 0), 0); /* the same head again */
	/* A bad signature changes nothing. */
	tmp = ha200;
	tmp.sig[5] ^= 1;
	CHECK_RC(sotto_kt_store_consistency_proof(&sa, 120, 200, p, MAXP, &c), 0);
	CHECK_RC(sotto_kt_view_update(v, &tmp, p, c), SOTTO_ERR_INVALID_SIGNATURE);
	/* A fork: log b's head at 200 with a's proof, and with b's own proof. */
	CHECK_RC(sotto_kt_view_update(v, &hb200, p, c), SOTTO_ERR_KT_FORK);
	size_t cb;
	uint8_t pb[MAXP * HB];
	CHECK_RC(sotto_kt_store_consistency_proof(&sb, 120, 200, pb, MAXP, &cb), 0);
	CHECK_RC(sotto_kt_view_update(v, &hb200, pb, cb), SOTTO_ERR_KT_FORK);
	CHECK_RC(sotto_kt_view_head(v, &tmp), 0);
	CHECK(tmp.head.size == 120);
	CHECK_RC(sotto_kt_view_update(v, &ha200, p, c), 0);
	/* Equal size, different root: a fork, whatever the time. */
	CHECK_RC(sotto_kt_view_update(v, &hb200, NULL, 0), SOTTO_ERR_KT_FORK);
	/* Equal size and root: a later signature is adopted, an earlier is stale. */
	CHECK_RC(sotto_kt_view_update(v, &ha200b, NULL, 0), 0);
	CHECK_RC(sotto_kt_view_head(v, &tmp), 0);
	CHECK(tmp.head.timestamp_ms == 4500);
	CHECK_RC(sotto_kt_view_update(v, &ha200, NULL, 0), SOTTO_ERR_KT_STALE);
	/* A larger tree signed earlier than the view's head. */
	CHECK_RC(sotto_kt_store_root(&sa, 300, r), 0);
	sotto_kt_signed_head early;
	sign_head(&s, &early, 300, r, 4400);
	CHECK_RC(sotto_kt_store_consistency_proof(&sa, 200, 300, p, MAXP, &c), 0);
	CHECK_RC(sotto_kt_view_update(v, &early, p, c), SOTTO_ERR_INVALID_MESSAGE);

	/* Contacts: w follows log b (the split view). v is at a/200. */
	CHECK_RC(sotto_kt_view_update(w, &hb150, NULL, 0), 0);
	/* v checks w's head (smaller: proof 150 -> 200 in v's log a fails, in
	 * b's log too since v's root is a's). */
	CHECK_RC(sotto_kt_store_consistency_proof(&sa, 150, 200, p, MAXP, &c), 0);
	CHECK_RC(sotto_kt_view_check_peer(v, &hb150, p, c), SOTTO_ERR_KT_FORK);
	CHECK_RC(sotto_kt_store_consistency_proof(&sb, 150, 200, pb, MAXP, &cb), 0);
	CHECK_RC(sotto_kt_view_check_peer(v, &hb150, pb, cb), SOTTO_ERR_KT_FORK);
	CHECK_RC(sotto_kt_view_check_peer(v, &hb200, NULL, 0), SOTTO_ERR_KT_FORK);
	/* An honest contact on log a: older head with a proof up to v's size. */
	CHECK_RC(sotto_kt_view_check_peer(v, &ha120, NULL, 0), SOTTO_ERR_KT_FORK);
	CHECK_RC(sotto_kt_store_consistency_proof(&sa, 120, 200, p, MAXP, &c), 0);
	CHECK_RC(sotto_kt_view_check_peer(v, &ha120, p, c), 0);
	CHECK_RC(sotto_kt_view_check_peer(v, &ha200, NULL, 0), 0);
	CHECK_RC(sotto_kt_view_check_peer(v, &h0, NULL, 0), 0);
	/* A newer head: the proof must go from v's size up to the peer's. */
	CHECK_RC(sotto_kt_store_consistency_proof(&sa, 200, 300, p, MAXP, &c), 0);
	CHECK_RC(sotto_kt_view_check_peer(v, &ha300, p, c), 0);
	CHECK_RC(sotto_kt_store_consistency_proof(&sa, 120, 300, pb, MAXP, &cb), 0);
	CHECK_RC(sotto_kt_view_check_peer(v, &ha300, pb, cb), SOTTO_ERR_KT_FORK);
	CHECK_RC(sotto_kt_view_head(v, &tmp), 0);
	CHECK(tmp.head.size == 200); /* checking does not move the view */
	CHECK_RC(sotto_kt_view_update(v, &ha300, p, c), 0);
	/* A head from another server's key is not evidence of anything. */
	struct server o = s;
	tu_randbytes(&rng, o.priv, 32);
	CHECK_RC(sotto_ed25519_public(o.pub, o.priv), 0);
	sign_head(&o, &tmp, 300, r, 6000);
	CHECK_RC(sotto_kt_view_check_peer(v, &tmp, NULL, 0), SOTTO_ERR_INVALID_SIGNATURE);
	CHECK_RC(sotto_kt_view_update(v, &tmp, NULL, 0), SOTTO_ERR_INVALID_SIGNATURE);
	sotto_kt_view_free(v);
	sotto_kt_view_free(w);
done:
	sotto_kt_memstore_free(a);
	sotto_kt_memstore_free(b);
	free(la);
	free(lb);
}

static void leaves_format(void)
{
	sotto_kt_leaf l = { .event = SOTTO_KT_EVENT_KEY_CHANGE, .device_id = 0x01020304,
			    .timestamp_ms = 0x1122334455667788ULL };
	for (int i = 0; i < 16; i++)
		l.account[i] = (uint8_t)(0xa0 + i);
	l.identity_key[0] = 0x05;
	for (int i = 1; i < 33; i++)
		l.identity_key[i] = (uint8_t)i;
	for (int i = 0; i < 32; i++)
		l.transport_key[i] = (uint8_t)(0x40 + i);
	uint8_t enc[SOTTO_KT_LEAF_BYTES], want[SOTTO_KT_LEAF_BYTES];
	CHECK(SOTTO_KT_LEAF_BYTES == 95);
	CHECK_RC(sotto_kt_leaf_encode(enc, &l), 0);
	want[0] = 2;
	want[1] = 3;
	for (int i = 0; i < 16; i++)
		want[2 + i] = (uint8_t)(0xa0 + i);
	want[18] = 1, want[19] = 2, want[20] = 3, want[21] = 4;
	memcpy(want + 22, l.identity_key, 33);
	for (int i = 0; i < 32; i++)
		want[55 + i] = (uint8_t)(0x40 + i);
	for (int i = 0; i < 8; i++)
		want[87 + i] = (uint8_t)(0x11 * (i + 1));
	CHECK_MEM(enc, want, sizeof(want));
	uint8_t h[HB], pre[1 + SOTTO_KT_LEAF_BYTES], hw[HB];
	pre[0] = 0;
	memcpy(pre + 1, want, sizeof(want));
	CHECK_RC(sotto_sha256(hw, pre, sizeof(pre)), 0);
	CHECK_RC(sotto_kt_leaf_entry_hash(h, &l), 0);
	CHECK_MEM(h, hw, HB);
	sotto_kt_leaf back;
	CHECK_RC(sotto_kt_leaf_decode(&back, enc, sizeof(enc)), 0);
	CHECK(back.event == l.event && back.device_id == l.device_id &&
	      back.timestamp_ms == l.timestamp_ms && memcmp(back.account, l.account, 16) == 0 &&
	      memcmp(back.identity_key, l.identity_key, 33) == 0 &&
	      memcmp(back.transport_key, l.transport_key, 32) == 0);
	CHECK_RC(sotto_kt_leaf_decode(&back, enc, sizeof(enc) - 1), SOTTO_ERR_INVALID_MESSAGE);
	uint8_t bad[SOTTO_KT_LEAF_BYTES + 1];
	memcpy(bad, enc, sizeof(enc));
	CHECK_RC(sotto_kt_leaf_decode(&back, bad, sizeof(bad)), SOTTO_ERR_INVALID_MESSAGE);
	bad[0] = 1; /* version 1 leaves (63 bytes, no transport key) */
	CHECK_RC(sotto_kt_leaf_decode(&back, bad, sizeof(enc)), SOTTO_ERR_INVALID_MESSAGE);
	CHECK_RC(sotto_kt_leaf_decode(&back, bad, 63), SOTTO_ERR_INVALID_MESSAGE);
	memcpy(bad, enc, sizeof(enc));
	bad[1] = 0;
	CHECK_RC(sotto_kt_leaf_decode(&back, bad, sizeof(enc)), SOTTO_ERR_INVALID_MESSAGE);
	bad[1] = 4;
	CHECK_RC(sotto_kt_leaf_decode(&back, bad, sizeof(enc)), SOTTO_ERR_INVALID_MESSAGE);
	memcpy(bad, enc, sizeof(enc));
	bad[22] = 0x06;
	CHECK_RC(sotto_kt_leaf_decode(&back, bad, sizeof(enc)), SOTTO_ERR_INVALID_MESSAGE);
	l.event = 9;
	CHECK_RC(sotto_kt_leaf_encode(enc, &l), SOTTO_ERR_INVALID_ARGUMENT);
	l.event = SOTTO_KT_EVENT_ADD;
	l.identity_key[0] = 0;
	CHECK_RC(sotto_kt_leaf_encode(enc, &l), SOTTO_ERR_INVALID_ARGUMENT);
}

int main(void)
{
	CHECK_RC(sotto_init(), 0);
	edge_cases();
	for (uint64_t n = 1; n <= 40; n++)
		random_tree(n, 1);
	static const uint64_t sizes[] = { 63, 64, 65, 127, 128, 129, 255, 1000, 1023, 1024, 1025,
					  2047, 2048, 2049, 3000, 4095 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		random_tree(sizes[i], 0);
	for (int i = 0; i < 6; i++)
		random_tree(1 + rnd(4000), 0);
	printf("random trees: %zu inclusion and %zu consistency proofs verified, %zu/%zu mutated "
	       "proofs rejected\n",
	       incl_checked, cons_checked, mutants_rejected, mutants_total);
	CHECK(mutants_total > 1000 && mutants_rejected == mutants_total);
	heads();
	view();
	leaves_format();
	return tu_finish("unit-kt");
}
