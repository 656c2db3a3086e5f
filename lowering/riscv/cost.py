"""CPU cost of a trace from its compiled kernel: compile, run, check, price.

`compiled_cpu_cost(fn, inputs, cfg, trace)` prints ``fn`` as toolchain C
(`lowering.print_toolchain`), compiles it with our ``gemmini.h``
(`lowering.riscv.toolchain`), runs it on the emulator with the inputs' scalars
(`lowering.riscv.execute`; every array mapped and filled with the inputs' values, so
CPU code in the kernel reads real data), checks that the commands it issued are the trace's
(count, funct7 of every command, and every integer field: local addresses,
sizes, DRAM addresses relative to the arrays' bases) and turns the core cycles
between commands into `gemmini.trace.CpuCost` arrays: ``pre`` = cycles from the
end of the previous instruction's last command to its first command, ``issue`` =
cycles from its first command to the end of its last (six for loop_ws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gemmini import ir, isa
from gemmini.config import GemminiConfig
from gemmini.errors import AutocompError
from gemmini.trace import LOOP_WS, SPEC_OF, CpuCost, Trace
from lowering.print_toolchain import to_toolchain_c
from lowering.riscv import execute
from lowering.riscv.toolchain import Compiler, compile_kernel, find_riscv_compiler

ELEMENT_BYTES = {"i8": 1, "i32": 4, "f32": 4, "bool": 1}
NP_DTYPES = {"i8": np.int8, "i32": np.int32, "f32": np.float32, "bool": np.bool_}
U64 = (1 << 64) - 1


class CommandMismatch(AutocompError):
    """The compiled kernel's commands differ from the model's trace."""


@dataclass(frozen=True)
class CompiledCost:
    cost: CpuCost
    instructions: int           # RISC-V instructions executed
    counts: dict                # instruction class -> executed count
    cycles: int                 # core cycles of the whole kernel


def _layout(fn: ir.Function, inputs: dict):
    """Kernel arguments, the memory they point to and each array's base address."""
    args = [execute.Arg(0)] if fn.context else []
    buffers, bases = [], []
    address = execute.DATA_BASE
    for p in fn.params:
        if p.is_array:
            size = p.size * ELEMENT_BYTES[p.dtype]
            bases.append((address, ELEMENT_BYTES[p.dtype]))
            data = b""           # the set's values, so CPU code branches on real data
            if p.name in inputs:
                data = np.ascontiguousarray(inputs[p.name], dtype=NP_DTYPES[p.dtype]).tobytes()
                data = data[:size]
            buffers.append(execute.Buffer(address, size, data))
            args.append(execute.Arg(address))
            address += (size + 2 * execute.PAGE - 1) & ~(execute.PAGE - 1)
            continue
        value = np.asarray(inputs[p.name]).reshape(-1)[0]
        if p.by_pointer:
            dtype = np.float32 if p.dtype == "f32" else np.int32
            buffers.append(execute.Buffer(address, 8, np.asarray(value, dtype).tobytes()))
            args.append(execute.Arg(address))
            address += execute.PAGE
        elif p.dtype == "f32":
            args.append(execute.Arg(float(value), is_float=True))
        else:
            args.append(execute.Arg(int(value)))
    return args, buffers, bases


def _expected_fields(trace: Trace, k: int, bases) -> dict[str, int]:
    """Integer operand values of trace row ``k`` by canonical name (DRAM: addresses)."""
    spec = SPEC_OF[int(trace.op[k])]
    ints = [o for o in spec.operands if o.role != isa.FLOAT]
    if int(trace.op[k]) == LOOP_WS:
        values = trace.loop_ws[k]
        out = {}
        for o, v in zip(spec.operands, values):
            if isinstance(v, tuple):
                arr, idx = v
                v = 0 if arr < 0 else bases[arr][0] + idx * bases[arr][1]
            out[o.name] = v
        return out
    out = {}
    for col, o in enumerate(ints):
        v = int(trace.ints[k, col])
        if o.role == isa.DRAM:
            arr = int(trace.dram[k])
            v = 0 if arr < 0 else bases[arr][0] + v * bases[arr][1]
        out[o.name] = v
    return out


def check_commands(trace: Trace, log: execute.CoreLog, bases) -> np.ndarray:
    """Index of each trace row's first command in ``log``; `CommandMismatch` naming the
    first difference if the compiled kernel issued other commands than the trace."""
    ncmd = np.array([max(1, len(s.commands)) for s in SPEC_OF])[trace.op.astype(np.int64)]
    first = (np.cumsum(ncmd) - ncmd).astype(np.int64)      # empty for an empty trace
    total = int(ncmd.sum())
    if total != len(log.kinds):
        raise CommandMismatch(f"the compiled kernel issued {len(log.kinds)} commands, the "
                              f"trace needs {total} for {len(trace)} instructions")
    kinds = np.asarray(log.kinds, dtype=np.int64)
    rs = (np.array(log.rs1, dtype=np.uint64), np.array(log.rs2, dtype=np.uint64))
    for code in np.unique(trace.op):
        spec = SPEC_OF[int(code)]
        rows = np.flatnonzero(trace.op == code)
        for c, cmd in enumerate(spec.commands or (None,)):
            at = first[rows] + c
            want = execute.FENCE if cmd is None else cmd.funct7
            bad = np.flatnonzero(kinds[at] != want)
            if len(bad):
                k = int(rows[bad[0]])
                raise CommandMismatch(f"trace instruction {k} ({trace.where(k)}) expects "
                                      f"command {want}, the compiled kernel issued "
                                      f"{int(kinds[at[bad[0]]])}")
        _check_fields(trace, spec, rows, first, rs, bases)
    return first


def _check_fields(trace, spec, rows, first, rs, bases) -> None:
    roles = {o.name: o.role for o in spec.operands}
    expected = _expected_columns(trace, spec, rows, bases)
    for c, cmd in enumerate(spec.commands):
        at = first[rows] + c
        for reg, fields in ((0, cmd.rs1), (1, cmd.rs2)):
            for f in fields:
                if isinstance(f.source, int) or roles[f.source] == isa.FLOAT:
                    continue
                mask = np.uint64(U64 if f.width >= 64 else (1 << f.width) - 1)
                got = (rs[reg][at] >> np.uint64(f.shift)) & mask
                want = expected[f.source].astype(np.uint64) & mask
                bad = np.flatnonzero(got != want)
                if len(bad):
                    k = int(rows[bad[0]])
                    raise CommandMismatch(
                        f"trace instruction {k} ({trace.where(k)}): operand {f.source} is "
                        f"{int(want[bad[0]]):#x} in the model, {int(got[bad[0]]):#x} in the "
                        "compiled kernel")


def _expected_columns(trace, spec, rows, bases) -> dict[str, np.ndarray]:
    if int(trace.op[rows[0]]) == LOOP_WS:
        per_row = [_expected_fields(trace, int(k), bases) for k in rows]
        return {name: np.array([r[name] & U64 for r in per_row], dtype=np.uint64)
                for name in per_row[0]}
    out = {}
    ints = [o for o in spec.operands if o.role != isa.FLOAT]
    base = np.array([b for b, _ in bases] + [0], dtype=np.int64)
    size = np.array([s for _, s in bases] + [0], dtype=np.int64)
    for col, o in enumerate(ints):
        v = trace.ints[rows, col].astype(np.int64)
        if o.role == isa.DRAM:
            arr = trace.dram[rows].astype(np.int64)    # -1 (no DRAM) picks base 0, size 0
            v = base[arr] + v * size[arr]
        out[o.name] = v.astype(np.uint64)
    return out


def price(trace: Trace, log: execute.CoreLog, first: np.ndarray, rocc_cycles: int,
          source: str) -> CpuCost:
    """`CpuCost` of ``trace`` from the start cycle of every command in ``log``."""
    ncmd = np.diff(np.append(first, len(log.kinds)))
    start = np.asarray(log.start, dtype=np.int64)
    kinds = np.asarray(log.kinds, dtype=np.int64)
    end = start + np.where(kinds == execute.FENCE, 1, rocc_cycles)
    begin = start[first]
    finish = end[first + ncmd - 1]
    before = np.concatenate([[0], finish[:-1]])
    tail = log.cycles - (int(finish[-1]) if len(finish) else 0)
    return CpuCost(begin - before, finish - begin, tail, source)


def compiled_cpu_cost(fn: ir.Function, inputs: dict, cfg: GemminiConfig, trace: Trace,
                      compiler: Compiler | None = None,
                      runtime_bases: bool = False) -> CompiledCost:
    """Price ``trace`` (of ``fn`` on ``inputs``) from ``fn`` compiled for RISC-V
    (``runtime_bases``: allocation bases opaque to the compiler, `to_toolchain_c`)."""
    compiler = compiler or find_riscv_compiler()
    elf = compile_kernel(to_toolchain_c(fn, runtime_bases), fn.name, cfg, compiler)
    args, buffers, bases = _layout(fn, inputs)
    expected = sum(max(1, len(SPEC_OF[int(c)].commands)) * int(n)
                   for c, n in zip(*np.unique(trace.op, return_counts=True)))
    log = execute.run_kernel(elf, args, buffers, cfg.timing, max_commands=expected)
    first = check_commands(trace, log, bases)
    cost = price(trace, log, first, 1 + cfg.timing.core_rocc, compiler.name)
    return CompiledCost(cost, log.instructions, log.counts, log.cycles)
