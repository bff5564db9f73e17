/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sottod's storage interface (DESIGN.md §2, §6).
 *
 * The store holds accounts, devices, prekeys, invite codes, attachment
 * metadata and per-device queues of opaque envelopes. It never sees a key
 * that opens a message: every byte string it keeps is public key material
 * or ciphertext chosen by a client.
 *
 * A store is a table of function pointers (struct sotto_store_ops) plus an
 * opaque backend handle, so a second backend (PostgreSQL) can be added
 * without touching the request handlers. Call through the sotto_store_*
 * wrappers below; sotto_store_open_sqlite() creates the default backend.
 *
 * Threads: every call may be made from any thread, concurrently. Reads run
 * on a connection of their own (one per concurrent caller, i.e. one per
 * worker thread) and block. Writes go to the backend's writer, which
 * group-commits them: a write returns (or calls back) only after the
 * transaction that holds it has committed durably, so "returned 0" means
 * "acknowledged, will survive a crash or power loss".
 *
 * Blocking or callback: every write takes a `const sotto_store_cb *cb`.
 * With cb == NULL the call blocks and returns the result. With a callback
 * the call returns 0 at once (or an error if the request could not be
 * queued, in which case cb is never called) and cb->fn(cb->arg, rc) runs
 * later on the writer thread with the result; every pointer argument
 * (inputs and outputs) must then stay valid until the callback has run. The
 * callback must not block for long or call into the store; the event loop
 * glue forwards it with uv_async_send. Reads are blocking only (wrap them
 * in uv_queue_work).
 *
 * Times are milliseconds since the Unix epoch, passed in by the caller.
 * Errors (negative, include/sotto/error.h):
 *   SOTTO_ERR_INVALID_ARGUMENT  bad sizes, device ids, NULL pointers, oversized content
 *   SOTTO_ERR_NOT_FOUND         no such account, device, invite, attachment
 *   SOTTO_ERR_EXISTS            a Noise key that is already registered
 *   SOTTO_ERR_QUEUE_FULL        a destination queue is at max_queue_len
 *   SOTTO_ERR_LIMIT             no free device id (127 linked devices)
 *   SOTTO_ERR_BUFFER_TOO_SMALL  output capacity too small for even one item
 *   SOTTO_ERR_STORAGE           the database failed (full disk, I/O error, ...);
 *                               data committed before is intact
 *   SOTTO_ERR_VERSION_MISMATCH  (open) the database has a newer schema
 *   SOTTO_ERR_NOMEM             out of memory
 * A write that fails changes nothing. */
#ifndef SOTTO_SERVER_STORE_H
#define SOTTO_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"
#include "sotto/kt.h"

#define SOTTO_STORE_ID_BYTES 16 /* account and attachment ids: random UUID bytes */
#define SOTTO_STORE_NOISE_KEY_BYTES 32 /* X25519 Noise static public key */
#define SOTTO_STORE_EC_KEY_BYTES 33 /* 0x05 || X25519 public key (identity, EC prekeys) */
#define SOTTO_STORE_SIG_BYTES 64 /* XEdDSA signature */
#define SOTTO_STORE_KEM_KEY_BYTES 1569 /* 0x08 || ML-KEM-1024 public key */
#define SOTTO_STORE_DIGEST_BYTES 32 /* attachment digest (SHA-256 of the encrypted blob) */
#define SOTTO_STORE_INVITE_BYTES 16 /* invite code, random */
#define SOTTO_STORE_MAX_DEVICE_ID 127
#define SOTTO_STORE_MAX_DEVICE_NAME 256 /* encrypted device name blob */
#define SOTTO_STORE_PRIMARY_DEVICE_ID 1

/* How an account was registered. */
enum sotto_store_reg_mode {
	SOTTO_STORE_REG_OPEN = 0, /* open registration */
	SOTTO_STORE_REG_INVITE = 1, /* consumed an invite code */
};

typedef void (*sotto_store_done_fn)(void *arg, int rc);
typedef struct sotto_store_cb {
	sotto_store_done_fn fn;
	void *arg;
} sotto_store_cb;

/* Log hook: level 0 = error, 1 = warning, 2 = info. Messages carry no key,
 * content or invite code, only SQLite's own error text and counts. */
typedef void (*sotto_store_log_fn)(void *arg, int level, const char *msg);

typedef struct sotto_store_config {
	const char *data_dir; /* required: holds sotto.db and attachments/ (created if absent) */
	size_t max_envelope_bytes; /* 0: 256 KiB */
	uint32_t max_queue_len; /* envelopes per device; 0: 10000 */
	unsigned batch_max; /* write requests per group commit; 0: 256; 1: no group commit */
	unsigned batch_wait_us; /* extra time the writer waits to fill a batch; 0: none */
	unsigned max_readers; /* reader connections; 0: 16 */
	int busy_timeout_ms; /* 0: 5000 */
	uint32_t max_page_count; /* cap on database pages (a disk quota); 0: none */
	sotto_store_log_fn log;
	void *log_arg;
	/* The 32-byte X25519 key that signs key transparency tree heads
	 * (copied); NULL: the log grows but no head is signed. */
	const uint8_t *kt_key;
} sotto_store_config;

typedef struct sotto_store_account {
	uint8_t id[SOTTO_STORE_ID_BYTES];
	int64_t created_ms;
	int reg_mode; /* enum sotto_store_reg_mode */
} sotto_store_account;

/* A device as the client registers it. */
typedef struct sotto_store_new_device {
	uint32_t registration_id; /* 1..16380 in Signal; stored as given (0 rejected) */
	uint8_t noise_key[SOTTO_STORE_NOISE_KEY_BYTES];
	uint8_t identity_key[SOTTO_STORE_EC_KEY_BYTES];
	const uint8_t *name; /* encrypted name blob, may be NULL when name_len == 0 */
	size_t name_len; /* <= SOTTO_STORE_MAX_DEVICE_NAME */
} sotto_store_new_device;

typedef struct sotto_store_device {
	uint8_t account_id[SOTTO_STORE_ID_BYTES];
	uint32_t device_id;
	uint32_t registration_id;
	uint8_t noise_key[SOTTO_STORE_NOISE_KEY_BYTES]; /* zero once unlinked */
	uint8_t identity_key[SOTTO_STORE_EC_KEY_BYTES];
	uint8_t name[SOTTO_STORE_MAX_DEVICE_NAME];
	size_t name_len;
	int64_t created_ms;
	int64_t last_seen_ms;
	int linked; /* 0 after sotto_store_device_remove */
	int64_t unlinked_ms; /* 0 while linked */
} sotto_store_device;

typedef struct sotto_store_ec_prekey {
	uint32_t id;
	uint8_t pub[SOTTO_STORE_EC_KEY_BYTES];
} sotto_store_ec_prekey;

typedef struct sotto_store_signed_prekey {
	uint32_t id;
	uint8_t pub[SOTTO_STORE_EC_KEY_BYTES];
	uint8_t sig[SOTTO_STORE_SIG_BYTES];
} sotto_store_signed_prekey;

typedef struct sotto_store_kem_prekey {
	uint32_t id;
	uint8_t pub[SOTTO_STORE_KEM_KEY_BYTES];
	uint8_t sig[SOTTO_STORE_SIG_BYTES];
} sotto_store_kem_prekey;

/* An upload. Each non-empty part replaces what the device had of that kind:
 * ec/kem arrays replace the whole one-time set (as Signal's server does,
 * so a client never has to know which ids are left); signed/last_resort
 * replace the single stored key. Ids within one array must be distinct. */
typedef struct sotto_store_prekeys {
	const sotto_store_ec_prekey *ec;
	size_t ec_count;
	const sotto_store_kem_prekey *kem;
	size_t kem_count;
	const sotto_store_signed_prekey *signed_prekey; /* NULL: keep */
	const sotto_store_kem_prekey *last_resort; /* NULL: keep */
} sotto_store_prekeys;

#define SOTTO_STORE_MAX_PREKEY_UPLOAD 1000 /* per kind, per upload */
#define SOTTO_STORE_MAX_ENQUEUE 10000 /* envelopes per enqueue call */
#define SOTTO_STORE_MAX_ACK 10000 /* sequence numbers per ack call */

typedef struct sotto_store_prekey_counts {
	uint32_t ec; /* one-time EC prekeys left */
	uint32_t kem; /* one-time KEM prekeys left (not counting the last-resort key) */
	int has_signed;
	int has_last_resort;
} sotto_store_prekey_counts;

/* One device's bundle. The one-time keys in it have been deleted from the
 * store in the same transaction that read them. */
typedef struct sotto_store_bundle {
	uint32_t device_id;
	uint32_t registration_id;
	uint8_t identity_key[SOTTO_STORE_EC_KEY_BYTES];
	int has_signed;
	sotto_store_signed_prekey signed_prekey;
	int has_ec; /* 0 when the device had no one-time EC prekey left */
	sotto_store_ec_prekey ec;
	int has_kem; /* 0 only when the device has neither one-time nor last-resort KEM keys */
	int kem_is_last_resort; /* 1: kem is the (reusable) last-resort key */
	sotto_store_kem_prekey kem;
	/* One-time keys the device has left after this fetch (read in the same
	 * transaction), so the caller can tell a device that runs low without
	 * another read. */
	uint32_t ec_left, kem_left;
} sotto_store_bundle;

/* A linked device as a sender needs it to check a device list. */
typedef struct sotto_store_device_reg {
	uint32_t device_id;
	uint32_t registration_id;
} sotto_store_device_reg;

/* Envelope to enqueue. Sealed sender envelopes have no sender. */
typedef struct sotto_store_envelope_in {
	uint8_t dest_account[SOTTO_STORE_ID_BYTES];
	uint32_t dest_device;
	int sealed; /* 1: sender fields ignored and stored as absent */
	uint8_t sender_account[SOTTO_STORE_ID_BYTES];
	uint32_t sender_device;
	uint32_t type; /* envelope type, opaque to the store */
	const uint8_t *content;
	size_t content_len; /* 1..max_envelope_bytes */
} sotto_store_envelope_in;

typedef struct sotto_store_envelope {
	uint64_t seq; /* per device, assigned at enqueue, strictly increasing, never reused */
	int64_t server_ms;
	int sealed;
	uint8_t sender_account[SOTTO_STORE_ID_BYTES]; /* zero when sealed */
	uint32_t sender_device;
	uint32_t type;
	const uint8_t *content; /* points into the caller's buffer (see queue_fetch) */
	size_t content_len;
} sotto_store_envelope;

typedef struct sotto_store_attachment {
	uint8_t id[SOTTO_STORE_ID_BYTES];
	uint64_t size;
	uint8_t digest[SOTTO_STORE_DIGEST_BYTES];
	int64_t created_ms;
	int complete; /* 1 once the whole blob is on disk */
} sotto_store_attachment;

typedef struct sotto_store_stats {
	uint64_t commits; /* write transactions committed */
	uint64_t requests; /* write requests completed (ok or not) */
	uint64_t retried; /* requests re-run alone after a batch hit a storage error */
} sotto_store_stats;

/* A key transparency inclusion proof: leaf number index of the tree of the
 * given size, its 63-byte encoding, and count proof hashes (32 bytes each). */
typedef struct sotto_store_kt_proof {
	uint64_t index;
	uint64_t size;
	uint8_t leaf[SOTTO_KT_LEAF_BYTES];
	size_t count;
	uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * SOTTO_KT_HASH_BYTES];
} sotto_store_kt_proof;

#define SOTTO_STORE_KT_MAX_LEAVES 1024 /* leaves per kt_leaves call */

/* The backend's function table. Every entry gets the backend handle first;
 * contracts are those of the wrappers below. */
struct sotto_store_ops {
	const char *name;
	void (*close)(void *be);
	void (*stats)(void *be, sotto_store_stats *out);

	int (*account_create)(void *be, const uint8_t *invite, size_t invite_len,
		const sotto_store_new_device *dev, int64_t now_ms,
		uint8_t account_id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb);
	int (*account_get)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		sotto_store_account *out);

	int (*device_add)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		const sotto_store_new_device *dev, int64_t now_ms, uint32_t *device_id,
		const sotto_store_cb *cb);
	int (*device_remove)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		uint32_t device_id, int64_t now_ms, const sotto_store_cb *cb);
	int (*device_touch)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		uint32_t device_id, int64_t now_ms, const sotto_store_cb *cb);
	int (*device_by_noise_key)(void *be, const uint8_t key[SOTTO_STORE_NOISE_KEY_BYTES],
		sotto_store_device *out);
	int (*device_list)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		int include_unlinked, sotto_store_device *out, size_t cap, size_t *count);

	int (*prekeys_upload)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		uint32_t device_id, const sotto_store_prekeys *pk, const sotto_store_cb *cb);
	int (*prekeys_count)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		uint32_t device_id, sotto_store_prekey_counts *out);
	int (*bundles_fetch)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		uint32_t device_id, sotto_store_bundle *out, size_t cap, size_t *count,
		const sotto_store_cb *cb);

	int (*enqueue)(void *be, const sotto_store_envelope_in *envs, size_t n, int64_t now_ms,
		uint64_t *seqs, const sotto_store_cb *cb);
	int (*queue_fetch)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		uint32_t device_id, uint64_t from_seq, sotto_store_envelope *out, size_t cap,
		uint8_t *buf, size_t bufcap, size_t *count, int *more);
	int (*queue_ack)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		uint32_t device_id, const uint64_t *seqs, size_t n, size_t *deleted,
		const sotto_store_cb *cb);
	int (*queue_length)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		uint32_t device_id, uint64_t *len);

	int (*invite_create)(void *be, int64_t now_ms, int64_t expires_ms,
		uint8_t code[SOTTO_STORE_INVITE_BYTES], const sotto_store_cb *cb);
	int (*invite_consume)(void *be, const uint8_t *code, size_t code_len, int64_t now_ms,
		const sotto_store_cb *cb);

	int (*attachment_create)(void *be, uint64_t size,
		const uint8_t digest[SOTTO_STORE_DIGEST_BYTES], int64_t now_ms,
		uint8_t id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb);
	int (*attachment_complete)(void *be, const uint8_t id[SOTTO_STORE_ID_BYTES],
		const sotto_store_cb *cb);
	int (*attachment_delete)(void *be, const uint8_t id[SOTTO_STORE_ID_BYTES],
		const sotto_store_cb *cb);
	int (*attachment_get)(void *be, const uint8_t id[SOTTO_STORE_ID_BYTES],
		sotto_store_attachment *out);
	int (*attachment_path)(void *be, const uint8_t id[SOTTO_STORE_ID_BYTES], char *buf,
		size_t cap);

	int (*device_regs)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		sotto_store_device_reg *out, size_t cap, size_t *count);

	/* The public name directory (added with schema version 2). */
	int (*account_create_named)(void *be, const uint8_t *invite, size_t invite_len,
		const sotto_store_new_device *dev, const char *name, int64_t now_ms,
		uint8_t account_id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb);
	int (*name_lookup)(void *be, const char *name, uint8_t account_id[SOTTO_STORE_ID_BYTES]);
	int (*name_of)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES], char *name,
		size_t cap);

	/* Key transparency (schema version 3; see the kt section below). */
	int (*kt_head)(void *be, sotto_kt_signed_head *out);
	int (*kt_device_proofs)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		const uint32_t *device_ids, size_t n, uint64_t size, sotto_kt_signed_head *head,
		sotto_store_kt_proof *out);
	int (*kt_index_proof)(void *be, uint64_t index, uint64_t size, sotto_store_kt_proof *out);
	int (*kt_consistency)(void *be, uint64_t size1, uint64_t size2, uint8_t *proof,
		size_t *count);
	int (*kt_leaves)(void *be, uint64_t start, size_t max, uint8_t *leaves, size_t *count);
	int (*kt_key_change)(void *be, const uint8_t account_id[SOTTO_STORE_ID_BYTES],
		uint32_t device_id, const uint8_t identity_key[SOTTO_STORE_EC_KEY_BYTES],
		int64_t now_ms, const sotto_store_cb *cb);
};

typedef struct sotto_store {
	const struct sotto_store_ops *ops;
	void *be;
} sotto_store;

/* Opens (creating if needed) the SQLite store under cfg->data_dir, applies
 * pending schema migrations in one transaction and starts the writer thread.
 * A database written by a newer sottod is refused with
 * SOTTO_ERR_VERSION_MISMATCH. On failure a one-line reason (no secrets) is
 * written to errbuf when errbuf != NULL. */
SOTTO_WARN_UNUSED int sotto_store_open_sqlite(sotto_store **out, const sotto_store_config *cfg,
	char *errbuf, size_t errcap);

/* The schema version this build writes (the migration count). Version 2 is
 * the name directory; version 3 the key transparency log (leaves, subtree
 * hashes, latest signed head). */
int sotto_store_sqlite_schema_version(void);

/* Finishes every queued write (their callbacks run), stops the writer,
 * closes all connections and frees st. No call may be in progress or made
 * afterwards. NULL is ignored. */
static inline void sotto_store_close(sotto_store *st)
{
	if (st != NULL)
		st->ops->close(st->be);
}

static inline void sotto_store_get_stats(sotto_store *st, sotto_store_stats *out)
{
	st->ops->stats(st->be, out);
}

/* Creates an account and its primary device (id 1) atomically. With an
 * invite code (invite != NULL) the invite is consumed in the same
 * transaction (SOTTO_ERR_NOT_FOUND when unknown, used or expired, and then
 * nothing is created); without one the account is an open registration.
 * A Noise key that is already registered gives SOTTO_ERR_EXISTS. */
static inline int sotto_store_account_create(sotto_store *st, const uint8_t *invite,
	size_t invite_len, const sotto_store_new_device *dev, int64_t now_ms,
	uint8_t account_id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb)
{
	return st->ops->account_create(st->be, invite, invite_len, dev, now_ms, account_id, cb);
}

static inline int sotto_store_account_get(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], sotto_store_account *out)
{
	return st->ops->account_get(st->be, account_id, out);
}

/* Links a new device; *device_id gets the lowest id in 2..127 with no linked
 * device (a row left by an unlinked device with that id is replaced).
 * SOTTO_ERR_LIMIT when all are taken, SOTTO_ERR_EXISTS for a known Noise key,
 * SOTTO_ERR_NOT_FOUND when the account does not exist or has no linked
 * device left. */
static inline int sotto_store_device_add(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], const sotto_store_new_device *dev,
	int64_t now_ms, uint32_t *device_id, const sotto_store_cb *cb)
{
	return st->ops->device_add(st->be, account_id, dev, now_ms, device_id, cb);
}

/* Unlinks a device: it stays listed as unlinked (for the account's history),
 * but its Noise key no longer authenticates and its prekeys and queued
 * envelopes are deleted. SOTTO_ERR_NOT_FOUND if not linked. */
static inline int sotto_store_device_remove(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], uint32_t device_id, int64_t now_ms,
	const sotto_store_cb *cb)
{
	return st->ops->device_remove(st->be, account_id, device_id, now_ms, cb);
}

/* Sets last_seen_ms of a linked device. */
static inline int sotto_store_device_touch(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], uint32_t device_id, int64_t now_ms,
	const sotto_store_cb *cb)
{
	return st->ops->device_touch(st->be, account_id, device_id, now_ms, cb);
}

/* The linked device that owns a Noise static key (SOTTO_ERR_NOT_FOUND if none). */
static inline int sotto_store_device_by_noise_key(sotto_store *st,
	const uint8_t key[SOTTO_STORE_NOISE_KEY_BYTES], sotto_store_device *out)
{
	return st->ops->device_by_noise_key(st->be, key, out);
}

/* The account's devices in id order (linked only, or also unlinked ones).
 * cap >= 127 always suffices; SOTTO_ERR_BUFFER_TOO_SMALL otherwise when
 * more exist. SOTTO_ERR_NOT_FOUND if the account does not exist. */
static inline int sotto_store_device_list(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], int include_unlinked,
	sotto_store_device *out, size_t cap, size_t *count)
{
	return st->ops->device_list(st->be, account_id, include_unlinked, out, cap, count);
}

/* The linked devices of an account in id order, ids and registration ids
 * only: what a send checks its envelopes against, without reading keys and
 * names. Same errors as sotto_store_device_list. */
static inline int sotto_store_device_regs(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], sotto_store_device_reg *out, size_t cap,
	size_t *count)
{
	return st->ops->device_regs(st->be, account_id, out, cap, count);
}

/* Stores prekeys of a linked device (see sotto_store_prekeys for what replaces
 * what). Key bytes are stored as given; the client's peers verify them. */
static inline int sotto_store_prekeys_upload(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], uint32_t device_id,
	const sotto_store_prekeys *pk, const sotto_store_cb *cb)
{
	return st->ops->prekeys_upload(st->be, account_id, device_id, pk, cb);
}

static inline int sotto_store_prekeys_count(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], uint32_t device_id,
	sotto_store_prekey_counts *out)
{
	return st->ops->prekeys_count(st->be, account_id, device_id, out);
}

/* Fetches one bundle per linked device of the account (device_id == 0) or
 * for one device, consuming per device the one-time EC prekey and the
 * one-time KEM prekey with the lowest ids, all in one transaction: two
 * fetches never receive the same one-time key. With no one-time KEM prekey
 * left the last-resort key is returned (and kept); with no one-time EC
 * prekey left the bundle has none. ec_left and kem_left of each bundle are
 * the device's one-time keys remaining after the fetch. Writes go through
 * the writer, so this is a write (it has a cb). SOTTO_ERR_NOT_FOUND: no such account or device. */
static inline int sotto_store_bundles_fetch(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], uint32_t device_id,
	sotto_store_bundle *out, size_t cap, size_t *count, const sotto_store_cb *cb)
{
	return st->ops->bundles_fetch(st->be, account_id, device_id, out, cap, count, cb);
}

/* Enqueues n envelopes (for any mix of devices) in ONE transaction: all are
 * stored or none. seqs (n entries, may be NULL) receive the sequence numbers.
 * SOTTO_ERR_NOT_FOUND if a destination is not a linked device,
 * SOTTO_ERR_QUEUE_FULL if one would exceed max_queue_len,
 * SOTTO_ERR_INVALID_ARGUMENT for empty or oversized content. */
static inline int sotto_store_enqueue(sotto_store *st, const sotto_store_envelope_in *envs,
	size_t n, int64_t now_ms, uint64_t *seqs, const sotto_store_cb *cb)
{
	return st->ops->enqueue(st->be, envs, n, now_ms, seqs, cb);
}

/* Reads up to cap envelopes of a device with seq >= from_seq, in sequence
 * order. Contents are copied into buf; the page ends early when the next
 * content would not fit (SOTTO_ERR_BUFFER_TOO_SMALL if not even the first
 * fits). out[i].content stays valid as long as buf. *more is 1 when
 * envelopes after the last returned one exist (page on with from_seq =
 * last seq + 1). */
static inline int sotto_store_queue_fetch(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], uint32_t device_id, uint64_t from_seq,
	sotto_store_envelope *out, size_t cap, uint8_t *buf, size_t bufcap, size_t *count,
	int *more)
{
	return st->ops->queue_fetch(st->be, account_id, device_id, from_seq, out, cap, buf,
		bufcap, count, more);
}

/* Deletes the listed envelopes of this device only (sequence numbers that
 * are not in its queue are ignored); *deleted (may be NULL) gets how many
 * went. */
static inline int sotto_store_queue_ack(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], uint32_t device_id, const uint64_t *seqs,
	size_t n, size_t *deleted, const sotto_store_cb *cb)
{
	return st->ops->queue_ack(st->be, account_id, device_id, seqs, n, deleted, cb);
}

static inline int sotto_store_queue_length(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], uint32_t device_id, uint64_t *len)
{
	return st->ops->queue_length(st->be, account_id, device_id, len);
}

/* Creates a single-use invite code valid until expires_ms (exclusive). Only
 * its SHA-256 is stored; the code itself exists only in *code. */
static inline int sotto_store_invite_create(sotto_store *st, int64_t now_ms, int64_t expires_ms,
	uint8_t code[SOTTO_STORE_INVITE_BYTES], const sotto_store_cb *cb)
{
	return st->ops->invite_create(st->be, now_ms, expires_ms, code, cb);
}

/* Uses up an invite code. SOTTO_ERR_NOT_FOUND when unknown, already used or
 * expired (one answer for all three). */
static inline int sotto_store_invite_consume(sotto_store *st, const uint8_t *code,
	size_t code_len, int64_t now_ms, const sotto_store_cb *cb)
{
	return st->ops->invite_consume(st->be, code, code_len, now_ms, cb);
}

/* Records an attachment about to be uploaded; *id gets a fresh random id. */
static inline int sotto_store_attachment_create(sotto_store *st, uint64_t size,
	const uint8_t digest[SOTTO_STORE_DIGEST_BYTES], int64_t now_ms,
	uint8_t id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb)
{
	return st->ops->attachment_create(st->be, size, digest, now_ms, id, cb);
}

/* Marks the upload complete (after the blob was written and fsynced). */
static inline int sotto_store_attachment_complete(sotto_store *st,
	const uint8_t id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb)
{
	return st->ops->attachment_complete(st->be, id, cb);
}

/* Deletes the metadata (the caller removes the blob file). */
static inline int sotto_store_attachment_delete(sotto_store *st,
	const uint8_t id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb)
{
	return st->ops->attachment_delete(st->be, id, cb);
}

static inline int sotto_store_attachment_get(sotto_store *st,
	const uint8_t id[SOTTO_STORE_ID_BYTES], sotto_store_attachment *out)
{
	return st->ops->attachment_get(st->be, id, out);
}

/* The blob's file name: <data_dir>/attachments/<32 hex digits>. */
static inline int sotto_store_attachment_path(sotto_store *st,
	const uint8_t id[SOTTO_STORE_ID_BYTES], char *buf, size_t cap)
{
	return st->ops->attachment_path(st->be, id, buf, cap);
}

/* ---- name directory ---- */

#define SOTTO_STORE_NAME_MIN 3
#define SOTTO_STORE_NAME_MAX 32

/* Like sotto_store_account_create, and claims the public name (already
 * normalized: 3..32 of a-z 0-9 _ .) in the same transaction. A name held by
 * an account that still has a linked device gives SOTTO_ERR_EXISTS and
 * creates nothing (as does a registered Noise key); a name whose account
 * has no linked device left passes to the new account. */
static inline int sotto_store_account_create_named(sotto_store *st, const uint8_t *invite,
	size_t invite_len, const sotto_store_new_device *dev, const char *name, int64_t now_ms,
	uint8_t account_id[SOTTO_STORE_ID_BYTES], const sotto_store_cb *cb)
{
	return st->ops->account_create_named(st->be, invite, invite_len, dev, name, now_ms,
		account_id, cb);
}

/* The account that holds name (normalized); SOTTO_ERR_NOT_FOUND if none,
 * or if its account has no linked device left. */
static inline int sotto_store_name_lookup(sotto_store *st, const char *name,
	uint8_t account_id[SOTTO_STORE_ID_BYTES])
{
	return st->ops->name_lookup(st->be, name, account_id);
}

/* The name of an account (NUL-terminated into name, cap >= 33);
 * SOTTO_ERR_NOT_FOUND if it has none. */
static inline int sotto_store_name_of(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], char *name, size_t cap)
{
	return st->ops->name_of(st->be, account_id, name, cap);
}

/* ---- key transparency ----
 * Registration, device link and unlink, and identity key changes each
 * append a leaf (docs/key-transparency.md) in the transaction of the change;
 * a head is signed (with cfg->kt_key) and stored in the same COMMIT. Reads
 * see one snapshot: a head and the proofs against it. */

/* The latest signed head; SOTTO_ERR_NOT_FOUND before the first leaf or
 * without a KT key. */
static inline int sotto_store_kt_head(sotto_store *st, sotto_kt_signed_head *out)
{
	return st->ops->kt_head(st->be, out);
}

/* For each of n devices of the account (n <= 127): the inclusion proof of
 * its latest leaf in the tree of the given size (0: the latest head's size),
 * and that head in *head (with size 0: the latest signed head; else a head
 * whose size and root are filled in and whose signature is zero: the client
 * holds the signed one). A device without a leaf gets index = UINT64_MAX
 * and count 0 (the client must refuse it). SOTTO_ERR_NOT_FOUND: no head. */
static inline int sotto_store_kt_device_proofs(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], const uint32_t *device_ids, size_t n,
	uint64_t size, sotto_kt_signed_head *head, sotto_store_kt_proof *out)
{
	return st->ops->kt_device_proofs(st->be, account_id, device_ids, n, size, head, out);
}

/* Inclusion proof of leaf index in the tree of the given size (0: the
 * latest head's size). SOTTO_ERR_INVALID_ARGUMENT: index >= size or size
 * beyond the log. */
static inline int sotto_store_kt_index_proof(sotto_store *st, uint64_t index, uint64_t size,
	sotto_store_kt_proof *out)
{
	return st->ops->kt_index_proof(st->be, index, size, out);
}

/* Consistency proof from size1 to size2 (0: the latest head's size) into
 * proof (SOTTO_KT_MAX_PROOF_HASHES * 32 bytes). */
static inline int sotto_store_kt_consistency(sotto_store *st, uint64_t size1, uint64_t size2,
	uint8_t *proof, size_t *count)
{
	return st->ops->kt_consistency(st->be, size1, size2, proof, count);
}

/* Up to max (<= SOTTO_STORE_KT_MAX_LEAVES) leaf encodings from index start. */
static inline int sotto_store_kt_leaves(sotto_store *st, uint64_t start, size_t max,
	uint8_t *leaves, size_t *count)
{
	return st->ops->kt_leaves(st->be, start, max, leaves, count);
}

/* Replaces a linked device's identity key and logs a KEY_CHANGE leaf in the
 * same transaction. SOTTO_ERR_NOT_FOUND: no such linked device. */
static inline int sotto_store_kt_key_change(sotto_store *st,
	const uint8_t account_id[SOTTO_STORE_ID_BYTES], uint32_t device_id,
	const uint8_t identity_key[SOTTO_STORE_EC_KEY_BYTES], int64_t now_ms,
	const sotto_store_cb *cb)
{
	return st->ops->kt_key_change(st->be, account_id, device_id, identity_key, now_ms, cb);
}

#endif
