/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto: errors, command-line parsing and output shared by the commands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd/sotto/cli.h"
#include "sotto/error.h"

const char *cli_profile;
unsigned cli_net_timeout_ms;
const char *cli_command = "sotto";

/* ---- errors ---- */

static void verror(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void verror(const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* One line, whatever the engine or the user gave us. */
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fflush(stdout);
	if (strcmp(cli_command, "sotto") == 0)
		fprintf(stderr, "sotto: %s\n", msg);
	else
		fprintf(stderr, "sotto %s: %s\n", cli_command, msg);
}

int cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	return CLI_FAIL;
}

int cli_usage_error(const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (strcmp(cli_command, "sotto") == 0)
		cli_error("%s (see sotto --help)", msg);
	else
		cli_error("%s (see sotto %s --help)", msg, cli_command);
	return CLI_USAGE;
}

int cli_engine_error(const sotto_client *c, int rc, const char *what)
{
	const char *why = c != NULL ? sotto_client_errmsg(c) : "";
	if (why == NULL || why[0] == '\0')
		why = sotto_strerror(rc);
	if (rc == SOTTO_ERR_NETWORK || rc == SOTTO_ERR_TIMEOUT)
		return cli_error("%s: %s (is the server running and reachable?)", what, why);
	return cli_error("%s: %s", what, why);
}

/* ---- command lines ---- */

int cli_parse(int argc, char **argv, const struct cli_opt *opts, const char **pos, int min,
	int max, int *npos, const char *usage)
{
	int n = 0, only_pos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			/* Nothing is open yet: help ends the command here. */
			fputs(usage, stdout);
			exit(cli_flush());
		}
		if (!only_pos && a[0] == '-' && a[1] == '-') {
			const struct cli_opt *o = opts;
			const char *eq = strchr(a, '=');
			size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);
			for (; o != NULL && o->name != NULL; o++)
				if (strlen(o->name) == len && strncmp(o->name, a, len) == 0)
					break;
			if (o == NULL || o->name == NULL)
				return cli_usage_error("unknown option %s", a);
			if (o->flag != NULL) {
				if (eq != NULL)
					return cli_usage_error("%s takes no value", o->name);
				*o->flag = 1;
			} else if (eq != NULL) {
				*o->val = eq + 1;
			} else {
				if (i + 1 >= argc)
					return cli_usage_error("%s needs a value", a);
				*o->val = argv[++i];
			}
			continue;
		}
		if (n >= max)
			return cli_usage_error("too many arguments (from \"%s\" on)", a);
		pos[n++] = a;
	}
	if (n < min)
		return cli_usage_error("missing arguments");
	if (npos != NULL)
		*npos = n;
	return 0;
}

long long cli_parse_seconds(const char *s, unsigned max_s)
{
	char *end;
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || v < 0 || v > (double)max_s)
		return -1;
	return (long long)(v * 1000.0 + 0.5);
}

/* ---- output ---- */

int cli_flush(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_error("cannot write the output: %s", strerror(errno));
	return CLI_OK;
}

void cli_put_safe(const char *s, size_t n)
{
	/* Text from other people must not drive the terminal: control
	 * characters (escape sequences, carriage returns) become '?'. Newlines
	 * and tabs stay, UTF-8 sequences pass through. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			ch = '?';
		putchar(ch);
	}
}

void cli_format_time(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, 32, "%llu", (unsigned long long)ms);
}

static const char *status_word(enum sotto_client_msg_status s)
{
	switch (s) {
	case SOTTO_CLIENT_STATUS_PENDING:
		return "pending";
	case SOTTO_CLIENT_STATUS_SENT:
		return "sent";
	case SOTTO_CLIENT_STATUS_DELIVERED:
		return "delivered";
	case SOTTO_CLIENT_STATUS_READ:
		return "read";
	}
	return "unknown";
}

static const char *kind_word(enum sotto_client_msg_kind k)
{
	switch (k) {
	case SOTTO_CLIENT_MSG_TEXT:
		return "message";
	case SOTTO_CLIENT_MSG_TIMER:
		return "timer";
	case SOTTO_CLIENT_MSG_IDENTITY_CHANGE:
		return "identity-change";
	}
	return "unknown";
}

/* A JSON string from bytes that should be UTF-8; invalid bytes (jansson
 * refuses them) become '?'. */
static json_t *json_text(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	if (j != NULL)
		return j;
	char *copy = malloc(n + 1);
	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		copy[i] = ((unsigned char)s[i] < 0x80 && s[i] != '\0') ? s[i] : '?';
	copy[n] = '\0';
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

static int set_new(json_t *o, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(o, key, v) == 0 ? 0 : -1;
}

static int print_json(const sotto_client_message *m, int with_status)
{
	json_t *o = json_object();
	int bad = o == NULL;
	if (!bad) {
		bad |= set_new(o, "id", json_string(m->id));
		bad |= set_new(o, "kind", json_string(kind_word(m->kind)));
		bad |= set_new(o, "conversation", json_text(m->conversation,
						       strlen(m->conversation)));
		bad |= set_new(o, "from", json_text(m->sender, strlen(m->sender)));
		bad |= set_new(o, "device", json_integer(m->sender_device));
		bad |= set_new(o, "outgoing", json_boolean(m->outgoing));
		bad |= set_new(o, "timestamp", json_integer((json_int_t)m->timestamp_ms));
		bad |= set_new(o, "body", json_text(m->body, m->body_len));
		if (m->kind == SOTTO_CLIENT_MSG_TIMER)
			bad |= set_new(o, "timer", json_integer(m->timer_s));
		if (m->expires_at_ms != 0)
			bad |= set_new(o, "expires", json_integer((json_int_t)m->expires_at_ms));
		if (with_status && m->outgoing)
			bad |= set_new(o, "status", json_string(status_word(m->status)));
	}
	if (!bad && m->n_attachments > 0) {
		json_t *arr = json_array();
		bad |= set_new(o, "attachments", arr);
		for (size_t i = 0; !bad && i < m->n_attachments; i++) {
			const sotto_client_attachment *a = &m->attachments[i];
			json_t *ja = json_object();
			bad |= ja == NULL || json_array_append_new(arr, ja) != 0;
			if (bad)
				break;
			bad |= set_new(ja, "id", json_string(a->id));
			bad |= set_new(ja, "path", json_text(a->path, strlen(a->path)));
			bad |= set_new(ja, "file_name", json_text(a->file_name,
							     strlen(a->file_name)));
			bad |= set_new(ja, "content_type", json_text(a->content_type,
								strlen(a->content_type)));
			bad |= set_new(ja, "size", json_integer((json_int_t)a->size));
		}
	}
	char *s = bad ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return cli_error("cannot format a message as JSON");
	puts(s);
	free(s);
	return CLI_OK;
}

int cli_print_message(const sotto_client_message *m, int json, int with_status)
{
	if (json)
		return print_json(m, with_status);
	char when[32];
	cli_format_time(m->timestamp_ms, when);
	printf("%s  ", when);
	switch (m->kind) {
	case SOTTO_CLIENT_MSG_IDENTITY_CHANGE:
		printf("! The safety number with ");
		cli_put_safe(m->conversation, strlen(m->conversation));
		printf(" changed: their identity key is new (new phone, reinstall, or someone "
		       "else). Check it with 'sotto verify ");
		cli_put_safe(m->conversation, strlen(m->conversation));
		printf("'.\n");
		return CLI_OK;
	case SOTTO_CLIENT_MSG_TIMER:
		if (m->outgoing) {
			printf("you (device %u) ", (unsigned)m->sender_device);
		} else {
			cli_put_safe(m->sender, strlen(m->sender));
			putchar(' ');
		}
		if (m->timer_s == 0)
			printf("turned disappearing messages off");
		else
			printf("set disappearing messages to %u s", (unsigned)m->timer_s);
		if (m->outgoing) {
			printf(" for the conversation with ");
			cli_put_safe(m->conversation, strlen(m->conversation));
		}
		printf("\n");
		return CLI_OK;
	case SOTTO_CLIENT_MSG_TEXT:
		break;
	}
	if (m->outgoing) {
		printf("you (device %u) to ", (unsigned)m->sender_device);
		cli_put_safe(m->conversation, strlen(m->conversation));
	} else {
		cli_put_safe(m->sender, strlen(m->sender));
		printf(" (device %u)", (unsigned)m->sender_device);
	}
	printf(": ");
	cli_put_safe(m->body, m->body_len);
	if (with_status && m->outgoing)
		printf("  [%s]", status_word(m->status));
	if (m->expires_at_ms != 0)
		printf("  [disappears]");
	printf("\n");
	for (size_t i = 0; i < m->n_attachments; i++) {
		const sotto_client_attachment *a = &m->attachments[i];
		printf("    attachment ");
		if (a->file_name[0] != '\0') {
			cli_put_safe(a->file_name, strlen(a->file_name));
			putchar(' ');
		}
		printf("(%llu bytes)", (unsigned long long)a->size);
		if (a->path[0] != '\0') {
			printf(" saved as ");
			cli_put_safe(a->path, strlen(a->path));
		}
		printf("\n");
	}
	return CLI_OK;
}
