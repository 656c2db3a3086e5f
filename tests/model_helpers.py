"""Small builders of hand-written IR programs for the model tests."""

from __future__ import annotations

import itertools

from gemmini import ir

GARBAGE = 0xFFFFFFFF
ACC = 0x80000000
ACCUMULATE = 0x40000000
RAW = 0x20000000

_lines = itertools.count(100)


def e(x):
    """Python value -> IR expression: int -> Const, float -> FloatConst, str -> Var."""
    if isinstance(x, (ir.Const, ir.FloatConst, ir.Var, ir.BinOp, ir.UnOp, ir.Cond, ir.DramAddr)):
        return x
    if x is None:
        return None
    if isinstance(x, bool):
        return ir.Const(int(x))
    if isinstance(x, int):
        return ir.Const(x)
    if isinstance(x, float):
        return ir.FloatConst(x)
    if isinstance(x, str):
        return ir.Var(x)
    raise TypeError(x)


def dram(array: str, index) -> ir.DramAddr:
    return ir.DramAddr(array, e(index))


def I(op: str, *args, line: int | None = None) -> ir.Instr:  # noqa: E743
    return ir.Instr(op, tuple(e(a) for a in args), line=line if line is not None else next(_lines))


def add(a, b):
    return ir.BinOp("+", e(a), e(b))


def mul(a, b):
    return ir.BinOp("*", e(a), e(b))


def loop(var: str, hi, *body, lo=0, step=1) -> ir.For:
    return ir.For(var, e(lo), e(hi), tuple(body), step=step, line=next(_lines))


def config_ld(stride, ld_id=0, scale=1.0, block_stride=None):
    return I("config_ld", stride, scale, 0, block_stride, ld_id)


def config_st(stride, act=0, scale=1.0):
    return I("config_st", stride, act, scale)


def config_ex():
    return I("config_ex", 1, 0, 0, 1, 0, 0)


def fn(params, *body, name="kernel") -> ir.Function:
    """Params: (name, dtype, shape, const) tuples."""
    ps = tuple(ir.Param(n, dt, tuple(shape), const=const) for n, dt, shape, const in params)
    return ir.Function(name, ps, tuple(body))
