"""What the user hands the app (dropped, opened or pasted paths) -> the files to colorize."""
from __future__ import annotations

from pathlib import Path

from engine.imageio import IMAGE_SUFFIXES

# Videos get an item like any photo; the worker routes them to worker.colorize_video, which writes
# the colorized video into the session's temporary folder for Save to copy out.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})

OPEN_FILTERS = ";;".join([
    "Images and videos (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES)) + ")",
    "All files (*)",
])


def is_video(path: Path) -> bool:
    """True for the files that go to the video hook rather than the photo pipeline."""
    return path.suffix.lower() in VIDEO_SUFFIXES


def _wanted(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES or is_video(path)


def collect_files(paths) -> tuple[list[Path], list[str]]:
    """Files to colorize: files as given, folders searched recursively for images and videos
    (hidden ones skipped); plus one note per path that gave nothing."""
    files, notes = [], []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.is_file() and _wanted(f)
                           and not any(part.startswith(".") for part in f.relative_to(path).parts))
            if not found:
                notes.append(f"{path.name}: no images in this folder")
            files += found
        elif path.exists():
            files.append(path)  # as given, even if not an image: it becomes an item with a clear error
        else:
            notes.append(f"{path}: no such file")
    return files, notes
