/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-driver: JSON lines in, JSON lines out (shared/docs/DRIVER.md).
 * This file: the read loop, the dispatch table, and the request helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver.h"

int drv_fail(drv_err *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int drv_fail_rc(drv_err *err, int rc, const char *what)
{
	return drv_fail(err, sotto_error_code_name(rc), "%s: %s", what, sotto_strerror(rc));
}

uint64_t drv_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- fields ------------------------------------------------------------- */

int drv_present(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return v != NULL && !json_is_null(v);
}

int drv_str(json_t *o, const char *name, const char **out, drv_err *err)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL)
		return drv_fail(err, "invalid_argument", "missing field \"%s\"", name);
	if (!json_is_string(v))
		return drv_fail(err, "invalid_argument", "field \"%s\" must be a string", name);
	*out = json_string_value(v);
	return 0;
}

int drv_int(json_t *o, const char *name, int64_t min, int64_t max, int64_t *out, drv_err *err)
{
	json_t *v = json_object_get(o, name);
	int64_t x;

	if (v == NULL)
		return drv_fail(err, "invalid_argument", "missing field \"%s\"", name);
	if (json_is_integer(v)) {
		x = (int64_t)json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);

		/* JSON has one number type: 3.0 is the integer 3. */
		if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != (double)(int64_t)d)
			goto bad;
		x = (int64_t)d;
	} else {
		goto bad;
	}
	if (x < min || x > max)
		goto bad;
	*out = x;
	return 0;
bad:
	return drv_fail(err, "invalid_argument", "field \"%s\" must be an integer in %lld..%lld",
			name, (long long)min, (long long)max);
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 with padding, as the libsignal driver accepts it (groups
 * of four; "==" or "=" only at the end). */
static int b64_decode(const char *s, uint8_t **out, size_t *outlen)
{
	size_t n = strlen(s), i, o = 0;
	uint8_t *buf;

	if (n % 4 != 0)
		return -1;
	buf = malloc(n / 4 * 3 + 1);
	if (buf == NULL)
		return -1;
	for (i = 0; i < n; i += 4) {
		int a = b64val(s[i]), b = b64val(s[i + 1]), c, d;
		int last = i + 4 == n;

		if (a < 0 || b < 0)
			goto bad;
		c = s[i + 2] == '=' && last ? -2 : b64val(s[i + 2]);
		d = s[i + 3] == '=' && last ? -2 : b64val(s[i + 3]);
		if (c == -1 || d == -1 || (c == -2 && d != -2))
			goto bad;
		buf[o++] = (uint8_t)(a << 2 | b >> 4);
		if (c >= 0)
			buf[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
		if (d >= 0)
			buf[o++] = (uint8_t)((c & 3) << 6 | d);
	}
	*out = buf;
	*outlen = o;
	return 0;
bad:
	free(buf);
	return -1;
}

static char *b64_encode(const uint8_t *p, size_t n)
{
	static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = malloc((n + 2) / 3 * 4 + 1), *o = s;
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = T[p[i] >> 2];
		*o++ = T[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = T[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		*o++ = T[p[i + 2] & 63];
	}
	if (n - i == 1) {
		*o++ = T[p[i] >> 2];
		*o++ = T[(p[i] & 3) << 4];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		*o++ = T[p[i] >> 2];
		*o++ = T[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = T[(p[i + 1] & 15) << 2];
		*o++ = '=';
	}
	*o = '\0';
	return s;
}

int drv_bytes(json_t *o, const char *name, uint8_t **out, size_t *len, drv_err *err)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	*len = 0;
	if (v == NULL)
		return drv_fail(err, "invalid_argument", "missing field \"%s\"", name);
	if (!json_is_string(v) || b64_decode(json_string_value(v), out, len) != 0)
		return drv_fail(err, "invalid_argument", "field \"%s\" must be base64", name);
	return 0;
}

void drv_free_bytes(uint8_t *p, size_t len)
{
	if (p != NULL) {
		sotto_memzero(p, len);
		free(p);
	}
}

int drv_set_b64(json_t *res, const char *name, const uint8_t *p, size_t len, drv_err *err)
{
	char *s = b64_encode(p, len);

	if (s == NULL || json_object_set_new(res, name, json_string(s)) != 0) {
		free(s);
		return drv_fail(err, "internal", "out of memory");
	}
	free(s);
	return 0;
}

int drv_pubkey(json_t *o, const char *name, uint8_t out[SOTTO_EC_PUBLIC_BYTES], drv_err *err)
{
	uint8_t *b;
	size_t n;
	int rc;

	if (drv_bytes(o, name, &b, &n, err) != 0)
		return -1;
	rc = sotto_ec_public_decode(out, b, n);
	drv_free_bytes(b, n);
	if (rc != 0)
		return drv_fail(err, "invalid_key", "%s: bad public key", name);
	return 0;
}

int drv_parse_uuid(const char *s, uint8_t out[16])
{
	size_t i, o = 0;

	if (strlen(s) != 36)
		return -1;
	for (i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			i++;
			continue;
		}
		hi = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
		     : (s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f' ? (s[i] | 0x20) - 'a' + 10
								     : -1;
		lo = s[i + 1] >= '0' && s[i + 1] <= '9' ? s[i + 1] - '0'
		     : (s[i + 1] | 0x20) >= 'a' && (s[i + 1] | 0x20) <= 'f'
			     ? (s[i + 1] | 0x20) - 'a' + 10
			     : -1;
		if (hi < 0 || lo < 0 || i + 1 == 8 || i + 1 == 13 || i + 1 == 18 || i + 1 == 23)
			return -1;
		out[o++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return o == 16 ? 0 : -1;
}

int drv_uuid(json_t *o, const char *name, uint8_t out[16], drv_err *err)
{
	const char *s;

	if (drv_str(o, name, &s, err) != 0)
		return -1;
	if (drv_parse_uuid(s, out) != 0)
		return drv_fail(err, "invalid_argument", "field \"%s\" must be a UUID string", name);
	return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

static const drv_op *const tables[] = {
	drv_party_ops, drv_session_ops, drv_group_ops, drv_fingerprint_ops, drv_sealed_ops,
};

static const drv_op *find_op(const char *name)
{
	size_t t;
	const drv_op *op;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (op = tables[t]; op->name != NULL; op++)
			if (strcmp(op->name, name) == 0)
				return op;
	return NULL;
}

static json_t *handle(const char *line)
{
	json_error_t jerr;
	json_t *req, *res, *id = NULL, *opv;
	const drv_op *op = NULL;
	drv_err err;

	memset(&err, 0, sizeof(err));
	res = json_object();
	if (res == NULL)
		return NULL;
	req = json_loads(line, JSON_DECODE_ANY, &jerr);
	if (req == NULL) {
		drv_fail(&err, "invalid_argument", "bad JSON: %s", jerr.text);
		goto fail;
	}
	if (!json_is_object(req)) {
		drv_fail(&err, "invalid_argument", "request is not a JSON object");
		goto fail;
	}
	id = json_object_get(req, "id");
	opv = json_object_get(req, "op");
	if (json_is_string(opv))
		op = find_op(json_string_value(opv));
	if (op == NULL) {
		drv_fail(&err, "invalid_argument", "unknown op");
		goto fail;
	}
	json_object_set(res, "id", id ? id : json_null());
	json_object_set_new(res, "ok", json_true());
	if (op->fn(req, res, &err) == 0) {
		json_decref(req);
		return res;
	}
fail:
	json_decref(res);
	res = json_object();
	if (res != NULL) {
		json_object_set(res, "id", id ? id : json_null());
		json_object_set_new(res, "ok", json_false());
		json_object_set_new(res, "error", json_string(err.code ? err.code : "internal"));
		json_object_set_new(res, "message", json_string(err.msg));
	}
	json_decref(req);
	return res;
}

static int is_blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return 0;
	return 1;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (sotto_init() != 0) {
		fprintf(stderr, "sotto-driver: sotto_init failed\n");
		return 1;
	}
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		json_t *res;
		char *out;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (is_blank(line))
			continue;
		res = handle(line);
		out = res ? json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
			  : NULL;
		if (out == NULL) {
			fputs("{\"id\":null,\"ok\":false,\"error\":\"internal\",\"message\":\"out of "
			      "memory\"}\n",
			      stdout);
		} else {
			fputs(out, stdout);
			fputc('\n', stdout);
			free(out);
		}
		json_decref(res);
		fflush(stdout);
	}
	free(line);
	drv_parties_free();
	return 0;
}
