"""Hint mode: the user's colour hint points on a photo, each change undoable, and the popup that
offers the network's own colour suggestions for a point.

A photo's points are a tuple of engine Hints on its Item (`item.hints`), never changed in place:
every change is one undo command holding the tuples before and after, so undo and redo are a swap
and jobs can copy the tuple to the worker thread as it is. Each photo has its own undo stack; the
Undo and Redo commands act on the selected photo's. Whoever owns the history is told of every
change (`changed(item)`) and reruns the network with the new points.
"""
from __future__ import annotations

from typing import Callable

from PyQt5.QtCore import QObject, QPoint
from PyQt5.QtWidgets import QUndoCommand, QUndoGroup, QUndoStack

from engine import Hint, Prediction

from .compare_view import CompareView
from .items import Item
from .swatches import SwatchPopup

SUGGESTIONS = 6   # colours offered for a point (the network's most likely distinct ones)


class _Change(QUndoCommand):
    """One change of a photo's points: redo sets the tuple after, undo the one before."""

    def __init__(self, text: str, item: Item, after: tuple[Hint, ...], changed: Callable[[Item], None]):
        super().__init__(text)
        self.item, self.before, self.after, self.changed = item, item.hints, after, changed

    def redo(self):
        self.item.hints = self.after
        self.changed(self.item)

    def undo(self):
        self.item.hints = self.before
        self.changed(self.item)


class HintHistory(QUndoGroup):
    """The points' changes, one undo stack per photo; createUndoAction/createRedoAction follow the
    selected photo's stack."""

    def __init__(self, changed: Callable[[Item], None], parent: QObject | None = None):
        super().__init__(parent)
        self.changed = changed
        self._stacks: dict[int, QUndoStack] = {}

    def select(self, item: Item | None) -> None:
        """Undo and Redo now act on this photo's changes (None: on nothing)."""
        self.setActiveStack(None if item is None else self._stack(item))

    def forget(self, item_id: int) -> None:
        """Drop a removed photo's history."""
        stack = self._stacks.pop(item_id, None)
        if stack is not None:
            self.removeStack(stack)
            stack.deleteLater()

    def clear(self, item: Item) -> None:
        """Remove a photo's points and their history (weights without hint inputs were loaded):
        an undo would bring back points that no longer apply."""
        if item.id in self._stacks:
            self._stacks[item.id].clear()
        item.hints = ()

    def add(self, item: Item, hint: Hint) -> None:
        self._push("Add Hint", item, item.hints + (hint,))

    def move(self, item: Item, index: int, x: int, y: int) -> None:
        old = item.hints[index]
        self._push("Move Hint", item, _replaced(item.hints, index, Hint(x, y, old.rgb)))

    def recolour(self, item: Item, index: int, rgb: tuple[int, int, int]) -> None:
        old = item.hints[index]
        self._push("Recolour Hint", item, _replaced(item.hints, index, Hint(old.x, old.y, rgb)))

    def remove(self, item: Item, index: int) -> None:
        self._push("Remove Hint", item, item.hints[:index] + item.hints[index + 1:])

    def _push(self, text: str, item: Item, after: tuple[Hint, ...]) -> None:
        self._stack(item).push(_Change(text, item, after, self.changed))  # push runs redo(): the change

    def _stack(self, item: Item) -> QUndoStack:
        if item.id not in self._stacks:
            self._stacks[item.id] = QUndoStack(self)  # (a QUndoStack made with its group as parent joins it)
        return self._stacks[item.id]


def _replaced(hints: tuple[Hint, ...], index: int, hint: Hint) -> tuple[Hint, ...]:
    return hints[:index] + (hint,) + hints[index + 1:]


class HintEditor(QObject):
    """Hint mode's clicks and drags on the view (compare_view.py says what the mouse did) become
    changes in the history: a click asks for a colour in the swatch popup, then adds a point (or
    recolours the one clicked); a drag moves a point; a right-click or Delete removes one."""

    def __init__(self, *, view: CompareView, history: HintHistory, popup: SwatchPopup,
                 current: Callable[[], Item | None], prediction: Callable[[Item], Prediction | None]):
        """current is the selected item; prediction(item) what it shows (None when nothing is)."""
        super().__init__(view)
        self.view, self.history, self.popup = view, history, popup
        self.current, self.prediction = current, prediction
        self._target: tuple[int, int, int, int | None] | None = None  # (item id, x, y, point) the popup is for
        view.hint_clicked.connect(self._clicked)
        view.hint_moved.connect(lambda index, x, y: self._edit(lambda item: self.history.move(item, index, x, y)))
        view.hint_removed.connect(lambda index: self._edit(lambda item: self.history.remove(item, index)))
        popup.chosen.connect(self._chosen)

    def remove_selected(self) -> None:
        """Delete: remove the point selected in the view."""
        index = self.view.selected_hint
        if index is not None:
            self._edit(lambda item: self.history.remove(item, index))

    def _edit(self, change: Callable[[Item], None]) -> None:
        item = self.current()
        if item is not None:
            change(item)

    def _clicked(self, x: int, y: int, index) -> None:
        """A click on the photo (x, y in its pixels) on an empty spot (index None) or on a point:
        offer the colours the network considered there."""
        item = self.current()
        prediction = None if item is None else self.prediction(item)
        if prediction is None:
            return
        if index is not None:
            x, y = item.hints[index].x, item.hints[index].y  # the point's own pixel
        self._target = (item.id, x, y, index)
        colours = prediction.suggestions(x, y, k=SUGGESTIONS)
        current = None if index is None else item.hints[index].rgb
        at = self.view.mapToGlobal(self.view.widget_point(x + 0.5, y + 0.5).toPoint() + QPoint(12, 12))
        self.popup.offer(colours, current, at)

    def _chosen(self, rgb: tuple[int, int, int]) -> None:
        item = self.current()
        if self._target is None or item is None or item.id != self._target[0]:
            return  # another photo was selected meanwhile
        _, x, y, index = self._target
        self._target = None
        if index is None:
            self.history.add(item, Hint(x, y, rgb))
            self.view.select_hint(len(item.hints) - 1)
        else:
            self.history.recolour(item, index, rgb)
