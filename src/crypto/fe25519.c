/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* GF(2^255 - 19) in radix 2^51 (see fe25519.h). 2^255 = 19 mod p, so a
 * product term that lands at limb 5 + i folds back into limb i times 19. */
#include "fe25519.h"

#include <string.h>

static uint64_t load64_le(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--)
		x = (x << 8) | p[i];
	return x;
}

void sotto__fe_frombytes(sotto__fe *h, const uint8_t s[32])
{
	uint64_t w0 = load64_le(s), w1 = load64_le(s + 8), w2 = load64_le(s + 16),
		 w3 = load64_le(s + 24);
	h->v[0] = w0 & SOTTO__FE_MASK51;
	h->v[1] = ((w0 >> 51) | (w1 << 13)) & SOTTO__FE_MASK51;
	h->v[2] = ((w1 >> 38) | (w2 << 26)) & SOTTO__FE_MASK51;
	h->v[3] = ((w2 >> 25) | (w3 << 39)) & SOTTO__FE_MASK51;
	h->v[4] = (w3 >> 12) & SOTTO__FE_MASK51; /* drops bit 255 */
}

void sotto__fe_tobytes(uint8_t s[32], const sotto__fe *f)
{
	uint64_t h[5];
	memcpy(h, f->v, sizeof h);
	/* Two passes leave limbs 1..4 below 2^51 and limb 0 below 2^51 + 19,
	 * so the value is below 2^255 + 19 < 2p. */
	sotto__fe_carry(h);
	sotto__fe_carry(h);
	/* q = 1 iff value >= p, i.e. value + 19 >= 2^255. */
	uint64_t q = (h[0] + 19) >> 51;
	q = (h[1] + q) >> 51;
	q = (h[2] + q) >> 51;
	q = (h[3] + q) >> 51;
	q = (h[4] + q) >> 51;
	/* value - q*p = value + 19q - q*2^255: add 19q, carry, drop bit 255. */
	h[0] += 19 * q;
	h[1] += h[0] >> 51;
	h[0] &= SOTTO__FE_MASK51;
	h[2] += h[1] >> 51;
	h[1] &= SOTTO__FE_MASK51;
	h[3] += h[2] >> 51;
	h[2] &= SOTTO__FE_MASK51;
	h[4] += h[3] >> 51;
	h[3] &= SOTTO__FE_MASK51;
	h[4] &= SOTTO__FE_MASK51;
	uint64_t w[4] = {
		h[0] | (h[1] << 51),
		(h[1] >> 13) | (h[2] << 38),
		(h[2] >> 26) | (h[3] << 25),
		(h[3] >> 39) | (h[4] << 12),
	};
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 8; j++)
			s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
	}
}

void sotto__fe_set_u32(sotto__fe *h, uint32_t x)
{
	h->v[0] = x;
	h->v[1] = h->v[2] = h->v[3] = h->v[4] = 0;
}

void sotto__fe_sqn(sotto__fe *h, const sotto__fe *f, unsigned n)
{
	sotto__fe_sq(h, f);
	while (--n > 0)
		sotto__fe_sq(h, h);
}

/* The shared start of both exponent chains: returns z^(2^250 - 1) in t250
 * and z^11 in z11. */
static void pow_2_250_1(sotto__fe *t250, sotto__fe *z11, const sotto__fe *z)
{
	sotto__fe z2, z9, t, t5, t10, t20, t50, t100;
	sotto__fe_sq(&z2, z);              /* 2 */
	sotto__fe_sqn(&t, &z2, 2);         /* 8 */
	sotto__fe_mul(&z9, &t, z);         /* 9 */
	sotto__fe_mul(z11, &z9, &z2);      /* 11 */
	sotto__fe_sq(&t, z11);             /* 22 */
	sotto__fe_mul(&t5, &t, &z9);       /* 31 = 2^5 - 1 */
	sotto__fe_sqn(&t, &t5, 5);         /* 2^10 - 2^5 */
	sotto__fe_mul(&t10, &t, &t5);      /* 2^10 - 1 */
	sotto__fe_sqn(&t, &t10, 10);       /* 2^20 - 2^10 */
	sotto__fe_mul(&t20, &t, &t10);     /* 2^20 - 1 */
	sotto__fe_sqn(&t, &t20, 20);       /* 2^40 - 2^20 */
	sotto__fe_mul(&t, &t, &t20);       /* 2^40 - 1 */
	sotto__fe_sqn(&t, &t, 10);         /* 2^50 - 2^10 */
	sotto__fe_mul(&t50, &t, &t10);     /* 2^50 - 1 */
	sotto__fe_sqn(&t, &t50, 50);       /* 2^100 - 2^50 */
	sotto__fe_mul(&t100, &t, &t50);    /* 2^100 - 1 */
	sotto__fe_sqn(&t, &t100, 100);     /* 2^200 - 2^100 */
	sotto__fe_mul(&t, &t, &t100);      /* 2^200 - 1 */
	sotto__fe_sqn(&t, &t, 50);         /* 2^250 - 2^50 */
	sotto__fe_mul(t250, &t, &t50);     /* 2^250 - 1 */
}

void sotto__fe_invert(sotto__fe *h, const sotto__fe *f)
{
	sotto__fe t, z11;
	pow_2_250_1(&t, &z11, f);
	sotto__fe_sqn(&t, &t, 5);  /* 2^255 - 2^5 */
	sotto__fe_mul(h, &t, &z11); /* 2^255 - 21 = p - 2 */
}

void sotto__fe_pow22523(sotto__fe *h, const sotto__fe *f)
{
	sotto__fe t, z11;
	pow_2_250_1(&t, &z11, f);
	sotto__fe_sqn(&t, &t, 2); /* 2^252 - 4 */
	sotto__fe_mul(h, &t, f);  /* 2^252 - 3 = (p - 5)/8 */
}

int sotto__fe_iszero(const sotto__fe *f)
{
	uint8_t s[32];
	uint8_t acc = 0;
	sotto__fe_tobytes(s, f);
	for (int i = 0; i < 32; i++)
		acc |= s[i];
	return acc == 0;
}

int sotto__fe_isnegative(const sotto__fe *f)
{
	uint8_t s[32];
	sotto__fe_tobytes(s, f);
	return s[0] & 1;
}

int sotto__fe_eq(const sotto__fe *f, const sotto__fe *g)
{
	sotto__fe d;
	sotto__fe_sub(&d, f, g);
	return sotto__fe_iszero(&d);
}
