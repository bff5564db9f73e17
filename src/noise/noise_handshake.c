/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Noise SymmetricState and HandshakeState (spec revision 34, §5.2, §5.3),
 * driven by the pattern tables of §7.4, §7.5 and §18 and the psk modifiers
 * of §9. */
#include <stdlib.h>
#include <string.h>

#include "noise_internal.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/util.h"

#define DHLEN 32
#define TAG SOTTO_NOISE_TAG_BYTES
#define MAX_MSGS 8
#define MAX_TOKENS 16
#define MAX_NAME 128

enum token { T_E = 1, T_S, T_EE, T_ES, T_SE, T_SS, T_PSK };

/* Message patterns: messages separated by '|', tokens by ','. Message 0 goes
 * initiator -> responder and directions alternate from there. The only
 * pre-message keys these patterns use are static keys ("s"). */
struct pattern {
	const char *name;
	int pre_i_s; /* initiator's static key is known to the responder */
	int pre_r_s; /* responder's static key is known to the initiator */
	const char *msgs;
};

static const struct pattern patterns[] = {
	/* §7.4 one-way */
	{ "N", 0, 1, "e,es" },
	{ "K", 1, 1, "e,es,ss" },
	{ "X", 0, 1, "e,es,s,ss" },
	/* §7.5 interactive, fundamental */
	{ "NN", 0, 0, "e|e,ee" },
	{ "NK", 0, 1, "e,es|e,ee" },
	{ "NX", 0, 0, "e|e,ee,s,es" },
	{ "KN", 1, 0, "e|e,ee,se" },
	{ "KK", 1, 1, "e,es,ss|e,ee,se" },
	{ "KX", 1, 0, "e|e,ee,se,s,es" },
	{ "XN", 0, 0, "e|e,ee|s,se" },
	{ "XK", 0, 1, "e,es|e,ee|s,se" },
	{ "XX", 0, 0, "e|e,ee,s,es|s,se" },
	{ "IN", 0, 0, "e,s|e,ee,se" },
	{ "IK", 0, 1, "e,es,s,ss|e,ee,se" },
	{ "IX", 0, 0, "e,s|e,ee,se,s,es" },
	/* §18.2 deferred */
	{ "NK1", 0, 1, "e|e,ee,es" },
	{ "NX1", 0, 0, "e|e,ee,s|es" },
	{ "X1N", 0, 0, "e|e,ee|s|se" },
	{ "X1K", 0, 1, "e,es|e,ee|s|se" },
	{ "XK1", 0, 1, "e|e,ee,es|s,se" },
	{ "X1K1", 0, 1, "e|e,ee,es|s|se" },
	{ "X1X", 0, 0, "e|e,ee,s,es|s|se" },
	{ "XX1", 0, 0, "e|e,ee,s|es,s,se" },
	{ "X1X1", 0, 0, "e|e,ee,s|es,s|se" },
	{ "K1N", 1, 0, "e|e,ee|se" },
	{ "K1K", 1, 1, "e,es|e,ee|se" },
	{ "KK1", 1, 1, "e|e,ee,se,es" },
	{ "K1K1", 1, 1, "e|e,ee,es|se" },
	{ "K1X", 1, 0, "e|e,ee,s,es|se" },
	{ "KX1", 1, 0, "e|e,ee,se,s|es" },
	{ "K1X1", 1, 0, "e|e,ee,s|se,es" },
	{ "I1N", 0, 0, "e,s|e,ee|se" },
	{ "I1K", 0, 1, "e,es,s|e,ee|se" },
	{ "IK1", 0, 1, "e,s|e,ee,se,es" },
	{ "I1K1", 0, 1, "e,s|e,ee,es|se" },
	{ "I1X", 0, 0, "e,s|e,ee,s,es|se" },
	{ "IX1", 0, 0, "e,s|e,ee,se,s|es" },
	{ "I1X1", 0, 0, "e,s|e,ee,s|se,es" },
};

struct sotto_noise_handshake {
	int initiator;
	int cipher, hash;
	size_t hashlen;
	int one_way;
	/* SymmetricState */
	uint8_t ck[64], h[64];
	struct sotto__noise_cs cs;
	/* Keys */
	uint8_t s_priv[DHLEN], s_pub[DHLEN];
	uint8_t e_priv[DHLEN], e_pub[DHLEN];
	uint8_t rs[DHLEN], re[DHLEN];
	uint8_t fixed_e[DHLEN];
	int has_s, has_e, has_rs, has_re, has_fixed_e;
	uint8_t psks[SOTTO_NOISE_MAX_PSKS][SOTTO_NOISE_PSK_BYTES];
	size_t npsks, psk_next;
	int psk_mode;
	/* Pattern, with psk tokens inserted */
	uint8_t tokens[MAX_MSGS][MAX_TOKENS];
	size_t ntokens[MAX_MSGS];
	size_t nmsgs;
	size_t msg; /* index of the next message */
	int failed, split_done;
	sotto_rng_fn rng;
	void *rng_ctx;
};

/* Protocol name parsing (§8): Noise_<pattern><modifiers>_<dh>_<cipher>_<hash>. */
struct parsed {
	const struct pattern *pat;
	int cipher, hash;
	size_t psk_pos[SOTTO_NOISE_MAX_PSKS];
	size_t npsks;
};

static int parse_name(const char *name, struct parsed *p)
{
	char buf[MAX_NAME + 1];
	if (name == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	size_t len = strlen(name);
	if (len > MAX_NAME)
		return SOTTO_ERR_INVALID_ARGUMENT;
	memcpy(buf, name, len + 1);
	char *parts[5];
	size_t n = 0;
	char *s = buf;
	for (;;) {
		if (n == 5)
			return SOTTO_ERR_INVALID_ARGUMENT;
		parts[n++] = s;
		char *u = strchr(s, '_');
		if (u == NULL)
			break;
		*u = '\0';
		s = u + 1;
	}
	if (n != 5 || strcmp(parts[0], "Noise") != 0 || strcmp(parts[2], "25519") != 0)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (strcmp(parts[3], "ChaChaPoly") == 0)
		p->cipher = SOTTO__NOISE_CHACHAPOLY;
	else if (strcmp(parts[3], "AESGCM") == 0)
		p->cipher = SOTTO__NOISE_AESGCM;
	else
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (strcmp(parts[4], "SHA256") == 0)
		p->hash = SOTTO__NOISE_SHA256;
	else if (strcmp(parts[4], "SHA512") == 0)
		p->hash = SOTTO__NOISE_SHA512;
	else if (strcmp(parts[4], "BLAKE2b") == 0)
		p->hash = SOTTO__NOISE_BLAKE2B;
	else
		return SOTTO_ERR_INVALID_ARGUMENT;
	/* The base pattern name is upper-case letters and digits; modifiers
	 * start with a lower-case letter. */
	char *pat = parts[1];
	size_t bl = 0;
	while ((pat[bl] >= 'A' && pat[bl] <= 'Z') || (pat[bl] >= '0' && pat[bl] <= '9'))
		bl++;
	char *mods = pat + bl;
	char saved = *mods;
	*mods = '\0';
	p->pat = NULL;
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		if (strcmp(patterns[i].name, pat) == 0)
			p->pat = &patterns[i];
	}
	*mods = saved;
	if (p->pat == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	p->npsks = 0;
	if (*mods == '\0')
		return SOTTO_OK;
	/* psk modifiers only: "pskN" joined with '+' (§9.2, §10.2). */
	for (;;) {
		if (strncmp(mods, "psk", 3) != 0 || mods[3] < '0' || mods[3] > '9' ||
		    p->npsks == SOTTO_NOISE_MAX_PSKS)
			return SOTTO_ERR_INVALID_ARGUMENT;
		p->psk_pos[p->npsks++] = (size_t)(mods[3] - '0');
		mods += 4;
		if (*mods == '\0')
			break;
		if (*mods != '+')
			return SOTTO_ERR_INVALID_ARGUMENT;
		mods++;
	}
	return SOTTO_OK;
}

/* Expands the pattern's message string into tokens, inserting psk tokens:
 * psk0 at the start of the first message, pskN at the end of message N. */
static int expand(struct sotto_noise_handshake *hs, const struct parsed *p)
{
	const char *m = p->pat->msgs;
	hs->nmsgs = 1;
	memset(hs->ntokens, 0, sizeof(hs->ntokens));
	while (*m) {
		if (*m == '|') {
			hs->nmsgs++;
			m++;
			continue;
		}
		if (*m == ',') {
			m++;
			continue;
		}
		uint8_t t;
		if (m[0] == 'e' && m[1] == 'e')
			t = T_EE, m += 2;
		else if (m[0] == 'e' && m[1] == 's')
			t = T_ES, m += 2;
		else if (m[0] == 's' && m[1] == 'e')
			t = T_SE, m += 2;
		else if (m[0] == 's' && m[1] == 's')
			t = T_SS, m += 2;
		else if (m[0] == 'e')
			t = T_E, m += 1;
		else
			t = T_S, m += 1;
		hs->tokens[hs->nmsgs - 1][hs->ntokens[hs->nmsgs - 1]++] = t;
	}
	for (size_t i = 0; i < p->npsks; i++) {
		size_t pos = p->psk_pos[i];
		if (pos > hs->nmsgs)
			return SOTTO_ERR_INVALID_ARGUMENT;
		size_t mi = pos == 0 ? 0 : pos - 1;
		if (hs->ntokens[mi] >= MAX_TOKENS)
			return SOTTO_ERR_INVALID_ARGUMENT;
		if (pos == 0) {
			memmove(&hs->tokens[0][1], &hs->tokens[0][0], hs->ntokens[0]);
			hs->tokens[0][0] = T_PSK;
		} else {
			hs->tokens[mi][hs->ntokens[mi]] = T_PSK;
		}
		hs->ntokens[mi]++;
	}
	hs->psk_mode = p->npsks > 0;
	return SOTTO_OK;
}

int sotto_noise_protocol_supported(const char *protocol_name)
{
	struct parsed p;
	struct sotto_noise_handshake tmp;
	if (parse_name(protocol_name, &p) != SOTTO_OK)
		return 0;
	return expand(&tmp, &p) == SOTTO_OK;
}

static int is_initiator_turn(const struct sotto_noise_handshake *hs)
{
	/* One-way patterns have a single message; otherwise directions alternate. */
	return hs->msg % 2 == 0;
}

static void wipe(struct sotto_noise_handshake *hs)
{
	sotto_memzero(hs->ck, sizeof(hs->ck));
	sotto_memzero(&hs->cs, sizeof(hs->cs));
	sotto_memzero(hs->s_priv, sizeof(hs->s_priv));
	sotto_memzero(hs->e_priv, sizeof(hs->e_priv));
	sotto_memzero(hs->fixed_e, sizeof(hs->fixed_e));
	sotto_memzero(hs->psks, sizeof(hs->psks));
}

/* A failed message leaves the state half-updated; nothing may use it again. */
static int fail(struct sotto_noise_handshake *hs, int rc)
{
	hs->failed = 1;
	wipe(hs);
	sotto_memzero(hs->h, sizeof(hs->h));
	return rc;
}

/* SymmetricState (§5.2) */

static int mix_hash(struct sotto_noise_handshake *hs, const uint8_t *data, size_t len)
{
	sotto_iov parts[2] = { { hs->h, hs->hashlen }, { data, len } };
	return sotto__noise_hash(hs->hash, hs->h, parts, 2);
}

static int mix_key(struct sotto_noise_handshake *hs, const uint8_t *ikm, size_t len)
{
	uint8_t k[64];
	/* HKDF reads ck before it writes o1, so ck may be its own output. */
	int rc = sotto__noise_hkdf(hs->hash, hs->ck, ikm, len, hs->ck, k, NULL);
	if (rc == SOTTO_OK)
		sotto__noise_cs_init(&hs->cs, hs->cipher, k); /* truncated to 32 */
	sotto_memzero(k, sizeof(k));
	return rc;
}

static int mix_key_and_hash(struct sotto_noise_handshake *hs, const uint8_t *ikm, size_t len)
{
	uint8_t th[64], k[64];
	int rc = sotto__noise_hkdf(hs->hash, hs->ck, ikm, len, hs->ck, th, k);
	if (rc == SOTTO_OK)
		rc = mix_hash(hs, th, hs->hashlen);
	if (rc == SOTTO_OK)
		sotto__noise_cs_init(&hs->cs, hs->cipher, k);
	sotto_memzero(th, sizeof(th));
	sotto_memzero(k, sizeof(k));
	return rc;
}

static int encrypt_and_hash(struct sotto_noise_handshake *hs, const uint8_t *pt, size_t len,
			    uint8_t *out, size_t *outlen)
{
	int rc = sotto__noise_cs_encrypt(&hs->cs, hs->h, hs->hashlen, pt, len, out, outlen);
	if (rc == SOTTO_OK)
		rc = mix_hash(hs, out, *outlen);
	return rc;
}

static int decrypt_and_hash(struct sotto_noise_handshake *hs, const uint8_t *ct, size_t len,
			    uint8_t *out, size_t *outlen)
{
	/* The AD is h before the ciphertext is mixed in. */
	int rc = sotto__noise_cs_decrypt(&hs->cs, hs->h, hs->hashlen, ct, len, out, outlen);
	if (rc == SOTTO_OK)
		rc = mix_hash(hs, ct, len);
	return rc;
}

/* DH(ours, theirs) then MixKey. */
static int mix_dh(struct sotto_noise_handshake *hs, const uint8_t *priv, int have_priv,
		  const uint8_t *pub, int have_pub)
{
	if (!have_priv || !have_pub)
		return SOTTO_ERR_INVALID_ARGUMENT;
	uint8_t shared[DHLEN];
	int rc = sotto_x25519(shared, priv, pub);
	if (rc == SOTTO_OK)
		rc = mix_key(hs, shared, DHLEN);
	sotto_memzero(shared, sizeof(shared));
	return rc;
}

/* The DH tokens name the initiator's key first: "es" is the initiator's e
 * with the responder's s, computed by each side from its own private key. */
static int dh_token(struct sotto_noise_handshake *hs, int t)
{
	int i = hs->initiator;
	switch (t) {
	case T_EE:
		return mix_dh(hs, hs->e_priv, hs->has_e, hs->re, hs->has_re);
	case T_SS:
		return mix_dh(hs, hs->s_priv, hs->has_s, hs->rs, hs->has_rs);
	case T_ES:
		return i ? mix_dh(hs, hs->e_priv, hs->has_e, hs->rs, hs->has_rs)
			 : mix_dh(hs, hs->s_priv, hs->has_s, hs->re, hs->has_re);
	case T_SE:
		return i ? mix_dh(hs, hs->s_priv, hs->has_s, hs->re, hs->has_re)
			 : mix_dh(hs, hs->e_priv, hs->has_e, hs->rs, hs->has_rs);
	}
	return SOTTO_ERR_INTERNAL;
}

static int psk_token(struct sotto_noise_handshake *hs)
{
	if (hs->psk_next >= hs->npsks)
		return SOTTO_ERR_INTERNAL;
	return mix_key_and_hash(hs, hs->psks[hs->psk_next++], SOTTO_NOISE_PSK_BYTES);
}

/* Bytes of the current message before the payload, and whether the payload
 * will be encrypted; computed without touching the state, so that size
 * errors can be reported before anything changes. */
static size_t message_overhead(const struct sotto_noise_handshake *hs, int *keyed)
{
	int k = hs->cs.has_key;
	size_t len = 0;
	for (size_t i = 0; i < hs->ntokens[hs->msg]; i++) {
		switch (hs->tokens[hs->msg][i]) {
		case T_E:
			len += DHLEN;
			if (hs->psk_mode)
				k = 1;
			break;
		case T_S:
			len += DHLEN + (k ? TAG : 0);
			break;
		default:
			k = 1;
			break;
		}
	}
	*keyed = k;
	return len;
}

int sotto_noise_handshake_new(sotto_noise_handshake **out, const sotto_noise_config *cfg)
{
	if (out == NULL || cfg == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*out = NULL;
	struct parsed p;
	int rc = parse_name(cfg->protocol_name, &p);
	if (rc != SOTTO_OK)
		return rc;
	if ((cfg->role != SOTTO_NOISE_INITIATOR && cfg->role != SOTTO_NOISE_RESPONDER) ||
	    (cfg->prologue == NULL && cfg->prologue_len > 0) || cfg->rng == NULL ||
	    cfg->psk_count != p.npsks || (p.npsks > 0 && cfg->psks == NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	struct sotto_noise_handshake *hs = calloc(1, sizeof(*hs));
	if (hs == NULL)
		return SOTTO_ERR_NOMEM;
	hs->initiator = cfg->role == SOTTO_NOISE_INITIATOR;
	hs->cipher = p.cipher;
	hs->hash = p.hash;
	hs->hashlen = sotto__noise_hashlen(p.hash);
	hs->rng = cfg->rng;
	hs->rng_ctx = cfg->rng_ctx;
	rc = expand(hs, &p);
	if (rc != SOTTO_OK)
		goto fail;
	hs->one_way = hs->nmsgs == 1;
	hs->npsks = p.npsks;
	for (size_t i = 0; i < p.npsks; i++)
		memcpy(hs->psks[i], cfg->psks[i], SOTTO_NOISE_PSK_BYTES);

	/* Which keys the pattern needs from us. */
	int need_s = hs->initiator ? p.pat->pre_i_s : p.pat->pre_r_s;
	int need_rs = hs->initiator ? p.pat->pre_r_s : p.pat->pre_i_s;
	for (size_t m = 0; m < hs->nmsgs; m++) {
		int ours = (m % 2 == 0) == (hs->initiator != 0);
		for (size_t t = 0; t < hs->ntokens[m]; t++)
			if (ours && hs->tokens[m][t] == T_S)
				need_s = 1;
	}
	rc = SOTTO_ERR_INVALID_ARGUMENT;
	if ((need_s && cfg->local_static == NULL) || (need_rs && cfg->remote_static == NULL))
		goto fail;
	if (cfg->local_static != NULL) {
		memcpy(hs->s_priv, cfg->local_static, DHLEN);
		rc = sotto_x25519_public(hs->s_pub, hs->s_priv);
		if (rc != SOTTO_OK)
			goto fail;
		hs->has_s = 1;
	}
	if (need_rs) {
		memcpy(hs->rs, cfg->remote_static, DHLEN);
		hs->has_rs = 1;
	}
	if (cfg->fixed_ephemeral != NULL) {
		memcpy(hs->fixed_e, cfg->fixed_ephemeral, DHLEN);
		hs->has_fixed_e = 1;
	}

	/* InitializeSymmetric (§5.2): h = name padded, or HASH(name). */
	size_t nlen = strlen(cfg->protocol_name);
	if (nlen <= hs->hashlen) {
		memcpy(hs->h, cfg->protocol_name, nlen);
	} else {
		sotto_iov np = { cfg->protocol_name, nlen };
		rc = sotto__noise_hash(hs->hash, hs->h, &np, 1);
		if (rc != SOTTO_OK)
			goto fail;
	}
	memcpy(hs->ck, hs->h, hs->hashlen);
	sotto__noise_cs_init(&hs->cs, hs->cipher, NULL);
	rc = mix_hash(hs, cfg->prologue, cfg->prologue_len);
	if (rc != SOTTO_OK)
		goto fail;
	/* Pre-messages: the initiator's first, then the responder's (§5.3). */
	if (p.pat->pre_i_s) {
		rc = mix_hash(hs, hs->initiator ? hs->s_pub : hs->rs, DHLEN);
		if (rc != SOTTO_OK)
			goto fail;
	}
	if (p.pat->pre_r_s) {
		rc = mix_hash(hs, hs->initiator ? hs->rs : hs->s_pub, DHLEN);
		if (rc != SOTTO_OK)
			goto fail;
	}
	*out = hs;
	return SOTTO_OK;
fail:
	sotto_noise_handshake_free(hs);
	return rc;
}

void sotto_noise_handshake_free(sotto_noise_handshake *hs)
{
	if (hs == NULL)
		return;
	wipe(hs);
	sotto_memzero(hs, sizeof(*hs));
	free(hs);
}

int sotto_noise_handshake_is_finished(const sotto_noise_handshake *hs)
{
	return hs != NULL && !hs->failed && hs->msg == hs->nmsgs;
}

sotto_noise_action sotto_noise_handshake_action(const sotto_noise_handshake *hs)
{
	if (hs == NULL || hs->failed)
		return SOTTO_NOISE_FAILED;
	if (hs->msg == hs->nmsgs)
		return SOTTO_NOISE_SPLIT;
	return is_initiator_turn(hs) == (hs->initiator != 0) ? SOTTO_NOISE_WRITE : SOTTO_NOISE_READ;
}

static int make_ephemeral(struct sotto_noise_handshake *hs)
{
	int rc;
	if (hs->has_fixed_e) {
		memcpy(hs->e_priv, hs->fixed_e, DHLEN);
	} else {
		rc = hs->rng(hs->rng_ctx, hs->e_priv, DHLEN);
		if (rc != SOTTO_OK)
			return rc < 0 ? rc : SOTTO_ERR_INTERNAL;
	}
	rc = sotto_x25519_public(hs->e_pub, hs->e_priv);
	if (rc == SOTTO_OK)
		hs->has_e = 1;
	return rc;
}

int sotto_noise_write_message(sotto_noise_handshake *hs, const uint8_t *payload, size_t payloadlen,
			      uint8_t *out, size_t outcap, size_t *outlen)
{
	if (hs == NULL || out == NULL || outlen == NULL || (payload == NULL && payloadlen > 0) ||
	    sotto_noise_handshake_action(hs) != SOTTO_NOISE_WRITE)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int keyed;
	size_t need = message_overhead(hs, &keyed);
	if (payloadlen > SOTTO_NOISE_MAX_MESSAGE ||
	    need + payloadlen + (keyed ? TAG : 0) > SOTTO_NOISE_MAX_MESSAGE)
		return SOTTO_ERR_INVALID_ARGUMENT;
	need += payloadlen + (keyed ? TAG : 0);
	if (outcap < need)
		return SOTTO_ERR_BUFFER_TOO_SMALL;

	size_t pos = 0, n = 0;
	int rc = SOTTO_OK;
	for (size_t i = 0; i < hs->ntokens[hs->msg] && rc == SOTTO_OK; i++) {
		switch (hs->tokens[hs->msg][i]) {
		case T_E:
			rc = make_ephemeral(hs);
			if (rc != SOTTO_OK)
				break;
			memcpy(out + pos, hs->e_pub, DHLEN);
			pos += DHLEN;
			rc = mix_hash(hs, hs->e_pub, DHLEN);
			/* §9.2: with psks, e is also mixed into the key. */
			if (rc == SOTTO_OK && hs->psk_mode)
				rc = mix_key(hs, hs->e_pub, DHLEN);
			break;
		case T_S:
			if (!hs->has_s) {
				rc = SOTTO_ERR_INTERNAL;
				break;
			}
			rc = encrypt_and_hash(hs, hs->s_pub, DHLEN, out + pos, &n);
			pos += n;
			break;
		case T_PSK:
			rc = psk_token(hs);
			break;
		default:
			rc = dh_token(hs, hs->tokens[hs->msg][i]);
			break;
		}
	}
	if (rc == SOTTO_OK)
		rc = encrypt_and_hash(hs, payload, payloadlen, out + pos, &n);
	if (rc != SOTTO_OK) {
		sotto_memzero(out, outcap < need ? outcap : need);
		return fail(hs, rc);
	}
	pos += n;
	if (pos != need)
		return fail(hs, SOTTO_ERR_INTERNAL);
	hs->msg++;
	*outlen = pos;
	return SOTTO_OK;
}

int sotto_noise_read_message(sotto_noise_handshake *hs, const uint8_t *in, size_t inlen,
			     uint8_t *payload, size_t payloadcap, size_t *payloadlen)
{
	if (hs == NULL || payloadlen == NULL || (in == NULL && inlen > 0) ||
	    sotto_noise_handshake_action(hs) != SOTTO_NOISE_READ)
		return SOTTO_ERR_INVALID_ARGUMENT;
	int keyed;
	size_t fixed = message_overhead(hs, &keyed);
	size_t min = fixed + (keyed ? TAG : 0);
	if (inlen > SOTTO_NOISE_MAX_MESSAGE || inlen < min)
		return fail(hs, SOTTO_ERR_INVALID_MESSAGE);
	size_t plen = inlen - min;
	if (payloadcap < plen || (payload == NULL && plen > 0))
		return SOTTO_ERR_BUFFER_TOO_SMALL;

	size_t pos = 0, n = 0;
	int rc = SOTTO_OK;
	uint8_t spub[DHLEN];
	for (size_t i = 0; i < hs->ntokens[hs->msg] && rc == SOTTO_OK; i++) {
		switch (hs->tokens[hs->msg][i]) {
		case T_E:
			memcpy(hs->re, in + pos, DHLEN);
			hs->has_re = 1;
			pos += DHLEN;
			rc = mix_hash(hs, hs->re, DHLEN);
			if (rc == SOTTO_OK && hs->psk_mode)
				rc = mix_key(hs, hs->re, DHLEN);
			break;
		case T_S: {
			size_t clen = DHLEN + (hs->cs.has_key ? TAG : 0);
			rc = decrypt_and_hash(hs, in + pos, clen, spub, &n);
			if (rc == SOTTO_OK) {
				memcpy(hs->rs, spub, DHLEN);
				hs->has_rs = 1;
			}
			pos += clen;
			break;
		}
		case T_PSK:
			rc = psk_token(hs);
			break;
		default:
			rc = dh_token(hs, hs->tokens[hs->msg][i]);
			break;
		}
	}
	if (rc == SOTTO_OK)
		rc = decrypt_and_hash(hs, in + pos, inlen - pos, payload, &n);
	if (rc != SOTTO_OK) {
		if (payload != NULL)
			sotto_memzero(payload, plen);
		/* Authentication failures all read as one error (no oracle). */
		return fail(hs, rc == SOTTO_ERR_INVALID_KEY ? rc : SOTTO_ERR_INVALID_MESSAGE);
	}
	if (n != plen)
		return fail(hs, SOTTO_ERR_INTERNAL);
	hs->msg++;
	*payloadlen = n;
	return SOTTO_OK;
}

int sotto_noise_handshake_hash(const sotto_noise_handshake *hs, uint8_t *out, size_t outcap,
			       size_t *outlen)
{
	if (hs == NULL || out == NULL || outlen == NULL || !sotto_noise_handshake_is_finished(hs))
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (outcap < hs->hashlen)
		return SOTTO_ERR_BUFFER_TOO_SMALL;
	memcpy(out, hs->h, hs->hashlen);
	*outlen = hs->hashlen;
	return SOTTO_OK;
}

int sotto_noise_remote_static(const sotto_noise_handshake *hs, uint8_t pub[SOTTO_NOISE_KEY_BYTES])
{
	if (hs == NULL || pub == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (!hs->has_rs || hs->failed)
		return SOTTO_ERR_NOT_FOUND;
	memcpy(pub, hs->rs, DHLEN);
	return SOTTO_OK;
}

int sotto_noise_split(sotto_noise_handshake *hs, sotto_noise_cipher **send,
		      sotto_noise_cipher **recv)
{
	if (hs == NULL || send == NULL || recv == NULL || !sotto_noise_handshake_is_finished(hs) ||
	    hs->split_done)
		return SOTTO_ERR_INVALID_ARGUMENT;
	*send = NULL;
	*recv = NULL;
	uint8_t k1[64], k2[64];
	int rc = sotto__noise_hkdf(hs->hash, hs->ck, NULL, 0, k1, k2, NULL);
	if (rc != SOTTO_OK)
		goto done;
	sotto_noise_cipher *c1 = calloc(1, sizeof(*c1));
	sotto_noise_cipher *c2 = hs->one_way ? NULL : calloc(1, sizeof(*c2));
	if (c1 == NULL || (!hs->one_way && c2 == NULL)) {
		free(c1);
		free(c2);
		rc = SOTTO_ERR_NOMEM;
		goto done;
	}
	/* Keys are truncated to 32 bytes when HASHLEN is 64 (§5.2 Split). */
	sotto__noise_cs_init(&c1->cs, hs->cipher, k1);
	if (c2 != NULL)
		sotto__noise_cs_init(&c2->cs, hs->cipher, k2);
	/* c1 carries initiator -> responder traffic, c2 the other way. */
	if (hs->initiator) {
		*send = c1;
		*recv = c2;
	} else {
		*send = c2;
		*recv = c1;
	}
	hs->split_done = 1;
	sotto_memzero(hs->ck, sizeof(hs->ck));
done:
	sotto_memzero(k1, sizeof(k1));
	sotto_memzero(k2, sizeof(k2));
	return rc;
}
