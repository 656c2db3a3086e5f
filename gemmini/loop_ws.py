"""The loop FSM instruction `loop_ws` (gemmini.h's ``gemmini_loop_ws``): semantics and cost.

Operands (canonical order of `gemmini.isa`), as the Gemmini software library uses them:

* ``I, J, K``: the tile size in DIM blocks; ``pad_I, pad_J, pad_K``: rows / columns
  missing from the last block, so the matrices are ``M = I*DIM - pad_I``,
  ``N = J*DIM - pad_J`` and ``Kd = K*DIM - pad_K``.
* ``A``: DRAM ``M x Kd`` of the input type, row stride ``A_stride`` elements
  (``A_transpose``: stored ``Kd x M``). ``B``: ``Kd x N`` likewise (``B_transpose``:
  ``N x Kd``).
* ``D``: 0 for no bias, else ``M x N`` of int8 (``low_D``) or of the accumulator type,
  row stride ``D_stride`` elements (0 repeats one row: bias broadcast).
* ``C``: 0 to leave the result in the accumulator, else ``M x N``, row stride
  ``C_stride`` elements, raw accumulator values (``full_C``) or scaled by the
  config_st scale, rounded, saturated and passed through ``act`` (0 none, 1 ReLU).
* ``ex_accumulate``: add to the accumulator tile left by the previous loop_ws
  (software K tiling) instead of starting from zero.

Result tile R (I*J*DIM accumulator rows), as the hardware computes it:
``R = (D ? D : R_before)`` then ``R = (ex_accumulate ? R : 0) + A @ B`` (a bias D is
kept only with ``ex_accumulate``), then ``C = act(scale(R))`` when C is given.
Placement matches the host emulator (lowering/emulator/gemmini.h): loop number n uses
scratchpad half ``n % 2``, A's blocks from the half's first row (block (i, k) at
``(i*K + k)*DIM``), B's blocks ending DIM rows before the half's end; R lives in
accumulator half 0 or 1 (block (i, j) at ``(i*J + j)*DIM`` in it), and the half flips
after every loop_ws that stores C, so a chain over K tiles with C = 0 and
``ex_accumulate`` accumulates in place. Limits: ``(I*K + K*J)*DIM <= SP_ROWS/2 - DIM``
and ``I*J*DIM <= ACC_ROWS/2``.
"""

from __future__ import annotations

import numpy as np

from gemmini.config import GemminiConfig
from gemmini.isa import SPECS

FIELDS = tuple(o.name for o in SPECS["loop_ws"].operands)


def unpack(args: tuple) -> dict:
    """Operand tuple (DRAM operands as (array index, element index)) -> named dict."""
    return dict(zip(FIELDS, args))


def check_shape(cfg: GemminiConfig, a: dict) -> str | None:
    """A message if the FSM's tile breaks a limit, else None."""
    dim = cfg.dim
    I, J, K = a["I"], a["J"], a["K"]
    if min(I, J, K) < 1:
        return f"I, J, K = {I}, {J}, {K} must be at least 1"
    for p in ("pad_I", "pad_J", "pad_K"):
        if not 0 <= a[p] < dim:
            return f"{p}={a[p]} outside 0..{dim - 1}"
    if (I * K + K * J) * dim > cfg.sp_rows // 2 - dim:
        return (f"A and B tiles need {(I * K + K * J) * dim} scratchpad rows, over half the "
                f"scratchpad less one block ({cfg.sp_rows // 2 - dim})")
    if I * J * dim > cfg.acc_rows // 2:
        return (f"C tile needs {I * J * dim} accumulator rows, over half the accumulator "
                f"({cfg.acc_rows // 2})")
    if a["act"] not in (0, 1):
        return f"activation {a['act']} is not 0 (none) or 1 (ReLU)"
    for name in ("A", "B"):
        if a[name][0] < 0:
            return f"{name} must be the address of an array element"
    return None


def execute(m, k: int, args: tuple) -> None:
    """Run one loop_ws on machine `m` (a gemmini.functional.Machine; every array here
    has the machine's leading axis of input sets, each set with its own act)."""
    cfg, dim, ns = m.cfg, m.dim, m.n_sets
    a = unpack(args)
    msg = check_shape(cfg, a)
    if msg:
        m.fail(k, msg)
    acts = m._activations(k)
    I, J, K = a["I"], a["J"], a["K"]
    M, N, Kd = I * dim - a["pad_I"], J * dim - a["pad_J"], K * dim - a["pad_K"]
    in_dt, acc_dt = m.in_dt, m.acc_dt

    def read(name, rows, cols, dt, stride_elems):
        arr, index = a[name]
        return m._dram_view(k, arr, index, rows, cols, stride_elems * dt.itemsize, dt)

    A = read("A", Kd, M, in_dt, a["A_stride"]).swapaxes(1, 2) if a["A_transpose"] else \
        read("A", M, Kd, in_dt, a["A_stride"])
    B = read("B", N, Kd, in_dt, a["B_stride"]).swapaxes(1, 2) if a["B_transpose"] else \
        read("B", Kd, N, in_dt, a["B_stride"])
    if m.is_float:
        R = np.matmul(A.astype(np.float32), B.astype(np.float32))
    else:
        R = np.matmul(A.astype(np.float64), B.astype(np.float64)).astype(np.int64)
    nrows = I * J * dim
    r0 = m.loop_acc_half * (cfg.acc_rows // 2)

    def blocks(mat, rows, cols):
        """(sets, rows, cols) -> its DIM x DIM blocks, row-major, zero padded."""
        full = np.zeros((ns, rows * dim, cols * dim), dtype=mat.dtype)
        full[:, :mat.shape[1], :mat.shape[2]] = mat
        return full.reshape(ns, rows, dim, cols, dim).transpose(0, 1, 3, 2, 4) \
            .reshape(ns, rows * cols * dim, dim)

    tiles = blocks(R, I, J)
    if a["ex_accumulate"]:
        if a["D"][0] >= 0:
            d_dt = in_dt if a["low_D"] else acc_dt
            tiles = tiles + blocks(read("D", M, N, d_dt, a["D_stride"]).astype(R.dtype), I, J)
        else:
            m._check_rows(k, "acc", r0, nrows, True)
            tiles = tiles + m.acc[:, r0:r0 + nrows].astype(tiles.dtype)
    m.acc[:, r0:r0 + nrows] = tiles.astype(acc_dt)   # int32 wraps
    m.acc_written[r0:r0 + nrows] = True
    # operand tiles left in the scratchpad, as the FSM places them
    half = cfg.sp_rows // 2
    s0 = (m.loops_run % 2) * half
    m.loops_run += 1
    m.sp[:, s0:s0 + I * K * dim] = blocks(A, I, K)
    m.sp_written[s0:s0 + I * K * dim] = True
    b1 = s0 + half - dim
    b0 = b1 - K * J * dim
    m.sp[:, b0:b1] = blocks(B, K, J)
    m.sp_written[b0:b1] = True
    m.macs += M * N * Kd
    if a["C"][0] >= 0:
        m.loop_acc_half ^= 1
        res = m.acc[:, r0:r0 + nrows].reshape(ns, I, J, dim, dim).transpose(0, 1, 3, 2, 4) \
            .reshape(ns, I * dim, J * dim)[:, :M, :N]
        if a["full_C"]:
            out, dt = res, acc_dt
        else:
            if m.st is None:
                m.fail(k, "used before config_st (its scale scales C)")
            out, dt = m._to_in_type(res, m.st[2], acts), in_dt
        read("C", M, N, dt, a["C_stride"])[...] = out


def cost(cfg: GemminiConfig, a: dict, in_bytes: int, acc_bytes: int) -> dict:
    """Busy cycles of each engine for one loop_ws (double buffered, near peak)."""
    tp, dim = cfg.timing, cfg.dim
    I, J, K = a["I"], a["J"], a["K"]
    M, N, Kd = I * dim - a["pad_I"], J * dim - a["pad_J"], K * dim - a["pad_K"]
    load_bytes = (M * Kd + Kd * N) * in_bytes
    if a["D"][0] >= 0:
        load_bytes += M * N * (in_bytes if a["low_D"] else acc_bytes)
    store_rows = I * J * dim if a["C"][0] >= 0 else 0
    return {
        "load": -(-load_bytes // tp.dma_bytes_per_cycle),
        "execute": I * J * K * tp.block_cycles,
        "store": store_rows // tp.store_rows_per_cycle,
        "overhead": tp.loop_ws_overhead,
    }
