"""The TinyMPC workloads: fp32 kernels of an ADMM solver for a quadrotor (12 states, 4
inputs) written as Exo procs on our fp32 Gemmini instructions (`lowering.gemmini_fp32`).

Each proc here is the workload's *straightforward mapping*: every product goes through
the accelerator, every constant matrix is loaded again at every horizon step, each
step ends with a fence, and each load is preceded by its own configuration. It is also
the workload's reference (`lowering.semantics.reference_proc` inlines the instructions),
so the order of floating-point operations the reference fixes is the one written here.

Layout: a vector of n elements is an ``[n, 1]`` column in DRAM (arrays ``[T, n, 1]`` over
the horizon) and a column of weights in the scratchpad; matrices are streamed as the
``A`` operand in DIM x DIM tiles, so ``y = M v`` is ``matmul(M tile, v block)``.

* ``tinympc_forward`` (horizon 5, 4 steps): ``u[t] = -(Kinf x[t] + d[t])`` (the negation
  is the store's scale -1) and ``x[t+1] = A x[t] + B u[t]``.
* ``tinympc_backward`` (horizon 10, 9 steps, t = 8 .. 0): ``Qu[t] = Bt p[t+1] + r[t]``,
  ``d[t] = Quu_inv Qu[t]``, ``p[t] = q[t] + AmBKt p[t+1] + (-KinfT) r[t]`` (``Bt`` is B
  transposed, ``KinfT`` is Kinf transposed; ``Qu`` is the solver's workspace).
* ``tinympc_admm`` (9 steps x 4 inputs, rows of 4): the slack update with box
  constraints ``znew = clamp(u + y, umin, umax)``, written with the store's ReLU as
  ``umin + relu(u + y - umin) - relu(u + y - umax)``; the dual update ``y += u - znew``;
  the residual vectors ``primal = |u - znew|`` and ``dual = |z - znew|`` (``|v|`` is
  ``relu(v) + relu(-v)``; the solver takes their maximum and scales the dual by rho).
  ``lo``, ``hi``, ``pos``, ``neg`` are workspaces written through DRAM.

`SPECS` lists them (`TinyMpcSpec`: name, kind ``tinympc``, configuration ``fp32_4``,
shape); `proc_of(name)` gives the proc; `make_inputs(name, kind, seed)` physically
sensible inputs (a discretized hover model, random states, edge cases);
`magnitudes(name, inputs)` the sum of the magnitudes of the terms of every output, the
scale of the floating-point tolerance (`lowering.reference`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from exo import DRAM, proc

from lowering.gemmini_fp32 import (FP32_ACCUM, FP32_SCRATCH, config_ex_f32,
                                   config_ld_f32_neg, config_ld_f32_one, config_st_f32,
                                   config_st_f32_neg, config_st_f32_neg_relu, config_st_f32_relu,
                                   fence_f32, matmul_acc_f32, matmul_f32,
                                   mvin_acc_add_f32, mvin_acc_f32, mvin_f32, mvout_f32)
from lowering.reference import InputSet, run_reference
from lowering.semantics import WRITTEN
from lowering.workload import Workload

NX, NU = 12, 4               # states, inputs
FORWARD_HORIZON = 5
BACKWARD_HORIZON = 10
ADMM_STEPS = BACKWARD_HORIZON - 1
CONFIG = "fp32_4"
KIND = "tinympc"
SEARCH_KIND = "linalg"       # the search's menu for these kernels (autocomp_exo.prompts)



@proc
def tinympc_forward(A: f32[12, 12] @ DRAM, B: f32[12, 4] @ DRAM, Kinf: f32[4, 12] @ DRAM,
                    d: f32[4, 4, 1] @ DRAM, x: f32[5, 12, 1] @ DRAM, u: f32[4, 4, 1] @ DRAM):
    sa: f32[3, 3, 4, 4] @ FP32_SCRATCH
    sb: f32[3, 4, 4] @ FP32_SCRATCH
    sk: f32[3, 4, 4] @ FP32_SCRATCH
    sx: f32[3, 4, 4] @ FP32_SCRATCH
    su: f32[4, 4] @ FP32_SCRATCH
    acc: f32[16, 4] @ FP32_ACCUM
    for t in seq(0, 4):
        config_ex_f32()
        config_ld_f32_one(stride(x, 1))
        for bk in seq(0, 3):
            mvin_f32(4, 1, x[t, 4 * bk:4 * bk + 4, 0:1], sx[bk, :, :])
        config_ld_f32_one(stride(Kinf, 0))
        for bk in seq(0, 3):
            mvin_f32(4, 4, Kinf[0:4, 4 * bk:4 * bk + 4], sk[bk, :, :])
        config_ld_f32_one(stride(d, 1))
        mvin_acc_f32(4, 1, d[t, 0:4, 0:1], acc[0:4, :])
        for bk in seq(0, 3):
            matmul_acc_f32(4, 1, 4, sk[bk, :, :], sx[bk, :, :], acc[0:4, :])
        config_st_f32_neg(stride(u, 1))
        mvout_f32(4, 1, acc[0:4, :], u[t, 0:4, 0:1])
        fence_f32()
        config_ld_f32_one(stride(u, 1))
        mvin_f32(4, 1, u[t, 0:4, 0:1], su[:, :])
        config_ld_f32_one(stride(A, 0))
        for bi in seq(0, 3):
            for bk in seq(0, 3):
                mvin_f32(4, 4, A[4 * bi:4 * bi + 4, 4 * bk:4 * bk + 4], sa[bi, bk, :, :])
        config_ld_f32_one(stride(B, 0))
        for bi in seq(0, 3):
            mvin_f32(4, 4, B[4 * bi:4 * bi + 4, 0:4], sb[bi, :, :])
        for bi in seq(0, 3):
            matmul_f32(4, 1, 4, sa[bi, 0, :, :], sx[0, :, :], acc[4 + 4 * bi:8 + 4 * bi, :])
            for bk in seq(1, 3):
                matmul_acc_f32(4, 1, 4, sa[bi, bk, :, :], sx[bk, :, :],
                               acc[4 + 4 * bi:8 + 4 * bi, :])
            matmul_acc_f32(4, 1, 4, sb[bi, :, :], su[:, :], acc[4 + 4 * bi:8 + 4 * bi, :])
        config_st_f32(stride(x, 1))
        for bi in seq(0, 3):
            mvout_f32(4, 1, acc[4 + 4 * bi:8 + 4 * bi, :], x[t + 1, 4 * bi:4 * bi + 4, 0:1])
        fence_f32()


@proc
def tinympc_backward(Bt: f32[4, 12] @ DRAM, Quu_inv: f32[4, 4] @ DRAM,
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
    for s in seq(0, 9):
        config_ex_f32()
        config_ld_f32_one(stride(p, 1))
        for bk in seq(0, 3):
            mvin_f32(4, 1, p[9 - s, 4 * bk:4 * bk + 4, 0:1], sp[bk, :, :])
        config_ld_f32_one(stride(r, 1))
        mvin_f32(4, 1, r[8 - s, 0:4, 0:1], sr[:, :])
        config_ld_f32_one(stride(Bt, 0))
        for bk in seq(0, 3):
            mvin_f32(4, 4, Bt[0:4, 4 * bk:4 * bk + 4], sbt[bk, :, :])
        config_ld_f32_one(stride(r, 1))
        mvin_acc_f32(4, 1, r[8 - s, 0:4, 0:1], acc[0:4, :])
        for bk in seq(0, 3):
            matmul_acc_f32(4, 1, 4, sbt[bk, :, :], sp[bk, :, :], acc[0:4, :])
        config_st_f32(stride(Qu, 1))
        mvout_f32(4, 1, acc[0:4, :], Qu[8 - s, 0:4, 0:1])
        fence_f32()
        config_ld_f32_one(stride(Qu, 1))
        mvin_f32(4, 1, Qu[8 - s, 0:4, 0:1], sq[:, :])
        config_ld_f32_one(stride(Quu_inv, 0))
        mvin_f32(4, 4, Quu_inv[0:4, 0:4], squ[:, :])
        matmul_f32(4, 1, 4, squ[:, :], sq[:, :], acc[4:8, :])
        config_st_f32(stride(d, 1))
        mvout_f32(4, 1, acc[4:8, :], d[8 - s, 0:4, 0:1])
        config_ld_f32_one(stride(q, 1))
        for bi in seq(0, 3):
            mvin_acc_f32(4, 1, q[8 - s, 4 * bi:4 * bi + 4, 0:1], acc[8 + 4 * bi:12 + 4 * bi, :])
        config_ld_f32_one(stride(AmBKt, 0))
        for bi in seq(0, 3):
            for bk in seq(0, 3):
                mvin_f32(4, 4, AmBKt[4 * bi:4 * bi + 4, 4 * bk:4 * bk + 4], sam[bi, bk, :, :])
        config_ld_f32_neg(stride(KinfT, 0))
        for bi in seq(0, 3):
            mvin_f32(4, 4, KinfT[4 * bi:4 * bi + 4, 0:4], skt[bi, :, :])
        for bi in seq(0, 3):
            for bk in seq(0, 3):
                matmul_acc_f32(4, 1, 4, sam[bi, bk, :, :], sp[bk, :, :],
                               acc[8 + 4 * bi:12 + 4 * bi, :])
            matmul_acc_f32(4, 1, 4, skt[bi, :, :], sr[:, :], acc[8 + 4 * bi:12 + 4 * bi, :])
        config_st_f32(stride(p, 1))
        for bi in seq(0, 3):
            mvout_f32(4, 1, acc[8 + 4 * bi:12 + 4 * bi, :], p[8 - s, 4 * bi:4 * bi + 4, 0:1])
        fence_f32()


@proc
def tinympc_admm(u: f32[9, 4] @ DRAM, z: f32[9, 4] @ DRAM, umin: f32[9, 4] @ DRAM,
                 umax: f32[9, 4] @ DRAM, y: f32[9, 4] @ DRAM, znew: f32[9, 4] @ DRAM,
                 primal: f32[9, 4] @ DRAM, dual: f32[9, 4] @ DRAM, lo: f32[9, 4] @ DRAM,
                 hi: f32[9, 4] @ DRAM, pos: f32[9, 4] @ DRAM, neg: f32[9, 4] @ DRAM):
    acc: f32[4, 4] @ FP32_ACCUM
    for s in seq(0, 9):
        # lo = relu(u + y - umin), hi = relu(u + y - umax)
        config_ld_f32_one(stride(u, 0))
        mvin_acc_f32(1, 4, u[s:s + 1, 0:4], acc[0:1, :])
        mvin_acc_add_f32(1, 4, y[s:s + 1, 0:4], acc[0:1, :])
        config_ld_f32_neg(stride(umin, 0))
        mvin_acc_add_f32(1, 4, umin[s:s + 1, 0:4], acc[0:1, :])
        config_st_f32_relu(stride(lo, 0))
        mvout_f32(1, 4, acc[0:1, :], lo[s:s + 1, 0:4])
        config_ld_f32_one(stride(u, 0))
        mvin_acc_f32(1, 4, u[s:s + 1, 0:4], acc[1:2, :])
        mvin_acc_add_f32(1, 4, y[s:s + 1, 0:4], acc[1:2, :])
        config_ld_f32_neg(stride(umax, 0))
        mvin_acc_add_f32(1, 4, umax[s:s + 1, 0:4], acc[1:2, :])
        config_st_f32_relu(stride(hi, 0))
        mvout_f32(1, 4, acc[1:2, :], hi[s:s + 1, 0:4])
        fence_f32()
        # znew = umin + lo - hi
        config_ld_f32_one(stride(umin, 0))
        mvin_acc_f32(1, 4, umin[s:s + 1, 0:4], acc[2:3, :])
        mvin_acc_add_f32(1, 4, lo[s:s + 1, 0:4], acc[2:3, :])
        config_ld_f32_neg(stride(hi, 0))
        mvin_acc_add_f32(1, 4, hi[s:s + 1, 0:4], acc[2:3, :])
        config_st_f32(stride(znew, 0))
        mvout_f32(1, 4, acc[2:3, :], znew[s:s + 1, 0:4])
        fence_f32()
        # y = y + u - znew
        config_ld_f32_one(stride(y, 0))
        mvin_acc_f32(1, 4, y[s:s + 1, 0:4], acc[3:4, :])
        mvin_acc_add_f32(1, 4, u[s:s + 1, 0:4], acc[3:4, :])
        config_ld_f32_neg(stride(znew, 0))
        mvin_acc_add_f32(1, 4, znew[s:s + 1, 0:4], acc[3:4, :])
        fence_f32()
        config_st_f32(stride(y, 0))
        mvout_f32(1, 4, acc[3:4, :], y[s:s + 1, 0:4])
        fence_f32()
        # primal = |u - znew|
        config_ld_f32_one(stride(u, 0))
        mvin_acc_f32(1, 4, u[s:s + 1, 0:4], acc[0:1, :])
        config_ld_f32_neg(stride(znew, 0))
        mvin_acc_add_f32(1, 4, znew[s:s + 1, 0:4], acc[0:1, :])
        config_st_f32_relu(stride(pos, 0))
        mvout_f32(1, 4, acc[0:1, :], pos[s:s + 1, 0:4])
        config_st_f32_neg_relu(stride(neg, 0))
        mvout_f32(1, 4, acc[0:1, :], neg[s:s + 1, 0:4])
        fence_f32()
        config_ld_f32_one(stride(pos, 0))
        mvin_acc_f32(1, 4, pos[s:s + 1, 0:4], acc[1:2, :])
        mvin_acc_add_f32(1, 4, neg[s:s + 1, 0:4], acc[1:2, :])
        config_st_f32(stride(primal, 0))
        mvout_f32(1, 4, acc[1:2, :], primal[s:s + 1, 0:4])
        fence_f32()
        # dual = |z - znew|
        config_ld_f32_one(stride(z, 0))
        mvin_acc_f32(1, 4, z[s:s + 1, 0:4], acc[0:1, :])
        config_ld_f32_neg(stride(znew, 0))
        mvin_acc_add_f32(1, 4, znew[s:s + 1, 0:4], acc[0:1, :])
        config_st_f32_relu(stride(pos, 0))
        mvout_f32(1, 4, acc[0:1, :], pos[s:s + 1, 0:4])
        config_st_f32_neg_relu(stride(neg, 0))
        mvout_f32(1, 4, acc[0:1, :], neg[s:s + 1, 0:4])
        fence_f32()
        config_ld_f32_one(stride(pos, 0))
        mvin_acc_f32(1, 4, pos[s:s + 1, 0:4], acc[1:2, :])
        mvin_acc_add_f32(1, 4, neg[s:s + 1, 0:4], acc[1:2, :])
        config_st_f32(stride(dual, 0))
        mvout_f32(1, 4, acc[1:2, :], dual[s:s + 1, 0:4])
        fence_f32()


# ---------------------------------------------------------------------------
# The suite entries
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TinyMpcSpec:
    """One TinyMPC workload: name, kind (``tinympc``), configuration and shape."""
    name: str
    shape: tuple[tuple[str, int], ...]
    kind: str = KIND
    config: str = CONFIG

    @property
    def shape_dict(self) -> dict[str, int]:
        return dict(self.shape)

    def algorithm(self):
        """The workload's proc (its straightforward mapping, also its reference)."""
        return proc_of(self.name)

    @property
    def macs(self) -> int:
        return macs(self.name)

    def workload(self) -> "Workload":
        """Its `lowering.workload.Workload` (see `workload`)."""
        return workload(self.name)


SPECS: tuple[TinyMpcSpec, ...] = (
    TinyMpcSpec("tinympc_forward", (("nx", NX), ("nu", NU), ("horizon", FORWARD_HORIZON))),
    TinyMpcSpec("tinympc_backward", (("nx", NX), ("nu", NU), ("horizon", BACKWARD_HORIZON))),
    TinyMpcSpec("tinympc_admm", (("nu", NU), ("steps", ADMM_STEPS))),
)
_PROCS = {"tinympc_forward": tinympc_forward, "tinympc_backward": tinympc_backward,
          "tinympc_admm": tinympc_admm}


def proc_of(name: str):
    """The Exo proc of TinyMPC workload ``name``."""
    try:
        return _PROCS[name]
    except KeyError:
        raise KeyError(f"unknown TinyMPC workload {name!r}; known: {', '.join(_PROCS)}") \
            from None


def macs(name: str) -> int:
    """Multiply-accumulates of the products (ADMM has none: additions only)."""
    steps = FORWARD_HORIZON - 1
    if name == "tinympc_forward":
        return steps * (NU * NX + NX * NX + NX * NU)
    if name == "tinympc_backward":
        return ADMM_STEPS * (NU * NX + NU * NU + NX * NX + NX * NU)
    proc_of(name)
    return 0


# ---------------------------------------------------------------------------
# Inputs: a discretized quadrotor at hover and its infinite-horizon LQR cache
# ---------------------------------------------------------------------------

DT = 0.02            # 50 Hz
GRAVITY = 9.81
DAMPING = 0.05       # linear drag on velocities and body rates (1/s), keeps A stable
LEAK = 0.01          # slow leak on positions and attitude (1/s): spectral radius < 1
RHO = 5.0            # ADMM penalty in the Riccati cache (R + rho I)
INPUT_KINDS = ("nominal", "zeros", "large", "box")


def quadrotor_model() -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of a quadrotor linearized at hover, Euler-discretized at `DT` (float64).

    States: position, attitude (small angles), velocity, body rates; inputs: the four
    rotor thrusts (deviation from hover, normalized)."""
    ac = np.zeros((NX, NX))
    ac[0:3, 6:9] = np.eye(3)                 # position' = velocity
    ac[3:6, 9:12] = np.eye(3)                # attitude' = body rates
    ac[6, 4], ac[7, 3] = GRAVITY, -GRAVITY   # tilt accelerates sideways
    ac[6:12, 6:12] -= DAMPING * np.eye(6)
    ac[0:6, 0:6] -= LEAK * np.eye(6)
    bc = np.zeros((NX, NU))
    bc[8, :] = 2.0                                     # collective thrust
    arm = 0.5
    bc[9, :] = arm * np.array([-1.0, -1.0, 1.0, 1.0]) * 20.0   # roll torque
    bc[10, :] = arm * np.array([-1.0, 1.0, 1.0, -1.0]) * 20.0  # pitch torque
    bc[11, :] = np.array([-1.0, 1.0, -1.0, 1.0]) * 4.0         # yaw torque
    a = np.eye(NX) + DT * ac + 0.5 * DT * DT * ac @ ac
    b = (DT * np.eye(NX) + 0.5 * DT * DT * ac) @ bc
    return a, b


def lqr_cache(a: np.ndarray, b: np.ndarray, iterations: int = 2000) -> dict[str, np.ndarray]:
    """TinyMPC's cached matrices (float64): Kinf, Pinf, Quu_inv, AmBKt, from the Riccati
    recursion with Q = I, R = 0.1 I, both plus ``RHO`` I."""
    q = (1.0 + RHO) * np.eye(NX)
    r = (0.1 + RHO) * np.eye(NU)
    p = q.copy()
    for _ in range(iterations):
        k = np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
        p = q + a.T @ p @ (a - b @ k)
    quu_inv = np.linalg.inv(r + b.T @ p @ b)
    return {"Kinf": k, "Pinf": p, "Quu_inv": quu_inv, "AmBKt": (a - b @ k).T}


def _f32(x) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def make_inputs(name: str, kind: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs of workload ``name`` for one set: ``nominal`` (states of a few cm / degrees,
    some inputs at the box limits), ``zeros``, ``large`` (values around 1e4) or ``box``
    (most values outside the box, so the clamps bind)."""
    if kind not in INPUT_KINDS:
        raise ValueError(f"unknown TinyMPC input kind {kind!r}; known: {INPUT_KINDS}")
    rng = np.random.default_rng([seed, INPUT_KINDS.index(kind)])
    scale = {"nominal": 1.0, "zeros": 0.0, "large": 1e4, "box": 10.0}[kind]
    a, b = quadrotor_model()
    cache = lqr_cache(a, b)

    def vec(*shape, std=1.0):
        return _f32(scale * std * rng.standard_normal(shape))

    if name == "tinympc_forward":
        return {"A": _f32(a), "B": _f32(b), "Kinf": _f32(cache["Kinf"]),
                "d": vec(4, NU, 1, std=0.1), "x": vec(5, NX, 1, std=0.1),
                "u": np.zeros((4, NU, 1), np.float32)}
    if name == "tinympc_backward":
        return {"Bt": _f32(b.T), "Quu_inv": _f32(cache["Quu_inv"]),
                "AmBKt": _f32(cache["AmBKt"]), "KinfT": _f32(cache["Kinf"].T),
                "q": vec(9, NX, 1), "r": vec(9, NU, 1), "p": vec(10, NX, 1),
                "d": np.zeros((9, NU, 1), np.float32), "Qu": np.zeros((9, NU, 1), np.float32)}
    proc_of(name)
    limit = np.float32(1.0 if kind != "large" else 1e4)
    zero = np.zeros((ADMM_STEPS, NU), np.float32)
    return {"u": vec(ADMM_STEPS, NU), "z": vec(ADMM_STEPS, NU), "y": vec(ADMM_STEPS, NU, std=0.2),
            "umin": np.full((ADMM_STEPS, NU), -limit, np.float32),
            "umax": np.full((ADMM_STEPS, NU), limit, np.float32),
            **{k: zero.copy() for k in ("znew", "primal", "dual", "lo", "hi", "pos", "neg")}}


def magnitudes(name: str, inputs) -> dict[str, np.ndarray]:
    """For every output of ``name``: the sum of the magnitudes of all the terms that make it
    up (float64, through the whole horizon), the scale of its rounding error."""
    m = {k: np.abs(np.asarray(v, dtype=np.float64)) for k, v in inputs.items()}
    if name == "tinympc_forward":
        x = m["x"].copy()
        u = np.zeros_like(m["u"])
        for t in range(FORWARD_HORIZON - 1):
            u[t] = m["Kinf"] @ x[t] + m["d"][t]
            x[t + 1] = m["A"] @ x[t] + m["B"] @ u[t]
        return {"x": x, "u": u}
    if name == "tinympc_backward":
        p = m["p"].copy()
        qu = np.zeros_like(m["Qu"])
        d = np.zeros_like(m["d"])
        for t in range(ADMM_STEPS - 1, -1, -1):
            qu[t] = m["Bt"] @ p[t + 1] + m["r"][t]
            d[t] = m["Quu_inv"] @ qu[t]
            p[t] = m["q"][t] + m["AmBKt"] @ p[t + 1] + m["KinfT"] @ m["r"][t]
        return {"p": p, "d": d, "Qu": qu}
    proc_of(name)
    v = m["u"] + m["y"]
    lo, hi = v + m["umin"], v + m["umax"]
    znew = m["umin"] + lo + hi
    pos = m["z"] + znew
    return {"znew": znew, "y": m["y"] + m["u"] + znew, "lo": lo, "hi": hi,
            "primal": 2 * (m["u"] + znew), "dual": 2 * pos, "pos": pos, "neg": pos}


def numpy_reference(name: str, inputs) -> dict[str, np.ndarray]:
    """What the kernel computes, in float64 numpy from the equations (not the procs)."""
    v = {k: np.asarray(x, dtype=np.float64) for k, x in inputs.items()}
    if name == "tinympc_forward":
        x, u = v["x"].copy(), np.zeros_like(v["u"])
        for t in range(FORWARD_HORIZON - 1):
            u[t] = -v["Kinf"] @ x[t] - v["d"][t]
            x[t + 1] = v["A"] @ x[t] + v["B"] @ u[t]
        return {"x": x, "u": u}
    if name == "tinympc_backward":
        p, qu, d = v["p"].copy(), np.zeros_like(v["Qu"]), np.zeros_like(v["d"])
        for t in range(ADMM_STEPS - 1, -1, -1):
            qu[t] = v["Bt"] @ p[t + 1] + v["r"][t]
            d[t] = v["Quu_inv"] @ qu[t]
            p[t] = v["q"][t] + v["AmBKt"] @ p[t + 1] - v["KinfT"] @ v["r"][t]
        return {"p": p, "d": d, "Qu": qu}
    proc_of(name)
    w = v["u"] + v["y"]
    znew = np.clip(w, v["umin"], v["umax"])
    return {"znew": znew, "y": v["y"] + v["u"] - znew, "primal": np.abs(v["u"] - znew),
            "dual": np.abs(v["z"] - znew)}


# ---------------------------------------------------------------------------
# Workloads and their input sets
# ---------------------------------------------------------------------------

def workload(name: str) -> Workload:
    """The `lowering.workload.Workload` of TinyMPC workload ``name``: the proc is its own
    reference; input sets from `input_sets`, checked with the fp32 tolerance rule; kind
    ``linalg`` (the search's menu for small linear algebra)."""
    spec = by_name(name)
    w = Workload.from_proc(proc_of(name))
    return dataclasses.replace(w, name=name, kind=SEARCH_KIND, shape=spec.shape_dict,
                               shape_key=spec.shape, macs=spec.macs or None,
                               input_sets=input_sets)


def by_name(name: str) -> TinyMpcSpec:
    """The spec of TinyMPC workload ``name``."""
    for spec in SPECS:
        if spec.name == name:
            return spec
    proc_of(name)      # raises the KeyError that lists the known names
    raise AssertionError(name)


def input_sets(w: Workload, seeds=(0,), kinds=None) -> list[InputSet]:
    """One input set per seed and kind of `INPUT_KINDS` (every kind when ``kinds`` names
    none of them): inputs from `make_inputs`, expected outputs from the reference,
    magnitudes from `magnitudes`."""
    wanted = tuple(k for k in (kinds or ()) if k in INPUT_KINDS) or INPUT_KINDS
    sets = []
    for seed in seeds:
        for kind in wanted:
            values = make_inputs(w.name, kind, seed)
            inputs = {k: v for k, v in values.items() if w.roles.get(k) != WRITTEN}
            expected = run_reference(w, inputs)
            mags = magnitudes(w.name, values)
            sets.append(InputSet(f"{kind}_s{seed}", inputs, expected,
                                 magnitude={k: mags[k] for k in expected if k in mags}))
    return sets
