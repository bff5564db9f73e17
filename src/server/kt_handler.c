/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Key transparency requests: every read runs in libuv's pool; a request for
 * "the latest" tree first reads the signed head and then proves against its
 * explicit size, so the answer is consistent even if a commit lands between
 * the two reads (nodes of a tree size never change once written). */
#include <stdlib.h>
#include <string.h>

#include "server/kt_handler.h"
#include "sotto/error.h"

/* protobuf-c's INIT macros cast away const (as in handler.c). */
#pragma GCC diagnostic ignored "-Wcast-qual"

typedef Sotto__Service__Response Response;

void sotto_server_kt_key(const sotto_server *s, uint8_t pub[32])
{
	memcpy(pub, s->kt_pub, 32);
}

/* ---- protobuf proof ---- */

struct pb_proof {
	Sotto__Service__KtProof pb;
	ProtobufCBinaryData hashes[SOTTO_KT_MAX_PROOF_HASHES];
	ProtobufCBinaryData *ptr; /* == hashes */
};

static void pb_proof_fill(struct pb_proof *o, sotto_store_kt_proof *p)
{
	sotto__service__kt_proof__init(&o->pb);
	o->pb.leaf_index = p->index;
	o->pb.tree_size = p->size;
	if (p->index != UINT64_MAX) {
		o->pb.leaf.data = p->leaf;
		o->pb.leaf.len = SOTTO_KT_LEAF_BYTES;
	}
	for (size_t i = 0; i < p->count; i++) {
		o->hashes[i].data = p->proof + 32 * i;
		o->hashes[i].len = 32;
	}
	o->pb.n_hashes = p->count;
	o->pb.hashes = o->hashes;
}

/* ---- attachments to bundles and device lists ---- */

struct sotto__kt_attach {
	sotto_kt_signed_head head;
	uint8_t enc[SOTTO_KT_SIGNED_HEAD_BYTES];
	size_t n;
	sotto_store_kt_proof *p;
	struct pb_proof *pb;
};

struct sotto__kt_attach *sotto__kt_attach_devices(sotto_store *st, const uint8_t account[16],
	const uint32_t *device_ids, size_t n)
{
	struct sotto__kt_attach *a = calloc(1, sizeof *a);

	if (a == NULL)
		return NULL;
	a->n = n;
	a->p = calloc(n + 1, sizeof *a->p);
	a->pb = calloc(n + 1, sizeof *a->pb);
	if (a->p == NULL || a->pb == NULL ||
		sotto_store_kt_device_proofs(st, account, device_ids, n, 0, &a->head, a->p) != 0) {
		sotto__kt_attach_free(a);
		return NULL;
	}
	sotto_kt_signed_head_encode(a->enc, &a->head);
	for (size_t i = 0; i < n; i++)
		pb_proof_fill(&a->pb[i], &a->p[i]);
	return a;
}

Sotto__Service__KtProof *sotto__kt_attach_proof(struct sotto__kt_attach *a, size_t i)
{
	return a != NULL && i < a->n ? &a->pb[i].pb : NULL;
}

ProtobufCBinaryData sotto__kt_attach_head(struct sotto__kt_attach *a)
{
	ProtobufCBinaryData b = { 0, NULL };

	if (a != NULL) {
		b.data = a->enc;
		b.len = sizeof a->enc;
	}
	return b;
}

void sotto__kt_attach_free(struct sotto__kt_attach *a)
{
	if (a == NULL)
		return;
	free(a->p);
	free(a->pb);
	free(a);
}

/* ---- requests ---- */

struct kt_data {
	sotto_kt_signed_head head;
	uint8_t enc[SOTTO_KT_SIGNED_HEAD_BYTES];
	int want_head; /* the request asked for "latest": return the head */
	uint8_t account[16];
	uint32_t device;
	uint64_t index, size, from;
	sotto_store_kt_proof p;
	uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32];
	size_t count;
	uint8_t *leaves;
	size_t n_leaves;
	uint32_t max;
};

static void kt_free(void *p)
{
	struct kt_data *d = p;

	if (d != NULL)
		free(d->leaves);
	free(d);
}

static struct op *kt_op(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = sotto__h_op_new(c, req, 0);

	if (op == NULL || (op->data = calloc(1, sizeof(struct kt_data))) == NULL) {
		sotto__h_reply_err(c, req->id, SOTTO_ERR_NOMEM, NULL);
		if (op != NULL)
			sotto__h_op_finish(op); /* frees req */
		else
			protobuf_c_message_free_unpacked(&req->base, NULL);
		return NULL;
	}
	op->free_data = kt_free;
	return op;
}

/* Reads the latest head when the request's size is 0 (latest). */
static int resolve(struct op *op, uint64_t *size)
{
	struct kt_data *d = op->data;
	int rc;

	if (*size != 0)
		return 0;
	rc = sotto_store_kt_head(op->c->w->srv->store, &d->head);
	if (rc == 0) {
		*size = d->head.head.size;
		d->want_head = 1;
		sotto_kt_signed_head_encode(d->enc, &d->head);
	}
	return rc;
}

static ProtobufCBinaryData head_bytes(struct kt_data *d)
{
	ProtobufCBinaryData b = { 0, NULL };

	if (d->want_head) {
		b.data = d->enc;
		b.len = sizeof d->enc;
	}
	return b;
}

static void head_run(struct op *op)
{
	uint64_t size = 0;

	op->rc = resolve(op, &size);
}

static void head_after(struct op *op)
{
	struct conn *c = op->c;
	struct kt_data *d = op->data;

	if (c->state == CONN_OPEN) {
		if (op->rc != 0) {
			sotto__h_reply_err(c, op->req_id, op->rc, "no signed tree head yet");
		} else {
			Sotto__Service__KtHeadResponse h = SOTTO__SERVICE__KT_HEAD_RESPONSE__INIT;
			Response r = SOTTO__SERVICE__RESPONSE__INIT;
			h.signed_head = head_bytes(d);
			h.kt_key.data = c->w->srv->kt_pub;
			h.kt_key.len = 32;
			r.id = op->req_id;
			r.body_case = SOTTO__SERVICE__RESPONSE__BODY_KT_HEAD;
			r.kt_head = &h;
			sotto__h_send_response(c, &r);
		}
	}
	sotto__h_op_finish(op);
}

void sotto__kt_h_head(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = kt_op(c, req);

	if (op != NULL)
		sotto__h_op_queue(op, head_run, head_after);
}

static void incl_run(struct op *op)
{
	struct kt_data *d = op->data;
	sotto_store *st = op->c->w->srv->store;
	sotto_kt_signed_head h;

	op->rc = resolve(op, &d->size);
	if (op->rc != 0)
		return;
	if (d->device != 0) {
		op->rc = sotto_store_kt_device_proofs(st, d->account, &d->device, 1, d->size, &h,
			&d->p);
		if (op->rc == 0 && d->p.index == UINT64_MAX)
			op->rc = SOTTO_ERR_NOT_FOUND;
	} else {
		op->rc = sotto_store_kt_index_proof(st, d->index, d->size, &d->p);
	}
}

static void incl_after(struct op *op)
{
	struct conn *c = op->c;
	struct kt_data *d = op->data;

	if (c->state == CONN_OPEN) {
		if (op->rc != 0) {
			sotto__h_reply_err(c, op->req_id, op->rc, NULL);
		} else {
			struct pb_proof pp;
			Sotto__Service__KtInclusionResponse ir =
				SOTTO__SERVICE__KT_INCLUSION_RESPONSE__INIT;
			Response r = SOTTO__SERVICE__RESPONSE__INIT;
			pb_proof_fill(&pp, &d->p);
			ir.proof = &pp.pb;
			ir.signed_head = head_bytes(d);
			r.id = op->req_id;
			r.body_case = SOTTO__SERVICE__RESPONSE__BODY_KT_INCLUSION;
			r.kt_inclusion = &ir;
			sotto__h_send_response(c, &r);
		}
	}
	sotto__h_op_finish(op);
}

void sotto__kt_h_inclusion(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = kt_op(c, req);
	const Sotto__Service__KtInclusionRequest *q = req->kt_inclusion;

	if (op == NULL)
		return;
	struct kt_data *d = op->data;
	if (q->account_id.len == 16) {
		memcpy(d->account, q->account_id.data, 16);
		d->device = q->device_id;
	}
	d->index = q->leaf_index;
	d->size = q->tree_size;
	sotto__h_op_queue(op, incl_run, incl_after);
}

static void cons_run(struct op *op)
{
	struct kt_data *d = op->data;

	op->rc = resolve(op, &d->size);
	if (op->rc == 0)
		op->rc = sotto_store_kt_consistency(op->c->w->srv->store, d->from, d->size, d->proof,
			&d->count);
}

static void cons_after(struct op *op)
{
	struct conn *c = op->c;
	struct kt_data *d = op->data;

	if (c->state == CONN_OPEN) {
		if (op->rc != 0) {
			sotto__h_reply_err(c, op->req_id, op->rc, NULL);
		} else {
			ProtobufCBinaryData h[SOTTO_KT_MAX_PROOF_HASHES];
			Sotto__Service__KtConsistencyResponse cr =
				SOTTO__SERVICE__KT_CONSISTENCY_RESPONSE__INIT;
			Response r = SOTTO__SERVICE__RESPONSE__INIT;
			for (size_t i = 0; i < d->count; i++) {
				h[i].data = d->proof + 32 * i;
				h[i].len = 32;
			}
			cr.from_size = d->from;
			cr.to_size = d->size;
			cr.n_hashes = d->count;
			cr.hashes = h;
			cr.signed_head = head_bytes(d);
			r.id = op->req_id;
			r.body_case = SOTTO__SERVICE__RESPONSE__BODY_KT_CONSISTENCY;
			r.kt_consistency = &cr;
			sotto__h_send_response(c, &r);
		}
	}
	sotto__h_op_finish(op);
}

void sotto__kt_h_consistency(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = kt_op(c, req);

	if (op == NULL)
		return;
	struct kt_data *d = op->data;
	d->from = req->kt_consistency->from_size;
	d->size = req->kt_consistency->to_size;
	sotto__h_op_queue(op, cons_run, cons_after);
}

static void leaves_run(struct op *op)
{
	struct kt_data *d = op->data;
	uint64_t size = 0;

	op->rc = resolve(op, &size);
	d->size = size;
	if (op->rc == SOTTO_ERR_NOT_FOUND) { /* no head yet: an empty log */
		op->rc = 0;
		return;
	}
	d->leaves = malloc((size_t)d->max * SOTTO_KT_LEAF_BYTES);
	if (op->rc == 0 && d->leaves == NULL)
		op->rc = SOTTO_ERR_NOMEM;
	if (op->rc == 0)
		op->rc = sotto_store_kt_leaves(op->c->w->srv->store, d->from, d->max, d->leaves,
			&d->n_leaves);
	/* The store pages within the signed log it sees now; never past the
	 * head returned here. */
	if (op->rc == 0 && d->from + d->n_leaves > size)
		d->n_leaves = d->from >= size ? 0 : (size_t)(size - d->from);
}

static void leaves_after(struct op *op)
{
	struct conn *c = op->c;
	struct kt_data *d = op->data;

	if (c->state == CONN_OPEN) {
		ProtobufCBinaryData *l = op->rc == 0 ? calloc(d->n_leaves + 1, sizeof *l) : NULL;
		if (op->rc == 0 && l == NULL)
			op->rc = SOTTO_ERR_NOMEM;
		if (op->rc != 0) {
			sotto__h_reply_err(c, op->req_id, op->rc, NULL);
		} else {
			Sotto__Service__KtLeavesResponse lr =
				SOTTO__SERVICE__KT_LEAVES_RESPONSE__INIT;
			Response r = SOTTO__SERVICE__RESPONSE__INIT;
			for (size_t i = 0; i < d->n_leaves; i++) {
				l[i].data = d->leaves + (size_t)SOTTO_KT_LEAF_BYTES * i;
				l[i].len = SOTTO_KT_LEAF_BYTES;
			}
			lr.n_leaves = d->n_leaves;
			lr.leaves = l;
			lr.tree_size = d->size;
			r.id = op->req_id;
			r.body_case = SOTTO__SERVICE__RESPONSE__BODY_KT_LEAVES;
			r.kt_leaves = &lr;
			sotto__h_send_response(c, &r);
		}
		free(l);
	}
	sotto__h_op_finish(op);
}

void sotto__kt_h_leaves(struct conn *c, Sotto__Service__Request *req)
{
	struct op *op = kt_op(c, req);

	if (op == NULL)
		return;
	struct kt_data *d = op->data;
	d->from = req->kt_leaves->start;
	d->max = req->kt_leaves->max;
	sotto__h_op_queue(op, leaves_run, leaves_after);
}
