"""One dropped file = one Item; ItemList shows them with a thumbnail and their state.

How an item moves from state to state is session.py's business; this module only holds and shows."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from PyQt5.QtCore import QSize, Qt
from PyQt5.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PyQt5.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QStyle

from engine import DEFAULT_REFERENCE_STRENGTH, Prediction, Reference

from .images import THUMB_SIZE

ERROR_COLOUR = QColor(220, 80, 70)
ID_ROLE = Qt.UserRole
IN_COLOUR = "already in colour: recoloured from its luminance"


class State(Enum):
    WAITING = "Waiting"
    WORKING = "Colorizing…"
    DONE = "Done"
    FAILED = "Error"
    CANCELLED = "Cancelled"


@dataclass(eq=False)
class Item:
    id: int
    path: Path                          # the source file (for pasted images: a file in a temp folder)
    name: str                           # what the user sees
    temperature: float | None = None    # this item's vividness; None = the model's default
    state: State = State.WAITING
    error: str = ""                     # why it failed
    note: str = ""                      # e.g. "saved as x.png"
    seconds: float | None = None        # the last run's time
    thumbnail: QImage | None = None
    saved_to: Path | None = None        # Save writes here again
    saved_quality: int = 95
    pasted: bool = False
    is_video: bool = False              # goes to the video pipeline (decided once, when added)
    in_colour: bool = False             # the source already had colour (a note, not an error)
    video: Path | None = None           # a colorized video: the finished file in the app's temp folder
    preview: tuple[QImage, QImage] | None = None  # a colorized video: its first frame before and after
    hints: tuple = ()                   # colour hint points (engine Hints) in effect; hints.py changes them
    sidecars: tuple = ()                # where hints and a reference saved with an earlier result may be
                                        # (sidecar.py); () once looked at, on the photo's first run
    reference: Reference | None = None  # a colour photo the result leans toward (read for this model's bins)
    reference_path: Path | None = None  # its file (what the sidecar stores)
    reference_strength: float = DEFAULT_REFERENCE_STRENGTH

    @property
    def reference_name(self) -> str:
        """The reference photo's file name ("" without one)."""
        return "" if self.reference_path is None else self.reference_path.name

    def pulled(self, prediction: Prediction) -> Prediction:
        """The prediction with this item's reference pull (none without a reference): what is shown
        and saved. Costs one vector: the network's output is shared."""
        return prediction.with_reference(self.reference, self.reference_strength)

    def status(self) -> str:
        """The second line in the list."""
        if self.state is State.FAILED:
            return f"Error: {self.error}"
        if self.state is State.DONE:
            text = "Done" if self.seconds is None else f"Done in {self.seconds:.{2 if self.seconds < 10 else 0}f} s"
            return " · ".join([text] + [n for n in (self.note, IN_COLOUR if self.in_colour else "") if n])
        return self.state.value


def _breakable(text: str, separators: bool = True, run: int = 10) -> str:
    """Text with zero-width spaces after path separators (if asked) and inside long unbroken runs,
    where Qt may then wrap it: Qt wraps only between words, so a long file name or path would
    otherwise widen a row beyond the list or a tooltip beyond the screen."""
    if separators:
        text = re.sub(r"([/\\_.-])", "\\1\u200b", text)
    return re.sub(r"[^\s\u200b]{%d}(?=[^\s\u200b])" % run, lambda m: m.group(0) + "\u200b", text)


def tooltip(*lines: str) -> str:
    """Lines as a rich-text tooltip: Qt wraps rich text (at about 80 characters), never plain text."""
    return "<qt>" + "<br>".join(html.escape(_breakable(line)) for line in lines) + "</qt>"


def _placeholder(style, state: State) -> QIcon:
    """A grey frame (with a warning sign for errors) until there is a thumbnail."""
    pix = QPixmap(THUMB_SIZE, THUMB_SIZE * 3 // 4)
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(QColor(120, 120, 125))
    p.setBrush(QColor(70, 70, 74))
    p.drawRoundedRect(pix.rect().adjusted(1, 1, -1, -1), 6, 6)
    if state is State.FAILED:
        icon = style.standardIcon(QStyle.SP_MessageBoxWarning).pixmap(32, 32)
        p.drawPixmap((pix.width() - 32) // 2, (pix.height() - 32) // 2, icon)
    p.end()
    return QIcon(pix)


class ItemList(QListWidget):
    """The list of items, in the order they were added; one row per Item."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        # rows wrap, so a status is never cut off ("Done in 1.03 s · 75 fra…"); wrapped rows
        # differ in height and follow the list's width
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setResizeMode(QListWidget.Adjust)
        self.setTextElideMode(Qt.ElideNone)
        self.setAcceptDrops(False)  # drops go to the window, which handles them everywhere
        self.setMinimumWidth(220)
        self._rows: dict[int, QListWidgetItem] = {}
        self._icons: dict[State, QIcon] = {}

    def add(self, item: Item) -> None:
        """Append a row for the item."""
        row = QListWidgetItem()
        row.setData(ID_ROLE, item.id)
        self._rows[item.id] = row
        self.addItem(row)
        self.refresh(item)

    def refresh(self, item: Item) -> None:
        """Redraw the item's row after a change."""
        row = self._rows.get(item.id)
        if row is None:
            return
        # (a name breaks anywhere; a status only inside words too long for the narrowest list)
        row.setText(f"{_breakable(item.name)}\n{_breakable(item.status(), separators=False, run=14)}")
        row.setToolTip(tooltip(item.name if item.pasted else str(item.path), item.status()))
        if item.thumbnail is not None and item.state is State.DONE:
            row.setIcon(QIcon(QPixmap.fromImage(item.thumbnail)))
        else:
            key = State.FAILED if item.state is State.FAILED else State.WAITING
            if key not in self._icons:
                self._icons[key] = _placeholder(self.style(), key)
            row.setIcon(self._icons[key])
        row.setForeground(ERROR_COLOUR if item.state is State.FAILED else self.palette().text().color())

    def remove(self, item_id: int) -> None:
        """Remove the item's row."""
        row = self._rows.pop(item_id, None)
        if row is not None:
            self.takeItem(self.row(row))

    def clear_all(self) -> None:
        """Remove every row."""
        self._rows.clear()
        self.clear()

    def current_id(self) -> int | None:
        """The selected item's id, if any."""
        row = self.currentItem()
        return None if row is None else row.data(ID_ROLE)

    def select(self, item_id: int) -> None:
        """Make the item the selected one."""
        row = self._rows.get(item_id)
        if row is not None:
            self.setCurrentItem(row)
            self.scrollToItem(row)

    def ids(self) -> list[int]:
        """Item ids in display order."""
        return [self.item(i).data(ID_ROLE) for i in range(self.count())]
