"""Static extents of local-memory operands, free space, and relocation of regions.

Every local operand of every instruction gets an *extent*: the rows it may touch
over the whole run, from interval arithmetic on its address expression with loop
variables ranging over their bounds. An address that alternates between copies
(``... + 4096 * (i % 2)``) gets one extent per contiguous piece, from enumerating its
values. A *region* is a closed set of operands whose extents overlap (e.g. the mvin
that fills B's buffer and the preloads that read it), with all pieces of each.
Relocating a region adds the same offset expression to each of its operands, which
keeps the program's meaning while its rows move (to a free area, another bank, or a
copy per iteration of some loop).
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from dataclasses import dataclass

from gemmini.config import ACCUMULATE_BIT, ACC_BIT, GARBAGE_ADDR, GemminiConfig, ROW_MASK
from gemmini.isa import LOAD_IDS, SPECS
from gemmini.ir import Assign, BinOp, Cond, Const, Decl, Expr, For, Function, If, Instr, UnOp, Var

from .ir_util import (Path, add, const_decls, const_value, eval_expr, expr_vars, fold, get,
                      has_mod, instrs, replace_fn, subst_expr, sum_of, summands, walk)

# operand index of the local address, the operand giving its row count, and kind
LOCAL_OPERANDS = {op: spec.local_ranges for op, spec in SPECS.items() if spec.local_ranges}
MAX_PIECE_VALUES = 256      # addresses with a copy index: values enumerated at most


@dataclass(frozen=True)
class Extent:
    path: Path
    arg: int
    space: str          # "sp" or "acc"
    lo: int
    hi: int             # exclusive
    kind: str           # "r" or "w"


def interval(e: Expr, rng: dict[str, tuple[int, int]]) -> tuple[int, int] | None:
    """Inclusive bounds of an integer expression, or None when unknown."""
    if isinstance(e, Const):
        return e.value, e.value
    if isinstance(e, Var):
        return rng.get(e.name)
    if isinstance(e, UnOp):
        v = interval(e.operand, rng)
        if v is None:
            return None
        if e.op == "-":
            return -v[1], -v[0]
        if e.op == "~" and v[0] == v[1]:
            return (~v[0]) & 0xFFFFFFFF, (~v[0]) & 0xFFFFFFFF
        return None
    if isinstance(e, Cond):
        a, b = interval(e.then, rng), interval(e.orelse, rng)
        return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
    if not isinstance(e, BinOp):
        return None
    a, b = interval(e.lhs, rng), interval(e.rhs, rng)
    if a is None or b is None:
        return None
    op = e.op
    if op == "+":
        return a[0] + b[0], a[1] + b[1]
    if op == "-":
        return a[0] - b[1], a[1] - b[0]
    if op == "*":
        ps = [x * y for x in a for y in b]
        return min(ps), max(ps)
    if op == "<<" and b[0] == b[1] and a[0] >= 0:
        return a[0] << b[0], a[1] << b[0]
    if op in ("/", ">>") and b[0] == b[1] and b[0] > 0 and a[0] >= 0:
        return (a[0] // b[0], a[1] // b[0]) if op == "/" else (a[0] >> b[0], a[1] >> b[0])
    if op == "%" and b[0] == b[1] and b[0] > 0 and a[0] >= 0:
        return (a[0], a[1]) if a[1] < b[0] else (0, b[0] - 1)
    if op == "|" and b[0] == b[1] and a[0] >= 0 and b[0] >= 0:
        low = b[0] & -b[0]
        if b[0] == 0 or (not (a[0] & b[0]) and not (a[1] & b[0]) and (a[0] ^ a[1]) < low):
            return a[0] | b[0], a[1] | b[0]        # flag bits untouched by every value of a
        return None
    if op == "&" and b[0] == b[1] and b[0] >= 0 and a[0] >= 0:
        return (0, min(a[1], b[0])) if a[0] != a[1] else (a[0] & b[0],) * 2
    if op in ("==", "!=", "<", "<=", ">", ">=", "&&", "||", "!"):
        return 0, 1
    return None


def ranges_at(fn: Function, loops: tuple[For, ...], outer: dict | None = None
              ) -> dict[str, tuple[int, int]]:
    """Bounds of the variables of ``loops`` (and of the constant locals, or ``outer``)."""
    rng = dict(outer) if outer is not None else {k: (v, v) for k, v in const_decls(fn).items()}
    for lp in loops:
        lo, hi = interval(lp.lo, rng), interval(lp.hi, rng)
        if lo is None or hi is None:
            continue
        last = hi[1] - 1
        if lp.step > 1 and lo[0] == lo[1]:
            last = lo[0] + max(0, (hi[1] - 1 - lo[0]) // lp.step) * lp.step
        rng[lp.var] = (lo[0], max(lo[0], last))
    return rng


def block_strides(fn: Function, config: GemminiConfig) -> dict[int, int]:
    """Block stride (rows) of each load config id: the largest one the code sets, else DIM."""
    seen: dict[int, int] = {}
    for _, ins, _ in instrs(fn.body):
        if ins.op == "config_ld":
            idv = const_value(ins.args[4]) if ins.args[4] is not None else 0
            v = const_value(ins.args[3]) if ins.args[3] is not None else None
            if idv is not None and v:
                seen[idv] = max(seen.get(idv, 0), v)
    return {i: seen.get(i, config.dim) for i in range(3)}


def instr_ranges(fn: Function):
    """(path, instruction, ranges, definitions) for every instruction, where ``ranges``
    bounds the loop variables and the never-reassigned locals (e.g.
    ``uint32_t a = 64 * ko;``) in scope, and ``definitions`` gives those locals'
    initializers in terms of loop variables."""
    assigned = {s.name for _, s, _ in walk(fn.body) if isinstance(s, Assign)}

    def visit(body, prefix, rng, defs):
        rng, defs = dict(rng), dict(defs)
        for i, s in enumerate(body):
            p = prefix + (i,)
            if isinstance(s, Instr):
                yield p, s, rng, defs
            elif isinstance(s, Decl):
                iv = interval(s.init, rng) if s.init is not None and s.name not in assigned \
                    else None
                if iv is None:
                    rng.pop(s.name, None)
                    defs.pop(s.name, None)
                else:
                    rng[s.name] = iv
                    defs[s.name] = subst_expr(s.init, defs)
            elif isinstance(s, For):
                inner = dict(rng)
                inner.update(ranges_at(fn, (s,), rng))
                yield from visit(s.body, p, inner, {k: v for k, v in defs.items()
                                                    if k != s.var})
            elif isinstance(s, If):
                yield from visit(s.then + s.orelse, p, rng, defs)

    yield from visit(fn.body, (), {k: (v, v) for k, v in const_decls(fn).items()}, {})


def _pieces(e: Expr, rng: dict, defs: dict, span: int, mask: int
            ) -> list[tuple[int, int]] | None:
    """The contiguous row ranges an address with copy indices (terms with a ``%``) may
    touch: each copy index's values enumerated, the other terms bounded by intervals (a
    superset when both kinds share a variable). None when there is no copy index, or
    too many values."""
    e = subst_expr(e, defs)
    terms = summands(e)
    mods = [t for t in terms if has_mod(t)]
    if not mods:
        return None
    base = interval(sum_of([t for t in terms if not has_mod(t)]) or Const(0), rng)
    if base is None:
        return None
    starts = {0}
    for t in mods:
        names = sorted(expr_vars(t))
        if any(n not in rng for n in names):
            return None
        count = 1
        for n in names:
            count *= rng[n][1] - rng[n][0] + 1
        if count > MAX_PIECE_VALUES:
            return None
        try:
            values = {eval_expr(t, dict(zip(names, vals))) for vals in
                      itertools.product(*(range(rng[n][0], rng[n][1] + 1) for n in names))}
        except (KeyError, ArithmeticError):
            return None
        starts = {a + v for a in starts for v in values}
        if len(starts) > MAX_PIECE_VALUES:
            return None
    pieces: list[list[int]] = []
    for v in sorted(((a + base[0]) & mask, (a + base[1]) & mask) for a in starts):
        lo, hi = v
        if hi < lo:
            return None
        if pieces and lo <= pieces[-1][1]:
            pieces[-1][1] = max(pieces[-1][1], hi + span)
        else:
            pieces.append([lo, hi + span])
    return [(lo, hi) for lo, hi in pieces]


def extents(fn: Function, config: GemminiConfig) -> list[Extent] | None:
    """Extents of every local operand, or None if some address is not analyzable."""
    out = []
    bs = block_strides(fn, config)
    for path, ins, rng, defs in instr_ranges(fn):
        for arg, rows_arg, kind in LOCAL_OPERANDS.get(ins.op, []):
            iv = interval(ins.args[arg], rng)
            rows = interval(ins.args[rows_arg], rng)
            if iv is None or rows is None:
                return None
            if iv[0] == iv[1] == GARBAGE_ADDR:
                continue
            space = "acc" if iv[0] & ACC_BIT else "sp"
            if (iv[1] & ACC_BIT) != (iv[0] & ACC_BIT):
                return None
            mask = ROW_MASK if space == "acc" else ACCUMULATE_BIT - 1
            lo, hi = iv[0] & mask, iv[1] & mask
            if hi < lo:
                return None
            span = rows[1]
            if ins.op in LOAD_IDS:
                cols = interval(ins.args[2], rng)
                blocks = -(-cols[1] // config.dim) if cols else 1
                span = max(span, (blocks - 1) * bs.get(LOAD_IDS[ins.op], config.dim) + rows[1])
            pieces = _pieces(ins.args[arg], rng, defs, span, mask) if hi > lo else None
            for a, b in pieces or [(lo, hi + span)]:
                out.append(Extent(path, arg, space, a, b, kind))
    return out


def region_of(all_ext: list[Extent], seed: Extent) -> list[Extent]:
    """The closure of operands overlapping ``seed`` (same memory), each with all of its
    pieces."""
    same = sorted((e for e in all_ext if e.space == seed.space), key=lambda e: e.lo)
    lows = [e.lo for e in same]
    pieces: dict = {}
    for e in same:
        pieces.setdefault((e.path, e.arg), []).append(e)
    region, seen, todo = [], {seed}, [seed]
    while todo:
        e = todo.pop()
        region.append(e)
        near = same[:bisect.bisect_left(lows, e.hi)]
        for x in pieces.get((e.path, e.arg), []) + [x for x in near if x.hi > e.lo]:
            if x not in seen:
                seen.add(x)
                todo.append(x)
    return region


def bounds(region: list[Extent]) -> tuple[int, int]:
    return min(e.lo for e in region), max(e.hi for e in region)


def capacity(config: GemminiConfig, space: str) -> int:
    return config.sp_rows if space == "sp" else config.acc_rows


def bank_rows(config: GemminiConfig, space: str) -> int:
    return config.sp_bank_rows if space == "sp" else config.acc_bank_rows


def find_free(all_ext: list[Extent], moving: list[Extent], space: str, size: int,
              config: GemminiConfig, start: int = 0, align: int = 16) -> int | None:
    """Lowest row >= start where ``size`` rows are free of every other operand."""
    busy = sorted((e.lo, e.hi) for e in all_ext if e.space == space and e not in moving)
    cap = capacity(config, space)
    pos = -(-start // align) * align
    for lo, hi in busy + [(cap, cap)]:
        if pos + size <= lo:
            break
        if hi > pos:
            pos = -(-hi // align) * align
    if pos + size > cap:
        return None
    return pos


def find_free_pair(all_ext: list[Extent], moving: list[Extent], space: str, size: int,
                   stride: int, config: GemminiConfig, align: int = 16) -> int | None:
    """A row where ``size`` rows are free both there and ``stride`` rows further, in the
    banks least used by other operands (so neither copy shares a bank with them), lowest
    first among equals."""
    busy = [(e.lo, e.hi) for e in all_ext if e.space == space and e not in moving]
    cap = capacity(config, space)
    per_bank = bank_rows(config, space)
    used = [0] * (-(-cap // per_bank))
    for lo, hi in busy:          # an over-approximated extent may overshoot the memory
        first, last = max(lo, 0) // per_bank, (min(max(hi, lo + 1), cap) - 1) // per_bank
        for b in range(first, last + 1):
            used[b] += min(hi, (b + 1) * per_bank) - max(lo, b * per_bank)
    best = None
    for pos in range(0, cap - stride - size + 1, align):
        if all(hi <= p or p + size <= lo for p in (pos, pos + stride) for lo, hi in busy):
            banks = {b for p in (pos, pos + stride)
                     for b in range(p // per_bank, (p + size - 1) // per_bank + 1)}
            score = sum(used[b] for b in banks)
            if best is None or score < best[0]:
                best = (score, pos)
    return None if best is None else best[1]


def offset_addr(e: Expr, delta: Expr) -> Expr:
    """``e + delta`` keeping flag bits written as ``base | FLAGS`` outside the sum."""
    if isinstance(e, BinOp) and e.op == "|" and isinstance(e.rhs, Const):
        return BinOp("|", offset_addr(e.lhs, delta), e.rhs)
    return fold(add(e, delta))


def relocate(fn: Function, region: list[Extent], delta: Expr) -> Function:
    """Add ``delta`` to every operand of ``region`` (once, however many pieces it has)."""
    by_path: dict[Path, set[int]] = {}
    for e in region:
        by_path.setdefault(e.path, set()).add(e.arg)
    for path, args in by_path.items():
        ins = get(fn.body, path)
        assert isinstance(ins, Instr)
        new = list(ins.args)
        for a in args:
            new[a] = offset_addr(new[a], delta)
        fn = replace_fn(fn, path, (dataclasses.replace(ins, args=tuple(new)),))
    return fn


def used_rows(ext, space: str) -> int:
    """Rows of ``space`` covered by the union of the extents ``ext``."""
    iv = sorted((e.lo, e.hi) for e in ext if e.space == space)
    rows, end = 0, -1
    for lo, hi in iv:
        lo = max(lo, end)
        if hi > lo:
            rows += hi - lo
        end = max(end, hi)
    return rows
