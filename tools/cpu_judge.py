"""Does the IR estimate of the CPU cost meet the 5% rule? (issue 13, "which CPU cost is the judge")

    python -m tools.cpu_judge [WORKLOAD ...] [--programs unopt,hand]

For every suite workload (default: all nine) and program (Exo's basic mapping "unopt",
our hand schedule "hand") prints the CPU cycles of the whole kernel as the IR estimate
prices them (`gemmini.trace`: the trace's ``cpu_pre + cpu_issue + cpu_tail``) and as
each RISC-V compiler found prices them (`lowering.riscv`: compiled -O2, run on the
emulator), the IR estimate's error against each, and the model's total cycles with
either price. The IR estimate may stay the judge only if it is within 5% of the
compiled count (gcc, the toolchain's compiler) on every kernel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_cpu_cost import _program_c, compilers  # noqa: E402
from gemmini.config import get_config  # noqa: E402
from gemmini.moves import plan_moves  # noqa: E402
from gemmini.timing import simulate  # noqa: E402
from gemmini.trace import build_trace, with_cpu_cost  # noqa: E402
from lowering.parser import parse_c  # noqa: E402
from lowering.riscv.cost import compiled_cpu_cost  # noqa: E402
from lowering.simplify import simplify_function  # noqa: E402
from lowering.suite import SUITE, by_name  # noqa: E402
from lowering.workload import Workload  # noqa: E402
from tools.calibrate import zero_inputs  # noqa: E402

RULE = 0.05


def _cycles(trace, cfg, inputs, fn) -> int:
    arrays = [inputs[p.name].reshape(-1) for p in fn.params if p.is_array]
    plan = plan_moves(trace, cfg, [a.nbytes for a in arrays], [a.itemsize for a in arrays])
    return simulate(trace, cfg, plan).cycles


def _cpu(trace) -> int:
    return int(trace.cpu_pre.sum() + trace.cpu_issue.sum() + trace.cpu_tail)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="*", default=[s.name for s in SUITE])
    ap.add_argument("--programs", default="unopt,hand")
    args = ap.parse_args(argv)
    found = compilers()
    if not found:
        sys.exit("no RISC-V compiler: install riscv64-unknown-elf-gcc or pip install ziglang")
    cfg = get_config("int8_16")
    names = [kind for kind, _ in found]
    print(f"{'workload':<20} {'prog':<5} {'cpu ir':>9} " + " ".join(
        f"{'cpu ' + k:>9} {'err ' + k:>8}" for k in names) + f" {'cycles ir':>10} " +
        " ".join(f"{'cycles ' + k:>11}" for k in names))
    worst = {k: 0.0 for k in names}
    for name in args.workloads:
        workload = Workload.from_spec(by_name(name))
        for program in args.programs.split(","):
            fn = simplify_function(parse_c(_program_c(name, workload, program)))
            inputs = zero_inputs(fn)
            trace = build_trace(fn, inputs, cfg)
            cpu_ir, cyc_ir = _cpu(trace), _cycles(trace, cfg, inputs, fn)
            cols, cyc = [], []
            for kind, compiler in found:
                cost = compiled_cpu_cost(fn, inputs, cfg, trace, compiler).cost
                priced = with_cpu_cost(trace, cost)
                cpu_c = _cpu(priced)
                err = cpu_ir / cpu_c - 1
                worst[kind] = max(worst[kind], abs(err))
                cols.append(f"{cpu_c:>9} {100 * err:>+7.1f}%")
                cyc.append(f"{_cycles(priced, cfg, inputs, fn):>11}")
            print(f"{name:<20} {program:<5} {cpu_ir:>9} " + " ".join(cols) +
                  f" {cyc_ir:>10} " + " ".join(cyc), flush=True)
    for kind in names:
        print(f"largest |IR - {kind}| / {kind}: {100 * worst[kind]:.1f}% "
              f"({'meets' if worst[kind] <= RULE else 'fails'} the {100 * RULE:.0f}% rule)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
