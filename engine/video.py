"""Colorize a video: decode a frame, run the image network on its luminance, make its chroma agree
with the previous frames (the temporal step), render at full resolution, encode; audio is copied.
One frame in memory at a time, so the length of the video does not matter."""
from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .color import annealed_mean, check_temperature
from .errors import ColorizeError
from .colorizer import Colorizer, default_colorizer
from .prediction import Prediction
from .reference import check_strength
from .settings import DEFAULT_REFERENCE_STRENGTH
from .temporal import TemporalFilter
from .videoio import VideoInfo, VideoReader, VideoWriter


@dataclass
class VideoResult:
    dst: Path
    frames: int          # frames written
    skipped: int         # corrupt packets skipped
    info: VideoInfo      # the source's properties
    temporal: bool       # whether the temporal step was used
    seconds: float       # wall time, decode to encode
    warning: str | None  # something the user should know, e.g. the file ended early


class FrameColorizer:
    """Colorize consecutive frames of one video (8-bit RGB or grey in, 8-bit RGB out)."""

    def __init__(self, colorizer: Colorizer, temperature: float | None = None, temporal: bool = True,
                 reference=None, reference_strength: float = DEFAULT_REFERENCE_STRENGTH):
        self.colorizer = colorizer
        self.temperature = check_temperature(colorizer.temperature if temperature is None else temperature)
        self.filter = TemporalFilter() if temporal else None
        self.reference = colorizer.load_reference(reference)  # read once, not at every frame
        self.reference_strength = check_strength(reference_strength)

    def chroma(self, pred: Prediction, guide: np.ndarray) -> np.ndarray:
        """A frame's low-resolution chroma (h, w, 2): its own, or averaged with the past (temporal).
        guide is pred.guide(), the luminance the flow is computed on."""
        if self.filter is None:
            return pred.chroma(self.temperature)
        probs = self.filter(guide, np.moveaxis(pred.probs, 0, -1))
        return annealed_mean(np.log(np.maximum(probs, 1e-30)), pred.bins.centers, self.temperature, axis=-1)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The colorized frame, (H, W, 3) uint8, made consistent with the frames before it."""
        pred = self.colorizer.predict(frame, reference=self.reference, reference_strength=self.reference_strength)
        guide = pred.guide()
        return pred.canvas.render(self.chroma(pred, guide), guide)


def colorize_video(src: str | os.PathLike, dst: str | os.PathLike, temperature: float | None = None,
                   progress=None, colorizer: Colorizer | None = None, temporal: bool = True,
                   overwrite: bool = True, reference=None, reference_strength: float = DEFAULT_REFERENCE_STRENGTH) -> VideoResult:
    """Colorize the video src into dst (container from dst's extension), audio copied unchanged.

    temporal: True keeps colours steady from frame to frame (engine/temporal.py), False colorizes
    every frame on its own. reference, reference_strength: pull every frame's colours toward a
    photo or palette, as Colorizer.predict does.

    progress(done, total) is called after every frame; total is the container's frame count or an
    estimate (0 if unknown). Raises ColorizeError with one line for any bad input or output.
    """
    import time

    start = time.perf_counter()
    src, dst = Path(src), Path(dst)
    if dst.exists() and dst.resolve() == src.resolve():
        raise ColorizeError(f"output {dst} is the input; choose another output")
    colorizer = colorizer or default_colorizer()
    frames = FrameColorizer(colorizer, temperature, temporal, reference, reference_strength)
    with VideoReader(src) as reader:
        writer = VideoWriter(dst, reader.info, reader.audio, overwrite)
        # Decoding and encoding run in their own threads (FFmpeg releases the GIL), overlapping
        # the network; queues of a few frames keep memory bounded. The writer's thread is the
        # only one that touches the output file, so audio copies and frames stay in order.
        encoder = ThreadPoolExecutor(1, thread_name_prefix="colorize-encode")
        pending, done = [], 0
        try:
            with _Prefetch(reader.items()) as items:
                for item in items:
                    if item[0] == "audio":
                        pending.append(encoder.submit(writer.copy, item[1]))
                        continue
                    _, seconds, rgb = item
                    pending.append(encoder.submit(writer.write, frames(rgb), seconds))
                    done += 1
                    while len(pending) > 4 or (pending and pending[0].done()):
                        pending.pop(0).result()  # re-raises an encoding error here
                    if progress is not None:
                        progress(done, max(reader.info.frames, done))
            for f in pending:
                f.result()
            if writer.frames == 0:
                raise ColorizeError("video has no frames" + (" that could be decoded" if reader.skipped else ""))
            writer.finish()
        except BaseException:  # KeyboardInterrupt and cancel callbacks too: never leave a temp file
            encoder.shutdown(wait=True, cancel_futures=True)
            writer.abort()
            raise
        encoder.shutdown()
        return VideoResult(dst, writer.frames, reader.skipped, reader.info, temporal,
                           time.perf_counter() - start, reader.shortfall())


class _Prefetch:
    """Run a generator a few items ahead in a thread; stopping early stops the thread too."""

    def __init__(self, items, depth: int = 4):
        self.items, self.queue, self.stop = items, queue.Queue(depth), threading.Event()
        self.thread = threading.Thread(target=self._run, name="colorize-decode", daemon=True)

    def _run(self) -> None:
        try:
            for item in self.items:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as e:  # noqa: BLE001 -- handed to the consumer, which raises it
            self._put(("error", e))

    def _put(self, entry) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __enter__(self):
        self.thread.start()
        return self._iterate()

    def _iterate(self):
        while True:
            kind, value = self.queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()  # the reader must not be closed while its thread still decodes
