/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The session state: lifetime, deep copy and storage (proto/session.proto). */
#include <stdlib.h>
#include <string.h>

#include "protocol/session_internal.h"
#include "protocol/spqr_braid.h"
#include "session.pb-c.h"
#include "sotto/error.h"
#include "sotto/util.h"

struct sotto__spqr_slot {
	uint8_t *blob; /* current unless stale */
	size_t len;
	sotto_spqr_state *parsed; /* NULL until a message used it */
	int stale;		  /* parsed changed since blob was made */
};

static void blob_drop(struct sotto__spqr_slot *sl)
{
	if (sl->blob != NULL) {
		sotto_memzero(sl->blob, sl->len);
		free(sl->blob);
	}
	sl->blob = NULL;
	sl->len = 0;
}

static void slot_free(struct sotto__spqr_slot *sl)
{
	if (sl == NULL)
		return;
	blob_drop(sl);
	sotto__spqr_state_free(sl->parsed);
	sotto_memzero(sl, sizeof(*sl));
	free(sl);
}

/* Rebuilds the bytes from the parsed state if they are outdated. */
static int slot_fresh(struct sotto__spqr_slot *sl)
{
	uint8_t *b;
	size_t n, len = 0;
	int rc;

	if (sl == NULL || !sl->stale)
		return 0;
	n = sotto__spqr_state_serialized_size(sl->parsed);
	b = malloc(n ? n : 1);
	if (b == NULL)
		return SOTTO_ERR_NOMEM;
	rc = sotto__spqr_state_serialize(sl->parsed, b, n, &len);
	if (rc != 0) {
		sotto_memzero(b, n);
		free(b);
		return rc;
	}
	blob_drop(sl);
	sl->blob = b;
	sl->len = len;
	sl->stale = 0;
	return 0;
}

static struct sotto__spqr_slot *slot_copy(const struct sotto__spqr_slot *sl)
{
	struct sotto__spqr_slot *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (!sl->stale && sl->len != 0) {
		c->blob = malloc(sl->len);
		if (c->blob == NULL)
			goto fail;
		memcpy(c->blob, sl->blob, sl->len);
		c->len = sl->len;
	}
	/* Cloning the parsed state is a copy; parsing it again would not be. */
	if (sl->parsed != NULL && sotto__spqr_state_clone(&c->parsed, sl->parsed) != 0)
		goto fail;
	c->stale = sl->stale;
	return c;
fail:
	slot_free(c);
	return NULL;
}

int sotto__session_state_spqr_parsed(sotto_session_state *st, sotto_spqr_state **out)
{
	struct sotto__spqr_slot *sl = st->spqr;
	int rc;

	*out = NULL;
	if (sl == NULL)
		return SOTTO_ERR_NOT_FOUND;
	if (sl->parsed == NULL) {
		rc = sotto__spqr_state_deserialize(&sl->parsed, sl->blob, sl->len);
		if (rc != 0)
			return rc == SOTTO_ERR_NOMEM ? rc : SOTTO_ERR_INVALID_ARGUMENT;
	}
	/* The caller changes it: the bytes are outdated from now on. */
	blob_drop(sl);
	sl->stale = 1;
	*out = sl->parsed;
	return 0;
}

sotto_session_state *sotto__session_state_alloc(void)
{
	return calloc(1, sizeof(sotto_session_state));
}

static void chain_wipe(sotto__receiver_chain *c)
{
	if (c->skipped != NULL) {
		sotto_memzero(c->skipped, c->capskipped * sizeof(*c->skipped));
		free(c->skipped);
	}
	sotto_memzero(c, sizeof(*c));
}

void sotto_session_state_free(sotto_session_state *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nrecv; i++)
		chain_wipe(&st->recv[i]);
	slot_free(st->spqr);
	sotto_memzero(st, sizeof(*st));
	free(st);
}

sotto_session_state *sotto_session_state_copy(const sotto_session_state *st)
{
	sotto_session_state *c;
	size_t i;

	if (st == NULL)
		return NULL;
	c = sotto__session_state_alloc();
	if (c == NULL)
		return NULL;
	memcpy(c, st, sizeof(*c));
	/* Detach the heap parts before copying them, so a failure frees only
	 * what belongs to c. */
	for (i = 0; i < SOTTO_MAX_RECEIVER_CHAINS; i++) {
		c->recv[i].skipped = NULL;
		c->recv[i].capskipped = 0;
	}
	c->spqr = NULL;
	for (i = 0; i < st->nrecv; i++) {
		const sotto__receiver_chain *s = &st->recv[i];

		c->recv[i].nskipped = 0;
		if (s->nskipped == 0)
			continue;
		c->recv[i].skipped = malloc(s->nskipped * sizeof(*s->skipped));
		if (c->recv[i].skipped == NULL)
			goto fail;
		memcpy(c->recv[i].skipped, s->skipped, s->nskipped * sizeof(*s->skipped));
		c->recv[i].nskipped = s->nskipped;
		c->recv[i].capskipped = s->nskipped;
	}
	if (st->spqr != NULL && (c->spqr = slot_copy(st->spqr)) == NULL)
		goto fail;
	return c;
fail:
	sotto_session_state_free(c);
	return NULL;
}

int sotto__session_add_receiver_chain(sotto_session_state *st, const uint8_t ratchet_key[32],
				      const uint8_t chain_key[32])
{
	sotto__receiver_chain *c;

	/* facts 4.3: keep at most 5 receiver chains, dropping the oldest. */
	if (st->nrecv == SOTTO_MAX_RECEIVER_CHAINS) {
		chain_wipe(&st->recv[0]);
		memmove(&st->recv[0], &st->recv[1],
			(SOTTO_MAX_RECEIVER_CHAINS - 1) * sizeof(st->recv[0]));
		st->nrecv--;
		memset(&st->recv[st->nrecv], 0, sizeof(st->recv[0]));
	}
	c = &st->recv[st->nrecv++];
	memset(c, 0, sizeof(*c));
	memcpy(c->ratchet_key, ratchet_key, 32);
	memcpy(c->chain_key, chain_key, 32);
	c->index = 0;
	return 0;
}

/* ---- accessors ---------------------------------------------------------- */

uint32_t sotto_session_state_version(const sotto_session_state *st)
{
	return st ? st->session_version : 0;
}

const uint8_t *sotto_session_state_local_identity(const sotto_session_state *st)
{
	return st ? st->local_identity : NULL;
}

const uint8_t *sotto_session_state_remote_identity(const sotto_session_state *st)
{
	return st ? st->remote_identity : NULL;
}

uint32_t sotto_session_state_remote_registration_id(const sotto_session_state *st)
{
	return st ? st->remote_registration_id : 0;
}

uint32_t sotto_session_state_local_registration_id(const sotto_session_state *st)
{
	return st ? st->local_registration_id : 0;
}

int sotto_session_state_has_sender_chain(const sotto_session_state *st)
{
	return st != NULL && st->has_sender_chain;
}

const uint8_t *sotto_session_state_alice_base_key(const sotto_session_state *st)
{
	return (st != NULL && st->has_alice_base_key) ? st->alice_base_key : NULL;
}

int sotto_session_state_pending_prekey(const sotto_session_state *st, sotto_pending_prekey *out)
{
	if (st == NULL || !st->has_pending)
		return 0;
	if (out != NULL)
		memcpy(out, &st->pending, sizeof(*out));
	return 1;
}

void sotto_session_state_clear_pending_prekey(sotto_session_state *st)
{
	if (st == NULL)
		return;
	st->has_pending = 0;
	memset(&st->pending, 0, sizeof(st->pending));
}

const uint8_t *sotto_session_state_spqr(const sotto_session_state *st, size_t *len)
{
	/* Refreshing the bytes writes to the slot, not to *st. Without memory
	 * for them the state reads as one without SPQR. */
	if (st == NULL || st->spqr == NULL || slot_fresh(st->spqr) != 0) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = st->spqr->len;
	return st->spqr->blob;
}

int sotto_session_state_set_spqr(sotto_session_state *st, const uint8_t *blob, size_t len)
{
	struct sotto__spqr_slot *sl = NULL;

	if (st == NULL || (blob == NULL && len != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (len != 0) {
		sl = calloc(1, sizeof(*sl));
		if (sl == NULL || (sl->blob = malloc(len)) == NULL) {
			free(sl);
			return SOTTO_ERR_NOMEM;
		}
		memcpy(sl->blob, blob, len);
		sl->len = len;
	}
	slot_free(st->spqr);
	st->spqr = sl;
	return 0;
}

/* ---- serialization ------------------------------------------------------ */

static ProtobufCBinaryData bin(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData b;

	b.data = (uint8_t *)(uintptr_t)p; /* only read by the packer */
	b.len = n;
	return b;
}

int sotto_session_state_serialize(const sotto_session_state *st, uint8_t *out, size_t outcap,
				  size_t *outlen)
{
	Sotto__Session__SessionState s = SOTTO__SESSION__SESSION_STATE__INIT;
	Sotto__Session__Chain sender = SOTTO__SESSION__CHAIN__INIT;
	Sotto__Session__Chain recv[SOTTO_MAX_RECEIVER_CHAINS];
	Sotto__Session__Chain *recvp[SOTTO_MAX_RECEIVER_CHAINS];
	Sotto__Session__PendingPreKey pend = SOTTO__SESSION__PENDING_PRE_KEY__INIT;
	Sotto__Session__SkippedKey *keys = NULL;
	Sotto__Session__SkippedKey **keyp = NULL;
	size_t total = 0, k = 0, i, j, need;
	int rc = 0;

	if (st == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	for (i = 0; i < st->nrecv; i++)
		total += st->recv[i].nskipped;
	if (total != 0) {
		keys = calloc(total, sizeof(*keys));
		keyp = calloc(total, sizeof(*keyp));
		if (keys == NULL || keyp == NULL) {
			rc = SOTTO_ERR_NOMEM;
			goto done;
		}
	}
	s.has_session_version = 1;
	s.session_version = st->session_version;
	s.has_local_identity = 1;
	s.local_identity = bin(st->local_identity, SOTTO_EC_PUBLIC_BYTES);
	s.has_remote_identity = 1;
	s.remote_identity = bin(st->remote_identity, SOTTO_EC_PUBLIC_BYTES);
	s.has_root_key = 1;
	s.root_key = bin(st->root_key, 32);
	s.has_previous_counter = 1;
	s.previous_counter = st->previous_counter;
	if (st->has_sender_chain) {
		sender.has_ratchet_key = 1;
		sender.ratchet_key = bin(st->sender_pub, 32);
		sender.has_ratchet_private = 1;
		sender.ratchet_private = bin(st->sender_priv, 32);
		sender.has_index = 1;
		sender.index = st->sender_index;
		sender.has_chain_key = 1;
		sender.chain_key = bin(st->sender_chain_key, 32);
		s.sender_chain = &sender;
	}
	for (i = 0; i < st->nrecv; i++) {
		const sotto__receiver_chain *c = &st->recv[i];

		sotto__session__chain__init(&recv[i]);
		recv[i].has_ratchet_key = 1;
		recv[i].ratchet_key = bin(c->ratchet_key, 32);
		recv[i].has_index = 1;
		recv[i].index = c->index;
		recv[i].has_chain_key = 1;
		recv[i].chain_key = bin(c->chain_key, 32);
		recv[i].skipped = c->nskipped ? keyp + k : NULL;
		recv[i].n_skipped = c->nskipped;
		for (j = 0; j < c->nskipped; j++, k++) {
			sotto__session__skipped_key__init(&keys[k]);
			keys[k].has_index = 1;
			keys[k].index = c->skipped[j].index;
			keys[k].has_seed = 1;
			keys[k].seed = bin(c->skipped[j].seed, 32);
			keyp[k] = &keys[k];
		}
		recvp[i] = &recv[i];
	}
	s.n_receiver_chains = st->nrecv;
	s.receiver_chains = st->nrecv ? recvp : NULL;
	if (st->has_pending) {
		const sotto_pending_prekey *p = &st->pending;

		if (p->has_pre_key_id) {
			pend.has_pre_key_id = 1;
			pend.pre_key_id = p->pre_key_id;
		}
		pend.has_signed_pre_key_id = 1;
		pend.signed_pre_key_id = p->signed_pre_key_id;
		pend.has_base_key = 1;
		pend.base_key = bin(p->base_key, SOTTO_EC_PUBLIC_BYTES);
		pend.has_timestamp = 1;
		pend.timestamp = p->timestamp;
		pend.has_kyber_pre_key_id = 1;
		pend.kyber_pre_key_id = p->kyber_pre_key_id;
		pend.has_kyber_ciphertext = 1;
		pend.kyber_ciphertext = bin(p->kyber_ciphertext, SOTTO_KEM_CIPHERTEXT_BYTES);
		s.pending = &pend;
	}
	s.has_remote_registration_id = 1;
	s.remote_registration_id = st->remote_registration_id;
	s.has_local_registration_id = 1;
	s.local_registration_id = st->local_registration_id;
	if (st->has_alice_base_key) {
		s.has_alice_base_key = 1;
		s.alice_base_key = bin(st->alice_base_key, SOTTO_EC_PUBLIC_BYTES);
	}
	if (st->spqr != NULL) {
		rc = slot_fresh(st->spqr);
		if (rc != 0)
			goto done;
		s.has_spqr_state = 1;
		s.spqr_state = bin(st->spqr->blob, st->spqr->len);
	}
	need = sotto__session__session_state__get_packed_size(&s);
	*outlen = need;
	if (out == NULL || outcap < need) {
		rc = SOTTO_ERR_BUFFER_TOO_SMALL;
		goto done;
	}
	if (sotto__session__session_state__pack(&s, out) != need)
		rc = SOTTO_ERR_INTERNAL;
done:
	free(keys); /* holds only pointers into st */
	free(keyp);
	return rc;
}

static int fixed(uint8_t *dst, protobuf_c_boolean has, ProtobufCBinaryData b, size_t n)
{
	if (!has || b.len != n)
		return -1;
	memcpy(dst, b.data, n);
	return 0;
}

/* Wipes the secret-bearing fields of an unpacked state before freeing it. */
static void wipe_unpacked(Sotto__Session__SessionState *s)
{
	size_t i, j;

	if (s->has_root_key)
		sotto_memzero(s->root_key.data, s->root_key.len);
	if (s->sender_chain != NULL) {
		if (s->sender_chain->has_ratchet_private)
			sotto_memzero(s->sender_chain->ratchet_private.data,
				      s->sender_chain->ratchet_private.len);
		if (s->sender_chain->has_chain_key)
			sotto_memzero(s->sender_chain->chain_key.data,
				      s->sender_chain->chain_key.len);
	}
	for (i = 0; i < s->n_receiver_chains; i++) {
		Sotto__Session__Chain *c = s->receiver_chains[i];

		if (c->has_chain_key)
			sotto_memzero(c->chain_key.data, c->chain_key.len);
		for (j = 0; j < c->n_skipped; j++)
			if (c->skipped[j]->has_seed)
				sotto_memzero(c->skipped[j]->seed.data, c->skipped[j]->seed.len);
	}
	if (s->has_spqr_state)
		sotto_memzero(s->spqr_state.data, s->spqr_state.len);
}

int sotto_session_state_deserialize(sotto_session_state **out, const uint8_t *in, size_t inlen)
{
	Sotto__Session__SessionState *s;
	sotto_session_state *st = NULL;
	size_t i, j;
	int rc = SOTTO_ERR_INVALID_ARGUMENT;

	if (out == NULL || (in == NULL && inlen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	s = sotto__session__session_state__unpack(NULL, inlen, in);
	if (s == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	st = sotto__session_state_alloc();
	if (st == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto done;
	}
	if (!s->has_session_version || s->n_receiver_chains > SOTTO_MAX_RECEIVER_CHAINS)
		goto done;
	st->session_version = s->session_version;
	if (fixed(st->local_identity, s->has_local_identity, s->local_identity,
		  SOTTO_EC_PUBLIC_BYTES) != 0 ||
	    fixed(st->remote_identity, s->has_remote_identity, s->remote_identity,
		  SOTTO_EC_PUBLIC_BYTES) != 0 ||
	    fixed(st->root_key, s->has_root_key, s->root_key, 32) != 0)
		goto done;
	st->previous_counter = s->previous_counter;
	if (s->sender_chain != NULL) {
		Sotto__Session__Chain *c = s->sender_chain;

		if (fixed(st->sender_pub, c->has_ratchet_key, c->ratchet_key, 32) != 0 ||
		    fixed(st->sender_priv, c->has_ratchet_private, c->ratchet_private, 32) != 0 ||
		    fixed(st->sender_chain_key, c->has_chain_key, c->chain_key, 32) != 0)
			goto done;
		st->sender_index = c->index;
		st->has_sender_chain = 1;
	}
	for (i = 0; i < s->n_receiver_chains; i++) {
		Sotto__Session__Chain *c = s->receiver_chains[i];
		sotto__receiver_chain *r = &st->recv[i];

		st->nrecv = i + 1;
		if (fixed(r->ratchet_key, c->has_ratchet_key, c->ratchet_key, 32) != 0 ||
		    fixed(r->chain_key, c->has_chain_key, c->chain_key, 32) != 0 ||
		    c->n_skipped > SOTTO_MAX_MESSAGE_KEYS)
			goto done;
		r->index = c->index;
		if (c->n_skipped == 0)
			continue;
		r->skipped = calloc(c->n_skipped, sizeof(*r->skipped));
		if (r->skipped == NULL) {
			rc = SOTTO_ERR_NOMEM;
			goto done;
		}
		r->capskipped = c->n_skipped;
		for (j = 0; j < c->n_skipped; j++) {
			if (fixed(r->skipped[j].seed, c->skipped[j]->has_seed, c->skipped[j]->seed,
				  32) != 0)
				goto done;
			r->skipped[j].index = c->skipped[j]->index;
			r->nskipped = j + 1;
		}
	}
	if (s->pending != NULL) {
		Sotto__Session__PendingPreKey *p = s->pending;

		if (fixed(st->pending.base_key, p->has_base_key, p->base_key,
			  SOTTO_EC_PUBLIC_BYTES) != 0 ||
		    fixed(st->pending.kyber_ciphertext, p->has_kyber_ciphertext,
			  p->kyber_ciphertext, SOTTO_KEM_CIPHERTEXT_BYTES) != 0)
			goto done;
		st->pending.has_pre_key_id = p->has_pre_key_id ? 1 : 0;
		st->pending.pre_key_id = p->pre_key_id;
		st->pending.signed_pre_key_id = p->signed_pre_key_id;
		st->pending.timestamp = p->timestamp;
		st->pending.kyber_pre_key_id = p->kyber_pre_key_id;
		st->has_pending = 1;
	}
	st->remote_registration_id = s->remote_registration_id;
	st->local_registration_id = s->local_registration_id;
	if (s->has_alice_base_key) {
		if (fixed(st->alice_base_key, 1, s->alice_base_key, SOTTO_EC_PUBLIC_BYTES) != 0)
			goto done;
		st->has_alice_base_key = 1;
	}
	if (s->has_spqr_state && s->spqr_state.len != 0) {
		rc = sotto_session_state_set_spqr(st, s->spqr_state.data, s->spqr_state.len);
		if (rc != 0)
			goto done;
	}
	*out = st;
	st = NULL;
	rc = 0;
done:
	sotto_session_state_free(st);
	wipe_unpacked(s);
	sotto__session__session_state__free_unpacked(s, NULL);
	return rc;
}
