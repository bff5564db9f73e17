/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The 1:1 session layer, as libsignal 0.103 runs it: store callback tables,
 * session records (current state plus up to 40 archived ones), building a
 * session from a prekey bundle, and encrypting / decrypting SignalMessages
 * and PreKeySignalMessages with the triple ratchet (Double Ratchet + SPQR).
 *
 * Sans-I/O: the time (milliseconds since the epoch, as libsignal's Date) and
 * randomness (sotto_rng_fn) are arguments; storage is reached only through
 * the callback tables. Every operation loads what it needs first, computes,
 * and writes only once everything succeeded: a failed call makes no store
 * call that changes anything. */
#ifndef SOTTO_SESSION_H
#define SOTTO_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"
#include "sotto/protocol.h"
#include "sotto/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_ARCHIVED_STATES_MAX 40
#define SOTTO_DEVICE_ID_MAX 127

/* A protocol address: (name, device id 1..127). name is NUL-terminated;
 * when both names of a conversation are ServiceId strings (a UUID, or
 * "PNI:" + UUID) PreKey messages carry the addresses field (facts 3.3). */
typedef struct sotto_address {
	const char *name;
	uint32_t device_id;
} sotto_address;

enum sotto_direction {
	SOTTO_DIRECTION_SENDING = 0,
	SOTTO_DIRECTION_RECEIVING = 1,
};

/* ---------------------------------------------------------------------- */
/* Store callback tables. Every callback returns 0 or a negative SOTTO_ERR_*
 * (passed back to the caller of the library function) unless it says
 * otherwise. */

typedef struct sotto_identity_store {
	void *ctx;
	/* Our identity key pair and registration id. */
	int (*get_local)(void *ctx, sotto_identity_keypair *kp, uint32_t *registration_id);
	/* 1 if key may be used for addr in this direction, 0 if not. */
	int (*is_trusted)(void *ctx, const sotto_address *addr, const uint8_t key[SOTTO_EC_PUBLIC_BYTES],
			  enum sotto_direction dir);
	/* Stores key for addr: 0 (new or unchanged) or 1 (replaced another). */
	int (*save)(void *ctx, const sotto_address *addr, const uint8_t key[SOTTO_EC_PUBLIC_BYTES]);
	/* The stored key, or SOTTO_ERR_NOT_FOUND. */
	int (*get)(void *ctx, const sotto_address *addr, uint8_t key[SOTTO_EC_PUBLIC_BYTES]);
} sotto_identity_store;

typedef struct sotto_session_record sotto_session_record;

/* Session records are opaque bytes (sotto_session_record_serialize).
 *   load: copies the record into buf (cap bytes) and sets *len; or
 *         SOTTO_ERR_NOT_FOUND; or SOTTO_ERR_BUFFER_TOO_SMALL with *len = the
 *         size needed (the library then calls again with a larger buffer).
 * Optional, both set or both NULL: a store that keeps its records in memory
 * may keep them decoded, which saves parsing and packing the whole record
 * (with its SPQR state) on every message. When set, the library uses these
 * instead of load and store:
 *   load_decoded: sets *rec to the store's own record for addr, or returns
 *         SOTTO_ERR_NOT_FOUND. The library only reads it (it works on a
 *         copy), so a failed call leaves the store untouched.
 *   store_decoded: makes rec addr's record; the store owns rec from then on,
 *         also when it fails (it frees it with sotto_session_record_free). */
typedef struct sotto_session_store {
	void *ctx;
	int (*load)(void *ctx, const sotto_address *addr, uint8_t *buf, size_t cap, size_t *len);
	int (*store)(void *ctx, const sotto_address *addr, const uint8_t *record, size_t len);
	int (*load_decoded)(void *ctx, const sotto_address *addr,
			    const sotto_session_record **rec);
	int (*store_decoded)(void *ctx, const sotto_address *addr, sotto_session_record *rec);
} sotto_session_store;

/* One-time EC prekeys. load gives SOTTO_ERR_NOT_FOUND for an unknown id
 * (the library reports SOTTO_ERR_INVALID_KEY_ID). */
typedef struct sotto_prekey_store {
	void *ctx;
	int (*load)(void *ctx, uint32_t id, sotto_prekey_record *rec);
	int (*store)(void *ctx, const sotto_prekey_record *rec);
	int (*remove)(void *ctx, uint32_t id);
} sotto_prekey_store;

typedef struct sotto_signed_prekey_store {
	void *ctx;
	int (*load)(void *ctx, uint32_t id, sotto_signed_prekey_record *rec);
	int (*store)(void *ctx, const sotto_signed_prekey_record *rec);
} sotto_signed_prekey_store;

/* KEM prekeys. mark_used is called after each session built from one
 * (libsignal's markKyberPreKeyUsed): deleting one-time KEM prekeys and
 * detecting reuse of last-resort ones is the application's business. */
typedef struct sotto_kyber_prekey_store {
	void *ctx;
	int (*load)(void *ctx, uint32_t id, sotto_kyber_prekey_record *rec);
	int (*store)(void *ctx, const sotto_kyber_prekey_record *rec);
	int (*mark_used)(void *ctx, uint32_t kyber_id, uint32_t signed_prekey_id,
			 const uint8_t base_key[SOTTO_EC_PUBLIC_BYTES]);
} sotto_kyber_prekey_store;

/* All the stores of one local device. */
typedef struct sotto_protocol_stores {
	sotto_identity_store identity;
	sotto_session_store session;
	sotto_prekey_store prekey;
	sotto_signed_prekey_store signed_prekey;
	sotto_kyber_prekey_store kyber_prekey;
} sotto_protocol_stores;

/* ---------------------------------------------------------------------- */
/* In-memory implementation of every store (linear lists: for tests, tools
 * and small clients). Identities are kept per name: all devices of a name
 * share one key (trust on first use: an unknown name is trusted, a known
 * name only with the same key). _free wipes everything. */
typedef struct sotto_protocol_memstore sotto_protocol_memstore;

SOTTO_EXPORT sotto_protocol_memstore *sotto_protocol_memstore_new(const sotto_identity_keypair *id,
								  uint32_t registration_id);
SOTTO_EXPORT void sotto_protocol_memstore_free(sotto_protocol_memstore *ms);
/* Fills *stores with callbacks that use ms. */
SOTTO_EXPORT void sotto_protocol_memstore_tables(sotto_protocol_memstore *ms,
						 sotto_protocol_stores *stores);
/* Replaces (or sets) the trusted identity of a name. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_protocol_memstore_set_identity(
	sotto_protocol_memstore *ms, const char *name, const uint8_t key[SOTTO_EC_PUBLIC_BYTES]);
/* A canonical dump of every store's contents (malloc'd; the caller wipes and
 * frees it). Two dumps are byte-equal iff the stores hold the same data:
 * what tests use to prove that a failed call changed nothing. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_protocol_memstore_dump(const sotto_protocol_memstore *ms,
								 uint8_t **out, size_t *outlen);

/* ---------------------------------------------------------------------- */
/* Session records. */

/* An empty record (no current state); NULL when out of memory. */
SOTTO_EXPORT sotto_session_record *sotto_session_record_new(void);
SOTTO_EXPORT void sotto_session_record_free(sotto_session_record *rec);
/* Storage form (proto/session.proto SessionRecord). Size query with
 * out = NULL: SOTTO_ERR_BUFFER_TOO_SMALL and *outlen. Contains secrets. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_record_serialize(const sotto_session_record *rec,
								  uint8_t *out, size_t outcap,
								  size_t *outlen);
/* SOTTO_ERR_INVALID_ARGUMENT for a malformed record. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_record_deserialize(sotto_session_record **out,
								    const uint8_t *in, size_t inlen);
/* The current state or NULL; valid until the record changes. */
SOTTO_EXPORT const sotto_session_state *sotto_session_record_current(const sotto_session_record *rec);
SOTTO_EXPORT size_t sotto_session_record_archived_count(const sotto_session_record *rec);
/* Moves the current state (pending prekey items cleared) to the front of the
 * archived list, keeping at most 40. No-op without a current state. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_record_archive_current(sotto_session_record *rec);
/* libsignal's hasCurrentState(now): a current state with a sender chain,
 * version > 3, a non-empty SPQR state, and not stale (an unacknowledged
 * session older than 30 days). 1 or 0. */
SOTTO_EXPORT int sotto_session_record_has_current_state(const sotto_session_record *rec,
							uint64_t now_ms);

/* ---------------------------------------------------------------------- */
/* Session cipher. local is our own address, remote the peer's.
 * Error codes: SOTTO_ERR_UNTRUSTED_IDENTITY, SOTTO_ERR_INVALID_SIGNATURE,
 * SOTTO_ERR_INVALID_KEY, SOTTO_ERR_INVALID_KEY_ID, SOTTO_ERR_INVALID_MESSAGE,
 * SOTTO_ERR_DUPLICATE_MESSAGE, SOTTO_ERR_NO_SESSION,
 * SOTTO_ERR_BUFFER_TOO_SMALL, SOTTO_ERR_NOMEM, SOTTO_ERR_INVALID_ARGUMENT,
 * and whatever a store callback returns. */

/* processPreKeyBundle (facts 2.2): trust check (Sending) first, both prekey
 * signatures, PQXDH, SPQR (A2B, auth key = PQR), pending prekey items with
 * the time in seconds; saves the identity, archives the old current state
 * and stores the record. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_process_bundle(const sotto_protocol_stores *stores,
								const sotto_address *local,
								const sotto_address *remote,
								const sotto_prekey_bundle *bundle,
								uint64_t now_ms, sotto_rng_fn rng,
								void *rng_ctx);

/* Upper bound of the ciphertext sotto_session_encrypt writes. */
SOTTO_EXPORT size_t sotto_session_encrypt_bound(size_t plaintext_len);

/* signalEncrypt (facts 4.2): a PreKeySignalMessage (*type = 3) until the
 * first message of the peer has been decrypted, then a SignalMessage
 * (*type = 2). SOTTO_ERR_NO_SESSION without a usable current state or when
 * the unacknowledged session is older than 30 days at now_ms. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_encrypt(const sotto_protocol_stores *stores,
							 const sotto_address *local,
							 const sotto_address *remote,
							 const uint8_t *plaintext, size_t plaintext_len,
							 uint64_t now_ms, sotto_rng_fn rng, void *rng_ctx,
							 uint8_t *out, size_t outcap, size_t *outlen,
							 int *type);

/* signalDecrypt / signalDecryptPreKey (facts 2.4, 4.3, 4.4). type is 2 or 3.
 * The plaintext is shorter than the ciphertext: outcap = ciphertext_len
 * always suffices. Transactional: on any error no store is written. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_decrypt(const sotto_protocol_stores *stores,
							 const sotto_address *local,
							 const sotto_address *remote, int type,
							 const uint8_t *ciphertext, size_t ciphertext_len,
							 sotto_rng_fn rng, void *rng_ctx, uint8_t *out,
							 size_t outcap, size_t *outlen);

/* Loads remote's record: 1 if it has a current state (see
 * sotto_session_record_has_current_state), 0 if not or there is no record. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_has_current(const sotto_protocol_stores *stores,
							     const sotto_address *remote,
							     uint64_t now_ms, int *has);

/* Loads remote's record (SOTTO_ERR_NO_SESSION if there is none). The caller
 * frees it. For tools and sealed sender v2 (the remote registration id). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_load(const sotto_protocol_stores *stores,
						      const sotto_address *remote,
						      sotto_session_record **out);

#ifdef __cplusplus
}
#endif
#endif
