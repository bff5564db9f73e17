/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sender keys (signal-protocol-facts.md §3.5, §3.6, §6). Every operation
 * loads the record, works on a private copy and writes it back only when
 * everything succeeded, so a failed decrypt leaves the store untouched. */
#include "sotto/group.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/group_internal.h"
#include "sender_keys.pb-c.h"
#include "sotto/aes.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/hash.h"

#define SK_SIG_BYTES 64
#define SK_VERSION_BYTE 0x33

typedef struct sk_mkey {
	uint32_t iteration;
	uint8_t seed[32];
} sk_mkey;

typedef struct sk_state {
	uint32_t version;
	uint32_t chain_id;
	uint32_t iteration;
	uint8_t chain_key[32];
	uint8_t sig_pub[33];
	uint8_t sig_priv[32];
	int has_priv;
	sk_mkey *keys; /* oldest first */
	size_t nkeys;
} sk_state;

typedef struct sk_record {
	size_t n;
	sk_state st[SOTTO_SENDER_KEY_MAX_STATES];
} sk_record;

static void state_clear(sk_state *s)
{
	if (s->keys != NULL) {
		sotto_memzero(s->keys, s->nkeys * sizeof(*s->keys));
		free(s->keys);
	}
	sotto_memzero(s, sizeof(*s));
}

static void record_clear(sk_record *r)
{
	for (size_t i = 0; i < r->n; i++)
		state_clear(&r->st[i]);
	r->n = 0;
}

/* ---- Record storage format (proto/sender_keys.proto, Sotto's own) ---- */

static int record_parse(sk_record *r, const uint8_t *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	Sotto__Senderkeys__SenderKeyRecord *pb =
		sotto__senderkeys__sender_key_record__unpack(NULL, len, buf);
	if (pb == NULL)
		return SOTTO_ERR_STORAGE;
	int rc = SOTTO_ERR_STORAGE;
	if (pb->n_states > SOTTO_SENDER_KEY_MAX_STATES)
		goto cleanup;
	for (size_t i = 0; i < pb->n_states; i++) {
		const Sotto__Senderkeys__SenderKeyState *ps = pb->states[i];
		sk_state *s = &r->st[i];
		r->n = i + 1;
		if (!ps->has_chain_key || ps->chain_key.len != 32 || !ps->has_signing_public ||
		    ps->signing_public.len != 33 ||
		    (ps->has_signing_private && ps->signing_private.len != 32) ||
		    ps->n_message_keys > SOTTO_SENDER_KEY_MAX_MESSAGE_KEYS)
			goto cleanup;
		s->version = ps->has_message_version ? ps->message_version : 0;
		s->chain_id = ps->chain_id;
		s->iteration = ps->iteration;
		memcpy(s->chain_key, ps->chain_key.data, 32);
		memcpy(s->sig_pub, ps->signing_public.data, 33);
		if (ps->has_signing_private) {
			memcpy(s->sig_priv, ps->signing_private.data, 32);
			s->has_priv = 1;
		}
		if (ps->n_message_keys > 0) {
			s->keys = calloc(ps->n_message_keys, sizeof(*s->keys));
			if (s->keys == NULL) {
				rc = SOTTO_ERR_NOMEM;
				goto cleanup;
			}
			for (size_t k = 0; k < ps->n_message_keys; k++) {
				const Sotto__Senderkeys__SenderMessageKey *mk = ps->message_keys[k];
				if (!mk->has_seed || mk->seed.len != 32)
					goto cleanup;
				s->keys[k].iteration = mk->iteration;
				memcpy(s->keys[k].seed, mk->seed.data, 32);
				s->nkeys = k + 1;
			}
		}
	}
	rc = 0;
cleanup:
	/* The unpacked copy holds chain keys and private keys: wipe before freeing. */
	for (size_t i = 0; i < pb->n_states; i++) {
		Sotto__Senderkeys__SenderKeyState *ps = pb->states[i];
		if (ps->chain_key.data)
			sotto_memzero(ps->chain_key.data, ps->chain_key.len);
		if (ps->signing_private.data)
			sotto_memzero(ps->signing_private.data, ps->signing_private.len);
		for (size_t k = 0; k < ps->n_message_keys; k++)
			if (ps->message_keys[k]->seed.data)
				sotto_memzero(ps->message_keys[k]->seed.data,
					      ps->message_keys[k]->seed.len);
	}
	sotto__senderkeys__sender_key_record__free_unpacked(pb, NULL);
	if (rc != 0)
		record_clear(r);
	return rc;
}

/* Serializes r into a malloc'd buffer. */
static int record_serialize(const sk_record *r, uint8_t **out, size_t *outlen)
{
	Sotto__Senderkeys__SenderKeyState ps[SOTTO_SENDER_KEY_MAX_STATES];
	Sotto__Senderkeys__SenderKeyState *pps[SOTTO_SENDER_KEY_MAX_STATES];
	Sotto__Senderkeys__SenderMessageKey *mk[SOTTO_SENDER_KEY_MAX_STATES] = {0};
	Sotto__Senderkeys__SenderMessageKey **pmk[SOTTO_SENDER_KEY_MAX_STATES] = {0};
	Sotto__Senderkeys__SenderKeyRecord pr = SOTTO__SENDERKEYS__SENDER_KEY_RECORD__INIT;
	int rc = SOTTO_ERR_NOMEM;
	uint8_t *buf = NULL;
	size_t len = 0;
	for (size_t i = 0; i < r->n; i++) {
		const sk_state *s = &r->st[i];
		Sotto__Senderkeys__SenderKeyState init = SOTTO__SENDERKEYS__SENDER_KEY_STATE__INIT;
		ps[i] = init;
		pps[i] = &ps[i];
		ps[i].has_message_version = 1;
		ps[i].message_version = s->version;
		ps[i].has_chain_id = 1;
		ps[i].chain_id = s->chain_id;
		ps[i].has_iteration = 1;
		ps[i].iteration = s->iteration;
		ps[i].has_chain_key = 1;
		ps[i].chain_key.data = (uint8_t *)(uintptr_t)s->chain_key;
		ps[i].chain_key.len = 32;
		ps[i].has_signing_public = 1;
		ps[i].signing_public.data = (uint8_t *)(uintptr_t)s->sig_pub;
		ps[i].signing_public.len = 33;
		if (s->has_priv) {
			ps[i].has_signing_private = 1;
			ps[i].signing_private.data = (uint8_t *)(uintptr_t)s->sig_priv;
			ps[i].signing_private.len = 32;
		}
		if (s->nkeys > 0) {
			mk[i] = calloc(s->nkeys, sizeof(**mk));
			pmk[i] = calloc(s->nkeys, sizeof(**pmk));
			if (mk[i] == NULL || pmk[i] == NULL)
				goto cleanup;
			for (size_t k = 0; k < s->nkeys; k++) {
				Sotto__Senderkeys__SenderMessageKey mi =
					SOTTO__SENDERKEYS__SENDER_MESSAGE_KEY__INIT;
				mk[i][k] = mi;
				mk[i][k].has_iteration = 1;
				mk[i][k].iteration = s->keys[k].iteration;
				mk[i][k].has_seed = 1;
				mk[i][k].seed.data = (uint8_t *)(uintptr_t)s->keys[k].seed;
				mk[i][k].seed.len = 32;
				pmk[i][k] = &mk[i][k];
			}
			ps[i].n_message_keys = s->nkeys;
			ps[i].message_keys = pmk[i];
		}
	}
	pr.n_states = r->n;
	pr.states = r->n ? pps : NULL;
	len = sotto__senderkeys__sender_key_record__get_packed_size(&pr);
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		goto cleanup;
	if (sotto__senderkeys__sender_key_record__pack(&pr, buf) != len) {
		rc = SOTTO_ERR_INTERNAL;
		goto cleanup;
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
cleanup:
	for (size_t i = 0; i < r->n; i++) {
		free(mk[i]);
		free(pmk[i]);
	}
	if (buf != NULL) {
		sotto_memzero(buf, len);
		free(buf);
	}
	return rc;
}

static int record_load(const sotto_sender_key_store *store, const char *name, uint32_t dev,
		       const uint8_t dist[16], sk_record *r)
{
	size_t cap = 4096, len = 0;
	uint8_t *buf = NULL;
	int rc;
	memset(r, 0, sizeof(*r));
	for (int tries = 0;; tries++) {
		uint8_t *nb = malloc(cap);
		if (nb == NULL) {
			rc = SOTTO_ERR_NOMEM;
			break;
		}
		if (buf != NULL)
			free(buf);
		buf = nb;
		len = 0;
		rc = store->load(store->ctx, name, dev, dist, buf, cap, &len);
		if (rc == SOTTO_ERR_BUFFER_TOO_SMALL && tries < 4 && len > cap) {
			sotto_memzero(buf, cap);
			cap = len;
			continue;
		}
		if (rc == 0 && len > cap)
			rc = SOTTO_ERR_STORAGE;
		break;
	}
	if (rc == 0)
		rc = record_parse(r, buf, len);
	if (buf != NULL) {
		sotto_memzero(buf, cap);
		free(buf);
	}
	return rc;
}

static int record_save(const sotto_sender_key_store *store, const char *name, uint32_t dev,
		       const uint8_t dist[16], const sk_record *r)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = record_serialize(r, &buf, &len);
	if (rc != 0)
		return rc;
	rc = store->store(store->ctx, name, dev, dist, buf, len);
	if (rc > 0)
		rc = SOTTO_ERR_STORAGE;
	sotto_memzero(buf, len);
	free(buf);
	return rc;
}

/* ---- Chain ---- */

static int chain_seed(uint8_t seed[32], const uint8_t ck[32])
{
	static const uint8_t one = 0x01;
	return sotto_hmac_sha256(seed, ck, 32, &one, 1);
}

static int chain_next(uint8_t ck[32])
{
	static const uint8_t two = 0x02;
	uint8_t next[32];
	int rc = sotto_hmac_sha256(next, ck, 32, &two, 1);
	memcpy(ck, next, 32);
	sotto_memzero(next, sizeof next);
	return rc;
}

/* iv = O[0:16], key = O[16:48] with O = HKDF(seed, "WhisperGroup", 48): IV first. */
static int message_keys(uint8_t ivkey[48], const uint8_t seed[32])
{
	static const uint8_t info[] = "WhisperGroup";
	return sotto_hkdf_sha256(ivkey, 48, NULL, 0, seed, 32, info, sizeof info - 1);
}

/* ---- Wire messages ---- */

int sotto_skdm_parse(const uint8_t *skdm, size_t len, sotto_skdm_info *info)
{
	if (skdm == NULL || info == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(info, 0, sizeof(*info));
	/* libsignal's minimum length, checked before anything else. */
	if (len < 1 + 32 + 32 || (skdm[0] >> 4) != SOTTO_SENDER_KEY_VERSION)
		return SOTTO_ERR_INVALID_MESSAGE;
	Sotto__Senderkeys__SenderKeyDistributionMessage *pb =
		sotto__senderkeys__sender_key_distribution_message__unpack(NULL, len - 1, skdm + 1);
	if (pb == NULL)
		return SOTTO_ERR_INVALID_MESSAGE;
	int rc = SOTTO_ERR_INVALID_MESSAGE;
	if (!pb->has_distribution_uuid || pb->distribution_uuid.len != 16 || !pb->has_chain_id ||
	    !pb->has_iteration || !pb->has_chain_key || !pb->has_signing_key ||
	    pb->chain_key.len != 32 || pb->signing_key.len != 33)
		goto cleanup;
	if (pb->signing_key.data[0] != 0x05) {
		rc = SOTTO_ERR_INVALID_KEY;
		goto cleanup;
	}
	info->version = (uint8_t)(skdm[0] >> 4);
	memcpy(info->distribution_id, pb->distribution_uuid.data, 16);
	info->chain_id = pb->chain_id;
	info->iteration = pb->iteration;
	memcpy(info->chain_key, pb->chain_key.data, 32);
	memcpy(info->signing_key, pb->signing_key.data, 33);
	rc = 0;
cleanup:
	if (pb->chain_key.data != NULL)
		sotto_memzero(pb->chain_key.data, pb->chain_key.len);
	sotto__senderkeys__sender_key_distribution_message__free_unpacked(pb, NULL);
	if (rc != 0)
		sotto_memzero(info, sizeof(*info));
	return rc;
}

/* Parses and returns the unpacked protobuf (the caller frees it). */
static int skm_unpack(const uint8_t *msg, size_t len, sotto_skm_info *info,
		      Sotto__Senderkeys__SenderKeyMessage **out)
{
	memset(info, 0, sizeof(*info));
	if (len < 1 + SK_SIG_BYTES || (msg[0] >> 4) != SOTTO_SENDER_KEY_VERSION)
		return SOTTO_ERR_INVALID_MESSAGE;
	Sotto__Senderkeys__SenderKeyMessage *pb = sotto__senderkeys__sender_key_message__unpack(
		NULL, len - 1 - SK_SIG_BYTES, msg + 1);
	if (pb == NULL)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (!pb->has_distribution_uuid || pb->distribution_uuid.len != 16 || !pb->has_chain_id ||
	    !pb->has_iteration || !pb->has_ciphertext) {
		sotto__senderkeys__sender_key_message__free_unpacked(pb, NULL);
		return SOTTO_ERR_INVALID_MESSAGE;
	}
	info->version = (uint8_t)(msg[0] >> 4);
	memcpy(info->distribution_id, pb->distribution_uuid.data, 16);
	info->chain_id = pb->chain_id;
	info->iteration = pb->iteration;
	info->ciphertext_len = pb->ciphertext.len;
	*out = pb;
	return 0;
}

int sotto_skm_parse(const uint8_t *msg, size_t len, sotto_skm_info *info)
{
	if (msg == NULL || info == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	Sotto__Senderkeys__SenderKeyMessage *pb = NULL;
	int rc = skm_unpack(msg, len, info, &pb);
	if (rc == 0)
		sotto__senderkeys__sender_key_message__free_unpacked(pb, NULL);
	return rc;
}

/* ---- Record operations ---- */

/* libsignal's SenderKeyRecord::add_sender_key_state. ns is consumed (moved
 * into the record or cleared). */
static void record_add_state(sk_record *r, sk_state *ns)
{
	sk_state keep;
	int have_keep = 0;
	/* A state with the same chain id and signing key keeps its position in
	 * the chain. */
	for (size_t i = 0; i < r->n; i++) {
		if (r->st[i].chain_id == ns->chain_id &&
		    memcmp(r->st[i].sig_pub, ns->sig_pub, 33) == 0) {
			keep = r->st[i];
			have_keep = 1;
			memmove(&r->st[i], &r->st[i + 1], (r->n - i - 1) * sizeof(sk_state));
			r->n--;
			break;
		}
	}
	/* Remove other states with that chain id. */
	size_t w = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->st[i].chain_id == ns->chain_id)
			state_clear(&r->st[i]);
		else
			r->st[w++] = r->st[i];
	}
	r->n = w;
	if (have_keep) {
		state_clear(ns);
		*ns = keep;
	}
	while (r->n >= SOTTO_SENDER_KEY_MAX_STATES)
		state_clear(&r->st[--r->n]);
	memmove(&r->st[1], &r->st[0], r->n * sizeof(sk_state));
	r->st[0] = *ns;
	r->n++;
	memset(ns, 0, sizeof(*ns));
}

static int skdm_write(const sk_state *s, const uint8_t dist[16], uint8_t *out, size_t cap,
		      size_t *outlen)
{
	Sotto__Senderkeys__SenderKeyDistributionMessage pb =
		SOTTO__SENDERKEYS__SENDER_KEY_DISTRIBUTION_MESSAGE__INIT;
	pb.has_distribution_uuid = 1;
	pb.distribution_uuid.data = (uint8_t *)(uintptr_t)dist;
	pb.distribution_uuid.len = 16;
	pb.has_chain_id = 1;
	pb.chain_id = s->chain_id;
	pb.has_iteration = 1;
	pb.iteration = s->iteration;
	pb.has_chain_key = 1;
	pb.chain_key.data = (uint8_t *)(uintptr_t)s->chain_key;
	pb.chain_key.len = 32;
	pb.has_signing_key = 1;
	pb.signing_key.data = (uint8_t *)(uintptr_t)s->sig_pub;
	pb.signing_key.len = 33;
	size_t n = sotto__senderkeys__sender_key_distribution_message__get_packed_size(&pb);
	if (cap < 1 || n > cap - 1)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	/* libsignal writes (message_version << 4) | 3 and the version is always 3. */
	out[0] = (uint8_t)(((s->version ? s->version : 3) & 0xF) << 4 | SOTTO_SENDER_KEY_VERSION);
	*outlen = 1 + sotto__senderkeys__sender_key_distribution_message__pack(&pb, out + 1);
	return 0;
}

static int check_args(const sotto_sender_key_store *store, const char *name, uint32_t dev)
{
	if (store == NULL || store->load == NULL || store->store == NULL || name == NULL ||
	    dev < 1 || dev > 127)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return 0;
}

int sotto_group_skdm_create(const sotto_sender_key_store *store, const char *sender_name,
			    uint32_t sender_device, const uint8_t distribution_id[16],
			    sotto_rng_fn rng, void *rng_ctx, uint8_t *out, size_t cap,
			    size_t *outlen)
{
	int rc = check_args(store, sender_name, sender_device);
	if (rc != 0 || distribution_id == NULL || out == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (rng == NULL)
		rng = sotto_rng_system;
	sk_record r;
	rc = record_load(store, sender_name, sender_device, distribution_id, &r);
	if (rc == SOTTO_ERR_NOT_FOUND) {
		sk_state ns;
		uint8_t rnd[4];
		memset(&ns, 0, sizeof ns);
		memset(&r, 0, sizeof r);
		rc = rng(rng_ctx, rnd, 4);
		if (rc == 0)
			rc = rng(rng_ctx, ns.chain_key, 32);
		if (rc == 0)
			rc = sotto__keypair_rng(ns.sig_pub, ns.sig_priv, rng, rng_ctx);
		if (rc != 0) {
			state_clear(&ns);
			return rc < 0 ? rc : SOTTO_ERR_CRYPTO;
		}
		/* chain_id = random u32 >> 1 (libsignal reads the u32 little-endian;
		 * any 31-bit value is fine). */
		ns.chain_id = ((uint32_t)rnd[0] | (uint32_t)rnd[1] << 8 | (uint32_t)rnd[2] << 16 |
			       (uint32_t)rnd[3] << 24) >> 1;
		ns.version = SOTTO_SENDER_KEY_VERSION;
		ns.has_priv = 1;
		record_add_state(&r, &ns);
		rc = record_save(store, sender_name, sender_device, distribution_id, &r);
	}
	if (rc != 0)
		goto cleanup;
	if (r.n == 0) {
		rc = SOTTO_ERR_NO_SESSION;
		goto cleanup;
	}
	rc = skdm_write(&r.st[0], distribution_id, out, cap, outlen);
cleanup:
	record_clear(&r);
	return rc;
}

int sotto_group_skdm_process(const sotto_sender_key_store *store, const char *sender_name,
			     uint32_t sender_device, const uint8_t *skdm, size_t skdm_len)
{
	int rc = check_args(store, sender_name, sender_device);
	if (rc != 0 || skdm == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_skdm_info info;
	rc = sotto_skdm_parse(skdm, skdm_len, &info);
	if (rc != 0)
		return rc;
	sk_record r;
	rc = record_load(store, sender_name, sender_device, info.distribution_id, &r);
	if (rc == SOTTO_ERR_NOT_FOUND) {
		memset(&r, 0, sizeof r);
		rc = 0;
	}
	if (rc == 0) {
		sk_state ns;
		memset(&ns, 0, sizeof ns);
		ns.version = info.version;
		ns.chain_id = info.chain_id;
		ns.iteration = info.iteration;
		memcpy(ns.chain_key, info.chain_key, 32);
		memcpy(ns.sig_pub, info.signing_key, 33);
		record_add_state(&r, &ns);
		rc = record_save(store, sender_name, sender_device, info.distribution_id, &r);
	}
	record_clear(&r);
	sotto_memzero(&info, sizeof info);
	return rc;
}

int sotto_group_encrypt(const sotto_sender_key_store *store, const char *sender_name,
			uint32_t sender_device, const uint8_t distribution_id[16], sotto_rng_fn rng,
			void *rng_ctx, const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap,
			size_t *outlen)
{
	int rc = check_args(store, sender_name, sender_device);
	if (rc != 0 || distribution_id == NULL || (pt == NULL && ptlen) || out == NULL ||
	    outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (rng == NULL)
		rng = sotto_rng_system;
	static const uint8_t empty[1] = {0};
	sk_record r;
	uint8_t seed[32], ivkey[48];
	uint8_t *ct = NULL;
	size_t ctlen = 0, ctcap = SOTTO_AES_CBC_PADDED_LEN(ptlen);
	rc = record_load(store, sender_name, sender_device, distribution_id, &r);
	if (rc == SOTTO_ERR_NOT_FOUND)
		return SOTTO_ERR_NO_SESSION;
	if (rc != 0)
		return rc;
	sk_state *s = &r.st[0];
	if (r.n == 0 || !s->has_priv) {
		rc = SOTTO_ERR_NO_SESSION;
		goto cleanup;
	}
	/* The chain cannot step past the last u32 iteration. */
	if (s->iteration == UINT32_MAX) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	ct = malloc(ctcap);
	if (ct == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto cleanup;
	}
	rc = chain_seed(seed, s->chain_key);
	if (rc == 0)
		rc = message_keys(ivkey, seed);
	if (rc == 0)
		rc = sotto_aes_cbc_encrypt(ct, ctcap, &ctlen, ivkey + 16, 32, ivkey,
					   pt ? pt : empty, ptlen);
	if (rc != 0)
		goto cleanup;
	Sotto__Senderkeys__SenderKeyMessage pb = SOTTO__SENDERKEYS__SENDER_KEY_MESSAGE__INIT;
	pb.has_distribution_uuid = 1;
	pb.distribution_uuid.data = (uint8_t *)(uintptr_t)distribution_id;
	pb.distribution_uuid.len = 16;
	pb.has_chain_id = 1;
	pb.chain_id = s->chain_id;
	pb.has_iteration = 1;
	pb.iteration = s->iteration;
	pb.has_ciphertext = 1;
	pb.ciphertext.data = ct;
	pb.ciphertext.len = ctlen;
	size_t n = sotto__senderkeys__sender_key_message__get_packed_size(&pb);
	if (cap < 1 + SK_SIG_BYTES || n > cap - 1 - SK_SIG_BYTES) {
		rc = SOTTO_ERR_BUFFER_TOO_SMALL;
		goto cleanup;
	}
	out[0] = (uint8_t)((s->version ? s->version : 3) & 0xF) << 4 | SOTTO_SENDER_KEY_VERSION;
	n = sotto__senderkeys__sender_key_message__pack(&pb, out + 1);
	rc = sotto__sign_rng(out + 1 + n, s->sig_priv, out, 1 + n, rng, rng_ctx);
	if (rc != 0)
		goto cleanup;
	rc = chain_next(s->chain_key);
	if (rc != 0)
		goto cleanup;
	s->iteration++;
	rc = record_save(store, sender_name, sender_device, distribution_id, &r);
	if (rc == 0)
		*outlen = 1 + n + SK_SIG_BYTES;
cleanup:
	if (rc != 0 && out != NULL && cap > 0)
		sotto_memzero(out, cap);
	if (ct != NULL)
		free(ct);
	sotto_memzero(seed, sizeof seed);
	sotto_memzero(ivkey, sizeof ivkey);
	record_clear(&r);
	return rc;
}

/* libsignal's get_sender_key: finds or derives the seed for iteration it,
 * updating the state's chain and skipped keys. */
static int state_take_seed(sk_state *s, uint32_t it, uint8_t seed[32])
{
	int rc;
	if (it < s->iteration) {
		for (size_t k = 0; k < s->nkeys; k++) {
			if (s->keys[k].iteration == it) {
				memcpy(seed, s->keys[k].seed, 32);
				sotto_memzero(&s->keys[k], sizeof(sk_mkey));
				memmove(&s->keys[k], &s->keys[k + 1],
					(s->nkeys - k - 1) * sizeof(sk_mkey));
				s->nkeys--;
				return 0;
			}
		}
		return SOTTO_ERR_DUPLICATE_MESSAGE;
	}
	uint32_t jump = it - s->iteration;
	if (jump > SOTTO_SENDER_KEY_MAX_FORWARD_JUMPS)
		return SOTTO_ERR_INVALID_MESSAGE;
	/* After the message the chain sits at it + 1, which must exist. */
	if (it == UINT32_MAX)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (jump > 0) {
		/* Keep the newest MAX_MESSAGE_KEYS of old + skipped keys. Only the
		 * skipped keys that survive are derived; the chain still steps
		 * through all of them. */
		size_t keep_new = jump < SOTTO_SENDER_KEY_MAX_MESSAGE_KEYS
					  ? jump
					  : SOTTO_SENDER_KEY_MAX_MESSAGE_KEYS;
		size_t keep_old = SOTTO_SENDER_KEY_MAX_MESSAGE_KEYS - keep_new;
		if (keep_old > s->nkeys)
			keep_old = s->nkeys;
		sk_mkey *nk = malloc((keep_old + keep_new) * sizeof(sk_mkey));
		if (nk == NULL)
			return SOTTO_ERR_NOMEM;
		if (keep_old > 0)
			memcpy(nk, s->keys + (s->nkeys - keep_old), keep_old * sizeof(sk_mkey));
		size_t w = keep_old;
		uint32_t first_kept = it - (uint32_t)keep_new;
		rc = 0;
		for (uint32_t i = s->iteration; rc == 0 && i < it; i++) {
			if (i >= first_kept) {
				nk[w].iteration = i;
				rc = chain_seed(nk[w].seed, s->chain_key);
				w++;
			}
			if (rc == 0)
				rc = chain_next(s->chain_key);
		}
		if (rc != 0) {
			sotto_memzero(nk, (keep_old + keep_new) * sizeof(sk_mkey));
			free(nk);
			return rc;
		}
		if (s->keys != NULL) {
			sotto_memzero(s->keys, s->nkeys * sizeof(sk_mkey));
			free(s->keys);
		}
		s->keys = nk;
		s->nkeys = w;
	}
	rc = chain_seed(seed, s->chain_key);
	if (rc == 0)
		rc = chain_next(s->chain_key);
	s->iteration = it + 1;
	return rc;
}

int sotto_group_decrypt(const sotto_sender_key_store *store, const char *sender_name,
			uint32_t sender_device, const uint8_t *msg, size_t msg_len, uint8_t *out,
			size_t cap, size_t *outlen)
{
	int rc = check_args(store, sender_name, sender_device);
	if (rc != 0 || msg == NULL || out == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_skm_info info;
	Sotto__Senderkeys__SenderKeyMessage *pb = NULL;
	uint8_t seed[32], ivkey[48];
	sk_record r;
	memset(&r, 0, sizeof r);
	memset(seed, 0, sizeof seed);
	memset(ivkey, 0, sizeof ivkey);
	rc = skm_unpack(msg, msg_len, &info, &pb);
	if (rc != 0)
		return rc;
	rc = record_load(store, sender_name, sender_device, info.distribution_id, &r);
	if (rc == SOTTO_ERR_NOT_FOUND) {
		rc = SOTTO_ERR_NO_SESSION;
		goto cleanup;
	}
	if (rc != 0)
		goto cleanup;
	sk_state *s = NULL;
	for (size_t i = 0; i < r.n && s == NULL; i++)
		if (r.st[i].chain_id == info.chain_id)
			s = &r.st[i];
	if (s == NULL) {
		rc = SOTTO_ERR_NO_SESSION;
		goto cleanup;
	}
	if (info.version != (s->version ? s->version : 3)) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	rc = sotto__verify33(s->sig_pub, msg, msg_len - SK_SIG_BYTES, msg + msg_len - SK_SIG_BYTES,
			     SK_SIG_BYTES);
	if (rc != 0)
		goto cleanup;
	rc = state_take_seed(s, info.iteration, seed);
	if (rc == 0)
		rc = message_keys(ivkey, seed);
	if (rc != 0)
		goto cleanup;
	if (pb->ciphertext.len == 0) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	rc = sotto_aes_cbc_decrypt(out, cap, outlen, ivkey + 16, 32, ivkey, pb->ciphertext.data,
				   pb->ciphertext.len);
	if (rc != 0) {
		if (rc != SOTTO_ERR_BUFFER_TOO_SMALL)
			rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	rc = record_save(store, sender_name, sender_device, info.distribution_id, &r);
	if (rc != 0) {
		sotto_memzero(out, *outlen);
		*outlen = 0;
	}
cleanup:
	sotto_memzero(seed, sizeof seed);
	sotto_memzero(ivkey, sizeof ivkey);
	record_clear(&r);
	if (pb != NULL)
		sotto__senderkeys__sender_key_message__free_unpacked(pb, NULL);
	return rc;
}
