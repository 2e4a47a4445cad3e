"""A photo's colour hints and reference photo saved beside its result: `<result>.hints.json`, e.g.
old-colour.png.hints.json.

    {"version": 1, "image": {"width": 4000, "height": 3000},
     "hints": [{"x": 120, "y": 80, "colour": "#c02020"}, ...],
     "reference": {"path": "/home/me/colour.jpg", "strength": 0.5}}

x and y are the photo's pixels (from the top-left), so the file outlives any zoom or window. The
image size guards against a sidecar meant for another photo of the same name. "reference" is
optional (files written before it existed still load), and "hints" may be empty when only a
reference was set; a bad reference entry is ignored, with a note, and the points still load. The
reference photo itself is read by the caller, for its model's bins. Runs in the worker thread
(saving, and the first run of a photo); no Qt here.
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


def write_sidecar(result: Path, hints: tuple[Hint, ...], size: tuple[int, int],
                  reference: tuple[Path, float] | None = None) -> None:
    """Write the sidecar of a result just saved with these hints and reference (its photo's path
    and strength); with neither remove any old one, which would otherwise bring back what the
    result no longer has."""
    path = sidecar_of(result)
    if not hints and reference is None:
        path.unlink(missing_ok=True)
        return
    doc = {"version": VERSION, "image": {"width": size[0], "height": size[1]},
           "hints": [{"x": int(h.x), "y": int(h.y), "colour": "#%02x%02x%02x" % h.rgb} for h in hints]}
    if reference is not None:
        doc["reference"] = {"path": str(Path(reference[0]).absolute()), "strength": float(reference[1])}
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def read_sidecar(path: Path, size: tuple[int, int]) -> tuple[tuple[Hint, ...], tuple[Path, float] | None, str]:
    """A sidecar for a photo of this size (width, height): its hints, its reference (path, strength;
    None when it has none or a bad one) and why its reference was ignored ("" when it was not);
    ColorizeError (one line) when the file cannot be read or does not fit the photo."""
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
    if "reference" not in doc:
        return hints, None, ""
    try:
        return hints, _reference(doc["reference"], path.parent), ""
    except (TypeError, ValueError) as e:
        return hints, None, f"reference in {path.name} ignored: {e}"


def _hint(point: dict, size: tuple[int, int]) -> Hint:
    x, y, colour = point["x"], point["y"], point["colour"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (x, y)):
        raise ValueError(f"point ({x!r}, {y!r}) is not in whole pixels")
    if not (0 <= x < size[0] and 0 <= y < size[1]):
        raise ValueError(f"point ({x}, {y}) is outside the image")
    if not isinstance(colour, str) or not _COLOUR.fullmatch(colour):
        raise ValueError(f"colour {colour!r} is not #rrggbb")
    return Hint(x, y, tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5)))


def _reference(entry, folder: Path) -> tuple[Path, float]:
    if not isinstance(entry, dict):
        raise TypeError("it is not a path and a strength")
    path, strength = entry.get("path"), entry.get("strength")
    if not isinstance(path, str) or not path:
        raise ValueError(f"path {path!r} is not a file name")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
        raise ValueError(f"strength {strength!r} is not a number in [0, 1]")
    return folder / path, float(strength)  # (we write absolute paths; a relative one is the sidecar's neighbour)


def restore(candidates: tuple[Path, ...], size: tuple[int, int]
            ) -> tuple[str, tuple[Hint, ...], tuple[Path, float] | None, str]:
    """The newest existing sidecar among candidates, for a photo of this size: its name ("" when
    none exists), hints, reference (path, strength, or None) and a problem: why the file, or its
    reference, was ignored ("" when nothing was)."""
    found = []
    for path in candidates:
        try:
            found.append((path.stat().st_mtime, path))
        except OSError:
            continue
    if not found:
        return "", (), None, ""
    path = max(found)[1]
    try:
        hints, reference, problem = read_sidecar(path, size)
    except ColorizeError as e:
        return path.name, (), None, str(e)
    return path.name, hints, reference, problem


def restored_note(name: str, hints: tuple[Hint, ...], reference_name: str, problem: str) -> str:
    """One line for the status bar: what was restored from the sidecar called name (hints, the
    reference photo called reference_name when it was read), then the problem, if any."""
    what = [f"{len(hints)} hint point{'s' * (len(hints) != 1)}"] * bool(hints)
    what += [f"reference {reference_name}"] * bool(reference_name)
    line = f"{' and '.join(what)} restored from {name}" if what else ""
    return "; ".join(filter(None, (line, problem)))
