"""Train the U-Net: `python -m training.train --data DIR_OR_ZIP... --bins BINS.json --out RUN`.

Rebalanced cross-entropy over the chroma bins with soft targets (Gaussian over the 5 nearest bins,
as in Zhang et al. 2016), or `--loss l2` for the regression baseline of the same architecture.
Checkpoints every few minutes; `--resume` continues exactly (batches are a function of the step),
so a long run can be spread over several short sessions (`--minutes` stops cleanly). `--init DIR`
starts from a weights folder (e.g. the shipped model) with a fresh optimiser and learning-rate cycle:
that is how each session of a long campaign continues the last one's weights.

`--hints` trains a model with colour-hint inputs on hints sampled from each crop's truth
(training/data.py); `--hint-design local` puts them where they never reach the global context
(engine/model.py), and `--recolour 0.5` gives half of the hinted crops a recoloured region with
its hints taken from there, so that a hint learns to stay on its region (issue 20).

On a CPU with bfloat16 support (AVX-512 BF16 or AMX) the forward and backward passes run under
bf16 autocast, with fp32 weights, optimiser and loss; elsewhere fp32 (`--precision` overrides).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from engine.color import RGB_TO_YUV, U_MAX, V_MAX, ChromaBins, rebalance_weights, rgb_to_yuv
from engine.model import ModelConfig, UNet, load_model, n_params
from engine.weights import load_bundle
from training.data import load_photos, make_batch, make_labelled_batch, training_examples

CLASS_HEAD = "class_head.safetensors"   # beside a campaign's state weights: the class-label head


@dataclass
class TrainConfig:
    data: list[str] = field(default_factory=list)
    bins: str = "runs/bins.json"
    out: str = "runs/main"
    loss: str = "ce"                 # "ce" (rebalanced classification) or "l2" (regression baseline)
    steps: int = 6000
    batch: int = 48
    size: int = 64                   # training crop side, pixels
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup: int = 100
    seed: int = 0
    soft_neighbours: int = 5
    soft_sigma: float = 0.5          # Gaussian sigma of the soft targets, in bin sizes
    large_fraction: float = 0.3
    zoom: bool = True                # scale jitter on the small photos too (1-2x zoom), not only the large
    class_weight: float = 0.0        # >0: also classify the photo from the bottleneck (folder names as labels)
    classes: int = 200               # size of that classifier (Tiny-ImageNet-200); dropped at export
    lam: float | None = None         # rebalancing λ of the loss's weights (None: the bins' own, 0.5)
    widths: tuple = (32, 64, 128)
    bottleneck_blocks: int = 3
    grown_blocks: int = 0            # residual blocks added at 1/8 to an --init model (engine/model.py Grown)
    limit: int | None = None         # use at most this many photos (tests, quick trials)
    checkpoint_minutes: float = 5.0
    precision: str = "auto"          # "auto", "bf16" or "fp32"
    init: str | None = None          # weights folder to start from (fresh optimiser)
    hints: bool = False              # a model with colour-hint inputs, trained with sampled hints
    hint_design: str = "stem"        # where the hints enter the model (engine/model.py): "stem" or "local"
    recolour: float = 0.0            # share of the hinted crops with a region recoloured (training/data.py)
    freeze_automatic: bool = False   # train the hint inputs only: the automatic part (norms too) stays as --init's
    hint_init: str | None = None     # hint inputs start from this weights folder's (a branch trained on an
                                     # earlier automatic model), the rest from --init
    hint_point_weight: float = 0.0   # extra loss weight where a hint is: its colour must come out there
    region_weight: float = 0.0       # extra loss weight on a recoloured region: the branch must carry a
                                     # corrected colour over the object, not only to the hinted cells
    teacher: str | None = None       # hint models: crops without hints learn this automatic model's output
    distill_sizes: tuple = ()        # with a teacher: also match it on a few hint-free photos at these
    distill_batch: int = 4           # sides (the working sizes), one size per step in turn

    @classmethod
    def from_dict(cls, d: dict, **changes) -> "TrainConfig":
        """A saved config (config.json, a checkpoint's, model.json's training.config) with `changes`;
        keys of older versions are dropped, tuples restored."""
        cfg = cls(**{k: v for k, v in {**d, **changes}.items() if k in cls.__dataclass_fields__})
        return replace(cfg, widths=tuple(cfg.widths), distill_sizes=tuple(cfg.distill_sizes))

    def automatic(self) -> "TrainConfig":
        """This config for the automatic model alone: without the hint inputs and the settings that
        only train them (a hint model's saved config, continued by an automatic campaign)."""
        return replace(self, hints=False, teacher=None, distill_sizes=(), recolour=0.0, freeze_automatic=False,
                       hint_point_weight=0.0, region_weight=0.0, hint_init=None)


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to 3% of the peak."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.03 + 0.97 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def cpu_has_bf16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX-512 BF16 or AMX), so autocast pays off."""
    cpu = getattr(torch, "cpu", None)
    return any(getattr(cpu, f, lambda: False)() for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def pick_precision(requested: str, device: str) -> str:
    """"bf16" or "fp32" for `requested` in {auto, bf16, fp32} on this device."""
    if requested != "auto":
        return requested
    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_bf16() else "fp32"


def split_yuv(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, H, W, 3) RGB -> luminance (B, 1, H, W) and chroma at half resolution (B, 2, H/2, W/2)."""
    m = torch.as_tensor(RGB_TO_YUV, dtype=rgb.dtype, device=rgb.device)
    yuv = torch.einsum("bhwc,dc->bdhw", rgb, m)
    return yuv[:, :1], F.avg_pool2d(yuv[:, 1:], 2)


class SoftTargets:
    """Gaussian-weighted k nearest bins of any UV, looked up in a fine precomputed table.

    The table's cells are a tenth of a bin wide, so looking up beats computing distances to every
    bin for every pixel (a third of a CPU training step) and changes the targets negligibly.
    """

    def __init__(self, bins: ChromaBins, k: int, sigma: float, device: str, fine: int = 10):
        self.step = bins.bin_size / fine
        self.nu, self.nv = int(np.ceil(2 * U_MAX / self.step)) + 1, int(np.ceil(2 * V_MAX / self.step)) + 1
        u = -U_MAX + np.arange(self.nu) * self.step
        v = -V_MAX + np.arange(self.nv) * self.step
        grid = torch.as_tensor(np.stack(np.meshgrid(u, v, indexing="ij"), -1).reshape(-1, 2), dtype=torch.float32)
        d2 = torch.cdist(grid, torch.as_tensor(bins.centers)) ** 2        # (cells, n)
        dist, idx = d2.topk(k, dim=1, largest=False)
        self.idx = idx.to(device)                                          # (cells, k)
        self.w = torch.softmax(-dist / (2 * sigma ** 2), dim=1).to(device)  # (cells, k)

    def __call__(self, uv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uv (B, 2, h, w) -> bin indices and weights, both (B, k, h, w); index 0 is the nearest."""
        iu = ((uv[:, 0] + U_MAX) / self.step).round().long().clamp(0, self.nu - 1)
        iv = ((uv[:, 1] + V_MAX) / self.step).round().long().clamp(0, self.nv - 1)
        cell = iu * self.nv + iv                                           # (B, h, w)
        return self.idx[cell].permute(0, 3, 1, 2), self.w[cell].permute(0, 3, 1, 2)


class SoftTargetCE(torch.autograd.Function):
    """Mean over pixels of weight * cross-entropy against sparse soft targets.

    The same value and gradient as `-(w * log_softmax(logits).gather(1, idx)).sum(1)` weighted and
    averaged, but the backward pass writes softmax - target straight into one tensor instead of
    going through log_softmax's and gather's backward: 20% of a CPU training step with 256 bins.
    """

    @staticmethod
    def forward(ctx, logits, idx, w, pixel_weight):
        """logits (B, n, h, w) fp32; idx, w (B, k, h, w) target bins and weights; pixel_weight (B, h, w)."""
        lse = torch.logsumexp(logits, 1)                                  # (B, h, w)
        ce = lse - (w * logits.gather(1, idx)).sum(1)
        ctx.save_for_backward(logits, lse, idx, w, pixel_weight)
        return (pixel_weight * ce).mean()

    @staticmethod
    def backward(ctx, grad):
        logits, lse, idx, w, pixel_weight = ctx.saved_tensors
        scale = (pixel_weight * (grad / pixel_weight.numel()))[:, None]    # (B, 1, h, w)
        out = torch.exp(logits - lse[:, None]).mul_(scale)                # softmax part
        out.scatter_add_(1, idx, -w * scale)                              # minus the soft target
        return out, None, None, None


class Trainer:
    """Owns the model, optimiser, data and run folder; `run()` trains until done or out of time."""

    def __init__(self, cfg: TrainConfig, resume: bool = False):
        self.cfg, self.out = cfg, Path(cfg.out)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.bins = ChromaBins.from_json(Path(cfg.bins).read_text())
        n_out = 2 if cfg.loss == "l2" else self.bins.n
        torch.manual_seed(cfg.seed)
        self.model = UNet(model_config(cfg, n_out)).to(self.device)
        if cfg.init and not resume:
            self.model.load_state_dict(initial_state(cfg, self.model))
        if cfg.freeze_automatic:  # with no hints the model then stays exactly --init's automatic model
            if not cfg.hints:
                raise SystemExit("freeze_automatic needs a model with hint inputs (--hints)")
            for name, p in self.model.named_parameters():
                p.requires_grad_(name.startswith("hint_"))
        self.precision = pick_precision(cfg.precision, self.device)
        self.model = self.model.to(memory_format=torch.channels_last)    # faster oneDNN convolutions
        # Classifying the photo from the bottleneck's global average (Iizuka et al. 2016) teaches the
        # global context what the object is; the head lives here, so the shipped network is unchanged.
        self.class_head = torch.nn.Linear(cfg.widths[2], cfg.classes).to(self.device) if cfg.class_weight else None
        if self.class_head is not None:
            if cfg.init and not resume and (Path(cfg.init) / CLASS_HEAD).is_file():  # a campaign's state
                self.class_head.load_state_dict(load_file(Path(cfg.init) / CLASS_HEAD, device=self.device))
            self.model.middle.register_forward_hook(lambda _m, _i, out: setattr(self, "bottleneck", out))
        params = [p for p in self.model.parameters() if p.requires_grad] + \
            (list(self.class_head.parameters()) if self.class_head else [])
        self.opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.targets = SoftTargets(self.bins, cfg.soft_neighbours, cfg.soft_sigma * self.bins.bin_size, self.device)
        weights = self.bins.weights if cfg.lam is None else rebalance_weights(self.bins.prior, cfg.lam)
        self.weights = torch.as_tensor(weights, device=self.device)
        self.teacher = load_teacher(cfg.teacher, self.device) if cfg.teacher else None
        self.step, self.wall = 0, 0.0
        self.out.mkdir(parents=True, exist_ok=True)
        if resume and (self.out / "checkpoint.pt").exists():
            self.load()
        (self.out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))

    def train_mode(self) -> None:
        """Training mode, except for a frozen automatic part, whose norms keep their statistics
        (the hint branch has no norms, so eval mode is training mode for it)."""
        self.model.train(not self.cfg.freeze_automatic)

    def autocast(self):
        """bf16 autocast for the forward passes when this run uses it (weights and loss stay fp32)."""
        return torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.precision == "bf16")

    def loss(self, rgb: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        colour = self.colour_loss(rgb)
        if self.class_head is None or labels is None or not (labels >= 0).any():
            return colour
        known = labels >= 0
        logits = self.class_head(self.bottleneck.float().mean(dim=(2, 3))[known])
        return colour + self.cfg.class_weight * F.cross_entropy(logits, labels[known]) * known.float().mean()

    def colour_loss(self, rgb: torch.Tensor) -> torch.Tensor:
        y, uv = split_yuv(rgb)
        hints = None
        if self.cfg.hints:
            rng = np.random.default_rng((self.cfg.seed, self.step, 1))  # like the batch: a function of the step
            planes, target, regions = training_examples(rgb_to_yuv(rgb.cpu().numpy()), rng, self.cfg.recolour)
            hints = torch.from_numpy(planes).to(self.device)
            recoloured = regions.any(axis=(1, 2))
            if recoloured.any():  # those crops learn their recoloured chroma (at the loss's half resolution)
                new_uv = F.avg_pool2d(torch.from_numpy(target).permute(0, 3, 1, 2), 2).to(self.device, uv.dtype)
                uv = torch.where(torch.from_numpy(recoloured).to(self.device)[:, None, None, None], new_uv, uv)
        with self.autocast():
            out = self.model(y, hints).float()
        if self.cfg.loss == "l2":
            return F.mse_loss(out, uv)
        idx, w = self.targets(uv)                                         # (B, k, h, w)
        if self.teacher is None:
            pixel_weight = self.weights[idx[:, 0]]                         # rebalanced by the nearest bin
            if hints is not None and self.cfg.hint_point_weight:
                # the hinted cells are ~3% of a crop: weighted alike, a hint's own colour came out
                # 6 ab units off (the distribution there too flat); this makes it count
                at_hint = F.max_pool2d(hints[:, 2:3], 2)[:, 0] > 0          # (B, h, w)
                pixel_weight = pixel_weight * (1 + self.cfg.hint_point_weight * at_hint)
            if hints is not None and self.cfg.region_weight:
                # measured (docs/hints.md): hinted cells alone taught the branch to colour little
                # beyond them, and the guided filter then averaged the corrected colour away
                region = F.max_pool2d(torch.from_numpy(regions[:, None].astype(np.float32)), 2)[:, 0] > 0
                pixel_weight = pixel_weight * (1 + self.cfg.region_weight * region.to(self.device))
            return SoftTargetCE.apply(out, idx, w, pixel_weight)
        # Without hints the model should stay the automatic one it started from: those crops learn
        # the teacher's distribution (cross-entropy to its softmax, i.e. KL up to a constant), the
        # others the truth as usual; each part weighted by its share of the batch.
        none = hints[:, 2].flatten(1).amax(1) == 0
        loss = out.new_zeros(())
        if (~none).any():
            some = ~none
            loss = loss + SoftTargetCE.apply(out[some], idx[some], w[some], self.weights[idx[some, 0]]) * some.float().mean()
        if none.any():
            loss = loss + self.teacher_ce(y[none], out[none]) * none.float().mean()
        return loss

    def teacher_ce(self, y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the logits `out` against the teacher's softmax on the luminance `y`
        (KL to the teacher up to a constant)."""
        with torch.no_grad(), self.autocast():
            target = torch.softmax(self.teacher(y).float(), 1)
        return -(target * torch.log_softmax(out, 1)).sum(1).mean()

    def distill_loss(self, rgb: torch.Tensor) -> torch.Tensor:
        """Cross-entropy to the teacher's distribution on hint-free photos at a working size, with
        the norms as at inference. Matching it on 64-pixel crops alone is not enough: measured, a
        hint model that matches its teacher there (KL 0.07) drifts away at the working size of 128
        (KL 0.44) and further at 192 (0.9), and with it the automatic colours."""
        y, _ = split_yuv(rgb)
        self.model.eval()
        try:
            with self.autocast():
                out = self.model(y).float()
        finally:
            self.train_mode()
        return self.teacher_ce(y, out)

    def train_step(self, rgb: torch.Tensor, whole: torch.Tensor | None = None,
                   labels: torch.Tensor | None = None) -> float:
        """One optimiser step on a batch of RGB crops (with their class `labels`, -1 for none; and
        `whole` photos for distill_loss); returns the loss."""
        for g in self.opt.param_groups:
            g["lr"] = lr_at(self.cfg, self.step)
        loss = self.loss(rgb, labels)
        if whole is not None:
            loss = loss + self.distill_loss(whole)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return loss.item()

    def save(self) -> None:
        state = {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                 "wall": self.wall, "config": asdict(self.cfg)}
        if self.class_head is not None:
            state["class_head"] = self.class_head.state_dict()
        tmp = self.out / "checkpoint.pt.tmp"
        torch.save(state, tmp)
        tmp.replace(self.out / "checkpoint.pt")

    def load(self) -> None:
        state = torch.load(self.out / "checkpoint.pt", map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        if self.class_head is not None:
            self.class_head.load_state_dict(state["class_head"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.wall = int(state["step"]), float(state["wall"])

    def run(self, minutes: float | None = None, stop_after: int | None = None, photos=None) -> None:
        """Train to cfg.steps, or stop (checkpointed) after `minutes` or `stop_after` steps.
        `photos`: the PhotoSet of cfg.data if already decoded."""
        cfg = self.cfg
        if self.step >= cfg.steps:
            print(f"already trained {self.step} steps")
            return
        if photos is None:
            t0 = time.perf_counter()
            photos = load_photos(cfg.data, limit=cfg.limit)
            print(photos.summary(), f"(decoded in {time.perf_counter() - t0:.0f} s)")
        if self.class_head is not None and len(photos.classes) > cfg.classes:
            raise SystemExit(f"the photos have {len(photos.classes)} classes, the classifier {cfg.classes}")
        print(f"model: {n_params(self.model):,} parameters, {cfg.loss} loss, device {self.device}, "
              f"{self.precision}" + (" (this CPU has no bfloat16 support)" if self.precision == "fp32" and
                                     self.device == "cpu" and not cpu_has_bf16() else ""))
        log_path = self.out / "log.csv"
        new_log = not log_path.exists() or self.step == 0
        log = open(log_path, "w" if new_log else "a", newline="")
        writer = csv.writer(log)
        if new_log:
            writer.writerow(["step", "loss", "lr", "images_per_s", "wall_s"])
        start, last_ckpt, running, seen = time.perf_counter(), time.perf_counter(), [], 0
        wall0 = self.wall
        self.train_mode()
        bar = tqdm(total=cfg.steps, initial=self.step, unit="step", dynamic_ncols=True)
        while self.step < cfg.steps:
            rgb, labels = make_labelled_batch(photos, cfg.batch, cfg.size, cfg.seed, self.step,
                                              cfg.large_fraction, cfg.zoom)
            rgb, labels = torch.from_numpy(rgb).to(self.device), torch.from_numpy(labels).to(self.device)
            whole = None
            if self.teacher is not None and cfg.distill_sizes:  # the larger photos, at a working size
                side = cfg.distill_sizes[self.step % len(cfg.distill_sizes)]
                whole = torch.from_numpy(make_batch(photos, cfg.distill_batch, side, cfg.seed + 1, self.step,
                                                    1.0)).to(self.device)
            running.append(self.train_step(rgb, whole, labels))
            seen += cfg.batch
            now = time.perf_counter()
            self.wall = wall0 + now - start
            if self.step % 25 == 0 or self.step == cfg.steps:
                ips = seen / (now - start)
                writer.writerow([self.step, f"{np.mean(running):.5f}", f"{lr_at(cfg, self.step - 1):.6f}",
                                 f"{ips:.1f}", f"{self.wall:.1f}"])
                log.flush()
                bar.set_postfix(loss=f"{np.mean(running):.4f}", img_s=f"{ips:.0f}")
                running = []
            bar.update(1)
            out_of_time = (minutes is not None and now - start > minutes * 60) or \
                (stop_after is not None and seen >= stop_after * cfg.batch)
            if now - last_ckpt > cfg.checkpoint_minutes * 60 or self.step == cfg.steps or out_of_time:
                self.save()
                last_ckpt = now
            if out_of_time:
                print(f"\nstopped at step {self.step}; --resume continues")
                break
        bar.close()
        log.close()
        plot_log(log_path, self.out / "loss.png")


def model_config(cfg: TrainConfig, n_out: int) -> ModelConfig:
    """The network a training config trains, predicting n_out values per pixel."""
    return ModelConfig(n_out, tuple(cfg.widths), cfg.bottleneck_blocks, cfg.hints, cfg.hint_design,
                       cfg.grown_blocks)


def initial_state(cfg: TrainConfig, model: UNet) -> dict:
    """The state dict that starts `model` from the weights folder cfg.init: its automatic part
    always; its hint inputs only into a model of the same hint design. Other hint inputs and grown
    blocks keep model's own (zero where they join the network), so a hint model starts as the
    automatic one, a grown model as the one it grew from, and a hint model's automatic part may
    start an automatic one. With cfg.hint_init the hint inputs come from that model instead."""
    bundle = load_bundle(cfg.init)
    saved = ModelConfig.from_dict(bundle.model)
    carry = cfg.hints and saved.hints and saved.hint_design == cfg.hint_design
    state = model.state_dict()
    start = load_model(bundle, hints=carry).state_dict()
    if extra := [k for k in start if k not in state]:
        raise ValueError(f"{cfg.init} has more than this model: {extra[:3]}")
    new = ("hint_", "grown.")
    if missing := [k for k in state if k not in start and not k.startswith(new)]:
        raise ValueError(f"{cfg.init} does not fit this model: it has no {missing[:3]}")
    if cfg.hint_init:
        donor = load_bundle(cfg.hint_init)
        given = ModelConfig.from_dict(donor.model)
        if not (cfg.hints and given.hints and given.hint_design == cfg.hint_design):
            raise ValueError(f"{cfg.hint_init} has no {cfg.hint_design} hint inputs to start this model's from")
        start.update({k: v for k, v in load_model(donor).state_dict().items() if k.startswith("hint_")})
    return {**state, **start}


def save_class_head(run: Path, folder: Path) -> None:
    """Write a run's class-label head (if it has one) beside weights exported from it, so that a
    campaign's next stretch continues it too (the engine never reads it)."""
    state = torch.load(Path(run) / "checkpoint.pt", map_location="cpu", weights_only=True)
    if "class_head" in state:
        save_file({k: v.contiguous() for k, v in state["class_head"].items()}, Path(folder) / CLASS_HEAD)


def checkpoint_model(run: Path) -> tuple[UNet, dict]:
    """The network of a run's checkpoint.pt (eval mode, CPU) and the checkpoint itself: the one place
    a training checkpoint becomes a model (export, the L2 baseline)."""
    state = torch.load(Path(run) / "checkpoint.pt", map_location="cpu", weights_only=True)
    cfg = TrainConfig.from_dict(state["config"])
    n_out = 2 if cfg.loss == "l2" else ChromaBins.from_json(Path(cfg.bins).read_text()).n
    model = UNet(model_config(cfg, n_out))
    model.load_state_dict(state["model"])
    return model.eval(), state


def load_teacher(weights: str, device: str) -> UNet:
    """The frozen model of a weights folder, in eval mode."""
    model = load_model(load_bundle(weights)).to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval().to(memory_format=torch.channels_last)


def plot_log(log_path: Path, png: Path) -> None:
    """Loss curve PNG from the CSV log."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(open(log_path)))
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([int(r["step"]) for r in rows], [float(r["loss"]) for r in rows])
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)


def main(argv=None) -> None:
    defaults = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", nargs="+", required=True, help="folders and/or zip files of colour photos")
    p.add_argument("--bins", default=defaults.bins, help="bins JSON from python -m training.bins")
    p.add_argument("--out", default=defaults.out, help="run folder (checkpoint, log, loss curve)")
    p.add_argument("--resume", action="store_true", help="continue the checkpoint in --out exactly")
    p.add_argument("--minutes", type=float, default=None, help="stop (with a checkpoint) after this long")
    p.add_argument("--init", default=None, help="start from this weights folder (fresh optimiser and schedule)")
    p.add_argument("--precision", default=defaults.precision, choices=["auto", "bf16", "fp32"],
                   help="bf16 autocast or fp32 (auto: bf16 where the CPU or GPU supports it)")
    for name in ("loss", "steps", "batch", "size", "lr", "seed", "limit", "checkpoint_minutes",
                 "large_fraction", "bottleneck_blocks", "grown_blocks", "soft_sigma", "warmup", "class_weight",
                 "hint_point_weight", "region_weight"):
        default = getattr(defaults, name)
        p.add_argument("--" + name.replace("_", "-"), default=default,
                       type=(lambda s: int(s)) if name == "limit" else type(default) if default is not None else int,
                       **({"choices": ["ce", "l2"]} if name == "loss" else {}))
    p.add_argument("--widths", type=int, nargs=3, default=defaults.widths)
    p.add_argument("--no-zoom", dest="zoom", action="store_false", help="crop the small photos whole (no zoom jitter)")
    p.add_argument("--hints", action="store_true", help="a model with colour-hint inputs, trained with sampled hints")
    p.add_argument("--hint-design", default=defaults.hint_design, choices=["stem", "local"],
                   help="where the hints enter (engine/model.py); local: never into the global context")
    p.add_argument("--recolour", type=float, default=defaults.recolour,
                   help="share of the hinted crops that get a region recoloured, with hints from it (issue 20)")
    p.add_argument("--freeze-automatic", action="store_true",
                   help="train only the hint inputs (with --hints): no hints give exactly --init's colours")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = TrainConfig.from_dict(vars(a))
    if a.resume and (Path(cfg.out) / "config.json").exists():  # the run's own settings
        cfg = TrainConfig.from_dict(json.loads((Path(cfg.out) / "config.json").read_text()))
    Trainer(cfg, resume=a.resume).run(a.minutes)


if __name__ == "__main__":
    main()
