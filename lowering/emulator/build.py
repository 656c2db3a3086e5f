"""Compile a Gemmini kernel's C against the host emulator and run it on numpy arrays.

The kernel (Exo's C, or our toolchain printer's C) is compiled by `lowering.gcc`
together with ``emulator.c`` (and, when the kernel uses Exo's allocators, the
installed exo package's ``libs/gemm_malloc.c`` / ``gemm_acc_malloc.c``) into a
shared library, cached under ``<cache root>/emulator``, and called through ctypes. Every array is registered with
the emulator, so an instruction that reaches outside the arrays is an error rather
than a stray memory access.

Only trusted C goes straight to `run_c` (Exo's output, our printer's output); model
output must first pass through ``lowering.parser`` and the toolchain printer, which
`run_ir` does for an ``ir.Function``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gemmini.config import GemminiConfig, get_config
from gemmini.errors import AutocompError, ConfigError, HardwareError
from lowering import gcc
from lowering.alloc import ROW_BYTES
from lowering.signature import Signature, read_signature

EMULATOR_DIR = Path(__file__).resolve().parent
_CFLAGS = ("-std=gnu11", "-O1", "-fno-strict-aliasing", "-ffp-contract=off", "-w",
           "-include", "stdint.h", "-include", "stdbool.h")
_OWN_HEADERS = {"gemmini.h", "include/gemmini.h", "gemm_malloc.h", "gemm_acc_malloc.h"}

# Uninitialized on-chip memory is filled with a recognizable pattern by default, so
# a kernel that reads rows it never wrote gives visibly wrong results.
DEFAULT_SP_FILL = 0x5A
DEFAULT_ACC_FILL = 0x5A5A5A5A

_NP = {"i8": np.int8, "i32": np.int32, "f32": np.float32, "bool": np.bool_}
_C_SCALAR = {"i8": ctypes.c_int8, "i32": ctypes.c_int32, "f32": ctypes.c_float,
             "bool": ctypes.c_bool}


class BuildError(AutocompError):
    """The kernel cannot be built or called (exo missing, inputs that do not fit)."""


@dataclass(frozen=True)
class EmulatorRun:
    """Result of one run: final contents of every non-const array, instruction counts."""
    outputs: dict[str, np.ndarray]
    counts: dict[str, int] = field(default_factory=dict)
    scratchpad: np.ndarray | None = None   # (rows, DIM) of the input type, with keep_memory
    accumulator: np.ndarray | None = None  # (rows, DIM) of the accumulator type, likewise


# ----------------------------------------------------------------------------
# Building
# ----------------------------------------------------------------------------

# (input, accumulator) element types the emulator implements -> its EMU_FLOAT value
_ELEMENT_TYPES = {("int8", "int32"): 0, ("float32", "float32"): 1}


def config_defines(config: GemminiConfig | str | None = None) -> dict[str, int]:
    """Preprocessor defines that size the emulator for ``config`` and pick its element
    types (int8 / int32, or float32 / float32)."""
    cfg = get_config(config)
    types = (cfg.in_dtype, cfg.acc_dtype)
    if types not in _ELEMENT_TYPES:
        raise ConfigError(f"the emulator models int8/int32 and float32/float32 "
                          f"configurations, not {cfg.name} ({'/'.join(types)})")
    return {"DIM": cfg.dim, "EMU_SP_ROWS": cfg.sp_rows, "EMU_SP_BANKS": cfg.sp_banks,
            "EMU_ACC_ROWS": cfg.acc_rows, "EMU_ACC_BANKS": cfg.acc_banks,
            "EMU_MAX_BLOCKS_SP": cfg.max_mvin_blocks_sp,
            "EMU_MAX_BLOCKS_ACC": cfg.max_mvin_blocks_acc,
            "EMU_MAX_BLOCKS_MVOUT": cfg.max_mvout_blocks, "EMU_FLOAT": _ELEMENT_TYPES[types],
            # exo's gemm_malloc counts rows of GEMM_DIM bytes; the parser's allocator too
            "GEMM_DIM": ROW_BYTES}


def exo_libs_dir() -> Path | None:
    """The installed exo package's ``libs`` directory (allocator sources), if any."""
    spec = importlib.util.find_spec("exo")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = Path(list(spec.submodule_search_locations)[0]) / "libs"
    return libs if (libs / "gemm_malloc.c").exists() else None


def _uses_exo_malloc(c_text: str) -> bool:
    return re.search(r"\bgemm_(acc_)?(malloc|free)\b", c_text) is not None


def _local_includes(c_text: str) -> list[str]:
    names = re.findall(r'^\s*#\s*include\s*"([^"]+)"', c_text, flags=re.M)
    return [n for n in names if n not in _OWN_HEADERS]


def build_kernel(c_text: str, *, config: GemminiConfig | str | None = None,
                 h_text: str | None = None) -> Path:
    """Compile ``c_text`` with the emulator into a cached shared library; return its path.

    ``h_text`` is the kernel's own header (Exo's ``gemm.h``), written under the name
    the C file includes. Raises `lowering.gcc.CompileError` if gcc rejects the C.
    """
    libs = exo_libs_dir() if _uses_exo_malloc(c_text) else None
    if _uses_exo_malloc(c_text) and libs is None:
        raise BuildError("the kernel uses gemm_malloc but the exo package is not installed")
    malloc_sources = [libs / "gemm_malloc.c", libs / "gemm_acc_malloc.c"] if libs else []
    headers = {}
    if h_text is not None:
        headers = {name: h_text for name in _local_includes(c_text) or ["kernel.h"]}
    return gcc.build({"kernel.c": c_text}, cache="emulator", stem="kernel", headers=headers,
                     files=[EMULATOR_DIR / "emulator.c", *malloc_sources],
                     include_dirs=[EMULATOR_DIR, *([libs] if libs else [])],
                     defines=config_defines(config), flags=_CFLAGS, libs=("m",))


def _load(path: Path) -> ctypes.CDLL:
    lib = gcc.load_library(path)
    lib.emu_reset.argtypes = [ctypes.c_int, ctypes.c_int32]
    lib.emu_register_dram.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.emu_error.restype = ctypes.c_char_p
    lib.emu_count.restype = ctypes.c_uint64
    lib.emu_count.argtypes = [ctypes.c_int]
    lib.emu_op_name.restype = ctypes.c_char_p
    lib.emu_op_name.argtypes = [ctypes.c_int]
    return lib


# ----------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------

def run_library(so_path: Path, signature: Signature, inputs: dict, *,
                config: GemminiConfig | str | None = None, sp_fill: int = DEFAULT_SP_FILL,
                acc_fill: int = DEFAULT_ACC_FILL, keep_memory: bool = False) -> EmulatorRun:
    """Call ``signature``'s function of a built kernel on ``inputs`` (name -> array or scalar).

    ``keep_memory`` copies the final scratchpad and accumulator into the result
    (``config`` must then be the one the kernel was built for).
    """
    lib = _load(so_path)
    lib.emu_reset(sp_fill, ctypes.c_int32(acc_fill).value)
    for init in ("gemm_init_mem", "gemm_acc_init_mem"):
        if hasattr(lib, init):
            getattr(lib, init)()
    c_args = [ctypes.c_void_p(None)] if signature.context else []   # Exo's context, unused
    arrays = {}
    for a in signature.params:
        if a.name not in inputs:
            if a.is_array and not a.const:
                inputs = {**inputs, a.name: np.zeros(a.shape, _NP[a.dtype])}
            else:
                raise BuildError(f"no input given for parameter {a.name!r}")
        value = inputs[a.name]
        if a.is_array or a.by_pointer:
            arr = np.ascontiguousarray(np.array(value, dtype=_NP[a.dtype], copy=True))
            if a.is_array and arr.size != a.size:
                raise BuildError(f"input {a.name!r} has {arr.size} elements, "
                                 f"expected shape {a.shape}")
            arrays[a.name] = arr
            lib.emu_register_dram(arr.ctypes.data, arr.nbytes)
            c_args.append(ctypes.c_void_p(arr.ctypes.data))
        else:
            c_args.append(_C_SCALAR[a.dtype](value))
    fn = getattr(lib, signature.name)
    fn.restype = None
    fn(*c_args)
    err = lib.emu_error()
    if err:
        msg = err.decode()
        m = re.match(r"line (\d+): (.*)", msg, flags=re.S)
        raise HardwareError(m.group(2) if m else msg, filename=signature.name,
                            line=int(m.group(1)) if m else None)
    counts = {}
    for op in range(lib.emu_num_ops()):
        counts[lib.emu_op_name(op).decode()] = int(lib.emu_count(op))
    outputs = {a.name: arrays[a.name] for a in signature.params
               if not a.const and a.name in arrays}
    if not keep_memory:
        return EmulatorRun(outputs, counts)
    cfg = get_config(config)
    sp = _memory(lib.emu_scratchpad, cfg.sp_rows, cfg.dim, cfg.in_dtype)
    acc = _memory(lib.emu_accumulator, cfg.acc_rows, cfg.dim, cfg.acc_dtype)
    return EmulatorRun(outputs, counts, sp, acc)


def _memory(view, rows: int, dim: int, dtype: str) -> np.ndarray:
    """A copy of the emulator's scratchpad or accumulator (``view`` returns its address)."""
    view.restype = ctypes.c_void_p
    nbytes = rows * dim * np.dtype(dtype).itemsize
    raw = (ctypes.c_char * nbytes).from_address(view())
    return np.frombuffer(raw, dtype=dtype).reshape(rows, dim).copy()


def run_c(c_text: str, inputs: dict, *, params=None, context: str | None = None,
          function: str | None = None, h_text: str | None = None,
          config: GemminiConfig | str | None = None, **options) -> EmulatorRun:
    """Build (cached) and run trusted kernel C on ``inputs``.

    ``params`` (ir.Param tuple, with ``context`` the Exo context type if the C takes
    one) gives the signature; without it the signature is read from the C text
    (`lowering.signature`; a pointer of unknown extent takes the input's size).
    """
    if params is None:
        signature = read_signature(c_text, function=function, require_shapes=False)
    else:
        name = function or read_signature(c_text, require_shapes=False).name
        signature = Signature(name, tuple(params), context)
    so = build_kernel(c_text, config=config, h_text=h_text)
    return run_library(so, signature, inputs, config=config, **options)


def run_ir(fn, inputs: dict, config: GemminiConfig | str | None = None, **options) -> EmulatorRun:
    """Print an ir.Function with the toolchain printer and run it on the emulator."""
    from lowering.print_toolchain import to_toolchain_c

    c_text = to_toolchain_c(fn)
    return run_c(c_text, inputs, params=fn.params, context=fn.context, function=fn.name,
                 config=config, **options)
