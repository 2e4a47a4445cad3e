"""`colorize-app`: the desktop app's command line, `main()`, and `--selftest`."""
from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
import time
import traceback
from pathlib import Path

from engine import BACKENDS, DEVICES, __version__

from . import xcb

# PyQt5 loads system libraries (libGL, GLib) as it is imported: main() turns a missing one into a
# line that says what to install, which a traceback here would not
try:
    from PyQt5.QtCore import QEventLoop, QSettings, Qt, QTimer, qInstallMessageHandler
    from PyQt5.QtGui import QColor, QIcon, QLinearGradient, QPainter, QPixmap
    from PyQt5.QtWidgets import QApplication, QMessageBox

    from .items import State
    from .window import APPLICATION, ORGANIZATION, MainWindow
except ImportError as e:
    QT_IMPORT_ERROR: ImportError | None = e
else:
    QT_IMPORT_ERROR = None

SELFTEST_TIMEOUT_S = 300


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The app's options; what argparse does not know is left for Qt (-style, -platform...)."""
    p = argparse.ArgumentParser(prog="colorize-app",
                                description="Colorize black-and-white photos: drop, compare, tune, save.")
    p.add_argument("files", nargs="*", metavar="FILE", help="photos or folders to open at start")
    p.add_argument("--weights", metavar="DIR", help="weights folder (default: $COLORIZE_WEIGHTS or the shipped model)")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="inference backend (default: auto)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="device (default: CUDA when available)")
    p.add_argument("--selftest", nargs=2, metavar=("IMAGE", "OUT.png"),
                   help="open IMAGE, colorize it, save a screenshot of the window to OUT.png and exit")
    p.add_argument("--version", action="version", version=f"colorize-app {__version__}")
    return p.parse_known_args(argv)


def app_icon() -> QIcon:
    """A disc, grey on the left and coloured on the right: before and after."""
    pix = QPixmap(64, 64)
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(QColor(120, 120, 120))
    p.drawPie(4, 4, 56, 56, 90 * 16, 180 * 16)
    colour = QLinearGradient(32, 4, 32, 60)
    colour.setColorAt(0, QColor(80, 160, 235))
    colour.setColorAt(1, QColor(240, 170, 60))
    p.setBrush(colour)
    p.drawPie(4, 4, 56, 56, -90 * 16, 180 * 16)
    p.end()
    return QIcon(pix)


def _show_unexpected(kind, value, tb) -> None:
    """Last line of defence: report an unexpected error and keep the app running (PyQt would abort)."""
    text = "".join(traceback.format_exception(kind, value, tb))
    if sys.stderr:  # a gui-script on Windows has none
        print(text, file=sys.stderr)
    if QApplication.instance() is not None:
        QMessageBox.critical(None, "Colorize: unexpected error",
                             f"{kind.__name__}: {value}\n\nThe app goes on; please report this with the details.")


def _fail(message: str) -> int:
    print(f"colorize-app: selftest: {message}", file=sys.stderr)
    return 1


def _not_a_photo(image: str) -> str | None:
    """Why IMAGE is nothing to open as a photo, or None."""
    try:
        mode = os.stat(image).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as e:
        return e.strerror or str(e)
    if stat.S_ISDIR(mode):
        return "is a folder, not a photo"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (a named pipe), not a photo"
    if not stat.S_ISREG(mode):
        return "is a device or socket, not a photo"
    return None


def selftest(image: str, out: str, weights, backend: str, device: str) -> int:
    """Open IMAGE as if dropped, colorize it, save a screenshot of the window; 0 on success."""
    problem = _not_a_photo(image)
    if problem:
        return _fail(f"{image}: {problem}")
    with tempfile.TemporaryDirectory(prefix="colorize-app-selftest-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)  # never the user's
        window = MainWindow(weights=weights, backend=backend, device=device, settings=settings)
        window.resize(1280, 800)
        window.show()
        try:
            return _selftest_run(window, image, out)
        finally:
            window.close()


def _selftest_run(window: MainWindow, image: str, out: str) -> int:
    loop = QEventLoop()
    items = window.add_paths([image])
    if not items:
        return _fail(f"{image}: not added")
    item = items[0]
    finished = (State.DONE, State.FAILED, State.CANCELLED)
    window.item_changed.connect(lambda changed: loop.quit() if item.state in finished else None)
    QTimer.singleShot(SELFTEST_TIMEOUT_S * 1000, loop.quit)
    start = time.perf_counter()
    if item.state not in finished:
        loop.exec_()
    if item.state is not State.DONE:
        reason = item.error or f"not colorized within {SELFTEST_TIMEOUT_S} s"
        return _fail(f"{image}: {reason}")
    if not window.view.has_images:
        return _fail("the view does not show the result")
    # let the view and the list paint the result before the screenshot
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:
        QApplication.processEvents(QEventLoop.AllEvents, 50)
    if not window.grab().save(out, "PNG"):
        return _fail(f"cannot write {out}")
    print(f"colorize-app: selftest: {image} colorized in {time.perf_counter() - start:.2f} s "
          f"({window.model_label.text()}); screenshot {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args, qt_args = parse_args(sys.argv[1:] if argv is None else argv)
    if QT_IMPORT_ERROR is not None:
        problem = xcb.import_problem(QT_IMPORT_ERROR)
        if problem is None:
            raise QT_IMPORT_ERROR
        print(problem, file=sys.stderr)
        return 1
    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.selftest and headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    problem = xcb.check(os.environ, qt_args)  # Qt itself would abort (status 134), with a riddle or without a word
    if problem:
        print(problem, file=sys.stderr)
        return 1
    if args.selftest:
        qInstallMessageHandler(lambda *a: None)  # Qt's own warnings (fonts, platform) are not the result
    QApplication.setAttribute(Qt.AA_EnableHighDpiScaling)
    QApplication.setAttribute(Qt.AA_UseHighDpiPixmaps)
    app = QApplication.instance() or QApplication([sys.argv[0]] + qt_args)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Colorize")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    if args.selftest:
        return selftest(*args.selftest, args.weights, args.backend, args.device)
    sys.excepthook = _show_unexpected
    window = MainWindow(weights=args.weights, backend=args.backend, device=args.device)
    window.show()
    if args.files:
        window.add_paths(args.files)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
