/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: the session record layout shared by session_record.c and
 * session_cipher.c. No ABI promise. */
#ifndef SOTTO_PROTOCOL_SESSION_RECORD_H
#define SOTTO_PROTOCOL_SESSION_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/session_internal.h"
#include "sotto/session.h"

/* Archived states stay serialized until a decrypt needs one: most messages
 * are decrypted by the current state, and parsing 40 states (each with up
 * to 5 x 2000 skipped keys) on every load would dominate the cost. */
struct sotto_session_record {
	sotto_session_state *current; /* NULL when there is none */
	uint8_t *prev[SOTTO_ARCHIVED_STATES_MAX]; /* newest first */
	size_t prevlen[SOTTO_ARCHIVED_STATES_MAX];
	size_t nprev;
};

/* Archives the current state (if any) and makes st (owned by the record
 * from then on, also on failure) current: libsignal's promote_state. */
SOTTO_HIDDEN int sotto__record_promote(sotto_session_record *rec, sotto_session_state *st);
/* The storage form in a malloc'd buffer (the caller wipes and frees it),
 * serializing the current state once. */
SOTTO_HIDDEN int sotto__record_serialize_alloc(const sotto_session_record *rec, uint8_t **out,
					       size_t *outlen);
/* A deep copy (NULL when out of memory). */
SOTTO_HIDDEN sotto_session_record *sotto__record_clone(const sotto_session_record *rec);
/* Removes archived state i (0 = newest), wiping it. */
SOTTO_HIDDEN void sotto__record_remove_archived(sotto_session_record *rec, size_t i);

#endif
