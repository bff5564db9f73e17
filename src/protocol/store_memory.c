/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The in-memory protocol stores: one sorted list of (kind, name, id) ->
 * bytes entries for identities, sessions and the three kinds of prekeys.
 * Kept sorted so that a dump is canonical (the same contents give the same
 * bytes whatever the order of the writes). Session records written by the
 * library are kept decoded (store_decoded), so a message costs no parsing
 * and packing of its record; they are serialized only when someone asks for
 * the bytes (load, dump). */
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/session.h"
#include "sotto/util.h"

enum kind { K_IDENTITY = 1, K_SESSION, K_PREKEY, K_SIGNED, K_KYBER, K_KYBER_USED };

typedef struct entry {
	struct entry *next;
	uint8_t kind;
	char *name; /* "" for prekeys */
	uint32_t id;
	uint8_t *val;
	size_t len;
	sotto_session_record *rec; /* K_SESSION kept decoded: val is NULL then */
} entry;

struct sotto_protocol_memstore {
	sotto_identity_keypair local;
	uint32_t reg_id;
	entry *head;
};

static void entry_free(entry *e)
{
	sotto_session_record_free(e->rec);
	if (e->val != NULL) {
		sotto_memzero(e->val, e->len);
		free(e->val);
	}
	free(e->name);
	free(e);
}

sotto_protocol_memstore *sotto_protocol_memstore_new(const sotto_identity_keypair *id,
						     uint32_t registration_id)
{
	sotto_protocol_memstore *ms;

	if (id == NULL)
		return NULL;
	ms = calloc(1, sizeof(*ms));
	if (ms == NULL)
		return NULL;
	memcpy(&ms->local, id, sizeof(ms->local));
	ms->reg_id = registration_id;
	return ms;
}

void sotto_protocol_memstore_free(sotto_protocol_memstore *ms)
{
	entry *e, *n;

	if (ms == NULL)
		return;
	for (e = ms->head; e != NULL; e = n) {
		n = e->next;
		entry_free(e);
	}
	sotto_memzero(ms, sizeof(*ms));
	free(ms);
}

static int cmp(uint8_t kind, const char *name, uint32_t id, const entry *e)
{
	int c;

	if (kind != e->kind)
		return kind < e->kind ? -1 : 1;
	c = strcmp(name, e->name);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (id != e->id)
		return id < e->id ? -1 : 1;
	return 0;
}

static entry *find(const sotto_protocol_memstore *ms, uint8_t kind, const char *name, uint32_t id)
{
	entry *e;

	for (e = ms->head; e != NULL; e = e->next)
		if (cmp(kind, name, id, e) == 0)
			return e;
	return NULL;
}

static int put(sotto_protocol_memstore *ms, uint8_t kind, const char *name, uint32_t id,
	       const uint8_t *val, size_t len)
{
	entry **pp, *e;
	uint8_t *copy;
	int c = 1;

	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return SOTTO_ERR_NOMEM;
	if (len != 0)
		memcpy(copy, val, len);
	for (pp = &ms->head; *pp != NULL; pp = &(*pp)->next) {
		c = cmp(kind, name, id, *pp);
		if (c <= 0)
			break;
	}
	if (*pp != NULL && c == 0) {
		e = *pp;
		sotto_session_record_free(e->rec);
		e->rec = NULL;
		if (e->val != NULL)
			sotto_memzero(e->val, e->len);
		free(e->val);
		e->val = copy;
		e->len = len;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->name = strdup(name)) == NULL) {
		free(e);
		sotto_memzero(copy, len);
		free(copy);
		return SOTTO_ERR_NOMEM;
	}
	e->kind = kind;
	e->id = id;
	e->val = copy;
	e->len = len;
	e->next = *pp;
	*pp = e;
	return 0;
}

static void del(sotto_protocol_memstore *ms, uint8_t kind, const char *name, uint32_t id)
{
	entry **pp;

	for (pp = &ms->head; *pp != NULL; pp = &(*pp)->next) {
		if (cmp(kind, name, id, *pp) == 0) {
			entry *e = *pp;

			*pp = e->next;
			entry_free(e);
			return;
		}
	}
}

/* ---- identity ----------------------------------------------------------- */

static int id_get_local(void *ctx, sotto_identity_keypair *kp, uint32_t *reg)
{
	sotto_protocol_memstore *ms = ctx;

	if (kp != NULL)
		memcpy(kp, &ms->local, sizeof(*kp));
	if (reg != NULL)
		*reg = ms->reg_id;
	return 0;
}

static int id_is_trusted(void *ctx, const sotto_address *addr, const uint8_t key[33],
			 enum sotto_direction dir)
{
	entry *e = find(ctx, K_IDENTITY, addr->name, 0);

	(void)dir;
	if (e == NULL)
		return 1; /* trust on first use */
	return e->len == SOTTO_EC_PUBLIC_BYTES && sotto_memeq(e->val, key, SOTTO_EC_PUBLIC_BYTES);
}

static int id_save(void *ctx, const sotto_address *addr, const uint8_t key[33])
{
	entry *e = find(ctx, K_IDENTITY, addr->name, 0);
	int replaced = e != NULL && !sotto_memeq(e->val, key, SOTTO_EC_PUBLIC_BYTES);
	int rc = put(ctx, K_IDENTITY, addr->name, 0, key, SOTTO_EC_PUBLIC_BYTES);

	return rc != 0 ? rc : replaced;
}

static int id_get(void *ctx, const sotto_address *addr, uint8_t key[33])
{
	entry *e = find(ctx, K_IDENTITY, addr->name, 0);

	if (e == NULL)
		return SOTTO_ERR_NOT_FOUND;
	memcpy(key, e->val, SOTTO_EC_PUBLIC_BYTES);
	return 0;
}

int sotto_protocol_memstore_set_identity(sotto_protocol_memstore *ms, const char *name,
					 const uint8_t key[SOTTO_EC_PUBLIC_BYTES])
{
	if (ms == NULL || name == NULL || key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return put(ms, K_IDENTITY, name, 0, key, SOTTO_EC_PUBLIC_BYTES);
}

/* ---- sessions ----------------------------------------------------------- */

static int sess_load(void *ctx, const sotto_address *addr, uint8_t *buf, size_t cap, size_t *len)
{
	entry *e = find(ctx, K_SESSION, addr->name, addr->device_id);

	if (e == NULL)
		return SOTTO_ERR_NOT_FOUND;
	if (e->rec != NULL)
		return sotto_session_record_serialize(e->rec, buf, cap, len);
	*len = e->len;
	if (cap < e->len)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	memcpy(buf, e->val, e->len);
	return 0;
}

static int sess_store(void *ctx, const sotto_address *addr, const uint8_t *rec, size_t len)
{
	return put(ctx, K_SESSION, addr->name, addr->device_id, rec, len);
}

static int sess_load_decoded(void *ctx, const sotto_address *addr,
			     const sotto_session_record **rec)
{
	entry *e = find(ctx, K_SESSION, addr->name, addr->device_id);
	sotto_session_record *r = NULL;
	int rc;

	*rec = NULL;
	if (e == NULL)
		return SOTTO_ERR_NOT_FOUND;
	if (e->rec == NULL) {
		/* Written as bytes (sess_store): decode once and keep it. */
		rc = sotto_session_record_deserialize(&r, e->val, e->len);
		if (rc != 0)
			return rc == SOTTO_ERR_NOMEM ? rc : SOTTO_ERR_STORAGE;
		sotto_memzero(e->val, e->len);
		free(e->val);
		e->val = NULL;
		e->len = 0;
		e->rec = r;
	}
	*rec = e->rec;
	return 0;
}

static int sess_store_decoded(void *ctx, const sotto_address *addr, sotto_session_record *rec)
{
	entry *e;
	int rc;

	/* put() makes or replaces the entry (with no bytes), then it takes rec. */
	rc = put(ctx, K_SESSION, addr->name, addr->device_id, NULL, 0);
	if (rc != 0) {
		sotto_session_record_free(rec);
		return rc;
	}
	e = find(ctx, K_SESSION, addr->name, addr->device_id);
	free(e->val);
	e->val = NULL;
	e->rec = rec;
	return 0;
}

/* ---- prekeys (kept in their serialized record forms) -------------------- */

#define REC_MAX (SOTTO_KEM_PUBLIC_BYTES + SOTTO_KEM_SECRET_BYTES + 128)

static int pk_load(void *ctx, uint32_t id, sotto_prekey_record *rec)
{
	entry *e = find(ctx, K_PREKEY, "", id);

	if (e == NULL)
		return SOTTO_ERR_NOT_FOUND;
	return sotto_prekey_record_deserialize(rec, e->val, e->len);
}

static int pk_store(void *ctx, const sotto_prekey_record *rec)
{
	uint8_t buf[128];
	size_t n = 0;
	int rc = sotto_prekey_record_serialize(buf, sizeof(buf), &n, rec);

	if (rc == 0)
		rc = put(ctx, K_PREKEY, "", rec->id, buf, n);
	sotto_memzero(buf, sizeof(buf));
	return rc;
}

static int pk_remove(void *ctx, uint32_t id)
{
	del(ctx, K_PREKEY, "", id);
	return 0;
}

static int spk_load(void *ctx, uint32_t id, sotto_signed_prekey_record *rec)
{
	entry *e = find(ctx, K_SIGNED, "", id);

	if (e == NULL)
		return SOTTO_ERR_NOT_FOUND;
	return sotto_signed_prekey_record_deserialize(rec, e->val, e->len);
}

static int spk_store(void *ctx, const sotto_signed_prekey_record *rec)
{
	uint8_t buf[256];
	size_t n = 0;
	int rc = sotto_signed_prekey_record_serialize(buf, sizeof(buf), &n, rec);

	if (rc == 0)
		rc = put(ctx, K_SIGNED, "", rec->id, buf, n);
	sotto_memzero(buf, sizeof(buf));
	return rc;
}

static int kpk_load(void *ctx, uint32_t id, sotto_kyber_prekey_record *rec)
{
	entry *e = find(ctx, K_KYBER, "", id);

	if (e == NULL)
		return SOTTO_ERR_NOT_FOUND;
	return sotto_kyber_prekey_record_deserialize(rec, e->val, e->len);
}

static int kpk_store(void *ctx, const sotto_kyber_prekey_record *rec)
{
	uint8_t *buf = malloc(REC_MAX);
	size_t n = 0;
	int rc;

	if (buf == NULL)
		return SOTTO_ERR_NOMEM;
	rc = sotto_kyber_prekey_record_serialize(buf, REC_MAX, &n, rec);
	if (rc == 0)
		rc = put(ctx, K_KYBER, "", rec->id, buf, n);
	sotto_memzero(buf, REC_MAX);
	free(buf);
	return rc;
}

/* Kyber prekeys are kept after use (last-resort semantics, as the libsignal
 * interop driver does); the use is recorded as a count per key id so that
 * tests can see the call. */
static int kpk_mark_used(void *ctx, uint32_t kyber_id, uint32_t signed_id, const uint8_t base[33])
{
	entry *e = find(ctx, K_KYBER_USED, "", kyber_id);
	uint8_t cnt[4] = { 0, 0, 0, 0 };
	uint32_t c = 0;

	(void)signed_id;
	(void)base;
	if (e != NULL && e->len == 4)
		c = (uint32_t)e->val[0] << 24 | (uint32_t)e->val[1] << 16 |
		    (uint32_t)e->val[2] << 8 | e->val[3];
	c++;
	cnt[0] = (uint8_t)(c >> 24);
	cnt[1] = (uint8_t)(c >> 16);
	cnt[2] = (uint8_t)(c >> 8);
	cnt[3] = (uint8_t)c;
	return put(ctx, K_KYBER_USED, "", kyber_id, cnt, 4);
}

void sotto_protocol_memstore_tables(sotto_protocol_memstore *ms, sotto_protocol_stores *s)
{
	memset(s, 0, sizeof(*s));
	s->identity.ctx = ms;
	s->identity.get_local = id_get_local;
	s->identity.is_trusted = id_is_trusted;
	s->identity.save = id_save;
	s->identity.get = id_get;
	s->session.ctx = ms;
	s->session.load = sess_load;
	s->session.store = sess_store;
	s->session.load_decoded = sess_load_decoded;
	s->session.store_decoded = sess_store_decoded;
	s->prekey.ctx = ms;
	s->prekey.load = pk_load;
	s->prekey.store = pk_store;
	s->prekey.remove = pk_remove;
	s->signed_prekey.ctx = ms;
	s->signed_prekey.load = spk_load;
	s->signed_prekey.store = spk_store;
	s->kyber_prekey.ctx = ms;
	s->kyber_prekey.load = kpk_load;
	s->kyber_prekey.store = kpk_store;
	s->kyber_prekey.mark_used = kpk_mark_used;
}

/* ---- dump --------------------------------------------------------------- */

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* An entry's bytes: its value, or its decoded record serialized. */
static int entry_len(const entry *e, size_t *len)
{
	int rc;

	if (e->rec == NULL) {
		*len = e->len;
		return 0;
	}
	rc = sotto_session_record_serialize(e->rec, NULL, 0, len);
	return rc == SOTTO_ERR_BUFFER_TOO_SMALL ? 0 : (rc == 0 ? SOTTO_ERR_INTERNAL : rc);
}

int sotto_protocol_memstore_dump(const sotto_protocol_memstore *ms, uint8_t **out, size_t *outlen)
{
	const entry *e;
	size_t need = sizeof(ms->local.pub) + 4, len;
	uint8_t *buf, *p;
	int rc;

	if (ms == NULL || out == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	*outlen = 0;
	for (e = ms->head; e != NULL; e = e->next) {
		if ((rc = entry_len(e, &len)) != 0)
			return rc;
		need += 1 + 4 + strlen(e->name) + 4 + 4 + len;
	}
	buf = malloc(need);
	if (buf == NULL)
		return SOTTO_ERR_NOMEM;
	p = buf;
	memcpy(p, ms->local.pub, sizeof(ms->local.pub));
	p = put32(p + sizeof(ms->local.pub), ms->reg_id);
	for (e = ms->head; e != NULL; e = e->next) {
		size_t nl = strlen(e->name);

		*p++ = e->kind;
		p = put32(p, (uint32_t)nl);
		memcpy(p, e->name, nl);
		p = put32(p + nl, e->id);
		if ((rc = entry_len(e, &len)) != 0)
			goto fail;
		p = put32(p, (uint32_t)len);
		if (e->rec != NULL) {
			rc = sotto_session_record_serialize(e->rec, p, len, &len);
			if (rc != 0)
				goto fail;
		} else if (len != 0) {
			memcpy(p, e->val, len);
		}
		p += len;
	}
	*out = buf;
	*outlen = need;
	return 0;
fail:
	sotto_memzero(buf, need);
	free(buf);
	return rc;
}
