/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The Double Ratchet as libsignal runs it (facts 4.1-4.3): KDFs, sending,
 * receiving with skipped keys, the DH ratchet step. Receiving works on a copy
 * of the state and commits only after the message authenticated and
 * decrypted. */
#include <stdlib.h>
#include <string.h>

#include "protocol/session_internal.h"
#include "sotto/aes.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"

static const char LABEL_RK[] = "WhisperRatchet";
static const char LABEL_MK[] = "WhisperMessageKeys";

int sotto__hkdf_h(sotto_hmac_sha256_ctx *h, uint8_t *out, size_t outlen, const uint8_t *salt,
		  size_t saltlen, const uint8_t *ikm, size_t ikmlen, const uint8_t *info,
		  size_t infolen)
{
	static const uint8_t zeros[32];
	uint8_t prk[32], t[32];
	size_t done = 0;
	uint8_t i = 0;
	int rc;

	if (h == NULL)
		return sotto_hkdf_sha256(out, outlen, salt, saltlen, ikm, ikmlen, info, infolen);
	if (outlen > 255 * 32 || (ikm == NULL && ikmlen != 0) || (info == NULL && infolen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* Extract: PRK = HMAC(salt, IKM), an absent salt being 32 zero bytes. */
	if (salt == NULL || saltlen == 0) {
		salt = zeros;
		saltlen = sizeof zeros;
	}
	rc = sotto_hmac_sha256_setkey(h, salt, saltlen);
	if (rc == 0 && ikmlen != 0)
		rc = sotto_hmac_sha256_update(h, ikm, ikmlen);
	if (rc == 0)
		rc = sotto_hmac_sha256_final(h, prk);
	/* Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
	if (rc == 0)
		rc = sotto_hmac_sha256_setkey(h, prk, sizeof prk);
	while (rc == 0 && done < outlen) {
		size_t n = outlen - done < 32 ? outlen - done : 32;

		i++;
		if (i > 1)
			rc = sotto_hmac_sha256_update(h, t, sizeof t);
		if (rc == 0 && infolen != 0)
			rc = sotto_hmac_sha256_update(h, info, infolen);
		if (rc == 0)
			rc = sotto_hmac_sha256_update(h, &i, 1);
		if (rc == 0)
			rc = sotto_hmac_sha256_final(h, t);
		if (rc == 0) {
			memcpy(out + done, t, n);
			done += n;
		}
	}
	if (rc != 0 && outlen != 0)
		sotto_memzero(out, outlen);
	sotto_memzero(prk, sizeof prk);
	sotto_memzero(t, sizeof t);
	return rc;
}

int sotto__kdf_rk(uint8_t new_rk[32], uint8_t ck[32], const uint8_t rk[32], const uint8_t dh[32])
{
	uint8_t okm[64];
	int rc;

	rc = sotto_hkdf_sha256(okm, sizeof(okm), rk, 32, dh, 32, (const uint8_t *)LABEL_RK,
			       sizeof(LABEL_RK) - 1);
	if (rc == 0) {
		memcpy(new_rk, okm, 32);
		memcpy(ck, okm + 32, 32);
	}
	sotto_memzero(okm, sizeof(okm));
	return rc;
}

int sotto__chain_step(uint8_t seed[32], uint8_t next[32], const uint8_t ck[32])
{
	return sotto__chain_step_h(NULL, seed, next, ck);
}

int sotto__chain_step_h(sotto_hmac_sha256_ctx *h, uint8_t seed[32], uint8_t next[32],
			const uint8_t ck[32])
{
	static const uint8_t one = 0x01, two = 0x02;
	int rc = 0;

	if (h == NULL) {
		if (seed != NULL)
			rc = sotto_hmac_sha256(seed, ck, 32, &one, 1);
		if (rc == 0 && next != NULL)
			rc = sotto_hmac_sha256(next, ck, 32, &two, 1);
		return rc;
	}
	/* One keying for both outputs. */
	rc = sotto_hmac_sha256_setkey(h, ck, 32);
	if (rc == 0 && seed != NULL) {
		rc = sotto_hmac_sha256_update(h, &one, 1);
		if (rc == 0)
			rc = sotto_hmac_sha256_final(h, seed);
	}
	if (rc == 0 && next != NULL) {
		rc = sotto_hmac_sha256_update(h, &two, 1);
		if (rc == 0)
			rc = sotto_hmac_sha256_final(h, next);
	}
	return rc;
}

int sotto__message_keys(uint8_t cipher_key[32], uint8_t mac_key[32], uint8_t iv[16],
			const uint8_t seed[32], const uint8_t *pq_key)
{
	return sotto__message_keys_h(NULL, cipher_key, mac_key, iv, seed, pq_key);
}

int sotto__message_keys_h(sotto_hmac_sha256_ctx *h, uint8_t cipher_key[32], uint8_t mac_key[32],
			  uint8_t iv[16], const uint8_t seed[32], const uint8_t *pq_key)
{
	uint8_t okm[80];
	int rc;

	/* facts 4.1: the SPQR key is the HKDF salt; none means no salt. */
	rc = sotto__hkdf_h(h, okm, sizeof(okm), pq_key, pq_key ? 32 : 0, seed, 32,
			   (const uint8_t *)LABEL_MK, sizeof(LABEL_MK) - 1);
	if (rc == 0) {
		memcpy(cipher_key, okm, 32);
		memcpy(mac_key, okm + 32, 32);
		memcpy(iv, okm + 64, 16);
	}
	sotto_memzero(okm, sizeof(okm));
	return rc;
}

/* Protobuf size of a length-delimited field with a one-byte tag. */
static size_t ld_field(size_t len)
{
	return 1 + 5 + len;
}

size_t sotto_ratchet_encrypt_bound(size_t plaintext_len, size_t pq_msg_len, size_t addresses_len)
{
	return 1 + ld_field(SOTTO_EC_PUBLIC_BYTES) + 2 * (1 + 5) +
	       ld_field(SOTTO_AES_CBC_PADDED_LEN(plaintext_len)) + ld_field(pq_msg_len) +
	       ld_field(addresses_len) + SOTTO_SIGNAL_MAC_BYTES;
}

int sotto_ratchet_encrypt(sotto_session_state *st, const uint8_t *pq_key, const uint8_t *pq_msg,
			  size_t pq_msg_len, const uint8_t *addresses, size_t addresses_len,
			  const uint8_t *plaintext, size_t plaintext_len, uint8_t *out,
			  size_t outcap, size_t *outlen)
{
	uint8_t seed[32], next[32], ck[32], mk[32], iv[16];
	uint8_t *ct = NULL;
	size_t ctlen = 0, ctcap;
	sotto_signal_message m;
	sotto_hmac_sha256_ctx *h;
	int rc;

	if (st == NULL || outlen == NULL || (plaintext == NULL && plaintext_len != 0) ||
	    (pq_msg == NULL && pq_msg_len != 0) ||
	    plaintext_len > SOTTO_MAX_MESSAGE_BYTES)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (!st->has_sender_chain)
		return SOTTO_ERR_NO_SESSION;
	/* The next counter would not fit the wire's uint32. */
	if (st->sender_index == UINT32_MAX)
		return SOTTO_ERR_INVALID_ARGUMENT;
	ctcap = SOTTO_AES_CBC_PADDED_LEN(plaintext_len);
	ct = malloc(ctcap);
	if (ct == NULL)
		return SOTTO_ERR_NOMEM;
	/* One HMAC context for every HMAC of this message (chain step, HKDF,
	 * MAC): a one-shot call sets up and tears down a context each time. */
	h = sotto_hmac_sha256_new();
	if (h == NULL) {
		free(ct);
		return SOTTO_ERR_NOMEM;
	}
	rc = sotto__chain_step_h(h, seed, next, st->sender_chain_key);
	if (rc == 0)
		rc = sotto__message_keys_h(h, ck, mk, iv, seed, pq_key);
	if (rc == 0)
		rc = sotto_aes_cbc_encrypt(ct, ctcap, &ctlen, ck, 32, iv,
					   plaintext_len ? plaintext : (const uint8_t *)"", plaintext_len);
	if (rc != 0)
		goto done;
	memset(&m, 0, sizeof(m));
	m.version = (uint8_t)st->session_version;
	m.ratchet_key[0] = SOTTO_EC_KEY_TYPE;
	memcpy(m.ratchet_key + 1, st->sender_pub, 32);
	m.counter = st->sender_index;
	m.previous_counter = st->previous_counter;
	m.ciphertext = ct;
	m.ciphertext_len = ctlen;
	m.pq_ratchet = pq_msg;
	m.pq_ratchet_len = pq_msg_len;
	m.addresses = addresses;
	m.addresses_len = addresses ? addresses_len : 0;
	rc = sotto__signal_message_encode_h(h, out, outcap, outlen, &m, mk, st->local_identity,
					    st->remote_identity);
	if (rc != 0)
		goto done;
	/* Only now advance the chain: a failure above leaves st untouched. */
	memcpy(st->sender_chain_key, next, 32);
	st->sender_index++;
done:
	sotto_memzero(seed, sizeof(seed));
	sotto_memzero(next, sizeof(next));
	sotto_memzero(ck, sizeof(ck));
	sotto_memzero(mk, sizeof(mk));
	sotto_memzero(iv, sizeof(iv));
	sotto_memzero(ct, ctcap);
	free(ct);
	sotto_hmac_sha256_free(h);
	return rc;
}

int sotto_session_wrap_prekey(const sotto_session_state *st, const uint8_t *signal_msg,
			      size_t signal_len, uint8_t *out, size_t outcap, size_t *outlen)
{
	sotto_prekey_signal_message p;

	if (st == NULL || signal_msg == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (!st->has_pending)
		return SOTTO_ERR_NO_SESSION;
	memset(&p, 0, sizeof(p));
	p.version = (uint8_t)st->session_version;
	p.registration_id = st->local_registration_id;
	p.has_pre_key_id = st->pending.has_pre_key_id;
	p.pre_key_id = st->pending.pre_key_id;
	p.signed_pre_key_id = st->pending.signed_pre_key_id;
	p.has_kyber = 1;
	p.kyber_pre_key_id = st->pending.kyber_pre_key_id;
	p.kyber_ciphertext = st->pending.kyber_ciphertext;
	p.kyber_ciphertext_len = SOTTO_KEM_CIPHERTEXT_BYTES;
	memcpy(p.base_key, st->pending.base_key, SOTTO_EC_PUBLIC_BYTES);
	memcpy(p.identity_key, st->local_identity, SOTTO_EC_PUBLIC_BYTES);
	p.message = signal_msg;
	p.message_len = signal_len;
	return sotto_prekey_signal_message_encode(out, outcap, outlen, &p);
}

/* ---- receiving ---------------------------------------------------------- */

static sotto__receiver_chain *find_chain(sotto_session_state *st, const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < st->nrecv; i++)
		if (memcmp(st->recv[i].ratchet_key, key, 32) == 0)
			return &st->recv[i];
	return NULL;
}

/* The DH ratchet step for a new ratchet key (facts 4.3 step 1). */
/* KDF_RK on the message's keyed HMAC context (one context per message rather
 * than the one-shot HKDF's per HMAC). */
static int kdf_rk_h(sotto_hmac_sha256_ctx *h, uint8_t new_rk[32], uint8_t ck[32],
		    const uint8_t rk[32], const uint8_t dh[32])
{
	uint8_t okm[64];
	int rc;

	rc = sotto__hkdf_h(h, okm, sizeof(okm), rk, 32, dh, 32, (const uint8_t *)LABEL_RK,
			   sizeof(LABEL_RK) - 1);
	if (rc == 0) {
		memcpy(new_rk, okm, 32);
		memcpy(ck, okm + 32, 32);
	}
	sotto_memzero(okm, sizeof(okm));
	return rc;
}

static int dh_ratchet(sotto_hmac_sha256_ctx *h, sotto_session_state *st, const uint8_t their[32],
		      sotto_rng_fn rng, void *rng_ctx)
{
	uint8_t dh[32], rk1[32], ckr[32], npub[32], npriv[32], rk2[32], cks[32];
	int rc;

	if (!st->has_sender_chain)
		return SOTTO_ERR_NO_SESSION;
	rc = sotto_x25519(dh, st->sender_priv, their);
	if (rc == 0)
		rc = kdf_rk_h(h, rk1, ckr, st->root_key, dh);
	if (rc == 0)
		rc = sotto__x25519_keypair_rng(npub, npriv, rng, rng_ctx);
	if (rc == 0)
		rc = sotto_x25519(dh, npriv, their);
	if (rc == 0)
		rc = kdf_rk_h(h, rk2, cks, rk1, dh);
	if (rc == 0)
		rc = sotto__session_add_receiver_chain(st, their, ckr);
	if (rc == 0) {
		memcpy(st->root_key, rk2, 32);
		st->previous_counter = st->sender_index ? st->sender_index - 1 : 0;
		memcpy(st->sender_pub, npub, 32);
		memcpy(st->sender_priv, npriv, 32);
		memcpy(st->sender_chain_key, cks, 32);
		st->sender_index = 0;
	}
	if (rc == SOTTO_ERR_INVALID_KEY)
		rc = SOTTO_ERR_INVALID_MESSAGE; /* their key gave an all-zero DH */
	sotto_memzero(dh, sizeof(dh));
	sotto_memzero(rk1, sizeof(rk1));
	sotto_memzero(ckr, sizeof(ckr));
	sotto_memzero(npriv, sizeof(npriv));
	sotto_memzero(rk2, sizeof(rk2));
	sotto_memzero(cks, sizeof(cks));
	return rc;
}

/* Finds the message seed for counter on chain c, storing skipped seeds and
 * advancing the chain (facts 4.3 steps 2-4). */
static int chain_seed(sotto_hmac_sha256_ctx *h, sotto__receiver_chain *c, uint32_t counter,
		      int unlimited, uint8_t seed[32])
{
	sotto__skipped_key *arr;
	uint8_t ck[32], next[32];
	uint32_t jump, keep, i;
	size_t oldkeep, j;
	int rc = 0;

	if (counter < c->index) {
		for (j = 0; j < c->nskipped; j++) {
			if (c->skipped[j].index != counter)
				continue;
			memcpy(seed, c->skipped[j].seed, 32);
			sotto_memzero(&c->skipped[j], sizeof(c->skipped[j]));
			memmove(&c->skipped[j], &c->skipped[j + 1],
				(c->nskipped - j - 1) * sizeof(c->skipped[0]));
			c->nskipped--;
			return 0;
		}
		return SOTTO_ERR_DUPLICATE_MESSAGE;
	}
	if (counter == UINT32_MAX)
		return SOTTO_ERR_INVALID_MESSAGE; /* the chain index would wrap */
	jump = counter - c->index;
	if (jump > SOTTO_MAX_FORWARD_JUMPS && !unlimited)
		return SOTTO_ERR_INVALID_MESSAGE;

	/* Only the newest SOTTO_MAX_MESSAGE_KEYS seeds survive: the skipped
	 * indexes counter-1 down to counter-keep, then the old ones. Build the
	 * new list in one allocation instead of inserting one by one. */
	keep = jump < SOTTO_MAX_MESSAGE_KEYS ? jump : SOTTO_MAX_MESSAGE_KEYS;
	oldkeep = c->nskipped;
	if (oldkeep > SOTTO_MAX_MESSAGE_KEYS - keep)
		oldkeep = SOTTO_MAX_MESSAGE_KEYS - keep;
	arr = NULL;
	if (keep != 0) {
		arr = calloc((size_t)keep + oldkeep, sizeof(*arr));
		if (arr == NULL)
			return SOTTO_ERR_NOMEM;
	}
	memcpy(ck, c->chain_key, 32);
	for (i = c->index; i < counter; i++) {
		uint32_t back = counter - 1 - i; /* position in the new list */

		rc = sotto__chain_step_h(h, back < keep ? arr[back].seed : NULL, next, ck);
		if (rc != 0)
			goto fail;
		if (back < keep)
			arr[back].index = i;
		memcpy(ck, next, 32);
	}
	rc = sotto__chain_step_h(h, seed, next, ck);
	if (rc != 0)
		goto fail;
	if (arr != NULL) {
		if (oldkeep != 0)
			memcpy(arr + keep, c->skipped, oldkeep * sizeof(*arr));
		if (c->skipped != NULL) {
			sotto_memzero(c->skipped, c->capskipped * sizeof(*c->skipped));
			free(c->skipped);
		}
		c->skipped = arr;
		c->nskipped = (size_t)keep + oldkeep;
		c->capskipped = c->nskipped;
		arr = NULL;
	}
	memcpy(c->chain_key, next, 32);
	c->index = counter + 1;
	sotto_memzero(ck, sizeof(ck));
	sotto_memzero(next, sizeof(next));
	return 0;
fail:
	if (arr != NULL) {
		sotto_memzero(arr, ((size_t)keep + oldkeep) * sizeof(*arr));
		free(arr);
	}
	sotto_memzero(ck, sizeof(ck));
	sotto_memzero(next, sizeof(next));
	return rc;
}

static int st_check_args(const sotto_session_state *st, const sotto_signal_message *m,
			 const uint8_t *raw, const size_t *outlen, sotto_rng_fn rng,
			 const uint8_t *out, size_t outcap)
{
	return (st == NULL || m == NULL || raw == NULL || outlen == NULL || rng == NULL ||
		(out == NULL && outcap != 0))
		       ? -1
		       : 0;
}

/* Moves the contents of src into dst and frees what dst held. */
static void state_commit(sotto_session_state *dst, sotto_session_state *src)
{
	sotto_session_state tmp;

	memcpy(&tmp, dst, sizeof(tmp));
	memcpy(dst, src, sizeof(*dst));
	memcpy(src, &tmp, sizeof(*src));
	sotto_memzero(&tmp, sizeof(tmp));
	sotto_session_state_free(src);
}

/* The receiving steps on w itself; on failure w is left half-changed, so
 * callers run this on a copy they drop on failure. */
static int decrypt_core(sotto_session_state *w, const sotto_signal_message *m,
			const uint8_t *raw, size_t raw_len, const uint8_t *pq_key,
			const uint8_t *expected_addresses, unsigned flags, sotto_rng_fn rng,
			void *rng_ctx, uint8_t *out, size_t outcap, size_t *outlen)
{
	sotto__receiver_chain *c;
	sotto_hmac_sha256_ctx *h;
	uint8_t seed[32], ck[32], mk[32], iv[16];
	int rc;

	if (st_check_args(w, m, raw, outlen, rng, out, outcap) != 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*outlen = 0;
	if (m->version != w->session_version)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (m->ratchet_key[0] != SOTTO_EC_KEY_TYPE)
		return SOTTO_ERR_INVALID_MESSAGE;
	/* AES-CBC output is a positive multiple of 16; sotto_aes_cbc_decrypt
	 * needs room for ciphertext_len - 16 bytes. */
	if (m->ciphertext_len < 16 || m->ciphertext_len % 16 != 0)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (outcap < m->ciphertext_len - 16)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	/* One HMAC context for the chain steps, the HKDF and the MAC. */
	h = sotto_hmac_sha256_new();
	if (h == NULL)
		return SOTTO_ERR_NOMEM;
	c = find_chain(w, m->ratchet_key + 1);
	if (c == NULL) {
		rc = dh_ratchet(h, w, m->ratchet_key + 1, rng, rng_ctx);
		if (rc != 0)
			goto done;
		c = &w->recv[w->nrecv - 1];
	}
	rc = chain_seed(h, c, m->counter, (flags & SOTTO_RATCHET_UNLIMITED_JUMP) != 0, seed);
	if (rc != 0)
		goto done;
	rc = sotto__message_keys_h(h, ck, mk, iv, seed, pq_key);
	if (rc != 0)
		goto done;
	/* Sender is the remote party: their identity comes first. */
	rc = sotto__signal_message_verify_mac_h(h, raw, raw_len, mk, w->remote_identity,
						w->local_identity);
	if (rc != 0)
		goto done;
	if (m->addresses != NULL &&
	    (expected_addresses == NULL || m->addresses_len != SOTTO_ADDRESSES_BYTES ||
	     !sotto_memeq(m->addresses, expected_addresses, SOTTO_ADDRESSES_BYTES))) {
		rc = SOTTO_ERR_INVALID_MESSAGE;
		goto done;
	}
	rc = sotto_aes_cbc_decrypt(out, outcap, outlen, ck, 32, iv, m->ciphertext,
				   m->ciphertext_len);
	if (rc != 0) {
		*outlen = 0;
		if (rc != SOTTO_ERR_BUFFER_TOO_SMALL)
			rc = SOTTO_ERR_INVALID_MESSAGE;
		goto done;
	}
	sotto_session_state_clear_pending_prekey(w);
done:
	sotto_hmac_sha256_free(h);
	sotto_memzero(seed, sizeof(seed));
	sotto_memzero(ck, sizeof(ck));
	sotto_memzero(mk, sizeof(mk));
	sotto_memzero(iv, sizeof(iv));
	return rc;
}

int sotto__ratchet_decrypt_inplace(sotto_session_state *w, const sotto_signal_message *m,
				   const uint8_t *raw, size_t raw_len, const uint8_t *pq_key,
				   const uint8_t *expected_addresses, unsigned flags,
				   sotto_rng_fn rng, void *rng_ctx, uint8_t *out, size_t outcap,
				   size_t *outlen)
{
	return decrypt_core(w, m, raw, raw_len, pq_key, expected_addresses, flags, rng, rng_ctx,
			    out, outcap, outlen);
}

int sotto_ratchet_decrypt(sotto_session_state *st, const sotto_signal_message *m,
			  const uint8_t *raw, size_t raw_len, const uint8_t *pq_key,
			  const uint8_t *expected_addresses, unsigned flags, sotto_rng_fn rng,
			  void *rng_ctx, uint8_t *out, size_t outcap, size_t *outlen)
{
	sotto_session_state *w;
	int rc;

	if (st_check_args(st, m, raw, outlen, rng, out, outcap) != 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*outlen = 0;
	/* Work on a copy; commit only after the message authenticated and
	 * decrypted. */
	w = sotto_session_state_copy(st);
	if (w == NULL)
		return SOTTO_ERR_NOMEM;
	rc = decrypt_core(w, m, raw, raw_len, pq_key, expected_addresses, flags, rng, rng_ctx, out,
			  outcap, outlen);
	if (rc == 0) {
		state_commit(st, w);
		w = NULL;
	}
	sotto_session_state_free(w);
	return rc;
}
