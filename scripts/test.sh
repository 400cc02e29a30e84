#!/usr/bin/env bash
# Install everything and run the test suite (lint first). .ci/run calls exactly this.
# The tests start their own SecantusDB and Redis servers on free loopback ports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
