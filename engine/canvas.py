"""Canvas: one picture's full-resolution side (luminance, alpha, depth, metadata), ready to take
the colour the network predicts at low resolution and to render or save it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .color import is_colour
from .errors import ColorizeError
from .imageio import Picture, from_picture, read_picture, to_picture, write_image
from .render import fine_luminance, full_luminance, guided_coefficients, render, resize, working_shape
from .settings import DEFAULT_QUALITY


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

    def rgb(self, uv: np.ndarray, guide: np.ndarray | None = None, weight: np.ndarray | None = None) -> np.ndarray:
        """Low-resolution chroma (h, w, 2) on the full-resolution luminance: RGB (H, W, 3) at the
        source's depth (uint8, uint16, or float32 in [0, 1]); weight (h, w) as guided_coefficients'."""
        uv = np.ascontiguousarray(uv, np.float32)
        coef = guided_coefficients(self.guide(*uv.shape[:2]) if guide is None else guide, uv, weight)
        dtype = np.float32 if self.picture.maxval == 1.0 else self.picture.samples.dtype
        return render(self.luminance, coef, self.picture.maxval, dtype, self.fine)

    def render(self, uv: np.ndarray, guide: np.ndarray | None = None, weight: np.ndarray | None = None):
        """The colorized image in the kind of the input (PIL or numpy), alpha restored."""
        return from_picture(self.rgb(uv, guide, weight), self.picture)

    def save(self, uv: np.ndarray, dst: str | os.PathLike, quality: int = DEFAULT_QUALITY,
             overwrite: bool | None = None, weight: np.ndarray | None = None) -> None:
        """Write the colorized image atomically at the source's depth where the format allows
        (16-bit PNG and TIFF; float sources are stored as 16-bit), with the source file's ICC
        profile, resolution and EXIF (Picture.meta) as far as the format allows. overwrite as in
        Prediction.save: None never replaces the source file itself; weight as rgb's."""
        pic = self.picture
        if overwrite is None:
            if pic.source is not None and _same_file(pic.source, dst):
                raise ColorizeError(f"{dst} is the photo's own file: it is kept (pass overwrite=True to replace "
                                    "the original)", "output")
            overwrite = True
        rgb = self.rgb(uv, weight=weight)
        if rgb.dtype == np.uint8:
            write_image(from_picture(rgb, pic), dst, quality=quality, overwrite=overwrite, meta=pic.meta)
            return
        alpha = pic.alpha
        if rgb.dtype == np.float32:
            rgb = (rgb * 65535 + 0.5).astype(np.uint16)
            alpha = None if alpha is None else (np.clip(alpha, 0, 1) * 65535 + 0.5).astype(np.uint16)
        write_image(rgb if alpha is None else np.dstack([rgb, alpha]), dst, quality=quality, overwrite=overwrite,
                    meta=pic.meta)


def _same_file(a, b) -> bool:
    """True when both names lead to one existing file (links, case-insensitive file systems)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
