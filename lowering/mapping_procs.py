"""Exo procs the mapping needs beyond lowering.suite and Exo's Gemmini platform.

* ``gemm_bias``, ``bgemm``, ``bgemm_bias``: size-generic GEMM algorithms with an int32
  bias row loaded into the accumulator and / or an outer batch loop, with the loop,
  buffer and argument names of ``lowering.suite``'s GEMM (what `lowering.mapping`
  schedules).
* ``bgemm_shared``, ``bgemm_shared_bias``: the batched GEMMs with one ``B[K, N]`` for
  every batch (shared weights).
* ``ld_acc_i32_row``: an instruction loading one int32 row into every row of an
  accumulator tile (a bias), a ``mvin`` with row stride 0; unlike Exo's
  ``ld_acc_i32_vector`` any width up to 16, for edge tiles.
* ``matmul_acc_i8_bt`` (and its config-split twin ``matmul_acc_i8_bt_v2`` with
  ``config_matmul_bt``): ``C += A @ B^T`` of scratchpad tiles, the preload reading B
  transposed (config_ex's B_transpose, docs/hardware.md); the scratchpad tile of B is
  stored ``[j, k]`` as B is in DRAM, so a plain mvin loads it.
"""

from __future__ import annotations

from exo import DRAM, config, instr, proc
from exo.API import Procedure
from exo.core.LoopIR import LoopIR
from exo.libs.externs import relu
from exo.libs.memories import GEMM_ACCUM, GEMM_SCRATCH
from exo.platforms.gemmini import acc_scale, clamp
from exo.stdlib.scheduling import delete_pass, make_instr, rename, replace, write_config

_ = (DRAM, GEMM_ACCUM, GEMM_SCRATCH, relu, acc_scale, clamp)   # read by Exo's @proc parser


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


def reindex_operand(template, name: str, dims):
    """``template`` with argument ``name`` laid out anew: ``dims`` maps a list of its
    dimensions (or of the indices of a read) to the new list, applied to its type and to
    every read of it (e.g. swap the last two: stored transposed; drop the first: shared
    by a batch)."""
    ir = template._loopir_proc
    (arg,) = [a for a in ir.args if str(a.name) == name]

    def expr(e):
        if isinstance(e, LoopIR.Read) and e.name == arg.name:
            return e.update(idx=dims(e.idx))
        if isinstance(e, LoopIR.BinOp):
            return e.update(lhs=expr(e.lhs), rhs=expr(e.rhs))
        return e

    def stmt(s):
        if isinstance(s, (LoopIR.Assign, LoopIR.Reduce)):
            return s.update(rhs=expr(s.rhs))
        if isinstance(s, LoopIR.For):
            return s.update(body=[stmt(b) for b in s.body])
        if isinstance(s, LoopIR.If):
            return s.update(body=[stmt(b) for b in s.body], orelse=[stmt(b) for b in s.orelse])
        return s

    args = [a.update(type=a.type.update(hi=dims(a.type.hi))) if a is arg else a
            for a in ir.args]
    return Procedure(ir.update(args=args, body=[stmt(s) for s in ir.body]))


def _share_b(template, name: str):
    """``template`` (a batched GEMM) with one ``B`` shared by every batch: ``B[k, j]``."""
    return rename(reindex_operand(template, "B", lambda xs: list(xs[1:])), name)


bgemm_shared = _share_b(bgemm, "bgemm_shared")
bgemm_shared_bias = _share_b(bgemm_bias, "bgemm_shared_bias")


# ---------------------------------------------------------------------------
# C += A @ B^T: the preload transposes B (config_ex B_transpose = 1)
# ---------------------------------------------------------------------------

@config
class ConfigMatmulBT:
    done: bool


_CONFIG_MATMUL_BT = "gemmini_extended_config_ex(WS, 0, 0, 1, 0, 1);\n"
# the preload names the weights' logical size (K rows of M columns); with B_transpose
# the hardware reads M rows of K columns of the scratchpad tile and transposes them
_MATMUL_ACC_BT = (
    "gemmini_extended_preload((uint32_t)(&{B_data}), (uint32_t)(&{C_data}) | 0x40000000, "
    "{M}, {K}, {M}, {N});\n"
    "gemmini_extended_compute_preloaded((uint32_t)(&{A_data}), ~((uint32_t)0), "
    "{K}, {N}, 16, 16);")


@instr(_CONFIG_MATMUL_BT)
def config_matmul_bt():
    ConfigMatmulBT.done = True


@proc
def matmul_acc_i8_bt(N: size, M: size, K: size, A: [i8][N, 16] @ GEMM_SCRATCH,
                     B: [i8][M, 16] @ GEMM_SCRATCH, C: [i32][N, 16] @ GEMM_ACCUM):
    assert N <= 16
    assert M <= 16
    assert K <= 16
    pass
    for i in seq(0, N):
        for j in seq(0, M):
            for k in seq(0, K):
                a: i32
                b: i32
                a = A[i, k]
                b = B[j, k]
                C[i, j] += a * b


def _split_config(p):
    """The config-split twin: config_matmul_bt; do_matmul_acc_i8_bt (Exo's own recipe)."""
    p = rename(p, "matmul_acc_i8_bt_v2")
    p = write_config(p, p.body().before(), ConfigMatmulBT, "done", "True")
    p = replace(p, "for i in _:_", do_matmul_acc_i8_bt)
    p = replace(p, "ConfigMatmulBT.done = True", config_matmul_bt)
    p = delete_pass(p)
    return make_instr(p, _MATMUL_ACC_BT)


# the instruction the config-split twin calls: the same semantics, without the config
do_matmul_acc_i8_bt = make_instr(rename(delete_pass(matmul_acc_i8_bt), "do_matmul_acc_i8_bt"),
                                 _MATMUL_ACC_BT)
matmul_acc_i8_bt_v2 = _split_config(matmul_acc_i8_bt)
matmul_acc_i8_bt = make_instr(delete_pass(matmul_acc_i8_bt), _CONFIG_MATMUL_BT + _MATMUL_ACC_BT)
