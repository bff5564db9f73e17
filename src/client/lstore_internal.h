/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal to the local store: the handle, the sealing helpers and the
 * small SQLite helpers shared by lstore*.c. */
#ifndef SOTTO_CLIENT_LSTORE_INTERNAL_H
#define SOTTO_CLIENT_LSTORE_INTERNAL_H

#include <sqlite3.h>

#include "client/lstore.h"

#define LS_HIDDEN __attribute__((visibility("hidden")))

struct sotto_lstore {
	sqlite3 *db;
	uint8_t *key; /* 32 bytes, guarded memory, no-access between uses */
	char *dir;
	enum sotto_lstore_mode mode;
	int in_tx;    /* the caller's sotto_lstore_begin */
	int sp_depth; /* our own nested savepoints */
	uint64_t (*now_ms)(void *ctx);
	void *now_ctx;
	char err[256];
};

/* A row key: length-prefixed fields, so ("ab","c") and ("a","bc") differ. */
typedef struct ls_rowkey {
	uint8_t b[2 * SOTTO_LSTORE_NAME_MAX + 64];
	size_t n;
	int overflow;
} ls_rowkey;

LS_HIDDEN void sotto__ls_rk_bytes(ls_rowkey *rk, const void *p, size_t len);
LS_HIDDEN void sotto__ls_rk_str(ls_rowkey *rk, const char *s);
LS_HIDDEN void sotto__ls_rk_u32(ls_rowkey *rk, uint32_t v);

/* Seals pt for (label, rk): *out (malloc'd) = nonce || ciphertext || tag. */
LS_HIDDEN int sotto__ls_seal(sotto_lstore *ls, const char *label, const ls_rowkey *rk,
			     const uint8_t *pt, size_t ptlen, uint8_t **out, size_t *outlen);
/* Opens a sealed blob for (label, rk) into *pt (malloc'd, at least one byte;
 * the caller wipes and frees). SOTTO_ERR_STORAGE if it does not
 * authenticate. */
LS_HIDDEN int sotto__ls_open(sotto_lstore *ls, const char *label, const ls_rowkey *rk,
			     const uint8_t *blob, size_t bloblen, uint8_t **pt, size_t *ptlen);
/* Wipes and frees. */
LS_HIDDEN void sotto__ls_wipe_free(void *p, size_t len);

/* printf into ls->err; returns code. */
LS_HIDDEN int sotto__ls_fail(sotto_lstore *ls, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Maps a SQLite result code to SOTTO_ERR_* and records the message. */
LS_HIDDEN int sotto__ls_sqlerr(sotto_lstore *ls, int rc);
LS_HIDDEN int sotto__ls_prepare(sotto_lstore *ls, const char *sql, sqlite3_stmt **st);
LS_HIDDEN int sotto__ls_exec(sotto_lstore *ls, const char *sql);
/* Steps a statement that returns no row to completion. */
LS_HIDDEN int sotto__ls_step_done(sotto_lstore *ls, sqlite3_stmt *st);
/* A savepoint around a multi-statement write, inside or outside a
 * transaction. end releases it on rc == 0 and rolls it back otherwise;
 * returns rc (or the release error). */
LS_HIDDEN int sotto__ls_wbegin(sotto_lstore *ls);
LS_HIDDEN int sotto__ls_wend(sotto_lstore *ls, int rc);
/* Checks a name: non-NULL, 1..SOTTO_LSTORE_NAME_MAX bytes. */
LS_HIDDEN int sotto__ls_name_ok(const char *s);
LS_HIDDEN uint64_t sotto__ls_now(const sotto_lstore *ls);

/* Table access used by the adapters (lstore_data.c). Loaded records are
 * malloc'd; the caller wipes and frees them. SOTTO_ERR_NOT_FOUND. */
LS_HIDDEN int sotto__ls_session_load(sotto_lstore *ls, const char *name, uint32_t dev,
				     uint8_t **rec, size_t *len);
LS_HIDDEN int sotto__ls_session_store(sotto_lstore *ls, const char *name, uint32_t dev,
				      const uint8_t *rec, size_t len);
LS_HIDDEN int sotto__ls_sender_key_load(sotto_lstore *ls, const char *sender, uint32_t dev,
					const uint8_t *dist, uint8_t **rec, size_t *len);
LS_HIDDEN int sotto__ls_sender_key_store(sotto_lstore *ls, const char *sender, uint32_t dev,
					 const uint8_t *dist, const uint8_t *rec, size_t len);
LS_HIDDEN int sotto__ls_prekey_mark_used(sotto_lstore *ls, uint32_t id);

#endif
