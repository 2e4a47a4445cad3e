"""Full-resolution colorization: luminance -> network at a working size -> annealed mean ->
chroma upsampled guided by the full-resolution luminance -> recombined with the original Y."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from .backends import open_backend
from .color import RGB_TO_YUV, U_MAX, V_MAX, YUV_TO_RGB, ChromaBins, annealed_mean, is_colour, softmax, yuv_to_rgb
from .errors import ColorizeError
from .hints import hint_planes
from .imageio import Picture, from_picture, read_picture, to_picture, write_image
from .reference import Reference, check_strength
from .weights import Bundle, load_bundle

STRIDE = 8          # the network's input must be a multiple of this (3 downsamplings)
STRIP_ROWS = 256    # full-resolution work is done in strips so a 12 MP photo stays within memory
GUIDE_RADIUS = 2    # guided filter window radius, in low-resolution chroma pixels
GUIDE_EPS = 1e-3    # guided filter regulariser: smaller = colour follows luminance edges more
FINE_SIZE = 1024    # 8-bit path: long side at which colour edges are aligned to luminance edges
MAX_WORKING_SIZE = FINE_SIZE  # the network input is taken from the fine luminance: more adds nothing


def working_shape(h: int, w: int, working_size: int) -> tuple[int, int]:
    """Network input size: long side = working_size, multiples of STRIDE, aspect kept."""
    scale = working_size / max(h, w)
    return (max(STRIDE, round(h * scale / STRIDE) * STRIDE),
            max(STRIDE, round(w * scale / STRIDE) * STRIDE))


def full_luminance(pic: Picture) -> np.ndarray:
    """Y at full resolution: uint8 for 8-bit pictures (a grey picture's own samples, or BT.601
    grey of RGB), else float32 in [0, 1] computed in strips to bound memory."""
    src = pic.samples
    if pic.maxval == 255.0:
        return src if src.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(src), cv2.COLOR_RGB2GRAY)
    if src.ndim == 2:
        return src.astype(np.float32) * np.float32(1 / pic.maxval)
    y = np.empty(src.shape[:2], np.float32)
    w = (RGB_TO_YUV[0] / pic.maxval).astype(np.float32)
    for r in range(0, src.shape[0], STRIP_ROWS):
        s = src[r:r + STRIP_ROWS].astype(np.float32)
        y[r:r + STRIP_ROWS] = s[..., 0] * w[0] + s[..., 1] * w[1] + s[..., 2] * w[2]
    return y


def resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Area-average when shrinking, bilinear when growing; 8-bit becomes float32 in [0, 1]."""
    shrinking = h <= img.shape[0] and w <= img.shape[1]
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return out.astype(np.float32) * np.float32(1 / 255) if out.dtype == np.uint8 else out


def guided_coefficients(guide: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Fast guided filter (He & Sun 2015) at low resolution: uv ~ a * Y + b in every window.

    guide (h, w), uv (h, w, 2) -> coefficients (h, w, 4) = [a_u, b_u, a_v, b_v], which are smooth
    and can be upsampled, then applied to the full-resolution Y so colour edges follow image edges.
    """
    k = (2 * GUIDE_RADIUS + 1,) * 2
    box = lambda x: cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mean_i = box(guide)
    var_i = box(guide * guide) - mean_i * mean_i
    out = []
    for c in range(2):
        p = np.ascontiguousarray(uv[..., c])
        mean_p = box(p)
        a = (box(guide * p) - mean_i * mean_p) / (var_i + GUIDE_EPS)
        b = mean_p - a * mean_i
        out += [box(a), box(b)]
    return np.stack(out, axis=-1).astype(np.float32)


def rgb_coefficients(coef: np.ndarray, maxval: float) -> tuple[np.ndarray, np.ndarray]:
    """Fold YUV -> RGB into the guided coefficients: each channel c becomes A_c * Y + B_c.

    u = a_u Y + b_u and v = a_v Y + b_v, and R, G, B are linear in (Y, u, v), so the colour
    transform costs nothing at full resolution. Scaled to the output range (maxval).
    """
    m = YUV_TO_RGB.astype(np.float32)
    a_u, b_u, a_v, b_v = (coef[..., i] for i in range(4))
    A = np.stack([m[c, 0] + m[c, 1] * a_u + m[c, 2] * a_v for c in range(3)], axis=-1)
    B = np.stack([m[c, 1] * b_u + m[c, 2] * b_v for c in range(3)], axis=-1)
    return A * np.float32(maxval), B * np.float32(maxval)


def fine_luminance(y: np.ndarray) -> np.ndarray:
    """Y shrunk to a long side of at most FINE_SIZE, float32 in [0, 1]: the one full-resolution
    pass from which the network input, the guide and the 8-bit renderer all take their luminance."""
    h, w = y.shape
    scale = min(1.0, FINE_SIZE / max(h, w))
    return resize(y, max(1, round(h * scale)), max(1, round(w * scale)))


def render(y: np.ndarray, coef: np.ndarray, maxval: float, dtype, fine: np.ndarray | None = None) -> np.ndarray:
    """Apply low-resolution guided coefficients to full-resolution Y: RGB (H, W, 3) in `dtype`.
    `fine` is fine_luminance(y), if already at hand."""
    if y.dtype == np.uint8:
        return _render_8bit(y, coef, fine_luminance(y) if fine is None else fine)
    return _render_float(y, coef, maxval, dtype)


def _render_8bit(y: np.ndarray, coef: np.ndarray, yi: np.ndarray) -> np.ndarray:
    """The fast path for 8-bit pictures, all in OpenCV's fixed-point SIMD code.

    The guided coefficients are applied at an intermediate size (long side at most FINE_SIZE)
    and the resulting chroma is upsampled as 8-bit Cr/Cb, like JPEG's own chroma, then joined with
    the untouched full-resolution Y. That costs about as much as decoding the photo.
    """
    h, w = y.shape
    hi, wi = yi.shape
    c = cv2.resize(coef, (wi, hi), interpolation=cv2.INTER_LINEAR).reshape(hi, wi, 4)
    u = c[..., 0] * yi + c[..., 1]
    v = c[..., 2] * yi + c[..., 3]
    # OpenCV's 8-bit YCrCb is BT.601 like ours: Cr = 128 + 127.5 V / V_MAX, Cb = 128 + 127.5 U / U_MAX
    crcb = np.dstack([v * np.float32(127.5 / V_MAX) + 128.5, u * np.float32(127.5 / U_MAX) + 128.5])
    crcb = np.clip(crcb, 0, 255).astype(np.uint8)
    if (hi, wi) != (h, w):
        crcb = cv2.resize(crcb, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, 2)
    return cv2.cvtColor(cv2.merge([y, crcb[..., 0], crcb[..., 1]]), cv2.COLOR_YCrCb2RGB)


def _render_float(y: np.ndarray, coef: np.ndarray, maxval: float, dtype) -> np.ndarray:
    """The exact path for 16-bit and float pictures.

    Strip by strip, OpenCV upsamples the coefficient maps (bilinear, half-pixel centres like
    cv2.resize) and computes A * Y + B with saturation, so a 12 MP photo needs no full-size
    float array beyond Y itself.
    """
    h, w = y.shape
    A, B = rgb_coefficients(coef, maxval)
    hl, wl = coef.shape[:2]
    map_x = np.empty((min(STRIP_ROWS, h), w), np.float32)
    map_x[:] = (np.arange(w, dtype=np.float32) + 0.5) * (wl / w) - 0.5
    src_rows = (np.arange(h, dtype=np.float32) + 0.5) * (hl / h) - 0.5
    out = np.empty((h, w, 3), dtype)
    cv_depth = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U}.get(np.dtype(dtype))
    for r in range(0, h, STRIP_ROWS):
        n = min(STRIP_ROWS, h - r)
        map_y = np.ascontiguousarray(np.broadcast_to(src_rows[r:r + n, None], (n, w)))
        a = cv2.remap(A, map_x[:n], map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        b = cv2.remap(B, map_x[:n], map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if a.ndim == 2:  # OpenCV drops the channel axis of a single-pixel-wide result
            a, b = a.reshape(n, w, 3), b.reshape(n, w, 3)
        ys = cv2.merge([y[r:r + n]] * 3)
        if cv_depth is None:  # float output in [0, 1]
            out[r:r + n] = np.clip(a * ys + b, 0, 1)
        else:  # rounds and saturates to 0..maxval in one pass
            cv2.add(cv2.multiply(a, ys), b, dst=out[r:r + n], dtype=cv_depth)
    return out


@dataclass
class Canvas:
    """A picture's full-resolution luminance, ready to take colour predicted at low resolution."""

    luminance: np.ndarray   # (H, W) full-resolution Y: uint8, or float32 in [0, 1]
    fine: np.ndarray        # fine_luminance(luminance), long side <= FINE_SIZE
    picture: Picture        # the source, for alpha, depth and kind

    @classmethod
    def of(cls, image) -> "Canvas":
        """From a path, PIL image, numpy array, Picture or Canvas."""
        if isinstance(image, Canvas):
            return image
        if isinstance(image, (str, Path)):
            image = read_picture(image)  # full depth (16-bit colour too) and metadata, for save()
        pic = image if isinstance(image, Picture) else to_picture(image)
        y = full_luminance(pic)
        return cls(y, fine_luminance(y), pic)

    @property
    def has_colour(self) -> bool:
        """True when the source is already a colour picture (it will be recoloured from its
        luminance): the rule the training data uses, mean |R-G| + |G-B| >= 2 levels at 64x64."""
        return is_colour(self.picture.samples, self.picture.maxval)

    def network_input(self, working_size: int) -> np.ndarray:
        """The luminance at the working size, (1, 1, h, w) float32, as the network takes it."""
        h, w = working_shape(*self.luminance.shape, working_size)
        return resize(self.fine, h, w)[None, None]

    def guide(self, h: int, w: int) -> np.ndarray:
        """Luminance at the chroma's resolution (h, w), in [0, 1]: the guided filter's guide."""
        return resize(self.fine, h, w)

    def rgb(self, uv: np.ndarray, guide: np.ndarray | None = None) -> np.ndarray:
        """Low-resolution chroma (h, w, 2) on the full-resolution luminance: RGB (H, W, 3) at the
        source's depth (uint8, uint16, or float32 in [0, 1])."""
        uv = np.ascontiguousarray(uv, np.float32)
        coef = guided_coefficients(self.guide(*uv.shape[:2]) if guide is None else guide, uv)
        dtype = np.float32 if self.picture.maxval == 1.0 else self.picture.samples.dtype
        return render(self.luminance, coef, self.picture.maxval, dtype, self.fine)

    def render(self, uv: np.ndarray, guide: np.ndarray | None = None):
        """The colorized image in the kind of the input (PIL or numpy), alpha restored."""
        return from_picture(self.rgb(uv, guide), self.picture)

    def save(self, uv: np.ndarray, dst: str | os.PathLike, quality: int = 95, overwrite: bool = True) -> None:
        """Write the colorized image atomically at the source's depth where the format allows
        (16-bit PNG and TIFF; float sources are stored as 16-bit), with the source file's ICC
        profile, resolution and EXIF (Picture.meta) as far as the format allows."""
        rgb, pic = self.rgb(uv), self.picture
        if rgb.dtype == np.uint8:
            write_image(from_picture(rgb, pic), dst, quality=quality, overwrite=overwrite, meta=pic.meta)
            return
        alpha = pic.alpha
        if rgb.dtype == np.float32:
            rgb = (rgb * 65535 + 0.5).astype(np.uint16)
            alpha = None if alpha is None else (np.clip(alpha, 0, 1) * 65535 + 0.5).astype(np.uint16)
        write_image(rgb if alpha is None else np.dstack([rgb, alpha]), dst, quality=quality, overwrite=overwrite,
                    meta=pic.meta)


@dataclass
class Prediction:
    """The network's per-pixel bin distribution for one image, ready to render at any temperature."""

    logits: np.ndarray      # (n_bins, h, w) at half the working size, as the network gave them
    canvas: Canvas          # the image's full-resolution side
    bins: ChromaBins        # the model's colour bins: UV centres, prior, bin size
    temperature: float      # the default used by render()
    bias: np.ndarray | None = None  # (n_bins,) added to every pixel's logits: a reference's pull

    def __repr__(self) -> str:
        h, w = self.canvas.luminance.shape
        return (f"Prediction({self.logits.shape[0]} bins at {self.logits.shape[2]}x{self.logits.shape[1]} "
                f"for a {w}x{h} image, temperature {self.temperature:g}"
                f"{'' if self.bias is None else ', with a reference'})")

    @property
    def scores(self) -> np.ndarray:
        """The logits with the reference's bias added (the logits themselves without a reference):
        what every rendering uses."""
        return self.logits if self.bias is None else self.logits + self.bias[:, None, None]

    @property
    def probs(self) -> np.ndarray:
        """Probability of each bin at each pixel of the network's output grid (half the working
        size), (n_bins, h, w); pulled toward the reference, if there is one."""
        return softmax(self.scores, axis=0)

    def chroma(self, temperature: float | None = None) -> np.ndarray:
        """Annealed-mean UV at low resolution, (h, w, 2)."""
        t = self.temperature if temperature is None else temperature
        return np.moveaxis(annealed_mean(self.scores, self.bins.centers, t, axis=0), 0, -1)

    def guide(self) -> np.ndarray:
        """Luminance at the chroma's resolution, (h, w) in [0, 1]: the guided filter's guide."""
        return self.canvas.guide(*self.logits.shape[1:])

    def render(self, temperature: float | None = None):
        """The colorized image at full resolution, in the kind of the input (PIL or numpy)."""
        return self.canvas.render(self.chroma(temperature))

    def save(self, dst: str | os.PathLike, temperature: float | None = None, quality: int = 95,
             overwrite: bool = True) -> None:
        """Render and write to dst atomically (PNG, JPEG, TIFF, WebP, BMP by its suffix); 16-bit
        sources stay 16-bit in PNG and TIFF. Without `overwrite` an existing dst is kept."""
        self.canvas.save(self.chroma(temperature), dst, quality, overwrite)

    def with_reference(self, reference, strength: float = 0.5) -> "Prediction":
        """The same network output pulled toward a reference photo (path, PIL, numpy RGB) or palette
        (list of colours) with strength s in [0, 1] (engine/reference.py); None removes the pull.
        Runs no network: an app can follow a slider."""
        check_strength(strength)
        bias = None if reference is None else Reference.of(reference, self.bins).bias(strength)
        return replace(self, bias=bias)

    def suggestions(self, x: int, y: int, k: int = 6) -> list[tuple[int, int, int]]:
        """The k most likely distinct colours at image pixel (x, y), most likely first, as 8-bit RGB
        at that pixel's own luminance (what the pixel would become)."""
        h, w = self.canvas.luminance.shape
        if not all(isinstance(v, (int, np.integer)) for v in (x, y, k)):
            raise ColorizeError(f"pixel coordinates and k must be whole numbers, got ({x!r}, {y!r}), k={k!r}")
        if not (0 <= x < w and 0 <= y < h):
            raise ColorizeError(f"pixel ({x}, {y}) is outside the {w}x{h} image")
        if k < 1:
            raise ColorizeError(f"k must be at least 1, got {k}")
        centers, (hl, wl) = self.bins.centers, self.logits.shape[1:]
        # the network's grid cell that covers the pixel (cell centres at (i + 0.5) * W / w)
        scores = self.scores[:, min(hl - 1, int((y + 0.5) * hl / h)), min(wl - 1, int((x + 0.5) * wl / w))]
        chosen: list[int] = []
        for b in np.argsort(-scores, kind="stable"):
            # next-door bins are shades of one colour: a palette of them would say nothing
            if all(np.linalg.norm(centers[b] - centers[c]) >= 1.5 * self.bins.bin_size for c in chosen):
                chosen.append(int(b))
                if len(chosen) == k:
                    break
        lum = float(self.canvas.luminance[y, x]) / (255.0 if self.canvas.luminance.dtype == np.uint8 else 1.0)
        yuv = np.column_stack([np.full(len(chosen), lum), centers[chosen]])
        rgb = np.clip(yuv_to_rgb(yuv), 0, 1) * 255 + 0.5
        return [tuple(int(c) for c in px) for px in rgb.astype(np.uint8)]


class Colorizer:
    """A loaded model. `Colorizer()` uses the shipped weights, onnxruntime on the CPU or CUDA."""

    def __init__(self, weights: str | os.PathLike | None = None, backend: str = "auto",
                 device: str = "auto", working_size: int | None = None):
        self.bundle: Bundle = load_bundle(weights)
        self.net = open_backend(self.bundle, backend, device)
        self.working_size = int(working_size or self.bundle.working_size)
        if not STRIDE <= self.working_size <= MAX_WORKING_SIZE:
            raise ColorizeError(f"working size must be in [{STRIDE}, {MAX_WORKING_SIZE}], got {self.working_size}")

    @property
    def backend(self) -> str:
        return self.net.name

    @property
    def device(self) -> str:
        return self.net.device

    @property
    def temperature(self) -> float:
        """The model's default temperature."""
        return self.bundle.temperature

    def load_reference(self, reference) -> Reference | None:
        """A reference photo or palette read once for this model's bins (None stays None)."""
        return None if reference is None else Reference.of(reference, self.bundle.bins)

    @property
    def takes_hints(self) -> bool:
        """Whether these weights follow local colour hints (a model fine-tuned by training.hints)."""
        return bool(self.bundle.model.get("hints", False))

    def check_takes_hints(self) -> None:
        """Raise ColorizeError unless these weights follow colour hints."""
        if not self.takes_hints:
            raise ColorizeError("these weights take no colour hints (train them with training.hints)")

    def predict(self, image, hints=None, reference=None, reference_strength: float = 0.5) -> Prediction:
        """Run the network once; the Prediction renders any temperature without running it again.

        hints: local colour hints, points (x, y, colour) in image pixels or an RGBA hint image of
        the image's size (engine/hints.py); they need weights that take hints (`takes_hints`).
        reference: a photo (path, PIL, numpy RGB) or a list of colours to pull every colour toward,
        with reference_strength in [0, 1] (engine/reference.py). Both are checked before the
        network runs. Pass a Canvas as image to rerun with new hints without reading it again."""
        check_strength(reference_strength)
        reference = self.load_reference(reference)
        canvas = Canvas.of(image)
        y = canvas.network_input(self.working_size)
        planes = hint_planes(hints, canvas.luminance.shape, y.shape[2:])
        if planes is not None:
            self.check_takes_hints()
        logits = self.net(y, planes)[0]
        pred = Prediction(logits, canvas, self.bundle.bins, self.temperature)
        return pred if reference is None else pred.with_reference(reference, reference_strength)

    def colorize(self, image, temperature: float | None = None, *, hints=None, reference=None,
                 reference_strength: float = 0.5):
        """Colorize a path (returns a PIL image), PIL image or numpy array (same kind back), or a
        list of them (a list back); hints and a reference as in predict."""
        if isinstance(image, (list, tuple)):
            if hints is not None:
                raise ColorizeError("hints belong to one image: colorize the images one by one")
            reference = self.load_reference(reference)  # read once for the whole list
            return [self.colorize(im, temperature, reference=reference, reference_strength=reference_strength)
                    for im in image]
        return self.predict(image, hints, reference, reference_strength).render(temperature)

    def colorize_file(self, src: str | os.PathLike, dst: str | os.PathLike, temperature: float | None = None,
                      quality: int = 95, overwrite: bool = True, *, hints=None, reference=None,
                      reference_strength: float = 0.5) -> None:
        """Read src, colorize, write dst atomically. 16-bit sources stay 16-bit in PNG/TIFF."""
        self.predict(src, hints, reference, reference_strength).save(dst, temperature, quality, overwrite)


_default: Colorizer | None = None


def colorize(image, temperature: float | None = None, *, hints=None, reference=None, reference_strength: float = 0.5):
    """One call: colorize a path, PIL image, numpy array or list of them with the shipped model."""
    global _default
    if _default is None:
        _default = Colorizer()
    return _default.colorize(image, temperature, hints=hints, reference=reference,
                             reference_strength=reference_strength)
