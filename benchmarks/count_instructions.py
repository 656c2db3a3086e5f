"""Count the dynamic Gemmini instructions of Exo's C, independently of our model.

The C is compiled with gcc against a tiny shim ``include/gemmini.h`` whose
instruction macros only increment counters, linked with the installed Exo's
allocators (``exo/libs/gemm_malloc.c``, ``gemm_acc_malloc.c``) and run once with
zero-filled arguments (the macros never touch memory, so the data does not matter).

    python benchmarks/count_instructions.py kernel.c [kernel.h]

prints one ``kind count`` line per instruction kind. From Python:
``count_instructions(c_text, h_text) -> dict[str, int]``.
Kinds: mvin (every id-0 mvin), mvin_zero (id-0 mvins with DRAM address 0), mvin2,
mvin3, preload, compute_preloaded, compute_accumulated, mvout, config_ex,
config_ld, config_st, fence, loop_ws.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

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
_PARAM_RE = re.compile(r"^//\s+(\w+)\s*:\s*(\w+)(\[([^\]]*)\])?")


class CountError(RuntimeError):
    """The C could not be compiled or run for counting."""


def _shim() -> str:
    return _SHIM % {"enum": ", ".join(f"K_{k}" for k in KINDS)}


def _signature(c_text: str) -> tuple[str, list[tuple[str, str, int | None]]]:
    """Function name and (name, type, element count or None for scalars) from Exo's comment."""
    lines = c_text.splitlines()
    for n, line in enumerate(lines):
        m = re.match(r"^//\s+(\w+)\($", line)
        if not m:
            continue
        params = []
        for pline in lines[n + 1:]:
            if pline.startswith("// )"):
                return m.group(1), params
            pm = _PARAM_RE.match(pline)
            if not pm:
                break
            count = None
            if pm.group(3):
                count = 1
                for d in pm.group(4).split(","):
                    count *= int(d)
            params.append((pm.group(1), pm.group(2), count))
    raise CountError("no Exo signature comment ('// name(' ... '// )') in the C text")


def _main_c(name: str, params, header: str, context: str) -> str:
    decls, args = [], []
    for pname, typ, count in params:
        ctype = _TYPES.get(typ)
        if ctype is None:
            raise CountError(f"parameter {pname}: unsupported type {typ}")
        if count is None and typ == "bool":
            args.append("false")
        else:
            decls.append(f"static {ctype} {pname}_buf[{count or 1}];")
            if typ == "f32" and count is None:
                decls.append(f"static void init_{pname}(void) {{ {pname}_buf[0] = 1.0f; }}")
            args.append(f"{pname}_buf")
    inits = "".join(f"init_{p}();" for p, t, c in params if t == "f32" and c is None)
    prints = "".join(f'printf("{k} %llu\\n", exo_count[K_{k}]);' for k in KINDS)
    return (f'#include <stdio.h>\n#include "{header}"\n#include <include/gemmini.h>\n'
            f"unsigned long long exo_count[N_KINDS];\n" + "\n".join(decls) +
            f"\nint main(void) {{ static {context} ctx; {inits}\n"
            f"  {name}(&ctx, {', '.join(args)});\n  {prints}\n  return 0; }}\n")


def _exo_libs() -> Path:
    import exo
    return Path(exo.__file__).parent / "libs"


def count_instructions(c_text: str, h_text: str, *, cc: str = "gcc",
                       timeout: float = 300.0) -> dict[str, int]:
    """Dynamic instruction counts of one Exo-generated kernel (see module docstring)."""
    if shutil.which(cc) is None:
        raise CountError(f"C compiler {cc!r} not found")
    m = re.search(r'#include "([^"]+\.h)"', c_text)
    header = m.group(1) if m else "kernel.h"
    name, params = _signature(c_text)
    m = re.search(rf"void {name}\(\s*(\w+) \*ctxt", c_text)
    if not m:
        raise CountError(f"no definition of {name}(<Context> *ctxt, ...) in the C text")
    context = m.group(1)
    libs = _exo_libs()
    with tempfile.TemporaryDirectory(prefix="count_instr_") as tmp:
        d = Path(tmp)
        (d / "include").mkdir()
        (d / "include" / "gemmini.h").write_text(_shim())
        (d / header).write_text(h_text)
        (d / "kernel.c").write_text(c_text)
        (d / "main.c").write_text(_main_c(name, params, header, context))
        for lib in ("gemm_malloc.h", "gemm_acc_malloc.h"):
            shutil.copy(libs / lib, d / lib)
        sources = ["kernel.c", "main.c", str(libs / "gemm_malloc.c"),
                   str(libs / "gemm_acc_malloc.c")]
        cmd = [cc, "-O1", "-w", "-include", "stdint.h", "-I", str(d), "-o", str(d / "count"), *sources]
        run = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=timeout)
        if run.returncode != 0:
            raise CountError(f"gcc failed on {name}:\n{run.stderr[-2000:]}")
        run = subprocess.run([str(d / "count")], capture_output=True, text=True,
                             timeout=timeout)
        if run.returncode != 0:
            raise CountError(f"counting run of {name} failed ({run.returncode}): "
                             f"{run.stderr[-2000:]}")
    counts = {}
    for line in run.stdout.splitlines():
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
