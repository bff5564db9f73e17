/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#ifndef SOTTO_AEAD_H
#define SOTTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"
#include "sotto/hash.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Authenticated encryption with associated data. Every algorithm here takes a
 * 32-byte key and appends a 16-byte tag. */
typedef enum sotto_aead_alg {
	SOTTO_AEAD_CHACHA20POLY1305 = 1,  /* RFC 8439, 96-bit nonce (IETF) */
	SOTTO_AEAD_XCHACHA20POLY1305 = 2, /* 192-bit nonce */
	SOTTO_AEAD_AES256GCM = 3,         /* NIST SP 800-38D, 96-bit nonce */
} sotto_aead_alg;

#define SOTTO_AEAD_KEY_BYTES 32
#define SOTTO_AEAD_TAG_BYTES 16
#define SOTTO_CHACHA20POLY1305_NONCE_BYTES 12
#define SOTTO_XCHACHA20POLY1305_NONCE_BYTES 24
#define SOTTO_AES256GCM_NONCE_BYTES 12

/* Nonce length of alg in bytes, or 0 for an unknown alg. */
SOTTO_EXPORT size_t sotto_aead_nonce_bytes(sotto_aead_alg alg);

/* Encrypts ptlen bytes and writes ptlen + 16 bytes (ciphertext, then tag) to
 * out; *outlen receives that length. keylen must be 32 and noncelen the
 * algorithm's nonce length, else SOTTO_ERR_INVALID_ARGUMENT (nothing is
 * written). SOTTO_ERR_BUFFER_TOO_SMALL when outcap < ptlen + 16. out must not
 * overlap the other buffers. A (key, nonce) pair must never be used twice. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aead_seal(sotto_aead_alg alg, uint8_t *out, size_t outcap,
						   size_t *outlen, const uint8_t *key, size_t keylen,
						   const uint8_t *nonce, size_t noncelen,
						   const uint8_t *aad, size_t aadlen,
						   const uint8_t *pt, size_t ptlen);

/* Verifies and decrypts ctlen bytes (ciphertext, then tag) and writes
 * ctlen - 16 bytes to out. SOTTO_ERR_INVALID_MESSAGE when ctlen < 16 or the
 * tag does not verify; then out holds no plaintext (it is zeroed). Argument
 * and capacity errors as for sotto_aead_seal. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aead_open(sotto_aead_alg alg, uint8_t *out, size_t outcap,
						   size_t *outlen, const uint8_t *key, size_t keylen,
						   const uint8_t *nonce, size_t noncelen,
						   const uint8_t *aad, size_t aadlen,
						   const uint8_t *ct, size_t ctlen);

#define SOTTO_BLAKE2B_BYTES 64
#define SOTTO_BLAKE2B_KEY_MAX 64
#define SOTTO_BLAKE2B_BLOCK_BYTES 128

/* BLAKE2b (RFC 7693) with an output of outlen bytes (1..64) and an optional
 * key of 0..64 bytes (NULL with keylen 0 for unkeyed hashing). Note that a
 * shorter output is a different hash, not a truncation: the length is part
 * of the parameter block. SOTTO_ERR_INVALID_ARGUMENT on bad lengths. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_blake2b(uint8_t *out, size_t outlen, const uint8_t *key,
						 size_t keylen, const uint8_t *in, size_t inlen);
/* The same over the concatenation of n parts. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_blake2b_v(uint8_t *out, size_t outlen, const uint8_t *key,
						   size_t keylen, const sotto_iov *parts, size_t n);

#ifdef __cplusplus
}
#endif
#endif
