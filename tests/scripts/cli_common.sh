# Shared by tests/scripts/test_cli_*.sh (sourced, not a test itself): a temp
# directory, a real sottod on 127.0.0.1 with an OS-chosen port, the `as`
# wrapper that runs the sotto CLI on one person's profile (a fresh process
# every time), checks, and cleanup on every exit (trap).
set -euo pipefail

BIN=${SOTTO_BIN:-build/bin}
SOTTO=$BIN/sotto
SOTTOD=$BIN/sottod
[ -x "$SOTTO" ] && [ -x "$SOTTOD" ] || { echo "FAIL: no $SOTTO or $SOTTOD" >&2; exit 1; }

work=$(mktemp -d /tmp/sotto-cli-XXXXXX)
server_pid=
watchdog_pid=
export SOTTO_TEST_PASS="a long passphrase for alice's phone"
unset SOTTO_PASSPHRASE SOTTO_PROFILE

cli_cleanup() {
	local rc=$?
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ -n "$watchdog_pid" ]; then
		kill "$watchdog_pid" 2>/dev/null || true
		wait "$watchdog_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cli_cleanup EXIT
trap 'echo "FAIL: interrupted or out of time" >&2; exit 1' TERM INT

# The whole script is bounded: the watchdog sends TERM to it after $1 s.
limit_time() {
	local me=$$
	# The sleep is killed with the watchdog: a leftover child holding the
	# test's stdout would keep ctest waiting for it.
	(
		sp=
		trap '[ -n "$sp" ] && kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$1" &
		sp=$!
		wait "$sp"
		echo "FAIL: over ${1}s" >&2
		kill -TERM "$me"
		# bash runs the script's trap only once its foreground command
		# ends: end that command (the script's children, by id) too.
		for p in $(ps -o pid= --ppid "$me"); do
			[ "$p" -ne "$BASHPID" ] && kill -TERM "$p" 2>/dev/null
		done
		exit 0
	) &
	watchdog_pid=$!
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

step() {
	echo "--- $*"
}

start_server() {
	"$SOTTOD" --data "$work/server" --listen 127.0.0.1:0 >"$work/sottod.out" 2>"$work/sottod.err" &
	server_pid=$!
	for _ in $(seq 100); do
		grep -q '^public-key ' "$work/sottod.out" 2>/dev/null && break
		kill -0 "$server_pid" 2>/dev/null || fail "sottod exited: $(cat "$work/sottod.err")"
		sleep 0.1
	done
	SERVER=$(sed -n 's/^listen //p' "$work/sottod.out")
	KEY=$(sed -n 's/^public-key //p' "$work/sottod.out")
	[ -n "$SERVER" ] && [ -n "$KEY" ] || fail "sottod printed no address or key"
	echo "sottod on $SERVER"
}

# as WHO ARGS...: the CLI on $work/WHO. alice1's profile has a passphrase
# (from SOTTO_PASSPHRASE, as a script gives it); the others use key files.
as() {
	local who=$1
	shift
	if [ "$who" = alice1 ]; then
		SOTTO_PASSPHRASE=$SOTTO_TEST_PASS timeout 120 "$SOTTO" --profile "$work/$who" "$@"
	else
		timeout 120 "$SOTTO" --profile "$work/$who" "$@"
	fi
}

register() {
	local who=$1 name=$2
	if [ "$who" = alice1 ]; then
		as "$who" register --server "$SERVER" --server-key "$KEY" --name "$name"
	else
		as "$who" register --server "$SERVER" --server-key "$KEY" --name "$name" \
			--no-passphrase
	fi
}

# link_device NEW PRIMARY DEVICE-NAME: link-new on NEW (in the background,
# as on a second machine), the code taken from its output, link on PRIMARY.
link_device() {
	local new=$1 primary=$2 devname=$3 code=
	as "$new" link-new --server "$SERVER" --server-key "$KEY" --no-passphrase --timeout 60 \
		>"$work/link-$new.out" 2>&1 &
	local lp=$!
	for _ in $(seq 100); do
		code=$(grep -o 'sotto-link:[^[:space:]]*' "$work/link-$new.out" || true)
		[ -n "$code" ] && break
		kill -0 "$lp" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$code" ] || fail "link-new showed no code: $(cat "$work/link-$new.out")"
	# The QR code is drawn with block characters, and the code is in it.
	grep -q $'\xe2\x96\x88' "$work/link-$new.out" || fail "link-new drew no QR code"
	as "$primary" link "$code" --device-name "$devname"
	wait "$lp" || fail "link-new failed: $(cat "$work/link-$new.out")"
	grep -q "Linked: this profile is now device" "$work/link-$new.out" ||
		fail "link-new did not finish: $(cat "$work/link-$new.out")"
}

# has TEXT NEEDLE / hasnt TEXT NEEDLE
has() {
	case "$1" in *"$2"*) return 0 ;; esac
	fail "expected \"$2\" in: $1"
}
hasnt() {
	case "$1" in *"$2"*) fail "did not expect \"$2\" in: $1" ;; esac
	return 0
}

# count_in FILE NEEDLE: occurrences (lines) of a fixed string in a binary file.
count_in() {
	grep -c -a -F -- "$2" "$1" || true
}
