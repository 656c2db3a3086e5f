"""Removing fences that guard nothing (menu items loop_overhead, faster_equivalent, hoist).

The load and store queues run independently, so a fence is what orders an ``mvout`` with
a later ``mvin`` of the bytes it writes (and an ``mvin`` with a later ``mvout`` that
overwrites the bytes it reads, unless the store reads the rows the load wrote, which
orders them already). CPU code that reads or writes an array is ordered with the moves of
that array only by a fence too, and so is the caller, which reads every output when the
kernel returns.

drop_fence (``where == 0``)   the fence is removed;
           (``where == k``)   the fence leaves its body and one fence follows the loop
                              ``k`` levels up (``for s { ...; fence(); }`` ->
                              ``for s { ... } fence();``).

Legality: the program is enumerated on DRAM byte ranges (every move's rows, from the
stride of its load state or of the store configuration and the element size of its
array; a range that cannot be bounded is the whole array), and the hazards no fence
separates are listed, before and after the rewrite. The rewrite is legal when it adds
none.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from gemmini.config import GemminiConfig
from gemmini.ir import Decl, DramAddr, For, Function, Instr, Load, Store, walk_exprs, \
    walk_stmts
from gemmini.isa import LOAD_IDS
from gemmini.model import NP_DTYPES

import numpy as np

from .base import (Application, Dependent, NotApplicable, Transform, app, executions, new_state,
                   site_envs,
                   summary_of)
from .deps import (CPU_ORDER, Unanalyzable, config_key, independent, local_rows, scalar_carried,
                   summarize)
from .ir_util import (body_reads, body_writes, const_value, get, instrs, is_cpu_stmt,
                      parent_body, replace_block, replace_fn)

CONFIG_OPS = ("config_ld", "config_st", "config_ex")
MAX_FENCE_EVENTS = 20_000     # larger programs are not enumerated (the fence stays)
WHOLE = (-math.inf, math.inf)


@dataclass(frozen=True)
class _Move:
    """One DRAM access of the enumeration."""
    kind: str                    # "load", "store", "cpu_r", "cpu_w"
    array: str
    span: tuple                  # [lo, hi) in bytes of the array
    rows: frozenset = frozenset()   # local rows a load writes / a store reads
    path: tuple = ()             # the instruction's site
    iters: tuple = ()            # the values of its enclosing loops, outermost first


def array_itemsize(fn: Function, array: str) -> int | None:
    """Bytes of an element of the array parameter ``array`` (None: not one)."""
    try:
        dtype = NP_DTYPES.get(fn.param(array).dtype)
    except KeyError:
        return None
    return np.dtype(dtype).itemsize if dtype is not None else None


def events(fn: Function, config: GemminiConfig) -> list:
    """The program in execution order as `_Move`s and ``"fence"`` markers (path of the
    fence statement); raises NotApplicable when it cannot be enumerated."""
    out: list = []
    strides: dict = {}
    width = max(config.in_bytes, config.acc_bytes)

    def span(ins: Instr, stride, env):
        isz = array_itemsize(fn, ins.args[0].array)
        start = const_value(ins.args[0].index, env)
        cols, rows = const_value(ins.args[2], env), const_value(ins.args[3], env)
        if None in (isz, start, cols, rows, stride) or stride < 0:
            return WHOLE
        lo = start * isz
        return (lo, lo + (rows - 1) * stride + cols * width)

    def cpu_span(x, env):
        """The bytes of a CPU element access with a constant index (else the array)."""
        isz = array_itemsize(fn, x.array)
        idx = const_value(x.index, env)
        return WHOLE if isz is None or idx is None else (idx * isz, (idx + 1) * isz)

    def local(ins: Instr, env) -> frozenset:
        v, rows = const_value(ins.args[1], env), const_value(ins.args[3], env)
        rr = local_rows(v, rows) if None not in (v, rows) else None
        return frozenset(rr or ())

    def instr(s: Instr, known, here, iters):
        if s.op == "fence":
            out.append(("fence", here))
        elif s.op == "config_ld":
            idv = const_value(s.args[4], known) if s.args[4] is not None else 0
            strides[("ld", idv)] = const_value(s.args[0], known)
        elif s.op == "config_st":
            strides["st"] = const_value(s.args[0], known)
        elif s.op in LOAD_IDS and isinstance(s.args[0], DramAddr):
            out.append(_Move("load", s.args[0].array,
                             span(s, strides.get(("ld", LOAD_IDS[s.op])), known),
                             local(s, known), here, iters))
        elif s.op == "mvout" and isinstance(s.args[0], DramAddr):
            out.append(_Move("store", s.args[0].array, span(s, strides.get("st"), known),
                             local(s, known), here, iters))
        elif s.op == "loop_ws":
            raise NotApplicable("the FSM's accesses are not enumerated")

    for here, s, known, iters in executions(fn):
        if len(out) > MAX_FENCE_EVENTS:
            raise NotApplicable("program too large to enumerate its DRAM accesses")
        if isinstance(s, Instr):
            instr(s, known, here, iters)
            continue
        for e in walk_exprs([s]):
            if isinstance(e, Load):
                out.append(_Move("cpu_r", e.array, cpu_span(e, known), path=here, iters=iters))
        for x in walk_stmts([s]):
            if isinstance(x, Store):
                out.append(_Move("cpu_w", x.array, cpu_span(x, known), path=here, iters=iters))
    return out


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def hazards(evs: list) -> set:
    """Pairs (earlier, later) of DRAM accesses that no fence separates and that the queues
    may reorder; the kernel's return reads every array (``"return"``). An access is named
    by what it is (kind, array, bytes, local rows, iteration), not by its position, so the
    sets of two orders of the same accesses compare."""
    out = set()
    stores: dict = {}
    loads: dict = {}
    for e in evs:
        if isinstance(e, tuple):
            stores.clear()
            loads.clear()
            continue
        me = _name(e)
        if e.kind in ("load", "cpu_r", "cpu_w"):      # reads after an unfenced store
            out.update((_name(st), me) for st in stores.get(e.array, ())
                       if _overlap(st.span, e.span))
        if e.kind in ("store", "cpu_w"):              # writes after an unfenced load
            out.update((_name(ld), me) for ld in loads.get(e.array, ())
                       if _overlap(ld.span, e.span) and not (ld.rows & e.rows))
        # the core's own accesses are done when it goes on: only the queues' moves pend
        if e.kind == "load":
            loads.setdefault(e.array, []).append(e)
        if e.kind == "store":
            stores.setdefault(e.array, []).append(e)
    out.update((_name(st), "return") for pending in stores.values() for st in pending)
    return out


def _name(e: _Move) -> tuple:
    return (e.kind, e.array, e.span, e.rows, e.iters)


def drop_fence(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Remove the fence at the site, or (``where`` = k > 0) move it after the loop k
    levels up; refused when that leaves a DRAM hazard unfenced."""
    fence = get(fn.body, a.site)
    if not (isinstance(fence, Instr) and fence.op == "fence"):
        raise NotApplicable("site is not a fence")
    k = a.p.get("where", 0)
    if not k and a.site == (len(fn.body) - 1,) and any(
            i.op == "mvout" for _, i, _ in instrs(fn.body)):
        raise NotApplicable("the last fence orders the stores with the kernel's return")
    new = replace_fn(fn, a.site, ())
    if k:
        if k >= len(a.site):
            raise NotApplicable("the fence is not that deep in loops")
        anc = a.site[:-k]
        loop = get(new.body, anc)
        if not isinstance(loop, For):
            raise NotApplicable(f"the statement {k} levels up is not a loop")
        new = replace_fn(new, anc, (loop, fence))
    added = unfenced_by(fn, new, config)
    if added:
        raise NotApplicable(f"the fence orders {len(added)} DRAM access pair(s)")
    return new


def unfenced_by(fn: Function, new: Function, config: GemminiConfig,
                by_bytes: bool = False) -> set:
    """The DRAM access pairs that a fence orders in ``fn`` and none orders in ``new``
    (raises NotApplicable when either program is too large to enumerate). ``by_bytes``
    names an access by kind, array and bytes only, for rewrites that change the local
    rows or loop values of the accesses they move."""
    before, after = hazards(events(fn, config)), hazards(events(new, config))
    if by_bytes:
        before, after = _by_bytes(before), _by_bytes(after)
    return after - before


def _by_bytes(pairs: set) -> set:
    return {tuple(x if isinstance(x, str) else x[:3] for x in pair) for pair in pairs}


def contains_fence(stmts) -> bool:
    """Is there a fence among ``stmts`` or inside them?"""
    return any(_is_fence(s) for s in walk_stmts(list(stmts)))


def find_drop_fence(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, ins, _ in instrs(fn.body):
        if ins.op != "fence":
            continue
        out.append(app("drop_fence", path, "remove a fence that orders no DRAM accesses",
                       where=0))
        depth = [n for n in range(1, len(path)) if isinstance(get(fn.body, path[:-n]), For)]
        for n in depth:
            lp = get(fn.body, path[:-n])
            out.append(app("drop_fence", path, f"issue the fence once after loop {lp.var} "
                           "instead of in every iteration", where=n))
    return out


def _is_fence(s) -> bool:
    return isinstance(s, Instr) and s.op == "fence"


def merge_fences(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """``F1; S; F2`` -> ``P; F2; D`` for the fence F1 at the site and the next fence F2 of
    its block: D is the work of S that needs F1 (the statements that load an array the
    block stores, and every later one that depends on one of them), P the rest, both in
    their order. F1 goes and F2 serves both round trips (when D's stores are then unfenced
    only before the kernel returns, one fence ends the kernel)."""
    body = parent_body(fn.body, a.site)
    i = a.site[-1]
    if not _is_fence(body[i]):
        raise NotApplicable("site is not a fence")
    k = next((j for j in range(i + 1, len(body)) if _is_fence(body[j])), None)
    if k is None or k == i + 1:
        raise NotApplicable("no later fence with work before it")
    p, d = _split_work(fn, config, body, i, k, a.site)
    new_body = body[:i] + p + (body[k],) + d + body[k + 1:]
    new = replace_block(fn, a.site[:-1], new_body)
    added = unfenced_by(fn, new, config)
    if added and all(later == "return" for _, later in added):    # stores the caller reads:
        new = dataclasses.replace(new, body=new.body + (body[i],))     # one fence at the end
        added = unfenced_by(fn, new, config)
    if added:
        raise NotApplicable(f"the moved work needs the fence ({len(added)} DRAM pair(s))")
    return new


def _split_work(fn, config, body, i, k, site) -> tuple:
    """(P, D) of the statements strictly between the fence at ``i`` and index ``k``: D
    the statements that load an array the block stores, and every later one that depends
    on one of them; P the rest, both in their order. A configuration that a statement of
    D reads but a later one of P overwrites does not pull that one into D: D issues a
    copy of the configuration it saw first, and a copy of the block's last one after it
    (`_with_configs`), so every move keeps its configuration."""
    work = body[i + 1:k]
    if any(is_cpu_stmt(x) for x in work):
        raise NotApplicable("CPU code stays where it is")
    stored = {x.args[0].array for _, x, _ in instrs(body)
              if x.op == "mvout" and isinstance(x.args[0], DramAddr)}
    units = _units(work)            # a preload moves with its compute
    envs = site_envs(fn, site)
    sums = [_in_order(fn, config, units, env) for env in envs]
    writes = _config_writes(units, envs[0] if envs else {})
    need = []
    for n, u in enumerate(units):
        if writes is not None and writes[n] is not None:
            continue                # a configuration stays in P; D re-issues what it needs
        loads = {y.args[0].array for _, y, _ in instrs(u)
                 if y.op in LOAD_IDS and isinstance(y.args[0], DramAddr)}
        if loads & stored or any(isinstance(x, Decl) for x in u) or any(
                any(not independent(sm[m], sm[n]) for sm in sums) or
                body_writes(units[m]) & body_reads(u) or
                body_reads(units[m]) & body_writes(u) for m in need):
            need.append(n)
    if not need or len(need) == len(units) or all(
            writes is not None and writes[n] is not None
            for n in range(len(units)) if n not in need):
        raise NotApplicable("no work of both kinds after the fence")
    order = [n for n in range(len(units)) if n not in need] + need
    if writes is not None:
        return _with_configs(units, order, len(units) - len(need), writes, sums, body, i,
                             envs[0] if envs else {})
    d = tuple(x for n in need for x in units[n])
    p = tuple(x for n, u in enumerate(units) if n not in need for x in u)
    return p, d


def _config_writes(units, env) -> list | None:
    """Per unit, the configuration state it writes when it is one top-level configuration
    instruction (else None); None for all when another unit writes configuration state
    (inside a condition, say), which keeps the plain split."""
    out = []
    for u in units:
        configs = [x for _, x, _ in instrs(u) if x.op in CONFIG_OPS]
        if not configs:
            out.append(None)
        elif len(u) == 1 and u[0] is configs[0] and config_key(u[0], env) is not None:
            out.append(config_key(u[0], env))
        else:
            return None
    return out


def _with_configs(units, order, n_p, writes, sums, body, i, env) -> tuple:
    """(P, D) for the units in ``order`` (the first ``n_p`` are P), with copies of
    configuration instructions inserted where a unit would otherwise read another
    configuration than in the original order, and at the end where the state left
    behind would differ."""
    def reads(n):
        return {key for sm in sums for key in sm[n].exposed
                if isinstance(key, tuple) and key[:1] == ("cfg",)}

    before, cur = [], {}            # the writer each unit saw: a unit index or "entry"
    for n in range(len(units)):
        before.append(dict(cur))
        if writes[n] is not None:
            cur[writes[n]] = n
    final = cur

    def stmt(key, who):
        return units[who][0] if who != "entry" else _entry_config(body, i, key, env)

    out: list = []
    now: dict = {}

    def place(n):
        for key in sorted(reads(n)):
            want = before[n].get(key, "entry")
            if now.get(key, "entry") != want:
                out.append(stmt(key, want))
                now[key] = want
        out.extend(units[n])
        if writes[n] is not None:
            now[writes[n]] = n

    for n in order[:n_p]:
        place(n)
    split = len(out)
    for n in order[n_p:]:
        place(n)
    for key in sorted(set(final) | set(now)):
        want = final.get(key, "entry")
        if now.get(key, "entry") != want:
            out.append(stmt(key, want))
    return tuple(out[:split]), tuple(out[split:])


def _entry_config(body, i, key, env):
    """The configuration instruction of state ``key`` in effect at the fence ``body[i]``:
    the last top-level one before it in its block (NotApplicable when it is set
    elsewhere)."""
    for x in reversed(body[:i]):
        if isinstance(x, Instr) and config_key(x, env) == key:
            return x
        if any(config_key(y, env) == key or (y.op == "config_ld" and config_key(y, env) is None)
               for _, y, _ in instrs((x,))):
            break
    raise NotApplicable("the configuration in effect at the fence is set outside its block")


def fence_early(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """``F; S`` -> ``P; F; D`` for the fence F at the site and the work S up to the next
    fence of its block (or its end): P, the work that does not need F (`_split_work`),
    is issued before it and overlaps the round trip F waits for."""
    body = parent_body(fn.body, a.site)
    i = a.site[-1]
    if not _is_fence(body[i]):
        raise NotApplicable("site is not a fence")
    k = next((j for j in range(i + 1, len(body)) if _is_fence(body[j])), len(body))
    if k == i + 1:
        raise NotApplicable("no work after the fence")
    p, d = _split_work(fn, config, body, i, k, a.site)
    new_body = body[:i] + p + (body[i],) + d + body[k:]
    new = replace_block(fn, a.site[:-1], new_body)
    if unfenced_by(fn, new, config):
        raise NotApplicable("the work moved before the fence needs it")
    return new


def find_fence_early(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, ins, _ in instrs(fn.body):
        if ins.op == "fence" and path[-1] + 1 < len(parent_body(fn.body, path)):
            out.append(app("fence_early", path, "issue the work that does not need this "
                           "fence before it, overlapping the round trip"))
    return out


def _units(work) -> list[tuple]:
    """The statements in groups that move together: a preload and the compute after it."""
    out: list[tuple] = []
    for x in work:
        if out and isinstance(x, Instr) and x.op.startswith("compute") and \
                isinstance(out[-1][-1], Instr) and out[-1][-1].op == "preload":
            out[-1] += (x,)
        else:
            out.append((x,))
    return out


def _in_order(fn: Function, config: GemminiConfig, units, env: dict) -> list:
    """A summary per group, run in order on one trace state."""
    st = new_state(fn, config)
    try:
        return [summarize(u, env, st) for u in units]
    except Unanalyzable as exc:
        raise NotApplicable(f"dependence analysis failed: {exc}") from None


def find_merge_fences(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, ins, _ in instrs(fn.body):
        if ins.op != "fence":
            continue
        body = parent_body(fn.body, path)
        i = path[-1]
        k = next((j for j in range(i + 1, len(body)) if _is_fence(body[j])), None)
        if k is not None and k > i + 1:
            out.append(app("merge_fences", path, "move the work that does not need this fence "
                           "before it and let the next fence serve both"))
    return out


MAX_FISSION_TRIPS = 64


def fission_fence(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """``for v { A(v); fence; B(v) }`` -> ``for v { A(v) }; fence; for v { B(v) }``: one
    fence for every iteration's A, when no A(v2) touches what a B(v1) with v1 < v2 touches
    (rows, configuration state and DRAM bytes)."""
    lp_path, f = a.site[:-1], a.site[-1]
    loop = get(fn.body, lp_path) if lp_path else None
    if not isinstance(loop, For) or not _is_fence(loop.body[f]):
        raise NotApplicable("site is not a fence directly inside a loop")
    first, second = loop.body[:f], loop.body[f + 1:]
    if not first:
        raise NotApplicable("nothing before the fence")
    if any(is_cpu_stmt(x) for x in loop.body) or any(isinstance(x, Decl) for x in loop.body):
        raise NotApplicable("CPU code or declarations in the loop")
    if scalar_carried(loop.body):
        raise NotApplicable("the loop assigns scalars")
    for env in site_envs(fn, lp_path + (0,))[:1]:
        lo, hi, step = _bounds(loop, env)
        if lo is None or hi is None or len(range(lo, hi, step)) > MAX_FISSION_TRIPS:
            raise NotApplicable("too many iterations to check")
        vals = list(range(lo, hi, step))
        sums = [(summary_of(fn, config, first, dict(env, **{loop.var: v})),
                 summary_of(fn, config, second, dict(env, **{loop.var: v}))) for v in vals]
        for i1 in range(len(vals)):
            for i2 in range(i1 + 1, len(vals)):
                if not independent(_local(sums[i2][0]), _local(sums[i1][1])):
                    raise Dependent(f"iteration {vals[i2]} before the fence and iteration "
                                    f"{vals[i1]} after it touch the same rows or state")
    depth = sum(1 for n in range(1, len(lp_path) + 1) if isinstance(get(fn.body, lp_path[:n]),
                                                                     For))
    part: dict = {}
    for e in events(fn, config):
        if isinstance(e, tuple) or e.path[:len(lp_path)] != lp_path or len(e.path) <= \
                len(lp_path):
            continue
        half = 0 if e.path[len(lp_path)] < f else 1
        part.setdefault((e.iters[:depth - 1], half), []).append(e)
    for (outer, half), evs in part.items():
        if half:
            continue
        for e2 in evs:
            for e1 in part.get((outer, 1), ()):
                if e1.iters[depth - 1] < e2.iters[depth - 1] and e1.array == e2.array and \
                        "store" in (e1.kind, e2.kind) and _overlap(e1.span, e2.span):
                    raise Dependent(f"{e2.array}: an access before the fence in a later "
                                    "iteration meets one after it in an earlier iteration")
    pieces = (dataclasses.replace(loop, body=first), loop.body[f])
    if second:
        pieces += (dataclasses.replace(loop, body=second),)
    new = replace_fn(fn, lp_path, pieces)
    if unfenced_by(fn, new, config):
        raise NotApplicable("the split leaves a DRAM round trip unfenced")
    return new


def _bounds(loop: For, env: dict) -> tuple:
    return const_value(loop.lo, env), const_value(loop.hi, env), loop.step


def _local(sm):
    """The summary without its DRAM accesses and the fences' order (fission checks those
    by byte ranges, and the loop holds no CPU code)."""
    cpu = {key for _, key in CPU_ORDER}
    return dataclasses.replace(sm, dram_writes=set(), dram_reads=set(),
                               exposed=sm.exposed - cpu, writes=sm.writes - cpu)


def find_fission_fence(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, ins, _ in instrs(fn.body):
        if ins.op == "fence" and len(path) > 1 and path[-1] > 0 and \
                isinstance(get(fn.body, path[:-1]), For):
            lp = get(fn.body, path[:-1])
            out.append(app("fission_fence", path, f"split loop {lp.var} at this fence: one "
                           "fence for all its iterations", ))
    return out


TRANSFORMS = [
    Transform("drop_fence", ("remove_fences", "loop_overhead", "faster_equivalent", "hoist"),
              "remove a fence that guards no DRAM round trip, or issue it once after a loop",
              find_drop_fence, drop_fence, ("cpu", "latency")),
    Transform("merge_fences", ("remove_fences", "reorder_statements", "loop_overhead",
                                "pipeline"),
              "move the work that needs no fence before it, so the next fence serves both "
              "round trips", find_merge_fences, merge_fences, ("cpu", "latency")),
    Transform("fence_early", ("pipeline", "reorder_statements", "remove_fences"),
              "issue the work that does not need a fence before it, so it overlaps the "
              "round trip", find_fence_early, fence_early, ("cpu", "latency")),
    Transform("fission_fence", ("remove_fences", "split_loops", "loop_overhead",
                                 "reorder_statements"),
              "split a loop at a fence, so one fence serves every iteration",
              find_fission_fence, fission_fence, ("cpu", "latency")),
]
