"""docs/calibration.md: its numbers, the published targets and the current defaults agree."""

import dataclasses
import json

import pytest

from gemmini.config import TimingParams, get_config
from tools import calibrate

PUBLISHED = json.loads(calibrate.PUBLISHED.read_text())


@pytest.fixture(scope="module")
def doc():
    if not calibrate.DOC.exists():
        pytest.fail("docs/calibration.md is missing: run python -m tools.calibrate")
    return calibrate.read_doc_data()


def test_doc_parameters_are_the_defaults(doc):
    defaults = TimingParams()
    for f in dataclasses.fields(TimingParams):
        assert doc["params"][f.name] == getattr(defaults, f.name), f.name


def test_published_ratios_in_doc_come_from_the_data_file(doc):
    for shape, row in PUBLISHED["gemm"].items():
        u, h, f = row["exo_unoptimized"], row["exo_hand_optimized"], row["hardware_fsm"]
        want = {"unopt/FSM": u / f, "hand/FSM": h / f, "hand/unopt": h / u}
        for k, v in want.items():
            assert doc["published"][shape][k] == pytest.approx(v)


def test_doc_covers_both_families_on_18_ratios(doc):
    assert set(doc["ratios"]) == set(calibrate.FAMILIES)
    for fam, rows in doc["ratios"].items():
        assert len(rows) == 6 and all(len(r) == 3 for r in rows.values()), fam


def test_doc_ratios_follow_from_its_cycles(doc):
    for fam, rows in doc["ratios"].items():
        for shape, ratios in rows.items():
            c = doc["cycles"][f"gemm_{shape}"]
            u, h, f = c["exo_unoptimized"], c[fam], c["hardware_fsm"]
            assert ratios["unopt/FSM"] == pytest.approx(f / u)
            assert ratios["hand/FSM"] == pytest.approx(f / h)
            assert ratios["hand/unopt"] == pytest.approx(u / h)
            for k, r in ratios.items():
                assert doc["errors"][fam][shape][k] == pytest.approx(
                    r / doc["published"][shape][k] - 1)


def test_doc_statistics_follow_from_its_errors(doc):
    for fam, st in doc["stats"].items():
        errs = [abs(e) for row in doc["errors"][fam].values() for e in row.values()]
        assert st["mean"] == pytest.approx(sum(errs) / len(errs))
        assert st["max"] == pytest.approx(max(errs))
        # a family that misses the goal is reported as missing it
        text = calibrate.DOC.read_text()
        if st["mean"] > calibrate.GOAL_MEAN or st["max"] > calibrate.TOLERANCE:
            assert "MISSES" in text


def test_spearman_by_hand():
    assert calibrate.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert calibrate.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (1,2,3,4) vs (2,1,4,3): 1 - 6 * 4 / (4 * 15) = 0.6
    assert calibrate.spearman([1, 2, 3, 4], [2, 1, 4, 3]) == pytest.approx(0.6)


def test_ordering_holds_for_every_workload_of_each_family(doc):
    assert len(doc["order_ok"]["exo_hand_optimized"]) == 9
    for fam, rows in doc["order_ok"].items():
        for name in rows:
            c = doc["cycles"][name]
            assert c["exo_unoptimized"] > c[fam] > c["hardware_fsm"], (fam, name)


def test_timing_only_path_matches_the_model():
    """The cheap search path gives exactly gemmini.model.run's cycles."""
    from lowering.generators import fsm, vendor_lib
    from lowering.suite import gemm
    from gemmini import model

    cfg = get_config("int8_16")
    spec = gemm(64, 64, 64)
    for fn in (vendor_lib.vendor_baseline(spec, cfg), fsm.fsm_baseline(spec, cfg)):
        inputs = calibrate.zero_inputs(fn)
        want = model.run(fn, inputs, cfg).report.cycles
        assert calibrate.TimedProgram(fn).cycles(cfg) == want
        slow_cfg = cfg.with_timing(cpu_issue=12, mem_latency=100)
        assert calibrate.TimedProgram(fn).cycles(slow_cfg) == \
            model.run(fn, inputs, slow_cfg).report.cycles


@pytest.mark.slow
def test_doc_matches_what_the_defaults_give(doc):
    """Recompute every ratio with the current defaults and the doc's judge (minutes)."""
    from lowering.suite import SUITE

    cfg = get_config("int8_16")
    params = {k: getattr(cfg.timing, k) for k in calibrate.SEARCH_SPACE}
    programs = calibrate.load_programs(SUITE, cfg, compiler=calibrate.judge_compiler("compiled"),
                                       placement=calibrate.load_placement())
    ev = calibrate.evaluate(programs, params, cfg, calibrate.published_ratios())
    assert ev.cycles == doc["cycles"]


def test_timing_only_path_with_the_compiled_judge_matches_the_model():
    from benchmarks.sample_programs import basic_gemm
    from gemmini import model
    from lowering.riscv import cpu_cost_hook

    cfg = get_config("int8_16")
    compiler = calibrate.judge_compiler("compiled")
    fn = basic_gemm(32, 64, 128)
    inputs = calibrate.zero_inputs(fn)
    program = calibrate.TimedProgram(fn, compiler)
    for c in (cfg, cfg.with_timing(core_rocc=3, core_mispredict=5)):
        want = model.run(fn, inputs, c, cpu_cost=cpu_cost_hook(fn, inputs, c)).report.cycles
        assert program.cycles(c) == want
