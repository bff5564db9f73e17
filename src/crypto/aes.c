/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* AES-CBC with PKCS#7 padding and AES-CTR over OpenSSL EVP. CBC padding is
 * done here, with EVP's padding off, so that the check on decryption runs in
 * constant time: OpenSSL's EVP_DecryptFinal returns early on the first bad
 * padding byte. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "aes_internal.h"
#include "backend.h"
#include "sotto/aes.h"
#include "sotto/error.h"
#include "sotto/util.h"

/* All-ones if a < b, else 0; a and b below 2^31. */
static uint32_t ct_lt_mask(uint32_t a, uint32_t b)
{
	return 0u - ((a - b) >> 31);
}

/* All-ones if x == 0, else 0; x below 2^31. */
static uint32_t ct_zero_mask(uint32_t x)
{
	return 0u - ((x - 1u) >> 31);
}

unsigned sotto__pkcs7_padlen_ct(const uint8_t last[16])
{
	uint32_t pad = last[15];
	/* 1 <= pad <= 16 */
	uint32_t good = ct_lt_mask(0, pad) & ct_lt_mask(pad, 17);
	/* Every one of the last pad bytes equals pad; all 16 are examined. */
	for (uint32_t i = 0; i < 16; i++) {
		uint32_t in_pad = ct_lt_mask(i, pad);
		good &= ~in_pad | ct_zero_mask((uint32_t)last[15 - i] ^ pad);
	}
	return (unsigned)(pad & good);
}

static const EVP_CIPHER *cbc_cipher(size_t keylen)
{
	switch (keylen) {
	case 16:
		return sotto__cipher(SOTTO__AES_128_CBC);
	case 24:
		return sotto__cipher(SOTTO__AES_192_CBC);
	case 32:
		return sotto__cipher(SOTTO__AES_256_CBC);
	default:
		return NULL;
	}
}

/* EVP lengths are int: feed large inputs in pieces that stay block-aligned. */
static int evp_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
	const size_t max = (size_t)INT_MAX & ~(size_t)15;
	while (len > 0) {
		size_t n = len < max ? len : max;
		int outl = 0;
		if (EVP_CipherUpdate(ctx, out, &outl, in, (int)n) != 1 || outl != (int)n)
			return SOTTO_ERR_CRYPTO;
		out += n;
		in += n;
		len -= n;
	}
	return SOTTO_OK;
}

struct sotto_aes_cbc_ctx {
	EVP_CIPHER_CTX *evp[2];	      /* [0] decrypt, [1] encrypt */
	const EVP_CIPHER *cipher[2]; /* what each was initialised with; NULL before */
	int loaded[2];		      /* holds the schedule of the current key */
	uint8_t key[32];
	size_t keylen; /* 0 until keyed */
};

sotto_aes_cbc_ctx *sotto_aes_cbc_ctx_new(void)
{
	if (sotto__backend_init() != SOTTO_OK)
		return NULL;
	sotto_aes_cbc_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return NULL;
	ctx->evp[0] = EVP_CIPHER_CTX_new();
	ctx->evp[1] = EVP_CIPHER_CTX_new();
	if (ctx->evp[0] == NULL || ctx->evp[1] == NULL) {
		sotto_aes_cbc_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void sotto_aes_cbc_ctx_free(sotto_aes_cbc_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_CIPHER_CTX_free(ctx->evp[0]);
	EVP_CIPHER_CTX_free(ctx->evp[1]);
	sotto_memzero(ctx, sizeof(*ctx));
	free(ctx);
}

int sotto_aes_cbc_ctx_setkey(sotto_aes_cbc_ctx *ctx, const uint8_t *key, size_t keylen)
{
	if (ctx == NULL || key == NULL || cbc_cipher(keylen) == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memcpy(ctx->key, key, keylen);
	ctx->keylen = keylen;
	ctx->loaded[0] = ctx->loaded[1] = 0;
	return SOTTO_OK;
}

/* Readies direction enc for a message under iv: the first use of a key
 * expands it; later uses only reset the IV. */
static int cbc_start(sotto_aes_cbc_ctx *ctx, int enc, const uint8_t iv[16])
{
	EVP_CIPHER_CTX *evp = ctx->evp[enc];
	if (ctx->loaded[enc])
		return EVP_CipherInit_ex2(evp, NULL, NULL, iv, enc, NULL) == 1 ? SOTTO_OK
										  : SOTTO_ERR_CRYPTO;
	const EVP_CIPHER *cipher = cbc_cipher(ctx->keylen);
	if (cipher == NULL)
		return SOTTO_ERR_INTERNAL;
	/* Passing the same cipher again would make OpenSSL re-create its
	 * provider context; NULL keeps it and only re-expands the key. */
	int fresh = cipher != ctx->cipher[enc];
	if (EVP_CipherInit_ex2(evp, fresh ? cipher : NULL, ctx->key, iv, enc, NULL) != 1 ||
	    (fresh && EVP_CIPHER_CTX_set_padding(evp, 0) != 1)) {
		ctx->cipher[enc] = NULL;
		return SOTTO_ERR_CRYPTO;
	}
	ctx->cipher[enc] = cipher;
	ctx->loaded[enc] = 1;
	return SOTTO_OK;
}

int sotto_aes_cbc_ctx_encrypt(sotto_aes_cbc_ctx *ctx, uint8_t *out, size_t outcap, size_t *outlen,
			      const uint8_t iv[16], const uint8_t *in, size_t inlen)
{
	if (ctx == NULL || ctx->keylen == 0 || out == NULL || outlen == NULL || iv == NULL ||
	    (in == NULL && inlen > 0) || inlen > SIZE_MAX - 32)
		return SOTTO_ERR_INVALID_ARGUMENT;
	size_t total = SOTTO_AES_CBC_PADDED_LEN(inlen);
	if (outcap < total)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	int rc = cbc_start(ctx, 1, iv);
	if (rc != SOTTO_OK)
		return rc;
	size_t full = inlen - inlen % 16;
	uint8_t last[16];
	if (inlen > full)
		memcpy(last, in + full, inlen - full);
	memset(last + (inlen - full), (int)(total - inlen), total - inlen);
	rc = evp_update(ctx->evp[1], out, in, full);
	if (rc == SOTTO_OK)
		rc = evp_update(ctx->evp[1], out + full, last, 16);
	sotto_memzero(last, sizeof(last));
	if (rc != SOTTO_OK) {
		/* The chaining state is unknown: re-key before the next use. */
		ctx->loaded[1] = 0;
		sotto_memzero(out, total);
		return rc;
	}
	*outlen = total;
	return SOTTO_OK;
}

int sotto_aes_cbc_ctx_decrypt(sotto_aes_cbc_ctx *ctx, uint8_t *out, size_t outcap, size_t *outlen,
			      const uint8_t iv[16], const uint8_t *in, size_t inlen)
{
	if (ctx == NULL || ctx->keylen == 0 || outlen == NULL || iv == NULL ||
	    (in == NULL && inlen > 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (inlen == 0 || inlen % 16 != 0)
		return SOTTO_ERR_INVALID_MESSAGE;
	size_t head = inlen - 16;
	if (outcap < head)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	if (out == NULL && head > 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = cbc_start(ctx, 0, iv);
	if (rc != SOTTO_OK)
		return rc;
	/* All but the last block go straight to out; the last one, which holds
	 * the padding, stays here until the check is done. */
	uint8_t last[16];
	rc = evp_update(ctx->evp[0], out, in, head);
	if (rc == SOTTO_OK)
		rc = evp_update(ctx->evp[0], last, in + head, 16);
	if (rc != SOTTO_OK) {
		ctx->loaded[0] = 0;
		goto fail;
	}
	unsigned pad = sotto__pkcs7_padlen_ct(last);
	/* Only the verdict leaves the constant-time check; from here on the
	 * length is public. */
	if (pad == 0) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto fail;
	}
	size_t tail = 16 - pad;
	if (outcap - head < tail) {
		rc = SOTTO_ERR_BUFFER_TOO_SMALL;
		goto fail;
	}
	if (tail > 0)
		memcpy(out + head, last, tail);
	sotto_memzero(last, sizeof(last));
	*outlen = head + tail;
	return SOTTO_OK;
fail:
	sotto_memzero(last, sizeof(last));
	if (head > 0)
		sotto_memzero(out, head);
	return rc;
}

int sotto_aes_cbc_encrypt(uint8_t *out, size_t outcap, size_t *outlen, const uint8_t *key,
			  size_t keylen, const uint8_t iv[16], const uint8_t *in, size_t inlen)
{
	sotto_aes_cbc_ctx *ctx = sotto_aes_cbc_ctx_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = sotto_aes_cbc_ctx_setkey(ctx, key, keylen);
	if (rc == SOTTO_OK)
		rc = sotto_aes_cbc_ctx_encrypt(ctx, out, outcap, outlen, iv, in, inlen);
	sotto_aes_cbc_ctx_free(ctx);
	return rc;
}

int sotto_aes_cbc_decrypt(uint8_t *out, size_t outcap, size_t *outlen, const uint8_t *key,
			  size_t keylen, const uint8_t iv[16], const uint8_t *in, size_t inlen)
{
	sotto_aes_cbc_ctx *ctx = sotto_aes_cbc_ctx_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = sotto_aes_cbc_ctx_setkey(ctx, key, keylen);
	if (rc == SOTTO_OK)
		rc = sotto_aes_cbc_ctx_decrypt(ctx, out, outcap, outlen, iv, in, inlen);
	sotto_aes_cbc_ctx_free(ctx);
	return rc;
}

int sotto_aes_ctr(uint8_t *out, const uint8_t *key, size_t keylen, const uint8_t iv[16],
		  const uint8_t *in, size_t len)
{
	enum sotto__cipher which;
	switch (keylen) {
	case 16:
		which = SOTTO__AES_128_CTR;
		break;
	case 24:
		which = SOTTO__AES_192_CTR;
		break;
	case 32:
		which = SOTTO__AES_256_CTR;
		break;
	default:
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	if (key == NULL || iv == NULL || (len > 0 && (out == NULL || in == NULL)))
		return SOTTO_ERR_INVALID_ARGUMENT;
	const EVP_CIPHER *cipher = sotto__cipher(which);
	if (cipher == NULL)
		return SOTTO_ERR_INTERNAL;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = SOTTO_ERR_CRYPTO;
	/* OpenSSL's CTR increments the whole 16-byte block as one big-endian
	 * number, as SP 800-38A's standard incrementing function does. */
	if (EVP_CipherInit_ex2(ctx, cipher, key, iv, 1, NULL) == 1)
		rc = evp_update(ctx, out, in, len);
	if (rc != SOTTO_OK && len > 0)
		sotto_memzero(out, len);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}
