/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The variable-time field and point code under signature verification
 * (src/crypto/fe25519.c, ge25519_vartime.c):
 *  - field operations against OpenSSL BIGNUM arithmetic mod p, including long
 *    chains that keep results unreduced between operations;
 *  - point decoding against libsodium 1.0.18's acceptance on random and
 *    special encodings, encoding, add/sub/double consistency;
 *  - the double-scalar multiplication against separate libsodium scalar
 *    multiplications, for prime-order, small-order and mixed-order A;
 *  - the new verifier against the previous libsodium + BIGNUM verifier
 *    (reimplemented here, as it was) on random and mutated signatures, for
 *    XEdDSA and for the three rule sets of sotto__eddsa_verify. */
#include <openssl/bn.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/curve_internal.h"
#include "crypto/fe25519.h"
#include "crypto/ge25519_vartime.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "testutil.h"

static uint64_t rng = 0xfe25519deadbeefULL;
static BN_CTX *bnctx;
static BIGNUM *bn_p;

static const uint8_t P_LE[32] = {
	0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
};
static const uint8_t L_LE[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};
static const uint8_t ED_IDENTITY[32] = { 1 };

/* The edwards25519 points of small order (canonical encodings), identity
 * first, then orders 2, 4, 4, 8, 8, 8, 8. */
static const char *const low_order_hex[] = {
	"0100000000000000000000000000000000000000000000000000000000000000",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
};
enum { N_LOW = sizeof low_order_hex / sizeof low_order_hex[0] };
static uint8_t low_order[N_LOW][32];

/* ---- field ---------------------------------------------------------- */

/* Little-endian bytes (bit 255 dropped) -> BIGNUM reduced mod p. */
static BIGNUM *bn_of(const uint8_t b[32])
{
	uint8_t t[32];
	memcpy(t, b, 32);
	t[31] &= 0x7f;
	BIGNUM *x = BN_lebin2bn(t, 32, NULL);
	CHECK(x != NULL && BN_nnmod(x, x, bn_p, bnctx) == 1);
	return x;
}

static int fe_matches(const sotto__fe *f, const BIGNUM *want)
{
	uint8_t got[32], w[32];
	sotto__fe_tobytes(got, f);
	if (BN_bn2lebinpad(want, w, 32) != 32)
		return 0;
	return memcmp(got, w, 32) == 0;
}

/* Random bytes biased towards the edges: all-ones limbs, values just
 * below/above p, zero, tiny values, bit 255 set. */
static void rand_fe_bytes(uint8_t b[32])
{
	unsigned kind = (unsigned)(tu_rand64(&rng) % 8);
	tu_randbytes(&rng, b, 32);
	switch (kind) {
	case 0:
		memcpy(b, P_LE, 32);
		b[0] = (uint8_t)(b[0] + tu_rand64(&rng) % 19); /* p .. p + 18 */
		break;
	case 1:
		memcpy(b, P_LE, 32);
		b[0] = (uint8_t)(b[0] - 1 - tu_rand64(&rng) % 8); /* just below p */
		break;
	case 2:
		memset(b, 0, 32);
		b[0] = (uint8_t)(tu_rand64(&rng) % 4);
		break;
	case 3:
		memset(b, 0xff, 32); /* 2^255 - 1 after bit 255 is dropped */
		break;
	case 4:
		b[31] |= 0x80;
		break;
	default:
		break;
	}
}

static void field_ops(void)
{
	size_t ok = 0, n = 3000;
	BIGNUM *r = BN_new(), *e = BN_new();
	CHECK(r != NULL && e != NULL);
	/* (p - 5)/8 = 2^252 - 3. */
	BN_zero(e);
	CHECK(BN_set_bit(e, 252) == 1 && BN_sub_word(e, 3) == 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t a[32], b[32], out[32];
		rand_fe_bytes(a);
		rand_fe_bytes(b);
		BIGNUM *x = bn_of(a), *y = bn_of(b);
		sotto__fe fa, fb, fr, fs;
		sotto__fe_frombytes(&fa, a);
		sotto__fe_frombytes(&fb, b);
		int good = fe_matches(&fa, x) && fe_matches(&fb, y);
		sotto__fe_add(&fr, &fa, &fb);
		good = good && BN_mod_add(r, x, y, bn_p, bnctx) && fe_matches(&fr, r);
		sotto__fe_sub(&fr, &fa, &fb);
		good = good && BN_mod_sub(r, x, y, bn_p, bnctx) && fe_matches(&fr, r);
		sotto__fe_neg(&fr, &fa);
		good = good && BN_mod_sub(r, bn_p, x, bn_p, bnctx) && fe_matches(&fr, r);
		sotto__fe_mul(&fr, &fa, &fb);
		good = good && BN_mod_mul(r, x, y, bn_p, bnctx) && fe_matches(&fr, r);
		sotto__fe_sq(&fr, &fa);
		good = good && BN_mod_sqr(r, x, bn_p, bnctx) && fe_matches(&fr, r);
		sotto__fe_sqn(&fs, &fa, 1 + (unsigned)(i % 7));
		BN_copy(r, x);
		for (size_t k = 0; k < 1 + i % 7; k++)
			good = good && BN_mod_sqr(r, r, bn_p, bnctx);
		good = good && fe_matches(&fs, r);
		if (i % 4 == 0) {
			sotto__fe_invert(&fr, &fa);
			if (BN_is_zero(x))
				good = good && sotto__fe_iszero(&fr);
			else
				good = good && BN_mod_inverse(r, x, bn_p, bnctx) != NULL &&
				       fe_matches(&fr, r);
			sotto__fe_pow22523(&fr, &fa);
			good = good && BN_mod_exp(r, x, e, bn_p, bnctx) && fe_matches(&fr, r);
		}
		/* Predicates on the canonical value. */
		BN_bn2lebinpad(x, out, 32);
		good = good && sotto__fe_iszero(&fa) == BN_is_zero(x);
		good = good && sotto__fe_isnegative(&fa) == (out[0] & 1);
		good = good && sotto__fe_eq(&fa, &fb) == (BN_cmp(x, y) == 0);
		good = good && sotto__fe_eq(&fa, &fa);
		ok += good;
		BN_free(x);
		BN_free(y);
	}
	CHECK(ok == n);
	printf("field ops vs BIGNUM: %zu/%zu\n", ok, n);

	/* A random walk over 8 registers: results feed later operations
	 * without any reduction other than what the functions do themselves,
	 * so limb growth across chains is exercised. */
	sotto__fe reg[8];
	BIGNUM *ref[8];
	for (int k = 0; k < 8; k++) {
		uint8_t b[32];
		rand_fe_bytes(b);
		sotto__fe_frombytes(&reg[k], b);
		ref[k] = bn_of(b);
	}
	size_t walk_ok = 0, steps = 20000;
	for (size_t i = 0; i < steps; i++) {
		int d = (int)(tu_rand64(&rng) % 8), s1 = (int)(tu_rand64(&rng) % 8),
		    s2 = (int)(tu_rand64(&rng) % 8);
		int rc = 1;
		switch (tu_rand64(&rng) % 5) {
		case 0:
			sotto__fe_add(&reg[d], &reg[s1], &reg[s2]);
			rc = BN_mod_add(ref[d], ref[s1], ref[s2], bn_p, bnctx);
			break;
		case 1:
			sotto__fe_sub(&reg[d], &reg[s1], &reg[s2]);
			rc = BN_mod_sub(ref[d], ref[s1], ref[s2], bn_p, bnctx);
			break;
		case 2:
			sotto__fe_mul(&reg[d], &reg[s1], &reg[s2]);
			rc = BN_mod_mul(ref[d], ref[s1], ref[s2], bn_p, bnctx);
			break;
		case 3:
			sotto__fe_sq(&reg[d], &reg[s1]);
			rc = BN_mod_sqr(ref[d], ref[s1], bn_p, bnctx);
			break;
		default:
			sotto__fe_neg(&reg[d], &reg[s1]);
			rc = BN_mod_sub(ref[d], bn_p, ref[s1], bn_p, bnctx) &&
			     BN_nnmod(ref[d], ref[d], bn_p, bnctx);
			break;
		}
		walk_ok += rc && fe_matches(&reg[d], ref[d]);
	}
	for (int k = 0; k < 8; k++)
		BN_free(ref[k]);
	CHECK(walk_ok == steps);
	printf("field random walk: %zu/%zu\n", walk_ok, steps);

	/* Every value p + k (k < 19) and 2^255 - 1 encode canonically. */
	for (unsigned k = 0; k < 19; k++) {
		uint8_t b[32], out[32], want[32] = { 0 };
		memcpy(b, P_LE, 32);
		b[0] = (uint8_t)(b[0] + k);
		sotto__fe f;
		sotto__fe_frombytes(&f, b);
		sotto__fe_tobytes(out, &f);
		want[0] = (uint8_t)k;
		CHECK_MEM(out, want, 32);
	}
	BN_free(r);
	BN_free(e);
}

/* The limbs as an integer, reduced mod p (for representations that are not
 * the output of frombytes). */
static BIGNUM *bn_of_limbs(const sotto__fe *f)
{
	BIGNUM *x = BN_new(), *t = BN_new();
	CHECK(x != NULL && t != NULL);
	BN_zero(x);
	for (int i = 4; i >= 0; i--) {
		CHECK(BN_lshift(x, x, 51) == 1);
		CHECK(BN_set_word(t, f->v[i]) == 1 && BN_add(x, x, t) == 1);
	}
	CHECK(BN_nnmod(x, x, bn_p, bnctx) == 1);
	BN_free(t);
	return x;
}

static int is_carried(const sotto__fe *f)
{
	for (int i = 0; i < 5; i++) {
		if (f->v[i] >= (UINT64_C(1) << 51) + (UINT64_C(1) << 18))
			return 0;
	}
	return 1;
}

/* A carried element with limbs drawn from the extremes of the documented
 * range [0, 2^51 + 2^18), so that the loose helpers and the multiplication
 * see their worst-case inputs. */
static void extreme_fe(sotto__fe *f)
{
	static const uint64_t top = (UINT64_C(1) << 51) + (UINT64_C(1) << 18) - 1;
	for (int i = 0; i < 5; i++) {
		switch (tu_rand64(&rng) % 4) {
		case 0:
			f->v[i] = top;
			break;
		case 1:
			f->v[i] = 0;
			break;
		case 2:
			f->v[i] = top - tu_rand64(&rng) % 1024;
			break;
		default:
			f->v[i] = tu_rand64(&rng) % (top + 1);
			break;
		}
	}
}

/* The loose add/sub of the point formulas, chained as dbl_p2 and the
 * additions chain them (E = (A + B) - C, F = C + (A - B), products of those),
 * on extreme carried inputs, against BIGNUM; every product must come out
 * carried again. */
static void loose_bounds(void)
{
	size_t ok = 0, n = 3000;
	BIGNUM *r = BN_new(), *t = BN_new();
	CHECK(r != NULL && t != NULL);
	for (size_t i = 0; i < n; i++) {
		sotto__fe a, b, c, h, e, g, f, prod, sq;
		extreme_fe(&a);
		extreme_fe(&b);
		extreme_fe(&c);
		BIGNUM *x = bn_of_limbs(&a), *y = bn_of_limbs(&b), *z = bn_of_limbs(&c);
		sotto__fe_add_loose(&h, &a, &b);     /* H = A + B */
		sotto__fe_sub_loose(&e, &h, &c);     /* E = H - C */
		sotto__fe_sub_loose(&g, &a, &b);     /* G = A - B */
		sotto__fe_add_loose(&f, &c, &g);     /* F = C + G */
		sotto__fe_mul(&prod, &e, &f);
		sotto__fe_sq(&sq, &e);
		int good = is_carried(&prod) && is_carried(&sq);
		/* (x + y - z) * (z + x - y) and (x + y - z)^2 */
		BIGNUM *ee = BN_new(), *ff = BN_new();
		good = good && ee && ff && BN_mod_add(ee, x, y, bn_p, bnctx) &&
		       BN_mod_sub(ee, ee, z, bn_p, bnctx) && BN_mod_add(ff, z, x, bn_p, bnctx) &&
		       BN_mod_sub(ff, ff, y, bn_p, bnctx) && BN_mod_mul(r, ee, ff, bn_p, bnctx) &&
		       fe_matches(&prod, r) && BN_mod_sqr(t, ee, bn_p, bnctx) && fe_matches(&sq, t);
		/* Loose times loose, and sq of a loose sum. */
		sotto__fe_mul(&prod, &h, &g);
		sotto__fe_sq(&sq, &f);
		good = good && is_carried(&prod) && is_carried(&sq);
		good = good && BN_mod_add(r, x, y, bn_p, bnctx) && BN_mod_sub(t, x, y, bn_p, bnctx) &&
		       BN_mod_mul(r, r, t, bn_p, bnctx) && fe_matches(&prod, r) &&
		       BN_mod_sqr(t, ff, bn_p, bnctx) && fe_matches(&sq, t);
		ok += good;
		BN_free(ee);
		BN_free(ff);
		BN_free(x);
		BN_free(y);
		BN_free(z);
	}
	BN_free(r);
	BN_free(t);
	CHECK(ok == n);
	printf("loose add/sub chains at the limb bounds: %zu/%zu\n", ok, n);
}

/* ---- points --------------------------------------------------------- */

static void enc(uint8_t out[32], const sotto__ge_p3 *P)
{
	sotto__ge_vt_tobytes(out, P);
}

/* libsodium's decoding, as the previous verifier applied it. 1 if
 * accepted; out gets libsodium's re-encoding. */
static int sodium_decode(uint8_t out[32], const uint8_t s[32])
{
	return crypto_core_ed25519_add(out, s, ED_IDENTITY) == 0;
}

static void random_point(uint8_t out[32], uint8_t scalar[32])
{
	crypto_core_ed25519_scalar_random(scalar);
	CHECK(crypto_scalarmult_ed25519_base_noclamp(out, scalar) == 0);
}

static void decoding(void)
{
	size_t same = 0, n = 0, accepted = 0;
	uint8_t s[32], want[32], got[32];
	sotto__ge_p3 P;
	/* The base point, derived by the library from y = 4/5. */
	uint8_t one[32] = { 1 }, bsod[32];
	CHECK(sotto__ge_vt_base(&P) == 0);
	enc(got, &P);
	CHECK(crypto_scalarmult_ed25519_base_noclamp(bsod, one) == 0);
	CHECK_MEM(got, bsod, 32);
	for (int i = 0; i < 4000; i++) {
		tu_randbytes(&rng, s, 32);
		switch (i % 4) {
		case 0: /* random bytes: about half are points */
			break;
		case 1: { /* a real point, maybe with the sign bit flipped */
			uint8_t k[32];
			random_point(s, k);
			if (i & 8)
				s[31] ^= 0x80;
			break;
		}
		case 2: { /* y in [p, 2^255): non-canonical, either sign */
			uint8_t sign = s[0] & 0x80;
			memcpy(s, P_LE, 32);
			s[0] = (uint8_t)(0xed + (i / 4) % 19);
			s[31] |= sign;
			break;
		}
		default: /* small y and the low-order points, both signs */
			if ((i / 4) % 2 == 0) {
				memset(s, 0, 32);
				s[0] = (uint8_t)((i / 8) % 24);
			} else {
				memcpy(s, low_order[(i / 8) % N_LOW], 32);
			}
			s[31] ^= (uint8_t)((i & 16) << 3);
			break;
		}
		int lib = sodium_decode(want, s);
		int mine = sotto__ge_vt_frombytes(&P, s) == 0;
		int good = lib == mine;
		if (good && mine) {
			enc(got, &P);
			good = memcmp(got, want, 32) == 0;
		}
		n++;
		accepted += mine;
		same += good;
		if (!good)
			tu_fail("decoding differs from libsodium (case %d)", i);
	}
	CHECK(accepted > n / 4 && accepted < n);
	printf("decoding vs libsodium: %zu/%zu (%zu accepted)\n", same, n, accepted);
}

static void group_laws(void)
{
	size_t ok = 0, n = 300;
	for (size_t i = 0; i < n; i++) {
		uint8_t a[32], b[32], ka[32], kb[32], sum[32], diff[32], got[32], twice[32];
		random_point(a, ka);
		random_point(b, kb);
		if (i % 5 == 0) /* mixed order */
			CHECK(crypto_core_ed25519_add(a, a, low_order[i % N_LOW]) == 0);
		if (i % 7 == 0) /* small order */
			memcpy(b, low_order[i % N_LOW], 32);
		CHECK(crypto_core_ed25519_add(sum, a, b) == 0);
		CHECK(crypto_core_ed25519_sub(diff, a, b) == 0);
		CHECK(crypto_core_ed25519_add(twice, a, a) == 0);
		sotto__ge_p3 A, B, R, S, T;
		int good = sotto__ge_vt_frombytes(&A, a) == 0 && sotto__ge_vt_frombytes(&B, b) == 0;
		sotto__ge_vt_add(&R, &A, &B);
		enc(got, &R);
		good = good && memcmp(got, sum, 32) == 0;
		sotto__ge_vt_sub(&S, &A, &B);
		enc(got, &S);
		good = good && memcmp(got, diff, 32) == 0;
		sotto__ge_vt_dbl(&T, &A);
		enc(got, &T);
		good = good && memcmp(got, twice, 32) == 0;
		/* dbl(A) == A + A, (A + B) - B == A, A + B == B + A. */
		sotto__ge_vt_add(&R, &A, &A);
		good = good && sotto__ge_vt_eq(&R, &T);
		sotto__ge_vt_add(&R, &A, &B);
		sotto__ge_vt_sub(&R, &R, &B);
		good = good && sotto__ge_vt_eq(&R, &A);
		sotto__ge_vt_add(&R, &A, &B);
		sotto__ge_vt_add(&S, &B, &A);
		good = good && sotto__ge_vt_eq(&R, &S) &&
		       sotto__ge_vt_eq(&R, &A) == (memcmp(b, ED_IDENTITY, 32) == 0);
		/* The extended coordinate stays consistent: XY = ZT. */
		sotto__fe l, r;
		sotto__fe_mul(&l, &R.X, &R.Y);
		sotto__fe_mul(&r, &R.Z, &R.T);
		good = good && sotto__fe_eq(&l, &r);
		ok += good;
	}
	CHECK(ok == n);
	/* Small-order points: 8T = identity, doubling chains end there. */
	sotto__ge_p3 T, I;
	sotto__ge_vt_identity(&I);
	for (size_t t = 0; t < N_LOW; t++) {
		CHECK(sotto__ge_vt_frombytes(&T, low_order[t]) == 0);
		for (int k = 0; k < 3; k++)
			sotto__ge_vt_dbl(&T, &T);
		CHECK(sotto__ge_vt_eq(&T, &I));
	}
	printf("group laws vs libsodium: %zu/%zu\n", ok, n);
}

/* ---- double-scalar multiplication ----------------------------------- */

/* k mod L for 32 bytes. */
static void mod_l(uint8_t out[32], const uint8_t k[32])
{
	uint8_t wide[64] = { 0 };
	memcpy(wide, k, 32);
	crypto_core_ed25519_scalar_reduce(out, wide);
}

/* n*P with libsodium for P in the prime-order subgroup (or the identity) and
 * any n: the identity when n = 0 mod L. */
static void sodium_mul(uint8_t out[32], const uint8_t n[32], const uint8_t P[32], int base)
{
	uint8_t r[32];
	mod_l(r, n);
	if (sodium_is_zero(r, 32) || (!base && memcmp(P, ED_IDENTITY, 32) == 0)) {
		memcpy(out, ED_IDENTITY, 32);
		return;
	}
	if (base)
		CHECK(crypto_scalarmult_ed25519_base_noclamp(out, r) == 0);
	else
		CHECK(crypto_scalarmult_ed25519_noclamp(out, r, P) == 0);
}

/* n*T for a small-order T: (n mod 8) additions (8T = identity). */
static void small_mul(uint8_t out[32], const uint8_t n[32], const uint8_t T[32])
{
	memcpy(out, ED_IDENTITY, 32);
	for (unsigned k = 0; k < (n[0] & 7u); k++)
		CHECK(crypto_core_ed25519_add(out, out, T) == 0);
}

static void rand_scalar(uint8_t k[32], size_t i)
{
	tu_randbytes(&rng, k, 32);
	switch (i % 9) {
	case 0:
		memset(k, 0, 32);
		break;
	case 1:
		memset(k, 0, 32);
		k[0] = (uint8_t)(tu_rand64(&rng) % 20);
		break;
	case 2:
		memcpy(k, L_LE, 32); /* L, L - 1, L + 1 */
		k[0] = (uint8_t)(k[0] + (int)(tu_rand64(&rng) % 3) - 1);
		break;
	case 3:
		memset(k, 0xff, 32); /* 2^256 - 1: a borrow into digit 256 */
		break;
	case 4:
		k[31] &= 0x1f; /* below 2^253, like s */
		break;
	case 5:
		mod_l(k, k); /* like h */
		break;
	case 6: /* long runs of ones and zeros */
		for (int j = 0; j < 32; j++)
			k[j] = (j / 4) % 2 ? 0xff : 0x00;
		break;
	default:
		break;
	}
}

static void double_scalarmult(void)
{
	size_t ok = 0, n = 400;
	int kinds[3] = { 0, 0, 0 };
	for (size_t i = 0; i < n; i++) {
		uint8_t a[32], b[32], P[32], kp[32], T[32], A[32], aA[32], aT[32], bB[32], want[32],
			got[32];
		rand_scalar(a, i);
		rand_scalar(b, i / 9 + i);
		random_point(P, kp);
		int kind = (int)(i % 3); /* 0 prime order, 1 mixed, 2 small order */
		memcpy(T, low_order[(i / 3) % N_LOW], 32);
		if (kind == 0) {
			memcpy(A, P, 32);
			sodium_mul(aA, a, P, 0);
		} else if (kind == 1) {
			CHECK(crypto_core_ed25519_add(A, P, T) == 0);
			sodium_mul(aA, a, P, 0);
			small_mul(aT, a, T);
			CHECK(crypto_core_ed25519_add(aA, aA, aT) == 0);
		} else {
			memcpy(A, T, 32);
			small_mul(aA, a, T);
		}
		kinds[kind]++;
		sodium_mul(bB, b, NULL, 1);
		CHECK(crypto_core_ed25519_sub(want, bB, aA) == 0);
		sotto__ge_p3 Ap, R;
		int good = sotto__ge_vt_frombytes(&Ap, A) == 0 &&
			   sotto__ge_vt_double_scalarmult(&R, a, &Ap, b) == 0;
		enc(got, &R);
		good = good && memcmp(got, want, 32) == 0;
		ok += good;
		if (!good)
			tu_fail("double scalar mult %zu (kind %d)", i, kind);
	}
	CHECK(ok == n);
	printf("s*B - h*A vs libsodium: %zu/%zu (prime %d, mixed %d, small %d)\n", ok, n, kinds[0],
	       kinds[1], kinds[2]);
}

/* ---- the previous verifier, as it was ------------------------------- */

static void sha512_mod_l(uint8_t h[32], const uint8_t R[32], const uint8_t A[32],
			 const uint8_t *msg, size_t len)
{
	crypto_hash_sha512_state st;
	uint8_t d[64];
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, R, 32);
	crypto_hash_sha512_update(&st, A, 32);
	crypto_hash_sha512_update(&st, msg, len);
	crypto_hash_sha512_final(&st, d);
	crypto_core_ed25519_scalar_reduce(h, d);
}

static int is_all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != v)
			return 0;
	}
	return 1;
}

static int old_point_is_canonical(const uint8_t A[32])
{
	uint8_t top = A[31] & 0x7f;
	int mid_ff = is_all(A + 1, 30, 0xff) && top == 0x7f;
	if (mid_ff && A[0] >= 0xed)
		return 0;
	if (A[31] & 0x80) {
		if (A[0] == 0x01 && is_all(A + 1, 30, 0x00) && top == 0)
			return 0;
		if (A[0] == 0xec && mid_ff)
			return 0;
	}
	return 1;
}

static int old_scalar_is_canonical(const uint8_t s[32])
{
	for (int i = 31; i >= 0; i--) {
		if (s[i] != L_LE[i])
			return s[i] < L_LE[i];
	}
	return 0;
}

static int old_eddsa_verify(const uint8_t Aenc[32], const uint8_t R[32], const uint8_t s[32],
			    const uint8_t *msg, size_t msglen, enum sotto__eddsa_rules rules)
{
	uint8_t sr[32], h[32], hq[32], A2[32], A4[32], A8[32], cA[32], qA[32], hA[32], sB[32],
		chk[32];
	if (rules == SOTTO__EDDSA_XEDDSA) {
		if (s[31] & 0xe0)
			return SOTTO_ERR_INVALID_SIGNATURE;
		mod_l(sr, s);
	} else {
		if (!old_scalar_is_canonical(s))
			return SOTTO_ERR_INVALID_SIGNATURE;
		memcpy(sr, s, 32);
	}
	if (rules == SOTTO__EDDSA_RFC8032 && !old_point_is_canonical(Aenc))
		return SOTTO_ERR_INVALID_SIGNATURE;
	sha512_mod_l(h, R, Aenc, msg, msglen);
	if (crypto_core_ed25519_add(A2, Aenc, Aenc) != 0)
		return SOTTO_ERR_INVALID_SIGNATURE;
	if (crypto_core_ed25519_add(A4, A2, A2) != 0 || crypto_core_ed25519_add(A8, A4, A4) != 0)
		return SOTTO_ERR_INTERNAL;
	unsigned c = h[0] & 7u;
	memcpy(cA, ED_IDENTITY, 32);
	if ((c & 1) && crypto_core_ed25519_add(cA, cA, Aenc) != 0)
		return SOTTO_ERR_INTERNAL;
	if ((c & 2) && crypto_core_ed25519_add(cA, cA, A2) != 0)
		return SOTTO_ERR_INTERNAL;
	if ((c & 4) && crypto_core_ed25519_add(cA, cA, A4) != 0)
		return SOTTO_ERR_INTERNAL;
	for (int i = 0; i < 32; i++)
		hq[i] = (uint8_t)((h[i] >> 3) | (i < 31 ? (unsigned)h[i + 1] << 5 : 0u));
	if (sodium_is_zero(hq, 32) || memcmp(A8, ED_IDENTITY, 32) == 0)
		memcpy(qA, ED_IDENTITY, 32);
	else if (crypto_scalarmult_ed25519_noclamp(qA, hq, A8) != 0)
		return SOTTO_ERR_INTERNAL;
	if (crypto_core_ed25519_add(hA, qA, cA) != 0)
		return SOTTO_ERR_INTERNAL;
	if (sodium_is_zero(sr, 32))
		memcpy(sB, ED_IDENTITY, 32);
	else if (crypto_scalarmult_ed25519_base_noclamp(sB, sr) != 0)
		return SOTTO_ERR_INTERNAL;
	if (crypto_core_ed25519_sub(chk, sB, hA) != 0)
		return SOTTO_ERR_INTERNAL;
	return memcmp(chk, R, 32) == 0 ? SOTTO_OK : SOTTO_ERR_INVALID_SIGNATURE;
}

/* The BIGNUM map y = (u - 1)/(u + 1), then libsodium's decode/re-encode. */
static int old_mont_to_edwards(uint8_t Aenc[32], const uint8_t u[32], unsigned sign)
{
	BIGNUM *v = bn_of(u), *one = BN_new(), *num = BN_new(), *den = BN_new();
	int rc = SOTTO_ERR_INTERNAL;
	uint8_t y[32];
	if (v == NULL || one == NULL || num == NULL || den == NULL || !BN_one(one) ||
	    !BN_mod_sub(num, v, one, bn_p, bnctx) || !BN_mod_add(den, v, one, bn_p, bnctx))
		goto done;
	if (BN_is_zero(den)) {
		rc = SOTTO_ERR_INVALID_KEY;
		goto done;
	}
	if (BN_mod_inverse(den, den, bn_p, bnctx) == NULL ||
	    !BN_mod_mul(num, num, den, bn_p, bnctx) || BN_bn2lebinpad(num, y, 32) != 32)
		goto done;
	y[31] |= (uint8_t)((sign & 1) << 7);
	rc = crypto_core_ed25519_add(Aenc, y, ED_IDENTITY) == 0 ? SOTTO_OK : SOTTO_ERR_INVALID_KEY;
done:
	BN_free(v);
	BN_free(one);
	BN_free(num);
	BN_free(den);
	return rc;
}

static int old_xeddsa_verify(const uint8_t pub[32], const uint8_t *msg, size_t msglen,
			     const uint8_t sig[64])
{
	uint8_t Aenc[32], s[32];
	if (old_mont_to_edwards(Aenc, pub, sig[63] >> 7) != SOTTO_OK)
		return SOTTO_ERR_INVALID_SIGNATURE;
	memcpy(s, sig + 32, 32);
	s[31] &= 0x7f;
	return old_eddsa_verify(Aenc, sig, s, msg, msglen, SOTTO__EDDSA_XEDDSA);
}

/* ---- differential tests --------------------------------------------- */

static void le_add(uint8_t x[32], const uint8_t y[32])
{
	unsigned c = 0;
	for (int i = 0; i < 32; i++) {
		c += (unsigned)x[i] + y[i];
		x[i] = (uint8_t)c;
		c >>= 8;
	}
}

/* A u-coordinate for the public key: usually a real key, sometimes a
 * mixed-order one (torsion kept by the cofactorless equation), a small-order
 * one, or a special value (0, 1, p - 1, p, p + 1, 2^255 - 1, random). */
static void pick_key(uint8_t pub[32], uint8_t priv[32], int *mixed_T, size_t i)
{
	tu_randbytes(&rng, priv, 32);
	sotto_x25519_clamp(priv);
	CHECK_RC(sotto_x25519_public(pub, priv), 0);
	*mixed_T = -1;
	switch (i % 16) {
	case 1:
	case 2:
	case 3: {
		uint8_t wide[64] = { 0 }, a[32], P[32], PT[32];
		memcpy(wide, priv, 32);
		crypto_core_ed25519_scalar_reduce(a, wide);
		CHECK(crypto_scalarmult_ed25519_base_noclamp(P, a) == 0);
		*mixed_T = 2 + (int)((i / 16) % (N_LOW - 2)); /* skip identity, order 2 */
		CHECK(crypto_core_ed25519_add(PT, P, low_order[*mixed_T]) == 0);
		CHECK_RC(sotto__edwards_to_mont(pub, PT), 0);
		break;
	}
	case 4: {
		/* u of a small-order point (not the identity, which has none) */
		int t = 1 + (int)((i / 16) % (N_LOW - 1));
		CHECK_RC(sotto__edwards_to_mont(pub, low_order[t]), 0);
		break;
	}
	case 5: {
		static const uint8_t specials[][2] = { { 0x00, 0x00 }, { 0x01, 0x00 },
						       { 0xec, 0x7f }, { 0xed, 0x7f },
						       { 0xee, 0x7f }, { 0xff, 0xff } };
		size_t k = (i / 16) % 6;
		memset(pub, specials[k][1] == 0 ? 0x00 : 0xff, 32);
		pub[0] = specials[k][0];
		pub[31] = specials[k][1];
		break;
	}
	case 6:
		tu_randbytes(&rng, pub, 32);
		break;
	case 7:
		pub[31] ^= 0x80; /* ignored bit */
		break;
	default:
		break;
	}
}

/* Sign with libsodium for the prime-order part of the key but hash the
 * actual (maybe mixed-order) Edwards encoding, as an attacker could. */
static void sign_raw(uint8_t sig[64], const uint8_t priv[32], const uint8_t Aenc[32],
		     const uint8_t *msg, size_t len)
{
	uint8_t wide[64] = { 0 }, a[32], r[32], h[32], ha[32];
	memcpy(wide, priv, 32);
	crypto_core_ed25519_scalar_reduce(a, wide);
	crypto_core_ed25519_scalar_random(r);
	CHECK(crypto_scalarmult_ed25519_base_noclamp(sig, r) == 0);
	sha512_mod_l(h, sig, Aenc, msg, len);
	crypto_core_ed25519_scalar_mul(ha, h, a);
	crypto_core_ed25519_scalar_add(sig + 32, ha, r);
	sig[63] = (uint8_t)((sig[63] & 0x7f) | (Aenc[31] & 0x80));
}

static void mutate(uint8_t sig[64], uint8_t *msg, size_t len, size_t i)
{
	switch (i % 12) {
	case 0:
		sig[63] ^= 0x80; /* sign bit */
		break;
	case 1:
		sig[63] ^= (uint8_t)(0x20 << (tu_rand64(&rng) % 2)); /* bit 253/254 */
		break;
	case 2:
		sig[tu_rand64(&rng) % 32] ^= (uint8_t)(1u << (tu_rand64(&rng) % 8));
		break;
	case 3:
		sig[32 + tu_rand64(&rng) % 31] ^= (uint8_t)(1u << (tu_rand64(&rng) % 8));
		break;
	case 4: { /* s + L (accepted below 2^253) */
		uint8_t s[32];
		memcpy(s, sig + 32, 32);
		uint8_t top = s[31] & 0x80;
		s[31] &= 0x7f;
		le_add(s, L_LE);
		s[31] = (uint8_t)((s[31] & 0x7f) | top);
		memcpy(sig + 32, s, 32);
		break;
	}
	case 5:
		if (len)
			msg[tu_rand64(&rng) % len] ^= 1;
		break;
	case 6: /* R a low-order or non-canonical encoding */
		memcpy(sig, low_order[tu_rand64(&rng) % N_LOW], 32);
		if (i & 16) {
			memcpy(sig, P_LE, 32);
			sig[0] = (uint8_t)(sig[0] + tu_rand64(&rng) % 19);
		}
		break;
	case 7:
		tu_randbytes(&rng, sig, 64);
		break;
	case 8: /* s = 0, s = L */
		memset(sig + 32, 0, 32);
		if (i & 16)
			memcpy(sig + 32, L_LE, 32);
		break;
	default:
		break; /* unmodified */
	}
}

static void differential_xeddsa(void)
{
	size_t same = 0, n = 1500, accepted = 0, mixed_accepted = 0;
	static uint8_t msg[300];
	for (size_t i = 0; i < n; i++) {
		uint8_t pub[32], priv[32], sig[64], z[64], Aenc[32];
		int T;
		size_t len = (size_t)(tu_rand64(&rng) % sizeof msg);
		tu_randbytes(&rng, msg, len);
		pick_key(pub, priv, &T, i);
		if (T >= 0 && old_mont_to_edwards(Aenc, pub, (unsigned)(i / 3) & 1) == SOTTO_OK) {
			sign_raw(sig, priv, Aenc, msg, len);
		} else {
			tu_randbytes(&rng, z, 64);
			CHECK_RC(sotto_xeddsa_sign(sig, priv, msg, len, z), 0);
		}
		if ((i / 16) % 2)
			mutate(sig, msg, len, i / 32 + i);
		/* The previous code also answered through the public entry. */
		int want = old_xeddsa_verify(pub, msg, len, sig);
		int got = sotto_xeddsa_verify(pub, msg, len, sig);
		int good = want == got && (got == 0 || got == SOTTO_ERR_INVALID_SIGNATURE);
		/* And the map on its own. */
		uint8_t e1[32], e2[32];
		unsigned sign = (unsigned)(i & 1);
		int r1 = old_mont_to_edwards(e1, pub, sign), r2 = sotto__mont_to_edwards(e2, pub, sign);
		good = good && r1 == r2 && (r1 != SOTTO_OK || memcmp(e1, e2, 32) == 0);
		same += good;
		accepted += got == 0;
		mixed_accepted += got == 0 && T >= 0;
		if (!good)
			tu_fail("xeddsa differential %zu: old %d new %d, map %d/%d", i, want, got, r1,
				r2);
	}
	CHECK(accepted > n / 4 && accepted < n);
	CHECK(mixed_accepted > 0);
	printf("xeddsa new vs old verifier: %zu/%zu equal (%zu accepted, %zu with a mixed-order "
	       "key)\n",
	       same, n, accepted, mixed_accepted);
}

/* The same few keys over and over, in a shuffled order with more keys than
 * the verifier keeps decoded per thread, both sign bits, valid and mutated
 * signatures: the answers must not depend on what was verified before. */
static void differential_repeated_keys(void)
{
	enum { NKEYS = 9 };
	uint8_t pubs[NKEYS][32], privs[NKEYS][32], msg[40];
	size_t same = 0, n = 600, accepted = 0;
	for (int k = 0; k < NKEYS; k++) {
		tu_randbytes(&rng, privs[k], 32);
		sotto_x25519_clamp(privs[k]);
		CHECK_RC(sotto_x25519_public(pubs[k], privs[k]), 0);
	}
	/* One key with u = 0 (its point (0, -1) takes the general decoder). */
	memset(pubs[NKEYS - 1], 0, 32);
	for (size_t i = 0; i < n; i++) {
		size_t k = (size_t)(tu_rand64(&rng) % ((i / 100) % 2 ? 3 : NKEYS));
		uint8_t sig[64], z[64];
		tu_randbytes(&rng, msg, sizeof msg);
		tu_randbytes(&rng, z, 64);
		CHECK_RC(sotto_xeddsa_sign(sig, privs[k], msg, sizeof msg, z), 0);
		if (i % 3 == 1)
			sig[63] ^= 0x80; /* the other sign: a different point */
		else if (i % 3 == 2)
			mutate(sig, msg, sizeof msg, i);
		int want = old_xeddsa_verify(pubs[k], msg, sizeof msg, sig);
		int got = sotto_xeddsa_verify(pubs[k], msg, sizeof msg, sig);
		same += want == got;
		accepted += got == 0;
		if (want != got)
			tu_fail("repeated keys %zu (key %zu): old %d new %d", i, k, want, got);
	}
	CHECK(accepted > n / 4);
	printf("repeated keys, new vs old verifier: %zu/%zu equal (%zu accepted)\n", same, n,
	       accepted);
}

/* sotto__eddsa_verify under each rule set, on A encodings of every kind:
 * real keys (signed properly), mixed-order keys, non-canonical encodings of
 * low-order points, random bytes. */
static void differential_eddsa(void)
{
	static const enum sotto__eddsa_rules rules[3] = { SOTTO__EDDSA_RFC8032,
							  SOTTO__EDDSA_LENIENT_A,
							  SOTTO__EDDSA_XEDDSA };
	size_t same = 0, n = 0, accepted = 0;
	uint8_t msg[64];
	for (size_t i = 0; i < 800; i++) {
		uint8_t A[32], ka[32], sig[64], s[32], r[32], h[32], ha[32];
		size_t len = (size_t)(tu_rand64(&rng) % sizeof msg);
		tu_randbytes(&rng, msg, len);
		random_point(A, ka);
		switch (i % 8) {
		case 1: /* mixed order */
			CHECK(crypto_core_ed25519_add(A, A, low_order[1 + i % (N_LOW - 1)]) == 0);
			break;
		case 2: /* small order, canonical or not (y + p), either sign */
			memcpy(A, low_order[(i / 8) % N_LOW], 32);
			if (i & 8) {
				uint8_t yp[32];
				memcpy(yp, A, 32);
				yp[31] &= 0x7f;
				if (yp[31] == 0 && is_all(yp + 1, 30, 0) && yp[0] < 19) {
					yp[0] = (uint8_t)(yp[0] + 0xed);
					memset(yp + 1, 0xff, 30);
					yp[31] = 0x7f;
				}
				memcpy(A, yp, 32);
			}
			if (i & 16)
				A[31] ^= 0x80;
			break;
		case 3:
			tu_randbytes(&rng, A, 32);
			break;
		default:
			break;
		}
		/* Sign with ka over the A bytes (valid when A = ka*B). */
		crypto_core_ed25519_scalar_random(r);
		CHECK(crypto_scalarmult_ed25519_base_noclamp(sig, r) == 0);
		sha512_mod_l(h, sig, A, msg, len);
		crypto_core_ed25519_scalar_mul(ha, h, ka);
		crypto_core_ed25519_scalar_add(sig + 32, ha, r);
		/* A small-order A: s = r, which verifies exactly when h*A is the
		 * identity (always for A = identity, half the time for order 2). */
		if (i % 8 == 2)
			memcpy(sig + 32, r, 32);
		if ((i / 8) % 2)
			mutate(sig, msg, len, i);
		memcpy(s, sig + 32, 32);
		s[31] &= (uint8_t)((i & 32) ? 0xff : 0x7f);
		for (int k = 0; k < 3; k++) {
			int want = old_eddsa_verify(A, sig, s, msg, len, rules[k]);
			int got = sotto__eddsa_verify(A, sig, s, msg, len, rules[k]);
			n++;
			accepted += got == 0;
			if (want == got)
				same++;
			else
				tu_fail("eddsa differential %zu rules %d: old %d new %d", i, (int)k,
					want, got);
		}
	}
	CHECK(accepted > n / 5);
	printf("eddsa new vs old verifier (3 rule sets): %zu/%zu equal (%zu accepted)\n", same, n,
	       accepted);
}

/* Several threads verify at once before anything else has used the
 * variable-time code, so the one-time setup of its constants runs under
 * contention, and each thread's key memo sees the same keys as the others'.
 * Every thread must get the expected verdict on every signature. */
enum { THREADS = 4, THREAD_SIGS = 12 };

static struct {
	uint8_t pub[3][32];
	uint8_t sig[THREAD_SIGS][64];
	uint8_t msg[THREAD_SIGS][16];
	int want[THREAD_SIGS];
} tshared;

static void *verify_thread(void *arg)
{
	size_t *good = arg;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < THREAD_SIGS; i++) {
			int rc = sotto_xeddsa_verify(tshared.pub[i % 3], tshared.msg[i], 16,
						     tshared.sig[i]);
			*good += rc == tshared.want[i];
		}
	}
	return NULL;
}

static void concurrent_first_use(void)
{
	uint8_t priv[3][32], z[64];
	for (int k = 0; k < 3; k++) {
		tu_randbytes(&rng, priv[k], 32);
		/* sotto_x25519_public is libsodium only: the vartime code is
		 * still untouched here. */
		CHECK_RC(sotto_x25519_public(tshared.pub[k], priv[k]), 0);
	}
	for (int i = 0; i < THREAD_SIGS; i++) {
		tu_randbytes(&rng, tshared.msg[i], 16);
		tu_randbytes(&rng, z, 64);
		CHECK_RC(sotto_xeddsa_sign(tshared.sig[i], priv[i % 3], tshared.msg[i], 16, z), 0);
		tshared.want[i] = 0;
		if (i % 4 == 3) {
			tshared.sig[i][63] ^= 0x80;
			tshared.want[i] = SOTTO_ERR_INVALID_SIGNATURE;
		}
	}
	pthread_t th[THREADS];
	size_t good[THREADS] = { 0 };
	int started = 0;
	for (int t = 0; t < THREADS; t++)
		started += pthread_create(&th[t], NULL, verify_thread, &good[t]) == 0;
	CHECK(started == THREADS);
	size_t total = 0;
	for (int t = 0; t < started; t++) {
		CHECK(pthread_join(th[t], NULL) == 0);
		total += good[t];
	}
	CHECK(total == (size_t)THREADS * 3 * THREAD_SIGS);
	printf("concurrent first use: %zu/%d verdicts as expected\n", total,
	       THREADS * 3 * THREAD_SIGS);
}

int main(void)
{
	CHECK_RC(sotto_init(), 0);
	bnctx = BN_CTX_new();
	bn_p = BN_lebin2bn(P_LE, 32, NULL);
	CHECK(bnctx != NULL && bn_p != NULL);
	if (bnctx == NULL || bn_p == NULL)
		return tu_finish("unit-fe25519");
	for (size_t t = 0; t < N_LOW; t++)
		CHECK(tu_unhex_into(low_order[t], 32, low_order_hex[t]) == 0);
	concurrent_first_use(); /* first: nothing has used the vartime code yet */
	field_ops();
	loose_bounds();
	decoding();
	group_laws();
	double_scalarmult();
	differential_xeddsa();
	differential_repeated_keys();
	differential_eddsa();
	BN_free(bn_p);
	BN_CTX_free(bnctx);
	return tu_finish("unit-fe25519");
}
