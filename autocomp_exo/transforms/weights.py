"""Reusing weights across row tiles (menu item faster_equivalent: the pairs after the
first read no B from the scratchpad, which saves a bank conflict with A or the
rows of short A blocks, not DRAM traffic; `gemmini.timing` prices it).

    for (ii = 0; ii < 4; ii++) {
      preload(b + 16k, c + 64ii | ACC, 16, 16, 16, 16);
      compute_preloaded(a + 64ii, GARBAGE, 16, 16, 16, 16);
    }
 -> preload(b + 16k, c | ACC, 16, 16, 16, 16);
    compute_preloaded(a, GARBAGE, 16, 16, 16, 16);
    for (ii = 1; ii < 4; ii++) {
      preload(GARBAGE, c + 64ii | ACC, 16, 16, 16, 16);     (C only: the weights stay)
      compute_accumulated(a + 64ii, GARBAGE, 16, 16, 16, 16);
    }

Applies to a loop whose body is one preload / compute_preloaded pair whose
weights do not depend on the loop variable.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GARBAGE_ADDR, GemminiConfig
from gemmini.ir import Const, For, Function, Instr

from .base import Application, NotApplicable, Transform, app
from .ir_util import add, expr_vars, get, replace_fn, subst_body, trip_count, walk


def _pair(loop) -> tuple[Instr, Instr] | None:
    if not isinstance(loop, For) or len(loop.body) != 2:
        return None
    p, c = loop.body
    if isinstance(p, Instr) and isinstance(c, Instr) and p.op == "preload" and \
            c.op == "compute_preloaded" and loop.var not in expr_vars(p.args[0]) and \
            p.args[0] != Const(GARBAGE_ADDR):
        return p, c
    return None


def reuse_weights(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Preload the weights once and run the other row tiles with compute_accumulated."""
    loop = get(fn.body, a.site)
    pair = _pair(loop)
    t = trip_count(loop) if isinstance(loop, For) else None
    if pair is None or t is None or t < 2:
        raise NotApplicable("loop body is not one preload/compute pair with fixed weights")
    p, c = pair
    first = subst_body((p, c), {loop.var: loop.lo})
    p2 = dataclasses.replace(p, args=(Const(GARBAGE_ADDR),) + p.args[1:])
    c2 = dataclasses.replace(c, op="compute_accumulated")
    rest = dataclasses.replace(loop, lo=add(loop.lo, Const(loop.step)), body=(p2, c2))
    return replace_fn(fn, a.site, first + (rest,))


def find_reuse_weights(fn: Function, config: GemminiConfig) -> list[Application]:
    return [app("reuse_weights", path, f"preload the weights once and reuse them across the "
                f"{trip_count(s)} iterations of loop {s.var} with compute_accumulated")
            for path, s, _ in walk(fn.body) if _pair(s) and (trip_count(s) or 0) >= 2]


TRANSFORMS = [
    Transform("reuse_weights", ("faster_equivalent",),
              "reuse preloaded weights across row tiles",
              find_reuse_weights, reuse_weights, ("execute",)),
]
