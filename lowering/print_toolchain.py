"""A complete .c file for the Gemmini toolchain (gemmini.h's long instruction names).

Keeps Exo's signature exactly when the function came from Exo (``fn.context``
set): ``void name( gemm_Context *ctxt, const float* scale, bool act,
const int8_t* A, ...)``, preceded by Exo's signature comment. The context struct
is declared as an incomplete ``typedef struct gemm_Context gemm_Context;``, which
C11 accepts next to Exo's own header defining it. DRAM operands are ``&A[index]``
(flat) and local addresses plain ``uint32_t`` arithmetic.
"""

from __future__ import annotations

from gemmini.ir import Call, Function, walk_exprs
from lowering.print_compact import StmtPrinter, signature_comment

HEADER = ("#include <stdint.h>", "#include <stdbool.h>", '#include "gemmini.h"')
PROTOTYPES = {
    "fminf": "float fminf(float, float);", "fmaxf": "float fmaxf(float, float);",
    "fabsf": "float fabsf(float);", "sqrtf": "float sqrtf(float);",
    "fmin": "double fmin(double, double);", "fmax": "double fmax(double, double);",
    "fabs": "double fabs(double);", "sqrt": "double sqrt(double);", "abs": "int abs(int);",
}
"""C library functions CPU code may call (`gemmini.ir.MATH_FUNCS`), declared as the
standard headers declare them."""


class ToolchainPrinter(StmtPrinter):
    long_names = True
    loop_type = "int_fast32_t"

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
        lines.append("")
        if fn.context and fn.context != "void":   # Exo writes `void *ctxt` without configs
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


def to_toolchain_c(fn: Function) -> str:
    """``fn`` as a complete C file that compiles against gemmini.h."""
    return "\n".join(ToolchainPrinter(fn).function()) + "\n"
