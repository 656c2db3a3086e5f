"""The vectorized trace compiler against an independent sequential IR walker."""

from pathlib import Path

import numpy as np
import pytest

from gemmini.config import get_config
from benchmarks.sample_programs import basic_gemm
from gemmini.trace import OPS, build_trace, int_column
from gemmini import ir
from tests.ir_trace import ir_trace
from tests.model_helpers import ACC, I, add, config_ld, dram, fn, loop, mul
from tests.test_model_timing import tiles_program

EXAMPLE_C = Path(__file__).parent / "data" / "exo_c" / "gemm_64x64x64.c"
MOVES = ("mvin", "mvin2", "mvin3", "mvout", "preload", "compute_preloaded",
         "compute_accumulated")


def our_lines(f, inputs):
    t = build_trace(f, inputs, get_config())
    out = []
    for k in range(len(t)):
        op = OPS[t.op[k]]
        if op not in MOVES:
            continue
        v = [int(x) for x in t.ints[k]]
        if op in ("preload", "compute_preloaded", "compute_accumulated"):
            out.append(" ".join([op] + [str(x) for x in v]))
        else:
            d = "0" if t.dram[k] < 0 else f"{t.arrays[t.dram[k]]}+{v[0]}"
            out.append(" ".join([op, d] + [str(x) for x in v[1:4]]))
    return out


def walker_lines(f, scalars=None):
    return [ln for ln in ir_trace(f, scalars) if ln.split()[0] in MOVES]


def irregular_program():
    """If on loop variables, assignments carried across iterations, a triangular loop."""
    i, j = ir.Var("i"), ir.Var("j")
    return fn([("A", "i8", (64, 64), True), ("n", "int", (), False)],
              config_ld(64), config_ld(64, ld_id=1),
              ir.Decl("row", "uint32_t", ir.Const(0)),
              loop("i", 4,
                   ir.If(ir.BinOp("==", ir.BinOp("%", i, ir.Const(2)), ir.Const(0)),
                         (I("mvin", dram("A", mul(i, 64)), "row", 64, 16),),
                         (I("mvin2", dram("A", mul(i, 64)), add("row", 8), 16, 16),)),
                   ir.Assign("row", "+=", ir.Const(64)),
                   loop("j", add(i, 1),
                        I("mvin", dram("A", add(mul(j, 64), i)),
                          ir.Cond(ir.BinOp("<", j, ir.Var("n")), ir.Const(ACC), ir.Const(7)),
                          16, ir.BinOp("+", j, ir.Const(1))))),
              loop("k", 3, ir.If(ir.BinOp("&&", ir.BinOp(">", ir.Var("k"), ir.Const(0)),
                                          ir.BinOp("<", ir.Var("k"), ir.Var("n"))),
                                 (I("mvin", dram("A", mul("k", 3)), mul("k", 16), 3, 3),))))


def induction_program():
    """Hoisted addresses: pointer increments at several loop levels (strength reduction)."""
    return fn([("A", "i8", (64, 64), True)],
              config_ld(64),
              ir.Decl("a", "uint32_t", ir.Const(0)), ir.Decl("d", "int", ir.Const(4032)),
              ir.Decl("w", "uint32_t", ir.Const(0xFFFFFFF0)),
              loop("i", 4,
                   ir.Decl("b", "uint32_t", mul("i", 64)),
                   loop("k", 4, I("mvin", dram("A", "d"), "b", 16, 16),
                        ir.Assign("b", "+=", ir.Const(16)),
                        I("mvin", dram("A", add("d", 1)), add("a", 4096), 16, 16),
                        ir.Assign("d", "-=", ir.Const(64))),
                   ir.Assign("a", "+=", ir.Var("i")),
                   I("mvin", dram("A", 0), add("a", 1), 16, 16)),
              loop("j", 3, ir.Assign("w", "+=", ir.Const(8)),
                   I("mvin", dram("A", 0), ir.BinOp("&", ir.Var("w"), ir.Const(1023)), 16, 16)),
              I("mvin", dram("A", 0), "a", 16, 16))


@pytest.mark.parametrize("make", [lambda: basic_gemm(32, 128, 128), lambda: tiles_program(True),
                                  irregular_program, induction_program])
def test_trace_matches_sequential_walker(make):
    f = make()
    scalars = {p.name: 2 for p in f.params if not p.is_array and p.dtype != "f32"}
    inputs = dict(scalars)
    inputs.update({p.name: 1.0 for p in f.params if p.dtype == "f32"})
    ours = our_lines(f, inputs)
    assert ours == walker_lines(f, scalars)
    assert len(ours) > 0


@pytest.mark.skipif(not EXAMPLE_C.exists(), reason="example C not available")
def test_trace_of_parsed_exo_c_matches_walker():
    from lowering.parser import parse_c
    f = parse_c(EXAMPLE_C.read_text())
    inputs = {"scale": np.float32(1.0), "act": False}
    assert our_lines(f, inputs) == walker_lines(f)


def test_cpu_costs_are_attributed_to_the_next_instruction():
    tp = get_config().timing
    f = fn([("A", "i8", (16, 16), True)], config_ld(16),
           loop("i", 3, I("mvin", dram("A", 0), mul("i", 16), 16, 16)))
    t = build_trace(f, {}, get_config())
    entry = tp.cpu_local_assign + tp.cpu_loop_iter           # i = 0; final compare
    assert t.cpu_pre.tolist() == [0, entry + tp.cpu_loop_iter, tp.cpu_loop_iter,
                                  tp.cpu_loop_iter]
    # issue + the multiply of the local address + base+index of the DRAM operand
    assert t.cpu_issue.tolist()[1:] == [tp.cpu_issue + 2 * tp.cpu_arith_op] * 3


def test_ints_columns_shared_by_the_execute_instructions():
    """The timing model reads a preload's B and C from the columns of a compute's A and D."""
    # canonical operand order (docs/hardware.md): A/B address, D/C address, cols, rows, cols, rows
    assert [int_column("preload", n) for n in ("B_addr", "C_addr", "B_rows", "C_rows")] == \
        [0, 1, 3, 5]
    for op in ("compute_preloaded", "compute_accumulated"):
        assert [int_column(op, n) for n in ("A_addr", "D_addr", "A_rows", "D_rows")] == \
            [0, 1, 3, 5]
    assert int_column("mvin", "local_addr") == int_column("mvout", "local_addr") == 1
