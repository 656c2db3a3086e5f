"""Exo procs the mapping needs beyond lowering.suite and Exo's Gemmini platform.

* ``gemm_bias``, ``bgemm``, ``bgemm_bias``: size-generic GEMM algorithms with an int32
  bias row loaded into the accumulator and / or an outer batch loop, with the loop,
  buffer and argument names of ``lowering.suite``'s GEMM (what `lowering.mapping`
  schedules).
* ``ld_acc_i32_row``: an instruction loading one int32 row into every row of an
  accumulator tile (a bias), a ``mvin`` with row stride 0; unlike Exo's
  ``ld_acc_i32_vector`` any width up to 16, for edge tiles.
"""

from __future__ import annotations

from exo import DRAM, instr, proc
from exo.libs.externs import relu
from exo.libs.memories import GEMM_ACCUM
from exo.platforms.gemmini import acc_scale, clamp

_ = (DRAM, GEMM_ACCUM, relu, acc_scale, clamp)   # read by Exo's @proc parser


@instr("gemmini_extended3_config_ld(0, 1.0f, 0, 0);\n"
       "gemmini_extended_mvin( ((uint64_t) &{src_data}), ((uint32_t) &{dst_data}), {m}, {n} );")
def ld_acc_i32_row(n: size, m: size, src: [i32][1, m] @ DRAM, dst: [i32][n, 16] @ GEMM_ACCUM):
    assert n <= 16
    assert m <= 16
    assert stride(src, 1) == 1
    assert stride(dst, 0) == 16
    assert stride(dst, 1) == 1
    for i in seq(0, n):
        for j in seq(0, m):
            dst[i, j] = src[0, j]


@proc
def gemm_bias(M: size, N: size, K: size, scale: f32, act: bool,
              A: i8[M, K] @ DRAM, B: i8[K, N] @ DRAM, bias: i32[1, N] @ DRAM,
              C: i8[M, N] @ DRAM):
    for i in seq(0, M):
        for j in seq(0, N):
            res: i32 @ DRAM
            res = bias[0, j]
            for k in seq(0, K):
                a: i8 @ DRAM
                a = A[i, k]
                b: i8 @ DRAM
                b = B[k, j]
                a2: i32
                b2: i32
                a2 = a
                b2 = b
                res += a2 * b2
            src_tmp: i32
            src_tmp = res
            tmp_res1: f32
            acc_scale(src_tmp, tmp_res1, scale)
            tmp_res2: i8
            clamp(tmp_res1, tmp_res2)
            if act == True:
                tmp_res2 = relu(tmp_res2)
            C[i, j] = tmp_res2


@proc
def bgemm(L: size, M: size, N: size, K: size, scale: f32, act: bool,
           A: i8[L, M, K] @ DRAM, B: i8[L, K, N] @ DRAM, C: i8[L, M, N] @ DRAM):
    for n in seq(0, L):
        for i in seq(0, M):
            for j in seq(0, N):
                res: i32 @ DRAM
                res = 0.0
                for k in seq(0, K):
                    a: i8 @ DRAM
                    a = A[n, i, k]
                    b: i8 @ DRAM
                    b = B[n, k, j]
                    a2: i32
                    b2: i32
                    a2 = a
                    b2 = b
                    res += a2 * b2
                src_tmp: i32
                src_tmp = res
                tmp_res1: f32
                acc_scale(src_tmp, tmp_res1, scale)
                tmp_res2: i8
                clamp(tmp_res1, tmp_res2)
                if act == True:
                    tmp_res2 = relu(tmp_res2)
                C[n, i, j] = tmp_res2


@proc
def bgemm_bias(L: size, M: size, N: size, K: size, scale: f32, act: bool,
               A: i8[L, M, K] @ DRAM, B: i8[L, K, N] @ DRAM, bias: i32[1, N] @ DRAM,
               C: i8[L, M, N] @ DRAM):
    for n in seq(0, L):
        for i in seq(0, M):
            for j in seq(0, N):
                res: i32 @ DRAM
                res = bias[0, j]
                for k in seq(0, K):
                    a: i8 @ DRAM
                    a = A[n, i, k]
                    b: i8 @ DRAM
                    b = B[n, k, j]
                    a2: i32
                    b2: i32
                    a2 = a
                    b2 = b
                    res += a2 * b2
                src_tmp: i32
                src_tmp = res
                tmp_res1: f32
                acc_scale(src_tmp, tmp_res1, scale)
                tmp_res2: i8
                clamp(tmp_res1, tmp_res2)
                if act == True:
                    tmp_res2 = relu(tmp_res2)
                C[n, i, j] = tmp_res2
