"""The colorize command end to end, and every bad input the issue lists."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from engine.cli import main


@pytest.fixture
def run(weights_dir, capsys):
    def run(*args):
        code = main([*map(str, args), "--weights", str(weights_dir), "--backend", "onnx"])
        return code, capsys.readouterr().err
    return run


def save(path, arr, **kw):
    Image.fromarray(arr).save(path, **kw)
    return path


def grey(h=40, w=60):
    return (np.add.outer(np.arange(h) * 3, np.arange(w) * 2) % 256).astype(np.uint8)


def test_single_file_to_file(run, grey_photo, tmp_path):
    before = grey_photo.read_bytes()
    code, err = run(grey_photo, "-o", tmp_path / "out.png", "-t", "0.3")
    assert code == 0, err
    out = Image.open(tmp_path / "out.png")
    assert out.size == (120, 90) and out.mode == "RGB"
    assert np.asarray(out).astype(int).std(axis=2).mean() > 0.5  # it has colour
    assert grey_photo.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".colorize-")]  # no temp files left


def test_folder_glob_and_existing_outputs(run, tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    save(src / "a.jpg", grey())
    save(src / "sub" / "b.png", grey(30, 20))
    frames = [Image.fromarray(grey(16, 16)).convert("P") for _ in range(2)]
    frames[0].save(src / "c.gif", save_all=True, append_images=frames[1:])
    out = tmp_path / "out"
    code, err = run(src, "-o", out)
    assert code == 0, err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == ["a.jpg", "c.png", "sub/b.png"]
    stamp = (out / "a.jpg").stat().st_mtime_ns
    code, err = run(str(src / "*.jpg"), "-o", out)
    assert code == 0 and "exists, kept" in err and (out / "a.jpg").stat().st_mtime_ns == stamp
    code, err = run(str(src / "*.jpg"), "-o", out, "--overwrite")
    assert code == 0 and (out / "a.jpg").stat().st_mtime_ns != stamp


def test_never_writes_over_an_input(run, tmp_path):
    p = save(tmp_path / "x.png", grey())
    before = p.read_bytes()
    code, err = run(p, "-o", p, "--overwrite")
    assert code == 1 and "is an input" in err and p.read_bytes() == before
    code, err = run(p, "-o", tmp_path, "--overwrite")  # folder output = the input's own folder
    assert code == 1 and p.read_bytes() == before


def bad_inputs(tmp_path):
    cases = {}
    cases["empty.jpg"] = b""
    buf = tmp_path / "_full.jpg"
    save(buf, grey(200, 200), quality=90)
    cases["truncated.jpg"] = buf.read_bytes()[:600]
    save(buf.with_suffix(".png"), grey(200, 200))
    cases["truncated.png"] = buf.with_suffix(".png").read_bytes()[:300]
    cases["text.jpg"] = b"this is not an image\n"
    # decompression bomb: a valid PNG header declaring 100000 x 100000 pixels
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    cases["bomb.png"] = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + \
        chunk(b"IEND", b"")
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    return cases


def test_bad_inputs_one_line_each_and_batch_goes_on(run, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    names = bad_inputs(src)
    (src / "_full.jpg").unlink()
    (src / "_full.png").unlink()
    save(src / "good.png", grey())
    save(src / "tiny.png", np.array([[128]], np.uint8))
    save(src / "long.png", np.tile(np.arange(20000, dtype=np.uint16) % 256, (3, 1)).astype(np.uint8))
    save(src / "deep.png", (grey().astype(np.uint16) * 257))
    cmyk = Image.fromarray(np.dstack([grey()] * 3)).convert("CMYK")
    cmyk.save(src / "cmyk.jpg")
    pal = Image.fromarray(grey()).convert("P")
    pal.save(src / "pal.png", transparency=3)
    out = tmp_path / "out"
    code, err = run(src, "-o", out)
    assert code == 1
    lines = [l for l in err.splitlines() if l.startswith("colorize: ") and "colorized," not in l]
    assert len(lines) == len(names), err  # exactly one line per bad file
    for name in names:
        assert any(name in l for l in lines), (name, err)
    assert "Traceback" not in err
    assert "empty file" in err and "not an image" in err and "too large" in err and "truncated" in err
    for good in ("good.png", "tiny.png", "long.png", "deep.png", "cmyk.jpg", "pal.png"):
        assert (out / good).exists(), good
    assert Image.open(out / "long.png").size == (20000, 3)
    deep = Image.open(out / "deep.png")
    assert deep.size == (60, 40)
    import cv2
    assert cv2.imread(str(out / "deep.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16  # 16 bits kept
    assert Image.open(out / "pal.png").mode == "RGBA"
    assert not list(out.glob("empty*")) and not list(out.glob("bomb*"))


def test_missing_inputs_and_empty_folder(run, tmp_path):
    (tmp_path / "empty").mkdir()
    code, err = run(tmp_path / "empty", tmp_path / "nope.jpg", "-o", tmp_path / "out")
    assert code == 1 and "folder has no images" in err and "no such file" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read and write anything")
def test_unreadable_input_and_unwritable_output(run, tmp_path):
    p = save(tmp_path / "locked.png", grey())
    p.chmod(0)
    code, err = run(p, "-o", tmp_path / "o.png")
    assert code == 1 and "permission denied" in err
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    p.chmod(0o644)
    code, err = run(p, "-o", ro / "o.png")
    assert code == 1 and "not writable" in err


def test_unreadable_path_and_unwritable_output_as_root(run, tmp_path):
    """Root ignores permission bits, so use paths that fail for everyone."""
    p = save(tmp_path / "ok.png", grey())
    code, err = run(tmp_path / "ok.png" / "inside.png", "-o", tmp_path / "o1.png")  # a file used as folder
    assert code == 1 and err.count("\n") == 1
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    code, err = run(p, "-o", blocker / "o.png")
    assert code == 1 and "output folder" in err and "Traceback" not in err


def test_corrupt_weights(tmp_path, weights_dir, capsys):
    import shutil
    w = tmp_path / "w"
    shutil.copytree(weights_dir, w)
    (w / "model.onnx").write_bytes(b"garbage")
    img = save(tmp_path / "in.png", grey())
    code = main([str(img), "-o", str(tmp_path / "o"), "--weights", str(w), "--backend", "onnx"])
    err = capsys.readouterr().err
    assert code == 2 and "corrupt" in err and err.count("\n") == 1


def test_console_script_version_and_help():
    r = subprocess.run([sys.executable, "-m", "engine.cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("colorize ")
    r = subprocess.run([sys.executable, "-m", "engine.cli", "--help"], capture_output=True, text=True)
    assert "--temperature" in r.stdout and "--overwrite" in r.stdout
