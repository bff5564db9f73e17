/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* ctgrind for the X25519 ladder (src/crypto/x25519_ladder.c): the scalar
 * AND the u-coordinate are marked secret, so memcheck reports any branch or
 * address that depends on either, including in the final inversion and the
 * encoding. Inputs cover a random u, a non-canonical u with bit 255 set and
 * a low-order u (the all-zero result and its masked error path), plus the
 * Edwards-y-to-u map and the zero test on secret data. */
#include <string.h>

#include "crypto/x25519_ladder.h"
#include "ct.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "testutil.h"

int main(void)
{
	uint8_t k[32], u[32], out[32], out2[32];
	uint64_t rng = 7748;
	CHECK_RC(sotto_init(), 0);
	for (int i = 0; i < 3; i++) {
		tu_randbytes(&rng, k, 32);
		tu_randbytes(&rng, u, 32);
		if (i == 1)
			memset(u, 0xff, 32); /* 2^256 - 1: non-canonical, bit 255 set */
		if (i == 2)
			memset(u, 0, 32); /* low order: all-zero result */

		/* Reference result computed with nothing marked. */
		sotto__x25519_ladder(out2, k, u);

		CT_SECRET(k, 32);
		CT_SECRET(u, 32);
		sotto__x25519_ladder(out, k, u);
		unsigned z = sotto__x25519_is_zero(out);
		int rc = sotto_x25519(out, k, u);
		CT_PUBLIC(&z, sizeof z);
		CT_PUBLIC(&rc, sizeof rc);
		CT_PUBLIC(out, 32);
		CHECK(z == (i == 2));
		CHECK_RC(rc, i == 2 ? SOTTO_ERR_INVALID_KEY : 0);
		CHECK_MEM(out, out2, 32);

		/* The Edwards-to-Montgomery map of a secret y. */
		sotto__x25519_u_from_edwards_y(out, u);
		CT_PUBLIC(out, 32);
		CT_PUBLIC(k, 32);
		CT_PUBLIC(u, 32);
		sotto__x25519_u_from_edwards_y(out2, u);
		CHECK_MEM(out, out2, 32);
	}
	return tu_finish("ct-x25519_ladder");
}
