/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* AES-GCM-SIV, RFC 8452, on the AES block of aes_ecb.c and the POLYVAL of
 * polyval.c. Section numbers below refer to RFC 8452. */
#include <stdlib.h>
#include <string.h>

#include "aes_internal.h"
#include "polyval.h"
#include "sotto/aes.h"
#include "sotto/error.h"
#include "sotto/util.h"

/* Keystream blocks made per AES call: one EVP call over many blocks lets
 * AES-NI pipeline them. */
#define CTR_BATCH 32

struct sotto_aes_gcm_siv_ctx {
	sotto__aes_ecb *kgk; /* the key-generating key, encrypt direction */
	sotto__aes_ecb *msg; /* the per-nonce message-encryption key */
	size_t keylen;	     /* 0 until keyed */
};

sotto_aes_gcm_siv_ctx *sotto_aes_gcm_siv_ctx_new(void)
{
	sotto_aes_gcm_siv_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return NULL;
	ctx->kgk = sotto__aes_ecb_new();
	ctx->msg = sotto__aes_ecb_new();
	if (ctx->kgk == NULL || ctx->msg == NULL) {
		sotto_aes_gcm_siv_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void sotto_aes_gcm_siv_ctx_free(sotto_aes_gcm_siv_ctx *ctx)
{
	if (ctx == NULL)
		return;
	sotto__aes_ecb_free(ctx->kgk);
	sotto__aes_ecb_free(ctx->msg);
	free(ctx);
}

int sotto_aes_gcm_siv_ctx_setkey(sotto_aes_gcm_siv_ctx *ctx, const uint8_t *key, size_t keylen)
{
	if (ctx == NULL || key == NULL || (keylen != 16 && keylen != 32))
		return SOTTO_ERR_INVALID_ARGUMENT;
	ctx->keylen = 0;
	int rc = sotto__aes_ecb_setkey(ctx->kgk, key, keylen, 1);
	if (rc != SOTTO_OK)
		return rc;
	ctx->keylen = keylen;
	return SOTTO_OK;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Section 4: the message keys are the first halves of AES_K(LE32(i) ||
 * nonce) for i = 0, 1 (authentication key) and i = 2..3 or 2..5
 * (encryption key, as long as K). The encryption key goes straight into
 * ctx->msg. */
static int derive_keys(sotto_aes_gcm_siv_ctx *ctx, const uint8_t nonce[12], uint8_t auth_key[16])
{
	uint8_t blocks[6 * 16], enc_key[32];
	size_t n = ctx->keylen == 16 ? 4 : 6;
	for (size_t i = 0; i < n; i++) {
		put_le32(blocks + 16 * i, (uint32_t)i);
		memcpy(blocks + 16 * i + 4, nonce, 12);
	}
	int rc = sotto__aes_ecb_blocks(ctx->kgk, blocks, blocks, n);
	if (rc == SOTTO_OK) {
		memcpy(auth_key, blocks, 8);
		memcpy(auth_key + 8, blocks + 16, 8);
		for (size_t i = 2; i < n; i++)
			memcpy(enc_key + 8 * (i - 2), blocks + 16 * i, 8);
		rc = sotto__aes_ecb_setkey(ctx->msg, enc_key, ctx->keylen, 1);
	}
	sotto_memzero(blocks, sizeof(blocks));
	sotto_memzero(enc_key, sizeof(enc_key));
	return rc;
}

/* Section 4: tag = AES(enc key, (POLYVAL(auth key, padded aad || padded pt
 * || length block) ^ nonce) with the top bit of the last byte cleared). */
static int compute_tag(sotto_aes_gcm_siv_ctx *ctx, uint8_t tag[16], const uint8_t auth_key[16],
		       const uint8_t nonce[12], const uint8_t *aad, size_t aadlen,
		       const uint8_t *pt, size_t ptlen)
{
	sotto__polyval pv;
	uint8_t s[16];
	sotto__polyval_init(&pv, auth_key);
	sotto__polyval_padded(&pv, aad, aadlen);
	sotto__polyval_padded(&pv, pt, ptlen);
	/* Lengths in bits; the limits keep them far below 2^64. */
	put_le64(s, (uint64_t)aadlen * 8);
	put_le64(s + 8, (uint64_t)ptlen * 8);
	sotto__polyval_blocks(&pv, s, 1);
	sotto__polyval_final(&pv, s);
	for (int i = 0; i < 12; i++)
		s[i] ^= nonce[i];
	s[15] &= 0x7f;
	int rc = sotto__aes_ecb_blocks(ctx->msg, tag, s, 1);
	sotto_memzero(s, sizeof(s));
	return rc;
}

/* Section 4: the counter block is the tag with the top bit of its last byte
 * set; its first 32 bits are a little-endian counter that wraps modulo 2^32
 * without carrying into the other 96 bits. */
static int ctr_xor(sotto_aes_gcm_siv_ctx *ctx, uint8_t *out, const uint8_t *in, size_t len,
		   const uint8_t tag[16])
{
	uint8_t ks[CTR_BATCH * 16];
	uint8_t cb[16];
	int rc = SOTTO_OK;
	memcpy(cb, tag, 16);
	cb[15] |= 0x80;
	uint32_t ctr = (uint32_t)cb[0] | (uint32_t)cb[1] << 8 | (uint32_t)cb[2] << 16 |
		       (uint32_t)cb[3] << 24;
	while (len > 0) {
		size_t nb = (len + 15) / 16;
		if (nb > CTR_BATCH)
			nb = CTR_BATCH;
		for (size_t i = 0; i < nb; i++) {
			put_le32(ks + 16 * i, ctr++);
			memcpy(ks + 16 * i + 4, cb + 4, 12);
		}
		rc = sotto__aes_ecb_blocks(ctx->msg, ks, ks, nb);
		if (rc != SOTTO_OK)
			break;
		size_t n = nb * 16 < len ? nb * 16 : len, i = 0;
		/* Word-wise: a byte loop costs more than the AES itself. Each
		 * word is read before it is written, so out may equal in. */
		for (; i + 8 <= n; i += 8) {
			uint64_t x, k;
			memcpy(&x, in + i, 8);
			memcpy(&k, ks + i, 8);
			x ^= k;
			memcpy(out + i, &x, 8);
		}
		for (; i < n; i++)
			out[i] = in[i] ^ ks[i];
		out += n;
		in += n;
		len -= n;
	}
	sotto_memzero(ks, sizeof(ks));
	return rc;
}

int sotto_aes_gcm_siv_ctx_seal(sotto_aes_gcm_siv_ctx *ctx, uint8_t *out, const uint8_t nonce[12],
			       const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen)
{
	if (ctx == NULL || ctx->keylen == 0 || out == NULL || nonce == NULL ||
	    (aad == NULL && aadlen > 0) || (pt == NULL && ptlen > 0) ||
	    (uint64_t)ptlen > SOTTO_AES_GCM_SIV_MAX_PT_BYTES ||
	    (uint64_t)aadlen > SOTTO_AES_GCM_SIV_MAX_AAD_BYTES)
		return SOTTO_ERR_INVALID_ARGUMENT;
	uint8_t auth_key[16], tag[16];
	int rc = derive_keys(ctx, nonce, auth_key);
	/* The tag is computed before anything is written, so out may equal pt. */
	if (rc == SOTTO_OK)
		rc = compute_tag(ctx, tag, auth_key, nonce, aad, aadlen, pt, ptlen);
	if (rc == SOTTO_OK)
		rc = ctr_xor(ctx, out, pt, ptlen, tag);
	if (rc == SOTTO_OK)
		memcpy(out + ptlen, tag, 16);
	else
		sotto_memzero(out, ptlen + 16);
	sotto_memzero(auth_key, sizeof(auth_key));
	return rc;
}

int sotto_aes_gcm_siv_ctx_open(sotto_aes_gcm_siv_ctx *ctx, uint8_t *out, const uint8_t nonce[12],
			       const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen)
{
	if (ctx == NULL || ctx->keylen == 0 || nonce == NULL || (aad == NULL && aadlen > 0) ||
	    ct == NULL || (out == NULL && ctlen > 16))
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* Section 6: ciphertexts longer than 2^36 + 16 bytes are rejected. */
	if (ctlen < 16 || (uint64_t)(ctlen - 16) > SOTTO_AES_GCM_SIV_MAX_PT_BYTES ||
	    (uint64_t)aadlen > SOTTO_AES_GCM_SIV_MAX_AAD_BYTES)
		return SOTTO_ERR_INVALID_MESSAGE;
	size_t ptlen = ctlen - 16;
	uint8_t auth_key[16], tag[16], want[16];
	/* Copied first: out may equal ct and overwrite it. */
	memcpy(tag, ct + ptlen, 16);
	int rc = derive_keys(ctx, nonce, auth_key);
	if (rc == SOTTO_OK)
		rc = ctr_xor(ctx, out, ct, ptlen, tag);
	if (rc == SOTTO_OK)
		rc = compute_tag(ctx, want, auth_key, nonce, aad, aadlen, out, ptlen);
	sotto_memzero(auth_key, sizeof(auth_key));
	if (rc != SOTTO_OK) {
		if (ptlen > 0)
			sotto_memzero(out, ptlen);
		return rc;
	}
	/* Neither the comparison nor the wiping of a forged message's
	 * plaintext branches on the tag: the verdict only becomes a branch in
	 * the caller, on the return value. */
	int ok = sotto_memeq(want, tag, 16);
	uint8_t keep = (uint8_t)(0u - (unsigned)ok);
	for (size_t i = 0; i < ptlen; i++)
		out[i] &= keep;
	sotto_memzero(want, sizeof(want));
	return SOTTO_ERR_INVALID_MESSAGE * (1 - ok);
}

int sotto_aes_gcm_siv_seal(uint8_t *out, const uint8_t *key, size_t keylen, const uint8_t nonce[12],
			   const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen)
{
	if (key == NULL || (keylen != 16 && keylen != 32))
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_aes_gcm_siv_ctx *ctx = sotto_aes_gcm_siv_ctx_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = sotto_aes_gcm_siv_ctx_setkey(ctx, key, keylen);
	if (rc == SOTTO_OK)
		rc = sotto_aes_gcm_siv_ctx_seal(ctx, out, nonce, aad, aadlen, pt, ptlen);
	sotto_aes_gcm_siv_ctx_free(ctx);
	return rc;
}

int sotto_aes_gcm_siv_open(uint8_t *out, const uint8_t *key, size_t keylen, const uint8_t nonce[12],
			   const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen)
{
	if (key == NULL || (keylen != 16 && keylen != 32))
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_aes_gcm_siv_ctx *ctx = sotto_aes_gcm_siv_ctx_new();
	if (ctx == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = sotto_aes_gcm_siv_ctx_setkey(ctx, key, keylen);
	if (rc == SOTTO_OK)
		rc = sotto_aes_gcm_siv_ctx_open(ctx, out, nonce, aad, aadlen, ct, ctlen);
	sotto_aes_gcm_siv_ctx_free(ctx);
	return rc;
}
