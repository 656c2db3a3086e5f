"""The C syntax tree of one kernel function, and the Lark transformer that builds it.

These nodes are pure syntax (what was written); `lowering.c_to_ir` gives them
meaning. Every grammar rule of ``grammars/c_subset.lark`` that reaches the
transformer has exactly one handler here (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from lark import Token, Transformer

from gemmini.errors import ParseError

# ----------------------------------------------------------------------------
# Nodes
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CType:
    """A written type: base words (``unsigned int``, ``struct exo_win_2i8c``, a typedef
    name), pointer depth, whether ``const`` qualified the base and whether the
    declaration was ``static``."""
    base: str
    pointers: int = 0
    const: bool = False
    static: bool = False


@dataclass(frozen=True)
class CName:
    name: str
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CInt:
    """An integer literal; its C type follows from the value, the base and the suffix."""
    value: int
    unsigned: bool = False
    decimal: bool = False
    long: bool = False
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CFloat:
    value: float
    double: bool = True     # no ``f`` suffix
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CBin:
    op: str
    lhs: "CExpr"
    rhs: "CExpr"
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CUn:
    op: str  # & * + - ! ~
    operand: "CExpr"
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CCast:
    ctype: CType
    operand: "CExpr"
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CIndex:
    base: "CExpr"
    index: "CExpr"
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CCall:
    func: "CExpr"
    args: tuple["CExpr", ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CMember:
    base: "CExpr"
    name: str
    arrow: bool = False
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CIncDec:
    op: str  # ++ or --
    operand: "CExpr"
    prefix: bool
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CAssign:
    target: "CExpr"
    op: str
    value: "CExpr"
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CTernary:
    cond: "CExpr"
    then: "CExpr"
    orelse: "CExpr"
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CInitList:
    items: tuple["CInit", ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CCompound:
    """A compound literal ``(T){ a, { b, c } }``."""
    ctype: CType
    items: tuple["CInit", ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CSizeof:
    """``sizeof(T)`` (ctype set) or ``sizeof expr`` (operand set)."""
    ctype: CType | None
    operand: "CExpr | None" = None
    line: int = field(default=0, compare=False)


CExpr = Union[CName, CInt, CFloat, CBin, CUn, CCast, CIndex, CCall, CMember, CIncDec,
              CAssign, CTernary, CCompound, CSizeof]
CInit = Union[CExpr, CInitList]


@dataclass(frozen=True)
class CParam:
    ctype: CType
    name: str
    dims: tuple[CExpr, ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CDeclarator:
    name: str
    pointers: int
    dims: tuple[CExpr, ...]
    init: CInit | None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CDecl:
    ctype: CType
    declarators: tuple[CDeclarator, ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CBlock:
    stmts: tuple["CStmt", ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CFor:
    init: "CDecl | CAssign"
    cond: CExpr
    step: CExpr
    body: "CStmt"
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CIf:
    cond: CExpr
    then: "CStmt"
    orelse: "CStmt | None"
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CExprStmt:
    expr: CExpr
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CEmpty:
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class COther:
    """A statement outside the subset (while, do, goto, label, return, break, continue)."""
    what: str
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CReturn:
    """``return expr;`` (only a helper function's body may be one, to be inlined)."""
    value: "CExpr | None"
    line: int = field(default=0, compare=False)


CStmt = Union[CBlock, CFor, CIf, CDecl, CExprStmt, CEmpty, COther, CReturn]


@dataclass(frozen=True)
class CFunc:
    ret: CType
    name: str
    params: tuple[CParam, ...]
    body: CBlock
    line: int = field(default=0, compare=False)


# ----------------------------------------------------------------------------
# Transformer: one handler per grammar rule (or alias)
# ----------------------------------------------------------------------------

def _line(children) -> int:
    """The line of the first token or node among ``children`` that knows its line."""
    for c in children:
        line = getattr(c, "line", None)
        if line:
            return line
        if isinstance(c, tuple):
            line = _line(c)
            if line:
                return line
    return 0


def _int_value(text: str) -> dict:
    """Value and typing facts of a C integer literal: hex ``0x..``, octal ``0..``, decimal.
    Octal and hex literals follow the same typing rule (they may become unsigned)."""
    body = text.rstrip("uUlL")
    suffix = text[len(body):].lower()
    if body[:2].lower() == "0x":
        value, decimal = int(body, 16), False
    elif len(body) > 1 and body[0] == "0":
        value, decimal = int(body, 8), False
    else:
        value, decimal = int(body, 10), True
    return dict(value=value, unsigned="u" in suffix, decimal=decimal, long="l" in suffix)


class ToCTree(Transformer):
    """Lark parse tree -> `CFunc`."""

    # --- top level
    def start(self, ch):
        return ch[0]

    def function_def(self, ch):
        ret, name, params, body = ch
        return CFunc(ret, str(name), params, body, _line(ch))

    def params_empty(self, ch):
        return ()

    def params(self, ch):
        return tuple(ch)

    def param(self, ch):
        spec, ptrs, name, dims = ch
        return CParam(CType(spec.base, ptrs, spec.const), str(name), dims, name.line)

    def param_plain(self, ch):
        spec, ptrs, name = ch
        return CParam(CType(spec.base, ptrs, spec.const), str(name), (), name.line)

    def param_abstract(self, ch):
        spec, ptrs = ch
        return CParam(CType(spec.base, ptrs, spec.const), "", (), _line(ch))

    def pointer(self, ch):
        return len(ch)

    def array_dims(self, ch):
        return tuple(ch)

    # --- types
    def decl_spec(self, ch):
        quals, spec = ch
        return CType(spec.base, 0, "const" in quals, "static" in quals)

    def param_spec(self, ch):
        return ch[0]

    def param_spec_typedef(self, ch):
        quals, name = ch
        return CType(str(name), 0, "const" in quals)

    def specifiers(self, ch):
        return tuple(ch)

    def type_base(self, ch):
        return CType(" ".join(ch))

    def type_struct(self, ch):
        return CType("struct " + str(ch[-1]))

    def base_type(self, ch):
        return str(ch[0])

    def qualifier(self, ch):
        return str(ch[0])

    def storage(self, ch):
        return str(ch[0])

    def type_name(self, ch):
        quals, spec, ptrs = ch
        return CType(spec.base, ptrs, "const" in quals)

    # --- statements
    def block(self, ch):
        return CBlock(tuple(ch), _line(ch))

    def empty_stmt(self, ch):
        return CEmpty(_line(ch))

    def for_stmt(self, ch):
        _kw, init, cond, step, body = ch
        return CFor(init, cond, step, body, _line(ch))

    def for_init_decl(self, ch):
        spec, ptrs, name, value = ch
        return CDecl(spec, (CDeclarator(str(name), ptrs, (), value, name.line),), name.line)

    def for_init_assign(self, ch):
        name, value = ch
        return CAssign(CName(str(name), name.line), "=", value, name.line)

    def if_then(self, ch):
        _kw, cond, then = ch
        return CIf(cond, then, None, _line(ch))

    def if_else(self, ch):
        _kw, cond, then, _else, orelse = ch
        return CIf(cond, then, orelse, _line(ch))

    def decl_stmt(self, ch):
        return CDecl(ch[0], tuple(ch[1:]), _line(ch))

    def init_declarator(self, ch):
        ptrs, name, *rest = ch
        dims: tuple = ()
        init = None
        for r in rest:
            if isinstance(r, tuple):
                dims = r
            else:
                init = r
        return CDeclarator(str(name), ptrs, dims, init, name.line)

    def initializer(self, ch):
        return ch[0]

    def init_list(self, ch):
        return CInitList(tuple(ch), _line(ch))

    def expr_stmt(self, ch):
        return CExprStmt(ch[0], _line(ch))

    def while_stmt(self, ch):
        return COther("while loop", _line(ch))

    def do_stmt(self, ch):
        return COther("do-while loop", _line(ch))

    def goto_stmt(self, ch):
        return COther("goto", _line(ch))

    def label_stmt(self, ch):
        return COther("label", _line(ch))

    def return_stmt(self, ch):
        value = ch[1] if len(ch) > 1 else None
        return CReturn(value, _line(ch))

    def break_stmt(self, ch):
        return COther("break", _line(ch))

    def continue_stmt(self, ch):
        return COther("continue", _line(ch))

    # --- expressions
    def assign(self, ch):
        target, op, value = ch
        return CAssign(target, op, value, _line(ch))

    def assign_op(self, ch):
        return str(ch[0])

    def ternary(self, ch):
        return CTernary(ch[0], ch[1], ch[2], _line(ch))

    def binop(self, ch):
        lhs, op, rhs = ch
        return CBin(str(op), lhs, rhs, _line(ch))

    def cast(self, ch):
        return CCast(ch[0], ch[1], _line(ch))

    def pre_incdec(self, ch):
        return CIncDec(str(ch[0]), ch[1], True, _line(ch))

    def post_incdec(self, ch):
        return CIncDec(str(ch[1]), ch[0], False, _line(ch))

    def unary(self, ch):
        return CUn(ch[0], ch[1], _line(ch))

    def unary_op(self, ch):
        return str(ch[0])

    def sizeof_type(self, ch):
        return CSizeof(ch[1], None, _line(ch))

    def sizeof_expr(self, ch):
        return CSizeof(None, ch[1], _line(ch))

    def index(self, ch):
        return CIndex(ch[0], ch[1], _line(ch))

    def call(self, ch):
        return CCall(ch[0], ch[1], _line(ch))

    def arg_list(self, ch):
        return tuple(ch)

    def member(self, ch):
        return CMember(ch[0], str(ch[1]), False, _line(ch))

    def arrow(self, ch):
        return CMember(ch[0], str(ch[1]), True, _line(ch))

    def compound(self, ch):
        return CCompound(ch[0], tuple(ch[1:]), _line(ch))

    def name(self, ch):
        tok: Token = ch[0]
        return CName(str(tok), tok.line)

    def int_lit(self, ch):
        tok: Token = ch[0]
        try:
            return CInt(**_int_value(str(tok)), line=tok.line)
        except ValueError:
            raise ParseError(f"invalid octal literal {tok} (digits 8 and 9 are not octal)",
                             line=tok.line, column=tok.column) from None

    def float_lit(self, ch):
        tok: Token = ch[0]
        text = str(tok)
        return CFloat(float(text.rstrip("fFlL")), text[-1] not in "fF", tok.line)

    def paren(self, ch):
        return ch[0]
