import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from engine import Colorizer, ColorizeError
from engine.color import luminance


def grey_array(h, w, seed=0):
    y, x = np.mgrid[0:h, 0:w]
    return (128 + 90 * np.sin(x / 7.0 + seed) * np.cos(y / 11.0)).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(1, 1), (3, 200), (200, 3), (17, 33), (64, 64), (97, 131)])
def test_output_has_input_size_and_its_luminance(colorizer, shape):
    grey = grey_array(*shape)
    out = colorizer.colorize(grey)
    assert out.shape == shape + (3,) and out.dtype == np.uint8
    y_out = luminance(out.astype(np.float32))
    unclipped = (out.min(-1) > 0) & (out.max(-1) < 255)
    # luminance is kept wherever the colour did not leave the RGB cube (then clipping changes it)
    assert np.abs(y_out - grey)[unclipped].max(initial=0) <= 1.0


def test_colour_input_keeps_its_own_luminance(colorizer):
    rgb = np.random.default_rng(0).integers(60, 200, (40, 50, 3), dtype=np.uint8)
    out = colorizer.colorize(rgb)
    y_in = luminance(rgb.astype(np.float32))
    assert np.abs(luminance(out.astype(np.float32)) - y_in).mean() < 1.0


def test_kinds_come_back(colorizer, grey_photo):
    assert isinstance(colorizer.colorize(str(grey_photo)), Image.Image)
    pil = colorizer.colorize(Image.open(grey_photo))
    assert isinstance(pil, Image.Image) and pil.mode == "RGB" and pil.size == (120, 90)
    f = colorizer.colorize(grey_array(20, 30).astype(np.float32) / 255)
    assert f.dtype == np.float32 and 0 <= f.min() and f.max() <= 1
    outs = colorizer.colorize([grey_array(10, 12), grey_array(30, 8)])
    assert [o.shape for o in outs] == [(10, 12, 3), (30, 8, 3)]


def test_alpha_is_kept(colorizer):
    la = np.dstack([grey_array(30, 40), np.tile(np.arange(40, dtype=np.uint8) * 6, (30, 1))])
    out = colorizer.colorize(Image.fromarray(la, "LA"))
    assert out.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(out)[..., 3], la[..., 1])
    rgba = colorizer.colorize(np.dstack([grey_array(10, 10)] * 3 + [np.full((10, 10), 7, np.uint8)]))
    assert rgba.shape == (10, 10, 4) and np.all(rgba[..., 3] == 7)


def test_exif_orientation_is_applied(colorizer, tmp_path):
    im = Image.fromarray(grey_array(30, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    path = tmp_path / "rotated.jpg"
    im.save(path, exif=exif)
    assert colorizer.colorize(str(path)).size == (30, 60)


def test_odd_modes(colorizer, tmp_path):
    g = grey_array(24, 32)
    png16 = tmp_path / "deep.png"
    Image.fromarray(g.astype(np.uint16) * 257).save(png16)
    assert colorizer.colorize(str(png16)).mode == "RGB"
    out16 = colorizer.colorize(g.astype(np.uint16) * 257)
    assert out16.dtype == np.uint16 and out16.max() > 255
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(np.dstack([g] * 3)).convert("CMYK").save(cmyk)
    assert colorizer.colorize(str(cmyk)).size == (32, 24)
    pal = Image.fromarray(g).convert("P")
    pal.info["transparency"] = 0
    path = tmp_path / "pal.png"
    pal.save(path, transparency=0)
    assert colorizer.colorize(str(path)).mode == "RGBA"
    frames = [Image.fromarray(grey_array(20, 20, seed=s)).convert("P") for s in range(3)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    assert colorizer.colorize(str(gif)).size == (20, 20)  # first frame


def test_temperature_changes_vividness_without_rerun(colorizer, monkeypatch):
    pred = colorizer.predict(grey_array(48, 64))
    assert pred.probs.shape[0] == colorizer.bundle.bins.n
    np.testing.assert_allclose(pred.probs.sum(0), 1, atol=1e-5)
    monkeypatch.setattr(colorizer, "net", None)  # a second network run would now fail
    sat = [np.abs(pred.chroma(t)).mean() for t in (0.05, 0.4, 1.0)]
    assert sat[0] > sat[1] > sat[2]
    assert pred.render(0.1).shape == (48, 64, 3)


def test_backends_agree(weights_dir):
    pytest.importorskip("torch")
    onnx, torch_ = Colorizer(weights_dir, backend="onnx"), Colorizer(weights_dir, backend="torch", device="cpu")
    for h, w in [(64, 64), (40, 96), (8, 8)]:
        y = np.random.default_rng(h).random((1, 1, h, w), dtype=np.float32)
        np.testing.assert_allclose(onnx.net(y), torch_.net(y), atol=1e-4)
    g = grey_array(50, 70)
    assert np.abs(onnx.colorize(g).astype(int) - torch_.colorize(g).astype(int)).max() <= 1


def test_onnx_path_never_imports_torch(weights_dir):
    code = ("import sys; sys.modules['torch'] = None\n"  # any 'import torch' now raises
            "import numpy as np, engine\n"
            f"c = engine.Colorizer({str(weights_dir)!r})\n"
            "assert c.backend == 'onnx', c.backend\n"
            "print(c.colorize(np.zeros((9, 9), np.uint8)).shape)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "(9, 9, 3)" in r.stdout


@pytest.mark.parametrize("kill", ["model.json", "model.onnx"])
def test_broken_weights_give_one_clear_error(weights_dir, tmp_path, kill):
    import shutil
    broken = tmp_path / "w"
    shutil.copytree(weights_dir, broken)
    data = (broken / kill).read_bytes()
    (broken / kill).write_bytes(data[: len(data) // 3])
    with pytest.raises(ColorizeError, match="corrupt"):
        Colorizer(broken, backend="onnx")


def test_missing_and_mismatched_weights(weights_dir, tmp_path):
    import json
    import shutil
    with pytest.raises(ColorizeError, match="no weights"):
        Colorizer(tmp_path / "nowhere")
    w = tmp_path / "w"
    shutil.copytree(weights_dir, w)
    meta = json.loads((w / "model.json").read_text())
    meta["bins"]["centers"] = meta["bins"]["centers"][:-1]
    meta["bins"]["prior"] = meta["bins"]["prior"][:-1]
    meta["model"]["n_bins"] -= 1
    (w / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ColorizeError, match="mismatch"):
        Colorizer(w, backend="onnx")
    pytest.importorskip("torch")
    with pytest.raises(ColorizeError, match="does not match"):
        Colorizer(w, backend="torch", device="cpu")


def test_render_matches_plain_upsampling():
    """The strip-wise OpenCV renderer equals a whole-image bilinear upsample + YUV -> RGB."""
    import cv2

    from engine.color import yuv_to_rgb
    from engine.render import STRIP_ROWS, render

    rng = np.random.default_rng(0)
    h, w = STRIP_ROWS + 37, 301  # more than one strip
    y = rng.random((h, w), dtype=np.float32)
    coef = np.stack([rng.normal(0, 0.1, (12, 20)), rng.normal(0, 0.1, (12, 20)),
                     rng.normal(0, 0.1, (12, 20)), rng.normal(0, 0.1, (12, 20))], -1).astype(np.float32)
    up = cv2.resize(coef, (w, h), interpolation=cv2.INTER_LINEAR)
    yuv = np.stack([y, up[..., 0] * y + up[..., 1], up[..., 2] * y + up[..., 3]], -1)
    expected = np.clip(yuv_to_rgb(yuv), 0, 1)
    got = render(y, coef, 1.0, np.float32)
    assert np.abs(got - expected).max() < 0.01  # OpenCV's remap uses 1/32-pixel interpolation weights
    got8 = render(y, coef, 255.0, np.uint8)
    assert np.abs(got8.astype(int) - np.round(expected * 255)).max() <= 3


@pytest.mark.parametrize("shape", [(300, 200), (1500, 2100)])
def test_8bit_fast_path_agrees_with_exact_path(shape):
    """The 8-bit OpenCV path (chroma aligned at <= 1024 px, 8-bit Cr/Cb) stays close to the float path."""
    from engine.render import render

    rng = np.random.default_rng(1)
    y8 = grey_array(*shape)
    coef = np.dstack([rng.normal(0, 0.05, (24, 16)), rng.normal(0, 0.08, (24, 16)),
                      rng.normal(0, 0.05, (24, 16)), rng.normal(0, 0.08, (24, 16))]).astype(np.float32)
    fast = render(y8, coef, 255.0, np.uint8).astype(np.float32)
    exact = render(y8.astype(np.float32) / 255, coef, 1.0, np.float32) * 255
    assert fast.shape == exact.shape == shape + (3,)
    assert np.abs(fast - exact).mean() < 1.5 and np.percentile(np.abs(fast - exact), 99) < 6


def test_shipped_weights_are_trained_and_the_default():
    """The weights in engine/weights load by default, say how they were trained, and give colour."""
    from pathlib import Path

    c = Colorizer(backend="onnx")
    meta = c.bundle.meta
    assert meta["training"]["steps"] > 1000 and "metrics" in meta
    assert c.working_size == meta["working_size"] and c.temperature == meta["temperature"]
    example = Path(__file__).parents[1] / "examples" / "bsds-126007.jpg"  # mountains and sky
    out = np.asarray(c.colorize(str(example)), np.float32)
    rg, yb = out[..., 0] - out[..., 1], 0.5 * (out[..., 0] + out[..., 1]) - out[..., 2]
    colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert colourfulness > 15  # grey is 0; the true colour photo scores about 51
    assert yb.mean() < 0  # the sky and snow come out blue, not brown


def test_a_prediction_prints_in_one_short_line(colorizer, grey_photo):
    text = repr(colorizer.predict(grey_photo))
    assert "\n" not in text and len(text) < 120 and "bins" in text and "120x90" in text


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2, reason="needs 2 CPUs, Linux")
def test_onnxruntime_stays_on_the_cores_it_is_given(weights_dir):
    """Under taskset or a container's cpuset, onnxruntime's pool must not pin threads elsewhere."""
    code = ("import glob, os; os.sched_setaffinity(0, {0}); from engine import Colorizer; "
            f"c = Colorizer({str(weights_dir)!r}, backend='onnx'); c.predict(__import__('numpy').zeros((32, 32), 'uint8')); "
            "print(sorted({c for t in glob.glob(f'/proc/{os.getpid()}/task/*') "
            "for c in os.sched_getaffinity(int(os.path.basename(t)))}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0]"
