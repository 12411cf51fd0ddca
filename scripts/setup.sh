#!/usr/bin/env bash
# Idempotent set-up: a project venv with exactly the versions in requirements.txt (the lock that
# scripts/lock.sh generates from pyproject.toml) and sda2 installed editable with its test, browser and
# notebook extras. `scripts/setup.sh --browser` also installs Debian's Chromium for the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
pip=(.venv/bin/pip --quiet --disable-pip-version-check)
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the locked requirements.txt (a few minutes on a fresh machine)"
  "${pip[@]}" install -r requirements.txt
  # The lock already holds every dependency of every extra; -c keeps pip from taking anything else.
  "${pip[@]}" install --no-build-isolation -c requirements.txt -e ".[test,browser,notebooks]"
  echo "$want" > "$stamp"
fi
mongod=$(echo .venv/lib/python3*/site-packages/fiftyone/db/bin/mongod)
"$mongod" --version >/dev/null 2>&1 || {
  echo "setup: no working mongod at $mongod; fix: rm -rf .venv && scripts/setup.sh (see ../shared/SETUP.md)" >&2
  exit 1; }
# Debian packages: a Korean/CJK font (thumbnail badges, plots and the quality report show class names in any
# language; DejaVu has no Hangul) always, and Chromium for the end-to-end tests with --browser.
debs=()
[ -e /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || debs+=(fonts-nanum fontconfig)
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then debs+=(chromium chromium-driver); fi
if [ ${#debs[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${debs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >/dev/null
fi
# UMAP's numba code compiled once per machine into .sda2/numba (a fresh process then loads it in about a second
# instead of compiling for a minute before its first map).
.venv/bin/python -c "from sda2.compute.projection import warm_up; print(f'setup: UMAP compiled and cached in {warm_up():.1f} s')" 2>/dev/null || echo "setup: UMAP warm-up skipped"
