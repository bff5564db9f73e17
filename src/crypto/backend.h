/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Internal: the OpenSSL algorithm objects, fetched once per process. Explicit
 * fetching avoids the implicit provider look-up that OpenSSL 3 does on every
 * EVP_get_digestbyname-style call, which costs more than hashing 32 bytes. */
#ifndef SOTTO_CRYPTO_BACKEND_H
#define SOTTO_CRYPTO_BACKEND_H

#include <openssl/evp.h>

#define SOTTO_HIDDEN __attribute__((visibility("hidden")))

enum sotto__md {
	SOTTO__MD_SHA256,
	SOTTO__MD_SHA512,
	SOTTO__MD_SHA3_256,
	SOTTO__MD_SHA3_512,
	SOTTO__MD_SHAKE128,
	SOTTO__MD_SHAKE256,
	SOTTO__MD_COUNT
};

enum sotto__cipher {
	SOTTO__AES_128_ECB,
	SOTTO__AES_192_ECB,
	SOTTO__AES_256_ECB,
	SOTTO__AES_128_CBC,
	SOTTO__AES_192_CBC,
	SOTTO__AES_256_CBC,
	SOTTO__AES_128_CTR,
	SOTTO__AES_192_CTR,
	SOTTO__AES_256_CTR,
	SOTTO__AES_128_GCM,
	SOTTO__AES_256_GCM,
	SOTTO__CIPHER_COUNT
};

/* Never NULL once sotto__backend_init succeeded. */
SOTTO_HIDDEN const EVP_MD *sotto__md(enum sotto__md which);
SOTTO_HIDDEN const EVP_CIPHER *sotto__cipher(enum sotto__cipher which);
/* 0 on success. Idempotent and thread-safe. */
SOTTO_HIDDEN int sotto__backend_init(void);

#endif
