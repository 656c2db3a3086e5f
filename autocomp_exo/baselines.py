"""Baselines a search result is compared with: the vendor library's and the loop FSM's
programs for the same workload (`lowering.generators`), on the same evaluator.

Exo's unoptimized code is the search's start, so its cycles are the run's start cycles.
Exo hand schedules live in `benchmarks/` (a layer above) and are not computed here.
"""

from __future__ import annotations

from gemmini import ir
from lowering.generators.fsm import fsm_baseline
from lowering.generators.vendor_lib import vendor_baseline
from lowering.workload import bundled_twin

BASELINE_TITLES = {
    "exo_unoptimized": "Exo, unoptimized (the start)",
    "exo_hand": "Exo, hand schedule",
    "vendor_lib": "vendor library (gemmini.h tiling)",
    "hardware_fsm": "hardware loop FSM",
}


def baseline_programs(workload, gemmini) -> list[tuple[str, ir.Function]]:
    """(name, IR) of the vendor-library and FSM programs of ``workload`` (a GEMM or conv;
    none for other kinds); a program the generators cannot build is left out."""
    if getattr(workload, "kind", None) not in ("gemm", "conv"):
        return []
    shape = getattr(workload, "shape", None) or {}
    if "M" not in shape and "in_dim" not in shape:    # an Exo proc's: sizes by argument
        workload = bundled_twin(workload)
        if workload is None:
            return []
    out = []
    for name, build in (("vendor_lib", vendor_baseline), ("hardware_fsm", fsm_baseline)):
        try:
            out.append((name, build(workload, gemmini)))
        except Exception:  # noqa: BLE001 - a missing baseline only shortens the comparison
            continue
    return out


def workload_baselines(workload, gemmini, evaluator) -> dict[str, int]:
    """Cycles of the vendor-library and FSM programs of ``workload`` (a GEMM or conv) on
    ``evaluator``; a baseline that cannot be built or is not correct is left out."""
    out: dict[str, int] = {}
    for name, fn in baseline_programs(workload, gemmini):
        try:
            res = evaluator.evaluate(fn)
        except Exception:  # noqa: BLE001 - a missing baseline only shortens the comparison
            continue
        if res.ok and res.cycles:
            out[name] = res.cycles
    return out


def beaten_by(baselines: dict[str, int], cycles: int) -> list[tuple[str, int]]:
    """The baselines faster than ``cycles``, fastest first."""
    return sorted(((k, v) for k, v in baselines.items() if v < cycles), key=lambda kv: kv[1])
