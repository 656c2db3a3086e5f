"""Automatic schedule reuse in the build: quality at equal samples with and without it.

    nice python -m benchmarks.bench_reuse                     # every pair, 100 samples
    nice python -m benchmarks.bench_reuse conv --samples 100  # one pair
    nice python -m benchmarks.bench_reuse gemm_12544 --paper  # the paper's setting

For each pair (target from source): ``compile_procs`` tunes the source into a fresh
tuning database (a search of ``--samples``), then tunes the target twice from copies
of that database, with ``build.reuse`` off (a plain search) and on (the source's
recorded steps replayed by a light search with at most ``build.reuse_share`` of the
budget, then a full search from the start, with the replay's result in its first beam,
using the rest). Both target searches have the same sample budget. ``--paper`` runs all
three searches in the paper's setting (no loop-FSM or vendor-library seed programs, where
the published +24% was measured); by default the product's. Prints a table
(cycles, gain of reuse, samples, seconds); rows accumulate in
``runs/bench_reuse/results.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from autocomp_exo.build import compile_procs
from autocomp_exo.search.reuse import step_key
from autocomp_exo.settings import load_settings
from autocomp_exo.tuning_db import TuningDB
from lowering.suite import conv_algorithm, gemm_algorithm

OUT = Path("runs/bench_reuse")

# name -> (target, source), each (algorithm constructor, its arguments)
PAIRS = {
    "conv": ((conv_algorithm, (4, 16, 128, 128)), (conv_algorithm, (4, 16, 256, 256))),
    "gemm_1024": ((gemm_algorithm, (1024, 1024, 1024)), (gemm_algorithm, (512, 512, 512))),
    "gemm_12544": ((gemm_algorithm, (12544, 128, 64)), (gemm_algorithm, (12544, 256, 64))),
}


def settings_for(samples: int, seed: int, reuse: bool, paper: bool = False):
    """Default search settings (``paper``: without seed programs); the sample budget (not
    the iteration count) ends a run."""
    return load_settings(overrides={"search.seed": seed, "search.iterations": 12,
                                    "search.patience": 10, "evaluation.engine": "inline",
                                    "search.seed_baselines": not paper,
                                    "build.max_samples": samples, "build.reuse": reuse,
                                    "build.refine_iterations": 12})


def tune(proc, db: Path, out: Path, settings) -> tuple[dict, float]:
    t0 = time.time()
    (outcome,) = compile_procs([proc], out, "k.c", "k.h", settings=settings, db=db,
                               search=True)
    entry = TuningDB(db).get(outcome.key)
    return {"name": outcome.name, "cycles": entry.cycles, "start_cycles": entry.start_cycles,
            "source": outcome.source, "steps": [step_key(x) for x in entry.steps]}, \
        time.time() - t0


def run_pair(name: str, samples: int, seed: int, keep_source: bool = False,
             paper: bool = False) -> dict:
    (tf, targs), (sf, sargs) = PAIRS[name]
    d = OUT / (f"{name}_paper" if paper else name)
    if keep_source and (d / "source.sqlite").exists():     # tune() finds it in the database
        for stale in d.glob("target_*.sqlite"):
            stale.unlink()
    else:
        shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True, exist_ok=True)
    source, source_s = tune(sf(*sargs), d / "source.sqlite", d / "source",
                            settings_for(samples, seed, reuse=False, paper=paper))
    print(f"{name}: source {source['name']} {source['cycles']:,} cycles, steps "
          f"{source['steps']} ({source_s:.0f} s)", flush=True)
    rows = {}
    for reuse in (False, True):
        db = d / f"target_{'reuse' if reuse else 'plain'}.sqlite"
        shutil.copy(d / "source.sqlite", db)
        row, secs = tune(tf(*targs), db, d / db.stem, settings_for(samples, seed, reuse, paper))
        rows["with" if reuse else "without"] = {**row, "seconds": round(secs, 1)}
        print(f"{name}: target {row['name']} reuse={reuse}: {row['cycles']:,} cycles "
              f"({row['source']}, {secs:.0f} s)", flush=True)
    without, with_ = rows["without"]["cycles"], rows["with"]["cycles"]
    return {"pair": name, "setting": "paper" if paper else "product", "samples": samples,
            "seed": seed, "source": source,
            "source_seconds": round(source_s, 1), **rows,
            "gain": round(without / with_ - 1, 4)}


def print_table(results: dict) -> None:
    print("| target | from | setting | Exo's mapping | without reuse | with reuse | gain "
          "| samples | seconds (without / with) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results.values():
        w, o = r["with"], r["without"]
        print(f"| {o['name']} | {r['source']['name']} | {r.get('setting', 'product')} | "
              f"{o['start_cycles']:,} | "
              f"{o['cycles']:,} | {w['cycles']:,} | {100 * r['gain']:+.1f}% | {r['samples']} "
              f"| {o['seconds']:.0f} / {w['seconds']:.0f} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", nargs="*", help=f"pairs to run: {', '.join(PAIRS)} (default: "
                                             "all, smallest first)")
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-source", action="store_true",
                    help="take the source's result from an earlier run's database of the pair "
                         "(same samples and seed) instead of searching it again")
    ap.add_argument("--paper", action="store_true",
                    help="no seed programs (the paper's setting) in all three searches")
    args = ap.parse_args(argv)
    unknown = [p for p in args.pairs if p not in PAIRS]
    if unknown:
        ap.error(f"unknown pair {unknown[0]!r} (known: {', '.join(PAIRS)})")
    args.pairs = args.pairs or list(PAIRS)
    results_path = OUT / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in args.pairs:
        key = f"{name}_paper" if args.paper else name
        results[key] = run_pair(name, args.samples, args.seed, args.keep_source, args.paper)
        OUT.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=1) + "\n")
    print_table({k: results[k] for name in PAIRS for k in (name, f"{name}_paper")
                 if k in results})


if __name__ == "__main__":
    main()
