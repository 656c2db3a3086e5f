"""Speed and counts of the CPU cost from compiled RISC-V code (`lowering.riscv`).

    python -m benchmarks.bench_cpu_cost [WORKLOAD ...] [--programs unopt,hand] [--repeat R]

For each workload and program (Exo's basic mapping "unopt", our hand schedule
"hand"), with every RISC-V compiler found (riscv64-unknown-elf-gcc, the ziglang
wheel's clang), prints: the compile time with empty caches (cold) and cached
(wall seconds), the emulated run with the command check and price (exec), one
candidate evaluation of the search's evaluator with ``cpu_cost="ir"`` and
``"compiled"`` (compile cached; best CPU seconds of this process over the repeats,
as `bench_eval_speed`) and with ``"compiled"`` and empty caches (eval c0: wall
seconds, the compiler included), the RISC-V instructions executed per
Gemmini instruction, and the model's cycles with either CPU cost. The issue's
held-out measurements (gcc 12 -O2, qemu) gave 2.6-3.7 instructions per Gemmini
instruction for hand kernels with runtime allocator addresses.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autocomp_exo.evaluation import ModelEvaluator  # noqa: E402
from gemmini.config import get_config  # noqa: E402
from gemmini.trace import build_trace  # noqa: E402
from lowering.gcc import CompileError  # noqa: E402
from lowering.parser import parse_c  # noqa: E402
from lowering.print_toolchain import to_toolchain_c  # noqa: E402
from lowering.riscv import cost as riscv_cost  # noqa: E402
from lowering.riscv import execute, toolchain  # noqa: E402
from lowering.suite import by_name  # noqa: E402
from lowering.workload import Workload  # noqa: E402

DEFAULT = ("gemm_12544x256x64",)


def compilers() -> list[toolchain.Compiler]:
    """Every RISC-V compiler available here (gcc, the ziglang wheel's clang)."""
    found = []
    for kind in toolchain.KINDS:
        try:
            found.append((kind, toolchain.find_riscv_compiler(kind)))
        except CompileError:
            pass
    return found


def _program_c(name: str, workload: Workload, program: str) -> str:
    if program == "unopt":
        return workload.mapped_c().c_text
    from benchmarks.baselines.exo_hand import hand_c   # Exo scheduling: slow, cached
    return hand_c(name).c_text


def _cold(fn):
    """``fn()`` with an empty cache root (the compile and the compiler's caches cold)."""
    old = os.environ.get("AUTOCOMP_EXO_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AUTOCOMP_EXO_CACHE"] = tmp
        try:
            t0 = time.perf_counter()
            out = fn()
            return out, time.perf_counter() - t0
        finally:
            if old is None:
                del os.environ["AUTOCOMP_EXO_CACHE"]
            else:
                os.environ["AUTOCOMP_EXO_CACHE"] = old


def _timed(fn, repeat: int, clock=time.process_time):
    """``fn()`` and its best time over ``repeat`` calls (CPU seconds of this process by
    default: other load on the shared machine does not count)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        best = min(best, clock() - t0)
    return out, best


def bench(name: str, program: str, kind: str, compiler: toolchain.Compiler,
          repeat: int) -> dict:
    workload = Workload.from_spec(by_name(name))
    ev_ir = ModelEvaluator.for_workload(workload)
    fn, _ = ev_ir.normalize(parse_c(_program_c(name, workload, program)))
    cfg = get_config(ev_ir.gemmini)
    inputs = ev_ir.sets[0].inputs
    trace = build_trace(fn, inputs, cfg)
    c_text = to_toolchain_c(fn)
    _, cold = _cold(lambda: toolchain.compile_kernel(c_text, fn.name, cfg, compiler))
    elf, cached = _timed(lambda: toolchain.compile_kernel(c_text, fn.name, cfg, compiler), repeat,
                         time.perf_counter)
    args, buffers, bases = riscv_cost._layout(fn, inputs)

    def execute_and_price():
        log = execute.run_kernel(elf, args, buffers, cfg.timing, max_commands=len(trace) * 6)
        first = riscv_cost.check_commands(trace, log, bases)
        riscv_cost.price(trace, log, first, 1 + cfg.timing.core_rocc, compiler.name)
        return log
    log, exec_s = _timed(execute_and_price, repeat)
    ev_c = dataclasses.replace(ev_ir, cpu_cost=f"compiled-{kind}")
    r_cold, eval_cold = _cold(lambda: ev_c.evaluate(fn))
    r_c, eval_c = _timed(lambda: ev_c.evaluate(fn), repeat)
    r_ir, eval_ir = _timed(lambda: ev_ir.evaluate(fn), repeat)
    assert r_c.ok and r_ir.ok and r_cold.ok, (r_c.error_message, r_ir.error_message)
    return {"workload": name, "program": program, "compiler": compiler.name.split()[0],
            "gemmini": len(trace), "riscv": log.instructions,
            "per": log.instructions / len(trace), "cold": cold, "cached": cached,
            "exec": exec_s, "eval_ir": eval_ir, "eval_cold": eval_cold, "eval_c": eval_c,
            "cycles_ir": r_ir.cycles, "cycles_c": r_c.cycles}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="*", default=list(DEFAULT))
    ap.add_argument("--programs", default="unopt,hand")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    found = compilers()
    if not found:
        sys.exit("no RISC-V compiler: install riscv64-unknown-elf-gcc or pip install ziglang")
    print(f"{'workload':<20} {'prog':<5} {'compiler':<24} {'gemmini':>7} {'rv/gem':>6} "
          f"{'cold s':>6} {'cached':>6} {'exec s':>6} {'eval ir':>7} {'eval c0':>7} "
          f"{'eval c':>6} {'cycles ir':>9} {'cycles c':>9}")
    for name in args.workloads:
        for program in args.programs.split(","):
            for kind, compiler in found:
                r = bench(name, program, kind, compiler, args.repeat)
                print(f"{r['workload']:<20} {r['program']:<5} {r['compiler']:<24} "
                      f"{r['gemmini']:>7} {r['per']:>6.2f} {r['cold']:>6.2f} "
                      f"{r['cached']:>6.3f} {r['exec']:>6.2f} {r['eval_ir']:>7.2f} "
                      f"{r['eval_cold']:>7.2f} {r['eval_c']:>6.2f} {r['cycles_ir']:>9} "
                      f"{r['cycles_c']:>9}", flush=True)


if __name__ == "__main__":
    main()
