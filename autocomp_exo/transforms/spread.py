"""The two copies of a double-buffered buffer moved one bank apart (menu items
double_buffer, distinct_locations).

spread_copies  ``mvout(&C[..], 64 * (j % 2) + ACC, ..)``   (both copies in accumulator bank 0)
            -> ``mvout(&C[..], 512 * (j % 2) + ACC, ..)``  (copy 1 in accumulator bank 1)

A buffer double-buffered in place (`double_buffer` without ``apart``, or a copy index
from another rewrite) keeps both copies in one bank, so the moves filling or draining
one copy go through the port of the bank the execute engine works on: a DMA write into
the scratchpad bank the computes read, or, for an accumulator tile, the zeroing of the
next tile and the mvouts of the previous one through the accumulator bank the array
writes (`TimingParams.acc_port_contention`, docs/hardware.md). Both steal execute
cycles. This rewrite gives the copy index a stride of one bank (and shifts the buffer
to rows free in two banks), so each copy sits in a bank of its own.

Legality: every operand touching the buffer's rows (its region, `regions.region_of`)
carries the same copy index ``c * (E % 2)`` in its address (E never negative), the
region is exactly the two copies, each operand's rows for ``E % 2 == 0`` lie in the
first and those for 1 in the second; then moving the first copy by ``shift`` and the
second by ``shift + bank - c`` is a relocation of rows that every access follows, and
`regions.find_free_pair` places both copies on rows no other operand touches.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import ACCUMULATE_BIT, GemminiConfig, ROW_MASK
from gemmini.ir import BinOp, Const, DramAddr, Expr, Function, Instr

from .base import Application, NotApplicable, Transform, app
from .ir_util import Path, get, replace_fn, summands
from .regions import (Extent, bank_rows, extents, find_free_pair, instr_ranges, interval,
                      offset_addr, region_of)


def _copy_terms(e: Expr) -> list[tuple[int, Expr]]:
    """``(c, E % 2)`` for every summand ``c * (E % 2)`` of the address ``e`` (flag bits
    written as ``base | FLAGS`` looked through)."""
    if isinstance(e, BinOp) and e.op == "|" and isinstance(e.rhs, Const):
        return _copy_terms(e.lhs)
    out = []
    for t in summands(e):
        if isinstance(t, BinOp) and t.op == "*":
            for k, m in ((t.lhs, t.rhs), (t.rhs, t.lhs)):
                if isinstance(k, Const) and _is_parity(m):
                    out.append((k.value, m))
                    break
    return out


def _is_parity(m: Expr) -> bool:
    return isinstance(m, BinOp) and m.op == "%" and isinstance(m.rhs, Const) \
        and m.rhs.value == 2


def _respace(e: Expr, stride: int) -> Expr:
    """``e`` with its copy index's stride replaced by ``stride``."""
    if isinstance(e, BinOp) and e.op in ("|", "+"):
        return BinOp(e.op, _respace(e.lhs, stride), _respace(e.rhs, stride))
    if isinstance(e, BinOp) and e.op == "*":
        if isinstance(e.lhs, Const) and _is_parity(e.rhs):
            return BinOp("*", Const(stride), e.rhs)
        if isinstance(e.rhs, Const) and _is_parity(e.lhs):
            return BinOp("*", e.lhs, Const(stride))
    return e


def _without_copy(e: Expr) -> Expr:
    """The address ``e`` with its copy index dropped (the rows of copy 0)."""
    return _respace(e, 0)


def _key(fn: Function, path: Path, arg: int):
    """What links the blocks of one buffer: the operand's instruction, operand index and
    copy index (None when it has no single copy index)."""
    x = get(fn.body, path)
    terms = _copy_terms(x.args[arg]) if isinstance(x, Instr) else []
    if len(terms) != 1:
        return None
    c, m = terms[0]
    return x.op, arg, c, repr(m)


def _buffer(fn: Function, ext: list[Extent], seed: Extent, keys: dict | None = None
            ) -> list[Extent]:
    """The region of ``seed`` together with the regions of its sibling blocks (other
    regions with an operand of the same instruction, operand index and copy index, e.g.
    the other blocks of an unrolled accumulator tile). ``keys``: `_key` of every
    operand, when already computed."""
    if keys is None:
        keys = {(e.path, e.arg): _key(fn, e.path, e.arg) for e in ext}
    buf = region_of(ext, seed)
    mine = {keys[(e.path, e.arg)] for e in buf} - {None}
    for e in ext:
        if e.space == seed.space and e not in buf and keys[(e.path, e.arg)] in mine:
            buf += [x for x in region_of(ext, e) if x not in buf]
    return buf


def _plan(fn: Function, site: Path, arg: int, config: GemminiConfig):
    """The buffer of the operand ``arg`` at ``site`` (its extents), the bank's rows and
    the shift of copy 0 (copy 1 goes one bank further); NotApplicable when the buffer
    is not two copies in one bank or there is no room."""
    ext = extents(fn, config)
    if ext is None:
        raise NotApplicable("local addresses are not analyzable")
    seed = [e for e in ext if e.path == site and e.arg == arg]
    if not seed:
        raise NotApplicable("no local operand there")
    buf = _buffer(fn, ext, seed[0])
    space = seed[0].space
    per_bank = bank_rows(config, space)
    ranges = {p: rng for p, _, rng, _ in instr_ranges(fn)}
    mask = ROW_MASK if space == "acc" else ACCUMULATE_BIT - 1
    strides = set()
    for path, a in {(e.path, e.arg) for e in buf}:
        x = get(fn.body, path)
        terms = _copy_terms(x.args[a])
        if len(terms) != 1:
            raise NotApplicable("an operand of the buffer has no single copy index")
        c, m = terms[0]
        par = interval(m.lhs, ranges[path])
        if par is None or par[0] < 0:
            raise NotApplicable("copy index of unknown sign")
        strides.add(c)
    if len(strides) != 1:
        raise NotApplicable("operands of the buffer index their copies differently")
    c = strides.pop()
    a0 = min(e.lo for e in buf)
    for e in buf:           # each operand's copy-0 rows lie below a0 + c
        x = get(fn.body, e.path)
        base = interval(_without_copy(x.args[e.arg]), ranges[e.path])
        if base is None or not a0 <= (base[0] & mask) <= (base[1] & mask) < a0 + c:
            raise NotApplicable("an operand's first copy reaches into the second")
    first = [e.hi for e in buf if e.lo < a0 + c]
    second = [e.hi for e in buf if e.lo >= a0 + c]
    if not first or not second or max(first) > a0 + c or max(second) > a0 + 2 * c:
        raise NotApplicable("the buffer is not two copies c rows apart")
    size = max(max(first) - a0, max(second) - a0 - c)
    if a0 // per_bank != (max(second) - 1) // per_bank:
        raise NotApplicable("the copies are already in different banks")
    if size > per_bank:
        raise NotApplicable("a copy does not fit one bank")
    start = find_free_pair(ext, buf, space, size, per_bank, config)
    if start is None:
        raise NotApplicable("no free rows at the same offset in two banks")
    return buf, per_bank, start - a0


def spread_copies(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Give the buffer's copy index a stride of one bank (see the module docstring)."""
    region, per_bank, shift = _plan(fn, a.site, a.p["arg"], config)
    by_path: dict[Path, set[int]] = {}
    for e in region:
        by_path.setdefault(e.path, set()).add(e.arg)
    for path, args in by_path.items():
        x = get(fn.body, path)
        new = list(x.args)
        for i in args:
            new[i] = offset_addr(_respace(new[i], per_bank), Const(shift))
        fn = replace_fn(fn, path, (dataclasses.replace(x, args=tuple(new)),))
    return fn


def find_spread_copies(fn: Function, config: GemminiConfig) -> list[Application]:
    """One application per double-buffered buffer whose two copies share a bank."""
    ext = extents(fn, config)
    if ext is None:
        return []
    keys = {(e.path, e.arg): _key(fn, e.path, e.arg) for e in ext}
    out, seen = [], set()
    for e in ext:
        k = keys[(e.path, e.arg)]
        if (e.path, e.arg) in seen or k is None or not 0 < k[2] < bank_rows(config, e.space):
            continue
        buf = _buffer(fn, ext, e, keys)
        seen |= {(r.path, r.arg) for r in buf}
        moves = [r for r in buf if isinstance(get(fn.body, r.path).args[0], DramAddr)]
        site = min(moves or [e], key=lambda r: r.path)
        x = get(fn.body, site.path)
        what = f"{x.op} buffer of {x.args[0].array}" if moves else f"{x.op} operand"
        memory = "accumulator" if e.space == "acc" else "scratchpad"
        out.append(app("spread_copies", site.path, f"put the two copies of the {what} in "
                       f"different {memory} banks", arg=site.arg))
    return out


TRANSFORMS = [
    Transform("spread_copies", ("double_buffer", "distinct_locations"),
              "move the second copy of a double-buffered buffer to another bank",
              find_spread_copies, spread_copies, ("execute", "conflict")),
]
