/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Safety numbers: the scannable-form decoder (compare) on arbitrary pairs, and
 * creation with arbitrary stable ids. */
#include <stdint.h>
#include <string.h>

#include "sotto/error.h"
#include "sotto/fingerprint.h"

/* The harness only looks for crashes here; results are not checked. */
#define IGNORE(x)                \
	do {                     \
		int ig_ = (x);   \
		(void)ig_;       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[33] = {0x05, 1, 2, 3};
	if (size < 1)
		return 0;
	size_t split = data[0] < size - 1 ? data[0] : size - 1;
	const uint8_t *a = data + 1, *b = data + 1 + split;
	size_t al = split, bl = size - 1 - split;
	int match = -1;
	int rc = sotto_fingerprint_compare(a, al, b, bl, &match);
	if (match != 0 && match != 1)
		__builtin_trap();
	if (rc != 0 && match != 0)
		__builtin_trap();
	/* Our own form compared with itself never matches (local/remote swap),
	 * except when both halves are equal. */
	uint8_t sc[SOTTO_FINGERPRINT_SCANNABLE_MAX];
	size_t sl;
	char disp[61];
	if (sotto_fingerprint_create(disp, sc, sizeof sc, &sl, 2, (uint32_t)size, a, al, key, b, bl,
				     key) != 0)
		__builtin_trap();
	if (strlen(disp) != 60)
		__builtin_trap();
	IGNORE(sotto_fingerprint_compare(sc, sl, b, bl, &match));
	return 0;
}
