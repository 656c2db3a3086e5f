"""The Exo hand-optimized baseline (benchmarks/baselines/exo_hand.py).

Expectations are independent of our code: the instruction-count fingerprint of
Exo's published hand schedules (hardware.md section 6), counts computed by hand
for the small fixtures, and numpy for the arithmetic. Instructions are counted
by compiling Exo's C with gcc against a counting shim (benchmarks/count_instructions.py),
not by our model.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from benchmarks.baselines.exo_hand import GemmPlan, gemm_plan, hand_c, hand_schedule, schedule_gemm
from gemmini.errors import UnsupportedConstruct
from benchmarks.count_instructions import CountError, count_instructions
from lowering.gcc import CompileError
from benchmarks.numpy_reference import numpy_conv, numpy_gemm

DATA = Path(__file__).resolve().parent / "data" / "exo_hand"

# hardware.md section 6: zero/bias mvin, mvin2 (A), mvin3 (B), preload = compute, mvout
FINGERPRINT = {
    (512, 512, 512): (1024, 256, 512, 32768, 1024),
    (12544, 256, 64): (12544, 784, 16, 50176, 12544),
    (12544, 64, 256): (3136, 3136, 16, 50176, 3136),
    (3136, 512, 128): (6272, 392, 64, 50176, 6272),
    (3136, 128, 512): (1568, 1568, 64, 50176, 1568),
    (784, 1024, 256): (3136, 196, 1792, 50176, 3136),
}
KINDS = ("mvin", "mvin2", "mvin3", "preload", "mvout")


def _read(name: str) -> tuple[str, str]:
    c, h = DATA / f"{name}.c", DATA / f"{name}.h"
    if not c.exists():
        pytest.skip(f"fixture {c.name} missing (python tools/gen_exo_hand_fixtures.py --suite)")
    return c.read_text(), h.read_text()


def _assert_fingerprint(counts: dict[str, int], shape) -> None:
    assert counts["preload"] == counts["compute_preloaded"]
    assert counts["mvin_zero"] == counts["mvin"]          # GEMM: every id-0 mvin zeroes
    for kind, want in zip(KINDS, FINGERPRINT[shape]):
        assert abs(counts[kind] - want) <= 0.05 * want, (shape, kind, counts[kind], want)
    assert counts["config_ex"] == 1 and counts["config_st"] == 1    # hoisted configs
    assert counts["config_ld"] == 3


# --------------------------------------------------------------------------
# the counting tool itself
# --------------------------------------------------------------------------

_TINY = """\
#include "tiny.h"
#include <include/gemmini.h>
// tiny(
//     A : i8[4, 16] @DRAM,
//     scale : f32 @DRAM
// )
void tiny( tiny_Context *ctxt, const int8_t* A, const float* scale ) {
gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);
for (int i = 0; i < 3; i++) {
  gemmini_extended_mvin( 0, 0x80000000 + 16 * i, 16, 16 );
  gemmini_extended_mvin( &A[0], 0x80000000, 16, 4 );
  for (int k = 0; k < 5; k++) {
    gemmini_extended_mvin2( &A[0], 0, 16, 4 );
    gemmini_extended_preload(0, 0x80000000, 16, 16, 16, 16);
    gemmini_extended_compute_preloaded(0, ~((uint32_t)0), 16, 16, 16, 16);
  }
  if (i == 1) gemmini_extended_mvin3( &A[0], 0, 16, 4 );
  gemmini_extended_mvout( &A[0], 0x80000000, 16, 4 );
}
}
"""
_TINY_H = "typedef struct tiny_Context { int unused; } tiny_Context;\n"


def test_count_tool_counts_a_hand_written_kernel():
    counts = count_instructions(_TINY, _TINY_H)
    assert counts["config_ex"] == 1
    assert counts["mvin"] == 6 and counts["mvin_zero"] == 3
    assert counts["mvin2"] == 15 and counts["preload"] == 15
    assert counts["compute_preloaded"] == 15
    assert counts["mvin3"] == 1 and counts["mvout"] == 3
    assert counts["compute_accumulated"] == 0 and counts["loop_ws"] == 0


def test_count_tool_reports_bad_c():
    with pytest.raises(CompileError, match="gcc"):
        count_instructions(_TINY.replace("for (int k", "for (int k k"), _TINY_H)
    with pytest.raises(CountError, match="signature"):
        count_instructions("void f(void) {}", "")


# --------------------------------------------------------------------------
# plans and argument handling
# --------------------------------------------------------------------------

@pytest.mark.parametrize("shape, plan", [
    ((512, 512, 512), GemmPlan(16, 2)),       # B is the whole scratchpad: 2 column groups
    ((784, 1024, 256), GemmPlan(7, 2)),       # 49 row tiles in groups of 7
    ((12544, 256, 64), GemmPlan(784, 1)),     # all of B resident, loaded once
    ((3136, 128, 512), GemmPlan(196, 1)),
])
def test_gemm_plan(shape, plan):
    assert gemm_plan(*shape) == plan


def test_gemm_plan_rejects_partial_blocks():
    with pytest.raises(UnsupportedConstruct, match="100x64x64"):
        gemm_plan(100, 64, 64)


def test_unknown_workload_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown workload"):
        hand_schedule("gemm_fast")
    with pytest.raises(ValueError, match="cannot read workload"):
        hand_schedule((1, 2))


def test_plan_must_divide_the_loops():
    with pytest.raises(ValueError, match="does not divide"):
        schedule_gemm(64, 128, 128, GemmPlan(3, 1))


# --------------------------------------------------------------------------
# small fixtures: exact counts and numerics
# --------------------------------------------------------------------------

SMALL = {
    # name: (M, N, K, zero, A, B, matmul, mvout) computed by hand:
    # zero = mvout = M/16 * N/16; A = M/16 * K/64 (once); B = K/16 * N/64 * (loads of B)
    "gemm_64x128x128_hand": (64, 128, 128, 32, 8, 16, 256, 32),
    "gemm_64x256x128_hand": (64, 256, 128, 64, 8, 2 * 32, 512, 64),   # B loaded twice
}


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
    rng = np.random.default_rng(11)
    A = rng.integers(-128, 128, (M, K), dtype=np.int8)
    B = rng.integers(-128, 128, (K, N), dtype=np.int8)
    scale = np.float32(1 / 700)
    r = run_c(c_text, {"scale": scale, "act": act, "A": A, "B": B,
                       "C": np.zeros((M, N), np.int8)}, h_text=h_text)
    np.testing.assert_array_equal(r.outputs["C"], numpy_gemm(A, B, scale, act))


# --------------------------------------------------------------------------
# the six suite GEMMs
# --------------------------------------------------------------------------

@pytest.mark.parametrize("shape", sorted(FINGERPRINT))
def test_suite_fixture_matches_fingerprint(shape):
    M, N, K = shape
    counts = count_instructions(*_read(f"gemm_{M}x{N}x{K}_hand"))
    _assert_fingerprint(counts, shape)


@pytest.mark.slow
@pytest.mark.parametrize("name, shape_plan", sorted(SMALL.items()))
def test_small_fixture_is_what_exo_builds(name, shape_plan):
    M, N, K = shape_plan[:3]
    plan = {"gemm_64x128x128_hand": GemmPlan(4, 1), "gemm_64x256x128_hand": GemmPlan(2, 2)}[name]
    from lowering.exo_to_c import compile_proc
    c = compile_proc(schedule_gemm(M, N, K, plan))
    assert c.c_text == _read(name)[0]


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(FINGERPRINT))
def test_suite_build_matches_fingerprint(shape):
    c = hand_c(shape)          # minutes from a cold cache, instant from a warm one
    _assert_fingerprint(count_instructions(c.c_text, c.h_text), shape)


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(512, 512, 512), (784, 1024, 256)])
def test_column_group_suite_gemm_matches_numpy_on_emulator(shape):
    run_c = importlib.import_module("lowering.emulator.build").run_c
    M, N, K = shape
    c_text, h_text = _read(f"gemm_{M}x{N}x{K}_hand")
    rng = np.random.default_rng(5)
    A = rng.integers(-128, 128, (M, K), dtype=np.int8)
    B = rng.integers(-128, 128, (K, N), dtype=np.int8)
    scale = np.float32(1 / 2000)
    r = run_c(c_text, {"scale": scale, "act": True, "A": A, "B": B,
                       "C": np.zeros((M, N), np.int8)}, h_text=h_text)
    np.testing.assert_array_equal(r.outputs["C"], numpy_gemm(A, B, scale, True))


# --------------------------------------------------------------------------
# convolutions
# --------------------------------------------------------------------------

# (batch, in_dim, in_ch, out_ch) -> bias mvin, weight mvin2, input mvin3, matmul, mvout,
# computed by hand: tiles = batch * out_dim * column tiles (16-wide plus remainder);
# weights once per output-channel group and column part; 9 input loads per tile and
# 64-channel slice; 9 * kch blocks * och blocks matmuls per tile.
CONV_COUNTS = {
    "conv_20x20x64_b1_hand": ((1, 20, 64, 64), (144, 2 * 9 * 4, 18 * 2 * 9, 5184, 144)),
    # 128 channels: two groups of 64 output channels, two 64-channel input slices
    "conv_20x20x128_b1_hand": ((1, 20, 128, 128), (288, 288, 1296, 20736, 288)),
    "conv_58x58x64_hand": ((4, 58, 64, 64), (3584, 72, 8064, 129024, 3584)),
    "conv_30x30x128_hand": ((4, 30, 128, 128), (1792, 288, 8064, 129024, 1792)),
    "conv_16x16x256_hand": ((4, 16, 256, 256), (896, 576, 8064, 129024, 896)),
}


@pytest.mark.parametrize("name", sorted(CONV_COUNTS))
def test_conv_fixture_counts(name):
    shape, want = CONV_COUNTS[name]
    counts = count_instructions(*_read(name))
    got = tuple(counts[k] for k in KINDS)
    assert got == want
    assert counts["mvin_zero"] == 0                     # bias loads, not zeroing
    assert counts["config_ex"] == 1 and counts["config_st"] == 1
    # no config in the tile loops but the one each input load carries (its block stride)
    assert counts["config_ld"] <= counts["mvin3"] + counts["mvin2"] + 4
    # 9 MACs per output per input channel, at most 16x16x16 per matmul
    batch, in_dim, in_ch, out_ch = shape
    macs = batch * (in_dim - 2) ** 2 * out_ch * 9 * in_ch
    assert counts["preload"] * BLOCK_MACS >= macs


BLOCK_MACS = 16 * 16 * 16


def _check_conv_on_emulator(name, act):
    run_c = importlib.import_module("lowering.emulator.build").run_c
    (batch, in_dim, in_ch, out_ch), _ = CONV_COUNTS[name]
    c_text, h_text = _read(name)
    rng = np.random.default_rng(13)
    inp = rng.integers(-128, 128, (batch, in_dim, in_dim, in_ch), dtype=np.int8)
    w = rng.integers(-128, 128, (3, 3, in_ch, out_ch), dtype=np.int8)
    bias = rng.integers(-20000, 20000, (1, out_ch), dtype=np.int32)
    scale = np.float32(1 / 4000)
    od = in_dim - 2
    r = run_c(c_text, {"output": np.zeros((batch, od, od, out_ch), np.int8), "bias": bias,
                       "inp": inp, "weights": w, "act": act, "scale": scale}, h_text=h_text)
    np.testing.assert_array_equal(r.outputs["output"], numpy_conv(inp, w, bias, scale, act))


@pytest.mark.parametrize("act", [False, True])
@pytest.mark.parametrize("name", ["conv_20x20x64_b1_hand", "conv_20x20x128_b1_hand"])
def test_small_conv_matches_numpy_on_emulator(name, act):
    _check_conv_on_emulator(name, act)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["conv_58x58x64_hand", "conv_30x30x128_hand",
                                  "conv_16x16x256_hand"])
def test_suite_conv_matches_numpy_on_emulator(name):
    _check_conv_on_emulator(name, True)
