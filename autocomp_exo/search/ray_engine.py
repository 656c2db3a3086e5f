"""The Ray engine: evaluate programs as Ray tasks, on a cluster or on a local Ray instance.

Only evaluation leaves the driver: planning, LLM calls, deduplication and every write to
the run directory stay where the search runs, so the run directory is still the one
record (a result is written when it comes back; a lost task is evaluated again).

* One actor per CPU of the cluster holds the evaluator and evaluates one program at a
  time. An actor that dies (killed, out of memory, node lost) is restarted by Ray and
  its program evaluated again, up to ``retries`` times; after that the program comes
  back as a ``crash`` failure and the actor is replaced.
* A program running longer than ``timeout`` seconds (counted from when it is handed to
  a started actor, restarts included) gets its actor killed and replaced, and comes
  back as a ``timeout`` failure.

Results come back in the order of the items, whatever order the tasks finish in, so a
seeded search finds the same programs on this engine as on the process engine.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from autocomp_exo.search.evaluator import CRASH, TIMEOUT, EvalResult, Evaluator, failure
from gemmini.errors import ConfigError

INSTALL_HINT = "pip install 'autocomp-exo[ray]'"


def _evaluate(evaluator: Evaluator, item) -> EvalResult:
    try:
        return evaluator.evaluate(item)
    except Exception as e:  # noqa: BLE001 - an evaluator bug fails one candidate
        return failure(CRASH, f"{type(e).__name__}: {e}")


class _Evaluation:
    """Body of an evaluation actor (made a Ray actor by `RayEngine`)."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator

    def ready(self) -> bool:
        return True

    def evaluate(self, item) -> EvalResult:
        return _evaluate(self.evaluator, item)


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(f"engine ray needs the ray package ({INSTALL_HINT})") from None
    return ray


def connect(address: str | None = None, workers: int = 2) -> None:
    """Join the Ray cluster at ``address``, or start a local instance with ``workers``
    CPUs whose workers import our modules from this interpreter's ``sys.path``."""
    ray = _ray()
    kw = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        if address:
            ray.init(address=address, **kw)
        else:
            path = os.pathsep.join(p for p in sys.path if p)
            ray.init(num_cpus=workers, runtime_env={"env_vars": {"PYTHONPATH": path}}, **kw)
    except ConnectionError as e:
        raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {e}") from None


def _last_line(e: Exception) -> str:
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return lines[-1] if lines else type(e).__name__


def _package_version() -> str:
    from autocomp_exo import __version__
    return __version__


class _Slot:
    """One Ray actor holding the evaluator, and the program it is evaluating."""

    def __init__(self, actor_class, evaluator_ref, start_timeout: float):
        self.actor = actor_class.remote(evaluator_ref)
        self.ready_ref = self.actor.ready.remote()
        self.ready = False
        self.deadline = time.monotonic() + start_timeout
        self.task: int | None = None
        self.ref = None


class RayEngine:
    """Evaluate on Ray: join the cluster at ``address`` (``ray start --head`` prints it;
    ``"auto"`` finds a cluster started on this machine) or, with None, start a local Ray
    instance with ``workers`` CPUs. A Ray connection made before (``ray.init``) is used as
    it is and left open by `close`. One actor per CPU of the cluster holds the evaluator;
    a program's clock starts when it is handed to a started actor."""

    def __init__(self, evaluator: Evaluator, address: str | None = None, workers: int = 2,
                 timeout: float = 300.0, retries: int = 3, start_timeout: float = 300.0):
        self.ray = ray = _ray()
        self.timeout = timeout
        self.start_timeout = start_timeout
        self._owns = not ray.is_initialized()
        if self._owns:
            connect(address, workers)
        self.n = max(1, int(ray.cluster_resources().get("CPU", workers)))
        self._evaluator = ray.put(evaluator)
        self._actor = ray.remote(num_cpus=1, max_restarts=retries,
                                 max_task_retries=retries)(_Evaluation)
        self.slots: list[_Slot] = []
        self.killed = 0
        self.start_failures = 0
        self._check_version()

    def _check_version(self) -> None:
        """The cluster must run the driver's version of this package (unpickling needs it)."""
        try:
            theirs = self.ray.get(self.ray.remote(num_cpus=0)(_package_version).remote())
        except self.ray.exceptions.RayError as e:
            raise ConfigError("the Ray workers cannot import autocomp-exo (install the "
                              f"driver's version on every node): {_last_line(e)}") from None
        ours = _package_version()
        if theirs != ours:
            raise ConfigError(f"the Ray workers run autocomp-exo {theirs}, the driver {ours}: "
                              "install the same version on every node")

    def _new_slot(self) -> _Slot:
        return _Slot(self._actor, self._evaluator, self.start_timeout)

    def run(self, items: list) -> list[EvalResult]:
        ray = self.ray
        results: list[EvalResult | None] = [None] * len(items)
        pending = list(range(len(items)))[::-1]
        while len(self.slots) < min(self.n, len(items)):
            self.slots.append(self._new_slot())
        while pending or any(s.task is not None for s in self.slots):
            for s in self.slots:
                if s.ready and s.task is None and pending:
                    s.task = pending.pop()
                    s.ref = s.actor.evaluate.remote(items[s.task])
                    s.deadline = time.monotonic() + self.timeout
            waiting = {(s.ref if s.ready else s.ready_ref): s for s in self.slots
                       if s.task is not None or not s.ready}
            wait_for = max(0.0, min(s.deadline for s in waiting.values()) - time.monotonic())
            done, _ = ray.wait(list(waiting), num_returns=len(waiting),
                               timeout=min(wait_for, 1.0) + 0.01)
            for ref in done:
                self._finish(waiting[ref], results)
            now = time.monotonic()
            for s in list(self.slots):
                if (s.task is not None or not s.ready) and now > s.deadline:
                    self._replace(s, results, TIMEOUT, f"evaluation took longer than "
                                                       f"{self.timeout:g} s; stopped")
        return [r if r is not None else failure(CRASH, "no result") for r in results]

    def _finish(self, s: _Slot, results) -> None:
        RayError = self.ray.exceptions.RayError
        if not s.ready:
            try:
                self.ray.get(s.ready_ref)
                s.ready = True
            except RayError:
                self._replace(s, results, CRASH, "evaluation actor failed to start")
            return
        try:
            results[s.task] = self.ray.get(s.ref)
            s.task = s.ref = None
        except RayError as e:          # the actor died more often than it was restarted
            self._replace(s, results, CRASH, f"evaluation worker died ({type(e).__name__})")

    def _replace(self, s: _Slot, results, kind: str, message: str) -> None:
        if not s.ready:
            self.start_failures += 1
            if self.start_failures > 3:
                raise ConfigError("Ray evaluation actors fail to start (see the Ray logs; "
                                  "is the same autocomp-exo installed on every node?)")
        if s.task is not None:
            results[s.task] = failure(kind, message)
        self.ray.kill(s.actor, no_restart=True)
        self.killed += 1
        self.slots[self.slots.index(s)] = self._new_slot()

    def close(self) -> None:
        for s in self.slots:
            self.ray.kill(s.actor, no_restart=True)
        self.slots = []
        if self._owns and self.ray.is_initialized():
            self.ray.shutdown()
        self._owns = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
