"""The engine's one exception type: every problem a user can cause or fix, in one line."""


class ColorizeError(Exception):
    """A problem with an input, an output or the weights, explained in one line."""


class OutputExists(ColorizeError):
    """The output name is taken and replacing it was not asked for: the existing file is kept."""
