"""Public entry point of the Gemmini model: run an IR function on inputs.

    run(fn, inputs, config=None, *, timing=True) -> ModelRun(outputs, report)
    run_batch(fn, inputs_list, config=None, *, timing_first=True) -> [ModelRun, ...]
    iter_runs(...)   the same, lazily where the sets run one by one

``inputs`` maps every parameter name to a value: numpy arrays for array
parameters (any shape whose size matches; they are copied, never modified) and
python / 0-d numpy scalars for scalar parameters (``scale``, ``act``). Outputs are
copies of the non-const array parameters after the run, in their declared shape.

``cpu_cost`` (optional) prices the CPU side of the timed run from outside the model:
called with the timed set's trace, it returns a `gemmini.trace.CpuCost` that replaces
the trace's own estimate from the IR (the report names its ``source``).

A run of more than `WHOLE_ROWS` instructions streams: its trace is built, executed and
timed in pieces (`gemmini.trace.iter_trace`), with the same outputs and report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from gemmini import batch
from gemmini.config import GemminiConfig, get_config
from gemmini.dram_order import check_dram_order
from gemmini.functional import Machine
from gemmini.report import Report, build_report, instruction_counts
from gemmini.timing import simulate, simulate_stream
from gemmini.trace import CpuCost, Trace, concat_all, iter_trace, with_cpu_cost
from gemmini import ir
from gemmini.errors import HardwareError

CpuCostHook = Callable[[Trace], CpuCost]
# a run of at most this many instructions is built as one trace (and its input sets run
# batched); a longer one streams: built, executed and timed in pieces (`iter_trace`)
WHOLE_ROWS = 1 << 20
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
        timing: bool = True, macs: int | None = None,
        cpu_cost: CpuCostHook | None = None) -> ModelRun:
    """Execute `fn` on the model; with `timing`, also count cycles and build a Report.

    `macs` (the workload's useful MACs) sets the ideal cycles; by default they come
    from the program's own computes. Raises HardwareError on any rule violation.
    """
    cfg = get_config(config)
    arrays = _bind_arrays(fn, inputs)
    trace, pieces = _trace_or_pieces(fn, inputs, cfg)
    if trace is None and cpu_cost is not None:   # an outside CPU price needs the whole trace
        trace = concat_all(pieces)
    if trace is not None:
        return _execute(fn, cfg, [trace], [arrays], timing, macs, cpu_cost)[0]
    return _execute_stream(fn, cfg, pieces, arrays, timing, macs)


def _trace_or_pieces(fn: ir.Function, inputs: dict, cfg: GemminiConfig
                     ) -> tuple[Trace | None, Iterator[Trace] | None]:
    """(the whole trace, None) for a run of at most `WHOLE_ROWS` instructions, else
    (None, its pieces in order, `gemmini.trace.iter_trace`) to stream."""
    pieces = iter_trace(fn, inputs, cfg)
    got: list[Trace] = []
    rows = 0
    for piece in pieces:
        got.append(piece)
        rows += len(piece)
        if rows > WHOLE_ROWS:
            return None, _handed_over(got, pieces)
    return concat_all(got), None


def _handed_over(got: list, rest: Iterator) -> Iterator:
    """The pieces of `got`, each dropped once taken, then those of `rest`."""
    while got:
        yield got.pop(0)
    yield from rest


def run_batch(fn: ir.Function, inputs_list: list[dict],
              config: str | GemminiConfig | None = None, *, timing_first: bool = True,
              macs: int | None = None, cpu_cost: CpuCostHook | None = None) -> list[ModelRun]:
    """`run` on every input set, with one functional run for all of them when their
    traces differ only in scales and activations (`gemmini.batch`), else one run per
    set. Outputs are those of separate runs; only the first run has a report (with
    `timing_first`). Raises the HardwareError of the first set whose own run raises.
    """
    return list(iter_runs(fn, inputs_list, config, timing_first=timing_first, macs=macs,
                          cpu_cost=cpu_cost))


def iter_runs(fn: ir.Function, inputs_list: list[dict],
              config: str | GemminiConfig | None = None, *, timing_first: bool = True,
              macs: int | None = None, cpu_cost: CpuCostHook | None = None
              ) -> Iterator[ModelRun]:
    """`run_batch` as an iterator. Batched, every set has run before the first result;
    else each set runs when its result is asked for, so a consumer that stops at a bad
    result never runs (nor sees the errors of) the later sets, as with separate runs."""
    cfg = get_config(config)
    try:
        arrays = [_bind_arrays(fn, inputs) for inputs in inputs_list]
        traces = []
        for inputs in inputs_list:
            trace, pieces = _trace_or_pieces(fn, inputs, cfg)
            if trace is None:           # too long for one trace: every set streams alone
                raise _Streams
            traces.append(trace)
    except (HardwareError, _Streams):   # some set fails before running, or streams:
        for i, inputs in enumerate(inputs_list):
            yield run(fn, inputs, cfg, timing=timing_first and i == 0, macs=macs,
                      cpu_cost=cpu_cost)
        return
    if traces and batch.compatible(traces):
        yield from _execute(fn, cfg, traces, arrays, timing_first, macs, cpu_cost)
        return
    for i, (trace, arrs) in enumerate(zip(traces, arrays)):
        yield _execute(fn, cfg, [trace], [arrs], timing_first and i == 0, macs, cpu_cost)[0]


class _Streams(Exception):
    """A set's trace comes in pieces: the sets run one by one."""


def _execute_stream(fn: ir.Function, cfg: GemminiConfig, pieces: Iterator[Trace],
                    arrays: list, timing: bool, macs: int | None) -> ModelRun:
    """One set's run over a trace in pieces (`gemmini.trace.iter_trace`): each piece is
    executed on the same machine and then timed (the timing state carries too), so no
    more than a few pieces exist at once. Same outputs and report as `_execute`."""
    stacked = [a[None] for a in arrays]
    state: dict = {"machine": None, "counts": None, "last": None}

    def executed():
        for trace in pieces:
            machine = state["machine"]
            if machine is None:
                machine = state["machine"] = Machine(cfg, trace, stacked)
                machine.run()
            else:
                machine.run_piece(trace)
            c = instruction_counts(trace)
            old = state["counts"]
            state["counts"] = c if old is None else {k: old[k] + v for k, v in c.items()}
            state["last"] = trace
            yield trace, machine.plan
    report = None
    if timing:
        result = simulate_stream(executed(), cfg)
        machine = state["machine"]
        report = build_report(state["last"], result, cfg,
                              macs if macs is not None else machine.macs, machine,
                              counts=state["counts"])
    else:
        for _ in executed():
            pass
    outputs = {p.name: a[0].reshape(p.shape).copy()
               for p, a in zip([p for p in fn.params if p.is_array], stacked) if not p.const}
    return ModelRun(outputs, report)


def _execute(fn: ir.Function, cfg: GemminiConfig, traces: list, arrays: list[list],
             timing: bool, macs: int | None,
             cpu_cost: CpuCostHook | None = None) -> list[ModelRun]:
    """One functional run over compatible `traces` (one per set, with its `arrays`);
    the first set is timed when `timing`."""
    stacked = [np.stack(col) if len(col) > 1 else col[0][None]    # per parameter:
               for col in zip(*arrays)]                             # (sets, size)
    machine = Machine(cfg, traces[0], stacked, batch.set_scalars(traces))
    machine.run()
    check_dram_order(traces[0], machine.plan, [a.itemsize for a in machine.arrays])
    report = None
    if timing:
        timed, source = traces[0], "ir"
        if cpu_cost is not None:
            cost = cpu_cost(timed)
            timed, source = with_cpu_cost(timed, cost), cost.source
        result = simulate(timed, cfg, machine.plan)
        report = build_report(timed, result, cfg, macs if macs is not None else machine.macs,
                              machine, cpu_cost=source)
    arr_params = [p for p in fn.params if p.is_array]
    runs = []
    for i in range(len(traces)):
        outputs = {p.name: a[i].reshape(p.shape).copy()
                   for p, a in zip(arr_params, stacked) if not p.const}
        runs.append(ModelRun(outputs, report if i == 0 else None))
    return runs
