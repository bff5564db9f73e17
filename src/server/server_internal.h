/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Shared between server.c (workers, accept, registry), conn.c (one client
 * connection: TCP, Noise, framing) and handler.c (requests). */
#ifndef SOTTO_SERVER_INTERNAL_H
#define SOTTO_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "server/ratelimit.h"
#include "server/sealed_keys.h"
#include "server/server.h"
#include "server/store.h"
#include "wire/wire.h"

struct srv_worker;
struct conn;
struct op;

/* Work handed to a worker from another thread. */
enum task_kind {
	TASK_NEW_CONN = 1, /* a freshly accepted socket */
	TASK_OP_DONE,      /* a store write finished (the task is op->task) */
	TASK_NOTIFY,       /* a device has new envelopes or changed */
	TASK_STOP,         /* drain and stop */
};

enum notify_kind {
	NOTIFY_ENVELOPE = 1, /* new envelope(s) up to seq */
	NOTIFY_DEVICES,      /* the account's device list changed */
	NOTIFY_UNLINKED,     /* the device was unlinked: close it */
	NOTIFY_PREKEYS_LOW,  /* one-time prekeys are running out */
};

/* A committed envelope carried along with its notification, so that a
 * recipient connection that has pushed everything before it can push it at
 * once instead of reading its queue back from the store. Shared by the
 * notifications of every worker (reference counted), read-only. */
struct pushed_env {
	atomic_int refs;
	uint64_t seq;
	int64_t server_ms;
	int sealed;
	uint8_t sender_account[SOTTO_STORE_ID_BYTES];
	uint32_t sender_device;
	uint32_t type;
	size_t len;
	uint8_t content[];
};

struct task {
	struct task *next;
	enum task_kind kind;
	union {
		struct {
			int fd;
			char addr[64];
			uint8_t addr_key[16];
			uint8_t addr_key_len;
		} conn;
		struct op *op;
		struct {
			uint8_t account[SOTTO_STORE_ID_BYTES];
			uint32_t device;
			enum notify_kind what;
			uint64_t seq;
			uint32_t ec, kem;
			struct pushed_env *env; /* NOTIFY_ENVELOPE: may be NULL */
		} notify;
	} u;
};

struct srv_worker {
	struct sotto_server *srv;
	unsigned idx;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t async;
	uv_timer_t tick;
	uv_check_t flush;         /* writes what connections queued this loop turn */
	struct conn *flush_list;  /* connections with queued output */
	uint8_t *scratch;         /* a reply's plaintext before encryption */
	size_t scratch_cap;
	pthread_mutex_t lock;
	struct task *head, *tail; /* posted tasks, under lock */
	struct conn *conns;       /* every connection of this worker */
	size_t nconns;
	int stopping;
	uint64_t stop_deadline_ms;
	uint8_t readbuf[65536]; /* shared by this loop's reads: data is consumed at once */
};

#define REG_BUCKETS 4096
#define ADDR_BUCKETS 4096

/* Open connections of one source address (IPv6: its /64). */
struct addr_count {
	struct addr_count *next;
	uint8_t key[16];
	uint8_t len;
	size_t n;
};

struct sotto_server {
	sotto_server_config cfg;
	char data_dir[1024];
	char address[96];
	sotto_store *store;
	uint8_t static_priv[32], static_pub[32];
	uint8_t kt_priv[32], kt_pub[32]; /* KT Ed25519 seed and public key (DIR/kt-ed25519.key) */
	struct sotto__sealed_keys sealed; /* sealed sender (server/sealed_keys.c) */
	uv_loop_t main_loop;
	uv_poll_t listen_poll;
	uv_signal_t sigterm, sigint;
	uv_async_t stop_async;
	int listen_fd;
	struct srv_worker *workers;
	unsigned nworkers, next_worker;
	atomic_size_t nconns;
	atomic_int stopping;
	pthread_mutex_t reg_lock;
	struct conn *reg[REG_BUCKETS]; /* authenticated connections by (account, device) */
	sotto_ratelimit rl_addr, rl_dev;
	pthread_mutex_t addr_lock;
	struct addr_count *addrs[ADDR_BUCKETS]; /* for max_conns_per_addr */
	pthread_mutex_t attach_lock; /* serialises chunk appends */
};

enum conn_state {
	CONN_HANDSHAKE = 1,
	CONN_OPEN,
	CONN_CLOSING,
};

struct conn {
	struct srv_worker *w;
	struct conn *prev, *next; /* worker list */
	struct conn *reg_next;    /* registry bucket chain (under reg_lock) */
	uv_tcp_t tcp;
	int refs; /* 1 for the handle + 1 per operation in flight */
	enum conn_state state;
	uint8_t reading, registered, authed, drained, fetching, refetch, want_fetch;
	uint8_t addr_key_len;
	uint8_t addr_key[16];
	sotto_noise_handshake *hs;
	sotto_noise_cipher *tx, *rx;
	sotto_wire_reader frames, msgs;
	uint8_t peer_key[32];
	uint8_t account[SOTTO_STORE_ID_BYTES];
	uint32_t device;
	uint64_t last_pushed; /* highest seq pushed on this connection */
	size_t write_pending; /* queued in obuf and handed to libuv, not yet written */
	/* Replies of one loop turn, encrypted and framed, written in one go by
	 * the worker's flush; NULL while nothing is queued. */
	uint8_t *obuf;
	size_t olen, ocap;
	struct conn *flush_next;
	uint8_t flush_queued;
	unsigned inflight;
	uint64_t created_ms;
};

/* An operation: one request (or a queue fetch) in progress. */
typedef void (*op_fn)(struct op *op);
struct op {
	struct task task; /* for TASK_OP_DONE */
	struct conn *c;
	uint64_t req_id;
	Sotto__Service__Request *req; /* owned; NULL for internal ops */
	uv_work_t work;
	op_fn run;   /* in the thread pool (blocking store reads, file I/O) */
	op_fn after; /* on the loop */
	int rc;
	const char *err; /* static reason text for the response */
	void *data;      /* handler-specific state, freed with free_data */
	void (*free_data)(void *);
};

/* server.c */
uint64_t srv_now_ms(void);
void srv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void srv_post(struct srv_worker *w, struct task *t);
/* Gives back a connection slot of a source address (any thread). */
void srv_addr_release(struct sotto_server *s, const uint8_t *key, size_t len);
void srv_registry_add(struct conn *c);
void srv_registry_remove(struct conn *c);
/* Tells every connection of (account, device) (device 0: every device)
 * about something, on whatever worker it lives. */
void srv_notify(struct sotto_server *s, const uint8_t account[SOTTO_STORE_ID_BYTES],
	uint32_t device, enum notify_kind what, uint64_t seq);
/* NOTIFY_ENVELOPE for a committed envelope: a copy of it travels with the
 * notification when its device is online. */
void srv_notify_envelope(struct sotto_server *s, const sotto_store_envelope_in *in,
	uint64_t seq, int64_t server_ms);
void srv_env_unref(struct pushed_env *env);
void srv_notify_prekeys(struct sotto_server *s, const uint8_t account[SOTTO_STORE_ID_BYTES],
	uint32_t device, uint32_t ec, uint32_t kem);
void srv_handle_notify(struct srv_worker *w, struct task *t);

/* conn.c */
void conn_start(struct srv_worker *w, struct task *t);
void conn_close(struct conn *c);
void conn_unref(struct conn *c);
/* Encrypts and queues a ServerMessage; closes the connection on failure. */
int conn_send(struct conn *c, const Sotto__Service__ServerMessage *m);
void conn_pause_check(struct conn *c);
/* Starts the worker's per-turn output flush. */
void conn_flush_init(struct srv_worker *w);

/* handler.c */
void handle_request(struct conn *c, const uint8_t *msg, size_t len);
void conn_fetch_queue(struct conn *c);
void handle_notify_conn(struct conn *c, const struct task *t);
void op_done_task(struct op *op);

#endif
