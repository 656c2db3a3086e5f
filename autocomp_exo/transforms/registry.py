"""The catalogue: every transformation, and which menu items (by key) it serves.

Only `NotApplicable` (and its subclasses, e.g. `Dependent`) means "not applicable
here". Any other exception raised inside a transformation is a bug and propagates:
tests see it; the built-in proposer catches it at its boundary, logs it and counts it
as a crash of that transformation.
"""

from __future__ import annotations

from gemmini.config import GemminiConfig
from gemmini.ir import Function, Instr, walk_stmts

from . import (arith, buffering, configs, cpu_place, fences, fsm, hoist, loops, multirow,
               mvin_merge, reorder, residency, to_cpu, unroll, weights, zeroing)
from . import holdweights, row_vectors, rowreuse, spread
from .base import Application, NotApplicable, Transform
from .guards import fold_guards
from .ir_util import children, is_cpu_stmt

TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for mod in (loops, unroll, arith, hoist, reorder, residency, buffering, mvin_merge, weights,
                zeroing, fsm, fences, configs, multirow, to_cpu, cpu_place)
    for t in mod.TRANSFORMS
}
TRANSFORMS.update({t.name: t for mod in (rowreuse, holdweights, spread, row_vectors)
                   for t in mod.TRANSFORMS})


def by_menu_item(key: str) -> list[Transform]:
    """The transformations that serve the menu item ``key`` (e.g. ``"hoist"``)."""
    return [t for t in TRANSFORMS.values() if key in t.menu]


OPT_IN = ("loop_ws",)
"""Transformations left out unless asked for by name (the on-chip FSM)."""


def applications(fn: Function, config: GemminiConfig, names=None) -> list[Application]:
    """Every application of the named transformations (all but `OPT_IN` by default)."""
    out = []
    for name in names or [n for n in TRANSFORMS if n not in OPT_IN]:
        try:
            out.extend(a for a in TRANSFORMS[name].find(fn, config)
                       if not in_cpu_code(fn, a.site))
        except NotApplicable:
            continue
    return out


def in_cpu_code(fn: Function, site) -> bool:
    """Is ``site`` a statement of CPU code (or inside one)? Transformations leave CPU code
    (`gemmini.cpu_code`) as written: they reorder Gemmini instructions around it only
    where their dependence check allows (`deps.cpu_accesses`)."""
    body = fn.body
    for idx in site:
        if not 0 <= idx < len(body):
            return False
        s = body[idx]
        if is_cpu_stmt(s) and not any(isinstance(x, Instr) for x in walk_stmts([s])):
            return True
        body = children(s)
    return False


def _exists(fn: Function, site) -> bool:
    """Is there a statement at ``site`` (an application recorded on another program may
    name a path this one lacks)?"""
    body = fn.body
    for idx in site:
        if not isinstance(idx, int) or not 0 <= idx < len(body):
            return False
        body = children(body[idx])
    return True


def apply(fn: Function, application: Application, config: GemminiConfig) -> Function:
    """Apply one application (raises NotApplicable when it is illegal there; any other
    exception is a bug of the transformation and propagates)."""
    try:
        t = TRANSFORMS[application.transform]
    except KeyError:
        raise NotApplicable(f"unknown transformation {application.transform!r}") from None
    if not _exists(fn, application.site):
        raise NotApplicable(f"no statement at path {list(application.site)}")
    if in_cpu_code(fn, application.site):
        raise NotApplicable("CPU code is left as written")
    return normalize(t.apply(fn, application, config))


def normalize(fn: Function) -> Function:
    """Canonical expression form (`lowering.simplify.simplify_function`), with the ``if``
    statements the loop bounds decide folded away (`guards.fold_guards`)."""
    from lowering.simplify import simplify_function
    return fold_guards(simplify_function(fn))
