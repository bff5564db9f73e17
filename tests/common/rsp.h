/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Reader for NIST CAVP-style .rsp files: "# comments", "[Section = v]"
 * headers and blank-line-separated records of "Name = value" lines (CRLF or
 * LF). */
#ifndef SOTTO_TEST_RSP_H
#define SOTTO_TEST_RSP_H

#include <stddef.h>

#define RSP_MAX_FIELDS 16

typedef struct rsp_record {
	const char *section; /* text inside the last [ ] header, "" if none */
	size_t nfields;
	const char *name[RSP_MAX_FIELDS];
	const char *value[RSP_MAX_FIELDS];
} rsp_record;

/* Value of a field, or NULL. */
const char *rsp_get(const rsp_record *r, const char *name);

/* Calls fn for every record of the file under SOTTO_VECTORS (a missing file
 * fails the test). Returns the number of records, or -1 on error. */
long rsp_foreach(const char *rel, void (*fn)(const rsp_record *r, void *arg), void *arg);

#endif
