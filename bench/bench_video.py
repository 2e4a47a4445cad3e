"""Video throughput, end to end (decode -> colorize -> encode): `python bench/bench_video.py [--video F]`.

Without --video, a 640x360 clip is made from the first colour clip found in ../shared/data/video
(centre crop, resized), or from a synthetic moving pattern when there is none. Reports frames per
second with the temporal step and frame by frame, and where the time goes per frame.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from engine import Colorizer
from engine.video import FrameColorizer, colorize_video
from engine.videoio import VideoInfo, VideoReader, VideoWriter

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "video"


def make_clip(path: Path, frames: int, size=(640, 360), source: Path | None = None) -> Path:
    """A size[0] x size[1] H.264 clip: real footage cropped to 16:9 if given, else a moving pattern."""
    from fractions import Fraction

    w, h = size
    info = VideoInfo(w, h, Fraction(25), frames, Fraction(0), "h264", False, 0.0)
    writer = VideoWriter(path, info)
    done = 0
    if source is not None:
        while done < frames:  # loop the source if it is short
            with VideoReader(source) as r:
                for item in r.items():
                    if item[0] != "video" or done >= frames:
                        continue
                    rgb = item[2]
                    sh, sw = rgb.shape[:2]
                    ch = min(sh, round(sw * h / w))
                    crop = rgb[(sh - ch) // 2:(sh - ch) // 2 + ch]
                    writer.write(cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA), done / 25)
                    done += 1
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    while done < frames:
        x = xx - 3 * done
        rgb = np.stack([128 + 90 * np.sin(x / 17), 128 + 90 * np.cos(yy / 23), 128 + 60 * np.sin((x + yy) / 31)], -1)
        writer.write(np.clip(rgb, 0, 255).astype(np.uint8), done / 25)
        done += 1
    writer.finish()
    return path


def stages(clip: Path, colorizer: Colorizer) -> dict:
    """Milliseconds per frame for each stage, run one after the other."""
    frames = FrameColorizer(colorizer, temporal=True)
    t = {"decode": 0.0, "network": 0.0, "temporal step + annealed mean": 0.0, "render": 0.0, "encode": 0.0}
    n = 0
    with tempfile.TemporaryDirectory() as tmp, VideoReader(clip) as r:
        writer = VideoWriter(Path(tmp) / "out.mp4", r.info)
        t0 = time.perf_counter()
        for item in r.items():
            if item[0] != "video":
                continue
            t1 = time.perf_counter()
            t["decode"] += t1 - t0
            pred = colorizer.predict(item[2])
            guide = pred.guide()
            t2 = time.perf_counter()
            uv = frames.chroma(pred, guide)  # distribution average + annealed mean
            t3 = time.perf_counter()
            rgb = pred.canvas.render(uv, guide)
            t4 = time.perf_counter()
            writer.write(rgb, item[1])
            t0 = time.perf_counter()
            t["network"] += t2 - t1
            t["temporal step + annealed mean"] += t3 - t2
            t["render"] += t4 - t3
            t["encode"] += t0 - t4
            n += 1
        writer.finish()
    return {k: 1000 * v / n for k, v in t.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--video", default=None, help="clip to colorize (default: a generated 640x360 clip)")
    p.add_argument("--frames", type=int, default=250, help="length of the generated clip")
    p.add_argument("--weights", default=None)
    p.add_argument("--working-size", type=int, default=None)
    a = p.parse_args(argv)
    colorizer = Colorizer(a.weights, backend="onnx", working_size=a.working_size)
    with tempfile.TemporaryDirectory() as tmp:
        if a.video:
            clip = Path(a.video)
        else:
            sources = sorted(SHARED.glob("*.mp4")) if SHARED.is_dir() else []
            clip = make_clip(Path(tmp) / "bench.mp4", a.frames, source=sources[0] if sources else None)
        with VideoReader(clip) as r:
            info = r.info
        print(f"clip: {clip.name}, {info.width}x{info.height}, {info.frames} frames; working size "
              f"{colorizer.working_size}; {os.cpu_count()} CPUs")
        colorize_video(clip, Path(tmp) / "warm.mp4", colorizer=colorizer)  # first-run costs out of the way
        for temporal in (True, False):
            res = colorize_video(clip, Path(tmp) / "out.mp4", colorizer=colorizer, temporal=temporal)
            print(f"{'temporal' if temporal else 'frame by frame'}: {res.frames / res.seconds:.1f} frames/s "
                  f"end to end ({res.frames} frames in {res.seconds:.1f} s)")
        per_stage = stages(clip, colorizer)
        print("per frame, stage by stage (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in per_stage.items()))


if __name__ == "__main__":
    main()
