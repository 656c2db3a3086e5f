"""Ordering through DRAM: a move-in must not read bytes that a move-out still in flight
writes.

The load and store engines run their queues independently (docs/hardware.md section 4),
so an ``mvin`` issued after an ``mvout`` may read DRAM before that store lands; only a
``fence`` (the CPU waits until every instruction has completed) orders them. The model
executes instructions in program order, so without this check a program that drops
such a fence would compute the right values on the model and wrong ones on the chip.

`check_dram_order(trace, plan)` raises `HardwareError` at the first ``mvin`` that reads
bytes written by an ``mvout`` since the last fence. Only arrays that are both stored to
and loaded from are examined, so a GEMM or convolution costs one vectorized test.
"""

from __future__ import annotations

import numpy as np

from gemmini.errors import HardwareError
from gemmini.moves import MV_COLS, MV_DRAM, MV_ROWS, MovePlan
from gemmini.trace import FENCE, Trace


def _rows(trace: Trace, plan: MovePlan, k: int, itemsize: int) -> list[tuple[int, int]]:
    """The byte intervals (start, end) of the DRAM rows move ``k`` touches."""
    start = int(trace.ints[k, MV_DRAM]) * itemsize
    cols, rows = int(trace.ints[k, MV_COLS]), int(trace.ints[k, MV_ROWS])
    stride, width = int(plan.stride[k]), cols * int(plan.elem_bytes[k])
    return [(start + r * stride, start + r * stride + width) for r in range(rows)]


def check_dram_order(trace: Trace, plan: MovePlan, itemsizes: list[int]) -> None:
    """Raise `HardwareError` if an mvin reads DRAM bytes an unfenced earlier mvout writes."""
    arr = trace.dram
    loads = plan.is_load & (arr >= 0)
    stores = plan.is_store & (arr >= 0)
    both = np.intersect1d(np.unique(arr[loads]), np.unique(arr[stores]))
    if not len(both):
        return
    fences = trace.op == FENCE
    rows = np.flatnonzero(((loads | stores) & np.isin(arr, both)) | fences)
    pending: dict[int, list[tuple[int, list[tuple[int, int]]]]] = {}
    for k in rows.tolist():
        if fences[k]:
            pending.clear()
            continue
        a = int(arr[k])
        spans = _rows(trace, plan, k, itemsizes[a])
        if plan.is_store[k]:
            pending.setdefault(a, []).append((k, spans))
            continue
        for store, written in pending.get(a, ()):
            if any(s < we and ws < e for s, e in spans for ws, we in written):
                ins = trace.instrs[int(trace.sid[k])]
                before = trace.instrs[int(trace.sid[store])]
                where = f" (line {before.line})" if before.line else ""
                raise HardwareError(
                    f"mvin: reads {trace.arrays[a]!r} bytes that the mvout{where} before it "
                    "writes, with no fence between them: the load may run before the store "
                    "lands", line=ins.line or None)
