#!/usr/bin/env bash
# Thin wrapper: scripts/network.sh up|down|status|logs|clean  ==  python -m network ...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=.venv/bin/python
[ -x "$py" ] || py=python3
exec "$py" -m network "$@"
