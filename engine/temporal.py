"""The temporal step at run time: optical flow on the low-resolution luminance, motion-compensated
history of the last outputs, and the small ONNX network that blends them (engine/temporal_model.py
has its torch twin and explains the design). No torch here.

Its files live in the weights folder beside the image model's (see weights.py): temporal.onnx
(what runs), temporal.safetensors (training, torch) and the "temporal" section of model.json.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .backends import check_model_file
from .errors import ColorizeError
from .weights import Bundle

LUMA_GAIN = 8.0  # |Y - warped past Y| is small; scaled so that the network's first layer sees it


@dataclass
class TemporalConfig:
    window: int = 3      # K: the current frame and K-1 past outputs
    width: int = 24      # channels of the blending network

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TemporalConfig":
        return cls(window=int(d["window"]), width=int(d["width"]))


class TemporalSession:
    """A weights folder's video step, run by onnxruntime on the CPU (it is tiny)."""

    def __init__(self, bundle: Bundle):
        import onnxruntime as ort

        if "temporal" not in bundle.offers:
            raise ColorizeError(f"no temporal model in {bundle.root}: "
                                "use --frame-by-frame, or train one with training.train_temporal")
        self.cfg = TemporalConfig.from_dict(bundle.temporal["config"])
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # One thread that sleeps when idle: a second spinning thread pool beside the image
        # model's would fight it for the cores (measured: 30 -> 16 frames/s on 2 cores).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = bundle.temporal_onnx_path
        check_model_file(path)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 -- onnxruntime's own exception types
            raise ColorizeError(f"weights file {path} is corrupt or truncated "
                                f"({str(e).splitlines()[0][:120]})") from None

    def __call__(self, y, uv, prev_y, prev_uv) -> np.ndarray:
        """Channel-first float32 arrays with a batch of 1, as TemporalBlend.forward takes them."""
        feeds = {"y": y, "uv": uv, "prev_y": prev_y, "prev_uv": prev_uv}
        return self.session.run(None, {k: np.ascontiguousarray(v, np.float32) for k, v in feeds.items()})[0]


def to_u8(y: np.ndarray) -> np.ndarray:
    """Luminance in [0, 1] as the uint8 image DIS flow wants."""
    return np.clip(y * 255 + 0.5, 0, 255).astype(np.uint8)


def flow_to_previous(cur: np.ndarray, prev: np.ndarray, dis=None) -> np.ndarray:
    """Per-pixel displacement (h, w, 2) such that cur(x) ~ prev(x + flow(x)); uint8 inputs (DIS)."""
    dis = dis or cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    return dis.calc(cur, prev, None)


def warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample img (h, w[, c]) at x + flow(x): the past brought into the current frame (bilinear)."""
    h, w = flow.shape[:2]
    grid = np.mgrid[0:h, 0:w].astype(np.float32)
    out = cv2.remap(img, grid[1] + flow[..., 0], grid[0] + flow[..., 1], cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(img.shape)


class TemporalState:
    """One video's memory: the previous luminance and the last K-1 outputs, aligned to it."""

    def __init__(self, net: TemporalSession):
        self.net, self.k = net, net.cfg.window
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.prev_y: np.ndarray | None = None          # (h, w) float32
        self.past: list[np.ndarray] = []                # K-1 of (h, w, 3): luminance and uv, newest first

    def __call__(self, y: np.ndarray, uv: np.ndarray) -> np.ndarray:
        """Low-resolution luminance (h, w) in [0, 1] and this frame's chroma (h, w, 2) -> blended chroma."""
        y = np.ascontiguousarray(y, np.float32)
        first = self.prev_y is None or self.prev_y.shape != y.shape  # nothing to agree with yet
        if first:
            out = uv
        else:
            flow = flow_to_previous(to_u8(y), to_u8(self.prev_y), self.dis)
            self.past = [warp(p, flow) for p in self.past]
            chw = lambda a: np.moveaxis(a, -1, 0)[None]  # noqa: E731
            prev_y = np.concatenate([chw(p[..., :1]) for p in self.past], 1)
            prev_uv = np.concatenate([chw(p[..., 1:]) for p in self.past], 1)
            out = np.moveaxis(self.net(y[None, None], chw(uv), prev_y, prev_uv)[0], 0, -1)
        entry = np.dstack([y, out]).astype(np.float32)
        # the window starts filled with the first frame; afterwards the oldest output drops out
        self.past = [entry] * (self.k - 1) if first else [entry] + self.past[:self.k - 2]
        self.prev_y = y
        return np.ascontiguousarray(out, np.float32)
