"""colorize: automatic colorization of black-and-white photos and videos with a small, fast U-Net.

    from engine import colorize, colorize_video
    colorize("old.jpg").save("old-colour.png")
    colorize_video("film.mp4", "film-colour.mp4", progress=lambda done, total: print(done, total))
"""
from .color import ChromaBins, annealed_mean, rgb_to_yuv, yuv_to_rgb
from .imageio import ColorizeError
from .pipeline import Colorizer, Prediction, colorize
from .video import colorize_video

__version__ = "0.1.0"
__all__ = ["Colorizer", "Prediction", "colorize", "colorize_video", "ColorizeError", "ChromaBins",
           "annealed_mean", "rgb_to_yuv", "yuv_to_rgb", "__version__"]
