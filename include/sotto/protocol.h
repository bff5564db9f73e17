/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The Signal 1:1 protocol core, wire compatible with libsignal 0.103: keys and
 * prekey records, the SignalMessage / PreKeySignalMessage codecs, PQXDH and
 * the Double Ratchet. Sans-I/O: bytes, time and randomness are arguments.
 *
 * The SPQR (post-quantum ratchet) layer sits on top of this one: PQXDH hands
 * it the 32-byte PQR key, the session state carries its state as an opaque
 * blob, and every message key derivation takes the SPQR message key as the
 * HKDF salt. */
#ifndef SOTTO_PROTOCOL_H
#define SOTTO_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"
#include "sotto/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Key encodings (facts 1.1, 1.3). */
#define SOTTO_EC_KEY_TYPE 0x05
#define SOTTO_EC_PUBLIC_BYTES 33 /* 0x05 || u */
#define SOTTO_EC_PRIVATE_BYTES 32
#define SOTTO_SIGNATURE_BYTES 64
#define SOTTO_KEM_KEY_TYPE_KYBER1024 0x08
#define SOTTO_KEM_PUBLIC_BYTES 1569  /* type byte || 1568 */
#define SOTTO_KEM_SECRET_BYTES 3169  /* type byte || 3168 */
#define SOTTO_KEM_CIPHERTEXT_BYTES 1569

/* Message constants (facts 3, 11). */
#define SOTTO_SESSION_VERSION 4
#define SOTTO_SIGNAL_MAC_BYTES 8
#define SOTTO_ADDRESSES_BYTES 36
#define SOTTO_MESSAGE_TYPE_WHISPER 2
#define SOTTO_MESSAGE_TYPE_PREKEY 3
#define SOTTO_MAX_FORWARD_JUMPS 25000
#define SOTTO_MAX_MESSAGE_KEYS 2000
#define SOTTO_MAX_RECEIVER_CHAINS 5
#define SOTTO_MAX_UNACKNOWLEDGED_SESSION_AGE 2592000 /* seconds (30 days) */

/* Upper bounds on input sizes accepted by the decoders, checked before the
 * protobuf decoder sees the bytes. Generous against real use (a SignalMessage
 * of libsignal's own is its plaintext plus about 120 bytes). */
#define SOTTO_MAX_MESSAGE_BYTES (1u << 20)

/* ---------------------------------------------------------------------- */
/* Keys and records. Plain structs: callers may keep them on the stack, and
 * must sotto_memzero them (or call the _clear functions) when done. */

typedef struct sotto_ec_keypair {
	uint8_t pub[SOTTO_EC_PUBLIC_BYTES];   /* 0x05 || u */
	uint8_t priv[SOTTO_EC_PRIVATE_BYTES]; /* clamped */
} sotto_ec_keypair;

/* The identity key pair has the same shape. */
typedef sotto_ec_keypair sotto_identity_keypair;

typedef struct sotto_prekey_record {
	uint32_t id;
	sotto_ec_keypair key;
} sotto_prekey_record;

typedef struct sotto_signed_prekey_record {
	uint32_t id;
	uint64_t timestamp_ms; /* stored, never checked (facts 2.1) */
	sotto_ec_keypair key;
	uint8_t signature[SOTTO_SIGNATURE_BYTES]; /* XEdDSA over pub33 */
} sotto_signed_prekey_record;

typedef struct sotto_kyber_prekey_record {
	uint32_t id;
	uint64_t timestamp_ms;
	uint8_t pub[SOTTO_KEM_PUBLIC_BYTES];  /* 0x08 || pk */
	uint8_t priv[SOTTO_KEM_SECRET_BYTES]; /* 0x08 || sk */
	uint8_t signature[SOTTO_SIGNATURE_BYTES]; /* XEdDSA over all of pub */
} sotto_kyber_prekey_record;

/* What the initiator fetches for one device of the peer (facts 2.1). The
 * Kyber prekey is mandatory; the one-time EC prekey is optional. */
typedef struct sotto_prekey_bundle {
	uint32_t registration_id;
	uint32_t device_id;
	int has_pre_key; /* 0 or 1 */
	uint32_t pre_key_id;
	uint8_t pre_key[SOTTO_EC_PUBLIC_BYTES];
	uint32_t signed_pre_key_id;
	uint8_t signed_pre_key[SOTTO_EC_PUBLIC_BYTES];
	uint8_t signed_pre_key_signature[SOTTO_SIGNATURE_BYTES];
	uint8_t identity_key[SOTTO_EC_PUBLIC_BYTES];
	uint32_t kyber_pre_key_id;
	uint8_t kyber_pre_key[SOTTO_KEM_PUBLIC_BYTES];
	uint8_t kyber_pre_key_signature[SOTTO_SIGNATURE_BYTES];
} sotto_prekey_bundle;

/* Key generation. Every random byte comes from rng(rng_ctx, ...); pass
 * sotto_rng_system for the operating system's generator. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ec_keypair_generate(sotto_ec_keypair *kp, sotto_rng_fn rng,
							     void *rng_ctx);
/* Rebuilds pub from a 32-byte private key (clamped on the way in, like
 * libsignal does when it loads one). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ec_keypair_from_private(sotto_ec_keypair *kp,
								 const uint8_t priv[SOTTO_EC_PRIVATE_BYTES]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_identity_keypair_generate(sotto_identity_keypair *kp,
								   sotto_rng_fn rng, void *rng_ctx);

/* Checks a serialized public key the way libsignal's PublicKey::deserialize
 * does: at least 33 bytes, type byte 0x05 (bytes after the 33rd are ignored).
 * On success writes the 33-byte canonical serialization to out33.
 * SOTTO_ERR_INVALID_KEY otherwise. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ec_public_decode(uint8_t out33[SOTTO_EC_PUBLIC_BYTES],
							  const uint8_t *in, size_t inlen);

/* XEdDSA with an identity key: sign (64 random bytes from rng) and verify
 * (0, or SOTTO_ERR_INVALID_SIGNATURE; SOTTO_ERR_INVALID_KEY for a key whose
 * type byte is not 0x05). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_identity_sign(uint8_t sig[SOTTO_SIGNATURE_BYTES],
						       const sotto_identity_keypair *kp,
						       const uint8_t *msg, size_t msglen,
						       sotto_rng_fn rng, void *rng_ctx);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_identity_verify(const uint8_t pub[SOTTO_EC_PUBLIC_BYTES],
							 const uint8_t *msg, size_t msglen,
							 const uint8_t sig[SOTTO_SIGNATURE_BYTES]);

SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_prekey_generate(sotto_prekey_record *rec, uint32_t id,
							 sotto_rng_fn rng, void *rng_ctx);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_signed_prekey_generate(sotto_signed_prekey_record *rec,
								uint32_t id, uint64_t timestamp_ms,
								const sotto_identity_keypair *identity,
								sotto_rng_fn rng, void *rng_ctx);
/* Generates a Kyber1024 (type 0x08) key pair, as libsignal 0.103 does. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kyber_prekey_generate(sotto_kyber_prekey_record *rec,
							       uint32_t id, uint64_t timestamp_ms,
							       const sotto_identity_keypair *identity,
							       sotto_rng_fn rng, void *rng_ctx);

/* A registration id in 1..0x3FFF (the range sealed sender v2 can carry). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_registration_id_generate(uint32_t *out, sotto_rng_fn rng,
								  void *rng_ctx);

/* Record serialization for stores (proto/session.proto; the identity key pair
 * and prekey records use libsignal's field numbers, so libsignal's
 * IdentityKeyPair / PreKeyRecord / SignedPreKeyRecord / KyberPreKeyRecord
 * deserialize them and vice versa). Serializers write to out (outcap bytes)
 * and set *outlen; SOTTO_ERR_BUFFER_TOO_SMALL if it does not fit (*outlen then
 * holds the size needed). Deserializers return SOTTO_ERR_INVALID_KEY for a
 * malformed record. The serialized forms contain private keys. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_identity_keypair_serialize(uint8_t *out, size_t outcap,
								    size_t *outlen,
								    const sotto_identity_keypair *kp);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_identity_keypair_deserialize(sotto_identity_keypair *kp,
								      const uint8_t *in, size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_prekey_record_serialize(uint8_t *out, size_t outcap,
								 size_t *outlen,
								 const sotto_prekey_record *rec);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_prekey_record_deserialize(sotto_prekey_record *rec,
								   const uint8_t *in, size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_signed_prekey_record_serialize(uint8_t *out, size_t outcap,
									size_t *outlen,
									const sotto_signed_prekey_record *rec);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_signed_prekey_record_deserialize(sotto_signed_prekey_record *rec,
									  const uint8_t *in,
									  size_t inlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kyber_prekey_record_serialize(uint8_t *out, size_t outcap,
								       size_t *outlen,
								       const sotto_kyber_prekey_record *rec);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kyber_prekey_record_deserialize(sotto_kyber_prekey_record *rec,
									 const uint8_t *in,
									 size_t inlen);

/* ---------------------------------------------------------------------- */
/* Message codecs (facts 3.2-3.4). */

/* A decoded SignalMessage. Filled by sotto_signal_message_parse; the
 * pointers point into memory owned by the struct: release it with
 * sotto_signal_message_clear. For encoding, fill the fields (pointers may
 * then point anywhere; NULL/0 for absent optional fields) and leave
 * internal_ NULL. */
typedef struct sotto_signal_message {
	uint8_t version; /* message (session) version: the high nibble of byte 0 */
	uint8_t ratchet_key[SOTTO_EC_PUBLIC_BYTES];
	uint32_t counter;
	uint32_t previous_counter;
	const uint8_t *ciphertext;
	size_t ciphertext_len;
	const uint8_t *pq_ratchet; /* NULL when absent */
	size_t pq_ratchet_len;
	const uint8_t *addresses; /* NULL when absent */
	size_t addresses_len;
	uint8_t mac[SOTTO_SIGNAL_MAC_BYTES];
	void *internal_;
} sotto_signal_message;

/* Parses byte0 || protobuf || mac8 with libsignal's rules: at least 9 bytes;
 * high nibble of byte 0 below 3 or above 4 is rejected (low nibble ignored);
 * ratchet_key (a valid pub33), counter and ciphertext are required;
 * previous_counter defaults to 0; unknown fields are ignored. The MAC is not
 * checked here. SOTTO_ERR_INVALID_MESSAGE on any malformed input,
 * SOTTO_ERR_NOMEM. On failure *m is left cleared. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_signal_message_parse(sotto_signal_message *m,
							      const uint8_t *in, size_t inlen);
SOTTO_EXPORT void sotto_signal_message_clear(sotto_signal_message *m);

/* Encodes m (m->mac is ignored) and appends the MAC computed with mac_key over
 * sender_identity || receiver_identity || byte0 || protobuf. byte0 is
 * (m->version << 4) | 4. Fields are written in ascending number order;
 * previous_counter is always written, pq_ratchet only when non-empty,
 * addresses only when non-NULL. SOTTO_ERR_BUFFER_TOO_SMALL (with *outlen =
 * size needed) when outcap is too small. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_signal_message_encode(uint8_t *out, size_t outcap,
							       size_t *outlen,
							       const sotto_signal_message *m,
							       const uint8_t mac_key[32],
							       const uint8_t sender_identity[SOTTO_EC_PUBLIC_BYTES],
							       const uint8_t receiver_identity[SOTTO_EC_PUBLIC_BYTES]);

/* Checks the 8-byte MAC of a serialized SignalMessage in constant time.
 * 0 if it matches, SOTTO_ERR_INVALID_MESSAGE otherwise (also for inputs
 * shorter than 9 bytes). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_signal_message_verify_mac(const uint8_t *in, size_t inlen,
								   const uint8_t mac_key[32],
								   const uint8_t sender_identity[SOTTO_EC_PUBLIC_BYTES],
								   const uint8_t receiver_identity[SOTTO_EC_PUBLIC_BYTES]);

/* Builds the 36-byte addresses field (facts 3.3):
 * ServiceIdFixed(sender) || sender_device || ServiceIdFixed(recipient) ||
 * recipient_device, where ServiceIdFixed = kind (0 ACI, 1 PNI) || 16-byte
 * uuid. Returns SOTTO_ERR_INVALID_ARGUMENT when a name is not a ServiceId
 * string (a hyphenated UUID, or "PNI:" + UUID) or a device id is outside
 * 1..127: the field is then left out of the message. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_addresses_build(uint8_t out[SOTTO_ADDRESSES_BYTES],
							 const char *sender_name, uint32_t sender_device,
							 const char *recipient_name,
							 uint32_t recipient_device);

/* A decoded PreKeySignalMessage; release with
 * sotto_prekey_signal_message_clear. For encoding fill the fields, point
 * message/message_len at the complete serialized inner SignalMessage, and
 * leave internal_ NULL (inner is ignored). */
typedef struct sotto_prekey_signal_message {
	uint8_t version;
	uint32_t registration_id; /* 0 if absent */
	int has_pre_key_id;
	uint32_t pre_key_id;
	uint32_t signed_pre_key_id;
	int has_kyber; /* fields 7 and 8, both or neither */
	uint32_t kyber_pre_key_id;
	const uint8_t *kyber_ciphertext;
	size_t kyber_ciphertext_len;
	uint8_t base_key[SOTTO_EC_PUBLIC_BYTES];
	uint8_t identity_key[SOTTO_EC_PUBLIC_BYTES];
	const uint8_t *message; /* the inner SignalMessage bytes */
	size_t message_len;
	sotto_signal_message inner; /* parsed from message by _parse */
	void *internal_;
} sotto_prekey_signal_message;

/* Parses byte0 || protobuf with libsignal's rules: non-empty; the same
 * version nibble rules; base_key, identity_key (valid pub33 each),
 * signed_pre_key_id and message are required, and message must parse as a
 * SignalMessage; kyber_pre_key_id and kyber_ciphertext come both or neither
 * ("neither" is accepted only for version 3, which PQXDH then rejects).
 * SOTTO_ERR_INVALID_MESSAGE on any malformed input. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_prekey_signal_message_parse(sotto_prekey_signal_message *m,
								     const uint8_t *in, size_t inlen);
SOTTO_EXPORT void sotto_prekey_signal_message_clear(sotto_prekey_signal_message *m);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_prekey_signal_message_encode(uint8_t *out, size_t outcap,
								      size_t *outlen,
								      const sotto_prekey_signal_message *m);

/* ---------------------------------------------------------------------- */
/* Session state: one Double Ratchet session with one peer (libsignal's
 * SessionState). Opaque; it holds private keys and is wiped when freed. */
typedef struct sotto_session_state sotto_session_state;

SOTTO_EXPORT void sotto_session_state_free(sotto_session_state *st);
/* Deep copy; NULL when out of memory. */
SOTTO_EXPORT sotto_session_state *sotto_session_state_copy(const sotto_session_state *st);

/* Serialization (proto/session.proto). Contains secrets. Size query: call
 * with out = NULL / outcap = 0 and read *outlen (SOTTO_ERR_BUFFER_TOO_SMALL).
 * Deserialize checks every length and limit and returns
 * SOTTO_ERR_INVALID_ARGUMENT on a malformed blob. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_state_serialize(const sotto_session_state *st,
								 uint8_t *out, size_t outcap,
								 size_t *outlen);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_state_deserialize(sotto_session_state **out,
								   const uint8_t *in, size_t inlen);

/* Accessors. */
SOTTO_EXPORT uint32_t sotto_session_state_version(const sotto_session_state *st);
SOTTO_EXPORT const uint8_t *sotto_session_state_local_identity(const sotto_session_state *st);
SOTTO_EXPORT const uint8_t *sotto_session_state_remote_identity(const sotto_session_state *st);
SOTTO_EXPORT uint32_t sotto_session_state_remote_registration_id(const sotto_session_state *st);
SOTTO_EXPORT uint32_t sotto_session_state_local_registration_id(const sotto_session_state *st);
/* 1 if the state has a sender chain (it can encrypt). */
SOTTO_EXPORT int sotto_session_state_has_sender_chain(const sotto_session_state *st);
/* The initiator's base key as stored by the responder (pub33), or NULL. */
SOTTO_EXPORT const uint8_t *sotto_session_state_alice_base_key(const sotto_session_state *st);

/* Pending-prekey items of the initiator (facts 2.2 step 7, 2.3): while they
 * are set, every outgoing message is wrapped in a PreKeySignalMessage. */
typedef struct sotto_pending_prekey {
	int has_pre_key_id;
	uint32_t pre_key_id;
	uint32_t signed_pre_key_id;
	uint8_t base_key[SOTTO_EC_PUBLIC_BYTES];
	uint64_t timestamp; /* seconds */
	uint32_t kyber_pre_key_id;
	uint8_t kyber_ciphertext[SOTTO_KEM_CIPHERTEXT_BYTES];
} sotto_pending_prekey;
/* Returns 1 and fills *out (if non-NULL) while pending items exist, else 0. */
SOTTO_EXPORT int sotto_session_state_pending_prekey(const sotto_session_state *st,
						    sotto_pending_prekey *out);
SOTTO_EXPORT void sotto_session_state_clear_pending_prekey(sotto_session_state *st);

/* The SPQR layer's opaque state blob (empty after PQXDH until the SPQR layer
 * sets it). The returned pointer is valid until the next change of st. */
SOTTO_EXPORT const uint8_t *sotto_session_state_spqr(const sotto_session_state *st, size_t *len);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_state_set_spqr(sotto_session_state *st,
								const uint8_t *blob, size_t len);

/* ---------------------------------------------------------------------- */
/* PQXDH (facts 2.2-2.4). */

#define SOTTO_PQR_KEY_BYTES 32

/* Initiator. Verifies both prekey signatures against bundle->identity_key
 * (SOTTO_ERR_INVALID_SIGNATURE), checks the key encodings
 * (SOTTO_ERR_INVALID_KEY), draws the base key, the Kyber encapsulation coins
 * and the first ratchet key from rng, and returns a new state with pending
 * prekey items (timestamp now_seconds) in *out, plus the PQR key that seeds
 * the SPQR layer (its auth_key; direction A2B). The caller checks identity
 * trust before and saves the identity after (facts 2.2 steps 1 and 7). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_pqxdh_initiate(sotto_session_state **out,
							uint8_t pqr_key[SOTTO_PQR_KEY_BYTES],
							const sotto_identity_keypair *local_identity,
							uint32_t local_registration_id,
							const sotto_prekey_bundle *bundle,
							uint64_t now_seconds, sotto_rng_fn rng,
							void *rng_ctx);

/* Responder. msg is the parsed PreKeySignalMessage; one_time_prekey is the
 * record named by msg->pre_key_id (NULL iff msg has none, else
 * SOTTO_ERR_INVALID_KEY_ID); signed_prekey and kyber_prekey are the records
 * named by its ids (SOTTO_ERR_INVALID_KEY_ID on an id mismatch). Rejects a
 * version-3 message or one without Kyber fields (SOTTO_ERR_INVALID_MESSAGE),
 * a non-canonical base key (SOTTO_ERR_INVALID_KEY), a Kyber ciphertext of the
 * wrong length or type (SOTTO_ERR_INVALID_MESSAGE). Returns the new state
 * (no receiver chain yet, sender chain keyed by the signed prekey, remote
 * registration id from the message) and the PQR key (SPQR direction B2A). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_pqxdh_respond(sotto_session_state **out,
						       uint8_t pqr_key[SOTTO_PQR_KEY_BYTES],
						       const sotto_identity_keypair *local_identity,
						       uint32_t local_registration_id,
						       const sotto_signed_prekey_record *signed_prekey,
						       const sotto_prekey_record *one_time_prekey,
						       const sotto_kyber_prekey_record *kyber_prekey,
						       const sotto_prekey_signal_message *msg);

/* ---------------------------------------------------------------------- */
/* Double Ratchet (facts 4.1-4.3). */

/* Encrypts one message with the sender chain and advances it.
 * pq_key (32 bytes or NULL for "no salt") is the SPQR key for this message and
 * pq_msg its SPQR wire message (SignalMessage field 5); addresses is the
 * optional field 6 (NULL to leave it out). Writes the SignalMessage to out.
 * If the state has pending prekey items the caller wraps the result with
 * sotto_session_wrap_prekey. SOTTO_ERR_NO_SESSION without a sender chain.
 * On failure st is unchanged. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ratchet_encrypt(sotto_session_state *st,
							 const uint8_t *pq_key,
							 const uint8_t *pq_msg, size_t pq_msg_len,
							 const uint8_t *addresses, size_t addresses_len,
							 const uint8_t *plaintext, size_t plaintext_len,
							 uint8_t *out, size_t outcap, size_t *outlen);

/* Upper bound of the SignalMessage size sotto_ratchet_encrypt produces. */
SOTTO_EXPORT size_t sotto_ratchet_encrypt_bound(size_t plaintext_len, size_t pq_msg_len,
						size_t addresses_len);

/* Wraps a SignalMessage produced by sotto_ratchet_encrypt in a
 * PreKeySignalMessage from st's pending items and local registration id.
 * SOTTO_ERR_NO_SESSION when there are none. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_session_wrap_prekey(const sotto_session_state *st,
							     const uint8_t *signal_msg, size_t signal_len,
							     uint8_t *out, size_t outcap, size_t *outlen);

/* Flags for sotto_ratchet_decrypt. */
#define SOTTO_RATCHET_UNLIMITED_JUMP 1u /* self-session: no forward-jump limit */

/* Decrypts a SignalMessage. raw/raw_len are its bytes (for the MAC), m the
 * same bytes parsed. pq_key is the SPQR key the SPQR layer returned for m's
 * pq_ratchet field (NULL for no salt). expected_addresses is the value
 * rebuilt from (remote, local) addresses, or NULL when those names are not
 * ServiceIds: a present field that differs, or any present field when NULL,
 * is rejected like a bad MAC. New ratchet keys come from rng.
 *
 * Transactional: the work is done on a copy, and st changes only when the
 * whole message authenticated and decrypted; pending prekey items are then
 * cleared. Errors: SOTTO_ERR_INVALID_MESSAGE (version mismatch, bad MAC, bad
 * padding, too far into the future), SOTTO_ERR_DUPLICATE_MESSAGE (counter
 * below the chain index without a stored key), SOTTO_ERR_NO_SESSION (no
 * usable state), SOTTO_ERR_BUFFER_TOO_SMALL (out smaller than the
 * ciphertext), SOTTO_ERR_NOMEM. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_ratchet_decrypt(sotto_session_state *st,
							 const sotto_signal_message *m,
							 const uint8_t *raw, size_t raw_len,
							 const uint8_t *pq_key,
							 const uint8_t *expected_addresses,
							 unsigned flags, sotto_rng_fn rng, void *rng_ctx,
							 uint8_t *out, size_t outcap, size_t *outlen);

#ifdef __cplusplus
}
#endif
#endif
