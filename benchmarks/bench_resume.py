"""Resume time of the Quickstart run: fresh, then killed at a fraction of the fresh time and
resumed. Prints seconds for the fresh run, the kill point and the resumed part (wall clock,
CPU time of the process and its workers, and the search alone: the last session's
``run_start`` to ``run_end`` in the event log), and whether the resumed run's best (cycles,
trajectory, steps, code) equals the fresh run's. CPU and search times are steadier than the
wall clock on a shared machine.

    python -m benchmarks.bench_resume [--fraction 0.6 | --at-iteration 5] [--repeat 1]

``--fraction`` kills at that share of the fresh run's wall time (start-up included);
``--at-iteration N`` kills as soon as iteration N's beam is saved (5 of the Quickstart's 8
iterations = 62%).

Each run is ``python -m autocomp_exo.cli quickstart --run-dir TMP --out TMP/out`` in a
subprocess (its own session, so SIGKILL takes its evaluation workers too).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cmd(run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "autocomp_exo.cli", "quickstart", "--run-dir", str(run_dir),
            "--out", str(run_dir / "out")]


def _run(run_dir: Path, kill_after: float | None = None, at_iteration: int | None = None
         ) -> float:
    t0 = time.perf_counter()
    p = subprocess.Popen(_cmd(run_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    if kill_after is None and at_iteration is None:
        if p.wait() != 0:
            raise SystemExit(f"quickstart failed (exit {p.returncode}) in {run_dir}")
        return time.perf_counter() - t0
    marker = run_dir / "beam" / f"iter_{at_iteration or 0:03d}.json"
    while p.poll() is None:
        if (at_iteration is not None and marker.exists()) or (
                kill_after is not None and time.perf_counter() - t0 > kill_after):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return time.perf_counter() - t0
        time.sleep(0.01)
    raise SystemExit("the run finished before the kill point")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _search_seconds(run_dir: Path) -> float:
    """run_start -> run_end of the last session in the run's event log."""
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    start = [e["time"] for e in events if e["event"] == "run_start"][-1]
    end = [e["time"] for e in events if e["event"] == "run_end"][-1]
    return end - start


def _timed(run_dir: Path) -> tuple[float, float, float]:
    """(wall, CPU, search) seconds of one complete run."""
    cpu = _cpu()
    wall = _run(run_dir)
    return wall, _cpu() - cpu, _search_seconds(run_dir)


def _outcome(run_dir: Path) -> tuple:
    best = json.loads((run_dir / "best.json").read_text())
    return (best["cycles"], best["trajectory"], best["recipe_items"],
            (run_dir / "best.c").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=0.6, help="kill point / fresh time")
    ap.add_argument("--at-iteration", type=int, help="kill once this iteration is saved")
    ap.add_argument("--repeat", type=int, default=1, help="kill-and-resume rounds")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh, fresh_cpu, fresh_search = _timed(Path(tmp) / "fresh")
        print(f"fresh run: {fresh:.1f} s wall, {fresh_cpu:.1f} s CPU, search {fresh_search:.1f} s")
        for r in range(a.repeat):
            d = Path(tmp) / f"killed{r}"
            killed = _run(d, kill_after=None if a.at_iteration else a.fraction * fresh,
                          at_iteration=a.at_iteration)
            wall, cpu, search = _timed(d)
            same = _outcome(d) == _outcome(Path(tmp) / "fresh")
            print(f"killed at {killed:.1f} s ({100 * killed / fresh:.0f}% of fresh wall); "
                  f"resume: {wall:.1f} s wall ({100 * wall / fresh:.0f}%), {cpu:.1f} s CPU "
                  f"({100 * cpu / fresh_cpu:.0f}%), search {search:.1f} s "
                  f"({100 * search / fresh_search:.0f}%); same result as fresh: "
                  f"{'yes' if same else 'NO'}")

if __name__ == "__main__":
    main()
