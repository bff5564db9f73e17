/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Round-3 CRYSTALS-Kyber1024 (libsignal's PQXDH "Kyber1024") against the NIST
 * round-3 KATs: all 100 records of PQCkemKAT_3168.rsp (full pk, sk, ct, ss)
 * and all 100 entries of libcrux's nistkats_kyber_1024.json (hashes). The .rsp
 * only gives the DRBG seed; the JSON holds the DRBG's outputs for the same
 * count (d || z, and the raw encapsulation coins), so record N of the .rsp is
 * driven with entry N of the JSON. */
#include <stdlib.h>
#include <string.h>

#include "rsp.h"
#include "sotto/hash.h"
#include "sotto/kem.h"
#include "testutil.h"

struct ctx {
	json_t *kats;
	size_t passed, total;
};

static int seeds_for(json_t *kats, size_t idx, uint8_t seed[64], uint8_t coins[32])
{
	json_t *v = json_array_get(kats, idx);
	const char *ks = json_string_value(json_object_get(v, "key_generation_seed"));
	const char *es = json_string_value(json_object_get(v, "encapsulation_seed"));
	return ks != NULL && es != NULL && tu_unhex_into(seed, 64, ks) == 0 &&
	       tu_unhex_into(coins, 32, es) == 0;
}

static void one_rsp(const rsp_record *r, void *arg)
{
	struct ctx *c = arg;
	const char *count = rsp_get(r, "count");
	if (count == NULL)
		return;
	c->total++;
	uint8_t seed[64], coins[32];
	uint8_t pk[SOTTO_KYBER1024_PK_BYTES], sk[SOTTO_KYBER1024_SK_BYTES];
	uint8_t ct[SOTTO_KYBER1024_CT_BYTES], ss[32], ss2[32];
	uint8_t wpk[SOTTO_KYBER1024_PK_BYTES], wsk[SOTTO_KYBER1024_SK_BYTES];
	uint8_t wct[SOTTO_KYBER1024_CT_BYTES], wss[32];
	size_t idx = strtoul(count, NULL, 10);
	int ok = seeds_for(c->kats, idx, seed, coins) &&
		 tu_unhex_into(wpk, sizeof(wpk), rsp_get(r, "pk")) == 0 &&
		 tu_unhex_into(wsk, sizeof(wsk), rsp_get(r, "sk")) == 0 &&
		 tu_unhex_into(wct, sizeof(wct), rsp_get(r, "ct")) == 0 &&
		 tu_unhex_into(wss, sizeof(wss), rsp_get(r, "ss")) == 0;
	ok = ok && sotto_kyber1024_keypair_derand(pk, sk, seed, seed + 32) == 0 &&
	     memcmp(pk, wpk, sizeof(pk)) == 0 && memcmp(sk, wsk, sizeof(sk)) == 0 &&
	     sotto_kyber1024_encaps_derand(ct, ss, pk, coins) == 0 &&
	     memcmp(ct, wct, sizeof(ct)) == 0 && memcmp(ss, wss, 32) == 0 &&
	     sotto_kyber1024_decaps(ss2, wct, wsk) == 0 && memcmp(ss2, wss, 32) == 0;
	/* A corrupted ciphertext must give SHAKE256(z || H(c')), not ss. */
	if (ok) {
		uint8_t hc[32], rej[32];
		wct[idx * 13 % sizeof(wct)] ^= 0x01;
		sotto_iov parts[2] = { { wsk + sizeof(wsk) - 32, 32 }, { hc, 32 } };
		ok = sotto_kyber1024_decaps(ss2, wct, wsk) == 0 &&
		     sotto_sha3_256(hc, wct, sizeof(wct)) == 0 &&
		     sotto_shake256_v(rej, 32, parts, 2) == 0 && memcmp(ss2, rej, 32) == 0;
	}
	if (ok)
		c->passed++;
	else
		tu_fail("PQCkemKAT_3168.rsp: count %s failed", count);
}

static int hash_matches(json_t *o, const char *name, const uint8_t *data, size_t len)
{
	uint8_t want[32], got[32];
	const char *s = json_string_value(json_object_get(o, name));
	return s != NULL && tu_unhex_into(want, 32, s) == 0 && sotto_sha3_256(got, data, len) == 0 &&
	       memcmp(want, got, 32) == 0;
}

int main(void)
{
	struct ctx c = { tu_load_json("kyber-r3/nistkats_kyber_1024.json"), 0, 0 };
	size_t i, passed = 0, total = 0;
	json_t *v;
	json_array_foreach(c.kats, i, v) {
		uint8_t seed[64], coins[32], want[32];
		uint8_t pk[SOTTO_KYBER1024_PK_BYTES], sk[SOTTO_KYBER1024_SK_BYTES];
		uint8_t ct[SOTTO_KYBER1024_CT_BYTES], ss[32], ss2[32];
		const char *ss_s = json_string_value(json_object_get(v, "shared_secret"));
		total++;
		int ok = seeds_for(c.kats, i, seed, coins) && ss_s != NULL &&
			 tu_unhex_into(want, 32, ss_s) == 0 &&
			 sotto_kyber1024_keypair_derand(pk, sk, seed, seed + 32) == 0 &&
			 hash_matches(v, "sha3_256_hash_of_public_key", pk, sizeof(pk)) &&
			 hash_matches(v, "sha3_256_hash_of_secret_key", sk, sizeof(sk)) &&
			 sotto_kyber1024_encaps_derand(ct, ss, pk, coins) == 0 &&
			 hash_matches(v, "sha3_256_hash_of_ciphertext", ct, sizeof(ct)) &&
			 memcmp(ss, want, 32) == 0 && sotto_kyber1024_decaps(ss2, ct, sk) == 0 &&
			 memcmp(ss2, want, 32) == 0;
		if (ok)
			passed++;
		else
			tu_fail("nistkats_kyber_1024.json: vector %zu failed", i);
	}
	tu_report("kyber-r3/nistkats_kyber_1024.json", passed, total);
	long n = rsp_foreach("kyber-r3/PQCkemKAT_3168.rsp", one_rsp, &c);
	CHECK(n >= 100);
	CHECK(c.total == json_array_size(c.kats));
	tu_report("kyber-r3/PQCkemKAT_3168.rsp", c.passed, c.total);
	json_decref(c.kats);
	return tu_finish("vectors-kyber_r3");
}
