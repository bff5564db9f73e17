/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal helpers shared by the sender-key, sealed-sender and fingerprint
 * code. */
#ifndef SOTTO_PROTOCOL_GROUP_INTERNAL_H
#define SOTTO_PROTOCOL_GROUP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#ifndef SOTTO_HIDDEN
#define SOTTO_HIDDEN __attribute__((visibility("hidden")))
#endif

#define SOTTO__PUB33 33

/* 1 if s[0..len) is valid UTF-8 (what prost demands of proto string fields). */
SOTTO_HIDDEN int sotto__utf8_valid(const uint8_t *s, size_t len);

/* Generates an X25519 key pair through the caller's RNG: the private key is
 * 32 random bytes, clamped. pub33 gets 0x05 || u. */
SOTTO_HIDDEN int sotto__keypair_rng(uint8_t pub33[33], uint8_t priv[32],
				    int (*rng)(void *, uint8_t *, size_t), void *rng_ctx);

/* XEdDSA signature with the 64 random bytes drawn from the caller's RNG. */
SOTTO_HIDDEN int sotto__sign_rng(uint8_t sig[64], const uint8_t priv[32], const uint8_t *msg,
				 size_t msglen, int (*rng)(void *, uint8_t *, size_t),
				 void *rng_ctx);

/* Verifies an XEdDSA signature under a 33-byte public key (type 0x05). 0 if
 * valid, SOTTO_ERR_INVALID_SIGNATURE otherwise (also on a bad key type or a
 * signature that is not 64 bytes). */
SOTTO_HIDDEN int sotto__verify33(const uint8_t pub33[33], const uint8_t *msg, size_t msglen,
				 const uint8_t *sig, size_t siglen);

/* Length of a protobuf varint encoding of v. */
SOTTO_HIDDEN size_t sotto__varint_len(uint64_t v);
/* Writes v as a varint at p, returns the number of bytes written. */
SOTTO_HIDDEN size_t sotto__varint_put(uint8_t *p, uint64_t v);

#endif
