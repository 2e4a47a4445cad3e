"""Learn the chroma bins from training photos: `python -m training.bins --data DIR_OR_ZIP ...`.

Writes the bins JSON (engine.color.ChromaBins), the paper's Figure 1 as a PNG, and a table of what
the quantisation alone costs (mean ab error in CIELAB of the photos rebuilt from their nearest
kept bin) for several grid sizes and n, so the choice of n and grid rests on evidence.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from skimage.color import rgb2lab

from engine.color import ChromaBins, rgb_to_yuv, uv_histogram, yuv_to_rgb
from training.data import load_photos


def quantisation_error(photos: list[np.ndarray], bins: ChromaBins) -> float:
    """Mean ab distance (CIELAB) between photos and the same photos with UV snapped to the bins."""
    errs = []
    for rgb in photos:
        f = rgb.astype(np.float32) / 255
        yuv = rgb_to_yuv(f)
        yuv[..., 1:] = bins.centers[bins.assign(yuv[..., 1:])]
        q = np.clip(yuv_to_rgb(yuv), 0, 1)
        errs.append(np.linalg.norm(rgb2lab(f)[..., 1:] - rgb2lab(q)[..., 1:], axis=-1).mean())
    return float(np.mean(errs))


def figure1(bins: ChromaBins, path: Path) -> None:
    """(a) mean colour of each kept bin, (b) frequency, (c) inverse frequency, (d) rebalanced weights."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    u, v = bins.centers[:, 0], bins.centers[:, 1]
    rgb = np.clip(yuv_to_rgb(np.column_stack([np.full(bins.n, 0.5), u, v])), 0, 1)
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    panels = [("(a) kept bins, colour at Y = 0.5", rgb, None),
              ("(b) log10 P(b)", None, np.log10(bins.prior)),
              ("(c) log10 1/P(b)", None, -np.log10(bins.prior)),
              (f"(d) log10 weight, λ = {bins.lam}", None, np.log10(bins.weights))]
    s = (bins.bin_size * 120) ** 2
    for ax, (title, colours, values) in zip(axes, panels):
        if colours is not None:
            ax.scatter(u, v, c=colours, marker="s", s=s)
        else:
            sc = ax.scatter(u, v, c=values, cmap="jet", marker="s", s=s)
            fig.colorbar(sc, ax=ax, fraction=0.046)
        ax.set_title(title)
        ax.set_xlabel("U")
        ax.set_ylabel("V")
        ax.set_xlim(-0.45, 0.45)
        ax.set_ylim(-0.63, 0.63)
        ax.set_aspect("equal")
    fig.suptitle(f"{bins.n} kept bins of size {bins.bin_size} (cover {100 * bins.coverage:.2f}% of pixels)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", nargs="+", required=True, help="folders and/or zip files of colour photos")
    p.add_argument("--bin-size", type=float, default=0.03, help="side of the square UV bins (default 0.03)")
    p.add_argument("--n", type=int, default=256, help="number of bins to keep (default 256)")
    p.add_argument("--lam", type=float, default=0.5, help="rebalancing λ (default 0.5)")
    p.add_argument("--limit", type=int, default=None, help="use at most this many photos")
    p.add_argument("--out", default="runs/bins.json", help="bins JSON to write (default runs/bins.json)")
    p.add_argument("--figure", default=None, help="Figure 1 PNG (default: next to --out)")
    p.add_argument("--compare", action="store_true",
                   help="also print the quantisation error for several grid sizes and n")
    args = p.parse_args(argv)

    photos = load_photos(args.data, limit=args.limit)
    print(photos.summary())
    all_photos = photos.small + photos.large
    sizes = sorted({args.bin_size, *((0.02, 0.03, 0.04, 0.05, 0.06) if args.compare else ())})
    counts = {s: 0 for s in sizes}
    for x in all_photos:  # one photo at a time: the UV of 40k photos would not fit in memory
        uv = rgb_to_yuv(x.reshape(-1, 3).astype(np.float32) / 255)[:, 1:]
        for s in sizes:
            counts[s] = counts[s] + uv_histogram(uv, s)

    if args.compare:
        sample = [all_photos[i] for i in np.random.default_rng(0).choice(len(all_photos), 300, replace=False)]
        print(f"{'bin size':>8} {'n':>5} {'coverage %':>10} {'ab error':>9}")
        for size in sizes:
            for n in (64, 128, 256, 400, int((counts[size] > 0).sum())):
                b = ChromaBins.from_histogram(counts[size], size, n, args.lam)
                print(f"{size:8.2f} {b.n:5d} {100 * b.coverage:10.3f} {quantisation_error(sample, b):9.3f}")

    bins = ChromaBins.from_histogram(counts[args.bin_size], args.bin_size, args.n, args.lam)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(bins.to_dict()))
    figure1(bins, Path(args.figure) if args.figure else out.with_suffix(".png"))
    print(f"{bins.n} bins of size {bins.bin_size}, coverage {100 * bins.coverage:.3f}% -> {out}")


if __name__ == "__main__":
    main()
