/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sottod's network side: configuration, the server object and its lifetime.
 * The program (src/cmd/sottod) only parses its command line and calls these.
 *
 * Threads: the main loop accepts connections and handles signals; each of
 * `workers` threads runs its own libuv loop and owns the connections handed
 * to it. Store reads run in libuv's thread pool; store writes go to the
 * store's group-commit writer and come back to the owning worker through a
 * uv_async task queue. */
#ifndef SOTTO_SERVER_SERVER_H
#define SOTTO_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>

#define SOTTO_SERVER_KEY_FILE "server.key"

typedef struct sotto_server_config {
	char listen_host[64];    /* numeric IPv4 or IPv6 address */
	uint16_t listen_port;    /* 0: any free port (printed at start) */
	int registration_invite; /* 1: registration needs an invite code */
	unsigned workers;        /* 0: one per core */
	size_t max_message;      /* largest protobuf message in either direction */
	size_t max_envelope;     /* largest envelope content */
	uint32_t max_queue_len;  /* envelopes per device */
	uint64_t max_attachment; /* bytes per attachment */
	double device_rate, device_burst; /* requests per second per device, bucket size */
	double addr_rate, addr_burst;     /* requests per second per source address */
	size_t max_connections;           /* over all workers */
	size_t max_conns_per_addr;        /* per source address (IPv6: per /64) */
	unsigned handshake_timeout_ms;    /* handshake must finish in this time */
	unsigned auth_timeout_ms;         /* and the device must authenticate in this */
	unsigned drain_timeout_ms;        /* SIGTERM: time to finish in-flight requests */
	size_t max_write_pending;         /* bytes queued to a client before it is cut off */
	unsigned max_inflight;            /* requests in progress per connection */
	uint32_t prekey_low;              /* PrekeysLow push below this many one-time keys */
	unsigned store_batch_wait_us;
} sotto_server_config;

/* Fills in the defaults (listen 127.0.0.1:7878, open registration, ...). */
void sotto_server_config_defaults(sotto_server_config *cfg);

/* Reads a config file of `key = value` lines ('#' starts a comment). Keys:
 * listen, registration (open|invite), workers, max_message, max_envelope,
 * max_queue_len, max_attachment, device_rate, device_burst, addr_rate,
 * addr_burst, max_connections, max_conns_per_addr, handshake_timeout_ms, auth_timeout_ms,
 * drain_timeout_ms, max_write_pending, max_inflight, prekey_low,
 * store_batch_wait_us. Unknown keys and bad values are errors; a message
 * naming the line goes to err. */
int sotto_server_config_load(sotto_server_config *cfg, const char *path, char *err,
	size_t errcap);
/* Parses HOST:PORT (IPv6 as [addr]:port) into cfg. */
int sotto_server_config_listen(sotto_server_config *cfg, const char *hostport);

typedef struct sotto_server sotto_server;

/* Opens (creating on first start) DIR, its store and DIR/server.key (0600),
 * binds the listening socket. The public key goes to pub. */
int sotto_server_new(sotto_server **out, const char *data_dir, const sotto_server_config *cfg,
	uint8_t pub[32], char *err, size_t errcap);
/* The key transparency public key (Ed25519; its seed is DIR/kt-ed25519.key,
 * created 0600 at first start) that signs the log's tree heads. */
void sotto_server_kt_key(const sotto_server *s, uint8_t pub[32]);
/* The sealed sender trust root (X25519 form; DIR/sealed-root.key, created
 * 0600 at first start) that signs the server certificate. */
void sotto_server_sealed_root(const sotto_server *s, uint8_t pub[32]);
/* The address actually bound (port resolved), as HOST:PORT. */
const char *sotto_server_address(const sotto_server *s);
/* Runs until SIGTERM/SIGINT or sotto_server_stop, then drains: stops
 * accepting, finishes in-flight requests (up to drain_timeout_ms), flushes
 * responses, closes connections and the store. Returns 0 on a clean stop. */
int sotto_server_run(sotto_server *s);
/* Asks a running server to stop (thread-safe, async-signal-unsafe). */
void sotto_server_stop(sotto_server *s);
void sotto_server_free(sotto_server *s);

/* Creates an invite code in DIR's store and writes it (base64url, no
 * padding) to out. */
int sotto_server_admin_invite(const char *data_dir, int64_t valid_ms, char *out, size_t cap,
	char *err, size_t errcap);

/* Base64 (standard alphabet, padded) and base64url (no padding). */
int sotto_server_b64(const uint8_t *in, size_t len, int url, char *out, size_t cap);
/* Decodes either alphabet, padding optional; -1 on bad input. */
int sotto_server_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen);

#endif
