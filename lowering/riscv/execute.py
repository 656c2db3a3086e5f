"""Run a compiled kernel on the ``unicorn`` RV64 emulator and price its core cycles.

Every custom-3 instruction (a Gemmini command) is replaced by a ``nop`` in the
emulator's memory and watched by a code hook that records its funct7 and the
values of rs1 and rs2; ``fence`` instructions are recorded the same way. A
block hook prices every executed block (`price_block`) and the branch that led
to it, so the log holds, for every recorded instruction, the core cycle at which
it starts. The price of the in-order core (docs/cpu_cost.md): one cycle per
instruction, plus `TimingParams` penalties for taken branches and jumps,
mispredicted conditional branches (a 1-bit predictor per branch, first guess not
taken), a load whose result the next instruction reads, multiplies, divides and
the command hand-off.
"""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gemmini.config import TimingParams
from gemmini.errors import AutocompError
from lowering.riscv import decode as dec
from lowering.riscv.elf import read_elf

FENCE = -1              # the log's kind of a fence (RoCC commands: their funct7)
NOP = 0x00000013        # addi x0, x0, 0
PAGE = 0x1000
RETURN_ADDRESS = 0x1000  # a page of nops: the run stops when the kernel returns here
STACK_TOP = 0x7FF0_0000
STACK_SIZE = 0x10_0000
DATA_BASE = 0x8000_0000  # first array argument; the others follow, page aligned
A0, FA0 = 10, 10           # the first argument registers, x10 and f10
RUN_TIMEOUT_US = 120_000_000


class CoreRunError(AutocompError):
    """The compiled kernel could not be run to its end on the emulator."""


@dataclass(frozen=True)
class Arg:
    """One argument of the kernel call: an integer (pointers included) or a float."""
    value: int | float
    is_float: bool = False


@dataclass(frozen=True)
class Buffer:
    """Memory the kernel may touch: ``size`` bytes at ``address``, starting with ``data``."""
    address: int
    size: int
    data: bytes = b""


@dataclass
class CoreLog:
    """What the core did: every recorded instruction (kind, rs1, rs2, start cycle) and
    the totals of the run."""
    kinds: list = field(default_factory=list)
    rs1: list = field(default_factory=list)
    rs2: list = field(default_factory=list)
    start: list = field(default_factory=list)
    cycles: int = 0
    instructions: int = 0
    counts: dict = field(default_factory=dict)   # instruction class -> executed count


def _block_price(insns: list[dec.Insn], tp: TimingParams) -> tuple[int, list[int]]:
    """Cycles of a block without the branch into it, and the cycle offset of each
    instruction within it."""
    t = 0
    offsets = []
    extra = {dec.MUL: tp.core_mul, dec.DIV: tp.core_div, dec.ROCC: tp.core_rocc}
    for i, ins in enumerate(insns):
        offsets.append(t)
        t += 1 + extra.get(ins.cls, 0)
        if ins.cls == dec.LOAD and ins.rd is not None and i + 1 < len(insns) \
                and ins.rd in insns[i + 1].reads:
            t += tp.core_load_use
    return t, offsets


def _map(uc, address: int, size: int, data: bytes = b"") -> None:
    lo = address & ~(PAGE - 1)
    hi = (address + max(size, 1) + PAGE - 1) & ~(PAGE - 1)
    uc.mem_map(lo, hi - lo)
    if data:
        uc.mem_write(address, data)


def _register_pair_reader(uc, x0: int):
    """``read(n, m)``: the values of integer registers xn and xm (x0 reads 0). Calls the
    engine's C function directly where the binding exposes it (the Python wrapper of
    ``reg_read`` would cost most of the run); else the public ``reg_read``."""
    lib = getattr(sys.modules.get(type(uc).__module__), "uclib", None)
    handle = getattr(uc, "_uch", None)
    c_read = getattr(lib, "uc_reg_read_batch", None)
    if c_read is None or handle is None:
        return lambda n, m: (uc.reg_read(x0 + n) if n else 0, uc.reg_read(x0 + m) if m else 0)
    values = (ctypes.c_uint64 * 2)()
    pointers = (ctypes.c_void_p * 2)(ctypes.addressof(values), ctypes.addressof(values) + 8)
    ids = {}

    def read(n: int, m: int) -> tuple[int, int]:
        regs = ids.get((n, m))
        if regs is None:
            regs = ids[(n, m)] = (ctypes.c_int * 2)(x0 + n, x0 + m)
        c_read(handle, regs, pointers, 2)
        return values[0] if n else 0, values[1] if m else 0
    return read


def run_kernel(elf: Path, args: list[Arg], buffers: list[Buffer], tp: TimingParams) -> CoreLog:
    """Call the kernel (the ELF's entry point) with ``args`` and log its commands."""
    try:    # imported here: only the compiled CPU cost needs the emulator
        import unicorn
        from unicorn import riscv_const as rc
    except ImportError:
        raise CoreRunError("the compiled CPU cost needs the unicorn emulator "
                           "(pip install unicorn)") from None
    image = read_elf(elf)
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV64)
    code: dict[int, int] = {}          # address -> 16-bit parcel, for the decoder
    sites: dict[int, tuple[int, int, int]] = {}   # address -> (kind, rs1 reg, rs2 reg)
    for seg in image.segments:
        _map(uc, seg.vaddr, seg.memsz)
        data = bytearray(seg.data)
        if seg.executable:
            off = 0
            while off + 2 <= len(data):
                half = int.from_bytes(data[off:off + 2], "little")
                size = 2 if half & 3 != 3 else 4
                word = int.from_bytes(data[off:off + size], "little")
                ins = dec.decode(word)
                if ins.cls == dec.ROCC:
                    sites[seg.vaddr + off] = ((word >> 25) & 0x7F, *ins.reads)
                    data[off:off + 4] = NOP.to_bytes(4, "little")
                elif ins.cls == dec.FENCE:
                    sites[seg.vaddr + off] = (FENCE, 0, 0)
                code[seg.vaddr + off] = word
                off += size
        uc.mem_write(seg.vaddr, bytes(data))
    for b in buffers:
        _map(uc, b.address, b.size, b.data)
    _map(uc, STACK_TOP - STACK_SIZE, STACK_SIZE)
    _map(uc, RETURN_ADDRESS, PAGE, NOP.to_bytes(4, "little") * (PAGE // 4))

    log = CoreLog()
    blocks: dict[tuple[int, int], tuple] = {}
    state = {"t": 0, "block_t": 0, "offsets": {}, "branch": None, "end": None}
    history: dict[int, bool] = {}
    runs: dict[tuple[int, int], int] = {}

    def on_block(_uc, address, size, _data):
        info = blocks.get((address, size))
        if info is None:
            insns, pcs, pc = [], [], address
            while pc < address + size:
                ins = dec.decode(code[pc])
                insns.append(ins)
                pcs.append(pc)
                pc += ins.size
            cost, offs = _block_price(insns, tp)
            last = insns[-1].cls if insns[-1].cls in (dec.BRANCH, dec.JUMP) else None
            info = blocks[(address, size)] = (cost, dict(zip(pcs, offs)), last, pcs[-1],
                                              address + size, insns)
        t = state["t"]
        branch = state["branch"]
        if branch is not None:
            kind, pc, fallthrough = branch
            if kind == dec.JUMP:
                t += tp.core_taken_branch
            else:
                taken = address != fallthrough
                if taken != history.get(pc, False):
                    t += tp.core_mispredict
                elif taken:
                    t += tp.core_taken_branch
                history[pc] = taken
        cost, offs, last, last_pc, end, _insns = info
        key = (address, size)
        runs[key] = runs.get(key, 0) + 1
        state["block_t"] = t
        state["offsets"] = offs
        state["t"] = t + cost
        state["branch"] = (last, last_pc, end) if last else None

    read = _register_pair_reader(uc, rc.UC_RISCV_REG_X0)
    kinds, rs1, rs2, start = log.kinds.append, log.rs1.append, log.rs2.append, log.start.append

    def on_site(_uc, address, _size, _data):
        kind, r1, r2 = sites[address]
        kinds(kind)
        v1, v2 = read(r1, r2)
        rs1(v1)
        rs2(v2)
        start(state["block_t"] + state["offsets"][address])

    uc.hook_add(unicorn.UC_HOOK_BLOCK, on_block)
    for address in sites:
        uc.hook_add(unicorn.UC_HOOK_CODE, on_site, begin=address, end=address)
    ints = iter(range(rc.UC_RISCV_REG_X0 + A0, rc.UC_RISCV_REG_X0 + A0 + 8))
    floats = iter(range(rc.UC_RISCV_REG_F0 + FA0, rc.UC_RISCV_REG_F0 + FA0 + 8))
    for a in args:
        if a.is_float:
            bits = int(np.float32(a.value).view(np.uint32))
            uc.reg_write(next(floats), 0xFFFFFFFF_00000000 | bits)   # NaN-boxed single
        else:
            uc.reg_write(next(ints), int(a.value) & (2**64 - 1))
    uc.reg_write(rc.UC_RISCV_REG_SP, STACK_TOP - 16)
    uc.reg_write(rc.UC_RISCV_REG_RA, RETURN_ADDRESS)
    try:
        uc.emu_start(image.entry, RETURN_ADDRESS, timeout=RUN_TIMEOUT_US)
    except unicorn.UcError as e:
        pc = uc.reg_read(rc.UC_RISCV_REG_PC)
        raise CoreRunError(f"the compiled kernel stopped at pc {pc:#x}: {e}") from None
    pc = uc.reg_read(rc.UC_RISCV_REG_PC)
    if pc != RETURN_ADDRESS:
        raise CoreRunError(f"the compiled kernel did not return within "
                           f"{RUN_TIMEOUT_US // 1_000_000} s (stopped at pc {pc:#x})")
    if state["branch"] is not None:        # the kernel's return jump
        state["t"] += tp.core_taken_branch
    log.cycles = state["t"]
    counts = dict.fromkeys(dec.CLASSES, 0)
    for key, n in runs.items():
        for ins in blocks[key][5]:
            counts[ins.cls] += n
    log.counts = counts
    log.instructions = sum(counts.values())
    return log
