/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#include "sotto/error.h"

const char *sotto_strerror(int err)
{
	switch (err) {
	case SOTTO_OK: return "success";
	case SOTTO_ERR_INVALID_ARGUMENT: return "invalid argument";
	case SOTTO_ERR_INVALID_KEY: return "invalid key";
	case SOTTO_ERR_INVALID_SIGNATURE: return "invalid signature";
	case SOTTO_ERR_INVALID_MESSAGE: return "invalid message";
	case SOTTO_ERR_DUPLICATE_MESSAGE: return "duplicate message";
	case SOTTO_ERR_NO_SESSION: return "no session";
	case SOTTO_ERR_INVALID_KEY_ID: return "unknown key id";
	case SOTTO_ERR_UNTRUSTED_IDENTITY: return "untrusted identity";
	case SOTTO_ERR_INVALID_CERTIFICATE: return "invalid certificate";
	case SOTTO_ERR_INTERNAL: return "internal error";
	case SOTTO_ERR_VERSION_MISMATCH: return "version mismatch";
	case SOTTO_ERR_SEALED_SENDER_SELF_SEND: return "sealed sender message from ourselves";
	case SOTTO_ERR_NOMEM: return "out of memory";
	case SOTTO_ERR_BUFFER_TOO_SMALL: return "output buffer too small";
	case SOTTO_ERR_CRYPTO: return "cryptographic backend failure";
	case SOTTO_ERR_STORAGE: return "storage failure";
	case SOTTO_ERR_NOT_FOUND: return "not found";
	case SOTTO_ERR_EXISTS: return "already exists";
	case SOTTO_ERR_QUEUE_FULL: return "message queue full";
	case SOTTO_ERR_LIMIT: return "limit reached";
	case SOTTO_ERR_KT_PROOF: return "key transparency proof does not verify";
	case SOTTO_ERR_KT_STALE: return "key transparency tree head is older than the current view";
	case SOTTO_ERR_KT_FORK: return "key transparency log fork detected";
	case SOTTO_ERR_NETWORK: return "network error or connection closed";
	case SOTTO_ERR_TIMEOUT: return "timed out";
	default: return "unknown error";
	}
}

const char *sotto_error_code_name(int err)
{
	switch (err) {
	case SOTTO_ERR_INVALID_ARGUMENT:
	case SOTTO_ERR_VERSION_MISMATCH:
	case SOTTO_ERR_BUFFER_TOO_SMALL: return "invalid_argument";
	case SOTTO_ERR_INVALID_KEY: return "invalid_key";
	case SOTTO_ERR_INVALID_SIGNATURE: return "invalid_signature";
	case SOTTO_ERR_INVALID_MESSAGE:
	case SOTTO_ERR_SEALED_SENDER_SELF_SEND: return "invalid_message";
	case SOTTO_ERR_DUPLICATE_MESSAGE: return "duplicate_message";
	case SOTTO_ERR_NO_SESSION: return "no_session";
	case SOTTO_ERR_INVALID_KEY_ID: return "invalid_key_id";
	case SOTTO_ERR_UNTRUSTED_IDENTITY: return "untrusted_identity";
	case SOTTO_ERR_INVALID_CERTIFICATE: return "invalid_certificate";
	default: return "internal";
	}
}
