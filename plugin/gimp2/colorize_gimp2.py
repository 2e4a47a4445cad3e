#!/usr/bin/env python2
# -*- coding: utf-8 -*-
# colorize-gimp-plugin: GIMP 2.10 Python-Fu wrapper of the colorize project (installed by
# colorize-install-gimp). Python 2; same behaviour as the GIMP 3 plug-in (plugin/gimp/), kept thin.
# UNTESTED: GIMP 2.10 with Python-Fu could not be run where this was written.
"""Filters > Colorize > Colorize automatically... for GIMP 2.10: export the layer, run the engine's
`colorize` command (recorded in colorize_gimp2.json next to this file), add a layer "Colorized"."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from gimpfu import ADD_SELECTION_MASK, PF_SLIDER, RGB, gimp, main, pdb, register

CONFIG = os.path.splitext(os.path.abspath(__file__))[0] + ".json"


class PluginError(Exception):
    pass


def run_engine(src, dst, temperature):
    try:
        with open(CONFIG) as f:
            cfg = json.load(f)
        command = [str(a) if isinstance(a, str) else a.encode("utf-8") for a in cfg["command"]]
    except (IOError, OSError, ValueError, KeyError) as e:
        raise PluginError("the plug-in settings %s are missing or broken (%s): "
                          "run colorize-install-gimp again" % (CONFIG, e))
    args = command + [src, "-o", dst, "--json"]
    if temperature > 0:
        args += ["--temperature", "%.3f" % temperature]
    if cfg.get("weights"):
        args += ["--weights", cfg["weights"].encode("utf-8")]
    env = dict((k, v) for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH"))
    outfile, errfile = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=outfile, stderr=errfile, env=env,
                                creationflags=0x08000000 if os.name == "nt" else 0)   # no console window
        proc.stdin.close()
    except OSError as e:
        raise PluginError("cannot run the colorize engine %r: %s. Is it still installed? "
                          "Run colorize-install-gimp again." % (command[0], e.strerror or e))
    deadline = time.time() + float(cfg.get("timeout") or 600)
    while proc.poll() is None:
        if time.time() > deadline:
            proc.kill()
            proc.wait()
            raise PluginError("the colorize engine did not finish within %d s" % int(cfg.get("timeout") or 600))
        pdb.gimp_progress_pulse()
        time.sleep(0.1)
    if proc.returncode != 0 or not os.path.isfile(dst):
        # the engine's own one-line reason (--json); stderr only if it never got that far
        outfile.seek(0)
        errfile.seek(0)
        failed = [r for r in map(json_line, outfile.read().decode("utf-8", "replace").splitlines())
                  if r and r.get("status") == "failed"]
        lines = [ln for ln in errfile.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        detail = failed[-1].get("message") if failed else (lines[-1] if lines else proc.returncode)
        raise PluginError("the colorize engine failed: %s" % detail)


def json_line(line):
    """One object of the engine's --json output, or None for anything else."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def colorize(image, drawable, temperature):
    workdir = tempfile.mkdtemp(prefix="gimp-colorize-")
    try:
        src, dst = os.path.join(workdir, "in.png"), os.path.join(workdir, "out.png")
        pdb.gimp_progress_init("Colorizing...", None)
        scratch = pdb.gimp_image_new(drawable.width, drawable.height, image.base_type)
        try:
            copy = pdb.gimp_layer_new_from_drawable(drawable, scratch)
            pdb.gimp_image_insert_layer(scratch, copy, None, 0)
            pdb.gimp_layer_set_offsets(copy, 0, 0)
            pdb.file_png_save_defaults(scratch, copy, src, src)
        finally:
            pdb.gimp_image_delete(scratch)
        run_engine(src, dst, temperature)
        result = pdb.gimp_file_load(dst, dst)
        try:
            pdb.gimp_image_undo_group_start(image)
            try:
                if image.base_type != RGB:
                    pdb.gimp_image_convert_rgb(image)        # a greyscale image cannot hold colour
                layer = pdb.gimp_layer_new_from_drawable(result.layers[0], image)
                layer.name = "Colorized"
                pdb.gimp_image_insert_layer(image, layer, pdb.gimp_item_get_parent(drawable),
                                            pdb.gimp_image_get_item_position(image, drawable))
                layer.set_offsets(*drawable.offsets)
                if not pdb.gimp_selection_is_empty(image):
                    layer.add_mask(layer.create_mask(ADD_SELECTION_MASK))
            finally:
                pdb.gimp_image_undo_group_end(image)
        finally:
            pdb.gimp_image_delete(result)
        gimp.displays_flush()
    except PluginError as e:
        gimp.message("Colorize: %s" % e)         # one message; the image is unchanged
    finally:
        pdb.gimp_progress_end()
        shutil.rmtree(workdir, ignore_errors=True)


register(
    "python-fu-colorize-automatically",
    "Colorize a black-and-white photo automatically",
    "Adds a layer 'Colorized' above the active layer with colours predicted by the colorize engine; "
    "the original is kept. Temperature: lower is more vivid, 1 is muted, 0 uses the model's default.",
    "colorize project", "colorize project, MIT licence", "2025",
    "Colorize _automatically...",
    "RGB*, GRAY*",
    [(PF_SLIDER, "temperature", "Temperature (lower = more vivid, 0 = model default)", 0.0, (0.0, 1.0, 0.05))],
    [],
    colorize,
    menu="<Image>/Filters/Colorize")

main()
