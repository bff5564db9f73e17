/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Fuzzes the SPQR state machine: from a fixed initial state (byte 0 picks
 * the initiator A2B or the responder B2A), the rest of the input is a
 * sequence of operations:
 *   b with bit 7 set      -> send (deterministic randomness)
 *   b = n (0..127)        -> recv of the next n bytes as a pq_ratchet field
 * Properties: no crash or sanitizer report; a failing recv leaves the
 * serialized state byte-identical; after every successful operation the
 * state serializes, parses back and re-serializes identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/spqr_braid.h"
#include "sotto/util.h"

static const uint8_t AUTH_KEY[32] = {0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29,
				     0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29,
				     0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29,
				     0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29};

static int det_rng(void *ctx, uint8_t *buf, size_t len)
{
	uint64_t *s = ctx;

	for (size_t i = 0; i < len; i++) {
		*s = *s * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (uint8_t)(*s >> 56);
	}
	return 0;
}

static uint8_t *ser(const sotto_spqr_state *st, size_t *len)
{
	size_t n = sotto__spqr_state_serialized_size(st);
	uint8_t *b = malloc(n);

	if (b == NULL || sotto__spqr_state_serialize(st, b, n, len) != 0)
		abort();
	return b;
}

static void roundtrip(sotto_spqr_state **st)
{
	size_t n1, n2;
	uint8_t *b1 = ser(*st, &n1), *b2;
	sotto_spqr_state *c = NULL;

	if (sotto__spqr_state_deserialize(&c, b1, n1) != 0)
		abort();
	b2 = ser(c, &n2);
	if (n1 != n2 || memcmp(b1, b2, n1) != 0)
		abort();
	sotto__spqr_state_free(*st);
	*st = c;
	free(b1);
	free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sotto_spqr_state *st = NULL;
	uint64_t rng = 1;
	size_t pos = 1, ops = 0;

	if (size < 1 || sotto_init() != 0)
		return 0;
	if (sotto__spqr_initial_state(&st, AUTH_KEY, sizeof AUTH_KEY,
				      (data[0] & 1) ? SOTTO_SPQR_B2A : SOTTO_SPQR_A2B, 0, 0) != 0)
		abort();
	while (pos < size && ops++ < 256) {
		uint8_t b = data[pos++];
		uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], key[32];
		size_t len;

		if (b & 0x80) {
			if (sotto__spqr_send(st, det_rng, &rng, msg, &len, key) != 0)
				abort(); /* sending never fails with a working RNG */
			roundtrip(&st);
			continue;
		}
		len = b;
		if (len > size - pos)
			len = size - pos;
		size_t nb, na;
		uint8_t *before = ser(st, &nb), *after;
		int hk = 0;
		int rc = sotto__spqr_recv(st, data + pos, len, key, &hk, NULL);
		pos += len;
		if (rc != 0) {
			after = ser(st, &na);
			if (hk != 0 || na != nb || memcmp(before, after, nb) != 0)
				abort();
			free(after);
		} else {
			roundtrip(&st);
		}
		free(before);
	}
	sotto__spqr_state_free(st);
	return 0;
}
