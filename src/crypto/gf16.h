/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: GF(2^16) arithmetic and the systematic erasure code SPQR uses to
 * spread its Hdr, Ek, Ct1 and Ct2 streams over 32-byte chunks
 * (signal-protocol-facts.md §5.7; SPQR src/encoding/polynomial.rs).
 *
 * A message of n bytes (n even) is read as n/2 big-endian 16-bit symbols;
 * symbol k is the value at x = k / 16 of polynomial k % 16. Each of the 16
 * polynomials has degree below its number of points. Chunk c carries the 16
 * polynomials evaluated at x = c, so chunks 0..m-1 are the message itself and
 * chunks m.. are parity. Any m distinct chunks rebuild the message.
 *
 * Everything here handles public wire data (ML-KEM headers, public keys,
 * ciphertexts and their MACs), so running time may depend on the data:
 * multiplication uses log/exp tables (gf16.c). Never use it for secrets. */
#ifndef SOTTO_CRYPTO_GF16_H
#define SOTTO_CRYPTO_GF16_H

#include <stddef.h>
#include <stdint.h>

#ifndef SOTTO_HIDDEN
#define SOTTO_HIDDEN __attribute__((visibility("hidden")))
#endif

/* x^16 + x^12 + x^3 + x + 1 */
#define SOTTO_GF16_POLY 0x1100Bu

#define SOTTO_GF16_CHUNK_BYTES 32
#define SOTTO_GF16_NUM_POLYS 16
/* Points per polynomial we support: the largest SPQR stream (Ek, 1152 bytes)
 * needs 36. Larger messages are refused rather than silently mishandled. */
#define SOTTO_GF16_MAX_POINTS 36
#define SOTTO_GF16_MAX_MSG_BYTES (SOTTO_GF16_MAX_POINTS * SOTTO_GF16_CHUNK_BYTES)

SOTTO_HIDDEN uint16_t sotto__gf16_mul(uint16_t a, uint16_t b);
/* Multiplicative inverse; the inverse of 0 is defined as 0. */
SOTTO_HIDDEN uint16_t sotto__gf16_inv(uint16_t a);

/* Encoder: holds the coefficients of the 16 polynomials, so each chunk costs
 * 16 Horner evaluations. Plain data; may be copied. */
typedef struct sotto_gf16_encoder {
	uint32_t len; /* message bytes */
	uint8_t npts[SOTTO_GF16_NUM_POLYS];
	uint16_t coef[SOTTO_GF16_NUM_POLYS][SOTTO_GF16_MAX_POINTS];
} sotto_gf16_encoder;

/* len must be even, 2 <= len <= SOTTO_GF16_MAX_MSG_BYTES, else
 * SOTTO_ERR_INVALID_ARGUMENT. */
SOTTO_HIDDEN int sotto__gf16_encoder_init(sotto_gf16_encoder *enc, const uint8_t *msg, size_t len);
/* Chunk number index (any u16, parity included). */
SOTTO_HIDDEN void sotto__gf16_encoder_chunk(const sotto_gf16_encoder *enc, uint16_t index,
					    uint8_t out[SOTTO_GF16_CHUNK_BYTES]);

/* Decoder. Accepts chunks in any order. Mirrors libsignal's bookkeeping: a
 * systematic point (x < points needed) is always stored, a parity point only
 * while the polynomial still lacks points; a repeated index replaces the
 * stored value. Reconstruction uses, per polynomial, the stored points with
 * the smallest x. Plain data; may be copied. */
typedef struct sotto_gf16_decoder {
	uint32_t len;
	uint8_t need[SOTTO_GF16_NUM_POLYS];
	uint8_t count[SOTTO_GF16_NUM_POLYS];
	/* Sorted by x, at most need systematic plus need parity points. */
	uint16_t x[SOTTO_GF16_NUM_POLYS][2 * SOTTO_GF16_MAX_POINTS];
	uint16_t y[SOTTO_GF16_NUM_POLYS][2 * SOTTO_GF16_MAX_POINTS];
} sotto_gf16_decoder;

/* Same length rules as the encoder. */
SOTTO_HIDDEN int sotto__gf16_decoder_init(sotto_gf16_decoder *dec, size_t len);
SOTTO_HIDDEN void sotto__gf16_decoder_add(sotto_gf16_decoder *dec, uint16_t index,
					  const uint8_t data[SOTTO_GF16_CHUNK_BYTES]);
/* 1 once every polynomial has enough points, else 0. */
SOTTO_HIDDEN int sotto__gf16_decoder_complete(const sotto_gf16_decoder *dec);
/* Writes the message (outlen must equal the decoder's len). Returns
 * SOTTO_ERR_INVALID_ARGUMENT on a length mismatch, SOTTO_ERR_NOT_FOUND if not
 * complete yet. */
SOTTO_HIDDEN int sotto__gf16_decoder_finish(const sotto_gf16_decoder *dec, uint8_t *out,
					    size_t outlen);

#endif
