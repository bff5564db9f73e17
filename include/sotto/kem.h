/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
#ifndef SOTTO_KEM_H
#define SOTTO_KEM_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ML-KEM (FIPS 203) and the round-3 CRYSTALS-Kyber1024 that libsignal 0.103
 * uses for PQXDH prekeys (key type 0x08). Raw encodings, no type byte. */
#define SOTTO_MLKEM768_EK_BYTES 1184
#define SOTTO_MLKEM768_DK_BYTES 2400
#define SOTTO_MLKEM768_CT_BYTES 1088
#define SOTTO_MLKEM1024_EK_BYTES 1568
#define SOTTO_MLKEM1024_DK_BYTES 3168
#define SOTTO_MLKEM1024_CT_BYTES 1568
#define SOTTO_KYBER1024_PK_BYTES 1568
#define SOTTO_KYBER1024_SK_BYTES 3168
#define SOTTO_KYBER1024_CT_BYTES 1568
#define SOTTO_KEM_SS_BYTES 32
#define SOTTO_KEM_SEED_BYTES 32

/* KeyGen_internal(d, z). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem768_keypair_derand(uint8_t ek[SOTTO_MLKEM768_EK_BYTES],
								 uint8_t dk[SOTTO_MLKEM768_DK_BYTES],
								 const uint8_t d[32],
								 const uint8_t z[32]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem768_keypair(uint8_t ek[SOTTO_MLKEM768_EK_BYTES],
							  uint8_t dk[SOTTO_MLKEM768_DK_BYTES]);
/* Encaps_internal(ek, m). Fails with SOTTO_ERR_INVALID_KEY if ek fails the
 * FIPS 203 modulus check. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem768_encaps_derand(uint8_t ct[SOTTO_MLKEM768_CT_BYTES],
								uint8_t ss[SOTTO_KEM_SS_BYTES],
								const uint8_t ek[SOTTO_MLKEM768_EK_BYTES],
								const uint8_t m[32]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem768_encaps(uint8_t ct[SOTTO_MLKEM768_CT_BYTES],
							 uint8_t ss[SOTTO_KEM_SS_BYTES],
							 const uint8_t ek[SOTTO_MLKEM768_EK_BYTES]);
/* Decaps with implicit rejection. Fails with SOTTO_ERR_INVALID_KEY if dk fails
 * the FIPS 203 hash check; an invalid ciphertext yields the rejection secret. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem768_decaps(uint8_t ss[SOTTO_KEM_SS_BYTES],
							 const uint8_t ct[SOTTO_MLKEM768_CT_BYTES],
							 const uint8_t dk[SOTTO_MLKEM768_DK_BYTES]);

SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem1024_keypair_derand(uint8_t ek[SOTTO_MLKEM1024_EK_BYTES],
								  uint8_t dk[SOTTO_MLKEM1024_DK_BYTES],
								  const uint8_t d[32],
								  const uint8_t z[32]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem1024_keypair(uint8_t ek[SOTTO_MLKEM1024_EK_BYTES],
							   uint8_t dk[SOTTO_MLKEM1024_DK_BYTES]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem1024_encaps_derand(uint8_t ct[SOTTO_MLKEM1024_CT_BYTES],
								 uint8_t ss[SOTTO_KEM_SS_BYTES],
								 const uint8_t ek[SOTTO_MLKEM1024_EK_BYTES],
								 const uint8_t m[32]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem1024_encaps(uint8_t ct[SOTTO_MLKEM1024_CT_BYTES],
							  uint8_t ss[SOTTO_KEM_SS_BYTES],
							  const uint8_t ek[SOTTO_MLKEM1024_EK_BYTES]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem1024_decaps(uint8_t ss[SOTTO_KEM_SS_BYTES],
							  const uint8_t ct[SOTTO_MLKEM1024_CT_BYTES],
							  const uint8_t dk[SOTTO_MLKEM1024_DK_BYTES]);

/* Round-3 Kyber1024: keygen seeds (rho, sigma) = G(d) without the FIPS 203
 * domain byte; encaps hashes its 32 random bytes (m = SHA3-256(coins)) and the
 * secret is SHAKE256(Kbar || SHA3-256(ct)); decaps rejects implicitly with
 * SHAKE256(z || SHA3-256(ct)). Layouts: pk = t_hat || rho, sk = s || pk ||
 * SHA3-256(pk) || z. Round 3 defined no input checks; these functions apply
 * the FIPS 203 ones anyway (encaps: SOTTO_ERR_INVALID_KEY for a pk with a
 * coefficient >= q; decaps: SOTTO_ERR_INVALID_KEY if the H(pk) in sk does not
 * match), which every honestly generated key passes. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kyber1024_keypair_derand(uint8_t pk[SOTTO_KYBER1024_PK_BYTES],
								  uint8_t sk[SOTTO_KYBER1024_SK_BYTES],
								  const uint8_t d[32],
								  const uint8_t z[32]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kyber1024_keypair(uint8_t pk[SOTTO_KYBER1024_PK_BYTES],
							   uint8_t sk[SOTTO_KYBER1024_SK_BYTES]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kyber1024_encaps_derand(uint8_t ct[SOTTO_KYBER1024_CT_BYTES],
								 uint8_t ss[SOTTO_KEM_SS_BYTES],
								 const uint8_t pk[SOTTO_KYBER1024_PK_BYTES],
								 const uint8_t coins[32]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kyber1024_encaps(uint8_t ct[SOTTO_KYBER1024_CT_BYTES],
							  uint8_t ss[SOTTO_KEM_SS_BYTES],
							  const uint8_t pk[SOTTO_KYBER1024_PK_BYTES]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_kyber1024_decaps(uint8_t ss[SOTTO_KEM_SS_BYTES],
							  const uint8_t ct[SOTTO_KYBER1024_CT_BYTES],
							  const uint8_t sk[SOTTO_KYBER1024_SK_BYTES]);

/* Input checks of FIPS 203 section 7, for callers that store or forward keys:
 * check_ek is the modulus check (every coefficient of t_hat below q), check_dk
 * the hash check (the H(ek) stored in dk matches the ek stored in dk). Both
 * return 0 or SOTTO_ERR_INVALID_KEY. Encaps and decaps run them themselves. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem768_check_ek(const uint8_t ek[SOTTO_MLKEM768_EK_BYTES]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem768_check_dk(const uint8_t dk[SOTTO_MLKEM768_DK_BYTES]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem1024_check_ek(const uint8_t ek[SOTTO_MLKEM1024_EK_BYTES]);
SOTTO_EXPORT SOTTO_WARN_UNUSED int sotto_mlkem1024_check_dk(const uint8_t dk[SOTTO_MLKEM1024_DK_BYTES]);

/* Incremental ML-KEM-768 as SPQR sends it: the encapsulation key travels as
 * hdr = rho || SHA3-256(ek) (64 bytes) and ek_vector = ByteEncode12(t_hat)
 * (1152 bytes); the ciphertext as ct1 (960 bytes, the u part) and ct2 (128
 * bytes, the v part). ct1 || ct2 is exactly the ML-KEM-768 ciphertext of
 * Encaps_internal(ek, m), and the shared secret is known after encaps1, so
 * ordinary sotto_mlkem768_decaps recovers it. */
#define SOTTO_MLKEM768_INCR_HDR_BYTES 64
#define SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES 1152
#define SOTTO_MLKEM768_INCR_CT1_BYTES 960
#define SOTTO_MLKEM768_INCR_CT2_BYTES 128
/* ByteEncode12(r_hat) || ByteEncode12(e2) || m. */
#define SOTTO_MLKEM768_INCR_STATE_BYTES (3 * 384 + 384 + 32)

/* What encaps1 leaves for encaps2. It is SECRET (it determines the shared
 * secret): keep it like a private key and wipe it with sotto_memzero once ct2
 * is computed. It is a plain byte string, so it may be stored and reloaded. */
typedef struct sotto_mlkem768_incr_state {
	uint8_t bytes[SOTTO_MLKEM768_INCR_STATE_BYTES];
} sotto_mlkem768_incr_state;

/* Splits a standard ML-KEM-768 encapsulation key into hdr and ek_vector. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int
sotto_mlkem768_incr_split_ek(uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES],
			     uint8_t ek_vector[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES],
			     const uint8_t ek[SOTTO_MLKEM768_EK_BYTES]);
/* Checks that a received ek_vector belongs to hdr: SHA3-256(ek_vector ||
 * hdr[0:32]) must equal hdr[32:64] and every coefficient must be below q.
 * Returns 0 or SOTTO_ERR_INVALID_KEY. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int
sotto_mlkem768_incr_check_ek_vector(const uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES],
				    const uint8_t ek_vector[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES]);
/* Checks as above, then rebuilds the standard key ek = ek_vector || rho. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int
sotto_mlkem768_incr_join_ek(uint8_t ek[SOTTO_MLKEM768_EK_BYTES],
			    const uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES],
			    const uint8_t ek_vector[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES]);
/* First half of Encaps_internal(ek, m) from hdr alone: writes ct1, the shared
 * secret ss and the state for encaps2. On failure the state is zeroed. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int
sotto_mlkem768_incr_encaps1_derand(uint8_t ct1[SOTTO_MLKEM768_INCR_CT1_BYTES],
				   uint8_t ss[SOTTO_KEM_SS_BYTES], sotto_mlkem768_incr_state *state,
				   const uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES],
				   const uint8_t m[32]);
/* As above with a random m (sotto_random). */
SOTTO_EXPORT SOTTO_WARN_UNUSED int
sotto_mlkem768_incr_encaps1(uint8_t ct1[SOTTO_MLKEM768_INCR_CT1_BYTES],
			    uint8_t ss[SOTTO_KEM_SS_BYTES], sotto_mlkem768_incr_state *state,
			    const uint8_t hdr[SOTTO_MLKEM768_INCR_HDR_BYTES]);
/* Second half: ct2 from the state and ek_vector. ek_vector must already have
 * passed sotto_mlkem768_incr_check_ek_vector against the hdr given to encaps1
 * (this call repeats only the modulus check, SOTTO_ERR_INVALID_KEY). The state
 * is left unchanged; the caller wipes it. */
SOTTO_EXPORT SOTTO_WARN_UNUSED int
sotto_mlkem768_incr_encaps2(uint8_t ct2[SOTTO_MLKEM768_INCR_CT2_BYTES],
			    const sotto_mlkem768_incr_state *state,
			    const uint8_t ek_vector[SOTTO_MLKEM768_INCR_EK_VECTOR_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
