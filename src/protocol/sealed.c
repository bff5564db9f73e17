/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed sender envelopes: v1 (signal-protocol-facts.md §7.2), v2 sent and
 * received forms and the server-side split (§7.3), receiving (§7.5). */
#include <stdlib.h>
#include <string.h>

#include "protocol/group_internal.h"
#include "sealed_sender.pb-c.h"
#include "sotto/aes.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/sealed.h"

#define V1_MAC_BYTES 10
#define V2_KEY_BYTES 32
#define V2_TAG_BYTES 16

static const uint8_t zero_iv[16];

/* ---- v1 ---- */

/* chain || cipher || mac = HKDF(salt, ikm, "", 96). */
static int v1_keys(uint8_t out[96], const sotto_iov *salt, size_t nsalt, const uint8_t dh[32])
{
	uint8_t saltbuf[20 + 33 + 33 + 43];
	size_t sl = 0;
	for (size_t i = 0; i < nsalt; i++) {
		memcpy(saltbuf + sl, salt[i].base, salt[i].len);
		sl += salt[i].len;
	}
	return sotto_hkdf_sha256(out, 96, saltbuf, sl, dh, 32, NULL, 0);
}

/* AES-256-CTR from a zero counter, then a 10-byte HMAC of the ciphertext. */
static int ctr_mac_seal(uint8_t *out, const uint8_t key[32], const uint8_t mac[32],
			const uint8_t *pt, size_t len)
{
	uint8_t full[32];
	static const uint8_t empty[1] = {0};
	int rc = sotto_aes_ctr(out, key, 32, zero_iv, pt ? pt : empty, len);
	if (rc == 0)
		rc = sotto_hmac_sha256(full, mac, 32, out, len);
	if (rc == 0)
		memcpy(out + len, full, V1_MAC_BYTES);
	return rc;
}

/* Checks the MAC first; nothing is decrypted unless it matches. */
static int ctr_mac_open(uint8_t *out, const uint8_t key[32], const uint8_t mac[32],
			const uint8_t *ct, size_t len)
{
	uint8_t full[32];
	if (len < V1_MAC_BYTES)
		return SOTTO_ERR_INVALID_MESSAGE;
	size_t n = len - V1_MAC_BYTES;
	int rc = sotto_hmac_sha256(full, mac, 32, ct, n);
	if (rc != 0)
		return rc;
	if (!sotto_memeq(full, ct + n, V1_MAC_BYTES))
		return SOTTO_ERR_INVALID_MESSAGE;
	return sotto_aes_ctr(out, key, 32, zero_iv, ct, n);
}

int sotto_sealed_v1_encrypt(const uint8_t recipient_identity[33],
			    const uint8_t sender_identity_pub[33],
			    const uint8_t sender_identity_priv[32], const uint8_t *usmc,
			    size_t usmc_len, sotto_rng_fn rng, void *rng_ctx, uint8_t *out,
			    size_t cap, size_t *outlen)
{
	static const uint8_t prefix[] = "UnidentifiedDelivery";
	if (recipient_identity == NULL || sender_identity_pub == NULL ||
	    sender_identity_priv == NULL || (usmc == NULL && usmc_len) || out == NULL ||
	    outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (recipient_identity[0] != 0x05 || sender_identity_pub[0] != 0x05)
		return SOTTO_ERR_INVALID_KEY;
	if (rng == NULL)
		rng = sotto_rng_system;
	uint8_t epub[33], epriv[32], dh[32], k1[96], k2[96], estatic[33 + V1_MAC_BYTES];
	uint8_t *emsg = malloc(usmc_len + V1_MAC_BYTES);
	if (emsg == NULL)
		return SOTTO_ERR_NOMEM;
	int rc = sotto__keypair_rng(epub, epriv, rng, rng_ctx);
	if (rc == 0)
		rc = sotto_x25519(dh, epriv, recipient_identity + 1);
	if (rc == 0) {
		sotto_iov salt[3] = {{prefix, 20}, {recipient_identity, 33}, {epub, 33}};
		rc = v1_keys(k1, salt, 3, dh);
	}
	if (rc == 0)
		rc = ctr_mac_seal(estatic, k1 + 32, k1 + 64, sender_identity_pub, 33);
	if (rc == 0)
		rc = sotto_x25519(dh, sender_identity_priv, recipient_identity + 1);
	if (rc == 0) {
		sotto_iov salt[2] = {{k1, 32}, {estatic, sizeof estatic}};
		rc = v1_keys(k2, salt, 2, dh);
	}
	if (rc == 0)
		rc = ctr_mac_seal(emsg, k2 + 32, k2 + 64, usmc, usmc_len);
	if (rc != 0)
		goto cleanup;
	Sotto__Sealed__UnidentifiedSenderMessage m = SOTTO__SEALED__UNIDENTIFIED_SENDER_MESSAGE__INIT;
	m.has_ephemeral_public = 1;
	m.ephemeral_public.data = epub;
	m.ephemeral_public.len = 33;
	m.has_encrypted_static = 1;
	m.encrypted_static.data = estatic;
	m.encrypted_static.len = sizeof estatic;
	m.has_encrypted_message = 1;
	m.encrypted_message.data = emsg;
	m.encrypted_message.len = usmc_len + V1_MAC_BYTES;
	size_t n = sotto__sealed__unidentified_sender_message__get_packed_size(&m);
	if (cap < 1 || n > cap - 1) {
		rc = SOTTO_ERR_BUFFER_TOO_SMALL;
		goto cleanup;
	}
	out[0] = SOTTO_SEALED_V1_VERSION;
	*outlen = 1 + sotto__sealed__unidentified_sender_message__pack(&m, out + 1);
cleanup:
	sotto_memzero(epriv, sizeof epriv);
	sotto_memzero(dh, sizeof dh);
	sotto_memzero(k1, sizeof k1);
	sotto_memzero(k2, sizeof k2);
	free(emsg);
	return rc;
}

static int v1_open(const uint8_t lpub[33], const uint8_t lpriv[32], const uint8_t *body,
		   size_t len, sotto_usmc **out)
{
	static const uint8_t prefix[] = "UnidentifiedDelivery";
	static const uint8_t empty[1] = {0};
	uint8_t dh[32], k1[96], k2[96], stat[64];
	uint8_t *msg = NULL;
	size_t msglen = 0;
	Sotto__Sealed__UnidentifiedSenderMessage *m =
		sotto__sealed__unidentified_sender_message__unpack(NULL, len, body ? body : empty);
	if (m == NULL)
		return SOTTO_ERR_INVALID_MESSAGE;
	int rc = SOTTO_ERR_INVALID_MESSAGE;
	if (!m->has_ephemeral_public || !m->has_encrypted_static || !m->has_encrypted_message)
		goto cleanup;
	/* PublicKey::try_from: at least 33 bytes, type 0x05; extra bytes ignored. */
	if (m->ephemeral_public.len < 33 || m->ephemeral_public.data[0] != 0x05) {
		rc = SOTTO_ERR_INVALID_KEY;
		goto cleanup;
	}
	const uint8_t *epub = m->ephemeral_public.data;
	rc = sotto_x25519(dh, lpriv, epub + 1);
	if (rc == 0) {
		sotto_iov salt[3] = {{prefix, 20}, {lpub, 33}, {epub, 33}};
		rc = v1_keys(k1, salt, 3, dh);
	}
	if (rc != 0)
		goto cleanup;
	const ProtobufCBinaryData *es = &m->encrypted_static;
	/* The static key is a public key: 33 bytes (longer values could never equal
	 * the certificate's 33-byte key below). */
	if (es->len != 33 + V1_MAC_BYTES) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	rc = ctr_mac_open(stat, k1 + 32, k1 + 64, es->data, es->len);
	if (rc != 0)
		goto cleanup;
	if (stat[0] != 0x05) {
		rc = SOTTO_ERR_INVALID_KEY;
		goto cleanup;
	}
	rc = sotto_x25519(dh, lpriv, stat + 1);
	if (rc == 0) {
		sotto_iov salt[2] = {{k1, 32}, {es->data, es->len}};
		rc = v1_keys(k2, salt, 2, dh);
	}
	if (rc != 0)
		goto cleanup;
	const ProtobufCBinaryData *em = &m->encrypted_message;
	if (em->len < V1_MAC_BYTES) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	msglen = em->len - V1_MAC_BYTES;
	msg = malloc(msglen ? msglen : 1);
	if (msg == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto cleanup;
	}
	rc = ctr_mac_open(msg, k2 + 32, k2 + 64, em->data, em->len);
	if (rc != 0)
		goto cleanup;
	sotto_usmc *u = NULL;
	rc = sotto_usmc_parse(msg, msglen, &u);
	if (rc != 0)
		goto cleanup;
	if (!sotto_memeq(stat, sotto_sender_cert_identity_key(sotto_usmc_sender(u)), 33)) {
		sotto_usmc_free(u);
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	*out = u;
cleanup:
	sotto_memzero(dh, sizeof dh);
	sotto_memzero(k1, sizeof k1);
	sotto_memzero(k2, sizeof k2);
	if (msg != NULL) {
		sotto_memzero(msg, msglen);
		free(msg);
	}
	sotto__sealed__unidentified_sender_message__free_unpacked(m, NULL);
	return rc;
}

/* ---- v2 ---- */

static const uint8_t LABEL_R[] = "Sealed Sender v2: r (2023-08)";
static const uint8_t LABEL_K[] = "Sealed Sender v2: K";
static const uint8_t LABEL_DH[] = "Sealed Sender v2: DH";
static const uint8_t LABEL_DH_S[] = "Sealed Sender v2: DH-sender";

/* E = pub(clamp(HKDF(m, LABEL_R))). */
static int v2_derive_e(uint8_t epub[32], uint8_t epriv[32], const uint8_t m[32])
{
	int rc = sotto_hkdf_sha256(epriv, 32, NULL, 0, m, 32, LABEL_R, sizeof LABEL_R - 1);
	if (rc != 0)
		return rc;
	sotto_x25519_clamp(epriv);
	return sotto_x25519_public(epub, epriv);
}

/* m XOR HKDF(DH || E33 || IK_R33, LABEL_DH, 32). */
static int v2_xor(uint8_t out[32], const uint8_t in[32], const uint8_t dh[32],
		  const uint8_t epub[32], const uint8_t rpub33[33])
{
	uint8_t ikm[32 + 33 + 33], pad[32];
	memcpy(ikm, dh, 32);
	ikm[32] = 0x05;
	memcpy(ikm + 33, epub, 32);
	memcpy(ikm + 65, rpub33, 33);
	int rc = sotto_hkdf_sha256(pad, 32, NULL, 0, ikm, sizeof ikm, LABEL_DH, sizeof LABEL_DH - 1);
	for (int i = 0; i < 32; i++)
		out[i] = in[i] ^ pad[i];
	sotto_memzero(ikm, sizeof ikm);
	sotto_memzero(pad, sizeof pad);
	return rc;
}

/* HKDF(DH(IK_S, IK_R) || E33 || c || IK_S33 || IK_R33, LABEL_DH_S, 16). */
static int v2_tag(uint8_t at[16], const uint8_t dh[32], const uint8_t epub[32],
		  const uint8_t c[32], const uint8_t spub33[33], const uint8_t rpub33[33])
{
	uint8_t ikm[32 + 33 + 32 + 33 + 33];
	memcpy(ikm, dh, 32);
	ikm[32] = 0x05;
	memcpy(ikm + 33, epub, 32);
	memcpy(ikm + 65, c, 32);
	memcpy(ikm + 97, spub33, 33);
	memcpy(ikm + 130, rpub33, 33);
	int rc = sotto_hkdf_sha256(at, 16, NULL, 0, ikm, sizeof ikm, LABEL_DH_S,
				   sizeof LABEL_DH_S - 1);
	sotto_memzero(ikm, sizeof ikm);
	return rc;
}

static int service_id_ok(const uint8_t sid[17])
{
	return sid[0] == 0 || sid[0] == 1;
}

int sotto_sealed_v2_encrypt(const sotto_sealed_v2_recipient *recipients, size_t n_recipients,
			    const uint8_t (*excluded)[SOTTO_SERVICE_ID_FIXED_BYTES],
			    size_t n_excluded, const uint8_t sender_identity_pub[33],
			    const uint8_t sender_identity_priv[32], const uint8_t *usmc,
			    size_t usmc_len, sotto_rng_fn rng, void *rng_ctx, uint8_t *out,
			    size_t cap, size_t *outlen)
{
	static const uint8_t empty[1] = {0};
	if ((recipients == NULL && n_recipients) || (excluded == NULL && n_excluded) ||
	    sender_identity_pub == NULL || sender_identity_priv == NULL ||
	    (usmc == NULL && usmc_len) || out == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (sender_identity_pub[0] != 0x05)
		return SOTTO_ERR_INVALID_KEY;
	if (usmc_len > SOTTO_AES_GCM_SIV_MAX_PT_BYTES)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (rng == NULL)
		rng = sotto_rng_system;
	/* Validate everything and count groups before any output. */
	size_t groups = 0;
	for (size_t i = 0; i < n_recipients; i++) {
		const sotto_sealed_v2_recipient *r = &recipients[i];
		if (r->device_id < 1 || r->device_id > 127 ||
		    r->registration_id > SOTTO_SEALED_V2_MAX_REGISTRATION_ID ||
		    !service_id_ok(r->service_id))
			return SOTTO_ERR_INVALID_ARGUMENT;
		if (i == 0 || memcmp(r->service_id, recipients[i - 1].service_id, 17) != 0) {
			groups++;
			if (r->identity_key[0] != 0x05)
				return SOTTO_ERR_INVALID_KEY;
		}
	}
	for (size_t i = 0; i < n_excluded; i++)
		if (!service_id_ok(excluded[i]))
			return SOTTO_ERR_INVALID_ARGUMENT;
	size_t total = 1 + sotto__varint_len(groups + n_excluded) + groups * (17 + 48) +
		       n_recipients * 3 + n_excluded * 18 + 32 + usmc_len + 16;
	if (total > cap)
		return SOTTO_ERR_BUFFER_TOO_SMALL;

	uint8_t m[32], epub[32], epriv[32], k[32], dh[32];
	int rc = rng(rng_ctx, m, 32);
	if (rc != 0) {
		rc = rc < 0 ? rc : SOTTO_ERR_CRYPTO;
		goto cleanup;
	}
	rc = v2_derive_e(epub, epriv, m);
	if (rc == 0)
		rc = sotto_hkdf_sha256(k, 32, NULL, 0, m, 32, LABEL_K, sizeof LABEL_K - 1);
	if (rc != 0)
		goto cleanup;
	size_t p = 0;
	out[p++] = SOTTO_SEALED_V2_SENT_VERSION;
	p += sotto__varint_put(out + p, groups + n_excluded);
	for (size_t i = 0; i < n_recipients;) {
		size_t j = i + 1;
		while (j < n_recipients && memcmp(recipients[j].service_id, recipients[i].service_id,
						  17) == 0)
			j++;
		const uint8_t *rk = recipients[i].identity_key;
		memcpy(out + p, recipients[i].service_id, 17);
		p += 17;
		for (size_t d = i; d < j; d++) {
			uint16_t reg = (uint16_t)recipients[d].registration_id;
			if (d + 1 < j)
				reg |= 0x8000;
			out[p++] = (uint8_t)recipients[d].device_id;
			out[p++] = (uint8_t)(reg >> 8);
			out[p++] = (uint8_t)reg;
		}
		uint8_t *c = out + p;
		rc = sotto_x25519(dh, epriv, rk + 1);
		if (rc == 0)
			rc = v2_xor(c, m, dh, epub, rk);
		if (rc == 0)
			rc = sotto_x25519(dh, sender_identity_priv, rk + 1);
		if (rc == 0)
			rc = v2_tag(out + p + 32, dh, epub, c, sender_identity_pub, rk);
		if (rc != 0)
			goto cleanup;
		p += 48;
		i = j;
	}
	for (size_t i = 0; i < n_excluded; i++) {
		memcpy(out + p, excluded[i], 17);
		out[p + 17] = 0;
		p += 18;
	}
	memcpy(out + p, epub, 32);
	p += 32;
	static const uint8_t nonce[12];
	rc = sotto_aes_gcm_siv_seal(out + p, k, 32, nonce, NULL, 0, usmc ? usmc : empty, usmc_len);
	if (rc != 0)
		goto cleanup;
	p += usmc_len + 16;
	*outlen = p;
cleanup:
	if (rc != 0)
		sotto_memzero(out, cap);
	sotto_memzero(m, sizeof m);
	sotto_memzero(epriv, sizeof epriv);
	sotto_memzero(k, sizeof k);
	sotto_memzero(dh, sizeof dh);
	return rc;
}

/* Reads a protobuf-style varint (prost's decode_length_delimiter: at most 10
 * bytes, a u64) that must fit in a u32. */
static int read_varint_u32(const uint8_t *buf, size_t len, size_t *pos, uint32_t *v)
{
	uint64_t r = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (*pos >= len)
			return SOTTO_ERR_INVALID_MESSAGE;
		uint8_t b = buf[(*pos)++];
		if (i == 9 && b > 1)
			return SOTTO_ERR_INVALID_MESSAGE; /* more than 64 bits */
		r |= (uint64_t)(b & 0x7F) << (7 * i);
		if (!(b & 0x80)) {
			if (r > UINT32_MAX)
				return SOTTO_ERR_INVALID_MESSAGE;
			*v = (uint32_t)r;
			return 0;
		}
	}
	return SOTTO_ERR_INVALID_MESSAGE;
}

int sotto_sealed_v2_split(const uint8_t *sent, size_t sent_len,
			  const uint8_t service_id[SOTTO_SERVICE_ID_FIXED_BYTES], uint8_t *out,
			  size_t cap, size_t *outlen, uint8_t *devices, uint16_t *reg_ids,
			  size_t dev_cap, size_t *n_devices)
{
	if (sent == NULL || service_id == NULL || out == NULL || outlen == NULL ||
	    (devices != NULL && (reg_ids == NULL || n_devices == NULL)))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (sent_len < 1)
		return SOTTO_ERR_INVALID_MESSAGE;
	uint8_t version = sent[0];
	if (version != SOTTO_SEALED_V2_SENT_VERSION && version != SOTTO_SEALED_V2_SENT_UUID_VERSION)
		return SOTTO_ERR_INVALID_MESSAGE;
	size_t idlen = version == SOTTO_SEALED_V2_SENT_VERSION ? 17 : 16;
	size_t pos = 1;
	uint32_t count;
	if (read_varint_u32(sent, sent_len, &pos, &count) != 0)
		return SOTTO_ERR_INVALID_MESSAGE;
	/* Every entry of the target: the first one with devices gives c || at;
	 * libsignal merges the device lists of repeated entries and rejects a
	 * repeat where either occurrence has no devices. Other recipients may
	 * repeat the same way; without allocating, each entry is compared with
	 * the earlier ones only when it is seen twice (quadratic only for
	 * malicious input, bounded by the message size the caller accepts). */
	const uint8_t *target_cat = NULL;
	int target_seen = 0, target_empty = 0;
	size_t ndev = 0;
	size_t first_entry = pos;
	for (uint32_t r = 0; r < count; r++) {
		if (sent_len - pos < idlen)
			return SOTTO_ERR_INVALID_MESSAGE;
		const uint8_t *sid = sent + pos;
		if (idlen == 17 && !service_id_ok(sid))
			return SOTTO_ERR_INVALID_MESSAGE;
		size_t entry_start = pos;
		pos += idlen;
		/* The old form carries bare ACI uuids. */
		int is_target = idlen == 17 ? memcmp(sid, service_id, 17) == 0
					    : (service_id[0] == 0 && memcmp(sid, service_id + 1, 16) == 0);
		size_t entry_devs = 0;
		for (;;) {
			if (sent_len - pos < 1)
				return SOTTO_ERR_INVALID_MESSAGE;
			uint8_t dev = sent[pos++];
			if (dev == 0) {
				if (entry_devs != 0)
					return SOTTO_ERR_INVALID_MESSAGE;
				break;
			}
			if (dev > 127 || sent_len - pos < 2)
				return SOTTO_ERR_INVALID_MESSAGE;
			uint16_t reg = (uint16_t)(sent[pos] << 8 | sent[pos + 1]);
			pos += 2;
			if (is_target && devices != NULL) {
				if (ndev < dev_cap) {
					devices[ndev] = dev;
					reg_ids[ndev] = reg & SOTTO_SEALED_V2_MAX_REGISTRATION_ID;
				}
			}
			if (is_target)
				ndev++;
			entry_devs++;
			if (!(reg & 0x8000))
				break;
		}
		const uint8_t *cat = NULL;
		if (entry_devs != 0) {
			if (sent_len - pos < 48)
				return SOTTO_ERR_INVALID_MESSAGE;
			cat = sent + pos;
			pos += 48;
		}
		/* Repeated service id: find an earlier entry with the same id. */
		size_t q = first_entry;
		while (q < entry_start) {
			int same = memcmp(sent + q, sid, idlen) == 0;
			q += idlen;
			size_t d = 0;
			for (;;) {
				uint8_t dv = sent[q++];
				if (dv == 0)
					break;
				uint16_t rg = (uint16_t)(sent[q] << 8 | sent[q + 1]);
				q += 2;
				d++;
				if (!(rg & 0x8000))
					break;
			}
			if (d)
				q += 48;
			if (same && (d == 0 || entry_devs == 0))
				return SOTTO_ERR_INVALID_MESSAGE;
			if (same)
				break;
		}
		if (is_target) {
			if (!target_seen) {
				target_cat = cat;
				target_empty = entry_devs == 0;
			}
			target_seen = 1;
		}
	}
	if (sent_len - pos < 32)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (devices != NULL)
		*n_devices = ndev;
	if (!target_seen || target_empty)
		return SOTTO_ERR_NOT_FOUND;
	size_t shared = sent_len - pos;
	if (cap < 1 + 48 || shared > cap - 1 - 48)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	out[0] = SOTTO_SEALED_V2_RECEIVED_VERSION;
	memcpy(out + 1, target_cat, 48);
	memcpy(out + 49, sent + pos, shared);
	*outlen = 49 + shared;
	return 0;
}

static int v2_open(const uint8_t lpub[33], const uint8_t lpriv[32], const uint8_t *body,
		   size_t len, sotto_usmc **out)
{
	if (len < 32 + 16 + 32)
		return SOTTO_ERR_INVALID_MESSAGE;
	const uint8_t *c = body, *at = body + 32, *epub = body + 48, *ct = body + 80;
	size_t ctlen = len - 80;
	uint8_t dh[32], m[32], e2[32], epriv[32], k[32], at2[16];
	uint8_t *pt = NULL;
	sotto_usmc *u = NULL;
	static const uint8_t nonce[12];
	int rc = sotto_x25519(dh, lpriv, epub);
	if (rc == 0)
		rc = v2_xor(m, c, dh, epub, lpub);
	if (rc == 0)
		rc = v2_derive_e(e2, epriv, m);
	if (rc != 0)
		goto cleanup;
	if (!sotto_memeq(e2, epub, 32)) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	rc = sotto_hkdf_sha256(k, 32, NULL, 0, m, 32, LABEL_K, sizeof LABEL_K - 1);
	if (rc != 0)
		goto cleanup;
	if (ctlen < 16) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	pt = malloc(ctlen - 16 ? ctlen - 16 : 1);
	if (pt == NULL) {
		rc = SOTTO_ERR_NOMEM;
		goto cleanup;
	}
	rc = sotto_aes_gcm_siv_open(pt, k, 32, nonce, NULL, 0, ct, ctlen);
	if (rc != 0) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto cleanup;
	}
	rc = sotto_usmc_parse(pt, ctlen - 16, &u);
	if (rc != 0)
		goto cleanup;
	const uint8_t *spub = sotto_sender_cert_identity_key(sotto_usmc_sender(u));
	rc = sotto_x25519(dh, lpriv, spub + 1);
	if (rc == 0)
		rc = v2_tag(at2, dh, epub, c, spub, lpub);
	if (rc == 0 && !sotto_memeq(at, at2, 16))
		rc = SOTTO_ERR_INVALID_MESSAGE;
	if (rc != 0) {
		sotto_usmc_free(u);
		goto cleanup;
	}
	*out = u;
cleanup:
	sotto_memzero(dh, sizeof dh);
	sotto_memzero(m, sizeof m);
	sotto_memzero(epriv, sizeof epriv);
	sotto_memzero(k, sizeof k);
	if (pt != NULL) {
		sotto_memzero(pt, ctlen - 16);
		free(pt);
	}
	return rc;
}

int sotto_sealed_decrypt_to_usmc(const uint8_t local_identity_pub[33],
				 const uint8_t local_identity_priv[32], const uint8_t *msg,
				 size_t len, sotto_usmc **out)
{
	if (local_identity_pub == NULL || local_identity_priv == NULL || msg == NULL ||
	    out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (local_identity_pub[0] != 0x05)
		return SOTTO_ERR_INVALID_KEY;
	if (len < 1)
		return SOTTO_ERR_INVALID_MESSAGE;
	switch (msg[0] >> 4) {
	case 0:
	case 1: return v1_open(local_identity_pub, local_identity_priv, msg + 1, len - 1, out);
	case 2: return v2_open(local_identity_pub, local_identity_priv, msg + 1, len - 1, out);
	default: return SOTTO_ERR_INVALID_MESSAGE;
	}
}

int sotto_sealed_decrypt(const uint8_t local_identity_pub[33],
			 const uint8_t local_identity_priv[32], const uint8_t (*trust_roots)[33],
			 size_t n_roots, uint64_t now_ms, const char *local_uuid,
			 const char *local_e164, uint32_t local_device, const uint8_t *msg,
			 size_t len, sotto_usmc **out)
{
	if (local_uuid == NULL || out == NULL || (trust_roots == NULL && n_roots))
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto_usmc *u = NULL;
	int rc = sotto_sealed_decrypt_to_usmc(local_identity_pub, local_identity_priv, msg, len, &u);
	if (rc != 0)
		return rc;
	const sotto_sender_cert *c = sotto_usmc_sender(u);
	rc = sotto_sender_cert_validate(c, trust_roots, n_roots, now_ms);
	if (rc == 0) {
		size_t ul, el;
		const char *su = sotto_sender_cert_uuid(c, &ul);
		const char *se = sotto_sender_cert_e164(c, &el);
		int self_uuid = ul == strlen(local_uuid) && memcmp(su, local_uuid, ul) == 0;
		int self_e164 = se != NULL && local_e164 != NULL && el == strlen(local_e164) &&
				memcmp(se, local_e164, el) == 0;
		if ((self_uuid || self_e164) && sotto_sender_cert_device(c) == local_device)
			rc = SOTTO_ERR_SEALED_SENDER_SELF_SEND;
	}
	if (rc != 0) {
		sotto_usmc_free(u);
		return rc;
	}
	*out = u;
	return 0;
}
