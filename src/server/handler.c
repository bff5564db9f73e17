/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Request handlers. Each request becomes an op: blocking store reads and
 * file I/O run in libuv's thread pool (op->run), store writes go to the
 * store's group-commit writer with a callback that comes back to the
 * connection's loop as a task, and the reply is built on the loop
 * (op->after). A reply to a write is sent only after its commit. */
#include "server/server_internal.h"
#include "server/kt_handler.h"
#ifdef SOTTO_KT_EVIL /* test-only malicious build (tests/evil) */
#include "server/kt_evil.h"
#endif

/* protobuf-c's message structs hold non-const pointers even when they are
 * only packed (and its string INIT macros cast away const): replies point
 * into const store results and static strings, which packing never
 * modifies. */
#pragma GCC diagnostic ignored "-Wcast-qual"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/sealed.h"
#include "sotto/util.h"

static_assert(SOTTO_WIRE_ID_BYTES == SOTTO_STORE_ID_BYTES, "id size");
static_assert(SOTTO_WIRE_EC_KEY_BYTES == SOTTO_STORE_EC_KEY_BYTES, "ec key size");
static_assert(SOTTO_WIRE_KEM_KEY_BYTES == SOTTO_STORE_KEM_KEY_BYTES, "kem key size");
static_assert(SOTTO_WIRE_SIG_BYTES == SOTTO_STORE_SIG_BYTES, "sig size");
static_assert(SOTTO_WIRE_MAX_DEVICE_ID == SOTTO_STORE_MAX_DEVICE_ID, "device ids");
static_assert(SOTTO_WIRE_MAX_DEVICE_NAME == SOTTO_STORE_MAX_DEVICE_NAME, "name size");
static_assert(SOTTO_WIRE_MAX_PREKEY_UPLOAD == SOTTO_STORE_MAX_PREKEY_UPLOAD, "upload size");
static_assert(SOTTO_WIRE_MAX_ACK == SOTTO_STORE_MAX_ACK, "ack size");
static_assert(SOTTO_WIRE_DIGEST_BYTES == SOTTO_STORE_DIGEST_BYTES, "digest size");

#define S_OK SOTTO__SERVICE__STATUS__OK
#define FETCH_PAGE 64
#define MAX_DEVICES SOTTO_STORE_MAX_DEVICE_ID

typedef Sotto__Service__Response Response;
typedef Sotto__Service__ServerMessage ServerMessage;

/* ---- replies ---- */

static void send_response(struct conn *c, Response *r)
{
	ServerMessage m = SOTTO__SERVICE__SERVER_MESSAGE__INIT;
	m.body_case = SOTTO__SERVICE__SERVER_MESSAGE__BODY_RESPONSE;
	m.response = r;
	(void)conn_send(c, &m);
}

static void reply_status(struct conn *c, uint64_t id, Sotto__Service__Status st, const char *why)
{
	Response r = SOTTO__SERVICE__RESPONSE__INIT;
	r.id = id;
	r.status = st;
	if (why != NULL)
		r.error = (char *)why;
	send_response(c, &r);
}

static void reply_err(struct conn *c, uint64_t id, int rc, const char *why)
{
	Sotto__Service__Status st = sotto__wire_status_from_err(rc);
	if (st == SOTTO__SERVICE__STATUS__INTERNAL)
		srv_log(0, "request failed: %s", sotto_strerror(rc));
	reply_status(c, id, st, why != NULL ? why : sotto_strerror(rc));
}

/* Answers with a body. A macro because each body kind sits in its own member of the
 * protobuf-c oneof union, with its own pointer type. */
#define SEND_BODY(c, rid, kind, member, body) \
	do { \
		Response r_ = SOTTO__SERVICE__RESPONSE__INIT; \
		r_.id = (rid); \
		r_.body_case = SOTTO__SERVICE__RESPONSE__BODY_##kind; \
		r_.member = (body); \
		send_response((c), &r_); \
	} while (0)

static void send_push(struct conn *c, Sotto__Service__Push *p)
{
	ServerMessage m = SOTTO__SERVICE__SERVER_MESSAGE__INIT;
	m.body_case = SOTTO__SERVICE__SERVER_MESSAGE__BODY_PUSH;
	m.push = p;
	(void)conn_send(c, &m);
}

/* ---- ops ---- */

static struct op *op_new(struct conn *c, Sotto__Service__Request *req, size_t datasize)
{
	struct op *op = calloc(1, sizeof(*op));
	if (op == NULL)
		return NULL;
	if (datasize > 0) {
		op->data = calloc(1, datasize);
		if (op->data == NULL) {
			free(op);
			return NULL;
		}
		op->free_data = free;
	}
	op->c = c;
	op->req = req;
	op->req_id = req != NULL ? req->id : 0;
	op->work.data = op;
	c->refs++;
	if (req != NULL)
		c->inflight++;
	return op;
}

/* op_new() for a request handler, which owns req until an op takes it: on failure this
 * answers NOMEM and frees req, so the caller only returns. */
static struct op *op_new_or_reply(struct conn *c, Sotto__Service__Request *req, size_t datasize)
{
	struct op *op = op_new(c, req, datasize);
	if (op == NULL) {
		reply_err(c, req->id, SOTTO_ERR_NOMEM, NULL);
		protobuf_c_message_free_unpacked(&req->base, NULL);
	}
	return op;
}

/* For an op's after(): 1 when the success reply should be sent. A failed op is answered
 * here (why: the error text, NULL for the default); a closed connection gets nothing.
 * The caller still runs op_finish(). */
static int op_reply_ok(struct op *op, const char *why)
{
	struct conn *c = op->c;
	if (c->state != CONN_OPEN)
		return 0;
	if (op->rc != 0) {
		reply_err(c, op->req_id, op->rc, why);
		return 0;
	}
	return 1;
}

static void op_finish(struct op *op)
{
	struct conn *c = op->c;
	if (op->req != NULL) {
		protobuf_c_message_free_unpacked(&op->req->base, NULL);
		c->inflight--;
	}
	if (op->free_data != NULL)
		op->free_data(op->data);
	free(op);
	if (c->state == CONN_OPEN) {
		conn_pause_check(c);
		if (c->w->stopping && c->inflight == 0 && c->write_pending == 0)
			conn_close(c);
	}
	conn_unref(c);
}

static void op_work(uv_work_t *w)
{
	struct op *op = w->data;
#ifdef SOTTO_KT_EVIL /* test-only: who is asking */
	sotto__evil_enter(op->c);
#endif
	op->run(op);
#ifdef SOTTO_KT_EVIL
	sotto__evil_leave();
#endif
}

static void op_after_work(uv_work_t *w, int status)
{
	struct op *op = w->data;
	if (status != 0)
		op->rc = SOTTO_ERR_INTERNAL;
	op->after(op);
}

/* Runs run() in the pool, then after() on the loop. */
static void op_queue(struct op *op, op_fn run, op_fn after)
{
	op->run = run;
	op->after = after;
	if (uv_queue_work(&op->c->w->loop, &op->work, op_work, op_after_work) != 0) {
		op->rc = SOTTO_ERR_INTERNAL;
		after(op);
	}
}

static void op_store_done(void *arg, int rc)
{
	struct op *op = arg;
	op->rc = rc;
	op->task.kind = TASK_OP_DONE;
	op->task.u.op = op;
	srv_post(op->c->w, &op->task);
}

void op_done_task(struct op *op)
{
	op->after(op);
}

/* The callback for an asynchronous store write whose result goes to after(). */
static sotto_store_cb op_cb(struct op *op, op_fn after)
{
	op->after = after;
	sotto_store_cb cb = {op_store_done, op};
	return cb;
}

/* For a store write that failed to queue: the callback never runs. */
static void op_write_failed(struct op *op, int rc)
{
	op->rc = rc;
	op->after(op);
}

/* ---- queue delivery ---- */

struct fetch_data {
	sotto_store_envelope env[FETCH_PAGE];
	size_t count;
	int more;
	uint64_t from;
	uint8_t *buf;
	size_t bufcap;
};

static void fetch_free(void *p)
{
	struct fetch_data *d = p;
	if (d != NULL)
		free(d->buf);
	free(d);
}

static void fetch_run(struct op *op)
{
	struct fetch_data *d = op->data;
	struct conn *c = op->c;
	op->rc = sotto_store_queue_fetch(c->w->srv->store, c->account, c->device, d->from, d->env,
		FETCH_PAGE, d->buf, d->bufcap, &d->count, &d->more);
	if (op->rc == SOTTO_ERR_BUFFER_TOO_SMALL) {
		/* A large envelope first in line: room for the largest allowed. */
		size_t cap = c->w->srv->cfg.max_envelope + 4096;
		uint8_t *b = realloc(d->buf, cap);
		if (b == NULL) {
			op->rc = SOTTO_ERR_NOMEM;
			return;
		}
		d->buf = b;
		d->bufcap = cap;
		op->rc = sotto_store_queue_fetch(c->w->srv->store, c->account, c->device, d->from,
			d->env, FETCH_PAGE, d->buf, d->bufcap, &d->count, &d->more);
	}
}

static void fill_envelope(Sotto__Service__Envelope *e, const sotto_store_envelope *s)
{
	e->seq = s->seq;
	e->server_ms = s->server_ms;
	e->sealed = s->sealed != 0;
	if (!s->sealed) {
		e->sender_account.data = (uint8_t *)s->sender_account;
		e->sender_account.len = SOTTO_STORE_ID_BYTES;
		e->sender_device = s->sender_device;
	}
	e->type = s->type;
	e->content.data = (uint8_t *)s->content;
	e->content.len = s->content_len;
}

static void fetch_after(struct op *op)
{
	struct conn *c = op->c;
	struct fetch_data *d = op->data;
	c->fetching = 0;
	if (c->state != CONN_OPEN) {
		op_finish(op);
		return;
	}
	if (op->rc != 0) {
		srv_log(0, "queue fetch failed: %s", sotto_strerror(op->rc));
		op_finish(op);
		conn_close(c);
		return;
	}
	for (size_t i = 0; i < d->count && c->state == CONN_OPEN; i++) {
		if (d->env[i].seq <= c->last_pushed)
			continue;
		Sotto__Service__Envelope e = SOTTO__SERVICE__ENVELOPE__INIT;
		fill_envelope(&e, &d->env[i]);
		Sotto__Service__Push p = SOTTO__SERVICE__PUSH__INIT;
		p.body_case = SOTTO__SERVICE__PUSH__BODY_ENVELOPE;
		p.envelope = &e;
		send_push(c, &p);
		c->last_pushed = d->env[i].seq;
	}
	int again = d->more || c->refetch;
	c->refetch = 0;
	if (!d->more && !c->drained && c->state == CONN_OPEN) {
		c->drained = 1;
		Sotto__Service__QueueEmpty qe = SOTTO__SERVICE__QUEUE_EMPTY__INIT;
		Sotto__Service__Push p = SOTTO__SERVICE__PUSH__INIT;
		p.body_case = SOTTO__SERVICE__PUSH__BODY_QUEUE_EMPTY;
		p.queue_empty = &qe;
		send_push(c, &p);
	}
	op_finish(op);
	if (again && c->state == CONN_OPEN) {
		/* Back-pressure: the next page waits until the client has read
		 * most of what it was sent (on_write resumes it). */
		if (c->write_pending >= c->w->srv->cfg.max_write_pending / 4)
			c->want_fetch = 1;
		else
			conn_fetch_queue(c);
	}
}

/* Pushes the device's queue from last_pushed + 1 on, in order. One fetch
 * at a time per connection; a notification during a fetch re-runs it. */
void conn_fetch_queue(struct conn *c)
{
	if (c->state != CONN_OPEN || !c->authed)
		return;
	if (c->fetching) {
		c->refetch = 1;
		return;
	}
	struct op *op = op_new(c, NULL, sizeof(struct fetch_data));
	if (op == NULL)
		return; /* delivered on the next notification or reconnect */
	struct fetch_data *d = op->data;
	op->free_data = fetch_free;
	d->from = c->last_pushed + 1;
	/* Enough for a page of typical envelopes; fetch_run grows it for a
	 * large one. Small enough to stay off mmap and out of the way. */
	d->bufcap = 64 * 1024;
	d->buf = malloc(d->bufcap);
	if (d->buf == NULL) {
		op_finish(op);
		return;
	}
	c->fetching = 1;
	op_queue(op, fetch_run, fetch_after);
}

void handle_notify_conn(struct conn *c, const struct task *t)
{
	if (c->state != CONN_OPEN || !c->authed)
		return;
	switch (t->u.notify.what) {
	case NOTIFY_ENVELOPE: {
		const struct pushed_env *pe = t->u.notify.env;
		if (t->u.notify.seq <= c->last_pushed)
			break;
		/* Caught up (backlog sent, no fetch running, the client reading)
		 * and this is the very next sequence number: push it from memory.
		 * Anything else (a gap from commits notified out of order, a
		 * backlog, back-pressure) goes through the store in order. */
		if (pe != NULL && pe->seq == t->u.notify.seq && c->drained && !c->fetching &&
			!c->want_fetch && t->u.notify.seq == c->last_pushed + 1 &&
			c->write_pending < c->w->srv->cfg.max_write_pending / 4) {
			Sotto__Service__Envelope e = SOTTO__SERVICE__ENVELOPE__INIT;
			e.seq = pe->seq;
			e.server_ms = pe->server_ms;
			e.sealed = pe->sealed != 0;
			if (!pe->sealed) {
				e.sender_account.data = (uint8_t *)pe->sender_account;
				e.sender_account.len = SOTTO_STORE_ID_BYTES;
				e.sender_device = pe->sender_device;
			}
			e.type = pe->type;
			e.content.data = (uint8_t *)pe->content;
			e.content.len = pe->len;
			Sotto__Service__Push p = SOTTO__SERVICE__PUSH__INIT;
			p.body_case = SOTTO__SERVICE__PUSH__BODY_ENVELOPE;
			p.envelope = &e;
			send_push(c, &p);
			c->last_pushed = pe->seq;
			break;
		}
		conn_fetch_queue(c);
		break;
	}
	case NOTIFY_UNLINKED:
		conn_close(c);
		break;
	case NOTIFY_DEVICES: {
		Sotto__Service__DeviceListChanged dc = SOTTO__SERVICE__DEVICE_LIST_CHANGED__INIT;
		dc.account_id.data = (uint8_t *)t->u.notify.account;
		dc.account_id.len = SOTTO_STORE_ID_BYTES;
		Sotto__Service__Push p = SOTTO__SERVICE__PUSH__INIT;
		p.body_case = SOTTO__SERVICE__PUSH__BODY_DEVICE_LIST_CHANGED;
		p.device_list_changed = &dc;
		send_push(c, &p);
		break;
	}
	case NOTIFY_PREKEYS_LOW: {
		Sotto__Service__PrekeysLow pl = SOTTO__SERVICE__PREKEYS_LOW__INIT;
		pl.ec = t->u.notify.ec;
		pl.kem = t->u.notify.kem;
		Sotto__Service__Push p = SOTTO__SERVICE__PUSH__INIT;
		p.body_case = SOTTO__SERVICE__PUSH__BODY_PREKEYS_LOW;
		p.prekeys_low = &pl;
		send_push(c, &p);
		break;
	}
	}
}

/* Binds the connection to its device and starts delivering its queue. */
static void bind_device(struct conn *c, const uint8_t account[SOTTO_STORE_ID_BYTES],
	uint32_t device)
{
	memcpy(c->account, account, SOTTO_STORE_ID_BYTES);
	c->device = device;
	c->authed = 1;
	c->last_pushed = 0;
	c->drained = 0;
	srv_registry_add(c);
}

/* ---- ping ---- */

static void h_ping(struct conn *c, Sotto__Service__Request *req)
{
	Sotto__Service__PingResponse pr = SOTTO__SERVICE__PING_RESPONSE__INIT;
	pr.data = req->ping->data;
	pr.server_ms = (int64_t)srv_now_ms();
	SEND_BODY(c, req->id, PING, ping, &pr);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

/* ---- register, authenticate, devices ---- */

struct reg_data {
	sotto_store_new_device dev;
	uint8_t account[SOTTO_STORE_ID_BYTES];
	uint32_t device_id;
	sotto_store_device found;
	uint64_t qlen;
	char username[SOTTO_STORE_NAME_MAX + 1]; /* register: the name claimed, or "" */
	int prov_queued;                         /* link: the provisioning envelope was queued */
	sotto_store_envelope_in prov;
	uint64_t prov_seq;
};

/* The directory's form of a name: A-Z lowercased; then 3..32 characters of
 * a-z 0-9 _ . (anything else is refused rather than mapped, so two
 * different inputs never land on one name by accident). 0 or -1. */
static int normalize_name(const ProtobufCBinaryData *b, char out[SOTTO_STORE_NAME_MAX + 1])
{
	const char *in = (const char *)b->data;
	size_t n = b->len;
	if (n < SOTTO_STORE_NAME_MIN || n > SOTTO_STORE_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
			    ch == '.'))
			return -1;
		out[i] = ch;
	}
	out[n] = '\0';
	return 0;
}

static void register_after(struct op *op)
{
	struct conn *c = op->c;
	struct reg_data *d = op->data;
	if (c->state == CONN_OPEN) {
		if (op->rc == SOTTO_ERR_NOT_FOUND) {
			reply_status(c, op->req_id, SOTTO__SERVICE__STATUS__FORBIDDEN,
				"invite code unknown, used or expired");
		} else if (op->rc == SOTTO_ERR_EXISTS && d->username[0] != '\0') {
			reply_status(c, op->req_id, SOTTO__SERVICE__STATUS__EXISTS,
				"the name is taken, or this Noise key is already registered");
		} else if (op->rc != 0) {
			reply_err(c, op->req_id, op->rc, NULL);
		} else {
			bind_device(c, d->account, SOTTO_STORE_PRIMARY_DEVICE_ID);
			Sotto__Service__RegisterResponse rr = SOTTO__SERVICE__REGISTER_RESPONSE__INIT;
			rr.account_id.data = d->account;
			rr.account_id.len = SOTTO_STORE_ID_BYTES;
			rr.device_id = SOTTO_STORE_PRIMARY_DEVICE_ID;
			SEND_BODY(c, op->req_id, REGISTER_ACCOUNT, register_account, &rr);
			conn_fetch_queue(c);
		}
	}
	op_finish(op);
}

static void h_register(struct conn *c, Sotto__Service__Request *req)
{
	struct sotto_server *s = c->w->srv;
	const Sotto__Service__RegisterRequest *q = req->register_account;
	if (c->authed) {
		reply_status(c, req->id, SOTTO__SERVICE__STATUS__BAD_REQUEST,
			"this connection already belongs to a device");
		protobuf_c_message_free_unpacked(&req->base, NULL);
		return;
	}
	if (s->cfg.registration_invite && q->invite_code.len == 0) {
		reply_status(c, req->id, SOTTO__SERVICE__STATUS__FORBIDDEN,
			"registration needs an invite code");
		protobuf_c_message_free_unpacked(&req->base, NULL);
		return;
	}
	char uname[SOTTO_STORE_NAME_MAX + 1] = "";
	if (q->username.len > 0 && normalize_name(&q->username, uname) != 0) {
		reply_status(c, req->id, SOTTO__SERVICE__STATUS__BAD_REQUEST,
			"a name is 3..32 characters of a-z, 0-9, _ and .");
		protobuf_c_message_free_unpacked(&req->base, NULL);
		return;
	}
	struct op *op = op_new_or_reply(c, req, sizeof(struct reg_data));
	if (op == NULL)
		return;
	struct reg_data *d = op->data;
	d->dev.registration_id = q->registration_id;
	memcpy(d->dev.noise_key, c->peer_key, 32);
	memcpy(d->dev.identity_key, q->identity_key.data, SOTTO_STORE_EC_KEY_BYTES);
	d->dev.name = q->name.data;
	d->dev.name_len = q->name.len;
	memcpy(d->username, uname, sizeof uname);
	/* In open mode an invite code is ignored rather than consumed. */
	const uint8_t *inv = s->cfg.registration_invite ? q->invite_code.data : NULL;
	size_t invlen = s->cfg.registration_invite ? q->invite_code.len : 0;
	sotto_store_cb cb = op_cb(op, register_after);
	int rc = d->username[0] != '\0' ?
		sotto_store_account_create_named(s->store, inv, invlen, &d->dev, d->username,
			(int64_t)srv_now_ms(), d->account, &cb) :
		sotto_store_account_create(s->store, inv, invlen, &d->dev,
			(int64_t)srv_now_ms(), d->account, &cb);
	if (rc != 0)
		op_write_failed(op, rc);
}

static void auth_run(struct op *op)
{
	struct reg_data *d = op->data;
	struct conn *c = op->c;
	sotto_store *st = c->w->srv->store;
	op->rc = sotto_store_device_by_noise_key(st, c->peer_key, &d->found);
	if (op->rc == 0)
		op->rc = sotto_store_queue_length(st, d->found.account_id, d->found.device_id,
			&d->qlen);
}

static void auth_after(struct op *op)
{
	struct conn *c = op->c;
	struct reg_data *d = op->data;
	if (c->state == CONN_OPEN) {
		if (op->rc == SOTTO_ERR_NOT_FOUND) {
			reply_status(c, op->req_id, SOTTO__SERVICE__STATUS__UNAUTHENTICATED,
				"no linked device has this Noise key");
		} else if (op->rc != 0) {
			reply_err(c, op->req_id, op->rc, NULL);
		} else if (c->authed) {
			reply_status(c, op->req_id, SOTTO__SERVICE__STATUS__BAD_REQUEST,
				"already authenticated");
		} else {
			bind_device(c, d->found.account_id, d->found.device_id);
			Sotto__Service__AuthenticateResponse ar =
				SOTTO__SERVICE__AUTHENTICATE_RESPONSE__INIT;
			ar.account_id.data = d->found.account_id;
			ar.account_id.len = SOTTO_STORE_ID_BYTES;
			ar.device_id = d->found.device_id;
			ar.queue_length = d->qlen;
			SEND_BODY(c, op->req_id, AUTHENTICATE, authenticate, &ar);
			/* Recorded in the background; a failure only loses the
			 * last-seen time. */
			(void)sotto_store_device_touch(c->w->srv->store, c->account, c->device,
				(int64_t)srv_now_ms(), NULL);
			conn_fetch_queue(c);
		}
	}
	op_finish(op);
}

static void h_authenticate(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct reg_data));
	if (op == NULL)
		return;
	op_queue(op, auth_run, auth_after);
}

static void link_after(struct op *op)
{
	struct conn *c = op->c;
	struct reg_data *d = op->data;
	const Sotto__Service__LinkDeviceRequest *q = op->req->link_device;
	if (op->rc == 0 && !d->prov_queued) {
		srv_notify(c->w->srv, c->account, 0, NOTIFY_DEVICES, 0);
		if (q->provisioning.len > 0) {
			/* The provisioning mailbox is the new device's own queue:
			 * the message waits there (encrypted end to end) until
			 * the device authenticates with its Noise key, and is
			 * deleted by its Ack like any envelope. */
			d->prov_queued = 1;
			memcpy(d->prov.dest_account, c->account, SOTTO_STORE_ID_BYTES);
			d->prov.dest_device = d->device_id;
			memcpy(d->prov.sender_account, c->account, SOTTO_STORE_ID_BYTES);
			d->prov.sender_device = c->device;
			d->prov.type = SOTTO_WIRE_TYPE_PROVISIONING;
			d->prov.content = q->provisioning.data;
			d->prov.content_len = q->provisioning.len;
			sotto_store_cb cb = op_cb(op, link_after);
			int rc = sotto_store_enqueue(c->w->srv->store, &d->prov, 1,
				(int64_t)srv_now_ms(), &d->prov_seq, &cb);
			if (rc != 0)
				op_write_failed(op, rc);
			return;
		}
	} else if (op->rc == 0) {
		srv_notify(c->w->srv, c->account, d->device_id, NOTIFY_ENVELOPE, d->prov_seq);
	}
	if (op_reply_ok(op, op->rc == SOTTO_ERR_LIMIT ? "the account has 127 devices" : NULL)) {
		Sotto__Service__LinkDeviceResponse lr =
			SOTTO__SERVICE__LINK_DEVICE_RESPONSE__INIT;
		lr.device_id = d->device_id;
		SEND_BODY(c, op->req_id, LINK_DEVICE, link_device, &lr);
	}
	op_finish(op);
}

static void h_link(struct conn *c, Sotto__Service__Request *req)
{
	const Sotto__Service__LinkDeviceRequest *q = req->link_device;
	if (c->device != SOTTO_STORE_PRIMARY_DEVICE_ID) {
		reply_status(c, req->id, SOTTO__SERVICE__STATUS__FORBIDDEN,
			"only the primary device links devices");
		protobuf_c_message_free_unpacked(&req->base, NULL);
		return;
	}
	struct op *op = op_new_or_reply(c, req, sizeof(struct reg_data));
	if (op == NULL)
		return;
	struct reg_data *d = op->data;
	d->dev.registration_id = q->registration_id;
	memcpy(d->dev.noise_key, q->noise_key.data, 32);
	memcpy(d->dev.identity_key, q->identity_key.data, SOTTO_STORE_EC_KEY_BYTES);
	d->dev.name = q->name.data;
	d->dev.name_len = q->name.len;
	sotto_store_cb cb = op_cb(op, link_after);
	int rc = sotto_store_device_add(c->w->srv->store, c->account, &d->dev,
		(int64_t)srv_now_ms(), &d->device_id, &cb);
	if (rc != 0)
		op_write_failed(op, rc);
}

/* ---- name directory ---- */

struct name_data {
	char name[SOTTO_STORE_NAME_MAX + 1];
	uint8_t account[SOTTO_STORE_ID_BYTES];
};

static void lookup_name_run(struct op *op)
{
	struct name_data *d = op->data;
	op->rc = sotto_store_name_lookup(op->c->w->srv->store, d->name, d->account);
}

static void lookup_name_after(struct op *op)
{
	struct conn *c = op->c;
	struct name_data *d = op->data;
	if (op_reply_ok(op, op->rc == SOTTO_ERR_NOT_FOUND ? "no account has this name" : NULL)) {
		Sotto__Service__LookupNameResponse lr =
			SOTTO__SERVICE__LOOKUP_NAME_RESPONSE__INIT;
		lr.account_id.data = d->account;
		lr.account_id.len = SOTTO_STORE_ID_BYTES;
		lr.name.data = (uint8_t *)d->name;
		lr.name.len = strlen(d->name);
		SEND_BODY(c, op->req_id, LOOKUP_NAME, lookup_name, &lr);
	}
	op_finish(op);
}

static void h_lookup_name(struct conn *c, Sotto__Service__Request *req)
{
	char name[SOTTO_STORE_NAME_MAX + 1];
	if (normalize_name(&req->lookup_name->name, name) != 0) {
		reply_status(c, req->id, SOTTO__SERVICE__STATUS__BAD_REQUEST,
			"a name is 3..32 characters of a-z, 0-9, _ and .");
		protobuf_c_message_free_unpacked(&req->base, NULL);
		return;
	}
	struct op *op = op_new_or_reply(c, req, sizeof(struct name_data));
	if (op == NULL)
		return;
	memcpy(((struct name_data *)op->data)->name, name, sizeof name);
	op_queue(op, lookup_name_run, lookup_name_after);
}

static void account_name_run(struct op *op)
{
	struct name_data *d = op->data;
	op->rc = sotto_store_name_of(op->c->w->srv->store, d->account, d->name, sizeof d->name);
}

static void account_name_after(struct op *op)
{
	struct conn *c = op->c;
	struct name_data *d = op->data;
	if (op_reply_ok(op, op->rc == SOTTO_ERR_NOT_FOUND ? "the account has no name" : NULL)) {
		Sotto__Service__AccountNameResponse ar =
			SOTTO__SERVICE__ACCOUNT_NAME_RESPONSE__INIT;
		ar.name.data = (uint8_t *)d->name;
		ar.name.len = strlen(d->name);
		SEND_BODY(c, op->req_id, ACCOUNT_NAME, account_name, &ar);
	}
	op_finish(op);
}

static void h_account_name(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct name_data));
	if (op == NULL)
		return;
	memcpy(((struct name_data *)op->data)->account, req->account_name->account_id.data,
		SOTTO_STORE_ID_BYTES);
	op_queue(op, account_name_run, account_name_after);
}

static void unlink_after(struct op *op)
{
	struct conn *c = op->c;
	uint32_t dev = op->req->unlink_device->device_id;
	if (op->rc == 0) {
		srv_notify(c->w->srv, c->account, dev, NOTIFY_UNLINKED, 0);
		srv_notify(c->w->srv, c->account, 0, NOTIFY_DEVICES, 0);
	}
	if (op_reply_ok(op, NULL))
		reply_status(c, op->req_id, S_OK, NULL);
	op_finish(op);
}

static void h_unlink(struct conn *c, Sotto__Service__Request *req)
{
	uint32_t dev = req->unlink_device->device_id;
	/* The primary may unlink itself too: that is how an account ends (once
	 * no device is linked its name can be claimed again). */
	if (dev != c->device && c->device != SOTTO_STORE_PRIMARY_DEVICE_ID) {
		reply_status(c, req->id, SOTTO__SERVICE__STATUS__FORBIDDEN,
			"the primary device unlinks others; a device may unlink itself");
		protobuf_c_message_free_unpacked(&req->base, NULL);
		return;
	}
	struct op *op = op_new_or_reply(c, req, 0);
	if (op == NULL)
		return;
	sotto_store_cb cb = op_cb(op, unlink_after);
	int rc = sotto_store_device_remove(c->w->srv->store, c->account, dev,
		(int64_t)srv_now_ms(), &cb);
	if (rc != 0)
		op_write_failed(op, rc);
}

struct devlist_data {
	sotto_store_device devs[MAX_DEVICES];
	size_t count;
	uint8_t account[SOTTO_STORE_ID_BYTES];
	struct sotto__kt_attach *kt; /* key transparency proofs, or NULL */
};

static void devlist_free(void *p)
{
	struct devlist_data *d = p;
	if (d != NULL)
		sotto__kt_attach_free(d->kt);
	free(d);
}

static void devlist_run(struct op *op)
{
	struct devlist_data *d = op->data;
	op->rc = sotto_store_device_list(op->c->w->srv->store, d->account, 0, d->devs, MAX_DEVICES,
		&d->count);
	if (op->rc == 0) {
		uint32_t ids[MAX_DEVICES];
		for (size_t i = 0; i < d->count; i++)
			ids[i] = d->devs[i].device_id;
#ifdef SOTTO_KT_EVIL /* test-only: swap-key */
		sotto__evil_devices(d->account, d->devs, d->count);
#endif
		d->kt = sotto__kt_attach_devices(op->c->w->srv->store, d->account, ids, d->count);
	}
}

static void devlist_after(struct op *op)
{
	struct conn *c = op->c;
	struct devlist_data *d = op->data;
	if (op_reply_ok(op, NULL)) {
		Sotto__Service__DeviceInfo info[MAX_DEVICES];
		Sotto__Service__DeviceInfo *ptrs[MAX_DEVICES];
		for (size_t i = 0; i < d->count; i++) {
			sotto__service__device_info__init(&info[i]);
			info[i].device_id = d->devs[i].device_id;
			info[i].registration_id = d->devs[i].registration_id;
			info[i].identity_key.data = d->devs[i].identity_key;
			info[i].identity_key.len = SOTTO_STORE_EC_KEY_BYTES;
			info[i].name.data = d->devs[i].name;
			info[i].name.len = d->devs[i].name_len;
			info[i].created_ms = d->devs[i].created_ms;
			info[i].last_seen_ms = d->devs[i].last_seen_ms;
			info[i].kt_proof = sotto__kt_attach_proof(d->kt, i);
			ptrs[i] = &info[i];
		}
		Sotto__Service__DeviceListResponse dl =
			SOTTO__SERVICE__DEVICE_LIST_RESPONSE__INIT;
		dl.n_devices = d->count;
		dl.devices = ptrs;
		dl.kt_signed_head = sotto__kt_attach_head(d->kt);
		SEND_BODY(c, op->req_id, DEVICE_LIST, device_list, &dl);
	}
	op_finish(op);
}

static void h_device_list(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct devlist_data));
	if (op == NULL)
		return;
	struct devlist_data *d = op->data;
	op->free_data = devlist_free;
	if (req->device_list->account_id.len != 0)
		memcpy(d->account, req->device_list->account_id.data, SOTTO_STORE_ID_BYTES);
	else
		memcpy(d->account, c->account, SOTTO_STORE_ID_BYTES);
	op_queue(op, devlist_run, devlist_after);
}

/* ---- prekeys ---- */

struct prekey_data {
	sotto_store_ec_prekey *ec;
	sotto_store_kem_prekey *kem;
	sotto_store_signed_prekey spk;
	sotto_store_kem_prekey last;
	sotto_store_prekeys pk;
	sotto_store_prekey_counts counts;
};

static void prekey_free(void *p)
{
	struct prekey_data *d = p;
	if (d != NULL) {
		free(d->ec);
		free(d->kem);
	}
	free(d);
}

static void reply_counts(struct conn *c, uint64_t id, const sotto_store_prekey_counts *k)
{
	Sotto__Service__PrekeyCountResponse pc = SOTTO__SERVICE__PREKEY_COUNT_RESPONSE__INIT;
	pc.ec = k->ec;
	pc.kem = k->kem;
	pc.has_signed = k->has_signed != 0;
	pc.has_last_resort = k->has_last_resort != 0;
	SEND_BODY(c, id, PREKEY_COUNT, prekey_count, &pc);
}

static void count_run(struct op *op)
{
	struct prekey_data *d = op->data;
	op->rc = sotto_store_prekeys_count(op->c->w->srv->store, op->c->account, op->c->device,
		&d->counts);
}

static void count_after(struct op *op)
{
	struct conn *c = op->c;
	struct prekey_data *d = op->data;
	if (op_reply_ok(op, NULL))
		reply_counts(c, op->req_id, &d->counts);
	op_finish(op);
}

static void upload_after(struct op *op)
{
	if (op->rc != 0) {
		if (op->c->state == CONN_OPEN)
			reply_err(op->c, op->req_id, op->rc, NULL);
		op_finish(op);
		return;
	}
	/* Committed: answer with the counts now stored. */
	op_queue(op, count_run, count_after);
}

static void h_upload_prekeys(struct conn *c, Sotto__Service__Request *req)
{
	const Sotto__Service__UploadPrekeysRequest *q = req->upload_prekeys;
	struct op *op = op_new(c, req, sizeof(struct prekey_data));
	if (op == NULL)
		goto nomem;
	op->free_data = prekey_free;
	struct prekey_data *d = op->data;
	if (q->n_ec_prekeys > 0) {
		d->ec = calloc(q->n_ec_prekeys, sizeof(*d->ec));
		if (d->ec == NULL)
			goto nomem_op;
		for (size_t i = 0; i < q->n_ec_prekeys; i++) {
			d->ec[i].id = q->ec_prekeys[i]->id;
			memcpy(d->ec[i].pub, q->ec_prekeys[i]->public_key.data,
				SOTTO_STORE_EC_KEY_BYTES);
		}
	}
	if (q->n_kem_prekeys > 0) {
		d->kem = calloc(q->n_kem_prekeys, sizeof(*d->kem));
		if (d->kem == NULL)
			goto nomem_op;
		for (size_t i = 0; i < q->n_kem_prekeys; i++) {
			d->kem[i].id = q->kem_prekeys[i]->id;
			memcpy(d->kem[i].pub, q->kem_prekeys[i]->public_key.data,
				SOTTO_STORE_KEM_KEY_BYTES);
			memcpy(d->kem[i].sig, q->kem_prekeys[i]->signature.data,
				SOTTO_STORE_SIG_BYTES);
		}
	}
	d->pk.ec = d->ec;
	d->pk.ec_count = q->n_ec_prekeys;
	d->pk.kem = d->kem;
	d->pk.kem_count = q->n_kem_prekeys;
	if (q->signed_prekey != NULL) {
		d->spk.id = q->signed_prekey->id;
		memcpy(d->spk.pub, q->signed_prekey->public_key.data, SOTTO_STORE_EC_KEY_BYTES);
		memcpy(d->spk.sig, q->signed_prekey->signature.data, SOTTO_STORE_SIG_BYTES);
		d->pk.signed_prekey = &d->spk;
	}
	if (q->last_resort_kem != NULL) {
		d->last.id = q->last_resort_kem->id;
		memcpy(d->last.pub, q->last_resort_kem->public_key.data, SOTTO_STORE_KEM_KEY_BYTES);
		memcpy(d->last.sig, q->last_resort_kem->signature.data, SOTTO_STORE_SIG_BYTES);
		d->pk.last_resort = &d->last;
	}
	sotto_store_cb cb = op_cb(op, upload_after);
	int rc = sotto_store_prekeys_upload(c->w->srv->store, c->account, c->device, &d->pk, &cb);
	if (rc != 0)
		op_write_failed(op, rc);
	return;
nomem_op: {
	uint64_t id = req->id;
	op_finish(op);
	reply_err(c, id, SOTTO_ERR_NOMEM, NULL);
}
	return;
nomem:
	reply_err(c, req->id, SOTTO_ERR_NOMEM, NULL);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void h_prekey_count(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct prekey_data));
	if (op == NULL)
		return;
	op->free_data = prekey_free;
	op_queue(op, count_run, count_after);
}

struct bundle_data {
	uint8_t account[SOTTO_STORE_ID_BYTES];
	sotto_store_bundle b[MAX_DEVICES];
	size_t count;
	struct sotto__kt_attach *kt; /* key transparency proofs, or NULL */
};

static void bundle_free(void *p)
{
	struct bundle_data *d = p;
	if (d != NULL)
		sotto__kt_attach_free(d->kt);
	free(d);
}

/* Devices running low on one-time keys hear about it (a PrekeysLow push);
 * the store read the counts left in the fetch's own transaction. */
static void bundle_notify_low(struct op *op)
{
	struct bundle_data *d = op->data;
	uint32_t low = op->c->w->srv->cfg.prekey_low;
	for (size_t i = 0; i < d->count; i++)
		if (d->b[i].ec_left < low || d->b[i].kem_left < low)
			srv_notify_prekeys(op->c->w->srv, d->account, d->b[i].device_id,
				d->b[i].ec_left, d->b[i].kem_left);
}

static void bundles_after(struct op *op)
{
	struct conn *c = op->c;
	struct bundle_data *d = op->data;
	if (op_reply_ok(op, NULL)) {
		Sotto__Service__Bundle *ptrs[MAX_DEVICES];
		Sotto__Service__SignedPrekey spk[MAX_DEVICES];
		Sotto__Service__EcPrekey ec[MAX_DEVICES];
		Sotto__Service__KemPrekey kem[MAX_DEVICES];
		Sotto__Service__Bundle *b = calloc(d->count + 1, sizeof(*b));
		if (b == NULL) {
			reply_err(c, op->req_id, SOTTO_ERR_NOMEM, NULL);
			op_finish(op);
			return;
		}
		for (size_t i = 0; i < d->count; i++) {
			const sotto_store_bundle *s = &d->b[i];
			sotto__service__bundle__init(&b[i]);
			b[i].device_id = s->device_id;
			b[i].registration_id = s->registration_id;
			b[i].identity_key.data = (uint8_t *)s->identity_key;
			b[i].identity_key.len = SOTTO_STORE_EC_KEY_BYTES;
			if (s->has_signed) {
				sotto__service__signed_prekey__init(&spk[i]);
				spk[i].id = s->signed_prekey.id;
				spk[i].public_key.data = (uint8_t *)s->signed_prekey.pub;
				spk[i].public_key.len = SOTTO_STORE_EC_KEY_BYTES;
				spk[i].signature.data = (uint8_t *)s->signed_prekey.sig;
				spk[i].signature.len = SOTTO_STORE_SIG_BYTES;
				b[i].signed_prekey = &spk[i];
			}
			if (s->has_ec) {
				sotto__service__ec_prekey__init(&ec[i]);
				ec[i].id = s->ec.id;
				ec[i].public_key.data = (uint8_t *)s->ec.pub;
				ec[i].public_key.len = SOTTO_STORE_EC_KEY_BYTES;
				b[i].ec_prekey = &ec[i];
			}
			if (s->has_kem) {
				sotto__service__kem_prekey__init(&kem[i]);
				kem[i].id = s->kem.id;
				kem[i].public_key.data = (uint8_t *)s->kem.pub;
				kem[i].public_key.len = SOTTO_STORE_KEM_KEY_BYTES;
				kem[i].signature.data = (uint8_t *)s->kem.sig;
				kem[i].signature.len = SOTTO_STORE_SIG_BYTES;
				b[i].kem_prekey = &kem[i];
				b[i].kem_is_last_resort = s->kem_is_last_resort != 0;
			}
			b[i].kt_proof = sotto__kt_attach_proof(d->kt, i);
			ptrs[i] = &b[i];
		}
		Sotto__Service__FetchBundlesResponse fb =
			SOTTO__SERVICE__FETCH_BUNDLES_RESPONSE__INIT;
		fb.n_bundles = d->count;
		fb.bundles = ptrs;
		fb.kt_signed_head = sotto__kt_attach_head(d->kt);
		SEND_BODY(c, op->req_id, FETCH_BUNDLES, fetch_bundles, &fb);
		free(b);
	}
	if (op->rc == 0)
		bundle_notify_low(op);
	op_finish(op);
}

/* Key transparency proofs for the fetched devices: a read, so in the pool. */
static void bundles_kt_run(struct op *op)
{
	struct bundle_data *d = op->data;
	uint32_t ids[MAX_DEVICES];
	for (size_t i = 0; i < d->count; i++)
		ids[i] = d->b[i].device_id;
#ifdef SOTTO_KT_EVIL /* test-only: swap-key */
	sotto__evil_bundles(d->account, d->b, d->count);
#endif
	d->kt = sotto__kt_attach_devices(op->c->w->srv->store, d->account, ids, d->count);
}

static void bundles_kt(struct op *op)
{
	if (op->rc != 0)
		bundles_after(op);
	else
		op_queue(op, bundles_kt_run, bundles_after);
}

static void h_fetch_bundles(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct bundle_data));
	if (op == NULL)
		return;
	struct bundle_data *d = op->data;
	memcpy(d->account, req->fetch_bundles->account_id.data, SOTTO_STORE_ID_BYTES);
	op->free_data = bundle_free;
	sotto_store_cb cb = op_cb(op, bundles_kt);
	int rc = sotto_store_bundles_fetch(c->w->srv->store, d->account,
		req->fetch_bundles->device_id, d->b, MAX_DEVICES, &d->count, &cb);
	if (rc != 0)
		op_write_failed(op, rc);
}

/* ---- sending ---- */

struct mismatch {
	uint8_t account[SOTTO_STORE_ID_BYTES];
	uint32_t missing[MAX_DEVICES], extra[MAX_DEVICES], stale[MAX_DEVICES];
	size_t n_missing, n_extra, n_stale;
};

struct send_data {
	/* per destination account */
	size_t n_accounts;
	struct mismatch *mm; /* n_accounts entries */
	size_t n_mm;         /* accounts with a mismatch */
	uint8_t **parts;     /* send_multi: the received form per account */
	size_t *part_len;
	/* the envelopes to store */
	sotto_store_envelope_in *envs;
	uint64_t *seqs;
	size_t n_envs;
	int64_t now; /* server_ms of the stored envelopes */
	const char *why;
};

static void send_free(void *p)
{
	struct send_data *d = p;
	if (d == NULL)
		return;
	if (d->parts != NULL)
		for (size_t i = 0; i < d->n_accounts; i++)
			free(d->parts[i]);
	free(d->parts);
	free(d->part_len);
	free(d->mm);
	free(d->envs);
	free(d->seqs);
	free(d);
}

/* Compares the devices a sender addressed (dev/reg, n) with the linked ones.
 * The sending device itself is never expected (its own account's other
 * devices get the message, it does not). Returns 1 on a mismatch. */
static int compare_devices(struct mismatch *m, const sotto_store_device_reg *linked, size_t n_linked,
	const uint32_t *dev, const uint32_t *reg, size_t n, const uint8_t *self_account,
	uint32_t self_device)
{
	int self = memcmp(m->account, self_account, SOTTO_STORE_ID_BYTES) == 0;
	for (size_t i = 0; i < n_linked; i++) {
		if (self && linked[i].device_id == self_device)
			continue;
		size_t j;
		for (j = 0; j < n; j++)
			if (dev[j] == linked[i].device_id)
				break;
		if (j == n)
			m->missing[m->n_missing++] = linked[i].device_id;
		else if (reg[j] != 0 && reg[j] != linked[i].registration_id)
			m->stale[m->n_stale++] = linked[i].device_id;
	}
	for (size_t j = 0; j < n; j++) {
		size_t i;
		for (i = 0; i < n_linked; i++)
			if (linked[i].device_id == dev[j])
				break;
		if (i == n_linked || (self && dev[j] == self_device))
			m->extra[m->n_extra++] = dev[j];
	}
	return m->n_missing + m->n_extra + m->n_stale > 0;
}

static void send_run(struct op *op)
{
	struct send_data *d = op->data;
	struct conn *c = op->c;
	const Sotto__Service__SendRequest *q = op->req->send;
	sotto_store_device_reg linked[MAX_DEVICES];
	size_t n_linked;
	uint32_t dev[MAX_DEVICES], reg[MAX_DEVICES];
	memcpy(d->mm[0].account, q->destination.data, SOTTO_STORE_ID_BYTES);
	op->rc = sotto_store_device_regs(c->w->srv->store, d->mm[0].account, linked, MAX_DEVICES,
		&n_linked);
	if (op->rc == 0) {
		for (size_t i = 0; i < q->n_envelopes; i++) {
			dev[i] = q->envelopes[i]->device_id;
			reg[i] = q->envelopes[i]->registration_id;
		}
		if (compare_devices(&d->mm[0], linked, n_linked, dev, reg, q->n_envelopes,
			c->account, c->device))
			d->n_mm = 1;
	}
}

static void send_stored(struct op *op);

/* Shared tail of send and send_multi: mismatch answer or enqueue. */
static void send_checked(struct op *op)
{
	struct conn *c = op->c;
	struct send_data *d = op->data;
	if (op->rc != 0 || d->n_mm > 0) {
		if (c->state != CONN_OPEN) {
			op_finish(op);
			return;
		}
		if (op->rc != 0) {
			reply_err(c, op->req_id, op->rc,
				op->rc == SOTTO_ERR_NOT_FOUND ? "no such account" : d->why);
			op_finish(op);
			return;
		}
		Sotto__Service__DeviceMismatch *mm = calloc(d->n_accounts, sizeof(*mm));
		Sotto__Service__DeviceMismatch **ptrs = calloc(d->n_accounts, sizeof(*ptrs));
		if (mm == NULL || ptrs == NULL) {
			free(mm);
			free(ptrs);
			reply_err(c, op->req_id, SOTTO_ERR_NOMEM, NULL);
			op_finish(op);
			return;
		}
		size_t k = 0;
		for (size_t i = 0; i < d->n_accounts; i++) {
			struct mismatch *m = &d->mm[i];
			if (m->n_missing + m->n_extra + m->n_stale == 0)
				continue;
			sotto__service__device_mismatch__init(&mm[k]);
			mm[k].account_id.data = m->account;
			mm[k].account_id.len = SOTTO_STORE_ID_BYTES;
			mm[k].missing = m->missing;
			mm[k].n_missing = m->n_missing;
			mm[k].extra = m->extra;
			mm[k].n_extra = m->n_extra;
			mm[k].stale = m->stale;
			mm[k].n_stale = m->n_stale;
			ptrs[k] = &mm[k];
			k++;
		}
		Sotto__Service__SendResponse sr = SOTTO__SERVICE__SEND_RESPONSE__INIT;
		sr.mismatches = ptrs;
		sr.n_mismatches = k;
		Response r = SOTTO__SERVICE__RESPONSE__INIT;
		r.id = op->req_id;
		r.status = SOTTO__SERVICE__STATUS__MISMATCHED_DEVICES;
		r.error = (char *)"the device list changed";
		r.body_case = SOTTO__SERVICE__RESPONSE__BODY_SEND;
		r.send = &sr;
		send_response(c, &r);
		free(mm);
		free(ptrs);
		op_finish(op);
		return;
	}
	d->seqs = calloc(d->n_envs, sizeof(*d->seqs));
	if (d->seqs == NULL) {
		op_write_failed(op, SOTTO_ERR_NOMEM);
		return;
	}
	sotto_store_cb cb = op_cb(op, send_stored);
	d->now = (int64_t)srv_now_ms();
	int rc = sotto_store_enqueue(c->w->srv->store, d->envs, d->n_envs, d->now, d->seqs, &cb);
	if (rc != 0)
		op_write_failed(op, rc);
}

static void send_stored(struct op *op)
{
	struct conn *c = op->c;
	struct send_data *d = op->data;
	if (op->rc == 0 && d->seqs != NULL) {
		/* Committed: wake every recipient device that is online, with
		 * the envelope (a caught-up connection pushes it at once). */
		for (size_t i = 0; i < d->n_envs; i++)
			srv_notify_envelope(c->w->srv, &d->envs[i], d->seqs[i], d->now);
	}
	if (op_reply_ok(op, op->rc == SOTTO_ERR_QUEUE_FULL ? "a recipient's queue is full" :
		op->rc == SOTTO_ERR_NOT_FOUND ? "a device was unlinked; retry" : NULL)) {
		Sotto__Service__SendResponse sr = SOTTO__SERVICE__SEND_RESPONSE__INIT;
		sr.stored = (uint32_t)d->n_envs;
		SEND_BODY(c, op->req_id, SEND, send, &sr);
	}
	op_finish(op);
}

static void h_send(struct conn *c, Sotto__Service__Request *req)
{
	const Sotto__Service__SendRequest *q = req->send;
	uint64_t id = req->id;
	struct op *op = op_new(c, req, sizeof(struct send_data));
	if (op == NULL)
		goto nomem;
	op->free_data = send_free;
	struct send_data *d = op->data;
	d->n_accounts = 1;
	d->mm = calloc(1, sizeof(*d->mm));
	d->envs = calloc(q->n_envelopes, sizeof(*d->envs));
	if (d->mm == NULL || d->envs == NULL) {
		op_finish(op);
		goto nomem_req_freed;
	}
	for (size_t i = 0; i < q->n_envelopes; i++) {
		sotto_store_envelope_in *e = &d->envs[i];
		memcpy(e->dest_account, q->destination.data, SOTTO_STORE_ID_BYTES);
		e->dest_device = q->envelopes[i]->device_id;
		e->sealed = q->sealed;
		if (!q->sealed) {
			memcpy(e->sender_account, c->account, SOTTO_STORE_ID_BYTES);
			e->sender_device = c->device;
		}
		/* Sealed: the sender is not copied at all (not even into the
		 * in-memory push), so neither the store nor the recipient's
		 * connection ever sees it from the server. */
		e->type = q->envelopes[i]->type;
		e->content = q->envelopes[i]->content.data;
		e->content_len = q->envelopes[i]->content.len;
	}
	d->n_envs = q->n_envelopes;
	op_queue(op, send_run, send_checked);
	return;
nomem:
	protobuf_c_message_free_unpacked(&req->base, NULL);
nomem_req_freed:
	reply_err(c, id, SOTTO_ERR_NOMEM, NULL);
}

static void multi_run(struct op *op)
{
	struct send_data *d = op->data;
	struct conn *c = op->c;
	const Sotto__Service__SendMultiRequest *q = op->req->send_multi;
	sotto_store_device_reg linked[MAX_DEVICES];
	uint8_t devices[MAX_DEVICES];
	uint16_t regs[MAX_DEVICES];
	uint32_t dev[MAX_DEVICES], reg[MAX_DEVICES];
	size_t total = 0;
	for (size_t i = 0; i < q->n_recipients && op->rc == 0; i++) {
		struct mismatch *m = &d->mm[i];
		uint8_t sid[SOTTO_SERVICE_ID_FIXED_BYTES];
		size_t n_dev = 0, n_linked = 0;
		memcpy(m->account, q->recipients[i].data, SOTTO_STORE_ID_BYTES);
		for (size_t j = 0; j < i; j++) {
			if (memcmp(d->mm[j].account, m->account, SOTTO_STORE_ID_BYTES) == 0) {
				op->rc = SOTTO_ERR_INVALID_ARGUMENT;
				d->why = "a recipient is listed twice";
			}
		}
		if (op->rc != 0)
			break;
		sid[0] = 0x00; /* ACI */
		memcpy(sid + 1, m->account, SOTTO_STORE_ID_BYTES);
		d->parts[i] = malloc(q->message.len);
		if (d->parts[i] == NULL) {
			op->rc = SOTTO_ERR_NOMEM;
			break;
		}
		op->rc = sotto_sealed_v2_split(q->message.data, q->message.len, sid, d->parts[i],
			q->message.len, &d->part_len[i], devices, regs, MAX_DEVICES, &n_dev);
		if (op->rc != 0) {
			d->why = op->rc == SOTTO_ERR_NOT_FOUND ?
				"a listed recipient is not in the message" :
				"malformed multi-recipient message";
			if (op->rc == SOTTO_ERR_NOT_FOUND || op->rc == SOTTO_ERR_BUFFER_TOO_SMALL)
				op->rc = SOTTO_ERR_INVALID_MESSAGE;
			break;
		}
		op->rc = sotto_store_device_regs(c->w->srv->store, m->account, linked,
			MAX_DEVICES, &n_linked);
		if (op->rc != 0)
			break;
		for (size_t j = 0; j < n_dev; j++) {
			dev[j] = devices[j];
			reg[j] = regs[j];
		}
		/* A duplicated device entry in the message counts as extra. */
		if (compare_devices(m, linked, n_linked, dev, reg, n_dev, c->account, c->device))
			d->n_mm++;
		total += n_dev;
		/* Remember the devices for the envelopes (stored in envs below). */
		sotto_store_envelope_in *ne = realloc(d->envs, total * sizeof(*ne));
		if (ne == NULL) {
			op->rc = SOTTO_ERR_NOMEM;
			break;
		}
		d->envs = ne;
		for (size_t j = 0; j < n_dev; j++) {
			sotto_store_envelope_in *e = &d->envs[d->n_envs++];
			memset(e, 0, sizeof(*e));
			memcpy(e->dest_account, m->account, SOTTO_STORE_ID_BYTES);
			e->dest_device = dev[j];
			e->sealed = 1;
			e->type = SOTTO_WIRE_TYPE_SEALED_SENDER;
			e->content = d->parts[i];
			e->content_len = d->part_len[i];
		}
	}
}

static void h_send_multi(struct conn *c, Sotto__Service__Request *req)
{
	size_t n = req->send_multi->n_recipients;
	struct op *op = op_new_or_reply(c, req, sizeof(struct send_data));
	if (op == NULL)
		return;
	op->free_data = send_free;
	struct send_data *d = op->data;
	d->n_accounts = n;
	d->mm = calloc(n, sizeof(*d->mm));
	d->parts = calloc(n, sizeof(*d->parts));
	d->part_len = calloc(n, sizeof(*d->part_len));
	if (d->mm == NULL || d->parts == NULL || d->part_len == NULL) {
		uint64_t id = req->id;
		op_finish(op);
		reply_err(c, id, SOTTO_ERR_NOMEM, NULL);
		return;
	}
	op_queue(op, multi_run, send_checked);
}

/* ---- sealed sender certificates ---- */

struct cert_data {
	uint8_t cert[SOTTO__SEALED_CERT_MAX];
	size_t cert_len;
	uint64_t expires;
};

static void cert_run(struct op *op)
{
	struct cert_data *d = op->data;
	struct conn *c = op->c;
	sotto_store_device devs[MAX_DEVICES];
	size_t n = 0;
	op->rc = sotto_store_device_list(c->w->srv->store, c->account, 0, devs, MAX_DEVICES, &n);
	if (op->rc != 0)
		return;
	size_t i;
	for (i = 0; i < n; i++)
		if (devs[i].device_id == c->device)
			break;
	if (i == n) {
		op->rc = SOTTO_ERR_NOT_FOUND; /* unlinked since it authenticated */
		return;
	}
	/* The identity key the store holds for this device right now: the
	 * certificate vouches for exactly what key transparency logs. */
	d->expires = srv_now_ms() + SOTTO__SEALED_CERT_LIFETIME_MS;
	op->rc = sotto__sealed_issue(&c->w->srv->sealed, c->account, c->device,
		devs[i].identity_key, d->expires, d->cert, sizeof d->cert, &d->cert_len);
}

static void cert_after(struct op *op)
{
	struct conn *c = op->c;
	struct cert_data *d = op->data;
	if (op_reply_ok(op, NULL)) {
		Sotto__Service__SenderCertificateResponse sc =
			SOTTO__SERVICE__SENDER_CERTIFICATE_RESPONSE__INIT;
		sc.certificate.data = d->cert;
		sc.certificate.len = d->cert_len;
		sc.trust_root.data = c->w->srv->sealed.root_pub;
		sc.trust_root.len = sizeof c->w->srv->sealed.root_pub;
		sc.expires_ms = (int64_t)d->expires;
		SEND_BODY(c, op->req_id, SENDER_CERTIFICATE, sender_certificate, &sc);
	}
	op_finish(op);
}

static void h_sender_cert(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct cert_data));
	if (op == NULL)
		return;
	op_queue(op, cert_run, cert_after);
}

/* ---- receive and acknowledge ---- */

static void receive_run(struct op *op)
{
	struct fetch_data *d = op->data;
	struct conn *c = op->c;
	uint32_t max = op->req->receive->max;
	if (max == 0 || max > FETCH_PAGE)
		max = FETCH_PAGE;
	op->rc = sotto_store_queue_fetch(c->w->srv->store, c->account, c->device, d->from, d->env,
		max, d->buf, d->bufcap, &d->count, &d->more);
}

static void receive_after(struct op *op)
{
	struct conn *c = op->c;
	struct fetch_data *d = op->data;
	if (op_reply_ok(op, NULL)) {
		Sotto__Service__Envelope e[FETCH_PAGE];
		Sotto__Service__Envelope *ptrs[FETCH_PAGE];
		for (size_t i = 0; i < d->count; i++) {
			sotto__service__envelope__init(&e[i]);
			fill_envelope(&e[i], &d->env[i]);
			ptrs[i] = &e[i];
		}
		Sotto__Service__ReceiveResponse rr = SOTTO__SERVICE__RECEIVE_RESPONSE__INIT;
		rr.envelopes = ptrs;
		rr.n_envelopes = d->count;
		rr.more = d->more != 0;
		SEND_BODY(c, op->req_id, RECEIVE, receive, &rr);
	}
	op_finish(op);
}

static void h_receive(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct fetch_data));
	if (op == NULL)
		return;
	op->free_data = fetch_free;
	struct fetch_data *d = op->data;
	d->from = req->receive->from_seq;
	/* The page must fit in one response message. */
	d->bufcap = c->w->srv->cfg.max_message - 8192;
	d->buf = malloc(d->bufcap);
	if (d->buf == NULL) {
		uint64_t id = req->id;
		op_finish(op);
		reply_err(c, id, SOTTO_ERR_NOMEM, NULL);
		return;
	}
	op_queue(op, receive_run, receive_after);
}

struct ack_data {
	size_t deleted;
};

static void ack_after(struct op *op)
{
	struct conn *c = op->c;
	struct ack_data *d = op->data;
	if (op_reply_ok(op, NULL)) {
		Sotto__Service__AckResponse ar = SOTTO__SERVICE__ACK_RESPONSE__INIT;
		ar.deleted = (uint32_t)d->deleted;
		SEND_BODY(c, op->req_id, ACK, ack, &ar);
	}
	op_finish(op);
}

static void h_ack(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct ack_data));
	if (op == NULL)
		return;
	struct ack_data *d = op->data;
	sotto_store_cb cb = op_cb(op, ack_after);
	int rc = sotto_store_queue_ack(c->w->srv->store, c->account, c->device, req->ack->seqs,
		req->ack->n_seqs, &d->deleted, &cb);
	if (rc != 0)
		op_write_failed(op, rc);
}

/* ---- attachments ---- */

struct attach_data {
	uint8_t id[SOTTO_STORE_ID_BYTES];
	sotto_store_attachment meta;
	uint64_t received;
	int complete;
	uint8_t *buf;
	size_t len;
	const char *why;
};

static void attach_free(void *p)
{
	struct attach_data *d = p;
	if (d != NULL)
		free(d->buf);
	free(d);
}

static void create_after(struct op *op)
{
	struct conn *c = op->c;
	struct attach_data *d = op->data;
	if (op_reply_ok(op, NULL)) {
		Sotto__Service__AttachmentCreateResponse ar =
			SOTTO__SERVICE__ATTACHMENT_CREATE_RESPONSE__INIT;
		ar.attachment_id.data = d->id;
		ar.attachment_id.len = SOTTO_STORE_ID_BYTES;
		ar.max_chunk = SOTTO_WIRE_MAX_CHUNK;
		SEND_BODY(c, op->req_id, ATTACHMENT_CREATE, attachment_create, &ar);
	}
	op_finish(op);
}

static void h_attach_create(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct attach_data));
	if (op == NULL)
		return;
	op->free_data = attach_free;
	struct attach_data *d = op->data;
	sotto_store_cb cb = op_cb(op, create_after);
	int rc = sotto_store_attachment_create(c->w->srv->store, req->attachment_create->size,
		req->attachment_create->digest.data, (int64_t)srv_now_ms(), d->id, &cb);
	if (rc != 0)
		op_write_failed(op, rc);
}

/* Verifies the finished blob against its digest before it counts as
 * uploaded: the server cannot read it, but it can refuse a corrupt one. */
static int blob_digest_ok(int fd, const uint8_t digest[SOTTO_STORE_DIGEST_BYTES], uint64_t size)
{
	uint8_t out[SOTTO_SHA256_BYTES];
	void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return 0;
	int ok = sotto_sha256(out, m, (size_t)size) == 0 &&
		sotto_memeq(out, digest, SOTTO_SHA256_BYTES);
	munmap(m, (size_t)size);
	return ok;
}

static void upload_run(struct op *op)
{
	struct attach_data *d = op->data;
	struct sotto_server *s = op->c->w->srv;
	const Sotto__Service__AttachmentUploadRequest *q = op->req->attachment_upload;
	char path[1200], part[1210];
	op->rc = sotto_store_attachment_get(s->store, d->id, &d->meta);
	if (op->rc != 0)
		return;
	if (d->meta.complete) {
		op->rc = SOTTO_ERR_EXISTS;
		d->why = "attachment already complete";
		return;
	}
	op->rc = sotto_store_attachment_path(s->store, d->id, path, sizeof(path));
	if (op->rc != 0)
		return;
	snprintf(part, sizeof(part), "%s.part", path);
	pthread_mutex_lock(&s->attach_lock);
	int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		op->rc = SOTTO_ERR_STORAGE;
		goto out;
	}
	if ((uint64_t)st.st_size != q->offset) {
		op->rc = SOTTO_ERR_INVALID_ARGUMENT;
		d->why = "offset must equal the bytes received so far";
		d->received = (uint64_t)st.st_size;
		goto out;
	}
	if (q->offset + q->data.len > d->meta.size) {
		op->rc = SOTTO_ERR_INVALID_ARGUMENT;
		d->why = "chunk goes past the announced size";
		goto out;
	}
	if (pwrite(fd, q->data.data, q->data.len, (off_t)q->offset) != (ssize_t)q->data.len) {
		op->rc = SOTTO_ERR_STORAGE;
		goto out;
	}
	d->received = q->offset + q->data.len;
	if (d->received == d->meta.size) {
		if (!blob_digest_ok(fd, d->meta.digest, d->meta.size)) {
			/* Start over: the client's bytes do not match its digest. */
			(void)ftruncate(fd, 0);
			op->rc = SOTTO_ERR_INVALID_ARGUMENT;
			d->why = "the blob does not match its digest; upload it again";
			d->received = 0;
			goto out;
		}
		if (fsync(fd) != 0 || rename(part, path) != 0) {
			op->rc = SOTTO_ERR_STORAGE;
			goto out;
		}
		d->complete = 1;
	}
out:
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&s->attach_lock);
}

static void upload_reply(struct op *op)
{
	struct conn *c = op->c;
	struct attach_data *d = op->data;
	if (op_reply_ok(op, d->why)) {
		Sotto__Service__AttachmentUploadResponse ur =
			SOTTO__SERVICE__ATTACHMENT_UPLOAD_RESPONSE__INIT;
		ur.received = d->received;
		ur.complete = d->complete != 0;
		SEND_BODY(c, op->req_id, ATTACHMENT_UPLOAD, attachment_upload, &ur);
	}
	op_finish(op);
}

static void upload_written(struct op *op)
{
	struct attach_data *d = op->data;
	if (op->rc != 0 || !d->complete) {
		upload_reply(op);
		return;
	}
	sotto_store_cb cb = op_cb(op, upload_reply);
	int rc = sotto_store_attachment_complete(op->c->w->srv->store, d->id, &cb);
	if (rc != 0)
		op_write_failed(op, rc);
}

static void h_attach_upload(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct attach_data));
	if (op == NULL)
		return;
	op->free_data = attach_free;
	struct attach_data *d = op->data;
	memcpy(d->id, req->attachment_upload->attachment_id.data, SOTTO_STORE_ID_BYTES);
	op_queue(op, upload_run, upload_written);
}

static void download_run(struct op *op)
{
	struct attach_data *d = op->data;
	struct sotto_server *s = op->c->w->srv;
	const Sotto__Service__AttachmentDownloadRequest *q = op->req->attachment_download;
	char path[1200];
	op->rc = sotto_store_attachment_get(s->store, d->id, &d->meta);
	if (op->rc != 0)
		return;
	if (!d->meta.complete) {
		op->rc = SOTTO_ERR_NOT_FOUND;
		d->why = "attachment not uploaded yet";
		return;
	}
	if (q->offset > d->meta.size) {
		op->rc = SOTTO_ERR_INVALID_ARGUMENT;
		d->why = "offset past the end";
		return;
	}
	uint64_t len = q->length != 0 ? q->length : SOTTO_WIRE_MAX_CHUNK;
	if (len > d->meta.size - q->offset)
		len = d->meta.size - q->offset;
	op->rc = sotto_store_attachment_path(s->store, d->id, path, sizeof(path));
	if (op->rc != 0)
		return;
	d->buf = malloc(len + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d->buf == NULL || fd < 0 ||
		pread(fd, d->buf, (size_t)len, (off_t)q->offset) != (ssize_t)len)
		op->rc = d->buf == NULL ? SOTTO_ERR_NOMEM : SOTTO_ERR_STORAGE;
	d->len = (size_t)len;
	if (fd >= 0)
		close(fd);
}

static void download_after(struct op *op)
{
	struct conn *c = op->c;
	struct attach_data *d = op->data;
	if (op_reply_ok(op, d->why)) {
		Sotto__Service__AttachmentDownloadResponse dr =
			SOTTO__SERVICE__ATTACHMENT_DOWNLOAD_RESPONSE__INIT;
		dr.size = d->meta.size;
		dr.digest.data = d->meta.digest;
		dr.digest.len = SOTTO_STORE_DIGEST_BYTES;
		dr.data.data = d->buf;
		dr.data.len = d->len;
		SEND_BODY(c, op->req_id, ATTACHMENT_DOWNLOAD, attachment_download, &dr);
	}
	op_finish(op);
}

static void h_attach_download(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = op_new_or_reply(c, req, sizeof(struct attach_data));
	if (op == NULL)
		return;
	op->free_data = attach_free;
	struct attach_data *d = op->data;
	memcpy(d->id, req->attachment_download->attachment_id.data, SOTTO_STORE_ID_BYTES);
	op_queue(op, download_run, download_after);
}

/* ---- helpers for kt_handler.c ---- */

struct op *sotto__h_op_new(struct conn *c, Sotto__Service__Request *req, size_t datasize)
{
	return op_new(c, req, datasize);
}

void sotto__h_op_queue(struct op *op, op_fn run, op_fn after)
{
	op_queue(op, run, after);
}

void sotto__h_op_finish(struct op *op)
{
	op_finish(op);
}

void sotto__h_send_response(struct conn *c, Response *r)
{
	send_response(c, r);
}

void sotto__h_reply_err(struct conn *c, uint64_t id, int rc, const char *why)
{
	reply_err(c, id, rc, why);
}

/* ---- dispatch ---- */

typedef void (*handler_fn)(struct conn *c, Sotto__Service__Request *req);

static const struct {
	Sotto__Service__Request__BodyCase body;
	handler_fn fn;
	int needs_auth;
} HANDLERS[] = {
	{SOTTO__SERVICE__REQUEST__BODY_PING, h_ping, 0},
	{SOTTO__SERVICE__REQUEST__BODY_REGISTER_ACCOUNT, h_register, 0},
	{SOTTO__SERVICE__REQUEST__BODY_AUTHENTICATE, h_authenticate, 0},
	{SOTTO__SERVICE__REQUEST__BODY_LINK_DEVICE, h_link, 1},
	{SOTTO__SERVICE__REQUEST__BODY_UNLINK_DEVICE, h_unlink, 1},
	{SOTTO__SERVICE__REQUEST__BODY_DEVICE_LIST, h_device_list, 1},
	{SOTTO__SERVICE__REQUEST__BODY_UPLOAD_PREKEYS, h_upload_prekeys, 1},
	{SOTTO__SERVICE__REQUEST__BODY_PREKEY_COUNT, h_prekey_count, 1},
	{SOTTO__SERVICE__REQUEST__BODY_FETCH_BUNDLES, h_fetch_bundles, 1},
	{SOTTO__SERVICE__REQUEST__BODY_SEND, h_send, 1},
	{SOTTO__SERVICE__REQUEST__BODY_SEND_MULTI, h_send_multi, 1},
	{SOTTO__SERVICE__REQUEST__BODY_RECEIVE, h_receive, 1},
	{SOTTO__SERVICE__REQUEST__BODY_ACK, h_ack, 1},
	{SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_CREATE, h_attach_create, 1},
	{SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_UPLOAD, h_attach_upload, 1},
	{SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_DOWNLOAD, h_attach_download, 1},
	{SOTTO__SERVICE__REQUEST__BODY_LOOKUP_NAME, h_lookup_name, 1},
	{SOTTO__SERVICE__REQUEST__BODY_ACCOUNT_NAME, h_account_name, 1},
	{SOTTO__SERVICE__REQUEST__BODY_SENDER_CERTIFICATE, h_sender_cert, 1},
	{SOTTO__SERVICE__REQUEST__BODY_KT_HEAD, sotto__kt_h_head, 0},
	{SOTTO__SERVICE__REQUEST__BODY_KT_INCLUSION, sotto__kt_h_inclusion, 1},
	{SOTTO__SERVICE__REQUEST__BODY_KT_CONSISTENCY, sotto__kt_h_consistency, 0},
	{SOTTO__SERVICE__REQUEST__BODY_KT_LEAVES, sotto__kt_h_leaves, 0},
};

void handle_request(struct conn *c, const uint8_t *msg, size_t len)
{
	struct sotto_server *s = c->w->srv;
#ifdef SOTTO_KT_EVIL /* test-only: re-read the knob file, apply new actions */
	sotto__evil_refresh(s);
#endif
	uint64_t now = srv_now_ms();
	Sotto__Service__Request *req = sotto__wire_request_decode(msg, len);
	if (req == NULL) {
		/* Not a Request at all: the client is broken or hostile, and its
		 * stream position is still sound, so answer and go on. */
		reply_status(c, 0, SOTTO__SERVICE__STATUS__BAD_REQUEST, "malformed request");
		return;
	}
	uint32_t wait = 0;
	if (c->addr_key_len > 0)
		wait = sotto_rl_take(&s->rl_addr, c->addr_key, c->addr_key_len, now);
	if (wait == 0 && c->authed) {
		uint8_t key[SOTTO_STORE_ID_BYTES + 1];
		memcpy(key, c->account, SOTTO_STORE_ID_BYTES);
		key[SOTTO_STORE_ID_BYTES] = (uint8_t)c->device;
		wait = sotto_rl_take(&s->rl_dev, key, sizeof(key), now);
	}
	if (wait != 0) {
		Response r = SOTTO__SERVICE__RESPONSE__INIT;
		r.id = req->id;
		r.status = SOTTO__SERVICE__STATUS__RATE_LIMITED;
		r.error = (char *)"too many requests";
		r.retry_after_ms = wait;
		send_response(c, &r);
		protobuf_c_message_free_unpacked(&req->base, NULL);
		return;
	}
	sotto_wire_limits lim = {s->cfg.max_envelope, s->cfg.max_attachment};
	const char *why;
	Sotto__Service__Status st = sotto__wire_request_check(req, &lim, &why);
	if (st != S_OK) {
		reply_status(c, req->id, st, why);
		protobuf_c_message_free_unpacked(&req->base, NULL);
		return;
	}
	for (size_t i = 0; i < sizeof(HANDLERS) / sizeof(HANDLERS[0]); i++) {
		if (HANDLERS[i].body != req->body_case)
			continue;
		if (HANDLERS[i].needs_auth && !c->authed) {
			reply_status(c, req->id, SOTTO__SERVICE__STATUS__UNAUTHENTICATED,
				"authenticate first");
			protobuf_c_message_free_unpacked(&req->base, NULL);
			return;
		}
		if (c->w->stopping) {
			reply_status(c, req->id, SOTTO__SERVICE__STATUS__UNAVAILABLE,
				"shutting down");
			protobuf_c_message_free_unpacked(&req->base, NULL);
			return;
		}
		HANDLERS[i].fn(c, req);
		conn_pause_check(c);
		return;
	}
	reply_status(c, req->id, SOTTO__SERVICE__STATUS__BAD_REQUEST, "unknown request");
	protobuf_c_message_free_unpacked(&req->base, NULL);
}
