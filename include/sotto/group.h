/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sender keys: Signal's group messaging, wire compatible with libsignal 0.103
 * (SenderKeyDistributionMessage, SenderKeyMessage). A sender creates one
 * sender key per (own address, distribution id), hands it to each member in a
 * SenderKeyDistributionMessage (SKDM) over 1:1 sessions, then encrypts every
 * group message once. Records live in the caller's store. */
#ifndef SOTTO_GROUP_H
#define SOTTO_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"
#include "sotto/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_SENDER_KEY_VERSION 3
#define SOTTO_SENDER_KEY_MAX_STATES 5
#define SOTTO_SENDER_KEY_MAX_FORWARD_JUMPS 25000
#define SOTTO_SENDER_KEY_MAX_MESSAGE_KEYS 2000
#define SOTTO_DISTRIBUTION_ID_BYTES 16
/* Maximum size of an SKDM: version byte, uuid, chain id, iteration, chain key, signing key. */
#define SOTTO_SKDM_MAX_BYTES (1 + 18 + 6 + 6 + 34 + 35)
/* Upper bound on a SenderKeyMessage for a plaintext of len bytes. */
#define SOTTO_GROUP_CIPHERTEXT_MAX(len) (1 + 18 + 6 + 6 + 1 + 10 + ((len) / 16 + 1) * 16 + 64)

/* Storage for sender-key records, keyed by (sender name, sender device,
 * distribution id). Records are opaque bytes (Sotto's own format).
 *   load:  copies the record into buf. Returns 0 and sets *len; or
 *          SOTTO_ERR_NOT_FOUND if there is none; or SOTTO_ERR_BUFFER_TOO_SMALL
 *          with *len set to the size needed (the library then calls again
 *          with a larger buffer); any other negative code is passed back.
 *   store: replaces the record. A negative return is passed back.
 * The library calls store only after an operation has fully succeeded, so a
 * failed call never changes the store. */
typedef struct sotto_sender_key_store {
	void *ctx;
	int (*load)(void *ctx, const char *sender_name, uint32_t sender_device,
		    const uint8_t distribution_id[SOTTO_DISTRIBUTION_ID_BYTES], uint8_t *buf,
		    size_t cap, size_t *len);
	int (*store)(void *ctx, const char *sender_name, uint32_t sender_device,
		     const uint8_t distribution_id[SOTTO_DISTRIBUTION_ID_BYTES],
		     const uint8_t *record, size_t len);
} sotto_sender_key_store;

/* An in-memory store (a list; fine for tests and small clients). _free wipes
 * every record. */
typedef struct sotto_sender_key_memstore sotto_sender_key_memstore;
SOTTO_EXPORT sotto_sender_key_memstore *sotto_sender_key_memstore_new(void);
SOTTO_EXPORT void sotto_sender_key_memstore_free(sotto_sender_key_memstore *ms);
/* Fills *table with callbacks that use ms. */
SOTTO_EXPORT void sotto_sender_key_memstore_table(sotto_sender_key_memstore *ms,
						  sotto_sender_key_store *table);

/* Creates the SKDM for (sender, distribution id): if the store has no record
 * yet, a new one is made (chain id = random u32 >> 1, iteration 0, random chain
 * key, new signing key pair) and stored. The SKDM carries the newest state's
 * current chain key and iteration. Needs at most SOTTO_SKDM_MAX_BYTES.
 * Errors: SOTTO_ERR_INVALID_ARGUMENT, SOTTO_ERR_BUFFER_TOO_SMALL,
 * SOTTO_ERR_STORAGE (the stored record is corrupt), store errors. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_group_skdm_create(
	const sotto_sender_key_store *store, const char *sender_name, uint32_t sender_device,
	const uint8_t distribution_id[SOTTO_DISTRIBUTION_ID_BYTES], sotto_rng_fn rng,
	void *rng_ctx, uint8_t *out, size_t cap, size_t *outlen);

/* Processes an SKDM received from (sender name, device): a state with the
 * same chain id and signing key is kept (its position is not reset) and moved
 * to the front; other states with that chain id are removed; otherwise a new
 * state goes in front. At most 5 states are kept. Errors:
 * SOTTO_ERR_INVALID_MESSAGE (malformed, wrong version), SOTTO_ERR_INVALID_KEY,
 * store errors. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_group_skdm_process(const sotto_sender_key_store *store,
							    const char *sender_name,
							    uint32_t sender_device,
							    const uint8_t *skdm, size_t skdm_len);

/* Encrypts with the newest state of our own record for (sender, distribution
 * id) and advances its chain. out needs SOTTO_GROUP_CIPHERTEXT_MAX(ptlen).
 * Errors: SOTTO_ERR_NO_SESSION (no record, or a record we cannot send with:
 * no private signing key), SOTTO_ERR_INVALID_MESSAGE (chain exhausted),
 * SOTTO_ERR_BUFFER_TOO_SMALL, store errors. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_group_encrypt(
	const sotto_sender_key_store *store, const char *sender_name, uint32_t sender_device,
	const uint8_t distribution_id[SOTTO_DISTRIBUTION_ID_BYTES], sotto_rng_fn rng,
	void *rng_ctx, const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap, size_t *outlen);

/* Decrypts a SenderKeyMessage from (sender name, device); the distribution
 * id is taken from the message. The plaintext is at most msg_len - 65 bytes.
 * Errors: SOTTO_ERR_INVALID_MESSAGE (malformed, wrong version, bad padding,
 * more than 25000 ahead), SOTTO_ERR_NO_SESSION (no record or no state with
 * the message's chain id), SOTTO_ERR_INVALID_SIGNATURE,
 * SOTTO_ERR_DUPLICATE_MESSAGE (an iteration already used),
 * SOTTO_ERR_BUFFER_TOO_SMALL, store errors. On any error the store is not
 * written. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_group_decrypt(const sotto_sender_key_store *store,
						       const char *sender_name,
						       uint32_t sender_device, const uint8_t *msg,
						       size_t msg_len, uint8_t *out, size_t cap,
						       size_t *outlen);

/* The fields of a parsed SKDM (no secrets are checked). */
typedef struct sotto_skdm_info {
	uint8_t version;
	uint8_t distribution_id[SOTTO_DISTRIBUTION_ID_BYTES];
	uint32_t chain_id;
	uint32_t iteration;
	uint8_t chain_key[32];
	uint8_t signing_key[33];
} sotto_skdm_info;
/* Parses an SKDM with libsignal's rules (SOTTO_ERR_INVALID_MESSAGE,
 * SOTTO_ERR_INVALID_KEY). The caller should wipe info->chain_key. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_skdm_parse(const uint8_t *skdm, size_t len,
						    sotto_skdm_info *info);

/* The header of a SenderKeyMessage; ciphertext points into msg. The
 * signature is not verified here. */
typedef struct sotto_skm_info {
	uint8_t version;
	uint8_t distribution_id[SOTTO_DISTRIBUTION_ID_BYTES];
	uint32_t chain_id;
	uint32_t iteration;
	size_t ciphertext_len;
} sotto_skm_info;
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_skm_parse(const uint8_t *msg, size_t len,
						   sotto_skm_info *info);

#ifdef __cplusplus
}
#endif
#endif
