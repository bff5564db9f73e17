/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* ML-KEM / Kyber internals and round trips: Compress against exact division,
 * NTT multiplication against schoolbook negacyclic multiplication, KEM round
 * trips and implicit rejection for random keys, and the incremental ML-KEM-768
 * split against the one-shot encapsulation. */
#include <string.h>

#include "crypto/mlkem_poly.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/kem.h"
#include "sotto/util.h"
#include "testutil.h"

#define Q 3329

static void test_compress(void)
{
	static const unsigned ds[] = { 1, 4, 5, 10, 11 };
	size_t bad = 0;
	for (size_t k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
		unsigned d = ds[k];
		for (uint32_t x = 0; x < Q; x++) {
			/* round(2^d x / q) mod 2^d with exact integer division */
			uint32_t want = (((x << (d + 1)) + Q) / (2 * Q)) & ((1u << d) - 1);
			if (sotto__mlkem_compress_coeff((uint16_t)x, d) != want)
				bad++;
		}
	}
	CHECK(bad == 0);
}

static uint16_t modq(int32_t x)
{
	x %= Q;
	return (uint16_t)(x < 0 ? x + Q : x);
}

static void test_ntt_mul(void)
{
	uint64_t st = 7;
	for (int iter = 0; iter < 20; iter++) {
		sotto__mlkem_poly a, b, c;
		int32_t want[256] = { 0 };
		for (int i = 0; i < 256; i++) {
			a.c[i] = (int16_t)(tu_rand64(&st) % Q);
			b.c[i] = (int16_t)((int)(tu_rand64(&st) % Q) - Q / 2);
		}
		for (int i = 0; i < 256; i++) {
			for (int j = 0; j < 256; j++) {
				int32_t p = (int32_t)(((int64_t)a.c[i] * b.c[j]) % Q);
				if (i + j < 256)
					want[i + j] = (want[i + j] + p) % Q;
				else
					want[i + j - 256] = (want[i + j - 256] - p) % Q;
			}
		}
		sotto__mlkem_ntt(&a);
		sotto__mlkem_ntt(&b);
		sotto__mlkem_basemul(&c, &a, &b);
		sotto__mlkem_invntt_frommont(&c);
		sotto__mlkem_poly_canon(&c);
		int ok = 1;
		for (int i = 0; i < 256; i++)
			ok &= c.c[i] == (int16_t)modq(want[i]);
		CHECK(ok);
	}
}

static void test_encodings(void)
{
	uint64_t st = 11;
	sotto__mlkem_poly a, b;
	uint8_t buf[384];
	for (int i = 0; i < 256; i++)
		a.c[i] = (int16_t)(tu_rand64(&st) % Q);
	sotto__mlkem_poly_tobytes(buf, &a);
	CHECK(sotto__mlkem_poly_frombytes_checked(&b, buf) == 0);
	CHECK(memcmp(a.c, b.c, sizeof(a.c)) == 0);
	buf[383] |= 0xf0; /* last coefficient >= 0xf00 >= q */
	CHECK(sotto__mlkem_poly_frombytes_checked(&b, buf) == -1);
	/* Decompress(Compress(x)) is within round(q / 2^(d+1)) of x. */
	static const unsigned ds[] = { 1, 4, 5, 10, 11 };
	for (size_t k = 0; k < 5; k++) {
		unsigned d = ds[k];
		uint8_t c[352];
		sotto__mlkem_poly_compress(c, &a, d);
		sotto__mlkem_poly_decompress(&b, c, d);
		int ok = 1;
		int bound = (Q + (1 << (d + 1)) - 1) >> (d + 1);
		for (int i = 0; i < 256; i++) {
			int diff = (a.c[i] - b.c[i] + Q) % Q;
			if (diff > Q / 2)
				diff = Q - diff;
			ok &= diff <= bound;
		}
		CHECK(ok);
	}
}

/* Implicit rejection secrets, computed independently of the library's code. */
static void reject_mlkem(uint8_t out[32], const uint8_t *z, const uint8_t *ct, size_t ctlen)
{
	sotto_iov parts[2] = { { z, 32 }, { ct, ctlen } };
	CHECK_RC(sotto_shake256_v(out, 32, parts, 2), 0);
}

static void reject_kyber(uint8_t out[32], const uint8_t *z, const uint8_t *ct, size_t ctlen)
{
	uint8_t hc[32];
	CHECK_RC(sotto_sha3_256(hc, ct, ctlen), 0);
	sotto_iov parts[2] = { { z, 32 }, { hc, 32 } };
	CHECK_RC(sotto_shake256_v(out, 32, parts, 2), 0);
}

static void test_roundtrips(void)
{
	uint64_t st = 99;
	uint8_t d[32], z[32], m[32], ss1[32], ss2[32], want[32];
	for (int iter = 0; iter < 20; iter++) {
		tu_randbytes(&st, d, 32);
		tu_randbytes(&st, z, 32);
		tu_randbytes(&st, m, 32);
		{
			uint8_t ek[SOTTO_MLKEM768_EK_BYTES], dk[SOTTO_MLKEM768_DK_BYTES];
			uint8_t ct[SOTTO_MLKEM768_CT_BYTES];
			CHECK_RC(sotto_mlkem768_keypair_derand(ek, dk, d, z), 0);
			CHECK_RC(sotto_mlkem768_check_ek(ek), 0);
			CHECK_RC(sotto_mlkem768_check_dk(dk), 0);
			CHECK_RC(sotto_mlkem768_encaps_derand(ct, ss1, ek, m), 0);
			CHECK_RC(sotto_mlkem768_decaps(ss2, ct, dk), 0);
			CHECK_MEM(ss1, ss2, 32);
			ct[iter * 50] ^= (uint8_t)(1u << (iter % 8));
			CHECK_RC(sotto_mlkem768_decaps(ss2, ct, dk), 0);
			reject_mlkem(want, z, ct, sizeof(ct));
			CHECK_MEM(ss2, want, 32);
			CHECK(memcmp(z, dk + SOTTO_MLKEM768_DK_BYTES - 32, 32) == 0);
			dk[1200] ^= 1; /* inside the embedded ek: hash check fails */
			CHECK_RC(sotto_mlkem768_decaps(ss2, ct, dk), SOTTO_ERR_INVALID_KEY);
			CHECK_RC(sotto_mlkem768_check_dk(dk), SOTTO_ERR_INVALID_KEY);
			CHECK_RC(sotto_mlkem768_encaps(ct, ss1, ek), 0);
			CHECK_RC(sotto_mlkem768_keypair(ek, dk), 0);
			CHECK_RC(sotto_mlkem768_encaps(ct, ss1, ek), 0);
			CHECK_RC(sotto_mlkem768_decaps(ss2, ct, dk), 0);
			CHECK_MEM(ss1, ss2, 32);
		}
		{
			uint8_t ek[SOTTO_MLKEM1024_EK_BYTES], dk[SOTTO_MLKEM1024_DK_BYTES];
			uint8_t ct[SOTTO_MLKEM1024_CT_BYTES];
			CHECK_RC(sotto_mlkem1024_keypair_derand(ek, dk, d, z), 0);
			CHECK_RC(sotto_mlkem1024_check_ek(ek), 0);
			CHECK_RC(sotto_mlkem1024_check_dk(dk), 0);
			CHECK_RC(sotto_mlkem1024_encaps_derand(ct, ss1, ek, m), 0);
			CHECK_RC(sotto_mlkem1024_decaps(ss2, ct, dk), 0);
			CHECK_MEM(ss1, ss2, 32);
			ct[sizeof(ct) - 1 - iter * 70] ^= 0x80;
			CHECK_RC(sotto_mlkem1024_decaps(ss2, ct, dk), 0);
			reject_mlkem(want, z, ct, sizeof(ct));
			CHECK_MEM(ss2, want, 32);
			ek[0] = 0xff;
			ek[1] |= 0x0f; /* first coefficient 4095 */
			CHECK_RC(sotto_mlkem1024_encaps_derand(ct, ss1, ek, m),
				 SOTTO_ERR_INVALID_KEY);
			CHECK_RC(sotto_mlkem1024_check_ek(ek), SOTTO_ERR_INVALID_KEY);
			CHECK_RC(sotto_mlkem1024_keypair(ek, dk), 0);
			CHECK_RC(sotto_mlkem1024_encaps(ct, ss1, ek), 0);
			CHECK_RC(sotto_mlkem1024_decaps(ss2, ct, dk), 0);
			CHECK_MEM(ss1, ss2, 32);
		}
		{
			uint8_t pk[SOTTO_KYBER1024_PK_BYTES], sk[SOTTO_KYBER1024_SK_BYTES];
			uint8_t ct[SOTTO_KYBER1024_CT_BYTES];
			uint8_t ek2[SOTTO_MLKEM1024_EK_BYTES], dk2[SOTTO_MLKEM1024_DK_BYTES];
			CHECK_RC(sotto_kyber1024_keypair_derand(pk, sk, d, z), 0);
			/* Only the domain byte differs from ML-KEM-1024 key generation. */
			CHECK_RC(sotto_mlkem1024_keypair_derand(ek2, dk2, d, z), 0);
			CHECK(memcmp(pk, ek2, sizeof(pk)) != 0);
			CHECK_RC(sotto_kyber1024_encaps_derand(ct, ss1, pk, m), 0);
			CHECK_RC(sotto_kyber1024_decaps(ss2, ct, sk), 0);
			CHECK_MEM(ss1, ss2, 32);
			ct[iter] ^= 4;
			CHECK_RC(sotto_kyber1024_decaps(ss2, ct, sk), 0);
			reject_kyber(want, z, ct, sizeof(ct));
			CHECK_MEM(ss2, want, 32);
			CHECK_RC(sotto_kyber1024_keypair(pk, sk), 0);
			CHECK_RC(sotto_kyber1024_encaps(ct, ss1, pk), 0);
			CHECK_RC(sotto_kyber1024_decaps(ss2, ct, sk), 0);
			CHECK_MEM(ss1, ss2, 32);
		}
	}
}

static void test_incremental(void)
{
	uint64_t st = 1234;
	size_t passed = 0, total = 0;
	for (int iter = 0; iter < 200; iter++) {
		uint8_t d[32], z[32], m[32];
		uint8_t ek[SOTTO_MLKEM768_EK_BYTES], dk[SOTTO_MLKEM768_DK_BYTES];
		uint8_t ek2[SOTTO_MLKEM768_EK_BYTES];
		uint8_t ct[SOTTO_MLKEM768_CT_BYTES], ct12[SOTTO_MLKEM768_CT_BYTES];
		uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES], vec[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES];
		uint8_t ss[32], ss1[32], ss2[32];
		sotto_mlkem768_incr_state state;
		int ok = 1;
		tu_randbytes(&st, d, 32);
		tu_randbytes(&st, z, 32);
		tu_randbytes(&st, m, 32);
		total++;
		ok &= sotto_mlkem768_keypair_derand(ek, dk, d, z) == 0;
		ok &= sotto_mlkem768_incr_split_ek(hdr, vec, ek) == 0;
		ok &= memcmp(hdr, ek + 1152, 32) == 0 && memcmp(vec, ek, 1152) == 0;
		ok &= memcmp(hdr + 32, dk + 2 * 1152 + 32, 32) == 0; /* = H(ek) */
		ok &= sotto_mlkem768_incr_check_ek_vector(hdr, vec) == 0;
		ok &= sotto_mlkem768_incr_join_ek(ek2, hdr, vec) == 0 && memcmp(ek, ek2, sizeof(ek)) == 0;
		ok &= sotto_mlkem768_encaps_derand(ct, ss, ek, m) == 0;
		ok &= sotto_mlkem768_incr_encaps1_derand(ct12, ss1, &state, hdr, m) == 0;
		ok &= sotto_mlkem768_incr_encaps2(ct12 + 960, &state, vec) == 0;
		ok &= memcmp(ct, ct12, sizeof(ct)) == 0 && memcmp(ss, ss1, 32) == 0;
		ok &= sotto_mlkem768_decaps(ss2, ct12, dk) == 0 && memcmp(ss2, ss1, 32) == 0;
		/* The random variant must also decapsulate. */
		ok &= sotto_mlkem768_incr_encaps1(ct12, ss1, &state, hdr) == 0;
		ok &= sotto_mlkem768_incr_encaps2(ct12 + 960, &state, vec) == 0;
		ok &= sotto_mlkem768_decaps(ss2, ct12, dk) == 0 && memcmp(ss2, ss1, 32) == 0;
		sotto_memzero(&state, sizeof(state));
		/* A vector that does not belong to hdr, and one with a bad coefficient. */
		vec[iter] ^= 1;
		ok &= sotto_mlkem768_incr_check_ek_vector(hdr, vec) == SOTTO_ERR_INVALID_KEY;
		ok &= sotto_mlkem768_incr_join_ek(ek2, hdr, vec) == SOTTO_ERR_INVALID_KEY;
		vec[iter] ^= 1;
		hdr[iter % 64] ^= 0x10;
		ok &= sotto_mlkem768_incr_check_ek_vector(hdr, vec) == SOTTO_ERR_INVALID_KEY;
		hdr[iter % 64] ^= 0x10;
		size_t at = 3 * (size_t)(iter % 384);
		vec[at] = 0xff;
		vec[at + 1] |= 0x0f;
		ok &= sotto_mlkem768_incr_check_ek_vector(hdr, vec) == SOTTO_ERR_INVALID_KEY;
		ok &= sotto_mlkem768_incr_encaps2(ct12 + 960, &state, vec) == SOTTO_ERR_INVALID_KEY;
		if (ok)
			passed++;
	}
	tu_report("incremental ML-KEM-768 == ML-KEM-768 (random keys)", passed, total);
}

static void test_args(void)
{
	uint8_t buf[4000] = { 0 };
	CHECK_RC(sotto_mlkem768_keypair_derand(NULL, buf, buf, buf), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_mlkem768_decaps(buf, NULL, buf), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_mlkem1024_encaps(buf, buf, NULL), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_kyber1024_decaps(NULL, buf, buf), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_mlkem768_incr_encaps2(buf, NULL, buf), SOTTO_ERR_INVALID_ARGUMENT);
	/* An all-zero dk has H(ek) != 0. */
	CHECK_RC(sotto_mlkem768_decaps(buf, buf, buf + 1100), SOTTO_ERR_INVALID_KEY);
}

int main(void)
{
	test_compress();
	test_ntt_mul();
	test_encodings();
	test_roundtrips();
	test_incremental();
	test_args();
	return tu_finish("unit-mlkem");
}
