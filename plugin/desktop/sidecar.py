"""A photo's colour hints saved beside its result: `<result>.hints.json`, e.g. old-colour.png.hints.json.

    {"version": 1, "image": {"width": 4000, "height": 3000},
     "hints": [{"x": 120, "y": 80, "colour": "#c02020"}, ...]}

x and y are the photo's pixels (from the top-left), so the file outlives any zoom or window. The
image size guards against a sidecar meant for another photo of the same name. Runs in the worker
thread (saving, and the first run of a photo); no Qt here.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from engine import ColorizeError, Hint, atomic_output

SUFFIX = ".hints.json"
VERSION = 1
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def sidecar_of(result: Path) -> Path:
    """The sidecar's path for a result file."""
    return result.with_name(result.name + SUFFIX)


def write_sidecar(result: Path, hints: tuple[Hint, ...], size: tuple[int, int]) -> None:
    """Write the sidecar of a result just saved with these hints; without hints remove any old one,
    which would otherwise bring back hints the result no longer has."""
    path = sidecar_of(result)
    if not hints:
        path.unlink(missing_ok=True)
        return
    doc = {"version": VERSION, "image": {"width": size[0], "height": size[1]},
           "hints": [{"x": int(h.x), "y": int(h.y), "colour": "#%02x%02x%02x" % h.rgb} for h in hints]}
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def read_sidecar(path: Path, size: tuple[int, int]) -> tuple[Hint, ...]:
    """The hints of a sidecar for a photo of this size (width, height); ColorizeError (one line)
    when it cannot be read or does not fit the photo."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ColorizeError(f"{path.name} ignored: not a readable hints file ({type(e).__name__})") from None
    try:
        if doc["version"] != VERSION:
            raise ColorizeError(f"{path.name} ignored: version {doc['version']!r}, this app reads {VERSION}")
        w, h = doc["image"]["width"], doc["image"]["height"]
        if (w, h) != tuple(size):
            raise ColorizeError(f"{path.name} ignored: it is for a {w}x{h} image, the photo is {size[0]}x{size[1]}")
        hints = tuple(_hint(p, size) for p in doc["hints"])
    except (KeyError, TypeError, ValueError) as e:
        raise ColorizeError(f"{path.name} ignored: not a hints file of version {VERSION} ({e})") from None
    return hints


def _hint(point: dict, size: tuple[int, int]) -> Hint:
    x, y, colour = point["x"], point["y"], point["colour"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (x, y)):
        raise ValueError(f"point ({x!r}, {y!r}) is not in whole pixels")
    if not (0 <= x < size[0] and 0 <= y < size[1]):
        raise ValueError(f"point ({x}, {y}) is outside the image")
    if not isinstance(colour, str) or not _COLOUR.fullmatch(colour):
        raise ValueError(f"colour {colour!r} is not #rrggbb")
    return Hint(x, y, tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5)))


def restore(candidates: tuple[Path, ...], size: tuple[int, int]) -> tuple[tuple[Hint, ...], str]:
    """The hints of the newest existing sidecar among candidates, for a photo of this size, and a
    line for the status bar: what was restored, or why the sidecar was ignored ("" when none exists)."""
    found = []
    for path in candidates:
        try:
            found.append((path.stat().st_mtime, path))
        except OSError:
            continue
    if not found:
        return (), ""
    path = max(found)[1]
    try:
        hints = read_sidecar(path, size)
    except ColorizeError as e:
        return (), str(e)
    return hints, f"{len(hints)} hint point{'s' * (len(hints) != 1)} restored from {path.name}"
