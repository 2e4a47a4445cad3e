"""Measure video colorization: `python -m training.video_eval --videos DIR [--weights W] [--json OUT]`.

Each colour clip is reduced to its luminance and colorized twice in one pass (the network runs
once per frame): with the temporal step, and frame by frame. Rows: those two and the true colour
video itself. Columns: warping error and CDC (training/video_metrics.py), and per-frame colour
quality from training.evaluate (AuC, rebalanced AuC, colourfulness) on every `--every`th frame at
most 320 px wide. `--start 0.5` (default) scores only the second half of each clip: the first half
is what training.train_temporal may learn from.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
from skimage.color import rgb2lab

from engine.color import rgb_to_yuv
from engine.pipeline import Colorizer
from engine.temporal import TemporalState
from engine.video import FrameColorizer
from engine.videoio import VideoReader
from training.evaluate import Scores, colourfulness
from training.video_metrics import CDC, InputFlow, WarpingError

METHODS = ("ours, temporal", "ours, frame by frame", "true colour")
SCORE_SIDE = 320


def count_frames(path: Path) -> int:
    with VideoReader(path) as r:
        return sum(1 for item in r.items() if item[0] == "video")


def _small(rgb: np.ndarray) -> np.ndarray:
    scale = min(1.0, SCORE_SIDE / max(rgb.shape[:2]))
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255


def evaluate_clip(path: Path, colorizer: Colorizer, start: float, every: int, temperature: float | None) -> dict:
    """Metrics of the three methods on one clip, plus the raw per-frame scores to pool."""
    frames = FrameColorizer(colorizer, temperature, temporal=False)
    state = TemporalState(colorizer.temporal())
    first = int(count_frames(path) * start)
    flow = InputFlow()
    warping = {m: WarpingError() for m in METHODS}
    warping_uv = {m: WarpingError(chroma=True) for m in METHODS}
    cdc = {m: CDC() for m in METHODS}
    scores = {m: Scores() for m in METHODS[:2]}
    truth_bins, truth_colourful, n, seconds = [], [], 0, 0.0
    with VideoReader(path) as reader:
        index = -1
        for item in reader.items():
            if item[0] != "video":
                continue
            index += 1
            if index < first:
                continue
            truth = item[2]
            t0 = time.perf_counter()
            pred, guide, uv = frames.own_chroma(truth)  # only the luminance of the truth is used
            outputs = {METHODS[0]: pred.canvas.render(state(guide, uv), guide),
                       METHODS[1]: pred.canvas.render(uv, guide), METHODS[2]: truth}
            seconds += time.perf_counter() - t0
            fm = flow(pred.canvas.luminance)
            for m, rgb in outputs.items():
                warping[m].add(rgb, fm)
                warping_uv[m].add(rgb, fm)
                cdc[m].add(rgb)
            if n % every == 0:
                t_small = _small(truth)
                lab = rgb2lab(t_small)
                truth_bins.append(colorizer.bundle.bins.assign(rgb_to_yuv(t_small)[..., 1:]).ravel())
                truth_colourful.append(colourfulness(t_small))
                for m in METHODS[:2]:
                    scores[m].add(_small(outputs[m]), t_small, lab)
            n += 1
    return {"frames": n, "first_frame": first, "warping": {m: w.value for m, w in warping.items()},
            "warping_uv": {m: w.value for m, w in warping_uv.items()},
            "cdc": {m: c.value for m, c in cdc.items()}, "scores": scores, "truth_bins": truth_bins,
            "truth_colourful": truth_colourful, "colorize_seconds": seconds}


def summarise(clips: dict) -> dict:
    """Per method: warping error and CDC averaged over clips; colour quality pooled over frames."""
    results = {}
    tb = np.concatenate([b for c in clips.values() for b in c["truth_bins"]])
    tc = float(np.mean([v for c in clips.values() for v in c["truth_colourful"]]))
    for m in METHODS:
        r = {"warping_error": float(np.mean([c["warping"][m] for c in clips.values()])),
             "warping_error_uv": float(np.mean([c["warping_uv"][m] for c in clips.values()])),
             "cdc": float(np.mean([c["cdc"][m] for c in clips.values()]))}
        if m != METHODS[2]:
            pooled = Scores()
            for c in clips.values():
                for k in ("errors", "colourful", "psnr", "ssim"):
                    getattr(pooled, k).extend(getattr(c["scores"][m], k))
            r.update(pooled.summary(tb, tc))
        else:
            r.update({"colourfulness": tc, "colourfulness_ratio": 1.0})
        results[m] = r
    return results


def format_table(results: dict) -> str:
    head = ("| method | warping error (×10⁻³) | chroma warping error (×10⁻³) | CDC | AuC | rebalanced AuC | "
            "colourfulness | ratio to truth |\n|---|---|---|---|---|---|---|---|")
    rows = []
    for m, r in results.items():
        f = lambda k, fmt, s=1.0: format(r[k] * s, fmt) if k in r else "–"  # noqa: E731
        rows.append(f"| {m} | {f('warping_error', '.3f', 1e3)} | {f('warping_error_uv', '.3f', 1e3)} | "
                    f"{f('cdc', '.4f')} | {f('auc', '.4f')} | {f('auc_rebalanced', '.4f')} | "
                    f"{f('colourfulness', '.1f')} | {f('colourfulness_ratio', '.2f')} |")
    return "\n".join([head, *rows])


def per_clip_table(clips: dict) -> str:
    """Warping error, RGB / chroma only (×10⁻³), per clip and method."""
    head = ("| clip | frames | " + " | ".join(f"{m}: RGB / chroma" for m in METHODS) + " |\n|---|---|"
            + "---|" * len(METHODS))
    rows = [f"| {name} | {c['frames']} | " + " | ".join(
        f"{c['warping'][m] * 1e3:.3f} / {c['warping_uv'][m] * 1e3:.3f}" for m in METHODS) + " |"
        for name, c in clips.items()]
    return "\n".join([head, *rows])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--videos", nargs="+", required=True, help="colour video files or folders of them")
    p.add_argument("--weights", default=None, help="weights folder with model.* and temporal.* (default: shipped)")
    p.add_argument("--working-size", type=int, default=None)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--start", type=float, default=0.5, help="score from this fraction of each clip on")
    p.add_argument("--every", type=int, default=5, help="score colour quality on every n-th frame")
    p.add_argument("--json", default=None, help="write the results here")
    a = p.parse_args(argv)
    colorizer = Colorizer(a.weights, backend="onnx", working_size=a.working_size)
    files = sorted(f for v in a.videos for f in ([Path(v)] if Path(v).is_file() else Path(v).iterdir())
                   if not f.name.startswith("."))
    clips = {}
    for f in files:
        clips[f.name] = evaluate_clip(f, colorizer, a.start, a.every, a.temperature)
        c = clips[f.name]
        print(f"{f.name}: {c['frames']} frames from {c['first_frame']}, chroma warping ×10⁻³ "
              + ", ".join(f"{m} {v * 1e3:.3f}" for m, v in c["warping_uv"].items()), flush=True)
    results = summarise(clips)
    table, per_clip = format_table(results), per_clip_table(clips)
    print(f"{len(files)} clips, working size {colorizer.working_size}, scored from {a.start:.0%} of each clip")
    print(table)
    print(per_clip)
    if a.json:
        Path(a.json).write_text(json.dumps({
            "clips": {k: {x: c[x] for x in ("frames", "first_frame", "warping", "warping_uv", "cdc")}
                      for k, c in clips.items()},
            "working_size": colorizer.working_size, "start": a.start, "results": results,
            "table": table, "per_clip": per_clip}, indent=1))


if __name__ == "__main__":
    main()
