"""The long training campaign, one stretch at a time: `python -m training.campaign --minutes 120`.

Each stretch continues the campaign's state, the last stretch's weights (`--state`, committed in
training/state/; the shipped model before the first stretch), with its own training recipe as saved
in model.json, a fresh optimiser and one warm-up + cosine learning-rate cycle sized to `--minutes`
of this machine's measured throughput (warm restarts: the committed weights, with the class-label
head beside them, are the whole state, so no optimiser state lives in the repository). `--resume`
continues an interrupted stretch from its run folder; `--candidate RUN` instead scores a run trained
elsewhere (on a GPU by training.stretch, or the ablation's long pair) as a stretch.

A state whose hint branch was trained frozen on its automatic model (the way that keeps a corrected
hint's colour; docs/hints.md) continues as that automatic model; then the branch, starting from the
state's, trains frozen again on the new automatic model for `--hint-steps`, so every stretch leaves
one model for automatic colours and hints.

Then it picks the default temperature and working size on the "select" half of the validation
photos and compares with the state on the same grid (the gain is the stop rule's measure). The
candidate becomes the new state (commit it: the chain goes on from every stretch) and replaces the
shipped weights only if it passes the ship gate (training.gate).
Every stretch appends a row to `docs/campaign.csv` and redraws `docs/campaign.png`.
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
from training.evaluate import evaluate, list_images
from training.export import export
from training.gate import MAX_PSNR_DROP, MIN_COLOURFUL, gate, record_and_ship
from training.scaling import LARGE, TINY, TINY_EXTRA, VAL, probe
from training.train import Trainer, TrainConfig, save_class_head

DOCS = Path(__file__).resolve().parents[1] / "docs"
STATE = Path(__file__).resolve().parent / "state"   # the campaign's latest weights, committed
# The first campaign's 0.3-0.6 and two more muted ones: every ablation arm chose 0.6 or more, the
# edge of the old grid; and 96 px, which several arms chose
TEMPERATURES = [0.3, 0.38, 0.45, 0.5, 0.6, 0.7, 0.8]
WORKING_SIZES = [96, 128, 160]


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
    """The setting with the best rebalanced AuC among those that meet the gate's floors: PSNR within
    MAX_PSNR_DROP of grey's and colourfulness at least MIN_COLOURFUL of the truth's (else among
    those within the PSNR floor, else among all). Measured on stretch 3: AuC barely moves with T
    (0.7641 to 0.7647 from T 0.5 to 0.8 at 128 px) while colourfulness falls from 0.81 to 0.75."""
    grey = scores["grey"]["psnr"]
    settings = [k for k in scores if k != "grey"]
    psnr_ok = [k for k in settings if scores[k]["psnr"] >= grey - MAX_PSNR_DROP]
    both_ok = [k for k in psnr_ok if scores[k]["colourfulness_ratio"] >= MIN_COLOURFUL]
    return max(both_ok or psnr_ok or settings, key=lambda k: scores[k]["auc_rebalanced"])


def initial_config(init: Path, out: Path, bins: str, data: list[str]) -> tuple[TrainConfig, Path]:
    """The training config and weights folder to start from: a weights folder or a training run.
    A model whose hint branch was trained frozen on an automatic one continues as that automatic
    model; a model trained with hints from the start continues with them."""
    if (init / "model.json").is_file():
        saved = load_bundle(init).meta["training"]["config"]
        weights = init
    else:  # a run folder: export its checkpoint first
        saved = json.loads((init / "config.json").read_text())
        bundle = export(init, out / "init-weights", temperature=0.5, working_size=128)
        # a run trained for the campaign elsewhere (the ablation's long pair) counts in its hours
        write_hours(bundle, campaign_hours(Path(saved["init"])) + bundle.meta["training"]["wall_s"] / 3600)
        weights = bundle.root
    cfg = TrainConfig.from_dict(saved, bins=bins, data=data, out=str(out / "run"), init=str(weights),
                                precision="auto", warmup=200)
    return (cfg.automatic() if cfg.freeze_automatic else cfg), weights


def start_weights(state: Path, shipped: Path) -> Path:
    """What a stretch continues: the campaign's state, or the shipped weights before its first stretch."""
    return state if (state / "model.json").is_file() else shipped


def write_hours(bundle, hours: float) -> None:
    """Record the campaign hours behind an exported weights bundle in its model.json."""
    bundle.meta["training"]["total_train_hours"] = round(hours, 3)
    (bundle.root / "model.json").write_text(json.dumps(bundle.meta, indent=1))


def campaign_hours(weights: Path) -> float:
    """Hours of campaign training behind a weights folder (0 for weights no campaign trained)."""
    if not (weights / "model.json").is_file():
        return 0.0
    return load_bundle(weights).meta.get("training", {}).get("total_train_hours", 0.0)


CSV_FIELDS = ["date", "campaign", "steps", "train_minutes", "total_train_hours", "temperature", "working_size",
              "select_auc_rebalanced", "select_psnr", "select_colourfulness_ratio", "select_cast",
              "before_select_auc_rebalanced", "select_grey_auc_rebalanced", "report_auc_rebalanced", "shipped"]


def record(row: dict, docs: Path) -> None:
    """Append a row to docs/campaign.csv and redraw docs/campaign.png (one line per campaign)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    docs.mkdir(parents=True, exist_ok=True)
    path = docs / "campaign.csv"
    rows = list(csv.DictReader(open(path))) if path.exists() else []
    rows.append({k: str(v) for k, v in row.items()})
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        w.writerows(rows)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for n in sorted({r["campaign"] for r in rows}):
        mine = [r for r in rows if r["campaign"] == n]
        hours = [float(r["total_train_hours"]) for r in mine]
        line, = ax.plot(hours, [float(r["select_auc_rebalanced"]) for r in mine], "o-", label=f"campaign {n}: stretch")
        ax.plot(hours, [float(r["before_select_auc_rebalanced"]) for r in mine], "s--", color=line.get_color(),
                alpha=0.6, label=f"campaign {n}: before it")
    ax.axhline(float(rows[-1]["select_grey_auc_rebalanced"]), ls=":", color="grey", label="grey")
    ax.set_xlabel("hours of campaign training (CPU)")
    ax.set_ylabel("rebalanced AuC, select half")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(docs / "campaign.png", dpi=80)
    plt.close(fig)


def train_stretch(a, out: Path, start: Path) -> tuple[Path, int, float, Path, object]:
    """Train this stretch (or resume it); returns (run folder, steps, wall seconds, the weights it
    started from, the decoded photos)."""
    session_path = out / "session.json"
    if a.resume and session_path.exists():
        session = json.loads(session_path.read_text())
        cfg = TrainConfig.from_dict(session["config"])
        photos = load_photos(cfg.data)
    else:
        cfg, start = initial_config(start, out, a.bins, a.data)
        if a.lr:
            cfg = replace(cfg, lr=a.lr)
        photos = load_photos(cfg.data)
        ips = probe(cfg, photos)
        cfg = replace(cfg, steps=max(1, int(ips * a.minutes * 60 / cfg.batch)))
        session = {"config": asdict(cfg), "images_per_s": ips, "start": str(start)}
        session_path.write_text(json.dumps(session, indent=1))
    print(photos.summary(), f"| {cfg.steps} steps of {cfg.batch} ({session['images_per_s']:.0f} img/s measured)")
    trainer = Trainer(cfg, resume=a.resume)
    trainer.run(photos=photos)
    return Path(cfg.out), trainer.step, trainer.wall, Path(session["start"]), photos


def hint_pass(a, out: Path, run: Path, start: Path, photos=None) -> tuple[Path, float] | None:
    """Give an automatic stretch back the hint branch of the state it continued: a state whose branch
    was trained frozen (the way that keeps a corrected hint's colour, docs/hints.md) trains it again,
    frozen, on the new automatic model for --hint-steps, starting from the state's branch. Returns
    (the hint run, its wall seconds), or None when the state has no frozen branch or the run has hints."""
    saved = load_bundle(start).meta.get("training", {}).get("config", {})
    if not saved.get("freeze_automatic") or json.loads((run / "config.json").read_text()).get("hints"):
        return None
    hint_run = out / "hints"
    if a.resume and (hint_run / "checkpoint.pt").is_file():
        trainer = Trainer(TrainConfig.from_dict(json.loads((hint_run / "config.json").read_text())), resume=True)
    else:
        automatic = export(run, out / "automatic", temperature=0.5, working_size=128).root
        cfg = TrainConfig.from_dict(saved, init=str(automatic), hint_init=str(start), out=str(hint_run),
                                    bins=a.bins, data=a.data, steps=a.hint_steps, warmup=100, precision="auto",
                                    **({} if a.region_weight is None else {"region_weight": a.region_weight}))
        trainer = Trainer(cfg)
    trainer.run(photos=photos)
    return hint_run, trainer.wall


def keep(run: Path, state: Path, temperature: float, working_size: int, hours: float, head: Path) -> None:
    """Write a run's weights (and the class-label head of the automatic run `head`, for the next
    stretch) as the campaign's state."""
    write_hours(export(run, state, temperature=temperature, working_size=working_size), hours)
    save_class_head(head, state)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=120, help="training budget of this stretch")
    p.add_argument("--state", default=str(STATE), help="the campaign's latest weights (committed)")
    p.add_argument("--init", default=None, help="weights folder or training run to continue (default: --state, "
                   "or --ship before the first stretch); with --candidate, the state that run continued (default: "
                   "its own init)")
    p.add_argument("--candidate", default=None, metavar="RUN", help="score this run folder (trained elsewhere) "
                   "as the stretch instead of training")
    p.add_argument("--out", default="runs/campaign", help="this stretch's run folder")
    p.add_argument("--bins", default="runs/bins.json", help="bins JSON (written from the start weights if missing)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the run's own)")
    p.add_argument("--hint-steps", type=int, default=2000, help="steps of the frozen hint pass that gives an "
                   "automatic stretch back the state's hint branch")
    p.add_argument("--region-weight", type=float, default=None, help="the hint pass's extra loss weight on "
                   "recoloured regions (default: the state's branch's; docs/hints.md)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted stretch in --out")
    p.add_argument("--ship", default="engine/weights", help="the shipped weights: the gate's baseline")
    p.add_argument("--data", nargs="+", default=[TINY, TINY_EXTRA, LARGE], help="training photos (folders, zips)")
    p.add_argument("--val", nargs="+", default=VAL, help="validation photo folders (split into select/report halves)")
    p.add_argument("--docs", default=str(DOCS), help="where campaign.csv and campaign.png are kept")
    p.add_argument("--campaign", default="2", help="the campaign's name in campaign.csv")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (1 leaves a core for other work)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    out, state, shipped = Path(a.out), Path(a.state), Path(a.ship)
    start = Path(a.init) if a.init else start_weights(state, shipped)
    out.mkdir(parents=True, exist_ok=True)
    if not Path(a.bins).exists():
        Path(a.bins).parent.mkdir(parents=True, exist_ok=True)
        Path(a.bins).write_text(json.dumps(load_bundle(start).meta["bins"]))
    if a.candidate:  # trained elsewhere: its checkpoint says how long, its config where it started
        run = Path(a.candidate)
        ckpt = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
        steps, wall = ckpt["step"], ckpt["wall"]
        start = Path(a.init or ckpt["config"]["init"])
        del ckpt
        photos = None
    else:
        run, steps, wall, start, photos = train_stretch(a, out, start)
    automatic_run = run
    if hinted := hint_pass(a, out, run, start, photos):
        run, hint_wall = hinted
        wall += hint_wall
    del photos
    candidate = out / "candidate"
    if candidate.exists():
        shutil.rmtree(candidate)
    export(run, candidate, temperature=0.5, working_size=128)
    t0 = time.perf_counter()
    new, old = grid(candidate, a.val, "select"), grid(start, a.val, "select")
    (ws, t), (old_ws, old_t) = choose(new), choose(old)
    gain = new[(ws, t)]["auc_rebalanced"] - old[(old_ws, old_t)]["auc_rebalanced"]
    print(f"select half: candidate {new[(ws, t)]['auc_rebalanced']:.4f} at ws {ws}, T {t} | before "
          f"{old[(old_ws, old_t)]['auc_rebalanced']:.4f} at ws {old_ws}, T {old_t} ({gain:+.4f}) | grey "
          f"{new['grey']['auc_rebalanced']:.4f} ({time.perf_counter() - t0:.0f} s)")
    # the chain goes on from every stretch (a warm restart from an older state would waste this
    # one's training); the gain is the stop rule's measure
    hours = campaign_hours(start) + wall / 3600
    keep(run, state, t, ws, hours, head=automatic_run)
    passed, figures = gate(state, shipped, a.val)
    record_and_ship(state, figures, {"temperature": t, "working_size": ws}, passed, shipped)
    print(f"the campaign's state is now {state} (commit it)")
    s = new[(ws, t)]
    record({"date": time.strftime("%Y-%m-%d"), "campaign": a.campaign, "steps": steps,
            "train_minutes": round(wall / 60, 1), "total_train_hours": round(hours, 3), "temperature": t,
            "working_size": ws, "select_auc_rebalanced": round(s["auc_rebalanced"], 4),
            "select_psnr": round(s["psnr"], 2), "select_colourfulness_ratio": round(s["colourfulness_ratio"], 3),
            "select_cast": round(s["cast"], 2),
            "before_select_auc_rebalanced": round(old[(old_ws, old_t)]["auc_rebalanced"], 4),
            "select_grey_auc_rebalanced": round(new["grey"]["auc_rebalanced"], 4),
            "report_auc_rebalanced": round(figures["report"]["candidate"]["ours"]["auc_rebalanced"], 4),
            "shipped": "yes" if passed else "no"}, Path(a.docs))

if __name__ == "__main__":
    main()
