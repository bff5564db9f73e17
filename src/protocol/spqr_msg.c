/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* SPQR V1 wire message codec (signal-protocol-facts.md §5.2). */
#include <string.h>

#include "protocol/spqr.h"
#include "sotto/error.h"

#define LEB128_MAX_BYTES 10

int sotto__spqr_msg_has_chunk(uint8_t type)
{
	switch (type) {
	case SOTTO_SPQR_MSG_HDR:
	case SOTTO_SPQR_MSG_EK:
	case SOTTO_SPQR_MSG_EK_CT1_ACK:
	case SOTTO_SPQR_MSG_CT1:
	case SOTTO_SPQR_MSG_CT2:
		return 1;
	default:
		return 0;
	}
}

static size_t leb128_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Reads a varint at in[*pos..len). At most 10 bytes; the 10th may only carry
 * bit 63. */
static int leb128_get(uint64_t *out, const uint8_t *in, size_t len, size_t *pos)
{
	uint64_t v = 0;

	for (size_t i = 0; i < LEB128_MAX_BYTES; i++) {
		if (*pos >= len)
			return SOTTO_ERR_INVALID_MESSAGE;
		uint8_t b = in[(*pos)++];
		if (i == LEB128_MAX_BYTES - 1 && b > 0x01)
			return SOTTO_ERR_INVALID_MESSAGE;
		v |= (uint64_t)(b & 0x7F) << (7 * i);
		if ((b & 0x80) == 0) {
			*out = v;
			return 0;
		}
	}
	return SOTTO_ERR_INVALID_MESSAGE;
}

int sotto__spqr_msg_encode(const sotto_spqr_msg *msg, uint8_t *out, size_t outcap, size_t *outlen)
{
	uint8_t buf[SOTTO_SPQR_MSG_MAX_BYTES];
	size_t n = 0;

	if (msg->epoch == 0 || msg->type > SOTTO_SPQR_MSG_CT2)
		return SOTTO_ERR_INVALID_ARGUMENT;
	buf[n++] = SOTTO_SPQR_VERSION_V1;
	n += leb128_put(buf + n, msg->epoch);
	n += leb128_put(buf + n, msg->index);
	buf[n++] = msg->type;
	if (sotto__spqr_msg_has_chunk(msg->type)) {
		n += leb128_put(buf + n, msg->chunk_index);
		memcpy(buf + n, msg->chunk, SOTTO_SPQR_CHUNK_BYTES);
		n += SOTTO_SPQR_CHUNK_BYTES;
	}
	if (outcap < n)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	memcpy(out, buf, n);
	*outlen = n;
	return 0;
}

int sotto__spqr_msg_decode(sotto_spqr_msg *msg, const uint8_t *in, size_t inlen, size_t *consumed)
{
	sotto_spqr_msg m;
	size_t pos = 1;
	uint64_t v;
	int rc;

	memset(&m, 0, sizeof m);
	if (inlen == 0 || in[0] != SOTTO_SPQR_VERSION_V1)
		return SOTTO_ERR_INVALID_MESSAGE;
	if ((rc = leb128_get(&m.epoch, in, inlen, &pos)) != 0)
		return rc;
	if (m.epoch == 0)
		return SOTTO_ERR_INVALID_MESSAGE;
	if ((rc = leb128_get(&v, in, inlen, &pos)) != 0)
		return rc;
	if (v > UINT32_MAX)
		return SOTTO_ERR_INVALID_MESSAGE;
	m.index = (uint32_t)v;
	if (pos >= inlen)
		return SOTTO_ERR_INVALID_MESSAGE;
	m.type = in[pos++];
	if (m.type > SOTTO_SPQR_MSG_CT2)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (sotto__spqr_msg_has_chunk(m.type)) {
		if ((rc = leb128_get(&v, in, inlen, &pos)) != 0)
			return rc;
		if (v > UINT16_MAX || inlen - pos < SOTTO_SPQR_CHUNK_BYTES)
			return SOTTO_ERR_INVALID_MESSAGE;
		m.chunk_index = (uint16_t)v;
		memcpy(m.chunk, in + pos, SOTTO_SPQR_CHUNK_BYTES);
		pos += SOTTO_SPQR_CHUNK_BYTES;
	}
	*msg = m;
	if (consumed != NULL)
		*consumed = pos;
	return 0;
}
