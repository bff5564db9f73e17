/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* GF(2^16) and the SPQR erasure code (signal-protocol-facts.md §5.7).
 *
 * Multiplication and inversion use log/exp tables. That is acceptable here
 * and only here: GF(2^16) in this library handles public wire data only (the
 * erasure code over ML-KEM headers, public keys, ciphertexts and their MACs,
 * see gf16.h), so data-dependent table lookups leak nothing. It must never be
 * reused for secrets. The tables (2 x 128 KiB) are computed on first use under
 * pthread_once; the 31-step shift-and-add multiply they replace made the
 * first parity chunk of every SPQR stream cost milliseconds. */
#include "crypto/gf16.h"

#include <pthread.h>
#include <string.h>

#include "sotto/error.h"

/* log_t[a] for a != 0 (log_t[0] unused); exp_t[i] = g^i for i in 0..65535,
 * where exp_t[65535] = exp_t[0] = 1 so that a folded sum of two logs (range
 * 0..65535) indexes it directly. */
static uint16_t log_t[1u << 16];
static uint16_t exp_t[1u << 16];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static int tables_ok;

/* Shift-and-add product, used only to build the tables. */
static uint16_t mul_slow(uint16_t a, uint16_t b)
{
	uint32_t r = 0;

	for (unsigned i = 0; i < 16; i++)
		if ((b >> i) & 1u)
			r ^= (uint32_t)a << i;
	for (unsigned i = 30; i >= 16; i--)
		if ((r >> i) & 1u)
			r ^= SOTTO_GF16_POLY << (i - 16);
	return (uint16_t)r;
}

/* Finds a generator of the multiplicative group (order 65535) instead of
 * assuming one: g generates iff its powers hit 1 only at 65535. */
static void tables_init(void)
{
	for (uint32_t g = 2; g < 0x10000u; g++) {
		uint16_t v = 1;
		uint32_t i;

		for (i = 0; i < 0xFFFFu; i++) {
			exp_t[i] = v;
			log_t[v] = (uint16_t)i;
			if (g == 2) /* x: one shift and a reduction */
				v = (uint16_t)(((uint32_t)v << 1) ^ ((v >> 15) ? SOTTO_GF16_POLY : 0));
			else
				v = mul_slow(v, (uint16_t)g);
			if (v == 1)
				break;
		}
		if (i == 0xFFFEu) {
			exp_t[0xFFFFu] = 1;
			tables_ok = 1;
			return;
		}
	}
}

static void tables(void)
{
	/* pthread_once fails only on invalid arguments; the fallback below
	 * keeps the result right even then. */
	(void)pthread_once(&tables_once, tables_init);
}

static inline uint16_t mul_t(uint16_t a, uint16_t b)
{
	uint32_t s;

	if (a == 0 || b == 0)
		return 0;
	s = (uint32_t)log_t[a] + log_t[b]; /* 0..131068 */
	s = (s & 0xFFFFu) + (s >> 16);     /* mod 65535, as 2^16 = 1; 0..65535 */
	return exp_t[s];
}

uint16_t sotto__gf16_mul(uint16_t a, uint16_t b)
{
	tables();
	if (!tables_ok)
		return mul_slow(a, b);
	return mul_t(a, b);
}

uint16_t sotto__gf16_inv(uint16_t a)
{
	tables();
	if (a == 0)
		return 0;
	if (!tables_ok) {
		/* a^(2^16 - 2) by square-and-multiply. */
		uint16_t r = 1, base = a;

		for (uint32_t e = 0xFFFEu; e != 0; e >>= 1) {
			if (e & 1u)
				r = mul_slow(r, base);
			base = mul_slow(base, base);
		}
		return r;
	}
	return exp_t[0xFFFFu - log_t[a]]; /* exp_t[65535] = 1 = 1^-1 */
}

/* For the loops below, after tables() ran at the entry point. */
static inline uint16_t gmul(uint16_t a, uint16_t b)
{
	return tables_ok ? mul_t(a, b) : mul_slow(a, b);
}

/* Points of polynomial p for a message of len bytes: symbols p, p+16, ... */
static unsigned points_for(uint32_t len, unsigned p)
{
	uint32_t syms = len / 2;
	return (unsigned)(syms / SOTTO_GF16_NUM_POLYS + (p < syms % SOTTO_GF16_NUM_POLYS ? 1 : 0));
}

static int check_len(size_t len)
{
	if (len < 2 || len % 2 != 0 || len > SOTTO_GF16_MAX_MSG_BYTES)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return 0;
}

/* Coefficients c[0..k-1] of the polynomial of degree < k through the k points
 * (xs[i], ys[i]) with distinct xs. Lagrange form, summed in the monomial basis:
 * with M(x) = prod (x - x_j), the i-th basis polynomial is M(x) / (x - x_i)
 * divided by its value at x_i. Subtraction is XOR in characteristic 2. */
static void interpolate(uint16_t *c, const uint16_t *xs, const uint16_t *ys, unsigned k)
{
	uint16_t m[SOTTO_GF16_MAX_POINTS + 1];
	uint16_t q[SOTTO_GF16_MAX_POINTS];

	memset(c, 0, k * sizeof c[0]);
	/* M(x), built one factor at a time; m[t] is the coefficient of x^t. */
	memset(m, 0, sizeof m);
	m[0] = 1;
	for (unsigned j = 0; j < k; j++) {
		/* multiply by (x + x_j) */
		for (unsigned t = j + 1; t > 0; t--)
			m[t] = (uint16_t)(m[t - 1] ^ gmul(m[t], xs[j]));
		m[0] = gmul(m[0], xs[j]);
	}
	for (unsigned i = 0; i < k; i++) {
		/* Synthetic division of M by (x + x_i): q has degree k - 1. */
		q[k - 1] = m[k];
		for (unsigned t = k - 1; t > 0; t--)
			q[t - 1] = (uint16_t)(m[t] ^ gmul(xs[i], q[t]));
		uint16_t d = 1;
		for (unsigned j = 0; j < k; j++) {
			if (j != i)
				d = gmul(d, (uint16_t)(xs[i] ^ xs[j]));
		}
		uint16_t scale = gmul(ys[i], sotto__gf16_inv(d));
		for (unsigned t = 0; t < k; t++)
			c[t] ^= gmul(scale, q[t]);
	}
}

static uint16_t horner(const uint16_t *c, unsigned k, uint16_t x)
{
	uint16_t r = 0;

	for (unsigned t = k; t > 0; t--)
		r = (uint16_t)(gmul(r, x) ^ c[t - 1]);
	return r;
}

int sotto__gf16_encoder_init(sotto_gf16_encoder *enc, const uint8_t *msg, size_t len)
{
	uint16_t xs[SOTTO_GF16_MAX_POINTS], ys[SOTTO_GF16_MAX_POINTS];
	int rc = check_len(len);

	if (rc != 0)
		return rc;
	tables();
	memset(enc, 0, sizeof *enc);
	enc->len = (uint32_t)len;
	for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++) {
		unsigned k = points_for(enc->len, p);

		for (unsigned x = 0; x < k; x++) {
			size_t off = 2 * ((size_t)x * SOTTO_GF16_NUM_POLYS + p);
			xs[x] = (uint16_t)x;
			ys[x] = (uint16_t)((msg[off] << 8) | msg[off + 1]);
		}
		enc->npts[p] = (uint8_t)k;
		interpolate(enc->coef[p], xs, ys, k);
	}
	return 0;
}

void sotto__gf16_encoder_chunk(const sotto_gf16_encoder *enc, uint16_t index,
			       uint8_t out[SOTTO_GF16_CHUNK_BYTES])
{
	tables();
	for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++) {
		uint16_t v = horner(enc->coef[p], enc->npts[p], index);
		out[2 * p] = (uint8_t)(v >> 8);
		out[2 * p + 1] = (uint8_t)v;
	}
}

int sotto__gf16_decoder_init(sotto_gf16_decoder *dec, size_t len)
{
	int rc = check_len(len);

	if (rc != 0)
		return rc;
	memset(dec, 0, sizeof *dec);
	dec->len = (uint32_t)len;
	for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++)
		dec->need[p] = (uint8_t)points_for(dec->len, p);
	return 0;
}

void sotto__gf16_decoder_add(sotto_gf16_decoder *dec, uint16_t index,
			     const uint8_t data[SOTTO_GF16_CHUNK_BYTES])
{
	for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++) {
		unsigned n = dec->count[p], need = dec->need[p], pos = 0;
		uint16_t y = (uint16_t)((data[2 * p] << 8) | data[2 * p + 1]);

		/* A polynomial with no points at all (a message shorter than 32
		 * bytes) never takes any. Parity points are only useful while
		 * points are missing; this bound also keeps count <= 2 * need. */
		if (need == 0 || (index >= need && n >= need))
			continue;
		while (pos < n && dec->x[p][pos] < index)
			pos++;
		if (pos < n && dec->x[p][pos] == index) {
			dec->y[p][pos] = y;
			continue;
		}
		memmove(&dec->x[p][pos + 1], &dec->x[p][pos], (n - pos) * sizeof(uint16_t));
		memmove(&dec->y[p][pos + 1], &dec->y[p][pos], (n - pos) * sizeof(uint16_t));
		dec->x[p][pos] = index;
		dec->y[p][pos] = y;
		dec->count[p] = (uint8_t)(n + 1);
	}
}

int sotto__gf16_decoder_complete(const sotto_gf16_decoder *dec)
{
	for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++) {
		if (dec->count[p] < dec->need[p])
			return 0;
	}
	return 1;
}

int sotto__gf16_decoder_finish(const sotto_gf16_decoder *dec, uint8_t *out, size_t outlen)
{
	uint16_t coef[SOTTO_GF16_MAX_POINTS];

	if (outlen != dec->len)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (!sotto__gf16_decoder_complete(dec))
		return SOTTO_ERR_NOT_FOUND;
	tables();
	for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++) {
		unsigned need = dec->need[p];
		int interpolated = 0;

		for (unsigned x = 0; x < need; x++) {
			uint16_t v = 0;
			int found = 0;

			/* A received systematic point is taken as is, like libsignal
			 * does, even if parity chunks disagree with it. */
			for (unsigned i = 0; i < dec->count[p] && dec->x[p][i] <= x; i++) {
				if (dec->x[p][i] == x) {
					v = dec->y[p][i];
					found = 1;
				}
			}
			if (!found) {
				if (!interpolated) {
					interpolate(coef, dec->x[p], dec->y[p], need);
					interpolated = 1;
				}
				v = horner(coef, need, (uint16_t)x);
			}
			size_t off = 2 * ((size_t)x * SOTTO_GF16_NUM_POLYS + p);
			out[off] = (uint8_t)(v >> 8);
			out[off + 1] = (uint8_t)v;
		}
	}
	return 0;
}
