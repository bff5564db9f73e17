/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed sender: certificates (expiry, trust roots, revocation, tampering),
 * USMC round trip, v1 and v2 round trips, every single-bit flip rejected,
 * the v2 server split (devices, excluded recipients, truncations, malformed
 * entries), self-send rejection. */
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/sealed.h"
#include "testutil.h"

static uint64_t seed = 0xabcdef;

static int test_rng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	tu_randbytes(&seed, buf, len);
	return 0;
}

typedef struct kp {
	uint8_t pub[33];
	uint8_t priv[32];
} kp;

static void keypair(kp *k)
{
	k->pub[0] = 0x05;
	CHECK_RC(sotto_x25519_keypair(k->pub + 1, k->priv), 0);
}

static const char *SENDER_UUID = "9d0652a3-dcc3-4d11-975f-74d61598733f";
static const uint64_t EXPIRES = 1900000000000ull;
static const uint64_t NOW = 1800000000000ull;

int main(void)
{
	kp trust, server, alice, bob, carol, eve;
	keypair(&trust);
	keypair(&server);
	keypair(&alice);
	keypair(&bob);
	keypair(&carol);
	keypair(&eve);
	const uint8_t(*roots)[33] = (const uint8_t(*)[33]) & trust.pub;

	/* ---- certificates ---- */
	uint8_t scert[256], cert[1024];
	size_t scl, cl;
	CHECK_RC(sotto_server_cert_create(42, server.pub, trust.priv, test_rng, NULL, scert, sizeof scert, &scl), 0);
	CHECK_RC(sotto_server_cert_validate(scert, scl, trust.pub), 0);
	CHECK_RC(sotto_server_cert_validate(scert, scl, eve.pub), SOTTO_ERR_INVALID_CERTIFICATE);
	CHECK_RC(sotto_sender_cert_create(SENDER_UUID, "+15550001111", 3, alice.pub, EXPIRES, scert, scl,
					  server.priv, test_rng, NULL, cert, sizeof cert, &cl),
		 0);
	sotto_sender_cert *sc = NULL;
	CHECK_RC(sotto_sender_cert_parse(cert, cl, &sc), 0);
	if (sc == NULL)
		return tu_finish("sealed_sender");
	CHECK(strcmp(sotto_sender_cert_uuid(sc, NULL), SENDER_UUID) == 0);
	CHECK(strcmp(sotto_sender_cert_e164(sc, NULL), "+15550001111") == 0);
	CHECK(sotto_sender_cert_device(sc) == 3 && sotto_sender_cert_expires(sc) == EXPIRES);
	CHECK(memcmp(sotto_sender_cert_identity_key(sc), alice.pub, 33) == 0);
	CHECK_RC(sotto_sender_cert_validate(sc, roots, 1, NOW), 0);
	CHECK_RC(sotto_sender_cert_validate(sc, roots, 1, EXPIRES), 0);
	CHECK_RC(sotto_sender_cert_validate(sc, roots, 1, EXPIRES + 1), SOTTO_ERR_INVALID_CERTIFICATE);
	CHECK_RC(sotto_sender_cert_validate(sc, (const uint8_t(*)[33]) & eve.pub, 1, NOW),
		 SOTTO_ERR_INVALID_CERTIFICATE);
	CHECK_RC(sotto_sender_cert_validate(sc, NULL, 0, NOW), SOTTO_ERR_INVALID_CERTIFICATE);
	{
		uint8_t two[2][33];
		memcpy(two[0], eve.pub, 33);
		memcpy(two[1], trust.pub, 33);
		CHECK_RC(sotto_sender_cert_validate(sc, (const uint8_t(*)[33])two, 2, NOW), 0);
	}
	sotto_sender_cert_free(sc);
	/* Revoked server certificate id. */
	{
		uint8_t rs[256], rcert[1024];
		size_t rsl, rcl;
		CHECK_RC(sotto_server_cert_create(SOTTO_SEALED_REVOKED_SERVER_CERT_ID, server.pub, trust.priv, test_rng, NULL, rs, sizeof rs, &rsl), 0);
		CHECK_RC(sotto_server_cert_validate(rs, rsl, trust.pub), SOTTO_ERR_INVALID_CERTIFICATE);
		CHECK_RC(sotto_sender_cert_create(SENDER_UUID, NULL, 3, alice.pub, EXPIRES, rs, rsl, server.priv, test_rng, NULL, rcert, sizeof rcert, &rcl), 0);
		sotto_sender_cert *r = NULL;
		CHECK_RC(sotto_sender_cert_parse(rcert, rcl, &r), 0);
		CHECK(r != NULL && sotto_sender_cert_e164(r, NULL) == NULL);
		if (r != NULL)
			CHECK_RC(sotto_sender_cert_validate(r, roots, 1, NOW), SOTTO_ERR_INVALID_CERTIFICATE);
		sotto_sender_cert_free(r);
	}
	/* Every bit flip of the sender certificate: it fails to parse or to validate. */
	{
		size_t ok = 0, total = 0;
		for (size_t i = 0; i < cl; i++) {
			for (int bit = 0; bit < 8; bit++) {
				uint8_t t[1024];
				memcpy(t, cert, cl);
				t[i] ^= (uint8_t)(1u << bit);
				sotto_sender_cert *x = NULL;
				int rc = sotto_sender_cert_parse(t, cl, &x);
				total++;
				if (rc != 0)
					ok++;
				else
					ok += (size_t)(sotto_sender_cert_validate(x, roots, 1, NOW) != 0 ||
						       /* a flip in a field libsignal ignores */
						       0);
				sotto_sender_cert_free(x);
			}
		}
		tu_report("sender certificate bit flips rejected", ok, total);
	}
	/* Device id out of range. */
	CHECK_RC(sotto_sender_cert_create(SENDER_UUID, NULL, 128, alice.pub, EXPIRES, scert, scl, server.priv, test_rng, NULL, cert + 512, 512, &cl),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_sender_cert_create(SENDER_UUID, "+15550001111", 3, alice.pub, EXPIRES, scert, scl,
					  server.priv, test_rng, NULL, cert, sizeof cert, &cl),
		 0);

	/* ---- USMC ---- */
	uint8_t content[77];
	tu_randbytes(&seed, content, sizeof content);
	uint8_t usmc[2048];
	size_t ul;
	static const uint8_t gid[5] = {1, 2, 3, 4, 5};
	CHECK_RC(sotto_usmc_encode(SOTTO_SEALED_MSG_WHISPER, cert, cl, content, sizeof content,
				   SOTTO_SEALED_HINT_RESENDABLE, gid, sizeof gid, usmc, sizeof usmc, &ul),
		 0);
	CHECK_RC(sotto_usmc_encode(5, cert, cl, content, sizeof content, 0, NULL, 0, usmc + 1024, 1024, &cl),
		 SOTTO_ERR_INVALID_ARGUMENT);
	{
		sotto_usmc *u = NULL;
		CHECK_RC(sotto_usmc_parse(usmc, ul, &u), 0);
		if (u != NULL) {
			size_t n;
			const uint8_t *p = sotto_usmc_content(u, &n);
			CHECK(sotto_usmc_type(u) == SOTTO_SEALED_MSG_WHISPER && n == sizeof content &&
			      memcmp(p, content, n) == 0 && sotto_usmc_content_hint(u) == 1);
			p = sotto_usmc_group_id(u, &n);
			CHECK(p != NULL && n == 5 && memcmp(p, gid, 5) == 0);
		}
		sotto_usmc_free(u);
	}

	/* ---- v1 ---- */
	uint8_t v1[SOTTO_SEALED_V1_MAX(2048)];
	size_t v1l;
	CHECK_RC(sotto_sealed_v1_encrypt(bob.pub, alice.pub, alice.priv, usmc, ul, test_rng, NULL, v1,
					 sizeof v1, &v1l),
		 0);
	CHECK(v1[0] == 0x11);
	{
		sotto_usmc *u = NULL;
		CHECK_RC(sotto_sealed_decrypt(bob.pub, bob.priv, roots, 1, NOW, "bob-uuid", NULL, 1, v1, v1l, &u), 0);
		size_t n = 0;
		const uint8_t *s = u ? sotto_usmc_serialized(u, &n) : NULL;
		CHECK(s != NULL && n == ul && memcmp(s, usmc, n) == 0);
		sotto_usmc_free(u);
		u = NULL;
		CHECK_RC(sotto_sealed_decrypt(bob.pub, bob.priv, roots, 1, EXPIRES + 1, "bob-uuid", NULL, 1, v1, v1l, &u),
			 SOTTO_ERR_INVALID_CERTIFICATE);
		CHECK_RC(sotto_sealed_decrypt(bob.pub, bob.priv, roots, 1, NOW, SENDER_UUID, NULL, 3, v1, v1l, &u),
			 SOTTO_ERR_SEALED_SENDER_SELF_SEND);
		CHECK_RC(sotto_sealed_decrypt(bob.pub, bob.priv, roots, 1, NOW, "x", "+15550001111", 3, v1, v1l, &u),
			 SOTTO_ERR_SEALED_SENDER_SELF_SEND);
		CHECK_RC(sotto_sealed_decrypt(bob.pub, bob.priv, roots, 1, NOW, SENDER_UUID, NULL, 4, v1, v1l, &u), 0);
		sotto_usmc_free(u);
		u = NULL;
		CHECK_RC(sotto_sealed_decrypt_to_usmc(carol.pub, carol.priv, v1, v1l, &u), SOTTO_ERR_INVALID_MESSAGE);
		size_t ok = 0, total = 0;
		for (size_t i = 0; i < v1l; i++) {
			for (int bit = 0; bit < 8; bit++) {
				uint8_t *t = malloc(v1l);
				memcpy(t, v1, v1l);
				t[i] ^= (uint8_t)(1u << bit);
				sotto_usmc *x = NULL;
				int rc = sotto_sealed_decrypt_to_usmc(bob.pub, bob.priv, t, v1l, &x);
				total++;
				/* Bits 0-3 of byte 0 are ignored by libsignal, and bit 4 makes
				 * the major version 0, which it also reads as v1. */
				if (i == 0 && bit <= 4)
					ok += (size_t)(rc == 0);
				else
					ok += (size_t)(rc < 0 && x == NULL);
				sotto_usmc_free(x);
				free(t);
			}
		}
		tu_report("v1 bit flips rejected (low version nibble ignored)", ok, total);
		/* A static key that is not the certificate's key is rejected. */
		uint8_t v1b[SOTTO_SEALED_V1_MAX(2048)];
		size_t v1bl;
		CHECK_RC(sotto_sealed_v1_encrypt(bob.pub, eve.pub, eve.priv, usmc, ul, test_rng, NULL, v1b, sizeof v1b, &v1bl), 0);
		CHECK_RC(sotto_sealed_decrypt_to_usmc(bob.pub, bob.priv, v1b, v1bl, &u), SOTTO_ERR_INVALID_MESSAGE);
	}
	/* ---- v2 ---- */
	{
		sotto_sealed_v2_recipient r[4];
		memset(r, 0, sizeof r);
		/* bob (ACI) devices 1 and 2, carol (PNI) device 5, eve (ACI) device 1. */
		const kp *who[4] = {&bob, &bob, &carol, &eve};
		const uint8_t kind[4] = {0, 0, 1, 0};
		const uint8_t tag[4] = {0xB0, 0xB0, 0xC0, 0xE0};
		const uint32_t dev[4] = {1, 2, 5, 1};
		for (int i = 0; i < 4; i++) {
			r[i].service_id[0] = kind[i];
			memset(r[i].service_id + 1, tag[i], 16);
			r[i].device_id = dev[i];
			r[i].registration_id = 0x3FFF - (uint32_t)i;
			memcpy(r[i].identity_key, who[i]->pub, 33);
		}
		uint8_t excl[1][17];
		excl[0][0] = 0;
		memset(excl[0] + 1, 0xDD, 16);
		size_t cap = SOTTO_SEALED_V2_MAX(4, 1, ul);
		uint8_t *sent = malloc(cap), *recv = malloc(cap);
		size_t sl = 0, rl = 0;
		CHECK_RC(sotto_sealed_v2_encrypt(r, 4, (const uint8_t(*)[17])excl, 1, alice.pub, alice.priv,
						 usmc, ul, test_rng, NULL, sent, cap, &sl),
			 0);
		CHECK(sent[0] == 0x23 && sent[1] == 4);
		/* Recipients: each splits and decrypts; the others' keys fail. */
		const kp *keys[3] = {&bob, &carol, &eve};
		const int first[3] = {0, 2, 3};
		size_t ok = 0;
		for (int i = 0; i < 3; i++) {
			uint8_t devs[8];
			uint16_t regs[8];
			size_t nd = 0;
			int rc = sotto_sealed_v2_split(sent, sl, r[first[i]].service_id, recv, cap, &rl,
						       devs, regs, 8, &nd);
			sotto_usmc *u = NULL;
			if (rc == 0)
				rc = sotto_sealed_decrypt(keys[i]->pub, keys[i]->priv, roots, 1, NOW,
							  "me", NULL, 1, recv, rl, &u);
			size_t n = 0;
			const uint8_t *s = u ? sotto_usmc_serialized(u, &n) : NULL;
			int good = rc == 0 && recv[0] == 0x22 && s != NULL && n == ul && memcmp(s, usmc, n) == 0;
			good &= nd == (i == 0 ? 2u : 1u) && devs[0] == dev[first[i]] &&
				regs[0] == r[first[i]].registration_id;
			if (i == 0)
				good &= devs[1] == 2 && regs[1] == 0x3FFE;
			sotto_usmc_free(u);
			u = NULL;
			const kp *other = keys[(i + 1) % 3];
			good &= sotto_sealed_decrypt_to_usmc(other->pub, other->priv, recv, rl, &u) != 0;
			ok += (size_t)good;
		}
		tu_report("v2 split + decrypt per recipient", ok, 3);
		CHECK_RC(sotto_sealed_v2_split(sent, sl, excl[0], recv, cap, &rl, NULL, NULL, 0, NULL),
			 SOTTO_ERR_NOT_FOUND);
		uint8_t stranger[17] = {1};
		CHECK_RC(sotto_sealed_v2_split(sent, sl, stranger, recv, cap, &rl, NULL, NULL, 0, NULL),
			 SOTTO_ERR_NOT_FOUND);
		CHECK_RC(sotto_sealed_v2_split(sent, sl, r[0].service_id, recv, 40, &rl, NULL, NULL, 0, NULL),
			 SOTTO_ERR_BUFFER_TOO_SMALL);
		/* Every truncation of the sent form is handled. The shared part is at
		 * the end, so cutting it still splits (and then fails to decrypt);
		 * cutting into the header fails. */
		size_t header = sl - 32 - ul - 16;
		ok = 0;
		for (size_t l = 0; l < sl; l++) {
			int rc = sotto_sealed_v2_split(sent, l, r[0].service_id, recv, cap, &rl, NULL, NULL, 0, NULL);
			if (l < header + 32)
				ok += (size_t)(rc == SOTTO_ERR_INVALID_MESSAGE);
			else {
				sotto_usmc *u = NULL;
				ok += (size_t)(rc == 0 && sotto_sealed_decrypt_to_usmc(bob.pub, bob.priv, recv, rl, &u) != 0);
			}
		}
		tu_report("v2 sent-form truncations", ok, sl);
		/* Every bit flip of bob's received form is rejected. */
		CHECK_RC(sotto_sealed_v2_split(sent, sl, r[0].service_id, recv, cap, &rl, NULL, NULL, 0, NULL), 0);
		ok = 0;
		size_t total = 0;
		for (size_t i = 0; i < rl; i++) {
			for (int bit = 0; bit < 8; bit++) {
				recv[i] ^= (uint8_t)(1u << bit);
				sotto_usmc *u = NULL;
				int rc = sotto_sealed_decrypt_to_usmc(bob.pub, bob.priv, recv, rl, &u);
				recv[i] ^= (uint8_t)(1u << bit);
				total++;
				/* The low nibble of the version byte is not checked (as libsignal). */
				if (i == 0 && bit < 4)
					ok += (size_t)(rc == 0);
				else
					ok += (size_t)(rc < 0 && u == NULL);
				sotto_usmc_free(u);
			}
		}
		tu_report("v2 received-form bit flips rejected", ok, total);
		/* Malformed sent forms: a bad ServiceId kind, device id 0 after a
		 * "more" flag, device 128, the same recipient twice with one empty. */
		uint8_t *t = malloc(sl);
		memcpy(t, sent, sl);
		t[2] = 2;
		CHECK_RC(sotto_sealed_v2_split(t, sl, r[0].service_id, recv, cap, &rl, NULL, NULL, 0, NULL),
			 SOTTO_ERR_INVALID_MESSAGE);
		memcpy(t, sent, sl);
		t[2 + 17 + 3] = 0; /* bob's second device id */
		CHECK_RC(sotto_sealed_v2_split(t, sl, r[0].service_id, recv, cap, &rl, NULL, NULL, 0, NULL),
			 SOTTO_ERR_INVALID_MESSAGE);
		memcpy(t, sent, sl);
		t[2 + 17] = 128;
		CHECK_RC(sotto_sealed_v2_split(t, sl, r[0].service_id, recv, cap, &rl, NULL, NULL, 0, NULL),
			 SOTTO_ERR_INVALID_MESSAGE);
		free(t);
		/* The excluded entry named like bob: "redundantly encoded as empty". */
		{
			uint8_t ex2[1][17];
			memcpy(ex2[0], r[0].service_id, 17);
			uint8_t *s2 = malloc(cap);
			size_t s2l;
			CHECK_RC(sotto_sealed_v2_encrypt(r, 4, (const uint8_t(*)[17])ex2, 1, alice.pub,
							 alice.priv, usmc, ul, test_rng, NULL, s2, cap, &s2l), 0);
			CHECK_RC(sotto_sealed_v2_split(s2, s2l, r[3].service_id, recv, cap, &rl, NULL, NULL, 0, NULL),
				 SOTTO_ERR_INVALID_MESSAGE);
			free(s2);
		}
		/* Argument checks. */
		r[1].registration_id = 0x4000;
		CHECK_RC(sotto_sealed_v2_encrypt(r, 4, NULL, 0, alice.pub, alice.priv, usmc, ul, test_rng,
						 NULL, sent, cap, &sl), SOTTO_ERR_INVALID_ARGUMENT);
		r[1].registration_id = 1;
		r[1].device_id = 0;
		CHECK_RC(sotto_sealed_v2_encrypt(r, 4, NULL, 0, alice.pub, alice.priv, usmc, ul, test_rng,
						 NULL, sent, cap, &sl), SOTTO_ERR_INVALID_ARGUMENT);
		r[1].device_id = 2;
		CHECK_RC(sotto_sealed_v2_encrypt(r, 4, NULL, 0, alice.pub, alice.priv, usmc, ul, test_rng,
						 NULL, sent, 10, &sl), SOTTO_ERR_BUFFER_TOO_SMALL);
		free(sent);
		free(recv);
	}
	return tu_finish("sealed_sender");
}
