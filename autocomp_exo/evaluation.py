"""Evaluate programs on the Gemmini model and check them against the reference.

`ModelEvaluator` is the one evaluation path: parse (and, for the search, simplify),
run every input set of a workload on the model (`gemmini.model.iter_runs`, the first
set timed), compare the outputs with the reference (`lowering.reference.check_sets`)
and turn the report into search feedback (`autocomp_exo.search.evaluator`). The
search uses it through the `Evaluator` protocol; `evaluate` uses it directly:

``evaluate(proc_or_code, ...) -> Evaluation`` accepts an Exo proc (compiled to C with
`lowering.exo_to_c`, then parsed), C text (Exo's complete C or the compact dialect) or
an `ir.Function`. With a workload (given, or recognized from an Exo proc) the outputs
are checked against the reference semantics on its input sets; with explicit
``inputs`` and a workload, against the reference of those inputs; without a workload
only the report is produced (``check`` is None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from autocomp_exo.deprecation import renamed
from autocomp_exo.search.evaluator import (HARDWARE, PARSE, WRONG, EvalResult, compact_code,
                                           failure, feedback_from_report, ir_key)
from autocomp_exo.settings import EvaluationSettings
from gemmini import ir
from gemmini.config import DEFAULT_CONFIG, GemminiConfig
from gemmini.errors import AutocompError, CheckError, ConfigError
from gemmini.model import ModelRun, iter_runs, run
from gemmini.report import Report
from lowering.exo_to_c import compile_proc
from lowering.inputs import bool_settings, kind_inputs
from lowering.parser import parse_c
from lowering.riscv import cpu_cost_hook
from lowering.riscv.toolchain import KINDS as COMPILER_KINDS
from lowering.reference import CheckResult, InputSet, check_sets, make_input_sets, run_reference
from lowering.simplify import simplify_function
from lowering.workload import Workload, is_mapped

SEARCH_INPUT_KINDS = EvaluationSettings.input_kinds    # what the search checks candidates on
EVALUATE_INPUT_KINDS = ("uniform", "extreme", "ties")  # what `evaluate` checks a program on
DEFAULT_REDUCTION = 64.0   # assumed accumulation length when no workload says (scale 1/64-ish)
# where the CPU cost comes from: the IR estimate, or compiled code (first compiler found,
# or the one named)
CPU_COSTS = ("ir", "compiled", *(f"compiled-{k}" for k in COMPILER_KINDS))


@dataclass(frozen=True)
class ModelCheck:
    """One program run on the model and checked: the first set's report and outputs."""
    report: Report
    check: CheckResult
    outputs: dict


@dataclass
class ModelEvaluator:
    """Parse with `lowering.parser`, run on `gemmini.model`, check with
    `lowering.reference.check_sets` (the one comparison of outputs with the reference).

    ``sets`` are `lowering.reference.InputSet` (inputs and expected outputs); the first
    is timed. Outputs match exactly unless ``atol`` > 0 (fp32 configurations).
    ``macs`` sets the report's ideal cycles (None: the program's own computes).
    ``batched`` runs the sets in one functional run where possible
    (`gemmini.model.iter_runs`; same outputs and errors); False runs them one by one.
    ``cpu_cost`` prices the CPU from the program compiled for RISC-V (``"compiled"``,
    the default judge, `lowering.riscv`: gcc where installed, else the ziglang wheel's
    clang; ``"compiled-gcc"`` / ``"compiled-zig"`` ask for one compiler; the report names
    it) or from the IR (``"ir"``, an estimate that follows the C's spelling).
    """
    sets: tuple[InputSet, ...] = ()
    gemmini: str | GemminiConfig = DEFAULT_CONFIG
    function: str | None = None
    atol: float = 0.0
    macs: int | None = None
    batched: bool = True
    cpu_cost: str = "compiled"

    @classmethod
    def for_workload(cls, workload, gemmini: str | GemminiConfig = DEFAULT_CONFIG,
                     kinds: tuple[str, ...] = SEARCH_INPUT_KINDS,
                     seeds: tuple[int, ...] = (0,), **fields) -> "ModelEvaluator":
        """Evaluator of a `lowering.workload.Workload` with reference input sets
        (`lowering.reference.make_input_sets` of ``kinds`` x ``seeds``, every ReLU setting
        of the workload)."""
        sets = make_input_sets(workload, seeds=seeds, kinds=kinds)
        return cls(sets=tuple(sets), gemmini=gemmini, **fields)

    @classmethod
    def from_settings(cls, workload, evaluation) -> "ModelEvaluator":
        """Evaluator of ``workload`` as the search settings' ``[evaluation]`` table
        (`autocomp_exo.settings.EvaluationSettings`) asks: configuration, input sets and
        CPU cost source. Every caller that starts from settings uses this."""
        return cls.for_workload(workload, evaluation.gemmini, kinds=evaluation.input_kinds,
                                seeds=evaluation.input_seeds, cpu_cost=evaluation.cpu_cost)

    @classmethod
    def from_cases(cls, cases, **fields) -> "ModelEvaluator":
        """Evaluator of (inputs, expected outputs) pairs, named ``set0``, ``set1``, ..."""
        return cls(sets=tuple(InputSet(f"set{i}", inputs, expected)
                              for i, (inputs, expected) in enumerate(cases)), **fields)

    def normalize(self, code_or_fn):
        if isinstance(code_or_fn, ir.Function):
            fn = code_or_fn
        else:
            fn = parse_c(code_or_fn, filename="<candidate>", function=self.function)
        fn = simplify_function(fn)
        return fn, ir_key(fn)

    def run(self, fn: ir.Function) -> ModelCheck:
        """Run ``fn`` on every set (the first timed) and check the outputs, stopping at the
        first wrong set unless all ran in one batch. Raises the model's `HardwareError`."""
        runs = self._runs(fn)
        first: list[ModelRun] = []

        def outputs():
            for r in runs:
                if not first:
                    first.append(r)
                yield r.outputs
        result = check_sets(outputs(), self.sets, atol=self.atol)
        if not first:
            raise CheckError("the evaluator has no input sets")
        return ModelCheck(first[0].report, result, first[0].outputs)

    def evaluate(self, code_or_fn) -> EvalResult:
        try:
            fn, key = self.normalize(code_or_fn)
        except AutocompError as e:
            return failure(PARSE, str(e))
        code = compact_code(fn) or (code_or_fn if isinstance(code_or_fn, str) else None)
        base = dict(fn=fn, code=code, key=key)
        try:
            checked = self.run(fn)
        except CheckError as e:
            return failure(WRONG, str(e), **base)
        except AutocompError as e:     # HardwareError and any other model refusal
            return failure(HARDWARE, str(e), **base)
        if not checked.check.ok:
            return failure(WRONG, checked.check.message, **base)
        fb = feedback_from_report(checked.report)
        return EvalResult(ok=True, cycles=fb.cycles, feedback=fb, utilization=fb.utilization,
                          **base)

    def _runs(self, fn: ir.Function) -> Iterator[ModelRun]:
        """The model's run of every set in order, the first timed; a set runs only after
        the earlier ones were taken unless all run in one batch."""
        inputs = [s.inputs for s in self.sets]      # the model copies them, never writes
        hook = self._cpu_cost_hook(fn, inputs[0]) if inputs else None
        if self.batched:
            return iter_runs(fn, inputs, self.gemmini, macs=self.macs, cpu_cost=hook)
        return (run(fn, inp, self.gemmini, timing=(i == 0), macs=self.macs, cpu_cost=hook)
                for i, inp in enumerate(inputs))

    def __post_init__(self):
        if self.cpu_cost not in CPU_COSTS:
            raise ConfigError(f"unknown cpu_cost {self.cpu_cost!r}; known: {', '.join(CPU_COSTS)}")

    def _cpu_cost_hook(self, fn: ir.Function, inputs: dict):
        if self.cpu_cost == "ir":
            return None
        return cpu_cost_hook(fn, inputs, self.gemmini, self.cpu_cost.partition("-")[2] or None)


@dataclass(frozen=True)
class Evaluation:
    report: Report
    check: CheckResult | None       # None: no reference (no workload)
    fn: ir.Function
    outputs: dict                   # of the first input set


def _to_function(proc_or_code, workload):
    if isinstance(proc_or_code, ir.Function):
        return proc_or_code, workload
    if isinstance(proc_or_code, str):
        return parse_c(proc_or_code, filename="<input>"), workload
    # an Exo proc: its own C when mapped, else its Gemmini mapping
    if is_mapped(proc_or_code):
        workload = workload or Workload.from_proc(proc_or_code)
        c = compile_proc(proc_or_code)
    else:
        own = Workload.from_proc(proc_or_code)
        workload = workload or own
        c = own.mapped_c()
    return parse_c(c.c_text, filename=f"{c.name}.c", function=c.name,
                   heap=workload.heap), workload


def default_inputs(fn: ir.Function, seed: int = 0) -> dict:
    """Inputs for a run without a workload: ``uniform`` arrays and scales from the
    signature (`lowering.inputs`, the same generator as the reference input sets), every
    bool False."""
    rng = np.random.default_rng(seed)
    written = [p.name for p in fn.params if p.is_array and not p.const]
    inputs = kind_inputs("uniform", rng, fn.params, written, DEFAULT_REDUCTION)
    inputs.update(bool_settings(fn.params)[0])
    return inputs


def evaluate(proc_or_code, *, gemmini: str | GemminiConfig | None = None, workload=None,
             inputs: dict | None = None, macs: int | None = None,
             kinds: tuple[str, ...] = EVALUATE_INPUT_KINDS, atol: float = 0.0,
             config=None) -> Evaluation:
    """Run on the model (timed once) and check against the reference when there is one.

    ``gemmini`` is the Gemmini configuration (name or `GemminiConfig`; default
    `gemmini.config.DEFAULT_CONFIG`); ``kinds`` the kinds of the workload's input sets;
    ``atol`` the tolerance of the output check. ``config=`` is the deprecated name of
    ``gemmini=``."""
    gemmini = renamed("evaluate", "config", config, "gemmini", gemmini) or DEFAULT_CONFIG
    fn, workload = _to_function(proc_or_code, workload)
    if macs is None and workload is not None:
        macs = workload.macs
    if workload is None:
        first: ModelRun = run(fn, inputs if inputs is not None else default_inputs(fn),
                              gemmini, macs=macs)
        return Evaluation(first.report, None, fn, first.outputs)
    if inputs is not None:
        ev = ModelEvaluator(sets=(InputSet("inputs", inputs, run_reference(workload, inputs)),),
                            gemmini=gemmini, atol=atol, macs=macs)
    else:
        ev = ModelEvaluator.for_workload(workload, gemmini, kinds=kinds, atol=atol, macs=macs)
    checked = ev.run(fn)
    return Evaluation(checked.report, checked.check, fn, checked.outputs)
