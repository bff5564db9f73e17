/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#ifndef SOTTO_ERROR_H
#define SOTTO_ERROR_H

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every call returns 0 or one of these negative codes. Numbers are never
 * reused: a retired code stays reserved. The first group maps one to one onto
 * the interop driver's error strings (see sotto_error_code_name). */
enum sotto_error {
	SOTTO_OK = 0,
	SOTTO_ERR_INVALID_ARGUMENT = -1,
	SOTTO_ERR_INVALID_KEY = -2,
	SOTTO_ERR_INVALID_SIGNATURE = -3,
	SOTTO_ERR_INVALID_MESSAGE = -4,
	SOTTO_ERR_DUPLICATE_MESSAGE = -5,
	SOTTO_ERR_NO_SESSION = -6,
	SOTTO_ERR_INVALID_KEY_ID = -7,
	SOTTO_ERR_UNTRUSTED_IDENTITY = -8,
	SOTTO_ERR_INVALID_CERTIFICATE = -9,
	SOTTO_ERR_INTERNAL = -10,
	SOTTO_ERR_VERSION_MISMATCH = -11, /* fingerprint versions differ */
	SOTTO_ERR_SEALED_SENDER_SELF_SEND = -12, /* a sealed sender message from ourselves */
	/* Library-level conditions. */
	SOTTO_ERR_NOMEM = -20,
	SOTTO_ERR_BUFFER_TOO_SMALL = -21,
	SOTTO_ERR_CRYPTO = -22, /* a backend (OpenSSL, libsodium) call failed */
	SOTTO_ERR_STORAGE = -23,
	SOTTO_ERR_NOT_FOUND = -24,
	SOTTO_ERR_EXISTS = -25, /* a unique thing (e.g. a device's Noise key) is already stored */
	SOTTO_ERR_QUEUE_FULL = -26, /* a device's message queue is at its length limit */
	SOTTO_ERR_LIMIT = -27, /* another configured limit is reached (e.g. devices per account) */
	SOTTO_ERR_KT_PROOF = -28, /* a Merkle inclusion or consistency proof does not verify */
	SOTTO_ERR_KT_STALE = -29, /* a tree head older than the one already seen (replay) */
	SOTTO_ERR_KT_FORK = -30, /* two tree heads cannot belong to one append-only log */
	SOTTO_ERR_NETWORK = -31, /* a connection failed or was closed */
	SOTTO_ERR_TIMEOUT = -32, /* no answer in the time allowed */
};

/* A short English description of an error code; never NULL. */
SOTTO_EXPORT const char *sotto_strerror(int err);

/* The interop driver's stable code string for an error ("invalid_message",
 * ...); library-level codes map to "internal", except
 * SOTTO_ERR_BUFFER_TOO_SMALL which maps to "invalid_argument". */
SOTTO_EXPORT const char *sotto_error_code_name(int err);

#ifdef __cplusplus
}
#endif
#endif
