/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* 1:1 session ops: process_bundle, encrypt, decrypt. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/* A 64-byte signature field; another length cannot verify, so it is kept
 * as all zeros and the bundle check reports invalid_signature, as
 * libsignal does. */
static int sig_field(json_t *b, const char *name, uint8_t out[SOTTO_SIGNATURE_BYTES],
		     drv_err *err)
{
	uint8_t *s;
	size_t n;

	if (drv_bytes(b, name, &s, &n, err) != 0)
		return -1;
	memset(out, 0, SOTTO_SIGNATURE_BYTES);
	if (n == SOTTO_SIGNATURE_BYTES)
		memcpy(out, s, n);
	drv_free_bytes(s, n);
	return 0;
}

static int parse_bundle(json_t *b, sotto_prekey_bundle *pb, drv_err *err)
{
	int64_t v;
	uint8_t *k;
	size_t n;

	memset(pb, 0, sizeof(*pb));
	if (drv_int(b, "registration_id", 0, 0xffffffff, &v, err) != 0)
		return -1;
	pb->registration_id = (uint32_t)v;
	if (drv_int(b, "device_id", 1, 127, &v, err) != 0)
		return -1;
	pb->device_id = (uint32_t)v;
	if (drv_present(b, "prekey_id")) {
		if (drv_int(b, "prekey_id", 0, 0xffffffff, &v, err) != 0 ||
		    drv_pubkey(b, "prekey", pb->pre_key, err) != 0)
			return -1;
		pb->has_pre_key = 1;
		pb->pre_key_id = (uint32_t)v;
	}
	if (drv_int(b, "signed_prekey_id", 0, 0xffffffff, &v, err) != 0 ||
	    drv_pubkey(b, "signed_prekey", pb->signed_pre_key, err) != 0 ||
	    sig_field(b, "signed_prekey_signature", pb->signed_pre_key_signature, err) != 0 ||
	    drv_pubkey(b, "identity_key", pb->identity_key, err) != 0)
		return -1;
	pb->signed_pre_key_id = (uint32_t)v;
	if (drv_int(b, "kyber_prekey_id", 0, 0xffffffff, &v, err) != 0)
		return -1;
	pb->kyber_pre_key_id = (uint32_t)v;
	if (drv_bytes(b, "kyber_prekey", &k, &n, err) != 0)
		return -1;
	/* KEMPublicKey::deserialize: the type byte, then exactly the key. */
	if (n != SOTTO_KEM_PUBLIC_BYTES || k[0] != SOTTO_KEM_KEY_TYPE_KYBER1024) {
		drv_free_bytes(k, n);
		return drv_fail(err, "invalid_key", "kyber_prekey: bad KEM key");
	}
	memcpy(pb->kyber_pre_key, k, n);
	drv_free_bytes(k, n);
	return sig_field(b, "kyber_prekey_signature", pb->kyber_pre_key_signature, err);
}

static int op_process_bundle(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	sotto_address local, remote;
	sotto_prekey_bundle *pb;
	json_t *b;
	int rc;

	(void)res;
	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_address(req, "peer", "peer_device", &remote, err) != 0)
		return -1;
	b = json_object_get(req, "bundle");
	if (b == NULL)
		return drv_fail(err, "invalid_argument", "missing field \"bundle\"");
	if (!json_is_object(b))
		return drv_fail(err, "invalid_argument", "field \"bundle\" must be an object");
	pb = malloc(sizeof(*pb));
	if (pb == NULL)
		return drv_fail(err, "internal", "out of memory");
	rc = parse_bundle(b, pb, err);
	if (rc == 0) {
		local.name = p->name;
		local.device_id = p->device_id;
		rc = sotto_session_process_bundle(&p->stores, &local, &remote, pb, drv_now_ms(),
						  sotto_rng_system, NULL);
		if (rc != 0)
			rc = drv_fail_rc(err, rc, "process_bundle");
	}
	free(pb);
	return rc;
}

static int op_encrypt(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	sotto_address local, remote;
	uint8_t *pt, *ct;
	size_t n, cap, ctlen = 0;
	int type = 0, rc;

	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_address(req, "peer", "peer_device", &remote, err) != 0 ||
	    drv_bytes(req, "plaintext", &pt, &n, err) != 0)
		return -1;
	local.name = p->name;
	local.device_id = p->device_id;
	cap = sotto_session_encrypt_bound(n);
	ct = malloc(cap);
	if (ct == NULL) {
		drv_free_bytes(pt, n);
		return drv_fail(err, "internal", "out of memory");
	}
	rc = sotto_session_encrypt(&p->stores, &local, &remote, pt, n, drv_now_ms(),
				   sotto_rng_system, NULL, ct, cap, &ctlen, &type);
	if (rc == 0) {
		json_object_set_new(res, "type", json_integer(type));
		rc = drv_set_b64(res, "ciphertext", ct, ctlen, err);
	} else {
		rc = drv_fail_rc(err, rc, "encrypt");
	}
	drv_free_bytes(pt, n);
	free(ct);
	return rc;
}

static int op_decrypt(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	sotto_address local, remote;
	uint8_t *ct, *pt;
	size_t n, ptlen = 0;
	int64_t type;
	int rc;

	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_address(req, "peer", "peer_device", &remote, err) != 0 ||
	    drv_int(req, "type", 0, 0xffffffff, &type, err) != 0 ||
	    drv_bytes(req, "ciphertext", &ct, &n, err) != 0)
		return -1;
	if (type != 2 && type != 3) {
		drv_free_bytes(ct, n);
		return drv_fail(err, "invalid_argument", "message type %lld is not 2 or 3",
				(long long)type);
	}
	local.name = p->name;
	local.device_id = p->device_id;
	pt = malloc(n ? n : 1);
	if (pt == NULL) {
		drv_free_bytes(ct, n);
		return drv_fail(err, "internal", "out of memory");
	}
	rc = sotto_session_decrypt(&p->stores, &local, &remote, (int)type, ct, n,
				   sotto_rng_system, NULL, pt, n, &ptlen);
	if (rc == 0) {
		rc = drv_set_b64(res, "plaintext", pt, ptlen, err);
	} else {
		if (rc == SOTTO_ERR_INVALID_KEY || rc == SOTTO_ERR_INVALID_SIGNATURE ||
		    rc == SOTTO_ERR_INVALID_ARGUMENT || rc == SOTTO_ERR_BUFFER_TOO_SMALL)
			rc = SOTTO_ERR_INVALID_MESSAGE; /* undecryptable input */
		rc = drv_fail_rc(err, rc, "decrypt");
	}
	drv_free_bytes(ct, n);
	drv_free_bytes(pt, n ? n : 1);
	return rc;
}

const drv_op drv_session_ops[] = {
	{ "process_bundle", op_process_bundle },
	{ "encrypt", op_encrypt },
	{ "decrypt", op_decrypt },
	{ NULL, NULL },
};
