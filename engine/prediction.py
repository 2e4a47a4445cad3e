"""Prediction: the network's per-pixel colour distribution for one picture, rendered at any
temperature, pulled toward a reference, or asked for colour suggestions, without running the
network again."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from .canvas import Canvas
from .color import ChromaBins, annealed_mean, softmax, yuv_to_rgb
from .errors import ColorizeError
from .hints import HINT_WEIGHT, hint_cells
from .reference import Reference, check_strength
from .settings import DEFAULT_QUALITY, DEFAULT_REFERENCE_STRENGTH


@dataclass
class Prediction:
    """The network's per-pixel bin distribution for one image, ready to render at any temperature."""

    logits: np.ndarray      # (n_bins, h, w) at half the working size, as the network gave them
    canvas: Canvas          # the image's full-resolution side
    bins: ChromaBins        # the model's colour bins: UV centres, prior, bin size
    temperature: float      # the default used by render()
    bias: np.ndarray | None = None  # (n_bins,) added to every pixel's logits: a reference's pull
    hints: np.ndarray | None = None  # (1, 3, 2h, 2w) the hint planes the network was given (engine/hints.py)

    def __repr__(self) -> str:
        h, w = self.canvas.luminance.shape
        return (f"Prediction({self.logits.shape[0]} bins at {self.logits.shape[2]}x{self.logits.shape[1]} "
                f"for a {w}x{h} image, temperature {self.temperature:g}"
                f"{'' if self.bias is None else ', with a reference'})")

    @property
    def scores(self) -> np.ndarray:
        """The logits with the reference's bias added (the logits themselves without a reference):
        what every rendering uses."""
        return self.logits if self.bias is None else self.logits + self.bias[:, None, None]

    @property
    def probs(self) -> np.ndarray:
        """Probability of each bin at each pixel of the network's output grid (half the working
        size), (n_bins, h, w); pulled toward the reference, if there is one."""
        return softmax(self.scores, axis=0)

    def chroma(self, temperature: float | None = None) -> np.ndarray:
        """Annealed-mean UV at low resolution, (h, w, 2); hinted cells take their hint's colour."""
        t = self.temperature if temperature is None else temperature
        uv = np.moveaxis(annealed_mean(self.scores, self.bins.centers, t, axis=0), 0, -1)
        if self.hint_cells is None:
            return uv
        hint_uv, cover = self.hint_cells
        return uv + cover[..., None] * (hint_uv - uv)

    @cached_property
    def hint_cells(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The hints on the output grid (engine/hints.py hint_cells), once for every rendering."""
        return None if self.hints is None else hint_cells(self.hints[0], self.logits.shape[1:])

    def weight(self) -> np.ndarray | None:
        """How much each low-resolution cell counts in the guided filter: hinted cells more (None:
        all alike)."""
        return None if self.hint_cells is None else 1 + HINT_WEIGHT * self.hint_cells[1]

    def guide(self) -> np.ndarray:
        """Luminance at the chroma's resolution, (h, w) in [0, 1]: the guided filter's guide."""
        return self.canvas.guide(*self.logits.shape[1:])

    def render(self, temperature: float | None = None):
        """The colorized image at full resolution, in the kind of the input (PIL or numpy)."""
        return self.canvas.render(self.chroma(temperature), weight=self.weight())

    def save(self, dst: str | os.PathLike, temperature: float | None = None, quality: int = DEFAULT_QUALITY,
             overwrite: bool | None = None) -> None:
        """Render and write to dst atomically (PNG, JPEG, TIFF, WebP, BMP by its suffix); 16-bit
        sources stay 16-bit in PNG and TIFF. overwrite: None replaces an existing dst unless it is
        the photo's own file (the original is never lost by accident), True replaces even that,
        False keeps any existing dst (OutputExists)."""
        self.canvas.save(self.chroma(temperature), dst, quality, overwrite, weight=self.weight())

    def with_reference(self, reference, strength: float = DEFAULT_REFERENCE_STRENGTH) -> "Prediction":
        """The same network output pulled toward a reference photo (path, PIL, numpy RGB) or palette
        (list of colours) with strength s in [0, 1] (engine/reference.py); None removes the pull.
        Runs no network: an app can follow a slider."""
        check_strength(strength)
        bias = None if reference is None else Reference.of(reference, self.bins).bias(strength)
        return replace(self, bias=bias)

    def suggestions(self, x: int, y: int, k: int = 6) -> list[tuple[int, int, int]]:
        """The k most likely distinct colours at image pixel (x, y), most likely first, as 8-bit RGB
        at that pixel's own luminance (what the pixel would become)."""
        h, w = self.canvas.luminance.shape
        if not all(isinstance(v, (int, np.integer)) for v in (x, y, k)):
            raise ColorizeError(f"pixel coordinates and k must be whole numbers, got ({x!r}, {y!r}), k={k!r}")
        if not (0 <= x < w and 0 <= y < h):
            raise ColorizeError(f"pixel ({x}, {y}) is outside the {w}x{h} image")
        if k < 1:
            raise ColorizeError(f"k must be at least 1, got {k}")
        centers, (hl, wl) = self.bins.centers, self.logits.shape[1:]
        # the network's grid cell that covers the pixel (cell centres at (i + 0.5) * W / w)
        scores = self.scores[:, min(hl - 1, int((y + 0.5) * hl / h)), min(wl - 1, int((x + 0.5) * wl / w))]
        chosen: list[int] = []
        for b in np.argsort(-scores, kind="stable"):
            # next-door bins are shades of one colour: a palette of them would say nothing
            if all(np.linalg.norm(centers[b] - centers[c]) >= 1.5 * self.bins.bin_size for c in chosen):
                chosen.append(int(b))
                if len(chosen) == k:
                    break
        lum = float(self.canvas.luminance[y, x]) / (255.0 if self.canvas.luminance.dtype == np.uint8 else 1.0)
        yuv = np.column_stack([np.full(len(chosen), lum), centers[chosen]])
        rgb = np.clip(yuv_to_rgb(yuv), 0, 1) * 255 + 0.5
        return [tuple(int(c) for c in px) for px in rgb.astype(np.uint8)]
