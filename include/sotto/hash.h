/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#ifndef SOTTO_HASH_H
#define SOTTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_SHA256_BYTES 32
#define SOTTO_SHA512_BYTES 64
#define SOTTO_HMAC_SHA256_BYTES 32

/* A piece of a message hashed in several parts without copying it together. */
typedef struct sotto_iov {
	const void *base;
	size_t len;
} sotto_iov;

SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sha256(uint8_t out[SOTTO_SHA256_BYTES], const uint8_t *in,
						size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sha512(uint8_t out[SOTTO_SHA512_BYTES], const uint8_t *in,
						size_t inlen);
/* Hash of the concatenation of n parts. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sha256_v(uint8_t out[SOTTO_SHA256_BYTES],
						  const sotto_iov *parts, size_t n);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sha512_v(uint8_t out[SOTTO_SHA512_BYTES],
						  const sotto_iov *parts, size_t n);

/* SHA-3 family (FIPS 202). SHAKE output may be any length. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sha3_256(uint8_t out[32], const uint8_t *in, size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sha3_512(uint8_t out[64], const uint8_t *in, size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sha3_256_v(uint8_t out[32], const sotto_iov *parts, size_t n);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sha3_512_v(uint8_t out[64], const sotto_iov *parts, size_t n);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_shake128(uint8_t *out, size_t outlen, const uint8_t *in,
						  size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_shake256(uint8_t *out, size_t outlen, const uint8_t *in,
						  size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_shake128_v(uint8_t *out, size_t outlen,
						    const sotto_iov *parts, size_t n);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_shake256_v(uint8_t *out, size_t outlen,
						    const sotto_iov *parts, size_t n);

/* HMAC-SHA256 with a reusable keyed context. Keying costs two compression
 * function calls; after that each MAC costs only the message and two copies of
 * the precomputed pad states, which is what the ratchet's hot path wants.
 * sotto_hmac_sha256_final leaves the context keyed with the same key, ready
 * for the next message. */
typedef struct sotto_hmac_sha256_ctx sotto_hmac_sha256_ctx;

SOTTO_EXPORT sotto_hmac_sha256_ctx *sotto_hmac_sha256_new(void);
SOTTO_EXPORT void sotto_hmac_sha256_free(sotto_hmac_sha256_ctx *ctx);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_hmac_sha256_setkey(sotto_hmac_sha256_ctx *ctx, const uint8_t *key,
							    size_t keylen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_hmac_sha256_update(sotto_hmac_sha256_ctx *ctx, const uint8_t *in,
							    size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_hmac_sha256_final(sotto_hmac_sha256_ctx *ctx,
							   uint8_t out[SOTTO_HMAC_SHA256_BYTES]);

/* One-shot HMAC-SHA256. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_hmac_sha256(uint8_t out[SOTTO_HMAC_SHA256_BYTES],
						     const uint8_t *key, size_t keylen,
						     const uint8_t *msg, size_t msglen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_hmac_sha256_v(uint8_t out[SOTTO_HMAC_SHA256_BYTES],
						       const uint8_t *key, size_t keylen,
						       const sotto_iov *parts, size_t n);

/* HKDF-SHA256 (RFC 5869). A NULL or empty salt means HashLen zero bytes.
 * outlen must be at most 255 * 32. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *salt,
						     size_t saltlen, const uint8_t *ikm, size_t ikmlen,
						     const uint8_t *info, size_t infolen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_hkdf_sha256_extract(uint8_t prk[SOTTO_SHA256_BYTES],
							     const uint8_t *salt, size_t saltlen,
							     const uint8_t *ikm, size_t ikmlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_hkdf_sha256_expand(uint8_t *out, size_t outlen,
							    const uint8_t *prk, size_t prklen,
							    const uint8_t *info, size_t infolen);

#ifdef __cplusplus
}
#endif
#endif
