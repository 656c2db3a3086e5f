"""Run a compiled kernel on the ``unicorn`` RV64 emulator and price its core cycles.

Every custom-3 instruction (a Gemmini command) and every ``fence`` is replaced in
the emulator's memory by a jump to a small trampoline that stores rs1 and rs2 at
the address in tp (x4, which compiled C never uses) and jumps back, so the
emulator logs the operands without calling Python. A block hook on the kernel's
code only records which block ran; after the run, `_price_blocks` prices every
executed block (`_block_price`, from the original instruction words) and the branch
that led to it, and gives the kind (funct7, or fence) and the start cycle of the
commands in the block, over all blocks at once. The price of the in-order core
(docs/cpu_cost.md): one cycle per instruction, plus `TimingParams` penalties for taken branches and jumps,
mispredicted conditional branches (a 1-bit predictor per branch, first guess not
taken), a load whose result the next instruction reads, multiplies, divides and
the command hand-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gemmini.config import TimingParams
from gemmini.errors import AutocompError
from lowering.riscv import decode as dec
from lowering.riscv import icache
from lowering.riscv.elf import read_elf

FENCE = -1              # the log's kind of a fence (RoCC commands: their funct7)
NOP = 0x00000013        # addi x0, x0, 0
PAGE = 0x1000
MSTATUS_FS = 3 << 13        # mstatus bits 13-14: floating-point unit state
RETURN_ADDRESS = 0x1000  # a page of nops: the run stops when the kernel returns here
STACK_TOP = 0x7FF0_0000
STACK_SIZE = 0x10_0000
DATA_BASE = 0x8000_0000  # first array argument; the others follow, page aligned
A0, FA0 = 10, 10         # the first argument registers, x10 and f10
RUN_TIMEOUT_US = 120_000_000
LOG_BASE = 0x4000_0000   # the command log (rs1, rs2 of every command)
TP = 4                   # tp (x4): the ABI's thread pointer, never allocated by compilers


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
    kinds: list = field(default_factory=list)       # funct7, or FENCE
    rs1: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    rs2: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    start: list = field(default_factory=list)       # core cycle at which each starts
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


def _sd(rs2: int, rs1: int, imm: int) -> int:
    """``sd rs2, imm(rs1)``."""
    return ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | ((imm & 31) << 7) | 0x23


def _addi(rd: int, rs1: int, imm: int) -> int:
    return (imm << 20) | (rs1 << 15) | (rd << 7) | 0x13


def _jal_x0(offset: int) -> int:
    """``jal x0, offset`` (offset even, within +-1 MiB)."""
    if not -(1 << 20) <= offset < (1 << 20):
        raise CoreRunError(f"a jump of {offset} bytes does not fit in jal")
    o = offset & ((1 << 21) - 1)
    return (((o >> 20) & 1) << 31) | (((o >> 1) & 0x3FF) << 21) | (((o >> 11) & 1) << 20) \
        | (((o >> 12) & 0xFF) << 12) | 0x6F


def _trampoline(site: int, at: int, r1: int, r2: int) -> bytes:
    """Log rs1 and rs2 at tp, advance tp, return after the site."""
    words = (_sd(r1, TP, 0), _sd(r2, TP, 8), _addi(TP, TP, 16), _jal_x0(site + 4 - (at + 12)))
    return b"".join(w.to_bytes(4, "little") for w in words)


def run_kernel(elf: Path, args: list[Arg], buffers: list[Buffer], tp: TimingParams,
               max_commands: int = 1 << 20) -> CoreLog:
    """Call the kernel (the ELF's entry point) with ``args`` and log its commands (at
    most ``max_commands``, fences included)."""
    try:    # imported here: only the compiled CPU cost needs the emulator
        import unicorn
        from unicorn import riscv_const as rc
    except ImportError:
        raise CoreRunError("the compiled CPU cost needs the unicorn emulator "
                           "(pip install unicorn)") from None
    image = read_elf(elf)
    uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV64)
    code: dict[int, int] = {}          # address -> instruction word, for the decoder
    sites: dict[int, int] = {}         # address -> kind (funct7 or FENCE)
    patches: list[tuple[int, int, int]] = []   # (site, rs1 reg, rs2 reg)
    for seg in image.segments:
        _map(uc, seg.vaddr, seg.memsz)
        uc.mem_write(seg.vaddr, seg.data)
    for start, length in image.code:
        data = bytes(uc.mem_read(start, length))
        off = 0
        while off + 2 <= length:
            size = 2 if data[off] & 3 != 3 else 4
            word = int.from_bytes(data[off:off + size], "little")
            ins = dec.decode(word)
            if TP in ins.reads or ins.rd == TP:
                raise CoreRunError(f"the compiled kernel uses tp (x4) at {start + off:#x}; "
                                   "the command log needs it")
            if ins.cls in (dec.ROCC, dec.FENCE):
                sites[start + off] = (word >> 25) & 0x7F if ins.cls == dec.ROCC else FENCE
                patches.append((start + off, *(ins.reads or (0, 0))))
            code[start + off] = word
            off += size
    text_lo = min(a for a, _ in image.code)
    text_hi = max(a + n for a, n in image.code)
    # every command (and fence) jumps to its trampoline, which logs rs1 and rs2 at tp
    tramp = (max(seg.vaddr + seg.memsz for seg in image.segments) + PAGE - 1) & ~(PAGE - 1)
    _map(uc, tramp, 16 * len(patches))
    for i, (site, r1, r2) in enumerate(patches):
        uc.mem_write(site, _jal_x0(tramp + 16 * i - site).to_bytes(4, "little"))
        uc.mem_write(tramp + 16 * i, _trampoline(site, tramp + 16 * i, r1, r2))
    log_size = 16 * (max_commands + 1)
    _map(uc, LOG_BASE, log_size)
    for b in buffers:
        _map(uc, b.address, b.size, b.data)
    _map(uc, STACK_TOP - STACK_SIZE, STACK_SIZE)
    _map(uc, RETURN_ADDRESS, PAGE, NOP.to_bytes(4, "little") * (PAGE // 4))

    log = CoreLog()
    executed: list[int] = []     # (address << 16 | size) of every executed block, in order
    record = executed.append

    def on_block(_uc, address, size, _data):
        record(address << 16 | size)

    uc.hook_add(unicorn.UC_HOOK_BLOCK, on_block, begin=text_lo, end=text_hi - 1)
    uc.reg_write(rc.UC_RISCV_REG_X0 + TP, LOG_BASE)
    _pass_arguments(uc, rc, args)
    uc.reg_write(rc.UC_RISCV_REG_RA, RETURN_ADDRESS)
    # the FPU on (mstatus.FS = dirty), as a kernel with float CPU code needs
    uc.reg_write(rc.UC_RISCV_REG_MSTATUS, uc.reg_read(rc.UC_RISCV_REG_MSTATUS) | MSTATUS_FS)
    try:
        uc.emu_start(image.entry, RETURN_ADDRESS, timeout=RUN_TIMEOUT_US)
    except unicorn.UcError as e:
        if uc.reg_read(rc.UC_RISCV_REG_X0 + TP) >= LOG_BASE + log_size - 16:
            raise CoreRunError(f"the compiled kernel issues more than {max_commands} "
                               "commands") from None
        pc = uc.reg_read(rc.UC_RISCV_REG_PC)
        raise CoreRunError(f"the compiled kernel stopped at pc {pc:#x}: {e}") from None
    pc = uc.reg_read(rc.UC_RISCV_REG_PC)
    if pc != RETURN_ADDRESS:
        raise CoreRunError(f"the compiled kernel did not return within "
                           f"{RUN_TIMEOUT_US // 1_000_000} s (stopped at pc {pc:#x})")
    n = (uc.reg_read(rc.UC_RISCV_REG_X0 + TP) - LOG_BASE) // 16
    if n > max_commands:
        raise CoreRunError(f"the compiled kernel issues more than {max_commands} commands")
    _price_blocks(log, np.asarray(executed, dtype=np.int64), code, sites, tp)
    if n != len(log.kinds):
        raise CoreRunError(f"the command log holds {n} commands, the blocks ran "
                           f"{len(log.kinds)}")
    regs = np.frombuffer(bytes(uc.mem_read(LOG_BASE, 16 * n)), dtype=np.uint64).reshape(n, 2)
    log.rs1, log.rs2 = regs[:, 0], regs[:, 1]
    return log


def _pass_arguments(uc, rc, args) -> None:
    """Set up the kernel's arguments and stack pointer by the LP64D calling convention:
    a float goes in the next free fa register, else like an integer; an integer in the
    next free a register, else in the next 8-byte slot of the caller's stack at sp."""
    ints = list(range(rc.UC_RISCV_REG_X0 + A0, rc.UC_RISCV_REG_X0 + A0 + 8))
    floats = list(range(rc.UC_RISCV_REG_F0 + FA0, rc.UC_RISCV_REG_F0 + FA0 + 8))
    stacked: list[int] = []
    for a in args:
        if a.is_float:
            bits = int(np.float32(a.value).view(np.uint32))
            if floats:
                uc.reg_write(floats.pop(0), 0xFFFFFFFF_00000000 | bits)   # NaN-boxed single
                continue
            word = bits
        else:
            word = int(a.value) & (2**64 - 1)
        if ints:
            uc.reg_write(ints.pop(0), word)
        else:
            stacked.append(word)
    sp = STACK_TOP - 16 - ((8 * len(stacked) + 15) & ~15)
    if stacked:
        uc.mem_write(sp, np.asarray(stacked, dtype=np.uint64).tobytes())
    uc.reg_write(rc.UC_RISCV_REG_SP, sp)


def _price_blocks(log: CoreLog, executed: np.ndarray, code: dict[int, int],
                  sites: dict[int, int], tp: TimingParams) -> None:
    """Price the executed blocks (``address << 16 | size`` in order) into ``log``: the
    start cycle and kind of every command, the run's cycles and instruction counts.

    A block costs `_block_price` of its instructions; the branch or jump ending a block
    costs the next one `core_taken_branch` when taken (a jump always is) and
    `core_mispredict` when the 1-bit predictor of that branch guessed wrong (its last
    outcome, first guess not taken). Done over all blocks at once, not per block."""
    counts = dict.fromkeys(dec.CLASSES, 0)
    if executed.size == 0:
        log.counts, log.cycles = counts, 0
        return
    keys, ids = np.unique(executed, return_inverse=True)
    nu = len(keys)
    cost = np.zeros(nu, np.int64)
    end_kind = np.zeros(nu, np.int8)       # 0: falls through, 1: jump, 2: conditional branch
    end_pc = np.zeros(nu, np.int64)
    fallthrough = np.zeros(nu, np.int64)
    nsites = np.zeros(nu, np.int64)
    site_offs: list[int] = []
    site_kinds: list[int] = []
    classes = np.zeros((nu, len(dec.CLASSES)), np.int64)
    column = {c: i for i, c in enumerate(dec.CLASSES)}
    for u, key in enumerate(keys.tolist()):
        address, size = key >> 16, key & 0xFFFF
        insns, pcs, pc = [], [], address
        while pc < address + size:
            ins = dec.decode(code[pc])
            insns.append(ins)
            pcs.append(pc)
            pc += ins.size
        cost[u], offs = _block_price(insns, tp)
        for p, o in zip(pcs, offs):
            if p in sites:
                site_offs.append(o)
                site_kinds.append(sites[p])
                nsites[u] += 1
        last = insns[-1].cls
        if last in (dec.BRANCH, dec.JUMP):
            end_kind[u] = 1 if last == dec.JUMP else 2
            end_pc[u], fallthrough[u] = pcs[-1], address + size
        for ins in insns:
            classes[u, column[ins.cls]] += 1
    addresses = keys[ids] >> 16
    before = ids[:-1]                       # the block each later block follows
    penalty = np.zeros(len(ids), np.int64)
    after = penalty[1:]                     # a view: the penalty of blocks 1..n-1
    after[end_kind[before] == 1] += tp.core_taken_branch
    branch = np.flatnonzero(end_kind[before] == 2)
    if branch.size:
        taken = addresses[branch + 1] != fallthrough[before[branch]]
        pcs = end_pc[before[branch]]
        order = np.argsort(pcs, kind="stable")
        pc_sorted, taken_sorted = pcs[order], taken[order]
        last_outcome = np.concatenate([[False], taken_sorted[:-1]])
        last_outcome[np.concatenate([[True], pc_sorted[1:] != pc_sorted[:-1]])] = False
        price = np.where(taken_sorted != last_outcome, tp.core_mispredict,
                         np.where(taken_sorted, tp.core_taken_branch, 0))
        branch_penalty = np.empty_like(price)
        branch_penalty[order] = price
        after[branch] += branch_penalty
    penalty += icache.miss_cycles(executed, tp)
    block_cost = cost[ids]
    start = np.cumsum(penalty) + np.concatenate([[0], np.cumsum(block_cost)[:-1]])
    log.cycles = int(start[-1] + block_cost[-1]
                     + (tp.core_taken_branch if end_kind[ids[-1]] else 0))   # the return
    per_block = nsites[ids]
    if per_block.any():
        first = np.concatenate([[0], np.cumsum(nsites)[:-1]])
        owner = np.repeat(np.arange(len(ids)), per_block)
        within = np.arange(owner.size) - np.repeat(np.cumsum(per_block) - per_block, per_block)
        flat = first[ids][owner] + within
        log.start = (start[owner] + np.asarray(site_offs, np.int64)[flat]).tolist()
        log.kinds = np.asarray(site_kinds, np.int64)[flat].tolist()
    totals = np.bincount(ids, minlength=nu) @ classes
    log.counts = {c: int(totals[column[c]]) for c in dec.CLASSES}
    log.instructions = int(totals.sum())
