"""Reuse of loaded operands across several iterations of an outer loop (unroll-and-jam
of the loop past the loads it does not depend on; menu items less_data_movement,
keep_in_scratchpad, tiling).

A convolution streams its weights once per output row: the loop ``orow`` encloses
the weight loads although their source does not depend on ``orow``. ``row_reuse``
tiles such a loop by ``f`` and sinks the inner part (``orow_i``) down to the loads,
so one load of a weight block serves ``f`` output rows, each with its own copy of the
rows it accumulates (in the accumulator) and of its input rows:

    for orow { BIAS(orow); for krow { for kcol { LOAD_W; LOAD_IN(orow); COMPUTE(orow) } };
               STORE(orow) }
 -> for orow_o { for orow_i { BIAS(orow) }
                 for krow { for kcol { LOAD_W; for orow_i { LOAD_IN(orow); COMPUTE(orow) } } }
                 for orow_i { STORE(orow) } }

It is a composition of the checked rewrites of this package: `loops.split`; a copy per
``orow_i`` of the buffers whose source or destination moves with it
(`residency.expand`); at each level on the way to the loads, `loops.fission` (the
statement on the path alone) and `loops.interchange`; then residency of the invariant
loads, hoisted before ``orow_i`` (`residency.resident` with ``hoist``). Each step runs
its own legality check, so the composition is legal when every step is. The factor is
bounded by the accumulator's capacity (the copies of the output tile must fit, from the
config); the copies of the output tile are what "several rows held in the accumulator"
means here.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GemminiConfig
from gemmini.ir import Const, Decl, DramAddr, For, Function, Instr

from .base import Application, NotApplicable, Transform, app
from .buffering import is_load_stmt
from .deps import LOAD_IDS
from .ir_util import (Path, children, const_decls, deep_vars, get, instrs, map_stmts, subst_body,
                      trip_count, walk)
from .loops import split
from .regions import capacity, extents, region_of, used_rows
from .residency import expand, resident
from .sink import sink

MAX_REUSE_FACTOR = 8     # rows sharing one load of the invariant operand


def _inside(path: Path, loop: Path) -> bool:
    return len(path) > len(loop) and path[:len(loop)] == loop


def _moves(fn: Function, loop: Path, var: str):
    """(invariant loads, loads and stores whose DRAM address moves with ``var``) inside
    the loop at ``loop``: the sites, by their instruction."""
    vs = deep_vars(fn)
    invariant, moving = [], []
    for path, x, _ in instrs(fn.body):
        if not _inside(path, loop) or not x.args or not isinstance(x.args[0], DramAddr):
            continue
        if x.op in LOAD_IDS:
            (moving if var in vs(x.args[0]) else invariant).append(path)
        elif x.op == "mvout" and var in vs(x.args[0]):
            moving.append(path)
    return invariant, moving


def row_reuse(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Tile the loop at the site by ``factor`` and sink the inner loop to the loads that do
    not depend on it (see the module docstring)."""
    f = a.p["factor"]
    fn, site = _inline_consts(fn, a.site)      # constant buffer bases: perfect nests
    a = dataclasses.replace(a, site=site)
    loop = get(fn.body, a.site)
    if not isinstance(loop, For):
        raise NotApplicable("site is not a loop")
    t = trip_count(loop)
    if t is None or f < 2 or t % f:
        raise NotApplicable(f"loop {loop.var}: factor {f} does not divide its trip count")
    if f < t:
        fn = split(fn, app("split", a.site, "", factor=f), config)
        outer, inner_path = a.site, a.site + (0,)
    else:                               # every iteration shares one load
        outer, inner_path = a.site[:-1], a.site
    var = get(fn.body, inner_path).var
    invariant, moving = _moves(fn, inner_path, var)
    if not invariant or not moving:
        raise NotApplicable(f"nothing loaded inside loop {loop.var} is independent of it")
    for site in moving:                 # a copy per inner iteration (acc tile, inputs)
        fn = expand(fn, site, outer, config, only=inner_path)
    target = max(invariant, key=lambda p: _load_weight(fn, p))
    return _sink(fn, inner_path, target, config)


def _inline_consts(fn: Function, site: Path) -> tuple[Function, Path]:
    """Inline the constant scalars (buffer bases) and drop their declarations; the program
    and the path of the statement at ``site`` in it."""
    consts = const_decls(fn)
    if not consts:
        return fn, site

    def dropped(s) -> bool:
        return isinstance(s, Decl) and s.name in consts
    new, body = [], fn.body
    for idx in site:
        new.append(idx - sum(dropped(s) for s in body[:idx]))
        body = children(body[idx])
    body = map_stmts(fn.body, lambda s: () if dropped(s) else None)
    body = subst_body(body, {k: Const(v) for k, v in consts.items()})
    return dataclasses.replace(fn, body=body), tuple(new)


def _sink(fn: Function, path: Path, target: Path, config: GemminiConfig) -> Function:
    """Move the loop at ``path`` inward along the way to the load at ``target`` (`sink.sink`)
    until the statement on the way only loads; then load it once, before the loop."""
    fn, path, target = sink(fn, path, target, config,
                            lambda loop, c: is_load_stmt(loop.body[c]))
    return resident(fn, app("resident", target, "", guard=path, hoist=True), config)


def _load_weight(fn: Function, path: Path) -> int:
    """Bytes one execution of the nest enclosing ``path`` loads (trip counts times size)."""
    n = 1
    for p in range(1, len(path)):
        s = get(fn.body, path[:p])
        if isinstance(s, For):
            n *= trip_count(s) or 1
    x: Instr = get(fn.body, path)
    cols = x.args[2].value if hasattr(x.args[2], "value") else 1
    rows = x.args[3].value if hasattr(x.args[3], "value") else 1
    return n * cols * rows


def find_row_reuse(fn: Function, config: GemminiConfig) -> list[Application]:
    """Loops (of more than one trip) that enclose both a load that does not depend on them
    and an mvout that does, with every factor that divides the trip count and whose
    copies of the stored accumulator tile fit the accumulator."""
    out = []
    ext = extents(fn, config)
    if ext is None:
        return out
    for path, s, _ in _loops(fn):
        t = trip_count(s)
        if t is None or t < 2 or s.step != 1:
            continue
        invariant, moving = _moves(fn, path, s.var)
        stores = [p for p in moving if get(fn.body, p).op == "mvout"]
        if not invariant or not stores:
            continue
        seeds = [e for e in ext if e.path == stores[0] and e.arg == 1]
        if not seeds or seeds[0].space != "acc":
            continue
        tile = used_rows(region_of(ext, seeds[0]), "acc")
        free = capacity(config, "acc") - used_rows(ext, "acc") + tile
        for f in range(min(t, MAX_REUSE_FACTOR), 1, -1):
            if t % f == 0 and f * tile <= free:
                out.append(app("row_reuse", path, f"tile loop {s.var} by {f} and load what "
                               f"does not depend on it once for {f} iterations, each with its "
                               "own accumulator tile", factor=f))
    return out


def _loops(fn: Function):
    for path, s, loops in walk(fn.body):
        if isinstance(s, For):
            yield path, s, loops


TRANSFORMS = [
    Transform("row_reuse", ("less_data_movement", "keep_in_scratchpad", "tiling"),
              "reuse loaded operands across several iterations of an outer loop, each "
              "iteration with its own accumulator tile", find_row_reuse, row_reuse, ("load",)),
]
