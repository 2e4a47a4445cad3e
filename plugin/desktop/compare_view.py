"""The before/after view of one image: a draggable split line, zoom (fit, 100 %, wheel) and pan.

Left of the split line is the original, right of it the colorized result, both drawn at the same
zoom and offset so that the line slides over one picture. Coordinates: `origin` is where the
image's top-left pixel lands in the widget, `zoom` is widget pixels per image pixel; image pixel
(x, y) covers the widget square from origin + (x, y) * zoom to origin + (x + 1, y + 1) * zoom.

In hint mode the result side also shows the photo's colour hint points and takes them: a click on
the photo, a drag or a right-click on a point are reported as signals (hints.py turns them into
undoable changes); the original's side, the split line, the wheel and the middle button work as
always.
"""
from __future__ import annotations

import math

from PyQt5.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PyQt5.QtWidgets import QWidget

BACKGROUND = QColor(38, 38, 40)
HANDLE_GRAB = 10          # pixels either side of the split line that grab it rather than pan
ZOOM_MIN, ZOOM_MAX = 0.02, 32.0
WHEEL_STEP = 1.25         # zoom factor per wheel notch
HINT_RADIUS = 6           # a hint point's circle, in widget pixels at any zoom
HINT_GRAB = HINT_RADIUS + 4   # how near a press must be to take a point rather than add one
DRAG_START = 3            # widget pixels a point must be dragged before it moves (a click recolours)


class CompareView(QWidget):
    """Shows one image before and after colorization, or a message when there is none."""

    zoom_changed = pyqtSignal(float, bool)   # zoom, whether it is the fit-to-window zoom
    split_changed = pyqtSignal(float)
    hint_clicked = pyqtSignal(int, int, object)  # image pixel x, y; the point clicked, or None for a free spot
    hint_moved = pyqtSignal(int, int, int)       # point, new x, y
    hint_removed = pyqtSignal(int)               # point

    def __init__(self, parent=None):
        super().__init__(parent)
        self.before: QImage | None = None
        self.after: QImage | None = None
        self.split = 0.5                   # split line position, fraction of the widget width
        self.zoom = 1.0
        self.fit = True                    # follow the window size until the user zooms
        self.origin = QPointF(0, 0)
        self.message = ""                  # shown instead of images ("" = the drop hint)
        self.message_is_error = False
        self.drop_highlight = False
        self._scaled: dict[str, tuple[float, QImage]] = {}  # downscaled copies for zoom < 1
        self._drag: str | None = None      # "split", "pan", "add" or "hint" while a mouse button is down
        self._press = QPointF()
        self._press_origin = QPointF()
        self.hint_mode = False
        self.hints: tuple = ()             # engine Hints of the photo shown, drawn in hint mode
        self.selected_hint: int | None = None
        self._press_pixel: tuple[int, int] | None = None  # "add": the pixel pressed
        self._moved_to: tuple[int, int] | None = None     # "hint": where the dragged point is now
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMinimumSize(320, 240)
        self.setAutoFillBackground(False)

    # --- what is shown ---------------------------------------------------------------------

    def set_images(self, before: QImage, after: QImage, keep_view: bool = False) -> None:
        """Show a new pair; keep_view keeps zoom and pan when the size is unchanged."""
        same_size = self.before is not None and before.size() == self.before.size()
        self.before, self.after = before, after
        self.message = ""
        self._scaled.clear()
        if keep_view and same_size and not self.fit:
            self._clamp()
        else:
            self.zoom_fit()
        self.update()

    def set_after(self, after: QImage) -> None:
        """Replace the colorized side only (a new vividness), keeping zoom and pan. A smaller image
        of the same shape (a preview while the vividness slider is dragged) is shown scaled up."""
        if self.before is None or after.width() > self.before.width() or after.height() > self.before.height():
            return
        self.after = after
        self._scaled.pop("after", None)
        self.update()

    def show_message(self, text: str, error: bool = False) -> None:
        """Show a message instead of images ("" shows the drop hint)."""
        self.before = self.after = None
        self._scaled.clear()
        self.message, self.message_is_error = text, error
        self.update()

    def set_drop_highlight(self, on: bool) -> None:
        """Highlight the view while files are dragged over the window."""
        self.drop_highlight = on
        self.update()

    def set_hint_mode(self, on: bool) -> None:
        """Show and take hint points on the result side, or not."""
        self.hint_mode = on
        self.update()

    def set_hints(self, hints: tuple) -> None:
        """The points to draw; the selection goes when its point does."""
        self.hints = hints
        if self.selected_hint is not None and self.selected_hint >= len(hints):
            self.selected_hint = None
        self.update()

    def select_hint(self, index: int | None) -> None:
        """Mark a point as the one Delete removes."""
        self.selected_hint = index
        self.update()

    @property
    def has_images(self) -> bool:
        """True when a before/after pair is shown."""
        return self.before is not None and self.after is not None

    # --- zoom and pan ----------------------------------------------------------------------

    def fit_zoom(self) -> float:
        """The zoom at which the whole image fits the widget (never above 100 %)."""
        if self.before is None:
            return 1.0
        w, h = self.before.width(), self.before.height()
        return min(1.0, self.width() / w, self.height() / h)

    def zoom_fit(self) -> None:
        """Fit the whole image in the widget."""
        self.fit = True
        self._set_zoom(self.fit_zoom(), QPointF(self.width() / 2, self.height() / 2))

    def zoom_100(self, anchor: QPointF | None = None) -> None:
        """One image pixel per screen pixel, keeping the point under anchor (default: centre) still."""
        self.fit = False
        self._set_zoom(1.0, anchor)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom in (factor > 1) or out, keeping the point under anchor (default: centre) still."""
        self.fit = False
        self._set_zoom(self.zoom * factor, anchor)

    def _set_zoom(self, zoom: float, anchor: QPointF | None) -> None:
        if self.before is None:
            return
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        zoom = max(min(ZOOM_MIN, self.fit_zoom()), min(ZOOM_MAX, zoom))
        image_point = (anchor - self.origin) / self.zoom  # the image pixel under the anchor
        self.zoom = zoom
        self.origin = anchor - image_point * zoom
        self._clamp()
        self.update()
        self.zoom_changed.emit(self.zoom, self.fit)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by this many widget pixels (within what keeps it on screen)."""
        self.origin += QPointF(dx, dy)
        self._clamp()
        self.update()

    def _clamp(self) -> None:
        """Centre the image along an axis where it is smaller than the widget, else keep the
        widget covered so that panning never loses the picture."""
        if self.before is None:
            return
        x, y = self.origin.x(), self.origin.y()
        w, h = self.before.width() * self.zoom, self.before.height() * self.zoom
        # centred on whole pixels, so that at 100 % every image pixel lands on one screen pixel
        x = round((self.width() - w) / 2) if w <= self.width() else min(0.0, max(self.width() - w, x))
        y = round((self.height() - h) / 2) if h <= self.height() else min(0.0, max(self.height() - h, y))
        self.origin = QPointF(x, y)

    def image_rect(self) -> QRectF:
        """Where the image is drawn, in widget coordinates."""
        if self.before is None:
            return QRectF()
        return QRectF(self.origin, QPointF(self.origin.x() + self.before.width() * self.zoom,
                                           self.origin.y() + self.before.height() * self.zoom))

    def image_pixel(self, pos: QPointF, clamp: bool = False) -> tuple[int, int] | None:
        """The image pixel under a widget position: None outside the image, or with clamp the
        nearest pixel on its edge."""
        if self.before is None:
            return None
        x = math.floor((pos.x() - self.origin.x()) / self.zoom)
        y = math.floor((pos.y() - self.origin.y()) / self.zoom)
        w, h = self.before.width(), self.before.height()
        if clamp:
            return min(max(x, 0), w - 1), min(max(y, 0), h - 1)
        return (x, y) if 0 <= x < w and 0 <= y < h else None

    def widget_point(self, x: float, y: float) -> QPointF:
        """Where image coordinates land in the widget (a pixel's centre is x + 0.5, y + 0.5)."""
        return self.origin + QPointF(x, y) * self.zoom

    def split_x(self) -> float:
        """The split line's position in widget pixels."""
        return self.split * self.width()

    def set_split(self, fraction: float) -> None:
        """Move the split line (0 = all after, 1 = all before)."""
        self.split = min(1.0, max(0.0, fraction))
        self.update()
        self.split_changed.emit(self.split)

    # --- painting --------------------------------------------------------------------------

    def _display(self, key: str, image: QImage) -> tuple[QImage, float]:
        """The image to draw and its pixels per pixel of the original: below 100 % a smoothly
        downscaled copy, made once per zoom level, so that dragging the split line or panning stays
        cheap on 12 MP photos. A preview smaller than the original is drawn as it is."""
        full = self.before.width()
        w = max(1, round(full * self.zoom))
        if self.zoom >= 1.0 or image.width() <= w:
            return image, image.width() / full
        cached = self._scaled.get(key)
        if cached is None or cached[0] != self.zoom:
            h = max(1, round(self.before.height() * self.zoom))
            cached = (self.zoom, image.scaled(w, h, Qt.IgnoreAspectRatio, Qt.SmoothTransformation))
            self._scaled[key] = cached
        return cached[1], cached[1].width() / full

    def _draw_image(self, painter: QPainter, key: str, image: QImage, clip: QRectF) -> None:
        shown, own_scale = self._display(key, image)
        target = self.image_rect().intersected(clip)
        if target.isEmpty():
            return
        # only the visible part is drawn: at 800 % a 12 MP photo is never scaled as a whole
        k = own_scale / self.zoom
        source = QRectF((target.topLeft() - self.origin) * k, target.size() * k)
        painter.drawImage(target, shown, source)

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if not self.has_images:
            self._paint_message(painter)
            return
        painter.setRenderHint(QPainter.SmoothPixmapTransform, self.zoom < 1.0 or self.after.size() != self.before.size())
        x = self.split_x()
        self._draw_image(painter, "before", self.before, QRectF(0, 0, x, self.height()))
        self._draw_image(painter, "after", self.after, QRectF(x, 0, self.width() - x, self.height()))
        painter.setRenderHint(QPainter.Antialiasing)
        if self.hint_mode and self.hints:
            self._paint_hints(painter, x)
        self._paint_labels(painter, x)
        self._paint_handle(painter, x)
        if self.drop_highlight:
            self._paint_drop_frame(painter)

    def _paint_handle(self, painter: QPainter, x: float) -> None:
        painter.setPen(QPen(QColor(0, 0, 0, 110), 4))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.setPen(QPen(Qt.white, 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        c = QPointF(x, self.height() / 2)
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.setPen(QPen(QColor(0, 0, 0, 120), 1))
        painter.drawEllipse(c, 16, 16)
        painter.setBrush(QColor(60, 60, 60))
        painter.setPen(Qt.NoPen)
        for sign in (-1, 1):  # two small arrows: the knob drags sideways
            arrow = QPainterPath(c + QPointF(sign * 11, 0))
            arrow.lineTo(c + QPointF(sign * 4, -6))
            arrow.lineTo(c + QPointF(sign * 4, 6))
            arrow.closeSubpath()
            painter.drawPath(arrow)

    def _paint_hints(self, painter: QPainter, x: float) -> None:
        """Each point as a circle of its colour, ringed dark and light so it shows on any photo;
        only over the result, where the colour it asks for can be compared."""
        painter.save()
        painter.setClipRect(QRectF(x, 0, self.width() - x, self.height()))
        for n, hint in enumerate(self.hints):
            px, py = self._moved_to if n == self.selected_hint and self._moved_to else (hint.x, hint.y)
            centre = self.widget_point(px + 0.5, py + 0.5)
            r = HINT_RADIUS + 2 * (n == self.selected_hint)
            painter.setBrush(QColor(*hint.rgb))
            painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
            painter.drawEllipse(centre, r, r)
            painter.setBrush(Qt.NoBrush)
            painter.setPen(QPen(self.palette().highlight().color() if n == self.selected_hint else Qt.white, 1.5))
            painter.drawEllipse(centre, r, r)
        painter.restore()

    def _paint_labels(self, painter: QPainter, x: float) -> None:
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        for text, visible, left in (("Before", x, True), ("After", self.width() - x, False)):
            w = metrics.horizontalAdvance(text) + 16
            if visible < w + 24:  # not enough room on that side of the line
                continue
            box = QRectF(x - 12 - w if left else x + 12, 12, w, metrics.height() + 8)
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor(0, 0, 0, 150))
            painter.drawRoundedRect(box, 5, 5)
            painter.setPen(Qt.white)
            painter.drawText(box, Qt.AlignCenter, text)

    def _paint_drop_frame(self, painter: QPainter) -> None:
        painter.setBrush(Qt.NoBrush)
        pen = QPen(self.palette().highlight().color(), 3, Qt.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(12, 12, -12, -12), 14, 14)

    def _paint_message(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        box = QRectF(self.rect()).adjusted(24, 24, -24, -24)
        if not self.message or self.drop_highlight:
            colour = self.palette().highlight().color() if self.drop_highlight else QColor(110, 110, 115)
            painter.setPen(QPen(colour, 2, Qt.DashLine))
            painter.setBrush(QColor(255, 255, 255, 12) if self.drop_highlight else Qt.NoBrush)
            painter.drawRoundedRect(box, 16, 16)
        if self.message and not self.drop_highlight:
            title, detail = self.message, ""
            colour = QColor(240, 128, 120) if self.message_is_error else QColor(215, 215, 220)
        else:
            title = "Drop black-and-white photos or folders here"
            detail = "or File ▸ Open… (Ctrl+O), or paste an image (Ctrl+V)"
            colour = QColor(215, 215, 220)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        painter.setFont(font)
        painter.setPen(colour)
        text_box = box.adjusted(24, 0, -24, -40 if detail else 0)
        painter.drawText(text_box, Qt.AlignCenter | Qt.TextWordWrap, title)
        if detail:
            painter.setFont(self.font())
            painter.setPen(QColor(160, 160, 165))
            painter.drawText(box.adjusted(24, 50, -24, 0), Qt.AlignCenter | Qt.TextWordWrap, detail)

    # --- mouse and keys --------------------------------------------------------------------

    def _near_split(self, pos: QPointF) -> bool:
        return abs(pos.x() - self.split_x()) <= HANDLE_GRAB

    def _can_pan(self) -> bool:
        r = self.image_rect()
        return r.width() > self.width() + 0.5 or r.height() > self.height() + 0.5

    def _on_result_side(self, pos: QPointF) -> bool:
        return self.hint_mode and self.has_images and pos.x() >= self.split_x() and not self._near_split(pos)

    def _hint_at(self, pos: QPointF) -> int | None:
        """The point under a widget position (the topmost, drawn last), if any."""
        for n in reversed(range(len(self.hints))):
            centre = self.widget_point(self.hints[n].x + 0.5, self.hints[n].y + 0.5)
            if math.hypot(pos.x() - centre.x(), pos.y() - centre.y()) <= HINT_GRAB:
                return n
        return None

    def _hint_press(self, event) -> bool:
        """Hint mode on the result side: take a point (left: to drag or recolour it; right: to
        remove it) or a free pixel of the photo (left: to add a point). False when it was none."""
        pos = event.localPos()
        index = self._hint_at(pos)
        if event.button() == Qt.RightButton and index is not None:
            self.hint_removed.emit(index)
        elif event.button() == Qt.LeftButton and index is not None:
            self.select_hint(index)
            self._drag, self._press, self._moved_to = "hint", pos, None
        elif event.button() == Qt.LeftButton and self.image_pixel(pos) is not None:
            self._drag, self._press_pixel = "add", self.image_pixel(pos)
        else:
            return False
        return True

    def _hint_release(self) -> None:
        """The end of a press taken by _hint_press: report what it did."""
        if self._drag == "add":
            self.hint_clicked.emit(*self._press_pixel, None)
        elif self.selected_hint is None:  # its point went meanwhile (an undo while dragging)
            self._moved_to = None
        elif self._moved_to is None:  # a point clicked, not dragged
            hint = self.hints[self.selected_hint]
            self.hint_clicked.emit(hint.x, hint.y, self.selected_hint)
        else:
            moved_to, self._moved_to = self._moved_to, None
            hint = self.hints[self.selected_hint]
            if moved_to != (hint.x, hint.y):
                self.hint_moved.emit(self.selected_hint, *moved_to)
            self.update()

    def mousePressEvent(self, event):
        if self._on_result_side(event.localPos()) and self._hint_press(event):
            event.accept()
            return
        if not self.has_images or event.button() not in (Qt.LeftButton, Qt.MiddleButton):
            return super().mousePressEvent(event)
        pos = QPointF(event.pos())
        if event.button() == Qt.LeftButton and self._near_split(pos):
            self._drag = "split"
        elif not self._can_pan() and event.button() == Qt.LeftButton:
            self._drag = "split"  # nothing to pan: a click anywhere moves the line there
            self.set_split(pos.x() / max(1, self.width()))
        else:
            self._drag = "pan"
            self._press, self._press_origin = pos, QPointF(self.origin)
            self.setCursor(Qt.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event):
        pos = QPointF(event.pos())
        if self._drag == "hint":
            if self._moved_to is not None or (event.localPos() - self._press).manhattanLength() >= DRAG_START:
                self._moved_to = self.image_pixel(event.localPos(), clamp=True)
                self.update()
        elif self._drag in ("add", None) and self._on_result_side(pos):
            self.setCursor(Qt.PointingHandCursor if self._hint_at(event.localPos()) is not None else Qt.CrossCursor)
        elif self._drag == "split":
            self.set_split(pos.x() / max(1, self.width()))
        elif self._drag == "pan":
            self.origin = self._press_origin + (pos - self._press)
            self._clamp()
            self.update()
        elif self.has_images:
            self.setCursor(Qt.SplitHCursor if self._near_split(pos) or not self._can_pan() else Qt.OpenHandCursor)
        else:
            self.unsetCursor()

    def mouseReleaseEvent(self, event):
        if self._drag in ("add", "hint"):
            self._hint_release()
        self._drag = None
        self.mouseMoveEvent(event)  # back to the hover cursor

    def mouseDoubleClickEvent(self, event):
        """Double-click: 100 % at that point, or back to fit (in hint mode, on the original's side)."""
        if not self.has_images or self._on_result_side(event.localPos()):
            return
        if self.fit or abs(self.zoom - 1.0) > 1e-6:
            self.zoom_100(QPointF(event.pos()))
        else:
            self.zoom_fit()

    def wheelEvent(self, event):
        if not self.has_images:
            return
        notches = event.angleDelta().y() / 120
        if notches:
            self.zoom_by(WHEEL_STEP ** notches, QPointF(event.pos()))
        event.accept()

    def keyPressEvent(self, event):
        step = 40
        moves = {Qt.Key_Left: (step, 0), Qt.Key_Right: (-step, 0), Qt.Key_Up: (0, step), Qt.Key_Down: (0, -step)}
        if self.has_images and event.key() in moves:
            self.pan_by(*moves[event.key()])
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event):
        if self.fit:
            self.zoom_fit()
        else:
            self._clamp()
        super().resizeEvent(event)
