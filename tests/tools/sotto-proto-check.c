/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-proto-check: replays libsignal's 1:1 derivations with Sotto's
 * protocol layer, driven by tests/interop/test_protocol_kdf.mjs.
 *
 * Reads one JSON request per line on stdin and writes one JSON reply per
 * line on stdout. Binary values are hex. Session states travel as JSON
 * objects (see state_from_json) converted from libsignal's SessionStructure
 * by the script, so the C code can be started from any point of a real
 * libsignal conversation. Randomness comes from the request's "rng" hex
 * string, so a DH ratchet step can be made to draw the same private key
 * libsignal drew.
 *
 * Requests:
 *   {"op":"encrypt","state":S,"pq_key":h? (absent: no salt),"pq_msg":h,"addresses":h?,"plaintext":h}
 *       -> {"message":h (SignalMessage, or PreKeySignalMessage while pending),
 *           "state":S'}
 *   {"op":"decrypt","state":S,"message":h,"pq_key":h,"addresses":h?,"rng":h}
 *       -> {"plaintext":h,"state":S',"reencoded_equal":bool}
 *   {"op":"respond","identity_priv":h,"local_reg":n,"spk_id":n,"spk_priv":h,
 *    "opk_id":n?,"opk_priv":h?,"kyber_id":n,"kyber_pub":h,"kyber_priv":h,
 *    "message":h (PreKeySignalMessage),"pq_key":h,"addresses":h?,"rng":h}
 *       -> {"pqr":h,"plaintext":h,"state":S' (after decrypting the inner
 *           message),"reencoded_equal":bool}
 *   {"op":"initiate","identity_priv":h,"local_reg":n,"now":n,"rng":h,
 *    "bundle":{registration_id, device_id, pre_key_id?, pre_key?,
 *              signed_pre_key_id, signed_pre_key, signed_pre_key_signature,
 *              identity_key, kyber_pre_key_id, kyber_pre_key,
 *              kyber_pre_key_signature}} -> {"pqr":h,"state":S (with pending)}
 *   {"op":"addresses","sender":str,"sender_device":n,"recipient":str,
 *    "recipient_device":n} -> {"addresses":h}
 * Errors: {"error":"<sotto_error_code_name>","rc":n}. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/session_internal.h"
#include "sotto/error.h"
#include "sotto/protocol.h"
#include "sotto/util.h"
#include "testutil.h"

typedef struct byte_rng {
	uint8_t *buf;
	size_t len, pos;
} byte_rng;

/* Hands out the request's bytes in order; running out is an error, so a
 * request that draws more randomness than expected is noticed. */
static int bytes_rng(void *ctx, uint8_t *out, size_t len)
{
	byte_rng *r = ctx;

	if (r->len - r->pos < len)
		return SOTTO_ERR_INTERNAL;
	memcpy(out, r->buf + r->pos, len);
	r->pos += len;
	return 0;
}

static char *hex(const uint8_t *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		s[2 * i] = d[p[i] >> 4];
		s[2 * i + 1] = d[p[i] & 15];
	}
	s[2 * n] = 0;
	return s;
}

static json_t *jhex(const uint8_t *p, size_t n)
{
	char *s = hex(p, n);
	json_t *j = json_string(s ? s : "");

	free(s);
	return j;
}

/* Decodes a hex member; returns a malloc'd buffer or NULL when absent. */
static uint8_t *get_hex(json_t *o, const char *key, size_t *len)
{
	json_t *v = json_object_get(o, key);

	*len = 0;
	if (!json_is_string(v))
		return NULL;
	return tu_unhex(json_string_value(v), len);
}

static int get_fixed(json_t *o, const char *key, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return -1;
	return tu_unhex_into(out, n, json_string_value(v)) == 0 ? 0 : -1;
}

static uint32_t get_u32(json_t *o, const char *key)
{
	return (uint32_t)json_integer_value(json_object_get(o, key));
}

/* S = {version, local_identity(33), remote_identity(33), root_key,
 *      previous_counter, sender?: {pub(32), priv, key, index},
 *      receivers: [{pub(32), key, index, skipped: [{index, seed}]}],
 *      pending?: {pre_key_id?, signed_pre_key_id, base_key(33), timestamp,
 *                 kyber_pre_key_id, kyber_ct}, remote_reg, local_reg,
 *      alice_base_key?} */
static sotto_session_state *state_from_json(json_t *j)
{
	sotto_session_state *st = sotto__session_state_alloc();
	json_t *s, *rs, *p;
	size_t i, k;

	if (st == NULL)
		return NULL;
	st->session_version = get_u32(j, "version");
	if (get_fixed(j, "local_identity", st->local_identity, 33) ||
	    get_fixed(j, "remote_identity", st->remote_identity, 33) ||
	    get_fixed(j, "root_key", st->root_key, 32))
		goto fail;
	st->previous_counter = get_u32(j, "previous_counter");
	s = json_object_get(j, "sender");
	if (json_is_object(s)) {
		if (get_fixed(s, "pub", st->sender_pub, 32) || get_fixed(s, "priv", st->sender_priv, 32) ||
		    get_fixed(s, "key", st->sender_chain_key, 32))
			goto fail;
		st->sender_index = get_u32(s, "index");
		st->has_sender_chain = 1;
	}
	rs = json_object_get(j, "receivers");
	for (i = 0; i < json_array_size(rs); i++) {
		json_t *c = json_array_get(rs, i), *sk = json_object_get(c, "skipped");
		uint8_t pub[32], key[32];
		sotto__receiver_chain *r;

		if (get_fixed(c, "pub", pub, 32) || get_fixed(c, "key", key, 32) ||
		    sotto__session_add_receiver_chain(st, pub, key) != 0)
			goto fail;
		r = &st->recv[st->nrecv - 1];
		r->index = get_u32(c, "index");
		if (json_array_size(sk) != 0) {
			r->skipped = calloc(json_array_size(sk), sizeof(*r->skipped));
			if (r->skipped == NULL)
				goto fail;
			r->capskipped = json_array_size(sk);
			for (k = 0; k < json_array_size(sk); k++) {
				json_t *e = json_array_get(sk, k);

				r->skipped[k].index = get_u32(e, "index");
				if (get_fixed(e, "seed", r->skipped[k].seed, 32))
					goto fail;
				r->nskipped = k + 1;
			}
		}
	}
	p = json_object_get(j, "pending");
	if (json_is_object(p)) {
		st->has_pending = 1;
		if (json_object_get(p, "pre_key_id") != NULL) {
			st->pending.has_pre_key_id = 1;
			st->pending.pre_key_id = get_u32(p, "pre_key_id");
		}
		st->pending.signed_pre_key_id = get_u32(p, "signed_pre_key_id");
		st->pending.timestamp = (uint64_t)json_integer_value(json_object_get(p, "timestamp"));
		st->pending.kyber_pre_key_id = get_u32(p, "kyber_pre_key_id");
		if (get_fixed(p, "base_key", st->pending.base_key, 33) ||
		    get_fixed(p, "kyber_ct", st->pending.kyber_ciphertext, SOTTO_KEM_CIPHERTEXT_BYTES))
			goto fail;
	}
	st->remote_registration_id = get_u32(j, "remote_reg");
	st->local_registration_id = get_u32(j, "local_reg");
	if (json_object_get(j, "alice_base_key") != NULL) {
		if (get_fixed(j, "alice_base_key", st->alice_base_key, 33))
			goto fail;
		st->has_alice_base_key = 1;
	}
	return st;
fail:
	sotto_session_state_free(st);
	return NULL;
}

static json_t *state_to_json(const sotto_session_state *st)
{
	json_t *j = json_object(), *rs = json_array();
	size_t i, k;

	json_object_set_new(j, "version", json_integer(st->session_version));
	json_object_set_new(j, "local_identity", jhex(st->local_identity, 33));
	json_object_set_new(j, "remote_identity", jhex(st->remote_identity, 33));
	json_object_set_new(j, "root_key", jhex(st->root_key, 32));
	json_object_set_new(j, "previous_counter", json_integer(st->previous_counter));
	if (st->has_sender_chain) {
		json_t *s = json_object();

		json_object_set_new(s, "pub", jhex(st->sender_pub, 32));
		json_object_set_new(s, "priv", jhex(st->sender_priv, 32));
		json_object_set_new(s, "key", jhex(st->sender_chain_key, 32));
		json_object_set_new(s, "index", json_integer(st->sender_index));
		json_object_set_new(j, "sender", s);
	}
	for (i = 0; i < st->nrecv; i++) {
		const sotto__receiver_chain *r = &st->recv[i];
		json_t *c = json_object(), *sk = json_array();

		json_object_set_new(c, "pub", jhex(r->ratchet_key, 32));
		json_object_set_new(c, "key", jhex(r->chain_key, 32));
		json_object_set_new(c, "index", json_integer(r->index));
		for (k = 0; k < r->nskipped; k++) {
			json_t *e = json_object();

			json_object_set_new(e, "index", json_integer(r->skipped[k].index));
			json_object_set_new(e, "seed", jhex(r->skipped[k].seed, 32));
			json_array_append_new(sk, e);
		}
		json_object_set_new(c, "skipped", sk);
		json_array_append_new(rs, c);
	}
	json_object_set_new(j, "receivers", rs);
	json_object_set_new(j, "has_pending", json_boolean(st->has_pending));
	if (st->has_pending) {
		/* The pending items, in the form state_from_json reads. */
		const sotto_pending_prekey *p = &st->pending;
		json_t *jp = json_object();

		if (p->has_pre_key_id)
			json_object_set_new(jp, "pre_key_id", json_integer(p->pre_key_id));
		json_object_set_new(jp, "signed_pre_key_id", json_integer(p->signed_pre_key_id));
		json_object_set_new(jp, "base_key", jhex(p->base_key, 33));
		json_object_set_new(jp, "timestamp", json_integer((json_int_t)p->timestamp));
		json_object_set_new(jp, "kyber_pre_key_id", json_integer(p->kyber_pre_key_id));
		json_object_set_new(jp, "kyber_ct", jhex(p->kyber_ciphertext, sizeof(p->kyber_ciphertext)));
		json_object_set_new(j, "pending", jp);
	}
	json_object_set_new(j, "remote_reg", json_integer(st->remote_registration_id));
	json_object_set_new(j, "local_reg", json_integer(st->local_registration_id));
	if (st->has_alice_base_key)
		json_object_set_new(j, "alice_base_key", jhex(st->alice_base_key, 33));
	return j;
}

static json_t *err(int rc)
{
	json_t *j = json_object();

	json_object_set_new(j, "error", json_string(sotto_error_code_name(rc)));
	json_object_set_new(j, "rc", json_integer(rc));
	return j;
}

/* Decrypts a SignalMessage into *plain; sets *reenc to whether re-encoding the
 * parsed message with the MAC key gives the same bytes (checked through the
 * MAC-free body only: the parser output must encode back to byte0||proto). */
static int decrypt_msg(sotto_session_state *st, const uint8_t *msg, size_t len,
		       const uint8_t *pq_key, const uint8_t *addresses, byte_rng *rng,
		       uint8_t **plain, size_t *plen, int *reenc)
{
	sotto_signal_message m;
	uint8_t *buf;
	size_t n;
	int rc;

	*plain = NULL;
	rc = sotto_signal_message_parse(&m, msg, len);
	if (rc != 0)
		return rc;
	/* Re-encode with a dummy MAC key: everything but the last 8 bytes must
	 * match libsignal's bytes. */
	buf = malloc(len + 64);
	if (buf != NULL) {
		static const uint8_t k[32];

		*reenc = sotto_signal_message_encode(buf, len + 64, &n, &m, k, st->local_identity,
						     st->remote_identity) == 0 &&
			 n == len && memcmp(buf, msg, len - 8) == 0;
		free(buf);
	}
	*plain = malloc(len);
	if (*plain == NULL) {
		sotto_signal_message_clear(&m);
		return SOTTO_ERR_NOMEM;
	}
	rc = sotto_ratchet_decrypt(st, &m, msg, len, pq_key, addresses, 0, bytes_rng, rng, *plain,
				   len, plen);
	sotto_signal_message_clear(&m);
	return rc;
}

static json_t *op_encrypt(json_t *req)
{
	sotto_session_state *st = state_from_json(json_object_get(req, "state"));
	uint8_t *pq_key, *pq_msg, *addr, *pt, *out = NULL, *wrapped = NULL;
	size_t pqkl, pqml, al, ptl, cap, n, wn;
	json_t *res = NULL;
	int rc;

	pq_key = get_hex(req, "pq_key", &pqkl);
	pq_msg = get_hex(req, "pq_msg", &pqml);
	addr = get_hex(req, "addresses", &al);
	pt = get_hex(req, "plaintext", &ptl);
	if (st == NULL || (pq_key != NULL && pqkl != 32) || pt == NULL) {
		res = err(SOTTO_ERR_INVALID_ARGUMENT);
		goto done;
	}
	cap = sotto_ratchet_encrypt_bound(ptl, pqml, al);
	out = malloc(cap);
	wrapped = malloc(cap + 4096);
	rc = out && wrapped ? 0 : SOTTO_ERR_NOMEM;
	if (rc == 0)
		rc = sotto_ratchet_encrypt(st, pq_key, pq_msg, pqml, addr, al, pt, ptl, out, cap, &n);
	if (rc == 0 && sotto_session_state_pending_prekey(st, NULL)) {
		rc = sotto_session_wrap_prekey(st, out, n, wrapped, cap + 4096, &wn);
		if (rc == 0) {
			res = json_object();
			json_object_set_new(res, "message", jhex(wrapped, wn));
		}
	} else if (rc == 0) {
		res = json_object();
		json_object_set_new(res, "message", jhex(out, n));
	}
	if (rc != 0)
		res = err(rc);
	else
		json_object_set_new(res, "state", state_to_json(st));
done:
	sotto_session_state_free(st);
	free(pq_key);
	free(pq_msg);
	free(addr);
	free(pt);
	free(out);
	free(wrapped);
	return res;
}

static json_t *op_decrypt(json_t *req)
{
	sotto_session_state *st = state_from_json(json_object_get(req, "state"));
	uint8_t *msg, *pq_key, *addr, *plain = NULL;
	size_t ml, pqkl, al, pl = 0;
	byte_rng rng = {0};
	json_t *res;
	int rc, reenc = 0;

	msg = get_hex(req, "message", &ml);
	pq_key = get_hex(req, "pq_key", &pqkl);
	addr = get_hex(req, "addresses", &al);
	rng.buf = get_hex(req, "rng", &rng.len);
	if (st == NULL || msg == NULL || pq_key == NULL || pqkl != 32 || (addr && al != 36)) {
		res = err(SOTTO_ERR_INVALID_ARGUMENT);
		goto done;
	}
	rc = decrypt_msg(st, msg, ml, pq_key, addr, &rng, &plain, &pl, &reenc);
	if (rc != 0) {
		res = err(rc);
		goto done;
	}
	res = json_object();
	json_object_set_new(res, "plaintext", jhex(plain, pl));
	json_object_set_new(res, "reencoded_equal", json_boolean(reenc));
	json_object_set_new(res, "state", state_to_json(st));
done:
	sotto_session_state_free(st);
	free(msg);
	free(pq_key);
	free(addr);
	free(rng.buf);
	free(plain);
	return res;
}

static json_t *op_respond(json_t *req)
{
	sotto_identity_keypair id;
	sotto_signed_prekey_record spk;
	sotto_prekey_record opk;
	static sotto_kyber_prekey_record kpk;
	sotto_prekey_signal_message pm;
	sotto_session_state *st = NULL;
	uint8_t priv[32], pqr[32], *msg, *pq_key, *addr, *plain = NULL, *re = NULL;
	size_t ml, pqkl, al, pl = 0, rn;
	byte_rng rng = {0};
	int has_opk = json_object_get(req, "opk_priv") != NULL, rc, reenc = 0, pre_equal = 0;
	json_t *res = NULL;

	memset(&pm, 0, sizeof(pm));
	msg = get_hex(req, "message", &ml);
	pq_key = get_hex(req, "pq_key", &pqkl);
	addr = get_hex(req, "addresses", &al);
	rng.buf = get_hex(req, "rng", &rng.len);
	memset(&spk, 0, sizeof(spk));
	memset(&opk, 0, sizeof(opk));
	memset(&kpk, 0, sizeof(kpk));
	if (msg == NULL || pq_key == NULL || pqkl != 32 || get_fixed(req, "identity_priv", priv, 32) ||
	    sotto_ec_keypair_from_private(&id, priv) != 0 ||
	    get_fixed(req, "spk_priv", priv, 32) ||
	    sotto_ec_keypair_from_private(&spk.key, priv) != 0 ||
	    get_fixed(req, "kyber_pub", kpk.pub, sizeof(kpk.pub)) ||
	    get_fixed(req, "kyber_priv", kpk.priv, sizeof(kpk.priv))) {
		res = err(SOTTO_ERR_INVALID_ARGUMENT);
		goto done;
	}
	spk.id = get_u32(req, "spk_id");
	kpk.id = get_u32(req, "kyber_id");
	if (has_opk) {
		if (get_fixed(req, "opk_priv", priv, 32) ||
		    sotto_ec_keypair_from_private(&opk.key, priv) != 0) {
			res = err(SOTTO_ERR_INVALID_ARGUMENT);
			goto done;
		}
		opk.id = get_u32(req, "opk_id");
	}
	rc = sotto_prekey_signal_message_parse(&pm, msg, ml);
	if (rc == 0) {
		/* The parsed message must encode back to libsignal's bytes. */
		re = malloc(ml + 64);
		rc = re ? sotto_prekey_signal_message_encode(re, ml + 64, &rn, &pm) : SOTTO_ERR_NOMEM;
		pre_equal = rc == 0 && rn == ml && memcmp(re, msg, ml) == 0;
	}
	if (rc == 0)
		rc = sotto_pqxdh_respond(&st, pqr, &id, get_u32(req, "local_reg"), &spk,
					 has_opk ? &opk : NULL, &kpk, &pm);
	if (rc == 0)
		rc = decrypt_msg(st, pm.message, pm.message_len, pq_key, addr, &rng, &plain, &pl,
				 &reenc);
	if (rc != 0) {
		res = err(rc);
		goto done;
	}
	res = json_object();
	json_object_set_new(res, "pqr", jhex(pqr, 32));
	json_object_set_new(res, "plaintext", jhex(plain, pl));
	json_object_set_new(res, "reencoded_equal", json_boolean(reenc && pre_equal));
	json_object_set_new(res, "state", state_to_json(st));
done:
	sotto_prekey_signal_message_clear(&pm);
	sotto_session_state_free(st);
	sotto_memzero(&id, sizeof(id));
	sotto_memzero(&spk, sizeof(spk));
	sotto_memzero(&opk, sizeof(opk));
	sotto_memzero(&kpk, sizeof(kpk));
	sotto_memzero(priv, sizeof(priv));
	free(msg);
	free(pq_key);
	free(addr);
	free(rng.buf);
	free(plain);
	free(re);
	return res;
}

static json_t *op_initiate(json_t *req)
{
	sotto_identity_keypair id;
	static sotto_prekey_bundle b;
	sotto_session_state *st = NULL;
	uint8_t priv[32], pqr[32];
	json_t *jb = json_object_get(req, "bundle"), *res;
	byte_rng rng = {0};
	int rc;

	memset(&b, 0, sizeof(b));
	rng.buf = get_hex(req, "rng", &rng.len);
	if (get_fixed(req, "identity_priv", priv, 32) || sotto_ec_keypair_from_private(&id, priv) ||
	    !json_is_object(jb) || get_fixed(jb, "signed_pre_key", b.signed_pre_key, 33) ||
	    get_fixed(jb, "signed_pre_key_signature", b.signed_pre_key_signature, 64) ||
	    get_fixed(jb, "identity_key", b.identity_key, 33) ||
	    get_fixed(jb, "kyber_pre_key", b.kyber_pre_key, sizeof(b.kyber_pre_key)) ||
	    get_fixed(jb, "kyber_pre_key_signature", b.kyber_pre_key_signature, 64)) {
		free(rng.buf);
		return err(SOTTO_ERR_INVALID_ARGUMENT);
	}
	b.registration_id = get_u32(jb, "registration_id");
	b.device_id = get_u32(jb, "device_id");
	b.signed_pre_key_id = get_u32(jb, "signed_pre_key_id");
	b.kyber_pre_key_id = get_u32(jb, "kyber_pre_key_id");
	if (json_object_get(jb, "pre_key") != NULL) {
		b.has_pre_key = 1;
		b.pre_key_id = get_u32(jb, "pre_key_id");
		if (get_fixed(jb, "pre_key", b.pre_key, 33)) {
			free(rng.buf);
			return err(SOTTO_ERR_INVALID_ARGUMENT);
		}
	}
	rc = sotto_pqxdh_initiate(&st, pqr, &id, get_u32(req, "local_reg"), &b,
				  (uint64_t)json_integer_value(json_object_get(req, "now")), bytes_rng,
				  &rng);
	if (rc != 0) {
		res = err(rc);
	} else {
		json_t *js = state_to_json(st);

		res = json_object();
		json_object_set_new(res, "pqr", jhex(pqr, 32));
		json_object_set_new(res, "state", js);
	}
	sotto_session_state_free(st);
	sotto_memzero(&id, sizeof(id));
	sotto_memzero(priv, sizeof(priv));
	free(rng.buf);
	return res;
}

static json_t *op_addresses(json_t *req)
{
	uint8_t a[36];
	json_t *res;
	int rc;

	rc = sotto_addresses_build(a, json_string_value(json_object_get(req, "sender")),
				   get_u32(req, "sender_device"),
				   json_string_value(json_object_get(req, "recipient")),
				   get_u32(req, "recipient_device"));
	if (rc != 0)
		return err(rc);
	res = json_object();
	json_object_set_new(res, "addresses", jhex(a, 36));
	return res;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (sotto_init() != 0)
		return 1;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_error_t e;
		json_t *req = json_loadb(line, (size_t)n, 0, &e), *res;
		const char *op;
		char *s;

		if (req == NULL) {
			res = err(SOTTO_ERR_INVALID_ARGUMENT);
		} else {
			op = json_string_value(json_object_get(req, "op"));
			if (op == NULL)
				res = err(SOTTO_ERR_INVALID_ARGUMENT);
			else if (strcmp(op, "encrypt") == 0)
				res = op_encrypt(req);
			else if (strcmp(op, "decrypt") == 0)
				res = op_decrypt(req);
			else if (strcmp(op, "respond") == 0)
				res = op_respond(req);
			else if (strcmp(op, "initiate") == 0)
				res = op_initiate(req);
			else if (strcmp(op, "addresses") == 0)
				res = op_addresses(req);
			else
				res = err(SOTTO_ERR_INVALID_ARGUMENT);
			json_decref(req);
		}
		s = json_dumps(res, JSON_COMPACT);
		json_decref(res);
		if (s == NULL)
			return 1;
		printf("%s\n", s);
		fflush(stdout);
		free(s);
	}
	free(line);
	return 0;
}
