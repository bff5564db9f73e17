/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto alarms: key transparency alarms, and the user's decisions on them;
 * plus the KT lines that devices, verify and receive print. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/sotto/cli.h"
#include "sotto/client_kt.h"
#include "sotto/error.h"

static const char usage[] =
	"Usage: sotto --profile DIR alarms [--all] [--accept ID | --reject ID]\n\n"
	"Lists the key transparency alarms of this profile that wait for a decision\n"
	"(--all: every alarm). An alarm means the server's log shows something this\n"
	"device did not expect: a device or identity key on your account that you did\n"
	"not add, a contact's key without a valid proof, an old or forked tree head.\n"
	"The client does not encrypt to a device under an alarm until you decide:\n\n"
	"  --accept ID  it is fine (e.g. a device you linked from another device)\n"
	"  --reject ID  never encrypt to it; on the primary device it is also unlinked\n";

static const char *kind_str(enum sotto_client_kt_alarm_kind k)
{
	switch (k) {
	case SOTTO_CLIENT_KT_GHOST_DEVICE: return "ghost-device";
	case SOTTO_CLIENT_KT_KEY_SWAP: return "key-swap";
	case SOTTO_CLIENT_KT_NO_PROOF: return "no-proof";
	case SOTTO_CLIENT_KT_FORK: return "fork";
	case SOTTO_CLIENT_KT_STALE: return "stale-head";
	case SOTTO_CLIENT_KT_BAD_HEAD: return "bad-head";
	case SOTTO_CLIENT_KT_TRANSPORT_CHANGE: return "transport-change";
	}
	return "unknown";
}

static const char *state_str(enum sotto_client_kt_alarm_state s)
{
	return s == SOTTO_CLIENT_KT_ACCEPTED ? "accepted" :
		s == SOTTO_CLIENT_KT_REJECTED ? "rejected" : "PENDING";
}

struct alarm_out {
	FILE *f;
	const char *prefix;
	unsigned n;
};

static int print_alarm(void *ctx, const sotto_client_kt_alarm *a)
{
	struct alarm_out *o = ctx;
	char t[32];
	cli_format_time(a->time_ms, t);
	fprintf(o->f, "%s%" PRIu64 " %s %s %s", o->prefix, a->id, state_str(a->state),
		kind_str(a->kind), t);
	if (a->account[0] != '\0')
		fprintf(o->f, " account %s", a->account);
	if (a->device_id != 0)
		fprintf(o->f, " device %u", (unsigned)a->device_id);
	fprintf(o->f, ": %s\n", a->detail);
	o->n++;
	return 0;
}

int cli_kt_report_alarms(sotto_client *c, FILE *f)
{
	struct alarm_out o = { f, "KEY TRANSPARENCY ALARM ", 0 };
	fflush(stdout);
	if (sotto_client_kt_alarms(c, 1, print_alarm, &o) != 0)
		return 0;
	if (o.n > 0)
		fprintf(f, "Decide with 'sotto alarms --accept ID' or 'sotto alarms --reject ID'.\n");
	return (int)o.n;
}

static int print_kt_device(void *ctx, const sotto_client_kt_device *d)
{
	(void)ctx;
	printf("%c %3u  key transparency: %s", d->current ? '*' : ' ', (unsigned)d->device_id,
		sotto_client_kt_status_str(d->status));
	if (d->leaf_index != UINT64_MAX)
		printf(" (log entry %" PRIu64 " of %" PRIu64 ")", d->leaf_index, d->tree_size);
	printf("\n");
	return 0;
}

int cli_kt_devices(sotto_client *c)
{
	uint64_t size;
	int rc = sotto_client_kt_devices(c, print_kt_device, NULL);
	if (sotto_client_kt_head(c, &size, NULL, NULL) == 0)
		printf("Log: this device has checked the signed log up to %" PRIu64 " entries.\n",
			size);
	if (cli_kt_report_alarms(c, stdout) > 0 || rc != 0)
		return CLI_FAIL;
	return CLI_OK;
}

int cli_kt_contact(sotto_client *c, const char *name)
{
	sotto_client_kt_contact st;
	int rc = sotto_client_kt_contact_status(c, name, &st);
	if (rc != 0) {
		printf("Key transparency: could not check %s's keys against the log: %s\n", name,
			sotto_client_errmsg(c));
		return CLI_FAIL;
	}
	if (st.status == SOTTO_CLIENT_KT_OK && st.n_devices > 0)
		printf("Key transparency: %u of %u devices of %s are in the signed log with the "
		       "key shown (log size %" PRIu64 ")\n", (unsigned)st.n_ok,
			(unsigned)st.n_devices, name, st.tree_size);
	else
		printf("Key transparency: WARNING: %u of %u devices of %s are in the log; "
		       "worst: %s (log size %" PRIu64 ")\n", (unsigned)st.n_ok,
			(unsigned)st.n_devices, name, sotto_client_kt_status_str(st.status),
			st.tree_size);
	if (st.n_alarms > 0)
		printf("Key transparency: %u alarm(s) about %s: see 'sotto alarms'\n",
			(unsigned)st.n_alarms, name);
	return st.status == SOTTO_CLIENT_KT_OK && st.n_alarms == 0 ? CLI_OK : CLI_FAIL;
}

int alarms_main(int argc, char **argv)
{
	const char *accept = NULL, *reject = NULL;
	int all = 0;
	const struct cli_opt opts[] = {
		{ "--all", NULL, &all },
		{ "--accept", &accept, NULL },
		{ "--reject", &reject, NULL },
		{ NULL, NULL, NULL },
	};
	sotto_client *c = NULL;
	int rc = cli_parse(argc, argv, opts, NULL, 0, 0, NULL, usage);
	if (rc != 0)
		return rc;
	if (accept != NULL && reject != NULL)
		return cli_usage_error("give --accept or --reject, not both");
	const char *idstr = accept != NULL ? accept : reject;
	char *end = NULL;
	unsigned long long id = idstr != NULL ? strtoull(idstr, &end, 10) : 0;
	if (idstr != NULL && (end == idstr || *end != '\0' || id == 0))
		return cli_usage_error("an alarm id is a number (see sotto alarms)");
	rc = cli_open(&c);
	if (rc != 0)
		return rc;
	if (idstr != NULL) {
		rc = sotto_client_kt_decide(c, id, accept != NULL);
		if (rc != 0) {
			int ret = cli_engine_error(c, rc, "cannot record the decision");
			sotto_client_close(c);
			return ret;
		}
		printf("Alarm %llu %s.\n", id, accept != NULL ? "accepted" : "rejected");
	}
	struct alarm_out o = { stdout, "", 0 };
	rc = sotto_client_kt_alarms(c, !all, print_alarm, &o);
	if (rc != 0) {
		int ret = cli_engine_error(c, rc, "cannot list alarms");
		sotto_client_close(c);
		return ret;
	}
	if (o.n == 0)
		printf("No %skey transparency alarms.\n", all ? "" : "pending ");
	sotto_client_close(c);
	return cli_flush();
}
