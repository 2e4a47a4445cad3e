"""Clips for training the temporal step: synthetic camera motion over still photos, and real clips.

Synthetic clips know nothing the engine would not: each frame is rendered from a photo through a
smoothly changing affine transform (pan, zoom, small rotation), with brightness flicker, sometimes
a second photo sliding across as a moving object (occlusions), and sometimes a cut to another
photo. Every clip is then run once through the frozen image model, so training only touches the
small temporal network.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.color import rgb_to_yuv
from engine.pipeline import resize
from engine.temporal import flow_to_previous, to_u8, warp
from engine.video import FrameColorizer
from engine.videoio import VideoReader


@dataclass
class ClipBatch:
    """B clips of L frames at one low resolution (h, w), everything the temporal loss needs."""

    y: np.ndarray        # (B, L, h, w) low-resolution luminance in [0, 1], what the engine's guide is
    uv: np.ndarray       # (B, L, 2, h, w) the image model's chroma of each frame on its own
    truth: np.ndarray    # (B, L, 2, h, w) true chroma
    flow: np.ndarray     # (B, L, h, w, 2) flow from frame t to t-1 (index 0 unused), as the engine computes it
    mask: np.ndarray     # (B, L, h, w) 1 where frame t is visible in t-1 (flow consistent), else 0


def consistent(flow_back: np.ndarray, flow_fwd: np.ndarray) -> np.ndarray:
    """Pixels whose backward flow is undone by the forward flow (Sundaram et al. 2010): not occluded."""
    fwd_at = warp(flow_fwd, flow_back)
    err = ((flow_back + fwd_at) ** 2).sum(-1)
    return err < 0.01 * ((flow_back ** 2).sum(-1) + (fwd_at ** 2).sum(-1)) + 0.5


def _affine(t: float, cx: float, cy: float, motion: np.ndarray) -> np.ndarray:
    """2x3 matrix of the camera at time t: shift (dx, dy per frame), zoom and rotation rates."""
    dx, dy, zoom, rot = motion
    m = cv2.getRotationMatrix2D((cx, cy), rot * t, 1.0 + zoom * t)
    m[:, 2] += (dx * t, dy * t)
    return m


def synthetic_clip(photos: list[np.ndarray], rng: np.random.Generator, length: int,
                   h: int, w: int) -> np.ndarray:
    """RGB uint8 frames (length, h, w, 3) of one photo seen by a moving camera."""
    def camera(photo):
        ph, pw = photo.shape[:2]
        scale = max(h / ph, w / pw) * rng.uniform(1.05, 1.4)  # the frame sees part of the photo
        base = cv2.resize(photo, (round(pw * scale), round(ph * scale)), interpolation=cv2.INTER_AREA)
        motion = np.array([rng.normal(0, 2.5), rng.normal(0, 1.5), rng.normal(0, 0.01), rng.normal(0, 0.6)])
        origin = (rng.uniform(0, base.shape[1] - w), rng.uniform(0, base.shape[0] - h))
        return base, motion, origin

    scene = camera(photos[rng.integers(len(photos))])
    cut = rng.integers(2, length) if rng.random() < 0.15 else None
    sprite = None
    if rng.random() < 0.5:  # a second photo's patch moving on its own: occlusion and disocclusion
        src = photos[rng.integers(len(photos))]
        sh, sw = int(h * rng.uniform(0.25, 0.6)), int(w * rng.uniform(0.25, 0.6))
        patch = cv2.resize(src, (sw, sh), interpolation=cv2.INTER_AREA)
        sprite = (patch, rng.uniform(0, w - sw), rng.uniform(0, h - sh), rng.normal(0, 4), rng.normal(0, 3))
    frames = np.empty((length, h, w, 3), np.uint8)
    gain = 1.0
    for t in range(length):
        if cut is not None and t == cut:
            scene = camera(photos[rng.integers(len(photos))])
        base, motion, (ox, oy) = scene
        m = _affine(t, ox + w / 2, oy + h / 2, motion)
        m[:, 2] -= (ox, oy)
        frame = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if sprite is not None:
            patch, sx, sy, vx, vy = sprite
            x, y = int(np.clip(sx + vx * t, -patch.shape[1] // 2, w - patch.shape[1] // 2)), \
                int(np.clip(sy + vy * t, -patch.shape[0] // 2, h - patch.shape[0] // 2))
            x0, y0 = max(x, 0), max(y, 0)
            x1, y1 = min(x + patch.shape[1], w), min(y + patch.shape[0], h)
            frame[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]
        gain = 0.7 * gain + 0.3 * rng.normal(1.0, 0.06)  # old-film brightness flicker
        frames[t] = np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return frames


def real_clips(folder: str | Path, length: int, until: float = 0.5) -> list[np.ndarray]:
    """Chunks of `length` frames from the first `until` of every video in a folder (the rest is
    left for evaluation)."""
    chunks = []
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith("."):
            continue
        with VideoReader(path) as reader:
            frames = [item[2] for item in reader.items() if item[0] == "video"]
        frames = frames[:int(len(frames) * until)]
        chunks += [np.stack(frames[s:s + length]) for s in range(0, len(frames) - length + 1, length)]
    return chunks


def prepare(clips: list[np.ndarray], frames: FrameColorizer) -> ClipBatch:
    """Run the frozen image model over same-sized clips; compute flows and visibility masks."""
    ys, uvs, truths, flows, masks = [], [], [], [], []
    for clip in clips:
        y_c, uv_c, tr_c, fl_c, mk_c = [], [], [], [], []
        for t, rgb in enumerate(clip):
            _, guide, uv = frames.own_chroma(rgb)
            truth = resize(rgb_to_yuv(rgb.astype(np.float32) / 255)[..., 1:], *uv.shape[:2])
            h, w = guide.shape
            flow, mask = np.zeros((h, w, 2), np.float32), np.zeros((h, w), np.float32)
            if t:
                flow = flow_to_previous(to_u8(guide), to_u8(y_c[-1]))
                fwd = flow_to_previous(to_u8(y_c[-1]), to_u8(guide))
                same = np.abs(guide - warp(y_c[-1], flow)) < 0.08  # a cut or a flow failure is not "the same"
                mask = (consistent(flow, fwd) & same).astype(np.float32)
            y_c.append(guide)
            uv_c.append(np.moveaxis(uv, -1, 0))
            tr_c.append(np.moveaxis(truth, -1, 0))
            fl_c.append(flow)
            mk_c.append(mask)
        for lst, c in ((ys, y_c), (uvs, uv_c), (truths, tr_c), (flows, fl_c), (masks, mk_c)):
            lst.append(np.stack(c))
    return ClipBatch(*(np.stack(a).astype(np.float32) for a in (ys, uvs, truths, flows, masks)))
