"""A fixed sequence of built-in transformations applied greedily to a suite workload.

    python -m benchmarks.greedy_chain conv_16x16x256 row_reuse hold_weights bank interleave

Starts from Exo's basic mapping; for each named transformation it evaluates (on the
search's evaluator) every application the proposer finds, up to ``--limit``, each as
planned and with the proposer's clean-up, and keeps the fastest correct one, also when
it is not faster than the program (an enabling step such as `const_prop`); the program
stays unchanged when nothing applies. Prints cycles and the fraction of the ideal after each step and the
model's report of the result: what a search could reach along that path, without its
sampling.
"""

from __future__ import annotations

import argparse

from autocomp_exo.evaluation import ModelEvaluator
from autocomp_exo.proposers.builtin import BuiltinProposer
from autocomp_exo.transforms import TRANSFORMS
from gemmini.config import get_config
from lowering.suite import by_name
from lowering.workload import Workload


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("transforms", nargs="+")
    ap.add_argument("--limit", type=int, default=8, help="applications tried per step")
    ap.add_argument("--gemmini", default="int8_16")
    ap.add_argument("--out", help="write the final program's compact C here")
    args = ap.parse_args(argv)
    workload = Workload.from_spec(by_name(args.workload))
    evaluator = ModelEvaluator.for_workload(workload, args.gemmini)
    proposer = BuiltinProposer(args.gemmini)
    fn, _ = evaluator.normalize(workload.mapped_c().c_text)
    cycles = evaluator.evaluate(fn).cycles
    ideal = workload.macs / get_config(args.gemmini).dim ** 2
    print(f"start: {cycles:,} cycles ({ideal / cycles:.3f} of ideal)")
    for name in args.transforms:
        best = None
        for a in proposer._find(TRANSFORMS[name], fn)[:args.limit]:
            new = proposer._try(fn, a)
            if new is None or new == fn:
                continue
            for f in (new, proposer._cleanup(new)):
                r = evaluator.evaluate(f) if f is not None else None
                if r is not None and r.ok and (best is None or r.cycles < best[0]):
                    best = (r.cycles, f, a)
        if best is not None:
            cycles, fn, a = best
            print(f"{name}: {cycles:,} ({ideal / cycles:.3f}) at {list(a.site)} "
                  f"{dict(a.params)}")
        else:
            print(f"{name}: no application")
    if args.out:
        from lowering.print_compact import to_compact
        with open(args.out, "w") as f:
            f.write(to_compact(fn))
    report = evaluator.run(fn).report
    print(f"busy {report.busy}, stolen {report.stolen_cycles}, exposed preloads "
          f"{report.exposed_preloads}, cpu stall {report.cpu_stall}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
