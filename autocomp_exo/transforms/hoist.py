"""Hoisting loop-invariant work out of loops (menu items hoist, loop_overhead).

hoist   ``for i { config_ld(...); mvin3(&B[..k..], b + ..k.., ...); S(i) }``
     -> ``config_ld(...); mvin3(...); for i { S(i) }``
        A statement moves out of its loop when it does not depend on the loop
        variable or anything the loop assigns, nothing else in the loop writes what it
        writes or reads, and the statements before it in the body (first iteration)
        are independent of it. A redundant config (same operands as the one before,
        nothing in between) is removed instead.
decls   constant scalar declarations move to the top of the function (names are unique).
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GemminiConfig
from gemmini.ir import Decl, For, Function, Instr

from .base import (Application, NotApplicable, Transform, app, require_independent, sample_values,
                   site_envs, summary_of)
from .ir_util import (body_writes, const_value, get, instrs, is_cpu_stmt, map_stmts, replace_fn,
                      stmt_reads,
                      stmt_writes, walk)

CONFIG_OPS = ("config_ld", "config_st", "config_ex")


def hoist(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Move the statement at the site out of its enclosing loop (placed before it)."""
    path = a.site
    if len(path) < 2:
        raise NotApplicable("statement is not inside a loop")
    loop = get(fn.body, path[:-1])
    if not isinstance(loop, For):
        raise NotApplicable("parent is not a loop")
    idx = path[-1]
    stmt = loop.body[idx]
    if is_cpu_stmt(stmt):
        raise NotApplicable("CPU code stays where it is")
    others = loop.body[:idx] + loop.body[idx + 1:]
    changed = body_writes(loop.body) - (stmt_writes(stmt) if isinstance(stmt, Decl) else set())
    if stmt_reads(stmt) & (changed | {loop.var}):
        raise NotApplicable("statement depends on the loop")
    if isinstance(stmt, Decl):
        if sum(1 for _, s, _ in walk(fn.body) if isinstance(s, Decl) and s.name == stmt.name) > 1:
            raise NotApplicable("name declared more than once")
    elif isinstance(stmt, (Instr, For)):
        if any(i.op == "loop_ws" for _, i, _ in instrs((stmt,))):
            raise NotApplicable("opaque instruction")
        for env in site_envs(fn, path):
            mine = summary_of(fn, config, (stmt,), env)
            for v in sample_values(loop, env):
                e = dict(env, **{loop.var: v})
                rest = summary_of(fn, config, others, e)
                if (rest.writes | rest.accs) & (mine.writes | mine.exposed | mine.accs) or \
                        mine.dram_writes or (mine.dram_reads & {x for x, _ in rest.dram_writes}):
                    raise NotApplicable("the loop overwrites what the statement reads or writes")
                if mine.exposed & mine.writes:
                    raise NotApplicable("statement is not idempotent")
            first = dict(env, **{loop.var: sample_values(loop, env)[0]})
            before = summary_of(fn, config, loop.body[:idx], first)
            require_independent(before, mine, "statements before it in the first iteration")
    else:
        raise NotApplicable("cannot hoist this statement")
    new_loop = dataclasses.replace(loop, body=others)
    if not others:
        return replace_fn(fn, path[:-1], (stmt,))
    return replace_fn(fn, path[:-1], (stmt, new_loop))


def find_hoist(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, loops in walk(fn.body):
        if not loops or len(path) < 2 or not isinstance(get(fn.body, path[:-1]), For):
            continue
        loop = get(fn.body, path[:-1])
        if is_cpu_stmt(s):
            continue
        if isinstance(s, (Instr, Decl)) or (isinstance(s, For) and all(
                isinstance(x, Instr) for x in s.body)):
            changed = body_writes(loop.body) - (stmt_writes(s) if isinstance(s, Decl) else set())
            if stmt_reads(s) & (changed | {loop.var}):
                continue
            if isinstance(s, Instr) and s.op in ("preload", "compute_preloaded",
                                                 "compute_accumulated", "mvout"):
                continue
            what = s.op if isinstance(s, Instr) else ("declaration of " + s.name
                                                      if isinstance(s, Decl) else "loop " + s.var)
            out.append(app("hoist", path, f"hoist the loop-invariant {what} out of loop "
                           f"{loop.var}"))
    return out


def hoist_decls(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Move constant, uniquely named scalar declarations to the top of the function."""
    counts: dict[str, int] = {}
    for _, s, _ in walk(fn.body):
        if isinstance(s, Decl):
            counts[s.name] = counts.get(s.name, 0) + 1
    movable = [s for p, s, loops in walk(fn.body) if isinstance(s, Decl) and len(p) > 1
               and counts[s.name] == 1 and s.init is not None and const_value(s.init) is not None]
    if not movable:
        raise NotApplicable("no nested constant declarations")
    names = {d.name for d in movable}
    body = map_stmts(fn.body, lambda s: () if isinstance(s, Decl) and s.name in names else None)
    return dataclasses.replace(fn, body=tuple(movable) + body)


def find_hoist_decls(fn, config):
    nested = [s.name for p, s, _ in walk(fn.body) if isinstance(s, Decl) and len(p) > 1
              and s.init is not None and const_value(s.init) is not None]
    return [app("hoist_decls", (), "move the buffer address declarations " + ", ".join(nested)
                + " to the top of the function")] if nested else []


def drop_redundant_configs(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Remove a config instruction identical to the previous one of its kind at the same level."""
    def visit_body(body):
        last: dict = {}
        out = []
        for s in body:
            if isinstance(s, Instr) and s.op in CONFIG_OPS:
                key = (s.op, s.args[4] if s.op == "config_ld" else None)
                if last.get(key) == s.args:
                    continue
                last[key] = s.args
            elif not isinstance(s, Instr) or s.op == "loop_ws":
                last = {}
            out.append(s)
        return tuple(out)

    def visit(s):
        if isinstance(s, For):
            return (dataclasses.replace(s, body=visit_body(s.body)),)
        return None

    new = dataclasses.replace(fn, body=visit_body(map_stmts(fn.body, visit)))
    if new == fn:
        raise NotApplicable("no redundant configs")
    return new


def find_drop_configs(fn, config):
    try:
        drop_redundant_configs(fn, None, config)
    except NotApplicable:
        return []
    return [app("drop_configs", (), "remove repeated identical configs")]


TRANSFORMS = [
    Transform("hoist", ("hoist", "loop_overhead"),
              "hoist a loop-invariant statement out of its loop",
              find_hoist, hoist, ("cpu", "load")),
    Transform("hoist_decls", ("hoist",), "move constant buffer declarations to the top",
              find_hoist_decls, hoist_decls, ("cpu",)),
    Transform("drop_configs", ("hoist", "less_data_movement"),
              "remove repeated configs", find_drop_configs,
              drop_redundant_configs, ("cpu",)),
]
