"""Moving tiny elementwise accelerator work to CPU code (menu items faster_equivalent,
less_data_movement, other).

Every ``mvout`` costs the store engine its scaling pipeline, its rows and a DRAM
acknowledgement, one after the other (`gemmini.timing`); a run of moves that computes a
single row of a few outputs (the remainder of a loop of multi-row moves, `multirow`)
costs hundreds of cycles that the core, waiting at the next fence, could spend computing
the same elements itself. ``to_cpu`` replaces a straight-line run of moves,
configurations and fences (a maximal run, or one piece of it up to and including a
fence, so one step of a straight-line kernel can go to the core while the accelerator
keeps the others) that computes only elementwise values (loads into rows,
accumulating loads, scaled / ReLU stores) by the same arithmetic as CPU code, one
scalar per local element:

    mvin(&u[8][0], acc, 4, 1); mvin(&y[8][0], acc | ACC, 4, 1); mvout(&z[8][0], acc, 4, 1)
    -> float r0c0 = u[8][0]; r0c0 = r0c0 + y[8][0]; z[8][0] = r0c0; ...

in the model's order and rounding (`gemmini.functional`: a load scale multiplies in
float32 when it is not 1, an accumulating load adds in float32, a store multiplies by
its scale and then applies ReLU as ``x <= 0 ? 0 : x``), so the values are the same bit
for bit. The last configuration of each kind in the run stays (later moves read it);
with ``fence = 1`` one fence precedes the CPU code.

Legality (its own analysis): the run has no computes; every store reads rows the run
wrote, every accumulating load adds onto rows the run wrote; no instruction outside the
run reads those rows before they are overwritten (in the kernel's top level, a later
load of whole rows that does not accumulate overwrites them; elsewhere any touch outside
the run refuses it); the configuration governing each
move is known (in the run before it, or the one agreed configuration of its kind in
the kernel); and the rewritten program has no DRAM hazard the original did not have
(`fences.hazards`, with the CPU code's constant element indices as exact byte ranges);
when the only new hazards are stores pending at the kernel's return, one of the run's
fences follows the CPU code.
"""

from __future__ import annotations


from gemmini.config import ACC_BIT, ACCUMULATE_BIT, RAW_READ_BIT, ROW_MASK, GemminiConfig
from gemmini.ir import (Assign, BinOp, Cond, Decl, DramAddr, FloatConst, Function, Instr, Load,
                        Store, Var)
from gemmini.isa import LOAD_IDS

from . import regions
from .base import Application, Dependent, NotApplicable, Transform, app, site_envs
from .fences import array_itemsize, unfenced_by
from .ir_util import (add, all_names, c, const_decls, const_value, fresh, get, instrs,
                      parent_body, replace_block, walk)

MOVES = tuple(LOAD_IDS) + ("mvout",)
RUN_OPS = MOVES + ("config_ld", "config_st", "fence")
MAX_ELEMENTS = 64          # local elements a run may compute on the CPU


def _cfg_key(ins: Instr, env):
    if ins.op == "config_st":
        return "st"
    return ("ld", const_value(ins.args[4], env) if ins.args[4] is not None else 0)


def _agreed(fn: Function, env) -> dict:
    """The configuration of each kind when every one in the kernel is the same."""
    seen: dict = {}
    for _, ins, _ in instrs(fn.body):
        if ins.op in ("config_ld", "config_st"):
            seen.setdefault(_cfg_key(ins, env), set()).add(_cfg_args(ins, env))
    return {k: next(iter(v)) for k, v in seen.items() if len(v) == 1 and None not in next(iter(v))}


def _cfg_args(ins: Instr, env):
    """(stride bytes, scale, act) of a configuration; None parts when not constant."""
    if ins.op == "config_st":
        scale = ins.args[2]
        return (const_value(ins.args[0], env), scale.value if isinstance(scale, FloatConst)
                else None, const_value(ins.args[1], env))
    scale = ins.args[1]
    return (const_value(ins.args[0], env), scale.value if isinstance(scale, FloatConst)
            else None, 0)


def _run_at(fn: Function, site, n: int):
    body = parent_body(fn.body, site)
    i = site[-1]
    run = body[i:i + n]
    if len(run) != n or not all(isinstance(s, Instr) and s.op in RUN_OPS for s in run):
        raise NotApplicable("not a run of moves, configurations and fences")
    if not any(s.op == "mvout" for s in run):
        raise NotApplicable("the run stores nothing")
    return body, i, run


def to_cpu(fn: Function, a: Application, config: GemminiConfig) -> Function:
    n = a.p.get("count", 0)
    body, i, run = _run_at(fn, a.site, n)
    envs = site_envs(fn, a.site)
    if None in _local_rows(run, const_decls(fn)):
        raise NotApplicable("the run's local rows depend on a loop")
    env = envs[0]
    agreed = _agreed(fn, env)
    names = all_names(fn)
    state: dict = {}
    elem: dict = {}                      # (space, row, col) -> scalar name
    out: list = []
    for s in run:
        if s.op in ("config_ld", "config_st"):
            args = _cfg_args(s, env)
            if None in args:
                raise NotApplicable("a configuration is not constant")
            state[_cfg_key(s, env)] = args
            continue
        if s.op == "fence":
            continue
        key = ("ld", LOAD_IDS[s.op]) if s.op in LOAD_IDS else "st"
        conf = state.get(key, agreed.get(key) if not any(
            _cfg_key(x, env) == key for x in run if x.op in ("config_ld", "config_st")) else None)
        if conf is None:
            raise NotApplicable("the configuration governing a move is not known")
        out.extend(_translate(fn, s, conf, env, elem, names, config))
    if len(elem) > MAX_ELEMENTS:
        raise NotApplicable("too many elements for CPU code")
    _check_rows(fn, a.site, n, {(sp, r) for sp, r, _ in elem}, config)
    keep = []
    for s in reversed(run):               # the last configuration of each kind stays
        if s.op in ("config_ld", "config_st") and _cfg_key(s, env) not in \
                {_cfg_key(k, env) for k in keep}:
            keep.insert(0, s)
    fence = tuple(x for x in run if x.op == "fence")[:1] if a.p.get("fence") else ()
    if a.p.get("fence") and not fence:
        raise NotApplicable("the run has no fence to keep")
    new_body = body[:i] + fence + tuple(out) + tuple(keep) + body[i + n:]
    new = replace_block(fn, a.site[:-1], new_body)
    added = unfenced_by(fn, new, config, by_bytes=True)
    if added and all(later == "return" for _, later in added) and not fence:
        # pending stores the caller reads: one fence after the CPU code, which overlaps them
        new_body = new_body[:i] + tuple(out) + tuple(keep) + (_fence_of(run),) + \
            new_body[i + len(out) + len(keep):]
        new = replace_block(fn, a.site[:-1], new_body)
        added = unfenced_by(fn, new, config, by_bytes=True)
    if added:
        raise NotApplicable("the CPU code races with a pending move (a fence is needed)")
    return new


def _fence_of(run):
    f = next((x for x in run if x.op == "fence"), None)
    if f is None:
        raise NotApplicable("the stores before the run need a fence before the return")
    return f


def _local_rows(run, env):
    return [const_value(s.args[1], env) for s in run if s.op in MOVES]


def _translate(fn, s: Instr, conf, env, elem, names, config):
    """The CPU statements of one move (conf: stride bytes, scale, act)."""
    if not isinstance(s.args[0], DramAddr):
        raise NotApplicable("a move without a DRAM operand (zeroing)")
    arr = s.args[0].array
    isz = array_itemsize(fn, arr)
    start = const_value(s.args[0].index, env)
    local = const_value(s.args[1], env)
    cols, rows = const_value(s.args[2], env), const_value(s.args[3], env)
    if None in (isz, start, local, cols, rows):
        raise NotApplicable("a move's operands are not constant")
    stride, scale, act = conf
    if stride % isz or cols > config.dim:
        raise NotApplicable("a move of several blocks or an uneven stride")
    if local & ACC_BIT and local & RAW_READ_BIT:
        raise NotApplicable("a raw accumulator read")
    space = "acc" if local & ACC_BIT else "sp"
    row0 = local & (ROW_MASK if space == "acc" else ACCUMULATE_BIT - 1)
    acc_flag = space == "acc" and bool(local & ACCUMULATE_BIT)
    if space == "sp" and local & ACCUMULATE_BIT:
        raise NotApplicable("a scratchpad address with flag bits")
    if fn.param(arr).dtype != "f32":
        raise NotApplicable("only float32 moves are translated")
    out = []
    for r in range(rows):
        for col in range(cols):
            idx = add(s.args[0].index, c(r * (stride // isz) + col))
            key = (space, row0 + r, col)
            if s.op == "mvout":
                if key not in elem:
                    raise Dependent("a store reads a row the run did not write")
                x = Var(elem[key])
                if scale != 1.0:
                    x = BinOp("*", FloatConst(scale), x)
                if act:
                    x = Cond(BinOp("<=", x, FloatConst(0.0)), FloatConst(0.0), x)
                out.append(Store(arr, idx, "=", x, s.line))
                continue
            v = Load(arr, idx)
            if scale != 1.0:
                v = BinOp("*", v, FloatConst(scale))
            if acc_flag:
                if key not in elem:
                    raise Dependent("an accumulating load onto a row the run did not write")
                out.append(_assign(elem[key], BinOp("+", Var(elem[key]), v), s.line))
            else:
                name = fresh(names, f"{space}{row0 + r}_{col}")
                names.add(name)
                elem[key] = name
                out.append(Decl(name, "float", v, s.line))
    return out


def _assign(name, value, line):
    return Assign(name, "=", value, line)


def _check_rows(fn, site, n, rows, config):
    """No instruction outside the run may read a row the run writes before something
    overwrites it. For a run in the kernel's top level, a later top-level load of whole
    rows that does not accumulate overwrites them (so a straight-line kernel may reuse
    rows from step to step); touches before the run do not matter, since the run reads
    only rows it wrote. Elsewhere, any touch outside the run refuses it."""
    ext = regions.extents(fn, config)
    if ext is None:
        raise NotApplicable("local operands not analyzable")
    run_paths = {site[:-1] + (site[-1] + k,) for k in range(n)}
    top = len(site) == 1
    live = set(rows)
    env = const_decls(fn)
    for e in sorted(ext, key=lambda e: (e.path, e.kind != "r")):   # program order, reads first
        if e.path in run_paths or (top and e.path[0] < site[0]):
            continue
        touched = {(sp, r) for sp, r in live if sp == e.space and e.lo <= r < e.hi}
        if not touched:
            continue
        if top and len(e.path) == 1 and _overwrites(get(fn.body, e.path), e, config, env):
            live -= touched
            continue
        raise Dependent("an instruction outside the run reads rows the run writes")


def _overwrites(ins, e, config, env) -> bool:
    """Whether the operand ``e`` of ``ins`` replaces whole rows (a load of whole blocks
    that does not accumulate)."""
    if e.kind != "w" or ins.op not in LOAD_IDS:
        return False
    local, cols = const_value(ins.args[1], env), const_value(ins.args[2], env)
    return (local is not None and cols is not None and cols % config.dim == 0
            and not (local & ACC_BIT and local & ACCUMULATE_BIT))


def _spans(body, i: int, j: int) -> list[tuple[int, int]]:
    """The run ``body[i:j]`` and, when fences divide it, each of its fence-delimited
    pieces (a piece ends with its fence): the CPU may take over one step of a
    straight-line kernel and leave the others to the accelerator."""
    cuts = [k + 1 for k in range(i, j) if body[k].op == "fence"]
    pieces = list(zip([i, *cuts], [*cuts, j]))
    spans = [(i, j)] + [p for p in pieces if p != (i, j)]
    return [(a, b) for a, b in spans
            if b > a + 1 and any(body[k].op == "mvout" for k in range(a, b))]


def find_to_cpu(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    bodies = [((), fn.body)] + [(p, s.body) for p, s, _ in walk(fn.body) if hasattr(s, "body")
                                and not hasattr(s, "then")]
    for prefix, body in bodies:
        i = 0
        while i < len(body):
            j = i
            while j < len(body) and isinstance(body[j], Instr) and body[j].op in RUN_OPS:
                j += 1
            for a, b in _spans(body, i, j) if j > i + 1 else ():
                for fence in (0, 1):
                    if fence and not any(body[k].op == "fence" for k in range(a, b)):
                        continue
                    out.append(app("to_cpu", prefix + (a,), f"compute the {b - a} moves here "
                                   "as CPU code" + (" after one fence" if fence else ""),
                                   count=b - a, fence=fence))
            i = max(j, i + 1)
    return out


TRANSFORMS = [
    Transform("to_cpu", ("faster_equivalent", "less_data_movement", "other"),
              "compute a short run of elementwise moves (a remainder row) as CPU code",
              find_to_cpu, to_cpu, ("latency", "store")),
]
