"""A long run is built, executed and timed in pieces (`gemmini.trace.iter_trace`): the
pieces make up the whole trace, and the streamed run gives the outputs numpy gives and
the report of the run in one piece."""

from functools import reduce

import numpy as np
import pytest

import gemmini.model as model_mod
import gemmini.trace as trace_mod
from benchmarks.sample_programs import basic_gemm, tiled_gemm
from gemmini.config import get_config
from gemmini.trace import build_trace, concat_traces, iter_trace

COLUMNS = ("op", "sid", "ints", "floats", "dram", "cpu_pre", "cpu_issue")


def _gemm_case(rng):
    A = rng.integers(-128, 128, (64, 128)).astype(np.int8)
    B = rng.integers(-128, 128, (128, 128)).astype(np.int8)
    return basic_gemm(64, 128, 128), {"A": A, "B": B, "scale": np.float32(0.02), "act": True}


@pytest.mark.parametrize("rows", [1, 37, 400])
def test_pieces_make_up_the_whole_trace(rows):
    fn, inputs = _gemm_case(np.random.default_rng(0))
    cfg = get_config("int8_16")
    whole = build_trace(fn, inputs, cfg)
    pieces = list(iter_trace(fn, inputs, cfg, rows))
    assert len(pieces) > 1
    assert all(p.cpu_tail == 0 for p in pieces[:-1])
    cat = reduce(concat_traces, pieces)
    for col in COLUMNS:
        np.testing.assert_array_equal(getattr(cat, col), getattr(whole, col))
    assert cat.cpu_tail == whole.cpu_tail and cat.instrs == whole.instrs


def test_no_piece_ends_between_a_preload_and_its_compute():
    fn = tiled_gemm(32, 32, 64)
    for p in iter_trace(fn, {}, get_config("int8_16"), 1):
        ex = p.op[np.isin(p.op, (trace_mod.PRELOAD, trace_mod.COMPUTE_P, trace_mod.COMPUTE_A))]
        assert len(ex) % 2 == 0 and (len(ex) == 0 or ex[-1] != trace_mod.PRELOAD)


def _streamed(monkeypatch, rows):
    monkeypatch.setattr(trace_mod, "PIECE_ROWS", rows)
    monkeypatch.setattr(model_mod, "WHOLE_ROWS", rows)


@pytest.mark.parametrize("case", ["int8", "fp32"])
def test_streamed_run_matches_numpy_and_the_whole_run(monkeypatch, case):
    rng = np.random.default_rng(1)
    if case == "int8":
        fn, inputs = _gemm_case(rng)
        want = np.clip(np.rint(np.float32(0.02) * (inputs["A"].astype(np.int64)
                                                    @ inputs["B"].astype(np.int64))
                               .astype(np.float32)), 0, 127)
        config = "int8_16"
    else:
        A = rng.integers(-6, 7, (32, 40)).astype(np.float32)
        B = rng.integers(-6, 7, (40, 32)).astype(np.float32)
        fn, inputs, want = tiled_gemm(32, 32, 40, dim=4, dtype="f32"), {"A": A, "B": B}, A @ B
        config = "fp32_4"
    whole = model_mod.run(fn, inputs, config)
    _streamed(monkeypatch, 50)
    streamed = model_mod.run(fn, inputs, config)
    out = next(iter(streamed.outputs.values()))
    np.testing.assert_array_equal(out, want)
    assert streamed.report == whole.report


def test_streamed_sets_run_one_by_one_with_the_same_results(monkeypatch):
    rng = np.random.default_rng(2)
    fn, first = _gemm_case(rng)
    second = dict(first, A=rng.integers(-128, 128, (64, 128)).astype(np.int8), act=False)
    whole = model_mod.run_batch(fn, [first, second])
    _streamed(monkeypatch, 50)
    streamed = model_mod.run_batch(fn, [first, second])
    for w, s in zip(whole, streamed):
        np.testing.assert_array_equal(w.outputs["C"], s.outputs["C"])
    assert streamed[0].report == whole[0].report and streamed[1].report is None


def test_streamed_run_reports_errors_with_their_line(monkeypatch):
    fn = tiled_gemm(32, 32, 64, style="zero", overwrite_k=9)   # fine: zeroed, never overwritten
    bad = tiled_gemm(32, 32, 64, style="overwrite", overwrite_k=9)  # accumulates into nothing
    _streamed(monkeypatch, 20)
    inputs = {"A": np.ones((32, 64), np.int8), "B": np.ones((64, 32), np.int8)}
    assert (model_mod.run(fn, inputs).outputs["C"] == 64).all()
    with pytest.raises(model_mod.HardwareError, match="never written") as e:
        model_mod.run(bad, inputs)
    assert e.value.line is not None


def test_b_transpose_state_carries_across_pieces(monkeypatch):
    """config_ex's B_transpose, set once at the top, still transposes (and costs the
    unroller's extra compute) in later pieces of a streamed run."""
    from lowering.exo_to_c import compile_proc
    from lowering.mapping import map_to_gemmini
    from lowering.parser import parse_c
    from tests import user_procs as U
    fn = parse_c(compile_proc(map_to_gemmini(U.matmul_abt)).c_text, function="matmul_abt")
    rng = np.random.default_rng(3)
    inputs = {"A": rng.integers(-128, 128, (16, 32)).astype(np.int8),
              "B": rng.integers(-128, 128, (24, 32)).astype(np.int8),
              "scale": np.float32(0.01), "act": False}
    want = np.clip(np.rint(np.float32(0.01) * (inputs["A"].astype(np.int64)
                                                @ inputs["B"].astype(np.int64).T)
                           .astype(np.float32)), -128, 127)
    whole = model_mod.run(fn, inputs)
    _streamed(monkeypatch, 6)
    streamed = model_mod.run(fn, inputs)
    np.testing.assert_array_equal(streamed.outputs["C"], want)
    assert streamed.report == whole.report
