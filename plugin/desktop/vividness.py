"""The vividness control: a slider over the annealed-mean temperature T, reversed so that right
means more vivid (lower T). T is the engine's knob; "vividness" is only its name in the UI."""
from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

T_MIN, T_MAX = 0.05, 1.0   # the engine accepts (0, 1]; below 0.05 every pixel is just its mode
STEPS = 100


def slider_value(temperature: float) -> int:
    """Slider position (0 = T_MAX, most muted; STEPS = T_MIN, most vivid) for a temperature."""
    t = min(T_MAX, max(T_MIN, temperature))
    return round((T_MAX - t) / (T_MAX - T_MIN) * STEPS)


def temperature_at(value: int) -> float:
    """The temperature at a slider position."""
    return round(T_MAX - (T_MAX - T_MIN) * value / STEPS, 4)


class VividnessControl(QWidget):
    """Slider + value + reset. Emits the temperature, or None for "the model's default"."""

    temperature_changed = pyqtSignal(object)   # float, or None after Reset

    def __init__(self, parent=None):
        super().__init__(parent)
        self.default = 0.4  # replaced by the model's own default once it is loaded
        self.label = QLabel("Vividness")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.setPageStep(10)
        self.slider.setMinimumWidth(160)
        self.slider.setToolTip("Lower: muted, safe colours. Higher: vivid, riskier colours.\n"
                               "Changes the selected image at once, without running the network again.")
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(self.value_label.fontMetrics().horizontalAdvance("100 %") + 6)
        self.reset = QToolButton()
        self.reset.setIcon(self.style().standardIcon(QStyle.SP_BrowserReload))
        self.reset.setToolTip("Back to the model's default vividness")
        self.reset.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        for w in (self.label, self.slider, self.value_label, self.reset):
            layout.addWidget(w)
        self.slider.valueChanged.connect(self._moved)
        self.reset.clicked.connect(self._reset)
        self.set_temperature(None)

    def set_default(self, temperature: float) -> None:
        """The model's default temperature, shown when an item has none of its own."""
        self.default = temperature

    def set_temperature(self, temperature: float | None) -> None:
        """Show a temperature (None: the default) without emitting temperature_changed."""
        self.slider.blockSignals(True)
        self.slider.setValue(slider_value(self.default if temperature is None else temperature))
        self.slider.blockSignals(False)
        self._show()

    def temperature(self) -> float:
        """The temperature shown."""
        return temperature_at(self.slider.value())

    def _show(self):
        self.value_label.setText(f"{self.slider.value()} %")
        self.setToolTip(f"Annealed-mean temperature T = {self.temperature():.2f} (model default "
                        f"{self.default:.2f}); lower T is more vivid")

    def _moved(self, value: int):
        self._show()
        self.temperature_changed.emit(temperature_at(value))

    def _reset(self):
        self.set_temperature(None)
        self.temperature_changed.emit(None)
