"""Statement reordering (menu item reorder_statements).

    S1; LOAD;   ->   LOAD; S1;      when LOAD and S1 are independent

Moves a statement one place up (params ``up=1``) or several places, checking that it
is independent of every statement it passes (bounded enumeration) and, when it passes a
fence, that no DRAM access pair the fence ordered is left unordered (`fences.hazards`). Useful to issue
loads earlier, ahead of work they do not feed, so the load engine starts sooner.
"""

from __future__ import annotations


from gemmini.config import GemminiConfig
from gemmini.ir import Decl, Function, Instr

from .base import Application, NotApplicable, Transform, app, require_independent, site_envs, \
    summary_of
from .buffering import is_load_stmt
from .fences import contains_fence, unfenced_by
from .ir_util import parent_body, replace_block, stmt_reads, stmt_writes, walk


def move_up(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Move the statement at the site ``up`` positions earlier in its block."""
    path, up = a.site, a.p.get("up", 1)
    body = parent_body(fn.body, path)
    i = path[-1]
    if up < 1 or i - up < 0:
        raise NotApplicable("cannot move that far")
    s = body[i]
    passed = body[i - up:i]
    for q in passed:
        if isinstance(q, Decl) or (stmt_writes(q) & stmt_reads(s)) or \
                (stmt_writes(s) & (stmt_reads(q) | stmt_writes(q))):
            raise NotApplicable("scalar dependence")
    for env in site_envs(fn, path):
        mine = summary_of(fn, config, (s,), env)
        other = summary_of(fn, config, passed, env)
        require_independent(mine, other, "statements passed over")
    new = body[:i - up] + (s,) + passed + body[i + 1:]
    out = replace_block(fn, path[:-1], new)
    if contains_fence(passed) and unfenced_by(fn, out, config):
        raise NotApplicable("the move takes a DRAM access across the fence that orders it")
    return out


def _passable(s) -> bool:
    """A statement a load may be moved above (not a declaration, load or config)."""
    if isinstance(s, Decl) or is_load_stmt(s):
        return False
    return not (isinstance(s, Instr) and s.op.startswith("config"))


def find_move_up(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    for path, s, _ in walk(fn.body):
        if not is_load_stmt(s) or path[-1] == 0:
            continue
        body = parent_body(fn.body, path)
        i = path[-1]
        up = 0
        while i - up - 1 >= 0 and _passable(body[i - up - 1]):
            up += 1
        if up:
            what = s.op if isinstance(s, Instr) else "loads"
            out.append(app("move_up", path, f"issue the {what} {up} statement(s) earlier, before "
                           f"the work it does not depend on", up=up))
    return out


TRANSFORMS = [
    Transform("move_up", ("reorder_statements", "pipeline"),
              "move a statement earlier past independent work",
              find_move_up, move_up, ("overlap",)),
]
