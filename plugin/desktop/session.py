"""The items of this session: their life from state to state, the jobs made for them, and the
session's temporary folder.

An item's life:

    WAITING --started--> WORKING --finished--> DONE
                                 --failed----> FAILED
       (waiting or working) --cancelled----> CANCELLED
    FAILED, CANCELLED --requeue (Retry)--> WAITING

A DONE item may run again without leaving DONE: when its full-resolution data was let go to save
memory (cache.py) and it is selected or reloaded, or when its colour hint points change. Saving
never changes an item's state, only its note. Each transition takes what the worker reported and
returns the item it changed, or None when the item was removed meanwhile; showing the change is
the window's business, not this module's.
"""
from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from engine import is_video, output_path

from .cache import Entry, PredictionCache
from .items import Item, State
from .jobs import Colorized, ColorizedVideo, ColorizeJob, Job, SaveJob


FOLDER_PREFIX = "colorize-app-"  # the session folder: colorize-app-<pid>-<random>, in the temp folder


def _remove_abandoned(parent: Path) -> None:
    """Remove the session folders of apps that were killed (their process is gone)."""
    if sys.platform == "win32":  # os.kill(pid, 0) would end the process there, not probe it
        return
    for folder in parent.glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # alive, someone else's: keep it
            pass


def path_key(path: Path) -> str:
    """A key equal for two spellings of one file (relative, through links, case on Windows)."""
    return os.path.normcase(str(Path(path).resolve()))


class Session:
    """The items, by id in the order they were added, with the cache of their full results."""

    def __init__(self, cache: PredictionCache):
        self.items: dict[int, Item] = {}
        self.cache = cache
        # pasted images and colorized videos live here until the app closes (close() removes it)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        _remove_abandoned(self.folder.parent)
        self.paste_dir, self.video_dir = self.folder / "pasted", self.folder / "videos"
        self.paste_dir.mkdir()
        self.video_dir.mkdir()
        self.batch = Counter()           # what the current batch did, for the summary at its end
        self.batch_notes: list[str] = []  # and what the sidecars gave (restored, or ignored: why)
        self._ids = itertools.count(1)
        self._pasted = itertools.count(1)

    # --- adding and removing ---------------------------------------------------------------

    def add(self, files: list[Path], temperature: float | None, pasted: bool = False) -> tuple[list[Item], int]:
        """New items for the files not in the session yet, at this vividness (videos always at
        the model's default: their slider is disabled); returns them and how many were repeats."""
        known = {path_key(i.path) for i in self.items.values()}
        new, repeated = [], 0
        for path in files:
            key = path_key(path)
            if key in known:
                repeated += 1
                continue
            known.add(key)
            video = is_video(path)
            item = Item(next(self._ids), path, path.name, None if video else temperature, pasted=pasted,
                        is_video=video)
            self.items[item.id] = item
            new.append(item)
        return new, repeated

    def paste_path(self) -> Path:
        """A new file name for a pasted image."""
        return self.paste_dir / f"Pasted image {next(self._pasted)}.png"

    def forget(self, ids) -> None:
        """Take items out of the session, with their colorized videos and cached results."""
        for item_id in ids:
            item = self.items.pop(item_id, None)
            if item is not None and item.video is not None:
                item.video.unlink(missing_ok=True)
            self.cache.drop(item_id)

    def retryable(self) -> list[Item]:
        """The failed and cancelled items."""
        return [i for i in self.items.values() if i.state in (State.FAILED, State.CANCELLED)]

    def requeue(self, items: list[Item]) -> list[ColorizeJob]:
        """Put items back to WAITING; returns their jobs."""
        for item in items:
            item.state, item.error = State.WAITING, ""
        return [self.colorize_job(i) for i in items]

    # --- jobs ------------------------------------------------------------------------------

    def colorize_job(self, item: Item) -> ColorizeJob:
        """Run the network on the item's file; a video is written into the session's folder, from
        which Save copies it out."""
        if item.is_video:  # in the source's container when the engine writes it, else MP4
            dst = output_path(Path(f"{item.id}{item.path.suffix}"), self.video_dir, single_file=False, video=True)
            return ColorizeJob(item.id, item.path, None, video_dst=dst)
        return ColorizeJob(item.id, item.path, item.temperature)

    def save_job(self, item: Item, dst: Path, quality: int = 95) -> SaveJob:
        """Write the item's result to dst."""
        return SaveJob(item.id, item.path, item.temperature, dst, quality, is_video=item.is_video)

    def prepare(self, job: Job) -> None:
        """Just before a job runs: the item's latest vividness, hint points and reference; for a
        colorize job its cached canvas (a rerun need not read the file) and the sidecars still to
        look at; for a save what it holds by then (its cached prediction when made with these
        points, so the network need not run again, or its colorized video)."""
        item = self.items.get(job.item_id)
        if item is None:
            return
        job.temperature = None if item.is_video else item.temperature
        job.hints, job.reference, job.reference_strength = item.hints, item.reference, item.reference_strength
        entry = self.cache.peek(item.id)
        if isinstance(job, SaveJob):
            job.prediction = entry.prediction if entry and entry.hints == item.hints else None
            job.video_file, job.reference_path = item.video, item.reference_path
        else:
            job.sidecars = item.sidecars
            job.canvas, job.before = (entry.prediction.canvas, entry.before) if entry else (None, None)

    # --- what the worker reported ----------------------------------------------------------

    def started(self, job: Job) -> Item | None:
        item = self.items.get(job.item_id)
        if item is not None and isinstance(job, ColorizeJob) and item.state is not State.DONE:
            item.state = State.WORKING  # a done item run again (see cache.py) stays done
        return item

    def finished(self, job: Job, result, current: int | None = None) -> Item | None:
        """result: the saved Path for a SaveJob, else Colorized or ColorizedVideo. The current
        (selected) item's cache entry is never evicted to make room for this one."""
        item = self.items.get(job.item_id)
        if item is None:  # removed while it ran
            return None
        if isinstance(job, SaveJob):
            self.batch["saved"] += 1
            item.saved_to, item.saved_quality = result, job.quality
            item.note = f"saved as {result.name}"
            return item
        if job.canvas is None:  # a rerun with new hint points is no news for the batch's summary
            self.batch["colorized"] += 1
            if result.in_colour:
                self.batch["already in colour"] += 1
        item.state, item.error = State.DONE, ""
        item.seconds, item.thumbnail, item.in_colour = result.seconds, result.thumbnail, result.in_colour
        if isinstance(result, ColorizedVideo):
            item.video, item.preview = result.path, (result.before, result.after)
            item.note = f"{result.frames} frames" + (f" ({result.warning})" if result.warning else "")
        elif isinstance(result, Colorized):
            found = result.restored
            if found is not None:  # the sidecars were looked at: only once
                item.hints, item.sidecars = found.hints, ()
                if found.reference is not None:
                    item.reference, item.reference_path = found.reference, found.reference_path
                    item.reference_strength = found.reference_strength
                if found.note:
                    item.note = found.note
                    self.batch_notes.append(f"{item.name}: {found.note}")
            self.cache.put(item.id, Entry(result.prediction, result.before, result.after, hints=result.hints),
                           keep=() if current is None else (current,))
        return item

    def failed(self, job: Job, message: str) -> Item | None:
        item = self.items.get(job.item_id)
        if item is None:
            return None
        if isinstance(job, SaveJob):
            self.batch["not saved"] += 1
            item.note = "not saved"
            return item
        self.batch["failed"] += 1
        item.state, item.error, item.thumbnail = State.FAILED, message, None
        item.video = item.preview = None
        self.cache.drop(item.id)
        return item

    def cancelled(self, job: Job) -> Item | None:
        item = self.items.get(job.item_id)
        if item is None:
            return None
        self.batch["cancelled"] += 1
        if isinstance(job, ColorizeJob) and item.state is not State.DONE:
            item.state = State.CANCELLED
        return item

    def summary(self) -> str:
        """What the batch that just ended did ("" if nothing), on one line with the first sidecar
        note (the others are on their rows), and start counting anew."""
        order = ("colorized", "already in colour", "failed", "saved", "not saved", "cancelled")
        text = ", ".join(f"{self.batch[k]} {k}" for k in order if self.batch[k])
        if self.batch_notes:
            more = len(self.batch_notes) - 1
            text += f"; {self.batch_notes[0]}" + (f" (and {more} more, see the list)" if more else "")
        self.batch.clear()
        self.batch_notes.clear()
        return text

    def close(self) -> None:
        """Remove the session's temporary folder (pasted images, colorized videos)."""
        shutil.rmtree(self.folder, ignore_errors=True)
