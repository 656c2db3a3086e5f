"""The evaluator protocol the search depends on, its result and the feedback conversion.

An evaluator turns code (compact or Exo C text, or an ``ir.Function``) into an
`EvalResult`: whether it is correct, how many cycles it takes, and the hardware
feedback for the next planning prompt. It works in two steps so that the
engine can deduplicate before simulating:

* ``normalize(code_or_fn) -> (fn, key)``: parse and simplify (cheap; raises a
  `gemmini.errors.ParseError` on bad code); ``key`` identifies the normalized IR;
* ``evaluate(code_or_fn) -> EvalResult``: run on the model and check (expensive;
  never raises for a bad program, the failure is described in the result).

The real implementation is `autocomp_exo.evaluation.ModelEvaluator` (parser, model,
reference check); the search itself only needs this protocol.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from autocomp_exo.proposers.base import Feedback
from gemmini import ir

# Error kinds of an EvalResult
PARSE, HARDWARE, WRONG, TIMEOUT, CRASH, SLOWER, EQUAL = (
    "parse", "hardware", "wrong", "timeout", "crash", "slower", "equal")


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
                 "stolen_cycles", "bank_conflicts", "exposed_preloads", "cpu_stall", "fence_stall"):
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
