/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Fuzzes the SPQR wire codec and the erasure decoder with the bytes of
 * untrusted pq_ratchet fields.
 *
 * Input: a sequence of SPQR messages, each prefixed by one length byte. Every
 * message is decoded; a decoded one must re-encode canonically and decode to
 * the same fields. Chunks are fed to decoders for the four SPQR stream sizes
 * (by type), and a complete decoder's output, re-encoded, must reproduce
 * every chunk that was used to build it when the chunks are consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/gf16.h"
#include "protocol/spqr.h"

static size_t stream_len(uint8_t type)
{
	switch (type) {
	case SOTTO_SPQR_MSG_HDR:
		return 96;
	case SOTTO_SPQR_MSG_EK:
	case SOTTO_SPQR_MSG_EK_CT1_ACK:
		return 1152;
	case SOTTO_SPQR_MSG_CT1:
		return 960;
	default:
		return 160;
	}
}

static int slot(uint8_t type)
{
	switch (type) {
	case SOTTO_SPQR_MSG_HDR:
		return 0;
	case SOTTO_SPQR_MSG_EK:
	case SOTTO_SPQR_MSG_EK_CT1_ACK:
		return 1;
	case SOTTO_SPQR_MSG_CT1:
		return 2;
	default:
		return 3;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sotto_gf16_decoder dec[4];
	static sotto_gf16_encoder enc;
	static uint8_t out[SOTTO_GF16_MAX_MSG_BYTES];
	size_t pos = 0;

	for (int i = 0; i < 4; i++) {
		static const uint8_t types[4] = { 1, 2, 5, 6 };
		if (sotto__gf16_decoder_init(&dec[i], stream_len(types[i])) != 0)
			abort();
	}
	/* Whole input as one message first: the codec must never read past it. */
	{
		sotto_spqr_msg m;
		size_t used;
		uint8_t *copy = malloc(size ? size : 1);
		if (copy == NULL)
			return 0;
		memcpy(copy, data, size);
		if (sotto__spqr_msg_decode(&m, copy, size, &used) == 0 && used > size)
			abort();
		free(copy);
	}
	while (pos < size) {
		size_t n = data[pos++];
		if (n > size - pos)
			n = size - pos;
		const uint8_t *msg = data + pos;
		pos += n;

		sotto_spqr_msg m, m2;
		uint8_t enc_buf[SOTTO_SPQR_MSG_MAX_BYTES];
		size_t used, len, used2;
		if (sotto__spqr_msg_decode(&m, msg, n, &used) != 0)
			continue;
		if (used > n || sotto__spqr_msg_encode(&m, enc_buf, sizeof enc_buf, &len) != 0 ||
		    len > used || sotto__spqr_msg_decode(&m2, enc_buf, len, &used2) != 0 || used2 != len ||
		    m2.epoch != m.epoch || m2.index != m.index || m2.type != m.type ||
		    (sotto__spqr_msg_has_chunk(m.type) &&
		     (m2.chunk_index != m.chunk_index || memcmp(m2.chunk, m.chunk, 32) != 0)))
			abort();
		if (!sotto__spqr_msg_has_chunk(m.type))
			continue;
		sotto_gf16_decoder *d = &dec[slot(m.type)];
		sotto__gf16_decoder_add(d, m.chunk_index, m.chunk);
		if (d->count[0] > 2 * SOTTO_GF16_MAX_POINTS)
			abort();
		if (sotto__gf16_decoder_complete(d)) {
			if (sotto__gf16_decoder_finish(d, out, d->len) != 0 ||
			    sotto__gf16_encoder_init(&enc, out, d->len) != 0)
				abort();
			/* The systematic part of the rebuilt message is the
			 * systematic points the decoder holds. */
			uint8_t c[32];
			for (unsigned i = 0; i < d->count[0] && d->x[0][i] < d->need[0]; i++) {
				sotto__gf16_encoder_chunk(&enc, d->x[0][i], c);
				if (((uint16_t)(c[0] << 8) | c[1]) != d->y[0][i])
					abort();
			}
			if (sotto__gf16_decoder_init(d, d->len) != 0)
				abort();
		}
	}
	return 0;
}
