"""Full-resolution colorization: luminance -> network at a working size -> annealed mean ->
chroma upsampled guided by the full-resolution luminance -> recombined with the original Y."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .backends import open_backend
from .color import RGB_TO_YUV, YUV_TO_RGB, annealed_mean
from .imageio import ColorizeError, Picture, from_picture, read_image, to_picture, write_image
from .weights import Bundle, load_bundle

STRIDE = 8          # the network's input must be a multiple of this (3 downsamplings)
STRIP_ROWS = 256    # full-resolution work is done in strips so a 12 MP photo stays within memory
GUIDE_RADIUS = 2    # guided filter window radius, in low-resolution chroma pixels
GUIDE_EPS = 1e-3    # guided filter regulariser: smaller = colour follows luminance edges more


def working_shape(h: int, w: int, working_size: int) -> tuple[int, int]:
    """Network input size: long side = working_size, multiples of STRIDE, aspect kept."""
    scale = working_size / max(h, w)
    return (max(STRIDE, round(h * scale / STRIDE) * STRIDE),
            max(STRIDE, round(w * scale / STRIDE) * STRIDE))


def full_luminance(pic: Picture) -> np.ndarray:
    """Y of the picture in [0, 1], float32 (H, W), computed in strips to bound memory."""
    src = pic.samples
    if src.ndim == 2:
        return src.astype(np.float32) * np.float32(1 / pic.maxval)
    y = np.empty(src.shape[:2], np.float32)
    w = (RGB_TO_YUV[0] / pic.maxval).astype(np.float32)
    for r in range(0, src.shape[0], STRIP_ROWS):
        s = src[r:r + STRIP_ROWS].astype(np.float32)
        y[r:r + STRIP_ROWS] = s[..., 0] * w[0] + s[..., 1] * w[1] + s[..., 2] * w[2]
    return y


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    shrinking = h <= img.shape[0] and w <= img.shape[1]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def guided_coefficients(guide: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Fast guided filter (He & Sun 2015) at low resolution: uv ~ a * Y + b in every window.

    guide (h, w), uv (h, w, 2) -> coefficients (h, w, 4) = [a_u, b_u, a_v, b_v], which are smooth
    and can be upsampled, then applied to the full-resolution Y so colour edges follow image edges.
    """
    k = (2 * GUIDE_RADIUS + 1,) * 2
    box = lambda x: cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mean_i = box(guide)
    var_i = box(guide * guide) - mean_i * mean_i
    out = []
    for c in range(2):
        p = np.ascontiguousarray(uv[..., c])
        mean_p = box(p)
        a = (box(guide * p) - mean_i * mean_p) / (var_i + GUIDE_EPS)
        b = mean_p - a * mean_i
        out += [box(a), box(b)]
    return np.stack(out, axis=-1).astype(np.float32)


def _row_weights(h_out: int, h_in: int):
    """Bilinear (half-pixel centres) source rows and weights for each output row."""
    src = np.clip((np.arange(h_out) + 0.5) * (h_in / h_out) - 0.5, 0, h_in - 1)
    i0 = np.floor(src).astype(np.int64)
    return i0, np.minimum(i0 + 1, h_in - 1), (src - i0).astype(np.float32)[:, None, None]


def render(y: np.ndarray, coef: np.ndarray, maxval: float, dtype) -> np.ndarray:
    """Apply low-resolution guided coefficients to full-resolution Y and convert to RGB.

    The coefficients are upsampled across (cv2) at low height, then down, strip by strip, so no
    full-size float array beyond Y itself is ever held.
    """
    h, w = y.shape
    coef = cv2.resize(coef, (w, coef.shape[0]), interpolation=cv2.INTER_LINEAR)
    if coef.ndim == 2:  # cv2 drops a channel axis of one row; keep (h_low, W, 4)
        coef = coef[None]
    coef = coef.reshape(-1, w, 4)
    i0, i1, f = _row_weights(h, coef.shape[0])
    m = YUV_TO_RGB.astype(np.float32)
    out = np.empty((h, w, 3), dtype)
    scale = np.float32(maxval)
    for r in range(0, h, STRIP_ROWS):
        rows = slice(r, r + STRIP_ROWS)
        c = coef[i0[rows]] * (1 - f[rows]) + coef[i1[rows]] * f[rows]
        ys = y[rows]
        u = c[..., 0] * ys + c[..., 1]
        v = c[..., 2] * ys + c[..., 3]
        rgb = np.stack([ys + m[0, 1] * u + m[0, 2] * v,
                        ys + m[1, 1] * u + m[1, 2] * v,
                        ys + m[2, 1] * u + m[2, 2] * v], axis=-1)
        np.clip(rgb, 0, 1, out=rgb)
        if dtype == np.float32:
            out[rows] = rgb
        else:
            rgb *= scale
            rgb += 0.5
            out[rows] = rgb.astype(dtype)
    return out


@dataclass
class Prediction:
    """The network's per-pixel bin distribution for one image, ready to render at any temperature."""

    logits: np.ndarray      # (n_bins, h, w) at half the working size
    luminance: np.ndarray   # (H, W) full-resolution Y in [0, 1]
    picture: Picture        # the source, for alpha, depth and kind
    centers: np.ndarray     # (n_bins, 2) UV of each bin
    temperature: float      # the default used by render()

    @property
    def probs(self) -> np.ndarray:
        """Per-pixel probability of each bin, (n_bins, h, w)."""
        z = self.logits - self.logits.max(axis=0, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=0, keepdims=True)

    def chroma(self, temperature: float | None = None) -> np.ndarray:
        """Annealed-mean UV at low resolution, (h, w, 2)."""
        t = self.temperature if temperature is None else temperature
        return np.moveaxis(annealed_mean(self.logits, self.centers, t, axis=0), 0, -1)

    def render(self, temperature: float | None = None):
        """The colorized image at full resolution, in the kind of the input (PIL or numpy)."""
        uv = self.chroma(temperature)
        guide = _resize(self.luminance, uv.shape[0], uv.shape[1])
        coef = guided_coefficients(guide, uv)
        dtype = np.float32 if self.picture.maxval == 1.0 else self.picture.samples.dtype
        rgb = render(self.luminance, coef, self.picture.maxval, dtype)
        return from_picture(rgb, self.picture)


class Colorizer:
    """A loaded model. `Colorizer()` uses the shipped weights, onnxruntime on the CPU or CUDA."""

    def __init__(self, weights: str | os.PathLike | None = None, backend: str = "auto",
                 device: str = "auto", working_size: int | None = None):
        self.bundle: Bundle = load_bundle(weights)
        self.net = open_backend(self.bundle, backend, device)
        self.working_size = int(working_size or self.bundle.working_size)
        if self.working_size < STRIDE:
            raise ColorizeError(f"working size must be at least {STRIDE}")

    @property
    def backend(self) -> str:
        return self.net.name

    @property
    def device(self) -> str:
        return self.net.device

    @property
    def temperature(self) -> float:
        return self.bundle.temperature

    def predict(self, image) -> Prediction:
        """Run the network once; the Prediction renders any temperature without running it again."""
        if isinstance(image, (str, Path)):
            image = read_image(image)
        pic = image if isinstance(image, Picture) else to_picture(image)
        y = full_luminance(pic)
        h, w = working_shape(*y.shape, self.working_size)
        logits = self.net(_resize(y, h, w)[None, None])[0]
        return Prediction(logits, y, pic, self.bundle.bins.centers, self.temperature)

    def colorize(self, image, temperature: float | None = None):
        """Colorize a path (returns a PIL image), PIL image or numpy array (same kind back), or a
        list of them (a list back)."""
        if isinstance(image, (list, tuple)):
            return [self.colorize(im, temperature) for im in image]
        return self.predict(image).render(temperature)

    def colorize_file(self, src: str | os.PathLike, dst: str | os.PathLike,
                      temperature: float | None = None, quality: int = 95) -> None:
        """Read src, colorize, write dst atomically. 16-bit sources stay 16-bit in PNG/TIFF."""
        pic = to_picture(read_image(src))
        if pic.maxval == 65535.0:
            pic.kind = "numpy"  # PIL has no 16-bit RGB; write_image stores the array's 16 bits
        write_image(self.predict(pic).render(temperature), dst, quality=quality)


_default: Colorizer | None = None


def colorize(image, temperature: float | None = None):
    """One call: colorize a path, PIL image, numpy array or list of them with the shipped model."""
    global _default
    if _default is None:
        _default = Colorizer()
    return _default.colorize(image, temperature)
