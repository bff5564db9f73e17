/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* ChaCha20-Poly1305 and XChaCha20-Poly1305 through sotto_aead_* against every
 * Wycheproof case (valid and invalid, including wrong nonce sizes, which the
 * API must refuse), and the raw ChaCha20 and Poly1305 that Noise's
 * ChaChaPoly rests on against the RFC 7539 vectors in Mbed TLS's test data. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/aead.h"
#include "sotto/error.h"
#include "testutil.h"

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* One Wycheproof AEAD case. Returns 1 when our verdict matches the file's. */
static int aead_case(sotto_aead_alg alg, json_t *t)
{
	size_t klen, nlen, alen, mlen, clen, tlen;
	uint8_t *key = tu_unhex(str(t, "key"), &klen);
	uint8_t *iv = tu_unhex(str(t, "iv"), &nlen);
	uint8_t *aad = tu_unhex(str(t, "aad"), &alen);
	uint8_t *msg = tu_unhex(str(t, "msg"), &mlen);
	uint8_t *ct = tu_unhex(str(t, "ct"), &clen);
	uint8_t *tag = tu_unhex(str(t, "tag"), &tlen);
	int valid = strcmp(str(t, "result"), "valid") == 0;
	int result = 0;
	if (!key || !iv || !aad || !msg || !ct || !tag)
		goto done;
	size_t sealed_len = clen + tlen;
	uint8_t *sealed = malloc(sealed_len + 1);
	uint8_t *buf = malloc(mlen + SOTTO_AEAD_TAG_BYTES + 1);
	if (!sealed || !buf) {
		free(sealed);
		free(buf);
		goto done;
	}
	memcpy(sealed, ct, clen);
	memcpy(sealed + clen, tag, tlen);

	size_t outlen = 0;
	int seal_rc = sotto_aead_seal(alg, buf, mlen + SOTTO_AEAD_TAG_BYTES, &outlen, key, klen, iv,
				      nlen, aad, alen, msg, mlen);
	int seal_match = seal_rc == 0 && outlen == sealed_len &&
			 memcmp(buf, sealed, sealed_len) == 0;
	size_t plen = 0;
	int open_rc = sotto_aead_open(alg, buf, mlen + SOTTO_AEAD_TAG_BYTES, &plen, key, klen, iv,
				      nlen, aad, alen, sealed, sealed_len);
	int open_match = open_rc == 0 && plen == mlen && memcmp(buf, msg, mlen) == 0;
	if (valid) {
		result = seal_match && open_match;
	} else {
		/* A wrong nonce size must be refused as an argument error by
		 * both directions; a modified tag or ciphertext must fail to
		 * open as an invalid message, and then no plaintext is left. */
		int bad_nonce = nlen != sotto_aead_nonce_bytes(alg);
		if (bad_nonce)
			result = seal_rc == SOTTO_ERR_INVALID_ARGUMENT &&
				 open_rc == SOTTO_ERR_INVALID_ARGUMENT;
		else
			result = !seal_match && open_rc == SOTTO_ERR_INVALID_MESSAGE;
	}
	free(sealed);
	free(buf);
done:
	free(key);
	free(iv);
	free(aad);
	free(msg);
	free(ct);
	free(tag);
	return result;
}

static void wycheproof_file(const char *file, sotto_aead_alg alg)
{
	json_t *root = tu_load_json(file);
	size_t passed = 0, total = 0;
	size_t gi, ti;
	json_t *g, *t;
	json_array_foreach(json_object_get(root, "testGroups"), gi, g)
	{
		json_array_foreach(json_object_get(g, "tests"), ti, t)
		{
			total++;
			if (aead_case(alg, t))
				passed++;
			else
				tu_fail("%s tcId %lld", file,
					json_integer_value(json_object_get(t, "tcId")));
		}
	}
	tu_report(file, passed, total);
	json_decref(root);
}

/* Splits an Mbed TLS .data function line at ':' into fields, removing the
 * quotes around hex strings. Returns the field count. */
static size_t split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (n < max) {
		fields[n++] = p;
		char *c = strchr(p, ':');
		if (c == NULL)
			break;
		*c = '\0';
		p = c + 1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(fields[i]);
		while (l > 0 && (fields[i][l - 1] == '\n' || fields[i][l - 1] == '\r'))
			fields[i][--l] = '\0';
		if (l >= 2 && fields[i][0] == '"' && fields[i][l - 1] == '"') {
			fields[i][l - 1] = '\0';
			fields[i]++;
		}
	}
	return n;
}

static int chacha20_case(char **f, size_t n)
{
	if (n != 6)
		return 0;
	size_t klen, nlen, ilen, olen;
	uint8_t *key = tu_unhex(f[1], &klen);
	uint8_t *nonce = tu_unhex(f[2], &nlen);
	uint8_t *in = tu_unhex(f[4], &ilen);
	uint8_t *want = tu_unhex(f[5], &olen);
	uint32_t counter = (uint32_t)strtoul(f[3], NULL, 10);
	int ok = 0;
	uint8_t *out = malloc(ilen + 1);
	if (key && nonce && in && want && out && klen == crypto_stream_chacha20_ietf_KEYBYTES &&
	    nlen == crypto_stream_chacha20_ietf_NONCEBYTES && ilen == olen) {
		ok = crypto_stream_chacha20_ietf_xor_ic(out, in, ilen, nonce, counter, key) == 0 &&
		     memcmp(out, want, olen) == 0;
	}
	free(key);
	free(nonce);
	free(in);
	free(want);
	free(out);
	return ok;
}

static int poly1305_case(char **f, size_t n)
{
	if (n != 4)
		return 0;
	size_t klen, tlen, mlen;
	uint8_t *key = tu_unhex(f[1], &klen);
	uint8_t *tag = tu_unhex(f[2], &tlen);
	uint8_t *msg = tu_unhex(f[3], &mlen);
	int ok = 0;
	if (key && tag && msg && klen == crypto_onetimeauth_KEYBYTES &&
	    tlen == crypto_onetimeauth_BYTES) {
		uint8_t out[crypto_onetimeauth_BYTES];
		ok = crypto_onetimeauth(out, msg, mlen, key) == 0 &&
		     memcmp(out, tag, tlen) == 0 &&
		     crypto_onetimeauth_verify(tag, msg, mlen, key) == 0;
		/* A flipped tag bit must not verify. */
		tag[0] ^= 1;
		ok = ok && crypto_onetimeauth_verify(tag, msg, mlen, key) != 0;
	}
	free(key);
	free(tag);
	free(msg);
	return ok;
}

/* Runs every record whose function is `func`; other functions are Mbed TLS
 * API self-tests that do not apply to us and are counted as such. */
static void mbedtls_file(const char *file, const char *func,
			 int (*run)(char **fields, size_t n))
{
	size_t len;
	char *text = tu_read_file(tu_vector_path(file), &len);
	CHECK(text != NULL);
	if (text == NULL)
		return;
	size_t passed = 0, total = 0, na = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (colon == NULL || strncmp(line, "depends_on:", 11) == 0 || strchr(line, ' '))
			continue; /* descriptions, dependency lines */
		char *fields[8];
		size_t n = split_fields(line, fields, 8);
		if (strcmp(fields[0], func) != 0) {
			na++;
			continue;
		}
		total++;
		if (run(fields, n))
			passed++;
		else
			tu_fail("%s record %zu", file, total);
	}
	printf("%s: %zu records not applicable (library self-tests)\n", file, na);
	tu_report(file, passed, total);
	free(text);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	wycheproof_file("wycheproof/chacha20_poly1305_test.json", SOTTO_AEAD_CHACHA20POLY1305);
	wycheproof_file("wycheproof/xchacha20_poly1305_test.json", SOTTO_AEAD_XCHACHA20POLY1305);
	mbedtls_file("mbedtls/test_suite_chacha20.data", "chacha20_crypt", chacha20_case);
	mbedtls_file("mbedtls/test_suite_poly1305.data", "mbedtls_poly1305", poly1305_case);
	return tu_finish("vectors-aead");
}
