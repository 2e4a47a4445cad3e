"""What the window asks of the worker thread (a job) and what comes back (a result): plain data.

Two kinds of job, told apart by their type: a ColorizeJob runs the network on an item's file, a
SaveJob writes an item's result to a file. Each carries its item's id, never the Item itself, so
that the worker thread touches nothing the GUI thread may change.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

from PyQt5.QtGui import QImage

from engine import Prediction


@dataclass
class ColorizeJob:
    item_id: int
    path: Path                        # the source file
    temperature: float | None         # None: the model's default (always None for a video)
    video_dst: Path | None = None     # a video: where its colorized copy goes (the session's folder)


@dataclass
class SaveJob:
    item_id: int
    path: Path                        # the source file
    temperature: float | None
    dst: Path                         # where to write
    quality: int = 95                 # JPEG/WebP quality
    is_video: bool = False
    # filled in just before it runs (see Session.prepare): what the item holds by then
    prediction: Prediction | None = None  # the cached one, if any (else the file is read again)
    video_file: Path | None = None        # a video: the colorized copy to write out


Job = Union[ColorizeJob, SaveJob]


@dataclass
class Colorized:
    """A photo's result."""
    prediction: Prediction
    before: QImage
    after: QImage
    thumbnail: QImage
    seconds: float                    # read + network + render, what the status bar reports
    in_colour: bool                   # the source already had colour (engine.is_colour)


@dataclass
class ColorizedVideo:
    """A video's result: the colorized file, and its first frame for the view."""
    path: Path                        # the colorized video, in the session's temporary folder
    before: QImage
    after: QImage
    thumbnail: QImage
    seconds: float
    frames: int
    warning: str | None
    in_colour: bool


@dataclass
class Rendered:
    """A re-render at another vividness; a preview is screen-sized, made while the slider is dragged."""
    item_id: int
    temperature: float | None
    after: QImage
    thumbnail: QImage | None          # None for a preview (the list keeps the last full one)
    preview: bool = False
