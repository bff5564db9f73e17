#!/bin/sh
# Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE.
# usage: check_binaries.sh NM SOTTOD LIBSOTTO_SERVER SOTTOD_EVIL BUILD_DIR
# Fails if the malicious operator's code (symbols sotto__evil_*, the marker
# string, kt_evil objects) is in sottod or libsotto_server.a; and fails if it
# is NOT in sottod-evil, so the search itself is known to work. Also fails
# if an install rule names sottod-evil (while one names sottod).
set -u
nm=$1 good=$2 lib=$3 evil=$4 build=$5
marker='SOTTO-KT-EVIL'
fail=0
for f in "$good" "$lib" "$evil"; do
	[ -f "$f" ] || { echo "FAIL: $f missing"; exit 1; }
done
"$nm" "$evil" | grep -q 'sotto__evil_' || { echo "FAIL: no sotto__evil_ symbol in $evil"; fail=1; }
grep -q -a -F "$marker" "$evil" || { echo "FAIL: marker not in $evil"; fail=1; }
if "$nm" "$good" | grep 'sotto__evil_'; then echo "FAIL: evil symbols in $good"; fail=1; fi
if grep -q -a -F "$marker" "$good"; then echo "FAIL: evil marker in $good"; fail=1; fi
if "$nm" -A "$lib" 2>/dev/null | grep -E 'sotto__evil_|kt_evil'; then
	echo "FAIL: evil code in $lib"; fail=1
fi
if grep -q -a -F "$marker" "$lib"; then echo "FAIL: evil marker in $lib"; fail=1; fi
if grep -r -l --include=cmake_install.cmake 'sottod-evil' "$build"; then
	echo "FAIL: an install rule for sottod-evil"; fail=1
fi
grep -r -q --include=cmake_install.cmake 'bin/sottod"' "$build" ||
	{ echo "FAIL: no install rule for sottod found in $build (check broken?)"; fail=1; }
[ $fail -eq 0 ] && echo "sottod and libsotto_server.a: no evil code; sottod-evil: has it"
exit $fail
