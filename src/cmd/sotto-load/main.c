/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-load: a load generator for sottod on loopback.
 *
 *   sotto-load [--quick] [--clients N] [--duration S] [--rate R] [--window W]
 *              [--size B] [--idle N] [--sources K] [--phases LIST]
 *              [--server HOST:PORT --key BASE64 [--server-pid PID]] [--data DIR]
 *
 * Without --server it starts build/bin/sottod (next to this program) on
 * 127.0.0.1 with a temporary data directory and rate limits raised for the
 * benchmark, and stops it at the end. N clients register one account each
 * (one device) and send to the next client's account, so every message is a
 * durable Send (committed before its OK) followed by a push to the online
 * recipient and an Ack (a second commit) in batches.
 *
 * Phases (--phases, comma-separated; default all):
 *   saturate  every client keeps --window sends in flight for --duration s:
 *             acknowledged and delivered messages per second, latency
 *   rate      a paced --rate messages per second over all clients: latency
 *             from send to delivery at that load (p50/p99/p999)
 *   idle      --idle more connections that register and then sit idle,
 *             spread over --sources 127.0.0.x source addresses: the
 *             server's resident memory per idle connection (VmRSS delta)
 *
 * Everything runs on one thread (src/client/conn_mux.h); the server uses the
 * same cores, which is what the figures include. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "client/conn_mux.h"
#include "server/server.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "wire/wire.h"

typedef Sotto__Service__Request Request;
typedef Sotto__Service__Response Response;

struct client {
	uint8_t priv[32];
	uint8_t account[16];
	sotto_mux_conn *c;
	struct client *to;
	int ready, idle, failed;
	unsigned inflight;
	uint64_t *acks;
	size_t n_acks, cap_acks;
	struct client *ack_next; /* clients with acks to send */
	int ack_listed;
};

static struct {
	unsigned clients, duration_s, rate, window, size, sources;
	unsigned long idle;
	int quick;
	const char *phases;
	const char *server, *key_b64, *data;
	pid_t server_pid;
} opt = {64, 5, 5000, 32, 160, 0, 10000, 0, "saturate,rate,idle", NULL, NULL, NULL, 0};

static char host[64] = "127.0.0.1";
static uint16_t port;
static uint8_t server_pub[32];
static pid_t child = -1;
static char tmpdir[256];

static struct client *clients, *idlers;
static struct client *ack_list;
static sotto_mux *mux;

/* Counters of the current measurement. */
static struct {
	int measuring;
	uint64_t sent, acked, delivered, errors, ack_errors, status[16];
	double *lat; /* ms, one per delivered message while measuring */
	size_t n_lat, cap_lat;
	uint64_t seq; /* message counter */
	unsigned long idle_ready, idle_failed, main_ready, main_failed;
} st;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "sotto-load: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	exit(1);
}

/* ---- the server ---- */

static unsigned long rss_kib(pid_t pid)
{
	char path[64], line[256];
	unsigned long kib = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* CPU time (user + system) of a process in seconds, from /proc. */
static double cpu_secs(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name (which may hold spaces). */
	const char *p = strrchr(buf, ')');
	unsigned long ut = 0, stt = 0;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
				 &stt) != 2)
		return 0;
	return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_secs(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		ru.ru_stime.tv_usec / 1e6;
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	struct rlimit nr = {want, rl.rlim_max > want ? rl.rlim_max : want};
	if (setrlimit(RLIMIT_NOFILE, &nr) != 0) {
		nr.rlim_max = rl.rlim_max;
		nr.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		(void)setrlimit(RLIMIT_NOFILE, &nr);
		fprintf(stderr, "sotto-load: descriptor limit %lu (wanted %lu): run as root or "
				"raise the hard limit for the full idle count\n",
			(unsigned long)nr.rlim_cur, (unsigned long)want);
	}
}

static void start_server(void)
{
	char self[1024], bin[1100], cfg[300], data[300];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		die("cannot find my own path");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash != NULL)
		*slash = '\0';
	snprintf(bin, sizeof(bin), "%s/sottod", self);
	if (opt.data != NULL) {
		snprintf(data, sizeof(data), "%s", opt.data);
	} else {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/sotto-load-XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			die("mkdtemp: %s", strerror(errno));
		snprintf(data, sizeof(data), "%s/data", tmpdir);
	}
	snprintf(cfg, sizeof(cfg), "%s.conf", opt.data != NULL ? opt.data : tmpdir);
	FILE *f = fopen(cfg, "w");
	if (f == NULL)
		die("cannot write %s", cfg);
	/* One address sends everything here: the per-address and per-device
	 * limits would measure themselves, not the server. */
	fprintf(f, "registration = open\n"
		   "device_rate = 10000000\ndevice_burst = 10000000\n"
		   "addr_rate = 10000000\naddr_burst = 10000000\n"
		   "max_connections = 1000000\nmax_conns_per_addr = 1000000\n"
		   "auth_timeout_ms = 600000\n");
	fclose(f);
	int pfd[2];
	if (pipe(pfd) != 0)
		die("pipe: %s", strerror(errno));
	child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		/* Keep the benchmark's table readable: info logs go away. */
		int devnull = open("/dev/null", 0);
		if (devnull >= 0 && getenv("SOTTO_LOAD_SERVER_LOG") == NULL)
			dup2(devnull, 2);
		execl(bin, "sottod", "--data", data, "--listen", "127.0.0.1:0", "--config", cfg,
			(char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char buf[512];
	size_t len = 0;
	while (len < sizeof(buf) - 1) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		if (poll(&p, 1, 15000) <= 0)
			break;
		ssize_t r = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		const char *k = strstr(buf, "public-key ");
		if (k != NULL && strchr(k, '\n') != NULL)
			break;
	}
	close(pfd[0]);
	buf[len] = '\0';
	char h[64], key[128];
	unsigned p;
	size_t klen;
	if (sscanf(buf, "listen %63[^:]:%u\npublic-key %127s", h, &p, key) != 3 ||
		sotto_server_b64_decode(key, server_pub, 32, &klen) != 0 || klen != 32)
		die("sottod did not start (%s)", bin);
	port = (uint16_t)p;
	opt.server_pid = child;
}

static void stop_server(void)
{
	if (child <= 0)
		return;
	kill(child, SIGTERM);
	for (int i = 0; i < 3000; i++) {
		if (waitpid(child, NULL, WNOHANG) == child) {
			child = -1;
			break;
		}
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	if (tmpdir[0] != '\0') {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.conf'", tmpdir, tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "sotto-load: could not remove %s\n", tmpdir);
	}
}

/* ---- clients ---- */

static void send_register(struct client *cl)
{
	Sotto__Service__RegisterRequest rr = SOTTO__SERVICE__REGISTER_REQUEST__INIT;
	uint8_t ik[33];
	memset(ik, 0x42, sizeof(ik));
	ik[0] = 0x05;
	rr.registration_id = 1 + (uint32_t)(st.seq++ % 16000);
	rr.identity_key.data = ik;
	rr.identity_key.len = 33;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_REGISTER_ACCOUNT;
	req.register_account = &rr;
	/* On failure the connection is closed: on_close counts it. */
	(void)sotto_mux_send(cl->c, &req, NULL);
}

static int send_message(struct client *cl)
{
	uint8_t body[65536];
	size_t size = opt.size < 16 ? 16 : opt.size;
	uint64_t t = now_ns(), n = st.seq++;
	memcpy(body, &t, 8);
	memcpy(body + 8, &n, 8);
	memset(body + 16, 0x5c, size - 16);
	Sotto__Service__OutgoingEnvelope e = SOTTO__SERVICE__OUTGOING_ENVELOPE__INIT, *ep = &e;
	e.device_id = 1;
	e.type = 1;
	e.content.data = body;
	e.content.len = size;
	Sotto__Service__SendRequest sr = SOTTO__SERVICE__SEND_REQUEST__INIT;
	sr.destination.data = cl->to->account;
	sr.destination.len = 16;
	sr.envelopes = &ep;
	sr.n_envelopes = 1;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_SEND;
	req.send = &sr;
	if (sotto_mux_send(cl->c, &req, NULL) != 0)
		return -1;
	cl->inflight++;
	if (st.measuring)
		st.sent++;
	return 0;
}

/* Acknowledges what each client received since the last loop turn: one Ack
 * request per client per turn, as a client that batches would. */
static void flush_acks(void)
{
	while (ack_list != NULL) {
		struct client *cl = ack_list;
		ack_list = cl->ack_next;
		cl->ack_listed = 0;
		if (cl->c == NULL || cl->n_acks == 0)
			continue;
		Sotto__Service__AckRequest ar = SOTTO__SERVICE__ACK_REQUEST__INIT;
		ar.seqs = cl->acks;
		ar.n_seqs = cl->n_acks;
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_ACK;
		req.ack = &ar;
		(void)sotto_mux_send(cl->c, &req, NULL);
		cl->n_acks = 0;
	}
}

static void on_open(void *arg, sotto_mux_conn *c)
{
	(void)arg;
	send_register(sotto_mux_user(c));
}

static void on_close(void *arg, sotto_mux_conn *c, int err)
{
	(void)arg;
	struct client *cl = sotto_mux_user(c);
	cl->c = NULL;
	cl->ready = 0;
	if (err != 0 && !cl->ready && !cl->failed) {
		cl->failed = 1;
		if (cl->idle)
			st.idle_failed++;
		else
			st.main_failed++;
	}
}

static void on_response(void *arg, sotto_mux_conn *c, const Response *r)
{
	(void)arg;
	struct client *cl = sotto_mux_user(c);
	if (r->status != 0) {
		st.status[r->status & 15]++;
		if (r->body_case == SOTTO__SERVICE__RESPONSE__BODY_ACK)
			st.ack_errors++;
		else
			st.errors++;
		if (!cl->ready) {
			cl->failed = 1;
			if (cl->idle)
				st.idle_failed++;
			else
				st.main_failed++;
		}
		if (cl->inflight > 0 && !(r->body_case == SOTTO__SERVICE__RESPONSE__BODY_ACK))
			cl->inflight--;
		return;
	}
	switch (r->body_case) {
	case SOTTO__SERVICE__RESPONSE__BODY_REGISTER_ACCOUNT:
		if (r->register_account->account_id.len == 16)
			memcpy(cl->account, r->register_account->account_id.data, 16);
		cl->ready = 1;
		if (cl->idle)
			st.idle_ready++;
		else
			st.main_ready++;
		break;
	case SOTTO__SERVICE__RESPONSE__BODY_SEND:
		if (cl->inflight > 0)
			cl->inflight--;
		if (st.measuring)
			st.acked++;
		break;
	default:
		break;
	}
}

static void on_push(void *arg, sotto_mux_conn *c, const Sotto__Service__Push *p)
{
	(void)arg;
	struct client *cl = sotto_mux_user(c);
	if (p->body_case != SOTTO__SERVICE__PUSH__BODY_ENVELOPE)
		return;
	const Sotto__Service__Envelope *e = p->envelope;
	if (st.measuring && e->content.len >= 16) {
		uint64_t t;
		memcpy(&t, e->content.data, 8);
		st.delivered++;
		if (st.n_lat == st.cap_lat) {
			size_t cap = st.cap_lat ? st.cap_lat * 2 : 65536;
			double *l = realloc(st.lat, cap * sizeof(*l));
			if (l != NULL) {
				st.lat = l;
				st.cap_lat = cap;
			}
		}
		if (st.n_lat < st.cap_lat)
			st.lat[st.n_lat++] = (double)(now_ns() - t) / 1e6;
	}
	if (cl->n_acks == cl->cap_acks) {
		size_t cap = cl->cap_acks ? cl->cap_acks * 2 : 64;
		uint64_t *a = realloc(cl->acks, cap * sizeof(*a));
		if (a == NULL)
			return; /* unacknowledged: pushed again on the next connection */
		cl->acks = a;
		cl->cap_acks = cap;
	}
	cl->acks[cl->n_acks++] = e->seq;
	if (cl->n_acks >= 10000)
		cl->n_acks = 10000; /* the protocol's limit; never reached here */
	if (!cl->ack_listed) {
		cl->ack_listed = 1;
		cl->ack_next = ack_list;
		ack_list = cl;
	}
}

static void loop_once(int timeout_ms)
{
	flush_acks();
	if (sotto_mux_poll(mux, timeout_ms) < 0)
		die("poll failed");
	flush_acks();
}

/* Connects n clients (from source addresses 127.0.0.1..sources) and waits
 * until they are registered; at most `burst` handshakes at once. */
static unsigned long connect_all(struct client *cs, unsigned long n, int idle, unsigned sources,
	unsigned long *ready, unsigned long *failed)
{
	unsigned long started = 0;
	uint64_t deadline = now_ns() + (uint64_t)(60 + n / 500) * 1000000000u;
	char src[32];
	while ((*ready + *failed < n) && now_ns() < deadline) {
		while (started < n && started - (*ready + *failed) < 512) {
			struct client *cl = &cs[started];
			uint8_t pub[32];
			if (sotto_x25519_keypair(pub, cl->priv) != 0)
				die("keygen failed");
			cl->idle = idle;
			snprintf(src, sizeof(src), "127.0.0.%u", 1 + (unsigned)(started % sources));
			int rc = sotto_mux_connect(mux, host, port, sources > 1 ? src : NULL, cl->priv,
				server_pub, cl, &cl->c);
			if (rc != 0) {
				if (*failed < 5)
					fprintf(stderr, "sotto-load: connection %lu: %s\n", started,
						sotto_strerror(rc));
				cl->failed = 1;
				(*failed)++;
			}
			started++;
		}
		loop_once(20);
	}
	return *ready;
}

/* 1 if name is one of the comma-separated phases. */
static int phase_on(const char *name)
{
	size_t n = strlen(name);
	for (const char *p = opt.phases; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p += len + (e != NULL);
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(double p)
{
	if (st.n_lat == 0)
		return NAN;
	size_t i = (size_t)(p * (double)(st.n_lat - 1) + 0.5);
	return st.lat[i];
}

static double cpu_srv0, cpu_self0;

static void measure_reset(void)
{
	cpu_srv0 = opt.server_pid > 0 ? cpu_secs(opt.server_pid) : 0;
	cpu_self0 = self_cpu_secs();
	st.sent = st.acked = st.delivered = st.errors = st.ack_errors = 0;
	memset(st.status, 0, sizeof(st.status));
	st.n_lat = 0;
}

static void print_row(const char *name, double secs)
{
	double srv = opt.server_pid > 0 ? cpu_secs(opt.server_pid) - cpu_srv0 : 0;
	double self = self_cpu_secs() - cpu_self0;
	qsort(st.lat, st.n_lat, sizeof(double), cmp_double);
	printf("%-22s %8.0f %8.0f %9.0f %7.2f %7.2f %7.2f %6" PRIu64 " %6.1f %6.1f\n", name,
		(double)st.sent / secs, (double)st.acked / secs, (double)st.delivered / secs,
		pct(0.50), pct(0.99), pct(0.999), st.errors + st.ack_errors,
		st.delivered > 0 ? srv * 1e6 / (double)st.delivered : 0.0,
		st.delivered > 0 ? self * 1e6 / (double)st.delivered : 0.0);
	if (st.errors + st.ack_errors > 0) {
		printf("    errors by status:");
		for (int i = 0; i < 16; i++)
			if (st.status[i] != 0)
				printf(" %s=%" PRIu64, sotto__wire_status_name((Sotto__Service__Status)i),
					st.status[i]);
		printf("\n");
	}
	fflush(stdout);
}

/* Waits until nothing is in flight and deliveries have caught up. */
static void drain(void)
{
	uint64_t end = now_ns() + 10000000000u;
	while (now_ns() < end) {
		unsigned long busy = 0;
		for (unsigned i = 0; i < opt.clients; i++)
			busy += clients[i].inflight;
		if (busy == 0)
			break;
		loop_once(10);
	}
	/* Late pushes and their acks. */
	uint64_t settle = now_ns() + 300000000u;
	while (now_ns() < settle)
		loop_once(10);
}

static void phase_saturate(void)
{
	measure_reset();
	uint64_t t0 = now_ns(), warm = t0 + 500000000u;
	uint64_t end = warm + (uint64_t)opt.duration_s * 1000000000u;
	uint64_t t_meas = 0;
	while (now_ns() < end) {
		if (!st.measuring && now_ns() >= warm) {
			measure_reset();
			st.measuring = 1;
			t_meas = now_ns();
		}
		for (unsigned i = 0; i < opt.clients; i++) {
			struct client *cl = &clients[i];
			while (cl->c != NULL && cl->ready && cl->inflight < opt.window)
				if (send_message(cl) != 0)
					break;
		}
		loop_once(1);
	}
	double secs = (double)(now_ns() - t_meas) / 1e9;
	st.measuring = 0;
	char name[64];
	snprintf(name, sizeof(name), "saturate (window %u)", opt.window);
	print_row(name, secs);
	drain();
}

static void phase_rate(void)
{
	measure_reset();
	uint64_t t0 = now_ns(), warm = t0 + 500000000u;
	uint64_t end = warm + (uint64_t)opt.duration_s * 1000000000u;
	uint64_t due = 0, done = 0, t_meas = 0;
	unsigned next = 0;
	while (now_ns() < end) {
		uint64_t now = now_ns();
		if (!st.measuring && now >= warm) {
			measure_reset();
			st.measuring = 1;
			t_meas = now;
		}
		due = (uint64_t)((double)(now - t0) / 1e9 * opt.rate);
		unsigned tries = 0;
		while (done < due && tries < opt.clients) {
			struct client *cl = &clients[next];
			next = (next + 1) % opt.clients;
			/* A client with 256 sends outstanding is saturated: skip it
			 * rather than queue without bound. */
			if (cl->c == NULL || !cl->ready || cl->inflight >= 256) {
				tries++;
				continue;
			}
			tries = 0;
			if (send_message(cl) != 0)
				break;
			done++;
		}
		/* Sleep until the next message is due (at most 1 ms). */
		loop_once(done < due ? 0 : 1);
	}
	double secs = (double)(now_ns() - t_meas) / 1e9;
	st.measuring = 0;
	char name[64];
	snprintf(name, sizeof(name), "target %u/s", opt.rate);
	print_row(name, secs);
	drain();
}

static void phase_idle(void)
{
	unsigned long n = opt.idle;
	unsigned sources = opt.sources != 0 ? opt.sources : (unsigned)(1 + n / 20000);
	if (sources > 250)
		sources = 250;
	if (opt.server_pid <= 0) {
		printf("idle connections: skipped (server pid unknown: use --server-pid)\n");
		return;
	}
	idlers = calloc(n, sizeof(*idlers));
	if (idlers == NULL)
		die("out of memory");
	/* Settle, then the baseline. */
	for (int i = 0; i < 50; i++)
		loop_once(10);
	unsigned long before = rss_kib(opt.server_pid);
	uint64_t t0 = now_ns();
	connect_all(idlers, n, 1, sources, &st.idle_ready, &st.idle_failed);
	double secs = (double)(now_ns() - t0) / 1e9;
	/* Let the server free what the handshakes and registrations used. */
	for (int i = 0; i < 100; i++)
		loop_once(10);
	unsigned long after = rss_kib(opt.server_pid);
	printf("idle connections: %lu registered and open (%lu failed) from %u source "
	       "address%s in %.1f s (%.0f handshakes+registrations/s)\n",
		st.idle_ready, st.idle_failed, sources, sources == 1 ? "" : "es", secs,
		(double)st.idle_ready / secs);
	if (st.idle_ready > 0)
		printf("server resident memory: %.1f MiB before, %.1f MiB with them: "
		       "%.2f KiB per idle connection\n",
			before / 1024.0, after / 1024.0,
			after > before ? (double)(after - before) / (double)st.idle_ready : 0.0);
	fflush(stdout);
	for (unsigned long i = 0; i < n; i++)
		if (idlers[i].c != NULL)
			sotto_mux_close(idlers[i].c);
}

__attribute__((noreturn)) static void usage(void)
{
	fprintf(stderr,
		"usage: sotto-load [--quick] [--clients N] [--duration S] [--rate R] [--window W]\n"
		"                  [--size B] [--idle N] [--sources K] [--phases saturate,rate,idle]\n"
		"                  [--server HOST:PORT --key BASE64 [--server-pid PID]] [--data DIR]\n");
	exit(2);
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || end == s)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--quick") == 0) {
			opt.quick = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--clients") == 0)
			opt.clients = (unsigned)num(v);
		else if (strcmp(a, "--duration") == 0)
			opt.duration_s = (unsigned)num(v);
		else if (strcmp(a, "--rate") == 0)
			opt.rate = (unsigned)num(v);
		else if (strcmp(a, "--window") == 0)
			opt.window = (unsigned)num(v);
		else if (strcmp(a, "--size") == 0)
			opt.size = (unsigned)num(v);
		else if (strcmp(a, "--idle") == 0)
			opt.idle = num(v);
		else if (strcmp(a, "--sources") == 0)
			opt.sources = (unsigned)num(v);
		else if (strcmp(a, "--phases") == 0)
			opt.phases = v;
		else if (strcmp(a, "--server") == 0)
			opt.server = v;
		else if (strcmp(a, "--key") == 0)
			opt.key_b64 = v;
		else if (strcmp(a, "--server-pid") == 0)
			opt.server_pid = (pid_t)num(v);
		else if (strcmp(a, "--data") == 0)
			opt.data = v;
		else
			usage();
	}
	if (opt.quick) {
		opt.clients = 16;
		opt.duration_s = 1;
		opt.idle = 1000;
	}
	if (opt.clients < 2 || opt.size > 60000 || opt.duration_s == 0 || opt.window == 0)
		usage();
	if (sotto_init() != 0)
		die("crypto initialisation failed");
	signal(SIGPIPE, SIG_IGN);
	raise_nofile((rlim_t)(opt.idle + opt.clients + 1024));
	{
		/* Both ends of every connection live on this machine, and the
		 * server has the same limit: stay below it. */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
			opt.idle + opt.clients + 1024 > (unsigned long)rl.rlim_cur) {
			unsigned long cap = (unsigned long)rl.rlim_cur > opt.clients + 1024 ?
				(unsigned long)rl.rlim_cur - opt.clients - 1024 : 0;
			fprintf(stderr, "sotto-load: idle connections capped at %lu by the descriptor "
					"limit %lu\n", cap, (unsigned long)rl.rlim_cur);
			opt.idle = cap;
		}
	}
	if (opt.server != NULL) {
		unsigned p = 0;
		size_t klen;
		if (opt.key_b64 == NULL || sscanf(opt.server, "%63[^:]:%u", host, &p) != 2 ||
			sotto_server_b64_decode(opt.key_b64, server_pub, 32, &klen) != 0 || klen != 32)
			usage();
		port = (uint16_t)p;
	} else {
		start_server();
	}
	sotto_mux_handlers h = {on_open, on_close, on_response, on_push};
	sotto_mux_config mc = {30000, 0};
	if (sotto_mux_new(&mux, &mc, &h, NULL) != 0)
		die("cannot create the event loop");
	clients = calloc(opt.clients, sizeof(*clients));
	if (clients == NULL)
		die("out of memory");
	connect_all(clients, opt.clients, 0, 1, &st.main_ready, &st.main_failed);
	for (unsigned i = 0; i < opt.clients; i++) {
		clients[i].to = &clients[(i + 1) % opt.clients];
		if (!clients[i].ready)
			die("a client could not register");
	}
	printf("sotto-load: sottod %s:%u%s, %u clients (one account and device each, each "
	       "sending to the next), %u-byte messages, %u s per phase\n",
		host, (unsigned)port, child > 0 ? " (started here)" : "", opt.clients, opt.size,
		opt.duration_s);
	if (opt.server_pid > 0)
		printf("server pid %d; srv us / gen us: CPU microseconds per delivered message of the "
		       "server / of this load generator\n", (int)opt.server_pid);
	printf("%-22s %8s %8s %9s %7s %7s %7s %6s %6s %6s\n", "phase (messages/s)", "sent",
		"acked", "delivered", "p50 ms", "p99 ms", "p999 ms", "errors", "srv us", "gen us");
	fflush(stdout);
	/* Idle first: on a fresh server the heap has no free space left over
	 * from the busy phases to hide the connections' own memory in. */
	if (phase_on("idle") && opt.idle > 0)
		phase_idle();
	if (phase_on("saturate"))
		phase_saturate();
	if (phase_on("rate"))
		phase_rate();
	sotto_mux_free(mux);
	for (unsigned i = 0; i < opt.clients; i++)
		free(clients[i].acks);
	free(clients);
	if (idlers != NULL)
		for (unsigned long i = 0; i < opt.idle; i++)
			free(idlers[i].acks);
	free(idlers);
	free(st.lat);
	stop_server();
	return 0;
}
