"""Every Gemmini instruction described once, as data.

The parser reads the spellings, the model reads the operand roles, the printers
read the spellings back, and the prompt builder renders the descriptions. Nothing
else in the project hard-codes an instruction's operand list.

An instruction has one *canonical* operand list (``operands``). Each `Spelling`
maps a written form (a name and an arity) onto it: ``slots[i]`` is the canonical
operand that the i-th written argument fills; canonical operands no slot fills
take their `Operand.default` (``None`` means "left to the hardware").
"""

from __future__ import annotations

from dataclasses import dataclass

# Operand roles
DRAM = "dram"      # DramAddr, or the literal 0 meaning "no DRAM traffic"
LOCAL = "local"    # 32-bit local address (row + flag bits)
INT = "int"        # integer value
FLOAT = "float"    # float value (scales)

# Which engine queue an instruction enters (gemmini.md section 4)
LOAD, EXECUTE, STORE, NONE = "load", "execute", "store", "none"


@dataclass(frozen=True)
class Operand:
    name: str
    role: str
    default: object = None  # an int/float default, or None (hardware default / required)
    required: bool = True


@dataclass(frozen=True)
class Spelling:
    name: str
    slots: tuple[int, ...]
    long: bool  # a gemmini.h name (toolchain C) rather than a compact-dialect one


@dataclass(frozen=True)
class InstrSpec:
    op: str                       # canonical short name, the IR's Instr.op
    operands: tuple[Operand, ...]
    spellings: tuple[Spelling, ...]
    queue: str
    summary: str                  # one line for the ISA prompt

    def spelling(self, name: str, nargs: int) -> Spelling | None:
        for s in self.spellings:
            if s.name == name and len(s.slots) == nargs:
                return s
        return None

    def arities(self, name: str) -> list[int]:
        return sorted(len(s.slots) for s in self.spellings if s.name == name)

    def fill(self, spelling: Spelling, written: list) -> tuple:
        """Canonical operand tuple from the arguments written in ``spelling``."""
        args = [_default_operand(o) for o in self.operands]
        for slot, value in zip(spelling.slots, written):
            args[slot] = value
        return tuple(args)

    def pick_spelling(self, args: tuple, long: bool) -> Spelling:
        """First spelling of the wanted kind that can write ``args`` without loss."""
        for s in self.spellings:
            if s.long != long:
                continue
            omitted = set(range(len(self.operands))) - set(s.slots)
            if all(args[i] == _default_operand(self.operands[i]) for i in omitted) and all(
                args[i] is not None for i in s.slots
            ):
                return s
        raise ValueError(f"no {'long' if long else 'short'} spelling of {self.op} fits {args}")


def _default_operand(o: Operand):
    from gemmini.ir import Const, FloatConst

    if o.default is None:
        return None
    if isinstance(o.default, float):
        return FloatConst(o.default)
    return Const(o.default)


def _mv(op: str, long_name: str, queue: str, summary: str) -> InstrSpec:
    ops = (Operand("dram_addr", DRAM), Operand("local_addr", LOCAL),
           Operand("cols", INT), Operand("rows", INT))
    return InstrSpec(op, ops, (Spelling(op, (0, 1, 2, 3), False),
                               Spelling(long_name, (0, 1, 2, 3), True)), queue, summary)


def _mm(op: str, long_name: str, summary: str) -> InstrSpec:
    ops = (Operand("a_addr", LOCAL), Operand("d_addr", LOCAL),
           Operand("a_cols", INT), Operand("a_rows", INT),
           Operand("d_cols", INT), Operand("d_rows", INT))
    return InstrSpec(op, ops, (Spelling(op, tuple(range(6)), False),
                               Spelling(long_name, tuple(range(6)), True)), EXECUTE, summary)


SPECS: dict[str, InstrSpec] = {s.op: s for s in [
    InstrSpec(
        "config_ex",
        (Operand("dataflow", INT), Operand("act", INT), Operand("shift", INT, 0, False),
         Operand("a_stride", INT), Operand("a_transpose", INT), Operand("b_transpose", INT)),
        (Spelling("config_ex", (0, 1, 3, 4, 5), False),
         Spelling("config_ex", (0, 1, 2, 3, 4, 5), False),
         Spelling("gemmini_extended_config_ex", (0, 1, 2, 3, 4, 5), True)),
        EXECUTE,
        "config_ex(dataflow, act, A_stride, A_transpose, B_transpose): set the execute "
        "pipeline (dataflow WEIGHT_STATIONARY=1); waits for the execute pipeline to drain.",
    ),
    InstrSpec(
        "config_ld",
        (Operand("stride", INT), Operand("scale", FLOAT, 1.0, False), Operand("shrunk", INT, 0, False),
         Operand("block_stride", INT, None, False), Operand("id", INT, 0, False)),
        (Spelling("config_ld", (0, 1, 3, 4), False),
         Spelling("config_ld", (0, 1, 4), False),
         Spelling("config_ld", (0, 1), False),
         Spelling("config_ld", (0,), False),
         Spelling("gemmini_extended3_config_ld", (0, 1, 2, 4), True),
         Spelling("gemmini_extended4_config_ld", (0, 1, 2, 3, 4), True)),
        LOAD,
        "config_ld(dram_stride_bytes, scale, block_stride_rows, id): configure load state id "
        "(0 mvin, 1 mvin2, 2 mvin3); block stride defaults to DIM rows.",
    ),
    InstrSpec(
        "config_st",
        (Operand("stride", INT), Operand("act", INT, 0, False),
         Operand("scale", FLOAT, 1.0, False)),
        (Spelling("config_st", (0, 1, 2), False),
         Spelling("config_st", (0, 1), False),
         Spelling("config_st", (0,), False),
         Spelling("gemmini_extended_config_st", (0, 1, 2), True)),
        STORE,
        "config_st(dram_stride_bytes, act, scale): configure mvout (act 0 none, 1 ReLU; "
        "float32 scale applied to accumulator reads).",
    ),
    _mv("mvin", "gemmini_extended_mvin", LOAD,
        "mvin(dram_addr, local_addr, cols, rows): DRAM -> local, load state 0; "
        "dram_addr 0 writes zeros."),
    _mv("mvin2", "gemmini_extended_mvin2", LOAD,
        "mvin2(dram_addr, local_addr, cols, rows): like mvin with load state 1."),
    _mv("mvin3", "gemmini_extended_mvin3", LOAD,
        "mvin3(dram_addr, local_addr, cols, rows): like mvin with load state 2."),
    _mv("mvout", "gemmini_extended_mvout", STORE,
        "mvout(dram_addr, local_addr, cols, rows): local -> DRAM; accumulator reads are "
        "scaled, rounded half-to-even, saturated and optionally ReLU'd unless bit 29 is set."),
    InstrSpec(
        "preload",
        (Operand("b_addr", LOCAL), Operand("c_addr", LOCAL),
         Operand("b_cols", INT), Operand("b_rows", INT),
         Operand("c_cols", INT), Operand("c_rows", INT)),
        (Spelling("preload", tuple(range(6)), False),
         Spelling("gemmini_extended_preload", tuple(range(6)), True)),
        EXECUTE,
        "preload(B_addr, C_addr, B_cols, B_rows, C_cols, C_rows): weights B for the next "
        "compute and its output C (bit 30 accumulates; garbage C discards).",
    ),
    _mm("compute_preloaded", "gemmini_extended_compute_preloaded",
        "compute_preloaded(A_addr, D_addr, A_cols, A_rows, D_cols, D_rows): "
        "C (+)= D + A * B with the newly preloaded weights (D garbage = zeros)."),
    _mm("compute_accumulated", "gemmini_extended_compute_accumulated",
        "compute_accumulated(A_addr, D_addr, A_cols, A_rows, D_cols, D_rows): "
        "like compute_preloaded but keeps the weights already in the array."),
    InstrSpec("fence", (), (Spelling("fence", (), False), Spelling("gemmini_fence", (), True)),
              NONE, "fence(): the CPU waits until the accelerator is idle."),
    InstrSpec(
        "loop_ws",
        tuple(Operand(n, r) for n, r in [
            ("I", INT), ("J", INT), ("K", INT), ("pad_I", INT), ("pad_J", INT), ("pad_K", INT),
            ("A", DRAM), ("B", DRAM), ("D", DRAM), ("C", DRAM),
            ("A_stride", INT), ("B_stride", INT), ("D_stride", INT), ("C_stride", INT),
            ("A_transpose", INT), ("B_transpose", INT), ("full_C", INT), ("low_D", INT),
            ("ex_accumulate", INT), ("act", INT)]),
        (Spelling("loop_ws", tuple(range(20)), False),
         Spelling("gemmini_loop_ws", tuple(range(20)), True)),
        EXECUTE,
        "loop_ws(I, J, K, pad_I, pad_J, pad_K, A, B, D, C, A_stride, B_stride, D_stride, "
        "C_stride, A_transpose, B_transpose, full_C, low_D, ex_accumulate, act): the on-chip "
        "tiled matmul state machine (I, J, K in DIM blocks).",
    ),
]}

# Spelling name -> spec, for the parser.
BY_NAME: dict[str, InstrSpec] = {sp.name: s for s in SPECS.values() for sp in s.spellings}

# Named constants that programs may use as instruction operands.
CONSTANTS: dict[str, int] = {
    "WS": 1, "OS": 0, "WEIGHT_STATIONARY": 1, "OUTPUT_STATIONARY": 0,
    "NO_ACTIVATION": 0, "RELU": 1, "true": 1, "false": 0,
}
