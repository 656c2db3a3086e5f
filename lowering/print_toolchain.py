"""A complete .c file for the Gemmini toolchain (gemmini.h's long instruction names).

Keeps Exo's signature exactly when the function came from Exo (``fn.context``
set): ``void name( gemm_Context *ctxt, const float* scale, bool act,
const int8_t* A, ...)``, preceded by Exo's signature comment. The context struct
is declared as an incomplete ``typedef struct gemm_Context gemm_Context;``, which
C11 accepts next to Exo's own header defining it. DRAM operands are ``&A[index]``
(flat) and local addresses plain ``uint32_t`` arithmetic.

``runtime_bases=True`` prints each on-chip allocation (a `Decl` the parser resolved
from ``gemm_malloc`` / ``gemm_acc_malloc``) as ``runtime_base(row)``, a value the
compiler cannot see through, as in a binary whose bases come from the allocator at run
time (docs/cpu_cost.md, Known differences); the default folds them as constants.
"""

from __future__ import annotations

from gemmini.ir import Call, Decl, Function, walk_exprs, walk_stmts
from lowering.print_compact import INDENT, StmtPrinter, signature_comment

HEADER = ("#include <stdint.h>", "#include <stdbool.h>", '#include "gemmini.h"')
PROTOTYPES = {
    "fminf": "float fminf(float, float);", "fmaxf": "float fmaxf(float, float);",
    "fabsf": "float fabsf(float);", "sqrtf": "float sqrtf(float);",
    "fmin": "double fmin(double, double);", "fmax": "double fmax(double, double);",
    "fabs": "double fabs(double);", "sqrt": "double sqrt(double);", "abs": "int abs(int);",
}
"""C library functions CPU code may call (`gemmini.ir.MATH_FUNCS`), declared as the
standard headers declare them."""


RUNTIME_BASE = ("/* an allocator's result: opaque to the compiler, as a gemm_malloc call's is */\n"
                "static inline uint32_t runtime_base(uint32_t row) "
                "{ __asm__ volatile (\"\" : \"+r\"(row)); return row; }")
"""The one definition `ToolchainPrinter` adds with ``runtime_bases``: returns its argument
through an empty asm statement, so no allocation base folds into the command operands;
it costs no instruction itself (the allocator call's own cost is not included)."""


class ToolchainPrinter(StmtPrinter):
    long_names = True
    loop_type = "int_fast32_t"
    runtime_bases = False

    def stmt(self, s, depth: int) -> list[str]:
        if self.runtime_bases and isinstance(s, Decl) and s.alloc and s.init is not None:
            return [f"{INDENT * depth}{s.ctype} {s.name} = "
                    f"runtime_base({self.ex.expr(s.init)});"]
        return super().stmt(s, depth)

    def var_text(self, name: str) -> str:
        p = self.params.get(name)
        return f"{name}[0]" if p is not None and p.by_pointer else name

    def array_param(self, p) -> bool:
        return not p.flat

    def function(self) -> list[str]:
        fn = self.fn
        lines = list(HEADER)
        used = sorted({e.func for e in walk_exprs(fn.body) if isinstance(e, Call)})
        if used:   # the prototypes of <math.h> / <stdlib.h>: bare-metal toolchains lack them
            lines.append(" ".join(PROTOTYPES[f] for f in used))
        if self.runtime_bases and any(isinstance(s, Decl) and s.alloc for s in walk_stmts(fn.body)):
            lines.append(RUNTIME_BASE)
        lines.append("")
        if fn.context and fn.context != "void":     # Exo's `void *ctxt`: nothing to declare
            lines += [f"typedef struct {fn.context} {fn.context};", ""]
        if fn.context or any(p.shape and p.flat for p in fn.params):
            lines += signature_comment(fn)
        params = ", ".join(self.param_texts())
        # Exo's exact spacing: "void name( gemm_Context *ctxt, ... ) {"
        lines.append(f"void {fn.name}( {params} ) {{" if fn.context
                     else f"void {fn.name}({params}) {{")
        lines += self.stmts(fn.body, 1)
        lines.append("}")
        return lines


def to_toolchain_c(fn: Function, runtime_bases: bool = False) -> str:
    """``fn`` as a complete C file that compiles against gemmini.h (``runtime_bases``:
    allocation bases opaque to the compiler instead of constants)."""
    printer = ToolchainPrinter(fn)
    printer.runtime_bases = runtime_bases
    return "\n".join(printer.function()) + "\n"
