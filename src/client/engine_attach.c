/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Client engine: attachments.
 *
 * Format ("sotto-att-v1"). A fresh 48-byte secret per file: K = the first
 * 32 bytes (XChaCha20-Poly1305 key), P = the last 16 (nonce prefix). The
 * plaintext is cut into 64 KiB chunks (at least one chunk; the last may be
 * shorter or empty). Chunk i is sealed with nonce P || be64(i) and AAD
 * "sotto-att-v1" || be64(i) || f, where f = 1 for the last chunk and 0
 * otherwise, so chunks cannot be reordered, dropped or the file truncated
 * without failing authentication. The blob is the concatenation of the
 * sealed chunks (each 16 bytes longer than its plaintext). The digest the
 * message carries (and the server checks) is SHA-256 of the whole blob; the
 * receiver checks it before decrypting anything.
 *
 * Both directions go through a temporary file of ciphertext under
 * DIR/attachments, so memory stays bounded by one chunk (the digest is
 * computed over a read-only mapping). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/engine_internal.h"
#include "sotto/aead.h"
#include "sotto/error.h"
#include "sotto/hash.h"
#include "sotto/util.h"

#pragma GCC diagnostic ignored "-Wcast-qual"

#define ATT_CHUNK (64u * 1024u)
#define ATT_MAX (100ull * 1024 * 1024)
#define ATT_LABEL "sotto-att-v1"
#define ATT_XFER (256u * 1024u)

static uint64_t n_chunks(uint64_t size)
{
	return size == 0 ? 1 : (size + ATT_CHUNK - 1) / ATT_CHUNK;
}

static uint64_t blob_size(uint64_t size)
{
	return size + 16u * n_chunks(size);
}

static void chunk_params(const uint8_t key[48], uint64_t i, int final, uint8_t nonce[24],
	uint8_t aad[sizeof ATT_LABEL - 1 + 9])
{
	memcpy(nonce, key + 32, 16);
	memcpy(aad, ATT_LABEL, sizeof ATT_LABEL - 1);
	for (int k = 0; k < 8; k++) {
		nonce[16 + k] = (uint8_t)(i >> (56 - 8 * k));
		aad[sizeof ATT_LABEL - 1 + (size_t)k] = (uint8_t)(i >> (56 - 8 * k));
	}
	aad[sizeof ATT_LABEL - 1 + 8] = (uint8_t)(final ? 1 : 0);
}

static int read_full(int fd, uint8_t *buf, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return SOTTO_ERR_STORAGE;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t n)
{
	size_t put = 0;
	while (put < n) {
		ssize_t r = write(fd, buf + put, n - put);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return SOTTO_ERR_STORAGE;
		put += (size_t)r;
	}
	return 0;
}

static int digest_file(int fd, uint64_t len, uint8_t out[32])
{
	void *m = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return SOTTO_ERR_STORAGE;
	int rc = sotto_sha256(out, m, (size_t)len);
	munmap(m, (size_t)len);
	return rc;
}

static int tmp_path(sotto_client *c, char *out, size_t cap)
{
	uint8_t r[8];
	char h[17];
	int rc = sotto_random(r, sizeof r);
	if (rc != 0)
		return rc;
	sotto__eng_hex(r, sizeof r, h);
	int w = snprintf(out, cap, "%s/attachments/.tmp-%s", c->dir, h);
	return w > 0 && (size_t)w < cap ? 0 : SOTTO_ERR_INVALID_ARGUMENT;
}

int sotto__eng_attach_upload(sotto_client *c, const char *path,
	Sotto__Content__AttachmentPointer *ptr, uint8_t key[48], uint8_t id[16], uint8_t digest[32])
{
	char tmp[ENG_PATH_MAX];
	uint8_t *pt = NULL, *ct = NULL;
	int in = -1, out = -1, rc;
	struct stat st;
	uint64_t size, bsize;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return sotto__eng_err(c, SOTTO_ERR_NOT_FOUND, "cannot open %s: %s", path,
			strerror(errno));
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return sotto__eng_err(c, SOTTO_ERR_INVALID_ARGUMENT, "%s is not a regular file", path);
	}
	size = (uint64_t)st.st_size;
	if (size > ATT_MAX) {
		close(in);
		return sotto__eng_err(c, SOTTO_ERR_LIMIT, "%s is over 100 MiB", path);
	}
	bsize = blob_size(size);
	rc = sotto_random(key, 48);
	if (rc == 0)
		rc = tmp_path(c, tmp, sizeof tmp);
	if (rc != 0)
		goto out;
	out = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	pt = malloc(ATT_CHUNK);
	ct = malloc(ATT_XFER > ATT_CHUNK + 16 ? ATT_XFER : ATT_CHUNK + 16);
	if (out < 0 || pt == NULL || ct == NULL) {
		rc = out < 0 ? SOTTO_ERR_STORAGE : SOTTO_ERR_NOMEM;
		goto out;
	}
	/* Encrypt into the temporary file. */
	uint64_t nc = n_chunks(size);
	for (uint64_t i = 0; i < nc && rc == 0; i++) {
		size_t len = (size_t)(i + 1 < nc ? ATT_CHUNK : size - i * ATT_CHUNK);
		uint8_t nonce[24], aad[sizeof ATT_LABEL - 1 + 9];
		size_t clen;
		rc = read_full(in, pt, len, (off_t)(i * ATT_CHUNK));
		chunk_params(key, i, i + 1 == nc, nonce, aad);
		if (rc == 0)
			rc = sotto_aead_seal(SOTTO_AEAD_XCHACHA20POLY1305, ct, ATT_CHUNK + 16, &clen,
				key, 32, nonce, 24, aad, sizeof aad, pt, len);
		if (rc == 0)
			rc = write_full(out, ct, clen);
	}
	if (rc == 0)
		rc = digest_file(out, bsize, digest);
	if (rc != 0) {
		sotto__eng_err(c, rc, "cannot encrypt %s", path);
		goto out;
	}
	/* Upload. */
	{
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__AttachmentCreateRequest cr =
			SOTTO__SERVICE__ATTACHMENT_CREATE_REQUEST__INIT;
		cr.size = bsize;
		cr.digest.data = digest;
		cr.digest.len = 32;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_CREATE;
		req.attachment_create = &cr;
		Response *r;
		rc = sotto__eng_call(c, &req, &r, 0);
		if (rc != 0)
			goto out;
		if (r->attachment_create == NULL || r->attachment_create->attachment_id.len != 16) {
			sotto_client_conn_response_free(r);
			rc = sotto__eng_err(c, SOTTO_ERR_INTERNAL, "malformed attachment answer");
			goto out;
		}
		memcpy(id, r->attachment_create->attachment_id.data, 16);
		sotto_client_conn_response_free(r);
	}
	for (uint64_t off = 0; off < bsize && rc == 0;) {
		size_t len = (size_t)(bsize - off < ATT_XFER ? bsize - off : ATT_XFER);
		rc = read_full(out, ct, len, (off_t)off);
		if (rc != 0)
			break;
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__AttachmentUploadRequest ur =
			SOTTO__SERVICE__ATTACHMENT_UPLOAD_REQUEST__INIT;
		ur.attachment_id.data = id;
		ur.attachment_id.len = 16;
		ur.offset = off;
		ur.data.data = ct;
		ur.data.len = len;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_UPLOAD;
		req.attachment_upload = &ur;
		Response *r;
		rc = sotto__eng_call(c, &req, &r, 0);
		if (rc != 0)
			break;
		sotto_client_conn_response_free(r);
		off += len;
	}
	if (rc == 0) {
		ptr->id.data = id;
		ptr->id.len = 16;
		ptr->key.data = key;
		ptr->key.len = 48;
		ptr->digest.data = digest;
		ptr->digest.len = 32;
		ptr->size = size;
	}
out:
	if (out >= 0) {
		close(out);
		unlink(tmp);
	}
	close(in);
	if (pt != NULL) {
		sotto_memzero(pt, ATT_CHUNK);
		free(pt);
	}
	free(ct);
	return rc;
}

int sotto__eng_attach_download(sotto_client *c, const Sotto__Content__AttachmentPointer *ptr,
	const char *dest_path)
{
	char tmp[ENG_PATH_MAX];
	uint8_t digest[32], *ct = NULL, *pt = NULL;
	int fd = -1, dst = -1, rc;
	if (ptr->size > ATT_MAX)
		return sotto__eng_err(c, SOTTO_ERR_LIMIT, "attachment over 100 MiB");
	uint64_t bsize = blob_size(ptr->size);
	rc = tmp_path(c, tmp, sizeof tmp);
	if (rc != 0)
		return rc;
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ct = malloc(ATT_XFER > ATT_CHUNK + 16 ? ATT_XFER : ATT_CHUNK + 16);
	pt = malloc(ATT_CHUNK);
	if (fd < 0 || ct == NULL || pt == NULL) {
		rc = fd < 0 ? SOTTO_ERR_STORAGE : SOTTO_ERR_NOMEM;
		goto out;
	}
	for (uint64_t off = 0; off < bsize && rc == 0;) {
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Sotto__Service__AttachmentDownloadRequest dr =
			SOTTO__SERVICE__ATTACHMENT_DOWNLOAD_REQUEST__INIT;
		dr.attachment_id.data = ptr->id.data;
		dr.attachment_id.len = 16;
		dr.offset = off;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_ATTACHMENT_DOWNLOAD;
		req.attachment_download = &dr;
		Response *r;
		rc = sotto__eng_call(c, &req, &r, 0);
		if (rc != 0)
			break;
		const Sotto__Service__AttachmentDownloadResponse *d = r->attachment_download;
		if (d == NULL || d->size != bsize || d->data.len == 0 ||
			d->data.len > bsize - off) {
			rc = sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE,
				"the attachment on the server does not match its pointer");
		} else {
			rc = write_full(fd, d->data.data, d->data.len);
			off += d->data.len;
		}
		sotto_client_conn_response_free(r);
	}
	if (rc == 0)
		rc = digest_file(fd, bsize, digest);
	if (rc == 0 && !sotto_memeq(digest, ptr->digest.data, 32))
		rc = sotto__eng_err(c, SOTTO_ERR_INVALID_MESSAGE, "attachment digest mismatch");
	if (rc != 0)
		goto out;
	dst = open(dest_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (dst < 0) {
		rc = sotto__eng_err(c, SOTTO_ERR_STORAGE, "cannot write %s", dest_path);
		goto out;
	}
	uint64_t nc = n_chunks(ptr->size);
	for (uint64_t i = 0; i < nc && rc == 0; i++) {
		size_t len = (size_t)(i + 1 < nc ? ATT_CHUNK : ptr->size - i * ATT_CHUNK);
		uint8_t nonce[24], aad[sizeof ATT_LABEL - 1 + 9];
		size_t plen;
		rc = read_full(fd, ct, len + 16, (off_t)(i * (ATT_CHUNK + 16)));
		chunk_params(ptr->key.data, i, i + 1 == nc, nonce, aad);
		if (rc == 0)
			rc = sotto_aead_open(SOTTO_AEAD_XCHACHA20POLY1305, pt, ATT_CHUNK, &plen,
				ptr->key.data, 32, nonce, 24, aad, sizeof aad, ct, len + 16);
		if (rc == 0)
			rc = write_full(dst, pt, plen);
	}
	if (rc == 0 && fsync(dst) != 0)
		rc = SOTTO_ERR_STORAGE;
	close(dst);
	if (rc != 0) {
		unlink(dest_path);
		sotto__eng_err(c, rc, "cannot decrypt the attachment");
	}
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(ct);
	if (pt != NULL) {
		sotto_memzero(pt, ATT_CHUNK);
		free(pt);
	}
	return rc;
}
