"""Several input sets in one functional run: the per-set values of a shared trace.

Input sets of one program usually differ only in array contents and in the scalars
``scale`` and ``act``. Their traces are then identical except for the config scales
(`Trace.floats`) and the activation operands (``act`` of config_st / config_ex rows,
``act`` of loop_ws), so one `gemmini.functional.Machine` can run them all with a
leading batch axis. `SetScalars` holds those per-set values; `compatible` says whether
traces may share a run (anything else differs, e.g. control flow: no).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gemmini.isa import SPECS
from gemmini.trace import CONFIG_EX, CONFIG_ST, Trace, int_column

ACT_COL = int_column("config_st", "act")     # `act` column of config_st / config_ex ints
assert ACT_COL == int_column("config_ex", "act")
LOOP_WS_ACT = [o.name for o in SPECS["loop_ws"].operands].index("act")   # `act` of loop_ws


@dataclass(frozen=True)
class SetScalars:
    """Per-set values of the fields in which batched traces may differ (B sets, n rows)."""
    floats: np.ndarray   # (B, n) float64: config scale of each row
    acts: np.ndarray     # (B, n) int64: act of config_st / config_ex / loop_ws rows, else 0
    params: tuple = ()   # per set: the scalar parameters ((name, value), ...) CPU code reads


def _act_rows(trace: Trace) -> np.ndarray:
    return (trace.op == CONFIG_ST) | (trace.op == CONFIG_EX)


def _acts(trace: Trace) -> np.ndarray:
    acts = np.where(_act_rows(trace), trace.ints[:, ACT_COL], 0)
    for k, args in trace.loop_ws.items():
        acts[k] = args[LOOP_WS_ACT]
    return acts


def set_scalars(traces: list[Trace]) -> SetScalars:
    """The per-set fields of compatible `traces`, stacked (set i = row i)."""
    return SetScalars(np.stack([t.floats for t in traces]),
                      np.stack([_acts(t) for t in traces]),
                      tuple(t.cpu_params for t in traces))


def _shared_ints(trace: Trace) -> np.ndarray:
    return np.where(_act_rows(trace)[:, None] & (np.arange(trace.ints.shape[1]) == ACT_COL),
                    0, trace.ints)


def _shared_loops(trace: Trace) -> dict:
    return {k: args[:LOOP_WS_ACT] + args[LOOP_WS_ACT + 1:] for k, args in trace.loop_ws.items()}


def _validity(s: SetScalars) -> np.ndarray:
    return np.isfinite(s.floats) & np.isin(s.acts, (0, 1))


def compatible(traces: list[Trace]) -> bool:
    """True if `traces` are equal except for the `SetScalars` fields, and every set's
    scalars pass or fail the machine's checks on the same rows (so the batched run
    raises exactly the error of the first set's own run)."""
    t0 = traces[0]
    ints0, loops0 = None, None
    for t in traces[1:]:
        if not (t.cpu_tail == t0.cpu_tail and t.arrays == t0.arrays
                and len(t.instrs) == len(t0.instrs)
                and all(a is b for a, b in zip(t.instrs, t0.instrs))
                and np.array_equal(t.op, t0.op) and np.array_equal(t.sid, t0.sid)
                and np.array_equal(t.dram, t0.dram) and np.array_equal(t.cpu_pre, t0.cpu_pre)
                and np.array_equal(t.cpu_issue, t0.cpu_issue)
                and t.cpu_events == t0.cpu_events):
            return False
        if ints0 is None:
            ints0, loops0 = _shared_ints(t0), _shared_loops(t0)
        if not (np.array_equal(_shared_ints(t), ints0) and _shared_loops(t) == loops0):
            return False
    valid = _validity(set_scalars(traces))
    return bool((valid == valid[0]).all())
