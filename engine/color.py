"""Colour math: BT.601 YUV, the quantised chroma bins, rebalancing weights and the annealed mean.

Everything that turns numbers into colours lives here, so the CLI, the desktop app, GIMP and
training all agree on what a bin and a temperature mean.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import ColorizeError

# Analog BT.601 YUV: Y in [0, 1], U = U_MAX (B - Y) / (1 - Wb) in [-U_MAX, U_MAX], V likewise from R.
# Built from the definition (not rounded table values) so that grey has exactly zero chroma.
U_MAX, V_MAX = 0.436, 0.615
_WR, _WG, _WB = 0.299, 0.587, 0.114
RGB_TO_YUV = np.array(
    [[_WR, _WG, _WB],
     [-_WR * U_MAX / (1 - _WB), -_WG * U_MAX / (1 - _WB), U_MAX],
     [V_MAX, -_WG * V_MAX / (1 - _WR), -_WB * V_MAX / (1 - _WR)]], dtype=np.float64)
YUV_TO_RGB = np.linalg.inv(RGB_TO_YUV)


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """Convert float RGB in [0, 1] (..., 3) to YUV (..., 3)."""
    return (np.asarray(rgb, np.float32) @ RGB_TO_YUV.T.astype(np.float32)).astype(np.float32)


def yuv_to_rgb(yuv: np.ndarray) -> np.ndarray:
    """Convert YUV (..., 3) to float RGB (..., 3), not clipped."""
    return (np.asarray(yuv, np.float32) @ YUV_TO_RGB.T.astype(np.float32)).astype(np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Y of float RGB (..., 3); for grey pixels (R = G = B) this is exactly the grey value."""
    w = RGB_TO_YUV[0].astype(np.float32)
    return rgb[..., 0] * w[0] + rgb[..., 1] * w[1] + rgb[..., 2] * w[2]


def is_colour(samples: np.ndarray, maxval: float = 255.0) -> bool:
    """True for a picture with real colour: mean |R-G| + |G-B| of at least 2 (on a 0-255 scale)
    at 64x64, so JPEG noise and scanner tints of a grey photo do not count."""
    if samples.ndim != 3:
        return False
    small = cv2.resize(np.ascontiguousarray(samples[..., :3]), (64, 64), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32) * np.float32(255.0 / maxval)
    diff = np.abs(small[..., 0] - small[..., 1]).mean() + np.abs(small[..., 1] - small[..., 2]).mean()
    return bool(diff >= 2)


def grid_shape(bin_size: float) -> tuple[int, int]:
    """Number of equal-sized bins along U and V that cover the whole YUV gamut."""
    return int(np.ceil(2 * U_MAX / bin_size)), int(np.ceil(2 * V_MAX / bin_size))


def grid_index(uv: np.ndarray, bin_size: float) -> np.ndarray:
    """Flat index of the grid cell of each UV value (..., 2)."""
    nu, nv = grid_shape(bin_size)
    iu = np.clip(((uv[..., 0] + U_MAX) / bin_size).astype(np.int64), 0, nu - 1)
    iv = np.clip(((uv[..., 1] + V_MAX) / bin_size).astype(np.int64), 0, nv - 1)
    return iu * nv + iv


def grid_centers(bin_size: float) -> np.ndarray:
    """UV centre of every grid cell, in flat-index order (nu * nv, 2)."""
    nu, nv = grid_shape(bin_size)
    u = -U_MAX + (np.arange(nu) + 0.5) * bin_size
    v = -V_MAX + (np.arange(nv) + 0.5) * bin_size
    uu, vv = np.meshgrid(u, v, indexing="ij")
    return np.stack([uu.ravel(), vv.ravel()], axis=1).astype(np.float32)


def uv_histogram(uv: np.ndarray, bin_size: float) -> np.ndarray:
    """Counts of UV values (..., 2) per grid cell (flat, nu * nv)."""
    nu, nv = grid_shape(bin_size)
    return np.bincount(grid_index(uv, bin_size).ravel(), minlength=nu * nv).astype(np.int64)


@dataclass
class ChromaBins:
    """The n kept UV bins: their centres, their prior P(b) and the rebalancing weights."""

    centers: np.ndarray          # (n, 2) UV centre of each kept bin
    prior: np.ndarray            # (n,) P(b), sums to 1
    bin_size: float              # side of the equal-sized square bins in the UV plane
    lam: float = 0.5             # λ: 0 = full inverse-frequency weights, 1 = no rebalancing
    coverage: float = 1.0        # fraction of training pixels whose own bin was kept
    weights: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.centers = np.asarray(self.centers, np.float32).reshape(-1, 2)
        self.prior = np.asarray(self.prior, np.float64)
        if len(self.centers) != len(self.prior) or len(self.prior) < 2:
            raise ValueError("bins: centres and prior must have the same length (at least 2)")
        self.prior = self.prior / self.prior.sum()
        self.weights = rebalance_weights(self.prior, self.lam)

    @property
    def n(self) -> int:
        return len(self.centers)

    @classmethod
    def from_histogram(cls, counts: np.ndarray, bin_size: float, n: int, lam: float = 0.5) -> "ChromaBins":
        """Keep the n most frequent grid cells of a UV histogram (from `uv_histogram`)."""
        counts = np.asarray(counts, np.float64)
        order = np.argsort(-counts, kind="stable")[:n]
        order = order[counts[order] > 0]
        keep = np.sort(order)  # grid order keeps neighbouring bins close in the index
        return cls(grid_centers(bin_size)[keep], counts[keep], bin_size, lam,
                   coverage=float(counts[keep].sum() / counts.sum()))

    def assign(self, uv: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
        """Index of the nearest kept bin for each UV value (..., 2)."""
        flat = np.asarray(uv, np.float32).reshape(-1, 2)
        out = np.empty(len(flat), np.int64)
        c2 = (self.centers ** 2).sum(1)
        for s in range(0, len(flat), chunk):
            p = flat[s:s + chunk]
            # |p - c|^2 = |p|^2 - 2 p.c + |c|^2; |p|^2 is the same for every bin
            out[s:s + chunk] = np.argmin(c2[None, :] - 2 * p @ self.centers.T, axis=1)
        return out.reshape(np.shape(uv)[:-1])

    def to_dict(self) -> dict:
        return {"bin_size": self.bin_size, "lam": self.lam, "coverage": self.coverage,
                "centers": np.round(self.centers.astype(float), 6).tolist(),
                "prior": self.prior.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "ChromaBins":
        return cls(np.array(d["centers"]), np.array(d["prior"]), float(d["bin_size"]),
                   float(d.get("lam", 0.5)), float(d.get("coverage", 1.0)))

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "ChromaBins":
        return cls.from_dict(json.loads(text))


def parse_colour(colour) -> tuple[int, int, int]:
    """8-bit RGB of "#RRGGBB", "#RGB", a CSS name ("teal") or an (R, G, B) tuple of 0-255."""
    from PIL import ImageColor

    try:
        if isinstance(colour, str):
            rgb = ImageColor.getrgb(colour.strip())[:3]
        else:
            rgb = tuple(round(float(c)) for c in colour)
            if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
                raise ValueError
    except (TypeError, ValueError):
        raise ColorizeError(f"colour {colour!r} does not parse: use '#RRGGBB', '#RGB', a colour name "
                            "or an (R, G, B) tuple of 0-255") from None
    return rgb


def rebalance_weights(prior: np.ndarray, lam: float) -> np.ndarray:
    """w ∝ ((1-λ)P(b) + λ/n)^-1, scaled so that Σ P(b) w(b) = 1 (the loss keeps its size)."""
    prior = np.asarray(prior, np.float64)
    w = 1.0 / ((1 - lam) * prior + lam / len(prior))
    return (w / (prior * w).sum()).astype(np.float32)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax."""
    z = logits - logits.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


TEMPERATURE_VIVID = 0.05  # the vivid end of the useful range: below it every pixel is nearly its mode


def check_temperature(temperature) -> float:
    """The temperature as a float if it is in (0, 1] (1 = plain mean, towards 0 = the mode);
    otherwise ColorizeError. The one definition every front end uses."""
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise ColorizeError(f"temperature must be a number in (0, 1], got {temperature!r}") from None
    if not 0 < t <= 1:
        raise ColorizeError(f"temperature must be in (0, 1], got {t:g}")
    return t


def annealed_mean(logits: np.ndarray, centers: np.ndarray, temperature: float, axis: int = 1) -> np.ndarray:
    """Expected UV under z^(1/T) renormalised, with z = softmax(logits).

    z^(1/T) / Σ z^(1/T) is softmax(logits / T), so we never raise tiny probabilities to a power.
    T = 1 is the plain mean, T -> 0 the mode. `axis` is the bin axis; UV ends up on that axis.
    """
    check_temperature(temperature)
    logits = np.moveaxis(np.asarray(logits, np.float32), axis, -1)
    if temperature < 1e-3:  # the limit: all weight on the most likely bin
        uv = centers[np.argmax(logits, axis=-1)]
    else:
        uv = softmax(logits / np.float32(temperature)) @ centers
    return np.moveaxis(uv.astype(np.float32), -1, axis)
