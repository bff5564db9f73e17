/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Key transparency, sans-I/O: an append-only Merkle log with RFC 9162
 * (RFC 6962) hashing, inclusion and consistency proofs, a storage interface
 * that yields proofs in O(log n) reads, signed tree heads, a client's view of
 * the log, and the KT leaf encoding. Design and formats: docs/key-transparency.md.
 *
 * Hashing (SHA-256): leaf = H(0x00 || data), node = H(0x01 || left || right),
 * empty tree = H(""). A "hash" below is always SOTTO_KT_HASH_BYTES bytes; a
 * proof is `count` hashes laid out back to back (count * 32 bytes), lowest
 * level first, as in RFC 9162 sections 2.1.3 and 2.1.4.
 *
 * Errors shared by every verifier: SOTTO_ERR_INVALID_ARGUMENT for inputs that
 * cannot describe a proof at all (NULL pointers, a hash that is not 32 bytes,
 * index >= size, size1 > size2, size1 == 0 < size2) and SOTTO_ERR_KT_PROOF for
 * a well-formed proof that does not prove the claim (wrong number of hashes,
 * wrong hashes, roots that do not match). Both mean: reject. */
#ifndef SOTTO_KT_H
#define SOTTO_KT_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"
#include "sotto/hash.h"
#include "sotto/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_KT_HASH_BYTES 32
/* Longest inclusion or consistency proof for any 64-bit tree size. */
#define SOTTO_KT_MAX_PROOF_HASHES 65
/* Most (node, hash) pairs one append asks the caller to store. */
#define SOTTO_KT_MAX_APPEND_NODES 64
/* Most nodes a single sotto_kt_store.get call is asked for. */
#define SOTTO_KT_MAX_READ_NODES 130

/* ---- Hashing ---------------------------------------------------------- */

SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_leaf_hash(uint8_t out[SOTTO_KT_HASH_BYTES],
						      const uint8_t *data, size_t len);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_node_hash(uint8_t out[SOTTO_KT_HASH_BYTES],
						      const uint8_t left[SOTTO_KT_HASH_BYTES],
						      const uint8_t right[SOTTO_KT_HASH_BYTES]);
/* The root of the empty tree, SHA-256(""). */
SOTTO_EXPORT void sotto_kt_empty_root(uint8_t out[SOTTO_KT_HASH_BYTES]);

/* ---- Reference (whole-tree) computations -------------------------------
 * These take all n leaf hashes (n * 32 bytes) and follow the recursive
 * definitions of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 literally: O(n) hashing
 * per call. Auditors and tests use them; servers use the store functions. */

/* MTH(D[n]); n == 0 gives the empty root. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_root(uint8_t out[SOTTO_KT_HASH_BYTES],
						 const uint8_t *leaf_hashes, uint64_t n);
/* PATH(index, D[n]) into proof (cap hashes); *count gets its length.
 * SOTTO_ERR_INVALID_ARGUMENT if index >= n, SOTTO_ERR_BUFFER_TOO_SMALL. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_inclusion_proof(uint8_t *proof, size_t cap,
							    size_t *count,
							    const uint8_t *leaf_hashes,
							    uint64_t n, uint64_t index);
/* PROOF(size1, D[size2]). size1 == size2 gives the empty proof;
 * SOTTO_ERR_INVALID_ARGUMENT if size1 > size2 or size1 == 0 < size2 (a
 * consistency proof from the empty tree is meaningless: every tree extends it). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_consistency_proof(uint8_t *proof, size_t cap,
							      size_t *count,
							      const uint8_t *leaf_hashes,
							      uint64_t size1, uint64_t size2);

/* ---- Verification (RFC 9162 2.1.3.2 and 2.1.4.2) ---------------------- */

/* 0 iff proof shows that leaf_hash is leaf number index (0-based) of the tree
 * of the given size and root. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_verify_inclusion(
	const uint8_t leaf_hash[SOTTO_KT_HASH_BYTES], uint64_t index, uint64_t size,
	const uint8_t *proof, size_t count, const uint8_t root[SOTTO_KT_HASH_BYTES]);

/* 0 iff proof shows that the tree (size2, root2) extends (size1, root1).
 * size1 == size2 needs an empty proof and root1 == root2 (and, for size 0,
 * the empty root). size1 == 0 < size2 is SOTTO_ERR_INVALID_ARGUMENT. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_verify_consistency(
	uint64_t size1, uint64_t size2, const uint8_t root1[SOTTO_KT_HASH_BYTES],
	const uint8_t root2[SOTTO_KT_HASH_BYTES], const uint8_t *proof, size_t count);

/* The same checks on untrusted buffers of any length (e.g. fields of a
 * decoded message): every hash (leaf, roots, each proof element) must be
 * exactly 32 bytes, else SOTTO_ERR_INVALID_ARGUMENT before any hashing. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_verify_inclusion_buf(
	const uint8_t *leaf_hash, size_t leaf_hash_len, uint64_t index, uint64_t size,
	const sotto_iov *proof, size_t count, const uint8_t *root, size_t root_len);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_verify_consistency_buf(
	uint64_t size1, uint64_t size2, const uint8_t *root1, size_t root1_len,
	const uint8_t *root2, size_t root2_len, const sotto_iov *proof, size_t count);

/* ---- Stored subtrees ----------------------------------------------------
 * The server stores the hash of every complete, aligned subtree: node
 * (level, index) covers leaves [index << level, (index + 1) << level); level
 * 0 nodes are the leaf hashes. A node is written once, when its last leaf is
 * appended, and never changes, so the store also answers for every earlier
 * tree size. About 2n nodes for n leaves. */
typedef struct sotto_kt_node {
	uint8_t level;
	uint64_t index;
} sotto_kt_node;

/* Read side, supplied by the caller. get fills hashes + 32 * i with the hash
 * of nodes[i] for i < n (n <= SOTTO_KT_MAX_READ_NODES) and returns 0,
 * SOTTO_ERR_NOT_FOUND if any node is missing, or another negative error,
 * which is passed back to the caller. One call per proof or root, so a
 * database can answer it with one query. */
typedef struct sotto_kt_store {
	void *ctx;
	int (*get)(void *ctx, const sotto_kt_node *nodes, size_t n, uint8_t *hashes);
} sotto_kt_store;

/* Root of the first size leaves: popcount(size) nodes, one get call. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_store_root(const sotto_kt_store *store, uint64_t size,
						       uint8_t root[SOTTO_KT_HASH_BYTES]);
/* As sotto_kt_inclusion_proof / sotto_kt_consistency_proof (same results,
 * same errors) from at most 2 * 64 stored nodes read in one get call. The
 * store must hold at least size (size2) leaves. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_store_inclusion_proof(const sotto_kt_store *store,
								  uint64_t index, uint64_t size,
								  uint8_t *proof, size_t cap,
								  size_t *count);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_store_consistency_proof(const sotto_kt_store *store,
								    uint64_t size1, uint64_t size2,
								    uint8_t *proof, size_t cap,
								    size_t *count);

/* Write side: the compact range [0, size), i.e. the roots of the complete
 * subtrees that make up the tree (hash[h] is meaningful iff bit h of size is
 * set). It is all an appender needs: appends read nothing from the store.
 * Plain stack state; do not rely on its layout across versions. */
typedef struct sotto_kt_frontier {
	uint64_t size;
	uint8_t hash[64][SOTTO_KT_HASH_BYTES];
} sotto_kt_frontier;

/* The empty tree. */
SOTTO_EXPORT void sotto_kt_frontier_init(sotto_kt_frontier *f);
/* Rebuilds the frontier of a stored tree of the given size (popcount(size)
 * reads). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_frontier_load(sotto_kt_frontier *f,
							  const sotto_kt_store *store,
							  uint64_t size);
/* Appends one leaf hash and lists the nodes that became complete: the leaf
 * itself (level 0) and each parent it completed, lowest first, into nodes[] and
 * hashes (32 bytes each, room for SOTTO_KT_MAX_APPEND_NODES). The caller
 * stores them (in the same transaction as the change the leaf records); on
 * average two per append. f is unchanged on error. SOTTO_ERR_LIMIT when the
 * tree has 2^64 - 1 leaves. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_frontier_append(
	sotto_kt_frontier *f, const uint8_t leaf_hash[SOTTO_KT_HASH_BYTES],
	sotto_kt_node nodes[SOTTO_KT_MAX_APPEND_NODES], uint8_t *hashes, size_t *n_nodes);
/* Root of the frontier's tree (no reads). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_frontier_root(const sotto_kt_frontier *f,
							  uint8_t root[SOTTO_KT_HASH_BYTES]);

/* An in-memory store (tests, clients, auditors, benchmarks): a frontier plus
 * every node, in chunked per-level arrays (about 64 bytes per leaf). */
typedef struct sotto_kt_memstore sotto_kt_memstore;

SOTTO_EXPORT sotto_kt_memstore *sotto_kt_memstore_new(void);
SOTTO_EXPORT void sotto_kt_memstore_free(sotto_kt_memstore *ms);
/* Appends a leaf hash (sotto_kt_frontier_append, then stores the nodes).
 * SOTTO_ERR_NOMEM leaves the store unchanged. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_memstore_append(sotto_kt_memstore *ms,
							    const uint8_t leaf_hash[SOTTO_KT_HASH_BYTES]);
SOTTO_EXPORT uint64_t sotto_kt_memstore_size(const sotto_kt_memstore *ms);
/* Current root, from the frontier (no reads). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_memstore_root(const sotto_kt_memstore *ms,
							  uint8_t root[SOTTO_KT_HASH_BYTES]);
/* The read interface over ms, valid while ms lives. */
SOTTO_EXPORT sotto_kt_store sotto_kt_memstore_store(sotto_kt_memstore *ms);
/* Bytes of heap the store holds (for benchmarks). */
SOTTO_EXPORT size_t sotto_kt_memstore_bytes(const sotto_kt_memstore *ms);

/* ---- Signed tree heads ---------------------------------------------------
 * The server's KT key is an Ed25519 key (RFC 8032; sotto/ed25519.h): a 32-byte
 * seed on the server, a 32-byte public key that clients pin. The log id is the
 * key id: SHA-256("sotto-kt-log-id" || 0xED || pub), so every head names the
 * key (and algorithm) that signed it.
 * Encoding (version 2), all integers big-endian, 81 bytes:
 *   u8 version (2) | log_id[32] | u64 size | root[32] | u64 timestamp_ms
 * A signed head is that encoding followed by a 64-byte Ed25519 signature by
 * the KT key over "sotto-kt-sth-v2" (15 bytes) || encoding. Version 1 (an
 * XEdDSA signature by an X25519 key, log id type byte 0x05) was never
 * deployed and is not accepted. */
#define SOTTO_KT_HEAD_VERSION 2
#define SOTTO_KT_LOG_ID_BYTES 32
#define SOTTO_KT_HEAD_BYTES 81
#define SOTTO_KT_SIGNED_HEAD_BYTES (SOTTO_KT_HEAD_BYTES + 64)
#define SOTTO_KT_KEY_BYTES 32         /* Ed25519 seed or public key */
#define SOTTO_KT_KEY_TYPE_ED25519 0xED /* the type byte in the log id */

typedef struct sotto_kt_head {
	uint8_t log_id[SOTTO_KT_LOG_ID_BYTES];
	uint64_t size;
	uint8_t root[SOTTO_KT_HASH_BYTES];
	uint64_t timestamp_ms;
} sotto_kt_head;

typedef struct sotto_kt_signed_head {
	sotto_kt_head head;
	uint8_t sig[64];
} sotto_kt_signed_head;

/* The log id of the Ed25519 KT public key pub (see above). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_log_id(uint8_t out[SOTTO_KT_LOG_ID_BYTES],
						   const uint8_t pub[32]);

SOTTO_EXPORT void sotto_kt_head_encode(uint8_t out[SOTTO_KT_HEAD_BYTES], const sotto_kt_head *h);
SOTTO_EXPORT void sotto_kt_signed_head_encode(uint8_t out[SOTTO_KT_SIGNED_HEAD_BYTES],
					      const sotto_kt_signed_head *sh);
/* Parses exactly SOTTO_KT_SIGNED_HEAD_BYTES bytes; anything else, or another
 * version, is SOTTO_ERR_INVALID_MESSAGE. Does not verify the signature. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_signed_head_decode(sotto_kt_signed_head *sh,
							       const uint8_t *in, size_t len);

/* Signs h with the server's KT key (the Ed25519 seed; signing is
 * deterministic). SOTTO_ERR_INVALID_MESSAGE for a head of size 0 whose root
 * is not the empty root. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_head_sign(sotto_kt_signed_head *out,
						      const sotto_kt_head *h,
						      const uint8_t seed[SOTTO_KT_KEY_BYTES]);
/* 0 iff the signature is valid under the Ed25519 public key pub (strict
 * RFC 8032 verification), the log id equals log_id, and a size-0 head carries
 * the empty root. Errors:
 * SOTTO_ERR_INVALID_SIGNATURE, SOTTO_ERR_INVALID_MESSAGE (wrong log, bad
 * empty root). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_head_verify(const sotto_kt_signed_head *sh,
							const uint8_t pub[32],
							const uint8_t log_id[SOTTO_KT_LOG_ID_BYTES]);

/* ---- A client's view of the log -----------------------------------------
 * Holds the server's KT key, the log id and the latest verified head. */
typedef struct sotto_kt_view sotto_kt_view;

SOTTO_EXPORT sotto_kt_view *sotto_kt_view_new(const uint8_t pub[32],
					      const uint8_t log_id[SOTTO_KT_LOG_ID_BYTES]);
SOTTO_EXPORT void sotto_kt_view_free(sotto_kt_view *v);
/* Copies the current head out; SOTTO_ERR_NOT_FOUND while the view is empty. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_view_head(const sotto_kt_view *v,
						      sotto_kt_signed_head *out);

/* Offers a head from the server with a consistency proof from the view's
 * size to the head's size (count 0 when the view is empty, the sizes are
 * equal, or the view's size is 0). On success the view holds the new head.
 * Rules, checked after the signature (sotto_kt_head_verify's errors):
 *  - empty view: accepted (first use);
 *  - smaller size, or equal size and root with an older time:
 *    SOTTO_ERR_KT_STALE (a replayed old head);
 *  - equal size, different root: SOTTO_ERR_KT_FORK;
 *  - equal size and root, same time: 0, nothing changes; newer time: adopted;
 *  - larger size: the proof must verify, else SOTTO_ERR_KT_FORK; a time
 *    earlier than the view's is SOTTO_ERR_INVALID_MESSAGE.
 * The view is unchanged on any error. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_view_update(sotto_kt_view *v,
							const sotto_kt_signed_head *sh,
							const uint8_t *proof, size_t count);

/* Checks a head a contact sent (inside an end-to-end message) against the
 * view, without changing it. proof is a consistency proof from the smaller
 * of the two sizes to the larger (empty if equal, or if the smaller is 0).
 * 0 if both heads belong to one append-only log; SOTTO_ERR_KT_FORK if they
 * cannot (equal sizes with different roots, or a proof that fails);
 * signature errors as sotto_kt_head_verify; SOTTO_ERR_NOT_FOUND if the view is
 * empty. A newer, consistent peer head may then be given to
 * sotto_kt_view_update with the same proof. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_view_check_peer(const sotto_kt_view *v,
							    const sotto_kt_signed_head *peer,
							    const uint8_t *proof, size_t count);

/* ---- KT leaves -------------------------------------------------------------
 * One log entry per binding the server hands out. Encoding (version 2), fixed
 * 95 bytes, integers big-endian:
 *   u8 version (2) | u8 event | account[16] | u32 device_id |
 *   identity_key[33] (0x05 || u) | transport_key[32] | u64 timestamp_ms
 * transport_key is the device's Noise static public key (X25519), the key
 * the server authenticates the device's connections with. ADD leaves carry
 * the key the device registered or linked with; REMOVE and KEY_CHANGE leaves
 * the device's key at that moment (all zero in a REMOVE leaf of a device that
 * had no earlier leaf). Version 1 (63 bytes, without transport_key) was never
 * deployed and is not parsed.
 * The leaf hash is sotto_kt_leaf_hash over these bytes. */
#define SOTTO_KT_LEAF_VERSION 2
#define SOTTO_KT_LEAF_BYTES 95
#define SOTTO_KT_ACCOUNT_BYTES 16
#define SOTTO_KT_TRANSPORT_KEY_BYTES 32

enum sotto_kt_event {
	SOTTO_KT_EVENT_ADD = 1,        /* device added (registration or link) */
	SOTTO_KT_EVENT_REMOVE = 2,     /* device unlinked */
	SOTTO_KT_EVENT_KEY_CHANGE = 3, /* identity key changed */
};

typedef struct sotto_kt_leaf {
	uint8_t event; /* enum sotto_kt_event */
	uint8_t account[SOTTO_KT_ACCOUNT_BYTES];
	uint32_t device_id;
	uint8_t identity_key[33];
	uint8_t transport_key[SOTTO_KT_TRANSPORT_KEY_BYTES];
	uint64_t timestamp_ms;
} sotto_kt_leaf;

/* SOTTO_ERR_INVALID_ARGUMENT for an unknown event or an identity key whose
 * type byte is not 0x05. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_leaf_encode(uint8_t out[SOTTO_KT_LEAF_BYTES],
							const sotto_kt_leaf *leaf);
/* Parses exactly SOTTO_KT_LEAF_BYTES bytes; any other length, version, event
 * or key type is SOTTO_ERR_INVALID_MESSAGE. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_leaf_decode(sotto_kt_leaf *leaf, const uint8_t *in,
							size_t len);
/* sotto_kt_leaf_hash of the encoding. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kt_leaf_entry_hash(uint8_t out[SOTTO_KT_HASH_BYTES],
							    const sotto_kt_leaf *leaf);

#ifdef __cplusplus
}
#endif
#endif
