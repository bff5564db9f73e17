/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: the polynomial ring R_q = Z_3329[X]/(X^256 + 1) of FIPS 203 and the
 * encodings ML-KEM and round-3 Kyber share. Nothing here branches on or
 * indexes memory by coefficient values, except sotto__mlkem_sample_ntt (public
 * input only) and sotto__mlkem_poly_frombytes_checked (public keys only).
 *
 * Coefficients are int16_t. Unless a function says otherwise a polynomial's
 * coefficients are bounded by 2^15 in absolute value and are not canonical;
 * sotto__mlkem_poly_canon makes them canonical ([0, q)) before encoding. */
#ifndef SOTTO_CRYPTO_MLKEM_POLY_H
#define SOTTO_CRYPTO_MLKEM_POLY_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define SOTTO__MLKEM_N 256
#define SOTTO__MLKEM_Q 3329
#define SOTTO__MLKEM_POLY_BYTES 384 /* ByteEncode12 */

typedef struct sotto__mlkem_poly {
	int16_t c[SOTTO__MLKEM_N];
} sotto__mlkem_poly;

/* Coefficient-wise arithmetic (no reduction). */
SOTTO_HIDDEN void sotto__mlkem_poly_add(sotto__mlkem_poly *r, const sotto__mlkem_poly *a,
					const sotto__mlkem_poly *b);
SOTTO_HIDDEN void sotto__mlkem_poly_sub(sotto__mlkem_poly *r, const sotto__mlkem_poly *a,
					const sotto__mlkem_poly *b);
/* Barrett reduction of every coefficient to a small representative. */
SOTTO_HIDDEN void sotto__mlkem_poly_reduce(sotto__mlkem_poly *r);
/* Every coefficient to its canonical representative in [0, q). */
SOTTO_HIDDEN void sotto__mlkem_poly_canon(sotto__mlkem_poly *r);
/* Multiplies by the Montgomery factor R = 2^16 (undoes the R^-1 a base-case
 * product leaves behind when the result stays in the NTT domain). */
SOTTO_HIDDEN void sotto__mlkem_poly_tomont(sotto__mlkem_poly *r);

/* FIPS 203 Algorithm 9. Input coefficients must be below q in absolute value;
 * output is reduced. */
SOTTO_HIDDEN void sotto__mlkem_ntt(sotto__mlkem_poly *r);
/* FIPS 203 Algorithm 10, additionally multiplied by R (so that applied to a
 * sum of base-case products it yields the plain-domain result). Input: any
 * coefficients below 2^15 in absolute value after reduce. */
SOTTO_HIDDEN void sotto__mlkem_invntt_frommont(sotto__mlkem_poly *r);
/* FIPS 203 Algorithm 11 times R^-1: r = a o b / R, reduced. Inputs below 2^12
 * in absolute value. */
SOTTO_HIDDEN void sotto__mlkem_basemul(sotto__mlkem_poly *r, const sotto__mlkem_poly *a,
				       const sotto__mlkem_poly *b);
/* r += a o b / R (not reduced; callers accumulate at most 4 products). */
SOTTO_HIDDEN void sotto__mlkem_basemul_acc(sotto__mlkem_poly *r, const sotto__mlkem_poly *a,
					   const sotto__mlkem_poly *b);

/* ByteEncode12 of a canonical polynomial. */
SOTTO_HIDDEN void sotto__mlkem_poly_tobytes(uint8_t out[SOTTO__MLKEM_POLY_BYTES],
					    const sotto__mlkem_poly *a);
/* ByteDecode12 without a range check (coefficients in [0, 4096)); for secret
 * keys, whose values the arithmetic tolerates. */
SOTTO_HIDDEN void sotto__mlkem_poly_frombytes(sotto__mlkem_poly *r,
					      const uint8_t in[SOTTO__MLKEM_POLY_BYTES]);
/* ByteDecode12 with the FIPS 203 modulus check: returns 0 if every coefficient
 * is below q, -1 otherwise. Public input only (the result is branched on). */
SOTTO_HIDDEN int sotto__mlkem_poly_frombytes_checked(sotto__mlkem_poly *r,
						     const uint8_t in[SOTTO__MLKEM_POLY_BYTES]);

/* Compress_d then ByteEncode_d of a canonical polynomial, d in {1, 4, 5, 10,
 * 11}; writes 32 * d bytes. */
SOTTO_HIDDEN void sotto__mlkem_poly_compress(uint8_t *out, const sotto__mlkem_poly *a, unsigned d);
/* ByteDecode_d then Decompress_d; reads 32 * d bytes. */
SOTTO_HIDDEN void sotto__mlkem_poly_decompress(sotto__mlkem_poly *r, const uint8_t *in, unsigned d);
/* Compress_d of one canonical coefficient (exposed for the unit test). */
SOTTO_HIDDEN uint16_t sotto__mlkem_compress_coeff(uint16_t x, unsigned d);

/* SamplePolyCBD_2 from 128 bytes of PRF output. */
SOTTO_HIDDEN void sotto__mlkem_cbd2(sotto__mlkem_poly *r, const uint8_t buf[128]);

/* The rejection loop of SampleNTT (FIPS 203 Algorithm 7) over a prefix of the
 * XOF stream. Returns the number of coefficients filled (256 when done); the
 * caller retries with a longer prefix when it falls short. Public input. */
SOTTO_HIDDEN size_t sotto__mlkem_sample_ntt(sotto__mlkem_poly *r, const uint8_t *buf, size_t len);

/* Test hook (see mlkem.c): called on values derived from secrets that are
 * public by design. */
SOTTO_HIDDEN extern void (*sotto__mlkem_ct_declassify)(const void *p, size_t len);

#endif
