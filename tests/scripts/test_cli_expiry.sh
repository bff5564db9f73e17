#!/usr/bin/env bash
# The sotto CLI over a real sottod: disappearing messages are gone from
# every device (alice's two and bob's) after a 5 s timer, in real time; and an
# identity change (bob loses his only device and registers the same name
# again) is detected: a warning on receive, an identity-change object in
# receive --json, "CHANGED" in verify and contacts, and a new safety number.
# Every CLI call is a fresh process.
source "$(dirname "$0")/cli_common.sh"
limit_time 90
start_server

register alice1 alice >/dev/null
register bob bob >/dev/null
link_device alice2 alice1 laptop >/dev/null
as alice1 send bob "kept forever"
as bob receive >/dev/null
as alice2 receive >/dev/null

# Each device's history is checked right after the message arrived there
# (a message expires TIMER seconds after it was sent or received), and the
# final check waits TIMER seconds plus a margin after the last arrival.
step "a 5 s timer on alice's phone reaches bob and her laptop"
as alice1 timer bob 5
as alice1 send bob "this will vanish"
has "$(as alice1 history bob)" "this will vanish"
out=$(as bob receive --json)
has "$out" '"kind":"timer"'
has "$out" '"timer":5'
has "$out" '"body":"this will vanish"'
has "$out" '"expires":'
has "$(as bob history alice)" "this will vanish"
has "$(as alice2 receive)" "this will vanish"
has "$(as alice2 history bob)" "this will vanish"
step "bob's answer inherits the timer"
as bob send alice "vanishing reply"
has "$(as bob history alice)" "vanishing reply"
has "$(as alice1 receive)" "vanishing reply"
has "$(as alice1 history bob)" "vanishing reply"
has "$(as alice2 receive)" "vanishing reply"
has "$(as alice2 history bob)" "vanishing reply"

step "after the timer they are gone everywhere; older messages stay"
sleep 5.5
for who in alice1 alice2 bob; do
	peer=bob
	[ "$who" = bob ] && peer=alice
	out=$(as "$who" history "$peer" --json)
	hasnt "$out" "this will vanish"
	hasnt "$out" "vanishing reply"
	has "$out" '"body":"kept forever"'
done
as alice1 timer bob off
as bob receive >/dev/null
as alice2 receive >/dev/null
as bob send alice "no timer now"
as alice1 receive >/dev/null
sleep 1
has "$(as alice1 history bob)" "no timer now"

step "safety numbers; alice verifies bob"
sa=$(as alice1 verify bob | grep -E '^    [0-9]' | tr -dc 0-9)
sb=$(as bob verify alice | grep -E '^    [0-9]' | tr -dc 0-9)
[ ${#sa} -eq 60 ] && [ "$sa" = "$sb" ] || fail "safety numbers differ: $sa / $sb"
as alice1 verify bob --mark-verified >/dev/null
has "$(as alice1 contacts)" "verified"

step "bob loses his phone: unlinks it (ends the account), registers bob again"
has "$(as bob unlink 1)" "Unlinked this device"
rc=0
as bob send alice "still there?" 2>"$work/err" || rc=$?
[ "$rc" -ne 0 ] || fail "an unlinked profile could still send"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "not one error line: $(cat "$work/err")"
register bob2 bob >/dev/null
as bob2 send alice "new phone, same bob"

step "alice's devices notice the identity change"
as alice1 receive >"$work/recv.out" 2>"$work/recv.err"
has "$(cat "$work/recv.out")" "new phone, same bob"
has "$(cat "$work/recv.err")" "safety number with bob changed"
out=$(as alice1 verify bob)
has "$out" "CHANGED"
hasnt "$out" "State: verified"
s2=$(grep -E '^    [0-9]' <<<"$out" | tr -dc 0-9)
[ ${#s2} -eq 60 ] && [ "$s2" != "$sa" ] || fail "the safety number did not change"
has "$(as alice1 contacts)" "identity key CHANGED"
has "$(as alice1 history bob)" "The safety number with bob changed"
out=$(as alice2 receive --json)
has "$out" '"kind":"identity-change"'
has "$out" '"body":"new phone, same bob"'
s3=$(as bob2 verify alice | grep -E '^    [0-9]' | tr -dc 0-9)
[ "$s2" = "$s3" ] || fail "the new safety numbers differ"
step "alice compares the new number and marks it verified again"
has "$(as alice1 verify bob --mark-verified)" "State: verified"
out=$(as alice1 contacts)
hasnt "$out" "CHANGED"
as alice1 send bob "welcome back"
has "$(as bob2 receive)" "welcome back"

echo "script-cli_expiry: all checks passed"
