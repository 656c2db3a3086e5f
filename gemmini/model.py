"""Public entry point of the Gemmini model: run an IR function on inputs.

    run(fn, inputs, config=None, *, timing=True) -> ModelRun(outputs, report)

``inputs`` maps every parameter name to a value: numpy arrays for array
parameters (any shape whose size matches; they are copied, never modified) and
python / 0-d numpy scalars for scalar parameters (``scale``, ``act``). Outputs are
copies of the non-const array parameters after the run, in their declared shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gemmini.config import GemminiConfig, get_config
from gemmini.functional import Machine
from gemmini.report import Report, build_report
from gemmini.timing import simulate
from gemmini.trace import build_trace
from lowering import ir
from lowering.errors import HardwareError

NP_DTYPES = {"i8": np.int8, "i32": np.int32, "f32": np.float32, "bool": np.bool_}


@dataclass(frozen=True)
class ModelRun:
    outputs: dict[str, np.ndarray]
    report: Report | None


def _bind_arrays(fn: ir.Function, inputs: dict) -> list[np.ndarray]:
    arrays = []
    for p in fn.params:
        if not p.is_array:
            continue
        if p.name not in inputs:
            if p.const:
                raise HardwareError(f"input array {p.name!r} has no value")
            arrays.append(np.zeros(p.size, dtype=NP_DTYPES[p.dtype]))
            continue
        v = np.asarray(inputs[p.name])
        if v.size != p.size:
            raise HardwareError(f"input {p.name!r} has {v.size} elements, the parameter "
                                f"{p.name}{list(p.shape)} needs {p.size}")
        arrays.append(np.ascontiguousarray(v, dtype=NP_DTYPES[p.dtype]).reshape(-1).copy())
    return arrays


def run(fn: ir.Function, inputs: dict, config: str | GemminiConfig | None = None, *,
        timing: bool = True, macs: int | None = None) -> ModelRun:
    """Execute `fn` on the model; with `timing`, also count cycles and build a Report.

    `macs` (the workload's useful MACs) sets the ideal cycles; by default they come
    from the program's own computes. Raises HardwareError on any rule violation.
    """
    cfg = get_config(config)
    arrays = _bind_arrays(fn, inputs)
    trace = build_trace(fn, inputs, cfg)
    machine = Machine(cfg, trace, arrays)
    machine.run()
    outputs = {}
    arr_params = [p for p in fn.params if p.is_array]
    for p, a in zip(arr_params, arrays):
        if not p.const:
            outputs[p.name] = a.reshape(p.shape).copy()
    report = None
    if timing:
        result = simulate(trace, cfg, machine.plan)
        report = build_report(trace, result, cfg, macs if macs is not None else machine.macs,
                              machine)
    return ModelRun(outputs, report)
