#!/usr/bin/env bash
# make demo: shows Sotto working for real, step by step, in plain words.
#   1. sotto-demo: a self-test of the primitives and a session between two
#      parties inside one process.
#   2. The real system: sottod (the server, on embedded SQLite) in a temporary
#      directory, and two people, alice and bob, each with their own profile,
#      using the sotto command-line client. Everything is deleted at the end.
# Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
bin=$build/bin
for p in sotto-demo sottod sotto; do
	[ -x "$bin/$p" ] || { echo "demo: $bin/$p is missing; run 'make build' first" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/sotto-demo-XXXXXX)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 1' INT TERM

bold=
plain=
if [ -t 1 ]; then
	bold=$'\033[1m'
	plain=$'\033[0m'
fi
n=0
title() {
	n=$((n + 1))
	printf '\n%s%d. %s%s\n' "$bold" "$n" "$*" "$plain"
}
say() {
	printf '   %s\n' "$@"
}
# run WHO ARGS...: shows the command, runs it on WHO's profile, indents its output.
run() {
	local who=$1
	shift
	printf '   %s$ sotto --profile %s' "$bold" "$who"
	local a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=+@-]+$ ]]; then
			printf ' %s' "$a"
		else
			printf " '%s'" "${a//\'/\'\\\'\'}"
		fi
	done
	printf '%s\n' "$plain"
	(cd "$tmp" && timeout 60 "$bin/sotto" --profile "$who" "$@") 2>&1 | sed 's/^/     /'
	local rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || die "that command failed (exit status $rc)"
}
die() {
	echo "demo: $*" >&2
	exit 1
}

printf '%sPart 1: the building blocks%s\n' "$bold" "$plain"
say "First a self-test: each primitive is checked against published answers," \
	"then two parties start an encrypted session inside one program."
echo
"$bin/sotto-demo" | sed 's/^/   /'

printf '\n%sPart 2: the real thing, a server and two people%s\n' "$bold" "$plain"
say "Everything below runs in $tmp and is deleted at the end."

title "Start the server"
"$bin/sottod" --data "$tmp/server" --listen 127.0.0.1:0 >"$tmp/sottod.out" 2>"$tmp/sottod.err" &
server_pid=$!
for _ in $(seq 100); do
	grep -q '^sealed-root ' "$tmp/sottod.out" 2>/dev/null && break
	kill -0 "$server_pid" 2>/dev/null || die "sottod did not start: $(cat "$tmp/sottod.err")"
	sleep 0.1
done
server=$(sed -n 's/^listen //p' "$tmp/sottod.out")
key=$(sed -n 's/^public-key //p' "$tmp/sottod.out")
root=$(sed -n 's/^sealed-root //p' "$tmp/sottod.out")
[ -n "$server" ] && [ -n "$key" ] && [ -n "$root" ] || die "sottod printed no address or key"
say "sottod listens on $server. It keeps its data in an SQLite file in" \
	"$tmp/server." \
	"It has a long-term public key: $key" \
	"Clients pin that key. A server that cannot prove it holds the matching" \
	"private key is refused, so nobody can pretend to be this server." \
	"It also prints a sealed sender trust root: $root" \
	"Clients pin it too. The server hands each device a short-lived" \
	"certificate under that root; messages carry it inside their encryption," \
	"so the recipient learns who wrote and the server does not."

title "Alice and Bob create their accounts"
say "Each person has a profile: a directory with an encrypted local database." \
	"Registering creates an identity key pair on the device. Only the public" \
	"half, and a stock of public one-time keys (\"prekeys\"), go to the server."
run alice register --server "$server" --server-key "$key" --sealed-root "$root" \
	--name alice --no-passphrase
run bob register --server "$server" --server-key "$key" --sealed-root "$root" \
	--name bob --no-passphrase
say "(--no-passphrase keeps the database key in a file next to it, for this" \
	"demo. Without it, the key is derived from a passphrase you type.)"

title "Alice writes to Bob"
say "Bob is not online. Alice's client fetches Bob's public prekeys from the" \
	"server and agrees a key with them (PQXDH: X25519 plus Kyber-1024, so a" \
	"future quantum computer does not help). Every message then gets a fresh" \
	"key from the ratchet, which mixes in ML-KEM-768 as the conversation goes" \
	"on. The server stores the ciphertext until Bob comes."
run alice send bob "Hi Bob! Lunch on Friday?"
say "The command ended once the server had confirmed it stored the message."
if command -v sqlite3 >/dev/null 2>&1; then
	rows=$(sqlite3 "file:$tmp/server/sotto.db?mode=ro" \
		"SELECT count(*), count(sender_account), count(sender_device) FROM envelopes;")
	say "The server's queue (count of rows, of rows naming a sender account, of" \
		"rows naming a sender device): $rows" \
		"The message is sealed: the server stored it for Bob's device without" \
		"recording who sent it."
	case "$rows" in
	*"|0|0") ;;
	*) die "the server stored a sender" ;;
	esac
fi

title "Bob comes online and receives"
say "Bob's client decrypts the message, stores it (encrypted again, under his" \
	"database key), and only then tells the server to delete its copy."
run bob receive
run bob send alice "Friday works. Noon at the usual place?"
run alice receive

title "Alice sends a file"
printf 'Directions: second street on the left, then the green door.\n' >"$tmp/directions.txt"
say "The file is encrypted with a new random key, in chunks, and uploaded as" \
	"an opaque blob. The key and a digest of the file travel inside an" \
	"encrypted message, so only Bob can fetch, check and open it."
run alice send-file bob directions.txt --caption "How to find us"
run bob receive
saved=$(ls "$tmp"/bob/attachments/*directions.txt 2>/dev/null | head -n 1)
[ -n "$saved" ] || die "bob's copy of the file is missing"
cmp -s "$tmp/directions.txt" "$saved" || die "bob's copy differs"
say "Bob's copy is identical to Alice's file. It is saved as an ordinary" \
	"file in his profile (bob/attachments/) so that he can open it."

title "Safety numbers"
say "Each side computes a number from both identity keys. If Alice and Bob" \
	"read the same number to each other (in person, or on a call), no one can" \
	"be in the middle. If a key ever changes, the number changes and the" \
	"client warns."
run alice verify bob
run bob verify alice
sa=$(cd "$tmp" && "$bin/sotto" --profile alice verify bob | grep -E '^    [0-9]' | tr -dc 0-9)
sb=$(cd "$tmp" && "$bin/sotto" --profile bob verify alice | grep -E '^    [0-9]' | tr -dc 0-9)
[ "$sa" = "$sb" ] || die "the safety numbers differ"
say "They match. Alice marks Bob as verified:"
run alice verify bob --mark-verified

title "What is on the disks"
history=$( (cd "$tmp" && "$bin/sotto" --profile bob history alice) )
printf '%s\n' "$history" | sed 's/^/     /'
say "That is Bob's history, decrypted for display. On disk it is sealed:"
for who in alice bob; do
	for f in store.db store.db-wal; do
		[ -f "$tmp/$who/$f" ] || continue
		hits=$(grep -c -a -F "Lunch on Friday" "$tmp/$who/$f" || true)
		say "$who/$f: $(stat -c %s "$tmp/$who/$f") bytes, \"Lunch on Friday\" found $hits times"
		[ "$hits" -eq 0 ] || die "plaintext found in $who/$f"
	done
done
hits=0
while IFS= read -r -d '' f; do
	c=$(grep -c -a -F -e "Lunch on Friday" -e "green door" "$f" || true)
	hits=$((hits + c))
done < <(find "$tmp/server" -type f -print0)
say "The server's files: the texts found $hits times."
[ "$hits" -eq 0 ] || die "plaintext found in the server's files"
say "The server does not store who sent a message, and does not pass it on:" \
	"the sender is named only inside the encryption. It still sees, at the" \
	"moment of sending, which device's connection (it must be logged in)" \
	"submitted a message for whom, when, and how big it is, so a curious" \
	"server could log that itself. It never sees what they say, nor the file."

title "Done"
say "Stopping the server and deleting $tmp."
say "Try it yourself: 'sotto --help' lists the commands (build/bin/sotto)."
