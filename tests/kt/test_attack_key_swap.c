/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* kt-attack-key_swap (attack 3): bob's identity key is swapped in the
 * bundles and device lists handed to alice only.
 *  a) unlogged: the proof's leaf holds bob's real key, the bundle another:
 *     alice refuses with a NO_PROOF alarm ("a different identity key"), and
 *     her safety-number view of bob refuses the key as well;
 *  b) logged: the operator also appends a KEY_CHANGE leaf for bob with the
 *     swapped key, so alice's proof verifies; bob's own monitor catches the
 *     key change he never made (KEY_SWAP alarm on his device 1);
 *  c) transport: a KEY_CHANGE leaf for bob's device 1 with his real identity
 *     key but a transport (Noise) key that is not his device's, i.e. the
 *     server lets another device log in as bob's: bob's monitor raises a
 *     GHOST_DEVICE alarm for his own device. */
#include "kt_attack.h"

int main(void)
{
	struct ka_alarms al;
	struct ka_ghost evil;
	char alice_hex[33], bob_hex[33], line[512];
	if (sotto_init() != 0 || ka_start("key-swap") != 0) {
		tu_fail("cannot start sottod-evil");
		return tu_finish("kt-attack-key_swap");
	}
	sotto_client *alice = ka_register("alice");
	sotto_client *bob = ka_register("bob");
	if (alice == NULL || bob == NULL)
		return tu_finish("kt-attack-key_swap");
	ka_account_hex(alice, alice_hex);
	ka_account_hex(bob, bob_hex);
	CHECK(ka_ghost_new(&evil, NULL) == 0); /* the operator's identity key */

	/* a) unlogged swap, to alice only. */
	snprintf(line, sizeof line, "swap-key %s 1 %s %s nolog", bob_hex, alice_hex, evil.id_hex);
	CHECK(ka_knob(line, 1) == 0);
	int rc = sotto_client_send_text(alice, "bob", "hello bob", NULL);
	printf("alice's send: %s: %s\n", sotto_strerror(rc), sotto_client_errmsg(alice));
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	CHECK(strstr(sotto_client_errmsg(alice), "different identity key") != NULL);
	char digits[SOTTO_CLIENT_SAFETY_DIGITS + 1];
	CHECK_RC(sotto_client_safety_number(alice, "bob", digits, NULL, NULL), SOTTO_ERR_KT_PROOF);
	ka_alarms(alice, "alice", &al);
	const sotto_client_kt_alarm *a = ka_find(&al, SOTTO_CLIENT_KT_NO_PROOF, 1);
	CHECK(a != NULL && strcmp(a->account, "bob") == 0);
	CHECK(a != NULL && strstr(a->detail, "different identity key") != NULL);
	CHECK(ka_receive(bob, "bob") == 0);
	/* bob's own view is untouched: nothing was logged. */
	KA_OK(bob, sotto_client_kt_refresh(bob));
	ka_alarms(bob, "bob", &al);
	CHECK(al.n == 0);

	/* b) the same swap, logged as a key change. */
	snprintf(line, sizeof line, "swap-key %s 1 %s %s log", bob_hex, alice_hex, evil.id_hex);
	CHECK(ka_knob(line, 1) == 0);
	sotto_client_kt_contact st;
	KA_OK(alice, sotto_client_kt_contact_status(alice, "bob", &st));
	printf("alice's view of bob after the logged swap: %u of %u ok\n", (unsigned)st.n_ok,
		(unsigned)st.n_devices);
	CHECK(st.n_ok == 1); /* the log now vouches for the swapped key */
	rc = sotto_client_kt_refresh(bob);
	printf("bob's refresh: %s: %s\n", sotto_strerror(rc), sotto_client_errmsg(bob));
	ka_alarms(bob, "bob", &al);
	a = ka_find(&al, SOTTO_CLIENT_KT_KEY_SWAP, 1);
	CHECK(a != NULL);
	CHECK(a != NULL && a->state == SOTTO_CLIENT_KT_PENDING && a->leaf_index != UINT64_MAX);
	CHECK(a != NULL && strstr(a->detail, "not yours") != NULL);
	/* Run by receive too, and recorded once. */
	ka_receive(bob, "bob");
	ka_alarms(bob, "bob", &al);
	CHECK(al.n == 1);

	/* c) bob's identity key, the operator's transport key. */
	snprintf(line, sizeof line, "swap-key %s 1 %s %s transport", bob_hex, alice_hex,
		evil.id_hex);
	CHECK(ka_knob(line, 1) == 0);
	rc = sotto_client_kt_refresh(bob);
	printf("bob's refresh: %s: %s\n", sotto_strerror(rc), sotto_client_errmsg(bob));
	CHECK_RC(rc, 0);
	ka_alarms(bob, "bob", &al);
	a = ka_find(&al, SOTTO_CLIENT_KT_GHOST_DEVICE, 1);
	CHECK(a != NULL && a->state == SOTTO_CLIENT_KT_PENDING && a->leaf_index != UINT64_MAX);
	CHECK(a != NULL && strstr(a->detail, "transport key") != NULL);
	CHECK(al.n == 2); /* no KEY_SWAP for it: the identity key is bob's */

	sotto_client_close(alice);
	sotto_client_close(bob);
	return tu_finish("kt-attack-key_swap");
}
