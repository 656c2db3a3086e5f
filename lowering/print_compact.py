"""The compact dialect (method.md section 10): readable C with short instruction names.

Array parameters are written with their dimensions (``int8_t A[64][64]``) and DRAM
operands as ``&A[i][k]``; a flat pointer parameter of a function without Exo's
context keeps its pointer form (with Exo's signature comment giving its shape), so
``parse_c(to_compact(fn)) == fn`` always holds.
"""

from __future__ import annotations

from gemmini import isa
from gemmini.ir import (
    ArrayDecl, Assign, Const, Decl, DramAddr, For, Function, If, Instr, Param, Store,
)
from lowering.print_expr import ExprPrinter, array_index_text, flat_index_text, split_index

CTYPE = {"i8": "int8_t", "i32": "int32_t", "f32": "float", "bool": "bool"}
EXO_DTYPE = {"i8": "i8", "i32": "i32", "f32": "f32", "bool": "bool"}
INDENT = "  "


def signature_comment(fn: Function) -> list[str]:
    """Exo's ``// name(`` / ``//     A : i8[64, 64] @DRAM,`` / ``// )`` block."""
    lines = [f"// {fn.name}("]
    for k, p in enumerate(fn.params):
        if p.shape:
            t = f"{EXO_DTYPE[p.dtype]}[{', '.join(str(d) for d in p.shape)}] @DRAM"
        elif p.by_pointer:
            t = f"{EXO_DTYPE[p.dtype]} @DRAM"
        else:
            t = EXO_DTYPE[p.dtype]
        lines.append(f"//     {p.name} : {t}{',' if k + 1 < len(fn.params) else ''}")
    lines.append("// )")
    return lines


def param_text(p: Param, as_array: bool) -> str:
    const = "const " if p.const else ""
    base = CTYPE[p.dtype]
    if p.shape and as_array:
        return f"{const}{base} {p.name}" + "".join(f"[{d}]" for d in p.shape)
    if p.shape or p.by_pointer:
        return f"{const}{base}* {p.name}"
    return f"{const}{base} {p.name}"


class StmtPrinter:
    """Statement printer shared by both targets; the subclass hooks decide the spellings."""

    long_names = False
    loop_type = "int"

    def __init__(self, fn: Function):
        self.fn = fn
        self.params = {p.name: p for p in fn.params}
        self.local_arrays = {s.name: s.shape for s in _array_decls(fn.body)}
        self.ex = ExprPrinter(self.var_text, self.subscripts)

    # hooks
    def var_text(self, name: str) -> str:
        return name

    def array_param(self, p: Param) -> bool:
        return not (p.flat and self.fn.context is None)

    def dram_text(self, a: DramAddr) -> str:
        p = self.params[a.array]
        if self.array_param(p):
            return array_index_text(self.ex, a, p)
        return flat_index_text(self.ex, a)

    def subscripts(self, array: str, index) -> list:
        """The subscripts of element ``index`` of a parameter or local array."""
        shape = self.local_arrays.get(array)
        if shape is None:
            p = self.params.get(array)
            shape = p.shape if p is not None and self.array_param(p) else None
        return split_index(index, shape) if shape and len(shape) > 1 else [index]

    def operand_text(self, operand: isa.Operand, value) -> str:
        if isinstance(value, DramAddr):
            return self.dram_text(value)
        if isinstance(value, Const):
            symbols = operand.long_symbols if self.long_names else operand.symbols
            for v, name in symbols:
                if v == value.value:
                    return name
        return self.ex.expr(value)

    # statements
    def stmts(self, body, depth: int) -> list[str]:
        out: list[str] = []
        for s in body:
            out.extend(self.stmt(s, depth))
        return out

    def stmt(self, s, depth: int) -> list[str]:
        pad = INDENT * depth
        if isinstance(s, For):
            step = f"{s.var}++" if s.step == 1 else f"{s.var} += {s.step}"
            head = (f"{pad}for ({self.loop_type} {s.var} = {self.ex.expr(s.lo)}; "
                    f"{s.var} < {self.ex.expr(s.hi, 11)}; {step}) {{")
            return [head, *self.stmts(s.body, depth + 1), f"{pad}}}"]
        if isinstance(s, If):
            return self.if_stmt(s, depth, pad)
        if isinstance(s, Decl):
            init = "" if s.init is None else f" = {self.ex.expr(s.init)}"
            return [f"{pad}{s.ctype} {s.name}{init};"]
        if isinstance(s, Assign):
            return [f"{pad}{s.name} {s.op} {self.ex.expr(s.value)};"]
        if isinstance(s, Instr):
            return [pad + self.instr(s) + ";"]
        if isinstance(s, Store):
            return [f"{pad}{self.ex.element(s.array, s.index)} {s.op} {self.ex.expr(s.value)};"]
        if isinstance(s, ArrayDecl):
            dims = "".join(f"[{d}]" for d in s.shape)
            init = "" if s.init is None else \
                f" = {{{', '.join(self.ex.expr(x) for x in s.init)}}}"
            return [f"{pad}{'static ' if s.static else ''}{s.ctype} {s.name}{dims}{init};"]
        raise TypeError(f"not a statement: {s!r}")

    def if_stmt(self, s: If, depth: int, pad: str) -> list[str]:
        out = [f"{pad}if ({self.ex.expr(s.cond)}) {{", *self.stmts(s.then, depth + 1)]
        orelse = s.orelse
        while len(orelse) == 1 and isinstance(orelse[0], If):
            inner = orelse[0]
            out += [f"{pad}}} else if ({self.ex.expr(inner.cond)}) {{",
                    *self.stmts(inner.then, depth + 1)]
            orelse = inner.orelse
        if orelse:
            out += [f"{pad}}} else {{", *self.stmts(orelse, depth + 1)]
        return out + [f"{pad}}}"]

    def instr(self, s: Instr) -> str:
        spec = isa.SPECS[s.op]
        try:
            spelling = spec.pick_spelling(s.args, long=self.long_names)
        except ValueError:  # e.g. config_ld with shrunk set has only a long spelling
            spelling = spec.pick_spelling(s.args, long=not self.long_names)
        args = [self.operand_text(spec.operands[slot], s.args[slot]) for slot in spelling.slots]
        return f"{spelling.name}({', '.join(args)})"

    def param_texts(self) -> list[str]:
        params = [param_text(p, self.array_param(p)) for p in self.fn.params]
        if self.fn.context:
            params.insert(0, f"{self.fn.context} *ctxt")
        return params

    def function(self) -> list[str]:
        fn = self.fn
        lines = []
        if any(p.shape and not self.array_param(p) for p in fn.params):
            lines += signature_comment(fn)
        lines.append(f"void {fn.name}({', '.join(self.param_texts())}) {{")
        lines += self.stmts(fn.body, 1)
        lines.append("}")
        return lines


def _array_decls(stmts):
    for s in stmts:
        if isinstance(s, ArrayDecl):
            yield s
        elif isinstance(s, For):
            yield from _array_decls(s.body)
        elif isinstance(s, If):
            yield from _array_decls(s.then)
            yield from _array_decls(s.orelse)


class CompactPrinter(StmtPrinter):
    long_names = False
    loop_type = "int"

    def var_text(self, name: str) -> str:
        p = self.params.get(name)
        return f"*{name}" if p is not None and p.by_pointer else name


def to_compact(fn: Function) -> str:
    """``fn`` in the compact dialect (short instruction names, array parameters)."""
    return "\n".join(CompactPrinter(fn).function()) + "\n"
