/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* ML-KEM-768/1024 against every case of the Wycheproof ML-KEM files: KeyGen
 * from seeds, Decaps (including implicit rejection and strcmp traps), Encaps
 * with invalid (unreduced) keys, and expanded-dk validation. The API takes
 * fixed-size arrays, so a wrong-length input is rejected at the API boundary:
 * such a case passes only if Wycheproof marks it invalid. */
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
} kem;

static const kem KEM768 = { "ML-KEM-768", SOTTO_MLKEM768_EK_BYTES, SOTTO_MLKEM768_DK_BYTES,
			    SOTTO_MLKEM768_CT_BYTES, sotto_mlkem768_keypair_derand,
			    sotto_mlkem768_encaps_derand, sotto_mlkem768_decaps };
static const kem KEM1024 = { "ML-KEM-1024", SOTTO_MLKEM1024_EK_BYTES, SOTTO_MLKEM1024_DK_BYTES,
			     SOTTO_MLKEM1024_CT_BYTES, sotto_mlkem1024_keypair_derand,
			     sotto_mlkem1024_encaps_derand, sotto_mlkem1024_decaps };

/* A hex field of a test case, decoded; *len receives its length. */
static uint8_t *field(json_t *t, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(t, name));
	uint8_t *b = s != NULL ? tu_unhex(s, len) : NULL;
	if (b == NULL) {
		tu_fail("case %lld: field %s missing or malformed",
			(long long)json_integer_value(json_object_get(t, "tcId")), name);
		*len = 0;
	}
	return b;
}

static int is_valid(json_t *t)
{
	return strcmp(json_string_value(json_object_get(t, "result")), "valid") == 0;
}

/* The case's verdict: the outcome (accepted with the expected outputs, or
 * rejected) must agree with "result". */
static int verdict(json_t *t, int accepted_and_matching, int rejected)
{
	if (is_valid(t))
		return accepted_and_matching;
	return rejected;
}

static void run_file(const char *rel, const kem *k)
{
	json_t *root = tu_load_json(rel);
	const char *schema = json_string_value(json_object_get(root, "schema"));
	size_t passed = 0, total = 0;
	json_t *groups = json_object_get(root, "testGroups");
	size_t gi, ti;
	json_t *g, *t;
	uint8_t *ek = malloc(k->ek_len), *dk = malloc(k->dk_len), *ct = malloc(k->ct_len);
	uint8_t ss[32];
	json_array_foreach(groups, gi, g) {
		const char *ps = json_string_value(json_object_get(g, "parameterSet"));
		if (ps == NULL || strcmp(ps, k->name) != 0)
			tu_fail("%s: group %zu has parameter set %s", rel, gi, ps ? ps : "(none)");
		json_array_foreach(json_object_get(g, "tests"), ti, t) {
			total++;
			int ok = 0;
			size_t l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0;
			uint8_t *a = NULL, *b = NULL, *c = NULL, *e = NULL, *f = NULL;
			if (strcmp(schema, "mlkem_test_schema.json") == 0) {
				/* seed -> KeyGen -> ek; Decaps(dk, c) -> K */
				a = field(t, "seed", &l1);
				b = field(t, "c", &l2);
				if (a == NULL || b == NULL)
					goto next;
				if (l1 != 64 || l2 != k->ct_len) {
					ok = verdict(t, 0, 1);
					goto next;
				}
				c = field(t, "ek", &l3);
				e = field(t, "K", &l4);
				int rc1 = k->keygen(ek, dk, a, a + 32);
				int rc2 = k->decaps(ss, b, dk);
				ok = verdict(t,
					     rc1 == 0 && rc2 == 0 && c != NULL && e != NULL &&
						     l3 == k->ek_len && l4 == 32 &&
						     memcmp(ek, c, l3) == 0 && memcmp(ss, e, 32) == 0,
					     rc1 != 0 || rc2 != 0);
			} else if (strcmp(schema, "mlkem_encaps_test_schema.json") == 0) {
				a = field(t, "ek", &l1);
				b = field(t, "m", &l2);
				if (a == NULL || b == NULL)
					goto next;
				if (l1 != k->ek_len || l2 != 32) {
					ok = verdict(t, 0, 1);
					goto next;
				}
				int rc = k->encaps(ct, ss, a, b);
				if (is_valid(t)) {
					c = field(t, "c", &l3);
					e = field(t, "K", &l4);
					ok = rc == 0 && c != NULL && e != NULL && l3 == k->ct_len &&
					     l4 == 32 && memcmp(ct, c, l3) == 0 &&
					     memcmp(ss, e, 32) == 0;
				} else {
					ok = rc == SOTTO_ERR_INVALID_KEY;
				}
			} else if (strcmp(schema, "mlkem_keygen_seed_test_schema.json") == 0) {
				a = field(t, "seed", &l1);
				b = field(t, "ek", &l2);
				c = field(t, "dk", &l3);
				if (a == NULL || b == NULL || c == NULL)
					goto next;
				if (l1 != 64) {
					ok = verdict(t, 0, 1);
					goto next;
				}
				int rc = k->keygen(ek, dk, a, a + 32);
				ok = verdict(t,
					     rc == 0 && l2 == k->ek_len && l3 == k->dk_len &&
						     memcmp(ek, b, l2) == 0 && memcmp(dk, c, l3) == 0,
					     rc != 0);
			} else if (strcmp(schema, "mlkem_semi_expanded_decaps_test_schema.json") == 0) {
				a = field(t, "dk", &l1);
				b = field(t, "c", &l2);
				if (a == NULL || b == NULL)
					goto next;
				if (l1 != k->dk_len || l2 != k->ct_len) {
					ok = verdict(t, 0, 1);
					goto next;
				}
				int rc = k->decaps(ss, b, a);
				if (is_valid(t)) {
					e = field(t, "K", &l4);
					ok = rc == 0 && e != NULL && l4 == 32 && memcmp(ss, e, 32) == 0;
				} else {
					ok = rc == SOTTO_ERR_INVALID_KEY;
				}
				/* The ek field is the key dk claims to hold. */
				f = field(t, "ek", &l5);
				if (f == NULL || l5 != k->ek_len)
					ok = 0;
			} else {
				tu_fail("%s: unknown schema %s", rel, schema);
			}
next:
			if (ok)
				passed++;
			else
				tu_fail("%s: tcId %lld failed", rel,
					(long long)json_integer_value(json_object_get(t, "tcId")));
			free(a);
			free(b);
			free(c);
			free(e);
			free(f);
		}
	}
	tu_report(rel, passed, total);
	free(ek);
	free(dk);
	free(ct);
	json_decref(root);
}

int main(void)
{
	static const char *const kinds[] = { "test", "encaps_test", "keygen_seed_test",
					     "semi_expanded_decaps_test" };
	char rel[128];
	for (size_t i = 0; i < 4; i++) {
		snprintf(rel, sizeof(rel), "wycheproof/mlkem_768_%s.json", kinds[i]);
		run_file(rel, &KEM768);
		snprintf(rel, sizeof(rel), "wycheproof/mlkem_1024_%s.json", kinds[i]);
		run_file(rel, &KEM1024);
	}
	return tu_finish("vectors-mlkem_wycheproof");
}
