"""Host emulator (gemmini/emulator): instruction semantics against hand-computed values,
Exo's own C against numpy, and loop_ws against numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lowering.emulator.build import run_c
from lowering.gcc import CompileError
from gemmini.errors import HardwareError
from benchmarks.numpy_reference import numpy_gemm

DATA = Path(__file__).parent / "data" / "emulator"
EXO_C = Path(__file__).parent / "data" / "exo_c"
G = 0xFFFFFFFF
ACC = 0x80000000
ACCUM = 0x40000000
RAW = 0x20000000


KERNEL_PARAMS = "int8_t* o8, int32_t* o32, const int8_t* i8, const int32_t* i32"


def kernel(body: str, params: str = KERNEL_PARAMS) -> str:
    return f'#include "gemmini.h"\nvoid k({params}) {{\n{body}\n}}\n'


def run(body: str, *, o8=(16, 16), o32=(16, 16), i8=None, i32=None, **kw):
    i8 = np.zeros((16, 16), np.int8) if i8 is None else np.asarray(i8, np.int8)
    i32 = np.zeros((16, 16), np.int32) if i32 is None else np.asarray(i32, np.int32)
    inputs = {"o8": np.zeros(o8, np.int8), "o32": np.zeros(o32, np.int32), "i8": i8, "i32": i32}
    return run_c(kernel(body), inputs, **kw)




# ---------------------------------------------------------------------------
# mvin / mvout
# ---------------------------------------------------------------------------

def test_scratchpad_round_trip_with_strides():
    src = np.arange(16 * 16, dtype=np.int32).reshape(16, 16).astype(np.int8)
    r = run("""
      config_ld(16 * 2, 1.0f, 0);        /* every other DRAM row */
      mvin(i8, 100, 16, 8);
      config_st(16);
      mvout(o8, 100, 16, 8);
    """, i8=src)
    np.testing.assert_array_equal(r.outputs["o8"][:8], src[::2])
    assert r.outputs["o8"][8:].sum() == 0


def test_multi_block_mvin_uses_block_stride():
    src = np.arange(2 * 40, dtype=np.int8).reshape(2, 40)
    r = run("""
      gemmini_extended4_config_ld(40, 1.0f, 0, 5, 0);
      gemmini_extended_mvin(i8, 10, 40, 2);
    """, i8=src, keep_memory=True)
    sp = r.scratchpad
    # element (r, c) lands in row 10 + r + (c / 16) * 5, column c % 16
    np.testing.assert_array_equal(sp[10:12], src[:, 0:16])
    np.testing.assert_array_equal(sp[15:17], src[:, 16:32])
    np.testing.assert_array_equal(sp[20:22, :8], src[:, 32:40])
    assert sp[20, 8] == 0x5A  # untouched: the uninitialized-memory pattern


def test_zero_mvin_broadcast_and_accumulate_into_accumulator():
    bias = np.arange(16, dtype=np.int32) * 1000 - 5000
    r = run(f"""
      gemmini_extended3_config_ld(0, 1.0f, 0, 0);
      gemmini_extended_mvin(0, {ACC} + 3, 16, 4);            /* zeros */
      gemmini_extended3_config_ld(0, 1.0f, 0, 2);            /* stride 0: repeat one row */
      gemmini_extended_mvin3(i32, {ACC | ACCUM} + 4, 16, 2);   /* add the bias to rows 4, 5 */
      gemmini_extended_mvin3(i32, {ACC | ACCUM} + 5, 16, 1);   /* and once more to row 5 */
      gemmini_extended_config_st(64, 0, 1.0f);
      gemmini_extended_mvout(o32, {ACC | RAW} + 3, 16, 4);
    """, i32=np.tile(bias, (16, 1)))
    out = r.outputs["o32"]
    np.testing.assert_array_equal(out[0], 0)
    np.testing.assert_array_equal(out[1], bias)
    np.testing.assert_array_equal(out[2], 2 * bias)
    np.testing.assert_array_equal(out[3], 0)


def test_int32_wraps_in_the_accumulator():
    vals = np.zeros((16, 16), np.int32)
    vals[0, :2] = [2**31 - 1, -(2**31)]
    vals[1, :2] = [1, -1]
    r = run(f"""
      config_ld(64, 1.0f, 0, 0);
      mvin(i32, {ACC}, 2, 1);
      mvin(i32 + 16, {ACC | ACCUM}, 2, 1);
      config_st(64);
      mvout(o32, {ACC | RAW}, 2, 1);
    """, i32=vals)
    assert list(r.outputs["o32"][0, :2]) == [-(2**31), 2**31 - 1]


def test_mvout_scales_rounds_half_even_saturates_and_relus():
    acc = np.zeros((16, 16), np.int32)
    acc[0, :9] = [1, 3, 5, -1, -3, 300, -300, 255, 7]
    body = f"""
      config_ld(64, 1.0f, 0, 0);
      mvin(i32, {ACC}, 9, 1);
      gemmini_extended_config_st(16, ACT, 0.5f);
      mvout(o8, {ACC}, 9, 1);
    """
    plain = run(body.replace("ACT", "NO_ACTIVATION"), i32=acc).outputs["o8"][0, :9]
    relu = run(body.replace("ACT", "RELU"), i32=acc).outputs["o8"][0, :9]
    # 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2, 150 -> 127, -150 -> -128,
    # 127.5 -> 128 -> 127, 3.5 -> 4
    assert list(plain) == [0, 2, 2, 0, -2, 127, -128, 127, 4]
    assert list(relu) == [0, 2, 2, 0, 0, 127, 0, 127, 4]


def test_acc_scale_macro_matches_hardware_rounding():
    r = run("""
      int32_t xs[4] = {5, 7, -5, 2147483647};
      for (int i = 0; i < 4; i++) o32[i] = ACC_SCALE(xs[i], 0.5f);
      o32[4] = ACC_SCALE(2147483647, 4.0f);
    """)
    assert list(r.outputs["o32"].ravel()[:5]) == [2, 4, -2, 1073741824, 2**31 - 1]


# ---------------------------------------------------------------------------
# preload / compute
# ---------------------------------------------------------------------------

def test_small_matmul_with_padding_bias_and_accumulate():
    A = np.zeros((16, 16), np.int8)
    A[:2, :3] = [[1, 2, 3], [4, 5, 6]]
    W = np.zeros((16, 16), np.int8)
    W[:3, :2] = [[1, -1], [2, 0], [-3, 5]]
    D = np.zeros((16, 16), np.int8)
    D[:2, :2] = [[10, 20], [30, 40]]
    # scratchpad rows 0-1 A, 2-4 W, 5-6 D
    i8 = np.concatenate([A[:2], W[:3], D[:2], np.zeros((9, 16), np.int8)])
    r = run(f"""
      config_ld(16, 1.0f, 0, 0);
      mvin(i8, 0, 16, 7);
      config_ex(WS, 0, 1, 0, 0);
      preload(2, {ACC}, 2, 3, 2, 2);
      compute_preloaded(0, 5, 3, 2, 2, 2);            /* C = D + A W */
      preload({G}, {ACC | ACCUM}, 2, 3, 2, 2);
      compute_accumulated(0, {G}, 3, 2, 16, 16);       /* C += A W with the same weights */
      preload({G}, {ACC} + 2, 2, 3, 2, 2);
      compute_accumulated(0, 5, 3, 1, 2, 2);           /* row 0 of A only: rows >= A_rows are D */
      preload(2, {G}, 2, 3, 2, 2);
      compute_preloaded(0, 5, 3, 2, 2, 2);             /* garbage C: nothing written */
      config_st(64);
      mvout(o32, {ACC | RAW}, 2, 4);
    """, i8=i8)
    # A @ W by hand: [[-4, 14], [-4, 26]]
    AW = np.array([[1 * 1 + 2 * 2 + 3 * -3, -1 + 0 + 15], [4 + 10 - 18, -4 + 0 + 30]])
    d = np.array([[10, 20], [30, 40]])
    out = r.outputs["o32"][:4, :2]
    np.testing.assert_array_equal(out[:2], d + 2 * AW)
    np.testing.assert_array_equal(out[2], d[0] + AW[0])
    np.testing.assert_array_equal(out[3], d[1])


def test_compute_into_scratchpad_saturates_to_int8():
    i8 = np.zeros((16, 16), np.int8)
    i8[0, 0] = 100   # A
    i8[1, :2] = [2, -2]  # W row 0
    r = run("""
      config_ld(16, 1.0f, 0, 0);
      mvin(i8, 0, 16, 2);
      config_ex(WS, 0, 1, 0, 0);
      preload(1, 50, 2, 1, 2, 1);
      compute_preloaded(0, 0xFFFFFFFF, 1, 1, 16, 16);
      config_st(16);
      mvout(o8, 50, 2, 1);
    """, i8=i8)
    assert list(r.outputs["o8"][0, :2]) == [127, -128]


def test_config_ex_a_stride_skips_scratchpad_rows():
    i8 = np.zeros((16, 16), np.int8)
    i8[0:4, 0] = [1, 99, 2, 99]   # A rows at 0 and 2
    i8[4, 0] = 3                  # W
    r = run(f"""
      config_ld(16, 1.0f, 0, 0);
      mvin(i8, 0, 16, 5);
      config_ex(WS, 0, 2, 0, 0);
      preload(4, {ACC}, 1, 1, 1, 2);
      compute_preloaded(0, {G}, 1, 2, 16, 16);
      config_st(64);
      mvout(o32, {ACC | RAW}, 1, 2);
    """, i8=i8)
    assert list(r.outputs["o32"][:2, 0]) == [3, 6]


def test_long_and_short_spellings_agree():
    rng = np.random.default_rng(1)
    A = rng.integers(-128, 128, (16, 16), dtype=np.int8)
    long_body = f"""
      gemmini_extended3_config_ld(16, 1.0f, 0, 1);
      gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);
      gemmini_extended_config_st(16, RELU, 0.25f);
      gemmini_extended_mvin2(i8, 0, 16, 16);
      gemmini_extended_mvin2(i8, 16, 16, 16);
      gemmini_extended3_config_ld(0, 1.0f, 0, 0);
      gemmini_extended_mvin(0, {ACC}, 16, 16);
      gemmini_extended_preload(16, {ACC | ACCUM}, 16, 16, 16, 16);
      gemmini_extended_compute_preloaded(0, {G}, 16, 16, 16, 16);
      gemmini_fence();
      gemmini_extended_mvout(o8, {ACC}, 16, 16);
    """
    short_body = f"""
      config_ld(16, 1.0f, 1);
      config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, 0, 0);
      config_st(16, RELU, 0.25f);
      mvin2(i8, 0, 16, 16);
      mvin2(i8, 16, 16, 16);
      config_ld(0);
      mvin(0, {ACC}, 16, 16);
      preload(16, {ACC | ACCUM}, 16, 16, 16, 16);
      compute_preloaded(0, {G}, 16, 16, 16, 16);
      fence();
      mvout(o8, {ACC}, 16, 16);
    """
    a = run(long_body, i8=A)
    b = run(short_body, i8=A)
    np.testing.assert_array_equal(a.outputs["o8"], numpy_gemm(A, A, 0.25, True))
    np.testing.assert_array_equal(b.outputs["o8"], a.outputs["o8"])
    assert a.counts == b.counts
    assert a.counts["preload"] == 1 and a.counts["mvin2"] == 2 and a.counts["fence"] == 1


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("body, needle", [
    ("config_ld(16);\nmvin(i8, 0, 16, 17);", "rows = 17"),
    ("config_ld(16);\nmvin(i8, 0, 65, 1);", "cols = 65"),
    (f"config_ld(64);\nmvin(i32, {ACC}, 17, 1);", "cols = 17"),
    ("config_ld(16);\nmvin(i8, 16383, 16, 2);", "outside the scratchpad"),
    ("config_ld(16);\nmvin(i8 + 250, 0, 16, 1);", "outside every array"),
    ("config_ex(WS, 0, 1, 0, 0);\ncompute_preloaded(0, 0, 16, 16, 16, 16);", "no preload"),
    (f"preload(0, {ACC}, 16, 16, 16, 16);\ncompute_preloaded(0, 0, 16, 16, 16, 16);", "config_ex"),
    ("config_st(16, 2, 1.0f);", "activation 2"),
    (f"config_ex(WS, 0, 1, 0, 0);\npreload({ACC}, {ACC}, 16, 16, 16, 16);\n"
     "compute_preloaded(0, 0, 16, 16, 16, 16);", "accumulator address"),
])
def test_errors_name_instruction_and_line(body, needle):
    with pytest.raises(HardwareError) as info:
        run(body)
    msg = str(info.value)
    assert needle in msg
    assert info.value.line == 3 + body.count("\n")  # the failing instruction is the last line


def test_first_error_stops_execution():
    with pytest.raises(HardwareError) as info:
        run("config_ld(16);\nmvin(i8, 0, 16, 17);\nmvin(i8, 99999, 16, 1);")
    assert "rows = 17" in str(info.value)


def test_gcc_errors_become_compile_errors_with_the_line():
    with pytest.raises(CompileError, match="gcc") as info:
        run("this is not C;")
    assert (info.value.filename, info.value.line) == ("kernel.c", 3)


# ---------------------------------------------------------------------------
# Exo's own C
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("act", [False, True])
def test_exo_basic_gemm_64_matches_numpy(act):
    c_text = (EXO_C / "gemm_64x64x64.c").read_text()     # the parser's fixture, shared
    h_text = (EXO_C / "gemm_64x64x64.h").read_text()
    rng = np.random.default_rng(7)
    A = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    B = rng.integers(-128, 128, (64, 64), dtype=np.int8)
    scale = np.float32(1 / 512)
    r = run_c(c_text, {"scale": scale, "act": act, "A": A, "B": B,
                       "C": np.zeros((64, 64), np.int8)}, h_text=h_text)
    np.testing.assert_array_equal(r.outputs["C"], numpy_gemm(A, B, scale, act))
    assert r.counts["compute_preloaded"] == 64 and r.counts["mvout"] == 16


def test_exo_gemm_non_square_matches_numpy():
    path = DATA / "exo_gemm_48x128x128.c"
    if not path.exists():
        pytest.skip("fixture not generated")
    rng = np.random.default_rng(8)
    A = rng.integers(-128, 128, (48, 128), dtype=np.int8)
    B = rng.integers(-128, 128, (128, 128), dtype=np.int8)
    scale = np.float32(0.003)
    r = run_c(path.read_text(), {"scale": scale, "act": True, "A": A, "B": B,
                                 "C": np.zeros((48, 128), np.int8)},
              h_text=(DATA / "gemm2.h").read_text())
    np.testing.assert_array_equal(r.outputs["C"], numpy_gemm(A, B, scale, True))


# ---------------------------------------------------------------------------
# loop_ws
# ---------------------------------------------------------------------------

LOOP_PARAMS = "int8_t* C, int32_t* C32, const int8_t* A, const int8_t* B, const int32_t* D"


def run_loop(body, A, B, D, m, n, **kw):
    inputs = {"C": np.zeros((m, n), np.int8), "C32": np.zeros((m, n), np.int32),
              "A": A, "B": B, "D": D}
    return run_c(kernel(body, LOOP_PARAMS), inputs, **kw)


@pytest.mark.parametrize("a_t, b_t", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_loop_ws_with_pads_bias_and_transposes(a_t, b_t):
    m, n, k = 37, 50, 21       # blocks 3, 4, 2; pads 11, 14, 11
    rng = np.random.default_rng(3 + 2 * a_t + b_t)
    A = rng.integers(-128, 128, (m, k), dtype=np.int8)
    B = rng.integers(-128, 128, (k, n), dtype=np.int8)
    bias = rng.integers(-3000, 3000, (1, n), dtype=np.int32)
    A_dram = np.ascontiguousarray(A.T) if a_t else A
    B_dram = np.ascontiguousarray(B.T) if b_t else B
    a_stride = m if a_t else k
    b_stride = k if b_t else n
    body = f"""
      gemmini_extended_config_st({n}, RELU, 0.01f);
      gemmini_loop_ws(3, 4, 2, 11, 14, 11, A, B, D, C, {a_stride}, {b_stride}, 0, {n},
                      {a_t}, {b_t}, false, false, true, RELU);
      loop_ws(3, 4, 2, 11, 14, 11, A, B, 0, C32, {a_stride}, {b_stride}, 0, {n},
              {a_t}, {b_t}, true, false, false, 0);
    """
    r = run_loop(body, A_dram, B_dram, bias, m, n)
    np.testing.assert_array_equal(r.outputs["C"], numpy_gemm(A, B, 0.01, True, bias))
    np.testing.assert_array_equal(r.outputs["C32"], A.astype(np.int32) @ B.astype(np.int32))
    assert r.counts["loop_ws"] == 2 and r.counts["preload"] == 0


def test_loop_ws_chain_over_k_accumulates_in_place():
    m, n, k = 32, 32, 96
    rng = np.random.default_rng(5)
    A = rng.integers(-128, 128, (m, k), dtype=np.int8)
    B = rng.integers(-128, 128, (k, n), dtype=np.int8)
    bias = rng.integers(-3000, 3000, (m, n), dtype=np.int32)
    body = f"""
      config_st({n}, 0, 0.02f);
      /* a loop that stores flips the accumulator half; make the chain start on the other one */
      loop_ws(1, 1, 1, 0, 0, 0, A, B, 0, C, {k}, {n}, 0, {n}, 0, 0, 0, 0, 0, 0);
      loop_ws(2, 2, 2, 0, 0, 0, A, B, D, 0, {k}, {n}, {n}, {n}, 0, 0, 0, 0, 1, 0);
      loop_ws(2, 2, 2, 0, 0, 0, A + 32, B + 32 * {n}, 0, 0, {k}, {n}, 0, {n}, 0, 0, 0, 0, 1, 0);
      loop_ws(2, 2, 2, 0, 0, 0, A + 64, B + 64 * {n}, 0, C, {k}, {n}, 0, {n}, 0, 0, 0, 0, 1, 0);
    """
    r = run_loop(body, A, B, bias, m, n)
    np.testing.assert_array_equal(r.outputs["C"], numpy_gemm(A, B, 0.02, False, bias))


def test_loop_ws_without_ex_accumulate_drops_the_bias():
    m = n = k = 16
    rng = np.random.default_rng(6)
    A = rng.integers(-128, 128, (m, k), dtype=np.int8)
    B = rng.integers(-128, 128, (k, n), dtype=np.int8)
    bias = np.full((1, n), 1000, np.int32)
    body = "loop_ws(1, 1, 1, 0, 0, 0, A, B, D, C32, 16, 16, 0, 16, 0, 0, 1, 0, 0, 0);"
    r = run_loop(body, A, B, bias, m, n)
    np.testing.assert_array_equal(r.outputs["C32"], A.astype(np.int32) @ B.astype(np.int32))


def test_loop_ws_capacity_errors():
    A = np.zeros((16, 16), np.int8)
    with pytest.raises(HardwareError, match="accumulator rows"):
        run_loop("loop_ws(6, 6, 1, 0, 0, 0, A, A, 0, C, 16, 16, 0, 16, 0, 0, 0, 0, 0, 0);",
                 A, A, np.zeros(1, np.int32), 16, 16)
    with pytest.raises(HardwareError, match="scratchpad rows"):
        run_loop("loop_ws(1, 1, 600, 0, 0, 0, A, A, 0, C, 16, 16, 0, 16, 0, 0, 0, 0, 0, 0);",
                 A, A, np.zeros(1, np.int32), 16, 16)


# ---------------------------------------------------------------------------
# other configurations
# ---------------------------------------------------------------------------

def test_int8_32_configuration():
    rng = np.random.default_rng(9)
    A = rng.integers(-128, 128, (32, 32), dtype=np.int8)
    body = f"""
      config_ld(32);
      mvin(i8, 0, 32, 32);
      config_ld(0, 1.0f, 1);
      mvin2(0, {ACC}, 32, 32);
      config_ex(WS, 0, 1, 0, 0);
      preload(0, {ACC | ACCUM}, 32, 32, 32, 32);
      compute_preloaded(0, {G}, 32, 32, 32, 32);
      config_st(32, 0, 0.001f);
      mvout(o8, {ACC}, 32, 32);
    """
    r = run(body, o8=(32, 32), i8=A, config="int8_32")
    np.testing.assert_array_equal(r.outputs["o8"], numpy_gemm(A, A, 0.001, False))
    with pytest.raises(HardwareError, match="rows = 32"):
        run(body, o8=(32, 32), i8=A)   # the same program breaks DIM = 16


def test_builds_are_cached_by_content_and_config(tmp_path, monkeypatch):
    from lowering.emulator.build import build_kernel

    monkeypatch.setenv("AUTOCOMP_EXO_CACHE", str(tmp_path))
    src = kernel("config_ld(16);")
    first = build_kernel(src)
    assert build_kernel(src) == first
    assert build_kernel(src, config="int8_32") != first
    assert build_kernel(src + "\n") != first
    assert first.parent == tmp_path / "emulator"


def test_load_configs_are_per_id_and_shrunk_reads_int8_into_the_accumulator():
    src = np.arange(64, dtype=np.int8).reshape(4, 16) - 30
    r = run(f"""
      gemmini_extended3_config_ld(16, 1.0f, 0, 0);       /* mvin: consecutive rows */
      gemmini_extended3_config_ld(32, 1.0f, 0, 1);       /* mvin2: every other row */
      gemmini_extended3_config_ld(16, 1.0f, 1, 2);       /* mvin3: int8 into the accumulator */
      gemmini_extended_mvin(i8, 0, 16, 2);
      gemmini_extended_mvin2(i8, 2, 16, 2);
      gemmini_extended_mvin3(i8, {ACC}, 16, 2);
      config_st(16);
      mvout(o8, 0, 16, 4);
      config_st(64);
      mvout(o32, {ACC | RAW}, 16, 2);
    """, i8=np.concatenate([src, np.zeros((12, 16), np.int8)]))
    np.testing.assert_array_equal(r.outputs["o8"][:4], src[[0, 1, 0, 2]])
    np.testing.assert_array_equal(r.outputs["o32"][:2], src[:2].astype(np.int32))


def test_load_scale_rounds_half_even_and_saturates():
    src = np.zeros((16, 16), np.int8)
    src[0, :4] = [1, 3, 100, -100]
    r = run("""
      gemmini_extended3_config_ld(16, 1.5f, 0, 0);
      mvin(i8, 0, 16, 1);
      config_st(16);
      mvout(o8, 0, 4, 1);
    """, i8=src)
    assert list(r.outputs["o8"][0, :4]) == [2, 4, 127, -128]   # 1.5 -> 2, 4.5 -> 4


def test_garbage_a_operand_is_zeros():
    r = run(f"""
      config_ld(0);
      mvin(0, {ACC}, 16, 16);
      config_ex(WS, 0, 1, 0, 0);
      preload({G}, {ACC | ACCUM}, 16, 16, 16, 16);
      compute_preloaded({G}, {G}, 16, 16, 16, 16);
      config_st(64);
      mvout(o32, {ACC | RAW}, 16, 16);
    """)
    assert not r.outputs["o32"].any()
