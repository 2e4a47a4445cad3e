"""Hint mode, hint sidecars and the reference photo in the desktop app: a real Qt event loop,
offscreen, with a small random model that takes hints.

As in test_app.py, every result is checked against the engine's own output for the same file,
hints and reference, so a view or a file that ignores them cannot pass.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

import json  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PyQt5.QtCore import QEvent, QPoint, QPointF, Qt  # noqa: E402
from PyQt5.QtGui import QColor, QImage, QMouseEvent  # noqa: E402
from PyQt5.QtTest import QTest  # noqa: E402
from PyQt5.QtWidgets import QApplication, QColorDialog, QFileDialog  # noqa: E402

from engine import Colorizer, Hint  # noqa: E402
from plugin.desktop.compare_view import CompareView  # noqa: E402
from plugin.desktop.sidecar import read_sidecar, restore, restored_note, sidecar_of, write_sidecar  # noqa: E402
from test_app import TIMEOUT_MS, count_runs, drop, expected, grey_file, rgb, wait_idle  # noqa: E402
from test_app import delete_closed_windows, make_window, settings  # noqa: E402,F401 (fixtures)

SIZE = (120, 90)


@pytest.fixture(scope="module")
def hint_weights(hint_weights_dir):
    return hint_weights_dir


@pytest.fixture(scope="module")
def engine(hint_weights):
    return Colorizer(hint_weights, backend="onnx")


@pytest.fixture
def hwin(make_window, hint_weights):
    return make_window(weights=hint_weights)


# --- helpers -----------------------------------------------------------------------------------

def result_of(engine, path, hints=(), reference=None, strength=0.5, temperature=None) -> np.ndarray:
    """What the engine itself makes of this file with these hints and reference."""
    pred = engine.predict(path, hints=list(hints) or None)
    return np.asarray(pred.with_reference(reference, strength).render(temperature).convert("RGB"))


def open_photo(qtbot, win, path):
    """Drop a photo, wait for its result, and edit its hints."""
    drop(win, [path])
    wait_idle(qtbot, win)
    return edit_hints(win)


def edit_hints(win):
    """Hint mode on, and only the result side shown; returns the selected item."""
    win.activateWindow()  # (shortcuts such as Ctrl+Z act in the active window only)
    QTest.qWaitForWindowActive(win)
    if not win.commands.hints.isChecked():
        win.commands.hints.trigger()
    win.view.set_split(0.0)  # (the line at the left edge: the whole photo is the result side)
    assert win.view.hint_mode
    return win.current_item()


def at(view, x, y):
    """A widget position (whole widget pixels, as mouse events have) inside image pixel (x, y)."""
    centre = view.widget_point(x + 0.5, y + 0.5)  # (toPoint would round x.5 up: the next pixel at 100 %)
    return QPoint(math.floor(centre.x()), math.floor(centre.y()))


def choose(qtbot, win, swatch=1):
    """Pick a swatch in the open popup; returns its colour."""
    popup = win.hint_editor.popup
    qtbot.waitUntil(popup.isVisible, timeout=TIMEOUT_MS)
    qtbot.wait(20)  # a user takes a moment (the offscreen platform's activation of the popup comes now)
    colour = popup.colours[swatch]
    popup.swatches[swatch].click()
    assert not popup.isVisible()
    return colour


def add_hint(qtbot, win, x, y, swatch=1):
    """Click pixel (x, y) of the result, pick a swatch, wait for the rerun; returns the colour."""
    qtbot.mouseClick(win.view, Qt.LeftButton, pos=at(win.view, x, y))
    colour = choose(qtbot, win, swatch)
    wait_idle(qtbot, win)
    return colour


def drag(qtbot, widget, start, end, button=Qt.LeftButton):
    """Press, move with the button held (QTest's mouseMove carries no buttons), release."""
    qtbot.mousePress(widget, button, pos=start)
    for t in (0.5, 1.0):
        p = QPointF(start) + (QPointF(end) - QPointF(start)) * t
        QApplication.sendEvent(widget, QMouseEvent(QEvent.MouseMove, p, Qt.NoButton, button, Qt.NoModifier))
    qtbot.mouseRelease(widget, button, pos=end)


def shown(win) -> np.ndarray:
    return rgb(win.view.after)


def red_photo(path, size=(64, 48)):
    y, x = np.mgrid[0:size[1], 0:size[0]]
    arr = np.dstack([200 + (x % 40), 20 + (y % 20), 30 + 0 * x]).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


# --- hint mode ---------------------------------------------------------------------------------

def test_hint_mode_needs_weights_that_take_hints(make_window, qtbot, tmp_path):
    win = make_window()  # the plain test weights
    drop(win, [grey_file(tmp_path / "a.png")])
    wait_idle(qtbot, win)
    hints = win.commands.hints
    assert not hints.isEnabled() and "take no colour hints" in hints.toolTip()
    hints.trigger()  # (a disabled action does nothing)
    win.view.set_split(0.0)
    qtbot.mouseClick(win.view, Qt.LeftButton, pos=at(win.view, 30, 40))
    assert not win.view.hint_mode and not win.hint_editor.popup.isVisible() and win.current_item().hints == ()


def test_click_adds_a_point_undo_removes_it_redo_restores_it(hwin, qtbot, tmp_path, engine):
    win = hwin
    assert win.commands.hints.isEnabled() and "take no colour hints" not in win.commands.hints.toolTip()
    path = grey_file(tmp_path / "photo.png", size=SIZE)
    runs = count_runs(win)
    item = open_photo(qtbot, win, path)
    plain = shown(win)
    assert np.array_equal(plain, result_of(engine, path))

    qtbot.mouseClick(win.view, Qt.LeftButton, pos=at(win.view, 30, 40))
    prediction = win.cache.peek(item.id).prediction
    assert win.hint_editor.popup.colours == prediction.suggestions(30, 40, k=6)  # the network's own palette
    colour = choose(qtbot, win)
    wait_idle(qtbot, win)
    assert item.hints == (Hint(30, 40, colour),) and runs.calls == 2
    hinted = shown(win)
    assert np.array_equal(hinted, result_of(engine, path, item.hints)) and not np.array_equal(hinted, plain)
    assert win.view.selected_hint == 0 and win.view.hints == item.hints

    qtbot.keyClick(win, Qt.Key_Z, Qt.ControlModifier)  # undo
    wait_idle(qtbot, win)
    assert item.hints == () and np.array_equal(shown(win), plain) and win.view.hints == ()
    qtbot.keyClick(win, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)  # redo
    wait_idle(qtbot, win)
    assert item.hints == (Hint(30, 40, colour),) and np.array_equal(shown(win), hinted)
    assert win.commands.undo.text() == "Undo Add Hint"

    # a point drawn on the result: a circle of its colour at its pixel
    win.view.select_hint(None)
    shot = rgb(win.view.grab().toImage())
    centre = at(win.view, 30, 40)
    assert np.abs(shot[centre.y(), centre.x()].astype(int) - colour).max() <= 2


def test_a_click_lands_on_its_pixel_at_any_zoom(hwin, qtbot, tmp_path):
    win = hwin
    item = open_photo(qtbot, win, grey_file(tmp_path / "photo.png", size=SIZE))
    win.view.zoom_by(3.3, QPointF(200, 100))  # zoomed and shifted: not whole widget pixels per image pixel
    assert not win.view.fit and win.view.zoom == pytest.approx(3.3)
    origin = QPointF(win.view.origin)
    pos = at(win.view, 61, 47)
    qtbot.mouseClick(win.view, Qt.LeftButton, pos=pos)
    choose(qtbot, win)
    wait_idle(qtbot, win)
    assert (item.hints[0].x, item.hints[0].y) == win.view.image_pixel(QPointF(pos)) == (61, 47)
    assert win.view.zoom == pytest.approx(3.3) and win.view.origin == origin  # the rerun kept the view


def test_view_maps_widget_positions_to_image_pixels_exactly(qtbot):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    image = QImage(800, 600, QImage.Format_RGB32)
    image.fill(Qt.gray)
    view.set_images(image, image)
    for zoom in (None, 1.0, 2.7, 0.31):
        if zoom is not None:
            view.zoom_by(zoom / view.zoom, QPointF(123, 77))
        for x, y in ((0, 0), (799, 599), (401, 33), (17, 588)):
            for dx, dy in ((0.5, 0.5), (0.01, 0.01), (0.99, 0.99), (0.01, 0.99)):  # anywhere in the pixel
                assert view.image_pixel(view.widget_point(x + dx, y + dy)) == (x, y)
        assert view.image_pixel(view.widget_point(-0.01, 5)) is None
        assert view.image_pixel(view.widget_point(800, 5)) is None
        assert view.image_pixel(view.widget_point(900, -40), clamp=True) == (799, 0)


def test_drag_moves_a_point_delete_and_right_click_remove_one(hwin, qtbot, tmp_path, engine):
    win = hwin
    path = grey_file(tmp_path / "photo.png", size=SIZE)
    item = open_photo(qtbot, win, path)
    colour = add_hint(qtbot, win, 30, 40)

    drag(qtbot, win.view, at(win.view, 30, 40), at(win.view, 80, 20))
    wait_idle(qtbot, win)
    assert item.hints == (Hint(80, 20, colour),)
    assert np.array_equal(shown(win), result_of(engine, path, item.hints))
    assert win.commands.undo.text() == "Undo Move Hint"

    qtbot.keyClick(win.view, Qt.Key_Delete)  # the selected point, not the photo
    wait_idle(qtbot, win)
    assert item.hints == () and win.list.count() == 1
    assert np.array_equal(shown(win), result_of(engine, path))
    qtbot.keyClick(win, Qt.Key_Z, Qt.ControlModifier)  # every change undoes
    wait_idle(qtbot, win)
    assert item.hints == (Hint(80, 20, colour),)
    qtbot.keyClick(win, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    wait_idle(qtbot, win)
    assert item.hints == ()

    add_hint(qtbot, win, 50, 50)
    add_hint(qtbot, win, 90, 30)
    qtbot.mouseClick(win.view, Qt.RightButton, pos=at(win.view, 50, 50))
    wait_idle(qtbot, win)
    assert [(h.x, h.y) for h in item.hints] == [(90, 30)]
    assert np.array_equal(shown(win), result_of(engine, path, item.hints))

    qtbot.mouseClick(win.view, Qt.LeftButton, pos=at(win.view, 90, 30))  # a click on a point: recolour it
    monkey_colour = (10, 200, 30)
    original = QColorDialog.getColor
    QColorDialog.getColor = staticmethod(lambda *a, **k: QColor(*monkey_colour))
    try:
        win.hint_editor.popup.other.click()
    finally:
        QColorDialog.getColor = original
    wait_idle(qtbot, win)
    assert item.hints == (Hint(90, 30, monkey_colour),) and win.commands.undo.text() == "Undo Recolour Hint"

    win.commands.hints.trigger()  # hint mode off: Delete removes the photo again
    assert not win.view.hint_mode
    qtbot.keyClick(win.view, Qt.Key_Delete)
    assert win.list.count() == 0


def test_rapid_changes_coalesce_into_one_run_with_the_newest_points(hwin, qtbot, tmp_path, engine):
    win = hwin
    path = grey_file(tmp_path / "photo.png", size=SIZE)
    item = open_photo(qtbot, win, path)
    runs = count_runs(win, delay=0.3)
    for n in range(6):
        win.hint_history.add(item, Hint(10 + 15 * n, 20 + 8 * n, (200, 40 * n, 30)))
    wait_idle(qtbot, win)
    assert runs.calls <= 2  # the one that started at once, then one with all six points
    assert np.array_equal(shown(win), result_of(engine, path, item.hints))
    assert "Finished" not in win.statusBar().currentMessage()  # a rerun is not a batch


# --- sidecars ----------------------------------------------------------------------------------

def test_save_writes_the_sidecar_and_reopening_restores_the_points(make_window, hint_weights, qtbot, tmp_path,
                                                                   monkeypatch, engine):
    win = make_window(weights=hint_weights)
    path = grey_file(tmp_path / "in" / "photo.png", size=SIZE)
    item = open_photo(qtbot, win, path)
    add_hint(qtbot, win, 30, 40)
    add_hint(qtbot, win, 100, 10, swatch=2)
    hints = item.hints

    out = tmp_path / "out" / "photo-colour.png"  # Save As's proposal, in another folder
    out.parent.mkdir()
    monkeypatch.setattr(win.saver, "ask_save_path", lambda item: (out, 95))
    win.saver.save_as()
    wait_idle(qtbot, win)
    assert np.array_equal(np.asarray(Image.open(out)), result_of(engine, path, hints))
    doc = json.loads((tmp_path / "out" / "photo-colour.png.hints.json").read_text())
    assert doc == {"version": 1, "image": {"width": 120, "height": 90},
                   "hints": [{"x": h.x, "y": h.y, "colour": "#%02x%02x%02x" % h.rgb} for h in hints]}

    assert win.saver.save_all(tmp_path / "all", ".png", 95) == 1
    wait_idle(qtbot, win)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "all" / "photo.png")), result_of(engine, path, hints))
    assert json.loads((tmp_path / "all" / "photo.png.hints.json").read_text()) == doc

    # later: the same photo in a new window finds the points in the newest sidecar, here Save As's
    older = (tmp_path / "out" / "photo-colour.png.hints.json").stat().st_mtime - 60
    os.utime(tmp_path / "all" / "photo.png.hints.json", (older, older))
    win.shutdown()
    later = make_window(weights=hint_weights)
    runs = count_runs(later)
    drop(later, [path])
    wait_idle(qtbot, later)
    again = later.current_item()
    assert again.hints == hints and runs.calls == 1  # restored before the first run, not after
    assert np.array_equal(shown(later), result_of(engine, path, hints))
    assert "2 hint points restored from photo-colour.png.hints.json" in later.statusBar().currentMessage()
    assert not later.commands.undo.isEnabled()  # they are where the photo starts, not a change

    # all points removed and saved again: the sidecar goes with them
    later.hint_history.remove(again, 1)
    later.hint_history.remove(again, 0)
    wait_idle(qtbot, later)
    assert later.saver.save_item(again, out)
    wait_idle(qtbot, later)
    assert not (tmp_path / "out" / "photo-colour.png.hints.json").exists()
    assert np.array_equal(np.asarray(Image.open(out)), result_of(engine, path))


def test_save_all_sidecar_brings_the_points_back(make_window, hint_weights, qtbot, tmp_path, engine):
    win = make_window(weights=hint_weights)
    path = grey_file(tmp_path / "in" / "photo.png", size=SIZE)
    item = open_photo(qtbot, win, path)
    add_hint(qtbot, win, 30, 40)
    hints = item.hints
    assert win.saver.save_all(tmp_path / "all", ".jpg", 90) == 1
    wait_idle(qtbot, win)
    assert (tmp_path / "all" / "photo.jpg.hints.json").exists()
    assert not list((tmp_path / "in").glob("*.hints.json"))  # only Save All's sidecar exists

    win.shutdown()
    later = make_window(weights=hint_weights)  # the same settings: Save All's folder is remembered
    runs = count_runs(later)
    drop(later, [path])
    wait_idle(qtbot, later)
    again = later.current_item()
    assert again.hints == hints and runs.calls == 1
    assert np.array_equal(shown(later), result_of(engine, path, hints))
    assert "1 hint point restored from photo.jpg.hints.json" in later.statusBar().currentMessage()

    later.settings.setValue("saveall/folder", str(tmp_path / "gone"))  # a folder since removed: not looked in
    assert not any("gone" in str(p) for p in later.saver.sidecars(again))


def test_save_writes_the_reference_and_reopening_restores_it(make_window, hint_weights, qtbot, tmp_path,
                                                            monkeypatch, engine):
    win = make_window(weights=hint_weights)
    path = grey_file(tmp_path / "in" / "photo.png", size=SIZE)
    (tmp_path / "refs").mkdir()
    red = red_photo(tmp_path / "refs" / "red.png")
    item = open_photo(qtbot, win, path)
    add_hint(qtbot, win, 30, 40)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(red), "")))
    win.reference.button.click()
    qtbot.waitUntil(lambda: item.reference is not None, timeout=TIMEOUT_MS)
    win.reference.slider.setValue(80)  # (by keys: kept at once)
    wait_idle(qtbot, win)
    assert item.reference_strength == 0.8 and item.reference_path == red
    saved = shown(win)
    out = tmp_path / "out" / "photo-colour.png"
    out.parent.mkdir()
    monkeypatch.setattr(win.saver, "ask_save_path", lambda item: (out, 95))
    win.saver.save_as()
    wait_idle(qtbot, win)
    doc = json.loads((tmp_path / "out" / "photo-colour.png.hints.json").read_text())
    assert doc["reference"] == {"path": str(red), "strength": 0.8} and len(doc["hints"]) == 1

    win.shutdown()
    later = make_window(weights=hint_weights)
    runs = count_runs(later)
    rendered = []
    later.renderer.ready.connect(rendered.append)
    drop(later, [path])
    wait_idle(qtbot, later)
    again = later.current_item()
    assert again.hints == item.hints and again.reference is not None and runs.calls == 1
    assert (again.reference_name, again.reference_path, again.reference_strength) == ("red.png", red, 0.8)
    assert np.array_equal(shown(later), saved) and not rendered  # the first render already used it
    assert np.array_equal(saved, result_of(engine, path, item.hints, reference=red, strength=0.8))
    assert not np.array_equal(saved, result_of(engine, path, item.hints))
    assert later.reference.slider.isEnabled() and later.reference.slider.value() == 80
    assert "red.png" in later.reference.button.toolTip()
    assert ("1 hint point and reference red.png restored from photo-colour.png.hints.json"
            in later.statusBar().currentMessage())

    # cleared and saved again: the sidecar keeps the points only
    later.reference.clear.click()
    wait_idle(qtbot, later)
    assert again.reference is None and again.reference_path is None
    assert later.saver.save_item(again, out)
    wait_idle(qtbot, later)
    assert "reference" not in json.loads((tmp_path / "out" / "photo-colour.png.hints.json").read_text())


def sidecar_with_reference(folder, reference, strength):
    """Save As's sidecar for folder/photo.png (120x90): one point and a reference photo."""
    doc = {"version": 1, "image": {"width": 120, "height": 90}, "hints": [{"x": 5, "y": 6, "colour": "#c02020"}],
           "reference": {"path": str(reference), "strength": strength}}
    (folder / "photo-colour.png.hints.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("bad, why", [("deleted", "reference not restored: reference photo"),
                                      ("greyscale", "reference not restored: reference photo is greyscale")])
def test_a_sidecar_with_a_bad_reference_restores_the_points_with_a_note(hwin, qtbot, tmp_path, engine, bad, why):
    path = grey_file(tmp_path / "photo.png", size=SIZE)
    ref = tmp_path / "ref.png"
    if bad == "greyscale":
        grey_file(ref, 3)
    sidecar_with_reference(tmp_path, ref, 0.7)
    drop(hwin, [path])
    wait_idle(qtbot, hwin)
    item = hwin.current_item()
    assert item.state.name == "DONE" and item.hints == (Hint(5, 6, (192, 32, 32)),)
    assert item.reference is None and item.reference_path is None and item.reference_strength == 0.5
    assert np.array_equal(shown(hwin), result_of(engine, path, item.hints))
    note = hwin.statusBar().currentMessage()
    assert "1 hint point restored from photo-colour.png.hints.json; " + why in note and "\n" not in note
    assert not hwin.reference.slider.isEnabled()


def test_the_reference_is_restored_with_weights_that_take_no_hints(make_window, qtbot, tmp_path, colorizer):
    win = make_window()  # the plain test weights: no hint inputs
    path = grey_file(tmp_path / "photo.png", size=SIZE)
    red = red_photo(tmp_path / "red.png")
    sidecar_with_reference(tmp_path, red, 1)
    drop(win, [path])
    wait_idle(qtbot, win)
    item = win.current_item()
    assert item.hints == () and item.reference is not None and item.reference_strength == 1.0
    assert np.array_equal(shown(win), result_of(colorizer, path, reference=red, strength=1.0))
    assert "reference red.png restored from photo-colour.png.hints.json" in win.statusBar().currentMessage()


@pytest.mark.parametrize("content, why", [
    ("{not json", "not a readable hints file"),
    (json.dumps({"version": 1, "image": {"width": 50, "height": 50}, "hints": []}),
     "for a 50x50 image, the photo is 120x90"),
    (json.dumps({"version": 1, "image": {"width": 120, "height": 90},
                 "hints": [{"x": 500, "y": 1, "colour": "#ff0000"}]}), "outside the image"),
    (json.dumps({"version": 1, "image": {"width": 120, "height": 90},
                 "hints": [{"x": 5, "y": 1, "colour": "red"}]}), "is not #rrggbb"),
    (json.dumps([1, 2]), "not a hints file"),
])
def test_a_bad_sidecar_is_ignored_with_a_note(hwin, qtbot, tmp_path, engine, content, why):
    path = grey_file(tmp_path / "photo.png", size=SIZE)
    (tmp_path / "photo-colour.jpg.hints.json").write_text(content)  # beside the photo, for its default output
    drop(hwin, [path])
    wait_idle(qtbot, hwin)
    item = hwin.current_item()
    assert item.state.name == "DONE" and item.hints == ()
    assert np.array_equal(shown(hwin), result_of(engine, path))
    note = hwin.statusBar().currentMessage()
    assert "photo-colour.jpg.hints.json ignored" in note and why in note and "\n" not in note


# --- the reference photo -----------------------------------------------------------------------

def test_reference_photo_changes_the_result_and_save_writes_it(hwin, qtbot, tmp_path, monkeypatch, engine):
    win = hwin
    path = grey_file(tmp_path / "photo.png", size=SIZE)
    red, grey = red_photo(tmp_path / "red.png"), grey_file(tmp_path / "grey-ref.png", 3)
    item = open_photo(qtbot, win, path)
    plain = shown(win)
    runs = count_runs(win)
    chosen = [red]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(chosen[0]), "")))

    qtbot.mouseClick(win.reference.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: item.reference is not None, timeout=TIMEOUT_MS)
    wait_idle(qtbot, win)
    with_red = shown(win)
    assert np.array_equal(with_red, result_of(engine, path, reference=red, strength=0.5))
    assert not np.array_equal(with_red, plain) and runs.calls == 0  # re-rendered, never rerun
    assert win.reference.slider.isEnabled() and "red.png" in win.reference.button.toolTip()

    rendered = []
    win.renderer.ready.connect(rendered.append)
    win.reference.slider.setSliderDown(True)  # dragged: previewed, not kept
    win.reference.slider.setValue(20)
    qtbot.waitUntil(lambda: bool(rendered) and not win.renderer.busy, timeout=TIMEOUT_MS)
    assert rendered[-1].preview and item.reference_strength == 0.5
    assert np.array_equal(shown(win), result_of(engine, path, reference=red, strength=0.2))
    win.reference.slider.setValue(100)
    win.reference.slider.setSliderDown(False)  # released: kept
    wait_idle(qtbot, win)
    assert item.reference_strength == 1.0 and not rendered[-1].preview
    assert np.array_equal(shown(win), result_of(engine, path, reference=red, strength=1.0))

    chosen[0] = grey  # a greyscale reference: the engine's one line, and nothing changes
    before = shown(win)
    qtbot.mouseClick(win.reference.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "greyscale" in win.statusBar().currentMessage(), timeout=TIMEOUT_MS)
    wait_idle(qtbot, win)
    assert win.statusBar().currentMessage() == "reference photo is greyscale: it has no colours to follow"
    assert item.reference_name == "red.png" and np.array_equal(shown(win), before)

    # hints and the reference together, in what Save As and Save All write
    add_hint(qtbot, win, 30, 40)
    both = result_of(engine, path, item.hints, reference=red, strength=1.0)
    assert np.array_equal(shown(win), both)
    out = tmp_path / "out" / "photo-colour.png"
    out.parent.mkdir()
    monkeypatch.setattr(win.saver, "ask_save_path", lambda item: (out, 95))
    win.saver.save_as()
    assert win.saver.save_all(tmp_path / "all", ".png", 95) == 1
    wait_idle(qtbot, win)
    assert np.array_equal(np.asarray(Image.open(out)), both)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "all" / "photo.png")), both)

    win.reference.clear.click()  # back to the network's own colours
    wait_idle(qtbot, win)
    assert item.reference is None and not win.reference.slider.isEnabled()
    assert np.array_equal(shown(win), result_of(engine, path, item.hints))


def test_save_all_writes_hints_and_reference_of_photos_no_longer_in_memory(make_window, hint_weights, qtbot,
                                                                         tmp_path, monkeypatch, engine):
    win = make_window(weights=hint_weights, cache_bytes=1)  # only the selected photo stays in memory
    a, b = grey_file(tmp_path / "in" / "a.png", 1, SIZE), grey_file(tmp_path / "in" / "b.png", 2, SIZE)
    red = red_photo(tmp_path / "red.png")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(red), "")))
    drop(win, [a, b])
    wait_idle(qtbot, win)
    items = {i.name: i for i in win.items.values()}
    for name in ("a.png", "b.png"):
        win.list.select(items[name].id)
        qtbot.waitUntil(lambda: win.view.has_images, timeout=TIMEOUT_MS)
        wait_idle(qtbot, win)
        edit_hints(win)
        add_hint(qtbot, win, 20, 30)
        if name == "a.png":
            win.reference.button.click()
            qtbot.waitUntil(lambda: items["a.png"].reference is not None, timeout=TIMEOUT_MS)
            wait_idle(qtbot, win)
    assert items["a.png"].id not in win.cache  # let go of: Save All runs the network again for it
    runs = count_runs(win)
    assert win.saver.save_all(tmp_path / "all", ".png", 95) == 2
    wait_idle(qtbot, win)
    assert runs.calls == 1
    assert np.array_equal(np.asarray(Image.open(tmp_path / "all" / "a.png")),
                          result_of(engine, a, items["a.png"].hints, reference=red))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "all" / "b.png")),
                          result_of(engine, b, items["b.png"].hints))
    assert (tmp_path / "all" / "a.png.hints.json").exists() and (tmp_path / "all" / "b.png.hints.json").exists()


def test_other_weights_put_hints_and_reference_aside(hwin, qtbot, tmp_path, monkeypatch, weights_dir, colorizer):
    win = hwin
    path = grey_file(tmp_path / "photo.png", size=SIZE)
    red = red_photo(tmp_path / "red.png")
    item = open_photo(qtbot, win, path)
    add_hint(qtbot, win, 30, 40)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(red), "")))
    win.reference.button.click()
    qtbot.waitUntil(lambda: item.reference is not None, timeout=TIMEOUT_MS)
    wait_idle(qtbot, win)

    # File ▸ Load Model…: weights without hint inputs, and other colour bins
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(weights_dir)))
    with qtbot.waitSignal(win.model_changed, timeout=TIMEOUT_MS):
        win.commands.load_model.trigger()
    wait_idle(qtbot, win)
    assert item.hints == () and item.reference is None and item.state.name == "DONE"
    assert not win.commands.hints.isEnabled() and not win.commands.hints.isChecked() and not win.view.hint_mode
    assert not win.commands.undo.isEnabled()  # an undo would bring back points these weights cannot follow
    assert np.array_equal(shown(win), expected(colorizer, path))


# --- the sidecar file --------------------------------------------------------------------------

def test_sidecar_stores_the_reference_path_and_strength(tmp_path):
    hints = (Hint(1, 2, (255, 0, 16)),)
    result = tmp_path / "photo-colour.png"
    write_sidecar(result, hints, (120, 90), (tmp_path / "red.png", 0.25))
    doc = json.loads(sidecar_of(result).read_text())
    assert doc["reference"] == {"path": str(tmp_path / "red.png"), "strength": 0.25}
    assert read_sidecar(sidecar_of(result), (120, 90)) == (hints, (tmp_path / "red.png", 0.25), "")

    write_sidecar(result, (), (120, 90), (tmp_path / "red.png", 1))  # a reference alone is worth a sidecar
    assert read_sidecar(sidecar_of(result), (120, 90)) == ((), (tmp_path / "red.png", 1.0), "")
    write_sidecar(result, hints, (120, 90))  # points alone: no reference entry
    assert "reference" not in json.loads(sidecar_of(result).read_text())
    assert read_sidecar(sidecar_of(result), (120, 90)) == (hints, None, "")
    write_sidecar(result, (), (120, 90))  # neither: the stale sidecar goes
    assert not sidecar_of(result).exists()


@pytest.mark.parametrize("reference, why", [
    ({"path": "/x/red.png", "strength": 1.5}, "strength 1.5 is not a number in [0, 1]"),
    ({"path": "/x/red.png", "strength": -0.1}, "strength -0.1 is not a number in [0, 1]"),
    ({"path": "/x/red.png", "strength": "0.5"}, "strength '0.5' is not a number in [0, 1]"),
    ({"path": "/x/red.png", "strength": True}, "strength True is not a number in [0, 1]"),
    ({"path": "/x/red.png"}, "strength None is not a number in [0, 1]"),
    ({"path": 3, "strength": 0.5}, "path 3 is not a file name"),
    ({"strength": 0.5}, "path None is not a file name"),
    ("/x/red.png", "it is not a path and a strength"),
])
def test_a_bad_reference_entry_is_ignored_and_the_points_kept(tmp_path, reference, why):
    path = tmp_path / "photo-colour.png.hints.json"
    path.write_text(json.dumps({"version": 1, "image": {"width": 120, "height": 90},
                                "hints": [{"x": 5, "y": 6, "colour": "#c02020"}], "reference": reference}))
    hints, stored, problem = read_sidecar(path, (120, 90))
    assert hints == (Hint(5, 6, (192, 32, 32)),) and stored is None
    assert problem == f"reference in photo-colour.png.hints.json ignored: {why}"
    assert restore((path,), (120, 90)) == ("photo-colour.png.hints.json", hints, None, problem)
    assert restored_note("photo-colour.png.hints.json", hints, "", problem) == (
        f"1 hint point restored from photo-colour.png.hints.json; {problem}")


def test_a_relative_reference_path_is_the_sidecars_neighbour(tmp_path):
    path = tmp_path / "photo-colour.png.hints.json"
    path.write_text(json.dumps({"version": 1, "image": {"width": 120, "height": 90}, "hints": [],
                                "reference": {"path": "red.png", "strength": 0}}))
    assert read_sidecar(path, (120, 90)) == ((), (tmp_path / "red.png", 0.0), "")
