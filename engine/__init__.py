"""colorize: automatic colorization of black-and-white photos and videos with a small, fast U-Net.

    from engine import colorize, colorize_video
    colorize("old.jpg").save("old-colour.png")
    colorize_video("film.mp4", "film-colour.mp4", progress=lambda done, total: print(done, total))

Everything a front end needs is importable from here; the modules behind it are private.
"""
from .backends import BACKENDS, DEVICES
from .color import (TEMPERATURE_VIVID, ChromaBins, annealed_mean, check_temperature, is_colour, rgb_to_yuv,
                    yuv_to_rgb)
from .errors import ColorizeError, OutputExists
from .hints import Hint
from .imageio import MAX_PIXELS, decode_image, read_image, read_picture, set_max_pixels, write_image
from .media import (IMAGE_SUFFIXES, IMAGE_WRITE, VIDEO_SUFFIXES, VIDEO_WRITE, atomic_output, collect_inputs,
                    free_name, output_key, output_path, remove_stale_temps)
from .canvas import Canvas
from .colorizer import Colorizer, colorize, default_colorizer
from .job import CODES, Result, Task, describe_error, plan, predict_photo, run, save_photo
from .cluster import run_on_cluster  # Ray itself is imported only when it is called
from .prediction import Prediction
from .reference import Reference, check_strength
from .settings import DEFAULT_QUALITY, DEFAULT_REFERENCE_STRENGTH, Settings
from .video import VideoResult, colorize_video
from .videoio import copy_video, first_frame, is_video
from .weights import Bundle, default_weights_dir, load_bundle

__version__ = "0.1.0"
__all__ = ["Colorizer", "Prediction", "Canvas", "colorize", "default_colorizer", "colorize_video", "Settings",
           "DEFAULT_QUALITY", "DEFAULT_REFERENCE_STRENGTH", "Task", "Result", "CODES", "plan", "run", "predict_photo", "save_photo", "describe_error", "VideoResult", "ColorizeError",
           "OutputExists", "ChromaBins", "annealed_mean", "check_temperature", "is_colour", "TEMPERATURE_VIVID", "rgb_to_yuv",
           "yuv_to_rgb", "read_image", "decode_image", "read_picture", "write_image", "set_max_pixels", "MAX_PIXELS", "IMAGE_SUFFIXES",
           "IMAGE_WRITE", "VIDEO_SUFFIXES", "VIDEO_WRITE", "atomic_output", "collect_inputs", "is_video",
           "output_path", "free_name", "output_key", "remove_stale_temps", "copy_video", "first_frame", "Bundle", "load_bundle",
           "default_weights_dir", "BACKENDS", "DEVICES", "Reference", "check_strength", "Hint", "run_on_cluster", "__version__"]
