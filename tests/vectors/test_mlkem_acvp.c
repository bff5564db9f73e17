/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* ML-KEM-768/1024 against the NIST ACVP sample vectors (FIPS 203 final):
 * keyGen, encapsulation, decapsulation and the two key checks. prompt.json and
 * expectedResults.json are joined on tgId/tcId. The ML-KEM-512 groups are
 * counted and skipped (Sotto does not implement ML-KEM-512). */
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/kem.h"
#include "testutil.h"

typedef struct kem {
	const char *name;
	size_t ek_len, dk_len, ct_len;
	int (*keygen)(uint8_t *ek, uint8_t *dk, const uint8_t *d, const uint8_t *z);
	int (*encaps)(uint8_t *ct, uint8_t *ss, const uint8_t *ek, const uint8_t *m);
	int (*decaps)(uint8_t *ss, const uint8_t *ct, const uint8_t *dk);
	int (*check_ek)(const uint8_t *ek);
	int (*check_dk)(const uint8_t *dk);
} kem;

static const kem KEMS[] = {
	{ "ML-KEM-768", SOTTO_MLKEM768_EK_BYTES, SOTTO_MLKEM768_DK_BYTES, SOTTO_MLKEM768_CT_BYTES,
	  sotto_mlkem768_keypair_derand, sotto_mlkem768_encaps_derand, sotto_mlkem768_decaps,
	  sotto_mlkem768_check_ek, sotto_mlkem768_check_dk },
	{ "ML-KEM-1024", SOTTO_MLKEM1024_EK_BYTES, SOTTO_MLKEM1024_DK_BYTES,
	  SOTTO_MLKEM1024_CT_BYTES, sotto_mlkem1024_keypair_derand, sotto_mlkem1024_encaps_derand,
	  sotto_mlkem1024_decaps, sotto_mlkem1024_check_ek, sotto_mlkem1024_check_dk },
};

static json_t *find_by(json_t *arr, const char *key, json_int_t id)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (json_integer_value(json_object_get(v, key)) == id)
			return v;
	}
	return NULL;
}

/* Decodes a hex field; NULL (and a failure) if missing. */
static uint8_t *hexf(json_t *o, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, name));
	uint8_t *b = s != NULL ? tu_unhex(s, len) : NULL;
	if (b == NULL)
		tu_fail("field %s missing or malformed", name);
	return b;
}

/* 1 if the hex field equals got[0..len). */
static int eqf(json_t *o, const char *name, const uint8_t *got, size_t len)
{
	size_t n = 0;
	uint8_t *want = hexf(o, name, &n);
	int ok = want != NULL && n == len && memcmp(want, got, len) == 0;
	free(want);
	return ok;
}

static int run_case(const kem *k, const char *fn, json_t *t, json_t *r)
{
	uint8_t ek[SOTTO_MLKEM1024_EK_BYTES], dk[SOTTO_MLKEM1024_DK_BYTES];
	uint8_t ct[SOTTO_MLKEM1024_CT_BYTES], ss[32];
	size_t l1 = 0, l2 = 0;
	uint8_t *a = NULL, *b = NULL;
	int ok = 0;
	if (strcmp(fn, "keyGen") == 0) {
		a = hexf(t, "d", &l1);
		b = hexf(t, "z", &l2);
		ok = a != NULL && b != NULL && l1 == 32 && l2 == 32 &&
		     k->keygen(ek, dk, a, b) == 0 && eqf(r, "ek", ek, k->ek_len) &&
		     eqf(r, "dk", dk, k->dk_len);
	} else if (strcmp(fn, "encapsulation") == 0) {
		a = hexf(t, "ek", &l1);
		b = hexf(t, "m", &l2);
		ok = a != NULL && b != NULL && l1 == k->ek_len && l2 == 32 &&
		     k->encaps(ct, ss, a, b) == 0 && eqf(r, "c", ct, k->ct_len) &&
		     eqf(r, "k", ss, 32);
	} else if (strcmp(fn, "decapsulation") == 0) {
		a = hexf(t, "dk", &l1);
		b = hexf(t, "c", &l2);
		ok = a != NULL && b != NULL && l1 == k->dk_len && l2 == k->ct_len &&
		     k->decaps(ss, b, a) == 0 && eqf(r, "k", ss, 32);
	} else if (strcmp(fn, "encapsulationKeyCheck") == 0 ||
		   strcmp(fn, "decapsulationKeyCheck") == 0) {
		int is_ek = fn[0] == 'e';
		json_t *tp = json_object_get(r, "testPassed");
		a = hexf(t, is_ek ? "ek" : "dk", &l1);
		if (a == NULL || !json_is_boolean(tp))
			goto out;
		/* The type (length) check, then the modulus or hash check. */
		int accepted = is_ek ? l1 == k->ek_len && k->check_ek(a) == 0
				     : l1 == k->dk_len && k->check_dk(a) == 0;
		ok = accepted == json_is_true(tp);
		/* A rejected key must also make Encaps/Decaps fail. */
		if (ok && !accepted && l1 == (is_ek ? k->ek_len : k->dk_len)) {
			memset(ct, 0, sizeof(ct));
			ok = is_ek ? k->encaps(ct, ss, a, ct) == SOTTO_ERR_INVALID_KEY
				   : k->decaps(ss, ct, a) == SOTTO_ERR_INVALID_KEY;
		}
	} else {
		tu_fail("unknown function %s", fn);
	}
out:
	free(a);
	free(b);
	return ok;
}

static void run(const char *prompt_rel, const char *expect_rel, const char *mode)
{
	json_t *p = tu_load_json(prompt_rel);
	json_t *e = tu_load_json(expect_rel);
	json_t *egroups = json_object_get(e, "testGroups");
	size_t gi, ti;
	json_t *g, *t;
	size_t skipped = 0;
	json_array_foreach(json_object_get(p, "testGroups"), gi, g) {
		const char *ps = json_string_value(json_object_get(g, "parameterSet"));
		const char *fn = json_string_value(json_object_get(g, "function"));
		if (fn == NULL)
			fn = mode;
		json_int_t tg = json_integer_value(json_object_get(g, "tgId"));
		json_t *eg = find_by(egroups, "tgId", tg);
		const kem *k = NULL;
		for (size_t i = 0; i < sizeof(KEMS) / sizeof(KEMS[0]); i++) {
			if (ps != NULL && strcmp(ps, KEMS[i].name) == 0)
				k = &KEMS[i];
		}
		json_t *tests = json_object_get(g, "tests");
		if (k == NULL) {
			if (ps == NULL || strcmp(ps, "ML-KEM-512") != 0)
				tu_fail("unexpected parameter set %s", ps ? ps : "(none)");
			skipped += json_array_size(tests);
			continue;
		}
		size_t passed = 0, total = 0;
		json_array_foreach(tests, ti, t) {
			total++;
			json_int_t tc = json_integer_value(json_object_get(t, "tcId"));
			json_t *r = eg != NULL ? find_by(json_object_get(eg, "tests"), "tcId", tc) : NULL;
			if (r != NULL && run_case(k, fn, t, r))
				passed++;
			else
				tu_fail("%s tgId %lld tcId %lld (%s %s) failed", prompt_rel,
					(long long)tg, (long long)tc, ps, fn);
		}
		char label[160];
		snprintf(label, sizeof(label), "acvp %s tg%lld %s %s", mode, (long long)tg, ps, fn);
		tu_report(label, passed, total);
	}
	printf("acvp %s: %zu ML-KEM-512 cases skipped (not implemented)\n", mode, skipped);
	json_decref(p);
	json_decref(e);
}

int main(void)
{
	run("mlkem/acvp/keygen/prompt.json", "mlkem/acvp/keygen/expectedResults.json", "keyGen");
	run("mlkem/acvp/encap-decap/prompt.json", "mlkem/acvp/encap-decap/expectedResults.json",
	    "encapDecap");
	return tu_finish("vectors-mlkem_acvp");
}
