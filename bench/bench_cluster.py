"""The cluster path against the local command: `python bench/bench_cluster.py [--count 300] [--size 1600x1200]`.

Makes `--count` greyscale JPEGs (bench_batch.make_photos) and, in one run, times in fresh processes
`colorize DIR -o OUT` (local) and `colorize DIR -o OUT --cluster --workers N` for each N of
`--workers` (default 1 and 2: a local Ray cluster that the command starts and stops), then the same
command again on the finished output (everything kept: the fixed cost of starting, planning and, for
the cluster, starting Ray). Prints a Markdown table; with `--address` the cluster rows join that
cluster instead (its workers must see this machine's temporary folder: pass `--tmp` on a shared one).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_batch import make_photos

REPO = Path(__file__).resolve().parents[1]


def timed(args: list[str]) -> float:
    """Seconds for one `colorize` process (its own start-up included); it must succeed."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=REPO, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"colorize {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--size", default="1600x1200", help="WxH of the generated photos")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--weights", default=None, help="weights folder (default: the shipped model)")
    p.add_argument("--address", default=None, help="a running Ray cluster (default: a local one per run)")
    p.add_argument("--tmp", default=None, help="folder for the photos and outputs (default: a temporary one)")
    a = p.parse_args()
    w, h = map(int, a.size.lower().split("x"))
    extra = ["--weights", a.weights] if a.weights else []
    cluster = ["--cluster", *([a.address] if a.address else [])]
    with tempfile.TemporaryDirectory(dir=a.tmp) as tmp:
        src = Path(tmp) / "photos"
        src.mkdir()
        make_photos(src, a.count, (w, h))
        runs = [("local command", [])] + [(f"--cluster, {n} worker{'s' * (n > 1)}", [*cluster, "--workers", str(n)])
                                          for n in a.workers]
        rows, base = [], None
        for name, flags in runs:
            out = Path(tmp) / f"out-{len(rows)}"
            seconds = timed([str(src), "-o", str(out), *extra, *flags])
            assert len(list(out.iterdir())) == a.count, f"{name}: not every photo was written"
            fixed = timed([str(src), "-o", str(out), *extra, *flags])  # all kept: start-up and planning only
            base = base or seconds
            rows.append(f"| {name} | {seconds:.1f} s | {a.count / seconds:.2f} | {seconds / base:.2f}× | {fixed:.1f} s |")
    print(f"{a.count} photos of {w}x{h}, {os.cpu_count()} CPUs, one run each, fresh processes\n")
    print("| run | time | photos/s | time / local | rerun, all kept |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
