"""Merging the moves of consecutive loop iterations into multi-row moves (menu items
merge_instructions, loop_overhead, faster_equivalent).

A loop of single-row moves through fixed local rows (an elementwise update per horizon
step: ``for s { mvin(&u[s][0], acc, 4, 1); ...; mvout(&y[s][0], acc + 3, 4, 1); }``)
issues ``T`` times as many instructions as it needs. ``multirow`` with ``rows = R``
runs ``R`` iterations at once: every move of the body moves ``R`` rows (DRAM rows ``s ..
s + R - 1`` at the stride of its configuration, local rows one per iteration), the
configurations and fences are issued once per group, and a remainder group of ``T mod
R`` rows follows:

    for s < T { B(s) }  ->  for so < T / R { B'(R so, R rows) }; B'(R (T / R), T mod R rows)

or, with ``tail = 1``, one loop whose last group moves the remainder (``rows = so < T / R ?
R : T mod R``), so that a later rewrite (``fission_fence``) treats every group alike.

Each local row the body uses gets a copy per iteration (``T`` copies when they fit, so
the groups use distinct rows and ``fission_fence`` can split the group loop later, else
``R``), in rows no other instruction of the kernel touches.

Legality (the transformation's own analysis):

* the body is moves, configurations and fences only (no computes, CPU code or loops);
  every move moves one row of at most DIM columns, its local row does not depend on the
  loop, its DRAM row is ``a + d s`` with ``d`` elements equal to the stride of the
  configuration that governs it (a configuration of its kind before it in the body, or
  else none in the body and one agreed stride in the whole kernel);
* no row is carried between iterations or read outside the loop: every local row the
  body reads or accumulates onto is written earlier in the same iteration, and no
  instruction outside the loop touches these rows;
* reordering within a group (instruction ``i`` of a later iteration now runs before
  instruction ``j > i`` of an earlier one, and one instruction's rows of several
  iterations run together) meets no DRAM bytes that either writes and the other
  touches;
* the rewritten program has no DRAM hazard (read or write through the queues without a
  fence) that the original did not have, compared row by row (`fences.hazards`).
"""

from __future__ import annotations

import dataclasses

from gemmini.config import ACC_BIT, ACCUMULATE_BIT, ROW_MASK, GemminiConfig
from gemmini.ir import BinOp, Cond, DramAddr, For, Function, Instr, Var
from gemmini.isa import LOAD_IDS

from . import regions
from .base import Application, Dependent, NotApplicable, Transform, app, site_envs, summary_of
from .deps import ACC_KEYS, config_key, config_read
from .fences import _Move, array_itemsize, events, hazards
from .ir_util import (add, all_names, c, const_decls, const_value, expr_vars, fresh, get, instrs,
                      mul, replace_fn, sub, subst_expr, trip_count, walk)
from .regions import offset_addr

MOVES = tuple(LOAD_IDS) + ("mvout",)
OTHERS = ("config_ld", "config_st", "fence")
MAX_TRIPS = 64


def _strides(fn: Function, loop: For, env: dict) -> dict:
    """Stride (bytes) governing each move of the loop body, by body position."""
    everywhere: dict = {}
    for _, ins, _ in instrs(fn.body):
        if ins.op in ("config_ld", "config_st"):
            everywhere.setdefault(config_key(ins, env), set()).add(const_value(ins.args[0], env))
    current: dict = {}
    in_body = {config_key(s, env) for s in loop.body if s.op in ("config_ld", "config_st")}
    out = {}
    for i, s in enumerate(loop.body):
        if s.op in ("config_ld", "config_st"):
            if loop.var in expr_vars(s.args[0]) or any(loop.var in expr_vars(a)
                                                        for a in s.args if a is not None):
                raise NotApplicable("a configuration depends on the loop")
            current[config_key(s, env)] = const_value(s.args[0], env)
        elif s.op in MOVES:
            k = config_read(s)
            if k in current:
                out[i] = current[k]
            elif k in in_body:
                raise NotApplicable("a move reads the configuration of the previous iteration")
            elif len(everywhere.get(k, ())) == 1 and None not in everywhere[k]:
                out[i] = next(iter(everywhere[k]))
            else:
                raise NotApplicable("the stride governing a move is not known")
    return out


def _local(ins: Instr, env: dict):
    """(space, row, flags) of a move's local operand."""
    v = const_value(ins.args[1], env)
    if v is None:
        raise NotApplicable("a local address is not constant")
    space = "acc" if v & ACC_BIT else "sp"
    mask = ROW_MASK if space == "acc" else ACCUMULATE_BIT - 1
    return space, v & mask


def multirow(fn: Function, a: Application, config: GemminiConfig) -> Function:
    loop = get(fn.body, a.site)
    if not isinstance(loop, For) or loop.step != 1:
        raise NotApplicable("site is not a loop of step 1")
    r = a.p.get("rows", config.dim)
    if not 2 <= r <= config.dim:
        raise NotApplicable(f"a move has 1 to {config.dim} rows")
    if not all(isinstance(s, Instr) and s.op in MOVES + OTHERS for s in loop.body):
        raise NotApplicable("the body is not moves, configurations and fences only")
    moves = [(i, s) for i, s in enumerate(loop.body) if s.op in MOVES]
    if not moves:
        raise NotApplicable("no moves in the loop")
    envs = site_envs(fn, a.site + (0,))
    lo, trips = const_value(loop.lo, envs[0]), trip_count(loop, envs[0])
    if lo is None or trips is None or trips < 2 or trips > MAX_TRIPS:
        raise NotApplicable("the loop's trip count is not a small constant")
    r = min(r, trips)
    rows: dict = {}                      # (space, row) -> copy index
    for env in envs:
        if (const_value(loop.lo, env), trip_count(loop, env)) != (lo, trips):
            raise NotApplicable("the loop's bounds depend on an outer loop")
        strides = _strides(fn, loop, env)
        for i, s in moves:
            if not isinstance(s.args[0], DramAddr):
                raise NotApplicable("a move without a DRAM operand")
            cols = const_value(s.args[2], env)
            if const_value(s.args[3], env) != 1 or cols is None or cols > config.dim:
                raise NotApplicable("a move of more than one row or DIM columns")
            isz = array_itemsize(fn, s.args[0].array)
            starts = [const_value(s.args[0].index, dict(env, **{loop.var: lo + k}))
                      for k in range(trips)]
            if None in starts or isz is None:
                raise NotApplicable("a DRAM address is not known")
            d = starts[1] - starts[0]
            if any(x != starts[0] + k * d for k, x in enumerate(starts)) or \
                    d * isz != strides[i]:
                raise NotApplicable(f"{s.args[0].array}: consecutive iterations do not move "
                                    "consecutive rows at the configured stride")
            here = {_local(s, dict(env, **{loop.var: lo + k})) for k in range(trips)}
            if len(here) != 1 or const_value(s.args[1], const_decls(fn)) is None:
                raise NotApplicable("a local row depends on the loop")
            rows.setdefault(here.pop(), len(rows))
    _check_rows(fn, loop, a.site, envs, rows, config)
    _check_order(fn, loop, envs, r, trips, lo)
    return _rewrite(fn, loop, a.site, envs[0], rows, r, trips, lo, config,
                    bool(a.p.get("tail", 0)))


def _check_rows(fn, loop, site, envs, rows, config):
    keys = {ACC_KEYS + row if space == "acc" else row for space, row in rows}
    for env in envs:
        sm = summary_of(fn, config, loop.body, dict(env, **{loop.var: const_value(loop.lo,
                                                                                   env)}))
        if (sm.exposed | sm.accs) & keys:
            raise Dependent("a local row is read before the iteration writes it")
    ext = regions.extents(fn, config)
    if ext is None:
        raise NotApplicable("local operands not analyzable")
    for e in ext:
        if e.path[:len(site)] == site:
            continue
        if any(sp == e.space and e.lo <= row < e.hi for sp, row in rows):
            raise Dependent("an instruction outside the loop touches the loop's rows")


def _check_order(fn, loop, envs, r, trips, lo):
    """Instruction i of iteration v2 now runs before instruction j > i of v1 < v2 in the
    same group (and a move's rows of the group together): no DRAM bytes in common that
    either writes."""
    def span(s, v, env):
        isz = array_itemsize(fn, s.args[0].array)
        st = const_value(s.args[0].index, dict(env, **{loop.var: v})) * isz
        return st, st + const_value(s.args[2], env) * isz

    for env in envs:
        body = [(i, s) for i, s in enumerate(loop.body) if s.op in MOVES]
        for g in range(0, trips, r):
            vals = [lo + k for k in range(g, min(g + r, trips))]
            for n1, v1 in enumerate(vals):
                for v2 in vals[n1 + 1:]:
                    for i, si in body:
                        for j, sj in body:
                            if j < i or (j == i and si.op != "mvout"):
                                continue
                            if si.args[0].array != sj.args[0].array or "mvout" not in \
                                    (si.op, sj.op):
                                continue
                            a1, b1 = span(sj, v1, env)
                            a2, b2 = span(si, v2, env)
                            if a1 < b2 and a2 < b1:
                                raise Dependent(f"{si.args[0].array}: iterations {v1} and "
                                                f"{v2} touch the same bytes")


def _rewrite(fn, loop, site, env, rows, r, trips, lo, config, tail_in_loop):
    ext = regions.extents(fn, config)
    inside = [e for e in ext if e.path[:len(site)] == site]
    copies = trips
    base: dict = {}
    for space in ("sp", "acc"):
        n = sum(1 for sp, _ in rows if sp == space)
        if not n:
            continue
        b = regions.find_free(ext, inside, space, n * trips, config, align=1)
        if b is None:
            copies = r
            break
        base[space] = b
    if copies == r:
        for space in ("sp", "acc"):
            n = sum(1 for sp, _ in rows if sp == space)
            if n:
                b = regions.find_free(ext, inside, space, n * r, config, align=1)
                if b is None:
                    raise NotApplicable("no free rows for the copies")
                base[space] = b
    index: dict = {}
    for space, row in rows:
        index[(space, row)] = sum(1 for (sp, rw) in rows if sp == space and
                                  rows[(sp, rw)] < rows[(space, row)])
    groups, rem = divmod(trips, r)
    var = fresh(all_names(fn), loop.var + "o")

    def body_at(start, nrows):
        out = []
        for s in loop.body:
            if s.op not in MOVES:
                out.append(s)
                continue
            space, row = _local(s, dict(env, **{loop.var: lo}))
            lane0 = sub(start, c(lo)) if copies == trips else c(0)
            delta = add(c(base[space] + index[(space, row)] * copies - row), lane0)
            args = list(s.args)
            args[0] = DramAddr(s.args[0].array, subst_expr(s.args[0].index, {loop.var: start}))
            args[1] = offset_addr(s.args[1], delta)
            args[3] = nrows
            out.append(dataclasses.replace(s, args=tuple(args)))
        return tuple(out)

    pieces = []
    start = add(c(lo), mul(c(r), Var(var)))
    if rem and tail_in_loop:           # one loop, the last group moves the remainder
        count = Cond(BinOp("<", Var(var), c(groups)), c(r), c(rem))
        pieces.append(For(var, c(0), c(groups + 1), body_at(start, count), 1, loop.line))
    else:
        if groups:
            pieces.append(For(var, c(0), c(groups), body_at(start, c(r)), 1, loop.line))
        if rem:
            pieces.extend(body_at(c(lo + r * groups), c(rem)))
    new = replace_fn(fn, site, tuple(pieces))
    if _row_hazards(new, config) - _row_hazards(fn, config):
        raise NotApplicable("the merged moves leave a DRAM round trip unfenced")
    return new


def _row_hazards(fn: Function, config: GemminiConfig) -> set:
    """`fences.hazards` on the events with every multi-row move split into its rows, each
    access named by kind, array and bytes only (local rows and loop values change)."""
    return {(_short(a), _short(b)) for a, b in hazards(_rows_of(fn, config))}


def _short(e):
    return e if isinstance(e, str) else e[:3]


def _rows_of(fn: Function, config: GemminiConfig) -> list:
    """The program's DRAM events with one event per row of every move."""
    out = []
    width = max(config.in_bytes, config.acc_bytes)
    for e in events(fn, config):
        if isinstance(e, tuple) or len(e.rows) <= 1 or e.span[0] == -float("inf"):
            out.append(e)
            continue
        rows = sorted(e.rows)
        ins = get(fn.body, e.path)
        cols = const_value(ins.args[2], dict(const_decls(fn), **_iters_env(fn, e)))
        if cols is None:
            out.append(e)
            continue
        stride = (e.span[1] - e.span[0] - cols * width) // (len(rows) - 1)
        for k, row in enumerate(rows):
            lo = e.span[0] + k * stride
            out.append(_Move(e.kind, e.array, (lo, lo + cols * width), frozenset({row}),
                             e.path, e.iters))
    return out


def _iters_env(fn, e) -> dict:
    loops = next((lps for p, _, lps in walk(fn.body) if p == e.path), ())
    return {lp.var: v for lp, v in zip(loops, e.iters)}


def find_multirow(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if not isinstance(s, For) or s.step != 1 or not s.body:
            continue
        if not all(isinstance(x, Instr) and x.op in MOVES + OTHERS for x in s.body):
            continue
        if not any(x.op in MOVES and const_value(x.args[3]) == 1 for x in s.body):
            continue
        t = trip_count(s, const_decls(fn))
        if t is None or t < 2:
            continue
        for r in sorted({min(config.dim, t), 2} if config.dim > 2 else {2}):
            out.append(app("multirow", path, f"move {r} iterations of loop {s.var} per "
                           "instruction (multi-row moves)", rows=r))
            if t % r:
                out.append(app("multirow", path, f"move {r} iterations of loop {s.var} per "
                               "instruction, the remainder in the loop's last group",
                               rows=r, tail=1))
    return out


TRANSFORMS = [
    Transform("multirow", ("merge_instructions", "loop_overhead", "faster_equivalent",
                           "less_data_movement"),
              "merge the single-row moves of consecutive loop iterations into multi-row "
              "moves", find_multirow, multirow, ("cpu", "latency")),
]
