/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Loopback test against a real sottod: 1,000 concurrent connections (one
 * epoll loop of src/client/conn_mux.h) all register, send one message each
 * and receive and acknowledge one, while hostile connections sit on the
 * server: one that stops mid-handshake, one that never says anything, one
 * that sends a truncated transport frame after a good handshake and one
 * that hangs up in the middle of a frame. Their sessions must not disturb
 * the others, and the stalled handshakes must be cut at the timeout.
 * SOTTO_SCALE_CONNS overrides the connection count (default 1000). */
#include "client/conn_mux.h"
#include "net_test.h"

#define HS_TIMEOUT_MS 1500

struct peer {
	uint8_t priv[32];
	uint8_t account[16];
	int registered, sent, got, acked;
	uint64_t reg_id, send_id, ack_id;
	sotto_mux_conn *c;
	char expect[32]; /* body of the message this peer must receive */
};

static struct peer *peers;
static size_t n_peers;
static struct {
	size_t opened, registered, sent, got, acked, closed, wrong;
} cnt;

static void on_open(void *arg, sotto_mux_conn *c)
{
	(void)arg;
	struct peer *p = sotto_mux_user(c);
	cnt.opened++;
	Sotto__Service__RegisterRequest rr = SOTTO__SERVICE__REGISTER_REQUEST__INIT;
	uint8_t ik[33];
	memset(ik, 0x11, sizeof(ik));
	ik[0] = 0x05;
	rr.registration_id = 1 + (uint32_t)(p - peers) % 16000;
	rr.identity_key.data = ik;
	rr.identity_key.len = 33;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_REGISTER_ACCOUNT;
	req.register_account = &rr;
	if (sotto_mux_send(c, &req, &p->reg_id) != 0)
		cnt.wrong++;
}

static void on_close(void *arg, sotto_mux_conn *c, int err)
{
	(void)arg;
	struct peer *p = sotto_mux_user(c);
	if (err != 0) {
		cnt.closed++;
		if (cnt.closed <= 5)
			fprintf(stderr, "connection %zu closed: %s\n", (size_t)(p - peers),
				sotto_strerror(err));
	}
	p->c = NULL;
}

static void on_response(void *arg, sotto_mux_conn *c, const Response *r)
{
	(void)arg;
	struct peer *p = sotto_mux_user(c);
	if (r->id == p->reg_id) {
		if (r->status == 0 && r->register_account != NULL &&
			r->register_account->account_id.len == 16) {
			memcpy(p->account, r->register_account->account_id.data, 16);
			p->registered = 1;
			cnt.registered++;
		} else {
			cnt.wrong++;
		}
	} else if (r->id == p->send_id) {
		if (r->status == 0 && r->send != NULL && r->send->stored == 1)
			cnt.sent++;
		else
			cnt.wrong++;
	} else if (r->id == p->ack_id) {
		if (r->status == 0 && r->ack != NULL && r->ack->deleted == 1) {
			p->acked = 1;
			cnt.acked++;
		} else {
			cnt.wrong++;
		}
	} else {
		cnt.wrong++;
	}
}

static void on_push(void *arg, sotto_mux_conn *c, const Sotto__Service__Push *push)
{
	(void)arg;
	struct peer *p = sotto_mux_user(c);
	if (push->body_case != SOTTO__SERVICE__PUSH__BODY_ENVELOPE)
		return;
	const Sotto__Service__Envelope *e = push->envelope;
	if (p->got || e->content.len != strlen(p->expect) ||
		memcmp(e->content.data, p->expect, e->content.len) != 0) {
		cnt.wrong++;
		return;
	}
	p->got = 1;
	cnt.got++;
	uint64_t seq = e->seq;
	Sotto__Service__AckRequest ar = SOTTO__SERVICE__ACK_REQUEST__INIT;
	ar.seqs = &seq;
	ar.n_seqs = 1;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_ACK;
	req.ack = &ar;
	if (sotto_mux_send(c, &req, &p->ack_id) != 0)
		cnt.wrong++;
}

/* Runs the loop until *done is at least want or the deadline. */
static int run_until(sotto_mux *m, const size_t *done, size_t want, unsigned ms)
{
	uint64_t end = nt_now_ms() + ms;
	while (*done < want && nt_now_ms() < end)
		if (sotto_mux_poll(m, 50) < 0)
			return 0;
	return *done >= want;
}

/* A raw connection that completes an IK handshake by itself (blocking,
 * bounded) so that it can then send broken transport frames. */
static int raw_handshake(int fd)
{
	uint8_t priv[32], pub[32], msg[256], payload[64];
	size_t len, plen;
	sotto_noise_handshake *hs = NULL;
	if (sotto_x25519_keypair(pub, priv) != 0)
		return -1;
	sotto_noise_config nc;
	memset(&nc, 0, sizeof(nc));
	nc.protocol_name = SOTTO_NOISE_IK;
	nc.role = SOTTO_NOISE_INITIATOR;
	nc.prologue = (const uint8_t *)SOTTO_NOISE_PROLOGUE;
	nc.prologue_len = SOTTO_NOISE_PROLOGUE_LEN;
	nc.local_static = priv;
	nc.remote_static = nt_pub;
	nc.rng = sotto_rng_system;
	int rc = sotto_noise_handshake_new(&hs, &nc);
	if (rc == 0)
		rc = sotto_noise_write_message(hs, NULL, 0, msg + 4, sizeof(msg) - 4, &len);
	if (rc == 0) {
		sotto__wire_put_len(msg, (uint32_t)len);
		rc = send(fd, msg, len + 4, MSG_NOSIGNAL) == (ssize_t)(len + 4) ? 0 : -1;
	}
	if (rc == 0) {
		/* The answer: a 4-byte length and the message, read with a bound. */
		size_t got = 0, need = 4;
		uint64_t end = nt_now_ms() + 5000;
		while (got < need && nt_now_ms() < end) {
			struct pollfd p = {fd, POLLIN, 0};
			if (poll(&p, 1, 100) <= 0)
				continue;
			ssize_t r = recv(fd, msg + got, need - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
			if (got == 4 && need == 4) {
				need = 4 + (((size_t)msg[2] << 8) | msg[3]);
				if (need > sizeof(msg))
					break;
			}
		}
		rc = got == need && need > 4 ?
			sotto_noise_read_message(hs, msg + 4, need - 4, payload, sizeof(payload),
				&plen) :
			-1;
	}
	sotto_noise_handshake_free(hs);
	return rc;
}

static void test_concurrent(void)
{
	rlim_t lim = nt_raise_nofile((rlim_t)(n_peers * 2 + 256));
	CHECK(lim >= n_peers + 64);
	peers = calloc(n_peers, sizeof(*peers));
	CHECK(peers != NULL);
	if (peers == NULL)
		return;

	/* The hostile ones first, so they sit on the server throughout. */
	int stall = nt_raw_connect(), silent = nt_raw_connect(), trunc = nt_raw_connect();
	int hangup = nt_raw_connect();
	CHECK(stall >= 0 && silent >= 0 && trunc >= 0 && hangup >= 0);
	uint8_t half[20] = {0, 0, 0, 96, 1, 2, 3, 4, 5};
	CHECK(send(stall, half, sizeof(half), MSG_NOSIGNAL) == (ssize_t)sizeof(half));
	/* Good handshake, then a transport frame announced as 500 bytes of
	 * which 100 arrive. */
	CHECK_RC(raw_handshake(trunc), 0);
	uint8_t part[104];
	memset(part, 0x77, sizeof(part));
	sotto__wire_put_len(part, 500);
	CHECK(send(trunc, part, sizeof(part), MSG_NOSIGNAL) == (ssize_t)sizeof(part));
	CHECK_RC(raw_handshake(hangup), 0);
	CHECK(send(hangup, part, sizeof(part), MSG_NOSIGNAL) == (ssize_t)sizeof(part));
	close(hangup);
	uint64_t t_hostile = nt_now_ms();

	sotto_mux_handlers h = {on_open, on_close, on_response, on_push};
	sotto_mux_config mc = {15000, 0};
	sotto_mux *m;
	CHECK_RC(sotto_mux_new(&m, &mc, &h, NULL), 0);
	uint64_t t0 = nt_now_ms();
	for (size_t i = 0; i < n_peers; i++) {
		struct peer *p = &peers[i];
		uint8_t pub[32];
		CHECK_RC(sotto_x25519_keypair(pub, p->priv), 0);
		int rc = sotto_mux_connect(m, "127.0.0.1", nt_port, NULL, p->priv, nt_pub, p, &p->c);
		if (rc != 0) {
			tu_fail("connect %zu: %s", i, sotto_strerror(rc));
			break;
		}
		/* Let the loop work while connecting: the listen backlog is
		 * finite and handshakes should overlap with connects. */
		if (i % 64 == 63)
			(void)sotto_mux_poll(m, 0);
	}
	CHECK(run_until(m, &cnt.registered, n_peers, 30000));
	uint64_t t_reg = nt_now_ms();
	printf("%zu connections handshaken and registered in %llu ms\n", cnt.registered,
		(unsigned long long)(t_reg - t0));
	/* Everyone is connected at once now. */
	CHECK(sotto_mux_count(m) == n_peers);
	/* Each sends one message to the next one. */
	for (size_t i = 0; i < n_peers; i++)
		snprintf(peers[(i + 1) % n_peers].expect, sizeof(peers[0].expect), "msg %zu", i);
	for (size_t i = 0; i < n_peers; i++) {
		struct peer *p = &peers[i], *to = &peers[(i + 1) % n_peers];
		if (p->c == NULL || !to->registered)
			continue;
		Sotto__Service__OutgoingEnvelope e = SOTTO__SERVICE__OUTGOING_ENVELOPE__INIT, *ep = &e;
		e.device_id = 1;
		e.type = 1;
		e.content.data = (uint8_t *)to->expect;
		e.content.len = strlen(to->expect);
		Sotto__Service__SendRequest sr = SOTTO__SERVICE__SEND_REQUEST__INIT;
		sr.destination.data = to->account;
		sr.destination.len = 16;
		sr.envelopes = &ep;
		sr.n_envelopes = 1;
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_SEND;
		req.send = &sr;
		CHECK_RC(sotto_mux_send(p->c, &req, &p->send_id), 0);
	}
	CHECK(run_until(m, &cnt.acked, n_peers, 30000));
	printf("%zu sent, %zu delivered, %zu acknowledged in %llu ms; %zu wrong, %zu dropped\n",
		cnt.sent, cnt.got, cnt.acked, (unsigned long long)(nt_now_ms() - t_reg), cnt.wrong,
		cnt.closed);
	CHECK(cnt.sent == n_peers && cnt.got == n_peers && cnt.acked == n_peers);
	CHECK(cnt.wrong == 0 && cnt.closed == 0);
	tu_report("concurrent connections: all registered, one message each delivered",
		cnt.acked, n_peers);

	/* The stalled handshake and the silent connection are cut at the
	 * handshake timeout; the truncated frame waits for its rest (a slow
	 * client is not an error) until the authentication timeout. */
	uint64_t waited = nt_now_ms() - t_hostile;
	unsigned left = waited > HS_TIMEOUT_MS + 3000 ? 100 : (unsigned)(HS_TIMEOUT_MS + 3000 - waited);
	CHECK(nt_closed_by_server(stall, left + 100));
	CHECK(nt_closed_by_server(silent, 1000));
	close(stall);
	close(silent);
	close(trunc);
	/* The server still serves: one more round trip on every 100th. */
	size_t before = cnt.wrong;
	for (size_t i = 0; i < n_peers; i += 100) {
		Sotto__Service__PingRequest pr = SOTTO__SERVICE__PING_REQUEST__INIT;
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_PING;
		req.ping = &pr;
		if (peers[i].c != NULL)
			CHECK_RC(sotto_mux_send(peers[i].c, &req, NULL), 0);
	}
	/* The ping answers count as unexpected ids: exactly one per ping. */
	size_t want = before + (n_peers + 99) / 100;
	CHECK(run_until(m, &cnt.wrong, want, 5000));
	CHECK(cnt.closed == 0);
	sotto_mux_free(m);
	free(peers);
	tu_report("hostile connections cut at the handshake timeout, others unharmed", 1, 1);
}

/* A raw connection from a given loopback source address. */
static int connect_from(const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a, l;
	memset(&a, 0, sizeof(a));
	memset(&l, 0, sizeof(l));
	a.sin_family = AF_INET;
	a.sin_port = htons(nt_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l.sin_family = AF_INET;
	if (fd < 0 || inet_pton(AF_INET, src, &l.sin_addr) != 1 ||
		bind(fd, (struct sockaddr *)&l, sizeof(l)) != 0 ||
		connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* max_conns_per_addr = 5: the sixth connection from one address is closed
 * at once, other addresses are not affected, and a freed slot is usable. */
static void test_per_address_cap(void)
{
	int fds[5], extra, other, again;
	for (int i = 0; i < 5; i++) {
		fds[i] = connect_from("127.0.0.1");
		CHECK(fds[i] >= 0);
	}
	/* Let the server see all five before the sixth. */
	for (int i = 0; i < 5; i++)
		CHECK(!nt_closed_by_server(fds[i], 100));
	extra = connect_from("127.0.0.1");
	CHECK(extra >= 0);
	CHECK(nt_closed_by_server(extra, 3000));
	other = connect_from("127.0.0.2");
	CHECK(other >= 0);
	CHECK(!nt_closed_by_server(other, 300));
	close(fds[0]);
	nt_sleep_ms(200); /* the server notices the close */
	again = connect_from("127.0.0.1");
	CHECK(again >= 0);
	CHECK(!nt_closed_by_server(again, 300));
	for (int i = 1; i < 5; i++)
		close(fds[i]);
	close(extra);
	close(other);
	close(again);
	tu_report("per-address connection cap", 1, 1);
}

int main(void)
{
	char extra[128];
	snprintf(extra, sizeof(extra), "handshake_timeout_ms = %d\nauth_timeout_ms = 20000\n",
		HS_TIMEOUT_MS);
	const char *env = getenv("SOTTO_SCALE_CONNS");
	n_peers = env != NULL ? (size_t)strtoul(env, NULL, 10) : 1000;
	if (n_peers < 2)
		n_peers = 2;
	/* Raised before sottod starts: it inherits the limit. */
	nt_raise_nofile((rlim_t)(n_peers * 2 + 256));
	if (nt_setup("scale", extra) != 0 || nt_start_server(0) != 0) {
		tu_fail("sottod did not start (%s)", nt_bin);
		return tu_finish("server-net_scale");
	}
	test_concurrent();
	nt_teardown();
	if (nt_setup("cap", "max_conns_per_addr = 5\n") != 0 || nt_start_server(0) != 0) {
		tu_fail("sottod did not start (%s)", nt_bin);
		return tu_finish("server-net_scale");
	}
	test_per_address_cap();
	nt_teardown();
	return tu_finish("server-net_scale");
}
