"""Merging adjacent mvins into wider ones (menu items
faster_equivalent, less_data_movement, loop_overhead).

    for (j = 0; j < 4; j++) mvin(0, s + 16j, 16, 16);          (zero mvins, scratchpad)
 -> mvin(0, s, 64, 16);
    for (k = 0; k < 4; k++) mvin2(&A[16i*K + 16k], a + 16k, 16, 16);
 -> mvin2(&A[16i*K], a, 64, 16);                                 (contiguous columns)

An mvin of C columns fills ceil(C / DIM) blocks spaced by the load's block stride;
g iterations merge when the DRAM address advances by exactly C elements and the
local address by exactly one block group per iteration, and g * C stays within
config.max_mvin_blocks_sp (or _acc) * DIM. With g below the trip count the loop
keeps running with step g.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import ACC_BIT, GemminiConfig
from gemmini.ir import Const, DramAddr, For, Function, Instr

from .base import Application, NotApplicable, Transform, app
from .deps import LOAD_IDS
from .ir_util import const_decls, const_value, eval_expr, get, replace_fn, subst_body, \
    trip_count, walk
from .regions import block_strides


def _analyze(fn: Function, loop: For, config: GemminiConfig):
    """(max merge factor, instr) for a loop whose body is one mergeable mvin, else None."""
    if len(loop.body) != 1 or not isinstance(loop.body[0], Instr) or loop.step != 1:
        return None
    x = loop.body[0]
    if x.op not in LOAD_IDS:
        return None
    t = trip_count(loop)
    if t is None or t < 2:
        return None
    env = dict(const_decls(fn))
    lo = const_value(loop.lo)

    def at(v, e):
        try:
            return eval_expr(e, dict(env, **{loop.var: v}))
        except KeyError:
            return None

    cols, rows = at(lo, x.args[2]), at(lo, x.args[3])
    if cols is None or rows is None or cols % config.dim or \
            any(at(lo + d, x.args[2]) != cols or at(lo + d, x.args[3]) != rows for d in (1,)):
        return None
    l0, l1, l2 = (at(lo + d, x.args[1]) for d in (0, 1, 2 if t > 2 else 1))
    if None in (l0, l1, l2):
        return None
    acc = bool(l0 & ACC_BIT)
    bs = block_strides(fn, config)[LOAD_IDS[x.op]]
    if l1 - l0 != (cols // config.dim) * bs or (t > 2 and l2 - l1 != l1 - l0):
        return None
    if isinstance(x.args[0], DramAddr):
        d0, d1 = at(lo, x.args[0].index), at(lo + 1, x.args[0].index)
        if d0 is None or d1 is None or d1 - d0 != cols:
            return None
    elif const_value(x.args[0]) != 0:
        return None
    limit = (config.max_mvin_blocks_acc if acc else config.max_mvin_blocks_sp) * config.dim
    g = max((g for g in range(1, t + 1) if t % g == 0 and g * cols <= limit), default=1)
    return (g, x) if g > 1 else None


def merge(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Merge ``factor`` consecutive mvins of the loop at the site into one."""
    loop = get(fn.body, a.site)
    if not isinstance(loop, For):
        raise NotApplicable("site is not a loop")
    res = _analyze(fn, loop, config)
    g = a.p.get("factor", 0)
    if res is None or (g and g > res[0]) or (g and trip_count(loop) % g):
        raise NotApplicable("mvins are not mergeable")
    g = g or res[0]
    x = res[1]
    wide = dataclasses.replace(x, args=x.args[:2] + (Const(const_value(x.args[2],
                               const_decls(fn)) * g),) + x.args[3:])
    if g == trip_count(loop):
        return replace_fn(fn, a.site, subst_body((wide,), {loop.var: loop.lo}))
    return replace_fn(fn, a.site, (dataclasses.replace(loop, step=g, body=(wide,)),))


def find_merge(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if isinstance(s, For):
            res = _analyze(fn, s, config)
            if res:
                out.append(app("mvin_merge", path, f"merge {res[0]} consecutive {res[1].op}s of "
                               f"loop {s.var} into one {res[0]}x wider mvin", factor=res[0]))
    return out


TRANSFORMS = [
    Transform("mvin_merge", ("faster_equivalent", "less_data_movement", "loop_overhead"),
              "merge adjacent mvins into wider ones",
              find_merge, merge, ("load", "cpu")),
]
