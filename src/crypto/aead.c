/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* AEAD front end: (X)ChaCha20-Poly1305 from libsodium, AES-256-GCM from
 * OpenSSL (AES-NI). Lengths are checked here once so the backends only ever
 * see well-formed calls. */
#include <limits.h>
#include <sodium.h>
#include <string.h>

#include "backend.h"
#include "sotto/aead.h"
#include "sotto/error.h"
#include "sotto/util.h"

#define TAG SOTTO_AEAD_TAG_BYTES

size_t sotto_aead_nonce_bytes(sotto_aead_alg alg)
{
	switch (alg) {
	case SOTTO_AEAD_CHACHA20POLY1305:
		return SOTTO_CHACHA20POLY1305_NONCE_BYTES;
	case SOTTO_AEAD_XCHACHA20POLY1305:
		return SOTTO_XCHACHA20POLY1305_NONCE_BYTES;
	case SOTTO_AEAD_AES256GCM:
		return SOTTO_AES256GCM_NONCE_BYTES;
	}
	return 0;
}

/* inlen is the plaintext length in both directions; sealing always writes at
 * least the tag, opening an empty message writes nothing. */
static int check_args(int seal, sotto_aead_alg alg, const uint8_t *out, size_t *outlen,
		      const uint8_t *key, size_t keylen, const uint8_t *nonce, size_t noncelen,
		      const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t inlen)
{
	size_t nb = sotto_aead_nonce_bytes(alg);
	if (nb == 0 || outlen == NULL || key == NULL || keylen != SOTTO_AEAD_KEY_BYTES ||
	    nonce == NULL || noncelen != nb || (aad == NULL && aadlen > 0) ||
	    (in == NULL && inlen > 0) || (out == NULL && (seal || inlen > 0)))
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* OpenSSL takes int lengths; libsodium has its own (larger) limits. */
	if (inlen > (size_t)INT_MAX - TAG || aadlen > (size_t)INT_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (sotto__backend_init() != SOTTO_OK)
		return SOTTO_ERR_INTERNAL;
	return SOTTO_OK;
}

static int gcm_seal(uint8_t *out, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
		    size_t aadlen, const uint8_t *pt, size_t ptlen)
{
	const EVP_CIPHER *cipher = sotto__cipher(SOTTO__AES_256_GCM);
	if (cipher == NULL)
		return SOTTO_ERR_INTERNAL;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = SOTTO_ERR_CRYPTO;
	int len = 0;
	/* The default GCM IV length is 12 bytes, which is what we pass. */
	if (EVP_EncryptInit_ex2(ctx, cipher, key, nonce, NULL) != 1)
		goto done;
	if (aadlen > 0 && EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1)
		goto done;
	if (ptlen > 0 && EVP_EncryptUpdate(ctx, out, &len, pt, (int)ptlen) != 1)
		goto done;
	if (EVP_EncryptFinal_ex(ctx, out + ptlen, &len) != 1)
		goto done;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG, out + ptlen) != 1)
		goto done;
	rc = SOTTO_OK;
done:
	/* EVP_CIPHER_CTX_free cleanses the expanded key schedule. */
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static int gcm_open(uint8_t *out, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
		    size_t aadlen, const uint8_t *ct, size_t ctlen)
{
	const EVP_CIPHER *cipher = sotto__cipher(SOTTO__AES_256_GCM);
	if (cipher == NULL)
		return SOTTO_ERR_INTERNAL;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	size_t mlen = ctlen - TAG;
	uint8_t tag[TAG];
	memcpy(tag, ct + mlen, TAG);
	int rc = SOTTO_ERR_CRYPTO;
	int len = 0;
	if (EVP_DecryptInit_ex2(ctx, cipher, key, nonce, NULL) != 1)
		goto done;
	if (aadlen > 0 && EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1)
		goto done;
	if (mlen > 0 && EVP_DecryptUpdate(ctx, out, &len, ct, (int)mlen) != 1)
		goto done;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG, tag) != 1)
		goto done;
	/* OpenSSL compares the tag in constant time inside Final. GCM decrypts
	 * before it can verify, so a failure must erase what Update wrote. */
	if (EVP_DecryptFinal_ex(ctx, out + mlen, &len) != 1) {
		sotto_memzero(out, mlen);
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto done;
	}
	rc = SOTTO_OK;
done:
	if (rc != SOTTO_OK && rc != SOTTO_ERR_INVALID_MESSAGE)
		sotto_memzero(out, mlen);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int sotto_aead_seal(sotto_aead_alg alg, uint8_t *out, size_t outcap, size_t *outlen,
		    const uint8_t *key, size_t keylen, const uint8_t *nonce, size_t noncelen,
		    const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen)
{
	int rc = check_args(1, alg, out, outlen, key, keylen, nonce, noncelen, aad, aadlen, pt,
			    ptlen);
	if (rc != SOTTO_OK)
		return rc;
	if (outcap < ptlen + TAG)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	unsigned long long clen = 0;
	switch (alg) {
	case SOTTO_AEAD_CHACHA20POLY1305:
		if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, ptlen, aad, aadlen,
							      NULL, nonce, key) != 0)
			return SOTTO_ERR_CRYPTO;
		break;
	case SOTTO_AEAD_XCHACHA20POLY1305:
		if (crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, pt, ptlen, aad, aadlen,
							       NULL, nonce, key) != 0)
			return SOTTO_ERR_CRYPTO;
		break;
	case SOTTO_AEAD_AES256GCM:
		rc = gcm_seal(out, key, nonce, aad, aadlen, pt, ptlen);
		if (rc != SOTTO_OK)
			return rc;
		clen = ptlen + TAG;
		break;
	}
	if (clen != ptlen + TAG)
		return SOTTO_ERR_INTERNAL;
	*outlen = ptlen + TAG;
	return SOTTO_OK;
}

int sotto_aead_open(sotto_aead_alg alg, uint8_t *out, size_t outcap, size_t *outlen,
		    const uint8_t *key, size_t keylen, const uint8_t *nonce, size_t noncelen,
		    const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen)
{
	/* Argument errors first, so a wrong nonce size is reported as such even
	 * for a truncated ciphertext. */
	size_t mlen = ctlen < TAG ? 0 : ctlen - TAG;
	int rc = check_args(0, alg, out, outlen, key, keylen, nonce, noncelen, aad, aadlen, ct,
			    mlen);
	if (rc != SOTTO_OK)
		return rc;
	if (ctlen < TAG)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (outcap < mlen)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	unsigned long long plen = 0;
	switch (alg) {
	case SOTTO_AEAD_CHACHA20POLY1305:
		/* libsodium verifies the tag before it decrypts anything. */
		if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, ct, ctlen, aad,
							      aadlen, nonce, key) != 0) {
			sotto_memzero(out, mlen);
			return SOTTO_ERR_INVALID_MESSAGE;
		}
		break;
	case SOTTO_AEAD_XCHACHA20POLY1305:
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, ct, ctlen, aad,
							       aadlen, nonce, key) != 0) {
			sotto_memzero(out, mlen);
			return SOTTO_ERR_INVALID_MESSAGE;
		}
		break;
	case SOTTO_AEAD_AES256GCM:
		rc = gcm_open(out, key, nonce, aad, aadlen, ct, ctlen);
		if (rc != SOTTO_OK)
			return rc;
		plen = mlen;
		break;
	}
	if (plen != mlen) {
		sotto_memzero(out, mlen);
		return SOTTO_ERR_INTERNAL;
	}
	*outlen = mlen;
	return SOTTO_OK;
}
