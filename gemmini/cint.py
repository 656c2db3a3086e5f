"""C integer semantics of the IR, as gcc implements them on an LP64 target (RV64, x86-64).

One definition serves the parser's constant folding (`lowering.simplify`), the
transformations' analyses (`autocomp_exo.transforms.ir_util`) and the model
(`gemmini.trace`), which evaluates many loop iterations at once. Every operator
is written with Python operators only, so the same function computes on Python
ints (scalar form) and on int64 numpy arrays (vectorized form).

**Types.** Four C types, by their canonical names: `INT` (``int``, ``int32_t``),
`UINT` (``uint32_t``, ``unsigned``), `LONG` (``long``, ``int64_t``,
``int_fast32_t``, which glibc makes 64-bit) and `ULONG` (``uint64_t``,
``size_t``). Where an expression's type comes from:

* a `Var` declared as a scalar local has its declared type; a scalar parameter is
  ``int``; every other `Var` (loop variables, whose type the IR does not keep,
  and any variable whose declaration the caller does not know) is `UNTYPED`,
  ``int64_t``: Exo declares loop variables ``int_fast32_t``, and 64 bits hold
  every address and index exactly;
* a `Const` has the type C gives the text the printers write for it
  (`const_type`): a non-negative value is typed like a hexadecimal literal (the
  first of int, unsigned int, long, unsigned long that holds it), so the garbage
  address ``0xFFFFFFFF`` (``~((uint32_t)0)``) is ``uint32_t``; a negative value
  ``-n`` is ``int`` when ``n <= INT_MAX``, else ``long``. The IR keeps no other
  type on a constant: the parser folds constant C subexpressions with their exact
  C types (suffixes, casts) first, so ``1u << 31`` is ``0x80000000``;
* an operator's operands go through the usual arithmetic conversions
  (`common_type`), shifts take the type of their left operand, comparisons and
  ``&&``, ``||``, ``!`` give ``int`` 0 or 1, ``?:`` converts both branches to
  their common type.

**Values.** A value of type T is held as a Python int or an int64 array: the
value itself for int, uint32_t and int64_t; for uint64_t its two's complement
bit pattern (values from 2**63 look negative), so everything fits in int64.
`convert` makes a held value from any integer; `value` turns a held scalar back
into the C value.

**Undefined behaviour.** Results wrap to the type's width, including signed
overflow (gcc's ``-fwrapv``) and ``<<`` of signed values (gcc shifts the bits).
``>>`` of a negative value shifts arithmetically (gcc's choice). Division and
remainder truncate toward zero. What C leaves undefined and the model refuses
to guess: division or remainder by zero, ``MIN / -1`` of a signed type, and
a shift count outside ``[0, width)``: a *strict* evaluation raises
`UndefinedBehavior`; a *lenient* one (used for the branches of ``?:`` and the
right side of ``&&`` / ``||`` when many lanes are evaluated at once, where the
lanes that would fail are not selected) divides by 1 instead and masks the
shift count to the width, as RV64's shift instructions do.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from gemmini import ir


class UndefinedBehavior(ArithmeticError):
    """An operation whose result C leaves undefined (divide by zero, bad shift count, ...)."""


@dataclass(frozen=True)
class CType:
    """An integer type of the IR: its C name, width in bits and signedness."""
    name: str
    bits: int
    signed: bool

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - (1 if self.signed else 0))) - 1

    def __str__(self) -> str:
        return self.name


INT = CType("int", 32, True)
UINT = CType("unsigned int", 32, False)
LONG = CType("long", 64, True)
ULONG = CType("unsigned long", 64, False)
UNTYPED = LONG
"""The type of a variable without a known declaration (see the module docstring)."""
INT8 = CType("int8_t", 8, True)
UINT8 = CType("uint8_t", 8, False)
INT16 = CType("int16_t", 16, True)
UINT16 = CType("uint16_t", 16, False)
"""Narrow types of CPU code (array elements, locals): held like the others, promoted to
``int`` by every operator (`promote`)."""

CTYPES = {
    "int": INT, "int32_t": INT, "signed": INT, "signed int": INT,
    "uint32_t": UINT, "unsigned": UINT, "unsigned int": UINT,
    "long": LONG, "long int": LONG, "long long": LONG, "int64_t": LONG, "int_fast32_t": LONG,
    "int_fast64_t": LONG, "intptr_t": LONG, "ptrdiff_t": LONG,
    "uint64_t": ULONG, "size_t": ULONG, "unsigned long": ULONG, "unsigned long long": ULONG,
    "uint_fast32_t": ULONG, "uint_fast64_t": ULONG, "uintptr_t": ULONG,
    "int8_t": INT8, "signed char": INT8, "char": INT8, "uint8_t": UINT8,
    "unsigned char": UINT8, "int16_t": INT16, "short": INT16, "uint16_t": UINT16,
    "unsigned short": UINT16,
}
"""C spellings (LP64 with glibc's <stdint.h>) of the four types."""

_M32 = (1 << 32) - 1
_H32 = 1 << 31
_M64 = (1 << 64) - 1
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


def ctype(name: str) -> CType:
    """The `CType` a C type name denotes; ValueError naming the known ones otherwise."""
    try:
        return CTYPES[name]
    except KeyError:
        raise ValueError(f"unknown integer type '{name}' (known: {', '.join(CTYPES)})") from None


def literal_type(value: int, *, decimal: bool = False, unsigned: bool = False,
                 long: bool = False) -> CType:
    """The type of a non-negative C integer literal (C11 6.4.4.1 on LP64)."""
    if value < 0:
        raise ValueError(f"a C literal is never negative: {value}")
    candidates = [INT, UINT, LONG, ULONG]
    if long:
        candidates = [LONG, ULONG]
    if unsigned:
        candidates = [t for t in candidates if not t.signed]
    elif decimal:
        # decimal literals never become unsigned (gcc falls back to unsigned long last)
        candidates = [t for t in candidates if t.signed] + [ULONG]
    for t in candidates:
        if value <= t.max:
            return t
    raise ValueError(f"integer constant {value} does not fit in 64 bits")


def const_type(value: int) -> CType:
    """The type of an IR `Const` (see the module docstring)."""
    if value >= 0:
        return literal_type(value)
    return INT if -value <= INT.max else LONG


def promote(t: CType) -> CType:
    """C's integer promotion: types narrower than int become int."""
    return INT if t.bits < 32 else t


def common_type(a: CType, b: CType) -> CType:
    """The usual arithmetic conversions of C on LP64 (integer promotion first)."""
    a, b = promote(a), promote(b)
    if a == b:
        return a
    if a.signed == b.signed:
        return a if a.bits > b.bits else b
    uns, sig = (a, b) if b.signed else (b, a)
    if uns.bits >= sig.bits:
        return uns
    return sig        # long holds every unsigned int


# ----------------------------------------------------------------------------
# Conversions (scalar and vectorized)
# ----------------------------------------------------------------------------

def convert(x, t: CType):
    """``(t) x`` for an integer or int64 array ``x`` (wrapping), as a held value of ``t``."""
    if t.bits == 64:
        if isinstance(x, int) and not _I64_MIN <= x <= _I64_MAX:
            return ((x - _I64_MIN) & _M64) + _I64_MIN
        return x
    if t.bits < 32:
        mask, half = (1 << t.bits) - 1, 1 << (t.bits - 1)
        return ((x + half) & mask) - half if t.signed else x & mask
    if t.signed:
        return ((x + _H32) & _M32) - _H32
    return x & _M32


def value(x, t: CType) -> int:
    """The C value of a held scalar ``x`` of type ``t`` (uint64_t patterns become >= 0)."""
    x = int(x)
    return x & _M64 if t.bits == 64 and not t.signed else x


def _converter(src: CType, dst: CType) -> Callable | None:
    """The function converting held values of ``src`` to ``dst``; None if it is the identity."""
    if dst.bits == 64 or src == dst:
        return None        # every held value of a 32-bit type, or a 64-bit pattern, stays
    return lambda x: convert(x, dst)


def _any(x) -> bool:
    return bool(x.any()) if isinstance(x, np.ndarray) else bool(x)


def _as_int(x):
    """A truth value (bool or bool array) as int 0/1."""
    return x.astype(np.int64) if isinstance(x, np.ndarray) else int(x)


def _u64(a, b, f):
    """``f`` on uint64_t held values ``a``, ``b`` read as unsigned; the result as a held value."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        ua = np.asarray(a, dtype=np.int64).astype(np.uint64)
        ub = np.asarray(b, dtype=np.int64).astype(np.uint64)
        return f(ua, ub).astype(np.int64)
    return convert(f(a & _M64, b & _M64), ULONG)


# ----------------------------------------------------------------------------
# Operators: one table, Python operators only (ints and int64 arrays alike)
# ----------------------------------------------------------------------------

_WRAPPING = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_BITWISE = {"&": operator.and_, "|": operator.or_, "^": operator.xor}
_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}
_LOGICAL = ("&&", "||")
_SHIFTS = ("<<", ">>")


def result_type(op: str, lhs: CType, rhs: CType) -> CType:
    """The type of ``lhs op rhs``."""
    if op in _COMPARE or op in _LOGICAL:
        return INT
    if op in _SHIFTS:
        return promote(lhs)
    return common_type(lhs, rhs)


def binary(op: str, lhs: CType, rhs: CType, strict: bool = True) -> tuple[Callable, CType]:
    """``(f, t)``: ``f(a, b)`` computes ``a op b`` on held values of types ``lhs`` and
    ``rhs`` (scalars or arrays), giving a held value of type ``t``. ``&&`` and ``||``
    here evaluate both sides (`compile_expr` adds the short-circuit)."""
    if op in _LOGICAL:
        f = operator.and_ if op == "&&" else operator.or_
        return (lambda a, b: _as_int(f(a != 0, b != 0))), INT
    if op in _SHIFTS:
        return _shift(op, promote(lhs), strict), promote(lhs)
    t = common_type(lhs, rhs)
    core = _arith(op, t, strict)
    ca, cb = _converter(lhs, t), _converter(rhs, t)
    if ca is None and cb is None:
        f = core
    elif cb is None:
        f = lambda a, b: core(ca(a), b)                   # noqa: E731
    elif ca is None:
        f = lambda a, b: core(a, cb(b))                   # noqa: E731
    else:
        f = lambda a, b: core(ca(a), cb(b))               # noqa: E731
    return f, result_type(op, lhs, rhs)


def _arith(op: str, t: CType, strict: bool) -> Callable:
    """``a op b`` for two held values of the same type ``t``."""
    if op in _WRAPPING:
        f = _WRAPPING[op]
        if t.bits == 64:     # arrays wrap by themselves; a Python int only when it overflows
            def wrap64(a, b):
                x = f(a, b)
                return convert(x, t) if type(x) is int and not _I64_MIN <= x <= _I64_MAX else x
            return wrap64
        return lambda a, b: convert(f(a, b), t)
    if op in _BITWISE:
        return _BITWISE[op]   # held values of one type: the bits are already right
    if op in _COMPARE:
        f = _COMPARE[op]
        if t == ULONG:        # unsigned order of the bit patterns
            return lambda a, b: _as_int(f(a ^ _I64_MIN, b ^ _I64_MIN))
        return lambda a, b: _as_int(f(a, b))
    if op in ("/", "%"):
        return _division(op == "%", t, strict)
    raise ValueError(f"unknown binary operator {op!r}")


def _division(remainder: bool, t: CType, strict: bool) -> Callable:
    def divide(a, b):
        zero = b == 0
        over = (a == t.min) & (b == -1) if t.signed else False
        if strict and (_any(zero) or _any(over)):
            raise UndefinedBehavior("division by zero" if _any(zero) else
                                    f"{t} overflow in division (MIN / -1)")
        b = b + zero + 2 * over             # lenient: divide by 1 instead
        if t == ULONG:
            q = _u64(a, b, operator.floordiv)
            return convert(a - q * b, t) if remainder else q
        q = a // b
        q = q + ((q * b != a) & ((a < 0) != (b < 0)))     # floor -> toward zero
        return a - q * b if remainder else convert(q, t)
    return divide


def _shift(op: str, t: CType, strict: bool) -> Callable:
    left = op == "<<"
    bits = t.bits

    def shift(a, n):
        if strict:
            if _any((n < 0) | (n >= bits)):
                raise UndefinedBehavior(f"shift count outside 0..{bits - 1} for {t}")
        else:
            n = n & (bits - 1)
        if left:
            return convert(a << n, t)
        if t == ULONG:
            return _u64(a, n, operator.rshift)
        return a >> n
    return shift


def unary(op: str, t: CType) -> tuple[Callable, CType]:
    """``(f, type)`` of ``op a`` for a held value of type ``t``."""
    t = promote(t)
    if op == "-":
        return (lambda a: convert(-a, t)), t
    if op == "~":
        return (lambda a: convert(~a, t)), t
    if op == "!":
        return (lambda a: _as_int(a == 0)), INT
    raise ValueError(f"unknown unary operator {op!r}")


# ----------------------------------------------------------------------------
# Expressions
# ----------------------------------------------------------------------------

Evaluator = Callable[[Mapping], object]


def compile_expr(e, types: Mapping[str, CType], strict: bool = True) -> tuple[Evaluator, CType]:
    """``(f, t)``: ``f(env)`` evaluates integer expression ``e`` with C semantics, ``t`` its
    type. ``types`` gives declared variable types (others are `UNTYPED`); ``env`` maps a
    name to a held value of its type, a Python int or an int64 array (all lanes at once).
    A missing variable raises KeyError; a non-integer node raises TypeError."""
    if isinstance(e, ir.Const):
        t = const_type(e.value)
        v = convert(e.value, t)
        return (lambda env: v), t
    if isinstance(e, ir.Var):
        name = e.name
        return (lambda env: env[name]), types.get(name, UNTYPED)
    if isinstance(e, ir.UnOp):
        x, tx = compile_expr(e.operand, types, strict)
        f, t = unary(e.op, tx)
        return (lambda env: f(x(env))), t
    if isinstance(e, ir.BinOp):
        return _compile_binop(e, types, strict)
    if isinstance(e, ir.Cond):
        return _compile_cond(e, types, strict)
    raise TypeError(f"not an integer expression: {type(e).__name__}")


def _compile_binop(e: ir.BinOp, types, strict: bool) -> tuple[Evaluator, CType]:
    lhs, lt = compile_expr(e.lhs, types, strict)
    rhs, rt = compile_expr(e.rhs, types, strict)
    if e.op not in _LOGICAL:
        f, t = binary(e.op, lt, rt, strict)
        if isinstance(e.rhs, ir.Const):
            k = rhs(None)
            return (lambda env: f(lhs(env), k)), t
        return (lambda env: f(lhs(env), rhs(env))), t
    # C evaluates the right side only when the left does not decide: scalars short-circuit;
    # lanes of an array evaluate it leniently and the left side masks the result.
    lenient = compile_expr(e.rhs, types, False)[0] if strict else rhs
    both, _ = binary(e.op, lt, rt)
    decides = 0 if e.op == "&&" else 1

    def logical(env):
        a = lhs(env)
        if isinstance(a, np.ndarray):
            return both(a, lenient(env))
        if (a != 0) == decides:
            return decides
        return _as_int(rhs(env) != 0)
    return logical, INT


def _compile_cond(e: ir.Cond, types, strict: bool) -> tuple[Evaluator, CType]:
    c, _ = compile_expr(e.cond, types, strict)
    (t, tt), (o, to) = (compile_expr(x, types, strict) for x in (e.then, e.orelse))
    tl, ol = (compile_expr(x, types, False)[0] for x in (e.then, e.orelse)) if strict else (t, o)
    rt = common_type(tt, to)
    ct, co = _converter(tt, rt) or (lambda x: x), _converter(to, rt) or (lambda x: x)

    def cond(env):
        cv = c(env)
        if isinstance(cv, np.ndarray):
            return np.where(cv != 0, ct(tl(env)), co(ol(env)))
        return ct(t(env)) if cv else co(o(env))
    return cond, rt


# ----------------------------------------------------------------------------
# Scalar folding of constants
# ----------------------------------------------------------------------------

def fold(op: str, *operands: tuple[int, CType]) -> tuple[int, CType] | None:
    """``op`` applied to one or two typed C values ``(value, type)``: the typed result, or
    None when C leaves it undefined."""
    held = [convert(v, t) for v, t in operands]
    if len(operands) == 1:
        f, t = unary(op, operands[0][1])
    else:
        f, t = binary(op, operands[0][1], operands[1][1])
    try:
        return value(f(*held), t), t
    except UndefinedBehavior:
        return None


def fold_binary(op: str, a: int, b: int) -> int | None:
    """``Const(a) op Const(b)`` as a C value, or None when C leaves it undefined."""
    got = fold(op, (a, const_type(a)), (b, const_type(b)))
    return None if got is None else got[0]


def fold_unary(op: str, a: int) -> int:
    """``op Const(a)`` as a C value."""
    return fold(op, (a, const_type(a)))[0]
