#!/usr/bin/env bash
# The shared library exports only sotto_* names (hidden visibility plus
# SOTTO_EXPORT), so internal helpers and the statically used parts of the
# backends never become ABI by accident.
set -euo pipefail
lib="$SOTTO_BUILD/lib/libsotto.so"
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -vE '^(_init|_fini|_edata|_end|__bss_start)$' || true)
bad=$(echo "$syms" | grep -v '^sotto_' | grep -v '^$' || true)
count=$(echo "$syms" | grep -c '^sotto_' || true)
if [ -n "$bad" ]; then
	echo "FAIL: symbols exported without the sotto_ prefix:"
	echo "$bad"
	exit 1
fi
[ "$count" -gt 20 ] || { echo "FAIL: only $count exported symbols"; exit 1; }
echo "exports: $count sotto_* symbols, nothing else"
# A program can link against the installed library through pkg-config.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$SOTTO_BUILD" --prefix "$tmp/prefix" >/dev/null
cat > "$tmp/use.c" <<'C'
#include <sotto/sotto.h>
#include <stdio.h>
int main(void)
{
	unsigned char h[32];
	if (sotto_init() != 0 || sotto_sha256(h, (const unsigned char *)"abc", 3) != 0)
		return 1;
	printf("%02x%02x\n", h[0], h[1]);
	return h[0] == 0xba && h[1] == 0x78 ? 0 : 1;
}
C
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -1)
flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --define-variable=prefix="$tmp/prefix" --cflags --libs libsotto)
# shellcheck disable=SC2086
cc -o "$tmp/use" "$tmp/use.c" $flags
LD_LIBRARY_PATH="$(dirname "$libdir")" "$tmp/use"
echo "pkg-config: a program linked against the installed libsotto.so runs"
