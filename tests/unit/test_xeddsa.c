/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* XEdDSA and X25519 behaviour beyond the vector files: round trips, bit
 * flips, libsignal's verification rules (sign bit, s range, u = -1), spec-exact
 * signatures, buffer lengths, the canonical-key check on low-order and
 * mixed-order points, and the Montgomery/Edwards maps against libsodium. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/curve_internal.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"
#include "testutil.h"

static uint64_t rng = 0x5eedc0ffee123457ULL;

static const uint8_t P_MINUS_1[32] = {
	0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
};
static const uint8_t L_LE[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

static void keypair(uint8_t pub[32], uint8_t priv[32])
{
	tu_randbytes(&rng, priv, 32);
	sotto_x25519_clamp(priv);
	CHECK_RC(sotto_x25519_public(pub, priv), 0);
}

/* libsignal's own test vector (rust/core/src/curve/curve25519.rs,
 * test_signature): its key, message (a pub33) and signature. */
static void libsignal_kat(void)
{
	uint8_t priv[32], pub[32], msg[33], sig[64], mine[32];
	CHECK(tu_unhex_into(priv, 32, "c097248412e58bf05df487968205132794178e367637f5818f81e0e6ce73e865") == 0);
	CHECK(tu_unhex_into(pub, 32, "ab7e717d4a163b7d9a1d8071dfe9dcf8cdcd1cea3339b6356be84d887e322c64") == 0);
	CHECK(tu_unhex_into(msg, 33, "05edce9d9c415ca78cb7252e72c2c4a554d3eb29485a0e1d503118d1a82d99fb4a") == 0);
	CHECK(tu_unhex_into(sig, 64, "5de88ca9a89b4a115da79109c67c9c7464a3e4180274f1cb8c63c2984e286dfb"
				     "ede82deb9dcd9fae0bfbb821569b3d9001bd8130cd11d486cef047bd60b86e88") == 0);
	CHECK_RC(sotto_x25519_public(mine, priv), 0);
	CHECK_MEM(mine, pub, 32);
	CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, sig), 0);
	for (size_t i = 0; i < 64; i++) {
		sig[i] ^= 1;
		CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, sig), SOTTO_ERR_INVALID_SIGNATURE);
		sig[i] ^= 1;
	}
}

static void round_trips(void)
{
	uint8_t pub[32], priv[32], z[64], sig[64], sig2[64], pub33[33];
	static uint8_t msg[2001];
	size_t ok = 0, n = 300;
	int signs[2] = { 0, 0 };
	for (size_t i = 0; i < n; i++) {
		keypair(pub, priv);
		size_t len = i == 0 ? 0 : (size_t)(tu_rand64(&rng) % (i < 200 ? 100 : sizeof msg));
		tu_randbytes(&rng, msg, len);
		tu_randbytes(&rng, z, 64);
		int good = sotto_xeddsa_sign(sig, priv, len ? msg : NULL, len, z) == 0;
		good = good && sotto_xeddsa_verify(pub, msg, len, sig) == 0;
		pub33[0] = 0x05;
		memcpy(pub33 + 1, pub, 32);
		good = good && sotto_xeddsa_verify_buf(pub33, 33, msg, len, sig, 64) == 0;
		good = good && sotto_xeddsa_verify_buf(pub, 32, msg, len, sig, 64) == 0;
		/* Deterministic in (priv, msg, Z); a fresh Z gives a new valid one. */
		good = good && sotto_xeddsa_sign(sig2, priv, msg, len, z) == 0 &&
		       memcmp(sig, sig2, 64) == 0;
		z[0] ^= 1;
		good = good && sotto_xeddsa_sign(sig2, priv, msg, len, z) == 0 &&
		       memcmp(sig, sig2, 64) != 0 && sotto_xeddsa_verify(pub, msg, len, sig2) == 0;
		/* An unclamped private key signs like its clamped form. */
		uint8_t raw[32];
		memcpy(raw, priv, 32);
		raw[0] |= 7;
		raw[31] ^= 0xc0;
		z[0] ^= 1;
		good = good && sotto_xeddsa_sign(sig2, raw, msg, len, z) == 0 &&
		       memcmp(sig, sig2, 64) == 0;
		signs[sig[63] >> 7]++;
		ok += good;
	}
	CHECK(ok == n);
	/* Both signs of A occur, so both paths of the sign bit ran. */
	CHECK(signs[0] > 0 && signs[1] > 0);
	printf("round trips: %zu/%zu (sign bit 0: %d, 1: %d)\n", ok, n, signs[0], signs[1]);
}

static void bit_flips(void)
{
	uint8_t pub[32], priv[32], z[64], sig[64], msg[24];
	size_t rejected = 0, tried = 0;
	for (int k = 0; k < 3; k++) {
		keypair(pub, priv);
		tu_randbytes(&rng, msg, sizeof msg);
		tu_randbytes(&rng, z, 64);
		CHECK_RC(sotto_xeddsa_sign(sig, priv, msg, sizeof msg, z), 0);
		for (size_t b = 0; b < 512; b++, tried++) {
			sig[b / 8] ^= (uint8_t)(1u << (b % 8));
			rejected += sotto_xeddsa_verify(pub, msg, sizeof msg, sig) ==
				    SOTTO_ERR_INVALID_SIGNATURE;
			sig[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		for (size_t b = 0; b < 8 * sizeof msg; b++, tried++) {
			msg[b / 8] ^= (uint8_t)(1u << (b % 8));
			rejected += sotto_xeddsa_verify(pub, msg, sizeof msg, sig) ==
				    SOTTO_ERR_INVALID_SIGNATURE;
			msg[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		for (size_t b = 0; b < 255; b++, tried++) {
			pub[b / 8] ^= (uint8_t)(1u << (b % 8));
			rejected += sotto_xeddsa_verify(pub, msg, sizeof msg, sig) ==
				    SOTTO_ERR_INVALID_SIGNATURE;
			pub[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		/* Bit 255 of u is ignored by libsignal (dalek's from_bytes masks
		 * it), so that one flip still verifies. */
		pub[31] ^= 0x80;
		CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, sig), 0);
		pub[31] ^= 0x80;
		CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, sig), 0);
	}
	CHECK(rejected == tried);
	printf("bit flips rejected: %zu/%zu\n", rejected, tried);
}

/* The XEdDSA spec's own signer: calculate_key_pair negates a when A's sign
 * bit is 1, so A always has sign 0 and sig[63] bit 7 stays 0. */
static void spec_sign(uint8_t sig[64], const uint8_t priv[32], const uint8_t *msg, size_t len,
		      const uint8_t z[64])
{
	uint8_t wide[64] = { 0 }, a[32], A[32], r[32], R[32], h[32], ha[32], d[64];
	memcpy(wide, priv, 32);
	crypto_core_ed25519_scalar_reduce(a, wide);
	CHECK(crypto_scalarmult_ed25519_base_noclamp(A, a) == 0);
	if (A[31] & 0x80) {
		uint8_t na[32];
		crypto_core_ed25519_scalar_negate(na, a);
		memcpy(a, na, 32);
		CHECK(crypto_scalarmult_ed25519_base_noclamp(A, a) == 0);
	}
	CHECK((A[31] & 0x80) == 0);
	uint8_t *buf = malloc(32 + 32 + len + 64 + 1);
	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	memset(buf, 0xff, 32);
	buf[0] = 0xfe;
	memcpy(buf + 32, a, 32);
	if (len)
		memcpy(buf + 64, msg, len);
	memcpy(buf + 64 + len, z, 64);
	CHECK(sotto_sha512(d, buf, 128 + len) == 0);
	crypto_core_ed25519_scalar_reduce(r, d);
	CHECK(crypto_scalarmult_ed25519_base_noclamp(R, r) == 0);
	memcpy(buf, R, 32);
	memcpy(buf + 32, A, 32);
	if (len)
		memcpy(buf + 64, msg, len);
	CHECK(sotto_sha512(d, buf, 64 + len) == 0);
	crypto_core_ed25519_scalar_reduce(h, d);
	crypto_core_ed25519_scalar_mul(ha, h, a);
	memcpy(sig, R, 32);
	crypto_core_ed25519_scalar_add(sig + 32, ha, r);
	free(buf);
}

static void spec_signatures(void)
{
	uint8_t pub[32], priv[32], z[64], sig[64], lsig[64], msg[40];
	int negated = 0;
	for (int i = 0; i < 40; i++) {
		keypair(pub, priv);
		tu_randbytes(&rng, msg, sizeof msg);
		tu_randbytes(&rng, z, 64);
		spec_sign(sig, priv, msg, sizeof msg, z);
		CHECK((sig[63] & 0x80) == 0);
		CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, sig), 0);
		CHECK_RC(sotto_xeddsa_sign(lsig, priv, msg, sizeof msg, z), 0);
		if (lsig[63] & 0x80) {
			negated++;
			/* Same key, other sign convention: the signatures differ,
			 * both verify. */
			CHECK(memcmp(lsig, sig, 64) != 0);
		}
		CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, lsig), 0);
	}
	CHECK(negated > 0);
}

static void s_range(void)
{
	uint8_t pub[32], priv[32], z[64], sig[64], t[64], msg[8] = "s range";
	int plus_l_tested = 0, plus_2l = 0;
	for (int i = 0; i < 16; i++) {
		keypair(pub, priv);
		tu_randbytes(&rng, z, 64);
		CHECK_RC(sotto_xeddsa_sign(sig, priv, msg, sizeof msg, z), 0);
		uint8_t s[32];
		memcpy(s, sig + 32, 32);
		s[31] &= 0x7f;
		/* s + L < 2^253 is accepted (reduced, no canonical check), as
		 * libsignal; s + 2L >= 2^253 is rejected by the bit 253/254 rule
		 * even though it reduces to the same scalar. */
		uint8_t s1[32], s2[32];
		memcpy(s1, s, 32);
		sodium_add(s1, L_LE, 32);
		memcpy(s2, s1, 32);
		sodium_add(s2, L_LE, 32);
		memcpy(t, sig, 64);
		memcpy(t + 32, s1, 32);
		t[63] |= sig[63] & 0x80;
		if ((s1[31] & 0x60) == 0) {
			plus_l_tested++;
			CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, t), 0);
		} else {
			CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, t),
				 SOTTO_ERR_INVALID_SIGNATURE);
		}
		CHECK((s2[31] & 0x60) != 0 && (s2[31] & 0x80) == 0);
		memcpy(t + 32, s2, 32);
		t[63] |= sig[63] & 0x80;
		CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, t), SOTTO_ERR_INVALID_SIGNATURE);
		plus_2l++;
		/* Bits 253 and 254 each on their own. */
		memcpy(t, sig, 64);
		t[63] |= 0x20;
		CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, t), SOTTO_ERR_INVALID_SIGNATURE);
		memcpy(t, sig, 64);
		t[63] |= 0x40;
		CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, t), SOTTO_ERR_INVALID_SIGNATURE);
	}
	CHECK(plus_l_tested > 0 && plus_2l > 0);
}

static void bad_keys_and_lengths(void)
{
	uint8_t pub[32], priv[32], z[64], sig[64], msg[5] = "hello", u[32], ed[32];
	keypair(pub, priv);
	tu_randbytes(&rng, z, 64);
	CHECK_RC(sotto_xeddsa_sign(sig, priv, msg, sizeof msg, z), 0);
	/* u = -1 has no Edwards point (division by zero): fails, also with
	 * bit 255 set, which is ignored. */
	memcpy(u, P_MINUS_1, 32);
	CHECK_RC(sotto__mont_to_edwards(ed, u, 0), SOTTO_ERR_INVALID_KEY);
	CHECK_RC(sotto_xeddsa_verify(u, msg, sizeof msg, sig), SOTTO_ERR_INVALID_SIGNATURE);
	sig[63] ^= 0x80;
	CHECK_RC(sotto_xeddsa_verify(u, msg, sizeof msg, sig), SOTTO_ERR_INVALID_SIGNATURE);
	sig[63] ^= 0x80;
	u[31] |= 0x80;
	CHECK_RC(sotto_xeddsa_verify(u, msg, sizeof msg, sig), SOTTO_ERR_INVALID_SIGNATURE);
	CHECK(sotto_x25519_is_canonical(P_MINUS_1) == 0);

	/* Lengths and type bytes. */
	uint8_t pub33[34] = { 0x05 }, big[65];
	memcpy(pub33 + 1, pub, 32);
	memcpy(big, sig, 64);
	big[64] = 0;
	CHECK_RC(sotto_xeddsa_verify_buf(pub33, 33, msg, sizeof msg, sig, 64), 0);
	CHECK_RC(sotto_xeddsa_verify_buf(pub33, 33, msg, sizeof msg, sig, 63),
		 SOTTO_ERR_INVALID_SIGNATURE);
	CHECK_RC(sotto_xeddsa_verify_buf(pub33, 33, msg, sizeof msg, big, 65),
		 SOTTO_ERR_INVALID_SIGNATURE);
	CHECK_RC(sotto_xeddsa_verify_buf(pub33, 33, msg, sizeof msg, sig, 0),
		 SOTTO_ERR_INVALID_SIGNATURE);
	CHECK_RC(sotto_xeddsa_verify_buf(pub33, 34, msg, sizeof msg, sig, 64),
		 SOTTO_ERR_INVALID_KEY);
	CHECK_RC(sotto_xeddsa_verify_buf(pub, 31, msg, sizeof msg, sig, 64), SOTTO_ERR_INVALID_KEY);
	CHECK_RC(sotto_xeddsa_verify_buf(pub, 0, msg, sizeof msg, sig, 64), SOTTO_ERR_INVALID_KEY);
	pub33[0] = 0x06;
	CHECK_RC(sotto_xeddsa_verify_buf(pub33, 33, msg, sizeof msg, sig, 64),
		 SOTTO_ERR_INVALID_KEY);
	CHECK_RC(sotto_xeddsa_verify_buf(NULL, 33, msg, sizeof msg, sig, 64),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_xeddsa_verify(pub, NULL, 3, sig), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_xeddsa_sign(sig, priv, NULL, 3, z), SOTTO_ERR_INVALID_ARGUMENT);
	/* An empty message may be NULL. */
	CHECK_RC(sotto_xeddsa_sign(sig, priv, NULL, 0, z), 0);
	CHECK_RC(sotto_xeddsa_verify(pub, NULL, 0, sig), 0);
	CHECK_RC(sotto_xeddsa_verify(pub, msg, 1, sig), SOTTO_ERR_INVALID_SIGNATURE);
}

/* The README list of edwards25519 low-order points (canonical encodings);
 * the identity (y = 1) has no u and is left out. */
static const char *const low_order_ed[] = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void canonical_check(void)
{
	uint8_t pub[32], priv[32], u[32], ed[32], P[32], T[32], PT[32], back[32], lib[32], zero[32];
	int good = 0, mixed_rejected = 0;
	static const uint8_t ident[32] = { 1 };
	CHECK_RC(sotto__edwards_to_mont(u, ident), SOTTO_ERR_INVALID_KEY);
	for (int i = 0; i < 50; i++) {
		keypair(pub, priv);
		good += sotto_x25519_is_canonical(pub) == 1;
		/* The maps agree with libsodium's X25519 and Ed25519->X25519. */
		uint8_t wide[64] = { 0 }, a[32];
		memcpy(wide, priv, 32);
		crypto_core_ed25519_scalar_reduce(a, wide);
		CHECK(crypto_scalarmult_ed25519_base_noclamp(P, a) == 0);
		CHECK_RC(sotto__edwards_to_mont(u, P), 0);
		CHECK_MEM(u, pub, 32);
		CHECK(crypto_sign_ed25519_pk_to_curve25519(lib, P) == 0);
		CHECK_MEM(lib, pub, 32);
		CHECK_RC(sotto__mont_to_edwards(back, pub, P[31] >> 7), 0);
		CHECK_MEM(back, P, 32);
		/* Add each non-identity low-order point: mixed order, torsion
		 * component present, so not canonical even though u < p. */
		for (size_t t = 0; t < sizeof low_order_ed / sizeof low_order_ed[0]; t++) {
			CHECK(tu_unhex_into(T, 32, low_order_ed[t]) == 0);
			CHECK(crypto_core_ed25519_add(PT, P, T) == 0);
			CHECK_RC(sotto__edwards_to_mont(u, PT), 0);
			CHECK((u[31] & 0x80) == 0);
			mixed_rejected += sotto_x25519_is_canonical(u) == 0;
			/* Its own map back (sign of PT) round-trips. */
			CHECK_RC(sotto__mont_to_edwards(back, u, PT[31] >> 7), 0);
			CHECK_MEM(back, PT, 32);
		}
		/* Bit 255 set or u >= p: out of range even for a good point. */
		memcpy(u, pub, 32);
		u[31] |= 0x80;
		CHECK(sotto_x25519_is_canonical(u) == 0);
	}
	CHECK(good == 50);
	CHECK(mixed_rejected == 50 * 7);
	/* Low-order points themselves: u = 0 (order 2), u = 1 (order 4), the
	 * order-8 u values; then p, p + 1 (non-canonical 0 and 1). */
	for (size_t t = 0; t < sizeof low_order_ed / sizeof low_order_ed[0]; t++) {
		CHECK(tu_unhex_into(T, 32, low_order_ed[t]) == 0);
		CHECK_RC(sotto__edwards_to_mont(u, T), 0);
		CHECK(sotto_x25519_is_canonical(u) == 0);
		/* And X25519 with them is the all-zero secret: rejected. */
		uint8_t out[32];
		CHECK_RC(sotto_x25519(out, priv, u), SOTTO_ERR_INVALID_KEY);
	}
	memset(zero, 0, 32);
	CHECK(sotto_x25519_is_canonical(zero) == 0);
	memcpy(u, P_MINUS_1, 32);
	u[0] = 0xed; /* p */
	CHECK(sotto_x25519_is_canonical(u) == 0);
	u[0] = 0xee; /* p + 1 */
	CHECK(sotto_x25519_is_canonical(u) == 0);
	/* The base point u = 9 is canonical; 2^255 - 1 is not. */
	uint8_t nine[32] = { 9 };
	CHECK(sotto_x25519_is_canonical(nine) == 1);
	memset(u, 0xff, 32);
	CHECK(sotto_x25519_is_canonical(u) == 0);
	/* Twist points (no Edwards point) are not canonical: u = 2 is on the
	 * twist of Curve25519 (u^3 + A u^2 + u = 8 + 4A + 2 is a non-square). */
	uint8_t two[32] = { 2 };
	CHECK_RC(sotto__mont_to_edwards(ed, two, 0), SOTTO_ERR_INVALID_KEY);
	CHECK(sotto_x25519_is_canonical(two) == 0);
	printf("canonical: %d good keys, %d mixed-order keys rejected\n", good, mixed_rejected);
}

/* XEdDSA with a mixed-order public key: libsignal keeps the torsion part
 * (cofactorless), so a signature made with the prime-order part's scalar a,
 * but hashed over enc(P + T), verifies exactly when h*T vanishes. */
static void mixed_order_verify(void)
{
	uint8_t pub[32], priv[32], sig[64], msg[16], P[32], T[32], PT[32], u[32];
	uint8_t wide[64] = { 0 }, a[32], r[32], h[32], ha[32], d[64];
	uint8_t buf[32 + 32 + sizeof msg];
	int accepted = 0, rejected = 0;
	CHECK(tu_unhex_into(T, 32, low_order_ed[2]) == 0); /* order 8 */
	for (int i = 0; i < 96; i++) {
		keypair(pub, priv);
		tu_randbytes(&rng, msg, sizeof msg);
		memcpy(wide, priv, 32);
		crypto_core_ed25519_scalar_reduce(a, wide);
		CHECK(crypto_scalarmult_ed25519_base_noclamp(P, a) == 0);
		CHECK(crypto_core_ed25519_add(PT, P, T) == 0);
		CHECK_RC(sotto__edwards_to_mont(u, PT), 0);
		crypto_core_ed25519_scalar_random(r);
		CHECK(crypto_scalarmult_ed25519_base_noclamp(sig, r) == 0);
		memcpy(buf, sig, 32);
		memcpy(buf + 32, PT, 32);
		memcpy(buf + 64, msg, sizeof msg);
		CHECK(sotto_sha512(d, buf, sizeof buf) == 0);
		crypto_core_ed25519_scalar_reduce(h, d);
		crypto_core_ed25519_scalar_mul(ha, h, a);
		crypto_core_ed25519_scalar_add(sig + 32, ha, r);
		sig[63] = (uint8_t)((sig[63] & 0x7f) | (PT[31] & 0x80));
		/* sB - h(P + T) = R - (h mod 8)T, and T has order 8. */
		int want = (h[0] & 7) == 0;
		int rc = sotto_xeddsa_verify(u, msg, sizeof msg, sig);
		CHECK(rc == (want ? 0 : SOTTO_ERR_INVALID_SIGNATURE));
		accepted += rc == 0;
		rejected += rc != 0;
	}
	CHECK(accepted > 0 && rejected > 0);
	printf("mixed-order key: %d accepted (h = 0 mod 8), %d rejected\n", accepted, rejected);
}

static void x25519_agree(void)
{
	uint8_t a_pub[32], a_priv[32], b_pub[32], b_priv[32], s1[32], s2[32];
	for (int i = 0; i < 50; i++) {
		CHECK_RC(sotto_x25519_keypair(a_pub, a_priv), 0);
		CHECK_RC(sotto_x25519_keypair(b_pub, b_priv), 0);
		CHECK((a_priv[0] & 7) == 0 && (a_priv[31] & 0xc0) == 0x40);
		CHECK_RC(sotto_x25519(s1, a_priv, b_pub), 0);
		CHECK_RC(sotto_x25519(s2, b_priv, a_pub), 0);
		CHECK_MEM(s1, s2, 32);
		CHECK(sotto_x25519_is_canonical(a_pub) == 1);
	}
}

int main(void)
{
	CHECK_RC(sotto_init(), 0);
	libsignal_kat();
	round_trips();
	bit_flips();
	spec_signatures();
	s_range();
	bad_keys_and_lengths();
	canonical_check();
	mixed_order_verify();
	x25519_agree();
	return tu_finish("unit-xeddsa");
}
