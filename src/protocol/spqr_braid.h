/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: the SPQR V1 state machine (the ML-KEM Braid with chunked streams)
 * and the top-level send/recv calls libsignal 0.103's triple ratchet makes,
 * on top of the blocks in spqr.h (wire codec, authenticator, chain) and the
 * erasure code in crypto/gf16.h. References: signal-protocol-facts.md §5.1
 * (how libsignal uses SPQR), §5.4 (states and transitions), and the ML-KEM
 * Braid specification (signal.org/docs/specifications/mlkembraid).
 *
 * A state is what libsignal keeps in field 15 of a session: which braid state
 * we are in, its epoch and data, the authenticator, the symmetric chain and,
 * until the first successful recv, the version negotiation parameters. The
 * serialized form is our own (not libsignal's protobuf). It holds secrets
 * (ML-KEM dk, encapsulation state, chain keys): store it encrypted. */
#ifndef SOTTO_PROTOCOL_SPQR_BRAID_H
#define SOTTO_PROTOCOL_SPQR_BRAID_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/spqr.h"
#include "sotto/util.h"

typedef struct sotto_spqr_state sotto_spqr_state;

/* Braid state names of facts §5.4, for tests and diagnostics. */
enum sotto_spqr_braid_state {
	/* EK-sender */
	SOTTO_SPQR_KEYS_UNSAMPLED = 1,
	SOTTO_SPQR_KEYS_SAMPLED = 2,
	SOTTO_SPQR_HEADER_SENT = 3,
	SOTTO_SPQR_CT1_RECEIVED = 4,
	SOTTO_SPQR_EK_SENT_CT1_RECEIVED = 5,
	/* CT-sender */
	SOTTO_SPQR_NO_HEADER_RECEIVED = 6,
	SOTTO_SPQR_HEADER_RECEIVED = 7,
	SOTTO_SPQR_CT1_SAMPLED = 8,
	SOTTO_SPQR_EK_RECEIVED_CT1_SAMPLED = 9,
	SOTTO_SPQR_CT1_ACKNOWLEDGED = 10,
	SOTTO_SPQR_CT2_SAMPLED = 11,
};

/* libsignal's spqr::initial_state with version = min_version = V1. The
 * initiator (A2B) starts as EK-sender in KeysUnsampled(1), the responder as
 * CT-sender in NoHeaderReceived(1). auth_key is PQXDH's third 32 bytes
 * (1..64 bytes accepted). max_jump / max_ooo_keys of 0 mean the defaults
 * (25 000 / 2 000); libsignal passes max_jump = UINT32_MAX for a session with
 * oneself. *out is NULL on error. */
SOTTO_HIDDEN int sotto__spqr_initial_state(sotto_spqr_state **out, const uint8_t *auth_key,
					   size_t keylen, enum sotto_spqr_direction dir,
					   uint32_t max_jump, uint32_t max_ooo_keys);
/* Wipes and frees; NULL is fine. */
SOTTO_HIDDEN void sotto__spqr_state_free(sotto_spqr_state *st);
SOTTO_HIDDEN int sotto__spqr_state_clone(sotto_spqr_state **out, const sotto_spqr_state *st);

/* spqr::send. Writes the pq_ratchet bytes (at most SOTTO_SPQR_MSG_MAX_BYTES)
 * and the 32-byte message key (the HKDF salt of facts §4.1; a V1 send always
 * has one). Randomness: 64 bytes for an ML-KEM key pair, 32 for encaps1, from
 * rng(rng_ctx, ...) (sotto_rng_system for the OS generator). Transactional:
 * *st changes only on success. */
SOTTO_HIDDEN int sotto__spqr_send(sotto_spqr_state *st, sotto_rng_fn rng, void *rng_ctx,
				  uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], size_t *msglen,
				  uint8_t key[SOTTO_SPQR_KEY_BYTES]);

/* spqr::recv. *has_key tells whether key was written: a message whose first
 * byte is neither 0 nor 1 is ignored (returns 0, no key, state unchanged),
 * and the message (epoch 1, index 0) carries no key. Errors, all with *st
 * unchanged: SOTTO_ERR_INVALID_MESSAGE for an empty message or a V0 one
 * (first byte 0: below our minimum version), a malformed message, an epoch
 * out of range, a bad header or ciphertext MAC, an ek that does not match its
 * header, a key too far ahead or already trimmed; SOTTO_ERR_DUPLICATE_MESSAGE
 * for a key already handed out; SOTTO_ERR_NOMEM. why (may be NULL) refines
 * chain failures. */
SOTTO_HIDDEN int sotto__spqr_recv(sotto_spqr_state *st, const uint8_t *msg, size_t msglen,
				  uint8_t key[SOTTO_SPQR_KEY_BYTES], int *has_key,
				  enum sotto_spqr_chain_why *why);

/* sotto__spqr_send / _recv without the working copy, for a caller that
 * drops st on failure (st is then left half-changed). */
SOTTO_HIDDEN int sotto__spqr_send_inplace(sotto_spqr_state *st, sotto_rng_fn rng, void *rng_ctx,
					  uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], size_t *msglen,
					  uint8_t key[SOTTO_SPQR_KEY_BYTES]);
SOTTO_HIDDEN int sotto__spqr_recv_inplace(sotto_spqr_state *st, const uint8_t *msg,
					  size_t msglen, uint8_t key[SOTTO_SPQR_KEY_BYTES],
					  int *has_key);

/* Introspection for tests. */
SOTTO_HIDDEN enum sotto_spqr_braid_state sotto__spqr_state_name(const sotto_spqr_state *st);
SOTTO_HIDDEN uint64_t sotto__spqr_state_epoch(const sotto_spqr_state *st);
SOTTO_HIDDEN const sotto_spqr_chain *sotto__spqr_state_chain(const sotto_spqr_state *st);
SOTTO_HIDDEN const sotto_spqr_auth *sotto__spqr_state_auth(const sotto_spqr_state *st);
/* 1 until the first successful recv (libsignal's version_negotiation). */
SOTTO_HIDDEN int sotto__spqr_state_negotiating(const sotto_spqr_state *st);

/* Storage format, version 2 (big-endian integers):
 *   0x53 'S' || 0x02 || negotiating u8 (0/1) || dir u8 ||
 *   [keylen u8 || auth_key]  only while negotiating ||
 *   chain_len BE32 || chain (sotto__spqr_chain_serialize, holds the limits) ||
 *   state u8 || epoch BE64 || auth root 32 || auth mac 32 || fields
 * where the fields depend on the state, in this order when present:
 *   dk 2400 || ek 1152 || hdr 64 || ct1 960 || encaps state ||
 *   outgoing stream bytes (not repeated when it is ct1) || next chunk BE16 ||
 *   encoder flag u8 || [16 x npts x coefficient BE16, once parity chunks have
 *   been sent: rebuilding them is a full interpolation] || decoder
 *   decoder = 16 x (count u8 || count x (x BE16 || y BE16)), x increasing.
 * Parsing is strict: exact length, known state, role consistent with the
 * direction and epoch parity, chain epoch consistent with the braid state,
 * valid decoders (the dk is checked when it is used for decapsulation, not
 * on every parse). Only what serialize produces is accepted, and
 * version 1 blobs (no encoder flag; written before version 2) are read. */
SOTTO_HIDDEN size_t sotto__spqr_state_serialized_size(const sotto_spqr_state *st);
SOTTO_HIDDEN int sotto__spqr_state_serialize(const sotto_spqr_state *st, uint8_t *out,
					     size_t outcap, size_t *outlen);
/* SOTTO_ERR_INVALID_ARGUMENT for malformed or inconsistent input. */
SOTTO_HIDDEN int sotto__spqr_state_deserialize(sotto_spqr_state **out, const uint8_t *in,
					       size_t inlen);

/* Byte-level convenience for a session record that keeps the state as an
 * opaque blob (libsignal style): parse, run, serialize. *new_state is a
 * malloc'd buffer the caller wipes and frees; nothing is allocated on error. */
SOTTO_HIDDEN int sotto__spqr_send_blob(const uint8_t *state, size_t state_len, sotto_rng_fn rng,
				       void *rng_ctx, uint8_t **new_state, size_t *new_len,
				       uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], size_t *msglen,
				       uint8_t key[SOTTO_SPQR_KEY_BYTES]);
SOTTO_HIDDEN int sotto__spqr_recv_blob(const uint8_t *state, size_t state_len, const uint8_t *msg,
				       size_t msglen, uint8_t **new_state, size_t *new_len,
				       uint8_t key[SOTTO_SPQR_KEY_BYTES], int *has_key);
/* A fresh serialized state (sotto__spqr_initial_state + serialize). */
SOTTO_HIDDEN int sotto__spqr_initial_blob(uint8_t **out, size_t *outlen, const uint8_t *auth_key,
					  size_t keylen, enum sotto_spqr_direction dir,
					  uint32_t max_jump, uint32_t max_ooo_keys);

#endif
