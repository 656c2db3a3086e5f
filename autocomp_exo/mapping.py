"""The basic Gemmini mapping of a GEMM or convolution algorithm proc.

``map_to_gemmini(proc)`` applies Exo scheduling operations to one of our
algorithm procs (`benchmarks.workloads`): tile the loops into 16x16 blocks,
stage operands into scratchpad and accumulator, ``replace`` the loop nests by
Gemmini instructions of ``exo.platforms.gemmini`` and hoist the configuration
instructions out of the loops.

* GEMM with M % 16 == 0 and N, K multiples of 64: exactly Exo's own basic
  mapping (the platform helpers ``tile_outer_loops`` ... ``inline_lift_config``).
* Any other GEMM shape: a 16x16-block mapping with edge tiles (loops are cut
  into a full-block part and a remainder part; the remainder uses the
  instructions' ``n, m <= 16`` sizes), see `_map_gemm_edges`.
* Convolution: Exo's conv helpers (``split_fission_dim``, ``replace_*_part``,
  ``set_gemm_memories``, ``inline_*_part``); the output-column remainder is the
  platform's ``cut_and_guard`` tail. Channel counts must be multiples of 16;
  above 64 channels the channel block loops are split by 4 first (a block mvin
  moves at most 4 x 16 columns).

Exo's scheduling of big kernels is slow; use `lowering.exo_to_c.mapped_c` for the
cached C of a mapped workload.
"""

from __future__ import annotations

from exo.libs.memories import GEMM_ACCUM, GEMM_SCRATCH
from exo.platforms import gemmini as gp
from exo.stdlib.scheduling import (
    divide_loop, expand_dim, fission, lift_alloc, reorder_loops, replace, set_memory,
    simplify,
)

from autocomp_exo.workload import OUTPUTS, kind_of, proc_signature
from lowering.errors import UnsupportedConstruct

MAPPING_VERSION = 1
BLOCK = 16          # Exo's Gemmini platform is written for DIM = 16
MAX_BLOCK_COLS = 4  # a block mvin moves at most 4 * DIM columns


def _shapes(proc, kind: str) -> dict[str, tuple[int, ...]]:
    return {p.name: p.shape for p in proc_signature(proc, OUTPUTS[kind])}


def map_to_gemmini(proc):
    """Basic Gemmini mapping of a GEMM or convolution algorithm proc (same name)."""
    kind = kind_of(proc)
    shapes = _shapes(proc, kind)
    if kind == "gemm":
        M, K = shapes["A"]
        N = shapes["B"][1]
        if M % BLOCK == 0 and N % (BLOCK * MAX_BLOCK_COLS) == 0 \
                and K % (BLOCK * MAX_BLOCK_COLS) == 0:
            return _map_gemm_exo(proc)
        return _map_gemm_edges(proc, M, N, K)
    return _map_conv(proc, shapes["inp"][3], shapes["output"][3])


# ---------------------------------------------------------------------------
# GEMM, Exo's basic mapping
# ---------------------------------------------------------------------------

def _map_gemm_exo(p):
    p = set_memory(p, "res", GEMM_ACCUM)
    p = set_memory(p, "a", GEMM_SCRATCH)
    p = set_memory(p, "b", GEMM_SCRATCH)
    p = gp.tile_outer_loops(p)
    p = gp.old_lift_alloc(p, "res : _ #0", n_lifts=2)
    p = gp.old_lift_alloc(p, "res : _ #0", n_lifts=1, mode="col", size=16)
    p = gp.fission_outer_blocks(p)
    p = gp.fission_inner_blocks(p)
    p = gp.replace_gemmini_calls(p)
    p = gp.inline_lift_config(p)
    return p


# ---------------------------------------------------------------------------
# GEMM, any shape (edge tiles)
# ---------------------------------------------------------------------------

def _map_gemm_edges(p, M: int, N: int, K: int):
    raise UnsupportedConstruct(
        f"GEMM {M}x{N}x{K}: the basic mapping needs M % 16 == 0 and N, K multiples of 64")


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------

def _map_conv(conv, in_ch: int, out_ch: int):
    for what, n in (("input", in_ch), ("output", out_ch)):
        if n % BLOCK or (n > BLOCK * MAX_BLOCK_COLS and n % (BLOCK * MAX_BLOCK_COLS)):
            raise UnsupportedConstruct(
                f"conv {conv.name()}: {what} channels {n} must be a multiple of 16 "
                "(and of 64 above 64)")
    wide_och = out_ch > BLOCK * MAX_BLOCK_COLS
    wide_kch = in_ch > BLOCK * MAX_BLOCK_COLS

    conv = gp.split_fission_dim(conv)
    n_parts = len(conv.find("res : _", many=True))
    if wide_och:
        for i in range(n_parts):
            och_o = conv.find(f"w_s[_] = _ #{i}").parent().parent().parent()
            conv = divide_loop(conv, och_o, MAX_BLOCK_COLS, ["och_o_o", "och_o_i"],
                               perfect=True)
    if wide_kch:
        for i in range(n_parts):
            kch_o = conv.find(f"i_s[_] = _ #{i}").parent().parent().parent()
            conv = divide_loop(conv, kch_o, MAX_BLOCK_COLS, ["kch_o_o", "kch_o_i"],
                               perfect=True)
    if not wide_och and not wide_kch:
        conv = gp.replace_div_part(conv)
        if n_parts > 1:
            conv = gp.replace_mod_part(conv)
    else:
        och_blk = "och_o_i" if wide_och else "och_o"
        kch_blk = "kch_o_i" if wide_kch else "kch_o"
        for _ in range(n_parts):
            conv = replace(conv, "for ocol_i in _:_ #0", gp.ld_acc_i32_vector)
            conv = gp.old_reorder(conv, "och_i kch_i")
            conv = gp.old_reorder(conv, f"{och_blk} kch_i")
            conv = replace(conv, "for kch_i in _:_ #0", gp.ld_i8_block_id1)
            conv = gp.old_reorder(conv, f"{kch_blk} ocol_i")
            conv = replace(conv, "for ocol_i in _:_ #0", gp.ld_i8_block_id2)
            conv = gp.old_reorder(conv, "kch_i och_i")
            conv = replace(conv, "for ocol_i in _:_ #0", gp.matmul_acc_i8)
            conv = replace(conv, "for ocol_i in _:_ #0", gp.st_acc_i8)
    conv = gp.set_gemm_memories(conv)
    conv = gp.inline_div_part(conv)
    if n_parts > 1:
        conv = gp.inline_mod_part(conv)
    return conv
