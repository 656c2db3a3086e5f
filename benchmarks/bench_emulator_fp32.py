"""How far the host emulator is from the reference and from the model on the TinyMPC
baselines (fp32_4), in units of the fp32 tolerance (2^-24 x the sum of |terms|).

    python -m benchmarks.bench_emulator_fp32                 # seeds 0..2, every input kind
    python -m benchmarks.bench_emulator_fp32 --seeds 0 1 2 3 4

For each workload and baseline (straightforward, hand): the largest difference over every
output element of every set between the emulator's outputs and the reference's, and
between the emulator's and the model's (the check passes up to
`lowering.reference.FP32_TOLERANCE_UNITS`), and whether they agree bit for bit.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.baselines.tinympc_hand import hand_proc
from gemmini import model
from lowering import tinympc
from lowering.emulator.check import emulator_outputs
from lowering.exo_to_c import compile_proc
from lowering.parser import parse_c
from lowering.reference import FP32_TOLERANCE_UNITS, ROUNDING_UNIT


def units(got: dict, want: dict, magnitude: dict) -> float:
    """Largest |got - want| / (2^-24 x magnitude) over the outputs (0 where both are 0)."""
    worst = 0.0
    for k, w in want.items():
        diff = np.abs(np.asarray(got[k], np.float64) - np.asarray(w, np.float64)).ravel()
        scale = ROUNDING_UNIT * np.asarray(magnitude[k], np.float64).ravel()
        nonzero = diff > 0
        if nonzero.any():
            worst = max(worst, float((diff[nonzero] / scale[nonzero]).max()))
    return worst


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    args = ap.parse_args(argv)
    print(f"{'workload':18} {'baseline':16} {'emulator-reference':>19} {'emulator-model':>15}"
          f"  (units; the check allows {FP32_TOLERANCE_UNITS})")
    for spec in tinympc.SPECS:
        w = tinympc.workload(spec.name)
        sets = w.input_sets(w, tuple(args.seeds))
        for label, proc in (("straightforward", w.mapped), ("hand", hand_proc(spec.name))):
            c = compile_proc(proc)
            fn = parse_c(c.c_text, filename=f"{c.name}.c", function=c.name)
            outs = emulator_outputs(c.c_text, sets, fn=fn, h_text=c.h_text, config=spec.config)
            vs_ref = vs_model = 0.0
            for s, out in zip(sets, outs):
                ran = model.run(fn, s.inputs, spec.config, timing=False).outputs
                vs_ref = max(vs_ref, units(out, s.expected, s.magnitude))
                vs_model = max(vs_model, units(out, {k: ran[k] for k in s.expected},
                                               s.magnitude))
            print(f"{spec.name:18} {label:16} {vs_ref:19.2f} {vs_model:15.2f}"
                  f"  ({len(sets)} sets)", flush=True)


if __name__ == "__main__":
    main()
