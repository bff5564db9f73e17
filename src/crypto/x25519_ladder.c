/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* X25519 (RFC 7748 §5) as a Montgomery ladder on the radix-2^51 field of
 * fe25519.h, written from the RFC's pseudocode.
 *
 * Constant time: the ladder runs a fixed 255 steps (bits 254..0 of the
 * clamped scalar; bit 255 is always 0 after clamping), the only use of a key
 * bit is as a mask in the conditional swap, and the field operations used
 * (add/sub/mul/sq, reduce_wide, sqn with a public count, the fixed
 * exponent chain of sotto__fe_invert, frombytes/tobytes) contain no branch
 * and no table index. The predicates of fe25519.c (iszero, eq, ...) branch
 * on their result and are not used here. */
#include "x25519_ladder.h"

#include <string.h>

#include "fe25519.h"
#include "sotto/util.h"

/* (A - 2) / 4 for Curve25519's A = 486662, in RFC 7748's form
 * z_2 = E * (AA + a24 * E). */
#define A24 121665u

/* h = f * A24 for f with limbs below 2^53 + 2^20 (loose). Each product is
 * below 2^70, beyond 64 bits, so it is formed in 128 bits and folded like a
 * full product (whose column sums may reach 2^113); h is carried. */
static inline void fe_mul_a24(sotto__fe *h, const sotto__fe *f)
{
	typedef sotto__u128 w;
	sotto__fe_reduce_wide(h->v, (w)f->v[0] * A24, (w)f->v[1] * A24, (w)f->v[2] * A24,
			      (w)f->v[3] * A24, (w)f->v[4] * A24);
}

/* Swaps (a, b) with (c, d) when bit is 1, through a mask. The empty asm
 * hides the mask's origin from the optimizer so that it cannot turn the
 * masked exchange back into a branch on bit. */
static inline void fe_cswap2(sotto__fe *a, sotto__fe *b, sotto__fe *c, sotto__fe *d, uint64_t bit)
{
	uint64_t mask = (uint64_t)0 - bit;
	__asm__("" : "+r"(mask));
	for (int i = 0; i < 5; i++) {
		uint64_t t = mask & (a->v[i] ^ c->v[i]);
		a->v[i] ^= t;
		c->v[i] ^= t;
		t = mask & (b->v[i] ^ d->v[i]);
		b->v[i] ^= t;
		d->v[i] ^= t;
	}
}

void sotto__x25519_ladder(uint8_t out[32], const uint8_t scalar[32], const uint8_t u[32])
{
	uint8_t k[32];
	sotto__fe x1, x2, z2, x3, z3, a, b, c, d, aa, bb, e, da, cb, t;
	uint64_t swap = 0;

	memcpy(k, scalar, sizeof k);
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;

	sotto__fe_frombytes(&x1, u); /* masks bit 255 */
	sotto__fe_set_u32(&x2, 1);
	sotto__fe_set_u32(&z2, 0);
	x3 = x1;
	sotto__fe_set_u32(&z3, 1);

	/* Bounds: the loose add/sub results (limbs below 2^53 + 2^19) only
	 * feed mul, sq and the 128-bit multiplication by A24, which accept
	 * them; every operand of an add or subtract is carried. */
	for (int i = 254; i >= 0; i--) {
		uint64_t bit = (uint64_t)((k[i >> 3] >> (i & 7)) & 1);
		swap ^= bit;
		fe_cswap2(&x2, &z2, &x3, &z3, swap);
		swap = bit;

		sotto__fe_add_loose(&a, &x2, &z2);  /* A = x2 + z2 */
		sotto__fe_sub_loose(&b, &x2, &z2);  /* B = x2 - z2 */
		sotto__fe_add_loose(&c, &x3, &z3);  /* C = x3 + z3 */
		sotto__fe_sub_loose(&d, &x3, &z3);  /* D = x3 - z3 */
		sotto__fe_sq(&aa, &a);              /* AA = A^2 */
		sotto__fe_sq(&bb, &b);              /* BB = B^2 */
		sotto__fe_mul(&da, &d, &a);         /* DA = D * A */
		sotto__fe_mul(&cb, &c, &b);         /* CB = C * B */
		sotto__fe_sub_loose(&e, &aa, &bb);  /* E = AA - BB */
		sotto__fe_add_loose(&t, &da, &cb);
		sotto__fe_sq(&x3, &t);              /* x3 = (DA + CB)^2 */
		sotto__fe_sub_loose(&t, &da, &cb);
		sotto__fe_sq(&t, &t);
		sotto__fe_mul(&z3, &x1, &t);        /* z3 = x1 * (DA - CB)^2 */
		sotto__fe_mul(&x2, &aa, &bb);       /* x2 = AA * BB */
		fe_mul_a24(&t, &e);
		sotto__fe_add_loose(&t, &aa, &t);
		sotto__fe_mul(&z2, &e, &t);         /* z2 = E * (AA + a24 * E) */
	}
	fe_cswap2(&x2, &z2, &x3, &z3, swap);

	/* x2 / z2 = x2 * z2^(p-2); z2 = 0 (a low-order u) gives 0. */
	sotto__fe_invert(&z2, &z2);
	sotto__fe_mul(&x2, &x2, &z2);
	sotto__fe_tobytes(out, &x2);

	sotto_memzero(k, sizeof k);
	sotto_memzero(&x2, sizeof x2);
	sotto_memzero(&z2, sizeof z2);
	sotto_memzero(&x3, sizeof x3);
	sotto_memzero(&z3, sizeof z3);
	sotto_memzero(&a, sizeof a);
	sotto_memzero(&b, sizeof b);
	sotto_memzero(&c, sizeof c);
	sotto_memzero(&d, sizeof d);
	sotto_memzero(&aa, sizeof aa);
	sotto_memzero(&bb, sizeof bb);
	sotto_memzero(&e, sizeof e);
	sotto_memzero(&da, sizeof da);
	sotto_memzero(&cb, sizeof cb);
	sotto_memzero(&t, sizeof t);
	sotto_memzero(&swap, sizeof swap);
}

void sotto__x25519_u_from_edwards_y(uint8_t u[32], const uint8_t y_enc[32])
{
	sotto__fe y, one, num, den;
	sotto__fe_frombytes(&y, y_enc);
	sotto__fe_set_u32(&one, 1);
	sotto__fe_add(&num, &one, &y);
	sotto__fe_sub(&den, &one, &y);
	sotto__fe_invert(&den, &den);
	sotto__fe_mul(&num, &num, &den);
	sotto__fe_tobytes(u, &num);
	sotto_memzero(&y, sizeof y);
	sotto_memzero(&num, sizeof num);
	sotto_memzero(&den, sizeof den);
}

unsigned sotto__x25519_is_zero(const uint8_t s[32])
{
	unsigned acc = 0;
	for (int i = 0; i < 32; i++)
		acc |= s[i];
	/* acc is in [0, 255]: acc - 1 wraps to all ones only for acc = 0. */
	return ((acc - 1u) >> 8) & 1u;
}
