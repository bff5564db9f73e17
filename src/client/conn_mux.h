/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Many client connections to sottod on one thread (docs/server-api.md).
 *
 * conn.h gives a client one connection with its own I/O thread and blocking
 * calls; that is what an app wants. A load generator or a test that holds
 * thousands of connections wants the opposite: one epoll loop, no thread per
 * connection, pipelined requests and callbacks. This is that engine. It
 * speaks the same protocol (Noise IK with a pinned key, or XX; framed
 * protobuf messages) and does not reconnect: a dropped connection is
 * reported once and freed.
 *
 * Single-threaded: every call for one sotto_mux and its connections must come
 * from the same thread, and callbacks run inside sotto_mux_poll. A callback
 * may send, open or close connections (including its own). */
#ifndef SOTTO_CLIENT_CONN_MUX_H
#define SOTTO_CLIENT_CONN_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "service.pb-c.h"

typedef struct sotto_mux sotto_mux;
typedef struct sotto_mux_conn sotto_mux_conn;

typedef struct sotto_mux_handlers {
	/* The handshake finished: requests can be sent. */
	void (*on_open)(void *arg, sotto_mux_conn *c);
	/* The connection ended (connect, handshake or transport failure, the
	 * server closed it, or sotto_mux_close). err is a SOTTO_ERR_* code (0
	 * after sotto_mux_close). c is freed after the callback returns. */
	void (*on_close)(void *arg, sotto_mux_conn *c, int err);
	/* A response; r is valid only during the call. */
	void (*on_response)(void *arg, sotto_mux_conn *c, const Sotto__Service__Response *r);
	/* A push; valid only during the call. */
	void (*on_push)(void *arg, sotto_mux_conn *c, const Sotto__Service__Push *p);
} sotto_mux_handlers;

typedef struct sotto_mux_config {
	unsigned handshake_timeout_ms; /* 0: 10000 (connect and handshake) */
	size_t max_message;            /* 0: SOTTO_WIRE_DEFAULT_MAX_MESSAGE */
} sotto_mux_config;

/* cfg may be NULL for the defaults. */
int sotto_mux_new(sotto_mux **out, const sotto_mux_config *cfg, const sotto_mux_handlers *h,
	void *arg);
/* Closes every connection (on_close runs with err 0) and frees m. */
void sotto_mux_free(sotto_mux *m);

/* Starts a connection to host:port (numeric IPv4/IPv6). src, if not NULL,
 * is the local address to connect from (e.g. 127.0.0.2: each source address
 * has its own ephemeral ports, so many addresses allow more than ~28,000
 * connections to one server port). server_pub pins the server key (IK);
 * NULL runs XX. device_priv is the device's 32-byte Noise static key,
 * copied. Returns 0 with *out set (may be NULL); on_open or on_close follow
 * from sotto_mux_poll. */
int sotto_mux_connect(sotto_mux *m, const char *host, uint16_t port, const char *src,
	const uint8_t device_priv[32], const uint8_t *server_pub, void *user,
	sotto_mux_conn **out);

/* Gives req a fresh id (written to req->id and *id), encrypts it and queues
 * it; it goes out at the next sotto_mux_flush or sotto_mux_poll. Only after
 * on_open. SOTTO_ERR_LIMIT when the message is too large; other errors
 * close the connection (on_close follows). */
int sotto_mux_send(sotto_mux_conn *c, Sotto__Service__Request *req, uint64_t *id);
/* Writes queued bytes of every connection as far as the sockets take them. */
void sotto_mux_flush(sotto_mux *m);
/* Flushes, waits up to timeout_ms for events, handles them (callbacks run
 * here) and returns how many there were (0 on timeout), or a negative error. */
int sotto_mux_poll(sotto_mux *m, int timeout_ms);
/* Closes a connection: on_close (err 0) runs at once. */
void sotto_mux_close(sotto_mux_conn *c);

void *sotto_mux_user(const sotto_mux_conn *c);
void sotto_mux_set_user(sotto_mux_conn *c, void *user);
/* 1 once on_open has run. */
int sotto_mux_is_open(const sotto_mux_conn *c);
/* Connections not yet closed. */
size_t sotto_mux_count(const sotto_mux *m);
/* Bytes queued but not yet written on c. */
size_t sotto_mux_pending(const sotto_mux_conn *c);

#endif
