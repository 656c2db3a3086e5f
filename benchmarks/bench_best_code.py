"""optimize() with and without the generators' programs in the first beam
(`search.seed_baselines`), next to the vendor-library and loop-FSM baselines.

    python -m benchmarks.bench_best_code                       # the default shapes
    python -m benchmarks.bench_best_code gemm:64x64x64 conv:1x16x16x16 --iterations 8

Default settings otherwise (built-in proposer, seed 0); prints one row per workload:
Exo's start, the two baselines, the search's result with seeding (the product's
default) and without (the paper's setting), and whether the default is at least as fast
as both baselines.
"""

from __future__ import annotations

import argparse
import time

from autocomp_exo import optimize
from autocomp_exo.baselines import workload_baselines
from autocomp_exo.evaluation import ModelEvaluator
from autocomp_exo.settings import load_settings
from lowering import suite
from lowering.workload import Workload

SHAPES = ("gemm:64x64x64", "gemm:32x48x80", "gemm:128x32x64", "gemm:64x256x128",
          "conv:1x16x16x16")


def spec_of(text: str):
    kind, _, dims = text.partition(":")
    sizes = [int(x) for x in dims.split("x")]
    return suite.gemm(*sizes) if kind == "gemm" else suite.conv(*sizes)


def row(text: str, iterations: int) -> dict:
    workload = Workload.from_spec(spec_of(text))
    out = {"workload": text}
    for seeded in (True, False):
        s = load_settings(overrides={"search.seed_baselines": seeded,
                                     "search.iterations": iterations})
        ev = ModelEvaluator.from_settings(workload, s.evaluation)
        t0 = time.time()
        r = optimize(workload.mapped_c().c_text, settings=s, evaluator=ev, workload=workload,
                     progress=False)
        out["seeded" if seeded else "paper"] = r.cycles
        out["seconds_seeded" if seeded else "seconds_paper"] = round(time.time() - t0, 1)
        out["start"] = r.start_cycles
    base = workload_baselines(workload, s.evaluation.gemmini, ev)
    out.update(base)
    out["ok"] = out["seeded"] <= min(base.values())
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="*", default=list(SHAPES))
    ap.add_argument("--iterations", type=int, default=8)
    args = ap.parse_args(argv)
    print("| workload | Exo start | vendor lib | loop FSM | default (seeded) | paper setting "
          "| default <= both |")
    print("|---|---:|---:|---:|---:|---:|:---:|")
    for text in args.workloads:
        r = row(text, args.iterations)
        print(f"| {text} | {r['start']:,} | {r.get('vendor_lib', 0):,} | "
              f"{r.get('hardware_fsm', 0):,} | {r['seeded']:,} | {r['paper']:,} | "
              f"{'yes' if r['ok'] else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
