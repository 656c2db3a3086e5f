"""Test doubles for the search tests: a toy program language, its evaluator, proposers.

A toy program is C-looking text whose body holds only ``uint32_t NAME = INT;``
lines. Its meaning is fixed here, independently of the code under test:
correct iff ``value == 42``; ``tile`` > 64 breaks a "hardware limit";
cycles = 10000 // tile + pad; ``hang`` sleeps forever; ``crash`` kills the worker.
"""

from __future__ import annotations

import os
import re
import time

from autocomp_exo.proposers.base import Feedback, Plan, Rewrite
from autocomp_exo.search.evaluator import EvalResult, failure, ir_key
from gemmini import ir
from gemmini.errors import ParseError

_HEAD = re.compile(r"^\s*void\s+(\w+)\s*\([^)]*\)\s*\{\s*$")
_DECL = re.compile(r"^\s*uint32_t\s+(\w+)\s*=\s*(\d+)\s*;\s*$")


def toy_code(name: str = "toy", **values: int) -> str:
    lines = [f"void {name}(int8_t A[4]) {{"]
    lines += [f"  uint32_t {k} = {v};" for k, v in values.items()]
    return "\n".join(lines + ["}"]) + "\n"


def toy_values(fn: ir.Function) -> dict[str, int]:
    return {d.name: d.init.value for d in fn.body}


class ToyEvaluator:
    """Evaluator of toy programs; counts nothing itself (picklable, stateless)."""

    def normalize(self, item):
        if isinstance(item, ir.Function):
            return item, ir_key(item)
        lines = [ln for ln in item.strip().splitlines() if ln.strip()]
        m = _HEAD.match(lines[0]) if lines else None
        if not m or lines[-1].strip() != "}":
            raise ParseError("not a toy function", filename="<candidate>", line=1)
        body = []
        for n, line in enumerate(lines[1:-1], start=2):
            d = _DECL.match(line)
            if not d:
                raise ParseError(f"cannot parse {line.strip()!r}", filename="<candidate>", line=n)
            body.append(ir.Decl(d.group(1), "uint32_t", ir.Const(int(d.group(2)))))
        fn = ir.Function(m.group(1), (), tuple(body))
        return fn, ir_key(fn)

    def evaluate(self, item) -> EvalResult:
        fn, key = self.normalize(item)
        v = toy_values(fn)
        code = toy_code(fn.name, **v)
        if v.get("hang"):
            time.sleep(1000)
        if v.get("crash"):
            os._exit(3)
        if v.get("tile", 1) > 64:
            return failure("hardware", f"tile {v['tile']} exceeds 64", fn=fn, code=code, key=key)
        if v.get("value") != 42:
            return failure("wrong", f"value {v.get('value')} != 42", fn=fn, code=code, key=key)
        cycles = 10000 // v.get("tile", 1) + v.get("pad", 0)
        # engine numbers: a ``noop`` declaration keeps the cycles but unloads the load engine
        busy = {"cpu": cycles // 2, "load": cycles - v.get("noop", 0)}
        fb = Feedback(cycles=cycles, utilization=1000 / cycles, sp_kib_used=4.0,
                      sp_kib_total=256.0, acc_kib_used=1.0, acc_kib_total=64.0, bound="load",
                      details={"busy": busy})
        return EvalResult(ok=True, cycles=cycles, feedback=fb, fn=fn, code=code, key=key,
                          utilization=fb.utilization)


def parse_toy(code: str) -> dict[str, int]:
    return toy_values(ToyEvaluator().normalize(code)[0])


class DoublingProposer:
    """Scripted proposer: plan 'double the tile', implement it (and a few bad variants)."""

    name = "doubling"

    def __init__(self, variants: tuple[str, ...] = ("double",)):
        self.variants = variants
        self.calls = 0
        self.seen = []          # the candidates planned, with their history

    def plan(self, candidate, menu, n, *, iteration, total_iterations, seed):
        self.calls += 1
        self.seen.append(candidate)
        item = menu[0].key
        return [Plan(item, f"double the tile (plan {i})", self.name) for i in range(n)]

    def implement(self, candidate, plan, k, *, seed):
        self.calls += 1
        v = parse_toy(candidate.code)
        out = []
        for j in range(k):
            kind = self.variants[j % len(self.variants)]
            w = dict(v)
            if kind == "double":
                w["tile"] = v["tile"] * 2
            elif kind == "wrong":
                w["tile"], w["value"] = v["tile"] * 4, 41
            elif kind == "slower":
                w["pad"] = w.get("pad", 0) + 7
            elif kind == "equal":
                w["noop"] = w.get("noop", 0) + 1
            elif kind == "garbage":
                out.append(Rewrite(self.name, "this is not code"))
                continue
            elif kind == "none":
                out.append(Rewrite(self.name, None, error="no code"))
                continue
            out.append(Rewrite(self.name, toy_code(**w)))
        return out
