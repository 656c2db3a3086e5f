"""A bug inside a transformation is not a legality refusal: `apply` lets it propagate;
the built-in proposer (the search's boundary) logs it with the transformation's name,
counts it as "crashed" and goes on; the run's stats report the count."""

from __future__ import annotations

import logging

import pytest

from autocomp_exo.proposers.base import Candidate, Feedback
from autocomp_exo.proposers.builtin import BuiltinProposer
from autocomp_exo.prompts.builder import load_menu
from autocomp_exo.transforms import TRANSFORMS, NotApplicable, apply
from autocomp_exo.transforms.base import Transform, app
from gemmini.config import get_config
from transforms_support import basic_gemm


def _find(fn, cfg):
    return [app("boom", (0,), "crash on the first statement")]


def _apply_index_error(fn, a, cfg):
    return fn.body[len(fn.body) + 5]          # a bug: IndexError


def _apply_refuses(fn, a, cfg):
    raise NotApplicable("not here")


@pytest.fixture
def boom(monkeypatch):
    t = Transform("boom", ("hoist",), "a transformation with a bug", _find, _apply_index_error)
    monkeypatch.setitem(TRANSFORMS, "boom", t)
    return t


def test_apply_lets_a_bug_propagate(boom):
    fn = basic_gemm(16, 64, 64)
    with pytest.raises(IndexError):
        apply(fn, _find(fn, None)[0], get_config())


def test_apply_refusal_is_not_applicable(monkeypatch):
    monkeypatch.setitem(TRANSFORMS, "boom", Transform("boom", ("hoist",), "refuses", _find,
                                                      _apply_refuses))
    fn = basic_gemm(16, 64, 64)
    with pytest.raises(NotApplicable):
        apply(fn, _find(fn, None)[0], get_config())


def test_the_builtin_proposer_logs_and_counts_a_crash_and_goes_on(boom, caplog):
    fn = basic_gemm(16, 64, 64)
    fb = Feedback(cycles=10_000, utilization=0.3, sp_kib_used=10.0, sp_kib_total=256.0,
                  acc_kib_used=1.0, acc_kib_total=64.0, bound="load")
    cand = Candidate(id="c0", fn=fn, code="", cycles=10_000, feedback=fb)
    prop = BuiltinProposer()
    with caplog.at_level(logging.WARNING, logger="autocomp_exo.proposers.builtin"):
        plans = prop.plan(cand, load_menu("gemm"), 4, iteration=1, total_iterations=2, seed=0)
    assert plans and all(p.data["transform"] != "boom" for p in plans)
    assert prop.stats["boom"]["crashed"] == 1 and prop.stats["boom"]["illegal"] == 0
    (record,) = [r for r in caplog.records if "boom" in r.getMessage()]
    assert "IndexError" in record.getMessage() and record.exc_info is not None
    caplog.clear()                 # expected here: keep conftest's crash guard quiet


def test_a_search_survives_a_crashing_transformation_and_reports_it(boom, caplog, tmp_path):
    from autocomp_exo.evaluation import ModelEvaluator
    from autocomp_exo.optimizer import optimize
    from autocomp_exo.runs import read_jsonl
    from autocomp_exo.settings import EvaluationSettings, SearchSettings, Settings
    from lowering import suite as workloads
    from lowering.workload import Workload
    w = Workload.from_spec(workloads.gemm(64, 64, 64))
    s = Settings(search=SearchSettings(iterations=1, beam_width=1, plans_per_candidate=2,
                                       impls_per_plan=1, dropout=0.0),
                 evaluation=EvaluationSettings(engine="inline"))
    res = optimize(w.mapped_c().c_text, settings=s,
                   evaluator=ModelEvaluator.for_workload(w, kinds=("uniform",)),
                   run_dir=tmp_path / "run")
    assert res.cycles <= res.start_cycles
    (end,) = [e for e in read_jsonl(tmp_path / "run" / "events.jsonl")
              if e["event"] == "search_end"]
    assert end["proposer_stats"]["boom"]["crashed"] >= 1
    assert any("boom" in r.getMessage() for r in caplog.records)
    caplog.clear()
