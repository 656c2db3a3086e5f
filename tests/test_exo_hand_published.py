"""The second hand family, scheduled the way Exo's published Gemmini matmul schedules are
(benchmarks/baselines/exo_hand_published.py).

Independent expectations: the dynamic instruction fingerprint of the published hand
schedules (hardware.md section 6, the same as our family's), the published C's buffer
sizes (the ``gemm_malloc`` arguments of Exo's generated ``matmul_*`` functions, read
from exo-lang/exo's golden output), counts worked out by hand for the small fixtures,
and numpy for the arithmetic (the C run on the host emulator of Gemmini).
"""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest

from benchmarks.baselines.exo_hand import GemmPlan
from benchmarks.baselines.exo_hand_published import published_plan
from benchmarks.count_instructions import count_instructions
from benchmarks.numpy_reference import numpy_gemm
from tests.test_exo_hand import FINGERPRINT, _assert_fingerprint, _read

# (M, N, K) -> scratchpad bytes of a and b in the published C (a allocated first)
PUBLISHED_BUFFERS = {
    (512, 512, 512): (16 * 16 * 4 * 8 * 8 * 2, 16 * 16 * 4 * 4 * 8 * 4),
    (12544, 256, 64): (16 * 16 * 4 * 1 * 196, 16 * 16 * 4 * 4 * 1 * 4),
    (12544, 64, 256): (16 * 16 * 4 * 4 * 8, 16 * 16 * 4 * 4 * 4),
    (3136, 512, 128): (16 * 16 * 4 * 2 * 49, 16 * 16 * 4 * 4 * 2 * 8),
    (3136, 128, 512): (16 * 16 * 4 * 8 * 14, 16 * 16 * 4 * 4 * 8 * 2),
    (784, 1024, 256): (16 * 16 * 4 * 4 * 7, 16 * 16 * 4 * 4 * 4 * 8),
}
MALLOC = re.compile(r"int8_t \*(\w+) = .*gemm_malloc \(([\d *]+) \* sizeof")

SMALL = {
    # name: (M, N, K, zero, A, B, matmul, mvout) by hand: zero = mvout = M/16 * N/16;
    # A = M/16 * K/64 (once per row tile); B = K/16 * N/64 per load of B
    "gemm_64x128x128_exo_style": (64, 128, 128, 32, 8, 16, 256, 32),   # B once, 2 row groups
    "gemm_64x256x128_exo_style": (64, 256, 128, 64, 8, 2 * 32, 512, 64),  # B per row group
}


def _buffers(c_text: str) -> dict[str, int]:
    return {name: eval_product(expr) for name, expr in MALLOC.findall(c_text)}


def eval_product(expr: str) -> int:
    out = 1
    for factor in expr.split("*"):
        out *= int(factor)
    return out


def test_published_tilings_of_the_suite():
    assert published_plan(12544, 256, 64) == GemmPlan(196, 1)
    assert published_plan(784, 1024, 256) == GemmPlan(7, 2)
    # another GEMM: the largest row group whose A tiles fit beside all of B
    assert published_plan(64, 128, 128) == GemmPlan(4, 1)


@pytest.mark.parametrize("shape", sorted(FINGERPRINT))
def test_suite_fixture_matches_fingerprint_and_published_buffers(shape):
    M, N, K = shape
    c_text, h_text = _read(f"gemm_{M}x{N}x{K}_exo_style")
    _assert_fingerprint(count_instructions(c_text, h_text), shape)
    bufs = _buffers(c_text)
    assert list(bufs) == ["a", "b"]                       # a first: A starts at row 0
    assert (bufs["a"], bufs["b"]) == PUBLISHED_BUFFERS[shape]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_fixture_counts(name):
    M, N, K, zero, a, b, mm, out = SMALL[name]
    counts = count_instructions(*_read(name))
    assert (counts["mvin"], counts["mvin2"], counts["mvin3"], counts["preload"],
            counts["mvout"]) == (zero, a, b, mm, out)


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("act", [False, True])
def test_small_fixture_matches_numpy_on_emulator(name, act):
    run_c = importlib.import_module("lowering.emulator.build").run_c
    M, N, K = SMALL[name][:3]
    c_text, h_text = _read(name)
    rng = np.random.default_rng(3)
    A = rng.integers(-128, 128, (M, K), dtype=np.int8)
    B = rng.integers(-128, 128, (K, N), dtype=np.int8)
    scale = np.float32(1 / 700)
    r = run_c(c_text, {"scale": scale, "act": act, "A": A, "B": B,
                       "C": np.zeros((M, N), np.int8)}, h_text=h_text)
    np.testing.assert_array_equal(r.outputs["C"], numpy_gemm(A, B, scale, act))


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(12544, 256, 64), (784, 1024, 256)])
def test_suite_gemm_matches_numpy_on_emulator(shape):
    run_c = importlib.import_module("lowering.emulator.build").run_c
    M, N, K = shape
    c_text, h_text = _read(f"gemm_{M}x{N}x{K}_exo_style")
    rng = np.random.default_rng(5)
    A = rng.integers(-128, 128, (M, K), dtype=np.int8)
    B = rng.integers(-128, 128, (K, N), dtype=np.int8)
    scale = np.float32(1 / 2000)
    r = run_c(c_text, {"scale": scale, "act": True, "A": A, "B": B,
                       "C": np.zeros((M, N), np.int8)}, h_text=h_text)
    np.testing.assert_array_equal(r.outputs["C"], numpy_gemm(A, B, scale, True))
