"""Map the suite's workloads to Gemmini (filling the disk cache) and time it.

    python -m benchmarks.bench_workloads                 # the whole suite
    python -m benchmarks.bench_workloads gemm_512x512x512 conv_58x58x64
    python -m benchmarks.bench_workloads --reference     # also time the reference

Prints, per workload, the seconds spent on the mapped C (a cache hit is fast)
and, with ``--reference``, on building and running the reference once.
"""

from __future__ import annotations

import argparse
import sys
import time

from lowering.workload import Workload
from lowering import suite as workloads
from lowering import exo_to_c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="workload names (default: the suite)")
    ap.add_argument("--reference", action="store_true", help="also run the reference once")
    args = ap.parse_args(argv)
    names = args.names or [s.name for s in workloads.SUITE]
    for name in names:
        w = Workload.from_spec(name)
        t0 = time.time()
        c = exo_to_c.mapped_c(w)
        line = f"{name:24s} mapped C {time.time() - t0:7.1f}s  {len(c.c_text):7d} chars"
        if args.reference:
            from lowering import reference
            t1 = time.time()
            reference.make_input_sets(w, kinds=("uniform",), acts=(False,))
            line += f"  reference {time.time() - t1:6.1f}s"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
