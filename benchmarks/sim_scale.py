"""Simulated scale test of the Ray engine: search throughput against the number of workers.

    python -m benchmarks.sim_scale          # simulate from benchmarks/data/sim_scale_costs.json
    python -m benchmarks.sim_scale --measure gemm_12544x256x64 --samples 96 \\
        --save runs/sim_scale/costs.json     # measure again (a short real search), simulate
    python -m benchmarks.sim_scale --costs runs/sim_scale/costs.json

Measuring runs a short built-in search on one workload in this process (engine inline)
and records, for every evaluated candidate, its CPU time (the time it would take on a
core of its own, whatever else runs on the machine), plus the driver's CPU time per
iteration (planning, rewriting, normalizing and deduplicating: what stays on the
driver) and how many new candidates each iteration sent for evaluation.

Simulating is a discrete-event model of the search on N workers (no sleeping): each
iteration the driver works for its measured time, then the iteration's candidates go to
the workers in order (each free worker takes the next one), each costing a cost drawn
from the measured ones plus a dispatch overhead, and the next iteration starts when the
last result is back (the beam search waits for all of an iteration's results). It prints
candidates per second and the speedup over one worker for N = 1 .. 64, for the measured
beam and for wider beams (more candidates per iteration), which is what keeps 64 workers
busy.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

WORKERS = (1, 2, 4, 8, 16, 32, 64)
MEASURED = Path(__file__).parent / "data" / "sim_scale_costs.json"
DISPATCH = 0.005      # seconds per candidate for sending it and its result (Ray actor call)


@dataclass
class TimedEvaluator:
    """Wraps an evaluator and records the CPU time of every ``evaluate`` call."""
    inner: object
    costs: list = field(default_factory=list)     # (iteration, cpu seconds)
    iteration: list = field(default_factory=lambda: [0])

    def normalize(self, item):
        return self.inner.normalize(item)

    def evaluate(self, item):
        t = time.process_time()
        res = self.inner.evaluate(item)
        self.costs.append((self.iteration[0], time.process_time() - t))
        return res


def measure(name: str, samples: int, seed: int = 0) -> dict:
    """Per-candidate CPU costs and per-iteration driver CPU time of a short search."""
    from autocomp_exo import Budget, Workload, optimize
    from autocomp_exo.evaluation import ModelEvaluator
    from autocomp_exo.settings import load_settings
    from lowering.suite import by_name

    settings = load_settings(overrides={"search.seed": seed, "evaluation.engine": "inline",
                                        "search.patience": 10, "search.iterations": 20})
    workload = Workload.from_spec(by_name(name))
    ev = TimedEvaluator(ModelEvaluator.for_workload(workload, settings.evaluation.gemmini))
    start = workload.mapped_c().c_text
    ev.evaluate(start)                       # the reference and model warm-up, not counted
    ev.costs.clear()
    t0 = time.process_time()

    def progress(state):
        ev.iteration[0] = state.iteration

    result = optimize(start, settings=settings, evaluator=ev, budget=Budget(max_samples=samples),
                      progress=progress)
    total = time.process_time() - t0
    costs = [c for _, c in ev.costs]
    iterations = max(1, len(result.trajectory) - 1)
    batches = [sum(1 for it, _ in ev.costs if it == i) for i in range(1, iterations + 1)]
    return {"workload": name, "samples": result.samples, "costs": costs,
            "batches": [b for b in batches if b],
            "driver_per_iteration": max(0.0, total - sum(costs)) / iterations}


def simulate(costs: list[float], batch: int, driver: float, workers: int,
             candidates: int = 2000, seed: int = 0) -> float:
    """Candidates per second of a search evaluating ``candidates`` in iterations of
    ``batch``, on ``workers`` workers (discrete events; costs drawn from ``costs``)."""
    rng = random.Random(seed)
    clock, done = 0.0, 0
    while done < candidates:
        n = min(batch, candidates - done)
        clock += driver
        free = [clock] * workers          # when each worker is next free
        heapq.heapify(free)
        end = clock
        for _ in range(n):
            start = heapq.heappop(free)
            finish = start + DISPATCH + rng.choice(costs)
            end = max(end, finish)
            heapq.heappush(free, finish)
        clock = end
        done += n
    return candidates / clock


def table(data: dict, widths: tuple[int, ...]) -> list[str]:
    costs, driver = data["costs"], data["driver_per_iteration"]
    batch = round(statistics.mean(data["batches"])) if data["batches"] else 32
    lines = [f"workload {data['workload']}: {len(costs)} candidates measured, CPU seconds "
             f"per candidate mean {statistics.mean(costs):.2f}, median "
             f"{statistics.median(costs):.2f}, max {max(costs):.2f}; driver "
             f"{driver:.2f} s per iteration; {batch} new candidates per iteration "
             f"(beam width 4)", "",
             "| workers | " + " | ".join(f"beam {w}: cand/s (speedup)" for w in widths) + " |",
             "|---:|" + "---:|" * len(widths)]
    base = {w: simulate(costs, batch * w // 4, driver, 1) for w in widths}
    for n in WORKERS:
        cells = []
        for w in widths:
            rate = simulate(costs, batch * w // 4, driver, n)
            cells.append(f"{rate:.2f} ({rate / base[w]:.1f}x)")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measure", metavar="WORKLOAD", help="measure costs on this workload")
    ap.add_argument("--samples", type=int, default=48)
    ap.add_argument("--save", help="write the measured costs here (JSON)")
    ap.add_argument("--costs", default=str(MEASURED),
                    help="simulate from costs measured before (JSON; default: %(default)s)")
    ap.add_argument("--beam-widths", default="4,16,32",
                    help="beam widths to simulate (candidates per iteration scale with it)")
    args = ap.parse_args(argv)
    if args.measure:
        data = measure(args.measure, args.samples)
        if args.save:
            Path(args.save).parent.mkdir(parents=True, exist_ok=True)
            Path(args.save).write_text(json.dumps(data, indent=1))
    else:
        data = json.loads(Path(args.costs).read_text())
    widths = tuple(int(w) for w in args.beam_widths.split(","))
    print("\n".join(table(data, widths)))


if __name__ == "__main__":
    main()
