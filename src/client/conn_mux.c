/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include "client/conn_mux.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sotto/error.h"
#include "sotto/noise.h"
#include "sotto/util.h"
#include "wire/wire.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define READ_BUF (256u * 1024)
#define MAX_EVENTS 256

enum mux_state {
	MUX_CONNECTING = 1,
	MUX_HANDSHAKE,
	MUX_OPEN,
	MUX_CLOSED,
};

struct sotto_mux_conn {
	sotto_mux *m;
	struct sotto_mux_conn *prev, *next; /* live connections */
	struct sotto_mux_conn *link;        /* dirty list, then dead list */
	int fd;
	enum mux_state state;
	uint8_t dirty, want_out;
	sotto_noise_handshake *hs;
	sotto_noise_cipher *tx, *rx;
	sotto_wire_reader frames, msgs;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	uint64_t next_id;
	uint64_t deadline_ms;
	uint8_t priv[32], server_pub[32];
	int pinned;
	void *user;
};

struct sotto_mux {
	int ep;
	sotto_mux_handlers h;
	void *arg;
	unsigned hs_timeout_ms;
	size_t max_message;
	struct sotto_mux_conn *conns;
	size_t n, n_pending_hs;
	struct sotto_mux_conn *dirty, *dead;
	uint64_t next_scan_ms;
	uint8_t *rbuf;
	uint8_t pt[SOTTO_NOISE_MAX_PAYLOAD];
	uint8_t *scratch; /* a request's plaintext before encryption */
	size_t scratch_cap;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int sotto_mux_new(sotto_mux **out, const sotto_mux_config *cfg, const sotto_mux_handlers *h,
	void *arg)
{
	*out = NULL;
	sotto_mux *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return SOTTO_ERR_NOMEM;
	m->rbuf = malloc(READ_BUF);
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	if (m->rbuf == NULL || m->ep < 0) {
		int rc = m->rbuf == NULL ? SOTTO_ERR_NOMEM : SOTTO_ERR_NETWORK;
		if (m->ep >= 0)
			close(m->ep);
		free(m->rbuf);
		free(m);
		return rc;
	}
	if (h != NULL)
		m->h = *h;
	m->arg = arg;
	m->hs_timeout_ms = cfg != NULL && cfg->handshake_timeout_ms != 0 ?
		cfg->handshake_timeout_ms : 10000;
	m->max_message = cfg != NULL && cfg->max_message != 0 ? cfg->max_message :
		SOTTO_WIRE_DEFAULT_MAX_MESSAGE;
	*out = m;
	return 0;
}

static void conn_free(struct sotto_mux_conn *c)
{
	sotto_noise_handshake_free(c->hs);
	sotto_noise_cipher_free(c->tx);
	sotto_noise_cipher_free(c->rx);
	sotto__wire_reader_clear(&c->frames);
	sotto__wire_reader_clear(&c->msgs);
	free(c->out);
	sotto_memzero(c->priv, sizeof(c->priv));
	free(c);
}

/* Ends a connection: the callback runs now, the memory goes at the end of
 * the current poll (events for it may still be in the batch). */
static void conn_end(struct sotto_mux_conn *c, int err)
{
	sotto_mux *m = c->m;
	if (c->state == MUX_CLOSED)
		return;
	if (c->state != MUX_OPEN && m->n_pending_hs > 0)
		m->n_pending_hs--;
	c->state = MUX_CLOSED;
	close(c->fd);
	c->fd = -1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	m->n--;
	if (m->h.on_close != NULL)
		m->h.on_close(m->arg, c, err);
	/* Not on the dirty list any more once flushed; a dirty closed
	 * connection is skipped there and freed with the dead. */
	if (!c->dirty) {
		c->link = m->dead;
		m->dead = c;
	}
}

static void free_dead(sotto_mux *m)
{
	while (m->dead != NULL) {
		struct sotto_mux_conn *c = m->dead;
		m->dead = c->link;
		conn_free(c);
	}
}

void sotto_mux_close(sotto_mux_conn *c)
{
	conn_end(c, 0);
}

static int set_events(struct sotto_mux_conn *c, int want_out)
{
	if (c->want_out == want_out)
		return 0;
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(c->m->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		return SOTTO_ERR_NETWORK;
	c->want_out = (uint8_t)want_out;
	return 0;
}

/* Reserves n more bytes at the end of the output buffer. */
static uint8_t *out_reserve(struct sotto_mux_conn *c, size_t n)
{
	if (c->out_off > 0 && c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
	} else if (c->out_off > 0 && c->out_len + n > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap != 0 ? c->out_cap : 1024;
		while (cap < c->out_len + n)
			cap *= 2;
		uint8_t *b = realloc(c->out, cap);
		if (b == NULL)
			return NULL;
		c->out = b;
		c->out_cap = cap;
	}
	return c->out + c->out_len;
}

static void mark_dirty(struct sotto_mux_conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		c->link = c->m->dirty;
		c->m->dirty = c;
	}
}

/* Writes what the socket takes; 0 or an error (the caller ends c). */
static int conn_write(struct sotto_mux_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->out_off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return set_events(c, 1);
		return SOTTO_ERR_NETWORK;
	}
	c->out_off = c->out_len = 0;
	return set_events(c, 0);
}

void sotto_mux_flush(sotto_mux *m)
{
	struct sotto_mux_conn *list = m->dirty;
	m->dirty = NULL;
	while (list != NULL) {
		struct sotto_mux_conn *c = list;
		list = c->link;
		c->dirty = 0;
		if (c->state == MUX_CLOSED) {
			c->link = m->dead;
			m->dead = c;
			continue;
		}
		if (c->state == MUX_CONNECTING)
			continue; /* written once connected */
		int rc = conn_write(c);
		if (rc != 0)
			conn_end(c, rc);
	}
}

/* Runs the handshake as far as it goes without input. */
static int hs_drive(struct sotto_mux_conn *c)
{
	sotto_mux *m = c->m;
	for (;;) {
		sotto_noise_action a = sotto_noise_handshake_action(c->hs);
		if (a == SOTTO_NOISE_WRITE) {
			uint8_t msg[SOTTO_NOISE_MAX_MESSAGE];
			size_t len;
			int rc = sotto_noise_write_message(c->hs, NULL, 0, msg, sizeof(msg), &len);
			if (rc != 0)
				return rc;
			uint8_t *o = out_reserve(c, len + SOTTO_WIRE_LEN_BYTES);
			if (o == NULL)
				return SOTTO_ERR_NOMEM;
			sotto__wire_put_len(o, (uint32_t)len);
			memcpy(o + SOTTO_WIRE_LEN_BYTES, msg, len);
			c->out_len += len + SOTTO_WIRE_LEN_BYTES;
			mark_dirty(c);
		} else if (a == SOTTO_NOISE_READ) {
			return 0;
		} else if (a == SOTTO_NOISE_SPLIT) {
			int rc = sotto_noise_split(c->hs, &c->tx, &c->rx);
			sotto_noise_handshake_free(c->hs);
			c->hs = NULL;
			if (rc != 0)
				return rc;
			c->state = MUX_OPEN;
			if (m->n_pending_hs > 0)
				m->n_pending_hs--;
			if (m->h.on_open != NULL)
				m->h.on_open(m->arg, c);
			return 0;
		} else {
			return SOTTO_ERR_INVALID_MESSAGE;
		}
	}
}

static int hs_start(struct sotto_mux_conn *c)
{
	sotto_noise_config nc;
	memset(&nc, 0, sizeof(nc));
	nc.protocol_name = c->pinned ? SOTTO_NOISE_IK : SOTTO_NOISE_XX;
	nc.role = SOTTO_NOISE_INITIATOR;
	nc.prologue = (const uint8_t *)SOTTO_NOISE_PROLOGUE;
	nc.prologue_len = SOTTO_NOISE_PROLOGUE_LEN;
	nc.local_static = c->priv;
	nc.remote_static = c->pinned ? c->server_pub : NULL;
	nc.rng = sotto_rng_system;
	int rc = sotto_noise_handshake_new(&c->hs, &nc);
	if (rc != 0)
		return rc;
	c->state = MUX_HANDSHAKE;
	return hs_drive(c);
}

int sotto_mux_connect(sotto_mux *m, const char *host, uint16_t port, const char *src,
	const uint8_t device_priv[32], const uint8_t *server_pub, void *user,
	sotto_mux_conn **out)
{
	struct sockaddr_storage ss, ls;
	socklen_t sl = 0, lsl = 0;
	memset(&ss, 0, sizeof(ss));
	memset(&ls, 0, sizeof(ls));
	if (out != NULL)
		*out = NULL;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss, *lin = (struct sockaddr_in *)&ls;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss, *lin6 = (struct sockaddr_in6 *)&ls;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		sl = sizeof(*in);
		if (src != NULL && inet_pton(AF_INET, src, &lin->sin_addr) == 1) {
			lin->sin_family = AF_INET;
			lsl = sizeof(*lin);
		}
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		sl = sizeof(*in6);
		if (src != NULL && inet_pton(AF_INET6, src, &lin6->sin6_addr) == 1) {
			lin6->sin6_family = AF_INET6;
			lsl = sizeof(*lin6);
		}
	} else {
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	if (src != NULL && lsl == 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	struct sotto_mux_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SOTTO_ERR_NOMEM;
	c->m = m;
	c->user = user;
	memcpy(c->priv, device_priv, 32);
	if (server_pub != NULL) {
		memcpy(c->server_pub, server_pub, 32);
		c->pinned = 1;
	}
	sotto__wire_reader_init(&c->frames, 1, SOTTO_WIRE_MAX_FRAME);
	sotto__wire_reader_init(&c->msgs, 0, (uint32_t)m->max_message);
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		int e = errno;
		conn_free(c);
		return e == EMFILE || e == ENFILE ? SOTTO_ERR_LIMIT : SOTTO_ERR_NETWORK;
	}
	int one = 1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (lsl != 0) {
		/* Leave the port to connect(): the 4-tuple, not the local
		 * address alone, must be unique. */
		(void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&ls, lsl) != 0) {
			close(c->fd);
			conn_free(c);
			return SOTTO_ERR_NETWORK;
		}
	}
	int connected = connect(c->fd, (struct sockaddr *)&ss, sl) == 0;
	if (!connected && errno != EINPROGRESS) {
		close(c->fd);
		conn_free(c);
		return SOTTO_ERR_NETWORK;
	}
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		close(c->fd);
		conn_free(c);
		return SOTTO_ERR_NETWORK;
	}
	c->want_out = 1;
	c->state = MUX_CONNECTING;
	c->deadline_ms = mono_ms() + m->hs_timeout_ms;
	c->next = m->conns;
	if (m->conns != NULL)
		m->conns->prev = c;
	m->conns = c;
	m->n++;
	m->n_pending_hs++;
	if (out != NULL)
		*out = c;
	return 0;
}

int sotto_mux_send(sotto_mux_conn *c, Sotto__Service__Request *req, uint64_t *id)
{
	sotto_mux *m = c->m;
	if (c->state != MUX_OPEN)
		return SOTTO_ERR_NETWORK;
	req->id = ++c->next_id;
	if (id != NULL)
		*id = req->id;
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	if (n > m->max_message)
		return SOTTO_ERR_LIMIT;
	size_t ptlen = n + SOTTO_WIRE_LEN_BYTES;
	if (ptlen > m->scratch_cap) {
		uint8_t *b = realloc(m->scratch, ptlen);
		if (b == NULL)
			return SOTTO_ERR_NOMEM;
		m->scratch = b;
		m->scratch_cap = ptlen;
	}
	sotto__wire_put_len(m->scratch, (uint32_t)n);
	if (protobuf_c_message_pack(&req->base, m->scratch + SOTTO_WIRE_LEN_BYTES) != n)
		return SOTTO_ERR_INTERNAL;
	size_t cap = SOTTO_NOISE_FRAMED_LEN(ptlen), olen;
	uint8_t *o = out_reserve(c, cap);
	int rc = o == NULL ? SOTTO_ERR_NOMEM :
		sotto_noise_frame_encrypt(c->tx, m->scratch, ptlen, o, cap, &olen);
	if (rc != 0) {
		/* The cipher may have advanced: the stream is unusable. */
		conn_end(c, rc);
		return rc;
	}
	c->out_len += olen;
	mark_dirty(c);
	return 0;
}

/* One decrypted protobuf message. */
static int on_message(struct sotto_mux_conn *c, const uint8_t *msg, size_t len)
{
	sotto_mux *m = c->m;
	Sotto__Service__ServerMessage *sm = sotto__wire_server_msg_decode(msg, len);
	if (sm == NULL)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (sm->body_case == SOTTO__SERVICE__SERVER_MESSAGE__BODY_RESPONSE && sm->response != NULL) {
		if (m->h.on_response != NULL)
			m->h.on_response(m->arg, c, sm->response);
	} else if (sm->body_case == SOTTO__SERVICE__SERVER_MESSAGE__BODY_PUSH && sm->push != NULL) {
		if (m->h.on_push != NULL)
			m->h.on_push(m->arg, c, sm->push);
	}
	/* Anything else is a newer server's message kind: ignored. */
	protobuf_c_message_free_unpacked(&sm->base, NULL);
	return 0;
}

static int on_frame(struct sotto_mux_conn *c, const uint8_t *f, size_t flen)
{
	sotto_mux *m = c->m;
	if (c->state == MUX_HANDSHAKE) {
		uint8_t payload[256];
		size_t plen;
		if (sotto_noise_handshake_action(c->hs) != SOTTO_NOISE_READ)
			return SOTTO_ERR_INVALID_MESSAGE;
		int rc = sotto_noise_read_message(c->hs, f, flen, payload, sizeof(payload), &plen);
		return rc != 0 ? rc : hs_drive(c);
	}
	size_t ptlen, off = 0;
	int rc = sotto_noise_decrypt(c->rx, NULL, 0, f, flen, m->pt, sizeof(m->pt), &ptlen);
	if (rc != 0)
		return rc;
	while (off < ptlen && c->state == MUX_OPEN) {
		size_t used, mlen;
		const uint8_t *msg;
		rc = sotto__wire_reader_feed(&c->msgs, m->pt + off, ptlen - off, &used, &msg, &mlen);
		if (rc < 0)
			return rc;
		off += used;
		if (rc == 1) {
			rc = on_message(c, msg, mlen);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static void on_readable(struct sotto_mux_conn *c)
{
	sotto_mux *m = c->m;
	ssize_t n = recv(c->fd, m->rbuf, READ_BUF, MSG_DONTWAIT);
	if (n == 0) {
		conn_end(c, SOTTO_ERR_NETWORK);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_end(c, SOTTO_ERR_NETWORK);
		return;
	}
	size_t off = 0;
	while (off < (size_t)n && (c->state == MUX_HANDSHAKE || c->state == MUX_OPEN)) {
		size_t used, flen;
		const uint8_t *f;
		int rc = sotto__wire_reader_feed(&c->frames, m->rbuf + off, (size_t)n - off, &used,
			&f, &flen);
		off += used;
		if (rc == 1)
			rc = on_frame(c, f, flen);
		if (rc < 0) {
			conn_end(c, rc);
			return;
		}
	}
	/* Keep no buffer on an idle connection. */
	if (c->state != MUX_CLOSED && !sotto__wire_reader_busy(&c->frames))
		sotto__wire_reader_clear(&c->frames);
}

static void on_event(struct sotto_mux_conn *c, uint32_t events)
{
	if (c->state == MUX_CLOSED)
		return;
	if (c->state == MUX_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
			conn_end(c, SOTTO_ERR_NETWORK);
			return;
		}
		int rc = hs_start(c);
		if (rc == 0)
			rc = conn_write(c);
		if (rc != 0)
			conn_end(c, rc);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		on_readable(c);
	if (c->state != MUX_CLOSED && (events & EPOLLOUT)) {
		int rc = conn_write(c);
		if (rc != 0)
			conn_end(c, rc);
	}
}

static void scan_timeouts(sotto_mux *m)
{
	uint64_t now = mono_ms();
	if (m->n_pending_hs == 0 || now < m->next_scan_ms)
		return;
	m->next_scan_ms = now + 100;
	struct sotto_mux_conn *c = m->conns;
	while (c != NULL) {
		struct sotto_mux_conn *next = c->next;
		if (c->state != MUX_OPEN && now >= c->deadline_ms)
			conn_end(c, SOTTO_ERR_TIMEOUT);
		c = next;
	}
}

int sotto_mux_poll(sotto_mux *m, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	sotto_mux_flush(m);
	free_dead(m);
	if (m->n_pending_hs > 0 && (timeout_ms < 0 || timeout_ms > 100))
		timeout_ms = 100;
	int n = epoll_wait(m->ep, ev, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : SOTTO_ERR_NETWORK;
	for (int i = 0; i < n; i++)
		on_event(ev[i].data.ptr, ev[i].events);
	scan_timeouts(m);
	sotto_mux_flush(m);
	free_dead(m);
	return n;
}

void sotto_mux_free(sotto_mux *m)
{
	if (m == NULL)
		return;
	while (m->conns != NULL)
		conn_end(m->conns, 0);
	/* Closed connections still on the dirty list move to the dead list. */
	sotto_mux_flush(m);
	free_dead(m);
	close(m->ep);
	free(m->rbuf);
	if (m->scratch != NULL)
		sotto_memzero(m->scratch, m->scratch_cap);
	free(m->scratch);
	free(m);
}

void *sotto_mux_user(const sotto_mux_conn *c)
{
	return c->user;
}

void sotto_mux_set_user(sotto_mux_conn *c, void *user)
{
	c->user = user;
}

int sotto_mux_is_open(const sotto_mux_conn *c)
{
	return c->state == MUX_OPEN;
}

size_t sotto_mux_count(const sotto_mux *m)
{
	return m->n;
}

size_t sotto_mux_pending(const sotto_mux_conn *c)
{
	return c->out_len - c->out_off;
}
