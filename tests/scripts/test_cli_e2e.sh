#!/usr/bin/env bash
# The sotto CLI end to end over a real sottod on loopback: alice with two
# linked devices (her phone with a passphrase, her laptop with a key file)
# and bob; messages both ways; alice's laptop sees what her phone sent and
# the other way round; bob offline, then online; a 10 MB attachment arrives
# byte-identical on bob's device and alice's laptop; every CLI call is a
# fresh process (clients restarted between all steps). Then the raw store
# files (store.db, store.db-wal) of every profile, and the server's files,
# are searched for the plaintexts and the attachment's bytes.
# The private keys are not reachable from the CLI; tests/client/test_engine.c
# scans the same files for them.
source "$(dirname "$0")/cli_common.sh"
limit_time 120
start_server

step "register alice (passphrase) and bob (key file); names are unique"
register alice1 alice >/dev/null
out=$(register bob Bob)
has "$out" "Registered bob"
rc=0
as mallory register --server "$SERVER" --server-key "$KEY" --name bob --no-passphrase \
	2>"$work/err" || rc=$?
[ "$rc" -eq 1 ] || fail "a taken name was accepted"
grep -q "taken\|exists" "$work/err" || fail "unclear error: $(cat "$work/err")"

step "link alice's laptop (QR code and text code)"
link_device alice2 alice1 laptop
out=$(as alice1 devices)
has "$out" "laptop"
[ "$(grep -c 'linked' <<<"$out")" -eq 2 ] || fail "alice has not 2 devices: $out"
has "$(as alice2 devices)" "*   2"

step "alice's phone writes to bob"
as alice1 send bob "hello bob, this is alice"
out=$(as bob receive --json)
has "$out" '"body":"hello bob, this is alice"'
has "$out" '"from":"alice"'
has "$out" '"device":1'
step "alice's laptop sees what her phone sent"
out=$(as alice2 receive --json)
has "$out" '"body":"hello bob, this is alice"'
has "$out" '"outgoing":true'
has "$out" '"conversation":"bob"'

step "bob answers; both of alice's devices get it, once"
as bob send alice "hi alice, bob here"
has "$(as alice1 receive)" "bob (device 1): hi alice, bob here"
has "$(as alice2 receive)" "bob (device 1): hi alice, bob here"
hasnt "$(as alice2 receive)" "hi alice, bob here"

step "the laptop writes; the phone sees the sync"
as alice2 send bob "from the laptop"
out=$(as bob receive --json)
has "$out" '"body":"from the laptop"'
has "$out" '"device":2'
has "$(as alice1 receive)" "you (device 2) to bob: from the laptop"

step "bob offline: three messages wait on the server, in order"
as alice1 send bob "offline one"
as alice1 send bob "offline two"
as alice1 send bob -- "-offline three"
out=$(as bob receive)
l1=$(grep -n "offline one" <<<"$out" | cut -d: -f1)
l2=$(grep -n "offline two" <<<"$out" | cut -d: -f1)
l3=$(grep -n -- "-offline three" <<<"$out" | cut -d: -f1)
[ -n "$l1" ] && [ -n "$l2" ] && [ -n "$l3" ] && [ "$l1" -lt "$l2" ] && [ "$l2" -lt "$l3" ] ||
	fail "offline messages missing or out of order: $out"
as alice2 receive >/dev/null

step "receive --timeout 3 waits for a message sent meanwhile"
as bob receive --json --timeout 3 >"$work/wait.out" &
wp=$!
sleep 1
as alice1 send bob "while you wait"
wait "$wp" || fail "receive --timeout failed"
has "$(cat "$work/wait.out")" '"body":"while you wait"'

step "a 10 MB attachment"
marker="SOTTO-TEST-MARKER:0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
[ ${#marker} -eq 64 ] || fail "marker is ${#marker} bytes"
{ head -c 5000000 /dev/urandom; printf '%s' "$marker"; head -c 5485696 /dev/urandom; } \
	>"$work/photo.bin"
[ "$(stat -c %s "$work/photo.bin")" -eq 10485760 ] || fail "attachment size"
as alice1 send-file bob "$work/photo.bin" --caption "a file for you"
out=$(as bob receive --json)
has "$out" '"body":"a file for you"'
has "$out" '"size":10485760'
path=$(sed -n 's/.*"attachments":\[{[^]]*"path":"\([^"]*\)".*/\1/p' <<<"$out")
[ -n "$path" ] || fail "no attachment path in $out"
case "$path" in "$work"/bob/*) ;; *) fail "attachment saved outside bob's profile: $path" ;; esac
cmp "$work/photo.bin" "$path" || fail "bob's copy differs"
out=$(as alice2 receive --json)
path2=$(sed -n 's/.*"attachments":\[{[^]]*"path":"\([^"]*\)".*/\1/p' <<<"$out")
cmp "$work/photo.bin" "$path2" || fail "the laptop's copy differs"

step "history survives restarts, with delivery states"
out=$(as alice1 history bob)
has "$out" "hello bob, this is alice"
has "$out" "[delivered]"
has "$out" "attachment photo.bin (10485760 bytes)"
out=$(as bob history alice --json)
[ "$(grep -c '"body":"offline' <<<"$out")" -eq 2 ] || fail "bob's history: $out"
has "$(as bob contacts)" "alice"
has "$(as alice2 contacts)" "bob"

step "safety numbers match on both sides"
sa=$(as alice1 verify bob | grep -E '^    [0-9]' | tr -dc 0-9)
sb=$(as bob verify alice | grep -E '^    [0-9]' | tr -dc 0-9)
[ ${#sa} -eq 60 ] && [ "$sa" = "$sb" ] || fail "safety numbers differ: $sa / $sb"
has "$(as alice1 verify bob --mark-verified)" "State: verified"
has "$(as alice1 contacts)" "verified"

step "the store files hold no plaintext and no attachment bytes"
texts=("hello bob, this is alice" "hi alice, bob here" "from the laptop" "offline one"
	"offline two" "-offline three" "while you wait" "a file for you")
scanned=0
for who in alice1 alice2 bob; do
	for f in store.db store.db-wal; do
		[ -f "$work/$who/$f" ] || continue
		scanned=$((scanned + 1))
		for t in "${texts[@]}" "$marker"; do
			n=$(count_in "$work/$who/$f" "$t")
			[ "$n" -eq 0 ] || fail "$who/$f contains \"$t\" ($n times)"
		done
	done
done
[ "$scanned" -ge 3 ] || fail "no store files found"
# The server sees only ciphertext: its database and blob files neither.
while IFS= read -r -d '' f; do
	for t in "${texts[@]}" "$marker"; do
		n=$(count_in "$f" "$t")
		[ "$n" -eq 0 ] || fail "server file $f contains \"$t\""
	done
done < <(find "$work/server" -type f -print0)
# The check itself works: the marker is found where it is in the clear.
[ "$(count_in "$work/photo.bin" "$marker")" -eq 1 ] || fail "the scan cannot find the marker"

step "unlinking the laptop"
has "$(as alice1 unlink 2)" "Unlinked device 2"
out=$(as alice1 devices)
hasnt "$out" "laptop"
as bob send alice "after the unlink"
has "$(as alice1 receive)" "after the unlink"

echo "script-cli_e2e: all checks passed"
