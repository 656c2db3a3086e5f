"""Instruction semantics of the functional model against hand-computed expectations."""

import numpy as np
import pytest

from gemmini import model
from benchmarks.numpy_reference import numpy_gemm
from benchmarks.sample_programs import basic_gemm
from tests.model_helpers import (ACC, ACCUMULATE, GARBAGE, RAW, I, add, config_ex, config_ld,
                                 config_st, dram, fn, loop, mul)
from gemmini import ir


def run(f, **inputs):
    return model.run(f, inputs, timing=False).outputs


def acc_out(rows=16, cols=16):
    """mvout of accumulator rows 0.. raw (int32) into OUT."""
    return I("mvout", dram("OUT", 0), ACC | RAW, cols, rows)


OUT_I32 = ("OUT", "i32", (16, 16), False)
OUT_I8 = ("OUT", "i8", (16, 16), False)


def test_mvin_mvout_scratchpad_roundtrip_with_strides():
    a = np.arange(32 * 32, dtype=np.int64).reshape(32, 32).astype(np.int8)
    f = fn([("A", "i8", (32, 32), True), ("OUT", "i8", (16, 16), False)],
           config_ld(32), config_st(16),
           I("mvin", dram("A", 32 * 3 + 5), 7, 16, 16),
           I("mvout", dram("OUT", 0), 7, 16, 16))
    out = run(f, A=a)["OUT"]
    np.testing.assert_array_equal(out, a[3:19, 5:21])


def test_zero_mvin_writes_zeros_into_accumulator():
    bias = np.full((1, 16), 9, dtype=np.int32)
    f = fn([("BIAS", "i32", (1, 16), True), OUT_I32],
           config_ld(0), config_st(64),
           I("mvin", dram("BIAS", 0), ACC, 16, 16),   # fill with 9s first
           I("mvin", 0, ACC, 16, 16),                  # then zero
           acc_out())
    assert (run(f, BIAS=bias)["OUT"] == 0).all()


def test_dram_stride_zero_broadcasts_one_row():
    bias = np.arange(16, dtype=np.int32).reshape(1, 16) - 5
    f = fn([("BIAS", "i32", (1, 16), True), OUT_I32],
           config_ld(0), config_st(64),
           I("mvin", dram("BIAS", 0), ACC, 16, 16), acc_out())
    out = run(f, BIAS=bias)["OUT"]
    np.testing.assert_array_equal(out, np.repeat(bias, 16, axis=0))


def test_accumulate_bit_adds_and_overwrite_replaces():
    bias = np.arange(16, dtype=np.int32).reshape(1, 16)
    f = fn([("BIAS", "i32", (1, 16), True), OUT_I32],
           config_ld(0), config_st(64),
           I("mvin", dram("BIAS", 0), ACC, 16, 16),
           I("mvin", dram("BIAS", 0), ACC | ACCUMULATE, 16, 16),
           I("mvin", dram("BIAS", 0), ACC | ACCUMULATE, 16, 16),
           acc_out())
    np.testing.assert_array_equal(run(f, BIAS=bias)["OUT"], np.repeat(3 * bias, 16, axis=0))
    g = fn([("BIAS", "i32", (1, 16), True), OUT_I32],
           config_ld(0), config_st(64),
           I("mvin", dram("BIAS", 0), ACC, 16, 16),
           I("mvin", dram("BIAS", 0), ACC, 16, 16), acc_out())
    np.testing.assert_array_equal(run(g, BIAS=bias)["OUT"], np.repeat(bias, 16, axis=0))


def test_accumulator_wraps_as_int32():
    big = np.full((1, 16), 2**31 - 1, dtype=np.int32)
    one = np.ones((1, 16), dtype=np.int32)
    f = fn([("BIG", "i32", (1, 16), True), ("ONE", "i32", (1, 16), True), OUT_I32],
           config_ld(0), config_st(64),
           I("mvin", dram("BIG", 0), ACC, 16, 16),
           I("mvin", dram("ONE", 0), ACC | ACCUMULATE, 16, 16), acc_out())
    assert (run(f, BIG=big, ONE=one)["OUT"] == -2**31).all()


@pytest.mark.parametrize("block_stride", [None, 40])
def test_multi_block_mvin_places_blocks_at_block_stride(block_stride):
    a = (np.arange(16 * 64) % 251 - 120).astype(np.int8).reshape(16, 64)
    bs = 16 if block_stride is None else block_stride
    outs = [("O%d" % b, "i8", (16, 16), False) for b in range(4)]
    body = [config_ld(64, block_stride=block_stride), config_st(16),
            I("mvin", dram("A", 0), 100, 64, 16)]
    body += [I("mvout", dram("O%d" % b, 0), 100 + b * bs, 16, 16) for b in range(4)]
    out = run(fn([("A", "i8", (16, 64), True)] + outs, *body), A=a)
    for b in range(4):
        np.testing.assert_array_equal(out["O%d" % b], a[:, 16 * b:16 * b + 16])


def test_partial_last_block_of_multi_block_mvin():
    a = (np.arange(8 * 40) % 200 - 100).astype(np.int8).reshape(8, 40)
    f = fn([("A", "i8", (8, 40), True), ("O", "i8", (8, 8), False)],
           config_ld(40), config_st(8),
           I("mvin", dram("A", 0), 0, 40, 8),
           I("mvout", dram("O", 0), 32, 8, 8))   # third block: cols 32..39
    np.testing.assert_array_equal(run(f, A=a)["O"], a[:, 32:40])


def matmul_program(a_rows=16, a_cols=16, b_rows=16, b_cols=16, c_rows=16, c_cols=16, d=GARBAGE):
    """A at sp 0, B at sp 16, D at sp 32; C = acc 0 (overwrite); raw out."""
    return fn([("A", "i8", (16, 16), True), ("B", "i8", (16, 16), True),
               ("D", "i8", (16, 16), True), ("ACC0", "i32", (1, 16), True), OUT_I32],
              config_ld(16), config_ex(), config_st(64),
              I("mvin", dram("A", 0), 0, 16, 16), I("mvin", dram("B", 0), 16, 16, 16),
              I("mvin", dram("D", 0), 32, 16, 16),
              config_ld(0, ld_id=1), I("mvin2", dram("ACC0", 0), ACC, 16, 16),
              I("preload", 16, ACC, b_cols, b_rows, c_cols, c_rows),
              I("compute_preloaded", 0, d, a_cols, a_rows, 16, 16),
              acc_out())


def rand(shape, seed, lo=-128, hi=128, dtype=np.int8):
    return np.random.default_rng(seed).integers(lo, hi, shape).astype(dtype)


def test_compute_overwrites_c_with_a_times_b():
    A, B, D = rand((16, 16), 1), rand((16, 16), 2), rand((16, 16), 3)
    acc0 = np.full((1, 16), 77, dtype=np.int32)
    out = run(matmul_program(), A=A, B=B, D=D, ACC0=acc0)["OUT"]
    np.testing.assert_array_equal(out, A.astype(np.int64) @ B.astype(np.int64))


def test_compute_adds_d_from_scratchpad():
    A, B, D = rand((16, 16), 1), rand((16, 16), 2), rand((16, 16), 3)
    acc0 = np.zeros((1, 16), dtype=np.int32)
    out = run(matmul_program(d=32), A=A, B=B, D=D, ACC0=acc0)["OUT"]
    np.testing.assert_array_equal(out, D.astype(np.int64) + A.astype(np.int64) @ B)


def test_partial_operands_are_zero_padded_and_c_partially_written():
    A, B, D = rand((16, 16), 4), rand((16, 16), 5), rand((16, 16), 6)
    acc0 = np.full((1, 16), 77, dtype=np.int32)
    out = run(matmul_program(a_rows=5, a_cols=7, b_rows=7, b_cols=9, c_rows=5, c_cols=9),
              A=A, B=B, D=D, ACC0=acc0)["OUT"]
    want = np.full((16, 16), 77, dtype=np.int64)
    want[:5, :9] = A[:5, :7].astype(np.int64) @ B[:7, :9]
    np.testing.assert_array_equal(out, want)


def two_block_program(second_b, second_op, second_c=ACC | 16):
    """Block 1: preload(B@16, acc 0) + compute_preloaded(A1@0); block 2 configurable."""
    return fn([("A1", "i8", (16, 16), True), ("A2", "i8", (16, 16), True),
               ("B", "i8", (16, 16), True), ("Z", "i32", (1, 16), True),
               ("OUT", "i32", (32, 16), False)],
              config_ld(16), config_ex(), config_st(64), config_ld(0, ld_id=1),
              I("mvin", dram("A1", 0), 0, 16, 16), I("mvin", dram("B", 0), 16, 16, 16),
              I("mvin", dram("A2", 0), 32, 16, 16),
              I("mvin2", dram("Z", 0), ACC, 16, 16), I("mvin2", dram("Z", 0), ACC | 16, 16, 16),
              I("preload", 16, ACC, 16, 16, 16, 16),
              I("compute_preloaded", 0, GARBAGE, 16, 16, 16, 16),
              I("preload", second_b, second_c, 16, 16, 16, 16),
              I(second_op, 32, GARBAGE, 16, 16, 16, 16),
              I("mvout", dram("OUT", 0), ACC | RAW, 16, 16),
              I("mvout", dram("OUT", 256), ACC | RAW | 16, 16, 16))


def test_compute_accumulated_reuses_weights():
    A1, A2, B = rand((16, 16), 7), rand((16, 16), 8), rand((16, 16), 9)
    z = np.full((1, 16), 5, dtype=np.int32)
    out = run(two_block_program(GARBAGE, "compute_accumulated"), A1=A1, A2=A2, B=B, Z=z)["OUT"]
    np.testing.assert_array_equal(out[:16], A1.astype(np.int64) @ B)
    np.testing.assert_array_equal(out[16:], A2.astype(np.int64) @ B)


def test_garbage_b_means_zero_weights():
    A1, A2, B = rand((16, 16), 7), rand((16, 16), 8), rand((16, 16), 9)
    z = np.full((1, 16), 5, dtype=np.int32)
    out = run(two_block_program(GARBAGE, "compute_preloaded", ACC | ACCUMULATE | 16),
              A1=A1, A2=A2, B=B, Z=z)["OUT"]
    assert (out[16:] == 5).all()          # accumulate of zeros keeps the old value


def test_garbage_c_writes_nothing():
    A1, A2, B = rand((16, 16), 7), rand((16, 16), 8), rand((16, 16), 9)
    z = np.full((1, 16), 5, dtype=np.int32)
    out = run(two_block_program(16, "compute_preloaded", GARBAGE), A1=A1, A2=A2, B=B, Z=z)["OUT"]
    assert (out[16:] == 5).all()
    np.testing.assert_array_equal(out[:16], A1.astype(np.int64) @ B)


def test_accumulating_computes_sum():
    A1, A2, B = rand((16, 16), 10), rand((16, 16), 11), rand((16, 16), 12)
    z = np.full((1, 16), -3, dtype=np.int32)
    out = run(two_block_program(16, "compute_preloaded", ACC | ACCUMULATE),
              A1=A1, A2=A2, B=B, Z=z)["OUT"]
    # block 1 overwrote acc 0 with A1@B, block 2 accumulated A2@B on top
    np.testing.assert_array_equal(out[:16], (A1.astype(np.int64) + A2) @ B)


def scaled_out(values, scale, act):
    v = np.zeros((16, 16), dtype=np.int32)
    v[0, :len(values)] = values
    f = fn([("V", "i32", (16, 16), True), OUT_I8],
           config_ld(64), config_st(16, act, scale),
           I("mvin", dram("V", 0), ACC, 16, 16),
           I("mvout", dram("OUT", 0), ACC, 16, 16))
    return run(f, V=v)["OUT"][0, :len(values)]


def test_mvout_rounds_half_to_even_and_saturates():
    vals = [5, 7, -5, 1, 3, -3, 300, -300, 4, 6]
    got = scaled_out(vals, 0.5, 0)
    assert got.tolist() == [2, 4, -2, 0, 2, -2, 127, -128, 2, 3]


def test_mvout_relu_after_scaling():
    got = scaled_out([5, -7, -300, 300, 1], 0.5, 1)
    assert got.tolist() == [2, 0, 0, 127, 0]


def test_mvout_scale_is_float32_multiply():
    # float32(0.1) = 0.100000001490116; 25 * that = 2.50000003725 exactly, which a float64
    # multiply keeps (-> 3) but a float32 multiply rounds to 2.5 (-> 2, half to even).
    got = scaled_out([3, 25, 15], 0.1, 0)
    assert got.tolist() == [0, 2, 2]


def test_mvout_raw_bit_gives_int32():
    v = np.arange(256, dtype=np.int32).reshape(16, 16) * 1000
    f = fn([("V", "i32", (16, 16), True), OUT_I32],
           config_ld(64), config_st(64, 0, 0.001), I("mvin", dram("V", 0), ACC, 16, 16),
           acc_out())
    np.testing.assert_array_equal(run(f, V=v)["OUT"], v)


def test_scalar_parameters_and_expressions():
    a = rand((16, 16), 13)
    f = fn([("A", "i8", (16, 16), True), ("s", "int32_t", (), False), OUT_I8],
           config_ld(16), config_st(16),
           ir.Decl("r", "uint32_t", ir.BinOp("/", ir.Var("s"), ir.Const(2))),
           I("mvin", dram("A", 0), "r", 16, 16),
           I("mvout", dram("OUT", 0), add("r", 0), 16, 16))
    out = model.run(f, {"A": a, "s": np.asarray(84)}, timing=False).outputs["OUT"]
    np.testing.assert_array_equal(out, a)


def test_sequential_loop_with_assignment_matches_parallel_loop():
    a = rand((64, 16), 14)
    par = fn([("A", "i8", (64, 16), True), ("OUT", "i8", (64, 16), False)],
             config_ld(16), config_st(16),
             loop("i", 4, I("mvin", dram("A", mul("i", 256)), mul("i", 16), 16, 16)),
             loop("i", 4, I("mvout", dram("OUT", mul("i", 256)), mul("i", 16), 16, 16)))
    seq = fn([("A", "i8", (64, 16), True), ("OUT", "i8", (64, 16), False)],
             config_ld(16), config_st(16), ir.Decl("row", "uint32_t", ir.Const(0)),
             loop("i", 4, I("mvin", dram("A", mul("i", 256)), "row", 16, 16),
                  ir.Assign("row", "+=", ir.Const(16))),
             ir.Assign("row", "=", ir.Const(0)),
             loop("i", 4, ir.If(ir.BinOp("<", ir.Var("i"), ir.Const(2)),
                                (I("mvout", dram("OUT", mul("i", 256)), "row", 16, 16),),
                                (I("mvout", dram("OUT", mul("i", 256)), add("row", 0), 16, 16),)),
                  ir.Assign("row", "+=", ir.Const(16))))
    np.testing.assert_array_equal(run(par, A=a)["OUT"], a)
    np.testing.assert_array_equal(run(seq, A=a)["OUT"], a)


@pytest.mark.parametrize("shape", [(16, 64, 64), (64, 64, 64), (32, 128, 192)])
@pytest.mark.parametrize("act", [False, True])
def test_basic_gemm_matches_numpy(shape, act):
    M, N, K = shape
    A, B = rand((M, K), 20), rand((K, N), 21)
    scale = np.float32(1 / 300)
    out = model.run(basic_gemm(M, N, K), dict(A=A, B=B, scale=scale, act=act)).outputs["C"]
    np.testing.assert_array_equal(out, numpy_gemm(A, B, scale, act))


def test_loop_ws_tiled_matmul_with_pads_bias_and_relu():
    M, N, K = 29, 40, 45                   # I=2, J=3, K=3 blocks; pads 3, 8, 3
    A, B = rand((M, K), 30), rand((K, N), 31)
    bias = rand((1, N), 32, -2000, 2000, np.int32)
    f = fn([("A", "i8", (M, K), True), ("B", "i8", (K, N), True),
            ("D", "i32", (1, N), True), ("C", "i8", (M, N), False)],
           config_st(N, 1, 1 / 256),
           I("loop_ws", 2, 3, 3, 3, 8, 3, dram("A", 0), dram("B", 0), dram("D", 0),
             dram("C", 0), K, N, 0, N, 0, 0, 0, 0, 1, 1))   # ex_accumulate keeps D
    out = run(f, A=A, B=B, D=bias)["C"]
    acc = (A.astype(np.int64) @ B + bias).astype(np.int32)
    want = np.maximum(np.clip(np.rint(acc.astype(np.float32) * np.float32(1 / 256)),
                              -128, 127), 0).astype(np.int8)
    np.testing.assert_array_equal(out, want)


def test_fp32_config_matmul():
    A = np.random.default_rng(40).standard_normal((4, 4)).astype(np.float32)
    B = np.random.default_rng(41).standard_normal((4, 4)).astype(np.float32)
    f = fn([("A", "f32", (4, 4), True), ("B", "f32", (4, 4), True),
            ("OUT", "f32", (4, 4), False)],
           config_ld(16), config_ex(), config_st(16, 0, 1.0),
           I("mvin", dram("A", 0), 0, 4, 4), I("mvin", dram("B", 0), 4, 4, 4),
           I("preload", 4, ACC, 4, 4, 4, 4),
           I("compute_preloaded", 0, GARBAGE, 4, 4, 4, 4),
           I("mvout", dram("OUT", 0), ACC, 4, 4))
    out = model.run(f, {"A": A, "B": B}, "fp32_4", timing=False).outputs["OUT"]
    np.testing.assert_allclose(out, A @ B, rtol=1e-5, atol=1e-5)


def test_inputs_are_not_modified_and_outputs_are_copies():
    A, B = rand((16, 64), 50), rand((64, 64), 51)
    a0 = A.copy()
    r = model.run(basic_gemm(16, 64, 64), dict(A=A, B=B, scale=np.float32(0.01), act=False))
    np.testing.assert_array_equal(A, a0)
    assert set(r.outputs) == {"C"} and r.outputs["C"].shape == (16, 64)


def test_scaled_accumulator_mvin_saturates_to_int32():
    """An int32 load with scale != 1 saturates (float32 product, round half even); int32's
    max is not a float32, so values near it must not wrap to the minimum."""
    import warnings
    from lowering.parser import parse_c
    from gemmini.model import run as model_run
    fn = parse_c("""
void f(const int32_t D[16][16], int32_t O[16][16]) {
  config_ld(64, 2.5f, 0, 0);
  config_st(64, 0, 1.0f);
  mvin(&D[0][0], 0x80000000, 16, 16);
  mvout(&O[0][0], 0xA0000000, 16, 16);
}
""")
    rng = np.random.default_rng(5)
    D = rng.integers(-2**31, 2**31, (16, 16), dtype=np.int64).astype(np.int32)
    D[0, :4] = [2**31 - 1, -2**31, 2**30, -7]
    want = np.clip(np.rint(D.astype(np.float32) * np.float32(2.5)).astype(np.float64),
                   -2**31, 2**31 - 1).astype(np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = model_run(fn, {"D": D}, timing=False).outputs["O"]
    assert np.array_equal(got, want)
    assert got[0, 0] == 2**31 - 1 and got[0, 1] == -2**31
