"""The full-resolution maths: luminance -> network input at a working size, and low-resolution
chroma -> full-resolution colour guided by the luminance (fast guided filter), recombined with the
original Y in one pass per strip."""
from __future__ import annotations

import cv2
import numpy as np

from .color import RGB_TO_YUV, U_MAX, V_MAX, YUV_TO_RGB
from .imageio import Picture
from .settings import MAX_WORKING_SIZE, STRIDE

STRIP_ROWS = 256    # full-resolution work is done in strips so a 12 MP photo stays within memory
GUIDE_RADIUS = 2    # guided filter window radius, in low-resolution chroma pixels
GUIDE_EPS = 1e-3    # guided filter regulariser: smaller = colour follows luminance edges more
FINE_SIZE = MAX_WORKING_SIZE  # 8-bit path: long side at which colour edges are aligned to luminance
                              # edges; the network input comes from it, so no working size exceeds it


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


def guided_coefficients(guide: np.ndarray, uv: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Fast guided filter (He & Sun 2015) at low resolution: uv ~ a * Y + b in every window.

    guide (h, w), uv (h, w, 2) -> coefficients (h, w, 4) = [a_u, b_u, a_v, b_v], which are smooth
    and can be upsampled, then applied to the full-resolution Y so colour edges follow image edges.
    weight (h, w), optional: how much each pixel counts in its windows' fits (a weighted least
    squares fit per window; the user's hints weigh more than the network's guesses around them).
    """
    k = (2 * GUIDE_RADIUS + 1,) * 2
    box = lambda x: cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mean = box if weight is None else (lambda x, norm=box(weight): box(weight * x) / norm)
    mean_i = mean(guide)
    var_i = mean(guide * guide) - mean_i * mean_i
    out = []
    for c in range(2):
        p = np.ascontiguousarray(uv[..., c])
        mean_p = mean(p)
        a = (mean(guide * p) - mean_i * mean_p) / (var_i + GUIDE_EPS)
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
