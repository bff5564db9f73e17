/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Noise handshakes fed with attacker-chosen messages, as a server (and a
 * client) would see them. Input layout:
 *   byte 0      mode & 3: 0 XX responder, 1 IK responder,
 *                         2 XX initiator, 3 IK initiator
 *   bytes 1..2  big-endian length L of message A
 *   A (L bytes) the peer's first message to us (responder) or its reply
 *               (initiator)
 *   B (rest)    the peer's next message: XX message 3 for the XX responder,
 *               otherwise a transport message
 * Keys are fixed and the rng is a counter, so every run is reproducible and
 * seeds made with the same constants reach the later stages. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/noise.h"
#include "sotto/util.h"

static int counter_rng(void *ctx, uint8_t *buf, size_t len)
{
	uint8_t *c = ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(*c + i * 7 + 1);
	(*c)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[SOTTO_NOISE_MAX_MESSAGE], pl[SOTTO_NOISE_MAX_MESSAGE];
	static const uint8_t client_priv[32] = { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
						 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
						 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
						 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11 };
	static const uint8_t server_priv[32] = { 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
						 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
						 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
						 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22 };
	/* X25519 public key of server_priv (for the IK initiator's pin). */
	static uint8_t server_pub[32];
	static int init_done;
	if (!init_done) {
		if (sotto_init() != 0)
			abort();
		if (sotto_x25519_public(server_pub, server_priv) != 0)
			abort();
		init_done = 1;
	}
	if (size < 3)
		return 0;
	int mode = data[0] & 3;
	size_t alen = (size_t)data[1] << 8 | data[2];
	data += 3;
	size -= 3;
	if (alen > size)
		alen = size;
	const uint8_t *a = data, *b = data + alen;
	size_t blen = size - alen;

	int ik = mode & 1, initiator = mode & 2;
	uint8_t ctr = 0;
	sotto_noise_config cfg = {
		.protocol_name = ik ? SOTTO_NOISE_IK : SOTTO_NOISE_XX,
		.role = initiator ? SOTTO_NOISE_INITIATOR : SOTTO_NOISE_RESPONDER,
		.prologue = (const uint8_t *)SOTTO_NOISE_PROLOGUE,
		.prologue_len = SOTTO_NOISE_PROLOGUE_LEN,
		.local_static = initiator ? client_priv : server_priv,
		.remote_static = initiator && ik ? server_pub : NULL,
		.rng = counter_rng,
		.rng_ctx = &ctr,
	};
	sotto_noise_handshake *hs = NULL;
	sotto_noise_cipher *snd = NULL, *rcv = NULL;
	size_t n = 0, m = 0;
	if (sotto_noise_handshake_new(&hs, &cfg) != 0)
		abort();
	if (initiator && sotto_noise_write_message(hs, NULL, 0, out, sizeof(out), &n) != 0)
		abort();
	if (sotto_noise_read_message(hs, a, alen, pl, sizeof(pl), &m) != 0) {
		/* A failed read must leave the handshake dead for good. */
		if (sotto_noise_handshake_action(hs) != SOTTO_NOISE_FAILED ||
		    sotto_noise_read_message(hs, a, alen, pl, sizeof(pl), &m) !=
			    SOTTO_ERR_INVALID_ARGUMENT)
			abort();
		goto done;
	}
	if (m > alen)
		abort();
	if (sotto_noise_handshake_action(hs) == SOTTO_NOISE_WRITE) {
		/* Our reply can only fail on a DH with a low-order key the peer
		 * sent (an all-zero shared secret), and must then kill the state. */
		int rc = sotto_noise_write_message(hs, pl, m > 64 ? 64 : m, out, sizeof(out), &n);
		if (rc != 0) {
			if (rc != SOTTO_ERR_INVALID_KEY ||
			    sotto_noise_handshake_action(hs) != SOTTO_NOISE_FAILED)
				abort();
			goto done;
		}
	}
	if (sotto_noise_handshake_action(hs) == SOTTO_NOISE_READ) {
		if (sotto_noise_read_message(hs, b, blen, pl, sizeof(pl), &m) != 0) {
			if (sotto_noise_handshake_action(hs) != SOTTO_NOISE_FAILED)
				abort();
			goto done;
		}
		b = NULL;
		blen = 0;
	}
	if (sotto_noise_handshake_action(hs) != SOTTO_NOISE_SPLIT)
		abort();
	uint8_t h[64], rs[32];
	if (sotto_noise_handshake_hash(hs, h, sizeof(h), &n) != 0 ||
	    sotto_noise_remote_static(hs, rs) != 0 || sotto_noise_split(hs, &snd, &rcv) != 0)
		abort();
	if (blen > 0 && sotto_noise_decrypt(rcv, NULL, 0, b, blen, pl, sizeof(pl), &m) == 0 &&
	    m + SOTTO_NOISE_TAG_BYTES != blen)
		abort();
done:
	sotto_noise_cipher_free(snd);
	sotto_noise_cipher_free(rcv);
	sotto_noise_handshake_free(hs);
	return 0;
}
