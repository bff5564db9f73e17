/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Decapsulation of arbitrary ciphertexts under fixed valid keys (ML-KEM-768,
 * ML-KEM-1024, Kyber1024), decapsulation under arbitrary dk bytes (with and
 * without a repaired H(ek) field, so that unreduced secret coefficients reach
 * the arithmetic), encapsulation to arbitrary ek bytes, and the incremental
 * ML-KEM-768 halves with arbitrary inputs. Nothing may crash, every return
 * value must be 0 or SOTTO_ERR_INVALID_KEY, and decapsulating the same input
 * twice must give the same secret. The first input byte picks the case; the
 * rest is stretched to the needed length by repetition. */
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/kem.h"

#define MAXBUF 8192

typedef struct kem {
	unsigned k;
	size_t ek_len, dk_len, ct_len;
	int (*keygen)(uint8_t *ek, uint8_t *dk, const uint8_t *d, const uint8_t *z);
	int (*encaps)(uint8_t *ct, uint8_t *ss, const uint8_t *ek, const uint8_t *m);
	int (*decaps)(uint8_t *ss, const uint8_t *ct, const uint8_t *dk);
} kem;

static const kem KEMS[3] = {
	{ 3, SOTTO_MLKEM768_EK_BYTES, SOTTO_MLKEM768_DK_BYTES, SOTTO_MLKEM768_CT_BYTES,
	  sotto_mlkem768_keypair_derand, sotto_mlkem768_encaps_derand, sotto_mlkem768_decaps },
	{ 4, SOTTO_MLKEM1024_EK_BYTES, SOTTO_MLKEM1024_DK_BYTES, SOTTO_MLKEM1024_CT_BYTES,
	  sotto_mlkem1024_keypair_derand, sotto_mlkem1024_encaps_derand, sotto_mlkem1024_decaps },
	{ 4, SOTTO_KYBER1024_PK_BYTES, SOTTO_KYBER1024_SK_BYTES, SOTTO_KYBER1024_CT_BYTES,
	  sotto_kyber1024_keypair_derand, sotto_kyber1024_encaps_derand, sotto_kyber1024_decaps },
};

static uint8_t fixed_ek[3][SOTTO_MLKEM1024_EK_BYTES];
static uint8_t fixed_dk[3][SOTTO_MLKEM1024_DK_BYTES];
static int have_keys;

static void setup(void)
{
	uint8_t d[32], z[32];
	for (int i = 0; i < 3; i++) {
		memset(d, 0x11 * (i + 1), 32);
		memset(z, 0x22 * (i + 1), 32);
		if (KEMS[i].keygen(fixed_ek[i], fixed_dk[i], d, z) != 0)
			abort();
	}
	have_keys = 1;
}

/* Fills out[0..n) with the input repeated (zeros for empty input). */
static void stretch(uint8_t *out, size_t n, const uint8_t *in, size_t len)
{
	for (size_t i = 0; i < n; i++)
		out[i] = len ? in[i % len] : 0;
}

static void expect_ok_or_invalid(int rc)
{
	if (rc != 0 && rc != SOTTO_ERR_INVALID_KEY)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t a[MAXBUF], b[MAXBUF], ct[MAXBUF];
	uint8_t ss1[32], ss2[32];
	if (!have_keys)
		setup();
	if (size == 0)
		return 0;
	unsigned sel = data[0];
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	const kem *k = &KEMS[sel % 3];
	int which = (int)(sel % 3);
	switch ((sel / 3) % 5) {
	case 0: /* arbitrary ciphertext, fixed valid key */
		stretch(ct, k->ct_len, in, len);
		if (k->decaps(ss1, ct, fixed_dk[which]) != 0 ||
		    k->decaps(ss2, ct, fixed_dk[which]) != 0 || memcmp(ss1, ss2, 32) != 0)
			abort();
		break;
	case 1: /* arbitrary dk bytes */
	case 2: /* arbitrary dk bytes with a consistent H(ek) */
		stretch(a, k->dk_len + k->ct_len, in, len);
		if ((sel / 3) % 5 == 2 &&
		    sotto_sha3_256(a + 768 * k->k + 32, a + 384 * k->k, 384 * k->k + 32) != 0)
			abort();
		{
			int rc1 = k->decaps(ss1, a + k->dk_len, a);
			int rc2 = k->decaps(ss2, a + k->dk_len, a);
			expect_ok_or_invalid(rc1);
			if (rc1 != rc2 || (rc1 == 0 && memcmp(ss1, ss2, 32) != 0))
				abort();
			if ((sel / 3) % 5 == 2 && rc1 != 0)
				abort(); /* the hash check was repaired */
		}
		break;
	case 3: /* arbitrary ek bytes */
		stretch(a, k->ek_len + 32, in, len);
		expect_ok_or_invalid(k->encaps(ct, ss1, a, a + k->ek_len));
		break;
	default: { /* incremental ML-KEM-768 with arbitrary hdr, vector and state */
		sotto_mlkem768_incr_state st;
		stretch(a, SOTTO_MLKEM768_INCR_HDR_BYTES + SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES +
				   sizeof(st.bytes),
			in, len);
		const uint8_t *hdr = a, *vec = a + SOTTO_MLKEM768_INCR_HDR_BYTES;
		memcpy(st.bytes, vec + SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES, sizeof(st.bytes));
		expect_ok_or_invalid(sotto_mlkem768_incr_check_ek_vector(hdr, vec));
		expect_ok_or_invalid(sotto_mlkem768_incr_encaps2(b, &st, vec));
		if (sotto_mlkem768_incr_encaps1_derand(b, ss1, &st, hdr, vec) != 0)
			abort();
		break;
	}
	}
	return 0;
}
