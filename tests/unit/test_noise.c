/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Noise between two in-process parties, as Sotto uses it: XX and IK with the
 * "sotto/1" prologue, transport both ways, tampering, wrong prologue, wrong
 * pinned key, nonce exhaustion, rekey, and framing (including payloads larger
 * than one Noise message fed to the decoder in random pieces). */
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/noise.h"
#include "sotto/util.h"
#include "testutil.h"

#define MAXMSG SOTTO_NOISE_MAX_MESSAGE
static const uint8_t PRO[] = SOTTO_NOISE_PROLOGUE;

struct party {
	uint8_t priv[32], pub[32];
};

static void keygen(struct party *p)
{
	CHECK_RC(sotto_x25519_keypair(p->pub, p->priv), 0);
}

static sotto_noise_handshake *new_hs(const char *name, sotto_noise_role role, const uint8_t *pro,
				     size_t prolen, const struct party *local,
				     const uint8_t *remote)
{
	sotto_noise_config cfg = {
		.protocol_name = name,
		.role = role,
		.prologue = pro,
		.prologue_len = prolen,
		.local_static = local ? local->priv : NULL,
		.remote_static = remote,
		.rng = sotto_rng_system,
	};
	sotto_noise_handshake *hs = NULL;
	CHECK_RC(sotto_noise_handshake_new(&hs, &cfg), 0);
	return hs;
}

/* Runs the handshake to the end; returns 0 or the first error. tamper_msg
 * names a message index whose byte tamper_pos gets flipped in transit (-1 for
 * none). */
static int run_handshake(sotto_noise_handshake *ini, sotto_noise_handshake *res, int tamper_msg,
			 size_t tamper_pos)
{
	uint8_t *buf = malloc(MAXMSG), *pl = malloc(MAXMSG);
	int rc = SOTTO_ERR_NOMEM;
	if (buf == NULL || pl == NULL)
		goto done;
	for (int i = 0; sotto_noise_handshake_action(ini) != SOTTO_NOISE_SPLIT ||
			sotto_noise_handshake_action(res) != SOTTO_NOISE_SPLIT;
	     i++) {
		int from_init = sotto_noise_handshake_action(ini) == SOTTO_NOISE_WRITE;
		sotto_noise_handshake *w = from_init ? ini : res, *r = from_init ? res : ini;
		char payload[32];
		int plen = snprintf(payload, sizeof(payload), "payload %d", i);
		size_t n = 0, m = 0;
		rc = sotto_noise_write_message(w, (const uint8_t *)payload, (size_t)plen, buf,
					       MAXMSG, &n);
		if (rc != 0)
			goto done;
		if (i == tamper_msg)
			buf[tamper_pos % n] ^= 0x01;
		rc = sotto_noise_read_message(r, buf, n, pl, MAXMSG, &m);
		if (rc != 0)
			goto done;
		/* XX's first payload travels in clear: a flipped byte there
		 * arrives as is, and the handshake breaks one message later. */
		if (i != tamper_msg && (m != (size_t)plen || memcmp(pl, payload, m) != 0)) {
			rc = SOTTO_ERR_INTERNAL;
			goto done;
		}
	}
	rc = 0;
done:
	free(buf);
	free(pl);
	return rc;
}

/* Sends a few messages each way and checks they arrive intact. */
static void transport_both_ways(sotto_noise_handshake *ini, sotto_noise_handshake *res)
{
	sotto_noise_cipher *is = NULL, *ir = NULL, *rs = NULL, *rr = NULL;
	CHECK_RC(sotto_noise_split(ini, &is, &ir), 0);
	CHECK_RC(sotto_noise_split(res, &rs, &rr), 0);
	CHECK_RC(sotto_noise_split(res, &rs, &rr), SOTTO_ERR_INVALID_ARGUMENT);
	if (!is || !ir || !rs || !rr)
		goto done;
	uint8_t ct[256], pt[256];
	size_t n, m;
	for (int i = 0; i < 5; i++) {
		char msg[64];
		int len = snprintf(msg, sizeof(msg), "message %d from the client", i);
		CHECK_RC(sotto_noise_encrypt(is, NULL, 0, (const uint8_t *)msg, (size_t)len, ct,
					     sizeof(ct), &n), 0);
		CHECK(n == (size_t)len + 16);
		CHECK_RC(sotto_noise_decrypt(rr, NULL, 0, ct, n, pt, sizeof(pt), &m), 0);
		CHECK(m == (size_t)len && memcmp(pt, msg, m) == 0);
		len = snprintf(msg, sizeof(msg), "reply %d from the server", i);
		CHECK_RC(sotto_noise_encrypt(rs, NULL, 0, (const uint8_t *)msg, (size_t)len, ct,
					     sizeof(ct), &n), 0);
		/* A flipped bit is refused, the nonce stays, the real one passes. */
		ct[n - 1] ^= 0x80;
		CHECK_RC(sotto_noise_decrypt(ir, NULL, 0, ct, n, pt, sizeof(pt), &m),
			 SOTTO_ERR_INVALID_MESSAGE);
		ct[n - 1] ^= 0x80;
		CHECK_RC(sotto_noise_decrypt(ir, NULL, 0, ct, n, pt, sizeof(pt), &m), 0);
		CHECK(m == (size_t)len && memcmp(pt, msg, m) == 0);
		/* Replaying the same ciphertext fails: the nonce moved on. */
		CHECK_RC(sotto_noise_decrypt(ir, NULL, 0, ct, n, pt, sizeof(pt), &m),
			 SOTTO_ERR_INVALID_MESSAGE);
	}
	CHECK(sotto_noise_cipher_nonce(is) == 5 && sotto_noise_cipher_nonce(rr) == 5);

	/* Rekey: in step both ways keeps working; one-sided breaks the stream. */
	CHECK_RC(sotto_noise_rekey(is), 0);
	CHECK_RC(sotto_noise_rekey(rr), 0);
	CHECK_RC(sotto_noise_encrypt(is, NULL, 0, (const uint8_t *)"after rekey", 11, ct,
				     sizeof(ct), &n), 0);
	CHECK_RC(sotto_noise_decrypt(rr, NULL, 0, ct, n, pt, sizeof(pt), &m), 0);
	CHECK(m == 11 && memcmp(pt, "after rekey", 11) == 0);
	CHECK_RC(sotto_noise_rekey(is), 0);
	CHECK_RC(sotto_noise_encrypt(is, NULL, 0, (const uint8_t *)"x", 1, ct, sizeof(ct), &n), 0);
	CHECK_RC(sotto_noise_decrypt(rr, NULL, 0, ct, n, pt, sizeof(pt), &m),
		 SOTTO_ERR_INVALID_MESSAGE);

	/* Nonce exhaustion: 2^64 - 2 is the last usable nonce. */
	sotto_noise_cipher_set_nonce(rs, UINT64_MAX - 1);
	sotto_noise_cipher_set_nonce(ir, UINT64_MAX - 1);
	CHECK_RC(sotto_noise_encrypt(rs, NULL, 0, (const uint8_t *)"last", 4, ct, sizeof(ct), &n), 0);
	CHECK_RC(sotto_noise_decrypt(ir, NULL, 0, ct, n, pt, sizeof(pt), &m), 0);
	CHECK_RC(sotto_noise_encrypt(rs, NULL, 0, (const uint8_t *)"more", 4, ct, sizeof(ct), &n),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_noise_decrypt(ir, NULL, 0, ct, n, pt, sizeof(pt), &m),
		 SOTTO_ERR_INVALID_ARGUMENT);

	/* Size limits. */
	uint8_t *big = calloc(1, MAXMSG + 1);
	CHECK(big != NULL);
	if (big) {
		CHECK_RC(sotto_noise_encrypt(is, NULL, 0, big, SOTTO_NOISE_MAX_PAYLOAD + 1, big,
					     MAXMSG + 1, &n), SOTTO_ERR_INVALID_ARGUMENT);
		CHECK_RC(sotto_noise_decrypt(rr, NULL, 0, big, MAXMSG + 1, big, MAXMSG + 1, &m),
			 SOTTO_ERR_INVALID_MESSAGE);
		CHECK_RC(sotto_noise_decrypt(rr, NULL, 0, big, 15, big, MAXMSG, &m),
			 SOTTO_ERR_INVALID_MESSAGE);
		free(big);
	}
done:
	sotto_noise_cipher_free(is);
	sotto_noise_cipher_free(ir);
	sotto_noise_cipher_free(rs);
	sotto_noise_cipher_free(rr);
}

static void check_peers(sotto_noise_handshake *ini, sotto_noise_handshake *res,
			const struct party *client, const struct party *server)
{
	uint8_t k[32], hi[64], hr[64];
	size_t hil = 0, hrl = 0;
	CHECK_RC(sotto_noise_remote_static(ini, k), 0);
	CHECK(memcmp(k, server->pub, 32) == 0);
	CHECK_RC(sotto_noise_remote_static(res, k), 0);
	CHECK(memcmp(k, client->pub, 32) == 0);
	CHECK_RC(sotto_noise_handshake_hash(ini, hi, sizeof(hi), &hil), 0);
	CHECK_RC(sotto_noise_handshake_hash(res, hr, sizeof(hr), &hrl), 0);
	CHECK(hil == 64 && hrl == 64 && memcmp(hi, hr, 64) == 0);
}

static void test_xx(void)
{
	struct party c, s;
	keygen(&c);
	keygen(&s);
	sotto_noise_handshake *ini =
		new_hs(SOTTO_NOISE_XX, SOTTO_NOISE_INITIATOR, PRO, sizeof(PRO) - 1, &c, NULL);
	sotto_noise_handshake *res =
		new_hs(SOTTO_NOISE_XX, SOTTO_NOISE_RESPONDER, PRO, sizeof(PRO) - 1, &s, NULL);
	uint8_t k[32];
	CHECK_RC(sotto_noise_remote_static(ini, k), SOTTO_ERR_NOT_FOUND);
	CHECK(sotto_noise_handshake_action(ini) == SOTTO_NOISE_WRITE);
	CHECK(sotto_noise_handshake_action(res) == SOTTO_NOISE_READ);
	/* Out-of-turn calls are refused and change nothing. */
	uint8_t buf[256];
	size_t n;
	CHECK_RC(sotto_noise_write_message(res, NULL, 0, buf, sizeof(buf), &n),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_noise_write_message(ini, NULL, 0, buf, 31, &n), SOTTO_ERR_BUFFER_TOO_SMALL);
	CHECK_RC(sotto_noise_write_message(ini, buf, MAXMSG, buf, sizeof(buf), &n),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_noise_handshake_hash(ini, buf, sizeof(buf), &n), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(run_handshake(ini, res, -1, 0), 0);
	CHECK(sotto_noise_handshake_is_finished(ini) && sotto_noise_handshake_is_finished(res));
	check_peers(ini, res, &c, &s);
	transport_both_ways(ini, res);
	sotto_noise_handshake_free(ini);
	sotto_noise_handshake_free(res);
}

static void test_ik(void)
{
	struct party c, s;
	keygen(&c);
	keygen(&s);
	sotto_noise_handshake *ini =
		new_hs(SOTTO_NOISE_IK, SOTTO_NOISE_INITIATOR, PRO, sizeof(PRO) - 1, &c, s.pub);
	sotto_noise_handshake *res =
		new_hs(SOTTO_NOISE_IK, SOTTO_NOISE_RESPONDER, PRO, sizeof(PRO) - 1, &s, NULL);
	CHECK_RC(run_handshake(ini, res, -1, 0), 0);
	check_peers(ini, res, &c, &s);
	transport_both_ways(ini, res);
	sotto_noise_handshake_free(ini);
	sotto_noise_handshake_free(res);

	/* IK needs the pinned key; XX must not be given a responder key role
	 * it cannot use (it is simply ignored), but IK without one fails. */
	sotto_noise_config cfg = { .protocol_name = SOTTO_NOISE_IK,
				   .role = SOTTO_NOISE_INITIATOR,
				   .local_static = c.priv,
				   .rng = sotto_rng_system };
	sotto_noise_handshake *hs = NULL;
	CHECK_RC(sotto_noise_handshake_new(&hs, &cfg), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK(hs == NULL);
	cfg.remote_static = s.pub;
	cfg.local_static = NULL;
	CHECK_RC(sotto_noise_handshake_new(&hs, &cfg), SOTTO_ERR_INVALID_ARGUMENT);
	cfg.local_static = c.priv;
	cfg.protocol_name = "Noise_IK_448_ChaChaPoly_BLAKE2b";
	CHECK_RC(sotto_noise_handshake_new(&hs, &cfg), SOTTO_ERR_INVALID_ARGUMENT);
	cfg.protocol_name = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
	CHECK_RC(sotto_noise_handshake_new(&hs, &cfg), SOTTO_ERR_INVALID_ARGUMENT);
	cfg.protocol_name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"; /* no psk given */
	CHECK_RC(sotto_noise_handshake_new(&hs, &cfg), SOTTO_ERR_INVALID_ARGUMENT);
	cfg.protocol_name = "Noise_IKfallback_25519_ChaChaPoly_BLAKE2b";
	CHECK_RC(sotto_noise_handshake_new(&hs, &cfg), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK(!sotto_noise_protocol_supported("Noise_QQ_25519_ChaChaPoly_BLAKE2b"));
	CHECK(sotto_noise_protocol_supported("Noise_XXpsk0+psk3_25519_AESGCM_SHA512"));
}

/* A flipped byte anywhere in any handshake message must make the handshake
 * fail (maybe one message later, for bytes of a not yet authenticated
 * ephemeral key), and the failing side must then refuse every call. */
static void test_tamper(const char *name, int ik)
{
	struct party c, s;
	keygen(&c);
	keygen(&s);
	int nmsgs = ik ? 2 : 3;
	size_t positions[] = { 0, 17, 31, 32, 40, 63, 64, 80, 95, 1000 };
	for (int msg = 0; msg < nmsgs; msg++) {
		for (size_t p = 0; p < sizeof(positions) / sizeof(positions[0]); p++) {
			sotto_noise_handshake *ini =
				new_hs(name, SOTTO_NOISE_INITIATOR, PRO, sizeof(PRO) - 1, &c,
				       ik ? s.pub : NULL);
			sotto_noise_handshake *res = new_hs(name, SOTTO_NOISE_RESPONDER, PRO,
							    sizeof(PRO) - 1, &s, NULL);
			int rc = run_handshake(ini, res, msg, positions[p]);
			CHECK(rc == SOTTO_ERR_INVALID_MESSAGE || rc == SOTTO_ERR_INVALID_KEY);
			if (rc != SOTTO_ERR_INVALID_MESSAGE && rc != SOTTO_ERR_INVALID_KEY)
				tu_fail("%s: flipped message %d byte %zu: rc %d", name, msg,
					positions[p], rc);
			sotto_noise_handshake *dead =
				sotto_noise_handshake_action(ini) == SOTTO_NOISE_FAILED ? ini : res;
			CHECK(sotto_noise_handshake_action(dead) == SOTTO_NOISE_FAILED);
			uint8_t buf[256];
			size_t n;
			sotto_noise_cipher *a = NULL, *b = NULL;
			CHECK_RC(sotto_noise_read_message(dead, buf, 96, buf, sizeof(buf), &n),
				 SOTTO_ERR_INVALID_ARGUMENT);
			CHECK_RC(sotto_noise_write_message(dead, NULL, 0, buf, sizeof(buf), &n),
				 SOTTO_ERR_INVALID_ARGUMENT);
			CHECK_RC(sotto_noise_split(dead, &a, &b), SOTTO_ERR_INVALID_ARGUMENT);
			CHECK(!sotto_noise_handshake_is_finished(dead));
			sotto_noise_handshake_free(ini);
			sotto_noise_handshake_free(res);
		}
	}
	/* A truncated message is refused too. */
	sotto_noise_handshake *res = new_hs(name, SOTTO_NOISE_RESPONDER, PRO, sizeof(PRO) - 1, &s,
					    NULL);
	uint8_t buf[16] = { 0 }, pl[16];
	size_t n;
	CHECK_RC(sotto_noise_read_message(res, buf, sizeof(buf), pl, sizeof(pl), &n),
		 SOTTO_ERR_INVALID_MESSAGE);
	CHECK(sotto_noise_handshake_action(res) == SOTTO_NOISE_FAILED);
	sotto_noise_handshake_free(res);
}

static void test_wrong_prologue_and_key(void)
{
	struct party c, s, other;
	keygen(&c);
	keygen(&s);
	keygen(&other);
	static const uint8_t PRO2[] = "sotto/2";
	const char *names[] = { SOTTO_NOISE_XX, SOTTO_NOISE_IK };
	for (int i = 0; i < 2; i++) {
		sotto_noise_handshake *ini = new_hs(names[i], SOTTO_NOISE_INITIATOR, PRO2, 7, &c,
						    i ? s.pub : NULL);
		sotto_noise_handshake *res =
			new_hs(names[i], SOTTO_NOISE_RESPONDER, PRO, sizeof(PRO) - 1, &s, NULL);
		CHECK_RC(run_handshake(ini, res, -1, 0), SOTTO_ERR_INVALID_MESSAGE);
		CHECK(!sotto_noise_handshake_is_finished(ini) ||
		      !sotto_noise_handshake_is_finished(res));
		sotto_noise_handshake_free(ini);
		sotto_noise_handshake_free(res);
	}
	/* IK pinned to the wrong server key: the server cannot read message 1. */
	sotto_noise_handshake *ini =
		new_hs(SOTTO_NOISE_IK, SOTTO_NOISE_INITIATOR, PRO, sizeof(PRO) - 1, &c, other.pub);
	sotto_noise_handshake *res =
		new_hs(SOTTO_NOISE_IK, SOTTO_NOISE_RESPONDER, PRO, sizeof(PRO) - 1, &s, NULL);
	CHECK_RC(run_handshake(ini, res, -1, 0), SOTTO_ERR_INVALID_MESSAGE);
	CHECK(sotto_noise_handshake_action(res) == SOTTO_NOISE_FAILED);
	uint8_t k[32];
	CHECK_RC(sotto_noise_remote_static(res, k), SOTTO_ERR_NOT_FOUND);
	sotto_noise_handshake_free(ini);
	sotto_noise_handshake_free(res);

	/* A low-order ephemeral key (all zeros) from the client: XX message 1
	 * carries no DH, so the server notices when its reply needs ee, and
	 * the reply fails and kills the handshake. */
	res = new_hs(SOTTO_NOISE_XX, SOTTO_NOISE_RESPONDER, PRO, sizeof(PRO) - 1, &s, NULL);
	uint8_t zero_e[32] = { 0 }, buf[256];
	size_t n;
	CHECK_RC(sotto_noise_read_message(res, zero_e, 32, buf, sizeof(buf), &n), 0);
	CHECK_RC(sotto_noise_write_message(res, NULL, 0, buf, sizeof(buf), &n),
		 SOTTO_ERR_INVALID_KEY);
	CHECK(sotto_noise_handshake_action(res) == SOTTO_NOISE_FAILED);
	sotto_noise_handshake_free(res);
}

/* Feeds stream to the decoder in pseudo-random pieces, decrypts every frame
 * with c and appends the plaintexts to out. Returns the frame count, or -1. */
static long decode_stream(const uint8_t *stream, size_t len, sotto_noise_cipher *c, uint8_t *out,
			  size_t *outlen, uint64_t *rng)
{
	sotto_noise_frame_decoder *d = sotto_noise_frame_decoder_new();
	if (d == NULL)
		return -1;
	long frames = 0;
	size_t pos = 0;
	*outlen = 0;
	while (pos < len) {
		size_t piece = 1 + (size_t)(tu_rand64(rng) % 70000);
		if (piece > len - pos)
			piece = len - pos;
		const uint8_t *in = stream + pos;
		size_t left = piece;
		for (;;) {
			size_t used = 0, flen = 0, m = 0;
			const uint8_t *f = NULL;
			int rc = sotto_noise_frame_decode(d, in, left, &used, &f, &flen);
			if (rc < 0 || used > left) {
				frames = -1;
				goto done;
			}
			in += used;
			left -= used;
			if (rc == 0)
				break;
			if (sotto_noise_decrypt(c, NULL, 0, f, flen, out + *outlen, MAXMSG, &m) != 0) {
				frames = -1;
				goto done;
			}
			*outlen += m;
			frames++;
		}
		if (left != 0) {
			frames = -1;
			goto done;
		}
		pos += piece;
	}
done:
	sotto_noise_frame_decoder_free(d);
	return frames;
}

static void test_framing(void)
{
	struct party c, s;
	keygen(&c);
	keygen(&s);
	sotto_noise_handshake *ini =
		new_hs(SOTTO_NOISE_IK, SOTTO_NOISE_INITIATOR, PRO, sizeof(PRO) - 1, &c, s.pub);
	sotto_noise_handshake *res =
		new_hs(SOTTO_NOISE_IK, SOTTO_NOISE_RESPONDER, PRO, sizeof(PRO) - 1, &s, NULL);
	CHECK_RC(run_handshake(ini, res, -1, 0), 0);
	sotto_noise_cipher *is = NULL, *ir = NULL, *rs = NULL, *rr = NULL;
	CHECK_RC(sotto_noise_split(ini, &is, &ir), 0);
	CHECK_RC(sotto_noise_split(res, &rs, &rr), 0);
	uint64_t rng = 42;
	size_t sizes[] = { 0, 1, 1000, SOTTO_NOISE_MAX_PAYLOAD, SOTTO_NOISE_MAX_PAYLOAD + 1,
			   65535, 65536, 3 * SOTTO_NOISE_MAX_PAYLOAD, 200000 };
	size_t maxlen = 200000;
	uint8_t *pt = malloc(maxlen), *back = malloc(2 * maxlen + MAXMSG);
	uint8_t *stream = malloc(SOTTO_NOISE_FRAMED_LEN(maxlen) * 2);
	CHECK(pt && back && stream && is && rr);
	if (!pt || !back || !stream || !is || !rr)
		goto done;
	tu_randbytes(&rng, pt, maxlen);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i], n = 0, m = 0;
		CHECK_RC(sotto_noise_frame_encrypt(is, pt, len, stream,
						   SOTTO_NOISE_FRAMED_LEN(len) - 1, &n),
			 SOTTO_ERR_BUFFER_TOO_SMALL);
		CHECK_RC(sotto_noise_frame_encrypt(is, pt, len, stream,
						   SOTTO_NOISE_FRAMED_LEN(len), &n), 0);
		CHECK(n == SOTTO_NOISE_FRAMED_LEN(len));
		/* Two payloads back to back in one stream. */
		size_t n2 = 0;
		CHECK_RC(sotto_noise_frame_encrypt(is, pt, len, stream + n,
						   SOTTO_NOISE_FRAMED_LEN(len), &n2), 0);
		long frames = decode_stream(stream, n + n2, rr, back, &m, &rng);
		CHECK(frames == (long)(2 * SOTTO_NOISE_FRAME_CHUNKS(len)));
		CHECK(m == 2 * len);
		if (m == 2 * len) {
			CHECK(memcmp(back, pt, len) == 0);
			CHECK(memcmp(back + len, pt, len) == 0);
		}
		/* Every frame is a whole Noise message no larger than 65535. */
		for (size_t off = 0; off + 4 <= n;) {
			size_t fl = (size_t)stream[off] << 24 | (size_t)stream[off + 1] << 16 |
				    (size_t)stream[off + 2] << 8 | stream[off + 3];
			CHECK(fl >= 16 && fl <= MAXMSG);
			off += 4 + fl;
		}
	}
	CHECK(SOTTO_NOISE_FRAME_CHUNKS(200000) == 4);

	/* A header over 65535 is rejected, and the decoder stays failed. */
	sotto_noise_frame_decoder *d = sotto_noise_frame_decoder_new();
	CHECK(d != NULL);
	if (d) {
		const uint8_t bad[] = { 0x00, 0x01, 0x00, 0x00, 0xaa };
		const uint8_t ok[] = { 0x00, 0x00, 0x00, 0x01, 0xbb };
		size_t used = 0, fl = 0;
		const uint8_t *f = NULL;
		CHECK_RC(sotto_noise_frame_decode(d, ok, sizeof(ok), &used, &f, &fl), 1);
		CHECK(used == 5 && fl == 1 && f[0] == 0xbb);
		CHECK_RC(sotto_noise_frame_decode(d, bad, 2, &used, &f, &fl), 0);
		CHECK(used == 2);
		CHECK_RC(sotto_noise_frame_decode(d, bad + 2, 3, &used, &f, &fl),
			 SOTTO_ERR_INVALID_MESSAGE);
		CHECK_RC(sotto_noise_frame_decode(d, ok, sizeof(ok), &used, &f, &fl),
			 SOTTO_ERR_INVALID_MESSAGE);
		sotto_noise_frame_decoder_free(d);
	}
	uint8_t hdr[4];
	CHECK_RC(sotto_noise_frame_header(hdr, 65535), 0);
	CHECK(hdr[0] == 0 && hdr[1] == 0 && hdr[2] == 0xff && hdr[3] == 0xff);
	CHECK_RC(sotto_noise_frame_header(hdr, 65536), SOTTO_ERR_INVALID_ARGUMENT);
done:
	free(pt);
	free(back);
	free(stream);
	sotto_noise_cipher_free(is);
	sotto_noise_cipher_free(ir);
	sotto_noise_cipher_free(rs);
	sotto_noise_cipher_free(rr);
	sotto_noise_handshake_free(ini);
	sotto_noise_handshake_free(res);
}

/* A one-way pattern gives each side only one direction. */
static void test_one_way(void)
{
	struct party s;
	keygen(&s);
	const char *name = "Noise_N_25519_ChaChaPoly_BLAKE2b";
	sotto_noise_handshake *ini =
		new_hs(name, SOTTO_NOISE_INITIATOR, PRO, sizeof(PRO) - 1, NULL, s.pub);
	sotto_noise_handshake *res =
		new_hs(name, SOTTO_NOISE_RESPONDER, PRO, sizeof(PRO) - 1, &s, NULL);
	CHECK_RC(run_handshake(ini, res, -1, 0), 0);
	sotto_noise_cipher *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	CHECK_RC(sotto_noise_split(ini, &a, &b), 0);
	CHECK_RC(sotto_noise_split(res, &c, &d), 0);
	CHECK(a != NULL && b == NULL && c == NULL && d != NULL);
	sotto_noise_cipher_free(a);
	sotto_noise_cipher_free(d);
	sotto_noise_handshake_free(ini);
	sotto_noise_handshake_free(res);
}

int main(void)
{
	CHECK_RC(sotto_init(), 0);
	test_xx();
	test_ik();
	test_tamper(SOTTO_NOISE_XX, 0);
	test_tamper(SOTTO_NOISE_IK, 1);
	test_wrong_prologue_and_key();
	test_framing();
	test_one_way();
	return tu_finish("unit-noise");
}
