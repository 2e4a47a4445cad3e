"""The weights bundle: one folder, one `model.json`, every model file beside it. Nothing here
unpickles anything.

    model.json          format, bins, image-model config, default temperature and working size,
                        training record and metrics
    model.onnx          the image U-Net for onnxruntime
    model.safetensors   the same for torch

`load_bundle` is the one reader. Folders from before the video step became parameter-free
(engine/temporal.py) may still hold temporal.* files and a "temporal" section: they are ignored.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .color import ChromaBins
from .errors import ColorizeError

DEFAULT_DIR = Path(__file__).parent / "weights"
FORMAT = "colorize-weights/2"
OLD_FORMAT = "colorize-weights/1"   # the same files; it kept a learned video step in temporal.json


@dataclass
class Bundle:
    root: Path
    meta: dict              # everything in model.json: training data, steps, metrics...
    bins: ChromaBins
    model: dict             # ModelConfig as a dict (engine.model needs torch, so not imported here)
    temperature: float      # default annealed-mean temperature
    working_size: int       # long side, in pixels, at which the network sees the image

    @property
    def onnx_path(self) -> Path:
        return self.root / "model.onnx"

    @property
    def safetensors_path(self) -> Path:
        return self.root / "model.safetensors"


def default_weights_dir() -> Path:
    """$COLORIZE_WEIGHTS if set, else the weights shipped inside the package."""
    return Path(os.environ.get("COLORIZE_WEIGHTS") or DEFAULT_DIR)


def load_bundle(root: str | os.PathLike | None = None) -> Bundle:
    """Read and check model.json; the model files are checked when a backend opens them."""
    root = Path(root) if root else default_weights_dir()
    meta_path = root / "model.json"
    if not meta_path.is_file():
        raise ColorizeError(f"no weights at {root} (model.json missing): train and export a model, "
                            "or point --weights / COLORIZE_WEIGHTS at a weights folder")
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("format") not in (FORMAT, OLD_FORMAT):
            raise ValueError(f"format is {meta.get('format')!r}, expected {FORMAT!r}")
        bins = ChromaBins.from_dict(meta["bins"])
        if int(meta["model"]["n_bins"]) != bins.n:
            raise ValueError(f"model predicts {meta['model']['n_bins']} bins but {bins.n} bins are stored")
        return Bundle(root, meta, bins, meta["model"], float(meta["temperature"]), int(meta["working_size"]))
    except (ValueError, KeyError, TypeError) as e:
        raise ColorizeError(f"weights metadata {meta_path} is corrupt: {e}") from None


def _export_onnx(model, inputs: tuple, path: Path, input_names: list[str], output_name: str, axes: dict) -> None:
    import warnings

    import torch

    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but handles these nets exactly
        warnings.simplefilter("ignore")
        torch.onnx.export(model, inputs, str(path), input_names=input_names, output_names=[output_name],
                          dynamic_axes=axes, opset_version=17, dynamo=False)


def _share(root: Path, names) -> None:
    for f in names:
        os.chmod(root / f, 0o644)  # safetensors writes 0600; the weights are meant to be shared


def save_bundle(model, bins: ChromaBins, root: str | os.PathLike, *, temperature: float,
                working_size: int, extra: dict | None = None) -> Bundle:
    """Write a trained engine.model.UNet as safetensors + ONNX + model.json (needs torch and onnx).

    The bundle is written in a new folder beside root and then put in root's place, keeping root's
    other files (a model card): a reader never sees a half-written or mismatched set of files."""
    import shutil
    import tempfile

    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-new-", dir=root.parent))
    try:
        _write_bundle(model, bins, tmp, temperature, working_size, extra)
        if root.is_dir():
            for f in root.iterdir():
                if f.is_file() and not (tmp / f.name).exists():
                    shutil.copy2(f, tmp / f.name)
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}-old-", dir=root.parent))
            os.replace(root, old / root.name)
            os.replace(tmp, root)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, root)
        os.chmod(root, 0o755)  # mkdtemp makes it private; weights are meant to be shared
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return load_bundle(root)


def _write_bundle(model, bins: ChromaBins, root: Path, temperature: float, working_size: int,
                  extra: dict | None) -> None:
    import torch
    from safetensors.torch import save_file

    model = model.eval().cpu()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(root / "model.safetensors"))
    inputs, names = (torch.rand(1, 1, 64, 64),), ["y"]
    if model.cfg.hints:  # the hint planes: U, V and mask at the input's size
        inputs, names = inputs + (torch.zeros(1, 3, 64, 64),), names + ["hints"]
    axes = {n: {0: "batch", 2: "height", 3: "width"} for n in names}
    _export_onnx(model, inputs, root / "model.onnx", names, "logits",
                 {**axes, "logits": {0: "batch", 2: "height2", 3: "width2"}})
    meta = {"format": FORMAT, "model": model.cfg.to_dict(), "bins": bins.to_dict(),
            "temperature": temperature, "working_size": working_size, **(extra or {})}
    (root / "model.json").write_text(json.dumps(meta, indent=1))
    _share(root, ("model.safetensors", "model.onnx", "model.json"))
