/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* X25519 against every Wycheproof case (valid and acceptable alike): the
 * shared secret must match, except that an all-zero result (the
 * ZeroSharedSecret cases) must fail with SOTTO_ERR_INVALID_KEY and leave the
 * output zeroed, as libsignal rejects it. */
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "testutil.h"

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int has_flag(json_t *t, const char *name)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(t, "flags"), i, f)
	{
		if (strcmp(json_string_value(f), name) == 0)
			return 1;
	}
	return 0;
}

int main(void)
{
	static const uint8_t zero[32];
	const char *file = "wycheproof/x25519_test.json";
	json_t *root = tu_load_json(file);
	size_t passed = 0, total = 0, zero_cases = 0, gi, ti;
	json_t *g, *t;
	json_array_foreach(json_object_get(root, "testGroups"), gi, g)
	{
		json_array_foreach(json_object_get(g, "tests"), ti, t)
		{
			total++;
			uint8_t priv[32], pub[32], want[32], out[32], clamped[32], pubk[32];
			long long id = json_integer_value(json_object_get(t, "tcId"));
			if (tu_unhex_into(priv, 32, str(t, "private")) != 0 ||
			    tu_unhex_into(pub, 32, str(t, "public")) != 0 ||
			    tu_unhex_into(want, 32, str(t, "shared")) != 0) {
				tu_fail("x25519 tcId %lld: malformed", id);
				continue;
			}
			int zero_flag = has_flag(t, "ZeroSharedSecret");
			int want_zero = memcmp(want, zero, 32) == 0;
			memset(out, 0xa5, sizeof out);
			int rc = sotto_x25519(out, priv, pub);
			int ok = zero_flag == want_zero;
			if (want_zero) {
				zero_cases++;
				ok = ok && rc == SOTTO_ERR_INVALID_KEY && memcmp(out, zero, 32) == 0;
			} else {
				ok = ok && rc == 0 && memcmp(out, want, 32) == 0;
				/* Clamping is idempotent and done inside: the clamped key
				 * gives the same secret. */
				memcpy(clamped, priv, 32);
				sotto_x25519_clamp(clamped);
				ok = ok && sotto_x25519(out, clamped, pub) == 0 &&
				     memcmp(out, want, 32) == 0;
			}
			/* The public key of the private key agrees with the base
			 * point multiplication used by the ladder: DH(priv, 9). */
			uint8_t nine[32] = { 9 }, vialadder[32];
			ok = ok && sotto_x25519_public(pubk, priv) == 0 &&
			     sotto_x25519(vialadder, priv, nine) == 0 && memcmp(pubk, vialadder, 32) == 0;
			if (ok)
				passed++;
			else
				tu_fail("x25519 tcId %lld (%s): rc %d", id, str(t, "result"), rc);
		}
	}
	tu_report(file, passed, total);
	printf("  (%zu ZeroSharedSecret cases rejected with SOTTO_ERR_INVALID_KEY)\n", zero_cases);
	CHECK(zero_cases > 0);
	json_decref(root);
	return tu_finish("vectors-x25519");
}
