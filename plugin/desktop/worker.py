"""What runs off the GUI thread: loading the model, colorizing, re-rendering, reading reference
photos and saving.

Each worker object lives in its own QThread and receives one request at a time through a queued
signal (queues.py decides what to send, and when). Every failure becomes a one-line message for
the item concerned, so that neither the thread nor the app ever stops on a bad file. All the media
work (reading, 16-bit output, video, atomic writes) is the engine's; this module only adds the
display copies (QImage) and the checks for Cancel between stages.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from engine import (Canvas, Colorizer, ColorizeError, Reference, colorize_video, copy_video, describe_error,
                    first_frame, is_colour, predict_photo, save_photo)

from .images import thumbnail, to_qimage
from .jobs import Colorized, ColorizedVideo, ColorizeJob, Job, Rendered, Restored, SaveJob
from .sidecar import restore, restored_note, write_sidecar


@dataclass
class ModelInfo:
    backend: str         # "onnx" or "torch"
    device: str          # "cpu" or "cuda"
    weights: Path
    temperature: float   # the model's default
    takes_hints: bool    # the weights follow colour hint points


class Cancelled(Exception):
    """The user pressed Cancel while this job was running."""


def describe(error: BaseException) -> str:
    """One line for the user about what went wrong (the engine's, as the command prints it)."""
    return describe_error(error)[1]


def start_thread(worker: QObject, name: str) -> QThread:
    """Move a worker object to a new running thread."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread


class Worker(QObject):
    """Loads the model and runs colorize and save jobs, one at a time."""

    loaded = pyqtSignal(object)          # ModelInfo
    load_failed = pyqtSignal(str)
    done = pyqtSignal(object, object)    # Job, Colorized/ColorizedVideo (ColorizeJob) or Path (SaveJob)
    failed = pyqtSignal(object, str)     # Job, message
    cancelled = pyqtSignal(object)       # Job
    frames = pyqtSignal(object, int, int)  # Job, frames done, frames in the video (a video's progress)

    def __init__(self):
        super().__init__()
        self.cancel_event = threading.Event()  # set from the GUI thread; checked between stages
        self.colorizer: Colorizer | None = None
        self.load_error = "the model is still loading"

    @pyqtSlot(object)
    def load(self, spec: tuple):
        """Load the model: spec = (weights folder or None, backend, device)."""
        weights, backend, device = spec
        try:
            self.colorizer = Colorizer(weights, backend=backend, device=device)
        except Exception as e:  # noqa: BLE001 -- any failure must reach the user, not kill the thread
            self.colorizer, self.load_error = None, describe(e)
            self.load_failed.emit(self.load_error)
            return
        c = self.colorizer
        self.loaded.emit(ModelInfo(c.backend, c.device, c.bundle.root, c.temperature, c.takes_hints))

    @pyqtSlot(object)
    def run(self, job: Job):
        """Run one job and report done, failed or cancelled."""
        try:
            result = self._colorize(job) if isinstance(job, ColorizeJob) else self._save(job)
        except Cancelled:
            self.cancelled.emit(job)
        except Exception as e:  # noqa: BLE001 -- one bad file must never stop the batch
            self.failed.emit(job, describe(e))
        else:
            self.done.emit(job, result)

    def _check(self):
        if self.cancel_event.is_set():
            raise Cancelled

    def _model(self) -> Colorizer:
        if self.colorizer is None:
            raise ColorizeError(self.load_error)
        return self.colorizer

    def _colorize(self, job: ColorizeJob) -> Colorized | ColorizedVideo:
        start = time.perf_counter()
        if job.video_dst is not None:
            return self._colorize_video(job, start)
        colorizer = self._model()
        # a rerun has the cached canvas; else read as the command reads it (16-bit colour, metadata),
        # so that Save keeps what it keeps
        canvas = job.canvas if job.canvas is not None else Canvas.of(job.path)
        self._check()
        restored = self._restore(job.sidecars, colorizer, canvas) if job.sidecars else None
        # points only with weights that take them (a job may be prepared before other weights were loaded)
        hints = restored.hints if restored is not None else job.hints if colorizer.takes_hints else ()
        settings = job.settings(hints) if restored is None or restored.reference is None else \
            job.settings(hints, restored.reference, restored.reference_strength)
        prediction = predict_photo(colorizer, canvas, settings)
        self._check()
        after = to_qimage(prediction.render(settings.temperature))
        seconds = time.perf_counter() - start  # what the engine costs; the display copies below are ours
        before = job.before
        if before is None:
            pic = canvas.picture
            before = to_qimage(pic.samples if pic.alpha is None else np.dstack([pic.samples, pic.alpha]))
        return Colorized(prediction, before, after, thumbnail(after), seconds, canvas.has_colour, hints, restored)

    @staticmethod
    def _restore(sidecars: tuple, colorizer: Colorizer, canvas: Canvas) -> Restored:
        """What the newest of a photo's sidecars gives on its first run: its points, with weights
        that take hints, and its reference photo, with any weights (a missing or bad one is a note)."""
        h, w = canvas.luminance.shape
        name, hints, stored, problem = restore(sidecars, (w, h))
        found = Restored(hints if colorizer.takes_hints else ())
        if stored is not None:
            try:
                found.reference = Reference.of(stored[0], colorizer.bundle.bins)
            except Exception as e:  # noqa: BLE001 -- a bad reference must not cost the photo its points
                problem = f"reference not restored: {describe(e)}"
            else:
                found.reference_path, found.reference_strength = stored
        reference_name = "" if found.reference_path is None else found.reference_path.name
        found.note = restored_note(name, found.hints, reference_name, problem)
        return found

    def _colorize_video(self, job: ColorizeJob, start: float) -> ColorizedVideo:
        colorizer = self._model()

        def progress(done: int, total: int) -> None:
            self._check()  # Cancelled raised here stops the engine, which deletes the partial file
            self.frames.emit(job, done, total)

        result = colorize_video(job.path, job.video_dst, job.temperature, progress, colorizer)
        seconds = time.perf_counter() - start
        source, after = first_frame(job.path), to_qimage(first_frame(job.video_dst))
        return ColorizedVideo(job.video_dst, to_qimage(source), after, thumbnail(after), seconds,
                              result.frames, result.warning, is_colour(source))

    def _save(self, job: SaveJob) -> Path:
        if job.is_video:
            if job.video_file is None or not job.video_file.is_file():
                raise ColorizeError("the video is not colorized yet")
            copy_video(job.video_file, job.dst)
            return job.dst
        settings = job.settings
        if job.prediction is None:
            prediction = predict_photo(self._model(), job.path, settings)
        else:
            prediction = job.prediction.with_reference(settings.reference, settings.reference_strength)
        self._check()
        save_photo(prediction, job.dst, settings)  # 16-bit sources stay 16-bit
        h, w = prediction.canvas.luminance.shape
        kept = job.reference is not None and job.reference_path is not None
        reference = (job.reference_path, job.reference_strength) if kept else None
        write_sidecar(job.dst, job.hints, (w, h), reference)  # (or removes a stale one: these are the result's)
        return job.dst


class RenderWorker(QObject):
    """Re-renders a cached Prediction at another vividness or reference: no network, only the
    engine's render. Also reads reference photos, which may be large."""

    rendered = pyqtSignal(object)        # Rendered
    failed = pyqtSignal(int, str)        # item id, message
    reference_loaded = pyqtSignal(int, str, object)  # item id, the photo's path, Reference
    reference_failed = pyqtSignal(int, str)          # item id, the engine's one line

    @pyqtSlot(object)
    def render(self, request: tuple):
        """request = (item id, Prediction, temperature, preview)."""
        item_id, prediction, temperature, preview = request
        try:
            after = to_qimage(prediction.render(temperature))
            self.rendered.emit(Rendered(item_id, temperature, after, None if preview else thumbnail(after), preview))
        except Exception as e:  # noqa: BLE001
            self.failed.emit(item_id, describe(e))

    @pyqtSlot(object)
    def load_reference(self, request: tuple):
        """request = (item id, path, the model's ChromaBins): read a reference photo once, for those bins."""
        item_id, path, bins = request
        try:
            reference = Reference.of(path, bins)
        except Exception as e:  # noqa: BLE001 -- a bad reference is a message, never the thread's end
            self.reference_failed.emit(item_id, describe(e))
        else:
            self.reference_loaded.emit(item_id, str(path), reference)
