#!/usr/bin/env python3
# colorize-gimp-plugin: GIMP 3 plug-in of the colorize project (installed by colorize-install-gimp).
"""Filters > Colorize > Colorize automatically...

Exports the active layer to a temporary PNG, runs the engine's `colorize` command on it (the command
recorded at install time in colorize_gimp.json next to this file), and adds the result as a new
layer "Colorized" above the original, masked to the selection if there is one.  If the image has a
layer named "Colour hints" (or "Color hints", any case), its colour dabs on transparency are
exported too, aligned with the active layer, and passed to the engine as local colour hints
(--hints; only weights fine-tuned with hints take them).  The original layer and the hint layer
are never touched; on any failure the image is left as it was and GIMP shows one message.  Needs
only GIMP's own Python (no numpy, no torch): the network runs in the engine's process.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402
from gi.repository import Gio, GLib, GObject  # noqa: E402

PROC = "plug-in-colorize-automatically"
CONFIG = os.path.splitext(os.path.abspath(__file__))[0] + ".json"
LAYER_NAME = "Colorized"
HINT_LAYER_NAMES = ("colour hints", "color hints")   # compared case-insensitively, spaces squeezed


class PluginError(Exception):
    pass


def load_config():
    try:
        with open(CONFIG, encoding="utf-8") as f:
            cfg = json.load(f)
        command = cfg["command"]
        if not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
            raise ValueError("'command' is not a list of strings")
    except FileNotFoundError:
        raise PluginError(f"the plug-in is not set up ({CONFIG} is missing): "
                          "run colorize-install-gimp again") from None
    except (OSError, ValueError, KeyError) as e:
        raise PluginError(f"the plug-in settings {CONFIG} are broken ({e}): "
                          "run colorize-install-gimp again") from None
    return command, cfg.get("weights"), float(cfg.get("timeout") or 600)


def engine_env():
    """GIMP's environment minus anything that would make another Python load GIMP's modules."""
    env = dict(os.environ)
    for var in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__"):
        env.pop(var, None)
    return env


def run_engine(src, dst, temperature, hints=None, hint_name=None):
    command, weights, timeout = load_config()
    args = list(command) + [src, "-o", dst, "--json"]
    if temperature > 0:
        args += ["--temperature", "%.3f" % temperature]
    if hints:
        args += ["--hints", hints]
    if weights:
        args += ["--weights", weights]
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)          # no console window on Windows
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=engine_env(), creationflags=flags)
    except OSError as e:
        raise PluginError(f"cannot run the colorize engine {command[0]!r}: {e.strerror or e}. "
                          "Is it still installed? Run colorize-install-gimp again.") from None
    start = time.monotonic()
    try:
        while proc.poll() is None:                # keep GIMP's progress bar alive meanwhile
            if time.monotonic() - start > timeout:
                proc.kill()
                proc.wait()
                raise PluginError(f"the colorize engine did not finish within {timeout:.0f} s")
            Gimp.progress_pulse()
            time.sleep(0.1)
        out = proc.stdout.read().decode("utf-8", "replace")
        err = proc.stderr.read().decode("utf-8", "replace").strip()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if proc.returncode != 0 or not os.path.isfile(dst):
        # the engine's own result (--json): its code and one-line reason; stderr only if it never got that far
        failed = [r for r in map(json_line, out.splitlines()) if r and r.get("status") == "failed"]
        code = failed[-1].get("code") if failed else None
        detail = failed[-1].get("message") if failed else \
            ((err.splitlines() or ["exit status %d" % proc.returncode])[-1])
        if hints and code == "hints" and "take no colour hints" in detail:
            detail += (f". The image has a colour hint layer {hint_name!r}: install weights fine-tuned "
                       "with hints (colorize-install-gimp --weights DIR), or rename or delete that layer "
                       "to colorize without hints")
        raise PluginError(f"the colorize engine failed: {detail}")


def json_line(line):
    """One object of the engine's --json output, or None for anything else."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def export_drawable(drawable, path):
    """Save the drawable's pixels alone (its own size, no offsets) as a PNG, via a scratch image."""
    image = drawable.get_image()
    w, h = drawable.get_width(), drawable.get_height()
    scratch = Gimp.Image.new_with_precision(w, h, image.get_base_type(), image.get_precision())
    try:
        layer = Gimp.Layer.new_from_drawable(drawable, scratch)
        scratch.insert_layer(layer, None, 0)
        layer.set_offsets(0, 0)
        if not Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, scratch, Gio.File.new_for_path(path), None):
            raise PluginError("GIMP could not export the layer to a temporary PNG")
    finally:
        scratch.delete()


def all_layers(layers):
    """The layers top to bottom, the layers inside groups after their group."""
    for layer in layers:
        yield layer
        if layer.is_group():
            yield from all_layers(layer.get_children())


def find_hint_layer(image):
    """The topmost (non-group) layer named "Colour hints" or "Color hints", any case; or None."""
    for layer in all_layers(image.get_layers()):
        if not layer.is_group() and " ".join(layer.get_name().split()).casefold() in HINT_LAYER_NAMES:
            return layer
    return None


def check_hint_layer(image, drawable, hint):
    """Refuse, before anything is done, a hint layer that cannot give hints for this drawable."""
    name = hint.get_name()
    if hint.get_id() == drawable.get_id():
        raise PluginError(f"the active layer is the colour hint layer {name!r}: select the photo's layer "
                          "to colorize it (the hints are read from this layer)")
    if image.get_base_type() != Gimp.ImageBaseType.RGB:
        raise PluginError(f"the image is greyscale, so its colour hint layer {name!r} cannot hold colours: "
                          "convert the image to RGB (Image > Mode > RGB), then paint the hints")
    if not hint.has_alpha():
        raise PluginError(f"the colour hint layer {name!r} has no transparency: the hints must be colour "
                          "dabs on a transparent layer (Layer > Transparency > Add Alpha Channel)")


def export_hints(hint, drawable, path):
    """Save the hint layer as an 8-bit RGBA PNG aligned with the exported drawable: the drawable's
    size, the hint layer's pixels at their place relative to the drawable, transparent elsewhere.
    Its visibility, opacity and mode do not matter (the layer itself is only read)."""
    scratch = Gimp.Image.new(drawable.get_width(), drawable.get_height(), Gimp.ImageBaseType.RGB)
    try:
        layer = Gimp.Layer.new_from_drawable(hint, scratch)
        scratch.insert_layer(layer, None, 0)
        (_, hx, hy), (_, dx, dy) = hint.get_offsets(), drawable.get_offsets()
        layer.set_offsets(hx - dx, hy - dy)
        layer.set_visible(True)
        layer.set_opacity(100.0)
        layer.set_mode(Gimp.LayerMode.NORMAL)
        layer.resize_to_image_size()            # cropped to the drawable, transparent where it had no pixels
        if not Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, scratch, Gio.File.new_for_path(path), None):
            raise PluginError("GIMP could not export the colour hint layer to a temporary PNG")
    finally:
        scratch.delete()


def colorize(image, drawable, temperature):
    hint = find_hint_layer(image)
    if hint is not None:
        check_hint_layer(image, drawable, hint)
    workdir = tempfile.mkdtemp(prefix="gimp-colorize-")
    try:
        src, dst = os.path.join(workdir, "in.png"), os.path.join(workdir, "out.png")
        hints = os.path.join(workdir, "hints.png") if hint is not None else None
        Gimp.progress_init("Colorizing\u2026")
        export_drawable(drawable, src)
        if hint is not None:
            export_hints(hint, drawable, hints)
        run_engine(src, dst, temperature, hints, hint.get_name() if hint is not None else None)
        result = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(dst))
        if result is None or not result.get_layers():
            raise PluginError("GIMP could not load the colorized image")
        try:
            # Everything that can fail is done: now change the image, as one undo step.
            image.undo_group_start()
            try:
                if image.get_base_type() != Gimp.ImageBaseType.RGB:
                    image.convert_rgb()                   # a greyscale image cannot hold colour
                layer = Gimp.Layer.new_from_drawable(result.get_layers()[0], image)
                layer.set_name(LAYER_NAME)
                image.insert_layer(layer, drawable.get_parent(), image.get_item_position(drawable))
                layer.set_offsets(*drawable.get_offsets()[1:])
                if not Gimp.Selection.is_empty(image):
                    layer.add_mask(layer.create_mask(Gimp.AddMaskType.SELECTION))
            finally:
                image.undo_group_end()
        finally:
            result.delete()
        Gimp.progress_end()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class ColorizePlugIn(Gimp.PlugIn):
    def do_query_procedures(self):
        return [PROC]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label("Colorize _automatically\u2026")
        procedure.add_menu_path("<Image>/Filters/Colorize")
        procedure.set_documentation(
            "Colorize a black-and-white photo automatically",
            "Adds a layer 'Colorized' above the active layer with colours predicted by a small neural "
            "network (the colorize engine); the original layer is kept. With a selection, the new layer "
            "is masked to it. Temperature: lower is more vivid, 1 is muted, 0 uses the model's default. "
            "Colour dabs on a transparent layer named 'Colour hints' are local colour hints (weights "
            "fine-tuned with hints only).",
            name)
        procedure.set_attribution("colorize project", "colorize project, MIT licence", "2025")
        procedure.add_double_argument(
            "temperature", "_Temperature (0 = default)",
            "Vividness of the colours: lower is more vivid, 1 is muted; 0 uses the model's default",
            0.0, 1.0, 0.0, GObject.ParamFlags.READWRITE)
        return procedure

    def run(self, procedure, run_mode, image, drawables, config, data):
        if len(drawables) != 1 or not isinstance(drawables[0], Gimp.Layer):
            return self.fail(procedure, "Colorize works on one layer: select exactly one layer.")
        if run_mode == Gimp.RunMode.INTERACTIVE:
            gi.require_version("GimpUi", "3.0")
            from gi.repository import GimpUi
            GimpUi.init(PROC)
            dialog = GimpUi.ProcedureDialog.new(procedure, config, "Colorize automatically")
            scale = dialog.get_scale_entry("temperature", 1.0)    # a slider rather than a spin button
            scale.set_size_request(420, -1)
            dialog.fill(["temperature"])
            ok = dialog.run()
            dialog.destroy()
            if not ok:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        try:
            colorize(image, drawables[0], config.get_property("temperature"))
        except PluginError as e:
            return self.fail(procedure, f"Colorize: {e}")
        except Exception as e:  # noqa: BLE001 -- any surprise becomes one message, not a traceback
            return self.fail(procedure, f"Colorize: unexpected error: {type(e).__name__}: {e}")
        Gimp.displays_flush()
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())

    @staticmethod
    def fail(procedure, message):
        Gimp.progress_end()
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))


if __name__ == "__main__":
    Gimp.main(ColorizePlugIn.__gtype__, sys.argv)
