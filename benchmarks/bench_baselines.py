"""Time the software-library and hardware-FSM baselines of the suite on the model.

    python -m benchmarks.bench_baselines [--gemmini NAME] [--only NAME ...] [--check]

Prints, per workload, the model's cycles and utilization of: the library with each
tile through the loop FSM (``vendor``, hardware.md section 7), the library's
CPU-sequenced tiles (``vendor_cpu``, GEMMs only), and the FSM baseline (``fsm``),
plus the fsm / vendor speedups. ``--check`` also runs each program on the host
emulator and compares with numpy (slow for the big workloads).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.numpy_reference import inputs_and_expect
from gemmini.config import DEFAULT_CONFIG
from lowering.generators import fsm, vendor_lib
from lowering.suite import SUITE


def zero_inputs(fn) -> dict:
    dtypes = {"i8": np.int8, "i32": np.int32}
    return {p.name: np.zeros(p.shape, dtypes[p.dtype]) if p.is_array
            else (1.0 if p.dtype == "f32" else False) for p in fn.params}


def programs(spec, config) -> dict:
    s = spec.shape_dict
    out = {"vendor": vendor_lib.vendor_baseline(spec, config)}
    if spec.kind == "gemm":
        out["vendor_cpu"] = vendor_lib.vendor_gemm(s["M"], s["N"], s["K"], config,
                                                   sequencer="cpu", name=spec.name)
    out["fsm"] = fsm.fsm_baseline(spec, config, score="analytic")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gemmini", "--config", dest="config", default=DEFAULT_CONFIG,
                    help="Gemmini configuration (--config is its old name)")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    from gemmini import model

    for spec in SUITE:
        if args.only and spec.name not in args.only:
            continue
        cycles = {}
        for kind, fn in programs(spec, args.config).items():
            t = time.time()
            try:
                rep = model.run(fn, zero_inputs(fn), args.config, macs=spec.macs).report
                cycles[kind] = rep.cycles
                line = f"{rep.cycles:>10} cycles  util {rep.utilization:.3f}  bound {rep.bound}"
            except Exception as e:  # report and go on with the next program
                line = f"error: {type(e).__name__}: {e}"
            if args.check:
                from lowering.emulator.build import run_ir
                inputs, out, expect = inputs_and_expect(fn.params, 1, True)
                ok = np.array_equal(run_ir(fn, inputs, args.config).outputs[out], expect)
                line += f"  emulator==numpy {ok}"
            print(f"{spec.name:20} {kind:10} {line}  ({time.time() - t:.1f}s)", flush=True)
        if "fsm" in cycles:
            ratios = {k: cycles[k] / cycles["fsm"] for k in cycles if k != "fsm"}
            print(f"{'':20} fsm speedup over " +
                  ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()), flush=True)


if __name__ == "__main__":
    main()
