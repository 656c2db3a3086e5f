"""The core's instruction cache, warm: the misses of a kernel called again.

The judge prices a kernel as one call of many (the solver or network around it calls
it again and again), so code that fits in the L1 instruction cache costs no misses.
Code that does not fit (a loop body, or straight-line code, larger than the cache or
than one set's ways) misses on every call. `miss_cycles` replays the fetched cache
lines of the executed blocks twice through a set-associative LRU cache and charges the
second pass's misses: a kernel whose lines fit in every set is charged nothing without
a replay.
"""

from __future__ import annotations

import numpy as np

from gemmini.config import TimingParams

MAX_REPLAY = 2_000_000      # line fetches replayed one by one; beyond, every fetch in an
                            # overfull set is charged (an upper bound)


def _lines(keys: np.ndarray, line: int) -> tuple[np.ndarray, np.ndarray]:
    """For each block (``address << 16 | size``): its first line and its line count."""
    address, size = keys >> 16, keys & 0xFFFF
    first = address // line
    return first, (address + np.maximum(size, 1) - 1) // line - first + 1


def miss_cycles(executed: np.ndarray, tp: TimingParams) -> np.ndarray:
    """Cycles each executed block (in order) waits for instruction fetch in a warm call."""
    out = np.zeros(len(executed), np.int64)
    if executed.size == 0:
        return out
    keys, ids = np.unique(executed, return_inverse=True)
    first, count = _lines(keys, tp.icache_line_bytes)
    distinct = np.unique(np.concatenate([f + np.arange(c) for f, c in zip(first.tolist(),
                                                                          count.tolist())]))
    per_set = np.bincount(distinct % tp.icache_sets, minlength=tp.icache_sets)
    if per_set.max() <= tp.icache_ways:
        return out
    full = per_set > tp.icache_ways
    fetches = count[ids]
    if int(fetches.sum()) > MAX_REPLAY:
        overfull = np.array([int(full[(f + np.arange(c)) % tp.icache_sets].sum())
                             for f, c in zip(first.tolist(), count.tolist())], np.int64)
        return overfull[ids] * tp.icache_miss_penalty
    sets: list[list[int]] = [[] for _ in range(tp.icache_sets)]
    for warm in (False, True):
        for k, u in enumerate(ids.tolist()):
            for ln in range(int(first[u]), int(first[u] + count[u])):
                ways = sets[ln % tp.icache_sets]
                if ln in ways:
                    ways.remove(ln)
                else:
                    if warm:
                        out[k] += tp.icache_miss_penalty
                    if len(ways) == tp.icache_ways:
                        ways.pop(0)
                ways.append(ln)
    return out
