"""The colorize command end to end, and every bad input the issue lists."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from engine.cli import main


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
    assert code == 2 and "is an input" in err and p.read_bytes() == before
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
    assert code == 2 and "output folder" in err and "Traceback" not in err


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


# --- issue 11: files, names, signals and exit codes ---------------------------------------------

def test_outputs_get_the_usual_mode_and_keep_a_replaced_files_mode(run, tmp_path):
    src = save(tmp_path / "a.png", grey())
    old = os.umask(0o022)
    try:
        assert run(src, "-o", tmp_path / "out.png")[0] == 0
        assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o644  # not the temp file's 0600
        os.chmod(tmp_path / "out.png", 0o640)
        assert run(src, "-o", tmp_path / "out.png", "--overwrite")[0] == 0
        assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_a_result_written_meanwhile_by_another_run_is_kept(tmp_path):
    from engine import OutputExists, atomic_output

    dst = tmp_path / "x.png"
    with pytest.raises(OutputExists, match="exists, kept"):
        with atomic_output(dst, overwrite=False) as tmp:
            open(tmp, "w").write("mine")
            dst.write_text("theirs")  # another run finished first
    assert dst.read_text() == "theirs" and sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]
    with atomic_output(tmp_path / "y.png", overwrite=False) as tmp:
        open(tmp, "w").write("mine")
    assert (tmp_path / "y.png").read_text() == "mine"


def test_two_concurrent_runs_never_replace_each_others_results(tmp_path, weights_dir):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(24):
        save(src / f"{i:02d}.png", grey())
    cmd = [sys.executable, "-m", "engine.cli", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights_dir)]
    runs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errs = [r.communicate(timeout=300)[1] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], errs
    done = [int(e.strip().splitlines()[-1].split()[1]) for e in errs]  # "colorize: N colorized, M kept, ..."
    assert sum(done) == 24, errs  # every result was written exactly once


def test_an_output_folder_inside_the_input_folder_is_not_read_as_input(run, tmp_path):
    nest = tmp_path / "nest"
    nest.mkdir()
    save(nest / "a.png", grey())
    for _ in range(3):
        assert run(nest, "-o", nest / "out")[0] == 0
    assert sorted(p.relative_to(nest).as_posix() for p in nest.rglob("*") if p.is_file()) == ["a.png", "out/a.png"]


def test_stale_temporary_files_of_killed_runs_are_removed(run, tmp_path):
    from engine import atomic_output

    out = tmp_path / "out"
    out.mkdir()
    dead = out / ".colorize-abc.png"   # nobody writes it
    dead.write_bytes(b"partial")
    with atomic_output(out / "b.png") as alive:  # a run still going
        assert run(save(tmp_path / "a.png", grey()), "-o", out)[0] == 0
        assert not dead.exists() and os.path.exists(alive)


# A run in a container: it opens a temporary output in its own PID namespace, as the process whose
# ID there is argv[2], says which file it writes and waits for a line on stdin before finishing.
NAMESPACED_WRITER = r"""
import os, sys
with open("/proc/sys/kernel/ns_last_pid", "w") as f:  # the next process here gets ID argv[2]
    f.write(str(int(sys.argv[2]) - 1))
if os.fork():
    sys.exit(os.waitstatus_to_exitcode(os.wait()[1]))
from engine import atomic_output
with atomic_output(sys.argv[1]) as tmp:
    print(os.getpid(), tmp, flush=True)
    sys.stdin.readline()
    with open(tmp, "w") as f:
        f.write("done")
"""
UNSHARE = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc"]


@pytest.fixture
def pid_namespaces():
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to start a process in another PID namespace")
    probe = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a PID namespace here: {probe.stderr.strip()}")


def start_in_pid_namespace(dst, pid):
    """The writer above, started; returns (process, its temporary file)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.Popen([*UNSHARE, sys.executable, "-c", NAMESPACED_WRITER, str(dst), str(pid)], cwd=root,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().split(maxsplit=1)
    if not line:
        pytest.fail(p.communicate(timeout=60)[1])
    assert int(line[0]) == pid
    return p, line[1].rstrip("\n")


def kill_namespace(p):
    """kill -9 the namespace's first process, as `docker kill` does: every process in it dies."""
    import signal

    with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
        for child in f.read().split():
            os.kill(int(child), signal.SIGKILL)
    p.wait(timeout=60)  # before communicate() closes stdin, which would let the writer finish
    p.communicate()


def test_a_run_in_another_pid_namespace_keeps_its_temporary_file(tmp_path, pid_namespaces):
    from engine import remove_stale_temps

    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    # an ID no process here has: a PID check would take the writer for dead
    pid = next(i for i in range(pid_max - 1, 300, -1) if not os.path.exists(f"/proc/{i}"))
    p, tmp = start_in_pid_namespace(tmp_path / "cup.png", pid)
    try:
        assert remove_stale_temps(tmp_path) == 0 and os.path.exists(tmp)
        out, err = p.communicate("go\n", timeout=60)
    finally:
        if p.returncode is None:
            kill_namespace(p)
    assert p.returncode == 0, err
    assert (tmp_path / "cup.png").read_text() == "done" and os.listdir(tmp_path) == ["cup.png"]


def test_a_killed_run_in_another_pid_namespace_leaves_no_temporary_file(tmp_path, pid_namespaces):
    from engine import remove_stale_temps

    # the writer's ID is this process's: a PID check would take the writer for alive
    p, tmp = start_in_pid_namespace(tmp_path / "cup.png", os.getpid())
    kill_namespace(p)
    assert os.path.exists(tmp)
    assert remove_stale_temps(tmp_path) == 1 and os.listdir(tmp_path) == []


def test_sigterm_stops_cleanly_with_one_line(tmp_path, weights_dir):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(200):
        save(src / f"{i:03d}.png", grey(400, 600))
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "engine.cli", str(src), "-o", str(out), "--weights", str(weights_dir)],
                         stderr=subprocess.PIPE, text=True)
    import time
    deadline = time.time() + 120
    while time.time() < deadline and not (out.is_dir() and any(out.glob("*.png"))):
        time.sleep(0.05)
    p.send_signal(15)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 130 and "Traceback" not in err and "interrupted" in err.splitlines()[-1]
    assert not list(out.glob(".colorize-*"))
    assert len(list(out.glob("*.png"))) < 200


def test_ctrl_c_is_one_line_and_exit_130(run, tmp_path, monkeypatch):
    from engine import Colorizer

    def interrupt(self, image, *args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(Colorizer, "predict", interrupt)
    code, err = run(save(tmp_path / "a.png", grey()), "-o", tmp_path / "out")
    assert code == 130 and err.strip().splitlines() == ["colorize: interrupted; nothing half-written was left"]
    assert not list((tmp_path / "out").glob(".colorize-*"))


def test_a_100_megapixel_scan_is_not_a_decompression_bomb(run, tmp_path):
    from engine import read_image

    big = tmp_path / "scan.png"
    Image.new("L", (10000, 10000), 128).save(big)
    assert read_image(big).size == (10000, 10000)  # Pillow's own 89.5 MP warning must not refuse it
    code, err = run(big, "-o", tmp_path / "out", "--max-megapixels", "50")
    assert code == 1 and "image too large" in err and "--max-megapixels" in err


def test_a_fifo_is_refused_without_hanging(tmp_path, weights_dir):
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    r = subprocess.run([sys.executable, "-m", "engine.cli", str(fifo), "-o", str(tmp_path / "out"),
                        "--weights", str(weights_dir)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "not a regular file" in r.stderr and "Traceback" not in r.stderr


def test_a_symlink_loop_and_odd_names_are_one_line_each(run, tmp_path):
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    odd = save(tmp_path / "two\nlines.png", grey())
    odd.write_bytes(b"not a png")
    code, err = run(tmp_path / "loop.png", odd, "-o", tmp_path / "out")
    lines = err.strip().splitlines()
    assert code == 1 and "Traceback" not in err
    assert any("loop.png" in x and "symbolic links" in x for x in lines)
    assert any("'" in x and "two\\nlines.png" in x for x in lines)  # quoted, still one line


@pytest.mark.parametrize("args, message", [
    (["--quality", "1000"], "--quality must be in [1, 100]"),
    (["--working-size", "100000"], "--working-size must be in [8, 1024]"),
    (["-t", "0"], "temperature must be in (0, 1]"),
])
def test_bad_options_are_refused_up_front(run, tmp_path, args, message, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(save(tmp_path / "a.png", grey())), "-o", str(tmp_path / "a.webp"), *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_output_names_that_cannot_be_meant(run, tmp_path):
    a, b = save(tmp_path / "a.png", grey()), save(tmp_path / "b.png", grey())
    code, err = run(a, b, "-o", tmp_path / "multi.png")
    assert code == 2 and "names one file but there are 2 inputs" in err and not (tmp_path / "multi.png").exists()
    code, err = run(a, "-o", tmp_path / "out.xyz")
    assert code == 2 and "cannot write .xyz" in err and not (tmp_path / "out.xyz").exists()
    assert run(a, "-o", tmp_path / "folder")[0] == 0 and (tmp_path / "folder" / "a.png").is_file()


def test_weights_linked_to_a_device_are_not_called_missing(tmp_path, weights_dir, capsys):
    w = tmp_path / "w"
    w.mkdir()
    for f in weights_dir.iterdir():
        (w / f.name).write_bytes(f.read_bytes())
    (w / "model.onnx").unlink()
    (w / "model.onnx").symlink_to("/dev/zero")
    assert main([str(save(tmp_path / "a.png", grey())), "-o", str(tmp_path / "o.png"), "--weights", str(w)]) == 2
    assert "is not a regular file" in capsys.readouterr().err


def test_colour_inputs_are_noted_or_kept(run, tmp_path):
    rng = np.random.default_rng(0)
    colour = save(tmp_path / "c.png", rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    code, err = run(colour, save(tmp_path / "g.png", grey()), "-o", tmp_path / "out")
    assert code == 0 and "1 input(s) were already in colour" in err and (tmp_path / "out" / "c.png").exists()
    code, err = run(colour, "-o", tmp_path / "kept", "--keep-colour")
    assert code == 0 and "already in colour, skipped" in err and not (tmp_path / "kept" / "c.png").exists()
