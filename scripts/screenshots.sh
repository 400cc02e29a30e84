#!/usr/bin/env bash
# Screenshots of the main pages (queue, ticket, overview, KPIs, routing rule) at 1400 px and
# 390 px wide, into docs/screenshots/: the English walkthroughs of the browser tests take
# them on the way (real servers, the shared sample's tweets, headless Chromium).
# Run after scripts/bootstrap.sh (or the test command) has installed everything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DALLOSH_SCREENSHOTS="$ROOT/docs/screenshots"
exec .venv/bin/python -m pytest tests/dallosh/test_walkthrough.py -k "en]" -q -p no:cacheprovider
