"""Reference semantics of a workload, its input sets and the output check.

The reference is Exo's own C of the workload's *algorithm* proc, compiled by
`lowering.gcc` into a shared library (cached under ``<cache root>/reflib``) and
called through ctypes on numpy arrays.

Rounding: Exo's algorithm C calls ``ACC_SCALE(x, scale)`` (a macro of Gemmini's
``gemmini.h``) and then clamps with ``select`` and a C cast. Exo's CPU build
would truncate toward zero in that cast; we define ``ACC_SCALE`` ourselves as
the hardware does it (docs/hardware.md section 3): float32 multiply, then round half to
even (``nearbyintf`` under the default rounding mode), so the cast after the
clamp is exact and the result is saturated to [-128, 127]. Accumulation wraps
as int32 (built with ``-fwrapv``), as the accumulator does.

Public API:

* ``run_reference(workload, inputs) -> dict[str, np.ndarray]``
* ``raw_accumulation(workload, inputs) -> np.ndarray`` (int32, numpy)
* ``make_input_sets(workload, seeds=(0,), kinds=None, acts=None) -> list[InputSet]``
* ``check(outputs, ref_outputs, sets=None, *, atol=0.0) -> CheckResult``
* ``check_sets(outputs, sets, *, atol=0.0) -> CheckResult`` (``outputs`` may be lazy)
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from gemmini.errors import AutocompError, CheckError
from lowering import gcc
from lowering.exo_to_c import compile_proc, header_name

HOST_PRELUDE = """\
/* autocomp-exo host definitions for Exo's algorithm C (reference semantics). */
#include <math.h>
#include <stdint.h>
/* Gemmini's accumulator read-out: float32 multiply, round half to even. */
static inline float autocomp_acc_scale(int32_t x, float scale) {
    return nearbyintf((float)x * scale);
}
#define ACC_SCALE(x, scale) autocomp_acc_scale((x), (scale))
"""

GCC_FLAGS = ("-O2", "-fwrapv", "-ffp-contract=off", "-fno-fast-math")
INT8_MIN, INT8_MAX = -128, 127
_NP_DTYPES = {"i8": np.int8, "i32": np.int32, "f32": np.float32, "bool": np.bool_}
_CT_SCALARS = {"f32": ctypes.c_float, "bool": ctypes.c_bool, "i32": ctypes.c_int32,
               "i8": ctypes.c_int8}
# What a set's inputs look like; see make_input_sets.
INPUT_KINDS = ("uniform", "saturating", "extreme", "sparse", "small", "ties")


class ReferenceRunError(AutocompError):
    """Running the reference failed (bad inputs); building it raises `gcc.CompileError`."""


# ---------------------------------------------------------------------------
# Building and calling the reference library
# ---------------------------------------------------------------------------

def _build_library(name: str, c_text: str, h_text: str) -> Path:
    return gcc.build({f"{name}.c": HOST_PRELUDE + c_text}, headers={header_name(name): h_text},
                     cache="reflib", stem=name, flags=GCC_FLAGS, libs=("m",))


def algorithm_signature(workload):
    """C signature (ir.Params) of the workload's algorithm proc."""
    from lowering.workload import proc_signature
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
    """Run the reference on ``inputs`` (every input array plus ``scale`` and ``act``).

    Returns the output arrays (shaped as the parameters, e.g. ``{"C": int8[M, N]}``).
    """
    exo_c = compile_proc(workload.algorithm)
    lib = gcc.load_library(_build_library(exo_c.name, exo_c.c_text, exo_c.h_text))
    fn = getattr(lib, exo_c.name)
    args: list = [None]                      # Exo's context pointer, unused here
    argtypes: list = [ctypes.c_void_p]
    outputs: dict[str, np.ndarray] = {}
    keep = []
    for p in algorithm_signature(workload):
        if p.name in workload.outputs:
            arr = np.zeros(p.shape, dtype=_NP_DTYPES[p.dtype])
            outputs[p.name] = arr
        elif p.name not in inputs:
            raise ReferenceRunError(f"reference of {workload.name}: no value for {p.name!r}")
        elif p.is_array:
            arr = _as_array(p.name, inputs[p.name], p)
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
    fn(*args)
    return outputs


# ---------------------------------------------------------------------------
# Raw int32 accumulation (numpy, independent of Exo)
# ---------------------------------------------------------------------------

def _wrap32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.int64).astype(np.uint32).view(np.int32) if x.size else \
        x.astype(np.int32)


def raw_accumulation(workload, inputs: Mapping[str, object]) -> np.ndarray:
    """int32 accumulator values before scaling (GEMM ``A @ B``; conv incl. bias)."""
    s = workload.shape
    if workload.kind == "gemm":
        a = np.asarray(inputs["A"]).reshape(s["M"], s["K"]).astype(np.int64)
        b = np.asarray(inputs["B"]).reshape(s["K"], s["N"]).astype(np.int64)
        return _wrap32(a @ b)
    from lowering.suite import KERNEL_DIM
    batch, d, ci, co = s["batch"], s["in_dim"], s["in_ch"], s["out_ch"]
    od = d - KERNEL_DIM + 1
    x = np.asarray(inputs["inp"]).reshape(batch, d, d, ci).astype(np.int64)
    w = np.asarray(inputs["weights"]).reshape(KERNEL_DIM, KERNEL_DIM, ci, co).astype(np.int64)
    acc = np.broadcast_to(np.asarray(inputs["bias"]).reshape(co).astype(np.int64),
                          (batch, od, od, co)).copy()
    for kr in range(KERNEL_DIM):
        for kc in range(KERNEL_DIM):
            acc += x[:, kr:kr + od, kc:kc + od, :] @ w[kr, kc]
    return _wrap32(acc)


def saturated_share(raw: np.ndarray, scale: float) -> float:
    """Share of outputs whose scaled, rounded value lies outside [-128, 127]."""
    if raw.size == 0:
        return 0.0
    pre = np.rint(raw.astype(np.float32) * np.float32(scale))
    return float(np.mean((pre > INT8_MAX) | (pre < INT8_MIN)))


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

    @property
    def act(self) -> bool:
        return bool(self.inputs["act"])

    @property
    def scale(self) -> float:
        return float(self.inputs["scale"])


def _reduction_len(workload) -> int:
    s = workload.shape
    if workload.kind == "gemm":
        return s["K"]
    return 9 * s["in_ch"]


def _operands(workload) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple((p.name, p.shape) for p in algorithm_signature(workload)
                 if p.is_array and p.name not in workload.outputs and p.dtype == "i8")


def _f32(x: float) -> np.float32:
    """A float32 scale with a short mantissa (exactly representable, reproducible)."""
    if x <= 0:
        return np.float32(x)
    e = np.floor(np.log2(x))
    return np.float32(np.round(x / 2.0 ** e * 64) / 64 * 2.0 ** e)


def _kind_arrays(kind: str, rng: np.random.Generator, operands, red: int):
    """Int8 operand arrays and the scale for one kind of input set."""
    arrays = {}
    target_std = 48.0   # spread outputs over the int8 range with few saturations
    if kind in ("uniform", "saturating"):
        for name, shape in operands:
            arrays[name] = rng.integers(INT8_MIN, INT8_MAX + 1, shape, dtype=np.int8)
        std = (128.0 ** 2 / 3.0) * np.sqrt(red)
        scale = target_std / std if kind == "uniform" else 512.0 / std
    elif kind == "extreme":
        for name, shape in operands:
            arrays[name] = rng.choice(np.array([INT8_MIN, INT8_MAX], np.int8), shape)
        scale = 1.0 / (128.0 * np.sqrt(red))
    elif kind == "sparse":
        for name, shape in operands:
            vals = rng.integers(INT8_MIN, INT8_MAX + 1, shape, dtype=np.int8)
            arrays[name] = np.where(rng.random(shape) < 0.1, vals, 0).astype(np.int8)
        std = (128.0 ** 2 / 3.0) * np.sqrt(red) * 0.1
        scale = target_std / std
    elif kind == "small":
        for name, shape in operands:
            arrays[name] = rng.integers(-4, 5, shape, dtype=np.int8)
        std = (20.0 / 3.0) * np.sqrt(red)
        scale = target_std / std
    elif kind == "ties":
        for name, shape in operands:
            arrays[name] = rng.integers(-3, 4, shape, dtype=np.int8)
        scale = 0.5   # odd sums land exactly on .5: tests round half to even
    else:
        raise ValueError(f"unknown input kind {kind!r}; known: {INPUT_KINDS}")
    return arrays, _f32(scale)


def _bias(workload, kind: str, rng: np.random.Generator, scale: float):
    """Conv bias worth up to about +-32 output units (+-64 for "extreme")."""
    if workload.kind != "conv":
        return {}
    shape = (1, workload.shape["out_ch"])
    if kind == "extreme":
        b = int(64 / scale)
        return {"bias": rng.choice(np.array([-b, b - 1], np.int32), shape)}
    b = max(1, int(32 / scale))
    return {"bias": rng.integers(-b, b + 1, shape, dtype=np.int32)}


def make_input_sets(workload, seeds: Sequence[int] = (0,), kinds: Sequence[str] | None = None,
                    acts: Sequence[bool] | None = None) -> list[InputSet]:
    """Input sets with their reference outputs, for every seed x kind x act.

    Kinds (`INPUT_KINDS`): ``uniform`` full-range int8 with a scale that spreads
    outputs over int8 (few saturated); ``saturating`` full range, large scale;
    ``extreme`` only -128 / 127; ``sparse`` 90% zeros; ``small`` values in
    [-4, 4] with a scale that spreads outputs; ``ties`` small values with scale
    0.5 (exact .5 ties). Each set records its share of saturated outputs.
    """
    kinds = tuple(kinds) if kinds is not None else INPUT_KINDS
    acts = tuple(acts) if acts is not None else tuple(workload.acts)
    operands = _operands(workload)
    red = _reduction_len(workload)
    sets = []
    for seed in seeds:
        for ki, kind in enumerate(kinds):
            rng = np.random.default_rng([seed, ki])
            arrays, scale = _kind_arrays(kind, rng, operands, red)
            arrays.update(_bias(workload, kind, rng, float(scale)))
            raw = raw_accumulation(workload, arrays)
            share = saturated_share(raw, float(scale))
            for act in acts:
                inputs = dict(arrays)
                inputs["scale"] = np.asarray(scale, dtype=np.float32)
                inputs["act"] = np.asarray(bool(act))
                expected = run_reference(workload, inputs)
                name = f"{kind}_s{seed}{'_relu' if act else ''}"
                sets.append(InputSet(name, inputs, expected, share))
    return sets


# ---------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------

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

    def raise_if_failed(self) -> None:
        if not self.ok:
            raise CheckError(self.message)


def _per_set(x) -> list:
    return [x] if isinstance(x, Mapping) else list(x)


def _difference(out: Mapping, ref: Mapping, set_name: str,
                atol: float) -> tuple[str, Mismatch | None] | None:
    """What differs between one set's outputs and its reference (None: they match).

    Arrays match exactly, or within ``atol`` (absolute) when ``atol`` > 0; NaN never
    matches."""
    for array, want in ref.items():
        want = np.asarray(want)
        if array not in out:
            return f"set {set_name!r}: output {array!r} is missing", None
        got = np.asarray(out[array])
        if got.size != want.size:
            return (f"set {set_name!r}: output {array!r} has {got.size} elements, "
                    f"expected {want.size}"), None
        got = got.reshape(want.shape)
        if atol > 0:
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            wrong = ~(diff <= atol)
        else:
            wrong = got != want
        if wrong.any():
            index = tuple(int(i) for i in np.argwhere(wrong)[0])
            mm = Mismatch(set_name, array, index, want[index].item(), got[index].item(),
                          int(wrong.sum()))
            return (f"set {set_name!r}: {array}[{', '.join(map(str, index))}] expected "
                    f"{mm.expected}, got {mm.got} ({mm.count} of {want.size} elements "
                    "differ)"), mm
    return None


def _check(pairs: Iterable[tuple[Mapping, Mapping, str]], expected_sets: int,
           saturation: tuple[tuple[str, float], ...], atol: float) -> CheckResult:
    """Check (outputs, reference, set name) triples in order, consuming ``pairs`` only up
    to the first wrong set."""
    k = 0
    for out, ref, set_name in pairs:
        found = _difference(out, ref, set_name, atol)
        if found is not None:
            message, mm = found
            return CheckResult(False, message, mm, saturation, k)
        k += 1
    if k != expected_sets:
        return CheckResult(False, f"got outputs for {k} input sets, expected {expected_sets}",
                           None, saturation, 0)
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
    return _check(zip(outs, refs, names), len(refs), saturation, atol)


def check_sets(outputs: Iterable[Mapping[str, np.ndarray]], sets: Sequence[InputSet], *,
               atol: float = 0.0) -> CheckResult:
    """`check` against the expected outputs recorded in ``sets``. ``outputs`` may be lazy
    (one dict per set, e.g. from `gemmini.model.iter_runs`): it is consumed set by set and
    not beyond the first wrong set."""
    if isinstance(outputs, Sequence) and len(outputs) != len(sets):
        return CheckResult(False, f"got outputs for {len(outputs)} input sets, "
                                  f"expected {len(sets)}", None, _saturation(sets), 0)
    return _check(((out, s.expected, s.name) for out, s in zip(outputs, sets)), len(sets),
                  _saturation(sets), atol)


def _saturation(sets: Sequence[InputSet]) -> tuple[tuple[str, float], ...]:
    return tuple((s.name, s.saturation) for s in sets if s.saturation is not None)
