/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-spqr-check: runs Sotto's SPQR building blocks on data observed in real
 * libsignal sessions (tests/interop/test_spqr_blocks.mjs). One JSON request
 * per stdin line, one JSON answer per stdout line.
 *
 *   {"op":"msg","hex":H}
 *     -> {"ok":1,"epoch","index","type","chunk_index","chunk","consumed","reencoded"}
 *        or {"ok":0,"error":code}
 *   {"op":"erasure","len":N,"chunks":[[index,hex],...]}
 *     -> {"ok":1,"complete":bool,"message":hex|null,"mismatch":[index,...]}
 *        mismatch lists the given chunks our encoder of the decoded message
 *        does not reproduce byte for byte.
 *   {"op":"auth","auth_key":hex,"updates":[[epoch,hex],...],"epoch":e,
 *    "hdr":hex?,"ct1":hex?,"ct2":hex?}
 *     -> {"ok":1,"states":[[root,mac],...],"mac_hdr":hex?,"mac_ct":hex?}
 *        states[0] is after init, states[k] after the k-th update.
 *   {"op":"scka","dk":hex,"ct":hex,"epoch":e}
 *     -> {"ok":1,"secret":hex}   HKDF(0, ML-KEM-768.Decaps(dk, ct), "...SCKA Key" || BE64(e), 32)
 *   {"op":"party","auth_key":hex,"dir":d,"secrets":[hex,...],
 *    "ops":[["send",E] | ["recv",E,i] | ["add"], ...]}
 *     -> {"ok":1,"results":[...],"state":{...}}
 *        "add" adds the next secret. send results are [index,keyhex], recv
 *        results keyhex or null (no key) or {"error":code,"why":n}. After
 *        every op the chain is serialized, parsed back and serialized again,
 *        and must come out byte-identical. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/gf16.h"
#include "protocol/spqr.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/kem.h"
#include "sotto/util.h"
#include "testutil.h"

static char *hexstr(const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	if (s == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = d[b[i] >> 4];
		s[2 * i + 1] = d[b[i] & 15];
	}
	s[2 * n] = 0;
	return s;
}

static json_t *jhex(const uint8_t *b, size_t n)
{
	char *s = hexstr(b, n);
	json_t *j = json_string(s);
	free(s);
	return j;
}

static json_t *fail(const char *why)
{
	return json_pack("{s:i,s:s}", "ok", 0, "error", why);
}

/* Decodes a hex string member; NULL if absent or malformed. */
static uint8_t *get_hex(json_t *obj, const char *key, size_t *len)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? tu_unhex(s, len) : NULL;
}

static json_t *op_msg(json_t *req)
{
	size_t len, consumed, outlen;
	uint8_t *in = get_hex(req, "hex", &len);
	uint8_t out[SOTTO_SPQR_MSG_MAX_BYTES];
	sotto_spqr_msg m;
	json_t *res;

	if (in == NULL)
		return fail("bad hex");
	int rc = sotto__spqr_msg_decode(&m, in, len, &consumed);
	free(in);
	if (rc != 0)
		return fail(sotto_error_code_name(rc));
	if (sotto__spqr_msg_encode(&m, out, sizeof out, &outlen) != 0)
		return fail("re-encode failed");
	res = json_pack("{s:i,s:I,s:I,s:i,s:i,s:I,s:o}", "ok", 1, "epoch", (json_int_t)m.epoch,
			"index", (json_int_t)m.index, "type", m.type, "chunk_index", m.chunk_index,
			"consumed", (json_int_t)consumed, "reencoded", jhex(out, outlen));
	json_object_set_new(res, "chunk",
			    sotto__spqr_msg_has_chunk(m.type) ? jhex(m.chunk, 32) : json_null());
	return res;
}

static json_t *op_erasure(json_t *req)
{
	size_t len = (size_t)json_integer_value(json_object_get(req, "len"));
	json_t *chunks = json_object_get(req, "chunks");
	sotto_gf16_decoder *dec = malloc(sizeof *dec);
	sotto_gf16_encoder *enc = malloc(sizeof *enc);
	uint8_t *msg = malloc(len ? len : 1);
	json_t *res = NULL, *mismatch = json_array();
	size_t i;
	json_t *c;

	if (dec == NULL || enc == NULL || msg == NULL)
		abort();
	if (!json_is_array(chunks) || sotto__gf16_decoder_init(dec, len) != 0) {
		res = fail("bad request");
		goto out;
	}
	json_array_foreach (chunks, i, c) {
		size_t n;
		json_int_t idx = json_integer_value(json_array_get(c, 0));
		uint8_t *d = tu_unhex(json_string_value(json_array_get(c, 1)), &n);
		if (d == NULL || n != 32 || idx < 0 || idx > 65535) {
			free(d);
			res = fail("bad chunk");
			goto out;
		}
		sotto__gf16_decoder_add(dec, (uint16_t)idx, d);
		free(d);
	}
	if (!sotto__gf16_decoder_complete(dec)) {
		res = json_pack("{s:i,s:b,s:n,s:o}", "ok", 1, "complete", 0, "message", "mismatch",
				mismatch);
		mismatch = NULL;
		goto out;
	}
	if (sotto__gf16_decoder_finish(dec, msg, len) != 0 ||
	    sotto__gf16_encoder_init(enc, msg, len) != 0) {
		res = fail("finish failed");
		goto out;
	}
	json_array_foreach (chunks, i, c) {
		size_t n;
		uint8_t got[32];
		json_int_t idx = json_integer_value(json_array_get(c, 0));
		uint8_t *d = tu_unhex(json_string_value(json_array_get(c, 1)), &n);
		sotto__gf16_encoder_chunk(enc, (uint16_t)idx, got);
		if (d == NULL || memcmp(got, d, 32) != 0)
			json_array_append_new(mismatch, json_integer(idx));
		free(d);
	}
	res = json_pack("{s:i,s:b,s:o,s:o}", "ok", 1, "complete", 1, "message", jhex(msg, len),
			"mismatch", mismatch);
	mismatch = NULL;
out:
	json_decref(mismatch);
	free(dec);
	free(enc);
	free(msg);
	return res;
}

static json_t *auth_state(const sotto_spqr_auth *a)
{
	return json_pack("[o,o]", jhex(a->root, 32), jhex(a->mac, 32));
}

static json_t *op_auth(json_t *req)
{
	size_t klen, n1 = 0, n2 = 0, i;
	uint8_t *key = get_hex(req, "auth_key", &klen);
	uint8_t *hdr, *ct1, *ct2, mac[32];
	sotto_spqr_auth a;
	json_t *states = json_array(), *u, *res;
	uint64_t epoch = (uint64_t)json_integer_value(json_object_get(req, "epoch"));

	if (key == NULL || sotto__spqr_auth_init(&a, key, klen) != 0) {
		free(key);
		json_decref(states);
		return fail("init");
	}
	free(key);
	json_array_append_new(states, auth_state(&a));
	json_array_foreach (json_object_get(req, "updates"), i, u) {
		size_t n;
		uint8_t *k = tu_unhex(json_string_value(json_array_get(u, 1)), &n);
		uint64_t e = (uint64_t)json_integer_value(json_array_get(u, 0));
		if (k == NULL || sotto__spqr_auth_update(&a, e, k, n) != 0) {
			free(k);
			json_decref(states);
			return fail("update");
		}
		free(k);
		json_array_append_new(states, auth_state(&a));
	}
	res = json_pack("{s:i,s:o}", "ok", 1, "states", states);
	if ((hdr = get_hex(req, "hdr", &n1)) != NULL) {
		if (sotto__spqr_auth_mac_hdr(&a, epoch, hdr, n1, mac) == 0)
			json_object_set_new(res, "mac_hdr", jhex(mac, 32));
		free(hdr);
	}
	ct1 = get_hex(req, "ct1", &n1);
	ct2 = get_hex(req, "ct2", &n2);
	if (ct1 != NULL && ct2 != NULL && sotto__spqr_auth_mac_ct(&a, epoch, ct1, n1, ct2, n2, mac) == 0)
		json_object_set_new(res, "mac_ct", jhex(mac, 32));
	free(ct1);
	free(ct2);
	sotto__spqr_auth_clear(&a);
	return res;
}

static json_t *op_scka(json_t *req)
{
	static const char label[] = "Signal_PQCKA_V1_MLKEM768:SCKA Key";
	size_t dkn, ctn;
	uint8_t *dk = get_hex(req, "dk", &dkn), *ct = get_hex(req, "ct", &ctn);
	uint64_t e = (uint64_t)json_integer_value(json_object_get(req, "epoch"));
	uint8_t ss[32], out[32], info[sizeof label - 1 + 8];
	json_t *res;

	memcpy(info, label, sizeof label - 1);
	for (int i = 0; i < 8; i++)
		info[sizeof label - 1 + (size_t)i] = (uint8_t)(e >> (56 - 8 * i));
	if (dk == NULL || ct == NULL || dkn != SOTTO_MLKEM768_DK_BYTES ||
	    ctn != SOTTO_MLKEM768_CT_BYTES || sotto_mlkem768_decaps(ss, ct, dk) != 0 ||
	    sotto_hkdf_sha256(out, 32, NULL, 0, ss, 32, info, sizeof info) != 0)
		res = fail("scka");
	else
		res = json_pack("{s:i,s:o}", "ok", 1, "secret", jhex(out, 32));
	free(dk);
	free(ct);
	return res;
}

/* Serialize, parse, serialize again; replaces *c with the parsed copy so the
 * rest of the run exercises restored state. */
static int roundtrip(sotto_spqr_chain **c)
{
	size_t n = sotto__spqr_chain_serialized_size(*c), n1, n2;
	uint8_t *a = malloc(n), *b = malloc(n);
	sotto_spqr_chain *d = NULL;
	int ok = 0;

	if (a == NULL || b == NULL)
		abort();
	if (sotto__spqr_chain_serialize(*c, a, n, &n1) == 0 && n1 == n &&
	    sotto__spqr_chain_deserialize(&d, a, n1) == 0 &&
	    sotto__spqr_chain_serialize(d, b, n, &n2) == 0 && n2 == n1 && memcmp(a, b, n) == 0)
		ok = 1;
	if (ok) {
		sotto__spqr_chain_free(*c);
		*c = d;
	} else {
		sotto__spqr_chain_free(d);
	}
	free(a);
	free(b);
	return ok;
}

/* Reads the chain's storage bytes back into JSON, through the public
 * serialization format documented in spqr.h. */
static json_t *dump_state(const sotto_spqr_chain *c)
{
	size_t n = sotto__spqr_chain_serialized_size(c), len;
	uint8_t *b = malloc(n);
	json_t *links = json_array(), *st;
	const uint8_t *p;

	if (b == NULL || sotto__spqr_chain_serialize(c, b, n, &len) != 0)
		abort();
	p = b + 2 + 8;
	uint64_t cur = 0, send = 0;
	for (int i = 0; i < 8; i++)
		cur = cur << 8 | p[i];
	for (int i = 0; i < 8; i++)
		send = send << 8 | p[8 + i];
	p += 16;
	st = json_pack("{s:I,s:I,s:o}", "current_epoch", (json_int_t)cur, "send_epoch",
		       (json_int_t)send, "next_root", jhex(p, 32));
	p += 32;
	uint32_t nl = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	p += 4;
	for (uint32_t l = 0; l < nl; l++) {
		json_t *link = json_object();
		for (int side = 0; side < 2; side++) {
			uint8_t flags = *p++;
			uint32_t ctr = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
				       (uint32_t)p[2] << 8 | p[3];
			p += 4;
			json_t *ds = json_pack("{s:I}", "ctr", (json_int_t)ctr);
			json_object_set_new(ds, "next", flags ? jhex(p, 32) : json_null());
			p += flags ? 32 : 0;
			uint32_t nk = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
				      (uint32_t)p[2] << 8 | p[3];
			p += 4;
			json_t *keys = json_array();
			for (uint32_t k = 0; k < nk; k++) {
				uint32_t idx = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
					       (uint32_t)p[2] << 8 | p[3];
				json_array_append_new(keys, json_pack("[I,o]", (json_int_t)idx,
								      jhex(p + 4, 32)));
				p += 36;
			}
			json_object_set_new(ds, "keys", keys);
			json_object_set_new(link, side == 0 ? "send" : "recv", ds);
		}
		json_array_append_new(links, link);
	}
	json_object_set_new(st, "links", links);
	free(b);
	return st;
}

static json_t *op_party(json_t *req)
{
	size_t klen, i, next_secret = 0;
	uint8_t *key = get_hex(req, "auth_key", &klen);
	int dir = (int)json_integer_value(json_object_get(req, "dir"));
	json_t *secrets = json_object_get(req, "secrets"), *results = json_array(), *op;
	sotto_spqr_chain *c = NULL;
	json_t *res = NULL;

	if (key == NULL ||
	    sotto__spqr_chain_new(&c, key, klen, (enum sotto_spqr_direction)dir, 0, 0) != 0) {
		res = fail("chain_new");
		goto out;
	}
	json_array_foreach (json_object_get(req, "ops"), i, op) {
		const char *what = json_string_value(json_array_get(op, 0));
		uint64_t e = (uint64_t)json_integer_value(json_array_get(op, 1));
		enum sotto_spqr_chain_why why;
		uint8_t k[32];
		int rc;

		if (what == NULL) {
			res = fail("bad op");
			goto out;
		}
		if (strcmp(what, "add") == 0) {
			size_t n;
			uint8_t *s = tu_unhex(json_string_value(json_array_get(secrets, next_secret)),
					      &n);
			rc = (s != NULL && n == 32)
				     ? sotto__spqr_chain_add_epoch(c, sotto__spqr_chain_current_epoch(c) + 1,
								   s)
				     : SOTTO_ERR_INVALID_ARGUMENT;
			free(s);
			next_secret++;
			json_array_append_new(results, json_integer(rc));
		} else if (strcmp(what, "send") == 0) {
			uint32_t idx;
			rc = sotto__spqr_chain_msg_send_key(c, e, &idx, k, &why);
			if (rc == 0)
				json_array_append_new(results,
						      json_pack("[I,o]", (json_int_t)idx, jhex(k, 32)));
			else
				json_array_append_new(results, json_pack("{s:s,s:i}", "error",
									 sotto_error_code_name(rc),
									 "why", (int)why));
		} else if (strcmp(what, "recv") == 0) {
			int has;
			uint32_t idx = (uint32_t)json_integer_value(json_array_get(op, 2));
			rc = sotto__spqr_chain_msg_recv_key(c, e, idx, k, &has, &why);
			if (rc != 0)
				json_array_append_new(results, json_pack("{s:s,s:i}", "error",
									 sotto_error_code_name(rc),
									 "why", (int)why));
			else
				json_array_append_new(results, has ? jhex(k, 32) : json_null());
		} else {
			res = fail("bad op");
			goto out;
		}
		if (!roundtrip(&c)) {
			res = fail("serialization does not round-trip");
			goto out;
		}
	}
	res = json_pack("{s:i,s:o,s:o}", "ok", 1, "results", results, "state", dump_state(c));
	results = NULL;
out:
	json_decref(results);
	sotto__spqr_chain_free(c);
	free(key);
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
		json_error_t err;
		json_t *req = json_loadb(line, (size_t)n, 0, &err), *res;
		const char *op = json_string_value(json_object_get(req, "op"));

		if (op == NULL)
			res = fail("bad json");
		else if (strcmp(op, "msg") == 0)
			res = op_msg(req);
		else if (strcmp(op, "erasure") == 0)
			res = op_erasure(req);
		else if (strcmp(op, "auth") == 0)
			res = op_auth(req);
		else if (strcmp(op, "scka") == 0)
			res = op_scka(req);
		else if (strcmp(op, "party") == 0)
			res = op_party(req);
		else
			res = fail("unknown op");
		json_decref(req);
		if (res == NULL)
			res = fail("internal");
		char *s = json_dumps(res, JSON_COMPACT);
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
