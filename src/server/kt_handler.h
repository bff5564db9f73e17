/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sottod's key transparency requests (docs/server-api.md "Key
 * transparency") and the proofs attached to bundles and device lists. */
#ifndef SOTTO_SERVER_KT_HANDLER_H
#define SOTTO_SERVER_KT_HANDLER_H

#include "server/server_internal.h"

typedef Sotto__Service__Request Sotto__KtRequest;

void sotto__kt_h_head(struct conn *c, Sotto__Service__Request *req);
void sotto__kt_h_inclusion(struct conn *c, Sotto__Service__Request *req);
void sotto__kt_h_consistency(struct conn *c, Sotto__Service__Request *req);
void sotto__kt_h_leaves(struct conn *c, Sotto__Service__Request *req);

/* Proofs for n devices of an account against the latest signed head, read
 * in the thread pool; NULL when there is no head (or on failure: the
 * response then simply carries no proof, which clients refuse). */
struct sotto__kt_attach;
struct sotto__kt_attach *sotto__kt_attach_devices(sotto_store *st, const uint8_t account[16],
	const uint32_t *device_ids, size_t n);
/* The protobuf proof of device i (owned by a; NULL if a is NULL). */
Sotto__Service__KtProof *sotto__kt_attach_proof(struct sotto__kt_attach *a, size_t i);
/* The encoded signed head (empty if a is NULL). */
ProtobufCBinaryData sotto__kt_attach_head(struct sotto__kt_attach *a);
void sotto__kt_attach_free(struct sotto__kt_attach *a);

/* handler.c's op helpers, for the handlers above. */
struct op *sotto__h_op_new(struct conn *c, Sotto__Service__Request *req, size_t datasize);
void sotto__h_op_queue(struct op *op, op_fn run, op_fn after);
void sotto__h_op_finish(struct op *op);
void sotto__h_send_response(struct conn *c, Sotto__Service__Response *r);
void sotto__h_reply_err(struct conn *c, uint64_t id, int rc, const char *why);

#endif
