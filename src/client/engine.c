/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Client engine: profiles, the server connection, registration, prekeys,
 * the name directory, contacts, safety numbers and devices. Messages are in
 * engine_msg.c, attachments in engine_attach.c, linking in engine_link.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/engine_internal.h"
#include "sotto/aead.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/fingerprint.h"
#include "sotto/hash.h"
#include "sotto/util.h"

/* protobuf-c's INIT macros and message structs use non-const pointers for
 * bytes we only pack. */
#pragma GCC diagnostic ignored "-Wcast-qual"

/* ---- small helpers ---- */

int sotto__eng_err(sotto_client *c, int rc, const char *fmt, ...)
{
	if (c != NULL && fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err, sizeof c->err, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static uint64_t sys_now(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sotto__eng_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sotto__eng_now(sotto_client *c)
{
	return c->clock(c->clock_ctx);
}

static uint64_t ls_clock(void *ctx)
{
	return sotto__eng_now(ctx);
}

void sotto__eng_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

void sotto__eng_uuid_str(const uint8_t id[16], char out[SOTTO_CLIENT_ACCOUNT_STR + 1])
{
	char h[33];
	sotto__eng_hex(id, 16, h);
	snprintf(out, SOTTO_CLIENT_ACCOUNT_STR + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
		h + 16, h + 20);
}

int sotto__eng_uuid_parse(const char *s, uint8_t id[16])
{
	size_t k = 0;
	int hi = -1;
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '-')
			continue;
		int d = unhex_digit(s[i]);
		if (d < 0 || k >= 16)
			return SOTTO_ERR_INVALID_ARGUMENT;
		if (hi < 0) {
			hi = d;
		} else {
			id[k++] = (uint8_t)(hi << 4 | d);
			hi = -1;
		}
	}
	return k == 16 && hi < 0 ? 0 : SOTTO_ERR_INVALID_ARGUMENT;
}

int sotto__eng_norm_name(const char *in, char out[SOTTO_CLIENT_NAME_MAX + 1])
{
	size_t n = in != NULL ? strlen(in) : 0;
	if (n < SOTTO_CLIENT_NAME_MIN || n > SOTTO_CLIENT_NAME_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
			    ch == '.'))
			return SOTTO_ERR_INVALID_ARGUMENT;
		out[i] = ch;
	}
	out[n] = '\0';
	return 0;
}

/* Base64 decoding of public values (server key, invite code): standard or
 * URL alphabet, padding optional. */
int sotto__eng_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (size_t i = 0; in[i] != '\0' && in[i] != '='; i++) {
		char ch = in[i];
		int v;
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+' || ch == '-')
			v = 62;
		else if (ch == '/' || ch == '_')
			v = 63;
		else
			return SOTTO_ERR_INVALID_ARGUMENT;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return SOTTO_ERR_INVALID_ARGUMENT;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = n;
	return 0;
}

int sotto_client_parse_server_key(const char *b64, uint8_t key[SOTTO_CLIENT_SERVER_KEY_BYTES])
{
	uint8_t buf[48];
	size_t n;
	if (b64 == NULL || key == NULL || sotto__eng_b64_decode(b64, buf, sizeof buf, &n) != 0 ||
		n != 32)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memcpy(key, buf, 32);
	return 0;
}

static int parse_server(const char *server, char host[64], uint16_t *port)
{
	const char *colon = strrchr(server, ':');
	if (colon == NULL || colon == server)
		return SOTTO_ERR_INVALID_ARGUMENT;
	const char *h = server;
	size_t hl = (size_t)(colon - server);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= 64)
		return SOTTO_ERR_INVALID_ARGUMENT;
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p == 0 || p > 65535)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* ---- kv helpers ---- */

int sotto__eng_kv_put_u64(sotto_client *c, const char *key, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	return sotto_lstore_kv_put(c->ls, ENG_NS, (const uint8_t *)key, strlen(key), b, 8);
}

int sotto__eng_kv_get_u64(sotto_client *c, const char *key, uint64_t *v)
{
	uint8_t *b = NULL;
	size_t n = 0;
	int rc = sotto_lstore_kv_get(c->ls, ENG_NS, (const uint8_t *)key, strlen(key), &b, &n);
	if (rc != 0)
		return rc;
	if (n != 8) {
		free(b);
		return SOTTO_ERR_STORAGE;
	}
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = *v << 8 | b[i];
	free(b);
	return 0;
}

int sotto__eng_kv_put_str(sotto_client *c, const char *ns, const char *key, const void *val,
	size_t len)
{
	return sotto_lstore_kv_put(c->ls, ns, (const uint8_t *)key, strlen(key), val, len);
}

/* Reads a kv value of exactly n bytes (or a string up to cap-1 when
 * is_str). */
static int kv_get_fixed(sotto_client *c, const char *ns, const uint8_t *key, size_t keylen,
	void *out, size_t n, int is_str)
{
	uint8_t *b = NULL;
	size_t len = 0;
	int rc = sotto_lstore_kv_get(c->ls, ns, key, keylen, &b, &len);
	if (rc != 0)
		return rc;
	if (is_str ? len >= n : len != n) {
		sotto_memzero(b, len);
		free(b);
		return SOTTO_ERR_STORAGE;
	}
	memcpy(out, b, len);
	if (is_str)
		((char *)out)[len] = '\0';
	sotto_memzero(b, len);
	free(b);
	return 0;
}

#define KEYSTR(s) (const uint8_t *)(s), strlen(s)

int sotto__eng_load_account(sotto_client *c)
{
	sotto_lstore_local loc;
	int rc = kv_get_fixed(c, ENG_NS, KEYSTR("server"), c->server, sizeof c->server, 1);
	if (rc == 0)
		rc = parse_server(c->server, c->host, &c->port);
	if (rc == 0)
		rc = kv_get_fixed(c, ENG_NS, KEYSTR("server_key"), c->server_key, 32, 0);
	if (rc == 0)
		rc = kv_get_fixed(c, ENG_NS, KEYSTR("noise"), c->noise_priv, 32, 0);
	if (rc == SOTTO_ERR_NOT_FOUND)
		return 0; /* a fresh profile */
	if (rc != 0)
		return rc;
	c->has_noise = 1;
	rc = sotto_lstore_local_get(c->ls, &loc);
	if (rc == SOTTO_ERR_NOT_FOUND)
		return 0; /* linking in progress */
	if (rc != 0)
		return rc;
	if (strlen(loc.account_id) != SOTTO_CLIENT_ACCOUNT_STR) {
		sotto_memzero(&loc, sizeof loc);
		return SOTTO_ERR_STORAGE;
	}
	memcpy(c->acct_str, loc.account_id, SOTTO_CLIENT_ACCOUNT_STR + 1);
	c->device_id = loc.device_id;
	c->reg_id = loc.registration_id;
	sotto_memzero(&loc, sizeof loc);
	rc = sotto__eng_uuid_parse(c->acct_str, c->acct);
	if (rc == 0)
		rc = kv_get_fixed(c, ENG_NS, KEYSTR("name"), c->name, sizeof c->name, 1);
	if (rc == 0)
		c->registered = 1;
	return rc;
}

/* ---- profiles ---- */

static int client_new(sotto_client **out, const char *dir)
{
	if (out == NULL || dir == NULL || strlen(dir) >= ENG_PATH_MAX - 128)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (sotto_init() != 0)
		return SOTTO_ERR_CRYPTO;
	sotto_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SOTTO_ERR_NOMEM;
	snprintf(c->dir, sizeof c->dir, "%s", dir);
	c->clock = sys_now;
	c->timeout_ms = 15000;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	*out = c;
	return 0;
}

static int finish_open(sotto_client *c, char *err, size_t errcap)
{
	sotto_lstore_set_clock(c->ls, ls_clock, c);
	sotto_lstore_protocol_stores(c->ls, &c->stores);
	int rc = sotto__eng_load_account(c);
	if (rc != 0 && err != NULL)
		snprintf(err, errcap, "cannot read the profile: %s", sotto_strerror(rc));
	return rc;
}

int sotto_client_create(sotto_client **out, const char *dir, const char *pass, size_t passlen,
	char *err, size_t errcap)
{
	sotto_client *c;
	int rc = client_new(&c, dir);
	if (rc != 0)
		return rc;
	rc = sotto_lstore_create(&c->ls, dir, pass, passlen, NULL, err, errcap);
	if (rc == 0) {
		char sub[ENG_PATH_MAX];
		snprintf(sub, sizeof sub, "%s/attachments", dir);
		if (mkdir(sub, 0700) != 0 && errno != EEXIST)
			rc = SOTTO_ERR_STORAGE;
	}
	if (rc == 0)
		rc = finish_open(c, err, errcap);
	if (rc != 0) {
		sotto_client_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

int sotto_client_open(sotto_client **out, const char *dir, const char *pass, size_t passlen,
	char *err, size_t errcap)
{
	sotto_client *c;
	int rc = client_new(&c, dir);
	if (rc != 0)
		return rc;
	rc = sotto_lstore_open(&c->ls, dir, pass, passlen, NULL, err, errcap);
	if (rc == 0)
		rc = finish_open(c, err, errcap);
	if (rc != 0) {
		sotto_client_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

int sotto_client_needs_passphrase(const char *dir)
{
	enum sotto_lstore_mode mode;
	int rc = sotto_lstore_probe(dir, &mode, NULL, 0);
	if (rc != 0)
		return rc;
	return mode == SOTTO_LSTORE_PASSPHRASE ? 1 : 0;
}

void sotto_client_close(sotto_client *c)
{
	if (c == NULL)
		return;
	sotto__eng_disconnect(c);
	sotto__eng_kt_free(c);
	sotto__eng_sealed_free(c);
	sotto_lstore_close(c->ls);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	sotto_memzero(c, sizeof(*c));
	free(c);
}

const char *sotto_client_errmsg(const sotto_client *c)
{
	return c == NULL ? "no client" : c->err;
}

void sotto_client_set_clock(sotto_client *c, uint64_t (*now_ms)(void *ctx), void *ctx)
{
	c->clock = now_ms != NULL ? now_ms : sys_now;
	c->clock_ctx = now_ms != NULL ? ctx : NULL;
}

void sotto_client_set_timeout(sotto_client *c, unsigned ms)
{
	c->timeout_ms = ms != 0 ? ms : 15000;
}

int sotto_client_account_info(sotto_client *c, sotto_client_account *out)
{
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof out->name, "%s", c->name);
	snprintf(out->account_id, sizeof out->account_id, "%s", c->acct_str);
	out->device_id = c->device_id;
	out->registration_id = c->reg_id;
	snprintf(out->server, sizeof out->server, "%s", c->server);
	return 0;
}

/* ---- connection ---- */

void sotto__eng_env_free(struct eng_env *e)
{
	if (e != NULL) {
		free(e->content);
		free(e);
	}
}

static void on_push(void *arg, const Sotto__Service__Push *p)
{
	sotto_client *c = arg;
	pthread_mutex_lock(&c->mu);
	switch (p->body_case) {
	case SOTTO__SERVICE__PUSH__BODY_ENVELOPE: {
		const Sotto__Service__Envelope *e = p->envelope;
		struct eng_env *x = calloc(1, sizeof(*x));
		if (x == NULL)
			break; /* not acknowledged: the server pushes it again later */
		x->content = malloc(e->content.len > 0 ? e->content.len : 1);
		if (x->content == NULL) {
			free(x);
			break;
		}
		if (e->content.len > 0)
			memcpy(x->content, e->content.data, e->content.len);
		x->content_len = e->content.len;
		x->seq = e->seq;
		x->server_ms = e->server_ms;
		if (e->sender_account.len == 16)
			memcpy(x->sender, e->sender_account.data, 16);
		x->sender_device = e->sender_device;
		x->type = e->type;
		if (c->tail != NULL)
			c->tail->next = x;
		else
			c->head = x;
		c->tail = x;
		break;
	}
	case SOTTO__SERVICE__PUSH__BODY_QUEUE_EMPTY: c->queue_empty++; break;
	case SOTTO__SERVICE__PUSH__BODY_PREKEYS_LOW: c->prekeys_low = 1; break;
	case SOTTO__SERVICE__PUSH__BODY_DEVICE_LIST_CHANGED: c->devices_changed = 1; break;
	default: break;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

struct eng_env *sotto__eng_pop(sotto_client *c)
{
	pthread_mutex_lock(&c->mu);
	struct eng_env *e = c->head;
	if (e != NULL) {
		c->head = e->next;
		if (c->head == NULL)
			c->tail = NULL;
		e->next = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	return e;
}

int sotto__eng_wait_env(sotto_client *c, uint64_t deadline)
{
	pthread_mutex_lock(&c->mu);
	while (c->head == NULL) {
		uint64_t now = sotto__eng_mono_ms();
		if (now >= deadline)
			break;
		uint64_t wait = deadline - now;
		if (wait > 100)
			wait = 100; /* the condvar uses the realtime clock: re-check often */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(wait * 1000000u);
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	int have = c->head != NULL;
	pthread_mutex_unlock(&c->mu);
	return have;
}

void sotto__eng_disconnect(sotto_client *c)
{
	if (c->conn != NULL) {
		sotto_client_conn_close(c->conn);
		c->conn = NULL;
	}
	pthread_mutex_lock(&c->mu);
	while (c->head != NULL) {
		struct eng_env *e = c->head;
		c->head = e->next;
		sotto__eng_env_free(e);
	}
	c->tail = NULL;
	c->queue_empty = 0;
	pthread_mutex_unlock(&c->mu);
}

int sotto__eng_connect(sotto_client *c, int authenticate)
{
	if (c->conn != NULL && c->conn_auth == authenticate)
		return 0;
	sotto__eng_disconnect(c);
	if (!c->has_noise)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile has no server yet");
	sotto_client_conn_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.host = c->host;
	cfg.port = c->port;
	cfg.device_priv = c->noise_priv;
	cfg.server_pub = c->server_key;
	cfg.authenticate = authenticate;
	cfg.reconnect = 1;
	cfg.backoff_min_ms = 50;
	cfg.backoff_max_ms = 1000;
	cfg.connect_timeout_ms = 5000;
	cfg.on_push = on_push;
	cfg.arg = c;
	int rc = sotto_client_conn_open(&c->conn, &cfg);
	if (rc != 0)
		return sotto__eng_err(c, rc, "cannot start the connection: %s", sotto_strerror(rc));
	c->conn_auth = authenticate;
	rc = sotto_client_conn_wait_ready(c->conn, c->timeout_ms);
	if (rc != 0) {
		sotto__eng_disconnect(c);
		return sotto__eng_err(c, rc, "cannot reach the server at %s: %s", c->server,
			sotto_strerror(rc));
	}
	return 0;
}

static int status_err(Sotto__Service__Status st)
{
	switch (st) {
	case SOTTO__SERVICE__STATUS__NOT_FOUND: return SOTTO_ERR_NOT_FOUND;
	case SOTTO__SERVICE__STATUS__EXISTS: return SOTTO_ERR_EXISTS;
	case SOTTO__SERVICE__STATUS__UNAUTHENTICATED: return SOTTO_ERR_INVALID_KEY;
	case SOTTO__SERVICE__STATUS__QUEUE_FULL: return SOTTO_ERR_QUEUE_FULL;
	case SOTTO__SERVICE__STATUS__TOO_LARGE:
	case SOTTO__SERVICE__STATUS__LIMIT: return SOTTO_ERR_LIMIT;
	case SOTTO__SERVICE__STATUS__BAD_REQUEST: return SOTTO_ERR_INVALID_ARGUMENT;
	case SOTTO__SERVICE__STATUS__UNAVAILABLE:
	case SOTTO__SERVICE__STATUS__RATE_LIMITED: return SOTTO_ERR_NETWORK;
	default: return SOTTO_ERR_INTERNAL;
	}
}

int sotto__eng_call(sotto_client *c, Request *req, Response **resp, int allow_mismatch)
{
	*resp = NULL;
	for (int attempt = 0;; attempt++) {
		int rc = sotto__eng_connect(c, c->conn != NULL ? c->conn_auth : c->registered);
		if (rc != 0)
			return rc;
		Response *r = NULL;
		rc = sotto_client_conn_call(c->conn, req, &r, c->timeout_ms);
		if (rc != 0)
			return sotto__eng_err(c, rc, "server call failed: %s", sotto_strerror(rc));
		if (r->status == SOTTO__SERVICE__STATUS__OK ||
			(allow_mismatch && r->status == SOTTO__SERVICE__STATUS__MISMATCHED_DEVICES)) {
			*resp = r;
			return 0;
		}
		if (r->status == SOTTO__SERVICE__STATUS__RATE_LIMITED && attempt < 3) {
			unsigned ms = r->retry_after_ms > 0 && r->retry_after_ms < 5000 ?
				r->retry_after_ms : 200;
			sotto_client_conn_response_free(r);
			struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		rc = status_err(r->status);
		sotto__eng_err(c, rc, "server: %s", r->error != NULL && r->error[0] != '\0' ?
			r->error : sotto_strerror(rc));
		sotto_client_conn_response_free(r);
		return rc;
	}
}

int sotto__eng_ack(sotto_client *c, uint64_t seq)
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__AckRequest ar = SOTTO__SERVICE__ACK_REQUEST__INIT;
	ar.seqs = &seq;
	ar.n_seqs = 1;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_ACK;
	req.ack = &ar;
	Response *r;
	int rc = sotto__eng_call(c, &req, &r, 0);
	if (rc == 0)
		sotto_client_conn_response_free(r);
	return rc;
}

/* ---- device names (encrypted for the server under a key every device of
 * the account derives from the shared identity key) ---- */

static int name_key(sotto_client *c, uint8_t key[32])
{
	sotto_lstore_local loc;
	static const uint8_t info[] = "sotto device name v1";
	int rc = sotto_lstore_local_get(c->ls, &loc);
	if (rc != 0)
		return rc;
	rc = sotto_hkdf_sha256(key, 32, NULL, 0, loc.identity.priv, 32, info, sizeof info - 1);
	sotto_memzero(&loc, sizeof loc);
	return rc;
}

int sotto__eng_encrypt_name(sotto_client *c, const char *name, uint8_t *out, size_t cap,
	size_t *outlen)
{
	uint8_t key[32];
	size_t n = strlen(name), ct;
	if (24 + n + 16 > cap)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = name_key(c, key);
	if (rc == 0)
		rc = sotto_random(out, 24);
	if (rc == 0)
		rc = sotto_aead_seal(SOTTO_AEAD_XCHACHA20POLY1305, out + 24, cap - 24, &ct, key, 32,
			out, 24, NULL, 0, (const uint8_t *)name, n);
	sotto_memzero(key, sizeof key);
	if (rc == 0)
		*outlen = 24 + ct;
	return rc;
}

int sotto__eng_decrypt_name(sotto_client *c, const uint8_t *in, size_t len, char *out,
	size_t cap)
{
	uint8_t key[32];
	size_t n;
	out[0] = '\0';
	if (len < 24 + 16 || len - 24 - 16 >= cap)
		return SOTTO_ERR_INVALID_MESSAGE;
	int rc = name_key(c, key);
	if (rc == 0)
		rc = sotto_aead_open(SOTTO_AEAD_XCHACHA20POLY1305, (uint8_t *)out, cap - 1, &n, key,
			32, in, 24, NULL, 0, in + 24, len - 24);
	sotto_memzero(key, sizeof key);
	if (rc == 0)
		out[n] = '\0';
	else
		out[0] = '\0';
	return rc;
}

/* ---- registration and prekeys ---- */

static int kv_put_u32(sotto_client *c, const char *key, uint32_t v)
{
	return sotto__eng_kv_put_u64(c, key, v);
}

int sotto__eng_upload_prekeys(sotto_client *c, int ec_kem, int signed_pk, int last_resort)
{
	sotto_lstore_local loc;
	uint64_t now = sotto__eng_now(c);
	uint32_t cnt, max_ec = 0, max_spk = 0, max_kem = 0;
	sotto_prekey_record *ec = NULL;
	sotto_kyber_prekey_record *kem = NULL, *lr = NULL;
	sotto_signed_prekey_record spk;
	Sotto__Service__EcPrekey *ecp = NULL, **ecpp = NULL;
	Sotto__Service__KemPrekey *kp = NULL, **kpp = NULL;
	Sotto__Service__SignedPrekey sp = SOTTO__SERVICE__SIGNED_PREKEY__INIT;
	Sotto__Service__KemPrekey lrp = SOTTO__SERVICE__KEM_PREKEY__INIT;
	size_t nk = ec_kem ? ENG_PREKEY_BATCH : 0;
	int rc, in_tx = 0;

	memset(&spk, 0, sizeof spk);
	rc = sotto_lstore_local_get(c->ls, &loc);
	if (rc != 0)
		return sotto__eng_err(c, rc, "no identity in this profile");
	rc = sotto_lstore_prekey_stats(c->ls, SOTTO_LSTORE_PREKEY_EC, &cnt, &max_ec);
	if (rc == 0)
		rc = sotto_lstore_prekey_stats(c->ls, SOTTO_LSTORE_PREKEY_SIGNED, &cnt, &max_spk);
	if (rc == 0)
		rc = sotto_lstore_prekey_stats(c->ls, SOTTO_LSTORE_PREKEY_KEM, &cnt, &max_kem);
	if (rc != 0)
		goto out;
	ec = calloc(nk + 1, sizeof(*ec));
	kem = calloc(nk + 1, sizeof(*kem));
	lr = calloc(1, sizeof(*lr));
	ecp = calloc(nk + 1, sizeof(*ecp));
	ecpp = calloc(nk + 1, sizeof(*ecpp));
	kp = calloc(nk + 1, sizeof(*kp));
	kpp = calloc(nk + 1, sizeof(*kpp));
	if (ec == NULL || kem == NULL || lr == NULL || ecp == NULL || ecpp == NULL || kp == NULL ||
		kpp == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto out;
	}
	rc = sotto_lstore_begin(c->ls);
	if (rc != 0)
		goto out;
	in_tx = 1;
	for (size_t i = 0; i < nk && rc == 0; i++) {
		rc = sotto_prekey_generate(&ec[i], max_ec + 1 + (uint32_t)i, sotto_rng_system, NULL);
		if (rc == 0)
			rc = sotto_lstore_prekey_put(c->ls, &ec[i], now);
		if (rc == 0)
			rc = sotto_kyber_prekey_generate(&kem[i], max_kem + 1 + (uint32_t)i, now,
				&loc.identity, sotto_rng_system, NULL);
		if (rc == 0)
			rc = sotto_lstore_kyber_prekey_put(c->ls, &kem[i], 0);
		sotto__service__ec_prekey__init(&ecp[i]);
		ecp[i].id = ec[i].id;
		ecp[i].public_key.data = ec[i].key.pub;
		ecp[i].public_key.len = SOTTO_EC_PUBLIC_BYTES;
		ecpp[i] = &ecp[i];
		sotto__service__kem_prekey__init(&kp[i]);
		kp[i].id = kem[i].id;
		kp[i].public_key.data = kem[i].pub;
		kp[i].public_key.len = SOTTO_KEM_PUBLIC_BYTES;
		kp[i].signature.data = kem[i].signature;
		kp[i].signature.len = SOTTO_SIGNATURE_BYTES;
		kpp[i] = &kp[i];
	}
	if (rc == 0 && signed_pk) {
		rc = sotto_signed_prekey_generate(&spk, max_spk + 1, now, &loc.identity,
			sotto_rng_system, NULL);
		if (rc == 0)
			rc = sotto_lstore_signed_prekey_put(c->ls, &spk);
		if (rc == 0)
			rc = sotto__eng_kv_put_u64(c, "spk_ms", now);
		sp.id = spk.id;
		sp.public_key.data = spk.key.pub;
		sp.public_key.len = SOTTO_EC_PUBLIC_BYTES;
		sp.signature.data = spk.signature;
		sp.signature.len = SOTTO_SIGNATURE_BYTES;
	}
	if (rc == 0 && last_resort) {
		rc = sotto_kyber_prekey_generate(lr, max_kem + 1 + (uint32_t)nk, now, &loc.identity,
			sotto_rng_system, NULL);
		if (rc == 0)
			rc = sotto_lstore_kyber_prekey_put(c->ls, lr, 1);
		if (rc == 0)
			rc = sotto__eng_kv_put_u64(c, "lr_ms", now);
		if (rc == 0)
			rc = kv_put_u32(c, "lr_id", lr->id);
		lrp.id = lr->id;
		lrp.public_key.data = lr->pub;
		lrp.public_key.len = SOTTO_KEM_PUBLIC_BYTES;
		lrp.signature.data = lr->signature;
		lrp.signature.len = SOTTO_SIGNATURE_BYTES;
	}
	if (rc != 0)
		goto out;
	/* Commit before the upload: a key the server hands out must exist here. */
	rc = sotto_lstore_commit(c->ls);
	in_tx = 0;
	if (rc != 0)
		goto out;
	{
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__UploadPrekeysRequest up = SOTTO__SERVICE__UPLOAD_PREKEYS_REQUEST__INIT;
		up.ec_prekeys = ecpp;
		up.n_ec_prekeys = nk;
		up.kem_prekeys = kpp;
		up.n_kem_prekeys = nk;
		up.signed_prekey = signed_pk ? &sp : NULL;
		up.last_resort_kem = last_resort ? &lrp : NULL;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_UPLOAD_PREKEYS;
		req.upload_prekeys = &up;
		Response *r;
		rc = sotto__eng_call(c, &req, &r, 0);
		if (rc == 0)
			sotto_client_conn_response_free(r);
	}
out:
	if (in_tx)
		(void)sotto_lstore_rollback(c->ls);
	if (ec != NULL)
		sotto_memzero(ec, (nk + 1) * sizeof(*ec));
	if (kem != NULL)
		sotto_memzero(kem, (nk + 1) * sizeof(*kem));
	if (lr != NULL)
		sotto_memzero(lr, sizeof(*lr));
	free(ec);
	free(kem);
	free(lr);
	free(ecp);
	free(ecpp);
	free(kp);
	free(kpp);
	sotto_memzero(&spk, sizeof spk);
	sotto_memzero(&loc, sizeof loc);
	return rc;
}

int sotto_client_register(sotto_client *c, const char *server,
	const uint8_t server_key[SOTTO_CLIENT_SERVER_KEY_BYTES], const char *name,
	const char *invite)
{
	char uname[SOTTO_CLIENT_NAME_MAX + 1], host[64];
	uint16_t port;
	uint8_t inv[64];
	size_t invlen = 0;
	sotto_lstore_local loc;
	int rc;

	if (c->registered || c->has_noise)
		return sotto__eng_err(c, SOTTO_ERR_EXISTS, "this profile is already set up");
	if (server == NULL || server_key == NULL || sotto__eng_norm_name(name, uname) != 0)
		return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT,
			"a name is 3..32 characters of a-z, 0-9, _ and .");
	if (parse_server(server, host, &port) != 0)
		return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT,
			"the server must be HOST:PORT with a numeric address");
	if (invite != NULL && sotto__eng_b64_decode(invite, inv, sizeof inv, &invlen) != 0)
		return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT, "malformed invite code");

	memset(&loc, 0, sizeof loc);
	rc = sotto_identity_keypair_generate(&loc.identity, sotto_rng_system, NULL);
	if (rc == 0)
		rc = sotto_registration_id_generate(&loc.registration_id, sotto_rng_system, NULL);
	if (rc == 0)
		rc = sotto_random(c->noise_priv, 32);
	if (rc != 0)
		goto out;
	sotto_x25519_clamp(c->noise_priv);
	snprintf(c->server, sizeof c->server, "%s", server);
	memcpy(c->host, host, sizeof host);
	c->port = port;
	memcpy(c->server_key, server_key, 32);
	c->has_noise = 1;
	rc = sotto__eng_connect(c, 0);
	if (rc != 0)
		goto out;
	{
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__RegisterRequest rr = SOTTO__SERVICE__REGISTER_REQUEST__INIT;
		rr.invite_code.data = inv;
		rr.invite_code.len = invlen;
		rr.registration_id = loc.registration_id;
		rr.identity_key.data = loc.identity.pub;
		rr.identity_key.len = SOTTO_EC_PUBLIC_BYTES;
		rr.username.data = (uint8_t *)uname;
		rr.username.len = strlen(uname);
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_REGISTER_ACCOUNT;
		req.register_account = &rr;
		Response *r;
		rc = sotto__eng_call(c, &req, &r, 0);
		if (rc == SOTTO_ERR_EXISTS)
			sotto__eng_err(c, rc, "the name %s is taken", uname);
		if (rc != 0)
			goto out;
		if (r->register_account == NULL || r->register_account->account_id.len != 16) {
			sotto_client_conn_response_free(r);
			rc = sotto__eng_err(c, SOTTO_ERR_INTERNAL, "malformed registration answer");
			goto out;
		}
		memcpy(c->acct, r->register_account->account_id.data, 16);
		sotto_client_conn_response_free(r);
	}
	sotto__eng_uuid_str(c->acct, c->acct_str);
	snprintf(loc.account_id, sizeof loc.account_id, "%s", c->acct_str);
	loc.device_id = 1;
	rc = sotto_lstore_begin(c->ls);
	if (rc == 0) {
		rc = sotto_lstore_local_set(c->ls, &loc);
		if (rc == 0)
			rc = sotto__eng_kv_put_str(c, ENG_NS, "server", c->server, strlen(c->server));
		if (rc == 0)
			rc = sotto__eng_kv_put_str(c, ENG_NS, "server_key", c->server_key, 32);
		if (rc == 0)
			rc = sotto__eng_kv_put_str(c, ENG_NS, "noise", c->noise_priv, 32);
		if (rc == 0)
			rc = sotto__eng_kv_put_str(c, ENG_NS, "name", uname, strlen(uname));
		if (rc == 0)
			rc = sotto_lstore_commit(c->ls);
		else
			(void)sotto_lstore_rollback(c->ls);
	}
	if (rc != 0) {
		sotto__eng_err(c, rc, "registered, but the profile could not be saved: %s",
			sotto_lstore_errmsg(c->ls));
		goto out;
	}
	c->device_id = 1;
	c->reg_id = loc.registration_id;
	snprintf(c->name, sizeof c->name, "%s", uname);
	c->registered = 1;
	/* From now on the connection authenticates itself after reconnects. */
	sotto__eng_disconnect(c);
	rc = sotto__eng_upload_prekeys(c, 1, 1, 1);
	if (rc == 0) {
		sotto__eng_kt_joined(c); /* pins the KT key, records device 1 as ours */
		sotto__eng_sealed_joined(c); /* pins the sealed sender root */
	}
out:
	sotto_memzero(&loc, sizeof loc);
	if (rc != 0 && !c->registered) {
		sotto__eng_disconnect(c);
		sotto_memzero(c->noise_priv, sizeof c->noise_priv);
		c->has_noise = 0;
	}
	return rc;
}

static int delete_old_signed(void *ctx, const sotto_lstore_prekey_info *info)
{
	uint64_t *a = ctx; /* a[0] = cutoff, a[1] = current id, a[2..] = ids to delete */
	if (info->id != a[1] && info->created_ms < a[0] && a[2] < 64)
		a[3 + a[2]++] = info->id;
	return 0;
}

int sotto_client_maintain(sotto_client *c, uint64_t rotate_after_ms)
{
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	if (rotate_after_ms == 0)
		rotate_after_ms = ENG_DEFAULT_ROTATE_MS;
	int rc = sotto__eng_sweep(c);
	if (rc != 0)
		return rc;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__PrekeyCountRequest pc = SOTTO__SERVICE__PREKEY_COUNT_REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_PREKEY_COUNT;
	req.prekey_count = &pc;
	Response *r;
	rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	int low = r->prekey_count == NULL || r->prekey_count->ec < ENG_PREKEY_LOW ||
		r->prekey_count->kem < ENG_PREKEY_LOW;
	int no_spk = r->prekey_count == NULL || !r->prekey_count->has_signed;
	int no_lr = r->prekey_count == NULL || !r->prekey_count->has_last_resort;
	sotto_client_conn_response_free(r);
	uint64_t now = sotto__eng_now(c), spk_ms = 0, lr_ms = 0;
	if (sotto__eng_kv_get_u64(c, "spk_ms", &spk_ms) != 0)
		spk_ms = 0;
	if (sotto__eng_kv_get_u64(c, "lr_ms", &lr_ms) != 0)
		lr_ms = 0;
	int rot_spk = no_spk || now >= spk_ms + rotate_after_ms;
	int rot_lr = no_lr || now >= lr_ms + rotate_after_ms;
	if (low || rot_spk || rot_lr) {
		rc = sotto__eng_upload_prekeys(c, low, rot_spk, rot_lr);
		if (rc != 0)
			return rc;
	}
	pthread_mutex_lock(&c->mu);
	c->prekeys_low = 0;
	pthread_mutex_unlock(&c->mu);
	/* Old signed prekeys stay for late PreKey messages, up to twice the
	 * rotation age. */
	uint32_t cnt, max_spk;
	if (sotto_lstore_prekey_stats(c->ls, SOTTO_LSTORE_PREKEY_SIGNED, &cnt, &max_spk) == 0 &&
		now > 2 * rotate_after_ms) {
		uint64_t a[3 + 64] = { now - 2 * rotate_after_ms, max_spk, 0 };
		rc = sotto_lstore_prekey_foreach(c->ls, SOTTO_LSTORE_PREKEY_SIGNED,
			delete_old_signed, a);
		for (uint64_t i = 0; rc == 0 && i < a[2]; i++)
			rc = sotto_lstore_prekey_delete(c->ls, SOTTO_LSTORE_PREKEY_SIGNED,
				(uint32_t)a[3 + i]);
	}
	return rc;
}

/* ---- names and contacts ---- */

int sotto__eng_notice(sotto_client *c, const char *conv, uint64_t now)
{
	Sotto__Content__StoredBody sb = SOTTO__CONTENT__STORED_BODY__INIT;
	uint8_t buf[64], rnd[16];
	char id[33];
	sb.kind = SOTTO_CLIENT_MSG_IDENTITY_CHANGE;
	size_t n = sotto__content__stored_body__pack(&sb, buf);
	int rc = sotto_random(rnd, sizeof rnd);
	if (rc != 0)
		return rc;
	sotto__eng_hex(rnd, sizeof rnd, id);
	sotto_lstore_message m = { 0 };
	m.id = id;
	m.conversation = conv;
	m.direction = SOTTO_LSTORE_INCOMING;
	m.sender = conv;
	m.timestamp_ms = now;
	m.body = buf;
	m.body_len = n;
	m.status = SOTTO_LSTORE_DELIVERED;
	rc = sotto_lstore_message_add(c->ls, &m);
	if (rc == 0)
		rc = sotto__eng_kv_put_str(c, ENG_NS_CHANGED, conv, "\1", 1);
	return rc;
}

int sotto__eng_bind_name(sotto_client *c, const char *name, const uint8_t acct[16], uint64_t now)
{
	uint8_t old[16];
	int rc = kv_get_fixed(c, ENG_NS_N2A, KEYSTR(name), old, 16, 0);
	if (rc == 0 && sotto_memeq(old, acct, 16))
		return 0;
	if (rc != 0 && rc != SOTTO_ERR_NOT_FOUND)
		return rc;
	int changed = rc == 0;
	if (changed) {
		/* The name now belongs to another account: whoever we talked to
		 * before is gone, and this is a new identity. */
		(void)sotto_lstore_kv_delete(c->ls, ENG_NS_A2N, old, 16);
		rc = sotto__eng_notice(c, name, now);
		if (rc != 0)
			return rc;
	}
	rc = sotto_lstore_kv_put(c->ls, ENG_NS_N2A, KEYSTR(name), acct, 16);
	if (rc == 0)
		rc = sotto_lstore_kv_put(c->ls, ENG_NS_A2N, acct, 16, (const uint8_t *)name,
			strlen(name));
	if (rc == 0) {
		char disp[8];
		uint64_t added;
		if (sotto_lstore_contact_get(c->ls, name, disp, sizeof disp, &added) ==
			SOTTO_ERR_NOT_FOUND)
			rc = sotto_lstore_contact_put(c->ls, name, NULL, now);
	}
	return rc;
}

int sotto__eng_resolve(sotto_client *c, const char *name, uint8_t acct[16], int refresh)
{
	char n[SOTTO_CLIENT_NAME_MAX + 1];
	if (sotto__eng_norm_name(name, n) != 0)
		return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT, "not a valid name: %s",
			name != NULL ? name : "(null)");
	if (!refresh && kv_get_fixed(c, ENG_NS_N2A, KEYSTR(n), acct, 16, 0) == 0)
		return 0;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__LookupNameRequest lr = SOTTO__SERVICE__LOOKUP_NAME_REQUEST__INIT;
	lr.name.data = (uint8_t *)n;
	lr.name.len = strlen(n);
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_LOOKUP_NAME;
	req.lookup_name = &lr;
	Response *r;
	int rc = sotto__eng_call(c, &req, &r, 0);
	if (rc == SOTTO_ERR_NOT_FOUND)
		return sotto__eng_err(c, rc, "nobody is called %s", n);
	if (rc != 0)
		return rc;
	if (r->lookup_name == NULL || r->lookup_name->account_id.len != 16) {
		sotto_client_conn_response_free(r);
		return sotto__eng_err(c, SOTTO_ERR_INTERNAL, "malformed lookup answer");
	}
	memcpy(acct, r->lookup_name->account_id.data, 16);
	sotto_client_conn_response_free(r);
	if (sotto_memeq(acct, c->acct, 16))
		return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT, "%s is this account", n);
	return sotto__eng_bind_name(c, n, acct, sotto__eng_now(c));
}

int sotto__eng_name_of(sotto_client *c, const uint8_t acct[16],
	char name[SOTTO_CLIENT_NAME_MAX + 1])
{
	if (sotto_memeq(acct, c->acct, 16)) {
		snprintf(name, SOTTO_CLIENT_NAME_MAX + 1, "%s", c->name);
		return 0;
	}
	int rc = kv_get_fixed(c, ENG_NS_A2N, acct, 16, name, SOTTO_CLIENT_NAME_MAX + 1, 1);
	if (rc != SOTTO_ERR_NOT_FOUND)
		return rc;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__AccountNameRequest ar = SOTTO__SERVICE__ACCOUNT_NAME_REQUEST__INIT;
	ar.account_id.data = (uint8_t *)acct;
	ar.account_id.len = 16;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_ACCOUNT_NAME;
	req.account_name = &ar;
	Response *r;
	rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	char n[SOTTO_CLIENT_NAME_MAX + 1] = "";
	if (r->account_name != NULL && r->account_name->name.len < sizeof n) {
		memcpy(n, r->account_name->name.data, r->account_name->name.len);
		n[r->account_name->name.len] = '\0';
	}
	sotto_client_conn_response_free(r);
	if (sotto__eng_norm_name(n, name) != 0)
		return sotto__eng_err(c, SOTTO_ERR_INTERNAL, "the server gave a malformed name");
	return sotto__eng_bind_name(c, name, acct, sotto__eng_now(c));
}

int sotto__eng_name_for_acct_str(sotto_client *c, const char *acct_str,
	char name[SOTTO_CLIENT_NAME_MAX + 1])
{
	uint8_t acct[16];
	int rc = sotto__eng_uuid_parse(acct_str, acct);
	if (rc != 0)
		return rc;
	return kv_get_fixed(c, ENG_NS_A2N, acct, 16, name, SOTTO_CLIENT_NAME_MAX + 1, 1);
}

int sotto__eng_identity_changed(sotto_client *c, const char *acct_str,
	const uint8_t key[SOTTO_EC_PUBLIC_BYTES], uint64_t now)
{
	char name[SOTTO_CLIENT_NAME_MAX + 1];
	int rc = sotto_lstore_peer_save(c->ls, acct_str, key, now);
	if (rc < 0)
		return rc;
	if (sotto__eng_name_for_acct_str(c, acct_str, name) == 0)
		return sotto__eng_notice(c, name, now);
	return 0;
}

int sotto_client_contact_add(sotto_client *c, const char *name)
{
	uint8_t acct[16];
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	return sotto__eng_resolve(c, name, acct, 1);
}

struct contacts_walk {
	sotto_client *c;
	int (*cb)(void *ctx, const sotto_client_contact *ct);
	void *ctx;
};

static int contacts_cb(void *ctx, const char *name, const char *display, uint64_t added_ms)
{
	struct contacts_walk *w = ctx;
	sotto_client_contact ct;
	char acct_str[SOTTO_CLIENT_ACCOUNT_STR + 1] = "";
	uint8_t acct[16], flag;
	sotto_lstore_peer peer;
	(void)display;
	(void)added_ms;
	memset(&ct, 0, sizeof ct);
	ct.name = name;
	if (kv_get_fixed(w->c, ENG_NS_N2A, KEYSTR(name), acct, 16, 0) == 0) {
		sotto__eng_uuid_str(acct, acct_str);
		if (sotto_lstore_peer_get(w->c->ls, acct_str, &peer) == 0) {
			ct.verified = peer.verified;
			ct.identity_changed = peer.changed;
		}
	}
	if (kv_get_fixed(w->c, ENG_NS_CHANGED, KEYSTR(name), &flag, 1, 0) == 0)
		ct.identity_changed = 1;
	ct.account_id = acct_str;
	return w->cb(w->ctx, &ct);
}

int sotto_client_contacts(sotto_client *c, int (*cb)(void *ctx, const sotto_client_contact *ct),
	void *ctx)
{
	struct contacts_walk w = { c, cb, ctx };
	return sotto_lstore_contact_foreach(c->ls, contacts_cb, &w);
}

/* The peer's identity key: stored, or fetched from the server's device list
 * (trust on first use). */
static int peer_key(sotto_client *c, const uint8_t acct[16], const char *acct_str,
	sotto_lstore_peer *peer)
{
	int rc = sotto_lstore_peer_get(c->ls, acct_str, peer);
	if (rc != SOTTO_ERR_NOT_FOUND)
		return rc;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__DeviceListRequest dl = SOTTO__SERVICE__DEVICE_LIST_REQUEST__INIT;
	dl.account_id.data = (uint8_t *)acct;
	dl.account_id.len = 16;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_DEVICE_LIST;
	req.device_list = &dl;
	Response *r;
	rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	if (r->device_list == NULL || r->device_list->n_devices == 0 ||
		r->device_list->devices[0]->identity_key.len != SOTTO_EC_PUBLIC_BYTES) {
		sotto_client_conn_response_free(r);
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "the contact has no device");
	}
	/* Only a key the log proves (key transparency) is worth a safety number. */
	rc = sotto__eng_kt_check_device(c, acct, r->device_list->devices[0]->device_id,
		&r->device_list->devices[0]->identity_key, r->device_list->devices[0]->kt_proof,
		&r->device_list->kt_signed_head);
	if (rc != 0) {
		sotto_client_conn_response_free(r);
		return rc;
	}
	rc = sotto_lstore_peer_save(c->ls, acct_str, r->device_list->devices[0]->identity_key.data,
		sotto__eng_now(c));
	sotto_client_conn_response_free(r);
	if (rc < 0)
		return rc;
	return sotto_lstore_peer_get(c->ls, acct_str, peer);
}

int sotto_client_safety_number(sotto_client *c, const char *name,
	char digits[SOTTO_CLIENT_SAFETY_DIGITS + 1], int *verified, int *changed)
{
	uint8_t acct[16], flag;
	char acct_str[SOTTO_CLIENT_ACCOUNT_STR + 1], n[SOTTO_CLIENT_NAME_MAX + 1];
	sotto_lstore_peer peer;
	sotto_lstore_local loc;
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	int rc = sotto__eng_norm_name(name, n);
	if (rc == 0)
		rc = sotto__eng_resolve(c, n, acct, 0);
	if (rc != 0)
		return rc;
	sotto__eng_uuid_str(acct, acct_str);
	rc = peer_key(c, acct, acct_str, &peer);
	if (rc != 0)
		return rc;
	rc = sotto_lstore_local_get(c->ls, &loc);
	if (rc != 0)
		return rc;
	rc = sotto_fingerprint_create(digits, NULL, 0, NULL, SOTTO_FINGERPRINT_DEFAULT_ITERATIONS, 2,
		c->acct, 16, loc.identity.pub, acct, 16, peer.key);
	sotto_memzero(&loc, sizeof loc);
	if (rc != 0)
		return rc;
	if (verified != NULL)
		*verified = peer.verified;
	if (changed != NULL)
		*changed = peer.changed ||
			kv_get_fixed(c, ENG_NS_CHANGED, KEYSTR(n), &flag, 1, 0) == 0;
	return 0;
}

int sotto_client_set_verified(sotto_client *c, const char *name, int verified)
{
	uint8_t acct[16];
	char acct_str[SOTTO_CLIENT_ACCOUNT_STR + 1], n[SOTTO_CLIENT_NAME_MAX + 1];
	sotto_lstore_peer peer;
	int rc = sotto__eng_norm_name(name, n);
	if (rc == 0)
		rc = sotto__eng_resolve(c, n, acct, 0);
	if (rc != 0)
		return rc;
	sotto__eng_uuid_str(acct, acct_str);
	rc = peer_key(c, acct, acct_str, &peer);
	if (rc == 0)
		rc = sotto_lstore_peer_set_verified(c->ls, acct_str, peer.key, verified ? 1 : 0);
	if (rc == 0) {
		rc = sotto_lstore_kv_delete(c->ls, ENG_NS_CHANGED, KEYSTR(n));
		if (rc == SOTTO_ERR_NOT_FOUND)
			rc = 0;
	}
	return rc;
}

/* ---- devices ---- */

int sotto_client_devices(sotto_client *c, int (*cb)(void *ctx, const sotto_client_device *d),
	void *ctx)
{
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__DeviceListRequest dl = SOTTO__SERVICE__DEVICE_LIST_REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_DEVICE_LIST;
	req.device_list = &dl;
	Response *r;
	int rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	for (size_t i = 0; r->device_list != NULL && i < r->device_list->n_devices && rc == 0; i++) {
		const Sotto__Service__DeviceInfo *di = r->device_list->devices[i];
		char name[256];
		sotto_client_device d;
		if (sotto__eng_decrypt_name(c, di->name.data, di->name.len, name, sizeof name) != 0)
			name[0] = '\0';
		d.device_id = di->device_id;
		d.name = name;
		d.created_ms = di->created_ms > 0 ? (uint64_t)di->created_ms : 0;
		d.last_seen_ms = di->last_seen_ms > 0 ? (uint64_t)di->last_seen_ms : 0;
		d.current = di->device_id == c->device_id;
		rc = cb(ctx, &d);
	}
	sotto_client_conn_response_free(r);
	return rc;
}

int sotto_client_unlink(sotto_client *c, uint32_t device_id)
{
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__UnlinkDeviceRequest ur = SOTTO__SERVICE__UNLINK_DEVICE_REQUEST__INIT;
	ur.device_id = device_id;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_UNLINK_DEVICE;
	req.unlink_device = &ur;
	Response *r;
	int rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	sotto_client_conn_response_free(r);
	/* Our sessions with that device are useless now. */
	if (device_id != c->device_id)
		(void)sotto_lstore_session_delete(c->ls, c->acct_str, device_id);
	else
		sotto__eng_disconnect(c);
	return 0;
}
