"""C text of IR expressions, shared by both printers: one precedence table.

The printers differ only in the hooks they pass: how a `DramAddr` and a float
scalar are written. Parentheses appear where C precedence needs them, and around
operands of bitwise and shift operators for readability (as gcc's -Wparentheses
would like).
"""

from __future__ import annotations

from typing import Callable

from gemmini.ir import (
    GARBAGE_ADDR, BinOp, Call, Cast, Cond, Const, DramAddr, FloatConst, Load, Param, UnOp, Var,
)
from lowering.simplify import from_poly, to_poly

PRECEDENCE = {
    "?:": 3, "||": 4, "&&": 5, "|": 6, "^": 7, "&": 8, "==": 9, "!=": 9,
    "<": 10, "<=": 10, ">": 10, ">=": 10, "<<": 11, ">>": 11,
    "+": 12, "-": 12, "*": 13, "/": 13, "%": 13,
}
UNARY_PREC = 14
ATOM_PREC = 16
_READABILITY_PARENS = ("|", "^", "&", "<<", ">>")


def const_text(value: int) -> str:
    """An integer literal: flag-bit sized values in hex, the garbage address as Exo writes it."""
    if value == GARBAGE_ADDR:
        return "~((uint32_t)0)"
    if value >= 1 << 29:
        return f"0x{value:X}"
    return str(value)


def float_text(value: float, double: bool = False) -> str:
    """A float literal (``f`` suffix) or, with ``double``, a double literal."""
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise ValueError(f"no C literal for {text}")
    return text if double else text + "f"


def _prec(e) -> int:
    if isinstance(e, BinOp):
        return PRECEDENCE[e.op]
    if isinstance(e, Cond):
        return PRECEDENCE["?:"]
    if isinstance(e, (UnOp, Cast)):
        return UNARY_PREC
    if isinstance(e, Const) and (e.value < 0 or e.value == GARBAGE_ADDR):
        return UNARY_PREC
    if isinstance(e, FloatConst) and e.value < 0:
        return UNARY_PREC
    return ATOM_PREC


class ExprPrinter:
    """Prints expressions; ``var_text`` may rewrite a variable (e.g. ``scale[0]``),
    ``load_subscripts`` splits the flat index of an element read (``A[i][k]``)."""

    def __init__(self, var_text: Callable[[str], str] | None = None,
                 load_subscripts: Callable[[str, object], list] | None = None):
        self.var_text = var_text or (lambda name: name)
        self.load_subscripts = load_subscripts or (lambda array, index: [index])

    def element(self, array: str, index) -> str:
        """``A[i][k]`` of element ``index`` (flat) of ``array``."""
        subs = self.load_subscripts(array, index)
        return array + "".join(f"[{self.expr(x)}]" for x in subs)

    def expr(self, e, parent: int = 0) -> str:
        text = self._expr(e)
        return f"({text})" if _prec(e) < parent else text

    def _expr(self, e) -> str:
        if isinstance(e, Const):
            return const_text(e.value)
        if isinstance(e, FloatConst):
            return float_text(e.value, e.double)
        if isinstance(e, Load):
            return self.element(e.array, e.index)
        if isinstance(e, Cast):
            return f"({e.ctype}){self.expr(e.operand, UNARY_PREC)}"
        if isinstance(e, Call):
            return f"{e.func}({', '.join(self.expr(a) for a in e.args)})"
        if isinstance(e, Var):
            return self.var_text(e.name)
        if isinstance(e, UnOp):
            inner = self.expr(e.operand, UNARY_PREC)
            if e.op == "-" and inner.startswith("-"):
                inner = f"({inner})"
            return f"{e.op}{inner}"
        if isinstance(e, Cond):
            p = PRECEDENCE["?:"]
            return (f"{self.expr(e.cond, p + 1)} ? {self.expr(e.then, p + 1)} : "
                    f"{self.expr(e.orelse, p)}")
        if isinstance(e, BinOp):
            p = PRECEDENCE[e.op]
            lp, rp = p, p + 1  # left associative: an equal-precedence right operand needs ()
            if e.op in _READABILITY_PARENS:
                chain = isinstance(e.lhs, BinOp) and e.lhs.op == e.op
                lp = p if chain or not isinstance(e.lhs, (BinOp, Cond)) else ATOM_PREC
                rp = ATOM_PREC if isinstance(e.rhs, (BinOp, Cond)) else p + 1
            return f"{self.expr(e.lhs, lp)} {e.op} {self.expr(e.rhs, rp)}"
        raise TypeError(f"not an expression: {e!r}")


def flat_index_text(printer: ExprPrinter, a: DramAddr) -> str:
    """``A[index]`` for a flat pointer parameter."""
    return f"&{a.array}[{printer.expr(a.index)}]"


def split_index(index, shape: tuple[int, ...]) -> list:
    """Split a flat element index into one subscript per dimension of ``shape``.

    Each term of the canonical sum goes to the outermost dimension whose stride
    divides its coefficient; the constant is split in mixed radix. The subscripts
    recombine (row-major) to exactly ``index``.
    """

    strides = []
    n = 1
    for d in reversed(shape):
        strides.append(n)
        n *= d
    strides.reverse()
    parts: list[dict] = [{} for _ in shape]
    for mono, coef in to_poly(index).items():
        if not mono and coef < 0:  # a negative offset stays whole in the innermost subscript
            parts[-1][()] = parts[-1].get((), 0) + coef
            continue
        if not mono:
            rest = coef
            for k, s in enumerate(strides):
                q, rest = divmod(rest, s) if k < len(strides) - 1 else (rest, 0)
                if q:
                    parts[k][()] = parts[k].get((), 0) + q
            continue
        for k, s in enumerate(strides):
            if coef % s == 0:
                parts[k][mono] = parts[k].get(mono, 0) + coef // s
                break
    return [from_poly(p) for p in parts]


def array_index_text(printer: ExprPrinter, a: DramAddr, param: Param) -> str:
    """``&A[i][k]`` for an array parameter of ``param.shape``."""
    subs = split_index(a.index, param.shape)
    return f"&{a.array}" + "".join(f"[{printer.expr(s)}]" for s in subs)
