/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Secret-independence of ML-KEM-768/1024, round-3 Kyber1024 and the
 * incremental ML-KEM-768 encapsulation. Under valgrind memcheck the secret
 * inputs are marked undefined (d and z for key generation, m for
 * encapsulation, the secret vector s and the rejection seed z inside dk for
 * decapsulation, the encaps1 state), so any branch or memory address computed
 * from them is reported. The ek and H(ek) stored inside dk stay defined: they
 * are public, and the FIPS 203 hash check branches on them by design. rho,
 * derived from d, is declassified inside key generation through the library's
 * test hook, since it becomes part of ek and the matrix expansion branches on
 * it. Results are declassified only after each call returns. Decapsulation
 * runs on valid and on corrupted ciphertexts. */
#include <string.h>

#include "crypto/mlkem_poly.h"
#include "ct.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/kem.h"
#include "sotto/util.h"
#include "testutil.h"

static uint64_t rng = 0x6d6c6b656dULL;

static void declassify(const void *p, size_t len)
{
	CT_PUBLIC(p, len);
}

typedef struct kem {
	const char *name;
	unsigned k;
	size_t ek_len, dk_len, ct_len;
	int kyber;
	int (*keygen)(uint8_t *ek, uint8_t *dk, const uint8_t *d, const uint8_t *z);
	int (*encaps)(uint8_t *ct, uint8_t *ss, const uint8_t *ek, const uint8_t *m);
	int (*decaps)(uint8_t *ss, const uint8_t *ct, const uint8_t *dk);
} kem;

static const kem KEMS[3] = {
	{ "ML-KEM-768", 3, SOTTO_MLKEM768_EK_BYTES, SOTTO_MLKEM768_DK_BYTES,
	  SOTTO_MLKEM768_CT_BYTES, 0, sotto_mlkem768_keypair_derand, sotto_mlkem768_encaps_derand,
	  sotto_mlkem768_decaps },
	{ "ML-KEM-1024", 4, SOTTO_MLKEM1024_EK_BYTES, SOTTO_MLKEM1024_DK_BYTES,
	  SOTTO_MLKEM1024_CT_BYTES, 0, sotto_mlkem1024_keypair_derand,
	  sotto_mlkem1024_encaps_derand, sotto_mlkem1024_decaps },
	{ "Kyber1024", 4, SOTTO_KYBER1024_PK_BYTES, SOTTO_KYBER1024_SK_BYTES,
	  SOTTO_KYBER1024_CT_BYTES, 1, sotto_kyber1024_keypair_derand,
	  sotto_kyber1024_encaps_derand, sotto_kyber1024_decaps },
};

/* Marks the secret parts of dk: s (the first 384k bytes) and z (the last 32). */
static void dk_secret(const kem *k, uint8_t *dk, int secret)
{
	size_t slen = 384 * (size_t)k->k;
	if (secret) {
		CT_SECRET(dk, slen);
		CT_SECRET(dk + k->dk_len - 32, 32);
	} else {
		CT_PUBLIC(dk, slen);
		CT_PUBLIC(dk + k->dk_len - 32, 32);
	}
}

/* The implicit-rejection secret, from public copies of z and c. */
static void rejection(const kem *k, uint8_t out[32], const uint8_t z[32], const uint8_t *ct)
{
	if (k->kyber) {
		uint8_t hc[32];
		CHECK_RC(sotto_sha3_256(hc, ct, k->ct_len), 0);
		sotto_iov parts[2] = { { z, 32 }, { hc, 32 } };
		CHECK_RC(sotto_shake256_v(out, 32, parts, 2), 0);
	} else {
		sotto_iov parts[2] = { { z, 32 }, { ct, k->ct_len } };
		CHECK_RC(sotto_shake256_v(out, 32, parts, 2), 0);
	}
}

static void run_kem(const kem *k)
{
	uint8_t d[32], z[32], zpub[32], m[32];
	uint8_t ek[SOTTO_MLKEM1024_EK_BYTES], dk[SOTTO_MLKEM1024_DK_BYTES];
	uint8_t ek2[SOTTO_MLKEM1024_EK_BYTES], dk2[SOTTO_MLKEM1024_DK_BYTES];
	uint8_t ct[SOTTO_MLKEM1024_CT_BYTES], ss[32], ss2[32], want[32];
	int rc;
	tu_randbytes(&rng, d, 32);
	tu_randbytes(&rng, z, 32);
	tu_randbytes(&rng, m, 32);
	memcpy(zpub, z, 32);
	/* Reference run with everything public. */
	CHECK_RC(k->keygen(ek2, dk2, d, z), 0);

	/* Key generation with secret d and z. */
	CT_SECRET(d, 32);
	CT_SECRET(z, 32);
	rc = k->keygen(ek, dk, d, z);
	CT_PUBLIC(&rc, sizeof(rc));
	CT_PUBLIC(ek, k->ek_len);
	CT_PUBLIC(dk, k->dk_len);
	CHECK_RC(rc, 0);
	CHECK_MEM(ek, ek2, k->ek_len);
	CHECK_MEM(dk, dk2, k->dk_len);

	/* Encapsulation with a secret m. */
	CT_SECRET(m, 32);
	rc = k->encaps(ct, ss, ek, m);
	CT_PUBLIC(&rc, sizeof(rc));
	CT_PUBLIC(ct, k->ct_len);
	CT_PUBLIC(ss, 32);
	CHECK_RC(rc, 0);

	/* Decapsulation of the valid ciphertext, then of corrupted ones. */
	for (int round = 0; round < 3; round++) {
		if (round > 0)
			ct[(size_t)round * 397 % k->ct_len] ^= (uint8_t)(1u << round);
		dk_secret(k, dk, 1);
		rc = k->decaps(ss2, ct, dk);
		CT_PUBLIC(&rc, sizeof(rc));
		CT_PUBLIC(ss2, 32);
		dk_secret(k, dk, 0);
		CHECK_RC(rc, 0);
		if (round == 0) {
			CHECK_MEM(ss2, ss, 32);
		} else {
			rejection(k, want, zpub, ct);
			CHECK_MEM(ss2, want, 32);
		}
	}
}

static void run_incremental(void)
{
	uint8_t d[32], z[32], m[32];
	uint8_t ek[SOTTO_MLKEM768_EK_BYTES], dk[SOTTO_MLKEM768_DK_BYTES];
	uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES], vec[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES];
	uint8_t ct[SOTTO_MLKEM768_CT_BYTES], ct12[SOTTO_MLKEM768_CT_BYTES], ss[32], ss1[32];
	sotto_mlkem768_incr_state st;
	tu_randbytes(&rng, d, 32);
	tu_randbytes(&rng, z, 32);
	tu_randbytes(&rng, m, 32);
	CHECK_RC(sotto_mlkem768_keypair_derand(ek, dk, d, z), 0);
	CHECK_RC(sotto_mlkem768_encaps_derand(ct, ss, ek, m), 0);
	CHECK_RC(sotto_mlkem768_incr_split_ek(hdr, vec, ek), 0);
	CT_SECRET(m, 32);
	int rc = sotto_mlkem768_incr_encaps1_derand(ct12, ss1, &st, hdr, m);
	CT_PUBLIC(&rc, sizeof(rc));
	CHECK_RC(rc, 0);
	/* The state stays secret into encaps2. */
	rc = sotto_mlkem768_incr_encaps2(ct12 + SOTTO_MLKEM768_INCR_CT1_BYTES, &st, vec);
	CT_PUBLIC(&rc, sizeof(rc));
	CT_PUBLIC(ct12, sizeof(ct12));
	CT_PUBLIC(ss1, 32);
	CHECK_RC(rc, 0);
	CHECK_MEM(ct12, ct, sizeof(ct));
	CHECK_MEM(ss1, ss, 32);
	sotto_memzero(&st, sizeof(st));
}

int main(void)
{
	if (!CT_UNDER_VALGRIND())
		printf("ct-mlkem: not under valgrind, running the functional checks only\n");
	sotto__mlkem_ct_declassify = declassify;
	for (int i = 0; i < 3; i++)
		run_kem(&KEMS[i]);
	run_incremental();
	return tu_finish("ct-mlkem");
}
