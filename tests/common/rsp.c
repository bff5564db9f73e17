/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include "rsp.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"

const char *rsp_get(const rsp_record *r, const char *name)
{
	for (size_t i = 0; i < r->nfields; i++)
		if (strcmp(r->name[i], name) == 0)
			return r->value[i];
	return NULL;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

long rsp_foreach(const char *rel, void (*fn)(const rsp_record *r, void *arg), void *arg)
{
	char *text = tu_read_file(tu_vector_path(rel), NULL);
	if (text == NULL)
		return -1;
	long count = 0;
	rsp_record rec = { .section = "" };
	char *next = text;
	/* Lines are split in place; a record ends at a blank line or a header. */
	for (;;) {
		char *line = next;
		if (line != NULL) {
			char *nl = strchr(line, '\n');
			if (nl != NULL) {
				*nl = '\0';
				next = nl + 1;
			} else {
				next = NULL;
				if (*line == '\0')
					line = NULL;
			}
		}
		char *l = line ? trim(line) : NULL;
		int boundary = l == NULL || *l == '\0' || *l == '[';
		if (boundary && rec.nfields > 0) {
			fn(&rec, arg);
			count++;
			rec.nfields = 0;
		}
		if (l == NULL)
			break;
		if (*l == '\0' || *l == '#')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');
			if (end)
				*end = '\0';
			rec.section = l + 1;
			continue;
		}
		char *eq = strchr(l, '=');
		if (eq == NULL || rec.nfields == RSP_MAX_FIELDS)
			continue;
		*eq = '\0';
		rec.name[rec.nfields] = trim(l);
		rec.value[rec.nfields] = trim(eq + 1);
		rec.nfields++;
	}
	free(text);
	return count;
}
