/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Auditing a server's key transparency log (sotto audit): download every
 * leaf, recompute the root of every head seen, check the signatures and the
 * server's consistency proofs. Uses its own connection with a throwaway
 * Noise key: the KT requests it needs require no account. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/conn.h"
#include "sotto/curve.h"
#include "sotto/client_kt.h"
#include "sotto/error.h"
#include "sotto/kt.h"
#include "sotto/util.h"

#pragma GCC diagnostic ignored "-Wcast-qual"

typedef Sotto__Service__Request Request;
typedef Sotto__Service__Response Response;

#define PAGE 1024

struct audit {
	sotto_client_conn *conn;
	unsigned timeout_ms;
	sotto_client_report_fn out;
	void *ctx;
	unsigned problems;
};

static void say(struct audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct audit *a, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (a->out != NULL)
		a->out(a->ctx, line);
}

static void problem(struct audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct audit *a, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(line, sizeof line, "INCONSISTENT: ");
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	a->problems++;
	if (a->out != NULL)
		a->out(a->ctx, line);
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int call(struct audit *a, Request *req, Response **r)
{
	int rc = sotto_client_conn_call(a->conn, req, r, a->timeout_ms);
	if (rc != 0)
		return rc;
	if ((*r)->status != SOTTO__SERVICE__STATUS__OK) {
		rc = (*r)->status == SOTTO__SERVICE__STATUS__NOT_FOUND ? SOTTO_ERR_NOT_FOUND :
			(*r)->status == SOTTO__SERVICE__STATUS__BAD_REQUEST ? SOTTO_ERR_INVALID_ARGUMENT :
			SOTTO_ERR_INTERNAL;
		sotto_client_conn_response_free(*r);
		*r = NULL;
	}
	return rc;
}

static int parse_server(const char *server, char host[64], uint16_t *port)
{
	const char *colon = strrchr(server, ':');
	if (colon == NULL || colon == server || (size_t)(colon - server) >= 64)
		return SOTTO_ERR_INVALID_ARGUMENT;
	size_t hl = (size_t)(colon - server);
	const char *h = server;
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || p == 0 || p > 65535)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*port = (uint16_t)p;
	return 0;
}

static int cmp_size(const void *x, const void *y)
{
	const sotto_kt_signed_head *a = x, *b = y;
	return a->head.size < b->head.size ? -1 : a->head.size > b->head.size;
}

int sotto_client_kt_audit(const char *server, const uint8_t server_key[32], const uint8_t *kt_key,
	const uint8_t *heads, size_t n_heads, unsigned timeout_ms, sotto_client_report_fn out,
	void *ctx, unsigned *inconsistent, uint8_t latest[145])
{
	struct audit a;
	sotto_client_conn_config cfg;
	uint8_t dev[32], key[32], log_id[32];
	char host[64], rh[65];
	uint16_t port;
	sotto_kt_signed_head *hs = NULL;
	size_t nh = 0;
	Response *r = NULL;
	int rc;

	memset(&a, 0, sizeof a);
	a.timeout_ms = timeout_ms != 0 ? timeout_ms : 15000;
	a.out = out;
	a.ctx = ctx;
	if (inconsistent != NULL)
		*inconsistent = 0;
	if (server == NULL || server_key == NULL || (heads == NULL && n_heads > 0) ||
		parse_server(server, host, &port) != 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto_random(dev, sizeof dev);
	if (rc != 0)
		return rc;
	sotto_x25519_clamp(dev);
	memset(&cfg, 0, sizeof cfg);
	cfg.host = host;
	cfg.port = port;
	cfg.device_priv = dev;
	cfg.server_pub = server_key;
	cfg.connect_timeout_ms = a.timeout_ms;
	rc = sotto_client_conn_open(&a.conn, &cfg);
	sotto_memzero(dev, sizeof dev);
	if (rc != 0)
		return rc;
	rc = sotto_client_conn_wait_ready(a.conn, a.timeout_ms);
	if (rc != 0)
		goto out;

	/* The latest head and the key the server announces. */
	{
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__KtHeadRequest hr = SOTTO__SERVICE__KT_HEAD_REQUEST__INIT;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_HEAD;
		req.kt_head = &hr;
		rc = call(&a, &req, &r);
		if (rc != 0)
			goto out;
		if (r->kt_head == NULL || r->kt_head->kt_key.len != 32 ||
			r->kt_head->signed_head.len != SOTTO_KT_SIGNED_HEAD_BYTES) {
			rc = SOTTO_ERR_INVALID_MESSAGE;
			goto out;
		}
		memcpy(key, r->kt_head->kt_key.data, 32);
		if (kt_key != NULL && !sotto_memeq(kt_key, key, 32)) {
			problem(&a, "the server announces a KT key that is not the one given");
			memcpy(key, kt_key, 32);
		}
		rc = sotto_kt_log_id(log_id, key);
		hs = calloc(n_heads + 1, sizeof *hs);
		if (rc == 0 && hs == NULL)
			rc = SOTTO_ERR_NOMEM;
		if (rc != 0)
			goto out;
		if (sotto_kt_signed_head_decode(&hs[nh], r->kt_head->signed_head.data,
			    SOTTO_KT_SIGNED_HEAD_BYTES) != 0) {
			rc = SOTTO_ERR_INVALID_MESSAGE;
			goto out;
		}
		if (latest != NULL)
			memcpy(latest, r->kt_head->signed_head.data, SOTTO_KT_SIGNED_HEAD_BYTES);
		sotto_client_conn_response_free(r);
		r = NULL;
		nh++;
	}
	uint64_t size = hs[0].head.size;
	hex(hs[0].head.root, 32, rh);
	say(&a, "latest head: size %llu, root %s, time %llu", (unsigned long long)size, rh,
		(unsigned long long)hs[0].head.timestamp_ms);
	if (sotto_kt_head_verify(&hs[0], key, log_id) != 0)
		problem(&a, "the latest head's signature does not verify under the KT key");
	for (size_t i = 0; i < n_heads; i++) {
		sotto_kt_signed_head h;
		if (sotto_kt_signed_head_decode(&h, heads + i * SOTTO_KT_SIGNED_HEAD_BYTES,
			    SOTTO_KT_SIGNED_HEAD_BYTES) != 0 ||
			sotto_kt_head_verify(&h, key, log_id) != 0) {
			say(&a, "seen head %zu: not a head of this log (skipped)", i);
			continue;
		}
		if (h.head.size > size) {
			problem(&a, "a head of size %llu was signed, but the latest head has only "
				"%llu leaves: the log was rolled back",
				(unsigned long long)h.head.size, (unsigned long long)size);
			continue;
		}
		hs[nh++] = h;
	}
	qsort(hs, nh, sizeof *hs, cmp_size);

	/* Every leaf, in pages; the root is checked at each head's size. */
	sotto_kt_frontier f;
	uint64_t counts[4] = { 0 };
	size_t next = 0;
	sotto_kt_frontier_init(&f);
	while (next < nh && hs[next].head.size == 0)
		next++; /* the empty root was checked by head_verify */
	while (f.size < size) {
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__KtLeavesRequest lr = SOTTO__SERVICE__KT_LEAVES_REQUEST__INIT;
		uint64_t left = size - f.size;
		lr.start = f.size;
		lr.max = left < PAGE ? (uint32_t)left : PAGE;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_LEAVES;
		req.kt_leaves = &lr;
		rc = call(&a, &req, &r);
		if (rc != 0)
			goto out;
		if (r->kt_leaves == NULL || r->kt_leaves->n_leaves == 0) {
			problem(&a, "the server returns no leaves from %llu on (head size %llu)",
				(unsigned long long)f.size, (unsigned long long)size);
			break;
		}
		for (size_t i = 0; i < r->kt_leaves->n_leaves && f.size < size; i++) {
			const ProtobufCBinaryData *b = &r->kt_leaves->leaves[i];
			sotto_kt_leaf leaf;
			uint8_t lh[32], hashes[SOTTO_KT_MAX_APPEND_NODES * 32];
			sotto_kt_node nodes[SOTTO_KT_MAX_APPEND_NODES];
			size_t nn;
			if (sotto_kt_leaf_decode(&leaf, b->data, b->len) != 0)
				problem(&a, "leaf %llu is malformed", (unsigned long long)f.size);
			else
				counts[leaf.event]++;
			rc = sotto_kt_leaf_hash(lh, b->data, b->len);
			if (rc == 0)
				rc = sotto_kt_frontier_append(&f, lh, nodes, hashes, &nn);
			if (rc != 0)
				goto out;
			for (; next < nh && hs[next].head.size == f.size; next++) {
				uint8_t root[32];
				rc = sotto_kt_frontier_root(&f, root);
				if (rc != 0)
					goto out;
				hex(hs[next].head.root, 32, rh);
				if (sotto_memeq(root, hs[next].head.root, 32))
					say(&a, "head size %llu root %s: recomputed, ok",
						(unsigned long long)f.size, rh);
				else
					problem(&a, "head size %llu root %s: the leaves hash to a "
						"different root: the log was rewritten after it was "
						"signed", (unsigned long long)f.size, rh);
			}
		}
		sotto_client_conn_response_free(r);
		r = NULL;
	}

	/* The server's own consistency proofs between the heads. */
	for (size_t i = 0; i + 1 < nh; i++) {
		const sotto_kt_signed_head *h1 = &hs[i], *h2 = &hs[i + 1];
		if (h1->head.size == 0)
			continue;
		if (h1->head.size == h2->head.size) {
			if (!sotto_memeq(h1->head.root, h2->head.root, 32))
				problem(&a, "two signed heads of size %llu with different roots (a fork)",
					(unsigned long long)h1->head.size);
			continue;
		}
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__KtConsistencyRequest cr =
			SOTTO__SERVICE__KT_CONSISTENCY_REQUEST__INIT;
		cr.from_size = h1->head.size;
		cr.to_size = h2->head.size;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_CONSISTENCY;
		req.kt_consistency = &cr;
		rc = call(&a, &req, &r);
		if (rc == SOTTO_ERR_INVALID_ARGUMENT || rc == SOTTO_ERR_NOT_FOUND) {
			problem(&a, "the server refuses a consistency proof from %llu to %llu",
				(unsigned long long)cr.from_size, (unsigned long long)cr.to_size);
			rc = 0;
			continue;
		}
		if (rc != 0)
			goto out;
		const Sotto__Service__KtConsistencyResponse *p = r->kt_consistency;
		sotto_iov pr[SOTTO_KT_MAX_PROOF_HASHES];
		int ok = p != NULL && p->n_hashes <= SOTTO_KT_MAX_PROOF_HASHES;
		for (size_t k = 0; ok && k < p->n_hashes; k++) {
			pr[k].base = p->hashes[k].data;
			pr[k].len = p->hashes[k].len;
		}
		if (!ok || sotto_kt_verify_consistency_buf(h1->head.size, h2->head.size,
				   h1->head.root, 32, h2->head.root, 32, pr, p->n_hashes) != 0)
			problem(&a, "no valid consistency proof from size %llu to %llu",
				(unsigned long long)h1->head.size, (unsigned long long)h2->head.size);
		else
			say(&a, "consistency %llu -> %llu: ok", (unsigned long long)h1->head.size,
				(unsigned long long)h2->head.size);
		sotto_client_conn_response_free(r);
		r = NULL;
	}
	say(&a, "log: %llu leaves (%llu added, %llu removed, %llu key changes), %zu heads "
		"checked, %u inconsistencies", (unsigned long long)f.size,
		(unsigned long long)counts[SOTTO_KT_EVENT_ADD],
		(unsigned long long)counts[SOTTO_KT_EVENT_REMOVE],
		(unsigned long long)counts[SOTTO_KT_EVENT_KEY_CHANGE], nh, a.problems);
	rc = 0;
out:
	if (r != NULL)
		sotto_client_conn_response_free(r);
	free(hs);
	sotto_client_conn_close(a.conn);
	if (inconsistent != NULL)
		*inconsistent = a.problems;
	return rc;
}
