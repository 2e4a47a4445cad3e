"""Speed and memory of the engine, measured in one run: `python bench/bench.py [--weights DIR]`.

Prints, for both backends: parameters; network forward latency at 256x256 next to a reference
network with the architecture of Zhang et al. 2016 (ECCV16, random weights: it only measures cost);
end-to-end time (decode -> colorize -> encode) at 1 MP and 12 MP against just decoding and encoding
the same image; and peak memory of a 12 MP colorization above the idle process.
Targets (2-core CPU): forward >= 30x faster than the reference; 12 MP end to end <= 2x decode+encode;
12 MP peak <= 400 MB above idle.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def zhang_eccv16():
    """Zhang et al. 2016's colorization network (313 classes, 32M parameters), random weights."""
    import torch.nn as nn

    def block(cin, cout, n, stride_last=1, dilation=1):
        layers = []
        for i in range(n):
            s = stride_last if i == n - 1 else 1
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, s, padding=dilation, dilation=dilation),
                       nn.ReLU(True)]
        return layers + [nn.BatchNorm2d(cout)]

    return nn.Sequential(
        *block(1, 64, 2, 2), *block(64, 128, 2, 2), *block(128, 256, 3, 2), *block(256, 512, 3),
        *block(512, 512, 3, dilation=2), *block(512, 512, 3, dilation=2), *block(512, 512, 3),
        nn.ConvTranspose2d(512, 256, 4, 2, 1), nn.ReLU(True), nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(True),
        nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(True), nn.Conv2d(256, 313, 1))


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def forward_latencies(weights: str, size: int, repeat: int) -> dict:
    import onnxruntime as ort
    import torch

    from engine import Colorizer
    from engine.model import n_params

    x = np.random.default_rng(0).random((1, 1, size, size), dtype=np.float32)
    ours = {b: Colorizer(weights, backend=b, device="cpu") for b in ("onnx", "torch")}
    ref = zhang_eccv16().eval()
    out = {"params_ours": n_params(ours["torch"].net.model), "params_reference": n_params(ref)}
    for b, c in ours.items():
        out[f"forward_ours_{b}_s"] = best_of(lambda: c.net(x), repeat)
    with torch.inference_mode():
        out["forward_reference_torch_s"] = best_of(lambda: ref(torch.from_numpy(x)), max(1, repeat // 3))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ref.onnx")
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(ref, (torch.from_numpy(x),), path, input_names=["y"], dynamo=False, opset_version=17)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        out["forward_reference_onnx_s"] = best_of(lambda: sess.run(None, {"y": x}), max(1, repeat // 3))
    return out


CHILD = r"""
import json, os, sys, threading, time
sys.path.insert(0, {root!r})
from engine import Colorizer
from engine.imageio import read_image, write_image
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
src, dst, backend, weights, mode = sys.argv[1:6]
c = Colorizer(weights, backend=backend, device="cpu")
c.colorize(read_image(src).resize((64, 48)))  # warm the session up outside the timing
idle, peak, done = rss_mb(), [0.0], threading.Event()
def sample():  # /proc's own peak counter cannot be reset everywhere, so poll the resident size
    while not done.is_set():
        peak[0] = max(peak[0], rss_mb())
        time.sleep(0.002)
sampler = threading.Thread(target=sample)
sampler.start()
t = time.perf_counter()
if mode == "colorize":
    c.colorize_file(src, dst)
else:  # just decode and encode the same image, as RGB like the colorized output
    write_image(read_image(src).convert("RGB"), dst)
elapsed = time.perf_counter() - t
done.set()
sampler.join()
print(json.dumps({{"seconds": elapsed, "peak_above_idle_mb": peak[0] - idle}}))
"""


def end_to_end(weights: str, backend: str, src: Path, mode: str) -> dict:
    """One colorization (or plain decode+encode) in a fresh process, so memory is measured cleanly."""
    with tempfile.TemporaryDirectory() as tmp:
        code = CHILD.format(root=str(Path(__file__).resolve().parents[1]))
        r = subprocess.run([sys.executable, "-c", code, str(src), os.path.join(tmp, "out" + src.suffix),
                            backend, weights, mode], capture_output=True, text=True, check=True)
        return json.loads(r.stdout.strip().splitlines()[-1])


def test_photo(path: Path, width: int, height: int, source: Path | None) -> Path:
    """A greyscale JPEG of the given size, from a real photo when one is given (else a synthetic one)."""
    if source:
        im = Image.open(source).convert("L").resize((width, height), Image.BICUBIC)
    else:
        y, x = np.mgrid[0:height, 0:width]
        im = Image.fromarray((128 + 100 * np.sin(x / 50) * np.cos(y / 70)).astype(np.uint8))
    im.save(path, quality=92)
    return path


def ensure_weights(weights: str | None, tmp: str) -> tuple[str, str]:
    """The shipped weights, or a random model of the same architecture when none are shipped yet."""
    from engine.weights import default_weights_dir
    root = Path(weights) if weights else default_weights_dir()
    if (root / "model.json").exists():
        return str(root), "trained weights"
    import torch
    from engine.color import ChromaBins, rgb_to_yuv, uv_histogram
    from engine.model import ModelConfig, UNet
    from engine.weights import save_bundle
    uv = rgb_to_yuv(np.random.default_rng(0).random((50000, 3)))[:, 1:]
    bins = ChromaBins.from_histogram(uv_histogram(uv, 0.03), 0.03, 256)
    torch.manual_seed(0)
    save_bundle(UNet(ModelConfig(bins.n)), bins, tmp, temperature=0.4, working_size=256)
    return tmp, "RANDOM weights of the shipped architecture (no trained weights found)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=None)
    p.add_argument("--photo", default=None, help="a real photo to scale up for the 1 MP / 12 MP tests")
    p.add_argument("--repeat", type=int, default=10)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        weights, what = ensure_weights(a.weights, os.path.join(tmp, "w"))
        print(f"weights: {what}; CPU threads: {os.cpu_count()}")
        f = forward_latencies(weights, 256, a.repeat)
        print(f"parameters: ours {f['params_ours']:,}, reference (Zhang ECCV16) {f['params_reference']:,}")
        print("\nforward at 256x256 (best of runs)")
        for b in ("onnx", "torch"):
            ours, ref = f[f"forward_ours_{b}_s"], f[f"forward_reference_{b}_s"]
            print(f"  {b:5s}: ours {1000 * ours:7.1f} ms, reference {1000 * ref:8.1f} ms, "
                  f"{ref / ours:5.1f}x faster (target >= 30x)")
        source = Path(a.photo) if a.photo else None
        print("\nend to end: decode -> colorize -> encode (JPEG), one fresh process per run")
        for name, (w, h) in {"1 MP": (1155, 866), "12 MP": (4000, 3000)}.items():
            src = test_photo(Path(tmp) / f"in-{w}.jpg", w, h, source)
            base = end_to_end(weights, "onnx", src, "copy")
            print(f"  {name:5s} decode+encode only: {base['seconds']:.2f} s, peak +{base['peak_above_idle_mb']:.0f} MB")
            for b in ("onnx", "torch"):
                r = end_to_end(weights, b, src, "colorize")
                print(f"  {name:5s} {b:5s}: {r['seconds']:.2f} s = {r['seconds'] / base['seconds']:.2f}x "
                      f"decode+encode (target <= 2x), peak +{r['peak_above_idle_mb']:.0f} MB above idle "
                      f"(target <= 400 MB)")


if __name__ == "__main__":
    main()
