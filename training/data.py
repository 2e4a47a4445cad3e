"""Training photos from folders and zip files, decoded once into memory, and seeded batches.

Batches are a pure function of (seed, step), so a resumed run sees exactly the batches it would
have seen had it never stopped.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from engine.color import is_colour
from engine.imageio import decode_image
from engine.media import IMAGE_SUFFIXES

MAX_SIDE = 288  # photos are kept at most this large in memory; training crops are smaller
# Colour hints sampled for training crops (a model with hint inputs), as Zhang et al. 2017 do:
P_NONE = 0.25        # share of training crops without any hint: they keep the automatic output
MEAN_POINTS = 8      # geometric distribution of the number of points otherwise (Zhang 2017: p = 1/8)
MAX_PATCH = 5        # a hint is a square of 1 to MAX_PATCH pixels at the network's input size


@dataclass
class PhotoSet:
    """Decoded RGB uint8 photos, split by size: small ones are used whole, large ones cropped."""

    small: list[np.ndarray] = field(default_factory=list)   # long side < 96 (e.g. Tiny-ImageNet)
    large: list[np.ndarray] = field(default_factory=list)
    small_labels: list[int] = field(default_factory=list)   # class of each small photo, -1 if none
    large_labels: list[int] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)        # class names, from folder names
    skipped_grey: int = 0
    skipped_bad: int = 0

    def __len__(self) -> int:
        return len(self.small) + len(self.large)

    def summary(self) -> str:
        return (f"{len(self)} photos ({len(self.small)} small, {len(self.large)} large); skipped "
                f"{self.skipped_grey} greyscale and {self.skipped_bad} unreadable")


def iter_image_bytes(source: str | Path):
    """(name, bytes) of every image in a folder (recursive), a zip file, or one image file."""
    source = Path(source)
    if source.suffix.lower() == ".zip":
        with zipfile.ZipFile(source) as z:
            for name in sorted(z.namelist()):
                if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                    yield name, z.read(name)
    elif source.is_dir():
        for f in sorted(source.rglob("*")):
            if f.suffix.lower() in IMAGE_SUFFIXES | {".zip"} and f.is_file():
                yield from iter_image_bytes(f) if f.suffix.lower() == ".zip" else [(str(f), f.read_bytes())]
    elif source.is_file():
        yield str(source), source.read_bytes()
    else:
        raise FileNotFoundError(f"no such folder, zip or image: {source}")


def decode(data: bytes) -> np.ndarray:
    """RGB uint8, long side at most MAX_SIDE, read by the engine's reader (upright, size-limited)."""
    rgb = np.asarray(decode_image(data, (MAX_SIDE, MAX_SIDE)).convert("RGB"))
    scale = MAX_SIDE / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    return rgb


def class_of(name: str) -> str | None:
    """The class a training photo's name gives: its folder inside a zip (Tiny-ImageNet's
    `n01443537/FILE.JPEG`), None for a flat name."""
    parts = Path(name).parts
    return parts[-2] if len(parts) >= 2 and not Path(name).is_absolute() else None


def load_photos(sources, limit: int | None = None, progress=None) -> PhotoSet:
    """Decode every colour photo in the sources; greyscale and unreadable files are counted, not used.
    Photos inside a folder of a zip are labelled with that folder's name (free class labels)."""
    photos = PhotoSet()
    index: dict[str, int] = {}
    for source in sources:
        for name, data in iter_image_bytes(source):
            if limit is not None and len(photos) >= limit:
                break
            try:
                rgb = decode(data)
            except Exception:  # Pillow raises many types for broken files; all mean "skip it"
                photos.skipped_bad += 1
                continue
            if min(rgb.shape[:2]) < 16:
                photos.skipped_bad += 1
            elif not is_colour(rgb):
                photos.skipped_grey += 1
            else:
                small = max(rgb.shape[:2]) < 96
                (photos.small if small else photos.large).append(rgb)
                cls = class_of(name) if Path(source).suffix.lower() == ".zip" else None
                label = -1 if cls is None else index.setdefault(cls, len(index))
                (photos.small_labels if small else photos.large_labels).append(label)
            if progress:
                progress()
    photos.classes = list(index)
    return photos


def random_crop(rgb: np.ndarray, size: int, rng: np.random.Generator, zoom: bool = True) -> np.ndarray:
    """Scale jitter (0.5-1x of the photo's short side becomes the crop; without `zoom` the whole
    short side), random crop, random flip."""
    h, w = rgb.shape[:2]
    side = int(min(h, w) * rng.uniform(0.5, 1.0)) if zoom else min(h, w)
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = cv2.resize(rgb[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def make_batch(photos: PhotoSet, batch: int, size: int, seed: int, step: int,
               large_fraction: float = 0.3, zoom: bool = True) -> np.ndarray:
    """A batch of size x size RGB float32 crops in [0, 1], (B, size, size, 3), fixed by (seed, step).

    The few large photos are drawn `large_fraction` of the time: often enough for their detail,
    rarely enough that 2k photos are not memorised beside 40k small ones. `zoom` False crops the
    small photos whole (the large ones always get the scale jitter).
    """
    return make_labelled_batch(photos, batch, size, seed, step, large_fraction, zoom)[0]


def make_labelled_batch(photos: PhotoSet, batch: int, size: int, seed: int, step: int,
                        large_fraction: float = 0.3, zoom: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """make_batch's crops and each crop's class label (B,) int64, -1 where the photo has none."""
    rng = np.random.default_rng([seed, step])
    out = np.empty((batch, size, size, 3), np.float32)
    labels = np.full(batch, -1, np.int64)
    for i in range(batch):
        use_large = photos.large and (not photos.small or rng.random() < large_fraction)
        pool, pool_labels = (photos.large, photos.large_labels) if use_large else (photos.small, photos.small_labels)
        j = rng.integers(len(pool))
        out[i] = random_crop(pool[j], size, rng, zoom or use_large)
        labels[i] = pool_labels[j] if pool_labels else -1
    return out / 255.0, labels


def hint_planes(uv: np.ndarray, points: int, rng: np.random.Generator, patch: int | None = None) -> np.ndarray:
    """(3, H, W) float32: hint U, V and mask for `points` patches of the true chroma uv (H, W, 2),
    each its patch's mean colour, at uniform positions; patch side random up to MAX_PATCH if None."""
    h, w = uv.shape[:2]
    out = np.zeros((3, h, w), np.float32)
    for _ in range(points):
        s = patch or int(rng.integers(1, MAX_PATCH + 1))
        y0, x0 = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        region = (slice(y0, y0 + s), slice(x0, x0 + s))
        out[0][region], out[1][region] = uv[region].reshape(-1, 2).mean(0)
        out[2][region] = 1
    return out


def training_hints(uv: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(B, 3, H, W) hints for a batch of true chroma (B, H, W, 2), sampled as described above."""
    counts = np.where(rng.random(len(uv)) < P_NONE, 0, rng.geometric(1 / MEAN_POINTS, len(uv)))
    return np.stack([hint_planes(u, int(n), rng) for u, n in zip(uv, counts)])
