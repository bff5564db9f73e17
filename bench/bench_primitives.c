/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The primitive floor: each primitive's cost per operation next to the figure
 * of libsodium's or OpenSSL's own implementation of the same operation, where
 * one exists. Protocol benchmarks are measured against this table. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "sotto/sotto.h"

static uint8_t buf_in[4096], buf_out[4096 + 64], key[32], key2[32], iv[16];
static volatile int sink;

#define MUST(x)                                                                             \
	do {                                                                                \
		if ((x) != 0) {                                                             \
			fprintf(stderr, "sotto-bench: %s failed\n", #x);                    \
			abort();                                                            \
		}                                                                           \
	} while (0)

struct len_arg {
	size_t len;
};

/* ---- hashes and MACs ---- */
static void b_sha256(void *a) { MUST(sotto_sha256(buf_out, buf_in, ((struct len_arg *)a)->len)); }
static void r_sha256(void *a) { crypto_hash_sha256(buf_out, buf_in, ((struct len_arg *)a)->len); }
static void b_sha512(void *a) { MUST(sotto_sha512(buf_out, buf_in, ((struct len_arg *)a)->len)); }
static void r_sha512(void *a) { crypto_hash_sha512(buf_out, buf_in, ((struct len_arg *)a)->len); }
static void b_hmac(void *a)
{
	MUST(sotto_hmac_sha256(buf_out, key, 32, buf_in, ((struct len_arg *)a)->len));
}
static void b_hmac_ctx(void *a)
{
	static sotto_hmac_sha256_ctx *ctx;
	if (ctx == NULL) {
		ctx = sotto_hmac_sha256_new();
		MUST(ctx == NULL);
		MUST(sotto_hmac_sha256_setkey(ctx, key, 32));
	}
	MUST(sotto_hmac_sha256_update(ctx, buf_in, ((struct len_arg *)a)->len));
	MUST(sotto_hmac_sha256_final(ctx, buf_out));
}
static void r_hmac(void *a)
{
	unsigned int outlen;
	sink += HMAC(EVP_sha256(), key, 32, buf_in, ((struct len_arg *)a)->len, buf_out, &outlen) != NULL;
}
static void r_hmac_sodium(void *a)
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, buf_in, ((struct len_arg *)a)->len);
	crypto_auth_hmacsha256_final(&st, buf_out);
}
static void b_hkdf(void *a)
{
	MUST(sotto_hkdf_sha256(buf_out, ((struct len_arg *)a)->len, key, 32, key2, 32,
			       (const uint8_t *)"WhisperMessageKeys", 18));
}
static EVP_KDF *ossl_hkdf;
static char hkdf_digest[] = "SHA256";
static uint8_t hkdf_info[] = "WhisperMessageKeys";
static void r_hkdf(void *a)
{
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(ossl_hkdf);
	OSSL_PARAM p[5];
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, hkdf_digest, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, key, 32);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key2, 32);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, hkdf_info, 18);
	p[4] = OSSL_PARAM_construct_end();
	MUST(EVP_KDF_derive(k, buf_out, ((struct len_arg *)a)->len, p) != 1);
	EVP_KDF_CTX_free(k);
}
static void b_sha3(void *a) { MUST(sotto_sha3_256(buf_out, buf_in, ((struct len_arg *)a)->len)); }
static void b_shake128(void *a) { MUST(sotto_shake128(buf_out, 504, buf_in, ((struct len_arg *)a)->len)); }

/* ---- AES ---- */
static void b_cbc(void *a)
{
	size_t n;
	MUST(sotto_aes_cbc_encrypt(buf_out, sizeof(buf_out), &n, key, 32, iv, buf_in,
				   ((struct len_arg *)a)->len));
}
static void r_cbc(void *a)
{
	/* What a caller of OpenSSL's EVP interface writes for one message. */
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1, n2;
	MUST(EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, key, iv) != 1);
	MUST(EVP_EncryptUpdate(c, buf_out, &n1, buf_in, (int)((struct len_arg *)a)->len) != 1);
	MUST(EVP_EncryptFinal_ex(c, buf_out + n1, &n2) != 1);
	EVP_CIPHER_CTX_free(c);
}
static void b_cbc_ctx(void *a)
{
	/* The ratchet's pattern: a fresh key per message on a reused context. */
	static sotto_aes_cbc_ctx *ctx;
	size_t n;
	if (ctx == NULL)
		MUST(!(ctx = sotto_aes_cbc_ctx_new()));
	key[0]++;
	MUST(sotto_aes_cbc_ctx_setkey(ctx, key, 32));
	MUST(sotto_aes_cbc_ctx_encrypt(ctx, buf_out, sizeof(buf_out), &n, iv, buf_in,
				       ((struct len_arg *)a)->len));
}
static void b_siv_ctx(void *a)
{
	static sotto_aes_gcm_siv_ctx *ctx;
	if (ctx == NULL) {
		MUST(!(ctx = sotto_aes_gcm_siv_ctx_new()));
		MUST(sotto_aes_gcm_siv_ctx_setkey(ctx, key, 32));
	}
	MUST(sotto_aes_gcm_siv_ctx_seal(ctx, buf_out, iv, NULL, 0, buf_in, ((struct len_arg *)a)->len));
}
static void b_ctr(void *a) { MUST(sotto_aes_ctr(buf_out, key, 32, iv, buf_in, ((struct len_arg *)a)->len)); }
static void b_siv_seal(void *a)
{
	MUST(sotto_aes_gcm_siv_seal(buf_out, key, 32, iv, NULL, 0, buf_in, ((struct len_arg *)a)->len));
}
static EVP_CIPHER *ossl_gcm;
static EVP_CIPHER_CTX *gcm_ctx;
static void r_gcm_seal(void *a)
{
	int n1, n2;
	/* Keyed once at start-up: a new nonce only, as a reused context does. */
	MUST(EVP_EncryptInit_ex2(gcm_ctx, NULL, NULL, iv, NULL) != 1);
	MUST(EVP_EncryptUpdate(gcm_ctx, buf_out, &n1, buf_in, (int)((struct len_arg *)a)->len) != 1);
	MUST(EVP_EncryptFinal_ex(gcm_ctx, buf_out + n1, &n2) != 1);
	MUST(EVP_CIPHER_CTX_ctrl(gcm_ctx, EVP_CTRL_GCM_GET_TAG, 16, buf_out + 4096) != 1);
}
static void b_polyval(void *a) { sotto_polyval(buf_out, key, buf_in, ((struct len_arg *)a)->len); }
static void r_ghash(void *a)
{
	/* GMAC: AES-GCM over AAD only is one GHASH pass plus one AES block. */
	int n1, n2;
	MUST(EVP_EncryptInit_ex2(gcm_ctx, NULL, NULL, iv, NULL) != 1);
	MUST(EVP_EncryptUpdate(gcm_ctx, NULL, &n1, buf_in, (int)((struct len_arg *)a)->len) != 1);
	MUST(EVP_EncryptFinal_ex(gcm_ctx, buf_out, &n2) != 1);
}

/* ---- curves ---- */
static uint8_t xpriv[32], xpub[32], sig[64], edpk[32], edsk[64], zrand[64];
static void b_x25519(void *a) { (void)a; MUST(sotto_x25519(buf_out, xpriv, xpub)); }
static void r_x25519(void *a) { (void)a; MUST(crypto_scalarmult(buf_out, xpriv, xpub)); }
static void b_xsign(void *a)
{
	MUST(sotto_xeddsa_sign(sig, xpriv, buf_in, ((struct len_arg *)a)->len, zrand));
}
static void r_edsign(void *a)
{
	MUST(crypto_sign_detached(buf_out, NULL, buf_in, ((struct len_arg *)a)->len, edsk));
}
static void b_xverify(void *a)
{
	MUST(sotto_xeddsa_verify(xpub, buf_in, ((struct len_arg *)a)->len, sig));
}
static void r_edverify(void *a)
{
	MUST(crypto_sign_verify_detached(buf_out, buf_in, ((struct len_arg *)a)->len, edpk));
}

/* ---- KEMs ---- */
static uint8_t ek768[SOTTO_MLKEM768_EK_BYTES], dk768[SOTTO_MLKEM768_DK_BYTES],
	ct768[SOTTO_MLKEM768_CT_BYTES];
static uint8_t ek1024[SOTTO_MLKEM1024_EK_BYTES], dk1024[SOTTO_MLKEM1024_DK_BYTES],
	ct1024[SOTTO_MLKEM1024_CT_BYTES];
static uint8_t kpk[SOTTO_KYBER1024_PK_BYTES], ksk[SOTTO_KYBER1024_SK_BYTES],
	kct[SOTTO_KYBER1024_CT_BYTES];
static uint8_t ss[32];
static void b_768_keygen(void *a) { (void)a; MUST(sotto_mlkem768_keypair_derand(ek768, dk768, key, key2)); }
static void b_768_encaps(void *a) { (void)a; MUST(sotto_mlkem768_encaps_derand(ct768, ss, ek768, key)); }
static void b_768_decaps(void *a) { (void)a; MUST(sotto_mlkem768_decaps(ss, ct768, dk768)); }
static void b_1024_keygen(void *a) { (void)a; MUST(sotto_mlkem1024_keypair_derand(ek1024, dk1024, key, key2)); }
static void b_1024_encaps(void *a) { (void)a; MUST(sotto_mlkem1024_encaps_derand(ct1024, ss, ek1024, key)); }
static void b_1024_decaps(void *a) { (void)a; MUST(sotto_mlkem1024_decaps(ss, ct1024, dk1024)); }
static void b_k_keygen(void *a) { (void)a; MUST(sotto_kyber1024_keypair_derand(kpk, ksk, key, key2)); }
static void b_k_encaps(void *a) { (void)a; MUST(sotto_kyber1024_encaps_derand(kct, ss, kpk, key)); }
static void b_k_decaps(void *a) { (void)a; MUST(sotto_kyber1024_decaps(ss, kct, ksk)); }

static void row(const char *op, bench_fn ours, const char *refname, bench_fn ref, size_t len)
{
	struct len_arg arg = { len };
	double o = bench_ns(ours, &arg);
	double r = ref ? bench_ns(ref, &arg) : -1;
	bench_row(op, o, ref ? refname : NULL, r);
}

int bench_primitives(void)
{
	randombytes_buf(buf_in, sizeof(buf_in));
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	randombytes_buf(iv, sizeof(iv));
	randombytes_buf(zrand, sizeof(zrand));
	MUST(sotto_x25519_keypair(xpub, xpriv));
	crypto_sign_keypair(edpk, edsk);
	ossl_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	ossl_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	gcm_ctx = EVP_CIPHER_CTX_new();
	MUST(ossl_hkdf == NULL || ossl_gcm == NULL || gcm_ctx == NULL);
	MUST(EVP_EncryptInit_ex2(gcm_ctx, ossl_gcm, key, iv, NULL) != 1);

	bench_table_begin("Primitives: hashes and MACs", "reference");
	row("SHA-256, 32 B", b_sha256, "libsodium", r_sha256, 32);
	row("SHA-256, 1 KiB", b_sha256, "libsodium", r_sha256, 1024);
	row("SHA-512, 64 B", b_sha512, "libsodium", r_sha512, 64);
	row("SHA3-256, 32 B", b_sha3, NULL, NULL, 32);
	row("SHAKE128, 32 B in, 504 B out", b_shake128, NULL, NULL, 32);
	row("HMAC-SHA256, 32 B, one-shot", b_hmac, "OpenSSL HMAC() one-shot", r_hmac, 32);
	row("HMAC-SHA256, 32 B, keyed context", b_hmac_ctx, "OpenSSL HMAC() one-shot", r_hmac, 32);
	row("HMAC-SHA256, 32 B, keyed context", b_hmac_ctx, "libsodium hmacsha256", r_hmac_sodium, 32);
	row("HKDF-SHA256, 80 B out", b_hkdf, "OpenSSL EVP_KDF HKDF", r_hkdf, 80);
	bench_table_end();

	bench_table_begin("Primitives: AES", "reference");
	row("AES-256-CBC encrypt, 100 B", b_cbc, "OpenSSL EVP, new context", r_cbc, 100);
	row("AES-256-CBC encrypt, 100 B, new key on context", b_cbc_ctx, "OpenSSL EVP, new context", r_cbc, 100);
	row("AES-256-CTR, 100 B", b_ctr, NULL, NULL, 100);
	row("AES-256-GCM-SIV seal, 100 B", b_siv_seal, "OpenSSL AES-256-GCM, keyed ctx", r_gcm_seal, 100);
	row("AES-256-GCM-SIV seal, 1 KiB", b_siv_seal, "OpenSSL AES-256-GCM, keyed ctx", r_gcm_seal, 1024);
	row("AES-256-GCM-SIV seal, 1 KiB, keyed context", b_siv_ctx, "OpenSSL AES-256-GCM, keyed ctx", r_gcm_seal, 1024);
	row("POLYVAL, 1 KiB", b_polyval, "OpenSSL GHASH (GMAC)", r_ghash, 1024);
	bench_table_end();

	bench_table_begin("Primitives: Curve25519", "reference");
	row("X25519", b_x25519, "libsodium scalarmult", r_x25519, 0);
	row("XEdDSA sign, 100 B", b_xsign, "libsodium Ed25519 sign", r_edsign, 100);
	MUST(sotto_xeddsa_sign(sig, xpriv, buf_in, 100, zrand));
	MUST(crypto_sign_detached(buf_out, NULL, buf_in, 100, edsk));
	row("XEdDSA verify, 100 B", b_xverify, "libsodium Ed25519 verify", r_edverify, 100);
	bench_table_end();

	bench_table_begin("Primitives: KEMs (no library reference on Debian 12)", "reference");
	row("ML-KEM-768 keygen", b_768_keygen, NULL, NULL, 0);
	row("ML-KEM-768 encaps", b_768_encaps, NULL, NULL, 0);
	row("ML-KEM-768 decaps", b_768_decaps, NULL, NULL, 0);
	row("ML-KEM-1024 keygen", b_1024_keygen, NULL, NULL, 0);
	row("ML-KEM-1024 encaps", b_1024_encaps, NULL, NULL, 0);
	row("ML-KEM-1024 decaps", b_1024_decaps, NULL, NULL, 0);
	row("Kyber1024 (round 3) keygen", b_k_keygen, NULL, NULL, 0);
	row("Kyber1024 (round 3) encaps", b_k_encaps, NULL, NULL, 0);
	row("Kyber1024 (round 3) decaps", b_k_decaps, NULL, NULL, 0);
	bench_table_end();

	EVP_CIPHER_CTX_free(gcm_ctx);
	EVP_CIPHER_free(ossl_gcm);
	EVP_KDF_free(ossl_hkdf);
	return 0;
}
