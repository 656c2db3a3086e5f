"""Compile an IR `Function` into a flat trace of concrete Gemmini instructions.

The program is never executed as Python: statements are walked and expressions
are evaluated by closures over numpy arrays. Loops whose body does not assign an
outer variable are expanded *in parallel*: every iteration becomes one
"context", and the body is evaluated once for all contexts with array-valued
variables. Other loops are stepped one iteration at a time (still vectorized
over the enclosing contexts). Every emitted item carries its context and its
position inside the context, so program order is restored at the end by a sort.

The CPU cost of the scalar code (loop overhead, address arithmetic, local
assignments, branches) is gathered along the way as *cost items* and folded
into the instruction that follows them (`Trace.cpu_pre`), so the timing model
needs no knowledge of the loop structure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from gemmini import cint, cpu_code, isa
from gemmini.config import GemminiConfig, TimingParams
from gemmini import ir
from gemmini.errors import HardwareError

# Op codes of the trace: an instruction's position in the ISA table.
OPS = tuple(isa.SPECS)
OP_CODE = {name: i for i, name in enumerate(OPS)}
SPEC_OF = tuple(isa.SPECS.values())       # op code -> its InstrSpec
CONFIG_EX, CONFIG_LD, CONFIG_ST, MVOUT, PRELOAD, COMPUTE_P, COMPUTE_A, FENCE, LOOP_WS = (
    OP_CODE[name] for name in ("config_ex", "config_ld", "config_st", "mvout", "preload",
                               "compute_preloaded", "compute_accumulated", "fence", "loop_ws"))
MVIN_LOAD_ID = {OP_CODE[s.op]: s.load_id for s in SPEC_OF if s.cost == isa.MOVE_IN}
MVIN_OPS = tuple(MVIN_LOAD_ID)            # the move-in op codes


def int_column(op: str, operand: str) -> int:
    """The `Trace.ints` column that holds integer, local or DRAM operand ``operand`` of ``op``."""
    return [o.name for o in isa.SPECS[op].operands if o.role != isa.FLOAT].index(operand)

N_INTS = 6
PIECE_ROWS = 1 << 17      # instructions per piece of a streamed trace (`iter_trace`)


@dataclass(frozen=True)
class Trace:
    """The dynamic instruction sequence of one run, as columns (one row per instruction).

    ``ints`` holds the integer operands in canonical order (local addresses masked to
    32 bits; for mv ops: dram element index, local, cols, rows; for config_ld: stride,
    shrunk, block_stride, id; for config_st: stride, act); ``floats`` the scale of a
    config; ``dram`` the array-parameter index of a DRAM operand (-1: none / zero).
    ``cpu_pre`` is the CPU cost of the scalar code executed since the previous
    instruction, ``cpu_issue`` the cost of the instruction's own operand arithmetic
    and issue. ``loop_ws`` maps a row to its evaluated operands.
    """

    op: np.ndarray
    sid: np.ndarray
    ints: np.ndarray
    floats: np.ndarray
    dram: np.ndarray
    cpu_pre: np.ndarray
    cpu_issue: np.ndarray
    cpu_tail: int
    instrs: tuple[ir.Instr, ...]
    arrays: tuple[str, ...]
    loop_ws: dict
    cpu_blocks: tuple = ()      # CpuBlock: CPU code the machine runs (gemmini.cpu_code)
    cpu_events: tuple = ()      # (row, block, control values): run block before row, in order
    cpu_params: tuple = ()      # (name, value) of the scalar parameters (CPU code reads them)

    def __len__(self) -> int:
        return len(self.op)

    def where(self, k: int) -> str:
        """`op (line N)` of trace row k, for error messages."""
        ins = self.instrs[int(self.sid[k])]
        return f"{ins.op} (line {ins.line})" if ins.line else ins.op


@dataclass(frozen=True)
class CpuBlock:
    """A maximal run of CPU statements of one block (`gemmini.cpu_code`), the control
    variables it reads (``names``) and their C types."""
    stmts: tuple
    names: tuple[str, ...]
    types: tuple

    @property
    def line(self) -> int:
        return next((s.line for s in self.stmts if s.line), 0)


@dataclass(frozen=True)
class CpuCost:
    """CPU cycles of a trace supplied from outside the model (e.g. priced from compiled
    code): per row the scalar code before it (``pre``) and its own issue (``issue``),
    the code after the last row (``tail``), and what priced it (``source``)."""
    pre: np.ndarray
    issue: np.ndarray
    tail: int
    source: str


def with_cpu_cost(trace: Trace, cost: CpuCost) -> Trace:
    """``trace`` with its CPU cost columns replaced by ``cost``."""
    if len(cost.pre) != len(trace) or len(cost.issue) != len(trace):
        raise ValueError(f"CPU cost for {len(cost.pre)} instructions, the trace has "
                         f"{len(trace)}")
    return dataclasses.replace(trace, cpu_pre=np.asarray(cost.pre, dtype=np.int64),
                               cpu_issue=np.asarray(cost.issue, dtype=np.int64),
                               cpu_tail=int(cost.tail))


# ----------------------------------------------------------------------------
# Expressions -> closures over an environment of numpy arrays / python scalars, with
# the C integer semantics of gemmini.cint (variable types: declared locals their C
# type, scalar parameters int, loop variables cint.UNTYPED)
# ----------------------------------------------------------------------------

Env = dict
Evaluator = Callable[[Env], object]


def _is_float(x) -> bool:
    return isinstance(x, float) or (isinstance(x, np.ndarray) and x.dtype.kind == "f")


def count_ops(e) -> int:
    """Number of ALU operations the CPU spends on expression `e` (as written)."""
    if isinstance(e, ir.BinOp):
        return 1 + count_ops(e.lhs) + count_ops(e.rhs)
    if isinstance(e, ir.UnOp):
        return 1 + count_ops(e.operand)
    if isinstance(e, ir.Cond):
        return 1 + count_ops(e.cond) + count_ops(e.then) + count_ops(e.orelse)
    if isinstance(e, ir.DramAddr):
        return count_ops(e.index) + 1  # base + index
    return 0


def _vars_of(e) -> set[str]:
    if isinstance(e, ir.Var):
        return {e.name}
    if isinstance(e, ir.BinOp):
        return _vars_of(e.lhs) | _vars_of(e.rhs)
    if isinstance(e, ir.UnOp):
        return _vars_of(e.operand)
    if isinstance(e, ir.Cond):
        return _vars_of(e.cond) | _vars_of(e.then) | _vars_of(e.orelse)
    if isinstance(e, ir.DramAddr):
        return _vars_of(e.index)
    return set()


def _free_assigns(stmts, declared: frozenset = frozenset()) -> set[str]:
    """Names assigned in `stmts` that are not declared inside them (scope aware)."""
    out: set[str] = set()
    decl = set(declared)
    for s in stmts:
        if isinstance(s, ir.Decl):
            decl.add(s.name)
        elif isinstance(s, ir.Assign):
            if s.name not in decl:
                out.add(s.name)
        elif isinstance(s, ir.For):
            out |= _free_assigns(s.body, frozenset(decl | {s.var}))
            if s.var not in decl and _assigns(s.body, s.var):
                out.add(s.var)
        elif isinstance(s, ir.If):
            out |= _free_assigns(s.then, frozenset(decl))
            out |= _free_assigns(s.orelse, frozenset(decl))
    return out


def _inductions(loop: ir.For, free: set[str]) -> dict | None:
    """Induction variables of `loop`: ``v += c`` / ``v -= c`` once, at the top level of the
    body, with ``c`` loop invariant. Maps name -> (sign, c); None if some free
    assignment is of another kind."""
    if not free:
        return {}
    found: dict = {}
    for st in loop.body:
        if isinstance(st, ir.Assign) and st.name in free:
            if st.op not in ("+=", "-=") or st.name in found:
                return None
            if _vars_of(st.value) & (free | {loop.var}) or _assigns_any(loop.body, _vars_of(
                    st.value)):
                return None
            found[st.name] = (1 if st.op == "+=" else -1, st.value)
    if set(found) != free:
        return None
    for st in loop.body:       # no other assignment (nested, or in a branch) to them
        if not isinstance(st, ir.Assign) and any(_assigns([st], v) for v in found):
            return None
    return found


def _assigns_any(stmts, names: set[str]) -> bool:
    return any(_assigns(stmts, v) for v in names)


def _assigns(stmts, name: str) -> bool:
    for s in stmts:
        if isinstance(s, ir.Assign) and s.name == name:
            return True
        if isinstance(s, ir.For) and _assigns(s.body, name):
            return True
        if isinstance(s, ir.If) and (_assigns(s.then, name) or _assigns(s.orelse, name)):
            return True
    return False


# ----------------------------------------------------------------------------
# Statement expansion
# ----------------------------------------------------------------------------

@dataclass
class _Group:
    """Emitted items of one static statement: instruction rows or cost items."""
    ctx: np.ndarray
    pos: np.ndarray
    sid: int              # static instruction id, or -1 for a cost item
    values: list | None   # operand arrays (instructions)
    cost: int             # cost item value (or the instruction's issue cost)


class _Compiler:
    def __init__(self, fn: ir.Function, cfg: GemminiConfig, scalars: dict):
        self.fn = fn
        self.cfg = cfg
        self.tp: TimingParams = cfg.timing
        self.cap = self.tp.max_instructions
        self.arrays = tuple(p.name for p in fn.params if p.is_array)
        self.array_index = {n: i for i, n in enumerate(self.arrays)}
        self.scalars = scalars
        self.float_params = {p.name for p in fn.params if not p.is_array and p.dtype == "f32"}
        self.instrs: list[ir.Instr] = []
        # keyed by (id(node), types of the variables it reads): a node shared between
        # scopes that declare its variables differently is compiled once per typing
        self.instr_plan: dict[tuple, tuple] = {}   # -> (sid, op, evaluators, cost)
        self.expr_cache: dict[tuple, tuple] = {}   # -> (evaluator, type, op count)
        self.names: dict[int, tuple[str, ...]] = {}
        self.items_emitted = 0
        self.part = cpu_code.partition(fn)
        self.cpu_blocks: list[CpuBlock] = []
        self.cpu_block_ids: dict[tuple, int] = {}
        self.cpu_cost = cpu_code.CostEstimator(self.tp, self.part.data_vars, self.float_params)

    # -- errors ---------------------------------------------------------------
    def _fail(self, stmt, msg: str):
        what = stmt.op if isinstance(stmt, ir.Instr) else type(stmt).__name__.lower()
        raise HardwareError(f"{what}: {msg}", line=getattr(stmt, "line", None) or None)

    def _eval(self, stmt, ev, env):
        try:
            return ev(env)
        except cint.UndefinedBehavior as e:
            self._fail(stmt, str(e))
        except KeyError as e:
            self._fail(stmt, f"undefined variable {e.args[0]!r}")
        except (TypeError, ValueError, OverflowError, FloatingPointError) as e:
            self._fail(stmt, f"cannot evaluate an operand: {e}")

    def _count(self, n: int, stmt):
        self.items_emitted += n
        if self.items_emitted > self.cap:
            self._fail(stmt, f"program runs more than max_instructions={self.cap} "
                             "instructions or loop iterations (runaway loop?)")

    # -- instruction plans -------------------------------------------------------
    def _typing(self, node, names_of, types) -> tuple:
        names = self.names.get(id(node))
        if names is None:
            names = self.names[id(node)] = tuple(sorted(names_of(node)))
        return id(node), tuple(types.get(n) for n in names)

    def _plan(self, s: ir.Instr, types):
        key = self._typing(s, lambda x: set().union(*map(_vars_of, x.args)), types)
        plan = self.instr_plan.get(key)
        if plan is not None:
            return plan
        spec = isa.SPECS.get(s.op)
        if spec is None:
            self._fail(s, "unknown instruction")
        if len(s.args) != len(spec.operands):
            self._fail(s, f"expects {len(spec.operands)} canonical operands, got {len(s.args)}")
        evs = []
        ops = 0
        for operand, arg in zip(spec.operands, s.args):
            if arg is None:
                default = self.cfg.dim if operand.default == isa.DIM else operand.default
                if default is None:
                    self._fail(s, f"operand {operand.name} is missing")
                evs.append(("value", default))
                continue
            ops += count_ops(arg)
            if operand.role == isa.DRAM:
                if isinstance(arg, ir.DramAddr):
                    if arg.array not in self.array_index:
                        self._fail(s, f"{arg.array!r} is not an array parameter")
                    evs.append(("dram", self.array_index[arg.array],
                                self._compile(s, arg.index, types)[0]))
                else:
                    evs.append(("dram0", self._compile(s, arg, types)[0]))
            elif operand.role == isa.LOCAL:
                evs.append(("local", self._compile(s, arg, types)[0]))
            elif operand.role == isa.FLOAT and isinstance(arg, ir.FloatConst):
                evs.append(("value", float(arg.value)))
            elif operand.role == isa.FLOAT and isinstance(arg, ir.Var) \
                    and arg.name in self.float_params:
                evs.append(("value", lambda env, name=arg.name: env[name]))
            else:
                evs.append(("value", self._compile(s, arg, types)[0]))
        sid = len(self.instrs)
        self.instrs.append(s)
        commands = self.tp.loop_ws_commands if spec.cost == isa.FSM else 1
        cost = self.tp.cpu_issue * commands + self.tp.cpu_arith_op * ops
        plan = (sid, OP_CODE[s.op], evs, cost)
        self.instr_plan[key] = plan
        return plan

    def _compile(self, stmt, e, types):
        """(evaluator, C type) of integer expression `e` read by `stmt`."""
        floats = _vars_of(e) & self.float_params
        if floats:
            self._fail(stmt, f"float scalar {sorted(floats)[0]!r} used as an integer")
        try:
            return cint.compile_expr(e, types)
        except (TypeError, ValueError) as exc:
            self._fail(stmt, str(exc))

    def _expr(self, stmt, e, types):
        """(evaluator, C type, op count) of integer expression `e` read by `stmt`."""
        key = self._typing(e, _vars_of, types)
        got = self.expr_cache.get(key)
        if got is None:
            got = (*self._compile(stmt, e, types), count_ops(e))
            self.expr_cache[key] = got
        return got

    # -- walking ---------------------------------------------------------------
    def run(self):
        env = dict(self.scalars)
        types = {name: cint.INT for name in env if name not in self.float_params}
        cursor = np.zeros(1, dtype=np.int64)
        out: list[_Group] = []
        self._block(self.fn.body, env, types, 1, cursor, out)
        return out

    def pieces(self, rows: int):
        """`run` in pieces of at least `rows` items (instructions and cost items) where the
        program allows: the iterations of a parallel top-level loop are expanded a window
        at a time. Yields the groups of each piece in program order; positions keep
        counting across pieces."""
        env = dict(self.scalars)
        types = {name: cint.INT for name in env if name not in self.float_params}
        declared: set[str] = set()
        cursor = np.zeros(1, dtype=np.int64)
        out: list[_Group] = []
        for s in self.fn.body:
            if not isinstance(s, ir.For):
                self._stmts([s], env, types, declared, 1, cursor, out)
                continue
            setup = self._for_setup(s, env, types, 1, cursor, out)
            if setup is None:
                continue
            loop, trips = setup
            total, t0, window = int(trips[0]), 0, 1
            while t0 < total:
                t1 = min(total, t0 + window)
                before = _items(out)
                self._expand(loop, env, types, 1, cursor, out, np.zeros(t1 - t0, np.int64),
                             np.arange(t0, t1))
                per_iteration = max(1, (_items(out) - before) // (t1 - t0))
                window = max(1, rows // per_iteration)
                t0 = t1
                if _items(out) >= rows:
                    yield out
                    out = []
        yield out

    def _emit_cost(self, cost: int, idx, cursor, out, stmt):
        if cost <= 0:
            return
        ctx = np.arange(len(cursor)) if idx is None else idx
        self._count(len(ctx), stmt)
        out.append(_Group(ctx, cursor[ctx].copy(), -1, None, cost))
        cursor[ctx] += 1

    def _block(self, stmts, env, types, n, cursor, out):
        """Run `stmts` for `n` contexts; env values are scalars or arrays of length n."""
        local_env = dict(env)
        local_types = dict(types)
        declared: set[str] = set()
        self._stmts(stmts, local_env, local_types, declared, n, cursor, out)
        # propagate assignments to variables of enclosing scopes
        for name in env:
            if name not in declared:
                env[name] = local_env[name]

    def _stmts(self, stmts, local_env, local_types, declared, n, cursor, out):
        """The statements of a block (`_block`) in its scope, for `n` contexts."""
        tp = self.tp
        pending: list = []           # consecutive CPU statements not yet emitted
        for s in stmts:
            if self.part.is_cpu(s):
                pending.append(s)
                continue
            if pending:
                self._cpu_block(pending, local_env, local_types, n, cursor, out)
                pending = []
            if isinstance(s, ir.Instr):
                self._instr(s, local_env, local_types, n, cursor, out)
            elif isinstance(s, ir.Decl):
                declared.add(s.name)
                try:
                    ctype = local_types[s.name] = cint.ctype(s.ctype)
                except ValueError as e:
                    self._fail(s, str(e))
                if s.init is None:
                    local_env[s.name] = 0
                    continue
                ev, _t, ops = self._expr(s, s.init, local_types)
                local_env[s.name] = cint.convert(self._eval(s, ev, local_env), ctype)
                self._emit_cost(tp.cpu_local_assign + ops * tp.cpu_arith_op, None, cursor, out, s)
            elif isinstance(s, ir.Assign):
                ev, vtype, ops = self._expr(s, s.value, local_types)
                if s.name not in local_env:
                    self._fail(s, f"assignment to undeclared variable {s.name!r}")
                ctype = local_types.get(s.name, cint.UNTYPED)
                val = self._eval(s, ev, local_env)
                if s.op != "=":
                    try:
                        f, _ = cint.binary(s.op[:-1], ctype, vtype)
                        val = f(local_env[s.name], val)
                    except (cint.UndefinedBehavior, ValueError) as e:
                        self._fail(s, str(e))
                    ops += 1
                local_env[s.name] = cint.convert(val, ctype)
                self._emit_cost(tp.cpu_local_assign + ops * tp.cpu_arith_op, None, cursor, out, s)
            elif isinstance(s, ir.If):
                self._if(s, local_env, local_types, n, cursor, out)
            elif isinstance(s, ir.For):
                self._for(s, local_env, local_types, n, cursor, out)
            else:
                self._fail(s, "unsupported statement")
        if pending:
            self._cpu_block(pending, local_env, local_types, n, cursor, out)

    def _cpu_block(self, stmts, env, types, n, cursor, out):
        """Emit CPU statements ``stmts`` as one CPU block event (after its cost item)."""
        key = tuple(id(s) for s in stmts)
        bid = self.cpu_block_ids.get(key)
        if bid is None:
            names = cpu_code.block_names(stmts, self.part.data_vars)
            missing = [x for x in names if x not in env and x not in self.float_params]
            if missing:
                self._fail(stmts[0], f"undefined variable {missing[0]!r}")
            names = tuple(x for x in names if x in env and x not in self.float_params)
            bid = self.cpu_block_ids[key] = len(self.cpu_blocks)
            self.cpu_blocks.append(CpuBlock(tuple(stmts), names,
                                            tuple(types.get(x, cint.UNTYPED) for x in names)))
        block = self.cpu_blocks[bid]
        cost = self.cpu_cost.block(stmts, {x: env[x] for x in block.names},
                                   {x: t for x, t in zip(block.names, block.types)}, n)
        ctx = np.arange(n)
        self._count(n, stmts[0])
        out.append(_Group(ctx, cursor.copy(), -1, None, cost))
        cursor += 1
        values = [np.broadcast_to(np.asarray(env[x], dtype=np.int64), (n,)) for x in block.names]
        out.append(_Group(ctx, cursor.copy(), -2 - bid, values, 0))
        cursor += 1

    def _instr(self, s, env, types, n, cursor, out):
        sid, _op, evs, cost = self._plan(s, types)
        self._count(n, s)
        values = []
        for e in evs:
            kind = e[0]
            if kind == "value":
                v = e[1]
                values.append(self._eval(s, v, env) if callable(v) else v)
            elif kind == "local":
                values.append(cint.convert(self._eval(s, e[1], env), cint.UINT))
            elif kind == "dram":
                values.append((e[1], self._eval(s, e[2], env)))
            else:  # dram0: an integer in a DRAM position: only 0 (no DRAM) is meaningful
                v = self._eval(s, e[1], env)
                if np.any(np.asarray(v) != 0):
                    self._fail(s, "a DRAM operand must be the address of an array element or 0")
                values.append((-1, 0))
        ctx = np.arange(n)
        out.append(_Group(ctx, cursor.copy(), sid, values, cost))
        cursor += 1

    def _if(self, s, env, types, n, cursor, out):
        ev, _t, ops = self._expr(s, s.cond, types)
        self._emit_cost(self.tp.cpu_branch + ops * self.tp.cpu_arith_op, None, cursor, out, s)
        cv = self._eval(s, ev, env)
        if not isinstance(cv, np.ndarray):
            branch = s.then if cv else s.orelse
            if branch:
                self._block(branch, env, types, n, cursor, out)
            return
        cv = np.broadcast_to(cv != 0, (n,))
        for branch, mask in ((s.then, cv), (s.orelse, ~cv)):
            if not branch:
                continue
            idx = np.flatnonzero(mask)
            if len(idx) == 0:
                continue
            if len(idx) == n:
                self._block(branch, env, types, n, cursor, out)
                continue
            self._subset(branch, env, types, idx, cursor, out)

    def _subset(self, stmts, env, types, idx, cursor, out):
        """Run `stmts` for the contexts `idx` only; merge results back."""
        sub_env = {k: (v[idx] if isinstance(v, np.ndarray) else v) for k, v in env.items()}
        sub_cursor = cursor[idx].copy()
        sub_out: list[_Group] = []
        self._block(stmts, sub_env, types, len(idx), sub_cursor, sub_out)
        for g in sub_out:
            g.ctx = idx[g.ctx]
            out.append(g)
        cursor[idx] = sub_cursor
        for k, v in sub_env.items():
            old = env[k]
            if v is old:
                continue
            if isinstance(old, np.ndarray) and old.shape == (len(cursor),):
                merged = old.copy()
            else:
                merged = np.broadcast_to(np.asarray(old), (len(cursor),)).copy()
                if _is_float(v):
                    merged = merged.astype(np.float64)
            merged[idx] = v
            env[k] = merged

    def _for(self, s, env, types, n, cursor, out):
        setup = self._for_setup(s, env, types, n, cursor, out)
        if setup is None:
            return
        loop, trips = setup
        parent = np.repeat(np.arange(n), trips)
        starts = np.cumsum(trips) - trips
        t = np.arange(len(parent)) - starts[parent]
        self._expand(loop, env, types, n, cursor, out, parent, t)

    def _for_setup(self, s, env, types, n, cursor, out):
        """A loop's entry: its entry cost, and either the whole sequential loop (None) or
        what `_expand` needs for the parallel one: ((loop facts), trips per context); None
        too when it runs no iteration."""
        tp = self.tp
        if s.step <= 0:
            self._fail(s, f"loop step {s.step} never ends the loop")
        lo_ev, _t, lo_ops = self._expr(s, s.lo, types)
        hi_ev, _t, hi_ops = self._expr(s, s.hi, types)
        lo = self._eval(s, lo_ev, env)
        iter_cost = tp.cpu_loop_iter + hi_ops * tp.cpu_arith_op
        # loop entry: initialise the variable and run the final (failing) compare
        self._emit_cost(tp.cpu_local_assign + lo_ops * tp.cpu_arith_op + iter_cost,
                        None, cursor, out, s)
        free = _free_assigns(s.body) - self.part.data_vars
        inductions = _inductions(s, free)
        sequential = (s.var in _vars_of(s.hi) or _assigns(s.body, s.var)
                      or (free and inductions is None) or not free <= set(env))
        if sequential:
            self._for_sequential(s, env, types, n, cursor, out, lo, hi_ev, iter_cost)
            return None
        hi = self._eval(s, hi_ev, env)
        steps = {}
        for name, (sign, inc_expr) in (inductions or {}).items():
            inc = self._eval(s, self._expr(s, inc_expr, types)[0], env)
            steps[name] = np.broadcast_to(np.multiply(inc, sign), (n,))
        lo_a = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,))
        hi_a = np.broadcast_to(np.asarray(hi, dtype=np.int64), (n,))
        trips = np.maximum(0, (hi_a - lo_a + s.step - 1) // s.step)
        total = int(trips.sum())
        if total == 0:
            return None
        self._count(total, s)
        bases = {name: np.broadcast_to(np.asarray(env[name]), (n,)) for name in steps}
        for name, inc in steps.items():    # induction variables after the loop
            env[name] = cint.convert(bases[name] + trips * inc, types.get(name, cint.UNTYPED))
        return (s, lo_a, steps, bases, iter_cost), trips

    def _expand(self, loop, env, types, n, cursor, out, parent, t):
        """Expand the body of a parallel loop for iterations ``t`` of contexts ``parent``
        (each context's iterations contiguous and in order), emitting after ``cursor``."""
        s, lo_a, steps, bases, iter_cost = loop
        total = len(t)
        sub_env = {k: (v[parent] if isinstance(v, np.ndarray) else v) for k, v in env.items()}
        sub_env[s.var] = lo_a[parent] + t * s.step
        for name, inc in steps.items():    # induction variables: value at iteration t
            sub_env[name] = cint.convert(bases[name][parent] + t * inc[parent],
                                         types.get(name, cint.UNTYPED))
        sub_types = dict(types)
        sub_types[s.var] = cint.UNTYPED
        sub_cursor = np.zeros(total, dtype=np.int64)
        sub_out: list[_Group] = []
        self._emit_cost(iter_cost, None, sub_cursor, sub_out, s)
        self._block(s.body, sub_env, sub_types, total, sub_cursor, sub_out)
        excl = np.cumsum(sub_cursor) - sub_cursor
        seg = np.flatnonzero(np.concatenate([[True], parent[1:] != parent[:-1]]))
        within = excl - np.repeat(excl[seg], np.diff(np.append(seg, total)))
        offset = cursor[parent] + within
        for g in sub_out:
            g.pos = offset[g.ctx] + g.pos
            g.ctx = parent[g.ctx]
            out.append(g)
        cursor += np.bincount(parent, weights=sub_cursor, minlength=n).astype(np.int64)

    def _for_sequential(self, s, env, types, n, cursor, out, lo, hi_ev, iter_cost):
        had = s.var in env
        saved, saved_type = env.get(s.var), types.get(s.var)
        env[s.var] = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,)).copy()
        types[s.var] = cint.UNTYPED
        while True:
            hi = self._eval(s, hi_ev, env)
            active = np.flatnonzero(np.broadcast_to(env[s.var] < hi, (n,)))
            if len(active) == 0:
                break
            self._count(len(active), s)
            self._emit_cost(iter_cost, active, cursor, out, s)
            if len(active) == n:
                self._block(s.body, env, types, n, cursor, out)
            else:
                self._subset(s.body, env, types, active, cursor, out)
            var = np.broadcast_to(np.asarray(env[s.var], dtype=np.int64), (n,)).copy()
            var[active] += s.step
            env[s.var] = var
        if had:
            env[s.var], types[s.var] = saved, saved_type
        else:
            env.pop(s.var, None)
            types.pop(s.var, None)


def _items(groups) -> int:
    return sum(len(g.ctx) for g in groups)


def _scalar_env(fn: ir.Function, inputs: dict) -> dict:
    env = {}
    for p in fn.params:
        if p.is_array:
            continue
        if p.name not in inputs:
            raise HardwareError(f"scalar parameter {p.name!r} has no value in the inputs")
        v = np.asarray(inputs[p.name]).reshape(-1)
        if v.size != 1:
            raise HardwareError(f"scalar parameter {p.name!r} must be one value, got {v.size}")
        x = v[0]
        env[p.name] = float(x) if p.dtype == "f32" else int(x)
    return env


def build_trace(fn: ir.Function, inputs: dict, cfg: GemminiConfig) -> Trace:
    """Expand `fn` into its dynamic instruction trace (see module docstring)."""
    comp = _Compiler(fn, cfg, _scalar_env(fn, inputs))
    return _assemble(comp, comp.run())


def iter_trace(fn: ir.Function, inputs: dict, cfg: GemminiConfig,
               rows: int | None = None) -> Iterator[Trace]:
    """`build_trace` in consecutive pieces of about `rows` instructions or more (see
    `_Compiler.pieces`: a top-level parallel loop is split between its iterations),
    so a long program never exists as one trace. Running the pieces in order on one
    machine is running the whole trace: the CPU cost of scalar code between two pieces
    is the next piece's first ``cpu_pre`` (only the last piece has a ``cpu_tail``), and
    no piece ends between a preload and its compute. A program that fits yields one
    piece, equal to `build_trace`'s trace. `rows` defaults to `PIECE_ROWS`."""
    comp = _Compiler(fn, cfg, _scalar_env(fn, inputs))
    if comp.part.cpu:       # CPU code carries data between iterations: one piece
        yield _assemble(comp, comp.run())
        return
    rows = PIECE_ROWS if rows is None else rows
    held: Trace | None = None        # the last piece with rows, not yet yielded
    carry = 0                        # cost after `held`'s last row so far
    for groups in comp.pieces(rows):
        piece = _assemble(comp, groups)
        if not len(piece):
            carry += piece.cpu_tail
            continue
        if held is None:
            held, carry = piece, piece.cpu_tail
            continue
        piece = _add_pre(piece, carry)
        if _ends_in_preload(held):
            held = concat_traces(held, piece)
        else:
            yield dataclasses.replace(held, cpu_tail=0)
            held = piece
        carry = piece.cpu_tail
    if held is None:
        yield dataclasses.replace(_assemble(comp, []), cpu_tail=carry)
    else:
        yield dataclasses.replace(held, cpu_tail=carry)


def _add_pre(trace: Trace, cost: int) -> Trace:
    pre = trace.cpu_pre.copy()
    pre[0] += cost
    return dataclasses.replace(trace, cpu_pre=pre)


def _ends_in_preload(trace: Trace) -> bool:
    ex = np.flatnonzero((trace.op == PRELOAD) | (trace.op == COMPUTE_P)
                        | (trace.op == COMPUTE_A))
    return len(ex) > 0 and trace.op[ex[-1]] == PRELOAD


def concat_traces(a: Trace, b: Trace) -> Trace:
    """Trace `a` followed by `b` (b's static instructions include a's; b's tail)."""
    return concat_all([a, b])


def concat_all(traces) -> Trace:
    """The traces in order as one (each later one's static instructions include the
    earlier ones'; the last one's tail), each row copied once."""
    traces = list(traces)
    last = traces[-1]
    if len(traces) == 1:
        return last
    cols = {f: np.concatenate([getattr(t, f) for t in traces])
            for f in ("op", "sid", "ints", "floats", "dram", "cpu_pre", "cpu_issue")}
    loop_ws: dict = {}
    events: list = []
    n = 0
    for t in traces:
        loop_ws.update({k + n: v for k, v in t.loop_ws.items()})
        events.extend((row + n, blk, vals) for row, blk, vals in t.cpu_events)
        n += len(t)
    return Trace(**cols, cpu_tail=last.cpu_tail, instrs=last.instrs, arrays=last.arrays,
                 loop_ws=loop_ws, cpu_blocks=last.cpu_blocks, cpu_events=tuple(events),
                 cpu_params=last.cpu_params)


def _assemble(comp: _Compiler, groups: list) -> Trace:
    """The trace of the emitted `groups` (instructions and cost items, any order)."""
    instr_groups = [g for g in groups if g.sid >= 0]
    cost_groups = [g for g in groups if g.sid == -1]
    cpu_groups = [g for g in groups if g.sid <= -2]
    n = sum(len(g.pos) for g in instr_groups)
    op = np.empty(n, dtype=np.int8)
    sid = np.empty(n, dtype=np.int32)
    ints = np.zeros((n, N_INTS), dtype=np.int64)
    floats = np.ones(n, dtype=np.float64)
    dram = np.full(n, -1, dtype=np.int16)
    pos = np.empty(n, dtype=np.int64)
    issue = np.empty(n, dtype=np.int64)
    loop_ws_rows: list[tuple[int, list]] = []
    k = 0
    for g in instr_groups:
        m = len(g.pos)
        sl = slice(k, k + m)
        ins = comp.instrs[g.sid]
        code = OP_CODE[ins.op]
        op[sl] = code
        sid[sl] = g.sid
        pos[sl] = g.pos
        issue[sl] = g.cost
        if code == LOOP_WS:
            loop_ws_rows.append((k, [_bcast(v, m) for v in g.values]))
        else:
            col = 0
            spec = isa.SPECS[ins.op]
            for operand, v in zip(spec.operands, g.values):
                if operand.role == isa.DRAM:
                    dram[sl] = v[0]
                    ints[sl, col] = v[1]
                    col += 1
                elif operand.role == isa.FLOAT:
                    floats[sl] = v
                else:
                    ints[sl, col] = v
                    col += 1
        k += m
    order = np.argsort(pos, kind="stable")
    op, sid, ints, floats, dram, issue, pos = (a[order] for a in (op, sid, ints, floats, dram,
                                                                  issue, pos))
    loop_ws = {}
    if loop_ws_rows:
        inv = np.empty(n, dtype=np.int64)
        inv[order] = np.arange(n)
        for start, vals in loop_ws_rows:
            for j in range(len(vals[0])):
                loop_ws[int(inv[start + j])] = tuple(
                    (int(v[j][0]), int(v[j][1])) if isinstance(v[j], tuple) else int(v[j])
                    for v in vals)
    cpu_pre, tail = _fold_costs(pos, cost_groups, n)
    return Trace(op, sid, ints, floats, dram, cpu_pre, issue, tail, tuple(comp.instrs),
                 comp.arrays, loop_ws, tuple(comp.cpu_blocks), _cpu_events(pos, cpu_groups),
                 tuple(sorted(comp.scalars.items())))


def _cpu_events(instr_pos: np.ndarray, cpu_groups) -> tuple:
    """(row, block, control values) of every CPU block run, in program order: the block
    runs before trace row ``row`` (``len(trace)``: after the last instruction)."""
    if not cpu_groups:
        return ()
    pos = np.concatenate([g.pos for g in cpu_groups])
    which = np.concatenate([np.full(len(g.pos), j) for j, g in enumerate(cpu_groups)])
    within = np.concatenate([np.arange(len(g.pos)) for g in cpu_groups])
    order = np.argsort(pos, kind="stable")
    rows = np.searchsorted(instr_pos, pos[order])
    events = []
    for row, j, w in zip(rows.tolist(), which[order].tolist(), within[order].tolist()):
        g = cpu_groups[j]
        events.append((row, -2 - g.sid, tuple(int(v[w]) for v in g.values)))
    return tuple(events)


def _bcast(v, m):
    if isinstance(v, tuple):
        arr, idx = v
        idx = np.broadcast_to(np.asarray(idx), (m,))
        return [(arr, int(i)) for i in idx]
    return list(np.broadcast_to(np.asarray(v), (m,)))


def _fold_costs(instr_pos: np.ndarray, cost_groups, n: int):
    """CPU cost of scalar code between consecutive instructions (and after the last)."""
    if not cost_groups:
        return np.zeros(n, dtype=np.int64), 0
    cpos = np.concatenate([g.pos for g in cost_groups])
    cval = np.concatenate([np.broadcast_to(np.asarray(g.cost, dtype=np.int64), g.pos.shape)
                           for g in cost_groups])
    csort = np.argsort(cpos, kind="stable")
    cpos, cval = cpos[csort], cval[csort]
    csum = np.concatenate([[0], np.cumsum(cval)])
    # total cost of cost items positioned before each instruction
    before = csum[np.searchsorted(cpos, instr_pos)]
    pre = np.diff(np.concatenate([[0], before]))
    tail = int(csum[-1] - (before[-1] if n else 0))
    return pre.astype(np.int64), tail
