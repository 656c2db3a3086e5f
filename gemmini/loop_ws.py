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

Result: ``C = act(scale(acc_prev? + D + A @ B))``. Like the hardware, the FSM leaves
A's blocks in the scratchpad from row 0 (block (i, k) at row ``(i*K + k)*DIM``),
B's blocks at the end of the scratchpad (block (k, j) ending ``(K*J - k*J - j - 1)*DIM``
rows before the end) and the result in the accumulator from row 0 (block (i, j) at
``(i*J + j)*DIM``). Like the library's tiler, A and B together must fit in half the
scratchpad and the result in half the accumulator (the other halves double-buffer).
"""

from __future__ import annotations

import numpy as np

from gemmini.config import GemminiConfig

FIELDS = ("I", "J", "K", "pad_I", "pad_J", "pad_K", "A", "B", "D", "C", "A_stride",
          "B_stride", "D_stride", "C_stride", "A_transpose", "B_transpose", "full_C", "low_D",
          "ex_accumulate", "act")


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
    if (I * K + K * J) * dim > cfg.sp_rows // 2:
        return (f"A and B tiles need {(I * K + K * J) * dim} scratchpad rows, over half the "
                f"scratchpad ({cfg.sp_rows // 2})")
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
    """Run one loop_ws on machine `m` (a gemmini.functional.Machine)."""
    cfg, dim = m.cfg, m.dim
    a = unpack(args)
    msg = check_shape(cfg, a)
    if msg:
        m.fail(k, msg)
    I, J, K = a["I"], a["J"], a["K"]
    M, N, Kd = I * dim - a["pad_I"], J * dim - a["pad_J"], K * dim - a["pad_K"]
    in_dt, acc_dt = m.in_dt, m.acc_dt

    def read(name, rows, cols, dt, stride_elems):
        arr, index = a[name]
        return m._dram_view(k, arr, index, rows, cols, stride_elems * dt.itemsize, dt)

    A = read("A", Kd, M, in_dt, a["A_stride"]).T if a["A_transpose"] else \
        read("A", M, Kd, in_dt, a["A_stride"])
    B = read("B", N, Kd, in_dt, a["B_stride"]).T if a["B_transpose"] else \
        read("B", Kd, N, in_dt, a["B_stride"])
    if m.is_float:
        R = np.matmul(A.astype(np.float32), B.astype(np.float32))
    else:
        R = np.matmul(A.astype(np.float64), B.astype(np.float64)).astype(np.int64)
    if a["D"][0] >= 0:
        d_dt = in_dt if a["low_D"] else acc_dt
        R = R + read("D", M, N, d_dt, a["D_stride"]).astype(R.dtype)
    full = np.zeros((I * dim, J * dim), dtype=R.dtype)
    full[:M, :N] = R
    tiles = full.reshape(I, dim, J, dim).transpose(0, 2, 1, 3).reshape(I * J * dim, dim)
    nrows = I * J * dim
    if a["ex_accumulate"]:
        m._check_rows(k, "acc", 0, nrows, True)
        tiles = tiles + m.acc[:nrows].astype(tiles.dtype)
    m.acc[:nrows] = tiles.astype(acc_dt)   # int32 wraps
    m.acc_written[:nrows] = True
    # operand tiles left in the scratchpad, as the FSM places them
    a_full = np.zeros((I * dim, K * dim), dtype=in_dt)
    a_full[:M, :Kd] = A
    m.sp[:I * K * dim] = a_full.reshape(I, dim, K, dim).transpose(0, 2, 1, 3) \
        .reshape(I * K * dim, dim)
    m.sp_written[:I * K * dim] = True
    b_full = np.zeros((K * dim, J * dim), dtype=in_dt)
    b_full[:Kd, :N] = B
    b0 = cfg.sp_rows - K * J * dim
    m.sp[b0:] = b_full.reshape(K, dim, J, dim).transpose(0, 2, 1, 3).reshape(K * J * dim, dim)
    m.sp_written[b0:] = True
    m.macs += M * N * Kd
    if a["C"][0] >= 0:
        res = m.acc[:nrows].reshape(I, J, dim, dim).transpose(0, 2, 1, 3) \
            .reshape(I * dim, J * dim)[:M, :N]
        if a["full_C"]:
            out, dt = res, acc_dt
        else:
            if m.st is None:
                m.fail(k, "used before config_st (its scale scales C)")
            out, dt = m._to_in_type(res, m.st[2], a["act"]), in_dt
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
