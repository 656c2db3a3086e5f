"""search.seed_baselines: optimize() never returns code slower than the workload's loop-FSM
and vendor-library programs (they join the first beam, checked like any rewrite)."""

import pytest

from autocomp_exo import gemm_algorithm, map_to_gemmini, optimize
from autocomp_exo.baselines import baseline_programs, workload_baselines
from autocomp_exo.evaluation import ModelEvaluator
from autocomp_exo.runs import read_jsonl
from autocomp_exo.settings import Settings
from lowering import suite
from lowering.parser import parse_head
from lowering.workload import Workload

SHORT = {"search": {"iterations": 1, "beam_width": 2, "plans_per_candidate": 2,
                    "impls_per_plan": 1}, "evaluation": {"engine": "inline"}}


def _baselines(workload):
    ev = ModelEvaluator.from_settings(workload, Settings().evaluation)
    found = workload_baselines(workload, Settings().evaluation.gemmini, ev)
    assert set(found) == {"vendor_lib", "hardware_fsm"}
    return found


@pytest.mark.parametrize("M,N,K", [(64, 64, 64), (32, 48, 80), (128, 32, 64)])
def test_gemm_result_is_never_slower_than_the_fsm_or_the_vendor_library(M, N, K):
    proc = map_to_gemmini(gemm_algorithm(M, N, K))
    result = optimize(proc, settings=SHORT, progress=False)
    base = _baselines(Workload.from_spec(suite.gemm(M, N, K)))
    assert result.cycles <= min(base.values()) < result.start_cycles


def test_conv_result_is_never_slower_than_the_baselines_and_fits_the_header(tmp_path):
    workload = Workload.from_spec(suite.conv(1, 16, 16, 16))
    ev = ModelEvaluator.from_settings(workload, Settings().evaluation)
    exo = workload.mapped_c()
    result = optimize(exo.c_text, settings=SHORT, evaluator=ev, workload=workload,
                      run_dir=tmp_path / "run", progress=False)
    base = _baselines(workload)
    assert result.cycles <= min(base.values())
    assert result.recipe_items[0] in base           # it started from a baseline's program
    assert result.fn.name == exo.name               # named as Exo's header declares it
    events = [e for e in read_jsonl(tmp_path / "run" / "events.jsonl")
              if e["event"] == "candidate" and e["iteration"] == 0]
    assert {e["plan_item"] for e in events} == {"vendor_lib", "hardware_fsm"}
    assert all(e["ok"] for e in events)


def test_paper_setting_searches_from_exo_only():
    proc = map_to_gemmini(gemm_algorithm(64, 64, 64))
    settings = {**SHORT, "search": {**SHORT["search"], "seed_baselines": False}}
    result = optimize(proc, settings=settings, progress=False)
    assert not {"vendor_lib", "hardware_fsm"} & set(result.recipe_items)


@pytest.mark.slow
@pytest.mark.parametrize("spec", suite.SUITE, ids=lambda s: s.name)
def test_every_suite_workload_gets_both_seeds(spec):
    """The guarantee above holds on the suite only if the vendor-library and FSM programs
    of each of the nine workloads fit Exo's header (else they are not seeded)."""
    workload = Workload.from_spec(spec)
    head = parse_head(workload.mapped_c().c_text)
    programs = dict(baseline_programs(workload, Settings().evaluation.gemmini))
    assert set(programs) == {"vendor_lib", "hardware_fsm"}
    for fn in programs.values():
        assert (fn.context, fn.params) == (head.context, head.params)
