/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* ML-KEM-768 and ML-KEM-1024 (FIPS 203), round-3 CRYSTALS-Kyber1024 (the
 * "Kyber1024" of libsignal's PQXDH prekeys) and the split ML-KEM-768
 * encapsulation that SPQR sends in two halves.
 *
 * K-PKE is shared by all three. Secrets (s, the noise, the message, the
 * shared key) never select a branch or a memory address: decapsulation
 * compares the re-encryption with an OR-accumulator and picks the implicit
 * rejection key with a mask. Only the matrix expansion, which depends on the
 * public seed rho, and the key validity checks branch. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mlkem_poly.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/kem.h"
#include "sotto/util.h"

/* The constant-time test (tests/ct/ct_mlkem.c) runs under valgrind with the
 * secret inputs marked undefined; it sets this hook to tell valgrind which
 * values derived from secrets are public by design (rho, which goes into ek
 * and drives the branching matrix expansion). NULL otherwise. */
void (*sotto__mlkem_ct_declassify)(const void *p, size_t len) = NULL;

#define SOTTO__MLKEM_DECLASSIFY(p, n)                                                         \
	do {                                                                                  \
		if (sotto__mlkem_ct_declassify != NULL)                                       \
			sotto__mlkem_ct_declassify((p), (n));                                 \
	} while (0)

#define KMAX 4
#define POLYBYTES SOTTO__MLKEM_POLY_BYTES
/* SampleNTT needs about 470 bytes of SHAKE128 on average; three blocks (504
 * bytes) suffice for about 99.2% of polynomials, and the rest pay for one
 * recomputation with a longer output (CCTV's unlucky vectors need 576). */
#define XOF_BLOCK 168
#define XOF_FIRST (3 * XOF_BLOCK)
/* A polynomial that needs more than this is treated as a failure (the chance
 * is far below 2^-1000). */
#define XOF_MAX (256 * XOF_BLOCK)

typedef struct kem_params {
	unsigned k, du, dv;
} kem_params;

static const kem_params P768 = { 3, 10, 4 };
static const kem_params P1024 = { 4, 11, 5 };

static size_t ek_bytes(const kem_params *p)
{
	return POLYBYTES * p->k + 32;
}

static size_t ct_bytes(const kem_params *p)
{
	return 32 * (p->du * p->k + p->dv);
}

/* ---- Hashing through one reused EVP_MD_CTX per operation ---- */

/* One context per function, created on first use: OpenSSL 3 keeps a
 * context's provider state when it is re-initialised with the same digest,
 * but frees and reallocates it when the digest changes. */
enum { H_SHA3_256, H_SHA3_512, H_SHAKE128, H_SHAKE256, H_COUNT };

typedef struct hasher {
	EVP_MD_CTX *ctx[H_COUNT];
	const EVP_MD *md[H_COUNT];
} hasher;

static int hasher_init(hasher *h)
{
	static const enum sotto__md which[H_COUNT] = { SOTTO__MD_SHA3_256, SOTTO__MD_SHA3_512,
						       SOTTO__MD_SHAKE128, SOTTO__MD_SHAKE256 };
	for (int i = 0; i < H_COUNT; i++) {
		h->ctx[i] = NULL;
		h->md[i] = sotto__md(which[i]);
		if (h->md[i] == NULL)
			return SOTTO_ERR_INTERNAL;
	}
	return SOTTO_OK;
}

static void hasher_free(hasher *h)
{
	for (int i = 0; i < H_COUNT; i++) {
		EVP_MD_CTX_free(h->ctx[i]);
		h->ctx[i] = NULL;
	}
}

/* fn(a || b): 32 or 64 bytes for SHA3, the first outlen bytes for SHAKE. */
static int hash2(hasher *h, int fn, uint8_t *out, size_t outlen, const uint8_t *a, size_t alen,
		 const uint8_t *b, size_t blen)
{
	if (h->ctx[fn] == NULL && (h->ctx[fn] = EVP_MD_CTX_new()) == NULL)
		return SOTTO_ERR_NOMEM;
	EVP_MD_CTX *ctx = h->ctx[fn];
	if (EVP_DigestInit_ex2(ctx, h->md[fn], NULL) != 1 || EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_DigestUpdate(ctx, b, blen) != 1))
		return SOTTO_ERR_CRYPTO;
	int xof = fn == H_SHAKE128 || fn == H_SHAKE256;
	if (xof ? EVP_DigestFinalXOF(ctx, out, outlen) != 1
		: EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		return SOTTO_ERR_CRYPTO;
	return SOTTO_OK;
}

/* H = SHA3-256, G = SHA3-512, J = SHAKE256(., 32) (FIPS 203 section 4.1). */
static int hash_h(hasher *h, uint8_t out[32], const uint8_t *a, size_t alen)
{
	return hash2(h, H_SHA3_256, out, 32, a, alen, NULL, 0);
}

static int hash_g(hasher *h, uint8_t out[64], const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen)
{
	return hash2(h, H_SHA3_512, out, 64, a, alen, b, blen);
}

static int hash_j(hasher *h, uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen)
{
	return hash2(h, H_SHAKE256, out, 32, a, alen, b, blen);
}

/* SamplePolyCBD_2(PRF_2(seed, nonce)). */
static int sample_cbd(hasher *h, sotto__mlkem_poly *r, const uint8_t seed[32], uint8_t nonce)
{
	uint8_t buf[128];
	int rc = hash2(h, H_SHAKE256, buf, sizeof(buf), seed, 32, &nonce, 1);
	if (rc == SOTTO_OK)
		sotto__mlkem_cbd2(r, buf);
	sotto_memzero(buf, sizeof(buf));
	return rc;
}

/* A_hat[i][j] = SampleNTT(rho || j || i); with transpose set, entry (i, j) is
 * A_hat[j][i], as K-PKE.Encrypt needs. OpenSSL 3.0 finalises an XOF once, so
 * a short stream is recomputed with a longer output; the prefix is the same,
 * and rho is public, so the retry may branch. */
static int gen_matrix(hasher *h, sotto__mlkem_poly a[KMAX][KMAX], unsigned k, const uint8_t rho[32],
		      int transpose)
{
	uint8_t buf[XOF_FIRST];
	uint8_t idx[2];
	for (unsigned i = 0; i < k; i++) {
		for (unsigned j = 0; j < k; j++) {
			idx[0] = (uint8_t)(transpose ? i : j);
			idx[1] = (uint8_t)(transpose ? j : i);
			int rc = hash2(h, H_SHAKE128, buf, sizeof(buf), rho, 32, idx, 2);
			if (rc != SOTTO_OK)
				return rc;
			if (sotto__mlkem_sample_ntt(&a[i][j], buf, sizeof(buf)) == SOTTO__MLKEM_N)
				continue;
			size_t len = XOF_FIRST;
			size_t got = 0;
			while (got < SOTTO__MLKEM_N) {
				if (len >= XOF_MAX)
					return SOTTO_ERR_INTERNAL;
				len *= 2;
				uint8_t *big = malloc(len);
				if (big == NULL)
					return SOTTO_ERR_NOMEM;
				rc = hash2(h, H_SHAKE128, big, len, rho, 32, idx, 2);
				if (rc == SOTTO_OK)
					got = sotto__mlkem_sample_ntt(&a[i][j], big, len);
				free(big);
				if (rc != SOTTO_OK)
					return rc;
			}
		}
	}
	return SOTTO_OK;
}

/* ---- Constant-time helpers ---- */

/* Hides a value from the optimiser so that mask arithmetic is not turned back
 * into a branch. */
static inline uint8_t value_barrier(uint8_t x)
{
#if defined(__GNUC__)
	__asm__("" : "+r"(x));
#endif
	return x;
}

/* 0xff if a and b are equal, 0 otherwise, in time depending only on len. */
static uint8_t ct_eq_mask(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < len; i++)
		acc |= (uint8_t)(a[i] ^ b[i]);
	uint32_t d = value_barrier(acc);
	/* d - 1 borrows into bit 8 only when d == 0. */
	return (uint8_t)((d - 1) >> 8);
}

/* r = mask ? a : b, byte-wise. */
static void ct_select(uint8_t *r, const uint8_t *a, const uint8_t *b, size_t len, uint8_t mask)
{
	mask = value_barrier(mask);
	for (size_t i = 0; i < len; i++)
		r[i] = (uint8_t)((a[i] & mask) | (b[i] & (uint8_t)~mask));
}

/* ---- K-PKE (FIPS 203 section 5) ---- */

typedef struct pke_noise {
	sotto__mlkem_poly y[KMAX]; /* y_hat after NTT */
	sotto__mlkem_poly e1[KMAX];
	sotto__mlkem_poly e2;
} pke_noise;

/* Steps 9-17 of Algorithm 14: y (in the NTT domain), e1 and e2 from r. */
static int pke_sample_noise(hasher *h, pke_noise *nz, unsigned k, const uint8_t r[32])
{
	uint8_t n = 0;
	int rc;
	for (unsigned i = 0; i < k; i++) {
		if ((rc = sample_cbd(h, &nz->y[i], r, n++)) != SOTTO_OK)
			return rc;
		sotto__mlkem_ntt(&nz->y[i]);
	}
	for (unsigned i = 0; i < k; i++) {
		if ((rc = sample_cbd(h, &nz->e1[i], r, n++)) != SOTTO_OK)
			return rc;
	}
	return sample_cbd(h, &nz->e2, r, n);
}

/* c1 = ByteEncode_du(Compress_du(NTT^-1(A_hat^T o y_hat) + e1)). */
static int pke_encrypt_u(hasher *h, const kem_params *p, uint8_t *c1, const uint8_t rho[32],
			 const pke_noise *nz)
{
	sotto__mlkem_poly a[KMAX][KMAX];
	sotto__mlkem_poly u;
	int rc = gen_matrix(h, a, p->k, rho, 1);
	if (rc != SOTTO_OK)
		return rc;
	for (unsigned i = 0; i < p->k; i++) {
		sotto__mlkem_basemul(&u, &a[i][0], &nz->y[0]);
		for (unsigned j = 1; j < p->k; j++)
			sotto__mlkem_basemul_acc(&u, &a[i][j], &nz->y[j]);
		sotto__mlkem_invntt_frommont(&u);
		sotto__mlkem_poly_add(&u, &u, &nz->e1[i]);
		sotto__mlkem_poly_canon(&u);
		sotto__mlkem_poly_compress(c1 + 32 * p->du * i, &u, p->du);
	}
	sotto_memzero(&u, sizeof(u));
	return SOTTO_OK;
}

/* c2 = ByteEncode_dv(Compress_dv(NTT^-1(t_hat^T o y_hat) + e2 + Decompress_1(m))). */
static void pke_encrypt_v(const kem_params *p, uint8_t *c2, const sotto__mlkem_poly *t,
			  const pke_noise *nz, const uint8_t m[32])
{
	sotto__mlkem_poly v, mu;
	sotto__mlkem_basemul(&v, &t[0], &nz->y[0]);
	for (unsigned j = 1; j < p->k; j++)
		sotto__mlkem_basemul_acc(&v, &t[j], &nz->y[j]);
	sotto__mlkem_invntt_frommont(&v);
	/* Decompress_1: bit b becomes b * round(q/2), by mask. */
	for (size_t i = 0; i < SOTTO__MLKEM_N; i++) {
		uint16_t bit = (uint16_t)((m[i / 8] >> (i % 8)) & 1);
		mu.c[i] = (int16_t)((uint16_t)(0u - bit) & ((SOTTO__MLKEM_Q + 1) / 2));
	}
	sotto__mlkem_poly_add(&v, &v, &nz->e2);
	sotto__mlkem_poly_add(&v, &v, &mu);
	sotto__mlkem_poly_canon(&v);
	sotto__mlkem_poly_compress(c2, &v, p->dv);
	sotto_memzero(&v, sizeof(v));
	sotto_memzero(&mu, sizeof(mu));
}

/* K-PKE.Encrypt(ek, m, r) (Algorithm 14). ek's coefficients are not checked
 * here: Encaps checks them first, and decapsulation re-encrypts under the ek
 * stored in dk, which FIPS 203 does not ask to check. */
static int pke_encrypt(hasher *h, const kem_params *p, uint8_t *ct, const uint8_t *ek,
		       const uint8_t m[32], const uint8_t r[32])
{
	pke_noise nz;
	sotto__mlkem_poly t[KMAX];
	int rc = pke_sample_noise(h, &nz, p->k, r);
	if (rc != SOTTO_OK)
		goto done;
	rc = pke_encrypt_u(h, p, ct, ek + POLYBYTES * p->k, &nz);
	if (rc != SOTTO_OK)
		goto done;
	for (unsigned i = 0; i < p->k; i++)
		sotto__mlkem_poly_frombytes(&t[i], ek + POLYBYTES * i);
	pke_encrypt_v(p, ct + 32 * p->du * p->k, t, &nz, m);
done:
	sotto_memzero(&nz, sizeof(nz));
	return rc;
}

/* K-PKE.Decrypt(dk_pke, c) (Algorithm 15). */
static void pke_decrypt(const kem_params *p, uint8_t m[32], const uint8_t *dk_pke,
			const uint8_t *ct)
{
	sotto__mlkem_poly u[KMAX], s, w, v;
	for (unsigned i = 0; i < p->k; i++) {
		sotto__mlkem_poly_decompress(&u[i], ct + 32 * p->du * i, p->du);
		sotto__mlkem_ntt(&u[i]);
	}
	sotto__mlkem_poly_frombytes(&s, dk_pke);
	sotto__mlkem_basemul(&w, &s, &u[0]);
	for (unsigned i = 1; i < p->k; i++) {
		sotto__mlkem_poly_frombytes(&s, dk_pke + POLYBYTES * i);
		sotto__mlkem_basemul_acc(&w, &s, &u[i]);
	}
	sotto__mlkem_invntt_frommont(&w);
	sotto__mlkem_poly_decompress(&v, ct + 32 * p->du * p->k, p->dv);
	sotto__mlkem_poly_sub(&w, &v, &w);
	sotto__mlkem_poly_canon(&w);
	sotto__mlkem_poly_compress(m, &w, 1);
	sotto_memzero(&s, sizeof(s));
	sotto_memzero(&w, sizeof(w));
}

/* ---- KEMs ---- */

/* ML-KEM.KeyGen_internal (Algorithm 16 with K-PKE.KeyGen, Algorithm 13), or
 * round-3 Kyber's key generation when fips is 0: the only difference is the
 * domain byte k appended to d in G(d || k). */
static int kem_keygen(const kem_params *p, uint8_t *ek, uint8_t *dk, const uint8_t d[32],
		      const uint8_t z[32], int fips)
{
	hasher h;
	uint8_t seeds[64]; /* rho || sigma */
	uint8_t kbyte = (uint8_t)p->k;
	sotto__mlkem_poly a[KMAX][KMAX];
	sotto__mlkem_poly s[KMAX], e[KMAX], t;
	const size_t polyvec = POLYBYTES * p->k;
	int rc = hasher_init(&h);
	if (rc != SOTTO_OK)
		goto done;
	if ((rc = hash_g(&h, seeds, d, 32, &kbyte, fips ? 1 : 0)) != SOTTO_OK)
		goto done;
	/* rho becomes part of ek: it is public. */
	SOTTO__MLKEM_DECLASSIFY(seeds, 32);
	if ((rc = gen_matrix(&h, a, p->k, seeds, 0)) != SOTTO_OK)
		goto done;
	uint8_t n = 0;
	for (unsigned i = 0; i < p->k; i++) {
		if ((rc = sample_cbd(&h, &s[i], seeds + 32, n++)) != SOTTO_OK)
			goto done;
		sotto__mlkem_ntt(&s[i]);
	}
	for (unsigned i = 0; i < p->k; i++) {
		if ((rc = sample_cbd(&h, &e[i], seeds + 32, n++)) != SOTTO_OK)
			goto done;
		sotto__mlkem_ntt(&e[i]);
	}
	for (unsigned i = 0; i < p->k; i++) {
		sotto__mlkem_basemul(&t, &a[i][0], &s[0]);
		for (unsigned j = 1; j < p->k; j++)
			sotto__mlkem_basemul_acc(&t, &a[i][j], &s[j]);
		sotto__mlkem_poly_tomont(&t);
		sotto__mlkem_poly_add(&t, &t, &e[i]);
		sotto__mlkem_poly_canon(&t);
		sotto__mlkem_poly_tobytes(ek + POLYBYTES * i, &t);
		sotto__mlkem_poly_canon(&s[i]);
		sotto__mlkem_poly_tobytes(dk + POLYBYTES * i, &s[i]);
	}
	memcpy(ek + polyvec, seeds, 32);
	/* dk = dk_pke || ek || H(ek) || z */
	memcpy(dk + polyvec, ek, polyvec + 32);
	if ((rc = hash_h(&h, dk + 2 * polyvec + 32, ek, polyvec + 32)) != SOTTO_OK)
		goto done;
	memcpy(dk + 2 * polyvec + 64, z, 32);
done:
	hasher_free(&h);
	sotto_memzero(seeds, sizeof(seeds));
	sotto_memzero(s, sizeof(s));
	sotto_memzero(e, sizeof(e));
	sotto_memzero(&t, sizeof(t));
	return rc;
}

/* The modulus check of FIPS 203 section 7.2: every encoded coefficient of t_hat
 * below q. */
static int check_ek(const kem_params *p, const uint8_t *ek)
{
	sotto__mlkem_poly t;
	for (unsigned i = 0; i < p->k; i++) {
		if (sotto__mlkem_poly_frombytes_checked(&t, ek + POLYBYTES * i) != 0)
			return SOTTO_ERR_INVALID_KEY;
	}
	return SOTTO_OK;
}

/* The hash check of FIPS 203 section 7.3: H(ek) stored in dk must match the
 * ek stored in dk. Both are public parts of dk, so the result may branch. */
static int check_dk(hasher *h, const kem_params *p, const uint8_t *dk)
{
	const size_t polyvec = POLYBYTES * p->k;
	uint8_t hek[32];
	int rc = hash_h(h, hek, dk + polyvec, polyvec + 32);
	if (rc != SOTTO_OK)
		return rc;
	return sotto_memeq(hek, dk + 2 * polyvec + 32, 32) ? SOTTO_OK : SOTTO_ERR_INVALID_KEY;
}

/* ML-KEM.Encaps_internal (Algorithm 17), or round-3 Kyber encapsulation when
 * kyber is set (m = H(coins), K = J(Kbar || H(c))). */
static int kem_encaps(const kem_params *p, uint8_t *ct, uint8_t ss[32], const uint8_t *ek,
		      const uint8_t coins[32], int kyber)
{
	hasher h;
	uint8_t m[32], hek[32], kr[64], hc[32];
	int rc = check_ek(p, ek);
	if (rc != SOTTO_OK)
		return rc;
	if ((rc = hasher_init(&h)) != SOTTO_OK)
		goto done;
	if (kyber) {
		if ((rc = hash_h(&h, m, coins, 32)) != SOTTO_OK)
			goto done;
	} else {
		memcpy(m, coins, 32);
	}
	if ((rc = hash_h(&h, hek, ek, ek_bytes(p))) != SOTTO_OK ||
	    (rc = hash_g(&h, kr, m, 32, hek, 32)) != SOTTO_OK ||
	    (rc = pke_encrypt(&h, p, ct, ek, m, kr + 32)) != SOTTO_OK)
		goto done;
	if (kyber) {
		if ((rc = hash_h(&h, hc, ct, ct_bytes(p))) != SOTTO_OK ||
		    (rc = hash_j(&h, ss, kr, 32, hc, 32)) != SOTTO_OK)
			goto done;
	} else {
		memcpy(ss, kr, 32);
	}
done:
	hasher_free(&h);
	sotto_memzero(m, sizeof(m));
	sotto_memzero(kr, sizeof(kr));
	return rc;
}

/* ML-KEM.Decaps_internal (Algorithm 18) after the hash check, or round-3
 * Kyber decapsulation when kyber is set. */
static int kem_decaps(const kem_params *p, uint8_t ss[32], const uint8_t *ct, const uint8_t *dk,
		      int kyber)
{
	const size_t polyvec = POLYBYTES * p->k;
	const uint8_t *ek = dk + polyvec;
	const uint8_t *hek = dk + 2 * polyvec + 32;
	const uint8_t *z = dk + 2 * polyvec + 64;
	uint8_t m[32], kr[64], kbar[32], hc[32];
	uint8_t ct2[SOTTO_MLKEM1024_CT_BYTES];
	const size_t clen = ct_bytes(p);
	hasher h;
	int rc = hasher_init(&h);
	if (rc != SOTTO_OK)
		goto done;
	if ((rc = check_dk(&h, p, dk)) != SOTTO_OK)
		goto done;
	pke_decrypt(p, m, dk, ct);
	if ((rc = hash_g(&h, kr, m, 32, hek, 32)) != SOTTO_OK ||
	    (rc = pke_encrypt(&h, p, ct2, ek, m, kr + 32)) != SOTTO_OK)
		goto done;
	uint8_t eq = ct_eq_mask(ct, ct2, clen);
	if (kyber) {
		/* K = J(Kbar' || H(c)) on success, J(z || H(c)) on rejection. */
		ct_select(kbar, kr, z, 32, eq);
		if ((rc = hash_h(&h, hc, ct, clen)) != SOTTO_OK ||
		    (rc = hash_j(&h, ss, kbar, 32, hc, 32)) != SOTTO_OK)
			goto done;
	} else {
		/* Kbar = J(z || c) is computed either way, so the time does not
		 * reveal which key is returned. */
		if ((rc = hash_j(&h, kbar, z, 32, ct, clen)) != SOTTO_OK)
			goto done;
		ct_select(ss, kr, kbar, 32, eq);
	}
done:
	hasher_free(&h);
	sotto_memzero(m, sizeof(m));
	sotto_memzero(kr, sizeof(kr));
	sotto_memzero(kbar, sizeof(kbar));
	sotto_memzero(ct2, sizeof(ct2));
	return rc;
}

/* ---- Public API ---- */

static int random_keypair(const kem_params *p, uint8_t *ek, uint8_t *dk, int fips)
{
	uint8_t dz[64];
	int rc = sotto_random(dz, sizeof(dz));
	if (rc == SOTTO_OK)
		rc = kem_keygen(p, ek, dk, dz, dz + 32, fips);
	sotto_memzero(dz, sizeof(dz));
	return rc;
}

static int random_encaps(const kem_params *p, uint8_t *ct, uint8_t *ss, const uint8_t *ek,
			 int kyber)
{
	uint8_t m[32];
	int rc = sotto_random(m, sizeof(m));
	if (rc == SOTTO_OK)
		rc = kem_encaps(p, ct, ss, ek, m, kyber);
	sotto_memzero(m, sizeof(m));
	return rc;
}

int sotto_mlkem768_keypair_derand(uint8_t ek[SOTTO_MLKEM768_EK_BYTES],
				  uint8_t dk[SOTTO_MLKEM768_DK_BYTES], const uint8_t d[32],
				  const uint8_t z[32])
{
	if (!(ek != NULL && dk != NULL && d != NULL && z != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return kem_keygen(&P768, ek, dk, d, z, 1);
}

int sotto_mlkem768_keypair(uint8_t ek[SOTTO_MLKEM768_EK_BYTES], uint8_t dk[SOTTO_MLKEM768_DK_BYTES])
{
	if (!(ek != NULL && dk != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return random_keypair(&P768, ek, dk, 1);
}

int sotto_mlkem768_encaps_derand(uint8_t ct[SOTTO_MLKEM768_CT_BYTES], uint8_t ss[SOTTO_KEM_SS_BYTES],
				 const uint8_t ek[SOTTO_MLKEM768_EK_BYTES], const uint8_t m[32])
{
	if (!(ct != NULL && ss != NULL && ek != NULL && m != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return kem_encaps(&P768, ct, ss, ek, m, 0);
}

int sotto_mlkem768_encaps(uint8_t ct[SOTTO_MLKEM768_CT_BYTES], uint8_t ss[SOTTO_KEM_SS_BYTES],
			  const uint8_t ek[SOTTO_MLKEM768_EK_BYTES])
{
	if (!(ct != NULL && ss != NULL && ek != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return random_encaps(&P768, ct, ss, ek, 0);
}

int sotto_mlkem768_decaps(uint8_t ss[SOTTO_KEM_SS_BYTES], const uint8_t ct[SOTTO_MLKEM768_CT_BYTES],
			  const uint8_t dk[SOTTO_MLKEM768_DK_BYTES])
{
	if (!(ss != NULL && ct != NULL && dk != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return kem_decaps(&P768, ss, ct, dk, 0);
}

int sotto_mlkem768_check_ek(const uint8_t ek[SOTTO_MLKEM768_EK_BYTES])
{
	if (ek == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return check_ek(&P768, ek);
}

static int check_dk_public(const kem_params *p, const uint8_t *dk)
{
	hasher h;
	int rc = hasher_init(&h);
	if (rc == SOTTO_OK)
		rc = check_dk(&h, p, dk);
	hasher_free(&h);
	return rc;
}

int sotto_mlkem768_check_dk(const uint8_t dk[SOTTO_MLKEM768_DK_BYTES])
{
	if (dk == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return check_dk_public(&P768, dk);
}

int sotto_mlkem1024_keypair_derand(uint8_t ek[SOTTO_MLKEM1024_EK_BYTES],
				   uint8_t dk[SOTTO_MLKEM1024_DK_BYTES], const uint8_t d[32],
				   const uint8_t z[32])
{
	if (!(ek != NULL && dk != NULL && d != NULL && z != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return kem_keygen(&P1024, ek, dk, d, z, 1);
}

int sotto_mlkem1024_keypair(uint8_t ek[SOTTO_MLKEM1024_EK_BYTES],
			    uint8_t dk[SOTTO_MLKEM1024_DK_BYTES])
{
	if (!(ek != NULL && dk != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return random_keypair(&P1024, ek, dk, 1);
}

int sotto_mlkem1024_encaps_derand(uint8_t ct[SOTTO_MLKEM1024_CT_BYTES],
				  uint8_t ss[SOTTO_KEM_SS_BYTES],
				  const uint8_t ek[SOTTO_MLKEM1024_EK_BYTES], const uint8_t m[32])
{
	if (!(ct != NULL && ss != NULL && ek != NULL && m != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return kem_encaps(&P1024, ct, ss, ek, m, 0);
}

int sotto_mlkem1024_encaps(uint8_t ct[SOTTO_MLKEM1024_CT_BYTES], uint8_t ss[SOTTO_KEM_SS_BYTES],
			   const uint8_t ek[SOTTO_MLKEM1024_EK_BYTES])
{
	if (!(ct != NULL && ss != NULL && ek != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return random_encaps(&P1024, ct, ss, ek, 0);
}

int sotto_mlkem1024_decaps(uint8_t ss[SOTTO_KEM_SS_BYTES],
			   const uint8_t ct[SOTTO_MLKEM1024_CT_BYTES],
			   const uint8_t dk[SOTTO_MLKEM1024_DK_BYTES])
{
	if (!(ss != NULL && ct != NULL && dk != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return kem_decaps(&P1024, ss, ct, dk, 0);
}

int sotto_mlkem1024_check_ek(const uint8_t ek[SOTTO_MLKEM1024_EK_BYTES])
{
	if (ek == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return check_ek(&P1024, ek);
}

int sotto_mlkem1024_check_dk(const uint8_t dk[SOTTO_MLKEM1024_DK_BYTES])
{
	if (dk == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	return check_dk_public(&P1024, dk);
}

int sotto_kyber1024_keypair_derand(uint8_t pk[SOTTO_KYBER1024_PK_BYTES],
				   uint8_t sk[SOTTO_KYBER1024_SK_BYTES], const uint8_t d[32],
				   const uint8_t z[32])
{
	if (!(pk != NULL && sk != NULL && d != NULL && z != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return kem_keygen(&P1024, pk, sk, d, z, 0);
}

int sotto_kyber1024_keypair(uint8_t pk[SOTTO_KYBER1024_PK_BYTES],
			    uint8_t sk[SOTTO_KYBER1024_SK_BYTES])
{
	if (!(pk != NULL && sk != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return random_keypair(&P1024, pk, sk, 0);
}

int sotto_kyber1024_encaps_derand(uint8_t ct[SOTTO_KYBER1024_CT_BYTES],
				  uint8_t ss[SOTTO_KEM_SS_BYTES],
				  const uint8_t pk[SOTTO_KYBER1024_PK_BYTES], const uint8_t coins[32])
{
	if (!(ct != NULL && ss != NULL && pk != NULL && coins != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return kem_encaps(&P1024, ct, ss, pk, coins, 1);
}

int sotto_kyber1024_encaps(uint8_t ct[SOTTO_KYBER1024_CT_BYTES], uint8_t ss[SOTTO_KEM_SS_BYTES],
			   const uint8_t pk[SOTTO_KYBER1024_PK_BYTES])
{
	if (!(ct != NULL && ss != NULL && pk != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return random_encaps(&P1024, ct, ss, pk, 1);
}

int sotto_kyber1024_decaps(uint8_t ss[SOTTO_KEM_SS_BYTES],
			   const uint8_t ct[SOTTO_KYBER1024_CT_BYTES],
			   const uint8_t sk[SOTTO_KYBER1024_SK_BYTES])
{
	if (!(ss != NULL && ct != NULL && sk != NULL))
		return SOTTO_ERR_INVALID_ARGUMENT;
	return kem_decaps(&P1024, ss, ct, sk, 1);
}

/* ---- Incremental ML-KEM-768 (SPQR) ----
 * K-PKE.Encrypt split in two: c1 needs only rho (in hdr) and the noise, c2
 * needs t_hat (ek_vector). The state carries y_hat, e2 and m from one half to
 * the other; its layout is ByteEncode12(y_hat) || ByteEncode12(e2 mod q) || m. */

#define INCR_T_BYTES SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES
#define INCR_E2_OFF (3 * POLYBYTES)
#define INCR_M_OFF (INCR_E2_OFF + POLYBYTES)

int sotto_mlkem768_incr_split_ek(uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES],
				 uint8_t ek_vector[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES],
				 const uint8_t ek[SOTTO_MLKEM768_EK_BYTES])
{
	if (hdr == NULL || ek_vector == NULL || ek == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	uint8_t hek[32];
	int rc = sotto_sha3_256(hek, ek, SOTTO_MLKEM768_EK_BYTES);
	if (rc != SOTTO_OK)
		return rc;
	memmove(hdr, ek + INCR_T_BYTES, 32);
	memcpy(hdr + 32, hek, 32);
	memmove(ek_vector, ek, INCR_T_BYTES);
	return SOTTO_OK;
}

int sotto_mlkem768_incr_check_ek_vector(const uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES],
					const uint8_t ek_vector[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES])
{
	if (hdr == NULL || ek_vector == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	if (check_ek(&P768, ek_vector) != SOTTO_OK)
		return SOTTO_ERR_INVALID_KEY;
	uint8_t hek[32];
	const sotto_iov parts[2] = { { ek_vector, INCR_T_BYTES }, { hdr, 32 } };
	int rc = sotto_sha3_256_v(hek, parts, 2);
	if (rc != SOTTO_OK)
		return rc;
	return sotto_memeq(hek, hdr + 32, 32) ? SOTTO_OK : SOTTO_ERR_INVALID_KEY;
}

int sotto_mlkem768_incr_join_ek(uint8_t ek[SOTTO_MLKEM768_EK_BYTES],
				const uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES],
				const uint8_t ek_vector[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES])
{
	int rc = sotto_mlkem768_incr_check_ek_vector(hdr, ek_vector);
	if (rc != SOTTO_OK || ek == NULL)
		return rc != SOTTO_OK ? rc : SOTTO_ERR_INVALID_ARGUMENT;
	memmove(ek, ek_vector, INCR_T_BYTES);
	memmove(ek + INCR_T_BYTES, hdr, 32);
	return SOTTO_OK;
}

int sotto_mlkem768_incr_encaps1_derand(uint8_t ct1[SOTTO_MLKEM768_INCR_CT1_BYTES],
				       uint8_t ss[SOTTO_KEM_SS_BYTES],
				       sotto_mlkem768_incr_state *state,
				       const uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES],
				       const uint8_t m[32])
{
	if (ct1 == NULL || ss == NULL || state == NULL || hdr == NULL || m == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	hasher h;
	pke_noise nz;
	uint8_t kr[64];
	int rc = hasher_init(&h);
	if (rc != SOTTO_OK)
		goto done;
	/* (K, r) = G(m || H(ek)), with H(ek) = hdr[32:64]. */
	if ((rc = hash_g(&h, kr, m, 32, hdr + 32, 32)) != SOTTO_OK ||
	    (rc = pke_sample_noise(&h, &nz, 3, kr + 32)) != SOTTO_OK ||
	    (rc = pke_encrypt_u(&h, &P768, ct1, hdr, &nz)) != SOTTO_OK)
		goto done;
	for (unsigned i = 0; i < 3; i++) {
		sotto__mlkem_poly_canon(&nz.y[i]);
		sotto__mlkem_poly_tobytes(state->bytes + POLYBYTES * i, &nz.y[i]);
	}
	sotto__mlkem_poly_canon(&nz.e2);
	sotto__mlkem_poly_tobytes(state->bytes + INCR_E2_OFF, &nz.e2);
	memcpy(state->bytes + INCR_M_OFF, m, 32);
	memcpy(ss, kr, 32);
done:
	hasher_free(&h);
	sotto_memzero(&nz, sizeof(nz));
	sotto_memzero(kr, sizeof(kr));
	if (rc != SOTTO_OK)
		sotto_memzero(state, sizeof(*state));
	return rc;
}

int sotto_mlkem768_incr_encaps1(uint8_t ct1[SOTTO_MLKEM768_INCR_CT1_BYTES],
				uint8_t ss[SOTTO_KEM_SS_BYTES], sotto_mlkem768_incr_state *state,
				const uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES])
{
	uint8_t m[32];
	int rc = sotto_random(m, sizeof(m));
	if (rc == SOTTO_OK)
		rc = sotto_mlkem768_incr_encaps1_derand(ct1, ss, state, hdr, m);
	sotto_memzero(m, sizeof(m));
	return rc;
}

int sotto_mlkem768_incr_encaps2(uint8_t ct2[SOTTO_MLKEM768_INCR_CT2_BYTES],
				const sotto_mlkem768_incr_state *state,
				const uint8_t ek_vector[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES])
{
	if (ct2 == NULL || state == NULL || ek_vector == NULL)
		return SOTTO_ERR_INVALID_ARGUMENT;
	sotto__mlkem_poly t[KMAX];
	pke_noise nz;
	for (unsigned i = 0; i < 3; i++) {
		if (sotto__mlkem_poly_frombytes_checked(&t[i], ek_vector + POLYBYTES * i) != 0)
			return SOTTO_ERR_INVALID_KEY;
	}
	for (unsigned i = 0; i < 3; i++)
		sotto__mlkem_poly_frombytes(&nz.y[i], state->bytes + POLYBYTES * i);
	sotto__mlkem_poly_frombytes(&nz.e2, state->bytes + INCR_E2_OFF);
	/* y_hat and e2 were stored canonical; back to small representatives so
	 * the products stay within the bounds the arithmetic assumes. */
	for (unsigned i = 0; i < 3; i++)
		sotto__mlkem_poly_reduce(&nz.y[i]);
	sotto__mlkem_poly_reduce(&nz.e2);
	pke_encrypt_v(&P768, ct2, t, &nz, state->bytes + INCR_M_OFF);
	sotto_memzero(&nz, sizeof(nz));
	return SOTTO_OK;
}
