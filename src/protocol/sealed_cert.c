/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed sender certificates and the USMC (signal-protocol-facts.md §7.1,
 * §7.4), with libsignal's parsing rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/group_internal.h"
#include "sealed_sender.pb-c.h"
#include "sotto/error.h"
#include "sotto/sealed.h"

/* libsignal's built-in server certificates that a sender certificate may
 * reference by id instead of embedding them (public data). */
static const struct {
	uint32_t id;
	const char *hex;
} known_server_certs[] = {
	{2, "0a25080212210539450d63ebd0752c0fd4038b9d07a916f5e174b756d409b5ca79f4c97400631e12"
	    "4064c5a38b1e927497d3d4786b101a623ab34a7da3954fae126b04dba9d7a3604ed88cdc8550950f"
	    "0d4a9134ceb7e19b94139151d2c3d6e1c81e9d1128aafca806"},
	{3, "0a250803122105bc9d1d290be964810dfa7e94856480a3f7060d004c9762c24c575a1522353a5a12"
	    "40c11ec3c401eb0107ab38f8600e8720a63169e0e2eb8a3fae24f63099f85ea319c3c1c46d345470"
	    "6ae2a679d1fee690a488adda98a2290b66c906bb60295ed781"},
	{0x7357C357, "0a2908d786df9a07122105847c0d2c375234f365e660955187a3735a0f7613d1609d3a6a4d"
		     "8c53aeaa5a221240e0b9ebacdfc3aa2827f7924b697784d1c25e44ca05dd433e1a38dc6382"
		     "eb2730d419ca9a250b1be9d5a9463e61efd6781777a91b83c97b844d014206e2829785"},
};

/* A parsed ServerCertificate; the byte slices point into pb. */
typedef struct server_cert {
	Sotto__Sealed__ServerCertificate *pb;
	uint32_t id;
	uint8_t key[33];
} server_cert;

struct sotto_sender_cert {
	Sotto__Sealed__SenderCertificate *pb;
	Sotto__Sealed__SenderCertificateData *inner;
	char *uuid;
	size_t uuid_len;
	char *e164;
	size_t e164_len;
	uint32_t device;
	uint64_t expires;
	uint8_t identity_key[33];
	int signer_embedded;
	uint32_t signer_ref;
	server_cert signer;
	uint8_t *serialized;
	size_t serialized_len;
};

struct sotto_usmc {
	Sotto__Sealed__UnidentifiedSenderMessageContent *pb;
	sotto_sender_cert *sender;
	int type;
	uint32_t hint;
	uint8_t *serialized;
	size_t serialized_len;
};

static void server_cert_clear(server_cert *s)
{
	if (s->pb != NULL)
		sotto__sealed__server_certificate__free_unpacked(s->pb, NULL);
	memset(s, 0, sizeof(*s));
}

/* ServerCertificate::deserialize: both fields and both inner fields present,
 * the key a valid public key. */
static int server_cert_parse(server_cert *s, const uint8_t *buf, size_t len)
{
	static const uint8_t empty[1] = {0};
	memset(s, 0, sizeof(*s));
	s->pb = sotto__sealed__server_certificate__unpack(NULL, len, buf ? buf : empty);
	if (s->pb == NULL)
		return SOTTO_ERR_INVALID_CERTIFICATE;
	int rc = SOTTO_ERR_INVALID_CERTIFICATE;
	if (!s->pb->has_certificate || !s->pb->has_signature)
		goto fail;
	Sotto__Sealed__ServerCertificateData *in =
		sotto__sealed__server_certificate_data__unpack(
			NULL, s->pb->certificate.len,
			s->pb->certificate.data ? s->pb->certificate.data : empty);
	if (in == NULL)
		goto fail;
	if (in->has_key && in->has_id && in->key.len >= 33 && in->key.data[0] == 0x05) {
		s->id = in->id;
		memcpy(s->key, in->key.data, 33);
		rc = 0;
	}
	sotto__sealed__server_certificate_data__free_unpacked(in, NULL);
	if (rc == 0)
		return 0;
fail:
	server_cert_clear(s);
	return rc;
}

static int server_cert_valid(const server_cert *s, const uint8_t root[33])
{
	if (s->id == SOTTO_SEALED_REVOKED_SERVER_CERT_ID)
		return 0;
	return sotto__verify33(root, s->pb->certificate.data, s->pb->certificate.len,
			       s->pb->signature.data, s->pb->signature.len) == 0;
}

static int cert_sign_pack(const uint8_t *inner, size_t inner_len, const uint8_t priv[32],
			  sotto_rng_fn rng, void *rng_ctx, uint8_t *out, size_t cap,
			  size_t *outlen)
{
	uint8_t sig[64];
	if (rng == NULL)
		rng = sotto_rng_system;
	int rc = sotto__sign_rng(sig, priv, inner, inner_len, rng, rng_ctx);
	if (rc != 0)
		return rc;
	/* Same layout for both certificate kinds: {1 certificate, 2 signature}. */
	Sotto__Sealed__ServerCertificate pb = SOTTO__SEALED__SERVER_CERTIFICATE__INIT;
	pb.has_certificate = 1;
	pb.certificate.data = (uint8_t *)(uintptr_t)inner;
	pb.certificate.len = inner_len;
	pb.has_signature = 1;
	pb.signature.data = sig;
	pb.signature.len = 64;
	size_t n = sotto__sealed__server_certificate__get_packed_size(&pb);
	if (n > cap)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	*outlen = sotto__sealed__server_certificate__pack(&pb, out);
	return 0;
}

int sotto_server_cert_create(uint32_t id, const uint8_t key[33], const uint8_t trust_root_priv[32],
			     sotto_rng_fn rng, void *rng_ctx, uint8_t *out, size_t cap,
			     size_t *outlen)
{
	if (key == NULL || trust_root_priv == NULL || out == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (key[0] != 0x05)
		return SOTTO_ERR_INVALID_KEY;
	Sotto__Sealed__ServerCertificateData in =
		SOTTO__SEALED__SERVER_CERTIFICATE_DATA__INIT;
	uint8_t buf[64];
	in.has_id = 1;
	in.id = id;
	in.has_key = 1;
	in.key.data = (uint8_t *)(uintptr_t)key;
	in.key.len = 33;
	size_t n = sotto__sealed__server_certificate_data__pack(&in, buf);
	return cert_sign_pack(buf, n, trust_root_priv, rng, rng_ctx, out, cap, outlen);
}

int sotto_server_cert_validate(const uint8_t *cert, size_t len, const uint8_t trust_root[33])
{
	if (cert == NULL || trust_root == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	server_cert s;
	int rc = server_cert_parse(&s, cert, len);
	if (rc != 0)
		return rc;
	rc = server_cert_valid(&s, trust_root) ? 0 : SOTTO_ERR_INVALID_CERTIFICATE;
	server_cert_clear(&s);
	return rc;
}

int sotto_sender_cert_create(const char *uuid, const char *e164, uint32_t device,
			     const uint8_t identity_key[33], uint64_t expires_ms,
			     const uint8_t *server_cert_bytes, size_t server_cert_len,
			     const uint8_t server_priv[32], sotto_rng_fn rng, void *rng_ctx,
			     uint8_t *out, size_t cap, size_t *outlen)
{
	if (uuid == NULL || identity_key == NULL || server_cert_bytes == NULL ||
	    server_priv == NULL || out == NULL || outlen == NULL || device < 1 || device > 127)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (identity_key[0] != 0x05)
		return SOTTO_ERR_INVALID_KEY;
	Sotto__Sealed__SenderCertificateData in;
	sotto__sealed__sender_certificate_data__init(&in);
	if (e164 != NULL) {
		in.has_sender_e164 = 1;
		in.sender_e164.data = (uint8_t *)(uintptr_t)e164;
		in.sender_e164.len = strlen(e164);
	}
	in.sender_uuid_case = SOTTO__SEALED__SENDER_CERTIFICATE_DATA__SENDER_UUID_UUID_STRING;
	in.uuid_string.data = (uint8_t *)(uintptr_t)uuid;
	in.uuid_string.len = strlen(uuid);
	in.has_sender_device = 1;
	in.sender_device = device;
	in.has_expires = 1;
	in.expires = expires_ms;
	in.has_identity_key = 1;
	in.identity_key.data = (uint8_t *)(uintptr_t)identity_key;
	in.identity_key.len = 33;
	in.signer_case = SOTTO__SEALED__SENDER_CERTIFICATE_DATA__SIGNER_CERTIFICATE;
	in.certificate.data = (uint8_t *)(uintptr_t)server_cert_bytes;
	in.certificate.len = server_cert_len;
	size_t n = sotto__sealed__sender_certificate_data__get_packed_size(&in);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL)
		return SOTTO_ERR_NOMEM;
	sotto__sealed__sender_certificate_data__pack(&in, buf);
	int rc = cert_sign_pack(buf, n, server_priv, rng, rng_ctx, out, cap, outlen);
	free(buf);
	return rc;
}

void sotto_sender_cert_free(sotto_sender_cert *c)
{
	if (c == NULL)
		return;
	if (c->inner != NULL)
		sotto__sealed__sender_certificate_data__free_unpacked(c->inner, NULL);
	if (c->pb != NULL)
		sotto__sealed__sender_certificate__free_unpacked(c->pb, NULL);
	server_cert_clear(&c->signer);
	free(c->uuid);
	free(c->e164);
	free(c->serialized);
	free(c);
}

static char *dup_str(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s != NULL) {
		if (n)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

int sotto_sender_cert_parse(const uint8_t *cert, size_t len, sotto_sender_cert **out)
{
	static const uint8_t empty[1] = {0};
	if ((cert == NULL && len) || out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	sotto_sender_cert *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = SOTTO_ERR_INVALID_CERTIFICATE;
	c->pb = sotto__sealed__sender_certificate__unpack(NULL, len, cert ? cert : empty);
	if (c->pb == NULL || !c->pb->has_certificate || !c->pb->has_signature)
		goto fail;
	c->inner = sotto__sealed__sender_certificate_data__unpack(
		NULL, c->pb->certificate.len, c->pb->certificate.data ? c->pb->certificate.data : empty);
	Sotto__Sealed__SenderCertificateData *in = c->inner;
	if (in == NULL || !in->has_sender_device || in->sender_device < 1 ||
	    in->sender_device > 127 || !in->has_expires || !in->has_identity_key ||
	    in->identity_key.len < 33 || in->identity_key.data[0] != 0x05)
		goto fail;
	c->device = in->sender_device;
	c->expires = in->expires;
	memcpy(c->identity_key, in->identity_key.data, 33);
	switch (in->signer_case) {
	case SOTTO__SEALED__SENDER_CERTIFICATE_DATA__SIGNER_CERTIFICATE:
		if (server_cert_parse(&c->signer, in->certificate.data, in->certificate.len) != 0)
			goto fail;
		c->signer_embedded = 1;
		break;
	case SOTTO__SEALED__SENDER_CERTIFICATE_DATA__SIGNER_ID:
		c->signer_ref = in->id;
		break;
	default:
		goto fail;
	}
	switch (in->sender_uuid_case) {
	case SOTTO__SEALED__SENDER_CERTIFICATE_DATA__SENDER_UUID_UUID_STRING:
		if (!sotto__utf8_valid(in->uuid_string.data, in->uuid_string.len))
			goto fail;
		c->uuid = dup_str(in->uuid_string.data, in->uuid_string.len);
		c->uuid_len = in->uuid_string.len;
		break;
	case SOTTO__SEALED__SENDER_CERTIFICATE_DATA__SENDER_UUID_UUID_BYTES: {
		if (in->uuid_bytes.len != 16)
			goto fail;
		const uint8_t *u = in->uuid_bytes.data;
		char tmp[37];
		snprintf(tmp, sizeof tmp,
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
			 u[12], u[13], u[14], u[15]);
		c->uuid = dup_str((const uint8_t *)tmp, 36);
		c->uuid_len = 36;
		break;
	}
	default:
		goto fail;
	}
	if (c->uuid == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto fail;
	}
	if (in->has_sender_e164) {
		if (!sotto__utf8_valid(in->sender_e164.data, in->sender_e164.len))
			goto fail;
		c->e164 = dup_str(in->sender_e164.data, in->sender_e164.len);
		c->e164_len = in->sender_e164.len;
		if (c->e164 == NULL) {
			rc = SOTTO_ERR_NOMEM;
			goto fail;
		}
	}
	c->serialized = malloc(len ? len : 1);
	if (c->serialized == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto fail;
	}
	if (len)
		memcpy(c->serialized, cert, len);
	c->serialized_len = len;
	*out = c;
	return 0;
fail:
	sotto_sender_cert_free(c);
	return rc;
}

const char *sotto_sender_cert_uuid(const sotto_sender_cert *c, size_t *len)
{
	if (len != NULL)
		*len = c->uuid_len;
	return c->uuid;
}

const char *sotto_sender_cert_e164(const sotto_sender_cert *c, size_t *len)
{
	if (len != NULL)
		*len = c->e164_len;
	return c->e164;
}

uint32_t sotto_sender_cert_device(const sotto_sender_cert *c)
{
	return c->device;
}

uint64_t sotto_sender_cert_expires(const sotto_sender_cert *c)
{
	return c->expires;
}

const uint8_t *sotto_sender_cert_identity_key(const sotto_sender_cert *c)
{
	return c->identity_key;
}

const uint8_t *sotto_sender_cert_serialized(const sotto_sender_cert *c, size_t *len)
{
	if (len != NULL)
		*len = c->serialized_len;
	return c->serialized;
}

int sotto_sender_cert_validate(const sotto_sender_cert *c, const uint8_t (*trust_roots)[33],
			       size_t n_roots, uint64_t now_ms)
{
	if (c == NULL || (trust_roots == NULL && n_roots))
		return SOTTO_ERR_INVALID_ARGUMENT;
	server_cert ref;
	const server_cert *signer = &c->signer;
	memset(&ref, 0, sizeof ref);
	if (!c->signer_embedded) {
		const char *hex = NULL;
		for (size_t i = 0; i < sizeof known_server_certs / sizeof known_server_certs[0]; i++)
			if (known_server_certs[i].id == c->signer_ref)
				hex = known_server_certs[i].hex;
		if (hex == NULL)
			return SOTTO_ERR_INVALID_CERTIFICATE;
		uint8_t buf[128];
		size_t n = strlen(hex) / 2;
		for (size_t i = 0; i < n; i++) {
			unsigned v;
			if (sscanf(hex + 2 * i, "%2x", &v) != 1)
				return SOTTO_ERR_INTERNAL;
			buf[i] = (uint8_t)v;
		}
		if (server_cert_parse(&ref, buf, n) != 0)
			return SOTTO_ERR_INTERNAL;
		signer = &ref;
	}
	/* Every root is tried so that the time does not tell which one matched. */
	int any = 0;
	for (size_t i = 0; i < n_roots; i++)
		any |= server_cert_valid(signer, trust_roots[i]);
	int rc = SOTTO_ERR_INVALID_CERTIFICATE;
	if (any &&
	    sotto__verify33(signer->key, c->pb->certificate.data, c->pb->certificate.len,
			    c->pb->signature.data, c->pb->signature.len) == 0 &&
	    now_ms <= c->expires)
		rc = 0;
	server_cert_clear(&ref);
	return rc;
}

/* ---- USMC ---- */

int sotto_usmc_encode(int type, const uint8_t *sender_cert, size_t sender_cert_len,
		      const uint8_t *content, size_t content_len, uint32_t content_hint,
		      const uint8_t *group_id, size_t group_id_len, uint8_t *out, size_t cap,
		      size_t *outlen)
{
	static const uint8_t empty[1] = {0};
	uint32_t ptype;
	switch (type) {
	case SOTTO_SEALED_MSG_PREKEY: ptype = 1; break;
	case SOTTO_SEALED_MSG_WHISPER: ptype = 2; break;
	case SOTTO_SEALED_MSG_SENDERKEY: ptype = 7; break;
	case SOTTO_SEALED_MSG_PLAINTEXT: ptype = 8; break;
	default: return SOTTO_ERR_INVALID_ARGUMENT;
	}
	if ((sender_cert == NULL && sender_cert_len) || (content == NULL && content_len) ||
	    (group_id == NULL && group_id_len) || out == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	Sotto__Sealed__UnidentifiedSenderMessageContent m =
		SOTTO__SEALED__UNIDENTIFIED_SENDER_MESSAGE_CONTENT__INIT;
	m.has_type = 1;
	m.type = ptype;
	m.has_sender_certificate = 1;
	m.sender_certificate.data = (uint8_t *)(uintptr_t)(sender_cert ? sender_cert : empty);
	m.sender_certificate.len = sender_cert_len;
	m.has_content = 1;
	m.content.data = (uint8_t *)(uintptr_t)(content ? content : empty);
	m.content.len = content_len;
	if (content_hint != 0) {
		m.has_content_hint = 1;
		m.content_hint = content_hint;
	}
	if (group_id_len != 0) {
		m.has_group_id = 1;
		m.group_id.data = (uint8_t *)(uintptr_t)group_id;
		m.group_id.len = group_id_len;
	}
	size_t n = sotto__sealed__unidentified_sender_message_content__get_packed_size(&m);
	if (n > cap)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	*outlen = sotto__sealed__unidentified_sender_message_content__pack(&m, out);
	return 0;
}

void sotto_usmc_free(sotto_usmc *u)
{
	if (u == NULL)
		return;
	sotto_sender_cert_free(u->sender);
	if (u->pb != NULL) {
		if (u->pb->content.data != NULL)
			sotto_memzero(u->pb->content.data, u->pb->content.len);
		sotto__sealed__unidentified_sender_message_content__free_unpacked(u->pb, NULL);
	}
	if (u->serialized != NULL) {
		sotto_memzero(u->serialized, u->serialized_len);
		free(u->serialized);
	}
	free(u);
}

int sotto_usmc_parse(const uint8_t *in, size_t len, sotto_usmc **out)
{
	static const uint8_t empty[1] = {0};
	if ((in == NULL && len) || out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	sotto_usmc *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = SOTTO_ERR_INVALID_MESSAGE;
	u->pb = sotto__sealed__unidentified_sender_message_content__unpack(NULL, len,
									    in ? in : empty);
	if (u->pb == NULL || !u->pb->has_type || !u->pb->has_sender_certificate ||
	    !u->pb->has_content)
		goto fail;
	switch (u->pb->type) {
	case 1: u->type = SOTTO_SEALED_MSG_PREKEY; break;
	case 2: u->type = SOTTO_SEALED_MSG_WHISPER; break;
	case 7: u->type = SOTTO_SEALED_MSG_SENDERKEY; break;
	case 8: u->type = SOTTO_SEALED_MSG_PLAINTEXT; break;
	default: goto fail;
	}
	u->hint = u->pb->has_content_hint ? u->pb->content_hint : 0;
	rc = sotto_sender_cert_parse(u->pb->sender_certificate.data, u->pb->sender_certificate.len,
				     &u->sender);
	if (rc != 0)
		goto fail;
	u->serialized = malloc(len ? len : 1);
	if (u->serialized == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto fail;
	}
	if (len)
		memcpy(u->serialized, in, len);
	u->serialized_len = len;
	*out = u;
	return 0;
fail:
	sotto_usmc_free(u);
	return rc;
}

int sotto_usmc_type(const sotto_usmc *u)
{
	return u->type;
}

const uint8_t *sotto_usmc_content(const sotto_usmc *u, size_t *len)
{
	static const uint8_t empty[1] = {0};
	if (len != NULL)
		*len = u->pb->content.len;
	return u->pb->content.data ? u->pb->content.data : empty;
}

uint32_t sotto_usmc_content_hint(const sotto_usmc *u)
{
	return u->hint;
}

const uint8_t *sotto_usmc_group_id(const sotto_usmc *u, size_t *len)
{
	static const uint8_t empty[1] = {0};
	if (!u->pb->has_group_id) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = u->pb->group_id.len;
	return u->pb->group_id.data ? u->pb->group_id.data : empty;
}

const sotto_sender_cert *sotto_usmc_sender(const sotto_usmc *u)
{
	return u->sender;
}

const uint8_t *sotto_usmc_serialized(const sotto_usmc *u, size_t *len)
{
	if (len != NULL)
		*len = u->serialized_len;
	return u->serialized;
}
