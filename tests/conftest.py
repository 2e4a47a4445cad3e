"""Shared fixtures: small random-weight models (one without, one with hint inputs) exported to temp
folders (never shipped)."""
import numpy as np
import pytest
from PIL import Image

from engine.color import ChromaBins, rgb_to_yuv, uv_histogram


def make_bins(n=64, bin_size=0.04, seed=0) -> ChromaBins:
    rng = np.random.default_rng(seed)
    uv = rgb_to_yuv(rng.random((20000, 3)))[:, 1:]
    return ChromaBins.from_histogram(uv_histogram(uv, bin_size), bin_size, n, lam=0.5)


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from engine.model import ModelConfig, UNet
    from engine.weights import save_bundle

    torch.manual_seed(0)
    bins = make_bins()
    model = UNet(ModelConfig(n_bins=bins.n, widths=(8, 16, 32), bottleneck_blocks=1))
    root = tmp_path_factory.mktemp("weights")
    save_bundle(model, bins, root, temperature=0.4, working_size=64, extra={"note": "random test weights"})
    return root


@pytest.fixture(scope="session")
def hint_weights_dir(tmp_path_factory):
    """Random test weights WITH hint inputs (engine/hints.py), strong enough that hints visibly change
    the result (as if trained with training.hints)."""
    torch = pytest.importorskip("torch")
    from engine.model import ModelConfig, UNet
    from engine.weights import save_bundle

    torch.manual_seed(0)
    bins = make_bins()
    model = UNet(ModelConfig(n_bins=bins.n, widths=(8, 16, 32), bottleneck_blocks=1, hints=True))
    torch.nn.init.normal_(model.hint_in.weight, std=200.0)  # as if trained: hints change the result
    root = tmp_path_factory.mktemp("hint-weights")
    save_bundle(model, bins, root, temperature=0.4, working_size=64, extra={"note": "random test weights"})
    return root


@pytest.fixture(scope="session")
def colorizer(weights_dir):
    from engine import Colorizer
    return Colorizer(weights_dir, backend="onnx")


@pytest.fixture
def grey_photo(tmp_path):
    """A smooth greyscale picture with an edge, as a JPEG file."""
    y, x = np.mgrid[0:90, 0:120]
    arr = (100 + 80 * np.sin(x / 9.0) * np.cos(y / 13.0) + 40 * (x > 60)).clip(0, 255).astype(np.uint8)
    path = tmp_path / "grey.jpg"
    Image.fromarray(arr).save(path, quality=95)
    return path


@pytest.fixture
def run(weights_dir, capsys):
    """The colorize command in this process on the test weights: run(*args) -> (exit status, stderr)."""
    from engine.cli import main

    def run(*args):
        code = main([*map(str, args), "--weights", str(weights_dir), "--backend", "onnx"])
        return code, capsys.readouterr().err
    return run
