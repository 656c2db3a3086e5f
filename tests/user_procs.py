"""User-style Exo procs we do not ship, each with a numpy expectation and a broken twin.

Written as a user would: directly with Exo's Gemmini instructions
(``exo.platforms.gemmini``), or as an algorithm for ``map_to_gemmini``. The numpy
functions are the independent expectation (float32 multiply, round half to even,
saturate to int8, then ReLU). Every ``broken_*`` proc has the signature of its good
twin and computes something else (a wrong tile, a missing block, a lost bias...).
"""

from __future__ import annotations

import numpy as np
from exo import DRAM, instr, proc
from exo.libs.externs import relu
from exo.libs.memories import GEMM_ACCUM, GEMM_SCRATCH
from exo.platforms.gemmini import (acc_scale, clamp, ld_acc_i32, ld_i8, matmul_acc_i8,
                                   st_acc_i8, zero_acc_i32)

_ = (DRAM, GEMM_ACCUM, GEMM_SCRATCH, relu, acc_scale, clamp)   # read by Exo's @proc parser


# ---------------------------------------------------------------------------
# numpy expectations
# ---------------------------------------------------------------------------

def requant(acc, scale=1.0, act=False) -> np.ndarray:
    """int32 accumulator -> int8: float32 multiply, round half to even, saturate, ReLU."""
    f = np.asarray(acc).astype(np.int64).astype(np.int32).astype(np.float32) * np.float32(scale)
    out = np.clip(np.rint(f), -128, 127)
    if act:
        out = np.maximum(out, 0)
    return out.astype(np.int8)


def mm(a, b) -> np.ndarray:
    return np.asarray(a).astype(np.int64) @ np.asarray(b).astype(np.int64)


def conv3x3(inp, weights) -> np.ndarray:
    """NHWC stride-1 unpadded 3x3 convolution, int64 accumulation."""
    return conv_padded(inp, weights, 0)


def conv_padded(inp, weights, pad: int) -> np.ndarray:
    """NHWC stride-1 convolution of the input zero-padded by ``pad`` on each side, any
    kernel size, int64 accumulation."""
    inp = np.pad(np.asarray(inp).astype(np.int64), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    w = np.asarray(weights).astype(np.int64)
    kh, kw = w.shape[:2]
    oh, ow = inp.shape[1] - kh + 1, inp.shape[2] - kw + 1
    acc = np.zeros((inp.shape[0], oh, ow, w.shape[3]), np.int64)
    for kr in range(kh):
        for kc in range(kw):
            acc += inp[:, kr:kr + oh, kc:kc + ow, :] @ w[kr, kc]
    return acc


# ---------------------------------------------------------------------------
# 1. FC layer, bias rows loaded into the accumulator with ld_acc_i32
# ---------------------------------------------------------------------------

@proc
def fc_bias(scale: f32, act: bool, x: i8[32, 32] @ DRAM, w: i8[32, 32] @ DRAM,
            bias: i32[1, 32] @ DRAM, y: i8[32, 32] @ DRAM):
    for io in seq(0, 2):
        for jo in seq(0, 2):
            acc: i32[16, 16] @ GEMM_ACCUM
            for r in seq(0, 16):
                ld_acc_i32(1, 16, bias[0:1, 16 * jo:16 * jo + 16], acc[r:r + 1, :])
            for ko in seq(0, 2):
                xs: i8[16, 16] @ GEMM_SCRATCH
                ws: i8[16, 16] @ GEMM_SCRATCH
                ld_i8(16, 16, x[16 * io:16 * io + 16, 16 * ko:16 * ko + 16], xs)
                ld_i8(16, 16, w[16 * ko:16 * ko + 16, 16 * jo:16 * jo + 16], ws)
                matmul_acc_i8(16, 16, 16, xs, ws, acc)
            st_acc_i8(16, 16, scale, act, acc, y[16 * io:16 * io + 16, 16 * jo:16 * jo + 16])


@proc
def broken_fc_bias(scale: f32, act: bool, x: i8[32, 32] @ DRAM, w: i8[32, 32] @ DRAM,
                   bias: i32[1, 32] @ DRAM, y: i8[32, 32] @ DRAM):
    for io in seq(0, 2):
        for jo in seq(0, 2):
            acc: i32[16, 16] @ GEMM_ACCUM
            for r in seq(0, 16):     # always the first 16 bias values
                ld_acc_i32(1, 16, bias[0:1, 0:16], acc[r:r + 1, :])
            for ko in seq(0, 2):
                xs: i8[16, 16] @ GEMM_SCRATCH
                ws: i8[16, 16] @ GEMM_SCRATCH
                ld_i8(16, 16, x[16 * io:16 * io + 16, 16 * ko:16 * ko + 16], xs)
                ld_i8(16, 16, w[16 * ko:16 * ko + 16, 16 * jo:16 * jo + 16], ws)
                matmul_acc_i8(16, 16, 16, xs, ws, acc)
            st_acc_i8(16, 16, scale, act, acc, y[16 * io:16 * io + 16, 16 * jo:16 * jo + 16])


def expect_fc_bias(i):
    acc = mm(i["x"], i["w"]) + np.asarray(i["bias"]).astype(np.int64).reshape(1, 32)
    return {"y": requant(acc, i["scale"], i["act"])}


# ---------------------------------------------------------------------------
# 2. C = A @ B^T, an algorithm (Exo's Gemmini mapping cannot transpose a load)
# ---------------------------------------------------------------------------

@proc
def matmul_abt(scale: f32, act: bool, A: i8[16, 32] @ DRAM, B: i8[24, 32] @ DRAM,
               C: i8[16, 24] @ DRAM):
    for i in seq(0, 16):
        for j in seq(0, 24):
            acc: i32
            acc = 0.0
            for k in seq(0, 32):
                a: i32
                b: i32
                a = A[i, k]
                b = B[j, k]
                acc += a * b
            t: f32
            acc_scale(acc, t, scale)
            o: i8
            clamp(t, o)
            if act == True:
                o = relu(o)
            C[i, j] = o


@proc
def broken_matmul_abt(scale: f32, act: bool, A: i8[16, 32] @ DRAM, B: i8[24, 32] @ DRAM,
                      C: i8[16, 24] @ DRAM):
    for i in seq(0, 16):
        for j in seq(0, 24):
            acc: i32
            acc = 0.0
            for k in seq(0, 16):     # half of the reduction
                a: i32
                b: i32
                a = A[i, k]
                b = B[j, k]
                acc += a * b
            t: f32
            acc_scale(acc, t, scale)
            o: i8
            clamp(t, o)
            if act == True:
                o = relu(o)
            C[i, j] = o


def expect_matmul_abt(i):
    return {"C": requant(mm(i["A"], np.asarray(i["B"]).T), i["scale"], i["act"])}


# ---------------------------------------------------------------------------
# 3. Batched GEMM: three independent 32x16x32 products
# ---------------------------------------------------------------------------

@proc
def batched_gemm(scale: f32, act: bool, A: i8[3, 32, 32] @ DRAM, B: i8[3, 32, 16] @ DRAM,
                 C: i8[3, 32, 16] @ DRAM):
    for n in seq(0, 3):
        for io in seq(0, 2):
            acc: i32[16, 16] @ GEMM_ACCUM
            zero_acc_i32(16, 16, acc)
            for ko in seq(0, 2):
                a: i8[16, 16] @ GEMM_SCRATCH
                b: i8[16, 16] @ GEMM_SCRATCH
                ld_i8(16, 16, A[n, 16 * io:16 * io + 16, 16 * ko:16 * ko + 16], a)
                ld_i8(16, 16, B[n, 16 * ko:16 * ko + 16, 0:16], b)
                matmul_acc_i8(16, 16, 16, a, b, acc)
            st_acc_i8(16, 16, scale, act, acc, C[n, 16 * io:16 * io + 16, 0:16])


@proc
def broken_batched_gemm(scale: f32, act: bool, A: i8[3, 32, 32] @ DRAM,
                        B: i8[3, 32, 16] @ DRAM, C: i8[3, 32, 16] @ DRAM):
    for n in seq(0, 3):
        for io in seq(0, 2):
            acc: i32[16, 16] @ GEMM_ACCUM
            zero_acc_i32(16, 16, acc)
            for ko in seq(0, 2):
                a: i8[16, 16] @ GEMM_SCRATCH
                b: i8[16, 16] @ GEMM_SCRATCH
                ld_i8(16, 16, A[n, 16 * io:16 * io + 16, 16 * ko:16 * ko + 16], a)
                ld_i8(16, 16, B[0, 16 * ko:16 * ko + 16, 0:16], b)   # batch 0's B
                matmul_acc_i8(16, 16, 16, a, b, acc)
            st_acc_i8(16, 16, scale, act, acc, C[n, 16 * io:16 * io + 16, 0:16])


def expect_batched_gemm(i):
    acc = np.stack([mm(i["A"][n], i["B"][n]) for n in range(3)])
    return {"C": requant(acc, i["scale"], i["act"])}


# ---------------------------------------------------------------------------
# 4. GEMM + ReLU always on, no act parameter
# ---------------------------------------------------------------------------

@proc
def gemm_relu(scale: f32, A: i8[32, 48] @ DRAM, B: i8[48, 32] @ DRAM, C: i8[32, 32] @ DRAM):
    for io in seq(0, 2):
        for jo in seq(0, 2):
            acc: i32[16, 16] @ GEMM_ACCUM
            zero_acc_i32(16, 16, acc)
            for ko in seq(0, 3):
                a: i8[16, 16] @ GEMM_SCRATCH
                b: i8[16, 16] @ GEMM_SCRATCH
                ld_i8(16, 16, A[16 * io:16 * io + 16, 16 * ko:16 * ko + 16], a)
                ld_i8(16, 16, B[16 * ko:16 * ko + 16, 16 * jo:16 * jo + 16], b)
                matmul_acc_i8(16, 16, 16, a, b, acc)
            st_acc_i8(16, 16, scale, True, acc, C[16 * io:16 * io + 16, 16 * jo:16 * jo + 16])


@proc
def broken_gemm_relu(scale: f32, A: i8[32, 48] @ DRAM, B: i8[48, 32] @ DRAM,
                     C: i8[32, 32] @ DRAM):
    for io in seq(0, 2):
        for jo in seq(0, 2):
            acc: i32[16, 16] @ GEMM_ACCUM
            zero_acc_i32(16, 16, acc)
            for ko in seq(0, 3):
                a: i8[16, 16] @ GEMM_SCRATCH
                b: i8[16, 16] @ GEMM_SCRATCH
                ld_i8(16, 16, A[16 * io:16 * io + 16, 16 * ko:16 * ko + 16], a)
                ld_i8(16, 16, B[16 * ko:16 * ko + 16, 16 * jo:16 * jo + 16], b)
                matmul_acc_i8(16, 16, 16, a, b, acc)
            st_acc_i8(16, 16, scale, False, acc, C[16 * io:16 * io + 16, 16 * jo:16 * jo + 16])


def expect_gemm_relu(i):
    return {"C": requant(mm(i["A"], i["B"]), i["scale"], True)}


# ---------------------------------------------------------------------------
# 5. (A, B, C): scale 1.0 and no activation, the Autocomp harness convention
# ---------------------------------------------------------------------------

@proc
def gemm_abc(A: i8[16, 32] @ DRAM, B: i8[32, 16] @ DRAM, C: i8[16, 16] @ DRAM):
    one: f32
    one = 1.0
    acc: i32[16, 16] @ GEMM_ACCUM
    zero_acc_i32(16, 16, acc)
    for ko in seq(0, 2):
        a: i8[16, 16] @ GEMM_SCRATCH
        b: i8[16, 16] @ GEMM_SCRATCH
        ld_i8(16, 16, A[0:16, 16 * ko:16 * ko + 16], a)
        ld_i8(16, 16, B[16 * ko:16 * ko + 16, 0:16], b)
        matmul_acc_i8(16, 16, 16, a, b, acc)
    st_acc_i8(16, 16, one, False, acc, C[0:16, 0:16])


@proc
def broken_gemm_abc(A: i8[16, 32] @ DRAM, B: i8[32, 16] @ DRAM, C: i8[16, 16] @ DRAM):
    one: f32
    one = 1.0
    acc: i32[16, 16] @ GEMM_ACCUM
    zero_acc_i32(16, 16, acc)
    for ko in seq(0, 1):     # the second K block is missing
        a: i8[16, 16] @ GEMM_SCRATCH
        b: i8[16, 16] @ GEMM_SCRATCH
        ld_i8(16, 16, A[0:16, 16 * ko:16 * ko + 16], a)
        ld_i8(16, 16, B[16 * ko:16 * ko + 16, 0:16], b)
        matmul_acc_i8(16, 16, 16, a, b, acc)
    st_acc_i8(16, 16, one, False, acc, C[0:16, 0:16])


def expect_gemm_abc(i):
    return {"C": requant(mm(i["A"], i["B"]))}


# ---------------------------------------------------------------------------
# 6. Convolution with 3 input channels: K blocks of 3 (one per kernel position)
# ---------------------------------------------------------------------------

@proc
def conv_rgb(scale: f32, act: bool, inp: i8[1, 6, 6, 3] @ DRAM,
             weights: i8[3, 3, 3, 16] @ DRAM, out: i8[1, 4, 4, 16] @ DRAM):
    for orow in seq(0, 4):
        acc: i32[16, 16] @ GEMM_ACCUM
        zero_acc_i32(4, 16, acc[0:4, :])
        for kr in seq(0, 3):
            for kc in seq(0, 3):
                a: i8[16, 16] @ GEMM_SCRATCH
                b: i8[16, 16] @ GEMM_SCRATCH
                ld_i8(4, 3, inp[0, orow + kr, kc:kc + 4, 0:3], a[0:4, :])
                ld_i8(3, 16, weights[kr, kc, 0:3, 0:16], b[0:3, :])
                matmul_acc_i8(4, 16, 3, a[0:4, :], b[0:3, :], acc[0:4, :])
        st_acc_i8(4, 16, scale, act, acc[0:4, :], out[0, orow, 0:4, 0:16])


@proc
def broken_conv_rgb(scale: f32, act: bool, inp: i8[1, 6, 6, 3] @ DRAM,
                    weights: i8[3, 3, 3, 16] @ DRAM, out: i8[1, 4, 4, 16] @ DRAM):
    for orow in seq(0, 4):
        acc: i32[16, 16] @ GEMM_ACCUM
        zero_acc_i32(4, 16, acc[0:4, :])
        for kr in seq(0, 3):
            for kc in seq(0, 3):
                a: i8[16, 16] @ GEMM_SCRATCH
                b: i8[16, 16] @ GEMM_SCRATCH
                ld_i8(4, 3, inp[0, orow + kc, kr:kr + 4, 0:3], a[0:4, :])   # kr, kc swapped
                ld_i8(3, 16, weights[kr, kc, 0:3, 0:16], b[0:3, :])
                matmul_acc_i8(4, 16, 3, a[0:4, :], b[0:3, :], acc[0:4, :])
        st_acc_i8(4, 16, scale, act, acc[0:4, :], out[0, orow, 0:4, 0:16])


def expect_conv_rgb(i):
    return {"out": requant(conv3x3(i["inp"], i["weights"]), i["scale"], i["act"])}


# ---------------------------------------------------------------------------
# 7. A GEMM algorithm with the user's own names, for map_to_gemmini
# ---------------------------------------------------------------------------

@proc
def renamed_gemm(scale: f32, act: bool, A: i8[32, 64] @ DRAM, B: i8[64, 64] @ DRAM,
                 C: i8[32, 64] @ DRAM):
    for row in seq(0, 32):
        for col in seq(0, 64):
            total: i32
            total = 0.0
            for red in seq(0, 64):
                x: i8
                x = A[row, red]
                y: i8
                y = B[red, col]
                x2: i32
                y2: i32
                x2 = x
                y2 = y
                total += x2 * y2
            t: f32
            acc_scale(total, t, scale)
            o: i8
            clamp(t, o)
            if act == True:
                o = relu(o)
            C[row, col] = o


def expect_gemm(i):
    return {"C": requant(mm(i["A"], i["B"]), i["scale"], i["act"])}


@proc
def broken_renamed_gemm(scale: f32, act: bool, A: i8[32, 64] @ DRAM, B: i8[64, 64] @ DRAM,
                        C: i8[32, 64] @ DRAM):
    for row in seq(0, 32):
        for col in seq(0, 64):
            total: i32
            total = 0.0
            for red in seq(0, 64):
                x: i8
                x = A[row, red]
                y: i8
                y = B[col, red]      # B transposed: not the GEMM its signature suggests
                x2: i32
                y2: i32
                x2 = x
                y2 = y
                total += x2 * y2
            t: f32
            acc_scale(total, t, scale)
            o: i8
            clamp(t, o)
            if act == True:
                o = relu(o)
            C[row, col] = o


def without_scale_and_act(c_text: str, name: str) -> str:
    """Exo's C of a mapped kernel turned into a kernel without ``scale`` and ``act``
    (scale 1.0, no activation), as the Autocomp harness writes them."""
    head = c_text.index(f"// {name}(")
    text = c_text[head:]
    for old, new in (("//     scale : f32 @DRAM,\n", ""), ("//     act : bool,\n", ""),
                     ("const float* scale, bool act, ", ""),
                     ("(act), (scale)[0]", "(0), 1.0f")):
        assert old in text, old
        text = text.replace(old, new)
    return text


# ---------------------------------------------------------------------------
# Roles and element types: an int32 array read and written, float arrays
# ---------------------------------------------------------------------------

@proc
def accumulate_i32(A: i8[8, 16] @ DRAM, B: i8[16, 4] @ DRAM, C: i32[8, 4] @ DRAM):
    for i in seq(0, 8):
        for j in seq(0, 4):
            for k in seq(0, 16):
                a: i32
                b: i32
                a = A[i, k]
                b = B[k, j]
                C[i, j] += a * b


@proc
def axpy_f32(alpha: f32, x: f32[32] @ DRAM, y: f32[32] @ DRAM, flip: bool):
    for i in seq(0, 32):
        if flip == True:
            y[i] = y[i] - alpha * x[i]
        else:
            y[i] = y[i] + alpha * x[i]


# ---------------------------------------------------------------------------
# A GEMM whose output gets a residual added on the CPU (saturating), as a user writes it
# ---------------------------------------------------------------------------

# Exo's Gemmini library has no fence: a user declares one to wait for the mvout
@instr("gemmini_fence();")
def fence():
    pass


@proc
def gemm_residual(scale: f32, A: i8[16, 16] @ DRAM, B: i8[16, 16] @ DRAM,
                  R: i8[16, 16] @ DRAM, C: i8[16, 16] @ DRAM):
    acc: i32[16, 16] @ GEMM_ACCUM
    zero_acc_i32(16, 16, acc)
    a: i8[16, 16] @ GEMM_SCRATCH
    b: i8[16, 16] @ GEMM_SCRATCH
    ld_i8(16, 16, A[0:16, 0:16], a)
    ld_i8(16, 16, B[0:16, 0:16], b)
    matmul_acc_i8(16, 16, 16, a, b, acc)
    st_acc_i8(16, 16, scale, False, acc, C[0:16, 0:16])
    fence()
    for i in seq(0, 16):
        for j in seq(0, 16):
            x: f32
            y: f32
            x = C[i, j]
            y = R[i, j]
            s: f32
            s = x + y
            o: i8
            clamp(s, o)
            C[i, j] = o


@proc
def broken_gemm_residual(scale: f32, A: i8[16, 16] @ DRAM, B: i8[16, 16] @ DRAM,
                         R: i8[16, 16] @ DRAM, C: i8[16, 16] @ DRAM):
    acc: i32[16, 16] @ GEMM_ACCUM
    zero_acc_i32(16, 16, acc)
    a: i8[16, 16] @ GEMM_SCRATCH
    b: i8[16, 16] @ GEMM_SCRATCH
    ld_i8(16, 16, A[0:16, 0:16], a)
    ld_i8(16, 16, B[0:16, 0:16], b)
    matmul_acc_i8(16, 16, 16, a, b, acc)
    st_acc_i8(16, 16, scale, False, acc, C[0:16, 0:16])
    fence()
    for i in seq(0, 16):
        for j in seq(0, 16):
            x: f32
            y: f32
            x = C[i, j]
            y = R[j, i]          # the residual transposed
            s: f32
            s = x + y
            o: i8
            clamp(s, o)
            C[i, j] = o


def expect_gemm_residual(i):
    c = requant(mm(i["A"], i["B"]), i["scale"]).astype(np.int64)
    return {"C": np.clip(c + np.asarray(i["R"]).astype(np.int64), -128, 127).astype(np.int8)}
