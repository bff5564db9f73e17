/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The hash/MAC/KDF API beyond what the vectors reach: argument checks, the
 * reusable HMAC context's reset behaviour, multi-part equivalence. */
#include <string.h>

#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"
#include "testutil.h"

int main(void)
{
	uint8_t msg[300], key[100], a[64], b[64];
	uint64_t seed = 42;
	tu_randbytes(&seed, msg, sizeof(msg));
	tu_randbytes(&seed, key, sizeof(key));
	CHECK_RC(sotto_init(), SOTTO_OK);

	/* A keyed context gives the same MAC as the one-shot, message after
	 * message, and a key longer than the block is hashed first. */
	sotto_hmac_sha256_ctx *ctx = sotto_hmac_sha256_new();
	CHECK(ctx != NULL);
	CHECK_RC(sotto_hmac_sha256_update(ctx, msg, 1), SOTTO_ERR_INVALID_ARGUMENT); /* unkeyed */
	CHECK_RC(sotto_hmac_sha256_final(ctx, a), SOTTO_ERR_INVALID_ARGUMENT);
	for (size_t klen = 0; klen <= sizeof(key); klen += 25) {
		CHECK_RC(sotto_hmac_sha256_setkey(ctx, key, klen), SOTTO_OK);
		for (size_t mlen = 0; mlen <= sizeof(msg); mlen += 61) {
			CHECK_RC(sotto_hmac_sha256_update(ctx, msg, mlen), SOTTO_OK);
			CHECK_RC(sotto_hmac_sha256_final(ctx, a), SOTTO_OK);
			CHECK_RC(sotto_hmac_sha256(b, key, klen, msg, mlen), SOTTO_OK);
			CHECK_MEM(a, b, 32);
		}
	}
	/* Re-keying replaces the key completely. */
	CHECK_RC(sotto_hmac_sha256_setkey(ctx, key, 10), SOTTO_OK);
	CHECK_RC(sotto_hmac_sha256_setkey(ctx, key + 10, 10), SOTTO_OK);
	CHECK_RC(sotto_hmac_sha256_update(ctx, msg, 5), SOTTO_OK);
	CHECK_RC(sotto_hmac_sha256_final(ctx, a), SOTTO_OK);
	CHECK_RC(sotto_hmac_sha256(b, key + 10, 10, msg, 5), SOTTO_OK);
	CHECK_MEM(a, b, 32);
	CHECK_RC(sotto_hmac_sha256_setkey(ctx, NULL, 5), SOTTO_ERR_INVALID_ARGUMENT);
	sotto_hmac_sha256_free(ctx);
	sotto_hmac_sha256_free(NULL);

	/* Multi-part MAC and hashes equal the contiguous ones. */
	sotto_iov parts[3] = { { msg, 7 }, { msg + 7, 0 }, { msg + 7, 200 } };
	CHECK_RC(sotto_hmac_sha256_v(a, key, 32, parts, 3), SOTTO_OK);
	CHECK_RC(sotto_hmac_sha256(b, key, 32, msg, 207), SOTTO_OK);
	CHECK_MEM(a, b, 32);
	CHECK_RC(sotto_sha512_v(a, parts, 3), SOTTO_OK);
	CHECK_RC(sotto_sha512(b, msg, 207), SOTTO_OK);
	CHECK_MEM(a, b, 64);
	CHECK_RC(sotto_sha256_v(a, NULL, 1), SOTTO_ERR_INVALID_ARGUMENT);

	/* HKDF: empty and NULL salt are both HashLen zeros (RFC 5869 2.2), which
	 * libsignal relies on for its "no salt" derivations. */
	uint8_t zeros[32] = { 0 }, o1[80], o2[80], o3[80];
	CHECK_RC(sotto_hkdf_sha256(o1, 80, NULL, 0, key, 32, msg, 10), SOTTO_OK);
	CHECK_RC(sotto_hkdf_sha256(o2, 80, zeros, 32, key, 32, msg, 10), SOTTO_OK);
	CHECK_RC(sotto_hkdf_sha256(o3, 80, zeros, 0, key, 32, msg, 10), SOTTO_OK);
	CHECK_MEM(o1, o2, 80);
	CHECK_MEM(o1, o3, 80);
	/* A shorter output is a prefix of a longer one. */
	CHECK_RC(sotto_hkdf_sha256(o2, 33, NULL, 0, key, 32, msg, 10), SOTTO_OK);
	CHECK_MEM(o1, o2, 33);
	CHECK_RC(sotto_hkdf_sha256(o1, 0, NULL, 0, key, 32, NULL, 0), SOTTO_OK);
	CHECK_RC(sotto_hkdf_sha256(o1, 255 * 32 + 1, NULL, 0, key, 32, NULL, 0),
		 SOTTO_ERR_INVALID_ARGUMENT);

	/* Constant-time equality. */
	CHECK(sotto_memeq(msg, msg, sizeof(msg)) == 1);
	memcpy(a, msg, 64);
	a[63] ^= 0x80;
	CHECK(sotto_memeq(a, msg, 64) == 0);
	CHECK(sotto_memeq(a, msg, 0) == 1);

	/* Error strings exist for every code and map onto the driver's codes. */
	CHECK(strcmp(sotto_error_code_name(SOTTO_ERR_DUPLICATE_MESSAGE), "duplicate_message") == 0);
	CHECK(strcmp(sotto_error_code_name(SOTTO_ERR_NOMEM), "internal") == 0);
	CHECK(strcmp(sotto_strerror(12345), "unknown error") == 0);
	return tu_finish("unit-hash_api");
}
