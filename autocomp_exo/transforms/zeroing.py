"""Drop zero-initializations that the first matmul can do itself ("remove unnecessary
code", menu items faster_equivalent and loop_overhead).

    mvin(0, 0x80000000, 16, 16);                         (zero an accumulator block)
    ...                                                  (nothing touches those rows)
    preload(b, 0xC0000000, 16, 16, 16, 16);              (first product, accumulating)
 -> ...
    preload(b, 0x80000000, 16, 16, 16, 16);              (first product overwrites)

Works on straight-line code (after unrolling); the zero mvin and the preload must cover
the same full block at the same address (the same summands, constant or not: a double-
buffered tile's ``512 * (j % 2) + ACC``, whose variables nothing in between assigns),
and no statement between them may touch those rows (checked at the enclosing loops'
first and second values).
"""

from __future__ import annotations

import dataclasses

from gemmini.config import ACCUMULATE_BIT, ACC_BIT, GemminiConfig, ROW_MASK
from gemmini.ir import Assign, BinOp, For, Function, Instr

from .base import Application, NotApplicable, Transform, app, site_envs, summary_of
from .deps import row_keys
from .ir_util import children, const_value, eval_expr, expr_vars, get, replace_fn, \
    scalar_writes, summands, walk, with_children


def _split(e):
    """An address as (constant part, the other summands' texts, sorted), or None when a
    summand is a flag written with ``|`` (not a plain sum)."""
    if e is None:
        return None
    whole = const_value(e)
    if whole is not None:
        return whole, ()
    k, rest = 0, []
    for t in summands(e):
        v = const_value(t)
        if v is not None:
            k += v
        elif isinstance(t, BinOp) and t.op == "|":
            return None
        else:
            rest.append(repr(t))
    return k, tuple(sorted(rest))


def _zero_block(s, dim: int):
    """(address as `_split`, rows) of a zero mvin of a full-width accumulator block; the
    address may vary with loop variables and locals (``512 * (j % 2) + ACC``)."""
    if not (isinstance(s, Instr) and s.op == "mvin" and const_value(s.args[0]) == 0):
        return None
    cols, rows = (const_value(x) for x in (s.args[2], s.args[3]))
    addr = _split(s.args[1])
    if None in (addr, cols, rows) or cols != dim:
        return None
    if not addr[1] and (not addr[0] & ACC_BIT or addr[0] & ACCUMULATE_BIT):
        return None             # a symbolic address's flags are checked where evaluated
    return addr, rows


def _rewrite_body(fn, body, path, config):
    out = list(body)
    drop = set()
    assigned = {x.name for _, x, _ in walk(fn.body) if isinstance(x, Assign)}
    for i, s in enumerate(body):
        z = _zero_block(s, config.dim)
        if z is None or expr_vars(s.args[1]) & assigned:
            continue
        (v, terms), rows = z
        envs = site_envs(fn, path + (i,))
        keys = set()
        for env in envs:
            try:
                at = eval_expr(s.args[1], env)
            except (KeyError, ArithmeticError, TypeError):
                at = None
            if at is None or not at & ACC_BIT or at & ACCUMULATE_BIT:
                keys = None         # not provably a zeroed accumulator block
                break
            keys |= set(row_keys("acc", at & ROW_MASK, (at & ROW_MASK) + rows))
        if keys is None:
            continue
        for j in range(i + 1, len(body)):
            t = body[j]
            if isinstance(t, Instr) and t.op == "preload" and \
                    _split(t.args[1]) == (v + ACCUMULATE_BIT, terms) and \
                    const_value(t.args[4]) == config.dim and const_value(t.args[5]) == rows:
                out[j] = dataclasses.replace(t, args=t.args[:1] + (s.args[1],) + t.args[2:])
                drop.add(i)
                break
            touched = False
            for env in site_envs(fn, path + (j,)):
                sm = summary_of(fn, config, (t,), env)
                if keys & (sm.exposed | sm.writes | sm.accs):
                    touched = True
            if touched or scalar_writes(t) & expr_vars(s.args[1]):
                break
    return tuple(s for i, s in enumerate(out) if i not in drop)


def fold_zeroing(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Turn each zero mvin + first accumulating preload into one overwriting preload."""
    new = fn
    bodies = [((), fn.body)] + [(p, s.body) for p, s, _ in walk(fn.body) if isinstance(s, For)]
    for path, body in sorted(bodies, key=lambda x: -len(x[0])):   # inner first: paths stay valid
        if not any(_zero_block(s, config.dim) for s in body):
            continue
        cur = new.body if not path else children(_get(new, path))
        rewritten = _rewrite_body(new, cur, path, config)
        if rewritten != cur:
            new = _set(new, path, rewritten)
    if new == fn:
        raise NotApplicable("no zero mvin is followed by a matching accumulating preload")
    return new


def _get(fn, path):
    return get(fn.body, path)


def _set(fn, path, kids):
    if not path:
        return dataclasses.replace(fn, body=tuple(kids))
    return replace_fn(fn, path, (with_children(_get(fn, path), tuple(kids)),))


def find_fold_zeroing(fn: Function, config: GemminiConfig) -> list[Application]:
    for _, s, _ in walk(fn.body):
        if _zero_block(s, config.dim):
            return [app("fold_zeroing", (), "drop the zero mvins of accumulator blocks and let "
                        "the first preload of each block overwrite instead of accumulate")]
    return []


TRANSFORMS = [
    Transform("fold_zeroing", ("faster_equivalent", "loop_overhead"),
              "let the first matmul overwrite instead of zeroing",
              find_fold_zeroing, fold_zeroing, ("cpu", "load")),
]
