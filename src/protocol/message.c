/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* SignalMessage and PreKeySignalMessage codecs (facts 3.2-3.4).
 *
 * protobuf-c writes the fields of a message in its descriptor order, which
 * protoc-c sorts by field number: that is libsignal's (prost's) ascending
 * order, so the generated packer produces libsignal's bytes as long as the
 * presence flags are set the way libsignal sets its Options. The unit and
 * interop tests re-encode libsignal messages and compare byte for byte. */
#include <string.h>

#include "protocol/session_internal.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"
#include "wire.pb-c.h"

/* Byte 0: (message version << 4) | current ciphertext version (4). */
#define CIPHERTEXT_VERSION 4

/* libsignal: high nibble < 3 is a legacy version, > 4 unrecognized; the low
 * nibble is ignored. */
static int check_version_byte(uint8_t b)
{
	uint8_t v = (uint8_t)(b >> 4);

	return (v < 3 || v > SOTTO_SESSION_VERSION) ? SOTTO_ERR_INVALID_MESSAGE : 0;
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData b;

	b.data = (uint8_t *)(uintptr_t)p; /* only read by the packer */
	b.len = n;
	return b;
}

void sotto_signal_message_clear(sotto_signal_message *m)
{
	if (m == NULL)
		return;
	if (m->internal_ != NULL)
		sotto__wire__signal_message__free_unpacked(m->internal_, NULL);
	memset(m, 0, sizeof(*m));
}

int sotto_signal_message_parse(sotto_signal_message *m, const uint8_t *in, size_t inlen)
{
	Sotto__Wire__SignalMessage *pb;

	if (m == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(m, 0, sizeof(*m));
	if (in == NULL || inlen < 1 + SOTTO_SIGNAL_MAC_BYTES || inlen > SOTTO_MAX_MESSAGE_BYTES)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (check_version_byte(in[0]) != 0)
		return SOTTO_ERR_INVALID_MESSAGE;
	pb = sotto__wire__signal_message__unpack(NULL, inlen - 1 - SOTTO_SIGNAL_MAC_BYTES, in + 1);
	if (pb == NULL)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (!pb->has_ratchet_key || !pb->has_counter || !pb->has_ciphertext ||
	    sotto_ec_public_decode(m->ratchet_key, pb->ratchet_key.data, pb->ratchet_key.len) != 0) {
		sotto__wire__signal_message__free_unpacked(pb, NULL);
		memset(m, 0, sizeof(*m));
		return SOTTO_ERR_INVALID_MESSAGE;
	}
	m->version = (uint8_t)(in[0] >> 4);
	m->counter = pb->counter;
	m->previous_counter = pb->has_previous_counter ? pb->previous_counter : 0;
	m->ciphertext = pb->ciphertext.data;
	m->ciphertext_len = pb->ciphertext.len;
	if (pb->has_pq_ratchet) {
		/* An empty field still counts as present for the SPQR layer;
		 * point at the MAC so the pointer is non-NULL. */
		m->pq_ratchet = pb->pq_ratchet.len ? pb->pq_ratchet.data : in + inlen - 8;
		m->pq_ratchet_len = pb->pq_ratchet.len;
	}
	if (pb->has_addresses) {
		m->addresses = pb->addresses.len ? pb->addresses.data : in + inlen - 8;
		m->addresses_len = pb->addresses.len;
	}
	memcpy(m->mac, in + inlen - SOTTO_SIGNAL_MAC_BYTES, SOTTO_SIGNAL_MAC_BYTES);
	m->internal_ = pb;
	return 0;
}

static int compute_mac(sotto_hmac_sha256_ctx *h, uint8_t mac[SOTTO_SIGNAL_MAC_BYTES],
		       const uint8_t mac_key[32], const uint8_t sender[SOTTO_EC_PUBLIC_BYTES],
		       const uint8_t receiver[SOTTO_EC_PUBLIC_BYTES], const uint8_t *body,
		       size_t bodylen)
{
	uint8_t full[SOTTO_HMAC_SHA256_BYTES];
	sotto_iov parts[3];
	int rc;

	if (h != NULL) {
		rc = sotto_hmac_sha256_setkey(h, mac_key, 32);
		if (rc == 0)
			rc = sotto_hmac_sha256_update(h, sender, SOTTO_EC_PUBLIC_BYTES);
		if (rc == 0)
			rc = sotto_hmac_sha256_update(h, receiver, SOTTO_EC_PUBLIC_BYTES);
		if (rc == 0)
			rc = sotto_hmac_sha256_update(h, body, bodylen);
		if (rc == 0)
			rc = sotto_hmac_sha256_final(h, full);
		if (rc == 0)
			memcpy(mac, full, SOTTO_SIGNAL_MAC_BYTES);
		sotto_memzero(full, sizeof(full));
		return rc;
	}

	/* facts 3.3: sender identity first, then receiver, then byte0 ||
	 * protobuf. */
	parts[0].base = sender;
	parts[0].len = SOTTO_EC_PUBLIC_BYTES;
	parts[1].base = receiver;
	parts[1].len = SOTTO_EC_PUBLIC_BYTES;
	parts[2].base = body;
	parts[2].len = bodylen;
	rc = sotto_hmac_sha256_v(full, mac_key, 32, parts, 3);
	if (rc == 0)
		memcpy(mac, full, SOTTO_SIGNAL_MAC_BYTES);
	sotto_memzero(full, sizeof(full));
	return rc;
}

int sotto_signal_message_encode(uint8_t *out, size_t outcap, size_t *outlen,
				const sotto_signal_message *m, const uint8_t mac_key[32],
				const uint8_t sender_identity[SOTTO_EC_PUBLIC_BYTES],
				const uint8_t receiver_identity[SOTTO_EC_PUBLIC_BYTES])
{
	return sotto__signal_message_encode_h(NULL, out, outcap, outlen, m, mac_key,
					      sender_identity, receiver_identity);
}

int sotto__signal_message_encode_h(sotto_hmac_sha256_ctx *h, uint8_t *out, size_t outcap,
				   size_t *outlen, const sotto_signal_message *m,
				   const uint8_t mac_key[32],
				   const uint8_t sender_identity[SOTTO_EC_PUBLIC_BYTES],
				   const uint8_t receiver_identity[SOTTO_EC_PUBLIC_BYTES])
{
	Sotto__Wire__SignalMessage pb = SOTTO__WIRE__SIGNAL_MESSAGE__INIT;
	size_t body, need;
	int rc;

	if (outlen == NULL || m == NULL || mac_key == NULL || sender_identity == NULL ||
	    receiver_identity == NULL || m->version > 15 ||
	    (m->ciphertext == NULL && m->ciphertext_len != 0) ||
	    (m->pq_ratchet == NULL && m->pq_ratchet_len != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (m->ratchet_key[0] != SOTTO_EC_KEY_TYPE)
		return SOTTO_ERR_INVALID_KEY;
	/* libsignal sets every Option except pq_ratchet (left out when empty)
	 * and addresses (only in PreKey messages). */
	pb.has_ratchet_key = 1;
	pb.ratchet_key = bin(m->ratchet_key, SOTTO_EC_PUBLIC_BYTES);
	pb.has_counter = 1;
	pb.counter = m->counter;
	pb.has_previous_counter = 1;
	pb.previous_counter = m->previous_counter;
	pb.has_ciphertext = 1;
	pb.ciphertext = bin(m->ciphertext, m->ciphertext_len);
	if (m->pq_ratchet_len != 0) {
		pb.has_pq_ratchet = 1;
		pb.pq_ratchet = bin(m->pq_ratchet, m->pq_ratchet_len);
	}
	if (m->addresses != NULL) {
		pb.has_addresses = 1;
		pb.addresses = bin(m->addresses, m->addresses_len);
	}
	body = sotto__wire__signal_message__get_packed_size(&pb);
	need = 1 + body + SOTTO_SIGNAL_MAC_BYTES;
	*outlen = need;
	if (out == NULL || outcap < need)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	out[0] = (uint8_t)((m->version << 4) | CIPHERTEXT_VERSION);
	if (sotto__wire__signal_message__pack(&pb, out + 1) != body)
		return SOTTO_ERR_INTERNAL;
	rc = compute_mac(h, out + 1 + body, mac_key, sender_identity, receiver_identity, out,
			 1 + body);
	if (rc != 0)
		sotto_memzero(out, need);
	return rc;
}

int sotto_signal_message_verify_mac(const uint8_t *in, size_t inlen, const uint8_t mac_key[32],
				    const uint8_t sender_identity[SOTTO_EC_PUBLIC_BYTES],
				    const uint8_t receiver_identity[SOTTO_EC_PUBLIC_BYTES])
{
	return sotto__signal_message_verify_mac_h(NULL, in, inlen, mac_key, sender_identity,
						  receiver_identity);
}

int sotto__signal_message_verify_mac_h(sotto_hmac_sha256_ctx *h, const uint8_t *in, size_t inlen,
				       const uint8_t mac_key[32],
				       const uint8_t sender_identity[SOTTO_EC_PUBLIC_BYTES],
				       const uint8_t receiver_identity[SOTTO_EC_PUBLIC_BYTES])
{
	uint8_t mac[SOTTO_SIGNAL_MAC_BYTES];
	int rc;

	if (mac_key == NULL || sender_identity == NULL || receiver_identity == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (in == NULL || inlen < 1 + SOTTO_SIGNAL_MAC_BYTES)
		return SOTTO_ERR_INVALID_MESSAGE;
	rc = compute_mac(h, mac, mac_key, sender_identity, receiver_identity, in,
			 inlen - SOTTO_SIGNAL_MAC_BYTES);
	if (rc == 0 && !sotto_memeq(mac, in + inlen - SOTTO_SIGNAL_MAC_BYTES, sizeof(mac)))
		rc = SOTTO_ERR_INVALID_MESSAGE;
	sotto_memzero(mac, sizeof(mac));
	return rc;
}

/* ---- addresses (facts 3.3, 9) ------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ServiceIdFixed: kind (0 ACI, 1 PNI) || 16-byte UUID from a ServiceId
 * string: the hyphenated UUID (8-4-4-4-12) for an ACI, "PNI:" + UUID for a
 * PNI. */
static int service_id_fixed(uint8_t out[17], const char *name)
{
	size_t i, o = 0;

	if (name == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (strncmp(name, "PNI:", 4) == 0) {
		out[0] = 1;
		name += 4;
	} else {
		out[0] = 0;
	}
	if (strlen(name) != 36)
		return SOTTO_ERR_INVALID_ARGUMENT;
	for (i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (name[i] != '-')
				return SOTTO_ERR_INVALID_ARGUMENT;
			i++;
			continue;
		}
		hi = hexval(name[i]);
		lo = hexval(name[i + 1]);
		if (hi < 0 || lo < 0)
			return SOTTO_ERR_INVALID_ARGUMENT;
		out[1 + o++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return o == 16 ? 0 : SOTTO_ERR_INVALID_ARGUMENT;
}

int sotto_addresses_build(uint8_t out[SOTTO_ADDRESSES_BYTES], const char *sender_name,
			  uint32_t sender_device, const char *recipient_name,
			  uint32_t recipient_device)
{
	if (out == NULL || sender_device < 1 || sender_device > 127 || recipient_device < 1 ||
	    recipient_device > 127)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (service_id_fixed(out, sender_name) != 0 ||
	    service_id_fixed(out + 18, recipient_name) != 0) {
		memset(out, 0, SOTTO_ADDRESSES_BYTES);
		return SOTTO_ERR_INVALID_ARGUMENT;
	}
	out[17] = (uint8_t)sender_device;
	out[35] = (uint8_t)recipient_device;
	return 0;
}

/* ---- PreKeySignalMessage ----------------------------------------------- */

void sotto_prekey_signal_message_clear(sotto_prekey_signal_message *m)
{
	if (m == NULL)
		return;
	sotto_signal_message_clear(&m->inner);
	if (m->internal_ != NULL)
		sotto__wire__pre_key_signal_message__free_unpacked(m->internal_, NULL);
	memset(m, 0, sizeof(*m));
}

int sotto_prekey_signal_message_parse(sotto_prekey_signal_message *m, const uint8_t *in,
				      size_t inlen)
{
	Sotto__Wire__PreKeySignalMessage *pb;
	int rc = SOTTO_ERR_INVALID_MESSAGE;

	if (m == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(m, 0, sizeof(*m));
	if (in == NULL || inlen < 1 || inlen > SOTTO_MAX_MESSAGE_BYTES)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (check_version_byte(in[0]) != 0)
		return SOTTO_ERR_INVALID_MESSAGE;
	pb = sotto__wire__pre_key_signal_message__unpack(NULL, inlen - 1, in + 1);
	if (pb == NULL)
		return SOTTO_ERR_INVALID_MESSAGE;
	m->internal_ = pb;
	m->version = (uint8_t)(in[0] >> 4);
	if (!pb->has_base_key || !pb->has_identity_key || !pb->has_message ||
	    !pb->has_signed_pre_key_id)
		goto fail;
	if (sotto_ec_public_decode(m->base_key, pb->base_key.data, pb->base_key.len) != 0 ||
	    sotto_ec_public_decode(m->identity_key, pb->identity_key.data, pb->identity_key.len) != 0)
		goto fail;
	/* Kyber id and ciphertext come together; a message without them is
	 * only well-formed as version 3 (rejected later by PQXDH). */
	if (pb->has_kyber_pre_key_id != pb->has_kyber_ciphertext)
		goto fail;
	if (!pb->has_kyber_pre_key_id && m->version != 3)
		goto fail;
	m->registration_id = pb->has_registration_id ? pb->registration_id : 0;
	m->has_pre_key_id = pb->has_pre_key_id ? 1 : 0;
	m->pre_key_id = pb->has_pre_key_id ? pb->pre_key_id : 0;
	m->signed_pre_key_id = pb->signed_pre_key_id;
	if (pb->has_kyber_pre_key_id) {
		m->has_kyber = 1;
		m->kyber_pre_key_id = pb->kyber_pre_key_id;
		m->kyber_ciphertext = pb->kyber_ciphertext.data;
		m->kyber_ciphertext_len = pb->kyber_ciphertext.len;
	}
	m->message = pb->message.data;
	m->message_len = pb->message.len;
	rc = sotto_signal_message_parse(&m->inner, pb->message.data, pb->message.len);
	if (rc == SOTTO_ERR_NOMEM)
		goto fail;
	if (rc != 0) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto fail;
	}
	return 0;
fail:
	sotto_prekey_signal_message_clear(m);
	return rc;
}

int sotto_prekey_signal_message_encode(uint8_t *out, size_t outcap, size_t *outlen,
				       const sotto_prekey_signal_message *m)
{
	Sotto__Wire__PreKeySignalMessage pb = SOTTO__WIRE__PRE_KEY_SIGNAL_MESSAGE__INIT;
	size_t body, need;

	if (outlen == NULL || m == NULL || m->version > 15 || m->message == NULL ||
	    (m->has_kyber && m->kyber_ciphertext == NULL && m->kyber_ciphertext_len != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (m->base_key[0] != SOTTO_EC_KEY_TYPE || m->identity_key[0] != SOTTO_EC_KEY_TYPE)
		return SOTTO_ERR_INVALID_KEY;
	pb.has_registration_id = 1;
	pb.registration_id = m->registration_id;
	if (m->has_pre_key_id) {
		pb.has_pre_key_id = 1;
		pb.pre_key_id = m->pre_key_id;
	}
	pb.has_signed_pre_key_id = 1;
	pb.signed_pre_key_id = m->signed_pre_key_id;
	if (m->has_kyber) {
		pb.has_kyber_pre_key_id = 1;
		pb.kyber_pre_key_id = m->kyber_pre_key_id;
		pb.has_kyber_ciphertext = 1;
		pb.kyber_ciphertext = bin(m->kyber_ciphertext, m->kyber_ciphertext_len);
	}
	pb.has_base_key = 1;
	pb.base_key = bin(m->base_key, SOTTO_EC_PUBLIC_BYTES);
	pb.has_identity_key = 1;
	pb.identity_key = bin(m->identity_key, SOTTO_EC_PUBLIC_BYTES);
	pb.has_message = 1;
	pb.message = bin(m->message, m->message_len);
	body = sotto__wire__pre_key_signal_message__get_packed_size(&pb);
	need = 1 + body;
	*outlen = need;
	if (out == NULL || outcap < need)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	out[0] = (uint8_t)((m->version << 4) | CIPHERTEXT_VERSION);
	if (sotto__wire__pre_key_signal_message__pack(&pb, out + 1) != body)
		return SOTTO_ERR_INTERNAL;
	return 0;
}
