/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#ifndef SOTTO_BENCH_H
#define SOTTO_BENCH_H

#include <stddef.h>

/* One measured operation: fn runs the operation once; arg is its state. */
typedef void (*bench_fn)(void *arg);

/* Median cost of one call in nanoseconds over several timed batches; each
 * batch repeats fn enough times to last about target_ms. */
double bench_ns(bench_fn fn, void *arg);

/* Table output: a row has our figure, an optional reference figure (a
 * library's own implementation of the same thing, or a floor), and the ratio. */
void bench_table_begin(const char *title, const char *ref_header);
void bench_row(const char *op, double ours_ns, const char *ref_name, double ref_ns);
void bench_table_end(void);

extern int bench_quick; /* fewer, shorter batches (smoke runs) */

int bench_primitives(void);
int bench_kt(void);
int bench_kt_sqlite(void);
int bench_protocol(void);

#endif
