/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include "client/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sotto/error.h"
#include "sotto/noise.h"
#include "sotto/util.h"
#include "wire/wire.h"

struct pending {
	struct pending *next;
	uint64_t id;
	uint64_t gen; /* connection generation the request was sent on */
	int done, rc, internal;
	Sotto__Service__Response *resp;
};

struct sotto_client_conn {
	sotto_client_conn_config cfg;
	char host[64];
	uint8_t priv[32], server_pub[32];
	int pinned, have_server_key;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wake[2]; /* self-pipe: callers wake the I/O thread */
	/* under lock */
	int fd;
	int ready, stopping, last_err, gave_up;
	uint64_t gen, next_id;
	sotto_noise_cipher *tx; /* encryption happens under lock, in send order */
	uint8_t *out;
	size_t out_len, out_cap;
	struct pending *pending;
	/* I/O thread only */
	sotto_noise_cipher *rx;
	sotto_wire_reader frames, msgs;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void deadline_ts(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void wake_io(sotto_client_conn *c)
{
	uint8_t b = 1;
	ssize_t r = write(c->wake[1], &b, 1);
	(void)r; /* a full pipe already wakes the thread */
}

/* Appends bytes to the output buffer (lock held). */
static int out_append(sotto_client_conn *c, const uint8_t *p, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + n)
			cap *= 2;
		uint8_t *b = realloc(c->out, cap);
		if (b == NULL)
			return SOTTO_ERR_NOMEM;
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* Encrypts and queues a request (lock held, connected). */
static int queue_request(sotto_client_conn *c, const Sotto__Service__Request *req)
{
	uint8_t *buf;
	size_t len;
	int rc = sotto__wire_seal_msg(c->tx, &req->base, c->cfg.max_message, &buf, &len);
	if (rc != 0)
		return rc;
	rc = out_append(c, buf, len);
	free(buf);
	if (rc == 0)
		wake_io(c);
	return rc;
}

/* Drops the connection: every request sent on it fails (lock held). */
static void drop_locked(sotto_client_conn *c, int err)
{
	int was_ready = c->ready;
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->ready = 0;
	c->last_err = err;
	sotto_noise_cipher_free(c->tx);
	c->tx = NULL;
	c->out_len = 0;
	for (struct pending *p = c->pending; p != NULL; p = p->next) {
		if (!p->done && p->gen == c->gen) {
			p->done = 1;
			p->rc = SOTTO_ERR_NETWORK;
		}
	}
	/* Internal entries have no waiter: unlink them. */
	for (struct pending **pp = &c->pending; *pp != NULL;) {
		if ((*pp)->internal && (*pp)->done) {
			struct pending *p = *pp;
			*pp = p->next;
			if (p->resp != NULL)
				protobuf_c_message_free_unpacked(&p->resp->base, NULL);
			free(p);
		} else {
			pp = &(*pp)->next;
		}
	}
	pthread_cond_broadcast(&c->cond);
	if (was_ready && c->cfg.on_state != NULL) {
		pthread_mutex_unlock(&c->lock);
		c->cfg.on_state(c->cfg.arg, 0, err);
		pthread_mutex_lock(&c->lock);
	}
}

/* ---- blocking socket helpers for the I/O thread ---- */

static int wait_fd(sotto_client_conn *c, int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return SOTTO_ERR_TIMEOUT;
		struct pollfd p[2] = {{fd, ev, 0}, {c->wake[0], POLLIN, 0}};
		int r = poll(p, 2, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return SOTTO_ERR_NETWORK;
		if (p[1].revents & POLLIN) {
			uint8_t b[64];
			ssize_t n = read(c->wake[0], b, sizeof(b));
			(void)n;
			pthread_mutex_lock(&c->lock);
			int stop = c->stopping;
			pthread_mutex_unlock(&c->lock);
			if (stop)
				return SOTTO_ERR_NETWORK;
		}
		if (p[0].revents != 0)
			return 0;
	}
}

static int write_all(sotto_client_conn *c, int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return SOTTO_ERR_NETWORK;
		int rc = wait_fd(c, fd, POLLOUT, deadline);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Reads one frame (handshake phase). */
static int read_frame(sotto_client_conn *c, int fd, uint8_t *buf, size_t cap, size_t *len,
	uint64_t deadline)
{
	uint8_t hdr[4];
	size_t got = 0, need = 4;
	uint8_t *dst = hdr;
	for (int phase = 0; phase < 2; phase++) {
		while (got < need) {
			ssize_t r = recv(fd, dst + got, need - got, 0);
			if (r > 0) {
				got += (size_t)r;
				continue;
			}
			if (r == 0)
				return SOTTO_ERR_NETWORK;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return SOTTO_ERR_NETWORK;
			int rc = wait_fd(c, fd, POLLIN, deadline);
			if (rc != 0)
				return rc;
		}
		if (phase == 0) {
			need = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) |
				((size_t)hdr[2] << 8) | hdr[3];
			if (need == 0 || need > cap)
				return SOTTO_ERR_INVALID_MESSAGE;
			got = 0;
			dst = buf;
			*len = need;
		}
	}
	return 0;
}

static int tcp_connect(sotto_client_conn *c, uint64_t deadline, int *out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, c->host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(c->cfg.port);
		sl = sizeof(*in);
	} else if (inet_pton(AF_INET6, c->host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(c->cfg.port);
		sl = sizeof(*in6);
	} else {
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SOTTO_ERR_NETWORK;
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		if (errno != EINPROGRESS) {
			close(fd);
			return SOTTO_ERR_NETWORK;
		}
		int rc = wait_fd(c, fd, POLLOUT, deadline);
		int err = 0;
		socklen_t el = sizeof(err);
		if (rc != 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
			close(fd);
			return rc != 0 ? rc : SOTTO_ERR_NETWORK;
		}
	}
	*out = fd;
	return 0;
}

/* Connects and runs the handshake; on success c->fd, c->tx, c->rx are set. */
static int establish(sotto_client_conn *c)
{
	uint64_t deadline = now_ms() + c->cfg.connect_timeout_ms;
	int fd = -1, rc;
	sotto_noise_handshake *hs = NULL;
	sotto_noise_cipher *tx = NULL, *rx = NULL;
	uint8_t msg[SOTTO_NOISE_MAX_MESSAGE + 4], payload[256];
	size_t len, plen;

	rc = tcp_connect(c, deadline, &fd);
	if (rc != 0)
		return rc;
	sotto_noise_config nc;
	memset(&nc, 0, sizeof(nc));
	nc.protocol_name = c->pinned ? SOTTO_NOISE_IK : SOTTO_NOISE_XX;
	nc.role = SOTTO_NOISE_INITIATOR;
	nc.prologue = (const uint8_t *)SOTTO_NOISE_PROLOGUE;
	nc.prologue_len = SOTTO_NOISE_PROLOGUE_LEN;
	nc.local_static = c->priv;
	nc.remote_static = c->pinned ? c->server_pub : NULL;
	nc.rng = sotto_rng_system;
	rc = sotto_noise_handshake_new(&hs, &nc);
	while (rc == 0) {
		sotto_noise_action a = sotto_noise_handshake_action(hs);
		if (a == SOTTO_NOISE_WRITE) {
			rc = sotto_noise_write_message(hs, NULL, 0, msg + 4, sizeof(msg) - 4, &len);
			if (rc == 0) {
				sotto__wire_put_len(msg, (uint32_t)len);
				rc = write_all(c, fd, msg, len + 4, deadline);
			}
		} else if (a == SOTTO_NOISE_READ) {
			rc = read_frame(c, fd, msg, SOTTO_NOISE_MAX_MESSAGE, &len, deadline);
			if (rc == 0)
				rc = sotto_noise_read_message(hs, msg, len, payload, sizeof(payload),
					&plen);
		} else if (a == SOTTO_NOISE_SPLIT) {
			uint8_t key[32];
			rc = sotto_noise_remote_static(hs, key);
			if (rc == 0)
				rc = sotto_noise_split(hs, &tx, &rx);
			if (rc == 0) {
				pthread_mutex_lock(&c->lock);
				memcpy(c->server_pub, key, 32);
				c->have_server_key = 1;
				pthread_mutex_unlock(&c->lock);
			}
			break;
		} else {
			rc = SOTTO_ERR_INVALID_MESSAGE;
		}
	}
	sotto_noise_handshake_free(hs);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	c->fd = fd;
	c->tx = tx;
	c->gen++;
	c->out_len = 0;
	pthread_mutex_unlock(&c->lock);
	sotto_noise_cipher_free(c->rx);
	c->rx = rx;
	sotto__wire_reader_clear(&c->frames);
	sotto__wire_reader_clear(&c->msgs);
	sotto__wire_reader_init(&c->frames, 1, SOTTO_WIRE_MAX_FRAME);
	sotto__wire_reader_init(&c->msgs, 0, (uint32_t)c->cfg.max_message);
	return 0;
}

static void set_ready(sotto_client_conn *c)
{
	c->ready = 1;
	c->last_err = 0;
	pthread_cond_broadcast(&c->cond);
	if (c->cfg.on_state != NULL) {
		pthread_mutex_unlock(&c->lock);
		c->cfg.on_state(c->cfg.arg, 1, 0);
		pthread_mutex_lock(&c->lock);
	}
}

/* One decrypted protobuf message from the server. */
static int on_message(sotto_client_conn *c, const uint8_t *m, size_t len)
{
	Sotto__Service__ServerMessage *sm = sotto__wire_server_msg_decode(m, len);
	if (sm == NULL)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (sm->body_case == SOTTO__SERVICE__SERVER_MESSAGE__BODY_PUSH && sm->push != NULL) {
		if (c->cfg.on_push != NULL)
			c->cfg.on_push(c->cfg.arg, sm->push);
		protobuf_c_message_free_unpacked(&sm->base, NULL);
		return 0;
	}
	if (sm->body_case != SOTTO__SERVICE__SERVER_MESSAGE__BODY_RESPONSE || sm->response == NULL) {
		protobuf_c_message_free_unpacked(&sm->base, NULL);
		return 0; /* a newer server's message kind: ignore */
	}
	Sotto__Service__Response *r = sm->response;
	sm->response = NULL;
	sm->body_case = SOTTO__SERVICE__SERVER_MESSAGE__BODY__NOT_SET;
	protobuf_c_message_free_unpacked(&sm->base, NULL);
	int rc = 0;
	pthread_mutex_lock(&c->lock);
	struct pending **pp;
	for (pp = &c->pending; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->id == r->id && (*pp)->gen == c->gen && !(*pp)->done)
			break;
	if (*pp == NULL) {
		pthread_mutex_unlock(&c->lock);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		return 0; /* a late answer to a call that timed out */
	}
	struct pending *p = *pp;
	if (p->internal) {
		*pp = p->next;
		if (r->status == SOTTO__SERVICE__STATUS__OK)
			set_ready(c);
		else
			rc = SOTTO_ERR_NOT_FOUND; /* not a registered device: give up */
		free(p);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else {
		p->resp = r;
		p->done = 1;
		p->rc = 0;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int on_readable(sotto_client_conn *c, int fd)
{
	uint8_t buf[65536];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n == 0)
		return SOTTO_ERR_NETWORK;
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 :
			SOTTO_ERR_NETWORK;
	size_t off = 0;
	while (off < (size_t)n) {
		size_t used, flen;
		const uint8_t *f;
		int rc = sotto__wire_reader_feed(&c->frames, buf + off, (size_t)n - off, &used, &f,
			&flen);
		off += used;
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		uint8_t pt[SOTTO_NOISE_MAX_PAYLOAD];
		size_t ptlen;
		rc = sotto_noise_decrypt(c->rx, NULL, 0, f, flen, pt, sizeof(pt), &ptlen);
		if (rc != 0)
			return rc;
		size_t poff = 0;
		while (poff < ptlen) {
			const uint8_t *m;
			size_t mlen;
			rc = sotto__wire_reader_feed(&c->msgs, pt + poff, ptlen - poff, &used, &m,
				&mlen);
			poff += used;
			if (rc < 0)
				return rc;
			if (rc == 1) {
				rc = on_message(c, m, mlen);
				if (rc != 0)
					return rc;
			}
		}
	}
	return 0;
}

/* Runs one established connection until it drops or we stop. */
static int serve(sotto_client_conn *c)
{
	pthread_mutex_lock(&c->lock);
	int fd = c->fd;
	if (c->cfg.authenticate) {
		struct pending *p = calloc(1, sizeof(*p));
		if (p == NULL) {
			pthread_mutex_unlock(&c->lock);
			return SOTTO_ERR_NOMEM;
		}
		Sotto__Service__Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__AuthenticateRequest ar = SOTTO__SERVICE__AUTHENTICATE_REQUEST__INIT;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_AUTHENTICATE;
		req.authenticate = &ar;
		req.id = ++c->next_id;
		p->id = req.id;
		p->gen = c->gen;
		p->internal = 1;
		int rc = queue_request(c, &req);
		if (rc != 0) {
			free(p);
			pthread_mutex_unlock(&c->lock);
			return rc;
		}
		p->next = c->pending;
		c->pending = p;
	} else {
		set_ready(c);
	}
	pthread_mutex_unlock(&c->lock);

	for (;;) {
		pthread_mutex_lock(&c->lock);
		int stop = c->stopping;
		/* Write what is queued (non-blocking, partial writes kept). */
		while (!stop && c->out_len > 0) {
			ssize_t w = send(fd, c->out, c->out_len, MSG_NOSIGNAL);
			if (w > 0) {
				memmove(c->out, c->out + w, c->out_len - (size_t)w);
				c->out_len -= (size_t)w;
				continue;
			}
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				break;
			pthread_mutex_unlock(&c->lock);
			return SOTTO_ERR_NETWORK;
		}
		short ev = POLLIN | (c->out_len > 0 ? POLLOUT : 0);
		pthread_mutex_unlock(&c->lock);
		if (stop)
			return SOTTO_ERR_NETWORK;
		struct pollfd p[2] = {{fd, ev, 0}, {c->wake[0], POLLIN, 0}};
		int r = poll(p, 2, 1000);
		if (r < 0 && errno != EINTR)
			return SOTTO_ERR_NETWORK;
		if (r <= 0)
			continue;
		if (p[1].revents & POLLIN) {
			uint8_t b[64];
			ssize_t n = read(c->wake[0], b, sizeof(b));
			(void)n;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int rc = on_readable(c, fd);
			if (rc != 0)
				return rc;
		}
	}
}

static void *io_main(void *arg)
{
	sotto_client_conn *c = arg;
	unsigned backoff = c->cfg.backoff_min_ms;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		int stop = c->stopping;
		pthread_mutex_unlock(&c->lock);
		if (stop)
			break;
		int rc = establish(c);
		if (rc == 0) {
			backoff = c->cfg.backoff_min_ms;
			rc = serve(c);
		}
		pthread_mutex_lock(&c->lock);
		drop_locked(c, rc);
		int give_up = c->stopping || !c->cfg.reconnect ||
			rc == SOTTO_ERR_INVALID_ARGUMENT || rc == SOTTO_ERR_NOT_FOUND;
		if (give_up) {
			c->gave_up = 1;
			pthread_cond_broadcast(&c->cond);
			pthread_mutex_unlock(&c->lock);
			break;
		}
		/* Backoff with jitter (50..100%), interruptible by close. */
		uint8_t r8 = 128;
		if (sotto_random(&r8, 1) != 0)
			r8 = 128; /* jitter only spreads reconnects; a fixed value is safe */
		unsigned wait = backoff / 2 + (unsigned)((uint64_t)backoff * r8 / 512);
		struct timespec ts;
		deadline_ts(&ts, wait);
		while (!c->stopping &&
			pthread_cond_timedwait(&c->cond, &c->lock, &ts) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&c->lock);
		backoff = backoff * 2 > c->cfg.backoff_max_ms ? c->cfg.backoff_max_ms : backoff * 2;
	}
	return NULL;
}

int sotto_client_conn_open(sotto_client_conn **out, const sotto_client_conn_config *cfg)
{
	*out = NULL;
	if (cfg->host == NULL || strlen(cfg->host) >= 64 || cfg->device_priv == NULL ||
		cfg->port == 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_client_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SOTTO_ERR_NOMEM;
	c->cfg = *cfg;
	snprintf(c->host, sizeof(c->host), "%s", cfg->host);
	c->cfg.host = c->host;
	if (c->cfg.backoff_min_ms == 0)
		c->cfg.backoff_min_ms = 100;
	if (c->cfg.backoff_max_ms < c->cfg.backoff_min_ms)
		c->cfg.backoff_max_ms = c->cfg.backoff_min_ms > 30000 ? c->cfg.backoff_min_ms : 30000;
	if (c->cfg.connect_timeout_ms == 0)
		c->cfg.connect_timeout_ms = 10000;
	if (c->cfg.max_message == 0)
		c->cfg.max_message = SOTTO_WIRE_DEFAULT_MAX_MESSAGE;
	memcpy(c->priv, cfg->device_priv, 32);
	if (cfg->server_pub != NULL) {
		memcpy(c->server_pub, cfg->server_pub, 32);
		c->pinned = 1;
	}
	c->fd = -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		free(c);
		return SOTTO_ERR_NETWORK;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&c->thread, NULL, io_main, c) != 0) {
		close(c->wake[0]);
		close(c->wake[1]);
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->cond);
		free(c);
		return SOTTO_ERR_INTERNAL;
	}
	*out = c;
	return 0;
}

/* Waits (lock held) for readiness until ts. */
static int wait_ready_locked(sotto_client_conn *c, const struct timespec *ts)
{
	while (!c->ready) {
		if (c->stopping || c->gave_up)
			return c->last_err != 0 ? c->last_err : SOTTO_ERR_NETWORK;
		if (pthread_cond_timedwait(&c->cond, &c->lock, ts) == ETIMEDOUT && !c->ready)
			return SOTTO_ERR_TIMEOUT;
	}
	return 0;
}

int sotto_client_conn_wait_ready(sotto_client_conn *c, unsigned timeout_ms)
{
	struct timespec ts;
	deadline_ts(&ts, timeout_ms);
	pthread_mutex_lock(&c->lock);
	int rc = wait_ready_locked(c, &ts);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sotto_client_conn_is_ready(sotto_client_conn *c)
{
	pthread_mutex_lock(&c->lock);
	int r = c->ready;
	pthread_mutex_unlock(&c->lock);
	return r;
}

int sotto_client_conn_call(sotto_client_conn *c, Sotto__Service__Request *req,
	Sotto__Service__Response **resp, unsigned timeout_ms)
{
	struct timespec ts;
	struct pending p;
	*resp = NULL;
	deadline_ts(&ts, timeout_ms);
	memset(&p, 0, sizeof(p));
	pthread_mutex_lock(&c->lock);
	int rc = wait_ready_locked(c, &ts);
	if (rc != 0) {
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	req->id = ++c->next_id;
	p.id = req->id;
	p.gen = c->gen;
	rc = queue_request(c, req);
	if (rc != 0) {
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	p.next = c->pending;
	c->pending = &p;
	while (!p.done) {
		if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT && !p.done) {
			p.rc = SOTTO_ERR_TIMEOUT;
			break;
		}
	}
	for (struct pending **pp = &c->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == &p) {
			*pp = p.next;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (p.rc == 0 && p.resp != NULL)
		*resp = p.resp;
	else if (p.resp != NULL)
		protobuf_c_message_free_unpacked(&p.resp->base, NULL);
	return p.rc;
}

void sotto_client_conn_response_free(Sotto__Service__Response *resp)
{
	if (resp != NULL)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
}

int sotto_client_conn_server_key(sotto_client_conn *c, uint8_t pub[32])
{
	pthread_mutex_lock(&c->lock);
	int ok = c->have_server_key;
	if (ok)
		memcpy(pub, c->server_pub, 32);
	pthread_mutex_unlock(&c->lock);
	return ok ? 0 : SOTTO_ERR_NOT_FOUND;
}

void sotto_client_conn_close(sotto_client_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	wake_io(c);
	pthread_join(c->thread, NULL);
	pthread_mutex_lock(&c->lock);
	if (c->fd >= 0)
		drop_locked(c, SOTTO_ERR_NETWORK);
	while (c->pending != NULL) {
		struct pending *p = c->pending;
		c->pending = p->next;
		if (p->internal)
			free(p);
	}
	pthread_mutex_unlock(&c->lock);
	sotto_noise_cipher_free(c->tx);
	sotto_noise_cipher_free(c->rx);
	sotto__wire_reader_clear(&c->frames);
	sotto__wire_reader_clear(&c->msgs);
	close(c->wake[0]);
	close(c->wake[1]);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->out);
	sotto_memzero(c->priv, sizeof(c->priv));
	free(c);
}
