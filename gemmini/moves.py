"""Vectorized facts about every mvin / mvout of a trace (shared by functional and timing).

For each move: the config that governs it (the last config_ld of its load state id,
or the last config_st, before it), its local rows, its DRAM byte range, its bytes
moved, and whether it passes every static hardware check (`ok`). A move that is
not `ok` goes through the checked slow path, which reports the exact error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gemmini.config import ACC_BIT, ACCUMULATE_BIT, GARBAGE_ADDR, RAW_READ_BIT, ROW_MASK, \
    GemminiConfig
from gemmini.trace import CONFIG_LD, CONFIG_ST, MVIN_LOAD_ID, MVIN_OPS, MVOUT, Trace, int_column

# `Trace.ints` columns of the configs' fields
LD_STRIDE, LD_SHRUNK, LD_BLOCK_STRIDE, LD_ID = (
    int_column("config_ld", name) for name in ("dram_stride", "shrunk", "block_stride", "id"))
ST_STRIDE, ST_ACT = (int_column("config_st", name) for name in ("dram_stride", "act"))
MV_DRAM, MV_LOCAL, MV_COLS, MV_ROWS = (   # of every mvin and mvout
    int_column("mvin", name) for name in ("dram_addr", "local_addr", "cols", "rows"))


@dataclass
class MovePlan:
    is_load: np.ndarray      # per trace row
    is_store: np.ndarray
    conf: np.ndarray         # governing config row, -1 if none
    stride: np.ndarray       # DRAM row stride (bytes)
    scale: np.ndarray
    shrunk: np.ndarray
    block_stride: np.ndarray
    act: np.ndarray          # store act
    to_acc: np.ndarray       # local address in the accumulator
    row: np.ndarray          # first local row
    span: np.ndarray         # local rows from `row` covered (all blocks)
    nblocks: np.ndarray
    elem_bytes: np.ndarray   # DRAM element size of the move
    dram_bytes: np.ndarray   # bytes that cross the bus (0 for a zero mvin)
    ok: np.ndarray           # passes every static check; plain data movement


def _last_before(conf_pos: np.ndarray, pos: np.ndarray) -> np.ndarray:
    j = np.searchsorted(conf_pos, pos) - 1
    return np.where(j >= 0, conf_pos[np.maximum(j, 0)] if len(conf_pos) else -1, -1)


def plan_moves(trace: Trace, cfg: GemminiConfig, nbytes: list[int], itemsize: list[int]) \
        -> MovePlan:
    """Facts of every move; `nbytes` / `itemsize` describe the DRAM arrays."""
    op, ints, n = trace.op, trace.ints, len(trace)
    dim = cfg.dim
    pos = np.arange(n)
    is_load = np.isin(op, MVIN_OPS)
    is_store = op == MVOUT
    conf = np.full(n, -1, dtype=np.int64)
    cl = op == CONFIG_LD
    for code, ld_id in MVIN_LOAD_ID.items():
        sel = op == code
        if sel.any():
            cpos = np.flatnonzero(cl & (ints[:, LD_ID] == ld_id))
            conf[sel] = _last_before(cpos, pos[sel])
    if is_store.any():
        conf[is_store] = _last_before(np.flatnonzero(op == CONFIG_ST), pos[is_store])
    c = np.maximum(conf, 0)
    has = conf >= 0
    stride = np.where(has, np.where(is_load, ints[c, LD_STRIDE], ints[c, ST_STRIDE]), 0)
    scale = np.where(has, trace.floats[c], 1.0)
    shrunk = np.where(has & is_load, ints[c, LD_SHRUNK], 0)
    block_stride = np.where(has & is_load, ints[c, LD_BLOCK_STRIDE], dim)
    act = np.where(has & is_store, ints[c, ST_ACT], 0)
    local = ints[:, MV_LOCAL]
    cols, rows = ints[:, MV_COLS], ints[:, MV_ROWS]
    garbage = local == GARBAGE_ADDR
    to_acc = (local & ACC_BIT) != 0
    row = local & ROW_MASK
    nblocks = np.where(is_load, -(-np.maximum(cols, 1) // dim), 1)
    span = (nblocks - 1) * block_stride + rows
    in_b, acc_b = cfg.in_bytes, cfg.acc_bytes
    raw = (local & RAW_READ_BIT) != 0
    elem_bytes = np.where(is_load, np.where(to_acc & (shrunk == 0), acc_b, in_b),
                          np.where(to_acc & raw, acc_b, in_b))
    arr = trace.dram.astype(np.int64)
    has_dram = arr >= 0
    a = np.maximum(arr, 0)
    nb = np.asarray(nbytes + [0], dtype=np.int64)[np.where(has_dram, a, len(nbytes))]
    isz = np.asarray(itemsize + [1], dtype=np.int64)[np.where(has_dram, a, len(itemsize))]
    start = ints[:, MV_DRAM] * isz
    end = start + (rows - 1) * stride + cols * elem_bytes
    dram_bytes = np.where(has_dram, rows * cols * elem_bytes, 0)
    max_cols = np.where(is_load, np.where(to_acc, cfg.max_mvin_blocks_acc,
                                          cfg.max_mvin_blocks_sp), cfg.max_mvout_blocks) * dim
    limit = np.where(to_acc, cfg.acc_rows, cfg.sp_rows)
    ok = ((is_load | is_store) & has & ~garbage & (rows >= 1) & (rows <= dim) & (cols >= 1)
          & (cols <= max_cols) & (block_stride >= 0) & (row + span <= limit) & (stride >= 0))
    ok &= ~has_dram | ((ints[:, MV_DRAM] >= 0) & (end <= nb))
    ok &= ~(is_store & ~has_dram)
    ok &= ~(is_load & to_acc & ((local & ACCUMULATE_BIT) != 0))   # needs the written check
    ok &= ~(is_load & (scale != 1.0))
    return MovePlan(is_load, is_store, conf, stride, scale, shrunk, block_stride, act, to_acc,
                    row, span, nblocks, elem_bytes, dram_bytes, ok)
