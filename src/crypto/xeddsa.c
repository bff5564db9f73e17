/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* XEd25519 (signal.org/docs/specifications/xeddsa, "XEdDSA" and
 * "Curve25519") with libsignal's sign-bit convention
 * (signal-protocol-facts §1.2). Signing runs on libsodium's constant-time
 * edwards25519 point and scalar operations; verification, which handles only
 * public data, on the variable-time double-scalar multiplication of
 * ge25519_vartime.c. Plus a test-only Ed25519 (RFC 8032 §5.1) that shares the
 * verification equation, so the Ed25519 vector sets exercise it. */
#include <sodium.h>
#include <string.h>

#include "backend.h"
#include "curve_internal.h"
#include "ge25519_vartime.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"

/* The group order L = 2^252 + 27742317777372353535851937790883648493. */
static const uint8_t L_LE[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

/* Constant-time base-point multiplication (any scalar < 2^255). Returns 0, or
 * 1 when libsodium reports the identity as the result. Kept out of line and
 * not tail-called on purpose: libsodium's identity test on its output is a
 * branch, and the valgrind suppression in tests/ct/ names exactly this frame
 * (the point is published anyway: it is A or R). */
__attribute__((noinline)) int sotto__ed25519_basemul(uint8_t out[32], const uint8_t n[32])
{
	return (int)((unsigned)crypto_scalarmult_ed25519_base_noclamp(out, n) & 1u);
}

/* x mod L for a 32-byte little-endian integer. */
static void scalar_reduce32(uint8_t out[32], const uint8_t in[32])
{
	uint8_t wide[64] = { 0 };
	memcpy(wide, in, 32);
	crypto_core_ed25519_scalar_reduce(out, wide);
	sotto_memzero(wide, sizeof wide);
}

/* SHA-512 of the parts, reduced mod L. */
static int hash_scalar(uint8_t out[32], const sotto_iov *parts, size_t n)
{
	uint8_t digest[64];
	int rc = sotto_sha512_v(digest, parts, n);
	if (rc == SOTTO_OK)
		crypto_core_ed25519_scalar_reduce(out, digest);
	sotto_memzero(digest, sizeof digest);
	return rc;
}

/* s < L (public data). */
static int scalar_is_canonical(const uint8_t s[32])
{
	for (int i = 31; i >= 0; i--) {
		if (s[i] != L_LE[i])
			return s[i] < L_LE[i];
	}
	return 0;
}

static int is_all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != v)
			return 0;
	}
	return 1;
}

/* RFC 8032 §5.1.3 decoding succeeds only for y < p, and not for x = 0 with
 * the sign bit set (x = 0 happens for y = 1 and y = p - 1). */
static int point_is_canonical(const uint8_t A[32])
{
	uint8_t top = A[31] & 0x7f;
	int mid_ff = is_all(A + 1, 30, 0xff) && top == 0x7f;
	if (mid_ff && A[0] >= 0xed)
		return 0; /* y >= p */
	if (A[31] & 0x80) {
		if (A[0] == 0x01 && is_all(A + 1, 30, 0x00) && top == 0)
			return 0; /* y = 1, x = -0 */
		if (A[0] == 0xec && mid_ff)
			return 0; /* y = p - 1, x = -0 */
	}
	return 1;
}

/* The verification equation for an already decoded A (Aenc is hashed as
 * given). Everything here is public, so the variable-time double-scalar
 * multiplication does the work: one pass computes s*B - h*A. h is used as
 * the integer it is (h < L, not reduced further), so a torsion component of
 * A is multiplied by h exactly as libsignal/curve25519-dalek do. */
static int verify_point(const sotto__ge_p3 *A, const uint8_t Aenc[32], const uint8_t R[32],
			const uint8_t sr[32], const uint8_t *msg, size_t msglen)
{
	uint8_t h[32], chk[32];
	sotto__ge_p3 P;

	const sotto_iov parts[3] = { { R, 32 }, { Aenc, 32 }, { msg, msglen } };
	int rc = hash_scalar(h, parts, 3);
	if (rc != SOTTO_OK)
		return rc;
	if (sotto__ge_vt_double_scalarmult(&P, h, A, sr) != 0)
		return SOTTO_ERR_INTERNAL;
	/* Byte comparison with the canonical encoding: a non-canonical R never
	 * matches, as in libsignal and RFC 8032. */
	sotto__ge_vt_tobytes(chk, &P);
	return sotto_memeq(chk, R, 32) ? SOTTO_OK : SOTTO_ERR_INVALID_SIGNATURE;
}

/* The rules' checks on s; writes the scalar to multiply B by. */
static int check_s(uint8_t sr[32], const uint8_t s[32], enum sotto__eddsa_rules rules)
{
	if (rules == SOTTO__EDDSA_XEDDSA) {
		/* libsignal: s with any of bits 253..255 set is rejected, anything
		 * below 2^253 is reduced mod L (so s and s + L both verify). */
		if (s[31] & 0xe0)
			return SOTTO_ERR_INVALID_SIGNATURE;
		scalar_reduce32(sr, s);
	} else {
		if (!scalar_is_canonical(s))
			return SOTTO_ERR_INVALID_SIGNATURE;
		memcpy(sr, s, 32);
	}
	return SOTTO_OK;
}

int sotto__eddsa_verify(const uint8_t Aenc[32], const uint8_t R[32], const uint8_t s[32],
			const uint8_t *msg, size_t msglen, enum sotto__eddsa_rules rules)
{
	uint8_t sr[32];
	sotto__ge_p3 A;

	if (sotto__backend_init() != SOTTO_OK || sotto__ge_vt_init() != 0)
		return SOTTO_ERR_INTERNAL;
	if (msglen > 0 && msg == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = check_s(sr, s, rules);
	if (rc != SOTTO_OK)
		return rc;
	if (rules == SOTTO__EDDSA_RFC8032 && !point_is_canonical(Aenc))
		return SOTTO_ERR_INVALID_SIGNATURE;
	/* libsodium 1.0.18's decoding rules (y reduced mod p, x = 0 with the
	 * sign bit accepted), which the previous libsodium-based code applied
	 * to A; fails only for a y with no curve point. */
	if (sotto__ge_vt_frombytes(&A, Aenc) != 0)
		return SOTTO_ERR_INVALID_SIGNATURE;
	return verify_point(&A, Aenc, R, sr, msg, msglen);
}

int sotto_xeddsa_sign(uint8_t sig[SOTTO_XEDDSA_SIG_BYTES], const uint8_t priv[SOTTO_X25519_BYTES],
		      const uint8_t *msg, size_t msglen,
		      const uint8_t random[SOTTO_XEDDSA_RANDOM_BYTES])
{
	static const uint8_t prefix[32] = {
		0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	uint8_t k[32], a[32], Aenc[32], r[32], R[32], h[32], ha[32], s[32];
	int rc;

	if (sotto__backend_init() != SOTTO_OK)
		return SOTTO_ERR_INTERNAL;
	if (msglen > 0 && msg == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* libsignal clamps every private key when it is loaded, and hashes the
	 * clamped bytes below; clamping a copy gives its result for any input. */
	memcpy(k, priv, 32);
	sotto_x25519_clamp(k);
	/* a = k mod L, A = aB, NOT negated (libsignal differs from the spec's
	 * calculate_key_pair here and ships A's sign bit in the signature). A
	 * clamped k is never a multiple of L, so A is never the identity. */
	scalar_reduce32(a, k);
	int bad = sotto__ed25519_basemul(Aenc, a);

	/* r = hash1(a || M || Z) with hash1 = SHA512(2^256 - 2 - 1 || ...): the
	 * spec's prefix 0xFE 0xFF*31, applied to the clamped key bytes. */
	const sotto_iov p1[4] = { { prefix, 32 }, { k, 32 }, { msg, msglen }, { random, 64 } };
	rc = hash_scalar(r, p1, 4);
	if (rc != SOTTO_OK)
		goto cleanup;
	/* r = 0 mod L (probability 2^-252) makes libsodium report the identity,
	 * but it has written the identity's encoding, which is the right R; the
	 * signature is valid and identical to libsignal's, so not an error. */
	(void)sotto__ed25519_basemul(R, r);

	const sotto_iov p2[3] = { { R, 32 }, { Aenc, 32 }, { msg, msglen } };
	rc = hash_scalar(h, p2, 3);
	if (rc != SOTTO_OK)
		goto cleanup;
	crypto_core_ed25519_scalar_mul(ha, h, a);
	crypto_core_ed25519_scalar_add(s, ha, r);

	memcpy(sig, R, 32);
	memcpy(sig + 32, s, 32);
	/* s < L < 2^253, so bit 255 is free for A's sign bit. */
	sig[63] = (uint8_t)((sig[63] & 0x7f) | (Aenc[31] & 0x80));
	/* bad cannot be 1 (see above); if it were, clear the output without
	 * branching on it and report it through the return value. */
	uint8_t keep = (uint8_t)((unsigned)bad - 1u);
	for (size_t i = 0; i < SOTTO_XEDDSA_SIG_BYTES; i++)
		sig[i] &= keep;
	rc = (int)((unsigned)-bad & (unsigned)SOTTO_ERR_INTERNAL);
cleanup:
	sotto_memzero(k, sizeof k);
	sotto_memzero(a, sizeof a);
	sotto_memzero(r, sizeof r);
	sotto_memzero(ha, sizeof ha);
	sotto_memzero(s, sizeof s);
	return rc;
}

/* The Montgomery -> Edwards map of the last few keys this thread verified
 * with. It is a pure function of public bytes (u and the sign bit), but one
 * exponentiation (~8% of a verification), and group messages mostly come in
 * runs from the same sender key. Only successes are kept (a key that maps to
 * no point costs the same exponentiation again, which is the old behaviour).
 * Round-robin replacement; per thread, so no locking. */
#define KEY_MEMO_SLOTS 4

static _Thread_local struct {
	struct {
		uint8_t u[32];
		uint8_t sign;
		uint8_t used;
		uint8_t Aenc[32];
		sotto__ge_p3 A;
	} slot[KEY_MEMO_SLOTS];
	unsigned next;
} key_memo;

static int key_from_mont(sotto__ge_p3 *A, uint8_t Aenc[32], const uint8_t u[32], unsigned sign)
{
	sign &= 1;
	for (unsigned i = 0; i < KEY_MEMO_SLOTS; i++) {
		if (key_memo.slot[i].used && key_memo.slot[i].sign == sign &&
		    memcmp(key_memo.slot[i].u, u, 32) == 0) {
			*A = key_memo.slot[i].A;
			memcpy(Aenc, key_memo.slot[i].Aenc, 32);
			return 0;
		}
	}
	if (sotto__ge_vt_from_mont(A, Aenc, u, sign) != 0)
		return -1;
	unsigned i = key_memo.next;
	key_memo.next = (i + 1) % KEY_MEMO_SLOTS;
	memcpy(key_memo.slot[i].u, u, 32);
	key_memo.slot[i].sign = (uint8_t)sign;
	key_memo.slot[i].used = 1;
	memcpy(key_memo.slot[i].Aenc, Aenc, 32);
	key_memo.slot[i].A = *A;
	return 0;
}

int sotto_xeddsa_verify(const uint8_t pub[SOTTO_X25519_BYTES], const uint8_t *msg, size_t msglen,
			const uint8_t sig[SOTTO_XEDDSA_SIG_BYTES])
{
	uint8_t Aenc[32], s[32], sr[32];
	sotto__ge_p3 A;

	if (sotto__backend_init() != SOTTO_OK || sotto__ge_vt_init() != 0)
		return SOTTO_ERR_INTERNAL;
	if (msglen > 0 && msg == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* The sign of A comes from bit 7 of sig[63]; u = -1 and u that map to
	 * no curve point fail (dalek's to_edwards). The map hands over the
	 * decoded point with its canonical encoding (what
	 * sotto__eddsa_verify(Aenc, ...) would decode again). */
	if (key_from_mont(&A, Aenc, pub, sig[63] >> 7) != 0)
		return SOTTO_ERR_INVALID_SIGNATURE;
	memcpy(s, sig + 32, 32);
	s[31] &= 0x7f;
	int rc = check_s(sr, s, SOTTO__EDDSA_XEDDSA);
	if (rc != SOTTO_OK)
		return rc;
	return verify_point(&A, Aenc, sig, sr, msg, msglen);
}

int sotto_xeddsa_verify_buf(const uint8_t *pub, size_t publen, const uint8_t *msg, size_t msglen,
			    const uint8_t *sig, size_t siglen)
{
	if (pub == NULL || sig == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (publen == SOTTO_CURVE_PUBLIC_BYTES) {
		if (pub[0] != SOTTO_CURVE_KEY_TYPE_DJB)
			return SOTTO_ERR_INVALID_KEY;
		pub++;
	} else if (publen != SOTTO_X25519_BYTES) {
		return SOTTO_ERR_INVALID_KEY;
	}
	if (siglen != SOTTO_XEDDSA_SIG_BYTES)
		return SOTTO_ERR_INVALID_SIGNATURE;
	return sotto_xeddsa_verify(pub, msg, msglen, sig);
}

/* RFC 8032 §5.1.5: the secret scalar is the clamped first half of
 * SHA512(seed), the nonce prefix the second half. */
static int ed25519_expand(uint8_t a[32], uint8_t prefix[32], const uint8_t seed[32])
{
	uint8_t digest[64];
	int rc = sotto_sha512(digest, seed, 32);
	if (rc == SOTTO_OK) {
		digest[0] &= 248;
		digest[31] &= 127;
		digest[31] |= 64;
		scalar_reduce32(a, digest);
		memcpy(prefix, digest + 32, 32);
	}
	sotto_memzero(digest, sizeof digest);
	return rc;
}

int sotto__ed25519_public(uint8_t pk[32], const uint8_t seed[32])
{
	uint8_t a[32], prefix[32];
	int rc = ed25519_expand(a, prefix, seed);
	if (rc == SOTTO_OK && sotto__ed25519_basemul(pk, a) != 0)
		rc = SOTTO_ERR_INTERNAL;
	sotto_memzero(a, sizeof a);
	sotto_memzero(prefix, sizeof prefix);
	return rc;
}

int sotto__ed25519_sign(uint8_t sig[64], const uint8_t seed[32], const uint8_t *msg,
			size_t msglen)
{
	uint8_t a[32], prefix[32], A[32], r[32], h[32], ha[32];
	int rc = ed25519_expand(a, prefix, seed);
	if (rc != SOTTO_OK)
		goto cleanup;
	if (sotto__ed25519_basemul(A, a) != 0) {
		rc = SOTTO_ERR_INTERNAL;
		goto cleanup;
	}
	const sotto_iov p1[2] = { { prefix, 32 }, { msg, msglen } };
	if ((rc = hash_scalar(r, p1, 2)) != SOTTO_OK)
		goto cleanup;
	(void)sotto__ed25519_basemul(sig, r); /* identity for r = 0 is correct */
	const sotto_iov p2[3] = { { sig, 32 }, { A, 32 }, { msg, msglen } };
	if ((rc = hash_scalar(h, p2, 3)) != SOTTO_OK)
		goto cleanup;
	crypto_core_ed25519_scalar_mul(ha, h, a);
	crypto_core_ed25519_scalar_add(sig + 32, ha, r);
cleanup:
	sotto_memzero(a, sizeof a);
	sotto_memzero(prefix, sizeof prefix);
	sotto_memzero(r, sizeof r);
	sotto_memzero(ha, sizeof ha);
	return rc;
}
