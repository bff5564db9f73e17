/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Loopback integration test against a real sottod: two accounts with
 * several devices end to end, multi-recipient sealed sender v2 fan-out with
 * a message sealed by the protocol library, attachment upload and download
 * of a multi-chunk blob, and unlinking a device. Every wait is bounded. */
#include <sqlite3.h>

#include "net_test.h"
#include "sotto/hash.h"
#include "sotto/sealed.h"

/* Account A: A1 (primary), A2, A3. Account B: B1 (primary), B2. */
static struct nt_client A1, A2, A3, B1, B2;

/* The envelope of c whose content equals body, or NULL (lock held by caller). */
static struct nt_env *find_env(struct nt_client *c, const void *body, size_t len)
{
	for (size_t i = 0; i < c->n_got; i++)
		if (c->got[i].len == len && memcmp(c->got[i].content, body, len) == 0)
			return &c->got[i];
	return NULL;
}

/* Waits until c got an envelope with this content; returns a copy of its
 * metadata (content pointer cleared) or seq 0 when it never came. */
static struct nt_env wait_env(struct nt_client *c, const void *body, size_t len, unsigned ms)
{
	struct nt_env out;
	memset(&out, 0, sizeof(out));
	uint64_t end = nt_now_ms() + ms;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		struct nt_env *e = find_env(c, body, len);
		if (e != NULL) {
			out = *e;
			out.content = NULL;
		}
		pthread_mutex_unlock(&c->lock);
		if (e != NULL || nt_now_ms() >= end)
			return out;
		nt_sleep_ms(5);
	}
}

static size_t count_got(struct nt_client *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->n_got;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Acknowledges everything c holds and forgets it. */
static void ack_all(struct nt_client *c)
{
	uint64_t seqs[NT_MAX_GOT];
	pthread_mutex_lock(&c->lock);
	size_t n = c->n_got;
	for (size_t i = 0; i < n; i++)
		seqs[i] = c->got[i].seq;
	pthread_mutex_unlock(&c->lock);
	uint32_t deleted = 0;
	if (n > 0) {
		CHECK_RC(nt_ack(c, seqs, n, &deleted), 0);
		CHECK(deleted == n);
	}
	nt_client_clear_got(c);
}

static int device_list(struct nt_client *c, const uint8_t account[16], uint32_t *ids,
	size_t cap, size_t *n)
{
	Sotto__Service__DeviceListRequest dl = SOTTO__SERVICE__DEVICE_LIST_REQUEST__INIT;
	dl.account_id.data = (uint8_t *)(uintptr_t)account;
	dl.account_id.len = 16;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_DEVICE_LIST;
	req.device_list = &dl;
	Response *r;
	int st = nt_call(c, &req, &r);
	*n = 0;
	if (st == 0 && r->device_list != NULL) {
		for (size_t i = 0; i < r->device_list->n_devices && i < cap; i++)
			ids[i] = r->device_list->devices[i]->device_id;
		*n = r->device_list->n_devices;
	}
	sotto_client_conn_response_free(r);
	return st;
}

/* ---- two accounts, several devices ---- */

static void test_setup_accounts(void)
{
	nt_client_init(&A1, 1001);
	nt_client_init(&A2, 1002);
	nt_client_init(&A3, 1003);
	nt_client_init(&B1, 2001);
	nt_client_init(&B2, 2002);
	CHECK_RC(nt_connect(&A1, 0), 0);
	CHECK_RC(nt_register(&A1), 0);
	CHECK_RC(nt_connect(&B1, 0), 0);
	CHECK_RC(nt_register(&B1), 0);
	CHECK_RC(nt_link(&A1, &A2), 0);
	CHECK(A2.device == 2);
	CHECK_RC(nt_connect(&A2, 1), 0);
	/* A2 is online when A3 is linked: both A1 and A2 hear of it. */
	CHECK_RC(nt_link(&A1, &A3), 0);
	CHECK(A3.device == 3);
	CHECK(nt_wait_flag(&A1, &A1.devices_changed, 1, 5000));
	CHECK(nt_wait_flag(&A2, &A2.devices_changed, 1, 5000));
	CHECK_RC(nt_connect(&A3, 1), 0);
	CHECK_RC(nt_link(&B1, &B2), 0);
	CHECK(B2.device == 2);
	CHECK_RC(nt_connect(&B2, 1), 0);
	/* A linked device may not link others. */
	struct nt_client X;
	nt_client_init(&X, 9);
	CHECK_RC(nt_link(&A2, &X), SOTTO__SERVICE__STATUS__FORBIDDEN);
	uint32_t ids[8];
	size_t n;
	CHECK_RC(device_list(&B1, A1.account, ids, 8, &n), 0);
	CHECK(n == 3 && ids[0] == 1 && ids[1] == 2 && ids[2] == 3);
	tu_report("two accounts with 3 and 2 linked devices", 1, 1);
}

static void test_multi_device_messaging(void)
{
	/* A2 sends to B (both devices) and syncs to its own other devices. */
	uint32_t b_devs[2] = {1, 2}, b_regs[2] = {2001, 2002};
	uint32_t a_others[2] = {1, 3}, a_regs[2] = {1001, 1003};
	Response *r;
	CHECK_RC(nt_send(&A2, B1.account, b_devs, b_regs, 2, "a2->b", 5, 0, &r), 0);
	if (r != NULL)
		CHECK(r->send != NULL && r->send->stored == 2);
	sotto_client_conn_response_free(r);
	CHECK_RC(nt_send(&A2, A1.account, a_others, a_regs, 2, "a2-sync", 7, 0, NULL), 0);
	struct nt_client *b_side[2] = {&B1, &B2}, *a_side[2] = {&A1, &A3};
	for (int i = 0; i < 2; i++) {
		struct nt_env e = wait_env(b_side[i], "a2->b", 5, 5000);
		CHECK(e.seq != 0 && !e.sealed && memcmp(e.sender, A1.account, 16) == 0 &&
			e.sender_device == 2 && e.type == 1);
		e = wait_env(a_side[i], "a2-sync", 7, 5000);
		CHECK(e.seq != 0 && e.sender_device == 2);
	}
	/* The sender itself gets nothing. */
	nt_sleep_ms(50);
	CHECK(count_got(&A2) == 0);
	/* B2 answers sealed to all of A: no sender is stored or delivered. */
	uint32_t a_all[3] = {1, 2, 3};
	CHECK_RC(nt_send(&B2, A1.account, a_all, NULL, 3, "b2-sealed", 9, 1, NULL), 0);
	struct nt_client *a_all_c[3] = {&A1, &A2, &A3};
	for (int i = 0; i < 3; i++) {
		struct nt_env e = wait_env(a_all_c[i], "b2-sealed", 9, 5000);
		static const uint8_t zero[16];
		CHECK(e.seq != 0 && e.sealed && memcmp(e.sender, zero, 16) == 0 &&
			e.sender_device == 0);
	}
	/* A stale registration id for one device stores nothing at all. */
	uint32_t stale_regs[2] = {2001, 999};
	CHECK_RC(nt_send(&A1, B1.account, b_devs, stale_regs, 2, "stale", 5, 0, &r),
		SOTTO__SERVICE__STATUS__MISMATCHED_DEVICES);
	if (r != NULL)
		CHECK(r->send != NULL && r->send->n_mismatches == 1 &&
			r->send->mismatches[0]->n_stale == 1 && r->send->mismatches[0]->stale[0] == 2);
	sotto_client_conn_response_free(r);
	nt_sleep_ms(50);
	pthread_mutex_lock(&B1.lock);
	CHECK(find_env(&B1, "stale", 5) == NULL);
	pthread_mutex_unlock(&B1.lock);
	/* Every device acknowledges; a reconnect then brings nothing back. */
	struct nt_client *all[5] = {&A1, &A2, &A3, &B1, &B2};
	for (int i = 0; i < 5; i++)
		ack_all(all[i]);
	nt_disconnect(&B2);
	CHECK_RC(nt_connect(&B2, 1), 0);
	CHECK(nt_wait_flag(&B2, &B2.queue_empty, 1, 5000));
	CHECK(count_got(&B2) == 0);
	tu_report("send between multi-device accounts, own-device sync, sealed, acks", 1, 1);
}

/* ---- sealed sender v2 fan-out ---- */

static sotto_ec_keypair g_root, g_server_cert_key;
static uint8_t g_server_cert[1024];
static size_t g_server_cert_len;

static void uuid_string(const uint8_t id[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 15];
	}
	out[o] = '\0';
}

static void sid_of(const uint8_t account[16], uint8_t sid[SOTTO_SERVICE_ID_FIXED_BYTES])
{
	sid[0] = 0x00; /* ACI */
	memcpy(sid + 1, account, 16);
}

/* Seals content from A1 to the listed recipients; returns the sent form. */
static uint8_t *seal_v2(const sotto_sealed_v2_recipient *rs, size_t n, const char *content,
	size_t *len)
{
	char uuid[37];
	uint8_t cert[2048], usmc[4096];
	size_t cert_len, usmc_len;
	uuid_string(A1.account, uuid);
	int rc = sotto_sender_cert_create(uuid, NULL, 1, A1.id.pub,
		(uint64_t)time(NULL) * 1000u + 86400000u, g_server_cert, g_server_cert_len,
		g_server_cert_key.priv, sotto_rng_system, NULL, cert, sizeof(cert), &cert_len);
	CHECK_RC(rc, 0);
	rc = sotto_usmc_encode(SOTTO_SEALED_MSG_WHISPER, cert, cert_len, (const uint8_t *)content,
		strlen(content), 0, NULL, 0, usmc, sizeof(usmc), &usmc_len);
	CHECK_RC(rc, 0);
	size_t cap = SOTTO_SEALED_V2_MAX(n, 0, usmc_len);
	uint8_t *out = malloc(cap);
	if (out == NULL)
		return NULL;
	rc = sotto_sealed_v2_encrypt(rs, n, NULL, 0, A1.id.pub, A1.id.priv, usmc, usmc_len,
		sotto_rng_system, NULL, out, cap, len);
	CHECK_RC(rc, 0);
	if (rc != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int send_multi(struct nt_client *c, const uint8_t *msg, size_t len,
	const uint8_t (*accounts)[16], size_t n, Response **out)
{
	ProtobufCBinaryData rcpt[4];
	for (size_t i = 0; i < n; i++) {
		rcpt[i].data = (uint8_t *)(uintptr_t)accounts[i];
		rcpt[i].len = 16;
	}
	Sotto__Service__SendMultiRequest sm = SOTTO__SERVICE__SEND_MULTI_REQUEST__INIT;
	sm.message.data = (uint8_t *)(uintptr_t)msg;
	sm.message.len = len;
	sm.recipients = rcpt;
	sm.n_recipients = n;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_SEND_MULTI;
	req.send_multi = &sm;
	return nt_call(c, &req, out);
}

static void test_send_multi(void)
{
	CHECK_RC(sotto_ec_keypair_generate(&g_root, sotto_rng_system, NULL), 0);
	CHECK_RC(sotto_ec_keypair_generate(&g_server_cert_key, sotto_rng_system, NULL), 0);
	CHECK_RC(sotto_server_cert_create(7, g_server_cert_key.pub, g_root.priv, sotto_rng_system,
		NULL, g_server_cert, sizeof(g_server_cert), &g_server_cert_len), 0);
	/* A1 sends to every device of B and to its own other devices. */
	sotto_sealed_v2_recipient rs[4];
	memset(rs, 0, sizeof(rs));
	struct nt_client *targets[4] = {&A2, &A3, &B1, &B2};
	for (int i = 0; i < 4; i++) {
		sid_of(targets[i]->account, rs[i].service_id);
		rs[i].device_id = targets[i]->device;
		rs[i].registration_id = targets[i]->reg_id;
		memcpy(rs[i].identity_key, targets[i]->id.pub, 33);
	}
	const char *content = "sealed sender v2 to five devices";
	size_t len = 0;
	uint8_t *sent = seal_v2(rs, 4, content, &len);
	CHECK(sent != NULL);
	if (sent == NULL)
		return;
	uint8_t accounts[2][16];
	memcpy(accounts[0], A1.account, 16);
	memcpy(accounts[1], B1.account, 16);
	Response *r;
	CHECK_RC(send_multi(&A1, sent, len, (const uint8_t(*)[16])accounts, 2, &r), 0);
	if (r != NULL)
		CHECK(r->send != NULL && r->send->stored == 4);
	sotto_client_conn_response_free(r);
	/* Each device gets exactly its account's received form, as the library
	 * splits it, and can open it with the account's identity key. */
	int exact = 0, opened = 0;
	for (int i = 0; i < 4; i++) {
		struct nt_client *t = targets[i];
		uint8_t sid[SOTTO_SERVICE_ID_FIXED_BYTES], *want = malloc(len);
		uint8_t devs[8];
		uint16_t regs[8];
		size_t wlen = 0, nd = 0;
		sid_of(t->account, sid);
		CHECK(want != NULL);
		if (want == NULL)
			continue;
		CHECK_RC(sotto_sealed_v2_split(sent, len, sid, want, len, &wlen, devs, regs, 8, &nd),
			0);
		CHECK(nd == 2);
		CHECK(nt_wait_got(t, 1, 5000) == 1);
		pthread_mutex_lock(&t->lock);
		struct nt_env *e = t->n_got == 1 ? &t->got[0] : NULL;
		if (e != NULL && e->type == SOTTO_WIRE_TYPE_SEALED_SENDER && e->sealed &&
			e->len == wlen && memcmp(e->content, want, wlen) == 0 && e->content[0] == 0x22)
			exact++;
		sotto_usmc *u = NULL;
		if (e != NULL &&
			sotto_sealed_decrypt_to_usmc(t->id.pub, t->id.priv, e->content, e->len, &u) == 0) {
			size_t clen;
			const uint8_t *c = sotto_usmc_content(u, &clen);
			const sotto_sender_cert *sc = sotto_usmc_sender(u);
			if (clen == strlen(content) && memcmp(c, content, clen) == 0 &&
				memcmp(sotto_sender_cert_identity_key(sc), A1.id.pub, 33) == 0 &&
				sotto_sender_cert_device(sc) == 1)
				opened++;
			sotto_usmc_free(u);
		}
		pthread_mutex_unlock(&t->lock);
		free(want);
	}
	CHECK(exact == 4);
	CHECK(opened == 4);
	nt_sleep_ms(50);
	CHECK(count_got(&A1) == 0); /* the sender is not a recipient */
	free(sent);
	for (int i = 0; i < 4; i++)
		ack_all(targets[i]);

	/* The message leaves out B2: MISMATCHED_DEVICES naming B's device 2,
	 * and nothing is queued for anyone. */
	sent = seal_v2(rs, 3, content, &len);
	CHECK(sent != NULL);
	if (sent != NULL) {
		CHECK_RC(send_multi(&A1, sent, len, (const uint8_t(*)[16])accounts, 2, &r),
			SOTTO__SERVICE__STATUS__MISMATCHED_DEVICES);
		if (r != NULL) {
			Sotto__Service__DeviceMismatch *m =
				r->send != NULL && r->send->n_mismatches == 1 ? r->send->mismatches[0] :
										 NULL;
			CHECK(m != NULL && m->account_id.len == 16 &&
				memcmp(m->account_id.data, B1.account, 16) == 0 && m->n_missing == 1 &&
				m->missing[0] == 2 && m->n_extra == 0 && m->n_stale == 0);
		}
		sotto_client_conn_response_free(r);
		/* A recipient account the message does not address. */
		uint8_t stranger[1][16];
		memset(stranger, 0x5a, sizeof(stranger));
		CHECK_RC(send_multi(&A1, sent, len, (const uint8_t(*)[16])stranger, 1, NULL),
			SOTTO__SERVICE__STATUS__BAD_REQUEST);
		/* A corrupted message. */
		sent[1] ^= 0xff;
		CHECK_RC(send_multi(&A1, sent, len, (const uint8_t(*)[16])accounts, 2, NULL),
			SOTTO__SERVICE__STATUS__BAD_REQUEST);
		free(sent);
		nt_sleep_ms(100);
		for (int i = 0; i < 4; i++)
			CHECK(count_got(targets[i]) == 0);
	}
	tu_report("SendMulti: sealed sender v2 fan-out, exact split per device, mismatch", 1, 1);
}

/* ---- attachments ---- */

static int att_upload(struct nt_client *c, const uint8_t id[16], uint64_t off, const uint8_t *data,
	size_t len, Response **out)
{
	Sotto__Service__AttachmentUploadRequest up =
		SOTTO__SERVICE__ATTACHMENT_UPLOAD_REQUEST__INIT;
	up.attachment_id.data = (uint8_t *)(uintptr_t)id;
	up.attachment_id.len = 16;
	up.offset = off;
	up.data.data = (uint8_t *)(uintptr_t)data;
	up.data.len = len;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_UPLOAD;
	req.attachment_upload = &up;
	return nt_call(c, &req, out);
}

static int att_download(struct nt_client *c, const uint8_t id[16], uint64_t off, uint32_t len,
	Response **out)
{
	Sotto__Service__AttachmentDownloadRequest dr =
		SOTTO__SERVICE__ATTACHMENT_DOWNLOAD_REQUEST__INIT;
	dr.attachment_id.data = (uint8_t *)(uintptr_t)id;
	dr.attachment_id.len = 16;
	dr.offset = off;
	dr.length = len;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_DOWNLOAD;
	req.attachment_download = &dr;
	return nt_call(c, &req, out);
}

static int att_create(struct nt_client *c, uint64_t size, const uint8_t digest[32], uint8_t id[16],
	uint32_t *max_chunk)
{
	Sotto__Service__AttachmentCreateRequest cr =
		SOTTO__SERVICE__ATTACHMENT_CREATE_REQUEST__INIT;
	cr.size = size;
	cr.digest.data = (uint8_t *)(uintptr_t)digest;
	cr.digest.len = 32;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_CREATE;
	req.attachment_create = &cr;
	Response *r;
	int st = nt_call(c, &req, &r);
	if (st == 0) {
		if (r->attachment_create != NULL && r->attachment_create->attachment_id.len == 16) {
			memcpy(id, r->attachment_create->attachment_id.data, 16);
			*max_chunk = r->attachment_create->max_chunk;
		} else {
			st = -1;
		}
	}
	sotto_client_conn_response_free(r);
	return st;
}

#define BLOB_SIZE (3u * 1024 * 1024 + 12345)

static void test_attachments(void)
{
	uint8_t *blob = malloc(BLOB_SIZE), *back = malloc(BLOB_SIZE), digest[32], id[16];
	uint64_t seed = 42;
	uint32_t chunk = 0;
	CHECK(blob != NULL && back != NULL);
	if (blob == NULL || back == NULL)
		goto out;
	tu_randbytes(&seed, blob, BLOB_SIZE);
	CHECK_RC(sotto_sha256(digest, blob, BLOB_SIZE), 0);
	CHECK_RC(att_create(&A1, BLOB_SIZE, digest, id, &chunk), 0);
	CHECK(chunk >= 4096 && chunk <= SOTTO_WIRE_MAX_CHUNK);
	if (chunk == 0)
		goto out;
	/* Not downloadable while incomplete. */
	CHECK_RC(att_download(&B1, id, 0, 0, NULL), SOTTO__SERVICE__STATUS__NOT_FOUND);
	/* A chunk at the wrong offset is refused. */
	CHECK_RC(att_upload(&A1, id, 100, blob + 100, 100, NULL),
		SOTTO__SERVICE__STATUS__BAD_REQUEST);
	size_t chunks = 0;
	int progress_ok = 1, complete = 0;
	for (uint64_t off = 0; off < BLOB_SIZE; off += chunk) {
		size_t n = BLOB_SIZE - off < chunk ? (size_t)(BLOB_SIZE - off) : chunk;
		Response *r;
		int st = att_upload(&A1, id, off, blob + off, n, &r);
		CHECK_RC(st, 0);
		if (st == 0 && r->attachment_upload != NULL) {
			progress_ok &= r->attachment_upload->received == off + n;
			complete = r->attachment_upload->complete;
			progress_ok &= complete == (off + n == BLOB_SIZE);
		} else {
			progress_ok = 0;
		}
		sotto_client_conn_response_free(r);
		chunks++;
		if (st != 0)
			break;
	}
	CHECK(progress_ok && complete);
	CHECK(chunks >= 12);
	/* Complete: more data is refused. */
	CHECK(att_upload(&A1, id, BLOB_SIZE, blob, 1, NULL) != 0);
	/* Another account downloads it in chunks; bytes and digest match. */
	memset(back, 0, BLOB_SIZE);
	uint64_t got = 0;
	int dl_ok = 1;
	while (got < BLOB_SIZE && dl_ok) {
		Response *r;
		int st = att_download(&B2, id, got, 0, &r);
		dl_ok = st == 0 && r->attachment_download != NULL &&
			r->attachment_download->size == BLOB_SIZE &&
			r->attachment_download->digest.len == 32 &&
			memcmp(r->attachment_download->digest.data, digest, 32) == 0 &&
			r->attachment_download->data.len > 0 &&
			r->attachment_download->data.len <= chunk &&
			got + r->attachment_download->data.len <= BLOB_SIZE;
		if (dl_ok) {
			memcpy(back + got, r->attachment_download->data.data,
				r->attachment_download->data.len);
			got += r->attachment_download->data.len;
		}
		sotto_client_conn_response_free(r);
	}
	CHECK(dl_ok && got == BLOB_SIZE);
	uint8_t d2[32];
	CHECK_RC(sotto_sha256(d2, back, BLOB_SIZE), 0);
	CHECK_MEM(d2, digest, 32);
	CHECK(memcmp(back, blob, BLOB_SIZE) == 0);
	/* A ranged read in the middle. */
	Response *r;
	CHECK_RC(att_download(&B1, id, 1000000, 777, &r), 0);
	if (r != NULL)
		CHECK(r->attachment_download != NULL && r->attachment_download->data.len == 777 &&
			memcmp(r->attachment_download->data.data, blob + 1000000, 777) == 0);
	sotto_client_conn_response_free(r);
	/* Unknown id. */
	uint8_t unknown[16];
	memset(unknown, 0xa5, sizeof(unknown));
	CHECK_RC(att_download(&B1, unknown, 0, 0, NULL), SOTTO__SERVICE__STATUS__NOT_FOUND);
	/* An upload whose bytes do not match the digest is refused and starts
	 * over from 0. */
	uint8_t small[5000], id2[16];
	tu_randbytes(&seed, small, sizeof(small));
	CHECK_RC(sotto_sha256(digest, small, sizeof(small)), 0);
	CHECK_RC(att_create(&A2, sizeof(small), digest, id2, &chunk), 0);
	small[10] ^= 1;
	CHECK_RC(att_upload(&A2, id2, 0, small, sizeof(small), NULL),
		SOTTO__SERVICE__STATUS__BAD_REQUEST);
	CHECK_RC(att_download(&A2, id2, 0, 0, NULL), SOTTO__SERVICE__STATUS__NOT_FOUND);
	small[10] ^= 1;
	CHECK_RC(att_upload(&A2, id2, 0, small, sizeof(small), &r), 0);
	if (r != NULL)
		CHECK(r->attachment_upload != NULL && r->attachment_upload->complete);
	sotto_client_conn_response_free(r);
	tu_report("attachments: 3 MB in chunks, digest, ranges, unknown id, bad digest", 1, 1);
out:
	free(blob);
	free(back);
}

/* ---- unlink ---- */

static int upload_some_prekeys(struct nt_client *c)
{
	uint8_t ec_pub[3][33], sig[64];
	Sotto__Service__EcPrekey ec[3], *ecp[3];
	memset(sig, 3, sizeof(sig));
	for (int i = 0; i < 3; i++) {
		sotto__service__ec_prekey__init(&ec[i]);
		memset(ec_pub[i], i + 1, 33);
		ec_pub[i][0] = 0x05;
		ec[i].id = (uint32_t)(10 + i);
		ec[i].public_key.data = ec_pub[i];
		ec[i].public_key.len = 33;
		ecp[i] = &ec[i];
	}
	Sotto__Service__SignedPrekey spk = SOTTO__SERVICE__SIGNED_PREKEY__INIT;
	spk.id = 1;
	spk.public_key.data = ec_pub[0];
	spk.public_key.len = 33;
	spk.signature.data = sig;
	spk.signature.len = 64;
	Sotto__Service__UploadPrekeysRequest up = SOTTO__SERVICE__UPLOAD_PREKEYS_REQUEST__INIT;
	up.ec_prekeys = ecp;
	up.n_ec_prekeys = 3;
	up.signed_prekey = &spk;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_UPLOAD_PREKEYS;
	req.upload_prekeys = &up;
	return nt_call(c, &req, NULL);
}

/* Rows the store still holds for (account, device) in table. */
static long long db_rows(const char *table, const uint8_t account[16], uint32_t device)
{
	char path[400], sql[300];
	snprintf(path, sizeof(path), "%s/sotto.db", nt_dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	snprintf(sql, sizeof(sql),
		"SELECT count(*) FROM %s t JOIN devices d ON t.dev = d.pk "
		"WHERE d.account_id = ?1 AND d.device_id = ?2",
		table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(st, 1, account, 16, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)device);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_unlink(void)
{
	/* A3 has prekeys and two unacknowledged envelopes. */
	CHECK_RC(upload_some_prekeys(&A3), 0);
	uint32_t a_all[3] = {1, 2, 3};
	CHECK_RC(nt_send(&B1, A1.account, a_all, NULL, 3, "for-a3-1", 8, 0, NULL), 0);
	CHECK_RC(nt_send(&B1, A1.account, a_all, NULL, 3, "for-a3-2", 8, 0, NULL), 0);
	CHECK(nt_wait_got(&A3, 2, 5000) == 2);
	CHECK(db_rows("envelopes", A1.account, 3) == 2);
	CHECK(db_rows("ec_prekeys", A1.account, 3) == 3);
	CHECK(db_rows("signed_prekeys", A1.account, 3) == 1);
	int changed1 = A1.devices_changed, changed2 = A2.devices_changed;
	/* A linked device may not unlink another one; the primary may. */
	Sotto__Service__UnlinkDeviceRequest ur = SOTTO__SERVICE__UNLINK_DEVICE_REQUEST__INIT;
	ur.device_id = 3;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_UNLINK_DEVICE;
	req.unlink_device = &ur;
	CHECK_RC(nt_call(&A2, &req, NULL), SOTTO__SERVICE__STATUS__FORBIDDEN);
	CHECK_RC(nt_call(&A1, &req, NULL), 0);
	/* Its connection is closed; the others hear that the list changed. */
	CHECK(nt_wait_flag(&A3, &A3.lost, 1, 5000));
	CHECK(nt_wait_flag(&A1, &A1.devices_changed, changed1 + 1, 5000));
	CHECK(nt_wait_flag(&A2, &A2.devices_changed, changed2 + 1, 5000));
	uint32_t ids[8];
	size_t n;
	CHECK_RC(device_list(&B1, A1.account, ids, 8, &n), 0);
	CHECK(n == 2 && ids[0] == 1 && ids[1] == 2);
	/* Queue and prekeys are gone. */
	CHECK(db_rows("envelopes", A1.account, 3) == 0);
	CHECK(db_rows("ec_prekeys", A1.account, 3) == 0);
	CHECK(db_rows("signed_prekeys", A1.account, 3) == 0);
	Sotto__Service__FetchBundlesRequest fb = SOTTO__SERVICE__FETCH_BUNDLES_REQUEST__INIT;
	fb.account_id.data = A1.account;
	fb.account_id.len = 16;
	fb.device_id = 3;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_FETCH_BUNDLES;
	req.fetch_bundles = &fb;
	CHECK_RC(nt_call(&B1, &req, NULL), SOTTO__SERVICE__STATUS__NOT_FOUND);
	/* Sending to it is a mismatch (extra device 3). */
	Response *r;
	CHECK_RC(nt_send(&B1, A1.account, a_all, NULL, 3, "late", 4, 0, &r),
		SOTTO__SERVICE__STATUS__MISMATCHED_DEVICES);
	if (r != NULL)
		CHECK(r->send != NULL && r->send->n_mismatches == 1 &&
			r->send->mismatches[0]->n_extra == 1 && r->send->mismatches[0]->extra[0] == 3);
	sotto_client_conn_response_free(r);
	/* Its Noise key no longer authenticates (the handshake itself works:
	 * the server cannot know who is calling before it). */
	nt_disconnect(&A3);
	CHECK_RC(nt_connect(&A3, 0), 0);
	Sotto__Service__AuthenticateRequest ar = SOTTO__SERVICE__AUTHENTICATE_REQUEST__INIT;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_AUTHENTICATE;
	req.authenticate = &ar;
	CHECK_RC(nt_call(&A3, &req, NULL), SOTTO__SERVICE__STATUS__UNAUTHENTICATED);
	CHECK_RC(nt_ping(&A3), 0);
	nt_disconnect(&A3);
	/* A device may unlink itself. */
	ur.device_id = 2;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_UNLINK_DEVICE;
	req.unlink_device = &ur;
	CHECK_RC(nt_call(&A2, &req, NULL), 0);
	CHECK(nt_wait_flag(&A2, &A2.lost, 1, 5000));
	CHECK_RC(device_list(&B1, A1.account, ids, 8, &n), 0);
	CHECK(n == 1 && ids[0] == 1);
	tu_report("unlink: list, queue, prekeys, Noise key, connection", 1, 1);
}

int main(void)
{
	if (nt_setup("e2e", NULL) != 0 || nt_start_server(0) != 0) {
		tu_fail("sottod did not start (%s)", nt_bin);
		return tu_finish("server-net_e2e");
	}
	test_setup_accounts();
	test_multi_device_messaging();
	test_send_multi();
	test_attachments();
	test_unlink();
	struct nt_client *all[5] = {&A1, &A2, &A3, &B1, &B2};
	for (int i = 0; i < 5; i++) {
		if (all[i]->conn != NULL)
			nt_disconnect(all[i]);
		nt_client_clear_got(all[i]);
	}
	nt_teardown();
	return tu_finish("server-net_e2e");
}
