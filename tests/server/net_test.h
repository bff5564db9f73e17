/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Helpers for the loopback integration tests of sottod: a real sottod
 * process with a temporary data directory and config, blocking clients over
 * the client connection library, and bounded waits. Header-only (static
 * functions), like store_test.h, so each test stays one program. */
#ifndef SOTTO_NET_TEST_H
#define SOTTO_NET_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/conn.h"
#include "server/server.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/protocol.h"
#include "sotto/util.h"
#include "testutil.h"
#include "wire/wire.h"

#define NT_CALL_MS 10000 /* bound on every blocking call */

typedef Sotto__Service__Request Request;
typedef Sotto__Service__Response Response;

static char nt_dir[256], nt_cfg[300], nt_bin[512];
static pid_t nt_pid = -1;
static uint16_t nt_port;
static uint8_t nt_pub[32];

static inline void nt_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static inline uint64_t nt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Raises the soft descriptor limit (and the hard one when allowed) to at
 * least want; returns the soft limit in force. */
static inline rlim_t nt_raise_nofile(rlim_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur >= want)
		return rl.rlim_cur;
	struct rlimit nr = rl;
	nr.rlim_cur = want;
	if (nr.rlim_max < want)
		nr.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &nr) != 0) {
		/* Not privileged: go as high as the hard limit allows. */
		nr.rlim_max = rl.rlim_max;
		nr.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		(void)setrlimit(RLIMIT_NOFILE, &nr);
	}
	(void)getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

/* Creates the temp data directory and writes the config (extra lines are
 * appended to a base of open registration and 2 workers). */
static inline int nt_setup(const char *name, const char *extra_config)
{
	if (sotto_init() != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	const char *bin = getenv("SOTTO_BIN");
	snprintf(nt_bin, sizeof(nt_bin), "%s/sottod", bin != NULL ? bin : "bin");
	snprintf(nt_dir, sizeof(nt_dir), "/tmp/sotto-%s-XXXXXX", name);
	if (mkdtemp(nt_dir) == NULL)
		return -1;
	snprintf(nt_cfg, sizeof(nt_cfg), "%s.conf", nt_dir);
	FILE *f = fopen(nt_cfg, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "registration = open\nworkers = 2\n%s", extra_config != NULL ? extra_config : "");
	fclose(f);
	return 0;
}

/* Starts sottod on 127.0.0.1:port (0: any free port) and reads its two
 * start-up lines (bounded by 10 s). */
static inline int nt_start_server(uint16_t port)
{
	int pfd[2];
	if (pipe(pfd) != 0)
		return -1;
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(nt_bin, "sottod", "--data", nt_dir, "--listen", listen, "--config", nt_cfg,
			(char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char buf[512];
	size_t n = 0;
	while (n < sizeof(buf) - 1) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t r = read(pfd[0], buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		const char *k = strstr(buf, "public-key ");
		if (k != NULL && strchr(k, '\n') != NULL)
			break;
	}
	close(pfd[0]);
	buf[n] = '\0';
	char host[64], key[128];
	unsigned p;
	size_t klen;
	if (sscanf(buf, "listen %63[^:]:%u\npublic-key %127s", host, &p, key) != 3 ||
		sotto_server_b64_decode(key, nt_pub, sizeof(nt_pub), &klen) != 0 || klen != 32) {
		fprintf(stderr, "sottod printed: %s\n", buf);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	nt_port = (uint16_t)p;
	nt_pid = pid;
	return 0;
}

/* waitpid with a deadline; the status, or -1 (the process is then killed). */
static inline int nt_wait_exit(pid_t pid, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 5) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		nt_sleep_ms(5);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Stops the server (SIGTERM; SIGKILL if it hangs) and removes the data. */
static inline void nt_teardown(void)
{
	if (nt_pid > 0) {
		kill(nt_pid, SIGTERM);
		int st = nt_wait_exit(nt_pid, 15000);
		/* Exit status 0: a clean drain (and, under ASan, no leak). */
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			tu_fail("sottod did not stop cleanly on SIGTERM (status %d)", st);
		nt_pid = -1;
	}
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", nt_dir, nt_cfg);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", nt_dir);
}

/* Resident memory of a process in KiB (VmRSS), 0 if unknown. */
static inline unsigned long nt_rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	unsigned long kib = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* A raw TCP connection to the server, for hostile input. */
static inline int nt_raw_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(nt_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* 1 if the server closes fd within ms. */
static inline int nt_closed_by_server(int fd, unsigned ms)
{
	uint8_t b[256];
	uint64_t end = nt_now_ms() + ms;
	while (nt_now_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 50) > 0) {
			ssize_t r = recv(fd, b, sizeof(b), 0);
			if (r == 0 || (r < 0 && errno == ECONNRESET))
				return 1;
		}
	}
	return 0;
}

/* ---- blocking clients over src/client/conn.h ---- */

#define NT_MAX_GOT 4096

struct nt_env {
	uint64_t seq;
	uint32_t type;
	int sealed;
	uint8_t sender[16];
	uint32_t sender_device;
	uint8_t *content;
	size_t len;
};

struct nt_client {
	sotto_client_conn *conn;
	uint8_t priv[32], pub[32];
	sotto_ec_keypair id; /* the account's identity key (shared by its devices) */
	uint8_t account[16];
	uint32_t device;
	uint32_t reg_id;
	pthread_mutex_t lock;
	struct nt_env got[NT_MAX_GOT];
	size_t n_got;
	int queue_empty, prekeys_low, devices_changed, lost;
};

static inline void nt_on_push(void *arg, const Sotto__Service__Push *p)
{
	struct nt_client *c = arg;
	pthread_mutex_lock(&c->lock);
	if (p->body_case == SOTTO__SERVICE__PUSH__BODY_ENVELOPE && c->n_got < NT_MAX_GOT) {
		struct nt_env *e = &c->got[c->n_got];
		const Sotto__Service__Envelope *pe = p->envelope;
		e->seq = pe->seq;
		e->type = pe->type;
		e->sealed = pe->sealed;
		memset(e->sender, 0, 16);
		if (pe->sender_account.len == 16)
			memcpy(e->sender, pe->sender_account.data, 16);
		e->sender_device = pe->sender_device;
		e->content = malloc(pe->content.len + 1);
		if (e->content != NULL) {
			memcpy(e->content, pe->content.data, pe->content.len);
			e->content[pe->content.len] = 0;
			e->len = pe->content.len;
			c->n_got++;
		}
	} else if (p->body_case == SOTTO__SERVICE__PUSH__BODY_QUEUE_EMPTY) {
		c->queue_empty++;
	} else if (p->body_case == SOTTO__SERVICE__PUSH__BODY_PREKEYS_LOW) {
		c->prekeys_low++;
	} else if (p->body_case == SOTTO__SERVICE__PUSH__BODY_DEVICE_LIST_CHANGED) {
		c->devices_changed++;
	}
	pthread_mutex_unlock(&c->lock);
}

static inline void nt_on_state(void *arg, int ready, int err)
{
	struct nt_client *c = arg;
	(void)err;
	if (!ready) {
		pthread_mutex_lock(&c->lock);
		c->lost++;
		pthread_mutex_unlock(&c->lock);
	}
}

static inline void nt_client_init(struct nt_client *c, uint32_t reg_id)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	CHECK_RC(sotto_x25519_keypair(c->pub, c->priv), 0);
	CHECK_RC(sotto_ec_keypair_generate(&c->id, sotto_rng_system, NULL), 0);
	c->reg_id = reg_id;
}

static inline void nt_client_clear_got(struct nt_client *c)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_got; i++)
		free(c->got[i].content);
	c->n_got = 0;
	c->queue_empty = 0;
	pthread_mutex_unlock(&c->lock);
}

static inline int nt_connect(struct nt_client *c, int authenticate)
{
	sotto_client_conn_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.port = nt_port;
	cfg.device_priv = c->priv;
	cfg.server_pub = nt_pub;
	cfg.authenticate = authenticate;
	cfg.reconnect = 0;
	cfg.connect_timeout_ms = 5000;
	cfg.on_push = nt_on_push;
	cfg.on_state = nt_on_state;
	cfg.arg = c;
	int rc = sotto_client_conn_open(&c->conn, &cfg);
	if (rc == 0)
		rc = sotto_client_conn_wait_ready(c->conn, NT_CALL_MS);
	return rc;
}

static inline void nt_disconnect(struct nt_client *c)
{
	sotto_client_conn_close(c->conn);
	c->conn = NULL;
}

/* Runs a call; the status, or 1000 - error for transport errors. */
static inline int nt_call(struct nt_client *c, Request *req, Response **out)
{
	Response *r = NULL;
	if (out != NULL)
		*out = NULL;
	int rc = sotto_client_conn_call(c->conn, req, &r, NT_CALL_MS);
	if (rc != 0)
		return 1000 - rc;
	int st = (int)r->status;
	if (out != NULL)
		*out = r;
	else
		sotto_client_conn_response_free(r);
	return st;
}

static inline int nt_register(struct nt_client *c)
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__RegisterRequest rr = SOTTO__SERVICE__REGISTER_REQUEST__INIT;
	rr.registration_id = c->reg_id;
	rr.identity_key.data = c->id.pub;
	rr.identity_key.len = 33;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_REGISTER_ACCOUNT;
	req.register_account = &rr;
	Response *r;
	int st = nt_call(c, &req, &r);
	if (st == 0 && r->register_account != NULL && r->register_account->account_id.len == 16) {
		memcpy(c->account, r->register_account->account_id.data, 16);
		c->device = 1;
	} else if (st == 0) {
		st = -1;
	}
	sotto_client_conn_response_free(r);
	return st;
}

/* The primary links `dev` (which has its own keys); dev->device is set. */
static inline int nt_link(struct nt_client *primary, struct nt_client *dev)
{
	Sotto__Service__LinkDeviceRequest lr = SOTTO__SERVICE__LINK_DEVICE_REQUEST__INIT;
	lr.noise_key.data = dev->pub;
	lr.noise_key.len = 32;
	lr.registration_id = dev->reg_id;
	lr.identity_key.data = primary->id.pub; /* one identity per account */
	lr.identity_key.len = 33;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_LINK_DEVICE;
	req.link_device = &lr;
	Response *r;
	int st = nt_call(primary, &req, &r);
	if (st == 0 && r->link_device != NULL) {
		dev->device = r->link_device->device_id;
		memcpy(dev->account, primary->account, 16);
		dev->id = primary->id;
	}
	sotto_client_conn_response_free(r);
	return st;
}

static inline int nt_ping(struct nt_client *c)
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__PingRequest pr = SOTTO__SERVICE__PING_REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_PING;
	req.ping = &pr;
	return nt_call(c, &req, NULL);
}

/* One envelope per listed device, all with the same content. */
static inline int nt_send(struct nt_client *c, const uint8_t account[16], const uint32_t *devs,
	const uint32_t *regs, size_t n, const void *body, size_t len, int sealed, Response **out)
{
	Sotto__Service__OutgoingEnvelope e[16], *ep[16];
	if (n > 16)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sotto__service__outgoing_envelope__init(&e[i]);
		e[i].device_id = devs[i];
		e[i].registration_id = regs != NULL ? regs[i] : 0;
		e[i].type = 1;
		e[i].content.data = (uint8_t *)(uintptr_t)body;
		e[i].content.len = len;
		ep[i] = &e[i];
	}
	Sotto__Service__SendRequest sr = SOTTO__SERVICE__SEND_REQUEST__INIT;
	sr.destination.data = (uint8_t *)(uintptr_t)account;
	sr.destination.len = 16;
	sr.sealed = sealed;
	sr.envelopes = ep;
	sr.n_envelopes = n;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_SEND;
	req.send = &sr;
	return nt_call(c, &req, out);
}

static inline int nt_ack(struct nt_client *c, const uint64_t *seqs, size_t n, uint32_t *deleted)
{
	Sotto__Service__AckRequest ar = SOTTO__SERVICE__ACK_REQUEST__INIT;
	ar.seqs = (uint64_t *)(uintptr_t)seqs;
	ar.n_seqs = n;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_ACK;
	req.ack = &ar;
	Response *r;
	int st = nt_call(c, &req, &r);
	if (deleted != NULL)
		*deleted = st == 0 && r->ack != NULL ? r->ack->deleted : 0;
	sotto_client_conn_response_free(r);
	return st;
}

/* Waits (bounded) until c holds at least n pushed envelopes; returns how
 * many it holds. */
static inline size_t nt_wait_got(struct nt_client *c, size_t n, unsigned ms)
{
	uint64_t end = nt_now_ms() + ms;
	size_t got;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		got = c->n_got;
		pthread_mutex_unlock(&c->lock);
		if (got >= n || nt_now_ms() >= end)
			return got;
		nt_sleep_ms(5);
	}
}

/* Waits (bounded) until *flag (read under c->lock) is at least v. */
static inline int nt_wait_flag(struct nt_client *c, const int *flag, int v, unsigned ms)
{
	uint64_t end = nt_now_ms() + ms;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		int cur = *flag;
		pthread_mutex_unlock(&c->lock);
		if (cur >= v)
			return 1;
		if (nt_now_ms() >= end)
			return 0;
		nt_sleep_ms(5);
	}
}

#endif
