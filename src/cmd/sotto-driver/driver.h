/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-driver: the interop driver (shared/docs/DRIVER.md, version 1, plus
 * the extensions of tests/interop/README.md) over libsotto. Shared pieces of
 * the op files: parties, request field helpers, errors. */
#ifndef SOTTO_DRIVER_H
#define SOTTO_DRIVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sotto/sotto.h"

/* A failed op: a DRIVER.md code and a human message. */
typedef struct drv_err {
	const char *code;
	char msg[256];
} drv_err;

/* Every op: fills res with its result fields and returns 0, or returns -1
 * after drv_fail*. */
typedef int (*drv_op_fn)(json_t *req, json_t *res, drv_err *err);

typedef struct drv_op {
	const char *name;
	drv_op_fn fn;
} drv_op;

/* A party: identity, registration id and all its stores, in memory. */
typedef struct drv_party {
	struct drv_party *next;
	char *name;
	uint32_t device_id;
	uint32_t reg_id;
	sotto_identity_keypair id;
	sotto_protocol_memstore *ms;
	sotto_protocol_stores stores;
	sotto_sender_key_memstore *skms;
	sotto_sender_key_store sk; /* the memstore behind a reset filter */
	sotto_sender_key_store sk_inner;
	struct drv_reset *resets; /* own sender keys forgotten by sender_key_reset */
} drv_party;

/* Sets up p->sk over p->skms (group_ops.c). */
void drv_party_sender_keys(drv_party *p);
void drv_party_resets_free(drv_party *p);

int drv_fail(drv_err *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Maps a library error to its DRIVER.md code (what sotto_error_code_name
 * says), with what as the message prefix. */
int drv_fail_rc(drv_err *err, int rc, const char *what);

/* Field helpers: 0, or -1 with invalid_argument set. */
int drv_str(json_t *o, const char *name, const char **out, drv_err *err);
int drv_int(json_t *o, const char *name, int64_t min, int64_t max, int64_t *out, drv_err *err);
/* 1 if the field is present and not null. */
int drv_present(json_t *o, const char *name);
/* Base64 field: *out is malloc'd (free with drv_free_bytes), *len its size. */
int drv_bytes(json_t *o, const char *name, uint8_t **out, size_t *len, drv_err *err);
void drv_free_bytes(uint8_t *p, size_t len);
/* Sets res[name] to the base64 of p; 0 or -1 (internal). */
int drv_set_b64(json_t *res, const char *name, const uint8_t *p, size_t len, drv_err *err);
/* An EC public key field (33 bytes, type 5; extra bytes ignored as libsignal
 * does): invalid_key if it does not parse. */
int drv_pubkey(json_t *o, const char *name, uint8_t out[SOTTO_EC_PUBLIC_BYTES], drv_err *err);
/* A UUID string field, parsed to 16 bytes (invalid_argument). */
int drv_uuid(json_t *o, const char *name, uint8_t out[16], drv_err *err);
int drv_parse_uuid(const char *s, uint8_t out[16]);

/* Parties. */
drv_party *drv_party_find(const char *name);
/* The party named by field (usually "party"); invalid_argument if unknown. */
int drv_party_field(json_t *req, const char *field, drv_party **out, drv_err *err);
/* (name, device) fields as an address; the name pointer borrows from req. */
int drv_address(json_t *req, const char *name_field, const char *dev_field, sotto_address *out,
		drv_err *err);
void drv_parties_free(void);

uint64_t drv_now_ms(void);

/* Op tables of each file. */
extern const drv_op drv_party_ops[];
extern const drv_op drv_session_ops[];
extern const drv_op drv_group_ops[];
extern const drv_op drv_fingerprint_ops[];
extern const drv_op drv_sealed_ops[];

#endif
