/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* ML-KEM-768/1024 against libcrux's NIST-DRBG KATs (100 per set, FIPS 203
 * final): KeyGen(d || z), Encaps(ek, m), Decaps; the file holds SHA3-256
 * hashes of ek, dk and c and the shared secret itself. */
#include <stdlib.h>
#include <string.h>

#include "sotto/hash.h"
#include "sotto/kem.h"
#include "testutil.h"

typedef struct kem {
	size_t ek_len, dk_len, ct_len;
	int (*keygen)(uint8_t *ek, uint8_t *dk, const uint8_t *d, const uint8_t *z);
	int (*encaps)(uint8_t *ct, uint8_t *ss, const uint8_t *ek, const uint8_t *m);
	int (*decaps)(uint8_t *ss, const uint8_t *ct, const uint8_t *dk);
} kem;

static int hash_matches(json_t *o, const char *name, const uint8_t *data, size_t len)
{
	uint8_t want[32], got[32];
	const char *s = json_string_value(json_object_get(o, name));
	return s != NULL && tu_unhex_into(want, 32, s) == 0 && sotto_sha3_256(got, data, len) == 0 &&
	       memcmp(want, got, 32) == 0;
}

static void run(const char *rel, const kem *k)
{
	json_t *root = tu_load_json(rel);
	size_t i, passed = 0, total = 0;
	json_t *v;
	uint8_t ek[SOTTO_MLKEM1024_EK_BYTES], dk[SOTTO_MLKEM1024_DK_BYTES];
	uint8_t ct[SOTTO_MLKEM1024_CT_BYTES], ss[32], ss2[32], seed[64], m[32], want[32];
	json_array_foreach(root, i, v) {
		total++;
		const char *ks = json_string_value(json_object_get(v, "key_generation_seed"));
		const char *es = json_string_value(json_object_get(v, "encapsulation_seed"));
		const char *ss_s = json_string_value(json_object_get(v, "shared_secret"));
		int ok = ks != NULL && es != NULL && ss_s != NULL &&
			 tu_unhex_into(seed, 64, ks) == 0 && tu_unhex_into(m, 32, es) == 0 &&
			 tu_unhex_into(want, 32, ss_s) == 0;
		ok = ok && k->keygen(ek, dk, seed, seed + 32) == 0 &&
		     hash_matches(v, "sha3_256_hash_of_public_key", ek, k->ek_len) &&
		     hash_matches(v, "sha3_256_hash_of_secret_key", dk, k->dk_len) &&
		     k->encaps(ct, ss, ek, m) == 0 &&
		     hash_matches(v, "sha3_256_hash_of_ciphertext", ct, k->ct_len) &&
		     memcmp(ss, want, 32) == 0 && k->decaps(ss2, ct, dk) == 0 &&
		     memcmp(ss2, want, 32) == 0;
		if (ok)
			passed++;
		else
			tu_fail("%s: vector %zu failed", rel, i);
	}
	tu_report(rel, passed, total);
	json_decref(root);
}

int main(void)
{
	static const kem k768 = { SOTTO_MLKEM768_EK_BYTES, SOTTO_MLKEM768_DK_BYTES,
				  SOTTO_MLKEM768_CT_BYTES, sotto_mlkem768_keypair_derand,
				  sotto_mlkem768_encaps_derand, sotto_mlkem768_decaps };
	static const kem k1024 = { SOTTO_MLKEM1024_EK_BYTES, SOTTO_MLKEM1024_DK_BYTES,
				   SOTTO_MLKEM1024_CT_BYTES, sotto_mlkem1024_keypair_derand,
				   sotto_mlkem1024_encaps_derand, sotto_mlkem1024_decaps };
	run("mlkem/libcrux-nistkats/nistkats_mlkem_768.json", &k768);
	run("mlkem/libcrux-nistkats/nistkats_mlkem_1024.json", &k1024);
	return tu_finish("vectors-mlkem_nistkats");
}
