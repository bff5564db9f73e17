/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* X25519 (RFC 7748) with libsignal's rules on top: keys are clamped on load,
 * an all-zero shared secret is an error, and a PQXDH base key must be
 * canonical (signal-protocol-facts §1.1). The variable-base multiplication is
 * our constant-time Montgomery ladder (x25519_ladder.c), about 10% faster
 * than libsodium 1.0.18's; public keys come from libsodium's constant-time
 * Edwards base-point multiplication (precomputed tables) mapped to
 * u = (1 + y) / (1 - y), about twice as fast as a ladder from u = 9. Also the
 * birational maps between the Montgomery and Edwards forms that XEdDSA
 * needs; those run on public keys only, so they use the variable-time
 * predicates of fe25519.c. */
#include <sodium.h>
#include <string.h>

#include "backend.h"
#include "curve_internal.h"
#include "fe25519.h"
#include "ge25519_vartime.h"
#include "x25519_ladder.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/util.h"

/* p = 2^255 - 19, little-endian. */
static const uint8_t P_LE[32] = {
	0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
};

void sotto_x25519_clamp(uint8_t priv[SOTTO_X25519_BYTES])
{
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
}

/* Clears out through a mask when bad (0 or 1) is 1 and returns 0 or err,
 * without a branch: bad is computed from secret data, and the caller learns
 * it only through the return value, which is public by contract (e.g. "the
 * peer's key has small order"). */
static int ct_fail_if(uint8_t out[32], unsigned bad, int err)
{
	uint8_t keep = (uint8_t)(bad - 1u); /* 0xff if good, 0x00 if bad */
	for (size_t i = 0; i < 32; i++)
		out[i] &= keep;
	return (int)((0u - bad) & (unsigned)err);
}

int sotto_x25519_public(uint8_t pub[SOTTO_X25519_BYTES], const uint8_t priv[SOTTO_X25519_BYTES])
{
	uint8_t k[32], ed[32];
	if (sotto__backend_init() != SOTTO_OK)
		return SOTTO_ERR_INTERNAL;
	/* Clamped as libsignal does on load. k*B on Edwards25519 is the point
	 * whose Montgomery u is X25519(k, 9), since B maps to u = 9. A clamped
	 * k (2^254 + 8m, below 2^255) is never a multiple of the odd group
	 * order L (4L is odd times 4, 8L > 2^255), so the identity cannot come
	 * out; should the backend say otherwise, fail without a branch. */
	memcpy(k, priv, sizeof k);
	sotto_x25519_clamp(k);
	unsigned inf = (unsigned)sotto__ed25519_basemul(ed, k);
	sotto__x25519_u_from_edwards_y(pub, ed);
	sotto_memzero(k, sizeof k);
	sotto_memzero(ed, sizeof ed);
	return ct_fail_if(pub, inf & 1u, SOTTO_ERR_CRYPTO);
}

int sotto_x25519_keypair(uint8_t pub[SOTTO_X25519_BYTES], uint8_t priv[SOTTO_X25519_BYTES])
{
	int rc = sotto_random(priv, SOTTO_X25519_BYTES);
	if (rc != SOTTO_OK)
		return rc;
	sotto_x25519_clamp(priv);
	rc = sotto_x25519_public(pub, priv);
	if (rc != SOTTO_OK)
		sotto_memzero(priv, SOTTO_X25519_BYTES);
	return rc;
}

int sotto_x25519(uint8_t shared[SOTTO_X25519_BYTES], const uint8_t priv[SOTTO_X25519_BYTES],
		 const uint8_t pub[SOTTO_X25519_BYTES])
{
	/* libsignal rejects exactly the all-zero secret (curve.rs), which is
	 * what every clamped scalar gives on a low-order u (the cofactor 8
	 * divides the scalar). The check and the clearing are masks, so
	 * nothing branches on the secret. */
	sotto__x25519_ladder(shared, priv, pub);
	return ct_fail_if(shared, sotto__x25519_is_zero(shared), SOTTO_ERR_INVALID_KEY);
}

int sotto__mont_to_edwards(uint8_t Aenc[32], const uint8_t u[32], unsigned sign)
{
	sotto__ge_p3 P;
	if (sotto__ge_vt_init() != 0)
		return SOTTO_ERR_INTERNAL;
	/* y = (u-1)/(u+1) with u reduced mod p, then decoded with the sign
	 * (which rejects a y that is not on the curve) and re-encoded, so x = 0
	 * with sign 1 gives the canonical x = 0 encoding, as dalek's
	 * decompress()+compress() do. */
	if (sotto__ge_vt_from_mont(&P, Aenc, u, sign) != 0)
		return SOTTO_ERR_INVALID_KEY;
	return SOTTO_OK;
}

int sotto__edwards_to_mont(uint8_t u[32], const uint8_t Aenc[32])
{
	sotto__fe y, one, num, den;
	/* Bit 255 ignored, y reduced mod p, as FieldElement::from_bytes. */
	sotto__fe_frombytes(&y, Aenc);
	sotto__fe_set_u32(&one, 1);
	sotto__fe_add(&num, &one, &y);
	sotto__fe_sub(&den, &one, &y);
	if (sotto__fe_iszero(&den))
		return SOTTO_ERR_INVALID_KEY; /* y = 1, the identity */
	sotto__fe_invert(&den, &den);
	sotto__fe_mul(&num, &num, &den);
	sotto__fe_tobytes(u, &num);
	return SOTTO_OK;
}

/* libsignal's scalar_is_in_range: bit 255 clear and u < 2^255 - 19. */
static int u_in_range(const uint8_t u[32])
{
	if (u[31] & 0x80)
		return 0;
	for (int i = 31; i >= 0; i--) {
		if (u[i] != P_LE[i])
			return u[i] < P_LE[i];
	}
	return 0; /* u == p */
}

/* The prime order L = 2^252 + 27742317777372353535851937790883648493,
 * little-endian. */
static const uint8_t L_LE[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};
static const uint8_t ZERO32[32];

int sotto_x25519_is_canonical(const uint8_t pub[SOTTO_X25519_BYTES])
{
	sotto__ge_p3 P, R, O;
	uint8_t ed[32];
	if (!u_in_range(pub))
		return 0;
	if (sotto__ge_vt_init() != 0)
		return 0;
	/* Torsion-free: the Edwards point with sign 0 must lie in the prime-order
	 * subgroup, i.e. L*P must be the identity. The base key is public, so
	 * the variable-time wNAF multiplication does it (L is sparse: about 253
	 * doublings and a few dozen additions), cheaper than libsodium's
	 * is_valid_point. That one also rejects non-canonical encodings (the map
	 * gives canonical ones) and small-order points; the only small-order
	 * point that is torsion-free is the identity, which no u maps to (y = 1
	 * would need u = infinity), so the two tests agree on every map output.
	 * double_scalarmult gives 0*B - L*P. */
	if (sotto__ge_vt_from_mont(&P, ed, pub, 0) != 0)
		return 0;
	if (sotto__ge_vt_double_scalarmult(&R, L_LE, &P, ZERO32) != 0)
		return 0;
	sotto__ge_vt_identity(&O);
	return sotto__ge_vt_eq(&R, &O);
}
