"""The README's pictures: `python -m training.figures [--weights DIR] [--before DIR]`.

- docs/examples.png: the example photos (examples/), greyscale above, colorized below;
- docs/contact-sheet.png: validation photos with coloured objects, whose colour a cast would hide,
  and the outside photos: grey | the model before (`--before`, optional) | the model | truth.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from engine import Colorizer
from engine.color import luminance
from training.evaluate import contact_sheet, outside_photos

REPO = Path(__file__).resolve().parents[1]
VAL = REPO.parent / "shared" / "data" / "val" / "photos"
# validation photos whose objects have a colour of their own (names end in the ImageNet class)
OBJECTS = ["goldfish", "ladybug", "strawberry", "orange", "lemon", "balloon", "mailbox", "racer",
           "locomotive", "lipstick", "butterfly", "scooter"]


def truth_and_grey(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
    return rgb, np.repeat(luminance(rgb)[..., None], 3, axis=2)


def examples(colorizer: Colorizer, out: Path, height: int = 200) -> None:
    """Two rows: the example photos in grey, and colorized."""
    photos = sorted((REPO / "examples").glob("*.jpg"))
    greys = [np.asarray(Image.open(p).convert("L")) for p in photos]
    tiles = [[Image.fromarray(g).convert("RGB"), colorizer.colorize(Image.fromarray(g)).convert("RGB")]
             for g in greys]
    tiles = [[t.resize((round(t.width * height / t.height), height)) for t in pair] for pair in tiles]
    width = sum(pair[0].width for pair in tiles) + 4 * (len(tiles) - 1)
    sheet = Image.new("RGB", (width, 2 * height + 4), "white")
    x = 0
    for grey, colour in tiles:
        sheet.paste(grey, (x, 0))
        sheet.paste(colour, (x, height + 4))
        x += grey.width + 4
    sheet.save(out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=None, help="the model (default: the shipped one)")
    p.add_argument("--before", default=None, help="an earlier model to show beside it")
    p.add_argument("--docs", default=str(REPO / "docs"))
    a = p.parse_args(argv)
    docs = Path(a.docs)
    colorizer = Colorizer(a.weights, backend="onnx")
    before = Colorizer(a.before, backend="onnx") if a.before else None
    examples(colorizer, docs / "examples.png")
    photos = [next(iter(sorted(VAL.glob(f"*_{name}.jpg")))) for name in OBJECTS] + outside_photos()
    rows = []
    for path in photos:
        truth, grey = truth_and_grey(path)
        row = [grey]
        if before:
            row.append(before.colorize(grey))
        rows.append(row + [colorizer.colorize(grey), truth])
    label = lambda *parts: " ".join(p for p in parts if p)  # noqa: E731  (a model may have no version)
    labels = ["grey"] + ([label("before", before.bundle.meta.get("version"))] if before else []) + \
        [label("ours", colorizer.bundle.meta.get("version"), f"(T = {colorizer.temperature:g})"), "truth"]
    contact_sheet(rows, labels, docs / "contact-sheet.png", height=112)
    print(f"wrote {docs / 'examples.png'} and {docs / 'contact-sheet.png'} ({len(rows)} photos)")


if __name__ == "__main__":
    main()
