/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed sender, wire compatible with libsignal 0.103: server and sender
 * certificates, the UnidentifiedSenderMessageContent (USMC) that carries an
 * already-encrypted 1:1 or group message plus the sender's certificate,
 * version 1 (one recipient) and version 2 (many recipients, split by the
 * server) envelopes. The inner message is encrypted and decrypted by the
 * caller (session cipher or sender keys). Keys are 33-byte public keys
 * (0x05 || u) and 32-byte private keys. */
#ifndef SOTTO_SEALED_H
#define SOTTO_SEALED_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"
#include "sotto/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_SEALED_V1_VERSION 0x11
#define SOTTO_SEALED_V2_SENT_VERSION 0x23	/* multi-recipient, ServiceIdFixed entries */
#define SOTTO_SEALED_V2_SENT_UUID_VERSION 0x22	/* older sent form (16-byte ACI entries) */
#define SOTTO_SEALED_V2_RECEIVED_VERSION 0x22	/* one recipient's form */
#define SOTTO_SERVICE_ID_FIXED_BYTES 17		/* kind (0 ACI, 1 PNI) || uuid */
#define SOTTO_SEALED_REVOKED_SERVER_CERT_ID 0xDEADC357u
#define SOTTO_SEALED_V2_MAX_REGISTRATION_ID 0x3FFF

/* Message types carried in a USMC (CiphertextMessageType numbering). */
enum sotto_sealed_msg_type {
	SOTTO_SEALED_MSG_WHISPER = 2,
	SOTTO_SEALED_MSG_PREKEY = 3,
	SOTTO_SEALED_MSG_SENDERKEY = 7,
	SOTTO_SEALED_MSG_PLAINTEXT = 8,
};

/* Content hints; other values are carried as they are. */
enum sotto_sealed_hint {
	SOTTO_SEALED_HINT_DEFAULT = 0,
	SOTTO_SEALED_HINT_RESENDABLE = 1,
	SOTTO_SEALED_HINT_IMPLICIT = 2,
};

/* ---- Certificates ---- */

/* ServerCertificate{certificate{id, key}, signature by the trust root}. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_server_cert_create(uint32_t id, const uint8_t key[33],
							    const uint8_t trust_root_priv[32],
							    sotto_rng_fn rng, void *rng_ctx,
							    uint8_t *out, size_t cap,
							    size_t *outlen);
/* 0 if the server certificate parses, its id is not revoked and its
 * signature verifies under trust_root; SOTTO_ERR_INVALID_CERTIFICATE
 * otherwise. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_server_cert_validate(const uint8_t *cert, size_t len,
							      const uint8_t trust_root[33]);

/* SenderCertificate signed by the server key, embedding the server
 * certificate and writing the sender as uuidString (what libsignal writes).
 * e164 may be NULL. device is 1..127; expires is in ms since the epoch. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sender_cert_create(
	const char *uuid, const char *e164, uint32_t device, const uint8_t identity_key[33],
	uint64_t expires_ms, const uint8_t *server_cert, size_t server_cert_len,
	const uint8_t server_priv[32], sotto_rng_fn rng, void *rng_ctx, uint8_t *out, size_t cap,
	size_t *outlen);

/* A parsed sender certificate (libsignal's parsing rules). */
typedef struct sotto_sender_cert sotto_sender_cert;
/* SOTTO_ERR_INVALID_CERTIFICATE when it does not parse. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sender_cert_parse(const uint8_t *cert, size_t len,
							   sotto_sender_cert **out);
SOTTO_EXPORT void sotto_sender_cert_free(sotto_sender_cert *c);
/* The sender's uuid string (NUL-terminated; *len, if not NULL, gets its byte
 * length). A uuidBytes certificate gives the lowercase hyphenated form. */
SOTTO_EXPORT const char *sotto_sender_cert_uuid(const sotto_sender_cert *c, size_t *len);
/* NULL when the certificate has no E.164. */
SOTTO_EXPORT const char *sotto_sender_cert_e164(const sotto_sender_cert *c, size_t *len);
SOTTO_EXPORT uint32_t sotto_sender_cert_device(const sotto_sender_cert *c);
SOTTO_EXPORT uint64_t sotto_sender_cert_expires(const sotto_sender_cert *c);
SOTTO_EXPORT const uint8_t *sotto_sender_cert_identity_key(const sotto_sender_cert *c);
/* The whole serialized certificate. */
SOTTO_EXPORT const uint8_t *sotto_sender_cert_serialized(const sotto_sender_cert *c, size_t *len);
/* 0 if the signer (the embedded server certificate, or one of libsignal's
 * built-in ones referenced by id) is valid under one of the trust roots, the
 * certificate verifies under the signer's key and now_ms <= expires;
 * SOTTO_ERR_INVALID_CERTIFICATE otherwise. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sender_cert_validate(const sotto_sender_cert *c,
							      const uint8_t (*trust_roots)[33],
							      size_t n_roots, uint64_t now_ms);

/* ---- UnidentifiedSenderMessageContent ---- */

/* Encodes a USMC. type is a sotto_sealed_msg_type; a hint of 0 and an empty
 * group id are left out, as libsignal does. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_usmc_encode(int type, const uint8_t *sender_cert,
						     size_t sender_cert_len,
						     const uint8_t *content, size_t content_len,
						     uint32_t content_hint, const uint8_t *group_id,
						     size_t group_id_len, uint8_t *out, size_t cap,
						     size_t *outlen);

typedef struct sotto_usmc sotto_usmc;
/* SOTTO_ERR_INVALID_MESSAGE (or SOTTO_ERR_INVALID_CERTIFICATE for a sender
 * certificate that does not parse). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_usmc_parse(const uint8_t *in, size_t len,
						    sotto_usmc **out);
SOTTO_EXPORT void sotto_usmc_free(sotto_usmc *u);
SOTTO_EXPORT int sotto_usmc_type(const sotto_usmc *u);
SOTTO_EXPORT const uint8_t *sotto_usmc_content(const sotto_usmc *u, size_t *len);
SOTTO_EXPORT uint32_t sotto_usmc_content_hint(const sotto_usmc *u);
/* NULL when absent. */
SOTTO_EXPORT const uint8_t *sotto_usmc_group_id(const sotto_usmc *u, size_t *len);
SOTTO_EXPORT const sotto_sender_cert *sotto_usmc_sender(const sotto_usmc *u);
SOTTO_EXPORT const uint8_t *sotto_usmc_serialized(const sotto_usmc *u, size_t *len);

/* ---- Version 1 ---- */

/* Upper bound on the v1 envelope for a USMC of len bytes. */
#define SOTTO_SEALED_V1_MAX(len) (1 + 35 + 2 + 43 + 1 + 10 + (len) + 10)

/* Seals usmc to one recipient (0x11 || UnidentifiedSenderMessage). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sealed_v1_encrypt(
	const uint8_t recipient_identity[33], const uint8_t sender_identity_pub[33],
	const uint8_t sender_identity_priv[32], const uint8_t *usmc, size_t usmc_len,
	sotto_rng_fn rng, void *rng_ctx, uint8_t *out, size_t cap, size_t *outlen);

/* ---- Version 2 ---- */

typedef struct sotto_sealed_v2_recipient {
	uint8_t service_id[SOTTO_SERVICE_ID_FIXED_BYTES];
	uint32_t device_id;	  /* 1..127 */
	uint32_t registration_id; /* the session's remote registration id, <= 0x3FFF */
	uint8_t identity_key[33];
} sotto_sealed_v2_recipient;

/* Upper bound on the sent form. */
#define SOTTO_SEALED_V2_MAX(n_recipients, n_excluded, usmc_len)                              \
	(1 + 10 + (size_t)(n_recipients) * (17 + 3 + 48) + (size_t)(n_excluded) * 18 + 32 +   \
	 (size_t)(usmc_len) + 16)

/* Seals usmc to many recipients (sent form 0x23). Every device of one
 * service id must be adjacent in the list; they share one entry, encrypted
 * to the first one's identity key. excluded service ids are listed with no
 * devices. Errors: SOTTO_ERR_INVALID_ARGUMENT (device id, registration id,
 * service id kind), SOTTO_ERR_INVALID_KEY, SOTTO_ERR_BUFFER_TOO_SMALL. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sealed_v2_encrypt(
	const sotto_sealed_v2_recipient *recipients, size_t n_recipients,
	const uint8_t (*excluded)[SOTTO_SERVICE_ID_FIXED_BYTES], size_t n_excluded,
	const uint8_t sender_identity_pub[33], const uint8_t sender_identity_priv[32],
	const uint8_t *usmc, size_t usmc_len, sotto_rng_fn rng, void *rng_ctx, uint8_t *out,
	size_t cap, size_t *outlen);

/* Server side: checks the whole sent message (0x23 or 0x22) strictly and
 * writes the received form for one recipient, 0x22 || c || at || E || C,
 * into out (at most sent_len bytes). Allocates nothing. If devices is not
 * NULL, the recipient's device ids and registration ids (all of its entries,
 * in message order) go to devices/reg_ids (dev_cap entries each) and *n_devices.
 * Errors: SOTTO_ERR_INVALID_MESSAGE (malformed), SOTTO_ERR_NOT_FOUND (not a
 * recipient, or listed as excluded), SOTTO_ERR_BUFFER_TOO_SMALL. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sealed_v2_split(
	const uint8_t *sent, size_t sent_len,
	const uint8_t service_id[SOTTO_SERVICE_ID_FIXED_BYTES], uint8_t *out, size_t cap,
	size_t *outlen, uint8_t *devices, uint16_t *reg_ids, size_t dev_cap, size_t *n_devices);

/* ---- Receiving (v1 and v2 received form) ---- */

/* Opens the envelope and returns the USMC; checks v1's static key against
 * the certificate key and v2's ephemeral key and authentication tag. The
 * certificate is not validated here. Errors: SOTTO_ERR_INVALID_MESSAGE,
 * SOTTO_ERR_INVALID_KEY, SOTTO_ERR_INVALID_CERTIFICATE. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sealed_decrypt_to_usmc(const uint8_t local_identity_pub[33],
								const uint8_t local_identity_priv[32],
								const uint8_t *msg, size_t len,
								sotto_usmc **out);

/* sotto_sealed_decrypt_to_usmc, then the certificate is validated at now_ms
 * against the trust roots (SOTTO_ERR_INVALID_CERTIFICATE), and a message
 * from ourselves (sender uuid == local_uuid, or both E.164 present and
 * equal, with the same device id) fails with
 * SOTTO_ERR_SEALED_SENDER_SELF_SEND. local_e164 may be NULL. The caller
 * decrypts sotto_usmc_content with its session (remote address = the
 * certificate's uuid and device). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_sealed_decrypt(
	const uint8_t local_identity_pub[33], const uint8_t local_identity_priv[32],
	const uint8_t (*trust_roots)[33], size_t n_roots, uint64_t now_ms, const char *local_uuid,
	const char *local_e164, uint32_t local_device, const uint8_t *msg, size_t len,
	sotto_usmc **out);

#ifdef __cplusplus
}
#endif
#endif
