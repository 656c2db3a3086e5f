"""Resume time of the Quickstart run: fresh, then killed at a fraction of the fresh time and
resumed. Prints seconds for the fresh run, the kill point and the resumed part.

    python -m benchmarks.bench_resume [--fraction 0.6] [--repeat 1]

Each run is ``python -m autocomp_exo.cli quickstart --run-dir TMP --out TMP/out`` in a
subprocess (its own session, so SIGKILL takes its evaluation workers too).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cmd(run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "autocomp_exo.cli", "quickstart", "--run-dir", str(run_dir),
            "--out", str(run_dir / "out")]


def _run(run_dir: Path, kill_after: float | None = None) -> float:
    t0 = time.perf_counter()
    p = subprocess.Popen(_cmd(run_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    if kill_after is None:
        if p.wait() != 0:
            raise SystemExit(f"quickstart failed (exit {p.returncode}) in {run_dir}")
        return time.perf_counter() - t0
    try:
        p.wait(kill_after)
        raise SystemExit("the run finished before the kill point")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=0.6, help="kill point / fresh time")
    ap.add_argument("--repeat", type=int, default=1, help="kill-and-resume rounds")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = _run(Path(tmp) / "fresh")
        print(f"fresh run: {fresh:.1f} s")
        for r in range(a.repeat):
            d = Path(tmp) / f"killed{r}"
            killed = _run(d, kill_after=a.fraction * fresh)
            resumed = _run(d)
            print(f"killed at {killed:.1f} s ({100 * killed / fresh:.0f}% of fresh); "
                  f"resume took {resumed:.1f} s ({100 * resumed / fresh:.0f}% of fresh)")


if __name__ == "__main__":
    main()
