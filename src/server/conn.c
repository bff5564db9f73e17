/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* One client connection on a worker loop: TCP, the Noise handshake as
 * responder (XX or IK, told apart by the size of the first message), frame
 * and message reassembly, encrypted writes with back-pressure, and closing.
 *
 * Memory: an idle connection holds only struct conn, the two transport
 * ciphers and libuv's handle; read buffers are the worker's, reassembly
 * buffers exist only while a frame or message is partially received. */
#include "server/server_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sotto/error.h"
#include "sotto/util.h"

/* An XX first message is a bare ephemeral key; an IK first message adds the
 * encrypted static key and an (empty) encrypted payload: 32 + 48 + 16. */
#define XX_MSG1_LEN 32
#define IK_MSG1_LEN 96

struct wreq {
	uv_write_t req;
	struct conn *c;
	uint8_t *buf;
	size_t len;
};

static void on_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	conn_unref(c);
}

void conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	struct srv_worker *w = c->w;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub(&w->srv->nconns, 1);
	srv_addr_release(w->srv, c->addr_key, c->addr_key_len);
	sotto_noise_handshake_free(c->hs);
	sotto_noise_cipher_free(c->tx);
	sotto_noise_cipher_free(c->rx);
	sotto__wire_reader_clear(&c->frames);
	sotto__wire_reader_clear(&c->msgs);
	free(c->obuf);
	free(c);
	if (w->stopping && w->conns == NULL) {
		/* The last connection of a draining worker: let the loop end. */
		if (!uv_is_closing((uv_handle_t *)&w->async)) {
			uv_close((uv_handle_t *)&w->async, NULL);
			uv_close((uv_handle_t *)&w->tick, NULL);
			uv_close((uv_handle_t *)&w->flush, NULL);
		}
	}
}

void conn_close(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	srv_registry_remove(c);
	c->reading = 0;
	/* Pending writes are cancelled by uv_close; their callbacks run first
	 * and free the buffers. */
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *wr = (struct wreq *)req;
	struct conn *c = wr->c;
	c->write_pending -= wr->len;
	free(wr->buf);
	free(wr);
	if (status < 0) {
		conn_close(c);
	} else if (c->state == CONN_OPEN) {
		conn_pause_check(c);
		if (c->want_fetch && c->write_pending < c->w->srv->cfg.max_write_pending / 4) {
			c->want_fetch = 0;
			conn_fetch_queue(c);
		}
	}
	if (c->w->stopping && c->inflight == 0 && c->write_pending == 0 &&
		c->state != CONN_CLOSING)
		conn_close(c);
	conn_unref(c);
}

static int conn_write(struct conn *c, uint8_t *buf, size_t len)
{
	if (c->state == CONN_CLOSING) {
		free(buf);
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	struct wreq *wr = malloc(sizeof(*wr));
	if (wr == NULL) {
		free(buf);
		conn_close(c);
		return SOTTO_ERR_NOMEM;
	}
	wr->c = c;
	wr->buf = buf;
	wr->len = len;
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
		free(buf);
		free(wr);
		conn_close(c);
		return SOTTO_ERR_INTERNAL;
	}
	c->refs++;
	c->write_pending += len;
	return 0;
}

/* Hands each queued output buffer to libuv: one write per connection per
 * loop turn, however many replies and pushes it holds. */
static void on_flush(uv_check_t *h)
{
	struct srv_worker *w = h->data;
	struct conn *list = w->flush_list;
	w->flush_list = NULL;
	while (list != NULL) {
		struct conn *c = list;
		list = c->flush_next;
		c->flush_queued = 0;
		if (c->olen > 0 && c->state != CONN_CLOSING) {
			uint8_t *buf = c->obuf;
			size_t len = c->olen;
			c->obuf = NULL;
			c->olen = c->ocap = 0;
			/* conn_write counts the bytes again. */
			c->write_pending -= len;
			(void)conn_write(c, buf, len);
		}
		conn_unref(c);
	}
}

void conn_flush_init(struct srv_worker *w)
{
	uv_check_init(&w->loop, &w->flush);
	w->flush.data = w;
	uv_check_start(&w->flush, on_flush);
}

int conn_send(struct conn *c, const Sotto__Service__ServerMessage *m)
{
	struct srv_worker *w = c->w;
	if (c->state != CONN_OPEN)
		return SOTTO_ERR_INVALID_ARGUMENT;
	size_t n = protobuf_c_message_get_packed_size(&m->base);
	int rc = 0;
	if (n > w->srv->cfg.max_message || n > SOTTO_WIRE_HARD_MAX_MESSAGE)
		rc = SOTTO_ERR_LIMIT;
	/* Pack into the worker's scratch buffer, encrypt straight into the
	 * connection's output buffer. */
	size_t ptlen = n + SOTTO_WIRE_LEN_BYTES, cap = SOTTO_NOISE_FRAMED_LEN(ptlen), olen = 0;
	if (rc == 0 && ptlen > w->scratch_cap) {
		uint8_t *b = realloc(w->scratch, ptlen);
		if (b == NULL)
			rc = SOTTO_ERR_NOMEM;
		else {
			w->scratch = b;
			w->scratch_cap = ptlen;
		}
	}
	if (rc == 0 && c->olen + cap > c->ocap) {
		size_t ncap = c->ocap != 0 ? c->ocap : 512;
		while (ncap < c->olen + cap)
			ncap *= 2;
		uint8_t *b = realloc(c->obuf, ncap);
		if (b == NULL)
			rc = SOTTO_ERR_NOMEM;
		else {
			c->obuf = b;
			c->ocap = ncap;
		}
	}
	if (rc == 0) {
		sotto__wire_put_len(w->scratch, (uint32_t)n);
		if (protobuf_c_message_pack(&m->base, w->scratch + SOTTO_WIRE_LEN_BYTES) != n)
			rc = SOTTO_ERR_INTERNAL;
	}
	if (rc == 0)
		rc = sotto_noise_frame_encrypt(c->tx, w->scratch, ptlen, c->obuf + c->olen, cap,
			&olen);
	if (rc == 0)
		sotto_memzero(w->scratch, ptlen);
	if (rc != 0) {
		srv_log(0, "cannot encode a reply (%s); closing the connection", sotto_strerror(rc));
		conn_close(c);
		return rc;
	}
	c->olen += olen;
	c->write_pending += olen;
	if (!c->flush_queued) {
		c->flush_queued = 1;
		c->refs++; /* the flush list holds the connection */
		c->flush_next = w->flush_list;
		w->flush_list = c;
	}
	return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)suggested;
	buf->base = (char *)c->w->readbuf;
	buf->len = sizeof(c->w->readbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* Reading stops while a client has too many requests in flight or too much
 * unread output: it cannot make the server buffer without bound. A client
 * whose output exceeds the limit by far is cut off. */
void conn_pause_check(struct conn *c)
{
	struct sotto_server *s = c->w->srv;
	if (c->state != CONN_OPEN || c->w->stopping)
		return;
	if (c->write_pending > 4 * s->cfg.max_write_pending) {
		srv_log(1, "a client does not read its replies; closing it");
		conn_close(c);
		return;
	}
	int busy = c->inflight >= s->cfg.max_inflight || c->write_pending > s->cfg.max_write_pending;
	if (busy && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	} else if (!busy && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
			c->reading = 1;
	}
}

static int handshake_start(struct conn *c, size_t len)
{
	struct sotto_server *s = c->w->srv;
	sotto_noise_config nc;
	memset(&nc, 0, sizeof(nc));
	if (len == XX_MSG1_LEN)
		nc.protocol_name = SOTTO_NOISE_XX;
	else if (len >= IK_MSG1_LEN)
		nc.protocol_name = SOTTO_NOISE_IK;
	else
		return SOTTO_ERR_INVALID_MESSAGE;
	nc.role = SOTTO_NOISE_RESPONDER;
	nc.prologue = (const uint8_t *)SOTTO_NOISE_PROLOGUE;
	nc.prologue_len = SOTTO_NOISE_PROLOGUE_LEN;
	nc.local_static = s->static_priv;
	nc.rng = sotto_rng_system;
	return sotto_noise_handshake_new(&c->hs, &nc);
}

static int handshake_finish(struct conn *c)
{
	int rc = sotto_noise_remote_static(c->hs, c->peer_key);
	if (rc == 0)
		rc = sotto_noise_split(c->hs, &c->tx, &c->rx);
	sotto_noise_handshake_free(c->hs);
	c->hs = NULL;
	if (rc != 0)
		return rc;
	c->state = CONN_OPEN;
	return 0;
}

/* One Noise handshake message from the client. */
static int handshake_frame(struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t payload[256], out[256];
	size_t plen, olen;
	int rc;

	if (c->hs == NULL) {
		rc = handshake_start(c, len);
		if (rc != 0)
			return rc;
	}
	if (sotto_noise_handshake_action(c->hs) != SOTTO_NOISE_READ)
		return SOTTO_ERR_INVALID_MESSAGE;
	rc = sotto_noise_read_message(c->hs, msg, len, payload, sizeof(payload), &plen);
	if (rc != 0)
		return rc;
	if (sotto_noise_handshake_action(c->hs) == SOTTO_NOISE_WRITE) {
		rc = sotto_noise_write_message(c->hs, NULL, 0, out, sizeof(out), &olen);
		if (rc != 0)
			return rc;
		uint8_t *f;
		size_t flen;
		rc = sotto__wire_frame_plain(out, olen, &f, &flen);
		if (rc != 0)
			return rc;
		rc = conn_write(c, f, flen);
		if (rc != 0)
			return rc;
	}
	if (sotto_noise_handshake_action(c->hs) == SOTTO_NOISE_SPLIT)
		return handshake_finish(c);
	return 0;
}

/* One transport frame: decrypt, then cut the plaintext into messages. */
static int transport_frame(struct conn *c, const uint8_t *ct, size_t len)
{
	uint8_t pt[SOTTO_NOISE_MAX_PAYLOAD];
	size_t ptlen;
	int rc = sotto_noise_decrypt(c->rx, NULL, 0, ct, len, pt, sizeof(pt), &ptlen);
	if (rc != 0)
		return rc;
	size_t off = 0;
	while (off < ptlen && c->state == CONN_OPEN) {
		size_t used;
		const uint8_t *m;
		size_t mlen;
		rc = sotto__wire_reader_feed(&c->msgs, pt + off, ptlen - off, &used, &m, &mlen);
		if (rc < 0)
			break;
		off += used;
		if (rc == 1)
			handle_request(c, m, mlen);
		rc = 0;
	}
	sotto_memzero(pt, ptlen);
	return rc;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = st->data;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	const uint8_t *in = (const uint8_t *)buf->base;
	size_t off = 0, n = (size_t)nread;
	while (off < n && c->state != CONN_CLOSING) {
		size_t used;
		const uint8_t *f;
		size_t flen;
		int rc = sotto__wire_reader_feed(&c->frames, in + off, n - off, &used, &f, &flen);
		off += used;
		if (rc < 0) {
			srv_log(3, "closing a connection: bad frame (%s)", sotto_strerror(rc));
			conn_close(c);
			return;
		}
		if (rc == 0)
			break;
		if (c->state == CONN_HANDSHAKE)
			rc = handshake_frame(c, f, flen);
		else
			rc = transport_frame(c, f, flen);
		if (rc != 0 && c->state != CONN_CLOSING) {
			srv_log(3, "closing a connection: %s", sotto_strerror(rc));
			conn_close(c);
			return;
		}
	}
	/* Reassembly buffers exist only while a record is partial. */
	if (c->state != CONN_CLOSING && !sotto__wire_reader_busy(&c->frames))
		sotto__wire_reader_clear(&c->frames);
}

void conn_start(struct srv_worker *w, struct task *t)
{
	struct sotto_server *s = w->srv;
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL || w->stopping) {
		close(t->u.conn.fd);
		free(c);
		atomic_fetch_sub(&s->nconns, 1);
		srv_addr_release(s, t->u.conn.addr_key, t->u.conn.addr_key_len);
		return;
	}
	c->w = w;
	c->refs = 1;
	c->state = CONN_HANDSHAKE;
	c->created_ms = srv_now_ms();
	memcpy(c->addr_key, t->u.conn.addr_key, sizeof(c->addr_key));
	c->addr_key_len = t->u.conn.addr_key_len;
	sotto__wire_reader_init(&c->frames, 1, SOTTO_WIRE_MAX_FRAME);
	sotto__wire_reader_init(&c->msgs, 0, (uint32_t)s->cfg.max_message);
	c->tcp.data = c;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	if (uv_tcp_init(&w->loop, &c->tcp) != 0) {
		close(t->u.conn.fd);
		c->state = CONN_CLOSING;
		conn_unref(c); /* never became a handle: free directly */
		return;
	}
	if (uv_tcp_open(&c->tcp, t->u.conn.fd) != 0) {
		close(t->u.conn.fd);
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		conn_close(c);
		return;
	}
	c->reading = 1;
}
