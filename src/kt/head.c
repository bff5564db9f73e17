/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Signed tree heads, the client's view of the log and the KT leaf encoding
 * (formats in include/sotto/kt.h and docs/key-transparency.md). */
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/ed25519.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/kt.h"
#include "sotto/util.h"

#define HB SOTTO_KT_HASH_BYTES

/* Domain separation: the KT key signs nothing else, but a label makes the
 * signed bytes unmistakable should the key ever be reused. */
static const char STH_LABEL[] = "sotto-kt-sth-v2";
#define STH_LABEL_LEN (sizeof(STH_LABEL) - 1)
static const char LOG_ID_LABEL[] = "sotto-kt-log-id";

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int sotto_kt_log_id(uint8_t out[SOTTO_KT_LOG_ID_BYTES], const uint8_t pub[32])
{
	/* The key's type byte: 0xED, Ed25519 (version 1 heads used 0x05, an
	 * X25519 key signing with XEdDSA), so a log id names key and algorithm. */
	static const uint8_t type = SOTTO_KT_KEY_TYPE_ED25519;
	if (out == NULL || pub == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_iov parts[3] = { { LOG_ID_LABEL, sizeof(LOG_ID_LABEL) - 1 }, { &type, 1 }, { pub, 32 } };
	return sotto_sha256_v(out, parts, 3);
}

/* ---- Tree heads ------------------------------------------------------------ */

void sotto_kt_head_encode(uint8_t out[SOTTO_KT_HEAD_BYTES], const sotto_kt_head *h)
{
	out[0] = SOTTO_KT_HEAD_VERSION;
	memcpy(out + 1, h->log_id, SOTTO_KT_LOG_ID_BYTES);
	put64(out + 33, h->size);
	memcpy(out + 41, h->root, HB);
	put64(out + 73, h->timestamp_ms);
}

void sotto_kt_signed_head_encode(uint8_t out[SOTTO_KT_SIGNED_HEAD_BYTES],
				 const sotto_kt_signed_head *sh)
{
	sotto_kt_head_encode(out, &sh->head);
	memcpy(out + SOTTO_KT_HEAD_BYTES, sh->sig, 64);
}

int sotto_kt_signed_head_decode(sotto_kt_signed_head *sh, const uint8_t *in, size_t len)
{
	if (sh == NULL || (in == NULL && len > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (len != SOTTO_KT_SIGNED_HEAD_BYTES || in[0] != SOTTO_KT_HEAD_VERSION)
		return SOTTO_ERR_INVALID_MESSAGE;
	memcpy(sh->head.log_id, in + 1, SOTTO_KT_LOG_ID_BYTES);
	sh->head.size = get64(in + 33);
	memcpy(sh->head.root, in + 41, HB);
	sh->head.timestamp_ms = get64(in + 73);
	memcpy(sh->sig, in + SOTTO_KT_HEAD_BYTES, 64);
	return 0;
}

/* The bytes the signature covers: label || encoding. */
static void signed_bytes(uint8_t out[STH_LABEL_LEN + SOTTO_KT_HEAD_BYTES], const sotto_kt_head *h)
{
	memcpy(out, STH_LABEL, STH_LABEL_LEN);
	sotto_kt_head_encode(out + STH_LABEL_LEN, h);
}

static int empty_root_ok(const sotto_kt_head *h)
{
	uint8_t e[HB];
	sotto_kt_empty_root(e);
	return h->size != 0 || sotto_memeq(h->root, e, HB);
}

int sotto_kt_head_sign(sotto_kt_signed_head *out, const sotto_kt_head *h,
		       const uint8_t seed[SOTTO_KT_KEY_BYTES])
{
	if (out == NULL || h == NULL || seed == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (!empty_root_ok(h))
		return SOTTO_ERR_INVALID_MESSAGE;
	uint8_t msg[STH_LABEL_LEN + SOTTO_KT_HEAD_BYTES];
	sotto_kt_head hc = *h; /* out may alias h */
	signed_bytes(msg, &hc);
	int rc = sotto_ed25519_sign(out->sig, seed, msg, sizeof(msg));
	out->head = hc;
	if (rc != 0)
		sotto_memzero(out->sig, sizeof(out->sig));
	return rc > 0 ? SOTTO_ERR_INTERNAL : rc;
}

int sotto_kt_head_verify(const sotto_kt_signed_head *sh, const uint8_t pub[32],
			 const uint8_t log_id[SOTTO_KT_LOG_ID_BYTES])
{
	if (sh == NULL || pub == NULL || log_id == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	uint8_t msg[STH_LABEL_LEN + SOTTO_KT_HEAD_BYTES];
	signed_bytes(msg, &sh->head);
	if (sotto_ed25519_verify(pub, msg, sizeof(msg), sh->sig) != 0)
		return SOTTO_ERR_INVALID_SIGNATURE;
	if (!sotto_memeq(sh->head.log_id, log_id, SOTTO_KT_LOG_ID_BYTES) || !empty_root_ok(&sh->head))
		return SOTTO_ERR_INVALID_MESSAGE;
	return 0;
}

/* ---- View ------------------------------------------------------------------ */

struct sotto_kt_view {
	uint8_t pub[32];
	uint8_t log_id[SOTTO_KT_LOG_ID_BYTES];
	int have;
	sotto_kt_signed_head cur;
};

sotto_kt_view *sotto_kt_view_new(const uint8_t pub[32], const uint8_t log_id[SOTTO_KT_LOG_ID_BYTES])
{
	if (pub == NULL || log_id == NULL)
		return NULL;
	sotto_kt_view *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	memcpy(v->pub, pub, 32);
	memcpy(v->log_id, log_id, SOTTO_KT_LOG_ID_BYTES);
	return v;
}

void sotto_kt_view_free(sotto_kt_view *v)
{
	free(v);
}

int sotto_kt_view_head(const sotto_kt_view *v, sotto_kt_signed_head *out)
{
	if (v == NULL || out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (!v->have)
		return SOTTO_ERR_NOT_FOUND;
	*out = v->cur;
	return 0;
}

/* Whether (small) and (big), small.size <= big.size, can be heads of one
 * append-only log, given a consistency proof from small to big. */
static int consistent(const sotto_kt_head *small, const sotto_kt_head *big, const uint8_t *proof,
		      size_t count)
{
	if (small->size == big->size) {
		if (count != 0 || !sotto_memeq(small->root, big->root, HB))
			return SOTTO_ERR_KT_FORK;
		return 0;
	}
	/* Every tree extends the empty tree (whose root head_verify checked). */
	if (small->size == 0)
		return count == 0 ? 0 : SOTTO_ERR_KT_FORK;
	if (sotto_kt_verify_consistency(small->size, big->size, small->root, big->root, proof,
					count) != 0)
		return SOTTO_ERR_KT_FORK;
	return 0;
}

int sotto_kt_view_update(sotto_kt_view *v, const sotto_kt_signed_head *sh, const uint8_t *proof,
			 size_t count)
{
	if (v == NULL || sh == NULL || (proof == NULL && count > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = sotto_kt_head_verify(sh, v->pub, v->log_id);
	if (rc != 0)
		return rc;
	if (!v->have) {
		v->cur = *sh;
		v->have = 1;
		return 0;
	}
	const sotto_kt_head *cur = &v->cur.head, *nh = &sh->head;
	if (nh->size < cur->size)
		return SOTTO_ERR_KT_STALE;
	if (nh->size == cur->size) {
		/* Check the roots before the times: a different root at the same
		 * size is a fork however old the head claims to be. */
		if (!sotto_memeq(nh->root, cur->root, HB))
			return SOTTO_ERR_KT_FORK;
		if (count != 0)
			return SOTTO_ERR_KT_FORK;
		if (nh->timestamp_ms < cur->timestamp_ms)
			return SOTTO_ERR_KT_STALE;
		if (nh->timestamp_ms > cur->timestamp_ms)
			v->cur = *sh;
		return 0;
	}
	rc = consistent(cur, nh, proof, count);
	if (rc != 0)
		return rc;
	/* A larger tree signed earlier than a smaller one: the server's clock
	 * or its log is lying; either way the head is not acceptable. */
	if (nh->timestamp_ms < cur->timestamp_ms)
		return SOTTO_ERR_INVALID_MESSAGE;
	v->cur = *sh;
	return 0;
}

int sotto_kt_view_check_peer(const sotto_kt_view *v, const sotto_kt_signed_head *peer,
			     const uint8_t *proof, size_t count)
{
	if (v == NULL || peer == NULL || (proof == NULL && count > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = sotto_kt_head_verify(peer, v->pub, v->log_id);
	if (rc != 0)
		return rc;
	if (!v->have)
		return SOTTO_ERR_NOT_FOUND;
	const sotto_kt_head *mine = &v->cur.head, *theirs = &peer->head;
	if (theirs->size <= mine->size)
		return consistent(theirs, mine, proof, count);
	return consistent(mine, theirs, proof, count);
}

/* ---- Leaves ------------------------------------------------------------------ */

static int event_ok(uint8_t e)
{
	return e == SOTTO_KT_EVENT_ADD || e == SOTTO_KT_EVENT_REMOVE || e == SOTTO_KT_EVENT_KEY_CHANGE;
}

int sotto_kt_leaf_encode(uint8_t out[SOTTO_KT_LEAF_BYTES], const sotto_kt_leaf *leaf)
{
	if (out == NULL || leaf == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (!event_ok(leaf->event) || leaf->identity_key[0] != SOTTO_CURVE_KEY_TYPE_DJB)
		return SOTTO_ERR_INVALID_ARGUMENT;
	out[0] = SOTTO_KT_LEAF_VERSION;
	out[1] = leaf->event;
	memcpy(out + 2, leaf->account, SOTTO_KT_ACCOUNT_BYTES);
	put32(out + 18, leaf->device_id);
	memcpy(out + 22, leaf->identity_key, 33);
	memcpy(out + 55, leaf->transport_key, SOTTO_KT_TRANSPORT_KEY_BYTES);
	put64(out + 87, leaf->timestamp_ms);
	return 0;
}

int sotto_kt_leaf_decode(sotto_kt_leaf *leaf, const uint8_t *in, size_t len)
{
	if (leaf == NULL || (in == NULL && len > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (len != SOTTO_KT_LEAF_BYTES || in[0] != SOTTO_KT_LEAF_VERSION || !event_ok(in[1]) ||
	    in[22] != SOTTO_CURVE_KEY_TYPE_DJB)
		return SOTTO_ERR_INVALID_MESSAGE;
	leaf->event = in[1];
	memcpy(leaf->account, in + 2, SOTTO_KT_ACCOUNT_BYTES);
	leaf->device_id = get32(in + 18);
	memcpy(leaf->identity_key, in + 22, 33);
	memcpy(leaf->transport_key, in + 55, SOTTO_KT_TRANSPORT_KEY_BYTES);
	leaf->timestamp_ms = get64(in + 87);
	return 0;
}

int sotto_kt_leaf_entry_hash(uint8_t out[HB], const sotto_kt_leaf *leaf)
{
	uint8_t enc[SOTTO_KT_LEAF_BYTES];
	int rc = sotto_kt_leaf_encode(enc, leaf);
	return rc ? rc : sotto_kt_leaf_hash(out, enc, sizeof(enc));
}
