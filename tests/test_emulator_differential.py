"""Differential tests: host emulator == model == numpy reference.

Kernels: Exo's own C for the benchmark workloads (tests/data/exo_c, the basic
mapping) and our baselines. Each Exo kernel runs three ways: Exo's C compiled
directly against the emulator; Exo's C parsed to IR, printed by the toolchain
printer and compiled against the emulator; the IR on the model. All three must
equal numpy's C = act(clamp(round_half_even(scale * (A @ B + bias)))).
The full-size suite runs are marked slow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lowering.emulator.build import run_c, run_ir
from numpy_reference import numpy_gemm, numpy_conv

EXO_C = Path(__file__).parent / "data" / "exo_c"






def inputs_and_expect(params, seed: int, act: bool):
    """Random inputs for a GEMM or conv signature, and numpy's expected output."""
    rng = np.random.default_rng(seed)
    shapes = {p.name: p.shape for p in params}
    if "A" in shapes:
        (M, K), (_, N) = shapes["A"], shapes["B"]
        A = rng.integers(-128, 128, (M, K), dtype=np.int8)
        B = rng.integers(-128, 128, (K, N), dtype=np.int8)
        scale = np.float32(1.0 / (K * 24))
        return ({"A": A, "B": B, "scale": scale, "act": act}, "C",
                numpy_gemm(A, B, scale, act))
    inp = rng.integers(-128, 128, shapes["inp"], dtype=np.int8)
    w = rng.integers(-128, 128, shapes["weights"], dtype=np.int8)
    bias = rng.integers(-20000, 20000, shapes["bias"], dtype=np.int32)
    scale = np.float32(1.0 / (shapes["inp"][3] * 200))
    return ({"inp": inp, "weights": w, "bias": bias, "scale": scale, "act": act}, "output",
            numpy_conv(inp, w, bias, scale, act))


def check_exo_kernel(stem: str, act: bool, *, model: bool = True):
    from lowering.parser import parse_c

    c_text = (EXO_C / f"{stem}.c").read_text()
    h_text = (EXO_C / f"{stem}.h").read_text()
    fn = parse_c(c_text, filename=f"{stem}.c")
    inputs, out, expect = inputs_and_expect(fn.params, len(stem), act)
    direct = run_c(c_text, inputs, params=fn.params, context=fn.context, function=fn.name,
                   h_text=h_text)
    np.testing.assert_array_equal(direct.outputs[out], expect)
    printed = run_ir(fn, inputs)
    np.testing.assert_array_equal(printed.outputs[out], expect)
    assert printed.counts == direct.counts
    if model:
        from gemmini import model as gemmini_model
        ran = gemmini_model.run(fn, inputs, timing=False)
        np.testing.assert_array_equal(ran.outputs[out], expect)


@pytest.mark.parametrize("stem", ["gemm_64x64x64", "conv_1x22x22x16"])
def test_small_exo_kernels_agree(stem):
    check_exo_kernel(stem, act=True)


@pytest.mark.slow
@pytest.mark.parametrize("stem", sorted(p.stem for p in EXO_C.glob("*.c")
                                        if p.stem not in ("gemm_64x64x64", "conv_1x22x22x16")))
def test_benchmark_exo_kernels_agree(stem):
    from gemmini.errors import HardwareError
    try:
        check_exo_kernel(stem, act=False, model=False)   # the model's own suite tests time it
    except HardwareError as e:
        if "cols = 128" in str(e):
            pytest.xfail("Exo's conv moves 8 blocks per mvin; the config allows "
                         f"max_mvin_blocks_sp = 4 ({e})")
        raise


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["vendor", "vendor_cpu", "fsm"])
def test_suite_baselines_match_numpy_on_emulator(kind):
    from lowering.generators import fsm, vendor_lib
    from lowering.suite import SUITE

    for spec in SUITE:
        if kind == "vendor_cpu" and spec.kind != "gemm":
            continue
        if kind == "vendor":
            fn = vendor_lib.vendor_baseline(spec)
        elif kind == "vendor_cpu":
            s = spec.shape_dict
            fn = vendor_lib.vendor_gemm(s["M"], s["N"], s["K"], sequencer="cpu", name=spec.name)
        else:
            fn = fsm.fsm_baseline(spec, score="analytic")
        inputs, out, expect = inputs_and_expect(fn.params, 1, True)
        np.testing.assert_array_equal(run_ir(fn, inputs).outputs[out], expect, err_msg=spec.name)
