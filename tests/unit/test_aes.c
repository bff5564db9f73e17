/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* AES API edges: POLYVAL against a bit-serial reference and across both
 * implementations, GCM-SIV round trips, forgeries and argument checks, CBC
 * padding and buffer rules, the reusable contexts, and CTR's 128-bit counter. */
#include <stdlib.h>
#include <string.h>

#include "crypto/aes_internal.h"
#include "crypto/polyval.h"
#include "sotto/aes.h"
#include "sotto/error.h"
#include "testutil.h"

static uint64_t rng = 0x5077a0ae5ull;

/* ---- POLYVAL ------------------------------------------------------------- */

typedef struct {
	uint64_t lo, hi;
} u128;

static u128 load(const uint8_t *p)
{
	u128 r = { 0, 0 };
	for (int i = 7; i >= 0; i--) {
		r.lo = (r.lo << 8) | p[i];
		r.hi = (r.hi << 8) | p[i + 8];
	}
	return r;
}

static void store(uint8_t *p, u128 v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v.lo >> (8 * i));
		p[i + 8] = (uint8_t)(v.hi >> (8 * i));
	}
}

/* x^128 = x^127 + x^126 + x^121 + 1 mod P. */
static const u128 P_LOW = { 1, (1ull << 57) | (1ull << 62) | (1ull << 63) };

/* The textbook definition, one bit at a time (branches are fine here):
 * dot(a, b) = a * b * x^-128 mod P. */
static u128 ref_dot(u128 a, u128 b)
{
	u128 r = { 0, 0 };
	for (int i = 127; i >= 0; i--) {
		uint64_t carry = r.hi >> 63;
		r.hi = (r.hi << 1) | (r.lo >> 63);
		r.lo <<= 1;
		if (carry) {
			r.lo ^= P_LOW.lo;
			r.hi ^= P_LOW.hi;
		}
		uint64_t bit = i >= 64 ? (b.hi >> (i - 64)) & 1 : (b.lo >> i) & 1;
		if (bit) {
			r.lo ^= a.lo;
			r.hi ^= a.hi;
		}
	}
	/* Divide by x 128 times: add P when the constant term is set, so that
	 * the polynomial is divisible by x; P's x^128 term lands on bit 127. */
	for (int i = 0; i < 128; i++) {
		int odd = (int)(r.lo & 1);
		if (odd) {
			r.lo ^= P_LOW.lo;
			r.hi ^= P_LOW.hi;
		}
		r.lo = (r.lo >> 1) | (r.hi << 63);
		r.hi >>= 1;
		if (odd)
			r.hi |= 1ull << 63;
	}
	return r;
}

static void ref_polyval(uint8_t out[16], const uint8_t h[16], const uint8_t *data, size_t len)
{
	u128 s = { 0, 0 }, hh = load(h);
	for (size_t i = 0; i + 16 <= len; i += 16) {
		u128 x = load(data + i);
		s.lo ^= x.lo;
		s.hi ^= x.hi;
		s = ref_dot(s, hh);
	}
	store(out, s);
}

static void polyval_tests(void)
{
	/* RFC 8452 Appendix A. */
	uint8_t h[16], x[32], want[16], got[16];
	CHECK(tu_unhex_into(h, 16, "25629347589242761d31f826ba4b757b") == 0);
	CHECK(tu_unhex_into(x, 32,
			    "4f4f95668c83dfb6401762bb2d01a262d1a24ddd2721d006bbe45f20d3c9f362") ==
	      0);
	CHECK(tu_unhex_into(want, 16, "f7a3b47b846119fae5b7866cf5e5b77e") == 0);
	ref_polyval(got, h, x, 32);
	CHECK_MEM(got, want, 16);

	int have_clmul = sotto__polyval_set_impl(SOTTO__POLYVAL_CLMUL) == 0;
	printf("POLYVAL: PCLMULQDQ %s\n", have_clmul ? "available" : "not available");
	enum sotto__polyval_impl impls[2] = { SOTTO__POLYVAL_PORTABLE, SOTTO__POLYVAL_CLMUL };
	for (int k = 0; k < 2; k++) {
		if (impls[k] == SOTTO__POLYVAL_CLMUL && !have_clmul)
			continue;
		CHECK(sotto__polyval_set_impl(impls[k]) == 0);
		sotto_polyval(got, h, x, 32);
		CHECK_MEM(got, want, 16);
	}

	/* Random keys and lengths up to 41 blocks (past several of the
	 * four-block strides), both paths against the reference, and the
	 * incremental interface split at every point. */
	uint8_t data[41 * 16], r1[16], r2[16], r3[16];
	size_t cases = 0, agree = 0;
	for (int iter = 0; iter < 200; iter++) {
		tu_randbytes(&rng, h, 16);
		/* Extreme keys too: 0, 1 and all-ones. */
		if (iter == 0)
			memset(h, 0, 16);
		if (iter == 1) {
			memset(h, 0, 16);
			h[0] = 1;
		}
		if (iter == 2)
			memset(h, 0xff, 16);
		size_t nb = (size_t)iter % 42;
		tu_randbytes(&rng, data, sizeof(data));
		if (iter == 3)
			memset(data, 0xff, sizeof(data));
		ref_polyval(want, h, data, nb * 16);
		CHECK(sotto__polyval_set_impl(SOTTO__POLYVAL_PORTABLE) == 0);
		sotto_polyval(r1, h, data, nb * 16);
		memcpy(r2, r1, 16);
		if (have_clmul) {
			CHECK(sotto__polyval_set_impl(SOTTO__POLYVAL_CLMUL) == 0);
			sotto_polyval(r2, h, data, nb * 16);
		}
		/* Incremental, split at a pseudo-random block boundary. */
		CHECK(sotto__polyval_set_impl(SOTTO__POLYVAL_AUTO) == 0);
		size_t cut = nb ? (size_t)(tu_rand64(&rng) % (nb + 1)) : 0;
		sotto__polyval pv;
		sotto__polyval_init(&pv, h);
		sotto__polyval_blocks(&pv, data, cut);
		sotto__polyval_blocks(&pv, data + 16 * cut, nb - cut);
		sotto__polyval_final(&pv, r3);
		cases++;
		if (memcmp(r1, want, 16) == 0 && memcmp(r2, want, 16) == 0 &&
		    memcmp(r3, want, 16) == 0)
			agree++;
		else
			tu_fail("POLYVAL mismatch, iteration %d (%zu blocks)", iter, nb);
	}
	tu_report("POLYVAL: portable / PCLMULQDQ / incremental vs bit-serial reference", agree, cases);

	/* Padded absorption equals explicit zero padding. */
	CHECK(sotto__polyval_set_impl(SOTTO__POLYVAL_AUTO) == 0);
	uint8_t padded[48] = { 0 };
	memcpy(padded, data, 37);
	sotto__polyval pv;
	sotto__polyval_init(&pv, h);
	sotto__polyval_padded(&pv, data, 37);
	sotto__polyval_final(&pv, r1);
	sotto_polyval(r2, h, padded, 48);
	CHECK_MEM(r1, r2, 16);
	CHECK(sotto__polyval_set_impl((enum sotto__polyval_impl)7) == -1);
}

/* ---- GCM-SIV --------------------------------------------------------------- */

static void gcm_siv_roundtrips(size_t keylen)
{
	uint8_t key[32], nonce[12], aad[64];
	tu_randbytes(&rng, key, sizeof(key));
	tu_randbytes(&rng, nonce, sizeof(nonce));
	tu_randbytes(&rng, aad, sizeof(aad));
	sotto_aes_gcm_siv_ctx *ctx = sotto_aes_gcm_siv_ctx_new();
	CHECK(ctx != NULL);
	if (ctx == NULL)
		return;
	CHECK_RC(sotto_aes_gcm_siv_ctx_setkey(ctx, key, keylen), 0);
	/* Lengths across the CTR batch (512 bytes) and POLYVAL stride edges. */
	static const size_t lens[] = { 0, 1, 15, 16, 17, 63, 64, 65, 100, 511, 512, 513, 1024, 5000 };
	int have_clmul = sotto__polyval_set_impl(SOTTO__POLYVAL_CLMUL) == 0;
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t n = lens[li], al = li % 3 == 0 ? 0 : (li * 7) % 64;
		uint8_t *pt = malloc(n + 1), *c1 = malloc(n + 16), *c2 = malloc(n + 16);
		uint8_t *c3 = malloc(n + 16), *p = malloc(n + 16);
		CHECK(pt && c1 && c2 && c3 && p);
		if (!(pt && c1 && c2 && c3 && p))
			goto next;
		tu_randbytes(&rng, pt, n);
		CHECK(sotto__polyval_set_impl(SOTTO__POLYVAL_PORTABLE) == 0);
		CHECK_RC(sotto_aes_gcm_siv_seal(c1, key, keylen, nonce, aad, al, pt, n), 0);
		if (have_clmul)
			CHECK(sotto__polyval_set_impl(SOTTO__POLYVAL_CLMUL) == 0);
		CHECK_RC(sotto_aes_gcm_siv_ctx_seal(ctx, c2, nonce, aad, al, pt, n), 0);
		CHECK_MEM(c1, c2, n + 16);
		/* In place. */
		memcpy(c3, pt, n);
		CHECK_RC(sotto_aes_gcm_siv_ctx_seal(ctx, c3, nonce, aad, al, c3, n), 0);
		CHECK_MEM(c1, c3, n + 16);
		CHECK_RC(sotto_aes_gcm_siv_open(p, key, keylen, nonce, aad, al, c1, n + 16), 0);
		CHECK_MEM(p, pt, n);
		CHECK_RC(sotto_aes_gcm_siv_ctx_open(ctx, c3, nonce, aad, al, c3, n + 16), 0);
		CHECK_MEM(c3, pt, n);
		/* Deterministic: the same inputs give the same ciphertext, a
		 * different nonce a different one. */
		nonce[0] ^= 1;
		CHECK_RC(sotto_aes_gcm_siv_ctx_seal(ctx, c2, nonce, aad, al, pt, n), 0);
		CHECK(memcmp(c1 + n, c2 + n, 16) != 0);
		/* Wrong nonce, wrong aad: rejected, output zeroed. */
		memset(p, 0x33, n + 16);
		CHECK_RC(sotto_aes_gcm_siv_ctx_open(ctx, p, nonce, aad, al, c1, n + 16),
			 SOTTO_ERR_INVALID_MESSAGE);
		for (size_t i = 0; i < n; i++)
			CHECK(p[i] == 0);
		nonce[0] ^= 1;
		CHECK_RC(sotto_aes_gcm_siv_ctx_open(ctx, p, nonce, aad, al + 1, c1, n + 16),
			 SOTTO_ERR_INVALID_MESSAGE);
	next:
		free(pt);
		free(c1);
		free(c2);
		free(c3);
		free(p);
	}
	CHECK(sotto__polyval_set_impl(SOTTO__POLYVAL_AUTO) == 0);

	/* Every single-bit change of a short message's ciphertext and tag. */
	uint8_t msg[21], ct[37], out[21];
	tu_randbytes(&rng, msg, sizeof(msg));
	CHECK_RC(sotto_aes_gcm_siv_ctx_seal(ctx, ct, nonce, aad, 5, msg, sizeof(msg)), 0);
	size_t rejected = 0;
	for (size_t bit = 0; bit < 8 * sizeof(ct); bit++) {
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(out, 0x77, sizeof(out));
		int rc = sotto_aes_gcm_siv_ctx_open(ctx, out, nonce, aad, 5, ct, sizeof(ct));
		uint8_t acc = 0;
		for (size_t i = 0; i < sizeof(out); i++)
			acc |= out[i];
		if (rc == SOTTO_ERR_INVALID_MESSAGE && acc == 0)
			rejected++;
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	tu_report(keylen == 16 ? "GCM-SIV-128 bit flips rejected" : "GCM-SIV-256 bit flips rejected",
		  rejected, 8 * sizeof(ct));
	CHECK_RC(sotto_aes_gcm_siv_ctx_open(ctx, out, nonce, aad, 5, ct, sizeof(ct)), 0);
	CHECK_MEM(out, msg, sizeof(msg));
	sotto_aes_gcm_siv_ctx_free(ctx);
}

static void gcm_siv_args(void)
{
	uint8_t key[32] = { 1 }, nonce[12] = { 2 }, buf[64] = { 0 }, out[64];
	CHECK_RC(sotto_aes_gcm_siv_seal(out, key, 24, nonce, NULL, 0, buf, 8),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_aes_gcm_siv_open(out, key, 24, nonce, NULL, 0, buf, 32),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_aes_gcm_siv_open(out, key, 32, nonce, NULL, 0, buf, 15),
		 SOTTO_ERR_INVALID_MESSAGE);
	CHECK_RC(sotto_aes_gcm_siv_seal(out, key, 32, nonce, NULL, 3, buf, 8),
		 SOTTO_ERR_INVALID_ARGUMENT);
	/* Over the RFC 8452 limits (checked before any data is touched). */
	CHECK_RC(sotto_aes_gcm_siv_seal(out, key, 32, nonce, buf,
					(size_t)SOTTO_AES_GCM_SIV_MAX_AAD_BYTES + 1, buf, 8),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_aes_gcm_siv_seal(out, key, 32, nonce, NULL, 0, buf,
					(size_t)SOTTO_AES_GCM_SIV_MAX_PT_BYTES + 1),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_aes_gcm_siv_open(out, key, 32, nonce, NULL, 0, buf,
					(size_t)SOTTO_AES_GCM_SIV_MAX_PT_BYTES + 17),
		 SOTTO_ERR_INVALID_MESSAGE);
	/* Empty message: the ciphertext is the tag alone. */
	CHECK_RC(sotto_aes_gcm_siv_seal(out, key, 16, nonce, NULL, 0, NULL, 0), 0);
	CHECK_RC(sotto_aes_gcm_siv_open(NULL, key, 16, nonce, NULL, 0, out, 16), 0);
	out[3] ^= 1;
	CHECK_RC(sotto_aes_gcm_siv_open(NULL, key, 16, nonce, NULL, 0, out, 16),
		 SOTTO_ERR_INVALID_MESSAGE);
	/* An unkeyed context refuses. */
	sotto_aes_gcm_siv_ctx *ctx = sotto_aes_gcm_siv_ctx_new();
	CHECK(ctx != NULL);
	CHECK_RC(sotto_aes_gcm_siv_ctx_seal(ctx, out, nonce, NULL, 0, buf, 8),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_aes_gcm_siv_ctx_setkey(ctx, key, 24), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_aes_gcm_siv_ctx_open(ctx, out, nonce, NULL, 0, buf, 32),
		 SOTTO_ERR_INVALID_ARGUMENT);
	sotto_aes_gcm_siv_ctx_free(ctx);
	sotto_aes_gcm_siv_ctx_free(NULL);
}

/* ---- CBC --------------------------------------------------------------------- */

/* The obvious, branchy definition, to check the constant-time one against. */
static unsigned ref_padlen(const uint8_t b[16])
{
	unsigned p = b[15];
	if (p == 0 || p > 16)
		return 0;
	for (unsigned i = 16 - p; i < 16; i++)
		if (b[i] != p)
			return 0;
	return p;
}

static void pkcs7_tests(void)
{
	uint8_t b[16];
	size_t agree = 0, total = 0;
	for (unsigned p = 0; p < 256; p++) {
		for (int variant = 0; variant < 40; variant++) {
			tu_randbytes(&rng, b, 16);
			b[15] = (uint8_t)p;
			/* Mostly well-formed padding, sometimes one byte off. */
			if (p >= 1 && p <= 16) {
				memset(b + 16 - p, (int)p, p);
				if (variant % 2 == 1)
					b[15 - (unsigned)variant % p] ^= (uint8_t)(1u << (variant % 8));
			}
			total++;
			if (sotto__pkcs7_padlen_ct(b) == ref_padlen(b))
				agree++;
		}
	}
	tu_report("PKCS#7 constant-time check vs reference", agree, total);
}

static void cbc_tests(void)
{
	static const size_t keylens[3] = { 16, 24, 32 };
	uint8_t key[32], iv[16], pt[80], ct[96], out[96];
	sotto_aes_cbc_ctx *ctx = sotto_aes_cbc_ctx_new();
	CHECK(ctx != NULL);
	if (ctx == NULL)
		return;
	size_t ok = 0, total = 0;
	for (size_t n = 0; n <= 64; n++) {
		size_t kl = keylens[n % 3];
		tu_randbytes(&rng, key, sizeof(key));
		tu_randbytes(&rng, iv, sizeof(iv));
		tu_randbytes(&rng, pt, n);
		size_t clen = 0, olen = 0, c2len = 0;
		uint8_t ct2[96];
		int good = sotto_aes_cbc_encrypt(ct, sizeof(ct), &clen, key, kl, iv, pt, n) == 0 &&
			   clen == SOTTO_AES_CBC_PADDED_LEN(n);
		/* The context, re-keyed with a new key (and size) each time,
		 * decrypts what the one-shot call made, and vice versa. */
		good = good && sotto_aes_cbc_ctx_setkey(ctx, key, kl) == 0 &&
		       sotto_aes_cbc_ctx_decrypt(ctx, out, sizeof(out), &olen, iv, ct, clen) == 0 &&
		       olen == n && memcmp(out, pt, n) == 0;
		good = good &&
		       sotto_aes_cbc_ctx_encrypt(ctx, ct2, sizeof(ct2), &c2len, iv, pt, n) == 0 &&
		       c2len == clen && memcmp(ct, ct2, clen) == 0;
		/* A second message under the same key reuses the schedule. */
		good = good && sotto_aes_cbc_ctx_decrypt(ctx, out, sizeof(out), &olen, iv, ct, clen) ==
				       0 &&
		       olen == n && memcmp(out, pt, n) == 0;
		total++;
		if (good)
			ok++;
		else
			tu_fail("CBC round trip, %zu bytes, key %zu", n, kl);
		/* Buffer rules: decrypt needs room for all but the last block,
		 * and then for the real plaintext. */
		if (clen >= 32)
			CHECK_RC(sotto_aes_cbc_ctx_decrypt(ctx, out, clen - 17, &olen, iv, ct, clen),
				 SOTTO_ERR_BUFFER_TOO_SMALL);
		if (n % 16 != 0)
			CHECK_RC(sotto_aes_cbc_ctx_decrypt(ctx, out, n - 1, &olen, iv, ct, clen),
				 SOTTO_ERR_BUFFER_TOO_SMALL);
		CHECK_RC(sotto_aes_cbc_ctx_decrypt(ctx, out, n, &olen, iv, ct, clen), 0);
		CHECK_RC(sotto_aes_cbc_ctx_encrypt(ctx, out, clen - 1, &olen, iv, pt, n),
			 SOTTO_ERR_BUFFER_TOO_SMALL);
		/* Truncated or ragged ciphertexts. */
		CHECK_RC(sotto_aes_cbc_ctx_decrypt(ctx, out, sizeof(out), &olen, iv, ct, clen - 1),
			 SOTTO_ERR_INVALID_MESSAGE);
	}
	tu_report("CBC round trips through one re-keyed context", ok, total);
	size_t olen;
	CHECK_RC(sotto_aes_cbc_ctx_decrypt(ctx, out, sizeof(out), &olen, iv, ct, 0),
		 SOTTO_ERR_INVALID_MESSAGE);
	CHECK_RC(sotto_aes_cbc_ctx_setkey(ctx, key, 20), SOTTO_ERR_INVALID_ARGUMENT);
	sotto_aes_cbc_ctx_free(ctx);
	ctx = sotto_aes_cbc_ctx_new();
	CHECK(ctx != NULL);
	CHECK_RC(sotto_aes_cbc_ctx_encrypt(ctx, out, sizeof(out), &olen, iv, pt, 5),
		 SOTTO_ERR_INVALID_ARGUMENT);
	sotto_aes_cbc_ctx_free(ctx);
	CHECK_RC(sotto_aes_cbc_encrypt(out, sizeof(out), &olen, key, 31, iv, pt, 5),
		 SOTTO_ERR_INVALID_ARGUMENT);

	/* A last block whose padding is wrong: rejected, output wiped. */
	uint8_t block[16];
	memset(block, 3, sizeof(block));
	block[14] = 2;
	uint8_t enc[16];
	size_t elen;
	/* CBC with a zero IV over one block is ECB of that block. */
	uint8_t zero_iv[16] = { 0 };
	CHECK_RC(sotto__aes_ecb_block(enc, key, 32, block, 1), 0);
	memset(out, 0x55, sizeof(out));
	CHECK_RC(sotto_aes_cbc_decrypt(out, sizeof(out), &elen, key, 32, zero_iv, enc, 16),
		 SOTTO_ERR_INVALID_MESSAGE);
	block[14] = 3;
	CHECK_RC(sotto__aes_ecb_block(enc, key, 32, block, 1), 0);
	CHECK_RC(sotto_aes_cbc_decrypt(out, sizeof(out), &elen, key, 32, zero_iv, enc, 16), 0);
	CHECK(elen == 13);
}

/* ---- ECB layer and CTR ------------------------------------------------------- */

static void ecb_ctr_tests(void)
{
	uint8_t k1[32], k2[32], pt[16], c[16], p[16];
	tu_randbytes(&rng, k1, 32);
	tu_randbytes(&rng, k2, 32);
	tu_randbytes(&rng, pt, 16);
	/* Re-keying a decrypting context keeps EVP padding off: otherwise
	 * OpenSSL would hold the block back and the call would fail. */
	sotto__aes_ecb *e = sotto__aes_ecb_new();
	CHECK(e != NULL);
	for (int i = 0; e && i < 4; i++) {
		const uint8_t *k = i % 2 ? k2 : k1;
		size_t kl = i < 2 ? 32 : 16;
		CHECK_RC(sotto__aes_ecb_block(c, k, kl, pt, 1), 0);
		CHECK_RC(sotto__aes_ecb_setkey(e, k, kl, 0), 0);
		CHECK_RC(sotto__aes_ecb_blocks(e, p, c, 1), 0);
		CHECK_MEM(p, pt, 16);
	}
	sotto__aes_ecb_free(e);
	CHECK_RC(sotto__aes_ecb_block(c, k1, 17, pt, 1), SOTTO_ERR_INVALID_ARGUMENT);

	/* CTR's counter is the whole 128-bit block, big-endian: it carries
	 * across the 64-bit halves and wraps at 2^128. */
	static const char *ivs[2] = { "0000000000000000ffffffffffffffff",
				      "ffffffffffffffffffffffffffffffff" };
	static const char *next[2] = { "00000000000000010000000000000000",
				       "00000000000000000000000000000000" };
	for (int i = 0; i < 2; i++) {
		uint8_t iv[16], iv2[16], zeros[32] = { 0 }, ks[32], b0[16], b1[16];
		CHECK(tu_unhex_into(iv, 16, ivs[i]) == 0);
		CHECK(tu_unhex_into(iv2, 16, next[i]) == 0);
		CHECK_RC(sotto_aes_ctr(ks, k1, 24, iv, zeros, 32), 0);
		CHECK_RC(sotto__aes_ecb_block(b0, k1, 24, iv, 1), 0);
		CHECK_RC(sotto__aes_ecb_block(b1, k1, 24, iv2, 1), 0);
		CHECK_MEM(ks, b0, 16);
		CHECK_MEM(ks + 16, b1, 16);
	}
	uint8_t iv[16] = { 0 };
	CHECK_RC(sotto_aes_ctr(c, k1, 33, iv, pt, 16), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_aes_ctr(NULL, k1, 32, iv, NULL, 0), 0);
}

int main(void)
{
	polyval_tests();
	gcm_siv_roundtrips(16);
	gcm_siv_roundtrips(32);
	gcm_siv_args();
	pkcs7_tests();
	cbc_tests();
	ecb_ctr_tests();
	return tu_finish("unit-aes");
}
