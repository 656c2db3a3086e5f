"""Evaluate one program on the Gemmini model: `evaluate(proc_or_code, ...) -> Evaluation`.

Accepts an Exo proc (compiled to C with `lowering.exo_to_c`, then parsed), C text
(Exo's complete C or the compact dialect) or an `ir.Function`. With a workload
(given, or recognized from an Exo proc) the outputs are checked against the
reference semantics on its input sets (`lowering.reference`); with explicit
``inputs`` and a workload, against the reference of those inputs; without a
workload only the report is produced (``check`` is None).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gemmini.model import ModelRun, run
from gemmini.report import Report
from gemmini import ir


@dataclass(frozen=True)
class Evaluation:
    report: Report
    check: object | None            # lowering.reference.CheckResult, or None (no reference)
    fn: ir.Function
    outputs: dict


def _to_function(proc_or_code, workload):
    if isinstance(proc_or_code, ir.Function):
        return proc_or_code, workload
    from lowering.parser import parse_c
    if isinstance(proc_or_code, str):
        return parse_c(proc_or_code, filename="<input>"), workload
    # an Exo proc
    from lowering.workload import Workload
    from lowering.exo_to_c import compile_proc
    if workload is None:
        workload = Workload.from_proc(proc_or_code)
    c = compile_proc(proc_or_code)
    return parse_c(c.c_text, filename=f"{c.name}.c", function=c.name), workload


def default_inputs(fn: ir.Function, seed: int = 0) -> dict:
    """Random int8 operands, scale 1/64 and no ReLU, for a run without a workload."""
    rng = np.random.default_rng(seed)
    inputs: dict = {}
    for p in fn.params:
        if not p.is_array:
            inputs[p.name] = np.float32(1 / 64) if p.dtype == "f32" else 0
        elif p.const:
            if p.dtype == "i8":
                inputs[p.name] = rng.integers(-128, 128, p.shape, dtype=np.int8)
            elif p.dtype == "i32":
                inputs[p.name] = rng.integers(-1000, 1000, p.shape, dtype=np.int32)
            else:
                inputs[p.name] = rng.standard_normal(p.shape).astype(np.float32)
    return inputs


def evaluate(proc_or_code, *, config=None, workload=None, inputs: dict | None = None,
             macs: int | None = None) -> Evaluation:
    """Run on the model (timed once) and check against the reference when there is one."""
    fn, workload = _to_function(proc_or_code, workload)
    if macs is None and workload is not None:
        macs = workload.macs
    if inputs is not None:
        first: ModelRun = run(fn, inputs, config, macs=macs)
        check = None
        if workload is not None:
            from lowering.reference import check as check_outputs, run_reference
            check = check_outputs(first.outputs, run_reference(workload, inputs))
        return Evaluation(first.report, check, fn, first.outputs)
    if workload is None:
        first = run(fn, default_inputs(fn), config, macs=macs)
        return Evaluation(first.report, None, fn, first.outputs)
    from lowering.reference import check_sets, make_input_sets
    sets = make_input_sets(workload, kinds=("uniform", "extreme", "ties"))
    outs, report = [], None
    for i, s in enumerate(sets):
        r = run(fn, s.inputs, config, timing=(i == 0), macs=macs)
        report = report or r.report
        outs.append(r.outputs)
    return Evaluation(report, check_sets(outs, sets), fn, outs[0])
