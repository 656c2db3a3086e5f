"""Evaluation engines: run `Evaluator.evaluate` on many programs, in order.

* `InlineEngine`: in this process, one after another (tests, debugging).
* `ProcessEngine`: in worker processes (fresh interpreters); a program that
  runs longer than the time limit gets its worker killed (terminate, then kill)
  and replaced, and comes back as a ``timeout`` failure; a worker that dies
  comes back as a ``crash`` failure.

* `RayEngine` (`search.ray_engine`, the optional ``ray`` extra): as Ray tasks on a
  cluster or a local Ray instance.

Engines are pluggable: anything with ``run(items) -> list[EvalResult]`` and
``close()`` works.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Protocol

from autocomp_exo.search.evaluator import CRASH, TIMEOUT, EvalResult, Evaluator, failure


class Engine(Protocol):
    def run(self, items: list) -> list[EvalResult]: ...

    def close(self) -> None: ...


class InlineEngine:
    """Evaluate in the calling process (no time limit)."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator

    def run(self, items: list) -> list[EvalResult]:
        out = []
        for item in items:
            try:
                out.append(self.evaluator.evaluate(item))
            except Exception as e:  # noqa: BLE001 - an evaluator bug fails one candidate
                out.append(failure(CRASH, f"{type(e).__name__}: {e}"))
        return out

    def close(self) -> None:
        pass


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:   # the search was killed: do not linger
            os._exit(0)


def worker_main(conn: Connection, parent: int) -> None:
    """Body of a worker process: receive the evaluator, then evaluate until told to stop."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    try:
        evaluator = conn.recv()
    except EOFError:
        return
    conn.send(("ready", None))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        task_id, item = msg
        try:
            result = evaluator.evaluate(item)
        except Exception as e:  # noqa: BLE001
            result = failure(CRASH, f"{type(e).__name__}: {e}")
        conn.send((task_id, result))


class _Worker:
    """One worker: a fresh interpreter (``python -m autocomp_exo.search.worker``).

    Unlike multiprocessing's ``spawn``, this never re-runs the caller's ``__main__``,
    so ``optimize()`` works from a plain script without an ``if __name__`` guard.
    The child gets the parent's ``sys.path`` so that pickled objects resolve there too.
    """

    def __init__(self, evaluator):
        ours, theirs = socket.socketpair()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autocomp_exo.search.worker", str(theirs.fileno()),
             str(os.getpid())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)
        theirs.close()
        self.conn = Connection(ours.detach())
        self.conn.send(evaluator)
        self.ready = False
        self.task: int | None = None
        self.deadline = 0.0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(1.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5.0)
        self.conn.close()


class ProcessEngine:
    """A pool of spawned worker processes with a per-program time limit (seconds)."""

    def __init__(self, evaluator: Evaluator, workers: int = 2, timeout: float = 300.0,
                 start_timeout: float = 120.0):
        self.evaluator = evaluator
        self.n = max(1, workers)
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.workers: list[_Worker] = []
        self.killed = 0
        self.start_failures = 0

    def _spawn(self) -> _Worker:
        w = _Worker(self.evaluator)
        w.deadline = time.monotonic() + self.start_timeout
        return w

    def run(self, items: list) -> list[EvalResult]:
        results: list[EvalResult | None] = [None] * len(items)
        pending = list(range(len(items)))[::-1]
        while len(self.workers) < min(self.n, len(items)):
            self.workers.append(self._spawn())
        while pending or any(w.task is not None for w in self.workers):
            for w in self.workers:
                if w.ready and w.task is None and pending:
                    i = pending.pop()
                    w.task, w.deadline = i, time.monotonic() + self.timeout
                    w.conn.send((i, items[i]))
            now = time.monotonic()
            waiting = [w.deadline for w in self.workers if w.task is not None or not w.ready]
            wait_for = max(0.0, min(waiting) - now) if waiting else 1.0
            ready = wait([w.conn for w in self.workers], timeout=min(wait_for, 1.0) + 0.01)
            for w in list(self.workers):
                if w.conn in ready:
                    try:
                        tag, value = w.conn.recv()
                    except (EOFError, OSError):
                        self._replace(w, results, CRASH, "evaluation worker died")
                        continue
                    if tag == "ready":
                        w.ready = True
                    else:
                        results[tag], w.task = value, None
                elif time.monotonic() > w.deadline and (w.task is not None or not w.ready):
                    self._replace(w, results, TIMEOUT,
                                  f"evaluation took longer than {self.timeout:g} s; stopped")
        return [r if r is not None else failure(CRASH, "no result") for r in results]

    def _replace(self, w: _Worker, results, kind: str, message: str) -> None:
        if not w.ready:
            self.start_failures += 1
            if self.start_failures > 3:
                raise RuntimeError("evaluation workers fail to start (see their stderr)")
        if w.task is not None:
            results[w.task] = failure(kind, message)
        w.kill()
        self.killed += 1
        self.workers[self.workers.index(w)] = self._spawn()

    def close(self) -> None:
        for w in self.workers:
            try:
                w.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for w in self.workers:
            try:
                w.proc.wait(2.0)
            except subprocess.TimeoutExpired:
                pass
            w.kill()
        self.workers = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def make_engine(evaluator: Evaluator, kind: str = "process", workers: int = 2,
                timeout: float = 300.0, address: str | None = None) -> Engine:
    """An engine by name: ``process``, ``inline`` or ``ray`` (``address``: the Ray
    cluster's, None for a local instance with ``workers`` CPUs)."""
    if kind == "inline":
        return InlineEngine(evaluator)
    if kind == "process":
        return ProcessEngine(evaluator, workers=workers, timeout=timeout)
    if kind == "ray":
        from autocomp_exo.search.ray_engine import RayEngine   # ray is an optional extra
        return RayEngine(evaluator, address=address, workers=workers, timeout=timeout)
    from gemmini.errors import ConfigError
    raise ConfigError(f"unknown evaluation engine {kind!r} (known: process, inline, ray)")
