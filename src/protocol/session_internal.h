/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internals of the 1:1 protocol layer shared by src/protocol/ files: the
 * session state layout and the KDF steps. No ABI promise. */
#ifndef SOTTO_PROTOCOL_SESSION_INTERNAL_H
#define SOTTO_PROTOCOL_SESSION_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/protocol.h"

#ifndef SOTTO_HIDDEN
#define SOTTO_HIDDEN __attribute__((visibility("hidden")))
#endif

/* A skipped message key kept as its seed HMAC(CK_i, 0x01) (facts 4.1). */
typedef struct sotto__skipped_key {
	uint32_t index;
	uint8_t seed[32];
} sotto__skipped_key;

typedef struct sotto__receiver_chain {
	uint8_t ratchet_key[32]; /* their ratchet public u-coordinate */
	uint8_t chain_key[32];
	uint32_t index;
	/* Newest first; at most SOTTO_MAX_MESSAGE_KEYS. Heap array. */
	sotto__skipped_key *skipped;
	size_t nskipped;
	size_t capskipped;
} sotto__receiver_chain;

struct sotto_session_state {
	uint32_t session_version;
	uint8_t local_identity[SOTTO_EC_PUBLIC_BYTES];
	uint8_t remote_identity[SOTTO_EC_PUBLIC_BYTES];
	uint8_t root_key[32];
	uint32_t previous_counter;

	int has_sender_chain;
	uint8_t sender_pub[32];
	uint8_t sender_priv[32];
	uint8_t sender_chain_key[32];
	uint32_t sender_index;

	/* Oldest first; at most SOTTO_MAX_RECEIVER_CHAINS. */
	sotto__receiver_chain recv[SOTTO_MAX_RECEIVER_CHAINS];
	size_t nrecv;

	int has_pending;
	sotto_pending_prekey pending;

	uint32_t remote_registration_id;
	uint32_t local_registration_id;

	int has_alice_base_key;
	uint8_t alice_base_key[SOTTO_EC_PUBLIC_BYTES];

	/* The SPQR state (NULL: none): its storage form and, once a message
	 * used it, the parsed state, which is then authoritative; the bytes are
	 * rebuilt only when someone asks for them (storage, the accessor), so a
	 * record kept decoded by its store is not parsed and packed per message.
	 * A separate object, so that const accessors can refresh the bytes. */
	struct sotto__spqr_slot *spqr;
};

/* Keyed-context versions of the KDF steps, for the per-message hot path: one
 * HMAC context (sotto_hmac_sha256_new) serves every HMAC of a message instead
 * of a context per one-shot call. h may be NULL: the one-shot calls are used.
 * The caller frees h with sotto_hmac_sha256_free, which wipes it. */
struct sotto_hmac_sha256_ctx;
/* HKDF-SHA256 (RFC 5869), byte for byte sotto_hkdf_sha256. */
SOTTO_HIDDEN int sotto__hkdf_h(struct sotto_hmac_sha256_ctx *h, uint8_t *out, size_t outlen,
			       const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
			       size_t ikmlen, const uint8_t *info, size_t infolen);
SOTTO_HIDDEN int sotto__chain_step_h(struct sotto_hmac_sha256_ctx *h, uint8_t seed[32],
				     uint8_t next[32], const uint8_t ck[32]);
SOTTO_HIDDEN int sotto__message_keys_h(struct sotto_hmac_sha256_ctx *h, uint8_t cipher_key[32],
				       uint8_t mac_key[32], uint8_t iv[16], const uint8_t seed[32],
				       const uint8_t *pq_key);
/* sotto_signal_message_encode / _verify_mac with a context for the MAC. */
SOTTO_HIDDEN int sotto__signal_message_encode_h(struct sotto_hmac_sha256_ctx *h, uint8_t *out,
						size_t outcap, size_t *outlen,
						const sotto_signal_message *m,
						const uint8_t mac_key[32],
						const uint8_t sender_identity[SOTTO_EC_PUBLIC_BYTES],
						const uint8_t receiver_identity[SOTTO_EC_PUBLIC_BYTES]);
SOTTO_HIDDEN int sotto__signal_message_verify_mac_h(struct sotto_hmac_sha256_ctx *h,
						    const uint8_t *in, size_t inlen,
						    const uint8_t mac_key[32],
						    const uint8_t sender_identity[SOTTO_EC_PUBLIC_BYTES],
						    const uint8_t receiver_identity[SOTTO_EC_PUBLIC_BYTES]);

/* sotto_ratchet_decrypt on w itself, without the working copy: for callers
 * that already work on a copy and drop it on failure (w is then left
 * half-changed). */
SOTTO_HIDDEN int sotto__ratchet_decrypt_inplace(sotto_session_state *w,
						const sotto_signal_message *m, const uint8_t *raw,
						size_t raw_len, const uint8_t *pq_key,
						const uint8_t *expected_addresses, unsigned flags,
						sotto_rng_fn rng, void *rng_ctx, uint8_t *out,
						size_t outcap, size_t *outlen);

/* The parsed SPQR state of st, to be changed by the caller (it is parsed
 * from the bytes on first use; the bytes count as outdated from then on).
 * SOTTO_ERR_NOT_FOUND without an SPQR state, SOTTO_ERR_INVALID_ARGUMENT if
 * the bytes do not parse, SOTTO_ERR_NOMEM. */
struct sotto_spqr_state;
SOTTO_HIDDEN int sotto__session_state_spqr_parsed(sotto_session_state *st,
						  struct sotto_spqr_state **out);

/* A fresh zeroed state (NULL when out of memory). */
SOTTO_HIDDEN sotto_session_state *sotto__session_state_alloc(void);

/* KDF_RK: O = HKDF(salt = rk, ikm = dh, "WhisperRatchet", 64). */
SOTTO_HIDDEN int sotto__kdf_rk(uint8_t new_rk[32], uint8_t ck[32], const uint8_t rk[32],
			       const uint8_t dh[32]);
/* seed = HMAC(ck, 0x01); next = HMAC(ck, 0x02). Either output may be NULL. */
SOTTO_HIDDEN int sotto__chain_step(uint8_t seed[32], uint8_t next[32], const uint8_t ck[32]);
/* O = HKDF(salt = pq_key or none, seed, "WhisperMessageKeys", 80). */
SOTTO_HIDDEN int sotto__message_keys(uint8_t cipher_key[32], uint8_t mac_key[32], uint8_t iv[16],
				     const uint8_t seed[32], const uint8_t *pq_key);

/* Draws a clamped X25519 private key from rng and computes its public key. */
SOTTO_HIDDEN int sotto__x25519_keypair_rng(uint8_t pub[32], uint8_t priv[32], sotto_rng_fn rng,
					   void *rng_ctx);

/* Adds a receiver chain, dropping the oldest beyond the limit. */
SOTTO_HIDDEN int sotto__session_add_receiver_chain(sotto_session_state *st,
						   const uint8_t ratchet_key[32],
						   const uint8_t chain_key[32]);

#endif
