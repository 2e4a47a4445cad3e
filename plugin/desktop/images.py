"""Engine images (PIL or numpy, 8 or 16 bits, grey, RGB or with alpha) -> QImage for display.

Runs in the worker threads (QImage, unlike QPixmap, may be used off the GUI thread). The result is
in Qt's native 32-bit formats, which the raster painter and QImage.scaled handle fastest.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QImage

THUMB_SIZE = 96  # pixels, the long side of the thumbnails in the list

_FORMATS = {1: QImage.Format_Grayscale8, 3: QImage.Format_RGB888, 4: QImage.Format_RGBA8888}


def _as_array(image) -> np.ndarray:
    """8-bit samples (H, W) or (H, W, 1|3|4) of a PIL image or an engine numpy array."""
    if isinstance(image, Image.Image):
        if image.mode.startswith("I"):       # 16-bit grey: numpy does the scaling below
            image = np.asarray(image)
        else:
            if image.mode not in ("L", "RGB", "RGBA"):
                has_alpha = "A" in image.mode or "transparency" in image.info
                image = image.convert("RGBA" if has_alpha else "RGB")
            return np.asarray(image)
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "f":                # float in [0, 1]
        return (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)
    # 16 bits (uint16, or PIL's 32-bit "I" holding 16-bit values): shown at 8 bits; saved files keep 16
    return (np.clip(arr, 0, 65535) >> 8).astype(np.uint8)


def to_qimage(image) -> QImage:
    """A QImage copy (RGB32, or premultiplied ARGB32 with alpha) of a PIL image or numpy array."""
    arr = _as_array(image)
    if arr.ndim == 3 and arr.shape[2] == 2:  # grey + alpha
        arr = np.dstack([arr[..., 0]] * 3 + [arr[..., 1]])
    arr = np.ascontiguousarray(arr)
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    view = QImage(arr.data, arr.shape[1], arr.shape[0], arr.strides[0], _FORMATS[channels])
    # convertToFormat always copies here (the formats differ), so the QImage owns its pixels
    return view.convertToFormat(QImage.Format_ARGB32_Premultiplied if channels == 4 else QImage.Format_RGB32)


def thumbnail(image: QImage) -> QImage:
    """The image scaled to fit a THUMB_SIZE square, aspect kept."""
    return image.scaled(THUMB_SIZE, THUMB_SIZE, Qt.KeepAspectRatio, Qt.SmoothTransformation)
