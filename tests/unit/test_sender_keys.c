/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sender keys: round trips, out of order, duplicates, bit flips, the 25000
 * jump and 2000 stored-key limits, 5 states per record, late joiners,
 * several distribution ids, and that every failed decrypt leaves the store
 * byte for byte unchanged. */
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/group.h"
#include "testutil.h"

static uint64_t seed = 0x5eed;

static int test_rng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	tu_randbytes(&seed, buf, len);
	return 0;
}

/* Returns the same first 4 bytes (the chain id) for every store, then random. */
static int fixed_chain_rng(void *ctx, uint8_t *buf, size_t len)
{
	int *calls = ctx;
	if ((*calls)++ == 0 && len == 4) {
		memcpy(buf, "\x11\x22\x33\x44", 4);
		return 0;
	}
	tu_randbytes(&seed, buf, len);
	return 0;
}

static const char *ALICE = "alice-uuid";
static const uint8_t DIST[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t DIST2[16] = {9, 9, 9};

typedef struct msg {
	uint8_t *ct;
	size_t len;
	uint8_t pt[64];
	size_t ptlen;
} msg;

static void encrypt_one(sotto_sender_key_store *st, const uint8_t dist[16], msg *m)
{
	m->ptlen = (size_t)(tu_rand64(&seed) % 64);
	tu_randbytes(&seed, m->pt, m->ptlen);
	m->ct = malloc(SOTTO_GROUP_CIPHERTEXT_MAX(64));
	CHECK_RC(sotto_group_encrypt(st, ALICE, 1, dist, test_rng, NULL, m->pt, m->ptlen, m->ct,
				     SOTTO_GROUP_CIPHERTEXT_MAX(64), &m->len),
		 0);
}

static int decrypt_ok(sotto_sender_key_store *st, const msg *m)
{
	uint8_t out[128];
	size_t n = 0;
	int rc = sotto_group_decrypt(st, ALICE, 1, m->ct, m->len, out, sizeof out, &n);
	return rc == 0 && n == m->ptlen && memcmp(out, m->pt, n) == 0;
}

/* A copy of the record as stored. */
static uint8_t *snapshot(sotto_sender_key_store *st, const uint8_t dist[16], size_t *len)
{
	size_t cap = 1 << 20;
	uint8_t *b = malloc(cap);
	if (st->load(st->ctx, ALICE, 1, dist, b, cap, len) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

static int unchanged(sotto_sender_key_store *st, const uint8_t dist[16], const uint8_t *snap,
		     size_t snaplen)
{
	size_t n;
	uint8_t *now = snapshot(st, dist, &n);
	int same = now != NULL && n == snaplen && memcmp(now, snap, n) == 0;
	free(now);
	return same;
}

int main(void)
{
	sotto_sender_key_memstore *ams = sotto_sender_key_memstore_new();
	sotto_sender_key_memstore *bms = sotto_sender_key_memstore_new();
	sotto_sender_key_store a, b;
	sotto_sender_key_memstore_table(ams, &a);
	sotto_sender_key_memstore_table(bms, &b);
	uint8_t skdm[SOTTO_SKDM_MAX_BYTES];
	size_t skdmlen;

	/* No record yet. */
	msg m0;
	uint8_t tmp[256];
	size_t tl;
	CHECK_RC(sotto_group_encrypt(&a, ALICE, 1, DIST, test_rng, NULL, tmp, 1, tmp, sizeof tmp, &tl),
		 SOTTO_ERR_NO_SESSION);

	CHECK_RC(sotto_group_skdm_create(&a, ALICE, 1, DIST, test_rng, NULL, skdm, sizeof skdm,
					 &skdmlen),
		 0);
	CHECK(skdmlen >= 65 && skdm[0] == 0x33);
	sotto_skdm_info info;
	CHECK_RC(sotto_skdm_parse(skdm, skdmlen, &info), 0);
	CHECK(info.iteration == 0 && info.chain_id < 0x80000000u && memcmp(info.distribution_id, DIST, 16) == 0);
	CHECK_RC(sotto_group_skdm_process(&b, ALICE, 1, skdm, skdmlen), 0);
	/* A receiver has no private signing key: it cannot send on this state. */
	CHECK_RC(sotto_group_encrypt(&b, ALICE, 1, DIST, test_rng, NULL, tmp, 1, tmp, sizeof tmp, &tl),
		 SOTTO_ERR_NO_SESSION);

	/* Round trips in order. */
	size_t ok = 0;
	for (int i = 0; i < 50; i++) {
		encrypt_one(&a, DIST, &m0);
		ok += (size_t)decrypt_ok(&b, &m0);
		free(m0.ct);
	}
	tu_report("in-order round trips", ok, 50);

	/* Out of order: 40 messages decrypted backwards, then replayed. */
	msg ms[40];
	for (int i = 0; i < 40; i++)
		encrypt_one(&a, DIST, &ms[i]);
	ok = 0;
	for (int i = 39; i >= 0; i--)
		ok += (size_t)decrypt_ok(&b, &ms[i]);
	tu_report("reverse-order round trips", ok, 40);
	ok = 0;
	for (int i = 0; i < 40; i++) {
		size_t sl;
		uint8_t *snap = snapshot(&b, DIST, &sl);
		uint8_t out[128];
		size_t n;
		int rc = sotto_group_decrypt(&b, ALICE, 1, ms[i].ct, ms[i].len, out, sizeof out, &n);
		ok += (size_t)(rc == SOTTO_ERR_DUPLICATE_MESSAGE && unchanged(&b, DIST, snap, sl));
		free(snap);
	}
	tu_report("replays -> DUPLICATE_MESSAGE, store unchanged", ok, 40);
	for (int i = 0; i < 40; i++)
		free(ms[i].ct);

	/* Every single-bit flip of a message is rejected and changes nothing. */
	encrypt_one(&a, DIST, &m0);
	{
		size_t sl, flips = 0;
		uint8_t *snap = snapshot(&b, DIST, &sl);
		ok = 0;
		for (size_t i = 0; i < m0.len; i++) {
			for (int bit = 0; bit < 8; bit++) {
				uint8_t *t = malloc(m0.len);
				memcpy(t, m0.ct, m0.len);
				t[i] ^= (uint8_t)(1u << bit);
				uint8_t out[128];
				size_t n;
				int rc = sotto_group_decrypt(&b, ALICE, 1, t, m0.len, out, sizeof out, &n);
				flips++;
				ok += (size_t)(rc < 0 && unchanged(&b, DIST, snap, sl));
				free(t);
			}
		}
		tu_report("bit flips rejected, store unchanged", ok, flips);
		/* Truncations too. */
		ok = 0;
		for (size_t l = 0; l < m0.len; l++) {
			uint8_t out[128];
			size_t n;
			int rc = sotto_group_decrypt(&b, ALICE, 1, m0.ct, l, out, sizeof out, &n);
			ok += (size_t)(rc < 0 && unchanged(&b, DIST, snap, sl));
		}
		tu_report("truncations rejected, store unchanged", ok, m0.len);
		free(snap);
		CHECK(decrypt_ok(&b, &m0));
		free(m0.ct);
	}

	/* Several distribution ids per sender are independent. */
	{
		uint8_t s2[SOTTO_SKDM_MAX_BYTES];
		size_t l2;
		CHECK_RC(sotto_group_skdm_create(&a, ALICE, 1, DIST2, test_rng, NULL, s2, sizeof s2, &l2), 0);
		CHECK(memcmp(s2, skdm, 20) != 0);
		msg x;
		encrypt_one(&a, DIST2, &x);
		CHECK_RC(sotto_group_decrypt(&b, ALICE, 1, x.ct, x.len, tmp, sizeof tmp, &tl),
			 SOTTO_ERR_NO_SESSION);
		CHECK_RC(sotto_group_skdm_process(&b, ALICE, 1, s2, l2), 0);
		CHECK(decrypt_ok(&b, &x));
		free(x.ct);
		encrypt_one(&a, DIST, &x);
		CHECK(decrypt_ok(&b, &x));
		free(x.ct);
	}

	/* Late joiner: the SKDM carries the current iteration; earlier messages
	 * are unreadable, later ones fine. */
	{
		sotto_sender_key_memstore *cms = sotto_sender_key_memstore_new();
		sotto_sender_key_store cst;
		sotto_sender_key_memstore_table(cms, &cst);
		msg early;
		encrypt_one(&a, DIST, &early);
		uint8_t s3[SOTTO_SKDM_MAX_BYTES];
		size_t l3;
		CHECK_RC(sotto_group_skdm_create(&a, ALICE, 1, DIST, test_rng, NULL, s3, sizeof s3, &l3), 0);
		CHECK_RC(sotto_skdm_parse(s3, l3, &info), 0);
		CHECK(info.iteration == 50 + 40 + 1 + 1 + 1);
		CHECK_RC(sotto_group_skdm_process(&cst, ALICE, 1, s3, l3), 0);
		CHECK_RC(sotto_group_decrypt(&cst, ALICE, 1, early.ct, early.len, tmp, sizeof tmp, &tl),
			 SOTTO_ERR_DUPLICATE_MESSAGE);
		msg late;
		encrypt_one(&a, DIST, &late);
		CHECK(decrypt_ok(&cst, &late));
		/* Re-processing the same SKDM keeps the chain where it is. */
		CHECK_RC(sotto_group_skdm_process(&cst, ALICE, 1, s3, l3), 0);
		CHECK_RC(sotto_group_decrypt(&cst, ALICE, 1, late.ct, late.len, tmp, sizeof tmp, &tl),
			 SOTTO_ERR_DUPLICATE_MESSAGE);
		CHECK(decrypt_ok(&b, &late));
		free(early.ct);
		free(late.ct);
		sotto_sender_key_memstore_free(cms);
	}

	/* At most 5 states: six senders' keys under one (name, dist); the
	 * oldest is dropped. */
	{
		sotto_sender_key_memstore *rms = sotto_sender_key_memstore_new();
		sotto_sender_key_store rst;
		sotto_sender_key_memstore_table(rms, &rst);
		sotto_sender_key_memstore *sms[6];
		sotto_sender_key_store sst[6];
		msg sm[6];
		for (int i = 0; i < 6; i++) {
			sms[i] = sotto_sender_key_memstore_new();
			sotto_sender_key_memstore_table(sms[i], &sst[i]);
			uint8_t s[SOTTO_SKDM_MAX_BYTES];
			size_t l;
			CHECK_RC(sotto_group_skdm_create(&sst[i], ALICE, 1, DIST, test_rng, NULL, s, sizeof s, &l), 0);
			CHECK_RC(sotto_group_skdm_process(&rst, ALICE, 1, s, l), 0);
			encrypt_one(&sst[i], DIST, &sm[i]);
		}
		CHECK_RC(sotto_group_decrypt(&rst, ALICE, 1, sm[0].ct, sm[0].len, tmp, sizeof tmp, &tl),
			 SOTTO_ERR_NO_SESSION);
		ok = 0;
		for (int i = 1; i < 6; i++)
			ok += (size_t)decrypt_ok(&rst, &sm[i]);
		tu_report("five newest states kept", ok, 5);
		for (int i = 0; i < 6; i++) {
			free(sm[i].ct);
			sotto_sender_key_memstore_free(sms[i]);
		}
		/* Same chain id, different signing key: the old state is replaced. */
		sotto_sender_key_memstore *x1 = sotto_sender_key_memstore_new();
		sotto_sender_key_memstore *x2 = sotto_sender_key_memstore_new();
		sotto_sender_key_store t1, t2;
		sotto_sender_key_memstore_table(x1, &t1);
		sotto_sender_key_memstore_table(x2, &t2);
		int c1 = 0, c2 = 0;
		uint8_t s[SOTTO_SKDM_MAX_BYTES];
		size_t l;
		CHECK_RC(sotto_group_skdm_create(&t1, ALICE, 1, DIST, fixed_chain_rng, &c1, s, sizeof s, &l), 0);
		CHECK_RC(sotto_group_skdm_process(&rst, ALICE, 1, s, l), 0);
		msg y1, y2;
		encrypt_one(&t1, DIST, &y1);
		CHECK_RC(sotto_group_skdm_create(&t2, ALICE, 1, DIST, fixed_chain_rng, &c2, s, sizeof s, &l), 0);
		CHECK_RC(sotto_group_skdm_process(&rst, ALICE, 1, s, l), 0);
		encrypt_one(&t2, DIST, &y2);
		CHECK(decrypt_ok(&rst, &y2));
		/* y1 now finds the new state (same chain id) and fails its signature. */
		CHECK_RC(sotto_group_decrypt(&rst, ALICE, 1, y1.ct, y1.len, tmp, sizeof tmp, &tl),
			 SOTTO_ERR_INVALID_SIGNATURE);
		free(y1.ct);
		free(y2.ct);
		sotto_sender_key_memstore_free(x1);
		sotto_sender_key_memstore_free(x2);
		sotto_sender_key_memstore_free(rms);
	}

	/* Limits: a jump of 25000 is accepted, 25001 is not; 2000 skipped keys
	 * are kept, the oldest dropped. */
	{
		sotto_sender_key_memstore *lms = sotto_sender_key_memstore_new();
		sotto_sender_key_memstore *rms = sotto_sender_key_memstore_new();
		sotto_sender_key_store ls, rs;
		sotto_sender_key_memstore_table(lms, &ls);
		sotto_sender_key_memstore_table(rms, &rs);
		uint8_t s[SOTTO_SKDM_MAX_BYTES];
		size_t l;
		CHECK_RC(sotto_group_skdm_create(&ls, ALICE, 1, DIST, test_rng, NULL, s, sizeof s, &l), 0);
		CHECK_RC(sotto_group_skdm_process(&rs, ALICE, 1, s, l), 0);
		msg keep[5];
		const uint32_t want[5] = {22999, 23000, 24999, 25000, 25001};
		int k = 0;
		for (uint32_t i = 0; i <= 25001; i++) {
			msg x;
			encrypt_one(&ls, DIST, &x);
			if (k < 5 && i == want[k])
				keep[k++] = x;
			else
				free(x.ct);
		}
		CHECK(k == 5);
		size_t sl;
		uint8_t *snap = snapshot(&rs, DIST, &sl);
		CHECK_RC(sotto_group_decrypt(&rs, ALICE, 1, keep[4].ct, keep[4].len, tmp, sizeof tmp, &tl),
			 SOTTO_ERR_INVALID_MESSAGE);
		CHECK(unchanged(&rs, DIST, snap, sl));
		free(snap);
		CHECK(decrypt_ok(&rs, &keep[3]));	/* jump of exactly 25000 */
		CHECK(decrypt_ok(&rs, &keep[1]));	/* oldest kept skipped key */
		CHECK(decrypt_ok(&rs, &keep[2]));	/* newest skipped key */
		CHECK_RC(sotto_group_decrypt(&rs, ALICE, 1, keep[0].ct, keep[0].len, tmp, sizeof tmp, &tl),
			 SOTTO_ERR_DUPLICATE_MESSAGE); /* dropped: more than 2000 back */
		CHECK(decrypt_ok(&rs, &keep[4]));	/* now only one ahead */
		for (int i = 0; i < 5; i++)
			free(keep[i].ct);
		sotto_sender_key_memstore_free(lms);
		sotto_sender_key_memstore_free(rms);
	}

	/* Malformed SKDMs. */
	CHECK_RC(sotto_group_skdm_process(&b, ALICE, 1, skdm, 64), SOTTO_ERR_INVALID_MESSAGE);
	{
		uint8_t t[SOTTO_SKDM_MAX_BYTES];
		memcpy(t, skdm, skdmlen);
		t[0] = 0x43;
		CHECK_RC(sotto_group_skdm_process(&b, ALICE, 1, t, skdmlen), SOTTO_ERR_INVALID_MESSAGE);
		t[0] = 0x23;
		CHECK_RC(sotto_group_skdm_process(&b, ALICE, 1, t, skdmlen), SOTTO_ERR_INVALID_MESSAGE);
	}
	CHECK_RC(sotto_group_skdm_process(&b, ALICE, 0, skdm, skdmlen), SOTTO_ERR_INVALID_ARGUMENT);

	sotto_sender_key_memstore_free(ams);
	sotto_sender_key_memstore_free(bms);
	return tu_finish("sender_keys");
}
