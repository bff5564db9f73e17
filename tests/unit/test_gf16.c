/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* GF(2^16) arithmetic and the SPQR erasure code (crypto/gf16.h). The known
 * answers are the Hdr stream of a real libsignal 0.103 session (epoch 1, chunks
 * 0..7 as sent; tests/interop/test_spqr_blocks.mjs checks the same code
 * against whole live sessions). */
#include <stdlib.h>
#include <string.h>

#include "crypto/gf16.h"
#include "sotto/error.h"
#include "testutil.h"

/* Reference multiply written differently from the library's: shift a left
 * (reducing as it overflows) while walking b's bits. */
static uint16_t ref_mul(uint16_t a, uint16_t b)
{
	uint32_t x = a, r = 0;

	while (b != 0) {
		if (b & 1)
			r ^= x;
		b >>= 1;
		x <<= 1;
		if (x & 0x10000)
			x ^= 0x1100B;
	}
	return (uint16_t)r;
}

static void test_arith(void)
{
	uint64_t st = 7;

	CHECK(sotto__gf16_mul(0x8000, 2) == 0x100B); /* x^16 = x^12 + x^3 + x + 1 */
	CHECK(sotto__gf16_mul(0, 0x1234) == 0);
	CHECK(sotto__gf16_mul(1, 0xBEEF) == 0xBEEF);
	size_t bad = 0;
	for (int i = 0; i < 20000; i++) {
		uint16_t a = (uint16_t)tu_rand64(&st), b = (uint16_t)tu_rand64(&st);
		if (sotto__gf16_mul(a, b) != ref_mul(a, b) || sotto__gf16_mul(a, b) != sotto__gf16_mul(b, a))
			bad++;
	}
	CHECK(bad == 0);
	bad = 0;
	for (uint32_t a = 1; a < 0x10000; a++) {
		if (sotto__gf16_mul((uint16_t)a, sotto__gf16_inv((uint16_t)a)) != 1)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(sotto__gf16_inv(0) == 0);
}

static const char *const HDR_CHUNKS[8] = {
	"858741dbb5fc57b73161b4b7e77c880812b811ead01b8df5b59dcb0cb479111a",
	"b9720c0f4a4a0521d3748f261133fbaf1676dd3c3e778ffad6f5349c5052dcf7",
	"9d65df4336e4e6b1709108414e09b49f160887b2eb20129dbd38352f6aaa5ed3",
	"a1909297c952b427928433d0b846c73812c64b64054c1092de50cabf8e81933e",
	"2068782002307518c5d3c21de216ae5f2f6852ad49d0eee0ad1e636103ecaef5",
	"1c9d35f4fd86278e27c6f98c1459ddf82ba69e7ba7bcecefce769cf1e7c76318",
	"388ae6b88128c41e84237eeb4b6392c82bd8c4f572eb7188a5bb9d42dd3fe13c",
	"047fab6c7e9e96886636457abd2ce16f2f1608239c877387c6d362d239142cd1",
};

static void test_libsignal_hdr(void)
{
	uint8_t chunks[8][32], msg[96], out[96], c[32];
	sotto_gf16_encoder enc;
	sotto_gf16_decoder dec;
	size_t ok = 0;

	for (int i = 0; i < 8; i++)
		CHECK(tu_unhex_into(chunks[i], 32, HDR_CHUNKS[i]) == 0);
	memcpy(msg, chunks[0], 32);
	memcpy(msg + 32, chunks[1], 32);
	memcpy(msg + 64, chunks[2], 32);
	CHECK_RC(sotto__gf16_encoder_init(&enc, msg, sizeof msg), 0);
	for (int i = 0; i < 8; i++) {
		sotto__gf16_encoder_chunk(&enc, (uint16_t)i, c);
		ok += memcmp(c, chunks[i], 32) == 0;
	}
	tu_report("libsignal Hdr chunks 0-7 re-encoded", ok, 8);

	/* Parity only, in reverse order. */
	CHECK_RC(sotto__gf16_decoder_init(&dec, sizeof out), 0);
	sotto__gf16_decoder_add(&dec, 7, chunks[7]);
	CHECK(!sotto__gf16_decoder_complete(&dec));
	sotto__gf16_decoder_add(&dec, 5, chunks[5]);
	CHECK_RC(sotto__gf16_decoder_finish(&dec, out, sizeof out), SOTTO_ERR_NOT_FOUND);
	sotto__gf16_decoder_add(&dec, 3, chunks[3]);
	CHECK(sotto__gf16_decoder_complete(&dec));
	CHECK_RC(sotto__gf16_decoder_finish(&dec, out, sizeof out), 0);
	CHECK_MEM(out, msg, sizeof msg);
	CHECK_RC(sotto__gf16_decoder_finish(&dec, out, sizeof out - 2), SOTTO_ERR_INVALID_ARGUMENT);

	/* Mixed systematic and parity. */
	CHECK_RC(sotto__gf16_decoder_init(&dec, sizeof out), 0);
	sotto__gf16_decoder_add(&dec, 6, chunks[6]);
	sotto__gf16_decoder_add(&dec, 1, chunks[1]);
	sotto__gf16_decoder_add(&dec, 1, chunks[1]); /* duplicate: ignored */
	CHECK(!sotto__gf16_decoder_complete(&dec));
	sotto__gf16_decoder_add(&dec, 4, chunks[4]);
	memset(out, 0, sizeof out);
	CHECK_RC(sotto__gf16_decoder_finish(&dec, out, sizeof out), 0);
	CHECK_MEM(out, msg, sizeof msg);

	/* A resent systematic chunk replaces the value stored for it. */
	CHECK_RC(sotto__gf16_decoder_init(&dec, sizeof out), 0);
	memcpy(c, chunks[0], 32);
	c[5] ^= 0x40;
	sotto__gf16_decoder_add(&dec, 0, c);
	sotto__gf16_decoder_add(&dec, 0, chunks[0]);
	sotto__gf16_decoder_add(&dec, 2, chunks[2]);
	sotto__gf16_decoder_add(&dec, 3, chunks[3]);
	CHECK_RC(sotto__gf16_decoder_finish(&dec, out, sizeof out), 0);
	CHECK_MEM(out, msg, sizeof msg);
}

/* Random messages of the SPQR stream sizes (and a few others), rebuilt from
 * random sets of m distinct chunk indices anywhere in 0..65535. */
static void test_random(void)
{
	static const size_t sizes[] = { 96, 1152, 960, 160, 2, 30, 34, 1150 };
	uint64_t st = 12345;
	size_t passed = 0, total = 0;
	uint8_t msg[SOTTO_GF16_MAX_MSG_BYTES], out[SOTTO_GF16_MAX_MSG_BYTES];
	sotto_gf16_encoder *enc = malloc(sizeof *enc);
	sotto_gf16_decoder *dec = malloc(sizeof *dec);

	if (enc == NULL || dec == NULL)
		abort();
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t n = sizes[s], m = (n + 31) / 32;
		int trials = n >= 960 ? 6 : 20;
		for (int t = 0; t < trials; t++) {
			uint16_t idx[64];
			uint8_t c[32];
			int good = 1;

			total++;
			tu_randbytes(&st, msg, n);
			if (sotto__gf16_encoder_init(enc, msg, n) != 0 ||
			    sotto__gf16_decoder_init(dec, n) != 0) {
				CHECK(0);
				continue;
			}
			/* Systematic: chunk c < m carries message bytes 32c.. */
			for (size_t i = 0; i + 1 < m; i++) {
				sotto__gf16_encoder_chunk(enc, (uint16_t)i, c);
				good &= memcmp(c, msg + 32 * i, 32) == 0;
			}
			/* m distinct indices; trial 0 uses parity only, trial 1
			 * the largest indices. */
			for (size_t i = 0; i < m;) {
				uint16_t v = (uint16_t)tu_rand64(&st);
				if (t == 0 && v < m)
					continue;
				if (t == 1)
					v = (uint16_t)(65535 - i);
				int dup = 0;
				for (size_t j = 0; j < i; j++)
					dup |= idx[j] == v;
				if (!dup)
					idx[i++] = v;
			}
			for (size_t i = 0; i < m; i++) {
				sotto__gf16_encoder_chunk(enc, idx[i], c);
				if (i + 1 == m)
					good &= !sotto__gf16_decoder_complete(dec);
				sotto__gf16_decoder_add(dec, idx[i], c);
				if (i % 3 == 0) /* duplicates change nothing */
					sotto__gf16_decoder_add(dec, idx[i], c);
			}
			good &= sotto__gf16_decoder_complete(dec);
			memset(out, 0, n);
			good &= sotto__gf16_decoder_finish(dec, out, n) == 0;
			good &= memcmp(out, msg, n) == 0;
			passed += good;
		}
	}
	tu_report("random messages rebuilt from random chunk sets", passed, total);
	free(enc);
	free(dec);
}

static void test_bounds(void)
{
	sotto_gf16_encoder enc;
	sotto_gf16_decoder dec;
	uint8_t m[SOTTO_GF16_MAX_MSG_BYTES + 2] = { 0 };

	CHECK_RC(sotto__gf16_encoder_init(&enc, m, 0), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto__gf16_encoder_init(&enc, m, 95), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto__gf16_encoder_init(&enc, m, SOTTO_GF16_MAX_MSG_BYTES + 2),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto__gf16_encoder_init(&enc, m, SOTTO_GF16_MAX_MSG_BYTES), 0);
	CHECK_RC(sotto__gf16_decoder_init(&dec, 0), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto__gf16_decoder_init(&dec, 161), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto__gf16_decoder_init(&dec, SOTTO_GF16_MAX_MSG_BYTES + 2),
		 SOTTO_ERR_INVALID_ARGUMENT);
	/* A 2-byte message: only polynomial 0 has a point. */
	CHECK_RC(sotto__gf16_decoder_init(&dec, 2), 0);
	CHECK(!sotto__gf16_decoder_complete(&dec));
	uint8_t c[32], out[2];
	m[0] = 0xAB;
	m[1] = 0xCD;
	CHECK_RC(sotto__gf16_encoder_init(&enc, m, 2), 0);
	sotto__gf16_encoder_chunk(&enc, 9000, c);
	CHECK(c[0] == 0xAB && c[1] == 0xCD); /* a constant polynomial */
	sotto__gf16_decoder_add(&dec, 9000, c);
	CHECK_RC(sotto__gf16_decoder_finish(&dec, out, 2), 0);
	CHECK(out[0] == 0xAB && out[1] == 0xCD);
}

int main(void)
{
	test_arith();
	test_libsignal_hdr();
	test_random();
	test_bounds();
	return tu_finish("gf16");
}
