"""The budgeted scaling study: `python -m training.scaling --out runs/scaling --minutes 12`.

Each configuration trains for the same compute budget: a short probe measures its training
throughput on this machine (both cores, nothing else running), and its step count is set to what
that throughput does in `--minutes`, so the comparison holds even if the machine is busy later.
One extra run repeats the fp32 baseline's exact steps in bf16: the bf16-vs-fp32 convergence check.
Every run is exported and scored by training.evaluate on the "select" half of the validation photos
and on the outside photos; the table goes to `--table` (Markdown) and every figure to JSON.
Finished runs are kept, unfinished ones resume: re-running the command continues the study.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from engine import Colorizer
from training.data import load_photos, make_batch
from training.evaluate import evaluate, list_images, outside_photos
from training.export import export
from training.train import Trainer, TrainConfig

TINY = "../shared/data/train/tiny-imagenet-40k.zip"
TINY_EXTRA = "../shared/data/train/tiny-imagenet-extra-40k.zip"
LARGE = "../shared/data/train/photos-2k.zip"
VAL = ["../shared/data/val/photos", "../shared/data/val/bsds500-val"]

BASE = TrainConfig(data=[TINY, LARGE], widths=(32, 64, 128), size=64, precision="fp32")
# (name, what changes from the baseline; "steps_of": copy another run's step count instead of a budget)
CONFIGS = [
    ("fp32-42k", {}),
    ("bf16-42k-same-steps", {"precision": "bf16", "steps_of": "fp32-42k"}),
    ("bf16-42k", {"precision": "bf16"}),
    ("bf16-82k", {"precision": "bf16", "data": [TINY, TINY_EXTRA, LARGE]}),
    ("bf16-82k-wide", {"precision": "bf16", "data": [TINY, TINY_EXTRA, LARGE], "widths": (48, 96, 192)}),
    ("bf16-82k-crop96", {"precision": "bf16", "data": [TINY, TINY_EXTRA, LARGE], "size": 96,
                         "large_fraction": 0.5}),
]


def probe(cfg: TrainConfig, photos, steps: int = 20, warmup: int = 5) -> float:
    """Training images per second of this configuration, measured on real batches."""
    trainer = Trainer(replace(cfg, out=str(Path(cfg.out) / "probe")))
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        batch = make_batch(photos, cfg.batch, cfg.size, cfg.seed, i, cfg.large_fraction, cfg.zoom)
        trainer.train_step(torch.from_numpy(batch).to(trainer.device))  # (on the GPU where there is one)
    if trainer.device == "cuda":
        torch.cuda.synchronize()
    return steps * cfg.batch / (time.perf_counter() - t0)


def score(run: Path, working_size: int, temperatures: list[float]) -> dict:
    """Export the run and evaluate it on the select half of validation and on the outside photos."""
    weights = export(run, run / "weights", temperature=temperatures[0], working_size=working_size).root
    colorizer = Colorizer(weights, backend="onnx")
    return {"select": evaluate(list_images(VAL, half="select"), colorizer, temperatures),
            "outside": evaluate(outside_photos(), colorizer, temperatures)}


def table(results: dict, temperature: float) -> str:
    """One Markdown row per run at one temperature, plus the grey baseline."""
    key = f"ours T={temperature:g}"
    rows = ["| run | steps | img/s | minutes | final loss | rebal. AuC | AuC | colourful ratio | PSNR | cast "
            "| outside rebal. AuC | outside cast |", "|---|" + "---|" * 11]
    first = next(iter(results.values()))
    grey, grey_out = first["select"]["grey"], first["outside"]["grey"]
    rows.append(f"| grey | – | – | – | – | {grey['auc_rebalanced']:.4f} | {grey['auc']:.4f} | 0 | "
                f"{grey['psnr']:.2f} | {grey['cast']:.2f} | {grey_out['auc_rebalanced']:.4f} | {grey_out['cast']:.2f} |")
    for name, r in results.items():
        s, o = r["select"][key], r["outside"][key]
        rows.append(f"| {name} | {r['steps']} | {r['images_per_s']:.0f} | {r['minutes']:.1f} | {r['final_loss']:.3f} | "
                    f"{s['auc_rebalanced']:.4f} | {s['auc']:.4f} | {s['colourfulness_ratio']:.2f} | {s['psnr']:.2f} | "
                    f"{s['cast']:.2f} | {o['auc_rebalanced']:.4f} | {o['cast']:.2f} |")
    return "\n".join(rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="runs/scaling")
    p.add_argument("--bins", default="runs/bins.json")
    p.add_argument("--minutes", type=float, default=12.0, help="compute budget of each run")
    p.add_argument("--only", nargs="*", default=None, help="run only these configurations")
    p.add_argument("--working-size", type=int, default=128)
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.5, 0.38])
    p.add_argument("--table", default="runs/scaling/table.md")
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    out, results, decoded = Path(a.out), {}, {}
    for name, change in CONFIGS:
        if a.only is not None and name not in a.only:
            continue
        run = out / name
        result_path = run / "result.json"
        if result_path.exists():
            results[name] = json.loads(result_path.read_text())
            continue
        change = dict(change)
        steps_of = change.pop("steps_of", None)
        cfg = replace(BASE, bins=a.bins, out=str(run), **change)
        key = tuple(cfg.data)
        if key not in decoded:
            decoded = {key: load_photos(cfg.data)}  # keep one data set in memory at a time
            print(decoded[key].summary())
        photos = decoded[key]
        resume = (run / "config.json").exists()
        if resume:
            cfg = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
            ips = json.loads((run / "probe.json").read_text())["images_per_s"]
        else:
            ips = probe(cfg, photos)
            steps = results[steps_of]["steps"] if steps_of else int(ips * a.minutes * 60 / cfg.batch)
            cfg = replace(cfg, steps=steps)
            run.mkdir(parents=True, exist_ok=True)
            (run / "probe.json").write_text(json.dumps({"images_per_s": ips}))
        print(f"== {name}: {ips:.0f} img/s, {cfg.steps} steps", flush=True)
        trainer = Trainer(cfg, resume=resume)
        trainer.run(photos=photos)
        rows = (run / "log.csv").read_text().strip().splitlines()
        result = {"config": json.loads((run / "config.json").read_text()), "steps": cfg.steps,
                  "images_per_s": ips, "minutes": trainer.wall / 60,
                  "final_loss": float(rows[-1].split(",")[1]),
                  **score(run, a.working_size, a.temperatures)}
        result_path.write_text(json.dumps(result, indent=1))
        results[name] = result
    if results:
        text = "\n\n".join(f"At T = {t:g}, working size {a.working_size}:\n\n{table(results, t)}"
                           for t in a.temperatures)
        Path(a.table).parent.mkdir(parents=True, exist_ok=True)
        Path(a.table).write_text(text + "\n")
        print(text)


if __name__ == "__main__":
    main()
