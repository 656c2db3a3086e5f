"""The built-in proposer: protocol, determinism, menu honouring, plan form, rewrites."""

import json
import re

import pytest

from autocomp_exo.prompts.builder import load_menu
from autocomp_exo.proposers.base import Candidate, Feedback, MenuItem, Plan, Proposer
from autocomp_exo.proposers.builtin import BuiltinProposer
from autocomp_exo.transforms import TRANSFORMS
from transforms_support import basic_gemm, check_gemm

M, N, K = 32, 128, 128
MENU = [MenuItem(m.number, m.key, f"Menu text of {m.key}.") for m in load_menu("gemm")]


def candidate(fn, bound="load", sp_used=10.0):
    fb = Feedback(cycles=10_000, utilization=0.3, sp_kib_used=sp_used, sp_kib_total=256.0,
                  acc_kib_used=1.0, acc_kib_total=64.0, bound=bound)
    return Candidate(id="c0", fn=fn, code="", cycles=10_000, feedback=fb)


@pytest.fixture(scope="module")
def cand():
    return candidate(basic_gemm(M, N, K))


def test_implements_the_protocol():
    assert isinstance(BuiltinProposer(), Proposer)


def test_plans_are_deterministic_for_a_seed(cand):
    a = BuiltinProposer().plan(cand, MENU, 6, iteration=0, total_iterations=8, seed=11)
    b = BuiltinProposer().plan(cand, MENU, 6, iteration=0, total_iterations=8, seed=11)
    assert [p.data for p in a] == [p.data for p in b]
    c = BuiltinProposer().plan(cand, MENU, 6, iteration=0, total_iterations=8, seed=12)
    assert len(a) == 6 and [p.data for p in a] != [p.data for p in c]


def test_plans_are_distinct_and_honour_the_menu(cand):
    offered = ("unroll", "keep_in_scratchpad", "distinct_locations")
    menu = [m for m in MENU if m.key in offered]
    plans = BuiltinProposer().plan(cand, menu, 6, iteration=0, total_iterations=8, seed=1)
    assert plans
    assert len({json.dumps(p.data, sort_keys=True) for p in plans}) == len(plans)
    for p in plans:
        assert p.menu_item in offered
        assert p.menu_item in TRANSFORMS[p.data["transform"]].menu


def test_plan_text_has_the_llm_form(cand):
    plans = BuiltinProposer().plan(cand, MENU, 3, iteration=0, total_iterations=8, seed=2)
    for p in plans:
        assert re.match(rf"Menu item {p.menu_item}: Menu text of {p.menu_item}\. "
                        r"Concretely: ", p.text)
        assert p.proposer == "builtin"
        json.dumps(p.data)      # JSON-serializable


def test_empty_menu_slice_gives_no_plans(cand):
    menu = [MenuItem(17, "other", "Anything else.")]
    assert BuiltinProposer().plan(cand, menu, 4, iteration=0, total_iterations=8, seed=0) == []


def test_implement_gives_correct_distinct_rewrites(cand):
    prop = BuiltinProposer()
    plans = prop.plan(cand, MENU, 6, iteration=0, total_iterations=8, seed=3)
    rewrites = set()
    for p in plans:
        rws = prop.implement(cand, p, 2, seed=0)
        assert 1 <= len(rws) <= 2
        assert len({rw.fn for rw in rws}) == len(rws)         # distinct within a plan
        assert {rw.fn for rw in rws} - rewrites, p.text        # something no earlier plan gave
        rewrites |= {rw.fn for rw in rws}
        for rw in rws:
            assert rw.fn is not None and rw.code and rw.error is None
            assert rw.fn != cand.fn
            check_gemm(rw.fn, M, N, K)
    # (two plans may tidy up to the same first rewrite, e.g. a hoisted declaration and a
    # precomputed base, but each brings at least one rewrite of its own)


def test_rewrite_code_parses_back_to_the_ir(cand):
    from lowering.parser import parse_c
    prop = BuiltinProposer()
    p = prop.plan(cand, MENU, 1, iteration=0, total_iterations=8, seed=4)[0]
    rw = prop.implement(cand, p, 1, seed=0)[0]
    assert parse_c(rw.code) == rw.fn


def test_foreign_plan_is_mapped_to_its_menu_item(cand):
    prop = BuiltinProposer()
    plan = Plan(menu_item="keep_in_scratchpad", text="Keep B in the scratchpad.",
                proposer="llm")
    rws = prop.implement(cand, plan, 2, seed=0)
    assert rws and all(rw.fn is not None for rw in rws)
    counts = check_gemm(rws[0].fn, M, N, K)
    assert counts["mvin3"] < (M // 16) * (N // 64) * (K // 64) * 4 or \
        counts["mvin2"] < (M // 16) * (N // 64) * (K // 64)


def test_foreign_plan_without_any_applicable_rewrite_reports_an_error(cand):
    rws = BuiltinProposer().implement(cand, Plan("other", "Anything.", "llm"), 2, seed=0)
    assert len(rws) == 1 and rws[0].code is None and rws[0].error


def test_feedback_steers_the_choice():
    """CPU-bound candidates get more CPU-side rewrites than load-bound ones."""
    fn = basic_gemm(M, N, K)
    cpu_side = {name for name, t in TRANSFORMS.items() if t.tags == ("cpu",)}
    assert {"unroll", "unroll_nest", "strength", "const_prop"} <= cpu_side

    def share(bound):
        n = 0
        for seed in range(3):
            for p in BuiltinProposer().plan(candidate(fn, bound), MENU, 6, iteration=0,
                                            total_iterations=8, seed=seed):
                n += p.data["transform"] in cpu_side
        return n

    assert share("cpu") > share("load")


def test_stats_record_tries_and_rejections(cand):
    prop = BuiltinProposer()
    prop.plan(cand, MENU, 4, iteration=0, total_iterations=8, seed=5)
    assert prop.stats
    for name, d in prop.stats.items():
        assert name in TRANSFORMS
        assert d["illegal"] <= d["tried"]
    rates = prop.rejection_rates()
    assert all(0.0 <= r <= 1.0 for r in rates.values())


def test_loop_ws_is_off_by_default_and_offered_when_enabled(cand):
    menu = [m for m in MENU if m.key in ("faster_equivalent", "other")]
    off = BuiltinProposer().plan(cand, menu, 6, iteration=0, total_iterations=8, seed=0)
    assert all(p.data["transform"] != "loop_ws" for p in off)
    prop = BuiltinProposer(enable_loop_ws=True)
    on = prop.plan(cand, menu, 6, iteration=0, total_iterations=8, seed=0)
    ws = [p for p in on if p.data["transform"] == "loop_ws"]
    assert ws
    rw = prop.implement(cand, ws[0], 1, seed=0)[0]
    assert any(i.op == "loop_ws" for _, i, _ in __import__(
        "autocomp_exo.transforms.ir_util", fromlist=["instrs"]).instrs(rw.fn.body))


def _weights(fn, fb):
    ranked = BuiltinProposer()._ranked(fn, fb, {m.key for m in MENU})
    return {(r.application.transform, r.application.site, r.application.params): r.weight
            for r in ranked}


def _feedback(**details):
    return Feedback(cycles=10_000, utilization=0.3, sp_kib_used=10.0, sp_kib_total=256.0,
                    acc_kib_used=1.0, acc_kib_total=64.0, bound="cpu", details=details)


def test_measured_stalls_steer_the_ranking():
    """The report's stalls raise the rewrites that remove them: bank moves when most
    computes read A and B from one bank, overlap rewrites when loads and computes add
    up; a report without those stalls leaves the weights alone."""
    fn = basic_gemm(M, N, K)
    quiet = _weights(fn, _feedback(busy={"cpu": 9000, "load": 3000, "execute": 8000},
                                   counts={"compute_preloaded": 100}, bank_conflicts=0))
    conflict = _weights(fn, _feedback(busy={"cpu": 9000, "load": 3000, "execute": 8000},
                                      counts={"compute_preloaded": 100}, bank_conflicts=90))
    serial = _weights(fn, _feedback(busy={"cpu": 4000, "load": 4000, "execute": 5000},
                                    counts={"compute_preloaded": 100}, bank_conflicts=0))
    assert {"bank", "double_buffer", "unroll"} <= {key[0] for key in quiet}
    for key, w in quiet.items():
        name = key[0]
        assert (conflict[key] > w) == (name == "bank"), key
        assert (serial[key] > 2 * w) == (name in ("interleave", "interleave_all", "pipeline",
                                                  "double_buffer")), key


def test_a_busy_load_engine_raises_the_rewrites_that_load_less():
    """Loads busy most of the run: row_reuse (one load of B for several row tiles) gets
    a higher weight; nothing else moves."""
    fn = basic_gemm(M, N, K)
    idle = _weights(fn, _feedback(busy={"cpu": 9000, "load": 1000, "execute": 8000}))
    busy = _weights(fn, _feedback(busy={"cpu": 9000, "load": 6000, "execute": 8000}))
    assert "row_reuse" in {key[0] for key in idle}
    for key, w in idle.items():
        assert (busy[key] > w) == (key[0] == "row_reuse"), key


def test_one_rewrite_per_plan_is_the_variant_the_estimate_prefers(cand):
    """With k = 1 the sample goes to the cheaper (by the static estimate) of the planned
    rewrite and the same rewrite followed by the clean-up; with k = 2 both are returned."""
    from autocomp_exo.transforms.estimate import estimate
    from gemmini.config import get_config
    cfg = get_config()
    prop = BuiltinProposer()
    plans = prop.plan(cand, MENU, 6, iteration=0, total_iterations=8, seed=3)
    tidied = 0
    for p in plans:
        both = prop.implement(cand, p, 2, seed=0)
        one = prop.implement(cand, p, 1, seed=0)
        assert len(one) == 1
        assert one[0].fn in {rw.fn for rw in both}
        cost = {rw.fn: estimate(rw.fn, cfg).cycles for rw in both}
        assert cost[one[0].fn] == min(cost.values())
        tidied += len(both) == 2
    assert tidied        # some plan had a clean-up variant to choose between


def test_an_array_busy_beyond_the_ideal_raises_the_held_weights():
    """Execute busy well beyond the ideal (utilization x cycles: partial blocks, bank
    conflicts): hold_weights (computes that feed only their A rows) gets a higher
    weight; nothing else moves."""
    from lowering.parser import parse_c
    fn = parse_c("""void f(int8_t A[48][32], int8_t B[32][16], int8_t C[48][16]) {
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_st(16);
  config_ld(32, 1.0f, 0, 0);
  mvin(&B[0][0], 0, 16, 32);
  for (int i = 0; i < 4; i++) {
    mvin(&A[12 * i][0], 4096 + 32 * i, 32, 12);
  }
  for (int i = 0; i < 4; i++) {
    for (int k = 0; k < 2; k++) {
      preload(16 * k, 0x80000000 + 16 * i, 16, 16, 16, 12);
      compute_preloaded(4096 + 32 * i + 16 * k, ~((uint32_t)0), 16, 12, 16, 16);
    }
  }
  for (int i = 0; i < 4; i++) {
    mvout(&C[12 * i][0], 0x80000000 + 16 * i, 16, 12);
  }
  fence();
}
""")
    ideal = _weights(fn, _feedback(busy={"cpu": 9000, "load": 1000, "execute": 3000}))
    over = _weights(fn, _feedback(busy={"cpu": 9000, "load": 1000, "execute": 8000}))
    assert "hold_weights" in {key[0] for key in ideal}
    for key, w in ideal.items():
        assert (over[key] > w) == (key[0] == "hold_weights"), key


@pytest.mark.parametrize("at_fences, boosted", [(400, True), (10, False)])
def test_fence_rewrites_are_favoured_when_the_cpu_waits_at_fences(at_fences, boosted):
    """A run that spends a measured share at fences (more than 3% of its cycles) favours
    the rewrites that remove fences or overlap their waits, and only those."""
    from autocomp_exo.proposers.builtin import STALL_BOOST, _stall_boost
    from autocomp_exo.transforms.base import Application
    fb = Feedback(cycles=4000, utilization=0.1, sp_kib_used=1, sp_kib_total=256,
                  acc_kib_used=1, acc_kib_total=64, bound="cpu",
                  details={"fence_stall": at_fences, "cpu_stall": 500})
    for name in ("merge_fences", "drop_fence", "fission_fence", "fence_early", "cpu_early"):
        assert _stall_boost(None, Application(name, ()), fb) == (STALL_BOOST if boosted else 1.0)
    assert _stall_boost(None, Application("unroll", ()), fb) == 1.0


def test_what_was_already_evaluated_from_a_candidate_is_not_planned_again(cand):
    """The search hands the proposer what earlier rewrites of this code applied; those
    are planned again only when nothing else is left."""
    import dataclasses
    first = BuiltinProposer().plan(cand, MENU, 3, iteration=0, total_iterations=8, seed=5)
    done = tuple(p.data for p in first)
    later = BuiltinProposer().plan(dataclasses.replace(cand, applied=done), MENU, 3,
                                   iteration=1, total_iterations=8, seed=5)
    key = lambda d: (d["transform"], tuple(d["site"]), json.dumps(d["params"], sort_keys=True))  # noqa: E731
    assert len(later) == 3
    assert not {key(p.data) for p in later} & {key(d) for d in done}
    proposer = BuiltinProposer()
    assert not proposer.exhausted(cand)
    every = proposer.plan(cand, MENU, 1000, iteration=0, total_iterations=8, seed=5)
    exhausted = dataclasses.replace(cand, applied=tuple(p.data for p in every))
    assert proposer.plan(exhausted, MENU, 3, iteration=1, total_iterations=8, seed=5) == []
    assert proposer.exhausted(exhausted)
    assert not proposer.exhausted(dataclasses.replace(cand, applied=done))


def test_the_clean_up_variant_also_issues_repeated_configurations_once():
    """Eight steps that each configure the load and the store the same way: the clean-up
    after a rewrite leaves one configuration of each, so a structural rewrite is judged
    with that overhead paid back. The values are unchanged (y = x)."""
    import numpy as np
    from gemmini import model
    from gemmini.config import get_config
    from lowering.parser import parse_c
    cfg = get_config("fp32_4")
    fn = parse_c("""
void k(const float x[8][4][4], float y[8][4][4]) {
  for (int i = 0; i < 8; i++) {
    config_ld(16, 1.0f, 0);
    config_st(16, 0, 1.0f);
    mvin(&x[i][0][0], 0x80000000, 4, 4);
    mvout(&y[i][0][0], 0x80000000, 4, 4);
    fence();
  }
}
""")
    tidy = BuiltinProposer(cfg)._cleanup(fn)
    assert tidy is not None
    x = np.random.default_rng(0).standard_normal((8, 4, 4)).astype(np.float32)
    before = model.run(fn, {"x": x, "y": np.zeros_like(x)}, cfg)
    after = model.run(tidy, {"x": x, "y": np.zeros_like(x)}, cfg)
    # the model's dynamic instruction counts: 8 of each before, 1 after
    assert before.report.counts["config_ld"] == 8 and after.report.counts["config_ld"] == 1
    assert before.report.counts["config_st"] == 8 and after.report.counts["config_st"] == 1
    np.testing.assert_array_equal(after.outputs["y"], x)
