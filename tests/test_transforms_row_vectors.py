"""row_vectors: matrix-vector kernels with their vectors in row form (transposed products,
one move per DIM chunks). The oracles are the workloads' reference (Exo's own semantics),
the host emulator and numpy."""

from __future__ import annotations

import numpy as np
import pytest

from autocomp_exo.evaluation import ModelEvaluator
from autocomp_exo.transforms import registry
from autocomp_exo.transforms.base import Application, NotApplicable
from benchmarks.baselines.tinympc_hand import hand_proc
from gemmini import model
from gemmini.config import get_config
from gemmini.ir import Instr, walk_stmts
from lowering.emulator.build import run_ir
from lowering.exo_to_c import compile_proc
from lowering.parser import parse_c
from lowering.reference import check_sets

CFG = get_config("fp32_4")


def row_form(fn):
    return registry.apply(fn, Application("row_vectors", ()), CFG)


def kernel(w, kind):
    c = compile_proc(w.mapped if kind == "straightforward" else hand_proc(w.name))
    return parse_c(c.c_text, filename=f"{c.name}.c", function=c.name)


@pytest.mark.parametrize("name", ["tinympc_forward", "tinympc_backward"])
@pytest.mark.parametrize("kind", ["straightforward", "hand"])
def test_the_tinympc_products_in_row_form_compute_the_same(tinympc_workloads, name, kind):
    """On the model against the reference (every input kind), and on the host emulator,
    whose array sums each product in k order either way, bit for bit against the column
    form; fewer moves (a vector of 12 moves in one instruction, not three)."""
    w = tinympc_workloads[name]
    fn = kernel(w, kind)
    new = row_form(fn)
    ev = ModelEvaluator.for_workload(w, "fp32_4")
    assert ev.evaluate(new).ok
    moves = [{op: ev.run(f).report.counts[op] for op in ("mvin_data", "mvout")}
             for f in (fn, new)]
    assert moves[1]["mvout"] < moves[0]["mvout"] and moves[1]["mvin_data"] < moves[0]["mvin_data"]
    sets = w.input_sets(w, (0,), ("nominal", "large"))
    before = [run_ir(fn, s.inputs, CFG).outputs for s in sets]
    after = [run_ir(new, s.inputs, CFG).outputs for s in sets]
    assert check_sets(after, sets).ok
    for b, a in zip(before, after):
        for k in b:
            np.testing.assert_array_equal(a[k], b[k])


def test_the_admm_kernel_has_no_product_to_turn(tinympc_workloads):
    with pytest.raises(NotApplicable, match="no matrix-vector product"):
        row_form(kernel(tinympc_workloads["tinympc_admm"], "hand"))


MATVEC = """
void k(const float M[8][8], const float v[8][1], float y[8][1]) {
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_st(4, 0, 1.0f);
  config_ld(32, 1.0f, 0);
  mvin(&M[0][0], 0, 4, 4);
  mvin(&M[0][4], 4, 4, 4);
  mvin(&M[4][0], 8, 4, 4);
  mvin(&M[4][4], 12, 4, 4);
  config_ld(VSTRIDE, 1.0f, 1);
  mvin2(&v[0][0], 16, 1, 4);
  mvin2(&v[4][0], 20, 1, 4);
  for (int i = 0; i < 2; i++) {
    preload(16, 0x80000000 + 4 * i, 1, 4, 1, 4);
    compute_preloaded(8 * i, ~((uint32_t)0), 4, 4, 4, 4);
    preload(20, 0xC0000000 + 4 * i, 1, 4, 1, 4);
    compute_preloaded(8 * i + 4, ~((uint32_t)0), 4, 4, 4, 4);
  }
  mvout(&y[0][0], 0x80000000, 1, 4);
  mvout(&y[4][0], 0x80000004, 1, 4);
  fence();
}
"""


def matvec_inputs():
    rng = np.random.default_rng(3)
    m = rng.integers(-8, 9, (8, 8)).astype(np.float32)        # small integers: exact sums
    v = rng.integers(-8, 9, (8, 1)).astype(np.float32)
    return {"M": m, "v": v, "y": np.zeros((8, 1), np.float32)}, m @ v


def test_a_matrix_vector_product_in_row_form():
    """Two chunks of v and of y each move in one instruction of two rows with a row's
    stride; the products read the tiles of M transposed; y = M v as numpy has it."""
    fn = parse_c(MATVEC.replace("VSTRIDE", "4"))
    new = row_form(fn)
    moves = [s for s in walk_stmts(new.body) if isinstance(s, Instr) and s.op in
             ("mvin2", "mvout")]
    assert [(s.op, s.args[2].value, s.args[3].value) for s in moves] == [("mvin2", 4, 2),
                                                                          ("mvout", 4, 2)]
    configs = {s.op: s for s in walk_stmts(new.body) if isinstance(s, Instr) and
               s.op in ("config_ex", "config_st")}
    assert configs["config_ex"].args[5].value == 1
    assert configs["config_st"].args[0].value == 4 * 4        # a row of four floats
    inputs, want = matvec_inputs()
    for f in (fn, new):
        np.testing.assert_array_equal(model.run(f, inputs, CFG, timing=False).outputs["y"],
                                      want)
    np.testing.assert_array_equal(run_ir(new, inputs, CFG).outputs["y"], want)


def test_a_vector_whose_elements_are_not_contiguous_is_refused():
    """With a load stride of 8 bytes a one-column move reads every other element: one row
    of four would read other elements."""
    with pytest.raises(NotApplicable, match="contiguous"):
        row_form(parse_c(MATVEC.replace("VSTRIDE", "8")))


def test_a_chunk_that_is_also_read_as_a_matrix_is_refused():
    text = MATVEC.replace("VSTRIDE", "4").replace("compute_preloaded(8 * i + 4,",
                                                  "compute_preloaded(16,")
    with pytest.raises(NotApplicable, match="matrix"):
        row_form(parse_c(text))


def test_a_gemm_has_no_matrix_vector_product():
    from transforms_support import basic_gemm
    with pytest.raises(NotApplicable):
        registry.apply(basic_gemm(32, 32, 32), Application("row_vectors", ()),
                       get_config("int8_16"))
