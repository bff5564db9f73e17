/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* ctgrind: XEdDSA signing and X25519 with the private key (and Z) marked
 * secret. memcheck reports any branch or address computed from them. The
 * public outputs (signature, public key, shared-secret status) are
 * declassified before they are checked.
 *
 * One branch is suppressed (tests/ct/valgrind.supp): libsodium's
 * crypto_scalarmult_ed25519_base_noclamp tests whether the point it computed
 * is the identity. That point is A or R, which the signature publishes, so
 * the branch reveals nothing the output does not. The suppression names the
 * single out-of-line caller, sotto__ed25519_basemul. */
#include <string.h>

#include "ct.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "testutil.h"

int main(void)
{
	uint8_t priv[32], pub[32], z[64], sig[64], msg[100], peer_priv[32], peer_pub[32];
	uint8_t shared[32], shared2[32];
	uint64_t rng = 42;
	CHECK_RC(sotto_init(), 0);
	for (int i = 0; i < 4; i++) {
		tu_randbytes(&rng, priv, 32);
		tu_randbytes(&rng, z, 64);
		tu_randbytes(&rng, msg, sizeof msg);
		CT_SECRET(priv, 32);
		CT_SECRET(z, 64);
		int rc = sotto_x25519_public(pub, priv);
		CT_PUBLIC(&rc, sizeof rc);
		CT_PUBLIC(pub, 32);
		CHECK_RC(rc, 0);

		rc = sotto_xeddsa_sign(sig, priv, msg, sizeof msg, z);
		CT_PUBLIC(&rc, sizeof rc);
		CT_PUBLIC(sig, 64);
		CHECK_RC(rc, 0);
		CHECK_RC(sotto_xeddsa_verify(pub, msg, sizeof msg, sig), 0);

		/* X25519 with a secret private key; the peer key is public. */
		CHECK_RC(sotto_x25519_keypair(peer_pub, peer_priv), 0);
		rc = sotto_x25519(shared, priv, peer_pub);
		CT_PUBLIC(&rc, sizeof rc);
		CHECK_RC(rc, 0);
		CT_PUBLIC(priv, 32);
		CHECK_RC(sotto_x25519(shared2, peer_priv, pub), 0);
		CT_PUBLIC(shared, 32);
		CT_PUBLIC(shared2, 32);
		CHECK_MEM(shared, shared2, 32);

		/* A low-order peer key: the failure is reported through the
		 * return value, with no branch on the secret inside. */
		static const uint8_t zero_pub[32];
		CT_SECRET(priv, 32);
		rc = sotto_x25519(shared, priv, zero_pub);
		CT_PUBLIC(&rc, sizeof rc);
		CT_PUBLIC(shared, 32);
		CHECK_RC(rc, SOTTO_ERR_INVALID_KEY);
		CT_PUBLIC(priv, 32);
	}
	return tu_finish("ct-xeddsa");
}
