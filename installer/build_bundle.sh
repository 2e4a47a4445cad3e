#!/usr/bin/env bash
# Build the desktop bundle dist/colorize/ (colorize-app + colorize, onnxruntime, no torch) with
# PyInstaller, then smoke-test it: `colorize` on an image (the result must have colour) and
# `colorize-app --selftest` (offscreen Qt).
#   installer/build_bundle.sh [--weights DIR]
# --weights: the model for the smoke test (default: the shipped engine/weights, which are bundled).
# Builds in a fresh venv, build/bundle-venv, so that torch cannot leak in.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
WEIGHTS=()
if [ "${1:-}" = --weights ]; then WEIGHTS=(--weights "$(realpath "$2")"); fi
VENV=build/bundle-venv
DIST=dist/colorize

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "pyinstaller>=6" ".[app]"
if "$VENV/bin/python" -c 'import torch' 2>/dev/null; then echo "build_bundle: torch is in $VENV" >&2; exit 1; fi

start=$(date +%s)
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    installer/colorize.spec
echo "build_bundle: built $DIST in $(( $(date +%s) - start )) s"
sed "s|^Exec=.*|Exec=\"$REPO/$DIST/colorize-app\" %F|; s|^TryExec=.*|TryExec=$REPO/$DIST/colorize-app|" \
    installer/colorize.desktop > "$DIST/colorize.desktop"

# ---- smoke test
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
if find "$DIST" -iname '*torch*' | grep -q .; then echo "build_bundle: torch found in the bundle" >&2; exit 1; fi
"$VENV/bin/python" - "$TMP/grey.jpg" <<'PY'
import sys, numpy as np
from PIL import Image
y, x = np.mgrid[0:180, 0:240]
a = (100 + 80 * np.sin(x / 9.0) * np.cos(y / 13.0) + 40 * (x > 120)).clip(0, 255).astype(np.uint8)
Image.fromarray(a).save(sys.argv[1], quality=95)
PY
"$DIST/colorize" --version
"$DIST/colorize" "$TMP/grey.jpg" -o "$TMP/out.png" --backend onnx "${WEIGHTS[@]}"
"$VENV/bin/python" - "$TMP/out.png" <<'PY'
import sys, numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(float)
chroma = np.abs(a - a.mean(axis=2, keepdims=True)).mean()
print(f"build_bundle: colorize OK, {a.shape[1]}x{a.shape[0]}, mean chroma {chroma:.2f}")
sys.exit(0 if chroma > 0.5 else "build_bundle: the bundled colorize produced no colour")
PY
QT_QPA_PLATFORM=offscreen "$DIST/colorize-app" --selftest "$TMP/grey.jpg" "$TMP/selftest.png" "${WEIGHTS[@]}"
[ -s "$TMP/selftest.png" ] || { echo "build_bundle: colorize-app --selftest wrote nothing" >&2; exit 1; }
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$DIST/colorize.desktop"; fi
echo "build_bundle: smoke test passed; $DIST is $(du -sh "$DIST" | cut -f1)"
