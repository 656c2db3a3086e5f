"""Time Exo building the hand-optimized baseline schedules, and count their instructions.

    python benchmarks/bench_exo_hand.py                  # all nine suite workloads
    python benchmarks/bench_exo_hand.py gemm_512x512x512 conv_58x58x64
    python benchmarks/bench_exo_hand.py --cached         # from the disk cache if present

For each workload: seconds for Exo's scheduling plus code generation (no cache unless
``--cached``) and the dynamic instruction counts (benchmarks/count_instructions.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.baselines.exo_hand import hand_c  # noqa: E402
from lowering.suite import SUITE  # noqa: E402
from benchmarks.count_instructions import count_instructions  # noqa: E402

SHOWN = ("mvin", "mvin2", "mvin3", "preload", "mvout", "config_ld")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="*", help="workload names (default: the suite)")
    ap.add_argument("--cached", action="store_true", help="use the disk cache")
    args = ap.parse_args(argv)
    names = args.workloads or [s.name for s in SUITE]
    print(f"{'workload':<20} {'build s':>8}  " + " ".join(f"{k:>8}" for k in SHOWN))
    for name in names:
        t = time.perf_counter()
        c = hand_c(name, use_cache=args.cached)
        seconds = time.perf_counter() - t
        counts = count_instructions(c.c_text, c.h_text)
        print(f"{name:<20} {seconds:8.1f}  " + " ".join(f"{counts[k]:8d}" for k in SHOWN),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
