"""An ensemble of proposers (method.md section 6): requests split evenly, round robin.

For a request of ``n`` plans (or ``k`` rewrites) the ensemble gives each member
``n // M`` and hands the remaining ones out round robin, starting at member
``seed % M``, so the split is even over many requests and deterministic for a
seed. Any member may implement any member's plan (plans are self-contained text).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from autocomp_exo.proposers.base import Candidate, MenuItem, Plan, Proposer, Rewrite, is_exhausted
from autocomp_exo.search.beam import derive_seed
from autocomp_exo.search.stop import BudgetExhausted, SearchAborted


def split(count: int, members: int, seed: int) -> list[int]:
    """How many of ``count`` requests each of ``members`` members gets."""
    shares = [count // members] * members
    start = seed % members
    for r in range(count % members):
        shares[(start + r) % members] += 1
    return shares


class EnsembleProposer:
    def __init__(self, members: list[Proposer], name: str | None = None):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = list(members)
        self.name = name or "ensemble(" + ",".join(m.name for m in members) + ")"

    def _fan_out(self, count: int, seed: int, call) -> list:
        shares = split(count, len(self.members), seed)
        order = [(i, s) for i, s in enumerate(shares) if s > 0]
        with ThreadPoolExecutor(max_workers=max(1, len(order))) as pool:
            futures = [pool.submit(call, self.members[i], s, derive_seed(seed, "member", i))
                       for i, s in order]
            out, stop = [], None
            for f in futures:
                try:
                    out.extend(f.result())
                except SearchAborted:
                    raise              # a dead endpoint stops the search, not just a share
                except BudgetExhausted as e:
                    stop = e
                except Exception:  # noqa: BLE001 - a failing member loses only its share
                    continue
        if stop is not None and not out:
            raise stop
        return out

    def plan(self, candidate: Candidate, menu: list[MenuItem], n: int, *, iteration: int,
             total_iterations: int, seed: int) -> list[Plan]:
        return self._fan_out(n, seed, lambda m, share, s: m.plan(
            candidate, menu, share, iteration=iteration, total_iterations=total_iterations,
            seed=s)[:share])

    def exhausted(self, candidate: Candidate) -> bool:
        """Every member has nothing new for ``candidate`` (see `Proposer`)."""
        return all(is_exhausted(m, candidate) for m in self.members)

    def implement(self, candidate: Candidate, plan: Plan, k: int, *, seed: int) -> list[Rewrite]:
        return self._fan_out(k, seed, lambda m, share, s: m.implement(
            candidate, plan, share, seed=s)[:share])

    def repair(self, candidate: Candidate, plan: Plan, rewrite: Rewrite, error: str, *,
               seed: int) -> Rewrite | None:
        for m in self.members:
            if m.name == rewrite.proposer and hasattr(m, "repair"):
                return m.repair(candidate, plan, rewrite, error, seed=seed)
        return None
