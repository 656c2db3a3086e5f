"""Seconds per candidate evaluation: input sets run one by one vs in one batched run.

    python benchmarks/bench_eval_speed.py [WORKLOAD ...] [--repeat R]

For each suite workload, the evaluator of the search (`ModelEvaluator.for_workload`:
2 input kinds x the workload's ReLU settings) evaluates the starting program (Exo's
basic mapping, parsed once) with ``batched=False`` (one `gemmini.model.run` per input
set, as before batching) and ``batched=True`` (`gemmini.model.run_batch`: one
functional run for all sets). Prints the best CPU time of this process over
`--repeat` alternating rounds (other load on the machine does not count).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autocomp_exo.evaluation import ModelEvaluator  # noqa: E402
from lowering.workload import Workload  # noqa: E402
from lowering.suite import by_name  # noqa: E402
from lowering.parser import parse_c  # noqa: E402

DEFAULT = ("gemm_12544x64x256", "conv_16x16x256", "gemm_512x512x512")


def bench(name: str, repeat: int = 3) -> dict:
    """Best seconds per evaluation of `name`'s starting program, per-set and batched."""
    workload = Workload.from_spec(by_name(name))
    batched = ModelEvaluator.for_workload(workload)
    per_set = dataclasses.replace(batched, batched=False)
    fn, _ = batched.normalize(parse_c(workload.mapped_c().c_text))
    best = {"per_set": float("inf"), "batched": float("inf")}
    results = {}
    for _ in range(repeat):
        for label, ev in (("per_set", per_set), ("batched", batched)):
            t0 = time.process_time()
            results[label] = ev.evaluate(fn)
            best[label] = min(best[label], time.process_time() - t0)
    a, b = results["per_set"], results["batched"]
    assert a.ok and b.ok and a.cycles == b.cycles, (a.error_message, b.error_message)
    return {"workload": name, "sets": len(batched.sets), "cycles": b.cycles, **best,
            "speedup": best["per_set"] / best["batched"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="*", default=list(DEFAULT))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'workload':<20} {'sets':>4} {'per-set s':>10} {'batched s':>10} {'speedup':>8}")
    for name in args.workloads:
        r = bench(name, args.repeat)
        print(f"{r['workload']:<20} {r['sets']:>4} {r['per_set']:>10.3f} {r['batched']:>10.3f} "
              f"{r['speedup']:>7.2f}x")


if __name__ == "__main__":
    main()
