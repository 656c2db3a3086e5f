"""Calibrate the timing parameters of the Gemmini model and regenerate docs/calibration.md.

    python -m tools.calibrate [--search] [--cpu-cost compiled|compiled-gcc|compiled-zig|ir]
        [--families exo_hand_optimized,exo_hand_published_style] [--set name=value ...]
        [--gemms-only] [--runtime-bases] [--doc PATH]

Targets (hardware.md section 5): for the six GEMMs, 18 speed ratios per hand family
(unoptimized / FSM, hand / FSM, hand / unoptimized), published as speedups over the
software library; ours come from the model's cycles (speed = 1 / cycles). Goal for
each family: mean |error| <= `GOAL_MEAN`, every error <= `TOLERANCE`, Spearman rank
correlation of hand / FSM >= `GOAL_SPEARMAN`, and unoptimized < hand < FSM in speed on
every workload (the three convolutions included, for the families that have them).
The CPU is priced as the evaluator's judge does (compiled code, gcc where installed;
``--cpu-cost ir`` for the IR estimate); the Exo baselines' buffers are placed as the
measured binaries had them (`benchmarks.baselines.placement`).

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

from benchmarks.baselines.placement import PLACEMENT, load_placement, shape_key

ROOT = Path(__file__).resolve().parent.parent
# the published FireSim speedups (docs/hardware.md section 5), shipped with the benchmarks
PUBLISHED = ROOT / "benchmarks" / "data" / "published_gemm_speedups.json"
DOC = ROOT / "docs" / "calibration.md"
TOLERANCE = 0.15                 # every ratio
GOAL_MEAN = 0.07                 # mean |error| of a family's 18 ratios
GOAL_SPEARMAN = 0.8              # rank correlation of hand/FSM over the six GEMMs
UNOPT = "exo_unoptimized"
FSM = "hardware_fsm"
PUBLISHED_HAND = "exo_hand_optimized"
# the hand families: ours, and one scheduled the way Exo's published Gemmini matmul
# schedules are (both compared with the published hand numbers)
FAMILIES = ("exo_hand_optimized", "exo_hand_published_style")
FAMILY_KINDS = {"exo_hand_published_style": ("gemm",)}   # default: every kind
FAMILY_DOC = {
    "exo_hand_optimized": "`benchmarks.baselines.exo_hand` (our hand schedules)",
    "exo_hand_published_style": "`benchmarks.baselines.exo_hand_published` (scheduled the "
                                "way Exo's published Gemmini matmul schedules are)",
}
RATIOS = ("unopt/FSM", "hand/FSM", "hand/unopt")
TARGETS = (UNOPT, *FAMILIES)

# Plausible values of the parameters that move the ratios (hardware.md section 4,
# docs/cpu_cost.md for the core).
SEARCH_SPACE: dict[str, tuple] = {
    "mem_latency": (20, 30, 40, 50, 60, 70, 80, 90, 100),
    "bank_conflict_factor": (1.5, 1.75, 2.0, 2.25, 2.5),
    "store_ack_latency": (0, 10, 20, 30, 40),
    "core_rocc": (0, 1, 2, 3),
    "core_taken_branch": (0, 1, 2),
    "core_mispredict": (3, 4, 5),
    "core_load_use": (1, 2),
}
REASONS: dict[str, str] = {
    "cpu_issue": "IR estimate only (not the judge): 4-12, operands and a RoCC handshake",
    "cpu_loop_iter": "IR estimate only: 1-4, compare, increment and a (predicted) branch",
    "cpu_arith_op": "IR estimate only: 1-2, one ALU op",
    "cpu_local_assign": "IR estimate only: 1, a register move",
    "cpu_branch": "IR estimate only: 1, a predicted compare-and-branch",
    "cpu_load": "IR estimate of CPU code: 2-3, an element load, load-use latency included",
    "cpu_store": "IR estimate of CPU code: 1, an element store",
    "cpu_fp_op": "IR estimate of CPU code: 3-5, a float add / multiply / compare / conversion",
    "cpu_div_op": "IR estimate of CPU code: 10-40, a divide, remainder or square root",
    "core_taken_branch": "0-2: redirect bubble of a taken branch the BTB predicts "
                         "(Rocket frontend)",
    "core_mispredict": "3-5: branch resolved in the memory stage, three younger "
                       "instructions killed",
    "core_load_use": "1-2: one bubble for words, two for bytes and halves",
    "core_mul": "2-9: iterative multiplier, 8 bits a cycle with early out",
    "core_div": "3-65: iterative divider, 1 bit a cycle with early out",
    "core_rocc": "0-3: a command leaves from write-back; replays are back-pressure "
                 "(modelled by the queues)",
    "mem_latency": "20-100: DRAM round trip through the SoC's bus and L2, in core cycles",
    "bank_conflict_factor": "1.5-2.5: two operands from one single-ported bank are fed "
                            "about half as fast (hardware.md section 4)",
    "store_ack_latency": "0-40: a serialized mvout waits for the write acknowledgement",
    "acc_writeback_latency": "about 50: mesh depth plus accumulator pipeline (hardware source)",
    "acc_port_contention": "True or False (a mechanism, not searched): zero mvins and "
                           "mvouts through an accumulator bank's ports cost the execute "
                           "engine a cycle a row; docs/hardware.md section 5, Remaining gaps",
    "block_cycles": "16: DIM rows of A per 16x16x16 block (architectural)",
    "preload_cycles": "16: a preload that cannot overlap shifts DIM rows of D (architectural)",
    "garbage_preload_cycles": "4: a lone preload of GARBAGE weights (RTL: total_rows "
                              "floor of 4)",
    "feed_min_rows": "4: the RTL's floor on rows streamed per compute without weights",
    "dma_bytes_per_cycle": "16: the 128-bit system bus (architectural)",
    "rs_load": "8 / 16 / 4: reservation-station entries of recent Gemmini",
    "max_mvins_in_flight": "2: DMA reader limit of recent Gemmini",
    "loop_ws_overhead": "about 100: first tile's load latency and last tile's write-back",
}


LAST_SEARCH = (
    "the defaults were found by `python -m tools.calibrate --search --rounds 2 --budget 1200 "
    "--gemms-only --set acc_port_contention=1 mem_latency=20 bank_conflict_factor=1.75` with "
    "the measured placement (coordinate descent over "
    + ", ".join(f"`{k}` {list(v)}" for k, v in SEARCH_SPACE.items()) + "; objective: "
    "ordering violations, then ratios outside the tolerance, then the worse family's mean "
    "error, then the largest; 41 parameter sets: store_ack_latency 30, core_rocc 2, our "
    "family's largest error 16.7%), then a grid of store_ack_latency 32-38 by hand (within "
    "its range; 36 puts both families inside 15%) with core_rocc back at 3 (as good, "
    "unchanged). Several values end at an edge of their range (mem_latency at the bottom; "
    "core_rocc, core_taken_branch, core_mispredict, core_load_use at the top): the search "
    "asks for a dearer core than the compiled code gives, see docs/hardware.md section 5, "
    "Remaining gaps. This run only measured the defaults")
KNOWN_GAPS = """\
What the model or its inputs miss where the goal is not met: see "Remaining gaps"
in docs/hardware.md section 5 (each failing ratio is listed above)."""


def published_ratios(path: Path = PUBLISHED) -> dict[str, dict[str, float]]:
    """GEMM shape ``MxNxK`` -> ratio name -> published speed ratio."""
    data = json.loads(path.read_text())
    out = {}
    for shape, row in data["gemm"].items():
        u, h, f = row[UNOPT], row[PUBLISHED_HAND], row[FSM]
        out[shape] = {"unopt/FSM": u / f, "hand/FSM": h / f, "hand/unopt": h / u}
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


CORE_FIELDS = ("core_taken_branch", "core_mispredict", "core_load_use", "core_mul",
               "core_div", "core_rocc")


class TimedProgram:
    """One program whose cycles are recomputed cheaply for many timing parameter sets.

    ``compiler`` (a `lowering.riscv.Compiler`) prices the CPU from the compiled kernel
    (the judge, docs/cpu_cost.md); None prices it from the IR. The trace is rebuilt
    only when a CPU cost parameter changes; the move plan (addresses, bytes) does not
    depend on timing and is computed once.
    """

    def __init__(self, fn, compiler=None, runtime_bases: bool = False):
        self.fn = fn
        self.compiler = compiler
        self.runtime_bases = runtime_bases
        self.inputs = zero_inputs(fn)
        self._traces: dict = {}
        self._base = None
        self._plan = None

    def _trace(self, cfg):
        from gemmini.trace import build_trace, with_cpu_cost
        from lowering.riscv.cost import compiled_cpu_cost

        if self.compiler is None:
            return build_trace(self.fn, self.inputs, cfg)
        if self._base is None:
            self._base = build_trace(self.fn, self.inputs, cfg)
        cost = compiled_cpu_cost(self.fn, self.inputs, cfg, self._base, self.compiler,
                                 self.runtime_bases).cost
        return with_cpu_cost(self._base, cost)

    def cycles(self, cfg) -> int:
        from gemmini.moves import plan_moves
        from gemmini.timing import simulate

        fields = CPU_FIELDS if self.compiler is None else CORE_FIELDS
        key = tuple(getattr(cfg.timing, f) for f in fields)
        trace = self._traces.get(key)
        if trace is None:
            trace = self._trace(cfg)
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
    """The timed programs of one workload: unoptimized, each hand family, FSM candidates."""
    name: str
    kind: str
    shape: str                       # "MxNxK" for GEMMs
    programs: dict                   # baseline name -> TimedProgram (unoptimized, families)
    fsm: list                        # TimedProgram per FSM candidate (best is the min)

    def cycles(self, cfg) -> dict[str, int]:
        out = {name: p.cycles(cfg) for name, p in self.programs.items()}
        out[FSM] = min(p.cycles(cfg) for p in self.fsm)
        return out

    def keep_best_fsm(self, cfg) -> None:
        """Keep only the FSM tiling that is fastest under `cfg` (speeds up the search).

        A loop_ws tile's cost reads none of the memory / bank / store parameters, so
        the best tiling does not move during the search; the final evaluation times
        all candidates again.
        """
        if len(self.fsm) > 1:
            self.fsm = [min(self.fsm, key=lambda p: p.cycles(cfg))]


def describe_heap(h) -> str:
    """One heap state in words, for the doc."""
    parts, row = [], 0
    for rows, used in h.blocks:
        parts.append(f"{'an in-use' if used else 'a freed'} block of {rows} rows at row {row}")
        row += rows
    return " and ".join(parts) or "a fresh heap"


def load_programs(specs, cfg, *, families=FAMILIES, compiler=None,
                  placement: dict | None = None,
                  runtime_bases: bool = False) -> list[WorkloadPrograms]:
    """Build (from the disk caches) the programs of every workload spec.

    ``compiler`` prices the CPU from compiled code (None: the IR estimate);
    ``placement`` (shape -> baseline -> HeapState) is the heap the Exo baselines'
    ``gemm_malloc`` calls start from (default: a fresh heap); ``runtime_bases`` compiles
    the Exo baselines with allocation bases opaque to the compiler (as the measured
    binaries got them from the allocator at run time) instead of constants."""
    from lowering.generators import fsm as fsm_mod
    from benchmarks.run_baselines import baseline_function
    from lowering.alloc import EMPTY_HEAP

    placement = placement or {}
    out = []
    for spec in specs:
        shape = shape_key(spec)
        heaps = placement.get(shape, {})         # not listed: a fresh heap
        programs = {}
        for name in (UNOPT, *families):
            if name not in FAMILY_KINDS or spec.kind in FAMILY_KINDS[name]:
                fn = baseline_function(spec, name, cfg, heap=heaps.get(name, EMPTY_HEAP))
                programs[name] = TimedProgram(fn, compiler, runtime_bases)
        # the runner's FSM program: fsm.best_gemm_tiles' own ranking and model timing
        fsms = [TimedProgram(fsm_mod.fsm_baseline(spec, cfg), compiler)]
        out.append(WorkloadPrograms(spec.name, spec.kind, shape, programs, fsms))
    return out


# ---------------------------------------------------------------------------
# Scoring and search
# ---------------------------------------------------------------------------

def spearman(x, y) -> float:
    """Rank correlation of two equally long sequences (average ranks for ties)."""
    def ranks(v):
        v = np.asarray(v, dtype=float)
        order = v.argsort()
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for value in np.unique(v):                 # ties share their mean rank
            tied = v == value
            r[tied] = r[tied].mean()
        return r
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def model_ratios(c: dict, hand: str) -> dict[str, float]:
    """The three speed ratios of one GEMM from its cycles (speed = 1 / cycles)."""
    return {"unopt/FSM": c[FSM] / c[UNOPT], "hand/FSM": c[FSM] / c[hand],
            "hand/unopt": c[UNOPT] / c[hand]}


@dataclass
class Evaluation:
    params: dict
    cycles: dict                     # workload -> baseline -> cycles
    ratios: dict                     # family -> gemm shape -> ratio name -> model ratio
    errors: dict                     # family -> gemm shape -> ratio name -> model / published - 1
    order_ok: dict                   # family -> workload -> bool
    stats: dict                      # family -> mean, max, spearman (of hand/FSM)

    @property
    def max_error(self) -> float:
        return max((s["max"] for s in self.stats.values()), default=0.0)

    @property
    def mean_error(self) -> float:
        """The worse family's mean |error|."""
        return max((s["mean"] for s in self.stats.values()), default=0.0)

    @property
    def outside(self) -> int:
        """How many ratios miss the tolerance (all families)."""
        return sum(abs(e) > TOLERANCE for fam in self.errors.values()
                   for row in fam.values() for e in row.values())

    @property
    def meets_goal(self) -> bool:
        return all(s["mean"] <= GOAL_MEAN and s["max"] <= TOLERANCE
                   and s["spearman"] >= GOAL_SPEARMAN for s in self.stats.values())

    @property
    def score(self) -> tuple:
        """Lower is better: ordering violations, ratios outside the tolerance, the worse
        family's mean error, the largest error."""
        violations = sum(not ok for fam in self.order_ok.values() for ok in fam.values())
        return (violations, self.outside, round(self.mean_error, 4), round(self.max_error, 4))


def evaluate(programs, params: dict, base_cfg, published) -> Evaluation:
    """Cycles, ratios and errors of every program under `params` (TimingParams fields)."""
    cfg = base_cfg.with_timing(**params)
    cycles = {wp.name: wp.cycles(cfg) for wp in programs}
    families = [f for f in FAMILIES if any(f in c for c in cycles.values())]
    ratios, errors, order, stats = {}, {}, {}, {}
    for fam in families:
        ratios[fam], errors[fam], order[fam] = {}, {}, {}
        for wp in programs:
            c = cycles[wp.name]
            if fam not in c:
                continue
            order[fam][wp.name] = c[UNOPT] > c[fam] > c[FSM]
            if wp.kind == "gemm" and wp.shape in published:
                r = ratios[fam][wp.shape] = model_ratios(c, fam)
                errors[fam][wp.shape] = {k: r[k] / published[wp.shape][k] - 1 for k in RATIOS}
        errs = [abs(e) for row in errors[fam].values() for e in row.values()]
        shapes = list(ratios[fam])
        stats[fam] = {
            "mean": float(np.mean(errs)) if errs else 0.0,
            "max": max(errs) if errs else 0.0,
            "spearman": spearman([ratios[fam][s]["hand/FSM"] for s in shapes],
                                 [published[s]["hand/FSM"] for s in shapes])}
    return Evaluation(dict(params), cycles, ratios, errors, order, stats)


def coordinate_descent(programs, start: dict, base_cfg, published, *, rounds: int = 3,
                       log=print, budget: float | None = None,
                       space: dict | None = None) -> Evaluation:
    """Try every value of one parameter at a time, keep the best; repeat until stable.

    With `budget` (seconds) the search stops early and returns the best set so far.
    """
    space = space or SEARCH_SPACE
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
    log(f"start {start}: max error {best.max_error:.3f}, mean {best.mean_error:.3f}")
    for r in range(rounds):
        improved = False
        for name, values in space.items():
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

def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def render_doc(ev: Evaluation, base_cfg, published, *, searched: str, judge: str,
               command: str, placement: dict) -> str:
    """docs/calibration.md text (the JSON block at the end is what tests read)."""
    tp = dataclasses.replace(base_cfg.timing, **ev.params)
    lines = [
        "# Calibration of the Gemmini timing model",
        "",
        f"Generated by `{command}`; do not edit by hand.",
        "",
        "Targets (hardware.md section 5): for the six ResNet-50 GEMMs, 18 speed ratios per "
        "hand family: unoptimized / FSM, hand-optimized / FSM and hand-optimized / "
        "unoptimized. The published ratios come from the speedups over the software "
        "library (`benchmarks/data/published_gemm_speedups.json`); ours from the model's "
        "cycles on `int8_16` (speed = 1 / cycles). Both hand families are compared with "
        f"the same published hand numbers. Goal for each family: mean |error| <= "
        f"{round(100 * GOAL_MEAN)}%, every error <= {round(100 * TOLERANCE)}%, rank "
        f"correlation (Spearman) of hand/FSM with the published >= {GOAL_SPEARMAN}; and "
        "unoptimized < hand-optimized < FSM in speed on every workload.",
        "",
        f"CPU cost (the judge): {judge}.",
        "",
        "Programs: `exo_unoptimized` = `lowering.mapping.map_to_gemmini` (Exo's basic "
        "mapping); " + "; ".join(f"`{f}` = {FAMILY_DOC[f]}" for f in ev.stats) +
        "; FSM = `lowering.generators.fsm.fsm_baseline` (its tiling is chosen on the model; "
        "a loop_ws tile's cost reads none of the searched memory, bank or store "
        "parameters). The same programs as `python -m benchmarks.run_baselines`.",
        "",
        "Placement: the Exo baselines' `gemm_malloc` calls start from a fresh heap, except "
        "where the measured binaries are known to have had another heap state "
        "(`benchmarks/data/measured_placement.json`): "
        + "; ".join(f"{shape} {b.replace('exo_', '')}: {describe_heap(h)}"
                    for shape, row in placement.items()
                    for b, h in row.items()) + " (docs/hardware.md, Placement).",
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
    lines += ["", f"Search: {searched or LAST_SEARCH}."]
    for fam, st in ev.stats.items():
        lines += [
            "",
            f"## Model versus published: `{fam}`",
            "",
            "| GEMM (MxNxK) | unopt cycles | hand cycles | FSM cycles | "
            + " | ".join(f"{k} model | published | error" for k in RATIOS) + " |",
            "|---|---|---|---|" + "---|---|---|" * len(RATIOS),
        ]
        for shape, r in ev.ratios[fam].items():
            c, e, p = ev.cycles[f"gemm_{shape}"], ev.errors[fam][shape], published[shape]
            lines.append(
                f"| {shape} | {c[UNOPT]:,} | {c[fam]:,} | {c[FSM]:,} | " + " | ".join(
                    f"{r[k]:.3f} | {p[k]:.3f} | {_pct(e[k])}" for k in RATIOS) + " |")
        ok = (st["mean"] <= GOAL_MEAN, st["max"] <= TOLERANCE, st["spearman"] >= GOAL_SPEARMAN)
        lines += [
            "",
            f"Mean |error| {100 * st['mean']:.1f}% ({'meets' if ok[0] else 'MISSES'} "
            f"<= {round(100 * GOAL_MEAN)}%), largest {100 * st['max']:.1f}% "
            f"({'meets' if ok[1] else 'MISSES'} <= {round(100 * TOLERANCE)}%), Spearman "
            f"of hand/FSM {st['spearman']:.2f} ({'meets' if ok[2] else 'MISSES'} "
            f">= {GOAL_SPEARMAN}).",
        ]
        bad = [f"{shape} {k} ({_pct(e)})" for shape, row in ev.errors[fam].items()
               for k, e in row.items() if abs(e) > TOLERANCE]
        if bad:
            lines += ["", "Outside the tolerance: " + ", ".join(bad) + "."]
    if not ev.meets_goal:
        lines += ["", KNOWN_GAPS]
    lines += [
        "",
        "## Ordering (speed: unoptimized < hand-optimized < FSM)",
        "",
        "| workload | family | unopt cycles | hand cycles | FSM cycles | unopt/FSM | hand/FSM "
        "| holds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fam, rows in ev.order_ok.items():
        for name, ok in rows.items():
            c = ev.cycles[name]
            lines.append(f"| {name} | {fam} | {c[UNOPT]:,} | {c[fam]:,} | {c[FSM]:,} | "
                         f"{c[FSM] / c[UNOPT]:.3f} | {c[FSM] / c[fam]:.3f} | "
                         f"{'yes' if ok else 'NO'} |")
    data = {"params": {f.name: getattr(tp, f.name) for f in dataclasses.fields(tp)},
            "judge": judge, "tolerance": TOLERANCE, "goal_mean": GOAL_MEAN,
            "goal_spearman": GOAL_SPEARMAN, "cycles": ev.cycles, "ratios": ev.ratios,
            "published": published, "errors": ev.errors, "order_ok": ev.order_ok,
            "stats": ev.stats}
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


def judge_compiler(kind: str):
    """The RISC-V compiler that prices the CPU (``ir``: None, the IR estimate)."""
    from lowering.riscv import find_riscv_compiler

    if kind == "ir":
        return None
    return find_riscv_compiler(None if kind == "compiled" else kind.partition("-")[2])


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
    ap.add_argument("--cpu-cost", default="compiled",
                    choices=("compiled", "compiled-gcc", "compiled-zig", "ir"),
                    help="what prices the CPU (default: compiled, gcc where installed)")
    ap.add_argument("--families", default=",".join(FAMILIES),
                    help="hand families to calibrate (comma separated)")
    ap.add_argument("--gemms-only", action="store_true",
                    help="search (and document) the six GEMMs only (faster)")
    ap.add_argument("--placement", type=Path, default=PLACEMENT,
                    help="heap states of the Exo baselines (default: "
                         "benchmarks/data/measured_placement.json)")
    ap.add_argument("--runtime-bases", action="store_true",
                    help="price the Exo baselines compiled with allocation bases opaque to "
                         "the compiler (as from a runtime allocator call) instead of constants "
                         "(an investigation: not the judge's default)")
    args = ap.parse_args(argv)
    base = get_config("int8_16")
    published = published_ratios()
    placement = load_placement(args.placement)
    families = tuple(f for f in args.families.split(",") if f)
    compiler = judge_compiler(args.cpu_cost)
    judge = "the IR estimate" if compiler is None else \
        f"compiled -O2 code priced on the core model ({compiler.name})"
    if args.runtime_bases and compiler is not None:
        judge += ", the Exo baselines' allocation bases opaque to the compiler (--runtime-bases)"
    t0 = time.time()
    specs = [s for s in SUITE if not args.gemms_only or s.kind == "gemm"]
    overrides = _parse_set(args.set)
    start = {name: getattr(base.timing, name) for name in SEARCH_SPACE}
    start.update(overrides)
    load = dict(families=families, compiler=compiler, placement=placement,
                runtime_bases=args.runtime_bases)
    if args.search:   # search on the GEMMs (the targets); the ordering of all is checked after
        programs = load_programs([s for s in specs if s.kind == "gemm"], base, **load)
        print(f"programs built in {time.time() - t0:.1f}s", flush=True)
        best = coordinate_descent(programs, start, base, published, rounds=args.rounds,
                                  log=lambda m: print(m, flush=True), budget=args.budget)
        best = evaluate(load_programs(specs, base, **load), best.params, base, published)
        searched = (f"coordinate descent over {', '.join(SEARCH_SPACE)} "
                    f"(values {json.dumps(SEARCH_SPACE)}), objective: ordering violations, "
                    "then the number of ratios outside the tolerance, then the worse "
                    "family's mean error, then the largest; result "
                    + ", ".join(f"{k} {v}" for k, v in best.params.items()))
    else:
        best = evaluate(load_programs(specs, base, **load), start, base, published)
        searched = ""
    command = "python -m tools.calibrate" + "".join(
        f" {a}" for a in (argv if argv is not None else __import__("sys").argv[1:])
        if not str(a).startswith("--doc"))
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(render_doc(best, base, published, searched=searched, judge=judge,
                                   command=command, placement=placement))
    order = all(ok for fam in best.order_ok.values() for ok in fam.values())
    for fam, st in best.stats.items():
        print(f"{fam}: mean {st['mean']:.3f} max {st['max']:.3f} "
              f"spearman {st['spearman']:.2f}", flush=True)
    print(f"params {best.params}: ordering {order}; wrote {args.doc} "
          f"({time.time() - t0:.1f}s)", flush=True)
    return 0 if best.meets_goal and order else 1


if __name__ == "__main__":
    raise SystemExit(main())
