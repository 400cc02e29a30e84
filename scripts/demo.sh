#!/usr/bin/env bash
# The main job on the embedded default: install everything, start SecantusDB, Redis and the
# support mailbox (Dovecot), ingest the shared sample CSVs (or the CSV paths given as
# arguments), fill the mailbox with demo e-mails, then serve the back-office at
# http://127.0.0.1:8000 with its django-q2 workers and the mailbox watcher (IMAP IDLE).
# Ctrl-C stops it all.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
PY="$ROOT/.venv/bin/python"
export DJANGO_SETTINGS_MODULE=config.settings
export DJANGO_DEBUG=1  # the embedded default asks for it; production leaves it off
# The demo's support mailbox, on loopback (config/embedded.py starts it; DALLOSH_MAILBOX_PORT=0: none).
if [ "${DALLOSH_MAILBOX_PORT:-9993}" != 0 ] && [ -z "${DALLOSH_IMAP_URL:-}" ]; then
  export DALLOSH_IMAP_URL="imaps://support:support@127.0.0.1:${DALLOSH_MAILBOX_PORT:-9993}/INBOX"
  export DALLOSH_IMAP_CAFILE="$ROOT/var/mailbox/cert.pem"
fi

"$PY" -m config.embedded start
WORKER_PID="" LABEL_PID="" REFINE_PID="" WEB_PID="" WATCH_PID=""
stop_groups() {  # SIGTERM to each process group (qcluster forks workers) at once, SIGKILL after 15 s
  local pid i alive
  for pid in "$@"; do
    if [ -n "$pid" ]; then kill -- -"$pid" 2>/dev/null || true; fi
  done
  for i in $(seq 150); do
    alive=""
    for pid in "$@"; do
      if [ -n "$pid" ] && kill -0 -- -"$pid" 2>/dev/null; then alive=1; fi
    done
    if [ -z "$alive" ]; then return 0; fi
    sleep 0.1
  done
  for pid in "$@"; do
    if [ -n "$pid" ]; then kill -9 -- -"$pid" 2>/dev/null || true; fi
  done
}
cleanup() {
  stop_groups "$WEB_PID" "$WORKER_PID" "$LABEL_PID" "$REFINE_PID" "$WATCH_PID"
  "$PY" -m config.embedded stop || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py collectstatic --noinput -v 0

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  for f in ../shared/data/twcs_sample.csv ../shared/data/free_tweets_fr.csv; do
    [ -f "$f" ] && files+=("$f")
  done
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "No CSV to ingest: ../shared/data is not here and no path was given (scripts/demo.sh FILE.csv ...)."
else
  "$PY" manage.py ingest "${files[@]}"
fi

"$PY" manage.py seed_demo
[ -n "${DALLOSH_IMAP_URL:-}" ] && { "$PY" manage.py seed_mailbox || echo "mailbox: not filled (see above)"; }
mkdir -p var/log
# Three worker clusters: housekeeping (ingest jobs, sweeper, SLA, alerts, re-routing), the
# fast tier (labels and routes every ticket in seconds) and the LLM refinement, so a long
# LLM backlog never delays the other two. Each logs what it does to var/log/qcluster-*.log.
setsid "$PY" manage.py qcluster >var/log/qcluster-housekeeping.log 2>&1 &
WORKER_PID=$!
Q_CLUSTER_NAME=label setsid "$PY" manage.py qcluster >var/log/qcluster-label.log 2>&1 &
LABEL_PID=$!
Q_CLUSTER_NAME=refine setsid "$PY" manage.py qcluster >var/log/qcluster-refine.log 2>&1 &
REFINE_PID=$!
if [ -n "${DALLOSH_IMAP_URL:-}" ]; then  # new mail read as it arrives (IMAP IDLE); the minute poll stays as the net
  setsid "$PY" manage.py poll_mailbox --watch >var/log/mailbox-watch.log 2>&1 &
  WATCH_PID=$!
fi
echo "Serving Dallosh at http://127.0.0.1:8000 (Ctrl-C to stop)"
setsid "$ROOT/.venv/bin/daphne" -b 127.0.0.1 -p 8000 config.asgi:application &
WEB_PID=$!
wait -n "$WORKER_PID" "$LABEL_PID" "$REFINE_PID" "$WEB_PID"
