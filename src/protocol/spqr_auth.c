/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* SPQR authenticator (signal-protocol-facts.md §5.5; ML-KEM Braid spec,
 * "Authenticator"): a root key ratcheted with every epoch secret and a MAC
 * key that authenticates the encapsulation-key header and the ciphertext. */
#include <string.h>

#include "protocol/spqr.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"

#define LABEL_UPDATE "Signal_PQCKA_V1_MLKEM768:Authenticator Update"
#define LABEL_HDR "Signal_PQCKA_V1_MLKEM768:ekheader"
#define LABEL_CT "Signal_PQCKA_V1_MLKEM768:ciphertext"
#define MAX_KEY 64

static void be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

int sotto__spqr_auth_update(sotto_spqr_auth *auth, uint64_t epoch, const uint8_t *key,
			    size_t keylen)
{
	uint8_t ikm[32 + MAX_KEY];
	uint8_t info[sizeof LABEL_UPDATE - 1 + 8];
	uint8_t o[64];
	int rc;

	if (keylen > MAX_KEY)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memcpy(ikm, auth->root, 32);
	memcpy(ikm + 32, key, keylen);
	memcpy(info, LABEL_UPDATE, sizeof LABEL_UPDATE - 1);
	be64(info + sizeof LABEL_UPDATE - 1, epoch);
	rc = sotto_hkdf_sha256(o, sizeof o, NULL, 0, ikm, 32 + keylen, info, sizeof info);
	if (rc == 0) {
		memcpy(auth->root, o, 32);
		memcpy(auth->mac, o + 32, 32);
	}
	sotto_memzero(ikm, sizeof ikm);
	sotto_memzero(o, sizeof o);
	return rc;
}

int sotto__spqr_auth_init(sotto_spqr_auth *auth, const uint8_t *auth_key, size_t keylen)
{
	memset(auth, 0, sizeof *auth);
	return sotto__spqr_auth_update(auth, 1, auth_key, keylen);
}

static int mac_parts(const sotto_spqr_auth *auth, const char *label, size_t labellen,
		     uint64_t epoch, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		     uint8_t out[SOTTO_SPQR_MAC_BYTES])
{
	uint8_t ep[8];
	sotto_iov parts[4];

	be64(ep, epoch);
	parts[0] = (sotto_iov){ label, labellen };
	parts[1] = (sotto_iov){ ep, sizeof ep };
	parts[2] = (sotto_iov){ a, alen };
	parts[3] = (sotto_iov){ b, blen };
	return sotto_hmac_sha256_v(out, auth->mac, sizeof auth->mac, parts, 4);
}

int sotto__spqr_auth_mac_hdr(const sotto_spqr_auth *auth, uint64_t epoch, const uint8_t *hdr,
			     size_t hdrlen, uint8_t out[SOTTO_SPQR_MAC_BYTES])
{
	return mac_parts(auth, LABEL_HDR, sizeof LABEL_HDR - 1, epoch, hdr, hdrlen, NULL, 0, out);
}

int sotto__spqr_auth_mac_ct(const sotto_spqr_auth *auth, uint64_t epoch, const uint8_t *ct1,
			    size_t ct1len, const uint8_t *ct2, size_t ct2len,
			    uint8_t out[SOTTO_SPQR_MAC_BYTES])
{
	return mac_parts(auth, LABEL_CT, sizeof LABEL_CT - 1, epoch, ct1, ct1len, ct2, ct2len, out);
}

static int verify(int rc, const uint8_t *want, const uint8_t *got)
{
	if (rc != 0)
		return rc;
	return sotto_memeq(want, got, SOTTO_SPQR_MAC_BYTES) ? 0 : SOTTO_ERR_INVALID_MESSAGE;
}

int sotto__spqr_auth_verify_hdr(const sotto_spqr_auth *auth, uint64_t epoch, const uint8_t *hdr,
				size_t hdrlen, const uint8_t mac[SOTTO_SPQR_MAC_BYTES])
{
	uint8_t want[SOTTO_SPQR_MAC_BYTES];
	int rc = verify(sotto__spqr_auth_mac_hdr(auth, epoch, hdr, hdrlen, want), want, mac);

	sotto_memzero(want, sizeof want);
	return rc;
}

int sotto__spqr_auth_verify_ct(const sotto_spqr_auth *auth, uint64_t epoch, const uint8_t *ct1,
			       size_t ct1len, const uint8_t *ct2, size_t ct2len,
			       const uint8_t mac[SOTTO_SPQR_MAC_BYTES])
{
	uint8_t want[SOTTO_SPQR_MAC_BYTES];
	int rc = verify(sotto__spqr_auth_mac_ct(auth, epoch, ct1, ct1len, ct2, ct2len, want), want,
			mac);

	sotto_memzero(want, sizeof want);
	return rc;
}

void sotto__spqr_auth_clear(sotto_spqr_auth *auth)
{
	sotto_memzero(auth, sizeof *auth);
}
