"""Hand the whole GEMM to the on-chip loop FSM (``loop_ws``); off by default.

    <any schedule of C = act(scale * A @ B)>  ->  config_*; for tiles { loop_ws(...) }; fence

Applies only to a function whose parameters are exactly a GEMM's (``scale``, ``act``,
``A[M][K]``, ``B[K][N]``, ``C[M][N]``) and that computes with preload / compute; the
tiled loop_ws program is the hardware-FSM baseline's (lowering.generators.fsm), with
the parameter names of the function kept. The search checks the result against the
reference like any rewrite. Enabled by ``BuiltinProposer(enable_loop_ws=True)``.
"""

from __future__ import annotations

import dataclasses

from gemmini.config import GemminiConfig
from gemmini.ir import Function
from lowering.generators.fsm import fsm_gemm

from .base import Application, NotApplicable, Transform, app
from .ir_util import instrs


def _gemm_shape(fn: Function) -> tuple[int, int, int] | None:
    arrays = [p for p in fn.params if p.shape]
    if [p.name for p in arrays] != ["A", "B", "C"] or any(len(p.shape) != 2 for p in arrays):
        return None
    (m, k), (k2, n), (m2, n2) = (p.shape for p in arrays)
    if k != k2 or m != m2 or n != n2:
        return None
    if not any(i.op == "compute_preloaded" for _, i, _ in instrs(fn.body)):
        return None
    return m, n, k


def to_loop_ws(fn: Function, a: Application, config: GemminiConfig) -> Function:
    """Replace the body by the tiled loop_ws program of the same GEMM."""
    shape = _gemm_shape(fn)
    if shape is None:
        raise NotApplicable("not a plain GEMM function")
    fsm = fsm_gemm(*shape, config, name=fn.name, score="analytic")
    if {p.name for p in fsm.params} != {p.name for p in fn.params}:
        raise NotApplicable("the generated program's parameters differ")
    return dataclasses.replace(fn, body=fsm.body)


def find_loop_ws(fn: Function, config: GemminiConfig) -> list[Application]:
    if _gemm_shape(fn) is None or any(i.op == "loop_ws" for _, i, _ in instrs(fn.body)):
        return []
    return [app("loop_ws", (), "run the whole GEMM on the on-chip loop FSM (loop_ws), tiled "
                "to fit half the scratchpad and accumulator")]


TRANSFORMS = [
    Transform("loop_ws", ("faster_equivalent", "other"),
              "use the on-chip loop_ws state machine", find_loop_ws,
              to_loop_ws, ("cpu", "load", "execute")),
]
