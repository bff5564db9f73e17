/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* SPQR V1 state machine (src/protocol/spqr_braid.c): two C parties exchange
 * thousands of messages with random interleaving, batches, drops and
 * reordering, and must derive the same key for every delivered message while
 * advancing many epochs both ways. Corrupted chunks and MACs, bad versions,
 * epochs and indices are rejected with the state unchanged; the state
 * survives a serialize/parse round trip after every step; the parser rejects
 * truncations and trailing bytes. Interop with libsignal is checked by
 * tests/interop/test_spqr_braid.mjs. */
#include <stdlib.h>
#include <string.h>

#include "protocol/spqr_braid.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "testutil.h"

static int test_rng(void *ctx, uint8_t *buf, size_t len)
{
	tu_randbytes((uint64_t *)ctx, buf, len);
	return 0;
}

static int failing_rng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return SOTTO_ERR_CRYPTO;
}

static uint8_t *ser(const sotto_spqr_state *st, size_t *len)
{
	size_t n = sotto__spqr_state_serialized_size(st);
	uint8_t *b = malloc(n);

	if (b == NULL)
		abort();
	if (sotto__spqr_state_serialize(st, b, n, len) != 0 || *len != n) {
		tu_fail("serialize failed");
		*len = 0;
	}
	return b;
}

/* Serializes, parses back, serializes again: must be byte-identical. The
 * parsed copy replaces the state, so the run continues on it. */
static void roundtrip(sotto_spqr_state **st)
{
	size_t n1, n2;
	uint8_t *b1 = ser(*st, &n1), *b2;
	sotto_spqr_state *c = NULL;

	CHECK_RC(sotto__spqr_state_deserialize(&c, b1, n1), 0);
	if (c == NULL) {
		free(b1);
		return;
	}
	b2 = ser(c, &n2);
	CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
	sotto__spqr_state_free(*st);
	*st = c;
	free(b1);
	free(b2);
}

/* 1 if the serialized state equals snap. */
static int same_state(const sotto_spqr_state *st, const uint8_t *snap, size_t snaplen)
{
	size_t n;
	uint8_t *b = ser(st, &n);
	int eq = n == snaplen && memcmp(b, snap, n) == 0;

	free(b);
	return eq;
}

static const uint8_t AUTH_KEY[32] = {41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41,
				     41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41,
				     41, 41, 41, 41, 41, 41, 41, 41, 41, 7};

static void new_pair(sotto_spqr_state **a, sotto_spqr_state **b, uint32_t max_jump)
{
	CHECK_RC(sotto__spqr_initial_state(a, AUTH_KEY, 32, SOTTO_SPQR_A2B, max_jump, 0), 0);
	CHECK_RC(sotto__spqr_initial_state(b, AUTH_KEY, 32, SOTTO_SPQR_B2A, max_jump, 0), 0);
	if (*a == NULL || *b == NULL)
		abort();
}

struct msg {
	uint8_t b[SOTTO_SPQR_MSG_MAX_BYTES];
	size_t len;
	uint8_t key[32];
};

static void first_messages(void)
{
	sotto_spqr_state *a, *b;
	uint64_t seed = 1;
	struct msg m;
	uint8_t key[32];
	int hk;

	new_pair(&a, &b, 0);
	CHECK(sotto__spqr_state_name(a) == SOTTO_SPQR_KEYS_UNSAMPLED);
	CHECK(sotto__spqr_state_name(b) == SOTTO_SPQR_NO_HEADER_RECEIVED);
	CHECK(sotto__spqr_state_negotiating(b));
	/* facts 5.2: 01 01 01 01 00 <32> and 01 01 01 00 */
	CHECK_RC(sotto__spqr_send(a, test_rng, &seed, m.b, &m.len, m.key), 0);
	CHECK(m.len == 37 && memcmp(m.b, "\x01\x01\x01\x01\x00", 5) == 0);
	CHECK(sotto__spqr_state_name(a) == SOTTO_SPQR_KEYS_SAMPLED);
	CHECK_RC(sotto__spqr_recv(b, m.b, m.len, key, &hk, NULL), 0);
	CHECK(hk && memcmp(key, m.key, 32) == 0);
	CHECK(!sotto__spqr_state_negotiating(b));
	CHECK_RC(sotto__spqr_send(b, test_rng, &seed, m.b, &m.len, m.key), 0);
	CHECK(m.len == 4 && memcmp(m.b, "\x01\x01\x01\x00", 4) == 0);
	CHECK_RC(sotto__spqr_recv(a, m.b, m.len, key, &hk, NULL), 0);
	CHECK(hk && memcmp(key, m.key, 32) == 0);
	/* A failing RNG fails the key generation and changes nothing. */
	{
		sotto_spqr_state *c, *d;
		size_t n;
		uint8_t *snap;

		new_pair(&c, &d, 0);
		snap = ser(c, &n);
		CHECK_RC(sotto__spqr_send(c, failing_rng, NULL, m.b, &m.len, m.key),
			 SOTTO_ERR_CRYPTO);
		CHECK(same_state(c, snap, n));
		free(snap);
		sotto__spqr_state_free(c);
		sotto__spqr_state_free(d);
	}
	sotto__spqr_state_free(a);
	sotto__spqr_state_free(b);
}

/* ---- the big randomized exchange --------------------------------------- */

#define QCAP 4096
struct queue {
	struct msg m[QCAP];
	size_t n;
};

struct party {
	sotto_spqr_state *st;
	struct queue in; /* messages in flight towards this party */
	unsigned delivered, dropped, corrupt_rejected, corrupt_absorbed;
	unsigned seen[12];
};

static void push(struct queue *q, const struct msg *m)
{
	if (q->n == QCAP)
		abort();
	q->m[q->n++] = *m;
}

static void take_at(struct queue *q, size_t i, struct msg *out)
{
	*out = q->m[i];
	memmove(&q->m[i], &q->m[i + 1], (q->n - i - 1) * sizeof q->m[0]);
	q->n--;
}

static int has_chunk(const struct msg *m)
{
	size_t i = 1;

	/* skip epoch and index varints */
	for (int v = 0; v < 2; v++)
		while (i < m->len && (m->b[i++] & 0x80))
			;
	return i < m->len && sotto__spqr_msg_has_chunk(m->b[i]);
}

/* Transitions that must check what the completed stream carries. */
static int checked_transition(int from, int to)
{
	return (from == SOTTO_SPQR_NO_HEADER_RECEIVED && to == SOTTO_SPQR_HEADER_RECEIVED) ||
	       (from == SOTTO_SPQR_EK_SENT_CT1_RECEIVED && to != from) ||
	       (from == SOTTO_SPQR_CT1_SAMPLED &&
		(to == SOTTO_SPQR_EK_RECEIVED_CT1_SAMPLED || to == SOTTO_SPQR_CT2_SAMPLED)) ||
	       (from == SOTTO_SPQR_CT1_ACKNOWLEDGED && to == SOTTO_SPQR_CT2_SAMPLED);
}

static unsigned detected_kind[12], states_seen[12];

static void deliver(struct party *p, const struct msg *m, uint64_t *rs)
{
	uint8_t key[32];
	int hk = 0, rc, from, corrupt_rc = 1;
	size_t snaplen;
	uint8_t *snap = NULL;

	from = sotto__spqr_state_name(p->st);
	if (has_chunk(m) && tu_rand64(rs) % 8 == 0) {
		/* Try a copy with one flipped bit in the chunk's first symbol
		 * (polynomial 0) first. An error must leave the state as it
		 * was; a silently absorbed chunk is undone from the snapshot. */
		struct msg bad = *m;
		bad.b[bad.len - 32] ^= (uint8_t)(1u << (tu_rand64(rs) % 8));
		snap = ser(p->st, &snaplen);
		corrupt_rc = sotto__spqr_recv(p->st, bad.b, bad.len, key, &hk, NULL);
		if (corrupt_rc != 0) {
			CHECK(corrupt_rc == SOTTO_ERR_INVALID_MESSAGE);
			CHECK(same_state(p->st, snap, snaplen));
			p->corrupt_rejected++;
		} else {
			sotto_spqr_state *back = NULL;
			CHECK_RC(sotto__spqr_state_deserialize(&back, snap, snaplen), 0);
			sotto__spqr_state_free(p->st);
			p->st = back;
			p->corrupt_absorbed++;
		}
	}
	rc = sotto__spqr_recv(p->st, m->b, m->len, key, &hk, NULL);
	CHECK_RC(rc, 0);
	CHECK(hk && memcmp(key, m->key, 32) == 0);
	if (snap != NULL) {
		int to = sotto__spqr_state_name(p->st);
		if (checked_transition(from, to)) {
			CHECK(corrupt_rc != 0);
			detected_kind[from]++;
		}
		free(snap);
	}
	p->delivered++;
	roundtrip(&p->st);
}

static void exchange(uint64_t seed, unsigned steps, uint64_t *epochs_out)
{
	static struct party A, B;
	uint64_t rs = seed, rng = seed ^ 0x5eed;
	struct party *ps[2] = {&A, &B};

	memset(&A, 0, sizeof A);
	memset(&B, 0, sizeof B);
	new_pair(&A.st, &B.st, 0);
	for (unsigned step = 0; step < steps; step++) {
		unsigned r = (unsigned)(tu_rand64(&rs) % 100);
		struct party *s = ps[tu_rand64(&rs) & 1], *d = s == &A ? &B : &A;

		if (r < 45) {
			/* a batch of 1..12 sends (sometimes one long burst) */
			unsigned n = 1 + (unsigned)(tu_rand64(&rs) % (r < 3 ? 60 : 5));
			for (unsigned i = 0; i < n && d->in.n < QCAP; i++) {
				struct msg m;
				CHECK_RC(sotto__spqr_send(s->st, test_rng, &rng, m.b, &m.len, m.key), 0);
				push(&d->in, &m);
				s->seen[sotto__spqr_state_name(s->st)]++;
			}
			roundtrip(&s->st);
		} else {
			/* deliver up to 10 of the messages in flight to d, picked
			 * from the oldest few (reordering), some dropped */
			unsigned n = 1 + (unsigned)(tu_rand64(&rs) % 16);
			for (unsigned i = 0; i < n && d->in.n > 0; i++) {
				size_t win = d->in.n < 6 ? d->in.n : 6;
				struct msg m;
				take_at(&d->in, (size_t)(tu_rand64(&rs) % win), &m);
				if (tu_rand64(&rs) % 20 == 0) {
					d->dropped++;
					continue;
				}
				deliver(d, &m, &rs);
				d->seen[sotto__spqr_state_name(d->st)]++;
			}
		}
	}
	/* drain */
	for (int k = 0; k < 2; k++)
		while (ps[k]->in.n > 0) {
			struct msg m;
			take_at(&ps[k]->in, 0, &m);
			deliver(ps[k], &m, &rs);
		}
	epochs_out[0] = sotto__spqr_state_epoch(A.st);
	epochs_out[1] = sotto__spqr_state_epoch(B.st);
	printf("exchange seed %llu: A got %u (dropped %u), B got %u (dropped %u); epochs A %llu B %llu; "
	       "chain epochs %llu/%llu; corrupted chunks rejected %u, absorbed and undone %u\n",
	       (unsigned long long)seed, A.delivered, A.dropped, B.delivered, B.dropped,
	       (unsigned long long)epochs_out[0], (unsigned long long)epochs_out[1],
	       (unsigned long long)sotto__spqr_chain_current_epoch(sotto__spqr_state_chain(A.st)),
	       (unsigned long long)sotto__spqr_chain_current_epoch(sotto__spqr_state_chain(B.st)),
	       A.corrupt_rejected + B.corrupt_rejected, A.corrupt_absorbed + B.corrupt_absorbed);
	/* Every one of the eleven states was visited by someone. */
	for (int s = SOTTO_SPQR_KEYS_UNSAMPLED; s <= SOTTO_SPQR_CT2_SAMPLED; s++) {
		states_seen[s] += A.seen[s] + B.seen[s];
		printf(" %u", A.seen[s] + B.seen[s]);
	}
	printf(" (visits per state)\n");
	sotto__spqr_state_free(A.st);
	sotto__spqr_state_free(B.st);
}

/* Strict ping-pong: both parties' roles alternate every epoch. */
static void pingpong(void)
{
	sotto_spqr_state *a, *b;
	uint64_t seed = 77;
	struct msg m;
	uint8_t key[32];
	int hk;

	new_pair(&a, &b, 0);
	for (int i = 0; i < 1200; i++) {
		sotto_spqr_state *s = (i & 1) ? b : a, *d = (i & 1) ? a : b;
		CHECK_RC(sotto__spqr_send(s, test_rng, &seed, m.b, &m.len, m.key), 0);
		CHECK_RC(sotto__spqr_recv(d, m.b, m.len, key, &hk, NULL), 0);
		CHECK(hk && memcmp(key, m.key, 32) == 0);
	}
	printf("ping-pong 1200 messages: epochs A %llu B %llu\n",
	       (unsigned long long)sotto__spqr_state_epoch(a),
	       (unsigned long long)sotto__spqr_state_epoch(b));
	CHECK(sotto__spqr_state_epoch(a) >= 10);
	sotto__spqr_state_free(a);
	sotto__spqr_state_free(b);
}

/* ---- rejections --------------------------------------------------------- */

static void expect_reject(sotto_spqr_state *st, const uint8_t *msg, size_t len, int want,
			  enum sotto_spqr_chain_why want_why)
{
	size_t n;
	uint8_t *snap = ser(st, &n), key[32];
	int hk = 7;
	enum sotto_spqr_chain_why why;

	CHECK_RC(sotto__spqr_recv(st, msg, len, key, &hk, &why), want);
	CHECK(hk == 0);
	CHECK(why == want_why);
	CHECK(same_state(st, snap, n));
	free(snap);
}

static void rejections(void)
{
	sotto_spqr_state *a, *b;
	uint64_t seed = 5;
	struct msg m, hdr[3];
	uint8_t key[32], buf[64];
	size_t n;
	int hk;

	new_pair(&a, &b, 0);
	for (int i = 0; i < 3; i++)
		CHECK_RC(sotto__spqr_send(a, test_rng, &seed, hdr[i].b, &hdr[i].len, hdr[i].key),
			 0);
	/* Versions: empty and V0 fail (below min_version), before and after
	 * negotiation; an unknown version is ignored. */
	expect_reject(b, (const uint8_t *)"", 0, SOTTO_ERR_INVALID_MESSAGE, 0);
	expect_reject(b, (const uint8_t *)"\x00\x01\x01\x00", 4, SOTTO_ERR_INVALID_MESSAGE, 0);
	{
		size_t sl;
		uint8_t *snap = ser(b, &sl);
		hk = 7;
		CHECK_RC(sotto__spqr_recv(b, (const uint8_t *)"\x02\x01\x01\x00", 4, key, &hk, NULL),
			 0);
		CHECK(hk == 0 && same_state(b, snap, sl));
		CHECK_RC(sotto__spqr_recv(b, (const uint8_t *)"\xff", 1, key, &hk, NULL), 0);
		CHECK(hk == 0 && same_state(b, snap, sl));
		free(snap);
	}
	/* Malformed V1 messages. */
	expect_reject(b, hdr[0].b, 4, SOTTO_ERR_INVALID_MESSAGE, 0);
	expect_reject(b, hdr[0].b, hdr[0].len - 1, SOTTO_ERR_INVALID_MESSAGE, 0);
	expect_reject(b, (const uint8_t *)"\x01\x00\x01\x00", 4, SOTTO_ERR_INVALID_MESSAGE, 0);
	expect_reject(b, (const uint8_t *)"\x01\x01\x01\x07", 4, SOTTO_ERR_INVALID_MESSAGE, 0);
	/* An epoch above ours. */
	expect_reject(b, (const uint8_t *)"\x01\x02\x01\x00", 4, SOTTO_ERR_INVALID_MESSAGE, 0);
	/* Index 30 000 > max_jump 25 000 ahead. */
	memcpy(buf, "\x01\x01\xb0\xea\x01\x00", 6);
	expect_reject(b, buf, 6, SOTTO_ERR_INVALID_MESSAGE, SOTTO_SPQR_CHAIN_KEY_JUMP);
	/* The first two header chunks; the third with a flipped bit fails the
	 * header MAC; the real one then works. */
	for (int i = 0; i < 2; i++) {
		CHECK_RC(sotto__spqr_recv(b, hdr[i].b, hdr[i].len, key, &hk, NULL), 0);
		CHECK(hk && memcmp(key, hdr[i].key, 32) == 0);
	}
	m = hdr[2];
	m.b[m.len - 1] ^= 0x80; /* the MAC's last byte */
	expect_reject(b, m.b, m.len, SOTTO_ERR_INVALID_MESSAGE, 0);
	CHECK(sotto__spqr_state_name(b) == SOTTO_SPQR_NO_HEADER_RECEIVED);
	CHECK_RC(sotto__spqr_recv(b, hdr[2].b, hdr[2].len, key, &hk, NULL), 0);
	CHECK(sotto__spqr_state_name(b) == SOTTO_SPQR_HEADER_RECEIVED);
	/* The same message again: its key was handed out already. */
	expect_reject(b, hdr[2].b, hdr[2].len, SOTTO_ERR_DUPLICATE_MESSAGE,
		      SOTTO_SPQR_CHAIN_KEY_ALREADY_REQUESTED);
	/* A message index 0 of epoch 1 carries no key. */
	CHECK_RC(sotto__spqr_recv(b, (const uint8_t *)"\x01\x01\x00\x00", 4, key, &hk, NULL), 0);
	CHECK(hk == 0);
	sotto__spqr_state_free(a);
	sotto__spqr_state_free(b);

	/* A self-session (max_jump = UINT32_MAX) takes the far jump. */
	new_pair(&a, &b, UINT32_MAX);
	memcpy(buf, "\x01\x01\xb0\xea\x01\x00", 6);
	CHECK_RC(sotto__spqr_recv(b, buf, 6, key, &hk, NULL), 0);
	CHECK(hk == 1);
	sotto__spqr_state_free(a);
	sotto__spqr_state_free(b);
	(void)n;
}

/* A wrong ct1 (e.g. corrupted chunk absorbed) makes ct2's MAC fail: the
 * EK-sender refuses the last ct2 chunk, state unchanged. */
static void bad_ct1(void)
{
	sotto_spqr_state *a, *b;
	uint64_t seed = 9;
	struct msg m;
	uint8_t key[32];
	int hk, tampered = 0, rejected = 0;

	new_pair(&a, &b, 0);
	for (int i = 0; i < 400 && !rejected; i++) {
		sotto_spqr_state *s = (i & 1) ? b : a, *d = (i & 1) ? a : b;
		int before = sotto__spqr_state_name(d);
		CHECK_RC(sotto__spqr_send(s, test_rng, &seed, m.b, &m.len, m.key), 0);
		if (d == a && m.b[3] == SOTTO_SPQR_MSG_CT1 && m.b[4] == 7 && !tampered) {
			/* ct1 chunk 7 with a flipped bit: absorbed silently */
			m.b[m.len - 5] ^= 1;
			tampered = 1;
		}
		if (d == a && before == SOTTO_SPQR_EK_SENT_CT1_RECEIVED && m.b[3] == SOTTO_SPQR_MSG_CT2 &&
		    m.b[4] == 4) {
			expect_reject(a, m.b, m.len, SOTTO_ERR_INVALID_MESSAGE, 0);
			rejected = 1;
			break;
		}
		CHECK_RC(sotto__spqr_recv(d, m.b, m.len, key, &hk, NULL), 0);
	}
	CHECK(tampered && rejected);
	sotto__spqr_state_free(a);
	sotto__spqr_state_free(b);
}

/* The parser refuses every truncation, a trailing byte, and a few flips of
 * structural bytes. */
static void parse_strict(void)
{
	sotto_spqr_state *a, *b, *c;
	uint64_t seed = 3;
	struct msg m;
	uint8_t key[32];
	int hk;
	unsigned rejected = 0, total = 0;

	new_pair(&a, &b, 0);
	for (int i = 0; i < 130; i++) {
		sotto_spqr_state *s = (i & 1) ? b : a, *d = (i & 1) ? a : b;
		CHECK_RC(sotto__spqr_send(s, test_rng, &seed, m.b, &m.len, m.key), 0);
		CHECK_RC(sotto__spqr_recv(d, m.b, m.len, key, &hk, NULL), 0);
		if (i % 13 == 0) {
			size_t n;
			uint8_t *bb = ser(d, &n), *big = malloc(n + 1);
			if (big == NULL)
				abort();
			for (size_t cut = 0; cut < n; cut += (n > 600 ? 7 : 1)) {
				total++;
				if (sotto__spqr_state_deserialize(&c, bb, cut) != 0 && c == NULL)
					rejected++;
				else
					sotto__spqr_state_free(c);
			}
			memcpy(big, bb, n);
			big[n] = 0;
			total++;
			if (sotto__spqr_state_deserialize(&c, big, n + 1) != 0)
				rejected++;
			else
				sotto__spqr_state_free(c);
			/* magic, version, negotiating flag, direction */
			for (size_t k = 0; k < 4; k++) {
				memcpy(big, bb, n);
				big[k] ^= 0x40;
				total++;
				if (sotto__spqr_state_deserialize(&c, big, n) != 0)
					rejected++;
				else
					sotto__spqr_state_free(c);
			}
			free(big);
			free(bb);
		}
	}
	tu_report("state parser rejects malformed input", rejected, total);
	sotto__spqr_state_free(a);
	sotto__spqr_state_free(b);
}

int main(void)
{
	uint64_t ep[2], max_a = 0, max_b = 0;

	CHECK_RC(sotto_init(), 0);
	first_messages();
	pingpong();
	rejections();
	bad_ct1();
	parse_strict();
	for (uint64_t s = 1; s <= 3; s++) {
		exchange(s, 1500, ep);
		max_a = ep[0] > max_a ? ep[0] : max_a;
		max_b = ep[1] > max_b ? ep[1] : max_b;
	}
	CHECK(max_a >= 8 && max_b >= 8);
	for (int s = SOTTO_SPQR_KEYS_UNSAMPLED; s <= SOTTO_SPQR_CT2_SAMPLED; s++)
		CHECK(states_seen[s] > 0);
	/* every checked transition saw a corrupted chunk rejected */
	CHECK(detected_kind[SOTTO_SPQR_NO_HEADER_RECEIVED] > 0);
	CHECK(detected_kind[SOTTO_SPQR_EK_SENT_CT1_RECEIVED] > 0);
	CHECK(detected_kind[SOTTO_SPQR_CT1_SAMPLED] + detected_kind[SOTTO_SPQR_CT1_ACKNOWLEDGED] > 0);
	printf("corruption detected at: hdr %u, ct2 %u, ek %u/%u\n",
	       detected_kind[SOTTO_SPQR_NO_HEADER_RECEIVED],
	       detected_kind[SOTTO_SPQR_EK_SENT_CT1_RECEIVED], detected_kind[SOTTO_SPQR_CT1_SAMPLED],
	       detected_kind[SOTTO_SPQR_CT1_ACKNOWLEDGED]);
	return tu_finish("spqr_braid");
}
