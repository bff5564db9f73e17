/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Safety numbers ("fingerprints"), compatible with libsignal 0.103: the
 * 60-digit displayable string and the scannable CombinedFingerprints
 * protobuf. */
#ifndef SOTTO_FINGERPRINT_H
#define SOTTO_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOTTO_FINGERPRINT_DISPLAY_DIGITS 60
/* Size of the scannable form (the protobuf with two 32-byte hashes and a
 * version of up to 5 varint bytes). */
#define SOTTO_FINGERPRINT_SCANNABLE_MAX 79
#define SOTTO_FINGERPRINT_MIN_ITERATIONS 2
#define SOTTO_FINGERPRINT_MAX_ITERATIONS 1000000
/* What Signal uses. */
#define SOTTO_FINGERPRINT_DEFAULT_ITERATIONS 5200

/* Computes both forms of the safety number between a local and a remote
 * identity. Keys are 33-byte public keys (0x05 || u); ids are arbitrary bytes
 * (E.164 text in version 1, a service-id binary in version 2: app convention).
 * version goes only into the scannable form.
 *   display: receives 60 ASCII digits and a NUL (the same string on both
 *            sides); may be NULL.
 *   scannable/scap/scanlen: the local side's CombinedFingerprints bytes; scannable
 *            may be NULL (then scap and scanlen are ignored).
 * Errors: SOTTO_ERR_INVALID_ARGUMENT (iterations outside 2..1000000, NULL
 * key or id with a nonzero length), SOTTO_ERR_INVALID_KEY (a key whose first
 * byte is not 0x05), SOTTO_ERR_BUFFER_TOO_SMALL. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_fingerprint_create(
	char display[SOTTO_FINGERPRINT_DISPLAY_DIGITS + 1], uint8_t *scannable, size_t scap,
	size_t *scanlen, uint32_t iterations, uint32_t version, const uint8_t *local_id,
	size_t local_id_len, const uint8_t local_key[33], const uint8_t *remote_id,
	size_t remote_id_len, const uint8_t remote_key[33]);

/* Compares our scannable form with the one scanned from the peer's screen.
 * *match is set to 1 when their local fingerprint equals our remote one and
 * their remote equals our local one, else 0. Errors:
 * SOTTO_ERR_INVALID_MESSAGE (either input does not parse or lacks a field),
 * SOTTO_ERR_VERSION_MISMATCH (the two versions differ; *match is 0). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_fingerprint_compare(const uint8_t *ours, size_t ours_len,
							     const uint8_t *theirs,
							     size_t theirs_len, int *match);

#ifdef __cplusplus
}
#endif
#endif
