"""Arithmetic simplification and constant propagation (menu item simplify_arithmetic).

const_prop  ``uint32_t b = 64; ... preload(b + 16 * k, ...)``  ->  ``preload(64 + 16 * k, ...)``
            (every scalar declared once with a constant and never assigned is inlined;
            a loop that runs exactly once is replaced by its body)
simplify    folds every expression to canonical form (lowering.simplify when present)
strength    ``for ko { ... a + 64*ko + 16*k ... }``  ->
            ``for ko { uint32_t a_ko = a + 64*ko; ... a_ko + 16*k ... }``
            (the part of an address that is invariant in the inner loops is computed
            once per iteration of the loop that owns it, cutting CPU arithmetic)
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GemminiConfig
from gemmini.ir import Assign, BinOp, Const, Decl, Expr, For, Function, Instr, Var

from .base import Application, NotApplicable, Transform, app
from .regions import interval, ranges_at
from .ir_util import (add, all_names, const_decls, expr_vars, fold, fresh, get,
                      map_stmts, replace_fn, stmt_writes, subst_body, subst_expr, sum_of,
                      summands, trip_count, walk)


def const_prop(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Inline constant scalars and drop their declarations; inline one-trip loops."""
    consts = const_decls(fn)
    body = _inline_single_trips(fn)
    if not consts and body == fn.body:
        raise NotApplicable("no constant scalars and no loop that runs once")
    m = {k: Const(v) for k, v in consts.items()}
    body = map_stmts(body, lambda s: () if isinstance(s, Decl) and s.name in consts else None)
    body = subst_body(body, m)
    out = dataclasses.replace(fn, body=body)
    try:
        return simplify_all(out, a, config)      # fold flag bits into the constants too
    except NotApplicable:
        return out


def _inline_single_trips(fn: Function):
    """The body with every loop of trip count 1 replaced by its body (variable = lo),
    unless the body declares a name declared elsewhere too (scopes would clash)."""
    counts: dict[str, int] = {}
    for _, s, _ in walk(fn.body):
        if isinstance(s, Decl):
            counts[s.name] = counts.get(s.name, 0) + 1

    def inline(s):
        if not isinstance(s, For) or trip_count(s) != 1:
            return None
        if any(isinstance(x, Decl) and counts.get(x.name, 0) > 1 for x in s.body):
            return None
        return subst_body(s.body, {s.var: s.lo})
    return map_stmts(fn.body, inline)


def simplify_all(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Fold every expression; write flag bits OR-ed onto an address as an addition when
    the address can never carry into them (``(x + 16) | 0x40000000`` -> ``x + 0x40000010``
    when x + 16 stays below bit 30), which folds into the constant part."""
    out_fn = fn
    for path, s, loops in walk(fn.body):
        if not isinstance(s, Instr):
            continue
        rng = ranges_at(fn, loops)
        args = tuple(fold(_flags_to_add(x, rng, interval)) for x in s.args)
        if args != s.args:
            out_fn = replace_fn(out_fn, path, (dataclasses.replace(s, args=args),))
    if out_fn == fn:
        raise NotApplicable("nothing to simplify")
    return out_fn


def _flags_to_add(e, rng, interval):
    if isinstance(e, BinOp) and e.op == "|" and isinstance(e.rhs, Const) and e.rhs.value > 0:
        iv = interval(e.lhs, rng)
        f = e.rhs.value
        low = f & -f
        if iv is not None and iv[0] >= 0 and not (iv[0] & f) and not (iv[1] & f) and \
                (iv[0] ^ iv[1]) < low:
            return add(e.lhs, Const(f))
    return e


def find_const_prop(fn, config):
    names = sorted(const_decls(fn))
    once = _inline_single_trips(fn) != fn.body
    if not names and not once:
        return []
    what = (["the constant scalars " + ", ".join(names)] if names else []) + \
        (["the loops that run once"] if once else [])
    return [app("const_prop", (), "inline " + " and ".join(what))]


def find_simplify(fn, config):
    a = app("simplify", (), "fold constants and flag bits in every address expression")
    return [a] if _applies(simplify_all, fn, a, config) else []


def _applies(f, fn, a, config) -> bool:
    """Cheap rewrites (no dependence analysis) are tried during the analysis itself."""
    try:
        f(fn, a, config)
    except NotApplicable:
        return False
    return True


# ---------------------------------------------------------------------------- strength reduction

def _split_invariant(e: Expr, inner: set[str]):
    """A sum as (invariant non-constant terms, constant, the rest, flag bits)."""
    flags = None
    if isinstance(e, BinOp) and e.op == "|" and isinstance(e.rhs, Const):
        flags, e = e.rhs, e.lhs
    inv, var, k = [], [], 0
    for t in summands(e):
        if isinstance(t, Const):
            k += t.value
        elif expr_vars(t) & inner:
            var.append(t)
        else:
            inv.append(t)
    return inv, k, var, flags


def _inlinable_locals(fn: Function, body) -> dict[str, Expr]:
    """Locals declared once inside ``body`` with an initializer and never assigned."""
    count: dict[str, int] = {}
    assigned = set()
    for _, s, _ in walk(fn.body):
        if isinstance(s, Decl):
            count[s.name] = count.get(s.name, 0) + 1
        elif isinstance(s, Assign):
            assigned.add(s.name)
    return {s.name: s.init for _, s, _ in walk(body)
            if isinstance(s, Decl) and s.init is not None and count[s.name] == 1
            and s.name not in assigned and s.ctype != "float"
            and not expr_vars(s.init) & assigned}


def strength(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Precompute loop-invariant address bases at the top of the loop body.

    The locals declared inside the loop are first inlined into the addresses, so the
    bases of nested loops combine (``a_ko = a_i + 64*ko``); the operands sharing an
    invariant part share one base, which absorbs their smallest constant."""
    loop = get(fn.body, a.site)
    if not isinstance(loop, For):
        raise NotApplicable("site is not a loop")
    local = _inlinable_locals(fn, loop.body)
    # inline transitively (a local may be defined from another)
    for _ in range(4):
        local = {k: subst_expr(v, local) for k, v in local.items()}
    inner = {s.var for _, s, _ in walk(loop.body) if isinstance(s, For)} | \
        {n for _, s, _ in walk(loop.body) for n in stmt_writes(s) if n not in local}
    names = all_names(fn)

    def operands(s):
        return [fold(subst_expr(x, local)) if isinstance(x, BinOp | Var) else x
                for x in s.args]

    consts: dict[Expr, int] = {}
    for _, s, _ in walk(loop.body):
        if isinstance(s, Instr):
            for x in operands(s):
                if isinstance(x, BinOp | Var):
                    inv, k, var, _f = _split_invariant(x, inner)
                    key = sum_of(inv)
                    if key is not None:
                        consts[key] = min(consts.get(key, k), k)
    bases: dict[Expr, str] = {}
    for key, k in consts.items():
        if isinstance(key, BinOp) or k != 0:
            bases[key] = fresh(names, "addr")
            names.add(bases[key])
    if not bases:
        raise NotApplicable("no invariant address part with arithmetic")

    def visit(s):
        if isinstance(s, Decl) and s.name in local:
            return ()
        if not isinstance(s, Instr):
            return None
        args = []
        for x0, x in zip(s.args, operands(s)):
            if not isinstance(x, BinOp | Var):
                args.append(x0)
                continue
            inv, k, var, flags = _split_invariant(x, inner)
            key = sum_of(inv)
            if key not in bases:
                args.append(x)
                continue
            new = sum_of([Var(bases[key])] + var + ([Const(k - consts[key])]
                                                   if k != consts[key] else []))
            args.append(BinOp("|", new, flags) if flags is not None else new)
        return (dataclasses.replace(s, args=tuple(args)),)

    body = subst_body(map_stmts(loop.body, visit), local)   # DRAM addresses, conditions
    decls = tuple(Decl(n, "uint32_t", fold(add(key, Const(consts[key]))))
                  for key, n in bases.items())
    out = replace_fn(fn, a.site, (dataclasses.replace(loop, body=decls + body),))
    if out == fn:
        raise NotApplicable("nothing to precompute")
    return out


def find_strength(fn, config):
    out = []
    for path, s, _ in walk(fn.body):
        if isinstance(s, For) and sum(1 for _, x, _ in walk(s.body) if isinstance(x, Instr)) > 1:
            a = app("strength", path, f"precompute loop-invariant address bases once per "
                    f"iteration of loop {s.var}")
            if _applies(strength, fn, a, config):
                out.append(a)
    return out


TRANSFORMS = [
    Transform("const_prop", ("simplify_arithmetic",), "propagate constant scalars into their uses",
              find_const_prop, const_prop, ("cpu",)),
    Transform("simplify", ("simplify_arithmetic",),
              "simplify address arithmetic", find_simplify, simplify_all,
              ("cpu",)),
    Transform("strength", ("simplify_arithmetic", "hoist", "loop_overhead"),
              "precompute loop-invariant address bases",
              find_strength, strength, ("cpu",)),
]
