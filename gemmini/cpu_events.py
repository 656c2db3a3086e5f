"""CPU blocks inside the functional machine's run: order, memory and race checks.

The trace lists each run of a CPU block with the trace row it precedes
(`Trace.cpu_events`). `CpuRunner.run_until(k)` runs every block due before row k on the
machine's DRAM arrays (`gemmini.cpu_exec`), after the machine's deferred stores are
written. CPU code touches only DRAM and its own locals, and preload / compute touch only
the scratchpad and accumulator, so a block may run anywhere among the computes around
it; its order with every DRAM move is kept.

Races: every DRAM move (mvin, mvout, loop_ws) issued since the last fence may still be
running when the CPU reaches a block; `check_races` compares the elements the block
read and wrote with those moves' footprints (rows x cols at the configured stride,
byte exact; a loop_ws: all of each array it names).
"""

from __future__ import annotations

import numpy as np

from gemmini import cint, cpu_exec, isa
from gemmini.errors import HardwareError
from gemmini.trace import LOOP_WS, MVIN_OPS, MVOUT, Trace

MV_DRAM, MV_COLS, MV_ROWS = 0, 2, 3


class CpuRunner:
    """Runs the CPU blocks of machine ``m``'s trace at their places."""

    def __init__(self, m, sets_params: tuple):
        self.m = m
        t: Trace = m.trace
        self.events = t.cpu_events
        self.next = 0
        self.next_row = self.events[0][0] if self.events else len(t) + 1
        self.last_fence = -1
        arrays = {name: a for name, a in zip(t.arrays, m.arrays)}
        self.mem = cpu_exec.CpuMemory(arrays, _params(sets_params or (t.cpu_params,),
                                                      m.n_sets), m.n_sets)
        self.limit = [m.cfg.timing.max_instructions]
        self.moves = None

    def fence(self, k: int) -> None:
        self.last_fence = k

    def run_until(self, k: int) -> None:
        """Run every CPU block due before trace row ``k``."""
        events = self.events
        while self.next < len(events) and events[self.next][0] <= k:
            row, bid, values = events[self.next]
            self.next += 1
            self._run(row, self.m.trace.cpu_blocks[bid], values)
        self.next_row = events[self.next][0] if self.next < len(events) else \
            len(self.m.trace) + 1

    def _run(self, row: int, block, values) -> None:
        m = self.m
        if m.stores is not None:
            m.stores.flush()
        env = dict(zip(block.names, values))
        types = dict(zip(block.names, block.types))
        accesses = cpu_exec.run_block(block.stmts, self.mem, env, types, self.limit)
        if accesses:
            self._check_races(row, accesses)

    def _check_races(self, row: int, accesses) -> None:
        m, t = self.m, self.m.trace
        if self.moves is None:     # rows of DRAM moves, and the array each names
            is_move = np.isin(t.op, MVIN_OPS) | (t.op == MVOUT) | (t.op == LOOP_WS)
            self.moves = np.flatnonzero(is_move)
        lo, hi = np.searchsorted(self.moves, [self.last_fence + 1, min(row, len(t))])
        names = {i for i, name in enumerate(t.arrays) if name in accesses}
        for k in self.moves[lo:hi].tolist():
            op = int(t.op[k])
            if op != LOOP_WS and int(t.dram[k]) not in names:
                continue
            if op in MVIN_OPS or op == MVOUT:
                arr = int(t.dram[k])
                if arr < 0:
                    continue
                moves = [(arr, self._footprint(k, arr), op == MVOUT)]
            elif op == LOOP_WS:
                moves = self._loop_ws_footprint(k)
            else:
                continue
            for arr, elems, writes in moves:
                name = t.arrays[arr]
                if name not in accesses:
                    continue
                for keys, store, line in accesses[name]:
                    if not (writes or store):
                        continue
                    size = m.arrays[arr].shape[1]
                    hit = np.intersect1d(keys % size, elems)
                    if len(hit):
                        ins = t.instrs[int(t.sid[k])]
                        where = f" (line {ins.line})" if ins.line else ""
                        raise HardwareError(
                            f"race: CPU code {'writes' if store else 'reads'} "
                            f"{name}[{int(hit[0])}] while {ins.op}{where}, issued with no "
                            f"gemmini_fence() since, may still {'write' if writes else 'read'}"
                            " it; put a gemmini_fence() before the CPU code",
                            line=line or None)

    def _footprint(self, k: int, arr: int) -> np.ndarray:
        """Elements of DRAM array ``arr`` that move ``k`` reads or writes."""
        m, t, plan = self.m, self.m.trace, self.m.plan
        isz = m.arrays[arr].itemsize
        rows, cols = int(t.ints[k, MV_ROWS]), int(t.ints[k, MV_COLS])
        start = int(t.ints[k, MV_DRAM]) * isz
        stride, eb = int(plan.stride[k]), int(plan.elem_bytes[k])
        first = (start + np.arange(rows) * stride) // isz
        last = (start + np.arange(rows) * stride + cols * eb - 1) // isz
        width = int((last - first).max()) + 1
        elems = first[:, None] + np.arange(width)[None, :]
        return np.unique(elems[elems <= last[:, None]])

    def _loop_ws_footprint(self, k: int) -> list:
        args = self.m.trace.loop_ws[k]
        out = []
        for operand, v in zip(isa.SPECS["loop_ws"].operands, args):
            if isinstance(v, tuple) and v[0] >= 0:
                size = self.m.arrays[v[0]].shape[1]
                out.append((v[0], np.arange(size), operand.name == "C"))
        return out


def _params(per_set: tuple, n_sets: int) -> dict:
    """Scalar parameters as CPU values: name -> ((B, 1) values, type)."""
    if not per_set or not per_set[0]:
        return {}
    out = {}
    for name, _v in per_set[0]:
        vals = [dict(p)[name] for p in per_set]
        if len(vals) == 1 and n_sets > 1:
            vals = vals * n_sets
        if isinstance(vals[0], float):
            out[name] = (np.asarray(vals, dtype=np.float32)[:, None], cpu_exec.F32)
        else:
            out[name] = (np.asarray(vals, dtype=np.int64)[:, None], cint.INT)
    return out

