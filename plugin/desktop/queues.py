"""GUI-side queues that feed the workers one request at a time.

The waiting jobs stay here, in the GUI thread, rather than in the worker's event queue: so the
window can cancel them, put the selected item first, or drop those of a removed item, without any
locking. Only the running job is in the worker's hands; Cancel stops it at its next stage.
"""
from __future__ import annotations

from collections import deque

from PyQt5.QtCore import QObject, pyqtSignal, pyqtSlot

from .jobs import ColorizeJob, Job, Rendered
from .worker import RenderWorker, Worker


class JobQueue(QObject):
    """Colorize and save jobs, run in order by one Worker, with a progress count for the batch."""

    started = pyqtSignal(object)           # Job
    finished = pyqtSignal(object, object)  # Job, result
    failed = pyqtSignal(object, str)       # Job, message
    cancelled = pyqtSignal(object)         # Job
    frames = pyqtSignal(object, int, int)  # the running Job (a video), frames done, frames in the video
    progress = pyqtSignal(int, int)        # jobs ended, jobs in this batch
    idle = pyqtSignal()                    # the batch is over: nothing waiting or running
    _send = pyqtSignal(object)

    def __init__(self, worker: Worker, prepare=None):
        """prepare(job) is called just before a job is sent, to fill in the latest state."""
        super().__init__()
        self._worker = worker
        self._prepare = prepare or (lambda job: None)
        self._pending: deque[Job] = deque()
        self._current: Job | None = None
        self._ended = self._total = 0
        self._send.connect(worker.run)  # queued: the worker lives in another thread
        # bound slots of this GUI-thread object, so Qt delivers the worker's reports in this thread
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.frames.connect(self._on_frames)

    @property
    def busy(self) -> bool:
        """True while a job runs or waits."""
        return self._current is not None or bool(self._pending)

    @property
    def current(self) -> Job | None:
        """The job the worker is running, if any."""
        return self._current

    def jobs(self) -> list[Job]:
        """The running job, then the waiting ones in order."""
        return ([self._current] if self._current else []) + list(self._pending)

    def has(self, item_id: int, kind: type = ColorizeJob) -> bool:
        """True if a job of this type (ColorizeJob or SaveJob) for this item runs or waits."""
        return any(j.item_id == item_id and isinstance(j, kind) for j in self.jobs())

    def submit(self, jobs: list[Job], urgent: bool = False) -> None:
        """Queue jobs at the end, or at the front if urgent."""
        if urgent:
            self._pending.extendleft(reversed(jobs))
        else:
            self._pending.extend(jobs)
        self._total += len(jobs)
        self.progress.emit(self._ended, self._total)
        self._next()

    def resubmit(self, job: ColorizeJob) -> None:
        """Queue a rerun first, unless one for its item waits already: that one is prepared with the
        item's state when it is sent, so rapid changes (hint points) cost one run after the running one."""
        if not any(j.item_id == job.item_id and isinstance(j, ColorizeJob) for j in self._pending):
            self.submit([job], urgent=True)

    def promote(self, item_id: int) -> None:
        """Run this item's waiting colorize job next (the user is looking at it)."""
        for job in list(self._pending):
            if job.item_id == item_id and isinstance(job, ColorizeJob):
                self._pending.remove(job)
                self._pending.appendleft(job)
                return

    def discard(self, item_ids) -> None:
        """Silently drop the waiting jobs of removed items."""
        ids = set(item_ids)
        kept = [j for j in self._pending if j.item_id not in ids]
        self._total -= len(self._pending) - len(kept)
        self._pending = deque(kept)
        self.progress.emit(self._ended, self._total)

    def cancel(self) -> None:
        """Drop every waiting job (each reported cancelled) and stop the running one."""
        dropped, self._pending = list(self._pending), deque()
        self._total -= len(dropped)
        if self._current is not None:
            self._worker.cancel_event.set()
        for job in dropped:
            self.cancelled.emit(job)
        if self._current is None:
            self._next()  # reports idle

    @pyqtSlot(object, object)
    def _on_done(self, job: Job, result) -> None:
        self._end(job, self.finished, result)

    @pyqtSlot(object, str)
    def _on_failed(self, job: Job, message: str) -> None:
        self._end(job, self.failed, message)

    @pyqtSlot(object)
    def _on_cancelled(self, job: Job) -> None:
        self._end(job, self.cancelled)

    @pyqtSlot(object, int, int)
    def _on_frames(self, job: Job, done: int, total: int) -> None:
        if job is self._current:  # (a report still on its way from a job that ended is stale)
            self.frames.emit(job, done, total)

    def _end(self, job: Job, signal, *result) -> None:
        self._current = None
        self._ended += 1
        self.progress.emit(self._ended, self._total)
        signal.emit(job, *result)
        self._next()

    def _next(self) -> None:
        if self._current is not None:
            return
        if not self._pending:
            self._ended = self._total = 0
            self.idle.emit()
            return
        job = self._current = self._pending.popleft()
        self._prepare(job)
        self._worker.cancel_event.clear()
        self.started.emit(job)
        self._send.emit(job)


class RenderQueue(QObject):
    """Vividness re-renders: one at a time, and only the latest request waits, so dragging the
    slider never piles up work; each finished render is shown, so the image follows the drag."""

    ready = pyqtSignal(object)            # Rendered
    failed = pyqtSignal(int, str)         # item id, message
    _send = pyqtSignal(object)

    def __init__(self, worker: RenderWorker):
        super().__init__()
        self._waiting: tuple | None = None
        self._running = False
        self._send.connect(worker.render)
        worker.rendered.connect(self._on_rendered)
        worker.failed.connect(self._on_failed)

    @property
    def busy(self) -> bool:
        """True while a render runs or waits."""
        return self._running or self._waiting is not None

    def request(self, item_id: int, prediction, temperature: float | None, preview: bool = False) -> None:
        """Render this prediction at this temperature, replacing any request still waiting;
        preview: a screen-sized render while the slider is dragged (see preview.py)."""
        self._waiting = (item_id, prediction, temperature, preview)
        self._next()

    def forget(self, item_id: int) -> None:
        """Drop a waiting request for a removed item."""
        if self._waiting and self._waiting[0] == item_id:
            self._waiting = None

    @pyqtSlot(object)
    def _on_rendered(self, rendered: Rendered) -> None:
        self._running = False
        self.ready.emit(rendered)
        self._next()

    @pyqtSlot(int, str)
    def _on_failed(self, item_id: int, message: str) -> None:
        self._running = False
        self.failed.emit(item_id, message)
        self._next()

    def _next(self) -> None:
        if self._running or self._waiting is None:
            return
        request, self._waiting = self._waiting, None
        self._running = True
        self._send.emit(request)
