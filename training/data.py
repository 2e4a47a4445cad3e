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

from engine.color import YUV_TO_RGB, is_colour
from engine.imageio import decode_image
from engine.media import IMAGE_SUFFIXES

MAX_SIDE = 288  # photos are kept at most this large in memory; training crops are smaller
# Colour hints sampled for training crops (a model with hint inputs), as Zhang et al. 2017 do:
P_NONE = 0.25        # share of training crops without any hint: they keep the automatic output
MEAN_POINTS = 8      # geometric distribution of the number of points otherwise (Zhang 2017: p = 1/8)
MAX_PATCH = 5        # a hint is a square of 1 to MAX_PATCH pixels at the network's input size
# Recoloured regions (issue 20, recoloured_example): a share of the hinted crops gets one region
# turned to another hue, in the target too, with its hints taken from there.
REGION_SHARE = (0.04, 0.5)   # share of the crop a recoloured region should cover
TURN_DEGREES = (60, 300)     # the region's hue turns by a uniform angle in this range: another colour
MIN_CHROMA = 0.12            # UV; a region duller than this after turning is made this colourful
REGION_POINTS = (1, 3)       # hints inside the recoloured region
MAX_OTHER_POINTS = 3         # and 0 to this many elsewhere, from the truth


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


# --- recoloured regions: training for hints that stay where they are put (issue 20) -------------
#
# Hints sampled from the true colours all agree with the photo's overall cast, so a network may
# use one hint as evidence for the whole photo's colour: one hint then recolours everything. Here
# a region of the crop (a segment of similar luminance) is turned to another hue in the target
# itself, and the hints are put inside it with its new colour (and a few elsewhere with the
# truth's): the loss rewards exactly "this region changes, nothing else does".

def pick_region(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W) bool: one segment of the luminance y (H, W) in [0, 1], covering REGION_SHARE of the
    crop if any segment does (else the one nearest that), chosen at a random pixel. Felzenszwalb's
    graph segmentation runs at half resolution, where the loss looks (0.7 ms for a 64-pixel crop)."""
    from skimage.segmentation import felzenszwalb

    h, w = y.shape
    half = cv2.resize(np.asarray(y, np.float32), (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    # no Gaussian (sigma 0): the area average has smoothed enough, and one on top leaves a sliver
    # segment along every edge. A random scale varies the segments' size (12 to 40 per crop).
    labels = felzenszwalb(half, scale=float(rng.uniform(10, 100)), sigma=0, min_size=8)
    area = np.bincount(labels.ravel()) / labels.size
    lo, hi = REGION_SHARE
    misfit = np.maximum(np.maximum(lo - area, area - hi), 0)       # 0 for a segment of the right size
    pixels = np.flatnonzero(misfit[labels] == misfit.min())          # the pixels of the best-fitting ones
    chosen = labels.ravel()[pixels[rng.integers(len(pixels))]]
    return cv2.resize((labels == chosen).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0


def turn_chroma(yuv: np.ndarray, region: np.ndarray, degrees: float) -> np.ndarray:
    """(H, W, 2) chroma of yuv (H, W, 3) with the region's turned by `degrees` (rotating the UV
    vector, keeping its length); a region then duller on average than MIN_CHROMA gets a common
    shift to that (a grey wall hinted red must turn red), and a colour outside the RGB cube at its
    luminance is shortened into it (so the luminance, the network's input, stays the same)."""
    uv = yuv[..., 1:].copy()
    t = np.radians(degrees)
    rotation = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float32)
    turned = uv[region] @ rotation.T                                   # (N, 2)
    mean = turned.mean(0)
    if np.hypot(*mean) < MIN_CHROMA:  # towards the turned mean's hue; for a grey region that of `degrees`
        hue = np.arctan2(mean[1], mean[0]) if np.hypot(*mean) > 1e-3 else t
        turned += (MIN_CHROMA - np.hypot(*mean)) * np.array([np.cos(hue), np.sin(hue)], np.float32)
    # RGB = Y + A uv (YUV_TO_RGB's first column is all ones): the largest s <= 1 with Y + s A uv in [0, 1]
    y = yuv[region][:, :1]
    rgb_step = turned @ YUV_TO_RGB[:, 1:].T.astype(np.float32)        # (N, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(rgb_step > 0, (1 - y) / rgb_step, np.where(rgb_step < 0, -y / rgb_step, np.inf))
    uv[region] = turned * np.clip(room.min(1, keepdims=True), 0, 1)
    return uv


def patch_hints(uv: np.ndarray, allowed: np.ndarray, points: int, rng: np.random.Generator,
                planes: np.ndarray) -> np.ndarray:
    """Add `points` square hints to planes (3, H, W), each wholly inside `allowed` (H, W) bool
    and carrying its patch's mean chroma of uv (H, W, 2); sides 1 to MAX_PATCH (1 where a larger
    one does not fit). Returns planes."""
    allowed = allowed.astype(np.uint8)
    for _ in range(points):
        s = int(rng.integers(1, MAX_PATCH + 1))
        # the top-left corners whose s x s patch lies wholly inside (outside the crop counts as not allowed)
        fits = cv2.erode(allowed, np.ones((s, s), np.uint8), anchor=(0, 0),
                         borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
        if not fits.any():
            s, fits = 1, allowed > 0
        if not fits.any():
            break
        y0, x0 = np.argwhere(fits)[rng.integers(int(fits.sum()))]
        patch = (slice(y0, y0 + s), slice(x0, x0 + s))
        planes[0][patch], planes[1][patch] = uv[patch].reshape(-1, 2).mean(0)
        planes[2][patch] = 1
    return planes


def recoloured_example(yuv: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one crop in YUV (H, W, 3): hint planes (3, H, W), the chroma to learn (H, W, 2) with one
    region's hue turned (pick_region, turn_chroma), and that region (H, W) bool. REGION_POINTS
    hints lie inside the region with its new colour, 0 to MAX_OTHER_POINTS outside it with the truth's."""
    region = pick_region(yuv[..., 0], rng)
    target = turn_chroma(yuv, region, float(rng.uniform(*TURN_DEGREES)))
    planes = np.zeros((3, *yuv.shape[:2]), np.float32)
    patch_hints(target, region, int(rng.integers(REGION_POINTS[0], REGION_POINTS[1] + 1)), rng, planes)
    patch_hints(target, ~region, int(rng.integers(0, MAX_OTHER_POINTS + 1)), rng, planes)
    return planes, target, region


def training_examples(yuv: np.ndarray, rng: np.random.Generator,
                      recolour: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hints (B, 3, H, W), the chroma to learn (B, H, W, 2) and the recoloured regions (B, H, W)
    for a batch of crops in YUV (B, H, W, 3): training_hints's hints and the true chroma, except
    that a share `recolour` of the crops with hints is a recoloured_example instead (the others'
    regions are empty). Crops without hints stay as they are; recolour 0 gives exactly
    training_hints's hints (the same draws)."""
    uv = yuv[..., 1:]
    hints = training_hints(uv, rng)
    target, regions = uv.copy(), np.zeros(yuv.shape[:3], bool)
    if recolour > 0:
        for i in np.flatnonzero(hints[:, 2].any(axis=(1, 2))):
            if rng.random() < recolour:
                hints[i], target[i], regions[i] = recoloured_example(yuv[i], rng)
    return hints, target, regions
