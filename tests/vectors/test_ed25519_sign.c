/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The public Ed25519 wrapper (sotto/ed25519.h):
 *  - ed25519/dalek/TESTVECTORS: public key from seed and deterministic
 *    signature byte for byte, verification of it and rejection of copies
 *    with one bit of R, S or the message flipped;
 *  - wycheproof/ed25519_test.json: every case, strict verification (valid
 *    accepted, everything else SOTTO_ERR_INVALID_SIGNATURE). */
#include <stdlib.h>
#include <string.h>

#include "sotto/ed25519.h"
#include "sotto/error.h"
#include "testutil.h"

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int dalek_case(const uint8_t *sk, const uint8_t *pk, uint8_t *msg, size_t mlen,
		      const uint8_t *want_sig, size_t n)
{
	uint8_t mypk[32], sig[64];
	int ok = sotto_ed25519_public(mypk, sk) == 0 && memcmp(mypk, pk, 32) == 0;
	ok = ok && sotto_ed25519_sign(sig, sk, mlen ? msg : NULL, mlen) == 0 &&
	     memcmp(sig, want_sig, 64) == 0;
	ok = ok && sotto_ed25519_verify(pk, msg, mlen, sig) == 0;
	ok = ok && sotto_ed25519_verify_buf(pk, 32, msg, mlen, sig, 64) == 0;
	if (!ok)
		return 0;
	sig[n % 32] ^= 1;
	ok = sotto_ed25519_verify(pk, msg, mlen, sig) == SOTTO_ERR_INVALID_SIGNATURE;
	sig[n % 32] ^= 1;
	sig[32 + n % 31] ^= 4;
	ok = ok && sotto_ed25519_verify(pk, msg, mlen, sig) == SOTTO_ERR_INVALID_SIGNATURE;
	sig[32 + n % 31] ^= 4;
	if (mlen > 0) {
		msg[n % mlen] ^= 0x80;
		ok = ok && sotto_ed25519_verify(pk, msg, mlen, sig) == SOTTO_ERR_INVALID_SIGNATURE;
		msg[n % mlen] ^= 0x80;
	}
	ok = ok && sotto_ed25519_verify_buf(pk, 32, msg, mlen, sig, 63) ==
			   SOTTO_ERR_INVALID_SIGNATURE;
	ok = ok && sotto_ed25519_verify_buf(pk, 31, msg, mlen, sig, 64) == SOTTO_ERR_INVALID_KEY;
	return ok;
}

static void dalek_file(void)
{
	const char *file = "ed25519/dalek/TESTVECTORS";
	size_t len;
	char *text = tu_read_file(tu_vector_path(file), &len);
	CHECK(text != NULL);
	if (text == NULL)
		return;
	size_t passed = 0, total = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4];
		char *p = line;
		int nf = 0;
		for (; nf < 4; nf++) {
			f[nf] = p;
			char *colon = strchr(p, ':');
			if (colon == NULL)
				break;
			*colon = '\0';
			p = colon + 1;
		}
		total++;
		if (nf != 4) {
			tu_fail("dalek line %zu: malformed", total);
			continue;
		}
		size_t sklen, pklen, mlen, smlen;
		uint8_t *sk = tu_unhex(f[0], &sklen);
		uint8_t *pk = tu_unhex(f[1], &pklen);
		uint8_t *msg = tu_unhex(f[2], &mlen);
		uint8_t *sm = tu_unhex(f[3], &smlen);
		/* sk is seed || public key; sm is signature || message. */
		int ok = sk && pk && msg && sm && sklen == 64 && pklen == 32 &&
			 smlen == 64 + mlen && memcmp(sk + 32, pk, 32) == 0 &&
			 memcmp(sm + 64, msg, mlen) == 0;
		if (ok && dalek_case(sk, pk, msg, mlen, sm, total))
			passed++;
		else
			tu_fail("dalek line %zu", total);
		free(sk);
		free(pk);
		free(msg);
		free(sm);
	}
	free(text);
	tu_report(file, passed, total);
}

static void wycheproof_file(void)
{
	const char *file = "wycheproof/ed25519_test.json";
	json_t *root = tu_load_json(file);
	size_t passed = 0, total = 0, gi, ti;
	json_t *g, *t;
	CHECK(root != NULL);
	json_array_foreach(json_object_get(root, "testGroups"), gi, g)
	{
		size_t pklen;
		uint8_t *pk = tu_unhex(str(json_object_get(g, "publicKey"), "pk"), &pklen);
		json_array_foreach(json_object_get(g, "tests"), ti, t)
		{
			total++;
			size_t mlen, slen;
			uint8_t *msg = tu_unhex(str(t, "msg"), &mlen);
			uint8_t *sig = tu_unhex(str(t, "sig"), &slen);
			const char *res = str(t, "result");
			long long id = json_integer_value(json_object_get(t, "tcId"));
			int valid = strcmp(res, "valid") == 0;
			if (!valid && strcmp(res, "invalid") != 0) {
				/* Strict: no case is "acceptable" in this file. */
				tu_fail("ed25519 tcId %lld: result %s", id, res);
			} else if (pk && msg && sig) {
				int rc = sotto_ed25519_verify_buf(pk, pklen, mlen ? msg : NULL, mlen,
								  sig, slen);
				if ((valid && rc == 0) || (!valid && rc == SOTTO_ERR_INVALID_SIGNATURE))
					passed++;
				else
					tu_fail("ed25519 tcId %lld: rc %d, want %s", id, rc, res);
			} else {
				tu_fail("ed25519 tcId %lld: bad hex", id);
			}
			free(msg);
			free(sig);
		}
		free(pk);
	}
	tu_report(file, passed, total);
	json_decref(root);
}

static void argument_checks(void)
{
	uint8_t seed[32], pub[32], sig[64], msg[3] = { 1, 2, 3 };
	CHECK_RC(sotto_ed25519_keypair(pub, seed), 0);
	CHECK_RC(sotto_ed25519_sign(sig, seed, NULL, 0), 0);
	CHECK_RC(sotto_ed25519_verify(pub, NULL, 0, sig), 0);
	CHECK_RC(sotto_ed25519_verify(pub, msg, 1, sig), SOTTO_ERR_INVALID_SIGNATURE);
	CHECK_RC(sotto_ed25519_sign(sig, seed, NULL, 3), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_ed25519_verify(pub, NULL, 3, sig), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_ed25519_sign(sig, seed, msg, sizeof msg), 0);
	CHECK_RC(sotto_ed25519_verify(pub, msg, sizeof msg, sig), 0);
	/* S + L: the same signature, non-canonical; strict verification
	 * rejects it. L = 2^252 + 27742317777372353535851937790883648493. */
	static const uint8_t L[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
				       0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
				       0,    0,    0,    0,    0,    0,    0,    0,
				       0,    0,    0,    0,    0,    0,    0,    0x10 };
	uint8_t t[64];
	unsigned carry = 0;
	memcpy(t, sig, 64);
	for (int i = 0; i < 32; i++) {
		carry += (unsigned)t[32 + i] + L[i];
		t[32 + i] = (uint8_t)carry;
		carry >>= 8;
	}
	CHECK_RC(sotto_ed25519_verify(pub, msg, sizeof msg, t), SOTTO_ERR_INVALID_SIGNATURE);
}

int main(void)
{
	dalek_file();
	wycheproof_file();
	argument_checks();
	return tu_finish("vectors-ed25519-sign");
}
