/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The Noise Protocol Framework (revision 34), sans-I/O: the caller moves the
 * bytes; this layer only turns them into handshake and transport messages.
 *
 * Supported: DH 25519; ciphers ChaChaPoly and AESGCM; hashes SHA256, SHA512
 * and BLAKE2b; every one-way, fundamental and deferred pattern of the spec
 * (N, K, X, NN ... IX, NK1 ... I1X1) with any psk modifiers (psk0 .. psk9,
 * joined with '+'). Not supported: 448, BLAKE2s, fallback and hfs.
 * Sotto itself uses Noise_XX_25519_ChaChaPoly_BLAKE2b and
 * Noise_IK_25519_ChaChaPoly_BLAKE2b with the prologue SOTTO_NOISE_PROLOGUE. */
#ifndef SOTTO_NOISE_H
#define SOTTO_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"
#include "sotto/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_NOISE_PROLOGUE "sotto/1"
#define SOTTO_NOISE_PROLOGUE_LEN 7
#define SOTTO_NOISE_XX "Noise_XX_25519_ChaChaPoly_BLAKE2b"
#define SOTTO_NOISE_IK "Noise_IK_25519_ChaChaPoly_BLAKE2b"

#define SOTTO_NOISE_MAX_MESSAGE 65535 /* bytes of one Noise message, tag included */
#define SOTTO_NOISE_TAG_BYTES 16
#define SOTTO_NOISE_MAX_PAYLOAD (SOTTO_NOISE_MAX_MESSAGE - SOTTO_NOISE_TAG_BYTES)
#define SOTTO_NOISE_KEY_BYTES 32  /* X25519 private and public keys */
#define SOTTO_NOISE_PSK_BYTES 32
#define SOTTO_NOISE_MAX_PSKS 10
#define SOTTO_NOISE_HASH_MAX 64   /* handshake hash length: 32 (SHA256) or 64 */

typedef enum sotto_noise_role {
	SOTTO_NOISE_INITIATOR = 1,
	SOTTO_NOISE_RESPONDER = 2,
} sotto_noise_role;

/* What a handshake expects next. */
typedef enum sotto_noise_action {
	SOTTO_NOISE_WRITE = 1,    /* call sotto_noise_write_message */
	SOTTO_NOISE_READ = 2,     /* call sotto_noise_read_message */
	SOTTO_NOISE_SPLIT = 3,    /* finished: call sotto_noise_split */
	SOTTO_NOISE_FAILED = 4,   /* a message failed; the handshake is dead */
} sotto_noise_action;

typedef struct sotto_noise_config {
	const char *protocol_name; /* e.g. SOTTO_NOISE_XX; NUL-terminated */
	sotto_noise_role role;
	const uint8_t *prologue; /* may be NULL when prologue_len is 0 */
	size_t prologue_len;
	/* Our static private key (32 bytes), or NULL if the pattern sends none.
	 * The public key is derived from it. */
	const uint8_t *local_static;
	/* The peer's static public key when it is known in advance (the
	 * responder's key for IK/NK/XK..., the initiator's for K patterns);
	 * NULL otherwise. */
	const uint8_t *remote_static;
	/* TESTS ONLY: a fixed ephemeral private key instead of rng output. A
	 * reused ephemeral destroys the security of the handshake. */
	const uint8_t *fixed_ephemeral;
	/* Pre-shared keys, 32 bytes each, in the order the psk tokens appear
	 * in the pattern; psk_count must equal the number of psk modifiers. */
	const uint8_t (*psks)[SOTTO_NOISE_PSK_BYTES];
	size_t psk_count;
	/* Source of the ephemeral key (sotto_rng_system in production). */
	sotto_rng_fn rng;
	void *rng_ctx;
} sotto_noise_config;

typedef struct sotto_noise_handshake sotto_noise_handshake;
typedef struct sotto_noise_cipher sotto_noise_cipher;

/* 1 if protocol_name names a protocol this build implements, else 0. */
SOTTO_EXPORT int sotto_noise_protocol_supported(const char *protocol_name);

/* Creates a handshake: Initialize() of the spec, with the prologue and the
 * pre-message keys hashed in. The config's buffers are copied; the caller may
 * free them after the call.
 * Errors: SOTTO_ERR_INVALID_ARGUMENT for an unsupported or malformed protocol
 * name, a missing key the pattern needs (local static, remote static, psks) or
 * a missing rng; SOTTO_ERR_INVALID_KEY when a key is rejected;
 * SOTTO_ERR_NOMEM. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_handshake_new(sotto_noise_handshake **out,
							     const sotto_noise_config *cfg);
/* Wipes every key and frees the handshake. NULL is allowed. */
SOTTO_EXPORT void sotto_noise_handshake_free(sotto_noise_handshake *hs);

SOTTO_EXPORT sotto_noise_action sotto_noise_handshake_action(const sotto_noise_handshake *hs);
/* 1 when every handshake message has been written or read, else 0. */
SOTTO_EXPORT int sotto_noise_handshake_is_finished(const sotto_noise_handshake *hs);

/* Writes the next handshake message carrying payload into out (at most
 * SOTTO_NOISE_MAX_MESSAGE bytes) and sets *outlen.
 * Errors: SOTTO_ERR_INVALID_ARGUMENT when it is not our turn to write, the
 * handshake has failed or finished, or the message would exceed 65535 bytes;
 * SOTTO_ERR_BUFFER_TOO_SMALL when outcap is short (the state is unchanged
 * after these two). Any later failure (rng, DH with a bad peer key:
 * SOTTO_ERR_INVALID_KEY) kills the handshake. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_write_message(sotto_noise_handshake *hs,
							     const uint8_t *payload,
							     size_t payloadlen, uint8_t *out,
							     size_t outcap, size_t *outlen);

/* Reads the next handshake message and writes its payload to payload
 * (*payloadlen set). SOTTO_ERR_INVALID_ARGUMENT when it is not our turn to
 * read; SOTTO_ERR_BUFFER_TOO_SMALL when payloadcap is short (both leave the
 * state unchanged). Every other failure kills the handshake for good, so a
 * corrupted state can never be retried: SOTTO_ERR_INVALID_MESSAGE for a
 * message of the wrong size or one that fails authentication (wrong
 * prologue, wrong pinned key, tampering), SOTTO_ERR_INVALID_KEY for a
 * low-order peer key. No payload byte is released on failure. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_read_message(sotto_noise_handshake *hs,
							    const uint8_t *in, size_t inlen,
							    uint8_t *payload, size_t payloadcap,
							    size_t *payloadlen);

/* The handshake hash h (for channel binding), once finished: 32 bytes for
 * SHA256, 64 for SHA512 and BLAKE2b. SOTTO_ERR_INVALID_ARGUMENT before the
 * end; SOTTO_ERR_BUFFER_TOO_SMALL if outcap is short. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_handshake_hash(const sotto_noise_handshake *hs,
							      uint8_t *out, size_t outcap,
							      size_t *outlen);

/* The peer's static public key, once known (sent in the handshake or given
 * in the config). SOTTO_ERR_NOT_FOUND when not (yet) known. Before the
 * handshake has finished the key is not yet authenticated. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_remote_static(const sotto_noise_handshake *hs,
							     uint8_t pub[SOTTO_NOISE_KEY_BYTES]);

/* Split(): derives the transport ciphers of a finished handshake. *send
 * encrypts what we send and *recv decrypts what the peer sends. One-way
 * patterns (N, K, X) give the initiator only *send and the responder only
 * *recv; the other pointer is set to NULL. Can be called once; afterwards
 * the chaining key is wiped. Errors: SOTTO_ERR_INVALID_ARGUMENT (not
 * finished, already split), SOTTO_ERR_NOMEM. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_split(sotto_noise_handshake *hs,
						     sotto_noise_cipher **send,
						     sotto_noise_cipher **recv);

/* Wipes the key and frees. NULL is allowed. */
SOTTO_EXPORT void sotto_noise_cipher_free(sotto_noise_cipher *c);

/* Transport encryption (EncryptWithAd; ad may be NULL/0, as Noise transport
 * uses). Writes ptlen + 16 bytes. SOTTO_ERR_INVALID_ARGUMENT when ptlen >
 * SOTTO_NOISE_MAX_PAYLOAD or the nonce is exhausted (2^64 - 1 messages: the
 * cipher is then useless and a new handshake is needed);
 * SOTTO_ERR_BUFFER_TOO_SMALL. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_encrypt(sotto_noise_cipher *c, const uint8_t *ad,
						       size_t adlen, const uint8_t *pt,
						       size_t ptlen, uint8_t *out, size_t outcap,
						       size_t *outlen);
/* Transport decryption: writes ctlen - 16 bytes. SOTTO_ERR_INVALID_MESSAGE
 * for ctlen < 16 or > 65535 or a failed authentication (the nonce does not
 * advance, out is zeroed); nonce exhaustion as for encrypt. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_decrypt(sotto_noise_cipher *c, const uint8_t *ad,
						       size_t adlen, const uint8_t *ct,
						       size_t ctlen, uint8_t *out, size_t outcap,
						       size_t *outlen);
/* Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64 - 1, "", 32 zero bytes).
 * Both sides must rekey at the same point of the stream. The nonce is kept. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_rekey(sotto_noise_cipher *c);
/* SetNonce() of the spec, for tests and for transports that carry explicit
 * nonces. Reusing a nonce with the same key breaks confidentiality. */
SOTTO_EXPORT void sotto_noise_cipher_set_nonce(sotto_noise_cipher *c, uint64_t n);
SOTTO_EXPORT uint64_t sotto_noise_cipher_nonce(const sotto_noise_cipher *c);

/* Framing (DESIGN.md §5): each frame is a 4-byte big-endian length followed
 * by exactly one Noise message (handshake or transport) of at most 65535
 * bytes.
 *
 * Large payloads: a payload longer than SOTTO_NOISE_MAX_PAYLOAD is cut into
 * consecutive chunks of SOTTO_NOISE_MAX_PAYLOAD bytes (the last one shorter,
 * possibly empty only when the whole payload is empty), each encrypted as its
 * own transport message in its own frame, in order. The frames carry no
 * continuation marker: the decrypted transport plaintexts form one byte
 * stream, and the application layer above (src/wire) delimits its messages
 * inside that stream with its own length prefix and reassembles them. */
#define SOTTO_NOISE_FRAME_HEADER 4
/* Chunks and bytes sotto_noise_frame_encrypt produces for a payload of len. */
#define SOTTO_NOISE_FRAME_CHUNKS(len) \
	((len) == 0 ? (size_t)1 : ((size_t)(len) + SOTTO_NOISE_MAX_PAYLOAD - 1) / SOTTO_NOISE_MAX_PAYLOAD)
#define SOTTO_NOISE_FRAMED_LEN(len) \
	((size_t)(len) + SOTTO_NOISE_FRAME_CHUNKS(len) * (SOTTO_NOISE_FRAME_HEADER + SOTTO_NOISE_TAG_BYTES))

/* Writes the 4-byte header for a message of msglen bytes (<= 65535). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_frame_header(uint8_t out[SOTTO_NOISE_FRAME_HEADER],
							    size_t msglen);

/* Encrypts payload with c into SOTTO_NOISE_FRAME_CHUNKS(len) framed transport
 * messages (format above); out needs SOTTO_NOISE_FRAMED_LEN(len) bytes.
 * Errors: SOTTO_ERR_BUFFER_TOO_SMALL (nothing encrypted), and those of
 * sotto_noise_encrypt (nonce exhaustion part-way leaves c advanced and out
 * partly written: drop the connection). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_frame_encrypt(sotto_noise_cipher *c,
							     const uint8_t *payload, size_t len,
							     uint8_t *out, size_t outcap,
							     size_t *outlen);

/* Incremental frame decoder: feed it bytes as they arrive, take out complete
 * frames. It buffers at most one frame (65539 bytes). */
typedef struct sotto_noise_frame_decoder sotto_noise_frame_decoder;

SOTTO_EXPORT sotto_noise_frame_decoder *sotto_noise_frame_decoder_new(void);
/* Wipes the buffer (it may hold ciphertext of a secret) and frees. */
SOTTO_EXPORT void sotto_noise_frame_decoder_free(sotto_noise_frame_decoder *d);

/* Consumes bytes of in up to the end of the next frame and sets *consumed.
 * Returns 1 when a frame is complete: *frame and *framelen then point at the
 * Noise message inside the decoder, valid until the next call. Returns 0
 * when all of in was consumed without completing a frame. Returns
 * SOTTO_ERR_INVALID_MESSAGE when a header announces more than 65535 bytes;
 * the decoder then stays failed (the stream has lost its framing).
 * Call again with the rest of in (in + *consumed) while it returns 1. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_noise_frame_decode(sotto_noise_frame_decoder *d,
							    const uint8_t *in, size_t inlen,
							    size_t *consumed, const uint8_t **frame,
							    size_t *framelen);

#ifdef __cplusplus
}
#endif
#endif
