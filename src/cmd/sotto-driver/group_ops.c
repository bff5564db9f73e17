/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sender-key ops: skdm_create, skdm_process, group_encrypt, group_decrypt,
 * sender_key_reset. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static int op_skdm_create(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	uint8_t dist[16], out[SOTTO_SKDM_MAX_BYTES];
	size_t n = 0;
	int rc;

	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_uuid(req, "distribution_id", dist, err) != 0)
		return -1;
	rc = sotto_group_skdm_create(&p->sk, p->name, p->device_id, dist, sotto_rng_system, NULL,
				     out, sizeof(out), &n);
	if (rc != 0)
		return drv_fail_rc(err, rc, "skdm_create");
	return drv_set_b64(res, "skdm", out, n, err);
}

static int op_skdm_process(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	sotto_address sender;
	uint8_t *m;
	size_t n;
	int rc;

	(void)res;
	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_address(req, "sender", "sender_device", &sender, err) != 0 ||
	    drv_bytes(req, "skdm", &m, &n, err) != 0)
		return -1;
	rc = sotto_group_skdm_process(&p->sk, sender.name, sender.device_id, m, n);
	drv_free_bytes(m, n);
	if (rc == SOTTO_ERR_INVALID_KEY)
		rc = SOTTO_ERR_INVALID_MESSAGE; /* bad key bytes inside a message */
	return rc != 0 ? drv_fail_rc(err, rc, "skdm_process") : 0;
}

static int op_group_encrypt(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	uint8_t dist[16], *pt, *ct;
	size_t n, cap, ctlen = 0;
	int rc;

	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_uuid(req, "distribution_id", dist, err) != 0 ||
	    drv_bytes(req, "plaintext", &pt, &n, err) != 0)
		return -1;
	cap = SOTTO_GROUP_CIPHERTEXT_MAX(n);
	ct = malloc(cap);
	if (ct == NULL) {
		drv_free_bytes(pt, n);
		return drv_fail(err, "internal", "out of memory");
	}
	rc = sotto_group_encrypt(&p->sk, p->name, p->device_id, dist, sotto_rng_system, NULL, pt,
				 n, ct, cap, &ctlen);
	if (rc == 0)
		rc = drv_set_b64(res, "ciphertext", ct, ctlen, err);
	else
		rc = drv_fail_rc(err, rc, "group_encrypt");
	drv_free_bytes(pt, n);
	free(ct);
	return rc;
}

static int op_group_decrypt(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	sotto_address sender;
	uint8_t *ct, *pt;
	size_t n, ptlen = 0;
	int rc;

	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_address(req, "sender", "sender_device", &sender, err) != 0 ||
	    drv_bytes(req, "ciphertext", &ct, &n, err) != 0)
		return -1;
	pt = malloc(n ? n : 1);
	if (pt == NULL) {
		drv_free_bytes(ct, n);
		return drv_fail(err, "internal", "out of memory");
	}
	rc = sotto_group_decrypt(&p->sk, sender.name, sender.device_id, ct, n, pt, n ? n : 1,
				 &ptlen);
	if (rc == 0) {
		rc = drv_set_b64(res, "plaintext", pt, ptlen, err);
	} else {
		if (rc == SOTTO_ERR_INVALID_KEY || rc == SOTTO_ERR_BUFFER_TOO_SMALL)
			rc = SOTTO_ERR_INVALID_MESSAGE;
		rc = drv_fail_rc(err, rc, "group_decrypt");
	}
	drv_free_bytes(ct, n);
	drv_free_bytes(pt, n ? n : 1);
	return rc;
}

/* Extension: forget our own sender key for a distribution id, so that the
 * next skdm_create starts a new chain. The memstore has no delete, so the
 * party's table filters: a reset key reads as absent until it is stored
 * again. */
struct drv_reset {
	struct drv_reset *next;
	char *name;
	uint32_t dev;
	uint8_t dist[16];
};

static struct drv_reset **find_reset(drv_party *p, const char *name, uint32_t dev,
				     const uint8_t dist[16])
{
	struct drv_reset **r;

	for (r = &p->resets; *r != NULL; r = &(*r)->next)
		if ((*r)->dev == dev && memcmp((*r)->dist, dist, 16) == 0 &&
		    strcmp((*r)->name, name) == 0)
			return r;
	return NULL;
}

static int f_load(void *ctx, const char *name, uint32_t dev, const uint8_t dist[16], uint8_t *buf,
		  size_t cap, size_t *len)
{
	drv_party *p = ctx;

	if (find_reset(p, name, dev, dist) != NULL)
		return SOTTO_ERR_NOT_FOUND;
	return p->sk_inner.load(p->sk_inner.ctx, name, dev, dist, buf, cap, len);
}

static int f_store(void *ctx, const char *name, uint32_t dev, const uint8_t dist[16],
		   const uint8_t *rec, size_t len)
{
	drv_party *p = ctx;
	struct drv_reset **r;
	int rc = p->sk_inner.store(p->sk_inner.ctx, name, dev, dist, rec, len);

	if (rc == 0 && (r = find_reset(p, name, dev, dist)) != NULL) {
		struct drv_reset *x = *r;

		*r = x->next;
		free(x->name);
		free(x);
	}
	return rc;
}

void drv_party_sender_keys(drv_party *p)
{
	sotto_sender_key_memstore_table(p->skms, &p->sk_inner);
	p->sk.ctx = p;
	p->sk.load = f_load;
	p->sk.store = f_store;
}

void drv_party_resets_free(drv_party *p)
{
	while (p->resets != NULL) {
		struct drv_reset *n = p->resets->next;

		free(p->resets->name);
		free(p->resets);
		p->resets = n;
	}
}

static int op_sender_key_reset(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	struct drv_reset *r;
	uint8_t dist[16];

	(void)res;
	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_uuid(req, "distribution_id", dist, err) != 0)
		return -1;
	if (find_reset(p, p->name, p->device_id, dist) != NULL)
		return 0;
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->name = strdup(p->name)) == NULL) {
		free(r);
		return drv_fail(err, "internal", "out of memory");
	}
	r->dev = p->device_id;
	memcpy(r->dist, dist, 16);
	r->next = p->resets;
	p->resets = r;
	return 0;
}

const drv_op drv_group_ops[] = {
	{ "skdm_create", op_skdm_create },
	{ "skdm_process", op_skdm_process },
	{ "group_encrypt", op_group_encrypt },
	{ "group_decrypt", op_group_decrypt },
	{ "sender_key_reset", op_sender_key_reset },
	{ NULL, NULL },
};
