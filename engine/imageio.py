"""Reading and writing images safely: every failure becomes one clear `ColorizeError` line.

A `Picture` is the engine's view of any input (file, PIL image or numpy array): the samples, an
optional alpha channel and what is needed to give the result back in the same kind and depth.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ColorizeError
from .media import IMAGE_WRITE, atomic_output, check_input_file

MAX_PIXELS = 150_000_000  # default limit: larger images are refused before decoding (decompression bombs)
_max_pixels = MAX_PIXELS


def set_max_pixels(limit: int) -> None:
    """Change the one size limit of read_image (the CLI's --max-megapixels)."""
    global _max_pixels
    _max_pixels = int(limit)


@dataclass
class Picture:
    samples: np.ndarray        # (H, W) grey or (H, W, 3) RGB, in the source's dtype
    alpha: np.ndarray | None   # (H, W) in the same dtype, passed through untouched
    maxval: float              # 255, 65535 or 1.0 (float input)
    kind: str                  # "pil" or "numpy": what to hand back

    @property
    def size(self) -> tuple[int, int]:
        return self.samples.shape[1], self.samples.shape[0]


def read_image(path: str | os.PathLike) -> Image.Image:
    """Open an image file fully decoded and upright (EXIF orientation applied, first frame only).
    Images over the size limit (150 MP unless set_max_pixels) are refused before decoding."""
    path = Path(path)
    try:
        check_input_file(path, "an image")
        im = _open_unchecked(path)
        w, h = im.size
        if w * h > _max_pixels:
            raise ColorizeError(f"image too large: {w}x{h} pixels = {w * h / 1e6:.0f} MP (limit "
                                f"{_max_pixels / 1e6:g} MP; the colorize command's --max-megapixels raises it)")
        im.seek(0)  # animated GIF/WebP/APNG: colorize the first frame
        im.load()
        return ImageOps.exif_transpose(im)
    except ColorizeError:
        raise
    except FileNotFoundError:
        raise ColorizeError("no such file") from None
    except PermissionError:
        raise ColorizeError("permission denied") from None
    except UnidentifiedImageError:
        raise ColorizeError("not an image, or a format Pillow cannot read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ColorizeError(f"truncated or corrupt image ({e})") from None


def _open_unchecked(path: Path) -> Image.Image:
    """Image.open without Pillow's own decompression-bomb limits (89 MP warning, 179 MP error):
    read_image applies one limit of its own, from the header, before decoding."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def to_picture(image) -> Picture:
    """Normalise a PIL image or numpy array into a `Picture`."""
    if isinstance(image, Image.Image):
        return _pil_to_picture(image)
    if isinstance(image, np.ndarray):
        return _array_to_picture(image)
    raise ColorizeError(f"expected a path, PIL image or numpy array, got {type(image).__name__}")


def _pil_to_picture(im: Image.Image) -> Picture:
    if im.width * im.height == 0:
        raise ColorizeError("image has no pixels")
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        grey = np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
        return Picture(grey, None, 65535.0, "pil")
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if mode == "PA" or "transparency" in im.info else "RGB")
    elif mode == "1" or mode == "F":
        im = im.convert("L")
    elif mode in ("LA", "La"):
        im = im.convert("LA")
    elif mode in ("RGBa", "RGBA"):
        im = im.convert("RGBA")
    elif mode not in ("L", "RGB"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
    arr = np.asarray(im)
    if im.mode == "LA":
        return Picture(arr[..., 0], arr[..., 1], 255.0, "pil")
    if im.mode == "RGBA":
        return Picture(arr[..., :3], arr[..., 3], 255.0, "pil")
    return Picture(arr, None, 255.0, "pil")


def _array_to_picture(arr: np.ndarray) -> Picture:
    if arr.dtype == np.uint8:
        maxval = 255.0
    elif arr.dtype == np.uint16:
        maxval = 65535.0
    elif arr.dtype in (np.float32, np.float64):
        maxval, arr = 1.0, np.clip(arr, 0, 1).astype(np.float32)
    else:
        raise ColorizeError(f"unsupported array dtype {arr.dtype} (use uint8, uint16 or float in [0, 1])")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (2, 3, 4)):
        raise ColorizeError(f"unsupported array shape {arr.shape} (use HxW, HxWx1, HxWx2, HxWx3 or HxWx4)")
    if arr.shape[0] * arr.shape[1] == 0:
        raise ColorizeError("image has no pixels")
    if arr.ndim == 2:
        return Picture(arr, None, maxval, "numpy")
    if arr.shape[2] == 2:
        return Picture(arr[..., 0], arr[..., 1], maxval, "numpy")
    return Picture(arr[..., :3], arr[..., 3] if arr.shape[2] == 4 else None, maxval, "numpy")


def from_picture(rgb: np.ndarray, pic: Picture):
    """Give an RGB result (H, W, 3, the source's dtype) back in the source's kind, alpha restored."""
    if pic.kind == "pil" and rgb.dtype != np.uint8:  # PIL has no 16-bit RGB
        rgb = (rgb.astype(np.float32) * (255.0 / pic.maxval) + 0.5).astype(np.uint8)
    if pic.alpha is not None:
        alpha = pic.alpha if pic.alpha.dtype == rgb.dtype else \
            (pic.alpha.astype(np.float32) * (255.0 / pic.maxval) + 0.5).astype(np.uint8)
        rgb = np.dstack([rgb, alpha])
    return Image.fromarray(rgb) if pic.kind == "pil" else rgb


def write_image(image, path: str | os.PathLike, quality: int = 95, overwrite: bool = True) -> None:
    """Write a PIL image or uint8/uint16 RGB(A) array atomically (temp file, then rename);
    without `overwrite`, an existing file is kept (OutputExists)."""
    path = Path(path)
    fmt = IMAGE_WRITE.get(path.suffix.lower())
    if fmt is None:
        raise ColorizeError(f"cannot write {path.suffix or 'files without an extension'}: "
                            f"use one of {', '.join(sorted(IMAGE_WRITE))}")
    if isinstance(image, np.ndarray) and image.dtype == np.uint16 and fmt not in ("PNG", "TIFF"):
        image = (image.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    if isinstance(image, np.ndarray) and image.dtype != np.uint16:
        image = Image.fromarray(image)
    if isinstance(image, Image.Image) and fmt in ("JPEG", "BMP") and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")  # these formats have no alpha channel
    try:
        with atomic_output(path, overwrite=overwrite) as tmp:
            if isinstance(image, np.ndarray) and image.dtype == np.uint16:
                _write_16bit(image, tmp)
            else:
                image.save(tmp, fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    except OSError as e:
        raise ColorizeError(f"cannot write {path}: {e.strerror or e}") from None


def _write_16bit(rgb: np.ndarray, path: str) -> None:
    """16-bit RGB(A) PNG/TIFF, which Pillow cannot write; OpenCV can (it wants BGR order)."""
    import cv2

    order = [2, 1, 0, 3][: rgb.shape[2]]
    if not cv2.imwrite(path, np.ascontiguousarray(rgb[..., order])):
        raise OSError(f"OpenCV could not write {path}")
