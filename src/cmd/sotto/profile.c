/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto: opening profiles, and reading passphrases without echo. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cmd/sotto/cli.h"
#include "sotto/error.h"
#include "sotto/util.h"

#define PASS_MAX 1024

/* The terminal state to restore if a signal arrives while echo is off. */
static int tty_fd = -1;
static struct termios tty_saved;

static void restore_tty(int sig)
{
	if (tty_fd >= 0)
		(void)tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads one line from the terminal with echo off. */
static int prompt_tty(int fd, const char *prompt, char *buf, size_t cap, size_t *len)
{
	struct termios t;
	struct sigaction sa, old_int, old_term, old_hup, old_tstp;
	size_t n = 0;
	int rc = 0;
	if (tcgetattr(fd, &tty_saved) != 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = restore_tty;
	sigemptyset(&sa.sa_mask);
	tty_fd = fd;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	sigaction(SIGTSTP, &sa, &old_tstp);
	t = tty_saved;
	t.c_lflag &= (tcflag_t)~(ECHO | ECHOE | ECHOK | ECHONL);
	t.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &t) != 0) {
		rc = -1;
		goto restore;
	}
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n' || ch == '\r')
			break;
		if (n + 1 < cap)
			buf[n++] = ch;
		else
			rc = -2; /* too long: read on to the end of the line, then refuse */
		ch = 0;
	}
	buf[n] = '\0';
	*len = n;
	(void)tcsetattr(fd, TCSAFLUSH, &tty_saved);
	if (write(fd, "\n", 1) < 0)
		rc = rc != 0 ? rc : -1;
restore:
	(void)tcsetattr(fd, TCSAFLUSH, &tty_saved);
	tty_fd = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGTSTP, &old_tstp, NULL);
	return rc;
}

int cli_passphrase(const char *prompt, int confirm, char *buf, size_t cap, size_t *len)
{
	const char *env = getenv("SOTTO_PASSPHRASE");
	if (env != NULL) {
		size_t n = strlen(env);
		if (n == 0)
			return cli_error("SOTTO_PASSPHRASE is set but empty");
		if (n >= cap)
			return cli_error("SOTTO_PASSPHRASE is too long (at most %zu bytes)", cap - 1);
		memcpy(buf, env, n + 1);
		*len = n;
		return 0;
	}
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return cli_error("this profile needs a passphrase: set SOTTO_PASSPHRASE or run "
				 "on a terminal (or create it with --no-passphrase)");
	int rc = prompt_tty(fd, prompt, buf, cap, len);
	if (rc == 0 && *len == 0)
		rc = -3;
	if (rc == 0 && confirm) {
		char *again = malloc(cap);
		size_t alen = 0;
		if (again == NULL) {
			rc = -1;
		} else {
			rc = prompt_tty(fd, "Repeat the passphrase: ", again, cap, &alen);
			if (rc == 0 && (alen != *len || !sotto_memeq(again, buf, alen)))
				rc = -4;
			sotto_memzero(again, cap);
			free(again);
		}
	}
	close(fd);
	if (rc == 0)
		return 0;
	sotto_memzero(buf, cap);
	*len = 0;
	if (rc == -2)
		return cli_error("the passphrase is too long (at most %zu bytes)", cap - 1);
	if (rc == -3)
		return cli_error("an empty passphrase is not allowed (use --no-passphrase for a "
				 "key file instead)");
	if (rc == -4)
		return cli_error("the two passphrases differ; nothing was changed");
	return cli_error("cannot read the passphrase from the terminal");
}

static int open_existing(sotto_client **out, int needs)
{
	char err[256] = "";
	char *pass = NULL;
	size_t plen = 0;
	int rc;
	if (needs) {
		pass = malloc(PASS_MAX);
		if (pass == NULL)
			return cli_error("out of memory");
		rc = cli_passphrase("Passphrase: ", 0, pass, PASS_MAX, &plen);
		if (rc != 0) {
			free(pass);
			return rc;
		}
	}
	rc = sotto_client_open(out, cli_profile, pass, plen, err, sizeof err);
	if (pass != NULL) {
		sotto_memzero(pass, PASS_MAX);
		free(pass);
	}
	if (rc == SOTTO_ERR_INVALID_KEY)
		return cli_error("wrong passphrase for the profile %s (nothing was changed)",
			cli_profile);
	if (rc != 0)
		return cli_error("cannot open the profile %s: %s", cli_profile,
			err[0] != '\0' ? err : sotto_strerror(rc));
	if (cli_net_timeout_ms != 0)
		sotto_client_set_timeout(*out, cli_net_timeout_ms);
	return 0;
}

int cli_open(sotto_client **out)
{
	int needs = sotto_client_needs_passphrase(cli_profile);
	if (needs == SOTTO_ERR_NOT_FOUND)
		return cli_error("no profile in %s (create one with 'sotto --profile %s register' "
				 "or 'link-new')", cli_profile, cli_profile);
	if (needs < 0)
		return cli_error("cannot read the profile %s: %s", cli_profile,
			sotto_strerror(needs));
	int rc = open_existing(out, needs);
	if (rc != 0)
		return rc;
	sotto_client_account acc;
	if (sotto_client_account_info(*out, &acc) != 0) {
		sotto_client_close(*out);
		*out = NULL;
		return cli_error("the profile %s has no account yet (finish 'register' or "
				 "'link-new' first)", cli_profile);
	}
	sotto_memzero(&acc, sizeof acc);
	return 0;
}

int cli_open_or_create(sotto_client **out, int no_pass, int *created)
{
	int needs = sotto_client_needs_passphrase(cli_profile);
	*created = 0;
	if (needs >= 0) {
		sotto_client_account acc;
		int rc = open_existing(out, needs);
		if (rc != 0)
			return rc;
		if (sotto_client_account_info(*out, &acc) == 0) {
			sotto_client_close(*out);
			*out = NULL;
			return cli_error("the profile %s already belongs to %s (device %u)",
				cli_profile, acc.name, (unsigned)acc.device_id);
		}
		return 0;
	}
	if (needs != SOTTO_ERR_NOT_FOUND)
		return cli_error("cannot read the profile %s: %s", cli_profile,
			sotto_strerror(needs));
	char err[256] = "";
	char *pass = NULL;
	size_t plen = 0;
	int rc;
	if (!no_pass) {
		pass = malloc(PASS_MAX);
		if (pass == NULL)
			return cli_error("out of memory");
		rc = cli_passphrase("New passphrase for this profile: ", 1, pass, PASS_MAX, &plen);
		if (rc != 0) {
			free(pass);
			return rc;
		}
	}
	rc = sotto_client_create(out, cli_profile, pass, plen, err, sizeof err);
	if (pass != NULL) {
		sotto_memzero(pass, PASS_MAX);
		free(pass);
	}
	if (rc != 0)
		return cli_error("cannot create the profile %s: %s", cli_profile,
			err[0] != '\0' ? err : sotto_strerror(rc));
	if (cli_net_timeout_ms != 0)
		sotto_client_set_timeout(*out, cli_net_timeout_ms);
	*created = 1;
	return 0;
}

/* ---- identity changes ---- */

static int snap_cb(void *ctx, const sotto_client_contact *ct)
{
	struct cli_changed *s = ctx;
	if (ct->identity_changed && s->n < sizeof s->names / sizeof s->names[0])
		snprintf(s->names[s->n++], sizeof s->names[0], "%s", ct->name);
	return 0;
}

int cli_changed_snapshot(sotto_client *c, struct cli_changed *out)
{
	memset(out, 0, sizeof(*out));
	return sotto_client_contacts(c, snap_cb, out);
}

void cli_report_identity_changes(sotto_client *c, const struct cli_changed *before, int json)
{
	struct cli_changed now;
	if (cli_changed_snapshot(c, &now) != 0)
		return;
	for (size_t i = 0; i < now.n; i++) {
		int seen = 0;
		for (size_t k = 0; k < before->n; k++)
			if (strcmp(now.names[i], before->names[k]) == 0)
				seen = 1;
		if (seen)
			continue;
		if (json) {
			/* The same fields as a message, so line readers need no
			 * special case. Names are [a-z0-9_.] only. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			printf("{\"kind\":\"identity-change\",\"conversation\":\"%s\","
			       "\"from\":\"%s\",\"device\":0,\"timestamp\":%lld,\"body\":\"\"}\n",
				now.names[i], now.names[i],
				(long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		} else {
			fflush(stdout);
			fprintf(stderr,
				"sotto: warning: the safety number with %s changed: their identity "
				"key is new (a new phone, or someone else). Compare it again with "
				"'sotto verify %s'.\n",
				now.names[i], now.names[i]);
		}
	}
}
