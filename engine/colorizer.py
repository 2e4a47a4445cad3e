"""Colorizer: a loaded model (weights + backend) that turns a picture into a Prediction; and the
one default instance that `colorize()` and `colorize_video()` share."""
from __future__ import annotations

import os

from .backends import open_backend
from .canvas import Canvas
from .errors import ColorizeError
from .hints import hint_planes
from .prediction import Prediction
from .reference import Reference, check_strength
from .settings import DEFAULT_QUALITY, DEFAULT_REFERENCE_STRENGTH, MAX_WORKING_SIZE, STRIDE
from .weights import Bundle, load_bundle


class Colorizer:
    """A loaded model. `Colorizer()` uses the shipped weights, onnxruntime on the CPU or CUDA."""

    def __init__(self, weights: str | os.PathLike | None = None, backend: str = "auto",
                 device: str = "auto", working_size: int | None = None):
        self.bundle: Bundle = load_bundle(weights)
        self.net = open_backend(self.bundle, backend, device)
        self.working_size = int(working_size or self.bundle.working_size)
        if not STRIDE <= self.working_size <= MAX_WORKING_SIZE:
            raise ColorizeError(f"working size must be in [{STRIDE}, {MAX_WORKING_SIZE}], got {self.working_size}")

    @property
    def backend(self) -> str:
        return self.net.name

    @property
    def device(self) -> str:
        return self.net.device

    @property
    def temperature(self) -> float:
        """The model's default temperature."""
        return self.bundle.temperature

    def load_reference(self, reference) -> Reference | None:
        """A reference photo or palette read once for this model's bins (None stays None)."""
        return None if reference is None else Reference.of(reference, self.bundle.bins)

    @property
    def takes_hints(self) -> bool:
        """Whether these weights follow local colour hints (a model fine-tuned by training.hints)."""
        return bool(self.bundle.model.get("hints", False))

    def check_takes_hints(self) -> None:
        """Raise ColorizeError unless these weights follow colour hints."""
        if not self.takes_hints:
            raise ColorizeError("these weights take no colour hints (train them with training.hints)", "hints")

    def predict(self, image, hints=None, reference=None, reference_strength: float = DEFAULT_REFERENCE_STRENGTH,
                working_size: int | None = None) -> Prediction:
        """Run the network once; the Prediction renders any temperature without running it again.

        hints: local colour hints, points (x, y, colour) in image pixels or an RGBA hint image of
        the image's size (engine/hints.py); they need weights that take hints (`takes_hints`).
        reference: a photo (path, PIL, numpy RGB) or a list of colours to pull every colour toward,
        with reference_strength in [0, 1] (engine/reference.py). Both are checked before the
        network runs. Pass a Canvas as image to rerun with new hints without reading it again.
        working_size: this once, instead of the Colorizer's (a checked Settings value)."""
        check_strength(reference_strength)
        reference = self.load_reference(reference)
        canvas = Canvas.of(image)
        y = canvas.network_input(working_size or self.working_size)
        planes = hint_planes(hints, canvas.luminance.shape, y.shape[2:])
        if planes is not None:
            self.check_takes_hints()
        logits = self.net(y, planes)[0]
        pred = Prediction(logits, canvas, self.bundle.bins, self.temperature, hints=planes)
        return pred if reference is None else pred.with_reference(reference, reference_strength)

    def colorize(self, image, temperature: float | None = None, *, hints=None, reference=None,
                 reference_strength: float = DEFAULT_REFERENCE_STRENGTH):
        """Colorize a path (returns a PIL image), PIL image or numpy array (same kind back), or a
        list of them (a list back); hints and a reference as in predict."""
        if isinstance(image, (list, tuple)):
            if hints is not None:
                raise ColorizeError("hints belong to one image: colorize the images one by one")
            reference = self.load_reference(reference)  # read once for the whole list
            return [self.colorize(im, temperature, reference=reference, reference_strength=reference_strength)
                    for im in image]
        return self.predict(image, hints, reference, reference_strength).render(temperature)

    def colorize_file(self, src: str | os.PathLike, dst: str | os.PathLike, temperature: float | None = None,
                      quality: int = DEFAULT_QUALITY, overwrite: bool | None = None, *, hints=None,
                      reference=None, reference_strength: float = DEFAULT_REFERENCE_STRENGTH) -> None:
        """Read src, colorize, write dst atomically. 16-bit sources stay 16-bit in PNG/TIFF.
        overwrite as in Prediction.save: by default an existing dst is replaced, src itself never."""
        self.predict(src, hints, reference, reference_strength).save(dst, temperature, quality, overwrite)


_default: Colorizer | None = None


def default_colorizer() -> Colorizer:
    """The shipped model, loaded once per process for every one-call function."""
    global _default
    if _default is None:
        _default = Colorizer()
    return _default


def colorize(image, temperature: float | None = None, *, hints=None, reference=None,
             reference_strength: float = DEFAULT_REFERENCE_STRENGTH):
    """One call: colorize a path, PIL image, numpy array or list of them with the shipped model."""
    return default_colorizer().colorize(image, temperature, hints=hints, reference=reference,
                                        reference_strength=reference_strength)
