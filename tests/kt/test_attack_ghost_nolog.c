/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* kt-attack-ghost_nolog (attack 1): the operator adds a ghost device to
 * bob's account WITHOUT a log entry, complete with prekeys signed by the
 * ghost's identity key. alice's client must refuse to encrypt to it (no
 * inclusion proof) with an error, and show a NO_PROOF alarm about device 2
 * of bob; nothing reaches the ghost. A control message before the attack
 * goes through. */
#include "kt_attack.h"

int main(void)
{
	struct ka_alarms al;
	struct ka_ghost g;
	char bob_hex[33], line[512];
	if (sotto_init() != 0 || ka_start("ghost-nolog") != 0) {
		tu_fail("cannot start sottod-evil");
		return tu_finish("kt-attack-ghost_nolog");
	}
	sotto_client *alice = ka_register("alice");
	sotto_client *bob = ka_register("bob");
	if (alice == NULL || bob == NULL)
		return tu_finish("kt-attack-ghost_nolog");

	/* Control: the honest path works, with proofs checked. */
	KA_OK(alice, sotto_client_send_text(alice, "bob", "before the attack", NULL));
	CHECK(ka_receive(bob, "bob") == 1);
	ka_alarms(alice, "alice", &al);
	CHECK(al.n == 0);

	/* The attack. */
	ka_account_hex(bob, bob_hex);
	CHECK(ka_ghost_new(&g, NULL) == 0);
	snprintf(line, sizeof line, "ghost %s %s %s 4321 nolog", bob_hex, g.noise_hex, g.id_hex);
	CHECK(ka_knob(line, 1) == 0);
	CHECK(ka_ghost_prekeys(&g) == 0); /* the ghost's bundle is complete */

	/* The server now says bob has device 2: alice must not encrypt to it. */
	int rc = sotto_client_send_text(alice, "bob", "after the attack", NULL);
	printf("alice's send: %s: %s\n", sotto_strerror(rc), sotto_client_errmsg(alice));
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	CHECK(strstr(sotto_client_errmsg(alice), "device 2") != NULL);
	CHECK(strstr(sotto_client_errmsg(alice), "no log entry") != NULL);
	ka_alarms(alice, "alice", &al);
	const sotto_client_kt_alarm *a = ka_find(&al, SOTTO_CLIENT_KT_NO_PROOF, 2);
	CHECK(a != NULL);
	if (a != NULL) {
		CHECK(strcmp(a->account, "bob") == 0);
		CHECK(a->state == SOTTO_CLIENT_KT_PENDING);
		CHECK(strstr(a->detail, "no log entry") != NULL);
	}
	/* The refusal is stable: a second try is refused the same way. */
	CHECK_RC(sotto_client_send_text(alice, "bob", "again", NULL), SOTTO_ERR_KT_PROOF);
	/* Nothing new reached bob's real device either (the send was refused
	 * before anything was stored), and alice's verify shows the problem. */
	CHECK(ka_receive(bob, "bob") == 0);
	sotto_client_kt_contact st;
	KA_OK(alice, sotto_client_kt_contact_status(alice, "bob", &st));
	CHECK(st.n_devices == 2 && st.n_ok == 1 && st.status == SOTTO_CLIENT_KT_MISSING);
	CHECK(st.n_alarms >= 1);

	sotto_client_close(alice);
	sotto_client_close(bob);
	return tu_finish("kt-attack-ghost_nolog");
}
