"""Teach a colorization model to follow colour hints: `python -m training.hints --minutes 40`.

Fine-tunes the shipped (or `--init`) automatic model into one with hint inputs (engine/model.py):
the hint planes start at zero weight, and every training crop gets hints sampled from its own true
colours as Zhang et al. 2017 do: a number of points drawn from a geometric distribution (mean 8),
a quarter of the crops with none at all, each point a small square patch carrying the patch's
mean true chroma. The crops without hints learn the automatic model's own output (`--teacher`,
by default `--init`) rather than the truth, so that one model serves both uses: with no hints it
stays the automatic model it came from. Then `--eval` measures PSNR and rebalanced AuC on the
validation photos with 0, 1, 2, 5, 10 and 20 points sampled from the truth at fixed seeds. Rerun
it whenever a newer automatic model ships.

`--hint-design local --recolour 0.5 --freeze-automatic` trains engine/model.py's local design
instead (issue 20, how v0.3 was made): hints enter after the global context through a branch
that is exactly zero without hints, half of the hinted crops have a region recoloured with their
hints taken from it (training/data.py), and only the hint branch trains, so with no hints the
model is --init's automatic model bit for bit and needs no teacher. Without --freeze-automatic
the whole network trains (hint-free crops then learn the truth, unless `--teacher` is given).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from engine import Canvas, Colorizer, Prediction
from engine.color import rgb_to_yuv
from engine.weights import load_bundle
from training.data import hint_planes

EVAL_POINTS = (0, 1, 2, 5, 10, 20)
EVAL_PATCH = 3
NO_HINT_TOLERANCE = 0.002  # with no hints, at most this much rebalanced AuC below the automatic model
MIN_GAIN_AT_10 = 3.0       # dB that 10 points must add over none


def predict(colorizer: Colorizer, canvas: Canvas, planes: np.ndarray) -> Prediction:
    """The engine's prediction with hint planes (1, 3, h, w) sampled at the working size (the
    backends feed them only to weights that take hints)."""
    logits = colorizer.net(canvas.network_input(colorizer.working_size), planes)[0]
    return Prediction(logits, canvas, colorizer.bundle.bins, colorizer.temperature, hints=planes)


def evaluate_hints(weights: Path, photos: list[Path], points=EVAL_POINTS, seed: int = 0) -> dict:
    """{points: metrics} for hints sampled from each photo's truth (same positions for every model),
    plus "hint_ab_error": the mean CIELAB ab distance, at the hinted pixels, between the output and
    the hint's colour at that pixel's luminance."""
    from PIL import Image
    from skimage.color import rgb2lab

    from engine.color import yuv_to_rgb
    from training.evaluate import Scores, colourfulness

    colorizer = Colorizer(weights, backend="onnx")
    bundle = colorizer.bundle
    scores = {n: Scores() for n in points}
    at_hints = {n: [] for n in points if n}
    truth_bins, truth_colour = [], []
    for i, path in enumerate(photos):
        truth = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
        yuv = rgb_to_yuv(truth)
        canvas = Canvas.of(np.repeat(yuv[..., :1], 3, axis=2))
        h, w = canvas.network_input(bundle.working_size).shape[2:]
        small = np.asarray(Image.fromarray((truth * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR),
                           np.float32) / 255
        small_uv = rgb_to_yuv(small)[..., 1:]
        lab = rgb2lab(truth)
        truth_bins.append(bundle.bins.assign(yuv[..., 1:]).ravel())
        truth_colour.append(colourfulness(truth))
        for n in points:
            hints = hint_planes(small_uv, n, np.random.default_rng((seed, i, n)), EVAL_PATCH)[None]
            out = np.asarray(predict(colorizer, canvas, hints).render(), np.float32)
            scores[n].add(out, truth, lab)
            if n:  # the hint planes at full resolution: where the hints are, and their chroma there
                full = np.stack([np.asarray(Image.fromarray(p).resize(truth.shape[1::-1], Image.NEAREST))
                                 for p in hints[0]])
                mask = full[2] > 0
                wanted = rgb2lab(np.clip(yuv_to_rgb(np.dstack([yuv[..., 0], full[0], full[1]])), 0, 1))
                at_hints[n].append(np.linalg.norm(rgb2lab(out)[mask][:, 1:] - wanted[mask][:, 1:], axis=-1).mean())
    tb, tc = np.concatenate(truth_bins), float(np.mean(truth_colour))
    return {n: {**s.summary(tb, tc), **({"hint_ab_error": float(np.mean(at_hints[n]))} if n else {})}
            for n, s in scores.items()}


def figure(weights: list[Path], photo: Path, points: list[tuple], out: Path) -> None:
    """grey | automatic | then for each weights folder: with hints (marked), the difference the
    hints made | truth (colour photos only): where a hint's colour spreads, model beside model;
    prints how much each changed. points: (x, y) in image pixels, taking the truth's 3x3 mean
    colour there, or (x, y, colour)."""
    from PIL import Image, ImageDraw
    from skimage.color import rgb2lab

    from engine.color import is_colour, parse_colour
    from training.evaluate import contact_sheet

    truth = np.asarray(Image.open(photo).convert("RGB"))
    coloured = is_colour(truth)
    if not coloured and any(len(p) < 3 for p in points):
        raise SystemExit(f"{photo} has no colour to take hints from: give each point as X,Y,COLOUR")
    hints = [(p[0], p[1], parse_colour(p[2]) if len(p) > 2 else
              tuple(int(c) for c in truth[p[1] - 1:p[1] + 2, p[0] - 1:p[0] + 2].reshape(-1, 3).mean(0)))
             for p in points]
    canvas = Canvas.of(np.repeat(rgb_to_yuv(truth / 255.0)[..., :1].astype(np.float32), 3, axis=2))  # [0, 1]
    grey = np.repeat(canvas.luminance[..., None], 3, axis=2)
    columns, labels = [grey], ["grey"]
    r = max(5, round(max(truth.shape) / 60))
    for i, w in enumerate(weights):
        colorizer = Colorizer(w, backend="onnx")
        name = colorizer.bundle.meta.get("version") or Path(w).name
        auto = np.asarray(colorizer.predict(canvas).render(), np.float32)
        hinted = np.asarray(colorizer.predict(canvas, hints=hints).render(), np.float32)
        change = np.linalg.norm(rgb2lab(hinted.clip(0, 1))[..., 1:] - rgb2lab(auto.clip(0, 1))[..., 1:], axis=-1)
        print(f"{w}: mean ab change {change.mean():.1f}, bottom third {change[2 * len(change) // 3:].mean():.1f}; "
              f"{(np.abs(hinted - auto).max(-1) * 255 > 10).mean():.1%} of the pixels changed by more than 10 levels")
        diff = np.abs(hinted - auto).sum(-1, keepdims=True)
        diff = np.repeat(diff / max(diff.max(), 1e-6), 3, axis=2)
        marked = Image.fromarray((hinted.clip(0, 1) * 255).astype(np.uint8))
        draw = ImageDraw.Draw(marked)
        for x, y, c in hints:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=c, outline="white", width=2)
        if i == 0 or np.abs(auto - columns[1]).max() > 1 / 255:  # one automatic column where they agree
            columns.append(auto)
            labels.append("automatic" if len(weights) == 1 else f"{name}: automatic")
        columns += [np.asarray(marked, np.float32) / 255, diff]
        labels += [f"{name}: {len(hints)} hint(s)" if len(weights) > 1 else f"{len(hints)} hint(s)",
                   "change (brighter = more)"]
    columns += [truth / 255.0] * coloured
    labels += ["truth"] * coloured
    contact_sheet([columns], labels, out, height=200 if coloured else 320)


def ship(run: Path, teacher: Path, dest: Path, val: list[str]) -> bool:
    """Export the run at its teacher's temperature and working size, score both on all the
    validation photos (the issue's measure), and write it to dest only if it keeps the automatic
    colours (NO_HINT_TOLERANCE) and follows hints (MIN_GAIN_AT_10); the figures go into its model.json."""
    from training.evaluate import list_images
    from training.export import export

    auto = load_bundle(teacher)
    candidate = export(run, run / "w", auto.temperature, auto.working_size).root
    photos = list_images(val)
    new, old = evaluate_hints(candidate, photos), evaluate_hints(teacher, photos, points=(0,))
    keeps = new[0]["auc_rebalanced"] >= old[0]["auc_rebalanced"] - NO_HINT_TOLERANCE
    follows = new[10]["psnr"] - new[0]["psnr"] >= MIN_GAIN_AT_10
    print(f"validation, no hints: {new[0]['auc_rebalanced']:.4f} rebalanced AuC vs the automatic "
          f"{old[0]['auc_rebalanced']:.4f} ({'kept' if keeps else 'LOST'}); 10 points add "
          f"{new[10]['psnr'] - new[0]['psnr']:.2f} dB ({'enough' if follows else 'TOO LITTLE'})")
    if not (keeps and follows):
        print(f"not shipped; the candidate is in {candidate}")
        return False
    metrics = {"hints": {"validation": new, "automatic": old[0], "teacher": str(teacher)}}
    (run / "metrics.json").write_text(json.dumps(metrics, indent=1))
    export(run, dest, auto.temperature, auto.working_size, metrics=run / "metrics.json")
    print(f"shipped to {dest}")
    return True


def locality_report(weights: list[str], photos: list[Path], probe: bool, out: str | None) -> dict:
    """Print issue 20's locality summary for each weights folder (through the engine's onnx path;
    with `probe`, also torch as is and with the hint's route through the global context cut) and
    write them all to `out` if given."""
    import time

    from training import locality

    results = {}
    for w in weights:
        colorizer = Colorizer(w, backend="onnx")
        runs = {"engine": (locality.colorizer_predict(colorizer), colorizer.working_size)}
        if probe:
            runs.update({f"torch, context {m}": locality.context_probe(w, m) for m in ("as-is", "frozen", "only")})
        for name, (predict, size) in runs.items():
            start = time.perf_counter()
            results[f"{w}: {name}"] = r = locality.evaluate_locality(photos, predict, size)
            print(locality.summary_line(f"{w}, {name}", r) + f" [{time.perf_counter() - start:.1f} s]", flush=True)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(results, indent=1))
    return results


def main(argv=None) -> None:
    from training.evaluate import list_images
    from training.scaling import LARGE, TINY, TINY_EXTRA, VAL
    from training.train import Trainer, TrainConfig

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--init", default="engine/weights", help="the automatic model to start from")
    p.add_argument("--teacher", default=None,
                   help="automatic model that crops without hints learn to match (default: --init)")
    p.add_argument("--out", default="runs/hints", help="run folder")
    p.add_argument("--minutes", type=float, default=40, help="training budget")
    p.add_argument("--steps", type=int, default=None, help="steps (default: from --minutes at ~100 img/s)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--data", nargs="+", default=[TINY, TINY_EXTRA, LARGE])
    p.add_argument("--hint-design", default=None, choices=["stem", "local"],
                   help="where the hints enter the model (engine/model.py; default: --init's, else stem)")
    p.add_argument("--recolour", type=float, default=None,
                   help="share of the hinted crops with a recoloured region (default: --init's, else 0)")
    p.add_argument("--freeze-automatic", action="store_true",
                   help="train only the hint inputs: with no hints the model is exactly --init's (local design)")
    p.add_argument("--hint-init", default=None, metavar="WEIGHTS",
                   help="start the hint inputs from this model's (its branch, trained on an earlier automatic model)")
    p.add_argument("--hint-point-weight", type=float, default=None,
                   help="extra loss weight at the hinted pixels (default: --init's, else 0)")
    p.add_argument("--region-weight", type=float, default=None,
                   help="extra loss weight on a recoloured region's pixels (default: --init's, else 0)")
    p.add_argument("--eval", nargs="*", default=None, metavar="WEIGHTS",
                   help="only evaluate these weights folders on the validation photos (--half)")
    p.add_argument("--val", nargs="+", default=VAL)
    p.add_argument("--limit", type=int, default=None, help="at most this many validation photos")
    p.add_argument("--half", default="select", choices=["select", "report", "all"], help="validation half to score")
    p.add_argument("--points", type=int, nargs="+", default=list(EVAL_POINTS), help="numbers of hint points")
    p.add_argument("--ship", metavar="RUN", default=None,
                   help="only export RUN and ship it to --dest if it keeps --teacher's automatic colours and follows hints")
    p.add_argument("--dest", default="engine/weights", help="where --ship writes the weights")
    p.add_argument("--locality", nargs="+", metavar="WEIGHTS",
                   help="only measure whether one hint stays local (issue 20, training/locality.py) on --half")
    p.add_argument("--probe", action="store_true",
                   help="with --locality: also with the hint cut out of / let only into the global context (torch)")
    p.add_argument("--json", default=None, help="with --locality: write the summaries and per-photo figures here")
    p.add_argument("--figure", nargs="+", metavar="ARG",
                   help="only draw the figure: WEIGHTS... PHOTO OUT.png X,Y[,COLOUR] ... (without a colour: "
                        "the truth's; several weights folders side by side)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.figure:
        n = next((i for i, arg in enumerate(a.figure) if not Path(arg).is_dir()), len(a.figure))
        weights, rest = a.figure[:n], a.figure[n:]
        if not weights or len(rest) < 3:
            p.error("--figure WEIGHTS... PHOTO OUT.png X,Y[,COLOUR]...")
        photo, out, *xy = rest
        points = [(int(x), int(y), *c) for x, y, *c in (p.split(",", 2) for p in xy)]
        figure([Path(w) for w in weights], Path(photo), points, Path(out))
        return
    if a.locality:
        locality_report(a.locality, list_images(a.val, limit=a.limit, half=a.half), a.probe, a.json)
        return
    if a.ship:
        raise SystemExit(0 if ship(Path(a.ship), Path(a.teacher or a.init), Path(a.dest), a.val) else 1)
    if a.eval is not None:
        photos = list_images(a.val, limit=a.limit, half=a.half)
        for w in a.eval:
            res = evaluate_hints(Path(w), photos, a.points)
            print(f"{w} ({len(photos)} photos):", flush=True)
            for n, r in res.items():
                at = f", ab error at the hints {r['hint_ab_error']:.2f}" if n else ""
                print(f"  {n:2d} points: PSNR {r['psnr']:.2f}, rebalanced AuC {r['auc_rebalanced']:.4f}{at}", flush=True)
            Path(a.out).mkdir(parents=True, exist_ok=True)
            (Path(a.out) / f"eval-{a.half}-{Path(w).parent.name}-{Path(w).name}.json").write_text(json.dumps(res, indent=1))
        return
    if a.resume:
        cfg = TrainConfig.from_dict(json.loads((Path(a.out) / "config.json").read_text()))
        Trainer(cfg, resume=True).run(a.minutes)
        return
    saved = load_bundle(a.init).meta["training"]["config"]
    cfg = TrainConfig.from_dict(saved)
    steps = a.steps or int(100 * a.minutes * 60 / cfg.batch)
    design = a.hint_design or cfg.hint_design
    # frozen, the automatic part cannot drift: no teacher (the local design without freezing
    # learns the truth on hint-free crops: a continued automatic model)
    teacher = a.teacher or (None if design == "local" or a.freeze_automatic else a.init)
    cfg = replace(cfg, data=a.data, out=a.out, init=a.init, hints=True, hint_design=design,
                  recolour=cfg.recolour if a.recolour is None else a.recolour,
                  teacher=teacher, distill_sizes=(128, 160) if teacher else (), freeze_automatic=a.freeze_automatic,
                  hint_point_weight=cfg.hint_point_weight if a.hint_point_weight is None else a.hint_point_weight,
                  region_weight=cfg.region_weight if a.region_weight is None else a.region_weight,
                  steps=steps, lr=a.lr, warmup=100, precision="auto", hint_init=a.hint_init)
    Trainer(cfg).run(a.minutes * 1.2)


if __name__ == "__main__":
    main()
