/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* kt-attack-rewrite (attack 5): after heads were signed and seen, the
 * operator rewrites leaf 0 (alice's registration) with another identity
 * key, recomputes the stored nodes and signs a new head over the rewritten
 * tree. alice's client refuses the new head (no consistency with the one it
 * holds: FORK alarm), and `sotto audit` with the heads it saw before exits
 * non-zero (the old head's root cannot be recomputed from the leaves), as
 * does the library call; an auditor that saw no earlier head cannot tell. */
#include "kt_attack.h"

static void print_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("    audit: %s\n", line);
}

/* Runs `sotto audit` and returns its exit status; *saw gets whether the
 * output had "INCONSISTENT". */
static int run_audit(const char *state, int *saw)
{
	const char *bin = getenv("SOTTO_BIN");
	char cmd[1200], line[600];
	snprintf(cmd, sizeof cmd, "'%s/sotto' audit --server %s --server-key %s --kt-key %s "
		"--state '%s' --timeout 10 2>&1", bin != NULL ? bin : "build/bin", ka_server,
		ka_key_b64, ka_kt_b64, state);
	FILE *p = popen(cmd, "r");
	*saw = 0;
	if (p == NULL)
		return -1;
	while (fgets(line, sizeof line, p) != NULL) {
		printf("    sotto audit: %s", line);
		if (strstr(line, "INCONSISTENT") != NULL)
			*saw = 1;
	}
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	struct ka_alarms al;
	struct ka_ghost evil;
	char line[512], state[320];
	uint8_t h1[145];
	unsigned bad = 99;
	int saw;
	if (sotto_init() != 0 || ka_start("rewrite") != 0) {
		tu_fail("cannot start sottod-evil");
		return tu_finish("kt-attack-rewrite");
	}
	sotto_client *alice = ka_register("alice");
	sotto_client *bob = ka_register("bob");
	if (alice == NULL || bob == NULL)
		return tu_finish("kt-attack-rewrite");
	snprintf(state, sizeof state, "%s/audit.state", ka_dir);

	/* Honest log: audits pass and remember the head. */
	CHECK_RC(sotto_client_kt_audit(ka_server, ka_key, ka_kt, NULL, 0, KA_CALL_MS, print_line,
			 NULL, &bad, h1), 0);
	CHECK(bad == 0);
	CHECK(run_audit(state, &saw) == 0 && !saw);
	KA_OK(alice, sotto_client_kt_refresh(alice));
	uint64_t size0 = 0;
	KA_OK(alice, sotto_client_kt_head(alice, &size0, NULL, NULL));

	/* The rewrite. */
	CHECK(ka_ghost_new(&evil, NULL) == 0);
	snprintf(line, sizeof line, "rewrite 0 %s", evil.id_hex);
	CHECK(ka_knob(line, 1) == 0);

	/* alice's client: the new head does not extend hers. */
	int rc = sotto_client_kt_refresh(alice);
	printf("alice's refresh: %s: %s\n", sotto_strerror(rc), sotto_client_errmsg(alice));
	CHECK_RC(rc, SOTTO_ERR_KT_FORK);
	ka_alarms(alice, "alice", &al);
	const sotto_client_kt_alarm *a = ka_find(&al, SOTTO_CLIENT_KT_FORK, 0);
	CHECK(a != NULL && strstr(a->detail, "rewritten or forked") != NULL);
	uint64_t size1 = 0;
	KA_OK(alice, sotto_client_kt_head(alice, &size1, NULL, NULL));
	CHECK(size1 == size0); /* her stored head is unchanged */
	/* Nor will she use keys proved against the rewritten tree. */
	CHECK_RC(sotto_client_send_text(alice, "bob", "hi", NULL), SOTTO_ERR_KT_FORK);
	/* The log grows on: now the server's consistency proof from her size
	 * to the larger one fails (the rewritten leaf is inside her tree). */
	sotto_client *carol = ka_register("carol");
	CHECK(carol != NULL);
	rc = sotto_client_kt_refresh(alice);
	printf("alice's refresh after growth: %s: %s\n", sotto_strerror(rc),
		sotto_client_errmsg(alice));
	CHECK_RC(rc, SOTTO_ERR_KT_FORK);
	ka_alarms(alice, "alice", &al);
	CHECK(ka_count(&al, SOTTO_CLIENT_KT_FORK) == 2);
	if (carol != NULL)
		sotto_client_close(carol);

	/* The audit with the earlier head: exit 1. */
	CHECK_RC(sotto_client_kt_audit(ka_server, ka_key, ka_kt, h1, 1, KA_CALL_MS, print_line,
			 NULL, &bad, NULL), 0);
	CHECK(bad >= 2); /* the old root, and the proof from it */
	CHECK(run_audit(state, &saw) == 1 && saw);
	/* Without history the rewritten log looks self-consistent: seen heads
	 * are what an audit holds the log to. */
	CHECK_RC(sotto_client_kt_audit(ka_server, ka_key, ka_kt, NULL, 0, KA_CALL_MS, print_line,
			 NULL, &bad, NULL), 0);
	CHECK(bad == 0);

	sotto_client_close(alice);
	sotto_client_close(bob);
	return tu_finish("kt-attack-rewrite");
}
