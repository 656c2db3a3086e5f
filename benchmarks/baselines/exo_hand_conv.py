"""Hand-optimized Exo schedules of the 3x3 convolutions (part of the Exo hand baseline).

Starts from the basic mapping (`lowering.mapping.map_to_gemmini`) of the
algorithm proc, with the output channels first split into groups when the weights
of all channels would not fit the scratchpad, and applies with Exo 1.0.0 ops:

* weights resident in the scratchpad: the weight buffer gets (krow, kcol)
  dimensions, is lifted to the top, and the weight loads are fissioned out of the
  batch / row / column-tile loops (Exo proves each step), so every weight block is
  loaded once per output-channel group (once per column part: the full 16-column
  tiles and the remainder tile each keep their own copy; a weight-load config the
  mapping leaves beside the loads moves out with them);
* accumulator, input and weight buffers allocated once at the top;
* the output-channel block loops (bias loads, matmuls, stores) unrolled.

Not done (Exo's own schedules use unchecked guards for it): reusing an input row
across the three kernel rows. Input loads keep their per-load ``config_ld`` (the
block stride depends on the tile's row count), as in Exo's own schedules.
"""

from __future__ import annotations

from exo.API_cursors import CallCursor, ForCursor
from exo.stdlib.scheduling import (
    divide_loop, expand_dim, fission, lift_alloc, remove_loop, rename, reorder_loops,
    reorder_stmts, repeat, simplify, unroll_loop,
)

from lowering.mapping import map_to_gemmini
from lowering.suite import conv_algorithm
from gemmini.config import GemminiConfig, get_config
from gemmini.errors import UnsupportedConstruct

KERNEL = 3
BLOCK = 16
GROUP_UNIT = 64         # output channels are grouped in multiples of one 4-block mvin

_LOAD_W = "do_ld_i8_block_id1(_)"
_TILE_LOOPS = ("b", "orow", "ocol_o")      # loops the weights do not depend on


def och_group(batch: int, in_dim: int, in_ch: int, out_ch: int,
              config: GemminiConfig | str | None = None) -> int:
    """Output channels per group: the most whose weights (both column parts) fit."""
    cfg = get_config(config)
    sp_bytes = cfg.sp_rows * cfg.sp_row_bytes
    out_dim = in_dim - KERNEL + 1
    parts = (out_dim // BLOCK > 0) + (out_dim % BLOCK > 0)
    inputs = parts * KERNEL * in_ch * BLOCK
    candidates = [g for g in range(out_ch, 0, -1)
                  if out_ch % g == 0 and (g == out_ch or g % GROUP_UNIT == 0)]
    for g in candidates:
        if parts * KERNEL * KERNEL * in_ch * g + inputs <= sp_bytes:
            return g
    raise UnsupportedConstruct(
        f"conv {in_dim}x{in_dim}x{in_ch}->{out_ch}: no output-channel group of the "
        "weights fits the scratchpad")


def schedule_conv(batch: int, in_dim: int, in_ch: int, out_ch: int,
                  config: GemminiConfig | str | None = None):
    """Hand-optimized Exo proc ``<conv name>_hand`` (see the module docstring)."""
    group = och_group(batch, in_dim, in_ch, out_ch, config)
    p = conv_algorithm(batch, in_dim, in_ch, out_ch)
    p = rename(p, f"{p.name()}_hand")
    if group < out_ch:
        p = divide_loop(p, "for och in _:_", group, ["och_out", "och"], perfect=True)
        for outer in ("ocol", "orow", "b"):
            p = reorder_loops(p, f"{outer} och_out")
    p = map_to_gemmini(p)

    n_parts = len(p.find(_LOAD_W, many=True))
    for part in range(n_parts):
        w_s = p.find(f"w_s : _ #{part}")
        p = expand_dim(p, w_s, str(KERNEL), "kcol")
        p = expand_dim(p, p.forward(w_s), str(KERNEL), "krow")
    for name in ("w_s", "i_s", "res"):
        for part in range(n_parts):
            p = _lift_to_top(p, f"{name} : _ #{part}")
    for part in range(n_parts):
        p = _hoist_weight_loads(p, part)

    for loop in ("och_o", "och_o_o", "och_o_i", "kch_o_o"):
        p = repeat(unroll_loop)(p, f"for {loop} in _:_")
    return simplify(p)


def _lift_to_top(p, pattern: str):
    """Lift an allocation out of every loop except an output-channel group loop."""
    alloc = p.find(pattern)
    depth, c = 0, alloc.parent()
    while isinstance(c, ForCursor) and c.name() != "och_out":
        depth, c = depth + 1, c.parent()
    return lift_alloc(p, alloc, n_lifts=depth) if depth else p


def _weight_root(p, part: int):
    """Outermost loop around weight load ``part`` that holds nothing else but configs."""
    c = p.find(f"{_LOAD_W} #{part}")
    while isinstance(c.parent(), ForCursor) and _others(c.parent()) == 1:
        c = c.parent()
    return c


def _others(loop) -> int:
    """Statements in a loop body that are not config instructions."""
    return sum(1 for s in loop.body()
               if not (isinstance(s, CallCursor) and s.subproc().name().startswith("config_")))


def _hoist_weight_loads(p, part: int):
    """Fission the weight loads of one column part out of the tile loops."""
    def root(q):
        return _weight_root(q, part)

    while True:
        loop = root(p).parent()
        if not isinstance(loop, ForCursor) or loop.name() == "och_out":
            return p
        while root(p).prev():
            p = reorder_stmts(p, root(p).expand(1, 0))
        if root(p).next():
            p = fission(p, root(p).after())
        # root(p) now spans the split-off loop too; drop it if the loads ignore it
        top = root(p)
        if isinstance(top, ForCursor) and top.name() in _TILE_LOOPS:
            p = remove_loop(p, top)
