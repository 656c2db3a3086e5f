"""Rewrites on the C syntax before lowering: inlining a ``void`` helper called as a
statement (Exo's ``clamp(ctxt, &s, &o);``), and finding float locals that only ever hold
one literal (Exo's ``float one; one = 1.0f;`` passed to an instruction).

Exo emits a sub-proc of the kernel (its ``clamp``) as a ``static void`` function whose
scalar arguments are passed by pointer. `inline_void_call` returns the statements the
call stands for, still as C syntax (`lowering.c_tree`): the helper's body with its locals
renamed apart from the caller's, each pointer parameter (``*p`` or ``p[0]``) replaced by
the scalar whose address was passed, each by-value parameter bound to a fresh local
initialized with the argument, and an unused context pointer dropped. The caller lowers
the result like any other statements.
"""

from __future__ import annotations

import dataclasses
import itertools

from lowering import c_tree as C


class InlineRefused(Exception):
    """The call cannot be inlined; the message says why (the caller adds file and line)."""


def _walk(node):
    yield node
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from _walk(getattr(node, f.name))
    elif isinstance(node, tuple):
        for x in node:
            yield from _walk(x)


def _declared(body) -> set[str]:
    return {n.name for n in _walk(body) if isinstance(n, C.CDeclarator)}


def _called(body) -> set[int]:
    return {id(n.func) for n in _walk(body) if isinstance(n, C.CCall)}


def _rewrite(node, names: dict[str, str], pointees: dict[str, str]):
    """``node`` with names renamed and ``*p`` / ``p[0]`` of pointer parameters replaced."""
    if isinstance(node, C.CUn) and node.op == "*" and isinstance(node.operand, C.CName) \
            and node.operand.name in pointees:
        return C.CName(pointees[node.operand.name], node.line)
    if isinstance(node, C.CIndex) and isinstance(node.base, C.CName) \
            and node.base.name in pointees and isinstance(node.index, C.CInt) \
            and node.index.value == 0:
        return C.CName(pointees[node.base.name], node.line)
    if isinstance(node, C.CName):
        if node.name in pointees:
            raise InlineRefused(f"uses pointer parameter '{node.name}' other than as "
                                f"*{node.name}")
        return C.CName(names.get(node.name, node.name), node.line)
    if isinstance(node, C.CDeclarator):
        node = dataclasses.replace(node, name=names.get(node.name, node.name))
    if isinstance(node, tuple):
        return tuple(_rewrite(x, names, pointees) for x in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, C.CType):
        changes = {f.name: _rewrite(getattr(node, f.name), names, pointees)
                   for f in dataclasses.fields(node) if f.name != "line"}
        return dataclasses.replace(node, **changes)
    return node


def _address_of_scalar(arg) -> str | None:
    """``x`` for an argument ``&x`` (or ``&x[0]`` is not a scalar: None)."""
    if isinstance(arg, C.CUn) and arg.op == "&" and isinstance(arg.operand, C.CName):
        return arg.operand.name
    return None


def inline_void_call(f: C.CFunc, call: C.CCall, counter: itertools.count,
                     is_scalar, is_constant) -> tuple:
    """The statements of ``f``'s body for ``call`` (a `C.CCall` of ``f``).

    ``is_scalar(name)`` says whether a caller name is a scalar local or parameter (only
    their addresses may be passed for pointer parameters), ``is_constant(name)`` whether a
    name is a known constant (``WS``); ``counter`` numbers the renamed locals. Raises
    `InlineRefused`.
    """
    params = [p for p in f.params if p.name or p.ctype != C.CType("void")]
    if len(params) != len(call.args):
        raise InlineRefused(f"takes {len(params)} arguments, got {len(call.args)}")
    tag = next(counter)
    names: dict[str, str] = {n: f"{f.name}_{n}_{tag}" for n in _declared(f.body)}
    pointees: dict[str, str] = {}
    unused: set[str] = set()
    prologue: list = []
    for p, arg in zip(params, call.args):
        if p.dims:
            raise InlineRefused(f"parameter '{p.name}' is an array")
        if p.ctype.pointers == 1 and p.ctype.base == "void":
            unused.add(p.name)          # Exo's context pointer: no configuration is read
            continue
        if p.ctype.pointers == 1:
            target = _address_of_scalar(arg)
            if target is None or not is_scalar(target):
                raise InlineRefused(f"pointer parameter '{p.name}' needs the address of a "
                                    "scalar variable (&x)")
            pointees[p.name] = target
            continue
        if p.ctype.pointers:
            raise InlineRefused(f"parameter '{p.name}' is a pointer to a pointer")
        local = f"{f.name}_{p.name}_{tag}"
        names[p.name] = local
        prologue.append(C.CDecl(dataclasses.replace(p.ctype, const=False),
                                (C.CDeclarator(local, 0, (), arg, call.line),), call.line))
    own = set(names) | set(pointees) | unused
    calls = _called(f.body)
    for n in _walk(f.body):
        if isinstance(n, C.CName) and id(n) not in calls and n.name not in own \
                and not is_constant(n.name):
            raise InlineRefused(f"reads '{n.name}', which is not its own")
        if isinstance(n, C.CName) and n.name in unused:
            raise InlineRefused(f"reads its context pointer '{n.name}'")
        if isinstance(n, (C.CReturn, C.COther)):
            raise InlineRefused("has a return or jump statement")
    body = _rewrite(f.body.stmts, names, pointees)
    return tuple(prologue) + body


def _literal(e) -> float | None:
    if isinstance(e, (C.CFloat, C.CInt)):
        return float(e.value)
    if isinstance(e, C.CUn) and e.op == "-" and isinstance(e.operand, (C.CFloat, C.CInt)):
        return -float(e.operand.value)
    return None


def literal_floats(body: C.CBlock) -> dict[str, float]:
    """float / double locals of ``body`` declared once and written exactly once, with a
    literal (``float one; one = 1.0f;``), and whose address is never passed to a call:
    name -> value."""
    declared: dict[str, int] = {}
    floats: set[str] = set()
    writes: dict[str, list] = {}
    for n in _walk(body):
        if isinstance(n, C.CDecl):
            for d in n.declarators:
                declared[d.name] = declared.get(d.name, 0) + 1
                if n.ctype.base in ("float", "double") and not n.ctype.pointers \
                        and not d.pointers and not d.dims:
                    floats.add(d.name)
                if d.init is not None:
                    writes.setdefault(d.name, []).append(d.init)
        elif isinstance(n, C.CAssign) and isinstance(n.target, C.CName):
            writes.setdefault(n.target.name, []).append(n.value if n.op == "=" else None)
        elif isinstance(n, C.CIncDec) and isinstance(n.operand, C.CName):
            writes.setdefault(n.operand.name, []).append(None)
        elif isinstance(n, C.CCall):
            for a in n.args:
                if isinstance(a, C.CUn) and a.op == "&" and isinstance(a.operand, C.CName):
                    writes.setdefault(a.operand.name, []).append(None)
    out = {}
    for name in floats:
        values = writes.get(name, [])
        if declared[name] == 1 and len(values) == 1 and _literal(values[0]) is not None:
            out[name] = _literal(values[0])
    return out
