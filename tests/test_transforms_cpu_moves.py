"""to_cpu (a run of elementwise moves as CPU code) and cpu_early (CPU code issued before
an earlier fence). Values are checked against numpy in float32; the model's DRAM
ordering and CPU race checks are the independent oracle for placement."""

import numpy as np
import pytest

from autocomp_exo.transforms import registry
from autocomp_exo.transforms.base import Application, NotApplicable
from gemmini import model
from gemmini.config import get_config
from gemmini.errors import HardwareError
from gemmini.ir import Instr, walk_stmts
from lowering.parser import parse_c

CFG = get_config("fp32_4")

# rows 0..3 on the accelerator (a round trip through y), row 4 by single-row moves:
# y = relu(u - w), z = -(y + u)
KERNEL = """
void k(const float u[5][4], const float w[5][4], float y[5][4], float z[5][4]) {
  config_ld(16, 1.0f, 0);
  config_ld(16, -1.0f, 1);
  config_st(16, 1, 1.0f);
  mvin(&u[0][0], 0x80000000, 4, 4);
  mvin2(&w[0][0], 0xC0000000, 4, 4);
  mvout(&y[0][0], 0x80000000, 4, 4);
  fence();
  mvin(&y[0][0], 0x80000004, 4, 4);
  mvin(&u[0][0], 0xC0000004, 4, 4);
  config_st(16, 0, -1.0f);
  mvout(&z[0][0], 0x80000004, 4, 4);
  config_st(16, 1, 1.0f);
  mvin(&u[4][0], 0x80000010, 4, 1);
  mvin2(&w[4][0], 0xC0000010, 4, 1);
  mvout(&y[4][0], 0x80000010, 4, 1);
  fence();
  mvin(&y[4][0], 0x80000011, 4, 1);
  mvin(&u[4][0], 0xC0000011, 4, 1);
  config_st(16, 0, -1.0f);
  mvout(&z[4][0], 0x80000011, 4, 1);
  fence();
}
"""
RUN = (11, 10)          # the single-row moves: statements 11..20


def apply(fn, name, site, **p):
    return registry.apply(fn, Application(name, site, tuple(sorted(p.items()))), CFG)


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((5, 4)).astype(np.float32)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    w[0, 0] = u[0, 0]                  # a zero difference: relu(-0.0) and relu(+0.0)
    w[4, 1] = u[4, 1]
    return {"u": u, "w": w, "y": np.zeros((5, 4), np.float32),
            "z": np.zeros((5, 4), np.float32)}


def expected(ins):
    y = np.maximum(ins["u"] - ins["w"], np.float32(0))
    return y, -(y + ins["u"])


def instr_ops(fn):
    return [s.op for s in walk_stmts(fn.body) if isinstance(s, Instr)]


def test_the_remainder_row_becomes_cpu_code_with_the_same_values():
    fn = parse_c(KERNEL)
    new = apply(fn, "to_cpu", (RUN[0],), count=RUN[1], fence=0)
    ops = instr_ops(new)
    assert ops.count("mvin") + ops.count("mvin2") == 4 and ops.count("mvout") == 2
    ins = inputs()
    out = model.run(new, ins, CFG, timing=False).outputs
    y, z = expected(ins)
    np.testing.assert_array_equal(out["y"], y)
    np.testing.assert_array_equal(out["z"], z)
    np.testing.assert_array_equal(np.signbit(out["y"]), np.signbit(y))


def test_cpu_code_moves_before_a_fence_only_where_no_pending_move_meets_it():
    ins = inputs(1)
    new = apply(parse_c(KERNEL), "to_cpu", (RUN[0],), count=RUN[1], fence=0)
    fence_at = [i for i, s in enumerate(new.body) if isinstance(s, Instr) and s.op == "fence"]
    src = fence_at[0] + 1 + next(i for i, s in enumerate(new.body[fence_at[0] + 1:])
                                 if not isinstance(s, Instr))
    count = next(i for i, s in enumerate(new.body[src:]) if isinstance(s, Instr))
    early = apply(new, "cpu_early", (fence_at[0],), src=src, count=count)
    out = model.run(early, ins, CFG, timing=False).outputs      # no race, same values
    y, z = expected(ins)
    np.testing.assert_array_equal(out["z"], z)
    np.testing.assert_array_equal(out["y"], y)


def test_cpu_code_that_reads_what_a_pending_store_writes_stays_after_the_fence():
    """The CPU reads y[0][0], which the mvout before the fence writes."""
    fn = parse_c("""
void k(const float u[5][4], const float w[5][4], float y[5][4], float z[5][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  mvin(&u[0][0], 0x80000000, 4, 1);
  mvout(&y[0][0], 0x80000000, 4, 1);
  fence();
  z[4][0] = y[0][0] + 1.0f;
  fence();
}
""")
    with pytest.raises(NotApplicable):
        apply(fn, "cpu_early", (4,), src=5, count=1)
    # the oracle: the model refuses the program with the CPU read before the fence
    bad = parse_c("""
void k(const float u[5][4], const float w[5][4], float y[5][4], float z[5][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  mvin(&u[0][0], 0x80000000, 4, 1);
  mvout(&y[0][0], 0x80000000, 4, 1);
  z[4][0] = y[0][0] + 1.0f;
  fence();
}
""")
    with pytest.raises(HardwareError):
        model.run(bad, inputs(), CFG, timing=False)


def test_a_run_whose_rows_are_read_elsewhere_is_refused():
    """Row 0x10 is written in the run and stored again after it."""
    fn = parse_c(KERNEL.replace("  fence();\n}", "  fence();\n  mvout(&z[3][0], 0x80000010, 4, 1);"
                                "\n  fence();\n}"))
    with pytest.raises(NotApplicable, match="outside the run"):
        apply(fn, "to_cpu", (RUN[0],), count=RUN[1], fence=0)


def test_a_run_that_needs_a_fence_before_its_reads_keeps_one():
    """The run reads y[0], which the mvout before it writes: the CPU code needs the
    fence before it."""
    fn = parse_c("""
void k(const float u[5][4], const float w[5][4], float y[5][4], float z[5][4]) {
  config_ld(16, 1.0f, 0);
  config_st(16, 0, 1.0f);
  mvin(&u[0][0], 0x80000000, 4, 1);
  mvout(&y[0][0], 0x80000000, 4, 1);
  fence();
  mvin(&y[0][0], 0x80000001, 4, 1);
  mvout(&z[0][0], 0x80000001, 4, 1);
  fence();
}
""")
    with pytest.raises(NotApplicable, match="fence"):
        apply(fn, "to_cpu", (4,), count=4, fence=0)
    new = apply(fn, "to_cpu", (4,), count=4, fence=1)
    ins = inputs(2)
    out = model.run(new, ins, CFG, timing=False).outputs
    np.testing.assert_array_equal(out["z"][0], ins["u"][0])


def test_the_tinympc_admm_loop_as_cpu_code_matches_numpy():
    from lowering.exo_to_c import compile_proc
    from lowering.tinympc import input_sets, numpy_reference, workload
    w = workload("tinympc_admm")
    fn = parse_c(compile_proc(w.mapped).c_text)
    loop = next(i for i, s in enumerate(fn.body) if hasattr(s, "body"))
    new = apply(fn, "to_cpu", (loop, 0), count=len(fn.body[loop].body), fence=0)
    assert instr_ops(new).count("mvout") == 0
    s = input_sets(w, seeds=(5,), kinds=("box",))[0]
    out = model.run(new, dict(s.inputs), CFG, timing=False).outputs
    ref = numpy_reference("tinympc_admm", s.inputs)
    for name in ("znew", "y", "primal", "dual"):
        np.testing.assert_allclose(out[name], ref[name], rtol=1e-6, atol=1e-6)


def test_each_fence_delimited_piece_of_a_run_is_offered():
    """The kernel is one run of 21 instructions with fences at 6, 15 and 20: the whole
    run and the pieces ending at each fence are offered, with and without a kept fence."""
    from autocomp_exo.transforms.to_cpu import find_to_cpu
    offered = {(a.site, a.p["count"], a.p["fence"]) for a in find_to_cpu(parse_c(KERNEL), CFG)}
    spans = {((0,), 21), ((0,), 7), ((7,), 9), ((16,), 5)}
    assert offered == {(site, n, f) for site, n in spans for f in (0, 1)}


# one accumulator row reused from step to step: y = u[0] - w[0], then z = u[1] - w[1]
# (STEP2 is the second step's first load)
REUSE = """
void k(const float u[2][4], const float w[2][4], float y[2][4], float z[2][4]) {
  config_ld(16, 1.0f, 0);
  config_ld(16, -1.0f, 1);
  config_st(16, 0, 1.0f);
  mvin(&u[0][0], 0x80000000, 4, 1);
  mvin2(&w[0][0], 0xC0000000, 4, 1);
  mvout(&y[0][0], 0x80000000, 4, 1);
  fence();
  STEP2
  mvin2(&w[1][0], 0xC0000000, 4, 1);
  mvout(&z[0][0], 0x80000000, 4, 1);
  fence();
}
"""


@pytest.mark.parametrize("step2, legal", [
    ("mvin(&u[1][0], 0x80000000, 4, 1);", True),        # overwrites the row
    ("mvin(&u[1][0], 0xC0000000, 4, 1);", False),       # accumulates onto it
    ("mvin(&u[1][0], 0x80000000, 2, 1);", False),       # overwrites half of it
])
def test_a_step_may_go_to_the_cpu_when_the_next_step_overwrites_its_rows(step2, legal):
    fn = parse_c(REUSE.replace("STEP2", step2))
    ins = {"u": np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.float32),
           "w": np.array([[0.5, 4, -1, 2], [1, 1, 1, 1]], np.float32),
           "y": np.zeros((2, 4), np.float32), "z": np.zeros((2, 4), np.float32)}
    want = model.run(fn, ins, CFG, timing=False).outputs
    if not legal:
        with pytest.raises(NotApplicable, match="outside the run"):
            apply(fn, "to_cpu", (0,), count=7, fence=0)
        return
    new = apply(fn, "to_cpu", (0,), count=7, fence=0)
    assert instr_ops(new).count("mvout") == 1
    out = model.run(new, ins, CFG, timing=False).outputs
    np.testing.assert_array_equal(out["y"][0], ins["u"][0] - ins["w"][0])
    np.testing.assert_array_equal(out["z"][0], ins["u"][1] - ins["w"][1])
    for name in ("y", "z"):
        np.testing.assert_array_equal(out[name], want[name])
