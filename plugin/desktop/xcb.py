"""Before Qt starts on Linux: is there a display, and are the system libraries Qt needs there?

PyQt5's wheels bring Qt but not the system libraries it links to (OpenGL, GLib, fontconfig, X11).
Without one, `import PyQt5` fails with a traceback, or Qt prints "Could not load the Qt platform
plugin" with advice for developers and aborts (status 134); without a display it aborts too. These
checks say instead, in one line, what is missing and which Debian/Ubuntu package brings it.
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
from typing import Callable, Mapping, Sequence

# What PyQt5's Qt libraries link to from the system (readelf -d libQt5Core, libQt5Gui): without
# them `import PyQt5.QtGui` fails
QT_LIBRARIES = {
    "libGL.so.1": "libgl1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libz.so.1": "zlib1g",
}
# What every platform plugin links to, offscreen included: without them Qt aborts without a word
PLATFORM_LIBRARIES = {
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
}

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
PACKAGES = {**QT_LIBRARIES, **PLATFORM_LIBRARIES, **XCB_LIBRARIES}

NO_DISPLAY = ("colorize-app: no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): "
              "start it in a desktop session (or ssh -X), or use the `colorize` command, which needs no display")
NEEDS_NONE = "; the `colorize` command needs none of them"


def chosen_platform(env: Mapping[str, str], qt_args: Sequence[str] = ()) -> str:
    """The Qt platform asked for with QT_QPA_PLATFORM or Qt's -platform option; "" for Qt's default."""
    chosen = env.get("QT_QPA_PLATFORM", "")
    for flag, value in zip(qt_args, list(qt_args[1:]) + [""]):
        if flag in ("-platform", "--platform"):
            chosen = value
    return chosen.split(":")[0]


def uses_xcb(env: Mapping[str, str], qt_args: Sequence[str] = (), platform: str = sys.platform) -> bool:
    """True when Qt will start its xcb platform: on Linux, when no other platform is asked for
    (QT_QPA_PLATFORM, or Qt's -platform option) and an X display is set."""
    if not platform.startswith("linux"):
        return False
    chosen = chosen_platform(env, qt_args)
    if chosen:
        return chosen == "xcb"
    return bool(env.get("DISPLAY"))


def no_display(env: Mapping[str, str], qt_args: Sequence[str] = (), platform: str = sys.platform) -> bool:
    """True on Linux when Qt would look for a display (its default, X11 or Wayland) and none is set."""
    chosen = chosen_platform(env, qt_args)
    return (platform.startswith("linux") and (chosen in ("", "xcb") or chosen.startswith("wayland"))
            and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")))


def loadable(name: str) -> bool:
    """True if the dynamic loader finds and loads this library (as Qt's plugin loader would)."""
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def missing_libraries(names: Sequence[str], load: Callable[[str], bool] | None = None) -> list[str]:
    """Those of these libraries that cannot be loaded (load: a stand-in for `loadable`)."""
    load = load or loadable
    return [name for name in names if not load(name)]


def install_hint(missing: Sequence[str], what: str = "Qt needs", tail: str = NEEDS_NONE) -> str:
    """One line: what is missing and the command that installs it."""
    packages = " ".join(dict.fromkeys(PACKAGES[name] for name in missing if name in PACKAGES))
    sudo = "" if os.geteuid() == 0 else "sudo "  # a root shell or a minimal image may have no sudo
    how = (f"On Debian or Ubuntu: {sudo}apt-get install {packages}" if packages
           else "Install the package of your system that provides it")
    return f"colorize-app: {what} libraries that are not installed: {', '.join(missing)}. {how}{tail}"


def import_problem(error: ImportError) -> str | None:
    """The line for an `import PyQt5...` that failed, or None when it is no missing installation."""
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] == "PyQt5":
        return "colorize-app: PyQt5 is not installed: pip install PyQt5 (or this project with pip install '.[app]')"
    found = re.search(r"([^\s:/]+\.so[\d.]*): (.*)", str(error))  # the loader's "<library>: <reason>"
    if found and (found[1] in PACKAGES or found[2].startswith("cannot open shared object file")):
        return install_hint([found[1]])
    return None


def check(env: Mapping[str, str] = os.environ, qt_args: Sequence[str] = (), platform: str = sys.platform,
          load: Callable[[str], bool] | None = None) -> str | None:
    """The line to print before Qt starts when Qt would abort: no display, or a library missing
    that every platform needs, or one of the xcb platform's; else None."""
    if not platform.startswith("linux"):
        return None
    if no_display(env, qt_args, platform):
        return NO_DISPLAY
    missing = missing_libraries(tuple(PLATFORM_LIBRARIES), load)
    if missing:
        return install_hint(missing)
    if uses_xcb(env, qt_args, platform):
        missing = missing_libraries(tuple(XCB_LIBRARIES), load)
        if missing:
            return install_hint(missing, "Qt's X11 platform (xcb) needs",
                                " (or run with QT_QPA_PLATFORM=offscreen for --selftest)")
    return None
