"""Measure colour quality: `python -m training.evaluate --images DIR [--weights W] [--l2 RUN] [--json OUT]`.

Every photo is reduced to its luminance, colorized, and compared with the truth. One table, one row
per model and baseline:
- AuC: area under the CDF of the per-pixel ab error in CIELAB over thresholds 0-150 (Zhang et al.
  2016), and the class-rebalanced AuC (the CDF per true-colour bin, averaged over bins, so rare
  colours count as much as common ones);
- colourfulness (Hasler & Süsstrunk 2003) and its ratio to the truth's;
- PSNR and SSIM on RGB (scikit-image);
- colour cast: per image, the distance between the mean ab of the output and of the truth, averaged
  (a whole-photo tint scores high even when the per-pixel errors look small).
Baselines: the grey image itself, and an L2-regression model of the same architecture (`--l2 RUN`).

`--half select` / `--half report` split the photos into two fixed halves (alternate files in sorted
order): choose temperatures, working sizes and checkpoints on one, report the final table on the
other. `--outside` adds the sample photos that scikit-image and matplotlib ship (never in the
training or validation data) as a separate set.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.color import rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from engine import Canvas, Colorizer
from engine.color import ChromaBins, luminance, rgb_to_yuv
from engine.imageio import read_image
from engine.media import IMAGE_SUFFIXES

THRESHOLDS = np.arange(0, 151)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk's M on 0-255 RGB."""
    rgb = rgb.astype(np.float64) * 255
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def _cdf(errors: np.ndarray) -> np.ndarray:
    """Fraction of errors <= each threshold."""
    return np.searchsorted(np.sort(errors), THRESHOLDS, side="right") / len(errors)


@dataclass
class Scores:
    """Per-pixel errors and per-image scores of one method over the whole image set."""

    errors: list = field(default_factory=list)      # ab error per pixel, per image
    colourful: list = field(default_factory=list)
    psnr: list = field(default_factory=list)
    ssim: list = field(default_factory=list)
    cast: list = field(default_factory=list)        # |mean ab of output - mean ab of truth| per image

    def add(self, pred: np.ndarray, truth: np.ndarray, truth_lab: np.ndarray) -> None:
        pred = np.clip(pred, 0, 1)
        ab = rgb2lab(pred)[..., 1:]
        self.errors.append(np.linalg.norm(ab - truth_lab[..., 1:], axis=-1).ravel())
        self.cast.append(float(np.linalg.norm(ab.mean(axis=(0, 1)) - truth_lab[..., 1:].mean(axis=(0, 1)))))
        self.colourful.append(colourfulness(pred))
        self.psnr.append(peak_signal_noise_ratio(truth, pred, data_range=1.0))
        self.ssim.append(structural_similarity(truth, pred, channel_axis=2, data_range=1.0))

    def summary(self, truth_bins: np.ndarray, truth_colourful: float) -> dict:
        err = np.concatenate(self.errors)
        cdf = _cdf(err)
        # class-rebalanced: each true-colour bin counts once, however many pixels it has
        per_bin = [_cdf(err[truth_bins == b]) for b in np.unique(truth_bins)]
        return {"auc": float(cdf.mean()), "auc_rebalanced": float(np.mean(per_bin, axis=0).mean()),
                "colourfulness": float(np.mean(self.colourful)),
                "colourfulness_ratio": float(np.mean(self.colourful) / truth_colourful),
                "psnr": float(np.mean(self.psnr)), "ssim": float(np.mean(self.ssim)),
                "cast": float(np.mean(self.cast))}


def l2_predictor(run_dir: Path, working_size: int):
    """Colorize with an L2-regression checkpoint through the same guided upsampling as the engine."""
    import torch

    from training.train import checkpoint_model

    model, state = checkpoint_model(run_dir)

    def predict(y: np.ndarray) -> np.ndarray:
        canvas = Canvas.of(y)
        with torch.inference_mode():
            uv = model(torch.from_numpy(canvas.network_input(working_size)))[0].numpy()
        return canvas.rgb(np.moveaxis(uv, 0, -1))

    return predict, int(state["step"])


def contact_sheet(rows: list[list[np.ndarray]], labels: list[str], path: Path, height: int = 128) -> None:
    """A grid PNG, one row per photo, one column per method."""
    from PIL import ImageDraw

    tiles = [[Image.fromarray((np.clip(im, 0, 1) * 255).astype(np.uint8)).resize(
        (max(1, round(im.shape[1] * height / im.shape[0])), height)) for im in row] for row in rows]
    col_w = [max(r[c].width for r in tiles) for c in range(len(labels))]
    sheet = Image.new("RGB", (sum(col_w) + 4 * len(col_w), 18 + len(tiles) * (height + 4)), "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    for c, label in enumerate(labels):
        draw.text((x + 4, 3), label, fill="black")
        for r, row in enumerate(tiles):
            sheet.paste(row[c], (x, 18 + r * (height + 4)))
        x += col_w[c] + 4
    sheet.save(path)


def list_images(folders: list[str], limit: int | None = None, half: str = "all") -> list[Path]:
    """Photos in the folders, sorted; `half` "select" keeps the 1st, 3rd, ... and "report" the others."""
    files = sorted(f for d in folders for f in Path(d).rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
    files = {"all": files, "select": files[0::2], "report": files[1::2]}[half]
    return files[:limit] if limit else files


OUTSIDE = [("skimage", "data/astronaut.png"), ("skimage", "data/chelsea.png"), ("skimage", "data/coffee.png"),
           ("skimage", "data/motorcycle_left.png"), ("skimage", "data/rocket.jpg"),
           ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg")]


def outside_photos() -> list[Path]:
    """Colour photos shipped inside scikit-image and matplotlib: held out from everything here."""
    import importlib

    found = [Path(importlib.import_module(pkg).__file__).parent / rel for pkg, rel in OUTSIDE]
    return [f for f in found if f.is_file()]


def evaluate(images: list[Path], colorizer: Colorizer, temperatures: list[float], l2=None,
             sheet: Path | None = None, sheet_count: int = 8) -> dict:
    """Score grey, L2 (if given) and ours at each temperature; return {method: metrics}."""
    bins: ChromaBins = colorizer.bundle.bins
    methods = ["grey"] + (["L2 regression"] if l2 else []) + [f"ours T={t:g}" for t in temperatures]
    scores = {m: Scores() for m in methods}
    truth_bins, truth_colourful, sheet_rows = [], [], []
    for i, path in enumerate(images):
        truth = np.asarray(read_image(path).convert("RGB"), np.float32) / 255
        lab = rgb2lab(truth)
        truth_bins.append(bins.assign(rgb_to_yuv(truth)[..., 1:]).ravel())
        truth_colourful.append(colourfulness(truth))
        y = luminance(truth)
        outputs = {"grey": np.repeat(y[..., None], 3, axis=2)}
        if l2:
            outputs["L2 regression"] = l2(y)
        pred = colorizer.predict(y)
        for t in temperatures:
            outputs[f"ours T={t:g}"] = pred.render(t)
        for m in methods:
            scores[m].add(outputs[m], truth, lab)
        if sheet and i < sheet_count:
            sheet_rows.append([outputs["grey"], outputs[methods[-len(temperatures)]],
                               *( [outputs["L2 regression"]] if l2 else []), truth])
    tb = np.concatenate(truth_bins)
    results = {m: scores[m].summary(tb, float(np.mean(truth_colourful))) for m in methods}
    results["truth"] = {"colourfulness": float(np.mean(truth_colourful)), "colourfulness_ratio": 1.0}
    if sheet:
        contact_sheet(sheet_rows, ["grey", f"ours (T={temperatures[0]:g})"] + (["L2"] if l2 else []) + ["truth"],
                      sheet)
    return results


def format_table(results: dict) -> str:
    head = ("| method | AuC | rebalanced AuC | colourfulness | ratio to truth | PSNR dB | SSIM | cast |\n"
            "|---|---|---|---|---|---|---|---|")
    rows = []
    for m, r in results.items():
        f = lambda k, fmt: format(r[k], fmt) if k in r else "–"  # noqa: E731
        rows.append(f"| {m} | {f('auc', '.4f')} | {f('auc_rebalanced', '.4f')} | {f('colourfulness', '.1f')} | "
                    f"{f('colourfulness_ratio', '.2f')} | {f('psnr', '.2f')} | {f('ssim', '.4f')} | {f('cast', '.2f')} |")
    return "\n".join([head, *rows])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", nargs="+", default=[], help="folders of colour photos (ground truth)")
    p.add_argument("--half", choices=["all", "select", "report"], default="all",
                   help="score only this half of the photos (select: for choices; report: for final figures)")
    p.add_argument("--outside", action="store_true", help="score the sample photos shipped by scikit-image "
                   "and matplotlib instead (not in any training or validation data)")
    p.add_argument("--weights", default=None, help="weights folder (default: the shipped model)")
    p.add_argument("--l2", default=None, help="run folder of an L2-regression baseline (training.train --loss l2)")
    p.add_argument("--temperatures", type=float, nargs="+", default=None,
                   help="annealed-mean temperatures to score (default: the model's)")
    p.add_argument("--working-size", type=int, default=None)
    p.add_argument("--limit", type=int, default=None, help="use at most this many photos")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--sheet", default=None, help="contact sheet PNG (grey | ours | L2 | truth)")
    a = p.parse_args(argv)
    colorizer = Colorizer(a.weights, working_size=a.working_size)
    images = outside_photos() if a.outside else list_images(a.images, a.limit, a.half)
    if not images:
        p.error("no photos: give --images FOLDER... or --outside")
    l2, l2_step = l2_predictor(Path(a.l2), colorizer.working_size) if a.l2 else (None, None)
    temps = a.temperatures or [colorizer.temperature]
    results = evaluate(images, colorizer, temps, l2, Path(a.sheet) if a.sheet else None)
    table = format_table(results)
    print(f"{len(images)} photos, working size {colorizer.working_size}" + (f", L2 at step {l2_step}" if l2 else ""))
    print(table)
    if a.json:
        Path(a.json).write_text(json.dumps({"images": len(images), "working_size": colorizer.working_size,
                                            "l2_step": l2_step, "results": results, "table": table}, indent=1))


if __name__ == "__main__":
    main()
