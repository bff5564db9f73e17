/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Sealed sender in the client engine against a real sottod on loopback:
 *  - alice pins the trust root from sottod's `sealed-root` line, bob learns
 *    it at registration (trust on first use) and holds the same one;
 *  - messages both ways leave as sealed envelopes: the server's SQLite rows
 *    carry no sender account or device, type 6; the receivers still see who
 *    wrote (from the certificate) and answer with sealed receipts;
 *  - a certificate chain under a forged root (submitted by mallory, naming
 *    alice) is dropped by bob and never shown;
 *  - a certificate that expired by the receiver's clock is dropped, and the
 *    next message in that session still arrives;
 *  - carol pinned another root: alice's sealed messages are dropped by her,
 *    and her own messages go out unsealed with a notice that says so. */
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/engine_internal.h"
#include "sotto/client.h"
#include "sotto/curve.h"
#include "sotto/error.h"
#include "sotto/sealed.h"
#include "sotto/util.h"
#include "testutil.h"
#include "wire/wire.h"

#pragma GCC diagnostic ignored "-Wcast-qual"

static char g_dir[256], g_bin[512], g_server[96], g_db[320];
static uint8_t g_key[32], g_root[32];
static pid_t g_pid = -1;
static uint64_t g_offset[4]; /* per client slot: ms added to the real clock */

static uint64_t test_clock(void *ctx)
{
	const uint64_t *off = ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + *off;
}

static int start_server(void)
{
	int pfd[2];
	char data[300], keyb64[128], ktb64[128], rootb64[128];
	snprintf(data, sizeof data, "%s/server", g_dir);
	snprintf(g_db, sizeof g_db, "%s/sotto.db", data);
	if (pipe(pfd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(g_bin, "sottod", "--data", data, "--listen", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char buf[1024];
	size_t n = 0;
	buf[0] = '\0';
	while (n < sizeof(buf) - 1) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t r = read(pfd[0], buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "sealed-root ") != NULL && strchr(strstr(buf, "sealed-root "), '\n'))
			break;
	}
	close(pfd[0]);
	char host[64];
	unsigned port;
	/* The existing lines come first, unchanged; the root is the new last one. */
	if (sscanf(buf, "listen %63[^:]:%u\npublic-key %127s\nkt-key %127s\nsealed-root %127s",
		    host, &port, keyb64, ktb64, rootb64) != 5) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	snprintf(g_server, sizeof g_server, "%s:%u", host, port);
	g_pid = pid;
	if (sotto_client_parse_server_key(keyb64, g_key) != 0)
		return -1;
	return sotto_client_parse_server_key(rootb64, g_root);
}

#define OK(c, expr)                                                                       \
	do {                                                                              \
		int rc_ = (expr);                                                         \
		if (rc_ != 0)                                                             \
			tu_fail("%s:%d: %s -> %s (%s)", __FILE__, __LINE__, #expr,        \
				sotto_strerror(rc_), sotto_client_errmsg(c));              \
	} while (0)

static sotto_client *create_client(const char *who, int slot)
{
	char dir[300], err[256];
	sotto_client *c = NULL;
	snprintf(dir, sizeof dir, "%s/%s", g_dir, who);
	int rc = sotto_client_create(&c, dir, NULL, 0, err, sizeof err);
	if (rc != 0) {
		tu_fail("create %s: %s (%s)", who, sotto_strerror(rc), err);
		return NULL;
	}
	sotto_client_set_clock(c, test_clock, &g_offset[slot]);
	return c;
}

#define MAXGOT 16
struct got {
	size_t n;
	char body[MAXGOT][128];
	char sender[MAXGOT][40];
	uint32_t device[MAXGOT];
};

static int collect(void *ctx, const sotto_client_message *m)
{
	struct got *g = ctx;
	if (g->n >= MAXGOT)
		return 0;
	snprintf(g->body[g->n], sizeof g->body[0], "%s", m->body);
	snprintf(g->sender[g->n], sizeof g->sender[0], "%s", m->sender);
	g->device[g->n] = m->sender_device;
	g->n++;
	return 0;
}

static unsigned receive(sotto_client *c, struct got *g)
{
	unsigned n = 0;
	memset(g, 0, sizeof(*g));
	OK(c, sotto_client_receive(c, 300, collect, g, &n));
	CHECK(n == g->n);
	return n;
}

/* Counts the queued envelopes in the server's database: all, those with a
 * sender account or device, and those of type 6 (sealed sender). */
static void db_counts(int *all, int *with_sender, int *sealed_type)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	*all = *with_sender = *sealed_type = -1;
	if (sqlite3_open_v2(g_db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
		sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
		sqlite3_prepare_v2(db,
			"SELECT count(*), "
			"coalesce(sum(sender_account IS NOT NULL OR sender_device IS NOT NULL), 0), "
			"coalesce(sum(type = 6), 0) FROM envelopes",
			-1, &st, NULL) != SQLITE_OK ||
		sqlite3_step(st) != SQLITE_ROW) {
		tu_fail("cannot read %s: %s", g_db, db != NULL ? sqlite3_errmsg(db) : "open");
	} else {
		*all = sqlite3_column_int(st, 0);
		*with_sender = sqlite3_column_int(st, 1);
		*sealed_type = sqlite3_column_int(st, 2);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The identity key the server holds for (account, device 1). */
static int db_identity(const uint8_t acct[16], uint8_t ik[33])
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_open_v2(g_db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
		sqlite3_prepare_v2(db,
			"SELECT identity_key FROM devices WHERE account_id = ?1 AND device_id = 1",
			-1, &st, NULL) == SQLITE_OK &&
		sqlite3_bind_blob(st, 1, acct, 16, SQLITE_STATIC) == SQLITE_OK &&
		sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 33) {
		memcpy(ik, sqlite3_column_blob(st, 0), 33);
		rc = 0;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static int acct_of(sotto_client *c, uint8_t acct[16], char str[SOTTO_CLIENT_ACCOUNT_STR + 1])
{
	sotto_client_account a;
	int rc = sotto_client_account_info(c, &a);
	if (rc == 0) {
		snprintf(str, SOTTO_CLIENT_ACCOUNT_STR + 1, "%s", a.account_id);
		rc = sotto__eng_uuid_parse(a.account_id, acct);
	}
	return rc;
}

/* Mallory (authenticated, so the server accepts the send) submits a sealed
 * envelope whose certificate chain hangs off a root she made up, naming
 * alice's account and device 1, with a key pair of her own. */
static void forge_to(sotto_client *mallory, const uint8_t bob[16], const char *alice_str)
{
	uint8_t root_priv[32], root_pub[33], srv_priv[32], srv_pub[33];
	sotto_identity_keypair fake;
	uint8_t scert[512], ccert[1024], usmc[2048], env[4096], bob_ik[33];
	size_t slen, clen, ulen, elen;
	const uint8_t inner[] = "a whisper message that never gets to be decrypted";

	root_pub[0] = srv_pub[0] = 0x05;
	CHECK_RC(sotto_x25519_keypair(root_pub + 1, root_priv), 0);
	CHECK_RC(sotto_x25519_keypair(srv_pub + 1, srv_priv), 0);
	CHECK_RC(sotto_identity_keypair_generate(&fake, sotto_rng_system, NULL), 0);
	CHECK_RC(db_identity(bob, bob_ik), 0);
	CHECK_RC(sotto_server_cert_create(1, srv_pub, root_priv, sotto_rng_system, NULL, scert,
		sizeof scert, &slen), 0);
	CHECK_RC(sotto_sender_cert_create(alice_str, NULL, 1, fake.pub,
		test_clock(&g_offset[0]) + 3600000, scert, slen, srv_priv, sotto_rng_system, NULL,
		ccert, sizeof ccert, &clen), 0);
	CHECK_RC(sotto_usmc_encode(SOTTO_SEALED_MSG_WHISPER, ccert, clen, inner, sizeof inner, 0,
		NULL, 0, usmc, sizeof usmc, &ulen), 0);
	CHECK_RC(sotto_sealed_v1_encrypt(bob_ik, fake.pub, fake.priv, usmc, ulen,
		sotto_rng_system, NULL, env, sizeof env, &elen), 0);
	sotto_memzero(&fake, sizeof fake);

	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Sotto__Service__SendRequest sr = SOTTO__SERVICE__SEND_REQUEST__INIT;
	Sotto__Service__OutgoingEnvelope oe = SOTTO__SERVICE__OUTGOING_ENVELOPE__INIT;
	Sotto__Service__OutgoingEnvelope *oep = &oe;
	oe.device_id = 1;
	oe.type = SOTTO_WIRE_TYPE_SEALED_SENDER;
	oe.content.data = env;
	oe.content.len = elen;
	sr.destination.data = (uint8_t *)bob;
	sr.destination.len = 16;
	sr.sealed = 1;
	sr.envelopes = &oep;
	sr.n_envelopes = 1;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_SEND;
	req.send = &sr;
	Response *r = NULL;
	OK(mallory, sotto__eng_call(mallory, &req, &r, 0));
	if (r != NULL)
		sotto_client_conn_response_free(r);
}

static void scenario(void)
{
	struct got g;
	int all, with_sender, sealed_type;
	uint8_t root[32], a_acct[16], b_acct[16], c_acct[16];
	char a_str[SOTTO_CLIENT_ACCOUNT_STR + 1], b_str[SOTTO_CLIENT_ACCOUNT_STR + 1];
	char c_str[SOTTO_CLIENT_ACCOUNT_STR + 1];
	sotto_client *a = create_client("alice", 0), *b = create_client("bob", 1);
	sotto_client *m = create_client("mallory", 2), *c = create_client("carol", 3);
	if (a == NULL || b == NULL || m == NULL || c == NULL)
		goto out;

	/* Pinning: alice from the printed line, bob on first contact. */
	OK(a, sotto_client_set_sealed_root(a, g_root));
	OK(a, sotto_client_register(a, g_server, g_key, "alice", NULL));
	OK(b, sotto_client_register(b, g_server, g_key, "bob", NULL));
	OK(m, sotto_client_register(m, g_server, g_key, "mallory", NULL));
	OK(b, sotto_client_sealed_root(b, root));
	CHECK(memcmp(root, g_root, 32) == 0);
	/* A different root cannot replace a pinned one. */
	uint8_t other[32];
	memcpy(other, g_root, 32);
	other[5] ^= 1;
	CHECK_RC(sotto_client_set_sealed_root(b, other), SOTTO_ERR_EXISTS);
	/* Carol pins a root that is not the server's. */
	OK(c, sotto_client_set_sealed_root(c, other));
	OK(c, sotto_client_register(c, g_server, g_key, "carol", NULL));
	OK(a, acct_of(a, a_acct, a_str));
	OK(b, acct_of(b, b_acct, b_str));
	OK(c, acct_of(c, c_acct, c_str));

	/* alice -> bob: sealed; the queued rows carry no sender. */
	OK(a, sotto_client_send_text(a, "bob", "sealed hello", NULL));
	CHECK(strcmp(sotto_client_notice(a), "") == 0);
	db_counts(&all, &with_sender, &sealed_type);
	CHECK(all >= 1 && with_sender == 0 && sealed_type == all);
	CHECK(receive(b, &g) == 1 && strcmp(g.body[0], "sealed hello") == 0 &&
		strcmp(g.sender[0], "alice") == 0 && g.device[0] == 1);
	/* bob's delivery receipt went out sealed too. */
	db_counts(&all, &with_sender, &sealed_type);
	CHECK(all >= 1 && with_sender == 0 && sealed_type == all);

	/* bob -> alice, the other way. */
	OK(b, sotto_client_send_text(b, "alice", "sealed reply", NULL));
	CHECK(strcmp(sotto_client_notice(b), "") == 0);
	db_counts(&all, &with_sender, &sealed_type);
	CHECK(all >= 2 && with_sender == 0 && sealed_type == all);
	CHECK(receive(a, &g) == 1 && strcmp(g.body[0], "sealed reply") == 0 &&
		strcmp(g.sender[0], "bob") == 0);
	(void)receive(b, &g); /* alice's receipt */
	tu_report("sealed both ways, no sender in the server's rows", 1, 1);

	/* A certificate under a forged root naming alice: dropped. */
	forge_to(m, b_acct, a_str);
	db_counts(&all, &with_sender, &sealed_type);
	CHECK(all == 1 && with_sender == 0);
	CHECK(receive(b, &g) == 0);
	CHECK(strstr(sotto_client_errmsg(b), "sealed") != NULL);
	db_counts(&all, &with_sender, &sealed_type);
	CHECK(all == 0); /* acknowledged, not redelivered */
	tu_report("forged trust root refused", 1, 1);

	/* Expired by the receiver's clock: dropped; the session goes on. */
	OK(a, sotto_client_send_text(a, "bob", "too late", NULL));
	g_offset[1] = 25ull * 3600 * 1000;
	CHECK(receive(b, &g) == 0);
	CHECK(strstr(sotto_client_errmsg(b), "sealed") != NULL);
	g_offset[1] = 0;
	CHECK(receive(b, &g) == 0);
	OK(a, sotto_client_send_text(a, "bob", "in time", NULL));
	CHECK(receive(b, &g) == 1 && strcmp(g.body[0], "in time") == 0);
	(void)receive(a, &g);
	tu_report("expired certificate refused, later messages arrive", 1, 1);

	/* Certificates are refreshed before they expire: 23.5 h later by
	 * alice's clock her cached one has less than an hour left, so she
	 * fetches a new one (issued later, so expiring later) and still sends
	 * sealed; bob, as late, accepts. */
	uint64_t old_exp = a->sealed_cert_exp;
	CHECK(old_exp > test_clock(&g_offset[0]) + 23ull * 3600 * 1000);
	g_offset[0] = g_offset[1] = 23ull * 3600 * 1000 + 1800 * 1000;
	OK(a, sotto_client_send_text(a, "bob", "a day later", NULL));
	CHECK(strcmp(sotto_client_notice(a), "") == 0);
	CHECK(a->sealed_cert_exp > old_exp);
	CHECK(receive(b, &g) == 1 && strcmp(g.body[0], "a day later") == 0);
	(void)receive(a, &g);
	g_offset[0] = g_offset[1] = 0;
	tu_report("certificate refreshed before expiry", 1, 1);

	/* Carol's root is not the server's: alice's message is dropped, and
	 * carol's own messages go out unsealed, with a notice. */
	OK(a, sotto_client_send_text(a, "carol", "for carol", NULL));
	CHECK(receive(c, &g) == 0);
	OK(c, sotto_client_send_text(c, "alice", "unsealed from carol", NULL));
	CHECK(strstr(sotto_client_notice(c), "without sealed sender") != NULL);
	db_counts(&all, &with_sender, &sealed_type);
	CHECK(all >= 1 && with_sender >= 1);
	CHECK(receive(a, &g) == 1 && strcmp(g.body[0], "unsealed from carol") == 0 &&
		strcmp(g.sender[0], "carol") == 0);
	tu_report("wrong pinned root: refused, and unsealed fallback announced", 1, 1);
out:
	sotto_client_close(a);
	sotto_client_close(b);
	sotto_client_close(m);
	sotto_client_close(c);
}

int main(void)
{
	if (sotto_init() != 0)
		return 1;
	const char *bin = getenv("SOTTO_BIN");
	snprintf(g_bin, sizeof(g_bin), "%s/sottod", bin != NULL ? bin : "bin");
	snprintf(g_dir, sizeof(g_dir), "/tmp/sotto-sealed-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (start_server() != 0) {
		tu_fail("sottod did not start (%s)", g_bin);
		return tu_finish("client-engine_sealed");
	}
	scenario();
	kill(g_pid, SIGTERM);
	int st;
	for (int i = 0; i < 500 && waitpid(g_pid, &st, WNOHANG) == 0; i++)
		usleep(10000);
	kill(g_pid, SIGKILL);
	waitpid(g_pid, NULL, 0);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		tu_fail("cleanup failed");
	return tu_finish("client-engine_sealed");
}
