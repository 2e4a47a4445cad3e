"""The reference photo: a colour photo whose colours the selected photo's result leans toward, with
a strength slider (0–100 %) and a button that clears it; each photo has its own.

The engine reweights the network's stored colour distribution (Prediction.with_reference), so a
new reference or strength is a re-render, never a network run: like the vividness slider, the
strength previews while dragged and is kept when released. The photo is read once, in the render
thread (RenderWorker.load_reference), for the model's colour bins.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PyQt5.QtCore import QObject, QSettings, Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QIcon
from PyQt5.QtWidgets import QFileDialog, QHBoxLayout, QStyle, QToolButton, QWidget

from engine import IMAGE_SUFFIXES, Prediction, Reference

from .items import Item
from .saving import remembered_folder
from .vividness import STEPS, percent_slider

FILTER = "Colour photos (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ")"


class ReferenceControl(QWidget):
    """[Reference…] [strength slider] [value] [clear]. Shows one photo's reference at a time."""

    choose = pyqtSignal()                  # the button was pressed: ask for a photo
    cleared = pyqtSignal()                 # back to the network's own colours
    strength_changed = pyqtSignal(float)   # released, or moved by keys or wheel: the value to keep
    previewed = pyqtSignal(float)          # while dragging: the value under the handle

    def __init__(self, parent=None):
        super().__init__(parent)
        self.button = QToolButton()
        self.button.setText("Reference…")
        self.button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.slider, self.value_label = percent_slider(100, "How strongly the colours lean toward the reference photo's")
        self.clear = QToolButton()
        self.clear.setIcon(QIcon.fromTheme("edit-clear", self.style().standardIcon(QStyle.SP_DialogDiscardButton)))
        self.clear.setToolTip("No reference: back to the network's own colours")
        self.clear.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        for w in (self.button, self.slider, self.value_label, self.clear):
            layout.addWidget(w)
        self.button.clicked.connect(self.choose)
        self.clear.clicked.connect(self.cleared)
        self.slider.valueChanged.connect(self._moved)
        self.slider.sliderReleased.connect(lambda: self.strength_changed.emit(self.strength()))
        self.show_reference(None, 0.5)

    def show_reference(self, name: str | None, strength: float) -> None:
        """Show a photo's reference (name None: it has none) without emitting anything."""
        self.slider.blockSignals(True)
        self.slider.setValue(round(strength * STEPS))
        self.slider.blockSignals(False)
        self.value_label.setText(f"{self.slider.value()} %")
        for w in (self.slider, self.value_label, self.clear):
            w.setEnabled(name is not None)
        self.button.setToolTip(f"Reference photo: {name}. Choose another…" if name else
                               "Choose a colour photo whose colours the result should lean toward "
                               "(re-rendered, the network does not run again)")

    def strength(self) -> float:
        """The strength shown, in [0, 1]."""
        return self.slider.value() / STEPS

    def _moved(self, value: int) -> None:
        self.value_label.setText(f"{value} %")
        if self.slider.isSliderDown():
            self.previewed.emit(self.strength())
        else:
            self.strength_changed.emit(self.strength())


class ReferenceEditor(QObject):
    """What the control's button, slider and clear button do to the selected photo. It works
    through what it is given, never through the window's fields."""

    load = pyqtSignal(object)   # (item id, path, the model's ChromaBins): for RenderWorker.load_reference

    def __init__(self, *, control: ReferenceControl, parent: QWidget, settings: QSettings,
                 current: Callable[[], Item | None], find: Callable[[int], Item | None],
                 prediction: Callable[[Item], Prediction | None], render: Callable, changed: Callable[[Item], None]):
        """current is the selected item, find(id) an item by id; prediction(item) what it shows
        (None when it is not in memory); render(item) renders it as it now is, render(item,
        (temperature, strength)) previews a drag; changed(item) says that it changed."""
        super().__init__(parent)
        self.control, self.settings = control, settings
        self.current, self.find, self.prediction, self.render, self.changed = current, find, prediction, render, changed
        control.choose.connect(self.choose)
        control.cleared.connect(lambda: self._set(self.current(), None, None))
        control.strength_changed.connect(self._strength)
        control.previewed.connect(self._preview)

    def show(self, item: Item) -> None:
        """Show the item's reference and strength."""
        self.control.show_reference(item.reference_name if item.reference else None, item.reference_strength)

    def choose(self) -> None:
        """The Reference… button: ask for a colour photo and have it read."""
        item = self.current()
        prediction = None if item is None else self.prediction(item)
        if prediction is None:
            return
        path, _ = QFileDialog.getOpenFileName(self.parent(), "Choose a colour reference photo",
                                              remembered_folder(self.settings, "reference/folder"), FILTER)
        if path:
            self.settings.setValue("reference/folder", str(Path(path).parent))
            self.load.emit((item.id, path, prediction.bins))

    @pyqtSlot(int, str, object)
    def loaded(self, item_id: int, path: str, reference: Reference) -> None:
        """The render thread read the photo (a bad one is the engine's one line, told elsewhere)."""
        self._set(self.find(item_id), reference, Path(path).absolute())

    def _set(self, item: Item | None, reference: Reference | None, path: Path | None) -> None:
        if item is None:
            return
        item.reference, item.reference_path = reference, path
        self.changed(item)
        if item is self.current():
            self.show(item)
        self.render(item)

    def _strength(self, strength: float) -> None:
        item = self.current()
        if item is not None:
            item.reference_strength = strength
            self.changed(item)
            self.render(item)

    def _preview(self, strength: float) -> None:
        item = self.current()
        if item is not None:
            self.render(item, (item.temperature, strength))
