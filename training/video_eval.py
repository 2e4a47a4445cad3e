"""Measure video colorization: `python -m training.video_eval --videos DIR [--weights W] [--json OUT]`.

Each colour clip is reduced to its luminance and colorized twice in one pass (the network runs
once per frame): with the temporal step, and frame by frame. Rows: those two and the true colour
video itself. Per clip and pooled over clips:

- stability: chroma warping error and CDC (training/video_metrics.py), the flow taken on the
  clip's grey frames and occlusion-checked;
- fidelity: mean CIELAB ab error against the truth, and colour strength over time, the ratio of
  the last third's mean |UV| (0-255) to the first third's (below frame by frame's = fading);
- agreement: mean ab distance between the temporal output and the frame-by-frame output;
- photo metrics (training.evaluate: AuC, rebalanced AuC, colourfulness) on every `--every`th frame.

Frames are scored at most 320 px wide. `--start 0.5` (default) scores only the second half of each
clip: the first halves are where engine/temporal.py's few parameters were chosen.
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
from engine import Colorizer
from engine.video import FrameColorizer
from engine.videoio import VideoReader
from training.evaluate import Scores, colourfulness, contact_sheet
from training.video_metrics import CDC, InputFlow, WarpingError

TEMPORAL, FRAME, TRUTH = METHODS = ("ours, temporal", "ours, frame by frame", "true colour")
SCORE_SIDE = 320


def count_frames(path: Path) -> int:
    with VideoReader(path) as r:
        return sum(1 for item in r.items() if item[0] == "video")


def _small(rgb: np.ndarray) -> np.ndarray:
    scale = min(1.0, SCORE_SIDE / max(rgb.shape[:2]))
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255


def _ab_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a[..., 1:] - b[..., 1:], axis=-1).mean())


def strength_over_time(strength: list[float]) -> float:
    """Mean colour strength of the last third of the frames over that of the first third."""
    n = max(1, len(strength) // 3)
    return float(np.mean(strength[-n:]) / max(np.mean(strength[:n]), 1e-6))


def evaluate_clip(path: Path, colorizer: Colorizer, start: float, every: int, temperature: float | None) -> dict:
    """Metrics of the three methods on one clip, plus the raw per-frame scores to pool."""
    frames = FrameColorizer(colorizer, temperature, temporal=True)
    first = int(count_frames(path) * start)
    flow = InputFlow()
    warping_uv = {m: WarpingError() for m in METHODS}
    cdc = {m: CDC() for m in METHODS}
    strength = {m: [] for m in METHODS}
    ab_error = {m: [] for m in METHODS[:2]}
    agreement = []
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
            pred = colorizer.predict(truth)  # only the luminance of the truth is used
            guide = pred.guide()
            outputs = {TEMPORAL: pred.canvas.render(frames.chroma(pred, guide), guide),
                       FRAME: pred.canvas.render(pred.chroma(frames.temperature), guide), TRUTH: truth}
            seconds += time.perf_counter() - t0
            fm = flow(pred.canvas.luminance)
            small = {m: _small(rgb) for m, rgb in outputs.items()}
            lab = {m: rgb2lab(s) for m, s in small.items()}
            for m, rgb in outputs.items():
                warping_uv[m].add(rgb, fm)
                cdc[m].add(rgb)
                strength[m].append(float(np.hypot(*np.moveaxis(rgb_to_yuv(small[m])[..., 1:], -1, 0)).mean() * 255))
            for m in METHODS[:2]:
                ab_error[m].append(_ab_distance(lab[m], lab[TRUTH]))
            agreement.append(_ab_distance(lab[TEMPORAL], lab[FRAME]))
            if n % every == 0:
                truth_bins.append(colorizer.bundle.bins.assign(rgb_to_yuv(small[TRUTH])[..., 1:]).ravel())
                truth_colourful.append(colourfulness(small[TRUTH]))
                for m in METHODS[:2]:
                    scores[m].add(small[m], small[TRUTH], lab[TRUTH])
            n += 1
    return {"frames": n, "first_frame": first,
            "warping_uv": {m: w.value for m, w in warping_uv.items()},
            "cdc": {m: c.value for m, c in cdc.items()},
            "strength": {m: float(np.mean(s)) for m, s in strength.items()},
            "strength_over_time": {m: strength_over_time(s) for m, s in strength.items()},
            "ab_error": {m: float(np.mean(e)) for m, e in ab_error.items()},
            "agreement": float(np.mean(agreement)),
            "scores": scores, "truth_bins": truth_bins, "truth_colourful": truth_colourful,
            "colorize_seconds": seconds}


def summarise(clips: dict) -> dict:
    """Per method: clip metrics averaged over clips; photo metrics pooled over frames."""
    results = {}
    tb = np.concatenate([b for c in clips.values() for b in c["truth_bins"]])
    tc = float(np.mean([v for c in clips.values() for v in c["truth_colourful"]]))
    mean = lambda key, m: float(np.mean([c[key][m] for c in clips.values()]))  # noqa: E731
    for m in METHODS:
        r = {"warping_error_uv": mean("warping_uv", m), "cdc": mean("cdc", m),
             "strength": mean("strength", m), "strength_over_time": mean("strength_over_time", m)}
        if m != TRUTH:
            r["ab_error"] = mean("ab_error", m)
            pooled = Scores()
            for c in clips.values():
                for k in ("errors", "colourful", "psnr", "ssim", "cast"):
                    getattr(pooled, k).extend(getattr(c["scores"][m], k))
            r.update(pooled.summary(tb, tc))
        else:
            r.update({"colourfulness": tc, "colourfulness_ratio": 1.0})
        results[m] = r
    results[TEMPORAL]["agreement"] = float(np.mean([c["agreement"] for c in clips.values()]))
    return results


def format_table(results: dict) -> str:
    head = ("| method | chroma warping error (×10⁻³) | CDC | ab error | colour strength | strength, last ⅓ / "
            "first ⅓ | ab distance to frame by frame | AuC | rebalanced AuC | colourfulness ratio |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for m, r in results.items():
        f = lambda k, fmt, s=1.0: format(r[k] * s, fmt) if k in r else "–"  # noqa: E731
        rows.append(f"| {m} | {f('warping_error_uv', '.3f', 1e3)} | {f('cdc', '.4f')} | {f('ab_error', '.2f')} | "
                    f"{f('strength', '.1f')} | {f('strength_over_time', '.2f')} | {f('agreement', '.2f')} | "
                    f"{f('auc', '.4f')} | {f('auc_rebalanced', '.4f')} | {f('colourfulness_ratio', '.2f')} |")
    return "\n".join([head, *rows])


def per_clip_table(clips: dict) -> str:
    """Per clip: the temporal output against frame by frame and the truth."""
    head = ("| clip | frames | chroma warping error ×10⁻³: temporal / frame by frame / truth | temporal ÷ truth "
            "| temporal ÷ frame by frame | strength over time: temporal / frame by frame (quotient) "
            "| ab error: temporal / frame by frame |\n|---|---|---|---|---|---|---|")
    rows = []
    for name, c in clips.items():
        w, s, e = c["warping_uv"], c["strength_over_time"], c["ab_error"]
        rows.append(f"| {name} | {c['frames']} | {w[TEMPORAL] * 1e3:.3f} / {w[FRAME] * 1e3:.3f} / "
                    f"{w[TRUTH] * 1e3:.3f} | {w[TEMPORAL] / w[TRUTH]:.2f} | {w[TEMPORAL] / w[FRAME]:.2f} | "
                    f"{s[TEMPORAL]:.2f} / {s[FRAME]:.2f} ({s[TEMPORAL] / s[FRAME]:.2f}) | "
                    f"{e[TEMPORAL]:.2f} / {e[FRAME]:.2f} |")
    return "\n".join([head, *rows])


def strip(path: Path, colorizer: Colorizer, out: Path) -> None:
    """A figure: grey / temporal / frame by frame / truth at the first frame, 1/3, 2/3 and the last."""
    n = count_frames(path)
    keep = {0, n // 3, 2 * n // 3, n - 1}
    frames = FrameColorizer(colorizer, temporal=True)
    rows = []
    with VideoReader(path) as reader:
        for index, item in enumerate(i for i in reader.items() if i[0] == "video"):
            truth = item[2]
            pred = colorizer.predict(truth)
            guide = pred.guide()
            temporal = pred.canvas.render(frames.chroma(pred, guide), guide)
            if index in keep:
                grey = np.repeat(pred.canvas.luminance[..., None] / 255, 3, axis=2)  # 8-bit frames
                rows.append([grey, temporal / 255, pred.canvas.render(pred.chroma(frames.temperature), guide) / 255,
                             truth / 255])
    contact_sheet(rows, ["grey", "temporal", "frame by frame", "truth"], out, height=150)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--videos", nargs="+", required=True, help="colour video files or folders of them")
    p.add_argument("--weights", default=None, help="weights folder (default: shipped)")
    p.add_argument("--working-size", type=int, default=None)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--start", type=float, default=0.5, help="score from this fraction of each clip on")
    p.add_argument("--every", type=int, default=5, help="photo metrics on every n-th frame")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--strip", nargs=2, metavar=("CLIP", "PNG"), help="only draw the strip figure of CLIP")
    a = p.parse_args(argv)
    colorizer = Colorizer(a.weights, backend="onnx", working_size=a.working_size)
    if a.strip:
        strip(Path(a.strip[0]), colorizer, Path(a.strip[1]))
        return
    files = sorted(f for v in a.videos for f in ([Path(v)] if Path(v).is_file() else Path(v).iterdir())
                   if not f.name.startswith("."))
    clips = {}
    for f in files:
        clips[f.name] = c = evaluate_clip(f, colorizer, a.start, a.every, a.temperature)
        print(f"{f.name}: {c['frames']} frames from {c['first_frame']}, chroma warping ×10⁻³ "
              + ", ".join(f"{m} {v * 1e3:.3f}" for m, v in c["warping_uv"].items()), flush=True)
    results = summarise(clips)
    table, per_clip = format_table(results), per_clip_table(clips)
    print(f"{len(files)} clips, working size {colorizer.working_size}, scored from {a.start:.0%} of each clip")
    print(table)
    print(per_clip)
    if a.json:
        keep = ("frames", "first_frame", "warping_uv", "cdc", "strength", "strength_over_time", "ab_error", "agreement")
        Path(a.json).write_text(json.dumps({
            "clips": {k: {x: c[x] for x in keep} for k, c in clips.items()},
            "working_size": colorizer.working_size, "start": a.start, "results": results,
            "table": table, "per_clip": per_clip}, indent=1))


if __name__ == "__main__":
    main()
