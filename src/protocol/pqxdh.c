/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* PQXDH as libsignal 0.103 runs it (facts 2.2-2.4; signal.org PQXDH spec with
 * X25519, SHA-256 and round-3 Kyber1024). */
#include <string.h>

#include "protocol/session_internal.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/kem.h"
#include "sotto/util.h"

static const char PQXDH_LABEL[] = "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024";

/* The HKDF input: 0xFF*32 || DH1 || DH2 || DH3 || [DH4] || SS. */
#define SECRET_MAX (32 + 4 * 32 + SOTTO_KEM_SS_BYTES)

/* RK0 || CK0 || PQR = HKDF(no salt, secret, label, 96). */
static int derive(uint8_t rk[32], uint8_t ck[32], uint8_t pqr[32], const uint8_t *secret,
		  size_t secretlen)
{
	uint8_t okm[96];
	int rc;

	rc = sotto_hkdf_sha256(okm, sizeof(okm), NULL, 0, secret, secretlen,
			       (const uint8_t *)PQXDH_LABEL, sizeof(PQXDH_LABEL) - 1);
	if (rc == 0) {
		memcpy(rk, okm, 32);
		memcpy(ck, okm + 32, 32);
		memcpy(pqr, okm + 64, 32);
	}
	sotto_memzero(okm, sizeof(okm));
	return rc;
}

int sotto_pqxdh_initiate(sotto_session_state **out, uint8_t pqr_key[SOTTO_PQR_KEY_BYTES],
			 const sotto_identity_keypair *local_identity,
			 uint32_t local_registration_id, const sotto_prekey_bundle *bundle,
			 uint64_t now_seconds, sotto_rng_fn rng, void *rng_ctx)
{
	uint8_t secret[SECRET_MAX];
	uint8_t base_pub[32], base_priv[32], coins[32];
	uint8_t kct[SOTTO_KYBER1024_CT_BYTES];
	uint8_t rk0[32], ck0[32], dh[32];
	sotto_session_state *st = NULL;
	size_t n = 0;
	int rc;

	if (out == NULL || pqr_key == NULL || local_identity == NULL || bundle == NULL ||
	    rng == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (bundle->identity_key[0] != SOTTO_EC_KEY_TYPE ||
	    bundle->signed_pre_key[0] != SOTTO_EC_KEY_TYPE ||
	    (bundle->has_pre_key && bundle->pre_key[0] != SOTTO_EC_KEY_TYPE) ||
	    bundle->kyber_pre_key[0] != SOTTO_KEM_KEY_TYPE_KYBER1024 ||
	    local_identity->pub[0] != SOTTO_EC_KEY_TYPE)
		return SOTTO_ERR_INVALID_KEY;
	/* Step 2: both prekey signatures under the bundle's identity key. */
	if (sotto_identity_verify(bundle->identity_key, bundle->signed_pre_key,
				  SOTTO_EC_PUBLIC_BYTES, bundle->signed_pre_key_signature) != 0 ||
	    sotto_identity_verify(bundle->identity_key, bundle->kyber_pre_key,
				  SOTTO_KEM_PUBLIC_BYTES, bundle->kyber_pre_key_signature) != 0)
		return SOTTO_ERR_INVALID_SIGNATURE;

	st = sotto__session_state_alloc();
	if (st == NULL)
		return SOTTO_ERR_NOMEM;
	/* Step 3: base key and the secret. */
	rc = sotto__x25519_keypair_rng(base_pub, base_priv, rng, rng_ctx);
	if (rc != 0)
		goto done;
	memset(secret, 0xFF, 32);
	n = 32;
	rc = sotto_x25519(secret + n, local_identity->priv, bundle->signed_pre_key + 1);
	n += 32;
	if (rc == 0)
		rc = sotto_x25519(secret + n, base_priv, bundle->identity_key + 1);
	n += 32;
	if (rc == 0)
		rc = sotto_x25519(secret + n, base_priv, bundle->signed_pre_key + 1);
	n += 32;
	if (rc == 0 && bundle->has_pre_key) {
		rc = sotto_x25519(secret + n, base_priv, bundle->pre_key + 1);
		n += 32;
	}
	if (rc == 0)
		rc = rng(rng_ctx, coins, sizeof(coins));
	if (rc == 0)
		rc = sotto_kyber1024_encaps_derand(kct, secret + n, bundle->kyber_pre_key + 1,
						   coins);
	n += SOTTO_KEM_SS_BYTES;
	/* Step 4. */
	if (rc == 0)
		rc = derive(rk0, ck0, pqr_key, secret, n);
	if (rc != 0)
		goto done;

	/* Step 5: the first sending ratchet key and KDF_RK. */
	rc = sotto__x25519_keypair_rng(st->sender_pub, st->sender_priv, rng, rng_ctx);
	if (rc == 0)
		rc = sotto_x25519(dh, st->sender_priv, bundle->signed_pre_key + 1);
	if (rc == 0)
		rc = sotto__kdf_rk(st->root_key, st->sender_chain_key, rk0, dh);
	if (rc != 0)
		goto done;
	st->has_sender_chain = 1;
	st->sender_index = 0;
	rc = sotto__session_add_receiver_chain(st, bundle->signed_pre_key + 1, ck0);
	if (rc != 0)
		goto done;
	st->session_version = SOTTO_SESSION_VERSION;
	memcpy(st->local_identity, local_identity->pub, SOTTO_EC_PUBLIC_BYTES);
	memcpy(st->remote_identity, bundle->identity_key, SOTTO_EC_PUBLIC_BYTES);
	st->local_registration_id = local_registration_id;
	st->remote_registration_id = bundle->registration_id;

	/* Step 7: the items every PreKeySignalMessage repeats. */
	st->has_pending = 1;
	st->pending.has_pre_key_id = bundle->has_pre_key ? 1 : 0;
	st->pending.pre_key_id = bundle->has_pre_key ? bundle->pre_key_id : 0;
	st->pending.signed_pre_key_id = bundle->signed_pre_key_id;
	st->pending.base_key[0] = SOTTO_EC_KEY_TYPE;
	memcpy(st->pending.base_key + 1, base_pub, 32);
	st->pending.timestamp = now_seconds;
	st->pending.kyber_pre_key_id = bundle->kyber_pre_key_id;
	st->pending.kyber_ciphertext[0] = SOTTO_KEM_KEY_TYPE_KYBER1024;
	memcpy(st->pending.kyber_ciphertext + 1, kct, sizeof(kct));
	st->has_alice_base_key = 1;
	memcpy(st->alice_base_key, st->pending.base_key, SOTTO_EC_PUBLIC_BYTES);
	*out = st;
	st = NULL;
done:
	if (rc != 0)
		sotto_memzero(pqr_key, SOTTO_PQR_KEY_BYTES);
	sotto_session_state_free(st);
	sotto_memzero(secret, sizeof(secret));
	sotto_memzero(base_priv, sizeof(base_priv));
	sotto_memzero(coins, sizeof(coins));
	sotto_memzero(rk0, sizeof(rk0));
	sotto_memzero(ck0, sizeof(ck0));
	sotto_memzero(dh, sizeof(dh));
	return rc;
}

int sotto_pqxdh_respond(sotto_session_state **out, uint8_t pqr_key[SOTTO_PQR_KEY_BYTES],
			const sotto_identity_keypair *local_identity,
			uint32_t local_registration_id,
			const sotto_signed_prekey_record *signed_prekey,
			const sotto_prekey_record *one_time_prekey,
			const sotto_kyber_prekey_record *kyber_prekey,
			const sotto_prekey_signal_message *msg)
{
	uint8_t secret[SECRET_MAX];
	uint8_t rk0[32], ck0[32];
	sotto_session_state *st = NULL;
	size_t n;
	int rc;

	if (out == NULL || pqr_key == NULL || local_identity == NULL || signed_prekey == NULL ||
	    kyber_prekey == NULL || msg == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	/* Step 3 (facts 2.4): X3DH-only (version 3) or Kyber-less messages are
	 * no longer accepted. */
	if (msg->version != SOTTO_SESSION_VERSION || !msg->has_kyber)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (signed_prekey->id != msg->signed_pre_key_id ||
	    kyber_prekey->id != msg->kyber_pre_key_id ||
	    (one_time_prekey != NULL) != (msg->has_pre_key_id != 0) ||
	    (one_time_prekey != NULL && one_time_prekey->id != msg->pre_key_id))
		return SOTTO_ERR_INVALID_KEY_ID;
	if (msg->kyber_ciphertext == NULL || msg->kyber_ciphertext_len != SOTTO_KEM_CIPHERTEXT_BYTES ||
	    msg->kyber_ciphertext[0] != kyber_prekey->priv[0])
		return SOTTO_ERR_INVALID_MESSAGE;
	if (kyber_prekey->priv[0] != SOTTO_KEM_KEY_TYPE_KYBER1024 ||
	    msg->base_key[0] != SOTTO_EC_KEY_TYPE || msg->identity_key[0] != SOTTO_EC_KEY_TYPE ||
	    local_identity->pub[0] != SOTTO_EC_KEY_TYPE)
		return SOTTO_ERR_INVALID_KEY;
	if (sotto_x25519_is_canonical(msg->base_key + 1) != 1)
		return SOTTO_ERR_INVALID_KEY;

	st = sotto__session_state_alloc();
	if (st == NULL)
		return SOTTO_ERR_NOMEM;
	memset(secret, 0xFF, 32);
	n = 32;
	rc = sotto_x25519(secret + n, signed_prekey->key.priv, msg->identity_key + 1);
	n += 32;
	if (rc == 0)
		rc = sotto_x25519(secret + n, local_identity->priv, msg->base_key + 1);
	n += 32;
	if (rc == 0)
		rc = sotto_x25519(secret + n, signed_prekey->key.priv, msg->base_key + 1);
	n += 32;
	if (rc == 0 && one_time_prekey != NULL) {
		rc = sotto_x25519(secret + n, one_time_prekey->key.priv, msg->base_key + 1);
		n += 32;
	}
	if (rc == 0)
		rc = sotto_kyber1024_decaps(secret + n, msg->kyber_ciphertext + 1,
					    kyber_prekey->priv + 1);
	n += SOTTO_KEM_SS_BYTES;
	if (rc == 0)
		rc = derive(rk0, ck0, pqr_key, secret, n);
	if (rc != 0)
		goto done;

	/* Step 5: Bob sends on a chain keyed by his signed prekey until Alice's
	 * first ratchet key arrives. */
	st->session_version = SOTTO_SESSION_VERSION;
	memcpy(st->local_identity, local_identity->pub, SOTTO_EC_PUBLIC_BYTES);
	memcpy(st->remote_identity, msg->identity_key, SOTTO_EC_PUBLIC_BYTES);
	memcpy(st->root_key, rk0, 32);
	st->has_sender_chain = 1;
	memcpy(st->sender_pub, signed_prekey->key.pub + 1, 32);
	memcpy(st->sender_priv, signed_prekey->key.priv, 32);
	memcpy(st->sender_chain_key, ck0, 32);
	st->sender_index = 0;
	st->has_alice_base_key = 1;
	memcpy(st->alice_base_key, msg->base_key, SOTTO_EC_PUBLIC_BYTES);
	st->remote_registration_id = msg->registration_id;
	st->local_registration_id = local_registration_id;
	*out = st;
	st = NULL;
done:
	if (rc != 0)
		sotto_memzero(pqr_key, SOTTO_PQR_KEY_BYTES);
	sotto_session_state_free(st);
	sotto_memzero(secret, sizeof(secret));
	sotto_memzero(rk0, sizeof(rk0));
	sotto_memzero(ck0, sizeof(ck0));
	return rc;
}
