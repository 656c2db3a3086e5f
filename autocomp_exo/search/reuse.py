"""Schedule reuse (method.md section 7): replay a recorded recipe of steps.

A step is a menu item key (a hand-typed ``--recipe``) or a recorded step of an earlier
search (`recorded_steps`): its key, its plan's text and what the implementer applied
(for the built-in proposer: the transformation, its statement path and parameters).
A recorded step is replayed as that plan, so the built-in proposer applies the same
transformation at the same place with the same parameters where that is legal in the
new program, and otherwise the same transformation with other parameters or at other
places (its parameter neighbours); a key alone lets the proposer plan the item afresh.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from autocomp_exo.proposers.base import Candidate, MenuItem, Plan, Proposer, Rewrite
from autocomp_exo.settings import SearchSettings
from gemmini.errors import ConfigError


@dataclass(frozen=True)
class Step:
    """One step of a recipe."""
    menu_item: str | None            # None: an unnamed step (offers nothing)
    plan: str = ""                   # the recorded plan's text
    applied: dict | None = None      # what the implementer applied (JSON), if recorded
    implementer: str | None = None   # who implemented it
    planner: str | None = None       # who planned it ("seed": the search's seed program
                                     # named by menu_item, e.g. the loop FSM's)


def as_step(step) -> Step:
    """A `Step` from a menu item key (or None) or a recorded step's dict."""
    if isinstance(step, Step):
        return step
    if step is None or isinstance(step, (str, int)):      # an int: an old menu number
        return Step(step)
    if isinstance(step, dict):
        return Step(step.get("menu_item"), step.get("plan") or "", step.get("applied") or None,
                    step.get("implementer"), step.get("planner"))
    raise ConfigError(f"recipe: a step is a menu item key or a recorded step, not {step!r}")


def recorded_steps(recipe: list[dict]) -> list[dict]:
    """The steps of an `OptimizeResult.recipe` as stored for reuse (JSON): menu item key,
    plan text, what was applied and by whom."""
    return [{"menu_item": s.get("menu_item"), "plan": s.get("plan") or "",
             "applied": s.get("applied") or None, "implementer": s.get("implementer"),
             "planner": s.get("planner")} for s in recipe]


def is_seed(step) -> bool:
    """Whether a recipe step is a search's seed program (it names the program, not a
    menu item)."""
    step = as_step(step)
    return "seed" in (step.planner, step.implementer)


def step_key(step) -> str | None:
    """The menu item key of a recipe step (a key or a recorded step)."""
    return as_step(step).menu_item


def light_settings(base: SearchSettings, recipe: list) -> SearchSettings:
    """A small search that runs one iteration per recipe step (no dropout, no early stop)."""
    return dataclasses.replace(
        base, iterations=max(1, len(recipe)), beam_width=min(base.beam_width, 2),
        plans_per_candidate=min(base.plans_per_candidate, 2),
        impls_per_plan=min(base.impls_per_plan, 2), dropout=0.0, patience=None)


class RecipeProposer:
    """Wraps a proposer so that iteration t replays only step ``recipe[t - 1]``: a recorded
    step as its own plan (text and applied data) (implemented by the wrapped proposer), a key as the wrapped
    proposer's plans for that menu item alone, None as nothing."""

    def __init__(self, inner: Proposer, recipe: list, menu: list[MenuItem]):
        self.inner = inner
        self.recipe = [as_step(s) for s in recipe]
        self.menu = {m.key: m for m in menu}
        self.name = inner.name
        unknown = [s.menu_item for s in self.recipe if s.menu_item is not None
                   and s.menu_item not in self.menu and not is_seed(s)]
        if unknown:
            hint = (" (recipes name menu items by key since menu numbers were dropped "
                    "from recipes; see prompts/menu.toml)" if isinstance(unknown[0], int) else "")
            raise ConfigError(f"recipe: unknown menu item {unknown[0]!r}{hint}; known: "
                              f"{', '.join(self.menu)}")

    def plan(self, candidate: Candidate, menu: list[MenuItem], n: int, *, iteration: int,
             total_iterations: int, seed: int) -> list[Plan]:
        if iteration > len(self.recipe) or self.recipe[iteration - 1].menu_item is None:
            return []
        step = self.recipe[iteration - 1]
        if is_seed(step):
            return []
        if step.applied or step.plan:
            return [Plan(step.menu_item, step.plan or f"replay {step.applied}",
                         step.implementer or self.inner.name, data=dict(step.applied))]
        only = [self.menu[step.menu_item]]
        return self.inner.plan(candidate, only, n, iteration=iteration,
                               total_iterations=total_iterations, seed=seed)

    def implement(self, candidate: Candidate, plan: Plan, k: int, *, seed: int) -> list[Rewrite]:
        return self.inner.implement(candidate, plan, k, seed=seed)

    def repair(self, candidate: Candidate, plan: Plan, rewrite: Rewrite, error: str, *,
               seed: int) -> Rewrite | None:
        repair = getattr(self.inner, "repair", None)
        return repair(candidate, plan, rewrite, error, seed=seed) if repair else None
