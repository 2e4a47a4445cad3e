"""Local colour hints: the user says what colour a few spots are, and a model with hint inputs
(engine/model.py) spreads them over the objects they were put on.

Hints come as points `(x, y, colour)` in image pixels or as a hint image: RGBA, the photo's size,
colour dabs on transparency. Either way they become three planes at the network's input size:
the hints' chroma U, V and a mask that is 1 where a hint is, as the model was trained with
(training/hints.py). Only a hint's chroma counts: the photo keeps its own luminance.

The network spreads a hint's colour; the rendering keeps it where it was put (hint_cells): the
hinted cells of the network's output take the hint's chroma and weigh HINT_WEIGHT times more in
the guided filter that puts the colour on the full-resolution luminance. Without that the filter
averaged a corrected colour with the network's guesses around it (docs/hints.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .color import parse_colour, rgb_to_yuv
from .errors import ColorizeError

POINT_PATCH = 3  # a point covers this many pixels square at the network's input size (as in training)
HINT_WEIGHT = 24  # a wholly hinted cell counts as much as the other 24 cells of its 5x5 filter window together


@dataclass(frozen=True)
class Hint:
    x: float                     # image pixels, from the left
    y: float                     # image pixels, from the top
    rgb: tuple[int, int, int]    # 8-bit colour


def parse_hint(text: str) -> Hint:
    """'X,Y,COLOUR' (as the command line takes it; COLOUR as parse_colour reads it) -> a Hint."""
    parts = text.split(",")
    try:
        if len(parts) != 3:
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        raise ColorizeError(f"hint {text!r} is not X,Y,#RRGGBB") from None
    return Hint(x, y, parse_colour(parts[2]))


def as_hints(hints) -> list[Hint] | np.ndarray | None:
    """Points as Hint or (x, y, colour) tuples (colour as parse_colour reads it), or an RGBA hint image
    (numpy, PIL or path); None or empty means no hints."""
    if hints is None:
        return None
    if isinstance(hints, (list, tuple)):
        if not hints:
            return None
        return [h if isinstance(h, Hint) else Hint(float(h[0]), float(h[1]), parse_colour(h[2])) for h in hints]
    from PIL import Image

    if not isinstance(hints, np.ndarray):
        if not isinstance(hints, Image.Image):
            from .imageio import read_image

            hints = read_image(hints)
        if hints.mode != "RGBA":
            raise ColorizeError(f"the hint image must be RGBA (colour on transparency), not {hints.mode}")
        hints = np.asarray(hints)
    if hints.ndim != 3 or hints.shape[2] != 4:
        raise ColorizeError("the hint image must be RGBA (colour on transparency)")
    return hints


def hint_planes(hints, image_hw: tuple[int, int], work_hw: tuple[int, int]) -> np.ndarray | None:
    """(1, 3, h, w) float32 hint planes at the network's input size (h, w) for an image of size
    image_hw, or None when there are no hints. Raises ColorizeError for hints that do not fit."""
    hints = as_hints(hints)
    if hints is None:
        return None
    (H, W), (h, w) = image_hw, work_hw
    planes = np.zeros((3, h, w), np.float32)
    if isinstance(hints, list):
        for p in hints:
            if not (0 <= p.x < W and 0 <= p.y < H):
                raise ColorizeError(f"hint at ({p.x:g}, {p.y:g}) is outside the {W}x{H} image")
            u, v = rgb_to_yuv(np.asarray(p.rgb, np.float32) / 255)[1:]
            cx, cy = int(p.x * w / W), int(p.y * h / H)
            r = POINT_PATCH // 2
            region = (slice(max(cy - r, 0), cy + r + 1), slice(max(cx - r, 0), cx + r + 1))
            planes[0][region], planes[1][region], planes[2][region] = u, v, 1
        return planes[None]
    if hints.shape[:2] != (H, W):
        raise ColorizeError(f"the hint image is {hints.shape[1]}x{hints.shape[0]}, the photo {W}x{H}: "
                            "they must be the same size")
    alpha = hints[..., 3].astype(np.float32) / 255
    if not alpha.any():
        return None
    # area-average colour weighted by alpha, so a small dab keeps its colour when shrunk
    weighted = cv2.resize(rgb_to_yuv(hints[..., :3].astype(np.float32) / 255)[..., 1:] * alpha[..., None],
                          (w, h), interpolation=cv2.INTER_AREA)
    cover = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)
    mask = cover > 0
    planes[:2][:, mask] = (weighted[mask] / cover[mask, None]).T
    planes[2][mask] = 1
    return planes[None]


def hint_cells(planes: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Hint planes (3, H, W) at the network's input size -> at its output grid `shape` (h, w): the
    hints' chroma (h, w, 2) and the share of each cell that is hinted (h, w), 0 where none is."""
    h, w = shape
    mask = np.ascontiguousarray(planes[2])
    cover = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA)
    uv = np.stack([cv2.resize(np.ascontiguousarray(planes[c] * mask), (w, h), interpolation=cv2.INTER_AREA)
                   for c in range(2)], axis=-1)
    return uv / np.maximum(cover, 1e-6)[..., None], cover
