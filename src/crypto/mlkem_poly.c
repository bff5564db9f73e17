/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Arithmetic in R_q for ML-KEM (FIPS 203 sections 4.2.1, 4.3) and the byte
 * encodings of section 4.2.1. Reductions use Montgomery (R = 2^16) and Barrett
 * multiplications instead of '%' so that the running time is independent of
 * the coefficient values: the secret key, the noise and the message all pass
 * through here. */
#include "mlkem_poly.h"

#define Q SOTTO__MLKEM_Q
#define N SOTTO__MLKEM_N
#define QINV 62209 /* q^-1 mod 2^16 */
#define BARRETT_V 20159 /* round(2^26 / q) */
#define MONT_R2 1353 /* 2^32 mod q */
#define INVNTT_F 1441 /* 2^32 / 128 mod q: removes R^-1 and divides by 128 */

/* 17^BitRev7(i) * 2^16 mod q, centred (FIPS 203 Appendix A, Montgomery form).
 * Entry 0 is unused by the NTT. */
static const int16_t zetas[128] = {
	-1044, -758,  -359,  -1517, 1493,  1422,  287,	 202,	-171,  622,   1577,  182,   962,
	-1202, -1474, 1468,  573,   -1325, 264,	  383,	 -829,	1458,  -1602, -130,  -681,  1017,
	732,   608,   -1542, 411,   -205,  -1571, 1223,  652,	-552,  1015,  -1293, 1491,  -282,
	-1544, 516,   -8,    -320,  -666,  -1618, -1162, 126,	1469,  -853,  -90,   -271,  830,
	107,   -1421, -247,  -951,  -398,  961,	  -1508, -725,	448,   -1065, 677,   -1275, -1103,
	430,   555,   843,   -1251, 871,   1550,  105,	 422,	587,   177,   -235,  -291,  -460,
	1574,  1653,  -246,  778,   1159,  -147,  -777,	 1483,	-602,  1119,  -1590, 644,   -872,
	349,   418,   329,   -156,  -75,   817,	  1097,	 603,	610,   1322,  -1285, -1465, 384,
	-1215, -136,  1218,  -1335, -874,  220,	  -1187, -1659, -1185, -1530, -1278, 794,   -1510,
	-854,  -870,  478,   -108,  -308,  996,	  991,	 958,	-1460, 1522,  1628,
};

/* 17^(2 BitRev7(i) + 1) * 2^16 mod q, centred: the gamma of base-case pair i
 * (FIPS 203 Appendix A, second table, Montgomery form). */
static const int16_t gammas[128] = {
	-1103, 1103,  430,   -430,  555,   -555,  843,	 -843,	-1251, 1251,  871,   -871,  1550,
	-1550, 105,   -105,  422,   -422,  587,	  -587,	 177,	-177,  -235,  235,   -291,  291,
	-460,  460,   1574,  -1574, 1653,  -1653, -246,	 246,	778,   -778,  1159,  -1159, -147,
	147,   -777,  777,   1483,  -1483, -602,  602,	 1119,	-1119, -1590, 1590,  644,   -644,
	-872,  872,   349,   -349,  418,   -418,  329,	 -329,	-156,  156,   -75,   75,    817,
	-817,  1097,  -1097, 603,   -603,  610,	  -610,	 1322,	-1322, -1285, 1285,  -1465, 1465,
	384,   -384,  -1215, 1215,  -136,  136,	  1218,	 -1218, -1335, 1335,  -874,  874,   220,
	-220,  -1187, 1187,  -1659, 1659,  -1185, 1185,	 -1530, 1530,  -1278, 1278,  794,   -794,
	-1510, 1510,  -854,  854,   -870,  870,	  478,	 -478,	-108,  108,   -308,  308,   996,
	-996,  991,   -991,  958,   -958,  -1460, 1460,	 1522,	-1522, 1628,  -1628,
};

/* a * b * 2^-16 mod q (Montgomery), for |a * b| < q * 2^15; result in (-q, q).
 * Written in 16-bit halves: with t = lo16(a * b) * q^-1 mod 2^16, a * b - t * q
 * has zero low half, so the result is hi16(a * b) - hi16(t * q) exactly. This
 * is the shape compilers turn into SIMD high/low multiplies (pmulhw/pmullw),
 * which is what makes the NTT fast without hand-written intrinsics. The
 * conversions to int16_t wrap and the right shifts of negative values are
 * arithmetic on every compiler this project supports (gcc, clang). */
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

static ALWAYS_INLINE int16_t fqmul(int16_t a, int16_t b)
{
	int32_t p = (int32_t)a * b;
	int16_t t = (int16_t)(uint16_t)((uint32_t)p * QINV);
	int16_t hi = (int16_t)(p >> 16);
	return (int16_t)(hi - (int16_t)(((int32_t)t * Q) >> 16));
}

/* A representative of a mod q in about [-q/2, q/2]: subtracts round(a/q) * q,
 * with round(a/q) = floor((a * round(2^26/q) + 2^25) / 2^26) taken as the high
 * half of a 16x16-bit product and a second shift, again in vectorisable form
 * (floor(floor(x / 2^16) / 2^10) = floor(x / 2^26)). */
static ALWAYS_INLINE int16_t barrett(int16_t a)
{
	int16_t hi = (int16_t)(((int32_t)a * BARRETT_V) >> 16);
	int16_t t = (int16_t)((hi + 512) >> 10);
	return (int16_t)(a - t * Q);
}

/* Canonical representative in [0, q) of a value in (-q, q): adds q when the
 * sign bit is set, through a mask rather than a branch. */
static inline uint16_t to_canon(int16_t a)
{
	uint16_t u = (uint16_t)a;
	return (uint16_t)(u + ((uint16_t)(0u - (u >> 15)) & Q));
}

void sotto__mlkem_poly_add(sotto__mlkem_poly *r, const sotto__mlkem_poly *a,
			   const sotto__mlkem_poly *b)
{
	for (size_t i = 0; i < N; i++)
		r->c[i] = (int16_t)(a->c[i] + b->c[i]);
}

void sotto__mlkem_poly_sub(sotto__mlkem_poly *r, const sotto__mlkem_poly *a,
			   const sotto__mlkem_poly *b)
{
	for (size_t i = 0; i < N; i++)
		r->c[i] = (int16_t)(a->c[i] - b->c[i]);
}

void sotto__mlkem_poly_reduce(sotto__mlkem_poly *r)
{
	for (size_t i = 0; i < N; i++)
		r->c[i] = barrett(r->c[i]);
}

void sotto__mlkem_poly_canon(sotto__mlkem_poly *r)
{
	for (size_t i = 0; i < N; i++)
		r->c[i] = (int16_t)to_canon(barrett(r->c[i]));
}

void sotto__mlkem_poly_tomont(sotto__mlkem_poly *r)
{
	for (size_t i = 0; i < N; i++)
		r->c[i] = fqmul(r->c[i], MONT_R2);
}

/* One layer of Algorithm 9. Called with a constant len, so that after
 * inlining the inner loop has a known trip count and no aliasing question,
 * which lets the compiler vectorise it even at -O2. */
static ALWAYS_INLINE void ntt_layer(int16_t *f, size_t len, size_t *k)
{
	for (size_t start = 0; start < N; start += 2 * len) {
		int16_t z = zetas[(*k)++];
		int16_t *lo = f + start, *hi = f + start + len;
		for (size_t j = 0; j < len; j++) {
			int16_t t = fqmul(z, hi[j]);
			hi[j] = (int16_t)(lo[j] - t);
			lo[j] = (int16_t)(lo[j] + t);
		}
	}
}

void sotto__mlkem_ntt(sotto__mlkem_poly *r)
{
	size_t k = 1;
	/* Each layer grows coefficients by less than q, so seven layers on input
	 * below q stay below 8q < 2^15. */
	ntt_layer(r->c, 128, &k);
	ntt_layer(r->c, 64, &k);
	ntt_layer(r->c, 32, &k);
	ntt_layer(r->c, 16, &k);
	ntt_layer(r->c, 8, &k);
	ntt_layer(r->c, 4, &k);
	ntt_layer(r->c, 2, &k);
	sotto__mlkem_poly_reduce(r);
}

/* One layer of Algorithm 10 (Gentleman-Sande butterflies). The sums are
 * reduced only where the bound requires it (reduce set): starting from
 * |x| <= (q+1)/2, each layer at most doubles the bound of the sums while the
 * differences come back from fqmul below q, so after layers of len 2, 4, 8, 16
 * the sums stay below 16 * 1665 = 26640 < 2^15; one Barrett reduction in the
 * len-16 layer brings them back under q and three more layers reach at most
 * 8 * 3329 = 26632. */
static ALWAYS_INLINE void invntt_layer(int16_t *f, size_t len, size_t *k, int reduce)
{
	for (size_t start = 0; start < N; start += 2 * len) {
		int16_t z = zetas[(*k)--];
		int16_t *lo = f + start, *hi = f + start + len;
		for (size_t j = 0; j < len; j++) {
			int16_t t = lo[j];
			int16_t sum = (int16_t)(t + hi[j]);
			lo[j] = reduce ? barrett(sum) : sum;
			hi[j] = fqmul(z, (int16_t)(hi[j] - t));
		}
	}
}

void sotto__mlkem_invntt_frommont(sotto__mlkem_poly *r)
{
	size_t k = 127;
	sotto__mlkem_poly_reduce(r);
	invntt_layer(r->c, 2, &k, 0);
	invntt_layer(r->c, 4, &k, 0);
	invntt_layer(r->c, 8, &k, 0);
	invntt_layer(r->c, 16, &k, 1);
	invntt_layer(r->c, 32, &k, 0);
	invntt_layer(r->c, 64, &k, 0);
	invntt_layer(r->c, 128, &k, 0);
	for (size_t j = 0; j < N; j++)
		r->c[j] = fqmul(r->c[j], INVNTT_F);
}

void sotto__mlkem_basemul(sotto__mlkem_poly *r, const sotto__mlkem_poly *a,
			  const sotto__mlkem_poly *b)
{
	for (size_t i = 0; i < N / 2; i++) {
		int16_t a0 = a->c[2 * i], a1 = a->c[2 * i + 1];
		int16_t b0 = b->c[2 * i], b1 = b->c[2 * i + 1];
		r->c[2 * i] = (int16_t)(fqmul(a0, b0) + fqmul(fqmul(a1, b1), gammas[i]));
		r->c[2 * i + 1] = (int16_t)(fqmul(a0, b1) + fqmul(a1, b0));
	}
}

void sotto__mlkem_basemul_acc(sotto__mlkem_poly *r, const sotto__mlkem_poly *a,
			      const sotto__mlkem_poly *b)
{
	for (size_t i = 0; i < N / 2; i++) {
		int16_t a0 = a->c[2 * i], a1 = a->c[2 * i + 1];
		int16_t b0 = b->c[2 * i], b1 = b->c[2 * i + 1];
		r->c[2 * i] = (int16_t)(r->c[2 * i] + fqmul(a0, b0) +
					fqmul(fqmul(a1, b1), gammas[i]));
		r->c[2 * i + 1] = (int16_t)(r->c[2 * i + 1] + fqmul(a0, b1) + fqmul(a1, b0));
	}
}

void sotto__mlkem_poly_tobytes(uint8_t out[SOTTO__MLKEM_POLY_BYTES], const sotto__mlkem_poly *a)
{
	for (size_t i = 0; i < N / 2; i++) {
		uint16_t x = (uint16_t)a->c[2 * i], y = (uint16_t)a->c[2 * i + 1];
		out[3 * i] = (uint8_t)x;
		out[3 * i + 1] = (uint8_t)((x >> 8) | (y << 4));
		out[3 * i + 2] = (uint8_t)(y >> 4);
	}
}

void sotto__mlkem_poly_frombytes(sotto__mlkem_poly *r, const uint8_t in[SOTTO__MLKEM_POLY_BYTES])
{
	for (size_t i = 0; i < N / 2; i++) {
		uint16_t b0 = in[3 * i], b1 = in[3 * i + 1], b2 = in[3 * i + 2];
		r->c[2 * i] = (int16_t)(b0 | ((b1 & 0x0f) << 8));
		r->c[2 * i + 1] = (int16_t)((b1 >> 4) | (b2 << 4));
	}
}

int sotto__mlkem_poly_frombytes_checked(sotto__mlkem_poly *r,
					const uint8_t in[SOTTO__MLKEM_POLY_BYTES])
{
	sotto__mlkem_poly_frombytes(r, in);
	/* Accumulate instead of returning early: the input is public, but there
	 * is no reason to make the time depend on where an error sits. */
	uint16_t bad = 0;
	for (size_t i = 0; i < N; i++)
		bad |= (uint16_t)(((uint16_t)(Q - 1) - (uint16_t)r->c[i]) >> 15);
	return bad ? -1 : 0;
}

/* Compress_d(x) = round(2^d x / q) mod 2^d = floor((2^(d+1) x + q) / 2q) mod 2^d.
 * The division by 2q is a multiplication by ceil(2^40 / 2q) and a shift: the
 * numerator is below 2^24, and for numerators below 2^40 / 2q the rounded-up
 * reciprocal gives the exact floor. Division instructions are avoided because
 * their latency depends on the operands on many CPUs. */
#define COMPRESS_SHIFT 40
#define COMPRESS_MUL ((((uint64_t)1 << COMPRESS_SHIFT) + 2 * Q - 1) / (2 * Q))

static ALWAYS_INLINE uint16_t compress_coeff(uint16_t x, unsigned d)
{
	uint64_t num = ((uint64_t)x << (d + 1)) + Q;
	return (uint16_t)(((num * COMPRESS_MUL) >> COMPRESS_SHIFT) & ((1u << d) - 1));
}

uint16_t sotto__mlkem_compress_coeff(uint16_t x, unsigned d)
{
	return compress_coeff(x, d);
}

/* Decompress_d(y) = round(q y / 2^d); y is at most 11 bits, so this fits. */
static ALWAYS_INLINE int16_t decompress_coeff(uint32_t y, unsigned d)
{
	return (int16_t)((y * Q + (1u << (d - 1))) >> d);
}

/* ByteEncode_d / ByteDecode_d pack values little-endian, d bits each; eight
 * values fill exactly d bytes, so both work on groups of eight through a
 * 64-bit accumulator (at most 88 bits: for d = 11 the first 64 bits are
 * flushed before the rest is added). Positions depend only on d and the
 * index, never on the values. */
static ALWAYS_INLINE void compress_d(uint8_t *out, const sotto__mlkem_poly *a, unsigned d)
{
	for (size_t g = 0; g < N / 8; g++) {
		uint16_t t[8];
		for (size_t i = 0; i < 8; i++)
			t[i] = compress_coeff((uint16_t)a->c[8 * g + i], d);
		uint64_t acc = 0;
		unsigned bits = 0;
		uint8_t *o = out + d * g;
		for (size_t i = 0; i < 8; i++) {
			if (bits + d > 64) {
				for (unsigned b = 0; b < bits / 8; b++)
					*o++ = (uint8_t)(acc >> (8 * b));
				acc >>= 8 * (bits / 8);
				bits %= 8;
			}
			acc |= (uint64_t)t[i] << bits;
			bits += d;
		}
		for (unsigned b = 0; b < bits / 8; b++)
			*o++ = (uint8_t)(acc >> (8 * b));
	}
}

/* Dispatches to copies specialised for each constant d, which the compiler
 * unrolls into straight-line shifts. */
void sotto__mlkem_poly_compress(uint8_t *out, const sotto__mlkem_poly *a, unsigned d)
{
	switch (d) {
	case 1: compress_d(out, a, 1); break;
	case 4: compress_d(out, a, 4); break;
	case 5: compress_d(out, a, 5); break;
	case 10: compress_d(out, a, 10); break;
	case 11: compress_d(out, a, 11); break;
	default: compress_d(out, a, d); break;
	}
}

static ALWAYS_INLINE void decompress_d(sotto__mlkem_poly *r, const uint8_t *in, unsigned d)
{
	const uint32_t mask = (1u << d) - 1;
	for (size_t g = 0; g < N / 8; g++) {
		const uint8_t *p = in + d * g;
		uint64_t lo = 0, hi = 0;
		/* d bytes: up to 8 in lo, the rest (d = 10, 11) in hi. */
		for (unsigned b = 0; b < d && b < 8; b++)
			lo |= (uint64_t)p[b] << (8 * b);
		for (unsigned b = 8; b < d; b++)
			hi |= (uint64_t)p[b] << (8 * (b - 8));
		for (unsigned i = 0; i < 8; i++) {
			unsigned pos = d * i;
			uint64_t v;
			if (pos >= 64)
				v = hi >> (pos - 64);
			else if (pos + d > 64)
				v = (lo >> pos) | (hi << (64 - pos));
			else
				v = lo >> pos;
			r->c[8 * g + i] = decompress_coeff((uint32_t)v & mask, d);
		}
	}
}

void sotto__mlkem_poly_decompress(sotto__mlkem_poly *r, const uint8_t *in, unsigned d)
{
	switch (d) {
	case 1: decompress_d(r, in, 1); break;
	case 4: decompress_d(r, in, 4); break;
	case 5: decompress_d(r, in, 5); break;
	case 10: decompress_d(r, in, 10); break;
	case 11: decompress_d(r, in, 11); break;
	default: decompress_d(r, in, d); break;
	}
}

void sotto__mlkem_cbd2(sotto__mlkem_poly *r, const uint8_t buf[128])
{
	/* Each coefficient uses four bits: x = b0 + b1, y = b2 + b3, f = x - y.
	 * Adding the odd bits onto the even ones sums the pairs in place; one
	 * byte gives two coefficients. */
	for (size_t i = 0; i < N / 2; i++) {
		uint8_t b = buf[i];
		uint8_t s = (uint8_t)((b & 0x55) + ((b >> 1) & 0x55));
		r->c[2 * i] = (int16_t)((s & 3) - ((s >> 2) & 3));
		r->c[2 * i + 1] = (int16_t)(((s >> 4) & 3) - ((s >> 6) & 3));
	}
}

size_t sotto__mlkem_sample_ntt(sotto__mlkem_poly *r, const uint8_t *buf, size_t len)
{
	size_t j = 0;
	for (size_t pos = 0; j < N && pos + 3 <= len; pos += 3) {
		uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0f) << 8));
		uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));
		if (d1 < Q)
			r->c[j++] = (int16_t)d1;
		if (d2 < Q && j < N)
			r->c[j++] = (int16_t)d2;
	}
	return j;
}
