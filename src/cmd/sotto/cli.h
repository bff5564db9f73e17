/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* The sotto command-line client: shared declarations. main.c holds the
 * dispatch table; each subcommand lives in its own file (NAME.c) and is
 * an int NAME_main(int argc, char **argv) over the client engine
 * (include/sotto/client.h). argv[0] is the subcommand's name. */
#ifndef SOTTO_CLI_H
#define SOTTO_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "sotto/client.h"

/* Exit statuses. */
#define CLI_OK 0
#define CLI_FAIL 1  /* the command failed (network, store, refused, ...) */
#define CLI_USAGE 2 /* bad command line */

/* Set by main from --profile (or $SOTTO_PROFILE) before a command runs. */
extern const char *cli_profile;
/* Set by main from --net-timeout; 0: the engine's default. */
extern unsigned cli_net_timeout_ms;

/* ---- errors ---- */

/* Prints "sotto: CMD: MESSAGE" as one line on stderr and returns CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for an engine failure: "sotto: CMD: WHAT: REASON". */
int cli_engine_error(const sotto_client *c, int rc, const char *what);
/* The same with exit status CLI_USAGE, plus a hint to --help. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The running subcommand's name, for messages. */
extern const char *cli_command;

/* ---- command lines ---- */

/* One option of a subcommand: "--name VALUE" (val != NULL) or "--name"
 * (flag != NULL). */
struct cli_opt {
	const char *name;
	const char **val;
	int *flag;
};

/* Parses argv[1..] of a subcommand: options from opts (in any position),
 * "--" ends options, everything else is positional (stored in pos, at least
 * min and at most max of them, *npos gets the count). "--help"/"-h" prints
 * usage to stdout and exits. Returns 0 to go on, or CLI_USAGE after an
 * error (already reported). */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, const char **pos, int min,
	int max, int *npos, const char *usage);

/* Parses a whole number of seconds (or a decimal like 0.5) into ms;
 * -1 if malformed or above max_s seconds. */
long long cli_parse_seconds(const char *s, unsigned max_s);

/* ---- profiles and passphrases ---- */

/* Reads a passphrase: $SOTTO_PASSPHRASE if set, else a prompt on the
 * terminal without echo (twice when confirm). The result is in buf (cap
 * bytes, NUL-terminated, *len without it); the caller wipes it. Returns 0,
 * or CLI_FAIL after reporting why. */
int cli_passphrase(const char *prompt, int confirm, char *buf, size_t cap, size_t *len);

/* Opens the existing profile at cli_profile, asking for the passphrase if
 * it has one. Returns 0 or an exit status (reported). */
int cli_open(sotto_client **out);

/* Opens cli_profile if it exists but holds no account yet (a failed
 * register, or an interrupted link-new), else creates it (key-file mode if
 * no_pass). *created tells which. Returns 0 or an exit status (reported). */
int cli_open_or_create(sotto_client **out, int no_pass, int *created);

/* Remembers which contacts have an unacknowledged identity change, so that
 * cli_report_identity_changes can tell what changed during a command. */
struct cli_changed {
	char names[64][SOTTO_CLIENT_NAME_MAX + 1];
	size_t n;
};
int cli_changed_snapshot(sotto_client *c, struct cli_changed *out);
/* Reports contacts whose identity changed since the snapshot, as a line on
 * stderr (or, with json, as a JSON object on stdout). */
void cli_report_identity_changes(sotto_client *c, const struct cli_changed *before, int json);

/* ---- output ---- */

/* Prints one message as a human-readable line (or lines) or one JSON
 * object per line; with_status adds the delivery state of outgoing ones. */
int cli_print_message(const sotto_client_message *m, int json, int with_status);
/* Writes s to stdout with control characters (terminal escapes) replaced. */
void cli_put_safe(const char *s, size_t n);
/* "YYYY-MM-DD HH:MM:SS" in local time. */
void cli_format_time(uint64_t ms, char out[32]);
/* Flushes stdout; CLI_FAIL (reported) if it could not be written. */
int cli_flush(void);

/* ---- subcommands ---- */

int register_main(int argc, char **argv);
int send_main(int argc, char **argv);
int send_file_main(int argc, char **argv);
int receive_main(int argc, char **argv);
int link_new_main(int argc, char **argv);
int link_main(int argc, char **argv);
int devices_main(int argc, char **argv);
int unlink_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int history_main(int argc, char **argv);
int contacts_main(int argc, char **argv);
int timer_main(int argc, char **argv);
int audit_main(int argc, char **argv);
int alarms_main(int argc, char **argv);

/* Key transparency lines (alarms.c): pending alarms to f (returns how
 * many); each own device with its log status plus alarms (CLI_FAIL if any
 * alarm is pending); a contact's log status (CLI_FAIL unless all is well). */
#include <stdio.h>
int cli_kt_report_alarms(sotto_client *c, FILE *f);
int cli_kt_devices(sotto_client *c);
int cli_kt_contact(sotto_client *c, const char *name);

#endif
