/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include <limits.h>

#include "backend.h"
#include "sotto/error.h"
#include "sotto/hash.h"

/* One digest (or XOF, when outlen is given) over the concatenation of parts. */
static int digest_v(enum sotto__md which, uint8_t *out, size_t outlen, const sotto_iov *parts,
		    size_t n, int xof)
{
	const EVP_MD *md = sotto__md(which);
	if (md == NULL)
		return SOTTO_ERR_INTERNAL;
	if (n > 0 && parts == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = SOTTO_ERR_CRYPTO;
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1)
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].len > 0 && EVP_DigestUpdate(ctx, parts[i].base, parts[i].len) != 1)
			goto done;
	}
	if (xof) {
		if (outlen > 0 && EVP_DigestFinalXOF(ctx, out, outlen) != 1)
			goto done;
	} else if (EVP_DigestFinal_ex(ctx, out, NULL) != 1) {
		goto done;
	}
	rc = SOTTO_OK;
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}

#define ONE(in, inlen) (&(const sotto_iov){ (in), (inlen) }), 1

int sotto_sha256(uint8_t out[32], const uint8_t *in, size_t inlen)
{
	return digest_v(SOTTO__MD_SHA256, out, 32, ONE(in, inlen), 0);
}

int sotto_sha512(uint8_t out[64], const uint8_t *in, size_t inlen)
{
	return digest_v(SOTTO__MD_SHA512, out, 64, ONE(in, inlen), 0);
}

int sotto_sha256_v(uint8_t out[32], const sotto_iov *parts, size_t n)
{
	return digest_v(SOTTO__MD_SHA256, out, 32, parts, n, 0);
}

int sotto_sha512_v(uint8_t out[64], const sotto_iov *parts, size_t n)
{
	return digest_v(SOTTO__MD_SHA512, out, 64, parts, n, 0);
}

int sotto_sha3_256(uint8_t out[32], const uint8_t *in, size_t inlen)
{
	return digest_v(SOTTO__MD_SHA3_256, out, 32, ONE(in, inlen), 0);
}

int sotto_sha3_512(uint8_t out[64], const uint8_t *in, size_t inlen)
{
	return digest_v(SOTTO__MD_SHA3_512, out, 64, ONE(in, inlen), 0);
}

int sotto_sha3_256_v(uint8_t out[32], const sotto_iov *parts, size_t n)
{
	return digest_v(SOTTO__MD_SHA3_256, out, 32, parts, n, 0);
}

int sotto_sha3_512_v(uint8_t out[64], const sotto_iov *parts, size_t n)
{
	return digest_v(SOTTO__MD_SHA3_512, out, 64, parts, n, 0);
}

int sotto_shake128(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
	return digest_v(SOTTO__MD_SHAKE128, out, outlen, ONE(in, inlen), 1);
}

int sotto_shake256(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
	return digest_v(SOTTO__MD_SHAKE256, out, outlen, ONE(in, inlen), 1);
}

int sotto_shake128_v(uint8_t *out, size_t outlen, const sotto_iov *parts, size_t n)
{
	return digest_v(SOTTO__MD_SHAKE128, out, outlen, parts, n, 1);
}

int sotto_shake256_v(uint8_t *out, size_t outlen, const sotto_iov *parts, size_t n)
{
	return digest_v(SOTTO__MD_SHAKE256, out, outlen, parts, n, 1);
}
