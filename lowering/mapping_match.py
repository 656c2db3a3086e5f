"""Recognize a matmul or convolution algorithm proc by its loop and index structure.

``match_contraction(proc)`` reads an unmapped Exo proc (Exo's LoopIR) whatever its
loop, buffer and argument names, and returns a `Contraction`: which argument is the
output, which the two operands and the bias, which loops index which dimension, and
how the accumulator is read out (scale, clamp, ReLU). The scalar statements are
evaluated symbolically, so temporaries, widening copies and ``if act == True`` are
seen through. Anything else raises `UnsupportedConstruct` with one line naming the
statement (file:line of the proc) and why.

The result says *what* is computed; `lowering.mapping_build` turns it into the
bundled algorithm of that shape and `lowering.mapping` maps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exo.core.LoopIR import LoopIR

from gemmini.errors import UnsupportedConstruct

# ---------------------------------------------------------------------------
# symbolic values (tuples, compared structurally)
# ---------------------------------------------------------------------------
# ("read", array, (affine, ...))   affine: (((var, coef), ...), const)
# ("const", value)  ("mul", a, b)  ("add", a, b)  ("acc", init, loops, term)
# ("scale", x, param)  ("clamp", x)  ("relu", x)  ("select", param, then, else)
# ("narrow", dtype, x): a store into a narrower type (C truncation, not Gemmini's)

_WIDTH = {"INT8": 8, "UINT8": 8, "INT32": 32, "F32": 64, "Num": 64, "Bool": 1}


@dataclass(frozen=True)
class Access:
    """One array read or write: argument name and, per dimension, loop var -> coefficient
    plus a constant."""
    array: str
    index: tuple

    def vars(self) -> list[tuple[str, ...]]:
        """Loop variables of each dimension."""
        return [tuple(v for v, _ in terms) for terms, _ in self.index]

    def simple(self) -> tuple | None:
        """Per dimension the one loop var (coefficient 1, constant 0) or an int constant;
        None when a dimension is anything else."""
        out = []
        for terms, const in self.index:
            if not terms:
                out.append(const)
            elif len(terms) == 1 and terms[0][1] == 1 and const == 0:
                out.append(terms[0][0])
            else:
                return None
        return tuple(out)


@dataclass(frozen=True)
class Contraction:
    """What an algorithm proc computes: ``out[out_index] = readout(init + sum x * y)``."""
    proc_name: str
    where: str
    out: Access
    x: Access
    y: Access
    bias: Access | None
    loops: dict = field(hash=False)       # output loop var -> extent, outermost first
    reduction: dict = field(hash=False)   # reduction loop var -> extent
    scale: str | None                     # f32 parameter, None: 1.0
    act: str | bool                       # bool parameter, or always / never ReLU
    guard: tuple = ()     # the accumulation runs only where each (terms, const) >= 0


class _Reject(Exception):
    def __init__(self, node, why: str):
        super().__init__(why)
        self.node = node
        self.why = why


def _where(node, proc_ir) -> str:
    """``file:line`` of a statement of the proc (of the proc itself when unknown)."""
    info = getattr(node, "srcinfo", None) or proc_ir.srcinfo
    filename = getattr(info, "filename", None) or f"proc {proc_ir.name}"
    return f"{filename}:{getattr(info, 'lineno', '') or ''}"


def located(where: str, message: str, proc_name: str) -> UnsupportedConstruct:
    """`UnsupportedConstruct` at ``where`` (``file:line``)."""
    file, _, line = where.rpartition(":")
    return UnsupportedConstruct(message, filename=file or f"proc {proc_name}",
                                line=int(line) if line.isdigit() else None)


def _type_name(t) -> str:
    return type(t).__name__


def _affine(e) -> tuple:
    """An index expression as (((var, coef), ...), const)."""
    if isinstance(e, LoopIR.Const):
        return ((), int(e.val))
    if isinstance(e, LoopIR.Read) and not e.idx:
        return (((str(e.name), 1),), 0)
    if isinstance(e, LoopIR.BinOp) and e.op in ("+", "-", "*"):
        (lt, lc), (rt, rc) = _affine(e.lhs), _affine(e.rhs)
        if e.op == "*":
            if lt and rt:
                raise _Reject(e, "an index multiplies two loop variables")
            terms, const, k = (lt, lc, rc) if not rt else (rt, rc, lc)
            return (tuple((v, c * k) for v, c in terms if c * k), const * k)
        sign = 1 if e.op == "+" else -1
        coefs = dict(lt)
        for v, c in rt:
            coefs[v] = coefs.get(v, 0) + sign * c
        return (tuple(sorted((v, c) for v, c in coefs.items() if c)), lc + sign * rc)
    raise _Reject(e, "an index is not an affine expression of the loops")


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _guard(e) -> tuple | None:
    """A condition that bounds index expressions (``and`` of ``<``, ``<=``, ``>``,
    ``>=``) as constraints ``(terms, const)``, each meaning terms + const >= 0; None for
    any other condition."""
    if isinstance(e, LoopIR.BinOp) and e.op == "and":
        lhs, rhs = _guard(e.lhs), _guard(e.rhs)
        return None if lhs is None or rhs is None else lhs + rhs
    if not isinstance(e, LoopIR.BinOp) or e.op not in _FLIP:
        return None
    (lt, lc), (rt, rc) = _affine(e.lhs), _affine(e.rhs)
    big, small = ((lt, lc), (rt, rc)) if e.op in (">", ">=") else ((rt, rc), (lt, lc))
    coefs = dict(big[0])
    for v, c in small[0]:
        coefs[v] = coefs.get(v, 0) - c
    const = big[1] - small[1] - (1 if e.op in ("<", ">") else 0)   # integers: a < b: b - a - 1 >= 0
    return ((tuple(sorted((v, c) for v, c in coefs.items() if c)), const),)


class _Eval:
    """Symbolic evaluation of the statements under the output loops."""

    def __init__(self, proc_ir):
        self.proc_ir = proc_ir
        self.args = {str(a.name): a for a in proc_ir.args}
        self.env: dict[str, tuple] = {}
        self.types: dict[str, str] = {}
        self.acc: str | None = None
        self.red: dict[str, int] = {}
        self.stores: list[tuple] = []
        self.guard: tuple = ()          # constraints of the bound guards around here
        self.done_guard: tuple = ()

    def expr(self, e):
        if isinstance(e, LoopIR.Const):
            return ("const", e.val)
        if isinstance(e, LoopIR.Read):
            name = str(e.name)
            if name in self.args and e.idx:
                return ("read", name, tuple(_affine(i) for i in e.idx))
            if name in self.args:
                return ("param", name)
            if name in self.env:
                return self.env[name]
            raise _Reject(e, f"reads {name!r} before assigning it")
        if isinstance(e, LoopIR.BinOp) and e.op in ("*", "+"):
            return ("mul" if e.op == "*" else "add", self.expr(e.lhs), self.expr(e.rhs))
        if isinstance(e, LoopIR.BinOp) and e.op == "==":
            lhs, rhs = self.expr(e.lhs), self.expr(e.rhs)
            if lhs[0] == "param" and rhs == ("const", True):
                return lhs
            raise _Reject(e, "only `if <bool parameter> == True` conditions are understood")
        if isinstance(e, LoopIR.Extern) and e.f.name() == "relu":
            return ("relu", self.expr(e.args[0]))
        raise _Reject(e, f"the expression {e} is not part of a matmul or convolution")

    def assign(self, name: str, value, dtype: str, node):
        source = getattr(getattr(node, "rhs", None), "type", None)
        if source is not None and _WIDTH.get(dtype, 64) < _WIDTH.get(_type_name(source), 0) \
                and value[0] not in ("clamp", "relu", "select", "const"):
            value = ("narrow", dtype, value)
        self.env[name] = value
        self.types[name] = dtype

    def block(self, body):
        for s in body:
            self.stmt(s)

    def stmt(self, s):
        if isinstance(s, (LoopIR.Alloc, LoopIR.Pass)):
            if isinstance(s, LoopIR.Alloc) and s.type.shape():
                raise _Reject(s, "allocates an array (only scalar temporaries are understood)")
            return
        if isinstance(s, LoopIR.Assign):
            name = str(s.name)
            value = self.expr(s.rhs)
            if name in self.args:
                if s.idx and self.acc is not None:
                    self.stores.append((s, name, tuple(_affine(i) for i in s.idx), value))
                    return
                if s.idx:
                    raise _Reject(s, f"writes argument {name!r} without a sum of products "
                                     "before it (not a matmul or convolution)")
                raise _Reject(s, f"writes argument {name!r} outside the output loops")
            self.assign(name, value, _type_name(s.type), s)
            return
        if isinstance(s, LoopIR.Reduce):
            name = str(s.name)
            if name in self.args:
                raise _Reject(s, f"accumulates into argument {name!r} (Gemmini accumulates "
                                 "in its accumulator, then stores int8)")
            if self.acc is None or name != self.acc or not self.red:
                raise _Reject(s, "accumulates outside a reduction loop")
            term = self.expr(s.rhs)
            self.terms.append(term)
            self.term_guards.append(self.guard)
            return
        if isinstance(s, LoopIR.For):
            self.loop(s)
            return
        if isinstance(s, LoopIR.If) and (bounds := _guard(s.cond)) is not None:
            if not self.red:
                raise _Reject(s, "a bound guard outside the reduction loops (only the "
                                 "accumulation may be guarded, as in a padded convolution)")
            if s.orelse:
                raise _Reject(s, "a bound guard has an else branch")
            outer, self.guard = self.guard, self.guard + bounds
            self.block(s.body)
            self.guard = outer
            return
        if isinstance(s, LoopIR.If):
            cond = self.expr(s.cond)
            before = dict(self.env)
            self.block(s.body)
            then = self.env
            self.env = dict(before)
            self.block(s.orelse)
            merged = dict(self.env)
            for name in set(then) | set(self.env):
                a, b = then.get(name), self.env.get(name)
                if a != b:
                    merged[name] = ("select", cond[1], a, b)
            self.env = merged
            return
        if isinstance(s, LoopIR.Call):
            self.call(s)
            return
        raise _Reject(s, f"statement {type(s).__name__} is not part of a matmul or convolution")

    def call(self, s):
        name = s.f.name
        if name == "acc_scale":
            src, dst, scale = s.args
            factor = self.expr(scale)
            if factor[0] != "param" and factor != ("const", 1.0):
                raise _Reject(s, "the scale is neither an f32 parameter nor 1.0")
            value = ("scale", self.expr(src), factor[1] if factor[0] == "param" else None)
        elif name == "clamp":
            src, dst = s.args
            value = ("clamp", self.expr(src))
        else:
            raise _Reject(s, f"calls {name!r} (only acc_scale and clamp of Exo's Gemmini "
                             "platform are understood in an algorithm)")
        self.assign(str(dst.name), value, _type_name(dst.type), s)

    def loop(self, s):
        if not isinstance(s.lo, LoopIR.Const) or s.lo.val != 0 \
                or not isinstance(s.hi, LoopIR.Const):
            raise _Reject(s, "a loop does not run from 0 to a constant")
        var = str(s.iter)
        if self.acc is None:
            raise _Reject(s, "a loop runs between the output loops and the accumulator")
        first = not self.red
        if first:
            self.terms: list = []
            self.term_guards: list = []
            self.reduction_init = self.env.get(self.acc)
        self.red[var] = int(s.hi.val)
        self.block(s.body)
        if first:
            if len(self.terms) != 1:
                raise _Reject(s, f"the reduction has {len(self.terms)} accumulations "
                                 "(one `acc += x * y` expected)")
            self.env[self.acc] = ("acc", self.reduction_init, tuple(self.red),
                                  self.terms[0])
            self.done_red = dict(self.red)
            self.done_guard = self.term_guards[0]
            self.red = {}


def _output_body(proc_ir):
    """(output loops {var: extent}, innermost body)."""
    loops: dict[str, int] = {}
    body = [s for s in proc_ir.body if not isinstance(s, LoopIR.Pass)]
    while len(body) == 1 and isinstance(body[0], LoopIR.For):
        s = body[0]
        if not isinstance(s.lo, LoopIR.Const) or s.lo.val != 0 \
                or not isinstance(s.hi, LoopIR.Const):
            raise _Reject(s, "a loop does not run from 0 to a constant")
        loops[str(s.iter)] = int(s.hi.val)
        body = list(s.body)
    if not loops:
        node = body[0] if body else None
        raise _Reject(node, "the proc is not a nest of output loops around one accumulation")
    return loops, body


def _strip(value, act_seen=None):
    """(core, scale, act) of a stored value: relu / select(act) over clamp over scale."""
    act: str | bool = False
    if value[0] == "select":
        _, param, then, other = value
        if then == ("relu", other):
            act, value = param, other
    elif value[0] == "relu":
        act, value = True, value[1]
    if value[0] != "clamp":
        raise ValueError("the stored value is not clamped to int8 (Gemmini saturates "
                         "its accumulator read-out: use Exo's clamp)")
    value = value[1]
    scale = None
    if value[0] == "scale":
        scale, value = value[2], value[1]
    return value, scale, act


def _operand(value, why_node):
    """The array read behind a widening copy."""
    if value[0] == "read":
        return Access(value[1], value[2])
    raise _Reject(why_node, "a product factor is not an element of an argument")


def match_contraction(proc) -> Contraction:
    """The `Contraction` ``proc`` computes, or `UnsupportedConstruct` in one line."""
    proc_ir = proc._loopir_proc
    name = proc.name()
    try:
        loops, body = _output_body(proc_ir)
        ev = _Eval(proc_ir)
        for s in body:
            if isinstance(s, LoopIR.Alloc) and ev.acc is None and not s.type.shape():
                ev.acc = str(s.name)
            ev.stmt(s)
        if len(ev.stores) != 1:
            raise _Reject(body[-1], f"{len(ev.stores)} stores into arguments (one expected)")
        node, out_name, out_idx, value = ev.stores[0]
        try:
            core, scale, act = _strip(value)
        except ValueError as e:
            raise _Reject(node, str(e)) from None
        if core[0] != "acc":
            raise _Reject(node, "the stored value is not an accumulation over a reduction loop")
        _, init, red_vars, term = core
        if term[0] != "mul":
            raise _Reject(node, "the accumulated term is not a product of two elements")
        x, y = _operand(term[1], node), _operand(term[2], node)
        bias = None
        if init is not None and init != ("const", 0.0) and init != ("const", 0):
            if init[0] != "read":
                raise _Reject(node, "the accumulator starts neither at 0 nor at an "
                                    "element of an int32 argument (a bias)")
            bias = Access(init[1], init[2])
        return Contraction(name, _where(node, proc_ir), Access(out_name, out_idx), x, y, bias,
                           loops, dict(ev.done_red), scale, act, ev.done_guard)
    except _Reject as r:
        raise located(_where(r.node, proc_ir), f"cannot map proc {name!r} to Gemmini: "
                      f"{r.why}", name) from None
    except AttributeError:
        raise UnsupportedConstruct(
            f"cannot map proc {name!r} to Gemmini: it is not a nest of output loops around "
            "one accumulation", filename=f"proc {name}") from None
