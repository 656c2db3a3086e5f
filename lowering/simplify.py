"""Canonical form of integer expressions.

`simplify` rewrites an expression into one canonical form, so that the same
value written two ways (Exo's ``((ko) * (1024) + (k) * (256))/16`` and a
person's ``16 * k + 64 * ko``) becomes the same IR:

* constants fold with C semantics (`gemmini.cint`: each constant has the type its
  value gives it, e.g. ``0xFFFFFFFF`` is ``uint32_t`` and ``0x7fffffff << 3`` wraps
  to ``-8``; ``/`` and ``%`` truncate toward zero; what C leaves undefined, such
  as a division by zero, does not fold);
* sums and products become a polynomial: a sum of ``coef * monomial`` terms in a
  fixed order, constant last (``x << 3`` counts as ``8 * x``);
* ``P / c`` divides exactly when ``c`` divides every coefficient and the
  constant (so truncation cannot matter); ``P % c`` is then 0;
* everything else (``|``, comparisons, ``?:``, an inexact division, ...) keeps
  its shape with simplified operands and becomes an opaque factor of the
  polynomial; ``|``, ``&`` and ``^`` chains are flattened with constants merged.

The polynomial rewrites themselves do not model overflow: they hold for values
that stay within their types (the programs this project handles stay far from
2**31 except in address flag bits, which only meet ``|`` and constants).
"""

from __future__ import annotations

from dataclasses import replace

from gemmini.cint import fold_binary, fold_unary
from gemmini.ir import (
    ArrayDecl, BinOp, Call, Cast, Cond, Const, Decl, DramAddr, Expr, FloatConst, For, Function,
    If, Instr, Assign, Load, Store, UnOp, Var, expr_children, walk_stmts,
)

MAX_TERMS = 64  # a product expanding to more terms than this stays unexpanded

# A polynomial: monomial (sorted tuple of opaque factors) -> coefficient; () is the constant.
Poly = dict


def simplify(expr, floats: frozenset = frozenset()):
    """The canonical form of ``expr`` (an `Expr`; `DramAddr`, floats and None pass through).

    CPU data (element loads, casts, calls, float literals and the float variables named
    in ``floats``) is not rewritten: C's order of operations and conversions decide its
    value; only its integer subexpressions (e.g. a load's index) are simplified."""
    if expr is None or isinstance(expr, FloatConst):
        return expr
    if isinstance(expr, DramAddr):
        return DramAddr(expr.array, simplify(expr.index))
    if _is_data(expr, floats):
        return _simplify_data(expr, floats)
    return _from_poly(_poly(expr))


def _is_data(e, floats) -> bool:
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, (Load, Cast, Call, FloatConst)) or (
                isinstance(x, Var) and x.name in floats):
            return True
        stack.extend(expr_children(x))
    return False


def _simplify_data(e, floats):
    if not _is_data(e, floats):
        return simplify(e)
    if isinstance(e, Load):
        return Load(e.array, simplify(e.index, floats))
    if isinstance(e, BinOp):
        return BinOp(e.op, _simplify_data(e.lhs, floats), _simplify_data(e.rhs, floats))
    if isinstance(e, UnOp):
        return UnOp(e.op, _simplify_data(e.operand, floats))
    if isinstance(e, Cond):
        return Cond(*(_simplify_data(x, floats) for x in (e.cond, e.then, e.orelse)))
    if isinstance(e, Cast):
        return Cast(e.ctype, _simplify_data(e.operand, floats))
    if isinstance(e, Call):
        return Call(e.func, tuple(_simplify_data(a, floats) for a in e.args))
    return e


def float_names(fn: Function) -> frozenset:
    """Float scalar parameters and locals of ``fn`` (their arithmetic is never rewritten)."""
    names = {p.name for p in fn.params if not p.is_array and p.dtype == "f32"}
    names |= {s.name for s in walk_stmts(fn.body)
              if isinstance(s, Decl) and s.ctype in ("float", "double")}
    return frozenset(names)


def simplify_function(fn: Function) -> Function:
    """``fn`` with every expression in canonical form."""
    return replace(fn, body=simplify_stmts(fn.body, float_names(fn)))


def simplify_stmts(stmts, floats: frozenset = frozenset()) -> tuple:
    return tuple(_simplify_stmt(s, floats) for s in stmts)


def _simplify_stmt(s, floats: frozenset = frozenset()):
    def f(e):
        return simplify(e, floats)
    if isinstance(s, For):
        return replace(s, lo=f(s.lo), hi=f(s.hi), body=simplify_stmts(s.body, floats))
    if isinstance(s, If):
        return replace(s, cond=f(s.cond), then=simplify_stmts(s.then, floats),
                       orelse=simplify_stmts(s.orelse, floats))
    if isinstance(s, Decl):
        return replace(s, init=f(s.init))
    if isinstance(s, Assign):
        return replace(s, value=f(s.value))
    if isinstance(s, Instr):
        return replace(s, args=tuple(f(a) for a in s.args))
    if isinstance(s, Store):
        return replace(s, index=f(s.index), value=f(s.value))
    if isinstance(s, ArrayDecl):
        return s
    raise TypeError(f"not a statement: {s!r}")


def to_poly(expr) -> Poly:
    """The polynomial view of an integer expression: {monomial: coefficient}, where a
    monomial is a sorted tuple of opaque factors (``()`` is the constant term)."""
    return _poly(expr)


def from_poly(poly: Poly):
    """The canonical expression of a polynomial from `to_poly`."""
    return _from_poly(poly)


# ----------------------------------------------------------------------------
# Expression -> polynomial
# ----------------------------------------------------------------------------

def _const(p: Poly) -> int | None:
    if not p:
        return 0
    if len(p) == 1 and () in p:
        return p[()]
    return None


def _add(p: Poly, q: Poly, sign: int = 1) -> Poly:
    out = dict(p)
    for m, c in q.items():
        v = out.get(m, 0) + sign * c
        if v:
            out[m] = v
        else:
            out.pop(m, None)
    return out


def _scale(p: Poly, k: int) -> Poly:
    return {m: c * k for m, c in p.items()} if k else {}


def _mul(p: Poly, q: Poly) -> Poly | None:
    if len(p) * len(q) > MAX_TERMS:
        return None
    out: Poly = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            m = tuple(sorted(m1 + m2, key=_key))
            v = out.get(m, 0) + c1 * c2
            if v:
                out[m] = v
            else:
                out.pop(m, None)
    return out


def _atom(e: Expr) -> Poly:
    return {(e,): 1}


def _poly(e) -> Poly:
    if isinstance(e, Const):
        return {(): e.value} if e.value else {}
    if isinstance(e, Var):
        return _atom(e)
    if isinstance(e, UnOp):
        p = _poly(e.operand)
        c = _const(p)
        if c is not None:
            return _poly(Const(fold_unary(e.op, c)))
        if e.op == "-":
            return _scale(p, -1)
        return _atom(UnOp(e.op, _from_poly(p)))
    if isinstance(e, Cond):
        cond = _poly(e.cond)
        c = _const(cond)
        if c is not None:
            return _poly(e.then if c else e.orelse)
        return _atom(Cond(_from_poly(cond), simplify(e.then), simplify(e.orelse)))
    if isinstance(e, BinOp):
        return _binop(e)
    raise TypeError(f"not an integer expression: {e!r}")


def _binop(e: BinOp) -> Poly:
    op = e.op
    p, q = _poly(e.lhs), _poly(e.rhs)
    a, b = _const(p), _const(q)
    if a is not None and b is not None:
        v = fold_binary(op, a, b)
        if v is not None:
            return _poly(Const(v))
    if op == "+":
        return _add(p, q)
    if op == "-":
        return _add(p, q, -1)
    if op == "*":
        r = _mul(p, q)
        if r is not None:
            return r
    if op == "<<" and b is not None and 0 <= b < 32:
        return _scale(p, 1 << b)
    if op in ("/", "%") and b is not None and b != 0:
        if all(c % b == 0 for c in p.values()):
            return {m: c // b for m, c in p.items()} if op == "/" else {}
        if b == 1:
            return p if op == "/" else {}
        inner = p
        if op == "/" and b > 0 and len(p) == 1:
            (m, c), = p.items()
            if len(m) == 1 and isinstance(m[0], BinOp) and m[0].op == "/" and c == 1:
                d = m[0].rhs
                if isinstance(d, Const) and d.value > 0:  # (x / d) / b == x / (d * b)
                    return _poly(BinOp("/", m[0].lhs, Const(d.value * b)))
        return _atom(BinOp(op, _from_poly(inner), Const(b)))
    if op in ("|", "&", "^"):
        return _bitwise(op, e)
    lhs, rhs = _from_poly(p), _from_poly(q)
    if op in ("==", "!=", "&&", "||") and _key(rhs) < _key(lhs) and not isinstance(rhs, Const):
        lhs, rhs = rhs, lhs
    return _atom(BinOp(op, lhs, rhs))


def _bitwise(op: str, e: BinOp) -> Poly:
    """Flatten an ``op`` chain, merge its constants, order the rest; constant last."""
    operands: list[Expr] = []
    stack: list = [(e, False)]
    while stack:
        x, done = stack.pop()
        if isinstance(x, BinOp) and x.op == op:
            stack.extend(((x.rhs, done), (x.lhs, done)))
        elif done:
            operands.append(x)
        else:
            stack.append((simplify(x), True))
    const = None
    rest = []
    for x in operands:
        if isinstance(x, Const):
            const = x.value if const is None else fold_binary(op, const, x.value)
        else:
            rest.append(x)
    if const is not None:
        if op in ("|", "^") and const == 0:
            const = None
        elif op == "&" and const == 0:
            return {}
    rest.sort(key=_key)
    if not rest:
        return _poly(Const(const or 0))
    if len(rest) == 1 and const is None:   # `0 | x` is x itself, with x's own form
        return _poly(rest[0])
    out = rest[0]
    for x in rest[1:]:
        out = BinOp(op, out, x)
    if const is not None:
        out = BinOp(op, out, Const(const))
    return _atom(out)


# ----------------------------------------------------------------------------
# Polynomial -> expression
# ----------------------------------------------------------------------------

def _key(e) -> tuple:
    """Total order on opaque factors: variables by name first, then other nodes."""
    if isinstance(e, Var):
        return (0, e.name)
    if isinstance(e, Const):
        return (2, str(e.value))
    return (1, repr(e))


def _mono_key(m: tuple) -> tuple:
    return (len(m), tuple(_key(x) for x in m))


def _product(m: tuple) -> Expr:
    out = m[0]
    for x in m[1:]:
        out = BinOp("*", out, x)
    return out


def _from_poly(p: Poly) -> Expr:
    const = p.get((), 0)
    terms = sorted((m for m in p if m), key=lambda m: (len(m), abs(p[m]) != 1, _mono_key(m)))
    out: Expr | None = None
    for m in terms:
        c = p[m]
        body = _product(m)
        if out is None:
            out = body if c == 1 else BinOp("*", Const(c), body)
        else:
            mag = abs(c)
            t = body if mag == 1 else BinOp("*", Const(mag), body)
            out = BinOp("+" if c > 0 else "-", out, t)
    if out is None:
        return Const(const)
    if const > 0:
        return BinOp("+", out, Const(const))
    if const < 0:
        return BinOp("-", out, Const(-const))
    return out
