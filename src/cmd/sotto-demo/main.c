/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-demo: what exists so far, shown end to end in one process.
 *
 * 1. A power-on self-test of every primitive against published answers
 *    (RFC and FIPS examples), so a broken build or backend is caught before
 *    anything is encrypted with it.
 * 2. Two parties, Alice and Bob, who have never met: Bob publishes a signed
 *    prekey bundle (X25519 signed prekey with an XEdDSA signature, Kyber1024
 *    prekey), Alice verifies it and runs a PQXDH-shaped key agreement (four
 *    X25519 agreements plus a KEM encapsulation, HKDF over their
 *    concatenation), sends the KEM ciphertext, and both sides arrive at the
 *    same root key; Alice then encrypts a message that only Bob can read.
 *
 * Secrets are never printed: equality of derived keys is shown with a short
 * SHA-256 "key check value" of each side's key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/sotto.h"

static int failures;

static void report(const char *what, int ok)
{
	printf("  %-52s %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
}

static int unhex(uint8_t *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int matches(const uint8_t *got, const char *hex)
{
	uint8_t want[128];
	size_t n = strlen(hex) / 2;
	return n <= sizeof(want) && unhex(want, n, hex) == 0 && memcmp(got, want, n) == 0;
}

static void selftest(void)
{
	uint8_t out[128];
	printf("Self-test of the primitives (published answers):\n");

	report("SHA-256 (FIPS 180-4 \"abc\")",
	       sotto_sha256(out, (const uint8_t *)"abc", 3) == 0 &&
		       matches(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	report("SHA3-256 (FIPS 202 \"\")",
	       sotto_sha3_256(out, NULL, 0) == 0 &&
		       matches(out, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"));

	/* RFC 5869 test case 1. */
	uint8_t ikm[22], salt[13], info[10];
	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	report("HKDF-SHA256 (RFC 5869 case 1)",
	       sotto_hkdf_sha256(out, 42, salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info)) == 0 &&
		       matches(out, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
				    "34007208d5b887185865"));

	/* RFC 7748 section 5.2, first X25519 example. */
	uint8_t k[32], u[32];
	unhex(k, 32, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	unhex(u, 32, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	report("X25519 (RFC 7748 5.2)",
	       sotto_x25519(out, k, u) == 0 &&
		       matches(out, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"));

	/* RFC 8452 appendix C.2, first AES-256-GCM-SIV example (empty message). */
	uint8_t sivkey[32] = { 1 }, nonce[12] = { 3 };
	report("AES-256-GCM-SIV (RFC 8452 C.2)",
	       sotto_aes_gcm_siv_seal(out, sivkey, 32, nonce, NULL, 0, NULL, 0) == 0 &&
		       matches(out, "07f5f4169bbf55a8400cd47ea6fd400f"));

	/* XEdDSA and the KEMs have no published fixed answers (signatures are
	 * randomized, KEM vectors are large): check their defining properties. */
	uint8_t priv[32], pub[32], sig[64], z[64];
	int ok = sotto_x25519_keypair(pub, priv) == 0 && sotto_random(z, sizeof(z)) == 0 &&
		 sotto_xeddsa_sign(sig, priv, (const uint8_t *)"sotto", 5, z) == 0 &&
		 sotto_xeddsa_verify(pub, (const uint8_t *)"sotto", 5, sig) == 0;
	sig[5] ^= 1;
	ok = ok && sotto_xeddsa_verify(pub, (const uint8_t *)"sotto", 5, sig) != 0;
	report("XEdDSA sign/verify, forged signature rejected", ok);

	static uint8_t ek[SOTTO_MLKEM768_EK_BYTES], dk[SOTTO_MLKEM768_DK_BYTES],
		ct[SOTTO_MLKEM768_CT_BYTES];
	uint8_t s1[32], s2[32];
	ok = sotto_mlkem768_keypair(ek, dk) == 0 && sotto_mlkem768_encaps(ct, s1, ek) == 0 &&
	     sotto_mlkem768_decaps(s2, ct, dk) == 0 && sotto_memeq(s1, s2, 32);
	ct[0] ^= 1;
	ok = ok && sotto_mlkem768_decaps(s2, ct, dk) == 0 && !sotto_memeq(s1, s2, 32);
	report("ML-KEM-768 round trip, implicit rejection", ok);
	sotto_memzero(priv, sizeof(priv));
	sotto_memzero(dk, sizeof(dk));
}

struct party {
	uint8_t ik_pub[32], ik_priv[32];
};

static void kcv(const char *who, const uint8_t key[32])
{
	uint8_t h[32];
	if (sotto_sha256(h, key, 32) != 0)
		memset(h, 0, sizeof(h));
	printf("  %-6s root key check value: %02x%02x%02x%02x%02x%02x%02x%02x\n", who, h[0], h[1],
	       h[2], h[3], h[4], h[5], h[6], h[7]);
}

#define TRY(x)                                                                              \
	do {                                                                                \
		int rc_ = (x);                                                              \
		if (rc_ != 0) {                                                             \
			printf("  %s failed: %s\n", #x, sotto_strerror(rc_));               \
			failures++;                                                         \
			goto out;                                                           \
		}                                                                           \
	} while (0)

static void two_parties(void)
{
	static const uint8_t label[] = "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024";
	struct party alice, bob;
	uint8_t spk_pub[32], spk_priv[32], spk_sig[64], kyb_sig[64], z[64];
	static uint8_t kyb_pk[SOTTO_KYBER1024_PK_BYTES], kyb_sk[SOTTO_KYBER1024_SK_BYTES],
		kyb_ct[SOTTO_KYBER1024_CT_BYTES];
	uint8_t ek_pub[32], ek_priv[32];
	uint8_t a_secret[32 * 4 + 32], b_secret[32 * 4 + 32];
	uint8_t a_keys[96], b_keys[96];

	printf("\nTwo parties who never met agree on a key (PQXDH-shaped):\n");
	TRY(sotto_x25519_keypair(alice.ik_pub, alice.ik_priv));
	TRY(sotto_x25519_keypair(bob.ik_pub, bob.ik_priv));

	/* Bob's bundle: a signed X25519 prekey and a signed Kyber1024 prekey. */
	TRY(sotto_x25519_keypair(spk_pub, spk_priv));
	TRY(sotto_kyber1024_keypair(kyb_pk, kyb_sk));
	TRY(sotto_random(z, sizeof(z)));
	TRY(sotto_xeddsa_sign(spk_sig, bob.ik_priv, spk_pub, 32, z));
	TRY(sotto_random(z, sizeof(z)));
	TRY(sotto_xeddsa_sign(kyb_sig, bob.ik_priv, kyb_pk, sizeof(kyb_pk), z));
	printf("  Bob publishes a bundle: signed prekey, Kyber1024 prekey (%zu bytes)\n",
	       sizeof(kyb_pk));

	/* Alice checks both signatures before she trusts the bundle. */
	TRY(sotto_xeddsa_verify(bob.ik_pub, spk_pub, 32, spk_sig));
	TRY(sotto_xeddsa_verify(bob.ik_pub, kyb_pk, sizeof(kyb_pk), kyb_sig));
	printf("  Alice verifies both prekey signatures with Bob's identity key\n");

	/* Alice: DH1..DH3 with a fresh ephemeral, plus the KEM secret. */
	TRY(sotto_x25519_keypair(ek_pub, ek_priv));
	memset(a_secret, 0xff, 32);
	TRY(sotto_x25519(a_secret + 32, alice.ik_priv, spk_pub));
	TRY(sotto_x25519(a_secret + 64, ek_priv, bob.ik_pub));
	TRY(sotto_x25519(a_secret + 96, ek_priv, spk_pub));
	TRY(sotto_kyber1024_encaps(kyb_ct, a_secret + 128, kyb_pk));
	TRY(sotto_hkdf_sha256(a_keys, sizeof(a_keys), NULL, 0, a_secret, sizeof(a_secret), label,
			      sizeof(label) - 1));
	printf("  Alice sends her ephemeral key and the Kyber ciphertext (%zu bytes)\n",
	       sizeof(kyb_ct));

	/* Bob mirrors every agreement with his private keys. */
	memset(b_secret, 0xff, 32);
	TRY(sotto_x25519(b_secret + 32, spk_priv, alice.ik_pub));
	TRY(sotto_x25519(b_secret + 64, bob.ik_priv, ek_pub));
	TRY(sotto_x25519(b_secret + 96, spk_priv, ek_pub));
	TRY(sotto_kyber1024_decaps(b_secret + 128, kyb_ct, kyb_sk));
	TRY(sotto_hkdf_sha256(b_keys, sizeof(b_keys), NULL, 0, b_secret, sizeof(b_secret), label,
			      sizeof(label) - 1));
	kcv("Alice", a_keys);
	kcv("Bob", b_keys);
	report("both parties derived the same root and chain keys", sotto_memeq(a_keys, b_keys, 96));

	/* A message under the derived chain key: AES-256-CBC then HMAC-SHA256. */
	static const char msg[] = "Meet at the usual place at noon.";
	uint8_t mk[80], ct[64], mac[32], pt[64];
	size_t ctlen, ptlen;
	TRY(sotto_hkdf_sha256(mk, sizeof(mk), NULL, 0, a_keys + 32, 32,
			      (const uint8_t *)"WhisperMessageKeys", 18));
	TRY(sotto_aes_cbc_encrypt(ct, sizeof(ct), &ctlen, mk, 32, mk + 64, (const uint8_t *)msg,
				  sizeof(msg) - 1));
	TRY(sotto_hmac_sha256(mac, mk + 32, 32, ct, ctlen));
	printf("  Alice -> Bob: %zu bytes of ciphertext, first bytes %02x%02x%02x%02x...\n", ctlen,
	       ct[0], ct[1], ct[2], ct[3]);

	uint8_t bk[80], bmac[32];
	TRY(sotto_hkdf_sha256(bk, sizeof(bk), NULL, 0, b_keys + 32, 32,
			      (const uint8_t *)"WhisperMessageKeys", 18));
	TRY(sotto_hmac_sha256(bmac, bk + 32, 32, ct, ctlen));
	report("Bob's MAC check", sotto_memeq(mac, bmac, 32));
	TRY(sotto_aes_cbc_decrypt(pt, sizeof(pt), &ptlen, bk, 32, bk + 64, ct, ctlen));
	printf("  Bob reads: \"%.*s\"\n", (int)ptlen, (const char *)pt);
	report("Bob decrypted Alice's message", ptlen == sizeof(msg) - 1 && memcmp(pt, msg, ptlen) == 0);

	ct[ctlen - 1] ^= 0x01;
	TRY(sotto_hmac_sha256(bmac, bk + 32, 32, ct, ctlen));
	report("a tampered ciphertext fails the MAC", !sotto_memeq(mac, bmac, 32));
	sotto_memzero(mk, sizeof(mk));
	sotto_memzero(bk, sizeof(bk));
out:
	sotto_memzero(&alice, sizeof(alice));
	sotto_memzero(&bob, sizeof(bob));
	sotto_memzero(spk_priv, sizeof(spk_priv));
	sotto_memzero(ek_priv, sizeof(ek_priv));
	sotto_memzero(kyb_sk, sizeof(kyb_sk));
	sotto_memzero(a_secret, sizeof(a_secret));
	sotto_memzero(b_secret, sizeof(b_secret));
	sotto_memzero(a_keys, sizeof(a_keys));
	sotto_memzero(b_keys, sizeof(b_keys));
}

int main(void)
{
	if (sotto_init() != 0) {
		fprintf(stderr, "sotto-demo: library initialisation failed\n");
		return 1;
	}
	printf("Sotto %s demo\n\n", SOTTO_VERSION_STRING);
	selftest();
	two_parties();
	printf("\n%s\n", failures ? "DEMO FAILED" : "All steps succeeded.");
	return failures ? 1 : 0;
}
