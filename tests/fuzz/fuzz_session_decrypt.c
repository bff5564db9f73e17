/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Session decryption against a fixed session. A deterministic setup (all
 * randomness from a fixed-seed generator passed as sotto_rng_fn) builds a
 * session between Alice and Bob with in-memory stores: Alice processes Bob's
 * bundle, the first PreKey message is delivered, Bob replies, Alice reads the
 * reply. Bob's stores at that point (session record, prekeys, identities) are
 * kept, and every input is decrypted on a fresh copy of them, once as a
 * SignalMessage and once as a PreKeySignalMessage (Bob still holds a second
 * published bundle's prekeys, so a PreKey message can build a new session).
 * A failed decrypt must leave every store byte-for-byte unchanged
 * (sotto_protocol_memstore_dump); a successful one must not decrypt again.
 *
 * Built with FUZZ_SESSION_WRITE_SEEDS (by hand, see the corpus README line in
 * the commit), main() writes real messages of this setup as seeds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/session.h"
#include "sotto/util.h"

#define NOW 1767225600000ull

static uint64_t rng_state;

/* splitmix64: deterministic bytes for keys, PQXDH and ratchet steps. */
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

typedef struct party {
	sotto_address addr;
	sotto_identity_keypair id;
	uint32_t reg;
	sotto_protocol_memstore *ms;
	sotto_protocol_stores st;
} party;

static const char ALICE[] = "a11ce000-0000-4000-8000-000000000001";
static const char BOB[] = "b0b00000-0000-4000-8000-000000000002";

static party alice, bob;
/* Bob's keys, kept to rebuild his stores for every input. */
static sotto_prekey_record opk1, opk2;
static sotto_signed_prekey_record spk;
static sotto_kyber_prekey_record kpk;
static uint8_t *bob_record;
static size_t bob_record_len;
/* Real messages of the setup, not delivered to the kept state. */
static uint8_t seed_signal[4096], seed_prekey[4096];
static size_t seed_signal_len, seed_prekey_len;

static void party_new(party *p, const char *name)
{
	p->addr.name = name;
	p->addr.device_id = 1;
	MUST(sotto_identity_keypair_generate(&p->id, det_rng, NULL));
	MUST(sotto_registration_id_generate(&p->reg, det_rng, NULL));
	p->ms = sotto_protocol_memstore_new(&p->id, p->reg);
	if (p->ms == NULL)
		abort();
	sotto_protocol_memstore_tables(p->ms, &p->st);
}

static void bundle_of(sotto_prekey_bundle *b, const sotto_prekey_record *opk)
{
	memset(b, 0, sizeof(*b));
	b->registration_id = bob.reg;
	b->device_id = 1;
	b->has_pre_key = 1;
	b->pre_key_id = opk->id;
	memcpy(b->pre_key, opk->key.pub, 33);
	b->signed_pre_key_id = spk.id;
	memcpy(b->signed_pre_key, spk.key.pub, 33);
	memcpy(b->signed_pre_key_signature, spk.signature, 64);
	memcpy(b->identity_key, bob.id.pub, 33);
	b->kyber_pre_key_id = kpk.id;
	memcpy(b->kyber_pre_key, kpk.pub, sizeof b->kyber_pre_key);
	memcpy(b->kyber_pre_key_signature, kpk.signature, 64);
}

static void send(party *from, party *to, const char *text, uint8_t *out, size_t cap, size_t *len,
		 int *type)
{
	MUST(sotto_session_encrypt(&from->st, &from->addr, &to->addr, (const uint8_t *)text,
				   strlen(text), NOW, det_rng, NULL, out, cap, len, type));
}

static void recv_ok(party *to, party *from, const uint8_t *ct, size_t len, int type)
{
	uint8_t pt[4096];
	size_t n;
	MUST(sotto_session_decrypt(&to->st, &to->addr, &from->addr, type, ct, len, det_rng, NULL, pt,
				   sizeof pt, &n));
}

static void setup(void)
{
	sotto_prekey_bundle b;
	uint8_t ct[4096];
	size_t len, l2;
	int type;

	rng_state = 0x5077051ull;
	party_new(&alice, ALICE);
	party_new(&bob, BOB);
	MUST(sotto_prekey_generate(&opk1, 11, det_rng, NULL));
	MUST(sotto_prekey_generate(&opk2, 12, det_rng, NULL));
	MUST(sotto_signed_prekey_generate(&spk, 21, NOW, &bob.id, det_rng, NULL));
	MUST(sotto_kyber_prekey_generate(&kpk, 31, NOW, &bob.id, det_rng, NULL));
	MUST(bob.st.prekey.store(bob.st.prekey.ctx, &opk1));
	MUST(bob.st.prekey.store(bob.st.prekey.ctx, &opk2));
	MUST(bob.st.signed_prekey.store(bob.st.signed_prekey.ctx, &spk));
	MUST(bob.st.kyber_prekey.store(bob.st.kyber_prekey.ctx, &kpk));

	bundle_of(&b, &opk1);
	MUST(sotto_session_process_bundle(&alice.st, &alice.addr, &bob.addr, &b, NOW, det_rng, NULL));
	send(&alice, &bob, "first", ct, sizeof ct, &len, &type);
	if (type != 3)
		abort();
	recv_ok(&bob, &alice, ct, len, type);
	send(&bob, &alice, "reply", ct, sizeof ct, &len, &type);
	recv_ok(&alice, &bob, ct, len, type);
	/* A SignalMessage Bob has not read yet (it turns his ratchet). */
	send(&alice, &bob, "second", seed_signal, sizeof seed_signal, &seed_signal_len, &type);
	if (type != 2)
		abort();
	/* Bob's state now: kept as the record every input starts from. */
	MUST(bob.st.session.load(bob.st.session.ctx, &alice.addr, ct, 0, &l2) !=
	     SOTTO_ERR_BUFFER_TOO_SMALL);
	bob_record = malloc(l2);
	if (bob_record == NULL)
		abort();
	MUST(bob.st.session.load(bob.st.session.ctx, &alice.addr, bob_record, l2, &bob_record_len));

	/* A PreKey message of a second session built from opk2 (a new device
	 * state of Alice with the same identity). */
	{
		party a2 = alice;
		a2.ms = sotto_protocol_memstore_new(&alice.id, alice.reg);
		if (a2.ms == NULL)
			abort();
		sotto_protocol_memstore_tables(a2.ms, &a2.st);
		bundle_of(&b, &opk2);
		MUST(sotto_session_process_bundle(&a2.st, &a2.addr, &bob.addr, &b, NOW, det_rng, NULL));
		send(&a2, &bob, "re-init", seed_prekey, sizeof seed_prekey, &seed_prekey_len, &type);
		if (type != 3)
			abort();
		sotto_protocol_memstore_free(a2.ms);
	}
}

/* Bob's stores as kept after the setup. */
static sotto_protocol_memstore *bob_fresh(sotto_protocol_stores *st)
{
	sotto_protocol_memstore *ms = sotto_protocol_memstore_new(&bob.id, bob.reg);
	if (ms == NULL)
		abort();
	sotto_protocol_memstore_tables(ms, st);
	MUST(sotto_protocol_memstore_set_identity(ms, ALICE, alice.id.pub));
	MUST(st->prekey.store(st->prekey.ctx, &opk2));
	MUST(st->signed_prekey.store(st->signed_prekey.ctx, &spk));
	MUST(st->kyber_prekey.store(st->kyber_prekey.ctx, &kpk));
	MUST(st->session.store(st->session.ctx, &alice.addr, bob_record, bob_record_len));
	return ms;
}

static void one(const uint8_t *data, size_t size, int type)
{
	sotto_protocol_stores st;
	sotto_protocol_memstore *ms = bob_fresh(&st);
	uint8_t *before, *after, *pt;
	size_t blen, alen, n = 0;
	int rc;

	MUST(sotto_protocol_memstore_dump(ms, &before, &blen));
	pt = malloc(size ? size : 1);
	if (pt == NULL)
		abort();
	rng_state = 0xdec0de;
	rc = sotto_session_decrypt(&st, &bob.addr, &alice.addr, type, size ? data : NULL, size,
				   det_rng, NULL, pt, size, &n);
	MUST(sotto_protocol_memstore_dump(ms, &after, &alen));
	if (rc != 0) {
		/* Transactional: nothing changed, nothing released. */
		if (blen != alen || memcmp(before, after, blen) != 0 || n != 0)
			abort();
	} else {
		/* Delivered once: the same bytes again are refused and change nothing. */
		uint8_t *again;
		size_t glen;
		if (n > size)
			abort();
		rc = sotto_session_decrypt(&st, &bob.addr, &alice.addr, type, data, size, det_rng,
					   NULL, pt, size, &n);
		if (rc == 0)
			abort();
		MUST(sotto_protocol_memstore_dump(ms, &again, &glen));
		if (glen != alen || memcmp(again, after, glen) != 0)
			abort();
		sotto_memzero(again, glen);
		free(again);
	}
	sotto_memzero(before, blen);
	sotto_memzero(after, alen);
	free(before);
	free(after);
	free(pt);
	sotto_protocol_memstore_free(ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (bob_record == NULL)
		setup();
	if (size > 65536)
		return 0;
	one(data, size, SOTTO_MESSAGE_TYPE_WHISPER);
	one(data, size, SOTTO_MESSAGE_TYPE_PREKEY);
	return 0;
}

#ifdef FUZZ_SESSION_WRITE_SEEDS
static void put(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[1024];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

int main(int argc, char **argv)
{
	if (argc != 2 || sotto_init() != 0)
		return 2;
	setup();
	put(argv[1], "signal_message", seed_signal, seed_signal_len);
	put(argv[1], "prekey_message", seed_prekey, seed_prekey_len);
	/* The inner SignalMessage of the PreKey message would not parse as a
	 * PreKey message: a truncated one and a bit-flipped one exercise the
	 * decoders and the MAC check. */
	put(argv[1], "prekey_truncated", seed_prekey, seed_prekey_len / 2);
	seed_signal[seed_signal_len - 1] ^= 1;
	put(argv[1], "signal_bad_mac", seed_signal, seed_signal_len);
	return 0;
}
#endif
