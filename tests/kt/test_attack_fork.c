/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* kt-attack-fork (attack 4): the operator shows alice a forked log (the
 * main log plus an entry nobody else sees, heads signed by the real KT key)
 * and bob the main log. Each side's heads verify alone (no alarm from
 * refreshing); the fork is caught when their heads cross inside their
 * end-to-end encrypted messages: bob's client raises a FORK alarm on
 * alice's message, alice's on bob's reply. */
#include "kt_attack.h"

int main(void)
{
	struct ka_alarms al;
	char alice_hex[33], line[512];
	if (sotto_init() != 0 || ka_start("fork") != 0) {
		tu_fail("cannot start sottod-evil");
		return tu_finish("kt-attack-fork");
	}
	sotto_client *alice = ka_register("alice");
	sotto_client *bob = ka_register("bob");
	if (alice == NULL || bob == NULL)
		return tu_finish("kt-attack-fork");
	/* Sessions both ways over the honest log, heads crossing without alarm. */
	KA_OK(alice, sotto_client_send_text(alice, "bob", "hi bob", NULL));
	CHECK(ka_receive(bob, "bob") == 1);
	KA_OK(bob, sotto_client_send_text(bob, "alice", "hi alice", NULL));
	CHECK(ka_receive(alice, "alice") == 1);
	ka_alarms(alice, "alice", &al);
	CHECK(al.n == 0);
	ka_alarms(bob, "bob", &al);
	CHECK(al.n == 0);

	/* The fork, then the main log grows (carol registers). */
	ka_account_hex(alice, alice_hex);
	snprintf(line, sizeof line, "fork %s", alice_hex);
	CHECK(ka_knob(line, 1) == 0);
	sotto_client *carol = ka_register("carol");
	CHECK(carol != NULL);

	/* Alone, each side sees a consistent log. */
	KA_OK(alice, sotto_client_kt_refresh(alice));
	KA_OK(bob, sotto_client_kt_refresh(bob));
	uint64_t sa = 0, sb = 0;
	uint8_t ra[32], rb[32];
	KA_OK(alice, sotto_client_kt_head(alice, &sa, ra, NULL));
	KA_OK(bob, sotto_client_kt_head(bob, &sb, rb, NULL));
	printf("alice's head: size %llu; bob's: size %llu\n", (unsigned long long)sa,
		(unsigned long long)sb);
	CHECK(sa == sb + 1 && memcmp(ra, rb, 32) != 0);
	ka_alarms(alice, "alice", &al);
	CHECK(al.n == 0);
	ka_alarms(bob, "bob", &al);
	CHECK(al.n == 0);

	/* Heads cross: alice -> bob. */
	KA_OK(alice, sotto_client_send_text(alice, "bob", "my head is inside", NULL));
	CHECK(ka_receive(bob, "bob") == 1); /* the message itself is delivered */
	ka_alarms(bob, "bob", &al);
	const sotto_client_kt_alarm *a = ka_find(&al, SOTTO_CLIENT_KT_FORK, 0);
	CHECK(a != NULL);
	CHECK(a != NULL && strstr(a->detail, "alice") != NULL);
	CHECK(a != NULL && strstr(a->detail, "different logs") != NULL);

	/* bob -> alice: alice's server proves "consistency" from its own fork,
	 * which does not hold bob's head. */
	KA_OK(bob, sotto_client_send_text(bob, "alice", "mine too", NULL));
	CHECK(ka_receive(alice, "alice") == 1);
	ka_alarms(alice, "alice", &al);
	a = ka_find(&al, SOTTO_CLIENT_KT_FORK, 0);
	CHECK(a != NULL);
	CHECK(a != NULL && strstr(a->detail, "bob") != NULL);
	CHECK(a != NULL && strstr(a->detail, "different logs") != NULL);
	/* carol, on the main log like bob, has no reason for alarm. */
	if (carol != NULL) {
		ka_alarms(carol, "carol", &al);
		CHECK(al.n == 0);
		sotto_client_close(carol);
	}
	sotto_client_close(alice);
	sotto_client_close(bob);
	return tu_finish("kt-attack-fork");
}
