"""The TinyMPC baselines as the runner (`benchmarks.run_baselines`) builds them.

* ``cpu_only``: the CPU-only Exo proc (`benchmarks.baselines.tinympc_hand.cpu_proc`), its
  outputs from the host build (gcc) checked against the workload's reference, its cycles
  from the RISC-V build run on the emulated in-order core (`lowering.riscv`, the same
  compiler, flags and core prices as the compiled CPU cost of docs/cpu_cost.md);
* ``exo_unoptimized``: the straightforward mapping (the workload's proc), parsed;
* ``exo_hand_optimized``: our hand schedule, parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from benchmarks.baselines.tinympc_hand import cpu_proc, hand_proc
from gemmini.config import get_config
from lowering.exo_to_c import compile_proc
from lowering.gcc import PROGRAM, build
from lowering.parser import parse_c
from lowering.reference import CheckResult, check_sets, run_reference
from lowering.riscv import execute
from lowering.riscv.header import header_text
from lowering.riscv.toolchain import CACHE, LINK_FLAGS, find_riscv_compiler
from lowering.tinympc import CONFIG
from lowering.workload import Workload

CPU_ONLY = "cpu_only"
# The entry point of the RISC-V build: the emulated core starts with its floating-point
# unit off (mstatus.FS = 0), so it turns it on, then calls the kernel with every array
# at a fixed address (more arguments than argument registers need no stack set-up).
# It adds a few instructions per argument to the kernel's cycles.
ENTRY = """
void autocomp_cpu_entry(void) {{
    __asm__ volatile("li t0, 0x2000\\n csrs mstatus, t0" ::: "t0");
    {kernel}((void *)0, {args});
}}
"""
BASELINES = (CPU_ONLY, "exo_unoptimized", "exo_hand_optimized")


def baseline_function(spec, baseline: str):
    """`ir.Function` of an accelerator baseline of TinyMPC workload ``spec``."""
    if baseline == "exo_unoptimized":
        c = compile_proc(spec.algorithm())
    elif baseline == "exo_hand_optimized":
        c = compile_proc(hand_proc(spec.name))
    else:
        raise ValueError(f"baseline {baseline!r} does not apply to {spec.name}; "
                         f"its baselines: {', '.join(BASELINES)}")
    return parse_c(c.c_text, filename=f"{c.name}.c", function=c.name)


@dataclass(frozen=True)
class CpuOnlyRun:
    """Cycles of the CPU-only version on the emulated core, and its output check."""
    cycles: int
    instructions: int
    check: CheckResult
    compiler: str


def run_cpu_only(spec, sets) -> CpuOnlyRun:
    """Check the CPU-only version on ``sets`` (host build) and time it on the first set."""
    p = cpu_proc(spec.name)
    w = Workload.from_proc(p)
    check = check_sets([run_reference(w, s.inputs) for s in sets], sets)
    c = compile_proc(p)
    compiler = find_riscv_compiler()
    # Exo includes stdio.h and stdlib.h, which a freestanding build has not; the CPU-only
    # procs call nothing from them
    text = re.sub(r"^#include <(stdio|stdlib)\.h>$", "", c.c_text, flags=re.M)
    buffers, pointers = [], []
    address = execute.DATA_BASE
    first = sets[0].inputs
    for param in w.signature:
        data = np.ascontiguousarray(first.get(param.name, np.zeros(param.shape, np.float32)),
                                    dtype=np.float32).tobytes()
        buffers.append(execute.Buffer(address, param.size * 4, data))
        pointers.append(f"(float *){address:#x}")
        address += (param.size * 4 + 2 * execute.PAGE - 1) & ~(execute.PAGE - 1)
    text += ENTRY.format(kernel=c.name, args=", ".join(pointers))
    elf = build({"kernel.c": text}, cache=CACHE, kind=PROGRAM, stem=c.name,
                headers={"gemmini.h": header_text(get_config(CONFIG)), c.header_name: c.h_text},
                flags=(*compiler.flags, *LINK_FLAGS, "-Wl,-e,autocomp_cpu_entry"),
                compiler=compiler.command, env=dict(compiler.env), timeout=120)
    log = execute.run_kernel(elf, [], buffers, get_config(CONFIG).timing)
    return CpuOnlyRun(log.cycles, log.instructions, check, compiler.name)
