/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* kill -9 of sottod during a burst of 10,000 messages from several clients
 * (pipelined over src/client/conn_mux.h), restart, and the count:
 *   - every send the server acknowledged before the kill is in the
 *     recipients' queues after the restart;
 *   - nothing is there that was neither acknowledged nor in flight at the
 *     kill (the server never stores what it was not asked to, and never
 *     acknowledges what it did not commit);
 *   - the senders then resend everything not acknowledged, as clients do,
 *     and after de-duplication by message id every message is delivered
 *     exactly once; the raw duplicates are at most the sends in flight at
 *     the kill.
 * SOTTO_CRASH_MESSAGES overrides the burst size (default 10000). */
#include "client/conn_mux.h"
#include "net_test.h"

#define N_SENDERS 4
#define N_RECIPIENTS 4
#define WINDOW 48 /* sends in flight per sender */
#define RING 1024

enum msg_state { M_UNSENT = 0, M_INFLIGHT, M_ACKED };

struct party {
	uint8_t priv[32];
	uint8_t account[16];
	int recipient, registered, ready;
	uint64_t hello_id; /* register or authenticate */
	sotto_mux_conn *c;
	/* sender */
	size_t first, count, next; /* its messages: [first, first + count) */
	unsigned inflight;
	uint64_t ring_id[RING];
	uint32_t ring_msg[RING];
	/* recipient */
	uint64_t pending_acks[512];
	size_t n_pending_acks;
	int queue_empty;
};

static struct party parties[N_SENDERS + N_RECIPIENTS];
static uint32_t n_msgs;
static uint8_t *state;     /* enum msg_state per message */
static uint32_t *delivered; /* raw deliveries per message */
static size_t n_acked, n_delivered_raw, n_bad, n_ack_failed;
static int killed;

static struct party *recipient_of(uint32_t msg)
{
	return &parties[N_SENDERS + msg % N_RECIPIENTS];
}

static void send_hello(struct party *p)
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__RegisterRequest rr = SOTTO__SERVICE__REGISTER_REQUEST__INIT;
	Sotto__Service__AuthenticateRequest ar = SOTTO__SERVICE__AUTHENTICATE_REQUEST__INIT;
	uint8_t ik[33];
	memset(ik, 0x22, sizeof(ik));
	ik[0] = 0x05;
	if (!p->registered) {
		rr.registration_id = 77;
		rr.identity_key.data = ik;
		rr.identity_key.len = 33;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_REGISTER_ACCOUNT;
		req.register_account = &rr;
	} else {
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_AUTHENTICATE;
		req.authenticate = &ar;
	}
	if (sotto_mux_send(p->c, &req, &p->hello_id) != 0)
		n_bad++;
}

/* Fills the sender's window with messages not yet acknowledged. */
static void pump(struct party *p)
{
	if (p->recipient || !p->ready || p->c == NULL || killed == 1)
		return;
	while (p->inflight < WINDOW && p->next < p->first + p->count) {
		uint32_t msg = (uint32_t)p->next++;
		if (state[msg] == M_ACKED)
			continue;
		char body[64];
		int n = snprintf(body, sizeof(body), "burst message %06u from a sender", msg);
		struct party *to = recipient_of(msg);
		Sotto__Service__OutgoingEnvelope e = SOTTO__SERVICE__OUTGOING_ENVELOPE__INIT, *ep = &e;
		e.device_id = 1;
		e.type = 1;
		e.content.data = (uint8_t *)body;
		e.content.len = (size_t)n;
		Sotto__Service__SendRequest sr = SOTTO__SERVICE__SEND_REQUEST__INIT;
		sr.destination.data = to->account;
		sr.destination.len = 16;
		sr.envelopes = &ep;
		sr.n_envelopes = 1;
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_SEND;
		req.send = &sr;
		uint64_t id;
		if (sotto_mux_send(p->c, &req, &id) != 0)
			return;
		state[msg] = M_INFLIGHT;
		p->ring_id[id % RING] = id;
		p->ring_msg[id % RING] = msg;
		p->inflight++;
	}
}

static void flush_acks(struct party *p)
{
	if (p->n_pending_acks == 0 || p->c == NULL || !p->ready)
		return;
	Sotto__Service__AckRequest ar = SOTTO__SERVICE__ACK_REQUEST__INIT;
	ar.seqs = p->pending_acks;
	ar.n_seqs = p->n_pending_acks;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_ACK;
	req.ack = &ar;
	if (sotto_mux_send(p->c, &req, NULL) != 0)
		n_bad++;
	p->n_pending_acks = 0;
}

static void on_open(void *arg, sotto_mux_conn *c)
{
	(void)arg;
	send_hello(sotto_mux_user(c));
}

static void on_close(void *arg, sotto_mux_conn *c, int err)
{
	(void)arg;
	(void)err;
	struct party *p = sotto_mux_user(c);
	p->c = NULL;
	p->ready = 0;
	p->inflight = 0; /* whatever was in flight stays M_INFLIGHT: unknown */
	p->n_pending_acks = 0;
}

static void on_response(void *arg, sotto_mux_conn *c, const Response *r)
{
	(void)arg;
	struct party *p = sotto_mux_user(c);
	if (r->id == p->hello_id) {
		if (r->status != 0) {
			n_bad++;
			return;
		}
		if (!p->registered && r->register_account != NULL &&
			r->register_account->account_id.len == 16) {
			memcpy(p->account, r->register_account->account_id.data, 16);
			p->registered = 1;
		}
		p->ready = 1;
		pump(p);
		return;
	}
	if (p->recipient) {
		/* Ack answers. */
		if (r->status != 0)
			n_ack_failed++;
		return;
	}
	if (p->ring_id[r->id % RING] != r->id) {
		n_bad++;
		return;
	}
	uint32_t msg = p->ring_msg[r->id % RING];
	p->inflight--;
	if (r->status == 0 && r->send != NULL && r->send->stored == 1) {
		if (state[msg] != M_ACKED)
			n_acked++;
		state[msg] = M_ACKED;
	} else {
		n_bad++;
	}
	pump(p);
}

static void on_push(void *arg, sotto_mux_conn *c, const Sotto__Service__Push *push)
{
	(void)arg;
	struct party *p = sotto_mux_user(c);
	if (push->body_case == SOTTO__SERVICE__PUSH__BODY_QUEUE_EMPTY) {
		p->queue_empty = 1;
		flush_acks(p);
		return;
	}
	if (push->body_case != SOTTO__SERVICE__PUSH__BODY_ENVELOPE)
		return;
	const Sotto__Service__Envelope *e = push->envelope;
	char body[64];
	unsigned msg;
	size_t n = e->content.len < sizeof(body) - 1 ? e->content.len : sizeof(body) - 1;
	memcpy(body, e->content.data, n);
	body[n] = '\0';
	if (sscanf(body, "burst message %u from a sender", &msg) != 1 || msg >= n_msgs ||
		recipient_of(msg) != p) {
		n_bad++;
	} else {
		delivered[msg]++;
		n_delivered_raw++;

	}
	p->pending_acks[p->n_pending_acks++] = e->seq;
	if (p->n_pending_acks == sizeof(p->pending_acks) / sizeof(p->pending_acks[0]))
		flush_acks(p);
}

static int connect_party(sotto_mux *m, struct party *p)
{
	p->ready = 0;
	p->queue_empty = 0;
	return sotto_mux_connect(m, "127.0.0.1", nt_port, NULL, p->priv, nt_pub, p, &p->c);
}

static size_t count_ready(size_t from, size_t to)
{
	size_t n = 0;
	for (size_t i = from; i < to; i++)
		n += parties[i].ready;
	return n;
}

static void poll_for(sotto_mux *m, unsigned ms, int (*done)(void))
{
	uint64_t end = nt_now_ms() + ms;
	while (!done() && nt_now_ms() < end) {
		(void)sotto_mux_poll(m, 20);
		for (size_t i = N_SENDERS; i < N_SENDERS + N_RECIPIENTS; i++)
			flush_acks(&parties[i]);
	}
}

static int all_ready(void)
{
	return count_ready(0, N_SENDERS + N_RECIPIENTS) == N_SENDERS + N_RECIPIENTS;
}

static int recipients_drained(void)
{
	for (size_t i = N_SENDERS; i < N_SENDERS + N_RECIPIENTS; i++)
		if (!parties[i].queue_empty)
			return 0;
	return 1;
}

static int kill_point(void)
{
	return n_acked >= n_msgs * 3 / 10;
}

static int all_done(void)
{
	if (n_acked < n_msgs)
		return 0;
	for (uint32_t i = 0; i < n_msgs; i++)
		if (delivered[i] == 0)
			return 0;
	return 1;
}

static void test_crash(void)
{
	state = calloc(n_msgs, 1);
	delivered = calloc(n_msgs, sizeof(*delivered));
	CHECK(state != NULL && delivered != NULL);
	if (state == NULL || delivered == NULL)
		return;
	sotto_mux_handlers h = {on_open, on_close, on_response, on_push};
	sotto_mux *m;
	CHECK_RC(sotto_mux_new(&m, NULL, &h, NULL), 0);
	size_t per = n_msgs / N_SENDERS;
	for (size_t i = 0; i < N_SENDERS + N_RECIPIENTS; i++) {
		struct party *p = &parties[i];
		uint8_t pub[32];
		CHECK_RC(sotto_x25519_keypair(pub, p->priv), 0);
		p->recipient = i >= N_SENDERS;
		if (!p->recipient) {
			p->first = i * per;
			p->count = i == N_SENDERS - 1 ? n_msgs - p->first : per;
			p->next = p->first;
		}
		CHECK_RC(connect_party(m, p), 0);
	}
	/* Register everyone while the senders hold back, then take the
	 * recipients offline: the burst goes to their queues. */
	killed = 1;
	poll_for(m, 10000, all_ready);
	CHECK(all_ready());
	for (size_t i = N_SENDERS; i < N_SENDERS + N_RECIPIENTS; i++)
		sotto_mux_close(parties[i].c);
	killed = 0;
	uint64_t t0 = nt_now_ms();
	for (size_t i = 0; i < N_SENDERS; i++)
		pump(&parties[i]);
	poll_for(m, 60000, kill_point);
	CHECK(kill_point());
	kill(nt_pid, SIGKILL);
	killed = 1;
	CHECK(nt_wait_exit(nt_pid, 10000) != -1);
	nt_pid = -1;
	uint64_t t_kill = nt_now_ms();
	/* Let the senders see their connections die; late answers that were
	 * already in the socket buffers still count as acknowledged. */
	for (int i = 0; i < 50 && sotto_mux_count(m) > 0; i++)
		(void)sotto_mux_poll(m, 20);
	CHECK(sotto_mux_count(m) == 0);
	size_t acked_at_kill = 0, inflight_at_kill = 0;
	uint8_t *snapshot = malloc(n_msgs);
	CHECK(snapshot != NULL);
	if (snapshot == NULL)
		return;
	memcpy(snapshot, state, n_msgs);
	for (uint32_t i = 0; i < n_msgs; i++) {
		acked_at_kill += state[i] == M_ACKED;
		inflight_at_kill += state[i] == M_INFLIGHT;
	}
	printf("kill -9 after %llu ms: %zu acknowledged, %zu in flight, %zu not sent yet\n",
		(unsigned long long)(t_kill - t0), acked_at_kill, inflight_at_kill,
		n_msgs - acked_at_kill - inflight_at_kill);
	CHECK(acked_at_kill > 0 && acked_at_kill < n_msgs);

	/* Restart; the recipients drain their queues. */
	CHECK_RC(nt_start_server(nt_port), 0);
	for (size_t i = N_SENDERS; i < N_SENDERS + N_RECIPIENTS; i++)
		CHECK_RC(connect_party(m, &parties[i]), 0);
	poll_for(m, 20000, recipients_drained);
	CHECK(recipients_drained());
	size_t lost = 0, phantom = 0, from_flight = 0, dup = 0;
	for (uint32_t i = 0; i < n_msgs; i++) {
		if (snapshot[i] == M_ACKED && delivered[i] == 0)
			lost++;
		if (snapshot[i] == M_UNSENT && delivered[i] > 0)
			phantom++;
		if (snapshot[i] == M_INFLIGHT && delivered[i] > 0)
			from_flight++;
		if (delivered[i] > 1)
			dup++;
	}
	printf("after restart: %zu delivered: %zu acknowledged lost, %zu of the %zu in flight "
	       "stored, %zu never sent but delivered, %zu duplicated\n",
		n_delivered_raw, lost, from_flight, inflight_at_kill, phantom, dup);
	CHECK(lost == 0);
	CHECK(phantom == 0);
	CHECK(dup == 0);
	CHECK(n_delivered_raw == acked_at_kill + from_flight);
	tu_report("kill -9: every acknowledged send delivered, nothing unsent stored",
		acked_at_kill - lost, acked_at_kill);

	/* The senders come back and resend everything not acknowledged. */
	killed = 0;
	for (size_t i = 0; i < N_SENDERS; i++) {
		parties[i].next = parties[i].first;
		CHECK_RC(connect_party(m, &parties[i]), 0);
	}
	poll_for(m, 60000, all_done);
	size_t distinct = 0, raw = 0;
	for (uint32_t i = 0; i < n_msgs; i++) {
		distinct += delivered[i] > 0;
		raw += delivered[i];
	}
	printf("after resending: %zu acknowledged, %zu distinct delivered of %u, %zu raw "
	       "(%zu duplicates removed by the client), %zu errors\n",
		n_acked, distinct, n_msgs, raw, raw - distinct, n_bad);
	CHECK(n_acked == n_msgs);
	CHECK(distinct == n_msgs);
	CHECK(raw - distinct <= from_flight);
	CHECK(n_bad == 0 && n_ack_failed == 0);
	tu_report("after resends: every message exactly once after de-duplication", distinct,
		n_msgs);
	sotto_mux_free(m);
	free(snapshot);
	free(state);
	free(delivered);
}

int main(void)
{
	const char *env = getenv("SOTTO_CRASH_MESSAGES");
	n_msgs = env != NULL ? (uint32_t)strtoul(env, NULL, 10) : 10000;
	if (n_msgs < 100)
		n_msgs = 100;
	/* The burst outruns the default per-device rate on purpose. */
	if (nt_setup("crash", "device_rate = 1000000\ndevice_burst = 1000000\n"
			      "addr_rate = 1000000\naddr_burst = 1000000\n") != 0 ||
		nt_start_server(0) != 0) {
		tu_fail("sottod did not start (%s)", nt_bin);
		return tu_finish("server-net_crash");
	}
	test_crash();
	nt_teardown();
	return tu_finish("server-net_crash");
}
