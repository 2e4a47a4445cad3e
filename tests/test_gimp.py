"""The GIMP 3 plug-in in a real GIMP 3.0: a Debian trixie root (tools/gimp-root.sh, cached in
/var/cache/colorize-gimp-root) with the engine installed from this checkout on onnxruntime (no
torch), the plug-in installed by colorize-install-gimp, and gimp-console-3.0 driving it in batch
mode (tests/gimp_batch.py).  Needs Linux and root; in CI (CI=true) it fails instead of skipping."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
ROOT_SCRIPT = REPO / "tools" / "gimp-root.sh"
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
ENGINE_IN_ROOT = "/opt/colorize-venv/bin/colorize"
DAB = 10
# hint PNG name -> its size (h, w), the dab's top-left corner (y, x) in it, the dab's colour
HINT_PNGS = {"hints-full": ((90, 120), (30, 15), (230, 20, 20)),      # the photo's size, a red dab
             "hints-small": ((30, 40), (8, 6), (20, 40, 230))}      # smaller, to be put at an offset


def unavailable(reason):
    if IN_CI:
        pytest.fail(f"the real-GIMP test must run in CI but cannot: {reason}", pytrace=False)
    pytest.skip(reason)


class GimpRoot:
    def __init__(self, work: Path):
        self.work = work

    def exec(self, *cmd, timeout=300, check=True, env=()):
        full = ["bash", str(ROOT_SCRIPT), "exec", "--bind", f"{self.work}:/mnt/work", "--",
                "env", "GIMP3_DIRECTORY=/mnt/work/gimp3", *env, *cmd]
        r = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    def install(self, *args):
        return self.exec("/opt/colorize-venv/bin/colorize-install-gimp", "--gimp", "3", *args)

    def manifest(self):
        return json.loads((self.work / "gimp3/plug-ins/colorize_gimp/colorize_gimp.json").read_text())

    def run_gimp(self, scenarios, strict=False):
        (self.work / "scenarios.json").write_text(json.dumps({"scenarios": scenarios, "strict": strict}))
        (self.work / "results.json").unlink(missing_ok=True)
        shutil.rmtree(self.work / "out", ignore_errors=True)
        r = self.exec("gimp-console-3.0", "-i", "--batch-interpreter=python-fu-eval",
                      "-b", "exec(open('/mnt/work/gimp_batch.py').read())", "--quit", check=False)
        results = json.loads((self.work / "results.json").read_text()) if (self.work / "results.json").exists() else None
        return r, results

    def pixels(self, png, mode="RGB"):
        return np.asarray(Image.open(self.work / "out" / png).convert(mode)).astype(np.int16)


@pytest.fixture(scope="session")
def gimp(weights_dir, tmp_path_factory):
    if not sys.platform.startswith("linux"):
        unavailable("the GIMP 3 test runs GIMP in a Debian root: Linux only")
    if os.geteuid() != 0:
        unavailable("the GIMP 3 test needs root (mmdebstrap, chroot); run the tests as root, as CI does")
    if not shutil.which("unshare") or not shutil.which("chroot"):
        unavailable("unshare/chroot (util-linux, coreutils) are missing")
    r = subprocess.run(["bash", str(ROOT_SCRIPT)], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        unavailable(f"tools/gimp-root.sh could not build the GIMP 3 root:\n{r.stderr[-4000:]}")

    work = tmp_path_factory.mktemp("gimp")
    src = work / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for name in ("engine", "installer", "plugin"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    shutil.copytree(weights_dir, work / "weights")
    shutil.copy(REPO / "tests" / "gimp_batch.py", work / "gimp_batch.py")
    y, x = np.mgrid[0:90, 0:120]
    grey = (100 + 80 * np.sin(x / 9.0) * np.cos(y / 13.0) + 40 * (x > 60)).clip(0, 255).astype(np.uint8)
    Image.fromarray(grey).save(work / "grey.png")
    Image.fromarray(grey).convert("RGB").save(work / "rgb.png")
    for name, ((h, w), (top, left), rgb) in HINT_PNGS.items():   # colour hint layers: a dab on transparency
        dabs = np.zeros((h, w, 4), np.uint8)
        dabs[top:top + DAB, left:left + DAB] = (*rgb, 255)
        Image.fromarray(dabs).save(work / f"{name}.png")
    Image.new("RGB", (120, 90), "white").save(work / "hints-opaque.png")   # a hint layer without alpha

    g = GimpRoot(work)
    # the engine from this checkout, on onnxruntime only (the root's venv has no torch)
    g.exec("/opt/colorize-venv/bin/pip", "install", "-q", "--no-deps", "--no-build-isolation",
           "--force-reinstall", "/mnt/work/src", timeout=600)
    return g


def test_gimp_python_has_no_numpy_and_the_engine_no_torch(gimp):
    r = gimp.exec("python3", "-c", "import numpy", check=False)
    assert r.returncode != 0 and "numpy" in r.stderr
    r = gimp.exec("/opt/colorize-venv/bin/python", "-c", "import torch", check=False)
    assert r.returncode != 0
    assert "Image Manipulation Program version 3." in gimp.exec("gimp-console-3.0", "--version").stdout


def test_plugin_colorizes_in_real_gimp3(gimp):
    r = gimp.install("--weights", "/mnt/work/weights")
    assert "installed in /mnt/work/gimp3/plug-ins/colorize_gimp" in r.stdout
    assert gimp.manifest()["command"] == [ENGINE_IN_ROOT]          # "this Python's colorize" by default
    plugin = gimp.work / "gimp3/plug-ins/colorize_gimp/colorize_gimp.py"
    assert os.access(plugin, os.X_OK)

    r, res = gimp.run_gimp([
        {"name": "rgb", "image": "rgb.png", "temperature": 0.3},
        {"name": "grey_selection", "image": "grey.png", "select": [10, 10, 40, 30]},
        {"name": "offset_layer", "image": "rgb.png", "small_layer": True, "layer": 0},
        # a colour hint layer, but these weights take no hints: the engine's refusal, made clear
        {"name": "hints_need_hint_weights", "image": "rgb.png", "layer": 1,
         "hint_layer": {"png": "hints-full.png", "name": "Colour hints"}},
    ])
    assert r.returncode == 0, r.stderr[-3000:]
    src = np.asarray(Image.open(gimp.work / "rgb.png").convert("RGB")).astype(np.int16)

    for name, r_ in res.items():
        if name != "hints_need_hint_weights":
            assert r_["status"] == "success", (name, r_["error"])
        assert r_["leftovers"] == [], name                      # temporary files removed

    rgb = res["rgb"]
    assert [l["name"] for l in rgb["after"]] == ["Colorized", "Background"]
    col = gimp.pixels(rgb["after"][0]["png"])
    orig = gimp.pixels(rgb["after"][1]["png"])
    assert np.array_equal(orig, src)                           # the original layer is untouched
    assert np.array_equal(orig, gimp.pixels(rgb["before"][0]["png"]))
    chroma = np.abs(col - col.mean(axis=2, keepdims=True)).mean()
    assert chroma > 1.0, f"the Colorized layer has no colour (mean |channel - grey| = {chroma:.2f})"
    luma = col @ np.array([0.299, 0.587, 0.114])
    assert np.abs(luma - src[..., 0]).mean() < 4                # the engine keeps the luminance
    assert not rgb["after"][0]["mask"]

    grey = res["grey_selection"]
    assert grey["base_type_before"] == 1 and grey["base_type_after"] == 0    # GRAY -> RGB, to hold colour
    assert [l["name"] for l in grey["after"]] == ["Colorized", "Background"]
    assert grey["after"][0]["mask"], "with a selection the new layer is masked to it"
    assert np.array_equal(gimp.pixels(grey["after"][1]["png"]), src)   # grey values unchanged

    off = res["offset_layer"]
    assert [l["name"] for l in off["after"]] == ["Colorized", "Small", "Background"]   # just above it
    assert off["after"][0]["offsets"] == [30, 20] and off["after"][0]["size"] == [50, 40]
    for i, layer in enumerate(off["before"]):
        assert np.array_equal(gimp.pixels(layer["png"]), gimp.pixels(off["after"][i + 1]["png"]))
    col = gimp.pixels(off["after"][0]["png"])
    assert np.abs(col - col.mean(axis=2, keepdims=True)).mean() > 1.0

    refused = res["hints_need_hint_weights"]
    assert refused["status"] == "execution-error"
    # the engine's own message, read from its --json result (not stderr's English)
    assert refused["error"].startswith("Colorize: the colorize engine failed: these weights take no "
                                       "colour hints"), refused["error"]
    assert "colour hint layer 'Colour hints'" in refused["error"] and refused["error"] in r.stderr
    unchanged(gimp, refused)


def engine_processes(marker):
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(cmdline.parent.name)
        except OSError:
            pass
    return found


def unchanged(gimp, result):
    assert [l["name"] for l in result["after"]] == [l["name"] for l in result["before"]]
    assert result["base_type_after"] == result["base_type_before"]
    for before, after in zip(result["before"], result["after"]):
        assert np.array_equal(gimp.pixels(before["png"]), gimp.pixels(after["png"]))
    assert result["leftovers"] == []


def test_missing_engine_fails_cleanly(gimp):
    gimp.install("--engine-command", "/opt/no-such-venv/bin/colorize", "--no-check", "--weights", "/mnt/work/weights")
    r, res = gimp.run_gimp([{"name": "missing", "image": "rgb.png", "select": [5, 5, 20, 20]}], strict=True)
    assert r.returncode != 0, "gimp-console must exit non-zero when the plug-in fails"
    msg = res["missing"]["error"]
    assert res["missing"]["status"] == "execution-error"
    assert "cannot run the colorize engine '/opt/no-such-venv/bin/colorize'" in msg
    assert msg in r.stderr                                       # GIMP itself reports it
    unchanged(gimp, res["missing"])


def test_engine_error_and_timeout_fail_cleanly(gimp):
    gimp.install("--weights", "/mnt/work/no-weights-here")         # the engine runs and fails
    r, res = gimp.run_gimp([{"name": "no_weights", "image": "grey.png"}])
    assert res["no_weights"]["status"] == "execution-error"
    assert "the colorize engine failed: no weights at /mnt/work/no-weights-here" in res["no_weights"]["error"]
    unchanged(gimp, res["no_weights"])

    gimp.install("--engine-command", '["/opt/colorize-venv/bin/python", "-c", "import time; time.sleep(900)"]',
                 "--no-check", "--timeout", "2")
    t0 = time.monotonic()
    r, res = gimp.run_gimp([{"name": "timeout", "image": "rgb.png"}])
    assert time.monotonic() - t0 < 600  # well under the engine's 900 s: it was cut off at 2 s
    assert res["timeout"]["status"] == "execution-error"
    assert "did not finish within 2 s" in res["timeout"]["error"]
    unchanged(gimp, res["timeout"])
    assert not engine_processes("import time; time.sleep(900)")    # the engine was killed, not orphaned


def test_colour_hints_from_a_layer(gimp, hint_weights_dir):
    """A layer "Colour hints" above the photo: its dabs, aligned with the layer being colorized, steer
    the colours; the hint layer is only read; the ways it cannot work are one clear message."""
    from engine import Colorizer

    shutil.copytree(hint_weights_dir, gimp.work / "hint-weights", dirs_exist_ok=True)
    gimp.install("--weights", "/mnt/work/hint-weights")
    hints = lambda png, **kw: {"png": png + ".png", "name": "Colour hints", **kw}  # noqa: E731
    r, res = gimp.run_gimp([
        {"name": "hinted", "image": "rgb.png", "layer": 1, "hint_layer": hints("hints-full", visible=False)},
        # a smaller hint layer at (52, 40), partly outside the Small layer (30, 20, 50x40) it steers
        {"name": "small_hinted", "image": "rgb.png", "small_layer": True, "layer": 1,
         "hint_layer": hints("hints-small", name="color HINTS", offsets=[52, 40])},
        {"name": "no_alpha", "image": "rgb.png", "layer": 1, "hint_layer": hints("hints-opaque")},
        {"name": "hint_layer_active", "image": "rgb.png", "layer": 0, "hint_layer": hints("hints-full")},
        {"name": "greyscale", "image": "grey.png", "layer": 1, "hint_layer": hints("hints-full")},
    ])
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("hinted", "small_hinted"):
        assert res[name]["status"] == "success", (name, res[name]["error"])
        assert res[name]["leftovers"] == [], name

    # the engine, run here on what the plug-in should have given it: the exported layer and the dabs
    # aligned with it; without dabs, the result of a run without a hint layer (as the tests above)
    engine = Colorizer(hint_weights_dir, backend="onnx")

    def expected(layer_png, dab_at=None, size=(90, 120), rgb=None):
        dabs = np.zeros((*size, 4), np.uint8)
        if dab_at is not None:
            y, x = dab_at
            dabs[y:y + DAB, x:x + DAB] = (*rgb, 255)
        return np.asarray(engine.colorize(gimp.work / "out" / layer_png, hints=dabs), np.int16)

    def close(a, b):
        return np.abs(a - b).max() <= 3

    def where_it_changed(col, plain):
        """The centre (y, x) of the colour change, weighted by its size, and the change per pixel."""
        diff = np.abs(col - plain).max(axis=2).astype(float)
        y, x = np.mgrid[:diff.shape[0], :diff.shape[1]]
        centre = np.array([(diff * y).sum(), (diff * x).sum()]) / max(diff.sum(), 1)
        return centre, diff

    hinted = res["hinted"]
    plain = expected(hinted["before"][1]["png"])
    assert [l["name"] for l in hinted["after"]] == ["Colour hints", "Colorized", "Background"]
    col = gimp.pixels(hinted["after"][1]["png"])
    centre, diff = where_it_changed(col, plain)
    assert diff.max() > 10 and np.abs(centre - (34.5, 19.5)).max() < 4, centre   # the dab's centre
    assert diff[:, 80:].max() == 0                                                 # far from it: no change
    assert close(col, expected(hinted["before"][1]["png"], (30, 15), rgb=(230, 20, 20)))
    before, after = hinted["before"][0], hinted["after"][0]            # the hint layer: only read
    assert before == {**after, "png": before["png"]} and not after["visible"] and after["alpha"]
    assert np.array_equal(gimp.pixels(before["png"], "RGBA"), gimp.pixels(after["png"], "RGBA"))

    small = res["small_hinted"]
    assert [l["name"] for l in small["after"]] == ["color HINTS", "Colorized", "Small", "Background"]
    assert small["after"][1]["offsets"] == [30, 20] and small["after"][1]["size"] == [50, 40]
    col = gimp.pixels(small["after"][1]["png"])
    layer_png = small["before"][1]["png"]
    small_plain = expected(layer_png, size=(40, 50))
    # the dab at (8, 6) in the hint layer at (52, 40) is at (28, 28) in the Small layer at (30, 20)
    centre, diff = where_it_changed(col, small_plain)
    assert diff.max() > 10 and np.abs(centre - (32.5, 32.5)).max() < 4, centre
    right = expected(layer_png, (40 + 8 - 20, 52 + 6 - 30), (40, 50), (20, 40, 230))
    assert close(col, right) and not close(col, small_plain)
    for wrong in ((8, 6), (40 + 8 - 20 - 6, 52 + 6 - 30 - 6)):             # offsets ignored, or off by 6 px
        assert not close(col, expected(layer_png, wrong, (40, 50), (20, 40, 230))), wrong
    before, after = small["before"][0], small["after"][0]
    assert before == {**after, "png": before["png"]} and after["offsets"] == [52, 40]
    assert np.array_equal(gimp.pixels(before["png"], "RGBA"), gimp.pixels(after["png"], "RGBA"))

    for name, message in [
            ("no_alpha", "the colour hint layer 'Colour hints' has no transparency"),
            ("hint_layer_active", "the active layer is the colour hint layer 'Colour hints'"),
            ("greyscale", "the image is greyscale, so its colour hint layer 'Colour hints' cannot hold colours")]:
        assert res[name]["status"] == "execution-error", name
        assert res[name]["error"].startswith("Colorize: " + message), res[name]["error"]
        assert res[name]["error"] in r.stderr                   # GIMP itself reports it
        unchanged(gimp, res[name])


def test_uninstall_in_the_root(gimp):
    gimp.install("--weights", "/mnt/work/weights")
    r = gimp.install("--uninstall")
    assert "uninstalled" in r.stdout
    assert not (gimp.work / "gimp3/plug-ins/colorize_gimp").exists()
    assert (gimp.work / "gimp3").is_dir()          # GIMP's own folder (it wrote config there) stays

