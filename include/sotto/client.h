/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The Sotto client engine: one profile (a directory holding the encrypted
 * local store, see src/client/lstore.h) of one device of one account, talking
 * to one sottod (docs/server-api.md). This is what the `sotto` CLI calls.
 *
 * People are addressed by their public NAME (the server's name directory:
 * lowercase a-z, 0-9, '_' and '.', 3..32 characters; input is lowercased).
 * Internally every account is its 16-byte server account id, written as a
 * UUID string; that string is the protocol address name of its devices, the
 * stable id of safety numbers, and the key of the peer identity table.
 *
 * Threads: a handle is used by one thread at a time. Calls block (network
 * calls are bounded by the timeouts documented below). Every call returns 0
 * or a negative SOTTO_ERR_* (include/sotto/error.h); sotto_client_errmsg()
 * then gives a one-line reason fit for a user. Common codes:
 *   SOTTO_ERR_INVALID_ARGUMENT  bad arguments (e.g. a malformed name)
 *   SOTTO_ERR_NOT_FOUND         no such profile, name, contact or device
 *   SOTTO_ERR_EXISTS            the profile exists / the name is taken
 *   SOTTO_ERR_INVALID_KEY       wrong passphrase or key file (nothing changed)
 *   SOTTO_ERR_NETWORK, SOTTO_ERR_TIMEOUT  the server could not be reached
 *   SOTTO_ERR_STORAGE           the local store failed
 *   SOTTO_ERR_INTERNAL          the server refused the request (errmsg says why)
 *
 * Time: the engine reads the clock through a hook (sotto_client_set_clock;
 * default: the system clock), so tests can move time forward explicitly
 * (disappearing messages, prekey rotation). */
#ifndef SOTTO_CLIENT_H
#define SOTTO_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sotto_client sotto_client;

#define SOTTO_CLIENT_NAME_MIN 3
#define SOTTO_CLIENT_NAME_MAX 32
#define SOTTO_CLIENT_ACCOUNT_STR 36       /* UUID string without the NUL */
#define SOTTO_CLIENT_SAFETY_DIGITS 60     /* safety number digits without the NUL */
#define SOTTO_CLIENT_LINK_CODE_MAX 128    /* provisioning code, with the NUL */
#define SOTTO_CLIENT_SERVER_KEY_BYTES 32  /* sottod's X25519 static key */
#define SOTTO_CLIENT_SEALED_ROOT_BYTES 32 /* sottod's sealed sender trust root, X25519 form */

/* ---- profiles ---------------------------------------------------------- */

/* Creates a new profile in dir (which must not hold one: SOTTO_ERR_EXISTS).
 * pass == NULL selects key-file mode (dir/store.key, 0600, the CLI's
 * --no-passphrase); otherwise passlen bytes of pass are the passphrase. The
 * profile is empty until sotto_client_register or sotto_client_link_begin.
 * err (errcap bytes, may be NULL) receives a reason on failure. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_create(sotto_client **out, const char *dir,
						       const char *pass, size_t passlen, char *err,
						       size_t errcap);

/* Opens an existing profile. In key-file mode pass is ignored (may be
 * NULL); in passphrase mode a wrong passphrase is SOTTO_ERR_INVALID_KEY and
 * changes nothing. SOTTO_ERR_NOT_FOUND if dir holds no profile. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_open(sotto_client **out, const char *dir,
						     const char *pass, size_t passlen, char *err,
						     size_t errcap);

/* 1 if the profile in dir needs a passphrase, 0 if it uses a key file;
 * SOTTO_ERR_NOT_FOUND if there is none. Touches nothing. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_needs_passphrase(const char *dir);

/* Disconnects, wipes the keys in memory and frees. NULL is ignored. */
SOTTO_EXPORT void sotto_client_close(sotto_client *c);

/* Why the last failed call on c failed; never NULL; valid until the next
 * call on c. */
SOTTO_EXPORT const char *sotto_client_errmsg(const sotto_client *c);

/* Something a successful call wants the user to know ("" if nothing), e.g.
 * that a message went out without sealed sender. Never NULL; cleared at the
 * start of each send. */
SOTTO_EXPORT const char *sotto_client_notice(const sotto_client *c);

/* The engine's clock (ms since the epoch). NULL restores the system clock. */
SOTTO_EXPORT void sotto_client_set_clock(sotto_client *c, uint64_t (*now_ms)(void *ctx),
					 void *ctx);

/* Network timeout per server call in ms (default 15000). */
SOTTO_EXPORT void sotto_client_set_timeout(sotto_client *c, unsigned ms);

/* ---- account ----------------------------------------------------------- */

/* Parses "HOST:PORT" (numeric IPv4, or [IPv6]:PORT) and a server key given
 * as base64 (as sottod prints it) into the form register/link_begin take.
 * SOTTO_ERR_INVALID_ARGUMENT if malformed. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_parse_server_key(
	const char *b64, uint8_t key[SOTTO_CLIENT_SERVER_KEY_BYTES]);

/* Registers a new account with this profile as its primary device (id 1):
 * creates the identity key pair, registration id, Noise static key, one
 * signed EC prekey, 100 one-time EC prekeys, 100 one-time KEM prekeys and a
 * last-resort KEM prekey; registers with the server at `server`
 * ("HOST:PORT") whose static key is pinned to server_key, claiming `name`;
 * then uploads the prekeys. invite may be NULL (open registration), else
 * the invite code as printed by `sottod admin invite` (base64url).
 * SOTTO_ERR_EXISTS: the profile is already registered, or the name is taken
 * (errmsg says which). Nothing is kept locally when the server refuses. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_register(sotto_client *c, const char *server,
							 const uint8_t server_key[SOTTO_CLIENT_SERVER_KEY_BYTES],
							 const char *name, const char *invite);

/* Sealed sender: the engine sends every 1:1 and sync message as a sealed
 * sender v1 envelope (the server stores and delivers no sender) carrying a
 * sender certificate that sottod issues to the device (24 h; the engine
 * fetches a new one an hour before expiry). Receivers accept only
 * certificates that chain to the pinned trust root and have not expired by
 * their clock. Without a certificate (e.g. the server's root is not the
 * pinned one) messages go out unsealed and sotto_client_notice says so.
 *
 * Pins sottod's sealed sender trust root (its `sealed-root` line, parsed
 * with sotto_client_parse_server_key). Call it before register/link_begin,
 * or the engine pins the root the server announces at first contact (trust
 * on first use, as with the KT key). SOTTO_ERR_EXISTS if a different root
 * is pinned already. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_set_sealed_root(
	sotto_client *c, const uint8_t key[SOTTO_CLIENT_SEALED_ROOT_BYTES]);
/* The pinned root; SOTTO_ERR_NOT_FOUND if none yet. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_sealed_root(
	sotto_client *c, uint8_t key[SOTTO_CLIENT_SEALED_ROOT_BYTES]);

typedef struct sotto_client_account {
	char name[SOTTO_CLIENT_NAME_MAX + 1];
	char account_id[SOTTO_CLIENT_ACCOUNT_STR + 1];
	uint32_t device_id;
	uint32_t registration_id;
	char server[80]; /* "HOST:PORT" */
} sotto_client_account;

/* SOTTO_ERR_NOT_FOUND while the profile is not registered or linked. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_account_info(sotto_client *c,
							     sotto_client_account *out);

/* Housekeeping, also run by send and receive: tops the server's one-time
 * prekeys up to 100 of each kind when fewer than 10 are left (and when the
 * server pushed PrekeysLow), replaces the signed EC prekey and the
 * last-resort KEM prekey once they are older than rotate_after_ms (0: 7 days;
 * the old private keys are kept for late messages until twice that age), and
 * deletes expired disappearing messages (and their files). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_maintain(sotto_client *c, uint64_t rotate_after_ms);

/* ---- contacts and safety numbers -------------------------------------- */

typedef struct sotto_client_contact {
	const char *name;
	const char *account_id; /* UUID string */
	int verified;           /* the user compared safety numbers and marked it */
	int identity_changed;   /* the key changed since the user last verified or looked */
} sotto_client_contact;

/* Resolves name with the server and adds it as a contact (idempotent).
 * SOTTO_ERR_NOT_FOUND: no such name. Sending to a name adds it too. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_contact_add(sotto_client *c, const char *name);

/* Calls cb for every contact, by name; strings valid during the call. A
 * nonzero return of cb stops the walk and is returned. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_contacts(sotto_client *c,
							 int (*cb)(void *ctx, const sotto_client_contact *ct),
							 void *ctx);

/* The safety number with contact name (libsignal fingerprint version 2,
 * 5200 iterations, stable ids = the 16-byte account ids), as 60 digits and
 * a NUL; *verified and *changed (may be NULL) as in sotto_client_contact.
 * SOTTO_ERR_NOT_FOUND: no such contact, or no identity key known yet (the
 * engine fetches it from the server first). Looking at the number clears
 * nothing; sotto_client_set_verified does. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_safety_number(sotto_client *c, const char *name,
							      char digits[SOTTO_CLIENT_SAFETY_DIGITS + 1],
							      int *verified, int *changed);

/* Marks the contact's current identity key verified (1) or not (0), and
 * clears identity_changed. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_set_verified(sotto_client *c, const char *name,
							     int verified);

/* ---- messages ---------------------------------------------------------- */

enum sotto_client_msg_kind {
	SOTTO_CLIENT_MSG_TEXT = 0,            /* text and/or attachments */
	SOTTO_CLIENT_MSG_TIMER = 1,           /* disappearing-message timer changed (timer_s) */
	SOTTO_CLIENT_MSG_IDENTITY_CHANGE = 2, /* local notice: the contact's identity key changed */
};

enum sotto_client_msg_status {
	SOTTO_CLIENT_STATUS_PENDING = 0,
	SOTTO_CLIENT_STATUS_SENT = 1,
	SOTTO_CLIENT_STATUS_DELIVERED = 2,
	SOTTO_CLIENT_STATUS_READ = 3,
};

typedef struct sotto_client_attachment {
	const char *id;           /* hex */
	const char *file_name;    /* "" if none */
	const char *content_type; /* "" if none */
	uint64_t size;            /* plaintext bytes */
	const char *path;         /* saved file under the profile dir, "" if not downloaded */
} sotto_client_attachment;

typedef struct sotto_client_message {
	const char *id;           /* the sender's message id (hex) */
	const char *conversation; /* the contact's name */
	const char *sender;       /* the sender's name (our own for outgoing) */
	uint32_t sender_device;
	int outgoing;             /* 1: sent by this account (on this or another device) */
	enum sotto_client_msg_kind kind;
	uint64_t timestamp_ms;    /* the sender's clock */
	const char *body;         /* UTF-8 text, NUL-terminated ("" if none) */
	size_t body_len;
	uint32_t timer_s;         /* TIMER: the new value (0 = off) */
	enum sotto_client_msg_status status;
	uint64_t expires_at_ms;   /* 0: never */
	const sotto_client_attachment *attachments;
	size_t n_attachments;
} sotto_client_message;

/* Everything in a message is valid during the call only. A nonzero return
 * stops the walk (history) or is only recorded (receive: the message is
 * stored and acknowledged regardless). */
typedef int (*sotto_client_message_fn)(void *ctx, const sotto_client_message *m);

/* Sends text to the contact name (resolving and adding it if needed): one
 * encrypted copy per device of the contact and, as a sync message, one per
 * other device of our own account. Returns 0 only after the server
 * acknowledged both sends (the message is then stored as SENT); device-list
 * changes on the way are handled (sessions added/removed, retried).
 * msg_id (may be NULL, 33 bytes) receives the message id. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_send_text(sotto_client *c, const char *name,
							  const char *text, char msg_id[33]);

/* Encrypts the file at path with a fresh key (docs: engine_attach.c),
 * uploads it, and sends a message carrying the pointer (and the optional
 * caption text, may be NULL). content_type may be NULL. At most 100 MiB. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_send_file(sotto_client *c, const char *name,
							  const char *path, const char *content_type,
							  const char *caption, char msg_id[33]);

/* Sets the disappearing-message timer of the conversation with name
 * (seconds, 0 = off) on every device of both accounts: sends a timer update.
 * A message expires timer_s after it was sent (outgoing) or received
 * (incoming); expired messages are deleted by sotto_client_maintain, send
 * and receive on every device. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_set_timer(sotto_client *c, const char *name,
							  uint32_t timer_s);

/* Marks every unread incoming message of the conversation read and sends a
 * read receipt to the contact. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_mark_read(sotto_client *c, const char *name);

/* Connects, takes everything queued for this device, and then waits up to
 * timeout_ms for more (0: return once the queue is drained). Each envelope
 * is decrypted, stored (and its attachments downloaded and checked) in one
 * local transaction with the mark that it was seen, and only then
 * acknowledged; duplicates are acknowledged and dropped. cb (may be NULL)
 * sees each new message after its commit. Receipts update statuses and are
 * not reported. *count (may be NULL) = messages reported. Delivery receipts
 * are sent for received messages. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_receive(sotto_client *c, unsigned timeout_ms,
							sotto_client_message_fn cb, void *ctx,
							unsigned *count);

/* The stored messages of the conversation with name, oldest first; limit 0
 * = all, else the newest limit ones. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_history(sotto_client *c, const char *name,
							uint32_t limit, sotto_client_message_fn cb,
							void *ctx);

/* ---- devices ----------------------------------------------------------- */

typedef struct sotto_client_device {
	uint32_t device_id;
	const char *name;        /* the device's name ("" if none) */
	uint64_t created_ms;
	uint64_t last_seen_ms;
	int current;             /* 1: this device */
} sotto_client_device;

/* Our account's linked devices, from the server. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_devices(sotto_client *c,
							int (*cb)(void *ctx, const sotto_client_device *d),
							void *ctx);

/* Unlinks a device (the primary: any other one; any device: itself, after
 * which this profile can no longer be used with the server). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_unlink(sotto_client *c, uint32_t device_id);

/* Linking a new device (docs/server-api.md "Linking a device"):
 *  1. On the NEW device (a freshly created profile): sotto_client_link_begin
 *     generates an ephemeral X25519 key and the device's Noise key, stores
 *     them, and writes the provisioning code (text, NUL-terminated, at most
 *     SOTTO_CLIENT_LINK_CODE_MAX bytes; the CLI may also draw it as a QR
 *     code). The new device must know the server address and key.
 *  2. On the PRIMARY: sotto_client_link_device(code, device name) registers
 *     the new device's Noise key under the account and sends it, encrypted
 *     to the ephemeral key through the server, the account identity key
 *     pair, name, registration id and contacts. *device_id (may be NULL)
 *     gets the new id.
 *  3. On the NEW device: sotto_client_link_finish waits (up to timeout_ms)
 *     until the server accepts its Noise key, receives and decrypts the
 *     provisioning message, stores the identity, and uploads fresh prekeys.
 *     SOTTO_ERR_TIMEOUT if the primary has not linked it in time (call
 *     again). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_link_begin(sotto_client *c, const char *server,
							   const uint8_t server_key[SOTTO_CLIENT_SERVER_KEY_BYTES],
							   char code[SOTTO_CLIENT_LINK_CODE_MAX]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_link_device(sotto_client *c, const char *code,
							    const char *device_name,
							    uint32_t *device_id);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_client_link_finish(sotto_client *c, unsigned timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
