"""Compile a Gemmini kernel's C against the host emulator and run it on numpy arrays.

The kernel (Exo's C, or our toolchain printer's C) is compiled with gcc together
with ``emulator.c`` (and, when the kernel uses Exo's allocators, the installed exo
package's ``libs/gemm_malloc.c`` / ``gemm_acc_malloc.c``) into a shared library,
cached by content hash, and called through ctypes. Every array is registered with
the emulator, so an instruction that reaches outside the arrays is an error rather
than a stray memory access.

Only trusted C goes straight to `run_c` (Exo's output, our printer's output); model
output must first pass through ``lowering.parser`` and the toolchain printer, which
`run_ir` does for an ``ir.Function``.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gemmini.config import GemminiConfig, get_config
from gemmini.errors import AutocompError, ConfigError, HardwareError

EMULATOR_DIR = Path(__file__).resolve().parent
_SOURCES = ("gemmini.h", "emulator.c", "include/gemmini.h")
_CFLAGS = ("-std=gnu11", "-O1", "-fPIC", "-fno-strict-aliasing", "-w", "-include", "stdint.h",
           "-include", "stdbool.h")
_OWN_HEADERS = {"gemmini.h", "include/gemmini.h", "gemm_malloc.h", "gemm_acc_malloc.h"}

# Uninitialized on-chip memory is filled with a recognizable pattern by default, so
# a kernel that reads rows it never wrote gives visibly wrong results.
DEFAULT_SP_FILL = 0x5A
DEFAULT_ACC_FILL = 0x5A5A5A5A

_NP = {"i8": np.int8, "i32": np.int32, "f32": np.float32, "bool": np.bool_}
_C_SCALAR = {"i8": ctypes.c_int8, "i32": ctypes.c_int32, "f32": ctypes.c_float,
             "bool": ctypes.c_bool}
_C_TYPES = {"int8_t": "i8", "int32_t": "i32", "float": "f32", "bool": "bool", "int": "i32"}


class BuildError(AutocompError):
    """gcc could not compile the kernel against the emulator."""


@dataclass(frozen=True)
class Arg:
    """One C parameter as the caller sees it."""
    name: str
    dtype: str                 # i8 / i32 / f32 / bool, or "ctx" for Exo's context pointer
    pointer: bool              # arrays and by-pointer scalars
    const: bool = False
    shape: tuple[int, ...] = ()


@dataclass(frozen=True)
class EmulatorRun:
    """Result of one run: final contents of every non-const array, instruction counts."""
    outputs: dict[str, np.ndarray]
    counts: dict[str, int] = field(default_factory=dict)
    scratchpad: np.ndarray | None = None   # (rows, DIM) int8, with keep_memory=True
    accumulator: np.ndarray | None = None  # (rows, DIM) int32, with keep_memory=True


# ----------------------------------------------------------------------------
# Building
# ----------------------------------------------------------------------------

def config_defines(config: GemminiConfig | str | None = None) -> list[str]:
    """gcc -D flags that size the emulator for ``config``."""
    cfg = get_config(config)
    if cfg.in_dtype != "int8" or cfg.acc_dtype != "int32":
        raise ConfigError(f"the emulator models int8/int32 configurations only, not {cfg.name}")
    return [f"-DDIM={cfg.dim}", f"-DEMU_SP_ROWS={cfg.sp_rows}", f"-DEMU_SP_BANKS={cfg.sp_banks}",
            f"-DEMU_ACC_ROWS={cfg.acc_rows}", f"-DEMU_ACC_BANKS={cfg.acc_banks}",
            f"-DEMU_MAX_BLOCKS_SP={cfg.max_mvin_blocks_sp}",
            f"-DEMU_MAX_BLOCKS_ACC={cfg.max_mvin_blocks_acc}",
            f"-DEMU_MAX_BLOCKS_MVOUT={cfg.max_mvout_blocks}", f"-DGEMM_DIM={cfg.dim}"]


def exo_libs_dir() -> Path | None:
    """The installed exo package's ``libs`` directory (allocator sources), if any."""
    spec = importlib.util.find_spec("exo")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = Path(list(spec.submodule_search_locations)[0]) / "libs"
    return libs if (libs / "gemm_malloc.c").exists() else None


def cache_dir() -> Path:
    root = (os.environ.get("AUTOCOMP_EXO_CACHE")
            or os.path.join(tempfile.gettempdir(), "autocomp_exo"))
    path = Path(root) / "emulator"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _uses_exo_malloc(c_text: str) -> bool:
    return re.search(r"\bgemm_(acc_)?(malloc|free)\b", c_text) is not None


def _local_includes(c_text: str) -> list[str]:
    names = re.findall(r'^\s*#\s*include\s*"([^"]+)"', c_text, flags=re.M)
    return [n for n in names if n not in _OWN_HEADERS]


def build_kernel(c_text: str, *, config: GemminiConfig | str | None = None,
                 h_text: str | None = None) -> Path:
    """Compile ``c_text`` with the emulator into a cached shared library; return its path.

    ``h_text`` is the kernel's own header (Exo's ``gemm.h``), written under the name
    the C file includes. Raises `BuildError` with gcc's message on failure.
    """
    defines = config_defines(config)
    libs = exo_libs_dir() if _uses_exo_malloc(c_text) else None
    if _uses_exo_malloc(c_text) and libs is None:
        raise BuildError("the kernel uses gemm_malloc but the exo package is not installed")
    malloc_sources = [libs / "gemm_malloc.c", libs / "gemm_acc_malloc.c"] if libs else []

    h = hashlib.sha256()
    for part in [c_text, h_text or "", *defines, *_CFLAGS]:
        h.update(part.encode())
        h.update(b"\0")
    for src in [*(EMULATOR_DIR / s for s in _SOURCES), *malloc_sources]:
        h.update(src.read_bytes())
    key = h.hexdigest()[:24]
    so_path = cache_dir() / f"kernel_{key}.so"
    if so_path.exists():
        return so_path

    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        tmpdir = Path(tmp)
        (tmpdir / "kernel.c").write_text(c_text)
        if h_text is not None:
            for name in _local_includes(c_text) or ["kernel.h"]:
                (tmpdir / name).parent.mkdir(parents=True, exist_ok=True)
                (tmpdir / name).write_text(h_text)
        includes = [f"-I{tmpdir}", f"-I{EMULATOR_DIR}"] + ([f"-I{libs}"] if libs else [])
        out = tmpdir / "kernel.so"
        cmd = ["gcc", *_CFLAGS, *defines, *includes, "-shared", "-o", str(out),
               str(tmpdir / "kernel.c"), str(EMULATOR_DIR / "emulator.c"),
               *map(str, malloc_sources), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError("gcc failed on the kernel:\n" + proc.stderr.strip()[-4000:])
        os.replace(out, so_path)
    return so_path


@functools.lru_cache(maxsize=64)
def _load(path: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(path)
    lib.emu_reset.argtypes = [ctypes.c_int, ctypes.c_int32]
    lib.emu_register_dram.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.emu_error.restype = ctypes.c_char_p
    lib.emu_count.restype = ctypes.c_uint64
    lib.emu_count.argtypes = [ctypes.c_int]
    lib.emu_op_name.restype = ctypes.c_char_p
    lib.emu_op_name.argtypes = [ctypes.c_int]
    return lib


# ----------------------------------------------------------------------------
# Signatures
# ----------------------------------------------------------------------------

def args_from_params(params, context: str | None = None) -> list[Arg]:
    """`Arg` list for an ir.Function's parameters (plus Exo's context pointer)."""
    args = [Arg("ctxt", "ctx", True)] if context else []
    for p in params:
        args.append(Arg(p.name, p.dtype, p.is_array or p.by_pointer, p.const, tuple(p.shape)))
    return args


def parse_signature(c_text: str, function: str | None = None) -> tuple[str, list[Arg]]:
    """Name and `Arg` list of a kernel's definition in trusted C (Exo's output)."""
    pattern = r"^\s*void\s+(%s)\s*\(([^)]*)\)\s*\{" % (re.escape(function) if function else r"\w+")
    matches = re.findall(pattern, c_text, flags=re.M)
    if not matches:
        raise BuildError(f"no definition of {function or 'a void function'} in the C text")
    name, params_text = matches[-1]
    args = []
    for raw in (p.strip() for p in params_text.split(",") if p.strip()):
        m = re.fullmatch(r"(const\s+)?(\w+)\s*(\*?)\s*(\w+)", raw)
        if not m:
            raise BuildError(f"cannot read parameter {raw!r} of {name}")
        const, ctype, star, pname = m.groups()
        if ctype.endswith("_Context"):
            args.append(Arg(pname, "ctx", True))
        elif ctype in _C_TYPES:
            args.append(Arg(pname, _C_TYPES[ctype], bool(star), bool(const)))
        else:
            raise BuildError(f"unsupported parameter type {ctype!r} of {name}")
    return name, args


# ----------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------

def run_library(so_path: Path, function: str, args: list[Arg], inputs: dict, *,
                config: GemminiConfig | str | None = None, sp_fill: int = DEFAULT_SP_FILL,
                acc_fill: int = DEFAULT_ACC_FILL, keep_memory: bool = False) -> EmulatorRun:
    """Call ``function`` of a built kernel on ``inputs`` (name -> array or scalar).

    ``keep_memory`` copies the final scratchpad and accumulator into the result
    (``config`` must then be the one the kernel was built for).
    """
    lib = _load(str(so_path))
    lib.emu_reset(sp_fill, ctypes.c_int32(acc_fill).value)
    for init in ("gemm_init_mem", "gemm_acc_init_mem"):
        if hasattr(lib, init):
            getattr(lib, init)()
    c_args, arrays = [], {}
    for a in args:
        if a.dtype == "ctx":
            c_args.append(ctypes.c_void_p(None))
            continue
        if a.name not in inputs:
            if a.pointer and a.shape and not a.const:
                inputs = {**inputs, a.name: np.zeros(a.shape, _NP[a.dtype])}
            else:
                raise BuildError(f"no input given for parameter {a.name!r}")
        value = inputs[a.name]
        if a.pointer:
            arr = np.ascontiguousarray(np.array(value, dtype=_NP[a.dtype], copy=True))
            if a.shape and arr.size != int(np.prod(a.shape)):
                raise BuildError(f"input {a.name!r} has {arr.size} elements, "
                                 f"expected shape {a.shape}")
            arrays[a.name] = arr
            lib.emu_register_dram(arr.ctypes.data, arr.nbytes)
            c_args.append(ctypes.c_void_p(arr.ctypes.data))
        else:
            c_args.append(_C_SCALAR[a.dtype](value))
    fn = getattr(lib, function)
    fn.restype = None
    fn(*c_args)
    err = lib.emu_error()
    if err:
        msg = err.decode()
        m = re.match(r"line (\d+): (.*)", msg, flags=re.S)
        raise HardwareError(m.group(2) if m else msg, filename=function,
                            line=int(m.group(1)) if m else None)
    counts = {}
    for op in range(lib.emu_num_ops()):
        counts[lib.emu_op_name(op).decode()] = int(lib.emu_count(op))
    outputs = {a.name: arrays[a.name] for a in args
               if a.pointer and not a.const and a.name in arrays}
    if not keep_memory:
        return EmulatorRun(outputs, counts)
    cfg = get_config(config)
    lib.emu_scratchpad.restype = ctypes.POINTER(ctypes.c_int8)
    lib.emu_accumulator.restype = ctypes.POINTER(ctypes.c_int32)
    sp = np.ctypeslib.as_array(lib.emu_scratchpad(), shape=(cfg.sp_rows, cfg.dim)).copy()
    acc = np.ctypeslib.as_array(lib.emu_accumulator(), shape=(cfg.acc_rows, cfg.dim)).copy()
    return EmulatorRun(outputs, counts, sp, acc)


def run_c(c_text: str, inputs: dict, *, params=None, context: str | None = None,
          function: str | None = None, h_text: str | None = None,
          config: GemminiConfig | str | None = None, **options) -> EmulatorRun:
    """Build (cached) and run trusted kernel C on ``inputs``.

    ``params`` (ir.Param tuple, with ``context`` the Exo context type if the C takes
    one) gives the signature; without it the signature is read from the C text.
    """
    if params is None:
        name, args = parse_signature(c_text, function)
    else:
        name = function or parse_signature(c_text, function)[0]
        args = args_from_params(params, context)
    so = build_kernel(c_text, config=config, h_text=h_text)
    return run_library(so, name, args, inputs, config=config, **options)


def run_ir(fn, inputs: dict, config: GemminiConfig | str | None = None, **options) -> EmulatorRun:
    """Print an ir.Function with the toolchain printer and run it on the emulator."""
    from lowering.print_toolchain import to_toolchain_c

    c_text = to_toolchain_c(fn)
    return run_c(c_text, inputs, params=fn.params, context=fn.context, function=fn.name,
                 config=config, **options)
