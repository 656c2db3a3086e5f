"""Weights held in the array across the iterations of an outer loop (menu items
faster_equivalent, reorder_loops, less_data_movement).

A convolution's preloaded weight block is the same for every output row and image,
but Exo's mapping loops over the rows outside the weight blocks, so every compute
preloads its weights again and feeds a full DIM-row block even when the row has fewer
pixels (14 of 16 on conv_16x16x256: 16 cycles for 14 rows). ``hold_weights`` moves a
loop ``L`` whose iterations share the weights of a preload / compute pair (the
preload's B does not depend on ``L``) down to the pair, then preloads the weights once
and runs the other iterations with ``compute_accumulated`` (`weights.reuse_weights`),
which read no B and stream only their A rows (`gemmini.timing`: max(A rows,
``feed_min_rows``) rows):

    for b { LOAD_IN(b); for k { for j { preload(W(k, j), C(b, j)); compute(A(b, k)) } } }
 -> for b { LOAD_IN(b) }
    for k { for j { preload(W(k, j), C(0, j)); compute_preloaded(A(0, k))
                    for b = 1.. { preload(GARBAGE, C(b, j)); compute_accumulated(A(b, k)) } } }

The way down is `sink.sink` (fission and interchange, each with its own dependence
check); the held weights stay valid because after the sinking ``L``'s body is the pair
alone and its output is in the accumulator (checked), so nothing in ``L`` writes the
scratchpad rows the weights came from.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import ACC_BIT, GARBAGE_ADDR, GemminiConfig
from gemmini.ir import Assign, Const, Decl, FloatConst, For, Function, Instr

from .base import Application, NotApplicable, Transform, app
from .ir_util import (Path, deep_vars, get, replace_fn, subst_body, trip_count,
                      walk)
from .loops import fission
from .regions import instr_ranges, interval
from .sink import sink
from .weights import reuse_weights


def _is_pair(body, c: int) -> bool:
    """Is ``body[c]`` a preload of real weights followed by its compute_preloaded?"""
    p = body[c] if c < len(body) else None
    q = body[c + 1] if c + 1 < len(body) else None
    return isinstance(p, Instr) and p.op == "preload" and p.args[0] != Const(GARBAGE_ADDR) \
        and isinstance(q, Instr) and q.op == "compute_preloaded"


def _output_in_accumulator(fn: Function, site: Path) -> bool:
    """Does the preload at ``site`` name an accumulator C for every value of its operands
    (then its compute writes no scratchpad row, least of all the weights')?"""
    for path, _, rng, _ in instr_ranges(fn):
        if path == site:
            iv = interval(get(fn.body, site).args[1], rng)
            return iv is not None and iv[0] >= ACC_BIT and iv[1] < GARBAGE_ADDR
    return False


def hold_weights(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Sink the loop ``a.p["depth"]`` levels down the site's path to the preload / compute
    pair at the site, then hold the pair's weights across it (module docstring)."""
    site, depth = a.site, a.p["depth"]
    loop = get(fn.body, site[:depth]) if 0 < depth < len(site) else None
    body = get(fn.body, site[:-1]).body if len(site) > 1 else ()
    if not isinstance(loop, For) or not _is_pair(body, site[-1]):
        raise NotApplicable("site is no preload / compute pair inside the loop")
    if (trip_count(loop) or 0) < 2:
        raise NotApplicable(f"loop {loop.var} has no constant trip count of 2 or more")
    if loop.var in deep_vars(fn)(get(fn.body, site).args[0]):
        raise NotApplicable(f"the weights depend on loop {loop.var}")
    if not _output_in_accumulator(fn, site):
        raise NotApplicable("the pair's output is not (provably) in the accumulator")

    def arrived(lp: For, c: int) -> bool:
        return isinstance(lp.body[c], Instr)    # the pairs are in this loop's own body
    fn, path, _ = sink(fn, site[:depth], site, config, arrived)
    fn = _inline_decls(fn, path)
    lp = get(fn.body, path)
    cuts = _segments(lp.body)
    for at in reversed(cuts[1:]):               # one loop per pair and per other run
        fn = fission(fn, app("fission", path, "", at=at), config)
    vs = deep_vars(fn)
    held = 0
    for k in reversed(range(len(cuts))):        # last first: earlier paths stay valid
        where = path[:-1] + (path[-1] + k,)
        seg = get(fn.body, where)
        if _is_pair(seg.body, 0) and len(seg.body) == 2 and \
                seg.var not in vs(seg.body[0].args[0]) and \
                _output_in_accumulator(fn, where + (0,)):
            fn = reuse_weights(fn, app("reuse_weights", where, ""), config)
            held += 1
    if not held:
        raise NotApplicable("no pair keeps its weights across the loop")
    return fn


def _segments(body) -> list[int]:
    """Start indices of the pieces of ``body``: each preload / compute pair alone, and
    each run of other statements."""
    cuts, c = [], 0
    while c < len(body):
        cuts.append(c)
        if _is_pair(body, c):
            c += 2
            continue
        while c < len(body) and not _is_pair(body, c):
            c += 1
    return cuts


def _inline_decls(fn: Function, path: Path) -> Function:
    """The loop at ``path`` with its body's scalar locals (never assigned) substituted
    into the statements after them, so that its body splits into loops freely."""
    lp = get(fn.body, path)
    body = list(lp.body)
    assigned = {x.name for _, x, _ in walk(tuple(body)) if isinstance(x, Assign)}
    out = []
    while body:
        s = body.pop(0)
        if isinstance(s, Decl) and s.init is not None and s.name not in assigned and \
                not isinstance(s.init, FloatConst):
            body = list(subst_body(tuple(body), {s.name: s.init}))
        else:
            out.append(s)
    return replace_fn(fn, path, (dataclasses.replace(lp, body=tuple(out)),))


def find_hold_weights(fn: Function, config: GemminiConfig) -> list[Application]:
    """For each body holding preload / compute pairs, each enclosing loop (of 2 or more
    trips) that some pair's weights do not depend on while its A or C does; the site is
    the first such pair."""
    vs = deep_vars(fn)
    out = []
    for path, s, _ in walk(fn.body):
        if not isinstance(s, For):
            continue
        pairs = [c for c in range(len(s.body)) if _is_pair(s.body, c)]
        for depth in range(1, len(path) + 1):
            lp = get(fn.body, path[:depth])
            if not isinstance(lp, For) or (trip_count(lp) or 0) < 2:
                continue
            for c in pairs:
                p, q = s.body[c], s.body[c + 1]
                if lp.var not in vs(p.args[0]) and lp.var in vs(p.args[1]) | vs(q.args[0]):
                    out.append(app("hold_weights", path + (c,), f"move loop {lp.var} down to "
                                   f"the preloads in loop {s.var} and hold their weights "
                                   f"across its {trip_count(lp)} iterations "
                                   "(compute_accumulated)", depth=depth))
                    break
    return out


TRANSFORMS = [
    Transform("hold_weights", ("faster_equivalent", "reorder_loops", "less_data_movement"),
              "hold a preloaded weight block in the array across the iterations of an outer "
              "loop (moved down to the pair) with compute_accumulated",
              find_hold_weights, hold_weights, ("execute",)),
]
