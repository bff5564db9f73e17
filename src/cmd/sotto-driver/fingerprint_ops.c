/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Safety-number ops: fingerprint, fingerprint_compare. */
#include <stdlib.h>

#include "driver.h"

static int op_fingerprint(json_t *req, json_t *res, drv_err *err)
{
	int64_t version, iterations;
	uint8_t lk[33], rk[33], *lid = NULL, *rid = NULL;
	uint8_t scan[SOTTO_FINGERPRINT_SCANNABLE_MAX];
	char disp[SOTTO_FINGERPRINT_DISPLAY_DIGITS + 1];
	size_t ln = 0, rn = 0, sn = 0;
	int rc = -1, r;

	if (drv_int(req, "version", 0, 0xffffffff, &version, err) != 0 ||
	    drv_int(req, "iterations", 0, 0xffffffff, &iterations, err) != 0 ||
	    drv_pubkey(req, "local_key", lk, err) != 0 ||
	    drv_pubkey(req, "remote_key", rk, err) != 0 ||
	    drv_bytes(req, "local_id", &lid, &ln, err) != 0 ||
	    drv_bytes(req, "remote_id", &rid, &rn, err) != 0)
		goto done;
	r = sotto_fingerprint_create(disp, scan, sizeof(scan), &sn, (uint32_t)iterations,
				     (uint32_t)version, lid, ln, lk, rid, rn, rk);
	if (r != 0) {
		/* Every fingerprint error is invalid_argument (README). */
		drv_fail(err, r == SOTTO_ERR_INVALID_KEY ? "invalid_key" : "invalid_argument",
			 "fingerprint: %s", sotto_strerror(r));
		goto done;
	}
	json_object_set_new(res, "displayable", json_string(disp));
	rc = drv_set_b64(res, "scannable", scan, sn, err);
done:
	drv_free_bytes(lid, ln);
	drv_free_bytes(rid, rn);
	return rc;
}

static int op_fingerprint_compare(json_t *req, json_t *res, drv_err *err)
{
	uint8_t *a = NULL, *b = NULL;
	size_t an = 0, bn = 0;
	int match = 0, r, rc = -1;

	if (drv_bytes(req, "scannable_a", &a, &an, err) != 0 ||
	    drv_bytes(req, "scannable_b", &b, &bn, err) != 0)
		goto done;
	r = sotto_fingerprint_compare(a, an, b, bn, &match);
	if (r != 0) {
		drv_fail(err, "invalid_argument", "fingerprint_compare: %s", sotto_strerror(r));
		goto done;
	}
	json_object_set_new(res, "match", json_boolean(match));
	rc = 0;
done:
	drv_free_bytes(a, an);
	drv_free_bytes(b, bn);
	return rc;
}

const drv_op drv_fingerprint_ops[] = {
	{ "fingerprint", op_fingerprint },
	{ "fingerprint_compare", op_fingerprint_compare },
	{ NULL, NULL },
};
