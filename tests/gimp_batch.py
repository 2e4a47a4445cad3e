"""Runs INSIDE GIMP 3 (gimp-console-3.0 --batch-interpreter=python-fu-eval), driven by tests/test_gimp.py.

Reads scenarios from $WORK/scenarios.json; for each: load the image, optionally add layers (a
smaller offset copy, a colour hint layer loaded from a PNG) and a selection, call the plug-in
through the PDB non-interactively, then record the status, the error, the layer stack, and every
layer's pixels (before and after) as PNGs in $WORK/out/.  Writes
$WORK/results.json.  With "strict", a failed call raises, so gimp-console itself exits non-zero.
Only GIMP's own Python here: no numpy."""
import json
import os

from gi.repository import Gimp, Gio

WORK = "/mnt/work"
PROC = "plug-in-colorize-automatically"


def export_layer(layer, path):
    image = layer.get_image()
    scratch = Gimp.Image.new(layer.get_width(), layer.get_height(), image.get_base_type())
    copy = Gimp.Layer.new_from_drawable(layer, scratch)
    scratch.insert_layer(copy, None, 0)
    copy.set_offsets(0, 0)
    ok = Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, scratch, Gio.File.new_for_path(path), None)
    scratch.delete()
    assert ok, "export failed: " + path


def stack(image, tag, name):
    out = []
    for i, layer in enumerate(image.get_layers()):
        png = "%s/out/%s-%s-%d.png" % (WORK, name, tag, i)
        export_layer(layer, png)
        out.append({"name": layer.get_name(), "png": os.path.basename(png), "offsets": list(layer.get_offsets()[1:]),
                    "size": [layer.get_width(), layer.get_height()], "mask": layer.get_mask() is not None,
                    "visible": layer.get_visible(), "alpha": layer.has_alpha()})
    return out


def scenario(sc):
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(WORK + "/" + sc["image"]))
    base = image.get_layers()[0]
    if sc.get("small_layer"):               # a smaller, offset copy on top: [Small, Background]
        small = Gimp.Layer.new_from_drawable(base, image)
        small.set_name("Small")
        image.insert_layer(small, None, 0)
        small.resize(50, 40, -10, -5)
        small.set_offsets(30, 20)
    hint = sc.get("hint_layer")
    if hint:                                # on top: {"png", "name", "offsets", "visible"}
        png = Gio.File.new_for_path(WORK + "/" + hint["png"])
        layer = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image, png)
        image.insert_layer(layer, None, 0)
        layer.set_name(hint["name"])
        layer.set_offsets(*hint.get("offsets", [0, 0]))
        layer.set_visible(hint.get("visible", True))
    if sc.get("select"):
        image.select_rectangle(Gimp.ChannelOps.REPLACE, *sc["select"])
    target = image.get_layers()[sc.get("layer", 0)]
    res = {"base_type_before": int(image.get_base_type()), "before": stack(image, "before", sc["name"])}

    proc = Gimp.get_pdb().lookup_procedure(PROC)
    assert proc is not None, "the plug-in is not registered"
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [target])
    config.set_property("temperature", sc.get("temperature", 0.0))
    values = proc.run(config)
    status = values.index(0)
    res.update(status=status.value_nick, error=Gimp.get_pdb().get_last_error(),
               base_type_after=int(image.get_base_type()), after=stack(image, "after", sc["name"]),
               leftovers=sorted(f for f in os.listdir("/tmp") if f.startswith("gimp-colorize-")))
    image.delete()
    return res


def main():
    with open(WORK + "/scenarios.json") as f:
        spec = json.load(f)
    os.makedirs(WORK + "/out", exist_ok=True)
    results = {}
    for sc in spec["scenarios"]:
        results[sc["name"]] = scenario(sc)
    with open(WORK + "/results.json", "w") as f:
        json.dump(results, f, indent=1)
    failed = [n for n, r in results.items() if r["status"] != "success"]
    if spec.get("strict") and failed:
        raise RuntimeError("plug-in failed in %s: %s" % (failed, results[failed[0]]["error"]))


main()
