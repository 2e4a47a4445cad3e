"""The engine's one file job (engine/job.py) and one Settings value, and what the command built on
them promises: machine-readable results, folders that keep their names, a stop at a folder that
takes no files, the original never replaced by the library."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from engine import ColorizeError, Settings, Task, load_bundle, plan, run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def grey(h=40, w=60):
    return (np.add.outer(np.arange(h) * 3, np.arange(w) * 2) % 256).astype(np.uint8)


def save(path, arr=None):
    Image.fromarray(grey() if arr is None else arr).save(path)
    return path


def test_settings_are_checked_once_when_made():
    assert Settings(temperature="0.5").temperature == 0.5
    for bad in ({"temperature": 0}, {"temperature": 1.5}, {"working_size": 4}, {"working_size": 100.5},
                {"reference_strength": 2}, {"quality": 0}, {"quality": True}):
        with pytest.raises(ColorizeError):
            Settings(**bad)
    with pytest.raises(Exception):
        Settings().temperature = 0.3  # frozen: passed whole, never changed on the way


def test_run_gives_a_result_with_a_code_for_every_outcome(colorizer, tmp_path):
    src = save(tmp_path / "a.png")
    done = run(colorizer, Task(src, tmp_path / "out.png"), Settings())
    assert (done.status, done.code) == ("done", "") and (tmp_path / "out.png").is_file()
    kept = run(colorizer, Task(src, tmp_path / "out.png"), Settings())
    assert (kept.status, kept.code) == ("kept", "exists")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    bad = run(colorizer, Task(tmp_path / "bad.png", tmp_path / "bad-out.png"), Settings())
    assert (bad.status, bad.code) == ("failed", "input") and "not an image" in bad.message
    hinted = run(colorizer, Task(src, tmp_path / "h.png"), Settings(hints=[(500, 5, "red")]))
    assert (hinted.status, hinted.code) == ("failed", "hints")
    colour = save(tmp_path / "c.png", np.dstack([grey(), grey()[::-1], grey()[:, ::-1]]))
    skipped = run(colorizer, Task(colour, tmp_path / "c-out.png"), Settings(keep_colour=True))
    assert (skipped.status, skipped.code) == ("kept", "colour") and not (tmp_path / "c-out.png").exists()
    assert json.loads(json.dumps(bad.to_dict()))["code"] == "input"


def test_plan_refuses_or_renames_clashes(tmp_path):
    a, b = save(tmp_path / "a.png"), tmp_path / "sub"
    b.mkdir()
    save(b / "a.png")
    inputs = [(a, a.relative_to(tmp_path)), (b / "a.png", (b / "a.png").relative_to(b))]
    tasks, refused = plan(inputs, tmp_path / "out", False, Settings())
    assert [t.dst.name for t in tasks] == ["a.png"] and refused[0].code == "output"
    tasks, refused = plan(inputs, tmp_path / "out", False, Settings(), clash="rename")
    assert [t.dst.name for t in tasks] == ["a.png", "a-2.png"] and not refused


def test_the_library_never_replaces_the_original_unless_told(colorizer, tmp_path):
    src = save(tmp_path / "old.png")
    before = src.read_bytes()
    with pytest.raises(ColorizeError, match="own file"):
        colorizer.predict(src).save(src)
    assert src.read_bytes() == before
    colorizer.predict(src).save(tmp_path / "copy.png")              # another name: written
    colorizer.predict(src).save(tmp_path / "copy.png")              # an existing result: replaced
    with pytest.raises(ColorizeError, match="own file"):
        colorizer.colorize_file(src, src)
    colorizer.predict(src).save(src, overwrite=True)                # asked for: replaced
    assert src.read_bytes() != before


@pytest.fixture
def cli(weights_dir, capsys):
    """The command on the test weights: cli(*args) -> (exit status, stdout, stderr)."""
    from engine.cli import main

    def cli(*args):
        code = main([*map(str, args), "--weights", str(weights_dir), "--backend", "onnx"])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return cli


def test_json_results_one_object_per_input(cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    save(src / "a.png")
    (src / "b.png").write_bytes(b"broken")
    code, stdout, _ = cli(src, "-o", tmp_path / "out", "--json")
    out = [json.loads(line) for line in stdout.splitlines()]
    assert code == 1
    assert {(r["input"].split(os.sep)[-1], r["status"], r["code"]) for r in out} == \
        {("a.png", "done", ""), ("b.png", "failed", "input")}


def test_json_says_why_a_run_cannot_start(cli, tmp_path):
    code, stdout, _ = cli(save(tmp_path / "a.png"), "-o", tmp_path / "o.png", "--hint", "1,1,red", "--json")
    out = json.loads(stdout)
    assert code == 2 and out["code"] == "hints" and "take no colour hints" in out["message"]


def test_several_input_folders_keep_their_names(run, tmp_path):
    for name in ("dup1", "dup2"):
        (tmp_path / name).mkdir()
        save(tmp_path / name / "a.png")
    code, err = run(tmp_path / "dup1", tmp_path / "dup2", "-o", tmp_path / "out")
    assert code == 0, err
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")) == \
        ["dup1/a.png", "dup2/a.png"]


def test_a_palette_is_a_reference_on_the_command_line(run, tmp_path):
    src = save(tmp_path / "a.png")
    code, err = run(src, "-o", tmp_path / "o.png", "--reference", "#1f4e79,tan")
    assert code == 0, err
    code, err = run(src, "-o", tmp_path / "p.png", "--reference", "nosuch.jpg")
    assert code == 2 and "no such file, nor a palette" in err


def test_a_negative_hint_is_outside_the_photo_and_a_bad_command_line(hint_weights_dir, tmp_path, capsys):
    from engine.cli import main

    src = save(tmp_path / "a.png")
    code = main([str(src), "-o", str(tmp_path / "o.png"), "--hint", "-1,10,red", "--weights", str(hint_weights_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "outside" in err and "expected one argument" not in err


def test_an_output_folder_made_for_nothing_is_removed(run, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"broken")
    code, err = run(tmp_path / "bad.png", tmp_path / "missing.png", "-o", tmp_path / "new")
    assert code == 1 and not (tmp_path / "new").exists()


def test_version_names_the_model(capsys):
    from engine.cli import main

    with pytest.raises(SystemExit):
        main(["--version"])
    out = capsys.readouterr().out
    version = load_bundle().meta["version"]  # the shipped model has one
    assert out.startswith("colorize ") and version.startswith("v") and f"model {version}" in out


def test_float_arrays_outside_0_1_are_refused(colorizer):
    with pytest.raises(ColorizeError, match=r"\[0, 1\]"):
        colorizer.colorize(np.full((16, 16), 1.5, np.float32))
    colorizer.colorize(np.full((16, 16), 1.0 + 1e-6, np.float32))  # rounding is not a mistake


def can_mount_tmpfs() -> str | None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("unshare"):
        return "needs Linux, root and unshare to mount a small file system"
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    return None if r.returncode == 0 else "unshare --mount is not permitted here"


@pytest.mark.skipif(can_mount_tmpfs() is not None, reason=str(can_mount_tmpfs()))
def test_a_full_disk_stops_the_batch_after_the_first_failure(weights_dir, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):  # noise: PNGs that do not compress below the tiny disk's size
        save(src / f"{i}.png", np.random.default_rng(i).integers(0, 256, (200, 200), np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    script = (f"mount -t tmpfs -o size=64k tmpfs {out} && {sys.executable} -m engine.cli {src} -o {out}/ "
              f"--weights {weights_dir} --backend onnx; echo rc=$?")
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("colorize: ") and "No space" in ln]
    assert "rc=2" in r.stdout, r.stderr
    assert len(lines) == 1 and "stopped: the output folder" in r.stderr


def test_an_animated_gif_says_only_its_first_frame_is_colorized(cli, tmp_path):
    frames = [Image.fromarray(grey(16, 16) // (i + 1)).convert("P") for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    code, _, err = cli(tmp_path / "anim.gif", "-o", tmp_path / "out.png")
    assert code == 0 and "animated (3 frames): only the first frame was colorized" in err


@pytest.mark.parametrize("compression", ["tiff_lzw", "tiff_adobe_deflate"])
def test_a_compressed_tiff_stays_compressed(cli, tmp_path, compression):
    Image.fromarray(grey(120, 160)).save(tmp_path / "scan.tif", compression=compression)
    code, _, err = cli(tmp_path / "scan.tif", "-o", tmp_path / "out.tif")
    assert code == 0, err
    assert Image.open(tmp_path / "out.tif").info.get("compression") == compression


def test_a_planned_refusal_names_an_odd_file_in_one_line(cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    save(src / "a\nb.png")
    (tmp_path / "out").mkdir()
    save(tmp_path / "out" / "a\nb.png")
    code, _, err = cli(src, "-o", tmp_path / "out")
    lines = [ln for ln in err.splitlines() if ln.startswith("colorize: ")]
    assert code == 0 and len(err.splitlines()) == len(lines) and "'" in lines[0] and "exists, kept" in lines[0]
