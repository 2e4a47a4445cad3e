"""The cluster path: the same one-file job (engine/job.py `run`) on a pool of Ray workers.

Each worker is a Ray actor that loads one Colorizer once and then runs whole tasks (a photo, or a
whole video) handed to it in small batches, two calls queued per worker so it never waits for the
driver. The driver keeps the books: every task gets exactly one Result, in the order of `tasks`.

Every photo exactly once, even when a worker dies (kill -9, out of memory, its node leaving):
- outputs are written atomically (engine/media.py): a killed writer leaves at most a locked
  temporary file, never a partial output, and the kernel drops its lock when it dies;
- Ray restarts a dead worker (max_restarts), but never replays a call by itself
  (max_task_retries=0): the driver resubmits the tasks of a lost call itself, marked as retries,
  so it knows which attempt a result comes from;
- a retry first removes unlocked temporary files beside its output; without overwrite, an output
  that exists on a retry was claimed (by a hard link, once) by the attempt that died before it
  could report: it counts as done. With overwrite the retry replaces it atomically with the same
  pixels. Either way one complete file, and one Result;
- a task whose worker dies `attempts` times (a photo that kills it every time) fails with one line;
- at the end, and on Ctrl-C, the driver removes the unlocked temporary files left in the output
  folders. A rerun keeps what exists (plan()), so it does only what is not done.

Paths must mean the same file on every node (a shared or network file system); they are made
absolute before they leave the driver. `colorize` must be installed on every node.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from threading import Thread

from .errors import ColorizeError
from .job import Result, Task, describe_error, run
from .media import TEMP_PREFIX, remove_stale_temps
from .settings import Settings

NEEDS_RAY = "the cluster path needs Ray: pip install 'colorize[cluster]'"
DEPTH = 2             # calls queued per worker: the next batch is there when one ends
MAX_BATCH = 4         # photos per call at most; smaller near the end so that the tail is shared
ATTEMPTS = 3          # a task whose worker dies this many times fails
MAX_RESTARTS = 8      # Ray restarts a dead worker this many times
STALL_S = 300.0       # no worker alive for this long: the remaining tasks fail

_started = False      # whether connect() started or joined the Ray runtime (disconnect() ends it)


def require_ray():
    """The ray module; ColorizeError (one line: what to install) when the extra is missing."""
    try:
        import ray
    except ImportError:
        raise ColorizeError(NEEDS_RAY, "options") from None
    return ray


def _probe(address: str, timeout: float) -> None:
    """Refuse quickly, in one line, an address where nothing answers (Ray itself waits minutes)."""
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ColorizeError(f"--cluster {address}: give 'auto', host:port of a Ray head (GCS, default port "
                            "6379) or ray://host:10001", "options")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=min(timeout, 5.0)).close()
    except OSError as e:
        raise ColorizeError(f"cannot reach a Ray cluster at {address}: {e.strerror or e}", "options") from None


def connect(address: str | None = None, workers: int | None = None, timeout: float = 30.0) -> None:
    """Join the Ray cluster at `address` ("auto", "host:port" or "ray://host:10001"), or start a local
    one with `workers` CPUs when address is None; ColorizeError (one line) if that fails within
    `timeout` seconds. Nothing happens if Ray is already initialised by the caller."""
    global _started
    ray = require_ray()
    if ray.is_initialized():
        return
    if address not in (None, "", "auto", "local"):
        _probe(address, timeout)
    kwargs = dict(logging_level=logging.ERROR, log_to_driver=False, configure_logging=True)
    if address in (None, "", "local"):
        kwargs.update(num_cpus=max(1, workers or 1), include_dashboard=False)
    else:
        kwargs["address"] = address
    outcome: list = []

    def init():
        try:
            ray.init(**kwargs)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            outcome.append(e)
    if "address" in kwargs:  # joining: Ray may wait minutes for an address that never answers
        thread = Thread(target=init, daemon=True, name="ray-connect")
        thread.start()
        thread.join(timeout)
    else:  # starting: in this thread, as the processes it starts die with the thread that made them
        init()
    where = "a local Ray cluster" if "address" not in kwargs else f"the Ray cluster at {address}"
    if not outcome:
        raise ColorizeError(f"cannot connect to {where}: no answer within {timeout:g} s", "options")
    if outcome[0] is not None:
        first = (str(outcome[0]).strip().splitlines() or [type(outcome[0]).__name__])[0][:200]
        if "Could not find any running Ray instance" in first:
            first = "no Ray cluster runs on this machine (start one with `ray start --head`, or give its address)"
        raise ColorizeError(f"cannot connect to {where}: {first}", "options")
    _started = True


def disconnect() -> None:
    """Leave (or stop, if it was started here) the Ray runtime that connect() opened."""
    global _started
    if _started:
        _started = False
        require_ray().shutdown()


class ColorizeWorker:
    """One Ray worker: one Colorizer, loaded once, running whole tasks by engine.job.run."""

    def __init__(self, weights, backend: str, device: str, working_size, settings: Settings,
                 max_pixels: int | None = None):
        from .colorizer import Colorizer
        from .imageio import set_max_pixels

        if max_pixels:
            set_max_pixels(max_pixels)
        self.colorizer = Colorizer(weights, backend=backend, device=device, working_size=working_size)
        self.settings = settings

    def describe(self) -> dict:
        """Where it runs and on what: the driver's sign that it is ready (its model is loaded)."""
        return {"pid": os.getpid(), "host": socket.gethostname(), "backend": self.colorizer.backend,
                "device": self.colorizer.device, "model": self.colorizer.bundle.meta.get("version")}

    def run(self, batch: list[tuple[Task, bool]]) -> list[Result]:
        """Each (task, retry) of the batch, in order; retry: an earlier attempt's worker died."""
        results = []
        for task, retry in batch:
            if retry:
                remove_stale_temps(task.dst.parent)  # the dead attempt's temporary file, unlocked now
            r = run(self.colorizer, task, self.settings)
            if retry and r.code == "exists" and not self.settings.overwrite:
                r = Result(task, "done")  # claimed by the attempt that died before it could report
            results.append(r)
        return results


def _absolute(tasks: list[Task], settings: Settings) -> tuple[list[Task], Settings]:
    """The tasks and settings with every path absolute: a worker's working folder is not ours."""
    tasks = [Task(Path(os.path.abspath(t.src)), Path(os.path.abspath(t.dst)), t.video) for t in tasks]
    if isinstance(settings.hints, (str, os.PathLike)):
        settings = replace(settings, hints=Path(os.path.abspath(settings.hints)))
    if isinstance(settings.reference, (str, os.PathLike)):
        settings = replace(settings, reference=Path(os.path.abspath(settings.reference)))
    return tasks, settings


def _default_workers(ray) -> tuple[int, float]:
    """(workers, GPUs each): one per GPU where Ray reports GPUs, else one per node."""
    gpus = int(ray.cluster_resources().get("GPU", 0))
    if gpus:
        return gpus, 1.0
    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1]
    return max(1, len(nodes)), 0.0


def run_on_cluster(tasks: list[Task], settings: Settings, weights=None, *, address: str | None = None,
                   workers: int | None = None, backend: str = "auto", device: str = "auto",
                   working_size: int | None = None, max_pixels: int | None = None, progress=None,
                   connect_timeout: float = 30.0, attempts: int = ATTEMPTS) -> list[Result]:
    """Run engine.job.run for every task on Ray workers; one Result per task, in the order of tasks.

    tasks and settings are what engine.job.plan() and the command give (their paths must be on a
    file system every node sees); weights a folder every node sees, or None for each node's shipped
    model. address: see connect() (None starts a local cluster of `workers` workers), unless Ray is
    already initialised. workers: how many (default: one per GPU, else one per node). progress(result)
    is called on this machine as each result arrives. A result with code "output-folder" stops the
    run: the calls under way finish, no more start, and the tasks never started get no Result.
    Raises ColorizeError (code "options") when Ray is missing, the cluster cannot be reached or no
    worker can load the model."""
    ray = require_ray()
    if not tasks:
        return []
    own = not ray.is_initialized()
    if own:
        connect(address, workers, connect_timeout)
    originals = list(tasks)
    tasks, settings = _absolute(originals, settings)
    weights = weights or os.environ.get("COLORIZE_WEIGHTS") or None
    weights = None if weights is None else os.path.abspath(weights)
    folders = {t.dst.parent for t in tasks}
    try:
        n, gpus = _default_workers(ray)
        n = min(workers or n, len(tasks))
        actor = ray.remote(ColorizeWorker).options(
            num_cpus=1, num_gpus=gpus, max_restarts=MAX_RESTARTS, max_task_retries=0,
            scheduling_strategy="SPREAD")
        pool = [actor.remote(weights, backend, device, working_size, settings, max_pixels) for _ in range(n)]
        try:
            return _drive(ray, pool, tasks, originals, progress, attempts)
        except BaseException:  # Ctrl-C, or the driver told to stop: the workers stop with it
            for a in pool:
                try:
                    ray.kill(a, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            _sweep(folders, wait=3.0)
            raise
    finally:
        if own:
            disconnect()
        _sweep(folders)


def _sweep(folders, wait: float = 0.0) -> None:
    """Remove the temporary files that dead workers left in the output folders; a live writer's
    file is locked and stays. With `wait`, keep trying that long for workers that are dying."""
    deadline = time.monotonic() + wait
    while True:
        left = 0
        for folder in folders:
            remove_stale_temps(folder)
            try:
                left += sum(e.name.startswith(TEMP_PREFIX) for e in os.scandir(folder))
            except OSError:
                pass
        if not left or time.monotonic() >= deadline:
            return
        time.sleep(0.1)


def _drive(ray, pool, tasks, originals, progress, attempts) -> list[Result]:
    from ray.exceptions import RayActorError, RayError, RayTaskError

    results: list[Result | None] = [None] * len(tasks)
    tries = [0] * len(tasks)
    # videos first: each is one long unit, better started early than left for the end
    queue = deque(sorted(range(len(tasks)), key=lambda i: not tasks[i].video))
    calls: dict = {}              # ref -> (actor, [task indices])
    pings: dict = {}              # ref -> actor, for workers starting or restarted
    failures = {a: 0 for a in pool}
    healthy: list = []
    load_errors: list[str] = []
    stop = False
    idle_since = time.monotonic()

    for a in pool:
        pings[a.describe.remote()] = a

    def finish(i: int, r: Result) -> None:
        results[i] = replace(r, task=originals[i])
        if progress is not None:
            progress(results[i])

    def submit(a) -> None:
        in_flight = sum(1 for b, _ in calls.values() if b is a)
        while queue and in_flight < DEPTH and not stop:
            size = max(1, min(MAX_BATCH, len(queue) // (max(1, len(healthy)) * DEPTH * 2)))
            batch = [queue.popleft()]
            alone = tasks[batch[0]].video or tries[batch[0]] > 0  # a retry too: one bad photo fails alone
            while not alone and len(batch) < size and queue and not tasks[queue[0]].video and not tries[queue[0]]:
                batch.append(queue.popleft())
            ref = a.run.remote([(tasks[i], tries[i] > 0) for i in batch])
            calls[ref] = (a, batch)
            in_flight += 1

    while (queue and not stop) or calls:
        if not healthy and not pings and not calls:  # every worker is gone
            why = load_errors[0] if load_errors else "every Ray worker died"
            if not any(results):
                raise ColorizeError(f"the Ray workers cannot run: {why}", "options")
            for i in queue:
                finish(i, Result(tasks[i], "failed", "error", f"no Ray worker left to run it ({why})"))
            break
        ready, _ = ray.wait(list(calls) + list(pings), num_returns=1, timeout=5.0)
        if not ready:
            if not healthy and time.monotonic() - idle_since > STALL_S:
                for i in queue:
                    finish(i, Result(tasks[i], "failed", "error", f"no Ray worker could start or stay alive "
                                     f"for {STALL_S:g} s (is the cluster full?)"))
                queue.clear()
                stop = True
                pings.clear()
            continue
        ref = ready[0]
        if ref in pings:
            a = pings.pop(ref)
            try:
                ray.get(ref)
                failures[a] = 0
                healthy.append(a)
                submit(a)
            except RayError as e:
                failures[a] += 1
                cause = (str(getattr(e, "cause", None) or e).strip().splitlines() or ["?"])[-1][:200]
                if "ColorizeError: " in cause or failures[a] > MAX_RESTARTS:
                    load_errors.append(cause.split("ColorizeError: ", 1)[-1])  # cannot load the model,
                    # or out of restarts: let it go
                else:
                    pings[a.describe.remote()] = a
            continue
        a, batch = calls.pop(ref)
        try:
            for i, r in zip(batch, ray.get(ref)):
                finish(i, r)
                stop = stop or r.code == "output-folder"
            submit(a)
        except RayTaskError as e:  # a bug in a worker, not a death: the same would happen again
            for i in batch:
                finish(i, Result(tasks[i], "failed", *describe_error(e.as_instanceof_cause())))
            submit(a)
        except (RayActorError, RayError):  # the worker died (or vanished with its node) mid-call
            for i in reversed(batch):
                tries[i] += 1
                if tries[i] >= attempts:
                    finish(i, Result(tasks[i], "failed", "error", f"its Ray worker died {tries[i]} times while "
                                     "running it (out of memory? killed?)"))
                else:
                    queue.appendleft(i)  # again, alone and first: a retry is not kept waiting
            if a in healthy:
                healthy.remove(a)
                if not healthy:
                    idle_since = time.monotonic()
                pings[a.describe.remote()] = a
            for b in healthy:
                submit(b)
    return [r for r in results if r is not None]
