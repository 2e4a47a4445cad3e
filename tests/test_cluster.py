"""`colorize --cluster` (engine/cluster.py) on a real two-node Ray cluster started on this machine:
the same outputs as the local command, bad inputs, a worker killed with kill -9, a rerun after an
interruption, Ray missing, a wrong address. The cluster tests need the `cluster` extra (Ray)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import Settings, Task, collect_inputs, plan
from engine.cli import main
from engine.media import TEMP_PREFIX, AtomicFile

ROOT = Path(__file__).resolve().parent.parent
try:
    import ray  # noqa: F401
    HAS_RAY = True
except ImportError:
    HAS_RAY = False
needs_ray = pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed: pip install 'colorize[cluster]'")
NEEDS_RAY_LINE = "colorize: the cluster path needs Ray: pip install 'colorize[cluster]'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_in(sessions: set[int], title: str = "") -> list[int]:
    """The processes of these sessions (ours: started by this module) whose command starts with title."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit() and session_of(int(d)) in sessions:
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith(title):
                found.append(int(d))
    return found


def temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(f"{TEMP_PREFIX}*")]


@pytest.fixture(scope="module")
def cluster():
    """A head node and a second node joining it, one CPU each, as separate `ray start` processes;
    this test process is the driver. Torn down by killing every process of the two nodes' sessions
    (only ours: a `ray stop` would stop every Ray on the machine)."""
    if not HAS_RAY:
        pytest.skip("Ray is not installed: pip install 'colorize[cluster]'")
    import ray

    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")}
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")  # a test cluster, no token
    env = dict(os.environ, OMP_NUM_THREADS="1")
    tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus", "1", "--block", "--disable-usage-stats", "--node-ip-address", "127.0.0.1",
              "--dashboard-agent-listen-port", "0", "--min-worker-port", "0", "--max-worker-port", "0"]
    ray_bin = str(Path(sys.executable).parent / "ray")
    nodes = []
    try:
        nodes.append(subprocess.Popen(
            [ray_bin, "start", "--head", "--port", str(port), "--include-dashboard=false", "--temp-dir", tmp,
             "--ray-client-server-port", str(free_port()), *common],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/head.log", "w")))
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and nodes[0].poll() is None, Path(f"{tmp}/head.log").read_text()
                time.sleep(0.1)
        nodes.append(subprocess.Popen([ray_bin, "start", "--address", address, *common], env=env,
                                      start_new_session=True, stdout=subprocess.DEVNULL,
                                      stderr=open(f"{tmp}/node.log", "w")))
        ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert time.monotonic() < deadline and nodes[1].poll() is None, Path(f"{tmp}/node.log").read_text()
            time.sleep(0.1)
        yield address, {p.pid for p in nodes}
    finally:
        try:
            ray.shutdown()
        finally:
            sessions = {p.pid for p in nodes}
            for _ in range(3):
                for pid in processes_in(sessions):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.2)
            for p in nodes:
                p.wait(30)
            shutil.rmtree(tmp, ignore_errors=True)
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def grey(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    return (100 + 70 * np.sin(x / (7 + seed)) * np.cos(y / 11) + rng.normal(0, 6, (h, w))).clip(0, 255).astype(np.uint8)


def photos(folder: Path, n: int, size=(90, 120)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(grey(*size, seed=i)).save(folder / f"p{i:02d}.jpg", quality=92)
    return folder


def command(*args, weights) -> tuple[int, str]:
    """The colorize command in this process; the cluster fixture's driver connection is reused."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([*map(str, args), "--weights", str(weights), "--backend", "onnx"])
    return code, err.getvalue()


@needs_ray
def test_same_outputs_as_the_local_command_and_a_bad_input_is_one_line(cluster, weights_dir, tmp_path):
    src = photos(tmp_path / "in", 4)
    (src / "sub").mkdir()
    Image.fromarray((grey(50, 70).astype(np.uint16) * 257)).save(src / "sub" / "deep.png")  # 16-bit
    rgba = np.dstack([np.repeat(grey(40, 60)[..., None], 3, 2), np.full((40, 60), 200, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(src / "alpha.png")
    Image.fromarray(np.dstack([grey(40, 60), grey(40, 60, 1), grey(40, 60, 2)])).save(src / "colour.jpg")
    (src / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    try:
        from test_video import make_clip
        make_clip(src / "clip.mp4", frames=6)
    except ImportError:  # no PyAV: photos only
        pass
    n = len(collect_inputs([src])[0])
    local, remote = tmp_path / "local", tmp_path / "remote"
    code_local, err_local = command(src, "-o", local, "-t", "0.35", weights=weights_dir)
    code, err = command(src, "-o", remote, "-t", "0.35", "--cluster", cluster[0], weights=weights_dir)
    assert code == code_local == 1, err
    bad = [line for line in err.splitlines() if "broken.jpg" in line]
    assert len(bad) == 1 and bad[0].startswith("colorize: ") and bad == [line for line in err_local.splitlines()
                                                                          if "broken.jpg" in line]
    assert f"{n - 1} colorized, 0 kept, 1 failed" in err
    names = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(remote).as_posix() for p in remote.rglob("*") if p.is_file())
    assert len(names) == n - 1 and not temps(remote)
    for name in names:
        if name.endswith(".mp4"):
            from test_video import probe
            assert probe(local / name)[0] == probe(remote / name)[0] == 6
            continue
        a, b = Image.open(local / name), Image.open(remote / name)
        assert (a.mode, a.size) == (b.mode, b.size), name
        diff = np.abs(np.asarray(a).astype(int) - np.asarray(b).astype(int))
        assert diff.max() <= 1, name


@needs_ray
def test_a_worker_killed_mid_run_still_gives_every_photo_once(cluster, weights_dir, tmp_path):
    from engine.cluster import run_on_cluster

    src = photos(tmp_path / "in", 14, size=(600, 800))
    out = tmp_path / "out"
    tasks, refused = plan(collect_inputs([src])[0], out, False, Settings())
    assert not refused
    killed, seen = [], []

    def progress(r):
        seen.append(r)
        if not killed:  # at the first result the workers are busy with the next photos
            busy = processes_in(cluster[1], "ray::ColorizeWorker.run") or processes_in(cluster[1], "ray::ColorizeWorker")
            assert busy, [Path(f"/proc/{p}/cmdline").read_bytes()[:60] for p in processes_in(cluster[1])]
            os.kill(busy[0], signal.SIGKILL)
            killed.append(busy[0])

    results = run_on_cluster(tasks, Settings(), weights_dir, backend="onnx", workers=2, progress=progress)
    assert killed and not alive(killed[0])  # it really died
    assert [r.task for r in results] == tasks and sorted(r.task.src for r in seen) == sorted(t.src for t in tasks)
    assert all(r.status == "done" for r in results), [(r.task.src.name, r.message) for r in results if r.status != "done"]
    assert sorted(p.name for p in out.iterdir()) == sorted(t.dst.name for t in tasks)  # no temp file, no extra
    for t in tasks:
        assert Image.open(t.dst).size == (800, 600)
        Image.open(t.dst).load()  # complete


@needs_ray
def test_a_rerun_after_an_interruption_does_only_what_is_left(cluster, weights_dir, tmp_path):
    from engine.cluster import run_on_cluster

    src = photos(tmp_path / "in", 10)
    out = tmp_path / "out"
    tasks, _ = plan(collect_inputs([src])[0], out, False, Settings())
    seen = []

    def interrupt(r):
        seen.append(r)
        if len(seen) == 3:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_on_cluster(tasks, Settings(), weights_dir, backend="onnx", workers=2, progress=interrupt)
    assert not temps(out)
    written = sorted(p.name for p in out.iterdir())
    assert 3 <= len(written) < 10
    # the real command, in its own process, joining the cluster by its address
    proc = subprocess.run([sys.executable, "-m", "engine.cli", str(src), "-o", str(out), "--cluster", cluster[0],
                           "--weights", str(weights_dir), "--backend", "onnx"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr
    # a call already running when the driver stopped may still finish its photo (whole, atomically)
    done, kept = map(int, re.search(r"(\d+) colorized, (\d+) kept, 0 failed", proc.stderr).groups())
    assert done + kept == 10 and kept >= len(written)
    assert len(list(out.iterdir())) == 10 and not temps(out)


@needs_ray
def test_workers_that_cannot_load_the_model_are_one_error(cluster, tmp_path):
    from engine import ColorizeError
    from engine.cluster import run_on_cluster

    src = photos(tmp_path / "in", 2)
    tasks, _ = plan(collect_inputs([src])[0], tmp_path / "out", False, Settings())
    with pytest.raises(ColorizeError, match=r"^the Ray workers cannot run: no weights at /nowhere"):
        run_on_cluster(tasks, Settings(), "/nowhere", backend="onnx", workers=2)
    assert not list((tmp_path / "out").iterdir())


def test_a_retry_counts_the_output_its_dead_attempt_claimed_as_done(weights_dir, tmp_path):
    """The worker's side of a retry, without Ray: the dead attempt's temporary file goes, and the
    output it had claimed before it died is this task's result, not someone else's."""
    from engine.cluster import ColorizeWorker

    src = photos(tmp_path / "in", 1) / "p00.jpg"
    out = tmp_path / "out"
    out.mkdir()
    worker = ColorizeWorker(str(weights_dir), "onnx", "auto", None, Settings())
    task = Task(src, out / "p00.jpg")
    [first] = worker.run([(task, False)])
    assert first.status == "done"
    dead = AtomicFile(out / "p00.jpg")  # a writer that died: its file is left, unlocked
    os.close(dead._fd)
    dead._fd = None
    assert worker.run([(task, False)])[0].status == "kept"  # a first attempt: the output was there
    [again] = worker.run([(task, True)])
    assert (again.status, again.code) == ("done", "") and not temps(out)


def test_ray_missing_is_one_line_and_exit_2(tmp_path, grey_photo):
    fake = tmp_path / "fake"
    (fake / "ray").mkdir(parents=True)
    (fake / "ray" / "__init__.py").write_text("raise ImportError('No module named ray (simulated)')\n")
    proc = subprocess.run([sys.executable, "-m", "engine.cli", str(grey_photo), "-o", str(tmp_path / "o.png"),
                           "--cluster"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=f"{fake}{os.pathsep}{ROOT}"))
    assert proc.returncode == 2 and proc.stderr.splitlines() == [NEEDS_RAY_LINE], proc.stderr
    assert not (tmp_path / "o.png").exists()


@needs_ray
@pytest.mark.parametrize("form", ["{}", "ray://{}"])
def test_a_wrong_address_is_one_line_exit_2_and_quick(form, weights_dir, grey_photo, tmp_path):
    address = form.format(f"127.0.0.1:{free_port()}")  # nothing listens there
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "engine.cli", str(grey_photo), "-o", str(tmp_path / "out/"),
                           "--cluster", address, "--weights", str(weights_dir), "--backend", "onnx"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"colorize: cannot reach a Ray cluster at {address}")
    assert time.monotonic() - start < 20 and not (tmp_path / "out").exists()


@needs_ray
def test_an_address_that_answers_but_is_no_ray_times_out(tmp_path):
    with socket.socket() as s:  # listens, never speaks Ray
        s.bind(("127.0.0.1", 0))
        s.listen()
        code = ("import sys\nfrom engine.cluster import connect\nfrom engine.errors import ColorizeError\n"
                f"try:\n    connect('127.0.0.1:{s.getsockname()[1]}', timeout=2)\n"
                "except ColorizeError as e:\n    print(e, file=sys.stderr)\n    sys.exit(2)\n")
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, RAY_AUTH_MODE="disabled"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith("no answer within 2 s")
    assert time.monotonic() - start < 30


@needs_ray
def test_a_node_leaving_mid_run_still_gives_every_photo_once(cluster, weights_dir, tmp_path):
    """Last: it takes the second node away for good (the module's cluster ends after it)."""
    from engine.cluster import run_on_cluster

    src = photos(tmp_path / "in", 12, size=(600, 800))
    out = tmp_path / "out"
    tasks, _ = plan(collect_inputs([src])[0], out, False, Settings())
    gone = []

    def progress(r):
        if not gone:
            node = max(cluster[1])  # the second node's session: its raylet, agents and worker
            gone.extend(processes_in({node}))
            for pid in gone:
                os.kill(pid, signal.SIGKILL)
    start = time.monotonic()
    results = run_on_cluster(tasks, Settings(), weights_dir, backend="onnx", workers=2, progress=progress)
    assert gone and not any(alive(p) for p in gone)
    assert [r.task for r in results] == tasks and all(r.status == "done" for r in results), \
        [(r.task.src.name, r.message) for r in results if r.status != "done"]
    assert sorted(p.name for p in out.iterdir()) == sorted(t.dst.name for t in tasks)
    print(f"node left: {time.monotonic() - start:.1f} s")
