/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Request path of sottod without the network: the decrypted stream is cut
 * into length-prefixed messages by the wire reader (fed in uneven pieces),
 * each message is decoded as a Request and checked by the same validator the
 * server runs before any handler. Dispatch against a store is covered by
 * tests/server/test_net.c; here the decoder and validator must never crash,
 * leak or accept a request that breaks the protocol's size rules. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire/wire.h"

static void check_accepted(const Sotto__Service__Request *r)
{
	/* Spot checks of what the validator promises the handlers. */
	if (r->body_case == SOTTO__SERVICE__REQUEST__BODY_SEND) {
		if (r->send->destination.len != SOTTO_WIRE_ID_BYTES || r->send->n_envelopes == 0 ||
			r->send->n_envelopes > SOTTO_WIRE_MAX_DEVICE_ID)
			abort();
		for (size_t i = 0; i < r->send->n_envelopes; i++)
			if (r->send->envelopes[i]->content.len == 0 ||
				r->send->envelopes[i]->device_id == 0 ||
				r->send->envelopes[i]->device_id > SOTTO_WIRE_MAX_DEVICE_ID)
				abort();
	} else if (r->body_case == SOTTO__SERVICE__REQUEST__BODY_REGISTER_ACCOUNT) {
		if (r->register_account->identity_key.len != SOTTO_WIRE_EC_KEY_BYTES)
			abort();
	} else if (r->body_case == SOTTO__SERVICE__REQUEST__BODY_UPLOAD_PREKEYS) {
		const Sotto__Service__UploadPrekeysRequest *q = r->upload_prekeys;
		for (size_t i = 0; i < q->n_kem_prekeys; i++)
			if (q->kem_prekeys[i]->public_key.len != SOTTO_WIRE_KEM_KEY_BYTES)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sotto_wire_reader rd;
	sotto__wire_reader_init(&rd, 0, 1u << 20);
	sotto_wire_limits lim = {SOTTO_WIRE_DEFAULT_MAX_ENVELOPE, 1u << 20};
	size_t off = 0, step = 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		size_t used;
		const uint8_t *m;
		size_t mlen;
		int rc = sotto__wire_reader_feed(&rd, data + off, n, &used, &m, &mlen);
		if (rc < 0)
			break;
		if (used > n)
			abort();
		off += used;
		step = step * 3 + 1; /* uneven pieces exercise partial headers */
		if (rc == 1) {
			Sotto__Service__Request *r = sotto__wire_request_decode(m, mlen);
			if (r != NULL) {
				const char *why;
				if (sotto__wire_request_check(r, &lim, &why) ==
					SOTTO__SERVICE__STATUS__OK)
					check_accepted(r);
				else if (why == NULL)
					abort();
				protobuf_c_message_free_unpacked(&r->base, NULL);
			}
		}
	}
	sotto__wire_reader_clear(&rd);
	return 0;
}
