"""One session of the long training campaign: `python -m training.campaign --minutes 120`.

Each session continues the shipped weights (`engine/weights`, or `--init` a weights folder or a
training run the first time) with a fresh optimiser and one warm-up + cosine learning-rate cycle
sized to `--minutes` of this machine's measured throughput (warm restarts, so no optimiser state
has to live in the repository: the shipped model.safetensors is the state the next session resumes
from). Then it picks the default temperature and working size on the "select" half of the
validation photos, compares with the shipped model on the same grid, and only if the new weights
are better ships them (model files + model.json with the metrics of both halves), appending a row
to `docs/campaign.csv` (every session, shipped or not) and redrawing `docs/campaign.png`. `--resume` continues an interrupted
session from its run folder.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from engine import Colorizer, load_bundle
from training.data import load_photos
from training.evaluate import evaluate, list_images, outside_photos
from training.export import export
from training.scaling import LARGE, TINY, TINY_EXTRA, VAL, probe
from training.train import Trainer, TrainConfig

DOCS = Path(__file__).resolve().parents[1] / "docs"
TEMPERATURES = [0.3, 0.38, 0.45, 0.5, 0.6]
WORKING_SIZES = [128, 160]
MAX_PSNR_DROP = 0.8   # dB below grey: the most a default setting may cost (issue 9's limit)


def grid(weights: Path, val: list[str], half: str) -> dict:
    """{(working size, T): metrics} on one half of validation, plus the grey row."""
    images = list_images(val, half=half)
    out = {}
    for ws in WORKING_SIZES:
        res = evaluate(images, Colorizer(weights, backend="onnx", working_size=ws), TEMPERATURES)
        out["grey"] = res["grey"]
        out.update({(ws, t): res[f"ours T={t:g}"] for t in TEMPERATURES})
    return out


def choose(scores: dict) -> tuple[int, float]:
    """The setting with the best rebalanced AuC among those within MAX_PSNR_DROP of grey's PSNR."""
    grey = scores["grey"]["psnr"]
    ok = [k for k in scores if k != "grey" and scores[k]["psnr"] >= grey - MAX_PSNR_DROP] or \
        [k for k in scores if k != "grey"]
    return max(ok, key=lambda k: scores[k]["auc_rebalanced"])


def initial_config(init: Path, out: Path, bins: str, data: list[str]) -> tuple[TrainConfig, Path]:
    """The training config and weights folder to start from: a weights folder or a training run."""
    if (init / "model.json").is_file():
        saved = load_bundle(init).meta["training"]["config"]
        weights = init
    else:  # a run folder: export its checkpoint first
        saved = json.loads((init / "config.json").read_text())
        weights = export(init, out / "init-weights", temperature=0.5, working_size=128).root
    cfg = TrainConfig.from_dict(saved, bins=bins, data=data, out=str(out / "run"), init=str(weights),
                                precision="auto", warmup=200).automatic()
    return cfg, weights


def record(row: dict, docs: Path) -> None:
    """Append a row to docs/campaign.csv and redraw docs/campaign.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    docs.mkdir(parents=True, exist_ok=True)
    path = docs / "campaign.csv"
    rows = list(csv.DictReader(open(path))) if path.exists() else []
    rows.append({k: str(v) for k, v in row.items()})
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[-1]))
        w.writeheader()
        w.writerows(rows)
    hours = [float(r["total_train_hours"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(hours, [float(r["select_auc_rebalanced"]) for r in rows], "o-", label="this session's weights")
    ax.plot(hours, [float(r["shipped_select_auc_rebalanced"]) for r in rows], "s--", label="shipped before it")
    ax.plot(hours, [float(r["select_grey_auc_rebalanced"]) for r in rows], ":", label="grey")
    ax.set_xlabel("training time, hours (2-core CPU)")
    ax.set_ylabel("rebalanced AuC, select half")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(docs / "campaign.png", dpi=80)
    plt.close(fig)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=120, help="training budget of this session")
    p.add_argument("--init", default="engine/weights", help="weights folder or training run to continue")
    p.add_argument("--out", default="runs/campaign", help="this session's run folder")
    p.add_argument("--bins", default="runs/bins.json", help="bins JSON (written from --init's model.json if missing)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the run's own)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted session in --out")
    p.add_argument("--ship", default="engine/weights", help="where improved weights go")
    p.add_argument("--data", nargs="+", default=[TINY, TINY_EXTRA, LARGE], help="training photos (folders, zips)")
    p.add_argument("--val", nargs="+", default=VAL, help="validation photo folders (split into select/report halves)")
    p.add_argument("--docs", default=str(DOCS), help="where campaign.csv and campaign.png are kept")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (1 leaves a core for other work)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    out, shipped = Path(a.out), Path(a.ship)
    out.mkdir(parents=True, exist_ok=True)
    if not Path(a.bins).exists():
        Path(a.bins).parent.mkdir(parents=True, exist_ok=True)
        Path(a.bins).write_text(json.dumps(load_bundle(shipped).meta["bins"]))
    session_path = out / "session.json"
    if a.resume and session_path.exists():
        session = json.loads(session_path.read_text())
        cfg = TrainConfig.from_dict(session["config"])
        photos = load_photos(cfg.data)
    else:
        cfg, start_weights = initial_config(Path(a.init), out, a.bins, a.data)
        if a.lr:
            cfg = replace(cfg, lr=a.lr)
        photos = load_photos(cfg.data)
        ips = probe(cfg, photos)
        cfg = replace(cfg, steps=int(ips * a.minutes * 60 / cfg.batch))
        previous = load_bundle(start_weights).meta.get("training", {})
        session = {"config": asdict(cfg), "images_per_s": ips, "start": str(start_weights),
                   "previous_hours": previous.get("total_train_hours", previous.get("wall_s", 0) / 3600)}
        session_path.write_text(json.dumps(session, indent=1))
    print(photos.summary(), f"| {cfg.steps} steps of {cfg.batch} ({session['images_per_s']:.0f} img/s measured)")
    trainer = Trainer(cfg, resume=a.resume)
    trainer.run(photos=photos)
    del photos

    candidate = out / "candidate"
    if candidate.exists():
        shutil.rmtree(candidate)
    export(Path(cfg.out), candidate, temperature=0.5, working_size=128,
           data_note="Tiny-ImageNet-200 (80,000 photos, 64x64) + 2,163 ImageNet-sample and BSDS500 photos")
    t0 = time.perf_counter()
    new, old = grid(candidate, a.val, "select"), grid(shipped, a.val, "select")
    (ws, t), (old_ws, old_t) = choose(new), choose(old)
    print(f"select half: new {new[(ws, t)]['auc_rebalanced']:.4f} at ws {ws}, T {t} | shipped "
          f"{old[(old_ws, old_t)]['auc_rebalanced']:.4f} at ws {old_ws}, T {old_t} | grey "
          f"{new['grey']['auc_rebalanced']:.4f} ({time.perf_counter() - t0:.0f} s)")
    hours = session["previous_hours"] + trainer.wall / 3600
    improved = new[(ws, t)]["auc_rebalanced"] > old[(old_ws, old_t)]["auc_rebalanced"]
    s = new[(ws, t)]
    record({"date": time.strftime("%Y-%m-%d"), "steps": cfg.steps, "train_minutes": round(trainer.wall / 60, 1),
            "total_train_hours": round(hours, 3), "temperature": t, "working_size": ws,
            "select_auc_rebalanced": round(s["auc_rebalanced"], 4), "select_psnr": round(s["psnr"], 2),
            "select_colourfulness_ratio": round(s["colourfulness_ratio"], 3), "select_cast": round(s["cast"], 2),
            "shipped_select_auc_rebalanced": round(old[(old_ws, old_t)]["auc_rebalanced"], 4),
            "select_grey_auc_rebalanced": round(new["grey"]["auc_rebalanced"], 4),
            "shipped": "yes" if improved else "no"}, Path(a.docs))
    if not improved:
        print("not better than the shipped model: nothing shipped")
        return
    if load_bundle(shipped).model.get("hints"):  # an automatic model must not replace one that takes hints
        print(f"better than the shipped model, which takes colour hints: give the candidate hint inputs with "
              f"`python -m training.hints --init {candidate}`, then ship that (docs/hints.md)")
        return
    colorizer = Colorizer(candidate, backend="onnx", working_size=ws)
    report = evaluate(list_images(a.val, half="report"), colorizer, [t])
    outside = evaluate(outside_photos(), colorizer, [t])
    metrics = {"select": {"grey": new["grey"], "ours": new[(ws, t)]}, "report": report, "outside": outside,
               "chosen": {"temperature": t, "working_size": ws}}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    bundle = export(Path(cfg.out), shipped, temperature=t, working_size=ws, metrics=out / "metrics.json",
                    data_note="Tiny-ImageNet-200 (80,000 photos, 64x64) + 2,163 ImageNet-sample and BSDS500 photos")
    meta = bundle.meta
    meta["training"]["total_train_hours"] = round(hours, 3)
    (shipped / "model.json").write_text(json.dumps(meta, indent=1))
    r = report[f"ours T={t:g}"]
    print(f"shipped to {shipped}: report half {r['auc_rebalanced']:.4f} rebalanced AuC, PSNR {r['psnr']:.2f}")


if __name__ == "__main__":
    main()
