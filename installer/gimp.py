"""Install the GIMP plug-in for the current user: `colorize-install-gimp` (or `python -m installer.gimp`).

GIMP 3.x gets plugin/gimp/colorize_gimp/ as plug-ins/colorize_gimp/colorize_gimp.py (GIMP 3 only
loads plug-ins from a folder of the same name); GIMP 2.10 gets the Python-Fu wrapper
plugin/gimp2/colorize_gimp2.py as plug-ins/colorize_gimp2.py.  Next to each plug-in file goes a
JSON file of the same name: the engine command recorded at install time (by default this Python's
`colorize`), the weights folder, the timeout, and the list of what was installed, which is what
`--uninstall` removes -- nothing else.  Re-running replaces the installed files; files it did not
install are never overwritten (unless --force) or removed.

Per-user GIMP folders: Linux $XDG_CONFIG_HOME/GIMP/<version> (~/.config/GIMP/<version>), Windows
%APPDATA%\\GIMP\\<version>, macOS ~/Library/Application Support/GIMP/<version>;
$GIMP3_DIRECTORY / $GIMP2_DIRECTORY replace them as they do for GIMP itself.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from engine import ColorizeError, __version__, atomic_output, default_weights_dir, load_bundle

MARKER = "colorize-gimp-plugin"          # appears in both plug-in sources: "this file is ours"
INSTALLED_BY = "colorize-install-gimp"
PLUGIN_ROOT = Path(__file__).resolve().parent.parent / "plugin"
MENU = "Filters \u25b8 Colorize \u25b8 Colorize automatically\u2026"
DEFAULT_TIMEOUT = 600


@dataclass(frozen=True)
class Plugin:
    source: Path        # the file shipped in this package
    rel: Path           # where it goes, relative to the plug-ins folder

    @property
    def manifest_rel(self) -> Path:
        return self.rel.with_suffix(".json")


PLUGINS = {
    "3": Plugin(PLUGIN_ROOT / "gimp" / "colorize_gimp" / "colorize_gimp.py", Path("colorize_gimp", "colorize_gimp.py")),
    "2": Plugin(PLUGIN_ROOT / "gimp2" / "colorize_gimp2.py", Path("colorize_gimp2.py")),
}


@dataclass(frozen=True)
class Target:
    major: str          # "3" or "2"
    label: str          # e.g. "GIMP 3.0"
    user_dir: Path      # GIMP's per-user folder

    @property
    def plugin_dir(self) -> Path:
        return self.user_dir / "plug-ins"

    @property
    def plugin(self) -> Plugin:
        return PLUGINS[self.major]

    @property
    def plugin_file(self) -> Path:
        return self.plugin_dir / self.plugin.rel

    @property
    def manifest(self) -> Path:
        return self.plugin_dir / self.plugin.manifest_rel


class InstallError(Exception):
    pass


# ---------------------------------------------------------------------------------------- finding GIMP

def gimp_base(platform: str, env: dict, home: Path) -> Path:
    """The folder that holds GIMP's per-version user folders (2.10/, 3.0/, ...)."""
    if platform.startswith("win"):
        return Path(env.get("APPDATA") or home / "AppData" / "Roaming") / "GIMP"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "GIMP"
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "GIMP"


def _version_of(name: str) -> str | None:
    if name == "2.10":
        return "2"
    m = re.fullmatch(r"3\.(\d+)", name)
    return "3" if m and int(m.group(1)) % 2 == 0 else None     # 3.0, 3.2...; odd = development


def _env_dir(value: str, home: Path) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else home / path      # GIMP reads a relative one from home


def find_targets(which: str = "auto", *, platform: str | None = None, env: dict | None = None,
                 home: Path | None = None) -> tuple[list[Target], list[str]]:
    """The GIMP user folders to install into, plus notes for the user.

    which: "auto" (every GIMP 3.x / 2.10 user folder found, else GIMP 3.0's), "3", "2" or "all"."""
    platform = platform or sys.platform
    env = dict(os.environ if env is None else env)
    home = Path(home or Path.home())
    base = gimp_base(platform, env, home)
    found: dict[str, list[Target]] = {"3": [], "2": []}
    if base.is_dir():
        for d in sorted(base.iterdir()):
            major = _version_of(d.name)
            if major and d.is_dir():
                found[major].append(Target(major, f"GIMP {d.name}", d))
    for major, var in (("3", "GIMP3_DIRECTORY"), ("2", "GIMP2_DIRECTORY")):
        if env.get(var):
            found[major] = [Target(major, f"GIMP {'3' if major == '3' else '2.10'} (${var})",
                                   _env_dir(env[var], home))]
    defaults = {"3": Target("3", "GIMP 3.0", base / "3.0"), "2": Target("2", "GIMP 2.10", base / "2.10")}
    notes = []
    if platform.startswith("linux"):
        for sandbox in (home / ".var" / "app" / "org.gimp.GIMP", home / "snap" / "gimp"):
            if sandbox.is_dir():
                notes.append(f"note: a sandboxed GIMP (Flatpak/Snap) was found at {sandbox}: it cannot run "
                             "the engine, so nothing is installed there; use a distribution or AppImage GIMP")
    majors = {"auto": ["3", "2"], "all": ["3", "2"], "3": ["3"], "2": ["2"]}[which]
    targets = []
    for major in majors:
        if found[major]:
            targets += found[major]
        elif which != "auto":
            targets.append(defaults[major])
    if not targets:
        targets = [defaults["3"]]
        notes.append(f"note: no GIMP user folder found in {base}: installing for GIMP 3.0")
    return targets, notes


# ------------------------------------------------------------------------------------ the engine command

def default_engine_command() -> list[str]:
    """This Python's `colorize` script, else `python -m engine.cli`."""
    bindir = Path(os.path.abspath(sys.executable)).parent      # not resolved: a venv's python is a link
    for name in ("colorize.exe", "colorize") if sys.platform.startswith("win") else ("colorize",):
        if (bindir / name).is_file():
            return [str(bindir / name)]
    return [os.path.abspath(sys.executable), "-m", "engine.cli"]


def parse_command(text: str) -> list[str]:
    """A JSON list (["C:\\\\path\\\\colorize.exe"]) or a shell-quoted command line."""
    text = text.strip()
    if text.startswith("["):
        cmd = json.loads(text)
        if not (isinstance(cmd, list) and cmd and all(isinstance(a, str) for a in cmd)):
            raise InstallError("--engine-command: expected a JSON list of strings")
        return cmd
    cmd = shlex.split(text, posix=not sys.platform.startswith("win"))
    if not cmd:
        raise InstallError("--engine-command is empty")
    return cmd


def check_engine(command: list[str]) -> str:
    """Run `command --version`; the version line, or InstallError."""
    try:
        r = subprocess.run(command + ["--version"], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InstallError(f"the engine command {command} does not run: {e}") from None
    if r.returncode != 0:
        last = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InstallError(f"the engine command {command} failed ({r.returncode}): {last[0]}")
    return r.stdout.strip()


# ------------------------------------------------------------------------------------------- actions

class Actions:
    """File operations, printed; only printed in a dry run."""

    def __init__(self, dry_run: bool, out=None):
        self.dry_run = dry_run
        self.out = out or sys.stdout

    def say(self, text: str):
        print(("would " if self.dry_run else "") + text, file=self.out)

    def mkdirs(self, path: Path) -> list[str]:
        """Create path and missing parents; the folders created, outermost first."""
        missing = []
        p = path
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            self.say(f"create folder {d}")
            if not self.dry_run:
                d.mkdir()
        return [str(d) for d in reversed(missing)]

    def write(self, path: Path, data: bytes, mode: int):
        self.say(f"write {path} (mode {mode:o})")
        if self.dry_run:
            return
        try:
            with atomic_output(path, mode=mode) as tmp:
                Path(tmp).write_bytes(data)
        except ColorizeError as e:
            raise InstallError(str(e)) from None

    def remove(self, path: Path):
        self.say(f"remove {path}")
        if not self.dry_run:
            path.unlink()

    def rmdir(self, path: Path):
        self.say(f"remove folder {path}")
        if not self.dry_run:
            path.rmdir()


def read_manifest(target: Target) -> dict | None:
    try:
        data = json.loads(target.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("installed_by") == INSTALLED_BY else None


def is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def install(target: Target, command: list[str], weights: str | None, timeout: int, act: Actions,
            force: bool = False):
    plugin = target.plugin
    source = plugin.source.read_bytes()
    old = read_manifest(target)
    if not force:
        if target.plugin_file.exists() and not is_ours(target.plugin_file):
            raise InstallError(f"{target.plugin_file} exists and was not installed by {INSTALLED_BY}: "
                               "move it away or use --force")
        if target.manifest.exists() and old is None:
            raise InstallError(f"{target.manifest} exists and was not written by {INSTALLED_BY}: "
                               "move it away or use --force")
    created = act.mkdirs(target.plugin_file.parent)
    # folders created by an earlier run stay ours to remove
    created = list(dict.fromkeys((old or {}).get("created_dirs", []) + created))
    manifest = {
        "installed_by": INSTALLED_BY,
        "colorize_version": __version__,
        "command": command,
        "weights": weights,
        "timeout": timeout,
        "files": [plugin.rel.as_posix(), plugin.manifest_rel.as_posix()],
        "created_dirs": created,
    }
    act.write(target.plugin_file, source, 0o755)
    act.write(target.manifest, (json.dumps(manifest, indent=1) + "\n").encode(), 0o644)


def uninstall(target: Target, act: Actions) -> bool:
    """Remove the files the manifest lists, then the folders the install created if they are empty;
    False when nothing of ours is there."""
    manifest = read_manifest(target)
    if manifest is None:
        return False
    gone = set()
    for rel in manifest.get("files", []):
        path = target.plugin_dir / rel
        if path != target.manifest and path.is_file():
            act.remove(path)
            gone.add(path)
    act.remove(target.manifest)
    gone.add(target.manifest)
    for d in sorted((Path(d) for d in manifest.get("created_dirs", [])), key=lambda d: len(d.parts), reverse=True):
        if not d.is_dir():
            continue
        if all(p in gone for p in d.iterdir()):
            act.rmdir(d)
            gone.add(d)
        else:
            act.say(f"keep folder {d}: it holds files that were not installed by {INSTALLED_BY}")
    return True


# ---------------------------------------------------------------------------------------------- main

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="colorize-install-gimp",
        description=f"Install the colorize plug-in ({MENU}) into GIMP 3 and/or GIMP 2.10 for this user.")
    p.add_argument("--uninstall", action="store_true", help="remove what an earlier install put there")
    p.add_argument("-n", "--dry-run", action="store_true", help="print what would be done, change nothing")
    p.add_argument("--gimp", choices=["auto", "3", "2", "all"], default="auto",
                   help="which GIMP: every one found (auto, default; GIMP 3.0 if none), 3, 2 (2.10) or all")
    p.add_argument("--engine-command", metavar="CMD",
                   help="the colorize command the plug-in runs (default: this Python's colorize); "
                        "a command line or a JSON list")
    p.add_argument("--weights", metavar="DIR", help="weights folder passed to the engine (default: its own)")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"seconds before the plug-in gives up on the engine (default: {DEFAULT_TIMEOUT})")
    p.add_argument("--force", action="store_true", help="overwrite plug-in files that are not ours")
    p.add_argument("--no-check", action="store_true", help="do not test-run the engine command")
    return p.parse_args(argv)


def main(argv=None, *, platform: str | None = None, env: dict | None = None, home: Path | None = None) -> int:
    args = parse_args(argv)
    act = Actions(args.dry_run)
    try:
        targets, notes = find_targets(args.gimp, platform=platform, env=env, home=home)
        for note in notes:
            print(note)
        if args.uninstall:
            any_removed = False
            for t in targets if args.gimp != "auto" else find_targets("all", platform=platform, env=env,
                                                                        home=home)[0]:
                if uninstall(t, act):
                    any_removed = True
                    print(f"{t.label}: {'would be ' if args.dry_run else ''}uninstalled from {t.plugin_dir}")
            if not any_removed:
                print("nothing to uninstall: no plug-in installed by colorize-install-gimp was found")
            return 0

        command = parse_command(args.engine_command) if args.engine_command else default_engine_command()
        weights = os.path.abspath(os.path.expanduser(args.weights)) if args.weights else None
        if args.timeout <= 0:
            raise InstallError("--timeout must be positive")
        if not args.no_check:
            print(f"engine: {' '.join(command)} ({check_engine(command)})")
        wdir = Path(weights) if weights else None if args.engine_command else default_weights_dir()
        if wdir is not None:
            try:
                load_bundle(wdir)
            except ColorizeError as e:
                print(f"warning: {e}; the plug-in will report this until a model is there "
                      "(or reinstall with --weights DIR)")
        for t in targets:
            install(t, command, weights, args.timeout, act, force=args.force)
            print(f"{t.label}: {'would be ' if args.dry_run else ''}installed in {t.plugin_file.parent}")
        if not args.dry_run:
            print(f"Restart GIMP, open an image and choose {MENU}")
        return 0
    except InstallError as e:
        print(f"colorize-install-gimp: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"colorize-install-gimp: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
