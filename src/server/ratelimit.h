/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Token buckets keyed by short byte strings (a source address, an account and
 * device id), in a fixed-size table shared by all worker threads. A full
 * table evicts the least recently used entry of a probe window: an evicted
 * key starts again with a full bucket, so the table size bounds memory, not
 * correctness for the keys in active use. */
#ifndef SOTTO_SERVER_RATELIMIT_H
#define SOTTO_SERVER_RATELIMIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SOTTO_RL_KEY_MAX 20

typedef struct sotto_rl_entry {
	uint8_t key[SOTTO_RL_KEY_MAX];
	uint8_t keylen; /* 0: empty slot */
	double tokens;
	uint64_t last_ms;
} sotto_rl_entry;

typedef struct sotto_ratelimit {
	pthread_mutex_t lock;
	double rate, burst;
	size_t size; /* power of two */
	sotto_rl_entry *slots;
} sotto_ratelimit;

int sotto_rl_init(sotto_ratelimit *rl, double rate, double burst, size_t size);
void sotto_rl_destroy(sotto_ratelimit *rl);
/* Takes one token for key at now_ms. Returns 0 when allowed; otherwise the
 * milliseconds until a token is available (>= 1). */
uint32_t sotto_rl_take(sotto_ratelimit *rl, const uint8_t *key, size_t keylen, uint64_t now_ms);

#endif
