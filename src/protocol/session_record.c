/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Session records: the current state and up to 40 archived ones (facts 4.4),
 * stored as proto/session.proto's SessionRecord. The record framing is
 * written and parsed here by hand (field 1 and repeated field 2, both
 * length-delimited): a nested message is encoded exactly like a bytes field
 * holding its serialization, so the archived states can stay serialized. */
#include <stdlib.h>
#include <string.h>

#include "protocol/session_record.h"
#include "sotto/error.h"
#include "sotto/util.h"

#define TAG_CURRENT 0x0a  /* field 1, wire type 2 */
#define TAG_PREVIOUS 0x12 /* field 2, wire type 2 */
/* Far above any real state (5 chains x 2000 skipped keys is about 400 KB). */
#define MAX_STATE_BYTES (4u << 20)

sotto_session_record *sotto_session_record_new(void)
{
	return calloc(1, sizeof(sotto_session_record));
}

static void blob_free(uint8_t *p, size_t n)
{
	if (p != NULL) {
		sotto_memzero(p, n);
		free(p);
	}
}

void sotto_session_record_free(sotto_session_record *rec)
{
	size_t i;

	if (rec == NULL)
		return;
	sotto_session_state_free(rec->current);
	for (i = 0; i < rec->nprev; i++)
		blob_free(rec->prev[i], rec->prevlen[i]);
	sotto_memzero(rec, sizeof(*rec));
	free(rec);
}

sotto_session_record *sotto__record_clone(const sotto_session_record *rec)
{
	sotto_session_record *c = sotto_session_record_new();
	size_t i;

	if (c == NULL)
		return NULL;
	if (rec->current != NULL && (c->current = sotto_session_state_copy(rec->current)) == NULL)
		goto fail;
	for (i = 0; i < rec->nprev; i++) {
		c->prev[i] = malloc(rec->prevlen[i] ? rec->prevlen[i] : 1);
		if (c->prev[i] == NULL)
			goto fail;
		memcpy(c->prev[i], rec->prev[i], rec->prevlen[i]);
		c->prevlen[i] = rec->prevlen[i];
		c->nprev = i + 1;
	}
	return c;
fail:
	sotto_session_record_free(c);
	return NULL;
}

const sotto_session_state *sotto_session_record_current(const sotto_session_record *rec)
{
	return rec ? rec->current : NULL;
}

size_t sotto_session_record_archived_count(const sotto_session_record *rec)
{
	return rec ? rec->nprev : 0;
}

void sotto__record_remove_archived(sotto_session_record *rec, size_t i)
{
	if (i >= rec->nprev)
		return;
	blob_free(rec->prev[i], rec->prevlen[i]);
	memmove(&rec->prev[i], &rec->prev[i + 1], (rec->nprev - i - 1) * sizeof(rec->prev[0]));
	memmove(&rec->prevlen[i], &rec->prevlen[i + 1],
		(rec->nprev - i - 1) * sizeof(rec->prevlen[0]));
	rec->nprev--;
	rec->prev[rec->nprev] = NULL;
	rec->prevlen[rec->nprev] = 0;
}

int sotto_session_record_archive_current(sotto_session_record *rec)
{
	uint8_t *blob;
	size_t n = 0;
	int rc;

	if (rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (rec->current == NULL)
		return 0;
	/* facts 4.4: an archived state no longer announces its prekeys. */
	sotto_session_state_clear_pending_prekey(rec->current);
	rc = sotto_session_state_serialize(rec->current, NULL, 0, &n);
	if (rc != SOTTO_ERR_BUFFER_TOO_SMALL)
		return rc == 0 ? SOTTO_ERR_INTERNAL : rc;
	blob = malloc(n);
	if (blob == NULL)
		return SOTTO_ERR_NOMEM;
	rc = sotto_session_state_serialize(rec->current, blob, n, &n);
	if (rc != 0) {
		blob_free(blob, n);
		return rc;
	}
	if (rec->nprev == SOTTO_ARCHIVED_STATES_MAX)
		sotto__record_remove_archived(rec, SOTTO_ARCHIVED_STATES_MAX - 1);
	memmove(&rec->prev[1], &rec->prev[0], rec->nprev * sizeof(rec->prev[0]));
	memmove(&rec->prevlen[1], &rec->prevlen[0], rec->nprev * sizeof(rec->prevlen[0]));
	rec->prev[0] = blob;
	rec->prevlen[0] = n;
	rec->nprev++;
	sotto_session_state_free(rec->current);
	rec->current = NULL;
	return 0;
}

int sotto__record_promote(sotto_session_record *rec, sotto_session_state *st)
{
	int rc = sotto_session_record_archive_current(rec);

	if (rc != 0) {
		sotto_session_state_free(st);
		return rc;
	}
	rec->current = st;
	return 0;
}

int sotto_session_record_has_current_state(const sotto_session_record *rec, uint64_t now_ms)
{
	const sotto_session_state *st;
	sotto_pending_prekey p;
	size_t spqr_len = 0;

	if (rec == NULL || rec->current == NULL)
		return 0;
	st = rec->current;
	if (!sotto_session_state_has_sender_chain(st) || sotto_session_state_version(st) <= 3)
		return 0;
	(void)sotto_session_state_spqr(st, &spqr_len);
	if (spqr_len == 0)
		return 0;
	if (sotto_session_state_pending_prekey(st, &p) &&
	    now_ms > (p.timestamp + SOTTO_MAX_UNACKNOWLEDGED_SESSION_AGE) * 1000u) {
		sotto_memzero(&p, sizeof(p));
		return 0;
	}
	sotto_memzero(&p, sizeof(p));
	return 1;
}

/* ---- storage form ------------------------------------------------------- */

static size_t varint_len(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_field(uint8_t *p, uint8_t tag, const uint8_t *data, size_t len)
{
	size_t v = len;

	*p++ = tag;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	if (len != 0)
		memcpy(p, data, len);
	return p + len;
}

int sotto_session_record_serialize(const sotto_session_record *rec, uint8_t *out, size_t outcap,
				   size_t *outlen)
{
	uint8_t *cur = NULL, *p;
	size_t curlen = 0, need = 0, i;
	int rc;

	if (rec == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (rec->current != NULL) {
		rc = sotto_session_state_serialize(rec->current, NULL, 0, &curlen);
		if (rc != SOTTO_ERR_BUFFER_TOO_SMALL)
			return rc == 0 ? SOTTO_ERR_INTERNAL : rc;
		need += 1 + varint_len(curlen) + curlen;
	}
	for (i = 0; i < rec->nprev; i++)
		need += 1 + varint_len(rec->prevlen[i]) + rec->prevlen[i];
	*outlen = need;
	if (out == NULL || outcap < need)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	if (rec->current != NULL) {
		cur = malloc(curlen ? curlen : 1);
		if (cur == NULL)
			return SOTTO_ERR_NOMEM;
		rc = sotto_session_state_serialize(rec->current, cur, curlen, &curlen);
		if (rc != 0) {
			blob_free(cur, curlen);
			return rc;
		}
	}
	p = out;
	if (cur != NULL)
		p = put_field(p, TAG_CURRENT, cur, curlen);
	for (i = 0; i < rec->nprev; i++)
		p = put_field(p, TAG_PREVIOUS, rec->prev[i], rec->prevlen[i]);
	blob_free(cur, curlen);
	return (size_t)(p - out) == need ? 0 : SOTTO_ERR_INTERNAL;
}

int sotto__record_serialize_alloc(const sotto_session_record *rec, uint8_t **out,
				  size_t *outlen)
{
	uint8_t *buf, *p;
	size_t curlen = 0, need = 0, i;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (rec->current != NULL) {
		rc = sotto_session_state_serialize(rec->current, NULL, 0, &curlen);
		if (rc != SOTTO_ERR_BUFFER_TOO_SMALL)
			return rc == 0 ? SOTTO_ERR_INTERNAL : rc;
		need += 1 + varint_len(curlen) + curlen;
	}
	for (i = 0; i < rec->nprev; i++)
		need += 1 + varint_len(rec->prevlen[i]) + rec->prevlen[i];
	buf = malloc(need ? need : 1);
	if (buf == NULL)
		return SOTTO_ERR_NOMEM;
	p = buf;
	if (rec->current != NULL) {
		/* Field 1's tag and length, then the state packed in place. */
		*p++ = TAG_CURRENT;
		for (size_t v = curlen; ; v >>= 7) {
			if (v < 0x80) {
				*p++ = (uint8_t)v;
				break;
			}
			*p++ = (uint8_t)(v | 0x80);
		}
		rc = sotto_session_state_serialize(rec->current, p, curlen, &curlen);
		if (rc != 0) {
			blob_free(buf, need);
			return rc;
		}
		p += curlen;
	}
	for (i = 0; i < rec->nprev; i++)
		p = put_field(p, TAG_PREVIOUS, rec->prev[i], rec->prevlen[i]);
	if ((size_t)(p - buf) != need) {
		blob_free(buf, need);
		return SOTTO_ERR_INTERNAL;
	}
	*out = buf;
	*outlen = need;
	return 0;
}

int sotto_session_record_deserialize(sotto_session_record **out, const uint8_t *in, size_t inlen)
{
	sotto_session_record *rec;
	size_t pos = 0;
	int rc = SOTTO_ERR_INVALID_ARGUMENT;

	if (out == NULL || (in == NULL && inlen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	rec = sotto_session_record_new();
	if (rec == NULL)
		return SOTTO_ERR_NOMEM;
	while (pos < inlen) {
		uint8_t tag = in[pos++];
		size_t len = 0;
		unsigned shift = 0;

		if (tag != TAG_CURRENT && tag != TAG_PREVIOUS)
			goto fail;
		for (;;) {
			uint8_t b;

			if (pos >= inlen || shift > 28)
				goto fail;
			b = in[pos++];
			len |= (size_t)(b & 0x7f) << shift;
			shift += 7;
			if (!(b & 0x80))
				break;
		}
		if (len > inlen - pos || len > MAX_STATE_BYTES)
			goto fail;
		if (tag == TAG_CURRENT) {
			if (rec->current != NULL || rec->nprev != 0)
				goto fail; /* we write it once, first */
			rc = sotto_session_state_deserialize(&rec->current, in + pos, len);
			if (rc != 0)
				goto fail;
			rc = SOTTO_ERR_INVALID_ARGUMENT;
		} else {
			/* Archived states are parsed only when a decrypt tries them;
			 * one that does not parse is then skipped, as libsignal does. */
			if (rec->nprev == SOTTO_ARCHIVED_STATES_MAX)
				goto fail;
			rec->prev[rec->nprev] = malloc(len ? len : 1);
			if (rec->prev[rec->nprev] == NULL) {
				rc = SOTTO_ERR_NOMEM;
				goto fail;
			}
			memcpy(rec->prev[rec->nprev], in + pos, len);
			rec->prevlen[rec->nprev] = len;
			rec->nprev++;
		}
		pos += len;
	}
	*out = rec;
	return 0;
fail:
	sotto_session_record_free(rec);
	return rc == SOTTO_ERR_NOMEM ? rc : SOTTO_ERR_INVALID_ARGUMENT;
}
