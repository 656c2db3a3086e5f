"""Where the seconds of one search candidate go, end to end (issue 18 item 2).

    python -m benchmarks.bench_candidate [WORKLOAD] [--samples N] [--profile FILE]

Runs a short built-in search on WORKLOAD (default gemm_12544x256x64) in this process
(``evaluation.engine = "inline"``, one proposer call at a time) for N evaluated samples,
from Exo's basic mapping, with a fresh run directory. Every stage of a candidate's life
is timed by wrapping the one function that does it (CPU time of the calling thread, each
second counted once: a stage's time excludes the stages it calls): planning and
implementing (the built-in transformations' analyses), parsing, simplifying, hashing,
printing, building the trace, the functional run, timing, the report, the comparison with
the reference, run-directory writes, and the rest of the search loop ("other").
Prints seconds per evaluated candidate for each stage and in total (the process's CPU
time divided by the samples). ``--profile FILE`` also writes a cProfile of the search.
Setting up the workload (the reference outputs of its input sets) is timed apart.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import autocomp_exo.evaluation as evaluation_mod
import autocomp_exo.runs as runs_mod
import gemmini.model as model_mod
import gemmini.trace as trace_mod
from autocomp_exo import Budget, Workload, optimize
from autocomp_exo.evaluation import ModelEvaluator
from autocomp_exo.proposers.builtin import BuiltinProposer
from autocomp_exo.runs import JsonlWriter, RunDir
from autocomp_exo.settings import load_settings
from gemmini.functional import Machine
from lowering.suite import by_name

DEFAULT = "gemm_12544x256x64"


class StageTimer:
    """Exclusive per-stage CPU seconds of wrapped functions (per thread, nesting aware)."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._local = threading.local()
        self._undo: list = []

    def wrap(self, owner, attr: str, stage: str) -> None:
        """Replace ``owner.attr`` (a module function or class method) by a timed wrapper
        (nothing if it does not exist: older trees time what they have)."""
        f = getattr(owner, attr, None)
        if f is None:
            return

        @functools.wraps(f)
        def timed(*args, **kw):
            stack = self._local.__dict__.setdefault("stack", [])
            stack.append(0.0)
            t0 = time.thread_time()
            try:
                return f(*args, **kw)
            finally:
                dt = time.thread_time() - t0
                inner = stack.pop()
                self.seconds[stage] += dt - inner
                self.calls[stage] += 1
                if stack:
                    stack[-1] += dt

        self._undo.append((owner, attr, owner.__dict__.get(attr, f)))
        setattr(owner, attr, timed)

    def restore(self) -> None:
        for owner, attr, f in reversed(self._undo):
            setattr(owner, attr, f)
        self._undo.clear()


STAGES = (   # (owner, attribute, stage); module attributes at the place they are used
    (BuiltinProposer, "plan", "plan (analyses)"),
    (BuiltinProposer, "implement", "implement (rewrite)"),
    (evaluation_mod, "parse_c", "parse"),
    (evaluation_mod, "simplify_function", "simplify"),
    (evaluation_mod, "ir_key", "hash"),
    (evaluation_mod, "compact_code", "print"),
    (model_mod, "build_trace", "trace"),
    (trace_mod._Compiler, "_stmts", "trace"),
    (trace_mod, "_assemble", "trace"),
    (Machine, "run", "functional"),
    (model_mod, "simulate", "timing"),
    (model_mod, "build_report", "report"),
    (evaluation_mod, "check_sets", "check"),
    (RunDir, "log", "run-dir writes"),
    (RunDir, "write_candidate", "run-dir writes"),
    (RunDir, "write_beam", "run-dir writes"),
    (RunDir, "write_state", "run-dir writes"),
    (RunDir, "write_lineage", "run-dir writes"),
    (RunDir, "write_best", "run-dir writes"),
    (RunDir, "write_status", "run-dir writes"),
    (JsonlWriter, "append", "run-dir writes"),
    (runs_mod, "atomic_write", "run-dir writes"),
)


def measure(name: str, samples: int, profile: str | None = None) -> dict:
    """Run the short search; per-candidate seconds per stage, total and setup."""
    t0 = time.process_time()
    workload = Workload.from_spec(by_name(name))
    settings = load_settings(overrides={
        "evaluation.engine": "inline", "search.parallel_requests": 1,
        "search.iterations": 50, "search.patience": 50})
    evaluator = ModelEvaluator.for_workload(workload, settings.evaluation.gemmini)
    start = workload.mapped_c().c_text
    setup = time.process_time() - t0
    timer = StageTimer()
    for owner, attr, stage in STAGES:
        timer.wrap(owner, attr, stage)
    prof = cProfile.Profile() if profile else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            c0, w0 = time.process_time(), time.perf_counter()
            if prof:
                prof.enable()
            result = optimize(start, settings=settings, evaluator=evaluator,
                              budget=Budget(max_samples=samples), run_dir=Path(tmp) / "run",
                              progress=False)
            if prof:
                prof.disable()
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    finally:
        timer.restore()
    if prof:
        prof.dump_stats(profile)
    n = max(1, result.samples)
    stages = {k: v / n for k, v in timer.seconds.items()}
    stages["other"] = max(0.0, cpu / n - sum(stages.values()))
    return {"workload": name, "samples": result.samples, "cycles": result.cycles,
            "setup": setup, "cpu_per_candidate": cpu / n, "wall_per_candidate": wall / n,
            "stages": stages}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", nargs="?", default=DEFAULT)
    ap.add_argument("--samples", type=int, default=12)
    ap.add_argument("--profile", help="also write a cProfile of the search to this file")
    args = ap.parse_args(argv)
    r = measure(args.workload, args.samples, args.profile)
    print(f"{r['workload']}: {r['samples']} candidates evaluated, best {r['cycles']:,} cycles; "
          f"setup (reference outputs of the input sets) {r['setup']:.2f} s")
    print(f"{'stage':<22} {'s/candidate':>12} {'share':>6}")
    total = r["cpu_per_candidate"]
    for stage, s in sorted(r["stages"].items(), key=lambda kv: -kv[1]):
        print(f"{stage:<22} {s:>12.3f} {s / total:>6.0%}")
    print(f"{'total (CPU)':<22} {total:>12.3f}")
    print(f"{'total (wall)':<22} {r['wall_per_candidate']:>12.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
