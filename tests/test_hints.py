"""Local colour hints: points and hint images become the planes the hint model takes."""
import numpy as np
import pytest
from PIL import Image

from engine import ColorizeError
from engine.color import rgb_to_yuv
from engine.color import parse_colour
from engine.hints import Hint, hint_planes, parse_hint


def uv_of(rgb):
    return rgb_to_yuv(np.asarray(rgb, np.float32) / 255)[1:]


def test_parse_points_and_colours():
    assert parse_colour("#ff8000") == (255, 128, 0) and parse_colour("#0f0") == (0, 255, 0)
    assert parse_colour("teal") == (0, 128, 128) and parse_colour((1, 2, 3)) == (1, 2, 3)
    assert parse_hint("10,20.5,#0000ff") == Hint(10.0, 20.5, (0, 0, 255))
    for bad in ("#12345", "reddish", "#gg0000", "", (1, 2), (0, 0, 256)):
        with pytest.raises(ColorizeError, match="does not parse"):
            parse_colour(bad)
    for bad in ("10,#ff0000", "x,2,#ff0000", "1,2,#ff0000,4"):
        with pytest.raises(ColorizeError, match="not X,Y,#RRGGBB"):
            parse_hint(bad)


def test_a_point_lands_where_it_was_put_with_its_chroma():
    planes = hint_planes([(300, 100, "#ff0000")], (200, 400), (50, 100))  # image 400x200 -> 100x50
    assert planes.shape == (1, 3, 50, 100)
    ys, xs = np.nonzero(planes[0, 2])
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (24, 26, 74, 76)  # 3x3 around (75, 25)
    np.testing.assert_allclose(planes[0, :2, 25, 75], uv_of((255, 0, 0)), atol=1e-6)
    assert planes[0, :, :20].sum() == 0


def test_points_outside_the_image_are_refused():
    for x, y in ((400, 10), (-1, 10), (10, 200)):
        with pytest.raises(ColorizeError, match="outside the 400x200 image"):
            hint_planes([(x, y, "#ff0000")], (200, 400), (50, 100))


def test_many_points_and_no_points():
    rng = np.random.default_rng(0)
    many = [(float(x), float(y), tuple(int(c) for c in rng.integers(0, 256, 3)))
            for x, y in zip(rng.uniform(0, 400, 500), rng.uniform(0, 200, 500))]
    planes = hint_planes(many, (200, 400), (50, 100))
    assert planes[0, 2].mean() > 0.5
    assert hint_planes([], (200, 400), (50, 100)) is None and hint_planes(None, (200, 400), (50, 100)) is None


def test_a_hint_image_keeps_a_small_dab_and_its_colour():
    rgba = np.zeros((200, 400, 4), np.uint8)
    rgba[100:104, 40:44] = (0, 0, 255, 255)  # a 4x4 blue dab, smaller than one network pixel
    planes = hint_planes(rgba, (200, 400), (50, 100))
    ys, xs = np.nonzero(planes[0, 2])
    assert list(zip(ys, xs)) == [(25, 10)]
    np.testing.assert_allclose(planes[0, :2, 25, 10], uv_of((0, 0, 255)), atol=1e-5)
    assert hint_planes(np.zeros((200, 400, 4), np.uint8), (200, 400), (50, 100)) is None  # all transparent


def test_bad_hint_images(tmp_path):
    with pytest.raises(ColorizeError, match="300x200, the photo 400x200"):
        hint_planes(np.zeros((200, 300, 4), np.uint8), (200, 400), (50, 100))
    Image.new("RGB", (400, 200), "red").save(tmp_path / "rgb.png")
    with pytest.raises(ColorizeError, match="must be RGBA"):
        hint_planes(tmp_path / "rgb.png", (200, 400), (50, 100))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ColorizeError):
        hint_planes(tmp_path / "broken.png", (200, 400), (50, 100))
    Image.new("RGBA", (400, 200), (255, 0, 0, 0)).save(tmp_path / "ok.png")
    assert hint_planes(tmp_path / "ok.png", (200, 400), (50, 100)) is None


# --- end to end, with a (random) model that takes hints ------------------------------------------

def changed(a, b) -> bool:
    return np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).max() > 3


def test_library_hints_change_the_result_and_need_a_hint_model(hint_weights_dir, colorizer, grey_photo):
    from engine import Colorizer

    c = Colorizer(hint_weights_dir, backend="onnx")
    assert c.takes_hints and not colorizer.takes_hints
    plain = np.asarray(c.colorize(grey_photo), np.float32)
    hinted = np.asarray(c.colorize(grey_photo, hints=[(30, 40, "#ff0000"), (100, 20, "blue")]), np.float32)
    assert changed(hinted, plain)
    rgba = np.zeros((90, 120, 4), np.uint8)
    rgba[38:43, 28:33] = (255, 0, 0, 255)
    assert changed(c.colorize(grey_photo, hints=rgba), plain)
    assert np.array_equal(np.asarray(c.colorize(grey_photo, hints=[]), np.float32), plain)
    with pytest.raises(ColorizeError, match="take no colour hints"):
        colorizer.predict(grey_photo, hints=[(30, 40, "#ff0000")])
    with pytest.raises(ColorizeError, match="hints belong to one image"):
        c.colorize([grey_photo, grey_photo], hints=[(30, 40, "#ff0000")])


def hint_run(hint_weights_dir, capsys):
    from engine.cli import main

    def run(*args):
        code = main([*map(str, args), "--weights", str(hint_weights_dir), "--backend", "onnx"])
        return code, capsys.readouterr().err
    return run


def test_command_line_points_images_and_folders(hint_weights_dir, grey_photo, tmp_path, capsys):
    run = hint_run(hint_weights_dir, capsys)
    assert run(grey_photo, "-o", tmp_path / "plain.png")[0] == 0
    assert run(grey_photo, "-o", tmp_path / "points.png", "--hint", "30,40,#ff0000", "--hint", "100,20,#0000ff")[0] == 0
    plain, points = (np.asarray(Image.open(tmp_path / f), np.float32) for f in ("plain.png", "points.png"))
    assert changed(points, plain)
    dabs = np.zeros((90, 120, 4), np.uint8)
    dabs[38:43, 28:33] = (255, 0, 0, 255)
    Image.fromarray(dabs).save(tmp_path / "dabs.png")
    assert run(grey_photo, "-o", tmp_path / "dabs-out.png", "--hints", tmp_path / "dabs.png")[0] == 0
    # a folder of photos with a folder of hint images named like them (a photo without one: no hints)
    (tmp_path / "in").mkdir()
    (tmp_path / "hints").mkdir()
    for name in ("a.png", "b.png"):
        Image.open(grey_photo).save(tmp_path / "in" / name)
    Image.fromarray(dabs).save(tmp_path / "hints" / "a.png")
    code, err = run(tmp_path / "in", "-o", tmp_path / "out", "--hints", tmp_path / "hints")
    assert code == 0, err
    a, b = (np.asarray(Image.open(tmp_path / "out" / f), np.float32) for f in ("a.png", "b.png"))
    assert changed(a, b) and np.array_equal(b, plain)


def test_command_line_bad_hints_are_one_line_and_write_nothing(hint_weights_dir, run, grey_photo, tmp_path, capsys):
    hrun = hint_run(hint_weights_dir, capsys)
    out = tmp_path / "out.png"
    Image.new("RGBA", (50, 50)).save(tmp_path / "small.png")
    Image.new("RGB", (120, 90)).save(tmp_path / "rgb.png")
    for args, status, message in [
            (["--hint", "500,10,#ff0000"], 2, "outside the 120x90 image"),
            (["--hints", tmp_path / "small.png"], 2, "the hint image is 50x50, the photo 120x90"),
            (["--hints", tmp_path / "rgb.png"], 2, "must be RGBA"),
            (["--hints", tmp_path / "nope.png"], 2, "no such file or folder"),
            (["--hint", "10,10,#ff0000", "--hints", tmp_path / "rgb.png"], 2, "belong to one input photo")]:
        code, err = hrun(grey_photo, "-o", out, *args)
        lines = [x for x in err.splitlines() if "failed (" not in x]  # all but the batch's summary line
        assert code == status and len(lines) == 1 and message in lines[0] and not out.exists(), (args, err)
    code, err = hrun(grey_photo, grey_photo, "-o", tmp_path / "many", "--hint", "10,10,#ff0000")
    assert code == 2 and "belong to one input photo" in err
    code, err = hrun(grey_photo, grey_photo, "-o", tmp_path / "many", "--hints", tmp_path / "rgb.png")
    assert code == 2 and "is one image but there are" in err
    with pytest.raises(SystemExit):
        hrun(grey_photo, "-o", out, "--hint", "10,#ff0000")
    assert "not X,Y,#RRGGBB" in capsys.readouterr().err
    code, err = run(grey_photo, "-o", out, "--hint", "10,10,#ff0000")  # the plain test weights
    assert code == 2 and "take no colour hints" in err and not out.exists()
    assert not list(tmp_path.glob("many*"))


def test_the_shipped_model_follows_a_hint_over_the_object_it_is_put_on():
    """One red point on the fez of an example photo (v0.3 guessed purple, v0.4 a duller red): the
    fez turns red, the hint's colour comes out around the point (within 10 ab; measured 8.0), and
    the face and the jacket change far less."""
    from pathlib import Path

    from skimage.color import rgb2lab

    from engine import Colorizer

    photo = Path(__file__).resolve().parent.parent / "examples" / "bsds-189080.jpg"
    c = Colorizer(backend="onnx")
    assert c.takes_hints
    lab = lambda im: rgb2lab(np.asarray(im, np.float32) / 255)  # noqa: E731
    automatic = np.asarray(c.colorize(photo), np.float32) / 255
    auto, hinted = rgb2lab(automatic), lab(c.colorize(photo, hints=[(160, 60, "#b01c1c")]))
    # the hint's colour at the photo's own luminance (only a hint's chroma counts), around the point;
    # v0.4's own guess is already near it (6.4 ab), v0.3's was purple
    from engine.color import yuv_to_rgb
    yuv = rgb_to_yuv(automatic[56:65, 156:165])
    yuv[..., 1:] = uv_of((0xb0, 0x1c, 0x1c))
    want = rgb2lab(np.clip(yuv_to_rgb(yuv), 0, 1))[..., 1:]
    assert np.linalg.norm(hinted[56:65, 156:165, 1:] - want, axis=-1).mean() < 10
    change = lambda ys, xs: float(np.linalg.norm(hinted[ys, xs, 1:] - auto[ys, xs, 1:], axis=-1).mean())  # noqa: E731
    fez, face, jacket = change(slice(20, 100), slice(110, 210)), change(slice(200, 300), slice(110, 210)), \
        change(slice(420, 480), slice(0, 321))
    assert hinted[20:100, 110:210, 1].mean() > max(auto[20:100, 110:210, 1].mean() + 10, 45)  # red (CIELAB a*)
    assert max(face, jacket) < fez / 2.5, (fez, face, jacket)  # v0.4: 23.5 at the fez, 7.8 on the face


# --- issue 20's locality measure (training/locality.py) ------------------------------------------

def test_the_corrected_colour_is_the_truth_turned_120_degrees_with_chroma_at_least_30():
    from skimage.color import rgb2lab

    from training.locality import turned_colour

    lab = lambda rgb: rgb2lab(np.asarray(rgb, np.float64).reshape(1, 1, 3))[0, 0]  # noqa: E731
    for rgb in [(0.6, 0.3, 0.3), (0.3, 0.5, 0.3), (0.2, 0.3, 0.6), (0.55, 0.5, 0.45), (0.5, 0.5, 0.5)]:
        before, after = lab(rgb), lab(turned_colour(np.array(rgb)))
        assert abs(after[0] - before[0]) < 0.5 and np.hypot(*after[1:]) >= 30 - 0.5, (rgb, before, after)
        if np.hypot(*before[1:]) > 5:  # a grey's hue is undefined
            turn = np.degrees(np.arctan2(after[2], after[1]) - np.arctan2(before[2], before[1])) % 360
            assert abs(turn - 120) < 1, (rgb, turn)


def test_change_profile_is_0_for_a_change_near_the_point_and_1_for_a_uniform_one():
    from training.locality import change_profile

    yy, xx = np.mgrid[0:120, 0:160]
    near = (np.hypot(xx + 0.5 - 40, yy + 0.5 - 30) < 8).astype(np.float32) * 20  # diagonal 200: NEAR is 6 px
    assert change_profile(near, 40, 30)["ratio"] == 0 and change_profile(near, 40, 30)["near"] == 20
    assert change_profile(np.full((120, 160), 7.0), 40, 30)["ratio"] == pytest.approx(1)
    assert np.isnan(change_profile(np.zeros((120, 160)), 40, 30)["ratio"])  # nothing changed: no ratio


class Painted:
    """A stand-in prediction: the canvas's luminance with chroma uv (H, W, 2)."""

    def __init__(self, canvas, uv):
        from engine.color import yuv_to_rgb
        self.rgb = np.clip(yuv_to_rgb(np.dstack([canvas.luminance, uv])), 0, 1)

    def render(self):
        return self.rgb


def stand_in(spread: str, working_size: int):
    """A model that paints the hint's chroma over the cells the engine puts it on ("local"),
    over the whole photo ("global"), or ignores hints ("deaf"); grey without hints."""
    def predict(canvas, hints):
        h, w = canvas.luminance.shape
        uv = np.zeros((h, w, 2), np.float32)
        if hints and spread != "deaf":
            planes = hint_planes(hints, (h, w), canvas.network_input(working_size).shape[2:])[0]
            mask = np.asarray(Image.fromarray(planes[2]).resize((w, h), Image.NEAREST)) > 0
            uv[mask if spread == "local" else slice(None)] = planes[:2, planes[2] > 0].mean(1)
        return Painted(canvas, uv)
    return predict


def test_photo_locality_tells_a_local_hint_from_a_global_one():
    from training.locality import photo_locality, turned_colour

    # red on the left to blue on the right, the same down each column
    ramp = np.linspace(0, 1, 160, dtype=np.float32)
    row = np.stack([0.7 - 0.5 * ramp, np.full(160, 0.4, np.float32), 0.2 + 0.5 * ramp], axis=-1)
    truth = np.ascontiguousarray(np.broadcast_to(row, (120, 160, 3)))
    for seed in range(3):
        rng = lambda: np.random.default_rng(seed)  # noqa: E731  the same point for every stand-in
        local, glob, deaf = (photo_locality(truth, stand_in(s, 64), 64, rng()) for s in ("local", "global", "deaf"))
        assert local["ratio"] == 0 and local["near"] > 10 and local["hint_ab_error"] < 1.5
        assert 0.8 < glob["ratio"] < 1.25 and glob["hint_ab_error"] < 1.5
        assert np.isnan(deaf["ratio"]) and deaf["hint_ab_error"] > 25  # a hint ignored is not reproduced
        # the hint is the truth at its point, turned
        assert np.abs(np.array(local["hint"]) - turned_colour(truth[0, int(local["x"])]) * 255).max() <= 3


def test_the_rendering_keeps_a_hints_colour_where_it_was_put():
    """A network that follows a red hint only over the 5x5 cells around it, blue beyond: at the
    hint's pixels the guided filter, fitting its 5x5-cell windows to the red and the blue alike,
    used to leave the red half way to the blue; the hint's cells now weigh more and keep most of
    it. Away from the hint nothing changes."""
    from engine import Canvas, Prediction, load_bundle
    from engine.render import guided_coefficients

    bins = load_bundle("engine/weights").bins
    red = uv_of((0xc0, 0x20, 0x20))
    nearest = lambda rgb: int(np.argmin(np.linalg.norm(bins.centers - uv_of(rgb), axis=1)))  # noqa: E731
    logits = np.zeros((len(bins.centers), 32, 32), np.float32)  # (n_bins, 32, 32): a 64-pixel working size
    logits[nearest((40, 60, 200))] = 30.0
    logits[:, 14:19, 14:19] = 0.0
    logits[nearest((0xc0, 0x20, 0x20)), 14:19, 14:19] = 30.0
    grey = np.tile(np.linspace(90, 160, 256, dtype=np.float32).astype(np.uint8), (256, 1))
    canvas = Canvas.of(np.repeat(grey[..., None], 3, axis=2))
    planes = hint_planes([(130, 130, "#c02020")], (256, 256), (64, 64))  # cell (16, 16) = pixels 128-135
    uv = lambda pred: rgb_to_yuv(np.asarray(pred.render(), np.float32) / 255)[..., 1:]  # noqa: E731
    before, after = uv(Prediction(logits, canvas, bins, 0.5)), uv(Prediction(logits, canvas, bins, 0.5, hints=planes))
    off = lambda out: float(np.linalg.norm(out[128:136, 128:136] - red, axis=-1).mean())  # noqa: E731
    assert off(after) < 0.5 * off(before) and off(before) > 0.2, (off(after), off(before))
    np.testing.assert_allclose(after[:64], before[:64], atol=1e-2)     # a quarter of the photo away: untouched
    guide = np.random.default_rng(0).random((20, 30), np.float32)
    chroma = np.stack([guide ** 2, 1 - guide], axis=-1)
    np.testing.assert_allclose(guided_coefficients(guide, chroma, np.ones((20, 30), np.float32)),
                               guided_coefficients(guide, chroma), atol=1e-4)  # equal weights: the plain filter
