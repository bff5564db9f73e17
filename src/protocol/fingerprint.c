/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Safety numbers as libsignal computes them (signal-protocol-facts.md §8). */
#include "sotto/fingerprint.h"

#include <stdlib.h>
#include <string.h>

#include "fingerprint.pb-c.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"

/* Fingerprint version 0 of the hash chain: two zero bytes, then the key, the
 * stable id and the key again; each further round hashes the previous output
 * with the key. */
static int fp_chain(uint8_t out[64], uint32_t iterations, const uint8_t *id, size_t idlen,
		    const uint8_t key[33])
{
	static const uint8_t zero2[2] = {0, 0};
	sotto_iov first[4] = {{zero2, 2}, {key, 33}, {id, idlen}, {key, 33}};
	int rc = sotto_sha512_v(out, first, 4);
	for (uint32_t i = 1; rc == 0 && i < iterations; i++) {
		uint8_t prev[64];
		memcpy(prev, out, 64);
		sotto_iov next[2] = {{prev, 64}, {key, 33}};
		rc = sotto_sha512_v(out, next, 2);
	}
	return rc;
}

/* Six groups of five bytes, each read as a 40-bit big-endian number mod
 * 100000, printed as five digits. */
static void fp_digits(char out[30], const uint8_t h[64])
{
	for (int j = 0; j < 6; j++) {
		uint64_t v = 0;
		for (int k = 0; k < 5; k++)
			v = (v << 8) | h[5 * j + k];
		v %= 100000;
		for (int k = 4; k >= 0; k--) {
			out[5 * j + k] = (char)('0' + v % 10);
			v /= 10;
		}
	}
}

int sotto_fingerprint_create(char display[SOTTO_FINGERPRINT_DISPLAY_DIGITS + 1],
			     uint8_t *scannable, size_t scap, size_t *scanlen, uint32_t iterations,
			     uint32_t version, const uint8_t *local_id, size_t local_id_len,
			     const uint8_t local_key[33], const uint8_t *remote_id,
			     size_t remote_id_len, const uint8_t remote_key[33])
{
	if (iterations < SOTTO_FINGERPRINT_MIN_ITERATIONS ||
	    iterations > SOTTO_FINGERPRINT_MAX_ITERATIONS || local_key == NULL ||
	    remote_key == NULL || (local_id == NULL && local_id_len != 0) ||
	    (remote_id == NULL && remote_id_len != 0) || (scannable != NULL && scanlen == NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (local_key[0] != 0x05 || remote_key[0] != 0x05)
		return SOTTO_ERR_INVALID_KEY;
	static const uint8_t empty[1] = {0};
	uint8_t hl[64], hr[64];
	int rc = fp_chain(hl, iterations, local_id ? local_id : empty, local_id_len, local_key);
	if (rc == 0)
		rc = fp_chain(hr, iterations, remote_id ? remote_id : empty, remote_id_len,
			      remote_key);
	if (rc != 0)
		return rc;
	if (display != NULL) {
		char a[30], b[30];
		fp_digits(a, hl);
		fp_digits(b, hr);
		/* Both sides print the lexicographically smaller half first. */
		if (memcmp(a, b, 30) <= 0) {
			memcpy(display, a, 30);
			memcpy(display + 30, b, 30);
		} else {
			memcpy(display, b, 30);
			memcpy(display + 30, a, 30);
		}
		display[60] = '\0';
	}
	if (scannable != NULL) {
		Sotto__Fingerprint__LogicalFingerprint lf = SOTTO__FINGERPRINT__LOGICAL_FINGERPRINT__INIT;
		Sotto__Fingerprint__LogicalFingerprint rf = SOTTO__FINGERPRINT__LOGICAL_FINGERPRINT__INIT;
		Sotto__Fingerprint__CombinedFingerprints cf =
			SOTTO__FINGERPRINT__COMBINED_FINGERPRINTS__INIT;
		lf.has_content = 1;
		lf.content.data = hl;
		lf.content.len = 32;
		rf.has_content = 1;
		rf.content.data = hr;
		rf.content.len = 32;
		cf.has_version = 1;
		cf.version = version;
		cf.local_fingerprint = &lf;
		cf.remote_fingerprint = &rf;
		size_t n = sotto__fingerprint__combined_fingerprints__get_packed_size(&cf);
		if (n > scap)
			return SOTTO_ERR_BUFFER_TOO_SMALL;
		*scanlen = sotto__fingerprint__combined_fingerprints__pack(&cf, scannable);
	}
	return 0;
}

int sotto_fingerprint_compare(const uint8_t *ours, size_t ours_len, const uint8_t *theirs,
			      size_t theirs_len, int *match)
{
	if (match == NULL || (ours == NULL && ours_len) || (theirs == NULL && theirs_len))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*match = 0;
	static const uint8_t empty[1] = {0};
	Sotto__Fingerprint__CombinedFingerprints *a =
		sotto__fingerprint__combined_fingerprints__unpack(NULL, ours_len,
								  ours ? ours : empty);
	Sotto__Fingerprint__CombinedFingerprints *b =
		sotto__fingerprint__combined_fingerprints__unpack(NULL, theirs_len,
								  theirs ? theirs : empty);
	int rc = SOTTO_ERR_INVALID_MESSAGE;
	if (a == NULL || b == NULL)
		goto cleanup;
	/* libsignal treats a missing version as 0 and missing fingerprints as
	 * malformed. */
	uint32_t va = a->has_version ? a->version : 0;
	uint32_t vb = b->has_version ? b->version : 0;
	if (va != vb) {
		rc = SOTTO_ERR_VERSION_MISMATCH;
		goto cleanup;
	}
	if (a->local_fingerprint == NULL || a->remote_fingerprint == NULL ||
	    b->local_fingerprint == NULL || b->remote_fingerprint == NULL ||
	    !a->local_fingerprint->has_content || !a->remote_fingerprint->has_content ||
	    !b->local_fingerprint->has_content || !b->remote_fingerprint->has_content)
		goto cleanup;
	const ProtobufCBinaryData *al = &a->local_fingerprint->content;
	const ProtobufCBinaryData *ar = &a->remote_fingerprint->content;
	const ProtobufCBinaryData *bl = &b->local_fingerprint->content;
	const ProtobufCBinaryData *br = &b->remote_fingerprint->content;
	int same = al->len == br->len && ar->len == bl->len;
	if (same)
		same = sotto_memeq(al->data ? al->data : empty, br->data ? br->data : empty,
				   al->len) &
		       sotto_memeq(ar->data ? ar->data : empty, bl->data ? bl->data : empty,
				   ar->len);
	*match = same;
	rc = 0;
cleanup:
	if (a != NULL)
		sotto__fingerprint__combined_fingerprints__free_unpacked(a, NULL);
	if (b != NULL)
		sotto__fingerprint__combined_fingerprints__free_unpacked(b, NULL);
	return rc;
}
