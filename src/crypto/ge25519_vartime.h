/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: variable-time Edwards25519 (-x^2 + y^2 = 1 + d x^2 y^2 over
 * GF(2^255 - 19)) for signature verification and the Montgomery/Edwards maps.
 * Running time depends on the scalars and points: PUBLIC DATA ONLY. Signing
 * and everything else that touches secrets stays on libsodium.
 *
 * Points are in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z,
 * with the complete addition and doubling formulas of Hisil, Wong, Carter and
 * Dawson ("Twisted Edwards curves revisited", 2008; a = -1, d non-square), so
 * every point of the curve, including the small-order ones and the identity,
 * goes through the same code without special cases.
 *
 * The constants (d, sqrt(-1), the base point and its table of odd multiples)
 * are computed from their definitions on first use, under pthread_once. */
#ifndef SOTTO_CRYPTO_GE25519_VARTIME_H
#define SOTTO_CRYPTO_GE25519_VARTIME_H

#include <stdint.h>

#include "fe25519.h"

typedef struct {
	sotto__fe X, Y, Z, T;
} sotto__ge_p3;

/* Computes the constants once; 0, or -1 if that could not run. Every
 * function below that needs them calls it. */
SOTTO_HIDDEN int sotto__ge_vt_init(void);

SOTTO_HIDDEN void sotto__ge_vt_identity(sotto__ge_p3 *P);
/* The base point B (y = 4/5, x even); -1 if the constants are unavailable. */
SOTTO_HIDDEN int sotto__ge_vt_base(sotto__ge_p3 *P);

/* Decoding with exactly libsodium 1.0.18's ge25519_frombytes acceptance
 * (which crypto_core_ed25519_add applies to its inputs), i.e. RFC 8032
 * §5.1.3 without its two canonicity checks: bit 255 is the sign of x, the
 * other 255 bits are y and are reduced mod p (y in [p, 2^255) is accepted);
 * fails (-1) only when (y^2 - 1)/(d y^2 + 1) is not a square; x = 0 with the
 * sign bit set is accepted as x = 0. Callers that need RFC 8032's strict
 * rules check canonicity of the bytes first. 0 on success. */
SOTTO_HIDDEN int sotto__ge_vt_frombytes(sotto__ge_p3 *P, const uint8_t s[32]);
/* The canonical encoding: y mod p with the parity of x mod p in bit 255. */
SOTTO_HIDDEN void sotto__ge_vt_tobytes(uint8_t s[32], const sotto__ge_p3 *P);

SOTTO_HIDDEN void sotto__ge_vt_add(sotto__ge_p3 *R, const sotto__ge_p3 *P, const sotto__ge_p3 *Q);
SOTTO_HIDDEN void sotto__ge_vt_sub(sotto__ge_p3 *R, const sotto__ge_p3 *P, const sotto__ge_p3 *Q);
SOTTO_HIDDEN void sotto__ge_vt_dbl(sotto__ge_p3 *R, const sotto__ge_p3 *P);
/* 1 if P and Q are the same point (projective comparison). */
SOTTO_HIDDEN int sotto__ge_vt_eq(const sotto__ge_p3 *P, const sotto__ge_p3 *Q);

/* R = b*B - a*A for 256-bit little-endian integers a and b, taken as they
 * are (not reduced mod the group order, so a torsion component of A is
 * multiplied by the integer a, exactly as a*A by repeated addition), by
 * interleaved width-5 wNAF for A and a width-8 table of B. 0, or -1 if the
 * constants are unavailable. */
SOTTO_HIDDEN int sotto__ge_vt_double_scalarmult(sotto__ge_p3 *R, const uint8_t a[32],
						const sotto__ge_p3 *A, const uint8_t b[32]);

/* The Edwards point of the Montgomery u-coordinate (bit 255 ignored, u
 * reduced mod p) with x of the given sign: y = (u - 1)/(u + 1), then decoded
 * as sotto__ge_vt_frombytes does with that sign bit. Also writes its
 * canonical encoding to enc (x = 0 gets sign bit 0). -1 when u = -1 or y is
 * not the y of a curve point (u on the twist). */
SOTTO_HIDDEN int sotto__ge_vt_from_mont(sotto__ge_p3 *P, uint8_t enc[32], const uint8_t u[32],
					unsigned sign);

#endif
