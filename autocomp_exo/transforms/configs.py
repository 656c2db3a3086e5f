"""Merging the load configurations of a loop into the three load states (menu items hoist,
loop_overhead).

A straightforward mapping configures load state 0 before every group of moves, so the
configurations inside a loop alternate (``config_ld(4, 1.0f, 0)``, ``config_ld(48, 1.0f,
0)``, ...) and none can be hoisted. ``load_state`` takes one class of identical load
configurations (same stride, scale and block stride on state ``i``), gives it a load state
``j`` no instruction uses (``j == i`` when the class is already the only writer of ``i``),
moves the moves it governs to that state (``mvin`` -> ``mvin2`` / ``mvin3``) and issues the
configuration once, at the top of the kernel:

    for t { config_ld(4, 1.0f, 0); mvin(&x[..]); config_ld(48, 1.0f, 0); mvin(&A[..]); }
 -> config_ld(48, 1.0f, 1); for t { config_ld(4, 1.0f, 0); mvin(&x[..]); mvin2(&A[..]); }

Legality, from an enumeration of the program: every execution of a move the class governs
(the last configuration of its state before it belongs to the class) is governed by the
class, and no other move is; state ``j`` is written by the class alone afterwards, with one
value, so every move reads the stride and scale it read before.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GemminiConfig
from gemmini.ir import Const, For, Function, If, Instr, Var, walk_exprs
from gemmini.isa import LOAD_IDS

from .base import Application, NotApplicable, Transform, app
from .ir_util import const_decls, const_value, get, instrs

MAX_CONFIG_EVENTS = 20_000
OP_OF_STATE = {v: k for k, v in LOAD_IDS.items()}


def _state(ins: Instr) -> int | None:
    return const_value(ins.args[4]) if ins.args[4] is not None else 0


def _key(ins: Instr):
    return (_state(ins),) + tuple(a for k, a in enumerate(ins.args) if k != 4)


def governors(fn: Function) -> dict:
    """Path of each move-in (move-out) statement -> the set of paths of the load (store)
    configurations that govern its executions (None: the state's reset value)."""
    out: dict = {}
    last: dict = {}
    count = [0]

    def run(body, env, path, offset=0):
        for i, s in enumerate(body):
            here = path + (offset + i,)
            if isinstance(s, Instr):
                count[0] += 1
                if count[0] > MAX_CONFIG_EVENTS:
                    raise NotApplicable("program too large to enumerate its configurations")
                if s.op == "config_ld":
                    st = _state(s)
                    if st is None:
                        raise NotApplicable("a load state that is not a constant")
                    last[st] = here
                elif s.op == "config_st":
                    last["st"] = here
                elif s.op in LOAD_IDS:
                    out.setdefault(here, set()).add(last.get(LOAD_IDS[s.op]))
                elif s.op == "mvout":
                    out.setdefault(here, set()).add(last.get("st"))
                elif s.op == "loop_ws":
                    raise NotApplicable("the FSM configures loads itself")
            elif isinstance(s, For):
                lo, hi = const_value(s.lo, env), const_value(s.hi, env)
                if lo is None or hi is None:
                    raise NotApplicable(f"loop {s.var} has unknown bounds")
                for v in range(lo, hi, s.step):
                    run(s.body, dict(env, **{s.var: v}), here)
            elif isinstance(s, If):
                cv = const_value(s.cond, env)
                if cv is None:
                    raise NotApplicable("a condition the enumeration cannot decide")
                run(s.then if cv else s.orelse, env, here, 0 if cv else len(s.then))

    run(fn.body, dict(const_decls(fn)), ())
    return out


def load_state(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Issue the class of load configurations identical to the one at the site once, at
    the top, on load state ``state`` (see the module docstring)."""
    site, j = a.site, a.p["state"]
    ins = get(fn.body, site)
    if not (isinstance(ins, Instr) and ins.op == "config_ld"):
        raise NotApplicable("site is not a load configuration")
    if j not in OP_OF_STATE:
        raise NotApplicable(f"no load state {j}")
    if any(isinstance(e, Var) for x in ins.args if x is not None for e in walk_exprs([x])):
        raise NotApplicable("the configuration depends on variables")
    i = _state(ins)
    cls = {p for p, x, _ in instrs(fn.body) if x.op == "config_ld" and _key(x) == _key(ins)}
    others_i = {p for p, x, _ in instrs(fn.body) if x.op == "config_ld" and _state(x) == i} - cls
    if j != i and any((x.op == "config_ld" and _state(x) == j) or LOAD_IDS.get(x.op) == j
                      for _, x, _ in instrs(fn.body)):
        raise NotApplicable(f"load state {j} is in use")
    if j == i and others_i:
        raise NotApplicable(f"other configurations of load state {i} remain")
    if len(cls) == 1 and len(site) == 1:
        raise NotApplicable("already issued once, outside every loop")
    gov = governors(fn)
    moved = set()
    for path, by in gov.items():
        mine = {p in cls for p in by}
        if mine == {True, False}:
            raise NotApplicable("a move reads the class's configuration in some executions only")
        if True in mine:
            moved.add(path)
    if not moved:
        raise NotApplicable("the configuration governs no move")
    op = OP_OF_STATE[j]
    args = ins.args[:4] + (Const(j),)

    def rewrite(s, path):
        if path in cls:
            return ()
        if path in moved:
            return (dataclasses.replace(s, op=op),)
        return None

    body = _map_paths(fn.body, (), rewrite)
    return dataclasses.replace(fn, body=(dataclasses.replace(ins, args=args),) + body)


def _map_paths(body, path, f, offset=0):
    """``body`` with every instruction at path p replaced by ``f(s, p)`` (a tuple of
    statements; None keeps it); paths index ``then + orelse`` of an ``if``."""
    out = []
    for i, s in enumerate(body):
        here = path + (offset + i,)
        if isinstance(s, Instr):
            r = f(s, here)
            out.extend((s,) if r is None else r)
            continue
        if isinstance(s, For):
            s = dataclasses.replace(s, body=_map_paths(s.body, here, f))
        elif isinstance(s, If):
            s = dataclasses.replace(s, then=_map_paths(s.then, here, f),
                                    orelse=_map_paths(s.orelse, here, f, len(s.then)))
        out.append(s)
    return tuple(out)


def store_config(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Every store configuration is the same constant one and every move-out reads one:
    issue it once, at the top."""
    ins = get(fn.body, a.site)
    if not (isinstance(ins, Instr) and ins.op == "config_st"):
        raise NotApplicable("site is not a store configuration")
    if any(isinstance(e, Var) for x in ins.args if x is not None for e in walk_exprs([x])):
        raise NotApplicable("the configuration depends on variables")
    sites = {p for p, x, _ in instrs(fn.body) if x.op == "config_st"}
    if any(get(fn.body, p).args != ins.args for p in sites):
        raise NotApplicable("the store configurations differ")
    if len(sites) == 1 and len(a.site) == 1:
        raise NotApplicable("already issued once, outside every loop")
    for path, by in governors(fn).items():
        if get(fn.body, path).op == "mvout" and None in by:
            raise NotApplicable("a move-out runs before any store configuration")
    body = _map_paths(fn.body, (), lambda s, p: () if p in sites else None)
    return dataclasses.replace(fn, body=(ins,) + body)


def find_store_config(fn: Function, config: GemminiConfig) -> list[Application]:
    sts = [(p, x) for p, x, _ in instrs(fn.body) if x.op == "config_st"]
    if len(sts) < 2 or any(x.args != sts[0][1].args for _, x in sts):
        return []
    return [app("store_config", sts[0][0], "issue the (single) store configuration once, "
                "before everything")]


def find_load_state(fn: Function, config: GemminiConfig) -> list[Application]:
    used = {_state(x) for _, x, _ in instrs(fn.body) if x.op == "config_ld"} | \
        {LOAD_IDS[x.op] for _, x, _ in instrs(fn.body) if x.op in LOAD_IDS}
    seen, out = set(), []
    for path, x, _ in instrs(fn.body):
        if x.op != "config_ld" or _key(x) in seen:
            continue
        seen.add(_key(x))
        i = _state(x)
        alone = all(_key(y) == _key(x) for _, y, _ in instrs(fn.body)
                    if y.op == "config_ld" and _state(y) == i)
        for j in sorted(({i} if alone else set()) | (set(OP_OF_STATE) - used)):
            out.append(app("load_state", path, f"issue the load configuration of line "
                           f"{x.line or '?'} once, on load state {j}", state=j))
    return out


TRANSFORMS = [
    Transform("load_state", ("hoist", "loop_overhead", "merge_instructions"),
              "give a class of identical load configurations a load state of its own and "
              "issue it once", find_load_state, load_state, ("cpu",)),
    Transform("store_config", ("hoist", "loop_overhead"),
              "issue the store configuration once when every one is the same",
              find_store_config, store_config, ("cpu",)),
]

