/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include "protocol/group_internal.h"

#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/util.h"

int sotto__utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return 0;
		i += n + 1;
	}
	return 1;
}

int sotto__keypair_rng(uint8_t pub33[33], uint8_t priv[32], int (*rng)(void *, uint8_t *, size_t),
		       void *rng_ctx)
{
	int rc = rng(rng_ctx, priv, 32);
	if (rc != 0)
		return rc < 0 ? rc : SOTTO_ERR_CRYPTO;
	sotto_x25519_clamp(priv);
	pub33[0] = 0x05;
	rc = sotto_x25519_public(pub33 + 1, priv);
	if (rc != 0)
		sotto_memzero(priv, 32);
	return rc;
}

int sotto__sign_rng(uint8_t sig[64], const uint8_t priv[32], const uint8_t *msg, size_t msglen,
		    int (*rng)(void *, uint8_t *, size_t), void *rng_ctx)
{
	uint8_t z[SOTTO_XEDDSA_RANDOM_BYTES];
	int rc = rng(rng_ctx, z, sizeof z);
	if (rc != 0)
		return rc < 0 ? rc : SOTTO_ERR_CRYPTO;
	rc = sotto_xeddsa_sign(sig, priv, msg, msglen, z);
	sotto_memzero(z, sizeof z);
	return rc;
}

int sotto__verify33(const uint8_t pub33[33], const uint8_t *msg, size_t msglen, const uint8_t *sig,
		    size_t siglen)
{
	if (pub33[0] != 0x05 || siglen != SOTTO_XEDDSA_SIG_BYTES)
		return SOTTO_ERR_INVALID_SIGNATURE;
	return sotto_xeddsa_verify(pub33 + 1, msg, msglen, sig) == 0 ? 0
								      : SOTTO_ERR_INVALID_SIGNATURE;
}

size_t sotto__varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t sotto__varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}
