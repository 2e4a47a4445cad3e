"""What follows each photo through its jobs, from the moment it is added until it is removed.

The queue's reports (started, finished, failed, cancelled, a video's frames, the batch's progress
and its end) go to the session, which changes the item (session.py says how); this module then
shows the change: the list's row, the view, the status text. It also asks for the jobs a photo
needs: its first run, a rerun with new hint points, a reload of a result let go of (cache.py), a
re-render at another vividness or reference, and reruns of everything with other weights. It
builds no widget and decides no item's state: it shows through the widgets window.py builds.
"""
from __future__ import annotations

from engine import Prediction

from . import vividness as vivid
from .inputs import collect_files
from .items import IN_COLOUR, Item, State
from .jobs import Colorized, ColorizedVideo, ColorizeJob, Job, Rendered, SaveJob
from .preview import preview_prediction


class PhotoFlow:
    """The window's photos from job to job; the window owns one and wires the queues' reports to it."""

    def __init__(self, window):
        """window: the MainWindow, whose session, queues and widgets this works through."""
        self.win = window
        self.session, self.cache, self.items = window.session, window.cache, window.session.items
        self.queue, self.renderer = window.queue, window.renderer

    def _tell(self, text: str, ms: int) -> None:
        self.win.statusBar().showMessage(text, ms)

    def _is_current(self, item: Item) -> bool:
        return item.id == self.win.list.current_id()

    # --- adding, rerunning and removing -----------------------------------------------------

    def add(self, paths, pasted: bool = False) -> list[Item]:
        """Add files and folders (searched recursively) as items and queue them; returns the new items."""
        win = self.win
        files, notes = collect_files(paths)
        new, repeated = self.session.add(files, vivid.remembered(win.settings), pasted)
        for item in new:
            item.sidecars = win.saver.sidecars(item)
            win.list.add(item)
        self.queue.submit([self.session.colorize_job(i) for i in new])
        if new:
            win.list.select(new[0].id)
        parts = [f"Added {len(new)} file{'s' * (len(new) != 1)}"] if new or not notes else []
        if repeated:
            parts.append(f"{repeated} already in the list")
        self._tell("; ".join(parts + notes), 8000)
        win.update_actions()
        return new

    def _requeue(self, items: list[Item]) -> None:
        self.queue.discard([i.id for i in items])
        jobs = self.session.requeue(items)
        for item in items:
            self.win.list.refresh(item)
        self.queue.submit(jobs)
        self.win.update_actions()

    def retry(self) -> None:
        """Colorize ▸ Retry: queue the failed and cancelled items again."""
        self._requeue(self.session.retryable())
        self.show_current()

    def cancel(self) -> None:
        """Stop the batch: waiting jobs are dropped, the running one stops at its next stage."""
        if self.queue.busy:
            self._tell("Cancelling…", 4000)
            self.queue.cancel()

    def rerun_all(self, takes_hints: bool) -> None:
        """Other weights were loaded: every photo runs again with them."""
        self._put_aside(takes_hints)
        self.cache.clear()
        self._requeue(list(self.items.values()))

    def _put_aside(self, takes_hints: bool) -> None:
        """References were read for the old model's colour bins, and weights without hint inputs
        cannot follow points; so these go, with a note."""
        lost = 0
        for item in self.items.values():
            lost += item.reference is not None or (bool(item.hints) and not takes_hints)
            item.reference, item.reference_path = None, None
            if not takes_hints:
                self.win.hint_history.clear(item)
        if lost:
            what = "references" if takes_hints else "references and hint points"
            self._tell(f"Other weights: the {what} of {lost} photo(s) were removed", 10000)

    def remove_selected(self) -> None:
        """Edit ▸ Remove: take the selected item out of the list (its files are untouched)."""
        item = self.win.current_item()
        if item is not None:
            self.forget([item.id])

    def clear_all(self) -> None:
        """Edit ▸ Clear All."""
        self.forget(list(self.items))

    def forget(self, ids: list[int]) -> None:
        """Take items out of the list and the session (their files are untouched)."""
        self.queue.discard(ids)
        self.session.forget(ids)
        for item_id in ids:
            self.renderer.forget(item_id)
            self.win.hint_history.forget(item_id)
            self.win.list.remove(item_id)
        self.show_current()

    # --- what the queue reported: each goes to the session, which updates the item; then it is shown

    def started(self, job: Job) -> None:
        item = self.session.started(job)
        if item is None:
            return
        if isinstance(job, SaveJob):
            self._tell(f"Saving {job.dst.name}…", 4000)
            return
        self.win.list.refresh(item)
        if self._is_current(item) and item.state is State.WORKING:
            self.win.view.show_message(f"Colorizing {item.name}…")
        self.win.item_changed.emit(item)

    def finished(self, job: Job, result) -> None:
        item = self.session.finished(job, result, current=self.win.list.current_id())
        if item is None:  # removed while it ran
            return
        if isinstance(job, SaveJob):
            self._tell(f"Saved {result}", 6000)
        else:
            self._show_result(item, job, result)
        self._changed(item)

    def _show_result(self, item: Item, job: ColorizeJob, result: Colorized | ColorizedVideo) -> None:
        win, current = self.win, self._is_current(item)
        win.last_run_label.setText(f"Last run {result.seconds:.2f} s")
        if isinstance(result, ColorizedVideo):
            win.last_run_label.setToolTip(f"{item.name}: {result.frames} frames, decode to encode")
            if current:
                self.show_current()
        else:
            win.last_run_label.setToolTip(f"{item.name}: read, network and full-resolution render")
            if current and job.canvas is not None and win.view.has_images:
                win.view.set_after(result.after)  # a rerun with new hints: same photo, same zoom and pan
            elif current:
                win.view.set_images(result.before, result.after)
                self._show_hints(item)
            ran = (job.temperature, job.reference, job.reference_strength)
            found = result.restored
            if found is not None and found.reference is not None:  # the worker rendered the restored reference
                ran = (job.temperature, found.reference, found.reference_strength)
                if current:
                    win.reference_editor.show(item)
            if (item.temperature, item.reference, item.reference_strength) != ran:  # a slider moved while it ran
                self.render(item)
        if item.in_colour:
            self._tell(f"{item.name}: {IN_COLOUR}", 8000)

    def frames(self, job: Job, done: int, total: int) -> None:
        """A video's progress: the bar counts its frames until the job ends."""
        progress = self.win.progress
        progress.setFormat("%v / %m frames")
        progress.setRange(0, max(total, done, 1))
        progress.setValue(done)

    def failed(self, job: Job, message: str) -> None:
        item = self.session.failed(job, message)
        if item is None:
            return
        if isinstance(job, SaveJob):
            self.win.banner.show_message(f"Could not save {item.name} as {job.dst}: {message}")
        elif self._is_current(item):
            self.win.view.show_message(f"{item.name}\n\n{message}", error=True)
        self._changed(item)

    def cancelled(self, job: Job) -> None:
        item = self.session.cancelled(job)
        if item is None:
            return
        if isinstance(job, ColorizeJob) and self._is_current(item):
            if item.state is State.CANCELLED:
                self.show_current()
            elif item.id not in self.cache:  # a done item's reload was cancelled
                self.win.view.show_message(f"{item.name}: cancelled. Select it again to show it.")
        self._changed(item)

    def _changed(self, item: Item) -> None:
        self.win.list.refresh(item)
        self.win.update_actions()
        self.win.item_changed.emit(item)

    def progress(self, ended: int, total: int) -> None:
        """The batch's jobs: the bar counts them, and Cancel is offered while any runs or waits."""
        win = self.win
        win.progress.setFormat("%v / %m")
        win.progress.setRange(0, max(total, 1))
        win.progress.setValue(ended)
        busy = self.queue.busy
        win.progress.setVisible(busy)
        win.cancel_button.setVisible(busy)
        win.commands.cancel.setEnabled(busy)

    def idle(self) -> None:
        """The batch is over: what it did, on one line."""
        win = self.win
        win.progress.hide()
        win.cancel_button.hide()
        win.commands.cancel.setEnabled(False)
        summary = self.session.summary()
        if summary:
            self._tell(f"Finished: {summary}", 10000)

    # --- the selected photo -------------------------------------------------------------------

    def show_current(self) -> None:
        """Show the selected item as it is, and queue what it needs to be shown in full."""
        win, item = self.win, self.win.current_item()
        win.update_actions()
        if item is None:
            win.setWindowTitle("Colorize")
            win.view.show_message("")
            return
        win.setWindowTitle(f"{item.name} — Colorize")
        win.vividness.set_temperature(item.temperature)
        win.reference_editor.show(item)
        self._show_hints(item)
        entry = self.cache.get(item.id)
        if entry is not None and entry.hints != item.hints and not self.queue.has(item.id):
            self.queue.resubmit(self.session.colorize_job(item))  # (its rerun with these points was cancelled)
        if item.state is State.DONE and item.preview is not None:
            win.view.set_images(*item.preview)
            self._tell(f"{item.name} is a video: its first frame is shown. Save (Ctrl+S) or "
                       "Save All writes the colorized video.", 10000)
        elif entry is not None:
            win.view.set_images(entry.before, entry.after)
        elif item.state is State.DONE:  # let go of to save memory (see cache.py): run it again, first
            if not self.queue.has(item.id):
                self.queue.submit([self.session.colorize_job(item)], urgent=True)
            win.view.show_message(f"Loading {item.name}…")
        elif item.state is State.WAITING:
            self.queue.promote(item.id)
            win.view.show_message(f"{item.name} is next…")
        elif item.state is State.WORKING:
            win.view.show_message(f"Colorizing {item.name}…")
        elif item.state is State.FAILED:
            win.view.show_message(f"{item.name}\n\n{item.error}", error=True)
        else:
            win.view.show_message(f"{item.name} was cancelled.\nColorize ▸ Retry (F5) colorizes it.")

    def shown_prediction(self, item: Item) -> Prediction | None:
        """What the item shows, as a Prediction (its reference applied), if it is in memory."""
        entry = self.cache.peek(item.id)
        return None if entry is None else item.pulled(entry.prediction)

    def look_changed(self, item: Item) -> None:
        """The item's vividness, reference or hints changed."""
        item.note = ""  # a saved file no longer matches what is shown
        self.win.list.refresh(item)

    # --- vividness, reference and hint points ----------------------------------------------------

    def temperature(self, temperature: float | None) -> None:
        """The slider was released (or moved by keys): the item keeps this vividness, rendered in full."""
        item = self.win.current_item()
        if item is None:
            return
        item.temperature = temperature
        self.look_changed(item)
        vivid.remember(self.win.settings, temperature)
        self.render(item)

    def preview(self, temperature: float) -> None:
        """The vividness slider is being dragged: a screen-sized render follows it (see preview.py)."""
        item = self.win.current_item()
        if item is not None:
            self.render(item, (temperature, item.reference_strength))

    def render(self, item: Item, preview: tuple[float | None, float] | None = None) -> None:
        """Render the item's result again at its vividness and reference strength, which it keeps; or,
        while a slider is dragged, preview = (temperature, strength): a screen-sized render, shown only."""
        entry = self.cache.peek(item.id)
        if entry is None:  # the job that brings it back renders as the item says
            return
        if preview is None:
            self.renderer.request(item.id, item.pulled(entry.prediction), item.temperature)
            return
        if entry.preview is None:
            view = self.win.view
            side = round(max(view.width(), view.height()) * view.devicePixelRatioF())
            entry.preview = preview_prediction(entry.prediction, side)
        temperature, strength = preview
        small = entry.preview or entry.prediction
        self.renderer.request(item.id, small.with_reference(item.reference, strength), temperature, preview=True)

    def rendered(self, rendered: Rendered) -> None:
        """A re-render came back: a preview is shown only, a full one is the item's new result."""
        item, entry = self.items.get(rendered.item_id), self.cache.peek(rendered.item_id)
        if item is None or entry is None:
            return
        current = self._is_current(item)
        if rendered.preview:  # shown only: the item keeps its full image until the slider is released
            if current:
                self.win.view.set_after(rendered.after)
            return
        entry.after, item.thumbnail = rendered.after, rendered.thumbnail
        self.win.list.refresh(item)
        if current:
            self.win.view.set_after(rendered.after)
        self.win.item_changed.emit(item)

    def hints_changed(self, item: Item) -> None:
        """The item's points changed (or an undo changed them back): the network runs again with
        them; rapid changes coalesce into one run (JobQueue.resubmit)."""
        self.look_changed(item)
        if item is self.win.current_item():
            self.win.view.set_hints(item.hints)
        self.queue.resubmit(self.session.colorize_job(item))

    def _show_hints(self, item: Item) -> None:
        self.win.hint_history.select(item)
        self.win.view.set_hints(item.hints)
        self.win.view.select_hint(None)
