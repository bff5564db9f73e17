/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include "testutil.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

unsigned long tu_failures;
unsigned long tu_checks;

void tu_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	tu_failures++;
	tu_checks++;
}

void tu_report(const char *label, size_t passed, size_t total)
{
	printf("%-60s %zu/%zu cases passed\n", label, passed, total);
	fflush(stdout);
	tu_checks++;
	if (passed != total || total == 0) {
		tu_failures++;
		if (total == 0)
			fprintf(stderr, "FAIL: %s: no cases found\n", label);
	}
}

int tu_finish(const char *name)
{
	printf("%s: %lu checks, %lu failed\n", name, tu_checks, tu_failures);
	return tu_failures == 0 && tu_checks > 0 ? 0 : 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *tu_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	if (n % 2 != 0)
		return NULL;
	uint8_t *out = malloc(n / 2 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

int tu_unhex_into(uint8_t *out, size_t n, const char *hex)
{
	size_t len;
	uint8_t *b = tu_unhex(hex, &len);
	if (b == NULL)
		return -1;
	int ok = len == n;
	if (ok)
		memcpy(out, b, n);
	free(b);
	return ok ? 0 : -1;
}

uint8_t *tu_unbase64(const char *b64, size_t *len)
{
	size_t n = strlen(b64);
	uint8_t *out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	if (sodium_base642bin(out, n + 1, b64, n, NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL) !=
	    0) {
		free(out);
		return NULL;
	}
	return out;
}

const char *tu_vector_path(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("SOTTO_VECTORS");
	if (dir == NULL || *dir == '\0')
		dir = SOTTO_DEFAULT_VECTORS;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "FAIL: vector file missing: %s\n", path);
		exit(1);
	}
	return path;
}

json_t *tu_load_json(const char *rel)
{
	const char *path = tu_vector_path(rel);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (j == NULL) {
		fprintf(stderr, "FAIL: %s: %s (line %d)\n", path, err.text, err.line);
		exit(1);
	}
	return j;
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		if (got == 0)
			break;
		n += got;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

uint64_t tu_rand64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void tu_randbytes(uint64_t *state, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = tu_rand64(state);
		for (size_t j = 0; j < 8 && i + j < len; j++)
			out[i + j] = (uint8_t)(r >> (8 * j));
	}
}
