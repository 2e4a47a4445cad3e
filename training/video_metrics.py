"""Temporal consistency metrics, computed streaming (a few frames in memory):

- chroma warping error (after Lai et al. 2018): mean over frames of the squared difference of
  BT.601 U, V between each output frame and the previous output frame warped by the optical flow
  of the *input* (grey) video, over the pixels that are not occluded (forward-backward flow
  check). Lai et al. take RGB, but a colorizer keeps the input's luminance, so most of an RGB
  error is the luminance's own (flow errors, lighting) and the same for every method: U, V alone
  is the flicker of colour, which is what colorization controls;
- colour distribution consistency, CDC (Liu et al. 2021): Jensen-Shannon divergence (base 2, so
  in [0, 1]) of the per-channel RGB histograms of frames t and t+d, averaged over channels, frames
  and d in {1, 2, 4}.
Flow: OpenCV's DIS optical flow (medium preset) on the full-resolution input luminance.
"""
from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from engine.color import rgb_to_yuv
from engine.temporal import warp

CDC_STEPS = (1, 2, 4)
HIST_BINS = 64


def consistent(flow_back: np.ndarray, flow_fwd: np.ndarray) -> np.ndarray:
    """Pixels whose backward flow is undone by the forward flow (Sundaram et al. 2010): not occluded."""
    fwd_at = warp(flow_fwd, flow_back)
    err = ((flow_back + fwd_at) ** 2).sum(-1)
    return err < 0.01 * ((flow_back ** 2).sum(-1) + (fwd_at ** 2).sum(-1)) + 0.5


class InputFlow:
    """Flow from each input frame to the previous one, and where it can be trusted."""

    def __init__(self):
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.prev: np.ndarray | None = None

    def __call__(self, grey: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """grey uint8 (H, W) -> (flow to the previous frame, visibility mask), or None for the first."""
        prev, self.prev = self.prev, grey
        if prev is None or prev.shape != grey.shape:
            return None
        back = self.dis.calc(grey, prev, None)
        fwd = self.dis.calc(prev, grey, None)
        return back, consistent(back, fwd)


class WarpingError:
    """Accumulates the chroma warping error of one output sequence."""

    def __init__(self):
        self.prev: np.ndarray | None = None
        self.values: list[float] = []

    def add(self, rgb: np.ndarray, flow_mask) -> None:
        out = np.ascontiguousarray(rgb_to_yuv(rgb.astype(np.float32) / 255)[..., 1:])
        if self.prev is not None and flow_mask is not None:
            flow, mask = flow_mask
            if mask.any():
                d = ((out - warp(self.prev, flow)) ** 2).sum(-1)
                self.values.append(float(d[mask].mean()))
        self.prev = out

    @property
    def value(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")


def _hist(rgb: np.ndarray) -> np.ndarray:
    h = np.stack([np.bincount((rgb[..., c] >> 2).ravel(), minlength=HIST_BINS) for c in range(3)])
    return h.astype(np.float64) / h.sum(1, keepdims=True)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits along the last axis."""
    m = 0.5 * (p + q)
    kl = lambda a: np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / np.where(m > 0, m, 1)), 0).sum(-1)  # noqa: E731
    return 0.5 * kl(p) + 0.5 * kl(q)


class CDC:
    """Accumulates the colour distribution consistency of one output sequence."""

    def __init__(self):
        self.recent: deque = deque(maxlen=max(CDC_STEPS))
        self.values = {d: [] for d in CDC_STEPS}

    def add(self, rgb: np.ndarray) -> None:
        h = _hist(rgb)
        for d in CDC_STEPS:
            if len(self.recent) >= d:
                self.values[d].append(float(js_divergence(self.recent[-d], h).mean()))
        self.recent.append(h)

    @property
    def value(self) -> float:
        per_step = [np.mean(v) for v in self.values.values() if v]
        return float(np.mean(per_step)) if per_step else float("nan")
