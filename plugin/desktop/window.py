"""The main window: the item list, the before/after view, the vividness and reference controls and
hint mode, with menus, toolbar and status bar, wired to the job queues. No engine work runs in this
thread (see worker.py), no colour math is done here (the engine renders), the items' bookkeeping is
session.py's and hint and reference editing are hints.py's and reference.py's: the window asks,
shows and forwards."""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QByteArray, QSettings, Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QImage
from PyQt5.QtWidgets import (QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar,
                             QPushButton, QSplitter, QToolBar, QVBoxLayout, QWidget)

from engine import Prediction, __version__

from . import vividness as vivid
from .actions import HINTS_TIP, NO_HINTS_TIP, Commands
from .banner import Banner
from .cache import DEFAULT_BUDGET, PredictionCache
from .compare_view import CompareView
from .hints import HintEditor, HintHistory
from .inputs import OPEN_FILTERS, collect_files, droppable, image_in, paths_in
from .items import IN_COLOUR, Item, ItemList, State
from .jobs import Colorized, ColorizedVideo, ColorizeJob, Job, Rendered, SaveJob
from .preview import preview_prediction
from .queues import JobQueue, RenderQueue
from .reference import ReferenceControl, ReferenceEditor
from .saving import Saver, remembered_folder
from .session import Session
from .swatches import SwatchPopup
from .vividness import VividnessControl
from .worker import ModelInfo, RenderWorker, Worker, start_thread

ORGANIZATION, APPLICATION = "colorize", "colorize-app"
BACKEND_NAMES = {"onnx": "ONNX Runtime", "torch": "PyTorch"}
ERROR_STYLE = "color: #d9534f; font-weight: bold"


class MainWindow(QMainWindow):
    """Drop, compare, tune, save."""

    item_changed = pyqtSignal(object)    # an Item whose state or image changed (tests and --selftest wait on it)
    model_changed = pyqtSignal()         # the model was loaded, or failed to load
    _request_load = pyqtSignal(object)

    def __init__(self, weights=None, backend: str = "auto", device: str = "auto",
                 settings: QSettings | None = None, cache_bytes: int = DEFAULT_BUDGET):
        super().__init__()
        self.settings = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)
        self.cache = PredictionCache(cache_bytes)
        self.session = Session(self.cache)  # the items and their states; removed on shutdown()
        self.items = self.session.items     # (by id, in the order they were added)
        self.model: ModelInfo | None = None
        self.model_error = ""
        self._recolorize_on_load = False
        self._closed = False
        self._start_workers()
        self.saver = Saver(parent=self, settings=self.settings, session=self.session, submit=self.queue.submit,
                           current=self.current_item, tell=lambda text: self.statusBar().showMessage(text, 6000),
                           warn=lambda text: self.banner.show_message(text),
                           confirm=lambda title, text: self.confirm(title, text))  # (tests replace confirm)
        self._build_ui()
        self._restore_settings()
        self.load_model(weights, backend, device)

    # --- set-up ----------------------------------------------------------------------------

    def _start_workers(self):
        self.worker = Worker()
        self.worker_thread = start_thread(self.worker, "colorize")
        self.render_worker = RenderWorker()
        self.render_thread = start_thread(self.render_worker, "render")
        self.queue = JobQueue(self.worker, prepare=self.session.prepare)
        self.renderer = RenderQueue(self.render_worker)
        self._request_load.connect(self.worker.load)
        self.worker.loaded.connect(self._on_loaded)
        self.worker.load_failed.connect(self._on_load_failed)
        self.worker.frames.connect(self._on_frames)
        self.queue.started.connect(self._on_started)
        self.queue.finished.connect(self._on_finished)
        self.queue.failed.connect(self._on_failed)
        self.queue.cancelled.connect(self._on_cancelled)
        self.queue.progress.connect(self._on_progress)
        self.queue.idle.connect(self._on_idle)
        self.renderer.ready.connect(self._on_rendered)
        self.renderer.failed.connect(lambda item_id, msg: self.banner.show_message(f"Could not re-render: {msg}"))
        self.render_worker.reference_failed.connect(lambda item_id, msg: self.statusBar().showMessage(msg, 10000))

    def _build_ui(self):
        self.setWindowTitle("Colorize")
        self.setAcceptDrops(True)
        self.resize(1200, 780)
        self.list = ItemList()
        self.view = CompareView()
        self.banner = Banner()
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.banner)
        column.addWidget(self.view, 1)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(self.list)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([280, 920])
        self.setCentralWidget(self.splitter)
        self.vividness = VividnessControl()
        self.reference = ReferenceControl()
        self.reference_editor = ReferenceEditor(control=self.reference, parent=self, settings=self.settings,
                                                current=self.current_item, find=self.items.get,
                                                prediction=self._shown_prediction, render=self._render,
                                                changed=self._look_changed)
        self.reference_editor.load.connect(self.render_worker.load_reference)
        self.render_worker.reference_loaded.connect(self.reference_editor.loaded)
        self.hint_history = HintHistory(self._on_hints_changed, self)
        self.hint_editor = HintEditor(view=self.view, history=self.hint_history, popup=SwatchPopup(self),
                                      current=self.current_item, prediction=self._shown_prediction)
        self.commands = Commands(self)
        self.commands.fill_menus(self.menuBar())
        self._build_toolbar()
        self._build_status_bar()
        self.list.currentItemChanged.connect(lambda *_: self._show_current())
        self.vividness.temperature_changed.connect(self._on_temperature)
        self.vividness.previewed.connect(self._on_preview)
        self.view.zoom_changed.connect(self._on_zoom)
        self._update_actions()

    def _build_toolbar(self):
        self.commands.fill_toolbar(self._toolbar("Main", "main-toolbar"))
        self.addToolBarBreak()  # the colour controls get a row of their own: one row would not fit 1280 px
        colours = self._toolbar("Colours", "colours-toolbar")
        colours.addAction(self.commands.hints)
        colours.addWidget(self.vividness)
        colours.addWidget(self.reference)

    def _toolbar(self, title: str, name: str) -> QToolBar:
        bar = self.addToolBar(title)
        bar.setObjectName(name)
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        return bar

    def _build_status_bar(self):
        bar = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setFormat("%v / %m")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.zoom_label = QLabel()
        self.model_label = QLabel("Loading model…")
        self.last_run_label = QLabel("")
        for w in (self.zoom_label, self.model_label, self.last_run_label):
            w.setContentsMargins(10, 0, 10, 0)
        for w in (self.progress, self.cancel_button, self.zoom_label, self.model_label, self.last_run_label):
            bar.addPermanentWidget(w)
        self.progress.hide()
        self.cancel_button.hide()

    def _restore_settings(self):
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def _save_settings(self):
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.sync()

    # --- the model -------------------------------------------------------------------------

    def load_model(self, weights=None, backend: str = "auto", device: str = "auto") -> None:
        """Load a weights folder (None: $COLORIZE_WEIGHTS or the shipped weights) in the worker."""
        self.model_label.setText("Loading model…")
        self.model_label.setStyleSheet("")
        self._request_load.emit((weights, backend, device))

    def choose_weights(self) -> None:
        """Ask for a weights folder, load it and colorize everything again with it."""
        start = str(self.settings.value("model/folder", "") or Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose a weights folder (with model.json)", start)
        if folder:
            self.settings.setValue("model/folder", folder)
            self._recolorize_on_load = True
            self.load_model(folder)

    @pyqtSlot(object)
    def _on_loaded(self, info: ModelInfo):
        self.model, self.model_error = info, ""
        self.vividness.set_default(info.temperature)
        self.model_label.setText(f"{BACKEND_NAMES.get(info.backend, info.backend)} · {info.device.upper()}")
        self.model_label.setStyleSheet("")
        self.model_label.setToolTip(f"Weights: {info.weights}")
        self.banner.hide()
        if self._recolorize_on_load:
            self._recolorize_on_load = False
            self._put_aside(info.takes_hints)
            self.cache.clear()
            self._requeue(list(self.items.values()))
        self._show_current()
        self.model_changed.emit()

    @pyqtSlot(str)
    def _on_load_failed(self, message: str):
        self.model, self.model_error = None, message
        self._recolorize_on_load = False
        self.model_label.setText("No model")
        self.model_label.setStyleSheet(ERROR_STYLE)
        self.model_label.setToolTip(message)
        self.banner.show_message(f"Cannot load the colorization model: {message}",
                                 "Choose Weights Folder…", self.choose_weights)
        self._update_actions()
        self.model_changed.emit()

    # --- adding items ----------------------------------------------------------------------

    def add_paths(self, paths, pasted: bool = False) -> list[Item]:
        """Add files and folders (searched recursively) as items and queue them; returns the new items."""
        files, notes = collect_files(paths)
        new, repeated = self.session.add(files, vivid.remembered(self.settings), pasted)
        for item in new:
            item.sidecars = self.saver.sidecars(item)
            self.list.add(item)
        self.queue.submit([self.session.colorize_job(i) for i in new])
        if new:
            self.list.select(new[0].id)
        parts = [f"Added {len(new)} file{'s' * (len(new) != 1)}"] if new or not notes else []
        if repeated:
            parts.append(f"{repeated} already in the list")
        self.statusBar().showMessage("; ".join(parts + notes), 8000)
        self._update_actions()
        return new

    def add_mime(self, mime) -> list[Item] | None:
        """Add what a drop or the clipboard carries: files and folders, or an image; None if neither."""
        paths = paths_in(mime)
        image = None if paths else image_in(mime)
        if image is not None:
            return self._add_image(image)
        return self.add_paths(paths) if paths else None

    def _add_image(self, image: QImage) -> list[Item]:
        path = self.session.paste_path()
        if not image.save(str(path), "PNG"):
            self.banner.show_message(f"Could not store the pasted image in {path.parent}")
            return []
        return self.add_paths([path], pasted=True)

    def open_files(self) -> None:
        """File ▸ Open: pick photos."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open photos", remembered_folder(self.settings, "open/folder"), OPEN_FILTERS)
        if paths:
            self.settings.setValue("open/folder", str(Path(paths[0]).parent))
            self.add_paths(paths)

    def open_folder(self) -> None:
        """File ▸ Open Folder: every photo in a folder, recursively."""
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of photos", remembered_folder(self.settings, "open/folder"))
        if folder:
            self.settings.setValue("open/folder", folder)
            self.add_paths([folder])

    def paste(self) -> None:
        """Edit ▸ Paste: an image, or image files, from the clipboard."""
        mime = QApplication.clipboard().mimeData()
        if mime is None or self.add_mime(mime) is None:
            self.statusBar().showMessage("The clipboard has no image or file to colorize", 6000)

    def dragEnterEvent(self, event):
        if droppable(event.mimeData()):
            event.acceptProposedAction()
            self.view.set_drop_highlight(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event):
        if droppable(event.mimeData()):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event):
        self.view.set_drop_highlight(False)

    def dropEvent(self, event):
        self.view.set_drop_highlight(False)
        if self.add_mime(event.mimeData()) is None:
            event.ignore()
        else:
            event.acceptProposedAction()

    # --- jobs ------------------------------------------------------------------------------

    def _requeue(self, items: list[Item]) -> None:
        self.queue.discard([i.id for i in items])
        jobs = self.session.requeue(items)
        for item in items:
            self.list.refresh(item)
        self.queue.submit(jobs)
        self._update_actions()

    def retry(self) -> None:
        """Colorize ▸ Retry: queue the failed and cancelled items again."""
        self._requeue(self.session.retryable())
        self._show_current()

    def cancel(self) -> None:
        """Stop the batch: waiting jobs are dropped, the running one stops at its next stage."""
        if self.queue.busy:
            self.statusBar().showMessage("Cancelling…", 4000)
            self.queue.cancel()

    # Each report of the queue goes to the session, which updates the item; then it is shown.

    @pyqtSlot(object)
    def _on_started(self, job: Job):
        item = self.session.started(job)
        if item is None:
            return
        if isinstance(job, SaveJob):
            self.statusBar().showMessage(f"Saving {job.dst.name}…", 4000)
            return
        self.list.refresh(item)
        if item.id == self.list.current_id() and item.state is State.WORKING:
            self.view.show_message(f"Colorizing {item.name}…")
        self.item_changed.emit(item)

    @pyqtSlot(object, object)
    def _on_finished(self, job: Job, result):
        item = self.session.finished(job, result, current=self.list.current_id())
        if item is None:  # removed while it ran
            return
        if isinstance(job, SaveJob):
            self.statusBar().showMessage(f"Saved {result}", 6000)
        else:
            self._show_result(item, job, result)
        self._changed(item)

    def _show_result(self, item: Item, job: ColorizeJob, result: Colorized | ColorizedVideo) -> None:
        current = item.id == self.list.current_id()
        self.last_run_label.setText(f"Last run {result.seconds:.2f} s")
        if isinstance(result, ColorizedVideo):
            self.last_run_label.setToolTip(f"{item.name}: {result.frames} frames, decode to encode")
            if current:
                self._show_current()
        else:
            self.last_run_label.setToolTip(f"{item.name}: read, network and full-resolution render")
            if current and job.canvas is not None and self.view.has_images:
                self.view.set_after(result.after)  # a rerun with new hints: same photo, same zoom and pan
            elif current:
                self.view.set_images(result.before, result.after)
                self._show_hints(item)
            ran = (job.temperature, job.reference, job.reference_strength)
            found = result.restored
            if found is not None and found.reference is not None:  # the worker rendered the restored reference
                ran = (job.temperature, found.reference, found.reference_strength)
                if current:
                    self.reference_editor.show(item)
            if (item.temperature, item.reference, item.reference_strength) != ran:  # a slider moved while it ran
                self._render(item)
        if item.in_colour:
            self.statusBar().showMessage(f"{item.name}: {IN_COLOUR}", 8000)

    @pyqtSlot(object, int, int)
    def _on_frames(self, job: Job, done: int, total: int):
        """A video's progress: the bar counts its frames until the job ends."""
        if job is not self.queue.current:
            return
        self.progress.setFormat("%v / %m frames")
        self.progress.setRange(0, max(total, done, 1))
        self.progress.setValue(done)

    @pyqtSlot(object, str)
    def _on_failed(self, job: Job, message: str):
        item = self.session.failed(job, message)
        if item is None:
            return
        if isinstance(job, SaveJob):
            self.banner.show_message(f"Could not save {item.name} as {job.dst}: {message}")
        elif item.id == self.list.current_id():
            self.view.show_message(f"{item.name}\n\n{message}", error=True)
        self._changed(item)

    @pyqtSlot(object)
    def _on_cancelled(self, job: Job):
        item = self.session.cancelled(job)
        if item is None:
            return
        if isinstance(job, ColorizeJob) and item.id == self.list.current_id():
            if item.state is State.CANCELLED:
                self._show_current()
            elif item.id not in self.cache:  # a done item's reload was cancelled
                self.view.show_message(f"{item.name}: cancelled. Select it again to show it.")
        self._changed(item)

    def _changed(self, item: Item) -> None:
        self.list.refresh(item)
        self._update_actions()
        self.item_changed.emit(item)

    @pyqtSlot(int, int)
    def _on_progress(self, ended: int, total: int):
        self.progress.setFormat("%v / %m")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(ended)
        busy = self.queue.busy
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.commands.cancel.setEnabled(busy)

    @pyqtSlot()
    def _on_idle(self):
        self.progress.hide()
        self.cancel_button.hide()
        self.commands.cancel.setEnabled(False)
        summary = self.session.summary()
        if summary:
            self.statusBar().showMessage(f"Finished: {summary}", 10000)

    # --- viewing and vividness -------------------------------------------------------------

    def current_item(self) -> Item | None:
        """The selected item, if any."""
        item_id = self.list.current_id()
        return None if item_id is None else self.items.get(item_id)

    def _show_current(self) -> None:
        item = self.current_item()
        self._update_actions()
        if item is None:
            self.setWindowTitle("Colorize")
            self.view.show_message("")
            return
        self.setWindowTitle(f"{item.name} — Colorize")
        self.vividness.set_temperature(item.temperature)
        self.reference_editor.show(item)
        self._show_hints(item)
        entry = self.cache.get(item.id)
        if entry is not None and entry.hints != item.hints and not self.queue.has(item.id):
            self.queue.resubmit(self.session.colorize_job(item))  # (its rerun with these points was cancelled)
        if item.state is State.DONE and item.preview is not None:
            self.view.set_images(*item.preview)
            self.statusBar().showMessage(f"{item.name} is a video: its first frame is shown. Save (Ctrl+S) or "
                                         "Save All writes the colorized video.", 10000)
        elif entry is not None:
            self.view.set_images(entry.before, entry.after)
        elif item.state is State.DONE:  # let go of to save memory (see cache.py): run it again, first
            if not self.queue.has(item.id):
                self.queue.submit([self.session.colorize_job(item)], urgent=True)
            self.view.show_message(f"Loading {item.name}…")
        elif item.state is State.WAITING:
            self.queue.promote(item.id)
            self.view.show_message(f"{item.name} is next…")
        elif item.state is State.WORKING:
            self.view.show_message(f"Colorizing {item.name}…")
        elif item.state is State.FAILED:
            self.view.show_message(f"{item.name}\n\n{item.error}", error=True)
        else:
            self.view.show_message(f"{item.name} was cancelled.\nColorize ▸ Retry (F5) colorizes it.")

    def _on_temperature(self, temperature: float | None) -> None:
        """The slider was released (or moved by keys): the item keeps this vividness, rendered in full."""
        item = self.current_item()
        if item is None:
            return
        item.temperature = temperature
        self._look_changed(item)
        vivid.remember(self.settings, temperature)
        self._render(item)

    def _on_preview(self, temperature: float) -> None:
        """The vividness slider is being dragged: a screen-sized render follows it (see preview.py)."""
        item = self.current_item()
        if item is not None:
            self._render(item, (temperature, item.reference_strength))

    def _look_changed(self, item: Item) -> None:
        """The item's vividness, reference or hints changed."""
        item.note = ""  # a saved file no longer matches what is shown
        self.list.refresh(item)

    def _render(self, item: Item, preview: tuple[float | None, float] | None = None) -> None:
        """Render the item's result again at its vividness and reference strength, which it keeps; or,
        while a slider is dragged, preview = (temperature, strength): a screen-sized render, shown only."""
        entry = self.cache.peek(item.id)
        if entry is None:  # the job that brings it back renders as the item says
            return
        if preview is None:
            self.renderer.request(item.id, item.pulled(entry.prediction), item.temperature)
            return
        if entry.preview is None:
            side = round(max(self.view.width(), self.view.height()) * self.view.devicePixelRatioF())
            entry.preview = preview_prediction(entry.prediction, side)
        temperature, strength = preview
        small = entry.preview or entry.prediction
        self.renderer.request(item.id, small.with_reference(item.reference, strength), temperature, preview=True)

    # --- hint points -----------------------------------------------------------------------

    def hint_mode_toggled(self) -> None:
        """Colorize ▸ Hint Mode (H)."""
        self._update_actions()
        if self.commands.hints.isChecked():
            self.statusBar().showMessage("Hint mode: click the result side of the photo to give a spot a colour", 8000)

    def _on_hints_changed(self, item: Item) -> None:
        """The item's points changed (or an undo changed them back): the network runs again with
        them; rapid changes coalesce into one run (JobQueue.resubmit)."""
        self._look_changed(item)
        if item is self.current_item():
            self.view.set_hints(item.hints)
        self.queue.resubmit(self.session.colorize_job(item))

    def _show_hints(self, item: Item) -> None:
        self.hint_history.select(item)
        self.view.set_hints(item.hints)
        self.view.select_hint(None)

    def _shown_prediction(self, item: Item) -> Prediction | None:
        """What the item shows, as a Prediction (its reference applied), if it is in memory."""
        entry = self.cache.peek(item.id)
        return None if entry is None else item.pulled(entry.prediction)

    def _put_aside(self, takes_hints: bool) -> None:
        """Other weights were loaded: references were read for the old model's colour bins, and
        weights without hint inputs cannot follow points; so these go, with a note."""
        lost = 0
        for item in self.items.values():
            lost += item.reference is not None or (bool(item.hints) and not takes_hints)
            item.reference, item.reference_path = None, None
            if not takes_hints:
                self.hint_history.clear(item)
        if lost:
            what = "references" if takes_hints else "references and hint points"
            self.statusBar().showMessage(f"Other weights: the {what} of {lost} photo(s) were removed", 10000)

    @pyqtSlot(object)
    def _on_rendered(self, rendered: Rendered):
        item, entry = self.items.get(rendered.item_id), self.cache.peek(rendered.item_id)
        if item is None or entry is None:
            return
        current = item.id == self.list.current_id()
        if rendered.preview:  # shown only: the item keeps its full image until the slider is released
            if current:
                self.view.set_after(rendered.after)
            return
        entry.after, item.thumbnail = rendered.after, rendered.thumbnail
        self.list.refresh(item)
        if current:
            self.view.set_after(rendered.after)
        self.item_changed.emit(item)

    def _on_zoom(self, zoom: float, fit: bool):
        self.zoom_label.setText(f"{'Fit · ' if fit else ''}{zoom * 100:.0f} %")

    def _update_actions(self) -> None:
        item = self.current_item()
        done = item is not None and item.state is State.DONE
        for action in (self.commands.save, self.commands.save_as):
            action.setEnabled(done)
        savable = (State.DONE, State.WAITING, State.WORKING)
        self.commands.save_all.setEnabled(any(i.state in savable for i in self.items.values()))
        self.commands.remove.setEnabled(item is not None)
        self.commands.clear.setEnabled(bool(self.items))
        self.commands.retry.setEnabled(any(i.state in (State.FAILED, State.CANCELLED) for i in self.items.values()))
        self.commands.cancel.setEnabled(self.queue.busy)
        self.vividness.setEnabled(done and not item.is_video)  # a video is colorized at the model's default
        self.reference.setEnabled(done and not item.is_video)
        takes_hints = self.model is not None and self.model.takes_hints
        self.commands.hints.setEnabled(takes_hints)
        self.commands.hints.setToolTip(HINTS_TIP if takes_hints else NO_HINTS_TIP)
        if not takes_hints:
            self.commands.hints.setChecked(False)
        editing = self.commands.hints.isChecked() and done and not item.is_video
        self.view.set_hint_mode(editing)
        self.commands.set_hint_editing(editing)
        for action in self.commands.zoom():
            action.setEnabled(item is not None)
        if item is None:
            self.zoom_label.setText("")

    # --- removing --------------------------------------------------------------------------

    def remove_selected(self) -> None:
        """Edit ▸ Remove: take the selected item out of the list (its files are untouched)."""
        item = self.current_item()
        if item is not None:
            self._forget([item.id])

    def clear_all(self) -> None:
        """Edit ▸ Clear All."""
        self._forget(list(self.items))

    def _forget(self, ids: list[int]) -> None:
        self.queue.discard(ids)
        self.session.forget(ids)
        for item_id in ids:
            self.renderer.forget(item_id)
            self.hint_history.forget(item_id)
            self.list.remove(item_id)
        self._show_current()

    # --- questions (tests replace confirm) --------------------------------------------------

    def confirm(self, title: str, text: str) -> bool:
        """A yes/no question, No by default."""
        answer = QMessageBox.warning(self, title, text, QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    # --- the rest --------------------------------------------------------------------------

    def about(self) -> None:
        """Help ▸ About."""
        model = (f"{BACKEND_NAMES.get(self.model.backend, self.model.backend)} on {self.model.device.upper()}, "
                 f"weights {self.model.weights}" if self.model else f"no model: {self.model_error}")
        QMessageBox.about(self, "About Colorize", f"<b>Colorize {__version__}</b><p>Automatic colorization of "
                          f"black-and-white photos with a small U-Net.</p><p>{model}</p>")

    def closeEvent(self, event):
        if self._closed:
            return super().closeEvent(event)
        saving = any(isinstance(j, SaveJob) for j in self.queue.jobs())
        if saving and not self.confirm("Quit while saving?", "Some images are still being saved.\n\n"
                                       "Quit anyway? Those not written yet are lost."):
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the workers (the running job stops at its next stage) and store the settings."""
        if self._closed:
            return
        self._closed = True
        self._save_settings()
        self.queue.cancel()
        for thread in (self.worker_thread, self.render_thread):
            thread.quit()
            thread.wait()
        self.session.close()  # pasted images and colorized videos: nothing is left behind
