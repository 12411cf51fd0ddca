#!/usr/bin/env bash
# Regenerates requirements.txt, the lock, from pyproject.toml and all its extras with pip-tools' pip-compile.
# Pins already in requirements.txt are kept while they still satisfy pyproject.toml; to move them pass
# `--upgrade` or `--upgrade-package NAME`. It resolves through pip's own configuration (whose find-links
# hold the CPU torch wheel, pinned as torch==2.13.0+cpu), so run it on one of the project's machines.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet --disable-pip-version-check "pip-tools==7.6.2"
CUSTOM_COMPILE_COMMAND="scripts/lock.sh" "$tools/bin/pip-compile" --quiet --all-extras --allow-unsafe \
  --strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements.txt "$@" pyproject.toml
