/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include <pthread.h>
#include <stdlib.h>
#include <sodium.h>

#include "backend.h"
#include "sotto/error.h"
#include "sotto/util.h"

static const char *const md_names[SOTTO__MD_COUNT] = {
	"SHA2-256", "SHA2-512", "SHA3-256", "SHA3-512", "SHAKE-128", "SHAKE-256",
};
static const char *const cipher_names[SOTTO__CIPHER_COUNT] = {
	"AES-128-ECB", "AES-192-ECB", "AES-256-ECB", "AES-128-CBC", "AES-192-CBC", "AES-256-CBC",
	"AES-128-CTR", "AES-192-CTR", "AES-256-CTR", "AES-128-GCM", "AES-256-GCM",
};

static EVP_MD *mds[SOTTO__MD_COUNT];
static EVP_CIPHER *ciphers[SOTTO__CIPHER_COUNT];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = SOTTO_ERR_INTERNAL;

static void backend_release(void)
{
	for (int i = 0; i < SOTTO__MD_COUNT; i++)
		EVP_MD_free(mds[i]);
	for (int i = 0; i < SOTTO__CIPHER_COUNT; i++)
		EVP_CIPHER_free(ciphers[i]);
}

static void backend_init_once(void)
{
	if (sodium_init() < 0)
		return;
	for (int i = 0; i < SOTTO__MD_COUNT; i++) {
		mds[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
		if (mds[i] == NULL)
			return;
	}
	for (int i = 0; i < SOTTO__CIPHER_COUNT; i++) {
		ciphers[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
		if (ciphers[i] == NULL)
			return;
	}
	/* Give the fetched objects back at exit so leak checkers see a clean
	 * process; OpenSSL itself cleans up after this runs. */
	atexit(backend_release);
	init_result = SOTTO_OK;
}

int sotto__backend_init(void)
{
	if (pthread_once(&init_once, backend_init_once) != 0)
		return SOTTO_ERR_INTERNAL;
	return init_result;
}

const EVP_MD *sotto__md(enum sotto__md which)
{
	if (sotto__backend_init() != SOTTO_OK)
		return NULL;
	return mds[which];
}

const EVP_CIPHER *sotto__cipher(enum sotto__cipher which)
{
	if (sotto__backend_init() != SOTTO_OK)
		return NULL;
	return ciphers[which];
}

int sotto_init(void)
{
	return sotto__backend_init();
}

void sotto_memzero(void *p, size_t len)
{
	sodium_memzero(p, len);
}

int sotto_memeq(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

int sotto_random(uint8_t *buf, size_t len)
{
	if (sotto__backend_init() != SOTTO_OK)
		return SOTTO_ERR_INTERNAL;
	randombytes_buf(buf, len);
	return SOTTO_OK;
}

int sotto_rng_system(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	return sotto_random(buf, len);
}
