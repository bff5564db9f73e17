/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The Noise frame decoder on arbitrary byte streams, fed in pieces whose
 * sizes come from the input. Input layout: byte 0 seeds the piece sizes,
 * the rest is the stream. Checks the decoder's promises: it consumes all
 * input unless it completes a frame or fails, every frame is at most 65535
 * bytes and equals the bytes after its header, and after an error it stays
 * failed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint32_t seed = data[0] | 1u;
	data++;
	size--;
	sotto_noise_frame_decoder *d = sotto_noise_frame_decoder_new();
	if (d == NULL)
		abort();
	size_t pos = 0;   /* bytes handed to the decoder so far */
	size_t start = 0; /* stream offset of the current frame's header */
	int failed = 0;
	while (pos < size && !failed) {
		seed = seed * 1103515245u + 12345u;
		size_t piece = 1 + (seed >> 16) % 300;
		if (seed & 0x8000)
			piece *= 200;
		if (piece > size - pos)
			piece = size - pos;
		const uint8_t *in = data + pos;
		size_t left = piece;
		for (;;) {
			size_t used = 0, flen = 0;
			const uint8_t *f = NULL;
			int rc = sotto_noise_frame_decode(d, in, left, &used, &f, &flen);
			if (used > left)
				abort();
			in += used;
			left -= used;
			pos += used;
			if (rc < 0) {
				if (rc != SOTTO_ERR_INVALID_MESSAGE)
					abort();
				size_t u2 = 0;
				if (sotto_noise_frame_decode(d, in, left, &u2, &f, &flen) !=
				    SOTTO_ERR_INVALID_MESSAGE)
					abort();
				failed = 1;
				break;
			}
			if (rc == 0) {
				if (left != 0)
					abort();
				break;
			}
			if (rc != 1 || flen > SOTTO_NOISE_MAX_MESSAGE ||
			    pos - start != SOTTO_NOISE_FRAME_HEADER + flen ||
			    (flen > 0 && memcmp(f, data + start + SOTTO_NOISE_FRAME_HEADER, flen) != 0))
				abort();
			uint8_t hdr[SOTTO_NOISE_FRAME_HEADER];
			if (sotto_noise_frame_header(hdr, flen) != 0 ||
			    memcmp(hdr, data + start, SOTTO_NOISE_FRAME_HEADER) != 0)
				abort();
			start = pos;
		}
	}
	sotto_noise_frame_decoder_free(d);
	return 0;
}
