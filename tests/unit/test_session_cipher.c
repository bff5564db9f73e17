/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The session layer between in-process parties with in-memory stores:
 * initiation, every failed decrypt leaving all stores byte-for-byte
 * unchanged, archived states (limit 40), re-initiation with late messages,
 * simultaneous initiation, identity change, the 30-day stale pending prekey,
 * 500 one-sided messages then replies, record serialization. */
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/session.h"
#include "sotto/util.h"
#include "testutil.h"

static uint64_t seed = 0x5e55102u;

static int rng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	tu_randbytes(&seed, buf, len);
	return 0;
}

#define T0 1767225600000ull /* 2026-01-01 in ms */
#define DAY_MS 86400000ull

typedef struct party {
	const char *name;
	sotto_address addr;
	sotto_identity_keypair id;
	uint32_t reg;
	sotto_protocol_memstore *ms;
	sotto_protocol_stores st;
	uint32_t next_id;
} party;

typedef struct msg {
	int type;
	size_t len;
	uint8_t *ct;
	uint8_t pt[64];
	size_t ptlen;
} msg;

static void party_init(party *p, const char *name, uint32_t dev)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->addr.name = name;
	p->addr.device_id = dev;
	CHECK_RC(sotto_identity_keypair_generate(&p->id, rng, NULL), 0);
	CHECK_RC(sotto_registration_id_generate(&p->reg, rng, NULL), 0);
	p->ms = sotto_protocol_memstore_new(&p->id, p->reg);
	CHECK(p->ms != NULL);
	sotto_protocol_memstore_tables(p->ms, &p->st);
	p->next_id = 1;
}

static void party_free(party *p)
{
	sotto_protocol_memstore_free(p->ms);
	p->ms = NULL;
}

/* p publishes a bundle (stored keys), with or without a one-time prekey. */
static void publish(party *p, int with_opk, sotto_prekey_bundle *b)
{
	sotto_prekey_record opk;
	sotto_signed_prekey_record spk;
	sotto_kyber_prekey_record *kpk = calloc(1, sizeof(*kpk));
	uint32_t id = p->next_id++;

	CHECK(kpk != NULL);
	memset(b, 0, sizeof(*b));
	CHECK_RC(sotto_signed_prekey_generate(&spk, 2000 + id, T0, &p->id, rng, NULL), 0);
	CHECK_RC(sotto_kyber_prekey_generate(kpk, 3000 + id, T0, &p->id, rng, NULL), 0);
	CHECK_RC(p->st.signed_prekey.store(p->st.signed_prekey.ctx, &spk), 0);
	CHECK_RC(p->st.kyber_prekey.store(p->st.kyber_prekey.ctx, kpk), 0);
	if (with_opk) {
		CHECK_RC(sotto_prekey_generate(&opk, 1000 + id, rng, NULL), 0);
		CHECK_RC(p->st.prekey.store(p->st.prekey.ctx, &opk), 0);
		b->has_pre_key = 1;
		b->pre_key_id = opk.id;
		memcpy(b->pre_key, opk.key.pub, 33);
	}
	b->registration_id = p->reg;
	b->device_id = p->addr.device_id;
	b->signed_pre_key_id = spk.id;
	memcpy(b->signed_pre_key, spk.key.pub, 33);
	memcpy(b->signed_pre_key_signature, spk.signature, 64);
	memcpy(b->identity_key, p->id.pub, 33);
	b->kyber_pre_key_id = kpk->id;
	memcpy(b->kyber_pre_key, kpk->pub, sizeof(kpk->pub));
	memcpy(b->kyber_pre_key_signature, kpk->signature, 64);
	sotto_memzero(kpk, sizeof(*kpk));
	free(kpk);
}

static int initiate(party *from, party *to, int with_opk, uint64_t now)
{
	sotto_prekey_bundle b;

	publish(to, with_opk, &b);
	return sotto_session_process_bundle(&from->st, &from->addr, &to->addr, &b, now, rng, NULL);
}

static msg enc_at(party *from, party *to, uint64_t now)
{
	msg m;
	size_t cap;

	memset(&m, 0, sizeof(m));
	m.ptlen = (size_t)(tu_rand64(&seed) % sizeof(m.pt));
	tu_randbytes(&seed, m.pt, m.ptlen);
	cap = sotto_session_encrypt_bound(m.ptlen);
	m.ct = malloc(cap);
	CHECK(m.ct != NULL);
	CHECK_RC(sotto_session_encrypt(&from->st, &from->addr, &to->addr, m.pt, m.ptlen, now, rng,
				       NULL, m.ct, cap, &m.len, &m.type),
		 0);
	return m;
}

static msg enc(party *from, party *to)
{
	return enc_at(from, to, T0 + 1000);
}

static int dec_raw(party *to, party *from, int type, const uint8_t *ct, size_t len, uint8_t *pt,
		   size_t *ptlen)
{
	return sotto_session_decrypt(&to->st, &to->addr, &from->addr, type, ct, len, rng, NULL, pt,
				     len, ptlen);
}

/* Decrypts m, which must succeed with the right plaintext. */
static void deliver(party *to, party *from, const msg *m)
{
	uint8_t *pt = malloc(m->len);
	size_t n = 0;

	CHECK(pt != NULL);
	CHECK_RC(dec_raw(to, from, m->type, m->ct, m->len, pt, &n), 0);
	CHECK(n == m->ptlen && memcmp(pt, m->pt, n) == 0);
	free(pt);
}

static void msg_free(msg *m)
{
	free(m->ct);
	m->ct = NULL;
}

static uint8_t *snap(const party *p, size_t *n)
{
	uint8_t *d = NULL;

	CHECK_RC(sotto_protocol_memstore_dump(p->ms, &d, n), 0);
	return d;
}

/* A decrypt that must fail with want (0: any error) and change nothing. */
static void refused(party *to, party *from, int type, const uint8_t *ct, size_t len, int want)
{
	size_t n0 = 0, n1 = 0, ptn = 0;
	uint8_t *d0 = snap(to, &n0), *d1;
	uint8_t *pt = malloc(len ? len : 1);
	int rc;

	rc = dec_raw(to, from, type, ct, len, pt, &ptn);
	CHECK(rc != 0);
	if (want != 0 && rc != want)
		tu_fail("decrypt returned %d, wanted %d", rc, want);
	d1 = snap(to, &n1);
	CHECK(n0 == n1 && d0 != NULL && d1 != NULL && memcmp(d0, d1, n0) == 0);
	free(d0);
	free(d1);
	free(pt);
}

static size_t archived(party *p, party *peer)
{
	sotto_session_record *rec = NULL;
	size_t n;

	if (sotto_session_load(&p->st, &peer->addr, &rec) != 0)
		return (size_t)-1;
	n = sotto_session_record_archived_count(rec);
	sotto_session_record_free(rec);
	return n;
}

static void converse(party *a, party *b, int rounds)
{
	int i, j;

	for (i = 0; i < rounds; i++) {
		party *s = i % 2 ? b : a, *r = i % 2 ? a : b;
		int k = 1 + (int)(tu_rand64(&seed) % 3);

		for (j = 0; j < k; j++) {
			msg m = enc(s, r);

			deliver(r, s, &m);
			msg_free(&m);
		}
	}
}

/* ---- tests -------------------------------------------------------------- */

static void test_initiation(void)
{
	party a, b;
	msg m[3], r, n;
	int has = 0;

	party_init(&a, "alice", 1);
	party_init(&b, "bob", 2);
	CHECK_RC(sotto_session_has_current(&a.st, &b.addr, T0, &has), 0);
	CHECK(has == 0);
	{
		uint8_t out[4096];
		size_t olen = 0;
		int type = 0;

		CHECK_RC(sotto_session_encrypt(&a.st, &a.addr, &b.addr, (const uint8_t *)"", 0, T0,
					       rng, NULL, out, sizeof(out), &olen, &type),
			 SOTTO_ERR_NO_SESSION);
	}
	CHECK_RC(initiate(&a, &b, 1, T0), 0);
	CHECK_RC(sotto_session_has_current(&a.st, &b.addr, T0, &has), 0);
	CHECK(has == 1);
	for (int i = 0; i < 3; i++) {
		m[i] = enc(&a, &b);
		CHECK(m[i].type == SOTTO_MESSAGE_TYPE_PREKEY);
	}
	deliver(&b, &a, &m[1]);
	deliver(&b, &a, &m[0]);
	deliver(&b, &a, &m[2]);
	refused(&b, &a, m[2].type, m[2].ct, m[2].len, SOTTO_ERR_DUPLICATE_MESSAGE);
	r = enc(&b, &a);
	CHECK(r.type == SOTTO_MESSAGE_TYPE_WHISPER);
	deliver(&a, &b, &r);
	n = enc(&a, &b);
	CHECK(n.type == SOTTO_MESSAGE_TYPE_WHISPER);
	deliver(&b, &a, &n);
	for (int i = 0; i < 3; i++)
		msg_free(&m[i]);
	msg_free(&r);
	msg_free(&n);
	party_free(&a);
	party_free(&b);
}

static uint64_t varint(const uint8_t *b, size_t n, size_t *pos)
{
	uint64_t v = 0;
	unsigned sh = 0;

	while (*pos < n && sh < 64) {
		uint8_t x = b[(*pos)++];

		v |= (uint64_t)(x & 0x7f) << sh;
		sh += 7;
		if (!(x & 0x80))
			break;
	}
	return v;
}

/* Byte range of protobuf field 5 (registration id) of a PreKeySignalMessage:
 * libsignal does not authenticate it, so flipping it is not an error. */
static void regid_range(const uint8_t *b, size_t n, size_t *lo, size_t *hi)
{
	size_t pos = 1;

	*lo = *hi = 0;
	while (pos < n) {
		size_t start = pos;
		uint64_t key = varint(b, n, &pos);

		if ((key & 7) == 0)
			(void)varint(b, n, &pos);
		else if ((key & 7) == 2)
			pos += (size_t)varint(b, n, &pos);
		else
			return;
		if (key >> 3 == 5) {
			*lo = start;
			*hi = pos;
		}
	}
}

static void test_unchanged_on_failure(void)
{
	size_t rlo, rhi;
	party a, b, c;
	msg p, w, later;
	uint8_t *x;
	size_t i;

	party_init(&a, "alice", 1);
	party_init(&b, "bob", 1);
	party_init(&c, "carol", 1);
	CHECK_RC(initiate(&a, &b, 1, T0), 0);
	p = enc(&a, &b);
	x = malloc(p.len);
	CHECK(x != NULL);
	/* Bit flips all over the PreKey message (every 7th bit), except the
	 * bits libsignal does not authenticate either: the low nibble of the
	 * version byte and the registration id. */
	regid_range(p.ct, p.len, &rlo, &rhi);
	CHECK(rhi > rlo);
	for (i = 0; i < p.len * 8; i += 7) {
		if (i < 4 || (i / 8 >= rlo && i / 8 < rhi))
			continue;
		memcpy(x, p.ct, p.len);
		x[i / 8] ^= (uint8_t)(1u << (i % 8));
		refused(&b, &a, p.type, x, p.len, 0);
	}
	free(x);
	refused(&b, &a, p.type, p.ct, 10, SOTTO_ERR_INVALID_MESSAGE);	   /* truncated */
	refused(&b, &a, SOTTO_MESSAGE_TYPE_WHISPER, p.ct, p.len, 0);	   /* wrong type */
	refused(&b, &c, SOTTO_MESSAGE_TYPE_WHISPER, p.ct, p.len, 0);
	deliver(&b, &a, &p);
	/* After the session exists: flips of a SignalMessage, a duplicate. */
	w = enc(&b, &a);
	x = malloc(w.len);
	for (i = 0; i < w.len * 8; i += 3) {
		memcpy(x, w.ct, w.len);
		x[i / 8] ^= (uint8_t)(1u << (i % 8));
		refused(&a, &b, w.type, x, w.len, 0);
	}
	free(x);
	deliver(&a, &b, &w);
	refused(&a, &b, w.type, w.ct, w.len, SOTTO_ERR_DUPLICATE_MESSAGE);
	/* An unknown signed prekey id and a consumed one-time prekey. */
	{
		sotto_prekey_bundle bb;
		msg q;

		publish(&b, 0, &bb);
		bb.signed_pre_key_id = 999999;
		CHECK_RC(sotto_session_process_bundle(&c.st, &c.addr, &b.addr, &bb, T0, rng, NULL),
			 0);
		q = enc(&c, &b);
		refused(&b, &c, q.type, q.ct, q.len, SOTTO_ERR_INVALID_KEY_ID);
		msg_free(&q);
	}
	later = enc(&a, &b);
	deliver(&b, &a, &later);
	msg_free(&later);
	msg_free(&p);
	msg_free(&w);
	party_free(&a);
	party_free(&b);
	party_free(&c);
}

static void test_reinit_and_archive(void)
{
	party a, b;
	msg lateA[3], lateB[2], fresh[2], rep;
	int i;

	party_init(&a, "alice", 1);
	party_init(&b, "bob", 1);
	CHECK_RC(initiate(&a, &b, 1, T0), 0);
	converse(&a, &b, 6);
	for (i = 0; i < 3; i++)
		lateA[i] = enc(&a, &b);
	for (i = 0; i < 2; i++)
		lateB[i] = enc(&b, &a);
	deliver(&b, &a, &lateA[0]);
	CHECK_RC(initiate(&a, &b, 0, T0), 0);
	CHECK(archived(&a, &b) == 1);
	for (i = 0; i < 2; i++) {
		fresh[i] = enc(&a, &b);
		CHECK(fresh[i].type == SOTTO_MESSAGE_TYPE_PREKEY);
	}
	deliver(&b, &a, &fresh[0]);
	CHECK(archived(&b, &a) == 1);
	deliver(&b, &a, &fresh[1]);
	deliver(&b, &a, &lateA[2]); /* old session, from the archive */
	deliver(&b, &a, &lateA[1]);
	rep = enc(&b, &a);
	deliver(&a, &b, &rep);
	deliver(&a, &b, &lateB[0]);
	deliver(&a, &b, &lateB[1]);
	converse(&a, &b, 8);
	for (i = 0; i < 3; i++)
		msg_free(&lateA[i]);
	for (i = 0; i < 2; i++) {
		msg_free(&lateB[i]);
		msg_free(&fresh[i]);
	}
	msg_free(&rep);
	/* At most 40 archived states. */
	for (i = 0; i < 45; i++)
		CHECK_RC(initiate(&a, &b, 0, T0), 0);
	CHECK(archived(&a, &b) == SOTTO_ARCHIVED_STATES_MAX);
	party_free(&a);
	party_free(&b);
}

static void test_simultaneous(void)
{
	party a, b;
	msg ma[2], mb[2], ca, cb;
	int i;

	party_init(&a, "alice", 1);
	party_init(&b, "bob", 1);
	CHECK_RC(initiate(&a, &b, 1, T0), 0);
	CHECK_RC(initiate(&b, &a, 1, T0), 0);
	for (i = 0; i < 2; i++) {
		ma[i] = enc(&a, &b);
		mb[i] = enc(&b, &a);
		CHECK(ma[i].type == SOTTO_MESSAGE_TYPE_PREKEY && mb[i].type == SOTTO_MESSAGE_TYPE_PREKEY);
	}
	for (i = 0; i < 2; i++) {
		deliver(&b, &a, &ma[i]);
		deliver(&a, &b, &mb[i]);
	}
	ca = enc(&a, &b);
	cb = enc(&b, &a);
	deliver(&b, &a, &ca);
	deliver(&a, &b, &cb);
	for (i = 0; i < 10; i++) {
		party *s = i % 2 ? &b : &a, *r = i % 2 ? &a : &b;
		msg m = enc(s, r);

		CHECK(m.type == SOTTO_MESSAGE_TYPE_WHISPER);
		deliver(r, s, &m);
		msg_free(&m);
	}
	for (i = 0; i < 2; i++) {
		msg_free(&ma[i]);
		msg_free(&mb[i]);
	}
	msg_free(&ca);
	msg_free(&cb);
	party_free(&a);
	party_free(&b);
}

static void test_identity_change(void)
{
	party a, b, b2;
	msg old_late, n1, still, m;
	sotto_prekey_bundle bb;

	party_init(&a, "alice", 1);
	party_init(&b, "bob", 1);
	CHECK_RC(initiate(&a, &b, 1, T0), 0);
	converse(&a, &b, 2);
	old_late = enc(&b, &a);
	party_init(&b2, "bob", 1); /* reinstalled: same name, new identity */
	publish(&b2, 1, &bb);
	CHECK_RC(sotto_session_process_bundle(&a.st, &a.addr, &b2.addr, &bb, T0, rng, NULL),
		 SOTTO_ERR_UNTRUSTED_IDENTITY);
	CHECK_RC(initiate(&b2, &a, 1, T0), 0);
	n1 = enc(&b2, &a);
	refused(&a, &b2, n1.type, n1.ct, n1.len, SOTTO_ERR_UNTRUSTED_IDENTITY);
	still = enc(&a, &b);
	CHECK(still.type == SOTTO_MESSAGE_TYPE_WHISPER);
	deliver(&b, &a, &still);
	CHECK_RC(sotto_protocol_memstore_set_identity(a.ms, "bob", b2.id.pub), 0);
	deliver(&a, &b2, &n1);
	m = enc(&a, &b2);
	deliver(&b2, &a, &m);
	/* The old identity's late message decrypts with an archived state, but
	 * is then refused as untrusted, and nothing is stored. */
	refused(&a, &b, old_late.type, old_late.ct, old_late.len, SOTTO_ERR_UNTRUSTED_IDENTITY);
	msg_free(&old_late);
	msg_free(&n1);
	msg_free(&still);
	msg_free(&m);
	party_free(&a);
	party_free(&b);
	party_free(&b2);
}

static void test_stale(void)
{
	party a, b;
	msg m;
	uint8_t out[4096];
	size_t n = 0;
	int type = 0, has = 0;
	const uint64_t limit = T0 + 30 * DAY_MS;

	party_init(&a, "alice", 1);
	party_init(&b, "bob", 1);
	CHECK_RC(initiate(&a, &b, 1, T0), 0);
	m = enc_at(&a, &b, limit); /* exactly 30 days: still fine */
	CHECK(m.type == SOTTO_MESSAGE_TYPE_PREKEY);
	CHECK_RC(sotto_session_encrypt(&a.st, &a.addr, &b.addr, (const uint8_t *)"x", 1,
				       limit + 1000, rng, NULL, out, sizeof(out), &n, &type),
		 SOTTO_ERR_NO_SESSION);
	CHECK_RC(sotto_session_has_current(&a.st, &b.addr, limit, &has), 0);
	CHECK(has == 1);
	CHECK_RC(sotto_session_has_current(&a.st, &b.addr, limit + 1000, &has), 0);
	CHECK(has == 0);
	/* An answer acknowledges the session: no more expiry. */
	deliver(&b, &a, &m);
	msg_free(&m);
	m = enc(&b, &a);
	deliver(&a, &b, &m);
	msg_free(&m);
	m = enc_at(&a, &b, limit + 365 * DAY_MS);
	CHECK(m.type == SOTTO_MESSAGE_TYPE_WHISPER);
	deliver(&b, &a, &m);
	msg_free(&m);
	party_free(&a);
	party_free(&b);
}

static void test_one_sided(void)
{
	enum { N = 500 };
	party a, b;
	msg *ms = calloc(N, sizeof(msg));
	int i;

	CHECK(ms != NULL);
	party_init(&a, "alice", 1);
	party_init(&b, "bob", 1);
	CHECK_RC(initiate(&a, &b, 1, T0), 0);
	for (i = 0; i < N; i++) {
		ms[i] = enc(&a, &b);
		CHECK(ms[i].type == SOTTO_MESSAGE_TYPE_PREKEY);
	}
	for (i = 0; i < N; i++) {
		deliver(&b, &a, &ms[i]);
		msg_free(&ms[i]);
	}
	for (i = 0; i < N; i++)
		ms[i] = enc(&b, &a);
	/* Delivered in reverse: every one but the last uses a skipped key. */
	for (i = N - 1; i >= 0; i--) {
		deliver(&a, &b, &ms[i]);
		msg_free(&ms[i]);
	}
	converse(&a, &b, 4);
	free(ms);
	party_free(&a);
	party_free(&b);
}

static void test_record_roundtrip(void)
{
	party a, b;
	sotto_session_record *rec = NULL, *rec2 = NULL;
	uint8_t *s1, *s2;
	size_t n1 = 0, n2 = 0;

	party_init(&a, "alice", 1);
	party_init(&b, "bob", 1);
	CHECK_RC(initiate(&a, &b, 1, T0), 0);
	converse(&a, &b, 3);
	CHECK_RC(initiate(&a, &b, 0, T0), 0);
	CHECK_RC(sotto_session_load(&a.st, &b.addr, &rec), 0);
	CHECK(sotto_session_record_archived_count(rec) == 1);
	CHECK_RC(sotto_session_record_serialize(rec, NULL, 0, &n1), SOTTO_ERR_BUFFER_TOO_SMALL);
	s1 = malloc(n1);
	CHECK_RC(sotto_session_record_serialize(rec, s1, n1, &n1), 0);
	CHECK_RC(sotto_session_record_deserialize(&rec2, s1, n1), 0);
	CHECK_RC(sotto_session_record_serialize(rec2, NULL, 0, &n2), SOTTO_ERR_BUFFER_TOO_SMALL);
	s2 = malloc(n2);
	CHECK_RC(sotto_session_record_serialize(rec2, s2, n2, &n2), 0);
	CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0);
	/* Truncations never parse into a record with more content. */
	for (size_t k = 1; k < 40; k++) {
		sotto_session_record *r3 = NULL;
		int rc = sotto_session_record_deserialize(&r3, s1, n1 - k);

		CHECK(rc != 0);
		sotto_session_record_free(r3);
	}
	CHECK_RC(sotto_session_record_archive_current(rec2), 0);
	CHECK(sotto_session_record_current(rec2) == NULL);
	CHECK(sotto_session_record_archived_count(rec2) == 2);
	CHECK(sotto_session_record_has_current_state(rec2, T0) == 0);
	free(s1);
	free(s2);
	sotto_session_record_free(rec);
	sotto_session_record_free(rec2);
	party_free(&a);
	party_free(&b);
}

int main(void)
{
	CHECK_RC(sotto_init(), 0);
	fprintf(stderr, "test_initiation\n");
	test_initiation();
	fprintf(stderr, "test_unchanged_on_failure\n");
	test_unchanged_on_failure();
	fprintf(stderr, "test_reinit_and_archive\n");
	test_reinit_and_archive();
	fprintf(stderr, "test_simultaneous\n");
	test_simultaneous();
	fprintf(stderr, "test_identity_change\n");
	test_identity_change();
	fprintf(stderr, "test_stale\n");
	test_stale();
	fprintf(stderr, "test_one_sided\n");
	test_one_sided();
	fprintf(stderr, "test_record_roundtrip\n");
	test_record_roundtrip();
	return tu_finish("session_cipher");
}
