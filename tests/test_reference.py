"""Colour hints: a reference photo or palette pulls the colours (engine/reference.py), and the
distribution at a pixel as a palette (Prediction.suggestions)."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import Colorizer, ColorizeError, Reference, rgb_to_yuv, yuv_to_rgb
from engine.cli import main
from engine.reference import PRIOR_SHARE
from engine.video import FrameColorizer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bsds-102061.jpg"


@pytest.fixture(scope="module")
def shipped():
    return Colorizer(backend="onnx")


@pytest.fixture(scope="module")
def grey_example():
    return np.asarray(Image.open(EXAMPLE).convert("L"))


def red_photo(h=40, w=60):
    """A colour photo of reds of several shades."""
    rng = np.random.default_rng(0)
    rgb = np.stack([rng.integers(150, 230, (h, w)), rng.integers(20, 60, (h, w)), rng.integers(20, 60, (h, w))], -1)
    return rgb.astype(np.uint8)


def mean_v(pred, **kw):
    return float(pred.chroma(**kw)[..., 1].mean())


def test_a_red_reference_or_palette_makes_the_shipped_models_output_redder(shipped, grey_example):
    pred = shipped.predict(grey_example)
    plain = mean_v(pred)
    for ref in (red_photo(), ["#c02020", (170, 30, 40)]):
        half, full = (mean_v(pred.with_reference(ref, s)) for s in (0.5, 1.0))
        assert plain + 0.02 < half < full, (plain, half, full)
    # and in the full-resolution render
    out = np.asarray(shipped.predict(grey_example, reference=red_photo(), reference_strength=1).render(), np.float32)
    v = rgb_to_yuv(out / 255)[..., 2].mean()
    assert v > rgb_to_yuv(np.asarray(pred.render(), np.float32) / 255)[..., 2].mean() + 0.02


def test_strength_zero_is_exactly_the_plain_prediction(colorizer, grey_photo):
    plain = colorizer.predict(grey_photo)
    zero = plain.with_reference(red_photo(), 0)
    np.testing.assert_array_equal(np.asarray(zero.render()), np.asarray(plain.render()))
    np.testing.assert_array_equal(zero.probs, plain.probs)
    zero_file = colorizer.colorize(grey_photo, reference=red_photo(), reference_strength=0)
    np.testing.assert_array_equal(np.asarray(zero_file), np.asarray(colorizer.colorize(grey_photo)))
    assert plain.with_reference(None).bias is None


def test_with_reference_never_runs_the_network_again(weights_dir, grey_photo):
    c = Colorizer(weights_dir, backend="onnx")
    calls, net = [], c.net
    c.net = lambda x, hints=None: calls.append(x) or net(x, hints)
    pred = c.predict(grey_photo)
    ref = c.load_reference(red_photo())
    steered = [pred.with_reference(ref, s) for s in np.linspace(0, 1, 5)] + [pred.with_reference(["teal"], 0.7)]
    for p in steered:
        p.render()
    assert len(calls) == 1 and all(p.logits is pred.logits for p in steered)
    assert pred.bias is None  # the original is left as it was


def test_the_reference_histogram_keeps_every_colour_possible(colorizer):
    bins = colorizer.bundle.bins
    for ref in (Reference.of(red_photo(), bins), Reference.of(["#2040c0"], bins)):
        h = ref.histogram
        assert h.shape == (bins.n,) and np.all(h > 0) and h.sum() == pytest.approx(1)
        bias = ref.bias(1.0)
        assert bias.min() >= np.log(PRIOR_SHARE) - 1e-5  # an absent colour is only penalised, never excluded
    # the strongest pull is toward the reference's colour
    red = Reference.of(red_photo(), bins).bias(1.0)
    assert bins.centers[red.argmax(), 1] > 0.1  # V, the red axis
    blue = Reference.of(["#2040c0"], bins).bias(1.0)
    assert bins.centers[blue.argmax(), 0] > 0.05  # U, the blue axis


def test_a_reference_made_for_another_model_is_refused(colorizer, shipped):
    ref = shipped.load_reference(red_photo())
    with pytest.raises(ColorizeError, match="another model"):
        colorizer.predict(np.zeros((8, 8), np.uint8), reference=ref)


def test_suggestions_are_distinct_k_long_and_start_at_the_mode(shipped, grey_example):
    pred = shipped.predict(grey_example)
    bins = shipped.bundle.bins
    h, w = grey_example.shape
    mid = np.argwhere((grey_example > 100) & (grey_example < 150))  # fewer colours leave the RGB cube
    corners = [(0, 0), (w - 1, h - 1)]
    for x, y in corners + [tuple(mid[i][::-1]) for i in (0, len(mid) // 2, -1)]:
        for p in (pred, pred.with_reference(red_photo(), 0.8)):
            colours = p.suggestions(int(x), int(y), k=6)
            assert len(colours) == 6 and all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in colours)
            # the first is the mode bin at this pixel, rendered at the pixel's own luminance
            gy = min(p.logits.shape[1] - 1, int((y + .5) * p.logits.shape[1] / h))
            gx = min(p.logits.shape[2] - 1, int((x + .5) * p.logits.shape[2] / w))
            mode = p.bins.centers[np.argmax(p.scores[:, gy, gx])]
            want = np.clip(yuv_to_rgb(np.array([grey_example[y, x] / 255, *mode])), 0, 1) * 255
            assert np.abs(np.array(colours[0]) - want).max() <= 1
            if (x, y) in corners:
                continue
            assert len(set(colours)) == 6
            rgb = np.array(colours)
            inside = rgb[(rgb > 0).all(1) & (rgb < 255).all(1)]  # clipping to the RGB cube moves UV
            uv = rgb_to_yuv(inside.astype(np.float32) / 255)[:, 1:]
            d = np.linalg.norm(uv[:, None] - uv[None], axis=-1)[np.triu_indices(len(uv), 1)]
            assert len(uv) >= 2 and d.min() > 1.4 * bins.bin_size  # 1.5 bin sizes apart, before 8-bit rounding
    assert len(pred.suggestions(5, 5, k=1)) == 1


@pytest.mark.parametrize("x, y, k, message", [(-1, 0, 6, "outside"), (0, 10_000, 6, "outside"),
                                              (1.5, 0, 6, "whole numbers"), (0, 0, 0, "at least 1")])
def test_bad_suggestion_requests_are_one_line(colorizer, grey_photo, x, y, k, message):
    pred = colorizer.predict(grey_photo)
    with pytest.raises(ColorizeError, match=message) as e:
        pred.suggestions(x, y, k)
    assert "\n" not in str(e.value)


def bad_references(tmp_path):
    """(reference, strength, what the one line says) for every bad input the feature lists."""
    grey = tmp_path / "grey-ref.png"
    Image.fromarray(np.tile(np.arange(60, dtype=np.uint8), (40, 1))).convert("RGB").save(grey)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    return [(grey, 0.5, "reference photo is greyscale"), (tmp_path / "missing.jpg", 0.5, "no such file"),
            (broken, 0.5, "not an image"), (red_photo(), 1.5, "strength must be in [0, 1]"),
            (red_photo(), -0.1, "strength must be in [0, 1]"), (["#12345g"], 0.5, "does not parse"),
            ([(10, 20)], 0.5, "does not parse"), ([], 0.5, "no colours")]


def test_bad_references_are_one_line_and_write_nothing(colorizer, grey_photo, tmp_path, monkeypatch):
    calls, net = [], colorizer.net
    monkeypatch.setattr(colorizer, "net", lambda x, hints=None: calls.append(x) or net(x, hints))
    for ref, s, message in bad_references(tmp_path):
        dst = tmp_path / "out.png"
        with pytest.raises(ColorizeError, match=message.replace("[", r"\[")) as e:
            colorizer.colorize_file(grey_photo, dst, reference=ref, reference_strength=s)
        assert "\n" not in str(e.value) and not dst.exists()
        with pytest.raises(ColorizeError, match=message.replace("[", r"\[")):
            colorizer.predict(np.zeros((8, 8), np.uint8)).with_reference(ref, s)
    assert len(calls) == len(bad_references(tmp_path))  # only the plain predictions: refused before the network


def test_command_line_reference(run, grey_photo, tmp_path):
    ref = tmp_path / "red.png"
    Image.fromarray(red_photo()).save(ref)
    code, err = run(grey_photo, "-o", tmp_path / "plain.png")
    assert code == 0, err
    code, err = run(grey_photo, "-o", tmp_path / "red.png.out.png", "--reference", ref, "--reference-strength", "1")
    assert code == 0, err
    v = [rgb_to_yuv(np.asarray(Image.open(tmp_path / n), np.float32) / 255)[..., 2].mean()
         for n in ("plain.png", "red.png.out.png")]
    assert v[1] > v[0] + 0.02


def test_command_line_bad_references_are_one_line_and_write_nothing(run, grey_photo, tmp_path, capsys):
    for ref, s, message in bad_references(tmp_path):
        if not isinstance(ref, Path):
            continue  # the command takes photos
        out = tmp_path / "out" / "sub"
        code, err = run(grey_photo, "-o", out, "--reference", ref, "--reference-strength", s)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "out").exists()
    for s, message in [("1.5", "--reference-strength must be in [0, 1]"), ("x", "must be a number")]:
        with pytest.raises(SystemExit) as e:
            main([str(grey_photo), "-o", str(tmp_path / "out/"), "--reference", str(grey_photo),
                  "--reference-strength", s])
        assert e.value.code == 2 and message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(grey_photo), "--reference-strength", "0.5"])
    assert "needs --reference" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_video_frames_follow_the_reference(colorizer):
    frame = np.repeat(np.tile(np.arange(0, 240, 4, dtype=np.uint8), (40, 1))[..., None], 3, axis=2)
    for temporal in (True, False):
        plain = FrameColorizer(colorizer, temporal=temporal)(frame)
        red = FrameColorizer(colorizer, temporal=temporal, reference=red_photo(), reference_strength=1)(frame)
        v = [rgb_to_yuv(f.astype(np.float32) / 255)[..., 2].mean() for f in (plain, red)]
        assert v[1] > v[0] + 0.02
