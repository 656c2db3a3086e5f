"""The exchange proposer: requests as files, answers from files, resume, timeouts."""

import json
import threading

import pytest

from autocomp_exo.exitcodes import Exit
from autocomp_exo.cli import main
from autocomp_exo.llm.client import EndpointError
from autocomp_exo.llm.exchange import pending
from autocomp_exo.optimizer import optimize
from autocomp_exo.runs import atomic_write, load_run
from autocomp_exo.settings import EvaluationSettings, LLMSettings, SearchSettings, Settings
from fake_openai import FakeLLM
from search_fakes import ToyEvaluator, parse_toy, toy_code

START = toy_code(tile=4, value=42)


def settings(exchange_dir, iterations=2, timeout=20.0, proposer="exchange"):
    return Settings(
        proposer=proposer,
        search=SearchSettings(beam_width=1, plans_per_candidate=1, impls_per_plan=1,
                              iterations=iterations, patience=None),
        evaluation=EvaluationSettings(engine="inline"),
        llm=LLMSettings(exchange_dir=str(exchange_dir), exchange_poll=0.02,
                        exchange_timeout=timeout))


class Agent:
    """Answers every pending request the way the fake chat server would (a thread)."""

    def __init__(self, directory):
        self.dir = directory
        self.answered = []
        self.stop = threading.Event()
        self.model = FakeLLM(transient_every=0, impl_kinds=("double",))
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            if (self.dir / "requests").exists():
                for p in pending(self.dir):
                    data = json.loads(p.request.with_suffix(".json").read_text())
                    assert data["answer_file"] == str(p.answer)
                    atomic_write(p.answer, self.model.answer({"messages": data["messages"]}))
                    self.answered.append(p.request.name)
            self.stop.wait(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.model.server.server_close()


def test_an_agent_answering_files_drives_the_search(tmp_path):
    x = tmp_path / "x"
    with Agent(x) as agent:
        res = optimize(START, settings=settings(x), evaluator=ToyEvaluator(),
                       run_dir=tmp_path / "run")
    assert parse_toy(res.code)["tile"] == 16 and res.cycles == 625      # 4 -> 8 -> 16
    assert len(agent.answered) == 4                                    # 2 plans, 2 rewrites
    assert pending(x) == []
    first = sorted((x / "requests").glob("0001_plan_*.md"))[0]
    text = first.read_text()
    assert text.startswith("# autocomp-exo request 0001 (plan, sample 0)")
    assert str(x / "answers" / first.name) in text.split("========")[0]  # where, before the messages
    assert "CHOICE: <menu number>" in text.split("========")[0]
    assert "======== message 1 of 2 (role: system) ========" in text
    assert "======== message 2 of 2 (role: user) ========" in text
    twin = json.loads(first.with_suffix(".json").read_text())
    assert twin["messages"][1]["content"].strip() in text
    assert "exchange pending" in (x / "README.md").read_text()
    usage = res.usage["exchange/plan"]
    assert usage["calls"] == 2 and usage["prompt_tokens"] > 0          # counted like any model
    planners = {e["planner"] for e in load_run(tmp_path / "run")["events"]
                if e["event"] == "candidate"}
    assert planners == {"exchange:exchange"}


def test_a_restart_asks_only_what_is_unanswered(tmp_path):
    x = tmp_path / "x"
    with Agent(x):
        optimize(START, settings=settings(x, iterations=1), evaluator=ToyEvaluator(),
                 run_dir=tmp_path / "run")
    asked = sorted(p.name for p in (x / "requests").glob("*.md"))
    assert len(asked) == 2
    # the same run continued with more iterations: the first two come from the run's cache
    with Agent(x) as agent:
        optimize(START, settings=settings(x, iterations=2), evaluator=ToyEvaluator(),
                 run_dir=tmp_path / "run")
    assert len(agent.answered) == 2 and not set(agent.answered) & set(asked)
    # a new run directory (no LLM cache) on the same exchange directory: the answers on
    # disk are read again, nothing new is asked
    res = optimize(START, settings=settings(x, iterations=2), evaluator=ToyEvaluator(),
                   run_dir=tmp_path / "other")
    assert len(list((x / "requests").glob("*.md"))) == 4 and res.cycles == 625


def test_no_answer_stops_the_run_with_an_error_naming_the_directory(tmp_path):
    x = tmp_path / "x"
    with pytest.raises(EndpointError, match="exchange directory") as info:
        optimize(START, settings=settings(x, iterations=4, timeout=0.05), evaluator=ToyEvaluator(),
                 run_dir=tmp_path / "run")
    assert str(x) in str(info.value) and "no answer" in str(info.value)
    assert load_run(tmp_path / "run")["status"]["state"] == "failed"


def test_the_pending_command_lists_waiting_requests(tmp_path, capsys):
    x = tmp_path / "x"
    with pytest.raises(EndpointError):
        optimize(START, settings=settings(x, iterations=4, timeout=0.05), evaluator=ToyEvaluator())
    assert main(["exchange", "pending", str(x)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out and out[0].startswith("0001 plan") and " -> " in out[0]
    assert out[0].endswith(".md") and "/answers/0001_plan_" in out[0]
    assert main(["exchange", "pending", str(tmp_path / "nothing")]) == Exit.INPUT


def test_exchange_without_a_directory_is_a_config_error():
    from gemmini.errors import ConfigError
    s = Settings(proposer="exchange", evaluation=EvaluationSettings(engine="inline"))
    with pytest.raises(ConfigError, match="exchange-dir"):
        optimize(START, settings=s, evaluator=ToyEvaluator())
