/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Ed25519 (RFC 8032) over libsodium's crypto_sign_* (see sotto/ed25519.h). */
#include <sodium.h>

#include "sotto/ed25519.h"
#include "sotto/error.h"
#include "sotto/util.h"

int sotto_ed25519_public(uint8_t pub[32], const uint8_t seed[32])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	int rc;

	if (pub == NULL || seed == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto_init();
	if (rc != 0)
		return rc;
	rc = crypto_sign_seed_keypair(pub, sk, seed) == 0 ? 0 : SOTTO_ERR_INTERNAL;
	sotto_memzero(sk, sizeof sk);
	return rc;
}

int sotto_ed25519_keypair(uint8_t pub[32], uint8_t seed[32])
{
	if (pub == NULL || seed == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = sotto_init();
	if (rc != 0)
		return rc;
	randombytes_buf(seed, 32);
	rc = sotto_ed25519_public(pub, seed);
	if (rc != 0)
		sotto_memzero(seed, 32);
	return rc;
}

int sotto_ed25519_sign(uint8_t sig[64], const uint8_t seed[32], const uint8_t *msg, size_t len)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	static const uint8_t empty[1];
	int rc;

	if (sig == NULL || seed == NULL || (msg == NULL && len != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto_init();
	if (rc != 0)
		return rc;
	/* libsodium wants the expanded form (seed || public key); rebuilding it
	 * costs one base-point multiplication, which keeps callers from holding
	 * two copies of the secret. */
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0 ||
		crypto_sign_detached(sig, NULL, msg != NULL ? msg : empty, len, sk) != 0)
		rc = SOTTO_ERR_INTERNAL;
	sotto_memzero(sk, sizeof sk);
	return rc;
}

int sotto_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len,
	const uint8_t sig[64])
{
	static const uint8_t empty[1];

	if (pub == NULL || sig == NULL || (msg == NULL && len != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = sotto_init();
	if (rc != 0)
		return rc;
	/* libsodium (>= 1.0.16, without ED25519_NONDETERMINISTIC) rejects S >= L,
	 * small-order and non-canonical public keys and small-order R. */
	return crypto_sign_verify_detached(sig, msg != NULL ? msg : empty, len, pub) == 0
		       ? 0
		       : SOTTO_ERR_INVALID_SIGNATURE;
}

int sotto_ed25519_verify_buf(const uint8_t *pub, size_t publen, const uint8_t *msg, size_t len,
	const uint8_t *sig, size_t siglen)
{
	if (pub == NULL || sig == NULL || (msg == NULL && len != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (publen != 32)
		return SOTTO_ERR_INVALID_KEY;
	if (siglen != 64)
		return SOTTO_ERR_INVALID_SIGNATURE;
	return sotto_ed25519_verify(pub, msg, len, sig);
}
