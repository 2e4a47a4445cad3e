import numpy as np
import pytest

from engine import ColorizeError, check_temperature
from engine.color import (ChromaBins, U_MAX, V_MAX, annealed_mean, grid_centers, luminance,
                          rebalance_weights, rgb_to_yuv, uv_histogram, yuv_to_rgb)
from conftest import make_bins


def test_yuv_round_trip_and_range():
    rgb = np.random.default_rng(1).random((1000, 3)).astype(np.float32)
    yuv = rgb_to_yuv(rgb)
    np.testing.assert_allclose(yuv_to_rgb(yuv), rgb, atol=1e-5)
    assert yuv[:, 0].min() >= 0 and yuv[:, 0].max() <= 1
    assert np.abs(yuv[:, 1]).max() <= U_MAX + 1e-6 and np.abs(yuv[:, 2]).max() <= V_MAX + 1e-6
    np.testing.assert_allclose(luminance(rgb), yuv[:, 0], atol=1e-6)


def test_grey_has_no_chroma_and_known_colours():
    grey = np.linspace(0, 1, 11, dtype=np.float32)[:, None].repeat(3, 1)
    yuv = rgb_to_yuv(grey)
    np.testing.assert_allclose(yuv[:, 0], grey[:, 0], atol=1e-6)
    np.testing.assert_allclose(yuv[:, 1:], 0, atol=1e-6)
    red, blue = rgb_to_yuv(np.array([[1, 0, 0], [0, 0, 1]], np.float32))
    assert red[2] == pytest.approx(0.615, abs=1e-4) and blue[1] == pytest.approx(0.436, abs=1e-4)


def test_bins_keep_most_frequent_and_assign_nearest():
    rng = np.random.default_rng(0)
    # three clusters of very different frequency plus a rare outlier
    grid = grid_centers(0.05)
    a, b, c = (grid[np.argmin(np.abs(grid - p).sum(1))] for p in ([0.1, 0.1], [-0.2, 0.3], [0.0, -0.3]))
    uv = np.concatenate([rng.normal(a, 0.004, (5000, 2)), rng.normal(b, 0.004, (2000, 2)),
                         rng.normal(c, 0.004, (500, 2)), [[0.4, -0.6]]]).astype(np.float32)
    bins = ChromaBins.from_histogram(uv_histogram(uv, 0.05), 0.05, n=3)
    assert bins.n == 3 and bins.coverage == pytest.approx(7500 / 7501)
    np.testing.assert_allclose(sorted(bins.prior), [500 / 7500, 2000 / 7500, 5000 / 7500])
    for centre in (a, b, c):
        np.testing.assert_allclose(bins.centers[bins.assign(centre)], centre, atol=1e-6)
    # brute force agrees for arbitrary points, including the dropped outlier
    pts = rng.uniform(-0.4, 0.4, (3000, 2)).astype(np.float32)
    brute = np.argmin(((pts[:, None] - bins.centers[None]) ** 2).sum(-1), 1)
    np.testing.assert_array_equal(bins.assign(pts), brute)
    assert bins.assign(pts.reshape(30, 100, 2)).shape == (30, 100)


def test_grid_covers_gamut():
    c = grid_centers(0.04)
    assert c[:, 0].min() < -U_MAX + 0.04 and c[:, 0].max() > U_MAX - 0.04
    assert c[:, 1].min() < -V_MAX + 0.04 and c[:, 1].max() > V_MAX - 0.04


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_rebalance_weights(lam):
    prior = np.array([0.7, 0.2, 0.09, 0.01])
    w = rebalance_weights(prior, lam)
    assert (prior * w).sum() == pytest.approx(1, abs=1e-6)
    if lam == 1.0:
        np.testing.assert_allclose(w, 1, atol=1e-6)  # no rebalancing
    else:
        assert np.all(np.diff(w) > 0)  # rarer bins weigh more
    if lam == 0.0:
        np.testing.assert_allclose(w * prior, 0.25, atol=1e-6)  # pure inverse frequency


def test_annealed_mean_limits():
    centers = np.array([[0.0, 0.0], [0.2, 0.0], [0.0, 0.3]], np.float32)
    logits = np.log(np.array([[0.5, 0.3, 0.2]], np.float32))
    mean = annealed_mean(logits, centers, 1.0, axis=-1)
    np.testing.assert_allclose(mean, [[0.3 * 0.2, 0.2 * 0.3]], atol=1e-6)
    np.testing.assert_allclose(annealed_mean(logits, centers, 0.01, axis=-1), [[0, 0]], atol=1e-6)
    np.testing.assert_allclose(annealed_mean(logits, centers, 1e-4, axis=-1), [[0, 0]])  # the mode
    # z^(1/T) renormalised, computed directly
    z = np.array([0.5, 0.3, 0.2]) ** (1 / 0.4)
    np.testing.assert_allclose(annealed_mean(logits, centers, 0.4, axis=-1), [(z / z.sum()) @ centers], atol=1e-6)
    for bad in (1.5, 0.0, -0.1, float("nan"), "vivid"):  # one contract, (0, 1], for every front end
        with pytest.raises(ColorizeError, match=r"temperature must be .*\(0, 1\]"):
            annealed_mean(logits, centers, bad)
    assert check_temperature("0.3") == 0.3


def test_bins_json_round_trip():
    bins = make_bins()
    again = ChromaBins.from_json(bins.to_json())
    np.testing.assert_allclose(again.centers, bins.centers, atol=1e-6)
    np.testing.assert_allclose(again.prior, bins.prior)
    np.testing.assert_allclose(again.weights, bins.weights, rtol=1e-6)
    assert again.bin_size == bins.bin_size and again.lam == bins.lam
