"""The temporal step as a torch module, for training and export only (the engine runs its ONNX).

A causal spatio-temporal convolution over a window of K frames: the current frame's chroma from
the image U-Net and the previous K-1 *outputs*, each motion-compensated into the current frame.
The first layer sees all K aligned frames at once (a K x 3 x 3 temporal convolution); the net
predicts, per pixel, how much each frame of the window contributes, and the result is that blend.
Static, well-aligned regions therefore keep the colour they already had, while regions where the
luminance no longer matches the warped past (occlusions, wrong flow, scene cuts) follow the
current frame. A blend cannot invent colours, so it cannot make a frame worse than its inputs.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .temporal import LUMA_GAIN, TemporalConfig


class TemporalBlend(nn.Module):
    def __init__(self, cfg: TemporalConfig):
        super().__init__()
        self.cfg = cfg
        k, c = cfg.window, cfg.width
        n_in = 3 + 4 * (k - 1)  # y, uv, and per past frame: warped y, warped uv, |y - warped y|
        self.net = nn.Sequential(
            nn.Conv2d(n_in, c, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, padding=2, dilation=2), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, padding=4, dilation=4), nn.ReLU(inplace=True),
            nn.Conv2d(c, k, 1))

    def forward(self, y: torch.Tensor, uv: torch.Tensor, prev_y: torch.Tensor,
                prev_uv: torch.Tensor) -> torch.Tensor:
        """y (B,1,h,w), uv (B,2,h,w), prev_y (B,K-1,h,w), prev_uv (B,2(K-1),h,w) -> uv (B,2,h,w)."""
        k = self.cfg.window
        x = torch.cat([y, uv, prev_y, prev_uv, LUMA_GAIN * (y - prev_y).abs()], 1)
        w = torch.softmax(self.net(x), 1)                                  # (B, K, h, w)
        cand = torch.cat([uv, prev_uv], 1).unflatten(1, (k, 2))            # (B, K, 2, h, w)
        return (w.unsqueeze(2) * cand).sum(1)


def load_temporal_torch(root) -> TemporalBlend:
    """The torch module of a weights folder's video step (temporal.safetensors)."""
    from safetensors.torch import load_file

    from .weights import load_bundle

    bundle = load_bundle(root)
    model = TemporalBlend(TemporalConfig.from_dict(bundle.temporal["config"]))
    model.load_state_dict(load_file(str(bundle.temporal_safetensors_path)))
    return model.eval()
