"""Calibrate the timing parameters of the Gemmini model and regenerate docs/calibration.md.

    python -m tools.calibrate [--search] [--doc docs/calibration.md] [--set name=value ...]

Targets (hardware.md section 5): for the six GEMMs, the speed of Exo-unoptimized and
Exo-hand-optimized code relative to the hardware FSM, published as speedups over the
software library; the published ratio is ``baseline speedup / FSM speedup`` and ours is
``FSM cycles / baseline cycles``. A parameter set is good when all twelve ratios are
within `TOLERANCE` of the published ones and unoptimized < hand-optimized < FSM holds for
every workload (the three convolutions included).

The search is cheap because functional results do not depend on timing: each program's
trace is rebuilt only when a CPU cost changes (the CPU costs are folded into the trace),
its move plan is computed once, and only `gemmini.timing.simulate` runs per parameter set.
``--search`` runs coordinate descent over `SEARCH_SPACE` (physically plausible ranges,
reasons in `REASONS`) starting from the current defaults; without it the current defaults
(plus ``--set`` overrides) are only measured. The doc is written in both cases.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# the published FireSim speedups (docs/hardware.md section 5), shipped with the benchmarks
PUBLISHED = ROOT / "benchmarks" / "data" / "published_gemm_speedups.json"
DOC = ROOT / "docs" / "calibration.md"
TOLERANCE = 0.15
TARGETS = ("exo_unoptimized", "exo_hand_optimized")
FSM = "hardware_fsm"

# Plausible values of the parameters that move the ratios (hardware.md section 4).
SEARCH_SPACE: dict[str, tuple] = {
    "cpu_issue": (4, 5, 6, 7, 8, 9, 10, 11, 12),
    "mem_latency": (20, 30, 40, 50, 60, 70, 80, 90, 100),
    "bank_conflict_factor": (1.5, 1.75, 2.0, 2.25, 2.5),
    "cpu_loop_iter": (1, 2, 3, 4),
    "store_ack_latency": (0, 10, 20, 30, 40),
}
REASONS: dict[str, str] = {
    "cpu_issue": "4-12: an in-order Rocket core spends a few cycles moving operands into "
                 "registers and a RoCC command handshake per instruction",
    "cpu_loop_iter": "1-4: compare, increment and a (predicted) branch",
    "cpu_arith_op": "1-2: one ALU op; 2 when a dependent chain stalls the in-order pipe",
    "cpu_local_assign": "1: a register move",
    "cpu_branch": "1: a predicted compare-and-branch",
    "mem_latency": "20-100: DRAM round trip through the SoC's bus and L2, in core cycles",
    "bank_conflict_factor": "1.5-2.5: two operands from one single-ported bank are fed "
                            "about half as fast (hardware.md section 4)",
    "store_ack_latency": "0-40: a serialized mvout waits for the write acknowledgement",
    "acc_writeback_latency": "about 50: mesh depth plus accumulator pipeline (hardware source)",
    "block_cycles": "16: DIM rows of A per 16x16x16 block (architectural)",
    "preload_cycles": "16: a preload that cannot overlap shifts DIM rows of D (architectural)",
    "dma_bytes_per_cycle": "16: the 128-bit system bus (architectural)",
    "rs_load": "8 / 16 / 4: reservation-station entries of recent Gemmini",
    "max_mvins_in_flight": "2: DMA reader limit of recent Gemmini",
    "loop_ws_overhead": "about 100: first tile's load latency and last tile's write-back",
}


LAST_SEARCH = (
    "the defaults were found by `python -m tools.calibrate --search --rounds 2 --budget 420` "
    "(coordinate descent from the previous defaults cpu_issue 9, mem_latency 40, "
    "bank_conflict_factor 2.0, cpu_loop_iter 2, store_ack_latency 20 over "
    + ", ".join(f"`{k}` {list(v)}" for k, v in SEARCH_SPACE.items())
    + "; objective: ordering violations, then ratios outside the tolerance, then the mean "
    "error, then the largest; 55 parameter sets). It ended at mem_latency 50; 40 gives "
    "the same ratios within 1.2 points (mean error 10.9% against 10.7%) and keeps the "
    "previous, documented SoC value, so 40 was kept. This run only measured the defaults")
KNOWN_GAPS = """\
Why no plausible parameter set fits all twelve (what the model or its inputs miss):

* Bank placement. hardware.md section 5 explains the outliers by where A and B sit:
  on the measured binaries the unoptimized 512x512x512 has B in bank 2 (no conflict,
  the fastest unoptimized kernel on hardware). Our programs get their rows from
  `lowering.alloc` replaying Exo's `gemm_malloc` from an empty heap, which puts A and
  B of every basic-mapping GEMM in bank 0 (512x512x512: A at rows 0-511, B at rows
  512-2559), so the bank-conflict factor slows all six unoptimized kernels alike and
  cannot make 512x512x512 the fast one. The allocator state of the measured runs
  (what was allocated before the kernel) is not known to us; modelling it (or
  placing B in bank 2 for that kernel) is the missing piece.
* Parameters were kept inside their plausible ranges on purpose; the model was not
  changed to fit. Several searched values sit at an end of their range (see the
  table), a sign that the model's CPU costs per instruction and per loop iteration
  are not separately identifiable from these twelve ratios."""


def published_ratios(path: Path = PUBLISHED) -> dict[str, dict[str, float]]:
    """GEMM shape ``MxNxK`` -> baseline -> published speed relative to the FSM."""
    data = json.loads(path.read_text())
    out = {}
    for shape, row in data["gemm"].items():
        out[shape] = {b: row[b] / row[FSM] for b in TARGETS}
    return out


# ---------------------------------------------------------------------------
# Timing-only runs
# ---------------------------------------------------------------------------

def zero_inputs(fn) -> dict:
    """Zero arrays and neutral scalars: timing does not depend on values."""
    dtypes = {"i8": np.int8, "i32": np.int32, "f32": np.float32}
    return {p.name: np.zeros(p.shape, dtypes[p.dtype]) if p.is_array
            else (np.float32(1.0) if p.dtype == "f32" else False) for p in fn.params}


CPU_FIELDS = ("cpu_issue", "cpu_loop_iter", "cpu_arith_op", "cpu_local_assign", "cpu_branch",
              "loop_ws_commands")


class TimedProgram:
    """One program whose cycles are recomputed cheaply for many timing parameter sets.

    The trace is rebuilt only when a CPU cost changes; the move plan (addresses, bytes)
    does not depend on timing and is computed once.
    """

    def __init__(self, fn):
        self.fn = fn
        self.inputs = zero_inputs(fn)
        self._traces: dict = {}
        self._plan = None

    def cycles(self, cfg) -> int:
        from gemmini.moves import plan_moves
        from gemmini.timing import simulate
        from gemmini.trace import build_trace

        key = tuple(getattr(cfg.timing, f) for f in CPU_FIELDS)
        trace = self._traces.get(key)
        if trace is None:
            trace = build_trace(self.fn, self.inputs, cfg)
            if len(self._traces) > 4:
                self._traces.clear()
            self._traces[key] = trace
        if self._plan is None:
            arrays = [np.ascontiguousarray(self.inputs[p.name]).reshape(-1)
                      for p in self.fn.params if p.is_array]
            self._plan = plan_moves(trace, cfg, [a.nbytes for a in arrays],
                                    [a.itemsize for a in arrays])
        return simulate(trace, cfg, self._plan).cycles


@dataclass
class WorkloadPrograms:
    """The timed programs of one workload: unoptimized, hand-optimized, FSM candidates."""
    name: str
    kind: str
    shape: str                       # "MxNxK" for GEMMs
    unopt: TimedProgram
    hand: TimedProgram
    fsm: list                        # TimedProgram per FSM candidate (best is the min)

    def cycles(self, cfg) -> dict[str, int]:
        return {"exo_unoptimized": self.unopt.cycles(cfg),
                "exo_hand_optimized": self.hand.cycles(cfg),
                FSM: min(p.cycles(cfg) for p in self.fsm)}

    def keep_best_fsm(self, cfg) -> None:
        """Keep only the FSM tiling that is fastest under `cfg` (speeds up the search).

        A loop_ws tile's cost reads none of the memory / bank / store parameters, so
        the best tiling does not move during the search; the final evaluation times
        all candidates again.
        """
        if len(self.fsm) > 1:
            self.fsm = [min(self.fsm, key=lambda p: p.cycles(cfg))]


def load_programs(specs, cfg) -> list[WorkloadPrograms]:
    """Build (from the disk caches) the programs of every workload spec."""
    from lowering.generators import fsm as fsm_mod
    from benchmarks.run_baselines import baseline_function

    out = []
    for spec in specs:
        s = spec.shape_dict
        unopt = TimedProgram(baseline_function(spec, "exo_unoptimized", cfg))
        hand = TimedProgram(baseline_function(spec, "exo_hand_optimized", cfg))
        if spec.kind == "gemm":
            # the runner's FSM program: fsm.best_gemm_tiles' own ranking and model timing
            fsms = [TimedProgram(fsm_mod.fsm_baseline(spec, cfg))]
            shape = f"{s['M']}x{s['N']}x{s['K']}"
        else:
            fsms = [TimedProgram(fsm_mod.fsm_baseline(spec, cfg))]
            shape = spec.name
        out.append(WorkloadPrograms(spec.name, spec.kind, shape, unopt, hand, fsms))
    return out


# ---------------------------------------------------------------------------
# Scoring and search
# ---------------------------------------------------------------------------

@dataclass
class Evaluation:
    params: dict
    cycles: dict                     # workload -> baseline -> cycles
    ratios: dict                     # gemm shape -> baseline -> model ratio
    errors: dict                     # gemm shape -> baseline -> model / published - 1
    order_ok: dict                   # workload -> bool
    max_error: float
    mean_error: float

    @property
    def outside(self) -> int:
        """How many ratios miss the tolerance."""
        return sum(abs(e) > TOLERANCE for row in self.errors.values() for e in row.values())

    @property
    def score(self) -> tuple:
        """Lower is better: ordering violations, ratios outside the tolerance, mean, max."""
        violations = sum(not ok for ok in self.order_ok.values())
        return (violations, self.outside, round(self.mean_error, 4), round(self.max_error, 4))


def evaluate(programs, params: dict, base_cfg, published) -> Evaluation:
    """Cycles, ratios and errors of every program under `params` (TimingParams fields)."""
    cfg = base_cfg.with_timing(**params)
    cycles, ratios, errors, order = {}, {}, {}, {}
    for wp in programs:
        c = cycles[wp.name] = wp.cycles(cfg)
        order[wp.name] = c["exo_unoptimized"] > c["exo_hand_optimized"] > c[FSM]
        if wp.kind == "gemm" and wp.shape in published:
            ratios[wp.shape] = {b: c[FSM] / c[b] for b in TARGETS}
            errors[wp.shape] = {b: ratios[wp.shape][b] / published[wp.shape][b] - 1
                                for b in TARGETS}
    errs = [abs(e) for row in errors.values() for e in row.values()]
    return Evaluation(dict(params), cycles, ratios, errors, order,
                      max(errs) if errs else 0.0, float(np.mean(errs)) if errs else 0.0)


def coordinate_descent(programs, start: dict, base_cfg, published, *, rounds: int = 3,
                       log=print, budget: float | None = None) -> Evaluation:
    """Try every value of one parameter at a time, keep the best; repeat until stable.

    With `budget` (seconds) the search stops early and returns the best set so far.
    """
    memo: dict = {}
    t_end = time.time() + budget if budget else None
    base_start = base_cfg.with_timing(**start)
    for wp in programs:
        wp.keep_best_fsm(base_start)

    def ev(params):
        key = tuple(sorted(params.items()))
        if key not in memo:
            memo[key] = evaluate(programs, params, base_cfg, published)
        return memo[key]

    best = ev(start)
    log(f"start {start}: max error {best.max_error:.3f}, order {best.score[0]} violations")
    for r in range(rounds):
        improved = False
        for name, values in SEARCH_SPACE.items():
            for v in values:
                if t_end is not None and time.time() > t_end:
                    log(f"time budget reached after {len(memo)} parameter sets")
                    return best
                trial = dict(best.params, **{name: v})
                e = ev(trial)
                if e.score < best.score:
                    best, improved = e, True
                    log(f"round {r}: {name}={v} -> max error {e.max_error:.3f} "
                        f"mean {e.mean_error:.3f} violations {e.score[0]}")
        if not improved:
            break
    log(f"{len(memo)} parameter sets evaluated")
    return best


# ---------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------

def render_doc(ev: Evaluation, base_cfg, published, *, searched: str) -> str:
    """docs/calibration.md text (the JSON block at the end is what tests read)."""
    tp = dataclasses.replace(base_cfg.timing, **ev.params)
    lines = [
        "# Calibration of the Gemmini timing model",
        "",
        "Generated by `python -m tools.calibrate" + (" --search" if searched else "") +
        "`; do not edit by hand.",
        "",
        "Targets (hardware.md section 5): for the six ResNet-50 GEMMs, the speed of Exo's "
        "unoptimized and hand-optimized code relative to the hardware FSM. The published "
        "ratio is the baseline's speedup over the software library divided by the FSM's "
        "(`benchmarks/data/published_gemm_speedups.json`); ours is FSM cycles / baseline "
        "cycles on the model (`int8_16`). Goal: every ratio within "
        f"{round(100 * TOLERANCE)}% of the published one, and unoptimized < hand-optimized "
        "< FSM in speed for all nine workloads.",
        "",
        "Programs: `exo_unoptimized` = `lowering.mapping.map_to_gemmini`, "
        "`exo_hand_optimized` = `benchmarks.baselines.exo_hand`, FSM = "
        "`lowering.generators.fsm.fsm_baseline` (its tiling is chosen on the model with the "
        "default parameters; a loop_ws tile's cost reads none of the searched memory, bank "
        "or store parameters). The same programs as `python -m benchmarks.run_baselines`.",
        "",
        "## Timing parameters (`gemmini.config.TimingParams` defaults)",
        "",
        "| parameter | value | plausible range and reason |",
        "|---|---|---|",
    ]
    for f in dataclasses.fields(tp):
        if f.name == "max_instructions":
            continue
        mark = " (searched)" if f.name in SEARCH_SPACE else ""
        lines.append(f"| `{f.name}` | {getattr(tp, f.name)}{mark} | {REASONS.get(f.name, '')} |")
    lines += [
        "",
        f"Search: {searched or LAST_SEARCH}.",
        "",
        "## Model versus published (GEMMs)",
        "",
        "| GEMM (MxNxK) | unopt cycles | hand cycles | FSM cycles | unopt/FSM model | "
        "published | error | hand/FSM model | published | error |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for shape, r in ev.ratios.items():
        name = f"gemm_{shape}"
        c = ev.cycles[name]
        e = ev.errors[shape]
        p = published[shape]
        lines.append(
            f"| {shape} | {c['exo_unoptimized']:,} | {c['exo_hand_optimized']:,} | "
            f"{c[FSM]:,} | {r['exo_unoptimized']:.3f} | {p['exo_unoptimized']:.3f} | "
            f"{100 * e['exo_unoptimized']:+.1f}% | {r['exo_hand_optimized']:.3f} | "
            f"{p['exo_hand_optimized']:.3f} | {100 * e['exo_hand_optimized']:+.1f}% |")
    within = ev.max_error <= TOLERANCE
    lines += [
        "",
        f"Largest error {100 * ev.max_error:.1f}%, mean {100 * ev.mean_error:.1f}%: "
        + ("all twelve ratios are within the tolerance." if within else
           "NOT all ratios are within the tolerance (see below)."),
    ]
    if not within:
        lines += ["", "Outside the tolerance: " + ", ".join(
            f"{shape} {b.replace('exo_', '')} ({100 * e:+.1f}%)"
            for shape, row in ev.errors.items() for b, e in row.items() if abs(e) > TOLERANCE)
            + ".", "", KNOWN_GAPS]
    lines += [
        "",
        "## Ordering (speed: unoptimized < hand-optimized < FSM)",
        "",
        "| workload | unopt cycles | hand cycles | FSM cycles | unopt/FSM | hand/FSM | holds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in ev.cycles.items():
        lines.append(f"| {name} | {c['exo_unoptimized']:,} | {c['exo_hand_optimized']:,} | "
                     f"{c[FSM]:,} | {c[FSM] / c['exo_unoptimized']:.3f} | "
                     f"{c[FSM] / c['exo_hand_optimized']:.3f} | "
                     f"{'yes' if ev.order_ok[name] else 'NO'} |")
    data = {"params": {f.name: getattr(tp, f.name) for f in dataclasses.fields(tp)},
            "tolerance": TOLERANCE, "cycles": ev.cycles, "ratios": ev.ratios,
            "published": published, "errors": ev.errors, "order_ok": ev.order_ok,
            "max_error": ev.max_error}
    lines += ["", "## Data", "", "```json", json.dumps(data, indent=1, sort_keys=True),
              "```", ""]
    return "\n".join(lines)


def read_doc_data(path: Path = DOC) -> dict:
    """The JSON block of docs/calibration.md."""
    text = path.read_text()
    start = text.index("```json\n") + len("```json\n")
    return json.loads(text[start:text.index("```", start)])


def _parse_set(items) -> dict:
    out = {}
    for item in items or ():
        name, _, value = item.partition("=")
        out[name] = float(value) if "." in value else int(value)
    return out


def main(argv=None) -> int:
    from lowering.suite import SUITE
    from gemmini.config import get_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--search", action="store_true", help="coordinate descent from the defaults")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=None, help="search time limit (seconds)")
    ap.add_argument("--set", nargs="*", default=None, metavar="NAME=VALUE",
                    help="start from these TimingParams values instead of the defaults")
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument("--gemms-only", action="store_true",
                    help="search (and document) the six GEMMs only (faster)")
    args = ap.parse_args(argv)
    base = get_config("int8_16")
    published = published_ratios()
    t0 = time.time()
    specs = [s for s in SUITE if not args.gemms_only or s.kind == "gemm"]
    start = {name: getattr(base.timing, name) for name in SEARCH_SPACE}
    start.update(_parse_set(args.set))
    if args.search:   # search on the GEMMs (the targets); the ordering of all is checked after
        programs = load_programs([s for s in specs if s.kind == "gemm"], base)
        print(f"programs built in {time.time() - t0:.1f}s", flush=True)
        best = coordinate_descent(programs, start, base, published, rounds=args.rounds,
                                  log=lambda m: print(m, flush=True), budget=args.budget)
        best = evaluate(load_programs(specs, base), best.params, base, published)
        searched = (f"coordinate descent over {', '.join(SEARCH_SPACE)} "
                    f"(values {json.dumps(SEARCH_SPACE)}), objective: ordering violations, "
                    "then the number of ratios outside the tolerance, then the mean error, "
                    "then the largest")
    else:
        best = evaluate(load_programs(specs, base), start, base, published)
        searched = ""
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(render_doc(best, base, published, searched=searched))
    print(f"best {best.params}: max error {best.max_error:.3f}, mean {best.mean_error:.3f}, "
          f"ordering {all(best.order_ok.values())}; wrote {args.doc} "
          f"({time.time() - t0:.1f}s)", flush=True)
    return 0 if best.max_error <= TOLERANCE and all(best.order_ok.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
