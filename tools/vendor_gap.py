"""The vendor library's gap to the FSM on the model, per hypothesis (issue 13 item 5).

    python -m tools.vendor_gap

For the six suite GEMMs prints the model's cycles of the FSM baseline and the
library's ``tiled_matmul_auto`` (`lowering.generators.vendor_lib`) under each
source-based hypothesis of how it issues a tile, as vendor / FSM, next to the
published ratio (FSM speedup over the library, 5.9-6.5):

* ``fsm``: one ``loop_ws`` per tile (gemmini.h's ``sp_tiled_matmul_ws`` since 2020);
* ``cpu``: every tile's mvins, preloads and computes issued by the core (the library's
  pre-FSM body of ``sp_tiled_matmul_ws``, kept as comments in gemmini.h).

The CPU is priced by the judge (compiled code); docs/hardware.md section 7 discusses
the numbers.
"""

from __future__ import annotations

import json

from gemmini.config import get_config
from lowering.generators.fsm import fsm_baseline
from lowering.generators.vendor_lib import gemm_tiles, vendor_gemm
from lowering.suite import SUITE
from tools.calibrate import PUBLISHED, TimedProgram, judge_compiler


def main() -> int:
    cfg = get_config("int8_16")
    compiler = judge_compiler("compiled")
    published = json.loads(PUBLISHED.read_text())["gemm"]
    print(f"CPU priced by {compiler.name}")
    print(f"{'GEMM':<14} {'tiles (I,J,K)':<14} {'FSM cycles':>10} {'fsm/tile':>9} "
          f"{'cpu/tile':>9} {'published':>9}")
    for spec in SUITE:
        if spec.kind != "gemm":
            continue
        s = spec.shape_dict
        M, N, K = s["M"], s["N"], s["K"]
        shape = f"{M}x{N}x{K}"
        t = gemm_tiles(M, N, K, cfg)
        fsm = TimedProgram(fsm_baseline(spec, cfg), compiler).cycles(cfg)
        gaps = [TimedProgram(vendor_gemm(M, N, K, cfg, sequencer=q), compiler).cycles(cfg) / fsm
                for q in ("fsm", "cpu")]
        print(f"{shape:<14} {f'({t.I},{t.J},{t.K})':<14} {fsm:>10,} {gaps[0]:>8.2f}x "
              f"{gaps[1]:>8.2f}x {published[shape]['hardware_fsm']:>8.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
