"""Drop zero-initializations that the first matmul can do itself ("remove unnecessary
code", menu items faster_equivalent and loop_overhead).

    mvin(0, 0x80000000, 16, 16);                         (zero an accumulator block)
    ...                                                  (nothing touches those rows)
    preload(b, 0xC0000000, 16, 16, 16, 16);              (first product, accumulating)
 -> ...
    preload(b, 0x80000000, 16, 16, 16, 16);              (first product overwrites)

Works on straight-line code with constant addresses (after unrolling and constant
propagation); the zero mvin and the preload must cover the same full block, and no
statement between them may touch those rows.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import ACCUMULATE_BIT, ACC_BIT, GemminiConfig, ROW_MASK
from gemmini.ir import Const, For, Function, Instr

from .base import Application, NotApplicable, Transform, app, site_envs, summary_of
from .deps import row_keys
from .ir_util import children, const_value, get, replace_fn, walk, with_children


def _zero_block(s, dim: int):
    if not (isinstance(s, Instr) and s.op == "mvin" and const_value(s.args[0]) == 0):
        return None
    v, cols, rows = (const_value(x) for x in (s.args[1], s.args[2], s.args[3]))
    if None in (v, cols, rows) or not v & ACC_BIT or v & ACCUMULATE_BIT or cols != dim:
        return None
    return v, rows


def _rewrite_body(fn, body, path, config):
    out = list(body)
    drop = set()
    for i, s in enumerate(body):
        z = _zero_block(s, config.dim)
        if z is None:
            continue
        v, rows = z
        keys = set(row_keys("acc", v & ROW_MASK, (v & ROW_MASK) + rows))
        for j in range(i + 1, len(body)):
            t = body[j]
            if isinstance(t, Instr) and t.op == "preload" and \
                    const_value(t.args[1]) == v | ACCUMULATE_BIT and \
                    const_value(t.args[4]) == config.dim and const_value(t.args[5]) == rows:
                out[j] = dataclasses.replace(t, args=t.args[:1] + (Const(v),) + t.args[2:])
                drop.add(i)
                break
            touched = False
            for env in site_envs(fn, path + (j,)):
                sm = summary_of(fn, config, (t,), env)
                if keys & (sm.exposed | sm.writes | sm.accs):
                    touched = True
            if touched:
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
