"""The main window: builds the item list, the before/after view, the vividness and reference controls
and hint mode, with menus, toolbar and status bar, and wires them and the workers' queues together.
What follows a photo through its jobs (what a result, a failure or a re-render changes, and the
status text) is flow.py's; the items' bookkeeping is session.py's; hint and reference editing are
hints.py's and reference.py's. No engine work runs in this thread (see worker.py) and no colour math
is done here (the engine renders): the window builds, asks and forwards."""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QByteArray, QSettings, Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QImage
from PyQt5.QtWidgets import (QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar,
                             QPushButton, QSplitter, QToolBar, QVBoxLayout, QWidget)

from engine import __version__

from .actions import HINTS_TIP, NO_HINTS_TIP, Commands
from .banner import Banner
from .cache import DEFAULT_BUDGET, PredictionCache
from .compare_view import CompareView
from .flow import PhotoFlow
from .hints import HintEditor, HintHistory
from .inputs import OPEN_FILTERS, droppable, image_in, paths_in
from .items import Item, ItemList, State
from .jobs import SaveJob
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
        """The worker threads, the queues that feed them, and the flow that follows their reports."""
        self.worker = Worker()
        self.worker_thread = start_thread(self.worker, "colorize")
        self.render_worker = RenderWorker()
        self.render_thread = start_thread(self.render_worker, "render")
        self.queue = queue = JobQueue(self.worker, prepare=self.session.prepare)
        self.renderer = RenderQueue(self.render_worker)
        self.flow = flow = PhotoFlow(self)  # (it shows through the widgets _build_ui makes)
        self._request_load.connect(self.worker.load)
        self.worker.loaded.connect(self._on_loaded)
        self.worker.load_failed.connect(self._on_load_failed)
        for signal, slot in ((queue.started, flow.started), (queue.finished, flow.finished),
                             (queue.failed, flow.failed), (queue.cancelled, flow.cancelled),
                             (queue.frames, flow.frames), (queue.progress, flow.progress),
                             (queue.idle, flow.idle), (self.renderer.ready, flow.rendered)):
            signal.connect(slot)
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
                                                prediction=self.flow.shown_prediction, render=self.flow.render,
                                                changed=self.flow.look_changed)
        self.reference_editor.load.connect(self.render_worker.load_reference)
        self.render_worker.reference_loaded.connect(self.reference_editor.loaded)
        self.hint_history = HintHistory(self.flow.hints_changed, self)
        self.hint_editor = HintEditor(view=self.view, history=self.hint_history, popup=SwatchPopup(self),
                                      current=self.current_item, prediction=self.flow.shown_prediction)
        self.commands = Commands(self)
        self.commands.fill_menus(self.menuBar())
        self._build_toolbar()
        self._build_status_bar()
        self.list.currentItemChanged.connect(lambda *_: self.flow.show_current())
        self.vividness.temperature_changed.connect(self.flow.temperature)
        self.vividness.previewed.connect(self.flow.preview)
        self.view.zoom_changed.connect(self._on_zoom)
        self.update_actions()

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
        self.cancel_button.clicked.connect(self.flow.cancel)
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
            self.flow.rerun_all(info.takes_hints)
        self.flow.show_current()
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
        self.update_actions()
        self.model_changed.emit()

    # --- adding items ----------------------------------------------------------------------

    def add_paths(self, paths, pasted: bool = False) -> list[Item]:
        """Add files and folders (searched recursively) as items and queue them; returns the new items."""
        return self.flow.add(paths, pasted)

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

    # --- the selection and what the commands may do ---------------------------------------------

    def current_item(self) -> Item | None:
        """The selected item, if any."""
        item_id = self.list.current_id()
        return None if item_id is None else self.items.get(item_id)

    def hint_mode_toggled(self) -> None:
        """Colorize ▸ Hint Mode (H)."""
        self.update_actions()
        if self.commands.hints.isChecked():
            self.statusBar().showMessage("Hint mode: click the result side of the photo to give a spot a colour", 8000)

    def _on_zoom(self, zoom: float, fit: bool):
        self.zoom_label.setText(f"{'Fit · ' if fit else ''}{zoom * 100:.0f} %")

    def update_actions(self) -> None:
        """Enable the commands and controls that apply to the selected item and the list."""
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
