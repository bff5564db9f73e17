/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sottod-evil's knobs (tests/evil/README.md), each against plain protocol
 * clients (src/client/conn.h), with kt.h's verifiers doing what a client
 * would: each attack must really happen (the ghost is served, the key is
 * swapped, the trees differ, ...) and must be caught where a client looks.
 * Positive controls alongside: the honest parts of the same responses
 * still verify, and accounts that are not targeted see the honest log. */
#include <stdarg.h>

#include "net_test.h"
#include "sotto/kt.h"

static uint8_t g_kt_pub[32], g_log_id[32];
static char g_knobs[300];
static struct nt_client alice, bob, carol;

/* ---- helpers ---- */

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* Replaces the knob file atomically, then makes one request so the server
 * has re-read it before we go on. */
static void knobs(const char *text)
{
	char tmp[320];
	snprintf(tmp, sizeof tmp, "%s.tmp", g_knobs);
	FILE *f = fopen(tmp, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	CHECK(fclose(f) == 0);
	CHECK(rename(tmp, g_knobs) == 0);
	CHECK_RC(nt_ping(&carol), 0);
}

static int decode_head(const ProtobufCBinaryData *b, sotto_kt_signed_head *sh)
{
	int rc = sotto_kt_signed_head_decode(sh, b->data, b->len);
	if (rc == 0)
		rc = sotto_kt_head_verify(sh, g_kt_pub, g_log_id);
	return rc;
}

static int kt_head(struct nt_client *c, sotto_kt_signed_head *sh)
{
	Sotto__Service__KtHeadRequest hr = SOTTO__SERVICE__KT_HEAD_REQUEST__INIT;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Response *r;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_HEAD;
	req.kt_head = &hr;
	int st = nt_call(c, &req, &r);
	if (st == 0)
		st = r->kt_head != NULL ? decode_head(&r->kt_head->signed_head, sh) : -1;
	sotto_client_conn_response_free(r);
	return st;
}

/* Consistency proof from size1 to size2 (as the server of c answers). */
static int kt_consistency(struct nt_client *c, uint64_t size1, uint64_t size2, uint8_t *proof,
	size_t *count)
{
	Sotto__Service__KtConsistencyRequest cr = SOTTO__SERVICE__KT_CONSISTENCY_REQUEST__INIT;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Response *r;
	cr.from_size = size1;
	cr.to_size = size2;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_CONSISTENCY;
	req.kt_consistency = &cr;
	*count = 0;
	int st = nt_call(c, &req, &r);
	if (st == 0) {
		const Sotto__Service__KtConsistencyResponse *k = r->kt_consistency;
		if (k == NULL || k->n_hashes > SOTTO_KT_MAX_PROOF_HASHES)
			st = -1;
		for (size_t i = 0; st == 0 && i < k->n_hashes; i++) {
			if (k->hashes[i].len != 32)
				st = -1;
			else
				memcpy(proof + 32 * i, k->hashes[i].data, 32);
		}
		if (st == 0)
			*count = k->n_hashes;
	}
	sotto_client_conn_response_free(r);
	return st;
}

/* Fetches the latest head and moves the view to it, as a client does;
 * the view's sotto_kt_view_update result. */
static int view_refresh(struct nt_client *c, sotto_kt_view *v, sotto_kt_signed_head *got)
{
	sotto_kt_signed_head sh, cur;
	uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32];
	size_t count = 0;
	int rc = kt_head(c, &sh);
	if (rc != 0)
		return -1000 + rc;
	if (got != NULL)
		*got = sh;
	if (sotto_kt_view_head(v, &cur) == 0 && cur.head.size > 0 &&
		sh.head.size > cur.head.size &&
		kt_consistency(c, cur.head.size, sh.head.size, proof, &count) != 0)
		return -2000;
	return sotto_kt_view_update(v, &sh, proof, count);
}

enum { DEV_OK = 0, DEV_NO_LEAF = 1, DEV_BAD_PROOF = 2, DEV_KEY_MISMATCH = 3, DEV_NO_PROOF = 4 };

/* What a client checks before using a device: the proof's leaf is this
 * device's latest (not removed) binding, its key is the key handed out,
 * and it is included in the signed head that came with it. */
static int check_device(const Sotto__Service__KtProof *p, const sotto_kt_signed_head *sh,
	const uint8_t account[16], uint32_t device, const ProtobufCBinaryData *key)
{
	sotto_iov hs[SOTTO_KT_MAX_PROOF_HASHES];
	sotto_kt_leaf leaf;
	uint8_t lh[32];

	if (p == NULL)
		return DEV_NO_PROOF;
	if (p->leaf_index == UINT64_MAX)
		return DEV_NO_LEAF;
	if (p->n_hashes > SOTTO_KT_MAX_PROOF_HASHES || p->tree_size != sh->head.size ||
		sotto_kt_leaf_decode(&leaf, p->leaf.data, p->leaf.len) != 0 ||
		memcmp(leaf.account, account, 16) != 0 || leaf.device_id != device ||
		leaf.event == SOTTO_KT_EVENT_REMOVE)
		return DEV_BAD_PROOF;
	for (size_t i = 0; i < p->n_hashes; i++) {
		hs[i].base = p->hashes[i].data;
		hs[i].len = p->hashes[i].len;
	}
	if (sotto_kt_leaf_hash(lh, p->leaf.data, p->leaf.len) != 0 ||
		sotto_kt_verify_inclusion_buf(lh, 32, p->leaf_index, p->tree_size, hs, p->n_hashes,
			sh->head.root, 32) != 0)
		return DEV_BAD_PROOF;
	if (key->len != 33 || memcmp(leaf.identity_key, key->data, 33) != 0)
		return DEV_KEY_MISMATCH;
	return DEV_OK;
}

struct dev_view {
	uint32_t id;
	uint8_t key[33];
	int verdict;
};

/* FetchBundles(account, all devices) by c: each device's verdict; the
 * response's head in *sh. Returns the number of bundles, -1 on failure. */
static int fetch_bundles(struct nt_client *c, const uint8_t account[16], struct dev_view *out,
	size_t cap, sotto_kt_signed_head *sh)
{
	Sotto__Service__FetchBundlesRequest fr = SOTTO__SERVICE__FETCH_BUNDLES_REQUEST__INIT;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Response *r;
	fr.account_id.data = (uint8_t *)(uintptr_t)account;
	fr.account_id.len = 16;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_FETCH_BUNDLES;
	req.fetch_bundles = &fr;
	int n = -1;
	if (nt_call(c, &req, &r) == 0 && r->fetch_bundles != NULL &&
		decode_head(&r->fetch_bundles->kt_signed_head, sh) == 0 &&
		r->fetch_bundles->n_bundles <= cap) {
		n = (int)r->fetch_bundles->n_bundles;
		for (int i = 0; i < n; i++) {
			const Sotto__Service__Bundle *b = r->fetch_bundles->bundles[i];
			out[i].id = b->device_id;
			memset(out[i].key, 0, 33);
			if (b->identity_key.len == 33)
				memcpy(out[i].key, b->identity_key.data, 33);
			out[i].verdict =
				check_device(b->kt_proof, sh, account, b->device_id, &b->identity_key);
		}
	}
	sotto_client_conn_response_free(r);
	return n;
}

/* The same over DeviceList. */
static int device_list(struct nt_client *c, const uint8_t account[16], struct dev_view *out,
	size_t cap, sotto_kt_signed_head *sh)
{
	Sotto__Service__DeviceListRequest dr = SOTTO__SERVICE__DEVICE_LIST_REQUEST__INIT;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Response *r;
	dr.account_id.data = (uint8_t *)(uintptr_t)account;
	dr.account_id.len = 16;
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_DEVICE_LIST;
	req.device_list = &dr;
	int n = -1;
	if (nt_call(c, &req, &r) == 0 && r->device_list != NULL &&
		decode_head(&r->device_list->kt_signed_head, sh) == 0 &&
		r->device_list->n_devices <= cap) {
		n = (int)r->device_list->n_devices;
		for (int i = 0; i < n; i++) {
			const Sotto__Service__DeviceInfo *d = r->device_list->devices[i];
			out[i].id = d->device_id;
			memset(out[i].key, 0, 33);
			if (d->identity_key.len == 33)
				memcpy(out[i].key, d->identity_key.data, 33);
			out[i].verdict =
				check_device(d->kt_proof, sh, account, d->device_id, &d->identity_key);
		}
	}
	sotto_client_conn_response_free(r);
	return n;
}

static const struct dev_view *find_dev(const struct dev_view *v, int n, uint32_t id)
{
	for (int i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

/* The verdict on device id, -1 if it was not in the response. */
static int verdict_of(const struct dev_view *v, int n, uint32_t id)
{
	const struct dev_view *d = find_dev(v, n, id);
	return d != NULL ? d->verdict : -1;
}

/* The whole log as c's server shows it (the leaves of the head it
 * returns), checked against that head like an auditor: *n leaves into a
 * malloc'ed buffer; NULL if the leaves do not hash to the head's root. */
static uint8_t *download_log(struct nt_client *c, sotto_kt_signed_head *sh, uint64_t *n)
{
	uint8_t *leaves = NULL, *hashes = NULL, root[32];
	uint64_t got = 0;

	if (kt_head(c, sh) != 0)
		return NULL;
	leaves = malloc((size_t)sh->head.size * SOTTO_KT_LEAF_BYTES + 1);
	hashes = malloc((size_t)sh->head.size * 32 + 1);
	while (leaves != NULL && hashes != NULL && got < sh->head.size) {
		Sotto__Service__KtLeavesRequest lr = SOTTO__SERVICE__KT_LEAVES_REQUEST__INIT;
		Request req = SOTTO__SERVICE__REQUEST__INIT;
		Response *r;
		lr.start = got;
		lr.max = 1024;
		req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_LEAVES;
		req.kt_leaves = &lr;
		size_t k = 0;
		if (nt_call(c, &req, &r) == 0 && r->kt_leaves != NULL) {
			for (k = 0; k < r->kt_leaves->n_leaves && got + k < sh->head.size; k++) {
				const ProtobufCBinaryData *l = &r->kt_leaves->leaves[k];
				if (l->len != SOTTO_KT_LEAF_BYTES ||
					sotto_kt_leaf_hash(hashes + 32 * (got + k), l->data, l->len) != 0)
					break;
				memcpy(leaves + (size_t)(got + k) * SOTTO_KT_LEAF_BYTES, l->data,
					SOTTO_KT_LEAF_BYTES);
			}
		}
		sotto_client_conn_response_free(r);
		if (k == 0)
			break;
		got += k;
	}
	if (hashes == NULL || got != sh->head.size || sotto_kt_root(root, hashes, got) != 0 ||
		memcmp(root, sh->head.root, 32) != 0) {
		free(leaves);
		leaves = NULL;
	}
	free(hashes);
	*n = got;
	return leaves;
}

/* A binding the owner knows it made (or accepted). */
struct known {
	uint32_t dev;
	const uint8_t *key;
};

/* An account owner's monitor: leaves for its account that it did not
 * make, i.e. whose (device, identity key) is not a known one. Returns how
 * many; the last one in *bad. -1 if the log does not check out. */
static int monitor(struct nt_client *owner, const struct known *k, size_t nk, sotto_kt_leaf *bad)
{
	sotto_kt_signed_head sh;
	uint64_t n;
	uint8_t *log = download_log(owner, &sh, &n);
	int alarms = 0;

	if (log == NULL)
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		sotto_kt_leaf leaf;
		if (sotto_kt_leaf_decode(&leaf, log + i * SOTTO_KT_LEAF_BYTES,
			    SOTTO_KT_LEAF_BYTES) != 0) {
			alarms = -1;
			break;
		}
		if (memcmp(leaf.account, owner->account, 16) != 0)
			continue;
		int mine = 0;
		for (size_t d = 0; d < nk; d++)
			mine |= leaf.device_id == k[d].dev &&
				memcmp(leaf.identity_key, k[d].key, 33) == 0;
		if (!mine) {
			alarms++;
			*bad = leaf;
		}
	}
	free(log);
	return alarms;
}

static void new_account(struct nt_client *c, uint32_t reg)
{
	nt_client_init(c, reg);
	CHECK_RC(nt_connect(c, 0), 0);
	CHECK_RC(nt_register(c), 0);
}

/* ---- the attacks ---- */

static unsigned long g_fail_mark; /* tu_failures when the current part began */

/* One line per part: 1/1 only if none of its checks failed. */
static void report(const char *label)
{
	tu_report(label, tu_failures == g_fail_mark, 1);
	g_fail_mark = tu_failures;
}

static sotto_kt_view *alice_view, *bob_view, *carol_view;

static void test_setup(void)
{
	Sotto__Service__KtHeadRequest hr = SOTTO__SERVICE__KT_HEAD_REQUEST__INIT;
	Request req = SOTTO__SERVICE__REQUEST__INIT;
	Response *r;
	struct dev_view dv[8];
	sotto_kt_signed_head sh;

	new_account(&alice, 101);
	new_account(&bob, 102);
	new_account(&carol, 103);
	req.body_case = SOTTO__SERVICE__REQUEST__BODY_KT_HEAD;
	req.kt_head = &hr;
	CHECK_RC(nt_call(&carol, &req, &r), 0);
	CHECK(r != NULL && r->kt_head != NULL && r->kt_head->kt_key.len == 32);
	if (r != NULL && r->kt_head != NULL && r->kt_head->kt_key.len == 32)
		memcpy(g_kt_pub, r->kt_head->kt_key.data, 32);
	sotto_client_conn_response_free(r);
	CHECK_RC(sotto_kt_log_id(g_log_id, g_kt_pub), 0);
	alice_view = sotto_kt_view_new(g_kt_pub, g_log_id);
	bob_view = sotto_kt_view_new(g_kt_pub, g_log_id);
	carol_view = sotto_kt_view_new(g_kt_pub, g_log_id);
	CHECK(alice_view != NULL && bob_view != NULL && carol_view != NULL);
	CHECK_RC(view_refresh(&alice, alice_view, NULL), 0);
	CHECK_RC(view_refresh(&bob, bob_view, NULL), 0);
	CHECK_RC(view_refresh(&carol, carol_view, &sh), 0);
	CHECK(sh.head.size == 3);
	/* Honest baseline: bob's one device verifies for alice. */
	CHECK(fetch_bundles(&alice, bob.account, dv, 8, &sh) == 1);
	CHECK(dv[0].id == 1 && dv[0].verdict == DEV_OK);
	CHECK_MEM(dv[0].key, bob.id.pub, 33);
	report("setup: three accounts, honest proofs verify");
}

static char g_lines[4096]; /* the knob file's content */

static void add_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add_line(const char *fmt, ...)
{
	va_list ap;
	size_t len = strlen(g_lines);
	va_start(ap, fmt);
	vsnprintf(g_lines + len, sizeof g_lines - len, fmt, ap);
	va_end(ap);
	len = strlen(g_lines);
	snprintf(g_lines + len, sizeof g_lines - len, "\n");
	knobs(g_lines);
}

/* Removes every line that starts with prefix. */
static void drop_lines(const char *prefix)
{
	char out[sizeof g_lines] = "", *save = NULL;
	for (char *l = strtok_r(g_lines, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, prefix, strlen(prefix)) != 0) {
			strncat(out, l, sizeof out - strlen(out) - 2);
			strcat(out, "\n");
		}
	snprintf(g_lines, sizeof g_lines, "%s", out);
	knobs(g_lines);
}

static struct nt_client ghost1, ghost2;
static uint32_t ghost1_dev, ghost2_dev;

/* 1. A ghost device without a log entry. */
static void test_ghost_nolog(void)
{
	char acct[33], noise[65], idk[67];
	sotto_kt_signed_head before, sh;
	struct dev_view dv[8];
	const struct dev_view *g;

	CHECK_RC(kt_head(&carol, &before), 0);
	nt_client_init(&ghost1, 666);
	hex(bob.account, 16, acct);
	hex(ghost1.pub, 32, noise);
	hex(ghost1.id.pub, 33, idk);
	add_line("ghost %s %s %s 666 nolog", acct, noise, idk);
	/* It happened: a second device for everyone, and a real one (it can
	 * authenticate with its Noise key), but the log did not grow. */
	int n = fetch_bundles(&alice, bob.account, dv, 8, &sh);
	CHECK(n == 2);
	g = NULL;
	for (int i = 0; i < n; i++)
		if (memcmp(dv[i].key, ghost1.id.pub, 33) == 0)
			g = &dv[i];
	CHECK(g != NULL && g->id >= 2);
	ghost1_dev = g != NULL ? g->id : 0;
	CHECK(sh.head.size == before.head.size);
	CHECK_RC(nt_connect(&ghost1, 1), 0);
	CHECK_RC(nt_ping(&ghost1), 0);
	nt_disconnect(&ghost1);
	/* Caught: no inclusion proof; bob's real device still verifies. */
	CHECK(g != NULL && g->verdict == DEV_NO_LEAF);
	CHECK(verdict_of(dv, n, 1) == DEV_OK);
	n = device_list(&carol, bob.account, dv, 8, &sh);
	CHECK(n == 2 && verdict_of(dv, n, ghost1_dev) == DEV_NO_LEAF);
	/* The owner's monitor cannot see it either (it is not in the log):
	 * that is why the sender must refuse a device without a proof. */
	sotto_kt_leaf bad;
	struct known own[1] = { { 1, bob.id.pub } };
	CHECK(monitor(&bob, own, 1, &bad) == 0);
	report("1 ghost without a log entry: served, no inclusion proof");
}

/* 2. A ghost device with a proper log entry. */
static void test_ghost_log(void)
{
	char acct[33], noise[65], idk[67];
	sotto_kt_signed_head before, sh;
	struct dev_view dv[8];

	CHECK_RC(kt_head(&carol, &before), 0);
	nt_client_init(&ghost2, 667);
	hex(bob.account, 16, acct);
	hex(ghost2.pub, 32, noise);
	hex(ghost2.id.pub, 33, idk);
	add_line("ghost %s %s %s 667 log", acct, noise, idk);
	int n = fetch_bundles(&alice, bob.account, dv, 8, &sh);
	CHECK(n == 3);
	CHECK(sh.head.size == before.head.size + 1);
	ghost2_dev = 0;
	for (int i = 0; i < n; i++)
		if (memcmp(dv[i].key, ghost2.id.pub, 33) == 0)
			ghost2_dev = dv[i].id;
	CHECK(ghost2_dev >= 2 && ghost2_dev != ghost1_dev);
	/* The sender's checks pass: the attack is only visible to the owner. */
	CHECK(verdict_of(dv, n, ghost2_dev) == DEV_OK);
	CHECK(verdict_of(dv, n, ghost1_dev) == DEV_NO_LEAF);
	/* The owner's monitor raises exactly one alarm: that device, that key. */
	sotto_kt_leaf bad;
	struct known own[1] = { { 1, bob.id.pub } };
	memset(&bad, 0, sizeof bad);
	CHECK(monitor(&bob, own, 1, &bad) == 1);
	CHECK(bad.event == SOTTO_KT_EVENT_ADD && bad.device_id == ghost2_dev);
	CHECK_MEM(bad.identity_key, ghost2.id.pub, 33);
	/* Views move on consistently: the log itself is honest. */
	CHECK_RC(view_refresh(&alice, alice_view, NULL), 0);
	CHECK_RC(view_refresh(&bob, bob_view, NULL), 0);
	CHECK_RC(view_refresh(&carol, carol_view, NULL), 0);
	report("2 ghost with a log entry: proof verifies, owner's monitor alarms");
}

/* 3. Bob's identity key swapped in what alice gets, and only alice. */
static void test_swap(void)
{
	char bacct[33], aacct[33], key[67];
	sotto_ec_keypair evil;
	sotto_kt_signed_head sh, before;
	struct dev_view dv[8];
	const struct dev_view *d;

	CHECK_RC(sotto_ec_keypair_generate(&evil, sotto_rng_system, NULL), 0);
	hex(bob.account, 16, bacct);
	hex(alice.account, 16, aacct);
	hex(evil.pub, 33, key);
	add_line("swap-key %s 1 %s %s nolog", bacct, aacct, key);
	int n = fetch_bundles(&alice, bob.account, dv, 8, &sh);
	d = find_dev(dv, n, 1);
	CHECK(d != NULL && memcmp(d->key, evil.pub, 33) == 0);
	CHECK(d != NULL && d->verdict == DEV_KEY_MISMATCH);
	n = device_list(&alice, bob.account, dv, 8, &sh);
	d = find_dev(dv, n, 1);
	CHECK(d != NULL && memcmp(d->key, evil.pub, 33) == 0 && d->verdict == DEV_KEY_MISMATCH);
	/* Only alice: carol and bob himself get the real key, which verifies. */
	n = fetch_bundles(&carol, bob.account, dv, 8, &sh);
	d = find_dev(dv, n, 1);
	CHECK(d != NULL && memcmp(d->key, bob.id.pub, 33) == 0 && d->verdict == DEV_OK);
	n = device_list(&bob, bob.account, dv, 8, &sh);
	d = find_dev(dv, n, 1);
	CHECK(d != NULL && memcmp(d->key, bob.id.pub, 33) == 0 && d->verdict == DEV_OK);
	report("3 key swapped for one requester: leaf/key mismatch");

	/* 3b: the same swap with a logged KEY_CHANGE (state knob replaced). */
	CHECK_RC(kt_head(&carol, &before), 0);
	drop_lines("swap-key");
	CHECK_RC(sotto_ec_keypair_generate(&evil, sotto_rng_system, NULL), 0);
	hex(evil.pub, 33, key);
	add_line("swap-key %s 1 %s %s log", bacct, aacct, key);
	n = fetch_bundles(&alice, bob.account, dv, 8, &sh);
	d = find_dev(dv, n, 1);
	CHECK(sh.head.size == before.head.size + 1);
	CHECK(d != NULL && memcmp(d->key, evil.pub, 33) == 0 && d->verdict == DEV_OK);
	CHECK_RC(view_refresh(&alice, alice_view, NULL), 0); /* append-only: no alarm there */
	sotto_kt_leaf bad;
	/* Suppose bob had accepted ghost2 as his: the key change still alarms. */
	struct known own[2] = { { 1, bob.id.pub }, { ghost2_dev, ghost2.id.pub } };
	memset(&bad, 0, sizeof bad);
	CHECK(monitor(&bob, own, 1, &bad) == 2);
	CHECK(monitor(&bob, own, 2, &bad) == 1);
	CHECK(bad.event == SOTTO_KT_EVENT_KEY_CHANGE && bad.device_id == 1);
	CHECK_MEM(bad.identity_key, evil.pub, 33);
	/* Removing the line stops the swap. */
	drop_lines("swap-key");
	n = fetch_bundles(&alice, bob.account, dv, 8, &sh);
	d = find_dev(dv, n, 1);
	CHECK(d != NULL && memcmp(d->key, bob.id.pub, 33) == 0);
	CHECK_RC(view_refresh(&bob, bob_view, NULL), 0);
	CHECK_RC(view_refresh(&carol, carol_view, NULL), 0);
	report("3b logged key swap: proof verifies, owner's monitor alarms");
}

/* 4. A forked log: alice is shown another tree than everyone else. */
static void test_fork(void)
{
	char aacct[33], bacct[33], noise[65], idk[67];
	sotto_kt_signed_head a0, a1, b1, c1, sh;
	uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32];
	size_t count;
	struct nt_client dave, ghost5;
	struct dev_view dv[8];
	const struct dev_view *g;

	hex(alice.account, 16, aacct);
	add_line("fork %s", aacct);
	/* Alice's fork extends what she saw: her view accepts it. */
	CHECK_RC(view_refresh(&alice, alice_view, &a0), 0);
	CHECK_RC(kt_head(&bob, &sh), 0);
	CHECK(a0.head.size == sh.head.size + 1);
	/* The main log grows; alice's fork mirrors it behind its own leaf. */
	new_account(&dave, 104);
	CHECK_RC(view_refresh(&bob, bob_view, &b1), 0);
	CHECK_RC(view_refresh(&carol, carol_view, &c1), 0);
	CHECK_RC(view_refresh(&alice, alice_view, &a1), 0);
	CHECK(b1.head.size == a0.head.size && a1.head.size == b1.head.size + 1);
	CHECK(memcmp(b1.head.root, c1.head.root, 32) == 0 && b1.head.size == c1.head.size);
	CHECK(memcmp(a0.head.root, b1.head.root, 32) != 0);
	/* Heads crossing inside messages. Bob gets alice's a0 (same size as
	 * his head, another root): a fork without any proof. */
	CHECK_RC(sotto_kt_view_check_peer(bob_view, &a0, NULL, 0), SOTTO_ERR_KT_FORK);
	/* Alice gets bob's b1 and asks her (forked) server for the proof. */
	CHECK_RC(kt_consistency(&alice, b1.head.size, a1.head.size, proof, &count), 0);
	CHECK_RC(sotto_kt_view_check_peer(alice_view, &b1, proof, count), SOTTO_ERR_KT_FORK);
	/* Bob gets alice's a1 (larger than his log): his server cannot prove
	 * it (it never signed that size) ... */
	CHECK(kt_consistency(&bob, b1.head.size, a1.head.size, proof, &count) != 0);
	/* ... and neither can any other log: a1 does not extend b1. */
	/* Control: honest peers agree. */
	CHECK_RC(sotto_kt_view_check_peer(carol_view, &b1, NULL, 0), 0);
	report("4 forked log: each view is fine alone, crossing heads fail");

	/* 4b: a ghost for bob whose leaf only alice's fork holds. */
	nt_client_init(&ghost5, 669);
	hex(bob.account, 16, bacct);
	hex(ghost5.pub, 32, noise);
	hex(ghost5.id.pub, 33, idk);
	add_line("ghost %s %s %s 669 fork:%s", bacct, noise, idk, aacct);
	int n = fetch_bundles(&alice, bob.account, dv, 8, &sh);
	g = NULL;
	for (int i = 0; i < n; i++)
		if (memcmp(dv[i].key, ghost5.id.pub, 33) == 0)
			g = &dv[i];
	CHECK(g != NULL && g->verdict == DEV_OK); /* alice is fooled inside her fork */
	CHECK_RC(view_refresh(&alice, alice_view, NULL), 0);
	uint32_t gid = g != NULL ? g->id : 0;
	n = fetch_bundles(&carol, bob.account, dv, 8, &sh);
	CHECK(verdict_of(dv, n, gid) == DEV_NO_LEAF);
	sotto_kt_leaf bad;
	struct known own[2] = { { 1, bob.id.pub }, { ghost2_dev, ghost2.id.pub } };
	CHECK(monitor(&bob, own, 2, &bad) == 1); /* only the logged key change of 3b */
	/* ... but alice's head still cannot be reconciled with bob's. */
	CHECK_RC(kt_head(&alice, &a1), 0);
	CHECK_RC(view_refresh(&bob, bob_view, &b1), 0);
	if (a1.head.size == b1.head.size) {
		CHECK_RC(sotto_kt_view_check_peer(bob_view, &a1, NULL, 0), SOTTO_ERR_KT_FORK);
	} else {
		CHECK(a1.head.size > b1.head.size);
		CHECK_RC(kt_consistency(&alice, b1.head.size, a1.head.size, proof, &count), 0);
		CHECK_RC(sotto_kt_view_check_peer(alice_view, &b1, proof, count),
			SOTTO_ERR_KT_FORK);
	}
	/* Without the lines alice is back on the main log, which her view
	 * (on the fork) rejects. */
	drop_lines("fork");
	drop_lines("ghost");
	CHECK_RC(kt_head(&alice, &sh), 0);
	CHECK(memcmp(sh.head.root, b1.head.root, 32) == 0);
	CHECK(view_refresh(&alice, alice_view, NULL) != 0);
	report("4b ghost inside the victim's fork: valid for her only");
	nt_disconnect(&dave);
}

/* 5. A leaf rewritten after its head was signed. */
static void test_rewrite(void)
{
	char key[67], line[128];
	sotto_ec_keypair evil;
	sotto_kt_signed_head old, now_h, later;
	uint8_t proof[SOTTO_KT_MAX_PROOF_HASHES * 32], *log;
	size_t count;
	uint64_t n;
	struct nt_client erin;
	sotto_kt_view *v = sotto_kt_view_new(g_kt_pub, g_log_id);

	CHECK_RC(view_refresh(&carol, v, &old), 0); /* a fresh view at the current head */
	CHECK_RC(sotto_ec_keypair_generate(&evil, sotto_rng_system, NULL), 0);
	hex(evil.pub, 33, key);
	snprintf(line, sizeof line, "rewrite 1 %s", key); /* bob's registration */
	add_line("%s", line);
	/* Same size, new root: the view calls it a fork. */
	CHECK_RC(kt_head(&carol, &now_h), 0);
	CHECK(now_h.head.size == old.head.size);
	CHECK(memcmp(now_h.head.root, old.head.root, 32) != 0);
	CHECK_RC(sotto_kt_view_update(v, &now_h, NULL, 0), SOTTO_ERR_KT_FORK);
	/* The log grows on the rewritten tree; the server's consistency proof
	 * from the old head fails, from the rewritten one it holds. */
	new_account(&erin, 105);
	CHECK_RC(kt_head(&carol, &later), 0);
	CHECK(later.head.size == old.head.size + 1);
	CHECK_RC(kt_consistency(&carol, old.head.size, later.head.size, proof, &count), 0);
	CHECK_RC(sotto_kt_view_update(v, &later, proof, count), SOTTO_ERR_KT_FORK);
	CHECK_RC(sotto_kt_verify_consistency(now_h.head.size, later.head.size, now_h.head.root,
			 later.head.root, proof, count),
		0);
	CHECK_RC(view_refresh(&bob, bob_view, NULL), SOTTO_ERR_KT_FORK);
	/* An auditor: the leaves recompute the latest head, but leaf 1 is not
	 * what the old head covered. */
	log = download_log(&carol, &later, &n);
	CHECK(log != NULL);
	if (log != NULL) {
		uint8_t *h = malloc((size_t)old.head.size * 32), root[32];
		sotto_kt_leaf leaf;
		CHECK(h != NULL);
		for (uint64_t i = 0; h != NULL && i < old.head.size; i++)
			CHECK_RC(sotto_kt_leaf_hash(h + 32 * i, log + i * SOTTO_KT_LEAF_BYTES,
					 SOTTO_KT_LEAF_BYTES),
				0);
		CHECK(h != NULL && sotto_kt_root(root, h, old.head.size) == 0 &&
			memcmp(root, old.head.root, 32) != 0);
		CHECK_RC(sotto_kt_leaf_decode(&leaf, log + SOTTO_KT_LEAF_BYTES, SOTTO_KT_LEAF_BYTES),
			0);
		CHECK_MEM(leaf.identity_key, evil.pub, 33);
		CHECK_MEM(leaf.account, bob.account, 16);
		free(h);
		free(log);
	}
	drop_lines("rewrite"); /* an action: done once, removing it changes nothing */
	nt_disconnect(&erin);
	sotto_kt_view_free(v);
	report("5 rewritten leaf: same-size fork, consistency from old heads fails");
}

/* 6. An old signed head replayed as the latest. */
static void test_replay(void)
{
	char cacct[33];
	sotto_kt_signed_head cur, sh, sh2;
	struct dev_view dv[8];
	struct nt_client anon;
	sotto_kt_view *v = sotto_kt_view_new(g_kt_pub, g_log_id);

	CHECK_RC(view_refresh(&carol, v, &cur), 0);
	hex(carol.account, 16, cacct);
	add_line("replay 2 %s", cacct);
	CHECK_RC(kt_head(&carol, &sh), 0); /* validly signed ... */
	CHECK(sh.head.size == 2);
	CHECK_RC(sotto_kt_view_update(v, &sh, NULL, 0), SOTTO_ERR_KT_STALE); /* ... but old */
	/* The proofs handed out with bundles come against the old head too:
	 * bob's device 1 is in it (leaf 1), alice's devices are not. */
	int n = fetch_bundles(&carol, bob.account, dv, 8, &sh2);
	CHECK(n >= 1 && sh2.head.size == 2);
	CHECK_RC(sotto_kt_view_update(v, &sh2, NULL, 0), SOTTO_ERR_KT_STALE);
	/* Others still get the latest. */
	CHECK_RC(kt_head(&bob, &sh), 0);
	CHECK(sh.head.size == cur.head.size);
	/* Without a victim: every request, unauthenticated ones included. */
	drop_lines("replay");
	add_line("replay 1");
	nt_client_init(&anon, 9);
	CHECK_RC(nt_connect(&anon, 0), 0);
	CHECK_RC(kt_head(&anon, &sh), 0);
	CHECK(sh.head.size == 1);
	CHECK_RC(sotto_kt_view_update(v, &sh, NULL, 0), SOTTO_ERR_KT_STALE);
	drop_lines("replay");
	CHECK_RC(kt_head(&anon, &sh), 0);
	CHECK(sh.head.size == cur.head.size);
	CHECK_RC(sotto_kt_view_update(v, &sh, NULL, 0), 0);
	nt_disconnect(&anon);
	sotto_kt_view_free(v);
	report("6 replayed old head: rejected as stale");
}

int main(void)
{
	const char *bin = getenv("SOTTO_BIN");

	if (nt_setup("kt-evil", NULL) != 0) {
		tu_fail("setup");
		return tu_finish("evil-kt_attacks");
	}
	snprintf(nt_bin, sizeof nt_bin, "%s/sottod-evil", bin != NULL ? bin : "bin");
	snprintf(g_knobs, sizeof g_knobs, "%s/evil.conf", nt_dir);
	if (nt_start_server(0) != 0) {
		tu_fail("sottod-evil did not start (%s)", nt_bin);
		return tu_finish("evil-kt_attacks");
	}
	test_setup();
	test_ghost_nolog();
	test_ghost_log();
	test_swap();
	test_fork();
	test_rewrite();
	test_replay();
	nt_disconnect(&alice);
	nt_disconnect(&bob);
	nt_disconnect(&carol);
	sotto_kt_view_free(alice_view);
	sotto_kt_view_free(bob_view);
	sotto_kt_view_free(carol_view);
	nt_teardown();
	return tu_finish("evil-kt_attacks");
}
