"""Double buffering, bank placement and software pipelining (menu items
double_buffer, distinct_locations, pipeline).

double_buffer  ``for i { mvin2(&A[16i..], a + 64ko, ...); ... compute(a + 64ko + 16k, ...) }``
            -> ``for i { mvin2(&A[16i..], a2 + 1024*(i % 2) + 64ko, ...); ... }``
               (two copies alternate, so the load for i+1 need not wait for the
               computes of i to finish reading the buffer); ``apart`` puts the copies
               one bank apart, so filling one does not steal the other's bank cycles.
               An mvout site double-buffers its accumulator tile the same way.
bank        moves a buffer to the start of another scratchpad bank, so A and B are
            fed from different banks and DMA writes do not steal execute reads
interleave  ``for v { for x { LOAD(v, x) } for y { WORK(v, y) } }``
         -> ``LOAD(lo); for v { for y { WORK(v, y); if (v + 1 < hi) LOAD(v + 1, y) } }``
            (the next iteration's loads are spread over the current work loop, so the
            CPU never waits on a full load queue while the execute engine starves)
pipeline    ``for i { LOAD(i); WORK(i) }``
         -> ``LOAD(lo); for i { if (i + 1 < hi) LOAD(i + 1); WORK(i) }``
            (the next iteration's load is issued before the current computes; needs
            LOAD(i + 1) independent of WORK(i), i.e. a double-buffered destination)
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GemminiConfig
from gemmini.ir import BinOp, Const, Decl, DramAddr, For, Function, If, Instr, Var

from .base import (Application, Dependent, NotApplicable, Transform, app, require_independent,
                   sample_values, site_envs, summary_of)
from .deps import LOAD_IDS, scalar_carried
from .loops import fission, fuse
from .ir_util import add, all_names, deep_vars, free_reads, fresh, get, instrs, mul, replace_fn, \
    scalar_writes, sub, subst_body, trip_count, walk
from .regions import bounds, extents, region_of
from .residency import expand, find_resident, reused_buffers

MIN_REUSE = 4           # a load repeated this often is left to residency, not streamed
MAX_INTERLEAVES = 8     # interleave_all: loops rewritten at most


def double_buffer(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Alternate the load's buffer between two copies across iterations of ``loop`` (with
    the buffers of its sibling moves of the same array, e.g. every block of a tile)."""
    loop_path = tuple(a.p["loop"])
    apart = a.p.get("apart", False)
    try:
        new = expand(fn, a.site, loop_path[:-1], config, copies=2, only=loop_path,
                     apart=apart, group=True)
    except NotApplicable:
        if not (apart and get(fn.body, a.site).op == "mvout"):
            raise
        # an accumulator tile with no room one bank apart: double-buffered in place
        new = expand(fn, a.site, loop_path[:-1], config, copies=2, only=loop_path,
                     group=True)
    if new == fn:
        raise NotApplicable("nothing to double-buffer")
    return new


def find_double_buffer(fn: Function, config: GemminiConfig) -> list[Application]:
    """Each reused buffer double-buffered across each loop that reuses it, in place and
    with the copies one bank apart. An accumulator tile (an mvout site) is offered once
    per loop: across the innermost such loop one accumulator bank apart (in place when
    there is no room: the copies in two banks are never slower, the zeroing and mvouts
    of one no longer pass through the port of the bank the array writes), across an
    outer one in place (the tiles of consecutive inner iterations would share a bank
    anyway)."""
    out = []
    found = list(reused_buffers(fn))
    innermost = {path: p for path, _x, p, _lp in found}     # yielded outermost first
    for path, x, p, lp in found:
        what = f"double-buffer the {x.op} of {x.args[0].array} across loop {lp.var}"
        if x.op == "mvout":
            if innermost[path] == p:
                out.append(app("double_buffer", path, what + ", the two copies in "
                               "different accumulator banks", loop=p, apart=True))
            else:
                out.append(app("double_buffer", path, what, loop=p))
            continue
        out.append(app("double_buffer", path, what, loop=p))
        out.append(app("double_buffer", path, what + ", the two copies in different "
                       "scratchpad banks", loop=p, apart=True))
    return out


def bank(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Move the load's buffer to (the first free rows from) bank ``bank``."""
    new = expand(fn, a.site, a.site, config, bank=a.p["bank"])
    if new == fn:
        raise NotApplicable("buffer already there")
    return new


def _bank_of(lo: int, config: GemminiConfig) -> int:
    return lo // config.sp_bank_rows


def find_bank(fn: Function, config: GemminiConfig) -> list[Application]:
    ext = extents(fn, config)
    if ext is None:
        return []
    out = []
    loads = [(p, x) for p, x, _ in instrs(fn.body)
             if x.op in LOAD_IDS and isinstance(x.args[0], DramAddr)]
    banks_by_load = {}
    for p, _x in loads:
        seed = [e for e in ext if e.path == p and e.arg == 1 and e.space == "sp"]
        if seed:
            lo, hi = bounds(region_of(ext, seed[0]))
            banks_by_load[p] = (set(range(_bank_of(lo, config), _bank_of(hi - 1, config) + 1)),
                                hi - lo)
    for p, x in loads:
        if p not in banks_by_load:
            continue
        mine, size = banks_by_load[p]
        others = set().union(*(b for q, (b, _) in banks_by_load.items() if q != p)) \
            if len(banks_by_load) > 1 else set()
        if not mine & others:
            continue
        for b in range(config.sp_banks):
            if b not in others and b not in mine and size <= config.sp_bank_rows * (
                    config.sp_banks - b):
                out.append(app("bank", p, f"move the {x.op} buffer of {x.args[0].array} to "
                               f"scratchpad bank {b} (it shares a bank with another operand)",
                               bank=b))
    return out


def pipeline(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Issue the load at the head of the loop body one iteration ahead."""
    loop = get(fn.body, a.site)
    if not isinstance(loop, For) or loop.step != 1:
        raise NotApplicable("site is not a unit-step loop")
    n = a.p.get("count", 1)
    head, rest = loop.body[:n], loop.body[n:]
    if not head or not rest or not all(is_load_stmt(s) for s in head):
        raise NotApplicable("loop does not start with loads")
    if scalar_carried(loop.body) or any(scalar_writes(s) for s in head):
        raise NotApplicable("loop-carried scalars")
    t = trip_count(loop)
    if t is None or t < 2:
        raise NotApplicable("trip count unknown or too small")
    nxt = add(Var(loop.var), Const(1))
    ahead = subst_body(head, {loop.var: nxt})
    for env in site_envs(fn, a.site + (0,)):
        for v in sample_values(loop, env)[:-1]:
            e = dict(env, **{loop.var: v})
            work = summary_of(fn, config, rest, e)
            load_next = summary_of(fn, config, ahead, e)
            require_independent(work, load_next, f"loads of iteration {v + 1} vs work of {v}")
    prologue = subst_body(head, {loop.var: loop.lo})
    guard = If(BinOp("<", nxt, loop.hi), ahead)
    new_loop = dataclasses.replace(loop, body=(guard,) + rest)
    return replace_fn(fn, a.site, prologue + (new_loop,))


def interleave(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Software pipelining at the granularity of a work loop: the load loop of iteration
    v + 1 is spread over the iterations of the work loop of iteration v. When the next
    loads would overwrite rows the current work still reads, the loaded buffers are
    first double-buffered across the loop (modulo variable expansion), one bank apart
    when there is room. Load loops with the same bounds next to the chosen one are fused
    into it first, so one prefetch covers them all (zeroing the accumulator tile and
    loading A, say). ``wrap = n`` first wraps the ``n`` load statements from ``load`` in
    a loop that runs once, so bare loads (one mvin of a whole tile) are prefetched too."""
    fn, a = _wrap_loads(fn, a)
    fn, a = _split_leading_loads(fn, a, config)
    fn, a = _gather_loads(fn, a, config)
    try:
        return _interleave(fn, a, config)
    except Dependent as exc:
        first = exc
    loop_path = tuple(a.site)
    load_root = loop_path + (a.p["load"],)
    sites = [load_root + p[1:] for p, x, _ in instrs((get(fn.body, load_root),))
             if x.op in LOAD_IDS and isinstance(x.args[0], DramAddr)]
    if _fills_accumulator(fn, load_root, config):
        # zeroed (or bias) accumulator tiles get their copies through the mvouts
        # that store them
        sites += [loop_path + p for p, x, _ in instrs(get(fn.body, loop_path).body)
                  if x.op == "mvout"]
    # a buffer whose address already alternates with the loop (``512 * (i % 2)``: a tile
    # double-buffered before) has its two copies; expanding it again would not fit
    var = get(fn.body, loop_path).var
    sites = [q for q in sites if var not in deep_vars(fn)(get(fn.body, q).args[1])]
    for apart in (True, False):
        new = fn
        try:
            for site in sites:
                new = expand(new, site, loop_path[:-1], config, copies=2, only=loop_path,
                             apart=apart)
            return _interleave(new, a, config)
        except NotApplicable:
            continue
    raise first


def _leading_loads(W) -> int:
    """How many statements at the top of loop ``W``'s body only load (scalar declarations
    among them included, those right before the first other statement excluded); 0 when
    none of them loads."""
    m = 0
    while m < len(W.body) and (is_load_stmt(W.body[m]) or isinstance(W.body[m], Decl)):
        m += 1
    while m > 0 and isinstance(W.body[m - 1], Decl):
        m -= 1
    return m if any(is_load_stmt(x) for x in W.body[:m]) else 0


def _nest_loads(fn: Function, path: tuple) -> list[tuple]:
    """Paths of the statements ``_split_loads_off`` would split off the loop at ``path``:
    its leading loads, or those of the one loop its body nests; [] when there are none."""
    W = get(fn.body, path)
    if not isinstance(W, For):
        return []
    m = _leading_loads(W)
    if 0 < m < len(W.body):
        return [path + (i,) for i in range(m) if not isinstance(W.body[i], Decl)]
    inner = _only_loop(W)
    return [] if inner is None else _nest_loads(fn, path + (inner,))


def _only_loop(W: For) -> int | None:
    """Index of the loop that is ``W``'s whole body (besides scalar declarations)."""
    kids = [i for i, x in enumerate(W.body) if not isinstance(x, Decl)]
    return kids[0] if len(kids) == 1 and isinstance(W.body[kids[0]], For) else None


def _split_loads_off(fn: Function, path: tuple, config: GemminiConfig) -> Function:
    """Fission the loop at ``path`` into a loop of its leading loads and a loop of the
    rest; for a perfect nest, the innermost loop's leading loads (each level split in
    turn). Where the next iteration's loads would overwrite rows the current one still
    reads, the loaded buffers first get one copy per iteration (`expand`)."""
    W = get(fn.body, path)
    m = _leading_loads(W)
    if not 0 < m < len(W.body):
        inner = _only_loop(W)
        if inner is None:
            raise NotApplicable("the work loop does not start with loads")
        fn = _split_loads_off(fn, path + (inner,), config)
        m = inner + 1
    a = Application("fission", path, (("at", m),))
    try:
        return fission(fn, a, config)
    except Dependent:
        pass
    loads = get(fn.body, path).body[:m]
    for q, x, _ in instrs(loads):
        if x.op in LOAD_IDS and isinstance(x.args[0], DramAddr):
            fn = expand(fn, path + q, path[:-1], config)
    return fission(fn, a, config)


def _wrap_loads(fn: Function, a: Application) -> tuple[Function, Application]:
    """Wrap the ``wrap`` statements from ``load`` in a one-trip loop (a load loop
    interleave can take); returns the program and the application's new indices."""
    n = a.p.get("wrap", 0)
    if not n:
        return fn, a
    p, w = a.p["load"], a.p["work"]
    body = get(fn.body, a.site).body
    if not (0 <= p and p + n <= w < len(body)) or \
            not all(is_load_stmt(s) for s in body[p:p + n]):
        raise NotApplicable("the statements to wrap are not loads before the work loop")
    once = For(fresh(all_names(fn), "once"), Const(0), Const(1), tuple(body[p:p + n]), 1,
               line=getattr(body[p], "line", 0))
    new_body = body[:p] + (once,) + body[p + n:]
    fn = replace_fn(fn, a.site, (dataclasses.replace(get(fn.body, a.site), body=new_body),))
    params = {k: v for k, v in a.p.items() if k != "wrap"}
    params["work"] = w - n + 1
    return fn, dataclasses.replace(a, params=tuple(sorted(params.items())))


def _split_leading_loads(fn: Function, a: Application, config: GemminiConfig
                         ) -> tuple[Function, Application]:
    """``load == work`` names the loads at the top of the work loop itself (or of the
    loop nest it heads): split them into a load loop of their own first."""
    p, w = a.p["load"], a.p["work"]
    if p != w:
        return fn, a
    fn = _split_loads_off(fn, a.site + (w,), config)
    params = tuple(sorted({**a.p, "load": w, "work": w + 1}.items()))
    return fn, dataclasses.replace(a, params=params)


def _gather_loads(fn: Function, a: Application, config: GemminiConfig
                  ) -> tuple[Function, Application]:
    """Fuse the load loops adjacent to ``a``'s load loop (before its work loop) into it,
    where `fuse` shows it legal; returns the program and the application's new indices."""
    p, w = a.p["load"], a.p["work"]
    for step in (1, -1):
        while True:
            body = get(fn.body, a.site).body
            j = p + step
            if not (0 <= p < w < len(body) and 0 <= j < w and isinstance(body[p], For)
                    and isinstance(body[j], For) and is_load_stmt(body[j])):
                break
            first = min(p, j)
            try:
                fn = fuse(fn, Application("fuse", a.site + (first,)), config)
            except NotApplicable:
                break
            p, w = first, w - 1
    if (p, w) == (a.p["load"], a.p["work"]):
        return fn, a
    params = tuple(sorted({**a.p, "load": p, "work": w}.items()))
    return fn, dataclasses.replace(a, params=params)


def _fills_accumulator(fn: Function, path: tuple, config: GemminiConfig) -> bool:
    """The statement at ``path`` moves data (or zeros) into the accumulator."""
    ext = extents(fn, config) or []
    return any(e.space == "acc" and e.arg == 1 and e.path[:len(path)] == path for e in ext)


def _interleave(fn: Function, a: Application, config: GemminiConfig) -> Function:
    loop = get(fn.body, a.site)
    if not isinstance(loop, For) or loop.step != 1:
        raise NotApplicable("site is not a unit-step loop")
    p, w = a.p["load"], a.p["work"]
    if not (0 <= p < w < len(loop.body)):
        raise NotApplicable("load and work statements out of range")
    P, W = loop.body[p], loop.body[w]
    if not (isinstance(P, For) and isinstance(W, For) and is_load_stmt(P)):
        raise NotApplicable("needs a load loop followed by a work loop")
    tp, tw = trip_count(P), trip_count(W)
    if not tp or not tw or (tw % tp and tp % tw) or P.step < 1 or W.step != 1:
        raise NotApplicable("the trip counts of the load and work loops do not divide")
    if (trip_count(loop) or 0) < 2 or scalar_carried(loop.body):
        raise NotApplicable("trip count too small or loop-carried scalars")
    P = _inline_locals(loop, P)
    consts: dict = {}
    rest = loop.body[:p] + loop.body[p + 1:]
    nxt = add(Var(loop.var), Const(1))
    ahead = subst_body((P,), {loop.var: nxt, **consts})
    for env in site_envs(fn, a.site + (0,)):
        for v in sample_values(loop, env)[:-1]:
            e = dict(env, **{loop.var: v})
            require_independent(summary_of(fn, config, rest, e),
                                summary_of(fn, config, ahead, e),
                                f"loads of iteration {v + 1} vs the work of {v}")
    y = Var(W.var)
    chunk = sub(y, W.lo)
    cond = BinOp("<", nxt, loop.hi)
    if tw >= tp:                    # one load iteration every r work iterations
        r = tw // tp
        x = add(mul(BinOp("/", chunk, Const(r)) if r > 1 else chunk, Const(P.step)), P.lo)
        body = subst_body(P.body, {P.var: x, loop.var: nxt, **consts})
        if r > 1:
            cond = BinOp("&&", cond, BinOp("==", BinOp("%", chunk, Const(r)), Const(0)))
    else:                           # r load iterations in every work iteration
        r = tp // tw
        inner = fresh(all_names(fn), P.var)
        x = add(mul(add(mul(chunk, Const(r)), Var(inner)), Const(P.step)), P.lo)
        body = (For(inner, Const(0), Const(r),
                    subst_body(P.body, {P.var: x, loop.var: nxt, **consts}), 1),)
    # issued early in each work iteration (after its own leading loads, e.g. zeroing),
    # so the next iteration's leading loads do not queue behind the prefetch
    m = _leading_loads(W)
    new_w = dataclasses.replace(W, body=W.body[:m] + (If(cond, body),) + W.body[m:])
    new_body = loop.body[:p] + loop.body[p + 1:w] + (new_w,) + loop.body[w + 1:]
    prologue = subst_body((P,), {loop.var: loop.lo, **consts})
    return replace_fn(fn, a.site, prologue + (dataclasses.replace(loop, body=new_body),))


def _inline_locals(loop: For, P):
    """The load loop ``P`` with the loop's scalar locals it reads replaced by their
    initializers (the prefetch and the prologue run where those locals are not in scope
    or hold the current iteration's values). Locals assigned anywhere: not applicable."""
    decls = {d.name: d for d in loop.body if isinstance(d, Decl)}
    assigned = {n for s in loop.body if not isinstance(s, Decl) for n in scalar_writes(s)}
    for _ in range(len(decls) + 1):
        names = free_reads((P,)) & set(decls)
        if not names:
            return P
        if any(decls[n].init is None or n in assigned for n in names):
            raise NotApplicable("the loads read a local of the loop that is assigned")
        P = subst_body((P,), {n: decls[n].init for n in names})[0]
    raise NotApplicable("the loop's locals depend on each other cyclically")


def find_interleave(fn: Function, config: GemminiConfig) -> list[Application]:
    """Load loops to prefetch, except those residency can remove instead (a load that an
    enclosing loop repeats at least `MIN_REUSE` times with the same source, with room to
    keep it): streaming a tile that could stay on chip only hides traffic that need not
    happen."""
    out = []
    keepable = {a.site for a in find_resident(fn, config) if not a.p.get("unguard")
                and (trip_count(get(fn.body, tuple(a.p["guard"]))) or 0) >= MIN_REUSE
                and not _guarded(fn, a.site)}
    for path, s, _ in walk(fn.body):
        if not isinstance(s, For) or (trip_count(s) or 0) < 2:
            continue
        for p, P in enumerate(s.body):
            if not (isinstance(P, For) and is_load_stmt(P) and trip_count(P)):
                continue
            if any(path + (p,) + q[1:] in keepable for q, _, _ in instrs((P,))):
                continue
            for w in range(p + 1, len(s.body)):
                W = s.body[w]
                if not isinstance(W, For) or is_load_stmt(W):
                    continue
                tw, tp = trip_count(W), trip_count(P)
                if tw and (tw % tp == 0 or tp % tw == 0):
                    out.append(app("interleave", path, f"spread the loads of loop {P.var} for "
                                   f"iteration {s.var} + 1 over loop {W.var} of iteration "
                                   f"{s.var}", load=p, work=w))
                    break
        for w, W in enumerate(s.body):       # loads at the top of a work loop (nest)
            loads = _nest_loads(fn, path + (w,)) if isinstance(W, For) and trip_count(W) \
                else []
            moves = [(q + r[1:], x) for q in loads for r, x, _ in instrs((get(fn.body, q),))]
            if not any(isinstance(x.args[0], DramAddr) for _, x in moves if x.op in LOAD_IDS) \
                    or any(q in keepable for q, _ in moves):
                continue
            out.append(app("interleave", path, f"split the loads off the top of loop {W.var} "
                           f"and spread those of iteration {s.var} + 1 over loop {W.var} of "
                           f"iteration {s.var}", load=w, work=w))
        out += _bare_load_runs(path, s, keepable)
    return out


def _guarded(fn: Function, path: tuple) -> bool:
    """The statement at ``path`` sits under an ``if`` (a load residency already guards)."""
    return any(isinstance(get(fn.body, path[:n]), If) for n in range(1, len(path)))


def _bare_load_runs(path: tuple, s: For, keepable: set) -> list[Application]:
    """Interleave applications for runs of load statements right before a work loop that
    hold a bare load (not a loop): the whole run, and each bare load alone."""
    out = []
    for w, W in enumerate(s.body):
        if not (isinstance(W, For) and trip_count(W) and not is_load_stmt(W)):
            continue
        j = w
        while j > 0 and is_load_stmt(s.body[j - 1]):
            j -= 1
        bare = [q for q in range(j, w) if not isinstance(s.body[q], For)]
        if not bare or any(path + (q,) + r[1:] in keepable
                           for q in range(j, w) for r, _, _ in instrs((s.body[q],))):
            continue
        runs = [(j, w - j)] + ([(q, 1) for q in bare] if w - j > 1 else [])
        for q, n in runs:
            what = "the loads before" if n > 1 else "the bare load before"
            out.append(app("interleave", path, f"issue {what} loop {W.var} for iteration "
                           f"{s.var} + 1 during loop {W.var} of iteration {s.var}",
                           load=q, work=w, wrap=n))
    return out


def interleave_all(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """``interleave`` at every loop where it applies, each with its largest load loop (e.g.
    the weights of both column parts of a convolution)."""
    done: set = set()
    applied = 0
    for _ in range(MAX_INTERLEAVES):
        best: dict = {}
        for x in find_interleave(fn, config):
            loop = get(fn.body, x.site)
            key = (loop.var, loop.line)
            size = _loop_bytes(loop.body[x.p["load"]])
            if key not in done and (key not in best or size > best[key][0]):
                best[key] = (size, x)
        if not best:
            break
        key, (_, x) = max(best.items(), key=lambda kv: kv[1][0])
        done.add(key)
        try:
            fn = interleave(fn, x, config)
            applied += 1
        except NotApplicable:
            continue
    if not applied:
        raise NotApplicable("no loop can be interleaved")
    return fn


def _loop_bytes(stmt) -> int:
    """Bytes (rows x columns, per trip) the load nest ``stmt`` moves."""
    total = 0
    for _, x, loops in instrs((stmt,)):
        if x.op in LOAD_IDS:
            n = 1
            for lp in loops:
                n *= trip_count(lp) or 1
            cols, rows = (x.args[2], x.args[3])
            total += n * (cols.value if isinstance(cols, Const) else 1) * \
                (rows.value if isinstance(rows, Const) else 1)
    return total


def find_interleave_all(fn: Function, config: GemminiConfig) -> list[Application]:
    sites = {x.site for x in find_interleave(fn, config)}
    if len(sites) < 2:
        return []
    return [app("interleave_all", (), "spread the next iteration's largest load loop over "
                "the current work loop, at every loop where it applies")]


def is_load_stmt(s) -> bool:
    """``s`` only loads into local memory (and configures loads)."""
    if isinstance(s, Instr):
        return s.op in LOAD_IDS or s.op == "config_ld"
    if isinstance(s, (For, If)):        # scalar declarations (addresses) may come along
        kids = s.body if isinstance(s, For) else s.then + s.orelse
        return any(is_load_stmt(x) for x in kids) and \
            all(is_load_stmt(x) or isinstance(x, Decl) for x in kids)
    return False


def find_pipeline(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if isinstance(s, For) and (trip_count(s) or 0) >= 2 and s.body and \
                is_load_stmt(s.body[0]) and len(s.body) > 1:
            n = 1
            while n < len(s.body) - 1 and is_load_stmt(s.body[n]):
                n += 1
            out.append(app("pipeline", path, f"issue the loads of iteration {s.var} + 1 before "
                           f"the computes of iteration {s.var}", count=n))
    return out


TRANSFORMS = [
    Transform("double_buffer", ("double_buffer", "pipeline"), "double-buffer a load across a loop",
              find_double_buffer, double_buffer, ("load", "overlap")),
    Transform("bank", ("distinct_locations", "less_data_movement"),
              "move a buffer to another scratchpad bank",
              find_bank, bank, ("execute", "conflict")),
    Transform("interleave_all", ("pipeline", "double_buffer"),
              "interleave at every loop where it applies",
              find_interleave_all, interleave_all, ("overlap", "load")),
    Transform("interleave", ("pipeline", "double_buffer"),
              "spread the next iteration's loads over the current "
              "computes", find_interleave, interleave, ("overlap", "load")),
    Transform("pipeline", ("pipeline", "double_buffer"),
              "issue the next iteration's loads before the current "
              "computes", find_pipeline, pipeline, ("overlap",)),
]
