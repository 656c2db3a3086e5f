"""gemmini.cint against gcc: random integer expressions, scalar and vectorized forms.

Random expression trees over typed variables are written as C, compiled once with
gcc (``-fwrapv``: the model wraps signed overflow, see gemmini.cint) and run; each
printed result (C type name and value) must equal what `cint.compile_expr` gives,
evaluated one assignment at a time (Python ints) and for all assignments at once
(int64 numpy arrays). Expressions whose evaluation C leaves undefined (division by
zero, MIN / -1, shift counts outside the width) are not generated.
"""

from __future__ import annotations

import random
import shutil
import subprocess

import numpy as np
import pytest

from autocomp_exo.transforms.ir_util import eval_expr
from gemmini import cint
from gemmini.ir import SCALAR_TYPES, BinOp, Cond, Const, UnOp, Var
from lowering.simplify import simplify

VARS = {"a": "int", "u": "uint32_t", "l": "int64_t", "q": "uint64_t"}
TYPES = {name: cint.ctype(c) for name, c in VARS.items()}
BITS = {"int": (32, True), "uint32_t": (32, False), "int64_t": (64, True), "uint64_t": (64, False)}
BOUNDARY = [0, 1, 2, 3, 5, 7, 31, 32, 33, 63, 64, 255, 1000, 0x7FFFFFFF, 0x80000000,
            0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 1 << 63, (1 << 64) - 1,
            -1, -2, -1000, -(1 << 31), -(1 << 31) - 1, -(1 << 63)]
CONSTS = [0, 1, 2, 3, 4, 16, 31, 32, 63, 1000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
          0x100000000, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF]
BINARY = ["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^",
          "==", "!=", "<", "<=", ">", ">=", "&&", "||"]
N_EXPRS = 300
LANES = 4

SHOW = r"""
#include <stdio.h>
#include <stdint.h>
#define SHOW(x) do { __typeof__(x) v_ = (x); \
    const char *t_ = _Generic(v_, int: "int", unsigned int: "unsigned int", \
                              long: "long", unsigned long: "unsigned long", default: "?"); \
    if ((__typeof__(v_))-1 < 0) printf("%s %lld\n", t_, (long long)v_); \
    else printf("%s %llu\n", t_, (unsigned long long)v_); } while (0)
"""


def held(v: int, ctype: str) -> int:
    """``(ctype) v`` by hand: the low bits, read signed for signed types; uint64_t kept as
    its signed 64-bit pattern (how gemmini.cint holds it)."""
    bits, signed = BITS[ctype]
    if ctype == "uint64_t":
        bits, signed = 64, True
    v &= (1 << bits) - 1
    return v - (1 << bits) if signed and v >> (bits - 1) else v


def c_text(e) -> str:
    if isinstance(e, Const):
        return f"0x{e.value:X}"          # C types hex literals like the IR types a Const
    if isinstance(e, Var):
        return e.name
    if isinstance(e, UnOp):
        return f"({e.op}({c_text(e.operand)}))"
    if isinstance(e, BinOp):
        return f"({c_text(e.lhs)} {e.op} {c_text(e.rhs)})"
    return f"({c_text(e.cond)} ? {c_text(e.then)} : {c_text(e.orelse)})"


def random_expr(rng: random.Random, depth: int):
    if depth == 0 or rng.random() < 0.25:
        if rng.random() < 0.6:
            return Var(rng.choice(list(VARS)))
        return Const(rng.choice(CONSTS) if rng.random() < 0.7 else rng.randrange(0, 1 << 33))
    r = rng.random()
    if r < 0.15:
        return UnOp(rng.choice(["-", "~", "!"]), random_expr(rng, depth - 1))
    if r < 0.25:
        return Cond(random_expr(rng, depth - 1), random_expr(rng, depth - 1),
                    random_expr(rng, depth - 1))
    op = rng.choice(BINARY)
    rhs = Const(rng.randrange(0, 40)) if op in ("<<", ">>") and rng.random() < 0.7 \
        else random_expr(rng, depth - 1)
    return BinOp(op, random_expr(rng, depth - 1), rhs)


def random_lane(rng: random.Random) -> dict[str, int]:
    return {name: rng.choice(BOUNDARY) if rng.random() < 0.6 else
            rng.randrange(-(1 << 63), 1 << 64) for name in VARS}


def defined(ev, lanes) -> bool:
    try:
        for lane in lanes:
            ev(lane)
    except cint.UndefinedBehavior:
        return False
    return True


def cases():
    """(expression, lanes of variable values as C assigns them) pairs, all defined."""
    rng = random.Random(20240611)
    explicit = [(BinOp("<<", Const(0x7FFFFFFF), Const(3)), [{n: 0 for n in VARS}]),
                (BinOp("<<", Var("u"), Const(3)), [{"a": 0, "u": 0x7FFFFFFF, "l": 0, "q": 0}]),
                (BinOp("<<", Var("l"), Const(3)), [{"a": 0, "u": 0, "l": 0x7FFFFFFF, "q": 0}])]
    out = [(e, [{n: held(v, VARS[n]) for n, v in lane.items()} for lane in lanes])
           for e, lanes in explicit]
    while len(out) < N_EXPRS:
        e = random_expr(rng, rng.randint(1, 4))
        lanes = [{n: held(v, VARS[n]) for n, v in random_lane(rng).items()}
                 for _ in range(LANES)]
        if defined(cint.compile_expr(e, TYPES)[0], lanes):
            out.append((e, lanes))
    return out


@pytest.fixture(scope="module")
def gcc_results(tmp_path_factory):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: cannot compare gemmini.cint with C")
    tmp = tmp_path_factory.mktemp("cint")
    lines = [SHOW, "volatile int a; volatile uint32_t u; volatile int64_t l;",
             "volatile uint64_t q;", "int main(void) {"]
    for e, lanes in cases():
        for lane in lanes:
            lines += [f"  {n} = ({VARS[n]})0x{v & ((1 << 64) - 1):X}ULL;" for n, v in lane.items()]
            lines.append(f"  SHOW({c_text(e)});")
    lines += ["  return 0;", "}"]
    (tmp / "exprs.c").write_text("\n".join(lines))
    subprocess.run([gcc, "-std=gnu11", "-O0", "-fwrapv", "-w", "-o", str(tmp / "exprs"),
                    str(tmp / "exprs.c")], check=True)
    out = subprocess.run([str(tmp / "exprs")], check=True, capture_output=True, text=True)
    return [(name, int(v)) for name, v in (ln.rsplit(" ", 1) for ln in out.stdout.splitlines())]


def test_scalar_and_vectorized_forms_match_gcc(gcc_results):
    expected = iter(gcc_results)
    mismatches = []
    for e, lanes in cases():
        ev, t = cint.compile_expr(e, TYPES)
        vec = ev({n: np.array([lane[n] for lane in lanes], dtype=np.int64) for n in VARS})
        vec = np.broadcast_to(vec, (len(lanes),))
        for k, lane in enumerate(lanes):
            c_type, c_value = next(expected)
            got = (t.name, cint.value(ev(lane), t), cint.value(vec[k], t))
            if got != (c_type, c_value, c_value):
                mismatches.append(f"{c_text(e)} with {lane}: gcc {c_type} {c_value}, "
                                  f"cint (type, scalar, vectorized) {got}")
    assert not mismatches, f"{len(mismatches)} mismatches, e.g.\n" + "\n".join(mismatches[:5])


def test_int_max_shifted_left_is_the_same_everywhere(gcc_results):
    # gcc: int wraps to -8; uint32_t wraps to 32 bits; int64_t holds the product
    assert gcc_results[:3] == [("int", -8), ("unsigned int", 4294967288),
                               ("long", 17179869176)]
    e = BinOp("<<", Const(0x7FFFFFFF), Const(3))
    assert simplify(e) == Const(-8)
    assert eval_expr(e, {}) == -8
    assert cint.fold_binary("<<", 0x7FFFFFFF, 3) == -8
    assert eval_expr(BinOp("<<", Var("l"), Const(3)), {"l": 0x7FFFFFFF}) == 17179869176


def test_every_declarable_local_type_is_known():
    assert {cint.ctype(t).name for t in SCALAR_TYPES} == {"int", "unsigned int", "long",
                                                           "unsigned long"}


def test_literal_and_conversion_rules():
    assert cint.const_type(0x7FFFFFFF) == cint.INT
    assert cint.const_type(0xFFFFFFFF) == cint.UINT          # the garbage address
    assert cint.const_type(0x100000000) == cint.LONG
    assert cint.const_type(-(1 << 31)) == cint.LONG          # printed as -2147483648
    assert cint.literal_type(2147483648, decimal=True) == cint.LONG
    assert cint.literal_type(1, unsigned=True) == cint.UINT
    assert cint.common_type(cint.INT, cint.UINT) == cint.UINT
    assert cint.common_type(cint.UINT, cint.LONG) == cint.LONG
    assert cint.common_type(cint.LONG, cint.ULONG) == cint.ULONG
    assert cint.fold_binary("<", -1, 0xFFFFFFFF) == 0       # -1 converts to UINT_MAX
    assert cint.fold_unary("~", 0) == -1
    assert cint.fold_unary("-", 0xFFFFFFFF) == 1


def test_undefined_operations_are_refused_or_lenient():
    assert cint.fold_binary("/", 5, 0) is None
    assert cint.fold_binary("<<", 1, 32) is None
    f, _ = cint.binary("/", cint.INT, cint.INT, strict=True)
    with pytest.raises(cint.UndefinedBehavior, match="overflow"):
        f(-(1 << 31), -1)
    lenient, _ = cint.binary("<<", cint.INT, cint.INT, strict=False)
    assert lenient(1, 33) == 2                               # count masked to 5 bits
    ev, _ = cint.compile_expr(Cond(Var("x"), BinOp("/", Const(8), Var("x")), Const(0)), {})
    assert list(ev({"x": np.array([0, 2, -4])})) == [0, 4, -2]
    with pytest.raises(cint.UndefinedBehavior):
        cint.compile_expr(BinOp("/", Const(8), Var("x")), {})[0]({"x": np.array([0, 2])})
