"""Does a colour hint stay where it is put? Issue 20's measure: `python -m training.hints --locality WEIGHTS`.

On each photo, one hint at a seeded random point, its colour the true colour there turned 120
degrees in CIELAB hue (chroma at least 30): a user correcting a colour. Against the same photo with
no hint, the CIELAB ab change of the full-resolution output (at the model's default temperature)
is averaged over the pixels farther than a third of the image diagonal from the point and over
those within 3 % of it; their ratio is 0 for a hint that stays local and 1 for one that recolours
the whole photo. The summary is the median ratio over photos, the median far change in ab units,
and the mean ab error at the hinted pixels (as evaluate_hints's "hint_ab_error").

`context_probe` reruns the measure with the hint kept out of (or let only into) the bottleneck's
global-context vector: how much of the spread goes through that whole-image summary.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
from PIL import Image
from skimage.color import lab2rgb, rgb2lab

from engine import Canvas, Colorizer, Prediction
from engine.color import rgb_to_yuv, yuv_to_rgb
from engine.hints import POINT_PATCH, Hint, hint_planes

TURN_DEGREES = 120   # a wrong colour, far from the truth's hue (the protocol)
MIN_CHROMA = 30      # so that grey truths still get a clearly coloured hint
NEAR = 0.03          # "around the hint": within this share of the diagonal
FAR = 1 / 3          # "far from the hint": beyond this share of the diagonal
BANDS = (0, NEAR, 0.1, 0.2, FAR, np.inf)  # distance bands (share of the diagonal) of the change profile

Predict = Callable[[Canvas, list | None], Prediction]  # (canvas, hints or None) -> prediction


def turned_colour(rgb: np.ndarray, degrees: float = TURN_DEGREES, min_chroma: float = MIN_CHROMA) -> np.ndarray:
    """RGB (3,) in [0, 1] with rgb's CIELAB L, its hue turned by `degrees` and chroma at least
    min_chroma (clipped into sRGB, which can lower the chroma of very light or dark colours)."""
    lightness, a, b = rgb2lab(np.asarray(rgb, np.float64).reshape(1, 1, 3))[0, 0]
    chroma, hue = max(np.hypot(a, b), min_chroma), np.arctan2(b, a) + np.radians(degrees)
    with warnings.catch_warnings():  # lab2rgb warns when it clips an out-of-gamut colour: expected here
        warnings.simplefilter("ignore")
        return np.clip(lab2rgb(np.array([[[lightness, chroma * np.cos(hue), chroma * np.sin(hue)]]]))[0, 0], 0, 1)


def change_profile(change: np.ndarray, x: float, y: float) -> dict:
    """Mean of change (H, W) near (within NEAR of the diagonal) and far (beyond FAR) from the
    image point (x, y), their ratio (NaN when nothing changed near), and the mean per BANDS."""
    h, w = change.shape
    rows, cols = np.mgrid[0:h, 0:w]
    dist = np.hypot(cols + 0.5 - x, rows + 0.5 - y) / np.hypot(h, w)  # pixel centres, in diagonals
    near, far = float(change[dist <= NEAR].mean()), float(change[dist > FAR].mean())
    bands = [float(change[(dist >= lo) & (dist < hi)].mean()) if ((dist >= lo) & (dist < hi)).any() else None
             for lo, hi in zip(BANDS[:-1], BANDS[1:])]
    return {"near": near, "far": far, "ratio": far / near if near > 1e-6 else float("nan"), "bands": bands}


def photo_locality(truth: np.ndarray, predict: Predict, working_size: int, rng: np.random.Generator) -> dict:
    """Issue 20's measure on one photo (float RGB (H, W, 3) in [0, 1]): change_profile of the ab
    change one turned-colour hint makes, plus the ab error at the hinted pixels."""
    yuv = rgb_to_yuv(truth)
    canvas = Canvas.of(np.repeat(yuv[..., :1], 3, axis=2))  # grey, as evaluate_hints feeds it
    (H, W), (h, w) = truth.shape[:2], canvas.network_input(working_size).shape[2:]
    # the point's whole POINT_PATCH square lies inside the network input, at its centre cell
    r = POINT_PATCH // 2
    cy, cx = int(rng.integers(r, h - r)), int(rng.integers(r, w - r))
    x, y = (cx + 0.5) * W / w, (cy + 0.5) * H / h
    small = np.asarray(Image.fromarray((truth * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR), np.float32) / 255
    rgb = turned_colour(small[cy - r:cy + r + 1, cx - r:cx + r + 1].reshape(-1, 3).mean(0))
    hint = Hint(x, y, tuple(int(c) for c in np.round(rgb * 255)))  # 8-bit, as a user's hint is
    outputs = [rgb2lab(np.clip(np.asarray(predict(canvas, hints).render(), np.float32), 0, 1))
               for hints in (None, [hint])]
    result = change_profile(np.linalg.norm(outputs[1][..., 1:] - outputs[0][..., 1:], axis=-1), x, y)
    # the hint's colour at each hinted pixel's own luminance, as evaluate_hints measures it
    planes = hint_planes([hint], (H, W), (h, w))[0]
    mask = np.asarray(Image.fromarray(planes[2]).resize((W, H), Image.NEAREST)) > 0
    hinted_yuv = yuv[mask]
    hinted_yuv[:, 1:] = rgb_to_yuv(np.asarray(hint.rgb, np.float32) / 255)[1:]
    wanted = rgb2lab(np.clip(yuv_to_rgb(hinted_yuv), 0, 1)[None])[0]
    result["hint_ab_error"] = float(np.linalg.norm(outputs[1][mask][:, 1:] - wanted[:, 1:], axis=-1).mean())
    return {"x": x, "y": y, "hint": hint.rgb, **result}


def evaluate_locality(photos: list, predict: Predict, working_size: int, seed: int = 0) -> dict:
    """Issue 20's summary over the photos (each with its own fixed seed), and the per-photo figures."""
    per_photo = []
    for i, path in enumerate(photos):
        truth = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
        rng = np.random.default_rng((seed, i))
        per_photo.append({"photo": str(path), **photo_locality(truth, predict, working_size, rng)})
    ratios = np.array([p["ratio"] for p in per_photo])
    bands = np.array([[np.nan if b is None else b for b in p["bands"]] for p in per_photo])
    return {"photos": len(per_photo), "ratio_median": float(np.nanmedian(ratios)),
            "unmeasured": int(np.isnan(ratios).sum()),  # photos where the hint changed nothing near it
            "far_change_median": float(np.median([p["far"] for p in per_photo])),
            "near_change_median": float(np.median([p["near"] for p in per_photo])),
            "hint_ab_error": float(np.mean([p["hint_ab_error"] for p in per_photo])),
            "band_change_median": dict(zip([f"{lo:.3g}-{hi:.3g}" for lo, hi in zip(BANDS[:-1], BANDS[1:])],
                                           np.nanmedian(bands, axis=0).round(2).tolist())),
            "per_photo": per_photo}


def colorizer_predict(colorizer: Colorizer) -> Predict:
    """The engine's public prediction path: what users of the CLI, app and GIMP get."""
    return lambda canvas, hints: colorizer.predict(canvas, hints=hints)


def context_probe(weights, mode: str) -> tuple[Predict, int]:
    """(predict, working size) running the weights' torch model with the hint's route through the
    bottleneck's global-context vector g cut: "as-is" (nothing cut: torch's own baseline),
    "frozen" (g taken from the same photo's no-hint pass, so hints act only through the
    convolutions) or "only" (the no-hint pass with the hinted pass's g: hints act only through g)."""
    import torch
    from safetensors.torch import load_file

    from engine.model import ModelConfig, UNet
    from engine.weights import load_bundle

    if mode not in ("as-is", "frozen", "only"):
        raise ValueError(f"unknown probe mode {mode!r}")
    bundle = load_bundle(weights)
    model = UNet(ModelConfig.from_dict(bundle.model))
    model.load_state_dict(load_file(str(bundle.safetensors_path)))
    model.eval()

    def predict(canvas: Canvas, hints) -> Prediction:
        y = torch.from_numpy(canvas.network_input(bundle.working_size))
        planes = hint_planes(hints, canvas.luminance.shape, tuple(y.shape[2:]))
        planes = None if planes is None else torch.from_numpy(planes)
        with torch.inference_mode():
            if planes is None or mode == "as-is":
                logits = model(y, planes)
            else:  # g of one pass, substituted into the other (a forward hook's return replaces the output)
                g = {}
                hook = model.context.register_forward_hook(lambda m, i, out: g.setdefault("g", out))
                try:
                    model(y, None if mode == "frozen" else planes)
                finally:
                    hook.remove()
                hook = model.context.register_forward_hook(lambda m, i, out: g["g"])
                try:
                    logits = model(y, planes if mode == "frozen" else None)
                finally:
                    hook.remove()
        return Prediction(logits[0].numpy(), canvas, bundle.bins, bundle.temperature,
                          hints=None if planes is None else planes.numpy())

    return predict, bundle.working_size


def summary_line(name: str, r: dict) -> str:
    """One line of the report for a summary from evaluate_locality."""
    return (f"{name} ({r['photos']} photos): far/near ab change median {r['ratio_median']:.3f}, far change "
            f"median {r['far_change_median']:.2f}, near {r['near_change_median']:.2f}, ab error at the hint "
            f"{r['hint_ab_error']:.2f}; median change by distance (diagonals) {r['band_change_median']}")
