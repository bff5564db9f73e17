/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The protocol library's store callback tables (session.h, group.h) over
 * the local store. The library saves the identity before it marks a KEM
 * prekey used and stores the session last; a failure in between leaves the
 * earlier writes in place unless the caller runs the decrypt inside
 * sotto_lstore_begin/commit, which the receive path does. */
#include <stdlib.h>
#include <string.h>

#include "client/lstore_internal.h"
#include "sotto/error.h"
#include "sotto/util.h"

/* The load contract shared by session and sender-key tables: copy into buf,
 * or say how much room is needed. */
static int copy_out(uint8_t *rec, size_t n, uint8_t *buf, size_t cap, size_t *len)
{
	int rc = 0;

	*len = n;
	if (n > cap)
		rc = SOTTO_ERR_BUFFER_TOO_SMALL;
	else if (n != 0)
		memcpy(buf, rec, n);
	sotto__ls_wipe_free(rec, n);
	return rc;
}

/* ---- identity ----------------------------------------------------------- */

static int id_get_local(void *ctx, sotto_identity_keypair *kp, uint32_t *reg)
{
	sotto_lstore_local local;
	int rc = sotto_lstore_local_get(ctx, &local);

	if (rc == 0) {
		if (kp != NULL)
			memcpy(kp, &local.identity, sizeof *kp);
		if (reg != NULL)
			*reg = local.registration_id;
	}
	sotto_memzero(&local, sizeof local);
	return rc;
}

static int id_is_trusted(void *ctx, const sotto_address *addr,
			 const uint8_t key[SOTTO_EC_PUBLIC_BYTES], enum sotto_direction dir)
{
	sotto_lstore_peer p;
	int rc = sotto_lstore_peer_get(ctx, addr->name, &p);

	(void)dir;
	if (rc == SOTTO_ERR_NOT_FOUND)
		return 1; /* trust on first use */
	if (rc != 0)
		return rc;
	return sotto_memeq(p.key, key, SOTTO_EC_PUBLIC_BYTES);
}

static int id_save(void *ctx, const sotto_address *addr, const uint8_t key[SOTTO_EC_PUBLIC_BYTES])
{
	sotto_lstore *ls = ctx;

	return sotto_lstore_peer_save(ls, addr->name, key, sotto__ls_now(ls));
}

static int id_get(void *ctx, const sotto_address *addr, uint8_t key[SOTTO_EC_PUBLIC_BYTES])
{
	sotto_lstore_peer p;
	int rc = sotto_lstore_peer_get(ctx, addr->name, &p);

	if (rc == 0)
		memcpy(key, p.key, SOTTO_EC_PUBLIC_BYTES);
	return rc;
}

/* ---- sessions ----------------------------------------------------------- */

static int sess_load(void *ctx, const sotto_address *addr, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t *rec = NULL;
	size_t n = 0;
	int rc = sotto__ls_session_load(ctx, addr->name, addr->device_id, &rec, &n);

	if (rc != 0)
		return rc;
	return copy_out(rec, n, buf, cap, len);
}

static int sess_store(void *ctx, const sotto_address *addr, const uint8_t *rec, size_t len)
{
	return sotto__ls_session_store(ctx, addr->name, addr->device_id, rec, len);
}

/* ---- prekeys ------------------------------------------------------------ */

static int pk_load(void *ctx, uint32_t id, sotto_prekey_record *rec)
{
	return sotto_lstore_prekey_get(ctx, id, rec);
}

static int pk_store(void *ctx, const sotto_prekey_record *rec)
{
	sotto_lstore *ls = ctx;

	return sotto_lstore_prekey_put(ls, rec, sotto__ls_now(ls));
}

static int pk_remove(void *ctx, uint32_t id)
{
	return sotto_lstore_prekey_delete(ctx, SOTTO_LSTORE_PREKEY_EC, id);
}

static int spk_load(void *ctx, uint32_t id, sotto_signed_prekey_record *rec)
{
	return sotto_lstore_signed_prekey_get(ctx, id, rec);
}

static int spk_store(void *ctx, const sotto_signed_prekey_record *rec)
{
	return sotto_lstore_signed_prekey_put(ctx, rec);
}

static int kpk_load(void *ctx, uint32_t id, sotto_kyber_prekey_record *rec)
{
	return sotto_lstore_kyber_prekey_get(ctx, id, rec);
}

/* A new row made here is one-time; an existing row keeps its flags. */
static int kpk_store(void *ctx, const sotto_kyber_prekey_record *rec)
{
	return sotto_lstore_kyber_prekey_put(ctx, rec, 0);
}

struct find_info {
	uint32_t id;
	int found, last_resort;
};

static int find_cb(void *ctx, const sotto_lstore_prekey_info *info)
{
	struct find_info *f = ctx;

	if (info->id == f->id) {
		f->found = 1;
		f->last_resort = info->last_resort;
	}
	return 0;
}

/* One-time KEM prekeys are deleted after their first use. A last-resort one
 * stays (the server hands it out when the one-time ones ran out), but each
 * (signed prekey, base key) may use it once: the same pair again is a
 * replayed PreKeySignalMessage. */
static int kpk_mark_used(void *ctx, uint32_t kyber_id, uint32_t signed_id,
			 const uint8_t base_key[SOTTO_EC_PUBLIC_BYTES])
{
	sotto_lstore *ls = ctx;
	struct find_info f = { kyber_id, 0, 0 };
	sqlite3_stmt *st = NULL;
	int rc = sotto__ls_wbegin(ls);

	if (rc != 0)
		return rc;
	rc = sotto_lstore_prekey_foreach(ls, SOTTO_LSTORE_PREKEY_KEM, find_cb, &f);
	if (rc == 0 && !f.found)
		rc = sotto__ls_fail(ls, SOTTO_ERR_INVALID_KEY_ID, "KEM prekey %lu is gone",
				    (unsigned long)kyber_id);
	if (rc == 0 && !f.last_resort)
		rc = sotto_lstore_prekey_delete(ls, SOTTO_LSTORE_PREKEY_KEM, kyber_id);
	if (rc == 0 && f.last_resort) {
		rc = sotto__ls_prepare(ls, "INSERT INTO kem_prekey_uses (kyber_id, signed_id, "
					   "base_key) VALUES (?, ?, ?)",
				       &st);
		if (rc == 0) {
			if (sqlite3_bind_int64(st, 1, kyber_id) != SQLITE_OK ||
			    sqlite3_bind_int64(st, 2, signed_id) != SQLITE_OK ||
			    sqlite3_bind_blob(st, 3, base_key, SOTTO_EC_PUBLIC_BYTES,
					      SQLITE_STATIC) != SQLITE_OK)
				rc = sotto__ls_sqlerr(ls, sqlite3_extended_errcode(ls->db));
			else
				rc = sotto__ls_step_done(ls, st);
		}
		sqlite3_finalize(st);
		if (rc == SOTTO_ERR_EXISTS)
			rc = sotto__ls_fail(ls, SOTTO_ERR_DUPLICATE_MESSAGE,
					    "last-resort KEM prekey reused with the same base key");
		if (rc == 0)
			rc = sotto__ls_prekey_mark_used(ls, kyber_id);
	}
	return sotto__ls_wend(ls, rc);
}

void sotto_lstore_protocol_stores(sotto_lstore *ls, sotto_protocol_stores *s)
{
	memset(s, 0, sizeof *s);
	s->identity.ctx = ls;
	s->identity.get_local = id_get_local;
	s->identity.is_trusted = id_is_trusted;
	s->identity.save = id_save;
	s->identity.get = id_get;
	s->session.ctx = ls;
	s->session.load = sess_load;
	s->session.store = sess_store;
	s->prekey.ctx = ls;
	s->prekey.load = pk_load;
	s->prekey.store = pk_store;
	s->prekey.remove = pk_remove;
	s->signed_prekey.ctx = ls;
	s->signed_prekey.load = spk_load;
	s->signed_prekey.store = spk_store;
	s->kyber_prekey.ctx = ls;
	s->kyber_prekey.load = kpk_load;
	s->kyber_prekey.store = kpk_store;
	s->kyber_prekey.mark_used = kpk_mark_used;
}

/* ---- sender keys -------------------------------------------------------- */

static int sk_load(void *ctx, const char *sender, uint32_t dev,
		   const uint8_t dist[SOTTO_DISTRIBUTION_ID_BYTES], uint8_t *buf, size_t cap,
		   size_t *len)
{
	uint8_t *rec = NULL;
	size_t n = 0;
	int rc = sotto__ls_sender_key_load(ctx, sender, dev, dist, &rec, &n);

	if (rc != 0)
		return rc;
	return copy_out(rec, n, buf, cap, len);
}

static int sk_store(void *ctx, const char *sender, uint32_t dev,
		    const uint8_t dist[SOTTO_DISTRIBUTION_ID_BYTES], const uint8_t *rec, size_t len)
{
	return sotto__ls_sender_key_store(ctx, sender, dev, dist, rec, len);
}

void sotto_lstore_sender_key_store(sotto_lstore *ls, sotto_sender_key_store *t)
{
	memset(t, 0, sizeof *t);
	t->ctx = ls;
	t->load = sk_load;
	t->store = sk_store;
}
