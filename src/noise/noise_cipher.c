/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Noise CipherState, transport ciphers, HASH, HMAC and HKDF (Noise spec
 * revision 34, §4 and §5.1). */
#include <stdlib.h>
#include <string.h>

#include "noise_internal.h"
#include "sotto/aead.h"
#include "sotto/error.h"
#include "sotto/util.h"

#define TAG SOTTO_NOISE_TAG_BYTES
#define MAX_NONCE UINT64_MAX

/* §12.3 and §12.4: both ciphers take a 96-bit nonce of 32 zero bits and the
 * 64-bit counter, little-endian for ChaChaPoly and big-endian for AESGCM. */
static void encode_nonce(uint8_t nonce[12], int alg, uint64_t n)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++) {
		uint8_t b = (uint8_t)(n >> (8 * i));
		if (alg == SOTTO__NOISE_CHACHAPOLY)
			nonce[4 + i] = b;
		else
			nonce[11 - i] = b;
	}
}

static sotto_aead_alg aead_of(int alg)
{
	return alg == SOTTO__NOISE_CHACHAPOLY ? SOTTO_AEAD_CHACHA20POLY1305 : SOTTO_AEAD_AES256GCM;
}

void sotto__noise_cs_init(struct sotto__noise_cs *cs, int alg, const uint8_t *key)
{
	cs->alg = alg;
	cs->n = 0;
	if (key != NULL) {
		memcpy(cs->k, key, 32);
		cs->has_key = 1;
	} else {
		sotto_memzero(cs->k, sizeof(cs->k));
		cs->has_key = 0;
	}
}

/* ENCRYPT(k, n, ad, plaintext) with an explicit nonce, used by rekey too. */
static int encrypt_n(const struct sotto__noise_cs *cs, uint64_t n, const uint8_t *ad, size_t adlen,
		     const uint8_t *pt, size_t ptlen, uint8_t *out, size_t *outlen)
{
	uint8_t nonce[12];
	encode_nonce(nonce, cs->alg, n);
	return sotto_aead_seal(aead_of(cs->alg), out, ptlen + TAG, outlen, cs->k, 32, nonce, 12, ad,
			       adlen, pt, ptlen);
}

int sotto__noise_cs_encrypt(struct sotto__noise_cs *cs, const uint8_t *ad, size_t adlen,
			    const uint8_t *pt, size_t ptlen, uint8_t *out, size_t *outlen)
{
	if (!cs->has_key) {
		if (ptlen > 0)
			memmove(out, pt, ptlen);
		*outlen = ptlen;
		return SOTTO_OK;
	}
	/* §5.1: 2^64 - 1 is reserved for rekey; reaching it is an error. */
	if (cs->n == MAX_NONCE)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = encrypt_n(cs, cs->n, ad, adlen, pt, ptlen, out, outlen);
	if (rc != SOTTO_OK)
		return rc;
	cs->n++;
	return SOTTO_OK;
}

int sotto__noise_cs_decrypt(struct sotto__noise_cs *cs, const uint8_t *ad, size_t adlen,
			    const uint8_t *ct, size_t ctlen, uint8_t *out, size_t *outlen)
{
	if (!cs->has_key) {
		if (ctlen > 0)
			memmove(out, ct, ctlen);
		*outlen = ctlen;
		return SOTTO_OK;
	}
	if (cs->n == MAX_NONCE)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (ctlen < TAG)
		return SOTTO_ERR_INVALID_MESSAGE;
	uint8_t nonce[12];
	encode_nonce(nonce, cs->alg, cs->n);
	int rc = sotto_aead_open(aead_of(cs->alg), out, ctlen - TAG, outlen, cs->k, 32, nonce, 12,
				 ad, adlen, ct, ctlen);
	if (rc != SOTTO_OK)
		return rc;
	cs->n++;
	return SOTTO_OK;
}

size_t sotto__noise_hashlen(int hash)
{
	return hash == SOTTO__NOISE_SHA256 ? 32 : 64;
}

static size_t blocklen(int hash)
{
	return hash == SOTTO__NOISE_SHA256 ? 64 : 128;
}

int sotto__noise_hash(int hash, uint8_t *out, const sotto_iov *parts, size_t n)
{
	switch (hash) {
	case SOTTO__NOISE_SHA256:
		return sotto_sha256_v(out, parts, n);
	case SOTTO__NOISE_SHA512:
		return sotto_sha512_v(out, parts, n);
	case SOTTO__NOISE_BLAKE2B:
		return sotto_blake2b_v(out, 64, NULL, 0, parts, n);
	}
	return SOTTO_ERR_INVALID_ARGUMENT;
}

/* HMAC (RFC 2104) over HASH: H((K ^ opad) || H((K ^ ipad) || text)). Generic
 * because Noise needs it over BLAKE2b and SHA-512 as well as SHA-256. The
 * text comes in at most two parts. */
static int hmac(int hash, uint8_t *out, const uint8_t *key, size_t keylen, const sotto_iov *text,
		size_t ntext)
{
	size_t bl = blocklen(hash), hl = sotto__noise_hashlen(hash);
	uint8_t k0[128] = { 0 }, pad[128], inner[64];
	int rc;
	if (ntext > 2)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (keylen > bl) {
		sotto_iov kp = { key, keylen };
		rc = sotto__noise_hash(hash, k0, &kp, 1);
		if (rc != SOTTO_OK)
			goto done;
	} else if (keylen > 0) {
		memcpy(k0, key, keylen);
	}
	for (size_t i = 0; i < bl; i++)
		pad[i] = k0[i] ^ 0x36;
	sotto_iov parts[3] = { { pad, bl } };
	for (size_t i = 0; i < ntext; i++)
		parts[1 + i] = text[i];
	rc = sotto__noise_hash(hash, inner, parts, 1 + ntext);
	if (rc != SOTTO_OK)
		goto done;
	for (size_t i = 0; i < bl; i++)
		pad[i] = k0[i] ^ 0x5c;
	parts[1] = (sotto_iov){ inner, hl };
	rc = sotto__noise_hash(hash, out, parts, 2);
done:
	sotto_memzero(k0, sizeof(k0));
	sotto_memzero(pad, sizeof(pad));
	sotto_memzero(inner, sizeof(inner));
	return rc;
}

int sotto__noise_hkdf(int hash, const uint8_t *ck, const uint8_t *ikm, size_t ikmlen, uint8_t *o1,
		      uint8_t *o2, uint8_t *o3)
{
	size_t hl = sotto__noise_hashlen(hash);
	uint8_t temp[64];
	static const uint8_t one = 1, two = 2, three = 3;
	sotto_iov in = { ikm, ikmlen };
	int rc = hmac(hash, temp, ck, hl, &in, 1);
	if (rc != SOTTO_OK)
		goto done;
	sotto_iov t1 = { &one, 1 };
	rc = hmac(hash, o1, temp, hl, &t1, 1);
	if (rc != SOTTO_OK)
		goto done;
	sotto_iov t2[2] = { { o1, hl }, { &two, 1 } };
	rc = hmac(hash, o2, temp, hl, t2, 2);
	if (rc != SOTTO_OK || o3 == NULL)
		goto done;
	sotto_iov t3[2] = { { o2, hl }, { &three, 1 } };
	rc = hmac(hash, o3, temp, hl, t3, 2);
done:
	sotto_memzero(temp, sizeof(temp));
	return rc;
}

/* Transport ciphers (the CipherStates that Split returns). */

void sotto_noise_cipher_free(sotto_noise_cipher *c)
{
	if (c == NULL)
		return;
	sotto_memzero(c, sizeof(*c));
	free(c);
}

int sotto_noise_encrypt(sotto_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *pt,
			size_t ptlen, uint8_t *out, size_t outcap, size_t *outlen)
{
	if (c == NULL || out == NULL || outlen == NULL || (pt == NULL && ptlen > 0) ||
	    (ad == NULL && adlen > 0) || ptlen > SOTTO_NOISE_MAX_PAYLOAD || !c->cs.has_key)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (outcap < ptlen + TAG)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	return sotto__noise_cs_encrypt(&c->cs, ad, adlen, pt, ptlen, out, outlen);
}

int sotto_noise_decrypt(sotto_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *ct,
			size_t ctlen, uint8_t *out, size_t outcap, size_t *outlen)
{
	if (c == NULL || outlen == NULL || (ct == NULL && ctlen > 0) ||
	    (ad == NULL && adlen > 0) || !c->cs.has_key)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (ctlen < TAG || ctlen > SOTTO_NOISE_MAX_MESSAGE)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (outcap < ctlen - TAG || (out == NULL && ctlen > TAG))
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	return sotto__noise_cs_decrypt(&c->cs, ad, adlen, ct, ctlen, out, outlen);
}

int sotto_noise_rekey(sotto_noise_cipher *c)
{
	if (c == NULL || !c->cs.has_key)
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* §4.2 REKEY(k): ENCRYPT(k, maxnonce, zerolen, zeros) truncated to 32. */
	static const uint8_t zeros[32];
	uint8_t out[32 + TAG];
	size_t outlen = 0;
	int rc = encrypt_n(&c->cs, MAX_NONCE, NULL, 0, zeros, sizeof(zeros), out, &outlen);
	if (rc == SOTTO_OK)
		memcpy(c->cs.k, out, 32);
	sotto_memzero(out, sizeof(out));
	return rc;
}

void sotto_noise_cipher_set_nonce(sotto_noise_cipher *c, uint64_t n)
{
	if (c != NULL)
		c->cs.n = n;
}

uint64_t sotto_noise_cipher_nonce(const sotto_noise_cipher *c)
{
	return c == NULL ? 0 : c->cs.n;
}
