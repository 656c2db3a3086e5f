"""The plan-then-implement beam search (method.md section 1).

Each iteration: every beam candidate gets N plans (menu with dropout, and the
short history of what was tried on it and its ancestors), every plan K rewrites;
rewrites are evaluated (deduplicated by normalized IR); those correct and strictly
faster than their parent survive (with ``accept_equal_busier_drop``, also those
with equal cycles whose busiest engine is less busy); survivors merge with the
beam, duplicates go, the B fastest stay, with at most a share of the beam per family
of first steps and no slot for a candidate the proposer has nothing new for
(`BeamSearch._next_beam`; docs/search.md, "Beam diversity"). A `SearchAborted` error from a proposer
(an unreachable LLM endpoint) stops the search; the result carries it. The search
is deterministic for a seed (given deterministic proposers), which is what lets a
killed run resume: it replays from the start and every finished LLM call and
evaluation comes back from the run's caches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol, runtime_checkable

from autocomp_exo.prompts.builder import dropout
from autocomp_exo.proposers.base import (Candidate, MenuItem, Plan, Proposer, Rewrite,
                                         is_exhausted)
from autocomp_exo.runs import RunDir, read_json
from autocomp_exo.search.evaluator import EQUAL, PARSE, SLOWER, EvalResult
from autocomp_exo.search.lineage import Lineage, busiest, describe_outcome
from autocomp_exo.search.service import EvalService, Evaluated
from autocomp_exo.search.stop import BudgetExhausted, SearchAborted
from autocomp_exo.settings import SearchSettings
from gemmini.errors import AutocompError

REPAIRABLE = (PARSE, "hardware", "wrong")


@runtime_checkable
class Repairer(Protocol):
    """Optional extension of a `Proposer`: one more attempt after a rejected rewrite."""

    def repair(self, candidate: Candidate, plan: Plan, rewrite: Rewrite, error: str, *,
               seed: int) -> Rewrite | None:
        """A corrected rewrite, told ``error`` (``"kind: message"``), or None."""
        ...


def derive_seed(*parts) -> int:
    """A deterministic 31-bit seed from any printable parts."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:4], "little") & 0x7FFFFFFF


@dataclass
class SearchState:
    """Progress of a running search (for displays)."""
    iteration: int = 0
    total_iterations: int = 0
    samples: int = 0                 # rewrites evaluated (including cached)
    simulated: int = 0
    start_cycles: int | None = None
    best_cycles: int | None = None
    phase: str = ""
    tokens: int = 0


@dataclass
class SearchResult:
    start: Candidate
    best: Candidate
    beam: list[Candidate]
    trajectory: list[int]             # best cycles after each iteration (index 0 = start)
    recipe: list[dict]
    lineage: Lineage
    stop_reason: str
    samples: int
    iterations: int
    candidates: dict[str, Candidate] = field(default_factory=dict)
    error: SearchAborted | None = None    # why the search was aborted (results still valid)


@dataclass(frozen=True)
class _Attempt:
    parent: Candidate
    plan: Plan
    rewrite: Rewrite
    index: int                        # position of the rewrite, for deterministic order


class BeamSearch:
    """Runs the search; ``proposer`` and ``service`` are the only dependencies."""

    def __init__(self, proposer: Proposer, service: EvalService, menu: list[MenuItem],
                 settings: SearchSettings = SearchSettings(), run: RunDir | None = None,
                 progress: Callable[[SearchState], None] | None = None):
        self.proposer = proposer
        self.service = service
        self.menu = menu
        self.s = settings
        self.run = run
        self._progress = progress or (lambda state: None)
        self.token_counter: Callable[[], int] | None = None
        self.state = SearchState(total_iterations=settings.iterations)
        self.lineage = Lineage()
        self.accepted: dict[str, Candidate] = {}
        self.exhausted: set[str] = set()    # candidates the proposer had nothing new for
        self._t0 = time.monotonic()
        self._stop: str | None = None
        self.restored_iteration = 0      # iterations taken from a saved state on resume
        self.may_restore = True          # False: a resume replays from the start
        self.restored_samples = 0
        self._abort: SearchAborted | None = None

    # -- helpers -----------------------------------------------------------
    def progress(self, state: SearchState) -> None:
        if self.token_counter is not None:
            state.tokens = self.token_counter()
        self._progress(state)

    def _log(self, event: str, **fields) -> None:
        if self.run is not None:
            self.run.log(event, **fields)

    def _out_of_time(self) -> bool:
        return self.s.max_seconds is not None and time.monotonic() - self._t0 > self.s.max_seconds

    def _candidate(self, res: EvalResult, parent: str | None, iteration: int) -> Candidate:
        return Candidate(id=res.key, fn=res.fn, code=res.code or "", cycles=res.cycles,
                         feedback=res.feedback, parent=parent, iteration=iteration)

    def _parallel(self, calls: list[Callable]) -> list:
        """Run proposer calls concurrently; results in order; exceptions returned."""
        def guard(c):
            try:
                return c()
            except BudgetExhausted as e:
                return e
            except Exception as e:  # noqa: BLE001 - one failing call loses its samples only
                return e
        if not calls:
            return []
        with ThreadPoolExecutor(max_workers=max(1, self.s.parallel_requests)) as pool:
            return list(pool.map(guard, calls))

    def _check_call(self, value, what: str) -> list:
        if isinstance(value, SearchAborted):
            self._abort = self._abort or value
            self._stop = self._stop or f"aborted: {value}"
            self._log("proposer_error", what=what, error=f"{type(value).__name__}: {value}")
            return []
        if isinstance(value, BudgetExhausted):
            self._stop = self._stop or f"budget: {value}"
            return []
        if isinstance(value, Exception):
            self._log("proposer_error", what=what, error=f"{type(value).__name__}: {value}")
            return []
        return list(value)

    # -- the search --------------------------------------------------------
    def run_search(self, start, seeds: list[tuple[str, object]] = ()) -> SearchResult:
        """Search from ``start`` (code text or IR, must be correct). ``seeds`` are
        (menu item key, code or IR) of other programs for the same workload (the loop
        FSM's, the vendor library's): each is judged like a rewrite of ``start`` in
        iteration 0, and those accepted join the first beam."""
        (first,) = self.service.evaluate_many([start])
        res = first.result
        if not res.ok:
            raise AutocompError(f"the starting code is not correct ({res.error_kind}): "
                                f"{res.error_message}")
        root = self._candidate(res, None, 0)
        self.accepted[root.id] = root
        self.lineage.add_root(root.id, root.cycles)
        if self.run:
            self.run.write_candidate(root.id, root.code)
        self._log("search_start", key=root.id, cycles=root.cycles,
                  settings=self.s.__dict__, resumed=bool(self.run and self.run.resumed))
        self.state.start_cycles = self.state.best_cycles = root.cycles
        beam = sorted([root, *self._seed(root, seeds)],
                      key=lambda c: (c.cycles, c.iteration, c.id))[: self.s.beam_width]
        best = beam[0]
        self.state.best_cycles = best.cycles
        trajectory = [root.cycles]
        restored = (self._restore(root) if self.may_restore and self.run is not None
                    and self.run.resumed else None)
        if restored is None:
            self._snapshot(0, beam, best, trajectory)
        else:
            beam, best, trajectory = restored
        it = first = len(trajectory) - 1
        stale = _stale(trajectory)
        if first and self.s.patience is not None and stale >= self.s.patience:
            self._stop = f"no improvement in {stale} iterations"
        for it in range(first + 1, self.s.iterations + 1):
            if self._stop or self._out_of_time():
                self._stop = self._stop or "time budget"
                it -= 1
                break
            self.state.iteration = it
            survivors = self._iteration(it, beam)
            merged: dict[str, Candidate] = {c.id: c for c in beam}
            for c in survivors:
                merged.setdefault(c.id, c)
            beam = self._next_beam(merged, it)
            improved = beam[0].cycles < best.cycles
            best = beam[0] if improved else best
            trajectory.append(best.cycles)
            self.state.best_cycles = best.cycles
            self._snapshot(it, beam, best, trajectory)
            self.progress(self.state)
            stale = 0 if improved else stale + 1
            if self._stop:
                break
            if self.s.patience is not None and stale >= self.s.patience:
                self._stop = f"no improvement in {stale} iterations"
                break
        stop = self._stop or "iterations done"
        chain = self._chain(best)
        recipe = self.lineage.recipe(chain)
        self._log("search_end", stop_reason=stop, best=best.id, best_cycles=best.cycles,
                  start_cycles=root.cycles, samples=self.state.samples, iterations=it,
                  proposer_stats=_proposer_stats(self.proposer))
        return SearchResult(start=root, best=best, beam=beam, trajectory=trajectory,
                            recipe=recipe, lineage=self.lineage, stop_reason=stop,
                            samples=self.state.samples, iterations=it,
                            candidates=dict(self.accepted), error=self._abort)

    def _next_beam(self, merged: dict[str, Candidate], it: int) -> list[Candidate]:
        """The next beam: the fastest ``beam_width`` accepted candidates that the proposer
        still has something new for, at most ``family_share`` of the beam descending
        from first steps of one kind (`_family`; a seed is its own). So one early choice
        cannot fill the beam with its variants while a slower, different line still has
        room to grow, and a candidate with nothing left gives its slot away (the best
        is kept apart, so nothing is lost). A family whose fastest member is
        ``family_patience`` iterations old has stopped growing, and one more than
        ``family_margin`` slower than the leader is not a close alternative: neither
        is protected. Candidates over the cap fill the slots no other family can. When
        every candidate is exhausted the beam stays as it was."""
        pool = [c for k, c in {**self.accepted, **merged}.items() if k not in self.exhausted]
        order = sorted(pool or merged.values(), key=lambda c: (c.cycles, c.iteration, c.id))
        families = {c.id: self._family(c) for c in order}
        newest: dict[str, int] = {}
        fastest: dict[str, int] = {}
        for c in order:                  # a family's fastest member, found first
            newest.setdefault(families[c.id], c.iteration)
            fastest.setdefault(families[c.id], c.cycles)
        leader = families[order[0].id]
        reach = order[0].cycles * (1 + self.s.family_margin)
        width = self.s.beam_width
        cap = max(1, math.ceil(width * self.s.family_share))
        kept, over, count = [], [], {}
        for c in order:
            family = families[c.id]
            growing = family == leader or (it - newest[family] < self.s.family_patience
                                           and fastest[family] <= reach)
            if count.get(family, 0) < cap and growing:
                count[family] = count.get(family, 0) + 1
                kept.append(c)
                if len(kept) == width:
                    break
            else:
                over.append(c)
        kept += over[: width - len(kept)]
        return sorted(kept, key=lambda c: (c.cycles, c.iteration, c.id))

    def _family(self, c: Candidate) -> str:
        """What the first step ``c`` descends from did: the transformation it applied
        when the rewrite says (`Rewrite.data`), else its menu item, so several
        applications of one optimization are one family; the start is its own."""
        chain = self._chain(c)
        if len(chain) < 2:
            return chain[0]
        edge = self.lineage.graph.get_edge_data(chain[0], chain[1]) or {}
        return ((edge.get("applied") or {}).get("transform") or edge.get("menu_item")
                or chain[1])

    def _seed(self, root: Candidate, seeds) -> list[Candidate]:
        """The accepted ``seeds`` (checked, timed and logged like any rewrite, no repair)."""
        attempts = [_Attempt(root, Plan(key, f"start from the {key} program", "seed"),
                             Rewrite("seed", item if isinstance(item, str) else None,
                                     fn=None if isinstance(item, str) else item), i)
                    for i, (key, item) in enumerate(seeds)]
        return self._evaluate(0, attempts, repair_round=self.s.repair_attempts) if attempts else []

    def _chain(self, best: Candidate) -> list[str]:
        chain = [best.id]
        while self.accepted[chain[-1]].parent is not None:
            chain.append(self.accepted[chain[-1]].parent)
        return chain[::-1]

    def _iteration(self, it: int, beam: list[Candidate]) -> list[Candidate]:
        s = self.s
        self._log("iteration_start", iteration=it, beam=[c.id for c in beam])
        # Phase 1: plans
        self.state.phase = "plan"
        self.progress(self.state)
        # A beam narrower than beam_width (the first iterations) plans each candidate
        # several times, each with its own menu dropout, so every iteration gets the same
        # planning budget.
        beam = [dataclasses.replace(c, history=self.lineage.history(
            self._chain(c)[::-1], s.history_limit), applied=self.lineage.applied_from(c.id))
                for c in beam]
        slots = [(c, r) for r in range(max(1, s.beam_width // len(beam))) for c in beam]
        menus = [dropout(self.menu, s.dropout,
                         random.Random(derive_seed(s.seed, it, c.id, "menu", *([r] if r else []))))
                 for c, r in slots]
        plan_calls = [
            (lambda c=c, m=m, r=r: self.proposer.plan(
                c, m, s.plans_per_candidate, iteration=it, total_iterations=s.iterations,
                seed=derive_seed(s.seed, it, c.id, "plan", *([r] if r else []))))
            for (c, r), m in zip(slots, menus)]
        if self._streams():
            return self._evaluate_streamed(it, self._attempts_lazily(it, slots, menus,
                                                                     plan_calls))
        plans: list[tuple[Candidate, Plan]] = []
        seen_plans: set[tuple[str, str, str]] = set()
        for (c, _), m, value in zip(slots, menus, self._parallel(plan_calls)):
            plans += self._new_plans(it, c, m, value, seen_plans)
        if self._out_of_time():
            self._stop = "time budget"
        # Phase 2: rewrites
        self.state.phase = "implement"
        self.progress(self.state)
        if self._stop:          # out of time or budget: implement nothing more
            plans = []
        impl_calls = [self._impl_call(it, j, c, p) for j, (c, p) in enumerate(plans)]
        attempts: list[_Attempt] = []
        for (c, p), value in zip(plans, self._parallel(impl_calls)):
            attempts += self._new_attempts(c, p, value, len(attempts))
        if s.max_samples is not None:
            room = max(0, s.max_samples - self.state.samples)
            if len(attempts) >= room:
                attempts = attempts[:room]
                self._stop = self._stop or "sample budget"
        # Phase 3: evaluate (and repair once where allowed)
        self.state.phase = "evaluate"
        self.progress(self.state)
        survivors = self._evaluate(it, attempts, repair_round=0)
        return survivors

    def _new_plans(self, it: int, c: Candidate, menu: list[MenuItem], value,
                   seen: set) -> list[tuple[Candidate, Plan]]:
        """The plans of one planning call that are new for ``c`` (logged), at most
        ``plans_per_candidate``."""
        out = []
        plans = self._check_call(value, f"plan {c.id}")
        if not plans and not isinstance(value, BaseException) and \
                is_exhausted(self.proposer, c):
            self.exhausted.add(c.id)
        for p in plans[: self.s.plans_per_candidate]:
            if (c.id, p.proposer, p.text) in seen:
                continue
            seen.add((c.id, p.proposer, p.text))
            self._log("plan", iteration=it, parent=c.id, menu=[x.key for x in menu],
                      menu_item=p.menu_item, proposer=p.proposer, text=p.text)
            out.append((c, p))
        return out

    def _impl_call(self, it: int, j: int, c: Candidate, p: Plan) -> Callable:
        return lambda: self.proposer.implement(
            c, p, self.s.impls_per_plan, seed=derive_seed(self.s.seed, it, c.id, "impl", j))

    def _new_attempts(self, c: Candidate, p: Plan, value, first: int) -> list[_Attempt]:
        return [_Attempt(c, p, rw, first + k) for k, rw in enumerate(
            self._check_call(value, f"implement {c.id}")[: self.s.impls_per_plan])]

    # -- streaming: planning and rewriting overlap the evaluation -----------------
    def _streams(self) -> bool:
        """Whether plans and rewrites are made one at a time while earlier rewrites are
        evaluated: for a proposer that computes them in this process (the built-in one),
        when the engine evaluates in parallel elsewhere (worker processes, Ray). LLM
        proposers keep the phases, whose calls run concurrently."""
        return bool(self.s.stream and getattr(self.proposer, "local", False)
                    and getattr(self.service.engine, "n", 0) >= 1)

    def _attempts_lazily(self, it: int, slots, menus, plan_calls):
        """The iteration's attempts in the order the phases would make them (plans of
        each slot, each plan's rewrites), each made when it is asked for; stops at
        the sample budget or the time budget."""
        room = None if self.s.max_samples is None else max(0, self.s.max_samples
                                                            - self.state.samples)
        seen: set = set()
        made = j = 0
        if room == 0:
            self._stop = self._stop or "sample budget"
            return
        for (c, _), m, call in zip(slots, menus, plan_calls):
            for _, p in self._new_plans(it, c, m, self._parallel([call])[0], seen):
                if self._stop or self._out_of_time():
                    self._stop = self._stop or "time budget"
                    return
                value = self._parallel([self._impl_call(it, j, c, p)])[0]
                j += 1
                for a in self._new_attempts(c, p, value, made):
                    yield a
                    made += 1
                    if room is not None and made >= room:
                        self._stop = self._stop or "sample budget"
                        return

    def _evaluate_streamed(self, it: int, attempts_iter) -> list[Candidate]:
        """`_evaluate` of attempts made while earlier ones are evaluated: the rewrites
        go to the engine in chunks (twice its workers), queued on one thread that
        evaluates them one chunk after another, so the driver plans and rewrites while
        the workers simulate. Same attempts, same order, same results as the phased
        iteration."""
        self.state.phase = "evaluate"
        self.progress(self.state)
        size = 2 * max(1, getattr(self.service.engine, "n", 1))
        attempts: list[_Attempt] = []
        sent: list[tuple[list[int], object]] = []
        chunk: list[int] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            def send(idx: list[int]):
                items = [self._item(attempts[i]) for i in idx]
                sent.append((idx, pool.submit(self.service.evaluate_many, items)))
            try:
                for a in attempts_iter:
                    attempts.append(a)
                    if self._log_rewrite(it, a, 0):
                        chunk.append(len(attempts) - 1)
                    if len(chunk) >= size:
                        send(chunk)
                        chunk = []
                if chunk:
                    send(chunk)
            finally:        # an interrupted iteration still waits for what was sent
                evaluated = [pair for idx, future in sent for pair in self._collect(idx, future)]
        return self._judge_all(it, attempts, evaluated, 0)

    def _collect(self, idx: list[int], future) -> list[tuple[int, Evaluated]]:
        got = future.result()
        self.state.samples += len(got)
        self.state.simulated = self.service.simulated
        self.progress(self.state)
        return list(zip(idx, got))

    def _evaluate(self, it: int, attempts: list[_Attempt], repair_round: int) -> list[Candidate]:
        idx = [i for i, a in enumerate(attempts) if self._log_rewrite(it, a, repair_round)]
        items = [self._item(attempts[i]) for i in idx]
        evaluated = self.service.evaluate_many(items) if items else []
        self.state.samples += len(items)
        self.state.simulated = self.service.simulated
        return self._judge_all(it, attempts, list(zip(idx, evaluated)), repair_round)

    def _log_rewrite(self, it: int, a: _Attempt, repair_round: int) -> bool:
        """Log a rewrite; whether it has code to evaluate."""
        has_code = a.rewrite.fn is not None or a.rewrite.code is not None
        self._log("rewrite", iteration=it, parent=a.parent.id, plan_item=a.plan.menu_item,
                  planner=a.plan.proposer, implementer=a.rewrite.proposer,
                  error=a.rewrite.error, repair_round=repair_round, has_code=has_code)
        return has_code

    @staticmethod
    def _item(a: _Attempt):
        return a.rewrite.fn if a.rewrite.fn is not None else a.rewrite.code

    def _judge_all(self, it: int, attempts: list[_Attempt],
                   evaluated: list[tuple[int, Evaluated]], repair_round: int) -> list[Candidate]:
        """Judge the evaluated attempts in order, then repair the rejected ones where
        allowed (and judge those)."""
        survivors: list[Candidate] = []
        to_repair: list[tuple[_Attempt, EvalResult]] = []
        for i, ev in evaluated:
            survivors += self._judge(it, attempts[i], ev, repair_round, to_repair)
        if self.s.max_samples is not None:
            room = max(0, self.s.max_samples - self.state.samples)
            if len(to_repair) > room:
                to_repair = to_repair[:room]
                self._stop = self._stop or "sample budget"
        if to_repair and repair_round < self.s.repair_attempts and not self._stop:
            repaired = self._repair(it, to_repair, repair_round)
            survivors += self._evaluate(it, repaired, repair_round + 1)
        return survivors

    def _judge(self, it: int, a: _Attempt, ev: Evaluated, repair_round: int,
               to_repair: list) -> list[Candidate]:
        res = ev.result
        faster = res.ok and res.cycles < a.parent.cycles
        equal = res.ok and res.cycles == a.parent.cycles
        kind = res.error_kind if not res.ok else (
            None if faster else EQUAL if equal else SLOWER)
        busy = _busy(res.feedback)
        parent_busy = _busy(a.parent.feedback)
        accepted = faster or bool(
            equal and self.s.accept_equal_busier_drop and busy and parent_busy
            and busiest(busy)[1] < busiest(parent_busy)[1])
        outcome = "accepted" if accepted else kind
        detail = describe_outcome(outcome, res.cycles, a.parent.cycles, busy, parent_busy,
                                  res.error_message)
        self._log("candidate", iteration=it, parent=a.parent.id, key=res.key, ok=res.ok,
                  cycles=res.cycles, parent_cycles=a.parent.cycles, accepted=accepted,
                  error_kind=kind, error=res.error_message, cached=ev.cached,
                  plan_item=a.plan.menu_item, planner=a.plan.proposer,
                  transform=(a.plan.data or {}).get("transform"),
                  features=(a.plan.data or {}).get("features"), implementer=a.rewrite.proposer, repair_round=repair_round)
        if res.key is not None:
            self.lineage.add_child(a.parent.id, res.key, cycles=res.cycles, ok=res.ok,
                                   accepted=accepted, iteration=it, menu_item=a.plan.menu_item,
                                   plan=a.plan.text, planner=a.plan.proposer,
                                   implementer=a.rewrite.proposer, error=kind,
                                   outcome=outcome, detail=detail, applied=a.rewrite.data)
        if not res.ok and res.error_kind in REPAIRABLE:
            to_repair.append((a, res))
        if not accepted:
            return []
        if res.key in self.accepted:
            return [self.accepted[res.key]]
        cand = self._candidate(res, a.parent.id, it)
        self.accepted[cand.id] = cand
        if self.run:
            self.run.write_candidate(cand.id, cand.code)
        return [cand]

    def _repair(self, it: int, failed: list[tuple[_Attempt, EvalResult]],
                repair_round: int) -> list[_Attempt]:
        if not isinstance(self.proposer, Repairer):
            return []
        repair = self.proposer.repair
        calls = [
            (lambda a=a, r=r, j=j: repair(
                a.parent, a.plan, a.rewrite, f"{r.error_kind}: {r.error_message}",
                seed=derive_seed(self.s.seed, it, a.parent.id, "repair", repair_round, j,
                                 a.index)))
            for j, (a, r) in enumerate(failed)]
        out = []
        for (a, _), value in zip(failed, self._parallel(calls)):
            got = self._check_call([] if value is None else
                                   ([value] if isinstance(value, Rewrite) else value), "repair")
            for rw in got:
                out.append(_Attempt(a.parent, a.plan, rw, a.index))
        return out

    def _snapshot(self, it: int, beam: list[Candidate], best: Candidate,
                  trajectory: list[int]) -> None:
        if self.run is None:
            return
        self.run.write_state(it, {
            "iteration": it, "beam": [c.id for c in beam], "best": best.id,
            "trajectory": trajectory, "samples": self.state.samples,
            "accepted": {k: [c.parent, c.iteration] for k, c in self.accepted.items()},
            "exhausted": sorted(self.exhausted),
            "lineage": self.lineage.to_json()})
        self.run.write_beam(it, [{"key": c.id, "cycles": c.cycles, "parent": c.parent,
                                  "iteration": c.iteration} for c in beam])
        self.run.write_lineage(self.lineage.to_json())
        self._log("beam", iteration=it, beam=[[c.id, c.cycles] for c in beam],
                  best=best.id, best_cycles=best.cycles)

    def _restore(self, root: Candidate):
        """(beam, best, trajectory) of the last iteration a killed run saved (at most this
        run's ``iterations``), with every accepted candidate rebuilt from its saved code and
        logged evaluation; None (replay from the start) when anything does not match."""
        states = [read_json(f) for f in self.run.path.glob("beam/state_*.json")]
        states = sorted((st for st in states if st and 0 < st.get("iteration", 0)
                         <= self.s.iterations), key=lambda st: st["iteration"])
        if not states:
            return None
        st = states[-1]
        accepted: dict[str, Candidate] = {}
        for key, (parent, iteration) in st["accepted"].items():
            if key == root.id:
                accepted[key] = root
                continue
            cand = self._saved_candidate(key, parent, iteration)
            if cand is None:
                return None
            accepted[key] = cand
        if root.id not in accepted or any(k not in accepted for k in st["beam"]):
            return None
        self.accepted = accepted
        self.exhausted = set(st.get("exhausted", ()))
        self.lineage = Lineage.from_json(st["lineage"])
        self.state.samples = self.restored_samples = st["samples"]
        self.state.iteration = self.restored_iteration = st["iteration"]
        beam = [accepted[k] for k in st["beam"]]
        best = accepted[st["best"]]
        self.state.best_cycles = best.cycles
        self._log("restored", iteration=st["iteration"], samples=st["samples"])
        return beam, best, list(st["trajectory"])

    def _saved_candidate(self, key: str, parent: str | None, iteration: int):
        rec = self.service.cache.get(key)
        try:
            code = (self.run.path / "candidates" / f"{key}.c").read_text()
        except OSError:
            return None
        norm = self.service.normalize(code)
        if rec is None or isinstance(norm, EvalResult) or norm[1] != key or not rec.get("ok"):
            return None
        res = EvalResult.from_json(rec, fn=norm[0])
        return self._candidate(replace(res, key=key, code=code), parent, iteration)


def _stale(trajectory: list[int]) -> int:
    """Iterations since the best last improved."""
    stale = 0
    for a, b in zip(trajectory, trajectory[1:]):
        stale = 0 if b < a else stale + 1
    return stale


def _busy(feedback) -> dict | None:
    details = getattr(feedback, "details", None)
    busy = details.get("busy") if isinstance(details, dict) else None
    return busy if isinstance(busy, dict) and busy else None


def _proposer_stats(proposer) -> dict:
    """Per-transformation counts of the built-in proposers in ``proposer`` (found, tried,
    refused as illegal, crashed, planned, implemented), merged over ensemble members."""
    out: dict = {}
    for p in [proposer, *getattr(proposer, "members", ())]:
        for name, counts in (getattr(p, "stats", None) or {}).items():
            d = out.setdefault(name, {})
            for k, v in counts.items():
                d[k] = d.get(k, 0) + v
    return out
