/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The malicious operator: fault injection for the key transparency attack
 * tests (tests/evil/README.md). Compiled ONLY into the test library
 * sotto_server_evil (-DSOTTO_KT_EVIL) that build/bin/sottod-evil links;
 * sottod and sotto_server never contain it (tests/evil checks the binary).
 *
 * The hooks below are called from handler.c and kt_sqlite.c under
 * #ifdef SOTTO_KT_EVIL. The knobs come from a file (DIR/evil.conf, or
 * sottod-evil --evil FILE), re-read at the start of every request. */
#ifndef SOTTO_SERVER_KT_EVIL_H
#define SOTTO_SERVER_KT_EVIL_H

#ifndef SOTTO_KT_EVIL
#error "kt_evil.h belongs to the test-only evil build (-DSOTTO_KT_EVIL)"
#endif

#include <stddef.h>
#include <stdint.h>

#include "server/store.h"
#include "sotto/kt.h"

struct sotto_server;
struct conn;

/* A string every evil binary contains (tests/evil/check_binaries.sh greps
 * sottod for it, and for the sotto__evil_ symbols). */
extern const char sotto__evil_marker[];

/* sottod-evil --evil FILE (before the server starts); default DIR/evil.conf. */
void sotto__evil_set_config(const char *path);

/* handler.c: the start of every request (loop thread). Re-reads the knob
 * file if it changed and applies its new actions before the request runs,
 * so "write the file, then send any request" is deterministic. */
void sotto__evil_refresh(struct sotto_server *s);
/* handler.c op_work: the requester of the store reads that follow on this
 * (pool) thread; leave clears it. */
void sotto__evil_enter(struct conn *c);
void sotto__evil_leave(void);
/* handler.c: rewrites identity keys in bundles / device lists handed to
 * the current requester (swap-key). */
void sotto__evil_bundles(const uint8_t account[16], sotto_store_bundle *b, size_t n);
void sotto__evil_devices(const uint8_t account[16], sotto_store_device *d, size_t n);

/* kt_sqlite.c writer: 1 = do not log this leaf (ghost ... nolog). */
int sotto__evil_skip_leaf(const uint8_t account[16], uint32_t device_id, int event,
	const uint8_t identity_key[33]);
/* kt_sqlite.c writer: every head signed, kept for replay. */
void sotto__evil_head_signed(const sotto_kt_signed_head *sh);

/* kt_sqlite.c store operations: 1 = answered here (result in *rc), 0 = run
 * the honest operation. */
int sotto__evil_op_head(void *be, sotto_kt_signed_head *out, int *rc);
int sotto__evil_op_device_proofs(void *be, const uint8_t account[16], const uint32_t *ids,
	size_t n, uint64_t size, sotto_kt_signed_head *head, sotto_store_kt_proof *out, int *rc);
int sotto__evil_op_index_proof(void *be, uint64_t index, uint64_t size,
	sotto_store_kt_proof *out, int *rc);
int sotto__evil_op_consistency(void *be, uint64_t size1, uint64_t size2, uint8_t *proof,
	size_t *count, int *rc);
int sotto__evil_op_leaves(void *be, uint64_t start, size_t max, uint8_t *leaves, size_t *count,
	int *rc);

#endif
