/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal to src/noise: the CipherState and the hash functions of the Noise
 * spec (revision 34, §4.2, §4.3, §5.1). */
#ifndef SOTTO_NOISE_INTERNAL_H
#define SOTTO_NOISE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/hash.h"
#include "sotto/noise.h"

#define SOTTO_NOISE_HIDDEN __attribute__((visibility("hidden")))

enum sotto__noise_cipher_alg {
	SOTTO__NOISE_CHACHAPOLY = 1,
	SOTTO__NOISE_AESGCM = 2,
};

enum sotto__noise_hash_alg {
	SOTTO__NOISE_SHA256 = 1,
	SOTTO__NOISE_SHA512 = 2,
	SOTTO__NOISE_BLAKE2B = 3,
};

/* CipherState (§5.1): k is "empty" while has_key is 0. */
struct sotto__noise_cs {
	int alg;
	int has_key;
	uint8_t k[32];
	uint64_t n;
};

struct sotto_noise_cipher {
	struct sotto__noise_cs cs;
};

/* EncryptWithAd: writes ptlen + 16 bytes with a key, ptlen bytes (a copy)
 * without. Fails on nonce exhaustion (n == 2^64 - 1 is reserved). */
SOTTO_NOISE_HIDDEN int sotto__noise_cs_encrypt(struct sotto__noise_cs *cs, const uint8_t *ad,
					       size_t adlen, const uint8_t *pt, size_t ptlen,
					       uint8_t *out, size_t *outlen);
/* DecryptWithAd: with a key, ctlen >= 16 and ctlen - 16 bytes written; the
 * nonce advances only on success. Without a key, a copy. */
SOTTO_NOISE_HIDDEN int sotto__noise_cs_decrypt(struct sotto__noise_cs *cs, const uint8_t *ad,
					       size_t adlen, const uint8_t *ct, size_t ctlen,
					       uint8_t *out, size_t *outlen);
SOTTO_NOISE_HIDDEN void sotto__noise_cs_init(struct sotto__noise_cs *cs, int alg,
					     const uint8_t *key);

/* HASHLEN: 32 or 64. */
SOTTO_NOISE_HIDDEN size_t sotto__noise_hashlen(int hash);
/* HASH() over the concatenation of parts. */
SOTTO_NOISE_HIDDEN int sotto__noise_hash(int hash, uint8_t *out, const sotto_iov *parts,
					 size_t n);
/* HKDF(chaining_key, input_key_material, num_outputs) of §4.3, with HMAC
 * (RFC 2104) over HASH. o3 may be NULL for two outputs. Each output is
 * HASHLEN bytes; ck is HASHLEN bytes. */
SOTTO_NOISE_HIDDEN int sotto__noise_hkdf(int hash, const uint8_t *ck, const uint8_t *ikm,
					 size_t ikmlen, uint8_t *o1, uint8_t *o2, uint8_t *o3);

#endif
