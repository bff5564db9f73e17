/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sottod: the server object, worker threads, accepting, the registry of
 * connected devices and shutdown. */
#include "server/server_internal.h"
#include "server/kt_sqlite.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/util.h"

uint64_t srv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void srv_log(int level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	static int debug = -1;
	char line[512];
	if (debug < 0)
		debug = getenv("SOTTOD_DEBUG") != NULL;
	if (level >= 3 && !debug)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ sottod %s: %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, names[level < 0 ? 0 : (level > 3 ? 3 : level)], line);
}

static void store_log(void *arg, int level, const char *msg)
{
	(void)arg;
	srv_log(level, "store: %s", msg);
}

/* ---- tasks ---- */

void srv_post(struct srv_worker *w, struct task *t)
{
	t->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->tail != NULL)
		w->tail->next = t;
	else
		w->head = t;
	w->tail = t;
	pthread_mutex_unlock(&w->lock);
	uv_async_send(&w->async);
}

static void worker_close_all(struct srv_worker *w);

static void worker_maybe_finish(struct srv_worker *w)
{
	if (!w->stopping || w->conns != NULL)
		return;
	if (!uv_is_closing((uv_handle_t *)&w->async)) {
		uv_close((uv_handle_t *)&w->async, NULL);
		uv_close((uv_handle_t *)&w->tick, NULL);
		uv_close((uv_handle_t *)&w->flush, NULL);
	}
}

static void worker_async(uv_async_t *a)
{
	struct srv_worker *w = a->data;
	pthread_mutex_lock(&w->lock);
	struct task *t = w->head;
	w->head = w->tail = NULL;
	pthread_mutex_unlock(&w->lock);
	while (t != NULL) {
		struct task *next = t->next;
		switch (t->kind) {
		case TASK_NEW_CONN:
			conn_start(w, t);
			free(t);
			break;
		case TASK_OP_DONE:
			op_done_task(t->u.op);
			break;
		case TASK_NOTIFY:
			srv_handle_notify(w, t);
			free(t);
			break;
		case TASK_STOP:
			free(t);
			if (!w->stopping) {
				w->stopping = 1;
				w->stop_deadline_ms = srv_now_ms() + w->srv->cfg.drain_timeout_ms;
				/* Stop reading: no new requests. Connections close once
				 * their in-flight requests are answered (see tick). */
				for (struct conn *c = w->conns; c != NULL; c = c->next) {
					if (c->reading) {
						uv_read_stop((uv_stream_t *)&c->tcp);
						c->reading = 0;
					}
				}
			}
			break;
		}
		t = next;
	}
	if (w->stopping)
		worker_close_all(w);
}

/* During a drain: closes every connection whose requests are done, and all
 * of them after the deadline. */
static void worker_close_all(struct srv_worker *w)
{
	uint64_t now = srv_now_ms();
	struct conn *c = w->conns;
	while (c != NULL) {
		struct conn *next = c->next;
		if (c->state != CONN_CLOSING &&
			((c->inflight == 0 && c->write_pending == 0) || now >= w->stop_deadline_ms))
			conn_close(c);
		c = next;
	}
	worker_maybe_finish(w);
}

static void worker_tick(uv_timer_t *t)
{
	struct srv_worker *w = t->data;
	struct sotto_server *s = w->srv;
	uint64_t now = srv_now_ms();
	if (w->stopping) {
		worker_close_all(w);
		return;
	}
	struct conn *c = w->conns;
	while (c != NULL) {
		struct conn *next = c->next;
		uint64_t age = now - c->created_ms;
		if (c->state == CONN_HANDSHAKE && age > s->cfg.handshake_timeout_ms) {
			conn_close(c);
		} else if (c->state == CONN_OPEN && !c->authed && c->inflight == 0 &&
			age > s->cfg.auth_timeout_ms) {
			conn_close(c);
		}
		c = next;
	}
}

static void worker_main(void *arg)
{
	struct srv_worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* ---- registry ---- */

static size_t reg_hash(const uint8_t account[SOTTO_STORE_ID_BYTES], uint32_t device)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < SOTTO_STORE_ID_BYTES; i++) {
		h ^= account[i];
		h *= 1099511628211ull;
	}
	h ^= device;
	h *= 1099511628211ull;
	return (size_t)(h >> 20) % REG_BUCKETS;
}

void srv_registry_add(struct conn *c)
{
	struct sotto_server *s = c->w->srv;
	size_t b = reg_hash(c->account, c->device);
	pthread_mutex_lock(&s->reg_lock);
	c->reg_next = s->reg[b];
	s->reg[b] = c;
	c->registered = 1;
	pthread_mutex_unlock(&s->reg_lock);
}

void srv_registry_remove(struct conn *c)
{
	struct sotto_server *s = c->w->srv;
	if (!c->registered)
		return;
	size_t b = reg_hash(c->account, c->device);
	pthread_mutex_lock(&s->reg_lock);
	for (struct conn **p = &s->reg[b]; *p != NULL; p = &(*p)->reg_next) {
		if (*p == c) {
			*p = c->reg_next;
			break;
		}
	}
	c->registered = 0;
	pthread_mutex_unlock(&s->reg_lock);
}

/* Marks in want[] the workers that hold a connection of (account, device)
 * (device 0: any device); returns how many. */
static unsigned workers_of(struct sotto_server *s, const uint8_t account[SOTTO_STORE_ID_BYTES],
	uint32_t device, uint8_t want[256])
{
	unsigned n = 0;
	memset(want, 0, 256);
	uint32_t first = device == 0 ? 1 : device;
	uint32_t last = device == 0 ? SOTTO_STORE_MAX_DEVICE_ID : device;
	pthread_mutex_lock(&s->reg_lock);
	for (uint32_t d = first; d <= last; d++) {
		for (struct conn *c = s->reg[reg_hash(account, d)]; c != NULL; c = c->reg_next) {
			if (c->device == d && memcmp(c->account, account, SOTTO_STORE_ID_BYTES) == 0 &&
				!want[c->w->idx]) {
				want[c->w->idx] = 1;
				n++;
			}
		}
	}
	pthread_mutex_unlock(&s->reg_lock);
	return n;
}

/* Posts a copy of tmpl to each marked worker. Connections leave the
 * registry only on their own worker, so the owner re-checks the registry
 * when the task arrives instead of trusting a pointer. */
static void post_to(struct sotto_server *s, const uint8_t want[256], const struct task *tmpl)
{
	for (unsigned i = 0; i < s->nworkers; i++) {
		if (!want[i])
			continue;
		struct task *t = malloc(sizeof(*t));
		if (t == NULL) {
			srv_log(0, "out of memory: a push notification was dropped");
			continue; /* the device still gets the envelope on reconnect */
		}
		*t = *tmpl;
		if (t->u.notify.env != NULL)
			atomic_fetch_add(&t->u.notify.env->refs, 1);
		srv_post(&s->workers[i], t);
	}
}

static void notify_devices(struct sotto_server *s, const uint8_t account[SOTTO_STORE_ID_BYTES],
	uint32_t device, const struct task *tmpl)
{
	uint8_t want[256];
	if (workers_of(s, account, device, want) > 0)
		post_to(s, want, tmpl);
}

void srv_notify(struct sotto_server *s, const uint8_t account[SOTTO_STORE_ID_BYTES],
	uint32_t device, enum notify_kind what, uint64_t seq)
{
	struct task t;
	memset(&t, 0, sizeof(t));
	t.kind = TASK_NOTIFY;
	memcpy(t.u.notify.account, account, SOTTO_STORE_ID_BYTES);
	t.u.notify.device = device;
	t.u.notify.what = what;
	t.u.notify.seq = seq;
	notify_devices(s, account, device, &t);
}

void srv_env_unref(struct pushed_env *env)
{
	if (env != NULL && atomic_fetch_sub(&env->refs, 1) == 1) {
		sotto_memzero(env->content, env->len);
		free(env);
	}
}

void srv_notify_envelope(struct sotto_server *s, const sotto_store_envelope_in *in,
	uint64_t seq, int64_t server_ms)
{
	uint8_t want[256];
	if (workers_of(s, in->dest_account, in->dest_device, want) == 0)
		return; /* offline: it waits in the queue */
	struct task t;
	memset(&t, 0, sizeof(t));
	t.kind = TASK_NOTIFY;
	memcpy(t.u.notify.account, in->dest_account, SOTTO_STORE_ID_BYTES);
	t.u.notify.device = in->dest_device;
	t.u.notify.what = NOTIFY_ENVELOPE;
	t.u.notify.seq = seq;
	/* Without the copy (out of memory) the recipient reads the store. */
	struct pushed_env *pe = malloc(sizeof(*pe) + in->content_len);
	if (pe != NULL) {
		atomic_init(&pe->refs, 1);
		pe->seq = seq;
		pe->server_ms = server_ms;
		pe->sealed = in->sealed;
		memcpy(pe->sender_account, in->sender_account, SOTTO_STORE_ID_BYTES);
		pe->sender_device = in->sender_device;
		pe->type = in->type;
		pe->len = in->content_len;
		memcpy(pe->content, in->content, in->content_len);
	}
	t.u.notify.env = pe;
	post_to(s, want, &t);
	srv_env_unref(pe);
}

void srv_notify_prekeys(struct sotto_server *s, const uint8_t account[SOTTO_STORE_ID_BYTES],
	uint32_t device, uint32_t ec, uint32_t kem)
{
	struct task t;
	memset(&t, 0, sizeof(t));
	t.kind = TASK_NOTIFY;
	memcpy(t.u.notify.account, account, SOTTO_STORE_ID_BYTES);
	t.u.notify.device = device;
	t.u.notify.what = NOTIFY_PREKEYS_LOW;
	t.u.notify.ec = ec;
	t.u.notify.kem = kem;
	notify_devices(s, account, device, &t);
}

void srv_handle_notify(struct srv_worker *w, struct task *t)
{
	struct sotto_server *s = w->srv;
	uint32_t d0 = t->u.notify.device, first = d0 == 0 ? 1 : d0;
	uint32_t last = d0 == 0 ? SOTTO_STORE_MAX_DEVICE_ID : d0;
	struct conn *hits[64];
	size_t n = 0;
	/* Collect under the lock, act outside it (acting may close a
	 * connection, which takes the lock). Connections of this worker stay
	 * valid meanwhile: only this thread frees them. */
	pthread_mutex_lock(&s->reg_lock);
	for (uint32_t d = first; d <= last && n < 64; d++) {
		for (struct conn *c = s->reg[reg_hash(t->u.notify.account, d)];
			c != NULL && n < 64; c = c->reg_next) {
			if (c->w == w && c->device == d &&
				memcmp(c->account, t->u.notify.account, SOTTO_STORE_ID_BYTES) == 0) {
				c->refs++;
				hits[n++] = c;
			}
		}
	}
	pthread_mutex_unlock(&s->reg_lock);
	for (size_t i = 0; i < n; i++) {
		handle_notify_conn(hits[i], t);
		conn_unref(hits[i]);
	}
	srv_env_unref(t->u.notify.env);
}

/* ---- connections per source address ---- */

static size_t addr_hash(const uint8_t *key, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= key[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h >> 20) % ADDR_BUCKETS;
}

/* Takes a slot for a new connection from this address; 0 when the address
 * is at its limit (or out of memory: refusing is the safe answer). */
static int addr_acquire(struct sotto_server *s, const uint8_t *key, size_t len)
{
	size_t b = addr_hash(key, len);
	int ok = 0;
	pthread_mutex_lock(&s->addr_lock);
	struct addr_count *a = s->addrs[b];
	while (a != NULL && (a->len != len || memcmp(a->key, key, len) != 0))
		a = a->next;
	if (a == NULL) {
		a = calloc(1, sizeof(*a));
		if (a != NULL) {
			memcpy(a->key, key, len);
			a->len = (uint8_t)len;
			a->next = s->addrs[b];
			s->addrs[b] = a;
		}
	}
	if (a != NULL && a->n < s->cfg.max_conns_per_addr) {
		a->n++;
		ok = 1;
	}
	pthread_mutex_unlock(&s->addr_lock);
	return ok;
}

void srv_addr_release(struct sotto_server *s, const uint8_t *key, size_t len)
{
	if (len == 0)
		return;
	size_t b = addr_hash(key, len);
	pthread_mutex_lock(&s->addr_lock);
	for (struct addr_count **p = &s->addrs[b]; *p != NULL; p = &(*p)->next) {
		struct addr_count *a = *p;
		if (a->len == len && memcmp(a->key, key, len) == 0) {
			if (a->n > 0)
				a->n--;
			if (a->n == 0) {
				/* Only addresses with open connections take memory. */
				*p = a->next;
				free(a);
			}
			break;
		}
	}
	pthread_mutex_unlock(&s->addr_lock);
}

/* ---- accepting ---- */

static void on_listen(uv_poll_t *p, int status, int events)
{
	struct sotto_server *s = p->data;
	(void)events;
	if (status < 0 || atomic_load(&s->stopping))
		return;
	/* Accept a bounded batch per wake-up so one busy listener cannot
	 * starve the signal handlers of the main loop. */
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				srv_log(1, "accept: %s", strerror(errno));
			return;
		}
		if (atomic_load(&s->nconns) >= s->cfg.max_connections) {
			close(fd);
			continue;
		}
		struct task *t = calloc(1, sizeof(*t));
		if (t == NULL) {
			close(fd);
			continue;
		}
		t->kind = TASK_NEW_CONN;
		t->u.conn.fd = fd;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, t->u.conn.addr, sizeof(t->u.conn.addr));
			memcpy(t->u.conn.addr_key, &in->sin_addr, 4);
			t->u.conn.addr_key_len = 4;
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, t->u.conn.addr, sizeof(t->u.conn.addr));
			/* Rate-limit IPv6 sources by their /64: one host usually
			 * owns a whole /64. */
			memcpy(t->u.conn.addr_key, &in6->sin6_addr, 8);
			t->u.conn.addr_key_len = 8;
		}
		if (t->u.conn.addr_key_len > 0 &&
			!addr_acquire(s, t->u.conn.addr_key, t->u.conn.addr_key_len)) {
			/* One address may not take every slot of the server. */
			srv_log(3, "closing a connection from %s: too many from that address",
				t->u.conn.addr);
			close(fd);
			free(t);
			continue;
		}
		atomic_fetch_add(&s->nconns, 1);
		unsigned wi = s->next_worker++ % s->nworkers;
		srv_post(&s->workers[wi], t);
	}
}

static void begin_stop(struct sotto_server *s)
{
	if (atomic_exchange(&s->stopping, 1))
		return;
	srv_log(2, "stopping: draining connections");
	uv_poll_stop(&s->listen_poll);
	uv_close((uv_handle_t *)&s->listen_poll, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->stop_async, NULL);
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct task *t = calloc(1, sizeof(*t));
		if (t == NULL) {
			/* Without a task the worker would never stop: keep it simple
			 * and retry the allocation. */
			i--;
			continue;
		}
		t->kind = TASK_STOP;
		srv_post(&s->workers[i], t);
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	(void)signum;
	begin_stop(h->data);
}

static void on_stop_async(uv_async_t *a)
{
	begin_stop(a->data);
}

void sotto_server_stop(sotto_server *s)
{
	uv_async_send(&s->stop_async);
}

/* ---- setup ---- */

static int mkdir_p(const char *dir)
{
	char path[1024];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(path))
		return -1;
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] == '/' || path[i] == '\0') {
			char ch = path[i];
			path[i] = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
				return -1;
			path[i] = ch;
		}
	}
	return 0;
}

/* Reads DIR/server.key, or creates it (0600, written and fsynced before it
 * is used, so a crash never leaves a half key that the next start reads). */
static int load_key(const char *dir, uint8_t priv[32], uint8_t pub[32], char *err, size_t errcap)
{
	char path[1100], tmp[1110];
	snprintf(path, sizeof(path), "%s/%s", dir, SOTTO_SERVER_KEY_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		ssize_t r = -1;
		if (fstat(fd, &st) == 0 && st.st_size == 32)
			r = read(fd, priv, 32);
		close(fd);
		if (r != 32) {
			snprintf(err, errcap, "%s: not a 32-byte key file", path);
			return SOTTO_ERR_INVALID_KEY;
		}
		if ((st.st_mode & 077) != 0)
			srv_log(1, "%s is readable by others (mode %o); it should be 0600", path,
				(unsigned)(st.st_mode & 0777));
		return sotto_x25519_public(pub, priv);
	}
	if (errno != ENOENT) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return SOTTO_ERR_STORAGE;
	}
	int rc = sotto_x25519_keypair(pub, priv);
	if (rc != 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, priv, 32) != 32 || fsync(fd) != 0 || close(fd) != 0 ||
		rename(tmp, path) != 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return SOTTO_ERR_STORAGE;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	srv_log(2, "created a new server key in %s", path);
	return 0;
}

static int open_store(sotto_store **st, const char *dir, const sotto_server_config *cfg,
	const uint8_t *kt_key, char *err, size_t errcap)
{
	sotto_store_config sc;
	memset(&sc, 0, sizeof(sc));
	sc.data_dir = dir;
	sc.max_envelope_bytes = cfg->max_envelope;
	sc.max_queue_len = cfg->max_queue_len;
	sc.batch_wait_us = cfg->store_batch_wait_us;
	sc.max_readers = 64;
	sc.log = store_log;
	sc.kt_key = kt_key; /* NULL (admin commands): no tree head is signed */
	return sotto_store_open_sqlite(st, &sc, err, errcap);
}

static int listen_socket(sotto_server *s, char *err, size_t errcap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, s->cfg.listen_host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(s->cfg.listen_port);
		sl = sizeof(*in);
	} else if (inet_pton(AF_INET6, s->cfg.listen_host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(s->cfg.listen_port);
		sl = sizeof(*in6);
	} else {
		snprintf(err, errcap, "listen address %s is not a numeric IP address",
			s->cfg.listen_host);
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 4096) != 0) {
		snprintf(err, errcap, "listen on %s:%u: %s", s->cfg.listen_host,
			(unsigned)s->cfg.listen_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SOTTO_ERR_STORAGE;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		s->cfg.listen_port = ntohs(ss.ss_family == AF_INET ? in->sin_port : in6->sin6_port);
	snprintf(s->address, sizeof(s->address), ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		s->cfg.listen_host, (unsigned)s->cfg.listen_port);
	s->listen_fd = fd;
	return 0;
}

int sotto_server_new(sotto_server **out, const char *data_dir, const sotto_server_config *cfg,
	uint8_t pub[32], char *err, size_t errcap)
{
	int rc;
	*out = NULL;
	if (strlen(data_dir) >= 1000) {
		snprintf(err, errcap, "data directory name too long");
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	if (sotto_init() != 0) {
		snprintf(err, errcap, "crypto initialisation failed");
		return SOTTO_ERR_CRYPTO;
	}
	sotto_server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SOTTO_ERR_NOMEM;
	s->cfg = *cfg;
	s->listen_fd = -1;
	snprintf(s->data_dir, sizeof(s->data_dir), "%s", data_dir);
	if (mkdir_p(data_dir) != 0) {
		snprintf(err, errcap, "%s: %s", data_dir, strerror(errno));
		free(s);
		return SOTTO_ERR_STORAGE;
	}
	rc = load_key(data_dir, s->static_priv, s->static_pub, err, errcap);
	if (rc == 0)
		rc = sotto__kt_key_load(data_dir, s->kt_priv, s->kt_pub, err, errcap);
	if (rc == 0)
		rc = sotto__sealed_keys_load(data_dir, &s->sealed, err, errcap);
	if (rc == 0)
		rc = open_store(&s->store, data_dir, cfg, s->kt_priv, err, errcap);
	if (rc == 0)
		rc = listen_socket(s, err, errcap);
	if (rc == 0 && (sotto_rl_init(&s->rl_addr, cfg->addr_rate, cfg->addr_burst, 65536) != 0 ||
		sotto_rl_init(&s->rl_dev, cfg->device_rate, cfg->device_burst, 65536) != 0))
		rc = SOTTO_ERR_NOMEM;
	if (rc != 0) {
		sotto_server_free(s);
		return rc;
	}
	pthread_mutex_init(&s->reg_lock, NULL);
	pthread_mutex_init(&s->addr_lock, NULL);
	pthread_mutex_init(&s->attach_lock, NULL);
	memcpy(pub, s->static_pub, 32);
	*out = s;
	return 0;
}

const char *sotto_server_address(const sotto_server *s)
{
	return s->address;
}

int sotto_server_run(sotto_server *s)
{
	unsigned n = s->cfg.workers != 0 ? s->cfg.workers : uv_available_parallelism();
	if (n == 0)
		n = 1;
	if (n > 256)
		n = 256;
	/* Store reads and attachment I/O run in libuv's pool; a few more
	 * threads than cores keep reads flowing while some wait on disk. */
	if (getenv("UV_THREADPOOL_SIZE") == NULL) {
		char v[16];
		snprintf(v, sizeof(v), "%u", n * 4 < 8 ? 8 : n * 4);
		setenv("UV_THREADPOOL_SIZE", v, 0);
	}
	if (uv_loop_init(&s->main_loop) != 0)
		return SOTTO_ERR_INTERNAL;
	s->workers = calloc(n, sizeof(*s->workers));
	if (s->workers == NULL)
		return SOTTO_ERR_NOMEM;
	s->nworkers = n;
	for (unsigned i = 0; i < n; i++) {
		struct srv_worker *w = &s->workers[i];
		w->srv = s;
		w->idx = i;
		if (uv_loop_init(&w->loop) != 0 || pthread_mutex_init(&w->lock, NULL) != 0)
			return SOTTO_ERR_INTERNAL;
		uv_async_init(&w->loop, &w->async, worker_async);
		w->async.data = w;
		uv_timer_init(&w->loop, &w->tick);
		w->tick.data = w;
		uv_timer_start(&w->tick, worker_tick, 250, 250);
		conn_flush_init(w);
		if (uv_thread_create(&w->thread, worker_main, w) != 0)
			return SOTTO_ERR_INTERNAL;
	}
	uv_poll_init(&s->main_loop, &s->listen_poll, s->listen_fd);
	s->listen_poll.data = s;
	uv_poll_start(&s->listen_poll, UV_READABLE, on_listen);
	uv_signal_init(&s->main_loop, &s->sigterm);
	s->sigterm.data = s;
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_signal_init(&s->main_loop, &s->sigint);
	s->sigint.data = s;
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	uv_async_init(&s->main_loop, &s->stop_async, on_stop_async);
	s->stop_async.data = s;
	srv_log(2, "listening on %s with %u workers", s->address, n);

	uv_run(&s->main_loop, UV_RUN_DEFAULT);
	close(s->listen_fd);
	s->listen_fd = -1;
	for (unsigned i = 0; i < n; i++) {
		uv_thread_join(&s->workers[i].thread);
		uv_loop_close(&s->workers[i].loop);
		free(s->workers[i].scratch);
		pthread_mutex_destroy(&s->workers[i].lock);
	}
	uv_loop_close(&s->main_loop);
	/* Every pending write finishes before the store closes: nothing
	 * acknowledged is lost, and nothing is acknowledged after this. */
	sotto_store_close(s->store);
	s->store = NULL;
	srv_log(2, "stopped");
	return 0;
}

void sotto_server_free(sotto_server *s)
{
	if (s == NULL)
		return;
	if (s->store != NULL)
		sotto_store_close(s->store);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	sotto_rl_destroy(&s->rl_addr);
	sotto_rl_destroy(&s->rl_dev);
	for (size_t i = 0; i < ADDR_BUCKETS; i++) {
		while (s->addrs[i] != NULL) {
			struct addr_count *a = s->addrs[i];
			s->addrs[i] = a->next;
			free(a);
		}
	}
	free(s->workers);
	sotto_memzero(s->static_priv, sizeof(s->static_priv));
	sotto_memzero(s->kt_priv, sizeof(s->kt_priv));
	sotto__sealed_keys_wipe(&s->sealed);
	free(s);
}

int sotto_server_admin_invite(const char *data_dir, int64_t valid_ms, char *out, size_t cap,
	char *err, size_t errcap)
{
	sotto_server_config cfg;
	sotto_server_config_defaults(&cfg);
	if (sotto_init() != 0)
		return SOTTO_ERR_CRYPTO;
	if (mkdir_p(data_dir) != 0) {
		snprintf(err, errcap, "%s: %s", data_dir, strerror(errno));
		return SOTTO_ERR_STORAGE;
	}
	sotto_store *st;
	int rc = open_store(&st, data_dir, &cfg, NULL, err, errcap);
	if (rc != 0)
		return rc;
	uint8_t code[SOTTO_STORE_INVITE_BYTES];
	int64_t now = (int64_t)srv_now_ms();
	rc = sotto_store_invite_create(st, now, now + valid_ms, code, NULL);
	sotto_store_close(st);
	if (rc == 0)
		rc = sotto_server_b64(code, sizeof(code), 1, out, cap);
	sotto_memzero(code, sizeof(code));
	if (rc != 0)
		snprintf(err, errcap, "creating the invite failed: %s", sotto_strerror(rc));
	return rc;
}
