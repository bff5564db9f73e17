/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The session cipher: processPreKeyBundle, signalEncrypt, signalDecrypt and
 * signalDecryptPreKey as libsignal 0.103 runs them (facts 2.2-2.4, 4.2-4.4,
 * 5.1, 9). Each call loads the record, works on it in memory and writes the
 * stores only after everything succeeded, in libsignal's order. */
#include <stdlib.h>
#include <string.h>

#include "protocol/session_internal.h"
#include "protocol/session_record.h"
#include "protocol/spqr.h"
#include "protocol/spqr_braid.h"
#include "sotto/error.h"
#include "sotto/session.h"
#include "sotto/util.h"

/* PreKeySignalMessage framing around the inner SignalMessage: version byte,
 * ids, the 1569-byte Kyber ciphertext, base and identity keys, tags and
 * lengths (generous). */
#define PREKEY_OVERHEAD 1700

/* ---- the SPQR layer (facts 5.1): the only place that calls it ---------- */

static int spqr_init(sotto_session_state *st, const uint8_t pqr[SOTTO_PQR_KEY_BYTES],
		     int initiator, int self)
{
	uint8_t *blob = NULL;
	size_t len = 0;
	int rc;

	rc = sotto__spqr_initial_blob(&blob, &len, pqr, SOTTO_PQR_KEY_BYTES,
				      initiator ? SOTTO_SPQR_A2B : SOTTO_SPQR_B2A,
				      self ? UINT32_MAX : SOTTO_MAX_FORWARD_JUMPS,
				      SOTTO_MAX_MESSAGE_KEYS);
	if (rc == 0)
		rc = sotto_session_state_set_spqr(st, blob, len);
	if (blob != NULL) {
		sotto_memzero(blob, len);
		free(blob);
	}
	return rc;
}

/* spqr::send on w's SPQR state, changed in place: the callers work on a
 * state they drop on failure. */
static int spqr_send(sotto_session_state *w, sotto_rng_fn rng, void *rng_ctx,
		     uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], size_t *msglen,
		     uint8_t key[SOTTO_SPQR_KEY_BYTES])
{
	sotto_spqr_state *sp = NULL;
	int rc;

	rc = sotto__session_state_spqr_parsed(w, &sp);
	if (rc == SOTTO_ERR_NOT_FOUND)
		return SOTTO_ERR_NO_SESSION; /* a state without SPQR cannot send (facts 9) */
	if (rc != 0)
		return rc;
	return sotto__spqr_send_inplace(sp, rng, rng_ctx, msg, msglen, key);
}

/* spqr::recv, in place like spqr_send; *has_key says whether key was
 * written. Every SPQR failure makes the message undecryptable. */
static int spqr_recv(sotto_session_state *w, const uint8_t *msg, size_t msglen,
		     uint8_t key[SOTTO_SPQR_KEY_BYTES], int *has_key)
{
	sotto_spqr_state *sp = NULL;
	int rc;

	*has_key = 0;
	rc = sotto__session_state_spqr_parsed(w, &sp);
	if (rc == 0)
		rc = sotto__spqr_recv_inplace(sp, msg, msglen, key, has_key);
	if (rc != 0 && rc != SOTTO_ERR_NOMEM)
		rc = SOTTO_ERR_INVALID_MESSAGE;
	return rc;
}

/* ---- helpers ------------------------------------------------------------ */

static int check_address(const sotto_address *a)
{
	return a != NULL && a->name != NULL && a->device_id >= 1 &&
	       a->device_id <= SOTTO_DEVICE_ID_MAX;
}

static int is_service_id(const char *name)
{
	uint8_t tmp[SOTTO_ADDRESSES_BYTES];

	return sotto_addresses_build(tmp, name, 1, name, 1) == 0;
}

/* facts 9: a session with ourselves (same ServiceId, same identity key) has
 * no forward-jump limit. */
static int names_self(const sotto_address *local, const sotto_address *remote)
{
	return strcmp(local->name, remote->name) == 0 && is_service_id(local->name);
}

static int state_is_self(const sotto_session_state *st, int self_names)
{
	return self_names && sotto_memeq(sotto_session_state_local_identity(st),
					 sotto_session_state_remote_identity(st),
					 SOTTO_EC_PUBLIC_BYTES);
}

/* Loads remote's record; *out is NULL (and 0 returned) when there is none. */
static int load_record(const sotto_protocol_stores *s, const sotto_address *remote,
		       sotto_session_record **out)
{
	uint8_t *buf;
	size_t cap = 8192, len = 0;
	int rc;

	*out = NULL;
	if (s->session.load_decoded != NULL) {
		/* The store keeps the record decoded: work on a copy, so that a
		 * failure leaves the store's record as it was. */
		const sotto_session_record *r = NULL;

		rc = s->session.load_decoded(s->session.ctx, remote, &r);
		if (rc == SOTTO_ERR_NOT_FOUND)
			return 0;
		if (rc != 0)
			return rc;
		if (r == NULL)
			return SOTTO_ERR_STORAGE;
		*out = sotto__record_clone(r);
		return *out != NULL ? 0 : SOTTO_ERR_NOMEM;
	}
	for (;;) {
		buf = malloc(cap);
		if (buf == NULL)
			return SOTTO_ERR_NOMEM;
		rc = s->session.load(s->session.ctx, remote, buf, cap, &len);
		if (rc == SOTTO_ERR_BUFFER_TOO_SMALL && len > cap) {
			sotto_memzero(buf, cap);
			free(buf);
			cap = len;
			continue;
		}
		break;
	}
	if (rc == 0) {
		rc = len <= cap ? sotto_session_record_deserialize(out, buf, len)
				: SOTTO_ERR_STORAGE;
		if (rc == SOTTO_ERR_INVALID_ARGUMENT)
			rc = SOTTO_ERR_STORAGE;
		/* The store wrote len bytes: wipe those, not the whole buffer. */
		sotto_memzero(buf, len <= cap ? len : cap);
	} else {
		if (rc == SOTTO_ERR_NOT_FOUND)
			rc = 0;
		sotto_memzero(buf, cap);
	}
	free(buf);
	return rc;
}

/* Writes *recp. A store that keeps decoded records takes it over (*recp
 * becomes NULL); otherwise it stays the caller's. */
static int store_record(const sotto_protocol_stores *s, const sotto_address *remote,
			sotto_session_record **recp)
{
	const sotto_session_record *rec = *recp;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (s->session.store_decoded != NULL) {
		sotto_session_record *r = *recp;

		*recp = NULL;
		return s->session.store_decoded(s->session.ctx, remote, r);
	}

	/* One serialization of the current state (not a size pass and a
	 * write pass). */
	rc = sotto__record_serialize_alloc(rec, &buf, &len);
	if (rc == 0)
		rc = s->session.store(s->session.ctx, remote, buf, len);
	if (buf != NULL) {
		sotto_memzero(buf, len);
		free(buf);
	}
	return rc;
}

static int trusted(const sotto_protocol_stores *s, const sotto_address *remote,
		   const uint8_t key[SOTTO_EC_PUBLIC_BYTES], enum sotto_direction dir)
{
	int rc = s->identity.is_trusted(s->identity.ctx, remote, key, dir);

	if (rc < 0)
		return rc;
	return rc ? 0 : SOTTO_ERR_UNTRUSTED_IDENTITY;
}

static int save_identity(const sotto_protocol_stores *s, const sotto_address *remote,
			 const uint8_t key[SOTTO_EC_PUBLIC_BYTES])
{
	int rc = s->identity.save(s->identity.ctx, remote, key);

	return rc < 0 ? rc : 0; /* NewOrUnchanged / ReplacedExisting: no effect (facts 9) */
}

static int stale(const sotto_session_state *st, uint64_t now_ms)
{
	sotto_pending_prekey p;
	int r = 0;

	if (sotto_session_state_pending_prekey(st, &p))
		r = now_ms > (p.timestamp + SOTTO_MAX_UNACKNOWLEDGED_SESSION_AGE) * 1000u;
	sotto_memzero(&p, sizeof(p));
	return r;
}

/* ---- processPreKeyBundle ------------------------------------------------ */

int sotto_session_process_bundle(const sotto_protocol_stores *s, const sotto_address *local,
				 const sotto_address *remote, const sotto_prekey_bundle *bundle,
				 uint64_t now_ms, sotto_rng_fn rng, void *rng_ctx)
{
	sotto_identity_keypair kp;
	sotto_session_record *rec = NULL;
	sotto_session_state *st = NULL;
	uint8_t pqr[SOTTO_PQR_KEY_BYTES];
	uint32_t reg = 0;
	int rc;

	if (s == NULL || !check_address(local) || !check_address(remote) || bundle == NULL ||
	    rng == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (bundle->identity_key[0] != SOTTO_EC_KEY_TYPE)
		return SOTTO_ERR_INVALID_KEY;
	/* facts 2.2 step 1: trust first. */
	rc = trusted(s, remote, bundle->identity_key, SOTTO_DIRECTION_SENDING);
	if (rc != 0)
		return rc;
	rc = s->identity.get_local(s->identity.ctx, &kp, &reg);
	if (rc != 0)
		goto done;
	rc = sotto_pqxdh_initiate(&st, pqr, &kp, reg, bundle, now_ms / 1000, rng, rng_ctx);
	if (rc != 0)
		goto done;
	rc = spqr_init(st, pqr, 1,
		       names_self(local, remote) &&
			       sotto_memeq(kp.pub, bundle->identity_key, SOTTO_EC_PUBLIC_BYTES));
	if (rc != 0)
		goto done;
	rc = load_record(s, remote, &rec);
	if (rc == 0 && rec == NULL && (rec = sotto_session_record_new()) == NULL)
		rc = SOTTO_ERR_NOMEM;
	if (rc != 0)
		goto done;
	rc = sotto__record_promote(rec, st);
	st = NULL;
	if (rc == 0)
		rc = save_identity(s, remote, bundle->identity_key);
	if (rc == 0)
		rc = store_record(s, remote, &rec);
done:
	sotto_session_state_free(st);
	sotto_session_record_free(rec);
	sotto_memzero(&kp, sizeof(kp));
	sotto_memzero(pqr, sizeof(pqr));
	return rc;
}

/* ---- signalEncrypt ------------------------------------------------------ */

size_t sotto_session_encrypt_bound(size_t plaintext_len)
{
	return sotto_ratchet_encrypt_bound(plaintext_len, SOTTO_SPQR_MSG_MAX_BYTES,
					   SOTTO_ADDRESSES_BYTES) +
	       PREKEY_OVERHEAD;
}

int sotto_session_encrypt(const sotto_protocol_stores *s, const sotto_address *local,
			  const sotto_address *remote, const uint8_t *plaintext,
			  size_t plaintext_len, uint64_t now_ms, sotto_rng_fn rng, void *rng_ctx,
			  uint8_t *out, size_t outcap, size_t *outlen, int *type)
{
	sotto_session_record *rec = NULL;
	sotto_session_state *w = NULL;
	uint8_t pqmsg[SOTTO_SPQR_MSG_MAX_BYTES], pqkey[SOTTO_SPQR_KEY_BYTES];
	uint8_t addr[SOTTO_ADDRESSES_BYTES];
	uint8_t *inner = NULL;
	size_t pqlen = 0, innercap = 0, innerlen = 0;
	int pending, with_addr = 0, rc;

	if (s == NULL || !check_address(local) || !check_address(remote) || rng == NULL ||
	    (plaintext == NULL && plaintext_len != 0) || outlen == NULL || type == NULL ||
	    (out == NULL && outcap != 0) || plaintext_len > SOTTO_MAX_MESSAGE_BYTES)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*outlen = 0;
	*type = 0;
	rc = load_record(s, remote, &rec);
	if (rc != 0)
		return rc;
	/* facts 2.3: an unacknowledged session older than 30 days is gone. */
	if (rec == NULL || rec->current == NULL ||
	    !sotto_session_state_has_sender_chain(rec->current) || stale(rec->current, now_ms)) {
		rc = SOTTO_ERR_NO_SESSION;
		goto done;
	}
	/* The record was parsed for this call and is stored only if everything
	 * succeeds, so the state is advanced in place: a failure drops it. */
	w = rec->current;
	/* facts 4.2 step 2. */
	rc = spqr_send(w, rng, rng_ctx, pqmsg, &pqlen, pqkey);
	if (rc != 0)
		goto done;
	pending = sotto_session_state_pending_prekey(w, NULL);
	/* facts 3.3: the addresses go only into the message inside a PreKey
	 * message, and only between ServiceIds. */
	if (pending && sotto_addresses_build(addr, local->name, local->device_id, remote->name,
					     remote->device_id) == 0)
		with_addr = 1;
	innercap = sotto_ratchet_encrypt_bound(plaintext_len, pqlen, SOTTO_ADDRESSES_BYTES);
	inner = malloc(innercap);
	if (inner == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto done;
	}
	rc = sotto_ratchet_encrypt(w, pqkey, pqmsg, pqlen, with_addr ? addr : NULL,
				   with_addr ? sizeof(addr) : 0, plaintext, plaintext_len, inner,
				   innercap, &innerlen);
	if (rc != 0)
		goto done;
	if (pending) {
		rc = sotto_session_wrap_prekey(w, inner, innerlen, out, outcap, outlen);
		if (rc != 0)
			goto done;
		*type = SOTTO_MESSAGE_TYPE_PREKEY;
	} else {
		*outlen = innerlen;
		if (outcap < innerlen) {
			rc = SOTTO_ERR_BUFFER_TOO_SMALL;
			goto done;
		}
		memcpy(out, inner, innerlen);
		*type = SOTTO_MESSAGE_TYPE_WHISPER;
	}
	/* facts 4.2 steps 4-5: trust is checked after building the message. */
	rc = trusted(s, remote, sotto_session_state_remote_identity(w), SOTTO_DIRECTION_SENDING);
	if (rc != 0)
		goto done;
	rc = save_identity(s, remote, sotto_session_state_remote_identity(rec->current));
	if (rc == 0)
		rc = store_record(s, remote, &rec);
done:
	if (rc != 0) {
		if (out != NULL && outcap != 0)
			sotto_memzero(out, outcap < *outlen ? outcap : *outlen);
		if (rc != SOTTO_ERR_BUFFER_TOO_SMALL)
			*outlen = 0;
		*type = 0;
	}
	if (inner != NULL) {
		sotto_memzero(inner, innercap);
		free(inner);
	}
	sotto_session_record_free(rec); /* w is rec->current */
	sotto_memzero(pqkey, sizeof(pqkey));
	return rc;
}

/* ---- decryption --------------------------------------------------------- */

/* The Double Ratchet checks that come before SPQR and the MAC (facts 4.3
 * steps 1-3), so that a duplicate is reported as one whatever SPQR would
 * say about it. */
static int ratchet_precheck(const sotto_session_state *st, const sotto_signal_message *m,
			    int unlimited)
{
	const sotto__receiver_chain *c = NULL;
	uint32_t index = 0;
	size_t i;

	for (i = 0; i < st->nrecv; i++) {
		if (memcmp(st->recv[i].ratchet_key, m->ratchet_key + 1, 32) == 0) {
			c = &st->recv[i];
			break;
		}
	}
	if (c == NULL) {
		if (!st->has_sender_chain)
			return SOTTO_ERR_INVALID_MESSAGE;
	} else {
		index = c->index;
		if (m->counter < index) {
			for (i = 0; i < c->nskipped; i++)
				if (c->skipped[i].index == m->counter)
					return 0;
			return SOTTO_ERR_DUPLICATE_MESSAGE;
		}
	}
	if (m->counter - index > SOTTO_MAX_FORWARD_JUMPS && !unlimited)
		return SOTTO_ERR_INVALID_MESSAGE;
	return 0;
}

typedef struct dec_ctx {
	const sotto_signal_message *m;
	const uint8_t *raw;
	size_t raw_len;
	const uint8_t *expected_addr; /* NULL when the names are not ServiceIds */
	int self_names;
	sotto_rng_fn rng;
	void *rng_ctx;
	uint8_t *out;
	size_t outcap;
	size_t *outlen;
} dec_ctx;

/* Decrypts with one candidate state; on success *stp is replaced by the
 * advanced state. On failure *stp is untouched, unless in_place: then the
 * state is advanced without a working copy and is left half-changed on
 * failure, for callers that drop it then (a state parsed for this call and
 * never stored after a failure). Copying is what made a decrypt cost as much
 * as the state: up to 5 x 2000 skipped keys. */
static int decrypt_with_state(sotto_session_state **stp, const dec_ctx *d, int in_place)
{
	const sotto_session_state *st = *stp;
	sotto_session_state *w = NULL;
	uint8_t key[SOTTO_SPQR_KEY_BYTES];
	int has_key = 0, self, rc;

	if (d->m->version != sotto_session_state_version(st))
		return SOTTO_ERR_INVALID_MESSAGE;
	self = state_is_self(st, d->self_names);
	rc = ratchet_precheck(st, d->m, self);
	if (rc != 0)
		return rc;
	w = in_place ? *stp : sotto_session_state_copy(st);
	if (w == NULL)
		return SOTTO_ERR_NOMEM;
	rc = spqr_recv(w, d->m->pq_ratchet, d->m->pq_ratchet ? d->m->pq_ratchet_len : 0, key,
		       &has_key);
	if (rc == 0)
		/* w is already a copy: no second one inside the ratchet. */
		rc = sotto__ratchet_decrypt_inplace(w, d->m, d->raw, d->raw_len,
						    has_key ? key : NULL, d->expected_addr,
						    self ? SOTTO_RATCHET_UNLIMITED_JUMP : 0,
						    d->rng, d->rng_ctx, d->out, d->outcap,
						    d->outlen);
	sotto_memzero(key, sizeof(key));
	if (in_place)
		return rc;
	if (rc != 0) {
		sotto_session_state_free(w);
		return rc;
	}
	sotto_session_state_free(*stp);
	*stp = w;
	return 0;
}

/* facts 4.4: current first, DuplicatedMessage ends the search, then the
 * archived states newest first; one that works is promoted. */
static int decrypt_from_record(sotto_session_record *rec, const dec_ctx *d)
{
	size_t i;
	int rc;

	if (rec->current != NULL) {
		/* The current state must survive a failure only when an archived
		 * state may still succeed and archive it. */
		rc = decrypt_with_state(&rec->current, d, rec->nprev == 0);
		if (rc == 0 || rc == SOTTO_ERR_DUPLICATE_MESSAGE || rc == SOTTO_ERR_NOMEM ||
		    rc == SOTTO_ERR_BUFFER_TOO_SMALL)
			return rc;
	}
	for (i = 0; i < rec->nprev; i++) {
		sotto_session_state *st = NULL;

		rc = sotto_session_state_deserialize(&st, rec->prev[i], rec->prevlen[i]);
		if (rc == SOTTO_ERR_NOMEM)
			return rc;
		if (rc != 0)
			continue; /* a corrupt archived state is skipped */
		rc = decrypt_with_state(&st, d, 1);
		if (rc == 0) {
			sotto__record_remove_archived(rec, i);
			return sotto__record_promote(rec, st);
		}
		sotto_session_state_free(st);
		if (rc == SOTTO_ERR_DUPLICATE_MESSAGE || rc == SOTTO_ERR_NOMEM ||
		    rc == SOTTO_ERR_BUFFER_TOO_SMALL)
			return rc;
	}
	return SOTTO_ERR_INVALID_MESSAGE;
}

static int decrypt_signal(const sotto_protocol_stores *s, const sotto_address *local,
			  const sotto_address *remote, const uint8_t *ct, size_t ctlen,
			  dec_ctx *d)
{
	sotto_session_record *rec = NULL;
	sotto_signal_message m;
	uint8_t addr[SOTTO_ADDRESSES_BYTES];
	int rc;

	rc = sotto_signal_message_parse(&m, ct, ctlen);
	if (rc != 0)
		return rc == SOTTO_ERR_NOMEM ? rc : SOTTO_ERR_INVALID_MESSAGE;
	rc = load_record(s, remote, &rec);
	if (rc == 0 && rec == NULL)
		rc = SOTTO_ERR_NO_SESSION;
	if (rc != 0)
		goto done;
	d->m = &m;
	d->raw = ct;
	d->raw_len = ctlen;
	d->expected_addr = sotto_addresses_build(addr, remote->name, remote->device_id, local->name,
						 local->device_id) == 0 ? addr : NULL;
	rc = decrypt_from_record(rec, d);
	if (rc != 0)
		goto done;
	/* facts 4.4: trust is checked after a successful decrypt. */
	rc = trusted(s, remote, sotto_session_state_remote_identity(rec->current),
		     SOTTO_DIRECTION_RECEIVING);
	if (rc == 0)
		rc = save_identity(s, remote, sotto_session_state_remote_identity(rec->current));
	if (rc == 0)
		rc = store_record(s, remote, &rec);
done:
	sotto_signal_message_clear(&m);
	sotto_session_record_free(rec);
	return rc;
}

static int matches_base_key(const sotto_session_state *st, const sotto_prekey_signal_message *pm)
{
	const uint8_t *bk = sotto_session_state_alice_base_key(st);

	return sotto_session_state_version(st) == pm->version && bk != NULL &&
	       memcmp(bk, pm->base_key, SOTTO_EC_PUBLIC_BYTES) == 0;
}

/* promote_matching_session: 1 if a state with this base key is now current. */
static int promote_matching(sotto_session_record *rec, const sotto_prekey_signal_message *pm)
{
	size_t i;
	int rc;

	if (rec->current != NULL && matches_base_key(rec->current, pm))
		return 1;
	for (i = 0; i < rec->nprev; i++) {
		sotto_session_state *st = NULL;

		rc = sotto_session_state_deserialize(&st, rec->prev[i], rec->prevlen[i]);
		if (rc == SOTTO_ERR_NOMEM)
			return rc;
		if (rc != 0)
			continue;
		if (!matches_base_key(st, pm)) {
			sotto_session_state_free(st);
			continue;
		}
		sotto__record_remove_archived(rec, i);
		rc = sotto__record_promote(rec, st);
		return rc != 0 ? rc : 1;
	}
	return 0;
}

static int load_key_id(int rc)
{
	return rc == SOTTO_ERR_NOT_FOUND ? SOTTO_ERR_INVALID_KEY_ID : rc;
}

static int decrypt_prekey(const sotto_protocol_stores *s, const sotto_address *local,
			  const sotto_address *remote, const uint8_t *ct, size_t ctlen,
			  dec_ctx *d)
{
	sotto_prekey_signal_message pm;
	sotto_session_record *rec = NULL;
	sotto_session_state *st = NULL;
	sotto_identity_keypair kp;
	sotto_signed_prekey_record spk;
	sotto_prekey_record opk;
	sotto_kyber_prekey_record *kpk = NULL;
	uint8_t addr[SOTTO_ADDRESSES_BYTES], pqr[SOTTO_PQR_KEY_BYTES];
	uint32_t reg = 0;
	int built = 0, rc;

	memset(&spk, 0, sizeof(spk));
	memset(&opk, 0, sizeof(opk));
	memset(&kp, 0, sizeof(kp));
	rc = sotto_prekey_signal_message_parse(&pm, ct, ctlen);
	if (rc != 0)
		return rc == SOTTO_ERR_NOMEM ? rc : SOTTO_ERR_INVALID_MESSAGE;
	rc = load_record(s, remote, &rec);
	if (rc == 0 && rec == NULL && (rec = sotto_session_record_new()) == NULL)
		rc = SOTTO_ERR_NOMEM;
	if (rc != 0)
		goto done;
	/* facts 2.4 step 1. */
	rc = trusted(s, remote, pm.identity_key, SOTTO_DIRECTION_RECEIVING);
	if (rc != 0)
		goto done;
	/* Step 2: a later PreKey message of a session we already have. */
	rc = promote_matching(rec, &pm);
	if (rc < 0)
		goto done;
	if (rc == 0) {
		/* Step 3, in libsignal's order. */
		if (pm.version == 3 || pm.version != SOTTO_SESSION_VERSION) {
			rc = SOTTO_ERR_INVALID_MESSAGE;
			goto done;
		}
		rc = load_key_id(s->signed_prekey.load(s->signed_prekey.ctx, pm.signed_pre_key_id,
						       &spk));
		if (rc != 0)
			goto done;
		if (!pm.has_kyber) {
			rc = SOTTO_ERR_INVALID_MESSAGE;
			goto done;
		}
		kpk = calloc(1, sizeof(*kpk));
		if (kpk == NULL) {
			rc = SOTTO_ERR_NOMEM;
			goto done;
		}
		rc = load_key_id(s->kyber_prekey.load(s->kyber_prekey.ctx, pm.kyber_pre_key_id, kpk));
		if (rc == 0 && pm.has_pre_key_id)
			rc = load_key_id(s->prekey.load(s->prekey.ctx, pm.pre_key_id, &opk));
		if (rc == 0)
			rc = s->identity.get_local(s->identity.ctx, &kp, &reg);
		if (rc != 0)
			goto done;
		/* Step 4-5. Bad key bytes inside a message make it undecryptable. */
		rc = sotto_pqxdh_respond(&st, pqr, &kp, reg, &spk, pm.has_pre_key_id ? &opk : NULL,
					 kpk, &pm);
		if (rc == SOTTO_ERR_INVALID_KEY)
			rc = SOTTO_ERR_INVALID_MESSAGE;
		if (rc == 0)
			rc = spqr_init(st, pqr, 0,
				       names_self(local, remote) &&
					       sotto_memeq(kp.pub, pm.identity_key,
							   SOTTO_EC_PUBLIC_BYTES));
		if (rc != 0)
			goto done;
		rc = sotto__record_promote(rec, st);
		st = NULL;
		if (rc != 0)
			goto done;
		built = 1;
	}
	/* Step 6: the current state only. */
	d->m = &pm.inner;
	d->raw = pm.message;
	d->raw_len = pm.message_len;
	d->expected_addr = sotto_addresses_build(addr, remote->name, remote->device_id, local->name,
						 local->device_id) == 0 ? addr : NULL;
	/* A failure drops the record (nothing is stored): no working copy. */
	rc = decrypt_with_state(&rec->current, d, 1);
	if (rc != 0) {
		/* libsignal answers every other failure with InvalidMessage. */
		if (rc != SOTTO_ERR_DUPLICATE_MESSAGE && rc != SOTTO_ERR_NOMEM &&
		    rc != SOTTO_ERR_BUFFER_TOO_SMALL)
			rc = SOTTO_ERR_INVALID_MESSAGE;
		goto done;
	}
	/* Step 8, in order. */
	rc = save_identity(s, remote, pm.identity_key);
	if (rc == 0 && built)
		rc = s->kyber_prekey.mark_used(s->kyber_prekey.ctx, pm.kyber_pre_key_id,
					       pm.signed_pre_key_id, pm.base_key);
	if (rc == 0 && built && pm.has_pre_key_id)
		rc = s->prekey.remove(s->prekey.ctx, pm.pre_key_id);
	if (rc == 0)
		rc = store_record(s, remote, &rec);
done:
	sotto_prekey_signal_message_clear(&pm);
	sotto_session_state_free(st);
	sotto_session_record_free(rec);
	if (kpk != NULL) {
		sotto_memzero(kpk, sizeof(*kpk));
		free(kpk);
	}
	sotto_memzero(&spk, sizeof(spk));
	sotto_memzero(&opk, sizeof(opk));
	sotto_memzero(&kp, sizeof(kp));
	sotto_memzero(pqr, sizeof(pqr));
	return rc;
}

int sotto_session_decrypt(const sotto_protocol_stores *s, const sotto_address *local,
			  const sotto_address *remote, int type, const uint8_t *ct, size_t ctlen,
			  sotto_rng_fn rng, void *rng_ctx, uint8_t *out, size_t outcap,
			  size_t *outlen)
{
	dec_ctx d;
	int rc;

	if (s == NULL || !check_address(local) || !check_address(remote) || rng == NULL ||
	    (ct == NULL && ctlen != 0) || outlen == NULL || (out == NULL && outcap != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*outlen = 0;
	if (type != SOTTO_MESSAGE_TYPE_WHISPER && type != SOTTO_MESSAGE_TYPE_PREKEY)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (ctlen > SOTTO_MAX_MESSAGE_BYTES + PREKEY_OVERHEAD)
		return SOTTO_ERR_INVALID_MESSAGE;
	memset(&d, 0, sizeof(d));
	d.self_names = names_self(local, remote);
	d.rng = rng;
	d.rng_ctx = rng_ctx;
	d.out = out;
	d.outcap = outcap;
	d.outlen = outlen;
	if (type == SOTTO_MESSAGE_TYPE_WHISPER)
		rc = decrypt_signal(s, local, remote, ct, ctlen, &d);
	else
		rc = decrypt_prekey(s, local, remote, ct, ctlen, &d);
	if (rc != 0) {
		if (out != NULL && outcap != 0)
			sotto_memzero(out, outcap);
		*outlen = 0;
	}
	return rc;
}

int sotto_session_has_current(const sotto_protocol_stores *s, const sotto_address *remote,
			      uint64_t now_ms, int *has)
{
	sotto_session_record *rec = NULL;
	int rc;

	if (s == NULL || !check_address(remote) || has == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*has = 0;
	rc = load_record(s, remote, &rec);
	if (rc == 0)
		*has = sotto_session_record_has_current_state(rec, now_ms);
	sotto_session_record_free(rec);
	return rc;
}

int sotto_session_load(const sotto_protocol_stores *s, const sotto_address *remote,
		       sotto_session_record **out)
{
	int rc;

	if (s == NULL || !check_address(remote) || out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = load_record(s, remote, out);
	if (rc == 0 && *out == NULL)
		rc = SOTTO_ERR_NO_SESSION;
	return rc;
}
