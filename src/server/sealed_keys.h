/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed sender on the server: the trust root and the server certificate
 * (DIR/sealed-root.key, DIR/sealed-server.key, both created 0600 at first
 * start) and the sender certificates issued to authenticated devices. */
#ifndef SOTTO_SERVER_SEALED_KEYS_H
#define SOTTO_SERVER_SEALED_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define SOTTO__SEALED_ROOT_FILE "sealed-root.key"
#define SOTTO__SEALED_SERVER_FILE "sealed-server.key"
#define SOTTO__SEALED_SERVER_KEY_ID 1u
#define SOTTO__SEALED_CERT_MAX 512
#define SOTTO__SEALED_CERT_LIFETIME_MS (24ull * 3600 * 1000)

struct sotto__sealed_keys {
	uint8_t root_pub[33];     /* the trust root clients pin (0x05 || u) */
	uint8_t server_priv[32];  /* signs sender certificates (secret) */
	uint8_t server_pub[33];
	uint8_t server_cert[SOTTO__SEALED_CERT_MAX]; /* signed by the trust root */
	size_t server_cert_len;
};

/* Reads (or creates) both key files and signs the server certificate with
 * the trust root; the root's private key is wiped again afterwards. */
int sotto__sealed_keys_load(const char *dir, struct sotto__sealed_keys *k,
	char *err, size_t errcap);
void sotto__sealed_keys_wipe(struct sotto__sealed_keys *k);
/* A sender certificate for (account, device, identity key) valid until
 * expires_ms. */
int sotto__sealed_issue(const struct sotto__sealed_keys *k, const uint8_t account[16],
	uint32_t device, const uint8_t identity_key[33], uint64_t expires_ms, uint8_t *out,
	size_t cap, size_t *outlen);

#endif
