/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* SignalMessage / PreKeySignalMessage codecs: exact bytes, round trips, and
 * rejection of every truncation, version nibble and MAC corruption. */
#include <stdlib.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/protocol.h"
#include "testutil.h"

static uint8_t ik_a[33], ik_b[33];
static const uint8_t mac_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void fill_key(uint8_t k[33], uint8_t v)
{
	k[0] = 0x05;
	memset(k + 1, v, 32);
}

/* The protobuf a SignalMessage must carry, written out by hand from facts 3.3
 * (ascending field numbers, counter 0 written as 10 00). */
static void test_exact_bytes(void)
{
	sotto_signal_message m;
	uint8_t ct[16], out[256], expect[256];
	size_t outlen, n = 0;

	memset(&m, 0, sizeof(m));
	memset(ct, 0xCC, sizeof(ct));
	m.version = 4;
	fill_key(m.ratchet_key, 0xAA);
	m.counter = 0;
	m.previous_counter = 300;
	m.ciphertext = ct;
	m.ciphertext_len = sizeof(ct);
	CHECK_RC(sotto_signal_message_encode(out, sizeof(out), &outlen, &m, mac_key, ik_a, ik_b), 0);
	expect[n++] = 0x44;
	expect[n++] = 0x0A;
	expect[n++] = 33;
	memcpy(expect + n, m.ratchet_key, 33);
	n += 33;
	expect[n++] = 0x10;
	expect[n++] = 0x00;
	expect[n++] = 0x18;
	expect[n++] = 0xAC; /* 300 = 0xAC 0x02 */
	expect[n++] = 0x02;
	expect[n++] = 0x22;
	expect[n++] = 16;
	memcpy(expect + n, ct, 16);
	n += 16;
	CHECK(outlen == n + 8);
	CHECK_MEM(out, expect, n);
	CHECK_RC(sotto_signal_message_verify_mac(out, outlen, mac_key, ik_a, ik_b), 0);
	/* Receiver/sender order matters. */
	CHECK_RC(sotto_signal_message_verify_mac(out, outlen, mac_key, ik_b, ik_a),
		 SOTTO_ERR_INVALID_MESSAGE);

	/* With pq_ratchet and addresses: fields 5 then 6 follow 4. */
	{
		uint8_t pq[4] = {1, 1, 1, 0}, addr[36];
		size_t l2;

		memset(addr, 0x11, sizeof(addr));
		m.pq_ratchet = pq;
		m.pq_ratchet_len = 4;
		m.addresses = addr;
		m.addresses_len = 36;
		CHECK_RC(sotto_signal_message_encode(out, sizeof(out), &l2, &m, mac_key, ik_a, ik_b),
			 0);
		CHECK(l2 == n + 6 + 38 + 8);
		CHECK_MEM(out, expect, n);
		CHECK(out[n] == 0x2A && out[n + 1] == 4 && memcmp(out + n + 2, pq, 4) == 0);
		CHECK(out[n + 6] == 0x32 && out[n + 7] == 36);
		/* Size query and too-small buffer. */
		CHECK_RC(sotto_signal_message_encode(NULL, 0, &l2, &m, mac_key, ik_a, ik_b),
			 SOTTO_ERR_BUFFER_TOO_SMALL);
		CHECK(l2 == n + 6 + 38 + 8);
		CHECK_RC(sotto_signal_message_encode(out, l2 - 1, &l2, &m, mac_key, ik_a, ik_b),
			 SOTTO_ERR_BUFFER_TOO_SMALL);
	}
}

static size_t make_signal(uint8_t *out, size_t cap, uint32_t counter, int with_pq)
{
	sotto_signal_message m;
	uint8_t ct[32], pq[37];
	size_t outlen = 0;

	memset(&m, 0, sizeof(m));
	memset(ct, 0x5A, sizeof(ct));
	memset(pq, 0x01, sizeof(pq));
	m.version = 4;
	fill_key(m.ratchet_key, 0x42);
	m.counter = counter;
	m.previous_counter = 7;
	m.ciphertext = ct;
	m.ciphertext_len = sizeof(ct);
	if (with_pq) {
		m.pq_ratchet = pq;
		m.pq_ratchet_len = sizeof(pq);
	}
	CHECK_RC(sotto_signal_message_encode(out, cap, &outlen, &m, mac_key, ik_a, ik_b), 0);
	return outlen;
}

static void test_signal_roundtrip_and_rejections(void)
{
	uint8_t buf[512], tmp[512];
	size_t len = make_signal(buf, sizeof(buf), 123456, 1), i;
	sotto_signal_message m;
	unsigned hi, lo;
	size_t ok_trunc = 0;

	CHECK_RC(sotto_signal_message_parse(&m, buf, len), 0);
	CHECK(m.version == 4 && m.counter == 123456 && m.previous_counter == 7);
	CHECK(m.ciphertext_len == 32 && m.ciphertext[0] == 0x5A);
	CHECK(m.pq_ratchet_len == 37 && m.pq_ratchet != NULL && m.addresses == NULL);
	CHECK(m.ratchet_key[0] == 0x05 && m.ratchet_key[1] == 0x42);
	CHECK_MEM(m.mac, buf + len - 8, 8);
	/* Re-encoding the parsed message reproduces the bytes. */
	{
		size_t l2;

		CHECK_RC(sotto_signal_message_encode(tmp, sizeof(tmp), &l2, &m, mac_key, ik_a, ik_b),
			 0);
		CHECK(l2 == len && memcmp(tmp, buf, len) == 0);
	}
	sotto_signal_message_clear(&m);

	/* Every truncation either fails to parse or fails the MAC. */
	for (i = 0; i < len; i++) {
		int p = sotto_signal_message_parse(&m, buf, i);

		if (p == 0) {
			CHECK_RC(sotto_signal_message_verify_mac(buf, i, mac_key, ik_a, ik_b),
				 SOTTO_ERR_INVALID_MESSAGE);
			ok_trunc++;
		} else {
			CHECK(p == SOTTO_ERR_INVALID_MESSAGE);
		}
		sotto_signal_message_clear(&m);
	}
	CHECK(sotto_signal_message_parse(&m, buf, 8) == SOTTO_ERR_INVALID_MESSAGE);

	/* Version nibbles: high nibble 3 or 4 parses, anything else fails; the
	 * low nibble is ignored. */
	for (hi = 0; hi < 16; hi++) {
		for (lo = 0; lo < 16; lo++) {
			int p;

			memcpy(tmp, buf, len);
			tmp[0] = (uint8_t)(hi << 4 | lo);
			p = sotto_signal_message_parse(&m, tmp, len);
			if (hi == 3 || hi == 4) {
				CHECK(p == 0 && m.version == hi);
			} else {
				CHECK(p == SOTTO_ERR_INVALID_MESSAGE);
			}
			sotto_signal_message_clear(&m);
		}
	}

	/* Any flipped bit breaks the MAC. */
	for (i = 0; i < len; i++) {
		memcpy(tmp, buf, len);
		tmp[i] ^= 0x01;
		CHECK_RC(sotto_signal_message_verify_mac(tmp, len, mac_key, ik_a, ik_b),
			 SOTTO_ERR_INVALID_MESSAGE);
	}
	CHECK_RC(sotto_signal_message_verify_mac(buf, len, mac_key, ik_a, ik_b), 0);
	(void)ok_trunc;
}

/* Hand-built protobufs for the required-field rules. */
static size_t put_field_bytes(uint8_t *p, uint8_t tag, const uint8_t *d, size_t n)
{
	p[0] = tag;
	p[1] = (uint8_t)n;
	memcpy(p + 2, d, n);
	return 2 + n;
}

static void test_signal_required_fields(void)
{
	uint8_t key[33], ct[16], msg[128];
	sotto_signal_message m;
	int mask;

	fill_key(key, 9);
	memset(ct, 1, sizeof(ct));
	/* 1 ratchet_key, 2 counter, 4 ciphertext: each is required. */
	for (mask = 0; mask < 8; mask++) {
		size_t n = 0;

		msg[n++] = 0x44;
		if (mask & 1)
			n += put_field_bytes(msg + n, 0x0A, key, 33);
		if (mask & 2) {
			msg[n++] = 0x10;
			msg[n++] = 5;
		}
		if (mask & 4)
			n += put_field_bytes(msg + n, 0x22, ct, 16);
		memset(msg + n, 0, 8);
		n += 8;
		CHECK(sotto_signal_message_parse(&m, msg, n) ==
		      (mask == 7 ? 0 : SOTTO_ERR_INVALID_MESSAGE));
		if (mask == 7)
			CHECK(m.previous_counter == 0 && m.counter == 5);
		sotto_signal_message_clear(&m);
	}
	/* A ratchet key with a wrong type byte or too short. */
	{
		size_t n = 0;

		key[0] = 0x06;
		msg[n++] = 0x44;
		n += put_field_bytes(msg + n, 0x0A, key, 33);
		msg[n++] = 0x10;
		msg[n++] = 0;
		n += put_field_bytes(msg + n, 0x22, ct, 16);
		n += 8;
		CHECK_RC(sotto_signal_message_parse(&m, msg, n), SOTTO_ERR_INVALID_MESSAGE);
		key[0] = 0x05;
		n = 0;
		msg[n++] = 0x44;
		n += put_field_bytes(msg + n, 0x0A, key, 32);
		msg[n++] = 0x10;
		msg[n++] = 0;
		n += put_field_bytes(msg + n, 0x22, ct, 16);
		n += 8;
		CHECK_RC(sotto_signal_message_parse(&m, msg, n), SOTTO_ERR_INVALID_MESSAGE);
		/* 34-byte key: accepted, extra byte ignored (libsignal). */
		n = 0;
		msg[n++] = 0x44;
		{
			uint8_t k34[34];

			memcpy(k34, key, 33);
			k34[33] = 0x77;
			n += put_field_bytes(msg + n, 0x0A, k34, 34);
		}
		msg[n++] = 0x10;
		msg[n++] = 0;
		n += put_field_bytes(msg + n, 0x22, ct, 16);
		/* An unknown field (15, varint) is ignored. */
		msg[n++] = 0x78;
		msg[n++] = 1;
		n += 8;
		CHECK_RC(sotto_signal_message_parse(&m, msg, n), 0);
		CHECK_MEM(m.ratchet_key, key, 33);
		sotto_signal_message_clear(&m);
	}
	/* Garbage protobuf. */
	{
		uint8_t g[20] = {0x44, 0x0A, 0xFF, 0xFF, 0xFF};

		CHECK_RC(sotto_signal_message_parse(&m, g, sizeof(g)), SOTTO_ERR_INVALID_MESSAGE);
	}
}

static size_t make_prekey(uint8_t *out, size_t cap, int with_opk, uint8_t *inner, size_t *innerlen)
{
	sotto_prekey_signal_message p;
	uint8_t kct[SOTTO_KEM_CIPHERTEXT_BYTES];
	size_t outlen = 0;

	*innerlen = make_signal(inner, 512, 0, 1);
	memset(&p, 0, sizeof(p));
	memset(kct, 0x3C, sizeof(kct));
	kct[0] = 0x08;
	p.version = 4;
	p.registration_id = 2222;
	p.has_pre_key_id = with_opk;
	p.pre_key_id = 9;
	p.signed_pre_key_id = 7;
	p.has_kyber = 1;
	p.kyber_pre_key_id = 11;
	p.kyber_ciphertext = kct;
	p.kyber_ciphertext_len = sizeof(kct);
	fill_key(p.base_key, 0x61);
	memcpy(p.identity_key, ik_a, 33);
	p.message = inner;
	p.message_len = *innerlen;
	CHECK_RC(sotto_prekey_signal_message_encode(out, cap, &outlen, &p), 0);
	return outlen;
}

static void test_prekey(void)
{
	static uint8_t buf[4096], tmp[4096];
	uint8_t inner[512];
	size_t innerlen, len, i;
	sotto_prekey_signal_message p;
	unsigned hi;
	int opk;

	for (opk = 0; opk < 2; opk++) {
		len = make_prekey(buf, sizeof(buf), opk, inner, &innerlen);
		/* Field order: 1 (if any), 2, 3, 4, 5, 6, 7, 8. */
		i = 1;
		if (opk) {
			CHECK(buf[1] == 0x08 && buf[2] == 9);
			i = 3;
		}
		CHECK(buf[i] == 0x12 && buf[i + 1] == 33);
		CHECK(buf[i + 35] == 0x1A && buf[i + 36] == 33);
		CHECK(buf[i + 70] == 0x22);
		CHECK_RC(sotto_prekey_signal_message_parse(&p, buf, len), 0);
		CHECK(p.version == 4 && p.registration_id == 2222 && p.signed_pre_key_id == 7);
		CHECK(p.has_pre_key_id == opk && (!opk || p.pre_key_id == 9));
		CHECK(p.has_kyber && p.kyber_pre_key_id == 11 &&
		      p.kyber_ciphertext_len == SOTTO_KEM_CIPHERTEXT_BYTES &&
		      p.kyber_ciphertext[0] == 0x08);
		CHECK(p.message_len == innerlen && memcmp(p.message, inner, innerlen) == 0);
		CHECK(p.inner.counter == 0 && p.inner.previous_counter == 7);
		CHECK_MEM(p.identity_key, ik_a, 33);
		{
			size_t l2;

			CHECK_RC(sotto_prekey_signal_message_encode(tmp, sizeof(tmp), &l2, &p), 0);
			CHECK(l2 == len && memcmp(tmp, buf, len) == 0);
		}
		sotto_prekey_signal_message_clear(&p);

		/* Every truncation fails: the required and paired fields come
		 * last, and every prefix breaks one of them. */
		for (i = 0; i < len; i++)
			CHECK_RC(sotto_prekey_signal_message_parse(&p, buf, i),
				 SOTTO_ERR_INVALID_MESSAGE);
		for (hi = 0; hi < 16; hi++) {
			memcpy(tmp, buf, len);
			tmp[0] = (uint8_t)(hi << 4 | 4);
			if (hi == 4) {
				CHECK_RC(sotto_prekey_signal_message_parse(&p, tmp, len), 0);
			} else if (hi == 3) {
				/* Parses (Kyber present); PQXDH rejects v3. */
				CHECK_RC(sotto_prekey_signal_message_parse(&p, tmp, len), 0);
				CHECK(p.version == 3);
			} else {
				CHECK_RC(sotto_prekey_signal_message_parse(&p, tmp, len),
					 SOTTO_ERR_INVALID_MESSAGE);
			}
			sotto_prekey_signal_message_clear(&p);
		}
	}
	/* A broken inner message makes the whole message invalid. */
	{
		sotto_prekey_signal_message q;
		uint8_t badinner[4] = {0x44, 0, 0, 0};

		memset(&q, 0, sizeof(q));
		q.version = 4;
		q.signed_pre_key_id = 1;
		q.has_kyber = 1;
		q.kyber_ciphertext = tmp;
		q.kyber_ciphertext_len = 5;
		fill_key(q.base_key, 1);
		fill_key(q.identity_key, 2);
		q.message = badinner;
		q.message_len = sizeof(badinner);
		CHECK_RC(sotto_prekey_signal_message_encode(buf, sizeof(buf), &len, &q), 0);
		CHECK_RC(sotto_prekey_signal_message_parse(&p, buf, len), SOTTO_ERR_INVALID_MESSAGE);
		/* Kyber absent with version 4: rejected; with version 3: parses. */
		q.message = inner;
		q.message_len = innerlen;
		q.has_kyber = 0;
		CHECK_RC(sotto_prekey_signal_message_encode(buf, sizeof(buf), &len, &q), 0);
		CHECK_RC(sotto_prekey_signal_message_parse(&p, buf, len), SOTTO_ERR_INVALID_MESSAGE);
		q.version = 3;
		CHECK_RC(sotto_prekey_signal_message_encode(buf, sizeof(buf), &len, &q), 0);
		CHECK_RC(sotto_prekey_signal_message_parse(&p, buf, len), 0);
		CHECK(p.version == 3 && !p.has_kyber);
		sotto_prekey_signal_message_clear(&p);
	}
	CHECK_RC(sotto_prekey_signal_message_parse(&p, buf, 0), SOTTO_ERR_INVALID_MESSAGE);
	/* Only one of the Kyber fields: field 7 alone. */
	{
		uint8_t m2[512];
		size_t n = 0, k;

		m2[n++] = 0x44;
		n += put_field_bytes(m2 + n, 0x12, ik_a, 33);
		n += put_field_bytes(m2 + n, 0x1A, ik_b, 33);
		m2[n++] = 0x22;
		m2[n++] = (uint8_t)innerlen;
		memcpy(m2 + n, inner, innerlen);
		n += innerlen;
		m2[n++] = 0x30; /* 6: signed_pre_key_id */
		m2[n++] = 1;
		k = n;
		m2[n++] = 0x38; /* 7: kyber_pre_key_id */
		m2[n++] = 2;
		CHECK_RC(sotto_prekey_signal_message_parse(&p, m2, n), SOTTO_ERR_INVALID_MESSAGE);
		n = k;
		n += put_field_bytes(m2 + n, 0x42, ik_a, 20); /* 8 alone */
		CHECK_RC(sotto_prekey_signal_message_parse(&p, m2, n), SOTTO_ERR_INVALID_MESSAGE);
		m2[n++] = 0x38;
		m2[n++] = 2;
		CHECK_RC(sotto_prekey_signal_message_parse(&p, m2, n), 0);
		CHECK(p.registration_id == 0 && !p.has_pre_key_id && p.kyber_pre_key_id == 2);
		sotto_prekey_signal_message_clear(&p);
	}
}

static void test_addresses(void)
{
	uint8_t a[36];
	const char *u1 = "9d0652a3-dcc3-4d11-975f-74d61598733f";
	const char *u2 = "PNI:E3B4C6A1-0F1E-4D2C-8B7A-6C5D4E3F2A1B";

	CHECK_RC(sotto_addresses_build(a, u1, 1, u2, 2), 0);
	CHECK(a[0] == 0 && a[1] == 0x9d && a[16] == 0x3f && a[17] == 1);
	CHECK(a[18] == 1 && a[19] == 0xE3 && a[34] == 0x1B && a[35] == 2);
	CHECK_RC(sotto_addresses_build(a, "alice", 1, u2, 2), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_addresses_build(a, u1, 0, u2, 2), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_addresses_build(a, u1, 1, u2, 128), SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_addresses_build(a, "9d0652a3-dcc3-4d11-975f-74d61598733", 1, u1, 1),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_addresses_build(a, "9d0652a3xdcc3-4d11-975f-74d61598733f", 1, u1, 1),
		 SOTTO_ERR_INVALID_ARGUMENT);
	CHECK_RC(sotto_addresses_build(a, "9d0652a3-dcc3-4d11-975f-74d61598733g", 1, u1, 1),
		 SOTTO_ERR_INVALID_ARGUMENT);
}

int main(void)
{
	fill_key(ik_a, 0xA1);
	fill_key(ik_b, 0xB2);
	test_exact_bytes();
	test_signal_roundtrip_and_rejections();
	test_signal_required_fields();
	test_prekey();
	test_addresses();
	return tu_finish("protocol_codec");
}
