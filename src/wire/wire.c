/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include "wire/wire.h"

#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/util.h"

void sotto__wire_reader_init(sotto_wire_reader *r, uint32_t min, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->min = min;
	r->max = max;
}

static void reader_drop(sotto_wire_reader *r)
{
	if (r->buf != NULL) {
		/* A Noise frame is ciphertext, a message plaintext: wipe both,
		 * the cost is small next to the crypto. */
		sotto_memzero(r->buf, r->have);
		free(r->buf);
		r->buf = NULL;
	}
	r->hdr_len = 0;
	r->need = 0;
	r->have = 0;
	r->ready = 0;
}

void sotto__wire_reader_clear(sotto_wire_reader *r)
{
	reader_drop(r);
}

int sotto__wire_reader_busy(const sotto_wire_reader *r)
{
	return r->hdr_len != 0 && !r->ready;
}

int sotto__wire_reader_feed(sotto_wire_reader *r, const uint8_t *in, size_t inlen,
	size_t *consumed, const uint8_t **rec, size_t *reclen)
{
	size_t used = 0;

	*consumed = 0;
	if (r->failed)
		return SOTTO_ERR_LIMIT;
	if (r->ready)
		reader_drop(r); /* the record handed out last time is done */
	while (r->hdr_len < SOTTO_WIRE_LEN_BYTES) {
		if (used == inlen) {
			*consumed = used;
			return 0;
		}
		r->hdr[r->hdr_len++] = in[used++];
		if (r->hdr_len == SOTTO_WIRE_LEN_BYTES) {
			uint32_t n = ((uint32_t)r->hdr[0] << 24) | ((uint32_t)r->hdr[1] << 16) |
				((uint32_t)r->hdr[2] << 8) | r->hdr[3];
			if (n < r->min || n > r->max) {
				r->failed = 1;
				*consumed = used;
				return SOTTO_ERR_LIMIT;
			}
			r->need = n;
			r->have = 0;
		}
	}
	if (r->buf == NULL && r->need > 0) {
		r->buf = malloc(r->need);
		if (r->buf == NULL) {
			r->failed = 1;
			return SOTTO_ERR_NOMEM;
		}
	}
	size_t take = r->need - r->have;
	if (take > inlen - used)
		take = inlen - used;
	if (take > 0) {
		memcpy(r->buf + r->have, in + used, take);
		r->have += (uint32_t)take;
		used += take;
	}
	*consumed = used;
	if (r->have < r->need)
		return 0;
	r->ready = 1;
	/* An empty record has no buffer; hand out a valid pointer anyway. */
	*rec = r->buf != NULL ? r->buf : r->hdr;
	*reclen = r->need;
	return 1;
}

void sotto__wire_put_len(uint8_t out[SOTTO_WIRE_LEN_BYTES], uint32_t n)
{
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
}

int sotto__wire_frame_plain(const uint8_t *msg, size_t len, uint8_t **out, size_t *outlen)
{
	if (len == 0 || len > SOTTO_WIRE_MAX_FRAME)
		return SOTTO_ERR_INVALID_ARGUMENT;
	uint8_t *b = malloc(len + SOTTO_WIRE_LEN_BYTES);
	if (b == NULL)
		return SOTTO_ERR_NOMEM;
	sotto__wire_put_len(b, (uint32_t)len);
	memcpy(b + SOTTO_WIRE_LEN_BYTES, msg, len);
	*out = b;
	*outlen = len + SOTTO_WIRE_LEN_BYTES;
	return 0;
}

int sotto__wire_seal_msg(sotto_noise_cipher *c, const ProtobufCMessage *m, size_t max,
	uint8_t **out, size_t *outlen)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	if (n > max || n > SOTTO_WIRE_HARD_MAX_MESSAGE)
		return SOTTO_ERR_LIMIT;
	size_t ptlen = n + SOTTO_WIRE_LEN_BYTES;
	uint8_t *pt = malloc(ptlen);
	if (pt == NULL)
		return SOTTO_ERR_NOMEM;
	sotto__wire_put_len(pt, (uint32_t)n);
	if (protobuf_c_message_pack(m, pt + SOTTO_WIRE_LEN_BYTES) != n) {
		free(pt);
		return SOTTO_ERR_INTERNAL;
	}
	size_t cap = SOTTO_NOISE_FRAMED_LEN(ptlen);
	uint8_t *ct = malloc(cap);
	if (ct == NULL) {
		sotto_memzero(pt, ptlen);
		free(pt);
		return SOTTO_ERR_NOMEM;
	}
	int rc = sotto_noise_frame_encrypt(c, pt, ptlen, ct, cap, outlen);
	sotto_memzero(pt, ptlen);
	free(pt);
	if (rc != 0) {
		free(ct);
		return rc;
	}
	*out = ct;
	return 0;
}

Sotto__Service__Request *sotto__wire_request_decode(const uint8_t *in, size_t len)
{
	return sotto__service__request__unpack(NULL, len, in);
}

Sotto__Service__ServerMessage *sotto__wire_server_msg_decode(const uint8_t *in, size_t len)
{
	return sotto__service__server_message__unpack(NULL, len, in);
}

Sotto__Service__Status sotto__wire_status_from_err(int err)
{
	switch (err) {
	case 0: return SOTTO__SERVICE__STATUS__OK;
	case SOTTO_ERR_INVALID_ARGUMENT:
	case SOTTO_ERR_INVALID_MESSAGE:
	case SOTTO_ERR_INVALID_KEY:
	case SOTTO_ERR_BUFFER_TOO_SMALL: return SOTTO__SERVICE__STATUS__BAD_REQUEST;
	case SOTTO_ERR_NOT_FOUND: return SOTTO__SERVICE__STATUS__NOT_FOUND;
	case SOTTO_ERR_EXISTS: return SOTTO__SERVICE__STATUS__EXISTS;
	case SOTTO_ERR_QUEUE_FULL: return SOTTO__SERVICE__STATUS__QUEUE_FULL;
	case SOTTO_ERR_LIMIT: return SOTTO__SERVICE__STATUS__LIMIT;
	default: return SOTTO__SERVICE__STATUS__INTERNAL;
	}
}

const char *sotto__wire_status_name(Sotto__Service__Status st)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&sotto__service__status__descriptor, (int)st);
	return v != NULL ? v->name : "UNKNOWN";
}
