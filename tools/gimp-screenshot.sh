#!/usr/bin/env bash
# Remake docs/gimp-menu.png and docs/gimp-dialog.png: GIMP 3 under Xvfb in the root of
# tools/gimp-root.sh, the plug-in run interactively (its dialog), then Filters > Colorize opened.
#   tools/gimp-screenshot.sh WEIGHTS_DIR IMAGE [OUT_DIR=docs]      (as root; clicks at fixed positions)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WEIGHTS=$(realpath "$1"); IMAGE=$(realpath "$2"); OUT=$(realpath "${3:-$REPO/docs}")
bash "$REPO/tools/gimp-root.sh" >/dev/null
ROOTX=(bash "$REPO/tools/gimp-root.sh" exec)
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/src"
cp -r "$REPO/pyproject.toml" "$REPO/README.md" "$REPO/engine" "$REPO/installer" "$REPO/plugin" "$WORK/src/"
cp -r "$WEIGHTS" "$WORK/weights"; cp "$IMAGE" "$WORK/image.png"
cat > "$WORK/gui.py" <<'PY'
from gi.repository import Gimp, Gio
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path('/mnt/work/image.png'))
Gimp.Display.new(img)
proc = Gimp.get_pdb().lookup_procedure('plug-in-colorize-automatically')
cfg = proc.create_config()
cfg.set_property('run-mode', Gimp.RunMode.INTERACTIVE)
cfg.set_property('image', img)
cfg.set_core_object_array('drawables', [img.get_layers()[0]])
proc.run(cfg)
Gimp.displays_flush()
PY
cat > "$WORK/shot.sh" <<'SH'
set -u
command -v xdotool >/dev/null || { apt-get update -qq && apt-get install -y -qq xdotool >/dev/null; }
/opt/colorize-venv/bin/pip install -q --no-deps --no-build-isolation --force-reinstall /mnt/work/src
GIMP3_DIRECTORY=/mnt/work/gimp3 /opt/colorize-venv/bin/colorize-install-gimp --gimp 3 --weights /mnt/work/weights >/dev/null
grab() { /opt/colorize-venv/bin/python -c "from PIL import ImageGrab; ImageGrab.grab(xdisplay=':99').crop($2).save('/mnt/work/$1.png', optimize=True)"; }
Xvfb :99 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & XV=$!
export DISPLAY=:99 HOME=/mnt/work/home GIMP3_DIRECTORY=/mnt/work/gimp3
mkdir -p $HOME; sleep 2
gimp-3.0 --no-splash --batch-interpreter=python-fu-eval -b "exec(open('/mnt/work/gui.py').read())" >/mnt/work/gimp.log 2>&1 & G=$!
sleep 25; grab gimp-dialog "(0, 0, 445, 160)"
xdotool mousemove 376 120 click 1; sleep 12                        # OK
xdotool mousemove 420 12; sleep 1; xdotool click 1; sleep 3        # Filters
xdotool mousemove 455 490; sleep 1; xdotool click 1; sleep 3       # Colorize
grab gimp-menu "(0, 0, 860, 610)"
kill $G; sleep 3; kill -9 $G 2>/dev/null; kill $XV
SH
"${ROOTX[@]}" --bind "$WORK:/mnt/work" -- bash /mnt/work/shot.sh
cp "$WORK/gimp-dialog.png" "$WORK/gimp-menu.png" "$OUT/"
echo "wrote $OUT/gimp-dialog.png $OUT/gimp-menu.png"
