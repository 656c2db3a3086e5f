"""User-style *algorithm* procs (plain loops, no Gemmini instruction) for map_to_gemmini.

Loop, buffer and argument names are the user's own. Each ``CASES`` entry: the proc, its
numpy expectation (``tests.user_procs``'s conventions), and a broken twin with the same
signature that computes something else but is still a matmul or convolution (so it maps
too, and only the check against the good proc can catch it).
"""

from __future__ import annotations

import numpy as np
from exo import DRAM, proc
from exo.libs.externs import relu
from exo.platforms.gemmini import acc_scale, clamp

from tests.user_procs import conv3x3, conv_padded, mm, requant

_ = (DRAM, relu, acc_scale, clamp)   # read by Exo's @proc parser


# 1. FC layer: y = x @ w + bias, ReLU by `act`; 20 x 40 x 24 (edge tiles everywhere)
@proc
def fc_bias(scale: f32, act: bool, x: i8[20, 24] @ DRAM, w: i8[24, 40] @ DRAM,
            bias: i32[1, 40] @ DRAM, y: i8[20, 40] @ DRAM):
    for r in seq(0, 20):
        for c in seq(0, 40):
            s: i32
            s = bias[0, c]
            for t in seq(0, 24):
                xv: i32
                wv: i32
                xv = x[r, t]
                wv = w[t, c]
                s += xv * wv
            f: f32
            acc_scale(s, f, scale)
            o: i8
            clamp(f, o)
            if act == True:
                o = relu(o)
            y[r, c] = o


@proc
def broken_fc_bias(scale: f32, act: bool, x: i8[20, 24] @ DRAM, w: i8[24, 40] @ DRAM,
                   bias: i32[1, 40] @ DRAM, y: i8[20, 40] @ DRAM):
    for r in seq(0, 20):
        for c in seq(0, 40):
            s: i32
            s = 0.0                      # the bias is lost
            for t in seq(0, 24):
                xv: i32
                wv: i32
                xv = x[r, t]
                wv = w[t, c]
                s += xv * wv
            f: f32
            acc_scale(s, f, scale)
            o: i8
            clamp(f, o)
            if act == True:
                o = relu(o)
            y[r, c] = o


def expect_fc_bias(i):
    acc = mm(i["x"], i["w"]) + np.asarray(i["bias"]).astype(np.int64).reshape(1, -1)
    return {"y": requant(acc, i["scale"], i["act"])}


# 2. Batched GEMM: two independent 20 x 16 x 24 products
@proc
def batched(scale: f32, act: bool, P: i8[2, 20, 24] @ DRAM, Q: i8[2, 24, 16] @ DRAM,
            R: i8[2, 20, 16] @ DRAM):
    for bt in seq(0, 2):
        for m in seq(0, 20):
            for n in seq(0, 16):
                acc: i32
                acc = 0.0
                for kk in seq(0, 24):
                    pv: i32
                    qv: i32
                    pv = P[bt, m, kk]
                    qv = Q[bt, kk, n]
                    acc += pv * qv
                f: f32
                acc_scale(acc, f, scale)
                o: i8
                clamp(f, o)
                if act == True:
                    o = relu(o)
                R[bt, m, n] = o


@proc
def broken_batched(scale: f32, act: bool, P: i8[2, 20, 24] @ DRAM, Q: i8[2, 24, 16] @ DRAM,
                   R: i8[2, 20, 16] @ DRAM):
    for bt in seq(0, 2):
        for m in seq(0, 20):
            for n in seq(0, 16):
                acc: i32
                acc = 0.0
                for kk in seq(0, 24):
                    pv: i32
                    qv: i32
                    pv = P[bt, m, kk]
                    qv = Q[bt, kk, n]
                    acc += pv * qv
                f: f32
                acc_scale(acc, f, scale)
                o: i8
                clamp(f, o)
                o = relu(o)              # ReLU whatever `act` says
                R[bt, m, n] = o


def expect_batched(i):
    acc = np.stack([mm(i["P"][n], i["Q"][n]) for n in range(2)])
    return {"R": requant(acc, i["scale"], i["act"])}


# 3. GEMM + ReLU always (no act parameter), 32 x 24 x 16
@proc
def gemm_relu(scale: f32, A: i8[32, 16] @ DRAM, B: i8[16, 24] @ DRAM, C: i8[32, 24] @ DRAM):
    for i in seq(0, 32):
        for j in seq(0, 24):
            acc: i32
            acc = 0.0
            for k in seq(0, 16):
                a: i32
                b: i32
                a = A[i, k]
                b = B[k, j]
                acc += a * b
            f: f32
            acc_scale(acc, f, scale)
            o: i8
            clamp(f, o)
            o = relu(o)
            C[i, j] = o


@proc
def broken_gemm_relu(scale: f32, A: i8[32, 16] @ DRAM, B: i8[16, 24] @ DRAM,
                     C: i8[32, 24] @ DRAM):
    for i in seq(0, 32):
        for j in seq(0, 24):
            acc: i32
            acc = 0.0
            for k in seq(0, 16):
                a: i32
                b: i32
                a = A[i, k]
                b = B[k, j]
                acc += a * b
            f: f32
            acc_scale(acc, f, scale)
            o: i8
            clamp(f, o)                  # the ReLU is missing
            C[i, j] = o


def expect_gemm_relu(i):
    return {"C": requant(mm(i["A"], i["B"]), i["scale"], True)}


# 4. 100 x 70 x 50, no dimension a multiple of 16, the user's own names
@proc
def gemm_100x70x50(lhs: i8[100, 50] @ DRAM, rhs: i8[50, 70] @ DRAM, s: f32, relu_on: bool,
                   out: i8[100, 70] @ DRAM):
    for row in seq(0, 100):
        for col in seq(0, 70):
            acc: i32
            acc = 0.0
            for red in seq(0, 50):
                a: i32
                b: i32
                a = lhs[row, red]
                b = rhs[red, col]
                acc += a * b
            f: f32
            acc_scale(acc, f, s)
            o: i8
            clamp(f, o)
            if relu_on == True:
                o = relu(o)
            out[row, col] = o


@proc
def broken_gemm_100x70x50(lhs: i8[100, 50] @ DRAM, rhs: i8[50, 70] @ DRAM, s: f32,
                          relu_on: bool, out: i8[100, 70] @ DRAM):
    for row in seq(0, 100):
        for col in seq(0, 70):
            acc: i32
            acc = 0.0
            for red in seq(0, 50):
                a: i32
                b: i32
                a = lhs[row, red]
                b = rhs[red, col]
                acc += a * b
            f: f32
            acc_scale(acc, f, s)
            o: i8
            clamp(f, o)
            o = relu(o)                  # ReLU whatever `relu_on` says
            out[row, col] = o


def expect_gemm_100x70x50(i):
    return {"out": requant(mm(i["lhs"], i["rhs"]), i["s"], i["relu_on"])}


# The harness convention (A, B, C): no scale (1.0), no activation
@proc
def gemm_unscaled(A: i8[16, 32] @ DRAM, B: i8[32, 16] @ DRAM, C: i8[16, 16] @ DRAM):
    for i in seq(0, 16):
        for j in seq(0, 16):
            acc: i32
            acc = 0.0
            for k in seq(0, 32):
                a: i32
                b: i32
                a = A[i, k]
                b = B[k, j]
                acc += a * b
            one: f32
            one = 1.0
            f: f32
            acc_scale(acc, f, one)
            o: i8
            clamp(f, o)
            C[i, j] = o


def expect_gemm_unscaled(i):
    return {"C": requant(mm(i["A"], i["B"]))}


# 5. A 3x3 convolution with its own names (16 channels in, 16 out, bias)
@proc
def conv_named(feat: i8[1, 6, 6, 16] @ DRAM, filt: i8[3, 3, 16, 16] @ DRAM,
               shift: i32[1, 16] @ DRAM, scale: f32, act: bool,
               res: i8[1, 4, 4, 16] @ DRAM):
    for n in seq(0, 1):
        for y in seq(0, 4):
            for x in seq(0, 4):
                for oc in seq(0, 16):
                    s: i32
                    s = shift[0, oc]
                    for dy in seq(0, 3):
                        for dx in seq(0, 3):
                            for ic in seq(0, 16):
                                fv: i32
                                wv: i32
                                fv = feat[n, y + dy, x + dx, ic]
                                wv = filt[dy, dx, ic, oc]
                                s += fv * wv
                    f: f32
                    acc_scale(s, f, scale)
                    o: i8
                    clamp(f, o)
                    if act == True:
                        o = relu(o)
                    res[n, y, x, oc] = o


@proc
def broken_conv_named(feat: i8[1, 6, 6, 16] @ DRAM, filt: i8[3, 3, 16, 16] @ DRAM,
                      shift: i32[1, 16] @ DRAM, scale: f32, act: bool,
                      res: i8[1, 4, 4, 16] @ DRAM):
    for n in seq(0, 1):
        for y in seq(0, 4):
            for x in seq(0, 4):
                for oc in seq(0, 16):
                    s: i32
                    s = shift[0, oc]
                    for dy in seq(0, 3):
                        for dx in seq(0, 3):
                            for ic in seq(0, 16):
                                fv: i32
                                wv: i32
                                fv = feat[n, y + dy, x + dx, ic]
                                wv = filt[dy, dx, ic, oc]
                                s += fv * wv
                    f: f32
                    acc_scale(s, f, scale)
                    o: i8
                    clamp(f, o)
                    o = relu(o)          # ReLU whatever `act` says
                    res[n, y, x, oc] = o


def expect_conv_named(i):
    acc = conv3x3(i["feat"], i["filt"]) + np.asarray(i["shift"]).astype(np.int64).reshape(-1)
    return {"res": requant(acc, i["scale"], i["act"])}


# 6. A convolution with 3 input channels (RGB), as a user writes it first
@proc
def conv_rgb(scale: f32, act: bool, img: i8[1, 6, 6, 3] @ DRAM, k: i8[3, 3, 3, 16] @ DRAM,
             b: i32[1, 16] @ DRAM, out: i8[1, 4, 4, 16] @ DRAM):
    for n in seq(0, 1):
        for y in seq(0, 4):
            for x in seq(0, 4):
                for oc in seq(0, 16):
                    s: i32
                    s = b[0, oc]
                    for dy in seq(0, 3):
                        for dx in seq(0, 3):
                            for ic in seq(0, 3):
                                s += img[n, y + dy, x + dx, ic] * k[dy, dx, ic, oc]
                    f: f32
                    acc_scale(s, f, scale)
                    o: i8
                    clamp(f, o)
                    if act == True:
                        o = relu(o)
                    out[n, y, x, oc] = o


@proc
def broken_conv_rgb(scale: f32, act: bool, img: i8[1, 6, 6, 3] @ DRAM,
                    k: i8[3, 3, 3, 16] @ DRAM, b: i32[1, 16] @ DRAM,
                    out: i8[1, 4, 4, 16] @ DRAM):
    for n in seq(0, 1):
        for y in seq(0, 4):
            for x in seq(0, 4):
                for oc in seq(0, 16):
                    s: i32
                    s = b[0, oc]
                    for dy in seq(0, 3):
                        for dx in seq(0, 3):
                            for ic in seq(0, 3):
                                s += img[n, y + dy, x + dx, ic] * k[dy, dx, ic, oc]
                    f: f32
                    acc_scale(s, f, scale)
                    o: i8
                    clamp(f, o)
                    o = relu(o)          # ReLU whatever `act` says
                    out[n, y, x, oc] = o


def expect_conv_rgb(i):
    acc = conv3x3(i["img"], i["k"]) + np.asarray(i["b"]).astype(np.int64).reshape(-1)
    return {"out": requant(acc, i["scale"], i["act"])}


# 7. A convolution with 20 input and 24 output channels (edge tiles in both)
@proc
def conv_20x24(scale: f32, act: bool, src: i8[1, 7, 7, 20] @ DRAM,
               wt: i8[3, 3, 20, 24] @ DRAM, bias: i32[1, 24] @ DRAM,
               dst: i8[1, 5, 5, 24] @ DRAM):
    for n in seq(0, 1):
        for r in seq(0, 5):
            for c in seq(0, 5):
                for o in seq(0, 24):
                    acc: i32
                    acc = bias[0, o]
                    for u in seq(0, 3):
                        for v in seq(0, 3):
                            for ch in seq(0, 20):
                                acc += src[n, r + u, c + v, ch] * wt[u, v, ch, o]
                    f: f32
                    acc_scale(acc, f, scale)
                    q: i8
                    clamp(f, q)
                    if act == True:
                        q = relu(q)
                    dst[n, r, c, o] = q


@proc
def broken_conv_20x24(scale: f32, act: bool, src: i8[1, 7, 7, 20] @ DRAM,
                      wt: i8[3, 3, 20, 24] @ DRAM, bias: i32[1, 24] @ DRAM,
                      dst: i8[1, 5, 5, 24] @ DRAM):
    for n in seq(0, 1):
        for r in seq(0, 5):
            for c in seq(0, 5):
                for o in seq(0, 24):
                    acc: i32
                    acc = bias[0, o]
                    for u in seq(0, 3):
                        for v in seq(0, 3):
                            for ch in seq(0, 20):
                                acc += src[n, r + u, c + v, ch] * wt[u, v, ch, o]
                    f: f32
                    acc_scale(acc, f, scale)
                    q: i8
                    clamp(f, q)
                    dst[n, r, c, o] = q      # `act` ignored


def expect_conv_20x24(i):
    acc = conv3x3(i["src"], i["wt"]) + np.asarray(i["bias"]).astype(np.int64).reshape(-1)
    return {"dst": requant(acc, i["scale"], i["act"])}


# 8. C = A @ B^T with B square, so its broken twin (B not transposed) is a matmul too
@proc
def gemm_abt(scale: f32, act: bool, X: i8[20, 24] @ DRAM, W: i8[24, 24] @ DRAM,
             Y: i8[20, 24] @ DRAM):
    for r in seq(0, 20):
        for c in seq(0, 24):
            acc: i32
            acc = 0.0
            for t in seq(0, 24):
                acc += X[r, t] * W[c, t]
            f: f32
            acc_scale(acc, f, scale)
            q: i8
            clamp(f, q)
            if act == True:
                q = relu(q)
            Y[r, c] = q


@proc
def broken_gemm_abt(scale: f32, act: bool, X: i8[20, 24] @ DRAM, W: i8[24, 24] @ DRAM,
                    Y: i8[20, 24] @ DRAM):
    for r in seq(0, 20):
        for c in seq(0, 24):
            acc: i32
            acc = 0.0
            for t in seq(0, 24):
                acc += X[r, t] * W[t, c]     # W not transposed
            f: f32
            acc_scale(acc, f, scale)
            q: i8
            clamp(f, q)
            if act == True:
                q = relu(q)
            Y[r, c] = q


def expect_gemm_abt(i):
    return {"Y": requant(mm(i["X"], np.asarray(i["W"]).T), i["scale"], i["act"])}


# 9. Batched C[n] = A[n] @ B[n]^T, 2 x (20 x 18 x 24)
@proc
def batched_abt(scale: f32, act: bool, A: i8[2, 20, 24] @ DRAM, B: i8[2, 18, 24] @ DRAM,
                C: i8[2, 20, 18] @ DRAM):
    for n in seq(0, 2):
        for i in seq(0, 20):
            for j in seq(0, 18):
                acc: i32
                acc = 0.0
                for k in seq(0, 24):
                    acc += A[n, i, k] * B[n, j, k]
                f: f32
                acc_scale(acc, f, scale)
                q: i8
                clamp(f, q)
                if act == True:
                    q = relu(q)
                C[n, i, j] = q


@proc
def broken_batched_abt(scale: f32, act: bool, A: i8[2, 20, 24] @ DRAM,
                       B: i8[2, 18, 24] @ DRAM, C: i8[2, 20, 18] @ DRAM):
    for n in seq(0, 2):
        for i in seq(0, 20):
            for j in seq(0, 18):
                acc: i32
                acc = 0.0
                for k in seq(0, 24):
                    acc += A[n, i, k] * B[n, j, k]
                f: f32
                acc_scale(acc, f, scale)
                q: i8
                clamp(f, q)
                q = relu(q)          # ReLU whatever `act` says
                C[n, i, j] = q


def expect_batched_abt(i):
    a = np.asarray(i["A"]).astype(np.int64)
    b = np.asarray(i["B"]).astype(np.int64)
    return {"C": requant(a @ b.swapaxes(1, 2), i["scale"], i["act"])}


# 10. A padded 3x3 convolution (pad 1, output as big as the input), 16 -> 16 channels,
# the guard in one `if`; its broken twin's guard drops the last input row
@proc
def conv_pad1(scale: f32, act: bool, x: i8[2, 8, 8, 16] @ DRAM, w: i8[3, 3, 16, 16] @ DRAM,
              bias: i32[1, 16] @ DRAM, y: i8[2, 8, 8, 16] @ DRAM):
    for n in seq(0, 2):
        for r in seq(0, 8):
            for c in seq(0, 8):
                for o in seq(0, 16):
                    acc: i32
                    acc = bias[0, o]
                    for u in seq(0, 3):
                        for v in seq(0, 3):
                            for i in seq(0, 16):
                                if 0 <= r + u - 1 and r + u - 1 < 8 and 0 <= c + v - 1 \
                                        and c + v - 1 < 8:
                                    acc += x[n, r + u - 1, c + v - 1, i] * w[u, v, i, o]
                    f: f32
                    acc_scale(acc, f, scale)
                    q: i8
                    clamp(f, q)
                    if act == True:
                        q = relu(q)
                    y[n, r, c, o] = q


@proc
def broken_conv_pad1(scale: f32, act: bool, x: i8[2, 8, 8, 16] @ DRAM,
                     w: i8[3, 3, 16, 16] @ DRAM, bias: i32[1, 16] @ DRAM,
                     y: i8[2, 8, 8, 16] @ DRAM):
    for n in seq(0, 2):
        for r in seq(0, 8):
            for c in seq(0, 8):
                for o in seq(0, 16):
                    acc: i32
                    acc = bias[0, o]
                    for u in seq(0, 3):
                        for v in seq(0, 3):
                            for i in seq(0, 16):
                                if 0 <= r + u - 1 and r + u - 1 < 7 and 0 <= c + v - 1 \
                                        and c + v - 1 < 8:      # off by one: row 7 lost
                                    acc += x[n, r + u - 1, c + v - 1, i] * w[u, v, i, o]
                    f: f32
                    acc_scale(acc, f, scale)
                    q: i8
                    clamp(f, q)
                    if act == True:
                        q = relu(q)
                    y[n, r, c, o] = q


def expect_conv_pad1(i):
    acc = conv_padded(i["x"], i["w"], 1) + np.asarray(i["bias"]).astype(np.int64).reshape(-1)
    return {"y": requant(acc, i["scale"], i["act"])}


# 11. A padded 3x3 convolution with odd channel counts (3 -> 20), the guard split into
# nested ifs around the kernel-column loop; its broken twin starts the columns one late
@proc
def conv_pad_rgb(scale: f32, act: bool, img: i8[1, 6, 6, 3] @ DRAM,
                 k: i8[3, 3, 3, 20] @ DRAM, b: i32[1, 20] @ DRAM,
                 out: i8[1, 6, 6, 20] @ DRAM):
    for n in seq(0, 1):
        for y in seq(0, 6):
            for x in seq(0, 6):
                for oc in seq(0, 20):
                    s: i32
                    s = b[0, oc]
                    for dy in seq(0, 3):
                        if y + dy >= 1:
                            if y + dy <= 6:
                                for dx in seq(0, 3):
                                    if x + dx >= 1:
                                        if x + dx < 7:
                                            for ic in seq(0, 3):
                                                a: i32
                                                wv: i32
                                                a = img[n, y + dy - 1, x + dx - 1, ic]
                                                wv = k[dy, dx, ic, oc]
                                                s += a * wv
                    f: f32
                    acc_scale(s, f, scale)
                    o: i8
                    clamp(f, o)
                    if act == True:
                        o = relu(o)
                    out[n, y, x, oc] = o


@proc
def broken_conv_pad_rgb(scale: f32, act: bool, img: i8[1, 6, 6, 3] @ DRAM,
                        k: i8[3, 3, 3, 20] @ DRAM, b: i32[1, 20] @ DRAM,
                        out: i8[1, 6, 6, 20] @ DRAM):
    for n in seq(0, 1):
        for y in seq(0, 6):
            for x in seq(0, 6):
                for oc in seq(0, 20):
                    s: i32
                    s = b[0, oc]
                    for dy in seq(0, 3):
                        if y + dy >= 1:
                            if y + dy <= 6:
                                for dx in seq(0, 3):
                                    if x + dx >= 2:         # off by one: column 0 lost
                                        if x + dx < 7:
                                            for ic in seq(0, 3):
                                                a: i32
                                                wv: i32
                                                a = img[n, y + dy - 1, x + dx - 1, ic]
                                                wv = k[dy, dx, ic, oc]
                                                s += a * wv
                    f: f32
                    acc_scale(s, f, scale)
                    o: i8
                    clamp(f, o)
                    if act == True:
                        o = relu(o)
                    out[n, y, x, oc] = o


def expect_conv_pad_rgb(i):
    acc = conv_padded(i["img"], i["k"], 1) + np.asarray(i["b"]).astype(np.int64).reshape(-1)
    return {"out": requant(acc, i["scale"], i["act"])}


# 12. A 5x5 kernel with pad 2 on a 7x7 image, 8 -> 16 channels, no bias (the accumulator
# starts at 0); its broken twin's guard drops the last input column
@proc
def conv_pad2(scale: f32, act: bool, src: i8[1, 7, 7, 8] @ DRAM, wt: i8[5, 5, 8, 16] @ DRAM,
              dst: i8[1, 7, 7, 16] @ DRAM):
    for n in seq(0, 1):
        for r in seq(0, 7):
            for c in seq(0, 7):
                for o in seq(0, 16):
                    acc: i32
                    acc = 0.0
                    for u in seq(0, 5):
                        for v in seq(0, 5):
                            for ch in seq(0, 8):
                                if r + u - 2 >= 0 and r + u - 2 < 7 and c + v - 2 >= 0 \
                                        and c + v - 2 < 7:
                                    acc += src[n, r + u - 2, c + v - 2, ch] * wt[u, v, ch, o]
                    f: f32
                    acc_scale(acc, f, scale)
                    q: i8
                    clamp(f, q)
                    if act == True:
                        q = relu(q)
                    dst[n, r, c, o] = q


@proc
def broken_conv_pad2(scale: f32, act: bool, src: i8[1, 7, 7, 8] @ DRAM,
                     wt: i8[5, 5, 8, 16] @ DRAM, dst: i8[1, 7, 7, 16] @ DRAM):
    for n in seq(0, 1):
        for r in seq(0, 7):
            for c in seq(0, 7):
                for o in seq(0, 16):
                    acc: i32
                    acc = 0.0
                    for u in seq(0, 5):
                        for v in seq(0, 5):
                            for ch in seq(0, 8):
                                if r + u - 2 >= 0 and r + u - 2 < 7 and c + v - 2 >= 0 \
                                        and c + v - 2 < 6:      # off by one: column 6 lost
                                    acc += src[n, r + u - 2, c + v - 2, ch] * wt[u, v, ch, o]
                    f: f32
                    acc_scale(acc, f, scale)
                    q: i8
                    clamp(f, q)
                    if act == True:
                        q = relu(q)
                    dst[n, r, c, o] = q


def expect_conv_pad2(i):
    return {"dst": requant(conv_padded(i["src"], i["wt"], 2), i["scale"], i["act"])}


# 13. A batched GEMM whose B is shared by the batch (one weight matrix for every image),
# with a bias; B square so that its broken twin (B read transposed) maps too
@proc
def batched_shared(scale: f32, act: bool, X: i8[2, 20, 24] @ DRAM, W: i8[24, 24] @ DRAM,
                   bias: i32[1, 24] @ DRAM, Y: i8[2, 20, 24] @ DRAM):
    for n in seq(0, 2):
        for r in seq(0, 20):
            for c in seq(0, 24):
                acc: i32
                acc = bias[0, c]
                for t in seq(0, 24):
                    acc += X[n, r, t] * W[t, c]
                f: f32
                acc_scale(acc, f, scale)
                q: i8
                clamp(f, q)
                if act == True:
                    q = relu(q)
                Y[n, r, c] = q


@proc
def broken_batched_shared(scale: f32, act: bool, X: i8[2, 20, 24] @ DRAM,
                          W: i8[24, 24] @ DRAM, bias: i32[1, 24] @ DRAM,
                          Y: i8[2, 20, 24] @ DRAM):
    for n in seq(0, 2):
        for r in seq(0, 20):
            for c in seq(0, 24):
                acc: i32
                acc = bias[0, c]
                for t in seq(0, 24):
                    acc += X[n, r, t] * W[c, t]      # W transposed
                f: f32
                acc_scale(acc, f, scale)
                q: i8
                clamp(f, q)
                if act == True:
                    q = relu(q)
                Y[n, r, c] = q


def expect_batched_shared(i):
    acc = np.stack([mm(i["X"][n], i["W"]) for n in range(2)])
    acc = acc + np.asarray(i["bias"]).astype(np.int64).reshape(1, 1, -1)
    return {"Y": requant(acc, i["scale"], i["act"])}


# Not a stride-1 convolution: a stride-2 convolution (refused in one line)
@proc
def conv_stride2(scale: f32, act: bool, x: i8[1, 9, 9, 16] @ DRAM, w: i8[3, 3, 16, 16] @ DRAM,
                 bias: i32[1, 16] @ DRAM, y: i8[1, 4, 4, 16] @ DRAM):
    for n in seq(0, 1):
        for r in seq(0, 4):
            for c in seq(0, 4):
                for o in seq(0, 16):
                    acc: i32
                    acc = bias[0, o]
                    for u in seq(0, 3):
                        for v in seq(0, 3):
                            for i in seq(0, 16):
                                acc += x[n, 2 * r + u, 2 * c + v, i] * w[u, v, i, o]
                    f: f32
                    acc_scale(acc, f, scale)
                    q: i8
                    clamp(f, q)
                    if act == True:
                        q = relu(q)
                    y[n, r, c, o] = q


# Not a padding: the guard bounds the kernel row, not an input position (refused)
@proc
def conv_kernel_guard(scale: f32, act: bool, x: i8[1, 6, 6, 16] @ DRAM,
                      w: i8[3, 3, 16, 16] @ DRAM, bias: i32[1, 16] @ DRAM,
                      y: i8[1, 4, 4, 16] @ DRAM):
    for n in seq(0, 1):
        for r in seq(0, 4):
            for c in seq(0, 4):
                for o in seq(0, 16):
                    acc: i32
                    acc = bias[0, o]
                    for u in seq(0, 3):
                        for v in seq(0, 3):
                            for i in seq(0, 16):
                                if u < 2:
                                    acc += x[n, r + u, c + v, i] * w[u, v, i, o]
                    f: f32
                    acc_scale(acc, f, scale)
                    q: i8
                    clamp(f, q)
                    if act == True:
                        q = relu(q)
                    y[n, r, c, o] = q


# Not a matmul: the accumulator is stored without Gemmini's saturating read-out
@proc
def truncating_gemm(A: i8[16, 16] @ DRAM, B: i8[16, 16] @ DRAM, C: i8[16, 16] @ DRAM):
    for i in seq(0, 16):
        for j in seq(0, 16):
            acc: i32
            acc = 0.0
            for k in seq(0, 16):
                acc += A[i, k] * B[k, j]
            C[i, j] = acc


# Not affine: an index divides a loop variable (Exo accepts it; Gemmini tiles cannot)
@proc
def non_affine_gemm(scale: f32, A: i8[16, 8] @ DRAM, B: i8[8, 16] @ DRAM,
                    C: i8[16, 16] @ DRAM):
    for i in seq(0, 16):
        for j in seq(0, 16):
            acc: i32
            acc = 0.0
            for k in seq(0, 16):
                acc += A[i, k / 2] * B[k / 2, j]
            f: f32
            acc_scale(acc, f, scale)
            q: i8
            clamp(f, q)
            C[i, j] = q


# C = A^T @ B: the first operand read transposed (refused: only B can be transposed)
@proc
def gemm_atb(scale: f32, A: i8[16, 16] @ DRAM, B: i8[16, 16] @ DRAM, C: i8[16, 16] @ DRAM):
    for i in seq(0, 16):
        for j in seq(0, 16):
            acc: i32
            acc = 0.0
            for k in seq(0, 16):
                acc += A[k, i] * B[k, j]
            f: f32
            acc_scale(acc, f, scale)
            q: i8
            clamp(f, q)
            C[i, j] = q


CASES = {   # name -> (good, broken, expectation)
    "fc_bias": (fc_bias, broken_fc_bias, expect_fc_bias),
    "batched": (batched, broken_batched, expect_batched),
    "gemm_relu": (gemm_relu, broken_gemm_relu, expect_gemm_relu),
    "gemm_100x70x50": (gemm_100x70x50, broken_gemm_100x70x50, expect_gemm_100x70x50),
    "conv_named": (conv_named, broken_conv_named, expect_conv_named),
    "conv_rgb": (conv_rgb, broken_conv_rgb, expect_conv_rgb),
    "conv_20x24": (conv_20x24, broken_conv_20x24, expect_conv_20x24),
    "gemm_abt": (gemm_abt, broken_gemm_abt, expect_gemm_abt),
    "batched_abt": (batched_abt, broken_batched_abt, expect_batched_abt),
    "conv_pad1": (conv_pad1, broken_conv_pad1, expect_conv_pad1),
    "conv_pad_rgb": (conv_pad_rgb, broken_conv_pad_rgb, expect_conv_pad_rgb),
    "conv_pad2": (conv_pad2, broken_conv_pad2, expect_conv_pad2),
    "batched_shared": (batched_shared, broken_batched_shared, expect_batched_shared),
}
