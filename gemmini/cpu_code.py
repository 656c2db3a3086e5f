"""Which statements of a kernel are CPU code, and what they cost (the IR estimate).

CPU code is scalar C on arrays: element loads and stores, float arithmetic, local
arrays, math calls, and every scalar whose value comes from them (a *data* variable).
The trace compiler (`gemmini.trace`) cannot evaluate such code, because its values
depend on what Gemmini wrote to DRAM; it emits each maximal run of CPU statements of a
block as one *CPU block* at its place in program order, and the functional machine
runs it there (`gemmini.cpu_exec`). Everything that decides which Gemmini
instructions run (loop bounds, conditions around instructions, instruction operands)
must stay computable without array data; `partition` says where it is not.

A statement is CPU code when it contains no Gemmini instruction and touches data:
an element load or store, a local array, a float, a cast, a math call, or a data
variable. Data variables: float scalars (parameters and locals) and every variable
assigned inside CPU code or from data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gemmini import cint, ir
from gemmini.config import TimingParams
from gemmini.errors import HardwareError

FLOAT_TYPES = ("float", "double")
DIV_FUNCS = ("sqrtf", "sqrt")


@dataclass(frozen=True)
class Partition:
    """CPU statements (by ``id``) and data variables of one function."""
    cpu: frozenset          # ids of the statements that run as CPU code
    data_vars: frozenset    # names of data variables

    def is_cpu(self, s) -> bool:
        return id(s) in self.cpu


def _direct_data(e, data_vars) -> bool:
    """True if expression ``e`` reads array data, a float, a cast, a call or a data variable."""
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, (ir.Load, ir.Cast, ir.Call, ir.FloatConst)):
            return True
        if isinstance(x, ir.Var) and x.name in data_vars:
            return True
        stack.extend(ir.expr_children(x))
    return False


def _has_instr(s) -> bool:
    return any(isinstance(x, ir.Instr) for x in ir.walk_stmts([s]))


def _touches_data(s, data_vars) -> bool:
    for x in ir.walk_stmts([s]):
        if isinstance(x, (ir.Store, ir.ArrayDecl)):
            return True
        if isinstance(x, ir.Decl) and x.ctype in FLOAT_TYPES:
            return True
        if isinstance(x, (ir.Assign, ir.Decl)) and x.name in data_vars:
            return True
        if any(_direct_data(e, data_vars) for e in ir.stmt_exprs(x)):
            return True
    return False


def partition(fn: ir.Function) -> Partition:
    """The CPU statements and data variables of ``fn``; HardwareError (with the line) where
    a Gemmini instruction, or the control flow around one, would depend on array data."""
    if not any(isinstance(e, (ir.Load, ir.Cast, ir.Call)) for e in ir.walk_exprs(fn.body)) \
            and not any(isinstance(s, (ir.Store, ir.ArrayDecl)) or (
                isinstance(s, ir.Decl) and s.ctype in FLOAT_TYPES)
                for s in ir.walk_stmts(fn.body)):
        return Partition(frozenset(), frozenset())
    scales = {p.name for p in fn.params if not p.is_array and p.dtype == "f32"}
    data = set(scales)
    while True:
        cpu = [s for s in _top_cpu(fn.body, data)]
        grown = set(data)
        for s in cpu:
            for x in ir.walk_stmts([s]):
                if isinstance(x, (ir.Assign, ir.Decl)):
                    grown.add(x.name)
        for x in ir.walk_stmts(fn.body):      # control code computing from data
            if isinstance(x, (ir.Assign, ir.Decl)) and any(
                    _direct_data(e, data) for e in ir.stmt_exprs(x)):
                grown.add(x.name)
        if grown == data:
            break
        data = grown
    cpu_ids = frozenset(id(s) for s in cpu)
    _check_control(fn.body, data, cpu_ids, scales)
    return Partition(cpu_ids, frozenset(data))


def _top_cpu(stmts, data):
    for s in stmts:
        if not _has_instr(s) and _touches_data(s, data):
            yield s
        else:
            yield from _top_cpu(ir.stmt_children(s), data)


def _check_control(stmts, data, cpu_ids, scales) -> None:
    for s in stmts:
        if id(s) in cpu_ids:
            continue
        for e in ir.stmt_exprs(s):
            if isinstance(s, ir.Instr) and (isinstance(e, ir.FloatConst) or (
                    isinstance(e, ir.Var) and e.name in scales)):
                continue          # a scale operand: a literal or a float parameter
            if _direct_data(e, data):
                what = {ir.Instr: f"operand of {getattr(s, 'op', '')}", ir.For: "loop bound",
                        ir.If: "condition around Gemmini instructions"}.get(type(s), "value")
                raise HardwareError(f"{type(s).__name__.lower()}: the {what} depends on array "
                                    "data or a value the CPU computes from it; only CPU code "
                                    "(no Gemmini instruction inside) may", line=s.line or None)
        _check_control(ir.stmt_children(s), data, cpu_ids, scales)


def block_names(stmts, data_vars) -> tuple[str, ...]:
    """Control variables a CPU block reads from its surroundings (loop variables and
    integer locals the trace knows), sorted."""
    read = set()
    declared = set()
    for s in ir.walk_stmts(stmts):
        if isinstance(s, ir.For):
            declared.add(s.var)
        elif isinstance(s, (ir.Decl, ir.ArrayDecl)):
            declared.add(s.name)
        if isinstance(s, (ir.Assign,)):
            read.add(s.name)
        for e in ir.stmt_exprs(s):
            stack = [e]
            while stack:
                x = stack.pop()
                if isinstance(x, ir.Var):
                    read.add(x.name)
                stack.extend(ir.expr_children(x))
    return tuple(sorted(read - declared - set(data_vars)))


# ----------------------------------------------------------------------------
# IR cost estimate
# ----------------------------------------------------------------------------

class CostEstimator:
    """CPU cycles of CPU blocks from the IR (`TimingParams`): loop overhead, loads, stores,
    integer and float operations. Loop trip counts and conditions on control values are
    evaluated (per context); a condition on array data costs its more expensive branch."""

    def __init__(self, tp: TimingParams, data_vars, float_names):
        self.tp = tp
        self.data_vars = set(data_vars)
        self.float_names = set(float_names)

    def block(self, stmts, env: dict, types: dict, n: int) -> np.ndarray:
        """Cycles of ``stmts`` for each of ``n`` contexts (control values in ``env``)."""
        return self._stmts(stmts, dict(env), dict(types), n, set(self.float_names))

    def _stmts(self, stmts, env, types, n, floats) -> np.ndarray:
        total = np.zeros(n, dtype=np.int64)
        for s in stmts:
            total += self._stmt(s, env, types, n, floats)
        return total

    def _stmt(self, s, env, types, n, floats):
        tp = self.tp
        if isinstance(s, ir.ArrayDecl):
            return np.full(n, tp.cpu_store * len(s.init or ()), dtype=np.int64)
        if isinstance(s, ir.Decl):
            if s.ctype in FLOAT_TYPES:
                floats.add(s.name)
            else:
                floats.discard(s.name)
            return np.full(n, 0 if s.init is None else
                           tp.cpu_local_assign + self.expr(s.init, floats), dtype=np.int64)
        if isinstance(s, ir.Assign):
            extra = 0 if s.op == "=" else self._op_cost(s.op[:-1], s.name in floats)
            return np.full(n, tp.cpu_local_assign + extra + self.expr(s.value, floats),
                           dtype=np.int64)
        if isinstance(s, ir.Store):
            extra = 0 if s.op == "=" else tp.cpu_load + self._op_cost(s.op[:-1], False)
            return np.full(n, tp.cpu_store + tp.cpu_arith_op + extra + self.expr(s.index, floats)
                           + self.expr(s.value, floats), dtype=np.int64)
        if isinstance(s, ir.If):
            base = tp.cpu_branch + self.expr(s.cond, floats)
            then = self._stmts(s.then, env, types, n, set(floats))
            orelse = self._stmts(s.orelse, env, types, n, set(floats))
            cond = self._control(s.cond, env, types)
            if cond is None:
                return base + np.maximum(then, orelse)
            cond = np.broadcast_to(np.asarray(cond) != 0, (n,))
            return base + np.where(cond, then, orelse)
        if isinstance(s, ir.For):
            return self._for(s, env, types, n, floats)
        raise HardwareError(f"{type(s).__name__.lower()}: not CPU code", line=s.line or None)

    def _for(self, s, env, types, n, floats):
        tp = self.tp
        lo, hi = self._control(s.lo, env, types), self._control(s.hi, env, types)
        if lo is None or hi is None:
            raise HardwareError("for: a loop bound of CPU code depends on array data "
                                "(not supported)", line=s.line or None)
        iter_cost = tp.cpu_loop_iter + tp.cpu_arith_op * _ops(s.hi)
        lo_a = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,))
        hi_a = np.broadcast_to(np.asarray(hi, dtype=np.int64), (n,))
        trips = np.maximum(0, (hi_a - lo_a + s.step - 1) // s.step)
        entry = tp.cpu_local_assign + iter_cost
        total = int(trips.sum())
        if total == 0:
            return np.full(n, entry, dtype=np.int64)
        parent = np.repeat(np.arange(n), trips)
        t = np.arange(total) - (np.cumsum(trips) - trips)[parent]
        sub = {k: (v[parent] if isinstance(v, np.ndarray) and v.shape == (n,) else v)
               for k, v in env.items()}
        sub[s.var] = lo_a[parent] + t * s.step
        sub_types = dict(types)
        sub_types[s.var] = cint.UNTYPED
        body = self._stmts(s.body, sub, sub_types, total, set(floats)) + iter_cost
        return entry + np.bincount(parent, weights=body, minlength=n).astype(np.int64)

    def _control(self, e, env, types):
        """The value of a control expression in ``env`` (None if it reads data or a name the
        estimate does not know)."""
        if _direct_data(e, self.data_vars):
            return None
        try:
            f, _t = cint.compile_expr(e, types, strict=False)
            return f(env)
        except (KeyError, TypeError, ValueError):
            return None

    def _op_cost(self, op: str, is_float: bool) -> int:
        if op in ("/", "%"):
            return self.tp.cpu_div_op
        return self.tp.cpu_fp_op if is_float else self.tp.cpu_arith_op

    def expr(self, e, floats) -> int:
        """Cycles of evaluating ``e`` (float operations when either side is float)."""
        return self._expr(e, floats)[0]

    def _expr(self, e, floats) -> tuple[int, bool]:
        tp = self.tp
        if isinstance(e, ir.FloatConst):
            return 0, True
        if isinstance(e, ir.Var):
            return 0, e.name in floats
        if isinstance(e, ir.Load):
            c, _ = self._expr(e.index, floats)
            return c + tp.cpu_load + tp.cpu_arith_op, False
        if isinstance(e, ir.Cast):
            c, f = self._expr(e.operand, floats)
            to_float = e.ctype in FLOAT_TYPES
            return c + (tp.cpu_fp_op if f or to_float else tp.cpu_arith_op), to_float
        if isinstance(e, ir.Call):
            costs = [self._expr(a, floats) for a in e.args]
            op = tp.cpu_div_op if e.func in DIV_FUNCS else tp.cpu_fp_op
            return sum(c for c, _ in costs) + op, e.func != "abs"
        if isinstance(e, ir.BinOp):
            (cl, fl), (cr, fr) = self._expr(e.lhs, floats), self._expr(e.rhs, floats)
            f = fl or fr
            return cl + cr + self._op_cost(e.op, f), f and e.op not in (
                "<", "<=", ">", ">=", "==", "!=", "&&", "||")
        if isinstance(e, ir.UnOp):
            c, f = self._expr(e.operand, floats)
            return c + (tp.cpu_fp_op if f else tp.cpu_arith_op), f and e.op == "-"
        if isinstance(e, ir.Cond):
            (cc, _), (ct, ft), (co, fo) = (self._expr(x, floats) for x in (e.cond, e.then,
                                                                           e.orelse))
            return cc + max(ct, co) + tp.cpu_branch, ft or fo
        return 0, False


def _ops(e) -> int:
    return sum(1 for x in _walk(e) if isinstance(x, (ir.BinOp, ir.UnOp, ir.Cond)))


def _walk(e):
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(ir.expr_children(x))
