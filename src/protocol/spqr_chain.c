/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* SPQR symmetric chain (signal-protocol-facts.md §5.3; SPQR src/chain.rs is
 * the behaviour we match): one pair of hash chains (ours and the peer's) per
 * epoch, each epoch keyed from the previous root and the braid's epoch
 * secret.
 *
 * Skipped receive keys are trimmed eagerly: a key is kept while
 * index + max_ooo_keys >= counter. libsignal trims lazily, but it refuses any
 * request below that horizon (KeyTrimmed) before it looks, so what callers
 * can observe is the same, and our list never holds more than max_ooo_keys
 * entries. */
#include <stdlib.h>
#include <string.h>

#include "protocol/session_internal.h"
#include "protocol/spqr.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"

#define LABEL_START "Signal PQ Ratchet V1 Chain  Start" /* two spaces, as in SPQR */
#define LABEL_ADD "Signal PQ Ratchet V1 Chain Add Epoch"
#define LABEL_NEXT "Signal PQ Ratchet V1 Chain Next"
#define SER_VERSION 0x01

struct skipped {
	uint32_t index;
	uint8_t key[32];
};

struct dirstate {
	uint32_t ctr;
	uint8_t has_next; /* 0 once an old send chain has been forgotten */
	uint8_t next[32];
	uint32_t nkeys, cap;
	struct skipped *keys;
};

struct link {
	struct dirstate send, recv;
};

struct sotto_spqr_chain {
	uint8_t dir;
	uint32_t max_jump, max_ooo;
	uint64_t current_epoch, send_epoch;
	uint8_t next_root[32];
	/* links[i] is epoch current_epoch - (nlinks - 1) + i. */
	size_t nlinks, cap;
	struct link *links;
};

static void set_why(enum sotto_spqr_chain_why *why, enum sotto_spqr_chain_why v)
{
	if (why != NULL)
		*why = v;
}

static void dirstate_clear(struct dirstate *d)
{
	if (d->keys != NULL) {
		sotto_memzero(d->keys, d->cap * sizeof d->keys[0]);
		free(d->keys);
	}
	sotto_memzero(d, sizeof *d);
}

/* Grows the skipped-key array to hold at least want entries. Copies by hand
 * rather than realloc so no stale copy of a key is left in freed memory. */
static int dirstate_reserve(struct dirstate *d, uint32_t want)
{
	if (want <= d->cap)
		return 0;
	uint32_t ncap = d->cap ? d->cap : 16;
	while (ncap < want)
		ncap = ncap > UINT32_MAX / 2 ? want : ncap * 2;
	struct skipped *nk = calloc(ncap, sizeof *nk);
	if (nk == NULL)
		return SOTTO_ERR_NOMEM;
	if (d->keys != NULL) {
		memcpy(nk, d->keys, d->nkeys * sizeof *nk);
		sotto_memzero(d->keys, d->cap * sizeof d->keys[0]);
		free(d->keys);
	}
	d->keys = nk;
	d->cap = ncap;
	return 0;
}

static void dirstate_remove(struct dirstate *d, uint32_t i)
{
	d->nkeys--;
	if (i != d->nkeys)
		d->keys[i] = d->keys[d->nkeys];
	sotto_memzero(&d->keys[d->nkeys], sizeof d->keys[0]);
}

/* ctr += 1; G = HKDF(0, next, BE32(ctr) || "...Chain Next", 64);
 * next = G[0:32]; key = G[32:64]. */
static int next_key(uint8_t next[32], uint32_t ctr, uint8_t key[32])
{
	uint8_t info[4 + sizeof LABEL_NEXT - 1];
	uint8_t g[64];
	sotto_hmac_sha256_ctx *h;
	int rc;

	info[0] = (uint8_t)(ctr >> 24);
	info[1] = (uint8_t)(ctr >> 16);
	info[2] = (uint8_t)(ctr >> 8);
	info[3] = (uint8_t)ctr;
	memcpy(info + 4, LABEL_NEXT, sizeof LABEL_NEXT - 1);
	/* One keyed context for the three HMACs of this HKDF. */
	h = sotto_hmac_sha256_new();
	if (h == NULL)
		return SOTTO_ERR_NOMEM;
	rc = sotto__hkdf_h(h, g, sizeof g, NULL, 0, next, 32, info, sizeof info);
	sotto_hmac_sha256_free(h);
	if (rc == 0) {
		memcpy(next, g, 32);
		memcpy(key, g + 32, 32);
	}
	sotto_memzero(g, sizeof g);
	return rc;
}

/* Splits a 96-byte generator into the root and the two directions' seeds. */
static void link_from(struct link *l, const uint8_t g[96], uint8_t dir)
{
	const uint8_t *a2b = g + 32, *b2a = g + 64;

	memset(l, 0, sizeof *l);
	memcpy(l->send.next, dir == SOTTO_SPQR_A2B ? a2b : b2a, 32);
	memcpy(l->recv.next, dir == SOTTO_SPQR_A2B ? b2a : a2b, 32);
	l->send.has_next = 1;
	l->recv.has_next = 1;
}

static int links_reserve(sotto_spqr_chain *c, size_t want)
{
	if (want <= c->cap)
		return 0;
	size_t ncap = c->cap ? c->cap * 2 : 4;
	while (ncap < want)
		ncap *= 2;
	struct link *nl = calloc(ncap, sizeof *nl);
	if (nl == NULL)
		return SOTTO_ERR_NOMEM;
	if (c->links != NULL) {
		memcpy(nl, c->links, c->nlinks * sizeof *nl);
		sotto_memzero(c->links, c->cap * sizeof c->links[0]);
		free(c->links);
	}
	c->links = nl;
	c->cap = ncap;
	return 0;
}

static sotto_spqr_chain *chain_alloc(void)
{
	return calloc(1, sizeof(sotto_spqr_chain));
}

void sotto__spqr_chain_free(sotto_spqr_chain *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nlinks; i++) {
		dirstate_clear(&c->links[i].send);
		dirstate_clear(&c->links[i].recv);
	}
	if (c->links != NULL) {
		sotto_memzero(c->links, c->cap * sizeof c->links[0]);
		free(c->links);
	}
	sotto_memzero(c, sizeof *c);
	free(c);
}

int sotto__spqr_chain_new(sotto_spqr_chain **out, const uint8_t *auth_key, size_t keylen,
			  enum sotto_spqr_direction dir, uint32_t max_jump, uint32_t max_ooo_keys)
{
	uint8_t g[96];
	sotto_spqr_chain *c;
	int rc;

	*out = NULL;
	if (dir != SOTTO_SPQR_A2B && dir != SOTTO_SPQR_B2A)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if ((c = chain_alloc()) == NULL)
		return SOTTO_ERR_NOMEM;
	c->dir = (uint8_t)dir;
	c->max_jump = max_jump ? max_jump : SOTTO_SPQR_DEFAULT_MAX_JUMP;
	c->max_ooo = max_ooo_keys ? max_ooo_keys : SOTTO_SPQR_DEFAULT_MAX_OOO_KEYS;
	rc = sotto_hkdf_sha256(g, sizeof g, NULL, 0, auth_key, keylen, (const uint8_t *)LABEL_START,
			       sizeof LABEL_START - 1);
	if (rc == 0)
		rc = links_reserve(c, 1);
	if (rc == 0) {
		memcpy(c->next_root, g, 32);
		link_from(&c->links[0], g, c->dir);
		c->nlinks = 1;
		*out = c;
	} else {
		sotto__spqr_chain_free(c);
	}
	sotto_memzero(g, sizeof g);
	return rc;
}

static int dirstate_copy(struct dirstate *dst, const struct dirstate *src)
{
	*dst = *src;
	dst->keys = NULL;
	dst->cap = 0;
	if (src->nkeys == 0) {
		dst->nkeys = 0;
		return 0;
	}
	dst->nkeys = 0;
	int rc = dirstate_reserve(dst, src->nkeys);
	if (rc != 0)
		return rc;
	memcpy(dst->keys, src->keys, src->nkeys * sizeof src->keys[0]);
	dst->nkeys = src->nkeys;
	return 0;
}

int sotto__spqr_chain_clone(sotto_spqr_chain **out, const sotto_spqr_chain *src)
{
	sotto_spqr_chain *c;
	int rc;

	*out = NULL;
	if ((c = chain_alloc()) == NULL)
		return SOTTO_ERR_NOMEM;
	*c = *src;
	c->links = NULL;
	c->cap = 0;
	c->nlinks = 0;
	if ((rc = links_reserve(c, src->nlinks)) != 0)
		goto fail;
	for (size_t i = 0; i < src->nlinks; i++) {
		c->nlinks = i + 1; /* so a failure frees what was copied */
		if ((rc = dirstate_copy(&c->links[i].send, &src->links[i].send)) != 0 ||
		    (rc = dirstate_copy(&c->links[i].recv, &src->links[i].recv)) != 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	sotto__spqr_chain_free(c);
	return rc;
}

uint64_t sotto__spqr_chain_current_epoch(const sotto_spqr_chain *c)
{
	return c->current_epoch;
}

int sotto__spqr_chain_add_epoch(sotto_spqr_chain *c, uint64_t epoch,
				const uint8_t secret[SOTTO_SPQR_KEY_BYTES])
{
	uint8_t g[96];
	int rc;

	if (c->current_epoch == UINT64_MAX || epoch != c->current_epoch + 1)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if ((rc = links_reserve(c, c->nlinks + 1)) != 0)
		return rc;
	rc = sotto_hkdf_sha256(g, sizeof g, c->next_root, 32, secret, SOTTO_SPQR_KEY_BYTES,
			       (const uint8_t *)LABEL_ADD, sizeof LABEL_ADD - 1);
	if (rc == 0) {
		memcpy(c->next_root, g, 32);
		link_from(&c->links[c->nlinks], g, c->dir);
		c->nlinks++;
		c->current_epoch = epoch;
	}
	sotto_memzero(g, sizeof g);
	return rc;
}

/* Position of epoch in links, or -1 (EpochOutOfRange). */
static int epoch_pos(const sotto_spqr_chain *c, uint64_t epoch, size_t *pos)
{
	if (epoch > c->current_epoch)
		return -1;
	uint64_t back = c->current_epoch - epoch;
	if (back >= c->nlinks)
		return -1;
	*pos = c->nlinks - 1 - (size_t)back;
	return 0;
}

int sotto__spqr_chain_send_key(sotto_spqr_chain *c, uint64_t epoch, uint32_t *index,
			       uint8_t key[SOTTO_SPQR_KEY_BYTES], enum sotto_spqr_chain_why *why)
{
	uint8_t next[32];
	size_t pos;
	int rc;

	set_why(why, SOTTO_SPQR_CHAIN_OK);
	if (epoch < c->send_epoch) {
		set_why(why, SOTTO_SPQR_CHAIN_SEND_EPOCH_DECREASED);
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	if (epoch_pos(c, epoch, &pos) != 0) {
		set_why(why, SOTTO_SPQR_CHAIN_EPOCH_OUT_OF_RANGE);
		return SOTTO_ERR_INVALID_MESSAGE;
	}
	struct dirstate *d = &c->links[pos].send;
	if (!d->has_next || d->ctr == UINT32_MAX) {
		set_why(why, SOTTO_SPQR_CHAIN_EXHAUSTED);
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	/* Derive first so that a backend failure changes nothing. */
	memcpy(next, d->next, 32);
	rc = next_key(next, d->ctr + 1, key);
	if (rc != 0)
		goto done;
	memcpy(d->next, next, 32);
	d->ctr++;
	*index = d->ctr;
	if (epoch != c->send_epoch) {
		/* Keep the new send epoch and at most one epoch before it; the
		 * kept earlier epoch can still receive but never send again. */
		c->send_epoch = epoch;
		size_t drop = pos > 1 ? pos - 1 : 0;
		for (size_t i = 0; i < drop; i++) {
			dirstate_clear(&c->links[i].send);
			dirstate_clear(&c->links[i].recv);
		}
		if (drop > 0) {
			memmove(c->links, c->links + drop, (c->nlinks - drop) * sizeof c->links[0]);
			c->nlinks -= drop;
			sotto_memzero(c->links + c->nlinks, drop * sizeof c->links[0]);
			pos -= drop;
		}
		for (size_t i = 0; i < pos; i++) {
			sotto_memzero(c->links[i].send.next, 32);
			c->links[i].send.has_next = 0;
		}
	}
done:
	sotto_memzero(next, sizeof next);
	return rc;
}

int sotto__spqr_chain_recv_key(sotto_spqr_chain *c, uint64_t epoch, uint32_t at,
			       uint8_t key[SOTTO_SPQR_KEY_BYTES], enum sotto_spqr_chain_why *why)
{
	uint8_t next[32], k[32];
	size_t pos;
	int rc = 0;

	set_why(why, SOTTO_SPQR_CHAIN_OK);
	if (epoch_pos(c, epoch, &pos) != 0) {
		set_why(why, SOTTO_SPQR_CHAIN_EPOCH_OUT_OF_RANGE);
		return SOTTO_ERR_INVALID_MESSAGE;
	}
	struct dirstate *d = &c->links[pos].recv;
	uint64_t ooo = c->max_ooo;

	if (at <= d->ctr) {
		if (at < d->ctr && (uint64_t)at + ooo < d->ctr) {
			set_why(why, SOTTO_SPQR_CHAIN_KEY_TRIMMED);
			return SOTTO_ERR_INVALID_MESSAGE;
		}
		for (uint32_t i = 0; at < d->ctr && i < d->nkeys; i++) {
			if (d->keys[i].index == at) {
				memcpy(key, d->keys[i].key, 32);
				dirstate_remove(d, i);
				return 0;
			}
		}
		set_why(why, SOTTO_SPQR_CHAIN_KEY_ALREADY_REQUESTED);
		return SOTTO_ERR_DUPLICATE_MESSAGE;
	}
	if (at - d->ctr > c->max_jump) {
		set_why(why, SOTTO_SPQR_CHAIN_KEY_JUMP);
		return SOTTO_ERR_INVALID_MESSAGE;
	}
	if (!d->has_next)
		return SOTTO_ERR_INTERNAL; /* receive chains are never forgotten */

	/* Skipped indices worth keeping are first_new..at-1 (index + ooo >= at).
	 * New keys are appended after the old ones and the old ones trimmed
	 * only once everything worked, so any failure (including running out
	 * of memory here) leaves the chain as it was. */
	uint64_t first_new = (uint64_t)d->ctr + 1;
	if (first_new + ooo < at)
		first_new = at - ooo;
	uint32_t add = (uint32_t)(at - first_new);
	if ((rc = dirstate_reserve(d, d->nkeys + add)) != 0)
		return rc;

	memcpy(next, d->next, 32);
	uint32_t ctr = d->ctr;
	uint32_t n = d->nkeys;
	while (ctr + 1 < at) {
		ctr++;
		if ((rc = next_key(next, ctr, k)) != 0)
			goto fail;
		if (ctr >= first_new) {
			d->keys[n].index = ctr;
			memcpy(d->keys[n].key, k, 32);
			n++;
		}
	}
	ctr++;
	if ((rc = next_key(next, ctr, key)) != 0)
		goto fail;
	d->nkeys = n;
	d->ctr = ctr;
	memcpy(d->next, next, 32);
	/* Drop the old keys that fell behind the horizon. */
	for (uint32_t i = 0; i < d->nkeys;) {
		if ((uint64_t)d->keys[i].index + ooo < at)
			dirstate_remove(d, i);
		else
			i++;
	}
	goto done;
fail:
	for (uint32_t i = d->nkeys; i < n; i++)
		sotto_memzero(&d->keys[i], sizeof d->keys[0]);
	sotto_memzero(key, 32);
done:
	sotto_memzero(next, sizeof next);
	sotto_memzero(k, sizeof k);
	return rc;
}

int sotto__spqr_chain_msg_send_key(sotto_spqr_chain *c, uint64_t msg_epoch, uint32_t *index,
				   uint8_t key[SOTTO_SPQR_KEY_BYTES], enum sotto_spqr_chain_why *why)
{
	if (msg_epoch == 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sotto__spqr_chain_send_key(c, msg_epoch - 1, index, key, why);
}

int sotto__spqr_chain_msg_recv_key(sotto_spqr_chain *c, uint64_t msg_epoch, uint32_t index,
				   uint8_t key[SOTTO_SPQR_KEY_BYTES], int *has_key,
				   enum sotto_spqr_chain_why *why)
{
	*has_key = 0;
	set_why(why, SOTTO_SPQR_CHAIN_OK);
	if (msg_epoch == 0)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (msg_epoch == 1 && index == 0)
		return 0;
	int rc = sotto__spqr_chain_recv_key(c, msg_epoch - 1, index, key, why);
	if (rc == 0)
		*has_key = 1;
	return rc;
}

/* ---- storage ---- */

static size_t dirstate_size(const struct dirstate *d)
{
	return 1 + 4 + (d->has_next ? 32 : 0) + 4 + (size_t)d->nkeys * 36;
}

size_t sotto__spqr_chain_serialized_size(const sotto_spqr_chain *c)
{
	size_t n = 1 + 1 + 4 + 4 + 8 + 8 + 32 + 4;

	for (size_t i = 0; i < c->nlinks; i++)
		n += dirstate_size(&c->links[i].send) + dirstate_size(&c->links[i].recv);
	return n;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static uint8_t *put_dirstate(uint8_t *p, const struct dirstate *d)
{
	*p++ = d->has_next ? 1 : 0;
	p = put32(p, d->ctr);
	if (d->has_next) {
		memcpy(p, d->next, 32);
		p += 32;
	}
	p = put32(p, d->nkeys);
	for (uint32_t i = 0; i < d->nkeys; i++) {
		p = put32(p, d->keys[i].index);
		memcpy(p, d->keys[i].key, 32);
		p += 32;
	}
	return p;
}

int sotto__spqr_chain_serialize(const sotto_spqr_chain *c, uint8_t *out, size_t outcap,
				size_t *outlen)
{
	size_t need = sotto__spqr_chain_serialized_size(c);
	uint8_t *p = out;

	if (outcap < need)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	*p++ = SER_VERSION;
	*p++ = c->dir;
	p = put32(p, c->max_jump);
	p = put32(p, c->max_ooo);
	p = put64(p, c->current_epoch);
	p = put64(p, c->send_epoch);
	memcpy(p, c->next_root, 32);
	p += 32;
	p = put32(p, (uint32_t)c->nlinks);
	for (size_t i = 0; i < c->nlinks; i++) {
		p = put_dirstate(p, &c->links[i].send);
		p = put_dirstate(p, &c->links[i].recv);
	}
	*outlen = (size_t)(p - out);
	return 0;
}

struct reader {
	const uint8_t *p;
	size_t left;
};

static int get_bytes(struct reader *r, uint8_t *out, size_t n)
{
	if (r->left < n)
		return -1;
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

static int get32(struct reader *r, uint32_t *v)
{
	uint8_t b[4];

	if (get_bytes(r, b, 4) != 0)
		return -1;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

static int get64(struct reader *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (get32(r, &hi) != 0 || get32(r, &lo) != 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static int get_dirstate(struct reader *r, struct dirstate *d, uint32_t ooo)
{
	uint8_t flags;
	uint32_t n;

	if (get_bytes(r, &flags, 1) != 0 || flags > 1 || get32(r, &d->ctr) != 0)
		return -1;
	d->has_next = flags;
	if (flags && get_bytes(r, d->next, 32) != 0)
		return -1;
	if (get32(r, &n) != 0 || n > ooo || r->left / 36 < n)
		return -1;
	if (n > 0 && dirstate_reserve(d, n) != 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct skipped *s = &d->keys[i];
		if (get32(r, &s->index) != 0 || get_bytes(r, s->key, 32) != 0)
			return -1;
		d->nkeys = i + 1;
		/* Only keys that recv_key could still hand out. */
		if (s->index >= d->ctr || (uint64_t)s->index + ooo < d->ctr)
			return -1;
	}
	return 0;
}

int sotto__spqr_chain_deserialize(sotto_spqr_chain **out, const uint8_t *in, size_t inlen)
{
	struct reader r = { in, inlen };
	sotto_spqr_chain *c;
	uint8_t ver, dir;
	uint32_t nlinks;
	int rc = SOTTO_ERR_INVALID_ARGUMENT;

	*out = NULL;
	if ((c = chain_alloc()) == NULL)
		return SOTTO_ERR_NOMEM;
	if (get_bytes(&r, &ver, 1) != 0 || ver != SER_VERSION || get_bytes(&r, &dir, 1) != 0 ||
	    dir > SOTTO_SPQR_B2A || get32(&r, &c->max_jump) != 0 || get32(&r, &c->max_ooo) != 0 ||
	    c->max_jump == 0 || c->max_ooo == 0 || get64(&r, &c->current_epoch) != 0 ||
	    get64(&r, &c->send_epoch) != 0 || get_bytes(&r, c->next_root, 32) != 0 ||
	    get32(&r, &nlinks) != 0)
		goto fail;
	c->dir = dir;
	/* Each link takes at least 18 bytes; the send epoch must still have
	 * its link, and links cannot predate epoch 0. */
	if (nlinks == 0 || nlinks > r.left / 18 || nlinks - 1 > c->current_epoch ||
	    c->send_epoch > c->current_epoch || c->current_epoch - c->send_epoch >= nlinks)
		goto fail;
	if (links_reserve(c, nlinks) != 0) {
		rc = SOTTO_ERR_NOMEM;
		goto fail;
	}
	uint64_t first = c->current_epoch - (nlinks - 1);
	for (uint32_t i = 0; i < nlinks; i++) {
		c->nlinks = i + 1;
		if (get_dirstate(&r, &c->links[i].send, c->max_ooo) != 0 ||
		    get_dirstate(&r, &c->links[i].recv, c->max_ooo) != 0)
			goto fail;
		/* Receive chains are never forgotten; send chains only below
		 * the send epoch, and we never skip send keys. */
		if (!c->links[i].recv.has_next || c->links[i].send.nkeys != 0 ||
		    (!c->links[i].send.has_next && first + i >= c->send_epoch))
			goto fail;
	}
	if (r.left != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	sotto__spqr_chain_free(c);
	return rc;
}
