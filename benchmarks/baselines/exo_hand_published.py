"""The second hand family: GEMMs scheduled the way Exo's published Gemmini matmul
schedules are (exo-lang/exo, ``apps/gemmini/src/exo/matmul.py`` and the older
``tests/gemmini/matmul/``; read for facts, our own schedules).

What those schedules do, and what this family therefore does with the same Exo
operations as `benchmarks.baselines.exo_hand` (`schedule_gemm` with a `GemmStyle`):

* the same recipe as ours: 16x64 output strips zeroed with zero-mvins, K in steps of
  64, guarded loads inside the ``ko`` loop (A under ``j == 0``, plus ``jo == 0`` with
  column groups; B under ``i == 0`` of the row group, and under ``io == 0`` too when
  all of B fits, so it is loaded once), configs hoisted, the 4x4 block pairs unrolled;
* their tilings (`PUBLISHED_TILING`): the row group (16-row tiles sharing one load
  of B) and the column groups of each GEMM, e.g. 12544x256x64 in 4 row groups of 196
  tiles, 784x1024x256 in 7 row groups of 7 tiles and 2 column halves;
* their buffers: ``a`` holds every row tile of the row group (each tile loaded once,
  under ``j == 0``), ``res`` one accumulator strip per column strip (per row tile when
  N is one strip), and ``a`` is allocated before ``b``, so A starts at scratchpad row
  0 and B right after the whole A buffer, where their bank placement falls out of the
  sizes (as in the published C).

Not reproduced: the published 512x512x512 splits its 16-tile row group into two
loops of 8 (``io``, ``i``), a loop level of the same work; and the published
12544x64x256 has no ``j`` loop for its single strip (ours keeps a one-trip loop
that the compiler removes).
"""

from __future__ import annotations

from hashlib import sha256

import exo

from benchmarks.baselines.exo_hand import (BLOCK, STRIP_BLOCKS, GemmPlan, GemmStyle,
                                           schedule_gemm)
from gemmini.config import GemminiConfig, get_config
from gemmini.errors import UnsupportedConstruct
from lowering.cache import cache_root
from lowering.exo_to_c import ExoC, compile_proc, load_cached, store_cached
from lowering.mapping import MAPPING_VERSION
from lowering.suite import WorkloadSpec, by_name, gemm as gemm_spec

VERSION = 1
STYLE = GemmStyle(a_all_tiles=True, res_per_strip=True, a_first=True, b_once=True,
                  suffix="exo_style")
# (M, N, K) -> (16-row tiles per row group, column groups), from the published schedules
PUBLISHED_TILING = {
    (512, 512, 512): (16, 2),       # ioo(2) / jo(2) / io(2) x i(8) / ji(4) / ko(8)
    (12544, 256, 64): (196, 1),     # io(4) / i(196) / j(4), one ko
    (12544, 64, 256): (8, 1),       # io(98) / i(8) / ko(4)
    (3136, 512, 128): (49, 1),      # io(4) / i(49) / j(8) / ko(2)
    (3136, 128, 512): (14, 1),      # io(14) / i(14) / j(2) / ko(8)
    (784, 1024, 256): (7, 2),       # io(7) / jo(2) / i(7) / j(8) / ko(4)
}


def published_plan(M: int, N: int, K: int, config: GemminiConfig | str | None = None) \
        -> GemmPlan:
    """The published tiling of a suite GEMM; for another GEMM, the largest row group
    whose A tiles and (a column group of) B fit the scratchpad together."""
    if (M, N, K) in PUBLISHED_TILING:
        return GemmPlan(*PUBLISHED_TILING[M, N, K])
    cfg = get_config(config)
    sp_bytes = cfg.sp_rows * cfg.sp_row_bytes
    tiles, strips = M // BLOCK, N // (BLOCK * STRIP_BLOCKS)
    for groups in (g for g in range(1, strips + 1) if strips % g == 0):
        fits = [t for t in range(1, tiles + 1) if tiles % t == 0
                and K * N // groups + t * BLOCK * K <= sp_bytes]
        if fits:
            return GemmPlan(max(fits), groups)
    raise UnsupportedConstruct(f"GEMM {M}x{N}x{K}: no row group fits the scratchpad")


def _shape(workload) -> tuple[int, int, int]:
    spec = workload if isinstance(workload, WorkloadSpec) else (
        by_name(workload) if isinstance(workload, str) else gemm_spec(*workload))
    if spec.kind != "gemm":
        raise UnsupportedConstruct(f"{spec.name}: the published-style family has GEMMs only")
    s = spec.shape_dict
    return s["M"], s["N"], s["K"]


def published_schedule(workload, config: GemminiConfig | str | None = None):
    """The Exo proc ``gemm_MxNxK_exo_style`` of a GEMM (name, spec or (M, N, K))."""
    M, N, K = _shape(workload)
    return schedule_gemm(M, N, K, published_plan(M, N, K, config), style=STYLE)


def published_c(workload, config: GemminiConfig | str | None = None, *,
                use_cache: bool = True) -> ExoC:
    """C of `published_schedule`, disk-cached like `exo_hand.hand_c`."""
    M, N, K = _shape(workload)
    key = (f"{VERSION} {MAPPING_VERSION} {exo.__version__}\n"
           f"{published_plan(M, N, K, config)!r} {STYLE!r}\n{M}x{N}x{K}")
    path = (cache_root() / "exo_hand" /
            f"gemm_{M}x{N}x{K}_exo_style-{sha256(key.encode()).hexdigest()[:32]}.json")
    cached = load_cached(path) if use_cache else None
    if cached is not None:
        return cached
    result = compile_proc(published_schedule((M, N, K), config), use_cache=False)
    if use_cache:
        store_cached(path, result)
    return result
