"""The evaluator protocol the search depends on, and its real implementation.

An evaluator turns code (compact or Exo C text, or an ``ir.Function``) into an
`EvalResult`: whether it is correct, how many cycles it takes, and the hardware
feedback for the next planning prompt. It works in two steps so that the
engine can deduplicate before simulating:

* ``normalize(code_or_fn) -> (fn, key)``: parse and simplify (cheap; raises a
  `gemmini.errors.ParseError` on bad code); ``key`` identifies the normalized IR;
* ``evaluate(code_or_fn) -> EvalResult``: run on the model and check (expensive;
  never raises for a bad program, the failure is described in the result).

`ModelEvaluator` wires `lowering.parser.parse_c`, `gemmini.model.iter_runs` (every
input set in one functional run where possible) and a reference check; those modules
are imported lazily.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable

from autocomp_exo.proposers.base import Feedback
from gemmini import ir
from gemmini.errors import AutocompError, CheckError, HardwareError, ParseError

# Error kinds of an EvalResult
PARSE, HARDWARE, WRONG, TIMEOUT, CRASH, SLOWER = (
    "parse", "hardware", "wrong", "timeout", "crash", "slower")


@dataclass(frozen=True)
class EvalResult:
    """The outcome of evaluating one program."""
    ok: bool                                  # parsed, ran, and matched the reference
    cycles: int | None = None
    feedback: Feedback | None = None
    error_kind: str | None = None             # one of PARSE, HARDWARE, WRONG, TIMEOUT, CRASH
    error_message: str | None = None
    fn: ir.Function | None = None
    code: str | None = None                   # compact C of fn (or the text given)
    key: str | None = None                    # normalized-IR key
    utilization: float | None = None

    def to_json(self) -> dict:
        """JSON form without the IR (the code text is enough to rebuild it)."""
        d = {k: getattr(self, k) for k in
             ("ok", "cycles", "error_kind", "error_message", "code", "key", "utilization")}
        d["feedback"] = dataclasses.asdict(self.feedback) if self.feedback else None
        return d

    @classmethod
    def from_json(cls, d: dict, fn: ir.Function | None = None) -> "EvalResult":
        fb = Feedback(**d["feedback"]) if d.get("feedback") else None
        return cls(ok=d["ok"], cycles=d.get("cycles"), feedback=fb,
                   error_kind=d.get("error_kind"), error_message=d.get("error_message"),
                   fn=fn, code=d.get("code"), key=d.get("key"),
                   utilization=d.get("utilization"))


def failure(kind: str, message: str, **kw) -> EvalResult:
    return EvalResult(ok=False, error_kind=kind, error_message=message, **kw)


@runtime_checkable
class Evaluator(Protocol):
    """What the search needs from an evaluator (must be picklable for worker processes)."""

    def normalize(self, code_or_fn: str | ir.Function) -> tuple[ir.Function, str]:
        """Parsed, simplified IR and its key; raises ParseError on bad code."""
        ...

    def evaluate(self, code_or_fn: str | ir.Function) -> EvalResult:
        """Run and check; failures are reported in the result, never raised."""
        ...


def structural_text(node: Any) -> str:
    """A canonical text of an IR value: every compared field, no line numbers."""
    if dataclasses.is_dataclass(node):
        fields = [f for f in dataclasses.fields(node) if f.compare]
        inner = ",".join(f"{f.name}={structural_text(getattr(node, f.name))}" for f in fields)
        return f"{type(node).__name__}({inner})"
    if isinstance(node, (tuple, list)):
        return "[" + ",".join(structural_text(x) for x in node) + "]"
    return repr(node)


def canonical_text(fn: ir.Function) -> str:
    """The printed compact form of ``fn`` (structural text if the printer is unavailable)."""
    try:
        from lowering.print_compact import to_compact
    except ImportError:
        return structural_text(fn)
    try:
        return to_compact(fn)
    except Exception:  # noqa: BLE001 - a printer bug must not stop deduplication
        return structural_text(fn)


def ir_key(fn: ir.Function) -> str:
    """Key of a normalized IR: hash of its canonical printed text."""
    return hashlib.sha256(canonical_text(fn).encode()).hexdigest()[:20]


def compact_code(fn: ir.Function) -> str | None:
    try:
        from lowering.print_compact import to_compact
    except ImportError:
        return None
    try:
        return to_compact(fn)
    except Exception:  # noqa: BLE001
        return None


def feedback_from_report(report: Any) -> Feedback:
    """`Feedback` from a `gemmini.report.Report` (fields per COMMON.md)."""
    details: dict[str, Any] = {}
    for name in ("ideal_cycles", "instruction_counts", "engine_busy", "counts", "busy",
                 "stolen_cycles", "bank_conflicts", "exposed_preloads", "cpu_stall"):
        value = getattr(report, name, None)
        if value is not None:
            details[name] = _jsonable(value)
    return Feedback(
        cycles=int(report.cycles), utilization=float(getattr(report, "utilization", 0.0)),
        sp_kib_used=float(getattr(report, "sp_kib_used", 0.0)),
        sp_kib_total=float(getattr(report, "sp_kib_total", 0.0)),
        acc_kib_used=float(getattr(report, "acc_kib_used", 0.0)),
        acc_kib_total=float(getattr(report, "acc_kib_total", 0.0)),
        bound=str(getattr(report, "bound", "")), details=details)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    if hasattr(v, "item"):
        return v.item()
    return str(v)


@dataclass
class ModelEvaluator:
    """Parse with `lowering.parser`, run on `gemmini.model`, compare with reference outputs.

    ``cases`` is a list of (inputs, expected outputs) pairs; the first case is timed.
    ``reference`` may instead compute the expected outputs from the inputs.
    Output arrays are compared exactly unless ``atol`` > 0 (fp32 configurations).
    ``batched`` runs the cases in one functional run where possible
    (`gemmini.model.iter_runs`; same outputs and errors); False runs them one by one.
    """
    cases: list[tuple[dict, dict]] = field(default_factory=list)
    config: str = "int8_16"
    function: str | None = None
    atol: float = 0.0
    reference: Callable[[dict], dict] | None = None
    batched: bool = True

    def normalize(self, code_or_fn):
        from lowering.simplify import simplify_function
        if isinstance(code_or_fn, ir.Function):
            fn = code_or_fn
        else:
            from lowering.parser import parse_c
            fn = parse_c(code_or_fn, filename="<candidate>", function=self.function)
        fn = simplify_function(fn)
        return fn, ir_key(fn)

    def evaluate(self, code_or_fn) -> EvalResult:
        try:
            fn, key = self.normalize(code_or_fn)
        except ParseError as e:
            return failure(PARSE, str(e))
        except AutocompError as e:
            return failure(PARSE, str(e))
        code = compact_code(fn) or (code_or_fn if isinstance(code_or_fn, str) else None)
        base = dict(fn=fn, code=code, key=key)
        report = None
        try:
            for i, (result, expected) in enumerate(self._runs(fn)):
                if i == 0:
                    report = result.report
                mismatch = _compare(result.outputs, expected, self.atol)
                if mismatch:
                    return failure(WRONG, f"input set {i}: {mismatch}", **base)
        except HardwareError as e:
            return failure(HARDWARE, str(e), **base)
        except CheckError as e:
            return failure(WRONG, str(e), **base)
        except AutocompError as e:
            return failure(HARDWARE, str(e), **base)
        fb = feedback_from_report(report)
        return EvalResult(ok=True, cycles=fb.cycles, feedback=fb, utilization=fb.utilization,
                          **base)

    @classmethod
    def for_workload(cls, workload, config: str = "int8_16",
                     kinds: tuple[str, ...] = ("uniform", "extreme"),
                     seeds: tuple[int, ...] = (0,)) -> "ModelEvaluator":
        """Evaluator of a `lowering.workload.Workload` with reference input sets
        (`lowering.reference.make_input_sets`, every ReLU setting of the workload)."""
        from lowering.reference import make_input_sets
        sets = make_input_sets(workload, seeds=seeds, kinds=kinds)
        return cls(cases=[(st.inputs, st.expected) for st in sets], config=config)

    def _cases(self):
        if self.reference is not None:
            return [(inp, self.reference(inp)) for inp, _ in self.cases]
        return self.cases

    def _runs(self, fn: ir.Function):
        """(ModelRun, expected outputs) of every case in order, the first timed; a case
        runs only after the earlier ones were taken unless all run in one batch."""
        from gemmini.model import iter_runs, run
        cases = self._cases()
        inputs = [inp for inp, _ in cases]          # the model copies them, never writes
        runs = iter_runs(fn, inputs, self.config) if self.batched else \
            (run(fn, inp, self.config, timing=(i == 0)) for i, inp in enumerate(inputs))
        return zip(runs, (expected for _, expected in cases))


def _compare(outputs: dict, expected: dict, atol: float) -> str | None:
    import numpy as np
    for name, want in expected.items():
        got = outputs.get(name)
        if got is None:
            return f"output {name} missing"
        got = np.asarray(got).reshape(np.shape(want))
        bad = np.abs(got.astype(np.float64) - np.asarray(want, dtype=np.float64)) > atol
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return (f"output {name}: {int(bad.sum())} of {bad.size} elements differ, first at "
                    f"{list(idx)}: got {got[idx]}, expected {np.asarray(want)[idx]}")
    return None
