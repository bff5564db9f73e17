/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-demo: what exists so far, shown end to end in one process.
 *
 * 1. A power-on self-test of every primitive against published answers
 *    (RFC and FIPS examples), so a broken build or backend is caught before
 *    anything is encrypted with it.
 * 2. Two parties, Alice and Bob, who have never met, each with in-memory
 *    stores: Bob publishes a prekey bundle, Alice processes it (signature
 *    checks, PQXDH, SPQR), and they exchange messages through the session
 *    API (the first one a PreKeySignalMessage); a tampered message is
 *    refused with Bob's stores unchanged, and a replay is refused.
 *
 * Secrets are never printed. */
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

/* One device of a party: identity, registration id and in-memory stores. */
struct party {
	const char *name;
	sotto_address addr;
	sotto_identity_keypair id;
	uint32_t reg;
	sotto_protocol_memstore *ms;
	sotto_protocol_stores st;
};

#define TRY(x)                                                                              \
	do {                                                                                \
		int rc_ = (x);                                                              \
		if (rc_ != 0) {                                                             \
			printf("  %s failed: %s\n", #x, sotto_strerror(rc_));               \
			failures++;                                                         \
			goto out;                                                           \
		}                                                                           \
	} while (0)

static int party_init(struct party *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->addr.name = name;
	p->addr.device_id = 1;
	if (sotto_identity_keypair_generate(&p->id, sotto_rng_system, NULL) != 0 ||
	    sotto_registration_id_generate(&p->reg, sotto_rng_system, NULL) != 0)
		return SOTTO_ERR_CRYPTO;
	p->ms = sotto_protocol_memstore_new(&p->id, p->reg);
	if (p->ms == NULL)
		return SOTTO_ERR_NOMEM;
	sotto_protocol_memstore_tables(p->ms, &p->st);
	return 0;
}

/* Sends pt from s to r; prints the message type and size. */
static int send_msg(struct party *s, struct party *r, const char *pt, uint8_t *ct, size_t cap,
		    size_t *len, int *type, uint64_t now)
{
	int rc = sotto_session_encrypt(&s->st, &s->addr, &r->addr, (const uint8_t *)pt, strlen(pt),
				       now, sotto_rng_system, NULL, ct, cap, len, type);

	if (rc == 0)
		printf("  %-5s -> %-5s %s, %zu bytes\n", s->name, r->name,
		       *type == SOTTO_MESSAGE_TYPE_PREKEY ? "PreKeySignalMessage" : "SignalMessage",
		       *len);
	return rc;
}

static int recv_msg(struct party *r, struct party *s, int type, const uint8_t *ct, size_t len,
		    const char *want)
{
	uint8_t pt[256];
	size_t n = 0;
	int rc = sotto_session_decrypt(&r->st, &r->addr, &s->addr, type, ct, len, sotto_rng_system,
				       NULL, pt, sizeof(pt), &n);

	if (rc != 0)
		return rc;
	printf("  %-5s reads \"%.*s\"\n", r->name, (int)n, (const char *)pt);
	report("plaintext arrived intact", n == strlen(want) && memcmp(pt, want, n) == 0);
	return 0;
}

static void two_parties(void)
{
	static const char *const lines[] = {
		"Meet at the usual place at noon.", "Noon works. Bring the map.",
		"Map packed. See you there.", "On my way.",
	};
	struct party alice, bob;
	sotto_prekey_record opk;
	sotto_signed_prekey_record spk;
	static sotto_kyber_prekey_record kpk;
	static sotto_prekey_bundle bundle;
	uint8_t ct[4096], snap1_digest[32], snap2_digest[32], *d = NULL;
	size_t len = 0, dlen = 0;
	uint64_t now = 1767225600000ull; /* the caller supplies the time (ms) */
	int type = 0, i;

	memset(&alice, 0, sizeof(alice));
	memset(&bob, 0, sizeof(bob));
	printf("\nTwo parties who never met start a session (PQXDH + triple ratchet):\n");
	TRY(party_init(&alice, "alice"));
	TRY(party_init(&bob, "bob"));

	/* Bob publishes a bundle: one-time, signed and Kyber1024 prekeys. */
	TRY(sotto_prekey_generate(&opk, 1, sotto_rng_system, NULL));
	TRY(sotto_signed_prekey_generate(&spk, 2, now, &bob.id, sotto_rng_system, NULL));
	TRY(sotto_kyber_prekey_generate(&kpk, 3, now, &bob.id, sotto_rng_system, NULL));
	TRY(bob.st.prekey.store(bob.st.prekey.ctx, &opk));
	TRY(bob.st.signed_prekey.store(bob.st.signed_prekey.ctx, &spk));
	TRY(bob.st.kyber_prekey.store(bob.st.kyber_prekey.ctx, &kpk));
	bundle.registration_id = bob.reg;
	bundle.device_id = 1;
	bundle.has_pre_key = 1;
	bundle.pre_key_id = opk.id;
	memcpy(bundle.pre_key, opk.key.pub, sizeof(bundle.pre_key));
	bundle.signed_pre_key_id = spk.id;
	memcpy(bundle.signed_pre_key, spk.key.pub, sizeof(bundle.signed_pre_key));
	memcpy(bundle.signed_pre_key_signature, spk.signature, 64);
	memcpy(bundle.identity_key, bob.id.pub, sizeof(bundle.identity_key));
	bundle.kyber_pre_key_id = kpk.id;
	memcpy(bundle.kyber_pre_key, kpk.pub, sizeof(bundle.kyber_pre_key));
	memcpy(bundle.kyber_pre_key_signature, kpk.signature, 64);
	printf("  Bob publishes a bundle (Kyber1024 prekey: %zu bytes)\n", sizeof(kpk.pub));

	/* Alice checks the signatures, runs PQXDH and starts SPQR. */
	TRY(sotto_session_process_bundle(&alice.st, &alice.addr, &bob.addr, &bundle, now,
					 sotto_rng_system, NULL));
	printf("  Alice verified the bundle and holds a session with Bob\n");

	for (i = 0; i < 4; i++) {
		struct party *s = i % 2 ? &bob : &alice, *r = i % 2 ? &alice : &bob;

		TRY(send_msg(s, r, lines[i], ct, sizeof(ct), &len, &type, now));
		TRY(recv_msg(r, s, type, ct, len, lines[i]));
	}

	/* A tampered message is refused and Bob's stores do not change. */
	TRY(send_msg(&alice, &bob, "This one gets tampered with.", ct, sizeof(ct), &len, &type,
		     now));
	TRY(sotto_protocol_memstore_dump(bob.ms, &d, &dlen));
	TRY(sotto_sha256(snap1_digest, d, dlen));
	sotto_memzero(d, dlen); /* the dump holds private keys */
	free(d);
	d = NULL;
	ct[len / 2] ^= 0x01;
	{
		uint8_t pt[256];
		size_t n = 0;
		int rc = sotto_session_decrypt(&bob.st, &bob.addr, &alice.addr, type, ct, len,
					       sotto_rng_system, NULL, pt, sizeof(pt), &n);

		report("a tampered message is refused", rc == SOTTO_ERR_INVALID_MESSAGE);
	}
	TRY(sotto_protocol_memstore_dump(bob.ms, &d, &dlen));
	TRY(sotto_sha256(snap2_digest, d, dlen));
	report("Bob's stores are unchanged by the failure",
	       sotto_memeq(snap1_digest, snap2_digest, 32));
	ct[len / 2] ^= 0x01;
	TRY(recv_msg(&bob, &alice, type, ct, len, "This one gets tampered with."));
	{
		uint8_t pt[256];
		size_t n = 0;

		report("a replay is refused",
		       sotto_session_decrypt(&bob.st, &bob.addr, &alice.addr, type, ct, len,
					     sotto_rng_system, NULL, pt, sizeof(pt),
					     &n) == SOTTO_ERR_DUPLICATE_MESSAGE);
	}
out:
	if (d != NULL)
		sotto_memzero(d, dlen);
	free(d);
	sotto_protocol_memstore_free(alice.ms);
	sotto_protocol_memstore_free(bob.ms);
	sotto_memzero(&alice, sizeof(alice));
	sotto_memzero(&bob, sizeof(bob));
	sotto_memzero(&opk, sizeof(opk));
	sotto_memzero(&spk, sizeof(spk));
	sotto_memzero(&kpk, sizeof(kpk));
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
