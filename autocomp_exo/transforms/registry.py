"""The catalogue: every transformation, and which menu items it serves."""

from __future__ import annotations

from gemmini.config import GemminiConfig
from gemmini.ir import Function

from . import (arith, buffering, fsm, hoist, loops, mvin_merge, reorder, residency, unroll, weights,
               zeroing)
from .base import Application, NotApplicable, Transform
from .guards import fold_guards

TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for mod in (loops, unroll, arith, hoist, reorder, residency, buffering, mvin_merge, weights,
                zeroing, fsm)
    for t in mod.TRANSFORMS
}


def by_menu_item(number: int) -> list[Transform]:
    return [t for t in TRANSFORMS.values() if number in t.menu]


OPT_IN = ("loop_ws",)
"""Transformations left out unless asked for by name (the on-chip FSM)."""


def applications(fn: Function, config: GemminiConfig, names=None) -> list[Application]:
    """Every application of the named transformations (all but `OPT_IN` by default)."""
    out = []
    for name in names or [n for n in TRANSFORMS if n not in OPT_IN]:
        try:
            out.extend(TRANSFORMS[name].find(fn, config))
        except NotApplicable:
            continue
    return out


def apply(fn: Function, application: Application, config: GemminiConfig) -> Function:
    """Apply one application (raises NotApplicable when it is illegal there)."""
    try:
        t = TRANSFORMS[application.transform]
    except KeyError:
        raise NotApplicable(f"unknown transformation {application.transform!r}") from None
    try:
        new = t.apply(fn, application, config)
    except (IndexError, KeyError, TypeError, AttributeError) as exc:
        raise NotApplicable(f"{application.transform} does not fit this site: {exc}") from None
    return normalize(new)


def normalize(fn: Function) -> Function:
    """Canonical expression form (`lowering.simplify.simplify_function`), with the ``if``
    statements the loop bounds decide folded away (`guards.fold_guards`)."""
    from lowering.simplify import simplify_function
    return fold_guards(simplify_function(fn))
