"""Does letting equal-cycle candidates with a less busy busiest engine into the beam help?

    python -m benchmarks.bench_accept_equal gemm_128x128x128 --max-samples 200

Runs the built-in search from Exo's basic mapping twice with the same settings and sample
budget, with ``search.accept_equal_busier_drop`` off (the default) and on, and prints the
best cycles, the samples used and how many equal-cycle candidates were accepted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def run(name: str, max_samples: int, seed: int, accept_equal: bool) -> dict:
    from autocomp_exo import Budget, Workload, optimize
    from autocomp_exo.evaluation import ModelEvaluator
    from autocomp_exo.settings import load_settings
    from lowering.suite import by_name

    settings = load_settings(overrides={
        "search.seed": seed, "search.iterations": 40, "search.patience": 10,
        "search.accept_equal_busier_drop": accept_equal})
    workload = Workload.from_spec(by_name(name))
    evaluator = ModelEvaluator.for_workload(workload, settings.evaluation.gemmini)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as d:
        result = optimize(workload.mapped_c().c_text, settings=settings, evaluator=evaluator,
                          budget=Budget(max_samples=max_samples), run_dir=d)
        events = [json.loads(x) for x in (Path(d) / "events.jsonl").read_text().splitlines()]
    equal = sum(1 for e in events if e.get("event") == "candidate"
                and e.get("error_kind") == "equal" and e.get("accepted"))
    return {"accept_equal": accept_equal, "start": result.start_cycles,
            "cycles": result.cycles, "samples": result.samples, "equal_accepted": equal,
            "stop": result.stop_reason, "seconds": round(time.time() - t0, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("--max-samples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for accept in (False, True):
        r = run(args.workload, args.max_samples, args.seed, accept)
        print(f"{args.workload} accept_equal_busier_drop={str(accept).lower():5s} "
              f"start {r['start']:,} best {r['cycles']:,} samples {r['samples']} "
              f"equal accepted {r['equal_accepted']} ({r['stop']}, {r['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
