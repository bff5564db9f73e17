/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: POLYVAL (RFC 8452 section 3), incremental, for AES-GCM-SIV.
 * Tests include this header too, so it must not pull in OpenSSL. */
#ifndef SOTTO_CRYPTO_POLYVAL_H
#define SOTTO_CRYPTO_POLYVAL_H

#include <stddef.h>
#include <stdint.h>

#ifndef SOTTO_HIDDEN
#define SOTTO_HIDDEN __attribute__((visibility("hidden")))
#endif

/* Field elements are kept as two little-endian 64-bit words: bit i of the
 * 128-bit integer is the coefficient of x^i, as RFC 8452 reads the bytes. */
#define SOTTO__POLYVAL_POWERS 4

typedef struct sotto__polyval {
	/* h[k] = H^(k+1) * x^(-128k): the key's powers in POLYVAL's Montgomery
	 * form, so that k+1 blocks can be multiplied and reduced once. Only the
	 * PCLMULQDQ implementation uses the powers beyond h[0]. */
	uint64_t h[SOTTO__POLYVAL_POWERS][2];
	uint64_t s[2];
	int impl;
} sotto__polyval;

enum sotto__polyval_impl {
	SOTTO__POLYVAL_AUTO = 0,     /* PCLMULQDQ if the CPU has it, else portable */
	SOTTO__POLYVAL_PORTABLE = 1, /* constant-time integer multiplications */
	SOTTO__POLYVAL_CLMUL = 2,    /* PCLMULQDQ (x86 only) */
};

/* Selects the implementation for POLYVAL states initialised afterwards (for
 * tests: both paths must agree). Returns 0, or -1 if the requested path is
 * not available on this CPU (the selection is then unchanged). Not meant to be
 * called while other threads use POLYVAL. */
SOTTO_HIDDEN int sotto__polyval_set_impl(enum sotto__polyval_impl impl);
/* The implementation that sotto__polyval_init would pick now. */
SOTTO_HIDDEN enum sotto__polyval_impl sotto__polyval_get_impl(void);

SOTTO_HIDDEN void sotto__polyval_init(sotto__polyval *pv, const uint8_t h[16]);
/* Absorbs nblocks 16-byte blocks. */
SOTTO_HIDDEN void sotto__polyval_blocks(sotto__polyval *pv, const uint8_t *in, size_t nblocks);
/* Absorbs len bytes, the last partial block padded with zeros (the padding
 * GCM-SIV applies to the plaintext and the associated data). */
SOTTO_HIDDEN void sotto__polyval_padded(sotto__polyval *pv, const uint8_t *in, size_t len);
/* Writes the result and wipes the state. */
SOTTO_HIDDEN void sotto__polyval_final(sotto__polyval *pv, uint8_t out[16]);

#endif
