"""The *hardware FSM* baseline: the on-chip loop FSM (``loop_ws``) with the best tiling.

GEMM: every tiling (I, J, K in DIM-blocks) that fits the FSM (A and B in half the
scratchpad less one block, C in half the accumulator, see
`vendor_lib.loop_ws_fits`) is scored, and the best becomes the same program shape as
the software library's (configs, i/j/k tile loops of ``loop_ws``, a fence); only the
tile sizes differ. Scoring:

* ``"analytic"``: a double-buffered pipeline estimate. Each loop_ws tile keeps the
  load engine busy ``bytes(A tile + B tile) / dma_bytes_per_cycle`` cycles, the
  execute engine ``I*J*K * block_cycles`` and the store engine ``I*J*DIM /
  store_rows_per_cycle`` (only the tile that stores C); consecutive tiles overlap,
  so a tile costs the largest of the three, and the whole run adds one
  ``loop_ws_overhead`` (first load, last write-back) plus the CPU issuing
  ``loop_ws_commands`` RoCC commands per tile at ``cpu_issue`` cycles each (taken as
  overlapped unless it is the bottleneck). Ties go to fewer tiles.
* ``"model"``: the best few analytic candidates are run on the timing model
  (``gemmini.model.run``) and the fastest wins.
* ``"auto"`` (default): the same as ``"model"``.

Convolution (no conv FSM in our ISA): the im2col view is legal with strides for a
stride-1 convolution, because the output pixels of one output row read, for a
fixed kernel position (kr, kc), consecutive input pixels of input row orow + kr:
an ``od x in_ch`` matrix at ``&inp[b][orow + kr][kc][0]`` with row stride
``in_ch``. So for every (batch, output row, output-channel tile) the FSM runs one
``loop_ws`` per kernel position (and per input-channel tile when the channels do
not fit): A = that matrix, B = ``weights[kr][kc]`` (``in_ch x out_ch``, stride
out_ch), chained in the accumulator with ``ex_accumulate = 1``; the first loads the
bias as D (stride 0: broadcast), the last stores C = ``&output[b][orow][0][och0]``.
All the data movement and sequencing is on chip, as with Gemmini's own conv FSM;
unlike it, each loop_ws reloads its weights (they are reused only across the
output row's pixel blocks).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from lowering.generators.vendor_lib import (
    KERNEL_DIM, GemmTiles, add, conv_params, finish, gemm_configs, gemm_params, instr, loop,
    loop_ws_fits, mul, spec_shape, tiled_loop_ws,
)
from gemmini import model
from gemmini.config import GemminiConfig, get_config
from gemmini import ir
from gemmini.ir import Const, DramAddr, FloatConst, Var

MODEL_CANDIDATES = 6


# ----------------------------------------------------------------------------
# GEMM
# ----------------------------------------------------------------------------

def gemm_candidates(M: int, N: int, K: int, cfg: GemminiConfig) -> list[GemmTiles]:
    """Every tiling that fits the loop FSM."""
    d = cfg.dim
    bi, bj, bk = -(-M // d), -(-N // d), -(-K // d)
    max_ij = cfg.acc_rows // 2 // d
    out = []
    for ti in range(1, min(bi, max_ij) + 1):
        for tj in range(1, min(bj, max_ij // ti) + 1):
            for tk in range(1, bk + 1):
                if not loop_ws_fits(cfg, ti, tj, tk):
                    break
                out.append(GemmTiles(ti, tj, tk))
    return out


def _tile_sizes(n_blocks: int, tile: int, pad: int, d: int) -> list[tuple[int, int]]:
    """(elements in the tile, how many such tiles) along one axis."""
    full, rest = divmod(n_blocks, tile)
    sizes = []
    if rest:
        sizes.append((rest * d - pad, 1))
        if full:
            sizes.append((tile * d, full))
    else:
        sizes.append((tile * d - pad, 1))
        if full > 1:
            sizes.append((tile * d, full - 1))
    return sizes


def analytic_cycles(M: int, N: int, K: int, tiles: GemmTiles, cfg: GemminiConfig) -> float:
    """The double-buffered pipeline estimate of the module docstring."""
    tp, d = cfg.timing, cfg.dim
    bi, bj, bk = -(-M // d), -(-N // d), -(-K // d)
    total, n_tiles = 0.0, 0
    for (mi, ci), (nj, cj) in itertools.product(_tile_sizes(bi, tiles.I, bi * d - M, d),
                                                _tile_sizes(bj, tiles.J, bj * d - N, d)):
        k_sizes = _tile_sizes(bk, tiles.K, bk * d - K, d)
        for idx, (kk, ck) in enumerate(k_sizes):
            load = (mi * kk + kk * nj) * cfg.in_bytes / tp.dma_bytes_per_cycle
            execute = -(-mi // d) * -(-nj // d) * -(-kk // d) * tp.block_cycles
            stores = 1 if idx == 0 else 0   # the first entry holds the last (storing) K tile
            store = -(-mi // d) * -(-nj // d) * d / tp.store_rows_per_cycle
            busy = max(load, execute)
            total += ci * cj * (ck - stores) * busy + ci * cj * stores * max(busy, store)
            n_tiles += ci * cj * ck
    cpu = n_tiles * tp.loop_ws_commands * tp.cpu_issue
    return max(total, cpu) + tp.loop_ws_overhead


def _model_cycles(fn: ir.Function, cfg: GemminiConfig) -> float:
    inputs = {}
    for p in fn.params:
        if p.is_array:
            inputs[p.name] = np.zeros(p.shape, dtype={"i8": np.int8, "i32": np.int32}[p.dtype])
        else:
            inputs[p.name] = 1.0 if p.dtype == "f32" else False
    return float(model.run(fn, inputs, cfg, timing=True).report.cycles)


def best_gemm_tiles(M: int, N: int, K: int, config: GemminiConfig | str | None = None, *,
                    score: str = "auto") -> GemmTiles:
    """The fastest FSM tiling by the chosen score (see the module docstring)."""
    cfg = get_config(config)
    if score not in ("auto", "analytic", "model"):
        raise ValueError(f"score must be auto, analytic or model, not {score!r}")
    cands = gemm_candidates(M, N, K, cfg)
    if not cands:
        raise ValueError(f"no loop_ws tile fits {cfg.name}")

    def key(t):
        n = math.ceil(M / (t.I * cfg.dim)) * math.ceil(N / (t.J * cfg.dim)) * \
            math.ceil(K / (t.K * cfg.dim))
        return analytic_cycles(M, N, K, t, cfg), n, -t.K
    ranked = sorted(cands, key=key)
    use_model = score in ("auto", "model")
    if not use_model:
        return ranked[0]
    shortlist = ranked[:MODEL_CANDIDATES]
    timed = [(_model_cycles(_gemm_fn(M, N, K, t, cfg, "probe"), cfg), i)
             for i, t in enumerate(shortlist)]
    return shortlist[min(timed)[1]]


def _gemm_fn(M, N, K, tiles, cfg, name) -> ir.Function:
    body = gemm_configs(N, K) + tiled_loop_ws(M, N, K, tiles, cfg) + [instr("fence")]
    return finish(name, gemm_params(M, N, K), body)


def fsm_gemm(M: int, N: int, K: int, config: GemminiConfig | str | None = None, *,
             name: str | None = None, tiles: GemmTiles | None = None,
             score: str = "auto") -> ir.Function:
    """The hardware-FSM baseline of C = act(scale * A @ B)."""
    cfg = get_config(config)
    tiles = tiles or best_gemm_tiles(M, N, K, cfg, score=score)
    return _gemm_fn(M, N, K, tiles, cfg, name or f"gemm_{M}x{N}x{K}")


# ----------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------

def conv_fsm_tiles(od: int, in_ch: int, out_ch: int, cfg: GemminiConfig) -> tuple[int, int]:
    """(output-channel blocks, input-channel blocks) per loop_ws: the largest that fit."""
    d = cfg.dim
    bi, bj, bk = -(-od // d), -(-out_ch // d), -(-in_ch // d)
    for tk in range(bk, 0, -1):
        for tj in range(bj, 0, -1):
            if loop_ws_fits(cfg, bi, tj, tk):
                return tj, tk
    raise ValueError(f"an output row of {od} pixels does not fit the loop FSM of {cfg.name}")


def fsm_conv(batch: int, in_dim: int, in_ch: int, out_ch: int,
             config: GemminiConfig | str | None = None, *, name: str | None = None) -> ir.Function:
    """The hardware-FSM baseline of a stride-1 3x3 convolution (im2col view, see above)."""
    cfg = get_config(config)
    d = cfg.dim
    od = in_dim - KERNEL_DIM + 1
    if in_ch % d or out_ch % d:
        raise ValueError(f"channels {in_ch}, {out_ch} must be multiples of DIM={d}")
    tj, tk = conv_fsm_tiles(od, in_ch, out_ch, cfg)
    bi = -(-od // d)
    pad_i = bi * d - od
    b, orow, oc = Var("b"), Var("orow"), Var("oc")
    k_tiles = [(k0, min(tk * d, in_ch - k0)) for k0 in range(0, in_ch, tk * d)]

    def chain(och0, nj):
        calls = []
        steps = [(kr, kc, k0, kn) for kr in range(KERNEL_DIM) for kc in range(KERNEL_DIM)
                 for k0, kn in k_tiles]
        for idx, (kr, kc, k0, kn) in enumerate(steps):
            first, last = idx == 0, idx == len(steps) - 1
            a = DramAddr("inp", add(mul(add(mul(add(mul(b, in_dim), orow, kr), in_dim), kc),
                                        in_ch), k0))
            w = DramAddr("weights", add(mul(add(k0, (kr * KERNEL_DIM + kc) * in_ch), out_ch), och0))
            bias = DramAddr("bias", och0) if first else Const(0)
            out = DramAddr("output", add(mul(mul(add(mul(b, od), orow), od), out_ch),
                                         och0)) if last else Const(0)
            calls.append(instr("loop_ws", bi, nj // d, kn // d, pad_i, 0, 0, a, w, bias, out,
                               in_ch, out_ch, 0, out_ch, 0, 0, 0, 0, 1, Var("act")))
        return calls

    inner = []
    for first, count, size in _och_segments(out_ch, tj * d):
        if count > 1:
            inner += loop("oc", first, count, chain(mul(oc, size), size))
        else:
            inner += chain(Const(first * size), size)
    body = [instr("config_ex", 1, 0, 0, 1, 0, 0),
            instr("config_st", out_ch, Var("act"), Var("scale")),
            instr("config_ld", in_ch, FloatConst(1.0), 0, None, 0),
            instr("config_ld", out_ch, FloatConst(1.0), 0, None, 1),
            instr("config_ld", 0, FloatConst(1.0), 0, None, 2)]
    body += loop("b", 0, batch, loop("orow", 0, od, inner))
    body.append(instr("fence"))
    return finish(name or f"conv_{in_dim}x{in_dim}x{in_ch}",
                  conv_params(batch, in_dim, in_ch, out_ch), body, "conv")


def _och_segments(total: int, size: int) -> list[tuple[int, int, int]]:
    full, rest = divmod(total, size)
    return ([(0, full, size)] if full else []) + ([(full, 1, rest)] if rest else [])


# ----------------------------------------------------------------------------

def fsm_baseline(spec, config: GemminiConfig | str | None = None, *,
                 score: str = "auto") -> ir.Function:
    """The hardware-FSM baseline of a workload (WorkloadSpec or Workload)."""
    name, kind, s = spec_shape(spec)
    if kind == "gemm":
        return fsm_gemm(s["M"], s["N"], s["K"], config, name=name, score=score)
    return fsm_conv(s["batch"], s["in_dim"], s["in_ch"], s["out_ch"], config, name=name)
