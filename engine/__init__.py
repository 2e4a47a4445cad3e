"""colorize: automatic colorization of black-and-white photos with a small, fast U-Net.

    from engine import colorize
    colorize("old.jpg").save("old-colour.png")
"""
from .color import ChromaBins, annealed_mean, rgb_to_yuv, yuv_to_rgb
from .imageio import ColorizeError
from .pipeline import Colorizer, Prediction, colorize

__version__ = "0.1.0"
__all__ = ["Colorizer", "Prediction", "colorize", "ColorizeError", "ChromaBins", "annealed_mean",
           "rgb_to_yuv", "yuv_to_rgb", "__version__"]
