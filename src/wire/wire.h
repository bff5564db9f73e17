/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The client-server wire layer (DESIGN.md §5, docs/server-api.md): framing of
 * Noise messages on the TCP stream, framing of protobuf messages inside the
 * decrypted Noise stream, limits, and encode/decode helpers shared by sottod
 * and the client connection library.
 *
 * Two length-prefixed layers:
 *   TCP stream       = frame*,   frame   = be32 len (1..65535) || Noise message
 *   decrypted stream = message*, message = be32 len (0..limit)  || protobuf
 * A protobuf message may span several Noise transport messages and one Noise
 * message may carry the end of one protobuf and the start of the next.
 *
 * Readers allocate their buffer only while a frame or message is partially
 * received and free it as soon as it has been handed out, so an idle
 * connection holds no buffer at all. */
#ifndef SOTTO_WIRE_H
#define SOTTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "service.pb-c.h"
#include "sotto/noise.h"

#define SOTTO_WIRE_LEN_BYTES 4
/* Largest Noise message in a frame (the Noise limit). */
#define SOTTO_WIRE_MAX_FRAME SOTTO_NOISE_MAX_MESSAGE
/* Default largest protobuf message in either direction: room for a send to
 * 127 devices of small envelopes or one large envelope, a prekey upload of
 * 100 KEM keys, or an attachment chunk. */
#define SOTTO_WIRE_DEFAULT_MAX_MESSAGE (2u * 1024 * 1024)
#define SOTTO_WIRE_HARD_MAX_MESSAGE (64u * 1024 * 1024)
/* Default largest envelope content. */
#define SOTTO_WIRE_DEFAULT_MAX_ENVELOPE (256u * 1024)
/* Largest attachment chunk per upload or download request. */
#define SOTTO_WIRE_MAX_CHUNK (256u * 1024)
/* Envelope type the server gives to the received form of a multi-recipient
 * sealed sender v2 message (Signal's UNIDENTIFIED_SENDER envelope type). */
#define SOTTO_WIRE_TYPE_SEALED_SENDER 6u
/* Envelope type of the provisioning message a primary device sends to a
 * device it links (LinkDeviceRequest.provisioning), and its size limit. */
#define SOTTO_WIRE_TYPE_PROVISIONING 7u
#define SOTTO_WIRE_MAX_PROVISIONING (64u * 1024)

/* Sizes of the protocol's fields. */
#define SOTTO_WIRE_ID_BYTES 16        /* account and attachment ids */
#define SOTTO_WIRE_NOISE_KEY_BYTES 32 /* a device's Noise static key */
#define SOTTO_WIRE_EC_KEY_BYTES 33    /* 0x05 || X25519 */
#define SOTTO_WIRE_KEM_KEY_BYTES 1569 /* 0x08 || ML-KEM-1024 */
#define SOTTO_WIRE_SIG_BYTES 64       /* XEdDSA */
#define SOTTO_WIRE_DIGEST_BYTES 32    /* SHA-256 of an attachment */
#define SOTTO_WIRE_MAX_DEVICE_ID 127
#define SOTTO_WIRE_MAX_DEVICE_NAME 256
#define SOTTO_WIRE_MAX_PREKEY_UPLOAD 1000
#define SOTTO_WIRE_MAX_ACK 10000

/* An incremental reader of be32-length-prefixed records. */
typedef struct sotto_wire_reader {
	uint8_t hdr[SOTTO_WIRE_LEN_BYTES];
	uint8_t hdr_len;   /* header bytes seen of the current record */
	uint8_t failed;    /* a limit was broken: the stream is unusable */
	uint8_t ready;     /* buf holds a complete record handed out last call */
	uint32_t need;     /* body length of the current record */
	uint32_t have;     /* body bytes received */
	uint32_t min, max; /* allowed body lengths */
	uint8_t *buf;      /* allocated for the current record only */
} sotto_wire_reader;

void sotto__wire_reader_init(sotto_wire_reader *r, uint32_t min, uint32_t max);
/* Frees (after wiping) any partial record. */
void sotto__wire_reader_clear(sotto_wire_reader *r);
/* Consumes bytes of in up to the end of the next record and sets *consumed.
 * Returns 1 with *rec and *reclen set when a record is complete (valid until the
 * next call on r), 0 when all of in was consumed without completing one,
 * SOTTO_ERR_LIMIT when a header announces a length outside [min, max]
 * (sticky), SOTTO_ERR_NOMEM. */
int sotto__wire_reader_feed(sotto_wire_reader *r, const uint8_t *in, size_t inlen,
	size_t *consumed, const uint8_t **rec, size_t *reclen);
/* 1 when the reader holds part of a record (bytes buffered). */
int sotto__wire_reader_busy(const sotto_wire_reader *r);

/* Writes a frame header (be32) for n bytes. */
void sotto__wire_put_len(uint8_t out[SOTTO_WIRE_LEN_BYTES], uint32_t n);

/* Frames a Noise handshake message into a fresh buffer (*out, free()). */
int sotto__wire_frame_plain(const uint8_t *msg, size_t len, uint8_t **out, size_t *outlen);

/* Serialises m with its length prefix and encrypts it into framed Noise
 * transport messages in a fresh buffer (*out, free()). SOTTO_ERR_LIMIT when
 * the packed message exceeds max. */
int sotto__wire_seal_msg(sotto_noise_cipher *c, const ProtobufCMessage *m, size_t max,
	uint8_t **out, size_t *outlen);

/* Decodes one protobuf message of the given descriptor, NULL on malformed
 * input. Free with protobuf_c_message_free_unpacked(m, NULL). */
Sotto__Service__Request *sotto__wire_request_decode(const uint8_t *in, size_t len);
Sotto__Service__ServerMessage *sotto__wire_server_msg_decode(const uint8_t *in, size_t len);

/* Limits a request is checked against before it is handled. */
typedef struct sotto_wire_limits {
	size_t max_envelope;     /* envelope content bytes */
	uint64_t max_attachment; /* attachment size */
} sotto_wire_limits;

/* Checks every field of a decoded request against the protocol's rules and
 * the limits: key and id sizes, device ids, counts, lengths. Pure (no I/O),
 * so it can be fuzzed. Returns SOTTO__SERVICE__STATUS__OK, or BAD_REQUEST /
 * TOO_LARGE with *why set to a static reason. */
Sotto__Service__Status sotto__wire_request_check(const Sotto__Service__Request *r,
	const sotto_wire_limits *lim, const char **why);

/* The status for a negative SOTTO_ERR_* code from the store. */
Sotto__Service__Status sotto__wire_status_from_err(int err);
const char *sotto__wire_status_name(Sotto__Service__Status st);

#endif
