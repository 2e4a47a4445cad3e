"""Photos from public snapshots: `python -m training.sources tiny-imagenet|kodak MIRROR --out DIR`.

The data stays out of the repository: this command rebuilds it on any machine from a fetched
snapshot of a public repository (`fetch github:seshuad/IMagenet` gives MIRROR, a bare git
directory). From the full Tiny-ImageNet-200 it writes, like ../shared/data/train's zips (stored,
`CLASS/FILE.JPEG`, greyscale photos left out):

- `tiny-imagenet-rest.zip`: the training photos that are in neither of ../shared's two 40k zips
  (about 100 per class), plus the unlabelled test photos (flat names, so they carry no class);
- `tiny-imagenet-val.zip`: the 10,000 labelled validation photos, a held-out check (colour
  cross-entropy, class accuracy), never trained on.

`kodak` (a snapshot of MohamedBakrAli/Kodak-Lossless-True-Color-Image-Suite: the 24 Kodak
PhotoCD photos, 768x512, released by Eastman Kodak for unrestricted use) writes `kodak/01.png`...:
photos never used here, for measuring on something outside ../shared, never for training.

Every photo's bytes and its 8x8 average hash are checked against ../shared/data/val (the
validation photos of the quality figures): any match is left out and counted.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from engine.color import is_colour
from training.data import iter_image_bytes

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TRAIN_ZIPS = [SHARED / "train" / "tiny-imagenet-40k.zip", SHARED / "train" / "tiny-imagenet-extra-40k.zip"]
VAL_FOLDERS = [SHARED / "val" / "photos", SHARED / "val" / "bsds500-val"]
ROOT = "tiny-imagenet-200/"
KODAK_ROOT = "PhotoCD_PCD0992/"


def average_hash(data: bytes) -> bytes:
    """8x8 grey, thresholded at its mean: the same for a photo and its resized copy."""
    grey = np.asarray(Image.open(io.BytesIO(data)).convert("L").resize((8, 8), Image.BILINEAR), np.float32)
    return np.packbits(grey > grey.mean()).tobytes()


def validation_fingerprints() -> tuple[set[bytes], set[bytes]]:
    """(sha256 of the bytes, average hash) of every validation photo."""
    digests, hashes = set(), set()
    for folder in VAL_FOLDERS:
        for _, data in iter_image_bytes(folder):
            digests.add(hashlib.sha256(data).digest())
            hashes.add(average_hash(data))
    return digests, hashes


def like_validation(data: bytes, fingerprints: tuple[set[bytes], set[bytes]]) -> bool:
    """True when a photo's bytes or average hash match a validation photo's (validation_fingerprints)."""
    digests, hashes = fingerprints
    return hashlib.sha256(data).digest() in digests or average_hash(data) in hashes


def snapshot_files(mirror: Path, root: str = ROOT):
    """(path below root, bytes) of every file under `root` in the snapshot's HEAD, streamed."""
    proc = subprocess.Popen(["git", "-C", str(mirror), "archive", "--format=tar", "HEAD", root.rstrip("/")],
                            stdout=subprocess.PIPE)
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            if member.isfile():
                yield member.name[len(root):], tar.extractfile(member).read()
    if proc.wait() != 0:
        raise SystemExit(f"git archive failed in {mirror}: is it a snapshot of the source named?")


def build_tiny_imagenet(mirror: Path, out: Path) -> dict:
    """Write the two zips described above; returns the counts."""
    have = {name for z in TRAIN_ZIPS for name in zipfile.ZipFile(z).namelist()}
    fingerprints = validation_fingerprints()
    files = dict(snapshot_files(mirror))
    val_class = dict(line.split("\t")[:2] for line in files["val/val_annotations.txt"].decode().splitlines())
    counts = {"train": 0, "test": 0, "val": 0, "already_in_shared": 0, "greyscale": 0, "like_validation": 0}
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out / "tiny-imagenet-rest.zip", "w", zipfile.ZIP_STORED) as rest, \
            zipfile.ZipFile(out / "tiny-imagenet-val.zip", "w", zipfile.ZIP_STORED) as val:
        for path, data in sorted(files.items()):
            parts = path.split("/")
            if not path.endswith(".JPEG"):
                continue
            if parts[0] == "train":            # train/CLASS/images/FILE.JPEG
                kind, name, target = "train", f"{parts[1]}/{parts[-1]}", rest
            elif parts[0] == "test":           # test/images/FILE.JPEG: no label
                kind, name, target = "test", parts[-1], rest
            else:                              # val/images/FILE.JPEG, its class in the annotations
                kind, name, target = "val", f"{val_class[parts[-1]]}/{parts[-1]}", val
            if name in have:
                counts["already_in_shared"] += 1
            elif not is_colour(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))):
                counts["greyscale"] += 1
            elif like_validation(data, fingerprints):
                counts["like_validation"] += 1
            else:
                target.writestr(name, data)
                counts[kind] += 1
    return counts


def build_kodak(mirror: Path, out: Path) -> dict:
    """Write the Kodak photos to out/kodak/NN.png; returns the counts."""
    fingerprints = validation_fingerprints()
    counts = {"photos": 0, "like_validation": 0}
    (out / "kodak").mkdir(parents=True, exist_ok=True)
    for name, data in snapshot_files(mirror, KODAK_ROOT):
        if not name.endswith(".png"):
            continue
        if like_validation(data, fingerprints):
            counts["like_validation"] += 1
        else:
            (out / "kodak" / name).write_bytes(data)
            counts["photos"] += 1
    return counts


def commit_of(mirror: Path) -> str:
    return subprocess.run(["git", "-C", str(mirror), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", choices=["tiny-imagenet", "kodak"])
    p.add_argument("mirror", type=Path, help="the fetched snapshot's git directory (seshuad/IMagenet, "
                                             "MohamedBakrAli/Kodak-Lossless-True-Color-Image-Suite)")
    p.add_argument("--out", type=Path, default=Path("runs/data"), help="where the photos go")
    a = p.parse_args(argv)
    counts = (build_tiny_imagenet if a.source == "tiny-imagenet" else build_kodak)(a.mirror, a.out)
    print(f"{a.source} snapshot at {commit_of(a.mirror)}: {counts}")


if __name__ == "__main__":
    main()
