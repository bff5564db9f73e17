/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The store under concurrent callers: bundle fetches from several threads
 * never share a one-time prekey and fall back to the last-resort key exactly
 * when the one-time keys are gone; concurrent enqueues get distinct,
 * gap-free sequence numbers; readers run alongside the writer. Ends with a
 * throughput table (group commit vs one transaction per envelope); no
 * timing is asserted. */
#include "store_test.h"

#define NDEV 3
#define NEC 120
#define NKEM 90
#define FETCH_THREADS 6
#define FETCHES_PER_THREAD 30 /* 180 fetches per device: beyond both key counts */

static const int64_t T0 = 1767225600000;

struct fetch_log {
	uint32_t ec[NDEV][FETCH_THREADS * FETCHES_PER_THREAD];
	size_t nec[NDEV];
	uint32_t kem[NDEV][FETCH_THREADS * FETCHES_PER_THREAD];
	size_t nkem[NDEV];
	size_t nlr[NDEV];
	size_t nokem[NDEV];
	int errors;
	pthread_mutex_t mu;
};

struct fetch_arg {
	sotto_store *st;
	const uint8_t *acct;
	struct fetch_log *log;
	int reader; /* also hammer the reader pool */
};

static void *fetch_main(void *p)
{
	struct fetch_arg *fa = p;
	sotto_store_bundle *b = calloc(NDEV, sizeof *b);

	if (b == NULL)
		return NULL;
	for (int i = 0; i < FETCHES_PER_THREAD; i++) {
		size_t n = 0;
		int rc = sotto_store_bundles_fetch(fa->st, fa->acct, 0, b, NDEV, &n, NULL);

		pthread_mutex_lock(&fa->log->mu);
		if (rc != 0 || n != NDEV)
			fa->log->errors++;
		for (size_t d = 0; rc == 0 && d < n; d++) {
			uint32_t dev = b[d].device_id - 1;

			if (dev >= NDEV || !b[d].has_signed) {
				fa->log->errors++;
				continue;
			}
			if (b[d].has_ec)
				fa->log->ec[dev][fa->log->nec[dev]++] = b[d].ec.id;
			if (!b[d].has_kem)
				fa->log->nokem[dev]++;
			else if (b[d].kem_is_last_resort)
				fa->log->nlr[dev]++;
			else
				fa->log->kem[dev][fa->log->nkem[dev]++] = b[d].kem.id;
		}
		pthread_mutex_unlock(&fa->log->mu);
		if (fa->reader) {
			sotto_store_prekey_counts c;

			if (sotto_store_prekeys_count(fa->st, fa->acct, 1, &c) != 0 || c.ec > NEC ||
				c.kem > NKEM) {
				pthread_mutex_lock(&fa->log->mu);
				fa->log->errors++;
				pthread_mutex_unlock(&fa->log->mu);
			}
		}
	}
	free(b);
	return NULL;
}

static int has_duplicate(const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (v[i] == v[j])
				return 1;
	return 0;
}

static void test_bundles(const char *dir)
{
	sotto_store *st = st_open(dir, NULL);
	static sotto_store_ec_prekey ec[NEC];
	static sotto_store_kem_prekey kem[NKEM], lr;
	static struct fetch_log log;
	sotto_store_signed_prekey spk;
	sotto_store_prekeys up;
	sotto_store_new_device d;
	struct fetch_arg fa[FETCH_THREADS];
	pthread_t th[FETCH_THREADS];
	uint8_t a[16];
	uint32_t id;
	int ok = 1;

	st_device(&d, 1);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d, T0, a, NULL), 0);
	for (int i = 1; i < NDEV; i++) {
		st_device(&d, 1 + (uint64_t)i);
		CHECK_RC(sotto_store_device_add(st, a, &d, T0, &id, NULL), 0);
	}
	for (uint32_t i = 0; i < NEC; i++) {
		ec[i].id = 1000 + i;
		memset(ec[i].pub, (int)i, sizeof ec[i].pub);
	}
	for (uint32_t i = 0; i < NKEM; i++) {
		kem[i].id = 2000 + i;
		memset(kem[i].pub, (int)i, sizeof kem[i].pub);
	}
	lr.id = 9999;
	spk.id = 1;
	memset(spk.pub, 1, sizeof spk.pub);
	memset(spk.sig, 2, sizeof spk.sig);
	memset(&up, 0, sizeof up);
	up.ec = ec;
	up.ec_count = NEC;
	up.kem = kem;
	up.kem_count = NKEM;
	up.signed_prekey = &spk;
	up.last_resort = &lr;
	for (uint32_t dev = 1; dev <= NDEV; dev++)
		CHECK_RC(sotto_store_prekeys_upload(st, a, dev, &up, NULL), 0);

	pthread_mutex_init(&log.mu, NULL);
	for (int t = 0; t < FETCH_THREADS; t++) {
		fa[t].st = st;
		fa[t].acct = a;
		fa[t].log = &log;
		fa[t].reader = t % 2;
		CHECK(pthread_create(&th[t], NULL, fetch_main, &fa[t]) == 0);
	}
	for (int t = 0; t < FETCH_THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_mutex_destroy(&log.mu);

	CHECK(log.errors == 0);
	for (int dev = 0; dev < NDEV; dev++) {
		/* Every one-time key went out exactly once; each fetch beyond
		 * them got none (EC) or the last-resort key (KEM). Since each
		 * fetch takes one key while any is left, NKEM one-time keys out
		 * of FETCH_THREADS * FETCHES_PER_THREAD fetches means no fetch
		 * got the last-resort key while a one-time key remained. */
		ok &= log.nec[dev] == NEC && !has_duplicate(log.ec[dev], log.nec[dev]);
		ok &= log.nkem[dev] == NKEM && !has_duplicate(log.kem[dev], log.nkem[dev]);
		ok &= log.nlr[dev] == FETCH_THREADS * FETCHES_PER_THREAD - NKEM;
		ok &= log.nokem[dev] == 0;
	}
	CHECK(ok);
	tu_report("concurrent bundle fetches (devices with exact key accounting)", ok ? NDEV : 0,
		NDEV);
	{
		sotto_store_prekey_counts c;

		CHECK_RC(sotto_store_prekeys_count(st, a, 2, &c), 0);
		CHECK(c.ec == 0 && c.kem == 0 && c.has_last_resort && c.has_signed);
	}
	sotto_store_close(st);
}

#define ENQ_THREADS 8
#define ENQ_PER_THREAD 60

struct enq_arg {
	sotto_store *st;
	const uint8_t *acct;
	uint64_t seqs[ENQ_PER_THREAD];
	int errors;
	int tid;
};

static void *enq_main(void *p)
{
	struct enq_arg *ea = p;

	for (int i = 0; i < ENQ_PER_THREAD; i++) {
		sotto_store_envelope_in e;
		uint8_t body[16];

		memset(body, 0, sizeof body);
		body[0] = (uint8_t)ea->tid;
		body[1] = (uint8_t)i;
		st_envelope(&e, ea->acct, 1, body, sizeof body);
		if (sotto_store_enqueue(ea->st, &e, 1, T0, &ea->seqs[i], NULL) != 0)
			ea->errors++;
		/* A reader in between: must never see a torn queue. */
		if (i % 10 == 0) {
			uint64_t len;

			if (sotto_store_queue_length(ea->st, ea->acct, 1, &len) != 0 ||
				len > ENQ_THREADS * ENQ_PER_THREAD)
				ea->errors++;
		}
	}
	return NULL;
}

static void test_concurrent_enqueue(const char *dir)
{
	sotto_store *st = st_open(dir, NULL);
	static struct enq_arg ea[ENQ_THREADS];
	static uint8_t seen[ENQ_THREADS * ENQ_PER_THREAD + 1];
	static sotto_store_envelope out[ENQ_THREADS * ENQ_PER_THREAD];
	static uint8_t buf[ENQ_THREADS * ENQ_PER_THREAD * 16];
	pthread_t th[ENQ_THREADS];
	sotto_store_new_device d;
	uint8_t a[16];
	size_t n;
	int more, ok = 1, errors = 0;

	st_device(&d, 100);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d, T0, a, NULL), 0);
	for (int t = 0; t < ENQ_THREADS; t++) {
		ea[t].st = st;
		ea[t].acct = a;
		ea[t].tid = t;
		CHECK(pthread_create(&th[t], NULL, enq_main, &ea[t]) == 0);
	}
	for (int t = 0; t < ENQ_THREADS; t++) {
		pthread_join(th[t], NULL);
		errors += ea[t].errors;
	}
	CHECK(errors == 0);
	/* Sequence numbers: exactly 1..N, each once; within a thread increasing. */
	for (int t = 0; t < ENQ_THREADS; t++)
		for (int i = 0; i < ENQ_PER_THREAD; i++) {
			uint64_t s = ea[t].seqs[i];

			if (s == 0 || s > ENQ_THREADS * ENQ_PER_THREAD || seen[s] ||
				(i > 0 && s <= ea[t].seqs[i - 1]))
				ok = 0;
			else
				seen[s] = 1;
		}
	CHECK(ok);
	CHECK_RC(sotto_store_queue_fetch(st, a, 1, 0, out, ENQ_THREADS * ENQ_PER_THREAD, buf,
			 sizeof buf, &n, &more),
		0);
	CHECK(n == ENQ_THREADS * ENQ_PER_THREAD && !more);
	for (size_t i = 0; i < n && ok; i++) {
		int t = out[i].content[0], k = out[i].content[1];

		ok = out[i].seq == i + 1 && t < ENQ_THREADS && k < ENQ_PER_THREAD &&
			ea[t].seqs[k] == out[i].seq;
	}
	CHECK(ok);
	tu_report("concurrent enqueues (threads with distinct, gap-free sequences)",
		ok && errors == 0 ? ENQ_THREADS : 0, ENQ_THREADS);
	sotto_store_close(st);
}

/* ---- throughput ----------------------------------------------------- */

struct bench_arg {
	sotto_store *st;
	const uint8_t *acct;
	int count;
	int batch; /* envelopes per enqueue call */
	int errors;
};

static void *bench_main(void *p)
{
	struct bench_arg *ba = p;
	sotto_store_envelope_in e[64];
	static const uint8_t body[256];

	for (int i = 0; i < ba->batch; i++)
		st_envelope(&e[i], ba->acct, (uint32_t)(i % 4) + 1, body, sizeof body);
	for (int i = 0; i < ba->count; i += ba->batch)
		if (sotto_store_enqueue(ba->st, e, (size_t)ba->batch, T0, NULL, NULL) != 0)
			ba->errors++;
	return NULL;
}

static void bench(const char *label, unsigned batch_max, int threads, int per_thread, int batch)
{
	char dir[256];
	sotto_store_config cfg = { 0 };
	struct bench_arg ba[16];
	pthread_t th[16];
	sotto_store_new_device d;
	sotto_store_stats s0, s1;
	sotto_store *st;
	uint8_t a[16];
	uint32_t id;
	double t0, t1;
	int errors = 0;

	st_tmpdir(dir, sizeof dir, "bench");
	cfg.batch_max = batch_max;
	cfg.max_queue_len = 1000000;
	st = st_open(dir, &cfg);
	st_device(&d, 7);
	CHECK_RC(sotto_store_account_create(st, NULL, 0, &d, T0, a, NULL), 0);
	for (int i = 0; i < 3; i++) {
		st_device(&d, 8 + (uint64_t)i);
		CHECK_RC(sotto_store_device_add(st, a, &d, T0, &id, NULL), 0);
	}
	sotto_store_get_stats(st, &s0);
	t0 = st_now_s();
	for (int t = 0; t < threads; t++) {
		ba[t].st = st;
		ba[t].acct = a;
		ba[t].count = per_thread;
		ba[t].batch = batch;
		ba[t].errors = 0;
		CHECK(pthread_create(&th[t], NULL, bench_main, &ba[t]) == 0);
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		errors += ba[t].errors;
	}
	t1 = st_now_s();
	sotto_store_get_stats(st, &s1);
	CHECK(errors == 0);
	printf("  %-44s %7d env  %6llu commits  %9.0f env/s\n", label, threads * per_thread,
		(unsigned long long)(s1.commits - s0.commits),
		(double)(threads * per_thread) / (t1 - t0));
	sotto_store_close(st);
	st_rmdir(dir);
}

int main(void)
{
	char dir[256];

	if (sotto_init() != 0)
		return 1;
	st_tmpdir(dir, sizeof dir, "conc");
	test_bundles(dir);
	st_rmdir(dir);
	st_tmpdir(dir, sizeof dir, "conc");
	test_concurrent_enqueue(dir);
	st_rmdir(dir);

	printf("enqueue throughput (256-byte envelopes, synchronous=FULL; informational):\n");
	bench("1 thread, 1 tx per envelope (batch_max=1)", 1, 1, 200, 1);
	bench("8 threads, 1 tx per envelope (batch_max=1)", 1, 8, 50, 1);
	bench("8 threads, group commit", 256, 8, 400, 1);
	bench("16 threads, group commit", 256, 16, 400, 1);
	bench("1 thread, 64 envelopes per enqueue call", 256, 1, 6400, 64);
	return tu_finish("server-store_concurrency");
}
