"""Train the temporal step on a frozen image model:
`python -m training.train_temporal --weights W --photos ZIP --videos DIR --out W`.

Loss over unrolled clips, exactly as the engine runs them (engine.temporal.TemporalState):
L1 to the true chroma (right colours, and no ghosts: a warped past that is wrong costs) plus
`--consistency` x L1 between each output and the previous output warped by the flow, over pixels
visible in both frames (what flicker is). Writes temporal.json/.onnx/.safetensors into --out.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.pipeline import Colorizer
from engine.temporal import TemporalConfig
from engine.temporal_model import TemporalBlend
from engine.weights import save_temporal
from engine.video import FrameColorizer
from training.data import load_photos
from training.video_data import ClipBatch, prepare, real_clips, synthetic_clip

SYN_H, SYN_W = 160, 256  # synthetic frames at the default working size, so the network sees them 1:1


def warp_t(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Torch twin of engine.temporal.warp: x (B, C, h, w) sampled at pixel + flow (B, h, w, 2)."""
    _, _, h, w = x.shape
    gy, gx = torch.meshgrid(torch.arange(h, dtype=x.dtype), torch.arange(w, dtype=x.dtype), indexing="ij")
    px, py = gx + flow[..., 0], gy + flow[..., 1]
    grid = torch.stack([2 * px / max(w - 1, 1) - 1, 2 * py / max(h - 1, 1) - 1], -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def unroll(model: TemporalBlend | None, b: dict, consistency: float) -> tuple[torch.Tensor, dict]:
    """Run a clip batch through the temporal step (None: frame by frame); loss and its parts."""
    k = model.cfg.window if model else 2
    y, uv, truth, flow, mask = b["y"], b["uv"], b["truth"], b["flow"], b["mask"]
    entry = torch.cat([y[:, 0:1], uv[:, 0]], 1)
    past, prev_out = [entry] * (k - 1), uv[:, 0]
    colour = temporal = 0.0
    length = y.shape[1]
    for t in range(1, length):
        past = [warp_t(p, flow[:, t]) for p in past]
        if model is None:
            out = uv[:, t]
        else:
            out = model(y[:, t:t + 1], uv[:, t], torch.cat([p[:, :1] for p in past], 1),
                        torch.cat([p[:, 1:] for p in past], 1))
        m = mask[:, t:t + 1]
        colour = colour + (out - truth[:, t]).abs().mean()
        temporal = temporal + (m * (out - warp_t(prev_out, flow[:, t])).abs()).sum() / (2 * m.sum() + 1)
        past, prev_out = [torch.cat([y[:, t:t + 1], out], 1)] + past[:k - 2], out
    colour, temporal = colour / (length - 1), temporal / (length - 1)
    parts = {"colour": float(colour.detach()), "temporal": float(temporal.detach())}
    return colour + consistency * temporal, parts


def to_torch(batch: ClipBatch, idx=None) -> dict:
    pick = (lambda a: a) if idx is None else (lambda a: a[idx])  # noqa: E731
    return {k: torch.from_numpy(np.ascontiguousarray(pick(getattr(batch, k))))
            for k in ("y", "uv", "truth", "flow", "mask")}


def build_data(colorizer: Colorizer, photos_src: list[str], videos: str | None, n_syn: int, length: int,
               temperature: float, seed: int, n_val: int = 24) -> tuple[list[ClipBatch], ClipBatch]:
    """Training groups (same-sized clips each) and a synthetic validation group."""
    frames = FrameColorizer(colorizer, temperature, temporal=False)
    photos = load_photos(photos_src, limit=max(200, n_syn))
    pool = photos.large or photos.small
    rng = np.random.default_rng(seed)
    groups = []
    for s in range(0, n_syn, 16):
        clips = [synthetic_clip(pool, rng, length, SYN_H, SYN_W) for _ in range(min(16, n_syn - s))]
        groups.append(prepare(clips, frames))
    val = prepare([synthetic_clip(pool, np.random.default_rng(seed + 1), length, SYN_H, SYN_W)
                   for _ in range(n_val)], frames)
    if videos:
        by_shape: dict = {}
        for chunk in real_clips(videos, length):
            by_shape.setdefault(chunk.shape, []).append(chunk)
        for chunks in by_shape.values():
            for s in range(0, len(chunks), 16):
                groups.append(prepare(chunks[s:s + 16], frames))
    return groups, val


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", required=True, help="the image model's weights folder (frozen)")
    p.add_argument("--photos", nargs="+", required=True, help="folders/zips of colour photos for synthetic clips")
    p.add_argument("--videos", default=None, help="folder of real colour clips (their first half is used)")
    p.add_argument("--out", required=True, help="weights folder to write temporal.* into")
    p.add_argument("--clips", type=int, default=320, help="synthetic clips")
    p.add_argument("--val-clips", type=int, default=24, help="synthetic validation clips")
    p.add_argument("--length", type=int, default=8, help="frames per training clip")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--minutes", type=float, default=None, help="stop after this long")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--consistency", type=float, default=2.0, help="weight of the temporal loss")
    p.add_argument("--window", type=int, default=TemporalConfig.window)
    p.add_argument("--width", type=int, default=TemporalConfig.width)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    colorizer = Colorizer(a.weights, backend="onnx")
    t0 = time.perf_counter()
    groups, val = build_data(colorizer, a.photos, a.videos, a.clips, a.length, colorizer.temperature, a.seed,
                              a.val_clips)
    n_clips = sum(len(g.y) for g in groups)
    print(f"{n_clips} training clips in {len(groups)} groups, {len(val.y)} validation clips "
          f"(prepared in {time.perf_counter() - t0:.0f} s)")
    model = TemporalBlend(TemporalConfig(a.window, a.width))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    rng = np.random.default_rng(a.seed)
    weights = np.array([len(g.y) for g in groups], np.float64)
    start, step, log = time.perf_counter(), 0, []
    vb = to_torch(val)
    with torch.no_grad():
        _, base = unroll(None, vb, a.consistency)
    print(f"validation, frame by frame: colour L1 {base['colour']:.4f}, temporal L1 {base['temporal']:.4f}")
    while step < a.steps and (a.minutes is None or time.perf_counter() - start < a.minutes * 60):
        g = groups[rng.choice(len(groups), p=weights / weights.sum())]
        idx = rng.choice(len(g.y), size=min(a.batch, len(g.y)), replace=False)
        # cosine decay over whichever budget runs out first, steps or minutes
        done = step / a.steps if a.minutes is None else \
            max(step / a.steps, (time.perf_counter() - start) / (a.minutes * 60))
        for grp in opt.param_groups:
            grp["lr"] = a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, done))))
        loss, parts = unroll(model, to_torch(g, np.sort(idx)), a.consistency)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        log.append(parts)
        if step % 100 == 0:
            c = np.mean([x["colour"] for x in log[-100:]])
            tl = np.mean([x["temporal"] for x in log[-100:]])
            print(f"step {step}: colour {c:.4f} temporal {tl:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
    with torch.no_grad():
        _, ours = unroll(model.eval(), vb, a.consistency)
    print(f"validation, temporal model: colour L1 {ours['colour']:.4f}, temporal L1 {ours['temporal']:.4f}")
    record = {"training": {"steps": step, "wall_s": round(time.perf_counter() - start, 1), "clips": n_clips,
                           "synthetic_clips": a.clips, "length": a.length, "batch": a.batch, "lr": a.lr,
                           "consistency": a.consistency, "photos": a.photos, "videos": a.videos,
                           "real_clips_used": "first half of each clip (second half held out)"},
              "validation": {"frame_by_frame": base, "temporal": ours},
              "image_model": {"onnx_sha256": file_sha256(colorizer.bundle.onnx_path),
                              "steps": colorizer.bundle.meta.get("training", {}).get("steps"),
                              "temperature": colorizer.temperature}}
    save_temporal(model, a.out, record)
    print(f"wrote {Path(a.out) / 'temporal.onnx'}")
    print(json.dumps(record["validation"]))


if __name__ == "__main__":
    main()
