"""The built-in search on the suite, next to the baselines (issue 6's benchmark).

    python -m benchmarks.bench_builtin_search                     # all nine workloads
    python -m benchmarks.bench_builtin_search gemm_512x512x512 --max-samples 600
    python -m benchmarks.bench_builtin_search gemm_64x256x128     # any gemm_MxNxK / conv_...
    python -m benchmarks.bench_builtin_search --report            # the saved results' tables

For each workload: the four baselines (benchmarks.run_baselines), then
``optimize`` from Exo's basic mapping with the built-in proposer with a sample budget,
and a table of cycles, fraction of the ideal (MACs / DIM^2), speedup over
Exo-unoptimized and over Exo-hand-optimized, fraction of the vendor library's and the
FSM's speed, samples used, wall and CPU time (this process and its finished children:
the evaluation workers and compilers).
Each best kernel's toolchain C is written to ``runs/builtin_search/NAME/out/``, built
with gcc against the host emulator and checked against the reference (column
"emulator"). Results accumulate in ``runs/builtin_search/results.json`` (a run of some
workloads keeps the rows of the others). Big kernels take a model
run of several seconds per candidate, so the full suite takes hours on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.run_baselines import BASELINES, run_workload
from gemmini.config import get_config
from lowering.suite import SUITE, by_name

OUT = Path("runs/builtin_search")


def search_workload(name: str, max_samples: int, seed: int) -> dict:
    """Baselines plus the built-in search for one workload."""
    from autocomp_exo import Budget, Workload, optimize
    from autocomp_exo.evaluation import ModelEvaluator
    from autocomp_exo.settings import load_settings

    base = {r.baseline: r for r in run_workload(name, BASELINES)}
    spec = by_name(name)
    settings = load_settings(overrides={"search.seed": seed})
    per_iteration = (settings.search.beam_width * settings.search.plans_per_candidate
                     * settings.search.impls_per_plan)
    settings = load_settings(overrides={     # let the sample budget, not T, end the run
        "search.seed": seed, "search.iterations": max(8, -(-max_samples // per_iteration) + 2),
        "search.patience": 10, "search.seed_baselines": False})   # the paper's setting
    t0, cpu0 = time.time(), cpu_seconds()
    workload = Workload.from_spec(spec)
    evaluator = ModelEvaluator.for_workload(workload, settings.evaluation.gemmini)
    start = workload.mapped_c().c_text           # Exo's basic mapping, cached on disk
    result = optimize(start, settings=settings, evaluator=evaluator,
                      budget=Budget(max_samples=max_samples), run_dir=OUT / name)
    wall, cpu = time.time() - t0, cpu_seconds() - cpu0
    emulator = emulator_check(result, workload, OUT / name / "out",
                              settings.evaluation.gemmini)
    transforms = transform_stats(OUT / name / "events.jsonl")

    def cycles(b):
        r = base.get(b)
        return r.cycles if r is not None and r.status == "ok" else None

    row = {"workload": name, "cycles": result.cycles, "utilization": result.utilization,
           "samples": result.samples, "seconds": round(wall, 1),
           "cpu_seconds": round(cpu, 1), "emulator": emulator,
           "transforms": transforms,
           "baselines": {b: cycles(b) for b in BASELINES}}
    for key, b in (("over_unoptimized", "exo_unoptimized"),
                   ("over_hand", "exo_hand_optimized"), ("fraction_of_fsm", "hardware_fsm")):
        c = cycles(b)
        row[key] = c / result.cycles if c else None
    return row


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished children: the
    evaluation workers and compilers, once the search has closed its engine."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def transform_stats(events_path: Path) -> dict:
    """Per transformation: applications tried, refused by the legality analyses and crashed
    (a bug in the transformation; from the proposer's counters), rewrites evaluated and
    rejected by the model's check."""
    out: dict = {}
    end = {}
    for line in events_path.read_text().splitlines():
        e = json.loads(line)
        if e.get("event") == "candidate" and e.get("transform") and not e.get("cached"):
            d = out.setdefault(e["transform"], {"evaluated": 0, "failed_check": 0})
            d["evaluated"] += 1
            d["failed_check"] += e.get("error_kind") in ("wrong", "hardware", "crash", "parse")
        elif e.get("event") == "search_end":
            end = e.get("proposer_stats") or {}
    for name, counts in end.items():
        d = out.setdefault(name, {"evaluated": 0, "failed_check": 0})
        for k in ("tried", "illegal", "crashed"):
            d[k] = counts.get(k, 0)
    return out


def emulator_check(result, workload, out_dir: Path, gemmini=None) -> str:
    """Build the emitted toolchain C with gcc against the host emulator (for the
    configuration ``gemmini``), run it on reference input sets of another seed than the
    search's and compare with the reference (`lowering.emulator.check`: bit for bit, or the
    fp32 tolerance for float workloads): "ok", "ok (fp32 tolerance)" or what differs."""
    from lowering.emulator.check import check_on_emulator
    from lowering.reference import TOLERANCE, make_input_sets
    c_path, h_path = result.write(out_dir)
    sets = make_input_sets(workload, seeds=(1,), kinds=("uniform", "extreme"))
    checked = check_on_emulator(c_path.read_text(), sets, fn=result.fn,
                                h_text=h_path.read_text(), config=gemmini)
    if not checked.ok:
        return checked.message
    return "ok (fp32 tolerance)" if checked.rule == TOLERANCE else "ok"


def _share(n: int, total: int) -> str:
    return f"{n} ({n / total:.0%})" if total else "-"


def _f(x, fmt):
    return "-" if x is None else format(x, fmt)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="*", help="default: the nine suite workloads")
    ap.add_argument("--max-samples", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--report", action="store_true",
                    help="only print the tables of the saved results (no search)")
    args = ap.parse_args(argv)
    names = [] if args.report else args.workloads or [s.name for s in SUITE]
    results = OUT / "results.json"
    old = json.loads(results.read_text()) if results.exists() else []
    done = {r["workload"]: r for r in old}      # earlier runs of other workloads stay
    t0, cpu0 = time.time(), cpu_seconds()
    for name in names:
        done[name] = search_workload(name, args.max_samples, args.seed)
        OUT.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(list(done.values()), indent=2))
        print(f"{name}: {done[name]['seconds']} s wall, {done[name]['cpu_seconds']} s CPU, "
              f"{done[name]['samples']} samples", flush=True)
    total_wall, total_cpu = time.time() - t0, cpu_seconds() - cpu0
    order = [s.name for s in SUITE]
    rows = sorted(done.values(), key=lambda r: order.index(r["workload"])
                  if r["workload"] in order else len(order))
    dim = get_config().dim
    t = Table(title="built-in search vs baselines (model cycles; 'of X' = X's cycles / "
              "search's, 'of ideal' with ideal = MACs / DIM^2)")
    for col in ("workload", "unoptimized", "hand", "vendor", "FSM", "search", "of ideal",
                "x unopt", "x hand", "of vendor", "of FSM", "samples", "seconds", "CPU s",
                "emulator"):
        t.add_column(col, justify="right")
    for r in rows:
        b = r["baselines"]
        ideal = (by_name(r["workload"]).macs / (dim * dim)) / r["cycles"]
        vendor = b.get("vendor_lib")
        t.add_row(r["workload"], _f(b["exo_unoptimized"], ","), _f(b["exo_hand_optimized"], ","),
                  _f(vendor, ","), _f(b["hardware_fsm"], ","), f"{r['cycles']:,}",
                  f"{ideal:.3f}", _f(r["over_unoptimized"], ".2f"), _f(r["over_hand"], ".2f"),
                  _f(vendor / r["cycles"] if vendor else None, ".2f"),
                  _f(r["fraction_of_fsm"], ".2f"), str(r["samples"]), str(r["seconds"]),
                  str(r.get("cpu_seconds", "-")), r.get("emulator", "-"))
    gemm_hand = [r["over_hand"] for r in rows if r["workload"].startswith("gemm") and r["over_hand"]]
    if gemm_hand:
        geo = math.exp(sum(map(math.log, gemm_hand)) / len(gemm_hand))
        t.caption = f"geomean speedup over hand-optimized on GEMMs: {geo:.2f}x"
    console = Console(width=170)
    console.print(t)
    print(f"total wall time of this invocation ({len(names)} workloads): {total_wall:.0f} s, "
          f"CPU {total_cpu:.0f} s (baselines and emulator checks included); "
          f"of the table's searches: {sum(r['seconds'] for r in rows):.0f} s wall")
    agg: dict = {}
    for r in rows:
        for name, d in (r.get("transforms") or {}).items():
            a = agg.setdefault(name, {})
            for k, v in d.items():
                a[k] = a.get(k, 0) + v
    if agg:
        tt = Table(title="per transformation, over these runs: legality refusals, crashes "
                   "and check failures")
        for col in ("transformation", "tried", "refused (illegal)", "crashed", "evaluated",
                    "failed the check"):
            tt.add_column(col, justify="right")
        for name, d in sorted(agg.items()):
            tried, ev = d.get("tried", 0), d.get("evaluated", 0)
            tt.add_row(name, str(tried), _share(d.get("illegal", 0), tried),
                       str(d.get("crashed", 0)), str(ev),
                       _share(d["failed_check"], ev))
        console.print(tt)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
