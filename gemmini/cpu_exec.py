"""Exact execution of CPU blocks (`gemmini.cpu_code`) on the machine's DRAM arrays.

The functional machine (`gemmini.functional`) runs a CPU block at its place in
program order, on every input set at once: a value is a numpy array over (sets,
lanes), a lane being one iteration of a loop of the block that runs vectorized.

C semantics: integers through `gemmini.cint` (types, promotion, wrapping, truncating
division; what C leaves undefined raises `HardwareError` with the line, checked on the
lanes C evaluates); ``float`` arithmetic in float32 and ``double`` in float64, each
operation rounded once (FLT_EVAL_METHOD 0, no contraction of ``a*b+c`` into a fused
multiply-add: gcc's ``-ffp-contract=off``); the usual arithmetic conversions between
integers, float and double; float to integer conversion truncates and raises where the
value does not fit (undefined in C); ``fminf`` / ``fmaxf`` return the other operand of
a NaN, like C's.

Loops run vectorized when no iteration assigns a scalar declared outside the loop and,
checked as they run, no array element written by one iteration is touched by another;
otherwise (the arrays restored) one iteration at a time. Reading an element of a local
array that was never written, or a variable declared without a value before it is
assigned, is an error (real memory would hold garbage).

Races: an element the CPU reads that a Gemmini move issued since the last
``gemmini_fence()`` writes (mvout, loop_ws's C), or an element the CPU writes that such
a move reads or writes, is a race on real hardware (the accelerator runs
asynchronously); `check_races` raises it naming the CPU line and the instruction.
A loop_ws counts as touching the whole of each array it names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gemmini import cint, ir
from gemmini.errors import HardwareError

FLOAT_TYPES = ("float", "double")
NP_ELEM = {"int8_t": np.int8, "int32_t": np.int32, "float": np.float32}
CT_ELEM = {np.dtype(np.int8): cint.INT8, np.dtype(np.int32): cint.INT}
COMPARE = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
           ">": np.greater, ">=": np.greater_equal}
ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


@dataclass(frozen=True)
class FType:
    """A floating type: ``float`` (float32) or ``double`` (float64)."""
    name: str
    dtype: type


F32 = FType("float", np.float32)
F64 = FType("double", np.float64)
UNSET = object()           # a declared variable without a value yet


def type_of(ctype: str):
    """The value type of C type name ``ctype``."""
    if ctype == "float":
        return F32
    if ctype == "double":
        return F64
    return cint.ctype(ctype)


class CpuError(Exception):
    """Raised inside the executor; `run_block` turns it into a HardwareError with a line."""


# ----------------------------------------------------------------------------
# Memory: DRAM arrays, local arrays, persistent data variables
# ----------------------------------------------------------------------------

class CpuMemory:
    """What CPU code sees: the DRAM arrays (B, size) by parameter name, local arrays
    (created by their declarations), data variables that outlive a block, and the
    scalar parameters of each set."""

    def __init__(self, arrays: dict[str, np.ndarray], params: dict, n_sets: int):
        self.arrays = arrays
        self.locals: dict[str, np.ndarray] = {}
        self.written: dict[str, np.ndarray] = {}      # local arrays: (B, size) bool
        self.static_done: set[str] = set()
        self.vars: dict[str, list] = {}               # name -> [value, type]
        self.n_sets = n_sets
        self.params = params                          # name -> ((B, 1) value, type)
        self.log: list | None = None                  # accesses: (array, keys, lanes, store)

    def array(self, name: str) -> np.ndarray:
        a = self.locals.get(name)
        if a is not None:
            return a
        a = self.arrays.get(name)
        if a is None:
            raise CpuError(f"'{name}' is not an array here")
        return a

    def declare(self, s: ir.ArrayDecl) -> None:
        if s.static and s.name in self.static_done:
            return
        dtype = NP_ELEM[s.ctype]
        a = np.zeros((self.n_sets, s.size), dtype=dtype)
        written = np.zeros((self.n_sets, s.size), dtype=bool)
        if s.init is not None or s.static:        # C zero-fills the rest of an initializer
            for k, x in enumerate(s.init or ()):
                a[:, k] = x.value
            written[:] = True
        self.locals[s.name], self.written[s.name] = a, written
        if s.static:
            self.static_done.add(s.name)


# ----------------------------------------------------------------------------
# Frames: scopes of variables over lanes
# ----------------------------------------------------------------------------

class Frame:
    """Variables in scope (innermost last), the active lanes and the lane count."""

    def __init__(self, scopes: list[dict], mask, lanes: int, mem: CpuMemory, line: int = 0):
        self.scopes = scopes
        self.mask = mask           # None (all active) or (B, lanes) bool
        self.lanes = lanes
        self.mem = mem
        self.line = line
        self.lane_id = None        # (lanes,) id of each lane in the enclosing vectorized loop

    def lookup(self, name: str) -> list:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.mem.vars:
            return self.mem.vars[name]
        if name in self.mem.params:
            return list(self.mem.params[name])
        raise CpuError(f"undefined variable '{name}'")

    def active(self) -> np.ndarray:
        shape = (self.mem.n_sets, self.lanes)
        return np.ones(shape, dtype=bool) if self.mask is None else \
            np.broadcast_to(self.mask, shape)


def _full(v, frame: Frame) -> np.ndarray:
    return np.broadcast_to(np.asarray(v), (frame.mem.n_sets, frame.lanes))


# ----------------------------------------------------------------------------
# Conversions
# ----------------------------------------------------------------------------

def convert(v, src, dst, frame: Frame):
    """Value ``v`` of type ``src`` converted to type ``dst`` (C's rules)."""
    if src == dst:
        return v
    if isinstance(dst, FType):
        if isinstance(src, FType):
            return np.asarray(v).astype(dst.dtype)
        arr = np.asarray(v)
        if src == cint.ULONG:
            arr = arr.astype(np.int64).astype(np.uint64)
        return arr.astype(dst.dtype)
    if isinstance(src, FType):
        arr = np.asarray(v)
        act = frame.active()
        t = np.trunc(arr)
        bad = ~np.isfinite(arr) | (t < dst.min) | (t > dst.max)
        if np.any(np.broadcast_to(bad, act.shape) & act):
            raise CpuError(f"conversion of a {src.name} value outside the range of {dst} "
                           "(undefined in C)")
        t = np.where(bad, 0, t)
        if dst == cint.ULONG:
            return cint.convert(t.astype(np.uint64).astype(np.int64), dst)
        return t.astype(np.int64)
    return cint.convert(np.asarray(v, dtype=np.int64), dst)


def _common(a, b):
    if isinstance(a, FType) or isinstance(b, FType):
        if a == F64 or b == F64:
            return F64
        return F32
    return cint.common_type(a, b)


# ----------------------------------------------------------------------------
# Expressions
# ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Held:
    """An already evaluated operand (for compound assignments)."""
    value: object
    ctype: object


def evaluate(e, frame: Frame):
    """``(value, type)`` of expression ``e`` on the active lanes of ``frame``."""
    if isinstance(e, _Held):
        return e.value, e.ctype
    if isinstance(e, ir.Const):
        t = cint.const_type(e.value)
        return np.int64(cint.convert(e.value, t)), t
    if isinstance(e, ir.FloatConst):
        t = F64 if e.double else F32
        return t.dtype(e.value), t
    if isinstance(e, ir.Var):
        value, t = frame.lookup(e.name)
        if value is UNSET:
            raise CpuError(f"reads '{e.name}' before it has a value")
        return value, t
    if isinstance(e, ir.Load):
        return load(e.array, e.index, frame)
    if isinstance(e, ir.BinOp):
        return _binop(e, frame)
    if isinstance(e, ir.UnOp):
        v, t = evaluate(e.operand, frame)
        if isinstance(t, FType):
            if e.op == "-":
                return -np.asarray(v), t
            if e.op == "!":
                return (np.asarray(v) == 0).astype(np.int64), cint.INT
            raise CpuError(f"operator {e.op} on a float")
        f, rt = cint.unary(e.op, t)
        return f(np.asarray(v, dtype=np.int64)), rt
    if isinstance(e, ir.Cond):
        c, _ = evaluate(e.cond, frame)
        c = np.asarray(c) != 0
        a, ta = _masked(e.then, frame, c)
        b, tb = _masked(e.orelse, frame, ~c)
        rt = _common(ta, tb)
        return np.where(c, convert(a, ta, rt, frame), convert(b, tb, rt, frame)), rt
    if isinstance(e, ir.Cast):
        v, t = evaluate(e.operand, frame)
        dst = type_of(e.ctype)
        return convert(v, t, dst, frame), dst
    if isinstance(e, ir.Call):
        return _call(e, frame)
    raise CpuError(f"cannot evaluate {type(e).__name__}")


def _masked(e, frame: Frame, cond):
    """Evaluate ``e`` only where ``cond`` holds (errors of other lanes do not count)."""
    mask = cond if frame.mask is None else (frame.mask & cond)
    sub = Frame(frame.scopes, mask, frame.lanes, frame.mem, frame.line)
    sub.lane_id = frame.lane_id
    if not np.any(mask):
        sub.mask = np.zeros_like(np.asarray(mask), dtype=bool)
    return evaluate(e, sub)


def _binop(e: ir.BinOp, frame: Frame):
    op = e.op
    if op in ("&&", "||"):
        a, _ = evaluate(e.lhs, frame)
        a = np.asarray(a) != 0
        b, _ = _masked(e.rhs, frame, ~a if op == "||" else a)
        b = np.asarray(b) != 0
        return ((a | b) if op == "||" else (a & b)).astype(np.int64), cint.INT
    a, ta = evaluate(e.lhs, frame)
    b, tb = evaluate(e.rhs, frame)
    if isinstance(ta, FType) or isinstance(tb, FType):
        rt = _common(ta, tb)
        x, y = convert(a, ta, rt, frame), convert(b, tb, rt, frame)
        if op in COMPARE:
            return COMPARE[op](x, y).astype(np.int64), cint.INT
        if op not in ARITH:
            raise CpuError(f"operator {op} on a float")
        with np.errstate(all="ignore"):
            return ARITH[op](x, y).astype(rt.dtype), rt
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    _check_undefined(op, a, ta, b, tb, frame)
    f, rt = cint.binary(op, ta, tb, strict=False)
    return f(a, b), rt


def _check_undefined(op, a, ta, b, tb, frame: Frame) -> None:
    """Raise where C leaves ``a op b`` undefined on an active lane."""
    if op not in ("/", "%", "<<", ">>"):
        return
    act = frame.active()
    if op in ("/", "%"):
        t = cint.common_type(ta, tb)
        bad = b == 0
        if t.signed:
            bad = bad | ((a == t.min) & (b == -1))
        what = "division by zero or MIN / -1"
    else:
        bits = cint.promote(ta).bits
        bad = (b < 0) | (b >= bits)
        what = f"shift count outside 0..{bits - 1}"
    if np.any(np.broadcast_to(bad, act.shape) & act):
        raise CpuError(what)


def _call(e: ir.Call, frame: Frame):
    args = [evaluate(a, frame) for a in e.args]
    if e.func == "abs":
        (v, t), = args
        t = cint.promote(t)
        if isinstance(t, FType):
            raise CpuError("abs of a float (use fabsf)")
        v = np.asarray(v, dtype=np.int64)
        if np.any(np.broadcast_to(v == t.min, frame.active().shape) & frame.active()):
            raise CpuError("abs of the most negative int (undefined in C)")
        return np.abs(v), t
    rt = F32 if e.func.endswith("f") else F64
    xs = [convert(v, t, rt, frame) for v, t in args]
    with np.errstate(all="ignore"):
        if e.func in ("fminf", "fmin"):
            out = np.fmin(*xs)
        elif e.func in ("fmaxf", "fmax"):
            out = np.fmax(*xs)
        elif e.func in ("fabsf", "fabs"):
            out = np.abs(xs[0])
        elif e.func in ("sqrtf", "sqrt"):
            out = np.sqrt(xs[0])
        else:
            raise CpuError(f"unknown function {e.func}")
    return np.asarray(out).astype(rt.dtype), rt


def _elem_type(arr: np.ndarray):
    return F32 if arr.dtype == np.float32 else CT_ELEM[arr.dtype]


def _indices(array: str, index, frame: Frame):
    """Full (B, lanes) element indices and the active mask, bounds checked."""
    arr = frame.mem.array(array)
    idx, t = evaluate(index, frame)
    if isinstance(t, FType):
        raise CpuError(f"index of '{array}' is a float")
    idx = _full(np.asarray(idx, dtype=np.int64), frame)
    act = frame.active()
    size = arr.shape[1]
    bad = act & ((idx < 0) | (idx >= size))
    if bad.any():
        k = int(idx[bad][0])
        raise CpuError(f"element {k} of '{array}' is outside the array (size {size})")
    return arr, np.where(act, idx, 0), act


def _log(frame: Frame, array: str, idx, act, store: bool) -> None:
    log = frame.mem.log
    if log is None:
        return
    sets, lanes = np.nonzero(act)
    size = frame.mem.array(array).shape[1]
    lane_ids = lanes if frame.lane_id is None else frame.lane_id[lanes]
    log.append((array, sets * size + idx[sets, lanes], lane_ids, store, frame.line))


def load(array: str, index, frame: Frame):
    """``array[index]`` on the active lanes (inactive lanes read element 0)."""
    arr, idx, act = _indices(array, index, frame)
    written = frame.mem.written.get(array)
    if written is not None:
        unset = act & ~np.take_along_axis(written, idx, axis=1)
        if unset.any():
            raise CpuError(f"reads element {int(idx[unset][0])} of local array '{array}', "
                           "which was never written")
    _log(frame, array, idx, act, False)
    vals = np.take_along_axis(arr, idx, axis=1)
    t = _elem_type(arr)
    return (vals if isinstance(t, FType) else vals.astype(np.int64)), t


def store(s: ir.Store, frame: Frame) -> None:
    arr, idx, act = _indices(s.array, s.index, frame)
    v, t = evaluate(s.value, frame)
    et = _elem_type(arr)
    if s.op != "=":
        old, ot = load(s.array, s.index, frame)
        v, t = _binop(ir.BinOp(s.op[:-1], _Held(old, ot), _Held(v, t)), frame)
    v = _full(convert(v, t, et, frame), frame)
    sets, lanes = np.nonzero(act)
    arr[sets, idx[sets, lanes]] = np.asarray(v)[sets, lanes].astype(arr.dtype)
    written = frame.mem.written.get(s.array)
    if written is not None:
        written[sets, idx[sets, lanes]] = True
    _log(frame, s.array, idx, act, True)


# ----------------------------------------------------------------------------
# Statements
# ----------------------------------------------------------------------------

def execute(stmts, frame: Frame, limit: list) -> None:
    """Run ``stmts`` on the active lanes of ``frame`` (a new scope)."""
    frame.scopes.append({})
    try:
        for s in stmts:
            frame.line = s.line or frame.line
            _stmt(s, frame, limit)
    finally:
        frame.scopes.pop()


def _assign_value(frame: Frame, slot: list, value, vt, name: str) -> None:
    old, t = slot
    new = convert(value, vt, t, frame)
    if frame.mask is None:
        slot[0] = np.asarray(new).copy() if isinstance(new, np.ndarray) else new
        return
    if old is UNSET:
        old = np.zeros((), dtype=np.asarray(new).dtype)
    slot[0] = np.where(frame.mask, new, old)


def _stmt(s, frame: Frame, limit: list) -> None:
    line = s.line
    try:
        if isinstance(s, ir.Store):
            store(s, frame)
        elif isinstance(s, ir.Decl):
            t = type_of(s.ctype)
            slot = [UNSET, t]
            if s.init is not None:
                v, vt = evaluate(s.init, frame)
                slot[0] = convert(v, vt, t, frame)
            frame.scopes[-1][s.name] = slot
        elif isinstance(s, ir.Assign):
            slot = frame.lookup(s.name)
            v, vt = evaluate(s.value, frame)
            if s.op != "=":
                if slot[0] is UNSET:
                    raise CpuError(f"reads '{s.name}' before it has a value")
                v, vt = _binop(ir.BinOp(s.op[:-1], _Held(slot[0], slot[1]), _Held(v, vt)),
                               frame)
            _assign_value(frame, slot, v, vt, s.name)
        elif isinstance(s, ir.ArrayDecl):
            frame.mem.declare(s)
        elif isinstance(s, ir.If):
            c, _ = evaluate(s.cond, frame)
            c = np.asarray(c) != 0
            for branch, sel in ((s.then, c), (s.orelse, ~c)):
                if branch:
                    _run_masked(branch, frame, sel, limit)
        elif isinstance(s, ir.For):
            _for(s, frame, limit)
        else:
            raise CpuError(f"{type(s).__name__} is not CPU code")
    except CpuError as e:
        raise HardwareError(f"CPU code: {e}", line=line or frame.line or None) from None


def _run_masked(stmts, frame: Frame, cond, limit: list) -> None:
    mask = cond if frame.mask is None else (frame.mask & cond)
    if not np.any(mask):
        return
    sub = Frame(frame.scopes, mask, frame.lanes, frame.mem, frame.line)
    sub.lane_id = frame.lane_id
    execute(stmts, sub, limit)


def _declared_in(stmts) -> set[str]:
    out = set()
    for s in ir.walk_stmts(stmts):
        if isinstance(s, (ir.Decl, ir.ArrayDecl)):
            out.add(s.name)
        elif isinstance(s, ir.For):
            out.add(s.var)
    return out


def _stored_arrays(stmts) -> set[str]:
    return {s.array for s in ir.walk_stmts(stmts) if isinstance(s, ir.Store)} | {
        s.name for s in ir.walk_stmts(stmts) if isinstance(s, ir.ArrayDecl)}


def _bounds(s: ir.For, frame: Frame):
    lo, tl = evaluate(s.lo, frame)
    hi, th = evaluate(s.hi, frame)
    if isinstance(tl, FType) or isinstance(th, FType):
        raise CpuError("a loop bound is a float")
    return np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)


def _for(s: ir.For, frame: Frame, limit: list) -> None:
    if s.step <= 0:
        raise CpuError(f"loop step {s.step} never ends the loop")
    lo, hi = _bounds(s, frame)
    assigned = {x.name for x in ir.walk_stmts(s.body) if isinstance(x, ir.Assign)}
    parallel = not (assigned - _declared_in(s.body))
    if parallel and _uniform(lo) and _uniform(hi) and _parallel(s, frame, lo, hi, limit):
        return
    _sequential(s, frame, lo, limit)


def _uniform(v: np.ndarray) -> bool:
    """The same for every set (a (B, lanes) value whose rows agree, or lanes-only)."""
    return v.ndim < 2 or v.shape[0] == 1 or bool((v == v[:1]).all())


def _lane_values(v: np.ndarray, lanes: int) -> np.ndarray:
    v = np.asarray(v)
    if v.ndim == 2:
        v = v[0]
    return np.broadcast_to(v, (lanes,))


def _expand(v, parent, frame: Frame):
    if isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[1] == frame.lanes \
            and frame.lanes != 1:
        return v[:, parent]
    return v


def _parallel(s: ir.For, frame: Frame, lo, hi, limit: list) -> bool:
    """All iterations at once; False (nothing changed) if iterations share an element."""
    lanes = frame.lanes
    lo_l, hi_l = _lane_values(lo, lanes), _lane_values(hi, lanes)
    trips = np.maximum(0, (hi_l - lo_l + s.step - 1) // s.step)
    if frame.mask is not None:
        live = np.broadcast_to(frame.mask, (frame.mem.n_sets, lanes)).any(axis=0)
        trips = np.where(live, trips, 0)
    total = int(trips.sum())
    if total == 0:
        return True
    limit[0] -= total
    if limit[0] < 0:
        raise CpuError("CPU code runs more loop iterations than max_instructions allows")
    parent = np.repeat(np.arange(lanes), trips)
    t = np.arange(total) - (np.cumsum(trips) - trips)[parent]
    scopes = [{k: [_expand(v[0], parent, frame), v[1]] for k, v in sc.items()}
              for sc in frame.scopes]
    scopes.append({s.var: [(lo_l[parent] + t * s.step)[None, :], cint.UNTYPED]})
    mask = None if frame.mask is None else _expand(
        np.broadcast_to(frame.mask, (frame.mem.n_sets, lanes)), parent, frame)
    sub = Frame(scopes, mask, total, frame.mem, frame.line)
    sub.lane_id = np.arange(total)
    mem = frame.mem
    saved = {name: mem.array(name).copy() for name in _stored_arrays(s.body)
             if name in mem.arrays or name in mem.locals}
    saved_written = {name: w.copy() for name, w in mem.written.items()}
    outer_log, mem.log = mem.log, []
    try:
        execute(s.body, sub, limit)
        log = mem.log
    finally:
        mem.log = outer_log
    if _conflicts(log):
        for name, a in saved.items():
            mem.array(name)[...] = a
        for name, w in saved_written.items():
            if name in mem.written:
                mem.written[name][...] = w
        limit[0] += total
        return False
    if outer_log is not None:
        lane_map = parent if frame.lane_id is None else frame.lane_id[parent]
        outer_log.extend((a, keys, lane_map[ids], st, ln) for a, keys, ids, st, ln in log)
    return True


def _conflicts(log) -> bool:
    """True if an element written by one lane is read or written by another."""
    by_array: dict[str, list] = {}
    for array, keys, ids, st, _line in log:
        by_array.setdefault(array, []).append((keys, ids, st))
    for entries in by_array.values():
        if not any(st for _k, _i, st in entries):
            continue
        keys = np.concatenate([k for k, _i, _s in entries]).astype(np.int64)
        ids = np.concatenate([i for _k, i, _s in entries]).astype(np.int64)
        stores = np.concatenate([np.full(len(k), st) for k, _i, st in entries])
        sel = np.isin(keys, keys[stores])
        keys, ids = keys[sel], ids[sel]
        pairs = np.unique(keys * (int(ids.max()) + 1) + ids)     # distinct (element, lane)
        element = pairs // (int(ids.max()) + 1)
        if (element[1:] == element[:-1]).any():      # an element of two lanes
            return True
    return False


def _sequential(s: ir.For, frame: Frame, lo, limit: list) -> None:
    shape = (frame.mem.n_sets, frame.lanes)
    var = np.broadcast_to(lo, shape).astype(np.int64).copy() if np.ndim(lo) == 2 \
        else np.broadcast_to(np.asarray(lo), (frame.lanes,)).astype(np.int64)[None, :].copy()
    slot = [var, cint.UNTYPED]
    frame.scopes.append({s.var: slot})
    try:
        while True:
            hi_v, th = evaluate(s.hi, frame)
            if isinstance(th, FType):
                raise CpuError("a loop bound is a float")
            go = np.asarray(slot[0]) < np.asarray(hi_v)
            go = np.broadcast_to(go, shape) if frame.mask is None else (
                np.broadcast_to(go, shape) & frame.mask)
            if not go.any():
                break
            limit[0] -= int(go.any(axis=0).sum())
            if limit[0] < 0:
                raise CpuError("CPU code runs more loop iterations than max_instructions "
                               "allows (runaway loop?)")
            sub = Frame(frame.scopes, None if go.all() else go, frame.lanes, frame.mem,
                        frame.line)
            sub.lane_id = frame.lane_id
            execute(s.body, sub, limit)
            slot[0] = np.where(go, np.broadcast_to(slot[0], shape) + s.step,
                               np.broadcast_to(slot[0], shape))
    finally:
        frame.scopes.pop()


# ----------------------------------------------------------------------------
# Blocks
# ----------------------------------------------------------------------------

def run_block(stmts, mem: CpuMemory, env: dict, types: dict, limit: list) -> dict:
    """Run one CPU block: ``env`` holds the control values it reads (Python ints of C
    types ``types``). Data variables the block declares at its top level outlive it
    (`CpuMemory.vars`). Returns the accesses: array -> [(keys, stored, line)] with
    key = set * size + element."""
    scope = {name: [np.int64(v), types.get(name, cint.UNTYPED)] for name, v in env.items()}
    frame = Frame([scope], None, 1, mem)
    mem.log = []
    top: dict = {}
    frame.scopes.append(top)
    try:
        for s in stmts:
            frame.line = s.line or frame.line
            _stmt(s, frame, limit)
    finally:
        log, mem.log = mem.log, None
    for name, slot in top.items():
        mem.vars[name] = slot
    out: dict[str, list] = {}
    for array, keys, _ids, st, line in log:
        out.setdefault(array, []).append((keys, st, line))
    return out
