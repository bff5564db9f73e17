/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sender-key decoders: the first byte picks the target.
 *   0: SKDM parse and process into a fresh store;
 *   1: SenderKeyMessage parse and decrypt against a fixed receiver record;
 *   2: the rest is a stored record (Sotto's own format): decrypt and
 *      encrypt with it, which parses and re-serializes it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/group.h"

static const uint8_t DIST[16] = {0x10, 0x32, 0x54, 0x76};

/* A store that serves the fuzz input as the record and drops writes. */
typedef struct raw_store {
	const uint8_t *rec;
	size_t len;
} raw_store;

static int raw_load(void *ctx, const char *n, uint32_t d, const uint8_t dist[16], uint8_t *buf,
		    size_t cap, size_t *len)
{
	raw_store *rs = ctx;
	(void)n;
	(void)d;
	(void)dist;
	*len = rs->len;
	if (rs->len > cap)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	if (rs->len)
		memcpy(buf, rs->rec, rs->len);
	return 0;
}

static int raw_store_fn(void *ctx, const char *n, uint32_t d, const uint8_t dist[16],
			const uint8_t *rec, size_t len)
{
	(void)ctx;
	(void)n;
	(void)d;
	(void)dist;
	(void)rec;
	(void)len;
	return 0;
}

static int fixed_rng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

/* The harness only looks for crashes here; results are not checked. */
#define IGNORE(x)                \
	do {                     \
		int ig_ = (x);   \
		(void)ig_;       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sotto_sender_key_memstore *recv;
	static sotto_sender_key_store rt;
	if (recv == NULL) {
		/* A sender and a receiver that share one chain (deterministic keys). */
		sotto_sender_key_memstore *snd = sotto_sender_key_memstore_new();
		sotto_sender_key_store st;
		uint8_t skdm[SOTTO_SKDM_MAX_BYTES];
		size_t l;
		recv = sotto_sender_key_memstore_new();
		if (snd == NULL || recv == NULL)
			abort();
		sotto_sender_key_memstore_table(snd, &st);
		sotto_sender_key_memstore_table(recv, &rt);
		if (sotto_group_skdm_create(&st, "s", 1, DIST, fixed_rng, NULL, skdm, sizeof skdm, &l) != 0 ||
		    sotto_group_skdm_process(&rt, "s", 1, skdm, l) != 0)
			abort();
		sotto_sender_key_memstore_free(snd);
	}
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	uint8_t *out = malloc(n + 256);
	size_t outlen;
	if (out == NULL)
		return 0;
	switch (data[0] % 3) {
	case 0: {
		sotto_skdm_info info;
		IGNORE(sotto_skdm_parse(p, n, &info));
		sotto_sender_key_memstore *ms = sotto_sender_key_memstore_new();
		sotto_sender_key_store t;
		if (ms != NULL) {
			sotto_sender_key_memstore_table(ms, &t);
			if (sotto_group_skdm_process(&t, "x", 2, p, n) == 0 &&
			    sotto_group_encrypt(&t, "x", 2, info.distribution_id, fixed_rng, NULL,
						p, n > 16 ? 16 : n, out, n + 256, &outlen) != SOTTO_ERR_NO_SESSION)
				abort(); /* a received state has no private key */
			sotto_sender_key_memstore_free(ms);
		}
		break;
	}
	case 1: {
		sotto_skm_info info;
		IGNORE(sotto_skm_parse(p, n, &info));
		IGNORE(sotto_group_decrypt(&rt, "s", 1, p, n, out, n + 256, &outlen));
		break;
	}
	default: {
		raw_store rs = {p, n};
		sotto_sender_key_store t = {&rs, raw_load, raw_store_fn};
		static const uint8_t msg[100] = {0x33};
		IGNORE(sotto_group_decrypt(&t, "s", 1, msg, sizeof msg, out, n + 256, &outlen));
		IGNORE(sotto_group_encrypt(&t, "s", 1, DIST, fixed_rng, NULL, p, n > 32 ? 32 : n, out,
					  n + 256, &outlen));
		uint8_t skdm[SOTTO_SKDM_MAX_BYTES];
		IGNORE(sotto_group_skdm_create(&t, "s", 1, DIST, fixed_rng, NULL, skdm, sizeof skdm,
					      &outlen));
		break;
	}
	}
	free(out);
	return 0;
}
