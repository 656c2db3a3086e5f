"""What a transformation is, and the shared legality helpers.

A `Transform` pairs an applicability analysis (``find(fn, config)`` lists every
`Application`: where and with which parameters it applies) with a pure rewrite
(``apply(fn, app, config) -> Function``). ``apply`` raises `NotApplicable` when
its legality check fails; it never mutates its input (the IR is immutable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from gemmini.config import GemminiConfig
from gemmini.errors import AutocompError
from gemmini.ir import Assign, Decl, For, Function, If, Instr, walk_stmts

from .deps import (MAX_TRIPS, Summary, TraceState, Unanalyzable, independent, steady_configs,
                   summarize)
from .ir_util import (Body, Path, children, const_decls, const_value, enclosing, eval_expr,
                      is_cpu_stmt, walk)
from .regions import block_strides


class NotApplicable(AutocompError):
    """A transformation's precondition or legality check failed at this site."""


class Dependent(NotApplicable):
    """The legality check found a dependence between statements the rewrite reorders."""


@dataclass(frozen=True)
class Application:
    """One concrete use of a transformation: site and parameters."""
    transform: str
    site: Path
    params: tuple[tuple[str, Any], ...] = ()
    note: str = ""             # one line for plans, e.g. "split loop j (8 trips) by 4"

    @property
    def p(self) -> dict[str, Any]:
        return dict(self.params)

    def to_data(self) -> dict[str, Any]:
        return {"transform": self.transform, "site": list(self.site),
                "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params},
                "note": self.note}

    @staticmethod
    def from_data(d: dict[str, Any]) -> "Application":
        params = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                              for k, v in d.get("params", {}).items()))
        return Application(d["transform"], tuple(d["site"]), params, d.get("note", ""))


@dataclass(frozen=True)
class Transform:
    name: str
    menu: tuple[str, ...]                      # keys of the menu items it serves
    summary: str                               # one sentence for plan text
    find: Callable[[Function, GemminiConfig], list[Application]]
    apply: Callable[[Function, Application, GemminiConfig], Function]
    tags: tuple[str, ...] = field(default=())  # hints for feedback-guided choice: load, cpu, ...


def app(name: str, site: Path, note: str, **params) -> Application:
    return Application(name, tuple(site), tuple(sorted(params.items())), note)


# ----------------------------------------------------------------------------
# Legality helpers
# ----------------------------------------------------------------------------


def executions(fn: Function, limit: int | None = None):
    """Every executed instruction and statement of CPU code (one holding no instruction),
    in program order and lazily, as ``(path, statement, env, iters)``: ``env`` the scalars
    known there (loop variables, constant declarations), ``iters`` the values of the
    enclosing loops, outermost first; a path into an ``else`` counts on from the ``then``
    branch. NotApplicable when a loop bound or a condition cannot be known without
    inputs, or after ``limit`` statements."""
    count = 0

    def run(body, env, path, offset, iters):
        nonlocal count
        for i, s in enumerate(body):
            here = path + (offset + i,)
            if isinstance(s, Instr) or (is_cpu_stmt(s) and not any(
                    isinstance(x, Instr) for x in walk_stmts([s]))):
                count += 1
                if limit is not None and count > limit:
                    raise NotApplicable("too many statements to enumerate")
                yield here, s, env, iters
            elif isinstance(s, Decl):
                v = const_value(s.init, env) if s.init is not None else None
                env = dict(env, **{s.name: v}) if v is not None else \
                    {k: x for k, x in env.items() if k != s.name}
            elif isinstance(s, Assign):
                env = {k: x for k, x in env.items() if k != s.name}
            elif isinstance(s, For):
                lo, hi = const_value(s.lo, env), const_value(s.hi, env)
                if lo is None or hi is None:
                    raise NotApplicable(f"loop {s.var} has unknown bounds")
                for v in range(lo, hi, s.step):
                    yield from run(s.body, dict(env, **{s.var: v}), here, 0, iters + (v,))
            elif isinstance(s, If):
                cv = const_value(s.cond, env)
                if cv is None:
                    raise NotApplicable("a condition the enumeration cannot decide")
                yield from run(s.then if cv else s.orelse, env, here,
                               0 if cv else len(s.then), iters)
    return run(fn.body, dict(const_decls(fn)), (), 0, ())


def site_envs(fn: Function, path: Path) -> list[dict[str, int]]:
    """Environments for the enclosing loops of ``path``: all at their first value,
    then all at their second value (when they have one)."""
    base = dict(const_decls(fn))
    loops = [s for _, s in enclosing(fn.body, path) if isinstance(s, For)]
    envs = []
    for which in (0, 1):
        env = dict(base)
        ok = True
        for lp in loops:
            lo, hi = const_value(lp.lo, env), const_value(lp.hi, env)
            if lo is None or hi is None:
                ok = False
                break
            v = lo + which * lp.step
            env[lp.var] = v if v < hi else lo
        if ok:
            bind_locals(fn, path, env)
        if ok and env not in envs:
            envs.append(env)
    if not envs:
        raise NotApplicable("enclosing loop bounds are not constant")
    return envs


def bind_locals(fn: Function, path: Path, env: dict[str, int]):
    """Add to ``env`` the scalar locals declared (and never assigned) before ``path`` in
    the bodies enclosing it, evaluated with the loop variables already in ``env``."""
    assigned = {s.name for _, s, _ in walk(fn.body) if isinstance(s, Assign)}
    body = fn.body
    for idx in path:
        for s in body[:idx]:
            if isinstance(s, Decl) and s.init is not None and s.name not in assigned:
                try:
                    env[s.name] = eval_expr(s.init, env)
                except (KeyError, ArithmeticError, TypeError):
                    pass
        if idx >= len(body):
            break
        body = children(body[idx])


def new_state(fn: Function, config: GemminiConfig) -> TraceState:
    return TraceState(config, block_stride=block_strides(fn, config), steady=steady_configs(fn))


def summary_of(fn: Function, config: GemminiConfig, body: Body, env: dict) -> Summary:
    try:
        return summarize(body, env, new_state(fn, config))
    except Unanalyzable as exc:
        raise NotApplicable(f"dependence analysis failed: {exc}") from None


def require_independent(a: Summary, b: Summary, what: str):
    if not independent(a, b):
        raise Dependent(f"dependence: {what}")


def sample_values(loop: For, env: dict) -> list[int]:
    lo, hi = const_value(loop.lo, env), const_value(loop.hi, env)
    if lo is None or hi is None:
        raise NotApplicable(f"loop {loop.var} has non-constant bounds")
    vals = range(lo, hi, loop.step)
    return list(vals) if len(vals) <= MAX_TRIPS + 1 else [vals[0], vals[1], vals[2], vals[-1]]
