"""Keeping operands resident in the scratchpad (menu items keep_in_scratchpad,
guarded_loads, less_data_movement).

resident: a load whose source does not depend on an outer loop ``u`` is done only
in the first iteration of ``u`` and guarded with ``if``; its buffer gets a distinct
location for every iteration of the loops between ``u`` and the load that select a
different source, so the loaded tiles survive until they are reused:

    for i { for j { for ko { for k { mvin3(&B[(16k + 64ko)*N + 64j], b + 256ko + 64k, 64, 16); }
                              ... preload(b + 256ko + 64k + 16jj, ...) ... } } }
 -> for i { for j { for ko { if (i == 0) { for k { mvin3(&B[...], b + 1024j + 256ko + 64k, ...); } }
                              ... preload(b + 1024j + 256ko + 64k + 16jj, ...) ... } } }

When the expanded buffer does not fit, the loop ``j`` that needs the copies is
tiled first (``tile=f``: split into jo x f and jo moved outside ``u``), so only f
copies are kept. With no copies needed (e.g. the A row tile inside ``j``), the
load is simply guarded: ``if (j == 0) mvin2(&A[...], a + 64ko, ...)``.

distinct: the same relocation without the guard (menu item distinct_locations): every iteration of
a loop gets its own copy of a buffer, removing false write-after-read dependences.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GemminiConfig
from gemmini.ir import BinOp, Const, Decl, DramAddr, For, Function, If, Instr, Var

from .base import (Application, NotApplicable, Transform, app, bind_locals, sample_values,
                   site_envs, summary_of)
from .deps import LOAD_IDS, row_keys
from .ir_util import (Path, add, children, const_decls, const_value, deep_vars, eval_expr,
                      expr_vars, free_reads, get, instrs, mul, replace, replace_fn, sub,
                      subst_body, trip_count, walk, with_children)
from .loops import interchange, split
from .regions import (bank_rows, bounds, capacity, extents, find_free, find_free_pair, region_of,
                      relocate, used_rows)

MAX_DISTINCT_COPIES = 16    # distinct: inner loop levels are offered up to this many copies


def _load(fn: Function, path: Path, stores: bool = False, copied: bool = True) -> Instr:
    """The DRAM load at ``path`` (or, with ``stores``, an mvout to DRAM: its accumulator
    tile can be copied per iteration just like a load's buffer). A load whose buffer gets
    copies (``copied``, the default) must read an array the kernel does not write: a copy
    loaded ahead could hold bytes a later store changes. Moving the buffer alone
    (``copied=False``) changes no value."""
    x = get(fn.body, path)
    if stores and isinstance(x, Instr) and x.op == "mvout" and isinstance(x.args[0], DramAddr):
        return x
    if not isinstance(x, Instr) or x.op not in LOAD_IDS or not isinstance(x.args[0], DramAddr):
        raise NotApplicable("site is not a load from DRAM")
    written = {i.args[0].array for _, i, _ in instrs(fn.body)
               if i.op == "mvout" and isinstance(i.args[0], DramAddr)}
    if copied and x.args[0].array in written:
        raise NotApplicable(f"array {x.args[0].array} is also written")
    return x


def _between(fn: Function, outer: Path, site: Path) -> list[tuple[Path, For]]:
    out = []
    for n in range(len(outer) + 1, len(site)):
        s = get(fn.body, site[:n])
        if isinstance(s, For):
            out.append((site[:n], s))
    return out


def expand(fn: Function, site: Path, outer: Path, config: GemminiConfig, copies: int = 0,
           bank: int | None = None, only: Path | None = None, apart: bool = False,
           group: bool = False) -> Function:
    """Give the load's buffer a distinct copy per iteration of the loops between ``outer``
    (exclusive) and the load whose variables select its source but not its location.

    ``copies`` 0 = one copy per iteration; 2 = alternate between two copies (double
    buffering; only for a single such loop), one bank apart with ``apart`` (so filling
    one copy does not steal the bank the computes read the other from). The site may
    also be an mvout: the accumulator tile it stores gets the copies. With ``group``, the
    sibling moves of the same array reused across the same loop (the other blocks of an
    unrolled tile) get their copies together with it."""
    x = _load(fn, site, stores=True, copied=False)
    loops = _between(fn, outer, site) if outer != site else []
    vs = deep_vars(fn)
    src_vars = vs(x.args[0])
    dst_vars = deep_vars(fn, skip_mod=True)(x.args[1])     # a copy index does not count
    w = [(p, lp) for p, lp in loops if lp.var in src_vars and lp.var not in dst_vars
         and (only is None or p == only)]
    if not w and bank is None:
        return fn
    if w:
        _load(fn, site, stores=True)        # it gets copies: the stricter check
    ext = extents(fn, config)
    if ext is None:
        raise NotApplicable("local addresses are not analyzable")
    seed = [e for e in ext if e.path == site and e.arg == 1]
    if not seed:
        raise NotApplicable("load writes no local rows")
    region = region_of(ext, seed[0])
    if group and len(w) == 1:
        for path2, x2, p2, _ in reused_buffers(fn):
            if p2 != w[0][0] or path2 == site or x2.op != x.op or \
                    x2.args[0].array != x.args[0].array:
                continue
            for e2 in ext:
                if e2.path == path2 and e2.arg == 1 and e2.space == seed[0].space:
                    region += [e for e in region_of(ext, e2) if e not in region]
    outside = [e for e in region if any(e.path[:len(p)] != p for p, _ in w)]
    if outside:         # the same rows serve other code too: split them off if it can be
        _check_separable(fn, region, outside, config)
        region = [e for e in region if e not in outside]
    lo, hi = bounds(region)
    _check_self_contained(fn, w, seed[0].space, lo, hi, config)
    span = -(-(hi - lo) // config.dim) * config.dim
    if apart:
        if copies != 2 or len(w) != 1:
            raise NotApplicable("bank-apart copies need double buffering over one loop")
        lp = w[0][1]
        stride = bank_rows(config, seed[0].space)
        if span > stride or (trip_count(lp) or 0) < 2:
            raise NotApplicable("the buffer does not fit one bank")
        start = find_free_pair(ext, region, seed[0].space, span, stride, config)
        if start is None:
            raise NotApplicable("no free rows at the same offset in two banks")
        idx = BinOp("%", sub(Var(lp.var), lp.lo), Const(2))
        return relocate(fn, region, add(mul(idx, Const(stride)), Const(start - lo)))
    delta, n = _copy_index(w, copies, span)
    size = span * n
    space = seed[0].space
    start = lo
    packed = None if bank is not None else _packed_stride(ext, region, n, config)
    if packed is not None:      # a region in pieces (copies one bank apart): each piece's
        stride, shift = packed  # copies side by side, in its bank
        return relocate(fn, region, add(_copy_index(w, copies, stride)[0], Const(shift)))
    clash = [e for e in ext if e not in region and e.space == space and e.lo < lo + size
             and lo < e.hi]
    if bank is not None or clash or lo + size > capacity(config, space):
        want = bank * (config.sp_bank_rows if space == "sp" else config.acc_bank_rows) \
            if bank is not None else 0
        start = find_free(ext, region, space, size, config, start=want)
        if start is None:
            raise NotApplicable(f"no room for {size} rows in the {space}")
    delta = add(delta, Const(start - lo))
    if isinstance(delta, Const) and delta.value == 0:
        return fn
    return relocate(fn, region, delta)


def _copy_index(w, copies: int, unit: int):
    """The row offset of an iteration's copy (copies ``unit`` rows apart, one per
    iteration of the loops ``w``, or two alternating), and the number of copies."""
    delta, n = Const(0), 1
    for _p, lp in reversed(w):
        t = trip_count(lp)
        if t is None or lp.step != 1:
            raise NotApplicable(f"loop {lp.var} has no constant trip count")
        idx = sub(Var(lp.var), lp.lo)
        if copies == 2:
            if len(w) != 1:
                raise NotApplicable("double buffering needs exactly one loop")
            idx = BinOp("%", idx, Const(2)) if t > 1 else Const(0)
            t = min(t, 2)
        delta = add(delta, mul(idx, Const(unit * n)))
        n *= t
    return delta, n


def _packed_stride(ext, region, n: int, config: GemminiConfig) -> tuple[int, int] | None:
    """For a region made of separate pieces (say two copies one bank apart): a stride and
    a shift such that ``n`` copies of every piece, side by side from the piece's start
    plus the shift, are free of all other operands and stay in the piece's bank (the
    same shift for every piece, since one offset expression moves them all). None for a
    one-piece region or when no shift fits."""
    space = region[0].space
    pieces: list[list[int]] = []
    for e in sorted(region, key=lambda e: e.lo):
        if pieces and e.lo <= pieces[-1][1]:
            pieces[-1][1] = max(pieces[-1][1], e.hi)
        else:
            pieces.append([e.lo, e.hi])
    if len(pieces) < 2 or n < 2:
        return None
    stride = -(-max(hi - lo for lo, hi in pieces) // config.dim) * config.dim
    per_bank = bank_rows(config, space)
    others = sorted((e.lo, e.hi) for e in ext if e.space == space and e not in region)
    shifts = {0}
    for lo, _ in pieces:            # candidates: a piece moved right after another operand
        bank = lo // per_bank
        shifts |= {-(-hi // config.dim) * config.dim - lo for _, hi in others
                   if bank * per_bank <= hi < (bank + 1) * per_bank}
    for shift in sorted(shifts, key=lambda x: (abs(x), x)):
        spans = [(lo + shift, lo + shift + n * stride) for lo, _ in pieces]
        if all(x // per_bank == (lo // per_bank) and (y - 1) // per_bank == lo // per_bank
               and y <= capacity(config, space) for (x, y), (lo, _) in zip(spans, pieces)) \
                and not any(a < y and x < b for x, y in spans for a, b in others) \
                and all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1)):
            return stride, shift
    return None


def _check_separable(fn, region, outside, config):
    """The operands ``outside`` share rows with the rest of ``region`` but sit in other
    statements (e.g. the remainder tile's copy of the weights): the rest may move to new
    rows when every statement holding region operands writes those rows before reading
    them, so none depends on data another left behind."""
    paths = [e.path for e in region]
    q = paths[0]
    for x in paths[1:]:
        n = 0
        while n < min(len(q), len(x)) and q[n] == x[n]:
            n += 1
        q = q[:n]
    outer_idx = {e.path[len(q)] for e in outside if len(e.path) > len(q)}
    inner_idx = {e.path[len(q)] for e in region if e not in outside and len(e.path) > len(q)}
    if not outer_idx or outer_idx & inner_idx:
        raise NotApplicable("the buffer is shared inside one statement")
    space = region[0].space
    lo, hi = bounds(region)
    rows = set(row_keys(space, lo, hi))
    for idx in outer_idx | inner_idx:
        stmt = get(fn.body, q + (idx,))
        for env in site_envs(fn, q + (idx,)):
            if summary_of(fn, config, (stmt,), env).exposed & rows:
                raise NotApplicable("a statement reads rows of the buffer that another wrote")


def _check_self_contained(fn, w, space, lo, hi, config):
    """Every row of the region read in an iteration of a loop in ``w`` must be written in
    that same iteration (else per-iteration copies would read stale data)."""
    rows = set(row_keys(space, lo, hi))
    for p, lp in w:
        for env in site_envs(fn, p + (0,)) if lp.body else []:
            inst = [summary_of(fn, config, lp.body, dict(env, **{lp.var: v}))
                    for v in sample_values(lp, env)]
            for n, q in enumerate(inst):
                for prev in inst[:n]:
                    if q.exposed & (prev.writes | prev.accs) & rows:
                        raise NotApplicable(f"loop {lp.var} reads rows of the buffer written "
                                            "by an earlier iteration")


def _guard_target(fn: Function, site: Path, outer: Path) -> Path:
    t = site
    while len(t) - 1 > len(outer):
        parent = get(fn.body, t[:-1])
        if isinstance(parent, For) and len(parent.body) == 1:
            t = t[:-1]
        else:
            break
    return t


def _isolate(stmt, rel: Path):
    """``stmt`` keeping only the statements on the way to ``rel`` (and that statement),
    with the scalar declarations before them that they may read."""
    if not rel:
        return stmt
    kids = children(stmt)
    keep = [_isolate(kids[rel[0]], rel[1:])]
    need = free_reads(tuple(keep))
    for k in reversed(kids[:rel[0]]):
        if isinstance(k, Decl) and k.name in need:
            keep.insert(0, k)
            need |= free_reads((k,))
    keep = tuple(keep)
    return with_children(stmt, keep) if not isinstance(stmt, If) \
        else dataclasses.replace(stmt, then=keep, orelse=())


def _check_guard(fn: Function, target: Path, outer: Path, site: Path, config: GemminiConfig):
    u = get(fn.body, outer)
    rel = target[len(outer):]
    only = _isolate(dataclasses.replace(u, body=(u.body[rel[0]],)), (0,) + rel[1:])
    without = replace(u.body, rel, ())
    x = get(fn.body, site)
    overlap = _written_elsewhere(fn, outer, target, site, config)
    for env in site_envs(fn, outer + (0,)):
        vals = sample_values(u, env)
        first = dict(env, **{u.var: vals[0]})
        mine = summary_of(fn, config, only.body, first)
        for v in vals if overlap else ():
            rest = summary_of(fn, config, without, dict(env, **{u.var: v}))
            if (rest.writes | rest.accs) & mine.writes:
                raise NotApplicable("another instruction in the loop overwrites the loaded rows")
        # distinct sources must land in distinct rows
        seen: dict[int, tuple] = {}
        for e in _envs_between(fn, outer, site, first):
            try:
                src = eval_expr(x.args[0].index, e)
                dst = eval_expr(x.args[1], e)
                rows = eval_expr(x.args[3], e) + (-(-eval_expr(x.args[2], e) // config.dim) - 1) \
                    * config.dim
            except KeyError as exc:
                raise NotApplicable(f"cannot evaluate the load: {exc}") from None
            for d0, (s0, r0) in seen.items():
                if s0 != src and d0 < dst + rows and dst < d0 + r0:
                    raise NotApplicable("two different tiles share rows")
            seen[dst] = (src, rows)


def _written_elsewhere(fn, outer: Path, target: Path, site: Path, config) -> bool:
    """Whether any instruction in loop ``outer`` other than those under ``target`` may
    write rows the load at ``site`` writes, going by extents (a cheap first check before
    the enumeration; True when addresses are not analyzable)."""
    ext = extents(fn, config)
    if ext is None:
        return True
    mine = [e for e in ext if e.path == site and e.arg == 1]
    return any(e.kind == "w" and e.path[:len(outer)] == outer and
               e.path[:len(target)] != target and m.space == e.space and
               e.lo < m.hi and m.lo < e.hi for e in ext for m in mine)


def _envs_between(fn, outer, site, env):
    envs = [env]
    for _, lp in _between(fn, outer, site):
        nxt = []
        for e in envs:
            for v in sample_values(lp, e):
                nxt.append(dict(e, **{lp.var: v}))
        envs = nxt[:256]
    for e in envs:
        bind_locals(fn, site, e)
    return envs


def resident(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Load once per value of the loops the source depends on; guard with ``if``."""
    site, outer = a.site, tuple(a.p["guard"])
    tile = a.p.get("tile", 0)
    u = get(fn.body, outer)
    if not isinstance(u, For) or site[:len(outer)] != outer or len(site) <= len(outer):
        raise NotApplicable("guard is not an enclosing loop")
    if a.p.get("hoist"):
        fn, site = _unguard(fn, site, u)
    x = _load(fn, site)
    vs = deep_vars(fn)
    if u.var in vs(x.args[0]) or u.var in vs(x.args[1]):
        raise NotApplicable(f"the load depends on {u.var}")
    if tile:
        w = u.body[0] if len(u.body) == 1 else None
        if not isinstance(w, For):
            raise NotApplicable("tiling needs a perfect nest below the guard loop")
        fn = split(fn, app("split", outer + (0,), "", factor=tile), config)
        fn = interchange(fn, app("interchange", outer, ""), config)
        site = outer + (0,) + site[len(outer):]      # one level deeper: jo > i > ji > ...
        outer = outer + (0,)
    fn = expand(fn, site, outer, config)
    target = _guard_target(fn, site, outer)
    _check_guard(fn, target, outer, site, config)
    if a.p.get("hoist"):
        return _hoist_before(fn, target, outer)
    u = get(fn.body, outer)
    guarded = If(BinOp("==", Var(u.var), u.lo), (get(fn.body, target),))
    return replace_fn(fn, target, (guarded,))


def _hoist_before(fn: Function, target: Path, outer: Path) -> Function:
    """Move the load nest at ``target`` out of loop ``outer``, before it, keeping the
    loops between them (loop fission of the loads, then hoisting the invariant nest)."""
    u = get(fn.body, outer)
    rel = target[len(outer):]
    for n in range(1, len(rel)):
        s = get(fn.body, outer + rel[:n])
        if not isinstance(s, For) or u.var in expr_vars(s.lo) | expr_vars(s.hi):
            raise NotApplicable("the loops around the load are not invariant in "
                                f"{u.var}")
    nest = _isolate(u.body[rel[0]], rel[1:])
    consts = const_decls(fn)
    nest = subst_body((nest,), {k: Const(consts[k]) for k in free_reads((nest,)) if k in consts})[0]
    inner = {s.name for _, s, _ in walk(u.body) if isinstance(s, Decl)} | {u.var}
    if free_reads((nest,)) & inner:
        raise NotApplicable(f"the load reads scalars computed inside loop {u.var}")
    pre = _carried_configs(u, rel, nest)
    fn = replace_fn(fn, target, ())
    return replace_fn(fn, outer, pre + (nest, get(fn.body, outer)))


def _carried_configs(u: For, rel: Path, nest) -> tuple:
    """The load configurations the hoisted loads need: for each load state the nest uses,
    the configuration governing the load inside ``u`` (the last one of that state before
    it, at the top of ``u``'s body) when that state is configured inside ``u`` at all.
    Issuing it before the loop is harmless when every iteration configures the state
    again before its first move of that state (checked); otherwise refused."""
    ids = {LOAD_IDS[x.op] for _, x, _ in instrs((nest,)) if x.op in LOAD_IDS}
    out = []
    for idv in sorted(ids):
        def mine(x, idv=idv):
            if not isinstance(x, Instr):
                return False
            if x.op == "config_ld":
                return (const_value(x.args[4]) if x.args[4] is not None else 0) == idv
            return x.op in LOAD_IDS and LOAD_IDS[x.op] == idv
        seq = [(p, x) for p, x, _ in walk(u.body) if mine(x)]
        if not any(x.op == "config_ld" for _, x in seq):
            continue                     # configured outside the loop: unchanged there
        first = seq[0]
        if first[1].op != "config_ld" or len(first[0]) != 1:
            raise NotApplicable(f"load state {idv} is configured inside loop {u.var} "
                                "after its first use")
        gov = [x for p, x in seq if x.op == "config_ld" and len(p) == 1 and p < rel]
        if not gov or any(u.var in expr_vars(a) for a in gov[-1].args if a is not None) or \
                any(len(p) > 1 and p < rel for p, x in seq if x.op == "config_ld"):
            raise NotApplicable(f"the configuration of load state {idv} governing the "
                                "hoisted loads is not known")
        out.append(gov[-1])
    return tuple(out)


def find_resident(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    ext = extents(fn, config)
    if ext is None:
        return out
    vs = deep_vars(fn)
    located = deep_vars(fn, skip_mod=True)
    for path, x, _loops in instrs(fn.body):
        if x.op not in LOAD_IDS or not isinstance(x.args[0], DramAddr):
            continue
        xv = vs(x.args[0]) | vs(x.args[1]) | _guarded_vars(fn, path)
        for depth in range(len(path) - 1):
            outer = path[:depth + 1]
            u = get(fn.body, outer)
            if not isinstance(u, For) or (trip_count(u) or 0) < 2:
                continue
            if u.var in xv:
                if _unguard(fn, path, u)[1] != path and \
                        u.var not in vs(x.args[0]) | vs(x.args[1]):
                    out.append(app("resident", path, f"load the {x.op} of {x.args[0].array} "
                                   f"guarded by {u.var} == {_lo(u)} once before loop {u.var} "
                                   "instead (fission and hoist)", guard=outer, hoist=True,
                                   unguard=True))
                continue
            need = 1
            w = [lp for _, lp in _between(fn, outer, path)
                 if lp.var in vs(x.args[0]) and lp.var not in located(x.args[1])]
            for lp in w:
                need *= trip_count(lp) or 1
            seed = [e for e in ext if e.path == path and e.arg == 1]
            if not seed:
                continue
            size = used_rows(region_of(ext, seed[0]), seed[0].space)
            free = capacity(config, seed[0].space) - used_rows(ext, seed[0].space) + size
            what = f"{x.op} of {x.args[0].array}"
            if need * size <= free:
                out.append(app("resident", path, f"load {what} only when {u.var} == "
                               f"{_lo(u)} and keep {need} copies resident", guard=outer))
                out.append(app("resident", path, f"load {what} once before loop {u.var} "
                               f"(fission and hoist) and keep {need} copies resident",
                               guard=outer, hoist=True))
            elif len(u.body) == 1 and isinstance(u.body[0], For) and u.body[0] in w:
                inner = u.body[0]
                t = trip_count(inner) or 1
                for f in sorted((f for f in range(2, t) if t % f == 0), reverse=True):
                    if f * (need // t) * size <= free:
                        out.append(app("resident", path, f"tile loop {inner.var} by {f}, move "
                                       f"its outer part outside {u.var}, then load {what} only "
                                       f"when {u.var} == {_lo(u)}", guard=outer, tile=f))
                        break
    return out


def _unguard(fn: Function, site: Path, u: For) -> tuple[Function, Path]:
    """Drop the ``if (u.var == lo)`` around the load at ``site`` (a guard that residency
    placed: the load alone in its branch), so the load can be hoisted out of ``u``
    instead; returns the program and the load's new path (unchanged when no such if)."""
    for n in range(len(site) - 1, 0, -1):
        s = get(fn.body, site[:n])
        if isinstance(s, For):
            if s is u or s.var == u.var:
                break
            continue
        if isinstance(s, If) and not s.orelse and len(s.then) == 1 and \
                s.cond == BinOp("==", Var(u.var), u.lo):
            return replace_fn(fn, site[:n], s.then), site[:n] + site[n + 1:]
    return fn, site


def _lo(u: For):
    v = const_value(u.lo)
    return v if v is not None else "lo"


def _guarded_vars(fn, path) -> set[str]:
    """Loop variables already tested by an enclosing ``if``."""
    out: set[str] = set()
    for n in range(1, len(path)):
        s = get(fn.body, path[:n])
        if isinstance(s, If):
            out |= expr_vars(s.cond)
    return out


def distinct(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """One copy of the load's buffer per iteration of the loops that select its source."""
    new = expand(fn, a.site, tuple(a.p["outer"]), config)
    if new == fn:
        raise NotApplicable("buffer already distinct")
    return new


def reused_buffers(fn: Function):
    """(path, instruction, loop path, loop) for every DRAM load (or mvout) whose DRAM
    address moves with an enclosing loop (of more than one iteration) while its local
    buffer does not."""
    vs = deep_vars(fn)
    for path, x, _loops in instrs(fn.body):
        if x.op not in (*LOAD_IDS, "mvout") or not isinstance(x.args[0], DramAddr):
            continue
        for depth in range(len(path) - 1):
            p = path[:depth + 1]
            lp = get(fn.body, p)
            if isinstance(lp, For) and lp.var in vs(x.args[0]) and \
                    lp.var not in vs(x.args[1]) and (trip_count(lp) or 0) > 1:
                yield path, x, p, lp


def find_distinct(fn: Function, config: GemminiConfig) -> list[Application]:
    """For each reused buffer: copies across every loop that reuses it (the outermost
    level), and across the innermost such loops only, at each level that needs at most
    `MAX_DISTINCT_COPIES` copies (e.g. one per kernel row inside an output tile)."""
    out = []
    levels: dict = {}
    for path, _x, p, lp in reused_buffers(fn):
        levels.setdefault(path, []).append((p, lp))
    for path, loops in levels.items():
        x = get(fn.body, path)
        offered = [(len(loops) - 1, loops[0])]
        copies = 1
        for n, (p, lp) in enumerate(reversed(loops[1:])):
            copies *= trip_count(lp) or 1
            if copies > MAX_DISTINCT_COPIES:
                break
            offered.append((n, (p, lp)))
        for n, (p, lp) in offered:
            inner = "and the loops inside it " if n else ""
            out.append(app("distinct", path, f"give each iteration of loop {lp.var} {inner}"
                           f"its own copy of the {x.op} buffer", outer=p[:-1]))
    return out


def resident_all(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Apply the best residency to every load, largest loads first (B before A). With
    ``hoist``, the largest stays guarded (its loads stream in during the first pass) and
    the others are hoisted before their loop, ready to be prefetched by ``interleave``."""
    done = 0
    for _ in range(8):
        apps = [x for x in find_resident(fn, config) if not x.p.get("unguard")]
        want_hoist = bool(a.p.get("hoist")) and done > 0
        apps.sort(key=lambda x: (_load_bytes(fn, x.site), bool(x.p.get("hoist")) == want_hoist,
                                 len(x.p["guard"])), reverse=True)
        for x in apps:
            try:
                fn = resident(fn, x, config)
                done += 1
                break
            except NotApplicable:
                continue
        else:
            break
    if not done:
        raise NotApplicable("no load can be made resident")
    return fn


def _load_bytes(fn: Function, path: Path) -> int:
    n = 1
    for p in range(1, len(path)):
        s = get(fn.body, path[:p])
        if isinstance(s, For):
            n *= trip_count(s) or 1
    x = get(fn.body, path)
    return n * (const_value(x.args[2]) or 1) * (const_value(x.args[3]) or 1)


def find_resident_all(fn: Function, config: GemminiConfig) -> list[Application]:
    if len({a.site for a in find_resident(fn, config)}) < 2:
        return []
    return [app("resident_all", (), "keep every re-loaded operand resident: load each tile "
                "once, guarded by if on the loops it does not depend on"),
            app("resident_all", (), "keep every re-loaded operand resident: the largest "
                "guarded by if, the others hoisted before the loops they do not depend on",
                hoist=True)]


TRANSFORMS = [
    Transform("resident_all", ("keep_in_scratchpad", "guarded_loads", "less_data_movement"),
              "keep every re-loaded operand resident",
              find_resident_all, resident_all, ("load",)),
    Transform("resident", ("keep_in_scratchpad", "guarded_loads", "less_data_movement"),
              "load a tile once and keep it resident, guarding the "
              "load with if", find_resident, resident, ("load",)),
    Transform("distinct", ("distinct_locations",),
              "place each iteration's data at a distinct scratchpad location",
              find_distinct, distinct, ("load", "overlap")),
]
