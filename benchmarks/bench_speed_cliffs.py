"""Model evaluation time follows the instruction count, not the coding style (issue 13.6).

    python -m benchmarks.bench_speed_cliffs [--repeat R] [--only CASE ...]

Cases (kernels from `benchmarks.sample_programs.tiled_gemm`, inputs random, outputs
checked against numpy):

* ``int8_overwrite``: a 512x512x576 int8 GEMM on ``int8_16`` (about 114k instructions)
  written the hand-written way: the first k-block's preload overwrites the accumulator
  block, the later ones accumulate.
* ``int8_zero``: the same work in Exo's style (a zeroing mvin, then every preload
  accumulates). Goal: ``int8_overwrite`` within 1.5x of this.
* ``fp32_7m``: a 512x512x576 float GEMM on ``fp32_4`` (DIM 4: about 7.1M instructions).
  Goal: <= 60 s and <= 2 GB peak RSS (the trace is built, executed and timed in pieces,
  `gemmini.trace.iter_trace`).

Each case runs in a fresh interpreter (so its peak RSS is its own) and prints the best CPU
seconds of one timed `gemmini.model.run` over R runs, the peak RSS of that process, the
instruction count and instructions per second.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

from benchmarks.sample_programs import tiled_gemm
from gemmini import model

CASES = {   # name -> (M, N, K, dim, dtype, style, configuration, repeats at most)
    "int8_overwrite": (512, 512, 576, 16, "i8", "overwrite", "int8_16", None),
    "int8_zero": (512, 512, 576, 16, "i8", "zero", "int8_16", None),
    "fp32_7m": (512, 512, 576, 4, "f32", "overwrite", "fp32_4", 1),
}


def run_case(name: str, repeat: int) -> dict:
    """Time the case in this process; checks the output against numpy."""
    M, N, K, dim, dtype, style, config, most = CASES[name]
    rng = np.random.default_rng(0)
    npt = np.float32 if dtype == "f32" else np.int8
    A = rng.integers(-6, 7, (M, K)).astype(npt)
    B = rng.integers(-6, 7, (K, N)).astype(npt)
    want = A.astype(np.float64) @ B.astype(np.float64)
    if dtype == "i8":
        want = np.clip(want, -128, 127)
    fn = tiled_gemm(M, N, K, dim=dim, dtype=dtype, style=style)
    best = float("inf")
    wall = float("inf")
    for _ in range(min(repeat, most or repeat)):
        t0, w0 = time.process_time(), time.perf_counter()
        r = model.run(fn, {"A": A, "B": B}, config)
        best = min(best, time.process_time() - t0)
        wall = min(wall, time.perf_counter() - w0)
        if not np.array_equal(r.outputs["C"], want):
            raise SystemExit(f"{name}: the model's output differs from numpy")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = r.report.instructions
    return {"case": name, "instructions": n, "cycles": r.report.cycles, "seconds": best,
            "wall": wall, "peak_rss_mb": rss_mb, "instr_per_s": n / best}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", choices=list(CASES), help="default: every case")
    ap.add_argument("--one", choices=list(CASES), help=argparse.SUPPRESS)   # child process
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_case(args.one, args.repeat)))
        return 0
    rows = {}
    print(f"{'case':<16} {'instructions':>12} {'cycles':>12} {'CPU s':>8} {'wall s':>8} "
          f"{'peak RSS MB':>12} {'instr/s':>10}")
    for name in args.only or list(CASES):
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_speed_cliffs", "--one",
                              name, "--repeat", str(args.repeat)],
                             capture_output=True, text=True, check=True)
        r = rows[name] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{name:<16} {r['instructions']:>12,} {r['cycles']:>12,} {r['seconds']:>8.2f} "
              f"{r['wall']:>8.2f} {r['peak_rss_mb']:>12.0f} {r['instr_per_s']:>10,.0f}")
    if "int8_overwrite" in rows and "int8_zero" in rows:
        ratio = rows["int8_overwrite"]["seconds"] / rows["int8_zero"]["seconds"]
        print(f"overwrite style / zero style: {ratio:.2f}x (goal <= 1.5x)")
    if "fp32_7m" in rows:
        r = rows["fp32_7m"]
        ok = r["seconds"] <= 60 and r["peak_rss_mb"] <= 2048
        print(f"fp32_7m: {r['seconds']:.1f} s CPU, {r['peak_rss_mb']:.0f} MB peak "
              f"(goal <= 60 s, <= 2048 MB): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
