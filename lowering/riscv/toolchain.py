"""Compile a kernel's C for RISC-V the way the Gemmini toolchain builds its tests.

Two compilers, tried in order (docs/cpu_cost.md):

* ``riscv64-unknown-elf-gcc`` (Debian package ``gcc-riscv64-unknown-elf``), the
  compiler gemmini-rocc-tests uses for its bare-metal binaries, with their flags;
* clang from the ``ziglang`` wheel (``python -m ziglang cc``), which pip installs,
  targeting the same ISA (RV64GC, medany) with the same optimisation flags.

The kernel is linked alone into a static ELF whose entry point is the kernel
itself (no start-up code, no caller that could inline it), through the one
compiler driver `lowering.gcc.build` (its cache and error format).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from gemmini.config import GemminiConfig
from lowering.cache import cache_dir
from lowering.gcc import PROGRAM, CompileError, build
from lowering.riscv.header import header_text

CACHE = "riscv"
GCC = "riscv64-unknown-elf-gcc"
# gemmini-rocc-tests' CFLAGS (bareMetalC/Makefile) that shape the code of a kernel
COMMON_FLAGS = ("-O2", "-mcmodel=medany", "-std=gnu99", "-ffast-math", "-fno-common",
                "-fno-builtin-printf")
GCC_FLAGS = ("-march=rv64gc", "-mabi=lp64d", "-fno-tree-loop-distribute-patterns")
# zig's names for rv64gc; gcc omits the frame pointer at -O2, zig's clang must be told
CLANG_FLAGS = ("-target", "riscv64-freestanding-none", "-mcpu=generic_rv64+m+a+f+d+c",
               "-fomit-frame-pointer")
# no C library: the compiler's own stdint.h / stdbool.h, nothing linked but the kernel
LINK_FLAGS = ("-ffreestanding", "-nostdlib", "-static")


@dataclass(frozen=True)
class Compiler:
    """A RISC-V C compiler: its command, flags and a name for reports."""
    name: str
    command: tuple[str, ...]
    flags: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


KINDS = ("gcc", "zig")


def find_riscv_compiler(kind: str | None = None) -> Compiler:
    """``riscv64-unknown-elf-gcc`` if on PATH, else the ``ziglang`` wheel's clang (``kind``
    "gcc" or "zig" asks for one of them); `CompileError` saying how to get one."""
    if kind not in (None, *KINDS):
        raise CompileError(f"unknown RISC-V compiler {kind!r}; known: {', '.join(KINDS)}")
    gcc = shutil.which(GCC) if kind in (None, "gcc") else None
    if gcc:
        return Compiler(GCC, (gcc,), COMMON_FLAGS + GCC_FLAGS + ("-nostartfiles",))
    if kind in (None, "zig") and importlib.util.find_spec("ziglang") is not None:
        zig_cache = str(cache_dir(CACHE) / "zig")
        return Compiler("zig cc (clang, ziglang wheel)", (sys.executable, "-m", "ziglang", "cc"),
                        COMMON_FLAGS + CLANG_FLAGS,
                        (("ZIG_GLOBAL_CACHE_DIR", zig_cache), ("ZIG_LOCAL_CACHE_DIR", zig_cache)))
    wanted = {None: f"{GCC} (Debian package gcc-riscv64-unknown-elf) or the ziglang wheel "
                    "(pip install ziglang)",
              "gcc": f"{GCC} (Debian package gcc-riscv64-unknown-elf)",
              "zig": "the ziglang wheel (pip install ziglang)"}[kind]
    raise CompileError(f"no RISC-V C compiler: install {wanted}")


LIBM = """
/* The C library functions CPU code may call (gemmini.ir.MATH_FUNCS), for the bare-metal
   link (-nostdlib): what gcc does not turn into one instruction is priced as this code. */
float fminf(float a, float b) { return a != a ? b : (b != b ? a : (b < a ? b : a)); }
float fmaxf(float a, float b) { return a != a ? b : (b != b ? a : (b > a ? b : a)); }
double fmin(double a, double b) { return a != a ? b : (b != b ? a : (b < a ? b : a)); }
double fmax(double a, double b) { return a != a ? b : (b != b ? a : (b > a ? b : a)); }
float fabsf(float a) { return __builtin_fabsf(a); }
double fabs(double a) { return __builtin_fabs(a); }
float sqrtf(float a) { return __builtin_sqrtf(a); }
double sqrt(double a) { return __builtin_sqrt(a); }
int abs(int a) { return a < 0 ? -a : a; }
"""


def compile_kernel(c_text: str, function: str, cfg: GemminiConfig,
                   compiler: Compiler | None = None) -> Path:
    """The static RV64GC ELF of ``c_text`` (including our ``gemmini.h``) whose entry
    point is ``function``; cached by the C text, the header and the compiler."""
    compiler = compiler or find_riscv_compiler()
    return build({"kernel.c": c_text, "cpu_libm.c": LIBM}, cache=CACHE, kind=PROGRAM,
                 stem=function,
                 headers={"gemmini.h": header_text(cfg)},
                 flags=(*compiler.flags, *LINK_FLAGS, f"-Wl,-e,{function}"),
                 compiler=compiler.command, env=dict(compiler.env), timeout=120)
