"""Accumulator blocks overwritten by a compute's preload and then accumulated (the hand-
written style), on the model's batched path, against numpy."""

import numpy as np
import pytest

from benchmarks.sample_programs import tiled_gemm
from gemmini import model
from gemmini.errors import HardwareError


def _inputs(M, N, K, dtype, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(-6, 7, (M, K)).astype(dtype)
    B = rng.integers(-6, 7, (K, N)).astype(dtype)
    return A, B


@pytest.mark.parametrize("style", ["overwrite", "zero"])
def test_tiled_gemm_int8_matches_numpy(style):
    A, B = _inputs(48, 64, 80, np.int8, 1)
    out = model.run(tiled_gemm(48, 64, 80, style=style), {"A": A, "B": B}).outputs["C"]
    want = np.clip(A.astype(np.int64) @ B.astype(np.int64), -128, 127)
    np.testing.assert_array_equal(out, want)


def test_overwrite_in_the_middle_drops_the_earlier_blocks():
    A, B = _inputs(32, 32, 64, np.int8, 2)
    f = tiled_gemm(32, 32, 64, style="zero", overwrite_k=2)
    out = model.run(f, {"A": A, "B": B}, timing=False).outputs["C"]
    # k-blocks 0 and 1 (columns / rows 0..31) are overwritten by block 2
    want = A[:, 32:].astype(np.int64) @ B[32:].astype(np.int64)
    np.testing.assert_array_equal(out, np.clip(want, -128, 127))


def test_accumulating_into_a_never_written_block_is_still_refused():
    A, B = _inputs(16, 16, 32, np.int8, 3)
    f = tiled_gemm(16, 16, 32, style="overwrite", overwrite_k=5)   # no block overwrites
    with pytest.raises(HardwareError, match="never written"):
        model.run(f, {"A": A, "B": B}, timing=False)


@pytest.mark.parametrize("style", ["overwrite", "zero"])
def test_tiled_gemm_fp32_matches_numpy(style):
    A, B = _inputs(16, 24, 20, np.float32, 4)      # small integers: float sums are exact
    f = tiled_gemm(16, 24, 20, dim=4, dtype="f32", style=style)
    out = model.run(f, {"A": A, "B": B}, "fp32_4").outputs["C"]
    np.testing.assert_array_equal(out, A.astype(np.float64) @ B.astype(np.float64))


def test_both_styles_cost_about_the_same():
    A, B = _inputs(64, 64, 64, np.int8, 5)
    zero = model.run(tiled_gemm(64, 64, 64, style="zero"), {"A": A, "B": B}).report
    over = model.run(tiled_gemm(64, 64, 64, style="overwrite"), {"A": A, "B": B}).report
    assert abs(over.cycles - zero.cycles) < 0.1 * zero.cycles
