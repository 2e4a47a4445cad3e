"""The colorization U-Net: luminance in, logits over the chroma bins out (at half resolution).

Three downsampling groups (1/2, 1/4, 1/8), skip connections between the encoder and decoder
layers of the same size, dilated convolutions and a global-context vector at the bottleneck for a
wide receptive field. Chroma is low-frequency, so the head stops at 1/2 resolution; the pipeline
upsamples the colour guided by the full-resolution luminance.

With `hints`, the net also takes the user's colour hints at the input resolution (Zhang et al.
2017): the hint chroma U, V and a mask that is 1 where a hint is. They enter through their own
convolution, added to the luminance's before the stem's norm; its weights start at zero, so a
model fine-tuned from an automatic one starts out exactly as that model.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    n_bins: int = 256
    widths: tuple[int, int, int] = (32, 64, 128)  # channels at 1/2, 1/4, 1/8 resolution
    bottleneck_blocks: int = 3                      # dilated 3x3 convs at 1/8 resolution
    hints: bool = False                             # takes (U, V, mask) hint planes as well

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(n_bins=int(d["n_bins"]), widths=tuple(int(w) for w in d["widths"]),
                   bottleneck_blocks=int(d["bottleneck_blocks"]), hints=bool(d.get("hints", False)))


def conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 conv, batch norm, ReLU (the norm folds into the conv at export)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3 = cfg.widths
        self.stem = conv(1, 16)                                   # full resolution
        if cfg.hints:
            self.hint_in = nn.Conv2d(3, 16, 3, padding=1, bias=False)
            nn.init.zeros_(self.hint_in.weight)
        self.down1 = nn.Sequential(conv(16, c1, 2), conv(c1, c1))  # 1/2
        self.down2 = nn.Sequential(conv(c1, c2, 2), conv(c2, c2))  # 1/4
        self.down3 = conv(c2, c3, 2)                               # 1/8
        self.middle = nn.Sequential(*[conv(c3, c3, dilation=2 ** (i % 3))
                                      for i in range(cfg.bottleneck_blocks)])
        self.context = nn.Linear(c3, c3)  # whole-image summary: a beach is bright, a forest green
        self.up2 = nn.Sequential(conv(c3 + c2, c2), conv(c2, c2))  # 1/4
        self.up1 = nn.Sequential(conv(c2 + c1, c1), conv(c1, c1))  # 1/2
        self.head = nn.Conv2d(c1, cfg.n_bins, 1)

    def features(self, y: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder features at 1/2 resolution; y is (B, 1, H, W) luminance in [0, 1], hints
        (B, 3, H, W) the hint U, V and mask (models with hints; None = no hint anywhere)."""
        conv_y, norm_relu = self.stem[0], self.stem[1:]
        x = conv_y(y - 0.5)                      # (B, 16, H, W)
        if self.cfg.hints and hints is not None:
            x = x + self.hint_in(hints)
        x = norm_relu(x)
        s1 = self.down1(x)                       # (B, c1, H/2, W/2)
        s2 = self.down2(s1)                      # (B, c2, H/4, W/4)
        x = self.middle(self.down3(s2))          # (B, c3, H/8, W/8)
        g = self.context(x.mean(dim=(2, 3)))     # (B, c3)
        x = x + g[:, :, None, None]
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = self.up2(torch.cat([x, s2], 1))      # (B, c2, H/4, W/4)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.up1(torch.cat([x, s1], 1))   # (B, c1, H/2, W/2)

    def forward(self, y: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """Logits over the bins, (B, n_bins, H/2, W/2)."""
        return self.head(self.features(y, hints))


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_model(bundle, hints: bool | None = None) -> UNet:
    """The UNet of a weights bundle (engine.weights.Bundle), in eval mode on the CPU: the one way a
    saved model becomes a torch module (backends, training's teacher and --init, benchmarks).
    hints=False builds the automatic model alone (a hint model's hint inputs are left out), True
    gives an automatic model zero-initialised hint inputs."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .errors import ColorizeError

    cfg = ModelConfig.from_dict(bundle.model)
    cfg = cfg if hints is None else ModelConfig(cfg.n_bins, cfg.widths, cfg.bottleneck_blocks, hints)
    model = UNet(cfg)
    try:
        state = load_file(str(bundle.safetensors_path))
    except (SafetensorError, OSError) as e:
        raise ColorizeError(f"weights file {bundle.safetensors_path} is corrupt or truncated "
                            f"({str(e).splitlines()[0][:120]})") from None
    if not cfg.hints:
        state = {k: v for k, v in state.items() if not k.startswith("hint_in.")}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of another shape
        missing, unexpected = [str(e).splitlines()[-1].strip()[:120]], []
    if unexpected or any(not k.startswith("hint_in.") for k in missing):
        raise ColorizeError(f"weights file {bundle.safetensors_path} does not match model.json "
                            f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.eval()
