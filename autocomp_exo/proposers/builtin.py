"""The built-in proposer: plans by picking a menu item with concrete parameters, and
implements a plan as a deterministic IR rewrite (autocomp_exo.transforms). No model.

plan: every transformation that serves an item of the (dropped-out) menu lists its
applications; each is tried (the rewrite is legal when it applies) and ranked by a
static estimate of the rewrite's cost and by what the feedback says bounds the run
(CPU -> unrolling / hoisting / arithmetic; load engine -> residency / buffering /
wider loads; execute -> bank placement, weight reuse; low scratchpad use -> larger
resident tiles). N distinct applications are sampled from that ranking with a seeded
generator, so the same seed gives the same plans.

implement: applies the plan's application, then parameter neighbours (same
transformation elsewhere or with other parameters) for the remaining k - 1
rewrites. A plan from another proposer (no data) is mapped to the transformations
of its menu item and the best-ranked applications are used.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from typing import Any

from autocomp_exo.proposers.base import Candidate, Feedback, MenuItem, Plan, Rewrite
from autocomp_exo.proposers.ranker import RankFeatures, Ranked, Ranker
from autocomp_exo.transforms import TRANSFORMS, Application, NotApplicable, apply, by_menu_item
from autocomp_exo.transforms.estimate import estimate
from autocomp_exo.transforms.buffering import is_load_stmt
from autocomp_exo.transforms.ir_util import get
from autocomp_exo.transforms.registry import OPT_IN
from gemmini.config import GemminiConfig, get_config
from gemmini.ir import Function

# How promising each transformation is a priori, and under which bound it helps most.
BASE_WEIGHT = {
    "resident_all": 6.0, "resident": 6.0, "unroll": 3.0, "unroll_nest": 3.0, "bank": 3.0,
    "double_buffer": 2.5, "strength": 2.0, "hoist": 2.0, "mvin_merge": 2.0, "row_reuse": 4.0,
    "spread_copies": 2.5,
    "reuse_weights": 2.0, "hold_weights": 4.0, "interleave": 2.5, "interleave_all": 3.0, "fold_zeroing": 2.0,
    "const_prop": 3.0, "pipeline": 1.5, "loop_ws": 4.0, "distinct": 1.0,
    "hoist_decls": 1.0, "drop_configs": 1.0, "move_up": 0.7, "fuse": 0.7, "split": 0.5,
    "interchange": 0.5, "simplify": 0.5, "fission": 0.3,
}
BOUND_TAGS = {
    "cpu": ("cpu",), "load": ("load", "overlap"), "execute": ("execute", "conflict"),
    "latency": ("overlap", "load"), "store": ("overlap",),
}
MAX_TRIES_PER_PLAN = 6
CLEANUP = ("const_prop", "simplify")
POLISH = ("strength", "unroll_nest", "unroll", "drop_configs", "store_config", "load_state")
POLISH_ROUNDS = 4
POLISH_GAIN = 0.99          # a polish step must cut the static estimate by 1%
DEFAULT_TRY_LIMIT = 5
TRY_LIMIT = {"resident": 8, "unroll": 8, "unroll_nest": 6, "fission": 3, "split": 3,
             "interchange": 3, "bank": 4, "move_up": 3, "fuse": 3}
CACHE_SIZE = 4000
STATS = ("found", "tried", "illegal", "crashed", "planned", "implemented")

log = logging.getLogger(__name__)


class BuiltinProposer:
    """Proposer protocol implementation backed by deterministic transformations."""

    name = "builtin"
    local = True        # plans and rewrites are computed here: the search may stream them

    def __init__(self, gemmini: str | GemminiConfig | None = None, enable_loop_ws: bool = False,
                 ranker: Ranker | None = None):
        self.gemmini = get_config(gemmini)
        self.enable_loop_ws = enable_loop_ws   # offer the loop_ws (hardware FSM) rewrite
        self.ranker = ranker                   # learned factors on the sampling weights
        self._lock = threading.Lock()
        self.stats: dict[str, dict[str, int]] = {}
        self._cache: dict = {}

    # ------------------------------------------------------------------ statistics

    def _count(self, transform: str, key: str, n: int = 1):
        with self._lock:
            d = self.stats.setdefault(transform, dict.fromkeys(STATS, 0))
            d[key] = d.get(key, 0) + n

    def _crashed(self, transform: str, what: str, exc: BaseException) -> None:
        """A transformation raised something other than `NotApplicable`: a bug. Logged and
        counted; the search goes on without that application."""
        self._count(transform, "crashed")
        log.warning("transformation %s crashed in %s: %s: %s", transform, what,
                    type(exc).__name__, exc, exc_info=exc)

    def _find(self, t, fn: Function) -> list[Application]:
        """``t.find`` on ``fn``; [] when it does not apply or crashes (counted)."""
        try:
            return t.find(fn, self.gemmini)
        except NotApplicable:
            return []
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the search; counted
            self._crashed(t.name, "find", exc)
            return []

    def rejection_rates(self) -> dict[str, float]:
        """Share of tried applications that the legality checks refused, per transformation."""
        return {t: d["illegal"] / d["tried"] for t, d in self.stats.items() if d.get("tried")}

    # ------------------------------------------------------------------ planning

    def plan(self, candidate: Candidate, menu: list[MenuItem], n: int, *, iteration: int,
             total_iterations: int, seed: int) -> list[Plan]:
        """Up to ``n`` distinct plans, each one verified application of a menu item."""
        rng = random.Random(f"builtin-plan:{seed}:{candidate.id}")
        offered = {m.key: m for m in menu}
        ranked = self._ranked(candidate.fn, candidate.feedback, set(offered))
        plans: list[Plan] = []
        # what earlier iterations already evaluated from this code is not planned again
        # (it would only repeat known rewrites); no plan tells the search so
        done = _done(candidate)
        pool = [r for r in ranked if r.application not in done]
        while pool and len(plans) < n:
            weights = [r.weight for r in pool]
            r = pool.pop(rng.choices(range(len(pool)), weights=weights)[0])
            self._count(r.application.transform, "planned")
            plans.append(self._plan_for(r, offered[r.item]))
        return plans

    def exhausted(self, candidate: Candidate) -> bool:
        """Has every application of every menu item already been evaluated from this
        candidate (``candidate.applied``)? The search then gives its beam slot to another."""
        done = _done(candidate)
        items = {m for t in TRANSFORMS.values() for m in t.menu}
        return all(r.application in done
                   for r in self._ranked(candidate.fn, candidate.feedback, items))

    def _plan_for(self, r: Ranked, item: MenuItem) -> Plan:
        a = r.application
        t = TRANSFORMS[a.transform]
        where = " > ".join(str(i) for i in a.site) or "function"
        params = ", ".join(f"{k}={v}" for k, v in a.params) or "none"
        text = (f"Menu item {item.key}: {item.text} Concretely: {a.note} "
                f"({t.summary}; statement path {where}; parameters {params}).")
        data = a.to_data() | {"features": r.features.to_data()}   # logged for the ranker
        return Plan(menu_item=item.key, text=text, proposer=self.name, data=data)

    def _candidates(self, fn: Function, items: set[str]) -> list[tuple[Application, str]]:
        out = []
        for t in TRANSFORMS.values():
            if t.name in OPT_IN and not (t.name == "loop_ws" and self.enable_loop_ws):
                continue
            usable = [m for m in t.menu if m in items]
            if not usable:
                continue
            found = self._find(t, fn)
            self._count(t.name, "found", len(found))
            limit = TRY_LIMIT.get(t.name, DEFAULT_TRY_LIMIT)
            if len(found) > limit:      # a deterministic spread over the sites
                step = len(found) / limit
                found = [found[int(n * step)] for n in range(limit)]
            out += [(a, usable[0]) for a in found]
        return out

    def _ranked(self, fn: Function, fb: Feedback | None, items: set[str]) -> list[Ranked]:
        """Legal applications with sampling weights, best first (deterministic order).
        With a learned ranker, each weight is also multiplied by its factor."""
        base = _cycles(fn, self.gemmini)
        tags = BOUND_TAGS.get(getattr(fb, "bound", "") or "", ())
        sp_low = fb is not None and fb.sp_kib_total and fb.sp_kib_used < 0.5 * fb.sp_kib_total
        scored = []
        seen: set = set()
        for a, item in self._candidates(fn, items):
            new = self._try(fn, a)
            if new is None or new == fn or new in seen:
                continue
            seen.add(new)
            gain = base / max(_cycles(new, self.gemmini), 1.0)
            t = TRANSFORMS[a.transform]
            w = BASE_WEIGHT.get(a.transform, 1.0)
            if set(t.tags) & set(tags):
                w *= 2.0
            if sp_low and a.transform in ("resident", "double_buffer", "distinct"):
                w *= 1.5
            boost = _stall_boost(fn, a, fb)
            w *= boost
            w *= math.exp(4.0 * (gain - 1.0)) if gain >= 1.0 else gain ** 4
            feats = RankFeatures(a.transform, getattr(fb, "bound", None) or "", gain, boost > 1.0)
            if self.ranker is not None:
                w *= self.ranker.factor(feats)
            scored.append(Ranked(a, w, item, feats))
        scored.sort(key=lambda r: (-r.weight, r.application.transform, r.application.site,
                                   r.application.params))
        return scored

    def _try(self, fn: Function, a: Application) -> Function | None:
        key = (fn, a)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        self._count(a.transform, "tried")
        try:
            new = apply(fn, a, self.gemmini)
        except NotApplicable:
            self._count(a.transform, "illegal")
            new = None
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the search; counted
            self._crashed(a.transform, "apply", exc)
            new = None
        with self._lock:
            if len(self._cache) > CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = new
        return new

    # ------------------------------------------------------------------ implementation

    def implement(self, candidate: Candidate, plan: Plan, k: int, *, seed: int) -> list[Rewrite]:
        """Up to ``k`` distinct rewrites applying ``plan`` (its own application first)."""
        fn = candidate.fn
        primary = _application(plan.data)
        if primary is not None:
            options = [primary] + self._neighbours(fn, primary)
        else:
            options = self._for_menu_item(fn, candidate.feedback, plan.menu_item)
        out: list[Rewrite] = []
        seen: set = set()
        tries = 0
        first: Function | None = None
        for a in options:
            if len(out) >= k or tries >= MAX_TRIES_PER_PLAN * max(k, 1):
                break
            tries += 1
            new = self._try(fn, a)
            if new is None or new == fn or new in seen:
                continue
            seen.add(new)
            self._count(a.transform, "implemented")
            variants = [new]
            if first is None:
                first = new
                # second variant: the same rewrite followed by the arithmetic clean-up;
                # the static estimate orders the two, so with one rewrite per plan the
                # sample goes to the one it judges faster
                tidy = self._cleanup(new)
                if tidy is not None and tidy not in seen:
                    seen.add(tidy)
                    variants = sorted([new, tidy], key=lambda f: _cycles(f, self.gemmini))
            out += [Rewrite(proposer=self.name, code=_compact(f), fn=f, data=a.to_data())
                    for f in variants[:k - len(out)]]
        if not out:
            out.append(Rewrite(proposer=self.name, code=None,
                               error=f"no applicable rewrite for menu item {plan.menu_item!r}"))
        return out

    def _cleanup(self, fn: Function) -> Function | None:
        """Constant propagation / folding after a rewrite, then a few rounds of the CPU
        polish (strength reduction, unrolling, configurations issued once) that the
        static estimate says pays most: a structural rewrite (a buffer copy index, loads
        spread over a loop) is then judged with its overheads paid back. None when
        nothing changes."""
        out = fn
        for name in CLEANUP:
            for a in self._find(TRANSFORMS[name], out):
                new = self._try(out, a)
                if new is not None and new != out:
                    out = new
                    break
        cost = _cycles(out, self.gemmini)
        for _ in range(POLISH_ROUNDS):
            best = None
            for name in POLISH:
                for a in self._find(TRANSFORMS[name], out):
                    if a.p.get("factor", 0) != 0 or _only_loads(out, a):
                        continue        # full unrolls of work only: a load loop stays
                                        # a loop that interleave can spread
                    new = self._try(out, a)
                    c = _cycles(new, self.gemmini) if new is not None else cost
                    if c < POLISH_GAIN * cost and (best is None or c < best[0]):
                        best = (c, new)
            if best is None:
                break
            cost, out = best
        return out if out != fn else None

    def _neighbours(self, fn: Function, a: Application) -> list[Application]:
        """Same transformation with other parameters at the same site, then other sites."""
        t = TRANSFORMS.get(a.transform)
        if t is None:
            return []
        found = [x for x in self._find(t, fn) if x != a]
        same_site = [x for x in found if x.site == a.site]
        others = [x for x in found if x.site != a.site]
        return same_site + others

    def _for_menu_item(self, fn: Function, fb: Feedback | None,
                       item: str | None) -> list[Application]:
        names = {t.name for t in by_menu_item(item)}
        ranked = self._ranked(fn, fb, {item}) if names else []
        return [r.application for r in ranked if r.application.transform in names]


STALL_SHARE = 0.03     # a stall costing this share of the run is worth targeting
CONFLICT_SHARE = 0.1   # share of computes reading A and B from one bank worth a bank move
SERIAL_SHARE = 0.25    # loads and computes each busy this share of the run ...
SERIAL_RATIO = 1.3     # ... and the run this much longer than either: they do not overlap
BANK_MOVES = ("bank", "spread_copies")     # rewrites that move a buffer to another bank
OVERLAP = ("interleave", "interleave_all", "pipeline", "double_buffer")
LOAD_CUTTERS = ("row_reuse",)   # rewrites that load the same operand fewer times
FEED_CUTTERS = ("hold_weights",)    # rewrites that feed the array fewer rows per MAC
FENCE_CUTTERS = ("merge_fences", "drop_fence", "fission_fence", "fence_early", "cpu_early")
FEED_SHARE = 0.05      # the array busy this share beyond the ideal: partial blocks, conflicts
STALL_BOOST = 4.0      # weight factor of a rewrite that removes a measured stall
CONFLICT_BOOST = 8.0   # ... of a bank move when most computes read A and B from one bank


def _stall_boost(fn: Function, a: Application, fb: Feedback | None) -> float:
    """Favour the rewrites that remove a stall the report measured but the static
    estimate cannot see: execute cycles stolen by DMA writes into the banks it reads
    (copies one bank apart, bank moves), computes whose A and B share a bank (bank
    moves), an execute engine idle while nothing bounds it (accumulator double
    buffering, interleaved loads), loads and computes that add up instead of
    overlapping (every overlap rewrite), a busy load engine (rewrites that load an
    operand fewer times), an array busy well beyond the ideal (weights held across
    computes: they feed only their A rows and read no B), and the CPU waiting at fences
    that more work follows (rewrites that remove fences or overlap work with their
    waits; the static estimate prices no round trip through DRAM). The stolen cycles include
    those of the accumulator's ports (zeroing and mvouts through the bank the array
    writes), which copies of the accumulator tile one bank apart remove."""
    if fb is None or not fb.cycles:
        return 1.0
    d = fb.details or {}
    stolen = (d.get("stolen_cycles") or 0) / fb.cycles
    computes = (d.get("counts") or {}).get("compute_preloaded") or 0
    conflicts = (d.get("bank_conflicts") or 0) / computes if computes else 0.0
    busy = (d.get("busy") or {}).get("execute")
    idle = 1.0 - busy / fb.cycles if busy else 0.0
    boost = 1.0
    if stolen > STALL_SHARE and (a.transform in BANK_MOVES or a.p.get("apart")):
        boost *= STALL_BOOST
    if conflicts > CONFLICT_SHARE and a.transform == "bank":
        boost *= CONFLICT_BOOST
    if idle > STALL_SHARE and (a.transform.startswith("interleave") or (
            a.transform == "double_buffer" and _site_op(fn, a) == "mvout")):
        boost *= STALL_BOOST
    if _serialized(fb) and a.transform in OVERLAP:
        boost *= STALL_BOOST
    if _load_heavy(fb) and a.transform in LOAD_CUTTERS:
        boost *= STALL_BOOST
    if busy and fb.utilization and busy > (1 + FEED_SHARE) * fb.utilization * fb.cycles \
            and a.transform in FEED_CUTTERS:
        boost *= STALL_BOOST
    if (d.get("fence_stall") or 0) > STALL_SHARE * fb.cycles and a.transform in FENCE_CUTTERS:
        boost *= STALL_BOOST
    return boost


def _load_heavy(fb: Feedback) -> bool:
    """The load engine is busy a large share of the run: cutting the bytes loaded pays
    even where the static estimate (CPU-dominated on a mapped convolution) sees no gain."""
    load = ((fb.details or {}).get("busy") or {}).get("load") or 0
    return load > SERIAL_SHARE * fb.cycles


def _serialized(fb: Feedback) -> bool:
    """Loads and computes both take a large share of the run but add up instead of
    overlapping (the run is much longer than either engine's busy time)."""
    busy = (fb.details or {}).get("busy") or {}
    load, ex = busy.get("load") or 0, busy.get("execute") or 0
    return (min(load, ex) > SERIAL_SHARE * fb.cycles
            and fb.cycles > SERIAL_RATIO * max(load, ex))


def _site(fn: Function, a: Application):
    try:
        return get(fn.body, a.site)
    except (IndexError, TypeError):
        return None


def _site_op(fn: Function, a: Application) -> str | None:
    s = _site(fn, a)
    return getattr(s, "op", None)


def _only_loads(fn: Function, a: Application) -> bool:
    """The application's site is a statement that only loads (and configures loads)."""
    s = _site(fn, a)
    return s is not None and bool(a.site) and is_load_stmt(s)


def _cycles(fn: Function, gemmini: GemminiConfig) -> float:
    try:
        return estimate(fn, gemmini).cycles
    except Exception:  # the estimate only ranks; an unanalyzable program ranks neutral
        return 1.0


def _application(data: dict[str, Any] | None) -> Application | None:
    if not data or "transform" not in data or "site" not in data:
        return None
    try:
        return Application.from_data(data)
    except (KeyError, TypeError, ValueError):
        return None


def _done(candidate: Candidate) -> set[Application]:
    """The applications already evaluated from ``candidate`` (`Candidate.applied`)."""
    return {a for a in map(_application, candidate.applied) if a is not None}


def _compact(fn: Function) -> str | None:
    try:
        from lowering.print_compact import to_compact
    except ImportError:
        return None
    return to_compact(fn)
