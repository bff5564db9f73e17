/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* SPQR building blocks (protocol/spqr.h): wire codec bounds, authenticator
 * and chain known answers, chain limits and storage.
 *
 * The known answers come from one real libsignal 0.103 session: the auth_key
 * and the authenticator and chain states are read from its SessionRecords,
 * the MAC and messages from its wire output (S_1 is the epoch-1 secret whose
 * ciphertext MAC libsignal produced; see tests/interop/test_spqr_blocks.mjs,
 * which checks the same code against whole live sessions). */
#include <stdlib.h>
#include <string.h>

#include "protocol/spqr.h"
#include "sotto/error.h"
#include "testutil.h"

#define AUTH_KEY "a76a8dd998f8c0a20c5e0f5a82efb767e20d015be15ceb70214bef5c04ae2363"
#define S1 "881d0ed3838396f65a9a4dbfb595913a0f1078b1f56159831dbffb5d05801ac4"

/* ---- codec ---- */

static int dec(const char *hexmsg, sotto_spqr_msg *m, size_t *used)
{
	size_t n;
	uint8_t *b = tu_unhex(hexmsg, &n);
	int rc = b ? sotto__spqr_msg_decode(m, b, n, used) : -100;
	free(b);
	return rc;
}

static void test_codec(void)
{
	static const char *const real[] = {
		/* libsignal: A's first message (Hdr chunk 0), B's first reply
		 * (Ct1 chunk 0), a Ct1Ack */
		"0101010100858741dbb5fc57b73161b4b7e77c880812b811ead01b8df5b59dcb0cb479111a",
		"0101010500bbf1e2099e017b5217a7ccfc6066e1c8c1f070b1c52d585676c4df5d98ffe653",
		"01012d04",
	};
	sotto_spqr_msg m;
	uint8_t out[SOTTO_SPQR_MSG_MAX_BYTES], in[64];
	size_t used, n, ok = 0;

	for (size_t i = 0; i < 3; i++) {
		uint8_t *b = tu_unhex(real[i], &n);
		size_t outlen = 0;
		if (b != NULL && sotto__spqr_msg_decode(&m, b, n, &used) == 0 && used == n &&
		    sotto__spqr_msg_encode(&m, out, sizeof out, &outlen) == 0 && outlen == n &&
		    memcmp(out, b, n) == 0)
			ok++;
		free(b);
	}
	tu_report("libsignal pq_ratchet fields round-trip", ok, 3);
	CHECK_RC(dec(real[0], &m, &used), 0);
	CHECK(m.epoch == 1 && m.index == 1 && m.type == SOTTO_SPQR_MSG_HDR && m.chunk_index == 0);
	CHECK_RC(dec(real[2], &m, &used), 0);
	CHECK(m.epoch == 1 && m.index == 45 && m.type == SOTTO_SPQR_MSG_CT1_ACK && used == 4);

	/* Every truncation of a chunked message fails. */
	uint8_t *full = tu_unhex(real[0], &n);
	CHECK(full != NULL);
	size_t trunc_ok = 0;
	for (size_t k = 0; full != NULL && k < n; k++)
		trunc_ok += sotto__spqr_msg_decode(&m, full, k, NULL) == SOTTO_ERR_INVALID_MESSAGE;
	tu_report("truncated messages refused", trunc_ok, n);
	/* Trailing bytes are ignored, as libsignal does. */
	if (full != NULL) {
		memcpy(in, full, n);
		in[n] = 0xEE;
		CHECK_RC(sotto__spqr_msg_decode(&m, in, n + 1, &used), 0);
		CHECK(used == n);
	}
	free(full);

	CHECK_RC(dec("", &m, NULL), SOTTO_ERR_INVALID_MESSAGE);
	CHECK_RC(dec("00010100", &m, NULL), SOTTO_ERR_INVALID_MESSAGE); /* version 0 */
	CHECK_RC(dec("02010100", &m, NULL), SOTTO_ERR_INVALID_MESSAGE); /* version 2 */
	CHECK_RC(dec("01000100", &m, NULL), SOTTO_ERR_INVALID_MESSAGE); /* epoch 0 */
	CHECK_RC(dec("01010107", &m, NULL), SOTTO_ERR_INVALID_MESSAGE); /* type 7 */
	CHECK_RC(dec("010101ff", &m, NULL), SOTTO_ERR_INVALID_MESSAGE);
	CHECK_RC(dec("010100", &m, NULL), SOTTO_ERR_INVALID_MESSAGE); /* no type */
	CHECK_RC(dec("01010000", &m, NULL), 0);			      /* index 0 */
	CHECK_RC(dec("01018080808000" "04", &m, NULL), 0);	      /* non-minimal, as libsignal */
	CHECK(m.index == 0);
	/* index: 2^32 - 1 fits, 2^32 does not */
	CHECK_RC(dec("0101ffffffff0f04", &m, NULL), 0);
	CHECK(m.index == UINT32_MAX);
	CHECK_RC(dec("010180808080100" "4", &m, NULL), SOTTO_ERR_INVALID_MESSAGE);
	/* epoch: a 10-byte varint may carry only bit 63 in its last byte */
	CHECK_RC(dec("01ffffffffffffffffff010104", &m, NULL), 0);
	CHECK(m.epoch == UINT64_MAX);
	CHECK_RC(dec("01ffffffffffffffffff020104", &m, NULL), SOTTO_ERR_INVALID_MESSAGE);
	CHECK_RC(dec("01ffffffffffffffffff80010104", &m, NULL), SOTTO_ERR_INVALID_MESSAGE);
	/* chunk index 65535 fits, 65536 does not */
	char buf[200];
	strcpy(buf, "01010102ffff03");
	for (int i = 0; i < 32; i++)
		strcat(buf, "5a");
	CHECK_RC(dec(buf, &m, &used), 0);
	CHECK(m.chunk_index == 65535 && m.chunk[31] == 0x5a && used == 7 + 32);
	memcpy(buf, "01010102808004", 14);
	CHECK_RC(dec(buf, &m, NULL), SOTTO_ERR_INVALID_MESSAGE);
	buf[strlen(buf) - 2] = 0; /* 31 data bytes */
	memcpy(buf, "01010102ffff03", 14);
	CHECK_RC(dec(buf, &m, NULL), SOTTO_ERR_INVALID_MESSAGE);

	/* Encoder: canonical LEB128, rejects epoch 0 and unknown types, needs room. */
	size_t len;
	memset(&m, 0, sizeof m);
	m.epoch = 300;
	m.index = 0x12345678;
	m.type = SOTTO_SPQR_MSG_CT2;
	m.chunk_index = 300;
	CHECK_RC(sotto__spqr_msg_encode(&m, out, sizeof out, &len), 0);
	CHECK(len == 1 + 2 + 5 + 1 + 2 + 32 && out[1] == 0xAC && out[2] == 0x02);
	CHECK_RC(sotto__spqr_msg_encode(&m, out, len - 1, &len), SOTTO_ERR_BUFFER_TOO_SMALL);
	m.epoch = UINT64_MAX;
	m.index = UINT32_MAX;
	m.chunk_index = UINT16_MAX;
	CHECK_RC(sotto__spqr_msg_encode(&m, out, sizeof out, &len), 0);
	CHECK(len == SOTTO_SPQR_MSG_MAX_BYTES);
	m.epoch = 0;
	CHECK_RC(sotto__spqr_msg_encode(&m, out, sizeof out, &len), SOTTO_ERR_INVALID_ARGUMENT);
	m.epoch = 1;
	m.type = 7;
	CHECK_RC(sotto__spqr_msg_encode(&m, out, sizeof out, &len), SOTTO_ERR_INVALID_ARGUMENT);

	/* Random round trips. */
	uint64_t st = 99;
	size_t rt = 0;
	for (int i = 0; i < 2000; i++) {
		sotto_spqr_msg a, b;
		memset(&a, 0, sizeof a);
		a.epoch = tu_rand64(&st) >> (tu_rand64(&st) % 64);
		a.epoch += a.epoch == 0;
		a.index = (uint32_t)(tu_rand64(&st) >> (tu_rand64(&st) % 64));
		a.type = (uint8_t)(tu_rand64(&st) % 7);
		if (sotto__spqr_msg_has_chunk(a.type)) {
			a.chunk_index = (uint16_t)tu_rand64(&st);
			tu_randbytes(&st, a.chunk, 32);
		}
		if (sotto__spqr_msg_encode(&a, out, sizeof out, &len) == 0 &&
		    sotto__spqr_msg_decode(&b, out, len, &used) == 0 && used == len &&
		    a.epoch == b.epoch && a.index == b.index && a.type == b.type &&
		    a.chunk_index == b.chunk_index && memcmp(a.chunk, b.chunk, 32) == 0)
			rt++;
	}
	tu_report("random messages round-trip", rt, 2000);
}

/* ---- authenticator ---- */

static void test_auth(void)
{
	uint8_t key[32], s1[32], want[32], hdr[96], mac[32];
	sotto_spqr_auth a;

	CHECK(tu_unhex_into(key, 32, AUTH_KEY) == 0 && tu_unhex_into(s1, 32, S1) == 0);
	/* hdr || mac_hdr: chunks 0..2 of libsignal's epoch-1 Hdr stream */
	CHECK(tu_unhex_into(hdr, 96,
			    "858741dbb5fc57b73161b4b7e77c880812b811ead01b8df5b59dcb0cb479111a"
			    "b9720c0f4a4a0521d3748f261133fbaf1676dd3c3e778ffad6f5349c5052dcf7"
			    "9d65df4336e4e6b1709108414e09b49f160887b2eb20129dbd38352f6aaa5ed3") == 0);
	CHECK_RC(sotto__spqr_auth_init(&a, key, 32), 0);
	CHECK(tu_unhex_into(want, 32, "f01c03ddd00cde1e7425f56b96c00b0a0a05c36a3f6a189480b8535f9b5b0497") == 0);
	CHECK_MEM(a.root, want, 32);
	CHECK(tu_unhex_into(want, 32, "429c951abd8459d39867a46d0ab0a19c20f7c29f4ce280fe3f2ae33d8d5041e8") == 0);
	CHECK_MEM(a.mac, want, 32);
	CHECK_RC(sotto__spqr_auth_mac_hdr(&a, 1, hdr, 64, mac), 0);
	CHECK_MEM(mac, hdr + 64, 32);
	CHECK_RC(sotto__spqr_auth_verify_hdr(&a, 1, hdr, 64, hdr + 64), 0);
	CHECK_RC(sotto__spqr_auth_verify_hdr(&a, 2, hdr, 64, hdr + 64), SOTTO_ERR_INVALID_MESSAGE);
	hdr[95] ^= 1;
	CHECK_RC(sotto__spqr_auth_verify_hdr(&a, 1, hdr, 64, hdr + 64), SOTTO_ERR_INVALID_MESSAGE);
	hdr[95] ^= 1;
	hdr[3] ^= 0x80;
	CHECK_RC(sotto__spqr_auth_verify_hdr(&a, 1, hdr, 64, hdr + 64), SOTTO_ERR_INVALID_MESSAGE);

	CHECK_RC(sotto__spqr_auth_update(&a, 1, s1, 32), 0);
	CHECK(tu_unhex_into(want, 32, "872749639206986096b5f4369135cd618bdb8bdf5572d50826131ceac421dc5b") == 0);
	CHECK_MEM(a.root, want, 32);
	CHECK(tu_unhex_into(want, 32, "5dc0cd0946591151cd0eb7767760143e813bc844c96c1965f108cadde020cec1") == 0);
	CHECK_MEM(a.mac, want, 32);

	/* mac_ct covers ct1 || ct2 as one string, whatever the split. */
	uint8_t ct[1088], m1[32], m2[32];
	uint64_t st = 5;
	tu_randbytes(&st, ct, sizeof ct);
	CHECK_RC(sotto__spqr_auth_mac_ct(&a, 1, ct, 960, ct + 960, 128, m1), 0);
	CHECK_RC(sotto__spqr_auth_mac_ct(&a, 1, ct, 1000, ct + 1000, 88, m2), 0);
	CHECK_MEM(m1, m2, 32);
	CHECK_RC(sotto__spqr_auth_verify_ct(&a, 1, ct, 960, ct + 960, 128, m1), 0);
	m1[31] ^= 1;
	CHECK_RC(sotto__spqr_auth_verify_ct(&a, 1, ct, 960, ct + 960, 128, m1), SOTTO_ERR_INVALID_MESSAGE);
	uint8_t big[65] = { 0 };
	CHECK_RC(sotto__spqr_auth_update(&a, 2, big, sizeof big), SOTTO_ERR_INVALID_ARGUMENT);
	sotto__spqr_auth_clear(&a);
}

/* ---- chain ---- */

/* Pulls fields out of the storage format documented in spqr.h. */
struct view {
	uint64_t current_epoch, send_epoch;
	uint8_t next_root[32];
	uint32_t nlinks;
	struct {
		uint32_t ctr, nkeys;
		int has_next;
		uint8_t next[32];
	} d[8][2];
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int view(const sotto_spqr_chain *c, struct view *v)
{
	size_t n = sotto__spqr_chain_serialized_size(c), len;
	uint8_t *b = malloc(n);
	const uint8_t *p;

	memset(v, 0, sizeof *v);
	if (b == NULL || sotto__spqr_chain_serialize(c, b, n, &len) != 0 || len != n) {
		free(b);
		return -1;
	}
	p = b + 10;
	v->current_epoch = (uint64_t)rd32(p) << 32 | rd32(p + 4);
	v->send_epoch = (uint64_t)rd32(p + 8) << 32 | rd32(p + 12);
	memcpy(v->next_root, p + 16, 32);
	v->nlinks = rd32(p + 48);
	p += 52;
	for (uint32_t l = 0; l < v->nlinks; l++) {
		for (int s = 0; s < 2; s++) {
			int has = *p++;
			if (l < 8) {
				v->d[l][s].has_next = has;
				v->d[l][s].ctr = rd32(p);
				if (has)
					memcpy(v->d[l][s].next, p + 4, 32);
			}
			p += 4 + (has ? 32 : 0);
			uint32_t nk = rd32(p);
			if (l < 8)
				v->d[l][s].nkeys = nk;
			p += 4 + (size_t)nk * 36;
		}
	}
	free(b);
	return 0;
}

static int hexeq(const uint8_t *b, const char *h)
{
	uint8_t x[32];
	return tu_unhex_into(x, 32, h) == 0 && memcmp(x, b, 32) == 0;
}

static void test_chain_libsignal(void)
{
	uint8_t key[32], s1[32], k[32];
	sotto_spqr_chain *c = NULL;
	struct view v;
	uint32_t idx;

	CHECK(tu_unhex_into(key, 32, AUTH_KEY) == 0 && tu_unhex_into(s1, 32, S1) == 0);
	CHECK_RC(sotto__spqr_chain_new(&c, key, 32, SOTTO_SPQR_A2B, 0, 0), 0);
	if (c == NULL)
		return;
	/* libsignal's record for A after its first message. */
	CHECK_RC(sotto__spqr_chain_send_key(c, 0, &idx, k, NULL), 0);
	CHECK(idx == 1);
	CHECK(view(c, &v) == 0);
	CHECK(hexeq(v.next_root, "f44a2fb91971c31bef0ddc3fb4b8b0aba634b55b3c560a3d9647e863f79c2723"));
	CHECK(v.d[0][0].ctr == 1 &&
	      hexeq(v.d[0][0].next, "7041460688a3a4c62984a7de04a054ee02c34bb5d191ed447fae819ba5cdfe28"));
	CHECK(v.d[0][1].ctr == 0 &&
	      hexeq(v.d[0][1].next, "451d773a590fac0b4455c3217f8572e886f935de83039e98ca9e9aa02664716e"));
	/* ...and once epoch 1 was added, having sent 48 and received 46 keys
	 * of epoch 0. */
	for (int i = 1; i < 48; i++)
		CHECK_RC(sotto__spqr_chain_send_key(c, 0, &idx, k, NULL), 0);
	CHECK(idx == 48);
	CHECK_RC(sotto__spqr_chain_recv_key(c, 0, 46, k, NULL), 0);
	CHECK_RC(sotto__spqr_chain_add_epoch(c, 1, s1), 0);
	CHECK(view(c, &v) == 0);
	CHECK(v.current_epoch == 1 && v.send_epoch == 0 && v.nlinks == 2);
	CHECK(hexeq(v.next_root, "10eae0f16f8dbc5c9945f820957c06b810a0d9988470f3ae422935bbde13ca04"));
	CHECK(hexeq(v.d[0][0].next, "98859f180277bd35df53c50d243c05dda79c4400f79e3a627ec1276865d4c6f0"));
	CHECK(v.d[0][1].ctr == 46 &&
	      hexeq(v.d[0][1].next, "02eddca2301ac850a84ba3d238190ca530c180fe4b04ae25c96c1276431c1df2"));
	CHECK(v.d[0][1].nkeys == 45);
	CHECK(hexeq(v.d[1][0].next, "e4e4cad20ceb66c069792cdf890a18e0dc3b50fe4fa55ce658ccb74857818935"));
	CHECK(hexeq(v.d[1][1].next, "ea4867b742390f07819bbf8f3d4a18ad20e486e24075a067b82a1b637b6241f8"));
	sotto__spqr_chain_free(c);
}

static sotto_spqr_chain *mk(enum sotto_spqr_direction dir, uint32_t jump, uint32_t ooo)
{
	static const uint8_t key[32] = { 1, 2, 3 };
	sotto_spqr_chain *c = NULL;
	CHECK_RC(sotto__spqr_chain_new(&c, key, 32, dir, jump, ooo), 0);
	if (c == NULL)
		abort();
	return c;
}

static int roundtrip_exact(sotto_spqr_chain **c)
{
	size_t n = sotto__spqr_chain_serialized_size(*c), l1, l2;
	uint8_t *a = malloc(n), *b = malloc(n);
	sotto_spqr_chain *d = NULL;
	int ok = a && b && sotto__spqr_chain_serialize(*c, a, n, &l1) == 0 &&
		 sotto__spqr_chain_deserialize(&d, a, l1) == 0 &&
		 sotto__spqr_chain_serialize(d, b, n, &l2) == 0 && l1 == l2 && memcmp(a, b, l1) == 0;
	if (ok) {
		sotto__spqr_chain_free(*c);
		*c = d;
	} else {
		sotto__spqr_chain_free(d);
	}
	free(a);
	free(b);
	return ok;
}

static void test_chain_limits(void)
{
	sotto_spqr_chain *a = mk(SOTTO_SPQR_A2B, 0, 0), *b = mk(SOTTO_SPQR_B2A, 0, 0);
	enum sotto_spqr_chain_why why;
	uint8_t k[32], k2[32], sent[64][32];
	uint32_t idx;

	/* Directions pair up: A's send chain is B's receive chain. */
	for (int i = 0; i < 64; i++) {
		CHECK_RC(sotto__spqr_chain_send_key(a, 0, &idx, sent[i], NULL), 0);
		CHECK(idx == (uint32_t)i + 1);
	}
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 10, k, &why), 0);
	CHECK_MEM(k, sent[9], 32);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 3, k, &why), 0); /* out of order */
	CHECK_MEM(k, sent[2], 32);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 3, k, &why), SOTTO_ERR_DUPLICATE_MESSAGE);
	CHECK(why == SOTTO_SPQR_CHAIN_KEY_ALREADY_REQUESTED);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 10, k, &why), SOTTO_ERR_DUPLICATE_MESSAGE);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 0, k, &why), SOTTO_ERR_DUPLICATE_MESSAGE);
	CHECK(roundtrip_exact(&b));
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 7, k, &why), 0); /* skipped key survives storage */
	CHECK_MEM(k, sent[6], 32);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 1, k, NULL), 0);
	CHECK_MEM(k, sent[0], 32);

	/* max_jump: +25000 from the counter is fine, +25001 is not. */
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 10 + 25001, k, &why), SOTTO_ERR_INVALID_MESSAGE);
	CHECK(why == SOTTO_SPQR_CHAIN_KEY_JUMP);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 10 + 25000, k, &why), 0);
	CHECK(why == SOTTO_SPQR_CHAIN_OK);
	/* Keys back to ctr - 2000 are kept, older ones are trimmed. */
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 25010 - 2000, k, &why), 0);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 25010 - 2001, k, &why), SOTTO_ERR_INVALID_MESSAGE);
	CHECK(why == SOTTO_SPQR_CHAIN_KEY_TRIMMED);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 2, k, &why), SOTTO_ERR_INVALID_MESSAGE);
	CHECK(why == SOTTO_SPQR_CHAIN_KEY_TRIMMED);
	CHECK(roundtrip_exact(&b));
	struct view v;
	CHECK(view(b, &v) == 0 && v.d[0][1].nkeys == 1999 && v.d[0][1].ctr == 25010);

	/* Epochs: out of range, add, send epoch moves forward only. */
	uint8_t s[32] = { 9 };
	CHECK_RC(sotto__spqr_chain_recv_key(b, 1, 1, k, &why), SOTTO_ERR_INVALID_MESSAGE);
	CHECK(why == SOTTO_SPQR_CHAIN_EPOCH_OUT_OF_RANGE);
	CHECK_RC(sotto__spqr_chain_add_epoch(a, 2, s), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto__spqr_chain_add_epoch(a, 1, s), 0);
	CHECK_RC(sotto__spqr_chain_add_epoch(b, 1, s), 0);
	for (uint64_t e = 2; e <= 3; e++) {
		s[0] = (uint8_t)(9 + e);
		CHECK_RC(sotto__spqr_chain_add_epoch(a, e, s), 0);
		CHECK_RC(sotto__spqr_chain_add_epoch(b, e, s), 0);
	}
	CHECK_RC(sotto__spqr_chain_send_key(a, 2, &idx, k, &why), 0);
	CHECK(idx == 1);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 2, 1, k2, NULL), 0);
	CHECK_MEM(k, k2, 32);
	CHECK_RC(sotto__spqr_chain_send_key(a, 1, &idx, k, &why), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK(why == SOTTO_SPQR_CHAIN_SEND_EPOCH_DECREASED);
	/* A kept epoch 1 (one before the send epoch) and dropped epoch 0. */
	CHECK_RC(sotto__spqr_chain_recv_key(a, 1, 1, k, &why), 0);
	CHECK_RC(sotto__spqr_chain_recv_key(a, 0, 1, k, &why), SOTTO_ERR_INVALID_MESSAGE);
	CHECK(why == SOTTO_SPQR_CHAIN_EPOCH_OUT_OF_RANGE);
	CHECK(view(a, &v) == 0 && v.nlinks == 3 && v.send_epoch == 2 && !v.d[0][0].has_next &&
	      v.d[1][0].has_next);
	CHECK(roundtrip_exact(&a));
	/* Header-level helpers: epoch E uses chain epoch E - 1. */
	int has;
	CHECK_RC(sotto__spqr_chain_msg_send_key(a, 3, &idx, k, NULL), 0);
	CHECK(idx == 2);
	CHECK_RC(sotto__spqr_chain_msg_recv_key(b, 3, 2, k2, &has, NULL), 0);
	CHECK(has && memcmp(k, k2, 32) == 0);
	sotto_spqr_chain *fresh = mk(SOTTO_SPQR_B2A, 0, 0);
	CHECK_RC(sotto__spqr_chain_msg_recv_key(fresh, 1, 0, k, &has, NULL), 0);
	CHECK(!has);
	CHECK_RC(sotto__spqr_chain_msg_recv_key(fresh, 0, 1, k, &has, NULL), SOTTO_ERR_INVALID_MESSAGE);

	/* Clone is deep and independent. */
	sotto_spqr_chain *cl = NULL;
	CHECK_RC(sotto__spqr_chain_clone(&cl, b), 0);
	CHECK_RC(sotto__spqr_chain_recv_key(cl, 0, 25010 - 1500, k, NULL), 0);
	CHECK_RC(sotto__spqr_chain_recv_key(b, 0, 25010 - 1500, k2, NULL), 0);
	CHECK_MEM(k, k2, 32);
	sotto__spqr_chain_free(cl);

	/* A self-session (max_jump 2^32-1) takes any jump; small limits work. */
	sotto_spqr_chain *self = mk(SOTTO_SPQR_A2B, UINT32_MAX, 3);
	CHECK_RC(sotto__spqr_chain_recv_key(self, 0, 30000, k, &why), 0);
	CHECK_RC(sotto__spqr_chain_recv_key(self, 0, 29997, k, &why), 0);
	CHECK_RC(sotto__spqr_chain_recv_key(self, 0, 29996, k, &why), SOTTO_ERR_INVALID_MESSAGE);
	CHECK(why == SOTTO_SPQR_CHAIN_KEY_TRIMMED);

	/* Storage rejects damaged input. */
	size_t n = sotto__spqr_chain_serialized_size(b), len;
	uint8_t *buf = malloc(n + 1);
	sotto_spqr_chain *d = NULL;
	CHECK(buf != NULL && sotto__spqr_chain_serialize(b, buf, n, &len) == 0);
	CHECK_RC(sotto__spqr_chain_serialize(b, buf, n - 1, &len), SOTTO_ERR_BUFFER_TOO_SMALL);
	size_t refused = 0, tries = 0;
	for (size_t cut = 0; cut < n; cut += 1 + cut / 8, tries++)
		refused += sotto__spqr_chain_deserialize(&d, buf, cut) == SOTTO_ERR_INVALID_ARGUMENT;
	tu_report("truncated chain states refused", refused, tries);
	buf[n] = 0;
	CHECK_RC(sotto__spqr_chain_deserialize(&d, buf, n + 1), SOTTO_ERR_INVALID_ARGUMENT);
	buf[0] = 2;
	CHECK_RC(sotto__spqr_chain_deserialize(&d, buf, n), SOTTO_ERR_INVALID_ARGUMENT);
	buf[0] = 1;
	buf[1] = 2;
	CHECK_RC(sotto__spqr_chain_deserialize(&d, buf, n), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK(d == NULL);
	free(buf);

	sotto__spqr_chain_free(self);
	sotto__spqr_chain_free(fresh);
	sotto__spqr_chain_free(a);
	sotto__spqr_chain_free(b);
	sotto__spqr_chain_free(NULL);
}

int main(void)
{
	test_codec();
	test_auth();
	test_chain_libsignal();
	test_chain_limits();
	return tu_finish("spqr_blocks");
}
