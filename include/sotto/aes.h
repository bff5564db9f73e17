/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#ifndef SOTTO_AES_H
#define SOTTO_AES_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_AES_BLOCK_BYTES 16
#define SOTTO_AES256_KEY_BYTES 32
#define SOTTO_AES_GCM_SIV_NONCE_BYTES 12
#define SOTTO_AES_GCM_SIV_TAG_BYTES 16

/* Ciphertext size of CBC with PKCS#7 padding for a plaintext of len bytes. */
#define SOTTO_AES_CBC_PADDED_LEN(len) (((len) / 16 + 1) * 16)

/* AES-CBC with PKCS#7 padding. keylen is 16, 24 or 32 (Signal uses 32).
 * Encrypt writes SOTTO_AES_CBC_PADDED_LEN(inlen) bytes; decrypt writes at most
 * inlen - 1 bytes and fails with SOTTO_ERR_INVALID_MESSAGE on a length that is
 * not a positive multiple of 16 or on bad padding (checked in constant time). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_cbc_encrypt(uint8_t *out, size_t outcap, size_t *outlen,
							 const uint8_t *key, size_t keylen,
							 const uint8_t iv[16], const uint8_t *in,
							 size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_cbc_decrypt(uint8_t *out, size_t outcap, size_t *outlen,
							 const uint8_t *key, size_t keylen,
							 const uint8_t iv[16], const uint8_t *in,
							 size_t inlen);

/* AES-CTR with a 128-bit big-endian counter block starting at iv. Encryption
 * and decryption are the same operation; out may equal in. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_ctr(uint8_t *out, const uint8_t *key, size_t keylen,
						 const uint8_t iv[16], const uint8_t *in, size_t len);

/* AES-GCM-SIV (RFC 8452). keylen is 16 or 32. Seal writes ptlen + 16 bytes
 * (ciphertext then tag). Open takes ctlen >= 16 bytes (ciphertext then tag),
 * writes ctlen - 16 bytes, and fails with SOTTO_ERR_INVALID_MESSAGE on a bad
 * tag, in which case out is zeroed. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_gcm_siv_seal(uint8_t *out, const uint8_t *key,
							  size_t keylen, const uint8_t nonce[12],
							  const uint8_t *aad, size_t aadlen,
							  const uint8_t *pt, size_t ptlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_gcm_siv_open(uint8_t *out, const uint8_t *key,
							  size_t keylen, const uint8_t nonce[12],
							  const uint8_t *aad, size_t aadlen,
							  const uint8_t *ct, size_t ctlen);

/* POLYVAL (RFC 8452 section 3) of data whose length is a multiple of 16,
 * exposed for tests and benchmarks. */
SOTTO_EXPORT void sotto_polyval(uint8_t out[16], const uint8_t h[16], const uint8_t *data,
				size_t len);

#ifdef __cplusplus
}
#endif
#endif
