/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The in-memory sender-key store: a linked list keyed by (name, device,
 * distribution id). */
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/group.h"

typedef struct ms_entry {
	struct ms_entry *next;
	char *name;
	uint32_t device;
	uint8_t dist[SOTTO_DISTRIBUTION_ID_BYTES];
	uint8_t *rec;
	size_t len;
} ms_entry;

struct sotto_sender_key_memstore {
	ms_entry *head;
};

sotto_sender_key_memstore *sotto_sender_key_memstore_new(void)
{
	return calloc(1, sizeof(sotto_sender_key_memstore));
}

static void entry_free(ms_entry *e)
{
	if (e->rec != NULL) {
		sotto_memzero(e->rec, e->len);
		free(e->rec);
	}
	free(e->name);
	free(e);
}

void sotto_sender_key_memstore_free(sotto_sender_key_memstore *ms)
{
	if (ms == NULL)
		return;
	ms_entry *e = ms->head;
	while (e != NULL) {
		ms_entry *n = e->next;
		entry_free(e);
		e = n;
	}
	free(ms);
}

static ms_entry *find(sotto_sender_key_memstore *ms, const char *name, uint32_t dev,
		      const uint8_t dist[16])
{
	for (ms_entry *e = ms->head; e != NULL; e = e->next)
		if (e->device == dev && memcmp(e->dist, dist, 16) == 0 && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static int ms_load(void *ctx, const char *name, uint32_t dev, const uint8_t dist[16], uint8_t *buf,
		   size_t cap, size_t *len)
{
	ms_entry *e = find(ctx, name, dev, dist);
	if (e == NULL)
		return SOTTO_ERR_NOT_FOUND;
	*len = e->len;
	if (e->len > cap)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	if (e->len)
		memcpy(buf, e->rec, e->len);
	return 0;
}

static int ms_store(void *ctx, const char *name, uint32_t dev, const uint8_t dist[16],
		    const uint8_t *rec, size_t len)
{
	sotto_sender_key_memstore *ms = ctx;
	uint8_t *copy = malloc(len ? len : 1);
	if (copy == NULL)
		return SOTTO_ERR_NOMEM;
	if (len)
		memcpy(copy, rec, len);
	ms_entry *e = find(ms, name, dev, dist);
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		size_t nl = strlen(name);
		char *nm = malloc(nl + 1);
		if (e == NULL || nm == NULL) {
			free(e);
			free(nm);
			free(copy);
			return SOTTO_ERR_NOMEM;
		}
		memcpy(nm, name, nl + 1);
		e->name = nm;
		e->device = dev;
		memcpy(e->dist, dist, 16);
		e->next = ms->head;
		ms->head = e;
	} else if (e->rec != NULL) {
		sotto_memzero(e->rec, e->len);
		free(e->rec);
	}
	e->rec = copy;
	e->len = len;
	return 0;
}

void sotto_sender_key_memstore_table(sotto_sender_key_memstore *ms, sotto_sender_key_store *table)
{
	table->ctx = ms;
	table->load = ms_load;
	table->store = ms_store;
}
