"""multirow: the single-row moves of consecutive loop iterations become multi-row moves.
Expectations are independent of the transformation: numpy for the values, the model's
ordering check for the fences, instruction counts from the loop's shape."""

import numpy as np
import pytest

from autocomp_exo.transforms import registry
from autocomp_exo.transforms.base import Application, NotApplicable
from gemmini import model
from gemmini.config import get_config
from gemmini.ir import For, Instr, walk_stmts
from lowering.exo_to_c import compile_proc
from lowering.parser import parse_c
from lowering.tinympc import input_sets, numpy_reference, workload
from autocomp_exo.evaluation import ModelEvaluator

CFG = get_config("fp32_4")

# y[s] = relu(u[s] + v[s] - w[s]) through a fixed accumulator row, 9 steps; z[s] = y[s]
# read back after a fence (a DRAM round trip in every step)
STEPS = """
void k(const float u[9][4], const float v[9][4], const float w[9][4], float y[9][4],
       float z[9][4]) {
  for (int s = 0; s < 9; s++) {
    config_ld(16, 1.0f, 0);
    mvin(&u[s][0], 0x80000000, 4, 1);
    mvin(&v[s][0], 0xC0000000, 4, 1);
    config_ld(16, -1.0f, 0);
    mvin(&w[s][0], 0xC0000000, 4, 1);
    config_st(16, 1, 1.0f);
    mvout(&y[s][0], 0x80000000, 4, 1);
    fence();
    config_ld(16, 1.0f, 0);
    mvin(&y[s][0], 0x80000001, 4, 1);
    config_st(16, 0, 1.0f);
    mvout(&z[s][0], 0x80000001, 4, 1);
    fence();
  }
}
"""


def merge(fn, site, rows=4):
    return registry.apply(fn, Application("multirow", site, (("rows", rows),)), CFG)


def moves(body):
    return [s for s in walk_stmts(body) if isinstance(s, Instr) and s.op in ("mvin", "mvout")]


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    ins = {n: rng.standard_normal((9, 4)).astype(np.float32) for n in "uvw"}
    ins.update(y=np.zeros((9, 4), np.float32), z=np.zeros((9, 4), np.float32))
    return ins


def test_nine_steps_move_four_rows_at_a_time_with_the_same_values():
    fn = parse_c(STEPS)
    new = merge(fn, (0,))
    # 9 steps of 6 moves -> a loop over 2 groups of 4 steps, then a remainder of 1 step
    loop, rest = new.body[0], new.body[1:]
    assert loop.hi.value - loop.lo.value == 2
    assert [m.args[3].value for m in moves(loop.body)] == [4] * 6
    assert [m.args[3].value for m in moves(rest)] == [1] * 6
    ins = inputs()
    out = model.run(new, ins, CFG, timing=False).outputs     # the ordering check passes
    expect = np.maximum(ins["u"] + ins["v"] - ins["w"], 0)   # numpy, in float32
    np.testing.assert_array_equal(out["y"], expect)
    np.testing.assert_array_equal(out["z"], expect)


def test_each_step_gets_its_own_rows_so_the_fences_can_split_the_group_loop():
    new = merge(parse_c(STEPS), (0,))
    loop = new.body[0]
    fence_site = (0, next(i for i, s in enumerate(loop.body) if s.op == "fence"))
    split = registry.apply(new, Application("fission_fence", fence_site, ()), CFG)
    ins = inputs(1)
    out = model.run(split, ins, CFG, timing=False).outputs
    np.testing.assert_array_equal(out["z"], np.maximum(ins["u"] + ins["v"] - ins["w"], 0))


def test_a_row_carried_from_one_step_to_the_next_is_refused():
    """A running sum: step s accumulates onto the row step s - 1 left."""
    fn = parse_c("""
void k(const float u[8][4], float y[8][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  mvin(&u[0][0], 0x80000000, 4, 1);
  for (int s = 1; s < 8; s++) {
    mvin(&u[s][0], 0xC0000000, 4, 1);
    mvout(&y[s][0], 0x80000000, 4, 1);
  }
  fence();
}
""")
    with pytest.raises(NotApplicable):
        merge(fn, (3,))


def test_rows_that_are_not_consecutive_at_the_configured_stride_are_refused():
    fn = parse_c("""
void k(const float u[16][4], float y[8][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  for (int s = 0; s < 8; s++) {
    mvin(&u[2 * s][0], 0x80000000, 4, 1);
    mvout(&y[s][0], 0x80000000, 4, 1);
  }
  fence();
}
""")
    with pytest.raises(NotApplicable, match="consecutive"):
        merge(fn, (2,))


def test_a_later_step_that_reads_what_an_earlier_one_stores_is_refused():
    """Step s stores y[s + 1] after a fence, step s + 1 loads it before its fence:
    running the loads of four steps first would read y too early."""
    fn = parse_c("""
void k(const float u[9][4], float y[9][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  for (int s = 0; s < 8; s++) {
    mvin(&y[s][0], 0x80000000, 4, 1);
    mvin(&u[s][0], 0xC0000000, 4, 1);
    fence();
    mvout(&y[s + 1][0], 0x80000000, 4, 1);
    fence();
  }
}
""")
    with pytest.raises(NotApplicable):
        merge(fn, (2,))
    # the oracle: the straightforward order computes a prefix sum, which the model runs
    ins = {"u": np.ones((9, 4), np.float32), "y": np.zeros((9, 4), np.float32)}
    out = model.run(registry.normalize(fn), ins, CFG, timing=False).outputs
    np.testing.assert_array_equal(out["y"][:, 0], np.arange(9, dtype=np.float32))


def test_the_tinympc_admm_kernel_is_checked_against_its_reference():
    w = workload("tinympc_admm")
    ev = ModelEvaluator.for_workload(w, "fp32_4")
    fn = parse_c(compile_proc(w.mapped).c_text)
    loop = next(p for p, s in enumerate(fn.body) if isinstance(s, For))
    new = merge(fn, (loop,))
    assert ev.evaluate(new).ok
    s = input_sets(w, seeds=(3,))[0]
    out = model.run(new, dict(s.inputs), CFG, timing=False).outputs
    ref = numpy_reference("tinympc_admm", s.inputs)
    for name in ("znew", "y", "primal", "dual"):
        np.testing.assert_allclose(out[name], ref[name], rtol=1e-5, atol=1e-5)
