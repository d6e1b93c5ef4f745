#!/usr/bin/env bash
# The whole test suite on a fresh machine in one command: install what it needs, then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh
exec bash test/run-all.sh "$@"
