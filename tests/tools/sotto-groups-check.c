/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Helper for tests/interop/test_groups_xcheck.mjs: sender keys, sealed
 * sender and fingerprints of libsotto, driven by JSON lines on stdin (one
 * answer line per request on stdout). Binary values are base64. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/fingerprint.h"
#include "sotto/group.h"
#include "sotto/sealed.h"
#include "testutil.h"

#define MAX_PARTIES 64

static struct {
	char name[64];
	sotto_sender_key_memstore *ms;
	sotto_sender_key_store tab;
} parties[MAX_PARTIES];
static size_t nparties;

static sotto_sender_key_store *party_store(const char *name)
{
	for (size_t i = 0; i < nparties; i++)
		if (strcmp(parties[i].name, name) == 0)
			return &parties[i].tab;
	if (nparties == MAX_PARTIES || strlen(name) >= sizeof parties[0].name)
		return NULL;
	snprintf(parties[nparties].name, sizeof parties[0].name, "%s", name);
	parties[nparties].ms = sotto_sender_key_memstore_new();
	if (parties[nparties].ms == NULL)
		return NULL;
	sotto_sender_key_memstore_table(parties[nparties].ms, &parties[nparties].tab);
	return &parties[nparties++].tab;
}

static json_t *b64(const uint8_t *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	json_t *j = json_string(s);
	free(s);
	return j;
}

/* Decodes field k of req; NULL (and *n = 0) if missing. */
static uint8_t *getb(json_t *req, const char *k, size_t *n)
{
	const char *s = json_string_value(json_object_get(req, k));
	*n = 0;
	if (s == NULL)
		return NULL;
	return tu_unbase64(s, n);
}

static int getfix(json_t *req, const char *k, uint8_t *out, size_t want)
{
	size_t n;
	uint8_t *b = getb(req, k, &n);
	int ok = b != NULL && n == want;
	if (ok)
		memcpy(out, b, n);
	free(b);
	return ok ? 0 : SOTTO_ERR_INVALID_ARGUMENT;
}

static uint64_t geti(json_t *req, const char *k)
{
	json_t *v = json_object_get(req, k);
	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v))
		return (uint64_t)json_real_value(v);
	return 0;
}

static const char *gets(json_t *req, const char *k)
{
	return json_string_value(json_object_get(req, k));
}

static json_t *usmc_json(const sotto_usmc *u)
{
	json_t *r = json_object();
	size_t n;
	const uint8_t *p = sotto_usmc_content(u, &n);
	json_object_set_new(r, "type", json_integer(sotto_usmc_type(u)));
	json_object_set_new(r, "content", b64(p, n));
	json_object_set_new(r, "hint", json_integer(sotto_usmc_content_hint(u)));
	p = sotto_usmc_group_id(u, &n);
	json_object_set_new(r, "group_id", p ? b64(p, n) : json_null());
	const sotto_sender_cert *c = sotto_usmc_sender(u);
	json_object_set_new(r, "sender_uuid", json_string(sotto_sender_cert_uuid(c, NULL)));
	json_object_set_new(r, "sender_device", json_integer(sotto_sender_cert_device(c)));
	p = sotto_usmc_serialized(u, &n);
	json_object_set_new(r, "usmc", b64(p, n));
	return r;
}

static int handle(json_t *req, json_t *res)
{
	const char *op = gets(req, "op");
	if (op == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	uint8_t dist[16], k1[33], k2[33], priv[32];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = SOTTO_ERR_INVALID_ARGUMENT;
	if (strcmp(op, "sk_create") == 0 || strcmp(op, "sk_encrypt") == 0) {
		sotto_sender_key_store *st = party_store(gets(req, "party"));
		if (st == NULL || getfix(req, "dist", dist, 16) != 0)
			return SOTTO_ERR_INVALID_ARGUMENT;
		uint32_t dev = (uint32_t)geti(req, "device");
		const char *me = gets(req, "sender");
		if (me == NULL)
			return SOTTO_ERR_INVALID_ARGUMENT;
		if (op[3] == 'c') {
			uint8_t out[SOTTO_SKDM_MAX_BYTES];
			rc = sotto_group_skdm_create(st, me, dev, dist, NULL, NULL, out, sizeof out,
						     &len);
			if (rc == 0)
				json_object_set_new(res, "skdm", b64(out, len));
		} else {
			size_t ptlen;
			uint8_t *pt = getb(req, "pt", &ptlen);
			size_t cap = SOTTO_GROUP_CIPHERTEXT_MAX(ptlen);
			buf = malloc(cap);
			rc = sotto_group_encrypt(st, me, dev, dist, NULL, NULL, pt, ptlen, buf, cap,
						 &len);
			if (rc == 0)
				json_object_set_new(res, "ct", b64(buf, len));
			free(pt);
		}
	} else if (strcmp(op, "sk_process") == 0 || strcmp(op, "sk_decrypt") == 0) {
		sotto_sender_key_store *st = party_store(gets(req, "party"));
		const char *sender = gets(req, "sender");
		if (st == NULL || sender == NULL)
			return SOTTO_ERR_INVALID_ARGUMENT;
		uint32_t dev = (uint32_t)geti(req, "device");
		size_t mlen;
		uint8_t *m = getb(req, "msg", &mlen);
		if (m == NULL)
			return SOTTO_ERR_INVALID_ARGUMENT;
		if (op[3] == 'p') {
			rc = sotto_group_skdm_process(st, sender, dev, m, mlen);
		} else {
			buf = malloc(mlen);
			rc = sotto_group_decrypt(st, sender, dev, m, mlen, buf, mlen, &len);
			if (rc == 0)
				json_object_set_new(res, "pt", b64(buf, len));
		}
		free(m);
	} else if (strcmp(op, "fingerprint") == 0) {
		size_t ll, rl;
		uint8_t *lid = getb(req, "local_id", &ll), *rid = getb(req, "remote_id", &rl);
		char disp[61];
		uint8_t sc[SOTTO_FINGERPRINT_SCANNABLE_MAX];
		if (getfix(req, "local_key", k1, 33) == 0 && getfix(req, "remote_key", k2, 33) == 0)
			rc = sotto_fingerprint_create(disp, sc, sizeof sc, &len,
						      (uint32_t)geti(req, "iterations"),
						      (uint32_t)geti(req, "version"), lid, ll, k1,
						      rid, rl, k2);
		if (rc == 0) {
			json_object_set_new(res, "display", json_string(disp));
			json_object_set_new(res, "scannable", b64(sc, len));
		}
		free(lid);
		free(rid);
	} else if (strcmp(op, "fp_compare") == 0) {
		size_t al, bl;
		uint8_t *a = getb(req, "a", &al), *b = getb(req, "b", &bl);
		int match = 0;
		if (a != NULL && b != NULL)
			rc = sotto_fingerprint_compare(a, al, b, bl, &match);
		if (rc == 0)
			json_object_set_new(res, "match", json_boolean(match));
		free(a);
		free(b);
	} else if (strcmp(op, "server_cert") == 0) {
		uint8_t out[256];
		if (getfix(req, "key", k1, 33) == 0 && getfix(req, "trust_priv", priv, 32) == 0)
			rc = sotto_server_cert_create((uint32_t)geti(req, "id"), k1, priv, NULL,
						      NULL, out, sizeof out, &len);
		if (rc == 0)
			json_object_set_new(res, "cert", b64(out, len));
	} else if (strcmp(op, "sender_cert") == 0) {
		size_t sl;
		uint8_t *sc = getb(req, "server_cert", &sl);
		uint8_t out[1024];
		if (sc != NULL && getfix(req, "key", k1, 33) == 0 &&
		    getfix(req, "server_priv", priv, 32) == 0 && gets(req, "uuid") != NULL)
			rc = sotto_sender_cert_create(gets(req, "uuid"), gets(req, "e164"),
						      (uint32_t)geti(req, "device"), k1,
						      geti(req, "expires"), sc, sl, priv, NULL, NULL,
						      out, sizeof out, &len);
		if (rc == 0)
			json_object_set_new(res, "cert", b64(out, len));
		free(sc);
	} else if (strcmp(op, "cert_validate") == 0) {
		size_t cl;
		uint8_t *c = getb(req, "cert", &cl);
		json_t *roots = json_object_get(req, "roots");
		size_t nr = json_array_size(roots);
		uint8_t(*r)[33] = calloc(nr ? nr : 1, 33);
		sotto_sender_cert *sc = NULL;
		rc = c ? sotto_sender_cert_parse(c, cl, &sc) : SOTTO_ERR_INVALID_ARGUMENT;
		for (size_t i = 0; rc == 0 && i < nr; i++) {
			size_t n;
			uint8_t *k = tu_unbase64(json_string_value(json_array_get(roots, i)), &n);
			if (k == NULL || n != 33)
				rc = SOTTO_ERR_INVALID_ARGUMENT;
			else
				memcpy(r[i], k, 33);
			free(k);
		}
		if (rc == 0) {
			int v = sotto_sender_cert_validate(sc, (const uint8_t(*)[33])r, nr,
							   geti(req, "now"));
			json_object_set_new(res, "valid", json_boolean(v == 0));
			json_object_set_new(res, "uuid", json_string(sotto_sender_cert_uuid(sc, NULL)));
			const char *e = sotto_sender_cert_e164(sc, NULL);
			json_object_set_new(res, "e164", e ? json_string(e) : json_null());
			json_object_set_new(res, "device", json_integer(sotto_sender_cert_device(sc)));
			json_object_set_new(res, "expires",
					    json_integer((json_int_t)sotto_sender_cert_expires(sc)));
		}
		sotto_sender_cert_free(sc);
		free(r);
		free(c);
	} else if (strcmp(op, "usmc_encode") == 0) {
		size_t cl, nl, gl;
		uint8_t *c = getb(req, "cert", &cl), *ct = getb(req, "content", &nl);
		uint8_t *g = getb(req, "group_id", &gl);
		buf = malloc(cl + nl + gl + 64);
		if (c != NULL && ct != NULL)
			rc = sotto_usmc_encode((int)geti(req, "type"), c, cl, ct, nl,
					       (uint32_t)geti(req, "hint"), g, gl, buf,
					       cl + nl + gl + 64, &len);
		if (rc == 0)
			json_object_set_new(res, "usmc", b64(buf, len));
		free(c);
		free(ct);
		free(g);
	} else if (strcmp(op, "v1_encrypt") == 0) {
		size_t ul;
		uint8_t *u = getb(req, "usmc", &ul);
		buf = malloc(SOTTO_SEALED_V1_MAX(ul));
		if (u != NULL && getfix(req, "recipient_key", k1, 33) == 0 &&
		    getfix(req, "sender_pub", k2, 33) == 0 && getfix(req, "sender_priv", priv, 32) == 0)
			rc = sotto_sealed_v1_encrypt(k1, k2, priv, u, ul, NULL, NULL, buf,
						     SOTTO_SEALED_V1_MAX(ul), &len);
		if (rc == 0)
			json_object_set_new(res, "msg", b64(buf, len));
		free(u);
	} else if (strcmp(op, "v2_encrypt") == 0) {
		size_t ul;
		uint8_t *u = getb(req, "usmc", &ul);
		json_t *rs = json_object_get(req, "recipients"), *ex = json_object_get(req, "excluded");
		size_t nr = json_array_size(rs), ne = json_array_size(ex);
		sotto_sealed_v2_recipient *r = calloc(nr ? nr : 1, sizeof(*r));
		uint8_t(*e)[17] = calloc(ne ? ne : 1, 17);
		rc = (u != NULL && getfix(req, "sender_pub", k2, 33) == 0 &&
		      getfix(req, "sender_priv", priv, 32) == 0)
			     ? 0
			     : SOTTO_ERR_INVALID_ARGUMENT;
		for (size_t i = 0; rc == 0 && i < nr; i++) {
			json_t *o = json_array_get(rs, i);
			r[i].device_id = (uint32_t)geti(o, "device");
			r[i].registration_id = (uint32_t)geti(o, "reg");
			if (getfix(o, "sid", r[i].service_id, 17) != 0 ||
			    getfix(o, "key", r[i].identity_key, 33) != 0)
				rc = SOTTO_ERR_INVALID_ARGUMENT;
		}
		for (size_t i = 0; rc == 0 && i < ne; i++) {
			size_t n;
			uint8_t *s = tu_unbase64(json_string_value(json_array_get(ex, i)), &n);
			if (s == NULL || n != 17)
				rc = SOTTO_ERR_INVALID_ARGUMENT;
			else
				memcpy(e[i], s, 17);
			free(s);
		}
		size_t cap = SOTTO_SEALED_V2_MAX(nr, ne, ul);
		buf = malloc(cap);
		if (rc == 0)
			rc = sotto_sealed_v2_encrypt(r, nr, (const uint8_t(*)[17])e, ne, k2, priv,
						     u, ul, NULL, NULL, buf, cap, &len);
		if (rc == 0)
			json_object_set_new(res, "msg", b64(buf, len));
		free(u);
		free(r);
		free(e);
	} else if (strcmp(op, "v2_split") == 0) {
		size_t ml;
		uint8_t *m = getb(req, "msg", &ml);
		uint8_t sid[17], devs[128];
		uint16_t regs[128];
		size_t nd = 0;
		buf = malloc(ml + 1);
		if (m != NULL && getfix(req, "sid", sid, 17) == 0)
			rc = sotto_sealed_v2_split(m, ml, sid, buf, ml + 1, &len, devs, regs, 128,
						   &nd);
		if (rc == 0) {
			json_object_set_new(res, "msg", b64(buf, len));
			json_t *d = json_array();
			for (size_t i = 0; i < nd && i < 128; i++) {
				json_t *o = json_object();
				json_object_set_new(o, "device", json_integer(devs[i]));
				json_object_set_new(o, "reg", json_integer(regs[i]));
				json_array_append_new(d, o);
			}
			json_object_set_new(res, "devices", d);
		}
		free(m);
	} else if (strcmp(op, "decrypt_to_usmc") == 0 || strcmp(op, "sealed_decrypt") == 0) {
		size_t ml;
		uint8_t *m = getb(req, "msg", &ml);
		sotto_usmc *u = NULL;
		if (m == NULL || getfix(req, "pub", k1, 33) != 0 || getfix(req, "priv", priv, 32) != 0) {
			free(m);
			return SOTTO_ERR_INVALID_ARGUMENT;
		}
		if (op[0] == 'd') {
			rc = sotto_sealed_decrypt_to_usmc(k1, priv, m, ml, &u);
		} else {
			uint8_t root[1][33];
			rc = getfix(req, "root", root[0], 33);
			if (rc == 0)
				rc = sotto_sealed_decrypt(
					k1, priv, (const uint8_t(*)[33])root, 1, geti(req, "now"),
					gets(req, "local_uuid"), gets(req, "local_e164"),
					(uint32_t)geti(req, "local_device"), m, ml, &u);
		}
		if (rc == 0)
			json_object_set_new(res, "usmc", usmc_json(u));
		sotto_usmc_free(u);
		free(m);
	} else {
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	free(buf);
	return rc;
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
		json_t *req = json_loads(line, 0, &err);
		json_t *res = json_object();
		int rc = req ? handle(req, res) : SOTTO_ERR_INVALID_ARGUMENT;
		json_object_set_new(res, "ok", json_boolean(rc == 0));
		if (rc != 0) {
			json_object_set_new(res, "error", json_string(sotto_error_code_name(rc)));
			json_object_set_new(res, "rc", json_integer(rc));
		}
		char *s = json_dumps(res, JSON_COMPACT);
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
		json_decref(res);
		json_decref(req);
	}
	free(line);
	for (size_t i = 0; i < nparties; i++)
		sotto_sender_key_memstore_free(parties[i].ms);
	return 0;
}
