/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Password hashing (Argon2id, RFC 9106, version 0x13) and guarded memory for
 * long-lived secrets. These wrap libsodium so that code outside src/crypto
 * never includes it. */
#ifndef SOTTO_PWHASH_H
#define SOTTO_PWHASH_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_PWHASH_SALT_BYTES 16
#define SOTTO_PWHASH_OUT_MIN 16
#define SOTTO_PWHASH_PASSWD_MAX 4096 /* our own ceiling, far below Argon2's */

/* libsodium's named cost levels for Argon2id (checked against it at build
 * time). Memory in bytes. */
#define SOTTO_PWHASH_OPSLIMIT_MIN 1ULL
#define SOTTO_PWHASH_MEMLIMIT_MIN 8192ULL
#define SOTTO_PWHASH_OPSLIMIT_INTERACTIVE 2ULL
#define SOTTO_PWHASH_MEMLIMIT_INTERACTIVE 67108864ULL /* 64 MiB */
#define SOTTO_PWHASH_OPSLIMIT_MODERATE 3ULL
#define SOTTO_PWHASH_MEMLIMIT_MODERATE 268435456ULL /* 256 MiB */
#define SOTTO_PWHASH_OPSLIMIT_SENSITIVE 4ULL
#define SOTTO_PWHASH_MEMLIMIT_SENSITIVE 1073741824ULL /* 1 GiB */

/* Argon2id13 (one lane, as libsodium runs it) of the passphrase into outlen
 * bytes. outlen >= 16, passlen <= SOTTO_PWHASH_PASSWD_MAX, opslimit >= 1 and
 * memlimit >= 8192 and within what libsodium accepts, else
 * SOTTO_ERR_INVALID_ARGUMENT (nothing derived). SOTTO_ERR_NOMEM when the
 * memory cannot be allocated. out is zeroed on failure. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_pwhash_argon2id(uint8_t *out, size_t outlen,
							 const char *pass, size_t passlen,
							 const uint8_t salt[SOTTO_PWHASH_SALT_BYTES],
							 uint64_t opslimit, uint64_t memlimit);

/* Guarded memory for secrets that live long (a store key): the block sits
 * just before a no-access guard page, is locked into RAM (no swapping) when
 * the system allows it, and is wiped by sotto_secure_free. NULL when out of
 * memory or len == 0. Far slower than malloc: for a few long-lived keys only. */
SOTTO_EXPORT void *sotto_secure_alloc(size_t len);
/* Wipes, unlocks and frees a block from sotto_secure_alloc (NULL is a no-op). */
SOTTO_EXPORT void sotto_secure_free(void *p);
/* Makes a block inaccessible (any access faults) until sotto_secure_readwrite,
 * so that a stray read elsewhere in the process cannot reach the key. Both
 * return 0 or SOTTO_ERR_CRYPTO. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_secure_noaccess(void *p);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_secure_readwrite(void *p);

#ifdef __cplusplus
}
#endif
#endif
