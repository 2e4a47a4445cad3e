"""The local hint design (engine/model.py, issue 20): hints enter after the global context through a
branch that is exactly zero without hints; and the recoloured-region training examples
(training/data.py) that teach a hint to stay on its region."""
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine.model import ModelConfig, UNet, load_model  # noqa: E402
from engine.weights import load_bundle, save_bundle  # noqa: E402


def local_model(n_bins=40, seed=0) -> UNet:
    torch.manual_seed(seed)
    return UNet(ModelConfig(n_bins, (8, 16, 32), 1, hints=True, hint_design="local")).eval()


def scramble(model: UNet, std: float = 1.0) -> UNet:
    """Every hint parameter random and non-zero, as if trained (zero-initialised ones included)."""
    torch.manual_seed(1)
    for name, p in model.named_parameters():
        if name.startswith("hint_"):
            torch.nn.init.normal_(p, std=std)
    return model


def automatic_part(model: UNet) -> UNet:
    """The automatic model with the same weights as model's automatic part."""
    auto = UNet(replace(model.cfg, hints=False))
    auto.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("hint_")})
    return auto.train(model.training)


def some_hints(shape=(2, 3, 48, 64), points=6, seed=0) -> torch.Tensor:
    """Hint planes with a few 3x3 points of random chroma."""
    rng = np.random.default_rng(seed)
    b, _, h, w = shape
    planes = np.zeros(shape, np.float32)
    for i in range(b):
        for _ in range(points):
            y, x = rng.integers(0, h - 3), rng.integers(0, w - 3)
            planes[i, :2, y:y + 3, x:x + 3] = rng.uniform(-0.4, 0.4, (2, 1, 1))
            planes[i, 2, y:y + 3, x:x + 3] = 1
    return torch.from_numpy(planes)


# --- the model -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["eval", "train"])
def test_without_hints_the_local_design_is_exactly_its_automatic_model(mode):
    """Bit for bit, with every hint weight random and non-zero: no biases, no norms, and every
    operation of the branch maps 0 to 0. (In training mode the norms use the batch's statistics.)"""
    model = scramble(local_model()).train(mode == "train")
    auto = automatic_part(model)
    y = torch.rand(2, 1, 48, 64)
    with torch.no_grad():
        expected = auto(y)
        assert torch.equal(model(y), expected)
        assert torch.equal(model(y, torch.zeros(2, 3, 48, 64)), expected)
        assert (model(y, some_hints()) - expected).abs().max() > 0.1  # and the branch does act on hints


def test_hints_never_reach_the_global_context_in_the_local_design_but_do_in_v0_2s():
    def context(model, hints):
        seen = []
        hook = model.context.register_forward_hook(lambda m, i, out: seen.append(out))
        with torch.no_grad():
            model(torch.rand(2, 1, 48, 64, generator=torch.Generator().manual_seed(0)), hints)
        hook.remove()
        return seen[0]

    local = scramble(local_model())
    assert torch.equal(context(local, some_hints()), context(local, None))
    stem = UNet(ModelConfig(40, (8, 16, 32), 1, hints=True)).eval()  # v0.2's design
    torch.nn.init.normal_(stem.hint_in.weight)
    assert not torch.allclose(context(stem, some_hints()), context(stem, None))


def test_a_model_of_the_other_hint_design_built_from_the_shipped_one_starts_as_its_automatic_model():
    """Started from the shipped weights (as training does), a model of the other hint design
    computes exactly their automatic output, with hints or without (v0.2 "stem" -> "local" is how
    v0.3 began); and the shipped model without hints is its automatic model."""
    from training.train import TrainConfig, initial_state

    bundle = load_bundle()  # the shipped weights
    shipped, automatic = load_model(bundle), load_model(bundle, hints=False)
    other = "stem" if shipped.cfg.hint_design == "local" else "local"
    new = UNet(replace(shipped.cfg, hint_design=other))
    new.load_state_dict(initial_state(TrainConfig(init=str(bundle.root), hints=True, hint_design=other), new))
    new.eval()
    y = torch.rand(2, 1, 48, 64)
    with torch.no_grad():
        expected = automatic(y)
        assert torch.equal(shipped(y), expected)
        assert torch.equal(new(y, some_hints()), expected) and torch.equal(new(y), expected)
        assert not torch.equal(shipped(y, some_hints()), expected)  # the shipped one does take hints


@pytest.fixture(scope="module")
def local_weights_dir(weights_dir, tmp_path_factory):
    """Random local-design weights whose hints visibly change the result, exported as the engine reads them."""
    model = scramble(local_model(load_bundle(weights_dir).bins.n), std=3.0)
    root = tmp_path_factory.mktemp("local-weights")
    save_bundle(model, load_bundle(weights_dir).bins, root, temperature=0.4, working_size=64)
    return root


def test_the_local_design_exports_to_onnx_and_runs_in_both_backends_and_the_engine(local_weights_dir, grey_photo):
    from engine import Colorizer
    from engine.backends import TorchBackend

    c = Colorizer(local_weights_dir, backend="onnx")
    assert c.takes_hints and c.net.takes_hints and c.bundle.model["hint_design"] == "local"
    y = np.random.default_rng(0).random((2, 1, 48, 64), np.float32)
    hints = some_hints().numpy()
    onnx_none, onnx_hints = c.net(y), c.net(y, hints)
    assert np.array_equal(onnx_none, c.net(y, np.zeros_like(hints)))  # no hints: exactly the automatic output
    assert np.abs(onnx_hints - onnx_none).max() > 0.1
    torch_net = TorchBackend(c.bundle, "cpu")
    np.testing.assert_allclose(torch_net(y, hints), onnx_hints, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(torch_net(y), onnx_none, rtol=1e-3, atol=1e-3)
    plain = np.asarray(c.colorize(grey_photo), np.float32)
    hinted = np.asarray(c.predict(grey_photo, hints=[(30, 40, "#ff0000"), (100, 20, "blue")]).render(), np.float32)
    assert hinted.shape == plain.shape and np.abs(hinted - plain).max() > 3


def test_the_locality_measure_runs_on_the_local_design_and_its_context_probe_changes_nothing(local_weights_dir):
    """training.locality through the engine; its probe that keeps hints out of the global context
    gives the very same figures, since in this design they never reach it."""
    from engine import Colorizer
    from training import locality

    y, x = np.mgrid[0:96, 0:128] / 20.0
    truth = (np.stack([np.sin(x), np.cos(y), np.sin(x * y)], -1) * 0.3 + 0.5).astype(np.float32)
    c = Colorizer(local_weights_dir, backend="onnx")
    engine = locality.photo_locality(truth, locality.colorizer_predict(c), 64, np.random.default_rng(0))
    assert engine["near"] > 0 and np.isfinite(engine["hint_ab_error"])
    runs = [locality.photo_locality(truth, locality.context_probe(local_weights_dir, mode)[0], 64,
                                    np.random.default_rng(0)) for mode in ("as-is", "frozen")]
    assert runs[0]["far"] == runs[1]["far"] and runs[0]["near"] == runs[1]["near"]


def test_model_configs_round_trip_and_refuse_an_unknown_design():
    cfg = ModelConfig(40, (8, 16, 32), 1, hints=True, hint_design="local")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert ModelConfig.from_dict({"n_bins": 40, "widths": [8, 16, 32], "bottleneck_blocks": 1,
                                  "hints": True}).hint_design == "stem"  # model.json of v0.2
    with pytest.raises(ValueError, match="unknown hint design"):
        ModelConfig(hint_design="everywhere")


# --- recoloured regions (training/data.py) ------------------------------------------------------

def stripes() -> np.ndarray:
    """A 64x64 crop in YUV: three vertical stripes of flat colour and different luminance."""
    yuv = np.zeros((64, 64, 3), np.float32)
    for i, (lum, u, v) in enumerate([(0.3, 0.08, 0.12), (0.55, -0.1, 0.05), (0.8, 0.02, -0.1)]):
        yuv[:, i * 22:(i + 1) * 22 if i < 2 else 64] = lum, u, v
    return yuv


def hue(uv: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(uv[..., 1], uv[..., 0]))


def test_a_turned_region_keeps_its_luminance_and_chroma_length_and_nothing_else_changes():
    from training.data import turn_chroma

    rng = np.random.default_rng(0)
    yuv = np.zeros((64, 64, 3), np.float32)
    yuv[..., 0] = rng.uniform(0.4, 0.6, (64, 64))           # mid grey: a turned colour stays in gamut
    angle = rng.uniform(-0.3, 0.3, (64, 64)) + 1.0
    yuv[..., 1], yuv[..., 2] = 0.15 * np.cos(angle), 0.15 * np.sin(angle)
    region = np.zeros((64, 64), bool)
    region[10:40, 5:30] = True
    target = turn_chroma(yuv, region, 100.0)
    assert np.array_equal(target[~region], yuv[~region, 1:])
    turned = (hue(target[region]) - hue(yuv[region, 1:])) % 360
    np.testing.assert_allclose(turned, 100.0, atol=1e-3)
    np.testing.assert_allclose(np.hypot(*target[region].T), np.hypot(*yuv[region, 1:].T), rtol=1e-5)


def test_a_grey_region_gets_colour_and_a_bright_one_stays_inside_the_rgb_cube():
    from engine.color import yuv_to_rgb
    from training.data import MIN_CHROMA, turn_chroma

    region = np.zeros((32, 32), bool)
    region[8:24, 8:24] = True
    grey = np.zeros((32, 32, 3), np.float32)
    grey[..., 0] = 0.5
    assert np.hypot(*turn_chroma(grey, region, 200.0)[region].mean(0)) == pytest.approx(MIN_CHROMA, rel=1e-4)
    light = grey.copy()
    light[..., 0], light[..., 2] = 0.8, 0.15  # a light pink: turned to blue (+U) it would leave the cube
    target = turn_chroma(light, region, 270.0)
    rgb = yuv_to_rgb(np.dstack([light[..., :1], target]))[region]
    assert rgb.min() > -1e-5 and rgb.max() < 1 + 1e-5 and rgb.max() > 1 - 1e-5  # shortened onto the cube's face
    np.testing.assert_allclose(hue(target[region]), 0.0, atol=1e-3)  # keeping its new hue


def test_a_recoloured_example_hints_its_region_with_the_new_colour_and_elsewhere_with_the_truth():
    from training.data import recoloured_example

    yuv = stripes()
    for seed in range(6):
        planes, target, region = recoloured_example(yuv, np.random.default_rng(seed))
        stripe = [region[:, i * 22 + 5].all() for i in range(3)]
        assert sum(stripe) == 1 and region.sum() in (22 * 64, 20 * 64)  # exactly one stripe: a segment
        assert np.array_equal(target[~region], yuv[~region, 1:])
        new = target[region][0]
        assert np.allclose(target[region], new) and np.hypot(*(new - yuv[region][0, 1:])) > 0.05
        hinted = planes[2] > 0
        assert (hinted & region).any()                          # 1-3 hints inside the region...
        np.testing.assert_allclose(planes[:2, hinted & region].T, np.broadcast_to(new, ((hinted & region).sum(), 2)),
                                   atol=1e-6)                   # ...with its new colour
        np.testing.assert_allclose(planes[:2, hinted & ~region].T, yuv[hinted & ~region, 1:], atol=1e-6)
        assert np.array_equal(planes[:, ~hinted], np.zeros_like(planes[:, ~hinted]))


def test_training_examples_are_seeded_and_recolour_only_hinted_crops(monkeypatch):
    import training.data as data

    rng = np.random.default_rng(0)
    yuv = np.repeat(stripes()[None], 8, axis=0) + rng.normal(0, 0.01, (8, 64, 64, 3)).astype(np.float32)

    def examples(seed, recolour):
        return data.training_examples(yuv, np.random.default_rng(seed), recolour)

    first, again, other = examples(3, 0.5), examples(3, 0.5), examples(4, 0.5)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    # recolour 0: exactly training_hints's hints and the truth, as before
    hints, target, regions = examples(3, 0.0)
    assert np.array_equal(hints, data.training_hints(yuv[..., 1:], np.random.default_rng(3)))
    assert np.array_equal(target, yuv[..., 1:]) and not regions.any()
    # recolour 1: every crop with hints is recoloured, in its region only; every crop without stays as it was
    hints, target, regions = examples(3, 1.0)
    recoloured = regions.any(axis=(1, 2))
    changed = np.abs(target - yuv[..., 1:]).max(-1) > 1e-6
    assert not changed[~regions].any() and changed[regions].mean() > 0.9
    none = ~hints[:, 2].any(axis=(1, 2))
    assert none.any() and (~none).any() and np.array_equal(recoloured, ~none)
    assert np.array_equal(target[none], yuv[none, ..., 1:]) and not np.array_equal(target[~none], yuv[~none, ..., 1:])
