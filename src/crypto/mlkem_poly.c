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

/* a * 2^-16 mod q for |a| < q * 2^15; result in (-q, q). The low half of
 * a * q^-1 is computed in unsigned arithmetic so that nothing overflows. */
static inline int16_t mont_reduce(int32_t a)
{
	uint16_t lo = (uint16_t)((uint32_t)a * QINV);
	int16_t t = (int16_t)(lo >= 0x8000u ? (int32_t)lo - 0x10000 : (int32_t)lo);
	return (int16_t)((a - (int32_t)t * Q) / 65536);
}

static inline int16_t fqmul(int16_t a, int16_t b)
{
	return mont_reduce((int32_t)a * b);
}

/* A representative of a mod q in about [-q/2, q/2]: subtracts round(a/q) * q,
 * with round(a/q) from a multiplication by round(2^26/q). */
static inline int16_t barrett(int16_t a)
{
	int32_t t = ((int32_t)BARRETT_V * a + (1 << 25)) >> 26;
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

void sotto__mlkem_ntt(sotto__mlkem_poly *r)
{
	int16_t *f = r->c;
	size_t k = 1;
	/* Each layer grows coefficients by less than q, so seven layers on input
	 * below q stay below 8q < 2^15. */
	for (size_t len = 128; len >= 2; len >>= 1) {
		for (size_t start = 0; start < N; start += 2 * len) {
			int16_t z = zetas[k++];
			for (size_t j = start; j < start + len; j++) {
				int16_t t = fqmul(z, f[j + len]);
				f[j + len] = (int16_t)(f[j] - t);
				f[j] = (int16_t)(f[j] + t);
			}
		}
	}
	sotto__mlkem_poly_reduce(r);
}

void sotto__mlkem_invntt_frommont(sotto__mlkem_poly *r)
{
	int16_t *f = r->c;
	size_t k = 127;
	sotto__mlkem_poly_reduce(r);
	for (size_t len = 2; len <= 128; len <<= 1) {
		for (size_t start = 0; start < N; start += 2 * len) {
			int16_t z = zetas[k--];
			for (size_t j = start; j < start + len; j++) {
				int16_t t = f[j];
				f[j] = barrett((int16_t)(t + f[j + len]));
				f[j + len] = fqmul(z, (int16_t)(f[j + len] - t));
			}
		}
	}
	for (size_t j = 0; j < N; j++)
		f[j] = fqmul(f[j], INVNTT_F);
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

uint16_t sotto__mlkem_compress_coeff(uint16_t x, unsigned d)
{
	uint64_t num = ((uint64_t)x << (d + 1)) + Q;
	return (uint16_t)(((num * COMPRESS_MUL) >> COMPRESS_SHIFT) & ((1u << d) - 1));
}

/* Decompress_d(y) = round(q y / 2^d); y is at most 11 bits, so this fits. */
static inline int16_t decompress_coeff(uint32_t y, unsigned d)
{
	return (int16_t)((y * Q + (1u << (d - 1))) >> d);
}

void sotto__mlkem_poly_compress(uint8_t *out, const sotto__mlkem_poly *a, unsigned d)
{
	/* Generic little-endian bit packer (ByteEncode_d): the bit positions
	 * depend only on d and the index, never on the values. */
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < N; i++) {
		acc |= (uint32_t)sotto__mlkem_compress_coeff((uint16_t)a->c[i], d) << bits;
		bits += d;
		while (bits >= 8) {
			out[o++] = (uint8_t)acc;
			acc >>= 8;
			bits -= 8;
		}
	}
}

void sotto__mlkem_poly_decompress(sotto__mlkem_poly *r, const uint8_t *in, unsigned d)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	uint32_t mask = (1u << d) - 1;
	for (size_t i = 0; i < N; i++) {
		while (bits < d) {
			acc |= (uint32_t)in[o++] << bits;
			bits += 8;
		}
		r->c[i] = decompress_coeff(acc & mask, d);
		acc >>= d;
		bits -= d;
	}
}

void sotto__mlkem_cbd2(sotto__mlkem_poly *r, const uint8_t buf[128])
{
	/* Each coefficient uses four bits: x = b0 + b1, y = b2 + b3, f = x - y.
	 * Adding the odd bits onto the even ones sums the pairs in place. */
	for (size_t i = 0; i < N / 8; i++) {
		uint32_t t = (uint32_t)buf[4 * i] | ((uint32_t)buf[4 * i + 1] << 8) |
			     ((uint32_t)buf[4 * i + 2] << 16) | ((uint32_t)buf[4 * i + 3] << 24);
		uint32_t s = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);
		for (size_t j = 0; j < 8; j++) {
			int16_t x = (int16_t)((s >> (4 * j)) & 3);
			int16_t y = (int16_t)((s >> (4 * j + 2)) & 3);
			r->c[8 * i + j] = (int16_t)(x - y);
		}
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
