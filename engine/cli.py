"""The `colorize` command: colorize files, folders and globs of photos and videos; never touch the
originals. A thin shell over the engine's one file job (engine/job.py): the flags become one
Settings value, every input one Task. Every bad input is one line on stderr (or one JSON object
on stdout with --json); the batch goes on and the exit status says whether anything failed (1),
the command line, weights or output folder were wrong (2) or the run was interrupted (130)."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from . import __version__
from .backends import BACKENDS, DEVICES
from .color import check_temperature
from .colorizer import Colorizer
from .errors import ColorizeError
from .hints import Hint, parse_hint
from .imageio import MAX_PIXELS, set_max_pixels
from .job import Result, Task, plan, run
from .media import IMAGE_WRITE, VIDEO_WRITE, collect_inputs, display_name
from .settings import DEFAULT_QUALITY, DEFAULT_REFERENCE_STRENGTH, MAX_WORKING_SIZE, STRIDE, Settings
from .weights import load_bundle

EPILOG = """examples:
  colorize old.jpg -o old-colour.png
  colorize scans/ -o coloured/ --temperature 0.3
  colorize 'album/*.tif' -o out/
  colorize film.mp4 -o film-colour.mp4
  colorize old.jpg -o old-colour.png --hint 120,80,#c03020 --hint 40,200,#2050a0
  colorize old.jpg -o old-colour.png --reference holiday.jpg --reference-strength 0.7
  colorize old.jpg -o old-colour.png --reference '#1f4e79,tan'
  colorize scans-1950/ scans-1960/ -o out/     (writes out/scans-1950/..., out/scans-1960/...)
  colorize /shared/scans/ -o /shared/out/ --cluster auto     (on a Ray cluster: docs/cluster.md)

exit status: 0 all done (existing outputs kept count as done), 1 some input failed or a video
ended early (its frames up to there are written), 2 bad command line, weights, hints, reference
or output (an output folder that cannot take files stops the run; what was written is kept),
130 interrupted (nothing half-written is left).

--json prints one object per input on stdout: {"input", "output", "status": done|kept|failed,
"code", "message", "recoloured"}; the codes are listed in engine/job.py (CODES)."""


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
                   help="image or video files, folders (searched recursively) or globs; with several "
                        "folders, each keeps its name as a sub-folder of the output")
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
                   help="a colour photo, or a palette such as '#1f4e79,tan', whose colours the results "
                        "should lean toward (docs/hints.md)")
    p.add_argument("--reference-strength", type=_ranged(float, 0, 1, "--reference-strength"), default=None,
                   metavar="S", help="how strongly, in [0, 1]: 0 = not at all, 1 = fully "
                                     f"(default: {DEFAULT_REFERENCE_STRENGTH:g})")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="inference backend (default: auto)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="device (default: CUDA when available)")
    p.add_argument("--working-size", type=_ranged(int, STRIDE, MAX_WORKING_SIZE, "--working-size"), default=None,
                   metavar="PX", help="long side at which the network sees the image, "
                                      f"{STRIDE}-{MAX_WORKING_SIZE} (default: the model's)")
    p.add_argument("--weights", default=None, metavar="DIR",
                   help="weights folder (default: $COLORIZE_WEIGHTS, else the shipped model)")
    p.add_argument("--quality", type=_ranged(int, 1, 100, "--quality"), default=DEFAULT_QUALITY,
                   help=f"JPEG/WebP quality, 1-100 (default: {DEFAULT_QUALITY})")
    p.add_argument("--max-megapixels", type=_ranged(float, 1, 10_000, "--max-megapixels"),
                   default=MAX_PIXELS / 1e6, metavar="MP",
                   help=f"refuse larger images, a guard against decompression bombs (default: {MAX_PIXELS / 1e6:g})")
    p.add_argument("--frame-by-frame", action="store_true",
                   help="videos: colorize every frame on its own (no temporal step; flickers more)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (never the inputs)")
    p.add_argument("--keep-colour", action="store_true",
                   help="skip photos that are already in colour (by default they are recoloured from their "
                        "luminance, with a note)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per input on stdout (for programs; see below)")
    p.add_argument("--cluster", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on a Ray cluster (pip install 'colorize[cluster]'): 'auto', host:port or "
                        "ray://host:10001; without ADDRESS, a local one. Paths must be on a file system "
                        "every node sees (docs/cluster.md)")
    p.add_argument("--workers", type=_ranged(int, 1, 100_000, "--workers"), default=None, metavar="N",
                   help="with --cluster: how many workers, each loading the model once (default: one "
                        "per GPU, else one per node)")
    p.add_argument("--version", action=VersionAction, nargs=0, help="print the program's and the model's version and exit")
    args = p.parse_args(glue_negative_hints(sys.argv[1:] if argv is None else list(argv)))
    if args.reference_strength is not None and args.reference is None:
        p.error("--reference-strength needs --reference")
    if args.workers is not None and args.cluster is None:
        p.error("--workers needs --cluster")
    return args


class VersionAction(argparse.Action):
    """--version: the program's and the model's version (of --weights if given before it)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line(getattr(namespace, "weights", None)))
        parser.exit()


def glue_negative_hints(argv: list[str]) -> list[str]:
    """`--hint -1,10,red` as `--hint=-1,10,red`: argparse would take -1,... for an option, and a
    point outside the photo deserves the engine's own message."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--hint" and i + 1 < len(argv) and argv[i + 1].startswith("-") and "," in argv[i + 1]:
            out.append(f"--hint={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def version_line(weights) -> str:
    """The program's version and the model's (from its model.json)."""
    try:
        bundle = load_bundle(weights)
        model = f"model {bundle.meta.get('version', 'without a version')} ({bundle.root})"
    except ColorizeError as e:
        model = f"model not loadable: {e}"
    return f"colorize {__version__}, {model}"


def settings_of(args) -> Settings:
    """The command's flags as the engine's one Settings value."""
    return Settings(temperature=args.temperature, working_size=args.working_size, reference=args.reference,
                    reference_strength=(DEFAULT_REFERENCE_STRENGTH if args.reference_strength is None
                                        else args.reference_strength),
                    hints=args.hint or args.hints, quality=args.quality, overwrite=args.overwrite,
                    keep_colour=args.keep_colour, temporal=not args.frame_by_frame)


def plan_output(arg: str, n_inputs: int, one_file_given: bool) -> tuple[Path, bool]:
    """(output path, whether it names one file); raises ColorizeError for an impossible request."""
    out = Path(arg)
    folder_meant = arg.endswith(("/", os.sep)) or out.is_dir() or not out.suffix
    if folder_meant:
        return out, False
    if out.suffix.lower() not in IMAGE_WRITE.keys() | VIDEO_WRITE:
        raise ColorizeError(f"-o {display_name(arg)}: cannot write {out.suffix} files (images: "
                            f"{', '.join(sorted(IMAGE_WRITE))}; videos: {', '.join(sorted(VIDEO_WRITE))}); "
                            "for a folder, end the name with /")
    if not (one_file_given and n_inputs == 1):
        raise ColorizeError(f"-o {display_name(arg)} names one file but there are {n_inputs} inputs: give a folder")
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
        if "engine.cluster" in sys.modules:  # --cluster: leave (or stop) the Ray cluster
            sys.modules["engine.cluster"].disconnect()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Score:
    """Counts the results and reports each one: a line on stderr, or JSON on stdout."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.done = self.kept = self.failed = self.recoloured = 0

    def add(self, r: Result) -> None:
        self.done += r.status == "done"
        self.kept += r.status == "kept"
        self.failed += r.status == "failed"
        self.recoloured += r.recoloured
        if self.as_json:
            tqdm.write(json.dumps(r.to_dict()), file=sys.stdout)
        elif r.message:  # "exists" names the output, every other message is about the input
            where = "" if r.code == "exists" else f"{display_name(r.task.src)}: "
            tqdm.write(f"colorize: {where}{r.message}", file=sys.stderr)

    @staticmethod
    def failure_json(item: str | None, code: str, message: str) -> None:
        """A failure that belongs to no task, in Result.to_dict's shape."""
        print(json.dumps({"input": item, "output": None, "status": "failed", "code": code, "message": message,
                          "recoloured": False}))

    def refuse(self, code: str, message: str) -> int:
        """The whole run cannot start: one line (or one JSON object) and exit status 2."""
        if self.as_json:
            self.failure_json(None, code, message)
        print(f"colorize: {message}", file=sys.stderr)
        return 2

    def fail_input(self, line: str) -> None:
        """An item of the command line that gave no file at all."""
        self.failed += 1
        if self.as_json:
            self.failure_json(line.split(": ")[0], "input", line.split(": ", 1)[-1])
        else:
            print(f"colorize: {display_name(line)}", file=sys.stderr)


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
            raise ColorizeError(f"--hints {display_name(given)}: no such file or folder")
        if n_inputs > 1 and not given.is_dir():
            raise ColorizeError(f"--hints {display_name(given)} is one image but there are {n_inputs} inputs: give a folder")


def _run(args) -> int:
    set_max_pixels(int(args.max_megapixels * 1e6))
    score = Score(args.json)
    if args.cluster is not None:
        try:
            from .cluster import require_ray
            require_ray()  # Ray is an extra: say what to install before anything else
        except ColorizeError as e:
            return score.refuse(e.code, str(e))
    folders = [item for item in args.inputs if Path(item).is_dir()]
    inputs, errors = collect_inputs(args.inputs, exclude=args.output, folder_names=len(folders) > 1)
    for e in errors:
        score.fail_input(e)
    if not inputs:
        return 1
    out = Path(args.output)
    created = not out.exists()
    try:
        one_file_given = len(args.inputs) == 1 and Path(args.inputs[0]).is_file()
        out, single_file = plan_output(args.output, len(inputs), one_file_given)
        colorizer = Colorizer(args.weights, backend=args.backend, device=args.device,
                              working_size=args.working_size)
        check_hint_options(args, colorizer, len(inputs))
        settings = settings_of(args).with_reference_loaded(colorizer.bundle.bins)  # read once, checked now
        if args.cluster:  # a running cluster: reached before any output folder is made
            from .cluster import connect
            connect(args.cluster, args.workers)
        if not single_file:
            out.mkdir(parents=True, exist_ok=True)
    except ColorizeError as e:
        return score.refuse(e.code or "options", str(e))
    except OSError as e:
        return score.refuse("output-folder", f"cannot create output folder {display_name(out)}: {e.strerror or e}")
    status = 0
    with tqdm(total=len(inputs), unit="file", disable=None if len(inputs) > 1 else True, file=sys.stderr) as bar:
        tasks, results = plan(inputs, out, single_file, settings)
        for r in results:
            score.add(r)
        bar.update(len(results))
        if args.cluster is not None:  # the same run() per task, on Ray workers; results as they come
            from .cluster import run_on_cluster

            def arrived(r: Result) -> None:
                score.add(r)
                bar.update(1)
            results += run_on_cluster(tasks, settings, args.weights, workers=args.workers, backend=args.backend,
                                      device=args.device, working_size=args.working_size,
                                      max_pixels=int(args.max_megapixels * 1e6), progress=arrived)
        else:
            for task in tasks:
                with frame_bar(task, several=len(tasks) > 1) as progress:
                    results.append(run(colorizer, task, settings, progress))
                score.add(results[-1])
                bar.update(1)
                if results[-1].code == "output-folder":
                    break
        stop = next((r for r in results if r.code == "output-folder"), None)
        if stop is not None:
            tqdm.write(f"colorize: stopped: the output folder {display_name(stop.task.dst.parent)} cannot take files; "
                       "what was written is kept", file=sys.stderr)
            status = 2
    if single_file and any(r.code in ("hints", "output") for r in results):
        status = 2  # a bad --hint, or an output that is the input: the command line was wrong
    if created and not single_file and out.is_dir() and not any(out.iterdir()):
        out.rmdir()  # made by this run and left empty: every input failed
    if score.recoloured:
        print(f"colorize: note: {score.recoloured} input(s) were already in colour and were recoloured from "
              "their luminance (--keep-colour skips them)", file=sys.stderr)
    if len(inputs) > 1 or score.failed:
        print(f"colorize: {score.done} colorized, {score.kept} kept, {score.failed} failed "
              f"({'on Ray workers' if args.cluster is not None else f'{colorizer.backend} on {colorizer.device}'})",
              file=sys.stderr)
    return status or (1 if score.failed else 0)


@contextmanager
def frame_bar(task: Task, several: bool):
    """A video task's frame progress bar (under the file bar when there are several files), as a
    progress(done, total) callback; None for a photo."""
    if not task.video:
        yield None
        return
    with tqdm(unit="frame", desc=task.src.name, disable=None, leave=not several, position=int(several),
              file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        yield progress


if __name__ == "__main__":
    sys.exit(main())
