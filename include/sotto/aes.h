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
 * Encrypt writes SOTTO_AES_CBC_PADDED_LEN(inlen) bytes (outcap must be at
 * least that). Decrypt needs outcap >= inlen - 16, writes at most inlen - 1
 * bytes and fails with SOTTO_ERR_INVALID_MESSAGE on a length that is not a
 * positive multiple of 16 or on bad padding. The padding is checked in
 * constant time and the plaintext length is revealed only after that check;
 * on SOTTO_ERR_INVALID_MESSAGE out is zeroed. If the unpadded plaintext is
 * longer than outcap the call fails with SOTTO_ERR_BUFFER_TOO_SMALL (out
 * zeroed). out must not overlap in. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_cbc_encrypt(uint8_t *out, size_t outcap, size_t *outlen,
							 const uint8_t *key, size_t keylen,
							 const uint8_t iv[16], const uint8_t *in,
							 size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_cbc_decrypt(uint8_t *out, size_t outcap, size_t *outlen,
							 const uint8_t *key, size_t keylen,
							 const uint8_t iv[16], const uint8_t *in,
							 size_t inlen);

/* A reusable CBC context for hot paths: the OpenSSL cipher contexts are
 * allocated once, and _setkey only stores the key; the key schedule for a
 * direction is computed on the first _encrypt or _decrypt after it, so a
 * ratchet that uses each message key once, in one direction, pays for one key
 * expansion. Encrypt and decrypt have the contract of the one-shot calls
 * above. A context is not thread-safe. _free wipes the key; NULL is a no-op.
 * _new returns NULL when out of memory or when the backend cannot start. */
typedef struct sotto_aes_cbc_ctx sotto_aes_cbc_ctx;
SOTTO_EXPORT sotto_aes_cbc_ctx *sotto_aes_cbc_ctx_new(void);
SOTTO_EXPORT void sotto_aes_cbc_ctx_free(sotto_aes_cbc_ctx *ctx);
/* SOTTO_ERR_INVALID_ARGUMENT unless keylen is 16, 24 or 32. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_cbc_ctx_setkey(sotto_aes_cbc_ctx *ctx,
							    const uint8_t *key, size_t keylen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_cbc_ctx_encrypt(sotto_aes_cbc_ctx *ctx, uint8_t *out,
							     size_t outcap, size_t *outlen,
							     const uint8_t iv[16],
							     const uint8_t *in, size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_cbc_ctx_decrypt(sotto_aes_cbc_ctx *ctx, uint8_t *out,
							     size_t outcap, size_t *outlen,
							     const uint8_t iv[16],
							     const uint8_t *in, size_t inlen);

/* AES-CTR with a 128-bit big-endian counter block starting at iv. Encryption
 * and decryption are the same operation; out may equal in. keylen is 16, 24
 * or 32. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_ctr(uint8_t *out, const uint8_t *key, size_t keylen,
						 const uint8_t iv[16], const uint8_t *in, size_t len);

/* Limits of RFC 8452 section 6: plaintext and associated data up to 2^36
 * bytes each. */
#define SOTTO_AES_GCM_SIV_MAX_PT_BYTES ((uint64_t)1 << 36)
#define SOTTO_AES_GCM_SIV_MAX_AAD_BYTES ((uint64_t)1 << 36)

/* AES-GCM-SIV (RFC 8452). keylen is 16 or 32; nonces are 12 bytes. Seal
 * writes ptlen + 16 bytes (ciphertext then tag). Open takes ctlen >= 16 bytes
 * (ciphertext then tag) and writes ctlen - 16 bytes; no plaintext is released
 * unless the tag is valid.
 * Errors: SOTTO_ERR_INVALID_ARGUMENT for a wrong keylen, NULL pointers with
 * non-zero lengths, and (seal) lengths above the limits. Open returns
 * SOTTO_ERR_INVALID_MESSAGE for a bad tag (checked in constant time; out is
 * then zeroed), for ctlen < 16 and for lengths above the limits, since those
 * come from the peer. out may equal pt (seal) or ct (open); no other overlap
 * is allowed. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_gcm_siv_seal(uint8_t *out, const uint8_t *key,
							  size_t keylen, const uint8_t nonce[12],
							  const uint8_t *aad, size_t aadlen,
							  const uint8_t *pt, size_t ptlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_gcm_siv_open(uint8_t *out, const uint8_t *key,
							  size_t keylen, const uint8_t nonce[12],
							  const uint8_t *aad, size_t aadlen,
							  const uint8_t *ct, size_t ctlen);

/* A keyed GCM-SIV context: key once (the key-generating key's schedule is
 * kept), then seal and open many messages with the contract of the one-shot
 * calls. Each message still derives its own keys from the nonce (RFC 8452
 * section 4). Not thread-safe; _free wipes all key material; NULL is a no-op. */
typedef struct sotto_aes_gcm_siv_ctx sotto_aes_gcm_siv_ctx;
SOTTO_EXPORT sotto_aes_gcm_siv_ctx *sotto_aes_gcm_siv_ctx_new(void);
SOTTO_EXPORT void sotto_aes_gcm_siv_ctx_free(sotto_aes_gcm_siv_ctx *ctx);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_gcm_siv_ctx_setkey(sotto_aes_gcm_siv_ctx *ctx,
								const uint8_t *key, size_t keylen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_gcm_siv_ctx_seal(sotto_aes_gcm_siv_ctx *ctx,
							      uint8_t *out, const uint8_t nonce[12],
							      const uint8_t *aad, size_t aadlen,
							      const uint8_t *pt, size_t ptlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_aes_gcm_siv_ctx_open(sotto_aes_gcm_siv_ctx *ctx,
							      uint8_t *out, const uint8_t nonce[12],
							      const uint8_t *aad, size_t aadlen,
							      const uint8_t *ct, size_t ctlen);

/* POLYVAL (RFC 8452 section 3) of data whose length is a multiple of 16,
 * exposed for tests and benchmarks. A length that is not a multiple of 16 is
 * a caller bug: the trailing partial block is ignored. Constant time in h and
 * data (PCLMULQDQ when the CPU has it, else a portable carry-less multiply). */
SOTTO_EXPORT void sotto_polyval(uint8_t out[16], const uint8_t h[16], const uint8_t *data,
				size_t len);

#ifdef __cplusplus
}
#endif
#endif
