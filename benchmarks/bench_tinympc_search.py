"""The built-in search on the TinyMPC kernels, next to their baselines (issue 15).

    python -m benchmarks.bench_tinympc_search                      # all three, 300 samples
    python -m benchmarks.bench_tinympc_search tinympc_forward --max-samples 100

For each kernel: ``optimize`` from the straightforward mapping with the built-in proposer
alone, a sample budget, the inline engine and the linalg menu (as ``autocomp-exo optimize
NAME`` has), then the baselines: CPU only on the emulated core (`benchmarks.run_baselines`),
the straightforward mapping and our hand schedule on the search's own evaluator (the same
CPU price as the search). The best kernel is checked again on every input set (the fp32
rule of `lowering.reference`, the DRAM ordering check of the model) and, as toolchain C written to
``runs/tinympc_search/NAME/out/``, on the host emulator against the reference on input
sets of another seed (column "emulator"; "correct" needs both). Prints the table and
the geometric mean of search over hand; writes ``runs/tinympc_search/results.json``
(``runs/tinympc_search/seed<N>/`` for another ``--seed``, so runs of several seeds can go
side by side).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.bench_builtin_search import emulator_check
from benchmarks.run_baselines import TINYMPC_BASELINES, baseline_function, run_workload
from lowering.suite import FP32_SUITE, by_name

OUT = Path("runs/tinympc_search")


def search_workload(name: str, max_samples: int, seed: int, out: Path = OUT) -> dict:
    """Baselines plus the built-in search for one TinyMPC kernel."""
    from autocomp_exo import Budget, optimize
    from autocomp_exo.evaluation import ModelEvaluator
    from autocomp_exo.settings import load_settings
    from lowering.exo_to_c import compile_proc
    from lowering.workload import Workload

    spec = by_name(name)
    overrides = {"search.seed": seed, "evaluation.gemmini": spec.config,
                 "evaluation.engine": "inline", "prompts.workload_kind": "linalg"}
    settings = load_settings(overrides=overrides)
    per_iteration = (settings.search.beam_width * settings.search.plans_per_candidate
                     * settings.search.impls_per_plan)
    settings = load_settings(overrides={**overrides, "search.patience": 10,
                                        "search.iterations": 3 * max(8, -(-max_samples
                                                                          // per_iteration))})
    t0 = time.time()
    workload = Workload.from_spec(spec)
    evaluator = ModelEvaluator.for_workload(workload, spec.config)
    start = compile_proc(workload.mapped).c_text
    result = optimize(start, settings=settings, evaluator=evaluator,
                      budget=Budget(max_samples=max_samples), run_dir=out / name, fresh=True,
                      progress=False)
    seconds = round(time.time() - t0, 1)
    recheck = evaluator.evaluate(result.fn)
    emulator = emulator_check(result, workload, out / name / "out", spec.config)
    row = {"workload": name, "samples": result.samples, "seconds": seconds,
           "search": result.cycles, "search_correct": recheck.ok and emulator.startswith("ok"),
           "search_check": recheck.error_message or "ok", "emulator": emulator,
           "recipe": result.recipe_items}
    # the accelerator baselines on the search's own evaluator (the same CPU price)
    for b in TINYMPC_BASELINES:
        if b == "cpu_only":
            r = run_workload(name, (b,))[0]
            row[b] = r.cycles if r.status == "ok" else None
        else:
            r = evaluator.evaluate(baseline_function(spec, b, spec.config))
            row[b] = r.cycles if r.ok else None
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="*", default=[s.name for s in FP32_SUITE])
    ap.add_argument("--max-samples", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = OUT if args.seed == 0 else OUT / f"seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    rows = [search_workload(w, args.max_samples, args.seed, out) for w in args.workloads]
    t = Table(title=f"TinyMPC on fp32_4: cycles (built-in search, <= {args.max_samples} samples)")
    for col in ("workload", "CPU only", "straightforward", "hand", "search", "search / hand",
                "correct", "emulator", "samples"):
        t.add_column(col, justify="left" if col == "workload" else "right")
    ratios = []
    for r in rows:
        hand, best = r["exo_hand_optimized"], r["search"]
        ratio = hand / best if hand and best else None
        if ratio:
            ratios.append(ratio)
        t.add_row(r["workload"], *(f"{r[k]:,}" if r[k] else "-" for k in
                                   ("cpu_only", "exo_unoptimized", "exo_hand_optimized",
                                    "search")),
                  f"{ratio:.2f}x" if ratio else "-", "yes" if r["search_correct"] else "NO",
                  r["emulator"], str(r["samples"]))
    console = Console(width=140)
    console.print(t)
    geomean = math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None
    if geomean:
        console.print(f"geomean search / hand: {geomean:.2f}x")
    (out / "results.json").write_text(json.dumps({"rows": rows, "geomean_vs_hand": geomean},
                                                 indent=2) + "\n")
    return 0 if all(r["search_correct"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
