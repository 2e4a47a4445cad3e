"""colorize-install-gimp against temporary home folders laid out like Linux, Windows and macOS.
(The plug-in itself runs in a real GIMP 3 in tests/test_gimp.py.)"""
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from installer import gimp as inst

REPO = Path(__file__).resolve().parent.parent
FAKE_ENGINE = [sys.executable, "-m", "engine.cli"]


def snapshot(root: Path) -> dict:
    """Every file and folder under root, with file contents and modes."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = ("dir", None) if p.is_dir() else (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
    return out


def run(argv, home, platform="linux", env=None):
    return inst.main(argv, platform=platform, env=env or {}, home=home)


# ----------------------------------------------------------------------------------- finding GIMP

@pytest.mark.parametrize("platform, base", [
    ("linux", ".config/GIMP"),
    ("win32", "AppData/Roaming/GIMP"),
    ("darwin", "Library/Application Support/GIMP"),
])
def test_finds_per_user_folders_on_each_platform(tmp_path, platform, base):
    for v in ("2.10", "3.0", "3.2", "3.1", "2.8"):       # 3.1: development series, 2.8: too old
        (tmp_path / base / v).mkdir(parents=True)
    targets, notes = inst.find_targets(platform=platform, env={}, home=tmp_path)
    assert [(t.major, t.user_dir) for t in targets] == [
        ("3", tmp_path / base / "3.0"), ("3", tmp_path / base / "3.2"), ("2", tmp_path / base / "2.10")]
    assert targets[0].plugin_file == tmp_path / base / "3.0/plug-ins/colorize_gimp/colorize_gimp.py"
    assert targets[2].plugin_file == tmp_path / base / "2.10/plug-ins/colorize_gimp2.py"
    assert notes == []


def test_xdg_config_home_and_appdata_are_honoured(tmp_path):
    (tmp_path / "xdg/GIMP/3.0").mkdir(parents=True)
    targets, _ = inst.find_targets(platform="linux", env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, home=tmp_path)
    assert [t.user_dir for t in targets] == [tmp_path / "xdg/GIMP/3.0"]
    (tmp_path / "roaming/GIMP/2.10").mkdir(parents=True)
    targets, _ = inst.find_targets(platform="win32", env={"APPDATA": str(tmp_path / "roaming")}, home=tmp_path)
    assert [t.user_dir for t in targets] == [tmp_path / "roaming/GIMP/2.10"]


def test_gimp_directory_variables_replace_the_defaults(tmp_path):
    (tmp_path / ".config/GIMP/3.0").mkdir(parents=True)
    env = {"GIMP3_DIRECTORY": str(tmp_path / "g3"), "GIMP2_DIRECTORY": "rel/g2"}   # relative: from home
    targets, _ = inst.find_targets(platform="linux", env=env, home=tmp_path)
    assert [(t.major, t.user_dir) for t in targets] == [("3", tmp_path / "g3"), ("2", tmp_path / "rel/g2")]
    assert "$GIMP3_DIRECTORY" in targets[0].label


def test_defaults_to_gimp_3_when_nothing_is_found(tmp_path):
    targets, notes = inst.find_targets(platform="darwin", env={}, home=tmp_path)
    assert [t.user_dir for t in targets] == [tmp_path / "Library/Application Support/GIMP/3.0"]
    assert "no GIMP user folder" in notes[0]
    targets, _ = inst.find_targets("all", platform="linux", env={}, home=tmp_path)
    assert [t.user_dir for t in targets] == [tmp_path / ".config/GIMP/3.0", tmp_path / ".config/GIMP/2.10"]
    targets, _ = inst.find_targets("2", platform="linux", env={}, home=tmp_path)
    assert [t.user_dir for t in targets] == [tmp_path / ".config/GIMP/2.10"]


def test_sandboxed_gimp_gets_a_note_not_an_install(tmp_path):
    (tmp_path / ".var/app/org.gimp.GIMP/config/GIMP/3.0").mkdir(parents=True)
    targets, notes = inst.find_targets(platform="linux", env={}, home=tmp_path)
    assert all(".var" not in str(t.user_dir) for t in targets)
    assert any("Flatpak" in n for n in notes)


# ------------------------------------------------------------------------------------------ install

@pytest.mark.parametrize("platform, base", [
    ("linux", ".config/GIMP"), ("win32", "AppData/Roaming/GIMP"), ("darwin", "Library/Application Support/GIMP")])
def test_install_rerun_uninstall_round_trip(tmp_path, platform, base, capsys):
    (tmp_path / base / "3.0/plug-ins/someone-else").mkdir(parents=True)
    (tmp_path / base / "3.0/plug-ins/someone-else/someone-else.py").write_text("print('hi')\n")
    (tmp_path / base / "2.10").mkdir(parents=True)                   # GIMP 2.10 run once, no plug-ins yet
    before = snapshot(tmp_path)
    weights = tmp_path / "w"
    argv = ["--engine-command", json.dumps(FAKE_ENGINE), "--weights", str(weights), "--timeout", "77"]

    assert run(argv, tmp_path, platform) == 0
    out = capsys.readouterr().out
    assert "engine: " in out and "colorize " in out                  # the engine command was test-run
    assert f"warning: no weights at {weights}" in out
    p3 = tmp_path / base / "3.0/plug-ins/colorize_gimp/colorize_gimp.py"
    p2 = tmp_path / base / "2.10/plug-ins/colorize_gimp2.py"
    assert p3.read_bytes() == (REPO / "plugin/gimp/colorize_gimp/colorize_gimp.py").read_bytes()
    assert p2.read_bytes() == (REPO / "plugin/gimp2/colorize_gimp2.py").read_bytes()
    assert os.access(p3, os.X_OK) and os.access(p2, os.X_OK)
    assert stat.S_IMODE(p3.stat().st_mode) == 0o755
    m3 = json.loads(p3.with_suffix(".json").read_text())
    assert m3["command"] == FAKE_ENGINE and m3["weights"] == str(weights) and m3["timeout"] == 77
    assert m3["files"] == ["colorize_gimp/colorize_gimp.py", "colorize_gimp/colorize_gimp.json"]
    assert m3["created_dirs"] == [str(p3.parent)]                  # plug-ins/ was already there
    m2 = json.loads(p2.with_suffix(".json").read_text())
    assert m2["created_dirs"] == [str(p2.parent)]                  # 2.10/plug-ins/ was not
    installed = snapshot(tmp_path)

    # re-running is safe: same files, nothing else, still removable
    assert run(argv + ["--no-check"], tmp_path, platform) == 0
    assert snapshot(tmp_path) == installed

    assert run(["--uninstall"], tmp_path, platform) == 0
    out = capsys.readouterr().out
    assert "uninstalled" in out
    assert snapshot(tmp_path) == before                            # exactly what it installed, no more

    assert run(["--uninstall"], tmp_path, platform) == 0
    assert "nothing to uninstall" in capsys.readouterr().out


def test_dry_run_changes_nothing(tmp_path, capsys):
    (tmp_path / ".config/GIMP/3.0").mkdir(parents=True)
    before = snapshot(tmp_path)
    assert run(["--dry-run", "--engine-command", json.dumps(FAKE_ENGINE)], tmp_path) == 0
    out = capsys.readouterr().out
    plugin_dir = tmp_path / ".config/GIMP/3.0/plug-ins"
    assert f"would create folder {plugin_dir}\n" in out
    assert f"would write {plugin_dir}/colorize_gimp/colorize_gimp.py (mode 755)" in out
    assert "would be installed" in out
    assert snapshot(tmp_path) == before

    assert run(["--engine-command", json.dumps(FAKE_ENGINE), "--no-check"], tmp_path) == 0
    installed = snapshot(tmp_path)
    capsys.readouterr()
    assert run(["--uninstall", "-n"], tmp_path) == 0
    out = capsys.readouterr().out
    assert f"would remove {plugin_dir}/colorize_gimp/colorize_gimp.py" in out
    assert f"would remove folder {plugin_dir}\n" in out
    assert snapshot(tmp_path) == installed


def test_reinstall_keeps_the_folders_it_created_for_uninstall(tmp_path):
    argv = ["--engine-command", json.dumps(FAKE_ENGINE), "--no-check"]
    assert run(argv, tmp_path) == 0                              # creates .config/GIMP/3.0/plug-ins/...
    assert run(argv + ["--timeout", "5"], tmp_path) == 0
    manifest = json.loads((tmp_path / ".config/GIMP/3.0/plug-ins/colorize_gimp/colorize_gimp.json").read_text())
    assert manifest["timeout"] == 5
    assert manifest["created_dirs"][0] == str(tmp_path / ".config")
    assert run(["--uninstall"], tmp_path) == 0
    assert list(tmp_path.iterdir()) == []


def test_uninstall_keeps_folders_holding_user_files(tmp_path, capsys):
    argv = ["--engine-command", json.dumps(FAKE_ENGINE), "--no-check"]
    assert run(argv, tmp_path) == 0
    folder = tmp_path / ".config/GIMP/3.0/plug-ins/colorize_gimp"
    (folder / "notes.txt").write_text("mine")
    assert run(["--uninstall"], tmp_path) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert "keep folder" in capsys.readouterr().out


def test_never_overwrites_a_foreign_plugin_without_force(tmp_path, capsys):
    target = tmp_path / ".config/GIMP/3.0/plug-ins/colorize_gimp/colorize_gimp.py"
    target.parent.mkdir(parents=True)
    target.write_text("# somebody else's plug-in\n")
    argv = ["--engine-command", json.dumps(FAKE_ENGINE), "--no-check"]
    assert run(argv, tmp_path) == 1
    assert "was not installed by colorize-install-gimp" in capsys.readouterr().err
    assert target.read_text() == "# somebody else's plug-in\n"
    assert run(argv + ["--force"], tmp_path) == 0
    assert inst.MARKER in target.read_text()


def test_default_engine_command_is_this_pythons_colorize():
    cmd = inst.default_engine_command()
    assert cmd[0].startswith(str(Path(os.path.abspath(sys.executable)).parent)) or cmd[0] == os.path.abspath(sys.executable)
    assert "colorize" in inst.check_engine(cmd)


def test_a_broken_engine_command_is_refused(tmp_path, capsys):
    assert run(["--engine-command", str(tmp_path / "no-such-colorize")], tmp_path) == 1
    assert "does not run" in capsys.readouterr().err
    assert not (tmp_path / ".config").exists()
    false = shutil.which("false")
    if false:
        assert run(["--engine-command", false], tmp_path) == 1
        assert "failed (1)" in capsys.readouterr().err


def test_parse_command():
    assert inst.parse_command('["C:\\\\Py\\\\colorize.exe", "--backend", "onnx"]') == \
        ["C:\\Py\\colorize.exe", "--backend", "onnx"]
    if not sys.platform.startswith("win"):
        assert inst.parse_command("'/opt/my venv/bin/colorize' --backend onnx") == \
            ["/opt/my venv/bin/colorize", "--backend", "onnx"]
    with pytest.raises(inst.InstallError):
        inst.parse_command("[1, 2]")


def test_module_entry_point_dry_run(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    env.pop("GIMP3_DIRECTORY", None)
    env.pop("GIMP2_DIRECTORY", None)
    r = subprocess.run([sys.executable, "-m", "installer.gimp", "--dry-run"], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"would write {tmp_path}/cfg/GIMP/3.0/plug-ins/colorize_gimp/colorize_gimp.py" in r.stdout
    assert not (tmp_path / "cfg").exists()


# ---------------------------------------------------------------------------------- the plug-in files

def test_plugin_files_are_executable_and_marked():
    for plugin in inst.PLUGINS.values():
        assert plugin.source.is_file()
        assert os.access(plugin.source, os.X_OK), f"{plugin.source} must be executable"
        assert inst.MARKER in plugin.source.read_text()
    gimp3 = inst.PLUGINS["3"].source
    assert gimp3.parent.name == gimp3.stem                 # GIMP 3: folder and file of the same name
    compile(gimp3.read_text(), str(gimp3), "exec")          # valid Python 3
    text = gimp3.read_text()
    assert "shell=True" not in text and "import numpy" not in text and "import torch" not in text


def _python2():
    for cand in ("python2.7", "python2"):
        path = shutil.which(cand)
        if path and subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
            return path
    pyenv = Path.home() / ".pyenv/versions"
    for path in sorted(pyenv.glob("2.7*/bin/python2.7")) if pyenv.is_dir() else []:
        return str(path)
    return None


GIMPFU_STUB = '''
"""Just enough of GIMP 2.10's gimpfu for colorize_gimp2.py (Python 2)."""
import shutil
RGB, GRAY, ADD_SELECTION_MASK, PF_SLIDER = 0, 1, 4, 13
LOG = []
REGISTERED = {}
class Layer(object):
    def __init__(self, name, w=8, h=6, src=None):
        self.name, self.width, self.height, self.offsets, self.parent, self.mask = name, w, h, (3, 4), None, None
        self.src = src
    def set_offsets(self, x, y): self.offsets = (x, y)
    def create_mask(self, kind): return ("mask", kind)
    def add_mask(self, mask): self.mask = mask
class Image(object):
    def __init__(self, base_type=GRAY, layers=None):
        self.base_type, self.layers, self.selection = base_type, list(layers or []), False
class Pdb(object):
    def gimp_image_new(self, w, h, t): return Image(t)
    def gimp_layer_new_from_drawable(self, d, image): return Layer(d.name, d.width, d.height, src=d)
    def gimp_image_insert_layer(self, image, layer, parent, pos): image.layers.insert(pos, layer)
    def gimp_layer_set_offsets(self, layer, x, y): layer.set_offsets(x, y)
    def file_png_save_defaults(self, image, layer, path, raw): open(path, "wb").write(b"png")
    def gimp_image_delete(self, image): LOG.append("delete")
    def gimp_file_load(self, path, raw): return Image(RGB, [Layer("out.png")])
    def gimp_image_undo_group_start(self, image): LOG.append("undo-start")
    def gimp_image_undo_group_end(self, image): LOG.append("undo-end")
    def gimp_image_convert_rgb(self, image): image.base_type = RGB
    def gimp_image_get_item_position(self, image, item): return image.layers.index(item)
    def gimp_item_get_parent(self, item): return item.parent
    def gimp_selection_is_empty(self, image): return not image.selection
    def gimp_progress_init(self, text, display): pass
    def gimp_progress_pulse(self): pass
    def gimp_progress_end(self): pass
pdb = Pdb()
class gimp(object):
    @staticmethod
    def message(text): LOG.append(("message", text))
    @staticmethod
    def displays_flush(): pass
def register(name, *args, **kw): REGISTERED[name] = (args, kw)
def main(): pass
'''

GIMP2_DRIVER = '''
import json, os, sys, tempfile, glob
sys.path.insert(0, sys.argv[1])
import gimpfu
plugdir = sys.argv[2]
sys.argv = [os.path.join(plugdir, "colorize_gimp2.py")]
ns = {"__file__": sys.argv[0], "__name__": "__main__"}
exec(compile(open(sys.argv[0]).read(), sys.argv[0], "exec"), ns)
args, kw = gimpfu.REGISTERED["python-fu-colorize-automatically"]
fn = args[-1]
assert kw["menu"] == "<Image>/Filters/Colorize", kw
results = {}
for case in ("ok", "missing", "fails"):
    cfg = json.load(open(os.path.join(plugdir, "colorize_gimp2.json.in")))
    if case == "missing":
        cfg["command"] = ["/no/such/colorize"]
    if case == "fails":
        # the engine's --json result on stdout, its batch summary on stderr: the reason must come from the first
        cfg["command"] = [sys.executable, "-c", "import sys; sys.stdout.write('{\\"status\\": \\"failed\\", "
                          "\\"code\\": \\"input\\", \\"message\\": \\"boom\\"}\\\\n'); "
                          "sys.stderr.write('colorize: 0 colorized, 0 kept, 1 failed\\\\n'); sys.exit(1)"]
    json.dump(cfg, open(os.path.join(plugdir, "colorize_gimp2.json"), "w"))
    del gimpfu.LOG[:]
    bg = gimpfu.Layer("Background")
    image = gimpfu.Image(gimpfu.GRAY, [bg])
    image.selection = True
    fn(image, bg, 0.25)
    results[case] = {"layers": [l.name for l in image.layers], "offsets": [list(l.offsets) for l in image.layers],
                     "mask": [l.mask is not None for l in image.layers], "rgb": image.base_type == gimpfu.RGB,
                     "log": [x if isinstance(x, str) else list(x) for x in gimpfu.LOG],
                     "tmp": glob.glob(os.path.join(tempfile.gettempdir(), "gimp-colorize-*"))}
json.dump(results, sys.stdout)
'''

FAKE_ENGINE_PY = '''
import sys, shutil
args = sys.argv[1:]
src, dst = args[0], args[args.index("-o") + 1]
open(sys.argv[0] + ".args", "w").write(repr(args))
shutil.copy(src, dst)
'''


def test_gimp2_wrapper_under_python2_with_a_stub_gimpfu(tmp_path):
    """GIMP 2.10 cannot run here; this runs the wrapper's logic under Python 2 with a stand-in gimpfu."""
    py2 = _python2()
    if py2 is None:
        pytest.skip("no Python 2.7 here to exercise the GIMP 2.10 wrapper")
    stub, plugdir, tmp = tmp_path / "stub", tmp_path / "plug-ins", tmp_path / "tmp"
    for d in (stub, plugdir, tmp):
        d.mkdir()
    (stub / "gimpfu.py").write_text(textwrap.dedent(GIMPFU_STUB))
    shutil.copy(inst.PLUGINS["2"].source, plugdir / "colorize_gimp2.py")
    r = subprocess.run([py2, "-m", "py_compile", str(plugdir / "colorize_gimp2.py")],   # (its .pyc stays in tmp)
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (tmp_path / "engine.py").write_text(FAKE_ENGINE_PY)
    (plugdir / "colorize_gimp2.json.in").write_text(json.dumps(
        {"command": [py2, str(tmp_path / "engine.py")], "weights": str(tmp_path / "w"), "timeout": 30}))
    (tmp_path / "driver.py").write_text(GIMP2_DRIVER)
    env = {"PATH": os.environ.get("PATH", ""), "TMPDIR": str(tmp)}
    r = subprocess.run([py2, str(tmp_path / "driver.py"), str(stub), str(plugdir)], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    ok = res["ok"]
    assert ok["layers"] == ["Colorized", "Background"] and ok["rgb"]
    assert ok["offsets"][0] == [3, 4] and ok["mask"] == [True, False]
    assert not any(isinstance(x, list) and x[0] == "message" for x in ok["log"])
    args = eval((tmp_path / "engine.py.args").read_text())
    assert args[1:] == ["-o", args[2], "--json", "--temperature", "0.250", "--weights", str(tmp_path / "w")]
    for case, text in (("missing", "cannot run the colorize engine"), ("fails", "the colorize engine failed: boom")):
        assert res[case]["layers"] == ["Background"] and not res[case]["rgb"], case   # image unchanged
        messages = [x for x in res[case]["log"] if isinstance(x, list) and x[0] == "message"]
        assert len(messages) == 1 and text in messages[0][1], res[case]
    assert all(not r["tmp"] for r in res.values())          # temporary files removed every time
