/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* HMAC-SHA256 and HKDF-SHA256 against every Wycheproof case, valid and
 * invalid. */
#include <stdlib.h>
#include <string.h>

#include "sotto/hash.h"
#include "testutil.h"

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void hmac_file(void)
{
	const char *file = "wycheproof/hmac_sha256_test.json";
	json_t *root = tu_load_json(file);
	size_t passed = 0, total = 0;
	/* One context reused across every case: keying must fully reset it. */
	sotto_hmac_sha256_ctx *ctx = sotto_hmac_sha256_new();
	CHECK(ctx != NULL);
	size_t gi, ti;
	json_t *g, *t;
	json_array_foreach(json_object_get(root, "testGroups"), gi, g)
	{
		size_t tagbytes = (size_t)json_integer_value(json_object_get(g, "tagSize")) / 8;
		json_array_foreach(json_object_get(g, "tests"), ti, t)
		{
			total++;
			size_t klen, mlen, tlen;
			uint8_t *key = tu_unhex(str(t, "key"), &klen);
			uint8_t *msg = tu_unhex(str(t, "msg"), &mlen);
			uint8_t *tag = tu_unhex(str(t, "tag"), &tlen);
			int valid = strcmp(str(t, "result"), "valid") == 0;
			uint8_t a[32], b[32];
			int ok = key && msg && tag && tagbytes <= 32;
			ok = ok && sotto_hmac_sha256(a, key, klen, msg, mlen) == 0;
			ok = ok && sotto_hmac_sha256_setkey(ctx, key, klen) == 0;
			/* Feed the message in two parts through the reusable context. */
			ok = ok && sotto_hmac_sha256_update(ctx, msg, mlen / 2) == 0 &&
			     sotto_hmac_sha256_update(ctx, msg + mlen / 2, mlen - mlen / 2) == 0 &&
			     sotto_hmac_sha256_final(ctx, b) == 0;
			if (ok) {
				int match = tlen == tagbytes && memcmp(a, tag, tagbytes) == 0 &&
					    memcmp(a, b, 32) == 0;
				if (match == valid)
					passed++;
				else
					tu_fail("hmac tcId %lld", json_integer_value(json_object_get(t, "tcId")));
			} else {
				tu_fail("hmac tcId %lld: error", json_integer_value(json_object_get(t, "tcId")));
			}
			free(key);
			free(msg);
			free(tag);
		}
	}
	sotto_hmac_sha256_free(ctx);
	tu_report(file, passed, total);
	json_decref(root);
}

static void hkdf_file(void)
{
	const char *file = "wycheproof/hkdf_sha256_test.json";
	json_t *root = tu_load_json(file);
	size_t passed = 0, total = 0;
	size_t gi, ti;
	json_t *g, *t;
	json_array_foreach(json_object_get(root, "testGroups"), gi, g)
	{
		json_array_foreach(json_object_get(g, "tests"), ti, t)
		{
			total++;
			size_t ilen, slen, nlen, olen;
			uint8_t *ikm = tu_unhex(str(t, "ikm"), &ilen);
			uint8_t *salt = tu_unhex(str(t, "salt"), &slen);
			uint8_t *info = tu_unhex(str(t, "info"), &nlen);
			uint8_t *okm = tu_unhex(str(t, "okm"), &olen);
			size_t size = (size_t)json_integer_value(json_object_get(t, "size"));
			int valid = strcmp(str(t, "result"), "valid") == 0;
			uint8_t *out = malloc(size + 1);
			int rc = -1;
			if (ikm && salt && info && okm && out)
				rc = sotto_hkdf_sha256(out, size, salt, slen, ikm, ilen, info, nlen);
			int ok = rc == 0 && olen == size && memcmp(out, okm, size) == 0;
			/* Invalid cases ask for more than 255 blocks: it must refuse. */
			if (ok == valid)
				passed++;
			else
				tu_fail("hkdf tcId %lld", json_integer_value(json_object_get(t, "tcId")));
			free(ikm);
			free(salt);
			free(info);
			free(okm);
			free(out);
		}
	}
	tu_report(file, passed, total);
	json_decref(root);
}

int main(void)
{
	hmac_file();
	hkdf_file();
	return tu_finish("vectors-hmac-hkdf");
}
