"""lowering.simplify: canonical integer expressions, checked against direct evaluation."""

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from gemmini.ir import (
    Assign, BinOp, Cond, Const, Decl, DramAddr, FloatConst, For, Function, If, Instr, UnOp,
    Var,
)
from lowering.simplify import simplify, simplify_function

PHASES = (Phase.explicit, Phase.generate, Phase.shrink)  # no explain phase: slow, needs no db

i, j, k, ko = Var("i"), Var("j"), Var("k"), Var("ko")


def add(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = BinOp("+", out, x)
    return out


def mul(a, b):
    return BinOp("*", a, b)


def c(v):
    return Const(v)


# ---------------------------------------------------------------- reference evaluator
# Written independently of lowering.simplify: C semantics on Python ints for expressions
# without undefined behaviour. The constants here are ints and the variables int64_t (as
# gemmini.cint types them), so a subexpression of constants alone is an int; a signed
# overflow is undefined (simplify's rewrites assume it never happens).

INT_BITS, LONG_BITS = 32, 64


class Undefined(Exception):
    pass


def ev(e, env):
    return _ev(e, env)[0]


def _ev(e, env) -> tuple[int, bool]:
    """(value, whether the type is int rather than int64_t)."""
    if isinstance(e, Const):
        return e.value, True
    if isinstance(e, Var):
        return env[e.name], False
    if isinstance(e, UnOp):
        v, is_int = _ev(e.operand, env)
        if e.op == "!":
            return int(v == 0), True
        return _checked(-v if e.op == "-" else ~v, is_int)
    if isinstance(e, Cond):
        then, orelse = _ev(e.then, env), _ev(e.orelse, env)   # both: they fix the type
        return (then[0] if _ev(e.cond, env)[0] else orelse[0]), then[1] and orelse[1]
    (a, a_int), (b, b_int) = _ev(e.lhs, env), _ev(e.rhs, env)
    op = e.op
    is_int = a_int and b_int
    if op in ("/", "%"):
        if b == 0:
            raise Undefined
        q = abs(a) // abs(b)
        if (a < 0) != (b < 0):
            q = -q
        return _checked(q if op == "/" else a - b * q, is_int)
    if op in ("<<", ">>"):
        if not 0 <= b < (INT_BITS if a_int else LONG_BITS) or a < 0:
            raise Undefined
        return _checked(a << b if op == "<<" else a >> b, a_int)
    table = {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "|": lambda: a | b,
        "&": lambda: a & b, "^": lambda: a ^ b, "==": lambda: int(a == b),
        "!=": lambda: int(a != b), "<": lambda: int(a < b), "<=": lambda: int(a <= b),
        ">": lambda: int(a > b), ">=": lambda: int(a >= b),
        "&&": lambda: int(bool(a) and bool(b)), "||": lambda: int(bool(a) or bool(b)),
    }
    if op in ("==", "!=", "<", "<=", ">", ">=", "&&", "||"):
        return table[op](), True
    return _checked(table[op](), is_int)


def _checked(v: int, is_int: bool) -> tuple[int, bool]:
    bits = INT_BITS if is_int else LONG_BITS
    if not -(1 << (bits - 1)) <= v < 1 << (bits - 1):
        raise Undefined   # signed overflow
    return v, is_int


# ---------------------------------------------------------------- unit cases

def test_exact_division_of_affine_window_offset():
    e = BinOp("/", add(mul(ko, c(1024)), mul(k, c(256))), c(16))
    assert simplify(e) == simplify(add(mul(c(64), ko), mul(c(16), k)))
    assert simplify(e) == BinOp("+", mul(c(16), k), mul(c(64), ko))


def test_inexact_division_is_kept():
    e = BinOp("/", add(mul(k, c(8)), c(4)), c(16))
    s = simplify(e)
    assert isinstance(s, BinOp) and s.op == "/" and s.rhs == c(16)


def test_constants_fold_with_the_c_type_of_their_value():
    # 0 is an int and 0xFFFFFFFE an unsigned int (gemmini.cint.const_type), as in gcc
    assert simplify(UnOp("~", c(0))) == c(-1)
    assert simplify(UnOp("~", c(0xFFFFFFFE))) == c(1)
    assert simplify(BinOp("<<", c(0x7FFFFFFF), c(3))) == c(-8)
    assert simplify(BinOp("+", c(0xFFFFFFFF), c(1))) == c(0)
    assert simplify(BinOp("<", c(-1), c(0xFFFFFFFF))) == c(0)


def test_c_division_truncates_toward_zero():
    assert simplify(BinOp("/", c(-7), c(2))) == c(-3)
    assert simplify(BinOp("%", c(-7), c(2))) == c(-1)


def test_division_by_zero_is_not_folded():
    e = BinOp("/", c(1), c(0))
    assert simplify(e) == e


def test_shift_is_multiplication():
    assert simplify(BinOp("<<", i, c(4))) == mul(c(16), i)
    assert simplify(BinOp("<<", c(1), c(30))) == c(0x40000000)
    assert simplify(BinOp("<<", c(1), c(31))) == c(-(1 << 31))    # int: gcc wraps


def test_or_chain_merges_constants():
    acc = Var("acc")
    e = BinOp("|", BinOp("|", acc, c(1 << 30)), BinOp("<<", c(1), c(29)))
    assert simplify(e) == BinOp("|", acc, c(0x60000000))


def test_same_value_two_spellings():
    a = add(mul(c(16), i), mul(ko, c(64)), c(0))
    b = add(BinOp("*", ko, c(64)), BinOp("<<", i, c(4)))
    assert simplify(a) == simplify(b)


def test_terms_cancel():
    assert simplify(BinOp("-", add(i, j), add(j, i))) == c(0)


def test_polynomial_product():
    e = mul(add(i, c(1)), BinOp("-", i, c(1)))
    assert simplify(e) == BinOp("-", mul(i, i), c(1))


def test_cond_with_constant_condition():
    assert simplify(Cond(c(1), i, j)) == i
    assert simplify(Cond(BinOp("<", c(3), c(2)), i, j)) == j


def test_float_and_dram_pass_through():
    assert simplify(FloatConst(1.5)) == FloatConst(1.5)
    assert simplify(None) is None
    d = DramAddr("A", add(mul(i, c(64)), mul(c(2), c(8))))
    assert simplify(d) == DramAddr("A", BinOp("+", mul(c(64), i), c(16)))


def test_nested_division():
    e = BinOp("/", BinOp("/", add(i, c(1)), c(4)), c(4))
    assert simplify(e) == BinOp("/", BinOp("+", i, c(1)), c(16))


def test_simplify_function_walks_everything():
    body = (
        Decl("x", "uint32_t", add(c(1), c(2))),
        For("i", add(c(0), c(0)), mul(c(2), c(2)), (
            If(BinOp("<", i, add(c(1), c(1))), (Assign("x", "+=", mul(c(3), c(1))),),
               (Instr("mvin", (DramAddr("A", mul(i, c(1))), add(Var("x"), c(0)), c(16), c(16))),)),
        )),
    )
    fn = simplify_function(Function("f", (), body))
    decl, loop = fn.body
    assert decl.init == c(3) and loop.lo == c(0) and loop.hi == c(4)
    cond = loop.body[0]
    assert cond.cond == BinOp("<", i, c(2))
    assert cond.then[0].value == c(3)
    assert cond.orelse[0].args[:2] == (DramAddr("A", i), Var("x"))


def test_idempotent_on_examples():
    for e in [BinOp("/", add(mul(ko, c(1024)), mul(k, c(256))), c(16)), UnOp("~", i),
              BinOp("|", Var("acc"), c(1 << 30)), Cond(BinOp("==", i, c(0)), j, k)]:
        once = simplify(e)
        assert simplify(once) == once


# ---------------------------------------------------------------- property test

VARS = ["i", "j", "k", "ko"]
OPS = ["+", "-", "*", "/", "%", "<<", ">>", "|", "&", "^", "==", "<", ">=", "&&", "||"]

leaves = st.one_of(st.sampled_from([Var(n) for n in VARS]),
                   st.integers(-40, 300).map(Const))


def _extend(children):
    return st.one_of(
        st.builds(BinOp, st.sampled_from(OPS), children, children),
        st.builds(BinOp, st.just("<<"), children, st.integers(0, 5).map(Const)),
        st.builds(BinOp, st.sampled_from(["/", "%"]), children,
                  st.sampled_from([1, 2, 4, 16, -3]).map(Const)),
        st.builds(UnOp, st.sampled_from(["-", "!", "~"]), children),
        st.builds(Cond, children, children, children),
    )


exprs = st.recursive(leaves, _extend, max_leaves=12)
envs = st.fixed_dictionaries({n: st.integers(-50, 200) for n in VARS})


@settings(max_examples=250, deadline=None, database=None, phases=PHASES)
@given(exprs, envs)
def test_simplify_preserves_value(e, env):
    try:
        expected = ev(e, env)
    except Undefined:
        return
    s = simplify(e)
    assert ev(s, env) == expected


@settings(max_examples=120, deadline=None, database=None, phases=PHASES)
@given(exprs)
def test_simplify_is_idempotent(e):
    s = simplify(e)
    assert simplify(s) == s


@pytest.mark.parametrize("coefs", [(1024, 256, 16), (4096, 1024, 64), (80, 16, 0)])
def test_exact_division_property(coefs):
    a, b, k0 = coefs
    e = BinOp("/", add(mul(ko, c(a)), mul(k, c(b)), c(k0)), c(16))
    s = simplify(e)
    assert not (isinstance(s, BinOp) and s.op == "/")
    for kov in range(-3, 4):
        for kv in range(-3, 4):
            env = {"ko": kov, "k": kv}
            assert ev(s, env) == ev(e, env)
