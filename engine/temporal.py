"""The temporal step for video: a running average of the network's per-pixel colour
*distributions* along optical flow, rendered with the annealed mean like a photo.

Why distributions and not colours: averaging colours that disagree (a blue and a brown guess for a
coat) gives grey, and a history of colours averaged again every frame fades towards grey. Averaging
distributions keeps both guesses as modes; the annealed mean then favours the stronger one, so
the output keeps the colour strength of a single frame while the flicker between guesses is
smoothed out.

Per pixel, with P the averaged distribution and p this frame's own (both over the n colour bins):

    P_t = a * warp(P_{t-1}) + (1 - a) * p_t,
    a   = memory * exp(-(|Y_t - warp(Y_{t-1})| / luma_sigma)^2) * BC(warp(P_{t-1}), p_t)^agreement_power

The past only counts where the scene is the same: where the warped luminance matches (not an
occlusion, new content or a wrong flow) and where the past and present distributions overlap
(Bhattacharyya coefficient BC); a mean mismatch above `cut` is a scene cut and drops the history.
Since a < memory < 1 everywhere, every pixel forgets within about 1 / (1 - memory) frames:
the output cannot freeze on old colours. No learned parts, so it works with any image model.
Parameters chosen on the first halves of the clips in ../shared/data/video (docs/video.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

REMAP_CHANNELS = 128  # cv2.remap takes at most this many channels at a time


@dataclass(frozen=True)
class TemporalConfig:
    memory: float = 0.9           # the past's weight where it matches: forgets in ~10 frames
    luma_sigma: float = 0.15      # luminance mismatch (0-1) at which the past's weight is 1/e of it
    agreement_power: float = 4.0  # how much disagreeing distributions lower the past's weight
    cut: float = 0.12             # mean luminance mismatch that counts as a scene cut


def to_u8(y: np.ndarray) -> np.ndarray:
    """Luminance in [0, 1] as the uint8 image DIS flow wants."""
    return np.clip(y * 255 + 0.5, 0, 255).astype(np.uint8)


def flow_to_previous(cur: np.ndarray, prev: np.ndarray, dis=None) -> np.ndarray:
    """Per-pixel displacement (h, w, 2) such that cur(x) ~ prev(x + flow(x)); uint8 inputs (DIS)."""
    dis = dis or cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    return dis.calc(cur, prev, None)


def warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample img (h, w[, c]) at x + flow(x): the past brought into the current frame (bilinear)."""
    h, w = flow.shape[:2]
    grid = np.mgrid[0:h, 0:w].astype(np.float32)
    mx, my = grid[1] + flow[..., 0], grid[0] + flow[..., 1]
    sample = lambda a: cv2.remap(np.ascontiguousarray(a), mx, my, cv2.INTER_LINEAR,  # noqa: E731
                                 borderMode=cv2.BORDER_REPLICATE)
    if img.ndim == 3 and img.shape[2] > REMAP_CHANNELS:
        return np.concatenate([sample(img[..., i:i + REMAP_CHANNELS])
                               for i in range(0, img.shape[2], REMAP_CHANNELS)], -1)
    return sample(img).reshape(img.shape)


class TemporalFilter:
    """One video's memory: the averaged distribution and the luminance of the previous frame."""

    def __init__(self, cfg: TemporalConfig = TemporalConfig()):
        self.cfg = cfg
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.probs: np.ndarray | None = None   # (h, w, n) float32
        self.prev_y: np.ndarray | None = None  # (h, w) float32

    def __call__(self, y: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """This frame's low-resolution luminance (h, w) in [0, 1] and bin distribution (h, w, n)
        -> the distribution averaged with the motion-compensated past, (h, w, n)."""
        y = np.ascontiguousarray(y, np.float32)
        probs = np.ascontiguousarray(probs, np.float32)  # bins last and contiguous: 2x faster below
        if self.probs is None or self.probs.shape != probs.shape:  # first frame, or a new size
            self.probs = probs
        else:
            flow = flow_to_previous(to_u8(y), to_u8(self.prev_y), self.dis)
            past = warp(self.probs, flow)
            mismatch = np.abs(y - warp(self.prev_y, flow))
            if mismatch.mean() > self.cfg.cut:
                self.probs = probs
            else:
                a = self.cfg.memory * np.exp(-(mismatch / self.cfg.luma_sigma) ** 2)
                if self.cfg.agreement_power:
                    overlap = np.sqrt(past * probs).sum(-1).clip(0, 1)
                    a *= overlap ** self.cfg.agreement_power
                a = a[..., None]
                past -= probs  # in place: a * past + (1 - a) * probs without two more 256-bin arrays
                past *= a
                past += probs
                self.probs = past
        self.prev_y = y
        return self.probs
