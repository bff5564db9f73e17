/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* AES-GCM-SIV open on arbitrary input under fixed keys, and seal/open round
 * trips of the input. Input: flags byte, aad length byte, 12-byte nonce, then
 * aad and ciphertext (or plaintext). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/polyval.h"
#include "sotto/aes.h"
#include "sotto/error.h"

static const uint8_t key[32] = {
	0x53, 0x6f, 0x74, 0x74, 0x6f, 0x20, 0x66, 0x75, 0x7a, 0x7a, 0x20, 0x6b, 0x65, 0x79, 0x21, 0x00,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
};

static int is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 14)
		return 0;
	uint8_t flags = data[0];
	size_t keylen = (flags & 1) ? 32 : 16;
	const uint8_t *nonce = data + 2;
	const uint8_t *rest = data + 14;
	size_t restlen = size - 14;
	size_t aadlen = data[1] < restlen ? data[1] : restlen;
	const uint8_t *aad = rest;
	const uint8_t *body = rest + aadlen;
	size_t bodylen = restlen - aadlen;
	/* One byte more than needed so the buffer is never zero-sized. */
	uint8_t *a = malloc(bodylen + 17), *b = malloc(bodylen + 17);
	if (a == NULL || b == NULL)
		abort();

	/* Open the input as a ciphertext: either a clean rejection that leaves
	 * only zeros, or (vanishingly unlikely) success; both POLYVAL paths
	 * must agree. */
	memset(a, 0xee, bodylen + 17);
	memset(b, 0xee, bodylen + 17);
	if (sotto__polyval_set_impl(SOTTO__POLYVAL_PORTABLE) != 0)
		abort();
	int r1 = sotto_aes_gcm_siv_open(a, key, keylen, nonce, aad, aadlen, body, bodylen);
	if (sotto__polyval_set_impl(SOTTO__POLYVAL_AUTO) != 0)
		abort();
	int r2 = sotto_aes_gcm_siv_open(b, key, keylen, nonce, aad, aadlen, body, bodylen);
	if (r1 != r2 || (r1 != 0 && r1 != SOTTO_ERR_INVALID_MESSAGE))
		abort();
	size_t outlen = bodylen >= 16 ? bodylen - 16 : 0;
	if (r1 == SOTTO_ERR_INVALID_MESSAGE && !is_zero(a, outlen))
		abort();
	if (memcmp(a, b, outlen) != 0)
		abort();

	/* Round trip: the body as plaintext, sealed in place and opened back. */
	memcpy(a, body, bodylen);
	if (sotto_aes_gcm_siv_seal(a, key, keylen, nonce, aad, aadlen, a, bodylen) != 0)
		abort();
	if (sotto_aes_gcm_siv_open(b, key, keylen, nonce, aad, aadlen, a, bodylen + 16) != 0 ||
	    memcmp(b, body, bodylen) != 0)
		abort();
	/* Any change to the sealed message is caught. */
	size_t pos = (size_t)flags % (bodylen + 16);
	a[pos] ^= (uint8_t)(1u << (flags >> 5));
	if (sotto_aes_gcm_siv_open(b, key, keylen, nonce, aad, aadlen, a, bodylen + 16) !=
		    SOTTO_ERR_INVALID_MESSAGE ||
	    !is_zero(b, bodylen))
		abort();
	free(a);
	free(b);
	return 0;
}
