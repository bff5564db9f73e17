/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed sender keys of sottod (docs/server-api.md "Sealed sender").
 *
 * Two X25519 key pairs live in the data directory, each a 32-byte private
 * key in a 0600 file written and fsynced before first use:
 *   sealed-root.key    the trust root: signs the server certificate only;
 *                      its public key is what clients pin (`sealed-root`)
 *   sealed-server.key  the server key (certificate id 1): signs the sender
 *                      certificates handed to authenticated devices
 * The server certificate is signed again at every start (XEdDSA signatures
 * are randomized; any of them is valid under the root), so the root's
 * private key is needed only for that moment and wiped right after. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/sealed_keys.h"
#include "server/server_internal.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/sealed.h"
#include "sotto/util.h"

/* Reads DIR/name (32 bytes) or creates it. */
static int key_file(const char *dir, const char *name, uint8_t priv[32], uint8_t pub33[33],
	char *err, size_t errcap)
{
	char path[1100], tmp[1110];
	struct stat sb;
	ssize_t r = -1;
	int fd, rc;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &sb) == 0 && sb.st_size == 32)
			r = read(fd, priv, 32);
		close(fd);
		if (r != 32) {
			sotto_memzero(priv, 32);
			snprintf(err, errcap, "%s: not a 32-byte key file", path);
			return SOTTO_ERR_INVALID_KEY;
		}
		pub33[0] = 0x05;
		return sotto_x25519_public(pub33 + 1, priv);
	}
	if (errno != ENOENT) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return SOTTO_ERR_STORAGE;
	}
	pub33[0] = 0x05;
	rc = sotto_x25519_keypair(pub33 + 1, priv);
	if (rc != 0)
		return rc;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, priv, 32) != 32 || fsync(fd) != 0 || close(fd) != 0 ||
		rename(tmp, path) != 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		sotto_memzero(priv, 32);
		return SOTTO_ERR_STORAGE;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

int sotto__sealed_keys_load(const char *dir, struct sotto__sealed_keys *k, char *err,
	size_t errcap)
{
	uint8_t root_priv[32];
	memset(k, 0, sizeof(*k));
	int rc = key_file(dir, SOTTO__SEALED_ROOT_FILE, root_priv, k->root_pub, err, errcap);
	if (rc == 0)
		rc = key_file(dir, SOTTO__SEALED_SERVER_FILE, k->server_priv, k->server_pub, err,
			errcap);
	if (rc == 0) {
		rc = sotto_server_cert_create(SOTTO__SEALED_SERVER_KEY_ID, k->server_pub, root_priv,
			sotto_rng_system, NULL, k->server_cert, sizeof k->server_cert,
			&k->server_cert_len);
		if (rc != 0)
			snprintf(err, errcap, "cannot sign the sealed sender server certificate: %s",
				sotto_strerror(rc));
	}
	sotto_memzero(root_priv, sizeof root_priv);
	if (rc != 0)
		sotto__sealed_keys_wipe(k);
	return rc;
}

void sotto__sealed_keys_wipe(struct sotto__sealed_keys *k)
{
	sotto_memzero(k, sizeof(*k));
}

int sotto__sealed_issue(const struct sotto__sealed_keys *k, const uint8_t account[16],
	uint32_t device, const uint8_t identity_key[33], uint64_t expires_ms, uint8_t *out,
	size_t cap, size_t *outlen)
{
	/* The sender is the account id as a lowercase hyphenated UUID, the
	 * same string clients use as the protocol address of its devices. */
	static const char hex[] = "0123456789abcdef";
	char uuid[37];
	size_t j = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			uuid[j++] = '-';
		uuid[j++] = hex[account[i] >> 4];
		uuid[j++] = hex[account[i] & 15];
	}
	uuid[j] = '\0';
	if (k->server_cert_len == 0)
		return SOTTO_ERR_INVALID_KEY;
	return sotto_sender_cert_create(uuid, NULL, device, identity_key, expires_ms,
		k->server_cert, k->server_cert_len, k->server_priv, sotto_rng_system, NULL, out, cap,
		outlen);
}

void sotto_server_sealed_root(const sotto_server *s, uint8_t pub[32])
{
	memcpy(pub, s->sealed.root_pub + 1, 32);
}
