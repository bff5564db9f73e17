/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Safety numbers: the published libsignal vector (facts §8), symmetry,
 * comparison, iteration limits. */
#include <string.h>

#include "sotto/error.h"
#include "sotto/fingerprint.h"
#include "testutil.h"

static const char *IK_A = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868";
static const char *IK_B = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b";
static const char *DISPLAY = "300354477692869396892869876765458257569162576843440918079131";
static const char *ALICE_SCAN =
	"080112220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df1a220a20d62c"
	"bf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d";

int main(void)
{
	uint8_t a[33], b[33];
	const uint8_t *ida = (const uint8_t *)"+14152222222", *idb = (const uint8_t *)"+14153333333";
	CHECK(tu_unhex_into(a, 33, IK_A) == 0);
	CHECK(tu_unhex_into(b, 33, IK_B) == 0);
	size_t explen;
	uint8_t *exp = tu_unhex(ALICE_SCAN, &explen);
	CHECK(exp != NULL);

	char da[61], db[61];
	uint8_t sa[SOTTO_FINGERPRINT_SCANNABLE_MAX], sb[SOTTO_FINGERPRINT_SCANNABLE_MAX];
	size_t la = 0, lb = 0;
	CHECK_RC(sotto_fingerprint_create(da, sa, sizeof sa, &la, 5200, 1, ida, 12, a, idb, 12, b), 0);
	CHECK_RC(sotto_fingerprint_create(db, sb, sizeof sb, &lb, 5200, 1, idb, 12, b, ida, 12, a), 0);
	size_t passed = 0;
	if (strcmp(da, DISPLAY) == 0)
		passed++;
	if (strcmp(db, DISPLAY) == 0)
		passed++;
	if (la == explen && memcmp(sa, exp, la) == 0)
		passed++;
	tu_report("libsignal fingerprint vector (display x2, scannable)", passed, 3);

	int match = -1;
	CHECK_RC(sotto_fingerprint_compare(sa, la, sb, lb, &match), 0);
	CHECK(match == 1);
	CHECK_RC(sotto_fingerprint_compare(sb, lb, sa, la, &match), 0);
	CHECK(match == 1);
	/* Comparing with ourselves does not match (local/remote swapped). */
	CHECK_RC(sotto_fingerprint_compare(sa, la, sa, la, &match), 0);
	CHECK(match == 0);
	/* Every single-bit flip of the peer's form gives no match or an error. */
	size_t flips_ok = 0, flips = 0;
	for (size_t i = 0; i < lb; i++) {
		for (int bit = 0; bit < 8; bit++) {
			uint8_t t[SOTTO_FINGERPRINT_SCANNABLE_MAX];
			memcpy(t, sb, lb);
			t[i] ^= (uint8_t)(1u << bit);
			match = -1;
			int rc = sotto_fingerprint_compare(sa, la, t, lb, &match);
			flips++;
			if ((rc == 0 && match == 0) || (rc < 0 && match == 0))
				flips_ok++;
		}
	}
	tu_report("scannable bit flips rejected", flips_ok, flips);

	/* Version mismatch is an error. */
	uint8_t s2[SOTTO_FINGERPRINT_SCANNABLE_MAX];
	size_t l2;
	CHECK_RC(sotto_fingerprint_create(NULL, s2, sizeof s2, &l2, 5200, 2, idb, 12, b, ida, 12, a), 0);
	CHECK_RC(sotto_fingerprint_compare(sa, la, s2, l2, &match), SOTTO_ERR_VERSION_MISMATCH);
	CHECK(match == 0);
	CHECK_RC(sotto_fingerprint_compare(sa, la, (const uint8_t *)"\xff", 1, &match),
		 SOTTO_ERR_INVALID_MESSAGE);
	/* Missing fields. */
	CHECK_RC(sotto_fingerprint_compare(sa, la, (const uint8_t *)"\x08\x01", 2, &match),
		 SOTTO_ERR_INVALID_MESSAGE);

	/* Iteration limits. */
	char d[61];
	CHECK_RC(sotto_fingerprint_create(d, NULL, 0, NULL, 1, 1, ida, 12, a, idb, 12, b),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_fingerprint_create(d, NULL, 0, NULL, 2, 1, ida, 12, a, idb, 12, b), 0);
	CHECK_RC(sotto_fingerprint_create(d, NULL, 0, NULL, 1000001, 1, ida, 12, a, idb, 12, b),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK(strlen(d) == 60);
	/* Different iterations give a different number. */
	CHECK(strcmp(d, DISPLAY) != 0);
	/* Buffer too small, bad key type. */
	CHECK_RC(sotto_fingerprint_create(d, sa, 10, &la, 5200, 1, ida, 12, a, idb, 12, b),
		 SOTTO_ERR_BUFFER_TOO_SMALL);
	uint8_t bad[33];
	memcpy(bad, a, 33);
	bad[0] = 0x06;
	CHECK_RC(sotto_fingerprint_create(d, NULL, 0, NULL, 5200, 1, ida, 12, bad, idb, 12, b),
		 SOTTO_ERR_INVALID_KEY);
	free(exp);
	return tu_finish("fingerprint");
}
