"""Two ways to run the same network: onnxruntime (the CPU default, no torch needed) and torch
(for CUDA, or on request). Both take luminance (B, 1, H, W) float32 and return logits
(B, n_bins, H/2, W/2) float32 as numpy arrays."""
from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np

from .errors import ColorizeError
from .weights import Bundle

BACKENDS = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "cuda")


def check_model_file(path) -> None:
    """A weights file must exist and be a regular file (a link to /dev/zero is neither missing nor usable)."""
    if not os.path.lexists(path):
        raise ColorizeError(f"weights file missing: {path}")
    if not os.path.isfile(path):
        raise ColorizeError(f"weights file {path} is not a regular file (a device, folder or broken link)")


class OnnxBackend:
    name = "onnx"

    def __init__(self, bundle: Bundle, device: str):
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
        if device == "cuda" and not has_cuda:
            raise ColorizeError("device cuda: this onnxruntime has no CUDA support "
                                "(install onnxruntime-gpu, or use --backend torch)")
        if device != "cpu" and has_cuda:
            providers.insert(0, "CUDAExecutionProvider")
        check_model_file(bundle.onnx_path)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # onnxruntime's own warnings are not the user's business
        allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
        if 0 < allowed < (os.cpu_count() or 0):
            # onnxruntime sizes its thread pool by the machine's cores and pins a thread to each,
            # even to cores this process may not use (taskset, a container's cpuset), where it
            # competes with other work: use only the cores we are given.
            options.intra_op_num_threads = allowed
        try:
            self.session = ort.InferenceSession(str(bundle.onnx_path), options, providers=providers)
        except Exception as e:  # onnxruntime raises its own exception types for bad files
            raise ColorizeError(f"weights file {bundle.onnx_path} is corrupt or truncated "
                                f"({str(e).splitlines()[0][:120]})") from None
        self.device = "cuda" if self.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        self.takes_hints = any(i.name == "hints" for i in self.session.get_inputs())

    def __call__(self, y: np.ndarray, hints: np.ndarray | None = None) -> np.ndarray:
        """y (B, 1, H, W); hints (B, 3, H, W) for a model that takes them (None: no hint anywhere)."""
        feeds = {"y": np.ascontiguousarray(y, np.float32)}
        if self.takes_hints:
            b, _, h, w = y.shape
            feeds["hints"] = np.zeros((b, 3, h, w), np.float32) if hints is None else np.ascontiguousarray(hints, np.float32)
        return self.session.run(None, feeds)[0]


class TorchBackend:
    name = "torch"

    def __init__(self, bundle: Bundle, device: str):
        import torch

        from .model import load_model

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise ColorizeError("device cuda: torch sees no CUDA GPU")
        check_model_file(bundle.safetensors_path)
        self.torch, self.device = torch, device
        self.model = load_model(bundle).to(device)

    def __call__(self, y: np.ndarray, hints: np.ndarray | None = None) -> np.ndarray:
        """y (B, 1, H, W); hints (B, 3, H, W) for a model that takes them (None: no hint anywhere)."""
        with self.torch.inference_mode():
            to = lambda a: self.torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(self.device)  # noqa: E731
            return self.model(to(y), None if hints is None else to(hints)).float().cpu().numpy()


def _cuda_driver_present() -> bool:
    """Cheap check for an NVIDIA driver, so that CPU-only machines never pay torch's import."""
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version")
    if sys.platform == "win32":
        import ctypes.util
        return ctypes.util.find_library("nvcuda") is not None
    return False


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def open_backend(bundle: Bundle, backend: str = "auto", device: str = "auto"):
    """Pick and open a backend; "auto" prefers CUDA when there is one, else onnxruntime on the CPU."""
    if backend not in BACKENDS:
        raise ColorizeError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if device not in DEVICES:
        raise ColorizeError(f"unknown device {device!r} (choose from {', '.join(DEVICES)})")
    if backend == "auto":
        has_ort, has_torch = _installed("onnxruntime"), _installed("torch")
        if device != "cpu" and has_ort:
            import onnxruntime as ort
            if "CUDAExecutionProvider" in ort.get_available_providers():
                backend, device = "onnx", "cuda"
        if backend == "auto" and device != "cpu" and has_torch and _cuda_driver_present():
            import torch
            if torch.cuda.is_available():
                backend, device = "torch", "cuda"
        if backend == "auto":
            if device == "cuda":
                raise ColorizeError("device cuda: no CUDA GPU usable by onnxruntime or torch")
            if not (has_ort or has_torch):
                raise ColorizeError("no backend installed: pip install onnxruntime (or torch)")
            backend, device = ("onnx" if has_ort else "torch"), "cpu"
    if backend == "onnx":
        if not _installed("onnxruntime"):
            raise ColorizeError("backend onnx needs onnxruntime: pip install onnxruntime")
        net = OnnxBackend(bundle, device)
    else:
        if not (_installed("torch") and _installed("safetensors")):
            raise ColorizeError("backend torch needs torch and safetensors: pip install 'colorize[torch]'")
        net = TorchBackend(bundle, device)
    n_out = net(np.zeros((1, 1, 8, 8), np.float32)).shape[1]  # a few microseconds; catches a wrong file
    if n_out != bundle.bins.n:
        raise ColorizeError(f"weights mismatch: the network predicts {n_out} bins, model.json has {bundle.bins.n}")
    return net
