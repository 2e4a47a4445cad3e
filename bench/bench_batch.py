"""Batch throughput of the `colorize` command: `python bench/bench_batch.py [--count 500] [--engine DIR]`.

Makes `--count` greyscale JPEG photos of 1600x1200 (from the validation photos when they are there,
else generated), colorizes the folder with `colorize DIR -o OUT` in a fresh process and prints
photos per second. `--engine DIR` runs the command from another checkout (e.g. an older commit in
a `git worktree`) with this Python, so two versions are compared on the same files in one run.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
VAL = REPO.parent / "shared" / "data" / "val" / "bsds500-val"


def make_photos(folder: Path, count: int, size=(1600, 1200)) -> None:
    """count grey JPEGs (quality 90): the validation photos enlarged, or smooth random fields."""
    sources = sorted(VAL.glob("*.jpg"))
    rng = np.random.default_rng(0)
    for i in range(count):
        if sources:
            im = Image.open(sources[i % len(sources)]).convert("L").resize(size, Image.BICUBIC)
        else:
            small = rng.integers(0, 255, (size[1] // 40, size[0] // 40), dtype=np.uint8)
            im = Image.fromarray(small).resize(size, Image.BICUBIC)
        im.save(folder / f"{i:04d}.jpg", quality=90)


def run(engine_dir: Path, src: Path, out: Path, extra: list[str]) -> float:
    """Seconds for one `colorize` run over the folder (the process's own start-up included)."""
    env = {**os.environ, "PYTHONPATH": str(engine_dir)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "engine.cli", str(src), "-o", str(out), *extra], env=env, check=True,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--engine", action="append", default=[], help="another checkout to compare (repeatable)")
    p.add_argument("--weights", default=None, help="weights folder (default: each checkout's shipped model)")
    a = p.parse_args()
    extra = ["--weights", a.weights] if a.weights else []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "photos"
        src.mkdir()
        make_photos(src, a.count)
        for engine_dir in [REPO, *map(Path, a.engine)]:
            seconds = run(engine_dir, src, Path(tmp) / f"out-{engine_dir.name}", extra)
            print(f"{engine_dir}: {a.count} photos of 1600x1200 in {seconds:.1f} s = {a.count / seconds:.2f} photos/s")


if __name__ == "__main__":
    main()
