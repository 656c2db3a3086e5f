"""CPU code inside kernels: parse, print, execute exactly, time, catch races.

Expectations are independent: numpy computations written here, the same C compiled
natively with gcc (the host emulator) and hand-counted values.
"""

from __future__ import annotations

import numpy as np
import pytest

from gemmini import ir
from gemmini.errors import HardwareError, ParseError, UnsupportedConstruct
from gemmini.model import run, run_batch
from lowering.emulator.build import run_ir
from lowering.parser import parse_c
from lowering.print_compact import to_compact
from lowering.print_toolchain import to_toolchain_c

GEMM = """
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_st(32);
  config_ld(32, 1.0f, 16, 0);
  uint32_t a_sp = 0;
  uint32_t b_sp = 32;
  uint32_t acc = 1u << 31;
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 2; j++) {
      mvin(0, acc, 16, 16);
      for (int k = 0; k < 2; k++) {
        mvin(&A[16 * i][16 * k], a_sp + 16 * k, 16, 16);
        mvin(&B[16 * k][16 * j], b_sp + 16 * k, 16, 16);
        preload(b_sp + 16 * k, acc | (1u << 30), 16, 16, 16, 16);
        compute_preloaded(a_sp + 16 * k, ~((uint32_t)0), 16, 16, 16, 16);
      }
      mvout(&C[16 * i][16 * j], acc, 16, 16);
    }
  }
"""

BIAS_RELU = """
void gemm_bias_relu(const int8_t A[32][32], const int8_t B[32][32], const int32_t bias[32],
                    int8_t C[32][32]) {
%s
  fence();
  for (int i = 0; i < 32; i++) {
    for (int j = 0; j < 32; j++) {
      int32_t v = C[i][j] + bias[j];
      C[i][j] = v < 0 ? 0 : (v > 127 ? 127 : (int8_t)v);
    }
  }
}
"""

RESIDUAL = """
// gemm_residual(
//     A : i8[32, 32] @DRAM,
//     B : i8[32, 32] @DRAM,
//     R : i8[32, 32] @DRAM,
//     C : i8[32, 32] @DRAM
// )
void gemm_residual(const int8_t* A, const int8_t* B, const int8_t* R, int8_t* C) {
%s
  fence();
  for (int i = 0; i < 32; i++) {
    for (int j = 0; j < 32; j++) {
      C[(i) * 32 + j] = (int8_t)(C[(i) * 32 + j] + R[i * 32 + j]);
    }
  }
}
"""


def gemm_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return {"A": rng.integers(-8, 8, (32, 32)).astype(np.int8),
            "B": rng.integers(-8, 8, (32, 32)).astype(np.int8)}


GEMM_FLAT = (GEMM.replace("&A[16 * i][16 * k]", "&A[(16 * i) * 32 + 16 * k]")
             .replace("&B[16 * k][16 * j]", "&B[(16 * k) * 32 + 16 * j]")
             .replace("&C[16 * i][16 * j]", "&C[(16 * i) * 32 + 16 * j]"))


def int8_gemm(A, B):
    return np.clip(A.astype(np.int32) @ B.astype(np.int32), -128, 127)


def test_gemm_then_cpu_bias_relu_matches_numpy_and_gcc():
    fn = parse_c(BIAS_RELU % GEMM)
    inputs = gemm_inputs()
    inputs["bias"] = np.random.default_rng(1).integers(-100, 100, 32).astype(np.int32)
    expected = np.clip(int8_gemm(inputs["A"], inputs["B"]) + inputs["bias"], 0, 127)
    got = run(fn, inputs)
    assert np.array_equal(got.outputs["C"], expected.astype(np.int8))
    emu = run_ir(fn, {**inputs, "C": np.zeros((32, 32), np.int8)})
    assert np.array_equal(emu.outputs["C"], expected.astype(np.int8))


def test_cpu_residual_add_wraps_like_c():
    fn = parse_c(RESIDUAL % GEMM_FLAT)
    inputs = gemm_inputs(2)
    inputs["R"] = np.random.default_rng(3).integers(-128, 128, (32, 32)).astype(np.int8)
    s = int8_gemm(inputs["A"], inputs["B"]) + inputs["R"].astype(np.int32)
    expected = ((s + 128) % 256 - 128).astype(np.int8)     # (int8_t) wraps (gcc)
    assert np.array_equal(run(fn, inputs).outputs["C"], expected)
    emu = run_ir(fn, {**inputs, "C": np.zeros((32, 32), np.int8)})
    assert np.array_equal(emu.outputs["C"], expected)


def test_missing_fence_is_a_race_naming_line_and_instruction():
    src = (BIAS_RELU % GEMM).replace("  fence();\n", "")
    fn = parse_c(src, filename="k.c")
    inputs = gemm_inputs()
    inputs["bias"] = np.zeros(32, np.int32)
    with pytest.raises(HardwareError) as info:
        run(fn, inputs)
    e = info.value
    assert "race" in e.message and "mvout (line 20)" in e.message and "reads C[" in e.message
    assert e.line == 26          # the read: int32_t v = C[i][j] + bias[j];


def test_cpu_write_to_an_array_an_unfenced_mvin_reads_is_a_race():
    src = """
void k(int8_t A[16][16], int8_t C[16][16]) {
  config_ld(16, 1.0f, 16, 0);
  config_st(16);
  mvin(&A[0][0], 0, 16, 16);
  A[3][4] = 1;
  mvout(&C[0][0], 0, 16, 16);
  fence();
}
"""
    with pytest.raises(HardwareError, match=r"race: CPU code writes A\[52\] while mvin"):
        run(parse_c(src), {"A": np.zeros((16, 16), np.int8)})
    # with a fence in between, the CPU write is ordered after the move's read
    fenced = parse_c(src.replace("  A[3][4] = 1;", "  fence();\n  A[3][4] = 1;"))
    out = run(fenced, {"A": np.zeros((16, 16), np.int8)}).outputs
    assert out["A"][3, 4] == 1 and out["C"][3, 4] == 0


FP32_MPC = """
void mpc_step(const float K[4][4], const float x[4], float u[4], float z[4],
              const float lo[4], const float hi[4]) {
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_st(16);
  config_ld(16, 1.0f, 4, 0);
  config_ld(16, 1.0f, 4, 1);
  mvin2(&K[0][0], 0, 4, 4);
  mvin(&x[0], 4, 4, 1);
  mvin(0, 0x80000000, 4, 1);
  preload(0, 0x80000000 | 0x40000000, 4, 4, 4, 1);
  compute_preloaded(4, ~((uint32_t)0), 4, 1, 4, 1);
  mvout(&u[0], 0x80000000, 4, 1);
  fence();
  static float scratch[4];
  for (int i = 0; i < 4; i++) {
    float v = -u[i] * 0.5f + 1.0f;
    scratch[i] = v;
    z[i] = fminf(fmaxf(scratch[i], lo[i]), hi[i]);
    u[i] = v < lo[i] ? lo[i] : (v > hi[i] ? hi[i] : v);
  }
}
"""


def test_fp32_matvec_then_cpu_update_and_clamp_is_bit_exact():
    fn = parse_c(FP32_MPC)
    rng = np.random.default_rng(4)
    K = rng.standard_normal((4, 4)).astype(np.float32)
    x = rng.standard_normal(4).astype(np.float32)
    lo = np.full(4, 1.12, np.float32)
    hi = np.full(4, 2.5, np.float32)
    inputs = {"K": K, "x": x, "lo": lo, "hi": hi}
    got = run(fn, inputs, "fp32_4").outputs
    # Gemmini: row vector x times K (WS: A = x as one row, B = K)
    u = np.zeros(4, np.float32)
    for k in range(4):
        u = (u + x[k] * K[k]).astype(np.float32)
    v = (-u * np.float32(0.5) + np.float32(1.0)).astype(np.float32)
    assert np.array_equal(got["z"], np.minimum(np.maximum(v, lo), hi))
    assert np.array_equal(got["u"], np.clip(v, lo, hi))
    assert (v < lo).any() and (v > hi).any()       # the data exercises both clamps


def test_float_arithmetic_is_float32_unless_a_double_literal_is_involved():
    src = """
void k(const float a[2], float out[4]) {
  out[0] = a[0] * a[1] + 0.1f;
  out[1] = a[0] * a[1] + 0.1;
  out[2] = (float)(a[0] / 3.0);
  out[3] = a[0] / 3;
}
"""
    a = np.array([1.1, 3.3], np.float32)
    got = run(parse_c(src), {"a": a}).outputs["out"]
    f32 = np.float32
    expect = [f32(a[0] * a[1] + f32(0.1)), f32(np.float64(f32(a[0] * a[1])) + 0.1),
              f32(np.float64(a[0]) / 3.0), f32(a[0] / f32(3))]
    assert got.tolist() == [float(v) for v in expect]
    emu = run_ir(parse_c(src), {"a": a, "out": np.zeros(4, np.float32)}).outputs["out"]
    assert emu.tolist() == got.tolist()


def test_sequential_loop_with_a_carried_scalar_and_a_flat_index():
    src = """
// k(
//     A : i32[4, 8] @DRAM,
//     out : i32[4] @DRAM
// )
void k(const int32_t* A, int32_t* out) {
  for (int i = 0; i < 4; i++) {
    int32_t s = 0;
    for (int j = 0; j < 8; j++) {
      s += A[(i) * 8 + j] * (j + 1);
    }
    out[i] = s;
  }
  out[0] += out[3];
}
"""
    A = np.arange(32, dtype=np.int32).reshape(4, 8) - 7
    expect = (A * np.arange(1, 9)).sum(axis=1)
    expect[0] += expect[3]
    assert run(parse_c(src), {"A": A}).outputs["out"].tolist() == expect.tolist()


def test_loop_carried_through_memory_runs_in_order():
    # out[i] depends on out[i - 1]: the vectorized try must notice and fall back
    src = """
void k(int32_t out[16]) {
  out[0] = 1;
  for (int i = 1; i < 16; i++) {
    out[i] = out[i - 1] * 2 + i;
  }
}
"""
    expect = [1]
    for i in range(1, 16):
        expect.append(expect[-1] * 2 + i)
    assert run(parse_c(src), {}).outputs["out"].tolist() == expect


def test_input_sets_each_get_their_own_data_and_scale():
    src = """
void k(const float* scale, const int8_t A[4], float out[4]) {
  for (int i = 0; i < 4; i++) {
    out[i] = A[i] * scale[0];
  }
}
"""
    sets = [{"scale": 0.5, "A": np.array([1, 2, 3, 4], np.int8)},
            {"scale": 2.0, "A": np.array([-1, 0, 1, 127], np.int8)}]
    outs = [r.outputs["out"].tolist() for r in run_batch(parse_c(src), sets)]
    assert outs == [[0.5, 1.0, 1.5, 2.0], [-2.0, 0.0, 2.0, 254.0]]


def test_undefined_behaviour_and_uninitialized_reads_are_errors_with_lines():
    base = "void k(const int32_t A[4], int32_t out[4]) {\n%s\n}\n"
    with pytest.raises(HardwareError, match="division by zero") as info:
        run(parse_c(base % "  out[0] = A[0] / A[1];"), {"A": np.array([1, 0, 0, 0], np.int32)})
    assert info.value.line == 2
    # a lane C does not evaluate does not fail
    ok = parse_c(base % "  out[0] = A[1] != 0 ? A[0] / A[1] : 0;")
    assert run(ok, {"A": np.array([1, 0, 0, 0], np.int32)}).outputs["out"][0] == 0
    with pytest.raises(HardwareError, match="never written"):
        run(parse_c(base % "  int32_t t[4];\n  out[0] = t[2];"), {"A": np.zeros(4, np.int32)})
    with pytest.raises(HardwareError, match="outside the array"):
        run(parse_c(base % "  for (int i = 0; i < 5; i++) out[i] = 1;"),
            {"A": np.zeros(4, np.int32)})


def test_gemmini_operand_depending_on_array_data_is_refused():
    src = """
void k(const int32_t A[4], int8_t C[16][16]) {
  int32_t n = A[0];
  config_st(16);
  for (int i = 0; i < n; i++) {
    mvout(&C[0][0], 0, 16, 16);
  }
}
"""
    with pytest.raises(HardwareError, match="loop bound depends on array data") as info:
        run(parse_c(src), {"A": np.zeros(4, np.int32)})
    assert info.value.line == 5


@pytest.mark.parametrize("body, needle", [
    ("  int8_t *p = &C[0][0];", "pointer local"),
    ("  C[0][0] = helper(1);", "unknown function 'helper'"),
    ("  C[0][0] = fminf(1.0f);", "fminf takes 2 arguments"),
    ("  mvin(0, C[0][0], 16, 16);", "reads array data of 'C'"),
    ("  float f = 1.0f;\n  C[0][0] = f % 2;", "operator % on a float"),
])
def test_bad_cpu_code_gets_a_one_line_error_with_file_and_line(body, needle):
    src = "void k(int8_t C[16][16]) {\n" + body + "\n}\n"
    with pytest.raises(ParseError) as info:
        parse_c(src, filename="bad.c")
    e = info.value
    assert needle in e.message and "\n" not in str(e)
    assert str(e).startswith(f"bad.c:{body.count(chr(10)) + 2}:")


def test_writing_a_const_array_is_refused():
    with pytest.raises(UnsupportedConstruct, match="writing const array 'A'"):
        parse_c("void k(const int8_t A[4]) {\n  A[0] = 1;\n}\n")


@pytest.mark.parametrize("src", [BIAS_RELU % GEMM, RESIDUAL % GEMM_FLAT, FP32_MPC])
def test_printers_round_trip_cpu_code(src):
    fn = parse_c(src)
    assert parse_c(to_compact(fn)) == fn
    assert parse_c(to_toolchain_c(fn)) == fn


def test_ir_of_cpu_code():
    fn = parse_c("void k(float x[4], int8_t C[2][8]) {\n"
                 "  static float t[2] = {1.5f};\n"
                 "  C[1][2] += (int8_t)x[1];\n"
                 "  x[0] = fmaxf(t[0], 2.0);\n}\n")
    assert fn.body[0] == ir.ArrayDecl("t", "float", (2,), (ir.FloatConst(1.5),), True)
    assert fn.body[1] == ir.Store("C", ir.Const(10), "+=",
                                  ir.Cast("int8_t", ir.Load("x", ir.Const(1))))
    assert fn.body[2] == ir.Store("x", ir.Const(0), "=", ir.Call("fmaxf", (
        ir.Load("t", ir.Const(0)), ir.FloatConst(2.0, double=True))))


def test_ir_cost_counts_loads_stores_and_float_ops():
    from gemmini.config import get_config
    tp = get_config(None).timing
    src = """
void k(const float a[8], float out[8]) {
  for (int i = 0; i < 8; i++) {
    out[i] = a[i] * 2.0f;
  }
}
"""
    report = run(parse_c(src), {"a": np.ones(8, np.float32)}).report
    per_iter = (tp.cpu_loop_iter + tp.cpu_store + tp.cpu_arith_op      # index of out[i]
                + tp.cpu_load + tp.cpu_arith_op + tp.cpu_fp_op)         # a[i], * 2.0f
    entry = tp.cpu_local_assign + tp.cpu_loop_iter
    assert report.busy["cpu"] == entry + 8 * per_iter


# ---------------------------------------------------------------------------- transformations

def mixed_kernel_text():
    """Exo's basic GEMM mapping with CPU code before it (a halved copy of A that the GEMM
    reads) and after its fence (bias add and ReLU on C)."""
    from transforms_support import basic_gemm_text
    text = basic_gemm_text(32, 64, 64)
    text = text.replace("int8_t C[32][64]) {",
                        "int8_t C[32][64], int8_t X[32][64], const int32_t bias[64]) {")
    text = text.replace("mvin2(&A[", "mvin2(&X[")
    first = text.index("  for (int i")
    text = text[:first] + """  for (int i = 0; i < 32; i++) {
    for (int k = 0; k < 64; k++) {
      X[i][k] = (int8_t)(A[i][k] / 2);
    }
  }
""" + text[first:]
    return text.replace("  fence();\n", """  fence();
  for (int i = 0; i < 32; i++) {
    for (int j = 0; j < 64; j++) {
      int32_t v = C[i][j] + bias[j];
      C[i][j] = v < 0 ? 0 : (v > 127 ? 127 : v);
    }
  }
""")


def mixed_inputs(seed=0):
    from transforms_support import gemm_inputs
    inputs = gemm_inputs(32, 64, 64, seed=seed)
    inputs["bias"] = np.random.default_rng(seed + 7).integers(-60, 60, 64).astype(np.int32)
    inputs["X"] = np.zeros((32, 64), np.int8)
    return inputs


def mixed_expected(inputs):
    from transforms_support import reference
    A = inputs["A"].astype(np.int32)
    X = (np.sign(A) * (np.abs(A) // 2)).astype(np.int8)          # C's truncating division
    C = reference(X, inputs["B"], inputs["scale"], 0).astype(np.int32) + inputs["bias"]
    return np.clip(C, 0, 127).astype(np.int8), X


def test_mixed_kernel_matches_numpy_and_gcc():
    fn = parse_c(mixed_kernel_text())
    inputs = mixed_inputs()
    C, X = mixed_expected(inputs)
    out = run(fn, inputs).outputs
    assert np.array_equal(out["C"], C) and np.array_equal(out["X"], X)
    emu = run_ir(fn, inputs).outputs
    assert np.array_equal(emu["C"], C) and np.array_equal(emu["X"], X)


def test_every_builtin_rewrite_of_a_mixed_kernel_that_runs_is_correct():
    from gemmini.config import get_config
    from autocomp_exo.transforms import TRANSFORMS
    from autocomp_exo.transforms.base import NotApplicable
    from autocomp_exo.transforms.registry import apply

    cfg = get_config(None)
    fn = parse_c(mixed_kernel_text())
    inputs = mixed_inputs(3)
    C, X = mixed_expected(inputs)
    cpu_stmts = [s for s in fn.body if isinstance(s, ir.For) and any(
        isinstance(x, ir.Store) for x in ir.walk_stmts([s]))]
    frontier, seen, ran = [fn], {fn}, 0
    for _depth in range(2):
        nxt = []
        for cur in frontier:
            for t in TRANSFORMS.values():
                for a in t.find(cur, cfg)[:4]:
                    try:
                        new = apply(cur, a, cfg)
                    except NotApplicable:
                        continue
                    if new in seen:
                        continue
                    seen.add(new)
                    try:
                        out = run(new, inputs, timing=False).outputs
                    except HardwareError:
                        continue                 # rejected by the model: never accepted
                    ran += 1
                    assert np.array_equal(out["C"], C), (t.name, a)
                    assert np.array_equal(out["X"], X), (t.name, a)
                    # CPU code is a barrier: kept whole, in the same order
                    kept = [s for s in new.body if s in cpu_stmts]
                    assert kept == cpu_stmts, (t.name, a)
                    nxt.append(new)
        frontier = nxt[:12]
    assert ran >= 10


def test_compiled_cpu_cost_runs_cpu_code_on_the_inputs_data():
    pytest.importorskip("unicorn", reason="the compiled CPU cost runs on the unicorn emulator")
    from lowering.gcc import CompileError
    from lowering.riscv import cpu_cost_hook
    try:
        from lowering.riscv import find_riscv_compiler
        find_riscv_compiler()
    except CompileError as e:
        pytest.skip(str(e))
    fn = parse_c(BIAS_RELU % GEMM)
    busy = []
    for bias in (np.zeros(32, np.int32), np.full(32, -200, np.int32)):
        inputs = {**gemm_inputs(), "bias": bias}
        got = run(fn, inputs, cpu_cost=cpu_cost_hook(fn, inputs))
        assert got.report.cpu_cost != "ir"
        busy.append(got.report.busy["cpu"])
        expected = np.clip(int8_gemm(inputs["A"], inputs["B"]) + bias, 0, 127)
        assert np.array_equal(got.outputs["C"], expected.astype(np.int8))
    # every element takes the 'v < 0' branch with the large negative bias: a different
    # path through the compiled code, so a different price (the arrays hold the set's data)
    assert busy[0] != busy[1]


HELPERS = """
#include <stdint.h>
#include <math.h>
static inline float clampf(float x, float lo, float hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}
static int8_t sat8(int32_t v) { return v > 127 ? 127 : (v < -128 ? -128 : v); }
void k(const float a[8], float out[8], int8_t q[8]) {
  for (int i = 0; i < 8; i++) {
    out[i] = clampf(a[i] * 2.0f, -1, 1.5f);
    q[i] = sat8(a[i] * 100);
  }
}
"""


def test_helper_functions_are_inlined_with_c_conversions():
    from lowering.emulator.build import run_c
    fn = parse_c(HELPERS)
    assert not any(isinstance(e, ir.Call) for e in ir.walk_exprs(fn.body))
    a = np.array([0.3, -2, 0.9, 2, 0.755, -0.6, 1.27, -1.3], np.float32)
    got = run(fn, {"a": a}).outputs
    assert np.array_equal(got["out"], np.clip(a * np.float32(2), -1, 1.5))
    assert np.array_equal(got["q"], np.clip(np.trunc(a * np.float32(100)), -128, 127))
    gcc = run_c(HELPERS, {"a": a, "out": np.zeros(8, np.float32), "q": np.zeros(8, np.int8)},
                function="k").outputs
    assert np.array_equal(gcc["out"], got["out"]) and np.array_equal(gcc["q"], got["q"])
    assert parse_c(to_compact(fn)) == fn


def test_a_helper_that_cannot_be_inlined_is_named():
    src = ("static int twice(int x) {\n  int y = 2 * x;\n  return y;\n}\n"
           "void k(int32_t out[2]) {\n  out[0] = twice(3);\n}\n")
    with pytest.raises(UnsupportedConstruct, match="helper 'twice' \\(line 1\\) is not inlined"
                       ) as info:
        parse_c(src, filename="h.c")
    assert info.value.line == 6


def test_exo_generated_cpu_code_parses_and_matches_gcc():
    """Exo's own C for CPU loops (flat indexing, a declared-then-assigned float, its
    `_select_float` helper with if / return) gives the values of the same C under gcc."""
    from exo import DRAM, proc
    from exo.libs.externs import select
    from lowering.emulator.build import run_c
    from lowering.exo_to_c import compile_proc

    @proc
    def resid(A: i8[16, 16] @ DRAM, B: i8[16, 16] @ DRAM, C: i8[16, 16] @ DRAM,
              s: f32[16] @ DRAM):
        for i in seq(0, 16):
            for j in seq(0, 16):
                C[i, j] = A[i, j] + B[i, j]
        for i in seq(0, 16):
            tmp: f32
            tmp = s[i] * 2.0
            tmp = select(0.0, tmp, tmp, 0.0)
            s[i] = tmp

    exo_c = compile_proc(resid, use_cache=False)
    fn = parse_c(exo_c.c_text, function="resid")
    rng = np.random.default_rng(5)
    A = rng.integers(-128, 128, (16, 16)).astype(np.int8)
    B = rng.integers(-128, 128, (16, 16)).astype(np.int8)
    s = rng.standard_normal(16).astype(np.float32)
    got = run(fn, {"A": A, "B": B, "s": s}).outputs
    gcc = run_c(exo_c.c_text, {"A": A, "B": B, "C": np.zeros((16, 16), np.int8), "s": s.copy()},
                function="resid", h_text=exo_c.h_text).outputs
    assert np.array_equal(got["C"], gcc["C"]) and np.array_equal(got["s"], gcc["s"])
    assert np.array_equal(got["C"], (A.astype(np.int32) + B).astype(np.int8))
    assert np.array_equal(got["s"], np.maximum(s * np.float32(2), 0))


def test_exo_malloc_buffer_and_fp32_reduction_match_gcc():
    """Exo's DRAM buffer (``float *tmp = (float*) malloc(...)``, ``free(tmp)``) is a local
    array; an fp32 mat-vec reduction into it keeps C's order of additions."""
    from exo import DRAM, proc
    from exo.libs.externs import select
    from lowering.emulator.build import run_c
    from lowering.exo_to_c import compile_proc

    @proc
    def mv(A: f32[12, 12] @ DRAM, x: f32[12] @ DRAM, y: f32[12] @ DRAM,
           lo: f32[12] @ DRAM):
        tmp: f32[12] @ DRAM
        for i in seq(0, 12):
            tmp[i] = 0.0
            for j in seq(0, 12):
                tmp[i] += A[i, j] * x[j]
        for i in seq(0, 12):
            y[i] = select(tmp[i], lo[i], lo[i], tmp[i])

    exo_c = compile_proc(mv, use_cache=False)
    assert "malloc" in exo_c.c_text
    fn = parse_c(exo_c.c_text, function="mv")
    assert any(isinstance(s, ir.ArrayDecl) and s.name == "tmp" for s in fn.body)
    rng = np.random.default_rng(6)
    ins = {"A": rng.standard_normal((12, 12)).astype(np.float32),
           "x": rng.standard_normal(12).astype(np.float32), "lo": np.full(12, -0.5, np.float32)}
    got = run(fn, ins).outputs["y"]
    gcc = run_c(exo_c.c_text, {**ins, "y": np.zeros(12, np.float32)}, function="mv",
                h_text=exo_c.h_text).outputs["y"]
    assert np.array_equal(got, gcc)
    acc = np.zeros(12, np.float32)
    for j in range(12):              # C's order: one rounded add per term
        acc = (acc + ins["A"][:, j] * ins["x"][j]).astype(np.float32)
    assert np.array_equal(got, np.maximum(acc, ins["lo"]))
