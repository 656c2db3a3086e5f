"""Loop unrolling, full and partial (menu items unroll, loop_overhead).

full     ``for (k = 0; k < 2; k++) S(k)``  ->  ``S(0) S(1)``
partial  ``for (k = 0; k < 8; k++) S(k)``  ->  ``for (k = 0; k < 8; k += 2) { S(k) S(k + 1) }``

Iteration order is unchanged, so unrolling is always legal; scalars declared in
the body are renamed per copy so the copies can share one scope. Unrolling only
removes CPU work (loop overhead, and address arithmetic that folds to constants);
its cost is code size, so the unrolled body may take at most `ICACHE_SHARE` of the
core's instruction cache (`unroll_budget`: the configuration's I-cache bytes over its
compiled bytes per issued instruction).
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GemminiConfig
from gemmini.ir import Const, Decl, For, Function, Var

from .base import Application, NotApplicable, Transform, app
from .ir_util import (Body, add, all_names, fresh, get, replace_fn, subst_body,
                      trip_count, walk)

ICACHE_SHARE = 0.5     # of the instruction cache, left for the unrolled code


def unroll_budget(config: GemminiConfig) -> int:
    """Instructions an unrolled body may have: its code fits in `ICACHE_SHARE` of the
    instruction cache at the configuration's code bytes per instruction."""
    t = config.timing
    return int(t.icache_bytes * ICACHE_SHARE) // t.code_bytes_per_instr


def _static_instrs(body: Body) -> int:
    n = 0
    for _, s, loops in walk(body):
        if hasattr(s, "op"):
            k = 1
            for lp in loops:
                k *= trip_count(lp) or 8
            n += k
    return n


def _copy(body: Body, var: str, value, names: set[str]) -> Body:
    """One copy of ``body`` with ``var`` := value and body-level Decls renamed (with the
    uses that see them: not those under a nested declaration of the same name)."""
    out = list(subst_body(body, {var: value}))
    for i, s in enumerate(out):
        if isinstance(s, Decl):
            new = fresh(names, s.name)
            names.add(new)
            out[i] = dataclasses.replace(s, name=new)
            out[i + 1:] = subst_body(tuple(out[i + 1:]), {s.name: Var(new)})
    return tuple(out)


def unroll(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Unroll the loop at the site fully (factor 0) or by ``factor``."""
    loop = get(fn.body, a.site)
    if not isinstance(loop, For):
        raise NotApplicable("site is not a loop")
    t = trip_count(loop)
    f = a.p.get("factor", 0)
    if t is None:
        raise NotApplicable(f"loop {loop.var} has no constant trip count")
    names = all_names(fn)
    if f == 0 or f >= t:
        if t * _static_instrs(loop.body) > unroll_budget(config):
            raise NotApplicable(f"the unrolled body would have more than "
                                f"{unroll_budget(config)} instructions (its code would not "
                                "fit in the instruction cache's share)")
        lo = loop.lo
        new: list = []
        for n in range(t):
            new.extend(_copy(loop.body, loop.var, add(lo, Const(n * loop.step)), names))
        return replace_fn(fn, a.site, tuple(new))
    if t % f:
        raise NotApplicable(f"trip count {t} not divisible by {f}")
    body: list = []
    for n in range(f):
        body.extend(_copy(loop.body, loop.var, add(Var(loop.var), Const(n * loop.step)), names))
    new_loop = dataclasses.replace(loop, body=tuple(body), step=loop.step * f)
    return replace_fn(fn, a.site, (new_loop,))


def find_unroll(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if not isinstance(s, For):
            continue
        t = trip_count(s)
        if t is None or t < 1:
            continue
        size = _static_instrs(s.body)
        if size == 0:
            continue
        if t * size <= unroll_budget(config):
            out.append(app("unroll", path, f"fully unroll loop {s.var} ({t} trips)", factor=0))
        for f in (2, 4, 8):
            if f < t and t % f == 0 and f * size <= unroll_budget(config):
                out.append(app("unroll", path, f"unroll loop {s.var} by {f}", factor=f))
    return out


TRANSFORMS = [
    Transform("unroll", ("unroll", "loop_overhead"),
              "unroll a loop (fully or by a factor)", find_unroll, unroll,
              ("cpu",)),
]


def unroll_nest(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Fully unroll every loop inside the loop at the site (innermost first), keeping
    the site loop itself: ``for ko { for k { for jj { B } } }`` -> ``for ko { B B ... }``."""
    loop = get(fn.body, a.site)
    if not isinstance(loop, For):
        raise NotApplicable("site is not a loop")
    limit = a.p.get("limit", unroll_budget(config))
    if _static_instrs(loop.body) > limit:
        raise NotApplicable("unrolled nest too large")
    changed = True
    new = fn
    while changed:
        changed = False
        inner = [p for p, s, _ in walk(get(new.body, a.site).body) if isinstance(s, For)]
        if not inner:
            break
        deepest = max(inner, key=len)
        p = a.site + deepest
        if trip_count(get(new.body, p)) is None:
            raise NotApplicable("an inner loop has no constant trip count")
        new = unroll(new, app("unroll", p, "", factor=0), config)
        changed = True
    if new == fn:
        raise NotApplicable("no inner loops")
    return new


def find_unroll_nest(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if isinstance(s, For) and any(isinstance(x, For) for _, x, _ in walk(s.body)):
            size = _static_instrs(s.body)
            if size <= unroll_budget(config) and all(
                    trip_count(x) is not None for _, x, _ in walk(s.body) if isinstance(x, For)):
                out.append(app("unroll_nest", path, f"fully unroll all loops inside loop {s.var} "
                               f"({size} instructions per iteration)"))
    return out


TRANSFORMS.append(Transform("unroll_nest", ("unroll", "loop_overhead"),
                            "fully unroll the loops nested in a loop",
                            find_unroll_nest, unroll_nest, ("cpu",)))
