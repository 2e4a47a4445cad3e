"""Global colour hints without retraining: pull every pixel's bin distribution toward the colours of
a reference photo or a palette.

    p'(b|x) ∝ p(b|x) · (h_ref(b) / P(b))^s

h_ref is the reference's histogram over the model's bins, P the training prior and s in [0, 1] the
strength. Dividing by P takes out what the network already expects of any photo, so only what is
special about the reference pulls. In logit space this is one bias per bin, s · log(h_ref / P),
added to every pixel's logits: changing the reference or its strength never reruns the network.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .color import ChromaBins, is_colour, parse_colour, rgb_to_yuv
from .errors import ColorizeError
from .imageio import read_picture, to_picture

SPREAD = 0.5          # Gaussian σ, in bin sizes, over which each reference pixel counts: a colour next
                      # to the reference's is plausible too (wider blurred the pull; docs/hints.md)
PALETTE_SPREAD = 1.0  # σ of a palette colour's bump, in bin sizes: one colour stands for its shades
PRIOR_SHARE = 0.1     # share of the training prior mixed into h_ref: a colour absent from the
                      # reference loses at most log(1 / PRIOR_SHARE) · s in logit, never all
REFERENCE_SIDE = 256  # a reference photo is shrunk to this long side: its histogram needs no more


def check_strength(strength) -> float:
    """The strength as a float if it is in [0, 1] (0 = no pull, 1 = full); otherwise ColorizeError."""
    try:
        s = float(strength)
    except (TypeError, ValueError):
        raise ColorizeError(f"reference strength must be a number in [0, 1], got {strength!r}") from None
    if not 0 <= s <= 1:
        raise ColorizeError(f"reference strength must be in [0, 1], got {s:g}")
    return s


def gaussian_weights(uv: np.ndarray, centers: np.ndarray, sigma: float) -> np.ndarray:
    """(k, n): a Gaussian in UV around each of k colours over the n bin centres, each row summing to 1."""
    d2 = ((np.asarray(uv, np.float64)[:, None] - centers[None].astype(np.float64)) ** 2).sum(-1)
    d2 -= d2.min(axis=1, keepdims=True)  # a colour far outside the kept bins must not underflow to 0/0
    w = np.exp(-d2 / (2 * sigma ** 2))
    return w / w.sum(axis=1, keepdims=True)


def with_prior(h: np.ndarray, prior: np.ndarray, share: float = PRIOR_SHARE) -> np.ndarray:
    """(1 - share) · h + share · P: every bin keeps some probability, so log(h / P) >= log(share)."""
    return (1 - share) * h / h.sum() + share * prior


def photo_histogram(rgb: np.ndarray, bins: ChromaBins, spread: float = SPREAD,
                    share: float = PRIOR_SHARE) -> np.ndarray:
    """h_ref (n,) of float RGB pixels (..., 3) in [0, 1]: each pixel's nearest bin, spread over the
    bins around it, mixed with the prior."""
    counts = np.bincount(bins.assign(rgb_to_yuv(rgb)[..., 1:]).ravel(), minlength=bins.n).astype(np.float64)
    # row b of the kernel says where bin b's count goes; rows sum to 1, so counts are only moved
    h = counts @ gaussian_weights(bins.centers, bins.centers, spread * bins.bin_size)
    return with_prior(h, bins.prior, share)


def palette_histogram(colours, bins: ChromaBins, spread: float = PALETTE_SPREAD,
                      share: float = PRIOR_SHARE) -> np.ndarray:
    """h_ref (n,) of a palette: an equal Gaussian bump over the bins around each colour's UV."""
    if not colours:
        raise ColorizeError("the palette has no colours")
    uv = rgb_to_yuv(np.asarray([parse_colour(c) for c in colours], np.float64) / 255)[:, 1:]
    return with_prior(gaussian_weights(uv, bins.centers, spread * bins.bin_size).mean(axis=0), bins.prior, share)


def palette_text(text: str) -> list[tuple[int, int, int]]:
    """The colours of a palette written as text ("#1f4e79,tan"); a text that is neither a file nor
    such a palette gets one line naming both readings."""
    try:
        return [parse_colour(c) for c in text.split(",")]
    except ColorizeError:
        raise ColorizeError(f"reference {text!r}: no such file, nor a palette of colours like '#1f4e79,tan'") from None


def reference_rgb(reference) -> np.ndarray:
    """A reference photo (path, PIL image or numpy array) as float RGB in [0, 1], at most
    REFERENCE_SIDE on its long side; ColorizeError if it cannot be read or is greyscale."""
    if isinstance(reference, (str, os.PathLike)):
        try:
            pic = read_picture(reference)
        except ColorizeError as e:
            raise ColorizeError(f"reference photo {Path(reference)}: {e}") from None
    elif isinstance(reference, (Image.Image, np.ndarray)):
        pic = to_picture(reference)
    else:
        raise ColorizeError("a reference must be a photo (path, PIL image or numpy array) or a list of "
                            f"colours, got {type(reference).__name__}")
    if not is_colour(pic.samples, pic.maxval):
        raise ColorizeError("reference photo is greyscale: it has no colours to follow")
    rgb = pic.samples.astype(np.float32) * np.float32(1 / pic.maxval)
    h, w = rgb.shape[:2]
    scale = REFERENCE_SIDE / max(h, w)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return rgb


@dataclass(frozen=True, eq=False)
class Reference:
    """A reference photo's or palette's histogram over one model's bins: read once, then any
    strength is one vector operation (an app's slider, every frame of a video)."""

    histogram: np.ndarray   # (n,) h_ref, sums to 1, every bin > 0
    bins: ChromaBins        # the model's bins it was made for

    @classmethod
    def of(cls, reference, bins: ChromaBins) -> "Reference":
        """From a path, PIL image or numpy RGB array (a photo), a list or tuple of colours (a
        palette), or a Reference (checked to be for these bins)."""
        if isinstance(reference, Reference):
            if reference.bins is not bins and not np.array_equal(reference.bins.centers, bins.centers):
                raise ColorizeError("this reference was made for another model's colour bins")
            return reference
        if isinstance(reference, (list, tuple)):
            return cls(palette_histogram(reference, bins), bins)
        if isinstance(reference, str) and not os.path.lexists(reference):
            return cls(palette_histogram(palette_text(reference), bins), bins)
        return cls(photo_histogram(reference_rgb(reference), bins), bins)

    def bias(self, strength) -> np.ndarray:
        """s · log(h_ref / P): the (n,) logit bias that pulls a prediction toward the reference."""
        return (check_strength(strength) * np.log(self.histogram / self.bins.prior)).astype(np.float32)
