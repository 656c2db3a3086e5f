"""Reference semantics of a workload, its input sets and the output check.

The reference is Exo's own C of the workload's *reference proc* (the proc itself
with every Gemmini instruction replaced by Exo's definition of it,
`lowering.semantics.reference_proc`), compiled by `lowering.gcc` into a shared
library (cached under ``<cache root>/reflib``) and called through ctypes on numpy
arrays, with a zeroed Exo context for any configuration state the inlined
instructions keep.

Rounding: the reference C calls ``ACC_SCALE(x, scale)`` (a macro of Gemmini's
``gemmini.h``) and then clamps with ``select`` and a C cast. Exo's CPU build
would truncate toward zero in that cast; we define ``ACC_SCALE`` ourselves as
the hardware does it (docs/hardware.md section 3): float32 multiply, then round half to
even (``nearbyintf`` under the default rounding mode), so the cast after the
clamp is exact and the result is saturated to [-128, 127]. Accumulation wraps
as int32 (built with ``-fwrapv``), as the accumulator does.

Public API:

* ``run_reference(workload, inputs) -> dict[str, np.ndarray]``
* ``run_reference_stats(workload, inputs) -> (outputs, AccStats)`` (what the
  accumulator read-outs saw: calls, saturated results, spread)
* ``make_input_sets(workload, seeds=(0,), kinds=None, acts=None) -> list[InputSet]``
* ``check(outputs, ref_outputs, sets=None, *, atol=0.0) -> CheckResult``
* ``check_sets(outputs, sets, *, atol=0.0) -> CheckResult`` (``outputs`` may be lazy)
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from gemmini.errors import AutocompError, CheckError
from lowering import gcc
from lowering.exo_to_c import compile_proc, header_name
from lowering.inputs import (INPUT_KINDS, bool_settings, kind_inputs, reduction_from_std,
                             setting_suffix)
from lowering.semantics import WRITTEN, proc_signature

HOST_PRELUDE = """\
/* autocomp-exo host definitions for Exo's plain C (reference semantics). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
/* Gemmini's accumulator read-out: float32 multiply, round half to even. Each call is
   counted (calls, saturated results, sum of squared accumulator values) for
   autocomp_stats. */
static long long autocomp_n_calls, autocomp_n_saturated;
static double autocomp_sum_sq;
static inline float autocomp_acc_scale(int32_t x, float scale) {
    float y = nearbyintf((float)x * scale);
    autocomp_n_calls++;
    autocomp_sum_sq += (double)x * (double)x;
    if (y > 127.0f || y < -128.0f) autocomp_n_saturated++;
    return y;
}
#define ACC_SCALE(x, scale) autocomp_acc_scale((x), (scale))
void autocomp_stats(double *out) {
    out[0] = (double)autocomp_n_calls;
    out[1] = (double)autocomp_n_saturated;
    out[2] = autocomp_sum_sq;
    autocomp_n_calls = autocomp_n_saturated = 0;
    autocomp_sum_sq = 0.0;
}
"""

GCC_FLAGS = ("-O2", "-fwrapv", "-ffp-contract=off", "-fno-fast-math")
_NP_DTYPES = {"i8": np.int8, "i32": np.int32, "f32": np.float32, "bool": np.bool_}
_CT_SCALARS = {"f32": ctypes.c_float, "bool": ctypes.c_bool, "i32": ctypes.c_int32,
               "i8": ctypes.c_int8}
PROBE_SEED = 2 ** 20
MAX_SATURATED = 0.05        # at least one input set saturates fewer read-outs than this        # inputs of the run that measures a proc's accumulation


class ReferenceRunError(AutocompError):
    """Running the reference failed (bad inputs); building it raises `gcc.CompileError`."""


@dataclass(frozen=True)
class AccStats:
    """What the accumulator read-outs (``ACC_SCALE``) of one run saw."""
    calls: int
    saturated: int
    sum_sq: float

    @property
    def saturated_share(self) -> float | None:
        return self.saturated / self.calls if self.calls else None

    @property
    def std(self) -> float | None:
        return float(np.sqrt(self.sum_sq / self.calls)) if self.calls else None


# ---------------------------------------------------------------------------
# Building and calling the reference library
# ---------------------------------------------------------------------------

def _context_size_function(exo_c) -> str:
    """C of ``autocomp_context_size()``: the size of Exo's context struct (configuration
    state of a proc whose instructions were inlined), 0 if there is none."""
    ctx = f"{exo_c.header_name[:-2]}_Context"
    size = f"sizeof({ctx})" if ctx in exo_c.h_text else "0"
    return f"\nsize_t autocomp_context_size(void) {{ return {size}; }}\n"


def _library(workload):
    exo_c = compile_proc(workload.algorithm)
    path = gcc.build({f"{exo_c.name}.c": HOST_PRELUDE + exo_c.c_text +
                      _context_size_function(exo_c)},
                     headers={header_name(exo_c.name): exo_c.h_text}, cache="reflib",
                     stem=exo_c.name, flags=GCC_FLAGS, libs=("m",))
    return exo_c.name, gcc.load_library(path)


def algorithm_signature(workload):
    """C signature (ir.Params) of the workload's reference proc."""
    return proc_signature(workload.algorithm, workload.outputs)


def _as_array(name: str, value, param) -> np.ndarray:
    dtype = _NP_DTYPES[param.dtype]
    arr = np.asarray(value)
    if arr.size != param.size:
        raise ReferenceRunError(f"input {name!r} has {arr.size} elements, "
                             f"expected shape {list(param.shape)}")
    if arr.dtype != dtype:
        if not np.can_cast(arr.dtype, dtype, casting="same_kind") or \
                (np.issubdtype(arr.dtype, np.integer) and
                 (arr.min(initial=0) < np.iinfo(dtype).min or
                  arr.max(initial=0) > np.iinfo(dtype).max)):
            raise ReferenceRunError(f"input {name!r} has dtype {arr.dtype}, expected {dtype}")
        arr = arr.astype(dtype)
    return np.ascontiguousarray(arr.reshape(param.shape))


def run_reference(workload, inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Run the reference on ``inputs`` (every array read and every scalar).

    Returns the output arrays (shaped as the parameters, e.g. ``{"C": int8[M, N]}``).
    """
    return run_reference_stats(workload, inputs)[0]


def run_reference_stats(workload, inputs: Mapping[str, object]
                        ) -> tuple[dict[str, np.ndarray], AccStats]:
    """`run_reference` and what its accumulator read-outs saw."""
    name, lib = _library(workload)
    fn = getattr(lib, name)
    lib.autocomp_context_size.restype = ctypes.c_size_t
    ctx = np.zeros(max(1, lib.autocomp_context_size()), dtype=np.uint8)
    args: list = [ctx.ctypes.data_as(ctypes.c_void_p)]   # Exo's context (configuration)
    argtypes: list = [ctypes.c_void_p]
    outputs: dict[str, np.ndarray] = {}
    keep = [ctx]
    for p in algorithm_signature(workload):
        if p.name in workload.outputs and p.name not in inputs:
            arr = np.zeros(p.shape, dtype=_NP_DTYPES[p.dtype])
            outputs[p.name] = arr
        elif p.name not in inputs:
            raise ReferenceRunError(f"reference of {workload.name}: no value for {p.name!r}")
        elif p.is_array:
            arr = _as_array(p.name, inputs[p.name], p)
            if p.name in workload.outputs:   # read and written: a copy it may update
                arr = arr.copy()
                outputs[p.name] = arr
        else:
            value = np.asarray(inputs[p.name]).reshape(-1)
            if value.size != 1:
                raise ReferenceRunError(f"scalar {p.name!r} must be one value, got {value.size}")
            scalar = _CT_SCALARS[p.dtype](value[0].item())
            keep.append(scalar)
            if p.by_pointer:
                args.append(ctypes.pointer(scalar))
                argtypes.append(ctypes.POINTER(_CT_SCALARS[p.dtype]))
            else:
                args.append(scalar)
                argtypes.append(_CT_SCALARS[p.dtype])
            continue
        keep.append(arr)
        args.append(arr.ctypes.data_as(ctypes.c_void_p))
        argtypes.append(ctypes.c_void_p)
    fn.argtypes = argtypes
    fn.restype = None
    stats = np.zeros(3, dtype=np.float64)
    lib.autocomp_stats(stats.ctypes.data_as(ctypes.c_void_p))    # reset the counters
    fn(*args)
    lib.autocomp_stats(stats.ctypes.data_as(ctypes.c_void_p))
    return outputs, AccStats(int(stats[0]), int(stats[1]), float(stats[2]))


# ---------------------------------------------------------------------------
# Input sets
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class InputSet:
    """One test input: every parameter (scalars as 0-d arrays) and the reference outputs."""
    name: str
    inputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]
    saturation: float | None = None   # share of saturated outputs (None: not measured)
    # per output: the sum of the magnitudes of its terms (float outputs whose candidate
    # may round differently, `FP32_TOLERANCE_UNITS`); None: exact comparison only
    magnitude: dict[str, np.ndarray] | None = None

    @property
    def act(self) -> bool:
        return bool(self.inputs.get("act", False))

    @property
    def scale(self) -> float:
        return float(self.inputs.get("scale", 1.0))


def _outputs_only(workload) -> tuple[str, ...]:
    roles = workload.roles or {}
    return tuple(name for name in workload.outputs if roles.get(name, WRITTEN) == WRITTEN)


def reduction_length(workload) -> float:
    """The workload's accumulation length, or, when unknown, the length whose uniform int8
    products have the spread its accumulator read-outs show on uniform inputs."""
    if workload.reduction:
        return workload.reduction
    params = algorithm_signature(workload)
    probe = kind_inputs("uniform", np.random.default_rng(PROBE_SEED), params,
                        _outputs_only(workload), 1.0)
    for p in params:
        if not p.is_array and p.dtype == "f32":
            probe[p.name] = np.asarray(1.0, dtype=np.float32)
    probe.update({k: np.asarray(v) for k, v in bool_settings(params, (False,))[0].items()})
    std = run_reference_stats(workload, probe)[1].std
    return reduction_from_std(std) if std else 1.0


def make_input_sets(workload, seeds: Sequence[int] = (0,), kinds: Sequence[str] | None = None,
                    acts: Sequence[bool] | None = None) -> list[InputSet]:
    """Input sets with their reference outputs, for every seed x kind x bool setting.

    Inputs come from the reference proc's signature (`lowering.inputs`). Kinds
    (`INPUT_KINDS`): ``uniform`` full-range int8 with a scale that spreads outputs
    over int8 (few saturated); ``saturating`` full range, large scale; ``extreme``
    only -128 / 127; ``sparse`` 90% zeros; ``small`` values in [-4, 4] with a scale
    that spreads outputs; ``ties`` small values with scale 0.5 (exact .5 ties);
    ``unit`` scale 1.0 with small values. Bool scalars take both values (``act``:
    those in ``acts``, default the workload's). Each set records its share of
    saturated accumulator read-outs (None when the proc has none); when every set
    saturates `MAX_SATURATED` or more (e.g. a kernel without a scale parameter, whose
    scale is 1.0), the ``unit`` sets are added. A workload with its own ``input_sets``
    (TinyMPC) makes them itself.
    """
    if getattr(workload, "input_sets", None) is not None:   # the workload's own sets
        return workload.input_sets(workload, tuple(seeds), kinds)
    kinds = tuple(kinds) if kinds is not None else INPUT_KINDS
    acts = tuple(acts) if acts is not None else tuple(workload.acts)
    params = algorithm_signature(workload)
    only_written = _outputs_only(workload)
    red = reduction_length(workload)
    sets: list[InputSet] = []

    def add(seed: int, ki: int, kind: str) -> None:
        rng = np.random.default_rng([seed, ki])
        arrays = kind_inputs(kind, rng, params, only_written, red)
        for setting in bool_settings(params, acts):
            inputs = dict(arrays)
            inputs.update({k: np.asarray(v) for k, v in setting.items()})
            expected, stats = run_reference_stats(workload, inputs)
            name = f"{kind}_s{seed}{setting_suffix(setting)}"
            sets.append(InputSet(name, inputs, expected, stats.saturated_share))
    for seed in seeds:
        for ki, kind in enumerate(kinds):
            add(seed, ki, kind)
    shares = [s.saturation for s in sets if s.saturation is not None]
    if shares and min(shares) >= MAX_SATURATED and "unit" not in kinds:
        add(seeds[0] if seeds else 0, INPUT_KINDS.index("unit"), "unit")
    return sets


def check_same_semantics(workload, algorithm, kinds: Sequence[str] = ("uniform", "extreme"),
                         seeds: Sequence[int] = (0,)) -> None:
    """Raise `CheckError` unless ``workload``'s reference computes what ``algorithm``'s
    (another workload, e.g. of the unscheduled proc) computes on random inputs."""
    mine = [(p.name, p.dtype, p.shape) for p in algorithm_signature(workload)]
    theirs = [(p.name, p.dtype, p.shape) for p in algorithm_signature(algorithm)]
    if sorted(mine) != sorted(theirs):
        raise CheckError(f"{workload.name} and the algorithm {algorithm.name} have different "
                         f"parameters: {mine} vs {theirs}")
    sets = make_input_sets(algorithm, seeds=seeds, kinds=kinds)
    result = check([run_reference(workload, s.inputs) for s in sets], [s.expected for s in sets],
                   sets)
    if not result.ok:
        raise CheckError(f"{workload.name} does not compute what the algorithm "
                         f"{algorithm.name} computes: {result.message}")


# ---------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------

EXACT = "bit-exact"
TOLERANCE = "fp32 tolerance"
ROUNDING_UNIT = 2.0 ** -24       # float32's unit roundoff
# A float output whose reference records the magnitude of its terms (`InputSet.magnitude`)
# passes when |got - expected| <= FP32_TOLERANCE_UNITS * ROUNDING_UNIT * magnitude. Both
# the reference and a candidate that orders its sums differently are within
# (terms in the longest chain of roundings) * unit * magnitude of the exact value; the
# TinyMPC kernels chain at most 32 roundings per output, hence 64 for the two sides
# (docs/tinympc.md measures 3.1 units at most between the model and the reference).
FP32_TOLERANCE_UNITS = 64


@dataclass(frozen=True)
class Mismatch:
    """The first wrong output element."""
    set_name: str
    array: str
    index: tuple[int, ...]
    expected: int | float
    got: int | float
    count: int          # wrong elements in that array of that set


@dataclass(frozen=True)
class CheckResult:
    """Outcome of comparing outputs with the reference, set by set."""
    ok: bool
    message: str
    first: Mismatch | None = None
    saturation: tuple[tuple[str, float], ...] = ()
    sets_checked: int = 0
    rule: str = EXACT         # the comparison rule that decided: EXACT or TOLERANCE

    def raise_if_failed(self) -> None:
        if not self.ok:
            raise CheckError(self.message)


def _per_set(x) -> list:
    return [x] if isinstance(x, Mapping) else list(x)




def tolerance_rule() -> str:
    """How the fp32 tolerance is computed, for messages."""
    return f"{TOLERANCE} ({FP32_TOLERANCE_UNITS} x 2^-24 x the sum of |terms|)"


def _difference(out: Mapping, ref: Mapping, set_name: str, atol: float,
                magnitude: Mapping | None = None
                ) -> tuple[str | None, Mismatch | None, bool]:
    """What differs between one set's outputs and its reference: (message, first
    mismatch, whether the fp32 tolerance was needed); message None: they match.

    Arrays match exactly, or within ``atol`` (absolute) when ``atol`` > 0, or, for an
    array with a ``magnitude``, within the fp32 tolerance; NaN never matches."""
    tolerant = False
    for array, want in ref.items():
        want = np.asarray(want)
        if array not in out:
            return f"set {set_name!r}: output {array!r} is missing", None, tolerant
        got = np.asarray(out[array])
        if got.size != want.size:
            return (f"set {set_name!r}: output {array!r} has {got.size} elements, "
                    f"expected {want.size}"), None, tolerant
        got = got.reshape(want.shape)
        wrong = got != want
        rule = ""
        mag = None if magnitude is None else magnitude.get(array)
        if wrong.any() and mag is not None:
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            bound = FP32_TOLERANCE_UNITS * ROUNDING_UNIT * np.asarray(mag, np.float64)
            wrong = ~(diff <= bound.reshape(want.shape))
            tolerant = True
            rule = f" beyond the {tolerance_rule()}"
        elif atol > 0:
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            wrong = ~(diff <= atol)
        if wrong.any():
            index = tuple(int(i) for i in np.argwhere(wrong)[0])
            mm = Mismatch(set_name, array, index, want[index].item(), got[index].item(),
                          int(wrong.sum()))
            return (f"set {set_name!r}: {array}[{', '.join(map(str, index))}] expected "
                    f"{mm.expected}, got {mm.got} ({mm.count} of {want.size} elements "
                    f"differ{rule})"), mm, tolerant
    return None, None, tolerant


def _check(pairs: Iterable[tuple[Mapping, Mapping, str, Mapping | None]], expected_sets: int,
           saturation: tuple[tuple[str, float], ...], atol: float) -> CheckResult:
    """Check (outputs, reference, set name, magnitudes) in order, consuming ``pairs``
    only up to the first wrong set."""
    k = 0
    tolerant = False
    for out, ref, set_name, magnitude in pairs:
        message, mm, used = _difference(out, ref, set_name, atol, magnitude)
        tolerant = tolerant or used
        rule = TOLERANCE if tolerant else EXACT
        if message is not None:
            return CheckResult(False, message, mm, saturation, k, rule)
        k += 1
    if k != expected_sets:
        return CheckResult(False, f"got outputs for {k} input sets, expected {expected_sets}",
                           None, saturation, 0)
    if tolerant:
        return CheckResult(True, f"all outputs match on {k} input set(s) within the "
                                 f"{tolerance_rule()}", None, saturation, k, TOLERANCE)
    return CheckResult(True, f"all outputs match on {k} input set(s)", None, saturation, k)


def check(outputs, ref_outputs, sets: Sequence[InputSet] | None = None, *,
          atol: float = 0.0) -> CheckResult:
    """Compare outputs with reference outputs (one dict, or one dict per input set).

    On failure the message locates the first wrong element: set, array, index
    tuple (in the reference array's shape), expected and got values. Values match
    exactly, or within ``atol`` when it is > 0 (float outputs).
    """
    outs, refs = _per_set(outputs), _per_set(ref_outputs)
    names = [s.name for s in sets] if sets else [f"set{i}" for i in range(len(refs))]
    saturation = _saturation(sets or ())
    if len(outs) != len(refs):
        return CheckResult(False, f"got outputs for {len(outs)} input sets, "
                                  f"expected {len(refs)}", None, saturation, 0)
    mags = [s.magnitude for s in sets] if sets else [None] * len(refs)
    return _check(zip(outs, refs, names, mags), len(refs), saturation, atol)


def check_sets(outputs: Iterable[Mapping[str, np.ndarray]], sets: Sequence[InputSet], *,
               atol: float = 0.0) -> CheckResult:
    """`check` against the expected outputs recorded in ``sets``. ``outputs`` may be lazy
    (one dict per set, e.g. from `gemmini.model.iter_runs`): it is consumed set by set and
    not beyond the first wrong set."""
    if isinstance(outputs, Sequence) and len(outputs) != len(sets):
        return CheckResult(False, f"got outputs for {len(outputs)} input sets, "
                                  f"expected {len(sets)}", None, _saturation(sets), 0)
    return _check(((out, s.expected, s.name, s.magnitude)
                   for out, s in zip(outputs, sets)), len(sets),
                  _saturation(sets), atol)


def _saturation(sets: Sequence[InputSet]) -> tuple[tuple[str, float], ...]:
    return tuple((s.name, s.saturation) for s in sets if s.saturation is not None)
