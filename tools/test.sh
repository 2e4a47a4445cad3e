#!/usr/bin/env bash
# Set up .venv from scratch (CPU torch for the tests) and run every test. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
# System libraries: PyQt5 (offscreen and the real X11 "xcb" platform, which the app's test runs under
# Xvfb) and fonts. Installed only when missing, as root on Debian/Ubuntu.
PKGS="libgl1 libglib2.0-0 libfontconfig1 fonts-dejavu-core xvfb libxcb1 libx11-6 libx11-xcb1 libxext6 \
libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 \
libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! dpkg -s $PKGS >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS
fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0          # CPU wheel; a bare "torch" would pull a CUDA build
.venv/bin/pip install -q -e ".[dev]"
.venv/bin/python -m pytest "$@"
