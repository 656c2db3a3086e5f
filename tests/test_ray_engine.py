"""The Ray engine on a local Ray instance (2 CPUs): the same search results as the process
engine, a worker killed mid-task retried without losing a result, timeouts and crashes."""

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from autocomp_exo import gemm_algorithm, map_to_gemmini, optimize
from autocomp_exo.runs import read_jsonl
from autocomp_exo.search.ray_engine import RayEngine, connect
from autocomp_exo.search.service import EvalService
from search_fakes import ToyEvaluator, toy_code, toy_values

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def ray_env(tmp_path_factory):
    """Ray's session files under a temporary directory; no token file in the home
    directory (a local instance for this test only)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_TMPDIR", str(tmp_path_factory.mktemp("ray")))
        mp.setenv("RAY_AUTH_MODE", "disabled")
        yield


@pytest.fixture(scope="module")
def local_ray(ray_env):
    """One local Ray instance (2 CPUs) for the tests that do not start their own."""
    connect(workers=2)
    yield
    ray.shutdown()


SMALL = {"search": {"iterations": 2, "beam_width": 2, "plans_per_candidate": 2, "seed": 3},
         "evaluation": {"workers": 2}}


def test_ray_and_process_engines_find_the_same_code(tmp_path):
    proc = map_to_gemmini(gemm_algorithm(32, 32, 32))
    results = {}
    for engine in ("process", "ray"):
        settings = {**SMALL, "evaluation": {**SMALL["evaluation"], "engine": engine}}
        results[engine] = optimize(proc, settings=settings, run_dir=tmp_path / engine,
                                   progress=False)
    assert not ray.is_initialized()          # the engine's own local instance is shut down
    p, r = results["process"], results["ray"]
    assert r.cycles < r.start_cycles
    assert (r.cycles, r.code, r.recipe_items, r.samples, r.trajectory) == \
        (p.cycles, p.code, p.recipe_items, p.samples, p.trajectory)
    logged = {rec["key"]: rec["cycles"] for rec in read_jsonl(tmp_path / "ray" / "evals.jsonl")}
    assert logged == {rec["key"]: rec["cycles"]
                      for rec in read_jsonl(tmp_path / "process" / "evals.jsonl")}


@dataclass
class KilledOnce(ToyEvaluator):
    """A toy evaluator whose ``victim`` program, the first time, records its worker's pid
    and waits to be killed."""
    directory: str = ""

    def evaluate(self, item):
        d = Path(self.directory)
        if toy_values(self.normalize(item)[0]).get("victim") and not (d / "killed").exists():
            (d / "victim.pid").write_text(str(os.getpid()))
            time.sleep(120)
        return super().evaluate(item)


def test_a_worker_killed_mid_task_is_retried_and_nothing_is_lost(local_ray, tmp_path):
    killed = []

    def killer():
        pid_file = tmp_path / "victim.pid"
        for _ in range(600):
            if pid_file.exists() and pid_file.read_text():
                (tmp_path / "killed").touch()
                pid = int(pid_file.read_text())
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.1)

    items = [toy_code(tile=4, value=42), toy_code(tile=8, value=42, victim=1),
             toy_code(tile=16, value=42)]
    ev = KilledOnce(directory=str(tmp_path))
    service = EvalService(ev, RayEngine(ev, timeout=120), tmp_path / "evals.jsonl")
    thread = threading.Thread(target=killer)
    thread.start()
    try:
        out = service.evaluate_many(items)
    finally:
        thread.join()
        service.close()
    assert killed and killed[0] != os.getpid()
    assert [e.result.cycles for e in out] == [10000 // 4, 10000 // 8, 10000 // 16]
    assert sorted(rec["cycles"] for rec in read_jsonl(tmp_path / "evals.jsonl")) == \
        [625, 1250, 2500]


def test_a_stuck_program_times_out_and_a_crashing_one_fails_after_its_retries(local_ray):
    engine = RayEngine(ToyEvaluator(), timeout=3.0, retries=1)
    try:
        out = engine.run([toy_code(tile=4, value=42), toy_code(tile=4, value=42, hang=1),
                          toy_code(tile=16, value=42)])
        assert [r.error_kind for r in out] == [None, "timeout", None]
        assert out[2].cycles == 10000 // 16
        engine.timeout = 120.0                # a restart on a busy machine takes seconds
        crash, fine = engine.run([toy_code(tile=8, value=42, crash=1),
                                  toy_code(tile=2, value=42)])
        assert crash.error_kind == "crash" and fine.cycles == 5000
        assert engine.killed == 2
    finally:
        engine.close()
    assert ray.is_initialized()              # a connection made before is left open


def test_flags_choose_the_engine_and_the_cluster():
    from autocomp_exo import cli
    args = cli._parser().parse_args(["optimize", "k.py:f", "--engine", "ray",
                                     "--ray-address", "10.0.0.1:6379", "--workers", "8"])
    ev = cli._settings(args).evaluation
    assert (ev.engine, ev.ray_address, ev.workers) == ("ray", "10.0.0.1:6379", 8)


def test_without_ray_installed_the_error_says_how_to_get_it(monkeypatch):
    from autocomp_exo.search.engine import make_engine
    from gemmini.errors import ConfigError
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match=r"autocomp-exo\[ray\]"):
        make_engine(ToyEvaluator(), "ray")
