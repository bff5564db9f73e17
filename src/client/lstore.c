/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The local store: files, the key ring (passphrase or key file), the schema
 * and its migrations, sealing, transactions. The tables' own calls are in
 * lstore_data.c, the protocol adapters in lstore_adapters.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/lstore_internal.h"
#include "sotto/aead.h"
#include "sotto/error.h"
#include "sotto/pwhash.h"
#include "sotto/util.h"

#define KEY_BYTES 32
#define NONCE_BYTES SOTTO_XCHACHA20POLY1305_NONCE_BYTES
#define TAG_BYTES SOTTO_AEAD_TAG_BYTES
/* Part of every sealed value's AAD. A migration that changes what a sealed
 * value means bumps it (and re-seals), so old and new values cannot be
 * confused. */
#define SEAL_VERSION 1
#define PATH_CAP 4096

/* ---- schema ------------------------------------------------------------ */

/* Migration N takes the schema from version N-1 to N. Append only: a
 * released migration is never edited. The keyring table is frozen as
 * version 1 made it, because it is read before migrations run (the key must
 * check before anything is written). Sealed columns are BLOBs holding
 * nonce || ciphertext || tag. */
static const char *const migrations[] = {
	/* 1: the key ring and the tables of a client. */
	"CREATE TABLE keyring ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  mode INTEGER NOT NULL,"
	"  opslimit INTEGER NOT NULL,"
	"  memlimit INTEGER NOT NULL,"
	"  salt BLOB NOT NULL,"
	"  nonce BLOB NOT NULL,"
	"  wrapped BLOB NOT NULL);"
	"CREATE TABLE local_identity ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  account_id TEXT NOT NULL,"
	"  device_id INTEGER NOT NULL,"
	"  registration_id INTEGER NOT NULL,"
	"  keypair BLOB NOT NULL);"
	"CREATE TABLE prekeys ("
	"  kind INTEGER NOT NULL,"
	"  id INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  used INTEGER NOT NULL DEFAULT 0,"
	"  last_resort INTEGER NOT NULL DEFAULT 0,"
	"  record BLOB NOT NULL,"
	"  PRIMARY KEY (kind, id));"
	"CREATE TABLE prekey_ids (kind INTEGER PRIMARY KEY, max_id INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	"  name TEXT NOT NULL,"
	"  device_id INTEGER NOT NULL,"
	"  record BLOB NOT NULL,"
	"  PRIMARY KEY (name, device_id));"
	"CREATE TABLE peer_identities ("
	"  name TEXT PRIMARY KEY,"
	"  record BLOB NOT NULL);" /* key, verified, changed, first seen: all sealed */
	"CREATE TABLE sender_keys ("
	"  sender TEXT NOT NULL,"
	"  device_id INTEGER NOT NULL,"
	"  distribution_id BLOB NOT NULL,"
	"  record BLOB NOT NULL,"
	"  PRIMARY KEY (sender, device_id, distribution_id));"
	"CREATE TABLE contacts ("
	"  name TEXT PRIMARY KEY,"
	"  added_ms INTEGER NOT NULL,"
	"  display BLOB);"
	"CREATE TABLE conversations ("
	"  id TEXT PRIMARY KEY,"
	"  timer_s INTEGER NOT NULL DEFAULT 0,"
	"  updated_ms INTEGER NOT NULL);"
	"CREATE TABLE messages ("
	"  id TEXT PRIMARY KEY,"
	"  conversation TEXT NOT NULL,"
	"  direction INTEGER NOT NULL,"
	"  sender TEXT NOT NULL,"
	"  sender_device INTEGER NOT NULL,"
	"  timestamp_ms INTEGER NOT NULL,"
	"  body BLOB NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  expires_at_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX messages_by_conv ON messages (conversation, timestamp_ms, id);"
	"CREATE TABLE attachments ("
	"  id TEXT PRIMARY KEY,"
	"  message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
	"  size INTEGER NOT NULL,"
	"  meta BLOB NOT NULL);" /* key, digest, file name, type, local path: sealed */
	"CREATE INDEX attachments_by_msg ON attachments (message_id);"
	"CREATE TABLE seen_envelopes (id BLOB PRIMARY KEY, seen_ms INTEGER NOT NULL);"
	"CREATE INDEX seen_by_time ON seen_envelopes (seen_ms);"
	"CREATE TABLE kv ("
	"  ns TEXT NOT NULL,"
	"  key BLOB NOT NULL,"
	"  value BLOB NOT NULL,"
	"  PRIMARY KEY (ns, key));",
	/* 2: replay detection for last-resort KEM prekeys, and the expiry sweep
	 * no longer scans every message. */
	"CREATE TABLE kem_prekey_uses ("
	"  kyber_id INTEGER NOT NULL,"
	"  signed_id INTEGER NOT NULL,"
	"  base_key BLOB NOT NULL,"
	"  PRIMARY KEY (kyber_id, signed_id, base_key));"
	"CREATE INDEX messages_by_expiry ON messages (expires_at_ms) WHERE expires_at_ms > 0;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int sotto_lstore_schema_version(void)
{
	return SCHEMA_VERSION;
}

/* ---- small helpers ------------------------------------------------------ */

static void set_err(char *err, size_t errcap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errcap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

int sotto__ls_fail(sotto_lstore *ls, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ls->err, sizeof ls->err, fmt, ap);
	va_end(ap);
	return code;
}

int sotto__ls_sqlerr(sotto_lstore *ls, int rc)
{
	const char *msg = ls->db != NULL ? sqlite3_errmsg(ls->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE: return 0;
	case SQLITE_NOMEM: return sotto__ls_fail(ls, SOTTO_ERR_NOMEM, "out of memory");
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return sotto__ls_fail(ls, SOTTO_ERR_EXISTS, "already stored: %s", msg);
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return sotto__ls_fail(ls, SOTTO_ERR_NOT_FOUND, "refers to a missing row");
		return sotto__ls_fail(ls, SOTTO_ERR_INVALID_ARGUMENT, "constraint: %s", msg);
	default: return sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "database: %s", msg);
	}
}

int sotto__ls_prepare(sotto_lstore *ls, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(ls->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		*st = NULL;
		return sotto__ls_sqlerr(ls, sqlite3_extended_errcode(ls->db));
	}
	return 0;
}

int sotto__ls_exec(sotto_lstore *ls, const char *sql)
{
	if (sqlite3_exec(ls->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sotto__ls_sqlerr(ls, sqlite3_extended_errcode(ls->db));
	return 0;
}

int sotto__ls_step_done(sotto_lstore *ls, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sotto__ls_sqlerr(ls, sqlite3_extended_errcode(ls->db));
	return 0;
}

int sotto__ls_wbegin(sotto_lstore *ls)
{
	/* After SQLite rolled back the caller's transaction (a full disk can do
	 * that), a write here would commit on its own: refuse, so that the
	 * caller's all-or-nothing group stays nothing. */
	if (ls->in_tx && sqlite3_get_autocommit(ls->db))
		return sotto__ls_fail(ls, SOTTO_ERR_STORAGE,
				      "the transaction was rolled back by an earlier error");
	int rc = sotto__ls_exec(ls, "SAVEPOINT lsw;");

	if (rc == 0)
		ls->sp_depth++;
	return rc;
}

int sotto__ls_wend(sotto_lstore *ls, int rc)
{
	ls->sp_depth--;
	if (rc == 0) {
		rc = sotto__ls_exec(ls, "RELEASE lsw;");
		if (rc == 0)
			return 0;
	}
	/* Keep the first error's message: the rollback's own can only be
	 * less telling. */
	if (!sqlite3_get_autocommit(ls->db)) {
		(void)sqlite3_exec(ls->db, "ROLLBACK TO lsw; RELEASE lsw;", NULL, NULL, NULL);
		/* Our own savepoint was the transaction and it still is open. */
		if (!ls->in_tx && ls->sp_depth == 0 && !sqlite3_get_autocommit(ls->db))
			(void)sqlite3_exec(ls->db, "ROLLBACK;", NULL, NULL, NULL);
	}
	return rc;
}

int sotto__ls_name_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	return n >= 1 && n <= SOTTO_LSTORE_NAME_MAX;
}

uint64_t sotto__ls_now(const sotto_lstore *ls)
{
	return ls->now_ms != NULL ? ls->now_ms(ls->now_ctx) : 0;
}

void sotto__ls_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	sotto_memzero(p, len);
	free(p);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* ---- row keys and sealing ---------------------------------------------- */

void sotto__ls_rk_bytes(ls_rowkey *rk, const void *p, size_t len)
{
	if (rk->overflow || len > sizeof rk->b || sizeof rk->b - rk->n < 4 + len) {
		rk->overflow = 1;
		return;
	}
	rk->b[rk->n++] = (uint8_t)(len >> 24);
	rk->b[rk->n++] = (uint8_t)(len >> 16);
	rk->b[rk->n++] = (uint8_t)(len >> 8);
	rk->b[rk->n++] = (uint8_t)len;
	if (len != 0)
		memcpy(rk->b + rk->n, p, len);
	rk->n += len;
}

void sotto__ls_rk_str(ls_rowkey *rk, const char *s)
{
	sotto__ls_rk_bytes(rk, s, strlen(s));
}

void sotto__ls_rk_u32(ls_rowkey *rk, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	sotto__ls_rk_bytes(rk, b, 4);
}

#define AAD_PREFIX "sotto-lstore-seal"

/* AAD = prefix || SEAL_VERSION || len(label) || label || row key. */
static int build_aad(uint8_t *aad, size_t cap, size_t *len, const char *label,
		     const ls_rowkey *rk)
{
	size_t ll = strlen(label), pl = sizeof(AAD_PREFIX) - 1;

	if (rk->overflow || ll > 255 || pl + 2 + ll + rk->n > cap)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memcpy(aad, AAD_PREFIX, pl);
	aad[pl] = SEAL_VERSION;
	aad[pl + 1] = (uint8_t)ll;
	memcpy(aad + pl + 2, label, ll);
	memcpy(aad + pl + 2 + ll, rk->b, rk->n);
	*len = pl + 2 + ll + rk->n;
	return 0;
}

static int key_rw(sotto_lstore *ls)
{
	if (sotto_secure_readwrite(ls->key) != 0)
		return sotto__ls_fail(ls, SOTTO_ERR_CRYPTO, "cannot unprotect the store key");
	return 0;
}

static void key_lock(sotto_lstore *ls)
{
	/* A failure only loses the extra protection; the key stays usable. */
	int rc = sotto_secure_noaccess(ls->key);

	(void)rc;
}

int sotto__ls_seal(sotto_lstore *ls, const char *label, const ls_rowkey *rk, const uint8_t *pt,
		   size_t ptlen, uint8_t **out, size_t *outlen)
{
	uint8_t aad[sizeof(AAD_PREFIX) + 300 + sizeof rk->b];
	size_t aadlen = 0, n = 0;
	uint8_t *buf;
	int rc;

	*out = NULL;
	*outlen = 0;
	rc = build_aad(aad, sizeof aad, &aadlen, label, rk);
	if (rc != 0)
		return sotto__ls_fail(ls, rc, "row key too long");
	if (ptlen > SIZE_MAX - NONCE_BYTES - TAG_BYTES)
		return sotto__ls_fail(ls, SOTTO_ERR_INVALID_ARGUMENT, "value too large");
	buf = malloc(NONCE_BYTES + ptlen + TAG_BYTES);
	if (buf == NULL)
		return sotto__ls_fail(ls, SOTTO_ERR_NOMEM, "out of memory");
	/* A random 192-bit nonce per value: no counter to keep in step with
	 * the file, and collisions are out of reach. */
	rc = sotto_random(buf, NONCE_BYTES);
	if (rc == 0)
		rc = key_rw(ls);
	if (rc == 0) {
		rc = sotto_aead_seal(SOTTO_AEAD_XCHACHA20POLY1305, buf + NONCE_BYTES, ptlen + TAG_BYTES,
				     &n, ls->key, KEY_BYTES, buf, NONCE_BYTES, aad, aadlen, pt,
				     ptlen);
		key_lock(ls);
	}
	if (rc != 0) {
		sotto__ls_wipe_free(buf, NONCE_BYTES + ptlen + TAG_BYTES);
		return sotto__ls_fail(ls, rc, "sealing failed: %s", sotto_strerror(rc));
	}
	*out = buf;
	*outlen = NONCE_BYTES + n;
	return 0;
}

int sotto__ls_open(sotto_lstore *ls, const char *label, const ls_rowkey *rk, const uint8_t *blob,
		   size_t bloblen, uint8_t **pt, size_t *ptlen)
{
	uint8_t aad[sizeof(AAD_PREFIX) + 300 + sizeof rk->b];
	size_t aadlen = 0, n = 0, cap;
	uint8_t *buf;
	int rc;

	*pt = NULL;
	*ptlen = 0;
	rc = build_aad(aad, sizeof aad, &aadlen, label, rk);
	if (rc != 0)
		return sotto__ls_fail(ls, rc, "row key too long");
	if (blob == NULL || bloblen < NONCE_BYTES + TAG_BYTES)
		return sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "sealed %s value is truncated",
				      label);
	cap = bloblen - NONCE_BYTES - TAG_BYTES;
	buf = malloc(cap + 1); /* +1: a usable pointer for empty values, room for a NUL */
	if (buf == NULL)
		return sotto__ls_fail(ls, SOTTO_ERR_NOMEM, "out of memory");
	rc = key_rw(ls);
	if (rc == 0) {
		rc = sotto_aead_open(SOTTO_AEAD_XCHACHA20POLY1305, buf, cap + 1, &n, ls->key,
				     KEY_BYTES, blob, NONCE_BYTES, aad, aadlen, blob + NONCE_BYTES,
				     bloblen - NONCE_BYTES);
		key_lock(ls);
	}
	if (rc != 0) {
		sotto__ls_wipe_free(buf, cap + 1);
		if (rc == SOTTO_ERR_INVALID_MESSAGE)
			return sotto__ls_fail(ls, SOTTO_ERR_STORAGE,
					      "a sealed %s value does not authenticate (the store "
					      "file was damaged or edited)",
					      label);
		return sotto__ls_fail(ls, rc, "opening a sealed value failed: %s",
				      sotto_strerror(rc));
	}
	buf[n] = 0;
	*pt = buf;
	*ptlen = n;
	return 0;
}

/* ---- the key ring ------------------------------------------------------- */

typedef struct keyring {
	int mode;
	uint64_t opslimit, memlimit;
	uint8_t salt[SOTTO_PWHASH_SALT_BYTES];
	size_t saltlen;
	uint8_t nonce[NONCE_BYTES];
	uint8_t wrapped[KEY_BYTES + TAG_BYTES];
	size_t wrappedlen;
} keyring;

#define KEYRING_AAD_PREFIX "sotto-lstore-keyring"

/* Binds every header field, so that an edited mode, cost or salt makes the
 * unwrap fail instead of being used. */
static size_t keyring_aad(uint8_t *aad, const keyring *kr)
{
	size_t n = sizeof(KEYRING_AAD_PREFIX) - 1;

	memcpy(aad, KEYRING_AAD_PREFIX, n);
	aad[n++] = 1; /* keyring format */
	aad[n++] = (uint8_t)kr->mode;
	put_be64(aad + n, kr->opslimit);
	n += 8;
	put_be64(aad + n, kr->memlimit);
	n += 8;
	aad[n++] = (uint8_t)kr->saltlen;
	memcpy(aad + n, kr->salt, kr->saltlen);
	return n + kr->saltlen;
}

static void kdf_params(const sotto_lstore_options *opts, uint64_t *ops, uint64_t *mem)
{
	if (opts != NULL && opts->kdf == SOTTO_LSTORE_KDF_MODERATE) {
		*ops = SOTTO_PWHASH_OPSLIMIT_MODERATE;
		*mem = SOTTO_PWHASH_MEMLIMIT_MODERATE;
	} else {
		*ops = SOTTO_PWHASH_OPSLIMIT_INTERACTIVE;
		*mem = SOTTO_PWHASH_MEMLIMIT_INTERACTIVE;
	}
}

/* Fills kr (mode, cost, salt, nonce, wrapped) for key. pass == NULL: key
 * file mode, where wrapped is only a tag (a check value) over the header. */
static int keyring_make(keyring *kr, const uint8_t *key, const char *pass, size_t passlen,
			const sotto_lstore_options *opts)
{
	uint8_t aad[64], kek[KEY_BYTES];
	size_t aadlen, n = 0;
	int rc;

	memset(kr, 0, sizeof *kr);
	rc = sotto_random(kr->nonce, sizeof kr->nonce);
	if (rc != 0)
		return rc;
	if (pass == NULL) {
		kr->mode = SOTTO_LSTORE_KEYFILE;
		aadlen = keyring_aad(aad, kr);
		rc = sotto_aead_seal(SOTTO_AEAD_XCHACHA20POLY1305, kr->wrapped, sizeof kr->wrapped,
				     &n, key, KEY_BYTES, kr->nonce, NONCE_BYTES, aad, aadlen, NULL,
				     0);
		kr->wrappedlen = n;
		return rc;
	}
	kr->mode = SOTTO_LSTORE_PASSPHRASE;
	kdf_params(opts, &kr->opslimit, &kr->memlimit);
	kr->saltlen = SOTTO_PWHASH_SALT_BYTES;
	rc = sotto_random(kr->salt, kr->saltlen);
	if (rc == 0)
		rc = sotto_pwhash_argon2id(kek, sizeof kek, pass, passlen, kr->salt, kr->opslimit,
					   kr->memlimit);
	if (rc == 0) {
		aadlen = keyring_aad(aad, kr);
		rc = sotto_aead_seal(SOTTO_AEAD_XCHACHA20POLY1305, kr->wrapped, sizeof kr->wrapped,
				     &n, kek, KEY_BYTES, kr->nonce, NONCE_BYTES, aad, aadlen, key,
				     KEY_BYTES);
		kr->wrappedlen = n;
	}
	sotto_memzero(kek, sizeof kek);
	return rc;
}

/* Recovers the store key into key (guarded memory) from kr and either the
 * passphrase or the key file's bytes. SOTTO_ERR_INVALID_KEY if they do not
 * match. */
static int keyring_unlock(const keyring *kr, uint8_t *key, const char *pass, size_t passlen,
			  const uint8_t *filekey, char *err, size_t errcap)
{
	uint8_t aad[64], kek[KEY_BYTES], dummy[1];
	size_t aadlen = keyring_aad(aad, kr), n = 0;
	int rc;

	if (kr->mode == SOTTO_LSTORE_KEYFILE) {
		if (kr->wrappedlen != TAG_BYTES)
			goto damaged;
		rc = sotto_aead_open(SOTTO_AEAD_XCHACHA20POLY1305, dummy, sizeof dummy, &n, filekey,
				     KEY_BYTES, kr->nonce, NONCE_BYTES, aad, aadlen, kr->wrapped,
				     kr->wrappedlen);
		if (rc == SOTTO_ERR_INVALID_MESSAGE) {
			set_err(err, errcap, "the key file does not belong to this store");
			return SOTTO_ERR_INVALID_KEY;
		}
		if (rc == 0)
			memcpy(key, filekey, KEY_BYTES);
		return rc;
	}
	if (kr->wrappedlen != KEY_BYTES + TAG_BYTES || kr->saltlen != SOTTO_PWHASH_SALT_BYTES)
		goto damaged;
	/* The cost comes from the file, before anything authenticates it: keep
	 * it within the named levels so that an edited header cannot make us
	 * allocate terabytes or loop for hours. */
	if (kr->opslimit < SOTTO_PWHASH_OPSLIMIT_INTERACTIVE ||
	    kr->opslimit > SOTTO_PWHASH_OPSLIMIT_SENSITIVE ||
	    kr->memlimit < SOTTO_PWHASH_MEMLIMIT_INTERACTIVE ||
	    kr->memlimit > SOTTO_PWHASH_MEMLIMIT_SENSITIVE)
		goto damaged;
	rc = sotto_pwhash_argon2id(kek, sizeof kek, pass, passlen, kr->salt, kr->opslimit,
				   kr->memlimit);
	if (rc == 0) {
		rc = sotto_aead_open(SOTTO_AEAD_XCHACHA20POLY1305, key, KEY_BYTES, &n, kek,
				     KEY_BYTES, kr->nonce, NONCE_BYTES, aad, aadlen, kr->wrapped,
				     kr->wrappedlen);
		if (rc == SOTTO_ERR_INVALID_MESSAGE) {
			set_err(err, errcap, "wrong passphrase");
			rc = SOTTO_ERR_INVALID_KEY;
		}
	} else {
		set_err(err, errcap, "passphrase key derivation failed: %s", sotto_strerror(rc));
	}
	sotto_memzero(kek, sizeof kek);
	return rc;
damaged:
	set_err(err, errcap, "the store header is damaged");
	return SOTTO_ERR_STORAGE;
}

static int keyring_read(sotto_lstore *ls, keyring *kr)
{
	sqlite3_stmt *st = NULL;
	int rc;
	size_t sl, nl, wl;

	memset(kr, 0, sizeof *kr);
	rc = sotto__ls_prepare(ls, "SELECT mode, opslimit, memlimit, salt, nonce, wrapped "
				   "FROM keyring WHERE id = 1",
			       &st);
	if (rc != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "no store header")
				       : sotto__ls_sqlerr(ls, sqlite3_extended_errcode(ls->db));
		goto out;
	}
	kr->mode = sqlite3_column_int(st, 0);
	kr->opslimit = (uint64_t)sqlite3_column_int64(st, 1);
	kr->memlimit = (uint64_t)sqlite3_column_int64(st, 2);
	sl = (size_t)sqlite3_column_bytes(st, 3);
	nl = (size_t)sqlite3_column_bytes(st, 4);
	wl = (size_t)sqlite3_column_bytes(st, 5);
	if ((kr->mode != SOTTO_LSTORE_PASSPHRASE && kr->mode != SOTTO_LSTORE_KEYFILE) ||
	    sl > sizeof kr->salt || nl != NONCE_BYTES || wl > sizeof kr->wrapped) {
		rc = sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "the store header is damaged");
		goto out;
	}
	if (sl != 0)
		memcpy(kr->salt, sqlite3_column_blob(st, 3), sl);
	memcpy(kr->nonce, sqlite3_column_blob(st, 4), nl);
	if (wl != 0)
		memcpy(kr->wrapped, sqlite3_column_blob(st, 5), wl);
	kr->saltlen = sl;
	kr->wrappedlen = wl;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* INSERT OR REPLACE: the one row. */
static int keyring_write(sotto_lstore *ls, const keyring *kr)
{
	sqlite3_stmt *st = NULL;
	int rc = sotto__ls_prepare(ls, "INSERT OR REPLACE INTO keyring (id, mode, opslimit, "
				       "memlimit, salt, nonce, wrapped) VALUES (1, ?, ?, ?, ?, ?, ?)",
				   &st);

	if (rc != 0)
		return rc;
	if (sqlite3_bind_int(st, 1, kr->mode) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)kr->opslimit) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)kr->memlimit) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, kr->salt, (int)kr->saltlen, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 5, kr->nonce, NONCE_BYTES, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 6, kr->wrapped, (int)kr->wrappedlen, SQLITE_STATIC) !=
		    SQLITE_OK)
		rc = sotto__ls_sqlerr(ls, sqlite3_extended_errcode(ls->db));
	else
		rc = sotto__ls_step_done(ls, st);
	sqlite3_finalize(st);
	return rc;
}

/* ---- files -------------------------------------------------------------- */

static int path_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_CAP, "%s/%s", dir, name);

	return n > 0 && n < PATH_CAP ? 0 : SOTTO_ERR_INVALID_ARGUMENT;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Reads the 32-byte key file, refusing one that others could read or that
 * is not ours: the store is only as safe as that file. */
static int keyfile_read(const char *path, uint8_t key[KEY_BYTES], char *err, size_t errcap)
{
	struct stat sb;
	uint8_t buf[KEY_BYTES + 1];
	ssize_t r;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		set_err(err, errcap, "cannot open the key file %s: %s", path, strerror(errno));
		return errno == ENOENT ? SOTTO_ERR_NOT_FOUND : SOTTO_ERR_STORAGE;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		set_err(err, errcap, "the key file %s is not a regular file", path);
		return SOTTO_ERR_INVALID_KEY;
	}
	if ((sb.st_mode & 077) != 0 || sb.st_uid != geteuid()) {
		close(fd);
		set_err(err, errcap,
			"the key file %s is accessible by others (mode %04o, owner %u); "
			"refusing to use it (chmod 600 it if that was a mistake)",
			path, (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid);
		return SOTTO_ERR_INVALID_KEY;
	}
	while (got < sizeof buf) {
		r = read(fd, buf + got, sizeof buf - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != KEY_BYTES) {
		sotto_memzero(buf, sizeof buf);
		set_err(err, errcap, "the key file %s has the wrong size", path);
		return SOTTO_ERR_INVALID_KEY;
	}
	memcpy(key, buf, KEY_BYTES);
	sotto_memzero(buf, sizeof buf);
	return 0;
}

static int keyfile_write(const char *path, const uint8_t *key, char *err, size_t errcap)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		set_err(err, errcap, "cannot create the key file %s: %s", path, strerror(errno));
		return errno == EEXIST ? SOTTO_ERR_EXISTS : SOTTO_ERR_STORAGE;
	}
	/* The umask can only narrow 0600, but say what we mean. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, key, KEY_BYTES) != 0 || fsync(fd) != 0) {
		set_err(err, errcap, "cannot write the key file %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return SOTTO_ERR_STORAGE;
	}
	close(fd);
	return 0;
}

/* Overwrites, then removes, the key file. The overwrite does not reach old
 * copies an SSD or a journaling file system may keep; it is still better
 * than leaving the key in the same blocks. */
static void keyfile_destroy(const char *path, const char *dir)
{
	uint8_t zero[KEY_BYTES] = { 0 };
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		if (write_all(fd, zero, sizeof zero) == 0)
			(void)fsync(fd);
		close(fd);
	}
	unlink(path);
	fsync_dir(dir);
}

/* ---- opening ------------------------------------------------------------ */

static int db_connect(sotto_lstore *ls, const char *path, int create,
		      const sotto_lstore_options *opts)
{
	char sql[64];
	int rc = sqlite3_open_v2(path, &ls->db,
				 SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
					 SQLITE_OPEN_NOMUTEX,
				 NULL);

	if (rc != SQLITE_OK)
		return sotto__ls_fail(ls, rc == SQLITE_NOMEM ? SOTTO_ERR_NOMEM : SOTTO_ERR_STORAGE,
				      "cannot open %s: %s", path,
				      ls->db != NULL ? sqlite3_errmsg(ls->db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(ls->db, 1);
	/* secure_delete: deleted rows (used prekeys, expired messages) are
	 * zeroed in the file instead of lingering in free pages. */
	rc = sotto__ls_exec(ls, "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
				" PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;"
				" PRAGMA trusted_schema = OFF;");
	if (rc == 0 && opts != NULL && opts->max_page_count != 0) {
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lu;",
			 (unsigned long)opts->max_page_count);
		rc = sotto__ls_exec(ls, sql);
	}
	return rc;
}

static int read_version(sotto_lstore *ls, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = sotto__ls_prepare(ls, "SELECT max(version) FROM schema_version", &st);

	if (rc != 0)
		return sotto__ls_fail(ls, SOTTO_ERR_STORAGE, "not a Sotto store (%s)", ls->err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0
								      : sqlite3_column_int(st, 0);
		rc = 0;
	} else {
		rc = sotto__ls_sqlerr(ls, sqlite3_extended_errcode(ls->db));
	}
	sqlite3_finalize(st);
	return rc;
}

/* Runs the migrations from version `from` up, in the caller's transaction. */
static int migrate(sotto_lstore *ls, int from)
{
	char sql[96];
	int rc;

	for (int v = from + 1; v <= SCHEMA_VERSION; v++) {
		rc = sotto__ls_exec(ls, migrations[v - 1]);
		if (rc != 0)
			return sotto__ls_fail(ls, rc, "schema migration to version %d failed: %s", v,
					      ls->err);
		snprintf(sql, sizeof sql,
			 "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d);", v);
		rc = sotto__ls_exec(ls, sql);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static sotto_lstore *ls_new(const char *dir)
{
	sotto_lstore *ls = calloc(1, sizeof *ls);

	if (ls == NULL)
		return NULL;
	ls->dir = strdup(dir);
	ls->key = sotto_secure_alloc(KEY_BYTES);
	if (ls->dir == NULL || ls->key == NULL) {
		free(ls->dir);
		sotto_secure_free(ls->key);
		free(ls);
		return NULL;
	}
	return ls;
}

static void ls_free(sotto_lstore *ls)
{
	if (ls == NULL)
		return;
	if (ls->db != NULL) {
		if (!sqlite3_get_autocommit(ls->db))
			(void)sqlite3_exec(ls->db, "ROLLBACK;", NULL, NULL, NULL);
		sqlite3_close_v2(ls->db);
	}
	sotto_secure_free(ls->key); /* wipes */
	free(ls->dir);
	sotto_memzero(ls, sizeof *ls);
	free(ls);
}

int sotto_lstore_create(sotto_lstore **out, const char *dir, const char *pass, size_t passlen,
			const sotto_lstore_options *opts, char *err, size_t errcap)
{
	char dbpath[PATH_CAP], keypath[PATH_CAP];
	struct stat sb;
	sotto_lstore *ls = NULL;
	keyring kr;
	int rc, fd, made_db = 0, made_key = 0;

	set_err(err, errcap, "%s", "");
	if (out == NULL || dir == NULL || (pass == NULL && passlen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (path_join(dbpath, dir, SOTTO_LSTORE_DB_NAME) != 0 ||
	    path_join(keypath, dir, SOTTO_LSTORE_KEY_NAME) != 0) {
		set_err(err, errcap, "profile path too long");
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	if (sotto_init() != 0)
		return SOTTO_ERR_CRYPTO;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		set_err(err, errcap, "cannot create %s: %s", dir, strerror(errno));
		return SOTTO_ERR_STORAGE;
	}
	if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
	    chmod(dir, 0700) != 0) {
		set_err(err, errcap, "%s is not a directory of ours", dir);
		return SOTTO_ERR_STORAGE;
	}
	/* Make the file ourselves, 0600 from the start and only if absent: the
	 * existence check and the creation are one step. */
	fd = open(dbpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_err(err, errcap, "%s: %s", dbpath,
			errno == EEXIST ? "a store already exists here" : strerror(errno));
		return errno == EEXIST ? SOTTO_ERR_EXISTS : SOTTO_ERR_STORAGE;
	}
	close(fd);
	made_db = 1;
	ls = ls_new(dir);
	if (ls == NULL) {
		rc = SOTTO_ERR_NOMEM;
		set_err(err, errcap, "out of memory");
		goto fail;
	}
	ls->mode = pass == NULL ? SOTTO_LSTORE_KEYFILE : SOTTO_LSTORE_PASSPHRASE;
	rc = sotto_random(ls->key, KEY_BYTES);
	if (rc == 0)
		rc = keyring_make(&kr, ls->key, pass, passlen, opts);
	if (rc != 0) {
		set_err(err, errcap, "cannot make the store key: %s", sotto_strerror(rc));
		goto fail;
	}
	if (pass == NULL) {
		rc = keyfile_write(keypath, ls->key, err, errcap);
		if (rc != 0)
			goto fail;
		made_key = 1;
	}
	rc = db_connect(ls, dbpath, 1, opts);
	if (rc == 0)
		rc = sotto__ls_exec(ls, "PRAGMA journal_mode = WAL;");
	if (rc == 0)
		rc = sotto__ls_exec(ls, "BEGIN IMMEDIATE;"
					"CREATE TABLE schema_version (version INTEGER NOT NULL);");
	if (rc == 0)
		rc = migrate(ls, 0);
	if (rc == 0)
		rc = keyring_write(ls, &kr);
	if (rc == 0)
		rc = sotto__ls_exec(ls, "COMMIT;");
	if (rc != 0) {
		set_err(err, errcap, "cannot create the store: %s", ls->err);
		goto fail;
	}
	fsync_dir(dir);
	key_lock(ls);
	*out = ls;
	return 0;
fail:
	ls_free(ls);
	if (made_db) {
		char p[PATH_CAP + 8];

		unlink(dbpath);
		snprintf(p, sizeof p, "%s-wal", dbpath);
		unlink(p);
		snprintf(p, sizeof p, "%s-shm", dbpath);
		unlink(p);
	}
	if (made_key)
		keyfile_destroy(keypath, dir);
	return rc;
}

/* Opens the connection and reads version and key ring; writes nothing. */
static int open_common(sotto_lstore **out, const char *dir, const sotto_lstore_options *opts,
		       keyring *kr, int *version, char *err, size_t errcap)
{
	char dbpath[PATH_CAP];
	struct stat sb;
	sotto_lstore *ls;
	int rc;

	*out = NULL;
	if (path_join(dbpath, dir, SOTTO_LSTORE_DB_NAME) != 0) {
		set_err(err, errcap, "profile path too long");
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	if (stat(dbpath, &sb) != 0) {
		set_err(err, errcap, "no store in %s", dir);
		return errno == ENOENT ? SOTTO_ERR_NOT_FOUND : SOTTO_ERR_STORAGE;
	}
	if (sotto_init() != 0)
		return SOTTO_ERR_CRYPTO;
	ls = ls_new(dir);
	if (ls == NULL) {
		set_err(err, errcap, "out of memory");
		return SOTTO_ERR_NOMEM;
	}
	rc = db_connect(ls, dbpath, 0, opts);
	if (rc == 0)
		rc = read_version(ls, version);
	if (rc == 0 && (*version > SCHEMA_VERSION || *version < 1))
		rc = sotto__ls_fail(ls, SOTTO_ERR_VERSION_MISMATCH,
				    "the store's schema version %d is newer than this client "
				    "supports (%d); refusing to open it",
				    *version, SCHEMA_VERSION);
	if (rc == 0)
		rc = keyring_read(ls, kr);
	if (rc != 0) {
		set_err(err, errcap, "%s", ls->err);
		ls_free(ls);
		return rc;
	}
	ls->mode = (enum sotto_lstore_mode)kr->mode;
	*out = ls;
	return 0;
}

int sotto_lstore_probe(const char *dir, enum sotto_lstore_mode *mode, char *err, size_t errcap)
{
	sotto_lstore *ls = NULL;
	keyring kr;
	int version = 0, rc;

	set_err(err, errcap, "%s", "");
	if (dir == NULL || mode == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = open_common(&ls, dir, NULL, &kr, &version, err, errcap);
	if (rc != 0)
		return rc;
	*mode = ls->mode;
	ls_free(ls);
	return 0;
}

int sotto_lstore_open(sotto_lstore **out, const char *dir, const char *pass, size_t passlen,
		      const sotto_lstore_options *opts, char *err, size_t errcap)
{
	char keypath[PATH_CAP];
	uint8_t filekey[KEY_BYTES];
	sotto_lstore *ls = NULL;
	keyring kr;
	int version = 0, rc;

	set_err(err, errcap, "%s", "");
	if (out == NULL || dir == NULL || (pass == NULL && passlen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (path_join(keypath, dir, SOTTO_LSTORE_KEY_NAME) != 0) {
		set_err(err, errcap, "profile path too long");
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	rc = open_common(&ls, dir, opts, &kr, &version, err, errcap);
	if (rc != 0)
		return rc;
	if (ls->mode == SOTTO_LSTORE_KEYFILE) {
		rc = keyfile_read(keypath, filekey, err, errcap);
		if (rc == 0)
			rc = keyring_unlock(&kr, ls->key, NULL, 0, filekey, err, errcap);
		sotto_memzero(filekey, sizeof filekey);
	} else if (pass == NULL) {
		set_err(err, errcap, "this store needs its passphrase");
		rc = SOTTO_ERR_INVALID_ARGUMENT;
	} else {
		rc = keyring_unlock(&kr, ls->key, pass, passlen, NULL, err, errcap);
	}
	sotto_memzero(&kr, sizeof kr);
	if (rc != 0)
		goto fail;
	/* Only now, with the key proven, may anything be written. */
	if (version < SCHEMA_VERSION) {
		rc = sotto__ls_exec(ls, "BEGIN IMMEDIATE;");
		if (rc == 0)
			rc = migrate(ls, version);
		if (rc == 0)
			rc = sotto__ls_exec(ls, "COMMIT;");
		if (rc != 0) {
			set_err(err, errcap, "%s", ls->err);
			goto fail;
		}
	}
	/* A key file next to a passphrase store is what an interrupted switch
	 * to a passphrase leaves: the header already says passphrase. */
	if (ls->mode == SOTTO_LSTORE_PASSPHRASE && access(keypath, F_OK) == 0)
		keyfile_destroy(keypath, dir);
	key_lock(ls);
	*out = ls;
	return 0;
fail:
	ls_free(ls);
	return rc;
}

void sotto_lstore_close(sotto_lstore *ls)
{
	ls_free(ls);
}

const char *sotto_lstore_errmsg(const sotto_lstore *ls)
{
	return ls != NULL ? ls->err : "no store";
}

enum sotto_lstore_mode sotto_lstore_mode(const sotto_lstore *ls)
{
	return ls->mode;
}

void sotto_lstore_set_clock(sotto_lstore *ls, uint64_t (*now_ms)(void *ctx), void *ctx)
{
	ls->now_ms = now_ms;
	ls->now_ctx = ctx;
}

int sotto_lstore_change_passphrase(sotto_lstore *ls, const char *newpass, size_t newlen,
				   const sotto_lstore_options *opts)
{
	char keypath[PATH_CAP];
	keyring kr;
	int rc, was_keyfile;

	if (ls == NULL || newpass == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (ls->in_tx)
		return sotto__ls_fail(ls, SOTTO_ERR_INVALID_ARGUMENT,
				      "cannot change the passphrase inside a transaction");
	if (path_join(keypath, ls->dir, SOTTO_LSTORE_KEY_NAME) != 0)
		return sotto__ls_fail(ls, SOTTO_ERR_INVALID_ARGUMENT, "profile path too long");
	rc = key_rw(ls);
	if (rc != 0)
		return rc;
	rc = keyring_make(&kr, ls->key, newpass, newlen, opts);
	key_lock(ls);
	if (rc != 0)
		return sotto__ls_fail(ls, rc, "cannot wrap the store key: %s", sotto_strerror(rc));
	/* One row replaced in one transaction: SQLite's journal makes it all
	 * or nothing. */
	rc = sotto__ls_exec(ls, "BEGIN IMMEDIATE;");
	if (rc == 0)
		rc = keyring_write(ls, &kr);
	if (rc == 0)
		rc = sotto__ls_exec(ls, "COMMIT;");
	if (rc != 0 && !sqlite3_get_autocommit(ls->db))
		(void)sqlite3_exec(ls->db, "ROLLBACK;", NULL, NULL, NULL);
	sotto_memzero(&kr, sizeof kr);
	if (rc != 0)
		return rc;
	was_keyfile = ls->mode == SOTTO_LSTORE_KEYFILE;
	ls->mode = SOTTO_LSTORE_PASSPHRASE;
	if (was_keyfile)
		keyfile_destroy(keypath, ls->dir);
	return 0;
}

/* ---- transactions ------------------------------------------------------- */

int sotto_lstore_begin(sotto_lstore *ls)
{
	int rc;

	if (ls == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (ls->in_tx)
		return sotto__ls_fail(ls, SOTTO_ERR_INVALID_ARGUMENT, "a transaction is open");
	rc = sotto__ls_exec(ls, "BEGIN IMMEDIATE;");
	if (rc == 0)
		ls->in_tx = 1;
	return rc;
}

int sotto_lstore_commit(sotto_lstore *ls)
{
	int rc;

	if (ls == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (!ls->in_tx)
		return sotto__ls_fail(ls, SOTTO_ERR_INVALID_ARGUMENT, "no transaction is open");
	ls->in_tx = 0;
	if (sqlite3_get_autocommit(ls->db))
		return sotto__ls_fail(ls, SOTTO_ERR_STORAGE,
				      "the transaction was rolled back by an earlier error");
	rc = sotto__ls_exec(ls, "COMMIT;");
	if (rc != 0 && !sqlite3_get_autocommit(ls->db)) {
		char keep[sizeof ls->err];

		memcpy(keep, ls->err, sizeof keep);
		(void)sqlite3_exec(ls->db, "ROLLBACK;", NULL, NULL, NULL);
		memcpy(ls->err, keep, sizeof keep);
	}
	return rc;
}

int sotto_lstore_rollback(sotto_lstore *ls)
{
	if (ls == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (!ls->in_tx)
		return sotto__ls_fail(ls, SOTTO_ERR_INVALID_ARGUMENT, "no transaction is open");
	ls->in_tx = 0;
	if (sqlite3_get_autocommit(ls->db))
		return 0; /* SQLite already rolled it back */
	return sotto__ls_exec(ls, "ROLLBACK;");
}
