"""Which colorized images keep their full-resolution data in memory.

A Prediction holds the full-resolution luminance (4 bytes a pixel), the source samples and the
network's bin distribution; with the before and after images for display (4 bytes a pixel each),
a 12-megapixel photo costs about 150 MB. Two hundred of those do not fit in memory, and keeping
only the rendered results would still be 7 GB. So the most recently viewed items keep everything,
up to a byte budget (the selected item always), and the others keep just their thumbnail:
selecting or saving one of those runs the network on its file again, which takes a fraction of a
second and is cheaper than swapping. Rendered results are never kept apart from the display copy:
the Prediction re-renders any vividness without the network.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from PyQt5.QtGui import QImage

from engine import Prediction

DEFAULT_BUDGET = 1 << 30  # bytes: about six 12 MP photos, or forty 2 MP scans


@dataclass
class Entry:
    prediction: Prediction
    before: QImage       # the source as shown
    after: QImage        # the result as shown, at the item's current vividness
    preview: Prediction | None = None  # a screen-sized copy for dragging the slider (see preview.py)
    hints: tuple = ()    # the hint points the prediction was made with

    @property
    def nbytes(self) -> int:
        """Memory held by this entry, roughly."""
        return (_prediction_bytes(self.prediction) + self.before.sizeInBytes() + self.after.sizeInBytes()
                + (_prediction_bytes(self.preview) if self.preview is not None else 0))


def _prediction_bytes(p: Prediction) -> int:
    c = p.canvas
    arrays = [p.logits, c.luminance, c.fine, c.picture.samples] + ([c.picture.alpha] if c.picture.alpha is not None else [])
    return sum(a.nbytes for a in {id(a): a for a in arrays}.values())  # a grey photo's Y is its samples


class PredictionCache:
    """Least-recently-used entries by item id, evicted beyond a byte budget."""

    def __init__(self, budget: int = DEFAULT_BUDGET):
        self.budget = budget
        self._entries: OrderedDict[int, Entry] = OrderedDict()

    def __contains__(self, item_id: int) -> bool:
        return item_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Memory held by all entries, roughly."""
        return sum(e.nbytes for e in self._entries.values())

    def get(self, item_id: int) -> Entry | None:
        """The entry, marked as just used; None if there is none."""
        if item_id in self._entries:
            self._entries.move_to_end(item_id)
        return self._entries.get(item_id)

    def peek(self, item_id: int) -> Entry | None:
        """The entry without marking it used."""
        return self._entries.get(item_id)

    def put(self, item_id: int, entry: Entry, keep=()) -> list[int]:
        """Store an entry, then evict the oldest others (except those in keep) down to the budget;
        returns the evicted ids."""
        self._entries[item_id] = entry
        self._entries.move_to_end(item_id)
        protected = {item_id, *keep}
        evicted, total = [], self.nbytes
        for old in list(self._entries):
            if total <= self.budget:
                break
            if old not in protected:
                total -= self._entries.pop(old).nbytes
                evicted.append(old)
        return evicted

    def drop(self, item_id: int) -> None:
        """Forget an item's entry, if any."""
        self._entries.pop(item_id, None)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
