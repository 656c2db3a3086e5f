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
    """A floating-point literal, e.g. a load or store scale."""
    value: float


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


Expr = Union[Const, FloatConst, Var, BinOp, UnOp, Cond]
Operand = Union[Expr, DramAddr, None]

# ----------------------------------------------------------------------------
# Statements
# ----------------------------------------------------------------------------

SCALAR_TYPES = ("int", "int32_t", "int_fast32_t", "uint32_t", "uint64_t", "size_t")


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
    """Declaration of a scalar local: ``ctype name = init;`` (init may be None)."""
    name: str
    ctype: str
    init: Expr | None
    line: int = field(default=0, compare=False)


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


Stmt = Union[For, If, Decl, Assign, Instr]

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
