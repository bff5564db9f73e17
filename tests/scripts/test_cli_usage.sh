#!/usr/bin/env bash
# The sotto CLI's surface without a conversation: --help on every command,
# usage errors (exit 2) and failures (exit 1) as one line on stderr, a
# passphrase profile without a passphrase, a wrong passphrase that changes
# nothing, and an unreachable server.
source "$(dirname "$0")/cli_common.sh"
limit_time 60

# one_line_error STATUS CMD...: fails with exactly STATUS and one stderr line.
one_line_error() {
	local want=$1 rc=0
	shift
	"$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
	[ "$rc" -eq "$want" ] || fail "$* exited $rc, want $want: $(cat "$work/err")"
	[ "$(wc -l <"$work/err")" -eq 1 ] || fail "$* printed not one error line: $(cat "$work/err")"
	[ ! -s "$work/out" ] || fail "$* printed on stdout: $(cat "$work/out")"
}

step "--help on every command"
"$SOTTO" --help | grep -q '^Usage: sotto' || fail "sotto --help"
cmds="register send send-file receive history contacts verify timer link-new link devices unlink"
for c in $cmds; do
	"$SOTTO" "$c" --help >"$work/out" || fail "$c --help failed"
	grep -q "^Usage: sotto --profile DIR $c" "$work/out" || fail "$c --help: $(cat "$work/out")"
	"$SOTTO" --help | grep -q "^  $c " || fail "$c missing from sotto --help"
done
"$SOTTO" help send | grep -q '^Usage: sotto --profile DIR send NAME TEXT' || fail "sotto help send"

step "usage errors"
one_line_error 2 "$SOTTO"
one_line_error 2 "$SOTTO" frobnicate
one_line_error 2 "$SOTTO" --net-timeout never contacts
one_line_error 2 "$SOTTO" send bob hi # no profile
one_line_error 2 "$SOTTO" --profile "$work/p" send bob
one_line_error 2 "$SOTTO" --profile "$work/p" send bob hi extra
one_line_error 2 "$SOTTO" --profile "$work/p" receive --nope
one_line_error 2 "$SOTTO" --profile "$work/p" receive --timeout soon
one_line_error 2 "$SOTTO" --profile "$work/p" timer bob -5
one_line_error 2 "$SOTTO" --profile "$work/p" unlink two
one_line_error 2 "$SOTTO" --profile "$work/p" register --server 127.0.0.1:1 --name x
one_line_error 2 "$SOTTO" --profile "$work/p" register --server 127.0.0.1:1 \
	--server-key not-base64! --name alice --no-passphrase
[ ! -e "$work/p" ] || fail "a usage error created the profile"

step "no profile"
one_line_error 1 "$SOTTO" --profile "$work/none" receive
one_line_error 1 "$SOTTO" --profile "$work/none" history bob
grep -q "no profile in" "$work/err" || fail "unclear error: $(cat "$work/err")"

step "an unreachable server: a clear error, then a retry can reuse the profile"
key=$(head -c 32 /dev/urandom | base64)
SOTTO_PASSPHRASE=first one_line_error 1 "$SOTTO" --net-timeout 1 --profile "$work/p" register \
	--server 127.0.0.1:1 --server-key "$key" --name alice
grep -q "server" "$work/err" || fail "unclear error: $(cat "$work/err")"
[ -e "$work/p/store.db" ] || fail "no store was created"
[ ! -e "$work/p/store.key" ] || fail "a passphrase profile has a key file"

step "a wrong or missing passphrase changes nothing"
snap() { (cd "$work/p" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
before=$(snap)
SOTTO_PASSPHRASE=second one_line_error 1 "$SOTTO" --net-timeout 1 --profile "$work/p" register \
	--server 127.0.0.1:1 --server-key "$key" --name alice
grep -q "wrong passphrase" "$work/err" || fail "unclear error: $(cat "$work/err")"
# No SOTTO_PASSPHRASE and no terminal (setsid: no controlling terminal).
setsid -w "$SOTTO" --profile "$work/p" contacts >"$work/out" 2>"$work/err" </dev/null &&
	fail "opened a passphrase profile without a passphrase"
grep -q "needs a passphrase" "$work/err" || fail "unclear error: $(cat "$work/err")"
[ "$before" = "$(snap)" ] || fail "a failed open changed the profile"
SOTTO_PASSPHRASE=first one_line_error 1 "$SOTTO" --profile "$work/p" contacts
grep -q "no account yet" "$work/err" || fail "unclear error: $(cat "$work/err")"

step "key-file profile"
one_line_error 1 "$SOTTO" --profile "$work/k" --net-timeout 0.5 register --server 127.0.0.1:1 \
	--server-key "$key" --name bob --no-passphrase
[ "$(stat -c %a "$work/k/store.key")" = 600 ] || fail "store.key is not 0600"

echo "script-cli_usage: all checks passed"
