"""Time to parse + normalize Exo's C for the six GEMMs of method.md section 9.

    python benchmarks/bench_parse.py [--repeat N]

Prints one line per fixture (size, best and first-call time) and the figure for the
largest output; the goal is < 0.5 s. Grammar construction is timed separately (Lark
caches its LALR tables on disk after the first run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lowering.parser import c_parser, parse_c  # noqa: E402

FIXTURES = ROOT / "tests" / "data" / "exo_c"
GEMMS = ["gemm_512x512x512", "gemm_12544x256x64", "gemm_12544x64x256", "gemm_3136x512x128",
         "gemm_3136x128x512", "gemm_784x1024x256"]
GOAL_S = 0.5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    c_parser()
    print(f"grammar load: {time.perf_counter() - t:.3f} s")
    results = []
    for name in GEMMS:
        text = (FIXTURES / f"{name}.c").read_text()
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            parse_c(text, filename=f"{name}.c")
            times.append(time.perf_counter() - t)
        results.append((len(text), name, min(times), times[0]))
        print(f"{name:22s} {len(text):6d} chars  best {min(times) * 1000:7.1f} ms  "
              f"first {times[0] * 1000:7.1f} ms")
    size, name, best, first = max(results)
    verdict = "OK" if first < GOAL_S else "SLOW"
    print(f"largest ({name}, {size} chars): parse + normalize {best * 1000:.1f} ms best, "
          f"{first * 1000:.1f} ms first call; goal < {GOAL_S * 1000:.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
