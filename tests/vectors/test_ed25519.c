/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The Edwards25519 arithmetic under XEdDSA, through the test-only Ed25519
 * that shares its verification equation (sotto__eddsa_verify):
 *  - ed25519/dalek/TESTVECTORS: keygen and deterministic signing, byte for
 *    byte, then verification of each signature and of a corrupted copy;
 *  - wycheproof/ed25519_test.json: every case, strict RFC 8032 rules;
 *  - ed25519/cctv/ed25519vectors.json: every case, verdict predicted from the
 *    flags (see cctv_expect) under three rule sets. */
#include <stdlib.h>
#include <string.h>

#include "crypto/curve_internal.h"
#include "sotto/error.h"
#include "testutil.h"

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* Verifies a signature of any length with the given rules. */
static int verify_any(const uint8_t pk[32], const uint8_t *sig, size_t siglen, const uint8_t *msg,
		      size_t msglen, enum sotto__eddsa_rules rules)
{
	if (siglen != 64)
		return SOTTO_ERR_INVALID_SIGNATURE;
	uint8_t s[32];
	memcpy(s, sig + 32, 32);
	if (rules == SOTTO__EDDSA_XEDDSA) {
		/* As sotto_xeddsa_verify does after taking the sign bit away. */
		if (s[31] & 0x80)
			return SOTTO_ERR_INVALID_SIGNATURE;
	}
	return sotto__eddsa_verify(pk, sig, s, msg, msglen, rules);
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
		int ok = sk && pk && msg && sm && sklen == 64 && pklen == 32 && smlen == 64 + mlen;
		uint8_t mypk[32], sig[64];
		ok = ok && sotto__ed25519_public(mypk, sk) == 0 && memcmp(mypk, pk, 32) == 0 &&
		     memcmp(sk + 32, pk, 32) == 0;
		ok = ok && sotto__ed25519_sign(sig, sk, msg, mlen) == 0 && memcmp(sig, sm, 64) == 0;
		ok = ok && verify_any(pk, sig, 64, msg, mlen, SOTTO__EDDSA_RFC8032) == 0;
		ok = ok && verify_any(pk, sig, 64, msg, mlen, SOTTO__EDDSA_XEDDSA) == 0;
		if (ok) {
			/* One flipped bit of R, of s and (if any) of the message. */
			sig[total % 32] ^= 1;
			ok = verify_any(pk, sig, 64, msg, mlen, SOTTO__EDDSA_RFC8032) ==
			     SOTTO_ERR_INVALID_SIGNATURE;
			sig[total % 32] ^= 1;
			sig[32 + total % 31] ^= 4;
			ok = ok && verify_any(pk, sig, 64, msg, mlen, SOTTO__EDDSA_RFC8032) ==
					   SOTTO_ERR_INVALID_SIGNATURE;
			sig[32 + total % 31] ^= 4;
			if (mlen > 0) {
				msg[total % mlen] ^= 0x80;
				ok = ok && verify_any(pk, sig, 64, msg, mlen, SOTTO__EDDSA_RFC8032) ==
						   SOTTO_ERR_INVALID_SIGNATURE;
			}
		}
		if (ok)
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
	json_array_foreach(json_object_get(root, "testGroups"), gi, g)
	{
		uint8_t pk[32];
		int pk_ok = tu_unhex_into(pk, 32, str(json_object_get(g, "publicKey"), "pk")) == 0;
		json_array_foreach(json_object_get(g, "tests"), ti, t)
		{
			total++;
			size_t mlen, slen;
			uint8_t *msg = tu_unhex(str(t, "msg"), &mlen);
			uint8_t *sig = tu_unhex(str(t, "sig"), &slen);
			int valid = strcmp(str(t, "result"), "valid") == 0;
			if (pk_ok && msg && sig) {
				int rc = verify_any(pk, sig, slen, msg, mlen, SOTTO__EDDSA_RFC8032);
				if ((valid && rc == 0) || (!valid && rc == SOTTO_ERR_INVALID_SIGNATURE))
					passed++;
				else
					tu_fail("ed25519 tcId %lld: rc %d",
						json_integer_value(json_object_get(t, "tcId")), rc);
			} else {
				tu_fail("ed25519 tcId %lld: bad hex",
					json_integer_value(json_object_get(t, "tcId")));
			}
			free(msg);
			free(sig);
		}
	}
	tu_report(file, passed, total);
	json_decref(root);
}

static int has_flag(json_t *flags, const char *name)
{
	size_t i;
	json_t *f;
	if (flags == NULL || json_is_null(flags))
		return 0; /* a vector without flags (#305): an ordinary signature */
	json_array_foreach(flags, i, f)
	{
		if (strcmp(json_string_value(f), name) == 0)
			return 1;
	}
	return 0;
}

/* The verdict each rule set must give, from the README's flag definitions:
 * 1 accept, 0 reject, -1 not decided by the flags. Our equation is
 * cofactorless and compares R byte for byte, so under every rule set:
 *  - non_canonical_R is rejected (the computed encoding is canonical);
 *  - low_order_residue is rejected (the torsion parts do not cancel without
 *    the cofactor);
 *  - low_order_A/R and low_order_component_A/R alone are accepted (no
 *    blocklist; libsignal has none either).
 * For a non-canonical A (always an encoding of a low-order point):
 *  - RFC8032 (the rule set the Ed25519 path claims): rejected at decoding,
 *    RFC 8032 §5.1.3, so every one of the 914 vectors is decided;
 *  - LENIENT_A and XEDDSA decode it mod p and hash the bytes as given. That
 *    verifies when k was computed over those bytes; with reencoded_k the
 *    signer's k came from the canonical encoding, and whether k*A still
 *    matches depends on both k's modulo the order of A, which the flags do
 *    not record (the README also says low_order_residue was assigned with
 *    the other k). Those few vectors are undecided (-1); for them the test
 *    asserts that LENIENT_A and XEDDSA agree.
 * XEDDSA additionally rejects s >= 2^253 and reduces s < 2^253 mod L. */
static int cctv_expect(json_t *flags, const uint8_t *sig, enum sotto__eddsa_rules rules)
{
	if (has_flag(flags, "non_canonical_R") || has_flag(flags, "low_order_residue"))
		return 0;
	if (rules == SOTTO__EDDSA_XEDDSA && (sig[63] & 0xe0) != 0)
		return 0;
	if (has_flag(flags, "non_canonical_A")) {
		if (rules == SOTTO__EDDSA_RFC8032)
			return 0;
		if (has_flag(flags, "reencoded_k"))
			return -1;
	}
	return 1;
}

static void cctv_file(void)
{
	const char *file = "ed25519/cctv/ed25519vectors.json";
	static const struct {
		enum sotto__eddsa_rules rules;
		const char *name;
	} sets[] = {
		{ SOTTO__EDDSA_RFC8032, "rfc8032-strict" },
		{ SOTTO__EDDSA_LENIENT_A, "lenient-A" },
		{ SOTTO__EDDSA_XEDDSA, "xeddsa" },
	};
	enum { NSETS = sizeof sets / sizeof sets[0] };
	size_t passed[NSETS] = { 0 }, accepted[NSETS] = { 0 }, undecided[NSETS] = { 0 };
	size_t total = 0, i;
	json_t *root = tu_load_json(file), *v;
	json_array_foreach(root, i, v)
	{
		total++;
		uint8_t pk[32], sig[64];
		const char *msg = str(v, "msg");
		json_t *flags = json_object_get(v, "flags");
		if (tu_unhex_into(pk, 32, str(v, "key")) != 0 ||
		    tu_unhex_into(sig, 64, str(v, "sig")) != 0 ||
		    !(json_is_array(flags) || json_is_null(flags))) {
			tu_fail("cctv %zu: malformed", i);
			continue;
		}
		int rc[NSETS];
		for (size_t r = 0; r < NSETS; r++)
			rc[r] = verify_any(pk, sig, 64, (const uint8_t *)msg, strlen(msg),
					   sets[r].rules);
		for (size_t r = 0; r < NSETS; r++) {
			int want = cctv_expect(flags, sig, sets[r].rules);
			int ok;
			accepted[r] += rc[r] == 0;
			if (want < 0) {
				undecided[r]++;
				ok = rc[1] == rc[2] &&
				     (rc[r] == 0 || rc[r] == SOTTO_ERR_INVALID_SIGNATURE);
			} else {
				ok = (want && rc[r] == 0) ||
				     (!want && rc[r] == SOTTO_ERR_INVALID_SIGNATURE);
			}
			if (ok)
				passed[r]++;
			else
				tu_fail("cctv %s #%lld: rc %d, expected %s", sets[r].name,
					json_integer_value(json_object_get(v, "number")), rc[r],
					want < 0 ? "lenient == xeddsa" : want ? "accept" : "reject");
		}
	}
	for (size_t r = 0; r < NSETS; r++) {
		char label[128];
		snprintf(label, sizeof label, "%s [%s: %zu accepted, %zu undecided by flags]", file,
			 sets[r].name, accepted[r], undecided[r]);
		tu_report(label, passed[r], total);
	}
	CHECK(undecided[0] == 0);
	json_decref(root);
}

int main(void)
{
	dalek_file();
	wycheproof_file();
	cctv_file();
	return tu_finish("vectors-ed25519");
}
