"""Deferred mvouts: plain accumulator -> DRAM stores captured when issued, written in batches.

A store is deferred when it passed every static check, reads the accumulator scaled
(not raw), writes whole elements, and goes to an array that no mvin or loop_ws reads
(so nothing can observe it before the flush). Its accumulator values are copied at
issue; `flush` scales them (each input set with its own config_st scale and act) and
writes them, in program order where writes overlap.
"""

from __future__ import annotations

import numpy as np

from gemmini.config import RAW_READ_BIT, ROW_MASK

CAPACITY = 1 << 14          # stores held before a flush (over all input sets)


def deferrable(m, ok: np.ndarray) -> np.ndarray:
    """Per trace row of machine `m`: a store that may be deferred (`ok`: static checks)."""
    t, plan = m.trace, m.plan
    read_arrays = set(t.dram[plan.is_load].tolist()) | {
        v[0] for args in t.loop_ws.values() for v in args if isinstance(v, tuple)}
    isz = np.asarray([a.itemsize for a in m.arrays] + [1])
    arr_i = np.where(t.dram >= 0, t.dram, len(m.arrays))
    return (ok & plan.is_store & plan.to_acc & ((t.ints[:, 1] & RAW_READ_BIT) == 0)
            & (plan.elem_bytes == isz[arr_i]) & (plan.stride % isz[arr_i] == 0)
            & ~np.isin(t.dram, list(read_arrays)))


class DeferredStores:
    """The pending stores of machine `m` (at most `count` will ever be added)."""

    def __init__(self, m, count: int):
        self.m = m
        cap = min(count, max(1, CAPACITY // m.n_sets))
        self.rows: list[int] = []                              # trace rows
        self.vals = np.empty((cap, m.n_sets, m.dim, m.dim), dtype=m.acc_dt)

    def add(self, k: int, v) -> None:
        """Capture store k (operands `v`); checks its rows were written."""
        m = self.m
        cols, rows = v[2], v[3]
        row = v[1] & ROW_MASK
        if not m.acc_written[row:row + rows].all():
            m._check_rows(k, "acc", row, rows, True)
        j = len(self.rows)
        if j == len(self.vals):
            self.flush()
            j = 0
        self.vals[j, :, :rows, :cols] = m.acc[:, row:row + rows, :cols]
        self.rows.append(k)

    def flush(self) -> None:
        """Write every pending store."""
        if not self.rows:
            return
        m = self.m
        t, plan, ns = m.trace, m.plan, m.n_sets
        ks = np.asarray(self.rows)
        vals = self.vals[:len(ks)]                              # (stores, sets, DIM, DIM)
        self.rows = []
        arr, cols, rows = t.dram[ks].astype(np.int64), t.ints[ks, 2], t.ints[ks, 3]
        isz = np.asarray([a.itemsize for a in m.arrays])[arr]
        base, st = t.ints[ks, 0], plan.stride[ks] // isz
        conf = plan.conf[ks]
        scale, act = m.floats[:, conf], m.acts[:, conf]        # (sets, stores)
        keys = np.column_stack([arr, rows, cols, act.T, scale.T.view(np.int64)])
        if (keys == keys[0]).all():
            groups = [np.arange(len(ks))]
        else:
            _, ginv = np.unique(keys, axis=0, return_inverse=True)
            groups = [np.flatnonzero(ginv.ravel() == g) for g in range(int(ginv.max()) + 1)]
        writes = []
        for sel in groups:
            i0 = int(sel[0])
            r, c = int(rows[i0]), int(cols[i0])
            out = m._to_in_type(vals[sel, :, :r, :c].swapaxes(0, 1), scale[:, i0], act[:, i0])
            idx = base[sel][:, None, None] + np.arange(r)[None, :, None] * st[sel][:, None, None] \
                + np.arange(c)[None, None, :]
            writes.append((int(arr[i0]), idx.ravel(), out.reshape(ns, -1)))
        hits = {}
        for a, idx, _ in writes:
            h = np.bincount(idx, minlength=m.arrays[a].shape[1])
            hits[a] = hits[a] + h if a in hits else h
        if all(h.max(initial=0) <= 1 for h in hits.values()):
            for a, idx, out in writes:
                m.arrays[a][:, idx] = out
            return
        for i in range(len(ks)):                                # overlapping writes: in order
            r, c, a = int(rows[i]), int(cols[i]), int(arr[i])
            out = m._to_in_type(vals[i, :, :r, :c], scale[:, i], act[:, i])
            for q in range(r):
                s0 = int(base[i]) + q * int(st[i])
                m.arrays[a][:, s0:s0 + c] = out[:, q]
