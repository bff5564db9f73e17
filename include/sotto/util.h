/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#ifndef SOTTO_UTIL_H
#define SOTTO_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Initialises the backends (libsodium). Safe to call more than once and from
 * several threads; every other call does it itself when needed, but calling it
 * first moves the one-time cost out of the first operation. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_init(void);

/* Overwrites len bytes with zeros in a way the compiler cannot elide. */
SOTTO_EXPORT void sotto_memzero(void *p, size_t len);

/* Constant-time equality: 1 if the two buffers are equal, 0 otherwise. The
 * time depends only on len. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_memeq(const void *a, const void *b, size_t len);

/* Fills buf with len bytes from the operating system's CSPRNG. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_random(uint8_t *buf, size_t len);

/* A caller-supplied source of randomness, so that sans-I/O layers can be
 * driven deterministically in tests. Must fill buf completely or return a
 * negative error. */
typedef int (*sotto_rng_fn)(void *ctx, uint8_t *buf, size_t len);

/* The default sotto_rng_fn (ctx ignored): sotto_random. */
SOTTO_EXPORT int sotto_rng_system(void *ctx, uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
