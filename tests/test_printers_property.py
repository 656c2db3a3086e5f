"""Random canonical IR round-trips through both printers: parse(print(fn)) == fn."""

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gemmini import isa
from gemmini.ir import (
    Assign, BinOp, Cond, Const, Decl, DramAddr, FloatConst, For, Function, If, Instr, Param,
    UnOp, Var,
)
from lowering.parser import parse_c
from lowering.print_compact import to_compact
from lowering.print_toolchain import to_toolchain_c
from lowering.simplify import simplify_function

PHASES = (Phase.explicit, Phase.generate, Phase.shrink)
OPS = ["+", "-", "*", "/", "%", "<<", ">>", "|", "&", "^", "==", "!=", "<", "<=", ">", ">=",
       "&&", "||"]
PARAMS = (Param("scale", "f32", (), const=True, by_pointer=True), Param("act", "bool"),
          Param("A", "i8", (8, 16), const=True), Param("C", "i32", (4, 4, 8)))


def exprs(names):
    leaves = st.one_of(st.integers(-20, 2**32 - 1).map(Const),
                       *( [st.sampled_from([Var(n) for n in names])] if names else []))

    def extend(children):
        return st.one_of(
            st.builds(BinOp, st.sampled_from(OPS), children, children),
            st.builds(UnOp, st.sampled_from(["-", "~", "!"]), children),
            st.builds(Cond, children, children, children),
        )
    return st.recursive(leaves, extend, max_leaves=6)


@st.composite
def instr(draw, names):
    spec = draw(st.sampled_from([s for s in isa.SPECS.values() if s.op != "loop_ws"]))
    args = []
    for o in spec.operands:
        if o.optional and draw(st.booleans()):
            args.append(o.omitted_value())
        elif o.role == isa.DRAM:
            arr = draw(st.sampled_from(["A", "C", None]))
            args.append(Const(0) if arr is None else DramAddr(arr, draw(exprs(names))))
        elif o.role == isa.FLOAT:
            args.append(draw(st.one_of(st.just(Var("scale")),
                                       st.sampled_from([0.5, 1.0, 2.25, 1e-3]).map(FloatConst))))
        else:
            args.append(draw(exprs(names)))
    return Instr(spec.op, tuple(args))


@st.composite
def stmts(draw, names, depth, counter):
    out = []
    local = list(names)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["instr", "decl", "assign", "for", "if"]
                                    if depth < 2 else ["instr", "decl", "assign"]))
        if kind == "instr":
            out.append(draw(instr(local)))
        elif kind == "decl":
            counter[0] += 1
            name = f"v{counter[0]}"
            init = draw(st.one_of(st.none(), exprs(local)))
            out.append(Decl(name, draw(st.sampled_from(["uint32_t", "int", "int32_t"])), init))
            local.append(name)
        elif kind == "assign":
            targets = [n for n in local if n.startswith("v")]
            if targets:
                out.append(Assign(draw(st.sampled_from(targets)),
                                  draw(st.sampled_from(["=", "+=", "-=", "|=", "<<="])),
                                  draw(exprs(local))))
        elif kind == "for":
            counter[0] += 1
            var = f"i{counter[0]}"
            body = draw(stmts(local + [var], depth + 1, counter))
            out.append(For(var, draw(exprs(local)), draw(exprs(local)), tuple(body),
                           draw(st.integers(1, 4))))
        else:
            then = draw(stmts(local, depth + 1, counter))
            orelse = draw(stmts(local, depth + 1, counter))
            out.append(If(draw(exprs(local)), tuple(then), tuple(orelse)))
    return out


@st.composite
def functions(draw):
    body = draw(stmts(["act"], 0, [0]))
    context = draw(st.sampled_from([None, "gemm_Context"]))
    params = PARAMS if context is None else tuple(
        Param(p.name, p.dtype, p.shape, p.const, p.by_pointer, True) for p in PARAMS)
    if context is None and draw(st.booleans()):
        params = tuple(Param(p.name, p.dtype, p.shape, p.const, p.by_pointer, False)
                       if p.is_array else p for p in params)
    return simplify_function(Function("k", params, tuple(body), context))


def _round_trip(fn):
    assert parse_c(to_compact(fn)) == fn
    assert parse_c(to_toolchain_c(fn)) == fn


SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]


# Generating these programs (not parsing them) is what takes the time: keep CI small.
@settings(max_examples=25, deadline=None, database=None, phases=PHASES,
          suppress_health_check=SLOW_OK)
@given(functions())
def test_random_ir_round_trips(fn):
    _round_trip(fn)


@pytest.mark.slow
@settings(max_examples=500, deadline=None, database=None, phases=PHASES,
          suppress_health_check=SLOW_OK)
@given(functions())
def test_random_ir_round_trips_many(fn):
    _round_trip(fn)
