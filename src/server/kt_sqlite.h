/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sottod's key transparency log over SQLite (docs/key-transparency.md,
 * "Server storage").
 *
 * Tables (schema migration SOTTO__KT_MIGRATION):
 *   kt_leaves (idx, account, device_id, event, leaf, ts): one row per leaf,
 *     idx = 0, 1, 2, ... with no gap; leaf is the 95-byte sotto_kt_leaf
 *     encoding; (account, device_id, idx) is indexed so the latest leaf of a
 *     device is one index seek.
 *   kt_nodes (id, hash): every complete aligned subtree sotto_kt_frontier_append
 *     reports, keyed by id = level << 56 | index (an INTEGER PRIMARY KEY, so a
 *     node is one B-tree seek). Written once, never updated.
 *   kt_head (id = 1, size, sth): the latest signed tree head (145 bytes).
 *
 * Writer side: the store's writer calls sotto__kt_log_device inside the
 * transaction of the change it records, and sotto__kt_log_seal just before
 * every COMMIT; the head is thus signed and committed with the leaves, so a
 * committed leaf is always covered by the committed head, and readers never
 * sign. One head per group commit (not per leaf): an Ed25519 signature costs
 * tens of microseconds, the COMMIT's fsync milliseconds.
 *
 * Reader side: functions taking a sqlite3 handle inside a read transaction
 * (one consistent snapshot); proofs read their O(log n) nodes in a single
 * query. */
#ifndef SOTTO_SERVER_KT_SQLITE_H
#define SOTTO_SERVER_KT_SQLITE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store.h"
#include "sotto/kt.h"

#define SOTTO__KT_MIGRATION                                                                  \
	"CREATE TABLE kt_leaves ("                                                           \
	" idx INTEGER PRIMARY KEY,"                                                          \
	" account BLOB NOT NULL,"                                                            \
	" device_id INTEGER NOT NULL,"                                                       \
	" event INTEGER NOT NULL,"                                                           \
	" leaf BLOB NOT NULL,"                                                               \
	" ts INTEGER NOT NULL);"                                                             \
	"CREATE INDEX kt_leaves_device ON kt_leaves (account, device_id, idx);"              \
	"CREATE TABLE kt_nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);"                \
	"CREATE TABLE kt_head (id INTEGER PRIMARY KEY CHECK (id = 1),"                       \
	" size INTEGER NOT NULL, sth BLOB NOT NULL);"

/* The KT key file in the data directory, next to server.key. */
/* An Ed25519 seed (32 bytes). Version 1 heads were signed with an X25519 key
 * in "kt.key"; that file is ignored (never deployed; a new key would break
 * every client's pin anyway). */
#define SOTTO__KT_KEY_FILE "kt-ed25519.key"

struct sotto__kt_log;

/* priv: the 32-byte Ed25519 KT seed, copied; NULL keeps the log
 * without signed heads (stores opened by tools and tests that do not sign). */
int sotto__kt_log_new(struct sotto__kt_log **out, const uint8_t *priv);
void sotto__kt_log_free(struct sotto__kt_log *kt);

/* Appends the leaf (event, account, device_id, the device row's current
 * identity key and Noise key (for an unlinked row: the key of the device's
 * latest leaf), now) inside the caller's open write transaction on db. The
 * devices row must exist (after the insert, update or unlink it records). */
int sotto__kt_log_device(struct sotto__kt_log *kt, sqlite3 *db, const uint8_t account[16],
	uint32_t device_id, int event, int64_t now_ms);
/* Signs and stores a head when the log is larger than the stored head
 * (nothing otherwise, or without a key); call right before COMMIT. */
int sotto__kt_log_seal(struct sotto__kt_log *kt, sqlite3 *db);
/* Forgets the cached frontier (after the tables were changed behind the
 * writer's back, e.g. by a test's fault injection). */
void sotto__kt_log_reset(struct sotto__kt_log *kt);

/* ---- reads (inside a read transaction) ---- */

/* Leaves in the log. */
int sotto__kt_read_size(sqlite3 *db, uint64_t *size);
/* The stored signed head; SOTTO_ERR_NOT_FOUND before the first one. */
int sotto__kt_read_head(sqlite3 *db, sotto_kt_signed_head *out);
/* Root of the first size leaves from stored nodes. */
int sotto__kt_read_root(sqlite3 *db, uint64_t size, uint8_t root[SOTTO_KT_HASH_BYTES]);
/* Inclusion proof of leaf index in the tree of the given size. */
int sotto__kt_read_inclusion(sqlite3 *db, uint64_t index, uint64_t size, uint8_t *proof,
	size_t cap, size_t *count);
int sotto__kt_read_consistency(sqlite3 *db, uint64_t size1, uint64_t size2, uint8_t *proof,
	size_t cap, size_t *count);
/* The latest leaf of (account, device_id) with idx < size: its index and
 * bytes. SOTTO_ERR_NOT_FOUND if none. */
int sotto__kt_read_device_leaf(sqlite3 *db, const uint8_t account[16], uint32_t device_id,
	uint64_t size, uint64_t *index, uint8_t leaf[SOTTO_KT_LEAF_BYTES]);
/* Leaves [start, start + max) that exist, into out (SOTTO_KT_LEAF_BYTES each). */
int sotto__kt_read_leaves(sqlite3 *db, uint64_t start, size_t max, uint8_t *out, size_t *count);

/* The sotto_kt_store read interface over db (ctx = db). */
sotto_kt_store sotto__kt_sqlite_store(sqlite3 *db);

/* Replaces a linked device's identity key and logs KEY_CHANGE (writer,
 * inside the transaction). SOTTO_ERR_NOT_FOUND: no such linked device. */
int sotto__kt_key_change(struct sotto__kt_log *kt, sqlite3 *db, const uint8_t account[16],
	uint32_t device_id, const uint8_t identity_key[33], int64_t now_ms);

/* ---- the store's kt_* operations (store.h) ---- */

/* Defined in store_sqlite.c: runs fn on a pooled reader connection inside
 * one read transaction. */
int sotto__store_sqlite_read(void *be, int (*fn)(sqlite3 *db, void *arg), void *arg);

int sotto__kt_op_head(void *be, sotto_kt_signed_head *out);
int sotto__kt_op_device_proofs(void *be, const uint8_t account_id[16], const uint32_t *device_ids,
	size_t n, uint64_t size, sotto_kt_signed_head *head, sotto_store_kt_proof *out);
int sotto__kt_op_index_proof(void *be, uint64_t index, uint64_t size, sotto_store_kt_proof *out);
int sotto__kt_op_consistency(void *be, uint64_t size1, uint64_t size2, uint8_t *proof,
	size_t *count);
int sotto__kt_op_leaves(void *be, uint64_t start, size_t max, uint8_t *leaves, size_t *count);

/* Reads DIR/kt-ed25519.key (an Ed25519 seed) or creates it (0600, fsynced, renamed into place). */
int sotto__kt_key_load(const char *dir, uint8_t priv[32], uint8_t pub[32], char *err,
	size_t errcap);

#endif
