/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed-sender decoders: the first byte picks the target.
 *   0: v1 / v2-received decrypt (sotto_sealed_decrypt, fixed recipient key);
 *   1: the server split of a v2 sent form, for the service id in the next 17
 *      bytes, with the device list;
 *   2: USMC parse;  3: sender certificate parse and validate;
 *   4: server certificate validate. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/sealed.h"

/* The harness only looks for crashes here; results are not checked. */
#define IGNORE(x)                \
	do {                     \
		int ig_ = (x);   \
		(void)ig_;       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seed corpus was made (with libsignal) for this recipient: the private
 * key is 32 bytes of 0x42, clamped. */
static void recipient(uint8_t pub[33], uint8_t priv[32])
{
	memset(priv, 0x42, 32);
	sotto_x25519_clamp(priv);
	pub[0] = 0x05;
	if (sotto_x25519_public(pub + 1, priv) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pub[33], priv[32];
	static int ready;
	if (!ready) {
		recipient(pub, priv);
		ready = 1;
	}
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] % 5) {
	case 0: {
		sotto_usmc *u = NULL;
		const uint8_t(*roots)[33] = (const uint8_t(*)[33])pub;
		int rc = sotto_sealed_decrypt(pub, priv, roots, 1, 0, "me", "+1", 1, p, n, &u);
		if ((rc == 0) != (u != NULL))
			__builtin_trap();
		sotto_usmc_free(u);
		u = NULL;
		rc = sotto_sealed_decrypt_to_usmc(pub, priv, p, n, &u);
		if ((rc == 0) != (u != NULL))
			__builtin_trap();
		sotto_usmc_free(u);
		break;
	}
	case 1: {
		if (n < 17)
			break;
		uint8_t *out = malloc(n);
		uint8_t devs[4];
		uint16_t regs[4];
		size_t outlen = 0, nd = 0;
		if (out == NULL)
			break;
		int rc = sotto_sealed_v2_split(p + 17, n - 17, p, out, n, &outlen, devs, regs, 4, &nd);
		if (rc == 0 && (outlen > n - 17 || out[0] != 0x22 || outlen < 1 + 48 + 32))
			__builtin_trap();
		free(out);
		break;
	}
	case 2: {
		sotto_usmc *u = NULL;
		if (sotto_usmc_parse(p, n, &u) == 0) {
			size_t l;
			const uint8_t *s = sotto_usmc_serialized(u, &l);
			if (l != n || memcmp(s, p, n) != 0)
				__builtin_trap();
			(void)sotto_usmc_content(u, &l);
			(void)sotto_usmc_group_id(u, &l);
		}
		sotto_usmc_free(u);
		break;
	}
	case 3: {
		sotto_sender_cert *c = NULL;
		if (sotto_sender_cert_parse(p, n, &c) == 0) {
			const uint8_t(*roots)[33] = (const uint8_t(*)[33])pub;
			IGNORE(sotto_sender_cert_validate(c, roots, 1, 0));
			(void)sotto_sender_cert_uuid(c, NULL);
		}
		sotto_sender_cert_free(c);
		break;
	}
	default:
		IGNORE(sotto_server_cert_validate(p, n, pub));
		break;
	}
	return 0;
}
