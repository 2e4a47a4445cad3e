"""A screen-sized copy of a Prediction, re-rendered while the vividness slider is dragged.

Rendering a 12 MP photo takes about 0.2 s, too slow to follow a drag. The copy keeps the network's
output (logits, bin centres) and replaces only the full-resolution luminance by one about the size
of the view, so it renders in a few milliseconds; the view scales it up. The full image is
rendered again once the slider is released.
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from engine import Canvas, Prediction


def preview_prediction(prediction: Prediction, side: int) -> Prediction | None:
    """The prediction on a luminance whose long side is `side` pixels; None when the image is no
    larger than that (its own render is then as cheap)."""
    canvas = prediction.canvas
    h, w = canvas.luminance.shape
    scale = side / max(h, w)
    if scale >= 1:
        return None
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(canvas.luminance, size, interpolation=cv2.INTER_AREA)
    alpha = canvas.picture.alpha
    if alpha is not None:  # grey + alpha, so a transparent photo previews as it renders
        a = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
        if a.dtype != small.dtype:  # 16-bit alpha beside float luminance in [0, 1]
            a = a.astype(np.float32) * np.float32(1 / canvas.picture.maxval)
        small = np.dstack([small, a])
    return replace(prediction, canvas=Canvas.of(small))
