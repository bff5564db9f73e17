/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Argon2id and guarded memory: thin checks around libsodium. */
#include <sodium.h>

#include "backend.h"
#include "sotto/error.h"
#include "sotto/pwhash.h"

/* The header promises libsodium's own numbers; catch a libsodium that ever
 * changes them. */
_Static_assert(SOTTO_PWHASH_SALT_BYTES == crypto_pwhash_argon2id_SALTBYTES, "salt size");
_Static_assert(SOTTO_PWHASH_OPSLIMIT_INTERACTIVE == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
	       "opslimit interactive");
_Static_assert(SOTTO_PWHASH_MEMLIMIT_INTERACTIVE == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
	       "memlimit interactive");
_Static_assert(SOTTO_PWHASH_OPSLIMIT_MODERATE == crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
	       "opslimit moderate");
_Static_assert(SOTTO_PWHASH_MEMLIMIT_MODERATE == crypto_pwhash_argon2id_MEMLIMIT_MODERATE,
	       "memlimit moderate");
_Static_assert(SOTTO_PWHASH_OPSLIMIT_SENSITIVE == crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE,
	       "opslimit sensitive");
_Static_assert(SOTTO_PWHASH_MEMLIMIT_SENSITIVE == crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE,
	       "memlimit sensitive");
_Static_assert(SOTTO_PWHASH_OPSLIMIT_MIN == crypto_pwhash_argon2id_OPSLIMIT_MIN, "opslimit min");
_Static_assert(SOTTO_PWHASH_MEMLIMIT_MIN == crypto_pwhash_argon2id_MEMLIMIT_MIN, "memlimit min");

int sotto_pwhash_argon2id(uint8_t *out, size_t outlen, const char *pass, size_t passlen,
			  const uint8_t salt[SOTTO_PWHASH_SALT_BYTES], uint64_t opslimit,
			  uint64_t memlimit)
{
	if (out == NULL || salt == NULL || (pass == NULL && passlen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* Range checks first, so that the one failure libsodium reports (-1)
	 * can only mean that the memory was not there. */
	if (outlen < SOTTO_PWHASH_OUT_MIN || outlen > crypto_pwhash_argon2id_BYTES_MAX ||
	    passlen > SOTTO_PWHASH_PASSWD_MAX || opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
	    opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
	    memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
	    memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
		if (out != NULL && outlen != 0)
			sodium_memzero(out, outlen);
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	if (sotto__backend_init() != 0)
		return SOTTO_ERR_CRYPTO;
	if (crypto_pwhash(out, outlen, pass != NULL ? pass : "", passlen, salt, opslimit,
			  (size_t)memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_memzero(out, outlen);
		return SOTTO_ERR_NOMEM;
	}
	return 0;
}

void *sotto_secure_alloc(size_t len)
{
	if (len == 0 || sotto__backend_init() != 0)
		return NULL;
	return sodium_malloc(len);
}

void sotto_secure_free(void *p)
{
	/* sodium_free wipes the block before it unmaps it; it also makes the
	 * block writable again itself if it was left no-access. */
	if (p != NULL)
		sodium_free(p);
}

int sotto_secure_noaccess(void *p)
{
	if (p == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sodium_mprotect_noaccess(p) == 0 ? 0 : SOTTO_ERR_CRYPTO;
}

int sotto_secure_readwrite(void *p)
{
	if (p == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return sodium_mprotect_readwrite(p) == 0 ? 0 : SOTTO_ERR_CRYPTO;
}
