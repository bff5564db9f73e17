/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* kt-attack-replay (attack 6): the operator answers "the latest head" with
 * an old head it really signed (size 1: before bob and carol registered),
 * with proofs against it. alice's client, which holds a newer head, rejects
 * it as older than its view (STALE alarm), keeps its head, and refuses the
 * keys proved against it; once the replay stops, all is well again. */
#include "kt_attack.h"

int main(void)
{
	struct ka_alarms al;
	if (sotto_init() != 0 || ka_start("replay") != 0) {
		tu_fail("cannot start sottod-evil");
		return tu_finish("kt-attack-replay");
	}
	sotto_client *alice = ka_register("alice");
	sotto_client *bob = ka_register("bob");
	sotto_client *carol = ka_register("carol");
	if (alice == NULL || bob == NULL || carol == NULL)
		return tu_finish("kt-attack-replay");
	KA_OK(alice, sotto_client_kt_refresh(alice));
	uint64_t size0 = 0, t0 = 0;
	KA_OK(alice, sotto_client_kt_head(alice, &size0, NULL, &t0));
	CHECK(size0 == 3);

	CHECK(ka_knob("replay 1", 1) == 0);
	int rc = sotto_client_kt_refresh(alice);
	printf("alice's refresh: %s: %s\n", sotto_strerror(rc), sotto_client_errmsg(alice));
	CHECK_RC(rc, SOTTO_ERR_KT_STALE);
	ka_alarms(alice, "alice", &al);
	const sotto_client_kt_alarm *a = ka_find(&al, SOTTO_CLIENT_KT_STALE, 0);
	CHECK(a != NULL && strstr(a->detail, "replay refused") != NULL);
	CHECK(a != NULL && a->leaf_index == 1);
	/* The bundles come with the replayed head: refused too. */
	rc = sotto_client_send_text(alice, "bob", "hello", NULL);
	printf("alice's send: %s: %s\n", sotto_strerror(rc), sotto_client_errmsg(alice));
	CHECK_RC(rc, SOTTO_ERR_KT_STALE);
	uint64_t size1 = 0, t1 = 0;
	KA_OK(alice, sotto_client_kt_head(alice, &size1, NULL, &t1));
	CHECK(size1 == size0 && t1 == t0);
	CHECK(ka_receive(bob, "bob") == 0);

	/* The replay ends: the honest head is accepted, the message goes. */
	CHECK(ka_knob(NULL, 1) == 0);
	KA_OK(alice, sotto_client_kt_refresh(alice));
	KA_OK(alice, sotto_client_send_text(alice, "bob", "hello again", NULL));
	CHECK(ka_receive(bob, "bob") == 1);
	ka_alarms(alice, "alice", &al);
	CHECK(al.n == 1);

	sotto_client_close(alice);
	sotto_client_close(bob);
	sotto_client_close(carol);
	return tu_finish("kt-attack-replay");
}
