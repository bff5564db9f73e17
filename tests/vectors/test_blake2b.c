/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* BLAKE2b against every blake2b entry of the BLAKE2 KAT file (unkeyed and
 * keyed), both one-shot and split into parts. The other BLAKE2 variants in
 * the file (s, bp, sp, xb, xs) are not ours and are counted as such. */
#include <stdlib.h>
#include <string.h>

#include "sotto/aead.h"
#include "sotto/error.h"
#include "testutil.h"

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void kat_file(void)
{
	const char *file = "blake2/blake2-kat.json";
	json_t *root = tu_load_json(file);
	size_t passed = 0, total = 0, na = 0, keyed = 0;
	size_t i;
	json_t *t;
	json_array_foreach(root, i, t)
	{
		if (strcmp(str(t, "hash"), "blake2b") != 0) {
			na++;
			continue;
		}
		total++;
		size_t ilen, klen, olen;
		uint8_t *in = tu_unhex(str(t, "in"), &ilen);
		uint8_t *key = tu_unhex(str(t, "key"), &klen);
		uint8_t *want = tu_unhex(str(t, "out"), &olen);
		uint8_t a[64], b[64];
		int ok = in && key && want && olen >= 1 && olen <= 64;
		if (ok && klen > 0)
			keyed++;
		ok = ok && sotto_blake2b(a, olen, klen ? key : NULL, klen, in, ilen) == 0 &&
		     memcmp(a, want, olen) == 0;
		/* Three uneven parts, one of them empty. */
		if (ok) {
			size_t cut = ilen / 3;
			sotto_iov parts[3] = { { in, cut }, { NULL, 0 }, { in + cut, ilen - cut } };
			ok = sotto_blake2b_v(b, olen, klen ? key : NULL, klen, parts, 3) == 0 &&
			     memcmp(b, want, olen) == 0;
		}
		if (ok)
			passed++;
		else
			tu_fail("blake2b entry %zu", i);
		free(in);
		free(key);
		free(want);
	}
	printf("%s: %zu blake2b entries (%zu keyed); %zu entries of other BLAKE2 variants not "
	       "applicable\n",
	       file, total, keyed, na);
	tu_report(file, passed, total);
	json_decref(root);
}

/* Output lengths: each length is its own function (the length is in the
 * parameter block), so a 32-byte output is not a prefix of the 64-byte one. */
static void lengths(void)
{
	uint8_t o64[64], o32[32], o1[1], key[65] = { 0 };
	CHECK_RC(sotto_blake2b(o64, 64, NULL, 0, (const uint8_t *)"abc", 3), 0);
	CHECK_RC(sotto_blake2b(o32, 32, NULL, 0, (const uint8_t *)"abc", 3), 0);
	CHECK_RC(sotto_blake2b(o1, 1, NULL, 0, (const uint8_t *)"abc", 3), 0);
	CHECK(memcmp(o64, o32, 32) != 0);
	/* RFC 7693 Appendix A: BLAKE2b-512("abc") begins BA 80 A5 3F. */
	CHECK(o64[0] == 0xba && o64[1] == 0x80 && o64[2] == 0xa5 && o64[3] == 0x3f);
	CHECK_RC(sotto_blake2b(o64, 0, NULL, 0, NULL, 0), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_blake2b(o64, 65, NULL, 0, NULL, 0), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_blake2b(o64, 64, key, 65, NULL, 0), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_blake2b(o64, 64, key, 64, NULL, 0), 0);
}

int main(void)
{
	kat_file();
	lengths();
	return tu_finish("vectors-blake2b");
}
