/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: arithmetic modulo p = 2^255 - 19 for the variable-time Edwards25519
 * code that verifies signatures (ge25519_vartime.h) and for the constant-time
 * X25519 ladder (x25519_ladder.c). Five 51-bit limbs, products in
 * unsigned __int128.
 *
 * Every function here leaves its result "carried" (each limb below
 * 2^51 + 2^18) and accepts carried inputs, so results can be chained freely.
 * The exception is the pair of "loose" helpers for the point formulas, which
 * skip the carry: their results may only be fed to mul and sq, which accept
 * limbs up to 2^53 + 2^20 (see sotto__fe_reduce_wide). The value is only
 * unique mod p; fe_tobytes gives the canonical encoding. The arithmetic
 * (add, sub, mul, sq, reductions, the fixed inversion chain, encoding) has no
 * branch or index that depends on the values, and the X25519 ladder runs it on
 * secrets (ct-x25519_ladder checks this under valgrind). The predicates
 * (iszero, isnegative, eq) and everything built on them branch on their result
 * and are for public data only. */
#ifndef SOTTO_CRYPTO_FE25519_H
#define SOTTO_CRYPTO_FE25519_H

#include <stdint.h>

#ifndef SOTTO_HIDDEN
#define SOTTO_HIDDEN __attribute__((visibility("hidden")))
#endif

typedef struct {
	uint64_t v[5];
} sotto__fe;

/* Loads 32 little-endian bytes; bit 255 is ignored, a value in [p, 2^255)
 * is accepted and behaves as value - p (as RFC 8032 decoders based on ref10,
 * and libsodium's, do). */
SOTTO_HIDDEN void sotto__fe_frombytes(sotto__fe *h, const uint8_t s[32]);
/* The canonical encoding: value mod p, little endian, bit 255 clear. */
SOTTO_HIDDEN void sotto__fe_tobytes(uint8_t s[32], const sotto__fe *h);

SOTTO_HIDDEN void sotto__fe_set_u32(sotto__fe *h, uint32_t x);

/* The arithmetic the point formulas spend their time in is inline, so that
 * ge25519_vartime.c gets it without a call per operation. */
__extension__ typedef unsigned __int128 sotto__u128;

#define SOTTO__FE_MASK51 ((UINT64_C(1) << 51) - 1)

/* One carry pass: limbs below 2^64 in, limbs 1..4 below 2^51 and limb 0
 * below 2^51 + 19 * 2^13 out (the carry out of limb 4 is below 2^13). */
static inline void sotto__fe_carry(uint64_t h[5])
{
	uint64_t c;
	c = h[0] >> 51;
	h[0] &= SOTTO__FE_MASK51;
	h[1] += c;
	c = h[1] >> 51;
	h[1] &= SOTTO__FE_MASK51;
	h[2] += c;
	c = h[2] >> 51;
	h[2] &= SOTTO__FE_MASK51;
	h[3] += c;
	c = h[3] >> 51;
	h[3] &= SOTTO__FE_MASK51;
	h[4] += c;
	c = h[4] >> 51;
	h[4] &= SOTTO__FE_MASK51;
	h[0] += 19 * c;
}

static inline void sotto__fe_add(sotto__fe *h, const sotto__fe *f, const sotto__fe *g)
{
	for (int i = 0; i < 5; i++)
		h->v[i] = f->v[i] + g->v[i];
	sotto__fe_carry(h->v);
}

/* f - g + 2p: every limb of 2p (2^52 - 38, then 2^52 - 2) exceeds the
 * largest carried limb of g (below 2^51 + 2^18), so no limb goes negative. */
static inline void sotto__fe_sub(sotto__fe *h, const sotto__fe *f, const sotto__fe *g)
{
	h->v[0] = f->v[0] + UINT64_C(0xfffffffffffda) - g->v[0];
	for (int i = 1; i < 5; i++)
		h->v[i] = f->v[i] + UINT64_C(0xffffffffffffe) - g->v[i];
	sotto__fe_carry(h->v);
}

static inline void sotto__fe_neg(sotto__fe *h, const sotto__fe *f)
{
	sotto__fe zero = { { 0, 0, 0, 0, 0 } };
	sotto__fe_sub(h, &zero, f);
}

/* h = f + g without a carry: for carried f and g, limbs below 2^52 + 2^19.
 * Only for mul/sq inputs (or the first operand of sotto__fe_sub_loose). */
static inline void sotto__fe_add_loose(sotto__fe *h, const sotto__fe *f, const sotto__fe *g)
{
	for (int i = 0; i < 5; i++)
		h->v[i] = f->v[i] + g->v[i];
}

/* h = f - g + 2p without a carry. g must be carried (its limbs then stay
 * below those of 2p); the result's limbs are below f's plus 2^52, so with f
 * at most loose, below 2^53 + 2^19. Only for mul/sq inputs. */
static inline void sotto__fe_sub_loose(sotto__fe *h, const sotto__fe *f, const sotto__fe *g)
{
	h->v[0] = f->v[0] + UINT64_C(0xfffffffffffda) - g->v[0];
	for (int i = 1; i < 5; i++)
		h->v[i] = f->v[i] + UINT64_C(0xffffffffffffe) - g->v[i];
}

/* Folds five 128-bit column sums into carried limbs. With input limbs below
 * 2^53 + 2^20, every sum is below 2^113 (five products of at most
 * 2^53.01 * 19 * 2^53.01), so each carry r[i] >> 51 fits 62 bits. The top
 * carry goes into r0 first (times 19, in 128 bits), then the other four are
 * taken at once and a second, 64-bit round brings the limbs back below
 * 2^51 + 19 * 2^11: short dependency chains instead of one long one through
 * the 128-bit sums. */
static inline void sotto__fe_reduce_wide(uint64_t h[5], sotto__u128 r0, sotto__u128 r1,
					 sotto__u128 r2, sotto__u128 r3, sotto__u128 r4)
{
	const uint64_t m = SOTTO__FE_MASK51;
	r0 += (sotto__u128)((uint64_t)(r4 >> 51)) * 19;
	uint64_t c0 = (uint64_t)(r0 >> 51), c1 = (uint64_t)(r1 >> 51), c2 = (uint64_t)(r2 >> 51),
		 c3 = (uint64_t)(r3 >> 51);
	uint64_t h0 = (uint64_t)r0 & m, h1 = ((uint64_t)r1 & m) + c0,
		 h2 = ((uint64_t)r2 & m) + c1, h3 = ((uint64_t)r3 & m) + c2,
		 h4 = ((uint64_t)r4 & m) + c3;
	h[0] = h0 + 19 * (h4 >> 51);
	h[1] = (h1 & m);
	h[2] = (h2 & m) + (h1 >> 51);
	h[3] = (h3 & m) + (h2 >> 51);
	h[4] = (h4 & m) + (h3 >> 51);
}

static inline void sotto__fe_mul(sotto__fe *h, const sotto__fe *f, const sotto__fe *g)
{
	typedef sotto__u128 w;
	const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	const uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
	const uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
	w r0 = (w)f0 * g0 + (w)f1 * g4_19 + (w)f2 * g3_19 + (w)f3 * g2_19 + (w)f4 * g1_19;
	w r1 = (w)f0 * g1 + (w)f1 * g0 + (w)f2 * g4_19 + (w)f3 * g3_19 + (w)f4 * g2_19;
	w r2 = (w)f0 * g2 + (w)f1 * g1 + (w)f2 * g0 + (w)f3 * g4_19 + (w)f4 * g3_19;
	w r3 = (w)f0 * g3 + (w)f1 * g2 + (w)f2 * g1 + (w)f3 * g0 + (w)f4 * g4_19;
	w r4 = (w)f0 * g4 + (w)f1 * g3 + (w)f2 * g2 + (w)f3 * g1 + (w)f4 * g0;
	sotto__fe_reduce_wide(h->v, r0, r1, r2, r3, r4);
}

static inline void sotto__fe_sq(sotto__fe *h, const sotto__fe *f)
{
	typedef sotto__u128 w;
	const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	const uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f2_2 = 2 * f2, f3_2 = 2 * f3;
	const uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
	w r0 = (w)f0 * f0 + (w)f1_2 * f4_19 + (w)f2_2 * f3_19;
	w r1 = (w)f0_2 * f1 + (w)f2_2 * f4_19 + (w)f3 * f3_19;
	w r2 = (w)f0_2 * f2 + (w)f1 * f1 + (w)f3_2 * f4_19;
	w r3 = (w)f0_2 * f3 + (w)f1_2 * f2 + (w)f4 * f4_19;
	w r4 = (w)f0_2 * f4 + (w)f1_2 * f3 + (w)f2 * f2;
	sotto__fe_reduce_wide(h->v, r0, r1, r2, r3, r4);
}

/* h = f^(2^n) for n >= 1. */
SOTTO_HIDDEN void sotto__fe_sqn(sotto__fe *h, const sotto__fe *f, unsigned n);
/* h = 1/f = f^(p-2); 1/0 gives 0. */
SOTTO_HIDDEN void sotto__fe_invert(sotto__fe *h, const sotto__fe *f);
/* h = f^((p-5)/8) = f^(2^252 - 3), the exponent of the square-root trick. */
SOTTO_HIDDEN void sotto__fe_pow22523(sotto__fe *h, const sotto__fe *f);

/* On the canonical value (public data only). */
SOTTO_HIDDEN int sotto__fe_iszero(const sotto__fe *f);
SOTTO_HIDDEN int sotto__fe_isnegative(const sotto__fe *f); /* lowest bit */
SOTTO_HIDDEN int sotto__fe_eq(const sotto__fe *f, const sotto__fe *g);

#endif
