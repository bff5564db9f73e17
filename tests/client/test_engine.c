/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* End-to-end test of the client engine against a real sottod on loopback:
 * alice with two linked devices and bob; messages both ways; sync of
 * alice's sent messages to her second device; bob offline then online; a
 * 10 MB attachment; disappearing messages gone from every device after the
 * timer (time moved explicitly); safety numbers; an identity change (bob
 * loses his only device and registers again under the same name); clients
 * closed and reopened between steps; and the raw store files searched for
 * plaintexts, attachment bytes and private keys. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/lstore.h"
#include "sotto/client.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "testutil.h"

static char g_dir[256], g_bin[512], g_server[96], g_keyb64[128];
static uint8_t g_key[32];
static pid_t g_pid = -1;
static uint64_t g_offset; /* ms added to the real clock */

static uint64_t test_clock(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + g_offset;
}

static int start_server(void)
{
	int pfd[2];
	char data[300];
	snprintf(data, sizeof data, "%s/server", g_dir);
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
	char buf[512];
	size_t n = 0;
	while (n < sizeof(buf) - 1) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t r = read(pfd[0], buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "public-key ") != NULL && strchr(strstr(buf, "public-key "), '\n'))
			break;
	}
	close(pfd[0]);
	buf[n] = '\0';
	char host[64];
	unsigned port;
	if (sscanf(buf, "listen %63[^:]:%u\npublic-key %127s", host, &port, g_keyb64) != 3) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	snprintf(g_server, sizeof g_server, "%s:%u", host, port);
	g_pid = pid;
	return sotto_client_parse_server_key(g_keyb64, g_key);
}

/* ---- profiles ---- */

static void profile_path(char *out, size_t cap, const char *who)
{
	snprintf(out, cap, "%s/%s", g_dir, who);
}

static const char *pass_of(const char *who)
{
	/* alice's first device uses a passphrase, the others a key file. */
	return strcmp(who, "alice1") == 0 ? "correct horse battery" : NULL;
}

static sotto_client *open_client(const char *who)
{
	char dir[300], err[256];
	sotto_client *c = NULL;
	const char *pass = pass_of(who);
	profile_path(dir, sizeof dir, who);
	int rc = sotto_client_open(&c, dir, pass, pass != NULL ? strlen(pass) : 0, err, sizeof err);
	if (rc != 0) {
		tu_fail("open %s: %s (%s)", who, sotto_strerror(rc), err);
		return NULL;
	}
	sotto_client_set_clock(c, test_clock, NULL);
	return c;
}

static sotto_client *create_client(const char *who)
{
	char dir[300], err[256];
	sotto_client *c = NULL;
	const char *pass = pass_of(who);
	profile_path(dir, sizeof dir, who);
	int rc = sotto_client_create(&c, dir, pass, pass != NULL ? strlen(pass) : 0, err,
		sizeof err);
	if (rc != 0) {
		tu_fail("create %s: %s (%s)", who, sotto_strerror(rc), err);
		return NULL;
	}
	sotto_client_set_clock(c, test_clock, NULL);
	return c;
}

#define OK(c, expr)                                                                       \
	do {                                                                              \
		int rc_ = (expr);                                                         \
		if (rc_ != 0)                                                             \
			tu_fail("%s:%d: %s -> %s (%s)", __FILE__, __LINE__, #expr,        \
				sotto_strerror(rc_), sotto_client_errmsg(c));              \
	} while (0)

/* ---- collecting messages ---- */

#define MAXGOT 64
struct got {
	size_t n;
	char body[MAXGOT][128];
	char conv[MAXGOT][40];
	char sender[MAXGOT][40];
	int outgoing[MAXGOT];
	int kind[MAXGOT];
	int status[MAXGOT];
	char att_path[MAXGOT][512];
	uint64_t att_size[MAXGOT];
};

static int collect(void *ctx, const sotto_client_message *m)
{
	struct got *g = ctx;
	if (g->n >= MAXGOT)
		return 0;
	snprintf(g->body[g->n], sizeof g->body[0], "%s", m->body);
	snprintf(g->conv[g->n], sizeof g->conv[0], "%s", m->conversation);
	snprintf(g->sender[g->n], sizeof g->sender[0], "%s", m->sender);
	g->outgoing[g->n] = m->outgoing;
	g->kind[g->n] = (int)m->kind;
	g->status[g->n] = (int)m->status;
	if (m->n_attachments > 0) {
		snprintf(g->att_path[g->n], sizeof g->att_path[0], "%s", m->attachments[0].path);
		g->att_size[g->n] = m->attachments[0].size;
	}
	g->n++;
	return 0;
}

static int has_body(const struct got *g, const char *body)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->body[i], body) == 0)
			return (int)i + 1;
	return 0;
}

/* Receives on who's profile (opened and closed here) into g. */
static void receive(const char *who, struct got *g)
{
	sotto_client *c = open_client(who);
	unsigned n = 0;
	memset(g, 0, sizeof(*g));
	if (c == NULL)
		return;
	OK(c, sotto_client_receive(c, 300, collect, g, &n));
	CHECK(n == g->n);
	sotto_client_close(c);
}

static void history(sotto_client *c, const char *name, struct got *g)
{
	memset(g, 0, sizeof(*g));
	OK(c, sotto_client_history(c, name, 0, collect, g));
}

/* ---- the scenario ---- */

static char g_code[SOTTO_CLIENT_LINK_CODE_MAX];

static void test_setup(void)
{
	sotto_client *a1 = create_client("alice1"), *b = create_client("bob");
	sotto_client *a2 = create_client("alice2");
	if (a1 == NULL || b == NULL || a2 == NULL)
		return;
	OK(a1, sotto_client_register(a1, g_server, g_key, "alice", NULL));
	OK(b, sotto_client_register(b, g_server, g_key, "Bob", NULL));
	/* Names are unique. */
	sotto_client *x = create_client("mallory");
	if (x != NULL) {
		CHECK_RC(sotto_client_register(x, g_server, g_key, "bob", NULL), SOTTO_ERR_EXISTS);
		CHECK_RC(sotto_client_register(x, g_server, g_key, "no spaces", NULL),
			SOTTO_ERR_INVALID_ARGUMENT);
		sotto_client_close(x);
	}
	sotto_client_account acc;
	OK(b, sotto_client_account_info(b, &acc));
	CHECK(strcmp(acc.name, "bob") == 0 && acc.device_id == 1);

	/* Link alice's second device. */
	OK(a2, sotto_client_link_begin(a2, g_server, g_key, g_code));
	CHECK(strncmp(g_code, "sotto-link:1:", 13) == 0);
	uint32_t id = 0;
	OK(a1, sotto_client_link_device(a1, g_code, "laptop", &id));
	CHECK(id == 2);
	OK(a2, sotto_client_link_finish(a2, 10000));
	OK(a2, sotto_client_account_info(a2, &acc));
	CHECK(strcmp(acc.name, "alice") == 0 && acc.device_id == 2);
	sotto_client_close(a1);
	sotto_client_close(a2);
	sotto_client_close(b);
}

static int count_devices(void *ctx, const sotto_client_device *d)
{
	int *n = ctx;
	(*n)++;
	if (d->device_id == 2)
		CHECK(strcmp(d->name, "laptop") == 0);
	return 0;
}

static void test_messages(void)
{
	struct got g;
	sotto_client *a1 = open_client("alice1");
	if (a1 == NULL)
		return;
	int ndev = 0;
	OK(a1, sotto_client_devices(a1, count_devices, &ndev));
	CHECK(ndev == 2);
	/* A wrong passphrase is refused and changes nothing. */
	{
		char dir[300], err[256];
		sotto_client *bad = NULL;
		profile_path(dir, sizeof dir, "alice1");
		CHECK_RC(sotto_client_open(&bad, dir, "wrong", 5, err, sizeof err),
			SOTTO_ERR_INVALID_KEY);
	}
	char id[33];
	OK(a1, sotto_client_send_text(a1, "bob", "hello bob, this is alice", id));
	sotto_client_close(a1);

	receive("bob", &g);
	CHECK(g.n == 1 && has_body(&g, "hello bob, this is alice"));
	CHECK(g.n >= 1 && strcmp(g.sender[0], "alice") == 0 && !g.outgoing[0]);
	/* Alice's second device sees what her first sent. */
	receive("alice2", &g);
	int k = has_body(&g, "hello bob, this is alice");
	CHECK(k > 0 && g.outgoing[k - 1] && strcmp(g.conv[k - 1], "bob") == 0);

	/* Bob answers: both of alice's devices get it. */
	sotto_client *b = open_client("bob");
	if (b == NULL)
		return;
	OK(b, sotto_client_send_text(b, "alice", "hi alice, bob here", NULL));
	sotto_client_close(b);
	receive("alice1", &g);
	CHECK(has_body(&g, "hi alice, bob here"));
	receive("alice2", &g);
	CHECK(has_body(&g, "hi alice, bob here"));
	/* Receiving again yields nothing new (acknowledged, no duplicates). */
	receive("alice2", &g);
	CHECK(!has_body(&g, "hi alice, bob here"));

	/* Alice's second device writes too; the first sees the sync. */
	sotto_client *a2 = open_client("alice2");
	if (a2 == NULL)
		return;
	OK(a2, sotto_client_send_text(a2, "bob", "from the laptop", NULL));
	sotto_client_close(a2);
	receive("bob", &g);
	CHECK(has_body(&g, "from the laptop"));
	receive("alice1", &g);
	k = has_body(&g, "from the laptop");
	CHECK(k > 0 && g.outgoing[k - 1]);
}

static void test_offline(void)
{
	struct got g;
	/* Bob is offline (closed) while alice sends three messages. */
	sotto_client *a1 = open_client("alice1");
	if (a1 == NULL)
		return;
	OK(a1, sotto_client_send_text(a1, "bob", "offline one", NULL));
	OK(a1, sotto_client_send_text(a1, "bob", "offline two", NULL));
	OK(a1, sotto_client_send_text(a1, "bob", "offline three", NULL));
	sotto_client_close(a1);
	receive("bob", &g);
	int i1 = has_body(&g, "offline one"), i2 = has_body(&g, "offline two");
	int i3 = has_body(&g, "offline three");
	CHECK(i1 > 0 && i2 > i1 && i3 > i2);
	receive("alice2", &g);
	CHECK(has_body(&g, "offline three"));
	/* History keeps them, in order, across restarts. */
	sotto_client *b = open_client("bob");
	if (b == NULL)
		return;
	history(b, "alice", &g);
	CHECK(has_body(&g, "hello bob, this is alice") > 0 && has_body(&g, "offline three") > 0);
	/* Bob reads them: alice's devices learn it from the read receipt (and
	 * had the delivery receipts before). */
	OK(b, sotto_client_mark_read(b, "alice"));
	sotto_client_close(b);
	receive("alice1", &g);
	a1 = open_client("alice1");
	if (a1 == NULL)
		return;
	history(a1, "bob", &g);
	int k = has_body(&g, "offline two");
	CHECK(k > 0 && g.status[k - 1] == SOTTO_CLIENT_STATUS_READ);
	k = has_body(&g, "hello bob, this is alice");
	CHECK(k > 0 && g.status[k - 1] == SOTTO_CLIENT_STATUS_READ);
	sotto_client_close(a1);
}

#define ATT_SIZE (10u * 1024 * 1024)
static uint8_t *g_att;

static int file_equals(const char *path, const uint8_t *want, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	uint8_t *buf = malloc(n + 1);
	size_t got = buf != NULL ? fread(buf, 1, n + 1, f) : 0;
	fclose(f);
	int eq = buf != NULL && got == n && memcmp(buf, want, n) == 0;
	free(buf);
	return eq;
}

static void test_attachment(void)
{
	struct got g;
	char path[300];
	g_att = malloc(ATT_SIZE);
	if (g_att == NULL || sotto_random(g_att, ATT_SIZE) != 0) {
		tu_fail("no memory");
		return;
	}
	snprintf(path, sizeof path, "%s/photo.bin", g_dir);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL && fwrite(g_att, 1, ATT_SIZE, f) == ATT_SIZE);
	if (f != NULL)
		fclose(f);
	sotto_client *a1 = open_client("alice1");
	if (a1 == NULL)
		return;
	OK(a1, sotto_client_send_file(a1, "bob", path, "application/octet-stream", "a file",
		NULL));
	sotto_client_close(a1);
	receive("bob", &g);
	int k = has_body(&g, "a file");
	CHECK(k > 0);
	if (k > 0) {
		CHECK(g.att_size[k - 1] == ATT_SIZE);
		CHECK(file_equals(g.att_path[k - 1], g_att, ATT_SIZE));
	}
	receive("alice2", &g);
	k = has_body(&g, "a file");
	CHECK(k > 0 && file_equals(g.att_path[k - 1], g_att, ATT_SIZE));
}

static void test_disappearing(void)
{
	struct got g;
	sotto_client *a1 = open_client("alice1");
	if (a1 == NULL)
		return;
	OK(a1, sotto_client_set_timer(a1, "bob", 60));
	OK(a1, sotto_client_send_text(a1, "bob", "this will vanish", NULL));
	sotto_client_close(a1);
	receive("bob", &g);
	CHECK(has_body(&g, "this will vanish"));
	receive("alice2", &g);
	CHECK(has_body(&g, "this will vanish"));
	/* Bob's answer inherits the timer. */
	sotto_client *b = open_client("bob");
	if (b == NULL)
		return;
	OK(b, sotto_client_send_text(b, "alice", "vanishing reply", NULL));
	sotto_client_close(b);
	receive("alice1", &g);
	CHECK(has_body(&g, "vanishing reply"));
	receive("alice2", &g);
	CHECK(has_body(&g, "vanishing reply"));

	const char *who[3] = { "alice1", "alice2", "bob" };
	const char *peer[3] = { "bob", "bob", "alice" };
	for (int i = 0; i < 3; i++) {
		sotto_client *c = open_client(who[i]);
		if (c == NULL)
			continue;
		history(c, peer[i], &g);
		CHECK(has_body(&g, "this will vanish"));
		sotto_client_close(c);
	}
	g_offset += 61 * 1000; /* a minute later */
	for (int i = 0; i < 3; i++) {
		sotto_client *c = open_client(who[i]);
		if (c == NULL)
			continue;
		OK(c, sotto_client_maintain(c, 0));
		history(c, peer[i], &g);
		CHECK(!has_body(&g, "this will vanish"));
		CHECK(!has_body(&g, "vanishing reply"));
		CHECK(has_body(&g, "offline two")); /* sent before the timer: kept */
		sotto_client_close(c);
	}
	a1 = open_client("alice1");
	if (a1 == NULL)
		return;
	OK(a1, sotto_client_set_timer(a1, "bob", 0));
	sotto_client_close(a1);
	receive("bob", &g);
	receive("alice2", &g);
}

static char g_safety[SOTTO_CLIENT_SAFETY_DIGITS + 1];

static int find_contact(void *ctx, const sotto_client_contact *ct)
{
	sotto_client_contact *out = ctx;
	if (strcmp(ct->name, "bob") == 0) {
		out->verified = ct->verified;
		out->identity_changed = ct->identity_changed;
		out->name = "bob";
	}
	return 0;
}

static void test_safety_and_identity_change(void)
{
	struct got g;
	char sb[SOTTO_CLIENT_SAFETY_DIGITS + 1];
	int verified = -1, changed = -1;
	sotto_client *a1 = open_client("alice1"), *b = open_client("bob");
	if (a1 == NULL || b == NULL)
		return;
	OK(a1, sotto_client_safety_number(a1, "bob", g_safety, &verified, &changed));
	OK(b, sotto_client_safety_number(b, "alice", sb, NULL, NULL));
	CHECK(strlen(g_safety) == 60 && strcmp(g_safety, sb) == 0);
	CHECK(verified == 0);
	OK(a1, sotto_client_set_verified(a1, "bob", 1));
	OK(a1, sotto_client_safety_number(a1, "bob", sb, &verified, &changed));
	CHECK(verified == 1 && changed == 0);
	/* Bob loses his only device: the account is gone and the name is free. */
	OK(b, sotto_client_unlink(b, 1));
	sotto_client_close(b);
	sotto_client_close(a1);

	sotto_client *nb = create_client("bob-new");
	if (nb == NULL)
		return;
	OK(nb, sotto_client_register(nb, g_server, g_key, "bob", NULL));
	OK(nb, sotto_client_send_text(nb, "alice", "new phone, same bob", NULL));
	sotto_client_close(nb);
	receive("alice1", &g);
	CHECK(has_body(&g, "new phone, same bob"));
	a1 = open_client("alice1");
	if (a1 == NULL)
		return;
	sotto_client_contact ct = { 0 };
	OK(a1, sotto_client_contacts(a1, find_contact, &ct));
	CHECK(ct.name != NULL && ct.verified == 0 && ct.identity_changed == 1);
	OK(a1, sotto_client_safety_number(a1, "bob", sb, &verified, &changed));
	CHECK(strcmp(sb, g_safety) != 0 && verified == 0 && changed == 1);
	history(a1, "bob", &g);
	int notice = 0;
	for (size_t i = 0; i < g.n; i++)
		if (g.kind[i] == SOTTO_CLIENT_MSG_IDENTITY_CHANGE)
			notice = 1;
	CHECK(notice);
	/* Alice answers the new bob; her second device learns of it too. */
	OK(a1, sotto_client_send_text(a1, "bob", "welcome back", NULL));
	sotto_client_close(a1);
	receive("bob-new", &g);
	CHECK(has_body(&g, "welcome back"));
	receive("alice2", &g);
	CHECK(has_body(&g, "new phone, same bob") && has_body(&g, "welcome back"));
}

/* ---- the store files hold nothing readable ---- */

static uint8_t *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	*n = 0;
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(len > 0 ? (size_t)len : 1);
	if (b != NULL && len > 0 && fread(b, 1, (size_t)len, f) == (size_t)len)
		*n = (size_t)len;
	fclose(f);
	return b;
}

static int contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; m > 0 && i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return 1;
	return 0;
}

static void scan_profile(const char *who)
{
	static const char *texts[] = { "hello bob, this is alice", "hi alice, bob here",
		"from the laptop", "offline two", "this will vanish", "vanishing reply",
		"new phone, same bob", "welcome back", "a file" };
	char dir[300], path[400], err[256];
	sotto_lstore *ls = NULL;
	sotto_lstore_local loc;
	const char *pass = pass_of(who);
	uint8_t *noise = NULL;
	size_t noise_len = 0;
	profile_path(dir, sizeof dir, who);
	/* The secrets to look for, read through the store itself. */
	if (sotto_lstore_open(&ls, dir, pass, pass != NULL ? strlen(pass) : 0, NULL, err,
		    sizeof err) != 0) {
		tu_fail("lstore open %s: %s", who, err);
		return;
	}
	memset(&loc, 0, sizeof loc);
	if (sotto_lstore_local_get(ls, &loc) != 0) {
		tu_fail("%s has no identity", who);
		sotto_lstore_close(ls);
		return;
	}
	CHECK_RC(sotto_lstore_kv_get(ls, "engine", (const uint8_t *)"noise", 5, &noise, &noise_len),
		0);
	sotto_lstore_close(ls);
	const char *files[2] = { "store.db", "store.db-wal" };
	for (int fi = 0; fi < 2; fi++) {
		size_t n;
		snprintf(path, sizeof path, "%s/%s", dir, files[fi]);
		uint8_t *b = read_file(path, &n);
		if (b == NULL)
			continue;
		for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
			if (contains(b, n, texts[t], strlen(texts[t])))
				tu_fail("%s/%s contains \"%s\"", who, files[fi], texts[t]);
		if (contains(b, n, loc.identity.priv, 32))
			tu_fail("%s/%s contains the identity private key", who, files[fi]);
		if (noise != NULL && noise_len == 32 && contains(b, n, noise, 32))
			tu_fail("%s/%s contains the Noise private key", who, files[fi]);
		if (g_att != NULL) {
			for (size_t off = 0; off + 64 <= ATT_SIZE; off += ATT_SIZE / 8)
				if (contains(b, n, g_att + off, 32))
					tu_fail("%s/%s contains attachment bytes", who, files[fi]);
		}
		free(b);
	}
	sotto_memzero(&loc, sizeof loc);
	free(noise);
}

/* Signed and last-resort prekeys are replaced once older than the rotation
 * age; the server then hands out the new ones. */
static void test_rotation(void)
{
	char dir[300], err[256];
	uint32_t cnt = 0, spk_before = 0, spk_after = 0, kem_before = 0, kem_after = 0;
	sotto_lstore *ls = NULL;
	profile_path(dir, sizeof dir, "bob-new");
	if (sotto_lstore_open(&ls, dir, NULL, 0, NULL, err, sizeof err) != 0)
	{
		tu_fail("lstore open: %s", err);
		return;
	}
	CHECK_RC(sotto_lstore_prekey_stats(ls, SOTTO_LSTORE_PREKEY_SIGNED, &cnt, &spk_before), 0);
	CHECK_RC(sotto_lstore_prekey_stats(ls, SOTTO_LSTORE_PREKEY_KEM, &cnt, &kem_before), 0);
	sotto_lstore_close(ls);
	sotto_client *c = open_client("bob-new");
	if (c == NULL)
		return;
	OK(c, sotto_client_maintain(c, 0)); /* nothing is 7 days old: no change */
	sotto_client_close(c);
	ls = NULL;
	if (sotto_lstore_open(&ls, dir, NULL, 0, NULL, err, sizeof err) != 0)
	{
		tu_fail("lstore open: %s", err);
		return;
	}
	CHECK_RC(sotto_lstore_prekey_stats(ls, SOTTO_LSTORE_PREKEY_SIGNED, &cnt, &spk_after), 0);
	CHECK(spk_after == spk_before);
	sotto_lstore_close(ls);
	g_offset += 8ull * 24 * 3600 * 1000; /* eight days later */
	c = open_client("bob-new");
	if (c == NULL)
		return;
	OK(c, sotto_client_maintain(c, 0));
	sotto_client_close(c);
	ls = NULL;
	if (sotto_lstore_open(&ls, dir, NULL, 0, NULL, err, sizeof err) != 0)
	{
		tu_fail("lstore open: %s", err);
		return;
	}
	CHECK_RC(sotto_lstore_prekey_stats(ls, SOTTO_LSTORE_PREKEY_SIGNED, &cnt, &spk_after), 0);
	CHECK_RC(sotto_lstore_prekey_stats(ls, SOTTO_LSTORE_PREKEY_KEM, &cnt, &kem_after), 0);
	CHECK(spk_after == spk_before + 1 && kem_after == kem_before + 1);
	sotto_lstore_close(ls);
	/* A fresh session with the rotated keys still works. */
	c = create_client("carol");
	if (c == NULL)
		return;
	OK(c, sotto_client_register(c, g_server, g_key, "carol", NULL));
	OK(c, sotto_client_send_text(c, "bob", "hello from carol", NULL));
	sotto_client_close(c);
	struct got g;
	receive("bob-new", &g);
	CHECK(has_body(&g, "hello from carol"));
}

static void test_store_files(void)
{
	scan_profile("alice1");
	scan_profile("alice2");
	scan_profile("bob");
	scan_profile("bob-new");
}

int main(void)
{
	if (sotto_init() != 0)
		return 1;
	const char *bin = getenv("SOTTO_BIN");
	snprintf(g_bin, sizeof(g_bin), "%s/sottod", bin != NULL ? bin : "bin");
	snprintf(g_dir, sizeof(g_dir), "/tmp/sotto-engine-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (start_server() != 0) {
		tu_fail("sottod did not start (%s)", g_bin);
		return tu_finish("client-engine");
	}
	test_setup();
	test_messages();
	test_offline();
	test_attachment();
	test_disappearing();
	test_safety_and_identity_change();
	test_rotation();
	test_store_files();
	kill(g_pid, SIGTERM);
	int st;
	for (int i = 0; i < 500 && waitpid(g_pid, &st, WNOHANG) == 0; i++)
		usleep(10000);
	kill(g_pid, SIGKILL);
	waitpid(g_pid, NULL, 0);
	free(g_att);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		tu_fail("cleanup failed");
	return tu_finish("client-engine");
}
