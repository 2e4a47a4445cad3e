"""Before Qt starts on Linux with X11: are the libraries of Qt's xcb platform plugin there?

PyQt5's wheels bring Qt but not the X11 libraries its xcb plugin links to. When one is missing, Qt
prints "Could not load the Qt platform plugin "xcb"" with advice for developers, then aborts
(status 134). This check says instead, in one line, which Debian/Ubuntu packages to install.
"""
from __future__ import annotations

import ctypes
import os
import sys
from typing import Callable, Mapping, Sequence

# What libqxcb.so and libQt5XcbQpa.so.5 link to (readelf -d), beyond what every platform needs,
# with the Debian/Ubuntu package of each (their own dependencies, e.g. libxcb-util1, come along)
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXext.so.6": "libxext6",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libdbus-1.so.3": "libdbus-1-3",  # through libQt5DBus, which the xcb plugin loads
}


def uses_xcb(env: Mapping[str, str], qt_args: Sequence[str] = (), platform: str = sys.platform) -> bool:
    """True when Qt will start its xcb platform: on Linux, when no other platform is asked for
    (QT_QPA_PLATFORM, or Qt's -platform option) and an X display is set."""
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "")
    for flag, value in zip(qt_args, list(qt_args[1:]) + [""]):
        if flag in ("-platform", "--platform"):
            chosen = value
    if chosen:
        return chosen.split(":")[0] == "xcb"
    return bool(env.get("DISPLAY"))


def loadable(name: str) -> bool:
    """True if the dynamic loader finds and loads this library (as Qt's plugin loader would)."""
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def missing_libraries(load: Callable[[str], bool] | None = None) -> list[str]:
    """The xcb plugin's libraries that cannot be loaded (load: a stand-in for `loadable`)."""
    load = load or loadable
    return [name for name in XCB_LIBRARIES if not load(name)]


def install_hint(missing: Sequence[str]) -> str:
    """One line: what is missing and the command that installs it."""
    packages = " ".join(dict.fromkeys(XCB_LIBRARIES[name] for name in missing))
    return (f"colorize-app: Qt's X11 platform (xcb) needs libraries that are not installed: {', '.join(missing)}. "
            f"On Debian or Ubuntu: sudo apt-get install {packages} (or run with QT_QPA_PLATFORM=offscreen "
            "for --selftest)")


def check(env: Mapping[str, str] = os.environ, qt_args: Sequence[str] = (), platform: str = sys.platform,
          load: Callable[[str], bool] | None = None) -> str | None:
    """The line to print before Qt starts when its xcb platform would abort, else None."""
    if not uses_xcb(env, qt_args, platform):
        return None
    missing = missing_libraries(load)
    return install_hint(missing) if missing else None
