/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Helpers shared by the key-transparency sources. */
#ifndef SOTTO_KT_INTERNAL_H
#define SOTTO_KT_INTERNAL_H

#include <stdint.h>


/* The largest power of two strictly less than n (RFC 9162's k); n >= 2. */
static inline uint64_t sotto__kt_split(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static inline int sotto__kt_ctz(uint64_t x)
{
	return __builtin_ctzll(x);
}

#endif
