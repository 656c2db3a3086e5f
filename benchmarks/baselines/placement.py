"""The scratchpad heap the measured binaries' Exo kernels started from.

Exo's ``gemm_malloc`` places buffers first fit from row 0, so where a kernel's buffers
land (and which scratchpad bank each one is in) depends on what the program allocated
and freed before it. `benchmarks/data/measured_placement.json` records, per GEMM shape
and baseline, the heap state the measured binaries had where it differs from a fresh
heap (docs/hardware.md, Placement); every baseline the runner builds starts from it.
"""

from __future__ import annotations

import json
from pathlib import Path

from lowering.alloc import EMPTY_HEAP, HeapState

PLACEMENT = Path(__file__).resolve().parent.parent / "data" / "measured_placement.json"
MEASURED_CONFIG = "int8_16"         # the configuration the measured binaries ran on


def load_placement(path: Path = PLACEMENT) -> dict:
    """GEMM shape (``MxNxK``) -> baseline -> `HeapState` of the measured binaries.

    An entry is either ``freed_rows`` (one freed block of that many rows at row 0) or
    ``blocks`` (gemm_malloc's block list laid out from row 0: [rows, still in use] pairs).
    """
    def heap(v: dict) -> HeapState:
        if "blocks" in v:
            return HeapState(tuple((int(r), bool(u)) for r, u in v["blocks"]))
        return HeapState.freed(v["freed_rows"])

    data = json.loads(Path(path).read_text())
    return {shape: {b: heap(v) for b, v in row.items()} for shape, row in data["gemm"].items()}


def shape_key(spec) -> str:
    """The placement file's key of a workload spec (``MxNxK`` for a GEMM, else its name)."""
    s = spec.shape_dict
    return f"{s['M']}x{s['N']}x{s['K']}" if spec.kind == "gemm" else spec.name


def measured_heap(spec, baseline: str, config=None) -> HeapState:
    """The heap ``baseline`` of ``spec`` starts from: the measured binaries' on the
    measured configuration, else a fresh heap."""
    name = getattr(config, "name", config) or MEASURED_CONFIG
    if name != MEASURED_CONFIG:
        return EMPTY_HEAP
    return load_placement().get(shape_key(spec), {}).get(baseline, EMPTY_HEAP)
