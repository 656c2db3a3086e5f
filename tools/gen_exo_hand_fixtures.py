"""Regenerate the hand-schedule C fixtures under tests/data/exo_hand/.

Builds `benchmarks.baselines.exo_hand` schedules with Exo (slow: tens of seconds
for the small shapes, minutes for the suite) and writes ``<name>.c`` / ``<name>.h``.
Run by hand, not in CI:

    python tools/gen_exo_hand_fixtures.py            # the small fixtures
    python tools/gen_exo_hand_fixtures.py --suite    # also the nine suite workloads
                                                     # (and the six published-style GEMMs)
    python tools/gen_exo_hand_fixtures.py --out /tmp/x
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.baselines.exo_hand import GemmPlan, hand_c, schedule_gemm  # noqa: E402
from benchmarks.baselines.exo_hand_conv import schedule_conv  # noqa: E402
from benchmarks.baselines.exo_hand_published import STYLE, published_c  # noqa: E402
from lowering.suite import SUITE  # noqa: E402
from lowering.exo_to_c import compile_proc  # noqa: E402

OUT = ROOT / "tests" / "data" / "exo_hand"

# name -> (M, N, K, plan): one plan that keeps all of B, one with column groups
SMALL = {
    "gemm_64x128x128_hand": (64, 128, 128, GemmPlan(4, 1)),
    "gemm_64x256x128_hand": (64, 256, 128, GemmPlan(2, 2)),
}

# the second family (scheduled like Exo's published schedules): two row groups with B
# loaded once, and two row groups times two column groups
SMALL_PUBLISHED = {
    "gemm_64x128x128_exo_style": (64, 128, 128, GemmPlan(2, 1)),
    "gemm_64x256x128_exo_style": (64, 256, 128, GemmPlan(2, 2)),
}

# name -> (batch, in_dim, in_ch, out_ch): 16-column tiles plus a 2-column remainder
SMALL_CONV = {"conv_20x20x64_b1_hand": (1, 20, 64, 64),
              "conv_20x20x128_b1_hand": (1, 20, 128, 128)}   # channel groups, wide loads


def write(out: Path, name: str, c_text: str, h_text: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.c").write_text(c_text)
    (out / f"{name}.h").write_text(h_text)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", action="store_true", help="also the nine suite workloads")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    for name, (M, N, K, plan) in SMALL.items():
        t = time.time()
        c = compile_proc(schedule_gemm(M, N, K, plan))
        write(args.out, name, c.c_text, c.h_text)
        print(f"{name}: {time.time() - t:.1f}s", flush=True)
    for name, (M, N, K, plan) in SMALL_PUBLISHED.items():
        t = time.time()
        c = compile_proc(schedule_gemm(M, N, K, plan, style=STYLE))
        write(args.out, name, c.c_text, c.h_text)
        print(f"{name}: {time.time() - t:.1f}s", flush=True)
    for name, shape in SMALL_CONV.items():
        t = time.time()
        c = compile_proc(schedule_conv(*shape))
        write(args.out, name, c.c_text, c.h_text)
        print(f"{name}: {time.time() - t:.1f}s", flush=True)
    if args.suite:
        for spec in SUITE:
            t = time.time()
            c = hand_c(spec)
            write(args.out, c.name, c.c_text, c.h_text)
            print(f"{c.name}: {time.time() - t:.1f}s", flush=True)
            if spec.kind == "gemm":
                c = published_c(spec)
                write(args.out, c.name, c.c_text, c.h_text)
                print(f"{c.name}: {time.time() - t:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
