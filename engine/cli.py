"""The `colorize` command: colorize files, folders and globs of photos and videos; never touch the
originals. Every bad input is one line on stderr; the batch goes on and the exit status says
whether anything failed (1), the command line was wrong (2) or the run was interrupted (130)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from . import __version__
from .backends import BACKENDS, DEVICES
from .color import check_temperature
from .errors import ColorizeError, OutputExists
from .hints import Hint, parse_hint
from .imageio import MAX_PIXELS, set_max_pixels
from .media import IMAGE_WRITE, VIDEO_WRITE, collect_inputs, is_video, output_path, remove_stale_temps
from .pipeline import MAX_WORKING_SIZE, STRIDE, Canvas, Colorizer
from .reference import Reference
from .video import colorize_video

EPILOG = """examples:
  colorize old.jpg -o old-colour.png
  colorize scans/ -o coloured/ --temperature 0.3
  colorize 'album/*.tif' -o out/
  colorize film.mp4 -o film-colour.mp4
  colorize old.jpg -o old-colour.png --hint 120,80,#c03020 --hint 40,200,#2050a0
  colorize old.jpg -o old-colour.png --reference holiday.jpg --reference-strength 0.7

exit status: 0 all done (existing outputs kept count as done), 1 some input failed or a video
ended early (its frames up to there are written), 2 bad command line, weights, hints, reference
or output folder, 130 interrupted (nothing half-written is left)."""


def _hint(text: str) -> Hint:
    try:
        return parse_hint(text)
    except ColorizeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _ranged(kind, lo, hi, what):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be in [{lo}, {hi}], got {text}")
        return value
    return parse


def _temperature(text: str) -> float:
    try:
        return check_temperature(text)
    except ColorizeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="colorize", description="Colorize black-and-white photos and videos with a small, fast neural network.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="image or video files, folders (searched recursively) or globs")
    p.add_argument("-o", "--output", default="colorized", metavar="OUT",
                   help="output file (one input; its suffix picks the format) or folder (a name without "
                        "a suffix, or ending in /; default: ./colorized/)")
    p.add_argument("-t", "--temperature", type=_temperature, default=None,
                   help="vividness, in (0, 1]: lower = more vivid, 1 = muted mean (default: the model's)")
    p.add_argument("--hints", default=None, metavar="HINTS",
                   help="local colour hints: an RGBA image of the photo's size, colour dabs on transparency; "
                        "for several photos, a folder of them named like the photos (docs/hints.md)")
    p.add_argument("--hint", action="append", type=_hint, default=[], metavar="X,Y,COLOUR",
                   help="a colour hint at pixel X,Y of the one input photo, e.g. 120,80,#c03020 (repeatable)")
    p.add_argument("--reference", default=None, metavar="REF",
                   help="a colour photo whose colours the results should lean toward (docs/hints.md)")
    p.add_argument("--reference-strength", type=_ranged(float, 0, 1, "--reference-strength"), default=None,
                   metavar="S", help="how strongly, in [0, 1]: 0 = not at all, 1 = fully (default: 0.5)")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="inference backend (default: auto)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="device (default: CUDA when available)")
    p.add_argument("--working-size", type=_ranged(int, STRIDE, MAX_WORKING_SIZE, "--working-size"), default=None,
                   metavar="PX", help="long side at which the network sees the image, "
                                      f"{STRIDE}-{MAX_WORKING_SIZE} (default: the model's)")
    p.add_argument("--weights", default=None, metavar="DIR",
                   help="weights folder (default: $COLORIZE_WEIGHTS, else the shipped model)")
    p.add_argument("--quality", type=_ranged(int, 1, 100, "--quality"), default=95,
                   help="JPEG/WebP quality, 1-100 (default: 95)")
    p.add_argument("--max-megapixels", type=_ranged(float, 1, 10_000, "--max-megapixels"),
                   default=MAX_PIXELS / 1e6, metavar="MP",
                   help=f"refuse larger images, a guard against decompression bombs (default: {MAX_PIXELS / 1e6:g})")
    p.add_argument("--frame-by-frame", action="store_true",
                   help="videos: colorize every frame on its own (no temporal step; flickers more)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (never the inputs)")
    p.add_argument("--keep-colour", action="store_true",
                   help="skip photos that are already in colour (by default they are recoloured from their "
                        "luminance, with a note)")
    p.add_argument("--version", action="version", version=f"colorize {__version__}")
    args = p.parse_args(argv)
    if args.reference_strength is not None and args.reference is None:
        p.error("--reference-strength needs --reference")
    return args


def show(path) -> str:
    """A file name for a one-line message: quoted when it holds a newline or other control characters."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def plan_output(arg: str, jobs: list, one_file_given: bool) -> tuple[Path, bool]:
    """(output path, whether it names one file); raises ColorizeError for an impossible request."""
    out = Path(arg)
    folder_meant = arg.endswith(("/", os.sep)) or out.is_dir() or not out.suffix
    if folder_meant:
        return out, False
    if out.suffix.lower() not in IMAGE_WRITE.keys() | VIDEO_WRITE:
        raise ColorizeError(f"-o {show(arg)}: cannot write {out.suffix} files (images: "
                            f"{', '.join(sorted(IMAGE_WRITE))}; videos: {', '.join(sorted(VIDEO_WRITE))}); "
                            "for a folder, end the name with /")
    if not (one_file_given and len(jobs) == 1):
        raise ColorizeError(f"-o {show(arg)} names one file but there are {len(jobs)} inputs: give a folder")
    return out, True


def main(argv=None) -> int:
    """Run the command; returns the exit status."""
    def terminate(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, terminate)  # a kill cleans up like Ctrl-C does
    except ValueError:  # not the main thread (e.g. called from a test runner's worker thread)
        previous = None
    try:
        return _run(parse_args(argv))
    except KeyboardInterrupt:
        print("colorize: interrupted; nothing half-written was left", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@dataclass
class Task:
    src: Path
    dst: Path
    video: bool


class Batch:
    """Runs the tasks one after another and keeps the score. (Decoding the next photo and encoding
    the last one in threads beside the network was measured no faster on 2 cores: onnxruntime and
    OpenCV already keep them busy; see docs/benchmarks.md.)"""

    def __init__(self, colorizer: Colorizer, args, reference: Reference | None = None):
        self.colorizer, self.args, self.reference = colorizer, args, reference
        self.strength = 0.5 if args.reference_strength is None else args.reference_strength
        self.failed = self.kept = self.done = self.recoloured = 0

    def report(self, src: Path | None, error: BaseException) -> None:
        """Count and print one failed task."""
        if isinstance(error, OutputExists):
            self.kept += 1
            tqdm.write(f"colorize: {error}", file=sys.stderr)
            return
        self.failed += 1
        if isinstance(error, MemoryError):
            why = "out of memory (try a smaller --working-size or image)"
        elif isinstance(error, OSError) and not isinstance(error, ColorizeError):
            why = error.strerror or str(error)
        else:
            why = str(error)
        tqdm.write(f"colorize: {show(src)}: {why}", file=sys.stderr)

    def run(self, tasks: list[Task], bar) -> None:
        """Colorize every task."""
        for task in tasks:
            try:
                if task.video:
                    self._video(task, position=1 if len(tasks) > 1 else 0)
                else:
                    self._photo(task)
            except (ColorizeError, MemoryError, OSError) as e:
                self.report(task.src, e)
            bar.update(1)

    def _photo(self, task: Task) -> None:
        canvas = Canvas.of(task.src)
        if canvas.has_colour:
            if self.args.keep_colour:
                tqdm.write(f"colorize: {show(task.src)}: already in colour, skipped (--keep-colour)", file=sys.stderr)
                self.kept += 1
                return
            self.recoloured += 1
        pred = self.colorizer.predict(canvas, self.hints_for(task.src)).with_reference(self.reference, self.strength)
        pred.save(task.dst, self.args.temperature, self.args.quality, self.args.overwrite)
        self.done += 1

    def hints_for(self, src: Path):
        """The hints for one input: the --hint points, the --hints image, or the same-named image
        (or PNG of the same stem) in the --hints folder; None when there are none."""
        if self.args.hint:
            return self.args.hint
        if self.args.hints is None:
            return None
        given = Path(self.args.hints)
        if not given.is_dir():
            return given
        return next((f for f in (given / src.name, given / (src.stem + ".png")) if f.is_file()), None)

    def _video(self, task: Task, position: int) -> None:
        if self.hints_for(task.src) is not None:
            raise ColorizeError("colour hints are for photos, not videos (a --reference works on videos)")
        warning = _colorize_video(task.src, task.dst, self, position)
        if warning:
            raise ColorizeError(warning)
        self.done += 1


def plan_tasks(jobs, out: Path, single_file: bool, overwrite: bool, batch: Batch) -> list[Task]:
    """Decide every output before any work starts; refusals are reported (and counted) at once."""
    inputs = {os.path.realpath(src) for src, _ in jobs}
    tasks, taken, cleaned = [], set(), set()
    for src, rel in jobs:
        video = is_video(src)
        dst = output_path(rel, out, single_file, video)
        try:
            if os.path.realpath(dst) in inputs:
                raise ColorizeError(f"output {show(dst)} is an input; choose another output")
            if os.path.realpath(dst) in taken:
                raise ColorizeError(f"another input already writes {show(dst)}")
            taken.add(os.path.realpath(dst))
            if single_file and video != (dst.suffix.lower() in VIDEO_WRITE):
                raise ColorizeError(f"a {'video' if video else 'photo'} cannot be written as {dst.suffix}: use "
                                    + ", ".join(sorted(VIDEO_WRITE if video else IMAGE_WRITE)))
            if dst.exists() and not overwrite:
                raise OutputExists(f"{show(dst)} exists, kept (use --overwrite to replace it)")
            try:
                dst.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ColorizeError(f"cannot create output folder {show(dst.parent)}: {e.strerror or e}") from None
            if dst.parent not in cleaned:
                remove_stale_temps(dst.parent)  # left by runs that were killed
                cleaned.add(dst.parent)
            tasks.append(Task(src, dst, video))
        except ColorizeError as e:
            batch.report(src, e)
    return tasks


def check_hint_options(args, colorizer: Colorizer, n_inputs: int) -> None:
    """Refuse, before anything is written, hints that cannot apply (ColorizeError)."""
    if not (args.hint or args.hints):
        return
    colorizer.check_takes_hints()
    if args.hint and (args.hints or n_inputs > 1):
        raise ColorizeError("--hint points belong to one input photo (use --hints with a folder for several)")
    if args.hints:
        given = Path(args.hints)
        if not given.exists():
            raise ColorizeError(f"--hints {show(given)}: no such file or folder")
        if n_inputs > 1 and not given.is_dir():
            raise ColorizeError(f"--hints {show(given)} is one image but there are {n_inputs} inputs: give a folder")


def _run(args) -> int:
    set_max_pixels(int(args.max_megapixels * 1e6))
    jobs, errors = collect_inputs(args.inputs, exclude=args.output)
    for e in errors:
        print(f"colorize: {show(e)}", file=sys.stderr)
    if not jobs:
        return 1
    try:
        one_file_given = len(args.inputs) == 1 and Path(args.inputs[0]).is_file()
        out, single_file = plan_output(args.output, jobs, one_file_given)
        colorizer = Colorizer(args.weights, backend=args.backend, device=args.device,
                              working_size=args.working_size)
        reference = colorizer.load_reference(args.reference)  # checked once, before anything is written
        check_hint_options(args, colorizer, len(jobs))
        if not single_file:
            out.mkdir(parents=True, exist_ok=True)
    except ColorizeError as e:
        print(f"colorize: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"colorize: cannot create output folder {show(out)}: {e.strerror or e}", file=sys.stderr)
        return 2
    batch = Batch(colorizer, args, reference)
    batch.failed = len(errors)
    with tqdm(total=len(jobs), unit="file", disable=None if len(jobs) > 1 else True, file=sys.stderr) as bar:
        tasks = plan_tasks(jobs, out, single_file, args.overwrite, batch)
        bar.update(len(jobs) - len(tasks))
        batch.run(tasks, bar)
    if batch.recoloured:
        print(f"colorize: note: {batch.recoloured} input(s) were already in colour and were recoloured from "
              "their luminance (--keep-colour skips them)", file=sys.stderr)
    if len(jobs) > 1 or batch.failed:
        print(f"colorize: {batch.done} colorized, {batch.kept} kept, {batch.failed} failed "
              f"({colorizer.backend} on {colorizer.device})", file=sys.stderr)
    return 1 if batch.failed else 0


def _colorize_video(src: Path, dst: Path, batch: Batch, position: int) -> str | None:
    """One video, with its own frame progress bar; returns a warning when it ended early (the
    frames decoded up to there are written). Skipped corrupt packets are reported."""
    args = batch.args
    with tqdm(unit="frame", desc=src.name, disable=None, leave=position == 0, position=position,
              file=sys.stderr) as frames:
        def progress(done: int, total: int) -> None:
            frames.total = total
            frames.update(done - frames.n)

        result = colorize_video(src, dst, args.temperature, progress, batch.colorizer,
                                temporal=not args.frame_by_frame, overwrite=args.overwrite,
                                reference=batch.reference, reference_strength=batch.strength)
    if result.skipped and not result.warning:
        tqdm.write(f"colorize: {show(src)}: skipped {result.skipped} corrupt packet(s); "
                   f"wrote {result.frames} frames", file=sys.stderr)
    if result.warning:
        return f"{result.warning}; wrote the {result.frames} frames before it to {show(dst)}"
    return None


if __name__ == "__main__":
    sys.exit(main())
