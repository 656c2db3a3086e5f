"""Search quality against samples: the best cycles after every evaluated candidate.

    python -m benchmarks.bench_sample_efficiency gemm_512x512x512 --max-samples 300
    python -m benchmarks.bench_sample_efficiency conv_58x58x64 --max-samples 150 \\
        --set search.impls_per_plan=1 --label one-rewrite
    python -m benchmarks.bench_sample_efficiency --runs runs/builtin_search   # existing runs

For each workload: ``optimize`` with the built-in proposer from Exo's basic mapping
(settings overridable with ``--set key=value``), then the best cycles so far after each
sample, read from the run's ``events.jsonl``. Prints a table (best cycles and fraction of
the ideal, MACs / DIM^2, at sample checkpoints; the samples needed to come within 1% of
the run's best) and draws one curve per workload (fraction of ideal against samples) into
``OUT/sample_efficiency.png``. ``--runs DIR`` reads the run directories under DIR (one per
workload, as written by this script or ``bench_builtin_search``) instead of searching.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lowering.suite import SUITE, by_name

CHECKPOINTS = (25, 50, 100, 150, 200, 300)
WITHIN = 0.01           # "reached the run's quality": within 1% of its best cycles


def best_so_far(events_path: Path) -> tuple[int | None, list[int | None]]:
    """The starting program's cycles and, after each sample (``candidate`` event), the
    best cycles of a correct candidate so far (None until there is one)."""
    start, curve, best = None, [], None
    for line in events_path.read_text().splitlines():
        e = json.loads(line)
        if e.get("event") == "search_start":
            start = e.get("cycles")
            best = start
        elif e.get("event") == "candidate":
            if e.get("ok") and e.get("cycles") is not None:
                best = e["cycles"] if best is None else min(best, e["cycles"])
            curve.append(best)
    return start, curve


def samples_to_reach(curve: list[int | None], target: float) -> int | None:
    """The first sample count at which the best so far is at most ``target`` cycles."""
    for n, c in enumerate(curve, 1):
        if c is not None and c <= target:
            return n
    return None


def run_search(name: str, max_samples: int, seed: int, overrides: dict, out: Path) -> Path:
    """Run the built-in search on one workload into ``out/name``; the run directory."""
    from autocomp_exo import Budget, Workload, optimize
    from autocomp_exo.evaluation import ModelEvaluator
    from autocomp_exo.settings import load_settings

    settings = load_settings(overrides={"search.seed": seed, **overrides})
    s = settings.search
    per_iteration = s.beam_width * s.plans_per_candidate * s.impls_per_plan
    settings = load_settings(overrides={     # the sample budget, not T, ends the run
        "search.seed": seed, "search.iterations": max(8, -(-max_samples // per_iteration) + 2),
        "search.patience": 10, **overrides})
    workload = Workload.from_spec(by_name(name))
    evaluator = ModelEvaluator.for_workload(workload, settings.evaluation.gemmini)
    run_dir = out / name
    optimize(workload.mapped_c().c_text, settings=settings, evaluator=evaluator,
             budget=Budget(max_samples=max_samples), run_dir=run_dir)
    return run_dir


def row_for(name: str, run_dir: Path, gemmini) -> dict:
    start, curve = best_so_far(run_dir / "events.jsonl")
    ideal = by_name(name).macs / (gemmini.dim * gemmini.dim)
    final = curve[-1] if curve else start
    return {"workload": name, "start": start, "ideal": ideal, "curve": curve,
            "best": final, "samples": len(curve),
            "to_best": samples_to_reach(curve, final * (1 + WITHIN)) if final else None}


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: expected key=value")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.2), dpi=100)
    ax = fig.add_subplot()
    for r in rows:
        xs = range(0, len(r["curve"]) + 1)
        ys = [r["ideal"] / c if c else 0.0 for c in [r["start"], *r["curve"]]]
        ax.step(xs, ys, where="post", linewidth=1.8, label=r["workload"])
    ax.set_xlabel("samples (candidates evaluated)")
    ax.set_ylabel("fraction of ideal cycles (MACs / DIM^2)")
    ax.set_ylim(0, 1.0)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None) -> int:
    from gemmini.config import get_config

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workloads", nargs="*", help="default: the nine suite workloads "
                    "(with --runs: every run directory found)")
    ap.add_argument("--max-samples", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="settings override, e.g. search.impls_per_plan=1")
    ap.add_argument("--runs", type=Path, help="read existing run directories, no search")
    ap.add_argument("--out", type=Path, help="where runs, rows and the PNG go "
                    "(default: a new temporary directory)")
    ap.add_argument("--label", default="", help="title of the figure")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="sample_efficiency_"))
    out.mkdir(parents=True, exist_ok=True)
    gemmini = get_config()
    overrides = parse_overrides(args.set)

    if args.runs:
        names = args.workloads or sorted(p.parent.name for p in args.runs.glob("*/events.jsonl"))
        dirs = {n: args.runs / n for n in names}
    else:
        names = args.workloads or [s.name for s in SUITE]
        dirs = {n: run_search(n, args.max_samples, args.seed, overrides, out / "runs")
                for n in names}
    rows = [row_for(n, d, gemmini) for n, d in dirs.items()]

    table = Table(title=f"best cycles (fraction of ideal) after N samples {args.label}")
    table.add_column("workload")
    for n in CHECKPOINTS:
        table.add_column(str(n), justify="right")
    table.add_column(f"samples to within {WITHIN:.0%} of best", justify="right")
    for r in rows:
        cells = []
        for n in CHECKPOINTS:
            c = r["curve"][n - 1] if len(r["curve"]) >= n else None
            cells.append("-" if c is None else f"{c:,} ({r['ideal'] / c:.2f})")
        table.add_row(r["workload"], *cells, str(r["to_best"]))
    Console(width=200).print(table)
    (out / "sample_efficiency.json").write_text(json.dumps(
        {"settings": overrides, "max_samples": args.max_samples, "seed": args.seed,
         "rows": rows}, indent=1))
    try:
        plot(rows, out / "sample_efficiency.png", args.label or "built-in search")
        print(f"figure: {out / 'sample_efficiency.png'}")
    except Exception as exc:  # noqa: BLE001 - matplotlib missing or broken: numbers stand
        print(f"no figure ({type(exc).__name__}: {exc})")
    print(f"rows: {out / 'sample_efficiency.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
