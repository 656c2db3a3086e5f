"""The one IR that every stage shares.

A program is a `Function`: parameters (DRAM arrays and scalars) and a body of
statements. Nodes are frozen dataclasses, so they are immutable, hashable and
compared structurally. Source line numbers ride along for error messages but
never take part in equality (``compare=False``), so ``parse(print(ir)) == ir``.

Conventions every stage relies on:

* Integer expressions are `Const`, `Var`, `BinOp`, `UnOp`, `Cond` with the C
  semantics of `gemmini.cint` (types, conversions, wrapping); floats are
  `FloatConst` (used for scales). `Var` names a loop variable, a scalar local or
  a scalar parameter (``scale[0]`` in Exo's C becomes ``Var("scale")``).
* A DRAM operand is `DramAddr(array, index)`: the flat *element* index into the
  named array parameter. ``&A[i][k]`` of a ``[M][K]`` array is index ``i*K + k``.
  The literal ``0`` (a `Const`) in a DRAM position means "no DRAM" (zero mvin).
* A local (scratchpad / accumulator) operand is an ordinary integer expression
  whose value is the 32-bit local address: row number plus the flag bits of
  hardware.md section 2 (bit 31 accumulator, bit 30 accumulate, bit 29 raw read);
  the garbage address is ``Const(0xFFFFFFFF)``.
* `Instr.op` is the short (compact-dialect) instruction name and `Instr.args`
  holds the operands in the canonical order given by `gemmini.isa.SPECS`;
  an operand the program left to the hardware default is ``None``.
* Exo's on-chip allocations are resolved to scalar locals holding the row
  address the allocator returns (see `lowering.alloc`).
* CPU code (scalar C on the arrays, docs/cpu_code.md): `Load` and `Store` of an
  element by flat index (of an array parameter or an `ArrayDecl` local array), `Cast`,
  `Call` of a `MATH_FUNCS` function, float `Decl`s and `FloatConst` literals (``double``
  without the ``f`` suffix). Which statements are CPU code is decided by
  `gemmini.cpu_code.partition`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

# ----------------------------------------------------------------------------
# Expressions
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Const:
    """An integer constant: its C value (never a bit pattern: ``0xFFFFFFFF`` stays
    positive); its C type follows from the value (`gemmini.cint.const_type`)."""
    value: int


@dataclass(frozen=True)
class FloatConst:
    """A floating-point literal, e.g. a load or store scale. ``double`` marks a literal
    written without the ``f`` suffix (C type double) in CPU code; scales and every
    ``f`` literal are float (CPU code rounds ``value`` to float32 where it reads one)."""
    value: float
    double: bool = False


@dataclass(frozen=True)
class Var:
    """A loop variable, scalar local or scalar parameter."""
    name: str


@dataclass(frozen=True)
class BinOp:
    """``lhs op rhs`` with C semantics on integers (``/`` truncates)."""
    op: str
    lhs: "Expr"
    rhs: "Expr"


@dataclass(frozen=True)
class UnOp:
    """``op operand`` for ``-``, ``~`` and ``!``."""
    op: str
    operand: "Expr"


@dataclass(frozen=True)
class Cond:
    """``cond ? then : orelse``."""
    cond: "Expr"
    then: "Expr"
    orelse: "Expr"


@dataclass(frozen=True)
class DramAddr:
    """Address of element ``index`` (flat, in elements) of array parameter ``array``."""
    array: str
    index: "Expr"


@dataclass(frozen=True)
class Load:
    """Element ``index`` (flat, in elements) of array ``array`` read by the CPU: an array
    parameter (DRAM) or a local array (`ArrayDecl`). An element of an int8 / int32 array
    is an ``int`` value (C's integer promotion), of a float array a ``float``."""
    array: str
    index: "Expr"


@dataclass(frozen=True)
class Cast:
    """``(ctype) operand`` in CPU code: a conversion to ``float``, ``double`` or an
    integer type of `gemmini.cint` (the parser drops casts in pure integer address
    arithmetic, whose values never need them)."""
    ctype: str
    operand: "Expr"


@dataclass(frozen=True)
class Call:
    """``func(args)`` of a C math function the model knows (`MATH_FUNCS`)."""
    func: str
    args: tuple["Expr", ...]


MATH_FUNCS = {"fminf": 2, "fmaxf": 2, "fabsf": 1, "sqrtf": 1, "fmin": 2, "fmax": 2,
              "fabs": 1, "sqrt": 1, "abs": 1}
"""Math functions CPU code may call (name -> argument count); ``<math.h>`` / ``<stdlib.h>``."""

Expr = Union[Const, FloatConst, Var, BinOp, UnOp, Cond, Load, Cast, Call]
Operand = Union[Expr, DramAddr, None]

# ----------------------------------------------------------------------------
# Statements
# ----------------------------------------------------------------------------

SCALAR_TYPES = ("int", "int32_t", "int_fast32_t", "uint32_t", "uint64_t", "size_t")
CPU_SCALAR_TYPES = ("float", "double", "int8_t", "uint8_t", "int16_t", "uint16_t", "int64_t")
"""Further types of scalar locals in CPU code (`Decl`)."""
ARRAY_TYPES = ("int8_t", "int32_t", "int", "float")
"""Element types of local arrays (`ArrayDecl`)."""


@dataclass(frozen=True)
class For:
    """``for (var = lo; var < hi; var += step) body``."""
    var: str
    lo: Expr
    hi: Expr
    body: tuple["Stmt", ...]
    step: int = 1
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class If:
    """``if (cond) then else orelse``; ``else if`` nests an `If` in ``orelse``."""
    cond: Expr
    then: tuple["Stmt", ...]
    orelse: tuple["Stmt", ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Decl:
    """Declaration of a scalar local: ``ctype name = init;`` (init may be None).
    ``alloc``: "sp" / "acc" when the constant ``init`` is the parser's replay of a
    ``gemm_malloc`` / ``gemm_acc_malloc`` call (the C had a runtime allocator call there)."""
    name: str
    ctype: str
    init: Expr | None
    line: int = field(default=0, compare=False)
    alloc: str = field(default="", compare=False)


@dataclass(frozen=True)
class Assign:
    """``name op value;`` with op one of ``=``, ``+=``, ``-=``, ``*=``, ... ."""
    name: str
    op: str
    value: Expr
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Instr:
    """A Gemmini instruction (including ``fence``) with canonical operands."""
    op: str
    args: tuple[Operand, ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Store:
    """``array[index] op value;`` by the CPU (op ``=``, ``+=``, ...): an element of an array
    parameter or a local array, flat index as in `Load`. The value is converted to the
    element type (int8 wraps, as gcc does)."""
    array: str
    index: Expr
    op: str
    value: Expr
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ArrayDecl:
    """A local array ``[static] ctype name[d0][d1]... [= {init}];`` (``init``: the flat list
    of constant initial values, zero-filled to the size as C does; None: no initializer).
    A ``static`` array is initialized once per run and keeps its values; a plain one
    is (re)created each time the declaration executes, uninitialized without ``init``."""
    name: str
    ctype: str
    shape: tuple[int, ...]
    init: tuple[Expr, ...] | None = None
    static: bool = False
    line: int = field(default=0, compare=False)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


Stmt = Union[For, If, Decl, Assign, Instr, Store, ArrayDecl]

# ----------------------------------------------------------------------------
# Functions
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A function parameter.

    ``shape == ()`` marks a scalar. Exo passes ``f32`` scalars by pointer
    (``const float* scale``), recorded as ``by_pointer``; ``const`` marks inputs.
    ``flat`` records that the C signature uses a flat pointer rather than an
    ``[M][N]`` array (it changes only how the parameter is printed).
    """
    name: str
    dtype: str
    shape: tuple[int, ...] = ()
    const: bool = False
    by_pointer: bool = False
    flat: bool = True

    @property
    def is_array(self) -> bool:
        return bool(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class Function:
    """A whole kernel: name, parameters, body.

    ``context`` is the type name of Exo's context struct (``gemm_Context``) when
    the signature starts with ``<context> *ctxt``; it is kept so the toolchain
    printer can reproduce Exo's signature exactly.
    """
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    context: str | None = None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


GARBAGE_ADDR = 0xFFFFFFFF


def expr_children(e) -> tuple:
    """The direct subexpressions of expression (or `DramAddr`) ``e``."""
    if isinstance(e, BinOp):
        return e.lhs, e.rhs
    if isinstance(e, (UnOp, Cast)):
        return (e.operand,)
    if isinstance(e, Cond):
        return e.cond, e.then, e.orelse
    if isinstance(e, (Load, DramAddr)):
        return (e.index,)
    if isinstance(e, Call):
        return e.args
    return ()


def stmt_exprs(s) -> tuple:
    """The expressions a statement reads directly (not those of nested statements)."""
    if isinstance(s, For):
        return s.lo, s.hi
    if isinstance(s, If):
        return (s.cond,)
    if isinstance(s, Decl):
        return () if s.init is None else (s.init,)
    if isinstance(s, Assign):
        return (s.value,)
    if isinstance(s, Instr):
        return tuple(a for a in s.args if a is not None)
    if isinstance(s, Store):
        return s.index, s.value
    if isinstance(s, ArrayDecl):
        return s.init or ()
    return ()


def stmt_children(s) -> tuple:
    """The statements nested directly in ``s``."""
    if isinstance(s, For):
        return s.body
    if isinstance(s, If):
        return s.then + s.orelse
    return ()


def walk_stmts(stmts):
    """Every statement of ``stmts``, nested ones included (pre-order)."""
    for s in stmts:
        yield s
        yield from walk_stmts(stmt_children(s))


def walk_exprs(stmts):
    """Every expression node read in ``stmts`` (subexpressions included)."""
    stack = [e for s in walk_stmts(stmts) for e in stmt_exprs(s)]
    while stack:
        e = stack.pop()
        yield e
        stack.extend(expr_children(e))
