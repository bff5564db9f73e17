/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed sender ops, as tests/interop/README.md documents them (and
 * libsignal-driver.mjs does them): certificates, v1 and v2 sealing, the v2
 * server split and decryption. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "sealed_sender.pb-c.h"

#define CERT_MAX 4096

/* A 32-byte private key field (PrivateKey.deserialize: exactly 32 bytes). */
static int privkey(json_t *req, const char *name, sotto_ec_keypair *kp, drv_err *err)
{
	uint8_t *b;
	size_t n;
	int rc;

	if (drv_bytes(req, name, &b, &n, err) != 0)
		return -1;
	rc = n == SOTTO_EC_PRIVATE_BYTES ? sotto_ec_keypair_from_private(kp, b) : -1;
	drv_free_bytes(b, n);
	return rc != 0 ? drv_fail(err, "invalid_key", "%s: bad private key", name) : 0;
}

static int opt_keypair(json_t *req, const char *name, sotto_ec_keypair *kp, drv_err *err)
{
	int rc;

	if (drv_present(req, name))
		return privkey(req, name, kp, err);
	rc = sotto_ec_keypair_generate(kp, sotto_rng_system, NULL);
	return rc != 0 ? drv_fail_rc(err, rc, name) : 0;
}

static int op_server_certificate(json_t *req, json_t *res, drv_err *err)
{
	sotto_ec_keypair root, server;
	uint8_t cert[CERT_MAX];
	size_t n = 0;
	int64_t id;
	int rc = -1, r;

	if (drv_int(req, "key_id", 0, 0xffffffff, &id, err) != 0 ||
	    opt_keypair(req, "trust_root_private", &root, err) != 0 ||
	    opt_keypair(req, "server_private", &server, err) != 0)
		goto done;
	r = sotto_server_cert_create((uint32_t)id, server.pub, root.priv, sotto_rng_system, NULL,
				     cert, sizeof(cert), &n);
	if (r != 0) {
		drv_fail_rc(err, r, "server certificate");
		goto done;
	}
	if (drv_set_b64(res, "certificate", cert, n, err) != 0 ||
	    drv_set_b64(res, "trust_root_public", root.pub, sizeof(root.pub), err) != 0 ||
	    drv_set_b64(res, "trust_root_private", root.priv, sizeof(root.priv), err) != 0 ||
	    drv_set_b64(res, "server_public", server.pub, sizeof(server.pub), err) != 0 ||
	    drv_set_b64(res, "server_private", server.priv, sizeof(server.priv), err) != 0)
		goto done;
	rc = 0;
done:
	sotto_memzero(&root, sizeof(root));
	sotto_memzero(&server, sizeof(server));
	return rc;
}

static int op_sender_certificate(json_t *req, json_t *res, drv_err *err)
{
	const char *uuid, *e164 = NULL;
	char lower[37];
	uint8_t u[16], key[33], *server = NULL, cert[CERT_MAX];
	sotto_ec_keypair sk;
	int64_t dev, expires;
	size_t sn = 0, n = 0, i;
	int rc = -1, r;

	memset(&sk, 0, sizeof(sk));
	if (drv_uuid(req, "sender_uuid", u, err) != 0 || drv_str(req, "sender_uuid", &uuid, err) != 0)
		return -1;
	for (i = 0; i < 36; i++)
		lower[i] = (char)(uuid[i] >= 'A' && uuid[i] <= 'F' ? uuid[i] | 0x20 : uuid[i]);
	lower[36] = '\0';
	if (drv_present(req, "sender_e164") && drv_str(req, "sender_e164", &e164, err) != 0)
		return -1;
	if (drv_int(req, "sender_device", 1, 127, &dev, err) != 0 ||
	    drv_pubkey(req, "identity_key", key, err) != 0 ||
	    drv_int(req, "expires", 0, 9007199254740991LL, &expires, err) != 0 ||
	    drv_bytes(req, "server_certificate", &server, &sn, err) != 0 ||
	    privkey(req, "server_private", &sk, err) != 0)
		goto done;
	r = sotto_sender_cert_create(lower, e164, (uint32_t)dev, key, (uint64_t)expires, server, sn,
				     sk.priv, sotto_rng_system, NULL, cert, sizeof(cert), &n);
	if (r != 0) {
		drv_fail(err, r == SOTTO_ERR_INVALID_KEY ? "invalid_key" : "invalid_certificate",
			 "sender certificate: %s", sotto_strerror(r));
		goto done;
	}
	rc = drv_set_b64(res, "certificate", cert, n, err);
done:
	drv_free_bytes(server, sn);
	sotto_memzero(&sk, sizeof(sk));
	return rc;
}

static int sender_cert_field(json_t *req, const char *name, sotto_sender_cert **c, drv_err *err)
{
	uint8_t *b;
	size_t n;
	int rc;

	*c = NULL;
	if (drv_bytes(req, name, &b, &n, err) != 0)
		return -1;
	rc = sotto_sender_cert_parse(b, n, c);
	drv_free_bytes(b, n);
	return rc != 0 ? drv_fail(err, "invalid_certificate", "%s does not parse", name) : 0;
}

/* The server certificate's key id, read from the embedded signer (or the
 * built-in id reference). */
static uint32_t server_key_id(const sotto_sender_cert *c)
{
	Sotto__Sealed__SenderCertificate *sc;
	Sotto__Sealed__SenderCertificateData *d = NULL;
	Sotto__Sealed__ServerCertificate *srv = NULL;
	Sotto__Sealed__ServerCertificateData *sd = NULL;
	const uint8_t *raw;
	size_t len = 0;
	uint32_t id = 0;

	raw = sotto_sender_cert_serialized(c, &len);
	sc = sotto__sealed__sender_certificate__unpack(NULL, len, raw);
	if (sc == NULL)
		return 0;
	if (sc->has_certificate)
		d = sotto__sealed__sender_certificate_data__unpack(NULL, sc->certificate.len,
								   sc->certificate.data);
	if (d != NULL && d->signer_case == SOTTO__SEALED__SENDER_CERTIFICATE_DATA__SIGNER_ID)
		id = d->id;
	if (d != NULL &&
	    d->signer_case == SOTTO__SEALED__SENDER_CERTIFICATE_DATA__SIGNER_CERTIFICATE)
		srv = sotto__sealed__server_certificate__unpack(NULL, d->certificate.len,
								d->certificate.data);
	if (srv != NULL && srv->has_certificate)
		sd = sotto__sealed__server_certificate_data__unpack(NULL, srv->certificate.len,
								    srv->certificate.data);
	if (sd != NULL)
		id = sd->id;
	if (sd != NULL)
		sotto__sealed__server_certificate_data__free_unpacked(sd, NULL);
	if (srv != NULL)
		sotto__sealed__server_certificate__free_unpacked(srv, NULL);
	if (d != NULL)
		sotto__sealed__sender_certificate_data__free_unpacked(d, NULL);
	sotto__sealed__sender_certificate__free_unpacked(sc, NULL);
	return id;
}

static int op_certificate_validate(json_t *req, json_t *res, drv_err *err)
{
	sotto_sender_cert *c = NULL;
	uint8_t root[1][33];
	int64_t ts;
	const char *e164;
	int rc = -1;

	if (sender_cert_field(req, "certificate", &c, err) != 0 ||
	    drv_pubkey(req, "trust_root", root[0], err) != 0 ||
	    drv_int(req, "timestamp", 0, 9007199254740991LL, &ts, err) != 0)
		goto done;
	json_object_set_new(res, "valid",
			    json_boolean(sotto_sender_cert_validate(c, (const uint8_t(*)[33])root, 1, (uint64_t)ts) == 0));
	json_object_set_new(res, "sender_uuid", json_string(sotto_sender_cert_uuid(c, NULL)));
	e164 = sotto_sender_cert_e164(c, NULL);
	json_object_set_new(res, "sender_e164", e164 ? json_string(e164) : json_null());
	json_object_set_new(res, "sender_device", json_integer(sotto_sender_cert_device(c)));
	if (drv_set_b64(res, "identity_key", sotto_sender_cert_identity_key(c), 33, err) != 0)
		goto done;
	json_object_set_new(res, "expires", json_integer((json_int_t)sotto_sender_cert_expires(c)));
	json_object_set_new(res, "server_key_id", json_integer(server_key_id(c)));
	rc = 0;
done:
	sotto_sender_cert_free(c);
	return rc;
}

/* Optional content_hint and group_id. */
static int usmc_opts(json_t *req, uint32_t *hint, uint8_t **gid, size_t *gn, drv_err *err)
{
	int64_t h = 0;

	*gid = NULL;
	*gn = 0;
	if (drv_present(req, "content_hint") &&
	    drv_int(req, "content_hint", 0, 0xffffffff, &h, err) != 0)
		return -1;
	*hint = (uint32_t)h;
	if (drv_present(req, "group_id") && drv_bytes(req, "group_id", gid, gn, err) != 0)
		return -1;
	return 0;
}

static int op_encrypt_v1(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	sotto_address remote, certaddr;
	sotto_sender_cert *cert = NULL;
	uint8_t *pt = NULL, *gid = NULL, *inner = NULL, *usmc = NULL, *out = NULL;
	uint8_t dist[16], rik[33];
	const uint8_t *cbytes;
	size_t ptn = 0, gn = 0, icap, ilen = 0, ucap, ulen = 0, ocap, olen = 0, cn = 0;
	uint32_t hint = 0;
	int have_dist = 0, type = 0, rc = -1, r;

	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_address(req, "peer", "peer_device", &remote, err) != 0 ||
	    sender_cert_field(req, "sender_certificate", &cert, err) != 0 ||
	    drv_bytes(req, "plaintext", &pt, &ptn, err) != 0 ||
	    usmc_opts(req, &hint, &gid, &gn, err) != 0)
		goto done;
	if (drv_present(req, "distribution_id")) {
		if (drv_uuid(req, "distribution_id", dist, err) != 0)
			goto done;
		have_dist = 1;
	}
	/* The recipient's identity first: the one failure that could come after
	 * the inner encryption has advanced a session or chain. */
	r = p->stores.identity.get(p->stores.identity.ctx, &remote, rik);
	if (r != 0) {
		drv_fail(err, "no_session", "no identity key for %s", remote.name);
		goto done;
	}
	icap = have_dist ? SOTTO_GROUP_CIPHERTEXT_MAX(ptn) : sotto_session_encrypt_bound(ptn);
	inner = malloc(icap);
	if (inner == NULL) {
		drv_fail(err, "internal", "out of memory");
		goto done;
	}
	if (have_dist) {
		r = sotto_group_encrypt(&p->sk, p->name, p->device_id, dist, sotto_rng_system, NULL,
					pt, ptn, inner, icap, &ilen);
		type = SOTTO_SEALED_MSG_SENDERKEY;
	} else {
		/* As sealedSenderEncryptMessage: from (certificate uuid, device). */
		certaddr.name = sotto_sender_cert_uuid(cert, NULL);
		certaddr.device_id = sotto_sender_cert_device(cert);
		r = sotto_session_encrypt(&p->stores, &certaddr, &remote, pt, ptn, drv_now_ms(),
					  sotto_rng_system, NULL, inner, icap, &ilen, &type);
	}
	if (r != 0) {
		drv_fail_rc(err, r, "inner encrypt");
		goto done;
	}
	cbytes = sotto_sender_cert_serialized(cert, &cn);
	ucap = ilen + cn + gn + 64;
	ocap = SOTTO_SEALED_V1_MAX(ucap);
	usmc = malloc(ucap);
	out = malloc(ocap);
	if (usmc == NULL || out == NULL) {
		drv_fail(err, "internal", "out of memory");
		goto done;
	}
	r = sotto_usmc_encode(type, cbytes, cn, inner, ilen, hint, gid, gn, usmc, ucap, &ulen);
	if (r == 0)
		r = sotto_sealed_v1_encrypt(rik, p->id.pub, p->id.priv, usmc, ulen,
					    sotto_rng_system, NULL, out, ocap, &olen);
	if (r != 0) {
		drv_fail_rc(err, r, "sealed_encrypt_v1");
		goto done;
	}
	if (drv_set_b64(res, "ciphertext", out, olen, err) != 0)
		goto done;
	json_object_set_new(res, "message_type", json_integer(type));
	rc = 0;
done:
	sotto_sender_cert_free(cert);
	drv_free_bytes(pt, ptn);
	drv_free_bytes(gid, gn);
	drv_free_bytes(inner, inner ? icap : 0);
	drv_free_bytes(usmc, usmc ? ucap : 0);
	free(out);
	return rc;
}

/* ServiceIdFixed of a ServiceId string (ACI uuid or "PNI:" uuid). */
static int service_id_fixed(const char *name, uint8_t out[SOTTO_SERVICE_ID_FIXED_BYTES])
{
	uint8_t a[SOTTO_ADDRESSES_BYTES];

	if (sotto_addresses_build(a, name, 1, name, 1) != 0)
		return -1;
	memcpy(out, a, SOTTO_SERVICE_ID_FIXED_BYTES);
	return 0;
}

static int op_encrypt_v2(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	json_t *list, *ex, *it;
	sotto_sealed_v2_recipient *rs = NULL;
	uint8_t (*exs)[SOTTO_SERVICE_ID_FIXED_BYTES] = NULL;
	sotto_sender_cert *cert = NULL;
	uint8_t dist[16], *pt = NULL, *gid = NULL, *inner = NULL, *usmc = NULL, *out = NULL;
	const uint8_t *cbytes;
	size_t nr, nex = 0, i, ptn = 0, gn = 0, icap = 0, ilen = 0, ucap = 0, ulen = 0, ocap = 0;
	size_t olen = 0, cn = 0;
	uint32_t hint = 0;
	int rc = -1, r;

	if (drv_party_field(req, "party", &p, err) != 0)
		return -1;
	list = json_object_get(req, "recipients");
	if (!json_is_array(list) || json_array_size(list) == 0)
		return drv_fail(err, "invalid_argument",
				"field \"recipients\" must be a non-empty array");
	nr = json_array_size(list);
	rs = calloc(nr, sizeof(*rs));
	if (rs == NULL)
		return drv_fail(err, "internal", "out of memory");
	for (i = 0; i < nr; i++) {
		sotto_address a;

		if (drv_address(json_array_get(list, i), "peer", "peer_device", &a, err) != 0)
			goto done;
		rs[i].device_id = a.device_id;
	}
	ex = json_object_get(req, "excluded");
	if (ex != NULL && !json_is_null(ex)) {
		if (!json_is_array(ex)) {
			drv_fail(err, "invalid_argument", "field \"excluded\" must be an array");
			goto done;
		}
		nex = json_array_size(ex);
		exs = calloc(nex ? nex : 1, sizeof(*exs));
		if (exs == NULL) {
			drv_fail(err, "internal", "out of memory");
			goto done;
		}
		for (i = 0; i < nex; i++) {
			it = json_array_get(ex, i);
			if (!json_is_string(it) || service_id_fixed(json_string_value(it), exs[i]) != 0) {
				drv_fail(err, "invalid_argument", "excluded entry is not a ServiceId");
				goto done;
			}
		}
	}
	if (sender_cert_field(req, "sender_certificate", &cert, err) != 0 ||
	    drv_uuid(req, "distribution_id", dist, err) != 0 ||
	    drv_bytes(req, "plaintext", &pt, &ptn, err) != 0 ||
	    usmc_opts(req, &hint, &gid, &gn, err) != 0)
		goto done;
	/* Every recipient needs a session (its registration id goes on the
	 * wire) and a known identity; checked before the group chain moves. */
	for (i = 0; i < nr; i++) {
		sotto_address a;
		sotto_session_record *rec = NULL;
		const sotto_session_state *st;

		a.name = json_string_value(json_object_get(json_array_get(list, i), "peer"));
		a.device_id = rs[i].device_id;
		r = sotto_session_load(&p->stores, &a, &rec);
		st = rec ? sotto_session_record_current(rec) : NULL;
		if (r == 0 && st == NULL)
			r = SOTTO_ERR_NO_SESSION;
		if (r == 0)
			rs[i].registration_id = sotto_session_state_remote_registration_id(st);
		sotto_session_record_free(rec);
		if (r != 0) {
			drv_fail_rc(err, r, "recipient session");
			goto done;
		}
		if (p->stores.identity.get(p->stores.identity.ctx, &a, rs[i].identity_key) != 0) {
			drv_fail(err, "no_session", "no identity key for %s", a.name);
			goto done;
		}
		if (service_id_fixed(a.name, rs[i].service_id) != 0) {
			drv_fail(err, "invalid_argument", "recipient \"%s\" is not a ServiceId",
				 a.name);
			goto done;
		}
	}
	icap = SOTTO_GROUP_CIPHERTEXT_MAX(ptn);
	inner = malloc(icap);
	if (inner == NULL) {
		drv_fail(err, "internal", "out of memory");
		goto done;
	}
	r = sotto_group_encrypt(&p->sk, p->name, p->device_id, dist, sotto_rng_system, NULL, pt,
				ptn, inner, icap, &ilen);
	if (r != 0) {
		drv_fail_rc(err, r, "group_encrypt");
		goto done;
	}
	cbytes = sotto_sender_cert_serialized(cert, &cn);
	ucap = ilen + cn + gn + 64;
	ocap = SOTTO_SEALED_V2_MAX(nr, nex, ucap);
	usmc = malloc(ucap);
	out = malloc(ocap);
	if (usmc == NULL || out == NULL) {
		drv_fail(err, "internal", "out of memory");
		goto done;
	}
	r = sotto_usmc_encode(SOTTO_SEALED_MSG_SENDERKEY, cbytes, cn, inner, ilen, hint, gid, gn,
			      usmc, ucap, &ulen);
	if (r == 0)
		r = sotto_sealed_v2_encrypt(rs, nr, (const uint8_t(*)[SOTTO_SERVICE_ID_FIXED_BYTES])exs,
					    nex, p->id.pub, p->id.priv, usmc, ulen,
					    sotto_rng_system, NULL, out, ocap, &olen);
	if (r != 0) {
		drv_fail_rc(err, r, "sealed_encrypt_v2");
		goto done;
	}
	if (drv_set_b64(res, "sent", out, olen, err) != 0)
		goto done;
	json_object_set_new(res, "message_type", json_integer(SOTTO_SEALED_MSG_SENDERKEY));
	rc = 0;
done:
	free(rs);
	free(exs);
	sotto_sender_cert_free(cert);
	drv_free_bytes(pt, ptn);
	drv_free_bytes(gid, gn);
	drv_free_bytes(inner, inner ? icap : 0);
	drv_free_bytes(usmc, usmc ? ucap : 0);
	free(out);
	return rc;
}

/* The ServiceId string of a fixed-width id (16-byte ACI when width is 16). */
static json_t *service_id_string(const uint8_t *sid, size_t width)
{
	static const char H[] = "0123456789abcdef";
	char s[4 + 37], *o = s;
	const uint8_t *u = width == 17 ? sid + 1 : sid;
	size_t i;

	if (width == 17 && sid[0] == 1) {
		memcpy(o, "PNI:", 4);
		o += 4;
	}
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = H[u[i] >> 4];
		*o++ = H[u[i] & 15];
	}
	*o = '\0';
	return json_string(s);
}

/* Lists the recipients and excluded ids of a sent form that
 * sotto_sealed_v2_split has already checked. */
static int list_entries(const uint8_t *m, size_t n, json_t *recips, json_t *excl)
{
	size_t pos = 1, width = m[0] == SOTTO_SEALED_V2_SENT_VERSION ? 17 : 16, k;
	uint64_t count = 0;
	unsigned shift = 0;

	for (;;) {
		if (pos >= n || shift > 56)
			return -1;
		count |= (uint64_t)(m[pos] & 0x7f) << shift;
		shift += 7;
		if (!(m[pos++] & 0x80))
			break;
	}
	for (k = 0; k < count; k++) {
		const uint8_t *sid = m + pos;
		int excluded = 0;

		if (n - pos < width + 1)
			return -1;
		pos += width;
		if (m[pos] == 0) {
			excluded = 1;
			pos++;
		} else {
			for (;;) {
				if (n - pos < 3)
					return -1;
				pos += 3;
				if (!(m[pos - 2] & 0x80))
					break;
			}
			if (n - pos < 48)
				return -1;
			pos += 48;
		}
		json_array_append_new(excluded ? excl : recips, service_id_string(sid, width));
	}
	return 0;
}

static int op_v2_split(json_t *req, json_t *res, drv_err *err)
{
	const char *who;
	uint8_t *sent = NULL, *out = NULL, sid[SOTTO_SERVICE_ID_FIXED_BYTES], dev[128];
	uint16_t regs[128];
	size_t n = 0, olen = 0, nd = 0, i;
	json_t *d, *r, *rl, *el;
	int rc = -1, x;

	if (drv_bytes(req, "sent", &sent, &n, err) != 0 || drv_str(req, "recipient", &who, err) != 0)
		goto done;
	if (service_id_fixed(who, sid) != 0) {
		drv_fail(err, "invalid_argument", "recipient \"%s\" is not a ServiceId string", who);
		goto done;
	}
	out = malloc(n ? n : 1);
	if (out == NULL) {
		drv_fail(err, "internal", "out of memory");
		goto done;
	}
	x = sotto_sealed_v2_split(sent, n, sid, out, n, &olen, dev, regs, 128, &nd);
	if (x == SOTTO_ERR_NOT_FOUND) {
		drv_fail(err, "invalid_argument", "recipient \"%s\" is not in the message", who);
		goto done;
	}
	if (x != 0) {
		drv_fail(err, "invalid_message", "sealed_v2_split: %s", sotto_strerror(x));
		goto done;
	}
	if (drv_set_b64(res, "message", out, olen, err) != 0)
		goto done;
	d = json_array();
	r = json_array();
	rl = json_array();
	el = json_array();
	json_object_set_new(res, "device_ids", d);
	json_object_set_new(res, "registration_ids", r);
	json_object_set_new(res, "recipients", rl);
	json_object_set_new(res, "excluded", el);
	for (i = 0; i < nd && i < 128; i++) {
		json_array_append_new(d, json_integer(dev[i]));
		json_array_append_new(r, json_integer(regs[i]));
	}
	if (list_entries(sent, n, rl, el) != 0) {
		drv_fail(err, "invalid_message", "malformed recipient list");
		goto done;
	}
	rc = 0;
done:
	drv_free_bytes(sent, n);
	free(out);
	return rc;
}

static int op_sealed_decrypt(json_t *req, json_t *res, drv_err *err)
{
	drv_party *p;
	sotto_usmc *u = NULL;
	const sotto_sender_cert *c;
	uint8_t *msg = NULL, root[1][33], *pt = NULL;
	const uint8_t *content, *gid;
	const char *luuid, *le164 = NULL, *suuid, *se164;
	int64_t ts, ldev;
	size_t n = 0, cn = 0, ptlen = 0, gn = 0;
	sotto_address remote, local;
	int type, rc = -1, r;

	if (drv_party_field(req, "party", &p, err) != 0 ||
	    drv_bytes(req, "ciphertext", &msg, &n, err) != 0 ||
	    drv_pubkey(req, "trust_root", root[0], err) != 0 ||
	    drv_int(req, "timestamp", 0, 9007199254740991LL, &ts, err) != 0)
		goto done;
	luuid = p->name;
	if (drv_present(req, "local_uuid") && drv_str(req, "local_uuid", &luuid, err) != 0)
		goto done;
	ldev = p->device_id;
	if (drv_present(req, "local_device") && drv_int(req, "local_device", 1, 127, &ldev, err) != 0)
		goto done;
	if (drv_present(req, "local_e164") && drv_str(req, "local_e164", &le164, err) != 0)
		goto done;
	r = sotto_sealed_decrypt_to_usmc(p->id.pub, p->id.priv, msg, n, &u);
	if (r != 0) {
		drv_fail(err, "invalid_message", "unseal: %s", sotto_strerror(r));
		goto done;
	}
	c = sotto_usmc_sender(u);
	if (sotto_sender_cert_validate(c, (const uint8_t(*)[33])root, 1, (uint64_t)ts) != 0) {
		drv_fail(err, "invalid_certificate", "sender certificate is not valid");
		goto done;
	}
	suuid = sotto_sender_cert_uuid(c, NULL);
	se164 = sotto_sender_cert_e164(c, NULL);
	if ((strcmp(suuid, luuid) == 0 || (se164 != NULL && le164 != NULL &&
					   strcmp(se164, le164) == 0)) &&
	    sotto_sender_cert_device(c) == (uint32_t)ldev) {
		drv_fail(err, "invalid_certificate", "sealed sender self send");
		goto done;
	}
	type = sotto_usmc_type(u);
	content = sotto_usmc_content(u, &cn);
	pt = malloc(cn ? cn : 1);
	if (pt == NULL) {
		drv_fail(err, "internal", "out of memory");
		goto done;
	}
	remote.name = suuid;
	remote.device_id = sotto_sender_cert_device(c);
	local.name = luuid;
	local.device_id = (uint32_t)ldev;
	if (type == SOTTO_SEALED_MSG_WHISPER || type == SOTTO_SEALED_MSG_PREKEY) {
		r = sotto_session_decrypt(&p->stores, &local, &remote, type, content, cn,
					  sotto_rng_system, NULL, pt, cn ? cn : 1, &ptlen);
	} else if (type == SOTTO_SEALED_MSG_SENDERKEY) {
		r = sotto_group_decrypt(&p->sk, remote.name, remote.device_id, content, cn, pt,
					cn ? cn : 1, &ptlen);
	} else if (type == SOTTO_SEALED_MSG_PLAINTEXT) {
		if (cn != 0)
			memcpy(pt, content, cn);
		ptlen = cn;
		r = 0;
	} else {
		r = SOTTO_ERR_INVALID_MESSAGE;
	}
	if (r != 0) {
		if (r == SOTTO_ERR_INVALID_KEY || r == SOTTO_ERR_INVALID_ARGUMENT ||
		    r == SOTTO_ERR_BUFFER_TOO_SMALL)
			r = SOTTO_ERR_INVALID_MESSAGE;
		drv_fail_rc(err, r, "sealed_decrypt");
		goto done;
	}
	if (drv_set_b64(res, "plaintext", pt, ptlen, err) != 0)
		goto done;
	json_object_set_new(res, "message_type", json_integer(type));
	json_object_set_new(res, "sender_uuid", json_string(suuid));
	json_object_set_new(res, "sender_e164", se164 ? json_string(se164) : json_null());
	json_object_set_new(res, "sender_device", json_integer(remote.device_id));
	json_object_set_new(res, "content_hint", json_integer(sotto_usmc_content_hint(u)));
	gid = sotto_usmc_group_id(u, &gn);
	if (gid != NULL) {
		if (drv_set_b64(res, "group_id", gid, gn, err) != 0)
			goto done;
	} else {
		json_object_set_new(res, "group_id", json_null());
	}
	rc = 0;
done:
	sotto_usmc_free(u);
	drv_free_bytes(msg, n);
	drv_free_bytes(pt, pt ? (cn ? cn : 1) : 0);
	return rc;
}

const drv_op drv_sealed_ops[] = {
	{ "sealed_server_certificate", op_server_certificate },
	{ "sealed_sender_certificate", op_sender_certificate },
	{ "sealed_certificate_validate", op_certificate_validate },
	{ "sealed_encrypt_v1", op_encrypt_v1 },
	{ "sealed_encrypt_v2", op_encrypt_v2 },
	{ "sealed_v2_split", op_v2_split },
	{ "sealed_decrypt", op_sealed_decrypt },
	{ NULL, NULL },
};
