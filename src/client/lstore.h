/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The client's local store: one SQLite file (DIR/store.db) per profile
 * directory. Every secret (identity key, prekeys, session records, sender
 * keys, peer identity keys) and every message body, contact display name and
 * attachment description is sealed with XChaCha20-Poly1305 under a random
 * 32-byte store key. The AAD of each sealed value names its table, its row
 * key and the seal format version, so a value copied onto another row (or
 * into another table) does not open. Names, ids, timestamps, statuses and
 * sizes stay in the clear so that SQLite can index them.
 *
 * The store key is kept either
 *   - wrapped (XChaCha20-Poly1305, AAD = every header field) under a key
 *     derived with Argon2id from the user's passphrase; the Argon2id
 *     parameters and salt are in the header row; or
 *   - in DIR/store.key (mode 0600, owned by the user), for profiles created
 *     without a passphrase; a key file readable by anyone else is refused.
 * In memory the store key lives in guarded, locked memory that is no-access
 * except while a value is being sealed or opened, and is wiped on close.
 *
 * A handle is used by one thread at a time. Every call returns 0 or a
 * negative SOTTO_ERR_*; on failure sotto_lstore_errmsg() says more. The
 * common codes: SOTTO_ERR_INVALID_ARGUMENT (bad arguments, or a call that
 * needs no open transaction made inside one), SOTTO_ERR_NOT_FOUND,
 * SOTTO_ERR_STORAGE (SQLite failed, the disk is full, or a sealed value does
 * not authenticate: the file was damaged or edited), SOTTO_ERR_NOMEM.
 *
 * Writes: each call is atomic on its own. sotto_lstore_begin() groups calls
 * into one transaction (the receive path: decrypt through the adapters,
 * store the message, mark the envelope seen, commit, and only then
 * acknowledge to the server). */
#ifndef SOTTO_CLIENT_LSTORE_H
#define SOTTO_CLIENT_LSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/group.h"
#include "sotto/protocol.h"
#include "sotto/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sotto_lstore sotto_lstore;

#define SOTTO_LSTORE_DB_NAME "store.db"
#define SOTTO_LSTORE_KEY_NAME "store.key"
#define SOTTO_LSTORE_NAME_MAX 255 /* account, peer, contact and conversation names */
#define SOTTO_LSTORE_ID_MAX 128   /* message, attachment and envelope ids */

/* The newest schema this code knows; a file with a newer one is refused with
 * SOTTO_ERR_VERSION_MISMATCH (it was written by a newer client). */
int sotto_lstore_schema_version(void);

/* ---- opening -------------------------------------------------------- */

enum sotto_lstore_mode {
	SOTTO_LSTORE_PASSPHRASE = 1,
	SOTTO_LSTORE_KEYFILE = 2,
};

/* Argon2id cost for a new wrap: libsodium's INTERACTIVE (2 passes, 64 MiB)
 * or MODERATE (3 passes, 256 MiB). Opening uses what the header says, within
 * [INTERACTIVE, SENSITIVE] so an edited header cannot ask for 4 TiB. */
enum sotto_lstore_kdf {
	SOTTO_LSTORE_KDF_INTERACTIVE = 0,
	SOTTO_LSTORE_KDF_MODERATE = 1,
};

typedef struct sotto_lstore_options {
	enum sotto_lstore_kdf kdf; /* for create and change of passphrase */
	/* If nonzero, PRAGMA max_page_count: a ceiling on the file size (tests
	 * use it to make the disk "full"). */
	uint32_t max_page_count;
} sotto_lstore_options;

/* Creates DIR (mode 0700; an existing directory is tightened to 0700) and a
 * new store in it with a fresh random store key. pass == NULL selects
 * key-file mode (DIR/store.key, 0600); otherwise passlen bytes of pass (may
 * be empty, but the CLI should refuse that) are the passphrase.
 * SOTTO_ERR_EXISTS if DIR already holds a store. opts may be NULL. On
 * failure nothing is left behind in DIR. err (errcap bytes, may be NULL)
 * receives a one-line reason. */
int sotto_lstore_create(sotto_lstore **out, const char *dir, const char *pass, size_t passlen,
			const sotto_lstore_options *opts, char *err, size_t errcap);

/* Tells which mode the store in DIR uses (to decide whether to prompt).
 * SOTTO_ERR_NOT_FOUND if there is no store. Writes nothing. */
int sotto_lstore_probe(const char *dir, enum sotto_lstore_mode *mode, char *err, size_t errcap);

/* Opens the store in DIR. In passphrase mode pass must not be NULL; in
 * key-file mode pass is ignored. Errors:
 *   SOTTO_ERR_INVALID_KEY: wrong passphrase, a key file that does not
 *     match, or a key file whose permissions are wider than 0600 or that
 *     belongs to someone else (err says which). Nothing on disk changes.
 *   SOTTO_ERR_VERSION_MISMATCH: the schema is newer than this code.
 *   SOTTO_ERR_NOT_FOUND: no store in DIR.
 * An older schema is migrated (in one transaction) after the key checked. */
int sotto_lstore_open(sotto_lstore **out, const char *dir, const char *pass, size_t passlen,
		      const sotto_lstore_options *opts, char *err, size_t errcap);

/* Rolls back an open transaction, wipes the store key and frees. NULL ok. */
void sotto_lstore_close(sotto_lstore *ls);

/* Why the last call on ls failed; never NULL; valid until the next call. */
const char *sotto_lstore_errmsg(const sotto_lstore *ls);
enum sotto_lstore_mode sotto_lstore_mode(const sotto_lstore *ls);

/* Wraps the store key under a new passphrase (fresh salt, new Argon2id
 * parameters from opts or INTERACTIVE), replacing the header in one atomic
 * write: a crash leaves either the old or the new passphrase valid. From
 * key-file mode this switches to passphrase mode and then deletes the key
 * file. The store key itself (and so every row) does not change. Not
 * inside a transaction. */
int sotto_lstore_change_passphrase(sotto_lstore *ls, const char *newpass, size_t newlen,
				   const sotto_lstore_options *opts);

/* ---- transactions --------------------------------------------------- */

/* BEGIN IMMEDIATE (one level: SOTTO_ERR_INVALID_ARGUMENT if one is open). */
int sotto_lstore_begin(sotto_lstore *ls);
/* Commits. On failure the transaction is rolled back and nothing of it is
 * stored (e.g. SOTTO_ERR_STORAGE when the disk is full). */
int sotto_lstore_commit(sotto_lstore *ls);
int sotto_lstore_rollback(sotto_lstore *ls);

/* ---- time ----------------------------------------------------------- */

/* The adapters' clock (ms since the epoch) for first-seen times of peer
 * identities: the store never reads the clock itself. Without one, 0. */
void sotto_lstore_set_clock(sotto_lstore *ls, uint64_t (*now_ms)(void *ctx), void *ctx);

/* ---- our own identity ----------------------------------------------- */

typedef struct sotto_lstore_local {
	char account_id[SOTTO_LSTORE_NAME_MAX + 1];
	uint32_t device_id;
	uint32_t registration_id;
	sotto_identity_keypair identity; /* secret: wipe after use */
} sotto_lstore_local;

/* Sets (or replaces) our identity. */
int sotto_lstore_local_set(sotto_lstore *ls, const sotto_lstore_local *local);
/* SOTTO_ERR_NOT_FOUND before sotto_lstore_local_set. */
int sotto_lstore_local_get(sotto_lstore *ls, sotto_lstore_local *local);

/* ---- prekeys -------------------------------------------------------- */

enum sotto_lstore_prekey_kind {
	SOTTO_LSTORE_PREKEY_EC = 1,     /* one-time EC prekeys */
	SOTTO_LSTORE_PREKEY_SIGNED = 2, /* signed EC prekeys */
	SOTTO_LSTORE_PREKEY_KEM = 3,    /* Kyber prekeys, one-time or last resort */
};

int sotto_lstore_prekey_put(sotto_lstore *ls, const sotto_prekey_record *rec, uint64_t created_ms);
int sotto_lstore_signed_prekey_put(sotto_lstore *ls, const sotto_signed_prekey_record *rec);
int sotto_lstore_kyber_prekey_put(sotto_lstore *ls, const sotto_kyber_prekey_record *rec,
				  int last_resort);
int sotto_lstore_prekey_get(sotto_lstore *ls, uint32_t id, sotto_prekey_record *rec);
int sotto_lstore_signed_prekey_get(sotto_lstore *ls, uint32_t id, sotto_signed_prekey_record *rec);
int sotto_lstore_kyber_prekey_get(sotto_lstore *ls, uint32_t id, sotto_kyber_prekey_record *rec);
/* Deletes one prekey (no error if absent). */
int sotto_lstore_prekey_delete(sotto_lstore *ls, enum sotto_lstore_prekey_kind kind, uint32_t id);

typedef struct sotto_lstore_prekey_info {
	enum sotto_lstore_prekey_kind kind;
	uint32_t id;
	uint64_t created_ms;
	int used;        /* a last-resort KEM prekey that built a session */
	int last_resort; /* KEM only */
} sotto_lstore_prekey_info;

/* Calls cb for each prekey of kind, by id; a nonzero return of cb stops the
 * walk and is returned. For replenishing and rotation (no secrets). */
int sotto_lstore_prekey_foreach(sotto_lstore *ls, enum sotto_lstore_prekey_kind kind,
				int (*cb)(void *ctx, const sotto_lstore_prekey_info *info),
				void *ctx);
/* Number of prekeys of kind (KEM: one-time ones only) and the largest id
 * ever stored for the kind (0 if none), so new ids never repeat. */
int sotto_lstore_prekey_stats(sotto_lstore *ls, enum sotto_lstore_prekey_kind kind,
			      uint32_t *count, uint32_t *max_id);

/* ---- sessions ------------------------------------------------------- */

/* The device ids that have a session with name, ascending. *n = count (may
 * exceed cap: then only cap are written). */
int sotto_lstore_session_devices(sotto_lstore *ls, const char *name, uint32_t *ids, size_t cap,
				 size_t *n);
/* Deletes the session with (name, device_id), or all of name's with 0. */
int sotto_lstore_session_delete(sotto_lstore *ls, const char *name, uint32_t device_id);

/* ---- peer identities ------------------------------------------------ */

typedef struct sotto_lstore_peer {
	uint8_t key[SOTTO_EC_PUBLIC_BYTES];
	int verified;         /* the user compared safety numbers */
	int changed;          /* the key replaced another one and the user was not told yet */
	uint64_t first_seen_ms;
} sotto_lstore_peer;

/* Records name's identity key. Returns 0 if it is new or unchanged, 1 if it
 * replaced another key (verified then drops to 0 and changed is set). */
int sotto_lstore_peer_save(sotto_lstore *ls, const char *name,
			   const uint8_t key[SOTTO_EC_PUBLIC_BYTES], uint64_t now_ms);
int sotto_lstore_peer_get(sotto_lstore *ls, const char *name, sotto_lstore_peer *peer);
/* Sets the verified flag (and clears changed), but only while the stored key
 * is still key: SOTTO_ERR_UNTRUSTED_IDENTITY if it changed meanwhile. */
int sotto_lstore_peer_set_verified(sotto_lstore *ls, const char *name,
				   const uint8_t key[SOTTO_EC_PUBLIC_BYTES], int verified);

/* ---- contacts and conversations ------------------------------------- */

/* display may be NULL (no display name). */
int sotto_lstore_contact_put(sotto_lstore *ls, const char *name, const char *display,
			     uint64_t now_ms);
/* display: NUL-terminated into display (cap bytes; "" if none). */
int sotto_lstore_contact_get(sotto_lstore *ls, const char *name, char *display, size_t cap,
			     uint64_t *added_ms);
int sotto_lstore_contact_delete(sotto_lstore *ls, const char *name);
/* By name. cb's display is valid during the call only. */
int sotto_lstore_contact_foreach(sotto_lstore *ls,
				 int (*cb)(void *ctx, const char *name, const char *display,
					   uint64_t added_ms),
				 void *ctx);

/* Creates the conversation if needed and sets its disappearing-message timer
 * (seconds, 0 = off). */
int sotto_lstore_conversation_set_timer(sotto_lstore *ls, const char *conv, uint32_t timer_s,
					uint64_t now_ms);
/* The timer, or 0 (and success) for an unknown conversation. */
int sotto_lstore_conversation_timer(sotto_lstore *ls, const char *conv, uint32_t *timer_s);

/* ---- messages ------------------------------------------------------- */

enum sotto_lstore_direction { SOTTO_LSTORE_OUTGOING = 0, SOTTO_LSTORE_INCOMING = 1 };
/* Statuses only move forward (a late "delivered" never undoes "read"). */
enum sotto_lstore_status {
	SOTTO_LSTORE_PENDING = 0,
	SOTTO_LSTORE_SENT = 1,
	SOTTO_LSTORE_DELIVERED = 2,
	SOTTO_LSTORE_READ = 3,
};

typedef struct sotto_lstore_message {
	const char *id;
	const char *conversation;
	enum sotto_lstore_direction direction;
	const char *sender;
	uint32_t sender_device;
	uint64_t timestamp_ms;
	const uint8_t *body; /* sealed in the file */
	size_t body_len;
	enum sotto_lstore_status status;
	uint64_t expires_at_ms; /* 0 = never */
} sotto_lstore_message;

/* SOTTO_ERR_EXISTS if the id is taken. */
int sotto_lstore_message_add(sotto_lstore *ls, const sotto_lstore_message *msg);
int sotto_lstore_message_set_status(sotto_lstore *ls, const char *id,
				    enum sotto_lstore_status status);
/* Sets expires_at (the timer starts when the message is sent or read). */
int sotto_lstore_message_set_expiry(sotto_lstore *ls, const char *id, uint64_t expires_at_ms);
int sotto_lstore_message_delete(sotto_lstore *ls, const char *id);
/* The messages of conv by (timestamp, id), calling cb with each; the strings
 * and the body are valid during the call only (the body is wiped after).
 * limit 0 = all; otherwise the newest limit ones, still oldest first. */
int sotto_lstore_message_foreach(sotto_lstore *ls, const char *conv, uint32_t limit,
				 int (*cb)(void *ctx, const sotto_lstore_message *msg),
				 void *ctx);

/* Deletes every message with 0 < expires_at_ms <= now_ms and its attachments
 * (one transaction, or part of the open one). For each deleted attachment
 * with a local path, path_cb (may be NULL) gets the path so that the caller
 * can remove the file. *deleted (may be NULL) = messages removed. */
int sotto_lstore_sweep_expired(sotto_lstore *ls, uint64_t now_ms,
			       void (*path_cb)(void *ctx, const char *path), void *ctx,
			       uint32_t *deleted);

/* ---- attachments ---------------------------------------------------- */

#define SOTTO_LSTORE_ATT_KEY_BYTES 64
#define SOTTO_LSTORE_ATT_DIGEST_BYTES 32

typedef struct sotto_lstore_attachment {
	const char *id;
	const char *message_id; /* the message must exist */
	uint8_t key[SOTTO_LSTORE_ATT_KEY_BYTES];
	uint8_t digest[SOTTO_LSTORE_ATT_DIGEST_BYTES];
	uint64_t size;
	const char *file_name;    /* may be NULL */
	const char *content_type; /* may be NULL */
	const char *local_path;   /* may be NULL until downloaded */
} sotto_lstore_attachment;

int sotto_lstore_attachment_put(sotto_lstore *ls, const sotto_lstore_attachment *att);
int sotto_lstore_attachment_set_path(sotto_lstore *ls, const char *id, const char *local_path);
/* Calls cb with the attachments of a message (by id); valid during the call
 * only, the key is wiped after. */
int sotto_lstore_attachment_foreach(sotto_lstore *ls, const char *message_id,
				    int (*cb)(void *ctx, const sotto_lstore_attachment *att),
				    void *ctx);

/* ---- received envelopes --------------------------------------------- */

/* Records that the envelope with this id (server sequence or message id, up
 * to SOTTO_LSTORE_ID_MAX bytes) was processed. SOTTO_ERR_DUPLICATE_MESSAGE
 * if it was already: the caller acknowledges again and drops it. */
int sotto_lstore_envelope_mark(sotto_lstore *ls, const uint8_t *id, size_t idlen,
			       uint64_t now_ms);
/* 1 if seen, 0 if not. */
int sotto_lstore_envelope_seen(sotto_lstore *ls, const uint8_t *id, size_t idlen, int *seen);
/* Forgets marks older than before_ms (the server never redelivers those). */
int sotto_lstore_envelope_prune(sotto_lstore *ls, uint64_t before_ms);

/* ---- sealed key-value ----------------------------------------------- */

/* Engine state that has no table of its own (server address and key,
 * credentials, ...): (namespace, key) -> sealed value. */
int sotto_lstore_kv_put(sotto_lstore *ls, const char *ns, const uint8_t *key, size_t keylen,
			const uint8_t *val, size_t len);
/* *val is malloc'd (the caller wipes and frees it). SOTTO_ERR_NOT_FOUND. */
int sotto_lstore_kv_get(sotto_lstore *ls, const char *ns, const uint8_t *key, size_t keylen,
			uint8_t **val, size_t *len);
int sotto_lstore_kv_delete(sotto_lstore *ls, const char *ns, const uint8_t *key, size_t keylen);

/* ---- adapters for the protocol library ------------------------------ */

/* Fills the session layer's store tables with callbacks over ls. Identity
 * trust is per name (all devices of a name share one identity key): an
 * unknown name is trusted on first use, a known one only with the same key;
 * save records the key with the clock's time. One-time EC prekeys are
 * deleted on remove; a one-time KEM prekey is deleted by mark_used, and a
 * last-resort one is marked used and a second use with the same (signed
 * prekey, base key) is refused (SOTTO_ERR_DUPLICATE_MESSAGE: a replay). */
void sotto_lstore_protocol_stores(sotto_lstore *ls, sotto_protocol_stores *stores);
void sotto_lstore_sender_key_store(sotto_lstore *ls, sotto_sender_key_store *store);

#ifdef __cplusplus
}
#endif
#endif
