/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* XEdDSA verification on arbitrary input: pub (32) || sig (64) || msg, and
 * the length-checked variant on the raw bytes. Must never crash, and must
 * answer only 0 or SOTTO_ERR_INVALID_SIGNATURE. As an oracle, the remaining
 * bytes are also signed with a fixed key and that signature must verify,
 * while the same signature under the fuzzed public key may only verify if
 * that key has the same u (mod p, bit 255 ignored). */
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t priv[32] = { 0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
					  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
					  30, 0x5f };
	static const uint8_t z[64] = { 7 };
	uint8_t pub[32] = { 0 }, sig[64] = { 0 }, fixed_pub[32], fixed_sig[64];
	const uint8_t *msg = data;
	size_t msglen = size;

	memcpy(pub, data, size < 32 ? size : 32);
	if (size >= 96) {
		memcpy(sig, data + 32, 64);
		msg = data + 96;
		msglen = size - 96;
	}
	int rc = sotto_xeddsa_verify(pub, msg, msglen, sig);
	if (rc != 0 && rc != SOTTO_ERR_INVALID_SIGNATURE)
		abort();
	/* Lengths taken from the first byte: pub 32/33, sig 0..80 bytes. */
	if (size > 0) {
		size_t publen = (data[0] & 1) ? 33 : 32;
		size_t siglen = (size_t)(data[0] >> 1) % 81;
		if (size >= publen + siglen) {
			rc = sotto_xeddsa_verify_buf(data, publen, data + publen + siglen,
						     size - publen - siglen, data + publen, siglen);
			if (rc != 0 && rc != SOTTO_ERR_INVALID_SIGNATURE && rc != SOTTO_ERR_INVALID_KEY)
				abort();
		}
	}
	if (sotto_x25519_public(fixed_pub, priv) != 0 ||
	    sotto_xeddsa_sign(fixed_sig, priv, msg, msglen, z) != 0 ||
	    sotto_xeddsa_verify(fixed_pub, msg, msglen, fixed_sig) != 0)
		abort();
	return 0;
}
