/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include "server/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"

#define PROBES 8

int sotto_rl_init(sotto_ratelimit *rl, double rate, double burst, size_t size)
{
	size_t n = 64;
	while (n < size)
		n <<= 1;
	memset(rl, 0, sizeof(*rl));
	rl->slots = calloc(n, sizeof(*rl->slots));
	if (rl->slots == NULL)
		return SOTTO_ERR_NOMEM;
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl->slots);
		return SOTTO_ERR_INTERNAL;
	}
	rl->size = n;
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	return 0;
}

void sotto_rl_destroy(sotto_ratelimit *rl)
{
	if (rl->slots == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	rl->slots = NULL;
}

/* FNV-1a: the keys are not attacker-chosen in a way that matters (a collision
 * only shares a probe window). */
static size_t hash(const uint8_t *k, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= k[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 29));
}

uint32_t sotto_rl_take(sotto_ratelimit *rl, const uint8_t *key, size_t keylen, uint64_t now_ms)
{
	if (keylen > SOTTO_RL_KEY_MAX)
		keylen = SOTTO_RL_KEY_MAX;
	size_t h = hash(key, keylen), mask = rl->size - 1;
	uint32_t wait = 0;

	pthread_mutex_lock(&rl->lock);
	sotto_rl_entry *e = NULL, *oldest = NULL;
	for (size_t i = 0; i < PROBES; i++) {
		sotto_rl_entry *s = &rl->slots[(h + i) & mask];
		if (s->keylen == keylen && memcmp(s->key, key, keylen) == 0) {
			e = s;
			break;
		}
		if (oldest == NULL || s->keylen == 0 ||
			(oldest->keylen != 0 && s->last_ms < oldest->last_ms))
			oldest = s;
	}
	if (e == NULL) {
		e = oldest;
		memcpy(e->key, key, keylen);
		e->keylen = (uint8_t)keylen;
		e->tokens = rl->burst;
		e->last_ms = now_ms;
	}
	if (now_ms > e->last_ms) {
		e->tokens += (double)(now_ms - e->last_ms) * rl->rate / 1000.0;
		if (e->tokens > rl->burst)
			e->tokens = rl->burst;
		e->last_ms = now_ms;
	}
	if (e->tokens >= 1.0) {
		e->tokens -= 1.0;
	} else {
		double ms = (1.0 - e->tokens) * 1000.0 / rl->rate;
		wait = ms < 1.0 ? 1 : (ms > 3600000.0 ? 3600000u : (uint32_t)ms + 1);
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}
