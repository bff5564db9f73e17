/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Bundle processing (sotto_session_process_bundle) with arbitrary key and
 * signature bytes. The input overwrites a real bundle of Bob's field by field
 * (after a flags byte), so short inputs change the ids and EC keys and longer
 * ones reach the signatures and the Kyber key:
 *   flags u8 || registration_id BE32 || pre_key_id BE32 || pre_key 33 ||
 *   signed_pre_key_id BE32 || signed_pre_key 33 || signature 64 ||
 *   identity_key 33 || kyber_pre_key_id BE32 || kyber_pre_key 1569 ||
 *   kyber signature 64
 * flags: bit 0 drops the one-time prekey; bit 1 / bit 2 re-sign the (fuzzed)
 * signed prekey / Kyber prekey with the identity key, so that PQXDH itself
 * runs on arbitrary key bytes; bit 3 keeps the real identity key.
 * A failed call must leave Alice's stores byte-for-byte unchanged; a
 * successful one must give her a session that encrypts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/session.h"
#include "sotto/util.h"

#define NOW 1767225600000ull

static uint64_t rng_state;

static int det_rng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++) {
		if (i % 8 == 0)
			rng_state += 0x9e3779b97f4a7c15ull;
		uint64_t z = rng_state;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		buf[i] = (uint8_t)(z >> (8 * (i % 8)));
	}
	return 0;
}

#define MUST(x)                  \
	do {                     \
		if ((x) != 0)    \
			abort(); \
	} while (0)

static const sotto_address ALICE = {"a11ce000-0000-4000-8000-000000000001", 1};
static const sotto_address BOB = {"b0b00000-0000-4000-8000-000000000002", 1};

static sotto_identity_keypair alice_id, bob_id;
static uint32_t alice_reg;
static sotto_prekey_bundle real;
static int ready;

static void setup(void)
{
	sotto_prekey_record opk;
	sotto_signed_prekey_record spk;
	sotto_kyber_prekey_record *kpk = calloc(1, sizeof(*kpk));

	if (kpk == NULL)
		abort();
	rng_state = 0xb0d1e;
	MUST(sotto_identity_keypair_generate(&alice_id, det_rng, NULL));
	MUST(sotto_registration_id_generate(&alice_reg, det_rng, NULL));
	MUST(sotto_identity_keypair_generate(&bob_id, det_rng, NULL));
	MUST(sotto_prekey_generate(&opk, 7, det_rng, NULL));
	MUST(sotto_signed_prekey_generate(&spk, 8, NOW, &bob_id, det_rng, NULL));
	MUST(sotto_kyber_prekey_generate(kpk, 9, NOW, &bob_id, det_rng, NULL));
	real.registration_id = 77;
	real.device_id = 1;
	real.has_pre_key = 1;
	real.pre_key_id = opk.id;
	memcpy(real.pre_key, opk.key.pub, 33);
	real.signed_pre_key_id = spk.id;
	memcpy(real.signed_pre_key, spk.key.pub, 33);
	memcpy(real.signed_pre_key_signature, spk.signature, 64);
	memcpy(real.identity_key, bob_id.pub, 33);
	real.kyber_pre_key_id = kpk->id;
	memcpy(real.kyber_pre_key, kpk->pub, sizeof real.kyber_pre_key);
	memcpy(real.kyber_pre_key_signature, kpk->signature, 64);
	sotto_memzero(kpk, sizeof(*kpk));
	free(kpk);
	ready = 1;
}

/* Overwrites the next field from the input while bytes remain. */
typedef struct rd {
	const uint8_t *p;
	size_t n;
} rd;

static void take(rd *r, uint8_t *dst, size_t len)
{
	size_t k = r->n < len ? r->n : len;
	memcpy(dst, r->p, k);
	r->p += k;
	r->n -= k;
}

static void take32(rd *r, uint32_t *v)
{
	uint8_t b[4] = {(uint8_t)(*v >> 24), (uint8_t)(*v >> 16), (uint8_t)(*v >> 8), (uint8_t)*v};
	take(r, b, 4);
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sotto_prekey_bundle b;
	sotto_protocol_memstore *ms;
	sotto_protocol_stores st;
	uint8_t *before, *after, flags = 0;
	size_t blen, alen;
	rd r = {data, size};
	int rc;

	if (!ready)
		setup();
	memcpy(&b, &real, sizeof b);
	take(&r, &flags, 1);
	take32(&r, &b.registration_id);
	take32(&r, &b.pre_key_id);
	take(&r, b.pre_key, 33);
	take32(&r, &b.signed_pre_key_id);
	take(&r, b.signed_pre_key, 33);
	take(&r, b.signed_pre_key_signature, 64);
	take(&r, b.identity_key, 33);
	take32(&r, &b.kyber_pre_key_id);
	take(&r, b.kyber_pre_key, sizeof b.kyber_pre_key);
	take(&r, b.kyber_pre_key_signature, 64);
	if (flags & 1)
		b.has_pre_key = 0;
	if (flags & 8)
		memcpy(b.identity_key, bob_id.pub, 33);
	rng_state = 0x5e1;
	if (flags & 2)
		MUST(sotto_identity_sign(b.signed_pre_key_signature, &bob_id, b.signed_pre_key, 33,
					 det_rng, NULL));
	if (flags & 4)
		MUST(sotto_identity_sign(b.kyber_pre_key_signature, &bob_id, b.kyber_pre_key,
					 sizeof b.kyber_pre_key, det_rng, NULL));

	ms = sotto_protocol_memstore_new(&alice_id, alice_reg);
	if (ms == NULL)
		abort();
	sotto_protocol_memstore_tables(ms, &st);
	MUST(sotto_protocol_memstore_dump(ms, &before, &blen));
	rc = sotto_session_process_bundle(&st, &ALICE, &BOB, &b, NOW, det_rng, NULL);
	MUST(sotto_protocol_memstore_dump(ms, &after, &alen));
	if (rc != 0) {
		if (blen != alen || memcmp(before, after, blen) != 0)
			abort();
		/* Only the documented errors. */
		if (rc != SOTTO_ERR_INVALID_SIGNATURE && rc != SOTTO_ERR_INVALID_KEY &&
		    rc != SOTTO_ERR_UNTRUSTED_IDENTITY && rc != SOTTO_ERR_INVALID_ARGUMENT)
			abort();
	} else {
		uint8_t ct[4096];
		size_t n;
		int type, has = 0;
		MUST(sotto_session_has_current(&st, &BOB, NOW, &has));
		if (!has)
			abort();
		MUST(sotto_session_encrypt(&st, &ALICE, &BOB, (const uint8_t *)"x", 1, NOW, det_rng,
					   NULL, ct, sizeof ct, &n, &type));
		if (type != SOTTO_MESSAGE_TYPE_PREKEY)
			abort();
	}
	sotto_memzero(before, blen);
	sotto_memzero(after, alen);
	free(before);
	free(after);
	sotto_protocol_memstore_free(ms);
	return 0;
}
