"""What the user hands the app (dropped, opened or pasted) -> the files to colorize.

Which files are images or videos, and what a folder offers, are the engine's rules
(engine.collect_inputs); this module only reads Qt's drag-and-drop and clipboard data.
"""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QMimeData, QUrl
from PyQt5.QtGui import QImage, QPixmap

from engine import IMAGE_SUFFIXES, VIDEO_SUFFIXES, collect_inputs

OPEN_FILTERS = ";;".join([
    "Images and videos (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES)) + ")",
    "All files (*)",
])


def collect_files(paths) -> tuple[list[Path], list[str]]:
    """Files to colorize: files as given (a bad one becomes an item with a clear error), folders
    searched recursively for images and videos, hidden ones skipped; plus one note per path that
    gave nothing."""
    found, notes = collect_inputs([Path(p) for p in paths])
    return [file for file, _ in found], notes


def droppable(mime: QMimeData) -> bool:
    """True for what a drop may carry: local files or folders, or an image."""
    return any(u.isLocalFile() for u in mime.urls()) or mime.hasImage()


def paths_in(mime: QMimeData) -> list[Path]:
    """The local files and folders a drop or the clipboard carries, also as text (a path copied
    from a file manager or terminal), keeping only those that exist."""
    paths = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
    if not paths and mime.hasText() and image_in(mime) is None:  # an image comes first
        lines = [line.strip() for line in mime.text().splitlines() if line.strip()]
        paths = [Path(QUrl(s).toLocalFile() if s.startswith("file:") else s) for s in lines]
        paths = [p for p in paths if p.exists()]
    return paths


def image_in(mime: QMimeData) -> QImage | None:
    """The image a drop or the clipboard carries, if any."""
    if not mime.hasImage():
        return None
    image = mime.imageData()
    if isinstance(image, QPixmap):
        image = image.toImage()
    return image if isinstance(image, QImage) and not image.isNull() else None
