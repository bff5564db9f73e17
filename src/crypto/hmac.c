/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* HMAC-SHA256 (RFC 2104) over OpenSSL's SHA-256 block function, with the
 * inner and outer pad states computed once per key.
 *
 * Why the low-level SHA256_CTX and not EVP: a keyed HMAC is three hash states
 * (inner pad, outer pad, message in progress) that are copied twice per MAC.
 * EVP_MD_CTX_copy_ex reallocates and re-initialises provider state on every
 * copy, which made it the largest cost of a ratchet step (about ten MACs per
 * message); a SHA256_CTX is a plain 112-byte struct, copied by assignment.
 * The block function underneath (SHA-NI or AVX2 when present) is the same one
 * EVP uses. The API is deprecated in OpenSSL 3 but kept for exactly this
 * use; the vector tests pin its results. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"

#define BLOCK 64

struct sotto_hmac_sha256_ctx {
	SHA256_CTX inner; /* keyed: after absorbing key ^ ipad */
	SHA256_CTX outer; /* keyed: after absorbing key ^ opad */
	SHA256_CTX work;  /* the message in progress */
	int keyed;
};

sotto_hmac_sha256_ctx *sotto_hmac_sha256_new(void)
{
	if (sotto__backend_init() != SOTTO_OK)
		return NULL;
	return calloc(1, sizeof(sotto_hmac_sha256_ctx));
}

void sotto_hmac_sha256_free(sotto_hmac_sha256_ctx *ctx)
{
	if (ctx == NULL)
		return;
	sotto_memzero(ctx, sizeof(*ctx)); /* the pad states are key material */
	free(ctx);
}

int sotto_hmac_sha256_setkey(sotto_hmac_sha256_ctx *ctx, const uint8_t *key, size_t keylen)
{
	if (ctx == NULL || (key == NULL && keylen > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	uint8_t k[BLOCK] = { 0 };
	uint8_t pad[BLOCK];
	int rc = SOTTO_ERR_CRYPTO;
	ctx->keyed = 0;
	if (keylen > BLOCK) {
		if (sotto_sha256(k, key, keylen) != SOTTO_OK)
			goto done;
	} else if (keylen > 0) {
		memcpy(k, key, keylen);
	}
	for (int i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	if (SHA256_Init(&ctx->inner) != 1 || SHA256_Update(&ctx->inner, pad, BLOCK) != 1)
		goto done;
	for (int i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	if (SHA256_Init(&ctx->outer) != 1 || SHA256_Update(&ctx->outer, pad, BLOCK) != 1)
		goto done;
	ctx->work = ctx->inner;
	ctx->keyed = 1;
	rc = SOTTO_OK;
done:
	sotto_memzero(k, sizeof(k));
	sotto_memzero(pad, sizeof(pad));
	return rc;
}

int sotto_hmac_sha256_update(sotto_hmac_sha256_ctx *ctx, const uint8_t *in, size_t inlen)
{
	if (ctx == NULL || !ctx->keyed || (in == NULL && inlen > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (inlen > 0 && SHA256_Update(&ctx->work, in, inlen) != 1)
		return SOTTO_ERR_CRYPTO;
	return SOTTO_OK;
}

int sotto_hmac_sha256_final(sotto_hmac_sha256_ctx *ctx, uint8_t out[32])
{
	if (ctx == NULL || !ctx->keyed)
		return SOTTO_ERR_INVALID_ARGUMENT;
	uint8_t ih[32];
	int rc = SOTTO_ERR_CRYPTO;
	if (SHA256_Final(ih, &ctx->work) != 1)
		goto fail;
	ctx->work = ctx->outer;
	if (SHA256_Update(&ctx->work, ih, sizeof(ih)) != 1 || SHA256_Final(out, &ctx->work) != 1)
		goto fail;
	ctx->work = ctx->inner; /* ready for the next message under the same key */
	rc = SOTTO_OK;
	goto done;
fail:
	ctx->keyed = 0; /* the work state is unknown: refuse until re-keyed */
done:
	sotto_memzero(ih, sizeof(ih));
	return rc;
}

int sotto_hmac_sha256_v(uint8_t out[32], const uint8_t *key, size_t keylen, const sotto_iov *parts,
			size_t n)
{
	if (n > 0 && parts == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_hmac_sha256_ctx *ctx = sotto_hmac_sha256_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = sotto_hmac_sha256_setkey(ctx, key, keylen);
	for (size_t i = 0; rc == SOTTO_OK && i < n; i++)
		rc = sotto_hmac_sha256_update(ctx, parts[i].base, parts[i].len);
	if (rc == SOTTO_OK)
		rc = sotto_hmac_sha256_final(ctx, out);
	sotto_hmac_sha256_free(ctx);
	return rc;
}

int sotto_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *msg,
		      size_t msglen)
{
	sotto_iov part = { msg, msglen };
	return sotto_hmac_sha256_v(out, key, keylen, &part, 1);
}

/* HKDF (RFC 5869) built on the keyed context above, so that expand's many
 * blocks share one keying. */
int sotto_hkdf_sha256_extract(uint8_t prk[32], const uint8_t *salt, size_t saltlen,
			      const uint8_t *ikm, size_t ikmlen)
{
	static const uint8_t zeros[32];
	if (salt == NULL || saltlen == 0) {
		salt = zeros;
		saltlen = sizeof(zeros);
	}
	return sotto_hmac_sha256(prk, salt, saltlen, ikm, ikmlen);
}

int sotto_hkdf_sha256_expand(uint8_t *out, size_t outlen, const uint8_t *prk, size_t prklen,
			     const uint8_t *info, size_t infolen)
{
	if (outlen > 255 * 32 || (out == NULL && outlen > 0) || (info == NULL && infolen > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (outlen == 0)
		return SOTTO_OK;
	sotto_hmac_sha256_ctx *ctx = sotto_hmac_sha256_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	uint8_t t[32];
	size_t tlen = 0, done = 0;
	int rc = sotto_hmac_sha256_setkey(ctx, prk, prklen);
	for (uint8_t i = 1; rc == SOTTO_OK && done < outlen; i++) {
		rc = sotto_hmac_sha256_update(ctx, t, tlen);
		if (rc == SOTTO_OK)
			rc = sotto_hmac_sha256_update(ctx, info, infolen);
		if (rc == SOTTO_OK)
			rc = sotto_hmac_sha256_update(ctx, &i, 1);
		if (rc == SOTTO_OK)
			rc = sotto_hmac_sha256_final(ctx, t);
		if (rc != SOTTO_OK)
			break;
		tlen = sizeof(t);
		size_t take = outlen - done < tlen ? outlen - done : tlen;
		memcpy(out + done, t, take);
		done += take;
	}
	if (rc != SOTTO_OK)
		sotto_memzero(out, outlen);
	sotto_memzero(t, sizeof(t));
	sotto_hmac_sha256_free(ctx);
	return rc;
}

int sotto_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen,
		      const uint8_t *ikm, size_t ikmlen, const uint8_t *info, size_t infolen)
{
	uint8_t prk[32];
	int rc = sotto_hkdf_sha256_extract(prk, salt, saltlen, ikm, ikmlen);
	if (rc == SOTTO_OK)
		rc = sotto_hkdf_sha256_expand(out, outlen, prk, sizeof(prk), info, infolen);
	sotto_memzero(prk, sizeof(prk));
	return rc;
}
