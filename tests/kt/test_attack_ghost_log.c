/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* kt-attack-ghost_log (attack 2): the operator adds ghost devices to bob's
 * account WITH proper log entries (valid inclusion proofs; alice cannot
 * tell). bob's own client monitors the log: a device logged with bob's
 * identity key that bob's primary never linked is a GHOST_DEVICE alarm, one
 * logged with another key a KEY_SWAP alarm. bob's client then refuses to
 * encrypt to them (its sync copies) until bob decides; rejecting unlinks the
 * ghost and sending works again. `devices` shows the status. A later logged
 * transport key change of a device (same identity key) is shown as a
 * TRANSPORT_CHANGE alarm. */
#include "kt_attack.h"

struct devs {
	size_t n;
	sotto_client_kt_device d[8];
};

static int dev_cb(void *ctx, const sotto_client_kt_device *d)
{
	struct devs *x = ctx;
	if (x->n < 8) {
		x->d[x->n] = *d;
		x->d[x->n].name = "";
		x->n++;
	}
	printf("  bob's devices: %u %s (leaf %llu)\n", (unsigned)d->device_id,
		sotto_client_kt_status_str(d->status), (unsigned long long)d->leaf_index);
	return 0;
}

static const sotto_client_kt_device *dev_find(const struct devs *x, uint32_t id)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->d[i].device_id == id)
			return &x->d[i];
	return NULL;
}

int main(void)
{
	struct ka_alarms al;
	struct ka_ghost g1, g2;
	struct devs dv;
	char bob_hex[33], bob_id[67], line[512];
	uint8_t bob_key[33];
	if (sotto_init() != 0 || ka_start("ghost-log") != 0) {
		tu_fail("cannot start sottod-evil");
		return tu_finish("kt-attack-ghost_log");
	}
	sotto_client *alice = ka_register("alice");
	sotto_client *bob = ka_register("bob");
	if (alice == NULL || bob == NULL)
		return tu_finish("kt-attack-ghost_log");
	KA_OK(bob, sotto_client_send_text(bob, "alice", "hello alice", NULL));
	CHECK(ka_receive(alice, "alice") == 1);
	KA_OK(bob, sotto_client_kt_refresh(bob));
	ka_alarms(bob, "bob", &al);
	CHECK(al.n == 0);

	/* Ghost 1 carries bob's real identity public key (the operator knows
	 * it); ghost 2 a key of the operator's. Both get proper ADD leaves. */
	ka_account_hex(bob, bob_hex);
	ka_identity_hex(bob, bob_id);
	CHECK(tu_unhex_into(bob_key, 33, bob_id) == 0);
	CHECK(ka_ghost_new(&g1, bob_key) == 0);
	CHECK(ka_ghost_new(&g2, NULL) == 0);
	snprintf(line, sizeof line, "ghost %s %s %s 1111 log", bob_hex, g1.noise_hex, g1.id_hex);
	CHECK(ka_knob(line, 0) == 0);
	snprintf(line, sizeof line, "ghost %s %s %s 2222 log", bob_hex, g2.noise_hex, g2.id_hex);
	CHECK(ka_knob(line, 0) == 0);
	CHECK(ka_ghost_prekeys(&g2) == 0);

	/* alice sees valid proofs: she has no way to tell. */
	sotto_client_kt_contact st;
	KA_OK(alice, sotto_client_kt_contact_status(alice, "bob", &st));
	printf("alice's view of bob: %u of %u devices ok\n", (unsigned)st.n_ok,
		(unsigned)st.n_devices);
	CHECK(st.n_devices == 3);

	/* bob's monitor catches both (run by receive). */
	ka_receive(bob, "bob");
	ka_alarms(bob, "bob", &al);
	const sotto_client_kt_alarm *a1 = ka_find(&al, SOTTO_CLIENT_KT_GHOST_DEVICE, 2);
	const sotto_client_kt_alarm *a2 = ka_find(&al, SOTTO_CLIENT_KT_KEY_SWAP, 3);
	CHECK(a1 != NULL && a2 != NULL);
	if (a1 == NULL || a2 == NULL)
		return tu_finish("kt-attack-ghost_log");
	CHECK(a1->state == SOTTO_CLIENT_KT_PENDING && a2->state == SOTTO_CLIENT_KT_PENDING);
	CHECK(strstr(a1->detail, "you did not link it") != NULL);
	CHECK(a1->leaf_index != UINT64_MAX);
	uint64_t id1 = a1->id, id2 = a2->id;
	/* A logged KEY_CHANGE of device 2 that keeps its identity key but
	 * carries another transport (Noise) key: shown as TRANSPORT_CHANGE, not
	 * as a key swap. */
	snprintf(line, sizeof line, "swap-key %s 2 %s %s transport", bob_hex, bob_hex, g2.id_hex);
	CHECK(ka_knob(line, 0) == 0);
	KA_OK(bob, sotto_client_kt_refresh(bob));
	ka_alarms(bob, "bob", &al);
	const sotto_client_kt_alarm *a3 = ka_find(&al, SOTTO_CLIENT_KT_TRANSPORT_CHANGE, 2);
	CHECK(a3 != NULL && a3->state == SOTTO_CLIENT_KT_PENDING);
	CHECK(a3 != NULL && strstr(a3->detail, "transport key of device 2") != NULL);
	CHECK(ka_count(&al, SOTTO_CLIENT_KT_KEY_SWAP) == 1);
	CHECK(ka_count(&al, SOTTO_CLIENT_KT_GHOST_DEVICE) == 1);
	if (a3 != NULL)
		KA_OK(bob, sotto_client_kt_decide(bob, a3->id, 1));

	/* devices: both shown as untrusted. */
	memset(&dv, 0, sizeof dv);
	KA_OK(bob, sotto_client_kt_devices(bob, dev_cb, &dv));
	CHECK(dv.n == 3);
	const sotto_client_kt_device *d1 = dev_find(&dv, 1), *d2 = dev_find(&dv, 2),
				     *d3 = dev_find(&dv, 3);
	CHECK(d1 != NULL && d1->status == SOTTO_CLIENT_KT_OK);
	CHECK(d2 != NULL && d2->status == SOTTO_CLIENT_KT_UNTRUSTED);
	CHECK(d3 != NULL && d3->status == SOTTO_CLIENT_KT_UNTRUSTED);

	/* No encryption to them until bob decides: his sync copy is refused. */
	int rc = sotto_client_send_text(bob, "alice", "while undecided", NULL);
	printf("bob's send while undecided: %s: %s\n", sotto_strerror(rc),
		sotto_client_errmsg(bob));
	CHECK_RC(rc, SOTTO_ERR_KT_PROOF);
	CHECK(strstr(sotto_client_errmsg(bob), "not trusted") != NULL);

	/* bob rejects both: the primary unlinks them, and sending works. */
	KA_OK(bob, sotto_client_kt_decide(bob, id1, 0));
	KA_OK(bob, sotto_client_kt_decide(bob, id2, 0));
	ka_alarms(bob, "bob", &al);
	a1 = ka_find(&al, SOTTO_CLIENT_KT_GHOST_DEVICE, 2);
	CHECK(a1 != NULL && a1->state == SOTTO_CLIENT_KT_REJECTED);
	memset(&dv, 0, sizeof dv);
	KA_OK(bob, sotto_client_kt_devices(bob, dev_cb, &dv));
	CHECK(dv.n == 1);
	KA_OK(bob, sotto_client_send_text(bob, "alice", "after rejecting", NULL));
	CHECK(ka_receive(alice, "alice") >= 1);
	/* The decision sticks: no new pending alarm for the same entries. */
	KA_OK(bob, sotto_client_kt_refresh(bob));
	struct ka_alarms pend;
	memset(&pend, 0, sizeof pend);
	KA_OK(bob, sotto_client_kt_alarms(bob, 1, ka_alarm_cb, &pend));
	CHECK(pend.n == 0);

	sotto_client_close(alice);
	sotto_client_close(bob);
	return tu_finish("kt-attack-ghost_log");
}
