/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Helpers for the kt-attack-* tests: the client engine (with key
 * transparency, include/sotto/client_kt.h) against build/bin/sottod-evil,
 * the test-only malicious operator (tests/evil/README.md), on loopback.
 * Header-only (static functions): each attack is one program. Every network
 * call is bounded by the engine's timeout and the whole test by alarm(). */
#ifndef SOTTO_KT_ATTACK_H
#define SOTTO_KT_ATTACK_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/conn.h"
#include "client/engine_internal.h"
#include "sotto/client.h"
#include "sotto/client_kt.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/kt.h"
#include "sotto/protocol.h"
#include "sotto/util.h"
#include "testutil.h"

#pragma GCC diagnostic ignored "-Wcast-qual"

#define KA_CALL_MS 10000
#define KA_TEST_SECONDS 150 /* the whole program, whatever happens */

static char ka_dir[256], ka_server[96], ka_knob_path[300];
static uint8_t ka_key[32], ka_kt[32];
static char ka_key_b64[64], ka_kt_b64[64];
static pid_t ka_pid = -1;
static char ka_knobs[8192];

static inline void ka_stop(void)
{
	if (ka_pid > 0) {
		kill(ka_pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(ka_pid, NULL, WNOHANG) == ka_pid) {
				ka_pid = -1;
				break;
			}
			struct timespec ts = { 0, 50000000L };
			nanosleep(&ts, NULL);
		}
		if (ka_pid > 0) {
			kill(ka_pid, SIGKILL);
			waitpid(ka_pid, NULL, 0);
			ka_pid = -1;
		}
	}
}

static inline void ka_cleanup(void)
{
	char cmd[300];
	ka_stop();
	if (ka_dir[0] != '\0' && getenv("KA_KEEP") == NULL) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", ka_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", ka_dir);
	}
}

/* Starts sottod-evil on 127.0.0.1 with an empty knob file. */
static inline int ka_start(const char *name)
{
	const char *bin = getenv("SOTTO_BIN");
	char exe[512], data[300], log[300];
	int pfd[2];
	alarm(KA_TEST_SECONDS);
	snprintf(ka_dir, sizeof ka_dir, "/tmp/sotto-kt-%s-XXXXXX", name);
	if (mkdtemp(ka_dir) == NULL)
		return -1;
	atexit(ka_cleanup);
	snprintf(exe, sizeof exe, "%s/sottod-evil", bin != NULL ? bin : "build/bin");
	snprintf(data, sizeof data, "%s/server", ka_dir);
	snprintf(log, sizeof log, "%s/server.log", ka_dir);
	snprintf(ka_knob_path, sizeof ka_knob_path, "%s/evil.conf", ka_dir);
	FILE *kf = fopen(ka_knob_path, "w");
	if (kf == NULL || fclose(kf) != 0)
		return -1;
	if (pipe(pfd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(pfd[1], 1);
		if (lf >= 0)
			dup2(lf, 2);
		close(pfd[0]);
		execl(exe, "sottod-evil", "--data", data, "--listen", "127.0.0.1:0", "--evil",
			ka_knob_path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	ka_pid = pid;
	char buf[1024];
	size_t n = 0;
	while (n < sizeof buf - 1) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		if (poll(&p, 1, 15000) <= 0)
			break;
		ssize_t r = read(pfd[0], buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		const char *k = strstr(buf, "kt-key ");
		if (k != NULL && strchr(k, '\n') != NULL)
			break;
	}
	close(pfd[0]);
	buf[n] = '\0';
	char host[64];
	unsigned port;
	const char *k = strstr(buf, "kt-key ");
	if (sscanf(buf, "listen %63[^:]:%u\npublic-key %63s", host, &port, ka_key_b64) != 3 ||
		k == NULL || sscanf(k, "kt-key %63s", ka_kt_b64) != 1) {
		fprintf(stderr, "sottod-evil did not start (%s): %s\n", exe, buf);
		return -1;
	}
	snprintf(ka_server, sizeof ka_server, "%s:%u", host, port);
	if (sotto_client_parse_server_key(ka_key_b64, ka_key) != 0 ||
		sotto_client_parse_server_key(ka_kt_b64, ka_kt) != 0)
		return -1;
	return 0;
}

/* A raw connection (throwaway Noise key unless priv is given). */
static inline sotto_client_conn *ka_conn(const uint8_t *priv, int authenticate)
{
	uint8_t dev[32];
	char host[64];
	unsigned port;
	sotto_client_conn *cn = NULL;
	sotto_client_conn_config cfg;
	if (sscanf(ka_server, "%63[^:]:%u", host, &port) != 2)
		return NULL;
	if (priv != NULL) {
		memcpy(dev, priv, 32);
	} else {
		if (sotto_random(dev, 32) != 0)
			return NULL;
		sotto_x25519_clamp(dev);
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.host = host;
	cfg.port = (uint16_t)port;
	cfg.device_priv = dev;
	cfg.server_pub = ka_key;
	cfg.authenticate = authenticate;
	cfg.connect_timeout_ms = KA_CALL_MS;
	if (sotto_client_conn_open(&cn, &cfg) != 0)
		return NULL;
	if (sotto_client_conn_wait_ready(cn, KA_CALL_MS) != 0) {
		sotto_client_conn_close(cn);
		return NULL;
	}
	return cn;
}

/* Any request makes sottod-evil re-read its knobs: a Ping, answered. */
static inline int ka_ping(void)
{
	sotto_client_conn *cn = ka_conn(NULL, 0);
	if (cn == NULL)
		return -1;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__PingRequest pr = SOTTO__SERVICE__PING_REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_PING;
	req.ping = &pr;
	Response *r = NULL;
	int rc = sotto_client_conn_call(cn, &req, &r, KA_CALL_MS);
	if (rc == 0 && r->status != SOTTO__SERVICE__STATUS__OK)
		rc = -1;
	if (r != NULL)
		sotto_client_conn_response_free(r);
	sotto_client_conn_close(cn);
	return rc;
}

/* Replaces the knob file atomically (all lines given so far plus line,
 * or exactly text when replace), then makes the server apply it. */
static inline int ka_knob(const char *line, int replace)
{
	char tmp[320];
	if (replace)
		ka_knobs[0] = '\0';
	if (line != NULL) {
		size_t n = strlen(ka_knobs);
		snprintf(ka_knobs + n, sizeof ka_knobs - n, "%s\n", line);
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", ka_knob_path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	int wr = fputs(ka_knobs, f);
	if (fclose(f) != 0 || wr < 0 || rename(tmp, ka_knob_path) != 0)
		return -1;
	return ka_ping();
}

static inline void ka_hex(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A new profile DIR/who with the pinned KT key, registered as who. */
static inline sotto_client *ka_register(const char *who)
{
	char dir[320], err[256];
	sotto_client *c = NULL;
	snprintf(dir, sizeof dir, "%s/%s", ka_dir, who);
	int rc = sotto_client_create(&c, dir, NULL, 0, err, sizeof err);
	if (rc != 0) {
		tu_fail("create %s: %s", who, err);
		return NULL;
	}
	sotto_client_set_timeout(c, KA_CALL_MS);
	rc = sotto_client_set_kt_key(c, ka_kt);
	if (rc == 0)
		rc = sotto_client_register(c, ka_server, ka_key, who, NULL);
	if (rc != 0) {
		tu_fail("register %s: %s (%s)", who, sotto_strerror(rc), sotto_client_errmsg(c));
		sotto_client_close(c);
		return NULL;
	}
	return c;
}

/* The account id of c as 32 hex digits. */
static inline void ka_account_hex(sotto_client *c, char out[33])
{
	sotto_client_account a;
	size_t k = 0;
	out[0] = '\0';
	if (sotto_client_account_info(c, &a) != 0)
		return;
	for (const char *p = a.account_id; *p != '\0' && k < 32; p++)
		if (*p != '-')
			out[k++] = *p;
	out[k] = '\0';
}

/* c's identity public key as 66 hex digits (from its own store: the
 * operator knows every public key anyway). */
static inline void ka_identity_hex(sotto_client *c, char out[67])
{
	sotto_lstore_local loc;
	out[0] = '\0';
	if (sotto_lstore_local_get(c->ls, &loc) == 0)
		ka_hex(loc.identity.pub, 33, out);
	sotto_memzero(&loc, sizeof loc);
}

/* A device the operator makes up: Noise key, identity key, and a complete
 * set of prekeys signed by its identity key, uploaded once the device row
 * exists (so its bundle is complete and only key transparency stands
 * between a client and encrypting to it). */
struct ka_ghost {
	uint8_t noise_priv[32], noise_pub[32];
	sotto_identity_keypair id;
	char noise_hex[65], id_hex[67];
};

static inline int ka_ghost_new(struct ka_ghost *g, const uint8_t *identity_pub33_or_null)
{
	memset(g, 0, sizeof *g);
	if (sotto_random(g->noise_priv, 32) != 0)
		return -1;
	sotto_x25519_clamp(g->noise_priv);
	if (sotto_x25519_public(g->noise_pub, g->noise_priv) != 0 ||
		sotto_identity_keypair_generate(&g->id, sotto_rng_system, NULL) != 0)
		return -1;
	ka_hex(g->noise_pub, 32, g->noise_hex);
	if (identity_pub33_or_null != NULL)
		ka_hex(identity_pub33_or_null, 33, g->id_hex);
	else
		ka_hex(g->id.pub, 33, g->id_hex);
	return 0;
}

/* Authenticates as the ghost and uploads its signed EC and KEM prekeys. */
static inline int ka_ghost_prekeys(const struct ka_ghost *g)
{
	sotto_signed_prekey_record spk;
	sotto_kyber_prekey_record *kpk = calloc(1, sizeof *kpk);
	int rc = -1;
	if (kpk == NULL)
		return -1;
	if (sotto_signed_prekey_generate(&spk, 7, 0, &g->id, sotto_rng_system, NULL) != 0 ||
		sotto_kyber_prekey_generate(kpk, 9, 0, &g->id, sotto_rng_system, NULL) != 0) {
		free(kpk);
		return -1;
	}
	sotto_client_conn *cn = ka_conn(g->noise_priv, 1);
	if (cn != NULL) {
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__UploadPrekeysRequest up = SOTTO__SERVICE__UPLOAD_PREKEYS_REQUEST__INIT;
		Sotto__Service__SignedPrekey sp = SOTTO__SERVICE__SIGNED_PREKEY__INIT;
		Sotto__Service__KemPrekey lr = SOTTO__SERVICE__KEM_PREKEY__INIT;
		sp.id = spk.id;
		sp.public_key.data = spk.key.pub;
		sp.public_key.len = SOTTO_EC_PUBLIC_BYTES;
		sp.signature.data = spk.signature;
		sp.signature.len = SOTTO_SIGNATURE_BYTES;
		lr.id = kpk->id;
		lr.public_key.data = kpk->pub;
		lr.public_key.len = SOTTO_KEM_PUBLIC_BYTES;
		lr.signature.data = kpk->signature;
		lr.signature.len = SOTTO_SIGNATURE_BYTES;
		up.signed_prekey = &sp;
		up.last_resort_kem = &lr;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_UPLOAD_PREKEYS;
		req.upload_prekeys = &up;
		Response *r = NULL;
		rc = sotto_client_conn_call(cn, &req, &r, KA_CALL_MS);
		if (rc == 0 && r->status != SOTTO__SERVICE__STATUS__OK)
			rc = -1;
		if (r != NULL)
			sotto_client_conn_response_free(r);
		sotto_client_conn_close(cn);
	}
	sotto_memzero(&spk, sizeof spk);
	sotto_memzero(kpk, sizeof *kpk);
	free(kpk);
	return rc;
}

/* ---- alarms ---- */

struct ka_alarms {
	size_t n;
	sotto_client_kt_alarm a[32];
	char detail[32][200];
	char account[32][80];
};

static inline int ka_alarm_cb(void *ctx, const sotto_client_kt_alarm *a)
{
	struct ka_alarms *x = ctx;
	if (x->n < 32) {
		x->a[x->n] = *a;
		snprintf(x->detail[x->n], sizeof x->detail[x->n], "%s", a->detail);
		snprintf(x->account[x->n], sizeof x->account[x->n], "%s", a->account);
		x->a[x->n].detail = x->detail[x->n];
		x->a[x->n].account = x->account[x->n];
		x->n++;
	}
	return 0;
}

/* The alarms of c (all states), printed as the CLI would show them. */
static inline void ka_alarms(sotto_client *c, const char *who, struct ka_alarms *x)
{
	memset(x, 0, sizeof *x);
	int rc = sotto_client_kt_alarms(c, 0, ka_alarm_cb, x);
	if (rc != 0)
		tu_fail("%s: alarms: %s", who, sotto_strerror(rc));
	for (size_t i = 0; i < x->n; i++)
		printf("  %s sees alarm %llu kind %d state %d account '%s' device %u: %s\n", who,
			(unsigned long long)x->a[i].id, (int)x->a[i].kind, (int)x->a[i].state,
			x->a[i].account, (unsigned)x->a[i].device_id, x->a[i].detail);
}

/* The first alarm of that kind (and device, unless 0), or NULL. */
static inline const sotto_client_kt_alarm *ka_find(const struct ka_alarms *x, int kind,
	uint32_t device)
{
	for (size_t i = 0; i < x->n; i++)
		if ((int)x->a[i].kind == kind && (device == 0 || x->a[i].device_id == device))
			return &x->a[i];
	return NULL;
}

static inline size_t ka_count(const struct ka_alarms *x, int kind)
{
	size_t n = 0;
	for (size_t i = 0; i < x->n; i++)
		n += (int)x->a[i].kind == kind;
	return n;
}

/* Receives everything waiting for c; returns the number of messages. */
static inline unsigned ka_receive(sotto_client *c, const char *who)
{
	unsigned n = 0;
	int rc = sotto_client_receive(c, 0, NULL, NULL, &n);
	if (rc != 0)
		tu_fail("%s: receive: %s (%s)", who, sotto_strerror(rc), sotto_client_errmsg(c));
	return n;
}

#define KA_OK(c, expr)                                                                    \
	do {                                                                              \
		int rc_ = (expr);                                                         \
		tu_checks++;                                                              \
		if (rc_ != 0) {                                                           \
			tu_failures++;                                                    \
			fprintf(stderr, "%s:%d: %s -> %s (%s)\n", __FILE__, __LINE__, #expr, \
				sotto_strerror(rc_), sotto_client_errmsg(c));             \
		}                                                                         \
	} while (0)

#endif
