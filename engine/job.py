"""One file, start to finish, by the engine's rules: where its result goes, then read -> predict
(hints) -> reference -> save for a photo, or the whole video. The command, the desktop app, the
GIMP plug-ins (through the command's `--json`) and the cluster path all go through here, so a
photo comes out the same whichever way it went in, and every failure is a `Result` with a stable
`code` for programs and a one-line `message` for people. `run` never raises for a bad file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .canvas import Canvas
from .colorizer import Colorizer
from .errors import FOLDER_ERRNOS, ColorizeError, OutputExists
from .media import IMAGE_WRITE, VIDEO_WRITE, display_name, free_name, output_key, output_path, remove_stale_temps
from .videoio import is_video
from .prediction import Prediction
from .settings import Settings

# The stable codes of a Result (what `colorize --json` prints); the message says the details.
CODES = {
    "": "done",
    "options": "the command line, weights, hints or reference cannot work: nothing was run",
    "exists": "the output exists and overwriting was not asked for: kept",
    "colour": "the input is already in colour and keep_colour is set: skipped",
    "input": "the input cannot be read: missing, not an image or video, corrupt, too large",
    "hints": "the hints cannot be used with this photo or these weights",
    "output": "this output cannot be written (a name clash, the input itself, a format)",
    "output-folder": "the output folder cannot take files (read-only, full, no permission): a batch stops",
    "memory": "out of memory",
    "video-ended": "the video ended early or broke off; the frames before it are written",
    "error": "an unexpected error",
}


@dataclass(frozen=True)
class Task:
    """One input and where its result goes."""

    src: Path
    dst: Path
    video: bool = False


@dataclass
class Result:
    """What became of one Task: status "done", "kept" (output exists, or a colour photo skipped) or
    "failed", with a code from CODES and a one-line message."""

    task: Task
    status: str
    code: str = ""
    message: str = ""
    recoloured: bool = False      # a colour photo was recoloured from its luminance
    frames: int | None = None     # a video's frames written

    def to_dict(self) -> dict:
        """The machine-readable form (`colorize --json`, one object per line)."""
        return {"input": str(self.task.src), "output": str(self.task.dst), "status": self.status,
                "code": self.code, "message": self.message, "recoloured": self.recoloured,
                **({} if self.frames is None else {"frames": self.frames})}


def describe_error(error: BaseException, stage: str = "error") -> tuple[str, str]:
    """(code, one line) for an exception raised while a file was at `stage` (a code of CODES)."""
    if isinstance(error, MemoryError):
        return "memory", "out of memory (try a smaller working size or image)"
    if isinstance(error, ColorizeError):
        return error.code or stage, str(error)
    if isinstance(error, OSError):
        code = "output-folder" if stage == "output" and error.errno in FOLDER_ERRNOS else stage
        return code, error.strerror or str(error)
    first = (str(error).strip().splitlines() or [""])[0][:200]
    if "out of memory" in first.lower():  # e.g. CUDA, or onnxruntime's allocator
        return "memory", f"out of memory ({first})"
    return "error", f"unexpected error: {type(error).__name__}: {first}"


def _not_done(task: Task, error: BaseException, stage: str) -> Result:
    """The Result of a task that raised at `stage`: kept when its output exists, else failed."""
    return Result(task, "kept" if isinstance(error, OutputExists) else "failed", *describe_error(error, stage))


def predict_photo(colorizer: Colorizer, image, settings: Settings, src=None) -> Prediction:
    """The photo's prediction with its hints (from settings, for the input `src`) and reference."""
    pred = colorizer.predict(image, settings.hints_for(src), working_size=settings.working_size)
    return pred.with_reference(settings.reference, settings.reference_strength)


def save_photo(prediction: Prediction, dst, settings: Settings) -> None:
    """Render at the settings' temperature and write dst atomically, by the settings' overwrite rule."""
    prediction.save(dst, settings.temperature, settings.quality, settings.overwrite)


def run(colorizer: Colorizer, task: Task, settings: Settings, progress=None) -> Result:
    """Colorize one file into task.dst; progress(done, total) follows a video's frames."""
    if task.video:
        return _video(colorizer, task, settings, progress)
    stage = "input"
    try:
        canvas = Canvas.of(task.src)
        recoloured = canvas.has_colour
        if recoloured and settings.keep_colour:
            return Result(task, "kept", "colour", "already in colour, skipped (--keep-colour)")
        stage = "hints"
        prediction = predict_photo(colorizer, canvas, settings, task.src)
        stage = "output"
        save_photo(prediction, task.dst, settings)
    except (ColorizeError, MemoryError, OSError) as e:
        return _not_done(task, e, stage)
    frames = canvas.picture.frames
    note = f"animated ({frames} frames): only the first frame was colorized" if frames > 1 else ""
    return Result(task, "done", message=note, recoloured=recoloured)


def _video(colorizer: Colorizer, task: Task, settings: Settings, progress) -> Result:
    from .video import colorize_video

    try:
        if settings.hints_for(task.src) is not None:
            raise ColorizeError("colour hints are for photos, not videos (a reference works on videos)", "hints")
        out = colorize_video(task.src, task.dst, settings.temperature, progress, colorizer,
                             temporal=settings.temporal, overwrite=settings.overwrite,
                             reference=settings.reference, reference_strength=settings.reference_strength)
    except (ColorizeError, MemoryError, OSError) as e:
        return _not_done(task, e, "input")
    if out.warning:
        return Result(task, "failed", "video-ended", f"{out.warning}; wrote the {out.frames} frames before it "
                      f"to {display_name(task.dst)}", frames=out.frames)
    note = f"skipped {out.skipped} corrupt packet(s); wrote {out.frames} frames" if out.skipped else ""
    return Result(task, "done", "", note, frames=out.frames)


def plan(inputs: list[tuple[Path, Path]], out: Path, single_file: bool, settings: Settings,
         clash: str = "refuse") -> tuple[list[Task], list[Result]]:
    """Decide every output before any work starts: the tasks, and a Result for each input refused.

    inputs are (file, its path relative to the output folder) as collect_inputs gives them. Two
    inputs wanting one output: clash "refuse" fails the second, "rename" gives it name-2, name-3...
    An output that is an input is refused; an existing one is kept unless settings.overwrite."""
    sources = {output_key(src) for src, _ in inputs}
    tasks, refused, taken, folders = [], [], set(), set()
    for src, rel in inputs:
        video = is_video(src)
        dst = output_path(rel, out, single_file, video)
        if clash == "rename":
            dst = free_name(dst, taken)
        task = Task(Path(src), dst, video)
        key = output_key(dst)
        try:
            if key in sources:
                raise ColorizeError(f"output {display_name(dst)} is an input; choose another output", "output")
            if key in taken:
                raise ColorizeError(f"another input already writes {display_name(dst)}", "output")
            taken.add(key)
            if single_file and video != (dst.suffix.lower() in VIDEO_WRITE):
                raise ColorizeError(f"a {'video' if video else 'photo'} cannot be written as {dst.suffix}: use "
                                    + ", ".join(sorted(VIDEO_WRITE if video else IMAGE_WRITE)), "output")
            if dst.exists() and not settings.overwrite:
                raise OutputExists(f"{display_name(dst)} exists, kept (use --overwrite to replace it)")
            if dst.parent not in folders:
                try:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise ColorizeError(f"cannot create output folder {display_name(dst.parent)}: "
                                        f"{e.strerror or e}", "output-folder") from None
                remove_stale_temps(dst.parent)  # left by runs that were killed
                folders.add(dst.parent)
            tasks.append(task)
        except ColorizeError as e:
            refused.append(_not_done(task, e, "output"))
    return tasks, refused
