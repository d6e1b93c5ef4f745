#!/usr/bin/env bash
# The demo on a fresh machine in one command: install what it needs, build, and run test/demo.ts on throwaway pools.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh
npm run build >/dev/null
exec node --import tsx test/demo.ts
