"""What runs off the GUI thread: loading the model, colorizing, re-rendering and saving.

Each worker object lives in its own QThread and receives one request at a time through a queued
signal (jobs.py decides what to send, and when). Every failure becomes a one-line message for the
item concerned, so that neither the thread nor the app ever stops on a bad file.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QImage

from engine import Colorizer, ColorizeError, Prediction
from engine import colorize_video as engine_colorize_video
from engine.imageio import read_image, to_picture, write_image
from engine.temporal import has_temporal

from .images import thumbnail, to_qimage
from .inputs import is_video


@dataclass
class ModelInfo:
    backend: str         # "onnx" or "torch"
    device: str          # "cpu" or "cuda"
    weights: Path
    temperature: float   # the model's default


@dataclass
class Job:
    kind: str                         # "colorize" or "save"
    item_id: int
    path: Path                        # the source file
    temperature: float | None         # None: the model's default
    dst: Path | None = None           # save: where
    quality: int = 95                 # save: JPEG/WebP quality
    prediction: Prediction | None = None  # save: the cached one, if any (else the file is read again)
    video: Path | None = None         # save of a video: the colorized temporary file to copy


@dataclass
class Colorized:
    prediction: Prediction
    before: QImage
    after: QImage
    thumbnail: QImage
    seconds: float                    # read + network + render, what the status bar reports


@dataclass
class ColorizedVideo:
    path: Path                        # the colorized video, in the app's temporary folder
    before: QImage                    # first frames, for the view
    after: QImage
    thumbnail: QImage
    seconds: float
    frames: int
    warning: str | None


@dataclass
class Rendered:
    item_id: int
    temperature: float | None
    after: QImage
    thumbnail: QImage


class Cancelled(Exception):
    """The user pressed Cancel while this job was running."""


def describe(error: BaseException) -> str:
    """One line for the user about what went wrong."""
    if isinstance(error, ColorizeError):
        return str(error)
    if isinstance(error, MemoryError):
        return "out of memory: this image is too large for the memory left (remove some items and retry)"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    first = (str(error).strip().splitlines() or [""])[0][:200]
    if "out of memory" in first.lower():  # e.g. CUDA, or onnxruntime's allocator
        return f"out of memory ({first})"
    return f"unexpected error: {type(error).__name__}: {first}"


def colorize_video(path: Path, dst: Path, progress=None, colorizer: Colorizer | None = None,
                   temperature: float | None = None):
    """Colorize a video file into dst with engine.colorize_video; progress(done, total) per frame
    (raise Cancelled from it to stop: the partial output is deleted). The temporal step is used when
    the weights folder has a temporal model, else every frame is colorized on its own."""
    temporal = colorizer is None or has_temporal(colorizer.bundle.root)
    return engine_colorize_video(path, dst, temperature, progress, colorizer, temporal=temporal)


def first_frame(path: Path) -> QImage:
    """The first frame of a video, for the view and the thumbnail."""
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return to_qimage(frame.to_ndarray(format="rgb24"))


def copy_video(src: Path, dst: Path) -> None:
    """Write the finished video src as dst: a copy when the containers match, else the streams
    remuxed into dst's container; through a temporary file, so dst is never left half-written."""
    fd, tmp = tempfile.mkstemp(prefix=".colorize-", suffix=dst.suffix, dir=dst.parent)
    os.close(fd)
    try:
        if src.suffix.lower() == dst.suffix.lower():
            shutil.copyfile(src, tmp)
        else:
            import av

            with av.open(str(src)) as inp, av.open(tmp, "w") as out:
                streams = {s.index: out.add_stream_from_template(s) for s in inp.streams
                           if s.type in ("video", "audio")}
                for packet in inp.demux(*[inp.streams[i] for i in streams]):
                    if packet.dts is not None:
                        packet.stream = streams[packet.stream.index]
                        out.mux(packet)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    done = pyqtSignal(object, object)    # Job, Colorized (colorize) or Path (save)
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
        self.loaded.emit(ModelInfo(c.backend, c.device, c.bundle.root, c.temperature))

    @pyqtSlot(object)
    def run(self, job: Job):
        """Run one job and report done, failed or cancelled."""
        try:
            result = self._colorize(job) if job.kind == "colorize" else self._save(job)
        except Cancelled:
            self.cancelled.emit(job)
        except Exception as e:  # noqa: BLE001 -- one bad file must never stop the batch
            self.failed.emit(job, describe(e))
        else:
            self.done.emit(job, result)

    def _check(self):
        if self.cancel_event.is_set():
            raise Cancelled

    def _predict(self, path: Path):
        """(source image, Prediction) for a file, 16-bit sources kept 16-bit as colorize_file does."""
        if self.colorizer is None:
            raise ColorizeError(self.load_error)
        image = read_image(path)
        self._check()
        pic = to_picture(image)
        if pic.maxval == 65535.0:
            pic.kind = "numpy"  # PIL has no 16-bit RGB; the rendered array keeps the 16 bits for saving
        return image, self.colorizer.predict(pic)

    def _colorize(self, job: Job) -> Colorized:
        start = time.perf_counter()
        if is_video(job.path):
            return self._colorize_video(job, start)
        image, prediction = self._predict(job.path)
        self._check()
        after = to_qimage(prediction.render(job.temperature))
        seconds = time.perf_counter() - start  # what the engine costs; the display copies below are ours
        before = to_qimage(image)
        return Colorized(prediction, before, after, thumbnail(after), seconds)

    def _colorize_video(self, job: Job, start: float) -> ColorizedVideo:
        if self.colorizer is None:
            raise ColorizeError(self.load_error)

        def progress(done: int, total: int) -> None:
            self._check()  # Cancelled raised here stops the engine, which deletes the partial file
            self.frames.emit(job, done, total)

        result = colorize_video(job.path, job.dst, progress, self.colorizer, job.temperature)
        seconds = time.perf_counter() - start
        after = first_frame(job.dst)
        return ColorizedVideo(job.dst, first_frame(job.path), after, thumbnail(after), seconds,
                              result.frames, result.warning)

    def _save(self, job: Job) -> Path:
        if is_video(job.path):
            if job.video is None or not job.video.is_file():
                raise ColorizeError("the video is not colorized yet")
            copy_video(job.video, job.dst)
            return job.dst
        prediction = job.prediction or self._predict(job.path)[1]
        self._check()
        write_image(prediction.render(job.temperature), job.dst, quality=job.quality)
        return job.dst


class RenderWorker(QObject):
    """Re-renders a cached Prediction at another vividness: no network, only the engine's render."""

    rendered = pyqtSignal(object)        # Rendered
    failed = pyqtSignal(int, str)        # item id, message

    @pyqtSlot(object)
    def render(self, request: tuple):
        """request = (item id, Prediction, temperature)."""
        item_id, prediction, temperature = request
        try:
            after = to_qimage(prediction.render(temperature))
            self.rendered.emit(Rendered(item_id, temperature, after, thumbnail(after)))
        except Exception as e:  # noqa: BLE001
            self.failed.emit(item_id, describe(e))
