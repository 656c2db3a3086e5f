"""The *software library* baseline: Gemmini's C library (gemmini.h) re-implemented as IR.

GEMM, ``tiled_matmul_auto`` (hardware.md section 7): the tiler budgets half the
scratchpad and half the accumulator (the other halves double-buffer), starts
from square tiles of ``isqrt(acc_rows / 2 / DIM)`` DIM-blocks in I and J (5 x 5 for
int8_16) and ``(sp_rows / 4 / DIM) // that`` blocks in K, then grows J, I and K by
one block each, round-robin as the library's loop does, while the tile still fits
and does not exceed the matrix. Every tile runs through the loop FSM
(``loop_ws``), tiles in i, j, k order; the K tiles of one output tile chain in the
accumulator (``C = 0`` and ``ex_accumulate = k0 != 0`` until the last), exactly
the library's ``tiled_matmul_outer``. Configs first (config_ex, config_st, the
three config_ld), a fence last. One deliberate difference: a tile must leave DIM
rows free in its scratchpad half (the loop FSM ends B one block before the
half's end), so the budget is ``sp_rows / 2 - DIM`` rather than ``sp_rows / 2``.

Convolution, ``tiled_conv_auto``: tile sizes (batches, out rows, out cols, out
channels, kernel rows, kernel cols, in channels) start from the whole dimensions;
while the tile's scratchpad rows (input + weights) or accumulator rows exceed
half of each, the largest size shrinks (channels by DIM, out cols only when
nothing else is left above DIM, others by 1); then out cols grow, then any size
grows, while it fits. Our ISA has no conv FSM, so each tile becomes the sequence
the FSM would issue (`conv_tile_body`): input rows into the scratchpad (one row
per pixel, channel blocks ``icols`` rows apart), weights as DIM x DIM blocks, the
bias broadcast into the accumulator (first kernel/channel tile only), one
preload + compute per block with the weights kept across all pixel blocks of
the tile (``compute_accumulated``), and the mvouts (last kernel/channel tile
only). Consecutive output tiles alternate scratchpad and accumulator halves.
Channel counts must be multiples of DIM.

Public: ``vendor_gemm(M, N, K, config)``, ``vendor_conv(batch, in_dim, in_ch, out_ch,
config)``, ``vendor_baseline(spec, config)`` (a `lowering.suite.WorkloadSpec`
or `Workload`), and the tilers ``gemm_tiles`` / ``conv_tiles``. Each returns an
``ir.Function`` with Exo's C signature for the workload.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

from gemmini.config import ACC_BIT, ACCUMULATE_BIT, GARBAGE_ADDR, GemminiConfig, get_config
from gemmini import ir
from gemmini.ir import BinOp, Const, DramAddr, FloatConst, For, If, Instr, Var
from lowering.simplify import simplify_function

KERNEL_DIM = 3
EXO_CONTEXT = {"gemm": "gemm_Context", "conv": "conv_Context"}   # Exo's context struct
GARBAGE = Const(GARBAGE_ADDR)


# ----------------------------------------------------------------------------
# IR helpers
# ----------------------------------------------------------------------------

def ex(x) -> ir.Expr:
    return Const(x) if isinstance(x, int) else x


def add(*xs) -> ir.Expr:
    terms = [ex(x) for x in xs if not (isinstance(x, int) and x == 0)]
    if not terms:
        return Const(0)
    e = terms[0]
    for t in terms[1:]:
        e = BinOp("+", e, t)
    return e


def mul(a, b) -> ir.Expr:
    if isinstance(a, int) and isinstance(b, int):
        return Const(a * b)
    if a == 1:
        return ex(b)
    if b == 1:
        return ex(a)
    if a == 0 or b == 0:
        return Const(0)
    return BinOp("*", ex(a), ex(b))


def loop(var: str, lo, count: int, body: list) -> list:
    """``for var in [lo, lo + count)``; nothing when count == 0."""
    if count <= 0 or not body:
        return []
    return [For(var, ex(lo), add(lo, count), tuple(body))]


def instr(op: str, *args) -> Instr:
    return Instr(op, tuple(a if a is None or isinstance(a, DramAddr) else ex(a) for a in args))


def segments(n: int, tile: int) -> list[tuple[int, int, int]]:
    """Split ``n`` into tiles of ``tile``: [(first tile index, tile count, tile size)]."""
    full, rest = divmod(n, tile)
    segs = [(0, full, tile)] if full else []
    if rest:
        segs.append((full, 1, rest))
    return segs


def last_apart(n: int, tile: int) -> list[tuple[int, int, int]]:
    """Like `segments`, but the tile holding the last element is always its own segment."""
    full = (n - 1) // tile
    return ([(0, full, tile)] if full else []) + [(full, 1, n - full * tile)]


def gemm_params(M: int, N: int, K: int) -> tuple[ir.Param, ...]:
    """Exo's C signature of the GEMM: scale, act, A[M][K], B[K][N], C[M][N]."""
    return (ir.Param("scale", "f32", (), const=True, by_pointer=True),
            ir.Param("act", "bool", ()),
            ir.Param("A", "i8", (M, K), const=True),
            ir.Param("B", "i8", (K, N), const=True),
            ir.Param("C", "i8", (M, N)))


def conv_params(batch: int, in_dim: int, in_ch: int, out_ch: int) -> tuple[ir.Param, ...]:
    """Exo's C signature of the convolution: output, bias, inp, weights, act, scale."""
    od = in_dim - KERNEL_DIM + 1
    return (ir.Param("output", "i8", (batch, od, od, out_ch)),
            ir.Param("bias", "i32", (1, out_ch), const=True),
            ir.Param("inp", "i8", (batch, in_dim, in_dim, in_ch), const=True),
            ir.Param("weights", "i8", (KERNEL_DIM, KERNEL_DIM, in_ch, out_ch), const=True),
            ir.Param("act", "bool", ()),
            ir.Param("scale", "f32", (), const=True, by_pointer=True))


def finish(name: str, params, body: list, kind: str = "gemm") -> ir.Function:
    """The Function, with expressions in the project's canonical form."""
    return simplify_function(ir.Function(name, tuple(params), tuple(body),
                                         context=EXO_CONTEXT[kind]))


# ----------------------------------------------------------------------------
# GEMM: tiled_matmul_auto
# ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GemmTiles:
    """Tile sizes in DIM-blocks."""
    I: int
    J: int
    K: int


def loop_ws_fits(cfg: GemminiConfig, ti: int, tj: int, tk: int) -> bool:
    """Whether one loop_ws tile fits the FSM's scratchpad and accumulator halves."""
    return ((ti * tk + tk * tj) * cfg.dim <= cfg.sp_rows // 2 - cfg.dim
            and ti * tj * cfg.dim <= cfg.acc_rows // 2)


def gemm_tiles(M: int, N: int, K: int, config: GemminiConfig | str | None = None) -> GemmTiles:
    """The library's tile choice for an M x N x K GEMM (in DIM-blocks)."""
    cfg = get_config(config)
    d = cfg.dim
    bi, bj, bk = -(-M // d), -(-N // d), -(-K // d)
    max_ij = math.isqrt(cfg.acc_rows // 2 // d)
    max_k = (cfg.sp_rows // 4 // d) // max_ij
    t = [min(bi, max_ij), min(bj, max_ij), min(bk, max_k)]
    grow_order = ((1, bj), (0, bi), (2, bk))   # J, then I, then K
    while True:
        grown = False
        for axis, limit in grow_order:
            cand = list(t)
            cand[axis] += 1
            if cand[axis] <= limit and loop_ws_fits(cfg, *cand):
                t = cand
                grown = True
        if not grown:
            break
    return GemmTiles(*t)


def gemm_configs(N: int, K: int) -> list[Instr]:
    """The library's configs before a tiled matmul (int8 in, int8 out)."""
    return [instr("config_ex", 1, 0, 0, 1, 0, 0),
            instr("config_st", N, Var("act"), Var("scale")),
            instr("config_ld", K, FloatConst(1.0), 0, None, 0),
            instr("config_ld", N, FloatConst(1.0), 0, None, 1),
            instr("config_ld", 0, FloatConst(1.0), 0, None, 2)]


@dataclass(frozen=True)
class GemmTile:
    """One tile of a tiled GEMM, as the tile loops see it."""
    ti: int                                # size in blocks
    tj: int
    tk: int
    pad_i: int                             # padding of the tile's last block
    pad_j: int
    pad_k: int
    row: ir.Expr                           # first row / column / inner index (elements)
    col: ir.Expr
    kk: ir.Expr
    exacc: ir.Expr                         # 1 when earlier K tiles are in the accumulator
    store: bool                            # the last K tile: C goes out
    parity: ir.Expr                        # 0 / 1 alternating between output tiles
    M: int
    N: int
    K: int


def tiled_gemm(M: int, N: int, K: int, tiles: GemmTiles, cfg: GemminiConfig, emit) -> list:
    """Loops over output tiles (i0, j0) and K tiles (k0) as ``tiled_matmul_outer`` does;
    ``emit(GemmTile)`` gives each tile's statements."""
    d = cfg.dim
    bi, bj, bk = -(-M // d), -(-N // d), -(-K // d)
    pads = (bi * d - M, bj * d - N, bk * d - K)
    i0, j0, k0 = Var("i0"), Var("j0"), Var("k0")
    n_j_tiles = -(-bj // tiles.J)
    parity = BinOp("%", add(mul(i0, n_j_tiles), j0), Const(2))
    k_segs = last_apart(bk, tiles.K)
    n_k_tiles = sum(c for _, c, _ in k_segs)
    body = []
    for (si, ci, ti), (sj, cj, tj) in itertools.product(last_apart(bi, tiles.I),
                                                         last_apart(bj, tiles.J)):
        pad_i = pads[0] if si + ci == -(-bi // tiles.I) else 0
        pad_j = pads[1] if sj + cj == -(-bj // tiles.J) else 0
        inner = []
        for sk, ck, tk in k_segs:
            last_seg = sk + ck == n_k_tiles
            tile = GemmTile(ti, tj, tk, pad_i, pad_j, pads[2] if last_seg else 0,
                            mul(i0, tiles.I * d), mul(j0, tiles.J * d), mul(k0, tiles.K * d),
                            BinOp("!=", k0, Const(0)), False, parity, M, N, K)
            if not last_seg:
                inner += loop("k0", sk, ck, emit(tile))
            else:   # the last K tile stores C
                tile = dataclasses.replace(tile, exacc=Const(1 if sk else 0), store=True)
                inner += [For("k0", Const(sk), Const(sk + 1), tuple(emit(tile)))]
        body += loop("i0", si, ci, loop("j0", sj, cj, inner))
    return body


def loop_ws_tile(t: GemmTile) -> list:
    """One tile through the loop FSM."""
    c_addr = DramAddr("C", add(mul(t.row, t.N), t.col)) if t.store else Const(0)
    return [instr("loop_ws", t.ti, t.tj, t.tk, t.pad_i, t.pad_j, t.pad_k,
                  DramAddr("A", add(mul(t.row, t.K), t.kk)),
                  DramAddr("B", add(mul(t.kk, t.N), t.col)),
                  Const(0), c_addr, t.K, t.N, 0, t.N, 0, 0, 0, 0, t.exacc, Var("act"))]


def tiled_loop_ws(M: int, N: int, K: int, tiles: GemmTiles, cfg: GemminiConfig) -> list:
    """The library's tile loops, one loop_ws per tile."""
    return tiled_gemm(M, N, K, tiles, cfg, loop_ws_tile)


def cpu_tile(cfg: GemminiConfig):
    """Emitter of one tile sequenced by the CPU (the library's pre-FSM path): mvin A
    (mvin, up to 4 blocks each) and B (mvin2), then for each (k, j) block the weights
    preloaded once and reused down the i blocks, then the mvouts. Tiles alternate
    scratchpad and accumulator halves."""
    d = cfg.dim
    wide = d * cfg.max_mvin_blocks_sp
    half_sp, half_acc = cfg.sp_rows // 2, cfg.acc_rows // 2

    def emit(t: GemmTile) -> list:
        m, n, k = t.ti * d - t.pad_i, t.tj * d - t.pad_j, t.tk * d - t.pad_k
        a_sp = mul(t.parity, half_sp)
        b_sp = add(a_sp, half_sp - d - t.tk * t.tj * d)
        c_acc = add(Const(ACC_BIT), mul(t.parity, half_acc))
        body = _chunks("ia", m, d, lambda r0, nr: _chunks("ka", k, wide, lambda c0, nc: [instr(
            "mvin", DramAddr("A", add(mul(add(t.row, r0), t.K), t.kk, c0)),
            add(a_sp, mul(r0, t.tk), c0), nc, nr)]))
        body += _chunks("kb", k, d, lambda r0, nr: _chunks("jb", n, wide, lambda c0, nc: [instr(
            "mvin2", DramAddr("B", add(mul(add(t.kk, r0), t.N), t.col, c0)),
            add(b_sp, mul(r0, t.tj), c0), nc, nr)]))

        def blocks(kb, nk, jb, nj):
            acc_flag = mul(ACCUMULATE_BIT, BinOp("!=", add(t.exacc, kb), Const(0)))

            def one(ib, ni, first):
                c = add(c_acc, mul(ib, t.tj), jb, acc_flag)
                a = add(a_sp, mul(ib, t.tk), kb)
                if first:
                    return [instr("preload", add(b_sp, mul(kb, t.tj), jb), c, nj, nk, nj, ni),
                            instr("compute_preloaded", a, GARBAGE, nk, ni, d, d)]
                return [instr("preload", GARBAGE, c, nj, nk, nj, ni),
                        instr("compute_accumulated", a, GARBAGE, nk, ni, d, d)]
            return one(Const(0), min(d, m), True) + _chunks(
                "ic", m - d, d, lambda r0, nr: one(add(r0, d), nr, False)) if m > d else \
                one(Const(0), m, True)
        body += _chunks("kc", k, d, lambda kb, nk: _chunks(
            "jc", n, d, lambda jb, nj: blocks(kb, nk, jb, nj)))
        if t.store:
            body += _chunks("io", m, d, lambda r0, nr: _chunks("jo", n, d, lambda c0, nc: [instr(
                "mvout", DramAddr("C", add(mul(add(t.row, r0), t.N), t.col, c0)),
                add(c_acc, mul(r0, t.tj), c0), nc, nr)]))
        return body
    return emit


def vendor_gemm(M: int, N: int, K: int, config: GemminiConfig | str | None = None, *,
                name: str | None = None, tiles: GemmTiles | None = None,
                sequencer: str = "fsm") -> ir.Function:
    """The software library's ``tiled_matmul_auto`` for C = act(scale * A @ B).

    ``tiles`` overrides the tiler's choice (tests, the FSM baseline's search);
    ``sequencer="cpu"`` issues each tile's instructions from the CPU instead of
    through loop_ws (the library before the loop FSM; see `cpu_tile`).
    """
    cfg = get_config(config)
    tiles = tiles or gemm_tiles(M, N, K, cfg)
    if sequencer not in ("fsm", "cpu"):
        raise ValueError(f"sequencer must be 'fsm' or 'cpu', not {sequencer!r}")
    emit = loop_ws_tile if sequencer == "fsm" else cpu_tile(cfg)
    body = gemm_configs(N, K) + tiled_gemm(M, N, K, tiles, cfg, emit) + [instr("fence")]
    return finish(name or f"gemm_{M}x{N}x{K}", gemm_params(M, N, K), body)


# ----------------------------------------------------------------------------
# Convolution: tiled_conv_auto + the sequence its FSM would issue
# ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvTiles:
    """Tile sizes: batches, out rows, out cols, out channels, kernel rows/cols, in channels."""
    batches: int
    orows: int
    ocols: int
    ochs: int
    krows: int
    kcols: int
    kchs: int

    def as_list(self) -> list[int]:
        return [self.batches, self.orows, self.ocols, self.ochs, self.krows, self.kcols,
                self.kchs]


def conv_tile_rows(cfg: GemminiConfig, t: list[int]) -> tuple[int, int]:
    """(scratchpad rows, accumulator rows) one conv tile needs (stride 1, no pooling)."""
    b, orows, ocols, ochs, krows, kcols, kchs = t
    d = cfg.dim
    irows, icols = orows + krows - 1, ocols + kcols - 1
    in_blocks, out_blocks = -(-kchs // d), -(-ochs // d)
    a_rows = in_blocks * b * irows * icols
    b_rows = out_blocks * kcols * krows * kchs
    return a_rows + b_rows, out_blocks * b * orows * ocols


def conv_tiles(batch: int, in_dim: int, in_ch: int, out_ch: int,
               config: GemminiConfig | str | None = None) -> ConvTiles:
    """The library's tile choice (``tiled_conv_auto``) for a stride-1 3x3 convolution."""
    cfg = get_config(config)
    d = cfg.dim
    od = in_dim - KERNEL_DIM + 1
    max_args = [batch, od, od, out_ch, KERNEL_DIM, KERNEL_DIM, in_ch]
    args = list(max_args)
    OROWS, OCOLS, OCHS, KCHS = 1, 2, 3, 6
    max_sp, max_acc = cfg.sp_rows // 2, cfg.acc_rows // 2

    def fits(a):
        sp, acc = conv_tile_rows(cfg, a)
        return sp <= max_sp and acc <= max_acc

    while not fits(args):
        best, idx = -1, -1
        for i, v in enumerate(args):
            # keep out cols (the array's rows) at least DIM while other sizes can shrink
            if not (i == OCOLS and v <= d and args[OROWS] > 1) and v > best:
                best, idx = v, i
        if idx in (OCHS, KCHS):
            args[idx] = (args[idx] // d) * d if args[idx] % d else args[idx] - d
            args[idx] = max(args[idx], 1)
        else:
            args[idx] -= 1
    while args[OCOLS] < max_args[OCOLS]:
        cand = list(args)
        cand[OCOLS] += 1
        if not fits(cand):
            break
        args = cand
    grown = True
    while grown:
        grown = False
        for i in range(len(args)):
            cand = list(args)
            cand[i] += 1
            if cand[i] <= max_args[i] and fits(cand):
                args, grown = cand, True
    return ConvTiles(*args)


def _chunks(var: str, total: int, size: int, make) -> list:
    """Loop over ``total`` in chunks of ``size``: make(offset_expr, chunk) per segment."""
    out = []
    for first, count, n in segments(total, size):
        if count == 1:
            out += make(Const(first * size), n)
        else:
            out += loop(var, first, count, make(mul(Var(var), size), n))
    return out


def conv_tile_body(cfg: GemminiConfig, shape: dict, sizes: list[int], bases: list,
                   sp_base, acc_base, first_k, last_k) -> list:
    """The mvin / preload / compute / mvout sequence of one convolution tile.

    ``sizes`` are this tile's (batches, orows, ocols, ochs, krows, kcols, kchs);
    ``bases`` the matching start expressions; ``first_k`` / ``last_k`` are
    conditions (Expr or bool) for loading the bias and storing the output.
    """
    d = cfg.dim
    nb, nr, nc, no, nkr, nkc, nkch = sizes
    b0, r0, c0, o0, kr0, kc0, kch0 = bases
    in_dim, in_ch, out_ch = shape["in_dim"], shape["in_ch"], shape["out_ch"]
    od = in_dim - KERNEL_DIM + 1
    if nkch % d or no % d:
        raise ValueError(f"conv tile channels {nkch}, {no} must be multiples of DIM={d}")
    irows, icols = nr + nkr - 1, nc + nkc - 1
    kcb, ocb = nkch // d, no // d
    in_rows, w_rows = kcb * nb * irows * icols, ocb * nkr * nkc * nkch
    sp_in = sp_base
    sp_w = add(sp_base, cfg.sp_rows // 2 - w_rows)
    b, r, cb, ob, kr, kc = (Var(v) for v in ("b", "r", "cb", "ob", "kr", "kc"))
    max_sp_cols = d * cfg.max_mvin_blocks_sp
    assert in_rows + w_rows <= cfg.sp_rows // 2

    def in_row(b_, ir_, cb_, px_):
        return add(sp_in, mul(add(mul(add(mul(b_, irows), ir_), kcb), cb_), icols), px_)

    def w_row(kr_, kc_, cb_, ob_):
        return add(sp_w, mul(add(mul(add(mul(add(mul(kr_, nkc), kc_), kcb), cb_), ocb), ob_), d))

    def acc_row(b_, r_, ob_, px_):
        return add(acc_base, mul(add(mul(add(mul(b_, nr), r_), ocb), ob_), nc), px_)

    # input: one mvin2 per (b, input row, <= DIM pixels, <= 4 channel blocks)
    def in_load(px0, npx):
        return _chunks("cc", nkch, max_sp_cols, lambda ch0, nch: [instr(
            "mvin2",
            DramAddr("inp", add(mul(add(mul(add(mul(add(b0, b), in_dim), r0, kr0, r), in_dim),
                                        c0, kc0, px0), in_ch), kch0, ch0)),
            in_row(b, r, BinOp("/", ch0, Const(d)) if not isinstance(ch0, Const)
                   else Const(ch0.value // d), px0),
            nch, npx)])
    body = [instr("config_ld", in_ch, FloatConst(1.0), 0, icols, 1)]   # channel blocks icols apart
    body += loop("b", 0, nb, loop("r", 0, irows, _chunks("px", icols, d, in_load)))

    # weights: one mvin3 per (kernel row, kernel col, channel block, <= 4 out blocks)
    def w_load(oc0, noc):
        return [instr("mvin3",
                      DramAddr("weights", add(mul(add(mul(add(mul(add(kr0, kr), KERNEL_DIM),
                                                                  kc0, kc), in_ch),
                                                          kch0, mul(cb, d)), out_ch), o0, oc0)),
                      w_row(kr, kc, cb, BinOp("/", oc0, Const(d)) if not isinstance(oc0, Const)
                            else Const(oc0.value // d)),
                      noc, d)]
    body += loop("kr", 0, nkr, loop("kc", 0, nkc, loop("cb", 0, kcb,
                 _chunks("oc", no, max_sp_cols, w_load))))

    # bias broadcast into the accumulator (overwrite), first kernel/channel tile only
    def bias_load(px0, npx):
        return [instr("mvin", DramAddr("bias", add(o0, mul(ob, d))),
                      add(Const(ACC_BIT), acc_row(b, r, ob, px0)), d, npx)]
    bias = loop("b", 0, nb, loop("r", 0, nr, loop("ob", 0, ocb, _chunks("px", nc, d, bias_load))))
    body += _guard(first_k, bias)

    # compute: weights preloaded once per block, reused over every pixel block
    def block(px0, npx):
        a = in_row(b, add(r, kr), cb, add(px0, kc))
        c = add(Const(ACC_BIT | ACCUMULATE_BIT), acc_row(b, r, ob, px0))
        first = BinOp("==", add(b, r, px0), Const(0))
        return [If(first,
                   (instr("preload", w_row(kr, kc, cb, ob), c, d, d, d, npx),
                    instr("compute_preloaded", a, GARBAGE, d, npx, d, d)),
                   (instr("preload", GARBAGE, c, d, d, d, npx),
                    instr("compute_accumulated", a, GARBAGE, d, npx, d, d)))]
    body += loop("kr", 0, nkr, loop("kc", 0, nkc, loop("cb", 0, kcb, loop("ob", 0, ocb,
                 loop("b", 0, nb, loop("r", 0, nr, _chunks("px", nc, d, block)))))))

    # output, last kernel/channel tile only
    def store(px0, npx):
        return [instr("mvout",
                      DramAddr("output", add(mul(add(mul(add(mul(add(b0, b), od), r0, r), od),
                                                     c0, px0), out_ch), o0, mul(ob, d))),
                      add(Const(ACC_BIT), acc_row(b, r, ob, px0)), d, npx)]
    out = loop("b", 0, nb, loop("r", 0, nr, loop("ob", 0, ocb, _chunks("px", nc, d, store))))
    body += _guard(last_k, out)
    return body


def _guard(cond, stmts: list) -> list:
    if cond is True:
        return stmts
    if cond is False or not stmts:
        return []
    return [If(cond, tuple(stmts))]


def conv_configs(in_ch: int, out_ch: int) -> list[Instr]:
    return [instr("config_ex", 1, 0, 0, 1, 0, 0),
            instr("config_st", out_ch, Var("act"), Var("scale")),
            instr("config_ld", 0, FloatConst(1.0), 0, None, 0),          # bias: stride 0
            instr("config_ld", in_ch, FloatConst(1.0), 0, None, 1),      # input rows
            instr("config_ld", out_ch, FloatConst(1.0), 0, None, 2)]     # weights


def tiled_conv(shape: dict, tiles: ConvTiles, cfg: GemminiConfig) -> list:
    """Loops over every tile (b, orow, ocol, och, krow, kcol, kch), tile bodies inside."""
    od = shape["in_dim"] - KERNEL_DIM + 1
    totals = [shape["batch"], od, od, shape["out_ch"], KERNEL_DIM, KERNEL_DIM, shape["in_ch"]]
    sizes = tiles.as_list()
    names = ("tb", "tr", "tc", "to", "tkr", "tkc", "tkch")
    counts = [-(-t // s) for t, s in zip(totals, sizes)]
    tv = [Var(n) for n in names]
    # consecutive output tiles alternate halves (double buffering)
    lin = tv[0]
    for k in range(1, 4):
        lin = add(mul(lin, counts[k]), tv[k])
    parity = BinOp("%", lin, Const(2))
    sp_base = mul(parity, cfg.sp_rows // 2)
    acc_base = mul(parity, cfg.acc_rows // 2)
    k_single = all(c == 1 for c in counts[4:])
    first_k = True if k_single else BinOp("==", add(tv[4], tv[5], tv[6]), Const(0))
    last_k = True if k_single else BinOp("==", add(
        mul(tv[4], 1), tv[5], tv[6]), Const(counts[4] + counts[5] + counts[6] - 3))
    body = []
    per_dim = [segments(t, s) for t, s in zip(totals, sizes)]
    bases = [mul(v, s) for v, s in zip(tv, sizes)]
    for out_combo in itertools.product(*per_dim[:4]):
        inner = []
        # every kernel/channel tile of one output tile runs before the next output tile
        for k_combo in itertools.product(*per_dim[4:]):
            combo = out_combo + k_combo
            tile_sizes = [n for (_, _, n) in combo]
            nest = conv_tile_body(cfg, shape, tile_sizes, bases, sp_base, acc_base, first_k,
                                  last_k)
            for name, (first, count, _) in reversed(list(zip(names[4:], k_combo))):
                nest = loop(name, first, count, nest)
            inner += nest
        for name, (first, count, _) in reversed(list(zip(names[:4], out_combo))):
            inner = loop(name, first, count, inner)
        body += inner
    return body


def vendor_conv(batch: int, in_dim: int, in_ch: int, out_ch: int,
                config: GemminiConfig | str | None = None, *, name: str | None = None,
                tiles: ConvTiles | None = None) -> ir.Function:
    """The software library's ``tiled_conv_auto`` for a stride-1 3x3 convolution."""
    cfg = get_config(config)
    shape = {"batch": batch, "in_dim": in_dim, "in_ch": in_ch, "out_ch": out_ch}
    tiles = tiles or conv_tiles(batch, in_dim, in_ch, out_ch, cfg)
    body = conv_configs(in_ch, out_ch) + tiled_conv(shape, tiles, cfg) + [instr("fence")]
    return finish(name or f"conv_{in_dim}x{in_dim}x{in_ch}",
                  conv_params(batch, in_dim, in_ch, out_ch), body, "conv")


def spec_shape(spec) -> tuple[str, str, dict]:
    """(name, kind, shape dict) of a WorkloadSpec or Workload."""
    shape = spec.shape_dict if hasattr(spec, "shape_dict") else dict(spec.shape)
    return spec.name, spec.kind, shape


def vendor_baseline(spec, config: GemminiConfig | str | None = None) -> ir.Function:
    """The software-library baseline of a workload (WorkloadSpec or Workload)."""
    name, kind, s = spec_shape(spec)
    if kind == "gemm":
        return vendor_gemm(s["M"], s["N"], s["K"], config, name=name)
    return vendor_conv(s["batch"], s["in_dim"], s["in_ch"], s["out_ch"], config, name=name)
