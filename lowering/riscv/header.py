"""Our gemmini.h for RISC-V, generated from the ISA table (`gemmini.isa`).

Every long spelling of an instruction becomes a macro that packs the canonical
operands into rs1 and rs2 as `gemmini.isa.Command` says and issues each command
as ``.insn r 0x7B, 3, funct7, x0, rs1, rs2`` (custom-3). As in gemmini.h, fields
are shifted and or-ed without masking, local addresses are 32-bit and floats are
packed as their float32 bit patterns; the fence is the core's ``fence``.
Operands a spelling omits take their `gemmini.isa.Operand` default (DIM: the
configuration's array size).
"""

from __future__ import annotations

from gemmini import isa
from gemmini.config import GemminiConfig

PRELUDE = """\
#ifndef AUTOCOMP_GEMMINI_H
#define AUTOCOMP_GEMMINI_H
#include <stdint.h>
#include <stdbool.h>

#define DIM {dim}
#define WS 1
#define OS 0
#define NO_ACTIVATION 0
#define RELU 1

static inline uint64_t autocomp_f32_bits(float x) {{
  union {{ float f; uint32_t u; }} v;
  v.f = x;
  return v.u;
}}

#define AUTOCOMP_ROCC(funct7, rs1, rs2) \\
  asm volatile(".insn r {opcode:#x}, {funct3}, " #funct7 ", x0, %0, %1" \\
               :: "r"((uint64_t)(rs1)), "r"((uint64_t)(rs2)))
"""


def _default(operand: isa.Operand, dim: int) -> str:
    if operand.default == isa.DIM:
        return str(dim)
    if operand.default is None:
        return "0"     # left to the hardware: gemmini.h passes nothing there
    return repr(operand.default) + ("f" if isinstance(operand.default, float) else "")


def _field(spec: isa.InstrSpec, field: isa.Field) -> str:
    if isinstance(field.source, int):
        value = f"{field.source:#x}ull"
    else:
        role = next(o.role for o in spec.operands if o.name == field.source)
        value = f"({field.source})"
        if role == isa.FLOAT:
            value = f"autocomp_f32_bits({value})"
        elif role == isa.LOCAL:
            value = f"(uint32_t){value}"
        value = f"(uint64_t){value}"
    return f"({value} << {field.shift})" if field.shift else f"({value})"


def _register(spec: isa.InstrSpec, fields: tuple[isa.Field, ...]) -> str:
    return " | ".join(_field(spec, f) for f in fields) or "0"


def _body(spec: isa.InstrSpec) -> str:
    if not spec.commands:
        return 'asm volatile("fence")'
    cmds = [f"AUTOCOMP_ROCC({c.funct7}, {_register(spec, c.rs1)}, {_register(spec, c.rs2)})"
            for c in spec.commands]
    return "do { " + "; ".join(cmds) + "; } while (0)"


def header_text(cfg: GemminiConfig) -> str:
    """The text of our ``gemmini.h`` for configuration ``cfg`` (its DIM)."""
    lines = [PRELUDE.format(dim=cfg.dim, opcode=isa.ROCC_OPCODE, funct3=isa.ROCC_FUNCT3)]
    for spec in isa.SPECS.values():
        canon = f"autocomp_{spec.op}"
        params = ", ".join(o.name for o in spec.operands)
        lines.append(f"#define {canon}({params}) \\\n  {_body(spec)}")
        for sp in spec.spellings:
            if not sp.long:
                continue
            written = [spec.operands[i].name for i in sp.slots]
            args = [spec.operands[i].name if i in sp.slots
                    else _default(spec.operands[i], cfg.dim) for i in range(len(spec.operands))]
            lines.append(f"#define {sp.name}({', '.join(written)}) {canon}({', '.join(args)})")
        lines.append("")
    lines.append("#endif")
    return "\n".join(lines) + "\n"
