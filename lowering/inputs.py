"""Input values of one input set, from a signature: arrays by element type and role,
scalars by what they do.

* ``i8`` arrays that are read (or read and written) get the kind's values
  (`INPUT_KINDS`); ``i32`` arrays that are read (a bias, an accumulator loaded
  with ``ld_acc_i32``) get values worth up to about +-32 output units at the set's
  scale (+-64 for ``extreme``); ``f32`` arrays get standard normal values.
  Arrays only written get no input (they start at zero).
* every ``f32`` scalar gets the set's scale: one that spreads outputs over the int8
  range for an accumulation of ``reduction`` products (``uniform``), or 1.0
  (``unit``), ...; every ``bool`` scalar gets both values (`bool_settings`).

Values are drawn in signature order, i8 arrays first, then i32, then f32, so the
bundled workloads keep the input values they always had.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from gemmini import ir

INT8_MIN, INT8_MAX = -128, 127
# What a set's inputs look like; see `kind_inputs`.
INPUT_KINDS = ("uniform", "saturating", "extreme", "sparse", "small", "ties", "unit")
UNIFORM_PRODUCT_STD = 128.0 ** 2 / 3.0   # std of a product of two uniform int8 values
TARGET_STD = 48.0                        # outputs spread over int8, few saturated


def _f32(x: float) -> np.float32:
    """A float32 scale with a short mantissa (exactly representable, reproducible)."""
    if x <= 0:
        return np.float32(x)
    e = np.floor(np.log2(x))
    return np.float32(np.round(x / 2.0 ** e * 64) / 64 * 2.0 ** e)


def _int8_arrays(kind: str, rng: np.random.Generator, shapes, red: float):
    """Int8 arrays (name -> shape) and the scale for one kind of input set."""
    arrays = {}
    if kind in ("uniform", "saturating"):
        for name, shape in shapes:
            arrays[name] = rng.integers(INT8_MIN, INT8_MAX + 1, shape, dtype=np.int8)
        std = UNIFORM_PRODUCT_STD * np.sqrt(red)
        scale = TARGET_STD / std if kind == "uniform" else 512.0 / std
    elif kind == "extreme":
        for name, shape in shapes:
            arrays[name] = rng.choice(np.array([INT8_MIN, INT8_MAX], np.int8), shape)
        scale = 1.0 / (128.0 * np.sqrt(red))
    elif kind == "sparse":
        for name, shape in shapes:
            vals = rng.integers(INT8_MIN, INT8_MAX + 1, shape, dtype=np.int8)
            arrays[name] = np.where(rng.random(shape) < 0.1, vals, 0).astype(np.int8)
        scale = TARGET_STD / (UNIFORM_PRODUCT_STD * np.sqrt(red) * 0.1)
    elif kind == "small":
        for name, shape in shapes:
            arrays[name] = rng.integers(-4, 5, shape, dtype=np.int8)
        scale = TARGET_STD / ((20.0 / 3.0) * np.sqrt(red))
    elif kind == "ties":
        for name, shape in shapes:
            arrays[name] = rng.integers(-3, 4, shape, dtype=np.int8)
        scale = 0.5   # odd sums land exactly on .5: tests round half to even
    elif kind == "unit":
        # scale 1.0: the widest range [-b, b] whose products sum to at most 3/4 of
        # TARGET_STD (a sum of uniform products has std b(b+1)/3 * sqrt(red))
        bound = 1
        while (bound + 1) * (bound + 2) / 3.0 * np.sqrt(red) <= 0.75 * TARGET_STD:
            bound += 1
        for name, shape in shapes:
            arrays[name] = rng.integers(-bound, bound + 1, shape, dtype=np.int8)
        scale = 1.0
    else:
        raise ValueError(f"unknown input kind {kind!r}; known: {INPUT_KINDS}")
    return arrays, _f32(scale)


def _int32_array(kind: str, rng: np.random.Generator, shape, scale: float) -> np.ndarray:
    """Values worth up to about +-32 output units (+-64 for "extreme") at ``scale``."""
    if kind == "extreme":
        b = int(64 / scale)
        return rng.choice(np.array([-b, b - 1], np.int32), shape)
    b = max(1, int(32 / scale))
    return rng.integers(-b, b + 1, shape, dtype=np.int32)


def kind_inputs(kind: str, rng: np.random.Generator, params: Sequence[ir.Param],
                outputs_only: Sequence[str], reduction: float) -> dict[str, np.ndarray]:
    """Array and f32-scalar inputs of one set of ``kind`` (bools: see `bool_settings`).

    ``outputs_only`` names arrays that are only written (they get no input)."""
    arrays = [p for p in params if p.is_array and p.name not in outputs_only]
    inputs, scale = _int8_arrays(kind, rng, [(p.name, p.shape) for p in arrays
                                             if p.dtype == "i8"], reduction)
    for p in arrays:
        if p.dtype == "i32":
            inputs[p.name] = _int32_array(kind, rng, p.shape, float(scale))
    for p in arrays:
        if p.dtype == "f32":
            inputs[p.name] = rng.standard_normal(p.shape).astype(np.float32)
    for p in params:
        if not p.is_array and p.dtype == "f32":
            inputs[p.name] = np.asarray(scale, dtype=np.float32)
    return inputs


def bool_settings(params: Sequence[ir.Param],
                  acts: Sequence[bool] | None = None) -> list[dict[str, bool]]:
    """Every combination of the bool scalars' values (``act`` limited to ``acts``)."""
    names = [p.name for p in params if not p.is_array and p.dtype == "bool"]
    choices = [tuple(acts) if (name == "act" and acts is not None) else (False, True)
               for name in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*choices)]


def setting_suffix(setting: dict[str, bool]) -> str:
    """``_relu`` for ``act=True``, ``_NAME`` for any other bool set to True."""
    return "".join("_relu" if name == "act" else f"_{name}"
                   for name, value in setting.items() if value)


def reduction_from_std(std: float) -> float:
    """Accumulation length whose sum of uniform int8 products has standard deviation ``std``."""
    return max(1.0, (std / UNIFORM_PRODUCT_STD) ** 2)
