"""The vividness control: a slider over the annealed-mean temperature T, reversed so that right
means more vivid (lower T). T is the engine's knob; "vividness" is only its name in the UI.

While the slider is dragged it emits `previewed` (the window shows a quick screen-sized render);
when it is released, or moved by the keyboard or wheel, it emits `temperature_changed` (the item
takes the value and the full image is rendered).
"""
from __future__ import annotations

from PyQt5.QtCore import QSettings, Qt, pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from engine import TEMPERATURE_VIVID, ColorizeError, check_temperature

T_MIN, T_MAX = TEMPERATURE_VIVID, 1.0   # the engine's useful range, within (0, 1]
STEPS = 100
SETTING = "vividness/temperature"       # the last one chosen, for the next photos


def slider_value(temperature: float) -> int:
    """Slider position (0 = T_MAX, most muted; STEPS = T_MIN, most vivid) for a temperature."""
    t = min(T_MAX, max(T_MIN, temperature))
    return round((T_MAX - t) / (T_MAX - T_MIN) * STEPS)


def temperature_at(value: int) -> float:
    """The temperature at a slider position."""
    return round(T_MAX - (T_MAX - T_MIN) * value / STEPS, 4)


def remembered(settings: QSettings) -> float | None:
    """The temperature chosen last time, or None (the model's default) if none or not valid."""
    value = settings.value(SETTING, "")
    if value in (None, ""):
        return None
    try:
        return check_temperature(value)
    except ColorizeError:
        return None


def remember(settings: QSettings, temperature: float | None) -> None:
    """Store the temperature just chosen (None: the model's default)."""
    settings.setValue(SETTING, "" if temperature is None else temperature)


def percent_slider(width: int, tooltip: str) -> tuple[QSlider, QLabel]:
    """A 0-STEPS slider and the label beside it that shows its value as a percentage (the
    vividness and reference-strength controls)."""
    slider = QSlider(Qt.Horizontal)
    slider.setRange(0, STEPS)
    slider.setPageStep(10)
    slider.setMinimumWidth(width)
    slider.setToolTip(tooltip)
    label = QLabel()
    label.setMinimumWidth(label.fontMetrics().horizontalAdvance("100 %") + 6)
    return slider, label


class VividnessControl(QWidget):
    """Slider + value + reset. Emits the temperature, or None for "the model's default"."""

    temperature_changed = pyqtSignal(object)   # float, or None after Reset: the value to keep
    previewed = pyqtSignal(float)              # while dragging: the value under the handle

    def __init__(self, parent=None):
        super().__init__(parent)
        self.default: float | None = None  # the loaded model's default; none until a model is loaded
        self.label = QLabel("Vividness")
        self.slider, self.value_label = percent_slider(
            160, "Lower: muted, safe colours. Higher: vivid, riskier colours.\n"
                 "Changes the selected image at once, without running the network again.")
        self.reset = QToolButton()
        self.reset.setIcon(self.style().standardIcon(QStyle.SP_BrowserReload))
        self.reset.setToolTip("Back to the model's default vividness")
        self.reset.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        for w in (self.label, self.slider, self.value_label, self.reset):
            layout.addWidget(w)
        self.slider.valueChanged.connect(self._moved)
        self.slider.sliderReleased.connect(lambda: self.temperature_changed.emit(self.temperature()))
        self.reset.clicked.connect(self._reset)
        self.set_temperature(None)

    def set_default(self, temperature: float) -> None:
        """The model's default temperature, shown when an item has none of its own."""
        self.default = temperature

    def set_temperature(self, temperature: float | None) -> None:
        """Show a temperature (None: the model's default) without emitting anything."""
        t = self.default if temperature is None else temperature
        self.slider.blockSignals(True)
        if t is not None:  # no model yet: the handle stays where it is
            self.slider.setValue(slider_value(t))
        self.slider.blockSignals(False)
        self._show()

    def temperature(self) -> float:
        """The temperature shown."""
        return temperature_at(self.slider.value())

    def _show(self):
        self.value_label.setText(f"{self.slider.value()} %")
        default = "no model loaded" if self.default is None else f"model default {self.default:.2f}"
        self.setToolTip(f"Annealed-mean temperature T = {self.temperature():.2f} ({default}); lower T is more vivid")

    def _moved(self, value: int):
        self._show()
        if self.slider.isSliderDown():
            self.previewed.emit(temperature_at(value))
        else:
            self.temperature_changed.emit(temperature_at(value))

    def _reset(self):
        self.set_temperature(None)
        self.temperature_changed.emit(None)
