"""The LLM client and proposer against a local fake OpenAI-compatible server."""

import json

import pytest

from autocomp_exo.llm.budget import BudgetExceeded
from autocomp_exo.llm.cache import LLMCache
from autocomp_exo.llm.client import LLMClient, LLMError
from autocomp_exo.llm.extract import extract_code, parse_choice
from autocomp_exo.optimizer import optimize
from autocomp_exo.runs import load_run
from autocomp_exo.settings import (EvaluationSettings, LLMSettings, ModelSettings,
                                   SearchSettings, Settings)
from fake_openai import FakeLLM
from search_fakes import ToyEvaluator, parse_toy, toy_code

MSG = [{"role": "user", "content": "## Optimization menu\n3. x\n\nChoose exactly one optimization"}]


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-test")


def model(srv, name="m1"):
    return ModelSettings(name=name, base_url=srv.base_url, api_key_env="FAKE_KEY")


def client(srv=None, sleeps=None, cache=None, timeout=10.0, **kw):
    s = LLMSettings(timeout=timeout, retries=3, backoff_base=0.01, backoff_max=2.0, **kw)
    return LLMClient(s, cache=cache, sleep=(sleeps.append if sleeps is not None else None)
                     or (lambda x: None))


def forced(srv, mode):
    """Make the next request of any key fail once with ``mode``."""
    srv.transient = lambda key, _m=[mode]: _m.pop() if _m else None


@pytest.mark.parametrize("mode", ["429", "500", "timeout", "badjson"])
def test_transient_failures_are_retried(mode):
    with FakeLLM(transient_every=0, hang_seconds=3.0) as srv:
        forced(srv, mode)
        waits = []
        c = client(srv, sleeps=waits, timeout=1.5 if mode == "timeout" else 10.0)
        got = c.complete(model(srv), MSG, phase="plan", seed=1)
        assert got.text.startswith("CHOICE: 3") and not got.cached
        assert len(srv.log) == 2 and len(waits) == 1
        if mode == "429":
            assert waits == [0.2]                 # Retry-After honoured
        c.close()


def test_retries_exhausted_is_an_llm_error():
    with FakeLLM(transient_every=0) as srv:
        srv.transient = lambda key: "500"
        waits = []
        c = client(srv, sleeps=waits)
        with pytest.raises(LLMError, match="m1"):
            c.complete(model(srv), MSG, phase="plan")
        assert len(srv.log) == 4                  # 1 + 3 retries
        assert waits[2] > waits[0]                # backoff doubles (jitter at most halves)
        c.close()


def test_cache_makes_repeats_free_and_keys_on_sample(tmp_path):
    path = tmp_path / "cache.jsonl"
    with FakeLLM(transient_every=0) as srv:
        c = client(srv, cache=LLMCache(path))
        a = c.complete(model(srv), MSG, phase="plan", sample=0, seed=7)
        b = c.complete(model(srv), MSG, phase="plan", sample=1, seed=7)
        assert len(srv.log) == 2 and a.key != b.key
        c.close()
        c2 = client(srv, cache=LLMCache(path))
        again = c2.complete(model(srv), MSG, phase="plan", sample=0, seed=7)
        assert again.cached and again.text == a.text and len(srv.log) == 2
        t = c2.usage.total()
        assert t.cached_calls == 1 and t.tokens == 150
        c2.close()


def test_token_budget_and_price_table():
    with FakeLLM(transient_every=0) as srv:
        c = client(srv, max_tokens_total=400)
        m = model(srv)
        for i in range(3):
            c.complete(m, MSG, phase="plan", sample=i)
        with pytest.raises(BudgetExceeded, match="token budget"):
            c.complete(m, MSG, phase="implement", sample=9)
        assert len(srv.log) == 3
        c.close()
        priced = ModelSettings(name="p", base_url=srv.base_url, api_key_env="FAKE_KEY",
                               usd_per_mtok_in=1000.0, usd_per_mtok_out=2000.0)
        c = client(srv, max_usd=0.25)
        c.complete(priced, MSG, phase="plan")          # 0.1 + 0.1 = $0.2
        c.complete(priced, MSG, phase="plan", sample=1)
        with pytest.raises(BudgetExceeded, match=r"\$0.25"):
            c.complete(priced, MSG, phase="plan", sample=2)
        assert c.usage.to_json()["p/plan"]["usd"] == pytest.approx(0.4)
        c.close()


def test_missing_api_key_is_a_config_error(monkeypatch):
    from gemmini.errors import ConfigError
    monkeypatch.delenv("NOPE_KEY", raising=False)
    c = client()
    with pytest.raises(ConfigError, match="NOPE_KEY"):
        c.complete(ModelSettings(name="x", api_key_env="NOPE_KEY"), MSG, phase="plan")


@pytest.mark.parametrize("text,code", [
    ("blah\n```c\nvoid f() {\n  x();\n}\n```\nok", "void f() {\n  x();\n}\n"),
    ("```\nnotes\n```\n```c\nvoid g(int a) { if (a) { b(); } }\n```",
     "void g(int a) { if (a) { b(); } }\n"),
    ("Here:\nvoid h(int8_t A[2]) {\n  for (;;) { }\n}\ntrailing",
     "void h(int8_t A[2]) {\n  for (;;) { }\n}\n"),
    ("no code at all", None), ("", None), ("void broken( {", None),
    ("<think>```c\nvoid draft() {}\n```</think>final:\n```c\nvoid f() {}\n```", "void f() {}\n"),
    ("<think>maybe void g() { }</think>no code", None)])
def test_extract_code(text, code):
    assert extract_code(text) == code


@pytest.mark.parametrize("text,allowed,want", [
    ("CHOICE: 7\nTile more", [3, 7], 7), ("choice = **12**", [12], 12),
    ("I pick menu item 3 because", [3, 5], 3), ("CHOICE: 9", [3, 5], None),
    ("5. Simplify the arithmetic", [5], 5), ("nothing", [1], None),
    ("<think>CHOICE: 3</think>CHOICE: 5", [3, 5], 5)])
def test_parse_choice(text, allowed, want):
    assert parse_choice(text, allowed) == want


def llm_settings(srv, **search):
    return Settings(
        proposer="llm",
        search=SearchSettings(**{"beam_width": 2, "plans_per_candidate": 2,
                                 "impls_per_plan": 3, "iterations": 5, **search}),
        evaluation=EvaluationSettings(engine="inline"),
        llm=LLMSettings(models=(model(srv, "m1"), model(srv, "m2")), timeout=1.0, retries=4,
                        backoff_base=0.01, backoff_max=0.5, concurrency=8))


def test_whole_loop_through_http_with_every_failure_mode(tmp_path):
    with FakeLLM(transient_every=3, hang_seconds=1.5) as srv:
        res = optimize(toy_code(tile=4, value=42), settings=llm_settings(srv),
                       evaluator=ToyEvaluator(), run_dir=tmp_path / "run")
        modes = {e["mode"] for e in srv.log}
    assert {"429", "500", "timeout", "badjson"} <= modes
    best = parse_toy(res.code)
    assert best["value"] == 42 and best["tile"] == 64 and res.cycles == 156
    assert res.speedup == pytest.approx(2500 / 156)
    run = load_run(tmp_path / "run")
    kinds = {e.get("error_kind") for e in run["events"] if e["event"] == "candidate"}
    assert {"parse", "wrong", "slower", "hardware"} <= kinds
    rewrites = [e for e in run["events"] if e["event"] == "rewrite"]
    assert any(not e["has_code"] for e in rewrites)          # responses without code
    assert any(e["repair_round"] == 1 for e in rewrites)     # repairs were fed back
    planners = {e["planner"] for e in rewrites}
    assert planners == {"llm:m1", "llm:m2"}
    assert run["status"]["state"] == "finished"
    assert set(res.usage) >= {"m1/plan", "m2/plan", "m1/implement", "m2/implement"}
    call = next(e for e in run["events"] if e["event"] == "llm_call")
    assert call["messages"][1]["content"] and call["response"]
    assert json.loads((tmp_path / "run" / "lineage.json").read_text())["nodes"]


def test_optimize_with_a_missing_api_key_fails_at_once(monkeypatch):
    from gemmini.errors import ConfigError
    monkeypatch.delenv("NOPE_KEY", raising=False)
    s = Settings(proposer="llm", evaluation=EvaluationSettings(engine="inline"),
                 llm=LLMSettings(models=(ModelSettings(name="x", api_key_env="NOPE_KEY"),)))
    with pytest.raises(ConfigError, match="NOPE_KEY"):
        optimize(toy_code(tile=4, value=42), settings=s, evaluator=ToyEvaluator())
