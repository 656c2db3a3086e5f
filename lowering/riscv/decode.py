"""Classify RV64GC instructions (32-bit and compressed) for the core's price.

`decode(word)` gives an `Insn`: its size in bytes, its class (`ALU`, `LOAD`,
`STORE`, `MUL`, `DIV`, `BRANCH`, `JUMP`, `ROCC`, `FENCE`, `OTHER`), the register
it writes and the registers it reads (integer registers 0-31, floating-point
registers 32-63), enough for load-use hazards. Only the fields the price needs
are decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

from gemmini import isa

ALU, LOAD, STORE, MUL, DIV, BRANCH, JUMP, ROCC, FENCE, OTHER = (
    "alu", "load", "store", "mul", "div", "branch", "jump", "rocc", "fence", "other")
CLASSES = (ALU, LOAD, STORE, MUL, DIV, BRANCH, JUMP, ROCC, FENCE, OTHER)
FP = 32     # register number offset of f0
SP = 2


@dataclass(frozen=True)
class Insn:
    size: int
    cls: str
    rd: int | None = None          # register written (None: none, or x0)
    reads: tuple[int, ...] = ()


def _bits(w: int, hi: int, lo: int) -> int:
    return (w >> lo) & ((1 << (hi - lo + 1)) - 1)


def _rd(r: int) -> int | None:
    return r or None


def decode(word: int) -> Insn:
    """The instruction whose low bits are ``word`` (at least 16, normally 32 bits)."""
    if word & 3 != 3:
        return _decode16(word & 0xFFFF)
    return _decode32(word & 0xFFFFFFFF)


def _decode32(w: int) -> Insn:
    op = w & 0x7F
    rd, rs1, rs2 = _bits(w, 11, 7), _bits(w, 19, 15), _bits(w, 24, 20)
    f3, f7 = _bits(w, 14, 12), _bits(w, 31, 25)
    if op == 0x03:
        return Insn(4, LOAD, _rd(rd), (rs1,))
    if op == 0x07:
        return Insn(4, LOAD, FP + rd, (rs1,))
    if op == 0x23:
        return Insn(4, STORE, None, (rs1, rs2))
    if op == 0x27:
        return Insn(4, STORE, None, (rs1, FP + rs2))
    if op in (0x13, 0x1B):
        return Insn(4, ALU, _rd(rd), (rs1,))
    if op in (0x37, 0x17):
        return Insn(4, ALU, _rd(rd))
    if op in (0x33, 0x3B):
        cls = (MUL if f3 < 4 else DIV) if f7 == 1 else ALU
        return Insn(4, cls, _rd(rd), (rs1, rs2))
    if op == 0x63:
        return Insn(4, BRANCH, None, (rs1, rs2))
    if op == 0x6F:
        return Insn(4, JUMP, _rd(rd))
    if op == 0x67:
        return Insn(4, JUMP, _rd(rd), (rs1,))
    if op == isa.ROCC_OPCODE:
        return Insn(4, ROCC, None, (rs1, rs2))
    if op == 0x0F:
        return Insn(4, FENCE)
    if op == 0x53:      # OP-FP: moves and conversions between the files included
        to_int = f7 in (0x70, 0x71, 0x60, 0x61, 0x50, 0x51)
        from_int = f7 in (0x78, 0x79, 0x68, 0x69)
        return Insn(4, OTHER, _rd(rd) if to_int else FP + rd,
                    (rs1,) if from_int else (FP + rs1, FP + rs2))
    return Insn(4, OTHER, _rd(rd), (rs1, rs2))


def _decode16(h: int) -> Insn:
    q, f3 = h & 3, _bits(h, 15, 13)
    r_hi, r2 = _bits(h, 11, 7), _bits(h, 6, 2)       # full register fields
    p_hi, p_lo = 8 + _bits(h, 9, 7), 8 + _bits(h, 4, 2)  # the 3-bit (x8-x15) fields
    if q == 0:
        if f3 == 0:
            return Insn(2, ALU, p_lo, (SP,))                 # c.addi4spn
        if f3 in (2, 3):
            return Insn(2, LOAD, p_lo, (p_hi,))              # c.lw, c.ld
        if f3 == 1:
            return Insn(2, LOAD, FP + p_lo, (p_hi,))         # c.fld
        if f3 in (6, 7):
            return Insn(2, STORE, None, (p_hi, p_lo))        # c.sw, c.sd
        return Insn(2, STORE, None, (p_hi, FP + p_lo))       # c.fsd
    if q == 1:
        if f3 in (0, 1):
            return Insn(2, ALU, _rd(r_hi), (r_hi,))          # c.addi, c.addiw
        if f3 == 2:
            return Insn(2, ALU, _rd(r_hi))                   # c.li
        if f3 == 3:
            return Insn(2, ALU, _rd(r_hi), (r_hi,) if r_hi == SP else ())  # c.addi16sp, c.lui
        if f3 == 4:
            reg = _bits(h, 11, 10) == 3
            return Insn(2, ALU, p_hi, (p_hi, p_lo) if reg else (p_hi,))
        if f3 == 5:
            return Insn(2, JUMP)                             # c.j
        return Insn(2, BRANCH, None, (p_hi,))                # c.beqz, c.bnez
    if q == 2:
        if f3 == 0:
            return Insn(2, ALU, _rd(r_hi), (r_hi,))          # c.slli
        if f3 in (2, 3):
            return Insn(2, LOAD, _rd(r_hi), (SP,))           # c.lwsp, c.ldsp
        if f3 == 1:
            return Insn(2, LOAD, FP + r_hi, (SP,))           # c.fldsp
        if f3 == 4:
            if r2 == 0:                                      # c.jr, c.jalr, c.ebreak
                if r_hi == 0:
                    return Insn(2, OTHER)
                return Insn(2, JUMP, 1 if _bits(h, 12, 12) else None, (r_hi,))
            if _bits(h, 12, 12):
                return Insn(2, ALU, _rd(r_hi), (r_hi, r2))   # c.add
            return Insn(2, ALU, _rd(r_hi), (r2,))            # c.mv
        if f3 == 5:
            return Insn(2, STORE, None, (SP, FP + r2))       # c.fsdsp
        return Insn(2, STORE, None, (SP, r2))                # c.swsp, c.sdsp
    raise ValueError(f"{h:#06x} is not a 16-bit instruction")
