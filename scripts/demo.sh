#!/usr/bin/env bash
# make demo: shows what Sotto does so far. Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
exec "$build/bin/sotto-demo"
