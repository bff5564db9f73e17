/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#ifndef SOTTO_CURVE_H
#define SOTTO_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_X25519_BYTES 32
#define SOTTO_XEDDSA_SIG_BYTES 64
#define SOTTO_XEDDSA_RANDOM_BYTES 64
/* libsignal's serialized public key: type byte 0x05 then the u-coordinate. */
#define SOTTO_CURVE_PUBLIC_BYTES 33
#define SOTTO_CURVE_KEY_TYPE_DJB 0x05

/* Private keys are 32 raw bytes; every function that takes one clamps a copy
 * first (libsignal clamps on load), so unclamped input behaves like its
 * clamped form. Secret-dependent work is constant time. */

/* Clamps a 32-byte X25519 private key in place (as libsignal stores them). */
SOTTO_EXPORT void sotto_x25519_clamp(uint8_t priv[SOTTO_X25519_BYTES]);

/* Generates a key pair; the private key is returned clamped. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_x25519_keypair(uint8_t pub[SOTTO_X25519_BYTES],
							uint8_t priv[SOTTO_X25519_BYTES]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_x25519_public(uint8_t pub[SOTTO_X25519_BYTES],
						       const uint8_t priv[SOTTO_X25519_BYTES]);

/* X25519 (RFC 7748; bit 255 of pub is ignored). Fails with
 * SOTTO_ERR_INVALID_KEY when the shared secret is all zeros (a low-order
 * public key), as libsignal does; shared is then zeroed. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_x25519(uint8_t shared[SOTTO_X25519_BYTES],
						const uint8_t priv[SOTTO_X25519_BYTES],
						const uint8_t pub[SOTTO_X25519_BYTES]);

/* 1 if pub is a canonical u-coordinate (bit 255 clear, u < 2^255-19) of a
 * point in the prime-order subgroup (libsignal's check on a PQXDH base key). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_x25519_is_canonical(const uint8_t pub[SOTTO_X25519_BYTES]);

/* XEdDSA (Signal's XEd25519) as libsignal signs: a is not negated, and the
 * sign bit of A is carried in bit 7 of sig[63]. random is 64 fresh bytes.
 * The same (priv, msg, random) gives libsignal's signature byte for byte.
 * Returns 0, SOTTO_ERR_INVALID_ARGUMENT (msg NULL with msglen > 0) or
 * SOTTO_ERR_INTERNAL (backend failure; sig is then zeroed). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_xeddsa_sign(uint8_t sig[SOTTO_XEDDSA_SIG_BYTES],
						     const uint8_t priv[SOTTO_X25519_BYTES],
						     const uint8_t *msg, size_t msglen,
						     const uint8_t random[SOTTO_XEDDSA_RANDOM_BYTES]);

/* Verifies with libsignal's rules: A's sign from bit 7 of sig[63]; u = -1
 * or a u with no curve point fails; s with bit 253 or 254 set fails, smaller s
 * is reduced mod L (no s < L check); accept iff encode(sB - hA) == R byte for
 * byte (cofactorless). Spec-exact signatures (negated a, sign bit 0) verify.
 * 0 if valid, SOTTO_ERR_INVALID_SIGNATURE otherwise. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_xeddsa_verify(const uint8_t pub[SOTTO_X25519_BYTES],
						       const uint8_t *msg, size_t msglen,
						       const uint8_t sig[SOTTO_XEDDSA_SIG_BYTES]);

/* sotto_xeddsa_verify on buffers of any length: pub is the raw 32-byte u or
 * the 33-byte 0x05 || u (other lengths or type bytes: SOTTO_ERR_INVALID_KEY);
 * a signature that is not 64 bytes fails with SOTTO_ERR_INVALID_SIGNATURE. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_xeddsa_verify_buf(const uint8_t *pub, size_t publen,
							   const uint8_t *msg, size_t msglen,
							   const uint8_t *sig, size_t siglen);

#ifdef __cplusplus
}
#endif
#endif
