/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* PQXDH and the Double Ratchet between two in-process parties: agreement
 * with and without a one-time prekey, signature and base-key rejections,
 * in-order and out-of-order delivery, skipped-key limits, duplicates, and
 * the state staying unchanged after every failed decrypt. Record and state
 * serialization round trips. */
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/protocol.h"
#include "sotto/util.h"
#include "testutil.h"

static int test_rng(void *ctx, uint8_t *buf, size_t len)
{
	tu_randbytes((uint64_t *)ctx, buf, len);
	return 0;
}

static uint64_t rng_state = 0x5107705107ULL;

typedef struct party {
	sotto_identity_keypair id;
	uint32_t reg;
	sotto_session_state *st;
	uint8_t pqr[32];
} party;

static sotto_signed_prekey_record spk;
static sotto_prekey_record opk;
static sotto_kyber_prekey_record kpk;

/* A stand-in for the SPQR layer: a per-message salt both sides can compute
 * (the real layer derives it from its own chain). */
static void fake_pq_key(uint8_t k[32], const uint8_t pqr[32], uint32_t tag)
{
	size_t i;

	for (i = 0; i < 32; i++)
		k[i] = (uint8_t)(pqr[i] ^ (tag >> (8 * (i % 4))));
}

static void make_bundle(sotto_prekey_bundle *b, const party *bob, int with_opk)
{
	memset(b, 0, sizeof(*b));
	b->registration_id = bob->reg;
	b->device_id = 2;
	b->has_pre_key = with_opk;
	b->pre_key_id = opk.id;
	memcpy(b->pre_key, opk.key.pub, 33);
	b->signed_pre_key_id = spk.id;
	memcpy(b->signed_pre_key, spk.key.pub, 33);
	memcpy(b->signed_pre_key_signature, spk.signature, 64);
	memcpy(b->identity_key, bob->id.pub, 33);
	b->kyber_pre_key_id = kpk.id;
	memcpy(b->kyber_pre_key, kpk.pub, sizeof(kpk.pub));
	memcpy(b->kyber_pre_key_signature, kpk.signature, 64);
}

/* Encrypts pt from s with the fake SPQR key tag; returns the length. */
static size_t enc(party *s, uint32_t tag, const char *pt, uint8_t *out, size_t cap)
{
	uint8_t pk[32];
	size_t n = 0;

	fake_pq_key(pk, s->pqr, tag);
	CHECK_RC(sotto_ratchet_encrypt(s->st, pk, (const uint8_t *)"\x01\x01\x01\x00", 4, NULL, 0,
				       (const uint8_t *)pt, strlen(pt), out, cap, &n),
		 0);
	return n;
}

static int dec(party *r, uint32_t tag, const uint8_t *msg, size_t len, char *pt, size_t cap,
	       size_t *ptlen)
{
	sotto_signal_message m;
	uint8_t pk[32];
	int rc;

	fake_pq_key(pk, r->pqr, tag);
	rc = sotto_signal_message_parse(&m, msg, len);
	if (rc != 0)
		return rc;
	rc = sotto_ratchet_decrypt(r->st, &m, msg, len, pk, NULL, 0, test_rng, &rng_state,
				   (uint8_t *)pt, cap, ptlen);
	sotto_signal_message_clear(&m);
	return rc;
}

static size_t state_blob(const sotto_session_state *st, uint8_t **blob)
{
	size_t n = 0;

	CHECK_RC(sotto_session_state_serialize(st, NULL, 0, &n), SOTTO_ERR_BUFFER_TOO_SMALL);
	*blob = malloc(n);
	CHECK_RC(sotto_session_state_serialize(st, *blob, n, &n), 0);
	return n;
}

/* Full handshake; Alice's first message is a PreKeySignalMessage. */
static void handshake(party *a, party *b, int with_opk)
{
	sotto_prekey_bundle bundle;
	sotto_prekey_signal_message pm;
	static uint8_t sm[2048], pk[4096];
	size_t smlen, pklen, ptlen;
	char pt[64];
	sotto_pending_prekey pend;

	make_bundle(&bundle, b, with_opk);
	CHECK_RC(sotto_pqxdh_initiate(&a->st, a->pqr, &a->id, a->reg, &bundle, 1700000000,
				      test_rng, &rng_state),
		 0);
	CHECK(sotto_session_state_pending_prekey(a->st, &pend) == 1);
	CHECK(pend.has_pre_key_id == with_opk && pend.signed_pre_key_id == spk.id &&
	      pend.timestamp == 1700000000 && pend.kyber_pre_key_id == kpk.id);
	smlen = enc(a, 1, "hello bob", sm, sizeof(sm));
	CHECK_RC(sotto_session_wrap_prekey(a->st, sm, smlen, pk, sizeof(pk), &pklen), 0);
	CHECK_RC(sotto_prekey_signal_message_parse(&pm, pk, pklen), 0);
	CHECK(pm.registration_id == a->reg && pm.has_pre_key_id == with_opk);
	CHECK_RC(sotto_pqxdh_respond(&b->st, b->pqr, &b->id, b->reg, &spk,
				     with_opk ? &opk : NULL, &kpk, &pm),
		 0);
	CHECK_MEM(a->pqr, b->pqr, 32);
	CHECK(sotto_session_state_remote_registration_id(b->st) == a->reg);
	CHECK_MEM(sotto_session_state_alice_base_key(b->st), pm.base_key, 33);
	CHECK_RC(sotto_ratchet_decrypt(b->st, &pm.inner, pm.message, pm.message_len,
				       (fake_pq_key((uint8_t *)pt, b->pqr, 1), (uint8_t *)pt), NULL, 0,
				       test_rng, &rng_state, (uint8_t *)pt, sizeof(pt), &ptlen),
		 0);
	CHECK(ptlen == 9 && memcmp(pt, "hello bob", 9) == 0);
	sotto_prekey_signal_message_clear(&pm);
}

static void free_parties(party *a, party *b)
{
	sotto_session_state_free(a->st);
	sotto_session_state_free(b->st);
	a->st = b->st = NULL;
}

static void test_agree(int with_opk)
{
	party a, b;
	uint8_t msg[512];
	char pt[64];
	size_t n, ptlen;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_RC(sotto_identity_keypair_generate(&a.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_identity_keypair_generate(&b.id, test_rng, &rng_state), 0);
	a.reg = 1111;
	b.reg = 2222;
	CHECK_RC(sotto_signed_prekey_generate(&spk, 7, 1, &b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_prekey_generate(&opk, 9, test_rng, &rng_state), 0);
	CHECK_RC(sotto_kyber_prekey_generate(&kpk, 11, 2, &b.id, test_rng, &rng_state), 0);
	handshake(&a, &b, with_opk);

	/* Bob replies (new DH ratchet on Alice's side), Alice clears pending. */
	n = enc(&b, 2, "hi alice", msg, sizeof(msg));
	CHECK_RC(dec(&a, 2, msg, n, pt, sizeof(pt), &ptlen), 0);
	CHECK(ptlen == 8 && memcmp(pt, "hi alice", 8) == 0);
	CHECK(sotto_session_state_pending_prekey(a.st, NULL) == 0);
	/* A few more rounds in both directions. */
	{
		int i;

		for (i = 0; i < 6; i++) {
			party *s = (i & 1) ? &b : &a, *r = (i & 1) ? &a : &b;
			char text[16];

			snprintf(text, sizeof(text), "round %d", i);
			n = enc(s, (uint32_t)(10 + i), text, msg, sizeof(msg));
			CHECK_RC(dec(r, (uint32_t)(10 + i), msg, n, pt, sizeof(pt), &ptlen), 0);
			CHECK(ptlen == strlen(text) && memcmp(pt, text, ptlen) == 0);
		}
	}
	/* A wrong SPQR salt fails the MAC. */
	n = enc(&a, 100, "salted", msg, sizeof(msg));
	CHECK_RC(dec(&b, 101, msg, n, pt, sizeof(pt), &ptlen), SOTTO_ERR_INVALID_MESSAGE);
	CHECK_RC(dec(&b, 100, msg, n, pt, sizeof(pt), &ptlen), 0);
	free_parties(&a, &b);
}

static void test_bundle_rejections(void)
{
	party a, b;
	sotto_prekey_bundle bundle;
	sotto_session_state *st = NULL;
	uint8_t pqr[32];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_RC(sotto_identity_keypair_generate(&a.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_identity_keypair_generate(&b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_signed_prekey_generate(&spk, 7, 1, &b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_prekey_generate(&opk, 9, test_rng, &rng_state), 0);
	CHECK_RC(sotto_kyber_prekey_generate(&kpk, 11, 2, &b.id, test_rng, &rng_state), 0);
	make_bundle(&bundle, &b, 1);
	bundle.signed_pre_key_signature[5] ^= 1;
	CHECK_RC(sotto_pqxdh_initiate(&st, pqr, &a.id, 1, &bundle, 0, test_rng, &rng_state),
		 SOTTO_ERR_INVALID_SIGNATURE);
	CHECK(st == NULL);
	make_bundle(&bundle, &b, 1);
	bundle.kyber_pre_key_signature[60] ^= 1;
	CHECK_RC(sotto_pqxdh_initiate(&st, pqr, &a.id, 1, &bundle, 0, test_rng, &rng_state),
		 SOTTO_ERR_INVALID_SIGNATURE);
	make_bundle(&bundle, &b, 1);
	bundle.kyber_pre_key[100] ^= 1; /* the signature covers the key */
	CHECK_RC(sotto_pqxdh_initiate(&st, pqr, &a.id, 1, &bundle, 0, test_rng, &rng_state),
		 SOTTO_ERR_INVALID_SIGNATURE);
	make_bundle(&bundle, &b, 1);
	memcpy(bundle.identity_key, a.id.pub, 33); /* signed by someone else */
	CHECK_RC(sotto_pqxdh_initiate(&st, pqr, &a.id, 1, &bundle, 0, test_rng, &rng_state),
		 SOTTO_ERR_INVALID_SIGNATURE);
	make_bundle(&bundle, &b, 1);
	bundle.kyber_pre_key[0] = 0x0A;
	CHECK_RC(sotto_pqxdh_initiate(&st, pqr, &a.id, 1, &bundle, 0, test_rng, &rng_state),
		 SOTTO_ERR_INVALID_KEY);
	make_bundle(&bundle, &b, 1);
	bundle.signed_pre_key[0] = 0x06;
	CHECK_RC(sotto_pqxdh_initiate(&st, pqr, &a.id, 1, &bundle, 0, test_rng, &rng_state),
		 SOTTO_ERR_INVALID_KEY);
	CHECK(st == NULL);
}

/* Builds a PreKeySignalMessage from Alice with a replaced base key. */
static void test_responder_rejections(void)
{
	party a, b;
	sotto_prekey_bundle bundle;
	sotto_prekey_signal_message pm;
	sotto_session_state *st = NULL;
	static uint8_t sm[1024], pk[4096];
	uint8_t pqr[32];
	size_t smlen, pklen;
	static const uint8_t p_le[32] = {0xED, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
					 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
					 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
					 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_RC(sotto_identity_keypair_generate(&a.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_identity_keypair_generate(&b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_signed_prekey_generate(&spk, 7, 1, &b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_prekey_generate(&opk, 9, test_rng, &rng_state), 0);
	CHECK_RC(sotto_kyber_prekey_generate(&kpk, 11, 2, &b.id, test_rng, &rng_state), 0);
	make_bundle(&bundle, &b, 1);
	CHECK_RC(sotto_pqxdh_initiate(&a.st, a.pqr, &a.id, 1, &bundle, 0, test_rng, &rng_state), 0);
	smlen = enc(&a, 1, "x", sm, sizeof(sm));
	CHECK_RC(sotto_session_wrap_prekey(a.st, sm, smlen, pk, sizeof(pk), &pklen), 0);
	CHECK_RC(sotto_prekey_signal_message_parse(&pm, pk, pklen), 0);

	/* Ids must name the records given. */
	CHECK_RC(sotto_pqxdh_respond(&st, pqr, &b.id, 2, &spk, NULL, &kpk, &pm),
		 SOTTO_ERR_INVALID_KEY_ID);
	opk.id = 10;
	CHECK_RC(sotto_pqxdh_respond(&st, pqr, &b.id, 2, &spk, &opk, &kpk, &pm),
		 SOTTO_ERR_INVALID_KEY_ID);
	opk.id = 9;
	spk.id = 8;
	CHECK_RC(sotto_pqxdh_respond(&st, pqr, &b.id, 2, &spk, &opk, &kpk, &pm),
		 SOTTO_ERR_INVALID_KEY_ID);
	spk.id = 7;
	/* Non-canonical base keys: u = p (not reduced), bit 255 set, and a
	 * small-order point (u = 0 and u = 1 are in the torsion). */
	{
		uint8_t saved[33];

		memcpy(saved, pm.base_key, 33);
		memcpy(pm.base_key + 1, p_le, 32);
		CHECK_RC(sotto_pqxdh_respond(&st, pqr, &b.id, 2, &spk, &opk, &kpk, &pm),
			 SOTTO_ERR_INVALID_KEY);
		memcpy(pm.base_key, saved, 33);
		pm.base_key[32] |= 0x80;
		CHECK_RC(sotto_pqxdh_respond(&st, pqr, &b.id, 2, &spk, &opk, &kpk, &pm),
			 SOTTO_ERR_INVALID_KEY);
		memset(pm.base_key + 1, 0, 32);
		pm.base_key[1] = 1;
		CHECK_RC(sotto_pqxdh_respond(&st, pqr, &b.id, 2, &spk, &opk, &kpk, &pm),
			 SOTTO_ERR_INVALID_KEY);
		memcpy(pm.base_key, saved, 33);
	}
	/* Version 3 and wrong-length Kyber ciphertexts are rejected. */
	pm.version = 3;
	CHECK_RC(sotto_pqxdh_respond(&st, pqr, &b.id, 2, &spk, &opk, &kpk, &pm),
		 SOTTO_ERR_INVALID_MESSAGE);
	pm.version = 4;
	pm.kyber_ciphertext_len--;
	CHECK_RC(sotto_pqxdh_respond(&st, pqr, &b.id, 2, &spk, &opk, &kpk, &pm),
		 SOTTO_ERR_INVALID_MESSAGE);
	pm.kyber_ciphertext_len++;
	CHECK(st == NULL);
	CHECK_RC(sotto_pqxdh_respond(&st, pqr, &b.id, 2, &spk, &opk, &kpk, &pm), 0);
	CHECK_MEM(pqr, a.pqr, 32);
	sotto_session_state_free(st);
	sotto_prekey_signal_message_clear(&pm);
	sotto_session_state_free(a.st);
}

/* Out-of-order delivery, limits, duplicates and transactional failures on
 * an established session. */
static void test_ratchet_order_and_limits(void)
{
	party a, b;
	enum { N = 8 };
	static uint8_t msgs[N][256];
	size_t lens[N], ptlen, n, i;
	char pt[64];
	uint8_t *before, *after;
	size_t blen, alen;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_RC(sotto_identity_keypair_generate(&a.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_identity_keypair_generate(&b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_signed_prekey_generate(&spk, 7, 1, &b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_prekey_generate(&opk, 9, test_rng, &rng_state), 0);
	CHECK_RC(sotto_kyber_prekey_generate(&kpk, 11, 2, &b.id, test_rng, &rng_state), 0);
	handshake(&a, &b, 0);

	for (i = 0; i < N; i++) {
		char t[16];

		snprintf(t, sizeof(t), "m%zu", i);
		lens[i] = enc(&a, (uint32_t)(200 + i), t, msgs[i], sizeof(msgs[i]));
	}
	/* Deliver 5, 2, 7, 0, ... */
	{
		static const int order[N] = {5, 2, 7, 0, 6, 1, 4, 3};

		for (i = 0; i < N; i++) {
			int k = order[i];
			char t[16];

			snprintf(t, sizeof(t), "m%d", k);
			CHECK_RC(dec(&b, (uint32_t)(200 + k), msgs[k], lens[k], pt, sizeof(pt), &ptlen),
				 0);
			CHECK(ptlen == strlen(t) && memcmp(pt, t, ptlen) == 0);
		}
	}
	/* Every one again: duplicates, state unchanged. */
	blen = state_blob(b.st, &before);
	for (i = 0; i < N; i++)
		CHECK_RC(dec(&b, (uint32_t)(200 + i), msgs[i], lens[i], pt, sizeof(pt), &ptlen),
			 SOTTO_ERR_DUPLICATE_MESSAGE);
	alen = state_blob(b.st, &after);
	CHECK(alen == blen && memcmp(before, after, blen) == 0);
	free(after);

	/* A corrupted message (bad MAC, bad ciphertext) and a message with a
	 * wrong version change nothing, and the good one still decrypts. */
	n = enc(&a, 300, "later", msgs[0], sizeof(msgs[0]));
	for (i = 1; i < n; i += 7) {
		uint8_t bad[256];

		memcpy(bad, msgs[0], n);
		bad[i] ^= 0x40;
		CHECK(dec(&b, 300, bad, n, pt, sizeof(pt), &ptlen) != 0);
		alen = state_blob(b.st, &after);
		CHECK(alen == blen && memcmp(before, after, blen) == 0);
		free(after);
	}
	{
		uint8_t bad[256];

		memcpy(bad, msgs[0], n);
		bad[0] = 0x34;
		CHECK_RC(dec(&b, 300, bad, n, pt, sizeof(pt), &ptlen), SOTTO_ERR_INVALID_MESSAGE);
	}
	CHECK_RC(dec(&b, 301, msgs[0], n, pt, sizeof(pt), &ptlen), SOTTO_ERR_INVALID_MESSAGE);
	CHECK_RC(dec(&b, 300, msgs[0], n, pt, 4, &ptlen), SOTTO_ERR_BUFFER_TOO_SMALL);
	alen = state_blob(b.st, &after);
	CHECK(alen == blen && memcmp(before, after, blen) == 0);
	free(after);
	free(before);
	CHECK_RC(dec(&b, 300, msgs[0], n, pt, sizeof(pt), &ptlen), 0);
	CHECK(ptlen == 5 && memcmp(pt, "later", 5) == 0);

	/* Forward-jump limit: 25000 skipped is fine, 25001 is not (unless the
	 * session is a self-session). */
	{
		uint8_t big[256];
		sotto_session_state *save = sotto_session_state_copy(a.st);
		sotto_session_state *bsave = sotto_session_state_copy(b.st);
		uint32_t k;

		/* Skip 25001 messages: encrypt and discard. */
		for (k = 0; k < 25001; k++)
			(void)enc(&a, 999, "skip", big, sizeof(big));
		n = enc(&a, 400, "far", big, sizeof(big));
		CHECK_RC(dec(&b, 400, big, n, pt, sizeof(pt), &ptlen), SOTTO_ERR_INVALID_MESSAGE);
		{
			sotto_signal_message m;
			uint8_t pk[32];

			fake_pq_key(pk, b.pqr, 400);
			CHECK_RC(sotto_signal_message_parse(&m, big, n), 0);
			CHECK_RC(sotto_ratchet_decrypt(b.st, &m, big, n, pk, NULL,
						       SOTTO_RATCHET_UNLIMITED_JUMP, test_rng,
						       &rng_state, (uint8_t *)pt, sizeof(pt), &ptlen),
				 0);
			sotto_signal_message_clear(&m);
		}
		/* Back to the saved states: jump of exactly 25000 works. */
		sotto_session_state_free(a.st);
		sotto_session_state_free(b.st);
		a.st = save;
		b.st = bsave;
		for (k = 0; k < 25000; k++)
			(void)enc(&a, 999, "skip", big, sizeof(big));
		n = enc(&a, 401, "edge", big, sizeof(big));
		CHECK_RC(dec(&b, 401, big, n, pt, sizeof(pt), &ptlen), 0);
	}
	free_parties(&a, &b);
}

/* Skipped-key storage limit, observed directly: with a 2500-message gap the
 * receiver keeps the 2000 newest seeds. */
static void test_skipped_limit(void)
{
	party a, b;
	enum { GAP = 2500 };
	static uint8_t msgs[GAP + 1][96];
	size_t lens[GAP + 1], ptlen;
	char pt[64];
	uint32_t k;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_RC(sotto_identity_keypair_generate(&a.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_identity_keypair_generate(&b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_signed_prekey_generate(&spk, 7, 1, &b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_prekey_generate(&opk, 9, test_rng, &rng_state), 0);
	CHECK_RC(sotto_kyber_prekey_generate(&kpk, 11, 2, &b.id, test_rng, &rng_state), 0);
	handshake(&a, &b, 1);
	for (k = 0; k <= GAP; k++)
		lens[k] = enc(&a, 500 + k, "s", msgs[k], sizeof(msgs[k]));
	/* Deliver the last one first. */
	CHECK_RC(dec(&b, 500 + GAP, msgs[GAP], lens[GAP], pt, sizeof(pt), &ptlen), 0);
	/* The oldest GAP - 2000 are gone (duplicates); the rest still open. */
	CHECK_RC(dec(&b, 500, msgs[0], lens[0], pt, sizeof(pt), &ptlen),
		 SOTTO_ERR_DUPLICATE_MESSAGE);
	CHECK_RC(dec(&b, 500 + GAP - 2001, msgs[GAP - 2001], lens[GAP - 2001], pt, sizeof(pt),
		     &ptlen),
		 SOTTO_ERR_DUPLICATE_MESSAGE);
	CHECK_RC(dec(&b, 500 + GAP - 2000, msgs[GAP - 2000], lens[GAP - 2000], pt, sizeof(pt),
		     &ptlen),
		 0);
	CHECK_RC(dec(&b, 500 + GAP - 1, msgs[GAP - 1], lens[GAP - 1], pt, sizeof(pt), &ptlen), 0);
	CHECK_RC(dec(&b, 500 + GAP - 1, msgs[GAP - 1], lens[GAP - 1], pt, sizeof(pt), &ptlen),
		 SOTTO_ERR_DUPLICATE_MESSAGE);
	free_parties(&a, &b);
}

/* Receiver chains: at most 5 kept; a message on the 6th-oldest chain fails. */
static void test_receiver_chain_limit(void)
{
	party a, b;
	static uint8_t old[256];
	size_t oldlen, n, ptlen;
	uint8_t msg[256];
	char pt[64];
	int i;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_RC(sotto_identity_keypair_generate(&a.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_identity_keypair_generate(&b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_signed_prekey_generate(&spk, 7, 1, &b.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_prekey_generate(&opk, 9, test_rng, &rng_state), 0);
	CHECK_RC(sotto_kyber_prekey_generate(&kpk, 11, 2, &b.id, test_rng, &rng_state), 0);
	handshake(&a, &b, 1);
	/* Alice's chain 1: message kept back. */
	oldlen = enc(&a, 600, "old", old, sizeof(old));
	/* Five more ping-pong rounds give Bob five newer receiver chains. */
	for (i = 0; i < 5; i++) {
		n = enc(&b, (uint32_t)(700 + i), "b", msg, sizeof(msg));
		CHECK_RC(dec(&a, (uint32_t)(700 + i), msg, n, pt, sizeof(pt), &ptlen), 0);
		n = enc(&a, (uint32_t)(800 + i), "a", msg, sizeof(msg));
		CHECK_RC(dec(&b, (uint32_t)(800 + i), msg, n, pt, sizeof(pt), &ptlen), 0);
	}
	/* The old chain was dropped: its key looks new, a DH step runs on the
	 * copy and the MAC fails; nothing is committed. */
	CHECK(dec(&b, 600, old, oldlen, pt, sizeof(pt), &ptlen) != 0);
	n = enc(&a, 900, "still fine", msg, sizeof(msg));
	CHECK_RC(dec(&b, 900, msg, n, pt, sizeof(pt), &ptlen), 0);
	free_parties(&a, &b);
}

static void test_serialization(void)
{
	party a, b;
	uint8_t buf[8192], *blob, *blob2, msg[256];
	size_t n, blen, b2len, ptlen, mlen;
	sotto_session_state *st2 = NULL;
	char pt[64];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_RC(sotto_identity_keypair_generate(&a.id, test_rng, &rng_state), 0);
	CHECK_RC(sotto_identity_keypair_generate(&b.id, test_rng, &rng_state), 0);
	/* Records. */
	{
		sotto_identity_keypair k2;
		sotto_prekey_record p2;
		sotto_signed_prekey_record s2;
		static sotto_kyber_prekey_record k3;

		CHECK_RC(sotto_identity_keypair_serialize(buf, sizeof(buf), &n, &a.id), 0);
		CHECK(n == 2 + 33 + 2 + 32 && buf[0] == 0x0A && buf[35] == 0x12);
		CHECK_RC(sotto_identity_keypair_deserialize(&k2, buf, n), 0);
		CHECK(memcmp(&k2, &a.id, sizeof(k2)) == 0);
		CHECK_RC(sotto_identity_keypair_deserialize(&k2, buf, n - 1), SOTTO_ERR_INVALID_KEY);
		CHECK_RC(sotto_signed_prekey_generate(&spk, 77, 1234, &b.id, test_rng, &rng_state), 0);
		CHECK_RC(sotto_identity_verify(b.id.pub, spk.key.pub, 33, spk.signature), 0);
		CHECK_RC(sotto_signed_prekey_record_serialize(buf, sizeof(buf), &n, &spk), 0);
		CHECK_RC(sotto_signed_prekey_record_deserialize(&s2, buf, n), 0);
		CHECK(memcmp(&s2, &spk, sizeof(s2)) == 0);
		CHECK_RC(sotto_prekey_generate(&opk, 99, test_rng, &rng_state), 0);
		CHECK_RC(sotto_prekey_record_serialize(buf, sizeof(buf), &n, &opk), 0);
		CHECK_RC(sotto_prekey_record_deserialize(&p2, buf, n), 0);
		CHECK(p2.id == opk.id && memcmp(&p2.key, &opk.key, sizeof(p2.key)) == 0);
		CHECK_RC(sotto_kyber_prekey_generate(&kpk, 111, 5678, &b.id, test_rng, &rng_state), 0);
		CHECK_RC(sotto_identity_verify(b.id.pub, kpk.pub, sizeof(kpk.pub), kpk.signature), 0);
		CHECK(kpk.pub[0] == 0x08 && kpk.priv[0] == 0x08);
		CHECK_RC(sotto_kyber_prekey_record_serialize(buf, sizeof(buf), &n, &kpk), 0);
		CHECK_RC(sotto_kyber_prekey_record_deserialize(&k3, buf, n), 0);
		CHECK(memcmp(&k3, &kpk, sizeof(k3)) == 0);
		CHECK_RC(sotto_kyber_prekey_record_serialize(buf, 10, &n, &kpk),
			 SOTTO_ERR_BUFFER_TOO_SMALL);
		/* A Kyber record is not a signed EC prekey record. */
		CHECK_RC(sotto_kyber_prekey_record_serialize(buf, sizeof(buf), &n, &kpk), 0);
		CHECK_RC(sotto_signed_prekey_record_deserialize(&s2, buf, n), SOTTO_ERR_INVALID_KEY);
	}
	/* Session state round trip, mid-conversation with skipped keys. */
	handshake(&a, &b, 1);
	(void)enc(&a, 1000, "skipped", msg, sizeof(msg));
	mlen = enc(&a, 1001, "after", msg, sizeof(msg));
	CHECK_RC(dec(&b, 1001, msg, mlen, pt, sizeof(pt), &ptlen), 0);
	CHECK_RC(sotto_session_state_set_spqr(b.st, (const uint8_t *)"spqr-blob", 9), 0);
	blen = state_blob(b.st, &blob);
	CHECK_RC(sotto_session_state_deserialize(&st2, blob, blen), 0);
	b2len = state_blob(st2, &blob2);
	CHECK(b2len == blen && memcmp(blob, blob2, blen) == 0);
	{
		size_t sl;
		const uint8_t *s = sotto_session_state_spqr(st2, &sl);

		CHECK(sl == 9 && memcmp(s, "spqr-blob", 9) == 0);
	}
	/* Every truncation of the blob is rejected or yields a different state;
	 * none crashes. */
	{
		size_t i;
		sotto_session_state *t;

		for (i = 0; i < blen; i += 3) {
			if (sotto_session_state_deserialize(&t, blob, i) == 0)
				sotto_session_state_free(t);
		}
		CHECK_RC(sotto_session_state_deserialize(&t, blob, 1), SOTTO_ERR_INVALID_ARGUMENT);
	}
	free(blob);
	free(blob2);
	/* The deserialized copy keeps working. */
	sotto_session_state_free(b.st);
	b.st = st2;
	n = enc(&b, 1002, "from restored", msg, sizeof(msg));
	CHECK_RC(dec(&a, 1002, msg, n, pt, sizeof(pt), &ptlen), 0);
	free_parties(&a, &b);
}

int main(void)
{
	CHECK_RC(sotto_init(), 0);
	test_agree(1);
	test_agree(0);
	test_bundle_rejections();
	test_responder_rejections();
	test_ratchet_order_and_limits();
	test_skipped_limit();
	test_receiver_chain_limit();
	test_serialization();
	return tu_finish("protocol_session");
}
