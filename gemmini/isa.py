"""Every Gemmini instruction described once, as data.

The parser reads the spellings, the trace reads the operand roles and numbers the
instructions in table order (its op codes), the timing model reads the queue and the
cost class, the printers read the spellings and operand symbols back, and the prompt
builder renders the signatures and summaries. Nothing else hard-codes an
instruction's operand list, queue or cost.

An instruction has one *canonical* operand list (``operands``). Each `Spelling`
maps a written form (a name and an arity) onto it: ``slots[i]`` is the canonical
operand that the i-th written argument fills; canonical operands no slot fills
take their `Operand.default` (``None`` means "left to the hardware").
"""

from __future__ import annotations

from dataclasses import dataclass

from gemmini.ir import Const, FloatConst

# Operand roles
DRAM = "dram"      # DramAddr, or the literal 0 meaning "no DRAM traffic"
LOCAL = "local"    # 32-bit local address (row + flag bits)
INT = "int"        # integer value
FLOAT = "float"    # float value (scales)

# An operand default that is the array size DIM of the configuration.
DIM = "DIM"

# Which engine queue an instruction enters (docs/hardware.md section 4); NONE: no queue.
LOAD, EXECUTE, STORE, NONE = "load", "execute", "store", "none"
QUEUES = (LOAD, EXECUTE, STORE, NONE)

# Cost classes: how the timing model prices an instruction (`gemmini.timing`; every
# number is a `gemmini.config.TimingParams` field).
CONFIG = "config"              # occupies its queue for config_cycles
DRAIN = "drain"                # waits for the execute pipeline to drain, then config_ex_drain
MOVE_IN = "move_in"            # DMA from DRAM (or zero fill) into local memory
MOVE_OUT = "move_out"          # through the store pipeline and the bus to DRAM
PRELOAD = "preload"            # weights into the array: hidden behind a compute, or preload_cycles
COMPUTE = "compute"            # a block with the newly preloaded weights (reads A and B banks)
COMPUTE_HELD = "compute_held"  # a block with the weights held in the array (reads A only)
FSM = "fsm"                    # the loop FSM: loop_ws_commands RoCC commands, waits for an
                               # idle accelerator, priced by `gemmini.loop_ws.cost`
FENCE = "fence"                # the CPU waits until every instruction has completed
COST_CLASSES = (CONFIG, DRAIN, MOVE_IN, MOVE_OUT, PRELOAD, COMPUTE, COMPUTE_HELD, FSM, FENCE)


@dataclass(frozen=True)
class Operand:
    name: str
    role: str
    default: object = None  # int/float default, DIM, or None (required)
    symbols: tuple[tuple[int, str], ...] = ()       # value -> name in the compact dialect
    long_symbols: tuple[tuple[int, str], ...] = ()  # value -> name in toolchain C

    @property
    def optional(self) -> bool:
        return self.default is not None

    def omitted_value(self):
        """The IR value of this operand when a spelling omits it (None: left to the hardware)."""
        if self.default is None or self.default == DIM:
            return None
        if isinstance(self.default, float):
            return FloatConst(self.default)
        return Const(self.default)


@dataclass(frozen=True)
class Spelling:
    name: str
    slots: tuple[int, ...]
    long: bool  # a gemmini.h name (toolchain C) rather than a compact-dialect one


# RoCC encoding (docs/cpu_cost.md): gemmini.h emits every command as the R-type
# instruction ``.insn r 0x7B, 3, funct7, x0, rs1, rs2``: opcode custom-3, funct3 3
# (xs1 and xs2 read, no result register), rd x0. The fence is the core's own ``fence``.
ROCC_OPCODE = 0x7B
ROCC_FUNCT3 = 3
ACC_SCALE_IDENTITY_BITS = 0x3F800000     # float 1.0, the config_ex accumulator scale


@dataclass(frozen=True)
class Field:
    """One field of a RoCC source register: ``source`` (a canonical operand name or an
    integer constant) shifted left by ``shift``; ``width`` bits (64: the whole register).
    A FLOAT operand is packed as its float32 bit pattern, a LOCAL one as 32 bits."""
    source: str | int
    shift: int
    width: int


@dataclass(frozen=True)
class Command:
    """One RoCC command: its funct7 and the fields packed into rs1 and rs2."""
    funct7: int
    rs1: tuple[Field, ...]
    rs2: tuple[Field, ...]


@dataclass(frozen=True)
class InstrSpec:
    op: str                       # canonical short name, the IR's Instr.op
    operands: tuple[Operand, ...]
    spellings: tuple[Spelling, ...]  # the first compact one is the prompt's signature
    queue: str
    cost: str                     # cost class
    summary: str                  # what it does, for the ISA prompt; {fields} of
                                  # `summary_fields` depend on the configuration
    load_id: int | None = None    # the load state (config_ld id) a move-in uses
    # local memory it touches: (address operand, row-count operand, "r" or "w")
    local_ranges: tuple[tuple[int, int, str], ...] = ()
    # the RoCC commands gemmini.h issues for it, in order (empty: the core's fence)
    commands: tuple[Command, ...] = ()

    def spelling(self, name: str, nargs: int) -> Spelling | None:
        for s in self.spellings:
            if s.name == name and len(s.slots) == nargs:
                return s
        return None

    def arities(self, name: str) -> list[int]:
        return sorted(len(s.slots) for s in self.spellings if s.name == name)

    def fill(self, spelling: Spelling, written: list) -> tuple:
        """Canonical operand tuple from the arguments written in ``spelling``."""
        args = [o.omitted_value() for o in self.operands]
        for slot, value in zip(spelling.slots, written):
            args[slot] = value
        return tuple(args)

    def pick_spelling(self, args: tuple, long: bool) -> Spelling:
        """First spelling of the wanted kind that can write ``args`` without loss."""
        for s in self.spellings:
            if s.long != long:
                continue
            omitted = set(range(len(self.operands))) - set(s.slots)
            if all(args[i] == self.operands[i].omitted_value() for i in omitted) and all(
                args[i] is not None for i in s.slots
            ):
                return s
        raise ValueError(f"no {'long' if long else 'short'} spelling of {self.op} fits {args}")

    def signature(self) -> str:
        """``name(operand, ...)`` of the first compact spelling."""
        return self.signatures()[0]

    def signatures(self) -> list[str]:
        """``name(operand, ...)`` of every compact spelling, in table order."""
        return [f"{s.name}({', '.join(self.operands[i].name for i in s.slots)})"
                for s in self.spellings if not s.long]

    def omitted_defaults(self) -> list[tuple[str, object]]:
        """(operand, value) of the operands some compact spelling leaves out: what an
        omitted operand means (``DIM`` for the array size)."""
        written = [set(s.slots) for s in self.spellings if not s.long]
        return [(o.name, o.default) for i, o in enumerate(self.operands)
                if o.default is not None and any(i not in w for w in written)
                and any(i in w for w in written)]


def _block(addr: str, cols: str, rows: str) -> tuple[Field, ...]:
    """``rows << 48 | cols << 32 | addr``: a local address with its block size."""
    return (Field(rows, 48, 16), Field(cols, 32, 16), Field(addr, 0, 32))


def _mv(op: str, long_name: str, queue: str, cost: str, summary: str, funct7: int,
        load_id: int | None = None) -> InstrSpec:
    ops = (Operand("dram_addr", DRAM), Operand("local_addr", LOCAL),
           Operand("cols", INT), Operand("rows", INT))
    return InstrSpec(op, ops, (Spelling(op, (0, 1, 2, 3), False),
                               Spelling(long_name, (0, 1, 2, 3), True)), queue, cost, summary,
                     load_id, ((1, 3, "r" if queue == STORE else "w"),),
                     (Command(funct7, (Field("dram_addr", 0, 64),),
                              _block("local_addr", "cols", "rows")),))


def _mm(op: str, long_name: str, cost: str, summary: str, funct7: int) -> InstrSpec:
    ops = (Operand("A_addr", LOCAL), Operand("D_addr", LOCAL),
           Operand("A_cols", INT), Operand("A_rows", INT),
           Operand("D_cols", INT), Operand("D_rows", INT))
    return InstrSpec(op, ops, (Spelling(op, tuple(range(6)), False),
                               Spelling(long_name, tuple(range(6)), True)), EXECUTE, cost,
                     summary, local_ranges=((0, 3, "r"), (1, 5, "r")),
                     commands=(Command(funct7, _block("A_addr", "A_cols", "A_rows"),
                                       _block("D_addr", "D_cols", "D_rows")),))


SPECS: dict[str, InstrSpec] = {s.op: s for s in [
    InstrSpec(
        "config_ex",
        (Operand("dataflow", INT, symbols=((1, "WEIGHT_STATIONARY"), (0, "OUTPUT_STATIONARY")),
                 long_symbols=((1, "WS"),)),
         Operand("act", INT), Operand("shift", INT, 0),
         Operand("A_stride", INT), Operand("A_transpose", INT), Operand("B_transpose", INT)),
        (Spelling("config_ex", (0, 1, 3, 4, 5), False),
         Spelling("config_ex", (0, 1, 2, 3, 4, 5), False),
         Spelling("gemmini_extended_config_ex", (0, 1, 2, 3, 4, 5), True)),
        EXECUTE, DRAIN,
        "set the execute pipeline (dataflow WEIGHT_STATIONARY=1); waits for the execute "
        "pipeline to drain.",
        # funct7 0, rs1[1:0] = 0; C_stride 1 and the identity accumulator scale as
        # gemmini_extended_config_ex passes them, set_only_strides 0
        commands=(Command(0, (Field(ACC_SCALE_IDENTITY_BITS, 32, 32), Field("A_stride", 16, 16),
                              Field("B_transpose", 9, 1), Field("A_transpose", 8, 1),
                              Field("act", 3, 4), Field("dataflow", 2, 1), Field(0, 0, 2)),
                          (Field(1, 48, 16), Field("shift", 0, 32))),),
    ),
    InstrSpec(
        "config_ld",
        (Operand("dram_stride", INT), Operand("scale", FLOAT, 1.0), Operand("shrunk", INT, 0),
         Operand("block_stride", INT, DIM), Operand("id", INT, 0)),
        # the 3-operand form first: it is what the printers write for the default block
        # stride, so the prompt's first signature matches the code the model reads
        (Spelling("config_ld", (0, 1, 4), False),
         Spelling("config_ld", (0, 1, 3, 4), False),
         Spelling("config_ld", (0, 1), False),
         Spelling("config_ld", (0,), False),
         Spelling("gemmini_extended3_config_ld", (0, 1, 2, 4), True),
         Spelling("gemmini_extended4_config_ld", (0, 1, 2, 3, 4), True)),
        LOAD, CONFIG,
        "configure load state id (0 mvin, 1 mvin2, 2 mvin3): DRAM row stride in bytes, "
        "scale, block stride in rows (default DIM).",
        # funct7 0, rs1[1:0] = 1; pixel_repeats 1
        commands=(Command(0, (Field("scale", 32, 32), Field("block_stride", 16, 16),
                              Field(1, 8, 8), Field("id", 3, 2), Field("shrunk", 2, 1),
                              Field(1, 0, 2)),
                          (Field("dram_stride", 0, 64),)),),
    ),
    InstrSpec(
        "config_st",
        (Operand("dram_stride", INT), Operand("act", INT, 0), Operand("scale", FLOAT, 1.0)),
        (Spelling("config_st", (0, 1, 2), False),
         Spelling("config_st", (0, 1), False),
         Spelling("config_st", (0,), False),
         Spelling("gemmini_extended_config_st", (0, 1, 2), True)),
        STORE, CONFIG,
        "configure mvout: DRAM row stride in bytes, act (0 none, 1 ReLU), float32 scale "
        "applied to accumulator reads.",
        # funct7 0, rs1[1:0] = 2; no pooling
        commands=(Command(0, (Field("act", 2, 2), Field(2, 0, 2)),
                          (Field("scale", 32, 32), Field("dram_stride", 0, 32))),),
    ),
    _mv("mvin", "gemmini_extended_mvin", LOAD, MOVE_IN,
        "DRAM -> local, load state 0; dram_addr 0 writes zeros.", 2, load_id=0),
    _mv("mvin2", "gemmini_extended_mvin2", LOAD, MOVE_IN,
        "like mvin with load state 1.", 1, load_id=1),
    _mv("mvin3", "gemmini_extended_mvin3", LOAD, MOVE_IN,
        "like mvin with load state 2.", 14, load_id=2),
    _mv("mvout", "gemmini_extended_mvout", STORE, MOVE_OUT,
        "local -> DRAM; accumulator reads are {acc_read} and optionally ReLU'd unless bit "
        "29 is set.", 3),
    InstrSpec(
        "preload",
        (Operand("B_addr", LOCAL), Operand("C_addr", LOCAL),
         Operand("B_cols", INT), Operand("B_rows", INT),
         Operand("C_cols", INT), Operand("C_rows", INT)),
        (Spelling("preload", tuple(range(6)), False),
         Spelling("gemmini_extended_preload", tuple(range(6)), True)),
        EXECUTE, PRELOAD,
        "weights B for the next compute and its output C (bit 30 accumulates; garbage C "
        "discards).",
        local_ranges=((0, 3, "r"), (1, 5, "w")),
        commands=(Command(6, _block("B_addr", "B_cols", "B_rows"),
                          _block("C_addr", "C_cols", "C_rows")),),
    ),
    _mm("compute_preloaded", "gemmini_extended_compute_preloaded", COMPUTE,
        "C (+)= D + A * B with the newly preloaded weights (D garbage = zeros).", 4),
    _mm("compute_accumulated", "gemmini_extended_compute_accumulated", COMPUTE_HELD,
        "like compute_preloaded but keeps the weights already in the array.", 5),
    InstrSpec("fence", (), (Spelling("fence", (), False), Spelling("gemmini_fence", (), True)),
              NONE, FENCE, "the CPU waits until the accelerator is idle."),
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
        EXECUTE, FSM,
        "the on-chip tiled matmul state machine (I, J, K in DIM blocks).",
        # six commands: bounds, A/B addresses, D/C addresses, A/B strides, D/C strides,
        # then the start command (no spad ids, no residual add)
        commands=(
            Command(9, (Field("pad_K", 32, 16), Field("pad_J", 16, 16), Field("pad_I", 0, 16)),
                    (Field("K", 32, 16), Field("J", 16, 16), Field("I", 0, 16))),
            Command(10, (Field("A", 0, 64),), (Field("B", 0, 64),)),
            Command(11, (Field("D", 0, 64),), (Field("C", 0, 64),)),
            Command(12, (Field("A_stride", 0, 64),), (Field("B_stride", 0, 64),)),
            Command(13, (Field("D_stride", 0, 64),), (Field("C_stride", 0, 64),)),
            Command(8, (Field("act", 8, 8), Field("low_D", 2, 1), Field("full_C", 1, 1),
                        Field("ex_accumulate", 0, 1)),
                    (Field("B_transpose", 1, 1), Field("A_transpose", 0, 1))),
        ),
    ),
]}

# Spelling name -> spec, for the parser.
BY_NAME: dict[str, InstrSpec] = {sp.name: s for s in SPECS.values() for sp in s.spellings}

# Move-in op -> the load state (config_ld id) it uses.
def summary_fields(in_dtype: str) -> dict[str, str]:
    """The configuration-dependent phrases of the summaries, for the element type."""
    if in_dtype.startswith("float"):
        return {"acc_read": f"multiplied by the store scale and written as {in_dtype} "
                            "(no integer rounding or clamping)"}
    return {"acc_read": f"scaled, rounded half-to-even, saturated to {in_dtype}"}


LOAD_IDS: dict[str, int] = {s.op: s.load_id for s in SPECS.values() if s.load_id is not None}

# Named constants that programs may use as instruction operands (every operand symbol
# the printers write, and a few more).
CONSTANTS: dict[str, int] = {
    "OS": 0, "NO_ACTIVATION": 0, "RELU": 1, "true": 1, "false": 0,
    **{name: value for s in SPECS.values() for o in s.operands
       for value, name in o.symbols + o.long_symbols},
}
