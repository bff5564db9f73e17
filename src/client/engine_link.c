/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Client engine: linking a new device (docs/server-api.md "Linking a
 * device"). The new device's ephemeral X25519 key E and Noise key N travel
 * in the provisioning code; the primary seals the account identity to E and
 * the server relays it through the new device's queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/engine_internal.h"
#include "sotto/aead.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"
#include "wire/wire.h"

#pragma GCC diagnostic ignored "-Wcast-qual"

#define CODE_PREFIX "sotto-link:1:"
#define PROV_VERSION 0x01
#define PROV_INFO "sotto provisioning v1"

static void b64url(const uint8_t *in, size_t n, char *out)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[k++] = al[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[k++] = al[(acc << (6 - bits)) & 63];
	out[k] = '\0';
}

static int prov_key(const uint8_t shared[32], const uint8_t e_pub[32], const uint8_t p_pub[32],
	uint8_t key[32])
{
	uint8_t salt[64];
	memcpy(salt, e_pub, 32);
	memcpy(salt + 32, p_pub, 32);
	return sotto_hkdf_sha256(key, 32, salt, sizeof salt, shared, 32,
		(const uint8_t *)PROV_INFO, sizeof PROV_INFO - 1);
}

int sotto_client_link_begin(sotto_client *c, const char *server,
	const uint8_t server_key[SOTTO_CLIENT_SERVER_KEY_BYTES], char code[SOTTO_CLIENT_LINK_CODE_MAX])
{
	uint8_t eph[32], pubs[64];
	char host[64];
	uint16_t port;
	int rc;
	if (c->registered || c->has_noise)
		return sotto__eng_err(c, SOTTO_ERR_EXISTS, "this profile is already set up");
	if (server == NULL || server_key == NULL || strlen(server) >= sizeof c->server)
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* Validate the address the same way register does. */
	snprintf(c->server, sizeof c->server, "%s", server);
	{
		const char *colon = strrchr(server, ':');
		char *end;
		unsigned long p = colon != NULL ? strtoul(colon + 1, &end, 10) : 0;
		size_t hl = colon != NULL ? (size_t)(colon - server) : 0;
		if (p == 0 || p > 65535 || hl == 0 || hl >= sizeof host || *end != '\0')
			return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT,
				"the server must be HOST:PORT with a numeric address");
		memcpy(host, server, hl);
		host[hl] = '\0';
		port = (uint16_t)p;
	}
	rc = sotto_x25519_keypair(pubs, c->noise_priv);
	if (rc == 0)
		rc = sotto_x25519_keypair(pubs + 32, eph);
	if (rc != 0)
		goto out;
	rc = sotto_lstore_begin(c->ls);
	if (rc != 0)
		goto out;
	rc = sotto__eng_kv_put_str(c, ENG_NS, "server", server, strlen(server));
	if (rc == 0)
		rc = sotto__eng_kv_put_str(c, ENG_NS, "server_key", server_key, 32);
	if (rc == 0)
		rc = sotto__eng_kv_put_str(c, ENG_NS, "noise", c->noise_priv, 32);
	if (rc == 0)
		rc = sotto__eng_kv_put_str(c, ENG_NS, "link_eph", eph, 32);
	if (rc == 0)
		rc = sotto_lstore_commit(c->ls);
	else
		(void)sotto_lstore_rollback(c->ls);
	if (rc != 0)
		goto out;
	memcpy(c->host, host, sizeof host);
	c->port = port;
	memcpy(c->server_key, server_key, 32);
	c->has_noise = 1;
	memcpy(code, CODE_PREFIX, sizeof CODE_PREFIX - 1);
	b64url(pubs, sizeof pubs, code + sizeof CODE_PREFIX - 1);
out:
	sotto_memzero(eph, sizeof eph);
	if (rc != 0 && !c->has_noise)
		sotto_memzero(c->noise_priv, sizeof c->noise_priv);
	return rc;
}

struct prov_contacts {
	sotto_client *c;
	Sotto__Content__ProvisionContact *items;
	Sotto__Content__ProvisionContact **ptrs;
	uint8_t (*accts)[16];
	char (*names)[SOTTO_CLIENT_NAME_MAX + 1];
	size_t n, cap;
};

static int prov_contact_cb(void *ctx, const sotto_client_contact *ct)
{
	struct prov_contacts *p = ctx;
	if (p->n == p->cap || strlen(ct->name) > SOTTO_CLIENT_NAME_MAX ||
		sotto__eng_uuid_parse(ct->account_id, p->accts[p->n]) != 0)
		return 0;
	size_t k = p->n++;
	snprintf(p->names[k], sizeof p->names[k], "%s", ct->name);
	sotto__content__provision_contact__init(&p->items[k]);
	p->items[k].name.data = (uint8_t *)p->names[k];
	p->items[k].name.len = strlen(p->names[k]);
	p->items[k].account_id.data = p->accts[k];
	p->items[k].account_id.len = 16;
	p->ptrs[k] = &p->items[k];
	return 0;
}

#define PROV_MAX_CONTACTS 500

int sotto_client_link_device(sotto_client *c, const char *code, const char *device_name,
	uint32_t *device_id)
{
	uint8_t pubs[80], p_priv[32], p_pub[32], shared[32], key[32], *pt = NULL, *blob = NULL;
	uint8_t ename[256];
	size_t n = 0, ptlen = 0, bloblen = 0, enlen = 0;
	uint32_t reg;
	sotto_lstore_local loc;
	struct prov_contacts pc;
	int rc;

	memset(&loc, 0, sizeof loc);
	memset(&pc, 0, sizeof pc);
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	if (c->device_id != 1)
		return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT,
			"only the primary device links devices");
	if (code == NULL || strncmp(code, CODE_PREFIX, sizeof CODE_PREFIX - 1) != 0 ||
		sotto__eng_b64_decode(code + sizeof CODE_PREFIX - 1, pubs, sizeof pubs, &n) != 0 ||
		n != 64)
		return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT, "not a provisioning code");
	const uint8_t *noise_pub = pubs, *e_pub = pubs + 32;

	pc.c = c;
	pc.cap = PROV_MAX_CONTACTS;
	pc.items = calloc(pc.cap, sizeof(*pc.items));
	pc.ptrs = calloc(pc.cap, sizeof(*pc.ptrs));
	pc.accts = calloc(pc.cap, sizeof(*pc.accts));
	pc.names = calloc(pc.cap, sizeof(*pc.names));
	if (pc.items == NULL || pc.ptrs == NULL || pc.accts == NULL || pc.names == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto out;
	}
	rc = sotto_client_contacts(c, prov_contact_cb, &pc);
	if (rc == 0)
		rc = sotto_lstore_local_get(c->ls, &loc);
	if (rc == 0)
		rc = sotto_registration_id_generate(&reg, sotto_rng_system, NULL);
	if (rc != 0)
		goto out;
	{
		Sotto__Content__Provision pv = SOTTO__CONTENT__PROVISION__INIT;
		pv.account_id.data = c->acct;
		pv.account_id.len = 16;
		pv.name.data = (uint8_t *)c->name;
		pv.name.len = strlen(c->name);
		pv.identity_public.data = loc.identity.pub;
		pv.identity_public.len = SOTTO_EC_PUBLIC_BYTES;
		pv.identity_private.data = loc.identity.priv;
		pv.identity_private.len = SOTTO_EC_PRIVATE_BYTES;
		pv.registration_id = reg;
		pv.contacts = pc.ptrs;
		pv.n_contacts = pc.n;
		ptlen = sotto__content__provision__get_packed_size(&pv);
		pt = malloc(ptlen);
		if (pt == NULL) {
			rc = SOTTO_ERR_NOMEM;
			goto out;
		}
		sotto__content__provision__pack(&pv, pt);
	}
	bloblen = 1 + 32 + 24 + ptlen + SOTTO_AEAD_TAG_BYTES;
	blob = malloc(bloblen);
	if (blob == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto out;
	}
	rc = sotto_x25519_keypair(p_pub, p_priv);
	if (rc == 0)
		rc = sotto_x25519(shared, p_priv, e_pub);
	if (rc == 0)
		rc = prov_key(shared, e_pub, p_pub, key);
	if (rc == 0)
		rc = sotto_random(blob + 33, 24);
	if (rc == 0) {
		size_t clen;
		blob[0] = PROV_VERSION;
		memcpy(blob + 1, p_pub, 32);
		rc = sotto_aead_seal(SOTTO_AEAD_XCHACHA20POLY1305, blob + 57, bloblen - 57, &clen,
			key, 32, blob + 33, 24, noise_pub, 32, pt, ptlen);
	}
	if (rc == 0)
		rc = sotto__eng_encrypt_name(c, device_name != NULL ? device_name : "", ename,
			sizeof ename, &enlen);
	if (rc != 0)
		goto out;
	{
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__LinkDeviceRequest lr = SOTTO__SERVICE__LINK_DEVICE_REQUEST__INIT;
		lr.noise_key.data = (uint8_t *)noise_pub;
		lr.noise_key.len = 32;
		lr.registration_id = reg;
		lr.identity_key.data = loc.identity.pub;
		lr.identity_key.len = SOTTO_EC_PUBLIC_BYTES;
		lr.name.data = ename;
		lr.name.len = enlen;
		lr.provisioning.data = blob;
		lr.provisioning.len = bloblen;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_LINK_DEVICE;
		req.link_device = &lr;
		Response *r;
		rc = sotto__eng_call(c, &req, &r, 0);
		if (rc != 0)
			goto out;
		uint32_t linked = r->link_device != NULL ? r->link_device->device_id : 0;
		if (device_id != NULL)
			*device_id = linked;
		sotto_client_conn_response_free(r);
		/* The monitor expects this device's log entry (engine_kt.c). */
		if (linked != 0)
			rc = sotto__eng_kt_own_added(c, linked, loc.identity.pub);
	}
out:
	sotto_memzero(&loc, sizeof loc);
	sotto_memzero(p_priv, sizeof p_priv);
	sotto_memzero(shared, sizeof shared);
	sotto_memzero(key, sizeof key);
	if (pt != NULL) {
		sotto_memzero(pt, ptlen);
		free(pt);
	}
	free(blob);
	free(pc.items);
	free(pc.ptrs);
	free(pc.accts);
	free(pc.names);
	return rc;
}

/* Opens and applies a provisioning message. */
static int apply_provision(sotto_client *c, const struct eng_env *e, const uint8_t acct[16],
	uint32_t device_id)
{
	uint8_t eph[32], e_pub[32], noise_pub[32], shared[32], key[32], *pt = NULL;
	size_t ptlen = 0, n;
	uint8_t *v = NULL;
	sotto_lstore_local loc;
	Sotto__Content__Provision *pv = NULL;
	int rc;

	memset(&loc, 0, sizeof loc);
	if (e->content_len < 1 + 32 + 24 + SOTTO_AEAD_TAG_BYTES || e->content[0] != PROV_VERSION ||
		!sotto_memeq(e->sender, acct, 16))
		return sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE, "malformed provisioning message");
	rc = sotto_lstore_kv_get(c->ls, ENG_NS, (const uint8_t *)"link_eph", 8, &v, &n);
	if (rc != 0)
		return sotto__eng_err(c, rc, "no link in progress in this profile");
	if (n != 32) {
		sotto_memzero(v, n);
		free(v);
		return SOTTO_ERR_STORAGE;
	}
	memcpy(eph, v, 32);
	sotto_memzero(v, n);
	free(v);
	rc = sotto_x25519_public(e_pub, eph);
	if (rc == 0)
		rc = sotto_x25519_public(noise_pub, c->noise_priv);
	if (rc == 0)
		rc = sotto_x25519(shared, eph, e->content + 1);
	if (rc == 0)
		rc = prov_key(shared, e_pub, e->content + 1, key);
	if (rc != 0)
		goto out;
	ptlen = e->content_len - 57 - SOTTO_AEAD_TAG_BYTES;
	pt = malloc(ptlen > 0 ? ptlen : 1);
	if (pt == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto out;
	}
	rc = sotto_aead_open(SOTTO_AEAD_XCHACHA20POLY1305, pt, ptlen, &n, key, 32, e->content + 33,
		24, noise_pub, 32, e->content + 57, e->content_len - 57);
	if (rc != 0) {
		sotto__eng_err(c, rc, "the provisioning message does not open with this code");
		goto out;
	}
	pv = sotto__content__provision__unpack(NULL, n, pt);
	if (pv == NULL || pv->account_id.len != 16 || !sotto_memeq(pv->account_id.data, acct, 16) ||
		pv->identity_private.len != SOTTO_EC_PRIVATE_BYTES ||
		pv->identity_public.len != SOTTO_EC_PUBLIC_BYTES || pv->registration_id == 0 ||
		pv->name.len > SOTTO_CLIENT_NAME_MAX) {
		rc = sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE, "malformed provisioning message");
		goto out;
	}
	rc = sotto_ec_keypair_from_private(&loc.identity, pv->identity_private.data);
	if (rc == 0 && !sotto_memeq(loc.identity.pub, pv->identity_public.data,
			       SOTTO_EC_PUBLIC_BYTES))
		rc = SOTTO_ERR_INVALID_KEY;
	char name[SOTTO_CLIENT_NAME_MAX + 1], raw[SOTTO_CLIENT_NAME_MAX + 1];
	memcpy(raw, pv->name.data, pv->name.len);
	raw[pv->name.len] = '\0';
	if (rc == 0 && sotto__eng_norm_name(raw, name) != 0)
		rc = SOTTO_ERR_INVALID_MESSAGE;
	if (rc != 0)
		goto out;
	sotto__eng_uuid_str(acct, c->acct_str);
	memcpy(c->acct, acct, 16);
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(loc.account_id, sizeof loc.account_id, "%s", c->acct_str);
	loc.device_id = device_id;
	loc.registration_id = pv->registration_id;
	rc = sotto_lstore_begin(c->ls);
	if (rc != 0)
		goto out;
	rc = sotto_lstore_local_set(c->ls, &loc);
	if (rc == 0)
		rc = sotto__eng_kv_put_str(c, ENG_NS, "name", name, strlen(name));
	for (size_t i = 0; rc == 0 && i < pv->n_contacts; i++) {
		const Sotto__Content__ProvisionContact *pc = pv->contacts[i];
		char cn[SOTTO_CLIENT_NAME_MAX + 1], cr[SOTTO_CLIENT_NAME_MAX + 1];
		if (pc->account_id.len != 16 || pc->name.len > SOTTO_CLIENT_NAME_MAX)
			continue;
		memcpy(cr, pc->name.data, pc->name.len);
		cr[pc->name.len] = '\0';
		if (sotto__eng_norm_name(cr, cn) == 0)
			rc = sotto__eng_bind_name(c, cn, pc->account_id.data, sotto__eng_now(c));
	}
	if (rc == 0) {
		rc = sotto_lstore_kv_delete(c->ls, ENG_NS, (const uint8_t *)"link_eph", 8);
		if (rc == SOTTO_ERR_NOT_FOUND)
			rc = 0;
	}
	if (rc == 0)
		rc = sotto_lstore_commit(c->ls);
	else
		(void)sotto_lstore_rollback(c->ls);
	if (rc == 0) {
		c->device_id = device_id;
		c->reg_id = pv->registration_id;
		c->registered = 1;
	}
out:
	if (pv != NULL)
		sotto__content__provision__free_unpacked(pv, NULL);
	if (pt != NULL) {
		sotto_memzero(pt, ptlen);
		free(pt);
	}
	sotto_memzero(&loc, sizeof loc);
	sotto_memzero(eph, sizeof eph);
	sotto_memzero(shared, sizeof shared);
	sotto_memzero(key, sizeof key);
	return rc;
}

int sotto_client_link_finish(sotto_client *c, unsigned timeout_ms)
{
	uint8_t acct[16];
	uint32_t device_id = 0;
	int rc;
	if (c->registered)
		return sotto__eng_err(c, SOTTO_ERR_EXISTS, "this profile is already linked");
	if (!c->has_noise)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "call link_begin first");
	uint64_t deadline = sotto__eng_mono_ms() + timeout_ms;
	/* Authenticate by hand: until the primary has linked us the server
	 * answers UNAUTHENTICATED, and we need the device id it gives. */
	for (;;) {
		rc = sotto__eng_connect(c, 0);
		if (rc != 0)
			return rc;
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__AuthenticateRequest ar = SOTTO__SERVICE__AUTHENTICATE_REQUEST__INIT;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_AUTHENTICATE;
		req.authenticate = &ar;
		Response *r;
		rc = sotto__eng_call(c, &req, &r, 0);
		if (rc == 0) {
			if (r->authenticate == NULL || r->authenticate->account_id.len != 16) {
				sotto_client_conn_response_free(r);
				return sotto__eng_err(c, SOTTO_ERR_INTERNAL, "malformed answer");
			}
			memcpy(acct, r->authenticate->account_id.data, 16);
			device_id = r->authenticate->device_id;
			sotto_client_conn_response_free(r);
			break;
		}
		if (rc != SOTTO_ERR_INVALID_KEY)
			return rc;
		if (sotto__eng_mono_ms() >= deadline)
			return sotto__eng_err(c, SOTTO_ERR_TIMEOUT,
				"the primary device has not linked this one yet");
		struct timespec ts = { 0, 200000000L };
		nanosleep(&ts, NULL);
	}
	for (;;) {
		if (!sotto__eng_wait_env(c, deadline))
			return sotto__eng_err(c, SOTTO_ERR_TIMEOUT,
				"no provisioning message arrived");
		struct eng_env *e = sotto__eng_pop(c);
		if (e == NULL)
			continue;
		if (e->type != SOTTO_WIRE_TYPE_PROVISIONING) {
			/* Anything else waits for the first receive: it is pushed
			 * again on the next connection. */
			sotto__eng_env_free(e);
			continue;
		}
		rc = apply_provision(c, e, acct, device_id);
		uint64_t seq = e->seq;
		sotto__eng_env_free(e);
		if (rc != 0)
			return rc;
		rc = sotto__eng_upload_prekeys(c, 1, 1, 1);
		if (rc == 0)
			rc = sotto__eng_ack(c, seq);
		/* From now on the connection authenticates itself. */
		sotto__eng_disconnect(c);
		if (rc == 0) {
			sotto__eng_kt_joined(c);
			sotto__eng_sealed_joined(c);
		}
		return rc;
	}
}
