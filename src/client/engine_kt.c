/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Client engine: key transparency (include/sotto/client_kt.h,
 * docs/key-transparency.md section 8).
 *
 * State in the local store (kv namespace "kt"):
 *   key     the pinned KT public key (32 bytes)
 *   head    the latest verified signed head (145 bytes)
 *   mon     the monitor's compact range of the log read so far: be64 size,
 *           then one 32-byte hash per set bit of size, highest level first
 *   expect  128 bytes: per device id, how many ADD entries of our account this
 *           account itself caused (registration, linking) and the monitor has
 *           not yet seen
 *   alarms  the alarm records (ALARM_REC bytes each), oldest first
 *
 * Every server answer is untrusted: a head is adopted only through
 * sotto_kt_view_update (signature, log id, consistency proof from the stored
 * head), a device or key only with an inclusion proof in an adopted head, and
 * the monitor's leaves only once they hash to the adopted root. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/engine_internal.h"
#include "sotto/client_kt.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/kt.h"
#include "sotto/util.h"

#pragma GCC diagnostic ignored "-Wcast-qual"

#define KT_NS "kt"
#define ALARM_DETAIL 176
#define ALARM_REC 256
#define ALARM_MAX 4096
#define LEAVES_PAGE 1024

struct kt_alarm {
	uint64_t id;
	uint8_t kind, state;
	uint8_t acct[16]; /* zero: about no account */
	uint32_t device;
	uint8_t key[33];
	uint64_t index;
	uint64_t time;
	char detail[ALARM_DETAIL];
};

struct eng_kt {
	int loaded;
	int has_key;
	uint8_t key[32];
	uint8_t log_id[32];
	sotto_kt_view *view;
	struct kt_alarm *alarms;
	size_t n_alarms;
};

static const uint8_t zero16[16];

/* ---- encoding helpers ---- */

static void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void alarm_encode(uint8_t out[ALARM_REC], const struct kt_alarm *a)
{
	memset(out, 0, ALARM_REC);
	be64_put(out, a->id);
	out[8] = a->kind;
	out[9] = a->state;
	memcpy(out + 10, a->acct, 16);
	out[26] = (uint8_t)(a->device >> 24);
	out[27] = (uint8_t)(a->device >> 16);
	out[28] = (uint8_t)(a->device >> 8);
	out[29] = (uint8_t)a->device;
	memcpy(out + 30, a->key, 33);
	be64_put(out + 63, a->index);
	be64_put(out + 71, a->time);
	memcpy(out + 79, a->detail, ALARM_DETAIL);
	out[79 + ALARM_DETAIL - 1] = '\0';
}

static void alarm_decode(struct kt_alarm *a, const uint8_t in[ALARM_REC])
{
	a->id = be64_get(in);
	a->kind = in[8];
	a->state = in[9];
	memcpy(a->acct, in + 10, 16);
	a->device = (uint32_t)in[26] << 24 | (uint32_t)in[27] << 16 | (uint32_t)in[28] << 8 |
		in[29];
	memcpy(a->key, in + 30, 33);
	a->index = be64_get(in + 63);
	a->time = be64_get(in + 71);
	memcpy(a->detail, in + 79, ALARM_DETAIL);
	a->detail[ALARM_DETAIL - 1] = '\0';
}

static int kv_get(sotto_client *c, const char *key, uint8_t **val, size_t *len)
{
	return sotto_lstore_kv_get(c->ls, KT_NS, (const uint8_t *)key, strlen(key), val, len);
}

static int kv_put(sotto_client *c, const char *key, const uint8_t *val, size_t len)
{
	int rc = sotto_lstore_kv_put(c->ls, KT_NS, (const uint8_t *)key, strlen(key), val, len);
	if (rc != 0)
		sotto__eng_err(c, rc, "cannot save key transparency state: %s",
			sotto_lstore_errmsg(c->ls));
	return rc;
}

/* ---- state ---- */

void sotto__eng_kt_free(sotto_client *c)
{
	struct eng_kt *k = c->kt;
	if (k == NULL)
		return;
	sotto_kt_view_free(k->view);
	free(k->alarms);
	free(k);
	c->kt = NULL;
}

static int kt_set_key(struct eng_kt *k, const uint8_t key[32])
{
	uint8_t log_id[32];
	int rc = sotto_kt_log_id(log_id, key);
	if (rc != 0)
		return rc;
	sotto_kt_view *v = sotto_kt_view_new(key, log_id);
	if (v == NULL)
		return SOTTO_ERR_NOMEM;
	sotto_kt_view_free(k->view);
	k->view = v;
	memcpy(k->key, key, 32);
	memcpy(k->log_id, log_id, 32);
	k->has_key = 1;
	return 0;
}

static int kt_load(sotto_client *c, struct eng_kt **out)
{
	if (c->kt != NULL && c->kt->loaded) {
		*out = c->kt;
		return 0;
	}
	struct eng_kt *k = calloc(1, sizeof *k);
	uint8_t *v = NULL;
	size_t n = 0;
	int rc;
	if (k == NULL)
		return SOTTO_ERR_NOMEM;
	rc = kv_get(c, "key", &v, &n);
	if (rc == 0) {
		rc = n == 32 ? kt_set_key(k, v) : SOTTO_ERR_STORAGE;
		free(v);
		v = NULL;
	} else if (rc == SOTTO_ERR_NOT_FOUND) {
		rc = 0;
	}
	if (rc == 0 && k->has_key) {
		rc = kv_get(c, "head", &v, &n);
		if (rc == 0) {
			/* Verified again on load: the store is sealed, but the check is
			 * cheap and keeps the view's invariant in one place. */
			sotto_kt_signed_head sh;
			rc = sotto_kt_signed_head_decode(&sh, v, n);
			if (rc == 0)
				rc = sotto_kt_view_update(k->view, &sh, NULL, 0);
			if (rc != 0)
				rc = SOTTO_ERR_STORAGE;
			free(v);
			v = NULL;
		} else if (rc == SOTTO_ERR_NOT_FOUND) {
			rc = 0;
		}
	}
	if (rc == 0) {
		rc = kv_get(c, "alarms", &v, &n);
		if (rc == 0) {
			if (n % ALARM_REC != 0) {
				rc = SOTTO_ERR_STORAGE;
			} else if (n > 0) {
				k->alarms = calloc(n / ALARM_REC, sizeof *k->alarms);
				if (k->alarms == NULL)
					rc = SOTTO_ERR_NOMEM;
				for (size_t i = 0; rc == 0 && i < n / ALARM_REC; i++)
					alarm_decode(&k->alarms[i], v + i * ALARM_REC);
				if (rc == 0)
					k->n_alarms = n / ALARM_REC;
			}
			free(v);
		} else if (rc == SOTTO_ERR_NOT_FOUND) {
			rc = 0;
		}
	}
	if (rc != 0) {
		sotto_kt_view_free(k->view);
		free(k->alarms);
		free(k);
		return sotto__eng_err(c, rc, "the key transparency state in this profile is damaged");
	}
	k->loaded = 1;
	c->kt = k;
	*out = k;
	return 0;
}

static int alarms_save(sotto_client *c, struct eng_kt *k)
{
	uint8_t *b = malloc(k->n_alarms * ALARM_REC + 1);
	if (b == NULL)
		return SOTTO_ERR_NOMEM;
	for (size_t i = 0; i < k->n_alarms; i++)
		alarm_encode(b + i * ALARM_REC, &k->alarms[i]);
	int rc = kv_put(c, "alarms", b, k->n_alarms * ALARM_REC);
	free(b);
	return rc;
}

/* Records an alarm unless the same one is already recorded; returns 0. The
 * message also becomes errmsg. */
static int alarm_raise(sotto_client *c, struct eng_kt *k, uint8_t kind, const uint8_t *acct,
	uint32_t device, const uint8_t *key, uint64_t index, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static int alarm_raise(sotto_client *c, struct eng_kt *k, uint8_t kind, const uint8_t *acct,
	uint32_t device, const uint8_t *key, uint64_t index, const char *fmt, ...)
{
	struct kt_alarm a;
	va_list ap;
	memset(&a, 0, sizeof a);
	a.kind = kind;
	if (acct != NULL)
		memcpy(a.acct, acct, 16);
	a.device = device;
	if (key != NULL)
		memcpy(a.key, key, 33);
	a.index = index;
	a.time = sotto__eng_now(c);
	va_start(ap, fmt);
	vsnprintf(a.detail, sizeof a.detail, fmt, ap);
	va_end(ap);
	snprintf(c->err, sizeof c->err, "key transparency alarm: %s", a.detail);
	for (size_t i = 0; i < k->n_alarms; i++) {
		const struct kt_alarm *b = &k->alarms[i];
		if (b->kind == a.kind && memcmp(b->acct, a.acct, 16) == 0 &&
			b->device == a.device && memcmp(b->key, a.key, 33) == 0 &&
			b->index == a.index)
			return 0;
	}
	if (k->n_alarms >= ALARM_MAX)
		return 0; /* the first ALARM_MAX are what the user needs to see */
	struct kt_alarm *na = realloc(k->alarms, (k->n_alarms + 1) * sizeof *na);
	if (na == NULL)
		return SOTTO_ERR_NOMEM;
	k->alarms = na;
	a.id = k->n_alarms > 0 ? k->alarms[k->n_alarms - 1].id + 1 : 1;
	k->alarms[k->n_alarms++] = a;
	int rc = alarms_save(c, k);
	snprintf(c->err, sizeof c->err, "key transparency alarm: %s", a.detail);
	return rc;
}

static int ensure_loaded(sotto_client *c, struct eng_kt **k)
{
	return kt_load(c, k);
}

int sotto_client_set_kt_key(sotto_client *c, const uint8_t key[SOTTO_CLIENT_KT_KEY_BYTES])
{
	struct eng_kt *k;
	if (key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = ensure_loaded(c, &k);
	if (rc != 0)
		return rc;
	if (k->has_key) {
		if (sotto_memeq(k->key, key, 32))
			return 0;
		return sotto__eng_err(c, SOTTO_ERR_EXISTS,
			"this profile already pinned a different key transparency key");
	}
	rc = kt_set_key(k, key);
	if (rc == 0)
		rc = kv_put(c, "key", key, 32);
	return rc;
}

int sotto_client_kt_key(sotto_client *c, uint8_t key[SOTTO_CLIENT_KT_KEY_BYTES])
{
	struct eng_kt *k;
	int rc = ensure_loaded(c, &k);
	if (rc != 0)
		return rc;
	if (!k->has_key)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "no key transparency key pinned yet");
	memcpy(key, k->key, 32);
	return 0;
}

int sotto_client_kt_head(sotto_client *c, uint64_t *size, uint8_t root[32], uint64_t *time_ms)
{
	struct eng_kt *k;
	sotto_kt_signed_head sh;
	int rc = ensure_loaded(c, &k);
	if (rc != 0)
		return rc;
	if (!k->has_key || sotto_kt_view_head(k->view, &sh) != 0)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "no signed tree head yet");
	if (size != NULL)
		*size = sh.head.size;
	if (root != NULL)
		memcpy(root, sh.head.root, 32);
	if (time_ms != NULL)
		*time_ms = sh.head.timestamp_ms;
	return 0;
}

int sotto__eng_kt_head_bytes(sotto_client *c, uint8_t out[145])
{
	struct eng_kt *k;
	sotto_kt_signed_head sh;
	int rc = ensure_loaded(c, &k);
	if (rc != 0)
		return rc;
	if (!k->has_key || sotto_kt_view_head(k->view, &sh) != 0)
		return SOTTO_ERR_NOT_FOUND;
	sotto_kt_signed_head_encode(out, &sh);
	return 0;
}

/* ---- server calls ---- */

/* KtHead: the latest signed head, and the server's KT key. */
static int call_head(sotto_client *c, uint8_t head[SOTTO_KT_SIGNED_HEAD_BYTES],
	uint8_t key[32])
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__KtHeadRequest hr = SOTTO__SERVICE__KT_HEAD_REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_HEAD;
	req.kt_head = &hr;
	Response *r;
	int rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	if (r->kt_head == NULL || r->kt_head->signed_head.len != SOTTO_KT_SIGNED_HEAD_BYTES ||
		r->kt_head->kt_key.len != 32) {
		sotto_client_conn_response_free(r);
		return sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE,
			"the server sent a malformed tree head");
	}
	memcpy(head, r->kt_head->signed_head.data, SOTTO_KT_SIGNED_HEAD_BYTES);
	memcpy(key, r->kt_head->kt_key.data, 32);
	sotto_client_conn_response_free(r);
	return 0;
}

/* KtConsistency from size1 to size2 (both explicit). */
static int call_consistency(sotto_client *c, uint64_t size1, uint64_t size2, uint8_t *proof,
	size_t *count)
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__KtConsistencyRequest cr = SOTTO__SERVICE__KT_CONSISTENCY_REQUEST__INIT;
	cr.from_size = size1;
	cr.to_size = size2;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_CONSISTENCY;
	req.kt_consistency = &cr;
	Response *r;
	int rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	const Sotto__Service__KtConsistencyResponse *p = r->kt_consistency;
	if (p == NULL || p->n_hashes > SOTTO_KT_MAX_PROOF_HASHES || p->from_size != size1 ||
		p->to_size != size2) {
		sotto_client_conn_response_free(r);
		return sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE,
			"the server sent a malformed consistency proof");
	}
	for (size_t i = 0; i < p->n_hashes; i++) {
		if (p->hashes[i].len != 32) {
			sotto_client_conn_response_free(r);
			return sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE,
				"the server sent a malformed consistency proof");
		}
		memcpy(proof + 32 * i, p->hashes[i].data, 32);
	}
	*count = p->n_hashes;
	sotto_client_conn_response_free(r);
	return 0;
}

/* Pins the key the server announces when none is pinned (trust on first
 * use; `--kt-key` avoids it). */
static int ensure_key(sotto_client *c, struct eng_kt *k)
{
	uint8_t head[SOTTO_KT_SIGNED_HEAD_BYTES], key[32];
	if (k->has_key)
		return 0;
	int rc = call_head(c, head, key);
	if (rc != 0)
		return rc;
	rc = kt_set_key(k, key);
	if (rc == 0)
		rc = kv_put(c, "key", key, 32);
	return rc;
}

static void hex8(const uint8_t *h, char out[17])
{
	sotto__eng_hex(h, 8, out);
}

/* Offers a signed head from the server to the view: a newer one needs a
 * consistency proof from the stored head (fetched here). Older heads,
 * forks and bad signatures raise an alarm and fail. */
static int adopt(sotto_client *c, struct eng_kt *k, const uint8_t *bytes, size_t len,
	sotto_kt_signed_head *out)
{
	sotto_kt_signed_head sh, cur;
	uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32];
	size_t count = 0;
	char r1[17], r2[17];
	int rc = ensure_key(c, k);
	if (rc != 0)
		return rc;
	if (bytes == NULL || sotto_kt_signed_head_decode(&sh, bytes, len) != 0)
		return sotto__eng_err(c, SOTTO_ERR_KT_PROOF,
			"the server sent no valid signed tree head");
	int have = sotto_kt_view_head(k->view, &cur) == 0;
	if (have && sh.head.size > cur.head.size && cur.head.size > 0) {
		rc = call_consistency(c, cur.head.size, sh.head.size, proof, &count);
		if (rc != 0)
			return rc;
	}
	rc = sotto_kt_view_update(k->view, &sh, proof, count);
	hex8(sh.head.root, r1);
	if (have)
		hex8(cur.head.root, r2);
	if (rc == SOTTO_ERR_KT_STALE) {
		(void)alarm_raise(c, k, SOTTO_CLIENT_KT_STALE, NULL, 0, NULL, sh.head.size,
			"the server presented an old tree head (size %llu, time %llu; this "
			"device holds size %llu, time %llu): replay refused",
			(unsigned long long)sh.head.size, (unsigned long long)sh.head.timestamp_ms,
			(unsigned long long)cur.head.size, (unsigned long long)cur.head.timestamp_ms);
		return SOTTO_ERR_KT_STALE;
	}
	if (rc == SOTTO_ERR_KT_FORK) {
		(void)alarm_raise(c, k, SOTTO_CLIENT_KT_FORK, NULL, 0, NULL, sh.head.size,
			"the server's tree head (size %llu, root %s) does not extend the one this "
			"device holds (size %llu, root %s): the log was rewritten or forked",
			(unsigned long long)sh.head.size, r1, (unsigned long long)cur.head.size, r2);
		return SOTTO_ERR_KT_FORK;
	}
	if (rc == SOTTO_ERR_INVALID_SIGNATURE || rc == SOTTO_ERR_INVALID_MESSAGE) {
		(void)alarm_raise(c, k, SOTTO_CLIENT_KT_BAD_HEAD, NULL, 0, NULL, sh.head.size,
			"the server presented a tree head (size %llu) that the pinned key "
			"transparency key did not sign, or with a time going backwards",
			(unsigned long long)sh.head.size);
		return SOTTO_ERR_KT_PROOF;
	}
	if (rc != 0)
		return sotto__eng_err(c, rc, "tree head: %s", sotto_strerror(rc));
	if (!have || sh.head.size != cur.head.size ||
		sh.head.timestamp_ms != cur.head.timestamp_ms) {
		uint8_t enc[SOTTO_KT_SIGNED_HEAD_BYTES];
		sotto_kt_signed_head_encode(enc, &sh);
		rc = kv_put(c, "head", enc, sizeof enc);
		if (rc != 0)
			return rc;
	}
	if (out != NULL)
		*out = sh;
	return 0;
}

static int fetch_latest(sotto_client *c, struct eng_kt *k, sotto_kt_signed_head *out)
{
	uint8_t head[SOTTO_KT_SIGNED_HEAD_BYTES], key[32];
	int rc = ensure_key(c, k);
	if (rc == 0)
		rc = call_head(c, head, key);
	if (rc != 0)
		return rc;
	if (!sotto_memeq(key, k->key, 32))
		(void)alarm_raise(c, k, SOTTO_CLIENT_KT_BAD_HEAD, NULL, 0, key, UINT64_MAX,
			"the server announces a key transparency key that is not the pinned one");
	return adopt(c, k, head, sizeof head, out);
}

/* ---- proofs of devices ---- */

static int our_identity(sotto_client *c, uint8_t key[33])
{
	sotto_lstore_local loc;
	int rc = sotto_lstore_local_get(c->ls, &loc);
	if (rc == 0)
		memcpy(key, loc.identity.pub, 33);
	sotto_memzero(&loc, sizeof loc);
	return rc;
}

/* The status of one served device against an adopted head. */
static enum sotto_client_kt_status proof_status(const uint8_t acct[16], uint32_t device_id,
	const ProtobufCBinaryData *identity_key, const Sotto__Service__KtProof *p,
	const sotto_kt_signed_head *sh, uint64_t *index)
{
	sotto_kt_leaf leaf;
	uint8_t lh[32];
	sotto_iov hashes[SOTTO_KT_MAX_PROOF_HASHES];
	*index = UINT64_MAX;
	if (p == NULL || p->leaf_index == UINT64_MAX || p->leaf.len == 0)
		return SOTTO_CLIENT_KT_MISSING;
	if (p->tree_size != sh->head.size || p->n_hashes > SOTTO_KT_MAX_PROOF_HASHES ||
		sotto_kt_leaf_decode(&leaf, p->leaf.data, p->leaf.len) != 0 ||
		sotto_kt_leaf_hash(lh, p->leaf.data, p->leaf.len) != 0)
		return SOTTO_CLIENT_KT_INVALID;
	for (size_t i = 0; i < p->n_hashes; i++) {
		hashes[i].base = p->hashes[i].data;
		hashes[i].len = p->hashes[i].len;
	}
	if (sotto_kt_verify_inclusion_buf(lh, 32, p->leaf_index, sh->head.size, hashes,
		    p->n_hashes, sh->head.root, 32) != 0)
		return SOTTO_CLIENT_KT_INVALID;
	*index = p->leaf_index;
	/* The proved leaf must be this device's binding, still in force, with
	 * exactly the key the server handed out. */
	if (!sotto_memeq(leaf.account, acct, 16) || leaf.device_id != device_id ||
		leaf.event == SOTTO_KT_EVENT_REMOVE)
		return SOTTO_CLIENT_KT_INVALID;
	if (identity_key->len != 33 || !sotto_memeq(leaf.identity_key, identity_key->data, 33))
		return SOTTO_CLIENT_KT_MISMATCH;
	return SOTTO_CLIENT_KT_OK;
}

static void acct_label(sotto_client *c, const uint8_t acct[16], char *out, size_t cap)
{
	char n[SOTTO_CLIENT_NAME_MAX + 1];
	if (sotto_memeq(acct, c->acct, 16) && c->registered)
		snprintf(out, cap, "%s (you)", c->name);
	else if (sotto_memeq(acct, zero16, 16))
		snprintf(out, cap, "%s", "");
	else if (sotto__eng_name_of(c, acct, n) == 0)
		snprintf(out, cap, "%s", n);
	else
		sotto__eng_uuid_str(acct, out);
}

int sotto__eng_kt_check_device(sotto_client *c, const uint8_t acct[16], uint32_t device_id,
	const ProtobufCBinaryData *identity_key, const Sotto__Service__KtProof *proof,
	const ProtobufCBinaryData *signed_head)
{
	struct eng_kt *k;
	sotto_kt_signed_head sh;
	uint64_t index;
	char who[80];
	int rc = ensure_loaded(c, &k);
	if (rc == 0)
		rc = adopt(c, k, signed_head != NULL ? signed_head->data : NULL,
			signed_head != NULL ? signed_head->len : 0, &sh);
	if (rc != 0)
		return rc;
	enum sotto_client_kt_status st = proof_status(acct, device_id, identity_key, proof, &sh,
		&index);
	if (st == SOTTO_CLIENT_KT_OK)
		return 0;
	acct_label(c, acct, who, sizeof who);
	rc = alarm_raise(c, k, SOTTO_CLIENT_KT_NO_PROOF, acct, device_id,
		identity_key->len == 33 ? identity_key->data : NULL, sh.head.size,
		"device %u of %s: %s in the signed log (size %llu); refused to encrypt to it",
		(unsigned)device_id, who, sotto_client_kt_status_str(st),
		(unsigned long long)sh.head.size);
	return rc != 0 ? rc : SOTTO_ERR_KT_PROOF;
}

/* ---- monitoring our own account ---- */

static int frontier_load(sotto_client *c, sotto_kt_frontier *f)
{
	uint8_t *v = NULL;
	size_t n = 0;
	sotto_kt_frontier_init(f);
	int rc = kv_get(c, "mon", &v, &n);
	if (rc == SOTTO_ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	rc = SOTTO_ERR_STORAGE;
	if (n >= 8) {
		uint64_t size = be64_get(v);
		size_t need = 8 + 32 * (size_t)__builtin_popcountll(size), off = 8;
		if (n == need) {
			f->size = size;
			for (int h = 63; h >= 0; h--)
				if (size >> h & 1) {
					memcpy(f->hash[h], v + off, 32);
					off += 32;
				}
			rc = 0;
		}
	}
	free(v);
	return rc;
}

static int frontier_save(sotto_client *c, const sotto_kt_frontier *f)
{
	uint8_t b[8 + 64 * 32];
	size_t off = 8;
	be64_put(b, f->size);
	for (int h = 63; h >= 0; h--)
		if (f->size >> h & 1) {
			memcpy(b + off, f->hash[h], 32);
			off += 32;
		}
	return kv_put(c, "mon", b, off);
}

static int expect_load(sotto_client *c, uint8_t exp[128])
{
	uint8_t *v = NULL;
	size_t n = 0;
	memset(exp, 0, 128);
	int rc = kv_get(c, "expect", &v, &n);
	if (rc == SOTTO_ERR_NOT_FOUND)
		return 0;
	if (rc == 0 && n == 128)
		memcpy(exp, v, 128);
	else if (rc == 0)
		rc = SOTTO_ERR_STORAGE;
	free(v);
	return rc;
}

int sotto__eng_kt_own_added(sotto_client *c, uint32_t device_id, const uint8_t key[33])
{
	uint8_t exp[128];
	(void)key; /* the monitor checks every own entry against the account key */
	if (device_id == 0 || device_id > 127)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = expect_load(c, exp);
	if (rc != 0)
		return rc;
	if (exp[device_id] < 255)
		exp[device_id]++;
	return kv_put(c, "expect", exp, sizeof exp);
}

/* An entry of our own account that the scan found, checked after the
 * leaves proved to add up to the signed root. */
struct own_entry {
	sotto_kt_leaf leaf;
	uint64_t index;
};

/* The transport (Noise static) key each device of our account was last
 * logged with: 128 slots of a flag byte and 32 key bytes ("tkeys"). */
#define TKEY_SLOT 33
static int tkeys_load(sotto_client *c, uint8_t t[128 * TKEY_SLOT])
{
	uint8_t *v = NULL;
	size_t n = 0;
	memset(t, 0, 128 * TKEY_SLOT);
	int rc = kv_get(c, "tkeys", &v, &n);
	if (rc == SOTTO_ERR_NOT_FOUND)
		return 0;
	if (rc == 0 && n == 128 * TKEY_SLOT)
		memcpy(t, v, n);
	else if (rc == 0)
		rc = SOTTO_ERR_STORAGE;
	free(v);
	return rc;
}

/* Transport keys: our own device must be logged with exactly the Noise key
 * we connect with (another key under our device id is a device the server
 * made up to stand in for us: a ghost); another device of ours whose
 * transport key changed while its identity key stayed is shown to the user
 * (legitimate clients never rotate it, so it means the server lets a new
 * key log in as that device). */
static int check_transport(sotto_client *c, struct eng_kt *k, const sotto_kt_leaf *l,
	uint64_t index, const uint8_t own_tkey[32], uint8_t *tkeys, int *tkeys_changed)
{
	uint8_t *slot = l->device_id < 128 ? tkeys + (size_t)l->device_id * TKEY_SLOT : NULL;
	int rc = 0;

	if (l->event != SOTTO_KT_EVENT_REMOVE && own_tkey != NULL &&
		l->device_id == c->device_id &&
		!sotto_memeq(l->transport_key, own_tkey, SOTTO_KT_TRANSPORT_KEY_BYTES))
		rc = alarm_raise(c, k, SOTTO_CLIENT_KT_GHOST_DEVICE, c->acct, l->device_id,
			l->identity_key, index,
			"log entry %llu binds this device (%u) to a transport key that is not "
			"this device's: the server lets another device connect as you",
			(unsigned long long)index, (unsigned)l->device_id);
	else if (l->event != SOTTO_KT_EVENT_ADD && slot != NULL && slot[0] &&
		 !sotto_memeq(slot + 1, l->transport_key, SOTTO_KT_TRANSPORT_KEY_BYTES) &&
		 l->device_id != c->device_id)
		rc = alarm_raise(c, k, SOTTO_CLIENT_KT_TRANSPORT_CHANGE, c->acct, l->device_id,
			l->identity_key, index,
			"log entry %llu changes the transport key of device %u of your account "
			"(same identity key)",
			(unsigned long long)index, (unsigned)l->device_id);
	if (slot != NULL && l->event != SOTTO_KT_EVENT_REMOVE) {
		slot[0] = 1;
		memcpy(slot + 1, l->transport_key, SOTTO_KT_TRANSPORT_KEY_BYTES);
		*tkeys_changed = 1;
	} else if (slot != NULL && slot[0]) {
		slot[0] = 0; /* removed: a later ADD is a new device */
		*tkeys_changed = 1;
	}
	return rc;
}

static int check_own(sotto_client *c, struct eng_kt *k, const struct own_entry *e,
	const uint8_t ours[33], uint8_t exp[128], int *exp_changed)
{
	const sotto_kt_leaf *l = &e->leaf;
	if (l->event == SOTTO_KT_EVENT_REMOVE)
		return 0;
	if (!sotto_memeq(l->identity_key, ours, 33))
		return alarm_raise(c, k, SOTTO_CLIENT_KT_KEY_SWAP, c->acct, l->device_id,
			l->identity_key, e->index,
			"log entry %llu binds device %u of your account to an identity key that is "
			"not yours: someone may read your messages",
			(unsigned long long)e->index, (unsigned)l->device_id);
	if (l->event != SOTTO_KT_EVENT_ADD || c->device_id != 1)
		return 0;
	/* The primary device links every device, so it knows each ADD of its
	 * account. (A linked device cannot tell its primary's links from a
	 * server's; it relies on the key check above: a device the server made
	 * up cannot hold the account's identity private key, so it is logged
	 * with another key, or its prekeys carry no valid signature.) */
	if (l->device_id < 128 && exp[l->device_id] > 0) {
		exp[l->device_id]--;
		*exp_changed = 1;
		return 0;
	}
	return alarm_raise(c, k, SOTTO_CLIENT_KT_GHOST_DEVICE, c->acct, l->device_id,
		l->identity_key, e->index,
		"log entry %llu adds device %u to your account, but you did not link it",
		(unsigned long long)e->index, (unsigned)l->device_id);
}

static int monitor(sotto_client *c, struct eng_kt *k)
{
	sotto_kt_signed_head sh;
	sotto_kt_frontier f;
	uint8_t ours[33], exp[128], root[32];
	struct own_entry *own = NULL;
	size_t n_own = 0, cap_own = 0;
	int rc, exp_changed = 0;

	if (!c->registered)
		return 0;
	rc = fetch_latest(c, k, &sh);
	if (rc == 0)
		rc = frontier_load(c, &f);
	if (rc == 0)
		rc = our_identity(c, ours);
	if (rc == 0)
		rc = expect_load(c, exp);
	if (rc != 0)
		return rc;
	if (f.size > sh.head.size)
		return sotto__eng_err(c, SOTTO_ERR_STORAGE, "the log monitor is ahead of the head");
	if (f.size == sh.head.size)
		return 0;
	while (rc == 0 && f.size < sh.head.size) {
		uint64_t left = sh.head.size - f.size;
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__KtLeavesRequest lr = SOTTO__SERVICE__KT_LEAVES_REQUEST__INIT;
		lr.start = f.size;
		lr.max = left < LEAVES_PAGE ? (uint32_t)left : LEAVES_PAGE;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_LEAVES;
		req.kt_leaves = &lr;
		Response *r;
		rc = sotto__eng_call(c, &req, &r, 0);
		if (rc != 0)
			break;
		const Sotto__Service__KtLeavesResponse *p = r->kt_leaves;
		if (p == NULL || p->n_leaves == 0) {
			sotto_client_conn_response_free(r);
			rc = sotto__eng_err(c, SOTTO_ERR_KT_PROOF,
				"the server withholds log entries from %llu on",
				(unsigned long long)f.size);
			break;
		}
		for (size_t i = 0; rc == 0 && i < p->n_leaves && f.size < sh.head.size; i++) {
			sotto_kt_leaf leaf;
			uint8_t lh[32], hashes[SOTTO_KT_MAX_APPEND_NODES * 32];
			sotto_kt_node nodes[SOTTO_KT_MAX_APPEND_NODES];
			size_t nn;
			if (sotto_kt_leaf_decode(&leaf, p->leaves[i].data, p->leaves[i].len) != 0) {
				rc = sotto__eng_err(c, SOTTO_ERR_KT_PROOF,
					"malformed log entry %llu", (unsigned long long)f.size);
				break;
			}
			uint64_t index = f.size;
			rc = sotto_kt_leaf_hash(lh, p->leaves[i].data, p->leaves[i].len);
			if (rc == 0)
				rc = sotto_kt_frontier_append(&f, lh, nodes, hashes, &nn);
			if (rc == 0 && sotto_memeq(leaf.account, c->acct, 16)) {
				if (n_own == cap_own) {
					size_t nc = cap_own ? 2 * cap_own : 16;
					struct own_entry *no = realloc(own, nc * sizeof *no);
					if (no == NULL) {
						rc = SOTTO_ERR_NOMEM;
						break;
					}
					own = no;
					cap_own = nc;
				}
				own[n_own].leaf = leaf;
				own[n_own].index = index;
				n_own++;
			}
		}
		sotto_client_conn_response_free(r);
	}
	if (rc == 0)
		rc = sotto_kt_frontier_root(&f, root);
	if (rc == 0 && !sotto_memeq(root, sh.head.root, 32)) {
		char r1[17], r2[17];
		hex8(root, r1);
		hex8(sh.head.root, r2);
		(void)alarm_raise(c, k, SOTTO_CLIENT_KT_FORK, NULL, 0, NULL, sh.head.size,
			"the log's entries hash to root %s, not to the signed head's root %s (size "
			"%llu): the server hides or rewrote entries", r1, r2,
			(unsigned long long)sh.head.size);
		rc = SOTTO_ERR_KT_FORK;
	}
	uint8_t tkeys[128 * TKEY_SLOT], own_tkey[32];
	int tkeys_changed = 0, have_tkey = 0;
	if (rc == 0)
		rc = tkeys_load(c, tkeys);
	if (rc == 0 && c->has_noise) {
		rc = sotto_x25519_public(own_tkey, c->noise_priv);
		have_tkey = rc == 0;
	}
	for (size_t i = 0; rc == 0 && i < n_own; i++) {
		rc = check_own(c, k, &own[i], ours, exp, &exp_changed);
		if (rc == 0)
			rc = check_transport(c, k, &own[i].leaf, own[i].index,
				have_tkey ? own_tkey : NULL, tkeys, &tkeys_changed);
	}
	free(own);
	if (rc == 0 && exp_changed)
		rc = kv_put(c, "expect", exp, sizeof exp);
	if (rc == 0 && tkeys_changed)
		rc = kv_put(c, "tkeys", tkeys, sizeof tkeys);
	if (rc == 0)
		rc = frontier_save(c, &f);
	return rc;
}

int sotto_client_kt_refresh(sotto_client *c)
{
	struct eng_kt *k;
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	int rc = ensure_loaded(c, &k);
	return rc != 0 ? rc : monitor(c, k);
}

void sotto__eng_kt_joined(sotto_client *c)
{
	struct eng_kt *k;
	uint8_t ours[33];
	if (ensure_loaded(c, &k) != 0)
		return;
	if (c->device_id == 1 && our_identity(c, ours) == 0)
		(void)sotto__eng_kt_own_added(c, 1, ours);
	(void)monitor(c, k);
}

/* The pending or rejected own-account alarm about device, if any. */
static const struct kt_alarm *blocking_alarm(const struct eng_kt *k, const uint8_t acct[16],
	uint32_t device)
{
	for (size_t i = 0; i < k->n_alarms; i++) {
		const struct kt_alarm *a = &k->alarms[i];
		if ((a->kind == SOTTO_CLIENT_KT_GHOST_DEVICE || a->kind == SOTTO_CLIENT_KT_KEY_SWAP) &&
			a->state != SOTTO_CLIENT_KT_ACCEPTED && a->device == device &&
			sotto_memeq(a->acct, acct, 16))
			return a;
	}
	return NULL;
}

int sotto__eng_kt_may_encrypt(sotto_client *c, const uint8_t acct[16], uint32_t device_id,
	int new_device)
{
	struct eng_kt *k;
	int rc = ensure_loaded(c, &k);
	if (rc != 0)
		return rc;
	if (new_device && sotto_memeq(acct, c->acct, 16)) {
		rc = monitor(c, k);
		if (rc != 0)
			return rc;
	}
	const struct kt_alarm *a = blocking_alarm(k, acct, device_id);
	if (a == NULL)
		return 0;
	return sotto__eng_err(c, SOTTO_ERR_KT_PROOF,
		"device %u is not trusted (key transparency alarm %llu%s): %s", (unsigned)device_id,
		(unsigned long long)a->id, a->state == SOTTO_CLIENT_KT_REJECTED ? ", rejected" : "",
		a->detail);
}

/* ---- heads from contacts ---- */

int sotto__eng_kt_peer_head(sotto_client *c, const char *who, const uint8_t *head, size_t len)
{
	struct eng_kt *k;
	sotto_kt_signed_head peer, cur;
	uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32];
	size_t count = 0;
	char r1[17], r2[17];
	int rc = ensure_loaded(c, &k);
	if (rc != 0)
		return rc;
	if (sotto_kt_signed_head_decode(&peer, head, len) != 0)
		return sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE, "%s sent a malformed tree head",
			who);
	rc = ensure_key(c, k);
	if (rc != 0)
		return rc;
	if (sotto_kt_view_head(k->view, &cur) != 0 || peer.head.size > cur.head.size) {
		/* Catch up first: an honest server's latest head is at least as
		 * large as any head it signed before. */
		rc = fetch_latest(c, k, &cur);
		if (rc != 0)
			return rc;
	}
	if (sotto_kt_head_verify(&peer, k->key, k->log_id) != 0)
		return alarm_raise(c, k, SOTTO_CLIENT_KT_BAD_HEAD, NULL, 0, NULL, peer.head.size,
			"%s sent a tree head (size %llu) that the pinned key did not sign", who,
			(unsigned long long)peer.head.size);
	hex8(peer.head.root, r1);
	hex8(cur.head.root, r2);
	if (peer.head.size > cur.head.size) {
		(void)alarm_raise(c, k, SOTTO_CLIENT_KT_FORK, NULL, 0, NULL, peer.head.size,
			"%s holds a signed tree head of size %llu (root %s), but the server shows "
			"this device only %llu entries: it shows you different logs", who,
			(unsigned long long)peer.head.size, r1, (unsigned long long)cur.head.size);
		return SOTTO_ERR_KT_FORK;
	}
	if (peer.head.size < cur.head.size && peer.head.size > 0) {
		rc = call_consistency(c, peer.head.size, cur.head.size, proof, &count);
		if (rc != 0)
			return rc;
	}
	rc = sotto_kt_view_check_peer(k->view, &peer, proof, count);
	if (rc == SOTTO_ERR_KT_FORK || rc == SOTTO_ERR_KT_PROOF) {
		(void)alarm_raise(c, k, SOTTO_CLIENT_KT_FORK, NULL, 0, NULL, peer.head.size,
			"%s's tree head (size %llu, root %s) and yours (size %llu, root %s) are not "
			"one append-only log: the server shows different logs to different users",
			who, (unsigned long long)peer.head.size, r1,
			(unsigned long long)cur.head.size, r2);
		return SOTTO_ERR_KT_FORK;
	}
	if (rc != 0)
		return sotto__eng_err(c, rc, "%s's tree head: %s", who, sotto_strerror(rc));
	return 0;
}

/* ---- alarms and decisions ---- */

int sotto_client_kt_alarms(sotto_client *c, int pending_only,
	int (*cb)(void *ctx, const sotto_client_kt_alarm *a), void *ctx)
{
	struct eng_kt *k;
	int rc = ensure_loaded(c, &k);
	for (size_t i = 0; rc == 0 && i < k->n_alarms; i++) {
		const struct kt_alarm *a = &k->alarms[i];
		char who[80];
		if (pending_only && a->state != SOTTO_CLIENT_KT_PENDING)
			continue;
		acct_label(c, a->acct, who, sizeof who);
		sotto_client_kt_alarm out;
		memset(&out, 0, sizeof out);
		out.id = a->id;
		out.kind = (enum sotto_client_kt_alarm_kind)a->kind;
		out.state = (enum sotto_client_kt_alarm_state)a->state;
		out.account = who;
		out.device_id = a->device;
		out.leaf_index = a->index;
		out.time_ms = a->time;
		out.detail = a->detail;
		rc = cb(ctx, &out);
	}
	return rc;
}

int sotto_client_kt_decide(sotto_client *c, uint64_t id, int accept)
{
	struct eng_kt *k;
	int rc = ensure_loaded(c, &k);
	if (rc != 0)
		return rc;
	struct kt_alarm *a = NULL;
	for (size_t i = 0; i < k->n_alarms; i++)
		if (k->alarms[i].id == id)
			a = &k->alarms[i];
	if (a == NULL)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "no key transparency alarm %llu",
			(unsigned long long)id);
	uint8_t kind = a->kind;
	uint32_t device = a->device;
	int own = c->registered && sotto_memeq(a->acct, c->acct, 16);
	a->state = accept ? SOTTO_CLIENT_KT_ACCEPTED : SOTTO_CLIENT_KT_REJECTED;
	rc = alarms_save(c, k);
	if (rc != 0 || accept || !own ||
		(kind != SOTTO_CLIENT_KT_GHOST_DEVICE && kind != SOTTO_CLIENT_KT_KEY_SWAP))
		return rc;
	/* Rejected: no session with it survives, and the primary removes it. */
	rc = sotto_lstore_session_delete(c->ls, c->acct_str, device);
	if (rc != 0 && rc != SOTTO_ERR_NOT_FOUND)
		return rc;
	if (c->device_id == 1 && device != 1) {
		rc = sotto_client_unlink(c, device);
		if (rc == SOTTO_ERR_NOT_FOUND)
			rc = 0; /* already gone from the server's list */
	}
	return rc == SOTTO_ERR_NOT_FOUND ? 0 : rc;
}

const char *sotto_client_kt_status_str(enum sotto_client_kt_status st)
{
	switch (st) {
	case SOTTO_CLIENT_KT_OK: return "ok: in the signed log with this key";
	case SOTTO_CLIENT_KT_MISSING: return "no log entry";
	case SOTTO_CLIENT_KT_INVALID: return "an inclusion proof that does not verify";
	case SOTTO_CLIENT_KT_MISMATCH: return "a different identity key than the logged one";
	case SOTTO_CLIENT_KT_UNTRUSTED: return "logged but not added by you: alarm pending";
	case SOTTO_CLIENT_KT_REFUSED: return "rejected by you";
	}
	return "unknown";
}

/* ---- device lists with their status ---- */

static int device_list(sotto_client *c, const uint8_t *acct, Response **r)
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__DeviceListRequest dl = SOTTO__SERVICE__DEVICE_LIST_REQUEST__INIT;
	if (acct != NULL) {
		dl.account_id.data = (uint8_t *)acct;
		dl.account_id.len = 16;
	}
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_DEVICE_LIST;
	req.device_list = &dl;
	int rc = sotto__eng_call(c, &req, r, 0);
	if (rc == 0 && (*r)->device_list == NULL) {
		sotto_client_conn_response_free(*r);
		rc = sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE, "malformed device list");
	}
	return rc;
}

int sotto_client_kt_devices(sotto_client *c, int (*cb)(void *ctx, const sotto_client_kt_device *d),
	void *ctx)
{
	struct eng_kt *k;
	sotto_kt_signed_head sh;
	Response *r;
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	int rc = ensure_loaded(c, &k);
	if (rc != 0)
		return rc;
	/* A failed refresh is an alarm the caller shows; the list still
	 * shows what the server claims, each entry with its status. */
	int mon_rc = monitor(c, k);
	rc = device_list(c, NULL, &r);
	if (rc != 0)
		return rc;
	const Sotto__Service__DeviceListResponse *dl = r->device_list;
	rc = adopt(c, k, dl->kt_signed_head.data, dl->kt_signed_head.len, &sh);
	int have_head = rc == 0;
	rc = 0;
	for (size_t i = 0; rc == 0 && i < dl->n_devices; i++) {
		const Sotto__Service__DeviceInfo *di = dl->devices[i];
		char name[256];
		sotto_client_kt_device d;
		memset(&d, 0, sizeof d);
		if (sotto__eng_decrypt_name(c, di->name.data, di->name.len, name, sizeof name) != 0)
			name[0] = '\0';
		d.device_id = di->device_id;
		d.name = name;
		d.current = di->device_id == c->device_id;
		d.leaf_index = UINT64_MAX;
		d.status = have_head ? proof_status(c->acct, di->device_id, &di->identity_key,
					       di->kt_proof, &sh, &d.leaf_index) :
				       SOTTO_CLIENT_KT_INVALID;
		d.tree_size = have_head ? sh.head.size : 0;
		if (d.status == SOTTO_CLIENT_KT_OK) {
			const struct kt_alarm *a = blocking_alarm(k, c->acct, di->device_id);
			if (a != NULL)
				d.status = a->state == SOTTO_CLIENT_KT_REJECTED ?
					SOTTO_CLIENT_KT_REFUSED : SOTTO_CLIENT_KT_UNTRUSTED;
		}
		rc = cb(ctx, &d);
	}
	sotto_client_conn_response_free(r);
	if (rc == 0 && mon_rc != 0)
		rc = mon_rc;
	return rc;
}

int sotto_client_kt_contact_status(sotto_client *c, const char *name, sotto_client_kt_contact *out)
{
	struct eng_kt *k;
	sotto_kt_signed_head sh;
	uint8_t acct[16];
	char n[SOTTO_CLIENT_NAME_MAX + 1];
	Response *r;
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	memset(out, 0, sizeof *out);
	int rc = sotto__eng_norm_name(name, n);
	if (rc != 0)
		return sotto__eng_err(c, rc, "not a valid name");
	rc = sotto__eng_resolve(c, n, acct, 0);
	if (rc == 0)
		rc = ensure_loaded(c, &k);
	if (rc == 0)
		rc = device_list(c, acct, &r);
	if (rc != 0)
		return rc;
	const Sotto__Service__DeviceListResponse *dl = r->device_list;
	rc = adopt(c, k, dl->kt_signed_head.data, dl->kt_signed_head.len, &sh);
	if (rc == 0) {
		out->tree_size = sh.head.size;
		out->n_devices = (uint32_t)dl->n_devices;
		for (size_t i = 0; i < dl->n_devices; i++) {
			uint64_t index;
			const Sotto__Service__DeviceInfo *di = dl->devices[i];
			enum sotto_client_kt_status st = proof_status(acct, di->device_id,
				&di->identity_key, di->kt_proof, &sh, &index);
			if (st == SOTTO_CLIENT_KT_OK)
				out->n_ok++;
			else if (st > out->status)
				out->status = st;
		}
	}
	sotto_client_conn_response_free(r);
	for (size_t i = 0; rc == 0 && i < k->n_alarms; i++)
		if (k->alarms[i].state == SOTTO_CLIENT_KT_PENDING &&
			sotto_memeq(k->alarms[i].acct, acct, 16))
			out->n_alarms++;
	return rc;
}
