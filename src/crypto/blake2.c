/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* BLAKE2b through libsodium's crypto_generichash, which is BLAKE2b with the
 * digest length and key length in the parameter block (RFC 7693 §2.5). */
#include <sodium.h>

#include "backend.h"
#include "sotto/aead.h"
#include "sotto/error.h"
#include "sotto/util.h"

int sotto_blake2b_v(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
		    const sotto_iov *parts, size_t n)
{
	if (out == NULL || outlen < 1 || outlen > SOTTO_BLAKE2B_BYTES ||
	    keylen > SOTTO_BLAKE2B_KEY_MAX || (key == NULL && keylen > 0) ||
	    (parts == NULL && n > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (sotto__backend_init() != SOTTO_OK)
		return SOTTO_ERR_INTERNAL;
	crypto_generichash_state st;
	int rc = SOTTO_ERR_CRYPTO;
	/* libsodium treats a NULL key as unkeyed whatever keylen says. */
	if (crypto_generichash_init(&st, keylen > 0 ? key : NULL, keylen, outlen) != 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].len == 0)
			continue;
		if (parts[i].base == NULL) {
			rc = SOTTO_ERR_INVALID_ARGUMENT;
			goto done;
		}
		if (crypto_generichash_update(&st, parts[i].base, parts[i].len) != 0)
			goto done;
	}
	if (crypto_generichash_final(&st, out, outlen) != 0)
		goto done;
	rc = SOTTO_OK;
done:
	/* The state holds the key block (keyed mode) and message data. */
	sotto_memzero(&st, sizeof(st));
	return rc;
}

int sotto_blake2b(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen, const uint8_t *in,
		  size_t inlen)
{
	sotto_iov part = { in, inlen };
	return sotto_blake2b_v(out, outlen, key, keylen, &part, 1);
}
