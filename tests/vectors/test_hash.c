/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* SHA-2 and SHA-3/SHAKE against every record of the NIST CAVP files. */
#include <stdlib.h>
#include <string.h>

#include "rsp.h"
#include "sotto/hash.h"
#include "testutil.h"

enum alg { SHA256, SHA512, SHA3_256, SHA3_512, SHAKE128, SHAKE256 };

struct run {
	enum alg alg;
	size_t passed, total;
	size_t outbits_section; /* SHAKE ShortMsg/LongMsg: [Outputlen = N] */
};

static int compute(enum alg alg, uint8_t *out, size_t outlen, const uint8_t *msg, size_t msglen)
{
	/* Hash in two uneven parts too, to exercise the multi-part path. */
	size_t cut = msglen / 3;
	sotto_iov parts[2] = { { msg, cut }, { msg + cut, msglen - cut } };
	switch (alg) {
	case SHA256: return sotto_sha256_v(out, parts, 2) | sotto_sha256(out + 32, msg, msglen);
	case SHA512: return sotto_sha512_v(out, parts, 2) | sotto_sha512(out + 64, msg, msglen);
	case SHA3_256: return sotto_sha3_256_v(out, parts, 2) | sotto_sha3_256(out + 32, msg, msglen);
	case SHA3_512: return sotto_sha3_512_v(out, parts, 2) | sotto_sha3_512(out + 64, msg, msglen);
	case SHAKE128:
		return sotto_shake128_v(out, outlen, parts, 2) |
		       sotto_shake128(out + outlen, outlen, msg, msglen);
	case SHAKE256:
		return sotto_shake256_v(out, outlen, parts, 2) |
		       sotto_shake256(out + outlen, outlen, msg, msglen);
	}
	return -1;
}

static void one(const rsp_record *r, void *arg)
{
	struct run *run = arg;
	const char *len_s = rsp_get(r, "Len");
	const char *msg_s = rsp_get(r, "Msg");
	const char *want_s = rsp_get(r, "MD");
	if (want_s == NULL)
		want_s = rsp_get(r, "Output");
	if (msg_s == NULL || want_s == NULL)
		return; /* not a test record */
	run->total++;
	size_t msglen, wantlen;
	uint8_t *msg = tu_unhex(msg_s, &msglen);
	uint8_t *want = tu_unhex(want_s, &wantlen);
	if (msg == NULL || want == NULL) {
		tu_fail("malformed record");
		goto out;
	}
	if (len_s != NULL && strtoul(len_s, NULL, 10) == 0)
		msglen = 0; /* "Len = 0, Msg = 00" is the empty message */
	if (len_s != NULL && strtoul(len_s, NULL, 10) != msglen * 8) {
		tu_fail("record with bit length %s not byte aligned", len_s);
		goto out;
	}
	uint8_t *got = malloc(2 * wantlen + 1);
	if (got != NULL && compute(run->alg, got, wantlen, msg, msglen) == 0 &&
	    memcmp(got, want, wantlen) == 0 && memcmp(got + wantlen, want, wantlen) == 0)
		run->passed++;
	else
		tu_fail("mismatch: alg %d, msglen %zu", (int)run->alg, msglen);
	free(got);
out:
	free(msg);
	free(want);
}

int main(void)
{
	static const struct {
		const char *file;
		enum alg alg;
	} files[] = {
		{ "sha2/SHA256ShortMsg.rsp", SHA256 },	   { "sha2/SHA256LongMsg.rsp", SHA256 },
		{ "sha2/SHA512ShortMsg.rsp", SHA512 },	   { "sha2/SHA512LongMsg.rsp", SHA512 },
		{ "sha3/SHA3_256ShortMsg.rsp", SHA3_256 }, { "sha3/SHA3_256LongMsg.rsp", SHA3_256 },
		{ "sha3/SHA3_512ShortMsg.rsp", SHA3_512 }, { "sha3/SHA3_512LongMsg.rsp", SHA3_512 },
		{ "sha3/SHAKE128ShortMsg.rsp", SHAKE128 }, { "sha3/SHAKE128LongMsg.rsp", SHAKE128 },
		{ "sha3/SHAKE128VariableOut.rsp", SHAKE128 },
		{ "sha3/SHAKE256ShortMsg.rsp", SHAKE256 }, { "sha3/SHAKE256LongMsg.rsp", SHAKE256 },
		{ "sha3/SHAKE256VariableOut.rsp", SHAKE256 },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct run run = { .alg = files[i].alg };
		if (rsp_foreach(files[i].file, one, &run) < 0)
			tu_fail("cannot read %s", files[i].file);
		tu_report(files[i].file, run.passed, run.total);
	}
	return tu_finish("vectors-hash");
}
