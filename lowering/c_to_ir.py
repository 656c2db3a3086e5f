"""C syntax tree (`lowering.c_tree`) -> IR, with Exo's idioms normalized away.

What Exo writes and what a person writes in the compact dialect meet here:
allocations become ``uint32_t`` locals holding the row address the allocator
returns (`lowering.alloc`), window arithmetic and casts become plain integer
row arithmetic, ``&A[i][k]`` and ``&A[i * K + k]`` become `DramAddr` with a flat
element index, compound-literal window strides become constants, ``scale[0]``
becomes ``Var("scale")``, and every expression is put in canonical form
(`lowering.simplify`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from gemmini import cint, isa
from lowering import c_tree as C
from lowering.alloc import EMPTY_HEAP, AllocError, HeapState
from lowering.c_inline import InlineRefused, inline_void_call, literal_floats
from gemmini.errors import ArityError, ParseError, UnknownInstruction, UnsupportedConstruct
from gemmini.ir import (
    ARRAY_TYPES, CPU_SCALAR_TYPES, MATH_FUNCS, SCALAR_TYPES, ArrayDecl, Assign, BinOp, Call,
    Cast, Cond, Const, Decl, DramAddr, FloatConst, For, Function, If, Instr, Load, Param, Store,
    UnOp, Var,
)
from lowering.simplify import simplify

DTYPE_OF = {"int8_t": "i8", "int32_t": "i32", "float": "f32", "bool": "bool", "_Bool": "bool",
            "int": "i32"}
SCALAR_CTYPE = {t: t for t in SCALAR_TYPES + CPU_SCALAR_TYPES}
SCALAR_CTYPE.update({"unsigned": "uint32_t", "unsigned int": "uint32_t"})
SIZEOF = {"char": 1, "bool": 1, "_Bool": 1, "int8_t": 1, "uint8_t": 1, "int16_t": 2,
          "uint16_t": 2, "short": 2, "int": 4, "unsigned": 4, "unsigned int": 4, "float": 4,
          "int32_t": 4, "uint32_t": 4, "int64_t": 8, "uint64_t": 8, "size_t": 8, "long": 8,
          "double": 8, "int_fast32_t": 8, "uint_fast32_t": 8, "int_fast64_t": 8,
          "intptr_t": 8, "uintptr_t": 8}
ALLOCATORS = {"gemm_malloc": "sp", "gemm_acc_malloc": "acc"}
FREES = {"gemm_free": "sp", "gemm_acc_free": "acc"}
IGNORED_CALLS = ("EXO_ASSUME",)
FLOAT_TYPES = ("float", "double")
FLOAT_OPS = ("+", "-", "*", "/")
COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=", "&&", "||")


# Values an expression can denote while lowering.
@dataclass(frozen=True)
class _Int:
    """An integer expression; ``ctype`` is its C type when it is a constant (`Const`):
    constant subexpressions fold with their exact C types (`gemmini.cint`), as the IR
    keeps no type on a constant."""
    expr: object
    ctype: cint.CType | None = None

    @property
    def typed(self) -> tuple[int, cint.CType] | None:
        if self.ctype is not None and isinstance(self.expr, Const):
            return self.expr.value, self.ctype
        return None


def _folded(op: str, *operands: _Int) -> _Int | None:
    """``op`` applied to typed constants, or None (not all constant, or undefined in C)."""
    typed = [x.typed for x in operands]
    if None in typed:
        return None
    got = cint.fold(op, *typed)
    return None if got is None else _Int(Const(got[0]), got[1])


@dataclass(frozen=True)
class _Float:
    expr: object


@dataclass(frozen=True)
class _Dram:
    """A pointer into (or element of, when ``level == ndim``) array parameter ``array``."""
    array: str
    index: object
    level: int
    element: bool = False


@dataclass(frozen=True)
class _LocalPtr:
    """An on-chip address cast to a pointer (``(int8_t*)x``); ``deref`` after ``*``."""
    expr: object
    deref: bool = False


@dataclass(frozen=True)
class _FloatPtr:
    """A float scalar passed by pointer (Exo's ``const float* scale``)."""
    name: str


@dataclass
class _Sym:
    kind: str          # "loop", "scalar", "buffer", "param", "array" (a local array)
    addr: int = 0      # buffers: the address the allocator returned
    alloc: str = ""    # buffers: "sp" or "acc"
    ctype: str = ""    # scalars and arrays: the declared C type
    value: object = None   # "inline": a helper's parameter bound to its argument's value


_DATA_NODES = (Load, Cast, Call, FloatConst)


def _vars(e, out: set) -> set:
    if isinstance(e, Var):
        out.add(e.name)
    for child in _children(e):
        _vars(child, out)
    return out


def _children(e) -> tuple:
    if isinstance(e, BinOp):
        return e.lhs, e.rhs
    if isinstance(e, (UnOp, Cast)):
        return (e.operand,)
    if isinstance(e, Cond):
        return e.cond, e.then, e.orelse
    if isinstance(e, Load):
        return (e.index,)
    if isinstance(e, Call):
        return e.args
    return ()


def _return_tree(s):
    """The expression a helper body returns: ``return e;`` gives ``e``; ``if (c) S1 else
    S2`` with such bodies gives ``c ? e1 : e2``; None for any other body."""
    while isinstance(s, C.CBlock) and len(s.stmts) == 1:
        s = s.stmts[0]
    if isinstance(s, C.CBlock) and len(s.stmts) == 2 and isinstance(s.stmts[0], C.CIf) \
            and s.stmts[0].orelse is None:       # if (c) return a; return b;
        s = C.CIf(s.stmts[0].cond, s.stmts[0].then, s.stmts[1], s.stmts[0].line)
    if isinstance(s, C.CReturn):
        return s.value
    if isinstance(s, C.CIf) and s.orelse is not None:
        then, orelse = _return_tree(s.then), _return_tree(s.orelse)
        if then is not None and orelse is not None:
            return C.CTernary(s.cond, then, orelse, s.line)
    return None


class Lowerer:
    """Lowers one `CFunc` to an `ir.Function`."""

    def __init__(self, filename: str, shapes: dict, *, require_shapes: bool = True,
                 helpers=None, heap: HeapState = EMPTY_HEAP):
        self.filename = filename
        self.helpers = helpers or (lambda name: None)   # name -> CFunc of a helper, or None
        self.inlining: list[str] = []
        self.inlined = itertools.count(1)      # numbers the locals of inlined void helpers
        self.literal_floats: dict[str, float] = {}   # float locals holding one literal
        self.shapes = shapes
        self.require_shapes = require_shapes   # else an unknown extent reads as by-pointer
        self.params: dict[str, Param] = {}
        self.dims: dict[str, tuple[int, ...]] = {}   # indexing shape (flat params: (size,))
        self.scopes: list[dict[str, _Sym]] = []
        self.alloc = heap.allocators()   # gemm_malloc's state before the kernel
        self.float_names: set[str] = set()      # float scalars (locals, parameters)
        self.elem_sizes: dict[str, int] = {}    # pointer being malloc'ed -> element size
        self.heap: set[str] = set()             # local arrays from malloc (freed by free)
        self.local_arrays: dict[str, str] = {}   # name -> element C type

    # ------------------------------------------------------------------ errors
    def _err(self, cls, msg: str, node=None):
        return cls(msg, filename=self.filename, line=getattr(node, "line", None) or None)

    # ------------------------------------------------------------------ function
    def function(self, f: C.CFunc) -> Function:
        context = None
        params = []
        cparams = f.params
        if len(cparams) == 1 and cparams[0].name == "" and cparams[0].ctype == C.CType("void"):
            cparams = ()  # f(void)
        for p in cparams:
            if not p.name:
                raise self._err(ParseError, f"parameter of {f.name} without a name", p)
        for k, p in enumerate(cparams):
            if p.ctype.base not in DTYPE_OF and not p.ctype.base.startswith("struct ") \
                    and " " not in p.ctype.base and p.ctype.pointers == 1 and k == 0:
                context = p.ctype.base
                continue
            params.append(self._param(p))
        if context is not None:  # Exo's signature: arrays are flat pointers, whatever was written
            params = [replace(p, flat=True) if p.is_array else p for p in params]
        self.params = {p.name: p for p in params}
        self.float_names = {p.name for p in params if not p.is_array and p.dtype == "f32"}
        self.scopes = [{p.name: _Sym("param") for p in params}]
        self.literal_floats = literal_floats(f.body)
        body = self.block(f.body.stmts)
        return Function(f.name, tuple(params), tuple(body), context)

    def _param(self, p: C.CParam) -> Param:
        base = p.ctype.base
        if base not in DTYPE_OF:
            raise self._err(UnsupportedConstruct, f"parameter '{p.name}' has unsupported type "
                            f"'{base}{' *' * p.ctype.pointers}'", p)
        dtype = DTYPE_OF[base]
        const = p.ctype.const
        sig = self.shapes.get(p.name)
        if p.dims:
            if p.ctype.pointers:
                raise self._err(UnsupportedConstruct, f"array of pointers '{p.name}'", p)
            shape = tuple(self._const_int(d, f"dimension of '{p.name}'") for d in p.dims)
            self.dims[p.name] = shape
            return Param(p.name, dtype, shape, const, False, False)
        if p.ctype.pointers == 0:
            return Param(p.name, dtype, (), const, False, True)
        if p.ctype.pointers > 1:
            raise self._err(UnsupportedConstruct, f"pointer to pointer '{p.name}'", p)
        if sig is not None and sig[1] is not None:
            shape = sig[1]
        elif dtype == "f32" or not self.require_shapes:
            shape = ()
        else:
            raise self._err(ParseError, f"shape of pointer parameter '{p.name}' is unknown: "
                            f"declare it as an array ({base} {p.name}[M][N]) or keep Exo's "
                            f"signature comment", p)
        if shape == ():
            return Param(p.name, dtype, (), const, True, True)
        n = 1
        for d in shape:
            n *= d
        self.dims[p.name] = (n,)
        return Param(p.name, dtype, shape, const, False, True)

    # ------------------------------------------------------------------ scopes
    def lookup(self, name: str) -> _Sym | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def declare(self, name: str, sym: _Sym) -> None:
        self.scopes[-1][name] = sym

    # ------------------------------------------------------------------ statements
    def block(self, stmts) -> list:
        self.scopes.append({})
        out: list = []
        try:
            for s in stmts:
                out.extend(self.stmt(s))
        finally:
            self.scopes.pop()
        return out

    def stmt(self, s) -> list:
        if isinstance(s, C.CBlock):
            return self.block(s.stmts)
        if isinstance(s, C.CEmpty):
            return []
        if isinstance(s, C.CReturn):
            s = C.COther("return", s.line)
        if isinstance(s, C.COther):
            raise self._err(UnsupportedConstruct, f"{s.what} is not supported (the subset has "
                            "for, if, scalar declarations and assignments, Gemmini "
                            "instructions)", s)
        if isinstance(s, C.CDecl):
            return [self.decl(s.ctype, d) for d in s.declarators]
        if isinstance(s, C.CFor):
            return [self.for_loop(s)]
        if isinstance(s, C.CIf):
            return [self.if_stmt(s)]
        if isinstance(s, C.CExprStmt):
            return self.expr_stmt(s.expr)
        raise self._err(UnsupportedConstruct, f"statement {type(s).__name__}", s)

    def decl(self, ctype: C.CType, d: C.CDeclarator):
        if d.dims:
            return self.array_decl(ctype, d)
        alloc = self._allocation(d.init)
        if alloc is not None:
            kind, nbytes = alloc
            try:
                addr = self.alloc.malloc(kind, nbytes)
            except AllocError as e:
                raise self._err(UnsupportedConstruct, str(e), d) from None
            self.declare(d.name, _Sym("buffer", addr, kind))
            return Decl(d.name, "uint32_t", Const(addr), d.line, alloc=kind)
        heap = self._heap_array(ctype, d)
        if heap is not None:
            return heap
        if d.pointers:
            raise self._err(UnsupportedConstruct, f"pointer local '{d.name}' (only on-chip "
                            "allocations and malloc'ed arrays may be pointers)", d)
        ctype_name = SCALAR_CTYPE.get(ctype.base)
        if ctype_name is None:
            raise self._err(UnsupportedConstruct, f"local '{d.name}' of type '{ctype.base}' "
                            f"(use one of {', '.join(SCALAR_TYPES)})", d)
        if isinstance(d.init, C.CInitList):
            raise self._err(UnsupportedConstruct, f"initializer list for '{d.name}'", d)
        if ctype.static:
            raise self._err(UnsupportedConstruct, f"static scalar '{d.name}' (static locals "
                            "must be arrays)", d)
        init = None if d.init is None else self.canon(self.scalar_value(d.init, "initializer"))
        self.declare(d.name, _Sym("scalar", ctype=ctype_name))
        if ctype_name in FLOAT_TYPES:
            self.float_names.add(d.name)
        else:
            self.float_names.discard(d.name)
        return Decl(d.name, ctype_name, init, d.line)

    def array_decl(self, ctype: C.CType, d: C.CDeclarator) -> ArrayDecl:
        """A local array (CPU code); its elements are read and written like a parameter's."""
        base = "int32_t" if ctype.base == "int" else ctype.base
        if d.pointers or base not in ARRAY_TYPES:
            raise self._err(UnsupportedConstruct, f"local array '{d.name}' of type "
                            f"'{ctype.base}{' *' * d.pointers}' (element types: "
                            f"{', '.join(ARRAY_TYPES)})", d)
        if d.name in self.local_arrays or d.name in self.params:
            raise self._err(UnsupportedConstruct, f"local array '{d.name}' declared twice "
                            "(local array names must be unique in the function)", d)
        shape = tuple(self._const_int(x, f"dimension of '{d.name}'") for x in d.dims)
        if any(n <= 0 for n in shape):
            raise self._err(ParseError, f"dimension of '{d.name}' must be positive", d)
        init = None
        if d.init is not None:
            if not isinstance(d.init, C.CInitList):
                raise self._err(ParseError, f"array '{d.name}' needs a {{...}} initializer", d)
            flat = []
            self._flatten_init(d.init, flat)
            size = 1
            for n in shape:
                size *= n
            if len(flat) > size:
                raise self._err(ParseError, f"too many initializers for '{d.name}' ({len(flat)} "
                                f"for {size} elements)", d)
            init = tuple(self._const_init(x, base) for x in flat)
        self.dims[d.name] = shape
        self.local_arrays[d.name] = base
        self.declare(d.name, _Sym("array", ctype=base))
        return ArrayDecl(d.name, base, shape, init, ctype.static, d.line)

    def _heap_array(self, ctype: C.CType, d: C.CDeclarator) -> ArrayDecl | None:
        """Exo's DRAM buffer ``T *t = (T*) malloc(N * sizeof(*t));`` as a local array of N
        elements (uninitialized, as malloc leaves it); None if ``d`` is not one."""
        e = d.init
        while isinstance(e, C.CCast):
            e = e.operand
        if d.pointers != 1 or not (isinstance(e, C.CCall) and isinstance(e.func, C.CName)
                                   and e.func.name == "malloc"):
            return None
        base = "int32_t" if ctype.base == "int" else ctype.base
        if len(e.args) != 1 or base not in ARRAY_TYPES:
            raise self._err(UnsupportedConstruct, f"malloc of '{d.name}' (an array of "
                            f"{', '.join(ARRAY_TYPES)} of a constant size)", d)
        elem = SIZEOF[base]
        self.elem_sizes[d.name] = elem
        nbytes = self._const_int(e.args[0], f"size of '{d.name}'")
        if nbytes <= 0 or nbytes % elem:
            raise self._err(ParseError, f"malloc of {nbytes} bytes is not a whole number of "
                            f"{base} elements", d)
        array = self.array_decl(C.CType(base), C.CDeclarator(d.name, 0, (C.CInt(nbytes // elem),),
                                                              None, d.line))
        self.heap.add(d.name)
        return array

    def _flatten_init(self, init, out: list) -> None:
        for x in init.items:
            if isinstance(x, C.CInitList):
                self._flatten_init(x, out)
            else:
                out.append(x)

    def _const_init(self, x, base: str):
        v = self._deref(self.value(x), x)
        e = v.expr if isinstance(v, (_Int, _Float)) else None
        if isinstance(e, UnOp) and e.op == "-" and isinstance(e.operand, FloatConst):
            e = FloatConst(-e.operand.value, e.operand.double)
        if isinstance(v, _Int):
            e = simplify(e)
        if base == "float" and isinstance(e, Const):
            return FloatConst(float(e.value))
        if isinstance(e, (Const, FloatConst)):
            return e
        raise self._err(ParseError, "array initializers must be constants", x)

    def _allocation(self, init) -> tuple[str, int] | None:
        e = init
        while isinstance(e, C.CCast):
            e = e.operand
        if isinstance(e, C.CCall) and isinstance(e.func, C.CName) and e.func.name in ALLOCATORS:
            if len(e.args) != 1:
                raise self._err(ArityError, f"{e.func.name} takes 1 argument", e)
            return ALLOCATORS[e.func.name], self._const_int(e.args[0], "allocation size")
        return None

    def for_loop(self, s: C.CFor) -> For:
        init = s.init
        if isinstance(init, C.CDecl):
            d = init.declarators[0]
            if d.pointers or d.init is None:
                raise self._err(UnsupportedConstruct, "loop variable must be an integer", s)
            var, lo = d.name, d.init
        elif isinstance(init.target, C.CName) and init.op == "=":
            var, lo = init.target.name, init.value
            if self.lookup(var) is None:
                raise self._err(ParseError, f"undeclared loop variable '{var}'", s)
        else:
            raise self._err(UnsupportedConstruct, "loop must start with 'var = value'", s)
        lo_e = simplify(self.int_expr(lo))
        hi_e = self._loop_bound(s.cond, var, s)
        self.scopes.append({var: _Sym("loop")})
        try:
            step = self._loop_step(s.step, var, s)
            before, mark = self.alloc.state(), self.alloc.mark()
            body = self.block(s.body.stmts if isinstance(s.body, C.CBlock) else (s.body,))
            problem = self.alloc.check_loop_body(mark, before)
            if problem:
                raise self._err(UnsupportedConstruct, problem, s)
        finally:
            self.scopes.pop()
        return For(var, lo_e, hi_e, tuple(body), step, s.line)

    def _loop_bound(self, cond, var: str, s) -> object:
        if isinstance(cond, C.CBin):
            if isinstance(cond.lhs, C.CName) and cond.lhs.name == var and cond.op in ("<", "<="):
                hi = self.int_expr(cond.rhs)
                return simplify(BinOp("+", hi, Const(1)) if cond.op == "<=" else hi)
            if isinstance(cond.rhs, C.CName) and cond.rhs.name == var and cond.op in (">", ">="):
                hi = self.int_expr(cond.lhs)
                return simplify(BinOp("+", hi, Const(1)) if cond.op == ">=" else hi)
        raise self._err(UnsupportedConstruct, f"loop condition must be '{var} < bound' or "
                        f"'{var} <= bound'", s)

    def _loop_step(self, step, var: str, s) -> int:
        amount = None
        if isinstance(step, C.CIncDec) and isinstance(step.operand, C.CName) \
                and step.operand.name == var and step.op == "++":
            amount = Const(1)
        elif isinstance(step, C.CAssign) and isinstance(step.target, C.CName) \
                and step.target.name == var:
            if step.op == "+=":
                amount = simplify(self.int_expr(step.value))
            elif step.op == "=":
                amount = simplify(BinOp("-", self.int_expr(step.value), Var(var)))
        if isinstance(amount, Const) and amount.value > 0:
            return amount.value
        raise self._err(UnsupportedConstruct, f"loop step must increase '{var}' by a positive "
                        "constant", s)

    def if_stmt(self, s: C.CIf) -> If:
        cond = self.canon(self.scalar_value(s.cond, "condition"))
        before = self.alloc.state()
        then = self._branch(s.then)
        orelse = () if s.orelse is None else self._branch(s.orelse)
        if self.alloc.state() != before:
            raise self._err(UnsupportedConstruct, "an if branch allocates without freeing", s)
        return If(cond, then, orelse, s.line)

    def _branch(self, s) -> tuple:
        return tuple(self.block(s.stmts if isinstance(s, C.CBlock) else (s,)))

    def expr_stmt(self, e) -> list:
        if isinstance(e, C.CCall):
            return self.call(e)
        if isinstance(e, C.CAssign):
            return [self.assign(e)]
        if isinstance(e, C.CIncDec):
            op = "+=" if e.op == "++" else "-="
            if isinstance(e.operand, C.CName):
                self._check_assignable(e.operand, e)
                return [Assign(e.operand.name, op, Const(1), e.line)]
            target = self.value(e.operand) if isinstance(e.operand, (C.CIndex, C.CUn)) \
                else None
            if isinstance(target, _Dram) and target.element:
                return [self._store(target, op, Const(1), e)]
            raise self._err(UnsupportedConstruct, self._write_what(e.operand), e)
        raise self._err(UnsupportedConstruct, "expression statement without effect", e)

    def assign(self, e: C.CAssign):
        if not isinstance(e.target, C.CName):
            target = self.value(e.target) if isinstance(e.target, (C.CIndex, C.CUn)) else None
            if isinstance(target, _Dram) and target.element:
                value = self.canon(self.scalar_value(e.value, "stored value"))
                return self._store(target, e.op, value, e)
            raise self._err(UnsupportedConstruct, self._write_what(e.target), e)
        self._check_assignable(e.target, e)
        return Assign(e.target.name, e.op, self.canon(self.scalar_value(e.value, "value")),
                      e.line)

    def _store(self, target: _Dram, op: str, value, node) -> Store:
        p = self.params.get(target.array)
        if p is not None and p.const:
            raise self._err(UnsupportedConstruct, f"writing const array '{p.name}'", node)
        return Store(target.array, simplify(target.index), op, value, node.line)

    def _write_what(self, target) -> str:
        base = target
        while isinstance(base, (C.CIndex, C.CUn, C.CCast, C.CMember)):
            base = base.base if isinstance(base, (C.CIndex, C.CMember)) else base.operand
        if isinstance(base, C.CName) and base.name in self.params:
            return f"writing DRAM data of '{base.name}' from the CPU (pointer or array store)"
        return "assignment to something other than a scalar local"

    def _check_assignable(self, name: C.CName, node) -> None:
        sym = self.lookup(name.name)
        if sym is None:
            raise self._err(ParseError, f"undeclared variable '{name.name}'", node)
        if sym.kind == "param":
            raise self._err(UnsupportedConstruct, f"assignment to parameter '{name.name}'", node)
        if sym.kind == "loop":
            raise self._err(UnsupportedConstruct, f"assignment to loop variable '{name.name}'",
                            node)
        if sym.kind in ("array", "buffer"):
            raise self._err(UnsupportedConstruct, f"assignment to array '{name.name}' (assign "
                            "its elements)", node)

    # ------------------------------------------------------------------ calls
    def call(self, e: C.CCall) -> list:
        if not isinstance(e.func, C.CName):
            raise self._err(UnsupportedConstruct, "call through an expression", e)
        name = e.func.name
        if name in IGNORED_CALLS:
            return []
        if name == "free" and len(e.args) == 1 and isinstance(e.args[0], C.CName) \
                and e.args[0].name in self.heap:
            return []
        if name in FREES:
            if len(e.args) != 1:
                raise self._err(ArityError, f"{name} takes 1 argument", e)
            self.alloc.free(FREES[name], self._buffer_addr(e.args[0], name))
            return []
        if name in ALLOCATORS:
            raise self._err(UnsupportedConstruct, f"{name} result must initialize a local", e)
        spec = isa.BY_NAME.get(name)
        helper = self.helpers(name) if spec is None else None
        if helper is not None and (helper.ret.base, helper.ret.pointers) == ("void", 0):
            return self._inline_void(helper, e)
        if spec is None:
            raise self._err(UnknownInstruction, f"unknown function '{name}' (not a Gemmini "
                            "instruction)", e)
        spelling = spec.spelling(name, len(e.args))
        if spelling is None:
            arities = " or ".join(str(a) for a in spec.arities(name))
            raise self._err(ArityError, f"{name} takes {arities} arguments, got {len(e.args)}", e)
        written = []
        for k, (slot, arg) in enumerate(zip(spelling.slots, e.args)):
            written.append(self.operand(arg, spec.operands[slot], name, k + 1))
        return [Instr(spec.op, spec.fill(spelling, written), e.line)]

    def _inline_void(self, f: C.CFunc, e: C.CCall) -> list:
        """A statement call of a ``void`` helper of the same file (Exo's ``clamp``): its
        body in place of the call (`lowering.c_inline`)."""
        if f.name in self.inlining:
            raise self._err(UnsupportedConstruct, f"recursive call of helper '{f.name}'", e)

        def is_scalar(name: str) -> bool:
            sym = self.lookup(name)
            return sym is not None and (sym.kind == "scalar" or (
                sym.kind == "param" and not self.params[name].is_array
                and not self.params[name].by_pointer))
        try:
            stmts = inline_void_call(f, e, self.inlined, is_scalar,
                                     lambda name: name in isa.CONSTANTS)
        except InlineRefused as why:
            raise self._err(UnsupportedConstruct, f"helper '{f.name}' (line {f.line}) is not "
                            f"inlined: it {why}", e) from None
        self.inlining.append(f.name)
        try:
            return self.block(stmts)
        finally:
            self.inlining.pop()

    def _buffer_addr(self, arg, fname: str) -> int:
        v = simplify(self.int_expr(arg))
        if isinstance(v, Var):
            sym = self.lookup(v.name)
            if sym is not None and sym.kind == "buffer":
                return sym.addr
        if isinstance(v, Const):
            return v.value
        raise self._err(UnsupportedConstruct, f"{fname} of something that is not an "
                        "allocated buffer", arg)

    def operand(self, arg, op: isa.Operand, fname: str, pos: int):
        v = self.value(arg)
        where = f"argument {pos} ({op.name}) of {fname}"
        if op.role == isa.DRAM:
            if isinstance(v, _Dram):
                if v.array in self.local_arrays:
                    raise self._err(UnsupportedConstruct, f"{where}: local array '{v.array}' "
                                    "as a DRAM operand (Gemmini moves data of array "
                                    "parameters only)", arg)
                if v.element:
                    raise self._err(UnsupportedConstruct, f"{where} reads DRAM data of "
                                    f"'{v.array}'; pass its address (&{v.array}[...])", arg)
                return DramAddr(v.array, simplify(v.index))
            if isinstance(v, _Int) and simplify(v.expr) == Const(0):
                return Const(0)
            raise self._err(ParseError, f"{where} must be a DRAM address (&A[...]) or 0", arg)
        if isinstance(v, _Dram) and v.element:
            raise self._err(UnsupportedConstruct, f"{where} reads array data of '{v.array}' "
                            "(instruction operands must not depend on array data)", arg)
        if op.role == isa.FLOAT:
            if isinstance(v, _Float):
                if isinstance(v.expr, FloatConst):
                    return FloatConst(v.expr.value)
                if isinstance(v.expr, Var) and v.expr.name in self.params:
                    return v.expr
                if isinstance(v.expr, Var) and v.expr.name in self.literal_floats:
                    return FloatConst(self.literal_floats[v.expr.name])
                raise self._err(UnsupportedConstruct, f"{where} must be a float literal, a "
                                "float parameter or a local holding one literal", arg)
            if isinstance(v, _FloatPtr):
                return Var(v.name)
            if isinstance(v, _Int):
                c = simplify(v.expr)
                if isinstance(c, Const):
                    return FloatConst(float(c.value))
            raise self._err(ParseError, f"{where} must be a float", arg)
        x = self._as_int(v, arg, where)
        if self._is_data(x):
            raise self._err(UnsupportedConstruct, f"{where} depends on array data, a float or "
                            "a cast (instruction operands are integer address arithmetic)", arg)
        return simplify(x)

    # ------------------------------------------------------------------ expressions
    def int_expr(self, e):
        return self._as_int(self.value(e), e, "expression")

    def scalar_value(self, e, where: str):
        """The IR expression of a scalar value (integer or float, CPU data allowed)."""
        v = self._deref(self.value(e), e)
        if isinstance(v, _Float):
            return v.expr
        return self._as_int(v, e, where)

    def canon(self, e):
        """``e`` in canonical form: integer arithmetic is simplified, CPU data (loads,
        floats, casts, calls) keeps the order of operations it was written with."""
        if not self._is_data(e):
            return simplify(e)
        if isinstance(e, BinOp):
            return BinOp(e.op, self.canon(e.lhs), self.canon(e.rhs))
        if isinstance(e, UnOp):
            return UnOp(e.op, self.canon(e.operand))
        if isinstance(e, Cond):
            return Cond(self.canon(e.cond), self.canon(e.then), self.canon(e.orelse))
        if isinstance(e, Cast):
            return Cast(e.ctype, self.canon(e.operand))
        if isinstance(e, Load):
            return Load(e.array, self.canon(e.index))
        if isinstance(e, Call):
            return Call(e.func, tuple(self.canon(a) for a in e.args))
        return e

    def _is_data(self, e) -> bool:
        if isinstance(e, _DATA_NODES):
            return True
        if isinstance(e, Var):
            return e.name in self.float_names
        return any(self._is_data(c) for c in _children(e))

    def _deref(self, v, node):
        """An array element (`_Dram` with ``element``) becomes its value (a `Load`)."""
        if isinstance(v, _Dram) and v.element:
            load = Load(v.array, simplify(v.index))
            return _Float(load) if self._elem_type(v.array) == "float" else _Int(load)
        if isinstance(v, _FloatPtr):
            raise self._err(UnsupportedConstruct, f"'{v.name}' is a pointer (read "
                            f"{v.name}[0])", node)
        return v

    def _elem_type(self, array: str) -> str:
        if array in self.local_arrays:
            return self.local_arrays[array]
        return {"i8": "int8_t", "i32": "int32_t", "f32": "float"}.get(
            self.params[array].dtype, "int32_t")

    def _as_int(self, v, node, where: str):
        if isinstance(v, _Dram) and v.element:
            v = self._deref(v, node)
        if isinstance(v, _Int):
            return v.expr
        if isinstance(v, _LocalPtr) and not v.deref:
            return v.expr
        if isinstance(v, _Dram):
            what = "DRAM data" if v.element else "a DRAM address"
            raise self._err(UnsupportedConstruct, f"{where} uses {what} of '{v.array}' as an "
                            "integer", node)
        if isinstance(v, (_Float, _FloatPtr)):
            raise self._err(ParseError, f"{where} must be an integer, not a float", node)
        raise self._err(UnsupportedConstruct, f"{where}: dereference of an on-chip address",
                        node)

    def _const_int(self, e, what: str) -> int:
        v = simplify(self.int_expr(e))
        if not isinstance(v, Const):
            raise self._err(ParseError, f"{what} must be a constant", e)
        return v.value

    def value(self, e):
        """What expression ``e`` denotes (`_Int`, `_Float`, `_Dram`, `_LocalPtr`, ...)."""
        if isinstance(e, C.CInt):
            try:
                t = cint.literal_type(e.value, decimal=e.decimal, unsigned=e.unsigned,
                                      long=e.long)
            except ValueError as exc:
                raise self._err(ParseError, str(exc), e) from None
            return _Int(Const(e.value), t)
        if isinstance(e, C.CFloat):
            return _Float(FloatConst(e.value, e.double))
        if isinstance(e, C.CName):
            return self._name(e)
        if isinstance(e, C.CBin):
            return self._binary(e)
        if isinstance(e, C.CUn):
            return self._unary(e)
        if isinstance(e, C.CCast):
            return self._cast(e)
        if isinstance(e, C.CIndex):
            return self._index(e)
        if isinstance(e, C.CTernary):
            cond = self.scalar_value(e.cond, "condition")
            then, orelse = (self._deref(self.value(x), x) for x in (e.then, e.orelse))
            if isinstance(then, _Float) or isinstance(orelse, _Float):
                return _Float(Cond(cond, self.scalar_value(e.then, "operand"),
                                   self.scalar_value(e.orelse, "operand")))
            return _Int(Cond(cond, self._as_int(then, e.then, "operand"),
                             self._as_int(orelse, e.orelse, "operand")))
        if isinstance(e, C.CSizeof):
            if e.ctype is None:
                target = e.operand
                while isinstance(target, (C.CUn, C.CIndex)):
                    target = target.operand if isinstance(target, C.CUn) else target.base
                if isinstance(target, C.CName) and target.name in self.elem_sizes:
                    return _Int(Const(self.elem_sizes[target.name]), cint.ULONG)
                raise self._err(UnsupportedConstruct, "sizeof of an expression", e)
            size = 8 if e.ctype.pointers else SIZEOF.get(e.ctype.base)
            if size is None:
                raise self._err(UnsupportedConstruct, f"sizeof({e.ctype.base})", e)
            return _Int(Const(size), cint.ULONG)
        if isinstance(e, C.CMember):
            return self._member(e)
        if isinstance(e, C.CCall):
            fname = e.func.name if isinstance(e.func, C.CName) else "an expression"
            if fname in MATH_FUNCS:
                return self._math_call(fname, e)
            helper = self.helpers(fname) if isinstance(e.func, C.CName) else None
            if helper is not None:
                return self._inline(helper, e)
            if fname in isa.BY_NAME or fname in FREES or fname in ALLOCATORS:
                raise self._err(UnsupportedConstruct, f"call of {fname} inside an expression", e)
            raise self._err(UnknownInstruction, f"unknown function '{fname}'", e)
        if isinstance(e, (C.CAssign, C.CIncDec)):
            raise self._err(UnsupportedConstruct, "assignment inside an expression", e)
        if isinstance(e, (C.CCompound, C.CInitList)):
            raise self._err(UnsupportedConstruct, "compound literal used as a value", e)
        raise self._err(UnsupportedConstruct, f"expression {type(e).__name__}", e)

    def _inline(self, f: C.CFunc, e: C.CCall):
        """A call of helper ``f`` (``T f(params) { return expr; }`` in the same file), inlined:
        its expression with each parameter bound to the argument converted to its type."""
        if f.name in self.inlining:
            raise self._err(UnsupportedConstruct, f"recursive call of helper '{f.name}'", e)
        result = _return_tree(f.body)
        if result is None:
            raise self._err(UnsupportedConstruct, f"helper '{f.name}' (line {f.line}) is not "
                            "inlined: only helpers whose body is 'return expression;' (or "
                            "if / else choosing between such returns) are", e)
        params = [p for p in f.params if p.name or p.ctype != C.CType("void")]
        if len(params) != len(e.args):
            raise self._err(ArityError, f"{f.name} takes {len(params)} arguments, got "
                            f"{len(e.args)}", e)
        scope = {}
        for p, arg in zip(params, e.args):
            if p.ctype.pointers or p.dims or p.ctype.base not in SCALAR_CTYPE:
                raise self._err(UnsupportedConstruct, f"helper '{f.name}': parameter "
                                f"'{p.name}' is not a scalar (helpers take scalars)", e)
            v = self._deref(self.value(arg), arg)
            scope[p.name] = _Sym("inline", ctype=SCALAR_CTYPE[p.ctype.base],
                                 value=self._converted(v, SCALAR_CTYPE[p.ctype.base], arg))
        if f.ret.pointers or f.ret.base not in SCALAR_CTYPE:
            raise self._err(UnsupportedConstruct, f"helper '{f.name}' returns "
                            f"'{f.ret.base}', not a scalar", e)
        saved = self.scopes
        self.scopes = [saved[0], scope]      # the helper sees the file scope and its parameters
        self.inlining.append(f.name)
        try:
            v = self._deref(self.value(result), result)
        finally:
            self.scopes = saved
            self.inlining.pop()
        return self._converted(v, SCALAR_CTYPE[f.ret.base], e)

    def _converted(self, v, ctype: str, node):
        """Value ``v`` converted to C type ``ctype`` as an assignment would."""
        if ctype in FLOAT_TYPES:
            if isinstance(v, _Float):
                if isinstance(v.expr, FloatConst):
                    return _Float(FloatConst(v.expr.value, ctype == "double"))
                return _Float(Cast(ctype, v.expr))
            x = self._as_int(v, node, "argument")
            c = simplify(x) if not self._is_data(x) else x
            if isinstance(c, Const):
                return _Float(FloatConst(float(c.value), ctype == "double"))
            return _Float(Cast(ctype, x))
        if isinstance(v, _Float):
            return _Int(Cast(ctype, v.expr))
        x = self._as_int(v, node, "argument")
        t = cint.CTYPES.get(ctype)
        if t is not None and (t.bits < 32 or self._is_data(x)):
            c = x if self._is_data(x) else simplify(x)
            if isinstance(c, Const):
                return _Int(Const(cint.value(cint.convert(c.value, t), t)), t)
            return _Int(Cast(ctype, x))
        return v if isinstance(v, _Int) else _Int(x)

    def _math_call(self, fname: str, e: C.CCall):
        if len(e.args) != MATH_FUNCS[fname]:
            raise self._err(ArityError, f"{fname} takes {MATH_FUNCS[fname]} argument"
                            f"{'s' if MATH_FUNCS[fname] > 1 else ''}, got {len(e.args)}", e)
        args = tuple(self.scalar_value(a, f"argument of {fname}") for a in e.args)
        call = Call(fname, args)
        return _Int(call) if fname == "abs" else _Float(call)

    def _name(self, e: C.CName):
        sym = self.lookup(e.name)
        if sym is None:
            if e.name in isa.CONSTANTS:
                value = isa.CONSTANTS[e.name]
                return _Int(Const(value), cint.const_type(value))
            raise self._err(ParseError, f"undeclared name '{e.name}'", e)
        if sym.kind == "param":
            p = self.params[e.name]
            if p.is_array:
                return _Dram(p.name, Const(0), 0)
            if p.by_pointer:
                return _FloatPtr(p.name)
            return _Float(Var(p.name)) if p.dtype == "f32" else _Int(Var(p.name))
        if sym.kind == "array":
            return _Dram(e.name, Const(0), 0)
        if sym.kind == "inline":
            return sym.value
        if sym.kind == "scalar" and sym.ctype in FLOAT_TYPES:
            return _Float(Var(e.name))
        return _Int(Var(e.name))

    def _binary(self, e: C.CBin):
        lhs, rhs = self.value(e.lhs), self.value(e.rhs)
        if e.op in ("+", "-") and isinstance(lhs, _Dram) and not lhs.element \
                and isinstance(rhs, _Int):
            step = self._stride(lhs.array, lhs.level)
            delta = BinOp("*", rhs.expr, Const(step))
            return _Dram(lhs.array, BinOp(e.op, lhs.index, delta), lhs.level)
        if e.op == "+" and isinstance(rhs, _Dram) and not rhs.element and isinstance(lhs, _Int):
            step = self._stride(rhs.array, rhs.level)
            return _Dram(rhs.array, BinOp("+", rhs.index, BinOp("*", lhs.expr, Const(step))),
                         rhs.level)
        if isinstance(lhs, _LocalPtr) or isinstance(rhs, _LocalPtr):
            raise self._err(UnsupportedConstruct, "pointer arithmetic on an on-chip address "
                            "(write the row arithmetic on the uint32_t address instead)", e)
        lhs, rhs = self._deref(lhs, e.lhs), self._deref(rhs, e.rhs)
        if isinstance(lhs, _Float) or isinstance(rhs, _Float):
            return self._float_binary(e, lhs, rhs)
        if isinstance(lhs, _Int) and isinstance(rhs, _Int):
            folded = _folded(e.op, lhs, rhs)
            if folded is not None:
                return folded
        return _Int(BinOp(e.op, self._as_int(lhs, e.lhs, "operand"),
                          self._as_int(rhs, e.rhs, "operand")))

    def _float_binary(self, e: C.CBin, lhs, rhs):
        if e.op not in FLOAT_OPS and e.op not in COMPARE_OPS:
            raise self._err(UnsupportedConstruct, f"operator {e.op} on a float", e)
        l_e, r_e = (x.expr if isinstance(x, _Float) else self._as_int(x, n, "operand")
                    for x, n in ((lhs, e.lhs), (rhs, e.rhs)))
        out = BinOp(e.op, l_e, r_e)
        return _Int(out) if e.op in COMPARE_OPS else _Float(out)

    def _unary(self, e: C.CUn):
        if e.op == "&":
            if isinstance(e.operand, C.CUn) and e.operand.op == "*":
                inner = self.value(e.operand.operand)   # &*p == p
                if isinstance(inner, _LocalPtr):
                    return _Int(inner.expr)
                return inner
            v = self.value(e.operand)
            if isinstance(v, _Dram):
                return _Dram(v.array, v.index, len(self.dims[v.array]))
            if isinstance(v, _LocalPtr) and v.deref:
                return _Int(v.expr)
            if isinstance(v, _Float) and isinstance(v.expr, Var) \
                    and isinstance(e.operand, C.CName):
                return _FloatPtr(v.expr.name)      # Exo's (&one)[0] of a float local
            raise self._err(UnsupportedConstruct, "address of something that is not array "
                            "data", e)
        v = self.value(e.operand)
        if e.op == "*":
            if isinstance(v, _Dram):
                return self._subscript(v, Const(0), e)
            if isinstance(v, _FloatPtr):
                return _Float(Var(v.name))
            if isinstance(v, _LocalPtr):
                return _LocalPtr(v.expr, True)
            raise self._err(UnsupportedConstruct, "dereference of an integer", e)
        v = self._deref(v, e.operand)
        if isinstance(v, _Float) and e.op == "-" and isinstance(v.expr, FloatConst):
            return _Float(FloatConst(-v.expr.value, v.expr.double))
        if isinstance(v, _Float):
            if e.op == "+":
                return v
            if e.op == "-":
                return _Float(UnOp("-", v.expr))
            if e.op == "!":
                return _Int(UnOp("!", v.expr))
            raise self._err(UnsupportedConstruct, f"operator {e.op} on a float", e)
        x = self._as_int(v, e.operand, "operand")
        if e.op == "+":
            return v if isinstance(v, _Int) else _Int(x)
        folded = _folded(e.op, v) if isinstance(v, _Int) else None
        return folded or _Int(UnOp(e.op, x))

    def _cast(self, e: C.CCast):
        v = self.value(e.operand)
        t = e.ctype
        if t.pointers:
            if isinstance(v, (_Dram, _FloatPtr)):
                return v
            if isinstance(v, _LocalPtr):
                return _LocalPtr(v.expr)
            return _LocalPtr(self._as_int(v, e.operand, "cast operand"))
        if isinstance(v, _Dram) and v.element:
            v = self._deref(v, e.operand)
        if t.base in FLOAT_TYPES:
            double = t.base == "double"
            if isinstance(v, _Float):
                if isinstance(v.expr, FloatConst):
                    return _Float(FloatConst(v.expr.value, double))
                if isinstance(v.expr, Var) and v.expr.name in self.params:
                    return v      # (float) scale[0]
                return _Float(Cast(t.base, v.expr))
            c = simplify(self._as_int(v, e.operand, "cast operand"))
            if isinstance(c, Const):
                return _Float(FloatConst(float(c.value), double))
            return _Float(Cast(t.base, self.canon(c)))
        if isinstance(v, _Float):
            if t.base not in cint.CTYPES:
                raise self._err(UnsupportedConstruct, f"cast of a float to '{t.base}'", e)
            return _Int(Cast(t.base, v.expr))
        if isinstance(v, (_Dram, _FloatPtr)):
            return v  # (uint64_t) &A[...] keeps being a DRAM address
        x = self._as_int(v, e.operand, "cast operand")
        target = cint.CTYPES.get(t.base)
        if target is None:
            return _Int(x)
        if self._is_data(x) or target.bits < 32:
            c = simplify(x) if not self._is_data(x) else x
            if not isinstance(c, Const):     # CPU data keeps its casts (int8_t wraps)
                return _Int(Cast(t.base, x))
        c = x if isinstance(v, _Int) and v.typed else simplify(x)
        if isinstance(c, Const):    # a cast of a variable is dropped: the IR has no casts
            return _Int(Const(cint.value(cint.convert(c.value, target), target)), target)
        return _Int(x)

    def _stride(self, array: str, level: int) -> int:
        if array not in self.dims:
            raise ParseError(f"shape of '{array}' is unknown", filename=self.filename)
        n = 1
        for d in self.dims[array][level + 1:]:
            n *= d
        return n

    def _subscript(self, base: _Dram, index, node):
        dims = self.dims[base.array]
        if base.element or base.level >= len(dims):
            raise self._err(UnsupportedConstruct, f"too many subscripts on '{base.array}'", node)
        step = self._stride(base.array, base.level)
        level = base.level + 1
        return _Dram(base.array, BinOp("+", base.index, BinOp("*", index, Const(step))), level,
                     element=level == len(dims))

    def _index(self, e: C.CIndex):
        if isinstance(e.base, C.CMember) and isinstance(e.base.base, C.CCompound) \
                and e.base.name == "strides":
            k = self._const_int(e.index, "window stride index")
            items = e.base.base.items
            if len(items) < 2 or not isinstance(items[1], C.CInitList) \
                    or not 0 <= k < len(items[1].items):
                raise self._err(ParseError, "window literal has no stride " + str(k), e)
            return _Int(self.int_expr(items[1].items[k]))
        base = self.value(e.base)
        if isinstance(base, _FloatPtr):
            if self._const_int(e.index, "scalar index") != 0:
                raise self._err(UnsupportedConstruct, f"'{base.name}' is a scalar", e)
            return _Float(Var(base.name))
        if isinstance(base, _Dram):
            return self._subscript(base, self.int_expr(e.index), e)
        raise self._err(UnsupportedConstruct, "subscript of something that is not an array", e)

    def _member(self, e: C.CMember):
        if isinstance(e.base, C.CCompound) and e.name == "data" and e.base.items:
            return self.value(e.base.items[0])
        raise self._err(UnsupportedConstruct, f"struct member access '.{e.name}'"
                        if not e.arrow else f"struct member access '->{e.name}'", e)
