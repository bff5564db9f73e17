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
 * secret is SHAKE256(Kbar || SHA3-256(ct)). */
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

#ifdef __cplusplus
}
#endif
#endif
