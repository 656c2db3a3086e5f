"""Regenerate the Exo C fixtures under tests/data/exo_c/.

Builds the basic Gemmini mapping (exo 1.0.0's platform helpers) of the six GEMM
shapes of method.md section 9 and of small and real convolutions, compiles each
with Exo and writes ``<name>.c`` and ``<name>.h``. Exo scheduling is slow
(seconds to minutes per kernel), so this runs by hand, not in CI:

    python tools/gen_exo_fixtures.py                 # all fixtures
    python tools/gen_exo_fixtures.py gemm_64x64x64   # only some
    python tools/gen_exo_fixtures.py --out /tmp/x    # elsewhere (the slow test does this)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from exo import compile_procs_to_strings
from exo.platforms.gemmini import (
    GEMM_ACCUM,
    GEMM_SCRATCH,
    fission_inner_blocks,
    fission_outer_blocks,
    inline_div_part,
    inline_lift_config,
    inline_mod_part,
    old_lift_alloc,
    rename,
    replace_div_part,
    replace_gemmini_calls,
    replace_mod_part,
    set_gemm_memories,
    set_memory,
    split_fission_dim,
    tile_outer_loops,
)

from lowering.suite import CONV_PROC as conv_alg
from lowering.suite import GEMM_PROC as gemm_alg

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "exo_c"

GEMM_SHAPES = [  # (M, N, K)
    (64, 64, 64),
    (512, 512, 512), (12544, 256, 64), (12544, 64, 256),
    (3136, 512, 128), (3136, 128, 512), (784, 1024, 256),
]
CONV_SHAPES = [  # (batch, in_dim, channels); 3x3 kernel, stride 1, no padding
    (1, 22, 16),
    (4, 30, 128),
]


def gemm_name(m: int, n: int, k: int) -> str:
    return f"gemm_{m}x{n}x{k}"


def conv_name(batch: int, in_dim: int, ch: int) -> str:
    return f"conv_{batch}x{in_dim}x{in_dim}x{ch}"


def basic_gemm(m: int, n: int, k: int):
    """The basic Gemmini mapping of an M x N x K GEMM (as in exo's platform helpers)."""
    p = rename(gemm_alg, gemm_name(m, n, k)).partial_eval(m, n, k)
    p = set_memory(p, "res", GEMM_ACCUM)
    p = set_memory(p, "a", GEMM_SCRATCH)
    p = set_memory(p, "b", GEMM_SCRATCH)
    p = tile_outer_loops(p)
    p = old_lift_alloc(p, "res : _ #0", n_lifts=2)
    p = old_lift_alloc(p, "res : _ #0", n_lifts=1, mode="col", size=16)
    p = fission_outer_blocks(p)
    p = fission_inner_blocks(p)
    p = replace_gemmini_calls(p)
    return inline_lift_config(p)


def basic_conv(batch: int, in_dim: int, ch: int):
    """The basic Gemmini mapping of a 3x3 stride-1 convolution (split, replace, inline)."""
    out_dim = in_dim - 2
    p = rename(conv_alg, conv_name(batch, in_dim, ch))
    p = p.partial_eval(batch, out_dim, ch, 3, ch, in_dim)
    p = split_fission_dim(p)
    p = replace_div_part(p)
    p = replace_mod_part(p)
    p = set_gemm_memories(p)
    p = inline_div_part(p)
    return inline_mod_part(p)


def all_builders() -> dict:
    table = {gemm_name(*s): (lambda s=s: basic_gemm(*s)) for s in GEMM_SHAPES}
    table.update({conv_name(*s): (lambda s=s: basic_conv(*s)) for s in CONV_SHAPES})
    return table


def generate(name: str, out: Path) -> None:
    build = all_builders()[name]
    t = time.time()
    p = build()
    # Exo names the context struct after the header: gemm.h -> gemm_Context (as the
    # workloads' lowering.exo_to_c does), so fixtures match what the product parses.
    c, h = compile_procs_to_strings([p], f"{name.split('_')[0]}.h")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.c").write_text(c)
    (out / f"{name}.h").write_text(h)
    print(f"{name}: {time.time() - t:.1f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="fixtures to build (default: all)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    names = args.names or list(all_builders())
    unknown = [n for n in names if n not in all_builders()]
    if unknown:
        ap.error(f"unknown fixture(s) {unknown}; known: {list(all_builders())}")
    for name in names:
        generate(name, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
