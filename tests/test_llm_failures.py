"""The bugs on the LLM path of issue 16, one test each (each failed before the fix):
an outage that looked like "no improvement", resumes that repaid LLM calls, timed-out
prompts sent six times, failed attempts not counted, and a budget overshot by
concurrent calls."""

import json
import socket
import threading

import pytest

from autocomp_exo.cli import main
from autocomp_exo.exitcodes import Exit
from autocomp_exo.llm.client import EndpointError, LLMClient
from autocomp_exo.optimizer import optimize
from autocomp_exo.runs import load_run
from autocomp_exo.settings import (EvaluationSettings, LLMSettings, ModelSettings,
                                   SearchSettings, Settings)
from fake_openai import FakeLLM
from search_fakes import ToyEvaluator, toy_code

MSG = [{"role": "user", "content": "## Optimization menu\n3. x\n\nChoose exactly one optimization"}]


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-test")


def dead_url() -> str:
    """A local port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/v1"


def llm_settings(base_url, *, iterations=3, **llm):
    return Settings(
        proposer="llm",
        search=SearchSettings(beam_width=2, plans_per_candidate=2, impls_per_plan=2,
                              iterations=iterations, patience=None),
        evaluation=EvaluationSettings(engine="inline"),
        llm=LLMSettings(**{"models": (ModelSettings(name="m1", base_url=base_url,
                                                    api_key_env="FAKE_KEY"),),
                           "timeout": 2.0, "retries": 1, "backoff_base": 0.01,
                           "backoff_max": 0.05, **llm}))


def test_an_outage_stops_the_run_with_an_error_naming_the_endpoint(tmp_path):
    url = dead_url()
    with pytest.raises(EndpointError) as info:
        optimize(toy_code(tile=4, value=42), settings=llm_settings(url),
                 evaluator=ToyEvaluator(), run_dir=tmp_path / "run")
    message = str(info.value)
    assert url in message and "m1" in message and "\n" not in message
    assert "3 calls in a row" in message and "Connection" in message
    assert info.value.result.cycles == 2500 and info.value.result.stop_reason.startswith(
        "aborted: LLM endpoint")
    run = load_run(tmp_path / "run")
    assert run["status"]["state"] == "failed" and url in run["status"]["error"]
    assert run["best"]["cycles"] == 2500                   # results so far are saved
    assert run["status"]["usage"]["m1/plan"]["failed_calls"] >= 3
    assert run["llm_failures"]["failed_calls"] >= 3


def test_an_outage_exits_non_zero_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    url = dead_url()
    settings = tmp_path / "s.toml"
    settings.write_text("[llm]\nretries = 0\nmax_consecutive_failures = 2\n")
    code = main(["quickstart", "--run-dir", str(tmp_path / "run"), "--settings", str(settings),
                 "--proposer", "llm", "--model", "m9", "--base-url", url,
                 "--engine", "inline", "--iterations", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == Exit.ENDPOINT
    errors = [line for line in err if line.startswith("autocomp-exo: error:")]
    assert len(errors) == 1 and url in errors[0] and "m9" in errors[0]
    assert not any("Traceback" in line for line in err)
    assert load_run(tmp_path / "run")["best"]["cycles"] > 0
    assert main(["runs", "show", str(tmp_path / "run")]) == 0
    shown = capsys.readouterr().out
    assert "LLM failures" in shown and "calls failed" in shown


def test_resuming_with_more_iterations_repays_no_plan_call(tmp_path):
    def plan_calls(run_dir):
        return sum(1 for e in load_run(run_dir)["events"]
                   if e["event"] == "llm_call" and e["phase"] == "plan")
    with FakeLLM(transient_every=0) as srv:
        url = srv.base_url
        optimize(toy_code(tile=4, value=42), settings=llm_settings(url, iterations=1),
                 evaluator=ToyEvaluator(), run_dir=tmp_path / "a")
        optimize(toy_code(tile=4, value=42), settings=llm_settings(url, iterations=2),
                 evaluator=ToyEvaluator(), run_dir=tmp_path / "a")      # resume, T = 2
        optimize(toy_code(tile=4, value=42), settings=llm_settings(url, iterations=2),
                 evaluator=ToyEvaluator(), run_dir=tmp_path / "fresh")
    assert plan_calls(tmp_path / "fresh") > 0
    assert plan_calls(tmp_path / "a") == plan_calls(tmp_path / "fresh")


def model(srv):
    return ModelSettings(name="m1", base_url=srv.base_url, api_key_env="FAKE_KEY")


def test_a_timed_out_prompt_is_sent_at_most_twice():
    with FakeLLM(transient_every=0, hang_seconds=1.0) as srv:
        srv.transient = lambda key: "timeout"
        c = LLMClient(LLMSettings(timeout=0.3, retries=5, backoff_base=0.01),
                      sleep=lambda s: None)
        got = c.complete_many(model(srv), MSG, 1, phase="plan", seeds=[1])
        assert isinstance(got[0], Exception)
        assert len(srv.log) == 2                    # the first try and one retry, not 6
        c.close()


def test_failed_attempts_count_the_tokens_the_endpoint_reports():
    with FakeLLM(transient_every=0) as srv:
        modes = ["nocontent"]
        srv.transient = lambda key: modes.pop() if modes else None
        c = LLMClient(LLMSettings(retries=2, backoff_base=0.01), sleep=lambda s: None)
        c.complete(model(srv), MSG, phase="plan")
        t = c.usage.total()
        assert len(srv.log) == 2
        assert t.tokens == 300 and t.failed_attempts == 1 and t.calls == 1
        c.close()


def test_concurrent_calls_overshoot_the_token_budget_by_at_most_one_call():
    with FakeLLM(transient_every=0, delay=0.2) as srv:    # each call: 100 + 50 tokens
        c = LLMClient(LLMSettings(max_tokens_total=400, concurrency=8), sleep=lambda s: None)
        got = c.complete_many(model(srv), MSG, 8, phase="plan", seeds=list(range(8)))
        done = [g for g in got if not isinstance(g, Exception)]
        assert c.usage.total().tokens <= 400 + 150
        assert len(srv.log) == len(done) <= 3
        c.close()


def test_a_failure_streak_is_broken_by_a_success():
    with FakeLLM(transient_every=0) as srv:
        fail = threading.Event()
        fail.set()
        srv.transient = lambda key: "500" if fail.is_set() else None
        c = LLMClient(LLMSettings(retries=0, max_consecutive_failures=3), sleep=lambda s: None)
        m = model(srv)
        for i in range(2):
            assert isinstance(c.complete_many(m, MSG, 1, phase="plan", seeds=[i])[0], Exception)
        fail.clear()
        c.complete(m, MSG, phase="plan", sample=5)
        fail.set()
        for i in range(2):
            c.complete_many(m, MSG, 1, phase="plan", seeds=[10 + i])
        with pytest.raises(EndpointError, match="3 calls in a row"):
            c.complete(m, MSG, phase="plan", sample=20)
        assert json.dumps(c.usage.to_json())
        c.close()
