/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sottod's configuration: defaults and the `key = value` file. */
#include "server/server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "wire/wire.h"

void sotto_server_config_defaults(sotto_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
	cfg->listen_port = 7878;
	cfg->registration_invite = 0;
	cfg->workers = 0;
	cfg->max_message = SOTTO_WIRE_DEFAULT_MAX_MESSAGE;
	cfg->max_envelope = SOTTO_WIRE_DEFAULT_MAX_ENVELOPE;
	cfg->max_queue_len = 10000;
	cfg->max_attachment = 100u * 1024 * 1024;
	cfg->device_rate = 2000;
	cfg->device_burst = 4000;
	cfg->addr_rate = 20000;
	cfg->addr_burst = 40000;
	cfg->max_connections = 100000;
	cfg->max_conns_per_addr = 10000;
	cfg->handshake_timeout_ms = 10000;
	cfg->auth_timeout_ms = 60000;
	cfg->drain_timeout_ms = 5000;
	cfg->max_write_pending = 16u * 1024 * 1024;
	cfg->max_inflight = 64;
	cfg->prekey_low = 10;
	cfg->store_batch_wait_us = 0;
}

int sotto_server_config_listen(sotto_server_config *cfg, const char *hp)
{
	const char *host = hp, *colon;
	size_t hostlen;

	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');
		if (end == NULL || end[1] != ':')
			return SOTTO_ERR_INVALID_ARGUMENT;
		host = hp + 1;
		hostlen = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL)
			return SOTTO_ERR_INVALID_ARGUMENT;
		hostlen = (size_t)(colon - hp);
	}
	if (hostlen == 0 || hostlen >= sizeof(cfg->listen_host))
		return SOTTO_ERR_INVALID_ARGUMENT;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port > 65535)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memcpy(cfg->listen_host, host, hostlen);
	cfg->listen_host[hostlen] = '\0';
	cfg->listen_port = (uint16_t)port;
	return 0;
}

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*v == '-' || *v == '\0')
		return -1;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || x > max)
		return -1;
	*out = x;
	return 0;
}

static int parse_rate(const char *v, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno != 0 || *end != '\0' || end == v || !(x > 0) || x > 1e9)
		return -1;
	*out = x;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

#define U(name, maxv, field, type)                                            \
	if (strcmp(k, name) == 0) {                                          \
		if (parse_u64(v, (maxv), &u) != 0)                           \
			goto bad;                                            \
		cfg->field = (type)u;                                        \
		continue;                                                    \
	}
#define R(name, field)                                                        \
	if (strcmp(k, name) == 0) {                                          \
		if (parse_rate(v, &cfg->field) != 0)                         \
			goto bad;                                            \
		continue;                                                    \
	}

int sotto_server_config_load(sotto_server_config *cfg, const char *path, char *err,
	size_t errcap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return SOTTO_ERR_NOT_FOUND;
	}
	char line[512];
	unsigned lineno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *s = trim(line);
		if (*s == '\0')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL)
			goto bad;
		*eq = '\0';
		char *k = trim(s), *v = trim(eq + 1);
		uint64_t u;
		if (strcmp(k, "listen") == 0) {
			if (sotto_server_config_listen(cfg, v) != 0)
				goto bad;
			continue;
		}
		if (strcmp(k, "registration") == 0) {
			if (strcmp(v, "open") == 0)
				cfg->registration_invite = 0;
			else if (strcmp(v, "invite") == 0)
				cfg->registration_invite = 1;
			else
				goto bad;
			continue;
		}
		U("workers", 256, workers, unsigned)
		U("max_message", SOTTO_WIRE_HARD_MAX_MESSAGE, max_message, size_t)
		U("max_envelope", SOTTO_WIRE_HARD_MAX_MESSAGE, max_envelope, size_t)
		U("max_queue_len", 10000000, max_queue_len, uint32_t)
		U("max_attachment", UINT64_C(1) << 40, max_attachment, uint64_t)
		U("max_connections", 10000000, max_connections, size_t)
		U("max_conns_per_addr", 10000000, max_conns_per_addr, size_t)
		U("handshake_timeout_ms", 3600000, handshake_timeout_ms, unsigned)
		U("auth_timeout_ms", 86400000, auth_timeout_ms, unsigned)
		U("drain_timeout_ms", 3600000, drain_timeout_ms, unsigned)
		U("max_write_pending", UINT64_C(1) << 32, max_write_pending, size_t)
		U("max_inflight", 100000, max_inflight, unsigned)
		U("prekey_low", 100000, prekey_low, uint32_t)
		U("store_batch_wait_us", 1000000, store_batch_wait_us, unsigned)
		R("device_rate", device_rate)
		R("device_burst", device_burst)
		R("addr_rate", addr_rate)
		R("addr_burst", addr_burst)
bad:
		snprintf(err, errcap, "%s:%u: bad or unknown setting", path, lineno);
		fclose(f);
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	fclose(f);
	/* An envelope must fit in a message with room for its fields. */
	if (cfg->max_envelope == 0 || cfg->max_message < cfg->max_envelope + 4096 ||
		cfg->max_inflight == 0 || cfg->workers > 256 || cfg->max_queue_len == 0) {
		snprintf(err, errcap, "%s: max_message must exceed max_envelope by 4096, "
			"max_inflight and max_queue_len must be > 0", path);
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sotto_server_b64(const uint8_t *in, size_t len, int url, char *out, size_t cap)
{
	const char *a = url ? B64URL : B64;
	size_t need = url ? (len * 4 + 2) / 3 : (len + 2) / 3 * 4;
	if (cap < need + 1)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = a[(v >> 6) & 63];
		else if (!url)
			out[o++] = '=';
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return 0;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int sotto_server_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0, n = strlen(in);
	while (n > 0 && in[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return -1; /* a dangling character or non-zero padding bits */
	*outlen = o;
	return 0;
}
