"""`autocomp_exo.evaluation` and `gemmini.model.run` on real Exo C."""

from pathlib import Path

import numpy as np
import pytest

from autocomp_exo.evaluation import evaluate
from gemmini import model
from benchmarks.numpy_reference import numpy_gemm
from benchmarks.sample_programs import basic_gemm

EXAMPLE_C = Path(__file__).parent / "data" / "exo_c" / "gemm_64x64x64.c"


@pytest.mark.skipif(not EXAMPLE_C.exists(), reason="example C not available")
def test_exo_c_runs_and_matches_numpy():
    from lowering.parser import parse_c
    f = parse_c(EXAMPLE_C.read_text())
    rng = np.random.default_rng(1)
    A = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    B = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    for act in (False, True):
        r = model.run(f, dict(scale=np.float32(1 / 256), act=np.asarray(act), A=A, B=B))
        np.testing.assert_array_equal(r.outputs["C"], numpy_gemm(A, B, 1 / 256, act))
    # the hand-built IR has the same structure, so the same instruction mix
    rb = model.run(basic_gemm(64, 64, 64), dict(scale=np.float32(1), act=False, A=A, B=B))
    assert r.report.counts == rb.report.counts


def test_evaluate_ir_function_without_workload():
    e = evaluate(basic_gemm(16, 64, 64))
    assert e.check is None
    assert e.report.cycles > e.report.ideal_cycles > 0
    assert e.outputs["C"].shape == (16, 64)


@pytest.mark.skipif(not EXAMPLE_C.exists(), reason="example C not available")
def test_evaluate_c_text_with_inputs():
    rng = np.random.default_rng(2)
    A = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    B = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    e = evaluate(EXAMPLE_C.read_text(), inputs=dict(scale=np.float32(0.01), act=True, A=A, B=B),
                 macs=64 ** 3)
    np.testing.assert_array_equal(e.outputs["C"], numpy_gemm(A, B, 0.01, True))
    assert e.report.ideal_cycles == 64 ** 3 / 256


@pytest.mark.slow
def test_evaluate_against_reference_of_a_workload():
    from lowering.workload import Workload
    from lowering import suite as workloads
    w = Workload.from_spec(workloads.gemm(64, 64, 64))
    e = evaluate(w.mapped_c().c_text, workload=w)
    assert e.check.ok, e.check.message
    assert e.report.macs == 64 ** 3
