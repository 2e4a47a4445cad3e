"""The colorization U-Net: luminance in, logits over the chroma bins out (at half resolution).

Three downsampling groups (1/2, 1/4, 1/8), skip connections between the encoder and decoder
layers of the same size, dilated convolutions and a global-context vector at the bottleneck for a
wide receptive field. Chroma is low-frequency, so the head stops at 1/2 resolution; the pipeline
upsamples the colour guided by the full-resolution luminance.

With `hints`, the net also takes the user's colour hints at the input resolution (Zhang et al.
2017): the hint chroma U, V and a mask that is 1 where a hint is. Two designs (`hint_design`):

- "stem" (v0.2): the planes enter through their own convolution, added to the luminance's before
  the stem's norm; its weights start at zero, so a model fine-tuned from an automatic one starts
  out exactly as that model. Measured (issue 20): the hints then reach the global-context vector,
  and one hint recolours the whole photo.
- "local": the encoder and the global context see luminance only. The planes, pooled to 1/8 and
  1/2, enter after the global context through a small branch with no biases and no norms, whose
  every operation maps 0 to 0: with no hints the model gives EXACTLY its automatic output, so one
  model serves both uses. At 1/8 a few dilated convolutions spread the hint colours, gated by
  the luminance features so that colour follows regions (HintSpread); at 1/2 a convolution of the
  planes adds sharp colour at the point to the decoder's last features, and another adds to the
  logits directly (a bin's logit linear in the hint's U, V and mask can peak at any bin; through
  the head's 32 features it could only approximately, measured: the hint's own colour then came
  out 6-7 ab units off). All join the network through zero-initialised convolutions: a model
  built from an automatic one starts as that model.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

HINT_DESIGNS = ("stem", "local")
HINT_SPREAD_WIDTH = 32            # channels of the local design's hint branch at 1/8
HINT_SPREAD_DILATIONS = (1, 2, 4)  # its 3x3 layers: a reach of 7 cells at 1/8, 56 input pixels


@dataclass
class ModelConfig:
    n_bins: int = 256
    widths: tuple[int, int, int] = (32, 64, 128)  # channels at 1/2, 1/4, 1/8 resolution
    bottleneck_blocks: int = 3                      # dilated 3x3 convs at 1/8 resolution
    hints: bool = False                             # takes (U, V, mask) hint planes as well
    hint_design: str = "stem"                       # where hints enter: "stem" (v0.2) or "local"
    grown_blocks: int = 0                           # residual blocks added at 1/8 (capacity grown from a model)

    def __post_init__(self):
        if self.hint_design not in HINT_DESIGNS:
            raise ValueError(f"unknown hint design {self.hint_design!r} (choose from {', '.join(HINT_DESIGNS)})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """The config saved in a model.json; one from before hint designs (v0.2) is "stem"."""
        return cls(n_bins=int(d["n_bins"]), widths=tuple(int(w) for w in d["widths"]),
                   bottleneck_blocks=int(d["bottleneck_blocks"]), hints=bool(d.get("hints", False)),
                   hint_design=str(d.get("hint_design", "stem")), grown_blocks=int(d.get("grown_blocks", 0)))


def conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 conv, batch norm, ReLU (the norm folds into the conv at export)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def pool_hints(hints: torch.Tensor, factor: int) -> torch.Tensor:
    """Hint planes (B, 3, H, W) -> (B, 3, H/factor, W/factor): each cell's mean hint colour U, V
    over its hinted pixels, and 1 where any pixel of it is hinted. A plain average would dilute a
    3x3-pixel point to 9/64 of its colour at 1/8; this keeps a hint's colour whatever its size.
    Zero planes give zero planes (exactly)."""
    mask = hints[:, 2:3]
    cover = F.avg_pool2d(mask, factor)                                            # (B, 1, h, w)
    uv = F.avg_pool2d(hints[:, :2] * mask, factor) / cover.clamp(min=1e-6)       # (B, 2, h, w)
    return torch.cat([uv, (cover > 0).to(uv.dtype)], 1)


class HintSpread(nn.Module):
    """The local design's hint branch at 1/8: spreads the pooled hint colours over the regions
    the luminance features outline, and returns what to add to those features.

    No biases and no norms in the path of the hints, and each step maps 0 to 0 (a bias-free conv,
    a product with the gate, ReLU): zero hints give exactly zero, so the model with no hints is
    exactly its automatic model, whatever these weights are. The gates may have biases: they
    only multiply the hint path."""

    def __init__(self, channels: int, width: int = HINT_SPREAD_WIDTH, dilations=HINT_SPREAD_DILATIONS):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(3 if i == 0 else width, width, 3, padding=d, dilation=d, bias=False)
                                   for i, d in enumerate(dilations))
        self.gates = nn.ModuleList(nn.Conv2d(channels, width, 1) for _ in dilations)
        self.out = nn.Conv2d(width, channels, 1, bias=False)
        nn.init.zeros_(self.out.weight)  # joins the network at zero: function-preserving at the start

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """h (B, 3, h, w) pooled hint planes, x (B, C, h, w) the luminance features -> (B, C, h, w)."""
        for conv, gate in zip(self.convs, self.gates):
            h = F.relu(conv(h) * torch.sigmoid(gate(x)))  # (B, width, h, w): the spread, stopped where the gate closes
        return self.out(h)


class Grown(nn.Module):
    """A residual block added at 1/8 to grow a trained model: conv + norm + ReLU, then a 3x3 conv
    that starts at zero, so the grown model computes exactly what it was grown from until it trains."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.body = conv(channels, channels, dilation=dilation)
        self.out = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        nn.init.zeros_(self.out.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.out(self.body(x))


class UNet(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3 = cfg.widths
        self.stem = conv(1, 16)                                   # full resolution
        if cfg.hints and cfg.hint_design == "stem":
            self.hint_in = nn.Conv2d(3, 16, 3, padding=1, bias=False)
            nn.init.zeros_(self.hint_in.weight)
        self.down1 = nn.Sequential(conv(16, c1, 2), conv(c1, c1))  # 1/2
        self.down2 = nn.Sequential(conv(c1, c2, 2), conv(c2, c2))  # 1/4
        self.down3 = conv(c2, c3, 2)                               # 1/8
        self.middle = nn.Sequential(*[conv(c3, c3, dilation=2 ** (i % 3))
                                      for i in range(cfg.bottleneck_blocks)])
        self.grown = nn.Sequential(*[Grown(c3, 2 ** (i % 3)) for i in range(cfg.grown_blocks)])
        self.context = nn.Linear(c3, c3)  # whole-image summary: a beach is bright, a forest green
        if cfg.hints and cfg.hint_design == "local":
            self.hint_spread = HintSpread(c3)                                  # 1/8: colour over regions
            self.hint_fine = nn.Conv2d(3, c1, 3, padding=1, bias=False)       # 1/2: colour at the point
            self.hint_head = nn.Conv2d(3, cfg.n_bins, 3, padding=1, bias=False)  # 1/2: ... and its logits
            nn.init.zeros_(self.hint_fine.weight)
            nn.init.zeros_(self.hint_head.weight)
        self.up2 = nn.Sequential(conv(c3 + c2, c2), conv(c2, c2))  # 1/4
        self.up1 = nn.Sequential(conv(c2 + c1, c1), conv(c1, c1))  # 1/2
        self.head = nn.Conv2d(c1, cfg.n_bins, 1)

    def hints_enter(self, design: str, hints: torch.Tensor | None) -> bool:
        """True when hints are given and this model takes them through `design`."""
        return self.cfg.hints and self.cfg.hint_design == design and hints is not None

    def features(self, y: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder features at 1/2 resolution before the local design's point hints; y is
        (B, 1, H, W) luminance in [0, 1], hints (B, 3, H, W) the hint U, V and mask (models with
        hints; None = no hint anywhere)."""
        conv_y, norm_relu = self.stem[0], self.stem[1:]
        x = conv_y(y - 0.5)                      # (B, 16, H, W)
        if self.hints_enter("stem", hints):
            x = x + self.hint_in(hints)
        x = norm_relu(x)
        s1 = self.down1(x)                       # (B, c1, H/2, W/2)
        s2 = self.down2(s1)                      # (B, c2, H/4, W/4)
        x = self.grown(self.middle(self.down3(s2)))  # (B, c3, H/8, W/8)
        g = self.context(x.mean(dim=(2, 3)))     # (B, c3)
        x = x + g[:, :, None, None]
        if self.hints_enter("local", hints):  # after g: the whole-image summary never sees a hint
            x = x + self.hint_spread(pool_hints(hints, 8), x)  # (B, c3, H/8, W/8)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = self.up2(torch.cat([x, s2], 1))      # (B, c2, H/4, W/4)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.up1(torch.cat([x, s1], 1))   # (B, c1, H/2, W/2)

    def forward(self, y: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """Logits over the bins, (B, n_bins, H/2, W/2)."""
        x = self.features(y, hints)
        if not self.hints_enter("local", hints):
            return self.head(x)
        h = pool_hints(hints, 2)                 # (B, 3, H/2, W/2): colour at the point, into both
        return self.head(x + self.hint_fine(h)) + self.hint_head(h)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_model(bundle, hints: bool | None = None) -> UNet:
    """The UNet of a weights bundle (engine.weights.Bundle), in eval mode on the CPU: the one way a
    saved model becomes a torch module (backends, training's teacher and --init, benchmarks).
    hints=False builds the automatic model alone (a hint model's hint inputs are left out), True
    gives an automatic model fresh hint inputs of its config's design (zero where they join: it
    still computes the automatic model's output). Hint parameters are the ones named hint_*."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .errors import ColorizeError

    cfg = ModelConfig.from_dict(bundle.model)
    cfg = cfg if hints is None else replace(cfg, hints=hints)
    model = UNet(cfg)
    try:
        state = load_file(str(bundle.safetensors_path))
    except (SafetensorError, OSError) as e:
        raise ColorizeError(f"weights file {bundle.safetensors_path} is corrupt or truncated "
                            f"({str(e).splitlines()[0][:120]})") from None
    if not cfg.hints:
        state = {k: v for k, v in state.items() if not k.startswith("hint_")}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of another shape
        missing, unexpected = [str(e).splitlines()[-1].strip()[:120]], []
    if unexpected or any(not k.startswith("hint_") for k in missing):
        raise ColorizeError(f"weights file {bundle.safetensors_path} does not match model.json "
                            f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.eval()
