"""The engine's one exception type: every problem a user can cause or fix, in one line."""
import errno

# What the file system says when a folder can take no file at all, whichever file is written
FOLDER_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM})


class ColorizeError(Exception):
    """A problem with an input, an output or the weights, explained in one line. `code` is a stable
    word for programs (engine/job.py lists them); None lets the photo job name it by its stage."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


def write_error(message: str, error: Exception) -> ColorizeError:
    """A failure to write an output (an OSError, or FFmpeg's error with its errno), coded
    "output-folder" when no file could be written there."""
    return ColorizeError(message, "output-folder" if getattr(error, "errno", None) in FOLDER_ERRNOS else "output")


class OutputExists(ColorizeError):
    """The output name is taken and replacing it was not asked for: the existing file is kept."""

    def __init__(self, message: str):
        super().__init__(message, "exists")
