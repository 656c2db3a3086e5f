"""The RV64GC classifier against words the GNU assembler produced (riscv64-unknown-elf-as
-march=rv64gc / rv64g), written down here so the test needs no toolchain."""

import pytest

from lowering.riscv import decode as dec

FP = dec.FP
CASES = [
    # word, class, rd, reads
    (0x0005A503, dec.LOAD, 10, (11,)),          # lw a0, 0(a1)
    (0x00813903, dec.LOAD, 18, (2,)),           # ld s2, 8(sp)
    (0x00053507, dec.LOAD, FP + 10, (10,)),     # fld fa0, 0(a0)
    (0x00113423, dec.STORE, None, (2, 1)),      # sd ra, 8(sp)
    (0x02C58533, dec.MUL, 10, (11, 12)),        # mul a0, a1, a2
    (0x02C5853B, dec.MUL, 10, (11, 12)),        # mulw a0, a1, a2
    (0x02F756B3, dec.DIV, 13, (14, 15)),        # divu a3, a4, a5
    (0x02F766BB, dec.DIV, 13, (14, 15)),        # remw a3, a4, a5
    (0x00C58533, dec.ALU, 10, (11, 12)),        # add a0, a1, a2
    (0x00B50063, dec.BRANCH, None, (10, 11)),   # beq a0, a1, .
    (0x000000EF, dec.JUMP, 1, ()),              # jal ra, .
    (0x00008067, dec.JUMP, None, (1,)),         # ret
    (0x0FF0000F, dec.FENCE, None, ()),          # fence
    (0xE0050553, dec.OTHER, 10, (FP + 10, FP + 0)),   # fmv.x.w a0, fa0
    (0x4188, dec.LOAD, 10, (11,)),              # c.lw a0, 0(a1)
    (0x6922, dec.LOAD, 18, (2,)),               # c.ldsp s2, 8(sp)
    (0x2108, dec.LOAD, FP + 10, (10,)),         # c.fld fa0, 0(a0)
    (0xE101, dec.BRANCH, None, (10,)),          # c.bnez a0, .
    (0x852E, dec.ALU, 10, (11,)),               # c.mv a0, a1
    (0x952E, dec.ALU, 10, (10, 11)),            # c.add a0, a0, a1
    (0x8082, dec.JUMP, None, (1,)),             # c.jr ra
    (0x0505, dec.ALU, 10, (10,)),               # c.addi a0, 1
    (0xE406, dec.STORE, None, (2, 1)),          # c.sdsp ra, 8(sp)
    (0xA001, dec.JUMP, None, ()),               # c.j .
]


@pytest.mark.parametrize("word,cls,rd,reads", CASES)
def test_decode(word, cls, rd, reads):
    ins = dec.decode(word)
    assert (ins.cls, ins.rd, ins.reads) == (cls, rd, reads)
    assert ins.size == (2 if word & 3 != 3 else 4)


def test_custom3_is_a_rocc_command_reading_rs1_and_rs2():
    word = (4 << 25) | (12 << 20) | (11 << 15) | (3 << 12) | 0x7B   # funct7 4, rs2 a2, rs1 a1
    assert dec.decode(word) == dec.Insn(4, dec.ROCC, None, (11, 12))
