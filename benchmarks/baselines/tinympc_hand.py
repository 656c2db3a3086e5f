"""Our hand-optimized Exo schedules of the TinyMPC kernels (`lowering.tinympc`), and their
CPU-only versions.

Hand schedules (same signatures and outputs as the straightforward mappings):

* every constant matrix is loaded once, before the horizon loop, and stays resident in
  the scratchpad; negations are folded into load scales (``-Kinf``, ``-d``, ``-KinfT``);
* the three load states hold the scales and strides the loop needs, so no
  configuration is issued inside it;
* a fence only where a later load reads what a store wrote (the vectors that go round
  through DRAM: ``u`` and ``x`` in the forward pass, ``Qu`` and ``p`` in the backward
  pass, the ADMM workspaces), and one fence serves every store before it;
* the ADMM updates move four horizon steps per instruction (rows of 4 inputs).

CPU-only versions: the same equations as plain Exo loops (no accelerator), the
``cpu_only`` baseline of the runner, priced on the emulated core (`lowering.riscv`).

``hand_proc(name)`` / ``cpu_proc(name)`` give them by workload name.
"""

from __future__ import annotations

from exo import DRAM, proc
from exo.libs.externs import select

from lowering.gemmini_fp32 import (FP32_ACCUM, FP32_SCRATCH, config_ex_f32, config_ld2_f32_neg,
                                   config_ld2_f32_one, config_ld3_f32_neg,
                                   config_ld_f32_neg, config_ld_f32_one, config_st_f32,
                                   config_st_f32_neg_relu, config_st_f32_relu, fence_f32,
                                   matmul_acc_f32, matmul_f32, mvin2_acc_add_f32,
                                   mvin2_f32, mvin3_f32, mvin_acc_add_f32, mvin_acc_f32,
                                   mvin_f32, mvout_f32)
from lowering.tinympc import proc_of


@proc
def tinympc_forward_hand(A: f32[12, 12] @ DRAM, B: f32[12, 4] @ DRAM, Kinf: f32[4, 12] @ DRAM,
                         d: f32[4, 4, 1] @ DRAM, x: f32[5, 12, 1] @ DRAM,
                         u: f32[4, 4, 1] @ DRAM):
    sa: f32[3, 3, 4, 4] @ FP32_SCRATCH
    sb: f32[3, 4, 4] @ FP32_SCRATCH
    sk: f32[3, 4, 4] @ FP32_SCRATCH
    sx: f32[3, 4, 4] @ FP32_SCRATCH
    su: f32[4, 4] @ FP32_SCRATCH
    acc: f32[16, 4] @ FP32_ACCUM
    config_ex_f32()
    config_st_f32(stride(x, 1))
    config_ld_f32_one(stride(A, 0))
    for bi in seq(0, 3):
        for bk in seq(0, 3):
            mvin_f32(4, 4, A[4 * bi:4 * bi + 4, 4 * bk:4 * bk + 4], sa[bi, bk, :, :])
    config_ld2_f32_one(stride(B, 0))
    for bi in seq(0, 3):
        mvin2_f32(4, 4, B[4 * bi:4 * bi + 4, 0:4], sb[bi, :, :])
    config_ld3_f32_neg(stride(Kinf, 0))
    for bk in seq(0, 3):
        mvin3_f32(4, 4, Kinf[0:4, 4 * bk:4 * bk + 4], sk[bk, :, :])
    config_ld_f32_neg(stride(d, 1))       # load state 0: -d into the accumulator
    config_ld2_f32_one(stride(x, 1))      # load state 1: vectors into the scratchpad
    for bk in seq(0, 3):
        mvin2_f32(4, 1, x[0, 4 * bk:4 * bk + 4, 0:1], sx[bk, :, :])
    for t in seq(0, 4):
        mvin_acc_f32(4, 1, d[t, 0:4, 0:1], acc[0:4, :])
        for bk in seq(0, 3):
            matmul_acc_f32(4, 1, 4, sk[bk, :, :], sx[bk, :, :], acc[0:4, :])
        mvout_f32(4, 1, acc[0:4, :], u[t, 0:4, 0:1])
        fence_f32()
        mvin2_f32(4, 1, u[t, 0:4, 0:1], su[:, :])
        for bi in seq(0, 3):
            matmul_f32(4, 1, 4, sa[bi, 0, :, :], sx[0, :, :], acc[4 + 4 * bi:8 + 4 * bi, :])
            for bk in seq(1, 3):
                matmul_acc_f32(4, 1, 4, sa[bi, bk, :, :], sx[bk, :, :],
                               acc[4 + 4 * bi:8 + 4 * bi, :])
            matmul_acc_f32(4, 1, 4, sb[bi, :, :], su[:, :], acc[4 + 4 * bi:8 + 4 * bi, :])
        for bi in seq(0, 3):
            mvout_f32(4, 1, acc[4 + 4 * bi:8 + 4 * bi, :], x[t + 1, 4 * bi:4 * bi + 4, 0:1])
        fence_f32()
        for bk in seq(0, 3):
            mvin2_f32(4, 1, x[t + 1, 4 * bk:4 * bk + 4, 0:1], sx[bk, :, :])


@proc
def tinympc_backward_hand(Bt: f32[4, 12] @ DRAM, Quu_inv: f32[4, 4] @ DRAM,
                          AmBKt: f32[12, 12] @ DRAM, KinfT: f32[12, 4] @ DRAM,
                          q: f32[9, 12, 1] @ DRAM, r: f32[9, 4, 1] @ DRAM,
                          p: f32[10, 12, 1] @ DRAM, d: f32[9, 4, 1] @ DRAM,
                          Qu: f32[9, 4, 1] @ DRAM):
    sbt: f32[3, 4, 4] @ FP32_SCRATCH
    squ: f32[4, 4] @ FP32_SCRATCH
    sam: f32[3, 3, 4, 4] @ FP32_SCRATCH
    skt: f32[3, 4, 4] @ FP32_SCRATCH
    sp: f32[3, 4, 4] @ FP32_SCRATCH
    sr: f32[4, 4] @ FP32_SCRATCH
    sq: f32[4, 4] @ FP32_SCRATCH
    acc: f32[20, 4] @ FP32_ACCUM
    config_ex_f32()
    config_st_f32(stride(p, 1))
    config_ld_f32_one(stride(AmBKt, 0))
    for bi in seq(0, 3):
        for bk in seq(0, 3):
            mvin_f32(4, 4, AmBKt[4 * bi:4 * bi + 4, 4 * bk:4 * bk + 4], sam[bi, bk, :, :])
    config_ld_f32_one(stride(Bt, 0))
    for bk in seq(0, 3):
        mvin_f32(4, 4, Bt[0:4, 4 * bk:4 * bk + 4], sbt[bk, :, :])
    config_ld_f32_one(stride(Quu_inv, 0))
    mvin_f32(4, 4, Quu_inv[0:4, 0:4], squ[:, :])
    config_ld3_f32_neg(stride(KinfT, 0))
    for bi in seq(0, 3):
        mvin3_f32(4, 4, KinfT[4 * bi:4 * bi + 4, 0:4], skt[bi, :, :])
    config_ld_f32_one(stride(q, 1))       # load state 0: vectors into the accumulator
    config_ld2_f32_one(stride(p, 1))      # load state 1: vectors into the scratchpad
    for bk in seq(0, 3):
        mvin2_f32(4, 1, p[9, 4 * bk:4 * bk + 4, 0:1], sp[bk, :, :])
    for s in seq(0, 9):
        mvin2_f32(4, 1, r[8 - s, 0:4, 0:1], sr[:, :])
        mvin_acc_f32(4, 1, r[8 - s, 0:4, 0:1], acc[0:4, :])
        for bk in seq(0, 3):
            matmul_acc_f32(4, 1, 4, sbt[bk, :, :], sp[bk, :, :], acc[0:4, :])
        mvout_f32(4, 1, acc[0:4, :], Qu[8 - s, 0:4, 0:1])
        for bi in seq(0, 3):
            mvin_acc_f32(4, 1, q[8 - s, 4 * bi:4 * bi + 4, 0:1], acc[8 + 4 * bi:12 + 4 * bi, :])
        for bi in seq(0, 3):
            for bk in seq(0, 3):
                matmul_acc_f32(4, 1, 4, sam[bi, bk, :, :], sp[bk, :, :],
                               acc[8 + 4 * bi:12 + 4 * bi, :])
            matmul_acc_f32(4, 1, 4, skt[bi, :, :], sr[:, :], acc[8 + 4 * bi:12 + 4 * bi, :])
        for bi in seq(0, 3):
            mvout_f32(4, 1, acc[8 + 4 * bi:12 + 4 * bi, :], p[8 - s, 4 * bi:4 * bi + 4, 0:1])
        fence_f32()
        mvin2_f32(4, 1, Qu[8 - s, 0:4, 0:1], sq[:, :])
        matmul_f32(4, 1, 4, squ[:, :], sq[:, :], acc[4:8, :])
        mvout_f32(4, 1, acc[4:8, :], d[8 - s, 0:4, 0:1])
        for bk in seq(0, 3):
            mvin2_f32(4, 1, p[8 - s, 4 * bk:4 * bk + 4, 0:1], sp[bk, :, :])


@proc
def tinympc_admm_hand(u: f32[9, 4] @ DRAM, z: f32[9, 4] @ DRAM, umin: f32[9, 4] @ DRAM,
                      umax: f32[9, 4] @ DRAM, y: f32[9, 4] @ DRAM, znew: f32[9, 4] @ DRAM,
                      primal: f32[9, 4] @ DRAM, dual: f32[9, 4] @ DRAM, lo: f32[9, 4] @ DRAM,
                      hi: f32[9, 4] @ DRAM, pos: f32[9, 4] @ DRAM, neg: f32[9, 4] @ DRAM):
    acc: f32[16, 4] @ FP32_ACCUM
    config_ld_f32_one(stride(u, 0))       # load state 0: + into the accumulator
    config_ld2_f32_neg(stride(u, 0))      # load state 1: - into the accumulator
    # four horizon steps (rows) at a time: rows 0..3, 4..7, then row 8
    for b in seq(0, 2):
        mvin_acc_f32(4, 4, u[4 * b:4 * b + 4, :], acc[0:4, :])
        mvin_acc_add_f32(4, 4, y[4 * b:4 * b + 4, :], acc[0:4, :])
        mvin2_acc_add_f32(4, 4, umin[4 * b:4 * b + 4, :], acc[0:4, :])
        mvin_acc_f32(4, 4, u[4 * b:4 * b + 4, :], acc[4:8, :])
        mvin_acc_add_f32(4, 4, y[4 * b:4 * b + 4, :], acc[4:8, :])
        mvin2_acc_add_f32(4, 4, umax[4 * b:4 * b + 4, :], acc[4:8, :])
        config_st_f32_relu(stride(lo, 0))
        mvout_f32(4, 4, acc[0:4, :], lo[4 * b:4 * b + 4, :])
        mvout_f32(4, 4, acc[4:8, :], hi[4 * b:4 * b + 4, :])
        fence_f32()
        mvin_acc_f32(4, 4, umin[4 * b:4 * b + 4, :], acc[8:12, :])
        mvin_acc_add_f32(4, 4, lo[4 * b:4 * b + 4, :], acc[8:12, :])
        mvin2_acc_add_f32(4, 4, hi[4 * b:4 * b + 4, :], acc[8:12, :])
        config_st_f32(stride(znew, 0))
        mvout_f32(4, 4, acc[8:12, :], znew[4 * b:4 * b + 4, :])
        fence_f32()
        mvin_acc_f32(4, 4, y[4 * b:4 * b + 4, :], acc[12:16, :])
        mvin_acc_add_f32(4, 4, u[4 * b:4 * b + 4, :], acc[12:16, :])
        mvin2_acc_add_f32(4, 4, znew[4 * b:4 * b + 4, :], acc[12:16, :])
        mvin_acc_f32(4, 4, u[4 * b:4 * b + 4, :], acc[0:4, :])
        mvin2_acc_add_f32(4, 4, znew[4 * b:4 * b + 4, :], acc[0:4, :])
        mvin_acc_f32(4, 4, z[4 * b:4 * b + 4, :], acc[4:8, :])
        mvin2_acc_add_f32(4, 4, znew[4 * b:4 * b + 4, :], acc[4:8, :])
        mvout_f32(4, 4, acc[12:16, :], y[4 * b:4 * b + 4, :])
        config_st_f32_relu(stride(pos, 0))
        mvout_f32(4, 4, acc[0:4, :], pos[4 * b:4 * b + 4, :])
        config_st_f32_neg_relu(stride(neg, 0))
        mvout_f32(4, 4, acc[0:4, :], neg[4 * b:4 * b + 4, :])
        fence_f32()
        mvin_acc_f32(4, 4, pos[4 * b:4 * b + 4, :], acc[8:12, :])
        mvin_acc_add_f32(4, 4, neg[4 * b:4 * b + 4, :], acc[8:12, :])
        fence_f32()
        config_st_f32_relu(stride(pos, 0))
        mvout_f32(4, 4, acc[4:8, :], pos[4 * b:4 * b + 4, :])
        config_st_f32_neg_relu(stride(neg, 0))
        mvout_f32(4, 4, acc[4:8, :], neg[4 * b:4 * b + 4, :])
        config_st_f32(stride(primal, 0))
        mvout_f32(4, 4, acc[8:12, :], primal[4 * b:4 * b + 4, :])
        fence_f32()
        mvin_acc_f32(4, 4, pos[4 * b:4 * b + 4, :], acc[12:16, :])
        mvin_acc_add_f32(4, 4, neg[4 * b:4 * b + 4, :], acc[12:16, :])
        mvout_f32(4, 4, acc[12:16, :], dual[4 * b:4 * b + 4, :])
    mvin_acc_f32(1, 4, u[8:9, :], acc[0:1, :])
    mvin_acc_add_f32(1, 4, y[8:9, :], acc[0:1, :])
    mvin2_acc_add_f32(1, 4, umin[8:9, :], acc[0:1, :])
    mvin_acc_f32(1, 4, u[8:9, :], acc[4:5, :])
    mvin_acc_add_f32(1, 4, y[8:9, :], acc[4:5, :])
    mvin2_acc_add_f32(1, 4, umax[8:9, :], acc[4:5, :])
    config_st_f32_relu(stride(lo, 0))
    mvout_f32(1, 4, acc[0:1, :], lo[8:9, :])
    mvout_f32(1, 4, acc[4:5, :], hi[8:9, :])
    fence_f32()
    mvin_acc_f32(1, 4, umin[8:9, :], acc[8:9, :])
    mvin_acc_add_f32(1, 4, lo[8:9, :], acc[8:9, :])
    mvin2_acc_add_f32(1, 4, hi[8:9, :], acc[8:9, :])
    config_st_f32(stride(znew, 0))
    mvout_f32(1, 4, acc[8:9, :], znew[8:9, :])
    fence_f32()
    mvin_acc_f32(1, 4, y[8:9, :], acc[12:13, :])
    mvin_acc_add_f32(1, 4, u[8:9, :], acc[12:13, :])
    mvin2_acc_add_f32(1, 4, znew[8:9, :], acc[12:13, :])
    mvin_acc_f32(1, 4, u[8:9, :], acc[0:1, :])
    mvin2_acc_add_f32(1, 4, znew[8:9, :], acc[0:1, :])
    mvin_acc_f32(1, 4, z[8:9, :], acc[4:5, :])
    mvin2_acc_add_f32(1, 4, znew[8:9, :], acc[4:5, :])
    mvout_f32(1, 4, acc[12:13, :], y[8:9, :])
    config_st_f32_relu(stride(pos, 0))
    mvout_f32(1, 4, acc[0:1, :], pos[8:9, :])
    config_st_f32_neg_relu(stride(neg, 0))
    mvout_f32(1, 4, acc[0:1, :], neg[8:9, :])
    fence_f32()
    mvin_acc_f32(1, 4, pos[8:9, :], acc[8:9, :])
    mvin_acc_add_f32(1, 4, neg[8:9, :], acc[8:9, :])
    fence_f32()
    config_st_f32_relu(stride(pos, 0))
    mvout_f32(1, 4, acc[4:5, :], pos[8:9, :])
    config_st_f32_neg_relu(stride(neg, 0))
    mvout_f32(1, 4, acc[4:5, :], neg[8:9, :])
    config_st_f32(stride(primal, 0))
    mvout_f32(1, 4, acc[8:9, :], primal[8:9, :])
    fence_f32()
    mvin_acc_f32(1, 4, pos[8:9, :], acc[12:13, :])
    mvin_acc_add_f32(1, 4, neg[8:9, :], acc[12:13, :])
    mvout_f32(1, 4, acc[12:13, :], dual[8:9, :])
    fence_f32()


# ---------------------------------------------------------------------------
# CPU only
# ---------------------------------------------------------------------------

@proc
def tinympc_forward_cpu(A: f32[12, 12] @ DRAM, B: f32[12, 4] @ DRAM, Kinf: f32[4, 12] @ DRAM,
                        d: f32[4, 4, 1] @ DRAM, x: f32[5, 12, 1] @ DRAM,
                        u: f32[4, 4, 1] @ DRAM):
    for t in seq(0, 4):
        for i in seq(0, 4):
            acc: f32
            acc = d[t, i, 0]
            for k in seq(0, 12):
                acc += Kinf[i, k] * x[t, k, 0]
            u[t, i, 0] = -acc
        for i in seq(0, 12):
            acc2: f32
            acc2 = 0.0
            for k in seq(0, 12):
                acc2 += A[i, k] * x[t, k, 0]
            for k in seq(0, 4):
                acc2 += B[i, k] * u[t, k, 0]
            x[t + 1, i, 0] = acc2


@proc
def tinympc_backward_cpu(Bt: f32[4, 12] @ DRAM, Quu_inv: f32[4, 4] @ DRAM,
                         AmBKt: f32[12, 12] @ DRAM, KinfT: f32[12, 4] @ DRAM,
                         q: f32[9, 12, 1] @ DRAM, r: f32[9, 4, 1] @ DRAM,
                         p: f32[10, 12, 1] @ DRAM, d: f32[9, 4, 1] @ DRAM,
                         Qu: f32[9, 4, 1] @ DRAM):
    for s in seq(0, 9):
        for i in seq(0, 4):
            acc: f32
            acc = r[8 - s, i, 0]
            for k in seq(0, 12):
                acc += Bt[i, k] * p[9 - s, k, 0]
            Qu[8 - s, i, 0] = acc
        for i in seq(0, 4):
            acc2: f32
            acc2 = 0.0
            for k in seq(0, 4):
                acc2 += Quu_inv[i, k] * Qu[8 - s, k, 0]
            d[8 - s, i, 0] = acc2
        for i in seq(0, 12):
            acc3: f32
            acc3 = q[8 - s, i, 0]
            for k in seq(0, 12):
                acc3 += AmBKt[i, k] * p[9 - s, k, 0]
            for k in seq(0, 4):
                acc3 += -KinfT[i, k] * r[8 - s, k, 0]
            p[8 - s, i, 0] = acc3


@proc
def tinympc_admm_cpu(u: f32[9, 4] @ DRAM, z: f32[9, 4] @ DRAM, umin: f32[9, 4] @ DRAM,
                     umax: f32[9, 4] @ DRAM, y: f32[9, 4] @ DRAM, znew: f32[9, 4] @ DRAM,
                     primal: f32[9, 4] @ DRAM, dual: f32[9, 4] @ DRAM, lo: f32[9, 4] @ DRAM,
                     hi: f32[9, 4] @ DRAM, pos: f32[9, 4] @ DRAM, neg: f32[9, 4] @ DRAM):
    for s in seq(0, 9):
        for j in seq(0, 4):
            zero: f32
            zero = 0.0
            v: f32
            v = u[s, j] + y[s, j]
            lo[s, j] = select(zero, v - umin[s, j], v - umin[s, j], zero)
            hi[s, j] = select(zero, v - umax[s, j], v - umax[s, j], zero)
            zn: f32
            zn = umin[s, j] + lo[s, j] - hi[s, j]
            znew[s, j] = zn
            y[s, j] = y[s, j] + u[s, j] - zn
            e: f32
            e = u[s, j] - zn
            primal[s, j] = select(zero, e, e, zero) + select(zero, -e, -e, zero)
            f: f32
            f = z[s, j] - zn
            pos[s, j] = select(zero, f, f, zero)
            neg[s, j] = select(zero, -f, -f, zero)
            dual[s, j] = pos[s, j] + neg[s, j]


_HAND = {"tinympc_forward": tinympc_forward_hand, "tinympc_backward": tinympc_backward_hand,
         "tinympc_admm": tinympc_admm_hand}
_CPU = {"tinympc_forward": tinympc_forward_cpu, "tinympc_backward": tinympc_backward_cpu,
        "tinympc_admm": tinympc_admm_cpu}


def hand_proc(name: str):
    """Our hand-optimized schedule of TinyMPC workload ``name``."""
    proc_of(name)          # a clear error for an unknown name
    return _HAND[name]


def cpu_proc(name: str):
    """The CPU-only version of TinyMPC workload ``name``."""
    proc_of(name)
    return _CPU[name]
