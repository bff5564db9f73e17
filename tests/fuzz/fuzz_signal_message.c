/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Decodes arbitrary bytes as a SignalMessage and as a PreKeySignalMessage.
 * Whatever parses must re-encode, and the re-encoding must parse to the same
 * fields (the codec is a fixed point after one round); the MAC check must
 * handle any input. Sanitizers catch the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/protocol.h"

static const uint8_t key[32] = {7};
static const uint8_t ik1[33] = {5, 1}, ik2[33] = {5, 2};

static void same_signal(const sotto_signal_message *a, const sotto_signal_message *b)
{
	if (a->version != b->version || a->counter != b->counter ||
	    a->previous_counter != b->previous_counter ||
	    memcmp(a->ratchet_key, b->ratchet_key, 33) != 0 ||
	    a->ciphertext_len != b->ciphertext_len ||
	    (a->ciphertext_len && memcmp(a->ciphertext, b->ciphertext, a->ciphertext_len) != 0) ||
	    a->pq_ratchet_len != b->pq_ratchet_len ||
	    (a->pq_ratchet_len && memcmp(a->pq_ratchet, b->pq_ratchet, a->pq_ratchet_len) != 0) ||
	    (a->addresses == NULL) != (b->addresses == NULL) ||
	    a->addresses_len != b->addresses_len ||
	    (a->addresses_len && memcmp(a->addresses, b->addresses, a->addresses_len) != 0))
		abort();
}

static void fuzz_signal(const uint8_t *data, size_t size)
{
	sotto_signal_message m, m2;
	uint8_t *buf;
	size_t need = 0, n;
	int rc = sotto_signal_message_verify_mac(data, size, key, ik1, ik2);

	if (rc != 0 && rc != SOTTO_ERR_INVALID_MESSAGE)
		abort();
	if (sotto_signal_message_parse(&m, data, size) != 0)
		return;
	if (sotto_signal_message_encode(NULL, 0, &need, &m, key, ik1, ik2) !=
	    SOTTO_ERR_BUFFER_TOO_SMALL)
		abort();
	buf = malloc(need);
	if (buf == NULL)
		abort();
	if (sotto_signal_message_encode(buf, need, &n, &m, key, ik1, ik2) != 0 || n != need)
		abort();
	if (sotto_signal_message_verify_mac(buf, n, key, ik1, ik2) != 0)
		abort();
	if (sotto_signal_message_parse(&m2, buf, n) != 0)
		abort();
	same_signal(&m, &m2);
	sotto_signal_message_clear(&m2);
	sotto_signal_message_clear(&m);
	free(buf);
}

static void fuzz_prekey(const uint8_t *data, size_t size)
{
	sotto_prekey_signal_message p, p2;
	uint8_t *buf;
	size_t need = 0, n;

	if (sotto_prekey_signal_message_parse(&p, data, size) != 0)
		return;
	if (sotto_prekey_signal_message_encode(NULL, 0, &need, &p) != SOTTO_ERR_BUFFER_TOO_SMALL)
		abort();
	buf = malloc(need);
	if (buf == NULL)
		abort();
	if (sotto_prekey_signal_message_encode(buf, need, &n, &p) != 0 || n != need)
		abort();
	if (sotto_prekey_signal_message_parse(&p2, buf, n) != 0)
		abort();
	if (p.version != p2.version || p.registration_id != p2.registration_id ||
	    p.has_pre_key_id != p2.has_pre_key_id || p.pre_key_id != p2.pre_key_id ||
	    p.signed_pre_key_id != p2.signed_pre_key_id || p.has_kyber != p2.has_kyber ||
	    p.kyber_pre_key_id != p2.kyber_pre_key_id ||
	    p.kyber_ciphertext_len != p2.kyber_ciphertext_len ||
	    memcmp(p.base_key, p2.base_key, 33) != 0 ||
	    memcmp(p.identity_key, p2.identity_key, 33) != 0 || p.message_len != p2.message_len ||
	    memcmp(p.message, p2.message, p.message_len) != 0)
		abort();
	same_signal(&p.inner, &p2.inner);
	sotto_prekey_signal_message_clear(&p2);
	sotto_prekey_signal_message_clear(&p);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_signal(data, size);
	fuzz_prekey(data, size);
	return 0;
}
