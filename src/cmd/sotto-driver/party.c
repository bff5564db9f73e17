/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Party ops: create_party, identity, generate_bundle, trust, sign, verify,
 * has_session, version. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static drv_party *parties;

drv_party *drv_party_find(const char *name)
{
	drv_party *p;

	for (p = parties; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

int drv_party_field(json_t *req, const char *field, drv_party **out, drv_err *err)
{
	const char *name;

	if (drv_str(req, field, &name, err) != 0)
		return -1;
	*out = drv_party_find(name);
	if (*out == NULL)
		return drv_fail(err, "invalid_argument", "unknown party \"%s\"", name);
	return 0;
}

int drv_address(json_t *req, const char *name_field, const char *dev_field, sotto_address *out,
		drv_err *err)
{
	int64_t dev;

	if (drv_str(req, name_field, &out->name, err) != 0 ||
	    drv_int(req, dev_field, 1, 127, &dev, err) != 0)
		return -1;
	out->device_id = (uint32_t)dev;
	return 0;
}

static void party_free(drv_party *p)
{
	sotto_protocol_memstore_free(p->ms);
	sotto_sender_key_memstore_free(p->skms);
	drv_party_resets_free(p);
	sotto_memzero(&p->id, sizeof(p->id));
	free(p->name);
	free(p);
}

void drv_parties_free(void)
{
	while (parties != NULL) {
		drv_party *n = parties->next;

		party_free(parties);
		parties = n;
	}
}

static int identity_result(json_t *res, const drv_party *p, drv_err *err)
{
	if (drv_set_b64(res, "identity_key", p->id.pub, sizeof(p->id.pub), err) != 0)
		return -1;
	json_object_set_new(res, "registration_id", json_integer(p->reg_id));
	return 0;
}

static int op_create_party(json_t *req, json_t *res, drv_err *err)
{
	const char *name;
	int64_t dev;
	drv_party *p;
	int rc;

	if (drv_str(req, "party", &name, err) != 0 ||
	    drv_int(req, "device_id", 1, 127, &dev, err) != 0)
		return -1;
	if (drv_party_find(name) != NULL)
		return drv_fail(err, "invalid_argument", "party \"%s\" already exists", name);
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->name = strdup(name)) == NULL) {
		free(p);
		return drv_fail(err, "internal", "out of memory");
	}
	p->device_id = (uint32_t)dev;
	rc = sotto_identity_keypair_generate(&p->id, sotto_rng_system, NULL);
	if (rc == 0)
		rc = sotto_registration_id_generate(&p->reg_id, sotto_rng_system, NULL);
	if (rc == 0) {
		p->ms = sotto_protocol_memstore_new(&p->id, p->reg_id);
		p->skms = sotto_sender_key_memstore_new();
		if (p->ms == NULL || p->skms == NULL)
			rc = SOTTO_ERR_NOMEM;
	}
	if (rc != 0) {
		party_free(p);
		return drv_fail_rc(err, rc, "create_party");
	}
	sotto_protocol_memstore_tables(p->ms, &p->stores);
	drv_party_sender_keys(p);
	p->next = parties;
	parties = p;
	return identity_result(res, p, err);
}

static int op_identity(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;

	if (drv_party_field(req, "party", &p, err) != 0)
		return -1;
	return identity_result(res, p, err);
}

static int op_generate_bundle(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	int64_t pre_id = -1, spk_id, kyber_id;
	sotto_prekey_record opk;
	sotto_signed_prekey_record spk;
	sotto_kyber_prekey_record *kpk;
	uint64_t now = drv_now_ms();
	json_t *b;
	int rc, ret = -1;

	if (drv_party_field(req, "party", &p, err) != 0)
		return -1;
	if (drv_present(req, "prekey_id") &&
	    drv_int(req, "prekey_id", 0, 0xffffffff, &pre_id, err) != 0)
		return -1;
	if (drv_int(req, "signed_prekey_id", 0, 0xffffffff, &spk_id, err) != 0 ||
	    drv_int(req, "kyber_prekey_id", 0, 0xffffffff, &kyber_id, err) != 0)
		return -1;
	kpk = calloc(1, sizeof(*kpk));
	if (kpk == NULL)
		return drv_fail(err, "internal", "out of memory");
	memset(&opk, 0, sizeof(opk));
	rc = sotto_signed_prekey_generate(&spk, (uint32_t)spk_id, now, &p->id, sotto_rng_system,
					  NULL);
	if (rc == 0)
		rc = sotto_kyber_prekey_generate(kpk, (uint32_t)kyber_id, now, &p->id,
						 sotto_rng_system, NULL);
	if (rc == 0 && pre_id >= 0)
		rc = sotto_prekey_generate(&opk, (uint32_t)pre_id, sotto_rng_system, NULL);
	if (rc == 0 && pre_id >= 0)
		rc = p->stores.prekey.store(p->stores.prekey.ctx, &opk);
	if (rc == 0)
		rc = p->stores.signed_prekey.store(p->stores.signed_prekey.ctx, &spk);
	if (rc == 0)
		rc = p->stores.kyber_prekey.store(p->stores.kyber_prekey.ctx, kpk);
	if (rc != 0) {
		drv_fail_rc(err, rc, "generate_bundle");
		goto done;
	}
	b = json_object();
	if (b == NULL) {
		drv_fail(err, "internal", "out of memory");
		goto done;
	}
	json_object_set_new(res, "bundle", b);
	json_object_set_new(b, "registration_id", json_integer(p->reg_id));
	json_object_set_new(b, "device_id", json_integer(p->device_id));
	if (pre_id >= 0) {
		json_object_set_new(b, "prekey_id", json_integer(pre_id));
		if (drv_set_b64(b, "prekey", opk.key.pub, sizeof(opk.key.pub), err) != 0)
			goto done;
	} else {
		json_object_set_new(b, "prekey_id", json_null());
		json_object_set_new(b, "prekey", json_null());
	}
	json_object_set_new(b, "signed_prekey_id", json_integer(spk_id));
	if (drv_set_b64(b, "signed_prekey", spk.key.pub, sizeof(spk.key.pub), err) != 0 ||
	    drv_set_b64(b, "signed_prekey_signature", spk.signature, sizeof(spk.signature), err) !=
		    0 ||
	    drv_set_b64(b, "identity_key", p->id.pub, sizeof(p->id.pub), err) != 0)
		goto done;
	json_object_set_new(b, "kyber_prekey_id", json_integer(kyber_id));
	if (drv_set_b64(b, "kyber_prekey", kpk->pub, sizeof(kpk->pub), err) != 0 ||
	    drv_set_b64(b, "kyber_prekey_signature", kpk->signature, sizeof(kpk->signature), err) !=
		    0)
		goto done;
	ret = 0;
done:
	sotto_memzero(&opk, sizeof(opk));
	sotto_memzero(&spk, sizeof(spk));
	sotto_memzero(kpk, sizeof(*kpk));
	free(kpk);
	return ret;
}

static int op_trust(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	const char *peer;
	uint8_t key[SOTTO_EC_PUBLIC_BYTES];
	int rc;

	(void)res;
	if (drv_party_field(req, "party", &p, err) != 0 || drv_str(req, "peer", &peer, err) != 0 ||
	    drv_pubkey(req, "identity_key", key, err) != 0)
		return -1;
	rc = sotto_protocol_memstore_set_identity(p->ms, peer, key);
	return rc != 0 ? drv_fail_rc(err, rc, "trust") : 0;
}

static int op_sign(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	uint8_t *msg, sig[SOTTO_SIGNATURE_BYTES];
	size_t n;
	int rc;

	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_bytes(req, "message", &msg, &n, err) != 0)
		return -1;
	rc = sotto_identity_sign(sig, &p->id, msg, n, sotto_rng_system, NULL);
	drv_free_bytes(msg, n);
	if (rc != 0)
		return drv_fail_rc(err, rc, "sign");
	return drv_set_b64(res, "signature", sig, sizeof(sig), err);
}

static int op_verify(json_t *req, json_t *res, drv_err *err)
{
	uint8_t key[SOTTO_EC_PUBLIC_BYTES], *msg = NULL, *sig = NULL;
	size_t n = 0, sn = 0;
	int valid = 0;

	if (drv_pubkey(req, "public_key", key, err) != 0 ||
	    drv_bytes(req, "message", &msg, &n, err) != 0 ||
	    drv_bytes(req, "signature", &sig, &sn, err) != 0) {
		drv_free_bytes(msg, n);
		return -1;
	}
	/* A signature of the wrong length is simply not valid. */
	if (sn == SOTTO_SIGNATURE_BYTES)
		valid = sotto_identity_verify(key, msg, n, sig) == 0;
	drv_free_bytes(msg, n);
	drv_free_bytes(sig, sn);
	json_object_set_new(res, "valid", json_boolean(valid));
	return 0;
}

static int op_has_session(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	sotto_address remote;
	int has = 0, rc;

	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_address(req, "peer", "peer_device", &remote, err) != 0)
		return -1;
	rc = sotto_session_has_current(&p->stores, &remote, drv_now_ms(), &has);
	if (rc != 0)
		return drv_fail_rc(err, rc, "has_session");
	json_object_set_new(res, "session", json_boolean(has));
	return 0;
}

static int op_version(json_t *req, json_t *res, drv_err *err)
{
	(void)req;
	(void)err;
	json_object_set_new(res, "protocol", json_integer(1));
	json_object_set_new(res, "implementation", json_string("libsotto " SOTTO_VERSION_STRING));
	return 0;
}

const drv_op drv_party_ops[] = {
	{ "create_party", op_create_party },
	{ "identity", op_identity },
	{ "generate_bundle", op_generate_bundle },
	{ "trust", op_trust },
	{ "sign", op_sign },
	{ "verify", op_verify },
	{ "has_session", op_has_session },
	{ "version", op_version },
	{ NULL, NULL },
};
