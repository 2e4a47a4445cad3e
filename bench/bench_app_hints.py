"""How long a colour hint change takes to reach the desktop app's view on a 12 MP photo:
`python bench/bench_app_hints.py [--size 4000x3000] [--changes 10]`.

The shipped weights take no hints, so the shipped model is copied into a U-Net with hint inputs
(its hint convolution random: the cost is what is measured here, not the colours). The app runs
offscreen; each change (a point added through the undo history, as a click on a swatch does) is
timed from the change until the view holds the new result and has painted it. Prints the median
and the slowest of the changes, and the worker's share (the app's "Last run": network, full
resolution render, display copy).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def hint_weights(root: Path) -> Path:
    """The shipped model with hint inputs added (random hint convolution)."""
    import torch

    from engine import load_bundle
    from engine.model import load_model
    from engine.weights import save_bundle

    shipped = load_bundle()
    model = load_model(shipped, hints=True)
    torch.manual_seed(0)
    torch.nn.init.normal_(model.hint_in.weight, std=0.5)
    save_bundle(model, shipped.bins, root, temperature=shipped.temperature, working_size=shipped.working_size)
    return root


def grey_photo(path: Path, w: int, h: int) -> Path:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    arr = 110 + 70 * np.sin(x / 37.0) * np.cos(y / 51.0) + 40 * (x > w / 2)
    Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(path, quality=92)
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="4000x3000", help="photo size WxH (default 4000x3000, 12 MP)")
    p.add_argument("--changes", type=int, default=10, help="hint changes to time (default 10)")
    args = p.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))

    from PyQt5.QtCore import QEventLoop, QSettings, QTimer
    from PyQt5.QtWidgets import QApplication

    from engine import Hint
    from plugin.desktop.items import State
    from plugin.desktop.window import MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights, photo = hint_weights(tmp / "weights"), grey_photo(tmp / "photo.jpg", w, h)
        win = MainWindow(weights=weights, backend="onnx", settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat))
        win.resize(1280, 800)
        win.show()
        loop = QEventLoop()

        def wait(done) -> None:
            """Run the event loop until done() holds (checked at every item change), 120 s at most."""
            def check(*_):
                if done():
                    loop.quit()
            win.item_changed.connect(check)
            win.model_changed.connect(check)
            QTimer.singleShot(120_000, loop.quit)
            if not done():
                loop.exec_()
            win.item_changed.disconnect(check)
            win.model_changed.disconnect(check)

        wait(lambda: win.model is not None)
        (item,) = win.add_paths([photo])
        wait(lambda: item.state is State.DONE and not win.queue.busy)
        assert item.state is State.DONE, item.error
        rng = np.random.default_rng(0)
        totals, worker = [], []
        for _ in range(args.changes):
            shown = win.view.after
            hint = Hint(int(rng.integers(w)), int(rng.integers(h)), tuple(int(c) for c in rng.integers(0, 256, 3)))
            start = time.perf_counter()
            win.hint_history.add(item, hint)
            wait(lambda: win.view.after is not shown)
            win.view.repaint()  # the paint itself (the view scales the new result to the window)
            totals.append(time.perf_counter() - start)
            worker.append(item.seconds)
            app.processEvents()
        win.close()
    print(f"{w}x{h} ({w * h / 1e6:.0f} MP), {len(os.sched_getaffinity(0))} core(s), {args.changes} changes: "
          f"change -> view painted median {statistics.median(totals):.2f} s, slowest {max(totals):.2f} s; "
          f"of which the worker's network, render and display copy median {statistics.median(worker):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
