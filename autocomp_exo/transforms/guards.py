"""Dead-guard elimination: ``if`` statements whose condition the loop bounds decide.

Residency guards a load with ``if (j == 0)``; after other rewrites the guard is often
decided by the ranges of the loop variables alone (``if (1)`` once a one-trip loop is
inlined, ``if (ocol_o + 1 == 0)`` in a prefetch of the next iteration, which never
holds). Each costs a branch per execution, and the dead ones keep instructions the CPU
steps over. `fold_guards` replaces a decided ``if`` by the branch that runs, from interval
arithmetic on the condition with loop variables (and constant locals) over their bounds.
"""

from __future__ import annotations

import dataclasses

from gemmini.ir import Assign, BinOp, Decl, For, Function, If, UnOp

from .ir_util import Body, walk
from .regions import interval, ranges_at

COMPARE = {"==", "!=", "<", "<=", ">", ">="}


def truth(cond, rng: dict) -> bool | None:
    """Whether ``cond`` holds for every value of the variables in ``rng`` (True), for none
    (False), or neither / unknown (None)."""
    if isinstance(cond, BinOp) and cond.op in COMPARE:
        a, b = interval(cond.lhs, rng), interval(cond.rhs, rng)
        if a is None or b is None:
            return None
        return _compare(cond.op, a, b)
    if isinstance(cond, BinOp) and cond.op in ("&&", "||"):
        x, y = truth(cond.lhs, rng), truth(cond.rhs, rng)
        if cond.op == "&&":
            return False if False in (x, y) else True if x is y is True else None
        return True if True in (x, y) else False if x is y is False else None
    if isinstance(cond, UnOp) and cond.op == "!":
        x = truth(cond.operand, rng)
        return None if x is None else not x
    v = interval(cond, rng)
    if v is None:
        return None
    if v == (0, 0):
        return False
    return True if v[0] > 0 or v[1] < 0 else None


def _compare(op: str, a: tuple, b: tuple) -> bool | None:
    if op in ("==", "!="):
        if a[1] < b[0] or b[1] < a[0]:
            eq = False
        elif a[0] == a[1] == b[0] == b[1]:
            eq = True
        else:
            return None
        return eq if op == "==" else not eq
    if op in (">", ">="):
        op, a, b = {">": "<", ">=": "<="}[op], b, a
    if op == "<":
        return True if a[1] < b[0] else False if a[0] >= b[1] else None
    return True if a[1] <= b[0] else False if a[0] > b[1] else None


def fold_guards(fn: Function) -> Function:
    """``fn`` with every ``if`` its loop bounds decide replaced by the branch that runs
    (kept as an ``if`` when that branch declares scalars, so their scope stays)."""
    assigned = {s.name for _, s, _ in walk(fn.body) if isinstance(s, Assign)}
    new = _fold(fn, fn.body, ranges_at(fn, ()), assigned)
    return fn if new == fn.body else dataclasses.replace(fn, body=new)


def _fold(fn: Function, body: Body, rng: dict, assigned: set) -> Body:
    out = []
    rng = dict(rng)
    for s in body:
        if isinstance(s, Decl):
            iv = interval(s.init, rng) if s.init is not None and s.name not in assigned \
                else None
            if iv is None:
                rng.pop(s.name, None)
            else:
                rng[s.name] = iv
            out.append(s)
        elif isinstance(s, For):
            inner = dict(rng)
            inner.pop(s.var, None)
            inner.update(ranges_at(fn, (s,), rng))
            out.append(dataclasses.replace(s, body=_fold(fn, s.body, inner, assigned)))
        elif isinstance(s, If):
            then = _fold(fn, s.then, rng, assigned)
            orelse = _fold(fn, s.orelse, rng, assigned)
            t = truth(s.cond, rng)
            taken = then if t is True else orelse if t is False else None
            if taken is not None and not any(isinstance(x, Decl) for x in taken):
                out.extend(taken)
            else:
                out.append(dataclasses.replace(s, then=then, orelse=orelse))
        else:
            out.append(s)
    return tuple(out)
