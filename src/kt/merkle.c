/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* RFC 9162 Merkle tree hashing, the reference (whole-tree) proof
 * constructions of sections 2.1.1, 2.1.3.1 and 2.1.4.1, and the verifiers of
 * sections 2.1.3.2 and 2.1.4.2. Everything here is public data (leaves, roots,
 * proofs), so branching on it is fine; roots are still compared with
 * sotto_memeq out of habit. */
#include <string.h>

#include "kt/kt_internal.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/kt.h"
#include "sotto/util.h"

#define HB SOTTO_KT_HASH_BYTES

/* SHA-256("") */
static const uint8_t EMPTY_ROOT[HB] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

void sotto_kt_empty_root(uint8_t out[HB])
{
	memcpy(out, EMPTY_ROOT, HB);
}

int sotto_kt_leaf_hash(uint8_t out[HB], const uint8_t *data, size_t len)
{
	static const uint8_t prefix = 0x00;
	if (out == NULL || (data == NULL && len > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_iov parts[2] = { { &prefix, 1 }, { data, len } };
	return sotto_sha256_v(out, parts, 2);
}

int sotto_kt_node_hash(uint8_t out[HB], const uint8_t left[HB], const uint8_t right[HB])
{
	static const uint8_t prefix = 0x01;
	if (out == NULL || left == NULL || right == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* out may alias left or right: the digest reads its input before writing. */
	sotto_iov parts[3] = { { &prefix, 1 }, { left, HB }, { right, HB } };
	return sotto_sha256_v(out, parts, 3);
}

/* ---- Reference constructions ------------------------------------------ */

/* MTH(D[lo:hi]) over leaf hashes. Recursion depth is at most 64. */
static int mth(uint8_t out[HB], const uint8_t *leaves, uint64_t lo, uint64_t hi)
{
	uint64_t n = hi - lo;
	if (n == 0) {
		memcpy(out, EMPTY_ROOT, HB);
		return 0;
	}
	if (n == 1) {
		memcpy(out, leaves + (size_t)lo * HB, HB);
		return 0;
	}
	uint64_t k = sotto__kt_split(n);
	uint8_t l[HB], r[HB];
	int rc = mth(l, leaves, lo, lo + k);
	if (rc == 0)
		rc = mth(r, leaves, lo + k, hi);
	if (rc == 0)
		rc = sotto_kt_node_hash(out, l, r);
	return rc;
}

int sotto_kt_root(uint8_t out[HB], const uint8_t *leaf_hashes, uint64_t n)
{
	if (out == NULL || (leaf_hashes == NULL && n > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return mth(out, leaf_hashes, 0, n);
}

struct proof_out {
	uint8_t *p;
	size_t cap, count;
};

/* Appends MTH(D[lo:hi]) to the proof. */
static int push_mth(struct proof_out *o, const uint8_t *leaves, uint64_t lo, uint64_t hi)
{
	if (o->count >= o->cap)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	int rc = mth(o->p + o->count * HB, leaves, lo, hi);
	if (rc == 0)
		o->count++;
	return rc;
}

/* PATH(m, D[lo:hi]) (RFC 9162 2.1.3.1): the subpath, then the sibling. */
static int path(struct proof_out *o, const uint8_t *leaves, uint64_t m, uint64_t lo, uint64_t hi)
{
	uint64_t n = hi - lo;
	if (n <= 1)
		return 0;
	uint64_t k = sotto__kt_split(n);
	int rc;
	if (m < k) {
		rc = path(o, leaves, m, lo, lo + k);
		return rc ? rc : push_mth(o, leaves, lo + k, hi);
	}
	rc = path(o, leaves, m - k, lo + k, hi);
	return rc ? rc : push_mth(o, leaves, lo, lo + k);
}

/* SUBPROOF(m, D[lo:hi], b) (RFC 9162 2.1.4.1). */
static int subproof(struct proof_out *o, const uint8_t *leaves, uint64_t m, uint64_t lo,
		    uint64_t hi, int b)
{
	uint64_t n = hi - lo;
	if (m == n)
		return b ? 0 : push_mth(o, leaves, lo, hi);
	uint64_t k = sotto__kt_split(n);
	int rc;
	if (m <= k) {
		rc = subproof(o, leaves, m, lo, lo + k, b);
		return rc ? rc : push_mth(o, leaves, lo + k, hi);
	}
	rc = subproof(o, leaves, m - k, lo + k, hi, 0);
	return rc ? rc : push_mth(o, leaves, lo, lo + k);
}

int sotto_kt_inclusion_proof(uint8_t *proof, size_t cap, size_t *count, const uint8_t *leaf_hashes,
			     uint64_t n, uint64_t index)
{
	if (count == NULL || (proof == NULL && cap > 0) || leaf_hashes == NULL || index >= n)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*count = 0;
	struct proof_out o = { proof, cap, 0 };
	int rc = path(&o, leaf_hashes, index, 0, n);
	if (rc == 0)
		*count = o.count;
	return rc;
}

int sotto_kt_consistency_proof(uint8_t *proof, size_t cap, size_t *count, const uint8_t *leaf_hashes,
			       uint64_t size1, uint64_t size2)
{
	if (count == NULL || (proof == NULL && cap > 0) || size1 > size2 ||
	    (size1 == 0 && size2 > 0) || (leaf_hashes == NULL && size2 > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*count = 0;
	if (size1 == size2)
		return 0;
	struct proof_out o = { proof, cap, 0 };
	int rc = subproof(&o, leaf_hashes, size1, 0, size2, 1);
	if (rc == 0)
		*count = o.count;
	return rc;
}

/* ---- Verification --------------------------------------------------------- */

static int root_eq(const uint8_t a[HB], const uint8_t b[HB])
{
	return sotto_memeq(a, b, HB);
}

int sotto_kt_verify_inclusion(const uint8_t leaf_hash[HB], uint64_t index, uint64_t size,
			      const uint8_t *proof, size_t count, const uint8_t root[HB])
{
	if (leaf_hash == NULL || root == NULL || (proof == NULL && count > 0) || index >= size)
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* RFC 9162 2.1.3.2. fn is the index of the node on the path, sn the
	 * index of the last node at the same level. */
	uint64_t fn = index, sn = size - 1;
	uint8_t r[HB];
	memcpy(r, leaf_hash, HB);
	for (size_t i = 0; i < count; i++) {
		const uint8_t *p = proof + i * HB;
		int rc;
		if (sn == 0)
			return SOTTO_ERR_KT_PROOF; /* more hashes than levels */
		if ((fn & 1) || fn == sn) {
			rc = sotto_kt_node_hash(r, p, r);
			/* A right-border node without a right sibling moves up
			 * levels for free until it is a right child again. */
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rc = sotto_kt_node_hash(r, r, p);
		}
		if (rc != 0)
			return rc;
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !root_eq(r, root))
		return SOTTO_ERR_KT_PROOF;
	return 0;
}

int sotto_kt_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[HB],
				const uint8_t root2[HB], const uint8_t *proof, size_t count)
{
	if (root1 == NULL || root2 == NULL || (proof == NULL && count > 0) || size1 > size2)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (size1 == size2) {
		/* Nothing to prove but equality; a tree of size 0 has exactly one root. */
		if (count != 0 || !root_eq(root1, root2) ||
		    (size1 == 0 && !root_eq(root1, EMPTY_ROOT)))
			return SOTTO_ERR_KT_PROOF;
		return 0;
	}
	/* RFC 9162 defines proofs for 0 < size1 only: every tree extends the
	 * empty one, so a "proof" from size 0 would prove nothing. */
	if (size1 == 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (count == 0)
		return SOTTO_ERR_KT_PROOF;

	/* RFC 9162 2.1.4.2. When size1 is a power of two the old root is itself
	 * a node of the new tree and the proof leaves it out (step 2). */
	const uint8_t *seed;
	size_t next;
	if ((size1 & (size1 - 1)) == 0) {
		seed = root1;
		next = 0;
	} else {
		seed = proof;
		next = 1;
	}
	uint64_t fn = size1 - 1, sn = size2 - 1;
	/* Step 4: start at the level of the first proof hash. */
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	uint8_t fr[HB], sr[HB];
	memcpy(fr, seed, HB);
	memcpy(sr, seed, HB);
	for (size_t i = next; i < count; i++) {
		const uint8_t *c = proof + i * HB;
		int rc;
		if (sn == 0)
			return SOTTO_ERR_KT_PROOF;
		if ((fn & 1) || fn == sn) {
			rc = sotto_kt_node_hash(fr, c, fr);
			if (rc == 0)
				rc = sotto_kt_node_hash(sr, c, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rc = sotto_kt_node_hash(sr, sr, c);
		}
		if (rc != 0)
			return rc;
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !root_eq(fr, root1) || !root_eq(sr, root2))
		return SOTTO_ERR_KT_PROOF;
	return 0;
}

/* Copies an untrusted proof into contiguous 32-byte hashes after checking
 * every element's length. */
static int gather_proof(uint8_t out[SOTTO_KT_MAX_PROOF_HASHES * HB], const sotto_iov *proof,
			size_t count)
{
	if (proof == NULL && count > 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < count; i++) {
		if (proof[i].len != HB || proof[i].base == NULL)
			return SOTTO_ERR_INVALID_ARGUMENT;
	}
	/* No valid proof is longer; checked after the lengths so that a
	 * malformed element is reported as such whatever the count. */
	if (count > SOTTO_KT_MAX_PROOF_HASHES)
		return SOTTO_ERR_KT_PROOF;
	for (size_t i = 0; i < count; i++)
		memcpy(out + i * HB, proof[i].base, HB);
	return 0;
}

int sotto_kt_verify_inclusion_buf(const uint8_t *leaf_hash, size_t leaf_hash_len, uint64_t index,
				  uint64_t size, const sotto_iov *proof, size_t count,
				  const uint8_t *root, size_t root_len)
{
	uint8_t flat[SOTTO_KT_MAX_PROOF_HASHES * HB];
	if (leaf_hash == NULL || leaf_hash_len != HB || root == NULL || root_len != HB)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = gather_proof(flat, proof, count);
	if (rc != 0)
		return rc;
	return sotto_kt_verify_inclusion(leaf_hash, index, size, flat, count, root);
}

int sotto_kt_verify_consistency_buf(uint64_t size1, uint64_t size2, const uint8_t *root1,
				    size_t root1_len, const uint8_t *root2, size_t root2_len,
				    const sotto_iov *proof, size_t count)
{
	uint8_t flat[SOTTO_KT_MAX_PROOF_HASHES * HB];
	if (root1 == NULL || root1_len != HB || root2 == NULL || root2_len != HB)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = gather_proof(flat, proof, count);
	if (rc != 0)
		return rc;
	return sotto_kt_verify_consistency(size1, size2, root1, root2, flat, count);
}
