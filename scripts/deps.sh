#!/usr/bin/env bash
# Installs the Debian packages Sotto's build and tests need. As root it runs
# apt-get itself; otherwise it prints the exact command to run and fails.
# Usage: scripts/deps.sh [build|check]   (check adds the test tools)
set -euo pipefail
mode=${1:-build}

build_pkgs=(build-essential cmake pkg-config libssl-dev libsodium-dev libjansson-dev
	libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev libuv1-dev libqrencode-dev)
check_pkgs=(clang libclang-rt-14-dev valgrind nodejs npm)

pkgs=("${build_pkgs[@]}")
if [ "$mode" = check ]; then
	pkgs+=("${check_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
	# nodejs/npm may come from elsewhere than Debian; a working binary is enough.
	case "$p" in
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm) command -v npm >/dev/null 2>&1 && continue ;;
	esac
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "Sotto needs these Debian packages. Run as root:" >&2
	echo "  apt-get update && $cmd" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
$cmd
