"""What a user chooses for a photo, with its defaults and its checks in one place.

Every front end (the command, the app, the GIMP plug-ins through the command, the cluster path)
translates its own widgets or flags into one `Settings` value; it is frozen and checked when it is
made, so nothing downstream checks it again.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

STRIDE = 8                       # the network's input sides must be multiples of this (3 downsamplings)
MAX_WORKING_SIZE = 1024          # the network sees at most this long side (see render.FINE_SIZE)
DEFAULT_REFERENCE_STRENGTH = 0.5
DEFAULT_QUALITY = 95             # JPEG and WebP


@dataclass(frozen=True)
class Settings:
    """One photo job's choices; None means the model's own default."""

    temperature: float | None = None        # vividness in (0, 1]
    working_size: int | None = None         # long side the network sees, STRIDE..MAX_WORKING_SIZE
    reference: object = None                # a photo (path, PIL, numpy), a palette, or a loaded Reference
    reference_strength: float = DEFAULT_REFERENCE_STRENGTH
    hints: object = None                    # points, an RGBA hint image, or a folder of them named like the photos
    quality: int = DEFAULT_QUALITY
    overwrite: bool = False                 # replace existing outputs (never the inputs)
    keep_colour: bool = False               # skip photos already in colour instead of recolouring them
    temporal: bool = True                   # videos: keep colours steady from frame to frame

    def __post_init__(self):
        from .color import check_temperature
        from .errors import ColorizeError
        from .reference import check_strength

        if self.temperature is not None:
            object.__setattr__(self, "temperature", check_temperature(self.temperature))
        if self.working_size is not None:
            if isinstance(self.working_size, bool) or not isinstance(self.working_size, int) or \
                    not STRIDE <= self.working_size <= MAX_WORKING_SIZE:
                raise ColorizeError(f"working size must be a whole number in [{STRIDE}, {MAX_WORKING_SIZE}], "
                                    f"got {self.working_size!r}")
        object.__setattr__(self, "reference_strength", check_strength(self.reference_strength))
        if isinstance(self.quality, bool) or not isinstance(self.quality, int) or not 1 <= self.quality <= 100:
            raise ColorizeError(f"quality must be a whole number in [1, 100], got {self.quality!r}")

    def with_reference_loaded(self, bins) -> "Settings":
        """The same settings with the reference read once for these bins (a batch reads it once)."""
        from .reference import Reference

        return self if self.reference is None else replace(self, reference=Reference.of(self.reference, bins))

    def hints_for(self, src: str | os.PathLike | None):
        """The hints of one input: the points or image given, or from a folder the image named like
        the input (or a PNG of its stem); None when there are none."""
        if self.hints is None or src is None or not isinstance(self.hints, (str, os.PathLike)):
            return self.hints
        given, src = Path(self.hints), Path(src)
        if not given.is_dir():
            return given
        return next((f for f in (given / src.name, given / (src.stem + ".png")) if f.is_file()), None)
