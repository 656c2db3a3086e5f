"""Run directories: kill-and-resume, budget stops, crash-safe files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autocomp_exo.optimizer import optimize
from autocomp_exo.runs import JsonlWriter, atomic_write, load_run, read_jsonl
from autocomp_exo.search.lineage import Lineage
from fake_openai import FakeLLM
from search_fakes import ToyEvaluator, parse_toy, toy_code
from toy_run import settings as toy_settings

HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-test")


def run_toy(base_url, run_dir, engine="inline", kill_after=None, srv=None):
    cmd = [sys.executable, str(HERE / "toy_run.py"), base_url, str(run_dir), engine]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    if kill_after is None:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])
    deadline = time.time() + 60
    while len(srv.log) < kill_after and time.time() < deadline and p.poll() is None:
        time.sleep(0.01)
    assert p.poll() is None, "the run finished before it could be killed"
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    return None


def segments(events):
    out = []
    for e in events:
        if e["event"] == "run_start":
            out.append([])
        out[-1].append(e)
    return out


def test_kill_and_resume_repeats_nothing_and_loses_nothing(tmp_path):
    # no timeouts here (test_llm_client covers them): a slow machine must not change results
    with FakeLLM(transient_every=5, delay=0.02, transient_modes=("429", "500", "badjson")) as srv:
        ref = optimize(toy_code(tile=2, value=42), settings=toy_settings(srv.base_url),
                       evaluator=ToyEvaluator())        # uninterrupted, in-process, inline
        reference = {"cycles": ref.cycles, "trajectory": ref.trajectory,
                     "recipe": ref.recipe_items, "code": ref.code}
        n_ref = len(srv.log)
        srv.log.clear()
        run_toy(srv.base_url, tmp_path / "run", "process", kill_after=n_ref // 2, srv=srv)
        before = len(srv.log)
        resumed = run_toy(srv.base_url, tmp_path / "run", "process")
        after = len(srv.log) - before
    assert resumed == reference                     # same best, trajectory and recipe
    events = list(read_jsonl(tmp_path / "run" / "events.jsonl"))
    first, second = segments(events)
    calls = [e["key"] for e in events if e["event"] == "llm_call"]
    assert len(calls) == len(set(calls)), "a finished LLM call was repeated"
    sims = [e["key"] for e in events if e["event"] == "simulated"]
    assert len(sims) == len(set(sims)), "a finished evaluation was repeated"
    # The resumed session continues after the last iteration the killed one saved (its
    # calls and evaluations are not needed again); from there on every finished call and
    # evaluation comes from the run's caches (none is repeated: asserted above).
    (restored,) = [e for e in second if e["event"] == "restored"]
    assert 1 <= restored["iteration"] < len(reference["trajectory"]) - 1
    replayed = {e["key"] for e in second if e["event"] in ("llm_call", "llm_cache_hit")}
    done_before = {e["key"] for e in first if e["event"] == "llm_call"}
    assert done_before and not any(e["event"] == "llm_call" and e["key"] in done_before
                                   for e in second)
    assert replayed, "the resumed session made no requests at all"
    sim_before = {e["key"] for e in first if e["event"] == "simulated"}
    assert sim_before and not {e["key"] for e in second if e["event"] == "simulated"} & sim_before
    # fewer HTTP requests after the kill than a full run needs
    assert after < n_ref
    run = load_run(tmp_path / "run")
    assert run["status"]["state"] == "finished" and run["best"]["cycles"] == reference["cycles"]


def test_budget_stop_leaves_a_complete_run_directory(tmp_path):
    import dataclasses
    with FakeLLM(transient_every=0) as srv:
        s = toy_settings(srv.base_url)
        s = dataclasses.replace(s, llm=dataclasses.replace(s.llm, max_tokens_total=3000))
        res = optimize(toy_code(tile=2, value=42), settings=s, evaluator=ToyEvaluator(),
                       run_dir=tmp_path / "run")
        requests = len(srv.log)
    assert res.stop_reason.startswith("budget")
    total = sum(u["prompt_tokens"] + u["completion_tokens"] for u in res.usage.values())
    assert 3000 <= total <= 3000 + 150 * 4           # overshoot at most `concurrency` calls
    assert requests * 150 == total
    run = load_run(tmp_path / "run")
    assert run["status"]["state"] == "finished" and "budget" in run["status"]["stop_reason"]
    assert run["best"]["cycles"] == res.cycles < res.start_cycles
    assert parse_toy(run["best_code"])["value"] == 42
    assert run["config"]["llm"]["max_tokens_total"] == 3000
    lineage = Lineage.from_json(run["lineage"])
    assert res.recipe and lineage.graph.number_of_nodes() >= len(res.recipe) + 1
    assert run["beams"] and run["beams"][-1][0]["cycles"] == res.cycles
    written = res.write(tmp_path / "out")
    assert all(p.exists() for p in written)
    assert "#ifndef TOY_H" in written[1].read_text()


def test_jsonl_torn_line_is_repaired(tmp_path):
    path = tmp_path / "log.jsonl"
    w = JsonlWriter(path)
    w.append({"a": 1})
    w.close()
    with open(path, "a") as f:
        f.write('{"a": 2, "b"')                      # a kill mid-append
    assert [r["a"] for r in read_jsonl(path)] == [1]
    w = JsonlWriter(path)
    w.append({"a": 3})
    w.close()
    assert [r["a"] for r in read_jsonl(path)] == [1, 3]


def test_atomic_write_replaces_whole_files(tmp_path):
    p = tmp_path / "x" / "f.json"
    atomic_write(p, "one")
    atomic_write(p, "two")
    assert p.read_text() == "two" and os.listdir(p.parent) == ["f.json"]


def test_load_run_rejects_a_non_run(tmp_path):
    from autocomp_exo.runs import RunDirError     # an input error (exit 3), not an OSError
    with pytest.raises(RunDirError, match="not a run directory"):
        load_run(tmp_path)
