#!/usr/bin/env bash
# Thin alias: scripts/network.sh <verb> ...  ==  mledger network <verb> ...  (up|down|status|logs|profile|...)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -x .venv/bin/mledger ]; then
  exec .venv/bin/mledger network "$@"
fi
exec python3 -m network "$@"
