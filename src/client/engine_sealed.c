/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Client engine: sealed sender (docs/server-api.md "Sealed sender").
 *
 * 1:1 and sync messages leave this device as sealed sender v1 envelopes
 * (facts 7.2): the session ciphertext goes into an
 * UnidentifiedSenderMessageContent with our sender certificate, encrypted to
 * the recipient device's identity key; the server is told `sealed` and
 * stores and delivers no sender. The receiver opens it, validates the
 * certificate against the trust root it pinned and its own clock, refuses
 * its own device's messages (facts 7.5), and then decrypts the inner message
 * as from the certificate's sender, whose identity key must be the one its
 * session holds.
 *
 * State in the local store (kv namespace "sealed"):
 *   root   the pinned trust root (33 bytes, 0x05 || u): given at
 *          registration (sotto_client_set_sealed_root, `--sealed-root`), or
 *          learned from the server's first certificate answer and pinned
 *          from then on, as the engine does with the KT key
 *   cert   our latest sender certificate (serialized), fetched again once it
 *          is within ENG_SEALED_REFRESH_MS of its expiry */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/engine_internal.h"
#include "sotto/error.h"
#include "sotto/sealed.h"
#include "sotto/util.h"

#pragma GCC diagnostic ignored "-Wcast-qual"

#define SEALED_NS "sealed"
#define ENG_SEALED_REFRESH_MS (3600ull * 1000) /* refetch an hour before expiry */
#define CERT_MAX 1024

static int kv_put(sotto_client *c, const char *key, const uint8_t *val, size_t len)
{
	int rc = sotto_lstore_kv_put(c->ls, SEALED_NS, (const uint8_t *)key, strlen(key), val,
		len);
	if (rc != 0)
		sotto__eng_err(c, rc, "cannot save sealed sender state: %s",
			sotto_lstore_errmsg(c->ls));
	return rc;
}

static void cert_drop(sotto_client *c)
{
	free(c->sealed_cert);
	c->sealed_cert = NULL;
	c->sealed_cert_len = 0;
	c->sealed_cert_exp = 0;
}

void sotto__eng_sealed_free(sotto_client *c)
{
	cert_drop(c);
	c->sealed_loaded = 0;
	c->sealed_has_root = 0;
}

/* Takes cert (malloc'd, len bytes) as the cached certificate if it parses;
 * frees it otherwise. */
static void cert_take(sotto_client *c, uint8_t *cert, size_t len)
{
	sotto_sender_cert *sc = NULL;
	if (sotto_sender_cert_parse(cert, len, &sc) != 0) {
		free(cert);
		return;
	}
	cert_drop(c);
	c->sealed_cert = cert;
	c->sealed_cert_len = len;
	c->sealed_cert_exp = sotto_sender_cert_expires(sc);
	sotto_sender_cert_free(sc);
}

static int load(sotto_client *c)
{
	uint8_t *v = NULL;
	size_t n = 0;
	if (c->sealed_loaded)
		return 0;
	int rc = sotto_lstore_kv_get(c->ls, SEALED_NS, (const uint8_t *)"root", 4, &v, &n);
	if (rc == 0 && n == 33 && v[0] == 0x05) {
		memcpy(c->sealed_root, v, 33);
		c->sealed_has_root = 1;
	} else if (rc != 0 && rc != SOTTO_ERR_NOT_FOUND) {
		return sotto__eng_err(c, rc, "cannot read sealed sender state: %s",
			sotto_lstore_errmsg(c->ls));
	}
	free(v);
	v = NULL;
	rc = sotto_lstore_kv_get(c->ls, SEALED_NS, (const uint8_t *)"cert", 4, &v, &n);
	if (rc == 0)
		cert_take(c, v, n);
	else if (rc != SOTTO_ERR_NOT_FOUND)
		return sotto__eng_err(c, rc, "cannot read sealed sender state: %s",
			sotto_lstore_errmsg(c->ls));
	c->sealed_loaded = 1;
	return 0;
}

static int pin_root(sotto_client *c, const uint8_t root[33])
{
	int rc = kv_put(c, "root", root, 33);
	if (rc == 0) {
		memcpy(c->sealed_root, root, 33);
		c->sealed_has_root = 1;
	}
	return rc;
}

int sotto_client_set_sealed_root(sotto_client *c, const uint8_t key[SOTTO_CLIENT_SEALED_ROOT_BYTES])
{
	uint8_t root[33];
	if (key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = load(c);
	if (rc != 0)
		return rc;
	root[0] = 0x05;
	memcpy(root + 1, key, 32);
	if (c->sealed_has_root) {
		if (sotto_memeq(c->sealed_root, root, 33))
			return 0;
		return sotto__eng_err(c, SOTTO_ERR_EXISTS,
			"this profile already pinned a different sealed sender trust root");
	}
	return pin_root(c, root);
}

int sotto_client_sealed_root(sotto_client *c, uint8_t key[SOTTO_CLIENT_SEALED_ROOT_BYTES])
{
	int rc = load(c);
	if (rc != 0)
		return rc;
	if (!c->sealed_has_root)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND,
			"no sealed sender trust root pinned yet");
	memcpy(key, c->sealed_root + 1, 32);
	return 0;
}

const char *sotto_client_notice(const sotto_client *c)
{
	return c->notice;
}

/* Our own certificate must say exactly who we are, or the recipients would
 * attribute our messages to someone else (or refuse them). */
static int check_own(sotto_client *c, const uint8_t *cert, size_t len, uint64_t now)
{
	sotto_sender_cert *sc = NULL;
	sotto_lstore_local loc;
	int rc = sotto_sender_cert_parse(cert, len, &sc);
	if (rc != 0)
		return sotto__eng_err(c, SOTTO_ERR_INVALID_CERTIFICATE,
			"the server sent a sender certificate that does not parse");
	rc = sotto_sender_cert_validate(sc, (const uint8_t(*)[33])c->sealed_root, 1, now);
	if (rc != 0) {
		sotto_sender_cert_free(sc);
		return sotto__eng_err(c, SOTTO_ERR_INVALID_CERTIFICATE,
			"the server's sender certificate is not valid under the pinned trust root");
	}
	rc = sotto_lstore_local_get(c->ls, &loc);
	if (rc == 0) {
		const char *u = sotto_sender_cert_uuid(sc, NULL);
		if (strcmp(u, c->acct_str) != 0 || sotto_sender_cert_device(sc) != c->device_id ||
			!sotto_memeq(sotto_sender_cert_identity_key(sc), loc.identity.pub, 33))
			rc = sotto__eng_err(c, SOTTO_ERR_INVALID_CERTIFICATE,
				"the server's sender certificate names another device or key");
	}
	sotto_memzero(&loc, sizeof loc);
	sotto_sender_cert_free(sc);
	return rc;
}

/* SenderCertificate from the server; pins the trust root on first contact. */
static int fetch(sotto_client *c)
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__SenderCertificateRequest sr = SOTTO__SERVICE__SENDER_CERTIFICATE_REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_SENDER_CERTIFICATE;
	req.sender_certificate = &sr;
	Response *r;
	int rc = sotto__eng_connect(c, 1);
	if (rc == 0)
		rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	const Sotto__Service__SenderCertificateResponse *p = r->sender_certificate;
	if (p == NULL || p->trust_root.len != 33 || p->trust_root.data[0] != 0x05 ||
		p->certificate.len == 0 || p->certificate.len > CERT_MAX) {
		sotto_client_conn_response_free(r);
		return sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE,
			"the server sent a malformed sender certificate answer");
	}
	if (!c->sealed_has_root) {
		/* Trust on first use (`--sealed-root` avoids it). */
		rc = pin_root(c, p->trust_root.data);
	} else if (!sotto_memeq(c->sealed_root, p->trust_root.data, 33)) {
		rc = sotto__eng_err(c, SOTTO_ERR_INVALID_CERTIFICATE,
			"the server announces a sealed sender trust root that is not the pinned one");
	}
	uint8_t *cert = NULL;
	size_t len = p->certificate.len;
	if (rc == 0)
		rc = check_own(c, p->certificate.data, len, sotto__eng_now(c));
	if (rc == 0 && (cert = malloc(len)) == NULL)
		rc = SOTTO_ERR_NOMEM;
	if (rc == 0) {
		memcpy(cert, p->certificate.data, len);
		rc = kv_put(c, "cert", cert, len);
	}
	sotto_client_conn_response_free(r);
	if (rc != 0) {
		free(cert);
		return rc;
	}
	cert_take(c, cert, len);
	return c->sealed_cert != NULL ? 0 : SOTTO_ERR_INVALID_CERTIFICATE;
}

int sotto__eng_sealed_cert(sotto_client *c, const uint8_t **cert, size_t *len)
{
	uint64_t now = sotto__eng_now(c);
	int rc = load(c);
	if (rc != 0)
		return rc;
	if (c->sealed_cert == NULL || c->sealed_cert_exp < now + ENG_SEALED_REFRESH_MS) {
		rc = fetch(c);
		/* A certificate that is still valid serves until it expires. */
		if (rc != 0 && (c->sealed_cert == NULL || c->sealed_cert_exp <= now))
			return rc;
	}
	*cert = c->sealed_cert;
	*len = c->sealed_cert_len;
	return 0;
}

void sotto__eng_sealed_joined(sotto_client *c)
{
	const uint8_t *cert;
	size_t len;
	/* Learns (or checks) the trust root now; a failure is retried by the
	 * first send. */
	(void)sotto__eng_sealed_cert(c, &cert, &len);
}

int sotto__eng_seal(sotto_client *c, const uint8_t recipient_identity[33], int type,
	const uint8_t *inner, size_t inner_len, const uint8_t *cert, size_t cert_len,
	uint8_t **out, size_t *outlen)
{
	sotto_lstore_local loc;
	size_t ucap = inner_len + cert_len + 64, ulen = 0;
	uint8_t *usmc = malloc(ucap);
	if (usmc == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = sotto_usmc_encode(type, cert, cert_len, inner, inner_len,
		SOTTO_SEALED_HINT_DEFAULT, NULL, 0, usmc, ucap, &ulen);
	size_t cap = SOTTO_SEALED_V1_MAX(ulen);
	*out = NULL;
	if (rc == 0)
		rc = sotto_lstore_local_get(c->ls, &loc);
	if (rc == 0) {
		*out = malloc(cap);
		if (*out == NULL)
			rc = SOTTO_ERR_NOMEM;
		if (rc == 0)
			rc = sotto_sealed_v1_encrypt(recipient_identity, loc.identity.pub,
				loc.identity.priv, usmc, ulen, sotto_rng_system, NULL, *out, cap,
				outlen);
		sotto_memzero(&loc, sizeof loc);
	}
	sotto_memzero(usmc, ucap);
	free(usmc);
	if (rc != 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int sotto__eng_unseal(sotto_client *c, struct eng_env *e, uint8_t identity_key[33])
{
	sotto_lstore_local loc;
	sotto_usmc *u = NULL;
	int rc = load(c);
	if (rc != 0)
		return rc;
	if (!c->sealed_has_root) {
		/* Nothing pinned yet (a profile from before sealed sender):
		 * learn the root the way a new profile does. */
		const uint8_t *cert;
		size_t len;
		if (sotto__eng_sealed_cert(c, &cert, &len) != 0 || !c->sealed_has_root)
			return sotto__eng_err(c, SOTTO_ERR_INVALID_CERTIFICATE,
				"no sealed sender trust root to check the sender against");
	}
	rc = sotto_lstore_local_get(c->ls, &loc);
	if (rc != 0)
		return rc;
	rc = sotto_sealed_decrypt(loc.identity.pub, loc.identity.priv,
		(const uint8_t(*)[33])c->sealed_root, 1, sotto__eng_now(c), c->acct_str, NULL,
		c->device_id, e->content, e->content_len, &u);
	sotto_memzero(&loc, sizeof loc);
	if (rc != 0)
		return sotto__eng_err(c, rc, "a sealed message failed to open: %s",
			sotto_strerror(rc));
	const sotto_sender_cert *sc = sotto_usmc_sender(u);
	const char *uuid = sotto_sender_cert_uuid(sc, NULL);
	char canon[SOTTO_CLIENT_ACCOUNT_STR + 1];
	uint8_t sender[16];
	uint32_t dev = sotto_sender_cert_device(sc);
	int type = sotto_usmc_type(u);
	size_t clen = 0;
	const uint8_t *content = sotto_usmc_content(u, &clen);
	rc = sotto__eng_uuid_parse(uuid, sender);
	if (rc == 0) {
		sotto__eng_uuid_str(sender, canon);
		if (strcmp(canon, uuid) != 0)
			rc = SOTTO_ERR_INVALID_CERTIFICATE; /* only the canonical form */
	}
	if (rc == 0 && (dev == 0 || dev > SOTTO_DEVICE_ID_MAX))
		rc = SOTTO_ERR_INVALID_CERTIFICATE;
	if (rc == 0 && type != SOTTO_SEALED_MSG_WHISPER && type != SOTTO_SEALED_MSG_PREKEY)
		rc = SOTTO_ERR_INVALID_MESSAGE; /* 1:1 only: no sender keys here */
	uint8_t *inner = NULL;
	if (rc == 0 && (inner = malloc(clen > 0 ? clen : 1)) == NULL)
		rc = SOTTO_ERR_NOMEM;
	if (rc != 0) {
		sotto_usmc_free(u);
		return sotto__eng_err(c, rc, "a sealed message names no valid sender: %s",
			sotto_strerror(rc));
	}
	memcpy(inner, content, clen);
	memcpy(identity_key, sotto_sender_cert_identity_key(sc), 33);
	memcpy(e->sender, sender, 16);
	e->sender_device = dev;
	e->type = (uint32_t)type;
	free(e->content);
	e->content = inner;
	e->content_len = clen;
	sotto_usmc_free(u);
	return 0;
}
