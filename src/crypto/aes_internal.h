/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: the AES block layer under GCM-SIV, and the constant-time PKCS#7
 * check of CBC, shared with the tests (so no OpenSSL types here). */
#ifndef SOTTO_CRYPTO_AES_INTERNAL_H
#define SOTTO_CRYPTO_AES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#ifndef SOTTO_HIDDEN
#define SOTTO_HIDDEN __attribute__((visibility("hidden")))
#endif

/* A keyed AES-ECB context (one direction, OpenSSL padding off). Re-keying an
 * existing context with the same key size reuses OpenSSL's cipher context,
 * which is what makes GCM-SIV's per-nonce keys cheap. */
typedef struct sotto__aes_ecb sotto__aes_ecb;

/* NULL when out of memory or when the backend cannot start. */
SOTTO_HIDDEN sotto__aes_ecb *sotto__aes_ecb_new(void);
SOTTO_HIDDEN void sotto__aes_ecb_free(sotto__aes_ecb *e);
/* keylen is 16, 24 or 32; encrypt selects the direction. */
SOTTO_HIDDEN int sotto__aes_ecb_setkey(sotto__aes_ecb *e, const uint8_t *key, size_t keylen,
				       int encrypt);
/* Transforms nblocks 16-byte blocks; out may equal in. */
SOTTO_HIDDEN int sotto__aes_ecb_blocks(sotto__aes_ecb *e, uint8_t *out, const uint8_t *in,
				       size_t nblocks);
/* One block under a one-off context, for the ECB known-answer tests. */
SOTTO_HIDDEN int sotto__aes_ecb_block(uint8_t out[16], const uint8_t *key, size_t keylen,
				      const uint8_t in[16], int encrypt);

/* The PKCS#7 padding length (1..16) of the last plaintext block, or 0 if the
 * padding is malformed; no branch or memory access depends on the block. */
SOTTO_HIDDEN unsigned sotto__pkcs7_padlen_ct(const uint8_t last[16]);

#endif
