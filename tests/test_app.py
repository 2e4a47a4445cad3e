"""The desktop app (plugin.desktop) in a real Qt event loop, offscreen, with the random test model.

Every test goes through the real worker threads; results are checked against the engine's own
output for the same file, so a view that shows nothing (or the wrong thing) cannot pass.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

import gc  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PyQt5.QtCore import QEvent, QMimeData, QPoint, QPointF, QSettings, Qt, QUrl  # noqa: E402
from PyQt5.QtCore import QRect  # noqa: E402
from PyQt5.QtGui import QDragEnterEvent, QDropEvent, QImage, QMouseEvent, QWheelEvent  # noqa: E402
from PyQt5.QtWidgets import QApplication, QToolTip  # noqa: E402

from plugin.desktop import xcb  # noqa: E402
from plugin.desktop.compare_view import CompareView  # noqa: E402
from plugin.desktop.items import State  # noqa: E402
from plugin.desktop.vividness import temperature_at  # noqa: E402
from plugin.desktop.window import MainWindow  # noqa: E402

TIMEOUT_MS = 20000


# --- helpers -----------------------------------------------------------------------------------

def grey_file(path: Path, seed: int = 0, size=(120, 90)) -> Path:
    """A small greyscale photo-like picture (smooth shapes plus an edge), different per seed."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    arr = 110 + 70 * np.sin(x / (7.0 + seed)) * np.cos(y / (11.0 + seed)) + 40 * (x > w // 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(path)
    return path


def rgb(image: QImage) -> np.ndarray:
    """A QImage as an (H, W, 3) uint8 array."""
    image = image.convertToFormat(QImage.Format_RGB888)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def expected(colorizer, path, temperature=None) -> np.ndarray:
    """What the engine itself makes of this file."""
    return np.asarray(colorizer.predict(path).render(temperature).convert("RGB"))


class CountingNet:
    """Wraps the colorizer's network to count (and optionally slow down) its runs."""

    def __init__(self, net, delay: float = 0.0):
        self.net, self.delay, self.calls = net, delay, 0
        self.name, self.device = net.name, net.device

    def __call__(self, y, hints=None):
        self.calls += 1
        time.sleep(self.delay)
        return self.net(y, hints)


def count_runs(win, delay: float = 0.0) -> CountingNet:
    net = win.worker.colorizer.net = CountingNet(win.worker.colorizer.net, delay)
    return net


def drop(win, paths) -> QDropEvent:
    """Drag files over the window and drop them, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(400, 300), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted()
    assert win.view.drop_highlight
    event = QDropEvent(QPointF(400, 300), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(win, event)
    assert not win.view.drop_highlight
    return event


def wait_idle(qtbot, win):
    qtbot.waitUntil(lambda: not win.queue.busy and not win.renderer.busy
                    and all(i.state not in (State.WAITING, State.WORKING) for i in win.items.values()),
                    timeout=TIMEOUT_MS)


def save_as(qtbot, win, monkeypatch, out: Path) -> Path:
    """Save As the selected item to out, as if the user had chosen it in the dialog."""
    out.parent.mkdir()
    monkeypatch.setattr(win.saver, "ask_save_path", lambda item: (out, 95))
    win.saver.save_as()
    qtbot.waitUntil(out.exists, timeout=TIMEOUT_MS)
    wait_idle(qtbot, win)
    return out


def by_name(win) -> dict:
    return {i.name: i for i in win.items.values()}


@pytest.fixture(autouse=True)
def delete_closed_windows():
    """After each test, delete the windows pytest-qt closed (deleteLater) here, in the GUI thread.
    Left to the next event loop, a window's wrapper may first be freed by the garbage collector (a
    window lives on in reference cycles: bound methods given to its helpers), which runs in whatever
    thread allocates, e.g. the next window's model loading: widgets deleted there crash the process."""
    yield
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    gc.collect()


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)  # never the user's own


@pytest.fixture
def make_window(qtbot, weights_dir, settings):
    windows = []

    def make(**kwargs):
        kwargs.setdefault("weights", weights_dir)
        kwargs.setdefault("backend", "onnx")
        win = MainWindow(settings=settings, **kwargs)
        qtbot.addWidget(win)
        win.show()
        with qtbot.waitSignal(win.model_changed, timeout=TIMEOUT_MS):
            pass
        windows.append(win)
        return win

    yield make
    for win in windows:
        win.shutdown()


@pytest.fixture
def win(make_window):
    return make_window()


# --- dropping, colorizing, viewing -------------------------------------------------------------

def test_drop_files_and_a_folder(win, qtbot, tmp_path):
    album = tmp_path / "album"
    grey_file(album / "a.jpg", 1)
    grey_file(album / "c.jpg", 2)
    grey_file(album / "sub" / "b.png", 3)
    grey_file(album / ".hidden" / "x.jpg", 4)                  # hidden: not collected
    (album / "notes.txt").write_text("not a photo")             # not an image suffix: not collected
    loose = grey_file(tmp_path / "loose.jpg", 5)

    event = drop(win, [loose, album])
    assert event.isAccepted()
    assert [win.items[i].name for i in win.list.ids()] == ["loose.jpg", "a.jpg", "c.jpg", "b.png"]
    assert win.list.count() == 4
    wait_idle(qtbot, win)
    assert all(i.state is State.DONE and i.thumbnail is not None for i in win.items.values())
    assert "Done" in win.list.item(0).text()
    assert win.progress.isHidden() and win.cancel_button.isHidden()

    drop(win, [loose])  # the same file again is not added twice
    assert win.list.count() == 4

    text_only = QMimeData()
    text_only.setText("hello")
    enter = QDragEnterEvent(QPoint(10, 10), Qt.CopyAction, text_only, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(win, enter)
    assert not enter.isAccepted()


def test_finished_worker_updates_the_view(win, qtbot, tmp_path, colorizer):
    path = grey_file(tmp_path / "one.jpg")
    drop(win, [path])
    item = next(iter(win.items.values()))
    with qtbot.waitSignal(win.item_changed, timeout=TIMEOUT_MS, check_params_cb=lambda i: i.state is State.DONE):
        pass
    assert win.view.has_images
    after, before = rgb(win.view.after), rgb(win.view.before)
    assert np.array_equal(after, expected(colorizer, path))          # exactly the engine's result
    assert np.array_equal(before, np.asarray(Image.open(path).convert("RGB")))
    assert not np.array_equal(after, before)
    assert item.seconds is not None and "Last run" in win.last_run_label.text()
    assert win.model_label.text() == "ONNX Runtime · CPU"

    # what is on screen: the original left of the split line, the result right of it
    qtbot.waitUntil(lambda: win.view.fit and win.view.zoom == 1.0)
    shot = rgb(win.view.grab().toImage())
    r = win.view.image_rect()
    x0, y0 = int(r.x()), int(r.y())
    split = int(win.view.split_x()) - x0
    assert 10 < split < 110
    assert np.abs(shot[y0 + 45, x0 + 5].astype(int) - before[45, 5]).max() <= 1
    assert np.abs(shot[y0 + 45, x0 + 115].astype(int) - after[45, 115]).max() <= 1


def test_vividness_rerenders_without_running_the_network(win, qtbot, tmp_path, colorizer):
    runs = count_runs(win)
    path = grey_file(tmp_path / "one.png")
    drop(win, [path])
    wait_idle(qtbot, win)
    assert runs.calls == 1
    item = win.current_item()
    first = rgb(win.view.after)
    thumb = win.items[item.id].thumbnail

    win.vividness.slider.setValue(95)
    qtbot.waitUntil(lambda: not np.array_equal(rgb(win.view.after), first), timeout=TIMEOUT_MS)
    wait_idle(qtbot, win)
    assert item.temperature == temperature_at(95)
    assert np.array_equal(rgb(win.view.after), expected(colorizer, path, temperature_at(95)))
    assert item.thumbnail is not thumb

    for value in range(0, 100, 7):  # a drag: many values at once, the last one wins
        win.vividness.slider.setValue(value)
    wait_idle(qtbot, win)
    assert np.array_equal(rgb(win.view.after), expected(colorizer, path, temperature_at(98)))

    win.vividness.reset.click()  # back to the model's default
    wait_idle(qtbot, win)
    assert item.temperature is None
    assert np.array_equal(rgb(win.view.after), expected(colorizer, path))
    assert runs.calls == 1  # never a second network run


def test_memory_budget_keeps_thumbnails_and_reruns_on_selection(make_window, qtbot, tmp_path, colorizer):
    win = make_window(cache_bytes=1)  # nothing fits: only the selected and the newest stay
    runs = count_runs(win)
    paths = [grey_file(tmp_path / f"p{n}.jpg", n) for n in range(3)]
    drop(win, paths)
    wait_idle(qtbot, win)
    assert runs.calls == 3 and len(win.cache) == 2
    evicted = next(i for i in win.items.values() if i.id not in win.cache)
    assert evicted.state is State.DONE and evicted.thumbnail is not None
    win.list.select(evicted.id)
    qtbot.waitUntil(lambda: win.view.has_images and evicted.id in win.cache, timeout=TIMEOUT_MS)
    assert runs.calls == 4
    assert np.array_equal(rgb(win.view.after), expected(colorizer, evicted.path))


# --- saving ------------------------------------------------------------------------------------

def test_save_save_as_and_save_all(win, qtbot, tmp_path, colorizer, settings, monkeypatch):
    a = grey_file(tmp_path / "in" / "a.jpg", 1)
    b = grey_file(tmp_path / "in" / "b.png", 2)
    drop(win, [a, b])
    wait_idle(qtbot, win)
    items = by_name(win)
    win.list.select(items["a.jpg"].id)
    win.vividness.slider.setValue(80)
    wait_idle(qtbot, win)

    # Save As: PNG is lossless, so the file is exactly the engine's result at this vividness
    out = save_as(qtbot, win, monkeypatch, tmp_path / "out" / "a-colour.png")
    assert np.array_equal(np.asarray(Image.open(out)), expected(colorizer, a, temperature_at(80)))
    assert items["a.jpg"].saved_to == out and "saved as" in items["a.jpg"].status()
    assert settings.value("save/folder") == str(out.parent)

    out.unlink()  # Save writes to the same place again, without asking
    monkeypatch.setattr(win.saver, "ask_save_path", lambda item: pytest.fail("Save must not ask again"))
    win.saver.save()
    qtbot.waitUntil(out.exists, timeout=TIMEOUT_MS)

    jpeg = tmp_path / "out" / "a.jpg"
    assert win.saver.save_item(items["a.jpg"], jpeg, quality=60)
    qtbot.waitUntil(jpeg.exists, timeout=TIMEOUT_MS)
    assert Image.open(jpeg).format == "JPEG" and Image.open(jpeg).size == (120, 90)
    assert settings.value("save/quality", type=int) == 60

    # Save All: every item under its own name, at its own vividness
    folder = tmp_path / "all"
    assert win.saver.save_all(folder, ".png", 90) == 2
    wait_idle(qtbot, win)
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.png"]
    assert np.array_equal(np.asarray(Image.open(folder / "a.png")), expected(colorizer, a, temperature_at(80)))
    assert np.array_equal(np.asarray(Image.open(folder / "b.png")), expected(colorizer, b))
    assert settings.value("saveall/folder") == str(folder)

    asked = []
    monkeypatch.setattr(win.saver, "ask_replace", lambda existing, originals: asked.append((existing, originals)) or "skip")
    assert win.saver.save_all(folder, ".png", 90) == 0  # both exist: the user chose to skip them
    assert asked == [(2, 0)]


def test_never_saves_over_the_original_without_asking(win, qtbot, tmp_path, monkeypatch):
    src = grey_file(tmp_path / "orig.png")
    original = src.read_bytes()
    drop(win, [src])
    wait_idle(qtbot, win)
    item = win.current_item()
    questions = []
    monkeypatch.setattr(win, "confirm", lambda title, text: questions.append(title) or False)
    assert not win.saver.save_item(item, src)
    monkeypatch.setattr(win.saver, "ask_replace", lambda existing, originals: "cancel" if originals == 1 else "?")
    assert win.saver.save_all(tmp_path, "", 95) == 0  # Save All into the originals' folder, cancelled
    wait_idle(qtbot, win)
    assert src.read_bytes() == original and questions == ["Replace the original?"]

    monkeypatch.setattr(win, "confirm", lambda title, text: True)
    assert win.saver.save_item(item, src)
    wait_idle(qtbot, win)
    assert src.read_bytes() != original


# --- errors, cancel, video, clipboard ----------------------------------------------------------

def test_unreadable_file_gets_an_error_entry_and_the_rest_finish(win, qtbot, tmp_path):
    good1 = grey_file(tmp_path / "good1.jpg", 1)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a jpeg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    good2 = grey_file(tmp_path / "good2.jpg", 2)
    drop(win, [good1, broken, empty, good2])
    wait_idle(qtbot, win)
    items = by_name(win)
    assert items["good1.jpg"].state is State.DONE and items["good2.jpg"].state is State.DONE
    assert items["broken.jpg"].state is State.FAILED and "not an image" in items["broken.jpg"].error
    assert items["empty.png"].state is State.FAILED and "empty file" in items["empty.png"].error

    win.list.select(items["broken.jpg"].id)
    assert not win.view.has_images and win.view.message_is_error and "not an image" in win.view.message
    assert "Error: not an image" in win.list.currentItem().text()
    assert not win.commands.save.isEnabled()

    drop(win, [grey_file(tmp_path / "later.jpg", 3)])  # the app goes on
    wait_idle(qtbot, win)
    assert by_name(win)["later.jpg"].state is State.DONE


def test_cancel_stops_the_batch(win, qtbot, tmp_path):
    runs = count_runs(win, delay=0.1)
    paths = [grey_file(tmp_path / f"f{n:02}.jpg", n % 5, size=(40, 30)) for n in range(30)]
    drop(win, paths)
    assert win.cancel_button.isVisible() and win.progress.isVisible()
    qtbot.waitUntil(lambda: any(i.state is State.DONE for i in win.items.values()), timeout=TIMEOUT_MS)
    qtbot.mouseClick(win.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not win.queue.busy, timeout=TIMEOUT_MS)
    states = [i.state for i in win.items.values()]
    done, cancelled = states.count(State.DONE), states.count(State.CANCELLED)
    assert done + cancelled == 30 and 1 <= done <= 10  # a job takes >= 0.1 s: most never started
    calls = runs.calls
    assert calls <= done + 1  # at most the one running when Cancel was pressed
    qtbot.wait(400)
    assert runs.calls == calls  # nothing runs after Cancel
    assert win.cancel_button.isHidden() and win.progress.isHidden()

    runs.delay = 0
    win.commands.retry.trigger()  # and the cancelled ones can be run later
    wait_idle(qtbot, win)
    assert all(i.state is State.DONE for i in win.items.values())


def test_cancel_stops_the_running_job_at_its_next_stage(win, qtbot, tmp_path):
    runs = count_runs(win, delay=0.5)
    drop(win, [grey_file(tmp_path / "slow.jpg")])
    qtbot.waitUntil(lambda: runs.calls == 1, timeout=TIMEOUT_MS)  # inside the network now
    win.commands.cancel.trigger()
    qtbot.waitUntil(lambda: not win.queue.busy, timeout=TIMEOUT_MS)
    item = win.current_item()
    assert item.state is State.CANCELLED and not win.view.has_images  # not rendered after Cancel
    assert "cancelled" in win.view.message


def test_missing_weights_are_reported_per_item(make_window, qtbot, tmp_path):
    win = make_window(weights=tmp_path / "no-weights")
    assert win.model is None and "no weights" in win.model_error
    assert win.model_label.text() == "No model" and win.banner.isVisible()
    drop(win, [grey_file(tmp_path / "a.jpg")])
    wait_idle(qtbot, win)
    item = win.current_item()
    assert item.state is State.FAILED and "no weights at" in item.error
    assert "no weights at" in win.view.message


def make_clip(path: Path, frames: int = 12, size=(64, 48)) -> Path:
    """A real H.264 clip (a drifting grey pattern), encoded with PyAV."""
    av = pytest.importorskip("av")
    w, h = size
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=24)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        for t in range(frames):
            y, x = np.mgrid[0:h, 0:w]
            grey = (128 + 90 * np.sin((x - 2 * t) / 7.0) * np.cos(y / 5.0)).astype(np.uint8)
            c.mux(v.encode(av.VideoFrame.from_ndarray(np.dstack([grey] * 3), format="rgb24")))
        c.mux(v.encode(None))
    return path


def count_frames(path: Path) -> int:
    import av
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_a_video_is_colorized_with_frame_progress_and_saved(win, qtbot, tmp_path, monkeypatch):
    clip = make_clip(tmp_path / "in" / "clip.mp4")
    photo = grey_file(tmp_path / "in" / "photo.jpg")
    bars = []
    win.progress.valueChanged.connect(lambda v: bars.append((v, win.progress.maximum(), win.progress.format())))
    drop(win, [clip, photo])
    wait_idle(qtbot, win)
    items = by_name(win)
    video = items["clip.mp4"]
    assert video.state is State.DONE and items["photo.jpg"].state is State.DONE
    frames = [(v, m) for v, m, f in bars if f.endswith("frames")]
    assert (1, 12) in frames and (12, 12) in frames  # the bar counted the frames
    assert video.thumbnail is not None and "12 frames" in video.status()
    assert video.video.is_file() and video.video.parent == win.session.video_dir and count_frames(video.video) == 12

    win.list.select(video.id)
    assert win.view.has_images and rgb(win.view.after).shape == rgb(win.view.before).shape == (48, 64, 3)
    assert not np.array_equal(rgb(win.view.after), rgb(win.view.before))
    assert not win.vividness.isEnabled() and win.commands.save.isEnabled()

    # Save All: the video keeps its container whatever image format is chosen
    folder = tmp_path / "all"
    assert win.saver.save_all(folder, ".png", 90) == 2
    wait_idle(qtbot, win)
    assert sorted(p.name for p in folder.iterdir()) == ["clip.mp4", "photo.png"]
    assert count_frames(folder / "clip.mp4") == 12

    # Save As into another container: remuxed, still 12 frames
    out = save_as(qtbot, win, monkeypatch, tmp_path / "out" / "clip-colour.mkv")
    assert count_frames(out) == 12 and video.saved_to == out
    assert not win.saver.save_item(video, tmp_path / "out" / "clip.png")  # never an image format
    assert "MP4" in win.banner.label.text()

    original = clip.read_bytes()  # never over the original unasked
    monkeypatch.setattr(win, "confirm", lambda title, text: False)
    assert not win.saver.save_item(video, clip)
    assert clip.read_bytes() == original

    temp = win.session.video_dir
    win.shutdown()
    assert not temp.exists()  # the session's temporary videos go with the app


def test_a_bad_video_gets_an_error_entry(win, qtbot, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    photo = grey_file(tmp_path / "photo.jpg")
    drop(win, [clip, photo])
    wait_idle(qtbot, win)
    items = by_name(win)
    assert items["clip.mp4"].state is State.FAILED and items["clip.mp4"].error
    assert "Error:" in win.list.item(0).text()
    assert items["photo.jpg"].state is State.DONE
    assert not list(win.session.video_dir.iterdir())


def test_cancel_stops_a_video_midway(win, qtbot, tmp_path):
    runs = count_runs(win, delay=0.05)
    clip = make_clip(tmp_path / "long.mp4", frames=200)
    drop(win, [clip])
    qtbot.waitUntil(lambda: win.progress.format().endswith("frames") and win.progress.value() >= 3,
                    timeout=TIMEOUT_MS)
    assert win.progress.maximum() == 200 and win.cancel_button.isVisible()
    qtbot.mouseClick(win.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not win.queue.busy, timeout=TIMEOUT_MS)
    item = win.current_item()
    assert item.state is State.CANCELLED and item.video is None and "cancelled" in win.view.message
    assert runs.calls < 100
    assert not list(win.session.video_dir.iterdir())  # the partial output is deleted


def test_paste_an_image_from_the_clipboard(win, qtbot):
    image = QImage(64, 48, QImage.Format_Grayscale8)
    image.fill(128)
    QApplication.clipboard().setImage(image)
    win.commands.paste.trigger()
    wait_idle(qtbot, win)
    (item,) = win.items.values()
    assert item.pasted and item.name == "Pasted image 1.png" and item.state is State.DONE
    assert win.view.has_images and win.view.after.size() == image.size()


# --- the compare view --------------------------------------------------------------------------

def drag(qtbot, widget, start: QPoint, end: QPoint):
    """Press, move with the button held (QTest's mouseMove carries no buttons), release."""
    qtbot.mousePress(widget, Qt.LeftButton, pos=start)
    move = QMouseEvent(QEvent.MouseMove, QPointF(end), Qt.NoButton, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, move)
    qtbot.mouseRelease(widget, Qt.LeftButton, pos=end)


def test_compare_view_split_zoom_and_pan(qtbot):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    black, white = QImage(800, 600, QImage.Format_RGB32), QImage(800, 600, QImage.Format_RGB32)
    black.fill(Qt.black)
    white.fill(Qt.white)
    view.set_images(black, white)
    assert view.size().width() == 400 and view.fit and view.zoom == pytest.approx(0.5)

    drag(qtbot, view, QPoint(200, 150), QPoint(100, 150))  # on the split line: moves it
    assert view.split == pytest.approx(0.25)
    shot = rgb(view.grab().toImage())
    assert shot[150, 60].tolist() == [0, 0, 0] and shot[150, 200].tolist() == [255, 255, 255]

    wheel = QWheelEvent(QPointF(200, 150), QPointF(200, 150), QPoint(0, 0), QPoint(0, 120), Qt.NoButton,
                        Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(view, wheel)
    assert not view.fit and view.zoom == pytest.approx(0.625)

    view.zoom_100()
    assert view.zoom == 1.0 and view.image_rect().width() == 800
    start = QPointF(view.origin)
    drag(qtbot, view, QPoint(300, 200), QPoint(260, 180))  # away from the line: pans
    assert view.origin - start == QPointF(-40, -20)

    view.pan_by(-10_000, -10_000)  # never beyond the image's edge
    assert view.image_rect().right() == pytest.approx(400) and view.image_rect().bottom() == pytest.approx(300)
    view.zoom_fit()
    assert view.fit and view.zoom == pytest.approx(0.5)

    view.show_message("")
    assert not view.has_images


# --- the command -------------------------------------------------------------------------------

def app_command() -> list[str]:
    script = Path(sys.executable).with_name("colorize-app")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plugin.desktop.app"]


def run_selftest(tmp_path, weights_dir, env) -> Path:
    """`colorize-app --selftest` on a grey photo: it must succeed silently; returns the screenshot."""
    photo = grey_file(tmp_path / "photo.jpg", size=(320, 240))
    shot = tmp_path / "shot.png"
    done = subprocess.run(app_command() + ["--selftest", str(photo), str(shot), "--weights", str(weights_dir)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return shot


def test_selftest_command(tmp_path, weights_dir):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with Image.open(run_selftest(tmp_path, weights_dir, env)) as im:
        assert im.format == "PNG" and im.size == (1280, 800)
        assert np.asarray(im.convert("L")).std() > 10  # a drawn window, not a blank

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"garbage")
    failed = subprocess.run(app_command() + ["--selftest", str(broken), str(tmp_path / "no.png"),
                                             "--weights", str(weights_dir)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode != 0
    assert failed.stderr.count("\n") == 1 and "broken.jpg" in failed.stderr and "not an image" in failed.stderr
    assert not (tmp_path / "no.png").exists()


# --- faults found by a new user (issue 11) -----------------------------------------------------

def test_selftest_leaves_nothing_behind(tmp_path, weights_dir):
    tmp = tmp_path / "tmp"  # the app's temporary files go here (TMPDIR), and must be gone after
    tmp.mkdir()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp), "XDG_RUNTIME_DIR": str(tmp_path)}
    photo = grey_file(tmp_path / "photo.jpg")
    done = subprocess.run(app_command() + ["--selftest", str(photo), str(tmp_path / "shot.png"),
                                           "--weights", str(weights_dir)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # (onnxruntime keeps one file of its own there, .ses, the same one every run)
    assert sorted(p.name for p in tmp.iterdir() if p.name != ".ses") == []


def test_the_session_folder_goes_with_the_window(make_window, qtbot):
    win = make_window()
    image = QImage(32, 24, QImage.Format_Grayscale8)
    image.fill(100)
    QApplication.clipboard().setImage(image)
    win.commands.paste.trigger()
    wait_idle(qtbot, win)
    folder = win.session.folder
    assert (folder / "pasted" / "Pasted image 1.png").is_file()
    win.shutdown()
    assert not folder.exists()


def test_a_killed_session_folder_is_removed_by_the_next_app(tmp_path, monkeypatch):
    from plugin.desktop.cache import PredictionCache
    from plugin.desktop.session import Session

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()  # a process id that no longer runs
    abandoned = tmp_path / f"colorize-app-{gone.pid}-x1y2z3"
    (abandoned / "videos").mkdir(parents=True)
    session = Session(PredictionCache())
    assert not abandoned.exists() and session.folder.parent == tmp_path
    session.close()
    assert list(tmp_path.iterdir()) == []


def test_a_video_ignores_the_remembered_vividness(make_window, qtbot, tmp_path, settings):
    settings.setValue("vividness/temperature", 0.9)  # chosen last time, for photos
    win = make_window()
    started = []
    win.queue.started.connect(started.append)
    clip, photo = make_clip(tmp_path / "clip.mp4", frames=3), grey_file(tmp_path / "photo.jpg")
    drop(win, [clip, photo])
    wait_idle(qtbot, win)
    items = by_name(win)
    assert items["photo.jpg"].temperature == 0.9 and items["clip.mp4"].temperature is None
    temperatures = {Path(job.path).name: job.temperature for job in started}
    assert temperatures == {"photo.jpg": 0.9, "clip.mp4": None}  # the video at the model's default
    assert items["clip.mp4"].state is State.DONE


def test_rows_show_their_whole_status_and_tooltips_fit_on_screen(win, qtbot, tmp_path):
    deep = tmp_path.joinpath(*[f"a-rather-long-folder-name-for-scans-number-{n}" for n in range(4)])
    bad = deep / ("x" * 120 + ".jpg")
    deep.mkdir(parents=True)
    bad.write_bytes(b"not an image at all")
    good = grey_file(tmp_path / "good.jpg")
    drop(win, [good, bad])
    wait_idle(qtbot, win)
    item = by_name(win)["good.jpg"]
    item.note = "75 frames (the file ended early: 3 packets could not be decoded)"
    win.list.refresh(item)
    win.splitter.setSizes([220, 980])  # the list at its narrowest

    row = win.list.item(0)
    assert item.note in row.text()
    fm = win.list.fontMetrics()
    width = win.list.viewport().width() - win.list.iconSize().width() - 8
    needed = fm.boundingRect(QRect(0, 0, width, 100000), Qt.TextWordWrap | Qt.TextWrapAnywhere, row.text()).height()
    qtbot.waitUntil(lambda: win.list.visualItemRect(row).height() >= needed, timeout=3000)
    assert all(win.list.visualItemRect(win.list.item(n)).width() <= win.list.viewport().width()
               for n in range(win.list.count()))  # no row wider than the list

    screen = QApplication.primaryScreen().availableGeometry()
    for n in range(win.list.count()):
        tip = win.list.item(n).toolTip()
        QToolTip.showText(QPoint(0, 0), tip, win.list)
        labels = lambda: [w for w in QApplication.topLevelWidgets()  # noqa: E731
                          if w.metaObject().className() == "QTipLabel" and w.isVisible()]
        qtbot.waitUntil(lambda: bool(labels()), timeout=3000)
        assert labels()[0].width() <= screen.width(), tip
        QToolTip.hideText()
    assert str(deep.name) in win.list.item(1).toolTip().replace("\u200b", "")


def test_dragging_the_vividness_slider_renders_a_screen_sized_preview(win, qtbot, tmp_path, colorizer):
    path = grey_file(tmp_path / "big.png", size=(2400, 1800))
    drop(win, [path])
    wait_idle(qtbot, win)
    item = win.current_item()
    rendered = []
    win.renderer.ready.connect(rendered.append)
    slider = win.vividness.slider

    slider.setSliderDown(True)  # the user holds the handle
    slider.setValue(80)
    qtbot.waitUntil(lambda: bool(rendered) and not win.renderer.busy, timeout=TIMEOUT_MS)
    preview = rendered[-1]
    assert preview.preview and preview.after.width() < 2400
    assert preview.after.width() <= max(win.view.width(), win.view.height()) * win.view.devicePixelRatioF() + 1
    assert win.view.after.size() == preview.after.size()  # shown, scaled up by the view
    assert item.temperature is None  # nothing is kept until the release

    slider.setSliderDown(False)  # released: the full image at that vividness
    qtbot.waitUntil(lambda: not rendered[-1].preview and not win.renderer.busy, timeout=TIMEOUT_MS)
    assert item.temperature == temperature_at(80)
    assert (win.view.after.width(), win.view.after.height()) == (2400, 1800)
    assert np.array_equal(rgb(win.view.after), expected(colorizer, path, temperature_at(80)))


def test_a_colour_photo_is_said_to_be_recoloured(win, qtbot, tmp_path):
    y, x = np.mgrid[0:90, 0:120]
    colour = np.dstack([x * 2, 255 - y * 2, (x + y) % 256]).astype(np.uint8)
    Image.fromarray(colour).save(tmp_path / "colour.png")
    grey = grey_file(tmp_path / "grey.png")
    drop(win, [tmp_path / "colour.png", grey])
    wait_idle(qtbot, win)
    items = by_name(win)
    assert items["colour.png"].in_colour and not items["grey.png"].in_colour
    assert "already in colour: recoloured from its luminance" in win.list.item(0).text()
    assert "already in colour" not in win.list.item(1).text()
    assert "already in colour" in win.statusBar().currentMessage()


# --- X11: the libraries of Qt's xcb platform ---------------------------------------------------

def test_missing_xcb_libraries_give_one_line_with_the_packages():
    x11 = {"DISPLAY": ":0"}
    missing = {"libxcb-icccm.so.4", "libxkbcommon-x11.so.0"}
    line = xcb.check(x11, platform="linux", load=lambda name: name not in missing)
    assert line.count("\n") == 0
    assert "apt-get install libxcb-icccm4 libxkbcommon-x11-0" in line and "libxcb-icccm.so.4" in line
    assert xcb.check(x11, platform="linux", load=lambda name: True) is None
    no_xcb = lambda name: name not in xcb.XCB_LIBRARIES  # noqa: E731
    assert xcb.check({**x11, "QT_QPA_PLATFORM": "offscreen"}, platform="linux", load=no_xcb) is None
    assert xcb.check(x11, ["-platform", "offscreen"], platform="linux", load=no_xcb) is None
    assert "libxcb1" in xcb.check({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, platform="linux", load=no_xcb)
    assert xcb.check(x11, platform="darwin", load=lambda name: False) is None


def test_the_app_exits_with_the_apt_line_instead_of_aborting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["DISPLAY"] = ":999"  # Qt would pick xcb, and abort (status 134) without its libraries
    code = ("import sys; import plugin.desktop.xcb as x; x.loadable = lambda name: 'icccm' not in name; "
            "from plugin.desktop.app import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "--selftest", "a.jpg", str(tmp_path / "s.png")],
                          env=env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent.parent)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "apt-get install libxcb-icccm4" in done.stderr


# --- what else Qt needs from the system (issue 22) ---------------------------------------------

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's display and libraries")


@linux_only
def test_no_display_is_one_line_instead_of_qts_abort():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run(app_command(), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "no display" in done.stderr and "`colorize` command" in done.stderr
    assert xcb.check({"QT_QPA_PLATFORM": "xcb"}, platform="linux") == xcb.NO_DISPLAY
    assert xcb.check({"WAYLAND_DISPLAY": "wayland-0"}, platform="linux", load=lambda name: True) is None


@linux_only
@pytest.mark.parametrize("library, package", [("libGL.so.1", "libgl1"), ("libglib-2.0.so.0", "libglib2.0-0"),
                                              ("libfontconfig.so.1", "libfontconfig1")])
def test_a_missing_system_library_is_one_line_with_its_package(tmp_path, library, package):
    # PyQt5 needs libGL and GLib as it is imported, every Qt platform fontconfig as it starts: a
    # file the loader finds first and cannot load stands for the library that is not installed
    broken = tmp_path / "lib"
    broken.mkdir()
    (broken / library).write_bytes(b"")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "LD_LIBRARY_PATH": os.pathsep.join(filter(None, [str(broken), os.environ.get("LD_LIBRARY_PATH")]))}
    photo = grey_file(tmp_path / "photo.jpg")
    done = subprocess.run(app_command() + ["--selftest", str(photo), str(tmp_path / "s.png")],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and library in done.stderr and f"apt-get install {package}" in done.stderr


def test_import_errors_of_qt_say_what_to_install():
    line = xcb.import_problem(ImportError("libGL.so.1: cannot open shared object file: No such file or directory"))
    assert "\n" not in line and "libGL.so.1" in line and "apt-get install libgl1" in line
    line = xcb.import_problem(ImportError("libfoo.so.3: cannot open shared object file: No such file or directory"))
    assert "libfoo.so.3" in line and "apt-get" not in line  # no package we could name
    assert "pip install PyQt5" in xcb.import_problem(ModuleNotFoundError("No module named 'PyQt5'", name="PyQt5"))
    assert xcb.import_problem(ImportError("cannot import name 'QFoo' from 'PyQt5.QtCore'")) is None  # a bug: traceback


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_selftest_says_a_fifo_is_not_a_photo(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    done = subprocess.run(app_command() + ["--selftest", str(fifo), str(tmp_path / "s.png")],
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "photo.jpg: is a FIFO" in done.stderr


def test_selftest_under_xvfb_with_the_real_xcb_platform(tmp_path, weights_dir):
    if shutil.which("Xvfb") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Xvfb is not installed (apt-get install xvfb and the xcb libraries, see xcb.py)")
        pytest.skip("Xvfb is not installed")
    server = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        display = server.stdout.readline().strip()  # Xvfb picks a free display and says which
        assert display.isdigit(), "Xvfb did not start"
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
        env.update(DISPLAY=f":{display}", TMPDIR=str(tmp_path))
        with Image.open(run_selftest(tmp_path, weights_dir, env)) as im:
            assert im.size == (1280, 800) and np.asarray(im.convert("L")).std() > 10
    finally:
        server.terminate()
        server.wait(timeout=10)



def test_the_app_saves_16_bit_colour_and_metadata_like_the_command(tmp_path, colorizer):
    import cv2

    from plugin.desktop.jobs import ColorizeJob, SaveJob
    from plugin.desktop.worker import Worker

    worker = Worker()
    worker.colorizer = colorizer
    rng = np.random.default_rng(0)
    deep = tmp_path / "scan.png"
    cv2.imwrite(str(deep), np.repeat(rng.integers(0, 65535, (40, 60, 1), dtype=np.uint16), 3, axis=2))
    result = worker._colorize(ColorizeJob(1, deep, None))
    worker._save(SaveJob(1, deep, None, tmp_path / "deep-out.png", prediction=result.prediction))
    out = cv2.imread(str(tmp_path / "deep-out.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and len(np.unique(out)) > 256  # 16-bit RGB in, 16 bits out
    dpi = grey_file(tmp_path / "dpi.png")
    Image.open(dpi).save(dpi, dpi=(300, 300))
    result = worker._colorize(ColorizeJob(2, dpi, None))
    worker._save(SaveJob(2, dpi, None, tmp_path / "dpi-out.png", prediction=result.prediction))
    assert [round(d) for d in Image.open(tmp_path / "dpi-out.png").info["dpi"]] == [300, 300]
