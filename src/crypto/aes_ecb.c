/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The AES block function for GCM-SIV: OpenSSL's ECB mode (AES-NI where the
 * CPU has it, otherwise OpenSSL's constant-time fallbacks), on pre-fetched
 * cipher objects. */
#include <limits.h>
#include <stdlib.h>

#include "aes_internal.h"
#include "backend.h"
#include "sotto/error.h"

struct sotto__aes_ecb {
	EVP_CIPHER_CTX *ctx;
	const EVP_CIPHER *cipher; /* what ctx was initialised with; NULL before */
	int keyed;
};

sotto__aes_ecb *sotto__aes_ecb_new(void)
{
	if (sotto__backend_init() != SOTTO_OK)
		return NULL;
	sotto__aes_ecb *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->ctx = EVP_CIPHER_CTX_new();
	if (e->ctx == NULL) {
		free(e);
		return NULL;
	}
	return e;
}

void sotto__aes_ecb_free(sotto__aes_ecb *e)
{
	if (e == NULL)
		return;
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(e->ctx);
	free(e);
}

int sotto__aes_ecb_setkey(sotto__aes_ecb *e, const uint8_t *key, size_t keylen, int encrypt)
{
	enum sotto__cipher which;
	if (e == NULL || key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	switch (keylen) {
	case 16:
		which = SOTTO__AES_128_ECB;
		break;
	case 24:
		which = SOTTO__AES_192_ECB;
		break;
	case 32:
		which = SOTTO__AES_256_ECB;
		break;
	default:
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	const EVP_CIPHER *cipher = sotto__cipher(which);
	if (cipher == NULL)
		return SOTTO_ERR_INTERNAL;
	e->keyed = 0;
	/* Passing the cipher again would make OpenSSL free and re-create its
	 * provider context; with NULL only the key schedule is recomputed. */
	int fresh = cipher != e->cipher;
	if (EVP_CipherInit_ex2(e->ctx, fresh ? cipher : NULL, key, NULL, encrypt ? 1 : 0, NULL) != 1) {
		e->cipher = NULL;
		return SOTTO_ERR_CRYPTO;
	}
	/* Without this, decryption would hold back the last block for
	 * EVP_CipherFinal. The setting survives a re-key with a NULL cipher. */
	if (fresh && EVP_CIPHER_CTX_set_padding(e->ctx, 0) != 1) {
		e->cipher = NULL;
		return SOTTO_ERR_CRYPTO;
	}
	e->cipher = cipher;
	e->keyed = 1;
	return SOTTO_OK;
}

int sotto__aes_ecb_blocks(sotto__aes_ecb *e, uint8_t *out, const uint8_t *in, size_t nblocks)
{
	if (e == NULL || !e->keyed)
		return SOTTO_ERR_INVALID_ARGUMENT;
	const size_t max_blocks = (size_t)INT_MAX / 16;
	while (nblocks > 0) {
		size_t n = nblocks < max_blocks ? nblocks : max_blocks;
		int outl = 0;
		if (EVP_CipherUpdate(e->ctx, out, &outl, in, (int)(n * 16)) != 1 ||
		    outl != (int)(n * 16))
			return SOTTO_ERR_CRYPTO;
		out += n * 16;
		in += n * 16;
		nblocks -= n;
	}
	return SOTTO_OK;
}

int sotto__aes_ecb_block(uint8_t out[16], const uint8_t *key, size_t keylen, const uint8_t in[16],
			 int encrypt)
{
	sotto__aes_ecb *e = sotto__aes_ecb_new();
	if (e == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = sotto__aes_ecb_setkey(e, key, keylen, encrypt);
	if (rc == SOTTO_OK)
		rc = sotto__aes_ecb_blocks(e, out, in, 1);
	sotto__aes_ecb_free(e);
	return rc;
}
