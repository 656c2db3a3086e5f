"""Overlapping CPU code with the accelerator's queued work (menu items pipeline,
reorder_statements).

The core runs CPU code in program order with issuing instructions; at a fence it waits
for the queues to drain. CPU code placed after the last fence (a remainder computed by
`to_cpu`, an update after a product) runs while nothing else does; issued before that
fence, it runs while the load and store engines work through what is queued.
``cpu_early`` moves a run of consecutive CPU statements up to just before the
instruction at the site (a fence, typically), over the accelerator statements between
them:

    mvout(&y[0][0], ...); fence(); mvin(&y[0][0], ...); mvout(&z[0][0], ...); CPU(x[8])
    -> mvout(&y[0][0], ...); CPU(x[8]); fence(); mvin(...); mvout(...)

Legality (its own analysis): the statements passed over are accelerator instructions or
loops of them (no CPU code, no scalar the run uses); no DRAM byte the run reads or writes
is written by a move passed over or by a move still pending without a fence at the new
place, nor read by one when the run writes it; compared as the hazards of the whole
program (`fences.hazards`, CPU element accesses as exact byte ranges) plus the pairs of
the run and the statements it passes.
"""

from __future__ import annotations


from gemmini.config import GemminiConfig
from gemmini.ir import For, Function, Instr, walk_stmts

from .base import Application, Dependent, NotApplicable, Transform, app
from .fences import _overlap, events, unfenced_by
from .ir_util import body_reads, body_writes, is_cpu_stmt, parent_body, replace_block, walk


def _is_cpu(s) -> bool:
    return is_cpu_stmt(s) and not any(isinstance(x, Instr) for x in walk_stmts([s]))


def cpu_early(fn: Function, a: Application, config: GemminiConfig) -> Function:
    body = parent_body(fn.body, a.site)
    at, src, n = a.site[-1], a.p.get("src", -1), a.p.get("count", 0)
    run = body[src:src + n]
    if not (at < src and n > 0 and len(run) == n and all(_is_cpu(s) for s in run)):
        raise NotApplicable("no run of CPU statements after the site")
    between = body[at:src]
    if any(_is_cpu(x) for x in walk_stmts(between)):
        raise NotApplicable("CPU code between the site and the run keeps its order")
    if body_writes(run) & body_reads(between) or body_reads(run) & body_writes(between):
        raise Dependent("the run and the statements it passes share a scalar")
    new_body = body[:at] + run + between + body[src + n:]
    new = replace_block(fn, a.site[:-1], new_body)
    _check_passed(fn, config, a.site[:-1], at, src, n)
    if unfenced_by(fn, new, config, by_bytes=True):
        raise NotApplicable("the CPU code would race with a pending move")
    return new


def _check_passed(fn, config, prefix, at, src, n):
    """No DRAM bytes in common (one side writing) between the run and the moves it
    passes over, in the original program's enumeration."""
    run_ev, passed = [], []
    depth = len(prefix)
    loops = next(((lps + (s,) if isinstance(s, For) else lps) for p, s, lps in walk(fn.body)
                  if p == prefix), ())
    for e in events(fn, config):
        if isinstance(e, tuple) or e.path[:depth] != prefix or len(e.path) <= depth:
            continue
        k = e.path[depth]
        if src <= k < src + n:
            run_ev.append(e)
        elif at <= k < src:
            passed.append(e)
    for r in run_ev:
        for p in passed:
            if r.array == p.array and _overlap(r.span, p.span) and (
                    r.kind == "cpu_w" or p.kind == "store") and r.iters[:len(loops)] == \
                    p.iters[:len(loops)]:
                raise Dependent(f"{r.array}: the CPU code and a move it passes touch the "
                                "same bytes")


def find_cpu_early(fn: Function, config: GemminiConfig) -> list[Application]:
    out = []
    bodies = [((), fn.body)] + [(p, s.body) for p, s, _ in walk(fn.body)
                                if hasattr(s, "body") and not hasattr(s, "then")]
    for prefix, body in bodies:
        i = 0
        while i < len(body):
            if not _is_cpu(body[i]):
                i += 1
                continue
            j = i
            while j < len(body) and _is_cpu(body[j]):
                j += 1
            for at in range(i - 1, -1, -1):          # before each earlier fence
                if _is_cpu(body[at]):
                    break
                if isinstance(body[at], Instr) and body[at].op == "fence":
                    out.append(app("cpu_early", prefix + (at,), "run the CPU code before "
                                   "this fence, while the queues work", src=i, count=j - i))
            i = j
    return out


TRANSFORMS = [
    Transform("cpu_early", ("pipeline", "reorder_statements"),
              "issue CPU code before an earlier fence so it overlaps the accelerator's "
              "queued moves", find_cpu_early, cpu_early, ("cpu", "latency")),
]
