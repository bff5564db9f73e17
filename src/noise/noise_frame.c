/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Framing of Noise messages on a byte stream (DESIGN.md §5): a 4-byte
 * big-endian length, then one Noise message of at most 65535 bytes. The
 * split format for large payloads is described in include/sotto/noise.h. */
#include <stdlib.h>
#include <string.h>

#include "noise_internal.h"
#include "sotto/error.h"
#include "sotto/util.h"

#define HDR SOTTO_NOISE_FRAME_HEADER

int sotto_noise_frame_header(uint8_t out[HDR], size_t msglen)
{
	if (out == NULL || msglen > SOTTO_NOISE_MAX_MESSAGE)
		return SOTTO_ERR_INVALID_ARGUMENT;
	out[0] = 0;
	out[1] = 0;
	out[2] = (uint8_t)(msglen >> 8);
	out[3] = (uint8_t)msglen;
	return SOTTO_OK;
}

int sotto_noise_frame_encrypt(sotto_noise_cipher *c, const uint8_t *payload, size_t len,
			      uint8_t *out, size_t outcap, size_t *outlen)
{
	if (c == NULL || out == NULL || outlen == NULL || (payload == NULL && len > 0) ||
	    len > SIZE_MAX / 2)
		return SOTTO_ERR_INVALID_ARGUMENT;
	size_t chunks = SOTTO_NOISE_FRAME_CHUNKS(len);
	if (outcap < SOTTO_NOISE_FRAMED_LEN(len))
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	size_t pos = 0, off = 0;
	for (size_t i = 0; i < chunks; i++) {
		size_t take = len - off;
		if (take > SOTTO_NOISE_MAX_PAYLOAD)
			take = SOTTO_NOISE_MAX_PAYLOAD;
		size_t n = 0;
		int rc = sotto_noise_encrypt(c, NULL, 0, payload + off, take, out + pos + HDR,
					     outcap - pos - HDR, &n);
		if (rc != SOTTO_OK)
			return rc;
		rc = sotto_noise_frame_header(out + pos, n);
		if (rc != SOTTO_OK)
			return rc;
		pos += HDR + n;
		off += take;
	}
	*outlen = pos;
	return SOTTO_OK;
}

struct sotto_noise_frame_decoder {
	uint8_t hdr[HDR];
	size_t hdr_have;
	size_t need; /* body length announced by the header */
	size_t have; /* body bytes buffered */
	int ready;   /* a complete frame was handed out by the last call */
	int failed;
	uint8_t buf[SOTTO_NOISE_MAX_MESSAGE];
};

sotto_noise_frame_decoder *sotto_noise_frame_decoder_new(void)
{
	return calloc(1, sizeof(sotto_noise_frame_decoder));
}

void sotto_noise_frame_decoder_free(sotto_noise_frame_decoder *d)
{
	if (d == NULL)
		return;
	sotto_memzero(d, sizeof(*d));
	free(d);
}

int sotto_noise_frame_decode(sotto_noise_frame_decoder *d, const uint8_t *in, size_t inlen,
			     size_t *consumed, const uint8_t **frame, size_t *framelen)
{
	if (d == NULL || consumed == NULL || frame == NULL || framelen == NULL ||
	    (in == NULL && inlen > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*consumed = 0;
	if (d->failed)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (d->ready) {
		/* The previous frame's bytes are no longer the caller's. */
		d->ready = 0;
		d->hdr_have = 0;
		d->have = 0;
	}
	size_t pos = 0;
	for (;;) {
		if (d->hdr_have < HDR) {
			size_t take = HDR - d->hdr_have;
			if (take > inlen - pos)
				take = inlen - pos;
			memcpy(d->hdr + d->hdr_have, in + pos, take);
			d->hdr_have += take;
			pos += take;
			if (d->hdr_have < HDR)
				break;
			uint32_t n = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
				     (uint32_t)d->hdr[2] << 8 | (uint32_t)d->hdr[3];
			if (n > SOTTO_NOISE_MAX_MESSAGE) {
				/* Without a valid length the stream cannot be
				 * resynchronised: stay failed. */
				d->failed = 1;
				*consumed = pos;
				return SOTTO_ERR_INVALID_MESSAGE;
			}
			d->need = n;
			d->have = 0;
		}
		if (d->have < d->need) {
			size_t take = d->need - d->have;
			if (take > inlen - pos)
				take = inlen - pos;
			memcpy(d->buf + d->have, in + pos, take);
			d->have += take;
			pos += take;
			if (d->have < d->need)
				break;
		}
		d->ready = 1;
		*frame = d->buf;
		*framelen = d->need;
		*consumed = pos;
		return 1;
	}
	*consumed = pos;
	return 0;
}
