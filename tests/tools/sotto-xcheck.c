/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Line-oriented oracle helper for tests/interop/test_crypto_xcheck.mjs: one
 * JSON object per line on stdin, one JSON object per line on stdout. Byte
 * strings are lowercase hex.
 *   {"op":"keypair"}                              -> {"priv","pub"}   (pub: 32-byte u)
 *   {"op":"sign","priv","msg"[,"random"]}         -> {"sig"}
 *   {"op":"verify","pub" (32 or 33 bytes),"msg","sig"} -> {"ok":bool,"rc":int}
 *   {"op":"hkdf","salt"|null,"ikm","info","len"}  -> {"okm"}
 *   {"op":"agree","priv","pub" (32 or 33)}        -> {"shared"} or {"error":name,"rc"}
 * Malformed requests give {"error":"bad_request"}. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"
#include "testutil.h"

static char *hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	if (s == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static void set_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *s = hex(p, n);
	json_object_set_new(o, k, json_string(s));
	free(s);
}

/* Decodes field k; NULL if missing or malformed. */
static uint8_t *field(json_t *req, const char *k, size_t *len)
{
	const char *s = json_string_value(json_object_get(req, k));
	return s ? tu_unhex(s, len) : NULL;
}

/* A public key given as 32 bytes or as libsignal's 33-byte 0x05 || u. */
static int pub_u(uint8_t u[32], const uint8_t *p, size_t n)
{
	if (n == 32) {
		memcpy(u, p, 32);
		return 0;
	}
	if (n == 33 && p[0] == SOTTO_CURVE_KEY_TYPE_DJB) {
		memcpy(u, p + 1, 32);
		return 0;
	}
	return -1;
}

static json_t *handle(json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	json_t *out = json_object();
	size_t n1 = 0, n2 = 0, n3 = 0, n4 = 0;
	uint8_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	int bad = 0;
	if (op == NULL) {
		bad = 1;
	} else if (strcmp(op, "keypair") == 0) {
		uint8_t pub[32], priv[32];
		if (sotto_x25519_keypair(pub, priv) != 0) {
			bad = 1;
		} else {
			set_hex(out, "priv", priv, 32);
			set_hex(out, "pub", pub, 32);
		}
		sotto_memzero(priv, sizeof priv);
	} else if (strcmp(op, "sign") == 0) {
		uint8_t sig[64], z[64];
		a = field(req, "priv", &n1);
		b = field(req, "msg", &n2);
		c = field(req, "random", &n3);
		if (c == NULL && sotto_random(z, 64) != 0)
			bad = 1;
		else if (c != NULL && n3 == 64)
			memcpy(z, c, 64);
		else if (c != NULL)
			bad = 1;
		if (!bad && a && b && n1 == 32 && sotto_xeddsa_sign(sig, a, b, n2, z) == 0)
			set_hex(out, "sig", sig, 64);
		else
			bad = 1;
	} else if (strcmp(op, "verify") == 0) {
		a = field(req, "pub", &n1);
		b = field(req, "msg", &n2);
		c = field(req, "sig", &n3);
		if (a && b && c) {
			int rc = sotto_xeddsa_verify_buf(a, n1, b, n2, c, n3);
			json_object_set_new(out, "ok", json_boolean(rc == 0));
			json_object_set_new(out, "rc", json_integer(rc));
		} else {
			bad = 1;
		}
	} else if (strcmp(op, "hkdf") == 0) {
		json_t *salt = json_object_get(req, "salt");
		a = (salt && !json_is_null(salt)) ? field(req, "salt", &n1) : NULL;
		b = field(req, "ikm", &n2);
		c = field(req, "info", &n3);
		json_int_t len = json_integer_value(json_object_get(req, "len"));
		if ((salt && !json_is_null(salt) && a == NULL) || b == NULL || c == NULL || len <= 0 ||
		    len > 255 * 32) {
			bad = 1;
		} else {
			n4 = (size_t)len;
			d = malloc(n4);
			if (d && sotto_hkdf_sha256(d, n4, a, n1, b, n2, c, n3) == 0)
				set_hex(out, "okm", d, n4);
			else
				bad = 1;
		}
	} else if (strcmp(op, "agree") == 0) {
		uint8_t u[32], shared[32];
		a = field(req, "priv", &n1);
		b = field(req, "pub", &n2);
		if (a && b && n1 == 32 && pub_u(u, b, n2) == 0) {
			int rc = sotto_x25519(shared, a, u);
			if (rc == 0)
				set_hex(out, "shared", shared, 32);
			else {
				json_object_set_new(out, "error",
						    json_string(sotto_error_code_name(rc)));
				json_object_set_new(out, "rc", json_integer(rc));
			}
		} else {
			bad = 1;
		}
	} else {
		bad = 1;
	}
	if (bad) {
		json_object_clear(out);
		json_object_set_new(out, "error", json_string("bad_request"));
	}
	free(a);
	free(b);
	free(c);
	free(d);
	return out;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	if (sotto_init() != 0)
		return 1;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (n == 1 && line[0] == '\n')
			continue;
		json_error_t err;
		json_t *req = json_loads(line, 0, &err);
		json_t *out = req ? handle(req) : json_pack("{s:s}", "error", "bad_json");
		char *s = json_dumps(out, JSON_COMPACT);
		if (s == NULL)
			return 1;
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
		json_decref(out);
		json_decref(req);
	}
	free(line);
	return 0;
}
