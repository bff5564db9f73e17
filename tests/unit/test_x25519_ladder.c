/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The constant-time X25519 of src/crypto/x25519_ladder.c:
 *  - RFC 7748 §5.2: the two single test vectors and the iterated test after
 *    1 and 1,000 iterations (1,000,000 with SOTTO_X25519_ITER_1M=1 in the
 *    environment; about a minute);
 *  - differential against libsodium's crypto_scalarmult on 100,000 random
 *    (scalar, u) pairs, random u with bit 255 and non-canonical values mixed
 *    in, and on edge inputs (0, 1, p-1, p, p+1, 2^255-1, 2^256-1, the
 *    low-order points and their non-canonical forms, edge scalars);
 *  - sotto_x25519's contract: all-zero result -> SOTTO_ERR_INVALID_KEY and a
 *    zeroed output;
 *  - the fixed-base path (sotto_x25519_public, Edwards base multiplication
 *    mapped to u) against the ladder from u = 9 and libsodium's
 *    crypto_scalarmult_base;
 *  - the branch-free zero test. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/x25519_ladder.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "testutil.h"

static uint64_t rng = 0x7748c0ffee25519ULL;

static void unhex32(uint8_t out[32], const char *hex)
{
	if (tu_unhex_into(out, 32, hex) != 0) {
		tu_fail("bad hex constant %s", hex);
		memset(out, 0, 32);
	}
}

/* RFC 7748 §5.2, the two single vectors. */
static void test_rfc_vectors(void)
{
	static const char *const v[2][3] = {
		{ "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		{ "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
	};
	for (int i = 0; i < 2; i++) {
		uint8_t k[32], u[32], want[32], out[32];
		unhex32(k, v[i][0]);
		unhex32(u, v[i][1]);
		unhex32(want, v[i][2]);
		sotto__x25519_ladder(out, k, u);
		CHECK_MEM(out, want, 32);
		memset(out, 0, sizeof out);
		CHECK_RC(sotto_x25519(out, k, u), 0);
		CHECK_MEM(out, want, 32);
	}
	/* The second vector's u has bit 255 set (0x93 at the top): masking it
	 * off must not change the result. */
	uint8_t k[32], u[32], want[32], out[32];
	unhex32(k, v[1][0]);
	unhex32(u, v[1][1]);
	unhex32(want, v[1][2]);
	CHECK(u[31] & 0x80);
	u[31] &= 0x7f;
	sotto__x25519_ladder(out, k, u);
	CHECK_MEM(out, want, 32);
}

/* RFC 7748 §5.2 iterated test: k = u = 9; then k, u = X25519(k, u), k. */
static void test_rfc_iterated(void)
{
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32], want[32];
	unsigned long n_max = 1000;
	const char *env = getenv("SOTTO_X25519_ITER_1M");
	if (env != NULL && strcmp(env, "1") == 0)
		n_max = 1000000;
	for (unsigned long i = 1; i <= n_max; i++) {
		if (sotto_x25519(r, k, u) != 0) {
			tu_fail("iterated X25519 failed at %lu", i);
			return;
		}
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1) {
			unhex32(want, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
			CHECK_MEM(k, want, 32);
		} else if (i == 1000) {
			unhex32(want, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
			CHECK_MEM(k, want, 32);
		} else if (i == 1000000) {
			unhex32(want, "7c3911e0ab2586fd864497297e575e6f3bc601c0883c30df5f4dd2d24f665424");
			CHECK_MEM(k, want, 32);
		}
	}
	printf("RFC 7748 iterated test: %lu iterations%s\n", n_max,
	       n_max < 1000000 ? " (SOTTO_X25519_ITER_1M=1 for 1,000,000)" : "");
}

/* One (k, u) against libsodium, through sotto_x25519 (which returns the
 * ladder's output unchanged or, for an all-zero output, zeroes and an error)
 * and, when raw is set, through the ladder itself. Returns 1 if everything
 * agrees. want_zero: -1 don't care, 0/1 the all-zero outcome the caller
 * knows to expect. */
static int diff_one(const uint8_t k[32], const uint8_t u[32], int want_zero, int raw)
{
	static const uint8_t zero[32];
	uint8_t ours[32], theirs[32], api[32];
	memset(theirs, 0, sizeof theirs); /* ref10 leaves it untouched on small order */
	int src = crypto_scalarmult(theirs, k, u);
	memset(api, 0xa5, sizeof api);
	int rc = sotto_x25519(api, k, u);
	int ok = 1;
	if (src == 0) {
		ok = rc == 0 && memcmp(api, theirs, 32) == 0;
	} else {
		/* libsodium refuses exactly the all-zero result. */
		ok = rc == SOTTO_ERR_INVALID_KEY && memcmp(api, zero, 32) == 0;
	}
	/* Canonical output: the top bit is always clear (and equality with
	 * libsodium's canonical encoding covers the rest). */
	ok = ok && (api[31] & 0x80) == 0;
	if (raw) {
		sotto__x25519_ladder(ours, k, u);
		ok = ok && memcmp(ours, api, 32) == 0;
	}
	if (want_zero >= 0)
		ok = ok && (rc != 0) == want_zero;
	return ok;
}

static void put_small(uint8_t out[32], uint32_t x)
{
	memset(out, 0, 32);
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(x >> (8 * i));
}

/* out = in + p (in < 2^255 - p = 19 gives a value below 2^255). */
static void add_p(uint8_t out[32], const uint8_t in[32])
{
	static const uint8_t P_LE[32] = {
		0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	unsigned c = 0;
	for (int i = 0; i < 32; i++) {
		c += (unsigned)in[i] + P_LE[i];
		out[i] = (uint8_t)c;
		c >>= 8;
	}
}

static void test_edges(void)
{
	enum { NU = 24, NK = 8 };
	uint8_t us[NU][32];
	int zero_u[NU]; /* 1: low-order point (every clamped k gives 0) */
	size_t nu = 0;
	uint8_t t[32];

	/* Low-order u: 0, 1 (orders 1/2 on the curve), p-1 (order 4), and the
	 * two points of order 8 (RFC 7748 §6.1 / Wycheproof edge cases). */
	put_small(us[nu], 0), zero_u[nu++] = 1;
	put_small(us[nu], 1), zero_u[nu++] = 1;
	put_small(t, 0), add_p(us[nu], t), us[nu][0]--, zero_u[nu++] = 1; /* p - 1 */
	unhex32(us[nu], "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
	zero_u[nu++] = 1;
	unhex32(us[nu], "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157");
	zero_u[nu++] = 1;
	/* Non-canonical forms u + p of 0 and 1 (u = p, p + 1), and with bit 255. */
	put_small(t, 0), add_p(us[nu], t), zero_u[nu++] = 1;
	put_small(t, 1), add_p(us[nu], t), zero_u[nu++] = 1;
	memcpy(us[nu], us[0], 32), us[nu][31] |= 0x80, zero_u[nu++] = 1;
	memcpy(us[nu], us[2], 32), us[nu][31] |= 0x80, zero_u[nu++] = 1; /* p-1 | 2^255 */
	memcpy(us[nu], us[3], 32), us[nu][31] |= 0x80, zero_u[nu++] = 1;
	/* Order-8 points + p do not fit below 2^255; other values near p. */
	put_small(t, 2), add_p(us[nu], t), zero_u[nu++] = -1;             /* p + 2 */
	put_small(t, 18), add_p(us[nu], t), zero_u[nu++] = -1;            /* 2^255 - 1 */
	put_small(t, 18), add_p(us[nu], t), us[nu][31] |= 0x80, zero_u[nu++] = -1; /* 2^256-1 */
	put_small(t, 0), add_p(us[nu], t), us[nu][0] -= 2, zero_u[nu++] = -1; /* p - 2 */
	put_small(us[nu], 2), zero_u[nu++] = -1;
	put_small(us[nu], 9), zero_u[nu++] = -1;
	put_small(us[nu], 9), us[nu][31] |= 0x80, zero_u[nu++] = -1;
	memset(us[nu], 0xff, 32), us[nu][31] = 0x3f, zero_u[nu++] = -1; /* 2^254 - 1 */
	memset(us[nu], 0, 32), us[nu][31] = 0x40, zero_u[nu++] = -1;   /* 2^254 */
	put_small(us[nu], 486662), zero_u[nu++] = -1;                  /* A */
	put_small(us[nu], 121665), zero_u[nu++] = -1;
	put_small(us[nu], 0xffffffffu), zero_u[nu++] = -1;
	tu_randbytes(&rng, us[nu], 32), zero_u[nu++] = -1;
	tu_randbytes(&rng, us[nu], 32), us[nu][31] |= 0x80, zero_u[nu++] = -1;
	CHECK(nu == NU);

	uint8_t ks[NK][32];
	memset(ks[0], 0, 32);
	memset(ks[1], 0xff, 32);
	put_small(ks[2], 1);
	put_small(ks[3], 8);
	memset(ks[4], 0, 32), ks[4][31] = 0x40;                 /* 2^254, already clamped */
	memset(ks[5], 0xf8, 1), memset(ks[5] + 1, 0xff, 30), ks[5][31] = 0x7f; /* max clamped */
	unhex32(ks[6], "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"); /* L */
	tu_randbytes(&rng, ks[7], 32);

	size_t passed = 0, total = 0;
	for (size_t i = 0; i < NU; i++) {
		for (size_t j = 0; j < NK; j++) {
			total++;
			if (diff_one(ks[j], us[i], zero_u[i], 1))
				passed++;
			else
				tu_fail("edge u #%zu, scalar #%zu disagrees with libsodium", i, j);
		}
	}
	tu_report("X25519 edge inputs vs libsodium", passed, total);
}

static void test_random(void)
{
	const size_t n = 100000;
	size_t passed = 0;
	uint8_t k[32], u[32];
	for (size_t i = 0; i < n; i++) {
		tu_randbytes(&rng, k, 32);
		tu_randbytes(&rng, u, 32);
		switch (i & 7) {
		case 0:
			/* Clear bit 255: a canonical or near-p value either way. */
			u[31] &= 0x7f;
			break;
		case 1:
			/* Non-canonical: p + small, below 2^255. */
			memset(u + 1, 0xff, 30);
			u[0] = (uint8_t)(0xed + (u[0] % 19));
			u[31] = 0x7f | (u[31] & 0x80);
			break;
		case 2:
			/* Small u with random high bit. */
			memset(u + 4, 0, 27);
			u[31] &= 0x80;
			break;
		default:
			break;
		}
		if (diff_one(k, u, -1, (i & 63) == 0))
			passed++;
		else if (n - passed < 10)
			tu_fail("random case %zu disagrees with libsodium", i);
	}
	tu_report("X25519 random inputs vs libsodium crypto_scalarmult", passed, n);
}

/* The contract of sotto_x25519 on an all-zero result, with a poisoned
 * output buffer. */
static void test_zero_contract(void)
{
	static const uint8_t zero[32];
	uint8_t k[32], u[32] = { 1 }, out[32];
	tu_randbytes(&rng, k, 32);
	memset(out, 0x5a, sizeof out);
	CHECK_RC(sotto_x25519(out, k, u), SOTTO_ERR_INVALID_KEY);
	CHECK_MEM(out, zero, 32);

	/* The zero test itself: every single non-zero byte position and value
	 * class is seen. */
	uint8_t s[32];
	memset(s, 0, sizeof s);
	CHECK(sotto__x25519_is_zero(s) == 1);
	int ok = 1;
	for (int i = 0; i < 32; i++) {
		for (int v = 1; v < 256; v++) {
			s[i] = (uint8_t)v;
			ok = ok && sotto__x25519_is_zero(s) == 0;
		}
		s[i] = 0;
	}
	CHECK(ok);
}

/* Fixed base: sotto_x25519_public (Edwards base multiplication + map) equals
 * the ladder from u = 9 and libsodium's crypto_scalarmult_base. */
static void test_base(void)
{
	const size_t n = 10000;
	size_t passed = 0;
	static const uint8_t nine[32] = { 9 };
	uint8_t k[32], a[32], b[32], c[32];
	for (size_t i = 0; i < n; i++) {
		tu_randbytes(&rng, k, 32);
		if (i == 0)
			memset(k, 0, 32);
		if (i == 1)
			memset(k, 0xff, 32);
		int rc = sotto_x25519_public(a, k);
		sotto__x25519_ladder(b, k, nine);
		int src = crypto_scalarmult_base(c, k);
		if (rc == 0 && src == 0 && memcmp(a, b, 32) == 0 && memcmp(a, c, 32) == 0)
			passed++;
		else if (n - passed < 10)
			tu_fail("base case %zu: public != X25519(k, 9)", i);
	}
	tu_report("X25519 public key (Edwards base mult) vs ladder and libsodium", passed, n);

	/* keypair: clamped private key and a matching public key. */
	uint8_t pub[32], priv[32], again[32];
	CHECK_RC(sotto_x25519_keypair(pub, priv), 0);
	CHECK((priv[0] & 7) == 0 && (priv[31] & 0xc0) == 0x40);
	CHECK_RC(crypto_scalarmult_base(again, priv), 0);
	CHECK_MEM(pub, again, 32);

	/* The map sends y = 1 (the identity) to 0 rather than failing. */
	uint8_t y1[32] = { 1 }, u0[32], zero[32] = { 0 };
	sotto__x25519_u_from_edwards_y(u0, y1);
	CHECK_MEM(u0, zero, 32);
}

int main(void)
{
	CHECK_RC(sotto_init(), 0);
	CHECK(sodium_init() >= 0);
	test_rfc_vectors();
	test_rfc_iterated();
	test_zero_contract();
	test_edges();
	test_base();
	test_random();
	return tu_finish("unit-x25519_ladder");
}
