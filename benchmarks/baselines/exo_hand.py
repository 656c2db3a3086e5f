"""The *Exo hand-optimized* baseline: expert Gemmini schedules written with Exo's ops.

Each schedule starts from the basic mapping (`lowering.mapping.map_to_gemmini`)
of a workload's algorithm proc and applies, with Exo 1.0.0 scheduling operations
only (every step is checked by Exo; no unsafe flag is used for GEMMs):

* B stays resident in the scratchpad: its loads are hoisted out of the row loop and
  put back under ``if i == 0`` so they run during the first row tile only;
* each 16-row tile of A is loaded once (``if j == 0``) and reused by every column
  strip;
* the accumulator strip (4 blocks of 16x16) is zeroed with zero-mvins, the block
  loops (``k``, ``j_in_o``) are unrolled, and the configs stay hoisted at the top.

When B does not fit beside the A tiles (512x512x512, 784x1024x256) the columns
are split into groups whose B part is loaded once per group of row tiles
(`GemmPlan`); the dynamic instruction counts then match hardware.md section 6.
Convolutions are scheduled in `benchmarks.baselines.exo_hand_conv`.

Public API:

* ``hand_schedule(workload_or_shape) -> exo proc`` (slow: seconds to minutes);
* ``hand_c(workload_or_shape) -> ExoC`` (the same, compiled to C, disk-cached);
* ``gemm_plan(M, N, K)`` / ``schedule_gemm(M, N, K, plan)`` for any GEMM the basic
  mapping handles with full blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

import exo

from exo.API_cursors import ForCursor
from exo.stdlib.scheduling import (
    add_loop, divide_loop, expand_dim, fission, fuse, lift_alloc, lift_scope,
    remove_loop, rename, reorder_loops, reorder_stmts, repeat, simplify, unroll_loop,
)

from lowering.mapping import MAPPING_VERSION, map_to_gemmini
from lowering.suite import WorkloadSpec, by_name, conv as conv_spec, gemm as gemm_spec
from lowering.suite import gemm_algorithm
from gemmini.config import GemminiConfig, get_config
from gemmini.errors import UnsupportedConstruct
from lowering.cache import cache_root
from lowering.exo_to_c import ExoC, compile_proc, load_cached, store_cached

HAND_VERSION = 2
BLOCK = 16            # Exo's Gemmini platform is written for DIM = 16
STRIP_BLOCKS = 4      # the basic mapping's column strip: 4 blocks = 64 columns

_LOAD_A = "do_ld_i8_block_id1(_)"
_LOAD_B = "do_ld_i8_block_id2(_)"
_ZERO = "do_zero_acc_i32(_)"


# ---------------------------------------------------------------------------
# Workload lookup
# ---------------------------------------------------------------------------

def _spec_of(workload) -> WorkloadSpec:
    """A `WorkloadSpec` from a spec, a name, or a shape tuple.

    Shapes: ``(M, N, K)`` for a GEMM, ``(batch, in_dim, in_ch, out_ch)`` for a conv.
    """
    if isinstance(workload, WorkloadSpec):
        return workload
    if isinstance(workload, str):
        return by_name(workload)
    spec = getattr(workload, "name", None)
    if isinstance(spec, str) and getattr(workload, "kind", None) in ("gemm", "conv"):
        return by_name(spec)
    shape = tuple(workload)
    if len(shape) == 3:
        return gemm_spec(*shape)
    if len(shape) == 4:
        return conv_spec(*shape)
    raise ValueError(f"hand_schedule: cannot read workload {workload!r}; give a name, "
                     "a WorkloadSpec, (M, N, K) or (batch, in_dim, in_ch, out_ch)")


def hand_schedule(workload, config: GemminiConfig | str | None = None):
    """The hand-optimized Exo proc of a workload (name, spec or shape tuple)."""
    spec = _spec_of(workload)
    s = spec.shape_dict
    if spec.kind == "gemm":
        return schedule_gemm(s["M"], s["N"], s["K"], gemm_plan(s["M"], s["N"], s["K"], config))
    from benchmarks.baselines.exo_hand_conv import schedule_conv
    return schedule_conv(s["batch"], s["in_dim"], s["in_ch"], s["out_ch"], config)


def hand_c(workload, config: GemminiConfig | str | None = None, *,
           use_cache: bool = True) -> ExoC:
    """C of `hand_schedule`, disk-cached by algorithm text, plan and schedule versions.

    A cache hit skips Exo's (slow) scheduling; the cache lives next to
    `lowering.exo_to_c`'s (``<cache_root>/exo_hand/``).
    """
    spec = _spec_of(workload)
    key = (f"{HAND_VERSION} {MAPPING_VERSION} {exo.__version__}\n{_plan_key(spec, config)}\n"
           f"{spec.algorithm()}")
    path = cache_root() / "exo_hand" / f"{spec.name}-{sha256(key.encode()).hexdigest()[:32]}.json"
    cached = load_cached(path) if use_cache else None
    if cached is not None:
        return cached
    result = compile_proc(hand_schedule(spec, config), use_cache=False)
    if use_cache:
        store_cached(path, result)
    return result


def _plan_key(spec: WorkloadSpec, config) -> str:
    s = spec.shape_dict
    if spec.kind == "gemm":
        return repr(gemm_plan(s["M"], s["N"], s["K"], config))
    from benchmarks.baselines.exo_hand_conv import och_group
    return f"conv och_group={och_group(s['batch'], s['in_dim'], s['in_ch'], s['out_ch'], config)}"


# ---------------------------------------------------------------------------
# GEMM
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GemmPlan:
    """Tiling of the hand GEMM schedule.

    row_tile:   16-row tiles of A that share one load of (a column group of) B;
    col_groups: column groups; B is resident one group at a time, the A tiles of a
                row group stay resident across the column groups.
    """
    row_tile: int
    col_groups: int


@dataclass(frozen=True)
class GemmStyle:
    """How the GEMM schedule shapes and orders its buffers.

    a_all_tiles:   A keeps one slot per row tile of the row group (else one tile, reloaded
                   per row tile, unless column groups need them all);
    res_per_strip: the accumulator keeps one 16x64 strip per column strip (per row tile
                   when there is one strip) instead of one strip reused;
    a_first:       A is allocated before B (so A starts at scratchpad row 0);
    b_once:        when all of B fits (one column group), it is loaded in the first row
                   group only (``if io == 0``) instead of once per row group;
    suffix:        the proc name's suffix.
    """
    a_all_tiles: bool = False
    res_per_strip: bool = False
    a_first: bool = False
    b_once: bool = False
    suffix: str = "hand"


def gemm_plan(M: int, N: int, K: int,
              config: GemminiConfig | str | None = None) -> GemmPlan:
    """Largest tiles that fit the scratchpad: all of B if it fits, else column groups."""
    _check_gemm(M, N, K)
    cfg = get_config(config)
    sp_bytes = cfg.sp_rows * cfg.sp_row_bytes
    row_tiles, strips = M // BLOCK, N // (BLOCK * STRIP_BLOCKS)
    a_tile = BLOCK * K                         # one 16-row tile of A
    if K * N + a_tile <= sp_bytes:
        return GemmPlan(row_tiles, 1)
    for groups in _divisors(strips):
        b_part = K * N // groups
        if b_part + a_tile > sp_bytes:
            continue
        fits = [t for t in _divisors(row_tiles) if b_part + t * a_tile <= sp_bytes]
        return GemmPlan(max(fits), groups)
    raise UnsupportedConstruct(f"GEMM {M}x{N}x{K}: no column group of B fits the scratchpad")


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _check_gemm(M: int, N: int, K: int) -> None:
    strip = BLOCK * STRIP_BLOCKS
    if M % BLOCK or N % strip or K % strip:
        raise UnsupportedConstruct(
            f"GEMM {M}x{N}x{K}: the hand schedule needs M % 16 == 0 and N, K multiples of 64")


def _load_a_loop(p):
    return p.find(_LOAD_A).parent()              # for ko: ld_A


def _load_b_loop(p):
    return p.find(_LOAD_B).parent().parent()     # for ko: for k: ld_B


def _move_to_front(p, find):
    """Reorder statement ``find(p)`` to the front of its block (independent statements)."""
    while find(p).prev():
        p = reorder_stmts(p, find(p).expand(1, 0))
    return p


def schedule_gemm(M: int, N: int, K: int, plan: GemmPlan | None = None, *,
                  style: "GemmStyle | None" = None):
    """Hand-optimized Exo proc ``gemm_MxNxK_hand`` (see the module docstring).

    ``style`` changes what `GemmStyle` describes (buffer shapes and allocation order);
    the default is our own hand schedule."""
    style = style or GemmStyle()
    plan = plan or gemm_plan(M, N, K)
    _check_gemm(M, N, K)
    row_tiles, strips = M // BLOCK, N // (BLOCK * STRIP_BLOCKS)
    ti, groups = plan.row_tile, plan.col_groups
    if row_tiles % ti or strips % groups:
        raise ValueError(f"GEMM {M}x{N}x{K}: plan {plan} does not divide "
                         f"{row_tiles} row tiles / {strips} column strips")
    strips_in = strips // groups

    p = map_to_gemmini(gemm_algorithm(M, N, K))
    p = rename(p, f"{p.name()}_{style.suffix}")
    # loop nest: [io] [jo] i j, j being the 64-column strip inside a column group
    if groups > 1:
        p = divide_loop(p, "for j in _:_", strips_in, ["jo", "j"], perfect=True)
    if ti < row_tiles:
        p = divide_loop(p, "for i in _:_", ti, ["io", "i"], perfect=True)
    if groups > 1:
        p = reorder_loops(p, "i jo")
    depth = 2 + (groups > 1) + (ti < row_tiles)

    # buffers at the top; b keeps one slot per strip, a one per row tile if it must
    # survive the column groups
    if style.res_per_strip:      # one accumulator strip per column strip (or row tile)
        p = expand_dim(p, "res : _", *((strips_in, "j") if strips_in > 1 else (ti, "i")))
    p = lift_alloc(p, "res : _", n_lifts=depth)

    def lift_b(p):
        p = expand_dim(p, "b : _", strips_in, "j")
        return lift_alloc(p, "b : _", n_lifts=depth)

    def lift_a(p):
        if groups > 1 or style.a_all_tiles:
            p = expand_dim(p, "a : _", ti, "i")
        return lift_alloc(p, "a : _", n_lifts=depth)
    # the buffers are allocated in the order they are lifted
    p = lift_b(lift_a(p)) if style.a_first else lift_a(lift_b(p))

    # split the ko body: for ko: ld_A / for ko: for k: ld_B / for ko: matmuls
    p = fission(p, p.find(_LOAD_A).after())
    p = fission(p, p.find(_LOAD_B).parent().after())

    b_once = style.b_once and groups == 1 and ti < row_tiles
    p = _keep_b_resident(p, ti, row_tiles // ti if b_once else None)
    p = _load_a_once(p, strips_in, groups)

    # j body: [for ko: guarded ld_A] [for ko: guarded ld_B] zero, for ko: mm, store
    for _ in range(2 if groups > 1 else 1):
        p = lift_scope(p, _enclosing_for(p, _LOAD_A, "ko"))
    for _ in range(2 if b_once else 1):
        p = lift_scope(p, _enclosing_for(p, _LOAD_B, "ko"))
    p = _move_to_front(p, lambda q: q.find(_ZERO).parent())
    for _ in range(2):
        ko = _enclosing_for(p, _LOAD_A, "ko")
        p = fuse(p, ko, ko.next())

    p = repeat(unroll_loop)(p, "for k in _:_")
    p = repeat(unroll_loop)(p, "for j_in_o in _:_")
    return simplify(p)


def _keep_b_resident(p, ti: int, groups_once: int | None = None):
    """``for i: for j: .. for ko: ld_B ..`` -> ``for i: for j: if i == 0: for ko: ld_B``.

    With ``groups_once`` (the trip count of the ``io`` loop around ``i``), B is loaded
    in the first row group only: ``for io: for i: for j: if io == 0: if i == 0: ..``.
    """
    p = _move_to_front(p, _load_b_loop)
    p = fission(p, _load_b_loop(p).after(), n_lifts=3 if groups_once else 2)
    p = remove_loop(p, _load_b_loop(p).parent().parent())   # the i loop around ld_B
    if groups_once:
        p = remove_loop(p, _load_b_loop(p).parent().parent())   # the io loop
    j_b = _load_b_loop(p).parent()
    p = add_loop(p, j_b, "i", ti, guard=True)
    if groups_once:
        i_b = _load_b_loop(p).parent().parent().parent()   # for i: if i == 0: for j
        p = add_loop(p, i_b, "io", groups_once, guard=True)
        io_b = _load_b_loop(p).parent().parent().parent().parent().parent()   # for io
        p = fuse(p, io_b, io_b.next())
        p = lift_scope(p, _load_b_loop(p).parent().parent().parent())  # for i out of the if
    i_b = _load_b_loop(p).parent().parent().parent()       # for i: if i == 0: for j
    if groups_once:
        i_b = i_b.parent()                                 # for i: if io == 0: if i == 0
    p = fuse(p, i_b, i_b.next())
    p = lift_scope(p, _load_b_loop(p).parent())   # -> for j: if i == 0: for ko
    if groups_once:
        p = lift_scope(p, _load_b_loop(p).parent().parent())   # for j: if io == 0: if i == 0
    j_b = _enclosing_for(p, _LOAD_B, "j")
    return fuse(p, j_b, j_b.next())


def _load_a_once(p, strips_in: int, groups: int):
    """Guard the A loads by ``j == 0`` (and ``jo == 0`` with column groups)."""
    p = _move_to_front(p, _load_a_loop)
    lifts = 3 if groups > 1 else 1
    p = fission(p, _load_a_loop(p).after(), n_lifts=lifts)
    p = remove_loop(p, _load_a_loop(p).parent())             # the j loop around ld_A
    if groups > 1:
        p = remove_loop(p, _load_a_loop(p).parent().parent())  # the jo loop
        i_a = _load_a_loop(p).parent()
        p = add_loop(p, i_a, "jo", groups, guard=True)
        jo_a = _load_a_loop(p).parent().parent().parent()   # for jo: if jo == 0: for i
        p = fuse(p, jo_a, jo_a.next())
        p = lift_scope(p, _load_a_loop(p).parent())  # -> for i: if jo == 0: for ko
        i_a = _load_a_loop(p).parent().parent()
        p = fuse(p, i_a, i_a.next())
        guarded = _load_a_loop(p).parent()                  # if jo == 0: for ko
    else:
        guarded = _load_a_loop(p)
    p = add_loop(p, guarded, "j", strips_in, guard=True)
    j_a = _enclosing_for(p, _LOAD_A, "j")
    return fuse(p, j_a, j_a.next())


def _enclosing_for(p, call: str, name: str):
    """The innermost ``for name`` loop around the (first) ``call``."""
    c = p.find(call)
    while True:
        c = c.parent()
        if isinstance(c, ForCursor) and c.name() == name:
            return c
