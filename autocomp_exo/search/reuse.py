"""Schedule reuse (method.md section 7): replay a recorded recipe of menu items."""

from __future__ import annotations

import dataclasses

from autocomp_exo.proposers.base import Candidate, MenuItem, Plan, Proposer, Rewrite
from autocomp_exo.settings import SearchSettings
from gemmini.errors import ConfigError


def light_settings(base: SearchSettings, recipe: list[str]) -> SearchSettings:
    """A small search that runs one iteration per recipe step (no dropout, no early stop)."""
    return dataclasses.replace(
        base, iterations=max(1, len(recipe)), beam_width=min(base.beam_width, 2),
        plans_per_candidate=min(base.plans_per_candidate, 2),
        impls_per_plan=min(base.impls_per_plan, 2), dropout=0.0, patience=None)


class RecipeProposer:
    """Wraps a proposer so that iteration t offers only menu item ``recipe[t - 1]`` (a key;
    None, an unnamed item of a recorded recipe, offers nothing)."""

    def __init__(self, inner: Proposer, recipe: list[str | None], menu: list[MenuItem]):
        self.inner = inner
        self.recipe = list(recipe)
        self.menu = {m.key: m for m in menu}
        self.name = inner.name
        unknown = [k for k in self.recipe if k is not None and k not in self.menu]
        if unknown:
            hint = (" (recipes name menu items by key since menu numbers were dropped "
                    "from recipes; see prompts/menu.toml)" if isinstance(unknown[0], int) else "")
            raise ConfigError(f"recipe: unknown menu item {unknown[0]!r}{hint}; known: "
                              f"{', '.join(self.menu)}")

    def plan(self, candidate: Candidate, menu: list[MenuItem], n: int, *, iteration: int,
             total_iterations: int, seed: int) -> list[Plan]:
        if iteration > len(self.recipe) or self.recipe[iteration - 1] not in self.menu:
            return []
        only = [self.menu[self.recipe[iteration - 1]]]
        return self.inner.plan(candidate, only, n, iteration=iteration,
                               total_iterations=total_iterations, seed=seed)

    def implement(self, candidate: Candidate, plan: Plan, k: int, *, seed: int) -> list[Rewrite]:
        return self.inner.implement(candidate, plan, k, seed=seed)

    def repair(self, candidate: Candidate, plan: Plan, rewrite: Rewrite, error: str, *,
               seed: int) -> Rewrite | None:
        repair = getattr(self.inner, "repair", None)
        return repair(candidate, plan, rewrite, error, seed=seed) if repair else None
