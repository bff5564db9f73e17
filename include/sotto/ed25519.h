/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Ed25519 signatures (RFC 8032, pure Ed25519), via libsodium. Used where a
 * key exists only to sign (key transparency tree heads); identity keys keep
 * XEdDSA over their X25519 form (curve.h).
 *
 * Keys are 32-byte seeds (RFC 8032's "private key"); the expanded secret is
 * derived per call and wiped. Verification is strict: canonical S (< L), a
 * canonical public key that is not of small order, and the cofactorless
 * equation, as libsodium's crypto_sign_verify_detached enforces. */
#ifndef SOTTO_ED25519_H
#define SOTTO_ED25519_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_ED25519_SEED_BYTES 32
#define SOTTO_ED25519_PUBLIC_BYTES 32
#define SOTTO_ED25519_SIG_BYTES 64

/* The public key of seed. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ed25519_public(uint8_t pub[SOTTO_ED25519_PUBLIC_BYTES],
							const uint8_t seed[SOTTO_ED25519_SEED_BYTES]);
/* A fresh seed from the system RNG and its public key. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ed25519_keypair(uint8_t pub[SOTTO_ED25519_PUBLIC_BYTES],
							 uint8_t seed[SOTTO_ED25519_SEED_BYTES]);
/* The deterministic RFC 8032 signature of msg (msg may be NULL iff len 0). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ed25519_sign(uint8_t sig[SOTTO_ED25519_SIG_BYTES],
						      const uint8_t seed[SOTTO_ED25519_SEED_BYTES],
						      const uint8_t *msg, size_t len);
/* 0 iff sig is a valid signature of msg under pub; SOTTO_ERR_INVALID_SIGNATURE
 * otherwise (including non-canonical or small-order encodings). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ed25519_verify(
	const uint8_t pub[SOTTO_ED25519_PUBLIC_BYTES], const uint8_t *msg, size_t len,
	const uint8_t sig[SOTTO_ED25519_SIG_BYTES]);
/* sotto_ed25519_verify on untrusted buffers: a public key that is not 32
 * bytes is SOTTO_ERR_INVALID_KEY, a signature that is not 64 bytes
 * SOTTO_ERR_INVALID_SIGNATURE. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ed25519_verify_buf(const uint8_t *pub, size_t publen,
							    const uint8_t *msg, size_t len,
							    const uint8_t *sig, size_t siglen);

#ifdef __cplusplus
}
#endif
#endif
