/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* sotto: the command-line client. Global options, then the subcommand:
 *   sotto [--profile DIR] [--net-timeout SECONDS] COMMAND [ARGS...]
 * Each subcommand is one file; this is the table that dispatches to them. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/sotto/cli.h"
#include "sotto/util.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
} commands[] = {
	{ "register", register_main, "Creates a profile and registers a new account on a server" },
	{ "send", send_main, "Sends a text message to a contact" },
	{ "send-file", send_file_main, "Sends a file to a contact" },
	{ "receive", receive_main, "Receives and prints waiting messages" },
	{ "history", history_main, "Prints the stored conversation with a contact" },
	{ "contacts", contacts_main, "Lists contacts and whether they are verified" },
	{ "verify", verify_main, "Shows the safety number with a contact, marks it verified" },
	{ "timer", timer_main, "Sets the disappearing-message timer of a conversation" },
	{ "link-new", link_new_main, "Makes this profile a new device of an existing account" },
	{ "link", link_main, "Links a new device to this account (run on the primary)" },
	{ "devices", devices_main, "Lists the devices of this account" },
	{ "unlink", unlink_main, "Removes a device from this account" },
	{ "alarms", alarms_main, "Lists key transparency alarms; accepts or rejects them" },
	{ "audit", audit_main, "Audits a server's key transparency log (no profile needed)" },
};

static void show_usage(FILE *f)
{
	fprintf(f, "Usage: sotto [--profile DIR] [--net-timeout SECONDS] COMMAND [ARGS...]\n\n"
		   "End-to-end encrypted messaging. DIR holds this device's encrypted local\n"
		   "store (default: $SOTTO_PROFILE). A profile with a passphrase reads it from\n"
		   "$SOTTO_PASSPHRASE, or asks on the terminal. --net-timeout bounds each\n"
		   "exchange with the server, retries included (default 15).\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].description);
	fprintf(f, "\n'sotto COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	int i = 1;
	/* A closed pipe on stdout or a socket must be an error return, not a
	 * signal that kills the process between a store commit and its ack. */
	signal(SIGPIPE, SIG_IGN);
	cli_command = "sotto";
	cli_profile = getenv("SOTTO_PROFILE");
	if (cli_profile != NULL && cli_profile[0] == '\0')
		cli_profile = NULL;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			show_usage(stdout);
			return cli_flush();
		} else if (strcmp(argv[i], "--profile") == 0 || strcmp(argv[i], "-p") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("%s needs a directory", argv[i]);
			cli_profile = argv[++i];
		} else if (strncmp(argv[i], "--profile=", 10) == 0) {
			cli_profile = argv[i] + 10;
		} else if (strcmp(argv[i], "--net-timeout") == 0) {
			long long ms = i + 1 < argc ? cli_parse_seconds(argv[++i], 3600) : -1;
			if (ms <= 0)
				return cli_usage_error("--net-timeout wants seconds (up to 3600)");
			cli_net_timeout_ms = (unsigned)ms;
		} else {
			return cli_usage_error("unknown option %s", argv[i]);
		}
	}
	if (i >= argc)
		return cli_usage_error("no command");
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 < argc) {
			/* "sotto help send" is "sotto send --help". */
			static char help_opt[] = "--help";
			char *sub[3] = { argv[i + 1], help_opt, NULL };
			for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
				if (strcmp(commands[k].name, argv[i + 1]) == 0) {
					cli_command = commands[k].name;
					return commands[k].fn(2, sub);
				}
			return cli_usage_error("no command %s", argv[i + 1]);
		}
		show_usage(stdout);
		return cli_flush();
	}
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		if (strcmp(commands[k].name, argv[i]) != 0)
			continue;
		cli_command = commands[k].name;
		int wants_help = 0;
		for (int j = i + 1; j < argc && strcmp(argv[j], "--") != 0; j++)
			if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0)
				wants_help = 1;
		int needs_profile = strcmp(commands[k].name, "audit") != 0;
		if (cli_profile == NULL && !wants_help && needs_profile)
			return cli_usage_error("no profile: give --profile DIR (or set SOTTO_PROFILE)");
		/* An absolute profile path: the engine stores the paths of saved
		 * attachments under it, and they must stay valid from any working
		 * directory. A profile that does not exist yet keeps its path. */
		static char abs_profile[PATH_MAX];
		if (cli_profile != NULL && realpath(cli_profile, abs_profile) != NULL)
			cli_profile = abs_profile;
		if (sotto_init() != 0)
			return cli_error("cannot initialise the crypto library");
		return commands[k].fn(argc - i, argv + i);
	}
	return cli_usage_error("unknown command %s", argv[i]);
}
