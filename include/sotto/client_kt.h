/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Key transparency in the client engine (docs/key-transparency.md section 8).
 *
 * The engine pins the server's KT public key (given at registration, or
 * learned from the server on first contact and pinned from then on), keeps
 * the latest signed tree head it verified in the local store, and:
 *  - verifies the inclusion proof of every identity key and device it takes
 *    from the server (bundles, device lists) before it uses it, and refuses
 *    to encrypt to a device without a valid proof;
 *  - accepts a newer head only with a valid consistency proof from its own
 *    (older, replayed heads and forks are refused and raise an alarm);
 *  - monitors its own account: it reads every leaf appended to the log since
 *    its last check, recomputes the signed root from them, and raises an
 *    alarm for any device or identity key of its account that it did not add,
 *    and for its own device logged with a transport (Noise) key not its own;
 *    a logged transport key change of another device of the account is shown
 *    too (SOTTO_CLIENT_KT_TRANSPORT_CHANGE);
 *    it does not encrypt to such a device until the user decides;
 *  - puts its head inside its end-to-end encrypted messages and checks the
 *    heads of its contacts against its own view (a server that shows
 *    different logs to different users is caught).
 * Alarms are stored in the profile and stay until the user decides. */
#ifndef SOTTO_CLIENT_KT_H
#define SOTTO_CLIENT_KT_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/client.h"
#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_CLIENT_KT_KEY_BYTES 32 /* the server's KT key, an Ed25519 public key */

/* Pins the server's KT key (base64 as sottod prints it on its `kt-key`
 * line: parse with sotto_client_parse_server_key). Call it on a new profile
 * before sotto_client_register / sotto_client_link_begin, or on a profile
 * that has not learned a key yet. SOTTO_ERR_EXISTS if a different key is
 * pinned already (nothing changes). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_set_kt_key(
	sotto_client *c, const uint8_t key[SOTTO_CLIENT_KT_KEY_BYTES]);

/* The pinned key; SOTTO_ERR_NOT_FOUND if none yet. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_kt_key(sotto_client *c,
						       uint8_t key[SOTTO_CLIENT_KT_KEY_BYTES]);

/* Fetches the server's latest signed head, checks it against the stored one
 * (consistency proof), and monitors the account's own entries in the log up
 * to it. Also run by receive, devices and before encrypting to a new device
 * of one's own account. A device or key of ours that we did not add is an
 * alarm (see sotto_client_kt_alarms) and the call still returns 0. Errors:
 * SOTTO_ERR_KT_FORK, SOTTO_ERR_KT_STALE, SOTTO_ERR_KT_PROOF (the log itself
 * is inconsistent: an alarm was recorded too), network errors. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_kt_refresh(sotto_client *c);

/* The stored head: tree size, root and time (any pointer may be NULL).
 * SOTTO_ERR_NOT_FOUND before the first one. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_kt_head(sotto_client *c, uint64_t *size,
							uint8_t root[32], uint64_t *time_ms);

enum sotto_client_kt_alarm_kind {
	SOTTO_CLIENT_KT_GHOST_DEVICE = 1, /* a device of our account we did not add */
	SOTTO_CLIENT_KT_KEY_SWAP = 2,     /* an identity key of our account that is not ours */
	SOTTO_CLIENT_KT_NO_PROOF = 3,     /* a contact's device or key without a valid proof */
	SOTTO_CLIENT_KT_FORK = 4,         /* two heads that cannot be one append-only log */
	SOTTO_CLIENT_KT_STALE = 5,        /* an older head than ours was presented (replay) */
	SOTTO_CLIENT_KT_BAD_HEAD = 6,     /* a head not signed by the pinned KT key */
	SOTTO_CLIENT_KT_TRANSPORT_CHANGE = 7, /* a device of ours logged with a new transport
					       * (Noise) key under the same identity key */
};

enum sotto_client_kt_alarm_state {
	SOTTO_CLIENT_KT_PENDING = 0,  /* the user has not decided */
	SOTTO_CLIENT_KT_ACCEPTED = 1, /* the user says it is fine (e.g. a device they linked) */
	SOTTO_CLIENT_KT_REJECTED = 2, /* never encrypt to it (the primary also unlinks it) */
};

typedef struct sotto_client_kt_alarm {
	uint64_t id;                /* stable, for sotto_client_kt_decide */
	enum sotto_client_kt_alarm_kind kind;
	enum sotto_client_kt_alarm_state state;
	const char *account;        /* the account's name ("" if the alarm is about no account) */
	uint32_t device_id;         /* 0 if none */
	uint64_t leaf_index;        /* the log entry, UINT64_MAX if none */
	uint64_t time_ms;           /* when it was raised */
	const char *detail;         /* one line for the user */
} sotto_client_kt_alarm;

/* Calls cb for each alarm, oldest first (pending_only: only undecided ones);
 * strings valid during the call; a nonzero return stops the walk. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_kt_alarms(
	sotto_client *c, int pending_only,
	int (*cb)(void *ctx, const sotto_client_kt_alarm *a), void *ctx);

/* The user's decision on alarm id. Accepting a GHOST_DEVICE alarm lets the
 * engine encrypt to that device; rejecting it keeps the device refused and,
 * on the primary device, unlinks it from the account. Other kinds are only
 * marked. SOTTO_ERR_NOT_FOUND: no such alarm. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_kt_decide(sotto_client *c, uint64_t id,
							  int accept);

enum sotto_client_kt_status {
	SOTTO_CLIENT_KT_OK = 0,           /* included in the signed log with this key */
	SOTTO_CLIENT_KT_MISSING = 1,      /* no log entry: refused */
	SOTTO_CLIENT_KT_INVALID = 2,      /* a proof that does not verify: refused */
	SOTTO_CLIENT_KT_MISMATCH = 3,     /* the logged key differs from the served one: refused */
	SOTTO_CLIENT_KT_UNTRUSTED = 4,    /* logged, but not added by this account: alarm pending */
	SOTTO_CLIENT_KT_REFUSED = 5,      /* the user rejected it */
};

/* One line for a status ("ok", "no log entry", ...). */
SOTTO_EXPORT const char *sotto_client_kt_status_str(enum sotto_client_kt_status st);

typedef struct sotto_client_kt_device {
	uint32_t device_id;
	const char *name;        /* "" if none or not ours to read */
	int current;             /* 1: this device */
	enum sotto_client_kt_status status;
	uint64_t leaf_index;     /* its latest log entry, UINT64_MAX if none */
	uint64_t tree_size;      /* of the head the proof was checked against */
} sotto_client_kt_device;

/* Our account's devices as the server lists them, each with its key
 * transparency status (after sotto_client_kt_refresh). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_kt_devices(
	sotto_client *c, int (*cb)(void *ctx, const sotto_client_kt_device *d), void *ctx);

typedef struct sotto_client_kt_contact {
	uint32_t n_devices;     /* devices the server lists for the contact */
	uint32_t n_ok;          /* of which with a valid proof and the contact's key */
	enum sotto_client_kt_status status; /* the worst device status */
	uint64_t tree_size;     /* the head the proofs were checked against */
	uint32_t n_alarms;      /* pending alarms about this contact */
} sotto_client_kt_contact;

/* The contact's log status (for `sotto verify NAME`, beside the safety
 * number): checks every device of the contact against the log. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_kt_contact_status(sotto_client *c,
								  const char *name,
								  sotto_client_kt_contact *out);

/* ---- auditing (sotto audit) --------------------------------------------
 * Downloads the whole log of the server at `server` (static key server_key;
 * KT key kt_key, or NULL to take the one the server announces), in pages,
 * recomputes the root of every head in heads (signed heads seen before, 145
 * bytes each, e.g. from earlier audits) and of the latest head, verifies
 * each head's signature and the server's consistency proofs between them,
 * and writes a report through out (one line per call). *inconsistent gets
 * the number of problems found; the call itself fails only when the audit
 * could not be run (network, malformed answers). latest (may be NULL)
 * receives the latest signed head's 145 bytes. */
typedef void (*sotto_client_report_fn)(void *ctx, const char *line);

SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_kt_audit(
	const char *server, const uint8_t server_key[32], const uint8_t *kt_key,
	const uint8_t *heads, size_t n_heads, unsigned timeout_ms, sotto_client_report_fn out,
	void *ctx, unsigned *inconsistent, uint8_t latest[145]);

#ifdef __cplusplus
}
#endif
#endif
