"""The weights bundle: one folder, one `model.json`, every model file beside it. Nothing here
unpickles anything.

    model.json          format, bins, image-model config, default temperature and working size,
                        training record and metrics; a "temporal" section when the folder has one
    model.onnx          the image U-Net for onnxruntime
    model.safetensors   the same for torch
    temporal.onnx       the video step (optional), and temporal.safetensors for torch

`load_bundle` is the one reader and `Bundle.offers` the one answer to "what can this folder do".
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
OLD_FORMAT = "colorize-weights/1"   # before the temporal model moved into model.json (temporal.json)


@dataclass
class Bundle:
    root: Path
    meta: dict              # everything in model.json: training data, steps, metrics...
    bins: ChromaBins
    model: dict             # ModelConfig as a dict (engine.model needs torch, so not imported here)
    temperature: float      # default annealed-mean temperature
    working_size: int       # long side, in pixels, at which the network sees the image
    temporal: dict | None   # the video step's config and training record, if the folder has one

    @property
    def onnx_path(self) -> Path:
        return self.root / "model.onnx"

    @property
    def safetensors_path(self) -> Path:
        return self.root / "model.safetensors"

    @property
    def temporal_onnx_path(self) -> Path:
        return self.root / "temporal.onnx"

    @property
    def temporal_safetensors_path(self) -> Path:
        return self.root / "temporal.safetensors"

    @property
    def offers(self) -> frozenset[str]:
        """What this folder can do: "image" always, "temporal" when it has a video step."""
        temporal = self.temporal is not None and self.temporal_onnx_path.is_file()
        return frozenset({"image"} | ({"temporal"} if temporal else set()))


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
        temporal = meta.get("temporal")
        if meta["format"] == OLD_FORMAT and (root / "temporal.json").is_file():
            temporal = {k: v for k, v in json.loads((root / "temporal.json").read_text()).items() if k != "format"}
        if temporal is not None:
            int(temporal["config"]["window"]), int(temporal["config"]["width"])
        return Bundle(root, meta, bins, meta["model"], float(meta["temperature"]), int(meta["working_size"]),
                      temporal)
    except (ValueError, KeyError, TypeError) as e:
        raise ColorizeError(f"weights metadata {meta_path} is corrupt: {e}") from None


def _export_onnx(model, inputs: tuple, path: Path, input_names: list[str], output_name: str, axes: dict) -> None:
    import warnings

    import torch

    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but handles these nets exactly
        warnings.simplefilter("ignore")
        torch.onnx.export(model, inputs, str(path), input_names=input_names, output_names=[output_name],
                          dynamic_axes=axes, opset_version=17, dynamo=False)


def _write_meta(root: Path, meta: dict) -> None:
    (root / "model.json").write_text(json.dumps(meta, indent=1))


def _share(root: Path, names) -> None:
    for f in names:
        os.chmod(root / f, 0o644)  # safetensors writes 0600; the weights are meant to be shared


def save_bundle(model, bins: ChromaBins, root: str | os.PathLike, *, temperature: float,
                working_size: int, extra: dict | None = None) -> Bundle:
    """Write a trained engine.model.UNet as safetensors + ONNX + model.json (needs torch and onnx).
    A temporal model already in the folder is kept."""
    import torch
    from safetensors.torch import save_file

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    old = load_bundle(root) if (root / "model.json").is_file() else None
    model = model.eval().cpu()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(root / "model.safetensors"))
    _export_onnx(model, (torch.rand(1, 1, 64, 64),), root / "model.onnx", ["y"], "logits",
                 {"y": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch", 2: "height2", 3: "width2"}})
    meta = {"format": FORMAT, "model": model.cfg.to_dict(), "bins": bins.to_dict(),
            "temperature": temperature, "working_size": working_size, **(extra or {})}
    if old is not None and old.temporal is not None:
        meta["temporal"] = old.temporal
    _write_meta(root, meta)
    _share(root, ("model.safetensors", "model.onnx", "model.json"))
    return load_bundle(root)


def save_temporal(model, root: str | os.PathLike, extra: dict | None = None) -> Bundle:
    """Add a trained engine.temporal_model.TemporalBlend to the weights folder root (which must
    hold an image model): temporal.safetensors, temporal.onnx and model.json's "temporal" section."""
    import torch
    from safetensors.torch import save_file

    root = Path(root)
    bundle = load_bundle(root)
    model = model.eval().cpu()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(root / "temporal.safetensors"))
    k, h, w = model.cfg.window, 24, 32
    dummy = (torch.rand(1, 1, h, w), torch.rand(1, 2, h, w) - 0.5, torch.rand(1, k - 1, h, w),
             torch.rand(1, 2 * (k - 1), h, w) - 0.5)
    names = ["y", "uv", "prev_y", "prev_uv"]
    _export_onnx(model, dummy, root / "temporal.onnx", names, "uv_out",
                 {n: {2: "height", 3: "width"} for n in names + ["uv_out"]})
    meta = {**bundle.meta, "format": FORMAT, "temporal": {"config": model.cfg.to_dict(), **(extra or {})}}
    _write_meta(root, meta)
    (root / "temporal.json").unlink(missing_ok=True)  # the old format's file, now in model.json
    _share(root, ("temporal.safetensors", "temporal.onnx", "model.json"))
    return load_bundle(root)
