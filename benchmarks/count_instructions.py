"""Count the dynamic Gemmini instructions of Exo's C, independently of our model.

The C is compiled by `lowering.gcc` (cached under ``<cache root>/count``) against a
tiny shim ``include/gemmini.h`` whose instruction macros only increment counters,
linked with the installed Exo's allocators (``exo/libs/gemm_malloc.c``,
``gemm_acc_malloc.c``) and run once with zero-filled arguments (the macros never
touch memory, so the data does not matter).

    python -m benchmarks.count_instructions kernel.c [kernel.h]

prints one ``kind count`` line per instruction kind. From Python:
``count_instructions(c_text, h_text) -> dict[str, int]``.
Kinds: mvin (every id-0 mvin), mvin_zero (id-0 mvins with DRAM address 0), mvin2,
mvin3, preload, compute_preloaded, compute_accumulated, mvout, config_ex,
config_ld, config_st, fence, loop_ws.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from gemmini.errors import AutocompError, ParseError
from lowering import gcc
from lowering.emulator.build import exo_libs_dir
from lowering.signature import Signature, read_signature

KINDS = ("mvin", "mvin_zero", "mvin2", "mvin3", "preload", "compute_preloaded",
         "compute_accumulated", "mvout", "config_ex", "config_ld", "config_st",
         "fence", "loop_ws")

_SHIM = """\
#pragma once
#include <stdint.h>
#include <stdbool.h>
#define WS 1
#define OS 0
#define NO_ACTIVATION 0
#define ACC_SCALE(x, scale) ((float)(x) * (scale))
enum {%(enum)s, N_KINDS};
extern unsigned long long exo_count[N_KINDS];
#define EXO_COUNT(k) (exo_count[k]++)
#define gemmini_extended_config_ex(...) EXO_COUNT(K_config_ex)
#define gemmini_extended3_config_ld(...) EXO_COUNT(K_config_ld)
#define gemmini_extended4_config_ld(...) EXO_COUNT(K_config_ld)
#define gemmini_extended_config_st(...) EXO_COUNT(K_config_st)
#define gemmini_extended_mvin(dram, local, cols, rows) \\
    (EXO_COUNT(K_mvin), ((uint64_t)(dram) == 0 ? EXO_COUNT(K_mvin_zero) : 0))
#define gemmini_extended_mvin2(dram, local, cols, rows) EXO_COUNT(K_mvin2)
#define gemmini_extended_mvin3(dram, local, cols, rows) EXO_COUNT(K_mvin3)
#define gemmini_extended_preload(...) EXO_COUNT(K_preload)
#define gemmini_extended_compute_preloaded(...) EXO_COUNT(K_compute_preloaded)
#define gemmini_extended_compute_accumulated(...) EXO_COUNT(K_compute_accumulated)
#define gemmini_extended_mvout(dram, local, cols, rows) EXO_COUNT(K_mvout)
#define gemmini_fence() EXO_COUNT(K_fence)
#define gemmini_loop_ws(...) EXO_COUNT(K_loop_ws)
"""

_TYPES = {"i8": "int8_t", "i32": "int32_t", "f32": "float", "bool": "bool"}
_FLAGS = ("-O1", "-w", "-include", "stdint.h")
_ALLOCATORS = ("gemm_malloc", "gemm_acc_malloc")


class CountError(AutocompError):
    """The C cannot be counted (no Exo signature, unsupported parameter, exo missing)."""


def _shim() -> str:
    return _SHIM % {"enum": ", ".join(f"K_{k}" for k in KINDS)}


def _main_c(sig: Signature, header: str) -> str:
    decls, args, inits = [], [], []
    for p in sig.params:
        if not (p.is_array or p.by_pointer):
            if p.dtype != "bool":
                raise CountError(f"parameter {p.name}: unsupported by-value type {p.dtype}")
            args.append("false")
            continue
        decls.append(f"static {_TYPES[p.dtype]} {p.name}_buf[{p.size}];")
        if p.dtype == "f32" and not p.is_array:
            decls.append(f"static void init_{p.name}(void) {{ {p.name}_buf[0] = 1.0f; }}")
            inits.append(f"init_{p.name}();")
        args.append(f"{p.name}_buf")
    prints = "".join(f'printf("{k} %llu\\n", exo_count[K_{k}]);' for k in KINDS)
    return (f'#include <stdio.h>\n#include "{header}"\n#include <include/gemmini.h>\n'
            f"unsigned long long exo_count[N_KINDS];\n" + "\n".join(decls) +
            f"\nint main(void) {{ static {sig.context} ctx; {''.join(inits)}\n"
            f"  {sig.name}(&ctx, {', '.join(args)});\n  {prints}\n  return 0; }}\n")


def count_instructions(c_text: str, h_text: str, *, timeout: float = 300.0) -> dict[str, int]:
    """Dynamic instruction counts of one Exo-generated kernel (see module docstring)."""
    m = re.search(r'#include "([^"]+\.h)"', c_text)
    header = m.group(1) if m else "kernel.h"
    try:
        sig = read_signature(c_text, filename="kernel.c")
    except ParseError as e:
        raise CountError(f"cannot read the kernel's signature: {e}") from None
    if sig.context is None:
        raise CountError(f"{sig.name} does not have Exo's signature "
                         f"({sig.name}(<Context> *ctxt, ...))")
    libs = exo_libs_dir()
    if libs is None:
        raise CountError("counting needs the exo package's allocators (exo is not installed)")
    headers = {"include/gemmini.h": _shim(), header: h_text,
               **{f"{a}.h": (libs / f"{a}.h").read_text() for a in _ALLOCATORS}}
    program = gcc.build({"kernel.c": c_text, "main.c": _main_c(sig, header)}, cache="count",
                        kind=gcc.PROGRAM, stem=sig.name, headers=headers,
                        files=[libs / f"{a}.c" for a in _ALLOCATORS], flags=_FLAGS,
                        timeout=timeout)
    counts = {}
    for line in gcc.run_program(program, timeout=timeout).splitlines():
        kind, value = line.split()
        counts[kind] = int(value)
    return counts


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    c_path = Path(argv[0])
    h_path = Path(argv[1]) if len(argv) > 1 else c_path.with_suffix(".h")
    counts = count_instructions(c_path.read_text(), h_path.read_text())
    for kind in KINDS:
        print(kind, counts[kind])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
