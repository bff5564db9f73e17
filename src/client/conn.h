/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Client connection to sottod (docs/server-api.md).
 *
 * Design: each connection owns one background I/O thread that connects,
 * runs the Noise handshake as initiator (IK with a pinned server key, XX on
 * first contact), reads and decrypts, delivers pushes to a callback and
 * reconnects with exponential backoff. Callers use a blocking call API from
 * any thread (several may wait at once; replies are matched by request id),
 * which is what a client engine with its own worker threads wants; the
 * callbacks run on the I/O thread and must not call sotto_client_conn_call
 * (they may queue work for another thread).
 *
 * After every (re)connect the library sends AuthenticateRequest itself when
 * cfg.authenticate is set, so pushes resume without the caller's help; the
 * connection counts as ready once that succeeded. */
#ifndef SOTTO_CLIENT_CONN_H
#define SOTTO_CLIENT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "service.pb-c.h"

typedef struct sotto_client_conn sotto_client_conn;

/* A push from the server; valid only during the call. */
typedef void (*sotto_client_push_fn)(void *arg, const Sotto__Service__Push *push);
/* ready = 1: connected (and authenticated when asked); 0: lost, with the
 * reason in err (a SOTTO_ERR_* code). */
typedef void (*sotto_client_state_fn)(void *arg, int ready, int err);

typedef struct sotto_client_conn_config {
	const char *host; /* numeric IPv4/IPv6 address */
	uint16_t port;
	const uint8_t *device_priv; /* 32-byte X25519 Noise static key of this device */
	const uint8_t *server_pub;  /* pinned server key (IK), or NULL for XX first contact */
	int authenticate;           /* send AuthenticateRequest after each connect */
	int reconnect;              /* reconnect after a drop (else the connection ends) */
	unsigned backoff_min_ms;    /* 0: 100 */
	unsigned backoff_max_ms;    /* 0: 30000 */
	unsigned connect_timeout_ms; /* 0: 10000; also bounds the handshake */
	size_t max_message;         /* 0: SOTTO_WIRE_DEFAULT_MAX_MESSAGE */
	sotto_client_push_fn on_push;
	sotto_client_state_fn on_state;
	void *arg;
} sotto_client_conn_config;

/* Starts the I/O thread; returns at once (use wait_ready). */
int sotto_client_conn_open(sotto_client_conn **out, const sotto_client_conn_config *cfg);
/* Waits until the connection is ready. SOTTO_ERR_TIMEOUT, or the last
 * connection error when reconnecting is off and the attempt failed. */
int sotto_client_conn_wait_ready(sotto_client_conn *c, unsigned timeout_ms);
/* Sends req (its id is overwritten with a fresh one) and waits for the
 * response. Waits for readiness first (within the same timeout). On
 * success *resp is the decoded response (free with
 * sotto_client_conn_response_free); a non-OK status is still success here.
 * Errors: SOTTO_ERR_TIMEOUT, SOTTO_ERR_NETWORK (the connection dropped: the
 * request may or may not have been handled), SOTTO_ERR_LIMIT (too large). */
int sotto_client_conn_call(sotto_client_conn *c, Sotto__Service__Request *req,
	Sotto__Service__Response **resp, unsigned timeout_ms);
void sotto_client_conn_response_free(Sotto__Service__Response *resp);
/* The server's static key as authenticated by the last handshake (learn it
 * on first contact with XX, then pin it). SOTTO_ERR_NOT_FOUND before. */
int sotto_client_conn_server_key(sotto_client_conn *c, uint8_t pub[32]);
/* 1 while connected and ready. */
int sotto_client_conn_is_ready(sotto_client_conn *c);
/* Stops the thread, fails waiting calls with SOTTO_ERR_NETWORK, frees. */
void sotto_client_conn_close(sotto_client_conn *c);

#endif
