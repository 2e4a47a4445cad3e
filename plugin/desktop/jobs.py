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

from engine import DEFAULT_QUALITY, DEFAULT_REFERENCE_STRENGTH, Canvas, Prediction, Reference, Settings


@dataclass
class ColorizeJob:
    item_id: int
    path: Path                        # the source file
    temperature: float | None         # None: the model's default (always None for a video)
    video_dst: Path | None = None     # a video: where its colorized copy goes (the session's folder)
    # filled in just before it runs (see Session.prepare): what the item holds by then
    hints: tuple = ()                 # colour hint points (engine Hints)
    reference: Reference | None = None
    reference_strength: float = DEFAULT_REFERENCE_STRENGTH
    sidecars: tuple = ()              # where a sidecar saved with an earlier result may be (first run)
    canvas: Canvas | None = None      # a rerun (new hints): the item's cached canvas and display copy,
    before: QImage | None = None      # so that the file is neither read nor converted again

    def settings(self, hints=None, reference=None, strength: float | None = None) -> Settings:
        """The engine's settings for this job; hints and reference as a sidecar restored them."""
        return Settings(temperature=self.temperature, hints=hints or None,
                        reference=self.reference if reference is None else reference,
                        reference_strength=self.reference_strength if strength is None else strength)


@dataclass
class SaveJob:
    item_id: int
    path: Path                        # the source file
    temperature: float | None
    dst: Path                         # where to write
    quality: int = DEFAULT_QUALITY    # JPEG/WebP quality
    is_video: bool = False
    # filled in just before it runs (see Session.prepare): what the item holds by then
    prediction: Prediction | None = None  # the cached one, if made with these hints (else the file is read again)
    video_file: Path | None = None        # a video: the colorized copy to write out
    hints: tuple = ()                     # colour hint points: the network's input, and the sidecar's content
    reference: Reference | None = None
    reference_strength: float = DEFAULT_REFERENCE_STRENGTH
    reference_path: Path | None = None    # the reference photo's file, for the sidecar

    @property
    def settings(self) -> Settings:
        """The engine's settings for this job: the window asked before replacing any file (overwrite)."""
        return Settings(temperature=self.temperature, hints=self.hints or None, reference=self.reference,
                        reference_strength=self.reference_strength, quality=self.quality, overwrite=True)


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
    hints: tuple = ()                 # the hint points the network ran with
    restored: Restored | None = None  # what a sidecar gave on the first run (None: not looked for)


@dataclass
class Restored:
    """What a photo's sidecar gave on its first run; the result already shows it."""
    hints: tuple = ()                 # its points (none with weights that take no hints)
    reference: Reference | None = None  # its reference photo, read for this model's bins (None: none, or unreadable)
    reference_path: Path | None = None
    reference_strength: float = DEFAULT_REFERENCE_STRENGTH
    note: str = ""                    # what was restored, or why not ("" when no sidecar was found)


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
    """A re-render at another vividness or reference strength; a preview is screen-sized, made while
    a slider is dragged."""
    item_id: int
    temperature: float | None
    after: QImage
    thumbnail: QImage | None          # None for a preview (the list keeps the last full one)
    preview: bool = False
