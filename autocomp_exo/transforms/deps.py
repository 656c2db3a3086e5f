"""Dependence checks by bounded concrete enumeration.

A statement list is run *symbolically on addresses only* (no data): every
instruction is turned into the locations it reads, writes or accumulates into
(scratchpad / accumulator rows, configuration state, the preload / weight
registers, DRAM output elements). Every iteration is enumerated when the whole
enumeration stays within `FULL_EVENTS` instructions. Larger ones truncate only their
large loops, to their first two and last iterations (`MAX_TRIPS`): loops of up to
``full_trips`` iterations still run every iteration, with ``full_trips`` the largest trip
count that keeps the enumeration within `FULL_EVENTS` (so a conflict in the third
iteration of an 8-trip inner loop is still seen). This catches the affine conflicts
that occur in practice while keeping checks cheap.
Every rewrite is checked against the reference semantics later anyway.

An *instance* (one statement, or one loop iteration) is summarized by
`Summary`: the locations it reads before writing them (exposed reads), the
locations it writes, and the locations it accumulates into without first
writing them. Two instances may be swapped when neither consumes what the other
produces (`independent`); accumulations commute with each other, and
write-after-write on private rows is ignored because every reuse of a buffer
writes it before reading it (an instance that reads a row first exposes it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gemmini.config import ACC_BIT, ACCUMULATE_BIT, GARBAGE_ADDR, ROW_MASK, GemminiConfig
from gemmini.ir import (Assign, BinOp, Const, Decl, DramAddr, FloatConst, For, Function, If, Instr,
                        Load, Stmt, Store, UnOp, Var, expr_children, walk_exprs, walk_stmts)
from gemmini.isa import LOAD_IDS

from .ir_util import Body, const_value, eval_expr, instrs, is_cpu_stmt, scalar_writes, \
    trip_count, walk

MAX_TRIPS = 3
FULL_EVENTS = 4_096     # enumerations up to this many instructions are exact
MAX_EVENTS = 40_000


class Unanalyzable(Exception):
    """The enumeration could not decide (unknown value, too large, opaque op)."""


@dataclass
class Summary:
    exposed: set = field(default_factory=set)
    writes: set = field(default_factory=set)
    accs: set = field(default_factory=set)
    dram_writes: set = field(default_factory=set)
    dram_reads: set = field(default_factory=set)   # array names
    count: int = 0


@dataclass
class TraceState:
    """Hardware state the addresses depend on, carried across instances."""
    config: GemminiConfig
    block_stride: dict = field(default_factory=dict)
    pending_c: tuple | None = None
    events: int = 0
    truncate: bool = False          # loops run only their first two and last iterations ...
    full_trips: int = 0             # ... unless they have at most this many
    steady: frozenset = frozenset()  # configuration states of one value (`steady_configs`)


ACC_KEYS = 1 << 40      # accumulator row r has key ACC_KEYS + r; scratchpad row r has key r


def row_keys(space: str, lo: int, hi: int) -> range:
    """Keys of rows ``lo`` to ``hi`` (exclusive) of ``space`` ("sp" or "acc") as they
    appear in a `Summary` (integers, so sets of rows are built and compared in bulk)."""
    base = ACC_KEYS if space == "acc" else 0
    return range(base + lo, base + max(hi, lo))


def is_garbage(value: int) -> bool:
    """Is the local address ``value`` the garbage address (any 32-bit spelling)?"""
    return value & 0xFFFFFFFF == GARBAGE_ADDR


def local_rows(value: int, rows: int) -> range | None:
    """Row keys of ``rows`` rows from local address ``value`` (None for garbage)."""
    if is_garbage(value):
        return None
    if value & ACC_BIT:
        return row_keys("acc", value & ROW_MASK, (value & ROW_MASK) + rows)
    row = value & (ACCUMULATE_BIT - 1)
    return row_keys("sp", row, row + rows)


def config_key(ins: Instr, env: dict | None = None) -> tuple | None:
    """The configuration state a config instruction writes: ``("cfg", "ld", id)``,
    ``("cfg", "st")`` or ``("cfg", "ex")`` (None: not a config, or a load state that
    is not a constant)."""
    if ins.op == "config_ld":
        idv = const_value(ins.args[4], env) if ins.args[4] is not None else 0
        return None if idv is None else ("cfg", "ld", idv)
    if ins.op in ("config_st", "config_ex"):
        return ("cfg", ins.op[-2:])
    return None


def config_read(ins: Instr) -> tuple | None:
    """The configuration state an instruction reads (`config_key`'s names): a move-in its
    load state, an mvout the store state, preload and computes config_ex's."""
    if ins.op in LOAD_IDS:
        return ("cfg", "ld", LOAD_IDS[ins.op])
    if ins.op == "mvout":
        return ("cfg", "st")
    if ins.op in ("preload", "compute_preloaded", "compute_accumulated"):
        return ("cfg", "ex")
    return None


def steady_configs(fn: Function) -> frozenset:
    """Configuration states (`config_key`) that hold one value for the whole run: every
    write of it has the same operands, made of constants and scalar parameters (an
    instruction's operands never read array data), and the first is a top-level
    statement before any loop or condition. Moving such a write, or a read of it, past
    another cannot change a value read, so the dependence analysis ignores them."""
    params = {p.name: p for p in fn.params}
    assigned = {s.name for _, s, _ in walk(fn.body) if isinstance(s, Assign)}

    def steady_expr(e) -> bool:
        if e is None or isinstance(e, (Const, FloatConst)):
            return True
        if isinstance(e, Var):      # a scalar parameter (scale, act), never reassigned
            return e.name in params and not params[e.name].is_array and e.name not in assigned
        if isinstance(e, (BinOp, UnOp)):
            return all(steady_expr(c) for c in expr_children(e))
        return False

    operands: dict[tuple, set] = {}
    for _, ins, _ in instrs(fn.body):
        key = config_key(ins)
        if key is not None:
            operands.setdefault(key, set()).add(ins.args)
    first_top: set = set()          # written at the top before any loop and any reader
    read_first: set = set()
    for st in fn.body:
        if not isinstance(st, Instr):
            if isinstance(st, (For, If)):
                break
            continue
        read = config_read(st)
        if read is not None and read not in first_top:
            read_first.add(read)
        key = config_key(st)
        if key is not None and key not in read_first:
            first_top.add(key)
    return frozenset(k for k, ops in operands.items()
                     if k in first_top and len(ops) == 1
                     and all(steady_expr(e) for e in next(iter(ops))))


def instr_accesses(ins: Instr, env: dict, st: TraceState) -> list[tuple[str, tuple]]:
    """``(mode, key)`` pairs in order; mode is 'r', 'w', 'a' (accumulate) or 'dw' / 'dr'."""
    dim = st.config.dim
    op, a = ins.op, ins.args

    def ev(x):
        try:
            return eval_expr(x, env)
        except (KeyError, ArithmeticError) as exc:
            raise Unanalyzable(f"{op}: {exc}") from None

    def rows_of(addr, nrows, mode_if_acc_bit=None, blocks=1, bstride=None):
        out = []
        v = ev(addr)
        for b in range(blocks):
            base = v + b * (bstride or dim) if v != GARBAGE_ADDR else v
            rr = local_rows(base, ev(nrows))
            if rr is None:
                return []
            mode = mode_if_acc_bit if (mode_if_acc_bit and v & ACC_BIT and v & ACCUMULATE_BIT) \
                else None
            out.append((mode, rr))
        return out

    if op == "config_ld":
        idv = const_value(a[4], env) if a[4] is not None else 0
        bs = const_value(a[3], env) if a[3] is not None else None
        st.block_stride[idv] = bs or dim
    if op in ("config_ld", "config_st", "config_ex"):
        return [("w", config_key(ins, env))]
    if op in LOAD_IDS:
        idv = LOAD_IDS[op]
        acc = [("r", config_read(ins))]
        if isinstance(a[0], DramAddr):
            acc.append(("dr", a[0].array))
        cols = ev(a[2])
        blocks = max(1, -(-cols // dim))
        for m, rr in rows_of(a[1], a[3], "a", blocks, st.block_stride.get(idv, dim)):
            acc.append((m or "w", rr))
        return acc
    if op == "mvout":
        acc = [("r", config_read(ins))] + [("r", rr) for _, rr in rows_of(a[1], a[3])]
        if isinstance(a[0], DramAddr):
            acc.append(("dw", (a[0].array, ev(a[0].index))))
        return acc
    if op == "preload":
        acc = [("r", config_read(ins))] + [("r", rr) for _, rr in rows_of(a[0], a[3])]
        cv = ev(a[1])
        st.pending_c = (cv, ev(a[5]))
        return acc + [("w", ("state", "preload"))]
    if op in ("compute_preloaded", "compute_accumulated"):
        acc = [("r", config_read(ins)), ("r", ("state", "preload"))]
        if op == "compute_accumulated":
            acc.append(("r", ("state", "weights")))
        acc += [("r", rr) for _, rr in rows_of(a[0], a[3])]
        acc += [("r", rr) for _, rr in rows_of(a[1], a[5])]
        acc.append(("w", ("state", "weights")))
        if st.pending_c is not None:
            cv, crows = st.pending_c
            rr = local_rows(cv, crows)
            if rr is not None:
                acc.append(("a" if (cv & ACC_BIT and cv & ACCUMULATE_BIT) else "w", rr))
        return acc
    if op == "fence":
        return list(CPU_ORDER)
    raise Unanalyzable(f"{op} is opaque to the dependence analysis")


CPU_ORDER = (("r", ("state", "cpu")), ("w", ("state", "cpu")))
"""CPU code and fences keep their order among themselves."""


def cpu_accesses(stmt: Stmt) -> list[tuple[str, tuple]]:
    """Accesses of a statement of CPU code (`ir_util.is_cpu_stmt`, no instruction inside):
    every array it reads, every array it writes (as a whole), and the CPU's order."""
    acc = list(CPU_ORDER)
    for x in walk_stmts([stmt]):
        if isinstance(x, Store):
            acc += [("dr", x.array), ("dw", (x.array, "cpu"))]
    for e in walk_exprs([stmt]):
        if isinstance(e, Load):
            acc.append(("dr", e.array))
    return acc


def summarize(body: Body, env: dict, st: TraceState) -> Summary:
    """Enumerate ``body`` under ``env`` (copied) from state ``st`` (updated): every
    iteration when that takes at most `FULL_EVENTS` instructions, else with the large loops
    truncated (`full_trips`)."""
    st.truncate = instruction_count(body, env) > FULL_EVENTS
    st.full_trips = full_trips(body, env) if st.truncate else 0
    s = Summary()
    _run(body, dict(env), st, s)
    return s


def instruction_count(body: Body, env: dict, full: int | None = None) -> float:
    """Instructions a full enumeration of ``body`` runs (both sides of an ``if``; infinite
    when a loop's trip count is not known); with ``full``, loops of more than
    ``max(full, MAX_TRIPS)`` iterations count as truncated to `MAX_TRIPS`."""
    n = 0.0
    for stmt in body:
        if isinstance(stmt, Instr):
            n += 1
        elif isinstance(stmt, For):
            trips = trip_count(stmt, env)
            if trips is None:
                return math.inf
            if full is not None and trips > max(full, MAX_TRIPS):
                trips = MAX_TRIPS
            n += trips * instruction_count(stmt.body, env, full)
        elif isinstance(stmt, If):
            n += instruction_count(stmt.then, env, full) + instruction_count(stmt.orelse, env,
                                                                             full)
    return n


def full_trips(body: Body, env: dict) -> int:
    """The largest trip count such that enumerating every loop of at most that many
    iterations in full, and truncating the others, stays within `FULL_EVENTS`
    instructions (0 when only the truncation itself fits)."""
    counts = sorted({t for _, s, _ in walk(body) if isinstance(s, For)
                     for t in [trip_count(s, env)] if t is not None and t > MAX_TRIPS},
                    reverse=True)
    for t in counts:
        if instruction_count(body, env, t) <= FULL_EVENTS:
            return t
    return 0


def _record(s: Summary, accesses, written_here: set):
    for mode, key in accesses:
        if isinstance(key, range):          # local rows, in bulk
            if mode == "r":
                s.exposed.update(set(key) - written_here)
            elif mode == "w":
                written_here.update(key)
                s.writes.update(key)
            else:
                s.accs.update(set(key) - written_here)
        elif mode == "r":
            if key not in written_here:
                s.exposed.add(key)
        elif mode == "w":
            written_here.add(key)
            s.writes.add(key)
        elif mode == "a":
            if key not in written_here:
                s.accs.add(key)
        elif mode == "dw":
            s.dram_writes.add(key)
        elif mode == "dr":
            s.dram_reads.add(key)


def _run(body: Body, env: dict, st: TraceState, s: Summary, written: set | None = None):
    written = s.writes if written is None else written
    for stmt in body:
        _run_stmt(stmt, env, st, s, written)


def loop_values(loop: For, env: dict, truncate: bool = True, full: int = 0) -> list[int]:
    """The values ``loop`` takes under ``env``: all of them, or with ``truncate`` and more
    than ``max(full, MAX_TRIPS)`` of them, the first two and the last."""
    lo, hi = const_value(loop.lo, env), const_value(loop.hi, env)
    if lo is None or hi is None:
        raise Unanalyzable(f"loop {loop.var} has unknown bounds")
    vals = range(lo, hi, loop.step)
    if truncate and len(vals) > max(MAX_TRIPS, full):
        return [vals[0], vals[1], vals[-1]]
    return list(vals)


def _run_stmt(stmt: Stmt, env: dict, st: TraceState, s: Summary, written: set):
    if not isinstance(stmt, Instr) and is_cpu_stmt(stmt) and not any(
            isinstance(x, Instr) for x in walk_stmts([stmt])):
        _record(s, cpu_accesses(stmt), written)
        for name in scalar_writes(stmt):
            env.pop(name, None)
        return
    if isinstance(stmt, Instr):
        st.events += 1
        if st.events > MAX_EVENTS:
            raise Unanalyzable("enumeration too large")
        s.count += 1
        got = instr_accesses(stmt, env, st)
        if st.steady:
            got = [(m, k) for m, k in got if k not in st.steady]
        _record(s, got, written)
    elif isinstance(stmt, Decl):
        v = const_value(stmt.init, env) if stmt.init is not None else None
        if v is None:
            env.pop(stmt.name, None)
        else:
            env[stmt.name] = v
    elif isinstance(stmt, Assign):
        v = const_value(stmt.value, env)
        old = env.get(stmt.name)
        if v is None or (stmt.op != "=" and old is None):
            env.pop(stmt.name, None)
        else:
            env[stmt.name] = v if stmt.op == "=" else eval_expr(
                _compound(stmt.op, old, v), {})
    elif isinstance(stmt, For):
        for v in loop_values(stmt, env, truncate=st.truncate, full=st.full_trips):
            env[stmt.var] = v
            _run(stmt.body, env, st, s, written)
        env.pop(stmt.var, None)
    elif isinstance(stmt, If):
        cv = const_value(stmt.cond, env)
        if cv is None:       # data-dependent guard (e.g. on a scalar parameter): both sides
            _run(stmt.then, env, st, s, written)
            _run(stmt.orelse, env, st, s, written)
        else:
            _run(stmt.then if cv else stmt.orelse, env, st, s, written)


def _compound(op: str, old: int, v: int):
    return BinOp(op[:-1], Const(old), Const(v))


def independent(p: Summary, q: Summary) -> bool:
    """May instances ``p`` and ``q`` run in either order?"""
    if q.exposed & (p.writes | p.accs) or p.exposed & (q.writes | q.accs):
        return False
    if p.accs & q.writes or q.accs & p.writes:
        return False
    if p.dram_writes & q.dram_writes:
        return False
    wp = {a for a, _ in p.dram_writes}
    wq = {a for a, _ in q.dram_writes}
    if wp & q.dram_reads or wq & p.dram_reads:
        return False
    return True


def scalar_carried(body: Body) -> bool:
    """Does ``body`` assign a scalar it did not declare (a loop-carried scalar)?"""
    declared = set()
    for _, s, _ in walk(body):
        if isinstance(s, Decl):
            declared.add(s.name)
        elif isinstance(s, Assign) and s.name not in declared:
            return True
    return False


def contains_opaque(body: Body) -> bool:
    return any(i.op == "loop_ws" for _, i, _ in instrs(body))
