"""CPU cost from compiled code: C for RISC-V, our gemmini.h, an emulated core.

`compiled_cpu_cost` prices a trace; `cpu_cost_hook` makes the callable that
`gemmini.model.run` accepts as ``cpu_cost``. docs/cpu_cost.md describes the route.
"""

from __future__ import annotations

from gemmini import ir
from gemmini.config import GemminiConfig, get_config
from gemmini.trace import CpuCost, Trace
from lowering.riscv.cost import CommandMismatch, CompiledCost, compiled_cpu_cost
from lowering.riscv.execute import CoreRunError
from lowering.riscv.toolchain import Compiler, find_riscv_compiler

__all__ = ["CommandMismatch", "CompiledCost", "Compiler", "CoreRunError", "compiled_cpu_cost",
           "cpu_cost_hook", "find_riscv_compiler"]


def cpu_cost_hook(fn: ir.Function, inputs: dict, gemmini: str | GemminiConfig | None = None,
                  compiler: Compiler | str | None = None):
    """The ``cpu_cost`` callable for `gemmini.model.run` of ``fn`` on ``inputs``;
    ``compiler`` a `Compiler`, a kind ("gcc", "zig") or None (the first found)."""
    cfg = get_config(gemmini)
    if not isinstance(compiler, Compiler):
        compiler = find_riscv_compiler(compiler)

    def hook(trace: Trace) -> CpuCost:
        return compiled_cpu_cost(fn, inputs, cfg, trace, compiler).cost
    return hook
