"""Moving a loop inward, level by level, along the way to one statement of its body.

At each level the statements beside the way are fissioned off into loops of their own
(`loops.fission`, its dependence check) and the loop is interchanged with the loop on
the way (`loops.interchange`, its check), so the result is legal when every step is.
Used by `row_reuse` (down to the loads it makes resident) and `hold_weights` (down to a
preload / compute pair).
"""

from __future__ import annotations

from typing import Callable

from gemmini.config import GemminiConfig
from gemmini.ir import For, Function

from .base import NotApplicable, app
from .ir_util import Path, get
from .loops import fission, interchange


def sink(fn: Function, path: Path, target: Path, config: GemminiConfig,
         arrived: Callable[[For, int], bool]) -> tuple[Function, Path, Path]:
    """Move the loop at ``path`` inward towards the statement at ``target`` until
    ``arrived(loop, c)`` holds for the loop and the index ``c`` of the statement on the way
    in its body; returns the program and the new paths of the loop and of the target."""
    for _ in range(len(target)):
        loop = get(fn.body, path)
        c = target[len(path)]
        if arrived(loop, c):
            return fn, path, target
        if c + 1 < len(loop.body):              # the statements after the way: own loop
            fn = fission(fn, app("fission", path, "", at=c + 1), config)
        if c > 0:                               # the statements before it: own loop
            fn = fission(fn, app("fission", path, "", at=c), config)
            path = path[:-1] + (path[-1] + 1,)
        target = path + (0,) + target[len(path) + 1:]
        if not isinstance(get(fn.body, path + (0,)), For):
            raise NotApplicable("the way to the target passes a statement that is no loop")
        fn = interchange(fn, app("interchange", path, ""), config)
        path = path + (0,)          # the loop now inside; the way keeps its indices
    raise NotApplicable("could not reach the target")
