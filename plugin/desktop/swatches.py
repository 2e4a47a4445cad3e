"""The small popup that offers colours for a hint point: the network's own suggestions at that
pixel (engine Prediction.suggestions, most likely first) as swatches, and "Other…" for any colour.

It closes on a choice, on Esc or on a click elsewhere; only a choice is reported (`chosen`), so
dismissing it changes nothing.
"""
from __future__ import annotations

from PyQt5.QtCore import QPoint, QSize, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QIcon, QPainter, QPixmap
from PyQt5.QtWidgets import QColorDialog, QFrame, QHBoxLayout, QToolButton

SWATCH = 26  # pixels, a swatch's side


def _swatch_icon(rgb: tuple[int, int, int], current: bool) -> QIcon:
    pix = QPixmap(SWATCH, SWATCH)
    pix.fill(QColor(*rgb))
    if current:  # the point's colour now: a ring, so a recolour shows what it replaces
        p = QPainter(pix)
        p.setPen(Qt.white)
        p.drawRect(2, 2, SWATCH - 5, SWATCH - 5)
        p.setPen(Qt.black)
        p.drawRect(3, 3, SWATCH - 7, SWATCH - 7)
        p.end()
    return QIcon(pix)


class SwatchPopup(QFrame):
    """A row of colour swatches and an "Other…" button, shown at a point on the screen."""

    chosen = pyqtSignal(tuple)   # (R, G, B)

    def __init__(self, parent=None):
        super().__init__(parent, Qt.Popup)
        self.setFrameShape(QFrame.StyledPanel)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(4, 4, 4, 4)
        self.row.setSpacing(3)
        self.colours: list[tuple[int, int, int]] = []   # offered, in the swatches' order
        self.swatches: list[QToolButton] = []
        self.other = QToolButton()
        self.other.setText("Other…")
        self.other.setToolTip("Any colour")
        self.other.clicked.connect(self._other)
        self.row.addWidget(self.other)
        self._current: tuple[int, int, int] | None = None

    def offer(self, colours: list[tuple[int, int, int]], current: tuple[int, int, int] | None, at: QPoint) -> None:
        """Show these colours (current: the point's colour now, if it has one) at `at` (global)."""
        for button in self.swatches:
            self.row.removeWidget(button)
            button.deleteLater()
        self.colours = list(colours)
        self.swatches = [self._swatch(rgb, rgb == current) for rgb in colours]
        for n, button in enumerate(self.swatches):
            self.row.insertWidget(n, button)
        self._current = current
        self.adjustSize()
        self.move(at)
        self.show()

    def _swatch(self, rgb: tuple[int, int, int], current: bool) -> QToolButton:
        button = QToolButton()
        button.setIcon(_swatch_icon(rgb, current))
        button.setIconSize(QSize(SWATCH, SWATCH))
        button.setAutoRaise(True)
        button.setToolTip("#%02x%02x%02x" % rgb + (" (now)" if current else ""))
        button.clicked.connect(lambda checked=False: self._choose(rgb))
        return button

    def _choose(self, rgb: tuple[int, int, int]) -> None:
        self.hide()
        self.chosen.emit(tuple(rgb))

    def _other(self) -> None:
        self.hide()  # a popup under a modal dialog would take its clicks
        start = QColor(*self._current) if self._current else QColor(Qt.white)
        colour = QColorDialog.getColor(start, self.parentWidget(), "Hint colour")
        if colour.isValid():
            self.chosen.emit((colour.red(), colour.green(), colour.blue()))
