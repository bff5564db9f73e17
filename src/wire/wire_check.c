/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Request validation: everything that can be checked without the store. */
#include <string.h>

#include "wire/wire.h"

/* The protocol's sizes (the server's store uses the same; it checks them
 * with static assertions). */
#define SOTTO_STORE_ID_BYTES SOTTO_WIRE_ID_BYTES
#define SOTTO_STORE_EC_KEY_BYTES SOTTO_WIRE_EC_KEY_BYTES
#define SOTTO_STORE_KEM_KEY_BYTES SOTTO_WIRE_KEM_KEY_BYTES
#define SOTTO_STORE_SIG_BYTES SOTTO_WIRE_SIG_BYTES
#define SOTTO_STORE_NOISE_KEY_BYTES SOTTO_WIRE_NOISE_KEY_BYTES
#define SOTTO_STORE_DIGEST_BYTES SOTTO_WIRE_DIGEST_BYTES
#define SOTTO_STORE_MAX_DEVICE_ID SOTTO_WIRE_MAX_DEVICE_ID
#define SOTTO_STORE_MAX_DEVICE_NAME SOTTO_WIRE_MAX_DEVICE_NAME
#define SOTTO_STORE_MAX_PREKEY_UPLOAD SOTTO_WIRE_MAX_PREKEY_UPLOAD
#define SOTTO_STORE_MAX_ACK SOTTO_WIRE_MAX_ACK

#define BAD(msg)                                                   \
	do {                                                      \
		*why = (msg);                                     \
		return SOTTO__SERVICE__STATUS__BAD_REQUEST;       \
	} while (0)
#define BIG(msg)                                                   \
	do {                                                      \
		*why = (msg);                                     \
		return SOTTO__SERVICE__STATUS__TOO_LARGE;         \
	} while (0)

/* Signal registration ids are 14 bits and never 0. */
static int reg_id_ok(uint32_t id)
{
	return id >= 1 && id <= 0x3FFF;
}

static int ec_key_ok(const ProtobufCBinaryData *b)
{
	return b->len == SOTTO_STORE_EC_KEY_BYTES && b->data[0] == 0x05;
}

static int kem_key_ok(const ProtobufCBinaryData *b)
{
	return b->len == SOTTO_STORE_KEM_KEY_BYTES && b->data[0] == 0x08;
}

static int id_ok(const ProtobufCBinaryData *b)
{
	return b->len == SOTTO_STORE_ID_BYTES;
}

static int device_ok(uint32_t d)
{
	return d >= 1 && d <= SOTTO_STORE_MAX_DEVICE_ID;
}

static Sotto__Service__Status check_kem(const Sotto__Service__KemPrekey *k, const char **why)
{
	if (k == NULL || !kem_key_ok(&k->public_key) || k->signature.len != SOTTO_STORE_SIG_BYTES)
		BAD("KEM prekeys need a 1569-byte 0x08 key and a 64-byte signature");
	return SOTTO__SERVICE__STATUS__OK;
}

Sotto__Service__Status sotto__wire_request_check(const Sotto__Service__Request *r,
	const sotto_wire_limits *lim, const char **why)
{
	*why = NULL;
	switch (r->body_case) {
	case SOTTO__SERVICE__REQUEST__BODY_PING:
		if (r->ping == NULL || r->ping->data.len > 1024)
			BIG("ping data over 1024 bytes");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_REGISTER_ACCOUNT: {
		const Sotto__Service__RegisterRequest *q = r->register_account;
		if (q == NULL || !reg_id_ok(q->registration_id))
			BAD("registration id must be 1..16383");
		if (!ec_key_ok(&q->identity_key))
			BAD("identity key must be 33 bytes starting with 0x05");
		if (q->name.len > SOTTO_STORE_MAX_DEVICE_NAME)
			BIG("device name over 256 bytes");
		if (q->invite_code.len > 64)
			BAD("invite code too long");
		if (q->username.len > 64)
			BAD("name too long");
		break;
	}
	case SOTTO__SERVICE__REQUEST__BODY_AUTHENTICATE:
	case SOTTO__SERVICE__REQUEST__BODY_PREKEY_COUNT:
	case SOTTO__SERVICE__REQUEST__BODY_SENDER_CERTIFICATE:
		break;
	case SOTTO__SERVICE__REQUEST__BODY_LINK_DEVICE: {
		const Sotto__Service__LinkDeviceRequest *q = r->link_device;
		if (q == NULL || q->noise_key.len != SOTTO_STORE_NOISE_KEY_BYTES)
			BAD("noise key must be 32 bytes");
		if (!reg_id_ok(q->registration_id))
			BAD("registration id must be 1..16383");
		if (!ec_key_ok(&q->identity_key))
			BAD("identity key must be 33 bytes starting with 0x05");
		if (q->name.len > SOTTO_STORE_MAX_DEVICE_NAME)
			BIG("device name over 256 bytes");
		if (q->provisioning.len > SOTTO_WIRE_MAX_PROVISIONING)
			BIG("provisioning message over 64 KiB");
		break;
	}
	case SOTTO__SERVICE__REQUEST__BODY_UNLINK_DEVICE:
		if (r->unlink_device == NULL || !device_ok(r->unlink_device->device_id))
			BAD("device id must be 1..127");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_DEVICE_LIST:
		if (r->device_list == NULL ||
			(r->device_list->account_id.len != 0 && !id_ok(&r->device_list->account_id)))
			BAD("account id must be 16 bytes or empty");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_UPLOAD_PREKEYS: {
		const Sotto__Service__UploadPrekeysRequest *q = r->upload_prekeys;
		if (q == NULL)
			BAD("empty upload");
		if (q->n_ec_prekeys > SOTTO_STORE_MAX_PREKEY_UPLOAD ||
			q->n_kem_prekeys > SOTTO_STORE_MAX_PREKEY_UPLOAD)
			BIG("at most 1000 prekeys of each kind per upload");
		for (size_t i = 0; i < q->n_ec_prekeys; i++) {
			if (!ec_key_ok(&q->ec_prekeys[i]->public_key))
				BAD("EC prekeys must be 33 bytes starting with 0x05");
			for (size_t j = 0; j < i; j++)
				if (q->ec_prekeys[j]->id == q->ec_prekeys[i]->id)
					BAD("duplicate EC prekey id");
		}
		for (size_t i = 0; i < q->n_kem_prekeys; i++) {
			if (check_kem(q->kem_prekeys[i], why) != SOTTO__SERVICE__STATUS__OK)
				return SOTTO__SERVICE__STATUS__BAD_REQUEST;
			for (size_t j = 0; j < i; j++)
				if (q->kem_prekeys[j]->id == q->kem_prekeys[i]->id)
					BAD("duplicate KEM prekey id");
		}
		if (q->signed_prekey != NULL && (!ec_key_ok(&q->signed_prekey->public_key) ||
			q->signed_prekey->signature.len != SOTTO_STORE_SIG_BYTES))
			BAD("signed prekey needs a 33-byte key and a 64-byte signature");
		if (q->last_resort_kem != NULL &&
			check_kem(q->last_resort_kem, why) != SOTTO__SERVICE__STATUS__OK)
			return SOTTO__SERVICE__STATUS__BAD_REQUEST;
		if (q->n_ec_prekeys == 0 && q->n_kem_prekeys == 0 && q->signed_prekey == NULL &&
			q->last_resort_kem == NULL)
			BAD("empty upload");
		break;
	}
	case SOTTO__SERVICE__REQUEST__BODY_FETCH_BUNDLES:
		if (r->fetch_bundles == NULL || !id_ok(&r->fetch_bundles->account_id))
			BAD("account id must be 16 bytes");
		if (r->fetch_bundles->device_id > SOTTO_STORE_MAX_DEVICE_ID)
			BAD("device id must be 0..127");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_SEND: {
		const Sotto__Service__SendRequest *q = r->send;
		if (q == NULL || !id_ok(&q->destination))
			BAD("destination must be a 16-byte account id");
		if (q->n_envelopes == 0)
			BAD("no envelopes");
		if (q->n_envelopes > SOTTO_STORE_MAX_DEVICE_ID)
			BIG("at most 127 envelopes per send");
		for (size_t i = 0; i < q->n_envelopes; i++) {
			const Sotto__Service__OutgoingEnvelope *e = q->envelopes[i];
			if (!device_ok(e->device_id))
				BAD("device id must be 1..127");
			if (e->registration_id > 0x3FFF)
				BAD("registration id must be 0..16383");
			if (e->content.len == 0)
				BAD("empty envelope");
			if (e->content.len > lim->max_envelope)
				BIG("envelope over the size limit");
			for (size_t j = 0; j < i; j++)
				if (q->envelopes[j]->device_id == e->device_id)
					BAD("two envelopes for one device");
		}
		break;
	}
	case SOTTO__SERVICE__REQUEST__BODY_SEND_MULTI: {
		const Sotto__Service__SendMultiRequest *q = r->send_multi;
		if (q == NULL || q->message.len == 0)
			BAD("empty message");
		if (q->message.len > lim->max_envelope)
			BIG("message over the size limit");
		if (q->n_recipients == 0)
			BAD("no recipients");
		if (q->n_recipients > 1000)
			BIG("at most 1000 recipients");
		for (size_t i = 0; i < q->n_recipients; i++)
			if (!id_ok(&q->recipients[i]))
				BAD("recipients are 16-byte account ids");
		break;
	}
	case SOTTO__SERVICE__REQUEST__BODY_RECEIVE:
		if (r->receive == NULL)
			BAD("empty receive");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_ACK:
		if (r->ack == NULL || r->ack->n_seqs == 0)
			BAD("no sequence numbers");
		if (r->ack->n_seqs > SOTTO_STORE_MAX_ACK)
			BIG("at most 10000 sequence numbers per ack");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_CREATE:
		if (r->attachment_create == NULL || r->attachment_create->size == 0 ||
			r->attachment_create->digest.len != SOTTO_STORE_DIGEST_BYTES)
			BAD("attachments need a size and a 32-byte SHA-256 digest");
		if (r->attachment_create->size > lim->max_attachment)
			BIG("attachment over the size limit");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_UPLOAD:
		if (r->attachment_upload == NULL || !id_ok(&r->attachment_upload->attachment_id))
			BAD("attachment id must be 16 bytes");
		if (r->attachment_upload->data.len == 0)
			BAD("empty chunk");
		if (r->attachment_upload->data.len > SOTTO_WIRE_MAX_CHUNK)
			BIG("chunk over 256 KiB");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_DOWNLOAD:
		if (r->attachment_download == NULL ||
			!id_ok(&r->attachment_download->attachment_id))
			BAD("attachment id must be 16 bytes");
		if (r->attachment_download->length > SOTTO_WIRE_MAX_CHUNK)
			BIG("chunk over 256 KiB");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_LOOKUP_NAME:
		if (r->lookup_name == NULL || r->lookup_name->name.len > 64)
			BAD("name too long");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_ACCOUNT_NAME:
		if (r->account_name == NULL || !id_ok(&r->account_name->account_id))
			BAD("account id must be 16 bytes");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_KT_HEAD:
		break;
	case SOTTO__SERVICE__REQUEST__BODY_KT_INCLUSION:
		if (r->kt_inclusion == NULL ||
			(r->kt_inclusion->account_id.len != 0 && !id_ok(&r->kt_inclusion->account_id)))
			BAD("account id must be empty or 16 bytes");
		if (r->kt_inclusion->account_id.len != 0 &&
			(r->kt_inclusion->device_id < 1 || r->kt_inclusion->device_id > 127))
			BAD("device id must be 1..127");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_KT_CONSISTENCY:
		if (r->kt_consistency == NULL || r->kt_consistency->from_size == 0 ||
			(r->kt_consistency->to_size != 0 &&
				r->kt_consistency->from_size > r->kt_consistency->to_size))
			BAD("need 1 <= from_size <= to_size (to_size 0: latest)");
		break;
	case SOTTO__SERVICE__REQUEST__BODY_KT_LEAVES:
		if (r->kt_leaves == NULL || r->kt_leaves->max < 1 || r->kt_leaves->max > 1024)
			BAD("max must be 1..1024");
		break;
	default:
		BAD("unknown request");
	}
	return SOTTO__SERVICE__STATUS__OK;
}
