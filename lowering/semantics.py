"""The semantics of an Exo proc as a plain-C Exo proc, and which arguments it reads and writes.

``reference_proc(proc)`` turns a proc mapped to Gemmini into the same computation on
the CPU: every call of an instruction (or any sub-proc) is replaced by the callee's
body with Exo's own ``inline``, until no call is left but the instructions whose
semantics the host defines (`HOST_DEFINED`), and every window by the buffer it
views; configuration writes nobody reads any
more are deleted with Exo's ``delete_config`` (the stride fields only fed the
instructions' preconditions); configuration reads passed to a remaining call are
bound to a local; and every buffer is moved to DRAM. Nothing is pattern-matched: the
result is exactly what the instruction bodies of ``exo.platforms.gemmini`` say.

Why ``acc_scale`` stays a call: its Exo body ``dst = scale * src`` leaves out the
hardware's rounding (float32 multiply, then round half to even, docs/hardware.md
section 3), which the following ``clamp`` and C cast would turn into truncation.
Its instruction text is ``ACC_SCALE(...)``, which `lowering.reference` defines on the
host as the hardware does it. `check_host_defined` verifies that the instruction
body is still the unrounded product this note describes.

``arg_roles(proc)`` says, for every array argument, whether the proc reads it,
writes it, or both (through windows and calls too).
"""

from __future__ import annotations

from exo import DRAM, SchedulingError
from exo.API_cursors import (AllocCursor, AssignConfigCursor, CallCursor, InvalidCursor,
                             WindowStmtCursor)
from exo.core.LoopIR import LoopIR
from exo.platforms import gemmini as exo_gemmini
from exo.stdlib.scheduling import bind_expr, delete_config, inline, inline_window, set_memory

from gemmini import ir
from gemmini.errors import UnsupportedConstruct

# instruction name -> the body Exo gives it (checked by `check_host_defined`)
HOST_DEFINED = {"acc_scale": "dst = scale * src"}
READ, WRITTEN, BOTH = "read", "written", "both"


def stmts(block):
    """Every statement cursor under ``block``, depth first, in program order."""
    for s in block:
        yield s
        for part in ("body", "orelse"):
            if hasattr(s, part):
                try:
                    sub = getattr(s, part)()
                except (AttributeError, TypeError, ValueError):
                    continue
                if not isinstance(sub, InvalidCursor):
                    yield from stmts(sub)


def _first(proc, want):
    for s in stmts(proc.body()):
        if want(s):
            return s
    return None


def _inlinable(s) -> bool:
    return isinstance(s, CallCursor) and s.subproc().name() not in HOST_DEFINED


def check_host_defined() -> None:
    """Raise if an instruction of `HOST_DEFINED` no longer has the body noted there."""
    for name, body in HOST_DEFINED.items():
        text = str(getattr(exo_gemmini, name)).strip().splitlines()[-1].strip()
        if text != body:
            raise UnsupportedConstruct(f"Exo's {name} body is {text!r}, expected {body!r}: "
                                       "the host definition of ACC_SCALE must be reviewed")


def reference_proc(proc):
    """``proc`` with every instruction call replaced by its Exo definition, on DRAM only.

    Windows are replaced by the buffers they view (Exo's ``inline_window``), so that
    Exo's C writes outputs through non-const pointers."""
    name = proc.name()
    check_host_defined()
    try:
        while (call := _first(proc, _inlinable)) is not None:
            proc = inline(proc, call)
        while (window := _first(proc, lambda s: isinstance(s, WindowStmtCursor))) is not None:
            proc = inline_window(proc, window)
        proc = _bind_config_args(proc)
        proc = _drop_unread_configs(proc)
        for alloc in [s for s in stmts(proc.body()) if isinstance(s, AllocCursor)]:
            if alloc.mem() is not DRAM:
                proc = set_memory(proc, proc.forward(alloc), DRAM)
    except (SchedulingError, TypeError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UnsupportedConstruct(f"cannot derive the semantics of proc {name!r}: {first}",
                                   filename=f"proc {name}") from None
    return proc


def _drop_unread_configs(proc):
    """Delete every configuration write of a field that nothing reads (Exo checks it)."""
    read = _config_reads(proc._loopir_proc)
    skip = 0
    while True:
        writes = [s for s in stmts(proc.body()) if isinstance(s, AssignConfigCursor)
                  and (s._impl._node.config, s._impl._node.field) not in read]
        if skip >= len(writes):
            return proc
        try:
            proc = delete_config(proc, writes[skip])
        except SchedulingError:
            skip += 1


def _config_reads(ir_proc) -> set:
    """(config, field) pairs read anywhere in ``ir_proc``."""
    found = set()

    def visit(node):
        if isinstance(node, LoopIR.ReadConfig):
            found.add((node.config, node.field))
        fields = getattr(type(node), "__slots__", ()) or tuple(getattr(node, "__dict__", {}))
        for value in (getattr(node, f, None) for f in fields):
            for item in (value if isinstance(value, list) else [value]):
                if isinstance(item, (LoopIR.expr, LoopIR.stmt, LoopIR.w_access)):
                    visit(item)
    for s in ir_proc.body:
        visit(s)
    return found


def _bind_config_args(proc):
    """Bind configuration reads passed to a remaining call to a local scalar."""
    n = 0
    while True:
        target = None
        for s in stmts(proc.body()):
            if isinstance(s, CallCursor):
                for arg in s.args():
                    if isinstance(arg._impl._node, LoopIR.ReadConfig):
                        target = arg
                        break
            if target is not None:
                break
        if target is None:
            return proc
        proc = bind_expr(proc, target, f"config_value_{n}")
        n += 1


_DTYPES = {"I8": "i8", "I32": "i32", "F32": "f32", "BOOL": "bool"}


def proc_error(proc, message: str) -> UnsupportedConstruct:
    return UnsupportedConstruct(message, filename=f"proc {proc.name()}")


def proc_signature(proc, outputs: tuple[str, ...]) -> tuple[ir.Param, ...]:
    """The C signature of Exo's compiled ``proc`` as `ir.Param`s (context pointer excluded).

    Arrays are flat pointers, ``const`` unless listed in ``outputs``; ``f32``
    scalars are passed as ``const float*`` (``by_pointer``), ``bool`` by value.
    """
    params = []
    for arg in proc.args():
        name = str(arg.name())
        type_name = arg.type().name.upper()
        if type_name in ("SIZE", "INDEX", "INT"):
            raise proc_error(proc, f"parameter {name!r} is a size: give it a value with "
                                   "partial_eval first (sizes must be constants)")
        if type_name not in _DTYPES:
            raise proc_error(proc, f"parameter {name!r} has unsupported type {arg.type()}")
        dtype = _DTYPES[type_name]
        if arg.is_tensor():
            shape = []
            for d in arg.shape():
                value = d.value() if hasattr(d, "value") else None
                if not isinstance(value, int):
                    raise proc_error(proc, f"parameter {name!r}: sizes must be constants "
                                       "(partial_eval the proc first)")
                shape.append(value)
            params.append(ir.Param(name, dtype, tuple(shape), const=name not in outputs))
        elif dtype == "f32":
            params.append(ir.Param(name, dtype, (), const=True, by_pointer=True))
        elif dtype == "bool":
            params.append(ir.Param(name, dtype, ()))
        else:
            raise proc_error(proc, f"scalar parameter {name!r} of type {dtype} is not supported")
    return tuple(params)


# ---------------------------------------------------------------------------
# Which arguments are read and written
# ---------------------------------------------------------------------------

def arg_roles(proc) -> dict[str, str]:
    """``{array argument: "read" | "written" | "both"}`` of ``proc`` (unused: "read")."""
    ir_proc = proc._loopir_proc
    effects = _effects(ir_proc)
    roles = {}
    for a in ir_proc.args:
        if not a.type.is_numeric() or not a.type.shape():
            continue
        r, w = a.name in effects[0], a.name in effects[1]
        roles[str(a.name)] = BOTH if r and w else WRITTEN if w else READ
    return roles


def _effects(ir_proc) -> tuple[set, set]:
    """(symbols read, symbols written) by ``ir_proc``, windows resolved to their buffer."""
    reads: set = set()
    writes: set = set()
    alias: dict = {}

    def base(sym):
        while sym in alias:
            sym = alias[sym]
        return sym

    def expr(e):
        if isinstance(e, LoopIR.Read):
            reads.add(base(e.name))
            for i in e.idx:
                expr(i)
        elif isinstance(e, LoopIR.BinOp):
            expr(e.lhs)
            expr(e.rhs)
        elif isinstance(e, LoopIR.USub):
            expr(e.arg)
        elif isinstance(e, LoopIR.Extern):
            for x in e.args:
                expr(x)

    def stmts(block):
        for s in block:
            if isinstance(s, (LoopIR.Assign, LoopIR.Reduce)):
                writes.add(base(s.name))
                if isinstance(s, LoopIR.Reduce):
                    reads.add(base(s.name))
                for i in s.idx:
                    expr(i)
                expr(s.rhs)
            elif isinstance(s, LoopIR.WriteConfig):
                expr(s.rhs)
            elif isinstance(s, LoopIR.If):
                expr(s.cond)
                stmts(s.body)
                stmts(s.orelse)
            elif isinstance(s, LoopIR.For):
                stmts(s.body)
            elif isinstance(s, LoopIR.WindowStmt):
                alias[s.name] = s.rhs.name
            elif isinstance(s, LoopIR.Call):
                sub_reads, sub_writes = _effects(s.f)
                for formal, actual in zip(s.f.args, s.args):
                    sym = base(actual.name) if hasattr(actual, "name") and \
                        isinstance(actual, (LoopIR.Read, LoopIR.WindowExpr)) else None
                    if sym is None:
                        expr(actual)
                        continue
                    if formal.name in sub_reads:
                        reads.add(sym)
                    if formal.name in sub_writes:
                        writes.add(sym)
    stmts(ir_proc.body)
    return reads, writes
