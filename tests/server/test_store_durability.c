/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Durability of acknowledged writes.
 *
 * Crash: a child process enqueues from several threads and writes each
 * acknowledged (sequence number, tag) to a pipe the moment enqueue returns;
 * the parent SIGKILLs it at a random moment (often mid-commit), reopens the
 * database and checks every acknowledged envelope is there with its
 * content. Repeated, each round on the same database.
 *
 * Full disk: max_page_count caps the database; the enqueue that does not fit
 * gets SOTTO_ERR_STORAGE, everything committed before reads back, and in a
 * group-committed batch the request that fits still succeeds. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "store_test.h"

#define ROUNDS 6
#define CHILD_THREADS 4
#define MAX_ACKS 20000

static const int64_t T0 = 1767225600000;

struct ack {
	uint64_t seq;
	uint64_t tag;
};

static void content_for(uint64_t tag, uint8_t *out, size_t *len)
{
	uint64_t s = tag;

	*len = 16 + (size_t)(tag % 200);
	tu_randbytes(&s, out, *len);
	memcpy(out, &tag, sizeof tag);
}

struct child_arg {
	sotto_store *st;
	const uint8_t *acct;
	int fd;
	uint64_t tag_base;
	int tid;
};

static void *child_thread(void *p)
{
	struct child_arg *ca = p;

	for (uint64_t i = 0;; i++) {
		uint8_t body[256];
		size_t len;
		struct ack ack;
		sotto_store_envelope_in e;

		ack.tag = ca->tag_base + i * CHILD_THREADS + (uint64_t)ca->tid;
		content_for(ack.tag, body, &len);
		st_envelope(&e, ca->acct, 1, body, len);
		if (sotto_store_enqueue(ca->st, &e, 1, T0, &ack.seq, NULL) != 0)
			_exit(3);
		/* 16 bytes < PIPE_BUF: the write is atomic. */
		if (write(ca->fd, &ack, sizeof ack) != (ssize_t)sizeof ack)
			_exit(4);
	}
	return NULL;
}

static void child_main(const char *dir, const uint8_t *acct, int fd, uint64_t tag_base)
{
	sotto_store_config cfg = { 0 };
	struct child_arg ca[CHILD_THREADS];
	pthread_t th[CHILD_THREADS];
	sotto_store *st = NULL;

	cfg.data_dir = dir;
	cfg.max_queue_len = 1000000;
	if (sotto_store_open_sqlite(&st, &cfg, NULL, 0) != 0)
		_exit(2);
	for (int t = 0; t < CHILD_THREADS; t++) {
		ca[t].st = st;
		ca[t].acct = acct;
		ca[t].fd = fd;
		ca[t].tag_base = tag_base;
		ca[t].tid = t;
		if (pthread_create(&th[t], NULL, child_thread, &ca[t]) != 0)
			_exit(5);
	}
	for (;;)
		pause();
}

static int check_acks(const char *dir, const uint8_t *acct, const struct ack *acks, size_t n)
{
	static sotto_store_envelope out[4096];
	static uint8_t buf[4096 * 256];
	static uint64_t have_tag[MAX_ACKS * 2];
	static uint64_t have_seq[MAX_ACKS * 2];
	sotto_store_config cfg = { 0 };
	sotto_store *st;
	size_t total = 0, found = 0, cnt;
	uint64_t from = 0;
	int more = 1, ok = 1;

	cfg.max_queue_len = 1000000;
	st = st_open(dir, &cfg);
	while (more) {
		if (sotto_store_queue_fetch(st, acct, 1, from, out, 4096, buf, sizeof buf, &cnt,
			    &more) != 0) {
			ok = 0;
			break;
		}
		for (size_t i = 0; i < cnt && total < MAX_ACKS * 2; i++) {
			uint8_t want[256];
			size_t wl;
			uint64_t tag;

			memcpy(&tag, out[i].content, sizeof tag);
			content_for(tag, want, &wl);
			/* Every stored envelope is whole (acknowledged or not). */
			if (wl != out[i].content_len || memcmp(want, out[i].content, wl) != 0)
				ok = 0;
			have_tag[total] = tag;
			have_seq[total] = out[i].seq;
			total++;
		}
		if (cnt > 0)
			from = out[cnt - 1].seq + 1;
	}
	/* Every acknowledged (seq, tag) is present; the stored list is
	 * sorted by seq, so search it. */
	for (size_t i = 0; i < n; i++) {
		size_t lo = 0, hi = total;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (have_seq[mid] < acks[i].seq)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < total && have_seq[lo] == acks[i].seq && have_tag[lo] == acks[i].tag)
			found++;
	}
	sotto_store_close(st);
	{
		sqlite3 *db = st_raw(dir);
		sqlite3_stmt *s;

		CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK);
		CHECK(sqlite3_step(s) == SQLITE_ROW &&
			strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0);
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
	printf("  round: %zu acknowledged, %zu stored, %zu of the acknowledged found\n", n, total,
		found);
	return ok && found == n;
}

static void test_crash(void)
{
	static struct ack acks[MAX_ACKS];
	char dir[256];
	sotto_store *st;
	sotto_store_new_device d;
	uint8_t acct[16];
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	size_t nacks = 0;
	int passed = 0;

	printf("crash test seed %llu\n", (unsigned long long)seed);
	st_tmpdir(dir, sizeof dir, "crash");
	st = st_open(dir, NULL);
	st_device(&d, 1);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d, T0, acct, NULL), 0);
	sotto_store_close(st);

	for (int round = 0; round < ROUNDS; round++) {
		int fds[2], status = 0;
		size_t target = 1 + (size_t)(tu_rand64(&seed) % 400);
		unsigned extra_us = (unsigned)(tu_rand64(&seed) % 3000);
		pid_t pid;

		if (pipe(fds) != 0) {
			tu_fail("pipe: %s", strerror(errno));
			break;
		}
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			tu_fail("fork: %s", strerror(errno));
			break;
		}
		if (pid == 0) {
			close(fds[0]);
			child_main(dir, acct, fds[1], (uint64_t)(round + 1) << 32);
			_exit(0);
		}
		close(fds[1]);
		/* Read until the target count, then let it run a little more and kill. */
		{
			size_t got = 0;
			struct ack a;

			while (got < target && nacks < MAX_ACKS) {
				ssize_t r = read(fds[0], &a, sizeof a);

				if (r != (ssize_t)sizeof a)
					break;
				acks[nacks++] = a;
				got++;
			}
			usleep(extra_us);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
			/* Acks already in the pipe were acknowledged before the kill. */
			while (nacks < MAX_ACKS && read(fds[0], &a, sizeof a) == (ssize_t)sizeof a)
				acks[nacks++] = a;
			close(fds[0]);
		}
		/* Keep acks sorted by seq for the report (they are per device, one device). */
		passed += check_acks(dir, acct, acks, nacks);
	}
	tu_report("SIGKILL rounds with every acknowledged envelope present", (size_t)passed,
		ROUNDS);
	st_rmdir(dir);
}

/* ---- full disk -------------------------------------------------------- */

static void test_full_disk(void)
{
	char dir[256];
	sotto_store_config cfg = { 0 };
	sotto_store *st;
	sotto_store_new_device d;
	sotto_store_envelope_in e[2];
	sotto_store_envelope out[64];
	static uint8_t big[65536], huge[400000], buf[1 << 22];
	uint8_t acct[16], small[100];
	uint64_t seq, acked[64], ackn = 0, pages;
	size_t n;
	int more, rc = 0;
	sqlite3 *db;

	st_tmpdir(dir, sizeof dir, "full");
	st = st_open(dir, NULL);
	st_device(&d, 2);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d, T0, acct, NULL), 0);
	for (int i = 0; i < 20; i++) {
		memset(small, i, sizeof small);
		st_envelope(&e[0], acct, 1, small, sizeof small);
		CHECK_RC(sotto_store_enqueue(st, e, 1, T0, &seq, NULL), 0);
		acked[ackn++] = seq;
	}
	sotto_store_close(st);
	db = st_raw(dir);
	CHECK(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) == SQLITE_OK);
	pages = (uint64_t)st_raw_int(db, "PRAGMA page_count");
	sqlite3_close(db);

	/* Room for about 40 KiB more: the first 64 KiB envelope cannot fit. */
	cfg.max_page_count = (uint32_t)pages + 10;
	cfg.max_envelope_bytes = sizeof huge;
	st = st_open(dir, &cfg);
	memset(big, 0xee, sizeof big);
	st_envelope(&e[0], acct, 1, big, sizeof big);
	for (int i = 0; i < 10 && rc == 0; i++) {
		rc = sotto_store_enqueue(st, e, 1, T0, &seq, NULL);
		if (rc == 0)
			acked[ackn++] = seq;
	}
	CHECK_RC(rc, SOTTO_ERR_STORAGE);
	/* Everything acknowledged before reads back, through the same store. */
	CHECK_RC(sotto_store_queue_fetch(st, acct, 1, 0, out, 64, buf, sizeof buf, &n, &more), 0);
	CHECK(n == ackn && !more);
	for (size_t i = 0; i < n && i < ackn; i++)
		CHECK(out[i].seq == acked[i]);
	/* Small writes still go through the full store. */
	memset(small, 0x77, sizeof small);
	st_envelope(&e[0], acct, 1, small, sizeof small);
	CHECK_RC(sotto_store_enqueue(st, e, 1, T0, &seq, NULL), 0);
	acked[ackn++] = seq;
	sotto_store_close(st);

	/* A group-committed pair: the one that does not fit fails alone. */
	cfg.batch_wait_us = 200000;
	cfg.batch_max = 2;
	st = st_open(dir, &cfg);
	{
		struct st_waiter w[2];
		sotto_store_cb cb[2];
		uint64_t sq[2];

		memset(huge, 0x99, sizeof huge);
		st_envelope(&e[0], acct, 1, huge, sizeof huge);
		st_envelope(&e[1], acct, 1, small, sizeof small);
		for (int i = 0; i < 2; i++) {
			st_waiter_init(&w[i]);
			cb[i].fn = st_waiter_done;
			cb[i].arg = &w[i];
			CHECK_RC(sotto_store_enqueue(st, &e[i], 1, T0, &sq[i], &cb[i]), 0);
		}
		sotto_store_stats stats;

		CHECK_RC(st_waiter_wait(&w[0]), SOTTO_ERR_STORAGE);
		CHECK_RC(st_waiter_wait(&w[1]), 0);
		acked[ackn++] = sq[1];
		sotto_store_get_stats(st, &stats);
		printf("full disk pair: %llu request(s) re-run alone after a failed group commit\n",
			(unsigned long long)stats.retried);
	}
	sotto_store_close(st);

	/* Reopened without a cap: exactly the acknowledged envelopes. */
	st = st_open(dir, NULL);
	CHECK_RC(sotto_store_queue_fetch(st, acct, 1, 0, out, 64, buf, sizeof buf, &n, &more), 0);
	CHECK(n == ackn);
	for (size_t i = 0; i < n && i < ackn; i++)
		CHECK(out[i].seq == acked[i]);
	CHECK(n >= 20 && out[0].content_len == 100 && out[0].content[0] == 0 &&
		out[19].content[0] == 19);
	sotto_store_close(st);
	printf("full disk: %llu envelopes acknowledged and read back\n", (unsigned long long)ackn);
	st_rmdir(dir);
}

int main(void)
{
	if (sotto_init() != 0)
		return 1;
	test_crash();
	test_full_disk();
	return tu_finish("server-store_durability");
}
