/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-spqr-braid: drives Sotto's SPQR state machine for
 * tests/interop/test_spqr_braid.mjs, which plays it against a real libsignal
 * 0.103 party. One JSON request per stdin line, one JSON answer per stdout
 * line (flushed, so the caller can converse with it).
 *
 *   {"op":"init","id":S,"auth_key":hex,"dir":0|1,"max_jump":n?,"seed":n?}
 *     -> {"ok":1}   seed: deterministic randomness (default: the OS RNG)
 *   {"op":"send","id":S}
 *     -> {"ok":1,"msg":hex,"key":hex,"state":n,"epoch":e,"chain_epoch":c}
 *   {"op":"recv","id":S,"msg":hex}
 *     -> {"ok":1,"key":hex|null,"state":n,"epoch":e,"chain_epoch":c}
 *        or {"ok":0,"error":code,"why":n,"unchanged":bool}
 *
 * After every operation the state is serialized, parsed back and serialized
 * again; the bytes must match ("ok":0,"error":"roundtrip" otherwise), and the
 * parsed copy carries on. On an error, "unchanged" tells whether the
 * serialized state is byte-identical to the one before the call. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/spqr_braid.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "testutil.h"

#define MAX_PARTIES 8

static struct party {
	char id[32];
	sotto_spqr_state *st;
	int seeded;
	uint64_t seed;
} parties[MAX_PARTIES];

static int seeded_rng(void *ctx, uint8_t *buf, size_t len)
{
	tu_randbytes((uint64_t *)ctx, buf, len);
	return 0;
}

static json_t *jhex(const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (s == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = d[b[i] >> 4];
		s[2 * i + 1] = d[b[i] & 15];
	}
	s[2 * n] = 0;
	j = json_string(s);
	free(s);
	return j;
}

/* A string member, or "" when absent. */
static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static json_t *fail(const char *why)
{
	return json_pack("{s:i,s:s}", "ok", 0, "error", why);
}

static uint8_t *ser(const sotto_spqr_state *st, size_t *len)
{
	size_t n = sotto__spqr_state_serialized_size(st);
	uint8_t *b = malloc(n ? n : 1);

	if (b == NULL)
		abort();
	if (sotto__spqr_state_serialize(st, b, n, len) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

/* Serialize, parse, serialize; the parsed copy replaces the state. */
static int roundtrip(struct party *p)
{
	size_t n1, n2;
	uint8_t *b1 = ser(p->st, &n1), *b2 = NULL;
	sotto_spqr_state *c = NULL;
	int ok = 0;

	if (b1 != NULL && sotto__spqr_state_deserialize(&c, b1, n1) == 0) {
		b2 = ser(c, &n2);
		ok = b2 != NULL && n1 == n2 && memcmp(b1, b2, n1) == 0;
	}
	if (ok) {
		sotto__spqr_state_free(p->st);
		p->st = c;
	} else {
		sotto__spqr_state_free(c);
	}
	free(b1);
	free(b2);
	return ok;
}

static struct party *find(json_t *req, int create)
{
	const char *id = json_string_value(json_object_get(req, "id"));

	if (id == NULL || strlen(id) >= sizeof parties[0].id)
		return NULL;
	for (int i = 0; i < MAX_PARTIES; i++)
		if (parties[i].st != NULL && strcmp(parties[i].id, id) == 0)
			return &parties[i];
	if (!create)
		return NULL;
	for (int i = 0; i < MAX_PARTIES; i++)
		if (parties[i].st == NULL) {
			strcpy(parties[i].id, id);
			return &parties[i];
		}
	return NULL;
}

static json_t *describe(json_t *res, const struct party *p)
{
	json_object_set_new(res, "state", json_integer(sotto__spqr_state_name(p->st)));
	json_object_set_new(res, "epoch", json_integer((json_int_t)sotto__spqr_state_epoch(p->st)));
	json_object_set_new(res, "chain_epoch",
			    json_integer((json_int_t)sotto__spqr_chain_current_epoch(
				    sotto__spqr_state_chain(p->st))));
	return res;
}

static json_t *op_init(json_t *req)
{
	struct party *p = find(req, 0);
	size_t klen;
	uint8_t *key;
	json_t *seed = json_object_get(req, "seed");
	int rc;

	if (p != NULL) {
		sotto__spqr_state_free(p->st);
		p->st = NULL;
	}
	if ((p = find(req, 1)) == NULL)
		return fail("bad id");
	key = tu_unhex(str(req, "auth_key"), &klen);
	if (key == NULL)
		return fail("bad auth_key");
	rc = sotto__spqr_initial_state(&p->st, key, klen,
				       (enum sotto_spqr_direction)json_integer_value(
					       json_object_get(req, "dir")),
				       (uint32_t)json_integer_value(json_object_get(req, "max_jump")),
				       0);
	free(key);
	if (rc != 0)
		return fail(sotto_error_code_name(rc));
	p->seeded = json_is_integer(seed);
	p->seed = p->seeded ? (uint64_t)json_integer_value(seed) : 0;
	return json_pack("{s:i}", "ok", 1);
}

static json_t *op_send(json_t *req)
{
	struct party *p = find(req, 0);
	uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], key[32];
	size_t len;
	int rc;
	json_t *res;

	if (p == NULL)
		return fail("no such party");
	rc = p->seeded ? sotto__spqr_send(p->st, seeded_rng, &p->seed, msg, &len, key)
		       : sotto__spqr_send(p->st, sotto_rng_system, NULL, msg, &len, key);
	if (rc != 0)
		return fail(sotto_error_code_name(rc));
	if (!roundtrip(p))
		return fail("roundtrip");
	res = json_pack("{s:i,s:o,s:o}", "ok", 1, "msg", jhex(msg, len), "key", jhex(key, 32));
	return describe(res, p);
}

static json_t *op_recv(json_t *req)
{
	struct party *p = find(req, 0);
	uint8_t *msg, key[32], *before, *after;
	size_t len, nb, na;
	enum sotto_spqr_chain_why why;
	int rc, hk;
	json_t *res;

	if (p == NULL)
		return fail("no such party");
	msg = tu_unhex(str(req, "msg"), &len);
	if (msg == NULL)
		return fail("bad msg");
	before = ser(p->st, &nb);
	rc = sotto__spqr_recv(p->st, msg, len, key, &hk, &why);
	free(msg);
	if (rc != 0) {
		after = ser(p->st, &na);
		res = json_pack("{s:i,s:s,s:i,s:b}", "ok", 0, "error", sotto_error_code_name(rc),
				"why", (int)why, "unchanged",
				before && after && nb == na && memcmp(before, after, nb) == 0);
		free(before);
		free(after);
		return res;
	}
	free(before);
	if (!roundtrip(p))
		return fail("roundtrip");
	res = json_pack("{s:i,s:o}", "ok", 1, "key", hk ? jhex(key, 32) : json_null());
	return describe(res, p);
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;

	if (sotto_init() != 0)
		return 1;
	while (getline(&line, &cap, stdin) > 0) {
		json_error_t err;
		json_t *req = json_loads(line, 0, &err), *res;
		const char *op = json_string_value(json_object_get(req, "op"));

		if (op == NULL)
			res = fail("bad request");
		else if (strcmp(op, "init") == 0)
			res = op_init(req);
		else if (strcmp(op, "send") == 0)
			res = op_send(req);
		else if (strcmp(op, "recv") == 0)
			res = op_recv(req);
		else
			res = fail("unknown op");
		char *out = json_dumps(res, JSON_COMPACT);
		if (out == NULL)
			abort();
		printf("%s\n", out);
		fflush(stdout);
		free(out);
		json_decref(res);
		json_decref(req);
	}
	free(line);
	for (int i = 0; i < MAX_PARTIES; i++)
		sotto__spqr_state_free(parties[i].st);
	return 0;
}
