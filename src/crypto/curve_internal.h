/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: the Edwards25519 pieces that XEdDSA is built from, shared by
 * curve25519.c and xeddsa.c and reachable from the vector tests (which link
 * the static library and include this header). No ABI promise. */
#ifndef SOTTO_CRYPTO_CURVE_INTERNAL_H
#define SOTTO_CRYPTO_CURVE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Same definition as backend.h, which this header does not include so that
 * tests can use it without pulling in OpenSSL's headers. */
#ifndef SOTTO_HIDDEN
#define SOTTO_HIDDEN __attribute__((visibility("hidden")))
#endif

/* Rule sets for sotto__eddsa_verify. */
enum sotto__eddsa_rules {
	/* libsignal's XEdDSA: s must have bits 253..255 clear (the caller has
	 * already removed the sign bit from bit 255) and is then reduced mod L;
	 * s >= L is not rejected. A is taken as given. */
	SOTTO__EDDSA_XEDDSA = 0,
	/* RFC 8032 §5.1.7 (strict decoding): reject s >= L, reject a public key
	 * encoding that is not canonical (y >= p, or x = 0 with the sign bit set). */
	SOTTO__EDDSA_RFC8032 = 1,
	/* As RFC8032 but a non-canonical A is decoded (mod p) instead of rejected,
	 * and hashed as given: what ref10-derived verifiers do. Tests only. */
	SOTTO__EDDSA_LENIENT_A = 2,
};

/* The cofactorless verification equation shared by XEdDSA and the test-only
 * Ed25519: h = SHA512(R || Aenc || msg) mod L; accept iff
 * encode(s*B - h*A) == R byte for byte. A non-canonical R therefore never
 * verifies. A may have any order (small-order and mixed-order keys follow the
 * same arithmetic as libsignal/curve25519-dalek). Returns 0 or
 * SOTTO_ERR_INVALID_SIGNATURE (SOTTO_ERR_INTERNAL if the backend fails). */
SOTTO_HIDDEN int sotto__eddsa_verify(const uint8_t Aenc[32], const uint8_t R[32],
				     const uint8_t s[32], const uint8_t *msg, size_t msglen,
				     enum sotto__eddsa_rules rules);

/* Montgomery u -> Edwards encoding with the given x sign (0 or 1), as
 * curve25519-dalek's MontgomeryPoint::to_edwards followed by compress():
 * bit 255 of u is ignored and u is reduced mod p; y = (u-1)/(u+1); fails with
 * SOTTO_ERR_INVALID_KEY when u = -1 or y is not the y of a curve point. The
 * output is the canonical encoding (x = 0 always gets sign bit 0). Public data
 * only (not constant time). */
SOTTO_HIDDEN int sotto__mont_to_edwards(uint8_t Aenc[32], const uint8_t u[32], unsigned sign);

/* Edwards encoding -> Montgomery u = (1+y)/(1-y) (bit 255 ignored, y reduced
 * mod p). Fails with SOTTO_ERR_INVALID_KEY for y = 1 (the identity). Works for
 * points of any order; used by the tests to build mixed-order X25519 keys. */
SOTTO_HIDDEN int sotto__edwards_to_mont(uint8_t u[32], const uint8_t Aenc[32]);

/* Ed25519 (RFC 8032) from a 32-byte seed, for the vector tests of the Edwards
 * arithmetic: public key, and a signature that sotto__eddsa_verify checks. */
SOTTO_HIDDEN int sotto__ed25519_public(uint8_t pk[32], const uint8_t seed[32]);
/* Constant-time n*B for any n < 2^255; 1 if the result is the identity
 * (its encoding is still written), else 0. */
SOTTO_HIDDEN int sotto__ed25519_basemul(uint8_t out[32], const uint8_t n[32]);
SOTTO_HIDDEN int sotto__ed25519_sign(uint8_t sig[64], const uint8_t seed[32], const uint8_t *msg,
				     size_t msglen);

#endif
