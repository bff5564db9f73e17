/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-bench GROUP...: prints one table per group. Figures are medians of
 * several batches of wall-clock time on this machine; compare ratios, which
 * travel between machines better than absolute numbers. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "sotto/util.h"

int bench_quick;

static const struct {
	const char *name;
	int (*run)(void);
	const char *help;
} groups[] = {
	{ "primitives", bench_primitives, "hashes, MACs, AES modes, X25519, XEdDSA, ML-KEM, Kyber" },
	{ "kt", bench_kt, "key transparency log: appends and proofs at 10^3, 10^6, 10^7 leaves" },
	{ "kt-sqlite", bench_kt_sqlite,
	  "key transparency log in sottod's SQLite storage: appends, disk, proofs up to 10^7" },
	{ "protocol", bench_protocol,
	  "sessions (setup, steady, ping-pong), groups, sealed sender vs floor and libsignal" },
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#include <stdlib.h>

double bench_ns(bench_fn fn, void *arg)
{
	const double target = bench_quick ? 2e6 : 20e6; /* ns per batch */
	const int batches = bench_quick ? 3 : 7;
	/* Calibrate: double the count until one batch lasts long enough. */
	unsigned long n = 1;
	for (;;) {
		double t0 = now_ns();
		for (unsigned long i = 0; i < n; i++)
			fn(arg);
		double dt = now_ns() - t0;
		if (dt >= target / 4 || n >= (1UL << 30))
			break;
		n *= 2;
	}
	n *= 4;
	double samples[16];
	for (int b = 0; b < batches; b++) {
		double t0 = now_ns();
		for (unsigned long i = 0; i < n; i++)
			fn(arg);
		samples[b] = (now_ns() - t0) / (double)n;
	}
	qsort(samples, (size_t)batches, sizeof(double), cmp_double);
	return samples[batches / 2];
}

static void print_time(double ns)
{
	if (ns < 0)
		printf(" %12s", "-");
	else if (ns < 10000)
		printf(" %9.1f ns", ns);
	else
		printf(" %9.2f us", ns / 1000);
}

void bench_table_begin(const char *title, const char *ref_header)
{
	printf("\n%s\n", title);
	printf("%-50s %12s   %-32s %12s %8s\n", "operation", "sotto", ref_header, "reference",
	       "ratio");
	for (int i = 0; i < 120; i++)
		putchar('-');
	putchar('\n');
}

void bench_row(const char *op, double ours_ns, const char *ref_name, double ref_ns)
{
	printf("%-50s", op);
	print_time(ours_ns);
	printf("   %-32s", ref_name ? ref_name : "-");
	print_time(ref_name ? ref_ns : -1);
	if (ref_name && ref_ns > 0)
		printf(" %7.2fx", ours_ns / ref_ns);
	putchar('\n');
	fflush(stdout);
}

void bench_table_end(void)
{
	printf("(median of %d batches; ratio = sotto / reference)\n", bench_quick ? 3 : 7);
}

static void usage(void)
{
	fprintf(stderr, "usage: sotto-bench [--quick] GROUP... | all\ngroups:\n");
	for (size_t i = 0; i < NGROUPS; i++)
		fprintf(stderr, "  %-12s %s\n", groups[i].name, groups[i].help);
}

int main(int argc, char **argv)
{
	if (sotto_init() != 0) {
		fprintf(stderr, "sotto-bench: library initialisation failed\n");
		return 1;
	}
	int ran = 0, rc = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			bench_quick = 1;
			continue;
		}
		int found = 0;
		for (size_t g = 0; g < NGROUPS; g++) {
			if (strcmp(argv[i], "all") == 0 || strcmp(argv[i], groups[g].name) == 0) {
				rc |= groups[g].run();
				found = 1;
				ran++;
			}
		}
		if (!found) {
			usage();
			return 2;
		}
	}
	if (ran == 0) {
		usage();
		return 2;
	}
	return rc ? 1 : 0;
}
