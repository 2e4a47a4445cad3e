"""One campaign stretch on whatever this machine has: `python -m training.stretch --minutes 8 --out DIR`.

For a borrowed accelerator (docs/training.md, "On a GPU"): it measures this machine's training
throughput (CUDA when torch sees a GPU), sizes one warm-up + cosine cycle to `--minutes`, continues
the campaign's committed state (`--init`, by default training/state, else the shipped model) with
its own recipe and writes the candidate weights bundle to `--out`/candidate, with the run folder
(`--run`). Scoring and shipping stay with `training.campaign --candidate RUN` on any machine.
`--pack DIR --max-mib N` instead writes a subset of the training photos small enough to travel
with the working tree (the borrowed machine cannot read ../shared).
"""
from __future__ import annotations

import argparse
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import torch

from engine import load_bundle
from training.campaign import STATE, initial_config, start_weights
from training.data import iter_image_bytes, load_photos
from training.export import export
from training.scaling import LARGE, TINY, TINY_EXTRA, probe
from training.train import Trainer


def pack(sources: list[str], out: Path, max_mib: float) -> int:
    """Copy photos from the sources into out/photos.zip, in turn from each, until max_mib; returns how many."""
    out.mkdir(parents=True, exist_ok=True)
    budget, n = max_mib * 2 ** 20, 0
    iters = [iter_image_bytes(s) for s in sources]
    with zipfile.ZipFile(out / "photos.zip", "w", zipfile.ZIP_STORED) as z:
        while iters and budget > 0:
            for it in list(iters):  # round robin: every source keeps its share
                item = next(it, None)
                if item is None:
                    iters.remove(it)
                    continue
                name, data = item
                z.writestr(name, data)
                budget -= len(data) + 100
                n += 1
    return n


def stretch(minutes: float, out: Path, data: list[str], init: Path, lr: float | None, run: Path) -> Path:
    """Train for about `minutes` from init (with its own recipe) in `run` and export the candidate to
    out; returns its folder."""
    run.mkdir(parents=True, exist_ok=True)
    bins = run / "bins.json"
    bins.write_text(json.dumps(load_bundle(init).meta["bins"]))
    cfg, _ = initial_config(init, run, str(bins), data)
    cfg = replace(cfg, out=str(run), **({"lr": lr} if lr else {}))
    photos = load_photos(cfg.data)
    ips = probe(cfg, photos)
    cfg = replace(cfg, steps=max(1, int(ips * minutes * 60 / cfg.batch)))
    print(f"{photos.summary()} | {ips:.0f} img/s on {'cuda' if torch.cuda.is_available() else 'cpu'} -> "
          f"{cfg.steps} steps", flush=True)
    trainer = Trainer(cfg)
    trainer.run(minutes=minutes * 1.2, photos=photos)  # the schedule is sized to the minutes; a margin, not a cut
    return export(Path(cfg.out), out / "candidate", temperature=0.6, working_size=128).root


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=8.0, help="training budget")
    p.add_argument("--out", type=Path, required=True, help="where the run and the candidate go")
    p.add_argument("--data", nargs="+", default=[TINY, TINY_EXTRA, LARGE], help="training photos (folders, zips)")
    p.add_argument("--init", type=Path, default=None,
                   help="weights to continue (default: the campaign's state, training/state, else engine/weights)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the recipe's own)")
    p.add_argument("--run", type=Path, default=None, help="the training run's folder (default: OUT/run)")
    p.add_argument("--pack", action="store_true", help="write a travelling subset of --data to --out instead")
    p.add_argument("--max-mib", type=float, default=48.0, help="--pack: size of the subset")
    a = p.parse_args(argv)
    if a.pack:
        print(f"{pack(a.data, a.out, a.max_mib)} photos in {a.out / 'photos.zip'}")
        return
    init = a.init or start_weights(STATE, Path("engine/weights"))
    print(f"candidate: {stretch(a.minutes, a.out, a.data, init, a.lr, a.run or a.out / 'run')}")


if __name__ == "__main__":
    main()
