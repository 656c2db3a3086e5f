"""Speed of the Gemmini model on Exo's basic mapping of a ResNet-50 GEMM.

    python -m benchmarks.bench_model [M N K] [--repeat R]

Builds the IR directly (`sample_programs.basic_gemm`, the loop structure of
Exo's basic mapping), then times trace compilation, functional execution and the
timing model separately, and prints instructions per second (CPU time of this process,
so other load on the machine does not count).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gemmini.config import get_config
from gemmini.functional import Machine
from gemmini.model import _bind_arrays
from gemmini.report import build_report
from benchmarks.numpy_reference import numpy_gemm
from benchmarks.sample_programs import basic_gemm
from gemmini.timing import simulate
from gemmini.trace import build_trace


def bench(M: int, N: int, K: int, repeat: int = 3) -> dict:
    cfg = get_config()
    fn = basic_gemm(M, N, K)
    rng = np.random.default_rng(0)
    A = rng.integers(-128, 128, (M, K), dtype=np.int8)
    B = rng.integers(-128, 128, (K, N), dtype=np.int8)
    inputs = dict(A=A, B=B, scale=np.float32(1 / 1024), act=False)
    best = None
    for _ in range(repeat):
        t0 = time.process_time()
        trace = build_trace(fn, inputs, cfg)
        t1 = time.process_time()
        arrays = _bind_arrays(fn, inputs)
        machine = Machine(cfg, trace, arrays)
        machine.run()
        t2 = time.process_time()
        result = simulate(trace, cfg, machine.plan)
        report = build_report(trace, result, cfg, machine.macs, machine)
        t3 = time.process_time()
        times = (t1 - t0, t2 - t1, t3 - t2)
        if best is None or sum(times) < sum(best):
            best = times
    ok = np.array_equal(arrays[2].reshape(M, N), numpy_gemm(A, B, 1 / 1024, False))
    n = len(trace)
    return {"shape": (M, N, K), "instructions": n, "trace_s": best[0], "functional_s": best[1],
            "timing_s": best[2], "total_s": sum(best), "instr_per_s": n / sum(best),
            "cycles": report.cycles, "utilization": report.utilization, "correct": ok}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("shape", nargs="*", type=int, default=[12544, 256, 64])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    r = bench(*args.shape, repeat=args.repeat)
    M, N, K = r["shape"]
    print(f"basic mapping {M}x{N}x{K}: {r['instructions']:,} instructions, "
          f"correct={r['correct']}")
    print(f"  trace {r['trace_s']:.3f} s  functional {r['functional_s']:.3f} s  "
          f"timing {r['timing_s']:.3f} s  total {r['total_s']:.3f} s")
    print(f"  {r['instr_per_s']:,.0f} instructions/s; model: {r['cycles']:,} cycles, "
          f"utilization {100 * r['utilization']:.1f}%")


if __name__ == "__main__":
    main()
