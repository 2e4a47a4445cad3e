"""The main window: the item list, the before/after view and the vividness control, with menus,
toolbar and status bar, wired to the job queues. No engine work runs in this thread (see worker.py)
and no colour math is done here: the engine renders, the window only shows and asks."""
from __future__ import annotations

import itertools
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from PyQt5.QtCore import QByteArray, QSettings, QStandardPaths, Qt, QTemporaryDir, QUrl, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QImage, QPixmap
from PyQt5.QtWidgets import (QApplication, QFileDialog, QFrame, QHBoxLayout, QLabel,
                             QMainWindow, QMessageBox, QProgressBar, QPushButton, QSplitter, QStyle,
                             QToolButton, QVBoxLayout, QWidget)

from engine import __version__

from .actions import Commands
from .cache import DEFAULT_BUDGET, Entry, PredictionCache
from .compare_view import CompareView
from .inputs import OPEN_FILTERS, collect_files, is_video
from .items import Item, ItemList, State
from .jobs import JobQueue, RenderQueue
from .saving import Saver, path_key, video_suffix
from .vividness import VividnessControl
from .worker import Colorized, ColorizedVideo, Job, ModelInfo, Rendered, RenderWorker, Worker, start_thread

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
        self.items: dict[int, Item] = {}
        self.cache = PredictionCache(cache_bytes)
        self.model: ModelInfo | None = None
        self.model_error = ""
        self._ids = itertools.count(1)
        self._pasted = itertools.count(1)
        self._paste_dir = QTemporaryDir()   # pasted images become files here, removed on exit
        self._video_dir = Path(tempfile.mkdtemp(prefix="colorize-app-videos-"))  # colorized videos, removed on exit
        self._batch = Counter()             # what the current batch did, for the summary at its end
        self._recolorize_on_load = False
        self._closed = False
        self._start_workers()
        self.saver = Saver(self)
        self._build_ui()
        self._restore_settings()
        self.load_model(weights, backend, device)

    # --- set-up ----------------------------------------------------------------------------

    def _start_workers(self):
        self.worker = Worker()
        self.worker_thread = start_thread(self.worker, "colorize")
        self.render_worker = RenderWorker()
        self.render_thread = start_thread(self.render_worker, "render")
        self.queue = JobQueue(self.worker, prepare=self._prepare_job)
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
        self.commands = Commands(self)
        self.commands.fill_menus(self.menuBar())
        self._build_toolbar()
        self._build_status_bar()
        self.list.currentItemChanged.connect(lambda *_: self._show_current())
        self.vividness.temperature_changed.connect(self._on_temperature)
        self.view.zoom_changed.connect(self._on_zoom)
        self._update_actions()

    def _build_toolbar(self):
        tools = self.addToolBar("Main")
        tools.setObjectName("main-toolbar")
        tools.setMovable(False)
        tools.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.commands.fill_toolbar(tools)
        tools.addWidget(self.vividness)

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
            self.cache.clear()
            self._requeue([i for i in self.items.values()])
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
        known = {path_key(i.path) for i in self.items.values()}
        new, repeated = [], 0
        for path in files:
            key = path_key(path)
            if key in known:
                repeated += 1
                continue
            known.add(key)
            item = Item(next(self._ids), path, path.name, self._remembered_temperature(), pasted=pasted)
            self.items[item.id] = item
            self.list.add(item)
            new.append(item)
        self.queue.submit([self._colorize_job(i) for i in new])
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
        paths = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        if not paths and mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QPixmap):
                image = image.toImage()
            if isinstance(image, QImage) and not image.isNull():
                return self._add_image(image)
        if not paths and mime.hasText():  # a path copied as text from a file manager or terminal
            lines = [line.strip() for line in mime.text().splitlines() if line.strip()]
            paths = [Path(QUrl(s).toLocalFile() if s.startswith("file:") else s) for s in lines]
            paths = [p for p in paths if p.exists()]
        return self.add_paths(paths) if paths else None

    def _add_image(self, image: QImage) -> list[Item]:
        path = Path(self._paste_dir.path()) / f"Pasted image {next(self._pasted)}.png"
        if not image.save(str(path), "PNG"):
            self.banner.show_message(f"Could not store the pasted image in {path.parent}")
            return []
        return self.add_paths([path], pasted=True)

    def open_files(self) -> None:
        """File ▸ Open: pick photos."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open photos", self.folder_setting("open/folder"), OPEN_FILTERS)
        if paths:
            self.settings.setValue("open/folder", str(Path(paths[0]).parent))
            self.add_paths(paths)

    def open_folder(self) -> None:
        """File ▸ Open Folder: every photo in a folder, recursively."""
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of photos", self.folder_setting("open/folder"))
        if folder:
            self.settings.setValue("open/folder", folder)
            self.add_paths([folder])

    def paste(self) -> None:
        """Edit ▸ Paste: an image, or image files, from the clipboard."""
        mime = QApplication.clipboard().mimeData()
        if mime is None or self.add_mime(mime) is None:
            self.statusBar().showMessage("The clipboard has no image or file to colorize", 6000)

    def _droppable(self, mime) -> bool:
        return any(u.isLocalFile() for u in mime.urls()) or mime.hasImage()

    def dragEnterEvent(self, event):
        if self._droppable(event.mimeData()):
            event.acceptProposedAction()
            self.view.set_drop_highlight(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event):
        if self._droppable(event.mimeData()):
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

    def _remembered_temperature(self) -> float | None:
        value = self.settings.value("vividness/temperature", "")
        try:
            return float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    def _colorize_job(self, item: Item) -> Job:
        if is_video(item.path):  # written into the session's temp folder; Save copies it out
            return Job("colorize", item.id, item.path, item.temperature,
                       dst=self._video_dir / f"{item.id}{video_suffix(item.path)}")
        return Job("colorize", item.id, item.path, item.temperature)

    def _prepare_job(self, job: Job) -> None:
        """Just before a job runs: the item's latest vividness, and its cached prediction for a save."""
        item = self.items.get(job.item_id)
        if item is None:
            return
        job.temperature = item.temperature
        if job.kind == "save":
            entry = self.cache.peek(item.id)
            job.prediction = entry.prediction if entry else None
            job.video = item.video

    def _requeue(self, items: list[Item]) -> None:
        self.queue.discard([i.id for i in items])
        for item in items:
            item.state, item.error = State.WAITING, ""
            self.list.refresh(item)
        self.queue.submit([self._colorize_job(i) for i in items])
        self._update_actions()

    def retry(self) -> None:
        """Colorize ▸ Retry: queue the failed and cancelled items again."""
        self._requeue([i for i in self.items.values() if i.state in (State.FAILED, State.CANCELLED)])
        self._show_current()

    def cancel(self) -> None:
        """Stop the batch: waiting jobs are dropped, the running one stops at its next stage."""
        if self.queue.busy:
            self.statusBar().showMessage("Cancelling…", 4000)
            self.queue.cancel()

    @pyqtSlot(object)
    def _on_started(self, job: Job):
        item = self.items.get(job.item_id)
        if item is None:
            return
        if job.kind == "save":
            self.statusBar().showMessage(f"Saving {job.dst.name}…", 4000)
        elif item.state is not State.DONE:  # a done item run again (see cache.py) stays "done"
            item.state = State.WORKING
            self.list.refresh(item)
            if item.id == self.list.current_id():
                self.view.show_message(f"Colorizing {item.name}…")
            self.item_changed.emit(item)

    @pyqtSlot(object, object)
    def _on_finished(self, job: Job, result):
        item = self.items.get(job.item_id)
        if item is None:  # removed while it ran
            return
        if job.kind == "save":
            self._batch["saved"] += 1
            item.saved_to, item.saved_quality = result, job.quality
            item.note = f"saved as {result.name}"
            self.statusBar().showMessage(f"Saved {result}", 6000)
        elif isinstance(result, ColorizedVideo):
            self._batch["colorized"] += 1
            self._store_video(item, result)
        else:
            self._batch["colorized"] += 1
            self._store(item, job, result)
        self.list.refresh(item)
        self._update_actions()
        self.item_changed.emit(item)

    def _store(self, item: Item, job: Job, result: Colorized) -> None:
        item.state, item.error = State.DONE, ""
        item.seconds, item.thumbnail = result.seconds, result.thumbnail
        current = self.list.current_id()
        self.cache.put(item.id, Entry(result.prediction, result.before, result.after),
                       keep=() if current is None else (current,))
        self.last_run_label.setText(f"Last run {result.seconds:.2f} s")
        self.last_run_label.setToolTip(f"{item.name}: read, network and full-resolution render")
        if item.id == current:
            self.view.set_images(result.before, result.after)
        if item.temperature != job.temperature:  # the slider moved while it ran
            self.renderer.request(item.id, result.prediction, item.temperature)

    def _store_video(self, item: Item, result: ColorizedVideo) -> None:
        item.state, item.error = State.DONE, ""
        item.seconds, item.thumbnail = result.seconds, result.thumbnail
        item.video, item.preview = result.path, (result.before, result.after)
        item.note = f"{result.frames} frames" + (f" ({result.warning})" if result.warning else "")
        self.last_run_label.setText(f"Last run {result.seconds:.2f} s")
        self.last_run_label.setToolTip(f"{item.name}: {result.frames} frames, decode to encode")
        if item.id == self.list.current_id():
            self._show_current()

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
        item = self.items.get(job.item_id)
        if item is None:
            return
        if job.kind == "save":
            self._batch["not saved"] += 1
            item.note = "not saved"
            self.banner.show_message(f"Could not save {item.name} as {job.dst}: {message}")
        else:
            self._batch["failed"] += 1
            item.state, item.error, item.thumbnail = State.FAILED, message, None
            item.video = item.preview = None
            self.cache.drop(item.id)
            if item.id == self.list.current_id():
                self.view.show_message(f"{item.name}\n\n{message}", error=True)
        self.list.refresh(item)
        self._update_actions()
        self.item_changed.emit(item)

    @pyqtSlot(object)
    def _on_cancelled(self, job: Job):
        item = self.items.get(job.item_id)
        if item is None:
            return
        self._batch["cancelled"] += 1
        current = item.id == self.list.current_id()
        if job.kind == "colorize" and item.state is not State.DONE:
            item.state = State.CANCELLED
            self.list.refresh(item)
            if current:
                self._show_current()
        elif job.kind == "colorize" and current and item.id not in self.cache:  # its reload was cancelled
            self.view.show_message(f"{item.name}: cancelled. Select it again to show it.")
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
        if self._batch:
            order = ("colorized", "failed", "saved", "not saved", "cancelled")
            summary = ", ".join(f"{self._batch[k]} {k}" for k in order if self._batch[k])
            self.statusBar().showMessage(f"Finished: {summary}", 10000)
            self._batch.clear()

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
        entry = self.cache.get(item.id)
        if item.state is State.DONE and item.preview is not None:
            self.view.set_images(*item.preview)
            self.statusBar().showMessage(f"{item.name} is a video: its first frame is shown. Save (Ctrl+S) or "
                                         "Save All writes the colorized video.", 10000)
        elif entry is not None:
            self.view.set_images(entry.before, entry.after)
        elif item.state is State.DONE:  # let go of to save memory (see cache.py): run it again, first
            if not self.queue.has(item.id):
                self.queue.submit([self._colorize_job(item)], urgent=True)
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
        item = self.current_item()
        if item is None:
            return
        item.temperature = temperature
        item.note = ""  # a saved file no longer matches what is shown
        self.list.refresh(item)
        self.settings.setValue("vividness/temperature", "" if temperature is None else temperature)
        entry = self.cache.peek(item.id)
        if entry is not None:  # else the job that brings it back renders at this temperature
            self.renderer.request(item.id, entry.prediction, temperature)

    @pyqtSlot(object)
    def _on_rendered(self, rendered: Rendered):
        item, entry = self.items.get(rendered.item_id), self.cache.peek(rendered.item_id)
        if item is None or entry is None:
            return
        entry.after, item.thumbnail = rendered.after, rendered.thumbnail
        self.list.refresh(item)
        if item.id == self.list.current_id():
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
        self.vividness.setEnabled(done and item.video is None)  # a video is colorized at one vividness
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
        for item_id in ids:
            item = self.items.get(item_id)
            if item is not None and item.video is not None:
                item.video.unlink(missing_ok=True)
            self.cache.drop(item_id)
            self.renderer.forget(item_id)
            self.list.remove(item_id)
            self.items.pop(item_id, None)
        self._show_current()

    # --- remembered folders, and questions (tests replace confirm) -------------------------

    def folder_setting(self, key: str, fallback: Path | None = None) -> str:
        """A remembered folder if it still exists, else fallback, else the user's Pictures folder."""
        folder = str(self.settings.value(key, "") or "")
        if folder and Path(folder).is_dir():
            return folder
        if fallback is not None:
            return str(fallback)
        return QStandardPaths.writableLocation(QStandardPaths.PicturesLocation) or str(Path.home())

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
        saving = any(j.kind == "save" for j in self.queue.jobs())
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
        shutil.rmtree(self._video_dir, ignore_errors=True)
