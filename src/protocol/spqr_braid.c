/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* SPQR V1: the chunked ML-KEM Braid state machine (facts §5.4) and the
 * send/recv calls of libsignal's triple ratchet (facts §5.1), written from
 * the ML-KEM Braid specification and the facts document.
 *
 * Every epoch has an EK-sender, who samples an ML-KEM-768 key pair and
 * streams hdr || mac_hdr and then ek, and a CT-sender, who encapsulates
 * against hdr as soon as it has it (ct1), then against ek (ct2 || mac_ct).
 * Each stream travels in 32-byte chunks of a systematic erasure code, one
 * chunk per message, so any large enough subset of messages rebuilds it.
 * The epoch secret S_e feeds the symmetric chain (spqr_chain.c), which gives
 * one key per message.
 *
 * Both send and recv run on a copy of the state and swap it in only when
 * everything succeeded, so an error never changes the caller's state. */
#include <stdlib.h>
#include <string.h>

#include "crypto/gf16.h"
#include "protocol/spqr_braid.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/kem.h"
#include "sotto/util.h"

#define HDR_BYTES SOTTO_MLKEM768_INCR_HDR_BYTES	       /* 64 */
#define EKV_BYTES SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES  /* 1152 */
#define CT1_BYTES SOTTO_MLKEM768_INCR_CT1_BYTES	       /* 960 */
#define CT2_BYTES SOTTO_MLKEM768_INCR_CT2_BYTES	       /* 128 */
#define DK_BYTES SOTTO_MLKEM768_DK_BYTES	       /* 2400 */
#define ES_BYTES SOTTO_MLKEM768_INCR_STATE_BYTES
#define MAC_BYTES SOTTO_SPQR_MAC_BYTES
#define HDR_STREAM (HDR_BYTES + MAC_BYTES) /* 96: Hdr */
#define CT2_STREAM (CT2_BYTES + MAC_BYTES) /* 160: Ct2 */

#define FORMAT_MAGIC 0x53
/* Version 2 adds the outgoing stream's encoder (the polynomial coefficients)
 * once parity chunks are being sent; version 1 blobs are still read. */
#define FORMAT_VERSION 0x02
#define FORMAT_VERSION_1 0x01
#define MAX_AUTH_KEY 64

static const char LABEL_SCKA[] = "Signal_PQCKA_V1_MLKEM768:SCKA Key";

struct sotto_spqr_state {
	/* Version negotiation (libsignal keeps it until the first recv). */
	uint8_t negotiating;
	uint8_t keylen;
	uint8_t auth_key[MAX_AUTH_KEY];
	uint8_t dir;
	sotto_spqr_chain *chain;

	uint8_t name; /* enum sotto_spqr_braid_state */
	uint64_t epoch;
	sotto_spqr_auth auth;
	uint8_t dk[DK_BYTES];	/* EK-sender: our decapsulation key */
	uint8_t ek[EKV_BYTES];	/* EK-sender: our ek vector (KeysSampled); CT-sender: theirs */
	uint8_t hdr[HDR_BYTES]; /* CT-sender: the received header */
	uint8_t ct1[CT1_BYTES]; /* EK-sender: received; CT-sender: ours */
	sotto_mlkem768_incr_state es;
	/* The stream we are sending and the index of its next chunk. */
	uint8_t out[EKV_BYTES];
	uint16_t out_next;
	/* Parity chunks need the polynomials' coefficients; they are computed
	 * on first use (systematic chunks are the bytes themselves). */
	uint8_t enc_ready;
	sotto_gf16_encoder enc;
	/* The stream we are receiving. */
	sotto_gf16_decoder dec;
};

/* What each state holds besides epoch and authenticator. */
#define F_DK 0x01
#define F_EK 0x02
#define F_HDR 0x04
#define F_CT1 0x08
#define F_ES 0x10
#define F_OUT_IS_CT1 0x20 /* the outgoing stream is ct1 (not stored twice) */

static const struct layout {
	uint8_t fields;
	uint16_t out_len; /* 0: no outgoing stream */
	uint16_t dec_len; /* 0: no incoming stream */
} LAYOUT[12] = {
	[SOTTO_SPQR_KEYS_UNSAMPLED] = {0, 0, 0},
	[SOTTO_SPQR_KEYS_SAMPLED] = {F_DK | F_EK, HDR_STREAM, 0},
	[SOTTO_SPQR_HEADER_SENT] = {F_DK, EKV_BYTES, CT1_BYTES},
	[SOTTO_SPQR_CT1_RECEIVED] = {F_DK | F_CT1, EKV_BYTES, 0},
	[SOTTO_SPQR_EK_SENT_CT1_RECEIVED] = {F_DK | F_CT1, 0, CT2_STREAM},
	[SOTTO_SPQR_NO_HEADER_RECEIVED] = {0, 0, HDR_STREAM},
	[SOTTO_SPQR_HEADER_RECEIVED] = {F_HDR, 0, 0},
	[SOTTO_SPQR_CT1_SAMPLED] = {F_HDR | F_ES | F_CT1 | F_OUT_IS_CT1, CT1_BYTES, EKV_BYTES},
	[SOTTO_SPQR_EK_RECEIVED_CT1_SAMPLED] = {F_EK | F_ES | F_CT1 | F_OUT_IS_CT1, CT1_BYTES, 0},
	[SOTTO_SPQR_CT1_ACKNOWLEDGED] = {F_HDR | F_ES | F_CT1, 0, EKV_BYTES},
	[SOTTO_SPQR_CT2_SAMPLED] = {0, CT2_STREAM, 0},
};

static int is_ek_sender(uint8_t name)
{
	return name >= SOTTO_SPQR_KEYS_UNSAMPLED && name <= SOTTO_SPQR_EK_SENT_CT1_RECEIVED;
}

static int valid_name(unsigned name)
{
	return name >= SOTTO_SPQR_KEYS_UNSAMPLED && name <= SOTTO_SPQR_CT2_SAMPLED;
}

/* Wipes everything the current state does not use, so no secret of an
 * earlier state (dk, encapsulation state) outlives its use, and equal states
 * have equal memory. */
static void scrub(sotto_spqr_state *st)
{
	const struct layout *l = &LAYOUT[st->name];

	if (!(l->fields & F_DK))
		sotto_memzero(st->dk, sizeof st->dk);
	if (!(l->fields & F_EK))
		sotto_memzero(st->ek, sizeof st->ek);
	if (!(l->fields & F_HDR))
		sotto_memzero(st->hdr, sizeof st->hdr);
	if (!(l->fields & F_CT1))
		sotto_memzero(st->ct1, sizeof st->ct1);
	if (!(l->fields & F_ES))
		sotto_memzero(&st->es, sizeof st->es);
	if (l->out_len == 0) {
		sotto_memzero(st->out, sizeof st->out);
		sotto_memzero(&st->enc, sizeof st->enc);
		st->enc_ready = 0;
		st->out_next = 0;
	} else if (l->out_len < sizeof st->out) {
		sotto_memzero(st->out + l->out_len, sizeof st->out - l->out_len);
	}
	if (l->dec_len == 0)
		sotto_memzero(&st->dec, sizeof st->dec);
}

static sotto_spqr_state *state_alloc(void)
{
	return calloc(1, sizeof(sotto_spqr_state));
}

void sotto__spqr_state_free(sotto_spqr_state *st)
{
	if (st == NULL)
		return;
	sotto__spqr_chain_free(st->chain);
	sotto_memzero(st, sizeof *st);
	free(st);
}

int sotto__spqr_state_clone(sotto_spqr_state **out, const sotto_spqr_state *st)
{
	sotto_spqr_state *c;
	int rc;

	*out = NULL;
	if (st == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* Every byte is overwritten by the copy below: no need to zero first. */
	if ((c = malloc(sizeof *c)) == NULL)
		return SOTTO_ERR_NOMEM;
	memcpy(c, st, sizeof *c);
	c->chain = NULL;
	rc = sotto__spqr_chain_clone(&c->chain, st->chain);
	if (rc != 0) {
		sotto__spqr_state_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* Swaps the contents, so the caller's pointer gets the new state and the old
 * one is freed with the copy. */
static void commit(sotto_spqr_state *st, sotto_spqr_state *work)
{
	sotto_spqr_state tmp;

	memcpy(&tmp, st, sizeof tmp);
	memcpy(st, work, sizeof tmp);
	memcpy(work, &tmp, sizeof tmp);
	sotto_memzero(&tmp, sizeof tmp);
	sotto__spqr_state_free(work);
}

int sotto__spqr_initial_state(sotto_spqr_state **out, const uint8_t *auth_key, size_t keylen,
			      enum sotto_spqr_direction dir, uint32_t max_jump,
			      uint32_t max_ooo_keys)
{
	sotto_spqr_state *st;
	int rc;

	if (out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (auth_key == NULL || keylen == 0 || keylen > MAX_AUTH_KEY ||
	    (dir != SOTTO_SPQR_A2B && dir != SOTTO_SPQR_B2A))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if ((st = state_alloc()) == NULL)
		return SOTTO_ERR_NOMEM;
	st->negotiating = 1;
	st->keylen = (uint8_t)keylen;
	memcpy(st->auth_key, auth_key, keylen);
	st->dir = (uint8_t)dir;
	st->epoch = 1;
	rc = sotto__spqr_chain_new(&st->chain, auth_key, keylen, dir, max_jump, max_ooo_keys);
	if (rc == 0)
		rc = sotto__spqr_auth_init(&st->auth, auth_key, keylen);
	if (rc == 0 && dir == SOTTO_SPQR_A2B) {
		st->name = SOTTO_SPQR_KEYS_UNSAMPLED;
	} else if (rc == 0) {
		st->name = SOTTO_SPQR_NO_HEADER_RECEIVED;
		rc = sotto__gf16_decoder_init(&st->dec, HDR_STREAM);
	}
	if (rc != 0) {
		sotto__spqr_state_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

/* ---- braid helpers ------------------------------------------------------ */

/* S_e = HKDF(0^32, ss, "Signal_PQCKA_V1_MLKEM768:SCKA Key" || BE64(e), 32) */
static int scka_key(uint8_t out[32], const uint8_t ss[32], uint64_t epoch)
{
	uint8_t info[sizeof LABEL_SCKA - 1 + 8];

	memcpy(info, LABEL_SCKA, sizeof LABEL_SCKA - 1);
	for (int i = 0; i < 8; i++)
		info[sizeof LABEL_SCKA - 1 + i] = (uint8_t)(epoch >> (56 - 8 * i));
	return sotto_hkdf_sha256(out, 32, NULL, 0, ss, 32, info, sizeof info);
}

/* Starts sending a stream from chunk 0. */
static int start_stream(sotto_spqr_state *st, const uint8_t *bytes, size_t len)
{
	if (len > sizeof st->out)
		return SOTTO_ERR_INTERNAL;
	if (bytes != st->out)
		memcpy(st->out, bytes, len);
	st->out_next = 0;
	st->enc_ready = 0;
	return 0;
}

/* Parity chunk `index` from the encoder's coefficients: the same values as
 * sotto__gf16_encoder_chunk, computed faster. Every Horner step multiplies by
 * the same x = index, so multiplication by x is tabulated once per chunk: t[k][v]
 * is x * (v << 4k) in GF(2^16), and a product is four lookups. The tables and
 * the data are public (chunk index, public stream bytes). */
static void parity_chunk(const sotto_gf16_encoder *enc, uint16_t index,
			 uint8_t out[SOTTO_GF16_CHUNK_BYTES])
{
	uint16_t base[16], t[4][16];

	/* base[j] = x * 2^j (the polynomial basis element times x). */
	base[0] = index;
	for (unsigned j = 1; j < 16; j++) {
		uint32_t v = (uint32_t)base[j - 1] << 1;
		if (v & 0x10000u)
			v ^= SOTTO_GF16_POLY;
		base[j] = (uint16_t)v;
	}
	for (unsigned k = 0; k < 4; k++) {
		t[k][0] = 0;
		for (unsigned v = 1; v < 16; v++) {
			unsigned low = (unsigned)__builtin_ctz(v);
			t[k][v] = (uint16_t)(t[k][v & (v - 1)] ^ base[4 * k + low]);
		}
	}
	for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++) {
		const uint16_t *c = enc->coef[p];
		uint16_t r = 0;

		for (unsigned n = enc->npts[p]; n > 0; n--)
			r = (uint16_t)(t[0][r & 15] ^ t[1][(r >> 4) & 15] ^ t[2][(r >> 8) & 15] ^
				       t[3][r >> 12] ^ c[n - 1]);
		out[2 * p] = (uint8_t)(r >> 8);
		out[2 * p + 1] = (uint8_t)r;
	}
}

/* The next chunk of the outgoing stream (length len); the index wraps at
 * 2^16 like SPQR's. Chunks below len / 32 are the stream's own bytes. */
static int next_chunk(sotto_spqr_state *st, size_t len, sotto_spqr_msg *m)
{
	int rc;

	m->chunk_index = st->out_next;
	if ((size_t)st->out_next < len / SOTTO_GF16_CHUNK_BYTES) {
		memcpy(m->chunk, st->out + (size_t)st->out_next * SOTTO_GF16_CHUNK_BYTES,
		       SOTTO_GF16_CHUNK_BYTES);
	} else {
		if (!st->enc_ready) {
			rc = sotto__gf16_encoder_init(&st->enc, st->out, len);
			if (rc != 0)
				return rc;
			st->enc_ready = 1;
		}
		parity_chunk(&st->enc, st->out_next, m->chunk);
	}
	st->out_next = (uint16_t)(st->out_next + 1);
	return 0;
}

/* ct2 = encaps2(ek, es); out stream = ct2 || mac_ct(e, ct1 || ct2). The
 * encapsulation state is no longer needed afterwards. */
static int send_ct2(sotto_spqr_state *st)
{
	uint8_t buf[CT2_STREAM];
	int rc;

	rc = sotto_mlkem768_incr_encaps2(buf, &st->es, st->ek);
	if (rc == 0)
		rc = sotto__spqr_auth_mac_ct(&st->auth, st->epoch, st->ct1, CT1_BYTES, buf,
					     CT2_BYTES, buf + CT2_BYTES);
	if (rc == 0)
		rc = start_stream(st, buf, sizeof buf);
	if (rc == 0)
		st->name = SOTTO_SPQR_CT2_SAMPLED;
	sotto_memzero(buf, sizeof buf);
	return rc;
}

/* The complete ek decoder of a CT-sender: check ek against hdr (a mismatch
 * or a coefficient >= q is the peer's fault: an invalid message). */
static int take_ek(sotto_spqr_state *st)
{
	int rc = sotto__gf16_decoder_finish(&st->dec, st->ek, EKV_BYTES);

	if (rc != 0)
		return rc;
	rc = sotto_mlkem768_incr_check_ek_vector(st->hdr, st->ek);
	return rc == SOTTO_ERR_INVALID_KEY ? SOTTO_ERR_INVALID_MESSAGE : rc;
}

/* One step of the braid for sending: fills the payload of m (its epoch is
 * the state's) and may output the epoch secret (*has_secret). */
static int braid_send(sotto_spqr_state *st, sotto_rng_fn rng, void *rng_ctx, sotto_spqr_msg *m,
		      uint8_t secret[32], int *has_secret)
{
	uint8_t seed[64], ek_std[SOTTO_MLKEM768_EK_BYTES], buf[HDR_STREAM], ss[32];
	int rc = 0;

	*has_secret = 0;
	memset(m, 0, sizeof *m);
	m->epoch = st->epoch;
	switch (st->name) {
	case SOTTO_SPQR_KEYS_UNSAMPLED:
		/* KeyGen(d, z) from 64 random bytes; hdr = rho || H(ek). */
		rc = rng(rng_ctx, seed, sizeof seed);
		if (rc == 0)
			rc = sotto_mlkem768_keypair_derand(ek_std, st->dk, seed, seed + 32);
		if (rc == 0)
			rc = sotto_mlkem768_incr_split_ek(buf, st->ek, ek_std);
		if (rc == 0)
			rc = sotto__spqr_auth_mac_hdr(&st->auth, st->epoch, buf, HDR_BYTES,
						      buf + HDR_BYTES);
		if (rc == 0)
			rc = start_stream(st, buf, HDR_STREAM);
		if (rc == 0) {
			st->name = SOTTO_SPQR_KEYS_SAMPLED;
			m->type = SOTTO_SPQR_MSG_HDR;
			rc = next_chunk(st, HDR_STREAM, m);
		}
		break;
	case SOTTO_SPQR_KEYS_SAMPLED:
		m->type = SOTTO_SPQR_MSG_HDR;
		rc = next_chunk(st, HDR_STREAM, m);
		break;
	case SOTTO_SPQR_HEADER_SENT:
		m->type = SOTTO_SPQR_MSG_EK;
		rc = next_chunk(st, EKV_BYTES, m);
		break;
	case SOTTO_SPQR_CT1_RECEIVED:
		m->type = SOTTO_SPQR_MSG_EK_CT1_ACK;
		rc = next_chunk(st, EKV_BYTES, m);
		break;
	case SOTTO_SPQR_EK_SENT_CT1_RECEIVED:
		m->type = SOTTO_SPQR_MSG_CT1_ACK;
		break;
	case SOTTO_SPQR_NO_HEADER_RECEIVED:
	case SOTTO_SPQR_CT1_ACKNOWLEDGED:
		m->type = SOTTO_SPQR_MSG_NONE;
		break;
	case SOTTO_SPQR_HEADER_RECEIVED:
		/* encaps1 against hdr; the shared secret is known now, so the
		 * epoch secret is output with the first ct1 chunk. */
		rc = rng(rng_ctx, seed, 32);
		if (rc == 0)
			rc = sotto_mlkem768_incr_encaps1_derand(st->ct1, ss, &st->es, st->hdr, seed);
		if (rc == SOTTO_ERR_INVALID_KEY)
			rc = SOTTO_ERR_INTERNAL; /* hdr passed its MAC: cannot happen */
		if (rc == 0)
			rc = scka_key(secret, ss, st->epoch);
		if (rc == 0)
			rc = sotto__spqr_auth_update(&st->auth, st->epoch, secret, 32);
		if (rc == 0)
			rc = start_stream(st, st->ct1, CT1_BYTES);
		if (rc == 0)
			rc = sotto__gf16_decoder_init(&st->dec, EKV_BYTES);
		if (rc == 0) {
			*has_secret = 1;
			st->name = SOTTO_SPQR_CT1_SAMPLED;
			m->type = SOTTO_SPQR_MSG_CT1;
			rc = next_chunk(st, CT1_BYTES, m);
		}
		break;
	case SOTTO_SPQR_CT1_SAMPLED:
	case SOTTO_SPQR_EK_RECEIVED_CT1_SAMPLED:
		m->type = SOTTO_SPQR_MSG_CT1;
		rc = next_chunk(st, CT1_BYTES, m);
		break;
	case SOTTO_SPQR_CT2_SAMPLED:
		m->type = SOTTO_SPQR_MSG_CT2;
		rc = next_chunk(st, CT2_STREAM, m);
		break;
	default:
		rc = SOTTO_ERR_INTERNAL;
	}
	sotto_memzero(seed, sizeof seed);
	sotto_memzero(ek_std, sizeof ek_std);
	sotto_memzero(buf, sizeof buf);
	sotto_memzero(ss, sizeof ss);
	if (rc == 0)
		scrub(st);
	return rc;
}

/* One step of the braid for a received message m; may output the epoch
 * secret (*has_secret). */
static int braid_recv(sotto_spqr_state *st, const sotto_spqr_msg *m, uint8_t secret[32],
		      int *has_secret)
{
	uint8_t buf[CT2_STREAM > HDR_STREAM ? CT2_STREAM : HDR_STREAM];
	uint8_t ct[SOTTO_MLKEM768_CT_BYTES], ss[32];
	int rc = 0, ek_chunk, ack;

	*has_secret = 0;
	if (m->epoch > st->epoch) {
		/* Only a CT-sender whose ct2 is out moves on, when the peer shows
		 * it has started the next epoch (as the new CT-sender). */
		if (st->name != SOTTO_SPQR_CT2_SAMPLED || st->epoch == UINT64_MAX ||
		    m->epoch != st->epoch + 1)
			return SOTTO_ERR_INVALID_MESSAGE;
		st->epoch++;
		st->name = SOTTO_SPQR_KEYS_UNSAMPLED;
		scrub(st);
		return 0;
	}
	if (m->epoch < st->epoch)
		return 0; /* a late message of an earlier epoch: nothing to do */

	ek_chunk = m->type == SOTTO_SPQR_MSG_EK || m->type == SOTTO_SPQR_MSG_EK_CT1_ACK;
	ack = m->type == SOTTO_SPQR_MSG_EK_CT1_ACK || m->type == SOTTO_SPQR_MSG_CT1_ACK;
	switch (st->name) {
	case SOTTO_SPQR_KEYS_UNSAMPLED:
	case SOTTO_SPQR_HEADER_RECEIVED:
	case SOTTO_SPQR_CT2_SAMPLED:
		break;
	case SOTTO_SPQR_KEYS_SAMPLED:
		/* The first ct1 chunk shows the peer has the header: send ek. */
		if (m->type != SOTTO_SPQR_MSG_CT1)
			break;
		rc = sotto__gf16_decoder_init(&st->dec, CT1_BYTES);
		if (rc == 0) {
			sotto__gf16_decoder_add(&st->dec, m->chunk_index, m->chunk);
			rc = start_stream(st, st->ek, EKV_BYTES);
		}
		if (rc == 0)
			st->name = SOTTO_SPQR_HEADER_SENT;
		break;
	case SOTTO_SPQR_HEADER_SENT:
		if (m->type != SOTTO_SPQR_MSG_CT1)
			break;
		sotto__gf16_decoder_add(&st->dec, m->chunk_index, m->chunk);
		if (!sotto__gf16_decoder_complete(&st->dec))
			break;
		rc = sotto__gf16_decoder_finish(&st->dec, st->ct1, CT1_BYTES);
		if (rc == 0)
			st->name = SOTTO_SPQR_CT1_RECEIVED;
		break;
	case SOTTO_SPQR_CT1_RECEIVED:
		if (m->type != SOTTO_SPQR_MSG_CT2)
			break;
		rc = sotto__gf16_decoder_init(&st->dec, CT2_STREAM);
		if (rc == 0) {
			sotto__gf16_decoder_add(&st->dec, m->chunk_index, m->chunk);
			st->name = SOTTO_SPQR_EK_SENT_CT1_RECEIVED;
		}
		break;
	case SOTTO_SPQR_EK_SENT_CT1_RECEIVED:
		if (m->type != SOTTO_SPQR_MSG_CT2)
			break;
		sotto__gf16_decoder_add(&st->dec, m->chunk_index, m->chunk);
		if (!sotto__gf16_decoder_complete(&st->dec))
			break;
		/* Decaps, derive S_e, update the authenticator, and only then
		 * check mac_ct, which is keyed with the updated state. */
		rc = sotto__gf16_decoder_finish(&st->dec, buf, CT2_STREAM);
		if (rc == 0) {
			memcpy(ct, st->ct1, CT1_BYTES);
			memcpy(ct + CT1_BYTES, buf, CT2_BYTES);
			/* The stored dk is checked here, where it is used, rather
			 * than on every parse (a SHA3 over ek per message). */
			rc = sotto_mlkem768_check_dk(st->dk);
			if (rc == 0)
				rc = sotto_mlkem768_decaps(ss, ct, st->dk);
		}
		if (rc == 0)
			rc = scka_key(secret, ss, st->epoch);
		if (rc == 0)
			rc = sotto__spqr_auth_update(&st->auth, st->epoch, secret, 32);
		if (rc == 0)
			rc = sotto__spqr_auth_verify_ct(&st->auth, st->epoch, st->ct1, CT1_BYTES,
							buf, CT2_BYTES, buf + CT2_BYTES);
		if (rc == 0 && st->epoch == UINT64_MAX)
			rc = SOTTO_ERR_INVALID_MESSAGE;
		if (rc == 0)
			rc = sotto__gf16_decoder_init(&st->dec, HDR_STREAM);
		if (rc == 0) {
			*has_secret = 1;
			st->epoch++;
			st->name = SOTTO_SPQR_NO_HEADER_RECEIVED;
		}
		break;
	case SOTTO_SPQR_NO_HEADER_RECEIVED:
		if (m->type != SOTTO_SPQR_MSG_HDR)
			break;
		sotto__gf16_decoder_add(&st->dec, m->chunk_index, m->chunk);
		if (!sotto__gf16_decoder_complete(&st->dec))
			break;
		rc = sotto__gf16_decoder_finish(&st->dec, buf, HDR_STREAM);
		if (rc == 0)
			rc = sotto__spqr_auth_verify_hdr(&st->auth, st->epoch, buf, HDR_BYTES,
							 buf + HDR_BYTES);
		if (rc == 0) {
			memcpy(st->hdr, buf, HDR_BYTES);
			st->name = SOTTO_SPQR_HEADER_RECEIVED;
		}
		break;
	case SOTTO_SPQR_CT1_SAMPLED:
		if (!ek_chunk)
			break;
		sotto__gf16_decoder_add(&st->dec, m->chunk_index, m->chunk);
		if (sotto__gf16_decoder_complete(&st->dec)) {
			rc = take_ek(st);
			if (rc == 0 && ack)
				rc = send_ct2(st);
			else if (rc == 0)
				st->name = SOTTO_SPQR_EK_RECEIVED_CT1_SAMPLED;
		} else if (ack) {
			/* The peer has all of ct1: stop sending it. */
			st->name = SOTTO_SPQR_CT1_ACKNOWLEDGED;
		}
		break;
	case SOTTO_SPQR_EK_RECEIVED_CT1_SAMPLED:
		if (ack)
			rc = send_ct2(st);
		break;
	case SOTTO_SPQR_CT1_ACKNOWLEDGED:
		if (!ek_chunk)
			break;
		sotto__gf16_decoder_add(&st->dec, m->chunk_index, m->chunk);
		if (!sotto__gf16_decoder_complete(&st->dec))
			break;
		rc = take_ek(st);
		if (rc == 0)
			rc = send_ct2(st);
		break;
	default:
		rc = SOTTO_ERR_INTERNAL;
	}
	sotto_memzero(buf, sizeof buf);
	sotto_memzero(ct, sizeof ct);
	sotto_memzero(ss, sizeof ss);
	if (rc == 0)
		scrub(st);
	return rc;
}

/* ---- top level ---------------------------------------------------------- */

/* send on work itself: on failure work is left half-changed, so callers run
 * it on a copy (sotto__spqr_send) or on a state they throw away (the blob
 * calls, which parse a fresh one). */
static int send_core(sotto_spqr_state *work, sotto_rng_fn rng, void *rng_ctx,
		     uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], size_t *msglen,
		     uint8_t key[SOTTO_SPQR_KEY_BYTES])
{
	sotto_spqr_msg m;
	uint8_t secret[32], k[32];
	int rc, has_secret = 0;

	rc = braid_send(work, rng, rng_ctx, &m, secret, &has_secret);
	if (rc == 0 && has_secret)
		rc = sotto__spqr_chain_add_epoch(work->chain, m.epoch, secret);
	/* The message of epoch E is keyed by chain epoch E - 1. */
	if (rc == 0)
		rc = sotto__spqr_chain_msg_send_key(work->chain, m.epoch, &m.index, k, NULL);
	if (rc == 0)
		rc = sotto__spqr_msg_encode(&m, msg, SOTTO_SPQR_MSG_MAX_BYTES, msglen);
	if (rc == 0)
		memcpy(key, k, 32);
	else
		*msglen = 0;
	sotto_memzero(secret, sizeof secret);
	sotto_memzero(k, sizeof k);
	sotto_memzero(&m, sizeof m);
	return rc;
}

int sotto__spqr_send(sotto_spqr_state *st, sotto_rng_fn rng, void *rng_ctx,
		     uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], size_t *msglen,
		     uint8_t key[SOTTO_SPQR_KEY_BYTES])
{
	sotto_spqr_state *work = NULL;
	int rc;

	if (st == NULL || rng == NULL || msg == NULL || msglen == NULL || key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*msglen = 0;
	rc = sotto__spqr_state_clone(&work, st);
	if (rc == 0)
		rc = send_core(work, rng, rng_ctx, msg, msglen, key);
	if (rc == 0)
		commit(st, work);
	else
		sotto__spqr_state_free(work);
	return rc;
}

/* recv; in_place = 1 works on st itself (the blob call, which throws st
 * away on failure), else on a copy committed only on success. */
static int recv_core(sotto_spqr_state *st, const uint8_t *msg, size_t msglen,
		     uint8_t key[SOTTO_SPQR_KEY_BYTES], int *has_key,
		     enum sotto_spqr_chain_why *why, int in_place)
{
	sotto_spqr_state *work = NULL;
	sotto_spqr_msg m;
	uint8_t secret[32], k[32];
	int rc, has_secret = 0, hk = 0;

	if (why != NULL)
		*why = SOTTO_SPQR_CHAIN_OK;
	if (st == NULL || key == NULL || has_key == NULL || (msg == NULL && msglen != 0))
		return SOTTO_ERR_INVALID_ARGUMENT;
	*has_key = 0;
	/* Version negotiation with min_version = V1: an empty field means V0,
	 * which is below our minimum (MinimumVersion while negotiating,
	 * VersionMismatch after); a version byte above 1 is one we do not
	 * know, and SPQR ignores such a message. */
	if (msglen == 0 || msg[0] == 0x00)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (msg[0] != SOTTO_SPQR_VERSION_V1)
		return 0;
	rc = sotto__spqr_msg_decode(&m, msg, msglen, NULL);
	if (rc != 0)
		return SOTTO_ERR_INVALID_MESSAGE;
	if (in_place) {
		work = st;
		rc = 0;
	} else {
		rc = sotto__spqr_state_clone(&work, st);
	}
	if (rc == 0)
		rc = braid_recv(work, &m, secret, &has_secret);
	if (rc == 0 && has_secret)
		rc = sotto__spqr_chain_add_epoch(work->chain, work->epoch - 1, secret);
	if (rc == 0)
		rc = sotto__spqr_chain_msg_recv_key(work->chain, m.epoch, m.index, k, &hk, why);
	if (rc == 0) {
		work->negotiating = 0;
		sotto_memzero(work->auth_key, sizeof work->auth_key);
		work->keylen = 0;
		if (hk)
			memcpy(key, k, 32);
		*has_key = hk;
		if (!in_place)
			commit(st, work);
	} else if (!in_place) {
		sotto__spqr_state_free(work);
	}
	sotto_memzero(secret, sizeof secret);
	sotto_memzero(k, sizeof k);
	sotto_memzero(&m, sizeof m);
	return rc;
}

int sotto__spqr_recv(sotto_spqr_state *st, const uint8_t *msg, size_t msglen,
		     uint8_t key[SOTTO_SPQR_KEY_BYTES], int *has_key,
		     enum sotto_spqr_chain_why *why)
{
	return recv_core(st, msg, msglen, key, has_key, why, 0);
}

int sotto__spqr_send_inplace(sotto_spqr_state *st, sotto_rng_fn rng, void *rng_ctx,
			     uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], size_t *msglen,
			     uint8_t key[SOTTO_SPQR_KEY_BYTES])
{
	int rc;

	if (st == NULL || rng == NULL || msg == NULL || msglen == NULL || key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*msglen = 0;
	rc = send_core(st, rng, rng_ctx, msg, msglen, key);
	if (rc != 0)
		sotto_memzero(key, SOTTO_SPQR_KEY_BYTES);
	return rc;
}

int sotto__spqr_recv_inplace(sotto_spqr_state *st, const uint8_t *msg, size_t msglen,
			     uint8_t key[SOTTO_SPQR_KEY_BYTES], int *has_key)
{
	int rc = recv_core(st, msg, msglen, key, has_key, NULL, 1);

	if (rc != 0 && has_key != NULL && *has_key) {
		sotto_memzero(key, SOTTO_SPQR_KEY_BYTES);
		*has_key = 0;
	}
	return rc;
}

enum sotto_spqr_braid_state sotto__spqr_state_name(const sotto_spqr_state *st)
{
	return (enum sotto_spqr_braid_state)st->name;
}

uint64_t sotto__spqr_state_epoch(const sotto_spqr_state *st)
{
	return st->epoch;
}

const sotto_spqr_chain *sotto__spqr_state_chain(const sotto_spqr_state *st)
{
	return st->chain;
}

const sotto_spqr_auth *sotto__spqr_state_auth(const sotto_spqr_state *st)
{
	return &st->auth;
}

int sotto__spqr_state_negotiating(const sotto_spqr_state *st)
{
	return st->negotiating;
}

/* ---- storage ------------------------------------------------------------ */

static size_t decoder_size(const sotto_gf16_decoder *d)
{
	size_t n = SOTTO_GF16_NUM_POLYS;

	for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++)
		n += 4 * (size_t)d->count[p];
	return n;
}

static size_t fields_size(const sotto_spqr_state *st)
{
	const struct layout *l = &LAYOUT[st->name];
	size_t n = 1 + 8 + 64;

	n += (l->fields & F_DK) ? DK_BYTES : 0;
	n += (l->fields & F_EK) ? EKV_BYTES : 0;
	n += (l->fields & F_HDR) ? HDR_BYTES : 0;
	n += (l->fields & F_CT1) ? CT1_BYTES : 0;
	n += (l->fields & F_ES) ? ES_BYTES : 0;
	if (l->out_len) {
		n += ((l->fields & F_OUT_IS_CT1) ? 0 : l->out_len) + 2 + 1;
		if (st->enc_ready)
			n += l->out_len; /* one coefficient per 16-bit symbol */
	}
	if (l->dec_len)
		n += decoder_size(&st->dec);
	return n;
}

size_t sotto__spqr_state_serialized_size(const sotto_spqr_state *st)
{
	return 4 + (st->negotiating ? 1 + (size_t)st->keylen : 0) + 4 +
	       sotto__spqr_chain_serialized_size(st->chain) + fields_size(st);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int sotto__spqr_state_serialize(const sotto_spqr_state *st, uint8_t *out, size_t outcap,
				size_t *outlen)
{
	const struct layout *l;
	size_t need, chainlen, pos = 0;
	int rc;

	if (st == NULL || out == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*outlen = 0;
	need = sotto__spqr_state_serialized_size(st);
	if (outcap < need)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	l = &LAYOUT[st->name];
	out[pos++] = FORMAT_MAGIC;
	out[pos++] = FORMAT_VERSION;
	out[pos++] = st->negotiating ? 1 : 0;
	out[pos++] = st->dir;
	if (st->negotiating) {
		out[pos++] = st->keylen;
		memcpy(out + pos, st->auth_key, st->keylen);
		pos += st->keylen;
	}
	chainlen = sotto__spqr_chain_serialized_size(st->chain);
	put32(out + pos, (uint32_t)chainlen);
	pos += 4;
	rc = sotto__spqr_chain_serialize(st->chain, out + pos, chainlen, &chainlen);
	if (rc != 0)
		goto fail;
	pos += chainlen;
	out[pos++] = st->name;
	put32(out + pos, (uint32_t)(st->epoch >> 32));
	put32(out + pos + 4, (uint32_t)st->epoch);
	pos += 8;
	memcpy(out + pos, st->auth.root, 32);
	memcpy(out + pos + 32, st->auth.mac, 32);
	pos += 64;
#define PUT(flag, field)                                                                     \
	if (l->fields & (flag)) {                                                            \
		memcpy(out + pos, (field), sizeof(field));                                   \
		pos += sizeof(field);                                                        \
	}
	PUT(F_DK, st->dk);
	PUT(F_EK, st->ek);
	PUT(F_HDR, st->hdr);
	PUT(F_CT1, st->ct1);
	PUT(F_ES, st->es.bytes);
#undef PUT
	if (l->out_len) {
		if (!(l->fields & F_OUT_IS_CT1)) {
			memcpy(out + pos, st->out, l->out_len);
			pos += l->out_len;
		}
		out[pos++] = (uint8_t)(st->out_next >> 8);
		out[pos++] = (uint8_t)st->out_next;
		/* The encoder costs a full interpolation to rebuild: keep it. */
		out[pos++] = st->enc_ready ? 1 : 0;
		if (st->enc_ready) {
			for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++) {
				for (unsigned i = 0; i < st->enc.npts[p]; i++) {
					out[pos++] = (uint8_t)(st->enc.coef[p][i] >> 8);
					out[pos++] = (uint8_t)st->enc.coef[p][i];
				}
			}
		}
	}
	if (l->dec_len) {
		for (unsigned p = 0; p < SOTTO_GF16_NUM_POLYS; p++) {
			out[pos++] = st->dec.count[p];
			for (unsigned i = 0; i < st->dec.count[p]; i++) {
				out[pos++] = (uint8_t)(st->dec.x[p][i] >> 8);
				out[pos++] = (uint8_t)st->dec.x[p][i];
				out[pos++] = (uint8_t)(st->dec.y[p][i] >> 8);
				out[pos++] = (uint8_t)st->dec.y[p][i];
			}
		}
	}
	if (pos != need) {
		rc = SOTTO_ERR_INTERNAL;
		goto fail;
	}
	*outlen = pos;
	return 0;
fail:
	sotto_memzero(out, need);
	return rc;
}

/* A bounds-checked reader. */
struct reader {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct reader *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->left < n)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

static int take_into(struct reader *r, void *dst, size_t n)
{
	const uint8_t *p = take(r, n);

	if (p == NULL)
		return -1;
	memcpy(dst, p, n);
	return 0;
}

static int read_decoder(struct reader *r, sotto_gf16_decoder *d, size_t len)
{
	const uint8_t *p;

	if (sotto__gf16_decoder_init(d, len) != 0)
		return -1;
	for (unsigned q = 0; q < SOTTO_GF16_NUM_POLYS; q++) {
		if ((p = take(r, 1)) == NULL)
			return -1;
		/* The decoder never holds more than 2 * need points (need
		 * systematic ones plus need parity ones while lacking). */
		if (p[0] > 2 * d->need[q])
			return -1;
		d->count[q] = p[0];
		for (unsigned i = 0; i < d->count[q]; i++) {
			if ((p = take(r, 4)) == NULL)
				return -1;
			d->x[q][i] = (uint16_t)(p[0] << 8 | p[1]);
			d->y[q][i] = (uint16_t)(p[2] << 8 | p[3]);
			if (i > 0 && d->x[q][i] <= d->x[q][i - 1])
				return -1;
		}
	}
	/* A complete stream is consumed at once; a stored one is never complete. */
	return sotto__gf16_decoder_complete(d) ? -1 : 0;
}

/* The stored encoder of the outgoing stream: a presence byte, then the
 * coefficients of the 16 polynomials (each has as many as its points). */
static int read_encoder(struct reader *r, sotto_spqr_state *st, size_t len)
{
	const uint8_t *p;
	uint32_t syms = (uint32_t)len / 2;

	if ((p = take(r, 1)) == NULL || p[0] > 1)
		return -1;
	if (p[0] == 0)
		return 0;
	memset(&st->enc, 0, sizeof st->enc);
	st->enc.len = (uint32_t)len;
	for (unsigned q = 0; q < SOTTO_GF16_NUM_POLYS; q++) {
		/* Symbol k belongs to polynomial k % 16 (crypto/gf16.h). */
		unsigned k = syms / SOTTO_GF16_NUM_POLYS + (q < syms % SOTTO_GF16_NUM_POLYS ? 1 : 0);

		st->enc.npts[q] = (uint8_t)k;
		if ((p = take(r, 2 * (size_t)k)) == NULL)
			return -1;
		for (unsigned i = 0; i < k; i++)
			st->enc.coef[q][i] = (uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
	}
	st->enc_ready = 1;
	return 0;
}

int sotto__spqr_state_deserialize(sotto_spqr_state **out, const uint8_t *in, size_t inlen)
{
	struct reader r = {in, inlen};
	const struct layout *l;
	const uint8_t *p;
	sotto_spqr_state *st;
	size_t chainlen;
	uint64_t chain_epoch, want_chain_epoch;
	int ek_role;
	uint8_t version;

	if (out == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (in == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if ((st = state_alloc()) == NULL)
		return SOTTO_ERR_NOMEM;
	if ((p = take(&r, 4)) == NULL || p[0] != FORMAT_MAGIC ||
	    (p[1] != FORMAT_VERSION && p[1] != FORMAT_VERSION_1) || p[2] > 1 || p[3] > 1)
		goto bad;
	version = p[1];
	st->negotiating = p[2];
	st->dir = p[3];
	if (st->negotiating) {
		if ((p = take(&r, 1)) == NULL || p[0] == 0 || p[0] > MAX_AUTH_KEY)
			goto bad;
		st->keylen = p[0];
		if (take_into(&r, st->auth_key, st->keylen) != 0)
			goto bad;
	}
	if ((p = take(&r, 4)) == NULL)
		goto bad;
	chainlen = get32(p);
	/* The chain's own byte 1 is its direction (spqr.h storage format). */
	if ((p = take(&r, chainlen)) == NULL || chainlen < 2 || p[1] != st->dir)
		goto bad;
	if (sotto__spqr_chain_deserialize(&st->chain, p, chainlen) != 0)
		goto bad;
	if ((p = take(&r, 9)) == NULL || !valid_name(p[0]))
		goto bad;
	st->name = p[0];
	st->epoch = (uint64_t)get32(p + 1) << 32 | get32(p + 5);
	if (st->epoch == 0)
		goto bad;
	/* A2B is the EK-sender in odd epochs, B2A in even ones. */
	ek_role = (st->epoch & 1) == (st->dir == SOTTO_SPQR_A2B ? 1u : 0u);
	if (ek_role != is_ek_sender(st->name))
		goto bad;
	/* The chain is one epoch behind until the epoch secret is out: the
	 * CT-sender adds it with its first ct1 chunk. */
	want_chain_epoch = st->epoch - 1;
	if (st->name >= SOTTO_SPQR_CT1_SAMPLED)
		want_chain_epoch = st->epoch;
	chain_epoch = sotto__spqr_chain_current_epoch(st->chain);
	if (chain_epoch != want_chain_epoch)
		goto bad;
	if (take_into(&r, st->auth.root, 32) != 0 || take_into(&r, st->auth.mac, 32) != 0)
		goto bad;
	l = &LAYOUT[st->name];
	if (((l->fields & F_DK) && take_into(&r, st->dk, DK_BYTES) != 0) ||
	    ((l->fields & F_EK) && take_into(&r, st->ek, EKV_BYTES) != 0) ||
	    ((l->fields & F_HDR) && take_into(&r, st->hdr, HDR_BYTES) != 0) ||
	    ((l->fields & F_CT1) && take_into(&r, st->ct1, CT1_BYTES) != 0) ||
	    ((l->fields & F_ES) && take_into(&r, st->es.bytes, ES_BYTES) != 0))
		goto bad;
	if (l->out_len) {
		if (l->fields & F_OUT_IS_CT1)
			memcpy(st->out, st->ct1, CT1_BYTES);
		else if (take_into(&r, st->out, l->out_len) != 0)
			goto bad;
		if ((p = take(&r, 2)) == NULL)
			goto bad;
		st->out_next = (uint16_t)(p[0] << 8 | p[1]);
		if (version != FORMAT_VERSION_1 && read_encoder(&r, st, l->out_len) != 0)
			goto bad;
	}
	if (l->dec_len && read_decoder(&r, &st->dec, l->dec_len) != 0)
		goto bad;
	if (r.left != 0)
		goto bad;
	*out = st;
	return 0;
bad:
	sotto__spqr_state_free(st);
	return SOTTO_ERR_INVALID_ARGUMENT;
}

/* ---- blobs -------------------------------------------------------------- */

static int to_blob(const sotto_spqr_state *st, uint8_t **out, size_t *outlen)
{
	size_t n = sotto__spqr_state_serialized_size(st);
	uint8_t *b = malloc(n);
	int rc;

	*out = NULL;
	*outlen = 0;
	if (b == NULL)
		return SOTTO_ERR_NOMEM;
	rc = sotto__spqr_state_serialize(st, b, n, outlen);
	if (rc != 0) {
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

int sotto__spqr_initial_blob(uint8_t **out, size_t *outlen, const uint8_t *auth_key,
			     size_t keylen, enum sotto_spqr_direction dir, uint32_t max_jump,
			     uint32_t max_ooo_keys)
{
	sotto_spqr_state *st = NULL;
	int rc;

	if (out == NULL || outlen == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	*outlen = 0;
	rc = sotto__spqr_initial_state(&st, auth_key, keylen, dir, max_jump, max_ooo_keys);
	if (rc == 0)
		rc = to_blob(st, out, outlen);
	sotto__spqr_state_free(st);
	return rc;
}

int sotto__spqr_send_blob(const uint8_t *state, size_t state_len, sotto_rng_fn rng,
			  void *rng_ctx, uint8_t **new_state, size_t *new_len,
			  uint8_t msg[SOTTO_SPQR_MSG_MAX_BYTES], size_t *msglen,
			  uint8_t key[SOTTO_SPQR_KEY_BYTES])
{
	sotto_spqr_state *st = NULL;
	int rc;

	if (new_state == NULL || new_len == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*new_state = NULL;
	*new_len = 0;
	if (rng == NULL || msg == NULL || msglen == NULL || key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*msglen = 0;
	/* st is ours and dropped on failure: no copy needed. */
	rc = sotto__spqr_state_deserialize(&st, state, state_len);
	if (rc == 0)
		rc = send_core(st, rng, rng_ctx, msg, msglen, key);
	if (rc == 0)
		rc = to_blob(st, new_state, new_len);
	if (rc != 0 && key != NULL)
		sotto_memzero(key, SOTTO_SPQR_KEY_BYTES);
	sotto__spqr_state_free(st);
	return rc;
}

int sotto__spqr_recv_blob(const uint8_t *state, size_t state_len, const uint8_t *msg,
			  size_t msglen, uint8_t **new_state, size_t *new_len,
			  uint8_t key[SOTTO_SPQR_KEY_BYTES], int *has_key)
{
	sotto_spqr_state *st = NULL;
	int rc;

	if (new_state == NULL || new_len == NULL || has_key == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*new_state = NULL;
	*new_len = 0;
	*has_key = 0;
	rc = sotto__spqr_state_deserialize(&st, state, state_len);
	if (rc == 0)
		rc = recv_core(st, msg, msglen, key, has_key, NULL, 1);
	if (rc == 0)
		rc = to_blob(st, new_state, new_len);
	if (rc != 0 && has_key != NULL && *has_key) {
		sotto_memzero(key, SOTTO_SPQR_KEY_BYTES);
		*has_key = 0;
	}
	sotto__spqr_state_free(st);
	return rc;
}
