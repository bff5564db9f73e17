/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Secret-independence of POLYVAL (both implementations), AES-GCM-SIV seal
 * and open, and the PKCS#7 check of CBC: run under valgrind memcheck with the
 * secrets marked undefined, any branch or address computed from them is
 * reported. Results are declassified only once the call has returned. */
#include <string.h>

#include "crypto/aes_internal.h"
#include "crypto/polyval.h"
#include "ct.h"
#include "sotto/aes.h"
#include "sotto/error.h"
#include "testutil.h"

static uint64_t rng = 0xc7c7c7c7u;

static void polyval_run(enum sotto__polyval_impl impl)
{
	uint8_t h[16], data[16 * 11], out[16], again[16];
	tu_randbytes(&rng, h, sizeof(h));
	tu_randbytes(&rng, data, sizeof(data));
	sotto_polyval(again, h, data, sizeof(data));
	CT_SECRET(h, sizeof(h));
	CT_SECRET(data, sizeof(data));
	sotto_polyval(out, h, data, sizeof(data));
	CT_PUBLIC(out, sizeof(out));
	CHECK_MEM(out, again, 16);
	CT_PUBLIC(h, sizeof(h));
	CT_PUBLIC(data, sizeof(data));
	(void)impl;
}

static void gcm_siv_run(size_t keylen)
{
	uint8_t key[32], nonce[12], aad[23], pt[77], ct[77 + 16], back[77];
	tu_randbytes(&rng, key, sizeof(key));
	tu_randbytes(&rng, nonce, sizeof(nonce));
	tu_randbytes(&rng, aad, sizeof(aad));
	tu_randbytes(&rng, pt, sizeof(pt));

	CT_SECRET(key, sizeof(key));
	CT_SECRET(pt, sizeof(pt));
	int rc = sotto_aes_gcm_siv_seal(ct, key, keylen, nonce, aad, sizeof(aad), pt, sizeof(pt));
	CT_PUBLIC(&rc, sizeof(rc));
	CHECK_RC(rc, 0);
	/* The ciphertext goes on the wire. */
	CT_PUBLIC(ct, sizeof(ct));

	rc = sotto_aes_gcm_siv_open(back, key, keylen, nonce, aad, sizeof(aad), ct, sizeof(ct));
	CT_PUBLIC(&rc, sizeof(rc));
	CT_PUBLIC(back, sizeof(back));
	CT_PUBLIC(pt, sizeof(pt));
	CHECK_RC(rc, 0);
	CHECK_MEM(back, pt, sizeof(pt));

	/* A forgery: the verdict and the wiping must not branch either. */
	ct[sizeof(ct) - 1] ^= 0x40;
	rc = sotto_aes_gcm_siv_open(back, key, keylen, nonce, aad, sizeof(aad), ct, sizeof(ct));
	CT_PUBLIC(&rc, sizeof(rc));
	CT_PUBLIC(back, sizeof(back));
	CHECK_RC(rc, SOTTO_ERR_INVALID_MESSAGE);
	for (size_t i = 0; i < sizeof(back); i++)
		CHECK(back[i] == 0);
	CT_PUBLIC(key, sizeof(key));
}

static void pkcs7_run(void)
{
	uint8_t b[16];
	for (unsigned p = 0; p < 20; p++) {
		tu_randbytes(&rng, b, sizeof(b));
		if (p >= 1 && p <= 16)
			memset(b + 16 - p, (int)p, p);
		b[15] = (uint8_t)p;
		CT_SECRET(b, sizeof(b));
		unsigned got = sotto__pkcs7_padlen_ct(b);
		CT_PUBLIC(&got, sizeof(got));
		CT_PUBLIC(b, sizeof(b));
		CHECK(got == (p >= 1 && p <= 16 ? p : 0));
	}
}

int main(void)
{
	/* POLYVAL caches its CPUID result on first use; do that outside the
	 * marked region (it does not depend on secrets anyway). */
	int have_clmul = sotto__polyval_set_impl(SOTTO__POLYVAL_CLMUL) == 0;
	printf("ct-polyval: valgrind %s, PCLMULQDQ %s\n", CT_UNDER_VALGRIND() ? "yes" : "no",
	       have_clmul ? "checked" : "not available (portable only)");
	enum sotto__polyval_impl impls[2] = { SOTTO__POLYVAL_PORTABLE, SOTTO__POLYVAL_CLMUL };
	for (int i = 0; i < 2; i++) {
		if (impls[i] == SOTTO__POLYVAL_CLMUL && !have_clmul)
			continue;
		CHECK(sotto__polyval_set_impl(impls[i]) == 0);
		polyval_run(impls[i]);
		gcm_siv_run(16);
		gcm_siv_run(32);
	}
	CHECK(sotto__polyval_set_impl(SOTTO__POLYVAL_AUTO) == 0);
	pkcs7_run();
	return tu_finish("ct-polyval");
}
