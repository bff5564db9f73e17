/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Key transparency on arbitrary input: inclusion and consistency
 * verification (fixed and length-checked forms), signed head decoding and
 * verification, a view's update and contact check, and leaf decoding. None
 * may crash or return anything but 0 or a documented error. As an oracle, a
 * fixed 37-leaf tree's proofs for fuzz-chosen positions must verify, and must
 * stop verifying when a fuzz-chosen bit of them is flipped.
 *
 * Input: byte 0 selects the mode; then two 8-byte big-endian numbers (reduced
 * mod 70 when bit 7 of byte 0 is set, so small trees are reached), then hashes. */
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/ed25519.h"
#include "sotto/kt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HB SOTTO_KT_HASH_BYTES

static int known(int rc)
{
	return rc == 0 || rc == SOTTO_ERR_INVALID_ARGUMENT || rc == SOTTO_ERR_KT_PROOF ||
	       rc == SOTTO_ERR_KT_FORK || rc == SOTTO_ERR_KT_STALE ||
	       rc == SOTTO_ERR_INVALID_SIGNATURE || rc == SOTTO_ERR_INVALID_MESSAGE ||
	       rc == SOTTO_ERR_NOT_FOUND;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static sotto_kt_memstore *tree;
static uint8_t view_pub[32], view_priv[32], view_log[32];

static void setup(void)
{
	if (tree != NULL)
		return;
	tree = sotto_kt_memstore_new();
	if (tree == NULL)
		abort();
	for (uint8_t i = 0; i < 37; i++) {
		uint8_t h[HB];
		if (sotto_kt_leaf_hash(h, &i, 1) != 0 || sotto_kt_memstore_append(tree, h) != 0)
			abort();
	}
	memset(view_priv, 0x42, 32);
	if (sotto_ed25519_public(view_pub, view_priv) != 0 || sotto_kt_log_id(view_log, view_pub) != 0)
		abort();
}

/* Generated proofs verify; a flipped bit breaks them. */
static void oracle(uint64_t a, uint64_t b, unsigned bit)
{
	sotto_kt_store st = sotto_kt_memstore_store(tree);
	uint8_t p[SOTTO_KT_MAX_PROOF_HASHES * HB], r1[HB], r2[HB], leaf[HB];
	size_t c;
	uint64_t n = 1 + b % 37, i = a % n;
	uint8_t li = (uint8_t)i;
	if (sotto_kt_leaf_hash(leaf, &li, 1) != 0 || sotto_kt_store_root(&st, n, r2) != 0 ||
	    sotto_kt_store_inclusion_proof(&st, i, n, p, SOTTO_KT_MAX_PROOF_HASHES, &c) != 0 ||
	    sotto_kt_verify_inclusion(leaf, i, n, p, c, r2) != 0)
		abort();
	if (c > 0) {
		p[(bit / 8) % (c * HB)] ^= (uint8_t)(1u << (bit % 8));
		if (sotto_kt_verify_inclusion(leaf, i, n, p, c, r2) != SOTTO_ERR_KT_PROOF)
			abort();
	}
	uint64_t m = 1 + a % n;
	if (sotto_kt_store_root(&st, m, r1) != 0 ||
	    sotto_kt_store_consistency_proof(&st, m, n, p, SOTTO_KT_MAX_PROOF_HASHES, &c) != 0 ||
	    sotto_kt_verify_consistency(m, n, r1, r2, p, c) != 0)
		abort();
	if (c > 0) {
		p[(bit / 8) % (c * HB)] ^= (uint8_t)(1u << (bit % 8));
		if (sotto_kt_verify_consistency(m, n, r1, r2, p, c) != SOTTO_ERR_KT_PROOF)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size < 17)
		return 0;
	uint8_t mode = data[0];
	uint64_t a = be64(data + 1), b = be64(data + 9);
	if (mode & 0x80) {
		a %= 70;
		b %= 70;
	}
	const uint8_t *rest = data + 17;
	size_t rlen = size - 17;
	oracle(a, b, rlen ? rest[0] * 7u + (unsigned)rlen : 0);

	int rc;
	switch (mode % 5) {
	case 0:
	case 1: {
		/* Two 32-byte values then a proof of whole hashes. */
		if (rlen < 2 * HB)
			return 0;
		const uint8_t *h1 = rest, *h2 = rest + HB, *proof = rest + 2 * HB;
		size_t count = (rlen - 2 * HB) / HB;
		if (mode % 5 == 0)
			rc = sotto_kt_verify_inclusion(h1, a, b, proof, count, h2);
		else
			rc = sotto_kt_verify_consistency(a, b, h1, h2, proof, count);
		if (!known(rc))
			abort();
		break;
	}
	case 2: {
		/* Length-checked forms: each element's length is one byte of
		 * input (mod 40), then that many bytes. */
		sotto_iov iov[80];
		size_t n = 0, off = 0;
		const uint8_t *v[2] = { NULL, NULL };
		size_t vl[2] = { 0, 0 };
		while (off < rlen && n < 80) {
			size_t len = rest[off++] % 40;
			if (len > rlen - off)
				len = rlen - off;
			if (v[0] == NULL) {
				v[0] = rest + off, vl[0] = len;
			} else if (v[1] == NULL) {
				v[1] = rest + off, vl[1] = len;
			} else {
				iov[n].base = rest + off;
				iov[n].len = len;
				n++;
			}
			off += len;
		}
		if (v[1] == NULL)
			return 0;
		rc = sotto_kt_verify_inclusion_buf(v[0], vl[0], a, b, iov, n, v[1], vl[1]);
		if (!known(rc))
			abort();
		rc = sotto_kt_verify_consistency_buf(a, b, v[0], vl[0], v[1], vl[1], iov, n);
		if (!known(rc))
			abort();
		break;
	}
	case 3: {
		/* Two signed heads (as bytes) and a proof; the first seeds a view. */
		sotto_kt_signed_head h1, h2;
		if (rlen < 2 * SOTTO_KT_SIGNED_HEAD_BYTES) {
			/* Only exactly one head's worth of bytes may decode. */
			rc = sotto_kt_signed_head_decode(&h1, rest, rlen);
			if (rc != SOTTO_ERR_INVALID_MESSAGE &&
			    !(rc == 0 && rlen == SOTTO_KT_SIGNED_HEAD_BYTES))
				abort();
			return 0;
		}
		if (sotto_kt_signed_head_decode(&h1, rest, SOTTO_KT_SIGNED_HEAD_BYTES) != 0 ||
		    sotto_kt_signed_head_decode(&h2, rest + SOTTO_KT_SIGNED_HEAD_BYTES,
						SOTTO_KT_SIGNED_HEAD_BYTES) != 0)
			return 0;
		const uint8_t *proof = rest + 2 * SOTTO_KT_SIGNED_HEAD_BYTES;
		size_t count = (rlen - 2 * SOTTO_KT_SIGNED_HEAD_BYTES) / HB;
		/* Re-encoding gives the same bytes. */
		uint8_t enc[SOTTO_KT_SIGNED_HEAD_BYTES];
		sotto_kt_signed_head_encode(enc, &h1);
		if (memcmp(enc, rest, sizeof(enc)) != 0)
			abort();
		sotto_kt_view *v = sotto_kt_view_new(view_pub, view_log);
		if (v == NULL)
			abort();
		/* Make h1 acceptable by signing it with the view's key when asked,
		 * so the proof logic is reached. */
		if (mode & 0x40) {
			memcpy(h1.head.log_id, view_log, 32);
			sotto_kt_head hh = h1.head;
			if (sotto_kt_head_sign(&h1, &hh, view_priv) != 0 &&
			    !(hh.size == 0)) /* size 0 with a wrong root: not signable */
				abort();
		}
		rc = sotto_kt_view_update(v, &h1, NULL, 0);
		if (!known(rc))
			abort();
		rc = sotto_kt_view_check_peer(v, &h2, proof, count);
		if (!known(rc))
			abort();
		rc = sotto_kt_view_update(v, &h2, proof, count);
		if (!known(rc))
			abort();
		sotto_kt_view_free(v);
		break;
	}
	default: {
		sotto_kt_leaf l;
		rc = sotto_kt_leaf_decode(&l, rest, rlen);
		if (rc == 0) {
			uint8_t enc[SOTTO_KT_LEAF_BYTES];
			if (sotto_kt_leaf_encode(enc, &l) != 0 || memcmp(enc, rest, sizeof(enc)) != 0)
				abort();
		} else if (rc != SOTTO_ERR_INVALID_MESSAGE) {
			abort();
		}
		break;
	}
	}
	return 0;
}
