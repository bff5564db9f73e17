/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The client engine's internals, shared by src/client/engine*.c. */
#ifndef SOTTO_CLIENT_ENGINE_INTERNAL_H
#define SOTTO_CLIENT_ENGINE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "client/conn.h"
#include "client/lstore.h"
#include "content.pb-c.h"
#include "service.pb-c.h"
#include "sotto/client.h"
#include "sotto/client_kt.h"
#include "sotto/session.h"

#define ENG_NS "engine"         /* kv namespace: engine state */
#define ENG_NS_N2A "name2acct"  /* kv: contact name -> 16-byte account id */
#define ENG_NS_A2N "acct2name"  /* kv: 16-byte account id -> name */
#define ENG_NS_CHANGED "changed" /* kv: contact name -> 1 (identity changed, not yet seen) */
#define ENG_PREKEY_BATCH 100
#define ENG_PREKEY_LOW 10
#define ENG_DEFAULT_ROTATE_MS (7ull * 24 * 3600 * 1000)
#define ENG_PATH_MAX 4096

typedef Sotto__Service__Request Request;
typedef Sotto__Service__Response Response;

/* An envelope pushed by the server, waiting for the engine's thread. */
struct eng_env {
	struct eng_env *next;
	uint64_t seq;
	int64_t server_ms;
	uint8_t sender[16];
	uint32_t sender_device;
	uint32_t type;
	uint8_t *content;
	size_t content_len;
};

struct sotto_client {
	char dir[ENG_PATH_MAX];
	sotto_lstore *ls;
	sotto_protocol_stores stores;
	char err[512];
	uint64_t (*clock)(void *ctx);
	void *clock_ctx;
	unsigned timeout_ms;

	int registered; /* account fields below are valid */
	uint8_t acct[16];
	char acct_str[SOTTO_CLIENT_ACCOUNT_STR + 1];
	uint32_t device_id;
	uint32_t reg_id;
	char name[SOTTO_CLIENT_NAME_MAX + 1];
	char server[80];
	char host[64];
	uint16_t port;
	uint8_t server_key[32];
	int has_noise;
	uint8_t noise_priv[32]; /* secret */

	sotto_client_conn *conn;
	int conn_auth; /* the connection authenticates itself */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct eng_env *head, *tail;
	unsigned queue_empty; /* QueueEmpty pushes seen */
	int prekeys_low;
	int devices_changed;
	struct eng_kt *kt; /* key transparency state (engine_kt.c), loaded on first use */
	/* sealed sender (engine_sealed.c), loaded on first use */
	int sealed_loaded, sealed_has_root;
	uint8_t sealed_root[33];
	uint8_t *sealed_cert; /* our sender certificate, NULL if none yet */
	size_t sealed_cert_len;
	uint64_t sealed_cert_exp;
	char notice[256]; /* sotto_client_notice: what the last call wants the user to know */
};

/* engine.c */
int sotto__eng_err(sotto_client *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t sotto__eng_now(sotto_client *c);
int sotto__eng_connect(sotto_client *c, int authenticate);
void sotto__eng_disconnect(sotto_client *c);
/* Runs req; on success *resp has status OK (or MISMATCHED_DEVICES when
 * allow_mismatch). Other statuses become errors with the server's reason. */
int sotto__eng_call(sotto_client *c, Request *req, Response **resp, int allow_mismatch);
int sotto__eng_kv_put_u64(sotto_client *c, const char *key, uint64_t v);
int sotto__eng_kv_get_u64(sotto_client *c, const char *key, uint64_t *v);
int sotto__eng_kv_put_str(sotto_client *c, const char *ns, const char *key, const void *val,
	size_t len);
void sotto__eng_uuid_str(const uint8_t id[16], char out[SOTTO_CLIENT_ACCOUNT_STR + 1]);
int sotto__eng_uuid_parse(const char *s, uint8_t id[16]);
void sotto__eng_hex(const uint8_t *in, size_t n, char *out);
int sotto__eng_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen);
int sotto__eng_norm_name(const char *in, char out[SOTTO_CLIENT_NAME_MAX + 1]);
int sotto__eng_load_account(sotto_client *c);
int sotto__eng_upload_prekeys(sotto_client *c, int ec_kem, int signed_pk, int last_resort);
int sotto__eng_resolve(sotto_client *c, const char *name, uint8_t acct[16], int refresh);
int sotto__eng_name_of(sotto_client *c, const uint8_t acct[16], char name[SOTTO_CLIENT_NAME_MAX + 1]);
int sotto__eng_bind_name(sotto_client *c, const char *name, const uint8_t acct[16],
	uint64_t now);
int sotto__eng_notice(sotto_client *c, const char *conv, uint64_t now);
int sotto__eng_identity_changed(sotto_client *c, const char *acct_str,
	const uint8_t key[SOTTO_EC_PUBLIC_BYTES], uint64_t now);
int sotto__eng_name_for_acct_str(sotto_client *c, const char *acct_str,
	char name[SOTTO_CLIENT_NAME_MAX + 1]);
/* Pops the next pushed envelope (NULL if none); the caller frees it. */
struct eng_env *sotto__eng_pop(sotto_client *c);
void sotto__eng_env_free(struct eng_env *e);
/* Waits until an envelope is queued or the deadline (ms, engine-independent
 * monotonic clock) passes; 1 if one is there. */
int sotto__eng_wait_env(sotto_client *c, uint64_t deadline_mono);
uint64_t sotto__eng_mono_ms(void);
int sotto__eng_ack(sotto_client *c, uint64_t seq);
int sotto__eng_sweep(sotto_client *c);
int sotto__eng_encrypt_name(sotto_client *c, const char *name, uint8_t *out, size_t cap,
	size_t *outlen);
int sotto__eng_decrypt_name(sotto_client *c, const uint8_t *in, size_t len, char *out,
	size_t cap);

/* engine_msg.c */
int sotto__eng_send_content(sotto_client *c, const uint8_t dest[16], const uint8_t *pt,
	size_t ptlen);
int sotto__eng_pad(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen);

/* engine_kt.c: key transparency (include/sotto/client_kt.h) */
struct eng_kt;
void sotto__eng_kt_free(sotto_client *c);
/* Checks the head of a FetchBundles/DeviceList answer against the view
 * (adopting it if newer and consistent) and then the device's proof: 0 only
 * if identity_key is the key of the device's latest leaf in that head.
 * Otherwise an alarm is recorded and errmsg says why. */
int sotto__eng_kt_check_device(sotto_client *c, const uint8_t acct[16], uint32_t device_id,
	const ProtobufCBinaryData *identity_key, const Sotto__Service__KtProof *proof,
	const ProtobufCBinaryData *signed_head);
/* 0 if the engine may encrypt to (acct, device): no pending or rejected
 * alarm about it. For a new device of our own account, monitors the log
 * first (which raises the alarm for a device we did not add). */
int sotto__eng_kt_may_encrypt(sotto_client *c, const uint8_t acct[16], uint32_t device_id,
	int new_device);
/* This account added device_id with identity key (registration, linking). */
int sotto__eng_kt_own_added(sotto_client *c, uint32_t device_id, const uint8_t key[33]);
/* After registration or linking: record our own device, learn/pin the KT
 * key and adopt the server's head. Failures are left for later calls. */
void sotto__eng_kt_joined(sotto_client *c);
/* The stored head's 145 bytes for outgoing messages; 0 if there is one. */
int sotto__eng_kt_head_bytes(sotto_client *c, uint8_t out[145]);
/* A head a contact (who: their name) put in a message: checked against our
 * view with a consistency proof from the server; an alarm on a fork. */
int sotto__eng_kt_peer_head(sotto_client *c, const char *who, const uint8_t *head, size_t len);

/* engine_sealed.c: sealed sender */
void sotto__eng_sealed_free(sotto_client *c);
/* Our sender certificate, fetched (and the trust root pinned on first
 * contact) when there is none or it is within an hour of its expiry; valid
 * until the next call. */
int sotto__eng_sealed_cert(sotto_client *c, const uint8_t **cert, size_t *len);
/* After registration or linking: learn/check the trust root and fetch a
 * certificate. Failures are left for the first send. */
void sotto__eng_sealed_joined(sotto_client *c);
/* Wraps a session ciphertext (type: SOTTO_MESSAGE_TYPE_WHISPER/PREKEY) in a
 * sealed sender v1 envelope for recipient_identity; *out is malloc'd. */
int sotto__eng_seal(sotto_client *c, const uint8_t recipient_identity[33], int type,
	const uint8_t *inner, size_t inner_len, const uint8_t *cert, size_t cert_len,
	uint8_t **out, size_t *outlen);
/* Opens a sealed envelope in place: validates the certificate (pinned root,
 * engine clock, not from this device), then replaces e's content, type and
 * sender with the inner message and the certificate's sender; identity_key
 * gets the certificate's key, which the session must hold. */
int sotto__eng_unseal(sotto_client *c, struct eng_env *e, uint8_t identity_key[33]);

/* engine_attach.c */
int sotto__eng_attach_upload(sotto_client *c, const char *path,
	Sotto__Content__AttachmentPointer *ptr, uint8_t key[48], uint8_t id[16],
	uint8_t digest[32]);
int sotto__eng_attach_download(sotto_client *c, const Sotto__Content__AttachmentPointer *ptr,
	const char *dest_path);

#endif
