/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Client engine: the send and receive pipelines, history, disappearing
 * timers and receipts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/engine_internal.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "wire/wire.h"

#pragma GCC diagnostic ignored "-Wcast-qual"

#define PAD_BLOCK 160
#define SEND_ATTEMPTS 5

/* ---- padding ---- */

int sotto__eng_pad(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	size_t n = (len + 1 + PAD_BLOCK - 1) / PAD_BLOCK * PAD_BLOCK;
	uint8_t *b = calloc(1, n);
	if (b == NULL)
		return SOTTO_ERR_NOMEM;
	memcpy(b, in, len);
	b[len] = 0x80;
	*out = b;
	*outlen = n;
	return 0;
}

static int unpad(const uint8_t *in, size_t len, size_t *plen)
{
	while (len > 0 && in[len - 1] == 0)
		len--;
	if (len == 0 || in[len - 1] != 0x80)
		return SOTTO_ERR_INVALID_MESSAGE;
	*plen = len - 1;
	return 0;
}

/* ---- sessions ---- */

static int bundle_from_wire(const Sotto__Service__Bundle *b, sotto_prekey_bundle *out)
{
	memset(out, 0, sizeof(*out));
	if (b->identity_key.len != SOTTO_EC_PUBLIC_BYTES || b->signed_prekey == NULL ||
		b->signed_prekey->public_key.len != SOTTO_EC_PUBLIC_BYTES ||
		b->signed_prekey->signature.len != SOTTO_SIGNATURE_BYTES || b->kem_prekey == NULL ||
		b->kem_prekey->public_key.len != SOTTO_KEM_PUBLIC_BYTES ||
		b->kem_prekey->signature.len != SOTTO_SIGNATURE_BYTES)
		return SOTTO_ERR_INVALID_KEY;
	out->registration_id = b->registration_id;
	out->device_id = b->device_id;
	memcpy(out->identity_key, b->identity_key.data, SOTTO_EC_PUBLIC_BYTES);
	out->signed_pre_key_id = b->signed_prekey->id;
	memcpy(out->signed_pre_key, b->signed_prekey->public_key.data, SOTTO_EC_PUBLIC_BYTES);
	memcpy(out->signed_pre_key_signature, b->signed_prekey->signature.data,
		SOTTO_SIGNATURE_BYTES);
	out->kyber_pre_key_id = b->kem_prekey->id;
	memcpy(out->kyber_pre_key, b->kem_prekey->public_key.data, SOTTO_KEM_PUBLIC_BYTES);
	memcpy(out->kyber_pre_key_signature, b->kem_prekey->signature.data, SOTTO_SIGNATURE_BYTES);
	if (b->ec_prekey != NULL && b->ec_prekey->public_key.len == SOTTO_EC_PUBLIC_BYTES) {
		out->has_pre_key = 1;
		out->pre_key_id = b->ec_prekey->id;
		memcpy(out->pre_key, b->ec_prekey->public_key.data, SOTTO_EC_PUBLIC_BYTES);
	}
	return 0;
}

/* Fetches bundles of dest (device 0: all) and builds sessions with them. */
static int fetch_sessions(sotto_client *c, const uint8_t dest[16], const char *dest_str,
	uint32_t device)
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__FetchBundlesRequest fb = SOTTO__SERVICE__FETCH_BUNDLES_REQUEST__INIT;
	fb.account_id.data = (uint8_t *)dest;
	fb.account_id.len = 16;
	fb.device_id = device;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_FETCH_BUNDLES;
	req.fetch_bundles = &fb;
	Response *r;
	int rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	sotto_address local = { c->acct_str, c->device_id };
	for (size_t i = 0; r->fetch_bundles != NULL && i < r->fetch_bundles->n_bundles; i++) {
		const Sotto__Service__Bundle *b = r->fetch_bundles->bundles[i];
		if (sotto_memeq(dest, c->acct, 16) && b->device_id == c->device_id)
			continue;
		sotto_prekey_bundle pb;
		/* Key transparency first: only logged keys, only devices we trust. */
		rc = sotto__eng_kt_check_device(c, dest, b->device_id, &b->identity_key,
			b->kt_proof, &r->fetch_bundles->kt_signed_head);
		if (rc == 0)
			rc = sotto__eng_kt_may_encrypt(c, dest, b->device_id, 1);
		if (rc == 0)
			rc = bundle_from_wire(b, &pb);
		if (rc != 0)
			break;
		sotto_address remote = { dest_str, b->device_id };
		rc = sotto_session_process_bundle(&c->stores, &local, &remote, &pb,
			sotto__eng_now(c), sotto_rng_system, NULL);
		if (rc == SOTTO_ERR_UNTRUSTED_IDENTITY) {
			/* A new identity key for a known account: record it (the
			 * contact drops to unverified, with a notice), then use it. */
			rc = sotto__eng_identity_changed(c, dest_str, pb.identity_key,
				sotto__eng_now(c));
			if (rc == 0)
				rc = sotto_session_process_bundle(&c->stores, &local, &remote, &pb,
					sotto__eng_now(c), sotto_rng_system, NULL);
		}
		if (rc != 0) {
			sotto__eng_err(c, rc, "cannot start a session with device %u: %s",
				(unsigned)b->device_id, sotto_strerror(rc));
			break;
		}
	}
	sotto_client_conn_response_free(r);
	return rc;
}

/* 1 if our own account has devices other than this one. */
static int own_has_others(sotto_client *c, int *others)
{
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__DeviceListRequest dl = SOTTO__SERVICE__DEVICE_LIST_REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_DEVICE_LIST;
	req.device_list = &dl;
	Response *r;
	int rc = sotto__eng_call(c, &req, &r, 0);
	if (rc != 0)
		return rc;
	*others = 0;
	for (size_t i = 0; r->device_list != NULL && i < r->device_list->n_devices; i++)
		if (r->device_list->devices[i]->device_id != c->device_id)
			*others = 1;
	sotto_client_conn_response_free(r);
	return 0;
}

static int fix_mismatch(sotto_client *c, const uint8_t dest[16], const char *dest_str,
	const Sotto__Service__SendResponse *sr)
{
	int rc = 0;
	for (size_t i = 0; sr != NULL && i < sr->n_mismatches && rc == 0; i++) {
		const Sotto__Service__DeviceMismatch *m = sr->mismatches[i];
		for (size_t k = 0; k < m->n_extra && rc == 0; k++)
			rc = sotto_lstore_session_delete(c->ls, dest_str, m->extra[k]);
		for (size_t k = 0; k < m->n_stale && rc == 0; k++) {
			rc = sotto_lstore_session_delete(c->ls, dest_str, m->stale[k]);
			if (rc == 0)
				rc = fetch_sessions(c, dest, dest_str, m->stale[k]);
		}
		for (size_t k = 0; k < m->n_missing && rc == 0; k++)
			rc = fetch_sessions(c, dest, dest_str, m->missing[k]);
	}
	return rc;
}

static void free_sealed(uint8_t **sb, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(sb[i]);
		sb[i] = NULL;
	}
}

int sotto__eng_send_content(sotto_client *c, const uint8_t dest[16], const uint8_t *pt,
	size_t ptlen)
{
	char dest_str[SOTTO_CLIENT_ACCOUNT_STR + 1];
	int self = sotto_memeq(dest, c->acct, 16);
	uint32_t devs[SOTTO_DEVICE_ID_MAX];
	size_t cap = sotto_session_encrypt_bound(ptlen);
	uint8_t *bufs = NULL;
	uint8_t *sealed_bufs[SOTTO_DEVICE_ID_MAX] = { NULL };
	const uint8_t *cert = NULL;
	size_t cert_len = 0;
	int rc = 0;

	sotto__eng_uuid_str(dest, dest_str);
	/* Sealed sender whenever we hold a certificate; without one the
	 * message still goes, identified, and the user is told. */
	int sealed = sotto__eng_sealed_cert(c, &cert, &cert_len) == 0;
	if (!sealed && c->notice[0] == '\0')
		snprintf(c->notice, sizeof c->notice,
			"sent without sealed sender (the server sees the sender): %.180s",
			c->err);
	bufs = malloc(cap * SOTTO_DEVICE_ID_MAX);
	if (bufs == NULL)
		return SOTTO_ERR_NOMEM;
	sotto_address local = { c->acct_str, c->device_id };
	for (int attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
		size_t n = 0, k = 0;
		free_sealed(sealed_bufs, SOTTO_DEVICE_ID_MAX);
		rc = sotto_lstore_session_devices(c->ls, dest_str, devs, SOTTO_DEVICE_ID_MAX, &n);
		if (rc != 0)
			break;
		if (n > SOTTO_DEVICE_ID_MAX)
			n = SOTTO_DEVICE_ID_MAX;
		for (size_t i = 0; i < n; i++)
			if (!(self && devs[i] == c->device_id))
				devs[k++] = devs[i];
		n = k;
		if (n == 0) {
			if (self) {
				int others = 0;
				rc = own_has_others(c, &others);
				if (rc != 0 || !others)
					break; /* nobody to sync to */
			}
			rc = fetch_sessions(c, dest, dest_str, 0);
			if (rc != 0)
				break;
			continue;
		}
		Sotto__Service__OutgoingEnvelope envs[SOTTO_DEVICE_ID_MAX];
		Sotto__Service__OutgoingEnvelope *envp[SOTTO_DEVICE_ID_MAX];
		size_t ne = 0;
		int refetch = 0;
		for (size_t i = 0; i < n && rc == 0; i++) {
			sotto_address remote = { dest_str, devs[i] };
			size_t outlen;
			int type;
			uint8_t *out = bufs + ne * cap;
			rc = sotto__eng_kt_may_encrypt(c, dest, devs[i], 0);
			if (rc != 0)
				break;
			rc = sotto_session_encrypt(&c->stores, &local, &remote, pt, ptlen,
				sotto__eng_now(c), sotto_rng_system, NULL, out, cap, &outlen, &type);
			if (rc == SOTTO_ERR_NO_SESSION) {
				/* Stale or unusable: start over with that device. */
				rc = sotto_lstore_session_delete(c->ls, dest_str, devs[i]);
				if (rc == 0)
					rc = fetch_sessions(c, dest, dest_str, devs[i]);
				refetch = 1;
				break;
			}
			if (rc != 0)
				break;
			uint32_t reg = 0;
			uint8_t rik[SOTTO_EC_PUBLIC_BYTES];
			int have_rik = 0;
			sotto_session_record *rec = NULL;
			if (sotto_session_load(&c->stores, &remote, &rec) == 0) {
				const sotto_session_state *st = sotto_session_record_current(rec);
				const uint8_t *ik = st != NULL ?
					sotto_session_state_remote_identity(st) : NULL;
				if (st != NULL)
					reg = sotto_session_state_remote_registration_id(st);
				if (ik != NULL) {
					memcpy(rik, ik, sizeof rik);
					have_rik = 1;
				}
				sotto_session_record_free(rec);
			}
			if (sealed) {
				/* Sealed to the identity key of the session we just
				 * encrypted with: the one key transparency proved. */
				size_t slen = 0;
				rc = have_rik ? sotto__eng_seal(c, rik, type, out, outlen, cert,
					cert_len, &sealed_bufs[ne], &slen) : SOTTO_ERR_NO_SESSION;
				if (rc != 0) {
					sotto__eng_err(c, rc, "cannot seal for device %u: %s",
						(unsigned)devs[i], sotto_strerror(rc));
					break;
				}
				out = sealed_bufs[ne];
				outlen = slen;
				type = (int)SOTTO_WIRE_TYPE_SEALED_SENDER;
			}
			sotto__service__outgoing_envelope__init(&envs[ne]);
			envs[ne].device_id = devs[i];
			envs[ne].registration_id = reg <= 0x3FFF ? reg : 0;
			envs[ne].type = (uint32_t)type;
			envs[ne].content.data = out;
			envs[ne].content.len = outlen;
			envp[ne] = &envs[ne];
			ne++;
		}
		if (rc != 0)
			break;
		if (refetch)
			continue;
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__SendRequest sr = SOTTO__SERVICE__SEND_REQUEST__INIT;
		sr.destination.data = (uint8_t *)dest;
		sr.destination.len = 16;
		sr.sealed = sealed;
		sr.envelopes = envp;
		sr.n_envelopes = ne;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_SEND;
		req.send = &sr;
		Response *r;
		rc = sotto__eng_call(c, &req, &r, 1);
		if (rc != 0)
			break;
		if (r->status == SOTTO__SERVICE__STATUS__OK) {
			sotto_client_conn_response_free(r);
			break;
		}
		rc = fix_mismatch(c, dest, dest_str, r->send);
		sotto_client_conn_response_free(r);
		if (rc != 0)
			break;
		rc = SOTTO_ERR_INTERNAL;
		sotto__eng_err(c, rc, "the device list kept changing; try again");
	}
	free_sealed(sealed_bufs, SOTTO_DEVICE_ID_MAX);
	free(bufs);
	return rc;
}

/* ---- stored bodies ---- */

static int body_encode(uint32_t kind, const char *text, size_t len, uint32_t timer, uint8_t **out,
	size_t *outlen)
{
	Sotto__Content__StoredBody sb = SOTTO__CONTENT__STORED_BODY__INIT;
	sb.kind = kind;
	sb.text.data = (uint8_t *)text;
	sb.text.len = len;
	sb.timer = timer;
	size_t n = sotto__content__stored_body__get_packed_size(&sb);
	*out = malloc(n > 0 ? n : 1);
	if (*out == NULL)
		return SOTTO_ERR_NOMEM;
	*outlen = sotto__content__stored_body__pack(&sb, *out);
	return 0;
}

static void free_wiped(uint8_t *p, size_t n)
{
	if (p != NULL) {
		sotto_memzero(p, n);
		free(p);
	}
}

/* Adds a message to the local store. */
static int store_message(sotto_client *c, const char *id, const char *conv, int outgoing,
	const char *sender, uint32_t sender_device, uint64_t ts, uint32_t kind, const char *text,
	size_t text_len, uint32_t timer, enum sotto_lstore_status status, uint64_t expires)
{
	uint8_t *body;
	size_t blen;
	int rc = body_encode(kind, text, text_len, timer, &body, &blen);
	if (rc != 0)
		return rc;
	sotto_lstore_message m = { 0 };
	m.id = id;
	m.conversation = conv;
	m.direction = outgoing ? SOTTO_LSTORE_OUTGOING : SOTTO_LSTORE_INCOMING;
	m.sender = sender;
	m.sender_device = sender_device;
	m.timestamp_ms = ts;
	m.body = body;
	m.body_len = blen;
	m.status = status;
	m.expires_at_ms = expires;
	rc = sotto_lstore_message_add(c->ls, &m);
	free_wiped(body, blen);
	return rc;
}

/* ---- sending ---- */

static int content_pack(const Sotto__Content__Content *ct, uint8_t **out, size_t *outlen)
{
	size_t n = sotto__content__content__get_packed_size(ct);
	uint8_t *raw = malloc(n > 0 ? n : 1);
	if (raw == NULL)
		return SOTTO_ERR_NOMEM;
	sotto__content__content__pack(ct, raw);
	int rc = sotto__eng_pad(raw, n, out, outlen);
	free_wiped(raw, n);
	return rc;
}

/* Sends data to name and the sync copy to our other devices; stores the
 * outgoing message (kind, text, attachments as given) first. */
static int send_data(sotto_client *c, const char *name, Sotto__Content__DataMessage *dm,
	uint32_t kind, const sotto_lstore_attachment *atts, size_t n_atts, char msg_id[33])
{
	char n[SOTTO_CLIENT_NAME_MAX + 1], id[33];
	uint8_t dest[16], mid[16], *pt = NULL;
	size_t ptlen = 0;
	uint32_t timer = 0;
	int rc;

	c->notice[0] = '\0';
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	rc = sotto__eng_norm_name(name, n);
	if (rc != 0)
		return sotto__eng_err(c, rc, "not a valid name");
	/* Resolving every time notices a name that moved to a new account. */
	rc = sotto__eng_resolve(c, n, dest, 1);
	if (rc != 0)
		return rc;
	(void)sotto__eng_sweep(c);
	if (dm->timer_update)
		timer = dm->expire_timer;
	else if ((rc = sotto_lstore_conversation_timer(c->ls, n, &timer)) != 0)
		return rc;
	dm->expire_timer = timer;
	uint64_t now = sotto__eng_now(c);
	rc = sotto_random(mid, sizeof mid);
	if (rc != 0)
		return rc;
	sotto__eng_hex(mid, sizeof mid, id);

	rc = sotto_lstore_begin(c->ls);
	if (rc != 0)
		return rc;
	if (dm->timer_update)
		rc = sotto_lstore_conversation_set_timer(c->ls, n, timer, now);
	if (rc == 0)
		rc = store_message(c, id, n, 1, c->name, c->device_id, now, kind,
			(const char *)dm->body.data, dm->body.len, timer, SOTTO_LSTORE_PENDING,
			timer > 0 && !dm->timer_update ? now + (uint64_t)timer * 1000u : 0);
	for (size_t i = 0; rc == 0 && i < n_atts; i++) {
		sotto_lstore_attachment a = atts[i];
		a.message_id = id;
		rc = sotto_lstore_attachment_put(c->ls, &a);
	}
	if (rc == 0)
		rc = sotto_lstore_commit(c->ls);
	else
		(void)sotto_lstore_rollback(c->ls);
	if (rc != 0)
		return sotto__eng_err(c, rc, "cannot store the message: %s",
			sotto_lstore_errmsg(c->ls));

	Sotto__Content__Content ct = SOTTO__CONTENT__CONTENT__INIT;
	uint8_t kt_head[145];
	ct.message_id.data = mid;
	ct.message_id.len = sizeof mid;
	ct.timestamp = now;
	ct.data = dm;
	if (sotto__eng_kt_head_bytes(c, kt_head) == 0) {
		/* Our view of the log travels end to end: a contact whose server
		 * shows a different log notices (engine_kt.c). */
		ct.kt_head.data = kt_head;
		ct.kt_head.len = sizeof kt_head;
	}
	rc = content_pack(&ct, &pt, &ptlen);
	if (rc == 0)
		rc = sotto__eng_send_content(c, dest, pt, ptlen);
	free_wiped(pt, ptlen);
	pt = NULL;
	if (rc != 0)
		return rc;
	rc = sotto_lstore_message_set_status(c->ls, id, SOTTO_LSTORE_SENT);
	if (rc != 0)
		return rc;

	Sotto__Content__SyncSent ss = SOTTO__CONTENT__SYNC_SENT__INIT;
	ss.destination.data = dest;
	ss.destination.len = 16;
	ss.destination_name.data = (uint8_t *)n;
	ss.destination_name.len = strlen(n);
	ss.message = dm;
	ct.data = NULL;
	ct.sync_sent = &ss;
	rc = content_pack(&ct, &pt, &ptlen);
	if (rc == 0)
		rc = sotto__eng_send_content(c, c->acct, pt, ptlen);
	free_wiped(pt, ptlen);
	if (rc == 0 && msg_id != NULL)
		memcpy(msg_id, id, 33);
	return rc;
}

int sotto_client_send_text(sotto_client *c, const char *name, const char *text, char msg_id[33])
{
	if (text == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	Sotto__Content__DataMessage dm = SOTTO__CONTENT__DATA_MESSAGE__INIT;
	dm.body.data = (uint8_t *)text;
	dm.body.len = strlen(text);
	return send_data(c, name, &dm, SOTTO_CLIENT_MSG_TEXT, NULL, 0, msg_id);
}

int sotto_client_set_timer(sotto_client *c, const char *name, uint32_t timer_s)
{
	Sotto__Content__DataMessage dm = SOTTO__CONTENT__DATA_MESSAGE__INIT;
	dm.timer_update = 1;
	dm.expire_timer = timer_s;
	return send_data(c, name, &dm, SOTTO_CLIENT_MSG_TIMER, NULL, 0, NULL);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s != NULL ? s + 1 : path;
}

int sotto_client_send_file(sotto_client *c, const char *name, const char *path,
	const char *content_type, const char *caption, char msg_id[33])
{
	Sotto__Content__AttachmentPointer ap = SOTTO__CONTENT__ATTACHMENT_POINTER__INIT;
	Sotto__Content__AttachmentPointer *app = &ap;
	Sotto__Content__DataMessage dm = SOTTO__CONTENT__DATA_MESSAGE__INIT;
	uint8_t key[48], aid[16], digest[32];
	char aid_hex[33];
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	if (path == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int rc = sotto__eng_attach_upload(c, path, &ap, key, aid, digest);
	if (rc != 0)
		return rc;
	const char *fname = base_name(path);
	ap.file_name.data = (uint8_t *)fname;
	ap.file_name.len = strlen(fname);
	if (content_type != NULL) {
		ap.content_type.data = (uint8_t *)content_type;
		ap.content_type.len = strlen(content_type);
	}
	dm.attachments = &app;
	dm.n_attachments = 1;
	if (caption != NULL) {
		dm.body.data = (uint8_t *)caption;
		dm.body.len = strlen(caption);
	}
	sotto__eng_hex(aid, 16, aid_hex);
	sotto_lstore_attachment a;
	memset(&a, 0, sizeof a);
	a.id = aid_hex;
	memcpy(a.key, key, 48);
	memcpy(a.digest, digest, 32);
	a.size = ap.size;
	a.file_name = fname;
	a.content_type = content_type;
	a.local_path = path;
	rc = send_data(c, name, &dm, SOTTO_CLIENT_MSG_TEXT, &a, 1, msg_id);
	sotto_memzero(key, sizeof key);
	sotto_memzero(&a, sizeof a);
	return rc;
}

/* ---- receipts ---- */

static int send_receipt(sotto_client *c, const uint8_t dest[16], int type, uint8_t (*ids)[16],
	size_t n)
{
	if (n == 0)
		return 0;
	ProtobufCBinaryData *bd = calloc(n, sizeof(*bd));
	uint8_t mid[16], *pt = NULL;
	size_t ptlen = 0;
	if (bd == NULL)
		return SOTTO_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		bd[i].data = ids[i];
		bd[i].len = 16;
	}
	Sotto__Content__Receipt rr = SOTTO__CONTENT__RECEIPT__INIT;
	rr.type = type ? SOTTO__CONTENT__RECEIPT__TYPE__READ : SOTTO__CONTENT__RECEIPT__TYPE__DELIVERY;
	rr.message_ids = bd;
	rr.n_message_ids = n;
	Sotto__Content__Content ct = SOTTO__CONTENT__CONTENT__INIT;
	int rc = sotto_random(mid, sizeof mid);
	ct.message_id.data = mid;
	ct.message_id.len = 16;
	ct.timestamp = sotto__eng_now(c);
	ct.receipt = &rr;
	if (rc == 0)
		rc = content_pack(&ct, &pt, &ptlen);
	if (rc == 0)
		rc = sotto__eng_send_content(c, dest, pt, ptlen);
	free_wiped(pt, ptlen);
	free(bd);
	return rc;
}

struct unread {
	uint8_t (*ids)[16];
	size_t n, cap;
};

static int unread_cb(void *ctx, const sotto_lstore_message *m)
{
	struct unread *u = ctx;
	if (m->direction != SOTTO_LSTORE_INCOMING || m->status >= SOTTO_LSTORE_READ)
		return 0;
	if (u->n == u->cap) {
		size_t nc = u->cap ? 2 * u->cap : 16;
		void *p = realloc(u->ids, nc * 16);
		if (p == NULL)
			return SOTTO_ERR_NOMEM;
		u->ids = p;
		u->cap = nc;
	}
	if (strlen(m->id) == 32 && sotto__eng_uuid_parse(m->id, u->ids[u->n]) == 0)
		u->n++;
	return 0;
}

int sotto_client_mark_read(sotto_client *c, const char *name)
{
	char n[SOTTO_CLIENT_NAME_MAX + 1], id[33];
	uint8_t dest[16];
	struct unread u = { NULL, 0, 0 };
	int rc = sotto__eng_norm_name(name, n);
	if (rc == 0)
		rc = sotto__eng_resolve(c, n, dest, 0);
	if (rc == 0)
		rc = sotto_lstore_message_foreach(c->ls, n, 0, unread_cb, &u);
	for (size_t i = 0; rc == 0 && i < u.n; i++) {
		sotto__eng_hex(u.ids[i], 16, id);
		rc = sotto_lstore_message_set_status(c->ls, id, SOTTO_LSTORE_READ);
	}
	if (rc == 0)
		rc = send_receipt(c, dest, 1, u.ids, u.n);
	free(u.ids);
	return rc;
}

/* ---- expiry ---- */

static void unlink_path(void *ctx, const char *path)
{
	(void)ctx;
	(void)unlink(path);
}

int sotto__eng_sweep(sotto_client *c)
{
	return sotto_lstore_sweep_expired(c->ls, sotto__eng_now(c), unlink_path, NULL, NULL);
}

/* ---- receiving ---- */

/* What one envelope produced, for the callback and the receipt. */
struct got {
	int report;
	int receipt; /* send a delivery receipt to sender */
	uint8_t receipt_to[16];
	uint8_t mid[16];
	char id[33];
	char conv[SOTTO_CLIENT_NAME_MAX + 1 + 40];
	char sender[SOTTO_CLIENT_NAME_MAX + 1 + 40];
	uint32_t sender_device;
	int outgoing;
	uint32_t kind;
	uint64_t ts;
	uint32_t timer;
	uint64_t expires;
	char *text;
	size_t text_len;
	size_t n_att;
	sotto_client_attachment att[8];
	char att_id[8][33];
	char att_path[8][ENG_PATH_MAX];
	char att_name[8][128];
	char att_type[8][128];
	int has_kt_head;
	uint8_t kt_head[145];
};

static void safe_file_name(const ProtobufCBinaryData *in, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < in->len && k + 1 < cap; i++) {
		char ch = (char)in->data[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
		out[k++] = ok ? ch : '_';
	}
	out[k] = '\0';
	if (k == 0 || out[0] == '.')
		snprintf(out, cap, "file");
}

static void copy_text(const ProtobufCBinaryData *in, char *out, size_t cap)
{
	size_t n = in->len < cap - 1 ? in->len : cap - 1;
	if (n > 0)
		memcpy(out, in->data, n);
	out[n] = '\0';
}

/* Stores a data message (incoming, or a sync copy of our own) inside the
 * open transaction. */
static int store_data(sotto_client *c, struct got *g, const Sotto__Content__DataMessage *dm)
{
	uint32_t cur = 0;
	uint64_t now = sotto__eng_now(c);
	int rc = sotto_lstore_conversation_timer(c->ls, g->conv, &cur);
	if (rc == 0 && (dm->timer_update || dm->expire_timer != cur))
		rc = sotto_lstore_conversation_set_timer(c->ls, g->conv, dm->expire_timer, now);
	if (rc != 0)
		return rc;
	g->kind = dm->timer_update ? SOTTO_CLIENT_MSG_TIMER : SOTTO_CLIENT_MSG_TEXT;
	g->timer = dm->expire_timer;
	g->expires = dm->expire_timer > 0 && !dm->timer_update ?
		now + (uint64_t)dm->expire_timer * 1000u : 0;
	g->text = malloc(dm->body.len + 1);
	if (g->text == NULL)
		return SOTTO_ERR_NOMEM;
	if (dm->body.len > 0)
		memcpy(g->text, dm->body.data, dm->body.len);
	g->text[dm->body.len] = '\0';
	g->text_len = dm->body.len;
	rc = store_message(c, g->id, g->conv, g->outgoing, g->sender, g->sender_device, g->ts,
		g->kind, g->text, g->text_len, g->timer,
		g->outgoing ? SOTTO_LSTORE_SENT : SOTTO_LSTORE_DELIVERED, g->expires);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < dm->n_attachments && g->n_att < 8; i++) {
		const Sotto__Content__AttachmentPointer *p = dm->attachments[i];
		size_t k = g->n_att;
		if (p->id.len != 16 || p->key.len != 48 || p->digest.len != 32)
			continue;
		char fname[96];
		safe_file_name(&p->file_name, fname, sizeof fname);
		sotto__eng_hex(p->id.data, 16, g->att_id[k]);
		copy_text(&p->file_name, g->att_name[k], sizeof g->att_name[k]);
		copy_text(&p->content_type, g->att_type[k], sizeof g->att_type[k]);
		int w = snprintf(g->att_path[k], sizeof g->att_path[k], "%s/attachments/%.16s-%s",
			c->dir, g->id, fname);
		if (w < 0 || (size_t)w >= sizeof g->att_path[k] ||
			sotto__eng_attach_download(c, p, g->att_path[k]) != 0)
			g->att_path[k][0] = '\0'; /* kept as a pointer; errmsg says why */
		sotto_lstore_attachment a;
		memset(&a, 0, sizeof a);
		a.id = g->att_id[k];
		a.message_id = g->id;
		memcpy(a.key, p->key.data, 48);
		memcpy(a.digest, p->digest.data, 32);
		a.size = p->size;
		a.file_name = g->att_name[k];
		a.content_type = g->att_type[k];
		a.local_path = g->att_path[k][0] != '\0' ? g->att_path[k] : NULL;
		rc = sotto_lstore_attachment_put(c->ls, &a);
		sotto_memzero(&a, sizeof a);
		if (rc != 0)
			return rc;
		g->att[k].id = g->att_id[k];
		g->att[k].file_name = g->att_name[k];
		g->att[k].content_type = g->att_type[k];
		g->att[k].size = p->size;
		g->att[k].path = g->att_path[k];
		g->n_att++;
	}
	g->report = 1;
	return 0;
}

static int handle_content(sotto_client *c, struct eng_env *e, const char *sname,
	const Sotto__Content__Content *ct, struct got *g)
{
	int from_self = sotto_memeq(e->sender, c->acct, 16);
	if (ct->message_id.len != 16)
		return SOTTO_ERR_INVALID_MESSAGE;
	memcpy(g->mid, ct->message_id.data, 16);
	sotto__eng_hex(ct->message_id.data, 16, g->id);
	g->ts = ct->timestamp;
	g->sender_device = e->sender_device;
	if (ct->kt_head.len == sizeof g->kt_head) {
		memcpy(g->kt_head, ct->kt_head.data, sizeof g->kt_head);
		g->has_kt_head = 1;
	}
	if (ct->data != NULL && !from_self) {
		snprintf(g->conv, sizeof g->conv, "%s", sname);
		snprintf(g->sender, sizeof g->sender, "%s", sname);
		g->receipt = !ct->data->timer_update;
		memcpy(g->receipt_to, e->sender, 16);
		return store_data(c, g, ct->data);
	}
	if (ct->sync_sent != NULL && from_self && ct->sync_sent->message != NULL &&
		ct->sync_sent->destination.len == 16) {
		char dn[SOTTO_CLIENT_NAME_MAX + 1], raw[SOTTO_CLIENT_NAME_MAX + 1];
		copy_text(&ct->sync_sent->destination_name, raw, sizeof raw);
		if (sotto__eng_norm_name(raw, dn) != 0)
			return SOTTO_ERR_INVALID_MESSAGE;
		int rc = sotto__eng_bind_name(c, dn, ct->sync_sent->destination.data,
			sotto__eng_now(c));
		if (rc != 0)
			return rc;
		snprintf(g->conv, sizeof g->conv, "%s", dn);
		snprintf(g->sender, sizeof g->sender, "%s", c->name);
		g->outgoing = 1;
		return store_data(c, g, ct->sync_sent->message);
	}
	if (ct->receipt != NULL) {
		enum sotto_lstore_status st = ct->receipt->type == SOTTO__CONTENT__RECEIPT__TYPE__READ ?
			SOTTO_LSTORE_READ : SOTTO_LSTORE_DELIVERED;
		for (size_t i = 0; i < ct->receipt->n_message_ids; i++) {
			char id[33];
			if (ct->receipt->message_ids[i].len != 16)
				continue;
			sotto__eng_hex(ct->receipt->message_ids[i].data, 16, id);
			int rc = sotto_lstore_message_set_status(c->ls, id, st);
			if (rc != 0 && rc != SOTTO_ERR_NOT_FOUND)
				return rc;
		}
	}
	return 0;
}

static int report(const struct got *g, sotto_client_message_fn cb, void *ctx)
{
	sotto_client_message m;
	memset(&m, 0, sizeof m);
	m.id = g->id;
	m.conversation = g->conv;
	m.sender = g->sender;
	m.sender_device = g->sender_device;
	m.outgoing = g->outgoing;
	m.kind = (enum sotto_client_msg_kind)g->kind;
	m.timestamp_ms = g->ts;
	m.body = g->text != NULL ? g->text : "";
	m.body_len = g->text_len;
	m.timer_s = g->timer;
	m.status = g->outgoing ? SOTTO_CLIENT_STATUS_SENT : SOTTO_CLIENT_STATUS_DELIVERED;
	m.expires_at_ms = g->expires;
	m.attachments = g->att;
	m.n_attachments = g->n_att;
	return cb(ctx, &m);
}

/* The certificate vouches for an identity key; the session that decrypted
 * the message (the key we trusted, proved by key transparency, or accepted
 * as an identity change) must hold the same one. */
static int check_sealed_identity(sotto_client *c, const sotto_address *remote,
	const uint8_t cert_ik[SOTTO_EC_PUBLIC_BYTES])
{
	sotto_session_record *rec = NULL;
	int rc = sotto_session_load(&c->stores, remote, &rec);
	if (rc != 0)
		return rc;
	const sotto_session_state *st = sotto_session_record_current(rec);
	const uint8_t *ik = st != NULL ? sotto_session_state_remote_identity(st) : NULL;
	rc = ik != NULL && sotto_memeq(ik, cert_ik, SOTTO_EC_PUBLIC_BYTES) ? 0 :
		SOTTO_ERR_UNTRUSTED_IDENTITY;
	sotto_session_record_free(rec);
	return rc;
}

/* Decrypts, stores and acknowledges one envelope. */
static int process_env(sotto_client *c, struct eng_env *e, sotto_client_message_fn cb, void *ctx,
	unsigned *count)
{
	uint8_t seqb[8], zero[16] = { 0 };
	char sstr[SOTTO_CLIENT_ACCOUNT_STR + 1], sname[SOTTO_CLIENT_NAME_MAX + 1 + 40];
	uint8_t *pt = NULL;
	size_t ptlen = 0, plen;
	struct got *g = NULL;
	Sotto__Content__Content *ct = NULL;
	int rc;

	uint8_t cert_ik[SOTTO_EC_PUBLIC_BYTES];
	int sealed = 0;
	for (int i = 0; i < 8; i++)
		seqb[i] = (uint8_t)(e->seq >> (56 - 8 * i));
	if (e->type == SOTTO_WIRE_TYPE_SEALED_SENDER) {
		/* Who sent it is known only from the certificate inside. */
		rc = sotto__eng_unseal(c, e, cert_ik);
		if (rc == SOTTO_ERR_STORAGE || rc == SOTTO_ERR_NOMEM)
			return rc; /* not acknowledged: comes again */
		if (rc != 0) {
			/* Forged, expired, under another root, from this very
			 * device, or not for us: dropped for good (errmsg says
			 * why), never attributed to anyone. */
			int erc = rc;
			rc = sotto__eng_ack(c, e->seq);
			sotto__eng_err(c, erc, "dropped a sealed message: %s", sotto_strerror(erc));
			return rc;
		}
		sealed = 1;
	}
	if ((e->type != SOTTO_MESSAGE_TYPE_WHISPER && e->type != SOTTO_MESSAGE_TYPE_PREKEY) ||
		sotto_memeq(e->sender, zero, 16) || e->sender_device == 0 ||
		e->sender_device > SOTTO_DEVICE_ID_MAX) {
		/* Not for us to read (e.g. a provisioning message after linking):
		 * nothing to store, but it must leave the queue. */
		return sotto__eng_ack(c, e->seq);
	}
	sotto__eng_uuid_str(e->sender, sstr);
	/* The sender's name first (may ask the server; outside the transaction). */
	if (sotto__eng_name_of(c, e->sender, sname) != 0)
		snprintf(sname, sizeof sname, "%s", sstr);
	g = calloc(1, sizeof(*g));
	pt = malloc(e->content_len);
	if (g == NULL || pt == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto out;
	}
	rc = sotto_lstore_begin(c->ls);
	if (rc != 0)
		goto out;
	rc = sotto_lstore_envelope_mark(c->ls, seqb, 8, sotto__eng_now(c));
	if (rc == SOTTO_ERR_DUPLICATE_MESSAGE) {
		(void)sotto_lstore_rollback(c->ls);
		rc = sotto__eng_ack(c, e->seq);
		goto out;
	}
	if (rc != 0)
		goto rollback;
	sotto_address local = { c->acct_str, c->device_id };
	sotto_address remote = { sstr, e->sender_device };
	rc = sotto_session_decrypt(&c->stores, &local, &remote, (int)e->type, e->content,
		e->content_len, sotto_rng_system, NULL, pt, e->content_len, &ptlen);
	if (rc == SOTTO_ERR_UNTRUSTED_IDENTITY && e->type == SOTTO_MESSAGE_TYPE_PREKEY) {
		sotto_prekey_signal_message pm;
		if (sotto_prekey_signal_message_parse(&pm, e->content, e->content_len) == 0) {
			rc = sotto__eng_identity_changed(c, sstr, pm.identity_key, sotto__eng_now(c));
			sotto_prekey_signal_message_clear(&pm);
			if (rc == 0)
				rc = sotto_session_decrypt(&c->stores, &local, &remote,
					(int)e->type, e->content, e->content_len,
					sotto_rng_system, NULL, pt, e->content_len, &ptlen);
		}
	}
	if (rc == 0 && sealed)
		rc = check_sealed_identity(c, &remote, cert_ik);
	if (rc == SOTTO_ERR_DUPLICATE_MESSAGE) {
		/* Sent twice (the sender did not see the server's answer). */
		(void)sotto_lstore_rollback(c->ls);
		rc = sotto__eng_ack(c, e->seq);
		goto out;
	}
	if (rc == 0 && unpad(pt, ptlen, &plen) == 0)
		ct = sotto__content__content__unpack(NULL, plen, pt);
	if (rc == 0 && ct != NULL)
		rc = handle_content(c, e, sname, ct, g);
	else if (rc == 0)
		rc = SOTTO_ERR_INVALID_MESSAGE;
	if (rc == SOTTO_ERR_EXISTS) {
		/* The same message id again: a resend with a new session. */
		(void)sotto_lstore_rollback(c->ls);
		rc = sotto__eng_ack(c, e->seq);
		goto out;
	}
	if (rc == SOTTO_ERR_STORAGE || rc == SOTTO_ERR_NOMEM)
		goto rollback;
	if (rc != 0) {
		/* Undecryptable or malformed: keep only the mark, so that it is
		 * dropped for good instead of failing on every start. */
		sotto__eng_err(c, rc, "dropped a message from %s: %s", sname, sotto_strerror(rc));
		(void)sotto_lstore_rollback(c->ls);
		rc = sotto_lstore_envelope_mark(c->ls, seqb, 8, sotto__eng_now(c));
		if (rc != 0 && rc != SOTTO_ERR_DUPLICATE_MESSAGE)
			goto out;
		g->report = 0;
		g->receipt = 0;
	} else {
		rc = sotto_lstore_commit(c->ls);
		if (rc != 0)
			goto out; /* not acknowledged: comes again */
	}
	/* Stored: only now may the server forget it. */
	rc = sotto__eng_ack(c, e->seq);
	if (rc != 0)
		goto out;
	if (g->report) {
		if (count != NULL)
			(*count)++;
		if (cb != NULL)
			(void)report(g, cb, ctx);
	}
	if (g->receipt)
		(void)send_receipt(c, g->receipt_to, 0, &g->mid, 1);
	/* After the commit: a fork found here is an alarm (engine_kt.c), not a
	 * reason to lose the message. */
	if (g->has_kt_head)
		(void)sotto__eng_kt_peer_head(c, sname, g->kt_head, sizeof g->kt_head);
	goto out;
rollback:
	(void)sotto_lstore_rollback(c->ls);
out:
	if (ct != NULL)
		sotto__content__content__free_unpacked(ct, NULL);
	free_wiped(pt, e->content_len);
	if (g != NULL) {
		free_wiped((uint8_t *)g->text, g->text_len + 1);
		free(g);
	}
	return rc;
}

int sotto_client_receive(sotto_client *c, unsigned timeout_ms, sotto_client_message_fn cb,
	void *ctx, unsigned *count)
{
	if (count != NULL)
		*count = 0;
	if (!c->registered)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "this profile is not registered");
	int rc = sotto__eng_sweep(c);
	if (rc == 0)
		rc = sotto__eng_connect(c, 1);
	if (rc != 0)
		return rc;
	/* The backlog: everything pushed before QueueEmpty. */
	uint64_t drain_end = sotto__eng_mono_ms() + c->timeout_ms;
	for (;;) {
		struct eng_env *e = sotto__eng_pop(c);
		if (e != NULL) {
			rc = process_env(c, e, cb, ctx, count);
			sotto__eng_env_free(e);
			if (rc != 0)
				return rc;
			continue;
		}
		pthread_mutex_lock(&c->mu);
		unsigned qe = c->queue_empty;
		pthread_mutex_unlock(&c->mu);
		if (qe > 0 || sotto__eng_mono_ms() >= drain_end)
			break;
		(void)sotto__eng_wait_env(c, sotto__eng_mono_ms() + 50);
	}
	uint64_t end = sotto__eng_mono_ms() + timeout_ms;
	while (timeout_ms > 0 && sotto__eng_wait_env(c, end)) {
		struct eng_env *e = sotto__eng_pop(c);
		if (e == NULL)
			continue;
		rc = process_env(c, e, cb, ctx, count);
		sotto__eng_env_free(e);
		if (rc != 0)
			return rc;
	}
	pthread_mutex_lock(&c->mu);
	int low = c->prekeys_low;
	pthread_mutex_unlock(&c->mu);
	/* Monitor our own account in the log: an alarm is recorded for the
	 * user (sotto_client_kt_alarms); it does not fail the receive. */
	int kt_rc = sotto_client_kt_refresh(c);
	(void)kt_rc; /* recorded as an alarm, or retried by the next receive */
	if (low)
		rc = sotto_client_maintain(c, 0);
	return rc == 0 ? sotto__eng_sweep(c) : rc;
}

/* ---- history ---- */

struct hist {
	sotto_client *c;
	sotto_client_message_fn cb;
	void *ctx;
	struct got *g;
};

static int att_cb(void *ctx, const sotto_lstore_attachment *a)
{
	struct got *g = ctx;
	size_t k = g->n_att;
	if (k >= 8)
		return 0;
	snprintf(g->att_id[k], sizeof g->att_id[k], "%s", a->id);
	snprintf(g->att_name[k], sizeof g->att_name[k], "%s", a->file_name ? a->file_name : "");
	snprintf(g->att_type[k], sizeof g->att_type[k], "%s",
		a->content_type ? a->content_type : "");
	snprintf(g->att_path[k], sizeof g->att_path[k], "%s", a->local_path ? a->local_path : "");
	g->att[k].id = g->att_id[k];
	g->att[k].file_name = g->att_name[k];
	g->att[k].content_type = g->att_type[k];
	g->att[k].path = g->att_path[k];
	g->att[k].size = a->size;
	g->n_att++;
	return 0;
}

static int hist_cb(void *ctx, const sotto_lstore_message *m)
{
	struct hist *h = ctx;
	struct got *g = h->g;
	Sotto__Content__StoredBody *sb = sotto__content__stored_body__unpack(NULL, m->body_len,
		m->body);
	if (sb == NULL)
		return 0; /* not ours to show */
	memset(g, 0, sizeof(*g));
	snprintf(g->id, sizeof g->id, "%s", m->id);
	snprintf(g->conv, sizeof g->conv, "%s", m->conversation);
	snprintf(g->sender, sizeof g->sender, "%s", m->sender ? m->sender : "");
	g->sender_device = m->sender_device;
	g->outgoing = m->direction == SOTTO_LSTORE_OUTGOING;
	g->kind = sb->kind;
	g->ts = m->timestamp_ms;
	g->timer = sb->timer;
	g->expires = m->expires_at_ms;
	g->text = malloc(sb->text.len + 1);
	int rc = 0;
	if (g->text == NULL) {
		rc = SOTTO_ERR_NOMEM;
	} else {
		if (sb->text.len > 0)
			memcpy(g->text, sb->text.data, sb->text.len);
		g->text[sb->text.len] = '\0';
		g->text_len = sb->text.len;
		rc = sotto_lstore_attachment_foreach(h->c->ls, m->id, att_cb, g);
	}
	if (sb->text.len > 0)
		sotto_memzero(sb->text.data, sb->text.len);
	sotto__content__stored_body__free_unpacked(sb, NULL);
	if (rc == 0) {
		sotto_client_message msg;
		memset(&msg, 0, sizeof msg);
		msg.id = g->id;
		msg.conversation = g->conv;
		msg.sender = g->sender;
		msg.sender_device = g->sender_device;
		msg.outgoing = g->outgoing;
		msg.kind = (enum sotto_client_msg_kind)g->kind;
		msg.timestamp_ms = g->ts;
		msg.body = g->text;
		msg.body_len = g->text_len;
		msg.timer_s = g->timer;
		msg.status = (enum sotto_client_msg_status)m->status;
		msg.expires_at_ms = g->expires;
		msg.attachments = g->att;
		msg.n_attachments = g->n_att;
		rc = h->cb(h->ctx, &msg);
	}
	free_wiped((uint8_t *)g->text, g->text_len + 1);
	g->text = NULL;
	return rc;
}

int sotto_client_history(sotto_client *c, const char *name, uint32_t limit,
	sotto_client_message_fn cb, void *ctx)
{
	char n[SOTTO_CLIENT_NAME_MAX + 1];
	if (sotto__eng_norm_name(name, n) != 0)
		return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT, "not a valid name");
	int rc = sotto__eng_sweep(c);
	if (rc != 0)
		return rc;
	struct hist h = { c, cb, ctx, calloc(1, sizeof(struct got)) };
	if (h.g == NULL)
		return SOTTO_ERR_NOMEM;
	rc = sotto_lstore_message_foreach(c->ls, n, limit, hist_cb, &h);
	free(h.g);
	return rc;
}
