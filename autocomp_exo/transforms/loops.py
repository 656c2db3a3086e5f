"""Loop structure: split (tile), interchange, fusion, fission (menu items tiling,
reorder_loops, split_loops, fuse_loops).

split   ``for (j = 0; j < 8; j++) S(j)``
     -> ``for (jo = 0; jo < 2; jo++) for (ji = 0; ji < 4; ji++) S(4*jo + ji)``
interchange ``for i { for j { S } }`` -> ``for j { for i { S } }``
fuse    ``for k { S1 } for k { S2 }`` -> ``for k { S1 S2 }``
fission ``for k { S1 S2 }`` -> ``for k { S1 } for k { S2 }``

Interchange, fusion and fission reorder loop iterations; each checks, on a
bounded enumeration, that the instances whose order changes are independent.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GemminiConfig
from gemmini.ir import Const, Decl, For, Function, Instr, Var

from .base import (Application, NotApplicable, Transform, app, require_independent, sample_values,
                   site_envs, summary_of)
from .deps import contains_opaque, scalar_carried
from .ir_util import (add, all_names, children, const_value, expr_vars, free_reads, fresh, get,
                      mul, replace_block, replace_fn, scalar_writes, stmt_writes, subst_body, trip_count, walk)

MIN_TRIP_TO_SPLIT = 4


def _loop(fn: Function, path) -> For:
    s = get(fn.body, path)
    if not isinstance(s, For):
        raise NotApplicable("site is not a loop")
    return s


# ---------------------------------------------------------------------------- split

def split(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Split a loop of constant trip count T into T/f outer by f inner iterations."""
    loop = _loop(fn, a.site)
    f = a.p["factor"]
    t = trip_count(loop)
    if t is None or loop.step != 1 or f <= 1 or t % f or f >= t:
        raise NotApplicable(f"loop {loop.var}: trip {t} not divisible into factor {f}")
    names = all_names(fn)
    vo = fresh(names, loop.var + "o")
    vi = fresh(names | {vo}, loop.var + "i")
    expr = add(add(loop.lo, mul(Var(vo), _c(f))), Var(vi))
    body = subst_body(loop.body, {loop.var: expr})
    inner = For(vi, _c(0), _c(f), body, line=loop.line)
    outer = For(vo, _c(0), _c(t // f), (inner,), line=loop.line)
    return replace_fn(fn, a.site, (outer,))


def _c(v):
    return Const(v)


def find_split(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if isinstance(s, For) and s.step == 1:
            t = trip_count(s)
            if t is None or t < MIN_TRIP_TO_SPLIT:
                continue
            for f in (2, 4, 8, 16):
                if f < t and t % f == 0:
                    out.append(app("split", path, f"split loop {s.var} ({t} trips) into "
                                   f"{t // f} x {f}", factor=f))
    return out


# ---------------------------------------------------------------------------- interchange

def interchange(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Swap a loop with the single loop its body consists of."""
    outer = _loop(fn, a.site)
    if len(outer.body) != 1 or not isinstance(outer.body[0], For):
        raise NotApplicable("not a perfect loop nest")
    inner = outer.body[0]
    if outer.var in _bound_vars(inner):
        raise NotApplicable("inner bounds depend on the outer variable")
    if scalar_carried(inner.body) or contains_opaque(inner.body):
        raise NotApplicable("loop-carried scalar or opaque instruction")
    for env in site_envs(fn, a.site + (0,)):
        us = sample_values(outer, env)
        inst = {}
        for u in us:
            e = dict(env, **{outer.var: u})
            for v in sample_values(inner, e):
                inst[(u, v)] = summary_of(fn, config, inner.body, dict(e, **{inner.var: v}))
        keys = list(inst)
        for x in keys:
            for y in keys:
                if x[0] < y[0] and x[1] > y[1]:
                    require_independent(inst[x], inst[y],
                                        f"iterations {x} and {y} of ({outer.var}, {inner.var})")
    new_outer = dataclasses.replace(inner, body=(dataclasses.replace(outer, body=inner.body),))
    return replace_fn(fn, a.site, (new_outer,))


def _bound_vars(loop: For) -> set[str]:
    return expr_vars(loop.lo) | expr_vars(loop.hi)


def find_interchange(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if isinstance(s, For) and len(s.body) == 1 and isinstance(s.body[0], For):
            inner = s.body[0]
            if s.var not in _bound_vars(inner) and trip_count(inner) not in (None, 1) \
                    and trip_count(s) not in (None, 1):
                out.append(app("interchange", path, f"interchange loops {s.var} and {inner.var}"))
    return out


# ---------------------------------------------------------------------------- fusion

def fuse(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Fuse a loop with the next statement, a loop with the same bounds."""
    first = _loop(fn, a.site)
    parent = fn.body if len(a.site) == 1 else _kids(fn, a.site[:-1])
    idx = a.site[-1]
    if idx + 1 >= len(parent) or not isinstance(parent[idx + 1], For):
        raise NotApplicable("no loop follows")
    second = parent[idx + 1]
    if (const_value(first.lo), const_value(first.hi), first.step) != \
            (const_value(second.lo), const_value(second.hi), second.step) or \
            const_value(first.lo) is None:
        raise NotApplicable("loop bounds differ")
    body2 = subst_body(second.body, {second.var: Var(first.var)})
    decl1 = {n for s in first.body for n in stmt_writes(s)}
    decl2 = {n for s in body2 for n in stmt_writes(s)}
    if decl1 & decl2 or scalar_carried(first.body) or scalar_carried(body2):
        raise NotApplicable("the loop bodies declare the same scalars")
    for env in site_envs(fn, a.site + (0,)):
        vals = sample_values(first, env)
        s1 = {v: summary_of(fn, config, first.body, dict(env, **{first.var: v})) for v in vals}
        s2 = {v: summary_of(fn, config, body2, dict(env, **{first.var: v})) for v in vals}
        for x in vals:
            for y in vals:
                if x < y:
                    require_independent(s2[x], s1[y], f"second loop at {x} vs first at {y}")
    fused = dataclasses.replace(first, body=first.body + body2)
    new_parent = parent[:idx] + (fused,) + parent[idx + 2:]
    return replace_block(fn, a.site[:-1], new_parent)


def _kids(fn, path):
    return children(get(fn.body, path))


def find_fuse(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if not isinstance(s, For):
            continue
        parent = fn.body if len(path) == 1 else _kids(fn, path[:-1])
        i = path[-1]
        if i + 1 < len(parent) and isinstance(parent[i + 1], For):
            nxt = parent[i + 1]
            if (const_value(s.lo), const_value(s.hi), s.step) == \
                    (const_value(nxt.lo), const_value(nxt.hi), nxt.step) and \
                    const_value(s.lo) is not None:
                out.append(app("fuse", path, f"fuse loop {s.var} with the following loop "
                               f"{nxt.var}"))
    return out


# ---------------------------------------------------------------------------- fission

def fission(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Split a loop body at index ``at`` into two loops over the same range."""
    loop = _loop(fn, a.site)
    at = a.p["at"]
    if not 0 < at < len(loop.body):
        raise NotApplicable("bad split point")
    part1, part2 = loop.body[:at], loop.body[at:]
    needed = free_reads(part2)
    copies = []
    for s in part1:
        if isinstance(s, Decl) and s.name in needed:
            copies.append(s)          # recomputed in the second loop
        elif scalar_writes(s) & needed:
            raise NotApplicable("the second part reads a scalar the first part computes")
    part2 = tuple(copies) + part2
    if scalar_carried(loop.body) or contains_opaque(loop.body):
        raise NotApplicable("loop-carried scalar or opaque instruction")
    for env in site_envs(fn, a.site + (0,)):
        vals = sample_values(loop, env)
        s1 = {v: summary_of(fn, config, part1, dict(env, **{loop.var: v})) for v in vals}
        s2 = {v: summary_of(fn, config, part2, dict(env, **{loop.var: v})) for v in vals}
        for x in vals:
            for y in vals:
                if x < y:
                    require_independent(s2[x], s1[y], f"second part at {x} vs first at {y}")
    l1 = dataclasses.replace(loop, body=part1)
    l2 = dataclasses.replace(loop, body=part2)
    return replace_fn(fn, a.site, (l1, l2))


def _kind(s) -> str:
    """Coarse role of a statement: where a fission point makes sense (between roles)."""
    ops = {i.op for _, i, _ in walk((s,)) if isinstance(i, Instr)}
    if not ops:
        return "scalar"
    if ops <= {"mvin", "mvin2", "mvin3"}:
        return "load"
    if ops <= {"mvout"}:
        return "store"
    if ops <= {"preload", "compute_preloaded", "compute_accumulated"}:
        return "compute"
    return "mixed"


def find_fission(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if isinstance(s, For) and len(s.body) > 1 and trip_count(s) not in (None, 1):
            for at in range(1, len(s.body)):
                if isinstance(s.body[at - 1], Decl) or \
                        _kind(s.body[at - 1]) == _kind(s.body[at]):
                    continue
                out.append(app("fission", path, f"split the body of loop {s.var} before "
                               f"statement {at} into two loops", at=at))
    return out


TRANSFORMS = [
    Transform("split", ("tiling", "split_loops"),
              "split (tile) a loop into an outer and an inner loop",
              find_split, split, ("tiling",)),
    Transform("interchange", ("reorder_loops",), "interchange two perfectly nested loops",
              find_interchange, interchange, ("order",)),
    Transform("fuse", ("fuse_loops",), "fuse two adjacent loops with the same bounds",
              find_fuse, fuse, ("cpu",)),
    Transform("fission", ("split_loops",), "split a loop body into two loops",
              find_fission, fission, ("order",)),
]
