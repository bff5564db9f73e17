/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: constant-time X25519 (RFC 7748) on the radix-2^51 field of
 * fe25519.h. Used by curve25519.c; the unit tests include this header to
 * check it against libsodium. No ABI promise. */
#ifndef SOTTO_CRYPTO_X25519_LADDER_H
#define SOTTO_CRYPTO_X25519_LADDER_H

#include <stdint.h>

#ifndef SOTTO_HIDDEN
#define SOTTO_HIDDEN __attribute__((visibility("hidden")))
#endif

/* out = X25519(scalar, u) per RFC 7748 §5: a copy of scalar is clamped (so
 * any 32 bytes are accepted), bit 255 of u is ignored and a u in [p, 2^255)
 * is used mod p. out is the canonical encoding. No branch and no memory
 * address depends on scalar or u. An all-zero output is not checked here. */
SOTTO_HIDDEN void sotto__x25519_ladder(uint8_t out[32], const uint8_t scalar[32],
				       const uint8_t u[32]);

/* u = (1 + y) / (1 - y), the Montgomery u-coordinate of the Edwards25519
 * point encoded in y_enc (bit 255, the x sign, ignored; y reduced mod p).
 * Constant time; the identity (y = 1) gives u = 0, as 1/0 = 0 in the
 * inversion. */
SOTTO_HIDDEN void sotto__x25519_u_from_edwards_y(uint8_t u[32], const uint8_t y_enc[32]);

/* 1 if all 32 bytes are zero, else 0, without a branch on the bytes. */
SOTTO_HIDDEN unsigned sotto__x25519_is_zero(const uint8_t s[32]);

#endif
