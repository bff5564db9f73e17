/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Small helpers shared by the tests: failure accounting, hex, files, JSON
 * vectors. Each test is its own program; its exit status is the verdict. */
#ifndef SOTTO_TESTUTIL_H
#define SOTTO_TESTUTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern unsigned long tu_failures;
extern unsigned long tu_checks;

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		tu_checks++;                                                                 \
		if (!(cond)) {                                                               \
			tu_failures++;                                                       \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                            \
	} while (0)

#define CHECK_RC(expr, want)                                                                 \
	do {                                                                                 \
		int rc_ = (expr);                                                            \
		tu_checks++;                                                                 \
		if (rc_ != (want)) {                                                         \
			tu_failures++;                                                       \
			fprintf(stderr, "%s:%d: %s returned %d, wanted %d\n", __FILE__,      \
				__LINE__, #expr, rc_, (int)(want));                          \
		}                                                                            \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Marks a failure with a message (printf-style). */
void tu_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "LABEL: P/T cases passed" and counts a failure unless P == T and
 * T > 0 (an empty vector file is a failure too). */
void tu_report(const char *label, size_t passed, size_t total);

/* Prints the summary and returns the exit status for main. */
int tu_finish(const char *name);

/* Decodes hex (upper or lower case, whitespace not allowed). Returns a
 * malloc'd buffer (never NULL on success, even for "") and sets *len; NULL on
 * malformed input. */
uint8_t *tu_unhex(const char *hex, size_t *len);
/* Decodes hex into a fixed buffer; returns 0 only if it decodes to exactly n bytes. */
int tu_unhex_into(uint8_t *out, size_t n, const char *hex);
/* Standard base64 with padding; malloc'd, NULL on malformed input. */
uint8_t *tu_unbase64(const char *b64, size_t *len);

/* Full path of a file under ../shared/vectors (env SOTTO_VECTORS). Exits the
 * test with a failure if the file does not exist: a missing vector file is a
 * failure, never a skip. The result is a static buffer. */
const char *tu_vector_path(const char *rel);
/* Loads a JSON vector file (exits with a failure when missing or malformed). */
json_t *tu_load_json(const char *rel);
/* Reads a whole file; malloc'd, NUL-terminated; NULL on error. */
char *tu_read_file(const char *path, size_t *len);

/* A deterministic generator for test inputs (splitmix64). */
uint64_t tu_rand64(uint64_t *state);
void tu_randbytes(uint64_t *state, uint8_t *out, size_t len);

#endif
