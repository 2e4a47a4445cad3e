"""The second campaign's ablation: `python -m training.ablation --threads 1`.

Every arm continues the shipped model's automatic part (its hint inputs left out) for the same
number of steps with the same seeds and learning-rate cycle, changing one thing: the training mix,
the class-label loss, the data. Each is exported and scored like a campaign candidate: on the
select half of the validation photos at every temperature and working size of the grid, the
setting picked by the campaign's rule (best rebalanced AuC within 0.8 dB of grey's PSNR), then the
six outside photos at that setting. A finished arm is a row of `docs/ablation.csv`; rerunning the
command skips those and resumes an unfinished arm from its checkpoint, so the ablation spreads over
sessions. Arms with 0 steps only evaluate (the shipped model itself, and test-time mirroring).
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from engine import Colorizer, load_bundle
from training.campaign import TEMPERATURES, WORKING_SIZES, choose
from training.data import load_photos
from training.evaluate import evaluate, list_images, outside_photos
from training.export import export
from training.scaling import LARGE, TINY, TINY_EXTRA, VAL
from training.train import Trainer, TrainConfig

DOCS = Path(__file__).resolve().parents[1] / "docs"
STEPS = 4000
TINY_REST = "runs/data/tiny-imagenet-rest.zip"   # python -m training.sources tiny-imagenet MIRROR
# What the arms share: the shipped model's recipe, continued with a warm restart at lr 1e-3 (the
# short probes' setting), 4,000 steps of 48 crops of 64 px, seed 0.
BASE = TrainConfig(data=[TINY, TINY_EXTRA, LARGE], steps=STEPS, lr=1e-3, warmup=100, seed=0,
                   large_fraction=0.3, zoom=True, hints=False, teacher=None, distill_sizes=())
LONG = {"steps": 10000, "lr": 5e-4, "warmup": 200, "large_fraction": 0.1, "zoom": False, "class_weight": 0.3,
        "lam": 0.7}
# (name, what changes from BASE, what the change is, in words); steps 0 = evaluate only
ARMS = [
    ("v0.2", {"steps": 0}, "the shipped model, not trained further"),
    ("v0.2-mirror", {"steps": 0, "mirror": True}, "the shipped model, logits averaged with the mirror image's"),
    ("mix-0.3-zoom", {}, "today's mix continued: 30% large-photo crops, small photos zoomed 1-2x"),
    ("mix-0-whole", {"large_fraction": 0.0, "zoom": False}, "whole Tiny-ImageNet photos only"),
    ("mix-0-whole-labels-0.3", {"large_fraction": 0.0, "zoom": False, "class_weight": 0.3},
     "whole Tiny-ImageNet photos + class-label loss 0.3"),
    ("mix-0.1-zoom", {"large_fraction": 0.1}, "10% large-photo crops, zoom on"),
    ("mix-0.1-whole", {"large_fraction": 0.1, "zoom": False}, "10% large-photo crops, small photos whole"),
    ("mix-0-zoom", {"large_fraction": 0.0}, "Tiny-ImageNet only, zoom on"),
    ("mix-0-whole-labels-0.1", {"large_fraction": 0.0, "zoom": False, "class_weight": 0.1},
     "whole Tiny-ImageNet photos + class-label loss 0.1"),
    ("more-tiny-27k", {"data": [TINY, TINY_EXTRA, TINY_REST, LARGE]},
     "today's mix + 27k more Tiny-ImageNet photos (training.sources)"),
    ("mix-0-whole-lam-0.7", {"large_fraction": 0.0, "zoom": False, "lam": 0.7},
     "whole Tiny-ImageNet photos, less rebalancing (λ 0.7): the colour gain without the warm cast?"),
    ("mix-0.3-zoom-labels-0.3", {"class_weight": 0.3}, "today's mix + class-label loss 0.3"),
    ("mix-0.1-whole-labels-0.3", {"large_fraction": 0.1, "zoom": False, "class_weight": 0.3},
     "the balanced mix (10% large, small photos whole) + class-label loss 0.3"),
    ("mix-0.1-whole-labels-0.1", {"large_fraction": 0.1, "zoom": False, "class_weight": 0.1},
     "the balanced mix + class-label loss 0.1: the labels' colours with less of their cast?"),
    ("mix-0.1-whole-labels-0.3-lam-0.7", {"large_fraction": 0.1, "zoom": False, "class_weight": 0.3, "lam": 0.7},
     "the balanced mix + labels 0.3, less rebalancing (λ 0.7): the labels' colours with less cast?"),
    ("grow-4", {"grown_blocks": 4},
     "today's mix, capacity grown: 4 residual blocks at 1/8 starting at zero (2.0 M parameters)"),
    # The long pair: the recipe above for 2.5x the steps at half the peak learning rate (a warm
    # restart at 1e-3 cost ~0.007 by itself), alone and with hints trained in from the start
    ("long-auto", LONG, "10,000 steps at lr 5e-4: the balanced mix + labels 0.3 + λ 0.7, automatic only"),
    ("long-joint", LONG | {"hints": True, "hint_design": "local", "recolour": 0.5, "hint_point_weight": 10.0},
     "the same with hint inputs trained together from the start (v0.3's local branch, all weights train; "
     "25% of crops without hints, half the hinted ones recoloured, hinted cells weighted 11x)"),
]
FIELDS = ["arm", "change", "steps", "train_minutes", "temperature", "working_size",
          "select_auc_rebalanced", "select_colourfulness_ratio", "select_psnr", "select_cast", "select_grey_psnr",
          "outside_auc_rebalanced", "outside_colourfulness_ratio", "outside_psnr", "outside_cast",
          "outside_grey_psnr", "date", "commit"]


class Mirrored:
    """A backend whose logits are the mean of the photo's and its mirror image's (test-time
    augmentation: the network sees each object both ways round)."""

    def __init__(self, net):
        self.net, self.name, self.device = net, net.name, net.device

    def __call__(self, y: np.ndarray, hints: np.ndarray | None = None) -> np.ndarray:
        flip = lambda a: None if a is None else np.ascontiguousarray(a[..., ::-1])  # noqa: E731
        return (self.net(y, hints) + flip(self.net(flip(y), flip(hints)))) / 2


def colorizer(weights: Path, working_size: int, mirror: bool) -> Colorizer:
    c = Colorizer(weights, backend="onnx", working_size=working_size)
    if mirror:
        c.net = Mirrored(c.net)
    return c


def score(weights: Path, mirror: bool = False) -> dict:
    """The campaign's choice on the select half, then the outside photos at the chosen setting."""
    select = list_images(VAL, half="select")
    grid = {}
    for ws in WORKING_SIZES:
        res = evaluate(select, colorizer(weights, ws, mirror), TEMPERATURES)
        grid["grey"] = res["grey"]
        grid.update({(ws, t): res[f"ours T={t:g}"] for t in TEMPERATURES})
    ws, t = choose(grid)
    outside = evaluate(outside_photos(), colorizer(weights, ws, mirror), [t])
    return {"working_size": ws, "temperature": t, "select": grid[(ws, t)], "select_grey": grid["grey"],
            "outside": outside[f"ours T={t:g}"], "outside_grey": outside["grey"]}


def row(arm: str, change: str, steps: int, minutes: float, s: dict) -> dict:
    out = {"arm": arm, "change": change, "steps": steps, "train_minutes": round(minutes, 1),
           "temperature": s["temperature"], "working_size": s["working_size"]}
    for half in ("select", "outside"):
        m = s[half]
        out |= {f"{half}_auc_rebalanced": round(m["auc_rebalanced"], 4),
                f"{half}_colourfulness_ratio": round(m["colourfulness_ratio"], 3),
                f"{half}_psnr": round(m["psnr"], 2), f"{half}_cast": round(m["cast"], 2),
                f"{half}_grey_psnr": round(s[f"{half}_grey"]["psnr"], 2)}
    from training.export import git_commit
    return out | {"date": time.strftime("%Y-%m-%d"), "commit": (git_commit() or "")[:8]}


def done_arms(table: Path) -> set[str]:
    return {r["arm"] for r in csv.DictReader(open(table))} if table.exists() else set()


def append(table: Path, r: dict) -> None:
    """Add a row, or replace the arm's row if it has one (a rescore)."""
    rows = [row for row in csv.DictReader(open(table)) if row["arm"] != r["arm"]] if table.exists() else []
    with open(table, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows + [r])


def markdown(table: Path) -> str:
    """The results as the Markdown table of docs/ablation.md."""
    rows = list(csv.DictReader(open(table))) if table.exists() else []
    head = ("| arm | steps | T | ws | select rebal. AuC | colourful. | PSNR (grey) | cast | outside AuC | "
            "colourful. | PSNR (grey) | cast |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    return "\n".join([head] + [
        f"| {r['arm']} | {r['steps']} | {r['temperature']} | {r['working_size']} | {r['select_auc_rebalanced']} | "
        f"{r['select_colourfulness_ratio']} | {r['select_psnr']} ({r['select_grey_psnr']}) | {r['select_cast']} | "
        f"{r['outside_auc_rebalanced']} | {r['outside_colourfulness_ratio']} | {r['outside_psnr']} "
        f"({r['outside_grey_psnr']}) | {r['outside_cast']} |" for r in rows])


def run_arm(name: str, changes: dict, out: Path, init: Path, bins: str, photos_for) -> tuple[Path, int, float]:
    """Train one arm (resuming its checkpoint); returns its exported weights, steps and minutes."""
    cfg = replace(BASE, **{k: v for k, v in changes.items() if k != "mirror"},
                  out=str(out / name), init=str(init), bins=bins)
    trainer = Trainer(cfg, resume=True)
    trainer.run(photos=photos_for(cfg))
    weights = export(Path(cfg.out), out / name / "weights", temperature=0.5, working_size=128).root
    return weights, trainer.step, trainer.wall / 60


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arms", nargs="*", default=None, help="run only these arms (default: every arm not yet done)")
    p.add_argument("--init", default="engine/weights", help="weights every arm starts from")
    p.add_argument("--out", default="runs/ablation", help="run folders")
    p.add_argument("--table", default=str(DOCS / "ablation.csv"), help="results, one row per finished arm")
    p.add_argument("--steps", type=int, default=None, help="override the arms' step count (quick trials)")
    p.add_argument("--limit", type=int, default=None, help="use at most this many training photos (quick trials)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (1 leaves a core for other work)")
    p.add_argument("--markdown", action="store_true", help="print the results table as Markdown and stop")
    p.add_argument("--rescore", nargs="*", default=[], help="score these finished arms again (a changed grid)")
    a = p.parse_args(argv)
    if a.markdown:
        print(markdown(Path(a.table)))
        return
    torch.set_num_threads(a.threads)
    out, table, init = Path(a.out), Path(a.table), Path(a.init)
    out.mkdir(parents=True, exist_ok=True)
    bins = out / "bins.json"
    bins.write_text(json.dumps(load_bundle(init).meta["bins"]))
    cache: dict[tuple, object] = {}

    def photos_for(cfg: TrainConfig):
        key = tuple(cfg.data)
        if key not in cache:
            cache.clear()
            cache[key] = load_photos(cfg.data, limit=a.limit)
            print(cache[key].summary())
        return cache[key]

    for name, changes, change in ARMS:
        if name in a.rescore:
            old = next(r for r in csv.DictReader(open(table)) if r["arm"] == name)
            weights = init if changes.get("steps") == 0 else out / name / "weights"
            s = score(weights, mirror=changes.get("mirror", False))
            append(table, row(name, change, int(old["steps"]), float(old["train_minutes"]), s))
            print(f"{name} rescored: select {s['select']['auc_rebalanced']:.4f} at T {s['temperature']}, "
                  f"ws {s['working_size']}", flush=True)
        if name in done_arms(table) or (a.arms is not None and name not in a.arms):
            continue
        if a.steps is not None and changes.get("steps") != 0:
            changes = changes | {"steps": a.steps}
        print(f"== {name}: {change}")
        if changes.get("steps") == 0:
            weights, steps, minutes = init, 0, 0.0
        else:
            weights, steps, minutes = run_arm(name, changes, out, init, str(bins), photos_for)
        t0 = time.perf_counter()
        s = score(weights, mirror=changes.get("mirror", False))
        (out / f"{name}.json").write_text(json.dumps(s, indent=1, default=str))
        r = row(name, change, steps, minutes, s)
        append(table, r)
        print(f"{name}: select {r['select_auc_rebalanced']} (T {r['temperature']}, ws {r['working_size']}, "
              f"PSNR {r['select_psnr']} vs grey {r['select_grey_psnr']}, cast {r['select_cast']}) | outside "
              f"{r['outside_auc_rebalanced']} | scored in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
