"""The media rules every front end shares: what a file is, which files a folder offers, where a
result goes, and how it is written without ever leaving a half-written file under a final name.
"""
from __future__ import annotations

import glob
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import ColorizeError, OutputExists, write_error

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".ppm",
                            ".pgm", ".pbm", ".pnm", ".tga", ".jp2"})
IMAGE_WRITE = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
               ".webp": "WEBP", ".bmp": "BMP"}   # suffix -> Pillow format of what can be written
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv",
                            ".flv", ".ts", ".mts", ".264", ".h264", ".y4m", ".ogv"})
VIDEO_WRITE = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm"})  # containers we encode to
TEMP_PREFIX = ".colorize-"   # temporary files beside outputs: .colorize-<random><suffix>


def check_input_file(path: Path, kind: str = "an image") -> None:
    """Refuse, in one line, what no decoder should open: a missing file, a folder, a FIFO or device
    (which would hang or never end), an empty file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ColorizeError("no such file") from None
    except PermissionError:
        raise ColorizeError("permission denied") from None
    except OSError as e:  # a symlink loop, a name too long...
        raise ColorizeError(e.strerror or str(e)) from None
    if stat.S_ISDIR(st.st_mode):
        raise ColorizeError(f"is a folder, not {kind}")
    if not stat.S_ISREG(st.st_mode):
        raise ColorizeError(f"not a regular file (a pipe, socket or device), not {kind}")
    if st.st_size == 0:
        raise ColorizeError("empty file (0 bytes)")


def display_name(path) -> str:
    """A file name for a one-line message: quoted when it holds a newline or other control characters."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def collect_inputs(items, exclude: str | os.PathLike | None = None,
                   folder_names: bool = False) -> tuple[list[tuple[Path, Path]], list[str]]:
    """The files to colorize, each as (file, path relative to the output folder), and one line per
    item that gave nothing. Folders are searched recursively for images and videos, skipping hidden
    files and folders and the folder `exclude` (an output folder inside an input folder); a file
    given by name is taken as it is (a bad one gets its error later); globs are expanded. With
    `folder_names`, a folder's files keep its name above their path (`scans/a.jpg`), so that two
    folders holding the same names do not collide in one output folder."""
    found, errors = [], []
    skip = Path(exclude).resolve() if exclude is not None else None
    for item in items:
        path = Path(item)
        if path.is_dir():
            files = []
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(path)
                if (f.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES and not _hidden(rel)
                        and not (skip is not None and skip in f.resolve().parents) and f.is_file()):
                    files.append((f, Path(path.resolve().name) / rel if folder_names else rel))
            if not files:
                errors.append(f"{item}: folder has no images or videos")
            found += files
        elif path.exists() or path.is_symlink():
            found.append((path, Path(path.name)))
        elif glob.has_magic(str(item)):
            files = sorted(Path(f) for f in glob.glob(str(item), recursive=True) if Path(f).is_file())
            if not files:
                errors.append(f"{item}: no files match")
            found += [(f, Path(f.name)) for f in files]
        else:
            errors.append(f"{item}: no such file or folder")
    return found, errors


def output_path(rel: Path, out: Path, single_file: bool, video: bool = False) -> Path:
    """Where one input's result goes: `out` itself for a single file, else `out`/rel, with a suffix
    we can write (images we cannot write, such as GIF, become PNG; videos MP4)."""
    if single_file:
        return out
    suffix = rel.suffix.lower()
    if video:
        return out / rel.with_suffix(suffix if suffix in VIDEO_WRITE else ".mp4")
    return out / rel.with_suffix(suffix if suffix in IMAGE_WRITE else ".png")


def output_key(path: Path) -> str:
    """What makes two output names one file: the same real path, as this system compares names."""
    return os.path.normcase(os.path.realpath(path))


def free_name(dst: Path, taken: set[str]) -> Path:
    """dst, or dst with -2, -3... added to its stem, whichever output_key is not yet taken: the
    clash rule "rename" of every front end (the command's plan, the app's Save All)."""
    n, stem = 1, dst.stem
    while output_key(dst) in taken:
        n += 1
        dst = dst.with_name(f"{stem}-{n}{dst.suffix}")
    return dst


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _lock(fd: int, wait: bool = True) -> bool:
    """Take an exclusive lock on an open file; False if another holder has it or the file system
    cannot lock (then nobody can tell whether the file is still being written)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def _same_file(path: str, fd: int) -> bool:
    try:
        a, b = os.stat(path, follow_symlinks=False), os.fstat(fd)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def remove_stale_temps(folder: str | os.PathLike) -> int:
    """Delete our temporary files left in folder by runs that were killed; returns how many.

    A writer holds a lock on its temporary file for as long as the file exists, and the kernel drops
    it when the writer dies, however it dies. So a file we can lock is one nobody is writing. A
    process ID would not do: a run in a container has IDs the host cannot see. Where locks do not
    work (Windows, a file system without them) nothing is removed: a leftover is better than a
    lost result."""
    if fcntl is None:
        return 0
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        if not e.name.startswith(TEMP_PREFIX):
            continue
        try:
            # O_NONBLOCK: a FIFO under our prefix must not hang the run
            fd = os.open(e.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            # The writer may have renamed its file into place after we opened it: then the lock we
            # get is on the result, and its temporary name is gone or another file's.
            if (stat.S_ISREG(os.fstat(fd).st_mode) and _lock(fd, wait=False)
                    and _same_file(e.path, fd)):
                os.unlink(e.path)
                removed += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


class AtomicFile:
    """A temporary file beside `dst` that becomes `dst` on commit() and disappears on discard().

    The final name never holds a partial file. Without `overwrite`, dst is claimed with a hard
    link, which fails if it exists, so two concurrent runs never replace each other's results
    (OutputExists). The result gets `mode`, else the mode of the file it replaces, else the usual
    mode from the umask (not the private 0600 of a temporary file).
    """

    def __init__(self, dst: str | os.PathLike, overwrite: bool = True, mode: int | None = None):
        self.dst, self.overwrite, self.mode = Path(dst), overwrite, mode
        folder = self.dst.parent if str(self.dst.parent) else Path(".")
        while True:
            try:
                self._fd, self.path = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=self.dst.suffix, dir=folder)
            except FileNotFoundError:
                raise ColorizeError(f"output folder does not exist: {folder}", "output-folder") from None
            except PermissionError:
                raise ColorizeError(f"output folder is not writable: {folder}", "output-folder") from None
            except OSError as e:
                raise write_error(f"cannot write in {folder}: {e.strerror or e}", e) from None
            if fcntl is None:  # Windows renames no file that is held open; nothing is removed there
                os.close(self._fd)
                self._fd = None
                break
            # Held until the file is renamed or removed, so that no other run takes it for a
            # leftover (remove_stale_temps). Between mkstemp and the lock another run may have
            # done just that: then our name is gone, and we start again.
            _lock(self._fd)
            if _same_file(self.path, self._fd):
                break
            os.close(self._fd)

    def commit(self) -> None:
        """Move the finished temporary file to its final name."""
        try:
            mode = self.mode
            if mode is None:
                try:
                    mode = stat.S_IMODE(os.stat(self.dst).st_mode)
                except OSError:
                    mode = 0o666 & ~_umask()
            os.chmod(self.path, mode)
            if self.overwrite:
                os.replace(self.path, self.dst)
            else:
                _claim(self.path, self.dst)
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the temporary file, if it is still there, and only then let go of its lock."""
        try:
            if os.path.lexists(self.path):
                os.unlink(self.path)
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


@contextmanager
def atomic_output(dst: str | os.PathLike, overwrite: bool = True, mode: int | None = None):
    """Yield a temporary path beside dst to write to; when the block succeeds it becomes dst, and
    on any error (Ctrl-C too) it is removed and dst is left as it was (see AtomicFile)."""
    f = AtomicFile(dst, overwrite, mode)
    try:
        yield f.path
        f.commit()
    finally:
        f.discard()


def _claim(tmp: str, dst: Path) -> None:
    """Give tmp the name dst only if dst does not exist, atomically where hard links work."""
    try:
        os.link(tmp, dst)
    except FileExistsError:
        raise OutputExists(f"{dst} exists, kept (use --overwrite to replace it)") from None
    except OSError:  # a file system without hard links (FAT, some network shares)
        if os.path.lexists(dst):
            raise OutputExists(f"{dst} exists, kept (use --overwrite to replace it)") from None
        os.replace(tmp, dst)
