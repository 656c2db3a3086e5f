"""Small tools over the IR that every transformation uses.

* Paths: a site is a tuple of child indices from the function body down to a
  statement. A `For` has its body as children; an `If` has ``then + orelse``.
* Building expressions: `add`, `mul`, ... fold constants so generated code stays
  readable; `fold` tidies a whole expression (and uses lowering.simplify when present).
* Substitution and variable sets.
* Evaluation of integer expressions with C semantics (`gemmini.cint`; for analyses
  only: nothing here executes program text, it interprets IR nodes).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

from gemmini import cint
from gemmini.ir import (ArrayDecl, Assign, BinOp, Call, Cast, Cond, Const, Decl, DramAddr, Expr,
                         FloatConst, For, Function, If, Instr, Load, Stmt, Store, UnOp, Var,
                         expr_children, stmt_exprs)

Path = tuple[int, ...]
Body = tuple[Stmt, ...]

# ----------------------------------------------------------------------------
# Paths
# ----------------------------------------------------------------------------


def children(s: Stmt) -> Body:
    if isinstance(s, For):
        return s.body
    if isinstance(s, If):
        return s.then + s.orelse
    return ()


def with_children(s: Stmt, kids: Body) -> Stmt:
    """``s`` with its children replaced (an If keeps the then/else split by count)."""
    if isinstance(s, For):
        return dataclasses.replace(s, body=tuple(kids))
    if isinstance(s, If):
        n = len(s.then)
        return dataclasses.replace(s, then=tuple(kids[:n]), orelse=tuple(kids[n:]))
    raise ValueError(f"{type(s).__name__} has no children")


def get(body: Body, path: Path) -> Stmt:
    s = body[path[0]]
    for i in path[1:]:
        s = children(s)[i]
    return s


def replace(body: Body, path: Path, new: Body) -> Body:
    """``body`` with the statement at ``path`` replaced by the statements ``new``.

    When replacing inside an If, the new statements stay in the same branch.
    """
    i = path[0]
    if len(path) == 1:
        return body[:i] + tuple(new) + body[i + 1:]
    parent = body[i]
    if isinstance(parent, If) and path[1] < len(parent.then):
        then = replace(parent.then, path[1:], new)
        return body[:i] + (dataclasses.replace(parent, then=then),) + body[i + 1:]
    if isinstance(parent, If):
        orelse = replace(parent.orelse, (path[1] - len(parent.then),) + path[2:], new)
        return body[:i] + (dataclasses.replace(parent, orelse=orelse),) + body[i + 1:]
    kids = replace(children(parent), path[1:], new)
    return body[:i] + (with_children(parent, kids),) + body[i + 1:]


def replace_fn(fn: Function, path: Path, new: Body) -> Function:
    return dataclasses.replace(fn, body=replace(fn.body, path, new))


def replace_block(fn: Function, path: Path, kids: Body) -> Function:
    """``fn`` with the children of the statement at ``path`` (the body for ``()``)
    replaced by ``kids``."""
    if not path:
        return dataclasses.replace(fn, body=tuple(kids))
    return replace_fn(fn, path, (with_children(get(fn.body, path), tuple(kids)),))


def parent_body(body: Body, path: Path) -> Body:
    """The statement list that holds the statement at ``path``."""
    if len(path) == 1:
        return body
    return children(get(body, path[:-1]))


def walk(body: Body, prefix: Path = (), loops: tuple[For, ...] = ()
         ) -> Iterator[tuple[Path, Stmt, tuple[For, ...]]]:
    """Every statement with its path and its enclosing loops (outermost first)."""
    for i, s in enumerate(body):
        p = prefix + (i,)
        yield p, s, loops
        if isinstance(s, For):
            yield from walk(s.body, p, loops + (s,))
        elif isinstance(s, If):
            yield from walk(s.then + s.orelse, p, loops)


def enclosing(body: Body, path: Path) -> list[tuple[Path, Stmt]]:
    """The statements on the way to ``path`` (excluding it), outermost first."""
    return [(path[:n], get(body, path[:n])) for n in range(1, len(path))]


def map_stmts(body: Body, f: Callable[[Stmt], Body | None]) -> Body:
    """Bottom-up rewrite: ``f`` returns replacement statements, or None to keep."""
    out: list[Stmt] = []
    for s in body:
        if isinstance(s, For):
            s = dataclasses.replace(s, body=map_stmts(s.body, f))
        elif isinstance(s, If):
            s = dataclasses.replace(s, then=map_stmts(s.then, f), orelse=map_stmts(s.orelse, f))
        r = f(s)
        out.extend((s,) if r is None else r)
    return tuple(out)


# ----------------------------------------------------------------------------
# Expressions
# ----------------------------------------------------------------------------


def c(v: int) -> Const:
    return Const(v)


def add(a: Expr, b: Expr) -> Expr:
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(a.value + b.value)
    if isinstance(b, Const) and b.value == 0:
        return a
    if isinstance(a, Const) and a.value == 0:
        return b
    if isinstance(b, Const) and b.value < 0:
        return BinOp("-", a, Const(-b.value))
    return BinOp("+", a, b)


def sub(a: Expr, b: Expr) -> Expr:
    if isinstance(b, Const):
        return add(a, Const(-b.value))
    return BinOp("-", a, b)


def mul(a: Expr, b: Expr) -> Expr:
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(a.value * b.value)
    if isinstance(a, Const):
        a, b = b, a
    if isinstance(b, Const):
        if b.value == 0:
            return Const(0)
        if b.value == 1:
            return a
    return BinOp("*", a, b)


def binop(op: str, a: Expr, b: Expr) -> Expr:
    if op == "+":
        return add(a, b)
    if op == "-":
        return sub(a, b)
    if op == "*":
        return mul(a, b)
    if isinstance(a, Const) and isinstance(b, Const):
        try:
            return Const(eval_expr(BinOp(op, a, b), {}))
        except (ArithmeticError, KeyError):
            pass
    return BinOp(op, a, b)


DATA_NODES = (Load, Cast, Call, FloatConst)


def is_data(e) -> bool:
    """``e`` reads array data, a float, a cast or a call (CPU code, `gemmini.cpu_code`)."""
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, DATA_NODES):
            return True
        stack.extend(expr_children(x))
    return False


def is_cpu_stmt(s: Stmt) -> bool:
    """A statement of CPU code on arrays or floats (or containing some): transformations
    treat it as a barrier they do not move, duplicate differently or delete."""
    for x in _walk_stmt(s):
        if isinstance(x, (Store, ArrayDecl)):
            return True
        if isinstance(x, Decl) and x.ctype in ("float", "double"):
            return True
        if not isinstance(x, Instr) and any(is_data(e) for e in stmt_exprs(x)):
            return True
    return False


def _walk_stmt(s: Stmt):
    yield s
    for c in children(s):
        yield from _walk_stmt(c)


def _fold_data(e):
    """Fold only the integer parts of a CPU expression (float arithmetic keeps its order)."""
    if not is_data(e):
        return fold(e)
    if isinstance(e, Load):
        return Load(e.array, fold(e.index))
    if isinstance(e, BinOp):
        return BinOp(e.op, _fold_data(e.lhs), _fold_data(e.rhs))
    if isinstance(e, UnOp):
        return UnOp(e.op, _fold_data(e.operand))
    if isinstance(e, Cond):
        return Cond(_fold_data(e.cond), _fold_data(e.then), _fold_data(e.orelse))
    if isinstance(e, Cast):
        return Cast(e.ctype, _fold_data(e.operand))
    if isinstance(e, Call):
        return Call(e.func, tuple(_fold_data(a) for a in e.args))
    return e


def fold(e):
    """Constant folding (lowering.simplify.simplify when available, else our own)."""
    if e is None or isinstance(e, (FloatConst,)):
        return e
    if isinstance(e, DramAddr):
        return DramAddr(e.array, fold(e.index))
    if is_data(e):
        return _fold_data(e)
    try:
        from lowering.simplify import simplify  # written in parallel; optional
    except ImportError:
        simplify = None
    if simplify is not None:
        try:
            return simplify(e)
        except Exception:  # a bug there must not break a rewrite; fall back
            pass
    return _fold(e)


def _fold(e: Expr) -> Expr:
    if isinstance(e, BinOp):
        a, b = _fold(e.lhs), _fold(e.rhs)
        if e.op == "+" and isinstance(b, Const) and isinstance(a, BinOp) and a.op in "+-" \
                and isinstance(a.rhs, Const):
            k = a.rhs.value if a.op == "+" else -a.rhs.value
            return add(a.lhs, Const(k + b.value))
        return binop(e.op, a, b)
    if isinstance(e, UnOp):
        o = _fold(e.operand)
        if isinstance(o, Const):
            return Const(eval_expr(UnOp(e.op, o), {}))
        return UnOp(e.op, o)
    if isinstance(e, Cond):
        cc = _fold(e.cond)
        if isinstance(cc, Const):
            return _fold(e.then) if cc.value else _fold(e.orelse)
        return Cond(cc, _fold(e.then), _fold(e.orelse))
    return e


def expr_vars(e, skip_mod: bool = False) -> set[str]:
    """The variables ``e`` reads; with ``skip_mod``, not those read only inside a ``%``
    (a copy index ``i % 2`` does not tell the iterations of ``i`` apart)."""
    if isinstance(e, Var):
        return {e.name}
    if isinstance(e, BinOp):
        if skip_mod and e.op == "%":
            return set()
        return expr_vars(e.lhs, skip_mod) | expr_vars(e.rhs, skip_mod)
    if isinstance(e, UnOp):
        return expr_vars(e.operand, skip_mod)
    if isinstance(e, Cond):
        return expr_vars(e.cond, skip_mod) | expr_vars(e.then, skip_mod) | \
            expr_vars(e.orelse, skip_mod)
    if isinstance(e, DramAddr):
        return expr_vars(e.index, skip_mod)
    kids = expr_children(e)
    return set().union(*(expr_vars(k, skip_mod) for k in kids)) if kids else set()


def has_mod(e) -> bool:
    """``e`` contains a ``%`` (a copy index such as ``4096 * (i % 2)``)."""
    if isinstance(e, BinOp):
        return e.op == "%" or has_mod(e.lhs) or has_mod(e.rhs)
    if isinstance(e, UnOp):
        return has_mod(e.operand)
    return any(has_mod(k) for k in expr_children(e))


def summands(e) -> list:
    """The terms of a sum (through ``+``)."""
    if isinstance(e, BinOp) and e.op == "+":
        return summands(e.lhs) + summands(e.rhs)
    return [e]


def sum_of(terms: list) -> Expr | None:
    """The sum of ``terms`` (None for none)."""
    out = None
    for t in terms:
        out = t if out is None else add(out, t)
    return out


def deep_vars(fn: Function, skip_mod: bool = False) -> Callable[[Expr], set[str]]:
    """``expr_vars`` that also sees through scalar locals: the variables an expression
    depends on, with each local replaced by the variables of its definitions."""
    direct: dict[str, set[str]] = {}
    for _, s, _ in walk(fn.body):
        if isinstance(s, Decl) and s.init is not None:
            direct.setdefault(s.name, set()).update(expr_vars(s.init, skip_mod))
        elif isinstance(s, Assign):
            direct.setdefault(s.name, set()).update(expr_vars(s.value, skip_mod))
    memo: dict[str, set[str]] = {}

    def close(name: str) -> set[str]:
        if name not in memo:
            seen, todo = {name}, [name]
            while todo:
                for v in direct.get(todo.pop(), ()):
                    if v not in seen:
                        seen.add(v)
                        todo.append(v)
            memo[name] = seen
        return memo[name]

    def vars_of(e) -> set[str]:
        out: set[str] = set()
        for v in expr_vars(e, skip_mod):
            out |= close(v)
        return out
    return vars_of


def subst_expr(e, m: dict[str, Expr]):
    if not m or e is None:
        return e
    if isinstance(e, Var):
        return m.get(e.name, e)
    if isinstance(e, BinOp):
        return BinOp(e.op, subst_expr(e.lhs, m), subst_expr(e.rhs, m))
    if isinstance(e, UnOp):
        return UnOp(e.op, subst_expr(e.operand, m))
    if isinstance(e, Cond):
        return Cond(subst_expr(e.cond, m), subst_expr(e.then, m), subst_expr(e.orelse, m))
    if isinstance(e, DramAddr):
        return DramAddr(e.array, subst_expr(e.index, m))
    if isinstance(e, Load):
        return Load(e.array, subst_expr(e.index, m))
    if isinstance(e, Cast):
        return Cast(e.ctype, subst_expr(e.operand, m))
    if isinstance(e, Call):
        return Call(e.func, tuple(subst_expr(a, m) for a in e.args))
    return e


def subst_stmt(s: Stmt, m: dict[str, Expr], tidy: bool = True) -> Stmt:
    """Substitute variables in a statement (stops inside a loop that rebinds a name)."""
    f = (lambda e: fold(subst_expr(e, m))) if tidy else (lambda e: subst_expr(e, m))
    if isinstance(s, Instr):
        return dataclasses.replace(s, args=tuple(f(a) for a in s.args))
    if isinstance(s, Decl):
        if s.ctype in ("float", "double"):       # float arithmetic keeps its written form
            return dataclasses.replace(s, init=None if s.init is None else subst_expr(s.init, m))
        return dataclasses.replace(s, init=None if s.init is None else f(s.init))
    if isinstance(s, Assign):
        return dataclasses.replace(s, value=f(s.value))
    if isinstance(s, Store):
        return dataclasses.replace(s, index=f(s.index), value=f(s.value))
    if isinstance(s, For):
        inner = {k: v for k, v in m.items() if k != s.var}
        return dataclasses.replace(s, lo=f(s.lo), hi=f(s.hi),
                                   body=subst_body(s.body, inner, tidy))
    if isinstance(s, If):
        return dataclasses.replace(s, cond=f(s.cond), then=subst_body(s.then, m, tidy),
                                   orelse=subst_body(s.orelse, m, tidy))
    return s


def subst_body(body: Body, m: dict[str, Expr], tidy: bool = True) -> Body:
    """Substitute variables in a statement list; a declaration of a substituted name
    shadows it for the rest of the list (C scoping), so only its initializer is rewritten."""
    out = []
    for s in body:
        out.append(subst_stmt(s, m, tidy))
        if isinstance(s, Decl) and s.name in m:
            m = {k: v for k, v in m.items() if k != s.name}
    return tuple(out)


def stmt_reads(s: Stmt) -> set[str]:
    """Scalar names a statement (and its children) reads."""
    if isinstance(s, Instr):
        return set().union(*(expr_vars(a) for a in s.args)) if s.args else set()
    if isinstance(s, Decl):
        return expr_vars(s.init) if s.init is not None else set()
    if isinstance(s, Assign):
        return expr_vars(s.value) | ({s.name} if s.op != "=" else set())
    if isinstance(s, For):
        return expr_vars(s.lo) | expr_vars(s.hi) | body_reads(s.body)
    if isinstance(s, If):
        return expr_vars(s.cond) | body_reads(s.then) | body_reads(s.orelse)
    if isinstance(s, Store):
        return expr_vars(s.index) | expr_vars(s.value)
    return set()


def body_reads(body: Body) -> set[str]:
    return set().union(*(stmt_reads(s) for s in body)) if body else set()


def stmt_writes(s: Stmt) -> set[str]:
    """Scalar names a statement (and its children) declares or assigns (loop vars too)."""
    if isinstance(s, (Decl, Assign)):
        return {s.name}
    if isinstance(s, For):
        return {s.var} | body_writes(s.body)
    if isinstance(s, If):
        return body_writes(s.then) | body_writes(s.orelse)
    return set()


def scalar_writes(s: Stmt) -> set[str]:
    """Scalars a statement declares or assigns, excluding loop variables it binds."""
    if isinstance(s, (Decl, Assign)):
        return {s.name}
    if isinstance(s, For):
        return set().union(*(scalar_writes(x) for x in s.body)) if s.body else set()
    if isinstance(s, If):
        return set().union(*(scalar_writes(x) for x in s.then + s.orelse)) \
            if s.then + s.orelse else set()
    return set()


def free_reads(body: Body) -> set[str]:
    """Scalars ``body`` reads that it does not bind itself (loop variables, declarations)."""
    out: set[str] = set()
    bound: set[str] = set()
    for s in body:
        if isinstance(s, For):
            inner = free_reads(s.body) - {s.var}
            out |= (expr_vars(s.lo) | expr_vars(s.hi) | inner) - bound
        elif isinstance(s, If):
            out |= (expr_vars(s.cond) | free_reads(s.then) | free_reads(s.orelse)) - bound
        else:
            out |= stmt_reads(s) - bound
            if isinstance(s, Decl):
                bound.add(s.name)
    return out


def body_writes(body: Body) -> set[str]:
    return set().union(*(stmt_writes(s) for s in body)) if body else set()


def all_names(fn: Function) -> set[str]:
    names = {p.name for p in fn.params}
    for _, s, _ in walk(fn.body):
        names |= stmt_writes(s) | stmt_reads(s)
        if isinstance(s, (ArrayDecl, Store)):        # local arrays of CPU code
            names.add(s.name if isinstance(s, ArrayDecl) else s.array)
    return names


def fresh(names: set[str], base: str) -> str:
    if base not in names:
        return base
    n = 2
    while f"{base}{n}" in names:
        n += 1
    return f"{base}{n}"


def instrs(body: Body) -> Iterator[tuple[Path, Instr, tuple[For, ...]]]:
    for p, s, loops in walk(body):
        if isinstance(s, Instr):
            yield p, s, loops


# ----------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------

def eval_expr(e, env: dict[str, int]) -> int:
    """Value of an integer expression with C semantics (`gemmini.cint`; every variable is
    ``int64_t``, as the analyses know no declarations); KeyError for an unknown variable,
    ArithmeticError (`cint.UndefinedBehavior`) for what C leaves undefined."""
    hit = _COMPILED.get(id(e))
    if hit is None or hit[0] is not e:
        if len(_COMPILED) > MAX_COMPILED:
            _COMPILED.clear()
        f, t = cint.compile_expr(e, {})
        hit = _COMPILED[id(e)] = (e, f, t)
    return cint.value(hit[1](env), hit[2])


MAX_COMPILED = 200_000
_COMPILED: dict[int, tuple] = {}    # id -> (expression, evaluator, type); holds the
                                    # expression so its id is not reused while cached


def const_value(e, env: dict[str, int] | None = None) -> int | None:
    """The value of ``e`` if it is constant (given ``env``), else None."""
    try:
        return eval_expr(e, env or {})
    except (KeyError, ArithmeticError, TypeError):
        return None


def trip_count(loop: For, env: dict[str, int] | None = None) -> int | None:
    lo, hi = const_value(loop.lo, env), const_value(loop.hi, env)
    if lo is None or hi is None:
        return None
    return max(0, -(-(hi - lo) // loop.step))


def const_decls(fn: Function) -> dict[str, int]:
    """Scalar locals declared once with a constant value and never assigned."""
    decls: dict[str, list[Decl]] = {}
    assigned: set[str] = set()
    for _, s, _ in walk(fn.body):
        if isinstance(s, Decl):
            decls.setdefault(s.name, []).append(s)
        elif isinstance(s, Assign):
            assigned.add(s.name)
    out = {}
    for name, ds in decls.items():
        if name in assigned:
            continue
        vals = {const_value(d.init) if d.init is not None else None for d in ds}
        if len(vals) == 1 and None not in vals:
            out[name] = vals.pop()
    return out
