/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto-bench protocol: the Signal protocol layer end to end (sessions with
 * PQXDH and the triple ratchet, sender keys, sealed sender), each operation
 * next to (a) its floor, the same run's cost of the primitives the operation
 * cannot avoid, called directly, and (b) libsignal's figure for the same
 * operation through its Node package, measured in the same run by
 * tests/interop/bench-libsignal.mjs. Parties keep their state in the
 * in-memory stores, so every message pays for loading and storing its
 * session record, as it does with libsignal's stores. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "protocol/spqr_braid.h"
#include "sotto/sotto.h"

#define PT_LEN 100
#define N_RECIPIENTS 10

#define MUST(x)                                                                             \
	do {                                                                                \
		if ((x) != 0) {                                                             \
			fprintf(stderr, "sotto-bench: %s failed (line %d)\n", #x, __LINE__); \
			abort();                                                            \
		}                                                                           \
	} while (0)

static uint8_t PT[PT_LEN];

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Like bench_ns, for operations that need untimed preparation each time
 * (fresh parties, a message to decrypt): the median over batches of the
 * timed sections only. */
static double bench_prep_ns(bench_fn prep, bench_fn op, void *arg)
{
	const double target = bench_quick ? 2e6 : 20e6;
	const int batches = bench_quick ? 3 : 7;
	double samples[16];

	for (int b = 0; b < batches; b++) {
		double timed = 0;
		unsigned long n = 0;
		while (timed < target || n < 3) {
			prep(arg);
			double t0 = now_ns();
			op(arg);
			timed += now_ns() - t0;
			n++;
		}
		samples[b] = timed / (double)n;
	}
	qsort(samples, (size_t)batches, sizeof(double), cmp_double);
	return samples[batches / 2];
}

/* ---- parties ------------------------------------------------------------ */

typedef struct party {
	char name[40];
	sotto_address addr;
	sotto_identity_keypair id;
	uint32_t reg;
	sotto_protocol_memstore *ms;
	sotto_protocol_stores st;
	sotto_sender_key_memstore *sk;
	sotto_sender_key_store skt;
	/* Long-lived prekeys (published once). */
	sotto_signed_prekey_record spk;
	sotto_kyber_prekey_record kpk;
	uint32_t next_opk;
} party;

static void party_reset(party *p)
{
	if (p->ms != NULL)
		sotto_protocol_memstore_free(p->ms);
	p->ms = sotto_protocol_memstore_new(&p->id, p->reg);
	MUST(p->ms == NULL);
	sotto_protocol_memstore_tables(p->ms, &p->st);
	MUST(p->st.signed_prekey.store(p->st.signed_prekey.ctx, &p->spk));
	MUST(p->st.kyber_prekey.store(p->st.kyber_prekey.ctx, &p->kpk));
}

static void party_init(party *p, unsigned n)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof p->name, "%08x-0000-4000-8000-%012x", 0x5077000u + n, n);
	p->addr.name = p->name;
	p->addr.device_id = 1;
	MUST(sotto_identity_keypair_generate(&p->id, sotto_rng_system, NULL));
	MUST(sotto_registration_id_generate(&p->reg, sotto_rng_system, NULL));
	MUST(sotto_signed_prekey_generate(&p->spk, 1, 0, &p->id, sotto_rng_system, NULL));
	MUST(sotto_kyber_prekey_generate(&p->kpk, 1, 0, &p->id, sotto_rng_system, NULL));
	p->next_opk = 1;
	party_reset(p);
	p->sk = sotto_sender_key_memstore_new();
	MUST(p->sk == NULL);
	sotto_sender_key_memstore_table(p->sk, &p->skt);
}

static void party_free(party *p)
{
	sotto_protocol_memstore_free(p->ms);
	sotto_sender_key_memstore_free(p->sk);
	sotto_memzero(p, sizeof(*p));
}

/* A bundle with a fresh one-time prekey, stored on p's side. */
static void publish(party *p, sotto_prekey_bundle *b)
{
	sotto_prekey_record opk;

	MUST(sotto_prekey_generate(&opk, p->next_opk++, sotto_rng_system, NULL));
	MUST(p->st.prekey.store(p->st.prekey.ctx, &opk));
	memset(b, 0, sizeof(*b));
	b->registration_id = p->reg;
	b->device_id = 1;
	b->has_pre_key = 1;
	b->pre_key_id = opk.id;
	memcpy(b->pre_key, opk.key.pub, 33);
	b->signed_pre_key_id = p->spk.id;
	memcpy(b->signed_pre_key, p->spk.key.pub, 33);
	memcpy(b->signed_pre_key_signature, p->spk.signature, 64);
	memcpy(b->identity_key, p->id.pub, 33);
	b->kyber_pre_key_id = p->kpk.id;
	memcpy(b->kyber_pre_key, p->kpk.pub, sizeof b->kyber_pre_key);
	memcpy(b->kyber_pre_key_signature, p->kpk.signature, 64);
	sotto_memzero(&opk, sizeof opk);
}

typedef struct wire {
	uint8_t buf[4096];
	size_t len;
	int type;
} wire;

static void enc(party *from, party *to, wire *w)
{
	MUST(sotto_session_encrypt(&from->st, &from->addr, &to->addr, PT, PT_LEN,
				   1767225600000ull, sotto_rng_system, NULL, w->buf, sizeof w->buf,
				   &w->len, &w->type));
}

static void dec(party *to, party *from, const wire *w)
{
	uint8_t pt[4096];
	size_t n;

	MUST(sotto_session_decrypt(&to->st, &to->addr, &from->addr, w->type, w->buf, w->len,
				   sotto_rng_system, NULL, pt, sizeof pt, &n));
	MUST(n != PT_LEN || memcmp(pt, PT, PT_LEN) != 0);
}

/* ---- the session rows ------------------------------------------------------ */

typedef struct sess {
	party a, b;
	sotto_prekey_bundle bundle;
	wire w;
	int turn;
} sess;

static void setup_prep(void *arg)
{
	sess *s = arg;
	party_reset(&s->a);
	party_reset(&s->b);
	publish(&s->b, &s->bundle);
}

static void setup_op(void *arg)
{
	sess *s = arg;
	MUST(sotto_session_process_bundle(&s->a.st, &s->a.addr, &s->b.addr, &s->bundle,
					  1767225600000ull, sotto_rng_system, NULL));
	enc(&s->a, &s->b, &s->w);
	dec(&s->b, &s->a, &s->w);
}

/* A session acknowledged both ways (Alice sends SignalMessages). */
static void session_live(sess *s)
{
	setup_prep(s);
	setup_op(s);
	enc(&s->b, &s->a, &s->w);
	dec(&s->a, &s->b, &s->w);
}

static void enc_prep(void *arg)
{
	sess *s = arg;
	enc(&s->a, &s->b, &s->w);
}

static void dec_op(void *arg)
{
	sess *s = arg;
	dec(&s->b, &s->a, &s->w);
}

static void enc_op(void *arg)
{
	sess *s = arg;
	enc(&s->a, &s->b, &s->w);
}

static void nop(void *arg)
{
	(void)arg;
}

/* One message of a ping-pong: the reply to the previous one, so its
 * decryption turns the DH ratchet (and SPQR moves one chunk). */
static void pingpong_op(void *arg)
{
	sess *s = arg;
	party *x = (s->turn & 1) ? &s->b : &s->a, *y = (s->turn & 1) ? &s->a : &s->b;
	s->turn++;
	enc(x, y, &s->w);
	dec(y, x, &s->w);
}

static uint64_t spqr_epoch(party *p, party *peer)
{
	sotto_session_record *rec = NULL;
	sotto_spqr_state *sp = NULL;
	const uint8_t *blob;
	size_t len = 0;
	uint64_t e;

	MUST(sotto_session_load(&p->st, &peer->addr, &rec));
	blob = sotto_session_state_spqr(sotto_session_record_current(rec), &len);
	MUST(sotto__spqr_state_deserialize(&sp, blob, len));
	e = sotto__spqr_state_epoch(sp);
	sotto__spqr_state_free(sp);
	sotto_session_record_free(rec);
	return e;
}

/* ---- floors ------------------------------------------------------------------ */

static sotto_hmac_sha256_ctx *fl_hmac;
static sotto_aes_cbc_ctx *fl_aes;
static uint8_t fl_key[32], fl_key2[32], fl_iv[16], fl_buf[4096], fl_out[4096];
static size_t fl_msglen = 200; /* set to the measured SignalMessage size */
static uint8_t fl_x_priv[32], fl_x_pub[32];

/* HKDF-SHA256 on the keyed HMAC context (extract, then n output blocks):
 * the cheapest way to get it from the library's primitives, cheaper than the
 * one-shot sotto_hkdf_sha256, which sets up a context per HMAC. */
static void fl_hkdf(uint8_t *out, size_t blocks, const uint8_t *salt, const uint8_t *ikm,
		    const char *info)
{
	uint8_t prk[32], t[32];
	MUST(sotto_hmac_sha256_setkey(fl_hmac, salt, 32));
	MUST(sotto_hmac_sha256_update(fl_hmac, ikm, 32));
	MUST(sotto_hmac_sha256_final(fl_hmac, prk));
	MUST(sotto_hmac_sha256_setkey(fl_hmac, prk, 32));
	for (uint8_t i = 1; i <= blocks; i++) {
		if (i > 1)
			MUST(sotto_hmac_sha256_update(fl_hmac, t, 32));
		MUST(sotto_hmac_sha256_update(fl_hmac, (const uint8_t *)info, strlen(info)));
		MUST(sotto_hmac_sha256_update(fl_hmac, &i, 1));
		MUST(sotto_hmac_sha256_final(fl_hmac, t));
		memcpy(out + 32 * (i - 1), t, 32);
	}
}

/* Chain step (seed and next key) + message keys (HKDF, 80 bytes). */
static void fl_keys(void)
{
	static const uint8_t one = 1, two = 2;
	uint8_t okm[96];
	MUST(sotto_hmac_sha256_setkey(fl_hmac, fl_key, 32));
	MUST(sotto_hmac_sha256_update(fl_hmac, &one, 1));
	MUST(sotto_hmac_sha256_final(fl_hmac, fl_out));
	MUST(sotto_hmac_sha256_update(fl_hmac, &two, 1));
	MUST(sotto_hmac_sha256_final(fl_hmac, fl_out + 32));
	fl_hkdf(okm, 3, fl_key2, fl_out, "WhisperMessageKeys");
}

/* HMAC over the message with its MAC key (identities + message). */
static void fl_mac(size_t len)
{
	MUST(sotto_hmac_sha256_setkey(fl_hmac, fl_key2, 32));
	MUST(sotto_hmac_sha256_update(fl_hmac, fl_buf, 66 + len));
	MUST(sotto_hmac_sha256_final(fl_hmac, fl_out));
}

static void fl_steady_enc(void *arg)
{
	size_t n;
	(void)arg;
	fl_keys();
	MUST(sotto_aes_cbc_ctx_setkey(fl_aes, fl_key, 32));
	MUST(sotto_aes_cbc_ctx_encrypt(fl_aes, fl_out, sizeof fl_out, &n, fl_iv, PT, PT_LEN));
	fl_mac(fl_msglen);
}

static uint8_t fl_ct[112];

static void fl_steady_dec(void *arg)
{
	size_t n;
	(void)arg;
	fl_keys();
	fl_mac(fl_msglen);
	MUST(sotto_aes_cbc_ctx_setkey(fl_aes, fl_key, 32));
	MUST(sotto_aes_cbc_ctx_decrypt(fl_aes, fl_out, sizeof fl_out, &n, fl_iv, fl_ct,
				       sizeof fl_ct));
}

static void fl_x25519(void *arg)
{
	(void)arg;
	MUST(sotto_x25519(fl_out, fl_x_priv, fl_x_pub));
}

static void fl_x25519_base(void *arg)
{
	(void)arg;
	MUST(sotto_x25519_public(fl_out, fl_x_priv));
}

static void fl_kdf_rk(void *arg)
{
	(void)arg;
	fl_hkdf(fl_out, 2, fl_key, fl_key2, "WhisperRatchet");
}

static uint8_t fl_sig[64];
static uint8_t fl_rand[64];

static void fl_sign(void *arg)
{
	(void)arg;
	MUST(sotto_xeddsa_sign(fl_sig, fl_x_priv, fl_buf, 140, fl_rand));
}

static void fl_verify(void *arg)
{
	(void)arg;
	MUST(sotto_xeddsa_verify(fl_x_pub, fl_buf, 140, fl_sig));
}

static uint8_t k1024_pk[SOTTO_KYBER1024_PK_BYTES], k1024_sk[SOTTO_KYBER1024_SK_BYTES],
	k1024_ct[SOTTO_KYBER1024_CT_BYTES];
static uint8_t m768_ek[SOTTO_MLKEM768_EK_BYTES], m768_dk[SOTTO_MLKEM768_DK_BYTES],
	m768_ct[SOTTO_MLKEM768_CT_BYTES];

static void fl_kyber_enc(void *arg)
{
	(void)arg;
	MUST(sotto_kyber1024_encaps(k1024_ct, fl_out, k1024_pk));
}
static void fl_kyber_dec(void *arg)
{
	(void)arg;
	MUST(sotto_kyber1024_decaps(fl_out, k1024_ct, k1024_sk));
}
static void fl_m768_keygen(void *arg)
{
	(void)arg;
	MUST(sotto_mlkem768_keypair(m768_ek, m768_dk));
}
static void fl_m768_enc(void *arg)
{
	(void)arg;
	MUST(sotto_mlkem768_encaps(m768_ct, fl_out, m768_ek));
}
static void fl_m768_dec(void *arg)
{
	(void)arg;
	MUST(sotto_mlkem768_decaps(fl_out, m768_ct, m768_dk));
}

/* Sender keys: chain step + HKDF(48) + AES-CBC(100 B); sign or verify. */
static void fl_group_sym(int encrypt)
{
	static const uint8_t one = 1, two = 2;
	uint8_t okm[48];
	size_t n;
	MUST(sotto_hmac_sha256_setkey(fl_hmac, fl_key, 32));
	MUST(sotto_hmac_sha256_update(fl_hmac, &one, 1));
	MUST(sotto_hmac_sha256_final(fl_hmac, fl_out));
	MUST(sotto_hmac_sha256_update(fl_hmac, &two, 1));
	MUST(sotto_hmac_sha256_final(fl_hmac, fl_out + 32));
	MUST(sotto_hkdf_sha256(okm, 48, NULL, 0, fl_out, 32, (const uint8_t *)"WhisperGroup", 12));
	MUST(sotto_aes_cbc_ctx_setkey(fl_aes, fl_key, 32));
	if (encrypt)
		MUST(sotto_aes_cbc_ctx_encrypt(fl_aes, fl_out, sizeof fl_out, &n, fl_iv, PT, PT_LEN));
	else
		MUST(sotto_aes_cbc_ctx_decrypt(fl_aes, fl_out, sizeof fl_out, &n, fl_iv, fl_ct,
					       sizeof fl_ct));
}
static void fl_group_enc(void *arg)
{
	fl_group_sym(1);
	fl_sign(arg);
}
static void fl_group_dec(void *arg)
{
	fl_group_sym(0);
	fl_verify(arg);
}

/* Sealed sender v1, one layer: HKDF(96) + AES-CTR + HMAC over len bytes. */
static void fl_v1_layer(size_t len)
{
	MUST(sotto_hkdf_sha256(fl_out, 96, fl_key, 32, fl_key2, 32, NULL, 0));
	MUST(sotto_aes_ctr(fl_buf, fl_key, 32, fl_iv, fl_buf, len));
	MUST(sotto_hmac_sha256(fl_out, fl_key2, 32, fl_buf, len));
}
static size_t fl_usmc_len = 400;
static void fl_v1_sym(void *arg)
{
	(void)arg;
	fl_v1_layer(33);
	fl_v1_layer(fl_usmc_len);
}
static void fl_hkdf32(void *arg)
{
	(void)arg;
	MUST(sotto_hkdf_sha256(fl_out, 32, NULL, 0, fl_key2, 32, (const uint8_t *)"label", 5));
}
static void fl_gcm_siv(void *arg)
{
	static const uint8_t nonce[12];
	(void)arg;
	MUST(sotto_aes_gcm_siv_seal(fl_out, fl_key, 32, nonce, NULL, 0, fl_buf, fl_usmc_len));
}

/* ---- groups and sealed sender ------------------------------------------------ */

static const uint8_t DIST[16] = {0xd1, 0x57, 0x00, 0x01};

typedef struct grp {
	party *a, *b;
	uint8_t msg[SOTTO_GROUP_CIPHERTEXT_MAX(PT_LEN)];
	size_t len;
} grp;

static void grp_enc(void *arg)
{
	grp *g = arg;
	MUST(sotto_group_encrypt(&g->a->skt, g->a->name, 1, DIST, sotto_rng_system, NULL, PT, PT_LEN,
				 g->msg, sizeof g->msg, &g->len));
}

static void grp_dec(void *arg)
{
	grp *g = arg;
	uint8_t pt[sizeof g->msg];
	size_t n;
	MUST(sotto_group_decrypt(&g->b->skt, g->a->name, 1, g->msg, g->len, pt, sizeof pt, &n));
	MUST(n != PT_LEN);
}

typedef struct sealed {
	party *a, *b;
	uint8_t root_pub[33], root_priv[32];
	uint8_t usmc[2048];
	size_t usmc_len;
	uint8_t v1[4096];
	size_t v1_len;
	sotto_sealed_v2_recipient rcp[N_RECIPIENTS];
	sotto_identity_keypair rid[N_RECIPIENTS];
	uint8_t v2[8192];
	size_t v2_len;
	uint8_t mine[4096];
	size_t mine_len;
} sealed;

static void v1_enc(void *arg)
{
	sealed *s = arg;
	MUST(sotto_sealed_v1_encrypt(s->b->id.pub, s->a->id.pub, s->a->id.priv, s->usmc, s->usmc_len,
				     sotto_rng_system, NULL, s->v1, sizeof s->v1, &s->v1_len));
}

static void sealed_open(sealed *s, const sotto_identity_keypair *me, const char *my_uuid,
			const uint8_t *msg, size_t len)
{
	sotto_usmc *u = NULL;
	const uint8_t(*roots)[33] = (const uint8_t(*)[33])s->root_pub;
	MUST(sotto_sealed_decrypt(me->pub, me->priv, roots, 1, 1767225600000ull, my_uuid, NULL, 1,
				  msg, len, &u));
	sotto_usmc_free(u);
}

static void v1_dec(void *arg)
{
	sealed *s = arg;
	sealed_open(s, &s->b->id, s->b->name, s->v1, s->v1_len);
}

static void v2_enc(void *arg)
{
	sealed *s = arg;
	MUST(sotto_sealed_v2_encrypt(s->rcp, N_RECIPIENTS, NULL, 0, s->a->id.pub, s->a->id.priv,
				     s->usmc, s->usmc_len, sotto_rng_system, NULL, s->v2, sizeof s->v2,
				     &s->v2_len));
}

static void v2_dec(void *arg)
{
	sealed *s = arg;
	sealed_open(s, &s->rid[0], "00000000-0000-4000-8000-000000000000", s->mine, s->mine_len);
}

/* ---- libsignal through Node ------------------------------------------------- */

static json_t *libsignal_run(const char **why)
{
	static char path[4096], cmd[4400];
	const char *src = getenv("SOTTO_SOURCE_DIR");
	const char *file = __FILE__;
	FILE *f;
	char *out = NULL;
	size_t len = 0, cap = 0;
	json_t *j;

	if (src != NULL) {
		snprintf(path, sizeof path, "%s/tests/interop/bench-libsignal.mjs", src);
	} else {
		/* __FILE__ is <source dir>/bench/bench_protocol.c in CMake builds. */
		const char *cut = strstr(file, "bench/bench_protocol.c");
		int n = cut ? (int)(cut - file) : 0;
		snprintf(path, sizeof path, "%.*stests/interop/bench-libsignal.mjs", n, file);
	}
	if (access(path, R_OK) != 0) {
		*why = "tests/interop/bench-libsignal.mjs not found (set SOTTO_SOURCE_DIR)";
		return NULL;
	}
	snprintf(path + strlen(path) - strlen("bench-libsignal.mjs"),
		 sizeof path - strlen(path) + strlen("bench-libsignal.mjs"),
		 "node_modules/@signalapp/libsignal-client/package.json");
	if (access(path, R_OK) != 0) {
		*why = "node_modules missing: run `npm ci` in tests/interop";
		return NULL;
	}
	*strstr(path, "node_modules") = '\0';
	snprintf(cmd, sizeof cmd, "node '%sbench-libsignal.mjs' %s --recipients %d 2>/dev/null", path,
		 bench_quick ? "--quick" : "", N_RECIPIENTS);
	f = popen(cmd, "r");
	if (f == NULL) {
		*why = "cannot start node";
		return NULL;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *n = realloc(out, cap = cap * 2 + 8192);
			if (n == NULL)
				break;
			out = n;
		}
		size_t r = fread(out + len, 1, 4096, f);
		if (r == 0)
			break;
		len += r;
	}
	int st = pclose(f);
	if (out == NULL) {
		*why = "out of memory";
		return NULL;
	}
	out[len] = '\0';
	j = json_loads(out, 0, NULL);
	free(out);
	if (j == NULL || st != 0 || json_object_get(j, "ns") == NULL) {
		*why = st == 127 * 256 ? "node not found" : "the libsignal script failed";
		json_decref(j);
		return NULL;
	}
	return j;
}

static double ls_ns(json_t *j, const char *k)
{
	json_t *v = j ? json_object_get(json_object_get(j, "ns"), k) : NULL;
	return v ? json_number_value(v) : -1;
}

static long ls_bytes(json_t *j, const char *k)
{
	json_t *v = j ? json_object_get(json_object_get(j, "bytes"), k) : NULL;
	return v ? (long)json_integer_value(v) : -1;
}

/* One row: ours, the floor, libsignal, and both ratios. */
static void row(const char *op, double ours, double floor_ns, double ls)
{
	char a[32], b[32], c[32];
	snprintf(a, sizeof a, "%.2f", ours / 1000);
	snprintf(b, sizeof b, "%.2f", floor_ns / 1000);
	if (ls > 0)
		snprintf(c, sizeof c, "%.2f", ls / 1000);
	else
		snprintf(c, sizeof c, "-");
	printf("%-44s %10s %10s %7.2fx %10s", op, a, b, ours / floor_ns, c);
	if (ls > 0)
		printf(" %8.3fx", ours / ls);
	putchar('\n');
	fflush(stdout);
}

int bench_protocol(void)
{
	sess *s = calloc(1, sizeof(*s));
	grp g;
	sealed *sl = calloc(1, sizeof(*sl));
	party *rp = calloc(N_RECIPIENTS, sizeof(*rp));
	const char *why = NULL;
	json_t *ls;
	double t_setup, t_enc, t_dec, t_pp, t_genc, t_gdec, t_v1e, t_v1d, t_v2e, t_v2d;
	size_t sz_prekey, sz_signal, sz_turn, sz_group, sz_v1, sz_v2, sz_v2r;
	uint64_t e0, e1;
	unsigned long pp_msgs;

	MUST(s == NULL || sl == NULL || rp == NULL);
	MUST(sotto_random(PT, sizeof PT));

	/* libsignal first, so the two do not compete for the cores. */
	printf("\nprotocol: running libsignal's side (node)...\n");
	fflush(stdout);
	ls = libsignal_run(&why);

	party_init(&s->a, 1);
	party_init(&s->b, 2);

	t_setup = bench_prep_ns(setup_prep, setup_op, s);
	sz_prekey = s->w.len;
	session_live(s);
	/* Decrypt before the encrypt row: undelivered messages would leave the
	 * receiver with skipped keys. */
	t_dec = bench_prep_ns(enc_prep, dec_op, s);
	sz_signal = s->w.len;
	/* Count the messages SPQR needs per epoch in a ping-pong (for the floor):
	 * run until the epoch has advanced twice more. */
	s->turn = 0;
	pingpong_op(s);
	e0 = e1 = spqr_epoch(&s->a, &s->b);
	pp_msgs = 0;
	while (e1 < e0 + 2 && pp_msgs < 5000) {
		pingpong_op(s);
		pp_msgs++;
		e1 = spqr_epoch(&s->a, &s->b);
	}
	t_pp = bench_prep_ns(nop, pingpong_op, s);
	sz_turn = s->w.len;
	t_enc = bench_ns(enc_op, s);

	/* Groups. */
	{
		uint8_t skdm[SOTTO_SKDM_MAX_BYTES];
		size_t l;
		MUST(sotto_group_skdm_create(&s->a.skt, s->a.name, 1, DIST, sotto_rng_system, NULL, skdm,
					     sizeof skdm, &l));
		MUST(sotto_group_skdm_process(&s->b.skt, s->a.name, 1, skdm, l));
	}
	g.a = &s->a;
	g.b = &s->b;
	t_gdec = bench_prep_ns(grp_enc, grp_dec, &g);
	sz_group = g.len;
	t_genc = bench_ns(grp_enc, &g);

	/* Sealed sender around a group message. */
	{
		uint8_t server_pub[33], server_priv[32], scert[512], ucert[1024];
		size_t sl_len, ul_len;
		sotto_ec_keypair kp;
		MUST(sotto_ec_keypair_generate(&kp, sotto_rng_system, NULL));
		memcpy(sl->root_pub, kp.pub, 33);
		memcpy(sl->root_priv, kp.priv, 32);
		MUST(sotto_ec_keypair_generate(&kp, sotto_rng_system, NULL));
		memcpy(server_pub, kp.pub, 33);
		memcpy(server_priv, kp.priv, 32);
		MUST(sotto_server_cert_create(1, server_pub, sl->root_priv, sotto_rng_system, NULL, scert,
					      sizeof scert, &sl_len));
		MUST(sotto_sender_cert_create(s->a.name, NULL, 1, s->a.id.pub, 1767225600000ull + 86400000,
					      scert, sl_len, server_priv, sotto_rng_system, NULL, ucert,
					      sizeof ucert, &ul_len));
		MUST(sotto_usmc_encode(SOTTO_SEALED_MSG_SENDERKEY, ucert, ul_len, g.msg, g.len, 0, NULL, 0,
				       sl->usmc, sizeof sl->usmc, &sl->usmc_len));
		sotto_memzero(&kp, sizeof kp);
		sotto_memzero(server_priv, sizeof server_priv);
	}
	sl->a = &s->a;
	sl->b = &s->b;
	t_v1e = bench_ns(v1_enc, sl);
	sz_v1 = sl->v1_len;
	t_v1d = bench_ns(v1_dec, sl);
	for (unsigned i = 0; i < N_RECIPIENTS; i++) {
		sotto_sealed_v2_recipient *r = &sl->rcp[i];
		MUST(sotto_identity_keypair_generate(&sl->rid[i], sotto_rng_system, NULL));
		memset(r, 0, sizeof(*r));
		r->service_id[0] = 0; /* ACI */
		r->service_id[16] = (uint8_t)i;
		r->service_id[7] = 0x40; /* version nibble of a v4 uuid */
		r->service_id[9] = 0x80;
		r->device_id = 1;
		r->registration_id = 100 + i;
		memcpy(r->identity_key, sl->rid[i].pub, 33);
	}
	t_v2e = bench_ns(v2_enc, sl);
	sz_v2 = sl->v2_len;
	{
		uint8_t devs[4];
		uint16_t regs[4];
		size_t nd;
		MUST(sotto_sealed_v2_split(sl->v2, sl->v2_len, sl->rcp[0].service_id, sl->mine,
					   sizeof sl->mine, &sl->mine_len, devs, regs, 4, &nd));
	}
	sz_v2r = sl->mine_len;
	t_v2d = bench_ns(v2_dec, sl);

	/* Floors, in the same run. */
	fl_hmac = sotto_hmac_sha256_new();
	fl_aes = sotto_aes_cbc_ctx_new();
	MUST(fl_hmac == NULL || fl_aes == NULL);
	MUST(sotto_random(fl_key, 32) || sotto_random(fl_key2, 32) || sotto_random(fl_buf, 4096) ||
	     sotto_random(fl_rand, 64));
	MUST(sotto_x25519_keypair(fl_x_pub, fl_x_priv));
	{
		size_t n;
		MUST(sotto_aes_cbc_ctx_setkey(fl_aes, fl_key, 32));
		MUST(sotto_aes_cbc_ctx_encrypt(fl_aes, fl_ct, sizeof fl_ct, &n, fl_iv, PT, PT_LEN));
	}
	MUST(sotto_xeddsa_sign(fl_sig, fl_x_priv, fl_buf, 140, fl_rand));
	MUST(sotto_kyber1024_keypair(k1024_pk, k1024_sk));
	MUST(sotto_kyber1024_encaps(k1024_ct, fl_out, k1024_pk));
	MUST(sotto_mlkem768_keypair(m768_ek, m768_dk));
	MUST(sotto_mlkem768_encaps(m768_ct, fl_out, m768_ek));
	fl_msglen = sz_signal - 8;
	double f_enc = bench_ns(fl_steady_enc, NULL);
	double f_dec = bench_ns(fl_steady_dec, NULL);
	double f_x = bench_ns(fl_x25519, NULL);
	double f_xb = bench_ns(fl_x25519_base, NULL);
	double f_rk = bench_ns(fl_kdf_rk, NULL);
	double f_verify = bench_ns(fl_verify, NULL);
	double f_kenc = bench_ns(fl_kyber_enc, NULL);
	double f_kdec = bench_ns(fl_kyber_dec, NULL);
	double f_mgen = bench_ns(fl_m768_keygen, NULL);
	double f_menc = bench_ns(fl_m768_enc, NULL);
	double f_mdec = bench_ns(fl_m768_dec, NULL);
	double f_genc = bench_ns(fl_group_enc, NULL);
	double f_gdec = bench_ns(fl_group_dec, NULL);
	fl_usmc_len = sl->usmc_len;
	double f_v1sym = bench_ns(fl_v1_sym, NULL);
	double f_h32 = bench_ns(fl_hkdf32, NULL);
	double f_siv = bench_ns(fl_gcm_siv, NULL);

	/* Messages per SPQR epoch in the ping-pong: each epoch costs one ML-KEM-768
	 * key generation, one encapsulation and one decapsulation in all. */
	double per_epoch = e1 > e0 ? (double)pp_msgs / (double)(e1 - e0) : 0;
	double f_spqr = per_epoch > 0 ? (f_mgen + f_menc + f_mdec) / per_epoch : 0;
	/* A turn: the receiver's two X25519s and new ratchet key, two KDF_RKs. */
	double f_turn = f_enc + f_dec + 2 * f_x + f_xb + 2 * f_rk + f_spqr;
	/* Setup with a one-time prekey: Alice verifies 2 signatures, makes a base
	 * key and a ratchet key, 4 + 1 X25519s, Kyber encaps, samples SPQR's first
	 * ML-KEM-768 key pair; Bob 4 X25519s, Kyber decaps, then the first
	 * message's DH ratchet (2 X25519s and a key); 4 KDF_RK-sized HKDFs. */
	double f_setup = 2 * f_verify + 3 * f_xb + 11 * f_x + f_kenc + f_kdec + f_mgen +
			 4 * f_rk + f_enc + f_dec;
	/* Sealed sender v1: ephemeral key + 2 X25519 + two HKDF/CTR/HMAC layers;
	 * opening repeats the layers and validates 2 certificate signatures. */
	double f_v1e = f_xb + 2 * f_x + f_v1sym;
	double f_v1d = 2 * f_x + f_v1sym + 2 * f_verify;
	/* v2: m -> e (HKDF + base mult), k (HKDF), per recipient 2 X25519 + 2
	 * HKDFs, GCM-SIV; opening: 2 X25519, e again, 3 HKDFs, GCM-SIV, 2
	 * certificate signatures. */
	double f_v2e = f_xb + 2 * f_h32 + N_RECIPIENTS * (2 * f_x + 2 * f_h32) + f_siv;
	double f_v2d = 2 * f_x + f_xb + 4 * f_h32 + f_siv + 2 * f_verify;

	printf("\nprotocol (100-byte messages; times in us; floor = the same run's primitives)\n");
	printf("%-44s %10s %10s %8s %10s %9s\n", "operation", "sotto", "floor", "/floor",
	       "libsignal", "/libsig");
	for (int i = 0; i < 97; i++)
		putchar('-');
	putchar('\n');
	row("session setup (bundle -> 1st decrypted msg)", t_setup, f_setup, ls_ns(ls, "setup"));
	row("steady encrypt (SignalMessage)", t_enc, f_enc, ls_ns(ls, "encrypt"));
	row("steady decrypt", t_dec, f_dec, ls_ns(ls, "decrypt"));
	row("ping-pong message (encrypt + ratchet turn)", t_pp, f_turn, ls_ns(ls, "pingpong"));
	row("group encrypt (sender key)", t_genc, f_genc, ls_ns(ls, "group_encrypt"));
	row("group decrypt", t_gdec, f_gdec, ls_ns(ls, "group_decrypt"));
	row("sealed sender v1 encrypt", t_v1e, f_v1e, ls_ns(ls, "sealed_v1_encrypt"));
	row("sealed sender v1 decrypt (+ certificate)", t_v1d, f_v1d, ls_ns(ls, "sealed_v1_decrypt"));
	{
		char name[64];
		snprintf(name, sizeof name, "sealed sender v2 encrypt, %d recipients", N_RECIPIENTS);
		row(name, t_v2e, f_v2e, ls_ns(ls, "sealed_v2_encrypt"));
	}
	row("sealed sender v2 decrypt (+ certificate)", t_v2d, f_v2d, ls_ns(ls, "sealed_v2_decrypt"));
	printf("(median of %d batches; SPQR: %.1f messages per epoch in the ping-pong, its ML-KEM\n"
	       " work spread over them; the steady floor leaves SPQR's per-message chain step out)\n",
	       bench_quick ? 3 : 7, per_epoch);
	if (ls == NULL)
		printf("libsignal column empty: %s\n", why);
	else
		printf("libsignal: %s, node %s\n",
		       json_string_value(json_object_get(ls, "library")),
		       json_string_value(json_object_get(ls, "node")));

	printf("\nbytes on the wire (100-byte plaintext)\n");
	printf("%-44s %10s %10s\n", "message", "sotto", "libsignal");
	for (int i = 0; i < 66; i++)
		putchar('-');
	putchar('\n');
#define BYTES_ROW(label, ours, key) printf("%-44s %10zu %10ld\n", label, ours, ls_bytes(ls, key))
	BYTES_ROW("PreKeySignalMessage (first message)", sz_prekey, "prekey_message");
	BYTES_ROW("SignalMessage, one-way", sz_signal, "signal_message");
	BYTES_ROW("SignalMessage, ping-pong", sz_turn, "signal_message_turn");
	BYTES_ROW("SenderKeyMessage", sz_group, "group_message");
	BYTES_ROW("sealed sender v1 (around the group message)", sz_v1, "sealed_v1");
	BYTES_ROW("sealed sender v2 as sent (10 recipients)", sz_v2, "sealed_v2_sent");
	BYTES_ROW("sealed sender v2 as received", sz_v2r, "sealed_v2_received");
	printf("(SignalMessage sizes vary by a few bytes with the SPQR chunk; -1: no figure)\n");

	sotto_hmac_sha256_free(fl_hmac);
	sotto_aes_cbc_ctx_free(fl_aes);
	json_decref(ls);
	party_free(&s->a);
	party_free(&s->b);
	free(s);
	sotto_memzero(sl, sizeof(*sl));
	free(sl);
	free(rp);
	return 0;
}
