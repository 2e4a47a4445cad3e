"""The `colorize` command: colorize files, folders and globs of photos and videos (told apart by
content); never touch the originals."""
from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

from tqdm import tqdm

from . import __version__
from .backends import BACKENDS, DEVICES
from .imageio import IMAGE_SUFFIXES, WRITE_FORMATS, ColorizeError
from .pipeline import Colorizer
from .video import colorize_video
from .videoio import VIDEO_SUFFIXES, is_video

# containers a colorized video can be written to; other sources (.wmv, .flv, raw .264...) become .mp4
VIDEO_WRITE = {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="colorize", description="Colorize black-and-white photos and videos with a small, fast neural network.",
        epilog="examples:\n  colorize old.jpg -o old-colour.png\n  colorize scans/ -o coloured/ "
               "--temperature 0.3\n  colorize 'album/*.tif' -o out/\n"
               "  colorize film.mp4 -o film-colour.mp4",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="image or video files, folders (searched recursively) or globs")
    p.add_argument("-o", "--output", default="colorized", metavar="OUT",
                   help="output file (one input) or folder (default: ./colorized/)")
    p.add_argument("-t", "--temperature", type=float, default=None,
                   help="vividness, in (0, 1]: lower = more vivid, 1 = muted mean (default: the model's)")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="inference backend (default: auto)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="device (default: CUDA when available)")
    p.add_argument("--working-size", type=int, default=None, metavar="PX",
                   help="long side at which the network sees the image (default: the model's)")
    p.add_argument("--weights", default=None, metavar="DIR", help="weights folder (default: the shipped model)")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality (default: 95)")
    p.add_argument("--frame-by-frame", action="store_true",
                   help="videos: colorize every frame on its own (no temporal model; flickers more)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (never the inputs)")
    p.add_argument("--version", action="version", version=f"colorize {__version__}")
    args = p.parse_args(argv)
    if args.temperature is not None and not 0 < args.temperature <= 1:
        p.error("--temperature must be in (0, 1]")
    return args


def expand_inputs(items: list[str]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Each input as (file, path relative to the output folder); plus one error line per bad item."""
    found, errors = [], []
    for item in items:
        path = Path(item)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file()
                           and f.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES and not f.name.startswith("."))
            if not files:
                errors.append(f"{item}: folder has no images or videos")
            found += [(f, f.relative_to(path)) for f in files]
        elif path.exists() or path.is_symlink():
            found.append((path, Path(path.name)))
        elif glob.has_magic(item):
            files = sorted(Path(f) for f in glob.glob(item, recursive=True) if Path(f).is_file())
            if not files:
                errors.append(f"{item}: no files match")
            found += [(f, Path(f.name)) for f in files]
        else:
            errors.append(f"{item}: no such file or folder")
    return found, errors


def output_path(rel: Path, out: Path, single_file: bool, video: bool = False) -> Path:
    """Where one input's result goes; formats we cannot write (GIF...) become PNG, videos MP4."""
    if single_file:
        return out
    if video:
        return out / rel.with_suffix(rel.suffix.lower() if rel.suffix.lower() in VIDEO_WRITE else ".mp4")
    suffix = rel.suffix.lower() if rel.suffix.lower() in WRITE_FORMATS else ".png"
    return out / rel.with_suffix(suffix)


def main(argv=None) -> int:
    args = parse_args(argv)
    jobs, errors = expand_inputs(args.inputs)
    for e in errors:
        print(f"colorize: {e}", file=sys.stderr)
    out = Path(args.output)
    single_file = (len(jobs) == 1 and len(args.inputs) == 1 and Path(args.inputs[0]).is_file()
                   and out.suffix.lower() in WRITE_FORMATS.keys() | VIDEO_WRITE and not out.is_dir())
    if not jobs:
        return 1
    try:
        colorizer = Colorizer(args.weights, backend=args.backend, device=args.device,
                              working_size=args.working_size)
        if not single_file:
            out.mkdir(parents=True, exist_ok=True)
    except ColorizeError as e:
        print(f"colorize: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"colorize: cannot create output folder {out}: {e.strerror or e}", file=sys.stderr)
        return 2

    inputs = {src.resolve() for src, _ in jobs}
    failed, skipped, taken = len(errors), 0, set()
    bar = tqdm(jobs, unit="image", disable=None if len(jobs) > 1 else True, file=sys.stderr)
    for src, rel in bar:
        # by content; a file named like a video that FFmpeg cannot read still gets the video's error
        video = is_video(src) or src.suffix.lower() in VIDEO_SUFFIXES
        dst = output_path(rel, out, single_file, video)
        try:
            if dst.resolve() in inputs:
                raise ColorizeError(f"output {dst} is an input; choose another output")
            if dst.resolve() in taken:
                raise ColorizeError(f"another input already writes {dst}")
            taken.add(dst.resolve())
            if dst.exists() and not args.overwrite:
                tqdm.write(f"colorize: {dst} exists, kept (use --overwrite to replace it)", file=sys.stderr)
                skipped += 1
                continue
            try:
                dst.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ColorizeError(f"cannot create output folder {dst.parent}: {e.strerror or e}") from None
            if video:
                _colorize_video(src, dst, colorizer, args, position=1 if len(jobs) > 1 else 0)
            else:
                colorizer.colorize_file(src, dst, args.temperature, quality=args.quality)
        except ColorizeError as e:
            failed += 1
            tqdm.write(f"colorize: {src}: {e}", file=sys.stderr)
        except MemoryError:
            failed += 1
            tqdm.write(f"colorize: {src}: out of memory (try a smaller --working-size or image)", file=sys.stderr)
        except OSError as e:
            failed += 1
            tqdm.write(f"colorize: {src}: {e.strerror or e}", file=sys.stderr)
    done = len(jobs) - (failed - len(errors)) - skipped
    if len(jobs) > 1 or failed:
        print(f"colorize: {done} colorized, {skipped} kept, {failed} failed "
              f"({colorizer.backend} on {colorizer.device})", file=sys.stderr)
    return 1 if failed else 0


def _colorize_video(src: Path, dst: Path, colorizer: Colorizer, args, position: int) -> None:
    """One video, with its own frame progress bar; skipped corrupt packets are reported."""
    with tqdm(unit="frame", desc=src.name, disable=None, leave=position == 0, position=position,
              file=sys.stderr) as frames:
        def progress(done: int, total: int) -> None:
            frames.total = total
            frames.update(done - frames.n)

        result = colorize_video(src, dst, args.temperature, progress, colorizer,
                                temporal=not args.frame_by_frame)
    if result.skipped or result.warning:
        why = "; ".join(filter(None, [f"skipped {result.skipped} corrupt packet(s)" if result.skipped else None,
                                      result.warning]))
        tqdm.write(f"colorize: {src}: {why}; wrote {result.frames} frames", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
