"""Run the four baselines of every workload on the Gemmini model, check and tabulate them.

    python -m benchmarks.run_baselines [--workloads NAME ...] [--baselines NAME ...]
                                       [--out runs/baselines] [--jobs 2] [--gemmini NAME]

For each workload (default: the nine of method.md section 9 and the three TinyMPC kernels
of `lowering.tinympc`, which run on fp32_4) and baseline:

* ``exo_unoptimized``: the basic Gemmini mapping (`lowering.mapping.map_to_gemmini`),
  Exo's C (disk-cached by `lowering.exo_to_c.mapped_c`) parsed to IR;
* ``exo_hand_optimized``: `benchmarks.baselines.exo_hand.hand_c` (disk-cached), parsed;
* ``vendor_lib``: the software library's tiling (`lowering.generators.vendor_lib`);
* ``hardware_fsm``: the loop FSM with the best tiling (`lowering.generators.fsm`);
* ``cpu_only`` (TinyMPC only; there ``exo_unoptimized`` is the straightforward mapping and
  ``exo_hand_optimized`` our hand schedule): `benchmarks.baselines.tinympc_runs`.

Each program runs on `gemmini.model` (timed on the first input set) and its outputs are
compared with the reference semantics (`lowering.reference`). Input sets: every kind x
ReLU setting (12 sets) when the workload has at most `FULL_CHECK_MACS` MACs; otherwise two
sets, ``uniform`` without ReLU and ``extreme`` (only -128 / 127, saturating) with ReLU,
because a reference and a functional run of a big kernel cost seconds each.

Writes ``results.csv``, ``results.json`` and ``speed_vs_fsm.png`` to the output directory.
A baseline that cannot be built or fails is reported in the table; the run goes on.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from gemmini.config import DEFAULT_CONFIG

BASELINES = ("exo_unoptimized", "exo_hand_optimized", "vendor_lib", "hardware_fsm")
# the second hand family (GEMMs only), used by tools.calibrate
CALIBRATION_BASELINES = ("exo_hand_published_style",)
CPU_ONLY = "cpu_only"     # TinyMPC only (benchmarks/baselines/tinympc_runs.py)
ALL_BASELINES = (CPU_ONLY, *BASELINES)
TINYMPC_BASELINES = (CPU_ONLY, "exo_unoptimized", "exo_hand_optimized")
FSM = "hardware_fsm"
FULL_CHECK_MACS = 1 << 22          # at most 4M MACs: check all input sets
DEFAULT_OUT = Path("runs/baselines")
CSV_FIELDS = ("workload", "baseline", "status", "cycles", "utilization", "speed_vs_fsm",
              "bound", "instructions", "sets_checked", "seconds", "message")


@dataclass
class Result:
    """One (workload, baseline) cell. status: ok / wrong / error."""
    workload: str
    baseline: str
    status: str
    cycles: int | None = None
    utilization: float | None = None
    speed_vs_fsm: float | None = None       # FSM cycles / these cycles (1.0 = FSM speed)
    bound: str | None = None
    instructions: int | None = None
    sets_checked: int = 0
    seconds: float = 0.0
    message: str = ""


# ---------------------------------------------------------------------------
# Programs and input sets
# ---------------------------------------------------------------------------

def baseline_function(spec, baseline: str, config=None, heap=None):
    """The `ir.Function` of one baseline of a workload spec (may be slow when cold).

    ``heap`` (`lowering.alloc.HeapState`; default the measured binaries' heap,
    `benchmarks.baselines.placement`) is where the Exo baselines' ``gemm_malloc`` calls
    start; the generated baselines place their buffers themselves (docs/hardware.md,
    "Placement")."""
    from benchmarks.baselines.placement import measured_heap
    from lowering.parser import parse_c

    if heap is None:
        heap = measured_heap(spec, baseline, config)
    if getattr(spec, "kind", None) == "tinympc":
        from benchmarks.baselines.tinympc_runs import baseline_function as tinympc_function
        return tinympc_function(spec, baseline)
    if baseline == "exo_unoptimized":
        from lowering.exo_to_c import mapped_c
        c = mapped_c(spec.algorithm())
        return parse_c(c.c_text, filename=f"{c.name}.c", function=c.name, heap=heap)
    if baseline == "exo_hand_optimized":
        from benchmarks.baselines.exo_hand import hand_c
        c = hand_c(spec, config)
        return parse_c(c.c_text, filename=f"{c.name}.c", function=c.name, heap=heap)
    if baseline == "exo_hand_published_style":
        from benchmarks.baselines.exo_hand_published import published_c
        c = published_c(spec, config)
        return parse_c(c.c_text, filename=f"{c.name}.c", function=c.name, heap=heap)
    if baseline == "vendor_lib":
        from lowering.generators.vendor_lib import vendor_baseline
        return vendor_baseline(spec, config)
    if baseline == FSM:
        from lowering.generators.fsm import fsm_baseline
        return fsm_baseline(spec, config)
    raise ValueError(f"unknown baseline {baseline!r}; known: "
                     f"{', '.join(BASELINES + CALIBRATION_BASELINES)}")


def check_sets(workload) -> list:
    """Input sets (with reference outputs) used to check a workload; see module docstring."""
    from lowering.reference import make_input_sets

    if (workload.macs or 0) <= FULL_CHECK_MACS:
        return make_input_sets(workload)
    return (make_input_sets(workload, kinds=("uniform",), acts=(False,))
            + make_input_sets(workload, kinds=("extreme",), acts=(True,)))


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."


def run_baseline(spec, workload, baseline: str, sets, config=None) -> Result:
    """Build, run (timed on the first set) and check one baseline; never raises."""
    from gemmini import model
    from lowering.reference import check_sets as check_outputs

    t0 = time.time()
    res = Result(spec.name, baseline, "error")
    config = getattr(spec, "config", None) or config     # TinyMPC: fp32_4
    try:
        if baseline == CPU_ONLY:
            return _cpu_only(spec, sets, res, t0)
        fn = baseline_function(spec, baseline, config)
        outs, report = [], None
        for i, s in enumerate(sets):
            run = model.run(fn, s.inputs, config, timing=(i == 0), macs=workload.macs)
            report = report or run.report
            outs.append(run.outputs)
        chk = check_outputs(outs, sets)
        res.cycles, res.utilization = report.cycles, report.utilization
        res.bound, res.instructions = report.bound, report.instructions
        res.sets_checked = chk.sets_checked if chk.ok else chk.sets_checked
        res.status = "ok" if chk.ok else "wrong"
        res.message = chk.message
    except Exception as e:  # one failing baseline must not stop the run
        res.message = _short(e)
        if os.environ.get("AUTOCOMP_EXO_DEBUG"):
            traceback.print_exc()
    res.seconds = round(time.time() - t0, 2)
    return res


def _cpu_only(spec, sets, res: Result, t0: float) -> Result:
    """The CPU-only baseline of a TinyMPC workload (cycles of the emulated core)."""
    from benchmarks.baselines.tinympc_runs import run_cpu_only

    run = run_cpu_only(spec, sets)
    res.cycles, res.instructions, res.bound = run.cycles, run.instructions, "cpu"
    res.utilization = 0.0
    res.sets_checked = run.check.sets_checked
    res.status = "ok" if run.check.ok else "wrong"
    res.message = f"{run.check.message}; {run.compiler} on the emulated core"
    res.seconds = round(time.time() - t0, 2)
    return res


def applicable(spec, baselines: tuple[str, ...]) -> tuple[str, ...]:
    """The requested baselines that exist for ``spec`` (TinyMPC: CPU only, straightforward,
    hand; the int8 suite: the four of `BASELINES`)."""
    own = TINYMPC_BASELINES if getattr(spec, "kind", None) == "tinympc" else BASELINES
    return tuple(b for b in baselines if b in own)


def run_workload(name: str, baselines: tuple[str, ...], config=None) -> list[Result]:
    """All requested baselines of one workload (input sets built once); never raises."""
    from lowering.workload import Workload
    from lowering.suite import by_name

    try:
        spec = by_name(name)
        workload = Workload.from_spec(spec)
        sets = check_sets(workload)
        baselines = applicable(spec, baselines)
    except Exception as e:
        return [Result(name, b, "error", message=f"workload: {_short(e)}") for b in baselines]
    results = [run_baseline(spec, workload, b, sets, config) for b in baselines]
    fsm = next((r for r in results if r.baseline == FSM and r.cycles), None)
    for r in results:
        if fsm is not None and r.cycles:
            r.speed_vs_fsm = fsm.cycles / r.cycles
    return results


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def write_csv(results: list[Result], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in results:
            w.writerow(asdict(r))


def write_json(results: list[Result], path: Path, meta: dict) -> None:
    path.write_text(json.dumps({"meta": meta, "results": [asdict(r) for r in results]},
                               indent=2) + "\n")


def write_chart(results: list[Result], path: Path, workloads, baselines) -> None:
    """Grouped bars: speed relative to the FSM per workload and baseline."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cell = {(r.workload, r.baseline): r for r in results}
    x = np.arange(len(workloads))
    width = 0.8 / max(len(baselines), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(workloads) + 2), 4.5))
    for i, b in enumerate(baselines):
        vals = [cell[(w, b)].speed_vs_fsm if (w, b) in cell and cell[(w, b)].speed_vs_fsm
                else 0.0 for w in workloads]
        ax.bar(x + (i - (len(baselines) - 1) / 2) * width, vals, width, label=b)
    ax.set_xticks(x)
    ax.set_xticklabels(workloads, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("speed relative to hardware FSM")
    ax.set_title("Baselines on the Gemmini model (higher is faster; 0 = missing)")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(r: Result | None) -> tuple[str, str, str, str]:
    if r is None:
        return "missing", "", "", "[yellow]missing[/]"
    if r.cycles is None:
        return "-", "-", "-", f"[red]error[/] {r.message[:60]}"
    speed = f"{r.speed_vs_fsm:.2f}x" if r.speed_vs_fsm else "-"
    mark = (f"[green]ok[/] ({r.sets_checked} sets)" if r.status == "ok"
            else f"[red]WRONG[/] {r.message[:60]}")
    return f"{r.cycles:,}", f"{100 * r.utilization:.1f}%", speed, mark


def results_table(results: list[Result], workloads, baselines):
    """A rich Table: one row per workload x baseline."""
    from rich.table import Table

    cell = {(r.workload, r.baseline): r for r in results}
    t = Table(title="Baselines on the Gemmini model", show_lines=False)
    for col, just in (("workload", "left"), ("baseline", "left"), ("cycles", "right"),
                      ("util", "right"), ("vs FSM", "right"), ("correct", "left")):
        t.add_column(col, justify=just)
    for w in workloads:
        for i, b in enumerate(baselines):
            t.add_row(w if i == 0 else "", b, *_fmt(cell.get((w, b))),
                      end_section=(i == len(baselines) - 1))
    return t


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def run(workloads, baselines, out: Path, jobs: int = 2, config=None, console=None) -> list[Result]:
    """Run everything (one task per workload, `jobs` processes), write the outputs."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn)

    if console is None:   # piped output: wide enough for full workload / baseline names
        console = Console() if sys.stdout.isatty() else Console(width=120)
    workloads, baselines = list(workloads), tuple(baselines)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    results: list[Result] = []
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("workloads", total=len(workloads))
        if jobs <= 1 or len(workloads) <= 1:
            for w in workloads:
                progress.update(task, description=f"running {w}")
                results += run_workload(w, baselines, config)
                progress.advance(task)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futs = {pool.submit(run_workload, w, baselines, config): w for w in workloads}
                for fut in as_completed(futs):
                    w = futs[fut]
                    try:
                        results += fut.result()
                    except Exception as e:   # a crashed worker: mark its workload
                        results += [Result(w, b, "error", message=f"worker: {_short(e)}")
                                    for b in baselines]
                    progress.update(task, description=f"done {w}")
                    progress.advance(task)
    order = {(w, b): (i, j) for i, w in enumerate(workloads) for j, b in enumerate(baselines)}
    results.sort(key=lambda r: order.get((r.workload, r.baseline), (99, 99)))
    elapsed = time.time() - t0
    meta = {"config": getattr(config, "name", config) or DEFAULT_CONFIG,
            "seconds": round(elapsed, 1),
            "workloads": workloads, "baselines": list(baselines), "jobs": jobs,
            "full_check_macs": FULL_CHECK_MACS}
    write_csv(results, out / "results.csv")
    write_json(results, out / "results.json", meta)
    try:
        write_chart(results, out / "speed_vs_fsm.png", workloads, baselines)
    except Exception as e:   # matplotlib missing or broken: the numbers are still written
        console.print(f"[yellow]chart not written: {_short(e)}[/]")
    console.print(results_table(results, workloads, baselines))
    console.print(f"{len(results)} results in {elapsed:.1f}s; written to {out}/"
                  "{results.csv, results.json, speed_vs_fsm.png}")
    return results


def main(argv=None) -> int:
    from lowering.suite import ALL

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="*", default=None,
                    help="workload names (suite names or gemm_MxNxK / conv_DxDxC); default: "
                         "the int8 suite and the TinyMPC kernels")
    ap.add_argument("--baselines", nargs="*", default=list(ALL_BASELINES), choices=ALL_BASELINES)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--gemmini", "--config", dest="gemmini", default=None,
                    help=f"Gemmini configuration (default {DEFAULT_CONFIG}); --config is its "
                         "old name")
    args = ap.parse_args(argv)
    workloads = args.workloads or [s.name for s in ALL]
    results = run(workloads, args.baselines, args.out, args.jobs, args.gemmini)
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
