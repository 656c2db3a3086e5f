"""A static cost estimate used to rank rewrites before they are evaluated.

It counts dynamic work from loop trip counts (an ``if (v == c)`` guard inside loop
``v`` runs 1/trip of the time) and prices it with the timing parameters of the
config: CPU issue and arithmetic, DMA bytes, execute blocks. It is a ranking aid
for the proposer, never a substitute for the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from gemmini.config import ACC_BIT, GARBAGE_ADDR, GemminiConfig
from gemmini.ir import BinOp, Const, DramAddr, Expr, For, Function, If, Instr, UnOp, Var

from .ir_util import Body, const_decls, const_value, trip_count
from .regions import interval


@dataclass(frozen=True)
class Estimate:
    cpu: float
    load: float
    execute: float
    instructions: float

    @property
    def cycles(self) -> float:
        parts = sorted((self.cpu, self.load, self.execute), reverse=True)
        return parts[0] + 0.25 * parts[1]


def _ops(e) -> int:
    if isinstance(e, BinOp):
        return 1 + _ops(e.lhs) + _ops(e.rhs)
    if isinstance(e, UnOp):
        return (0 if isinstance(e.operand, Const) else 1) + _ops(e.operand)
    if isinstance(e, DramAddr):
        return _ops(e.index)
    return 0


def estimate(fn: Function, config: GemminiConfig) -> Estimate:
    t = config.timing
    env = const_decls(fn)
    acc = {"cpu": 0.0, "load": 0.0, "execute": 0.0, "n": 0.0}
    trips: dict[str, int] = {}
    rng: dict[str, tuple[int, int]] = {k: (v, v) for k, v in env.items()}
    state = {"b_bank": None, "held": False}
    compute_banks: set[int] = set()
    load_rows: dict[int, float] = {}

    def bank(e) -> int | None:
        iv = interval(e, rng) if e is not None else None
        if iv is None or iv[0] == GARBAGE_ADDR or iv[0] & ACC_BIT:
            return None
        lo_bank, hi_bank = iv[0] // config.sp_bank_rows, iv[1] // config.sp_bank_rows
        return lo_bank if lo_bank == hi_bank else None

    def run(body: Body, mult: float):
        for s in body:
            if isinstance(s, Instr):
                acc["n"] += mult
                acc["cpu"] += mult * (t.cpu_issue + t.cpu_arith_op * sum(_ops(a) for a in s.args
                                                                         if a is not None))
                if s.op in ("mvin", "mvin2", "mvin3"):
                    rows = const_value(s.args[3], env) or config.dim
                    cols = const_value(s.args[2], env) or config.dim
                    if isinstance(s.args[0], DramAddr):
                        nbytes = rows * cols * config.in_bytes
                        acc["load"] += mult * nbytes / t.dma_bytes_per_cycle
                    else:
                        acc["load"] += mult * rows / t.zero_rows_per_cycle
                    b = bank(s.args[1])
                    if b is not None:
                        blocks = -(-cols // config.dim)
                        load_rows[b] = load_rows.get(b, 0.0) + mult * rows * blocks
                elif s.op in ("compute_preloaded", "compute_accumulated"):
                    a_bank = bank(s.args[0])
                    same = a_bank is not None and a_bank == state["b_bank"]
                    if state["held"]:       # weights kept: only the A rows stream
                        rows = const_value(s.args[3], env) or config.dim
                        acc["execute"] += mult * -(-max(rows, t.feed_min_rows)
                                                   * t.block_cycles // config.dim)
                    else:
                        acc["execute"] += mult * t.block_cycles * (
                            t.bank_conflict_factor if same else 1.0)
                    if a_bank is not None:
                        compute_banks.add(a_bank)
                elif s.op == "preload":
                    state["held"] = s.args[0] == Const(GARBAGE_ADDR)
                    state["b_bank"] = bank(s.args[0])
                    if state["b_bank"] is not None:
                        compute_banks.add(state["b_bank"])
            elif isinstance(s, For):
                n = trip_count(s, env)
                n = 1 if n is None else n
                acc["cpu"] += mult * n * (t.cpu_loop_iter + t.cpu_arith_op * 0)
                trips[s.var] = n
                lo = const_value(s.lo, env)
                if lo is not None:
                    rng[s.var] = (lo, lo + max(n - 1, 0) * s.step)
                run(s.body, mult * n)
                rng.pop(s.var, None)
            elif isinstance(s, If):
                frac = _guard_fraction(s.cond, trips)
                acc["cpu"] += mult * t.cpu_branch
                run(s.then, mult * frac)
                run(s.orelse, mult * (1 - frac))
            else:
                acc["cpu"] += mult * (t.cpu_local_assign + t.cpu_arith_op * _ops(
                    getattr(s, "init", None) or getattr(s, "value", None)))

    run(fn.body, 1.0)
    stolen = sum(r for b, r in load_rows.items() if b in compute_banks)   # DMA writes win
    return Estimate(acc["cpu"], acc["load"], acc["execute"] + stolen, acc["n"])


def _guard_fraction(cond: Expr, trips: dict[str, int]) -> float:
    if isinstance(cond, BinOp) and cond.op == "==" and isinstance(cond.lhs, Var) and \
            isinstance(cond.rhs, Const) and trips.get(cond.lhs.name):
        return 1.0 / trips[cond.lhs.name]
    if isinstance(cond, BinOp) and cond.op == "&&":
        return _guard_fraction(cond.lhs, trips) * _guard_fraction(cond.rhs, trips)
    return 1.0
