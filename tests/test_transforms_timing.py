"""Each transformation moves the model's cycle count the expected way on a case built
for it (and the model's outputs still match numpy). Needs gemmini.model."""

import pytest

from autocomp_exo.transforms import apply
from autocomp_exo.transforms.base import Application
from autocomp_exo.transforms.ir_util import walk
from gemmini.config import get_config
from gemmini.ir import For
from transforms_support import (FAST_CPU, NARROW_LOADS_TEXT, WEIGHT_REUSE_TEXT, app_named, basic_gemm,
                                model_cycles, parse)

CFG = get_config()
# For effects inside the accelerator (preload overlap, load/compute overlap): a CPU that
# issues fast, so the case measures the engines rather than the calibrated CPU costs.
# For CPU-side transformations: an array twice as fast, so the CPU's work bounds the run
# clearly (at the calibrated speeds the case below is nearly balanced between the two).
FAST_ARRAY = CFG.with_timing(block_cycles=CFG.timing.block_cycles // 2)


@pytest.fixture(scope="module")
def gemm():
    return basic_gemm(32, 128, 128)


def faster(before, after, config=None):
    cb, ca = model_cycles(before, config=config), model_cycles(after, config=config)
    assert ca < cb, (cb, ca)


def loop(fn, var, nth=0):
    return [p for p, s, _ in walk(fn.body) if isinstance(s, For) and s.var == var][nth]


def test_resident_b_is_faster(gemm):
    faster(gemm, apply(gemm, app_named(gemm, "resident", CFG, lambda a: "mvin3" in a.note), CFG))


def test_resident_a_is_faster(gemm):
    faster(gemm, apply(gemm, app_named(gemm, "resident", CFG, lambda a: "mvin2" in a.note), CFG))


def test_bank_separation_is_faster(gemm):
    faster(gemm, apply(gemm, app_named(gemm, "bank", CFG, lambda a: "mvin2" in a.note), CFG))


@pytest.fixture(scope="module")
def cpu_bound(gemm):
    """B resident and A reused: the model reports this run as bounded by the CPU (clearly
    so on `FAST_ARRAY`)."""
    fn = apply(gemm, app_named(gemm, "resident", CFG, lambda a: "mvin3" in a.note), CFG)
    return apply(fn, app_named(fn, "resident", CFG, lambda a: "mvin2" in a.note), CFG)


def test_unrolling_the_block_loop_is_faster(cpu_bound):
    fn = cpu_bound
    faster(fn, apply(fn, Application("unroll", loop(fn, "j_in_o", 1), (("factor", 0),)), CFG),
           FAST_ARRAY)


def test_const_prop_and_simplify_are_faster(cpu_bound):
    faster(cpu_bound, apply(cpu_bound, Application("const_prop", ()), CFG), FAST_ARRAY)
    tidy = apply(cpu_bound, Application("simplify", ()), CFG)      # same op count alone
    assert model_cycles(tidy, config=FAST_ARRAY) <= model_cycles(cpu_bound, config=FAST_ARRAY)


def test_strength_reduction_is_faster(cpu_bound):
    fn = cpu_bound
    faster(fn, apply(fn, Application("strength", loop(fn, "ko")), CFG), FAST_ARRAY)


def test_pipelining_the_loads_is_faster(gemm):
    faster(gemm, apply(gemm, app_named(gemm, "pipeline", CFG, lambda a: "ko" in a.note), CFG),
           FAST_CPU)


def test_mvin_merge_is_faster():
    fn = parse(NARROW_LOADS_TEXT)
    faster(fn, apply(fn, app_named(fn, "mvin_merge", CFG, lambda a: "mvin2" in a.note), CFG))


def test_reuse_weights_is_faster():
    # 16 row blocks under one weight block, so the saved weight loads are visible
    text = (WEIGHT_REUSE_TEXT.replace("A[64][16]", "A[256][16]")
            .replace("C[64][16]", "C[256][16]").replace("i < 4", "i < 16"))
    fn = parse(text)
    faster(fn, apply(fn, app_named(fn, "reuse_weights", CFG), CFG), FAST_CPU)


def test_expert_recipe_reaches_good_utilization():
    """B resident, A once per row, A in its own bank, constants folded, blocks unrolled."""
    fn = basic_gemm(64, 256, 128)
    base = model_cycles(fn)
    steps = [("resident", lambda a: "mvin3" in a.note), ("resident", lambda a: "mvin2" in a.note),
             ("bank", lambda a: "mvin2" in a.note), ("const_prop", lambda a: True)]
    for name, pred in steps:
        fn = apply(fn, app_named(fn, name, CFG, pred), CFG)
    for _ in range(3):
        fn = apply(fn, app_named(fn, "unroll", CFG, lambda a: a.p["factor"] == 0 and
                                 "j_in_o" in a.note or "loop k " in a.note), CFG)
    assert model_cycles(fn) < 0.75 * base


def test_fold_zeroing_is_faster():
    fn = basic_gemm(32, 128, 64)
    for name, pred in (("resident_all", lambda a: True),
                       ("unroll_nest", lambda a: "loop j" in a.note),
                       ("const_prop", lambda a: True)):
        fn = apply(fn, app_named(fn, name, CFG, pred), CFG)
    faster(fn, apply(fn, Application("fold_zeroing", ()), CFG))
