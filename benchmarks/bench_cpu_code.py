"""Kernels with CPU code: model time and the CPU cost from the IR and from compiled code.

    python -m benchmarks.bench_cpu_code [--size N] [--sets S] [--no-compiled]

Kernel: an int8 GEMM N x N x 64 in Exo's basic mapping (made with the compact dialect),
then after its fence a CPU bias add with a ReLU clamp over the N x N output, and a CPU
fp32 pass (scale, clamp with fminf / fmaxf into a static scratch vector). Prints the
seconds of one model run (trace + functional + timing) and of a batched run of S input
sets, the CPU busy cycles from the IR estimate and from the compiled RISC-V code, and
whether the outputs equal numpy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gemmini.model import run, run_batch
from lowering.parser import parse_c


def kernel_text(n: int) -> str:
    """GEMM n x n x 64 (16 x 16 blocks, K in one scratchpad pass) + CPU bias / ReLU + fp32."""
    return f"""
void mixed(const int8_t A[{n}][64], const int8_t B[64][{n}], const int32_t bias[{n}],
           int8_t C[{n}][{n}], float y[{n}]) {{
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_st({n});
  config_ld(64, 1.0f, 16, 0);
  config_ld({n}, 1.0f, 16, 1);
  for (int i = 0; i < {n // 16}; i++) {{
    for (int j = 0; j < {n // 16}; j++) {{
      mvin(0, 0x80000000, 16, 16);
      for (int k = 0; k < 4; k++) {{
        mvin(&A[16 * i][16 * k], 16 * k, 16, 16);
        mvin2(&B[16 * k][16 * j], 64 + 16 * k, 16, 16);
        preload(64 + 16 * k, 0xC0000000, 16, 16, 16, 16);
        compute_preloaded(16 * k, ~((uint32_t)0), 16, 16, 16, 16);
      }}
      mvout(&C[16 * i][16 * j], 0x80000000, 16, 16);
    }}
  }}
  fence();
  static float scratch[{n}];
  for (int i = 0; i < {n}; i++) {{
    for (int j = 0; j < {n}; j++) {{
      int32_t v = C[i][j] + bias[j];
      C[i][j] = v < 0 ? 0 : (v > 127 ? 127 : (int8_t)v);
    }}
    scratch[i] = C[i][i] * 0.25f - 1.0f;
    y[i] = fminf(fmaxf(scratch[i], -0.5f), 20.0f);
  }}
}}
"""


def inputs_for(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"A": rng.integers(-8, 8, (n, 64)).astype(np.int8),
            "B": rng.integers(-8, 8, (64, n)).astype(np.int8),
            "bias": rng.integers(-100, 100, n).astype(np.int32)}


def expected(inp: dict) -> tuple[np.ndarray, np.ndarray]:
    acc = np.clip(inp["A"].astype(np.int32) @ inp["B"].astype(np.int32), -128, 127)
    C = np.clip(acc + inp["bias"], 0, 127).astype(np.int8)
    s = (np.diag(C).astype(np.float32) * np.float32(0.25) - np.float32(1.0)).astype(np.float32)
    return C, np.minimum(np.maximum(s, np.float32(-0.5)), np.float32(20.0))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128, help="N (a multiple of 16)")
    ap.add_argument("--sets", type=int, default=4)
    ap.add_argument("--no-compiled", action="store_true", help="skip the RISC-V cost")
    args = ap.parse_args(argv)
    n = args.size
    fn = parse_c(kernel_text(n))
    inp = inputs_for(n, 0)
    t = time.perf_counter()
    got = run(fn, inp)
    one = time.perf_counter() - t
    C, y = expected(inp)
    ok = np.array_equal(got.outputs["C"], C) and np.array_equal(got.outputs["y"], y)
    sets = [inputs_for(n, s) for s in range(args.sets)]
    t = time.perf_counter()
    runs = run_batch(fn, sets)
    batch = time.perf_counter() - t
    ok_b = all(np.array_equal(r.outputs["C"], expected(s)[0]) for r, s in zip(runs, sets))
    print(f"mixed kernel {n}x{n}x64 + CPU bias/ReLU ({n * n} elements) + fp32 pass")
    print(f"  model, one set:       {one:.3f} s   outputs equal numpy: {ok}")
    print(f"  model, {args.sets} sets batched: {batch:.3f} s   outputs equal numpy: {ok_b}")
    print(f"  IR estimate:          cycles {got.report.cycles}, CPU busy "
          f"{got.report.busy['cpu']}")
    if not args.no_compiled:
        from lowering.riscv import cpu_cost_hook
        t = time.perf_counter()
        comp = run(fn, inp, cpu_cost=cpu_cost_hook(fn, inp))
        print(f"  compiled ({comp.report.cpu_cost}): cycles {comp.report.cycles}, CPU busy "
              f"{comp.report.busy['cpu']}  ({time.perf_counter() - t:.2f} s)")
    return 0 if ok and ok_b else 1


if __name__ == "__main__":
    raise SystemExit(main())
