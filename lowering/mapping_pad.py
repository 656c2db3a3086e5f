"""The Gemmini mapping of a stride-1 convolution with padding, as clipped GEMM pieces.

A padded convolution reads input row ``orow + krow + row_offset`` (``row_offset`` is
minus the padding) only where that row lies in a window of valid rows, and likewise for
columns; everywhere else the product is zero. For one output row and kernel row the
input row is either valid or not, and for one kernel column the valid output columns
are one interval. So the convolution is a sum of unpadded pieces, each a GEMM over the
valid output columns of a 16-column block: its input tile is loaded from the first
valid column on, and its preload targets the accumulator row of the first valid
output column. Invalid positions are skipped, never loaded. Loops whose pieces are the
same (interior rows, interior column blocks, kernel columns clipped alike) stay loops
with constant bounds.

`padded_conv_proc(shape, name)` writes the mapped proc out as Exo source (Exo's Gemmini
instructions, the configurations once at the top) and lets Exo parse and check it.
"""

from __future__ import annotations

import hashlib
import linecache
from dataclasses import dataclass

from exo import DRAM, proc
from exo.libs.memories import GEMM_ACCUM, GEMM_SCRATCH
from exo.platforms import gemmini as gp

from gemmini.config import CONFIGS
from lowering.mapping_procs import ld_acc_i32_row

BLOCK = CONFIGS["int8_16"].dim     # what Exo's Gemmini platform is written for


@dataclass(frozen=True)
class ConvShape:
    """A stride-1 NHWC convolution reading ``inp[b, orow + krow + row_offset, ocol + kcol
    + col_offset, kch]`` where the row lies in ``rows`` and the column in ``cols``
    (half-open intervals of input positions)."""
    batch: int
    in_rows: int
    in_cols: int
    in_ch: int
    out_rows: int
    out_cols: int
    out_ch: int
    kernel_rows: int
    kernel_cols: int
    row_offset: int
    col_offset: int
    rows: tuple[int, int]
    cols: tuple[int, int]
    bias: bool


def _valid(lo: int, hi: int, pos: int, offset: int, kernel: int) -> tuple[int, int]:
    """Kernel positions ``[k0, k1)`` whose input ``pos + k + offset`` is in ``[lo, hi)``."""
    return max(0, lo - pos - offset), min(kernel, hi - pos - offset)


def _groups(keys: list) -> list[tuple[int, int, object]]:
    """Runs of equal keys: (first index, end index, key)."""
    runs: list[tuple[int, int, object]] = []
    for i, key in enumerate(keys):
        if runs and runs[-1][2] == key and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1, key)
        else:
            runs.append((i, i + 1, key))
    return runs


def _blocks(extent: int) -> list[tuple[int, int]]:
    """(first element, size) of each 16-block of ``extent``."""
    return [(s, min(BLOCK, extent - s)) for s in range(0, extent, BLOCK)]


def _sum(*terms) -> str:
    """An index expression: the sum of ``terms`` (expressions or ints), constants folded."""
    const = sum(int(t) for t in terms if str(t).lstrip("-").isdigit())
    names = [str(t) for t in terms if not str(t).lstrip("-").isdigit()]
    if not names:
        return str(const)
    text = " + ".join(names)
    return text if not const else f"{text} + {const}" if const > 0 else f"{text} - {-const}"


def _span(*terms, size: int) -> str:
    """The window ``start:start + size`` of a start given as terms."""
    return f"{_sum(*terms)}:{_sum(*terms, size)}"


class _Writer:
    """Lines of Exo source at the current indentation."""

    def __init__(self):
        self.lines: list[str] = []
        self.depth = 1

    def line(self, text: str):
        self.lines.append("    " * self.depth + text)

    def loop(self, var: str, lo: int, hi: int, block: int = 1) -> tuple[str, bool]:
        """Open a loop over ``[lo, hi)`` (none for one iteration): (``block`` x the
        index, as an expression; whether a loop was opened)."""
        if hi - lo == 1:
            return str(lo * block), False
        self.line(f"for {var} in seq({lo}, {hi}):")
        self.depth += 1
        return (var if block == 1 else f"{block} * {var}"), True

    def close(self, opened: bool):
        if opened:
            self.depth -= 1


def _slices(w: _Writer, var: str, extent: int):
    """Yield (start expression, size) of the 16-slices of ``extent``: a loop over the
    full slices, then the remainder."""
    full, rest = divmod(extent, BLOCK)
    if full:
        start, opened = w.loop(var, 0, full, BLOCK)
        yield start, BLOCK
        w.close(opened)
    if rest:
        yield str(full * BLOCK), rest


def _body(s: ConvShape, w: _Writer):
    w.line(f"for b in seq(0, {s.batch}):")
    w.depth += 1
    krows = [_valid(*s.rows, r, s.row_offset, s.kernel_rows) for r in range(s.out_rows)]
    col_blocks = _blocks(s.out_cols)
    signatures = []
    for start, size in col_blocks:   # per kernel column: its valid columns [lo, hi) of the block
        clips = []
        for kcol in range(s.kernel_cols):
            lo = max(0, s.cols[0] - kcol - s.col_offset - start)
            hi = min(size, s.cols[1] - kcol - s.col_offset - start)
            clips.append((lo, hi) if lo < hi else None)
        signatures.append((size, tuple(clips)))
    for r0, r1, (k0, k1) in _groups(krows):
        orow, row_open = w.loop("orow", r0, r1)
        for c0, c1, (n, clips) in _groups(signatures):
            ocol, col_open = w.loop("ocol_o", c0, c1, BLOCK)
            for och, m in _slices(w, "och_o", s.out_ch):
                _block(s, w, orow, ocol, och, n, m, (k0, k1), clips)
            w.close(col_open)
        w.close(row_open)


def _block(s: ConvShape, w: _Writer, orow: str, ocol: str, och: str, n: int, m: int,
           krows: tuple[int, int], clips: tuple):
    """One output block: n output columns from ``ocol`` x m channels from ``och``."""
    w.line(f"res: i32[{BLOCK}, {BLOCK}] @ GEMM_ACCUM")
    if s.bias:
        w.line(f"ld_acc_i32_row({n}, {m}, bias[0:1, {_span(och, size=m)}], res[0:{n}, 0:{BLOCK}])")
    else:
        w.line(f"zero_acc_i32({n}, {m}, res[0:{n}, 0:{BLOCK}])")
    k0, k1 = krows
    if k0 < k1:
        krow, krow_open = w.loop("krow", k0, k1)
        for c0, c1, clip in _groups(list(clips)):
            if clip is None:
                continue
            lo, hi = clip
            kcol, kcol_open = w.loop("kcol", c0, c1)
            for kch, kk in _slices(w, "kch_o", s.in_ch):
                row = _sum(orow, krow, s.row_offset)
                cols = _span(ocol, kcol, s.col_offset + lo, size=hi - lo)
                w.line(f"i_s: i8[{BLOCK}, {BLOCK}] @ GEMM_SCRATCH")
                w.line(f"ld_i8_id1({hi - lo}, {kk}, inp[b, {row}, {cols}, "
                       f"{_span(kch, size=kk)}], i_s[0:{hi - lo}, 0:{BLOCK}])")
                w.line(f"w_s: i8[{BLOCK}, {BLOCK}] @ GEMM_SCRATCH")
                w.line(f"ld_i8_id2({kk}, {m}, weights[{krow}, {kcol}, {_span(kch, size=kk)}, "
                       f"{_span(och, size=m)}], w_s[0:{kk}, 0:{BLOCK}])")
                w.line(f"matmul_acc_i8({hi - lo}, {m}, {kk}, i_s[0:{hi - lo}, 0:{BLOCK}], "
                       f"w_s[0:{kk}, 0:{BLOCK}], res[{lo}:{hi}, 0:{BLOCK}])")
            w.close(kcol_open)
        w.close(krow_open)
    w.line(f"st_acc_i8({n}, {m}, scale, act, res[0:{n}, 0:{BLOCK}], output[b, {orow}, {_span(ocol, size=n)}, "
           f"{_span(och, size=m)}])")


def padded_conv_source(s: ConvShape, name: str) -> str:
    """The Exo source of the mapped convolution (arguments ``output, bias, inp, weights,
    act, scale``; no ``bias`` without one)."""
    bias = f"bias: i32[1, {s.out_ch}] @ DRAM, " if s.bias else ""
    head = (f"def {name}(output: i8[{s.batch}, {s.out_rows}, {s.out_cols}, {s.out_ch}] @ DRAM, "
            f"{bias}inp: i8[{s.batch}, {s.in_rows}, {s.in_cols}, {s.in_ch}] @ DRAM, "
            f"weights: i8[{s.kernel_rows}, {s.kernel_cols}, {s.in_ch}, {s.out_ch}] @ DRAM, "
            "act: bool, scale: f32):")
    w = _Writer()
    _body(s, w)
    return "\n".join([head, *w.lines]) + "\n"


_INSTRUCTIONS = {f.name(): f for f in (
    gp.ld_i8_id1, gp.ld_i8_id2, gp.matmul_acc_i8, gp.st_acc_i8, gp.zero_acc_i32,
    ld_acc_i32_row)}


def padded_conv_proc(s: ConvShape, name: str):
    """The mapped convolution as an Exo proc (parsed and checked by Exo)."""
    source = padded_conv_source(s, name)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    filename = f"<autocomp-exo padded conv {digest}>"
    lines = ("@proc\n" + source).splitlines(True)
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
    namespace = {"proc": proc, "DRAM": DRAM, "GEMM_ACCUM": GEMM_ACCUM,
                 "GEMM_SCRATCH": GEMM_SCRATCH, **_INSTRUCTIONS}
    exec(compile("".join(lines), filename, "exec"), namespace)  # our own generated source
    return namespace[name]
