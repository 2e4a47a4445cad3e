"""Reading and writing images safely: every failure becomes one clear `ColorizeError` line.

A `Picture` is the engine's view of any input (file, PIL image or numpy array): the samples, an
optional alpha channel and what is needed to give the result back in the same kind and depth, and
for a file, the metadata its result keeps. Pillow reads and writes everything but 16-bit colour,
which OpenCV decodes and encodes (the metadata OpenCV cannot write is added to its bytes here).
"""
from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ColorizeError, write_error
from .media import IMAGE_WRITE, atomic_output, check_input_file

MAX_PIXELS = 150_000_000  # default limit: larger images are refused before decoding (decompression bombs)
_max_pixels = MAX_PIXELS
FLOAT_SLACK = 1e-3        # float images may stray this far outside [0, 1] (rounding); more is a mistake
LOSSLESS_TIFF = {"tiff_lzw", "tiff_adobe_deflate", "tiff_deflate", "packbits"}  # kept when a TIFF is written

ORIENTATION = 0x0112  # the EXIF tag
# TIFF tags that describe how the source stores its pixels (size, depth, strips, compression, colour
# encoding, Photoshop layers), not the photo: in a TIFF they come with its EXIF tags, and must not go
# on to a result that is stored differently. The ICC profile travels on its own (meta["icc_profile"]).
_LAYOUT_TAGS = frozenset({254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284,
                          317, 320, 322, 323, 324, 325, 330, 338, 339, 340, 341, 347, 513, 514, 529, 530,
                          532, 34377, 34675, 37724})


def set_max_pixels(limit: int) -> None:
    """Change the one size limit of read_image (the CLI's --max-megapixels)."""
    global _max_pixels
    _max_pixels = int(limit)


@dataclass
class Picture:
    """One image as the engine sees it. `meta` is what a result written to a file keeps of the
    source file (empty for images given in memory): "icc_profile" (bytes, RGB profiles only),
    "dpi" ((x, y) floats) and "exif" (bytes as Image.Exif.tobytes gives them, Orientation 1)."""

    samples: np.ndarray        # (H, W) grey or (H, W, 3) RGB, in the source's dtype
    alpha: np.ndarray | None   # (H, W) in the same dtype, passed through untouched
    maxval: float              # 255, 65535 or 1.0 (float input)
    kind: str                  # "pil" or "numpy": what to hand back
    meta: dict = field(default_factory=dict)
    source: Path | None = None  # the file it was read from (a result must not replace it by accident)
    frames: int = 1             # an animated file's frame count: only the first is read

    @property
    def size(self) -> tuple[int, int]:
        return self.samples.shape[1], self.samples.shape[0]


def read_image(path: str | os.PathLike) -> Image.Image:
    """Open an image file fully decoded and upright (EXIF orientation applied, first frame only).
    Images over the size limit (150 MP unless set_max_pixels) are refused before decoding.
    Pillow decodes 16-bit colour to 8 bits: read_picture keeps them."""
    with _reading_errors():
        return _load_upright(_open_checked(Path(path)))


def read_picture(path: str | os.PathLike) -> Picture:
    """Read an image file into a `Picture` at its full depth, with its metadata (Picture.meta).

    Like read_image (same checks, upright, first frame), but 16-bit colour PNG and TIFF, which
    Pillow can only decode to 8 bits, are decoded by OpenCV and keep their 16 bits (maxval 65535).
    The Picture's kind is "pil": in memory the result comes back as a PIL image, like read_image's.
    """
    path = Path(path)
    with _reading_errors():
        im = _open_checked(path)
        deep = _is_deep_colour(im)  # from the decoder's tile list, which load() empties
        orientation = _orientation(im)
        meta = _metadata(im)
        frames = int(getattr(im, "n_frames", 1) or 1)
        if deep:
            im.close()  # Pillow's decoder is not needed
            pic = _read_deep_colour(path, orientation)
            if pic is not None:
                pic.meta, pic.source, pic.frames = meta, path, frames
                return pic
            warnings.warn(f"{path}: OpenCV could not decode this 16-bit image; it is read at 8 bits",
                          stacklevel=2)
            im = _open_checked(path)
        pic = _pil_to_picture(_load_upright(im))
        pic.meta, pic.source, pic.frames = meta, path, frames
        return pic


@contextmanager
def _reading_errors():
    """Turn whatever opening and decoding a file raises into one ColorizeError line."""
    try:
        yield
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


def decode_image(data: bytes, draft: tuple[int, int] | None = None) -> Image.Image:
    """An image file's bytes (a zip member, say) decoded as read_image decodes a file: the size
    limit, upright, first frame. `draft` lets a JPEG decode at about that size directly."""
    with _reading_errors():
        im = _open_checked(io.BytesIO(data))
        if draft:
            im.draft("RGB", draft)
        return _load_upright(im)


def _open_checked(source: Path | io.BytesIO) -> Image.Image:
    """The file opened (header only), refused if it is not a readable file or over the size limit."""
    if isinstance(source, Path):
        check_input_file(source, "an image")
    im = _open_unchecked(source)
    w, h = im.size
    if w * h > _max_pixels:
        raise ColorizeError(f"image too large: {w}x{h} pixels = {w * h / 1e6:.0f} MP (limit "
                            f"{_max_pixels / 1e6:g} MP; the colorize command's --max-megapixels raises it)")
    return im


def _load_upright(im: Image.Image) -> Image.Image:
    im.seek(0)  # animated GIF/WebP/APNG: colorize the first frame
    im.load()
    return ImageOps.exif_transpose(im)


def _open_unchecked(path: Path | io.BytesIO) -> Image.Image:
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


def _is_deep_colour(im: Image.Image) -> bool:
    """True for a PNG or TIFF with 16-bit colour (or grey with alpha) samples, which Pillow decodes
    to 8-bit RGB(A). (16-bit grey alone Pillow keeps, as mode I;16.) Must be asked before load()."""
    if im.format not in ("PNG", "TIFF") or im.mode not in ("RGB", "RGBA", "LA") or not im.tile:
        return False
    args = im.tile[0][3]  # the raw mode: "RGB;16B" in a PNG, ("RGB;16N", ...) in a TIFF
    rawmode = args[0] if isinstance(args, tuple) else args
    return isinstance(rawmode, str) and ";16" in rawmode


def _read_deep_colour(path: Path, orientation: int) -> Picture | None:
    """A 16-bit colour PNG or TIFF decoded by OpenCV, upright; None if OpenCV cannot decode it."""
    import cv2

    data = bytearray(path.read_bytes())  # imdecode, not imread, which cannot open non-ASCII paths on Windows
    if data[:4] in (b"II*\0", b"MM\0*"):
        _clear_tiff_orientation(data)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)  # UNCHANGED: keeps 16 bits, alpha
    if bgr is None or bgr.dtype != np.uint16 or bgr.ndim != 3 or bgr.shape[2] not in (3, 4):
        return None
    arr = _orient(bgr, orientation)
    alpha = np.ascontiguousarray(arr[..., 3]) if arr.shape[2] == 4 else None
    return Picture(np.ascontiguousarray(arr[..., 2::-1]), alpha, 65535.0, "pil")  # BGR(A) -> RGB


def _clear_tiff_orientation(tiff: bytearray) -> None:
    """Set the Orientation tag of a TIFF's first directory to 1, in place. OpenCV's TIFF reader
    rotates by it in some versions and not in others (PNG it never rotates with IMREAD_UNCHANGED),
    and its imread fails on a rotated 16-bit TIFF: the rotation is left to _orient."""
    e = "<" if tiff[:2] == b"II" else ">"
    (start,) = struct.unpack_from(e + "I", tiff, 4)
    if start + 2 > len(tiff):
        return
    (count,) = struct.unpack_from(e + "H", tiff, start)
    for entry in range(start + 2, min(start + 2 + 12 * count, len(tiff) - 11), 12):
        tag, kind = struct.unpack_from(e + "HH", tiff, entry)
        if tag == ORIENTATION and kind == 3:  # SHORT, stored in the entry itself
            struct.pack_into(e + "H", tiff, entry + 8, 1)


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation, 1 (upright) to 8."""
    try:
        return int(im.getexif().get(ORIENTATION, 1))
    except Exception:  # a damaged EXIF block costs the rotation, not the photo
        return 1


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an (H, W, ...) array, as ImageOps.exif_transpose does to an image."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: a.swapaxes(0, 1)[:, ::-1],
           7: lambda a: a.swapaxes(0, 1)[::-1, ::-1], 8: lambda a: a.swapaxes(0, 1)[::-1]}
    return ops[orientation](arr) if orientation in ops else arr


def _metadata(im: Image.Image) -> dict:
    """What a result should keep of its source file (see Picture.meta)."""
    meta = {}
    icc = im.info.get("icc_profile")
    if isinstance(icc, bytes) and icc[16:20] == b"RGB ":  # the result is RGB: a grey or CMYK profile would be wrong
        meta["icc_profile"] = icc
    dpi = im.info.get("dpi")
    if im.format == "TIFF" and 282 not in getattr(im, "tag_v2", {}):
        dpi = None  # Pillow says (1, 1) for a TIFF without a resolution: none to keep
    try:
        dpi = tuple(float(d) for d in dpi) if dpi else ()
    except (TypeError, ValueError, ZeroDivisionError):  # a TIFF rational with denominator 0
        dpi = ()
    if im.format == "TIFF" and im.info.get("compression") in LOSSLESS_TIFF:
        meta["tiff_compression"] = im.info["compression"]  # an LZW scan stays LZW, not 2-3x larger
    if len(dpi) == 2 and all(0 < d < 1e6 for d in dpi):
        # PNG stores pixels per metre: 300 dpi reads back as 299.9994; give the round number back
        meta["dpi"] = tuple(float(round(d)) if abs(d - round(d)) < 0.01 else d for d in dpi)
    try:
        src = im.getexif()
        if len(src):
            exif = Image.Exif()
            exif.load(src.tobytes())  # a copy: the image's own is still needed to rotate it
            for tag in _LAYOUT_TAGS & set(exif):
                del exif[tag]
            if ORIENTATION in exif:
                exif[ORIENTATION] = 1  # the rotation is applied to the pixels
            if len(exif):
                meta["exif"] = exif.tobytes()
    except Exception:  # a damaged EXIF block is left behind rather than costing the photo
        pass
    return meta


def to_picture(image) -> Picture:
    """Normalise a PIL image or numpy array into a `Picture`.

    Value ranges: uint8 is 0..255 and uint16 0..65535; PIL "I;16" and "I" images are 16-bit grey,
    0..65535 (larger values are clipped). Floats are taken as [0, 1]: numpy float arrays and PIL
    "F" images alike (values outside are clipped; NaN or infinite values are refused).
    """
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
    if mode == "F":  # floats in [0, 1], as in a float array (Pillow's convert("L") reads 0..255: black)
        pic = _array_to_picture(np.asarray(im, np.float32))
        pic.kind = "pil"
        return pic
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if mode == "PA" or "transparency" in im.info else "RGB")
    elif mode == "1":
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
    elif arr.dtype in (np.float16, np.float32, np.float64):
        if not np.isfinite(arr).all():  # one NaN would spread through the filters to every pixel
            raise ColorizeError("image has NaN or infinite values")
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        if lo < -FLOAT_SLACK or hi > 1 + FLOAT_SLACK:  # e.g. 0-255 data in a float array
            raise ColorizeError(f"a float image must hold values in [0, 1], this one goes from {lo:g} to {hi:g}")
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


def write_image(image, path: str | os.PathLike, quality: int = 95, overwrite: bool = True,
                meta: dict | None = None) -> None:
    """Write a PIL image or uint8/uint16 RGB(A) array atomically (temp file, then rename);
    without `overwrite`, an existing file is kept (OutputExists). uint16 stays 16-bit in PNG and
    TIFF. `meta` (see Picture.meta) is written as far as the format allows: ICC profile and EXIF in
    PNG, JPEG, TIFF and WebP, the resolution in all but WebP."""
    path = Path(path)
    meta = meta or {}
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
    # 16 bits: encoded in memory first, so that a failure to write is the file system's own error
    data = _encode_16bit(image, fmt, meta, path) if isinstance(image, np.ndarray) else None
    try:
        with atomic_output(path, overwrite=overwrite) as tmp:
            if data is not None:
                with open(tmp, "wb") as f:
                    f.write(data)
            else:
                _save(image, tmp, fmt, quality, meta)
    except OSError as e:
        raise write_error(f"cannot write {path}: {e.strerror or e}", e) from None


# What Pillow raises for metadata it cannot write (an EXIF value of an odd type, a tag libtiff
# refuses); OSError is not among them: that one is the file system's, and reaches the user.
_METADATA_ERRORS = (ValueError, TypeError, KeyError, RuntimeError, SyntaxError, struct.error)


def _save(image: Image.Image, tmp: str, fmt: str, quality: int, meta: dict) -> None:
    """Pillow's save with the metadata; if the metadata cannot be written, the photo without it."""
    try:
        image.save(tmp, fmt, **_save_options(fmt, quality, meta))
    except _METADATA_ERRORS as e:
        if not meta:
            raise
        warnings.warn(f"the source's metadata could not be written and is left out ({e})", stacklevel=3)
        image.save(tmp, fmt, **_save_options(fmt, quality, {}))


def _save_options(fmt: str, quality: int, meta: dict) -> dict:
    """Pillow's save() arguments for one format: quality, and the metadata the format can hold."""
    opts = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        if "icc_profile" in meta:
            opts["icc_profile"] = meta["icc_profile"]
        exif = meta.get("exif")
        if exif and not (fmt == "JPEG" and len(exif) > 65533):  # one JPEG marker holds at most 64 KB
            opts["exif"] = exif
    if fmt != "WEBP" and "dpi" in meta:  # WebP has no resolution
        opts["dpi"] = meta["dpi"]
    if fmt == "TIFF" and "tiff_compression" in meta:
        opts["compression"] = meta["tiff_compression"]
    return opts


def _encode_16bit(rgb: np.ndarray, fmt: str, meta: dict, path: Path) -> bytes:
    """A uint16 RGB(A) array as PNG or TIFF file bytes, with meta. Pillow has no 16-bit colour
    images; OpenCV encodes them (it wants BGR order) but writes no metadata, so it is added here."""
    import cv2

    order = [2, 1, 0, 3][: rgb.shape[2]]
    try:
        ok, buf = cv2.imencode(".png" if fmt == "PNG" else ".tif", np.ascontiguousarray(rgb[..., order]))
    except cv2.error as e:
        ok, why = False, str(e).strip().splitlines()[-1]
    else:
        why = ""
    if not ok:
        raise ColorizeError(f"cannot write {path}: OpenCV could not encode it as a 16-bit {fmt} {why}".rstrip())
    data = buf.tobytes()
    try:
        return _png_with_meta(data, meta) if fmt == "PNG" else _tiff_with_meta(data, meta, rgb.shape[2] == 4)
    except _METADATA_ERRORS as e:
        warnings.warn(f"the source's metadata could not be written and is left out ({e})", stacklevel=3)
        return data


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_with_meta(png: bytes, meta: dict) -> bytes:
    """Add iCCP, pHYs and eXIf chunks (as Pillow writes them) right after the IHDR chunk."""
    chunks = []
    if "icc_profile" in meta:  # name, NUL, compression method 0 (zlib)
        chunks.append(_png_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(meta["icc_profile"])))
    if "dpi" in meta:  # pixels per metre, unit 1 (metre)
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", *(round(d / 0.0254) for d in meta["dpi"]), 1)))
    if meta.get("exif"):  # the TIFF structure without the "Exif\0\0" of JPEG's marker
        exif = meta["exif"]
        chunks.append(_png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    end = 8 + 12 + 13  # signature, then IHDR: length, type, 13 bytes, CRC
    if not chunks or png[12:16] != b"IHDR":
        return png
    return png[:end] + b"".join(chunks) + png[end:]


def _tiff_with_meta(tiff: bytes, meta: dict, alpha: bool) -> bytes:
    """OpenCV's TIFF (one image directory, in strips) with meta and the alpha channel declared
    (OpenCV leaves ExtraSamples out, and readers then guess what the 4th channel is).

    The directory is rebuilt with Pillow's TIFF tag writer and placed before the compressed strips,
    which are copied unchanged: the layout Pillow itself writes. Anything else is left as it is.
    """
    from PIL import TiffImagePlugin, TiffTags

    if tiff[:4] not in (b"II*\0", b"MM\0*"):  # BigTIFF, for files over 4 GB
        return tiff
    ifd = TiffImagePlugin.ImageFileDirectory_v2(tiff[:8])
    fp = io.BytesIO(tiff)
    fp.seek(ifd.next)
    ifd.load(fp)
    for tag in list(ifd):
        ifd[tag]  # decodes it: tobytes() writes decoded tags only
    if ifd.next or 273 not in ifd or 279 not in ifd:  # several images, or tiles
        return tiff
    offsets, counts = (v if isinstance(v, tuple) else (v,) for v in (ifd[273], ifd[279]))
    view = memoryview(tiff)
    strips = [view[o:o + n] for o, n in zip(offsets, counts)]
    ifd.tagtype[273] = TiffTags.LONG
    ifd[273] = tuple(int(o) for o in np.cumsum([0, *counts[:-1]]))  # tobytes() adds where the strips start
    if alpha and 338 not in ifd:
        ifd[338] = (2,)  # ExtraSamples: the 4th channel is unassociated alpha
    if meta.get("exif"):  # as Pillow's TIFF writer takes exif=: sub-directories (Exif, GPS) as dicts
        exif = Image.Exif()
        exif.load(meta["exif"])
        for tag in exif:
            if tag in ifd or tag in _LAYOUT_TAGS:
                continue
            value = exif[tag]
            if tag in TiffTags.TAGS_V2_GROUPS:  # a pointer into the old EXIF block: its contents instead
                value = dict(exif.get_ifd(tag))
                if not isinstance(value.get(40965, {}), dict):  # the Interoperability directory inside Exif's
                    value[40965] = exif.get_ifd(40965)
            ifd[tag] = value
    if "icc_profile" in meta:
        ifd[34675] = meta["icc_profile"]
    if "dpi" in meta:
        ifd[296], ifd[282], ifd[283] = 2, *meta["dpi"]  # unit: inch
    endian = "<" if tiff[:2] == b"II" else ">"
    directory = ifd.tobytes(8)
    return tiff[:4] + struct.pack(endian + "I", 8) + directory + b"".join(strips)
