/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: building blocks of SPQR, Signal's Sparse Post-Quantum Ratchet
 * (ML-KEM Braid, version V1), as libsignal 0.103 uses it: the wire message
 * codec, the authenticator and the symmetric key chain. The braid state
 * machine and the erasure code (crypto/gf16.h) sit on top and beside.
 * References: signal-protocol-facts.md §5.2, §5.3, §5.5, and the ML-KEM
 * Braid specification (signal.org/docs/specifications/mlkembraid). */
#ifndef SOTTO_PROTOCOL_SPQR_H
#define SOTTO_PROTOCOL_SPQR_H

#include <stddef.h>
#include <stdint.h>

#ifndef SOTTO_HIDDEN
#define SOTTO_HIDDEN __attribute__((visibility("hidden")))
#endif

#define SOTTO_SPQR_KEY_BYTES 32
#define SOTTO_SPQR_MAC_BYTES 32
#define SOTTO_SPQR_CHUNK_BYTES 32
#define SOTTO_SPQR_VERSION_V1 0x01

/* ---- Wire message (§5.2) ----
 *   0x01 || LEB128(epoch, u64, >= 1) || LEB128(index, u32) || type
 *        || [ LEB128(chunk_index, <= 65535) || 32 bytes ]   types 1, 2, 3, 5, 6 */
enum sotto_spqr_msg_type {
	SOTTO_SPQR_MSG_NONE = 0,
	SOTTO_SPQR_MSG_HDR = 1,
	SOTTO_SPQR_MSG_EK = 2,
	SOTTO_SPQR_MSG_EK_CT1_ACK = 3,
	SOTTO_SPQR_MSG_CT1_ACK = 4,
	SOTTO_SPQR_MSG_CT1 = 5,
	SOTTO_SPQR_MSG_CT2 = 6,
};

/* 1 + 10 (epoch) + 5 (index) + 1 + 3 (chunk index) + 32 */
#define SOTTO_SPQR_MSG_MAX_BYTES 52

typedef struct sotto_spqr_msg {
	uint64_t epoch;
	uint32_t index;
	uint8_t type;	      /* enum sotto_spqr_msg_type */
	uint16_t chunk_index; /* only for types with a chunk */
	uint8_t chunk[SOTTO_SPQR_CHUNK_BYTES];
} sotto_spqr_msg;

/* 1 if messages of this type carry a chunk. */
SOTTO_HIDDEN int sotto__spqr_msg_has_chunk(uint8_t type);

/* Writes the canonical (shortest LEB128) encoding. SOTTO_ERR_INVALID_ARGUMENT
 * for epoch 0 or an unknown type, SOTTO_ERR_BUFFER_TOO_SMALL if outcap is
 * short (SOTTO_SPQR_MSG_MAX_BYTES always suffices). */
SOTTO_HIDDEN int sotto__spqr_msg_encode(const sotto_spqr_msg *msg, uint8_t *out, size_t outcap,
					size_t *outlen);

/* Parses a V1 message. Like libsignal it ignores bytes after the message
 * (*consumed, if not NULL, tells how many were used) and accepts non-minimal
 * LEB128. Stricter than libsignal, a 10-byte varint whose value does not fit
 * in 64 bits is refused (libsignal silently drops the high bits). Returns
 * SOTTO_ERR_INVALID_MESSAGE for an empty or truncated input, a first byte
 * other than 0x01, epoch 0, an index above 2^32-1, an unknown type, or a chunk
 * index above 65535. Version handling (an empty pq_ratchet field means V0, an
 * unknown first byte is ignored) is the caller's business. */
SOTTO_HIDDEN int sotto__spqr_msg_decode(sotto_spqr_msg *msg, const uint8_t *in, size_t inlen,
					size_t *consumed);

/* ---- Authenticator (§5.5) ---- */
typedef struct sotto_spqr_auth {
	uint8_t root[32];
	uint8_t mac[32];
} sotto_spqr_auth;

/* root = mac = 0, then update(1, auth_key). keylen <= 64. */
SOTTO_HIDDEN int sotto__spqr_auth_init(sotto_spqr_auth *auth, const uint8_t *auth_key,
				       size_t keylen);
/* O = HKDF(0, root || key, "Signal_PQCKA_V1_MLKEM768:Authenticator Update" || BE64(epoch), 64);
 * root = O[0:32], mac = O[32:64]. keylen <= 64. */
SOTTO_HIDDEN int sotto__spqr_auth_update(sotto_spqr_auth *auth, uint64_t epoch, const uint8_t *key,
					 size_t keylen);
/* HMAC(mac, "Signal_PQCKA_V1_MLKEM768:ekheader" || BE64(epoch) || hdr) */
SOTTO_HIDDEN int sotto__spqr_auth_mac_hdr(const sotto_spqr_auth *auth, uint64_t epoch,
					  const uint8_t *hdr, size_t hdrlen,
					  uint8_t out[SOTTO_SPQR_MAC_BYTES]);
/* HMAC(mac, "Signal_PQCKA_V1_MLKEM768:ciphertext" || BE64(epoch) || ct1 || ct2) */
SOTTO_HIDDEN int sotto__spqr_auth_mac_ct(const sotto_spqr_auth *auth, uint64_t epoch,
					 const uint8_t *ct1, size_t ct1len, const uint8_t *ct2,
					 size_t ct2len, uint8_t out[SOTTO_SPQR_MAC_BYTES]);
/* Constant-time checks: 0, or SOTTO_ERR_INVALID_MESSAGE if the MAC differs. */
SOTTO_HIDDEN int sotto__spqr_auth_verify_hdr(const sotto_spqr_auth *auth, uint64_t epoch,
					     const uint8_t *hdr, size_t hdrlen,
					     const uint8_t mac[SOTTO_SPQR_MAC_BYTES]);
SOTTO_HIDDEN int sotto__spqr_auth_verify_ct(const sotto_spqr_auth *auth, uint64_t epoch,
					    const uint8_t *ct1, size_t ct1len, const uint8_t *ct2,
					    size_t ct2len, const uint8_t mac[SOTTO_SPQR_MAC_BYTES]);
/* Wipes the keys. */
SOTTO_HIDDEN void sotto__spqr_auth_clear(sotto_spqr_auth *auth);

/* ---- Symmetric chain (§5.3) ---- */
enum sotto_spqr_direction {
	SOTTO_SPQR_A2B = 0, /* the session initiator */
	SOTTO_SPQR_B2A = 1,
};

#define SOTTO_SPQR_DEFAULT_MAX_JUMP 25000u
#define SOTTO_SPQR_DEFAULT_MAX_OOO_KEYS 2000u

/* Why a chain call failed (the return code says how bad). */
enum sotto_spqr_chain_why {
	SOTTO_SPQR_CHAIN_OK = 0,
	SOTTO_SPQR_CHAIN_KEY_JUMP,	       /* index too far ahead: SOTTO_ERR_INVALID_MESSAGE */
	SOTTO_SPQR_CHAIN_KEY_TRIMMED,	       /* index too old: SOTTO_ERR_INVALID_MESSAGE */
	SOTTO_SPQR_CHAIN_KEY_ALREADY_REQUESTED, /* SOTTO_ERR_DUPLICATE_MESSAGE */
	SOTTO_SPQR_CHAIN_EPOCH_OUT_OF_RANGE,   /* SOTTO_ERR_INVALID_MESSAGE */
	SOTTO_SPQR_CHAIN_SEND_EPOCH_DECREASED, /* SOTTO_ERR_INVALID_ARGUMENT */
	SOTTO_SPQR_CHAIN_EXHAUSTED,	       /* counter at 2^32-1: SOTTO_ERR_INVALID_ARGUMENT */
};

typedef struct sotto_spqr_chain sotto_spqr_chain;

/* Epoch 0 from auth_key: G = HKDF(0, auth_key, "Signal PQ Ratchet V1 Chain  Start", 96).
 * max_jump / max_ooo_keys of 0 mean the defaults (25 000 / 2 000); libsignal
 * uses max_jump = 2^32-1 for a session with oneself. *out is NULL on error. */
SOTTO_HIDDEN int sotto__spqr_chain_new(sotto_spqr_chain **out, const uint8_t *auth_key,
				       size_t keylen, enum sotto_spqr_direction dir,
				       uint32_t max_jump, uint32_t max_ooo_keys);
/* Wipes and frees; NULL is fine. */
SOTTO_HIDDEN void sotto__spqr_chain_free(sotto_spqr_chain *chain);
/* A deep copy, for work-on-a-copy decryption. */
SOTTO_HIDDEN int sotto__spqr_chain_clone(sotto_spqr_chain **out, const sotto_spqr_chain *chain);

SOTTO_HIDDEN uint64_t sotto__spqr_chain_current_epoch(const sotto_spqr_chain *chain);

/* Adds epoch `epoch` (must be current + 1, else SOTTO_ERR_INVALID_ARGUMENT)
 * with secret S_e (32 bytes). */
SOTTO_HIDDEN int sotto__spqr_chain_add_epoch(sotto_spqr_chain *chain, uint64_t epoch,
					     const uint8_t secret[SOTTO_SPQR_KEY_BYTES]);

/* Next key of our own direction in chain epoch `epoch`; *index gets its
 * counter (the first key has index 1). Moving the send epoch forward drops
 * all but one earlier epoch and forgets their send chains. The state changes
 * only on success. why may be NULL. */
SOTTO_HIDDEN int sotto__spqr_chain_send_key(sotto_spqr_chain *chain, uint64_t epoch,
					    uint32_t *index, uint8_t key[SOTTO_SPQR_KEY_BYTES],
					    enum sotto_spqr_chain_why *why);
/* Key `index` of the peer's direction in chain epoch `epoch`. Keys skipped on
 * the way are kept (back to counter - max_ooo_keys); each key is handed out
 * once. The state changes only on success (SOTTO_ERR_NOMEM leaves it as is).
 * why may be NULL. */
SOTTO_HIDDEN int sotto__spqr_chain_recv_key(sotto_spqr_chain *chain, uint64_t epoch,
					    uint32_t index, uint8_t key[SOTTO_SPQR_KEY_BYTES],
					    enum sotto_spqr_chain_why *why);

/* The same, addressed by the header of a wire message: a message with epoch
 * field E (>= 1) uses chain epoch E - 1. recv: the message (E = 1, index 0)
 * carries no key (*has_key = 0), as in SPQR's recv. */
SOTTO_HIDDEN int sotto__spqr_chain_msg_send_key(sotto_spqr_chain *chain, uint64_t msg_epoch,
						uint32_t *index, uint8_t key[SOTTO_SPQR_KEY_BYTES],
						enum sotto_spqr_chain_why *why);
SOTTO_HIDDEN int sotto__spqr_chain_msg_recv_key(sotto_spqr_chain *chain, uint64_t msg_epoch,
						uint32_t index, uint8_t key[SOTTO_SPQR_KEY_BYTES],
						int *has_key, enum sotto_spqr_chain_why *why);

/* Storage format (never on the wire; our own, not libsignal's protobuf):
 *   0x01 || dir u8 || max_jump BE32 || max_ooo BE32 || current_epoch BE64 ||
 *   send_epoch BE64 || next_root[32] || nlinks BE32 || links (oldest first)
 *   link = dirstate(send) || dirstate(recv)
 *   dirstate = flags u8 (bit 0: next present) || ctr BE32 || [next 32] ||
 *              nkeys BE32 || nkeys * (index BE32 || key 32)
 * sotto__spqr_chain_deserialize accepts only what serialize produces, so
 * the bytes round-trip exactly. It holds secrets: store it encrypted. */
SOTTO_HIDDEN size_t sotto__spqr_chain_serialized_size(const sotto_spqr_chain *chain);
SOTTO_HIDDEN int sotto__spqr_chain_serialize(const sotto_spqr_chain *chain, uint8_t *out,
					     size_t outcap, size_t *outlen);
/* SOTTO_ERR_INVALID_ARGUMENT for malformed or inconsistent input. */
SOTTO_HIDDEN int sotto__spqr_chain_deserialize(sotto_spqr_chain **out, const uint8_t *in,
					       size_t inlen);

#endif
