/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Identity keys, prekeys and their store records (facts 1.1-1.3, 2.1). */
#include <stdlib.h>
#include <string.h>

#include "protocol/session_internal.h"
#include "session.pb-c.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/kem.h"
#include "sotto/util.h"

int sotto__x25519_keypair_rng(uint8_t pub[32], uint8_t priv[32], sotto_rng_fn rng, void *rng_ctx)
{
	int rc;

	if (rng == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = rng(rng_ctx, priv, 32);
	if (rc != 0)
		return rc < 0 ? rc : SOTTO_ERR_INTERNAL;
	sotto_x25519_clamp(priv);
	rc = sotto_x25519_public(pub, priv);
	if (rc != 0)
		sotto_memzero(priv, 32);
	return rc;
}

int sotto_ec_keypair_generate(sotto_ec_keypair *kp, sotto_rng_fn rng, void *rng_ctx)
{
	int rc;

	if (kp == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = sotto__x25519_keypair_rng(kp->pub + 1, kp->priv, rng, rng_ctx);
	if (rc != 0) {
		sotto_memzero(kp, sizeof(*kp));
		return rc;
	}
	kp->pub[0] = SOTTO_EC_KEY_TYPE;
	return 0;
}

int sotto_ec_keypair_from_private(sotto_ec_keypair *kp, const uint8_t priv[SOTTO_EC_PRIVATE_BYTES])
{
	int rc;

	if (kp == NULL || priv == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memmove(kp->priv, priv, 32);
	sotto_x25519_clamp(kp->priv);
	rc = sotto_x25519_public(kp->pub + 1, kp->priv);
	if (rc != 0) {
		sotto_memzero(kp, sizeof(*kp));
		return rc;
	}
	kp->pub[0] = SOTTO_EC_KEY_TYPE;
	return 0;
}

int sotto_identity_keypair_generate(sotto_identity_keypair *kp, sotto_rng_fn rng, void *rng_ctx)
{
	return sotto_ec_keypair_generate(kp, rng, rng_ctx);
}

int sotto_ec_public_decode(uint8_t out33[SOTTO_EC_PUBLIC_BYTES], const uint8_t *in, size_t inlen)
{
	/* libsignal: at least 33 bytes, type byte 0x05, the rest ignored. */
	if (in == NULL || inlen < SOTTO_EC_PUBLIC_BYTES || in[0] != SOTTO_EC_KEY_TYPE)
		return SOTTO_ERR_INVALID_KEY;
	if (out33 != NULL)
		memcpy(out33, in, SOTTO_EC_PUBLIC_BYTES);
	return 0;
}

int sotto_identity_sign(uint8_t sig[SOTTO_SIGNATURE_BYTES], const sotto_identity_keypair *kp,
			const uint8_t *msg, size_t msglen, sotto_rng_fn rng, void *rng_ctx)
{
	uint8_t z[SOTTO_XEDDSA_RANDOM_BYTES];
	int rc;

	if (sig == NULL || kp == NULL || (msg == NULL && msglen != 0) || rng == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	rc = rng(rng_ctx, z, sizeof(z));
	if (rc == 0)
		rc = sotto_xeddsa_sign(sig, kp->priv, msg, msglen, z);
	sotto_memzero(z, sizeof(z));
	return rc;
}

int sotto_identity_verify(const uint8_t pub[SOTTO_EC_PUBLIC_BYTES], const uint8_t *msg,
			  size_t msglen, const uint8_t sig[SOTTO_SIGNATURE_BYTES])
{
	if (pub == NULL || sig == NULL || (msg == NULL && msglen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (pub[0] != SOTTO_EC_KEY_TYPE)
		return SOTTO_ERR_INVALID_KEY;
	return sotto_xeddsa_verify(pub + 1, msg, msglen, sig) == 0 ? 0
								   : SOTTO_ERR_INVALID_SIGNATURE;
}

int sotto_prekey_generate(sotto_prekey_record *rec, uint32_t id, sotto_rng_fn rng, void *rng_ctx)
{
	if (rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(rec, 0, sizeof(*rec));
	rec->id = id;
	return sotto_ec_keypair_generate(&rec->key, rng, rng_ctx);
}

int sotto_signed_prekey_generate(sotto_signed_prekey_record *rec, uint32_t id,
				 uint64_t timestamp_ms, const sotto_identity_keypair *identity,
				 sotto_rng_fn rng, void *rng_ctx)
{
	int rc;

	if (rec == NULL || identity == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(rec, 0, sizeof(*rec));
	rec->id = id;
	rec->timestamp_ms = timestamp_ms;
	rc = sotto_ec_keypair_generate(&rec->key, rng, rng_ctx);
	/* The signature covers the 33-byte serialization (facts 1.2). */
	if (rc == 0)
		rc = sotto_identity_sign(rec->signature, identity, rec->key.pub,
					 SOTTO_EC_PUBLIC_BYTES, rng, rng_ctx);
	if (rc != 0)
		sotto_memzero(rec, sizeof(*rec));
	return rc;
}

int sotto_kyber_prekey_generate(sotto_kyber_prekey_record *rec, uint32_t id,
				uint64_t timestamp_ms, const sotto_identity_keypair *identity,
				sotto_rng_fn rng, void *rng_ctx)
{
	uint8_t dz[64];
	int rc;

	if (rec == NULL || identity == NULL || rng == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memset(rec, 0, sizeof(*rec));
	rec->id = id;
	rec->timestamp_ms = timestamp_ms;
	rc = rng(rng_ctx, dz, sizeof(dz));
	if (rc == 0)
		rc = sotto_kyber1024_keypair_derand(rec->pub + 1, rec->priv + 1, dz, dz + 32);
	sotto_memzero(dz, sizeof(dz));
	if (rc == 0) {
		rec->pub[0] = SOTTO_KEM_KEY_TYPE_KYBER1024;
		rec->priv[0] = SOTTO_KEM_KEY_TYPE_KYBER1024;
		/* The signature covers the whole serialized key, type byte
		 * included (facts 1.2). */
		rc = sotto_identity_sign(rec->signature, identity, rec->pub, sizeof(rec->pub), rng,
					 rng_ctx);
	}
	if (rc != 0)
		sotto_memzero(rec, sizeof(*rec));
	return rc;
}

int sotto_registration_id_generate(uint32_t *out, sotto_rng_fn rng, void *rng_ctx)
{
	uint8_t b[2];
	uint32_t v;
	int rc;

	if (out == NULL || rng == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* Rejection of 0 keeps the distribution uniform over 1..0x3FFF; the
	 * loop ends with overwhelming probability. */
	do {
		rc = rng(rng_ctx, b, sizeof(b));
		if (rc != 0)
			return rc;
		v = ((uint32_t)b[0] << 8 | b[1]) & 0x3FFF;
	} while (v == 0);
	*out = v;
	return 0;
}

/* ---- record serialization ---------------------------------------------- */

/* Packs a protobuf-c message into out after a size check. */
static int pack_out(const ProtobufCMessage *msg, uint8_t *out, size_t outcap, size_t *outlen)
{
	size_t need = protobuf_c_message_get_packed_size(msg);

	if (outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*outlen = need;
	if (out == NULL || outcap < need)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	if (protobuf_c_message_pack(msg, out) != need)
		return SOTTO_ERR_INTERNAL;
	return 0;
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData b;

	/* protobuf-c never writes through data when packing. */
	b.data = (uint8_t *)(uintptr_t)p;
	b.len = n;
	return b;
}

/* Loads a stored EC key pair: pub33 (>= 33 bytes, type 0x05) and exactly 32
 * private bytes, clamped as libsignal does on load. */
static int load_ec_pair(sotto_ec_keypair *kp, protobuf_c_boolean has_pub, ProtobufCBinaryData pub,
			protobuf_c_boolean has_priv, ProtobufCBinaryData priv)
{
	if (!has_pub || !has_priv || priv.len != SOTTO_EC_PRIVATE_BYTES)
		return SOTTO_ERR_INVALID_KEY;
	if (sotto_ec_public_decode(kp->pub, pub.data, pub.len) != 0)
		return SOTTO_ERR_INVALID_KEY;
	memcpy(kp->priv, priv.data, 32);
	sotto_x25519_clamp(kp->priv);
	return 0;
}

int sotto_identity_keypair_serialize(uint8_t *out, size_t outcap, size_t *outlen,
				     const sotto_identity_keypair *kp)
{
	Sotto__Session__IdentityKeyPair m = SOTTO__SESSION__IDENTITY_KEY_PAIR__INIT;

	if (kp == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	m.has_public_key = 1;
	m.public_key = bin(kp->pub, sizeof(kp->pub));
	m.has_private_key = 1;
	m.private_key = bin(kp->priv, sizeof(kp->priv));
	return pack_out(&m.base, out, outcap, outlen);
}

int sotto_identity_keypair_deserialize(sotto_identity_keypair *kp, const uint8_t *in, size_t inlen)
{
	Sotto__Session__IdentityKeyPair *m;
	int rc;

	if (kp == NULL || (in == NULL && inlen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	m = sotto__session__identity_key_pair__unpack(NULL, inlen, in);
	if (m == NULL)
		return SOTTO_ERR_INVALID_KEY;
	rc = load_ec_pair(kp, m->has_public_key, m->public_key, m->has_private_key,
			  m->private_key);
	if (m->has_private_key)
		sotto_memzero(m->private_key.data, m->private_key.len);
	sotto__session__identity_key_pair__free_unpacked(m, NULL);
	if (rc != 0)
		sotto_memzero(kp, sizeof(*kp));
	return rc;
}

int sotto_prekey_record_serialize(uint8_t *out, size_t outcap, size_t *outlen,
				  const sotto_prekey_record *rec)
{
	Sotto__Session__PreKeyRecord m = SOTTO__SESSION__PRE_KEY_RECORD__INIT;

	if (rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	m.has_id = 1;
	m.id = rec->id;
	m.has_public_key = 1;
	m.public_key = bin(rec->key.pub, sizeof(rec->key.pub));
	m.has_private_key = 1;
	m.private_key = bin(rec->key.priv, sizeof(rec->key.priv));
	return pack_out(&m.base, out, outcap, outlen);
}

int sotto_prekey_record_deserialize(sotto_prekey_record *rec, const uint8_t *in, size_t inlen)
{
	Sotto__Session__PreKeyRecord *m;
	int rc;

	if (rec == NULL || (in == NULL && inlen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	m = sotto__session__pre_key_record__unpack(NULL, inlen, in);
	if (m == NULL)
		return SOTTO_ERR_INVALID_KEY;
	memset(rec, 0, sizeof(*rec));
	rec->id = m->id; /* default 0 when absent, as libsignal */
	rc = load_ec_pair(&rec->key, m->has_public_key, m->public_key, m->has_private_key,
			  m->private_key);
	if (m->has_private_key)
		sotto_memzero(m->private_key.data, m->private_key.len);
	sotto__session__pre_key_record__free_unpacked(m, NULL);
	if (rc != 0)
		sotto_memzero(rec, sizeof(*rec));
	return rc;
}

int sotto_signed_prekey_record_serialize(uint8_t *out, size_t outcap, size_t *outlen,
					 const sotto_signed_prekey_record *rec)
{
	Sotto__Session__SignedPreKeyRecord m = SOTTO__SESSION__SIGNED_PRE_KEY_RECORD__INIT;

	if (rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	m.has_id = 1;
	m.id = rec->id;
	m.has_public_key = 1;
	m.public_key = bin(rec->key.pub, sizeof(rec->key.pub));
	m.has_private_key = 1;
	m.private_key = bin(rec->key.priv, sizeof(rec->key.priv));
	m.has_signature = 1;
	m.signature = bin(rec->signature, sizeof(rec->signature));
	m.has_timestamp = 1;
	m.timestamp = rec->timestamp_ms;
	return pack_out(&m.base, out, outcap, outlen);
}

int sotto_signed_prekey_record_deserialize(sotto_signed_prekey_record *rec, const uint8_t *in,
					   size_t inlen)
{
	Sotto__Session__SignedPreKeyRecord *m;
	int rc;

	if (rec == NULL || (in == NULL && inlen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	m = sotto__session__signed_pre_key_record__unpack(NULL, inlen, in);
	if (m == NULL)
		return SOTTO_ERR_INVALID_KEY;
	memset(rec, 0, sizeof(*rec));
	rec->id = m->id;
	rec->timestamp_ms = m->timestamp;
	rc = load_ec_pair(&rec->key, m->has_public_key, m->public_key, m->has_private_key,
			  m->private_key);
	if (rc == 0 && (!m->has_signature || m->signature.len != SOTTO_SIGNATURE_BYTES))
		rc = SOTTO_ERR_INVALID_KEY;
	if (rc == 0)
		memcpy(rec->signature, m->signature.data, SOTTO_SIGNATURE_BYTES);
	if (m->has_private_key)
		sotto_memzero(m->private_key.data, m->private_key.len);
	sotto__session__signed_pre_key_record__free_unpacked(m, NULL);
	if (rc != 0)
		sotto_memzero(rec, sizeof(*rec));
	return rc;
}

int sotto_kyber_prekey_record_serialize(uint8_t *out, size_t outcap, size_t *outlen,
					const sotto_kyber_prekey_record *rec)
{
	Sotto__Session__SignedPreKeyRecord m = SOTTO__SESSION__SIGNED_PRE_KEY_RECORD__INIT;

	if (rec == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	m.has_id = 1;
	m.id = rec->id;
	m.has_public_key = 1;
	m.public_key = bin(rec->pub, sizeof(rec->pub));
	m.has_private_key = 1;
	m.private_key = bin(rec->priv, sizeof(rec->priv));
	m.has_signature = 1;
	m.signature = bin(rec->signature, sizeof(rec->signature));
	m.has_timestamp = 1;
	m.timestamp = rec->timestamp_ms;
	return pack_out(&m.base, out, outcap, outlen);
}

int sotto_kyber_prekey_record_deserialize(sotto_kyber_prekey_record *rec, const uint8_t *in,
					  size_t inlen)
{
	Sotto__Session__SignedPreKeyRecord *m;
	int rc = 0;

	if (rec == NULL || (in == NULL && inlen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	m = sotto__session__signed_pre_key_record__unpack(NULL, inlen, in);
	if (m == NULL)
		return SOTTO_ERR_INVALID_KEY;
	memset(rec, 0, sizeof(*rec));
	rec->id = m->id;
	rec->timestamp_ms = m->timestamp;
	/* KEM keys carry their type byte and must have the exact length; only
	 * Kyber1024 (0x08) is supported, as in the 0.103 Node build. */
	if (!m->has_public_key || m->public_key.len != SOTTO_KEM_PUBLIC_BYTES ||
	    m->public_key.data[0] != SOTTO_KEM_KEY_TYPE_KYBER1024 || !m->has_private_key ||
	    m->private_key.len != SOTTO_KEM_SECRET_BYTES ||
	    m->private_key.data[0] != SOTTO_KEM_KEY_TYPE_KYBER1024 || !m->has_signature ||
	    m->signature.len != SOTTO_SIGNATURE_BYTES)
		rc = SOTTO_ERR_INVALID_KEY;
	if (rc == 0) {
		memcpy(rec->pub, m->public_key.data, SOTTO_KEM_PUBLIC_BYTES);
		memcpy(rec->priv, m->private_key.data, SOTTO_KEM_SECRET_BYTES);
		memcpy(rec->signature, m->signature.data, SOTTO_SIGNATURE_BYTES);
	}
	if (m->has_private_key)
		sotto_memzero(m->private_key.data, m->private_key.len);
	sotto__session__signed_pre_key_record__free_unpacked(m, NULL);
	if (rc != 0)
		sotto_memzero(rec, sizeof(*rec));
	return rc;
}
