"""Vectors in row form (menu items merge_instructions, less_data_movement,
faster_equivalent).

A matrix-vector kernel mapped the straightforward way keeps each vector as a column:
a chunk of up to DIM elements fills the first column of DIM local rows, every move of it
is a one-column move of DIM rows, and every product ``y = M v`` preloads the chunk of
``v`` as a one-column weight and streams a tile of ``M`` as A. A 12-element vector then
costs three moves each way. ``row_vectors`` turns the whole kernel around, using
``y^T = v^T M^T`` and the execute configuration's ``B_transpose``:

    preload(v, y, 1, k, 1, m); compute_preloaded(M, GARBAGE, k, m, ., .)
 -> preload(M, y', m, k, m, 1); compute_preloaded(v', GARBAGE, k, 1, m, 1)
    mvin(&v[i], v, 1, k)  ->  mvin(&v[i], v', k, 1)          (and mvouts alike)

with ``config_ex(..., B_transpose = 1)``: the tile of ``M`` is read transposed as the
weights (a preload with B transpose reads B_cols rows of B_rows elements), the chunk of
``v`` streams as one row of A and ``y`` comes out as one row. A vector is a run of
consecutive chunks moved to and from the same arrays; its chunks, DIM rows each, become
consecutive rows from its first row ``L`` (``L + (row - L) / DIM``), so each vector keeps
blocks of its own (the model orders instructions by block) and consecutive moves of
consecutive chunks, as statements in a row or as a loop of at most DIM iterations,
become one move of up to DIM rows. The load and store configurations that govern only
vector moves get the stride of a whole row (DIM elements), which a one-row move ignores.
The array sums each product in k order either way, so the results are the same bits.

Legality, from an enumeration of every executed instruction: the kernel runs in WS with
no transposition configured, every preload / compute pair is a product with a one-column
B and C (C in the accumulator, D garbage, no held weights), every one-column move moves
at most DIM rows from the first row of a chunk, no chunk is also read or written as part
of a matrix, every address operand reaches one vector, and each vector move's DRAM
elements are contiguous (its stride is the element size). The DRAM bytes each move
touches and their order do not change, so the fences stay valid.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import ACC_BIT, ROW_MASK, GemminiConfig
from gemmini.ir import Const, DramAddr, For, Function, If, Instr, Var
from gemmini.isa import LOAD_IDS, SPECS

from .base import Application, NotApplicable, Transform, app, executions
from .deps import is_garbage
from .fences import array_itemsize
from .ir_util import (binop, const_decls, const_value, eval_expr, expr_vars, fold, instrs, subst_expr, subst_stmt, trip_count)

MOVES = tuple(LOAD_IDS) + ("mvout",)
_EX = SPECS["config_ex"].operands
B_TRANSPOSE, A_TRANSPOSE = (next(i for i, o in enumerate(_EX) if o.name == n)
                            for n in ("B_transpose", "A_transpose"))
DATAFLOW_WS = dict((name, v) for v, name in _EX[0].symbols)["WEIGHT_STATIONARY"]
MAX_EXECUTIONS = 20_000     # larger kernels are not enumerated (the rewrite is refused)


def _val(e, env) -> int:
    v = const_value(e, env)
    if v is None:
        raise NotApplicable("an operand the enumeration cannot evaluate")
    return v


@dataclasses.dataclass
class _Plan:
    """What the enumeration found: per statement id its role, per address operand the
    first row of its vector, and the configuration statements that govern vector moves
    only."""
    vector_moves: set
    mergeable: set                  # vector moves governed only by row configurations
    products: set                   # ids of preloads and computes of vector products
    flags: dict                     # statement id -> {operand index: address flag bits}
    base: dict                      # (statement id, operand) -> first row of its vector
    row_configs: dict               # config id -> a row's bytes, when it governs vector moves only
    config_exs: set
    envs: dict = dataclasses.field(default_factory=dict)   # (id, operand) -> its executions


def _analyze(fn: Function, config: GemminiConfig) -> _Plan:
    dim = config.dim
    execs = executions(fn, MAX_EXECUTIONS)
    vec_rows = {"sp": {}, "acc": {}}            # first row of a chunk -> arrays moved there
    uses: list = []                             # (statement id, operand, space, row, env)
    mat_rows = {"sp": set(), "acc": set()}      # rows read or written as matrix data
    plan = _Plan(set(), set(), set(), {}, {}, {}, set())
    move_gov: dict = {}                         # vector move id -> config ids governing it
    kind: dict = {}                             # statement id -> "vector" / "matrix"
    governs: dict = {}                          # config id -> set of kinds it governed
    current = {}                                # ("ld", id) / "st" -> (config id, stride)
    pending = None                              # the preload of the pair being read

    def space_row(v):
        return ("acc", v & ROW_MASK) if v & ACC_BIT else ("sp", v & (ACC_BIT - 1))

    def flag(sid, k, v):
        bits = v & ~ROW_MASK & 0xFFFFFFFF if v & ACC_BIT else 0
        if plan.flags.setdefault(sid, {}).setdefault(k, bits) != bits:
            raise NotApplicable("an address's accumulator flags vary")

    def chunk(sid, k, v, rows, env):
        if rows > dim:
            raise NotApplicable("a vector move of more than DIM rows")
        space, row = space_row(v)
        if row % dim:
            raise NotApplicable("a vector chunk that does not start a block")
        vec_rows[space].setdefault(row, set())
        uses.append((sid, k, space, row, env))
        flag(sid, k, v)

    def matrix(v, rows):
        if is_garbage(v):
            return
        space, row = space_row(v)
        mat_rows[space].update(range(row, row + rows))

    def classify(sid, what):
        if kind.setdefault(sid, what) != what:
            raise NotApplicable("a statement moves vectors and matrices")

    for _, ins, env, _ in execs:
        if not isinstance(ins, Instr):
            continue                # CPU code: its DRAM accesses do not change
        sid = id(ins)
        op = ins.op
        if op == "config_ex":
            a = [_val(x, env) for x in ins.args]
            if a[0] != DATAFLOW_WS or a[A_TRANSPOSE] or a[B_TRANSPOSE]:
                raise NotApplicable("the kernel is not in WS without transposition")
            plan.config_exs.add(sid)
        elif op in ("config_ld", "config_st"):
            key = ("ld", _val(ins.args[4], env) if ins.args[4] is not None else 0) \
                if op == "config_ld" else "st"
            bs = _val(ins.args[3], env) if op == "config_ld" and ins.args[3] is not None \
                else 0
            current[key] = (sid, _val(ins.args[0], env), bs or dim)
            governs.setdefault(sid, set())
        elif op in MOVES:
            cols, rows = _val(ins.args[2], env), _val(ins.args[3], env)
            local = _val(ins.args[1], env)
            key = ("ld", LOAD_IDS[op]) if op in LOAD_IDS else "st"
            gov = current.get(key)
            if cols == 1:
                classify(sid, "vector")
                move_gov.setdefault(sid, set()).add(gov[0] if gov else None)
                chunk(sid, 1, local, rows, env)
                if isinstance(ins.args[0], DramAddr):
                    vec_rows[space_row(local)[0]][space_row(local)[1]].add(ins.args[0].array)
                if isinstance(ins.args[0], DramAddr):
                    if gov is None:
                        raise NotApplicable("a vector move with no configuration")
                    if rows > 1 and gov[1] != array_itemsize(fn, ins.args[0].array):
                        raise NotApplicable("a vector move of elements that are not contiguous")
                if gov is not None and isinstance(ins.args[0], DramAddr):
                    governs.setdefault(gov[0], set()).add(array_itemsize(fn, ins.args[0].array))
            else:
                classify(sid, "matrix")
                if cols > dim and op == "mvout":
                    raise NotApplicable("an mvout wider than DIM")
                bs = gov[2] if gov is not None else dim
                for blk in range(-(-cols // dim)):      # a wide load fills blocks bs apart
                    matrix(local + blk * bs, rows)
                if gov is not None:
                    governs.setdefault(gov[0], set()).add("matrix")
        elif op == "preload":
            pending = (sid, ins, env)
        elif op == "compute_preloaded":
            if pending is None:
                raise NotApplicable("a compute without its preload")
            psid, pre, penv = pending
            pending = None
            b, c, b_cols, b_rows, c_cols, c_rows = (_val(x, penv) for x in pre.args)
            a, d, a_cols, a_rows = (_val(x, env) for x in ins.args[:4])
            if b_cols != 1 or c_cols != 1 or a_cols != b_rows or a_rows != c_rows:
                raise NotApplicable("a product that is not a matrix times a column")
            if not is_garbage(d) or is_garbage(c) or \
                    not c & ACC_BIT or b & ACC_BIT:
                raise NotApplicable("a product with a bias or without an accumulator output")
            chunk(psid, 0, b, b_rows, penv)
            chunk(psid, 1, c, c_rows, penv)
            matrix(a, a_rows)
            plan.products.update((psid, sid))
        elif op in ("compute_accumulated", "loop_ws"):
            raise NotApplicable(f"{op} is not rewritten")
    if not plan.products:
        raise NotApplicable("no matrix-vector product")
    plan.vector_moves = {sid for sid, k in kind.items() if k == "vector"}
    first: dict = {}                            # (space, chunk row) -> its vector's first row
    for space, chunks in vec_rows.items():
        start = prev = None
        for row in sorted(chunks):
            if start is None or row != prev + dim or chunks[row] != chunks[prev]:
                start = row         # a vector: consecutive chunks moved to the same arrays
            first[(space, row)] = start
            prev = row
        if {r + i for r in chunks for i in range(dim)} & mat_rows[space]:
            raise NotApplicable("vector chunks share rows with matrix data")
    for sid, k, space, row, env in uses:
        if plan.base.setdefault((sid, k), first[(space, row)]) != first[(space, row)]:
            raise NotApplicable("an address that reaches several vectors")
        plan.envs.setdefault((sid, k), []).append(env)
    plan.row_configs = {sid: dim * kinds.pop() for sid, kinds in governs.items()
                        if len(kinds) == 1 and "matrix" not in kinds}
    plan.mergeable = {sid for sid, govs in move_gov.items()
                      if govs and all(g in plan.row_configs for g in govs)}
    return plan


def _packed(e, flags: int, base: int, dim: int, envs: list, consts: dict):
    """The row-form address of a chunk address ``e`` of the vector that starts at row
    ``L``: ``L + (row - L) / DIM``, so the vector's chunks take consecutive rows of its
    first block (each vector keeps blocks of its own: the model orders by block). Where
    ``e`` is affine in its variables with steps of whole chunks, the same value as an
    affine expression, checked on every execution (``envs``)."""
    lo = flags + base
    v = const_value(e, consts)
    if v is not None:
        return Const(lo + (v - lo) // dim)
    exact = fold(binop("+", binop("/", binop("-", e, Const(lo)), Const(dim)), Const(lo)))
    e1 = fold(subst_expr(e, {k: Const(x) for k, x in consts.items()}))
    names = sorted(expr_vars(e1))
    try:
        at0 = eval_expr(e1, dict.fromkeys(names, 0))
        steps = [eval_expr(e1, dict(dict.fromkeys(names, 0), **{n: 1})) - at0 for n in names]
    except (KeyError, ZeroDivisionError):
        return exact
    if (at0 - lo) % dim or any(c % dim for c in steps):
        return exact
    affine = Const(lo + (at0 - lo) // dim)
    for n, c in zip(names, steps):
        if c:
            affine = binop("+", affine, binop("*", Const(c // dim), Var(n)))
    affine = fold(affine)
    for env in envs:
        known = env
        try:
            if eval_expr(affine, known) != eval_expr(exact, known):
                return exact
        except KeyError:
            return exact
    return affine


def row_vectors(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Every vector in row form and every product transposed (module docstring), with
    consecutive moves of consecutive chunks merged."""
    plan = _analyze(fn, config)
    dim = config.dim
    consts = const_decls(fn)

    def addr(sid, k, e):
        f = plan.flags[sid][k]
        return _packed(e, f, plan.base[(sid, k)], dim, plan.envs[(sid, k)], consts)

    def block(body):
        out: list = []
        merged: list = []           # per output statement: may a later move join it?
        i = 0
        while i < len(body):
            s = body[i]
            sid = id(s) if isinstance(s, Instr) else None
            if isinstance(s, For):
                loop = dataclasses.replace(s, body=block(s.body))
                one = _collapsed(loop, s, plan, dim)
                out.append(one or loop)
                merged.append(False)
            elif isinstance(s, If):
                out.append(dataclasses.replace(s, then=block(s.then), orelse=block(s.orelse)))
                merged.append(False)
            elif sid in plan.products and s.op == "preload":
                comp = body[i + 1] if i + 1 < len(body) else None
                if not (isinstance(comp, Instr) and comp.op == "compute_preloaded"):
                    raise NotApplicable("a preload not followed by its compute")
                b, c, _, b_rows, _, c_rows = s.args
                out.append(dataclasses.replace(s, args=(comp.args[0], addr(sid, 1, c), c_rows,
                                                        b_rows, c_rows, Const(1))))
                out.append(dataclasses.replace(comp, args=(addr(sid, 0, b), comp.args[1],
                                                           b_rows, Const(1), c_rows, Const(1))))
                merged += [False, False]
                i += 1
            elif sid in plan.vector_moves:
                new = dataclasses.replace(s, args=(s.args[0], addr(sid, 1, s.args[1]),
                                                   s.args[3], Const(1)))
                joins = sid in plan.mergeable
                if joins and merged and merged[-1] and _continues(out[-1], new, dim):
                    prev = out[-1]
                    rows = const_value(prev.args[3]) + 1
                    out[-1] = dataclasses.replace(prev, args=prev.args[:3] + (Const(rows),))
                else:
                    out.append(new)
                    merged.append(joins)
            elif sid in plan.config_exs:
                out.append(dataclasses.replace(s, args=s.args[:B_TRANSPOSE] + (Const(1),)
                                               + s.args[B_TRANSPOSE + 1:]))
                merged.append(False)
            elif sid in plan.row_configs:
                out.append(dataclasses.replace(s, args=(Const(plan.row_configs[sid]),)
                                               + s.args[1:]))
                merged.append(False)
            else:
                out.append(s)
                merged.append(False)
            i += 1
        return tuple(out)

    return dataclasses.replace(fn, body=block(fn.body))


def _collapsed(loop: For, old: For, plan: _Plan, dim: int):
    """A loop of at most DIM iterations whose body is one mergeable one-row move, each
    iteration one row of DIM elements on in DRAM and the next local row: one move."""
    if len(loop.body) != 1 or len(old.body) != 1 or id(old.body[0]) not in plan.mergeable:
        return None
    x = loop.body[0]
    t, lo = trip_count(loop), const_value(loop.lo)
    if t is None or lo is None or not 2 <= t <= dim or loop.step != 1:
        return None
    first, second = (subst_stmt(x, {loop.var: Const(v)}) for v in (lo, lo + 1))
    if not _continues(first, second, dim):
        return None
    return dataclasses.replace(first, args=first.args[:3] + (Const(t),))


def _continues(prev, s, dim: int) -> bool:
    """Does the one-row move ``s`` continue the move ``prev`` by one row (DRAM elements
    one row of DIM on, the next local row), within DIM rows?"""
    if not (prev.op == s.op and isinstance(prev.args[0], DramAddr)
            and isinstance(s.args[0], DramAddr) and prev.args[0].array == s.args[0].array):
        return False
    rows = const_value(prev.args[3])
    if rows is None or rows >= dim or const_value(prev.args[2]) != dim or \
            const_value(s.args[2]) != dim:
        return False
    d_dram = const_value(fold(binop("-", s.args[0].index, prev.args[0].index)))
    d_local = const_value(fold(binop("-", s.args[1], prev.args[1])))
    return d_dram == rows * dim and d_local == rows


def find_row_vectors(fn: Function, config: GemminiConfig) -> list[Application]:
    """One application when every preload names a one-column B and C (checked on the
    statements; the enumeration in `row_vectors` checks every execution)."""
    pre = [x for _, x, _ in instrs(fn.body) if x.op == "preload"]
    if not pre or any(const_value(x.args[2]) != 1 or const_value(x.args[4]) != 1 for x in pre):
        return []
    return [app("row_vectors", (), "keep every vector as rows: transposed products "
                "(B_transpose) and one move per DIM x DIM elements instead of per DIM")]


TRANSFORMS = [
    Transform("row_vectors", ("merge_instructions", "less_data_movement",
                              "faster_equivalent"),
              "keep vectors in row form: transposed matrix-vector products, a move per "
              "DIM chunks", find_row_vectors, row_vectors, ("store", "load", "cpu")),
]
