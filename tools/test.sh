#!/usr/bin/env bash
# Set up .venv from scratch (CPU torch for the tests) and run every test. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
# System libraries PyQt5 needs to run the app's tests offscreen (installed only when missing, as root on Debian)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! dpkg -s libgl1 libglib2.0-0 libfontconfig1 fonts-dejavu-core >/dev/null 2>&1; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libgl1 libglib2.0-0 libfontconfig1 fonts-dejavu-core; fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0          # CPU wheel; a bare "torch" would pull a CUDA build
.venv/bin/pip install -q -e ".[dev]"
.venv/bin/python -m pytest "$@"
