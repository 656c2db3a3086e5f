"""Static proof that every local read follows a write of that row (so runtime checks can go).

Rows, once written, stay written, so a read at trace row k of local row r is valid
iff some instruction before k wrote r. `reads_follow_writes` computes the first
writer of every scratchpad / accumulator row and compares it with every read.
It answers False (keep the per-instruction checks, which report the exact error)
when the program reads an unwritten row or when a writer is not understood here
(loop_ws, compute results written into the scratchpad).
"""

from __future__ import annotations

import numpy as np

from gemmini.config import ACC_BIT, ACCUMULATE_BIT, GARBAGE_ADDR, ROW_MASK, GemminiConfig
from gemmini.moves import MovePlan
from gemmini.trace import LOOP_WS, Trace


def _expand(pos, first_row, nrows):
    """(positions, rows) of every row in ranges [first_row, first_row + nrows)."""
    nrows = np.maximum(nrows, 0)
    total = int(nrows.sum())
    owner = np.repeat(np.arange(len(pos)), nrows)
    within = np.arange(total) - np.repeat(np.cumsum(nrows) - nrows, nrows)
    return pos[owner], first_row[owner] + within


def reads_follow_writes(trace: Trace, plan: MovePlan, cfg: GemminiConfig,
                        pre: np.ndarray, cmp: np.ndarray) -> bool:
    """True if every read of a local row happens after a write of it (see module doc)."""
    if (trace.op == LOOP_WS).any():
        return False
    ints = trace.ints
    sp_blocks = cfg.sp_rows
    n_rows = cfg.sp_rows + cfg.acc_rows          # one index space: sp rows, then acc rows

    def space(addr):
        return np.where((addr & ACC_BIT) != 0, sp_blocks, 0) + (addr & ROW_MASK)

    first = np.full(n_rows, np.iinfo(np.int64).max, dtype=np.int64)
    # writers: mvins (every block), compute results (C)
    ld = np.flatnonzero(plan.is_load)
    nb = plan.nblocks[ld]
    blk_owner = np.repeat(np.arange(len(ld)), nb)
    blk_idx = np.arange(int(nb.sum())) - np.repeat(np.cumsum(nb) - nb, nb)
    k = ld[blk_owner]
    start = space(ints[k, 1]) + blk_idx * plan.block_stride[k]
    wpos, wrows = _expand(k, start, ints[k, 3])
    c_addr = ints[pre, 1]
    live = c_addr != GARBAGE_ADDR
    if ((c_addr[live] & ACC_BIT) == 0).any():
        return False                             # results into the scratchpad
    cpos, crows = _expand(cmp[live], space(c_addr[live]), ints[pre[live], 5])
    all_rows = np.concatenate([wrows, crows])
    if len(all_rows) and (all_rows.min() < 0 or all_rows.max() >= n_rows):
        return False                             # the runtime checks will report it
    np.minimum.at(first, all_rows, np.concatenate([wpos, cpos]))
    # readers: A, B (new weights), D, accumulating C, accumulating mvins, mvouts
    reads = []
    a = ints[cmp, 0]
    ok_a = a != GARBAGE_ADDR
    reads.append(_expand(cmp[ok_a], space(a[ok_a]), ints[cmp[ok_a], 3]))
    b = ints[pre, 0]
    ok_b = b != GARBAGE_ADDR
    reads.append(_expand(cmp[ok_b], space(b[ok_b]), ints[pre[ok_b], 3]))
    d = ints[cmp, 1]
    ok_d = d != GARBAGE_ADDR
    reads.append(_expand(cmp[ok_d], space(d[ok_d]), ints[cmp[ok_d], 5]))
    acc_c = live & ((c_addr & ACCUMULATE_BIT) != 0)
    reads.append(_expand(cmp[acc_c], space(c_addr[acc_c]), ints[pre[acc_c], 5]))
    acc_ld = ld[((ints[ld, 1] & ACC_BIT) != 0) & ((ints[ld, 1] & ACCUMULATE_BIT) != 0)]
    reads.append(_expand(acc_ld, space(ints[acc_ld, 1]), ints[acc_ld, 3]))
    st = np.flatnonzero(plan.is_store)
    reads.append(_expand(st, space(ints[st, 1]), ints[st, 3]))
    pos = np.concatenate([r[0] for r in reads])
    rows = np.concatenate([r[1] for r in reads])
    if len(rows) and (rows.min() < 0 or rows.max() >= n_rows):
        return False
    return bool((first[rows] < pos).all())
