"""The model's report of one run: cycles, utilization, engine activity, instruction mix.

`Report.to_feedback()` gives a plain dict of the same facts (rounded, named for a
reader) that the planning prompt template can quote; no prompt text lives here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gemmini.config import GemminiConfig
from gemmini.timing import TimingResult
from gemmini.trace import MVIN_OPS, OPS, Trace

ENGINES = ("cpu", "load", "execute", "store")
# When no engine is busy for at least this fraction of the run, the run is bounded by
# waiting (dependencies, memory latency, write-back), reported as "latency".
LATENCY_BOUND_FRACTION = 0.6


@dataclass(frozen=True)
class Report:
    """Everything the search and the planner learn about a candidate's run."""
    config: str
    cycles: int
    ideal_cycles: float             # MACs / DIM^2
    utilization: float              # ideal_cycles / cycles
    macs: int
    busy: dict                      # engine -> busy cycles (cpu, load, execute, store)
    bound: str                      # cpu / load / execute / store / latency
    instructions: int               # dynamic instruction count
    counts: dict                    # op -> dynamic count; plus mvin_zero / mvin_data
    sp_kib_used: float
    sp_kib_total: float
    acc_kib_used: float
    acc_kib_total: float
    cpu_stall: int                  # CPU cycles waiting on a full queue or a fence
    bank_conflicts: int
    stolen_cycles: int
    exposed_preloads: int
    cpu_cost: str = "ir"            # what priced the CPU: "ir", or the compiler of compiled code
    fence_stall: int = 0            # part of cpu_stall spent at fences that work follows

    def to_dict(self) -> dict:
        return asdict(self)

    def to_feedback(self) -> dict:
        """Plain, rounded facts for the planning prompt (data only)."""
        return {
            "cycles": self.cycles,
            "ideal_cycles": round(self.ideal_cycles),
            "utilization_percent": round(100 * self.utilization, 1),
            "bound_by": self.bound,
            "busy_percent": {e: round(100 * self.busy[e] / max(self.cycles, 1), 1)
                             for e in ENGINES},
            "instructions": self.instructions,
            "instruction_counts": {k: v for k, v in self.counts.items() if v},
            "scratchpad_kib_used": round(self.sp_kib_used, 1),
            "scratchpad_kib_total": round(self.sp_kib_total, 1),
            "accumulator_kib_used": round(self.acc_kib_used, 1),
            "accumulator_kib_total": round(self.acc_kib_total, 1),
            "cpu_stall_cycles": self.cpu_stall,
            "cpu_stall_at_fences_cycles": self.fence_stall,
            "bank_conflicts": self.bank_conflicts,
            "execute_cycles_lost_to_dma_writes": self.stolen_cycles,
            "preloads_not_overlapped": self.exposed_preloads,
        }


def instruction_counts(trace: Trace) -> dict:
    """Dynamic count per op, with mvins split into zero (no DRAM) and data moves."""
    counts = np.bincount(trace.op, minlength=len(OPS)) if len(trace) else np.zeros(len(OPS), int)
    out = {name: int(c) for name, c in zip(OPS, counts)}
    is_mvin = np.isin(trace.op, MVIN_OPS)
    zero = is_mvin & (trace.dram < 0)
    out["mvin_zero"] = int(zero.sum())
    out["mvin_data"] = int((is_mvin & ~zero).sum())
    return out


def bound_of(busy: dict, cycles: int) -> str:
    """The engine with the most busy cycles, or "latency" if none is busy enough."""
    engine = max(ENGINES, key=lambda e: busy[e])
    if cycles <= 0 or busy[engine] < LATENCY_BOUND_FRACTION * cycles:
        return "latency"
    return engine


def build_report(trace: Trace, timing: TimingResult, cfg: GemminiConfig, macs: int,
                 machine, cpu_cost: str = "ir", counts: dict | None = None) -> Report:
    """Assemble the Report of a run (`machine`: the functional state after the run;
    `counts`: the run's `instruction_counts` when `trace` is only its last piece)."""
    if counts is None:
        counts = instruction_counts(trace)
    ideal = macs / cfg.macs_per_cycle
    cycles = max(timing.cycles, 1)
    sp_rows = int(machine.sp_written.sum())
    acc_rows = int(machine.acc_written.sum())
    return Report(
        config=cfg.name,
        cycles=timing.cycles,
        ideal_cycles=ideal,
        utilization=ideal / cycles if timing.cycles else 0.0,
        macs=int(macs),
        busy=dict(timing.busy),
        bound=bound_of(timing.busy, timing.cycles),
        instructions=sum(counts[op] for op in OPS),
        counts=counts,
        sp_kib_used=sp_rows * cfg.sp_row_bytes / 1024,
        sp_kib_total=cfg.sp_kib,
        acc_kib_used=acc_rows * cfg.acc_row_bytes / 1024,
        acc_kib_total=cfg.acc_kib,
        cpu_stall=timing.cpu_stall,
        bank_conflicts=timing.bank_conflicts,
        stolen_cycles=timing.stolen_cycles,
        exposed_preloads=timing.exposed_preloads,
        cpu_cost=cpu_cost,
        fence_stall=timing.fence_stall,
    )
